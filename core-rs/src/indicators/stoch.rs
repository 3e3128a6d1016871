//! Stochastic oscillators (TA-Lib `STOCH`, `STOCHF`, `STOCHRSI`), and the two pieces they share:
//! the moving-average stage of TA-Lib's `TA_MA` ([`MaStage`]) and the rolling highest high /
//! lowest low of the last `fastk_period` bars ([`Extremes`]).
//!
//! Raw %K, as TA-Lib 0.8.1 computes it: over the last `fastk_period` bars,
//! `k = (close - lowest) / (highest - lowest) * 100.0`, or `0.0` when the window is flat, i.e.
//! `|highest - lowest| <= (|highest| + |lowest|) * 1e-14`.
//! NB: read with `objdump -d` from the 0.8.2 wheel's `TA_STOCH` / `TA_STOCHF` (constants 1e-14
//! and 100.0, an abs mask); the `ta_STOCH.c` text of older releases (`diff = (highest - lowest)
//! / 100.0`, exact-zero test) rounds differently in ~30% of the bars, and the relative flat test
//! matters for STOCHRSI, whose RSI drifts by a few ulps over flat price runs. TA-Lib finds the extremes by
//! rescanning the window when the extreme leaves it; we keep monotonic deques (amortised O(1),
//! no allocation after construction). Both give the exact maximum and minimum, so the values are
//! the same bits.
//!
//! The smoothing stages run TA-Lib's `TA_MA` through the one MA dispatcher of
//! [`super::ma`] (types 0-6 and 8; 7, MAMA, is refused as by `ma()`): batch through
//! [`super::ma::ma_kernel`], streaming through lean SMA, EMA (fused step as in TA-Lib 0.8.1, see
//! [`super::fused`]) and WMA stages or the streaming [`Ma`] for the others, each bit-identical to
//! our batch `ma()`; a period of 1 copies its input, as `TA_MA` does. Lookbacks add the stages'
//! own ([`MaType::lookback`]: KAMA's is its period, DEMA's twice, ...). `STOCHRSI` is `STOCHF` over TA-Lib's sequential RSI ([`super::rsi::rsi_kernel`]'s
//! recurrence), not over the blocked [`super::rsi::rsi`]. All three are bit-identical to TA-Lib.
//!
//! NB: a NaN reaching a smoothing stage (only from infinite inputs, e.g. `inf / inf`) poisons it:
//! its outputs stay NaN from then on, as TA-Lib's running sums do.

use super::atr::gate_bar;
use super::ema::{ema_k, ema_step_dispatch};
use super::ma::{Ma, MaType};
use super::rsi::{rsi_step, rsi_value, split};
use super::{Sma, Wma};
use crate::error::{CoreResult, check_len, check_period};

/// The running state of one EMA stage (the crate's [`super::Ema`] without its NaN gate).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct EmaStage {
    k: f64,
    sum: f64,
    value: f64,
    count: usize,
    period: usize,
    hw: bool,
}

impl EmaStage {
    /// An EMA of `period >= 1` (already checked): NaN for `period - 1` inputs, then the fused
    /// step on every input (period 1 included: `TA_EMA`'s arithmetic, not `TA_MA`'s copy).
    pub fn new(period: usize) -> Self {
        Self {
            k: ema_k(period),
            sum: 0.0,
            value: f64::NAN,
            count: 0,
            period,
            hw: super::fused(),
        }
    }

    /// Whether a NaN input reached the state (it stays there), or the state is still unseeded.
    pub fn tainted(&self) -> bool {
        self.sum.is_nan() || self.value.is_nan()
    }

    /// Push one value; the EMA (NaN during the lookback).
    #[inline(always)]
    pub fn update(&mut self, x: f64) -> f64 {
        self.count += 1;
        if self.count > self.period {
            self.value = ema_step_dispatch(x, self.value, self.k, self.hw);
        } else {
            self.sum += x;
            if self.count == self.period {
                self.value = self.sum / self.period as f64;
            }
        }
        self.value
    }
}

/// One `TA_MA` smoothing stage over a stream of values: NaN for its lookback
/// ([`MaType::lookback`]), then the average. A period of 1 copies the input. SMA, EMA and WMA
/// have their own lean stages; the other types run the streaming [`Ma`] of `ma()`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum MaStage {
    /// Period 1: `TA_MA` copies its input, whatever the type.
    Copy,
    /// SMA (bit-identical to [`super::sma`]).
    Sma(Sma),
    /// EMA (bit-identical to [`super::ema`]).
    Ema(EmaStage),
    /// WMA (bit-identical to [`super::wma`]).
    Wma(Wma),
    /// DEMA, TEMA, TRIMA, KAMA, T3 (bit-identical to [`super::ma::ma`]).
    Other(Box<Ma>),
}

impl MaStage {
    /// A stage of `period >= 1` (already checked) and type `ma`.
    pub fn new(period: usize, ma: MaType) -> Self {
        if period == 1 {
            return Self::Copy;
        }
        // The period was checked by the caller; the constructors cannot fail on it.
        let p = period as i64;
        match ma {
            MaType::Sma => Self::Sma(Sma::new(p).expect("period >= 1 checked")),
            MaType::Ema => Self::Ema(EmaStage::new(period)),
            MaType::Wma => Self::Wma(Wma::new(p).expect("period >= 1 checked")),
            other => Self::Other(Box::new(Ma::of(period, other))),
        }
    }

    /// Push one value (never NaN: the caller passes a NaN on as a poisoned stage); the average,
    /// NaN during the lookback.
    #[inline(always)]
    pub fn update(&mut self, x: f64) -> f64 {
        // A NaN is refused by the SMA/WMA gates, which then leave the state untouched; the
        // caller keeps it from reaching here (see `Smoother`).
        match self {
            Self::Copy => x,
            Self::Sma(s) => s.update(x).unwrap_or(f64::NAN),
            Self::Ema(e) => e.update(x),
            Self::Wma(w) => w.update(x).unwrap_or(f64::NAN),
            Self::Other(m) => m.update(x).unwrap_or(f64::NAN),
        }
    }
}

/// A [`MaStage`] that a NaN input poisons for good (outputs NaN from then on), as TA-Lib's
/// running sums are poisoned.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Smoother {
    period: usize,
    ma: MaType,
    stage: MaStage,
    poisoned: bool,
}

impl Smoother {
    /// A smoother of `period >= 1` (already checked) and type `ma`.
    pub fn new(period: usize, ma: MaType) -> Self {
        Self {
            period,
            ma,
            stage: MaStage::new(period, ma),
            poisoned: false,
        }
    }

    /// Push one value; the average (NaN during the lookback or once poisoned).
    #[inline(always)]
    pub fn update(&mut self, x: f64) -> f64 {
        if x.is_nan() {
            self.poisoned = true;
        }
        if self.poisoned {
            return f64::NAN;
        }
        self.stage.update(x)
    }

    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.stage = MaStage::new(self.period, self.ma);
        self.poisoned = false;
    }
}

/// A fixed-capacity double-ended queue of `(bar index, value)`, allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Deque {
    idx: Box<[u64]>,
    val: Box<[f64]>,
    head: usize,
    len: usize,
}

impl Deque {
    fn new(cap: usize) -> Self {
        Self {
            idx: vec![0; cap.max(1)].into_boxed_slice(),
            val: vec![0.0; cap.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }
    #[inline]
    fn slot(&self, i: usize) -> usize {
        let s = self.head + i;
        if s >= self.idx.len() {
            s - self.idx.len()
        } else {
            s
        }
    }
    #[inline]
    fn back_val(&self) -> f64 {
        self.val[self.slot(self.len - 1)]
    }
    #[inline]
    fn front(&self) -> (u64, f64) {
        (self.idx[self.head], self.val[self.head])
    }
    #[inline]
    fn pop_front(&mut self) {
        self.head = self.slot(1);
        self.len -= 1;
    }
    #[inline]
    fn push_back(&mut self, i: u64, v: f64) {
        let s = self.slot(self.len);
        self.idx[s] = i;
        self.val[s] = v;
        self.len += 1;
    }
    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// The highest high and lowest low of the last `period` bars (monotonic deques: each bar enters
/// and leaves each deque once, so `push` is amortised O(1); storage allocated at construction).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Extremes {
    period: usize,
    n: u64,
    hi: Deque,
    lo: Deque,
}

impl Extremes {
    /// A window of `period >= 1` bars.
    pub fn new(period: usize) -> Self {
        Self {
            period,
            n: 0,
            hi: Deque::new(period),
            lo: Deque::new(period),
        }
    }

    /// Push bar `(high, low)`; `(highest, lowest)` over the last `period` bars (fewer at first).
    #[inline]
    pub fn push(&mut self, high: f64, low: f64) -> (f64, f64) {
        let ((hh, _), (ll, _)) = self.push_indexed(high, low);
        (hh, ll)
    }

    /// [`Extremes::push`] with the bar index (from 0) of each extreme: of several equal
    /// extremes, the newest (TA-Lib's `>=` / `<=`, which `AROON` depends on).
    #[inline]
    pub fn push_indexed(&mut self, high: f64, low: f64) -> ((f64, u64), (f64, u64)) {
        let i = self.n;
        self.n += 1;
        // Leave in each deque only values that can still be an extreme (strictly better than
        // every newer one); a tie keeps the newest, as TA-Lib's `>=` / `<=` do.
        while self.hi.len > 0 && self.hi.back_val() <= high {
            self.hi.len -= 1;
        }
        while self.lo.len > 0 && self.lo.back_val() >= low {
            self.lo.len -= 1;
        }
        let oldest = (i + 1).saturating_sub(self.period as u64);
        while self.hi.len > 0 && self.hi.front().0 < oldest {
            self.hi.pop_front();
        }
        while self.lo.len > 0 && self.lo.front().0 < oldest {
            self.lo.pop_front();
        }
        self.hi.push_back(i, high);
        self.lo.push_back(i, low);
        let (hi_i, hi_v) = self.hi.front();
        let (lo_i, lo_v) = self.lo.front();
        ((hi_v, hi_i), (lo_v, lo_i))
    }

    /// Bars pushed so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Forget every bar (keeps the storage).
    pub fn clear(&mut self) {
        self.n = 0;
        self.hi.clear();
        self.lo.clear();
    }
}

/// TA-Lib's raw %K from the window's extremes and the close.
///
/// The window counts as flat (`0.0`) unless `|highest - lowest|` exceeds
/// `(|highest| + |lowest|) * 1e-14` (a NaN comparison counts as flat too).
#[inline(always)]
pub fn raw_k(highest: f64, lowest: f64, close: f64) -> f64 {
    let diff = highest - lowest;
    if (highest.abs() + lowest.abs()) * 1e-14 < diff.abs() {
        (close - lowest) / diff * 100.0
    } else {
        0.0
    }
}

/// Raw %K over a stream of bars: NaN for the first `fastk_period - 1` bars.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FastK {
    ext: Extremes,
}

impl FastK {
    /// `fastk_period >= 1` (already checked).
    pub fn new(period: usize) -> Self {
        Self {
            ext: Extremes::new(period),
        }
    }
    /// Push one bar; raw %K (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let (hh, ll) = self.ext.push(high, low);
        if self.ext.count() < self.ext.period as u64 {
            return f64::NAN;
        }
        raw_k(hh, ll, close)
    }
    fn reset(&mut self) {
        self.ext.clear();
    }
}

/// Checked parameters of `STOCHF`: `(fastk_period, fastd_period, fastd_matype)`.
fn stochf_params(fastk: i64, fastd: i64, fastd_ma: i64) -> CoreResult<(usize, usize, MaType)> {
    Ok((
        check_period("fastk_period", fastk, 1)?,
        check_period("fastd_period", fastd, 1)?,
        MaType::from_code("fastd_matype", fastd_ma)?,
    ))
}

/// The step shared by batch and streaming `STOCHF`: raw %K, then %D = MA(%K). Both outputs are
/// NaN until %D exists (TA-Lib's lookback `fastk_period - 1` + the MA's lookback).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StochFCore {
    k: FastK,
    d: Smoother,
    lb_k: usize,
    lookback: usize,
    n: usize,
}

impl StochFCore {
    fn new(fastk: usize, fastd: usize, ma: MaType) -> Self {
        Self {
            k: FastK::new(fastk),
            d: Smoother::new(fastd, ma),
            lb_k: fastk - 1,
            lookback: (fastk - 1) + ma.lookback(fastd),
            n: 0,
        }
    }
    #[inline]
    fn step(&mut self, high: f64, low: f64, close: f64) -> (f64, f64) {
        let i = self.n;
        self.n += 1;
        let k = self.k.update(high, low, close);
        if i < self.lb_k {
            return (f64::NAN, f64::NAN);
        }
        let d = self.d.update(k);
        if i < self.lookback {
            return (f64::NAN, f64::NAN);
        }
        (k, d)
    }
    fn reset(&mut self) {
        self.k.reset();
        self.d.reset();
        self.n = 0;
    }
}

/// The step shared by batch and streaming `STOCH`: raw %K, slow %K = MA(raw %K), slow %D =
/// MA(slow %K). Both outputs NaN until slow %D exists (TA-Lib's lookback
/// `fastk_period - 1` + the two MAs' lookbacks).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StochCore {
    k: FastK,
    slowk: Smoother,
    slowd: Smoother,
    lb_k: usize,
    lb_sk: usize,
    lookback: usize,
    n: usize,
}

impl StochCore {
    fn new(fastk: usize, slowk: usize, slowk_ma: MaType, slowd: usize, slowd_ma: MaType) -> Self {
        let lb_k = fastk - 1;
        let lb_sk = lb_k + slowk_ma.lookback(slowk);
        Self {
            k: FastK::new(fastk),
            slowk: Smoother::new(slowk, slowk_ma),
            slowd: Smoother::new(slowd, slowd_ma),
            lb_k,
            lb_sk,
            lookback: lb_sk + slowd_ma.lookback(slowd),
            n: 0,
        }
    }
    #[inline]
    fn step(&mut self, high: f64, low: f64, close: f64) -> (f64, f64) {
        let i = self.n;
        self.n += 1;
        let k = self.k.update(high, low, close);
        if i < self.lb_k {
            return (f64::NAN, f64::NAN);
        }
        let sk = self.slowk.update(k);
        if i < self.lb_sk {
            return (f64::NAN, f64::NAN);
        }
        let sd = self.slowd.update(sk);
        if i < self.lookback {
            return (f64::NAN, f64::NAN);
        }
        (sk, sd)
    }
    fn reset(&mut self) {
        self.k.reset();
        self.slowk.reset();
        self.slowd.reset();
        self.n = 0;
    }
}

/// TA-Lib 0.8.1's sequential RSI (the recurrence of [`super::rsi::rsi_kernel`]) one value at a
/// time: NaN for the first `period` values.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct RsiSeq {
    period: usize,
    inv: f64,
    pm1: f64,
    n: usize,
    prev: f64,
    gain: f64,
    loss: f64,
}

impl RsiSeq {
    fn new(period: usize) -> Self {
        Self {
            period,
            inv: 1.0 / period as f64,
            pm1: (period - 1) as f64,
            n: 0,
            prev: 0.0,
            gain: 0.0,
            loss: 0.0,
        }
    }
    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        let i = self.n;
        self.n += 1;
        let d = x - self.prev;
        self.prev = x;
        if i == 0 {
            return f64::NAN;
        }
        if i <= self.period {
            let (g, l) = split(d);
            self.gain += g;
            self.loss += l;
            if i < self.period {
                return f64::NAN;
            }
            self.gain *= self.inv;
            self.loss *= self.inv;
        } else {
            rsi_step(&mut self.gain, &mut self.loss, d, self.pm1, self.inv);
        }
        rsi_value(self.gain, self.loss)
    }
    fn reset(&mut self) {
        *self = Self::new(self.period);
    }
}

/// The step shared by batch and streaming `STOCHRSI`: `STOCHF` over the RSI (lookback
/// `timeperiod + fastk_period - 1` + the MA's lookback).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StochRsiCore {
    rsi: RsiSeq,
    f: StochFCore,
}

impl StochRsiCore {
    #[inline]
    fn step(&mut self, x: f64) -> (f64, f64) {
        let r = self.rsi.update(x);
        if self.rsi.n <= self.rsi.period {
            return (f64::NAN, f64::NAN);
        }
        self.f.step(r, r, r)
    }
    fn reset(&mut self) {
        self.rsi.reset();
        self.f.reset();
    }
}

/// Checked parameters of `STOCH`.
fn stoch_params(
    fastk: i64,
    slowk: i64,
    slowk_ma: i64,
    slowd: i64,
    slowd_ma: i64,
) -> CoreResult<StochCore> {
    let fastk = check_period("fastk_period", fastk, 1)?;
    let slowk = check_period("slowk_period", slowk, 1)?;
    let slowk_ma = MaType::from_code("slowk_matype", slowk_ma)?;
    let slowd = check_period("slowd_period", slowd, 1)?;
    let slowd_ma = MaType::from_code("slowd_matype", slowd_ma)?;
    Ok(StochCore::new(fastk, slowk, slowk_ma, slowd, slowd_ma))
}

/// Checked parameters of `STOCHRSI`.
fn stochrsi_params(period: i64, fastk: i64, fastd: i64, fastd_ma: i64) -> CoreResult<StochRsiCore> {
    let period = check_period("timeperiod", period, 2)?;
    let (fastk, fastd, ma) = stochf_params(fastk, fastd, fastd_ma)?;
    Ok(StochRsiCore {
        rsi: RsiSeq::new(period),
        f: StochFCore::new(fastk, fastd, ma),
    })
}

/// Write `(k, d)` of every bar of NaN-free, equal-length `h, l, c` through `step`.
#[inline(always)]
fn run_hlc(
    h: &[f64],
    l: &[f64],
    c: &[f64],
    ok: &mut [f64],
    od: &mut [f64],
    mut step: impl FnMut(f64, f64, f64) -> (f64, f64),
) {
    assert!(
        h.len() == l.len() && l.len() == c.len() && c.len() == ok.len() && ok.len() == od.len()
    );
    for i in 0..h.len() {
        let (k, d) = step(h[i], l[i], c[i]);
        ok[i] = k;
        od[i] = d;
    }
}

/// TA-Lib 0.8.1's `STOCH` on NaN-free, equal-length slices with checked periods (`>= 1`):
/// `(slowk, slowd)` into `outs`, NaN for the lookback. Bit-identical to `TA_STOCH`.
#[allow(clippy::too_many_arguments)] // TA-Lib's parameter list
pub fn stoch_kernel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    slowk: usize,
    slowk_ma: MaType,
    slowd: usize,
    slowd_ma: MaType,
    outs: [&mut [f64]; 2],
) {
    let [ok, od] = outs;
    assert!(
        high.len() == low.len()
            && low.len() == close.len()
            && close.len() == ok.len()
            && ok.len() == od.len()
    );
    if stoch_fast(
        (high, low, close),
        (fastk, slowk, slowk_ma, slowd, slowd_ma),
        ok,
        od,
    ) {
        return;
    }
    let mut core = StochCore::new(fastk, slowk, slowk_ma, slowd, slowd_ma);
    run_hlc(high, low, close, ok, od, |h, l, c| core.step(h, l, c));
}

/// `STOCH`'s batch path (see [`stochf_fast`]): raw %K into `od`, slow %K = MA(raw %K) into
/// `ok`, slow %D = MA(slow %K) into `od` (raw %K is consumed by then). `false` (outputs
/// unspecified) when a NaN would reach a smoothing stage.
fn stoch_fast(
    (h, l, c): (&[f64], &[f64], &[f64]),
    (fastk, slowk, slowk_ma, slowd, slowd_ma): (usize, usize, MaType, usize, MaType),
    ok: &mut [f64],
    od: &mut [f64],
) -> bool {
    let n = h.len();
    let lb_k = fastk - 1;
    let lb_sk = lb_k + slowk_ma.lookback(slowk);
    if fastk_batch(h, l, c, fastk, od) {
        return false;
    }
    if n > lb_k {
        super::ma::ma_kernel(&od[lb_k..], slowk, slowk_ma, &mut ok[lb_k..]);
    }
    if n > lb_sk {
        if super::has_nan(&ok[lb_sk..]) {
            return false;
        }
        super::ma::ma_kernel(&ok[lb_sk..], slowd, slowd_ma, &mut od[lb_sk..]);
    }
    let lookback = (lb_sk + slowd_ma.lookback(slowd)).min(n);
    ok[..lookback].fill(f64::NAN);
    od[..lookback].fill(f64::NAN);
    true
}

/// TA-Lib 0.8.1's `STOCHF` on NaN-free, equal-length slices with checked periods (`>= 1`):
/// `(fastk, fastd)` into `outs`, NaN for the lookback. Bit-identical to `TA_STOCHF`.
pub fn stochf_kernel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: usize,
    fastd: usize,
    fastd_ma: MaType,
    outs: [&mut [f64]; 2],
) {
    let [ok, od] = outs;
    assert!(
        high.len() == low.len()
            && low.len() == close.len()
            && close.len() == ok.len()
            && ok.len() == od.len()
    );
    if stochf_fast((high, low, close), (fastk, fastd, fastd_ma), ok, od) {
        return;
    }
    let mut core = StochFCore::new(fastk, fastd, fastd_ma);
    run_hlc(high, low, close, ok, od, |h, l, c| core.step(h, l, c));
}

/// TA-Lib 0.8.1's `STOCHRSI` on a NaN-free slice with checked periods (`timeperiod >= 2`, the
/// others `>= 1`): `(fastk, fastd)` into `outs`, NaN for the lookback. Bit-identical to
/// `TA_STOCHRSI`.
pub fn stochrsi_kernel(
    x: &[f64],
    period: usize,
    fastk: usize,
    fastd: usize,
    fastd_ma: MaType,
    outs: [&mut [f64]; 2],
) {
    let [ok, od] = outs;
    assert!(x.len() == ok.len() && ok.len() == od.len());
    // Fast path: the RSI into `od`, then `STOCHF` over it (%K into `ok`, %D over the RSI's
    // consumed values in `od`); the RSI recurrence is the streaming one, value for value.
    let n = x.len();
    if n > period {
        let mut rsi = RsiSeq::new(period);
        for (o, &v) in od.iter_mut().zip(x) {
            *o = rsi.update(v);
        }
        // The RSI's own lookback is NaN: only a NaN after it would reach the stages.
        if !super::has_nan(&od[period..]) {
            let (ok_t, od_t) = (&mut ok[period..], &mut od[period..]);
            let r: &[f64] = od_t;
            let lb_k = fastk - 1;
            let mut k_nan = false;
            ok_t[..lb_k.min(r.len())].fill(f64::NAN);
            scan_extremes::<false>(r, r, fastk, |i, (hh, _), (ll, _)| {
                let k = raw_k(hh, ll, r[i]);
                k_nan |= k.is_nan();
                ok_t[i] = k;
            });
            if !k_nan {
                if r.len() > lb_k {
                    super::ma::ma_kernel(&ok_t[lb_k..], fastd, fastd_ma, &mut od_t[lb_k..]);
                }
                let lookback = (period + lb_k + fastd_ma.lookback(fastd)).min(n);
                ok[..lookback].fill(f64::NAN);
                od[..lookback].fill(f64::NAN);
                return;
            }
        }
    }
    let mut core = StochRsiCore {
        rsi: RsiSeq::new(period),
        f: StochFCore::new(fastk, fastd, fastd_ma),
    };
    for i in 0..x.len() {
        let (k, d) = core.step(x[i]);
        ok[i] = k;
        od[i] = d;
    }
}

/// Batch rolling extremes over `period >= 1` bars: `f(i, (highest, hi_idx), (lowest, lo_idx))`
/// for every bar `i >= period - 1`, the same values and indices as [`Extremes::push_indexed`]
/// on NaN-free inputs (the exact extremes; of equal ones, the newest), so batch and streaming
/// outputs stay bit-identical. Indices are computed only when `IDX` (else 0).
///
/// The van Herk / Gil-Werman scheme: cut the series into blocks of `period` bars; the window
/// ending at bar `i` is the tail of the previous block (its suffix extremes, computed once per
/// block) plus the head of the current one (a running prefix extreme). Every step is a
/// compare-and-select, so the loop has no data-dependent branch. Ties go to the newer bar: `>=`
/// in the prefix (forward), `>` in the suffix (backward) and the prefix winning a tie when the
/// two parts meet.
/// NB: the streaming deques cost ~25 ns a bar in a batch loop (data-dependent `while` loops,
/// ring indexing), and TA-Lib's own scan (rescan the window when the extreme leaves it) ~11 ns
/// here: on this data the highest high leaves a 14-bar window on 16% of the bars, and LLVM
/// turns the rescan into a chain of selects. This scheme is ~3 ns a bar (WILLR over 1M bars).
#[inline(always)]
pub(crate) fn scan_extremes<const IDX: bool>(
    high: &[f64],
    low: &[f64],
    period: usize,
    mut f: impl FnMut(usize, (f64, usize), (f64, usize)),
) {
    assert!(period >= 1 && high.len() == low.len());
    let n = high.len();
    if n < period {
        return;
    }
    // Suffix extremes of the previous block: slot `k` covers bars `s_prev + k ..< s_prev + p`
    // (values and indices apart, the indices only written when `IDX`).
    let (mut sh_v, mut sl_v) = (vec![0.0f64; period], vec![0.0f64; period]);
    let (mut sh_i, mut sl_i) = (vec![0usize; period], vec![0usize; period]);
    let mut s = 0;
    while s < n {
        let e = (s + period).min(n);
        let (bh, bl) = (&high[s..e], &low[s..e]);
        let (mut ph, mut phi, mut pl, mut pli) = (bh[0], s, bl[0], s);
        for (k, (&h, &l)) in bh.iter().zip(bl).enumerate() {
            let i = s + k;
            if h >= ph {
                ph = h;
                if IDX {
                    phi = i;
                }
            }
            if l <= pl {
                pl = l;
                if IDX {
                    pli = i;
                }
            }
            if k + 1 == period {
                // The window is this block exactly.
                f(i, (ph, phi), (pl, pli));
            } else if s > 0 {
                // The window is the previous block's tail from slot `k + 1`, then this head.
                let (shv, slv) = (sh_v[k + 1], sl_v[k + 1]);
                let hi = if ph >= shv {
                    (ph, phi)
                } else {
                    (shv, if IDX { sh_i[k + 1] } else { 0 })
                };
                let lo = if pl <= slv {
                    (pl, pli)
                } else {
                    (slv, if IDX { sl_i[k + 1] } else { 0 })
                };
                f(i, hi, lo);
            }
        }
        if e - s == period {
            // Seeded with the newest bar whatever its value.
            let (mut ch, mut cl) = (bh[period - 1], bl[period - 1]);
            let (mut chi, mut cli) = (e - 1, e - 1);
            for k in (0..period).rev() {
                let (h, l) = (bh[k], bl[k]);
                if h > ch {
                    ch = h;
                    if IDX {
                        chi = s + k;
                    }
                }
                if l < cl {
                    cl = l;
                    if IDX {
                        cli = s + k;
                    }
                }
                sh_v[k] = ch;
                sl_v[k] = cl;
                if IDX {
                    sh_i[k] = chi;
                    sl_i[k] = cli;
                }
            }
        }
        s = e;
    }
}

/// Raw %K of NaN-free, equal-length slices into `out` (NaN for the first `period - 1` bars);
/// returns whether a raw %K is NaN (only from infinite inputs).
fn fastk_batch(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert!(close.len() == high.len() && out.len() == high.len());
    let lb = (period - 1).min(out.len());
    out[..lb].fill(f64::NAN);
    let mut nan = false;
    scan_extremes::<false>(high, low, period, |i, (hh, _), (ll, _)| {
        let k = raw_k(hh, ll, close[i]);
        nan |= k.is_nan();
        out[i] = k;
    });
    nan
}

/// `STOCHF`'s batch path without per-bar state machines: raw %K into `ok`, %D = MA(%K) into
/// `od`. `false` (outputs unspecified) when a NaN would reach a smoothing stage, whose poisoning
/// only the step path models.
fn stochf_fast(
    (h, l, c): (&[f64], &[f64], &[f64]),
    (fastk, fastd, ma): (usize, usize, MaType),
    ok: &mut [f64],
    od: &mut [f64],
) -> bool {
    let n = h.len();
    let lb_k = fastk - 1;
    if fastk_batch(h, l, c, fastk, ok) {
        return false;
    }
    if n > lb_k {
        super::ma::ma_kernel(&ok[lb_k..], fastd, ma, &mut od[lb_k..]);
    }
    let lookback = (lb_k + ma.lookback(fastd)).min(n);
    ok[..lookback].fill(f64::NAN);
    od[..lookback].fill(f64::NAN);
    true
}

/// The NaN policy for `(high, low, close)` batch functions with two outputs: checks lengths and
/// NaNs, fills the prefix before the common first valid bar with NaN and runs `kernel` on the
/// rest.
fn apply_hlc2(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    outs: [&mut [f64]; 2],
    kernel: impl FnOnce(&[f64], &[f64], &[f64], [&mut [f64]; 2]),
) -> CoreResult<()> {
    let start = super::first_valid_all(&[("high", high), ("low", low), ("close", close)])?;
    let [ok, od] = outs;
    check_len("out", high.len(), ok.len())?;
    check_len("out", high.len(), od.len())?;
    ok[..start].fill(f64::NAN);
    od[..start].fill(f64::NAN);
    kernel(
        &high[start..],
        &low[start..],
        &close[start..],
        [&mut ok[start..], &mut od[start..]],
    );
    Ok(())
}

/// Batch STOCH (TA-Lib `STOCH(high, low, close, fastk_period=5, slowk_period=3,
/// slowk_matype=0, slowd_period=3, slowd_matype=0)`): `(slowk, slowd)`.
#[allow(clippy::too_many_arguments)] // TA-Lib's parameter list
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: i64,
    slowk: i64,
    slowk_ma: i64,
    slowd: i64,
    slowd_ma: i64,
) -> CoreResult<(Vec<f64>, Vec<f64>)> {
    let n = high.len();
    let (mut k, mut d) = (super::output(n, 0), super::output(n, 0));
    stoch_into(
        high,
        low,
        close,
        fastk,
        slowk,
        slowk_ma,
        slowd,
        slowd_ma,
        [&mut k, &mut d],
    )?;
    Ok((k, d))
}

/// [`stoch`] into `(slowk, slowd)` buffers (each as long as the inputs, every element written).
/// Parameters are checked before anything is written.
#[allow(clippy::too_many_arguments)] // TA-Lib's parameter list
pub fn stoch_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: i64,
    slowk: i64,
    slowk_ma: i64,
    slowd: i64,
    slowd_ma: i64,
    outs: [&mut [f64]; 2],
) -> CoreResult<()> {
    let core = stoch_params(fastk, slowk, slowk_ma, slowd, slowd_ma)?;
    let (sk, sd) = (&core.slowk, &core.slowd);
    let params = (core.lb_k + 1, sk.period, sk.ma, sd.period, sd.ma);
    apply_hlc2(high, low, close, outs, |h, l, c, o| {
        stoch_kernel(h, l, c, params.0, params.1, params.2, params.3, params.4, o)
    })
}

/// Batch STOCHF (TA-Lib `STOCHF(high, low, close, fastk_period=5, fastd_period=3,
/// fastd_matype=0)`): `(fastk, fastd)`.
pub fn stochf(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: i64,
    fastd: i64,
    fastd_ma: i64,
) -> CoreResult<(Vec<f64>, Vec<f64>)> {
    let n = high.len();
    let (mut k, mut d) = (super::output(n, 0), super::output(n, 0));
    stochf_into(high, low, close, fastk, fastd, fastd_ma, [&mut k, &mut d])?;
    Ok((k, d))
}

/// [`stochf`] into `(fastk, fastd)` buffers (each as long as the inputs, every element written).
pub fn stochf_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fastk: i64,
    fastd: i64,
    fastd_ma: i64,
    outs: [&mut [f64]; 2],
) -> CoreResult<()> {
    let (fastk, fastd, ma) = stochf_params(fastk, fastd, fastd_ma)?;
    apply_hlc2(high, low, close, outs, |h, l, c, o| {
        stochf_kernel(h, l, c, fastk, fastd, ma, o)
    })
}

/// Batch STOCHRSI (TA-Lib `STOCHRSI(real, timeperiod=14, fastk_period=5, fastd_period=3,
/// fastd_matype=0)`): `(fastk, fastd)`.
pub fn stochrsi(
    x: &[f64],
    period: i64,
    fastk: i64,
    fastd: i64,
    fastd_ma: i64,
) -> CoreResult<(Vec<f64>, Vec<f64>)> {
    let n = x.len();
    let (mut k, mut d) = (super::output(n, 0), super::output(n, 0));
    stochrsi_into(x, period, fastk, fastd, fastd_ma, [&mut k, &mut d])?;
    Ok((k, d))
}

/// [`stochrsi`] into `(fastk, fastd)` buffers (each as long as `x`, every element written).
pub fn stochrsi_into(
    x: &[f64],
    period: i64,
    fastk: i64,
    fastd: i64,
    fastd_ma: i64,
    outs: [&mut [f64]; 2],
) -> CoreResult<()> {
    let core = stochrsi_params(period, fastk, fastd, fastd_ma)?;
    let (period, fastk, fastd, ma) = (
        core.rsi.period,
        core.f.lb_k + 1,
        core.f.d.period,
        core.f.d.ma,
    );
    let start = super::first_valid("real", x)?;
    let [ok, od] = outs;
    check_len("out", x.len(), ok.len())?;
    check_len("out", x.len(), od.len())?;
    ok[..start].fill(f64::NAN);
    od[..start].fill(f64::NAN);
    stochrsi_kernel(
        &x[start..],
        period,
        fastk,
        fastd,
        ma,
        [&mut ok[start..], &mut od[start..]],
    );
    Ok(())
}

macro_rules! stream_common {
    () => {
        /// The last output (NaNs during the lookback).
        pub fn value(&self) -> (f64, f64) {
            self.value
        }
        /// Valid values (bars) pushed so far.
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
            self.value = (f64::NAN, f64::NAN);
        }
    };
}

/// Streaming STOCH: `update(high, low, close) -> (slowk, slowd)`, bit-for-bit [`stoch`].
/// Amortised O(1), no allocation after construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stoch {
    core: StochCore,
    lookback: usize,
    count: usize,
    value: (f64, f64),
}

impl Stoch {
    /// Periods `>= 1`, MA types 0-6 or 8 (as `ma()`), named as TA-Lib names them.
    pub fn new(
        fastk: i64,
        slowk: i64,
        slowk_ma: i64,
        slowd: i64,
        slowd_ma: i64,
    ) -> CoreResult<Self> {
        let core = stoch_params(fastk, slowk, slowk_ma, slowd, slowd_ma)?;
        Ok(Self {
            lookback: core.lookback,
            core,
            count: 0,
            value: (f64::NAN, f64::NAN),
        })
    }

    /// Push one bar; `(slowk, slowd)` (NaNs during the lookback).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<(f64, f64)> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok((f64::NAN, f64::NAN));
        }
        self.count += 1;
        self.value = self.core.step(high, low, close);
        Ok(self.value)
    }

    stream_common!();
}

/// Streaming STOCHF: `update(high, low, close) -> (fastk, fastd)`, bit-for-bit [`stochf`].
/// Amortised O(1), no allocation after construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StochF {
    core: StochFCore,
    lookback: usize,
    count: usize,
    value: (f64, f64),
}

impl StochF {
    /// Periods `>= 1`, `fastd_matype` 0-6 or 8 (as `ma()`).
    pub fn new(fastk: i64, fastd: i64, fastd_ma: i64) -> CoreResult<Self> {
        let (fastk, fastd, ma) = stochf_params(fastk, fastd, fastd_ma)?;
        let core = StochFCore::new(fastk, fastd, ma);
        Ok(Self {
            lookback: core.lookback,
            core,
            count: 0,
            value: (f64::NAN, f64::NAN),
        })
    }

    /// Push one bar; `(fastk, fastd)` (NaNs during the lookback).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<(f64, f64)> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok((f64::NAN, f64::NAN));
        }
        self.count += 1;
        self.value = self.core.step(high, low, close);
        Ok(self.value)
    }

    stream_common!();
}

/// Streaming STOCHRSI: `update(x) -> (fastk, fastd)`, bit-for-bit [`stochrsi`]. Amortised O(1),
/// no allocation after construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StochRsi {
    core: StochRsiCore,
    lookback: usize,
    count: usize,
    value: (f64, f64),
}

impl StochRsi {
    /// `timeperiod >= 2`, `fastk_period, fastd_period >= 1`, `fastd_matype` 0-6 or 8.
    pub fn new(period: i64, fastk: i64, fastd: i64, fastd_ma: i64) -> CoreResult<Self> {
        let core = stochrsi_params(period, fastk, fastd, fastd_ma)?;
        Ok(Self {
            lookback: core.rsi.period + core.f.lookback,
            core,
            count: 0,
            value: (f64::NAN, f64::NAN),
        })
    }

    /// Push one value; `(fastk, fastd)` (NaNs during the lookback).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<(f64, f64)> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok((f64::NAN, f64::NAN));
        }
        self.count += 1;
        self.value = self.core.step(x);
        Ok(self.value)
    }

    stream_common!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    /// The batch scan gives the streaming deques' extremes, values (bits) and indices, with
    /// many ties and both signed zeros; with and without indices.
    #[test]
    fn scan_extremes_matches_deques() {
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            st
        };
        let vals = [
            -2.0,
            -0.0,
            0.0,
            1.0,
            1.0,
            3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for n in [0usize, 1, 5, 13, 14, 15, 97, 400] {
            let h: Vec<f64> = (0..n).map(|_| vals[(next() % 8) as usize]).collect();
            let l: Vec<f64> = (0..n).map(|_| vals[(next() % 8) as usize]).collect();
            for p in [1usize, 2, 3, 4, 5, 7, 14, 15] {
                let mut ext = Extremes::new(p);
                let want: Vec<_> = h
                    .iter()
                    .zip(&l)
                    .map(|(&a, &b)| ext.push_indexed(a, b))
                    .collect();
                let mut seen = 0;
                scan_extremes::<true>(&h, &l, p, |i, (hv, hi), (lv, li)| {
                    let ((whv, whi), (wlv, wli)) = want[i];
                    assert_eq!(
                        (hv.to_bits(), hi as u64),
                        (whv.to_bits(), whi),
                        "n={n} p={p} i={i}"
                    );
                    assert_eq!(
                        (lv.to_bits(), li as u64),
                        (wlv.to_bits(), wli),
                        "n={n} p={p} i={i}"
                    );
                    assert_eq!(i, p - 1 + seen);
                    seen += 1;
                });
                assert_eq!(seen, n.saturating_sub(p - 1), "n={n} p={p}");
                scan_extremes::<false>(&h, &l, p, |i, (hv, _), (lv, _)| {
                    assert_eq!(hv.to_bits(), want[i].0.0.to_bits());
                    assert_eq!(lv.to_bits(), want[i].1.0.to_bits());
                });
            }
        }
    }

    fn bars(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let mut p = 100.0;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut h, mut l, mut c) = (vec![], vec![], vec![]);
        for i in 0..n {
            p += (next() - 0.5) * 2.0;
            let flat = i % 17 < 3; // runs of equal bars: zero ranges and ties
            let (hi, lo) = if flat {
                (p, p)
            } else {
                (p + next(), p - next())
            };
            h.push(hi);
            l.push(lo);
            c.push(p);
        }
        (h, l, c)
    }

    fn naive_extremes(h: &[f64], l: &[f64], i: usize, p: usize) -> (f64, f64) {
        let w = i + 1 - p.min(i + 1);
        let hh = h[w..=i].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ll = l[w..=i].iter().copied().fold(f64::INFINITY, f64::min);
        (hh, ll)
    }

    #[test]
    fn extremes_match_a_rescan() {
        let (h, l, _) = bars(400, 5);
        for p in [1, 2, 3, 7, 30] {
            let mut e = Extremes::new(p);
            for i in 0..h.len() {
                assert_eq!(
                    e.push(h[i], l[i]),
                    naive_extremes(&h, &l, i, p),
                    "p={p} i={i}"
                );
            }
        }
    }

    #[test]
    fn stochf_is_raw_k_and_its_sma() {
        let (h, l, c) = bars(200, 9);
        let (k, d) = stochf(&h, &l, &c, 5, 3, 0).unwrap();
        assert!(k[..6].iter().all(|v| v.is_nan()) && d[..6].iter().all(|v| v.is_nan()));
        for i in 6..h.len() {
            let (hh, ll) = naive_extremes(&h, &l, i, 5);
            assert_eq!(k[i].to_bits(), raw_k(hh, ll, c[i]).to_bits(), "i={i}");
        }
        let raw: Vec<f64> = (4..h.len())
            .map(|i| {
                let (hh, ll) = naive_extremes(&h, &l, i, 5);
                raw_k(hh, ll, c[i])
            })
            .collect();
        let sma = super::super::sma::sma(&raw, 3).unwrap();
        for i in 6..h.len() {
            assert_eq!(d[i].to_bits(), sma[i - 4].to_bits(), "i={i}");
        }
    }

    #[test]
    fn streaming_equals_batch_bitwise() {
        let (h, l, c) = bars(300, 11);
        for (fk, sk, skm, sd, sdm) in [
            (5, 3, 0, 3, 0),
            (1, 1, 1, 1, 2),
            (14, 4, 1, 5, 2),
            (3, 2, 2, 6, 1),
        ] {
            let (bk, bd) = stoch(&h, &l, &c, fk, sk, skm, sd, sdm).unwrap();
            let mut s = Stoch::new(fk, sk, skm, sd, sdm).unwrap();
            for i in 0..h.len() {
                let (k, d) = s.update(h[i], l[i], c[i]).unwrap();
                assert_eq!(
                    (k.to_bits(), d.to_bits()),
                    (bk[i].to_bits(), bd[i].to_bits()),
                    "i={i}"
                );
            }
            assert!(s.initialized());
            let lb = (fk + sk + sd - 3) as usize;
            assert!(bk[lb].is_finite() && (lb == 0 || bk[lb - 1].is_nan()));

            let (bk, bd) = stochf(&h, &l, &c, fk, sd, sdm).unwrap();
            let mut s = StochF::new(fk, sd, sdm).unwrap();
            for i in 0..h.len() {
                let (k, d) = s.update(h[i], l[i], c[i]).unwrap();
                assert_eq!(
                    (k.to_bits(), d.to_bits()),
                    (bk[i].to_bits(), bd[i].to_bits()),
                    "i={i}"
                );
            }

            let (bk, bd) = stochrsi(&c, sk.max(2), fk, sd, sdm).unwrap();
            let mut s = StochRsi::new(sk.max(2), fk, sd, sdm).unwrap();
            for i in 0..c.len() {
                let (k, d) = s.update(c[i]).unwrap();
                assert_eq!(
                    (k.to_bits(), d.to_bits()),
                    (bk[i].to_bits(), bd[i].to_bits()),
                    "i={i}"
                );
            }
            s.reset();
            assert_eq!(s.count(), 0);
            assert!(s.update(c[0]).unwrap().0.is_nan());
        }
    }

    #[test]
    fn stochrsi_runs_on_talibs_rsi() {
        let (_, _, c) = bars(250, 3);
        let mut r = vec![0.0; c.len()];
        super::super::rsi::rsi_kernel(&c, 14, &mut r);
        let (fk, fd) = stochrsi(&c, 14, 5, 3, 1).unwrap();
        let (rk, rd) = stochf(&r[14..], &r[14..], &r[14..], 5, 3, 1).unwrap();
        for i in 14..c.len() {
            assert_eq!(fk[i].to_bits(), rk[i - 14].to_bits());
            assert_eq!(fd[i].to_bits(), rd[i - 14].to_bits());
        }
    }

    #[test]
    fn bad_parameters_and_nans() {
        let (h, l, c) = bars(50, 1);
        assert!(matches!(
            stoch(&h, &l, &c, 0, 3, 0, 3, 0),
            Err(CoreError::InvalidPeriod {
                name: "fastk_period",
                ..
            })
        ));
        let e = stoch(&h, &l, &c, 5, 3, 7, 3, 0).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("slowk_matype: unsupported moving average type 7")
        );
        assert!(matches!(
            stochf(&h, &l, &c, 5, 3, -1),
            Err(CoreError::InvalidArgument {
                name: "fastd_matype",
                ..
            })
        ));
        assert!(matches!(
            stochrsi(&c, 1, 5, 3, 0),
            Err(CoreError::InvalidPeriod {
                name: "timeperiod",
                ..
            })
        ));
        assert!(matches!(
            stochf(&h, &l[1..], &c, 5, 3, 0),
            Err(CoreError::LengthMismatch { name: "low", .. })
        ));
        let mut s = StochF::new(2, 2, 0).unwrap();
        assert!(s.update(f64::NAN, 1.0, 1.0).unwrap().0.is_nan());
        assert_eq!(s.count(), 0);
        s.update(2.0, 1.0, 1.5).unwrap();
        assert!(s.update(2.0, f64::NAN, 1.5).is_err());
        assert_eq!(s.count(), 1);
    }
}
