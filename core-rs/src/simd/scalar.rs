//! The scalar backend: the reference every SIMD backend is tested against.
//!
//! Each kernel here fixes the *operation order* of its result; `avx2.rs` and `avx512.rs` mirror
//! it lane by lane, so their results are bit-identical to these (see the module docs of
//! [`super`] for the per-kernel guarantee). All kernels take NaN-free slices; the NaN policy and
//! argument validation live in [`super`].

pub use crate::indicators::rsi::{rsi_step, rsi_value, split as rsi_split};
use crate::indicators::{ema::ema_kernel, rsi::rsi_kernel, sma::sma_kernel};

use super::{ACC, DECISION_ACC, combine_acc, decision_finish};

// ------------------------------------------------------------------------------------------
// Multi-lane indicators: the scalar backend is the single-period kernels, one row at a time.
// ------------------------------------------------------------------------------------------

/// Row `r` is `out[r * stride..][..x.len()]`; every element of every row is written.
pub fn ema_multi(x: &[f64], periods: &[usize], out: &mut [f64], stride: usize) {
    for (r, &p) in periods.iter().enumerate() {
        ema_kernel(x, p, &mut out[r * stride..r * stride + x.len()]);
    }
}

/// Row `r` is `out[r * stride..][..x.len()]`; every element of every row is written.
pub fn sma_multi(x: &[f64], periods: &[usize], out: &mut [f64], stride: usize) {
    for (r, &p) in periods.iter().enumerate() {
        sma_kernel(x, p, &mut out[r * stride..r * stride + x.len()]);
    }
}

/// Row `r` is `out[r * stride..][..x.len()]`; every element of every row is written.
pub fn rsi_multi(x: &[f64], periods: &[usize], out: &mut [f64], stride: usize) {
    for (r, &p) in periods.iter().enumerate() {
        rsi_kernel(x, p, &mut out[r * stride..r * stride + x.len()]);
    }
}

/// [`sma_kernel`] stopped before index `upto` (`period - 1 <= upto <= x.len()`): writes
/// `out[..upto]` and returns the running total the recurrence carries into index `upto`
/// (the SIMD backends continue from there).
pub fn sma_prefix(x: &[f64], period: usize, upto: usize, out: &mut [f64]) -> f64 {
    debug_assert!(period >= 1 && period - 1 <= upto && upto <= x.len() && out.len() >= upto);
    out[..period - 1].fill(f64::NAN);
    let p = period as f64;
    let mut total = 0.0;
    for &v in &x[..period - 1] {
        total += v;
    }
    for i in period - 1..upto {
        total += x[i];
        let t = total;
        total -= x[i + 1 - period];
        out[i] = t / p;
    }
    total
}

/// [`rsi_kernel`] stopped after index `last` (`period <= last < x.len()`): writes `out[..=last]`
/// and returns `(gain, loss)` after that step. Same steps as the kernel (shared helpers).
pub fn rsi_prefix(x: &[f64], period: usize, last: usize, out: &mut [f64]) -> (f64, f64) {
    debug_assert!(period <= last && last < x.len() && out.len() > last);
    out[..period].fill(f64::NAN);
    let inv = 1.0 / period as f64;
    let pm1 = (period - 1) as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let (g, l) = rsi_split(x[i] - x[i - 1]);
        gain += g;
        loss += l;
    }
    gain *= inv;
    loss *= inv;
    out[period] = rsi_value(gain, loss);
    for i in period + 1..=last {
        rsi_step(&mut gain, &mut loss, x[i] - x[i - 1], pm1, inv);
        out[i] = rsi_value(gain, loss);
    }
    (gain, loss)
}

// ------------------------------------------------------------------------------------------
// Rolling window statistics, chunked (see `super::rolling_chunk`).
// ------------------------------------------------------------------------------------------

/// Which rolling statistic a chunk computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rolling {
    Sum,
    Mean,
    /// Standard deviation with divisor `window - ddof`.
    Std {
        ddof: usize,
    },
}

/// Seed of a rolling chunk whose first output is at `ts`: the window sum, in index order.
#[inline(always)]
pub fn window_sum(x: &[f64], ts: usize, w: usize) -> f64 {
    let mut s = 0.0;
    for &v in &x[ts + 1 - w..=ts] {
        s += v;
    }
    s
}

/// Seed of a rolling-std chunk: `(mean, m2)` of the window ending at `ts`, two passes.
#[inline(always)]
pub fn window_mean_m2(x: &[f64], ts: usize, w: usize) -> (f64, f64) {
    let mean = window_sum(x, ts, w) / w as f64;
    let mut m2 = 0.0;
    for &v in &x[ts + 1 - w..=ts] {
        let d = v - mean;
        m2 += d * d;
    }
    (mean, m2)
}

/// One step of the sliding mean/M2 update (`xn` enters, `xo` leaves): returns `(mean, m2)`.
#[inline(always)]
pub fn slide_m2(mean: f64, m2: f64, xn: f64, xo: f64, w: f64) -> (f64, f64) {
    let dx = xn - xo;
    let mean_new = mean + dx / w;
    let m2_new = m2 + dx * ((xn - mean_new) + (xo - mean));
    (mean_new, m2_new)
}

/// Standard deviation from M2 (negative round-off clamped to 0).
#[inline(always)]
pub fn std_from_m2(m2: f64, denom: f64) -> f64 {
    // Not `f64::max`: its result for ±0 is unspecified, `> 0.0` mirrors the SIMD compare-and-mask.
    (if m2 > 0.0 { m2 } else { 0.0 } / denom).sqrt()
}

/// One chunk of a rolling statistic: `emit(t, value)` for `t in ts..te`, windows of `w` ending
/// at `t` (`ts >= w - 1`).
#[inline(always)]
pub fn rolling_chunk(
    x: &[f64],
    w: usize,
    kind: Rolling,
    ts: usize,
    te: usize,
    mut emit: impl FnMut(usize, f64),
) {
    let wf = w as f64;
    match kind {
        Rolling::Sum | Rolling::Mean => {
            let mut s = window_sum(x, ts, w);
            let f = |s: f64| if kind == Rolling::Sum { s } else { s / wf };
            emit(ts, f(s));
            for t in ts + 1..te {
                s += x[t] - x[t - w];
                emit(t, f(s));
            }
        }
        Rolling::Std { ddof } => {
            let denom = (w - ddof) as f64;
            let (mut mean, mut m2) = window_mean_m2(x, ts, w);
            emit(ts, std_from_m2(m2, denom));
            for t in ts + 1..te {
                (mean, m2) = slide_m2(mean, m2, x[t], x[t - w], wf);
                emit(t, std_from_m2(m2, denom));
            }
        }
    }
}

/// A rolling statistic over the NaN-free `x`: `out[..w-1]` is NaN, the rest in chunks of
/// `chunk` outputs, each re-seeded with an exact window sum.
pub fn rolling(x: &[f64], w: usize, kind: Rolling, chunk: usize, out: &mut [f64]) {
    let n = x.len();
    out[..(w - 1).min(n)].fill(f64::NAN);
    let mut ts = w - 1;
    while ts < n {
        let te = (ts + chunk).min(n);
        rolling_chunk(x, w, kind, ts, te, |t, v| out[t] = v);
        ts = te;
    }
}

// ------------------------------------------------------------------------------------------
// Reductions: ACC accumulators, `acc[i % ACC]`, combined by `combine_acc`, tail added in order.
// ------------------------------------------------------------------------------------------

#[inline(always)]
fn reduce(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    let bulk = n - n % ACC;
    let mut acc = [0.0; ACC];
    let mut i = 0;
    while i < bulk {
        for (j, a) in acc.iter_mut().enumerate() {
            *a += term(i + j);
        }
        i += ACC;
    }
    let mut s = combine_acc(acc);
    for i in bulk..n {
        s += term(i);
    }
    s
}

/// The index of the first value of `x` whose product with `scale` is not a whole number of ticks
/// ([`crate::model::bar::on_grid`]: within 1e-12 relative), or None. NaN counts as off the grid.
/// Branch-free blocks of 16 (the AVX backends compile this same body under their features, so
/// every backend gives the same answer); the first failing block is searched value by value.
#[inline(always)]
pub fn first_off_grid(x: &[f64], scale: f64) -> Option<usize> {
    use crate::model::bar::on_grid;
    let off = |c: &[f64]| c.iter().fold(false, |acc, &v| acc | !on_grid(v * scale));
    let mut chunks = x.chunks_exact(16);
    let mut base = 0;
    for c in chunks.by_ref() {
        if off(c) {
            return c
                .iter()
                .position(|&v| !on_grid(v * scale))
                .map(|k| base + k);
        }
        base += 16;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&v| !on_grid(v * scale))
        .map(|k| base + k)
}

/// `Σ x_i`.
pub fn sum(x: &[f64]) -> f64 {
    reduce(x.len(), |i| x[i])
}

/// `Σ (x_i - m)²`.
pub fn sum_sq_dev(x: &[f64], m: f64) -> f64 {
    reduce(x.len(), |i| {
        let d = x[i] - m;
        d * d
    })
}

/// `Σ (x_i - mx)(y_i - my)`; `x.len() == y.len()`.
pub fn sum_cross_dev(x: &[f64], y: &[f64], mx: f64, my: f64) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    reduce(x.len(), |i| (x[i] - mx) * (y[i] - my))
}

// ------------------------------------------------------------------------------------------
// Decision kernel: DECISION_ACC accumulators, `acc[i % DECISION_ACC]`.
// ------------------------------------------------------------------------------------------

/// One signal after the policy: NaN → 0, clamp to [-1, 1], `|s| < t` → 0.
#[inline(always)]
pub fn effective_signal(s: f64, t: f64) -> f64 {
    let v = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    if v.abs() < t { 0.0 } else { v }
}

/// `Σ w_i · s'_i` in the canonical order (weights and thresholds may be longer than `s`).
#[inline(always)]
pub fn decision_dot(w: &[f64], t: &[f64], s: &[f64]) -> f64 {
    let mut acc = [0.0; DECISION_ACC];
    for (i, &v) in s.iter().enumerate() {
        acc[i % DECISION_ACC] += w[i] * effective_signal(v, t[i]);
    }
    let b = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    let c = [b[0] + b[2], b[1] + b[3]];
    c[0] + c[1]
}

/// Decisions for `n_bars` rows of `n_signals` signals.
pub fn decide_batch(
    w: &[f64],
    t: &[f64],
    norm: f64,
    band: f64,
    signals: &[f64],
    actions: &mut [i8],
    scores: &mut [f64],
    sizes: &mut [f64],
) {
    let n_sig = w.len();
    for (i, row) in signals.chunks_exact(n_sig).enumerate() {
        let d = decision_finish(decision_dot(w, t, row), norm, band);
        actions[i] = d.action;
        scores[i] = d.score;
        sizes[i] = d.size;
    }
}
