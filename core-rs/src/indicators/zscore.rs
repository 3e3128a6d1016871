//! Rolling z-score (not in TA-Lib): `(x - SMA) / STDDEV` over the last `timeperiod` values.
//!
//! The mean is TA-Lib's SMA and the deviation TA-Lib 0.8.1's population STDDEV (nbdev 1), both
//! bit-identical, so `zscore` equals `(x - talib.SMA(x, p)) / talib.STDDEV(x, p)` bit for bit
//! wherever the deviation is not 0. Zero deviation (a flat window, or a variance TA-Lib's rule
//! clamps to 0): the z-score is defined as **0.0** (the value sits at the mean to within
//! rounding), never ±inf or NaN. NaN only for the lookback (`timeperiod - 1` values).

use super::ring::Window;
use super::stddev::VarCore;
use crate::error::{CoreResult, check_period};

#[inline(always)]
fn z(x: f64, mean: f64, var: f64) -> f64 {
    let sd = var.sqrt();
    if sd == 0.0 { 0.0 } else { (x - mean) / sd }
}

/// Rolling z-score on a NaN-free slice (NaN for the lookback).
pub fn zscore_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    let n = x.len();
    let lb = period - 1;
    out[..lb.min(n)].fill(f64::NAN);
    if n < period {
        return;
    }
    let per = period as f64;
    let mut core = VarCore::new(period);
    let mut total = 0.0;
    for (j, &v) in x[..lb].iter().enumerate() {
        total += v;
        core.warm(v, j == 0);
    }
    for i in lb..n {
        let v = x[i];
        total += v;
        let w = &x[i - lb..=i];
        let var = core.step(v, w[0], || (w, &[]));
        let mean = total / per;
        total -= w[0];
        out[i] = z(v, mean, var);
    }
}

/// Batch z-score, `timeperiod >= 2`.
pub fn zscore(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    zscore_into(x, period, &mut out)?;
    Ok(out)
}

/// [`zscore`] into `out` (same length as `x`, every element written).
pub fn zscore_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    super::apply_into("real", x, out, |x, out| zscore_kernel(x, period, out))
}

/// Streaming z-score: bit-for-bit [`zscore`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ZScore {
    period: usize,
    core: VarCore,
    window: Window,
    total: f64,
    count: usize,
    value: f64,
}

impl ZScore {
    /// `timeperiod >= 2`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            period,
            core: VarCore::new(period),
            window: Window::new(period),
            total: 0.0,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value; its z-score within the last `timeperiod` values.
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.total += x;
        self.window.push(x);
        if self.count < self.period {
            self.core.warm(x, self.count == 1);
            return Ok(self.value);
        }
        let old = self.window.oldest();
        let w = &self.window;
        let var = self.core.step(x, old, || w.as_slices());
        let mean = self.total / self.period as f64;
        self.total -= old;
        self.value = z(x, mean, var);
        Ok(self.value)
    }
    /// The last output.
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
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.core.reset();
        self.window.clear();
        self.total = 0.0;
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_is_zero_and_matches_composition() {
        let out = zscore(&[2.0; 8], 3).unwrap();
        assert!(out[1].is_nan());
        assert_eq!(out[7], 0.0);
        let x: Vec<f64> = (0..200).map(|i| 10.0 + ((i * 17 % 23) as f64)).collect();
        let z = zscore(&x, 10).unwrap();
        let m = super::super::sma::sma(&x, 10).unwrap();
        let s = super::super::stddev::stddev(&x, 10, 1.0).unwrap();
        let mut st = ZScore::new(10).unwrap();
        for i in 0..x.len() {
            assert_eq!(st.update(x[i]).unwrap().to_bits(), z[i].to_bits());
            if i >= 9 && s[i] != 0.0 {
                assert_eq!(z[i], (x[i] - m[i]) / s[i]);
            }
        }
    }
}
