//! Chande momentum oscillator (TA-Lib `CMO`), balance of power (`BOP`), TRIX (`TRIX`) and the
//! price oscillators (`APO`, `PPO`) and the ultimate oscillator (`ULTOSC`), bit-identical to TA-Lib 0.8.1 (operation order read with
//! `objdump -d` from the 0.8.2 wheel).
//!
//! * `CMO(real, timeperiod=14)`, `timeperiod >= 2`, lookback `timeperiod`: per change `d`, a
//!   loss when `0 > d` (`loss = loss - d`), else a gain (`gain = gain + d`). Seed: the sums over
//!   the first `timeperiod` changes, each divided by the period. Then per change:
//!   `gain = gain * (p - 1)`, `loss = loss * (p - 1)`, add the change to one of them, divide both
//!   by `p` (a division, unlike RSI's multiplication by `1/p`). Output
//!   `(gain - loss) / (gain + loss) * 100`, 0 unless `gain + loss > 0`.
//! * `BOP(open, high, low, close)`: `(close - open) / (high - low)`, 0 unless `high - low > 0`.
//!   No lookback.
//! * `TRIX(real, timeperiod=30)`, `timeperiod >= 1`: three chained EMAs (each seeded with the mean
//!   of its first `timeperiod` inputs, fused step as in `TA_TRIX`'s `.fma` clone and its
//!   `fma()`-calling default clone, see [`super::fused`]), then the one-bar rate of change
//!   `(e / prev - 1) * 100`, 0 where `prev == 0`. Lookback `3 * (timeperiod - 1) + 1`.
//! * `APO(real, fastperiod=12, slowperiod=26, matype=1)` and `PPO(...)` (both periods `>= 2`; a
//!   fast period above the slow one is swapped, as TA-Lib does; `matype` 0 SMA, 1 EMA (TA-Lib
//!   0.8's default), 2 WMA): `APO = fast - slow`, `PPO = (fast - slow) / slow * 100` (0 where
//!   `-1e-14 < slow < 1e-14`). Both averages run from the first value (unlike MACD, whose fast
//!   EMA seed window ends on the slow one's: checked bit for bit against `talib.APO`). Lookback
//!   `slow - 1`.
//! * `ULTOSC(high, low, close, timeperiod1=7, timeperiod2=14, timeperiod3=28)`, periods `>= 1`,
//!   sorted ascending (the shortest weighted 4, the middle 2, the longest 1, as TA-Lib does):
//!   per bar, buying pressure `close - min(low, prev_close)` and the true range, summed over each
//!   window with running sums (add today's, output, subtract the one leaving); a window whose
//!   bars all have zero pressure and zero range has its sums reset to exactly 0 (TA-Lib 0.8.1's
//!   drift guard). `out = 0; out += a1 / b1 * 4` (if `b1 > 0`), `+= 2 * (a2 / b2)` (if `b2 > 0`),
//!   `+= a3 / b3` (if `b3 > 0`); `ULTOSC = out / 7 * 100`. Lookback: the longest period.

use super::atr::gate_bar;
use super::ma::MaType;
use super::stoch::{EmaStage, Smoother};
use crate::error::{CoreResult, check_len, check_period};

/// The step shared by batch and streaming `CMO`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct CmoCore {
    period: usize,
    pf: f64,
    pm1: f64,
    n: usize,
    prev: f64,
    gain: f64,
    loss: f64,
}

impl CmoCore {
    fn new(period: usize) -> Self {
        Self {
            period,
            pf: period as f64,
            pm1: (period - 1) as f64,
            n: 0,
            prev: 0.0,
            gain: 0.0,
            loss: 0.0,
        }
    }

    #[inline(always)]
    fn add(&mut self, d: f64) {
        if 0.0 > d {
            self.loss -= d;
        } else {
            self.gain += d;
        }
    }

    #[inline(always)]
    fn step(&mut self, x: f64) -> f64 {
        let i = self.n;
        self.n += 1;
        let d = x - self.prev;
        self.prev = x;
        if i == 0 {
            return f64::NAN;
        }
        if i <= self.period {
            self.add(d);
            if i < self.period {
                return f64::NAN;
            }
        } else {
            self.gain *= self.pm1;
            self.loss *= self.pm1;
            self.add(d);
        }
        self.loss /= self.pf;
        self.gain /= self.pf;
        let sum = self.loss + self.gain;
        if sum > 0.0 {
            (self.gain - self.loss) / sum * 100.0
        } else {
            0.0
        }
    }

    fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}

/// TA-Lib 0.8.1's BOP of one bar.
#[inline(always)]
pub fn bop_value(open: f64, high: f64, low: f64, close: f64) -> f64 {
    let range = high - low;
    if range > 0.0 {
        (close - open) / range
    } else {
        0.0
    }
}

/// The step shared by batch and streaming `TRIX`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct TrixCore {
    period: usize,
    e1: EmaStage,
    e2: EmaStage,
    e3: EmaStage,
    n: usize,
    prev: f64,
}

impl TrixCore {
    fn new(period: usize) -> Self {
        Self {
            period,
            e1: EmaStage::new(period),
            e2: EmaStage::new(period),
            e3: EmaStage::new(period),
            n: 0,
            prev: 0.0,
        }
    }

    #[inline(always)]
    fn step(&mut self, x: f64) -> f64 {
        let i = self.n;
        self.n += 1;
        let lb = self.period - 1;
        let a = self.e1.update(x);
        if i < lb {
            return f64::NAN;
        }
        let b = self.e2.update(a);
        if i < 2 * lb {
            return f64::NAN;
        }
        let c = self.e3.update(b);
        let prev = self.prev;
        self.prev = c;
        if i < 3 * lb + 1 {
            return f64::NAN;
        }
        if prev != 0.0 {
            (c / prev - 1.0) * 100.0
        } else {
            0.0
        }
    }

    fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}

/// Checked `APO`/`PPO` parameters: `(fast, slow, matype)` after TA-Lib's swap.
fn po_params(fast: i64, slow: i64, matype: i64) -> CoreResult<(usize, usize, MaType)> {
    let f = check_period("fastperiod", fast, 2)?;
    let s = check_period("slowperiod", slow, 2)?;
    let ma = MaType::from_code("matype", matype)?;
    Ok(if s < f { (s, f, ma) } else { (f, s, ma) })
}

/// The step shared by batch and streaming `APO` / `PPO`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PoCore {
    fast: Smoother,
    slow: Smoother,
    lookback: usize,
    percent: bool,
    n: usize,
}

impl PoCore {
    fn new(fast: usize, slow: usize, ma: MaType, percent: bool) -> Self {
        Self {
            fast: Smoother::new(fast, ma),
            slow: Smoother::new(slow, ma),
            lookback: ma.lookback(slow),
            percent,
            n: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, x: f64) -> f64 {
        let i = self.n;
        self.n += 1;
        let s = self.slow.update(x);
        let f = self.fast.update(x);
        if i < self.lookback {
            return f64::NAN;
        }
        if !self.percent {
            return f - s;
        }
        if -1e-14 < s && s < 1e-14 {
            0.0
        } else {
            (f - s) / s * 100.0
        }
    }

    fn reset(&mut self) {
        self.fast.reset();
        self.slow.reset();
        self.n = 0;
    }
}

/// Batch APO (`percent = false`, TA-Lib `APO(real, fastperiod=12, slowperiod=26, matype=1)`) or
/// PPO (`percent = true`) into `out` (every element written). Parameters are checked first.
pub fn po_into(
    x: &[f64],
    fast: i64,
    slow: i64,
    matype: i64,
    percent: bool,
    out: &mut [f64],
) -> CoreResult<()> {
    let (f, s, ma) = po_params(fast, slow, matype)?;
    let mut core = PoCore::new(f, s, ma, percent);
    super::apply_into("real", x, out, |x, out| {
        #[cfg(target_arch = "x86_64")]
        if super::fused() {
            // SAFETY: `fused()` is true only when the CPU reports FMA.
            unsafe { po_body_fma(&mut core, x, out) };
            return;
        }
        po_body(&mut core, x, out);
    })
}

#[inline(always)]
fn po_body(core: &mut PoCore, x: &[f64], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = core.step(v);
    }
}

/// [`po_body`] compiled with FMA, so the EMA stages' fused steps inline to one instruction
/// (as [`trix_body_fma`]).
///
/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn po_body_fma(core: &mut PoCore, x: &[f64], out: &mut [f64]) {
    po_body(core, x, out)
}

/// Batch APO / PPO as a new vector (see [`po_into`]).
pub fn po(x: &[f64], fast: i64, slow: i64, matype: i64, percent: bool) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    po_into(x, fast, slow, matype, percent, &mut out)?;
    Ok(out)
}

/// Streaming APO / PPO: bit-for-bit [`po`]. O(1) (amortised for WMA), no allocation after
/// construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Po {
    core: PoCore,
    count: usize,
    value: f64,
}

impl Po {
    /// `fastperiod, slowperiod >= 2` (swapped if fast > slow), `matype` 0-6 or 8; PPO when
    /// `percent`, else APO.
    pub fn new(fast: i64, slow: i64, matype: i64, percent: bool) -> CoreResult<Self> {
        let (f, s, ma) = po_params(fast, slow, matype)?;
        Ok(Self {
            core: PoCore::new(f, s, ma, percent),
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one value; the output (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.value = self.core.step(x);
        Ok(self.value)
    }
    /// The last output (NaN during the lookback).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Values pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count > self.core.lookback
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.core.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// The step shared by batch and streaming `ULTOSC`: the last `max period` bars' buying pressure
/// and true range in rings, and a running sum of each over each of the three windows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct UltCore {
    periods: [usize; 3],
    bp: Box<[f64]>,
    tr: Box<[f64]>,
    a: [f64; 3],
    b: [f64; 3],
    idle: usize,
    prev_close: f64,
    n: usize,
    /// `n % periods[2]`, kept incrementally.
    /// NB: four integer `%` a bar were most of ULTOSC's time (8.6 ms against TA-Lib's 5.9).
    slot: usize,
}

impl UltCore {
    /// Periods sorted ascending (TA-Lib weights the shortest 4, the middle 2, the longest 1).
    fn new(mut periods: [usize; 3]) -> Self {
        periods.sort_unstable();
        let m = periods[2];
        Self {
            periods,
            bp: vec![0.0; m].into_boxed_slice(),
            tr: vec![0.0; m].into_boxed_slice(),
            a: [0.0; 3],
            b: [0.0; 3],
            idle: 0,
            prev_close: 0.0,
            n: 0,
            slot: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let i = self.n;
        self.n += 1;
        let m = self.periods[2];
        let slot = self.slot; // i % m
        self.slot = if slot + 1 == m { 0 } else { slot + 1 };
        let pc = self.prev_close;
        self.prev_close = close;
        if i == 0 {
            return f64::NAN;
        }
        let true_low = if low < pc { low } else { pc };
        let bp = close - true_low;
        let tr = super::atr::true_range(high, low, pc);
        self.bp[slot] = bp;
        self.tr[slot] = tr;
        if tr == 0.0 && bp == 0.0 {
            self.idle += 1;
        } else {
            self.idle = 0;
        }
        for k in 0..3 {
            let p = self.periods[k];
            if i + p > m {
                self.a[k] += bp;
                self.b[k] += tr;
            }
            if self.idle >= p {
                self.a[k] = 0.0;
                self.b[k] = 0.0;
            }
        }
        if i < m {
            return f64::NAN;
        }
        let mut out = 0.0;
        if self.b[0] > 0.0 {
            out += self.a[0] / self.b[0] * 4.0;
        }
        if self.b[1] > 0.0 {
            let r = self.a[1] / self.b[1];
            out += r + r;
        }
        if self.b[2] > 0.0 {
            out += self.a[2] / self.b[2];
        }
        for k in 0..3 {
            // (i + 1 - p) % m, with p <= m <= i.
            let j = slot + 1 + m - self.periods[k];
            let j = if j >= m { j - m } else { j };
            self.a[k] -= self.bp[j];
            self.b[k] -= self.tr[j];
        }
        out / 7.0 * 100.0
    }

    fn reset(&mut self) {
        *self = Self::new(self.periods);
    }
}

/// Checked `ULTOSC` periods (each `>= 1`, TA-Lib's names).
fn ult_params(p1: i64, p2: i64, p3: i64) -> CoreResult<[usize; 3]> {
    Ok([
        check_period("timeperiod1", p1, 1)?,
        check_period("timeperiod2", p2, 1)?,
        check_period("timeperiod3", p3, 1)?,
    ])
}

/// Batch ULTOSC (TA-Lib `ULTOSC(high, low, close, timeperiod1=7, timeperiod2=14,
/// timeperiod3=28)`) into `out` (every element written).
pub fn ultosc_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    periods: [i64; 3],
    out: &mut [f64],
) -> CoreResult<()> {
    let mut core = UltCore::new(ult_params(periods[0], periods[1], periods[2])?);
    let inputs = [("high", high), ("low", low), ("close", close)];
    // The NaN check rides along in the kernel's pass (see `leading_all`).
    let start = super::leading_all(&inputs)?;
    check_len("out", high.len(), out.len())?;
    out[..start].fill(f64::NAN);
    let mut nan = false;
    let ins = high[start..].iter().zip(&low[start..]).zip(&close[start..]);
    for (o, ((&h, &l), &c)) in out[start..].iter_mut().zip(ins) {
        *o = core.step(h, l, c);
        nan |= h.is_nan() | l.is_nan() | c.is_nan();
    }
    if nan {
        super::first_valid_all(&inputs)?;
    }
    Ok(())
}

/// Batch ULTOSC as a new vector.
pub fn ultosc(high: &[f64], low: &[f64], close: &[f64], periods: [i64; 3]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    ultosc_into(high, low, close, periods, &mut out)?;
    Ok(out)
}

/// Streaming ULTOSC: bit-for-bit [`ultosc`]. O(1), the rings allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ultosc {
    core: UltCore,
    count: usize,
    value: f64,
}

impl Ultosc {
    /// Periods `>= 1` (any order).
    pub fn new(p1: i64, p2: i64, p3: i64) -> CoreResult<Self> {
        Ok(Self {
            core: UltCore::new(ult_params(p1, p2, p3)?),
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one bar; the ULTOSC (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.value = self.core.step(high, low, close);
        Ok(self.value)
    }
    /// The last output (NaN during the lookback).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count > self.core.periods[2]
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.core.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib 0.8.1's `CMO` on a NaN-free slice with a checked `period >= 2`: NaN for the lookback.
pub fn cmo_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    cmo_kernel_tainted(x, period, out);
}

/// [`cmo_kernel`], returning whether a NaN reached the sums (a NaN input after the first value
/// always does, and stays there).
fn cmo_kernel_tainted(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    debug_assert_eq!(x.len(), out.len());
    let mut core = CmoCore::new(period);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = core.step(v);
    }
    core.gain.is_nan() || core.loss.is_nan()
}

/// TA-Lib 0.8.1's `TRIX` on a NaN-free slice with a checked `period >= 1`: NaN for the lookback.
pub fn trix_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    trix_kernel_tainted(x, period, out);
}

/// [`trix_kernel`], returning whether the first EMA's state is NaN (a NaN input always gets
/// there and stays; so does a series too short to seed it).
fn trix_kernel_tainted(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    debug_assert_eq!(x.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if super::fused() {
        // SAFETY: `fused()` is true only when the CPU reports FMA.
        return unsafe { trix_body_fma(x, period, out) };
    }
    trix_body(x, period, out)
}

#[inline(always)]
fn trix_body(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    let mut core = TrixCore::new(period);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = core.step(v);
    }
    core.e1.tainted()
}

/// [`trix_body`] compiled with FMA, so the three EMA stages' fused steps inline to one
/// instruction each (the feature is entered once per call, not per value).
/// NB: through `ema_step_dispatch` per value, the steps were three calls a bar (TRIX 6 ms
/// against TA-Lib's 2 ms over 1M values).
///
/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn trix_body_fma(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    trix_body(x, period, out)
}

/// Batch CMO (TA-Lib `CMO(real, timeperiod=14)`) into `out` (every element written).
pub fn cmo_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    // The NaN check rides along: a NaN input poisons the sums for good.
    super::apply_into_propagating("real", x, out, |x, out| cmo_kernel_tainted(x, period, out))
}

/// Batch CMO as a new vector.
pub fn cmo(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    cmo_into(x, period, &mut out)?;
    Ok(out)
}

/// Batch TRIX (TA-Lib `TRIX(real, timeperiod=30)`) into `out` (every element written).
pub fn trix_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    // The NaN check rides along: a NaN input poisons the first EMA for good.
    super::apply_into_propagating("real", x, out, |x, out| trix_kernel_tainted(x, period, out))
}

/// Batch TRIX as a new vector.
pub fn trix(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    trix_into(x, period, &mut out)?;
    Ok(out)
}

/// Batch BOP (TA-Lib `BOP(open, high, low, close)`) into `out` (every element written), with
/// the shared NaN policy.
pub fn bop_into(
    open: &[f64],
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) -> CoreResult<()> {
    let inputs = [
        ("open", open),
        ("high", high),
        ("low", low),
        ("close", close),
    ];
    let start = super::leading_all(&inputs)?;
    check_len("out", open.len(), out.len())?;
    out[..start].fill(f64::NAN);
    // The NaN check rides along (one pass over the inputs instead of two).
    let mut nan = false;
    let ins = open[start..]
        .iter()
        .zip(&high[start..])
        .zip(&low[start..])
        .zip(&close[start..]);
    for (o, (((&op, &h), &l), &c)) in out[start..].iter_mut().zip(ins) {
        *o = bop_value(op, h, l, c);
        nan |= op.is_nan() | h.is_nan() | l.is_nan() | c.is_nan();
    }
    if nan {
        super::first_valid_all(&inputs)?;
    }
    Ok(())
}

/// Batch BOP as a new vector.
pub fn bop(open: &[f64], high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(open.len(), 0);
    bop_into(open, high, low, close, &mut out)?;
    Ok(out)
}

/// A single-input streaming type around a core with `step(x) -> f64`.
macro_rules! stream1 {
    ($(#[$doc:meta])* $ty:ident, $core:ident, $min:expr, $lookback:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $ty {
            core: $core,
            lookback: usize,
            count: usize,
            value: f64,
        }

        impl $ty {
            /// `timeperiod` at least TA-Lib's minimum for this indicator.
            pub fn new(period: i64) -> CoreResult<Self> {
                let p = check_period("timeperiod", period, $min)?;
                let lookback: fn(usize) -> usize = $lookback;
                Ok(Self {
                    core: $core::new(p),
                    lookback: lookback(p),
                    count: 0,
                    value: f64::NAN,
                })
            }
            /// Push one value; the output (NaN during the lookback).
            #[inline]
            pub fn update(&mut self, x: f64) -> CoreResult<f64> {
                if !super::stream_gate("x", x, self.count > 0, self.count)? {
                    return Ok(f64::NAN);
                }
                self.count += 1;
                self.value = self.core.step(x);
                Ok(self.value)
            }
            /// The last output (NaN during the lookback).
            pub fn value(&self) -> f64 {
                self.value
            }
            /// Values pushed so far.
            pub fn count(&self) -> usize {
                self.count
            }
            /// Whether the lookback is over.
            pub fn initialized(&self) -> bool {
                self.count > self.lookback
            }
            /// Back to the state right after construction.
            pub fn reset(&mut self) {
                self.core.reset();
                self.count = 0;
                self.value = f64::NAN;
            }
        }
    };
}

stream1!(
    /// Streaming CMO: bit-for-bit [`cmo`]. O(1), no allocation.
    Cmo, CmoCore, 2, |p| p
);
stream1!(
    /// Streaming TRIX: bit-for-bit [`trix`]. O(1), no allocation.
    Trix, TrixCore, 1, |p| 3 * (p - 1) + 1
);

/// Streaming BOP: bit-for-bit [`bop`] (no state but the NaN gate and the last value).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bop {
    count: usize,
    value: f64,
}

impl Default for Bop {
    fn default() -> Self {
        Self::new()
    }
}

impl Bop {
    /// A new BOP.
    pub fn new() -> Self {
        Self {
            count: 0,
            value: f64::NAN,
        }
    }
    /// Push one bar; its BOP.
    #[inline]
    pub fn update(&mut self, open: f64, high: f64, low: f64, close: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[
                ("open", open),
                ("high", high),
                ("low", low),
                ("close", close),
            ],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.value = bop_value(open, high, low, close);
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
    /// Whether a bar has been pushed (BOP has no lookback).
    pub fn initialized(&self) -> bool {
        self.count > 0
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                if i % 31 < 5 {
                    40.0
                } else {
                    40.0 + ((i as f64) * 0.21).sin() * 3.0
                }
            })
            .collect()
    }

    #[test]
    fn known_values() {
        // Changes +1, -2, +1 (p = 3): gain 2/3, loss 2/3 -> 0; then change +3:
        // gain (2/3 * 2 + 3) / 3, loss (2/3 * 2) / 3.
        let x = [1.0, 2.0, 0.0, 1.0, 4.0];
        let c = cmo(&x, 3).unwrap();
        assert!(c[2].is_nan());
        assert_eq!(c[3], 0.0);
        let (g, l) = ((2.0 / 3.0 * 2.0 + 3.0) / 3.0, (2.0 / 3.0 * 2.0) / 3.0);
        assert_eq!(c[4], (g - l) / (l + g) * 100.0);
        assert_eq!(bop_value(1.0, 3.0, 0.0, 2.5), 0.5);
        assert_eq!(bop_value(1.0, 1.0, 1.0, 1.0), 0.0);
        let t = trix(&[1.0; 12], 3).unwrap();
        assert!(t[6].is_nan() && t[7] == 0.0);
    }

    #[test]
    fn streaming_equals_batch() {
        let x = walk(400);
        for p in [2, 3, 14, 30] {
            let b = cmo(&x, p).unwrap();
            let mut s = Cmo::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(
                    s.update(v).unwrap().to_bits(),
                    b[i].to_bits(),
                    "cmo p={p} i={i}"
                );
            }
        }
        for p in [1, 2, 5, 30] {
            let b = trix(&x, p).unwrap();
            let lb = 3 * (p as usize - 1) + 1;
            assert!(b[lb - 1].is_nan() && b[lb].is_finite());
            let mut s = Trix::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(
                    s.update(v).unwrap().to_bits(),
                    b[i].to_bits(),
                    "trix p={p} i={i}"
                );
            }
        }
        assert!(Cmo::new(1).is_err() && Trix::new(0).is_err());
        for ma in [0, 1, 2, 3, 4, 5, 6, 8] {
            for (f, sl) in [(2, 3), (12, 26), (26, 12), (5, 5)] {
                for pct in [false, true] {
                    let b = po(&x, f, sl, ma, pct).unwrap();
                    let t = crate::indicators::ma::MaType::from_code("matype", ma).unwrap();
                    let lb = t.lookback(f.max(sl) as usize);
                    assert!(b[lb - 1].is_nan() && b[lb].is_finite());
                    let mut s = Po::new(f, sl, ma, pct).unwrap();
                    for (i, &v) in x.iter().enumerate() {
                        assert_eq!(s.update(v).unwrap().to_bits(), b[i].to_bits());
                    }
                }
            }
        }
        assert!(Po::new(12, 26, 7, false).is_err() && Po::new(1, 26, 0, true).is_err());
        let (h, l): (Vec<f64>, Vec<f64>) = x.iter().map(|v| (v + 0.3, v - 0.2)).unzip();
        for ps in [[7, 14, 28], [28, 7, 14], [1, 1, 5], [3, 3, 3]] {
            let b = ultosc(&h, &l, &x, ps).unwrap();
            let lb = *ps.iter().max().unwrap() as usize;
            assert!(b[lb - 1].is_nan() && b[lb].is_finite());
            let mut s = Ultosc::new(ps[0], ps[1], ps[2]).unwrap();
            for i in 0..x.len() {
                assert_eq!(
                    s.update(h[i], l[i], x[i]).unwrap().to_bits(),
                    b[i].to_bits()
                );
            }
        }
        // The flat run (bars 0..5 of every 31) has zero pressure and range: a window inside it
        // reads exactly 0 after the reset.
        let flat = ultosc(&[5.0; 12], &[5.0; 12], &[5.0; 12], [2, 3, 4]).unwrap();
        assert!(flat[4..].iter().all(|&v| v == 0.0));
        assert!(Ultosc::new(0, 14, 28).is_err());
    }
}
