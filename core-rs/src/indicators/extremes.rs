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
use super::volatility::apply_multi_checked;
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
        if self.max {
            takes::<true, false>(v, best)
        } else {
            takes::<false, false>(v, best)
        }
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
                let take = match (self.max, self.newest) {
                    (true, true) => takes::<true, true>(x, self.best),
                    (false, true) => takes::<false, true>(x, self.best),
                    _ => self.better(x, self.best),
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

/// Whether `v` replaces `best` as the tracked extreme: strictly higher (`MAX`) or lower, or,
/// with `NEWEST` (TA-Lib `MAX`/`MIN`), equal too. The one rule of [`Extreme`] and [`Track`].
#[inline(always)]
fn takes<const MAX: bool, const NEWEST: bool>(v: f64, best: f64) -> bool {
    match (MAX, NEWEST) {
        (true, true) => v >= best,
        (false, true) => v <= best,
        (true, false) => v > best,
        (false, false) => v < best,
    }
}

/// [`Extreme`] for the batch kernels: the same rules (keep the extreme and its index, rescan
/// the window, first of equals, when that index leaves it), with the flags as constants and
/// the window read from the slice.
///
/// NB: through `Extreme::step` (runtime flags, `Option` index, a closure per read) MAX took
/// 5.4 ms a 1M-value call against TA-Lib's 1.1 ms.
pub(crate) struct Track<const MAX: bool, const NEWEST: bool> {
    best: f64,
    idx: usize,
}

impl<const MAX: bool, const NEWEST: bool> Track<MAX, NEWEST> {
    /// The extreme of `w` (non-empty), first of equals; its index in `w`: what a sequential
    /// "strictly better" scan finds, which is the first value equal (`==`, so `-0.0 == 0.0`)
    /// to the extreme, with that value's bits.
    ///
    /// NB: two passes (the extreme over four independent lanes, then the first equal value)
    /// rather than one: the single pass compiles to a `maxsd`/`cmov` chain, one dependent
    /// step per value, and rescans are most of MAX's time on real data (`perf annotate`).
    #[inline(always)]
    fn scan(w: &[f64]) -> (f64, usize) {
        let mut acc = [w[0]; 4];
        let mut chunks = w.chunks_exact(4);
        for c in &mut chunks {
            for (a, &v) in acc.iter_mut().zip(c) {
                if takes::<MAX, false>(v, *a) {
                    *a = v;
                }
            }
        }
        for &v in chunks.remainder() {
            if takes::<MAX, false>(v, acc[0]) {
                acc[0] = v;
            }
        }
        let mut m = acc[0];
        for &a in &acc[1..] {
            if takes::<MAX, false>(a, m) {
                m = a;
            }
        }
        // `m` is one of `w`'s values (NaN-free input), so it is found.
        let idx = w.iter().position(|&v| v == m).unwrap_or(0);
        (w[idx], idx)
    }
    /// The current extreme.
    #[inline(always)]
    pub(crate) fn best(&self) -> f64 {
        self.best
    }
    /// The tracker after the first window, `x[..period]` (`x.len() >= period >= 1`).
    #[inline(always)]
    pub(crate) fn first(x: &[f64], period: usize) -> Self {
        let (best, idx) = Self::scan(&x[..period]);
        Self { best, idx }
    }
    /// The extreme of the window of `period` values ending at `t` (`t >= period`, the window
    /// ending at `t - 1` was the last one stepped).
    #[inline(always)]
    pub(crate) fn step(&mut self, x: &[f64], t: usize, period: usize) -> f64 {
        let trailing = t + 1 - period;
        let v = x[t];
        if self.idx >= trailing {
            if takes::<MAX, NEWEST>(v, self.best) {
                self.best = v;
                self.idx = t;
            }
        } else {
            let (best, i) = Self::scan(&x[trailing..=t]);
            self.best = best;
            self.idx = trailing + i;
        }
        self.best
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

/// [`fast_kernel`]'s output: the highest value of `hi`...
const FAST_MAX: u8 = 0;
/// ...the lowest of `hi`...
const FAST_MIN: u8 = 1;
/// ...or `(highest of hi + lowest of lo) / 2`.
const FAST_MID: u8 = 2;

/// The rolling extremes by blocks of `period` values (van Herk / Gil-Werman, as TA-Lib 0.8.1's
/// `TA_MAX` does): a window starting inside a block is the block's suffix extreme from its
/// start, combined with the next block's prefix extreme up to its end. O(1) a value, no
/// rescans, no data-dependent branches. Writes the outputs from index `period - 1` on
/// (`hi.len() >= period`).
///
/// Exact only where the extreme of a window has one bit pattern, i.e. without zeros: `0.0` and
/// `-0.0` compare equal and [`Track`]'s choice between them depends on its history (when it
/// last rescanned). So it returns `false` when an input holds a zero (or a NaN: the caller's
/// tracker then finds it), and the caller runs [`Track`] instead; `true` when it is done.
///
/// NB: [`Track`] with rescans took 3-4x TA-Lib's time on 1M real closes (a rescan every ~10
/// values at period 30, each a scan of the window and two mispredicted branches).
#[inline(always)]
fn fast_kernel<const KIND: u8>(hi: &[f64], lo: &[f64], period: usize, out: &mut [f64]) -> bool {
    let n = hi.len();
    let p = period;
    assert!(lo.len() == n && out.len() == n && n >= p && p >= 1);
    let (want_hi, want_lo) = (KIND != FAST_MIN, KIND != FAST_MAX);
    let lo = if KIND == FAST_MIN { hi } else { lo };
    let combine = |a: f64, b: f64| match KIND {
        FAST_MAX => a,
        FAST_MIN => b,
        _ => (a + b) / 2.0,
    };
    // Neither zero nor NaN: `|v| > 0` is false exactly for those.
    let plain = |v: f64| v.abs() > 0.0;
    let mut suf_hi = vec![f64::NEG_INFINITY; p];
    let mut suf_lo = vec![f64::INFINITY; p];
    let mut ok = true;
    let mut next = 0;
    for bp in (0..=n - p).step_by(p) {
        // Suffix extremes of the block `bp..bp + p` (every value of a full block is read here).
        let (mut mh, mut ml) = (f64::NEG_INFINITY, f64::INFINITY);
        let blk = hi[bp..bp + p].iter().zip(&lo[bp..bp + p]);
        for ((sh, sl), (&vh, &vl)) in suf_hi.iter_mut().zip(suf_lo.iter_mut()).zip(blk).rev() {
            if want_hi {
                ok &= plain(vh);
                mh = if vh > mh { vh } else { mh };
                *sh = mh;
            }
            if want_lo {
                ok &= plain(vl);
                ml = if vl < ml { vl } else { ml };
                *sl = ml;
            }
        }
        if !ok {
            return false;
        }
        // The window that is this block, then those starting inside it: the next block's
        // prefix.
        let t0 = bp + p - 1;
        out[t0] = combine(suf_hi[0], suf_lo[0]);
        let (mut ph, mut pl) = (f64::NEG_INFINITY, f64::INFINITY);
        let r = t0 + 1..(t0 + p).min(n);
        let vals = hi[r.clone()].iter().zip(&lo[r.clone()]);
        let sufs = suf_hi[1..].iter().zip(&suf_lo[1..]);
        for ((o, (&vh, &vl)), (&sh, &sl)) in out[r].iter_mut().zip(vals).zip(sufs) {
            let (mut a, mut b) = (0.0, 0.0);
            if want_hi {
                ph = if vh > ph { vh } else { ph };
                a = if sh > ph { sh } else { ph };
            }
            if want_lo {
                pl = if vl < pl { vl } else { pl };
                b = if sl < pl { sl } else { pl };
            }
            *o = combine(a, b);
        }
        next = bp + p;
    }
    // A last, partial block was read only by the prefix loop.
    let tail_ok = |x: &[f64]| x[next..].iter().all(|&v| plain(v));
    (!want_hi || tail_ok(hi)) && (!want_lo || tail_ok(lo))
}

/// Rolling extreme of a NaN-free slice (NaN for the lookback `period - 1`); whether `x` held a
/// NaN.
#[inline(always)]
fn extreme_kernel<const MAX: bool, const NEWEST: bool>(
    x: &[f64],
    period: usize,
    out: &mut [f64],
) -> bool {
    assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return true;
    }
    let done = if MAX {
        fast_kernel::<FAST_MAX>(x, x, period, out)
    } else {
        fast_kernel::<FAST_MIN>(x, x, period, out)
    };
    if done {
        return false; // and no NaN: it would have sent us to the tracker
    }
    let mut nan = x[..period].iter().any(|v| v.is_nan());
    let mut tr = Track::<MAX, NEWEST>::first(x, period);
    out[period - 1] = tr.best;
    for (t, o) in out.iter_mut().enumerate().skip(period) {
        nan |= x[t].is_nan();
        *o = tr.step(x, t, period);
    }
    nan
}

/// TA-Lib's MAX on a NaN-free slice.
pub fn max_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    extreme_kernel::<true, true>(x, period, out);
}

/// TA-Lib's MIN on a NaN-free slice.
pub fn min_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    extreme_kernel::<false, true>(x, period, out);
}

/// `(highest of hi + lowest of lo) / 2` over NaN-free, equal-length slices, each extreme
/// keeping the first of equal values (TA-Lib `MIDPOINT`/`MIDPRICE`); whether an input held a
/// NaN.
#[inline(always)]
fn mid_kernel(hi: &[f64], lo: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert!(hi.len() == lo.len() && lo.len() == out.len());
    let n = hi.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return true;
    }
    if fast_kernel::<FAST_MID>(hi, lo, period, out) {
        return false; // and no NaN: it would have sent us to the tracker
    }
    let nan_in = |w: &[f64]| w.iter().any(|v| v.is_nan());
    let mut nan = nan_in(&hi[..period]) || nan_in(&lo[..period]);
    let mut h = Track::<true, false>::first(hi, period);
    let mut l = Track::<false, false>::first(lo, period);
    out[period - 1] = (h.best + l.best) / 2.0;
    for (t, o) in out.iter_mut().enumerate().skip(period) {
        nan |= hi[t].is_nan() | lo[t].is_nan();
        let a = h.step(hi, t, period);
        let b = l.step(lo, t, period);
        *o = (a + b) / 2.0;
    }
    nan
}

/// TA-Lib's MIDPOINT on a NaN-free slice: `(highest + lowest) / 2`.
pub fn midpoint_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    mid_kernel(x, x, period, out);
}

/// TA-Lib's MIDPRICE on NaN-free, equal-length slices: `(highest high + lowest low) / 2`.
pub fn midprice_kernel(high: &[f64], low: &[f64], period: usize, out: &mut [f64]) {
    mid_kernel(high, low, period, out);
}

macro_rules! batch1 {
    ($(#[$doc:meta])* $name:ident, $into:ident, $kernel:tt) => {
        $(#[$doc])*
        pub fn $name(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
            let mut out = super::output(x.len(), 0);
            $into(x, period, &mut out)?;
            Ok(out)
        }

        #[doc = concat!("[`", stringify!($name), "`] into `out` (same length as `x`, every element written).")]
        pub fn $into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
            let period = check_period("timeperiod", period, 2)?;
            super::apply_into_propagating("real", x, out, |x, out| $kernel(x, period, out))
        }
    };
}

batch1!(
    /// Batch MAX (TA-Lib `MAX(real, timeperiod=30)`, `timeperiod >= 2`).
    max, max_into, (extreme_kernel::<true, true>)
);
batch1!(
    /// Batch MIN (TA-Lib `MIN(real, timeperiod=30)`, `timeperiod >= 2`).
    min, min_into, (extreme_kernel::<false, true>)
);
batch1!(
    /// Batch MIDPOINT (TA-Lib `MIDPOINT(real, timeperiod=14)`, `timeperiod >= 2`).
    midpoint, midpoint_into, (|x, p, o| mid_kernel(x, x, p, o))
);

/// Batch MIDPRICE (TA-Lib `MIDPRICE(high, low, timeperiod=14)`, `timeperiod >= 2`).
pub fn midprice(high: &[f64], low: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    midprice_into(high, low, period, &mut out)?;
    Ok(out)
}

/// [`midprice`] into `out` (as long as the inputs, every element written).
pub fn midprice_into(high: &[f64], low: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    apply_multi_checked([("high", high), ("low", low)], out, |[h, l], o| {
        mid_kernel(h, l, period, o)
    })
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
