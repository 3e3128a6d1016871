//! True range and normalized ATR (TA-Lib `TRANGE`, `NATR`).
//!
//! `TRANGE` of bar `i >= 1` is [`super::atr::true_range`] (lookback 1): bit-identical.
//! `NATR` is `ATR / close * 100` (0 where the close is zero, within TA-Lib's `1e-14`), with
//! the ATR of [`super::atr`] (TA-Lib 0.8.1's fused Wilder step): bit-identical, TA-Lib's quirk
//! included: `timeperiod = 1` gives the plain true range, not normalized.

use super::atr::{Atr, atr_kernel, gate_bar, true_range};
use crate::error::{CoreResult, check_period};

/// TA-Lib's TRANGE on NaN-free, equal-length slices (`out[0]` NaN).
pub fn trange_kernel(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == out.len());
    out[..high.len().min(1)].fill(f64::NAN);
    for i in 1..high.len() {
        out[i] = true_range(high[i], low[i], close[i - 1]);
    }
}

/// The common start of several inputs, NaN before it, then `kernel` on the rest.
pub(crate) fn apply_multi<const N: usize>(
    inputs: [(&'static str, &[f64]); N],
    out: &mut [f64],
    kernel: impl FnOnce([&[f64]; N], &mut [f64]),
) -> CoreResult<()> {
    let start = super::first_valid_all(&inputs)?;
    crate::error::check_len("out", inputs[0].1.len(), out.len())?;
    out[..start].fill(f64::NAN);
    kernel(inputs.map(|(_, x)| &x[start..]), &mut out[start..]);
    Ok(())
}

/// Batch TRANGE (TA-Lib `TRANGE(high, low, close)`).
pub fn trange(high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    apply_multi(
        [("high", high), ("low", low), ("close", close)],
        &mut out,
        |[h, l, c], o| trange_kernel(h, l, c, o),
    )?;
    Ok(out)
}

/// TA-Lib's NATR step: `atr / close * 100`, 0 for a (near-)zero close.
#[inline(always)]
fn natr_of(atr: f64, close: f64) -> f64 {
    if -0.00000000000001 < close && close < 0.00000000000001 {
        0.0
    } else {
        (atr / close) * 100.0
    }
}

/// TA-Lib's NATR on NaN-free, equal-length slices (NaN for the first `period` outputs).
/// NB: `timeperiod = 1` returns the true range itself, not normalized: TA-Lib's `TA_NATR` hands
/// that case to `TA_TRANGE` (kept, for identical results).
pub fn natr_kernel(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) {
    if period == 1 {
        trange_kernel(high, low, close, out);
        return;
    }
    atr_kernel(high, low, close, period, out);
    for (o, &c) in out.iter_mut().zip(close).skip(period) {
        *o = natr_of(*o, c);
    }
}

/// Batch NATR (TA-Lib `NATR(high, low, close, timeperiod=14)`).
pub fn natr(high: &[f64], low: &[f64], close: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 1)?;
    let mut out = super::output(high.len(), 0);
    apply_multi(
        [("high", high), ("low", low), ("close", close)],
        &mut out,
        |[h, l, c], o| natr_kernel(h, l, c, period, o),
    )?;
    Ok(out)
}

/// Streaming TRANGE: bit-for-bit [`trange`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TRange {
    prev_close: f64,
    count: usize,
    value: f64,
}

impl Default for TRange {
    fn default() -> Self {
        Self::new()
    }
}

impl TRange {
    /// A fresh true range.
    pub fn new() -> Self {
        Self {
            prev_close: f64::NAN,
            count: 0,
            value: f64::NAN,
        }
    }
    /// Push one bar; its true range (NaN for the first bar).
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        if self.count > 1 {
            self.value = true_range(high, low, self.prev_close);
        }
        self.prev_close = close;
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count > 1
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// Streaming NATR: bit-for-bit [`natr`] (the streaming [`Atr`] divided by the close).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Natr {
    atr: Atr,
    period_one: bool,
    value: f64,
}

impl Natr {
    /// `timeperiod >= 1`.
    pub fn new(period: i64) -> CoreResult<Self> {
        Ok(Self {
            atr: Atr::new(period)?,
            period_one: period == 1,
            value: f64::NAN,
        })
    }
    /// Push one bar; the NATR (NaN for the first `timeperiod` bars).
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<f64> {
        let a = self.atr.update(high, low, close)?;
        if self.period_one {
            // TA-Lib's period-1 case: the true range, not normalized (see `natr_kernel`).
            self.value = a;
        } else if !a.is_nan() {
            self.value = natr_of(a, close);
        }
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.atr.count()
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.atr.initialized()
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.atr.reset();
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trange_and_natr_stream_equal_batch() {
        let c: Vec<f64> = (0..200).map(|i| 50.0 + ((i as f64) * 0.4).sin()).collect();
        let h: Vec<f64> = c.iter().map(|v| v + 0.3).collect();
        let l: Vec<f64> = c.iter().map(|v| v - 0.25).collect();
        let tr = trange(&h, &l, &c).unwrap();
        assert!(tr[0].is_nan());
        assert_eq!(tr[1], true_range(h[1], l[1], c[0]));
        let mut s = TRange::new();
        for i in 0..c.len() {
            assert_eq!(
                s.update(h[i], l[i], c[i]).unwrap().to_bits(),
                tr[i].to_bits()
            );
        }
        for p in [1, 5, 14] {
            let b = natr(&h, &l, &c, p).unwrap();
            let mut s = Natr::new(p).unwrap();
            for i in 0..c.len() {
                assert_eq!(
                    s.update(h[i], l[i], c[i]).unwrap().to_bits(),
                    b[i].to_bits()
                );
            }
        }
        assert!(natr(&h, &l, &c, 0).is_err());
        assert_eq!(natr_of(1.0, 0.0), 0.0);
    }
}
