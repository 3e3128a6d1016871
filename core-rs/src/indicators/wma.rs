//! Weighted moving average (linear weights 1..=period, newest heaviest).
//!
//! NB: TA-Lib 0.8.1's `TA_WMA` (read with `objdump -d`) runs the classic running sums of
//! `ta_WMA.c` but rebuilds them from the window every `8·period` outputs (the `k`-th output,
//! 1-based, is computed from scratch when `k % (8·period) == 0`), which bounds the drift of the
//! running sums. We do the same, so WMA is bit-identical.

use super::ring::Window;
use crate::error::{CoreResult, check_period};

/// TA-Lib's running sums: `sum` = Σ w_i x_i, `sub` = Σ x_i, `trailing` = value leaving next,
/// `counter` = outputs left before the next rebuild.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Sums {
    sum: f64,
    sub: f64,
    trailing: f64,
    counter: usize,
}

impl Sums {
    fn new(period: usize) -> Self {
        Self {
            sum: 0.0,
            sub: 0.0,
            trailing: 0.0,
            counter: 8 * period,
        }
    }
}

/// One output (TA-Lib's order): `oldest` is the first value of the window ending at `x`
/// (subtracted from `sub` at the next step); `window` yields that window oldest first and is
/// read only on a rebuild.
#[inline(always)]
fn step<'a>(
    s: &mut Sums,
    x: f64,
    period: usize,
    divider: f64,
    oldest: f64,
    window: impl FnOnce() -> (&'a [f64], &'a [f64]),
) -> f64 {
    s.counter -= 1;
    let sum = if s.counter != 0 {
        s.sub += x;
        s.sub -= s.trailing;
        s.sum += x * period as f64;
        s.sum
    } else {
        let (a, b) = window();
        rebuild(s, a, b, period)
    };
    s.trailing = oldest;
    s.sum = sum - s.sub;
    sum / divider
}

#[cold]
#[inline(never)]
fn rebuild(s: &mut Sums, a: &[f64], b: &[f64], period: usize) -> f64 {
    let (mut sub, mut sum) = (0.0, 0.0);
    for (j, &v) in a.iter().chain(b).enumerate() {
        sub += v;
        sum += (j + 1) as f64 * v;
    }
    s.sub = sub;
    s.counter = 8 * period;
    sum
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
    let div = divider(period);
    let mut s = Sums::new(period);
    for (i, &v) in x[..period - 1].iter().enumerate() {
        s.sub += v;
        s.sum += v * (i + 1) as f64;
    }
    for i in period - 1..n {
        let w = &x[i + 1 - period..=i];
        out[i] = step(&mut s, x[i], period, div, w[0], || (w, &[]));
    }
}

/// Batch WMA of `x` (TA-Lib `WMA(real, timeperiod)`).
pub fn wma(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    wma_into(x, period, &mut out)?;
    Ok(out)
}

/// [`wma`] into `out` (same length as `x`, every element written).
pub fn wma_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply_into("real", x, out, |x, out| wma_kernel(x, period, out))
}

/// Streaming WMA: bit-for-bit [`wma`]. O(1), the window allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
            s: Sums::new(period),
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
            let old = self.window.oldest();
            let w = &self.window;
            self.value = step(&mut self.s, x, self.period, self.div, old, || w.as_slices());
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
        self.s = Sums::new(self.period);
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
        let x: Vec<f64> = (0..400)
            .map(|i| ((i * 13 % 11) as f64) * 1.5 + 10.0)
            .collect();
        for p in [1, 2, 5, 20] {
            let b = wma(&x, p).unwrap();
            let mut w = Wma::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(
                    w.update(v).unwrap().to_bits(),
                    b[i].to_bits(),
                    "p={p} i={i}"
                );
            }
        }
    }
}
