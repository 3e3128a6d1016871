//! Simple moving average.

use crate::error::{check_period, CoreResult};

/// TA-Lib's SMA recurrence on a NaN-free slice: add the new value, emit, subtract the oldest.
/// `out[..period-1]` is NaN. Bit-identical to `TA_SMA`.
pub fn sma_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return;
    }
    let p = period as f64;
    let mut total = 0.0;
    for &v in &x[..period - 1] {
        total += v;
    }
    for i in period - 1..n {
        total += x[i];
        let t = total;
        total -= x[i + 1 - period];
        out[i] = t / p;
    }
}

/// Batch SMA of `x` (TA-Lib `SMA(real, timeperiod)`).
pub fn sma(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply("real", x, |x, out| sma_kernel(x, period, out))
}
