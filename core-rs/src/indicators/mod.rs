//! Indicators with TA-Lib's conventions: batch functions over slices and streaming types with an
//! O(1), allocation-free `update`.
//!
//! NaN policy (shared by every indicator): leading NaNs are skipped and the lookback starts at the
//! first valid value, exactly as TA-Lib's Python wrapper does; a NaN after the first valid value
//! is an error ([`CoreError::NanInSeries`]) rather than a silently poisoned tail.
//!
//! The `*_kernel` functions are the single-series reference recurrences, written in TA-Lib 0.8's
//! exact operation order (fused multiply-adds exactly where TA-Lib fuses): they take a NaN-free
//! slice and write every output, NaN for the lookback. The multi-lane SIMD kernels in
//! [`crate::simd`] are tested against them.
//!
//! Streaming types ([`Sma`], [`Ema`], ...) share their step functions with the batch kernels, so
//! `update` over a series returns bit-for-bit what the batch function returns. Their storage (the
//! ring of the last `period` values where one is needed) is allocated once, at construction.
//! Streaming NaN policy: `update(NaN)` before the first valid value returns NaN and changes
//! nothing (a leading NaN); after it, it is a [`CoreError::NanInSeries`] error and the state is
//! left untouched.

/// `$vis fn $name(args) -> R` calling `$body(args)` (an `#[inline(always)]` kernel body),
/// through a copy compiled with the FMA target feature when the CPU has it (see [`fused`]):
/// every `f64::mul_add` inlined there is one `vfmadd`, not a call to libm's `fma`. Same bits
/// either way.
///
/// NB: a closure run inside a `#[target_feature]` function (the former `ma::with_fma`) is not
/// reliably inlined into it: `perf` showed T3's and LINEARREG's loops compiled without FMA,
/// calling the software `fma` every step (T3 21.6 ms against TA-Lib's 2.5 ms on 1M values).
/// A named function per kernel with typed arguments leaves nothing to the inliner's mood.
macro_rules! fma_kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? = $body:ident;) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) $(-> $r)? {
            /// # Safety
            /// The CPU must support FMA.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "fma")]
            unsafe fn fast($($a: $t),*) $(-> $r)? {
                $body($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::indicators::fused() {
                // SAFETY: `fused()` is true only when the CPU reports FMA.
                return unsafe { fast($($a),*) };
            }
            $body($($a),*)
        }
    };
}

pub mod aroon;
pub mod atr;
pub mod bbands;
pub mod channels;
pub mod dm;
pub mod ema;
pub mod extremes;
pub mod linreg;
pub mod ma;
pub mod macd;
pub mod momentum;
pub mod obv;
pub mod osc;
pub mod price;
pub mod ring;
pub mod roc;
pub mod rsi;
pub mod sar;
pub mod sma;
pub mod stats;
pub mod stddev;
pub mod stoch;
pub mod volatility;
pub mod volume;
pub mod vwap;
pub mod wma;
pub mod zscore;

pub use atr::Atr;
pub use bbands::Bbands;
pub use ema::Ema;
pub use macd::Macd;
pub use obv::Obv;
pub use rsi::Rsi;
pub use sma::Sma;
pub use stddev::StdDev;
pub use vwap::Vwap;
pub use wma::Wma;
pub use zscore::ZScore;

use std::sync::OnceLock;

use crate::error::{CoreError, CoreResult};

/// Whether the CPU has hardware FMA, i.e. whether the `#[target_feature(enable = "fma")]`
/// bodies of the kernels may be called.
///
/// NB: TA-Lib 0.8's build (C library 0.8.1 in the 0.8.2 wheel) is multiversioned (GCC
/// `target_clones`): `TA_EMA`, `TA_MACD`, `TA_ATR` and `TA_BBANDS` each have a `.fma` clone
/// where `prev = (x - prev) * k + prev` is one `vfmadd231sd`. Their `.default` clones are fused
/// too: they call libm's `fma()` at the same sites (`objdump -d` of the wheel's `libta-lib`,
/// `call fma@plt`), so TA-Lib's results are the fused ones on *every* CPU. Our kernels therefore
/// always fuse (`f64::mul_add`); this flag only picks the fast body (one instruction) over the
/// portable one (libm's exact, slower `fma`). Bits are the same either way.
pub fn fused() -> bool {
    static FUSED: OnceLock<bool> = OnceLock::new();
    *FUSED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Index of the first non-NaN value of `x` (`x.len()` when there is none). Errors if a NaN
/// follows it.
pub fn first_valid(name: &'static str, x: &[f64]) -> CoreResult<usize> {
    let start = x.iter().position(|v| !v.is_nan()).unwrap_or(x.len());
    if has_nan(&x[start..]) {
        let off = x[start..].iter().position(|v| v.is_nan()).unwrap_or(0);
        return Err(CoreError::NanInSeries {
            name,
            index: start + off,
        });
    }
    Ok(start)
}

/// Whether `x` holds a NaN: branch-free over blocks of 32 (vectorises), so the check costs a
/// fraction of the indicator's own pass.
#[inline]
pub(crate) fn has_nan(x: &[f64]) -> bool {
    let mut chunks = x.chunks_exact(32);
    for c in &mut chunks {
        let mut any = false;
        for &v in c {
            any |= v.is_nan();
        }
        if any {
            return true;
        }
    }
    chunks.remainder().iter().any(|v| v.is_nan())
}

/// Index of the first non-NaN value of `x` (`x.len()` when there is none); reads only the
/// leading NaNs.
#[inline]
pub fn leading_nans(x: &[f64]) -> usize {
    x.iter().position(|v| !v.is_nan()).unwrap_or(x.len())
}

/// [`apply_into`] for kernels that report whether they may have met a NaN: recursive ones whose
/// state a NaN poisons for good (EMA, RSI, MACD: the final state is NaN), or ones that fold
/// `is_nan` of every value they read into a flag. Only then is the input scanned for the NaN's
/// index (none found: the NaN came from infinities, the outputs stand). NB: saves the separate
/// NaN pass over the input, ~15% of an EMA's time, ~25% of a rolling SUM's.
pub fn apply_into_propagating(
    name: &'static str,
    x: &[f64],
    out: &mut [f64],
    kernel: impl FnOnce(&[f64], &mut [f64]) -> bool,
) -> CoreResult<()> {
    crate::error::check_len("out", x.len(), out.len())?;
    let start = leading_nans(x);
    out[..start].fill(f64::NAN);
    if kernel(&x[start..], &mut out[start..]) {
        nan_error(name, x, start)?;
    }
    Ok(())
}

/// `NanInSeries` naming the first NaN of `x` at or after `start`, if there is one.
pub fn nan_error(name: &'static str, x: &[f64], start: usize) -> CoreResult<()> {
    match x[start..].iter().position(|v| v.is_nan()) {
        Some(off) => Err(CoreError::NanInSeries {
            name,
            index: start + off,
        }),
        None => Ok(()), // NaN state from infinities, not from a NaN input: TA-Lib's outputs stand
    }
}

/// The common start of several same-length inputs: the largest of their first valid indices
/// (TA-Lib's wrapper `check_begidx*`). Errors name the first input with a wrong length or a NaN
/// after its first valid value.
pub fn first_valid_all(inputs: &[(&'static str, &[f64])]) -> CoreResult<usize> {
    let n = inputs.first().map_or(0, |(_, x)| x.len());
    for &(name, x) in inputs {
        crate::error::check_len(name, n, x.len())?;
    }
    let mut start = 0;
    for &(name, x) in inputs {
        start = start.max(first_valid(name, x)?);
    }
    Ok(start)
}

/// The common start of [`first_valid_all`] without its pass over the whole inputs: lengths and
/// the NaNs before `start` are checked here; a kernel run from `start` must report whether an
/// input held a NaN there, and the caller then calls [`first_valid_all`] for the error.
/// NB: the separate NaN pass reads every input once more (~0.2 ms per 1M-value input), as
/// much as a whole MOM or BOP kernel.
pub(crate) fn leading_all(inputs: &[(&'static str, &[f64])]) -> CoreResult<usize> {
    let n = inputs.first().map_or(0, |(_, x)| x.len());
    for &(name, x) in inputs {
        crate::error::check_len(name, n, x.len())?;
    }
    let start = inputs
        .iter()
        .map(|(_, x)| leading_nans(x))
        .max()
        .unwrap_or(0);
    for &(_, x) in inputs {
        if has_nan(&x[leading_nans(x)..start]) {
            return first_valid_all(inputs);
        }
    }
    Ok(start)
}

/// Run a single-series kernel over `x` with the NaN policy applied: NaN before the first valid
/// value, the kernel on the rest.
pub fn apply(
    name: &'static str,
    x: &[f64],
    kernel: impl FnOnce(&[f64], &mut [f64]),
) -> CoreResult<Vec<f64>> {
    let mut out = output(x.len(), 0);
    apply_into(name, x, &mut out, kernel)?;
    Ok(out)
}

/// [`apply`] into a caller's buffer (`out.len() == x.len()`; every element is written). The
/// bindings use it to write straight into a numpy array.
pub fn apply_into(
    name: &'static str,
    x: &[f64],
    out: &mut [f64],
    kernel: impl FnOnce(&[f64], &mut [f64]),
) -> CoreResult<()> {
    crate::error::check_len("out", x.len(), out.len())?;
    let start = first_valid(name, x)?;
    out[..start].fill(f64::NAN);
    kernel(&x[start..], &mut out[start..]);
    Ok(())
}

/// An output vector of `n` values with NaN before `start`; the rest is left for the kernel to
/// write (every kernel writes all of its slice).
///
/// NB: allocated zeroed (`calloc`: fresh pages from the OS, no write pass) rather than filled
/// with NaN, which wrote every output twice and cost ~30% on 1M-value batches (measured against
/// talib in `benches/test_bench_indicators.py`).
pub(crate) fn output(n: usize, start: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    out[..start.min(n)].fill(f64::NAN);
    out
}

/// Shared NaN gate of the streaming types: `Ok(true)` to process the value, `Ok(false)` for a
/// leading NaN (skipped), an error for a NaN after the first valid value.
#[inline(always)]
pub(crate) fn stream_gate(
    name: &'static str,
    x: f64,
    started: bool,
    count: usize,
) -> CoreResult<bool> {
    if x.is_nan() {
        if started {
            return Err(CoreError::NanInSeries { name, index: count });
        }
        return Ok(false);
    }
    Ok(true)
}
