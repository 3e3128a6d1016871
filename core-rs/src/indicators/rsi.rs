//! Relative strength index, Wilder's smoothing.

use crate::error::{check_period, CoreResult};

/// TA-Lib's `TA_IS_ZERO`: an absolute tolerance of 1e-8.
#[inline]
pub fn ta_is_zero(v: f64) -> bool {
    -0.00000001 < v && v < 0.00000001
}

/// TA-Lib's RSI on a NaN-free slice: average gain and loss seeded by the mean of the first
/// `period` changes, then Wilder's smoothing `avg = (avg * (period - 1) + change) / period`.
/// `out[..period]` is NaN. Same operation order as `TA_RSI`.
pub fn rsi_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..period.min(n)].fill(f64::NAN);
    if n <= period {
        return;
    }
    let p = period as f64;
    let pm1 = (period - 1) as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    let mut prev = x[0];
    for &v in &x[1..=period] {
        let d = v - prev;
        prev = v;
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
    }
    loss /= p;
    gain /= p;
    let rsi = |gain: f64, loss: f64| {
        let s = gain + loss;
        if ta_is_zero(s) { 0.0 } else { 100.0 * (gain / s) }
    };
    out[period] = rsi(gain, loss);
    for i in period + 1..n {
        let v = x[i];
        let d = v - prev;
        prev = v;
        loss *= pm1;
        gain *= pm1;
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
        loss /= p;
        gain /= p;
        out[i] = rsi(gain, loss);
    }
}

/// Batch RSI of `x` (TA-Lib `RSI(real, timeperiod)`).
pub fn rsi(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply("real", x, |x, out| rsi_kernel(x, period, out))
}
