//! True range and normalized ATR (TA-Lib `TRANGE`, `NATR`).
//!
//! `TRANGE` of bar `i >= 1` is [`super::atr::true_range`] (lookback 1): bit-identical.
//! `NATR` is `ATR / close * 100` (0 where the close is zero, within TA-Lib's `1e-14`), with
//! the ATR of [`super::atr`] (TA-Lib 0.8.1's fused Wilder step): bit-identical, TA-Lib's quirk
//! included: `timeperiod = 1` gives the plain true range, not normalized.

use super::atr::{Atr, atr_body_map, gate_bar, true_range};
use crate::error::{CoreResult, check_period};

/// TA-Lib's TRANGE on NaN-free, equal-length slices (`out[0]` NaN).
pub fn trange_kernel(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) {
    trange_checked(high, low, close, out);
}

/// [`trange_kernel`], returning whether an input held a NaN.
fn trange_checked(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) -> bool {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == out.len());
    let n = high.len();
    out[..n.min(1)].fill(f64::NAN);
    if n == 0 {
        return false;
    }
    let mut nan = high[0].is_nan() | low[0].is_nan() | close[n - 1].is_nan();
    let it = out[1..]
        .iter_mut()
        .zip(&high[1..])
        .zip(&low[1..])
        .zip(close);
    for (((o, &h), &l), &pc) in it {
        nan |= h.is_nan() | l.is_nan() | pc.is_nan();
        *o = true_range(h, l, pc);
    }
    nan
}

/// The common start of several inputs, NaN before it, then `kernel` on the rest. The kernel
/// reports whether an input it read may hold a NaN (each folds `is_nan` of every value it reads
/// into a flag); only then are the inputs scanned, and the error is the one
/// [`super::first_valid_all`] gives. NB: a separate NaN pass over the inputs cost more than the
/// price transforms' whole arithmetic.
pub(crate) fn apply_multi_checked<const N: usize>(
    inputs: [(&'static str, &[f64]); N],
    out: &mut [f64],
    kernel: impl FnOnce([&[f64]; N], &mut [f64]) -> bool,
) -> CoreResult<()> {
    let n = inputs[0].1.len();
    for &(name, x) in &inputs {
        crate::error::check_len(name, n, x.len())?;
    }
    crate::error::check_len("out", n, out.len())?;
    let firsts = inputs.map(|(_, x)| super::leading_nans(x));
    let start = firsts.iter().copied().max().unwrap_or(0);
    // A NaN between an input's own first valid value and the common start is an error too.
    let gap = inputs
        .iter()
        .zip(firsts)
        .any(|(&(_, x), f)| x[f..start].iter().any(|v| v.is_nan()));
    out[..start].fill(f64::NAN);
    if kernel(inputs.map(|(_, x)| &x[start..]), &mut out[start..]) || gap {
        super::first_valid_all(&inputs)?;
    }
    Ok(())
}

/// Batch TRANGE (TA-Lib `TRANGE(high, low, close)`).
pub fn trange(high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    trange_into(high, low, close, &mut out)?;
    Ok(out)
}

/// [`trange`] into `out` (as long as the inputs, every element written).
pub fn trange_into(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) -> CoreResult<()> {
    apply_multi_checked(
        [("high", high), ("low", low), ("close", close)],
        out,
        |[h, l, c], o| trange_checked(h, l, c, o),
    )
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
    natr_checked(high, low, close, period, out);
}

fma_kernel!(
    /// [`natr_kernel`], returning whether an input may hold a NaN.
    fn natr_checked(
        high: &[f64],
        low: &[f64],
        close: &[f64],
        period: usize,
        out: &mut [f64],
    ) -> bool = natr_body;
);

/// ATR and the division in one pass (NB: two passes took 2.6x TA-Lib's time).
#[inline(always)]
fn natr_body(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> bool {
    if period == 1 {
        return trange_checked(high, low, close, out);
    }
    atr_body_map(high, low, close, period, out, natr_of)
}

/// Batch NATR (TA-Lib `NATR(high, low, close, timeperiod=14)`).
pub fn natr(high: &[f64], low: &[f64], close: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    natr_into(high, low, close, period, &mut out)?;
    Ok(out)
}

/// [`natr`] into `out` (as long as the inputs, every element written).
pub fn natr_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    apply_multi_checked(
        [("high", high), ("low", low), ("close", close)],
        out,
        |[h, l, c], o| natr_checked(h, l, c, period, o),
    )
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
