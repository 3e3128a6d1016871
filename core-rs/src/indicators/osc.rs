//! Williams' %R (TA-Lib `WILLR`), the commodity channel index (TA-Lib `CCI`) and the money flow
//! index (TA-Lib `MFI`), bit-identical to TA-Lib 0.8.1.
//!
//! Both follow the 0.8.2 wheel's compiled code (read with `objdump -d`), which differs from the
//! `ta_WILLR.c` / `ta_CCI.c` text of older releases in its zero tests and clamps:
//!
//! * `WILLR`: over the last `timeperiod` bars, `r = (highest - close) / (highest - lowest) * -100`,
//!   clamped to `[-100, 0]` (a NaN passes through); `0.0` when the window is flat,
//!   `|highest - lowest| <= (|highest| + |lowest|) * 1e-14`. Lookback `timeperiod - 1`.
//! * `CCI`: the typical price `tp = (high + low + close) / 3` goes into a circular buffer of
//!   `timeperiod` slots (slot `i % timeperiod` for bar `i`); the mean is the sum of the slots *in
//!   slot order* (not time order) divided by the period, the mean deviation likewise the sum of
//!   `|slot - mean|` divided by the period; `cci = (tp - mean) / (mean_dev * 0.015)`, or `0.0`
//!   when `|tp - mean|` or `mean_dev` is within `|mean| * 1e-14` of zero, or the denominator is
//!   0. Lookback `timeperiod - 1`. The mean deviation is a pass over the window, so `CCI.update`
//!   is O(`timeperiod`), as TA-Lib's loop is (no allocation after construction).
//! * `MFI`: per bar `i >= 1`, `tp = (high + low + close) / 3`; a move is flat when
//!   `|tp - prev_tp| <= (|tp| + |prev_tp|) * 1e-14`, else its money flow `volume * tp` is positive
//!   (`tp >= prev_tp`) or negative. The last `timeperiod` flows are summed with running sums
//!   (subtract the one leaving, then add); after `timeperiod` bars in a row without flow (flat, or
//!   zero volume) both sums are reset to exactly 0, which TA-Lib 0.8.1 does to stop drift.
//!   `mfi = min(total, pos) / total * 100` (0 when `pos < 0`, or `total <= 0`), with
//!   `total = pos + neg`. Lookback `timeperiod`.

use super::atr::gate_bar;
use super::stoch::Extremes;
use crate::error::{CoreResult, check_len, check_period};

/// TA-Lib 0.8.1's %R of a window's extremes and the close.
#[inline(always)]
pub fn willr_value(highest: f64, lowest: f64, close: f64) -> f64 {
    let diff = highest - lowest;
    if (highest.abs() + lowest.abs()) * 1e-14 >= diff.abs() {
        return 0.0;
    }
    let r = (highest - close) / diff * -100.0;
    // TA-Lib's `r > 0 ? 0 : max(-100, r)`; a NaN passes through, as there.
    r.clamp(-100.0, 0.0)
}

/// The step shared by batch and streaming `WILLR`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct WillrCore {
    period: usize,
    ext: Extremes,
}

impl WillrCore {
    fn new(period: usize) -> Self {
        Self {
            period,
            ext: Extremes::new(period),
        }
    }
    #[inline]
    fn step(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let (hh, ll) = self.ext.push(high, low);
        if self.ext.count() < self.period as u64 {
            return f64::NAN;
        }
        willr_value(hh, ll, close)
    }
    fn reset(&mut self) {
        self.ext.clear();
    }
}

/// `WILLR`'s batch loop: a van Herk/Gil-Werman block scan dedicated to `WILLR` (no indices, no
/// closure, no per-bar block tests). Blocks of `p` bars; bar `s + k` of block `s`'s window is the
/// previous block's suffix from slot `k + 1` and this block's prefix to `k`. The suffixes carry a
/// `-inf` (`+inf`) sentinel in slot `p`, so the inner loop is branch-free and bounds-check-free
/// (zipped iterators). Ties (`-0.0 == 0.0` included) go to the newest bar, as [`WillrCore`]'s
/// deques and `scan_extremes` (a sentinel only wins against an equal infinity, same bits), so
/// the values are bit-identical. Every select is written `if kept > new { kept } else { new }`
/// (ties to the newer operand), the form LLVM lowers to one `maxsd`/`minsd`: the running
/// extremes are loop-carried chains, and a compare-and-blend would lengthen them. They differ
/// from `>=`-with-newest-wins only for NaNs, which are reported. NaN for the lookback; returns whether an input held a NaN (the
/// values are then unspecified, the caller reports the error).
fn willr_batch(high: &[f64], low: &[f64], close: &[f64], p: usize, out: &mut [f64]) -> bool {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == out.len());
    assert!(p >= 1);
    let n = out.len();
    let lb = (p - 1).min(n);
    out[..lb].fill(f64::NAN);
    let mut nan =
        super::has_nan(&high[..lb]) | super::has_nan(&low[..lb]) | super::has_nan(&close[..lb]);
    if n < p {
        return nan;
    }
    // Suffix extremes of the previous block (`sh`/`sl`) and of this one (`th`/`tl`, swapped in
    // after the block); slot `p` is the sentinel in both.
    let mut sh = vec![f64::NEG_INFINITY; p + 1];
    let mut sl = vec![f64::INFINITY; p + 1];
    let (mut th, mut tl) = (sh.clone(), sl.clone());
    let mut s = 0;
    while s < n {
        let e = (s + p).min(n);
        let (bh, bl, bc) = (&high[s..e], &low[s..e], &close[s..e]);
        // NaN check of the block while it is in L1 (vectorised, off the per-bar path).
        nan |= any_nan(bh) | any_nan(bl) | any_nan(bc);
        let (mut ph, mut pl) = (f64::NEG_INFINITY, f64::INFINITY);
        let (mut ch, mut cl) = (f64::NEG_INFINITY, f64::INFINITY);
        let suf = sh[1..].iter().zip(&sl[1..]);
        let bars = bh.iter().zip(bl).zip(bc).zip(&mut out[s..e]);
        if s == 0 {
            // The first window is this block exactly (the bars before are the lookback).
            let hh = bh
                .iter()
                .fold(f64::NEG_INFINITY, |m, &h| if m > h { m } else { h });
            let ll = bl
                .iter()
                .fold(f64::INFINITY, |m, &l| if m < l { m } else { l });
            out[e - 1] = willr_value(hh, ll, bc[p - 1]);
        } else if e - s == p {
            // A full block: the prefix pass (outputs) and this block's suffix pass (newest
            // first; strict: an older bar wins only if beyond) interleaved, two independent
            // chains a step.
            let back = bh.iter().rev().zip(bl.iter().rev());
            let dst = th[..p].iter_mut().rev().zip(tl[..p].iter_mut().rev());
            for (((((&h, &l), &c), o), (&shv, &slv)), ((&bhv, &blv), (dh, dl))) in
                bars.zip(suf).zip(back.zip(dst))
            {
                ph = if ph > h { ph } else { h };
                pl = if pl < l { pl } else { l };
                let hh = if shv > ph { shv } else { ph };
                let ll = if slv < pl { slv } else { pl };
                *o = willr_value(hh, ll, c);
                ch = if bhv > ch { bhv } else { ch };
                cl = if blv < cl { blv } else { cl };
                (*dh, *dl) = (ch, cl);
            }
            std::mem::swap(&mut sh, &mut th);
            std::mem::swap(&mut sl, &mut tl);
            s = e;
            continue;
        } else {
            // The last, partial block: outputs only.
            for ((((&h, &l), &c), o), (&shv, &slv)) in bars.zip(suf) {
                ph = if ph > h { ph } else { h };
                pl = if pl < l { pl } else { l };
                let hh = if shv > ph { shv } else { ph };
                let ll = if slv < pl { slv } else { pl };
                *o = willr_value(hh, ll, c);
            }
        }
        if e - s == p {
            // The first block's suffixes.
            let dst = sh[..p].iter_mut().zip(&mut sl[..p]);
            for ((&h, &l), (dh, dl)) in bh.iter().zip(bl).zip(dst).rev() {
                ch = if h > ch { h } else { ch };
                cl = if l < cl { l } else { cl };
                (*dh, *dl) = (ch, cl);
            }
        }
        s = e;
    }
    nan
}

/// Whether `x` holds a NaN: branch-free over lanes of 4 (vectorised), for short L1-hot blocks.
#[inline(always)]
fn any_nan(x: &[f64]) -> bool {
    let mut chunks = x.chunks_exact(4);
    let mut any = [false; 4];
    for c in &mut chunks {
        for j in 0..4 {
            any[j] |= c[j].is_nan();
        }
    }
    let mut r = any[0] | any[1] | any[2] | any[3];
    for v in chunks.remainder() {
        r |= v.is_nan();
    }
    r
}

/// The step shared by batch and streaming `CCI`: the circular buffer of typical prices.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct CciCore {
    buf: Box<[f64]>,
    n: usize,
    /// `n % period`, kept incrementally (no integer division a bar).
    slot: usize,
}

impl CciCore {
    fn new(period: usize) -> Self {
        Self {
            buf: vec![0.0; period].into_boxed_slice(),
            n: 0,
            slot: 0,
        }
    }
    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let p = self.buf.len();
        let tp = (high + low + close) / 3.0;
        let slot = self.slot;
        self.slot = if slot + 1 == p { 0 } else { slot + 1 };
        self.buf[slot] = tp;
        self.n += 1;
        if self.n < p {
            return f64::NAN;
        }
        let pf = p as f64;
        let mut sum = 0.0;
        for &v in self.buf.iter() {
            sum += v;
        }
        let mean = sum / pf;
        let mut dev = 0.0;
        for &v in self.buf.iter() {
            dev += (v - mean).abs();
        }
        let num = tp - mean;
        let tol = mean.abs() * 1e-14;
        if tol >= num.abs() {
            return 0.0;
        }
        let md = dev / pf;
        if tol >= md.abs() {
            return 0.0;
        }
        let den = md * 0.015;
        if den == 0.0 { 0.0 } else { num / den }
    }
    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.n = 0;
        self.slot = 0;
    }
}

/// TA-Lib 0.8.1's MFI of the running sums.
#[inline(always)]
fn mfi_value(pos: f64, neg: f64) -> f64 {
    let total = pos + neg;
    let r = if 0.0 > pos {
        0.0
    } else if total < pos {
        total
    } else {
        pos
    };
    if 0.0 >= total { 0.0 } else { r / total * 100.0 }
}

/// The step shared by batch and streaming `MFI`: the rings of the last `period` positive and
/// negative flows, their running sums and the run of bars without flow.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct MfiCore {
    pos_buf: Box<[f64]>,
    neg_buf: Box<[f64]>,
    pos: f64,
    neg: f64,
    prev_tp: f64,
    idle: usize,
    n: usize,
    /// `(n - 1) % period` of the next bar, kept incrementally (no integer division a bar).
    slot: usize,
}

impl MfiCore {
    fn new(period: usize) -> Self {
        Self {
            pos_buf: vec![0.0; period].into_boxed_slice(),
            neg_buf: vec![0.0; period].into_boxed_slice(),
            pos: 0.0,
            neg: 0.0,
            prev_tp: 0.0,
            idle: 0,
            n: 0,
            slot: 0,
        }
    }

    #[inline(always)]
    fn step(&mut self, high: f64, low: f64, close: f64, volume: f64) -> f64 {
        let p = self.pos_buf.len();
        let i = self.n;
        self.n += 1;
        let tp = (high + low + close) / 3.0;
        let prev = self.prev_tp;
        self.prev_tp = tp;
        if i == 0 {
            return f64::NAN;
        }
        let slot = self.slot; // (i - 1) % p
        self.slot = if slot + 1 == p { 0 } else { slot + 1 };
        if i > p {
            self.pos -= self.pos_buf[slot];
            self.neg -= self.neg_buf[slot];
        }
        let diff = tp - prev;
        let flowing = if (tp.abs() + prev.abs()) * 1e-14 >= diff.abs() {
            self.pos_buf[slot] = 0.0;
            self.neg_buf[slot] = 0.0;
            self.pos += 0.0;
            self.neg += 0.0;
            false
        } else {
            let mf = volume * tp;
            let (up, down) = if 0.0 > diff { (0.0, mf) } else { (mf, 0.0) };
            self.pos_buf[slot] = up;
            self.neg_buf[slot] = down;
            self.pos += up;
            self.neg += down;
            mf != 0.0
        };
        if flowing {
            self.idle = 0;
        } else {
            self.idle += 1;
            if self.idle >= p {
                self.pos = 0.0;
                self.neg = 0.0;
                self.idle = p;
            }
        }
        if i < p {
            return f64::NAN;
        }
        mfi_value(self.pos, self.neg)
    }

    fn reset(&mut self) {
        *self = Self::new(self.pos_buf.len());
    }
}

/// TA-Lib 0.8.1's `MFI` on NaN-free, equal-length slices with a checked `period >= 2`: NaN for
/// the lookback `period`, bit-identical.
pub fn mfi_kernel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
    out: &mut [f64],
) {
    mfi_kernel_nan(high, low, close, volume, period, out);
}

/// Bars per block of [`mfi_kernel_nan`]'s steady part: its scratch stays in L1.
const MFI_BLOCK: usize = 64;

/// [`mfi_kernel`], returning whether an input held a NaN (checked in the same pass).
///
/// The first `period + 1` bars go through [`MfiCore::step`]; past them, the same step runs in
/// blocks of [`MFI_BLOCK`] bars, in three loops: each bar's typical price, flow and direction
/// (independent per bar: vectorised, its division by 3 included), then the rings and running
/// sums (the chain), then the ratio (vectorised division). NB: `step` bar by bar, with the
/// sums in the struct and its branches, took slightly longer than TA-Lib; the operations and
/// their order per bar are the same here: bit-identical.
fn mfi_kernel_nan(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: usize,
    out: &mut [f64],
) -> bool {
    let n = high.len();
    assert!(low.len() == n && close.len() == n && volume.len() == n && out.len() == n);
    let mut core = MfiCore::new(period);
    let mut nan = false;
    let warm = (period + 1).min(n);
    let ins = high.iter().zip(low).zip(close).zip(volume).take(warm);
    for (o, (((&h, &l), &c), &v)) in out.iter_mut().zip(ins) {
        *o = core.step(h, l, c, v);
        nan |= h.is_nan() | l.is_nan() | c.is_nan() | v.is_nan();
    }
    let MfiCore {
        mut pos_buf,
        mut neg_buf,
        mut pos,
        mut neg,
        prev_tp,
        mut idle,
        mut slot,
        ..
    } = core;
    // tp[0] is the previous bar's typical price.
    let mut tp = [0.0f64; MFI_BLOCK + 1];
    tp[MFI_BLOCK] = prev_tp;
    let (mut up, mut down) = ([0.0f64; MFI_BLOCK], [0.0f64; MFI_BLOCK]);
    let mut flowing = [false; MFI_BLOCK];
    let (mut sp, mut sn) = ([0.0f64; MFI_BLOCK], [0.0f64; MFI_BLOCK]);
    for i in (warm..n).step_by(MFI_BLOCK) {
        let m = MFI_BLOCK.min(n - i);
        let r = i..i + m;
        // The previous block was whole (or this is the first: `prev_tp`, put there above).
        tp[0] = tp[MFI_BLOCK];
        let mut any = false;
        let bars = high[r.clone()]
            .iter()
            .zip(&low[r.clone()])
            .zip(&close[r.clone()])
            .zip(&volume[r.clone()]);
        for (k, (((&h, &l), &c), &v)) in bars.enumerate() {
            any |= h.is_nan() | l.is_nan() | c.is_nan() | v.is_nan();
            tp[k + 1] = (h + l + c) / 3.0;
        }
        nan |= any;
        for k in 0..m {
            let (t, prev) = (tp[k + 1], tp[k]);
            let diff = t - prev;
            let moved = !((t.abs() + prev.abs()) * 1e-14 >= diff.abs());
            let mf = volume[i + k] * t;
            up[k] = if moved && !(0.0 > diff) { mf } else { 0.0 };
            down[k] = if moved && 0.0 > diff { mf } else { 0.0 };
            flowing[k] = moved && mf != 0.0;
        }
        for k in 0..m {
            pos -= pos_buf[slot];
            neg -= neg_buf[slot];
            pos_buf[slot] = up[k];
            neg_buf[slot] = down[k];
            slot = if slot + 1 == period { 0 } else { slot + 1 };
            pos += up[k];
            neg += down[k];
            if flowing[k] {
                idle = 0;
            } else {
                idle += 1;
                if idle >= period {
                    pos = 0.0;
                    neg = 0.0;
                    idle = period;
                }
            }
            sp[k] = pos;
            sn[k] = neg;
        }
        for ((o, &p), &q) in out[r].iter_mut().zip(&sp[..m]).zip(&sn[..m]) {
            *o = mfi_value(p, q);
        }
    }
    nan
}

/// Batch MFI (TA-Lib `MFI(high, low, close, volume, timeperiod=14)`) into `out` (every element
/// written), with the shared NaN policy.
pub fn mfi_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    let inputs = [
        ("high", high),
        ("low", low),
        ("close", close),
        ("volume", volume),
    ];
    // The NaN check rides along in the kernel's pass (see `leading_all`).
    let start = super::leading_all(&inputs)?;
    check_len("out", high.len(), out.len())?;
    out[..start].fill(f64::NAN);
    if mfi_kernel_nan(
        &high[start..],
        &low[start..],
        &close[start..],
        &volume[start..],
        period,
        &mut out[start..],
    ) {
        super::first_valid_all(&inputs)?;
    }
    Ok(())
}

/// Batch MFI as a new vector (see [`mfi_into`]).
pub fn mfi(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: i64,
) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    mfi_into(high, low, close, volume, period, &mut out)?;
    Ok(out)
}

/// Streaming MFI: bit-for-bit [`mfi`]. O(1), the two rings allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mfi {
    core: MfiCore,
    period: usize,
    count: usize,
    value: f64,
}

impl Mfi {
    /// `timeperiod >= 2`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            core: MfiCore::new(period),
            period,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one bar; the MFI (NaN for the first `timeperiod` bars).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[
                ("high", high),
                ("low", low),
                ("close", close),
                ("volume", volume),
            ],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.value = self.core.step(high, low, close, volume);
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
        self.count > self.period
    }
    /// Back to the state right after construction (storage kept).
    pub fn reset(&mut self) {
        self.core.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// Which of the two a [`OscStream`] computes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Core {
    Willr(WillrCore),
    Cci(CciCore),
}

impl Core {
    #[inline]
    fn step(&mut self, high: f64, low: f64, close: f64) -> f64 {
        match self {
            Self::Willr(c) => c.step(high, low, close),
            Self::Cci(c) => c.step(high, low, close),
        }
    }
    fn reset(&mut self) {
        match self {
            Self::Willr(c) => c.reset(),
            Self::Cci(c) => c.reset(),
        }
    }
}

/// The indicators of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OscKind {
    /// TA-Lib `WILLR`.
    Willr,
    /// TA-Lib `CCI`.
    Cci,
}

impl OscKind {
    fn core(self, period: i64) -> CoreResult<Core> {
        // TA-Lib: 2..=100000 for both.
        let p = check_period("timeperiod", period, 2)?;
        Ok(match self {
            Self::Willr => Core::Willr(WillrCore::new(p)),
            Self::Cci => Core::Cci(CciCore::new(p)),
        })
    }
}

/// TA-Lib 0.8.1's `kind` on NaN-free, equal-length slices (`timeperiod >= 2`, checked here):
/// NaN for the lookback `timeperiod - 1`, bit-identical.
pub fn osc_kernel(
    kind: OscKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == out.len());
    let mut core = kind.core(period)?;
    if let Core::Willr(w) = &core {
        willr_batch(high, low, close, w.period, out);
        return Ok(());
    }
    for i in 0..high.len() {
        out[i] = core.step(high[i], low[i], close[i]);
    }
    Ok(())
}

/// Batch `kind` (TA-Lib `WILLR(high, low, close, timeperiod=14)` or `CCI(...)`) into `out`
/// (every element written), with the shared NaN policy. The period is checked first.
pub fn osc_into(
    kind: OscKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let inputs = [("high", high), ("low", low), ("close", close)];
    if let Core::Willr(w) = kind.core(period)? {
        // The NaN check rides along in the kernel's pass (see `leading_all`).
        let start = super::leading_all(&inputs)?;
        check_len("out", high.len(), out.len())?;
        out[..start].fill(f64::NAN);
        if willr_batch(
            &high[start..],
            &low[start..],
            &close[start..],
            w.period,
            &mut out[start..],
        ) {
            super::first_valid_all(&inputs)?;
        }
        return Ok(());
    }
    let start = super::first_valid_all(&inputs)?;
    check_len("out", high.len(), out.len())?;
    out[..start].fill(f64::NAN);
    osc_kernel(
        kind,
        &high[start..],
        &low[start..],
        &close[start..],
        period,
        &mut out[start..],
    )
}

/// Batch `kind` as a new vector (see [`osc_into`]).
pub fn osc(
    kind: OscKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    osc_into(kind, high, low, close, period, &mut out)?;
    Ok(out)
}

/// Streaming `WILLR` or `CCI`: bit-for-bit the batch function; no allocation after construction
/// (`WILLR` amortised O(1), `CCI` O(`timeperiod`) per bar, as TA-Lib).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OscStream {
    core: Core,
    lookback: usize,
    count: usize,
    value: f64,
}

impl OscStream {
    /// `kind` with `timeperiod >= 2`.
    pub fn new(kind: OscKind, period: i64) -> CoreResult<Self> {
        let core = kind.core(period)?;
        Ok(Self {
            core,
            lookback: period as usize - 1,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one bar; the output (NaN during the lookback).
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
        self.count > self.lookback
    }
    /// Back to the state right after construction (storage kept).
    pub fn reset(&mut self) {
        self.core.reset();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    fn bars(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let c: Vec<f64> = (0..n)
            .map(|i| {
                if i % 19 < 4 {
                    70.0
                } else {
                    70.0 + ((i as f64) * 0.37).sin() * 5.0
                }
            })
            .collect();
        let h = c
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % 3) as f64 * 0.4)
            .collect();
        let l = c
            .iter()
            .enumerate()
            .map(|(i, v)| v - (i % 5) as f64 * 0.3)
            .collect();
        (h, l, c)
    }

    #[test]
    fn streaming_equals_batch() {
        let (h, l, c) = bars(300);
        for kind in [OscKind::Willr, OscKind::Cci] {
            for p in [2, 3, 14, 40] {
                let b = osc(kind, &h, &l, &c, p).unwrap();
                assert!(b[..p as usize - 1].iter().all(|v| v.is_nan()));
                assert!(b[p as usize - 1..].iter().all(|v| v.is_finite()));
                let mut s = OscStream::new(kind, p).unwrap();
                for i in 0..h.len() {
                    let v = s.update(h[i], l[i], c[i]).unwrap();
                    assert_eq!(v.to_bits(), b[i].to_bits(), "{kind:?} p={p} i={i}");
                }
                s.reset();
                assert_eq!(s.count(), 0);
            }
        }
    }

    #[test]
    fn mfi_streaming_equals_batch_and_idle_reset() {
        let (h, l, c) = bars(300);
        let v: Vec<f64> = (0..300)
            .map(|i| {
                if i % 29 < 6 {
                    0.0
                } else {
                    1.0 + (i % 7) as f64
                }
            })
            .collect();
        for p in [2, 3, 14] {
            let b = mfi(&h, &l, &c, &v, p).unwrap();
            assert!(b[..p as usize].iter().all(|x| x.is_nan()));
            assert!(b[p as usize..].iter().all(|x| (0.0..=100.0).contains(x)));
            let mut s = Mfi::new(p).unwrap();
            for i in 0..h.len() {
                assert_eq!(
                    s.update(h[i], l[i], c[i], v[i]).unwrap().to_bits(),
                    b[i].to_bits()
                );
            }
        }
        // Rising prices: all flow positive, MFI 100; a long flat run resets the sums to 0.
        let x: Vec<f64> = (0..10)
            .map(|i| 10.0 + i as f64)
            .chain(std::iter::repeat_n(20.0, 10))
            .collect();
        let one = vec![1.0; x.len()];
        let m = mfi(&x, &x, &x, &one, 3).unwrap();
        assert_eq!(m[5], 100.0);
        assert_eq!(m[19], 0.0);
    }

    #[test]
    fn known_values() {
        // Window highs 10, 12 / lows 8, 9: %R of close 11 = (12 - 11) / 4 * -100.
        let r = osc(OscKind::Willr, &[10.0, 12.0], &[8.0, 9.0], &[9.0, 11.0], 2).unwrap();
        assert_eq!(r[1], -25.0);
        assert_eq!(willr_value(5.0, 5.0, 5.0), 0.0);
        assert_eq!(willr_value(10.0, 8.0, 7.0), -100.0); // clamped
        // CCI of typical prices 1, 2, 3: mean 2, mean deviation 2/3, cci = 1 / (2/3 * 0.015).
        let x = [1.0, 2.0, 3.0];
        let cci = osc(OscKind::Cci, &x, &x, &x, 3).unwrap();
        assert_eq!(cci[2], 1.0 / ((2.0 / 3.0) * 0.015));
        assert!(matches!(
            osc(OscKind::Cci, &x, &x, &x, 1),
            Err(CoreError::InvalidPeriod { min: 2, .. })
        ));
    }
}
