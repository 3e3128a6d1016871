//! Wilder's directional movement family (TA-Lib `PLUS_DM`, `MINUS_DM`, `PLUS_DI`, `MINUS_DI`,
//! `DX`, `ADX`, `ADXR`), all bit-identical to TA-Lib 0.8.1 with its default unstable period 0.
//!
//! Per bar `i >= 1`: `diff_p = high[i] - high[i-1]`, `diff_m = low[i-1] - low[i]`; +DM1 is
//! `diff_p` when `diff_p > 0 && diff_p > diff_m`, -DM1 is `diff_m` when
//! `diff_m > 0 && diff_p < diff_m` (else 0); TR1 is the true range ([`super::atr::true_range`]).
//! The running sums ([`DmSums`]) add the first `period - 1` of each, then smooth Wilder's way in
//! TA-Lib's exact order, `s = s - s / period + v` (no FMA: TA-Lib 0.8.1 has no `.fma` clone of
//! these functions). `PLUS_DI`/`MINUS_DI` are `dm / tr * 100`, 0 unless `tr > 0`;
//! `DX = 100 * (|-DI - +DI| / (-DI + +DI))` with `DI = 100 * (dm / tr)`; `ADX` is the mean of the
//! first `period` DX, then `adx = (adx * (period - 1) + dx) / period`;
//! `ADXR = (adx[i] + adx[i - (period - 1)]) / 2`. DX and ADX skip a bar whose TR is not `> 0` or
//! whose DI sum is "zero" in TA-Lib's `TA_IS_ZERO` sense, `-1e-14 < v < 1e-14`: DX then repeats
//! its previous output (0 for the first) and ADX keeps its value.
//!
//! NB: the zero tests are the 0.8.1 build's, read with `objdump -d` (the C text of older releases
//! applies `TA_IS_ZERO` to TR too): TR is compared with 0.0 everywhere, only the DI sum with
//! +-1e-14. It matters after a long flat run, where TR decays below 1e-14 but stays positive.
//!
//! Lookbacks (outputs before are NaN): `PLUS_DM`/`MINUS_DM` `period - 1` (1 for period 1),
//! `PLUS_DI`/`MINUS_DI`/`DX` `period`, `ADX` `2 * period - 1`, `ADXR` `3 * period - 2`. Period 1
//! (DM and DI only) is TA-Lib's unsmoothed case: DM1, and DI1 = `dm1 / tr1` (a ratio, not times
//! 100, as TA-Lib computes it).

use super::atr::{gate_bar, true_range};
use super::ring::Window;
use crate::error::{CoreResult, check_len, check_period};

/// TA-Lib's `TA_IS_ZERO` in the 0.8.1 build.
#[inline(always)]
fn is_zero(v: f64) -> bool {
    -1e-14 < v && v < 1e-14
}

/// TA-Lib 0.8.1's test on TR before a division: `tr > 0` (false for NaN).
#[inline(always)]
fn tr_positive(tr: f64) -> bool {
    tr > 0.0
}

/// What one bar of [`DmSums`] produced.
#[derive(Debug, Clone, Copy)]
pub struct DmBar {
    /// Bars seen before this one (this bar's index from the first valid bar).
    pub index: usize,
    /// `high - prev high` (0 on the first bar).
    pub diff_p: f64,
    /// `prev low - low` (0 on the first bar).
    pub diff_m: f64,
    /// This bar's true range (0 on the first bar).
    pub tr1: f64,
}

impl DmBar {
    /// Whether this bar's move is a +DM (TA-Lib's case 1 and 3).
    #[inline(always)]
    pub fn is_plus(&self) -> bool {
        self.diff_p > 0.0 && self.diff_p > self.diff_m
    }
    /// Whether this bar's move is a -DM (TA-Lib's case 2 and 4).
    #[inline(always)]
    pub fn is_minus(&self) -> bool {
        self.diff_m > 0.0 && self.diff_p < self.diff_m
    }
}

/// TA-Lib's running +DM, -DM and TR: summed over bars `1..period`, then smoothed
/// `s = s - s / period + v` from bar `period` on.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct DmSums {
    period: usize,
    pf: f64,
    n: usize,
    prev_high: f64,
    prev_low: f64,
    prev_close: f64,
    /// Running +DM.
    pub plus: f64,
    /// Running -DM.
    pub minus: f64,
    /// Running TR.
    pub tr: f64,
}

impl DmSums {
    /// Sums over `period >= 1` (already checked).
    pub fn new(period: usize) -> Self {
        Self {
            period,
            pf: period as f64,
            n: 0,
            prev_high: 0.0,
            prev_low: 0.0,
            prev_close: 0.0,
            plus: 0.0,
            minus: 0.0,
            tr: 0.0,
        }
    }

    /// Push one bar (NaN-free) and update the sums.
    #[inline(always)]
    pub fn push(&mut self, high: f64, low: f64, close: f64) -> DmBar {
        let index = self.n;
        self.n += 1;
        if index == 0 {
            self.prev_high = high;
            self.prev_low = low;
            self.prev_close = close;
            return DmBar {
                index,
                diff_p: 0.0,
                diff_m: 0.0,
                tr1: 0.0,
            };
        }
        let diff_p = high - self.prev_high;
        self.prev_high = high;
        let diff_m = self.prev_low - low;
        self.prev_low = low;
        let tr1 = true_range(high, low, self.prev_close);
        self.prev_close = close;
        let bar = DmBar {
            index,
            diff_p,
            diff_m,
            tr1,
        };
        let p = self.pf;
        // Branch-free: a bar that is not a -DM (+DM) adds `0.0`, which leaves the sum's bits
        // as they are (the sums start at `+0.0` and only ever add positive moves, so they are
        // never `-0.0`, the one value `+ 0.0` changes). The two cases exclude each other.
        // NB: measured against branches (TA-Lib's form) on 1M real bars: MINUS_DM 0.46 -> 0.83
        // of TA-Lib's speed, PLUS_DM 0.83 -> 0.90 (the moves' signs are coin flips).
        let add_m = if bar.is_minus() { diff_m } else { 0.0 };
        let add_p = if bar.is_plus() { diff_p } else { 0.0 };
        if index < self.period {
            self.minus += add_m;
            self.plus += add_p;
            self.tr += tr1;
        } else {
            self.minus -= self.minus / p;
            self.plus -= self.plus / p;
            self.minus += add_m;
            self.plus += add_p;
            self.tr = self.tr - self.tr / p + tr1;
        }
        bar
    }
}

/// The two directions of DM and DI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Dir {
    /// +DM / +DI.
    Plus,
    /// -DM / -DI.
    Minus,
}

/// Which member of the family a [`DmCore`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DmKind {
    /// `PLUS_DM` / `MINUS_DM`.
    Dm(Dir),
    /// `PLUS_DI` / `MINUS_DI`.
    Di(Dir),
    /// `DX`.
    Dx,
    /// `ADX`.
    Adx,
    /// `ADXR`.
    Adxr,
}

impl DmKind {
    /// TA-Lib's smallest period for this member (1 for DM and DI, 2 for DX, ADX, ADXR).
    pub fn min_period(self) -> i64 {
        match self {
            Self::Dm(_) | Self::Di(_) => 1,
            Self::Dx | Self::Adx | Self::Adxr => 2,
        }
    }

    /// TA-Lib's lookback for `period`.
    pub fn lookback(self, period: usize) -> usize {
        match self {
            Self::Dm(_) => (period - 1).max(1),
            Self::Di(_) | Self::Dx => period,
            Self::Adx => 2 * period - 1,
            Self::Adxr => 3 * period - 2,
        }
    }
}

/// The smoothed DIs' DX, or `None` where TA-Lib skips it (zero TR, or zero DI sum).
#[inline(always)]
fn dx_of(s: &DmSums) -> Option<f64> {
    if !tr_positive(s.tr) {
        return None;
    }
    let minus_di = 100.0 * (s.minus / s.tr);
    let plus_di = 100.0 * (s.plus / s.tr);
    let sum = minus_di + plus_di;
    if is_zero(sum) {
        return None;
    }
    Some(100.0 * ((minus_di - plus_di).abs() / sum))
}

/// The step shared by the batch and streaming members: one bar in, one output out (NaN during
/// the lookback).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DmCore {
    kind: DmKind,
    period: usize,
    sums: DmSums,
    /// DX: the last output; ADX/ADXR: the running ADX (or the DX sum while seeding).
    acc: f64,
    /// ADXR: the last `period` ADX values.
    adx: Option<Window>,
}

impl DmCore {
    /// A member with a checked period (`>= kind.min_period()`).
    pub fn new(kind: DmKind, period: usize) -> Self {
        Self {
            kind,
            period,
            sums: DmSums::new(period),
            acc: 0.0,
            adx: (kind == DmKind::Adxr).then(|| Window::new(period)),
        }
    }

    /// Push one NaN-free bar; the output (NaN during the lookback).
    #[inline(always)]
    pub fn step(&mut self, high: f64, low: f64, close: f64) -> f64 {
        let bar = self.sums.push(high, low, close);
        let i = bar.index;
        let p = self.period;
        let s = &self.sums;
        match self.kind {
            DmKind::Dm(dir) => {
                if i < self.kind.lookback(p) {
                    return f64::NAN;
                }
                match (p, dir) {
                    (1, Dir::Plus) => {
                        if bar.is_plus() {
                            bar.diff_p
                        } else {
                            0.0
                        }
                    }
                    (1, Dir::Minus) => {
                        if bar.is_minus() {
                            bar.diff_m
                        } else {
                            0.0
                        }
                    }
                    (_, Dir::Plus) => s.plus,
                    (_, Dir::Minus) => s.minus,
                }
            }
            DmKind::Di(dir) => {
                if i < self.kind.lookback(p) {
                    return f64::NAN;
                }
                if p == 1 {
                    let (hit, dm) = match dir {
                        Dir::Plus => (bar.is_plus(), bar.diff_p),
                        Dir::Minus => (bar.is_minus(), bar.diff_m),
                    };
                    return if hit && tr_positive(bar.tr1) {
                        dm / bar.tr1
                    } else {
                        0.0
                    };
                }
                // NB: `tr > 0`, not `TA_IS_ZERO`: TA-Lib 0.8.1's `TA_PLUS_DI`/`TA_MINUS_DI`
                // compare with 0.0 (`objdump -d`), so a TR decayed below 1e-14 over a flat run
                // still gives a ratio.
                if !tr_positive(s.tr) {
                    return 0.0;
                }
                let dm = match dir {
                    Dir::Plus => s.plus,
                    Dir::Minus => s.minus,
                };
                dm / s.tr * 100.0
            }
            DmKind::Dx => {
                if i < p {
                    return f64::NAN;
                }
                // The first output falls back to 0, later ones to the previous output.
                let prev = if i == p { 0.0 } else { self.acc };
                self.acc = dx_of(s).unwrap_or(prev);
                self.acc
            }
            DmKind::Adx | DmKind::Adxr => {
                if i < p {
                    return f64::NAN;
                }
                let dx = dx_of(s);
                if i < 2 * p {
                    if let Some(dx) = dx {
                        self.acc += dx;
                    }
                    if i < 2 * p - 1 {
                        return f64::NAN;
                    }
                    self.acc /= p as f64;
                } else if let Some(dx) = dx {
                    self.acc = (self.acc * (p - 1) as f64 + dx) / p as f64;
                }
                let adx = self.acc;
                match &mut self.adx {
                    None => adx,
                    Some(w) => {
                        w.push(adx);
                        if w.len() < p {
                            return f64::NAN;
                        }
                        (adx + w.oldest()) / 2.0
                    }
                }
            }
        }
    }

    /// Back to the state right after construction (storage kept).
    pub fn reset(&mut self) {
        self.sums = DmSums::new(self.period);
        self.acc = 0.0;
        if let Some(w) = &mut self.adx {
            w.clear();
        }
    }
}

/// Check `period` for `kind` (the argument is `timeperiod`, as in TA-Lib).
fn checked(kind: DmKind, period: i64) -> CoreResult<usize> {
    check_period("timeperiod", period, kind.min_period())
}

/// TA-Lib 0.8.1's `kind` on NaN-free, equal-length slices with a checked period (`close` is
/// ignored by `PLUS_DM`/`MINUS_DM`; pass `high`): NaN for the lookback, bit-identical.
pub fn dm_kernel(
    kind: DmKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    out: &mut [f64],
) {
    dm_kernel_nan(kind, high, low, close, period, out);
}

/// [`dm_kernel`], returning whether an input held a NaN (checked in the same pass).
fn dm_kernel_nan(
    kind: DmKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    out: &mut [f64],
) -> bool {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == out.len());
    // One loop per member, each with its kind a constant: the per-bar `match` folds away and
    // so do the running sums that member does not read.
    match kind {
        DmKind::Dm(Dir::Plus) => dm_loop(DmKind::Dm(Dir::Plus), high, low, close, period, out),
        DmKind::Dm(Dir::Minus) => dm_loop(DmKind::Dm(Dir::Minus), high, low, close, period, out),
        DmKind::Di(Dir::Plus) => dm_loop(DmKind::Di(Dir::Plus), high, low, close, period, out),
        DmKind::Di(Dir::Minus) => dm_loop(DmKind::Di(Dir::Minus), high, low, close, period, out),
        DmKind::Dx => dm_loop(DmKind::Dx, high, low, close, period, out),
        DmKind::Adx => dm_loop(DmKind::Adx, high, low, close, period, out),
        DmKind::Adxr => dm_loop(DmKind::Adxr, high, low, close, period, out),
    }
}

/// [`dm_kernel`]'s loop, inlined into each arm with `kind` a constant.
#[inline(always)]
fn dm_loop(
    kind: DmKind,
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    out: &mut [f64],
) -> bool {
    let mut core = DmCore::new(kind, period);
    let mut nan = false;
    for (o, ((&h, &l), &c)) in out.iter_mut().zip(high.iter().zip(low).zip(close)) {
        *o = core.step(h, l, c);
        nan |= h.is_nan() | l.is_nan() | c.is_nan();
    }
    nan
}

/// Batch member `kind` over `(high, low, close)` into `out` (every element written), with the
/// shared NaN policy. `close = None` for `PLUS_DM`/`MINUS_DM`, which take no close.
pub fn dm_into(
    kind: DmKind,
    high: &[f64],
    low: &[f64],
    close: Option<&[f64]>,
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let period = checked(kind, period)?;
    let c3 = close.map(|c| [("high", high), ("low", low), ("close", c)]);
    let c2 = [("high", high), ("low", low)];
    let inputs: &[(&'static str, &[f64])] = match &c3 {
        Some(c3) => c3,
        None => &c2,
    };
    // The NaN check rides along in the kernel's pass (see `leading_all`).
    let start = super::leading_all(inputs)?;
    check_len("out", high.len(), out.len())?;
    out[..start].fill(f64::NAN);
    let c = close.unwrap_or(high);
    if dm_kernel_nan(
        kind,
        &high[start..],
        &low[start..],
        &c[start..],
        period,
        &mut out[start..],
    ) {
        super::first_valid_all(inputs)?;
    }
    Ok(())
}

/// Batch member `kind` as a new vector (see [`dm_into`]).
pub fn dm(
    kind: DmKind,
    high: &[f64],
    low: &[f64],
    close: Option<&[f64]>,
    period: i64,
) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    dm_into(kind, high, low, close, period, &mut out)?;
    Ok(out)
}

/// A streaming member of the family: bit-for-bit the batch function. O(1), no allocation after
/// construction (ADXR's window of `period` ADX values is allocated once).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DmStream {
    core: DmCore,
    lookback: usize,
    count: usize,
    value: f64,
}

impl DmStream {
    /// Member `kind` with `timeperiod >= kind.min_period()`.
    pub fn new(kind: DmKind, period: i64) -> CoreResult<Self> {
        let period = checked(kind, period)?;
        Ok(Self {
            core: DmCore::new(kind, period),
            lookback: kind.lookback(period),
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one bar; the output (NaN during the lookback). For `PLUS_DM`/`MINUS_DM` pass
    /// `close = high` (see [`DmStream::update_hl`]).
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

    /// Push one `(high, low)` bar (`PLUS_DM`/`MINUS_DM`).
    #[inline]
    pub fn update_hl(&mut self, high: f64, low: f64) -> CoreResult<f64> {
        if !gate_bar(&[("high", high), ("low", low)], self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.value = self.core.step(high, low, high);
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
    /// Back to the state right after construction.
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

    fn bars(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let mut p = 50.0;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut h, mut l, mut c) = (vec![], vec![], vec![]);
        for i in 0..n {
            p += (next() - 0.5) * 2.0;
            let flat = i % 23 < 4; // flat runs: zero TR and zero DI sums
            let (hi, lo) = if flat {
                (50.0, 50.0)
            } else {
                (p + next(), p - next())
            };
            h.push(hi);
            l.push(lo);
            c.push(if flat { 50.0 } else { p });
        }
        (h, l, c)
    }

    const KINDS: [DmKind; 7] = [
        DmKind::Dm(Dir::Plus),
        DmKind::Dm(Dir::Minus),
        DmKind::Di(Dir::Plus),
        DmKind::Di(Dir::Minus),
        DmKind::Dx,
        DmKind::Adx,
        DmKind::Adxr,
    ];

    #[test]
    fn streaming_equals_batch_and_lookbacks() {
        let (h, l, c) = bars(400, 21);
        for kind in KINDS {
            for p in [1, 2, 3, 14, 30] {
                if (p as i64) < kind.min_period() {
                    assert!(DmStream::new(kind, p as i64).is_err());
                    continue;
                }
                let b = dm(kind, &h, &l, Some(&c), p as i64).unwrap();
                let lb = kind.lookback(p);
                assert!(b[..lb].iter().all(|v| v.is_nan()), "{kind:?} p={p}");
                assert!(b[lb..].iter().all(|v| v.is_finite()), "{kind:?} p={p}");
                let mut s = DmStream::new(kind, p as i64).unwrap();
                for i in 0..h.len() {
                    let v = s.update(h[i], l[i], c[i]).unwrap();
                    assert_eq!(v.to_bits(), b[i].to_bits(), "{kind:?} p={p} i={i}");
                    assert_eq!(s.initialized(), i >= lb);
                }
            }
        }
    }

    #[test]
    fn hand_computed_values() {
        let h = [10.0, 12.0, 11.0, 13.0];
        let l = [9.0, 10.0, 8.0, 11.0];
        let c = [9.5, 11.0, 9.0, 12.0];
        // Moves: bar 1 +2 / -1 -> +DM 2; bar 2 -1 / +2 -> -DM 2; bar 3 +2 / -3 -> +DM 2.
        let pdm = dm(DmKind::Dm(Dir::Plus), &h, &l, None, 1).unwrap();
        assert_eq!(&pdm[1..], &[2.0, 0.0, 2.0]);
        let mdm = dm(DmKind::Dm(Dir::Minus), &h, &l, None, 2).unwrap();
        // Seed: bar 1 (no -DM) = 0; bar 2: 0 - 0/2 + 2 = 2; bar 3: 2 - 1 = 1.
        assert!(mdm[0].is_nan());
        assert_eq!(&mdm[1..], &[0.0, 2.0, 1.0]);
        // TR: bar 1 max(2, 2.5, 0.5) = 2.5; bar 2 max(3, 0, 3) = 3; so +DI(1) at bar 1 = 2 / 2.5.
        let pdi = dm(DmKind::Di(Dir::Plus), &h, &l, Some(&c), 1).unwrap();
        assert_eq!(pdi[1], 2.0 / 2.5);
        assert_eq!(pdi[2], 0.0);
    }

    #[test]
    fn flat_bars_give_zero_then_repeat() {
        let x = vec![5.0; 10];
        let dx = dm(DmKind::Dx, &x, &x, Some(&x), 3).unwrap();
        assert!(dx[..3].iter().all(|v| v.is_nan()));
        assert!(dx[3..].iter().all(|&v| v == 0.0));
        let adx = dm(DmKind::Adx, &x, &x, Some(&x), 3).unwrap();
        assert!(adx[5..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn errors() {
        let (h, l, c) = bars(30, 2);
        assert!(matches!(
            dm(DmKind::Adx, &h, &l, Some(&c), 1),
            Err(CoreError::InvalidPeriod {
                name: "timeperiod",
                min: 2,
                ..
            })
        ));
        assert!(matches!(
            dm(DmKind::Di(Dir::Plus), &h, &l, Some(&c[1..]), 5),
            Err(CoreError::LengthMismatch { name: "close", .. })
        ));
        let mut s = DmStream::new(DmKind::Dm(Dir::Minus), 3).unwrap();
        assert!(s.update_hl(f64::NAN, 1.0).unwrap().is_nan());
        s.update_hl(2.0, 1.0).unwrap();
        assert!(matches!(
            s.update_hl(2.0, f64::NAN),
            Err(CoreError::NanInSeries {
                name: "low",
                index: 1
            })
        ));
        assert_eq!(s.count(), 1);
    }
}
