//! Weighted moving average (linear weights 1..=period, newest heaviest).

use super::ring::Window;
use crate::error::{check_period, CoreResult};

/// TA-Lib's running sums: `sum` = Σ w_i x_i, `sub` = Σ x_i, `trailing` = value leaving next.
#[derive(Debug, Clone, Copy)]
struct Sums {
    sum: f64,
    sub: f64,
    trailing: f64,
}

/// One main-loop step (TA-Lib's order): returns the output; `oldest` is the first value of the
/// current window (subtracted from `sub` at the next step).
#[inline(always)]
fn step(s: &mut Sums, x: f64, p: f64, divider: f64, oldest: f64) -> f64 {
    s.sub += x;
    s.sub -= s.trailing;
    s.sum += x * p;
    s.trailing = oldest;
    let out = s.sum / divider;
    s.sum -= s.sub;
    out
}

#[inline]
fn divider(period: usize) -> f64 {
    (period as f64) * ((period + 1) as f64) * 0.5
}

/// TA-Lib's WMA on a NaN-free slice; `out[..period-1]` is NaN; period 1 copies the input.
pub fn wma_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return;
    }
    if period == 1 {
        out.copy_from_slice(x);
        return;
    }
    let (p, div) = (period as f64, divider(period));
    let mut s = Sums { sum: 0.0, sub: 0.0, trailing: 0.0 };
    for (i, &v) in x[..period - 1].iter().enumerate() {
        s.sub += v;
        s.sum += v * (i + 1) as f64;
    }
    for i in period - 1..n {
        out[i] = step(&mut s, x[i], p, div, x[i + 1 - period]);
    }
}

/// Batch WMA of `x` (TA-Lib `WMA(real, timeperiod)`).
pub fn wma(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply("real", x, |x, out| wma_kernel(x, period, out))
}

/// Streaming WMA: bit-for-bit [`wma`]. O(1), the window allocated once.
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    div: f64,
    s: Sums,
    window: Window,
    count: usize,
    value: f64,
}

impl Wma {
    /// A streaming WMA with `period >= 1` (argument name in errors: `timeperiod`).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            period,
            div: divider(period),
            s: Sums { sum: 0.0, sub: 0.0, trailing: 0.0 },
            window: Window::new(period),
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value and return the WMA (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.window.push(x);
        if self.period == 1 {
            self.value = x;
        } else if self.count < self.period {
            self.s.sub += x;
            self.s.sum += x * self.count as f64;
        } else {
            self.value = step(&mut self.s, x, self.period as f64, self.div, self.window.oldest());
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
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.s = Sums { sum: 0.0, sub: 0.0, trailing: 0.0 };
        self.window.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_streaming() {
        let out = wma(&[1.0, 2.0, 3.0, 4.0], 3).unwrap();
        assert_eq!(out[2], (1.0 + 4.0 + 9.0) / 6.0);
        assert_eq!(out[3], (2.0 + 6.0 + 12.0) / 6.0);
        let x: Vec<f64> = (0..100).map(|i| ((i * 13 % 11) as f64) * 1.5 + 10.0).collect();
        for p in [1, 2, 5, 20] {
            let b = wma(&x, p).unwrap();
            let mut w = Wma::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(w.update(v).unwrap().to_bits(), b[i].to_bits(), "p={p} i={i}");
            }
        }
    }
}
