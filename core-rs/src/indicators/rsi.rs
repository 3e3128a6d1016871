//! Relative strength index, Wilder's smoothing.
//!
//! NB: TA-Lib 0.8.1 (the 0.8.2 wheel) no longer computes RSI the way the classic C source reads
//! (`avg *= p-1; avg += change; avg /= p` and a `TA_IS_ZERO` test); its `TA_RSI` (read with
//! `objdump -d`, no FMA clone) does, per bar: `gain = max(change, 0)` (as `0 < d ? d : 0`),
//! `loss = gain - change`, `avg_gain = (avg_gain * (p-1) + gain) * (1/p)`, the same for the loss,
//! the seed is the sum of the first `p` gains (losses) times `1/p`, and the output is
//! `avg_gain / (avg_gain + avg_loss) * 100` when that sum is `> 0`, else `0`. We do exactly that,
//! so RSI is bit-identical too, including tiny prices (no 1e-8 absolute tolerance any more).

use crate::error::{CoreResult, check_period};

/// Gain and loss of one change, as TA-Lib 0.8.1 splits it.
#[inline(always)]
pub fn split(d: f64) -> (f64, f64) {
    let g = if 0.0 < d { d } else { 0.0 };
    (g, g - d)
}

/// The RSI of the current averages.
#[inline(always)]
pub fn rsi_value(gain: f64, loss: f64) -> f64 {
    let s = gain + loss;
    if s > 0.0 { gain / s * 100.0 } else { 0.0 }
}

/// One Wilder step of the averages for the change `d`.
#[inline(always)]
pub fn rsi_step(gain: &mut f64, loss: &mut f64, d: f64, pm1: f64, inv: f64) {
    let (g, l) = split(d);
    *gain = (*gain * pm1 + g) * inv;
    *loss = (l + *loss * pm1) * inv;
}

/// TA-Lib 0.8.1's RSI on a NaN-free slice; `out[..period]` is NaN.
pub fn rsi_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    rsi_kernel_tainted(x, period, out);
}

/// [`rsi_kernel`], returning whether a NaN reached the averages (it then stays there).
pub fn rsi_kernel_tainted(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..period.min(n)].fill(f64::NAN);
    if n <= period {
        return x.iter().any(|v| v.is_nan());
    }
    let inv = 1.0 / period as f64;
    let pm1 = (period - 1) as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    let mut prev = x[0];
    for &v in &x[1..=period] {
        let (g, l) = split(v - prev);
        prev = v;
        gain += g;
        loss += l;
    }
    gain *= inv;
    loss *= inv;
    out[period] = rsi_value(gain, loss);
    for (o, &v) in out[period + 1..].iter_mut().zip(&x[period + 1..]) {
        rsi_step(&mut gain, &mut loss, v - prev, pm1, inv);
        prev = v;
        *o = rsi_value(gain, loss);
    }
    // A NaN change makes the loss NaN for good (`g - d`); a NaN last value shows in `prev`.
    gain.is_nan() || loss.is_nan() || prev.is_nan()
}

/// Batch RSI of `x` (TA-Lib `RSI(real, timeperiod)`, `timeperiod >= 2` as in TA-Lib).
pub fn rsi(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    rsi_into(x, period, &mut out)?;
    Ok(out)
}

/// [`rsi`] into `out` (same length as `x`, every element written).
pub fn rsi_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    super::apply_into_propagating("real", x, out, |x, out| rsi_kernel_tainted(x, period, out))
}

/// Streaming RSI: bit-for-bit [`rsi`]. O(1), no allocation.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    inv: f64,
    pm1: f64,
    gain: f64,
    loss: f64,
    prev: f64,
    count: usize,
    value: f64,
}

impl Rsi {
    /// A streaming RSI with `period >= 2` (argument name in errors: `timeperiod`).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            period,
            inv: 1.0 / period as f64,
            pm1: (period - 1) as f64,
            gain: 0.0,
            loss: 0.0,
            prev: f64::NAN,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value and return the RSI (NaN for the first `period` values).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        let c = self.count;
        if c == 1 {
            self.prev = x;
            return Ok(self.value);
        }
        let d = x - self.prev;
        self.prev = x;
        if c <= self.period + 1 {
            let (g, l) = split(d);
            self.gain += g;
            self.loss += l;
            if c == self.period + 1 {
                self.gain *= self.inv;
                self.loss *= self.inv;
                self.value = rsi_value(self.gain, self.loss);
            }
        } else {
            rsi_step(&mut self.gain, &mut self.loss, d, self.pm1, self.inv);
            self.value = rsi_value(self.gain, self.loss);
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
        self.count > self.period
    }
    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.gain = 0.0;
        self.loss = 0.0;
        self.prev = f64::NAN;
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_batch_and_bounds() {
        let x: Vec<f64> = (0..300)
            .map(|i| 50.0 + ((i as f64) * 0.37).sin() * 5.0 + (i % 7) as f64)
            .collect();
        for p in [2, 3, 14, 50] {
            let batch = rsi(&x, p).unwrap();
            let mut r = Rsi::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                let o = r.update(v).unwrap();
                assert_eq!(o.to_bits(), batch[i].to_bits(), "p={p} i={i}");
                if !o.is_nan() {
                    assert!((0.0..=100.0).contains(&o));
                }
            }
        }
        assert!(Rsi::new(1).is_err());
    }

    #[test]
    fn flat_series_is_zero_and_rising_is_hundred() {
        assert_eq!(rsi(&[5.0; 10], 3).unwrap()[9], 0.0);
        let up: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert_eq!(rsi(&up, 3).unwrap()[9], 100.0);
    }
}
