//! SIMD backends and the choice between them.
//!
//! `scalar` is the reference; `avx2` (4 f64 lanes) and `avx512` (8 f64 lanes) mirror it kernel by
//! kernel. The backend is chosen once per process, on first use: the best one the CPU supports,
//! unless the environment variable `TRADER_SIMD` (`scalar` | `avx2` | `avx512`) forces one. Forcing a
//! backend the CPU lacks is an error ([`CoreError::SimdUnavailable`]), never a silent fallback.
//! Nothing is compiled with `target-cpu=native`: the AVX paths are `#[target_feature]` functions,
//! only ever called after the run-time check.
//!
//! # Kernels
//!
//! Every public kernel has a `*_with(backend, ...)` twin taking an explicit backend (tests and
//! benches use it; it fails with [`CoreError::SimdUnavailable`] if the CPU lacks that backend);
//! the plain version uses [`backend()`]. What is guaranteed across backends:
//!
//! | kernel | scalar reference | AVX2 / AVX-512 vs scalar |
//! |---|---|---|
//! | [`ema_multi`], [`sma_multi`], [`rsi_multi`] | one single-period `indicators::*_kernel` per row (RSI: TA-Lib's sequential `rsi_kernel`, not the blocked `rsi`) | bit-identical (same per-lane operations; the EMA step is fused exactly where [`crate::indicators::fused`] says) |
//! | [`rolling_sum`], [`rolling_mean`], [`rolling_std`] | chunks of [`rolling_chunk`] outputs, each re-seeded with the exact window sum | bit-identical (lanes = chunks, same per-chunk operations) |
//! | [`sum`], [`mean`], [`std`], [`corr`] | [`ACC`] accumulators `acc[i % ACC]`, combined pairwise, tail added in order | bit-identical (same accumulation order) |
//! | [`decision::DecisionKernel`] | [`DECISION_ACC`] accumulators `acc[i % 8]` | bit-identical |
//!
//! So every comparison against scalar is exact; the tolerance is only against *other*
//! implementations (numpy's pairwise sums, a cumulative-sum rolling mean): about 1e-12 relative
//! on ordinary data (see the docs of each kernel).

use std::sync::OnceLock;

use crate::error::{CoreError, CoreResult, check_len, check_period};
use crate::indicators::first_valid;

pub mod decision;
pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

pub use decision::{Decision, DecisionKernel};
pub use scalar::Rolling;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Scalar,
    Avx2,
    Avx512,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Scalar, Backend::Avx2, Backend::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }

    /// f64 lanes per register.
    pub fn lanes(self) -> usize {
        match self {
            Backend::Scalar => 1,
            Backend::Avx2 => 4,
            Backend::Avx512 => 8,
        }
    }

    /// Whether this CPU can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    pub fn parse(name: &str) -> CoreResult<Backend> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(Backend::Scalar),
            "avx2" => Ok(Backend::Avx2),
            "avx512" => Ok(Backend::Avx512),
            _ => Err(CoreError::UnknownSimdBackend {
                requested: name.to_string(),
            }),
        }
    }
}

/// Every backend this CPU can run, scalar first.
pub fn available() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// The best backend this CPU can run.
pub fn detect() -> Backend {
    *available().last().unwrap_or(&Backend::Scalar)
}

/// Resolve a requested backend name (the value of `TRADER_SIMD`), or detect when `None`/empty.
pub fn resolve(requested: Option<&str>) -> CoreResult<Backend> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(detect()),
        Some(name) => {
            let b = Backend::parse(name)?;
            if b.is_available() {
                Ok(b)
            } else {
                Err(CoreError::SimdUnavailable {
                    requested: name.to_string(),
                    available: available().into_iter().map(Backend::name).collect(),
                })
            }
        }
    }
}

static CHOSEN: OnceLock<CoreResult<Backend>> = OnceLock::new();

/// The process-wide backend: chosen once from `TRADER_SIMD` or the CPU, then cached.
pub fn backend() -> CoreResult<Backend> {
    CHOSEN
        .get_or_init(|| resolve(std::env::var("TRADER_SIMD").ok().as_deref()))
        .clone()
}

/// Fails with [`CoreError::SimdUnavailable`] unless this CPU can run `b`.
pub fn ensure_available(b: Backend) -> CoreResult<()> {
    if b.is_available() {
        Ok(())
    } else {
        Err(CoreError::SimdUnavailable {
            requested: b.name().to_string(),
            available: available().into_iter().map(Backend::name).collect(),
        })
    }
}

// ------------------------------------------------------------------------------------------
// Shared constants of the canonical operation orders
// ------------------------------------------------------------------------------------------

/// Accumulators of the reductions: element `i` of the bulk goes to `acc[i % ACC]`
/// (AVX2: 8 registers × 4 lanes, AVX-512: 4 × 8), the `n % ACC` tail is added in order after
/// [`combine_acc`].
pub const ACC: usize = 32;

/// Accumulators of the decision kernel's weighted sum: signal `i` goes to `acc[i % 8]`
/// (AVX2: 2 registers × 4 lanes, AVX-512: 1 × 8), combined `(a0+a4, ..) → (b0+b2, b1+b3) → c0+c1`.
pub const DECISION_ACC: usize = 8;

/// Pairwise combination of the reduction accumulators: `acc[j] += acc[j + w]` for
/// `w = 16, 8, 4, 2, 1`.
#[inline(always)]
pub(crate) fn combine_acc(mut acc: [f64; ACC]) -> f64 {
    let mut w = ACC / 2;
    while w >= 1 {
        for j in 0..w {
            acc[j] += acc[j + w];
        }
        w /= 2;
    }
    acc[0]
}

pub(crate) use decision::finish as decision_finish;

/// Outputs per chunk of the rolling kernels for a window `w`: chunks are independent (each
/// re-seeded with an exact window sum), so SIMD lanes run one chunk each and the scalar
/// reference walks the same chunks in order. Depends only on `w`, never on the backend.
/// NB: seeding costs `w` per chunk, so chunks are at least `4 w` long (≤ 25 % extra work).
pub fn rolling_chunk(w: usize) -> usize {
    w.saturating_mul(4).max(2048).next_multiple_of(8)
}

// ------------------------------------------------------------------------------------------
// Multi-lane indicators
// ------------------------------------------------------------------------------------------

/// A row-major 2-D result: `data[r * cols + c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub data: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
}

impl Rows {
    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// Which indicator a multi-lane call computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multi {
    Ema,
    Sma,
    Rsi,
}

/// Validate the periods of a multi-lane call: the same minimum as the single-period function
/// (1 for EMA/SMA, 2 for RSI, as TA-Lib).
fn check_periods(periods: &[i64], min: i64) -> CoreResult<Vec<usize>> {
    if periods.is_empty() {
        return Err(CoreError::InvalidArgument {
            name: "periods",
            reason: "must name at least one period".into(),
        });
    }
    periods
        .iter()
        .map(|&p| check_period("periods", p, min))
        .collect()
}

fn multi(b: Backend, kind: Multi, x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    multi_in(b, kind, x, periods, Vec::new())
}

/// A multi-lane indicator written into `buf` (its contents are discarded; its capacity is reused
/// when large enough, so a caller that recycles output buffers avoids fresh page faults).
pub fn multi_in(
    b: Backend,
    kind: Multi,
    x: &[f64],
    periods: &[i64],
    mut buf: Vec<f64>,
) -> CoreResult<Rows> {
    ensure_available(b)?;
    let periods = check_periods(periods, if matches!(kind, Multi::Rsi) { 2 } else { 1 })?;
    let start = first_valid("real", x)?;
    let (m, n) = (periods.len(), x.len());
    let total = m.checked_mul(n).ok_or_else(|| CoreError::InvalidArgument {
        name: "periods",
        reason: format!("{m} rows of {n} values do not fit in memory"),
    })?;
    let xs = &x[start..];
    buf.clear();
    if b == Backend::Scalar {
        let mut data = buf;
        data.resize(total, f64::NAN);
        if !xs.is_empty() {
            let out = &mut data[start..];
            match kind {
                Multi::Ema => scalar::ema_multi(xs, &periods, out, n),
                Multi::Sma => scalar::sma_multi(xs, &periods, out, n),
                Multi::Rsi => scalar::rsi_multi(xs, &periods, out, n),
            }
        }
        return Ok(Rows {
            data,
            rows: m,
            cols: n,
        });
    }
    #[cfg(target_arch = "x86_64")]
    {
        let mut data = buf;
        data.reserve_exact(total);
        let base = data.as_mut_ptr();
        for r in 0..m {
            for t in 0..start {
                // SAFETY: r * n + t < m * n = capacity.
                unsafe { base.add(r * n + t).write(f64::NAN) };
            }
        }
        // SAFETY: `ensure_available(b)` checked the CPU features of the backend; every row
        // `r < m` of `xs.len()` values at `base + start + r * n` lies inside the allocation
        // (start + (m - 1) * n + xs.len() = m * n).
        unsafe {
            let out = base.add(start);
            match (b, kind) {
                (Backend::Avx2, Multi::Ema) => avx2::ema_multi(xs, &periods, out, n),
                (Backend::Avx2, Multi::Sma) => avx2::sma_multi(xs, &periods, out, n),
                (Backend::Avx2, Multi::Rsi) => avx2::rsi_multi(xs, &periods, out, n),
                (Backend::Avx512, Multi::Ema) => avx512::ema_multi(xs, &periods, out, n),
                (Backend::Avx512, Multi::Sma) => avx512::sma_multi(xs, &periods, out, n),
                (Backend::Avx512, Multi::Rsi) => avx512::rsi_multi(xs, &periods, out, n),
                (Backend::Scalar, _) => unreachable!("handled above"),
            }
        }
        // SAFETY: the NaN prefix above and the kernel (which writes every `(r, t)` with
        // `t < xs.len()`, see its docs) initialised all `m * n` elements exactly once.
        unsafe { data.set_len(total) };
        Ok(Rows {
            data,
            rows: m,
            cols: n,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("only the scalar backend is available off x86_64")
}

/// EMA of `x` for every period at once: row `j` is bit-identical to
/// `indicators::ema::ema(x, periods[j])` (TA-Lib seeding, NaN lookback, leading NaNs skipped).
/// Shape `(periods.len(), x.len())`.
pub fn ema_multi(x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    ema_multi_with(backend()?, x, periods)
}

/// [`ema_multi`] on an explicit backend.
pub fn ema_multi_with(b: Backend, x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    multi(b, Multi::Ema, x, periods)
}

/// SMA of `x` for every period at once; rows bit-identical to `indicators::sma::sma`.
pub fn sma_multi(x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    sma_multi_with(backend()?, x, periods)
}

/// [`sma_multi`] on an explicit backend.
pub fn sma_multi_with(b: Backend, x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    multi(b, Multi::Sma, x, periods)
}

/// RSI of `x` for every period at once; rows bit-identical to `indicators::rsi::rsi_kernel`
/// (TA-Lib's sequential recurrence), so within 1e-9 of the blocked `indicators::rsi::rsi`.
pub fn rsi_multi(x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    rsi_multi_with(backend()?, x, periods)
}

/// [`rsi_multi`] on an explicit backend.
pub fn rsi_multi_with(b: Backend, x: &[f64], periods: &[i64]) -> CoreResult<Rows> {
    multi(b, Multi::Rsi, x, periods)
}

// ------------------------------------------------------------------------------------------
// Rolling window statistics
// ------------------------------------------------------------------------------------------

/// A rolling statistic of `x` over `window` values on an explicit backend: NaN for the first
/// `window - 1` outputs after the leading NaNs, a NaN in the middle is an error.
///
/// Accuracy against an exact window recomputation: the sum is updated as
/// `s += x[t] - x[t - w]` and re-seeded every [`rolling_chunk`] outputs, so the drift is at most
/// a few thousand roundings of the window's magnitude (~1e-12 relative for positive data). The
/// standard deviation uses the sliding mean/M2 (Welford) update, re-seeded by a two-pass window
/// computation each chunk; its error is relative to the window's *spread* history, so a window
/// that turns exactly flat may read ~1e-8 × the previous spread instead of 0.
pub fn rolling_with(b: Backend, x: &[f64], window: i64, kind: Rolling) -> CoreResult<Vec<f64>> {
    ensure_available(b)?;
    let w = check_period("window", window, 1)?;
    if let Rolling::Std { ddof } = kind
        && ddof >= w
    {
        return Err(CoreError::InvalidArgument {
            name: "ddof",
            reason: format!("must be smaller than the window ({w}), got {ddof}"),
        });
    }
    let start = first_valid("real", x)?;
    let n = x.len();
    let xs = &x[start..];
    let chunk = rolling_chunk(w);
    if b == Backend::Scalar {
        let mut out = vec![f64::NAN; n];
        scalar::rolling(xs, w, kind, chunk, &mut out[start..]);
        return Ok(out);
    }
    #[cfg(target_arch = "x86_64")]
    {
        let mut out: Vec<f64> = Vec::with_capacity(n);
        let base = out.as_mut_ptr();
        for t in 0..start {
            // SAFETY: t < start <= n = capacity.
            unsafe { base.add(t).write(f64::NAN) };
        }
        // SAFETY: the CPU runs `b` (checked above); `base + start` has room for `xs.len()`
        // values.
        unsafe {
            match b {
                Backend::Avx2 => avx2::rolling(xs, w, kind, chunk, base.add(start)),
                Backend::Avx512 => avx512::rolling(xs, w, kind, chunk, base.add(start)),
                Backend::Scalar => unreachable!("handled above"),
            }
        }
        // SAFETY: the prefix loop wrote `..start`, the kernel every index of `start..n`.
        unsafe { out.set_len(n) };
        Ok(out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("only the scalar backend is available off x86_64")
}

/// Rolling sum over `window` values (see [`rolling_with`]).
pub fn rolling_sum(x: &[f64], window: i64) -> CoreResult<Vec<f64>> {
    rolling_with(backend()?, x, window, Rolling::Sum)
}

/// Rolling mean over `window` values (see [`rolling_with`]).
pub fn rolling_mean(x: &[f64], window: i64) -> CoreResult<Vec<f64>> {
    rolling_with(backend()?, x, window, Rolling::Mean)
}

/// Rolling standard deviation over `window` values with divisor `window - ddof`
/// (`ddof = 0`: population) (see [`rolling_with`]).
pub fn rolling_std(x: &[f64], window: i64, ddof: usize) -> CoreResult<Vec<f64>> {
    rolling_with(backend()?, x, window, Rolling::Std { ddof })
}

// ------------------------------------------------------------------------------------------
// Reductions
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Red<'a> {
    Sum(&'a [f64]),
    SqDev(&'a [f64], f64),
    CrossDev(&'a [f64], &'a [f64], f64, f64),
}

fn reduce(b: Backend, r: Red<'_>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        // Every arm: `b` was checked by `ensure_available` in the public callers (the CPU has the
        // backend's features, the kernels' only precondition), and the kernels read only inside
        // the given slices (`sum_cross_dev`: x and y of equal length, checked by its callers).
        match (b, r) {
            (Backend::Avx2, Red::Sum(x)) => {
                // SAFETY: AVX2 + FMA checked (see above); reads stay inside `x`.
                return unsafe { avx2::sum(x) };
            }
            (Backend::Avx2, Red::SqDev(x, m)) => {
                // SAFETY: AVX2 + FMA checked (see above); reads stay inside `x`.
                return unsafe { avx2::sum_sq_dev(x, m) };
            }
            (Backend::Avx2, Red::CrossDev(x, y, mx, my)) => {
                // SAFETY: AVX2 + FMA checked (see above); x.len() == y.len() (callers).
                return unsafe { avx2::sum_cross_dev(x, y, mx, my) };
            }
            (Backend::Avx512, Red::Sum(x)) => {
                // SAFETY: AVX-512F/DQ/VL checked (see above); reads stay inside `x`.
                return unsafe { avx512::sum(x) };
            }
            (Backend::Avx512, Red::SqDev(x, m)) => {
                // SAFETY: AVX-512F/DQ/VL checked (see above); reads stay inside `x`.
                return unsafe { avx512::sum_sq_dev(x, m) };
            }
            (Backend::Avx512, Red::CrossDev(x, y, mx, my)) => {
                // SAFETY: AVX-512F/DQ/VL checked (see above); x.len() == y.len() (callers).
                return unsafe { avx512::sum_cross_dev(x, y, mx, my) };
            }
            _ => {}
        }
    }
    match r {
        Red::Sum(x) => scalar::sum(x),
        Red::SqDev(x, m) => scalar::sum_sq_dev(x, m),
        Red::CrossDev(x, y, mx, my) => scalar::sum_cross_dev(x, y, mx, my),
    }
}

/// Count of leading NaNs (cheap: stops at the first valid value).
fn leading_nans(x: &[f64]) -> usize {
    x.iter().position(|v| !v.is_nan()).unwrap_or(x.len())
}

/// The valid part of `x`, checked lazily: a NaN in the middle makes any sum NaN, so the full
/// [`first_valid`] scan only runs when a result came out NaN (it raises `NanInSeries` then).
fn valid_part(x: &[f64]) -> &[f64] {
    &x[leading_nans(x)..]
}

fn no_values(name: &'static str, need: usize) -> CoreError {
    CoreError::InvalidArgument {
        name,
        reason: format!("needs at least {need} valid (non-NaN) value(s)"),
    }
}

/// `Σ x` over the valid values on an explicit backend (0.0 when there are none).
pub fn sum_with(b: Backend, x: &[f64]) -> CoreResult<f64> {
    ensure_available(b)?;
    let s = reduce(b, Red::Sum(valid_part(x)));
    if s.is_nan() {
        first_valid("real", x)?;
    }
    Ok(s)
}

/// Mean of the valid values on an explicit backend: [`sum_with`] / count.
pub fn mean_with(b: Backend, x: &[f64]) -> CoreResult<f64> {
    ensure_available(b)?;
    let xs = valid_part(x);
    if xs.is_empty() {
        return Err(no_values("real", 1));
    }
    let s = reduce(b, Red::Sum(xs));
    if s.is_nan() {
        first_valid("real", x)?;
    }
    Ok(s / xs.len() as f64)
}

/// Standard deviation with divisor `count - ddof` on an explicit backend; two passes (mean,
/// then the sum of squared deviations), so no cancellation.
pub fn std_with(b: Backend, x: &[f64], ddof: usize) -> CoreResult<f64> {
    let m = mean_with(b, x)?;
    let xs = valid_part(x);
    if xs.len() <= ddof {
        return Err(CoreError::InvalidArgument {
            name: "ddof",
            reason: format!(
                "must be smaller than the number of valid values ({}), got {ddof}",
                xs.len()
            ),
        });
    }
    let ss = reduce(b, Red::SqDev(xs, m));
    Ok((ss / (xs.len() - ddof) as f64).sqrt())
}

/// Pearson correlation of `x` and `y` on an explicit backend, over the pairs after the leading
/// NaNs of both; NaN when either side is constant. Clamped to [-1, 1].
pub fn corr_with(b: Backend, x: &[f64], y: &[f64]) -> CoreResult<f64> {
    ensure_available(b)?;
    check_len("y", x.len(), y.len())?;
    let start = first_valid("x", x)?.max(first_valid("y", y)?);
    let (xs, ys) = (&x[start..], &y[start..]);
    if xs.len() < 2 {
        return Err(no_values("x", 2));
    }
    let nf = xs.len() as f64;
    let mx = reduce(b, Red::Sum(xs)) / nf;
    let my = reduce(b, Red::Sum(ys)) / nf;
    let sxx = reduce(b, Red::SqDev(xs, mx));
    let syy = reduce(b, Red::SqDev(ys, my));
    let sxy = reduce(b, Red::CrossDev(xs, ys, mx, my));
    if sxx == 0.0 || syy == 0.0 {
        return Ok(f64::NAN);
    }
    Ok((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// [`sum_with`] on the process backend.
pub fn sum(x: &[f64]) -> CoreResult<f64> {
    sum_with(backend()?, x)
}

/// The index of the first value of `x` off the price grid at `scale` (see
/// [`scalar::first_off_grid`]) on an explicit backend; the same answer on every backend.
pub fn first_off_grid_with(b: Backend, x: &[f64], scale: f64) -> CoreResult<Option<usize>> {
    ensure_available(b)?;
    #[cfg(target_arch = "x86_64")]
    match b {
        // SAFETY: `ensure_available` found the backend's features on this CPU (the kernels'
        // only precondition); they read only inside `x`.
        Backend::Avx2 => return Ok(unsafe { avx2::first_off_grid(x, scale) }),
        // SAFETY: as above.
        Backend::Avx512 => return Ok(unsafe { avx512::first_off_grid(x, scale) }),
        Backend::Scalar => {}
    }
    Ok(scalar::first_off_grid(x, scale))
}

/// [`first_off_grid_with`] on the process backend (the scalar one when `TRADER_SIMD` names no
/// usable backend: this check never fails for that).
pub fn first_off_grid(x: &[f64], scale: f64) -> Option<usize> {
    let b = backend().unwrap_or(Backend::Scalar);
    first_off_grid_with(b, x, scale).unwrap_or_else(|_| scalar::first_off_grid(x, scale))
}

/// The smallest number of decimals (0..=`max_dp`) at which every finite value of `columns` sits
/// on the price grid (the engine's own check, so a precision from here never fails it); `max_dp`
/// when none does. NaNs are ignored.
// NB: one pass per candidate, each stopping at the first value off the grid: a 2-decimal series
// costs two early exits and one full pass.
pub fn price_decimals(columns: &[&[f64]], max_dp: u8) -> u8 {
    'dp: for dp in 0..max_dp {
        let s = crate::model::fixed::pow10(dp as u32) as f64;
        for col in columns {
            let mut rest: &[f64] = col;
            while let Some(k) = first_off_grid(rest, s) {
                if rest[k].is_finite() {
                    continue 'dp;
                }
                rest = &rest[k + 1..]; // a NaN: not a price
            }
        }
        return dp;
    }
    max_dp
}

/// [`mean_with`] on the process backend.
pub fn mean(x: &[f64]) -> CoreResult<f64> {
    mean_with(backend()?, x)
}

/// [`std_with`] on the process backend.
pub fn std(x: &[f64], ddof: usize) -> CoreResult<f64> {
    std_with(backend()?, x, ddof)
}

/// [`corr_with`] on the process backend.
pub fn corr(x: &[f64], y: &[f64]) -> CoreResult<f64> {
    corr_with(backend()?, x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_names_and_errors() {
        assert_eq!(resolve(Some("scalar")), Ok(Backend::Scalar));
        assert_eq!(resolve(None), Ok(detect()));
        assert!(matches!(
            resolve(Some("sse9")),
            Err(CoreError::UnknownSimdBackend { .. })
        ));
        for b in Backend::ALL {
            let r = resolve(Some(b.name()));
            assert_eq!(r.is_ok(), b.is_available(), "{b:?}");
        }
    }
}
