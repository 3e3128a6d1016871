//! Exponential moving average.

use crate::error::{check_period, CoreResult};

/// TA-Lib's smoothing factor `2 / (period + 1)`.
#[inline]
pub fn ema_k(period: usize) -> f64 {
    2.0 / ((period + 1) as f64)
}

/// One EMA step, `(x - prev) * k + prev`, fused or not (see [`super::fused`]).
#[inline(always)]
pub fn ema_step<const FUSED: bool>(x: f64, prev: f64, k: f64) -> f64 {
    if FUSED { (x - prev).mul_add(k, prev) } else { (x - prev) * k + prev }
}

#[inline(always)]
fn ema_body<const FUSED: bool>(x: &[f64], period: usize, out: &mut [f64]) {
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return;
    }
    let k = ema_k(period);
    let mut sum = 0.0;
    for &v in &x[..period] {
        sum += v;
    }
    let mut prev = sum / period as f64;
    out[period - 1] = prev;
    for (o, &v) in out[period..].iter_mut().zip(&x[period..]) {
        prev = ema_step::<FUSED>(v, prev, k);
        *o = prev;
    }
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn ema_body_fma(x: &[f64], period: usize, out: &mut [f64]) {
    ema_body::<true>(x, period, out)
}

/// TA-Lib's EMA on a NaN-free slice: seeded with the mean of the first `period` values, then
/// `prev = (x - prev) * k + prev`. `out[..period-1]` is NaN. Bit-identical to `TA_EMA` on the
/// same CPU (fused exactly where TA-Lib fuses, see [`super::fused`]).
pub fn ema_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    assert_eq!(x.len(), out.len());
    assert!(period >= 1);
    #[cfg(target_arch = "x86_64")]
    if super::fused() {
        // SAFETY: `fused()` is true only when the CPU reports FMA.
        return unsafe { ema_body_fma(x, period, out) };
    }
    ema_body::<false>(x, period, out)
}

/// Batch EMA of `x` (TA-Lib `EMA(real, timeperiod)`).
pub fn ema(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply("real", x, |x, out| ema_kernel(x, period, out))
}
