//! Indicators with TA-Lib's conventions: batch functions over slices and streaming types with an
//! O(1), allocation-free `update`.
//!
//! NaN policy (shared by every indicator): leading NaNs are skipped and the lookback starts at the
//! first valid value, exactly as TA-Lib's Python wrapper does; a NaN after the first valid value
//! is an error ([`CoreError::NanInSeries`]) rather than a silently poisoned tail.
//!
//! The `*_kernel` functions are the single-series reference recurrences, written in TA-Lib's
//! operation order (no fused multiply-add): they take a NaN-free slice and write every output,
//! NaN for the lookback. The multi-lane SIMD kernels in [`crate::simd`] are tested against them.

pub mod ema;
pub mod rsi;
pub mod sma;

use std::sync::OnceLock;

use crate::error::{CoreError, CoreResult};

/// Whether the TA-Lib-compatible recurrences fuse their multiply-add.
///
/// NB: TA-Lib 0.8's build is multiversioned (GCC `target_clones`): `TA_EMA`, `TA_MACD`, `TA_ATR`
/// and `TA_BBANDS` each have a `.fma` clone that its resolver picks on any CPU with FMA, where
/// `prev = (x - prev) * k + prev` compiles to one `vfmadd231sd` (seen in `objdump -d` of the
/// wheel's `libta-lib`). To stay bit-identical with the reference we fuse exactly when it does:
/// on FMA CPUs, whatever `TRADER_SIMD` says (the scalar backend fuses too, through `f64::mul_add`
/// inside an `fma` target-feature function), and never elsewhere.
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
    if let Some(off) = x[start..].iter().position(|v| v.is_nan()) {
        return Err(CoreError::NanInSeries { name, index: start + off });
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
    let start = first_valid(name, x)?;
    let mut out = vec![f64::NAN; x.len()];
    kernel(&x[start..], &mut out[start..]);
    Ok(out)
}
