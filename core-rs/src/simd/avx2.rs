//! The AVX2 + FMA backend: 4 f64 lanes per register. Mirrors [`super::scalar`] kernel by kernel;
//! every result is bit-identical to the scalar one (same per-lane operations in the same order).
//!
//! Every `pub unsafe fn` here requires a CPU with AVX2 and FMA ([`super::Backend::Avx2`]'s
//! `is_available()`); the dispatchers in [`super`] check it before calling.

use std::arch::x86_64::*;

use super::scalar::{self, Rolling};
use super::{ACC, decision_finish};
use crate::indicators::ema::{ema_k, ema_kernel};
use crate::indicators::rsi::rsi_kernel;
use crate::indicators::sma::sma_kernel;

/// f64 lanes per register.
const L: usize = 4;
/// Registers interleaved by the multi-lane recurrences.
/// NB: the EMA step is a dependent sub + FMA (~8 cycles on Zen 2); two independent registers
/// keep two chains in flight, so 8 periods cost about what one scalar EMA costs.
const R_MAX: usize = 2;
const LANES: usize = L * R_MAX;

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// `v[s][l]` (time `s`, lane `l`) → `o[l][s]`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose4(v: [__m256d; 4]) -> [__m256d; 4] {
    let t0 = _mm256_unpacklo_pd(v[0], v[1]);
    let t1 = _mm256_unpackhi_pd(v[0], v[1]);
    let t2 = _mm256_unpacklo_pd(v[2], v[3]);
    let t3 = _mm256_unpackhi_pd(v[2], v[3]);
    [
        _mm256_permute2f128_pd::<0x20>(t0, t2),
        _mm256_permute2f128_pd::<0x20>(t1, t3),
        _mm256_permute2f128_pd::<0x31>(t0, t2),
        _mm256_permute2f128_pd::<0x31>(t1, t3),
    ]
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes(v: __m256d) -> [f64; L] {
    // SAFETY: __m256d and [f64; 4] have the same size and every bit pattern is valid for both.
    unsafe { std::mem::transmute::<__m256d, [f64; L]>(v) }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn from_lanes(a: &[f64], r: usize) -> __m256d {
    _mm256_setr_pd(a[r * L], a[r * L + 1], a[r * L + 2], a[r * L + 3])
}

/// Run a single-period kernel per row through a scratch row (series too short to vectorise).
///
/// # Safety
/// `out + r * stride + t` must be valid for writes for `r < periods.len()`, `t < x.len()`.
unsafe fn rows_scalar(
    x: &[f64],
    periods: &[usize],
    out: *mut f64,
    stride: usize,
    kernel: fn(&[f64], usize, &mut [f64]),
) {
    let mut tmp = vec![0.0; x.len()];
    for (r, &p) in periods.iter().enumerate() {
        kernel(x, p, &mut tmp);
        // SAFETY: the caller guarantees row r has room for x.len() values; tmp is a separate
        // allocation.
        unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.add(r * stride), x.len()) };
    }
}

/// Copy `src` to the start of row `r`.
///
/// # Safety
/// Row `r` of `out` must have room for `src.len()` values.
#[inline]
unsafe fn put_row(out: *mut f64, stride: usize, r: usize, src: &[f64]) {
    // SAFETY: guaranteed by the caller; `src` never aliases the output.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), out.add(r * stride), src.len()) };
}

/// Store the 4 time steps × `R * 4` lanes of `res` into the rows (`t..t+4` of each row `< m`).
///
/// # Safety
/// Rows `< m` of `out` must have room for `t + 4` values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_block<const R: usize>(
    res: &[[__m256d; 4]; R],
    m: usize,
    out: *mut f64,
    stride: usize,
    t: usize,
) {
    for (r, block) in res.iter().enumerate() {
        let tr = transpose4(*block);
        for (l, v) in tr.into_iter().enumerate() {
            let row = r * L + l;
            if row < m {
                // SAFETY: row < m and t + 4 <= row length (caller).
                unsafe { _mm256_storeu_pd(out.add(row * stride + t), v) };
            }
        }
    }
}

/// Outputs at least this large (bytes) are written with non-temporal stores.
/// NB: a (8, 1M) `ema_multi` is bound by writing its 64 MB: ordinary stores read each line before
/// writing it (read-for-ownership), streaming stores do not. They only pay when every store burst
/// fills a whole 64-byte line of one row (8 values), so the streaming loop steps 8 bars a block
/// from a 64-byte aligned start: 32-byte streaming stores of 4 values into 8 interleaved rows
/// measured slower than ordinary stores (3.9 vs 3.2 ms), full lines faster.
pub(crate) const STREAM_BYTES: usize = 8 << 20;

/// Stream two 4-step blocks (8 consecutive values per row) as whole cache lines.
///
/// # Safety
/// Rows `< m` of `out` must have room for `t + 8` values, and `out + row * stride + t` must be
/// 64-byte aligned for every row.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn stream_block8<const R: usize>(
    lo: &[[__m256d; 4]; R],
    hi: &[[__m256d; 4]; R],
    m: usize,
    out: *mut f64,
    stride: usize,
    t: usize,
) {
    for r in 0..R {
        let (a, b) = (transpose4(lo[r]), transpose4(hi[r]));
        for l in 0..L {
            let row = r * L + l;
            if row < m {
                // SAFETY: row < m, t + 8 <= row length and 64-byte alignment (caller).
                unsafe {
                    let p = out.add(row * stride + t);
                    _mm256_stream_pd(p, a[l]);
                    _mm256_stream_pd(p.add(4), b[l]);
                }
            }
        }
    }
}

/// Call `group::<1>` or `group::<2>` for each block of up to 8 periods (rows).
macro_rules! for_groups {
    ($periods:expr, $out:expr, $stride:expr, |$chunk:ident, $o:ident| $one:expr, $two:expr) => {
        for (g, $chunk) in $periods.chunks(LANES).enumerate() {
            // SAFETY: row g * LANES exists (the caller's block has `periods.len()` rows).
            let $o = unsafe { $out.add(g * LANES * $stride) };
            if $chunk.len() <= L { $one } else { $two }
        }
    };
}

// ------------------------------------------------------------------------------------------
// Multi-lane EMA / SMA / RSI
// ------------------------------------------------------------------------------------------

/// EMA rows of `x` for each period (see [`super::ema_multi`]); row `r` at `out + r * stride`.
///
/// # Safety
/// The CPU must support AVX2 and FMA. `out + r * stride + t` must be valid for writes for
/// `r < periods.len()` and `t < x.len()`; all of them are written exactly once. Periods >= 1.
#[target_feature(enable = "avx2,fma")]
#[inline(never)] // kept out of the AVX-512 caller that delegates to it: VEX code, not EVEX
pub unsafe fn ema_multi(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    debug_assert!(crate::indicators::fused(), "the AVX2 backend requires FMA");
    for_groups!(
        periods,
        out,
        stride,
        |chunk, o| {
            // SAFETY: this fn's own contract: the CPU has AVX2 and FMA, checked by
            // `ensure_available` when the backend was chosen. `o` is row g * 8 of the
            // caller's block, whose rows (`stride` apart) take x.len() values each, and
            // this chunk has at most 4 rows (R = 1).
            unsafe { ema_group::<1>(x, chunk, o, stride) }
        },
        {
            // SAFETY: as above; this chunk has at most 8 rows (R = 2).
            unsafe { ema_group::<2>(x, chunk, o, stride) }
        }
    );
}

/// # Safety
/// As [`ema_multi`], with `periods.len() <= R * 4`.
#[target_feature(enable = "avx2,fma")]
unsafe fn ema_group<const R: usize>(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    let (n, m) = (x.len(), periods.len());
    let pmax = periods.iter().copied().max().unwrap_or(1);
    if n <= pmax {
        // SAFETY: forwarded caller contract.
        return unsafe { rows_scalar(x, periods, out, stride, ema_kernel) };
    }
    // Each lane runs the reference kernel up to pmax - 1 (its seed and first steps), then all
    // lanes step together from t = pmax.
    // Large outputs stream past the caches from a start where every row's address is 64-byte
    // aligned (rows are `stride` apart); the lanes run the reference kernel up to that start,
    // which gives the same values as stepping them (the same recurrence).
    let nt = n * m * 8 >= STREAM_BYTES && (out as usize) % 8 == 0 && (stride * 8) % 64 == 0;
    let t0 = if nt {
        pmax + (8 - ((out as usize / 8) + pmax) % 8) % 8
    } else {
        pmax
    };
    if n <= t0 {
        // SAFETY: forwarded caller contract.
        return unsafe { rows_scalar(x, periods, out, stride, ema_kernel) };
    }
    let mut tmp = vec![0.0; t0];
    let (mut st, mut kk) = ([0.0; LANES], [0.0; LANES]);
    for lane in 0..R * L {
        let p = periods[lane.min(m - 1)];
        if lane < m {
            ema_kernel(&x[..t0], p, &mut tmp);
            // SAFETY: row lane < m has room for n > t0 values.
            unsafe { put_row(out, stride, lane, &tmp) };
            st[lane] = tmp[t0 - 1];
        } else {
            st[lane] = st[m - 1];
        }
        kk[lane] = ema_k(p);
    }
    let mut s: [__m256d; R] = std::array::from_fn(|r| from_lanes(&st, r));
    let k: [__m256d; R] = std::array::from_fn(|r| from_lanes(&kk, r));
    let mut t = t0;
    if nt {
        while t + 8 <= n {
            let mut lo = [[_mm256_setzero_pd(); 4]; R];
            let mut hi = [[_mm256_setzero_pd(); 4]; R];
            for j in 0..8 {
                let xv = _mm256_set1_pd(x[t + j]);
                for r in 0..R {
                    s[r] = _mm256_fmadd_pd(_mm256_sub_pd(xv, s[r]), k[r], s[r]);
                    if j < 4 {
                        lo[r][j] = s[r];
                    } else {
                        hi[r][j - 4] = s[r];
                    }
                }
            }
            // SAFETY: t + 8 <= n, and t keeps every row 64-byte aligned (t0 chosen so, t += 8).
            unsafe { stream_block8::<R>(&lo, &hi, m, out, stride, t) };
            t += 8;
        }
        // Streaming stores are weakly ordered: fence them before the data is handed over.
        _mm_sfence();
    }
    while t + 4 <= n {
        let mut res = [[_mm256_setzero_pd(); 4]; R];
        for j in 0..4 {
            let xv = _mm256_set1_pd(x[t + j]);
            for r in 0..R {
                s[r] = _mm256_fmadd_pd(_mm256_sub_pd(xv, s[r]), k[r], s[r]);
                res[r][j] = s[r];
            }
        }
        // SAFETY: t + 4 <= n.
        unsafe { store_block::<R>(&res, m, out, stride, t) };
        t += 4;
    }
    for r in 0..R {
        st[r * L..r * L + L].copy_from_slice(&lanes(s[r]));
    }
    for row in 0..m {
        let (mut prev, kr) = (st[row], kk[row]);
        for (tt, &v) in x.iter().enumerate().skip(t) {
            prev = (v - prev).mul_add(kr, prev);
            // SAFETY: row < m, tt < n.
            unsafe { out.add(row * stride + tt).write(prev) };
        }
    }
}

/// SMA rows of `x` for each period (see [`super::sma_multi`]).
///
/// # Safety
/// As [`ema_multi`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sma_multi(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    for_groups!(
        periods,
        out,
        stride,
        |chunk, o| {
            // SAFETY: this fn's own contract: the CPU has AVX2 and FMA, checked by
            // `ensure_available` when the backend was chosen. `o` is row g * 8 of the
            // caller's block, whose rows (`stride` apart) take x.len() values each, and
            // this chunk has at most 4 rows (R = 1).
            unsafe { sma_group::<1>(x, chunk, o, stride) }
        },
        {
            // SAFETY: as above; this chunk has at most 8 rows (R = 2).
            unsafe { sma_group::<2>(x, chunk, o, stride) }
        }
    );
}

/// # Safety
/// As [`ema_multi`], with `periods.len() <= R * 4`.
#[target_feature(enable = "avx2,fma")]
unsafe fn sma_group<const R: usize>(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    let (n, m) = (x.len(), periods.len());
    let pmax = periods.iter().copied().max().unwrap_or(1);
    if n < pmax + 4 {
        // SAFETY: forwarded caller contract.
        return unsafe { rows_scalar(x, periods, out, stride, sma_kernel) };
    }
    let t0 = pmax - 1;
    let mut tmp = vec![0.0; t0];
    let (mut tot, mut pp, mut off) = ([0.0; LANES], [1.0; LANES], [0i64; LANES]);
    for lane in 0..R * L {
        let p = periods[lane.min(m - 1)];
        tot[lane] = scalar::sma_prefix(x, p, t0, &mut tmp);
        if lane < m {
            // SAFETY: row lane < m has room for n > t0 values.
            unsafe { put_row(out, stride, lane, &tmp) };
        }
        pp[lane] = p as f64;
        off[lane] = p as i64 - 1;
    }
    let mut s: [__m256d; R] = std::array::from_fn(|r| from_lanes(&tot, r));
    let p: [__m256d; R] = std::array::from_fn(|r| from_lanes(&pp, r));
    // idx[r] = t + 1 - p_lane, the index that leaves the window after step t.
    let mut idx: [__m256i; R] = std::array::from_fn(|r| {
        let o = &off[r * L..r * L + L];
        _mm256_setr_epi64x(
            t0 as i64 - o[0],
            t0 as i64 - o[1],
            t0 as i64 - o[2],
            t0 as i64 - o[3],
        )
    });
    let one = _mm256_set1_epi64x(1);
    let xp = x.as_ptr();
    let mut t = t0;
    while t + 4 <= n {
        let mut res = [[_mm256_setzero_pd(); 4]; R];
        for j in 0..4 {
            let xv = _mm256_set1_pd(x[t + j]);
            for r in 0..R {
                s[r] = _mm256_add_pd(s[r], xv);
                res[r][j] = _mm256_div_pd(s[r], p[r]);
                // SAFETY: 0 <= t + j + 1 - p_lane <= t + j < n for every lane (t >= pmax - 1).
                let old = unsafe { _mm256_i64gather_pd::<8>(xp, idx[r]) };
                s[r] = _mm256_sub_pd(s[r], old);
                idx[r] = _mm256_add_epi64(idx[r], one);
            }
        }
        // SAFETY: t + 4 <= n.
        unsafe { store_block::<R>(&res, m, out, stride, t) };
        t += 4;
    }
    for r in 0..R {
        tot[r * L..r * L + L].copy_from_slice(&lanes(s[r]));
    }
    for row in 0..m {
        let (mut total, pr, pu) = (tot[row], pp[row], periods[row]);
        for tt in t..n {
            total += x[tt];
            let v = total / pr;
            total -= x[tt + 1 - pu];
            // SAFETY: row < m, tt < n.
            unsafe { out.add(row * stride + tt).write(v) };
        }
    }
}

/// RSI rows of `x` for each period (see [`super::rsi_multi`]).
///
/// # Safety
/// As [`ema_multi`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn rsi_multi(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    for_groups!(
        periods,
        out,
        stride,
        |chunk, o| {
            // SAFETY: this fn's own contract: the CPU has AVX2 and FMA, checked by
            // `ensure_available` when the backend was chosen. `o` is row g * 8 of the
            // caller's block, whose rows (`stride` apart) take x.len() values each, and
            // this chunk has at most 4 rows (R = 1).
            unsafe { rsi_group::<1>(x, chunk, o, stride) }
        },
        {
            // SAFETY: as above; this chunk has at most 8 rows (R = 2).
            unsafe { rsi_group::<2>(x, chunk, o, stride) }
        }
    );
}

/// # Safety
/// As [`ema_multi`], with `periods.len() <= R * 4`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rsi_group<const R: usize>(x: &[f64], periods: &[usize], out: *mut f64, stride: usize) {
    let (n, m) = (x.len(), periods.len());
    let pmax = periods.iter().copied().max().unwrap_or(1);
    if n <= pmax + 1 {
        // SAFETY: forwarded caller contract.
        return unsafe { rows_scalar(x, periods, out, stride, rsi_kernel) };
    }
    let mut tmp = vec![0.0; pmax + 1];
    let (mut gain, mut loss, mut pp, mut pm) =
        ([0.0; LANES], [0.0; LANES], [1.0; LANES], [0.0; LANES]);
    for lane in 0..R * L {
        let p = periods[lane.min(m - 1)];
        (gain[lane], loss[lane]) = scalar::rsi_prefix(x, p, pmax, &mut tmp);
        if lane < m {
            // SAFETY: row lane < m has room for n > pmax + 1 values.
            unsafe { put_row(out, stride, lane, &tmp) };
        }
        pp[lane] = 1.0 / p as f64;
        pm[lane] = (p - 1) as f64;
    }
    let mut g: [__m256d; R] = std::array::from_fn(|r| from_lanes(&gain, r));
    let mut lo: [__m256d; R] = std::array::from_fn(|r| from_lanes(&loss, r));
    let inv: [__m256d; R] = std::array::from_fn(|r| from_lanes(&pp, r));
    let pm1: [__m256d; R] = std::array::from_fn(|r| from_lanes(&pm, r));
    let (zero, hundred) = (_mm256_setzero_pd(), _mm256_set1_pd(100.0));
    let mut t = pmax + 1;
    while t + 4 <= n {
        let mut res = [[zero; 4]; R];
        for j in 0..4 {
            let (gs, ls) = scalar::rsi_split(x[t + j] - x[t + j - 1]);
            let (gv, lv) = (_mm256_set1_pd(gs), _mm256_set1_pd(ls));
            for r in 0..R {
                // (gain * (p-1) + g) / p and (l + loss * (p-1)) / p, as `rsi_step` (no FMA).
                g[r] = _mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(g[r], pm1[r]), gv), inv[r]);
                lo[r] = _mm256_mul_pd(_mm256_add_pd(lv, _mm256_mul_pd(lo[r], pm1[r])), inv[r]);
                let sum = _mm256_add_pd(g[r], lo[r]);
                let pos = _mm256_cmp_pd::<_CMP_GT_OQ>(sum, zero);
                res[r][j] = _mm256_and_pd(pos, _mm256_mul_pd(_mm256_div_pd(g[r], sum), hundred));
            }
        }
        // SAFETY: t + 4 <= n.
        unsafe { store_block::<R>(&res, m, out, stride, t) };
        t += 4;
    }
    for r in 0..R {
        gain[r * L..r * L + L].copy_from_slice(&lanes(g[r]));
        loss[r * L..r * L + L].copy_from_slice(&lanes(lo[r]));
    }
    for row in 0..m {
        let (mut gn, mut ls, inv_r, pmr) = (gain[row], loss[row], pp[row], pm[row]);
        for tt in t..n {
            scalar::rsi_step(&mut gn, &mut ls, x[tt] - x[tt - 1], pmr, inv_r);
            // SAFETY: row < m, tt < n.
            unsafe { out.add(row * stride + tt).write(scalar::rsi_value(gn, ls)) };
        }
    }
}

// ------------------------------------------------------------------------------------------
// Rolling statistics: lanes = 4 consecutive chunks
// ------------------------------------------------------------------------------------------

/// Rolling statistic of the NaN-free `x` into `out[..x.len()]` (NaN lookback included), chunked
/// exactly as [`scalar::rolling`].
///
/// # Safety
/// The CPU must support AVX2 and FMA; `out` must be valid for writes of `x.len()` values (all
/// written exactly once). `w >= 1`, `chunk` a multiple of 8, for `Std`, `ddof < w`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn rolling(x: &[f64], w: usize, kind: Rolling, chunk: usize, out: *mut f64) {
    let n = x.len();
    for t in 0..(w - 1).min(n) {
        // SAFETY: t < n.
        unsafe { out.add(t).write(f64::NAN) };
    }
    if n < w {
        return;
    }
    let n_out = n - (w - 1);
    let full = n_out / chunk;
    let groups = full / L;
    for g in 0..groups {
        let ts0 = w - 1 + g * L * chunk;
        // SAFETY: 4 full chunks starting at ts0 lie inside x and out.
        unsafe { rolling_group(x, w, kind, chunk, ts0, out) };
    }
    let mut ts = w - 1 + groups * L * chunk;
    while ts < n {
        let te = (ts + chunk).min(n);
        // SAFETY: t < n for every emitted t.
        scalar::rolling_chunk(x, w, kind, ts, te, |t, v| unsafe { out.add(t).write(v) });
        ts = te;
    }
}

/// Four full chunks starting at `ts0`, `ts0 + chunk`, ... in the 4 lanes.
///
/// # Safety
/// As [`rolling`], and `ts0 + 4 * chunk <= x.len()`, `ts0 >= w - 1`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rolling_group(
    x: &[f64],
    w: usize,
    kind: Rolling,
    chunk: usize,
    ts0: usize,
    out: *mut f64,
) {
    let ts: [usize; L] = std::array::from_fn(|j| ts0 + j * chunk);
    let wf = w as f64;
    let wv = _mm256_set1_pd(wf);
    let zero = _mm256_setzero_pd();
    let xp = x.as_ptr();
    // Seeds, scalar, exactly as scalar::rolling_chunk.
    let (mut a, mut b) = ([0.0; L], [0.0; L]);
    let denom = match kind {
        Rolling::Std { ddof } => (w - ddof) as f64,
        _ => 1.0,
    };
    for j in 0..L {
        let v = match kind {
            Rolling::Sum | Rolling::Mean => {
                a[j] = scalar::window_sum(x, ts[j], w);
                if kind == Rolling::Sum {
                    a[j]
                } else {
                    a[j] / wf
                }
            }
            Rolling::Std { .. } => {
                (a[j], b[j]) = scalar::window_mean_m2(x, ts[j], w);
                scalar::std_from_m2(b[j], denom)
            }
        };
        // SAFETY: ts[j] < n.
        unsafe { out.add(ts[j]).write(v) };
    }
    let dv = _mm256_set1_pd(denom);
    let mut va = from_lanes(&a, 0);
    let mut vb = from_lanes(&b, 0);
    // 4 steps of the 4 lanes: x[ts[j] + at - back .. + 4], transposed to one register per step.
    let load = |at: usize, back: usize| -> [__m256d; 4] {
        // SAFETY: at >= 1 and ts[j] >= w - 1, so ts[j] + at - back >= 0 for back <= w; and
        // ts[j] + at + 4 <= ts[j] + chunk <= n (the loop condition).
        let v: [__m256d; 4] =
            std::array::from_fn(|j| unsafe { _mm256_loadu_pd(xp.add(ts[j] + at - back)) });
        transpose4(v)
    };
    let mut s = 1;
    while s + 4 <= chunk {
        let xn = load(s, 0);
        let xo = load(s, w);
        let mut res = [zero; 4];
        for k in 0..4 {
            res[k] = match kind {
                Rolling::Sum | Rolling::Mean => {
                    va = _mm256_add_pd(va, _mm256_sub_pd(xn[k], xo[k]));
                    if kind == Rolling::Sum {
                        va
                    } else {
                        _mm256_div_pd(va, wv)
                    }
                }
                Rolling::Std { .. } => {
                    let dx = _mm256_sub_pd(xn[k], xo[k]);
                    let mean_new = _mm256_add_pd(va, _mm256_div_pd(dx, wv));
                    let t = _mm256_add_pd(_mm256_sub_pd(xn[k], mean_new), _mm256_sub_pd(xo[k], va));
                    vb = _mm256_add_pd(vb, _mm256_mul_pd(dx, t));
                    va = mean_new;
                    let pos = _mm256_and_pd(vb, _mm256_cmp_pd::<_CMP_GT_OQ>(vb, zero));
                    _mm256_sqrt_pd(_mm256_div_pd(pos, dv))
                }
            };
        }
        let tr = transpose4(res);
        for j in 0..L {
            // SAFETY: ts[j] + s + 4 <= ts[j] + chunk <= n.
            unsafe { _mm256_storeu_pd(out.add(ts[j] + s), tr[j]) };
        }
        s += 4;
    }
    let (fa, fb) = (lanes(va), lanes(vb));
    for j in 0..L {
        let (mut a, mut b) = (fa[j], fb[j]);
        for t in ts[j] + s..ts[j] + chunk {
            let v = match kind {
                Rolling::Sum | Rolling::Mean => {
                    a += x[t] - x[t - w];
                    if kind == Rolling::Sum { a } else { a / wf }
                }
                Rolling::Std { .. } => {
                    (a, b) = scalar::slide_m2(a, b, x[t], x[t - w], wf);
                    scalar::std_from_m2(b, denom)
                }
            };
            // SAFETY: t < ts[j] + chunk <= n.
            unsafe { out.add(t).write(v) };
        }
    }
}

// ------------------------------------------------------------------------------------------
// Reductions: 8 registers = the 32 accumulators of scalar::reduce
// ------------------------------------------------------------------------------------------

const REGS: usize = ACC / L;

/// `combine_acc` on registers: r[i] holds acc[4i..4i+4].
#[target_feature(enable = "avx2,fma")]
#[inline]
fn combine(a: [__m256d; REGS]) -> f64 {
    let b: [__m256d; 4] = std::array::from_fn(|r| _mm256_add_pd(a[r], a[r + 4]));
    let c0 = _mm256_add_pd(b[0], b[2]);
    let c1 = _mm256_add_pd(b[1], b[3]);
    let d = _mm256_add_pd(c0, c1);
    let e = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd::<1>(d));
    let e: [f64; 2] = [_mm_cvtsd_f64(e), _mm_cvtsd_f64(_mm_unpackhi_pd(e, e))];
    e[0] + e[1]
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn reduce(n: usize, term: impl Fn(usize) -> __m256d, tail: impl Fn(usize) -> f64) -> f64 {
    let bulk = n - n % ACC;
    let mut a = [_mm256_setzero_pd(); REGS];
    let mut i = 0;
    while i < bulk {
        for (r, acc) in a.iter_mut().enumerate() {
            *acc = _mm256_add_pd(*acc, term(i + r * L));
        }
        i += ACC;
    }
    let mut s = combine(a);
    for i in bulk..n {
        s += tail(i);
    }
    s
}

/// `Σ x` (see [`scalar::sum`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum(x: &[f64]) -> f64 {
    let p = x.as_ptr();
    // SAFETY: `reduce` only asks for i + 4 <= bulk <= x.len().
    reduce(x.len(), |i| unsafe { _mm256_loadu_pd(p.add(i)) }, |i| x[i])
}

/// `Σ (x - m)²` (see [`scalar::sum_sq_dev`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum_sq_dev(x: &[f64], m: f64) -> f64 {
    let (p, mv) = (x.as_ptr(), _mm256_set1_pd(m));
    reduce(
        x.len(),
        |i| {
            // SAFETY: i + 4 <= x.len().
            let d = _mm256_sub_pd(unsafe { _mm256_loadu_pd(p.add(i)) }, mv);
            _mm256_mul_pd(d, d)
        },
        |i| {
            let d = x[i] - m;
            d * d
        },
    )
}

/// `Σ (x - mx)(y - my)` (see [`scalar::sum_cross_dev`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA; `x.len() == y.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum_cross_dev(x: &[f64], y: &[f64], mx: f64, my: f64) -> f64 {
    let n = x.len().min(y.len());
    let (px, py) = (x.as_ptr(), y.as_ptr());
    let (mxv, myv) = (_mm256_set1_pd(mx), _mm256_set1_pd(my));
    reduce(
        n,
        |i| {
            // SAFETY: i + 4 <= n <= both lengths.
            let (a, b) = unsafe { (_mm256_loadu_pd(px.add(i)), _mm256_loadu_pd(py.add(i))) };
            _mm256_mul_pd(_mm256_sub_pd(a, mxv), _mm256_sub_pd(b, myv))
        },
        |i| (x[i] - mx) * (y[i] - my),
    )
}

// ------------------------------------------------------------------------------------------
// Decision kernel: 2 registers = the 8 accumulators of scalar::decision_dot
// ------------------------------------------------------------------------------------------

/// `w · s'` for 4 signals (the policy of [`scalar::effective_signal`]).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn weighted4(s: __m256d, t: __m256d, w: __m256d) -> __m256d {
    let ordered = _mm256_cmp_pd::<_CMP_ORD_Q>(s, s);
    let v = _mm256_and_pd(s, ordered);
    let v = _mm256_min_pd(_mm256_max_pd(v, _mm256_set1_pd(-1.0)), _mm256_set1_pd(1.0));
    let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), v);
    let below = _mm256_cmp_pd::<_CMP_LT_OQ>(abs, t);
    _mm256_mul_pd(w, _mm256_andnot_pd(below, v))
}

/// The weighted sum of [`scalar::decision_dot`], same order.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `w` and `t` hold at least `s.len().next_multiple_of(8)`
/// values.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub unsafe fn decision_dot(w: &[f64], t: &[f64], s: &[f64]) -> f64 {
    let n = s.len();
    debug_assert!(w.len() >= n.next_multiple_of(8) && t.len() >= n.next_multiple_of(8));
    let (wp, tp, sp) = (w.as_ptr(), t.as_ptr(), s.as_ptr());
    let (mut lo, mut hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n <= the lengths of s, w and t.
        unsafe {
            lo = _mm256_add_pd(
                lo,
                weighted4(
                    _mm256_loadu_pd(sp.add(i)),
                    _mm256_loadu_pd(tp.add(i)),
                    _mm256_loadu_pd(wp.add(i)),
                ),
            );
            hi = _mm256_add_pd(
                hi,
                weighted4(
                    _mm256_loadu_pd(sp.add(i + 4)),
                    _mm256_loadu_pd(tp.add(i + 4)),
                    _mm256_loadu_pd(wp.add(i + 4)),
                ),
            );
        }
        i += 8;
    }
    if i < n {
        let mut buf = [0.0; 8];
        buf[..n - i].copy_from_slice(&s[i..]);
        // SAFETY: w and t are padded to a multiple of 8 >= i + 8; buf holds 8 values.
        unsafe {
            lo = _mm256_add_pd(
                lo,
                weighted4(
                    _mm256_loadu_pd(buf.as_ptr()),
                    _mm256_loadu_pd(tp.add(i)),
                    _mm256_loadu_pd(wp.add(i)),
                ),
            );
            hi = _mm256_add_pd(
                hi,
                weighted4(
                    _mm256_loadu_pd(buf.as_ptr().add(4)),
                    _mm256_loadu_pd(tp.add(i + 4)),
                    _mm256_loadu_pd(wp.add(i + 4)),
                ),
            );
        }
    }
    let b = _mm256_add_pd(lo, hi);
    let c = _mm_add_pd(_mm256_castpd256_pd128(b), _mm256_extractf128_pd::<1>(b));
    _mm_cvtsd_f64(c) + _mm_cvtsd_f64(_mm_unpackhi_pd(c, c))
}

/// Row-by-row decisions, each exactly [`decision_dot`] + `finish`.
///
/// # Safety
/// As [`decision_dot`] with `s.len() = n`; `signals.len() = bars * n`, the outputs hold `bars`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)] // reason: the kernel's parameters, unpacked for the hot loop
pub unsafe fn decide_batch(
    w: &[f64],
    t: &[f64],
    n: usize,
    norm: f64,
    band: f64,
    signals: &[f64],
    actions: &mut [i8],
    scores: &mut [f64],
    sizes: &mut [f64],
) {
    for (i, row) in signals.chunks_exact(n).enumerate() {
        // SAFETY: forwarded contract.
        let d = decision_finish(unsafe { decision_dot(w, t, row) }, norm, band);
        actions[i] = d.action;
        scores[i] = d.score;
        sizes[i] = d.size;
    }
}

/// [`scalar::first_off_grid`], compiled for AVX2 (the same body: the same answer).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn first_off_grid(x: &[f64], scale: f64) -> Option<usize> {
    scalar::first_off_grid(x, scale)
}
