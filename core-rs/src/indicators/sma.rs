//! Simple moving average.

use crate::error::{CoreResult, check_period};

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
    let mut out = super::output(x.len(), 0);
    sma_into(x, period, &mut out)?;
    Ok(out)
}

/// [`sma`] into `out` (same length as `x`, every element written).
pub fn sma_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply_into("real", x, out, |x, out| sma_kernel(x, period, out))
}

/// Streaming SMA: bit-for-bit [`sma`] over the values pushed so far (same running total, same
/// order of additions and subtractions). O(1), no allocation after construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sma {
    period: usize,
    total: f64,
    window: super::ring::Window,
    count: usize,
    value: f64,
}

impl Sma {
    /// A streaming SMA over `period >= 1` values (argument name in errors: `timeperiod`).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            period,
            total: 0.0,
            window: super::ring::Window::new(period),
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value; the SMA of the last `period` values, NaN while fewer have been seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.total += x;
        self.window.push(x);
        if self.count >= self.period {
            let t = self.total;
            self.total -= self.window.oldest();
            self.value = t / self.period as f64;
        }
        Ok(self.value)
    }

    /// The last output (NaN during the lookback).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Valid values pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count >= self.period
    }
    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.total = 0.0;
        self.window.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_batch() {
        let x: Vec<f64> = (0..200)
            .map(|i| 100.0 + ((i * 37 % 17) as f64).sin() * 3.0)
            .collect();
        for p in [1, 2, 3, 14, 30] {
            let batch = sma(&x, p).unwrap();
            let mut s = Sma::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                let o = s.update(v).unwrap();
                assert_eq!(o.to_bits(), batch[i].to_bits(), "p={p} i={i}");
            }
        }
    }

    #[test]
    fn leading_nan_then_error() {
        let mut s = Sma::new(2).unwrap();
        assert!(s.update(f64::NAN).unwrap().is_nan());
        assert!(s.update(1.0).unwrap().is_nan());
        assert_eq!(s.update(3.0).unwrap(), 2.0);
        assert!(s.update(f64::NAN).is_err());
        assert_eq!(s.update(5.0).unwrap(), 4.0);
        assert!(Sma::new(0).is_err());
    }
}
