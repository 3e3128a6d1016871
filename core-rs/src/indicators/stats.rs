//! Rolling sum and variance (TA-Lib `SUM`, `VAR`).
//!
//! `SUM` is TA-Lib's running total (add the new value, emit, subtract the oldest), the SMA's
//! recurrence without the division: bit-identical. `VAR` is the population variance of
//! [`super::stddev::VarCore`] (TA-Lib 0.8.1's shifted sums): bit-identical; `nbdev` is taken
//! and checked but, as in TA-Lib, does not scale the result; `timeperiod = 1` gives 0.

use super::ring::Window;
use super::stddev::{RollingVar, check_finite, var_checked, var_kernel};
use crate::error::{CoreResult, check_period};

/// TA-Lib's SUM on a NaN-free slice (NaN for the lookback `period - 1`).
pub fn sum_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    sum_checked(x, period, out);
}

/// [`sum_kernel`], returning whether `x` may hold a NaN: a NaN poisons the running total for
/// good, so the last output is NaN (or the slice is shorter than a window and not looked at).
fn sum_checked(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return true;
    }
    let mut total = 0.0;
    for &v in &x[..period - 1] {
        total += v;
    }
    for ((o, &v), &old) in out[period - 1..].iter_mut().zip(&x[period - 1..]).zip(x) {
        total += v;
        let t = total;
        total -= old;
        *o = t;
    }
    out[n - 1].is_nan()
}

/// Batch SUM (TA-Lib `SUM(real, timeperiod=30)`, `timeperiod >= 2`).
pub fn sum(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    sum_into(x, period, &mut out)?;
    Ok(out)
}

/// [`sum`] into `out` (same length as `x`, every element written).
pub fn sum_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    super::apply_into_propagating("real", x, out, |x, out| sum_checked(x, period, out))
}

/// Streaming SUM: bit-for-bit [`sum`]. O(1), the window allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sum {
    period: usize,
    total: f64,
    window: Window,
    count: usize,
    value: f64,
}

impl Sum {
    /// `timeperiod >= 2`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            period,
            total: 0.0,
            window: Window::new(period),
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one value; the sum of the last `timeperiod` (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.total += x;
        self.window.push(x);
        if self.count >= self.period {
            self.value = self.total;
            self.total -= self.window.oldest();
        }
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
        self.total = 0.0;
        self.window.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib 0.8.1's VAR on a NaN-free slice, any `period >= 1` (period 1: 0).
pub fn variance_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    if period == 1 {
        out.fill(0.0);
    } else {
        var_kernel(x, period, out);
    }
}

/// [`variance_kernel`], returning whether `x` may hold a NaN.
fn variance_checked(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    if period == 1 {
        out.fill(0.0);
        return true; // not looked at: the caller's scan decides
    }
    var_checked(x, period, out)
}

/// Batch VAR (TA-Lib `VAR(real, timeperiod=5, nbdev=1.0)`; population variance, `nbdev`
/// checked but unused, as in TA-Lib).
pub fn variance(x: &[f64], period: i64, nbdev: f64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    variance_into(x, period, nbdev, &mut out)?;
    Ok(out)
}

/// [`variance`] into `out` (same length as `x`, every element written).
pub fn variance_into(x: &[f64], period: i64, nbdev: f64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    check_finite("nbdev", nbdev)?;
    super::apply_into_propagating("real", x, out, |x, out| variance_checked(x, period, out))
}

/// Streaming VAR: bit-for-bit [`variance`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Var {
    rv: Option<RollingVar>,
    period: usize,
    count: usize,
    value: f64,
}

impl Var {
    /// `timeperiod >= 1`, finite `nbdev` (unused, as in TA-Lib).
    pub fn new(period: i64, nbdev: f64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        check_finite("nbdev", nbdev)?;
        Ok(Self {
            rv: (period > 1).then(|| RollingVar::new(period)),
            period,
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one value; the variance of the last `timeperiod` (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        match &mut self.rv {
            None => self.value = 0.0,
            Some(rv) => {
                if let Some(v) = rv.push(x) {
                    self.value = v;
                }
            }
        }
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
        if let Some(rv) = &mut self.rv {
            rv.reset();
        }
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_and_var_stream_equal_batch() {
        let x: Vec<f64> = (0..300)
            .map(|i| 7.0 + ((i * 13 % 29) as f64) * 0.01)
            .collect();
        for p in [2i64, 3, 30] {
            let b = sum(&x, p).unwrap();
            assert!((b[29] - x[30 - p as usize..30].iter().sum::<f64>()).abs() < 1e-9);
            let mut s = Sum::new(p).unwrap();
            for i in 0..x.len() {
                assert_eq!(s.update(x[i]).unwrap().to_bits(), b[i].to_bits());
            }
        }
        for p in [1i64, 2, 5, 40] {
            let b = variance(&x, p, 1.0).unwrap();
            let mut s = Var::new(p, 3.0).unwrap();
            for i in 0..x.len() {
                assert_eq!(s.update(x[i]).unwrap().to_bits(), b[i].to_bits());
            }
        }
        assert!(variance(&x, 5, f64::INFINITY).is_err());
        assert!(sum(&x, 1).is_err());
    }
}
