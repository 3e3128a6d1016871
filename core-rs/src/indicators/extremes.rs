//! Rolling highest / lowest values: TA-Lib `MAX`, `MIN`, `MIDPOINT`, `MIDPRICE`.
//!
//! [`Extreme`] is TA-Lib's tracking of `ta_MAX.c` / `ta_MIN.c`: it keeps the extreme and its
//! index, and rescans the window only when that index leaves it (amortised O(1) a value; a
//! rescan is O(period)). `MAX`/`MIN` take a new value equal to the extreme as the new extreme
//! (`>=` / `<=`, as TA-Lib); `MIDPOINT`/`MIDPRICE` (TA-Lib rescans every window there) keep the
//! first of equal values, so even a `-0.0`/`0.0` tie picks TA-Lib's bits. Only comparisons and
//! `(highest + lowest) / 2`: bit-identical to TA-Lib 0.8.1.

use super::atr::gate_bar;
use super::ma::Hist;
use super::volatility::apply_multi;
use crate::error::{CoreResult, check_period};

/// The extreme of the last `period` values, TA-Lib's way.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Extreme {
    period: usize,
    /// Highest (true) or lowest (false).
    max: bool,
    /// A new value equal to the extreme replaces it (TA-Lib `MAX`/`MIN`) or not (`MIDPOINT`).
    newest: bool,
    best: f64,
    /// Index of `best`; `None` before the first window.
    idx: Option<usize>,
}

impl Extreme {
    pub(crate) fn new(period: usize, max: bool, newest: bool) -> Self {
        Self {
            period,
            max,
            newest,
            best: f64::NAN,
            idx: None,
        }
    }
    #[inline(always)]
    fn better(&self, v: f64, best: f64) -> bool {
        if self.max { v > best } else { v < best }
    }
    /// Value at index `t` (`at(i)` reads index `i`, any `i` in the window ending at `t`);
    /// returns the extreme of that window, NaN while `t + 1 < period`.
    #[inline(always)]
    pub(crate) fn step(&mut self, t: usize, x: f64, at: impl Fn(usize) -> f64) -> f64 {
        if t + 1 < self.period {
            return f64::NAN;
        }
        let trailing = t + 1 - self.period;
        match self.idx {
            Some(i) if i >= trailing => {
                let take = if self.newest {
                    if self.max {
                        x >= self.best
                    } else {
                        x <= self.best
                    }
                } else {
                    self.better(x, self.best)
                };
                if take {
                    self.best = x;
                    self.idx = Some(t);
                }
            }
            _ => {
                let mut best = at(trailing);
                let mut idx = trailing;
                for i in trailing + 1..=t {
                    let v = at(i);
                    if self.better(v, best) {
                        best = v;
                        idx = i;
                    }
                }
                self.best = best;
                self.idx = Some(idx);
            }
        }
        self.best
    }
    pub(crate) fn reset(&mut self) {
        self.best = f64::NAN;
        self.idx = None;
    }
}

/// One input's rolling extremes, streaming: the window ring plus the trackers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StreamExtreme {
    hist: Hist,
    ex: Extreme,
}

impl StreamExtreme {
    pub(crate) fn new(period: usize, max: bool, newest: bool) -> Self {
        Self {
            hist: Hist::new(period),
            ex: Extreme::new(period, max, newest),
        }
    }
    /// Push the value of index `t` (0-based count of values pushed before it).
    #[inline(always)]
    pub(crate) fn push(&mut self, t: usize, x: f64) -> f64 {
        self.hist.push(x);
        let h = &self.hist;
        self.ex.step(t, x, |i| h.back(t - i + 1))
    }
    pub(crate) fn reset(&mut self) {
        self.hist.clear();
        self.ex.reset();
    }
}

/// Rolling extreme of a NaN-free slice (NaN for the lookback `period - 1`).
pub(crate) fn extreme_kernel(x: &[f64], period: usize, max: bool, newest: bool, out: &mut [f64]) {
    let mut ex = Extreme::new(period, max, newest);
    for t in 0..x.len() {
        out[t] = ex.step(t, x[t], |i| x[i]);
    }
}

/// TA-Lib's MAX on a NaN-free slice.
pub fn max_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    extreme_kernel(x, period, true, true, out)
}

/// TA-Lib's MIN on a NaN-free slice.
pub fn min_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    extreme_kernel(x, period, false, true, out)
}

/// TA-Lib's MIDPOINT on a NaN-free slice: `(highest + lowest) / 2`.
pub fn midpoint_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    let mut hi = Extreme::new(period, true, false);
    let mut lo = Extreme::new(period, false, false);
    for t in 0..x.len() {
        let h = hi.step(t, x[t], |i| x[i]);
        let l = lo.step(t, x[t], |i| x[i]);
        out[t] = (h + l) / 2.0;
    }
}

/// TA-Lib's MIDPRICE on NaN-free, equal-length slices: `(highest high + lowest low) / 2`.
pub fn midprice_kernel(high: &[f64], low: &[f64], period: usize, out: &mut [f64]) {
    let mut hi = Extreme::new(period, true, false);
    let mut lo = Extreme::new(period, false, false);
    for t in 0..high.len() {
        let h = hi.step(t, high[t], |i| high[i]);
        let l = lo.step(t, low[t], |i| low[i]);
        out[t] = (h + l) / 2.0;
    }
}

macro_rules! batch1 {
    ($(#[$doc:meta])* $name:ident, $kernel:ident) => {
        $(#[$doc])*
        pub fn $name(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
            let period = check_period("timeperiod", period, 2)?;
            super::apply("real", x, |x, out| $kernel(x, period, out))
        }
    };
}

batch1!(
    /// Batch MAX (TA-Lib `MAX(real, timeperiod=30)`, `timeperiod >= 2`).
    max, max_kernel
);
batch1!(
    /// Batch MIN (TA-Lib `MIN(real, timeperiod=30)`, `timeperiod >= 2`).
    min, min_kernel
);
batch1!(
    /// Batch MIDPOINT (TA-Lib `MIDPOINT(real, timeperiod=14)`, `timeperiod >= 2`).
    midpoint, midpoint_kernel
);

/// Batch MIDPRICE (TA-Lib `MIDPRICE(high, low, timeperiod=14)`, `timeperiod >= 2`).
pub fn midprice(high: &[f64], low: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 2)?;
    let mut out = super::output(high.len(), 0);
    apply_multi([("high", high), ("low", low)], &mut out, |[h, l], o| {
        midprice_kernel(h, l, period, o)
    })?;
    Ok(out)
}

/// Streaming MAX / MIN / MIDPOINT of one input: bit-for-bit the batch functions. Amortised
/// O(1), the window allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rolling {
    kind: Kind,
    hi: StreamExtreme,
    lo: StreamExtreme,
    period: usize,
    count: usize,
    value: f64,
}

/// Which rolling extreme a [`Rolling`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// TA-Lib `MAX`
    Max,
    /// TA-Lib `MIN`
    Min,
    /// TA-Lib `MIDPOINT`
    MidPoint,
}

impl Rolling {
    /// `timeperiod >= 2`.
    pub fn new(kind: Kind, period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        let newest = kind != Kind::MidPoint;
        Ok(Self {
            kind,
            hi: StreamExtreme::new(period, true, newest),
            lo: StreamExtreme::new(period, false, newest),
            period,
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one value; the output (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        let t = self.count;
        self.count += 1;
        let v = match self.kind {
            Kind::Max => self.hi.push(t, x),
            Kind::Min => self.lo.push(t, x),
            Kind::MidPoint => {
                let h = self.hi.push(t, x);
                let l = self.lo.push(t, x);
                (h + l) / 2.0
            }
        };
        if !v.is_nan() {
            self.value = v;
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
        self.hi.reset();
        self.lo.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// Streaming MIDPRICE: bit-for-bit [`midprice`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MidPrice {
    hi: StreamExtreme,
    lo: StreamExtreme,
    period: usize,
    count: usize,
    value: f64,
}

impl MidPrice {
    /// `timeperiod >= 2`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            hi: StreamExtreme::new(period, true, false),
            lo: StreamExtreme::new(period, false, false),
            period,
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one bar; the midprice (NaN during the lookback).
    pub fn update(&mut self, high: f64, low: f64) -> CoreResult<f64> {
        if !gate_bar(&[("high", high), ("low", low)], self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        let t = self.count;
        self.count += 1;
        let h = self.hi.push(t, high);
        let l = self.lo.push(t, low);
        if t + 1 >= self.period {
            self.value = (h + l) / 2.0;
        }
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
        self.count >= self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.hi.reset();
        self.lo.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64], p: usize, f: fn(f64, f64) -> f64) -> Vec<f64> {
        (0..x.len())
            .map(|t| {
                if t + 1 < p {
                    f64::NAN
                } else {
                    x[t + 1 - p..=t].iter().copied().reduce(f).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn against_naive_windows_and_streaming() {
        // Descending runs force rescans; repeats exercise ties.
        let x: Vec<f64> = (0..500)
            .map(|i| ((i * 37 % 23) as f64) - (i % 50) as f64 * 0.5)
            .collect();
        for p in [2usize, 3, 7, 30] {
            let hi = naive(&x, p, f64::max);
            let lo = naive(&x, p, f64::min);
            let mx = max(&x, p as i64).unwrap();
            let mn = min(&x, p as i64).unwrap();
            let mid = midpoint(&x, p as i64).unwrap();
            let mut s = Rolling::new(Kind::MidPoint, p as i64).unwrap();
            let mut smax = Rolling::new(Kind::Max, p as i64).unwrap();
            for t in 0..x.len() {
                assert_eq!(mx[t].to_bits(), hi[t].to_bits(), "p={p} t={t}");
                assert_eq!(mn[t].to_bits(), lo[t].to_bits(), "p={p} t={t}");
                let m = (hi[t] + lo[t]) / 2.0;
                assert_eq!(mid[t].to_bits(), m.to_bits());
                assert_eq!(s.update(x[t]).unwrap().to_bits(), m.to_bits());
                assert_eq!(smax.update(x[t]).unwrap().to_bits(), hi[t].to_bits());
            }
        }
        assert!(max(&x, 1).is_err());
        let mp = midprice(&x, &x, 5).unwrap();
        let mut s = MidPrice::new(5).unwrap();
        for t in 0..x.len() {
            assert_eq!(s.update(x[t], x[t]).unwrap().to_bits(), mp[t].to_bits());
        }
    }
}
