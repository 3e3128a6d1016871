//! Chaikin accumulation/distribution line and oscillator (TA-Lib `AD`, `ADOSC`).
//!
//! Money flow of a bar: `((close - low) - (high - close)) / (high - low) * volume` (nothing
//! when `high - low` is not positive), accumulated from the first bar. `ADOSC` is
//! `EMA(ad, fastperiod) - EMA(ad, slowperiod)` where both EMAs are seeded with the first AD
//! value (not a mean, unlike `EMA`), lookback `max(fastperiod, slowperiod) - 1`; TA-Lib 0.8.1's
//! build fuses the EMA step into `fma(1-k, ema, k·ad)` (found by comparing bits with `talib`).
//! Same operation order as TA-Lib 0.8.1: bit-identical.

use super::atr::gate_bar;
use super::volatility::apply_multi_checked;
use crate::error::{CoreResult, check_period};

/// One bar's addition to the AD line (TA-Lib's expression and order).
#[inline(always)]
fn ad_step(ad: f64, high: f64, low: f64, close: f64, volume: f64) -> f64 {
    let tmp = high - low;
    if tmp > 0.0 {
        ad + ((close - low) - (high - close)) / tmp * volume
    } else {
        ad
    }
}

/// TA-Lib's AD on NaN-free, equal-length slices (no lookback).
pub fn ad_kernel(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], out: &mut [f64]) {
    ad_checked(high, low, close, volume, out);
}

/// Bars per block of the batch kernels: their scratch stays in L1.
const BLOCK: usize = 64;

/// Each bar's money flow, `((c - l) - (h - c)) / (h - l) * v` (0 when `h - l` is not
/// positive), into `mf` (as long as the bars); returns whether an input held a NaN.
///
/// NB: the kernels add the money flow to the AD line in a separate loop over the block: the
/// flows are independent per bar, so this loop vectorises and its divisions overlap, where a
/// loop doing both was bound by one division a bar (TA-Lib's own loop). Adding a flow of `+0.0`
/// for a flat bar instead of skipping it leaves the line's bits alone: the line starts at `+0.0`
/// and a sum of non-NaN values is `-0.0` only when both terms are, so `ad + 0.0 == ad` always.
#[inline(always)]
fn money_flow(h: &[f64], l: &[f64], c: &[f64], v: &[f64], mf: &mut [f64]) -> bool {
    let mut any = false;
    for ((((m, &h), &l), &c), &v) in mf.iter_mut().zip(h).zip(l).zip(c).zip(v) {
        any |= h.is_nan() | l.is_nan() | c.is_nan() | v.is_nan();
        let tmp = h - l;
        let flow = ((c - l) - (h - c)) / tmp * v;
        *m = if tmp > 0.0 { flow } else { 0.0 };
    }
    any
}

/// [`money_flow`] over the bars from `from` on, a block at a time: `each(i, flows)` gets the
/// flows of bars `i..i + flows.len()`, in order. Returns whether an input held a NaN.
#[inline(always)]
fn money_flow_blocks(
    h: &[f64],
    l: &[f64],
    c: &[f64],
    v: &[f64],
    from: usize,
    mut each: impl FnMut(usize, &[f64]),
) -> bool {
    let n = h.len();
    let mut nan = false;
    let mut mf = [0.0f64; BLOCK];
    for i in (from..n).step_by(BLOCK) {
        let m = BLOCK.min(n - i);
        let r = i..i + m;
        nan |= money_flow(
            &h[r.clone()],
            &l[r.clone()],
            &c[r.clone()],
            &v[r],
            &mut mf[..m],
        );
        each(i, &mf[..m]);
    }
    nan
}

/// [`ad_kernel`], returning whether an input held a NaN.
fn ad_checked(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], out: &mut [f64]) -> bool {
    let n = high.len();
    assert!(low.len() == n && close.len() == n && volume.len() == n && out.len() == n);
    let mut ad = 0.0;
    money_flow_blocks(high, low, close, volume, 0, |i, flows| {
        for (o, &f) in out[i..].iter_mut().zip(flows) {
            ad += f;
            *o = ad;
        }
    })
}

/// Batch AD (TA-Lib `AD(high, low, close, volume)`).
pub fn ad(high: &[f64], low: &[f64], close: &[f64], volume: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    ad_into(high, low, close, volume, &mut out)?;
    Ok(out)
}

/// [`ad`] into `out` (as long as the inputs, every element written).
pub fn ad_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    out: &mut [f64],
) -> CoreResult<()> {
    apply_multi_checked(
        [
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
        ],
        out,
        |[h, l, c, v], o| ad_checked(h, l, c, v, o),
    )
}

/// Streaming AD: bit-for-bit [`ad`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ad {
    count: usize,
    value: f64,
}

impl Default for Ad {
    fn default() -> Self {
        Self::new()
    }
}

impl Ad {
    /// A fresh AD line (starts at 0).
    pub fn new() -> Self {
        Self {
            count: 0,
            value: f64::NAN,
        }
    }
    /// Push one bar; the AD line.
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
        let prev = if self.count == 0 { 0.0 } else { self.value };
        self.count += 1;
        self.value = ad_step(prev, high, low, close, volume);
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
    /// Whether the lookback is over (AD has none).
    pub fn initialized(&self) -> bool {
        self.count > 0
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// One step of ADOSC's EMAs, as TA-Lib 0.8.1 computes it: `fma(1 - k, ema, k·ad)`.
#[inline(always)]
fn ema_step(k: f64, ema: f64, ad: f64) -> f64 {
    (1.0 - k).mul_add(ema, k * ad)
}

/// Streaming ADOSC: bit-for-bit [`adosc`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AdOsc {
    fast_k: f64,
    slow_k: f64,
    lookback: usize,
    ad: f64,
    fast: f64,
    slow: f64,
    count: usize,
    value: f64,
}

impl AdOsc {
    /// `fastperiod >= 2`, `slowperiod >= 2` (TA-Lib's ranges; either may be the larger).
    pub fn new(fastperiod: i64, slowperiod: i64) -> CoreResult<Self> {
        let f = check_period("fastperiod", fastperiod, 2)?;
        let s = check_period("slowperiod", slowperiod, 2)?;
        Ok(Self {
            fast_k: 2.0 / (f as f64 + 1.0),
            slow_k: 2.0 / (s as f64 + 1.0),
            lookback: f.max(s) - 1,
            ad: 0.0,
            fast: 0.0,
            slow: 0.0,
            count: 0,
            value: f64::NAN,
        })
    }
    /// One NaN-free bar.
    #[inline(always)]
    fn push(&mut self, high: f64, low: f64, close: f64, volume: f64) -> f64 {
        self.ad = ad_step(self.ad, high, low, close, volume);
        if self.count == 0 {
            self.fast = self.ad;
            self.slow = self.ad;
        } else {
            self.fast = ema_step(self.fast_k, self.fast, self.ad);
            self.slow = ema_step(self.slow_k, self.slow, self.ad);
        }
        self.count += 1;
        if self.count > self.lookback {
            self.value = self.fast - self.slow;
        }
        self.value
    }
    /// Push one bar; the oscillator (NaN during the lookback).
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
        Ok(self.push(high, low, close, volume))
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
        self.count > self.lookback
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.ad = 0.0;
        self.fast = 0.0;
        self.slow = 0.0;
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib's ADOSC on NaN-free, equal-length slices (NaN for the lookback).
pub fn adosc_kernel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fastperiod: usize,
    slowperiod: usize,
    out: &mut [f64],
) {
    adosc_checked(high, low, close, volume, fastperiod, slowperiod, out);
}

fma_kernel!(
    /// [`adosc_kernel`], returning whether an input held a NaN.
    fn adosc_checked(
        high: &[f64],
        low: &[f64],
        close: &[f64],
        volume: &[f64],
        fastperiod: usize,
        slowperiod: usize,
        out: &mut [f64],
    ) -> bool = adosc_body;
);

#[inline(always)]
fn adosc_body(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fastperiod: usize,
    slowperiod: usize,
    out: &mut [f64],
) -> bool {
    assert!(high.len() == low.len() && low.len() == close.len() && close.len() == volume.len());
    assert_eq!(high.len(), out.len());
    let mut s = AdOsc::new(fastperiod as i64, slowperiod as i64).expect("periods checked");
    let mut nan = false;
    // The lookback through `push`; past it, `push`'s steady branch alone, on locals.
    let warm = (s.lookback + 1).min(out.len());
    let (ow, or) = out.split_at_mut(warm);
    let bars = high.iter().zip(low).zip(close).zip(volume);
    let mut bw = bars.take(warm);
    for (o, (((&h, &l), &c), &v)) in ow.iter_mut().zip(&mut bw) {
        nan |= h.is_nan() | l.is_nan() | c.is_nan() | v.is_nan();
        *o = s.push(h, l, c, v);
    }
    let (fk, sk) = (s.fast_k, s.slow_k);
    let (mut ad, mut fast, mut slow) = (s.ad, s.fast, s.slow);
    // In blocks, as the AD line's kernel (see `money_flow`).
    nan | money_flow_blocks(high, low, close, volume, warm, |i, flows| {
        for (o, &f) in or[i - warm..].iter_mut().zip(flows) {
            ad += f;
            fast = ema_step(fk, fast, ad);
            slow = ema_step(sk, slow, ad);
            *o = fast - slow;
        }
    })
}

/// Batch ADOSC (TA-Lib `ADOSC(high, low, close, volume, fastperiod=3, slowperiod=10)`).
pub fn adosc(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fastperiod: i64,
    slowperiod: i64,
) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    adosc_into(high, low, close, volume, fastperiod, slowperiod, &mut out)?;
    Ok(out)
}

/// [`adosc`] into `out` (as long as the inputs, every element written).
pub fn adosc_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fastperiod: i64,
    slowperiod: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let f = check_period("fastperiod", fastperiod, 2)?;
    let s = check_period("slowperiod", slowperiod, 2)?;
    apply_multi_checked(
        [
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
        ],
        out,
        |[h, l, c, v], o| adosc_checked(h, l, c, v, f, s, o),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_values_and_streams() {
        let h = [10.0, 11.0, 12.0, 12.0];
        let l = [8.0, 9.0, 10.0, 12.0];
        let c = [9.5, 9.0, 11.0, 12.0];
        let v = [100.0, 50.0, 10.0, 7.0];
        let out = ad(&h, &l, &c, &v).unwrap();
        assert_eq!(out[0], (1.5 - 0.5) / 2.0 * 100.0);
        assert_eq!(out[1], out[0] + (0.0 - 2.0) / 2.0 * 50.0);
        assert_eq!(out[3], out[2]); // high == low: no flow
        let n = 300;
        let cl: Vec<f64> = (0..n).map(|i| 20.0 + ((i as f64) * 0.3).cos()).collect();
        let hi: Vec<f64> = cl.iter().map(|x| x + 0.2).collect();
        let lo: Vec<f64> = cl
            .iter()
            .enumerate()
            .map(|(i, x)| x - 0.1 * (i % 3) as f64)
            .collect();
        let vo: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 3.0).collect();
        for (f, s) in [(3, 10), (10, 3), (2, 2)] {
            let b = adosc(&hi, &lo, &cl, &vo, f, s).unwrap();
            let lb = f.max(s) as usize - 1;
            assert!(b[..lb].iter().all(|x| x.is_nan()) && !b[lb].is_nan());
            let mut st = AdOsc::new(f, s).unwrap();
            for i in 0..n {
                assert_eq!(
                    st.update(hi[i], lo[i], cl[i], vo[i]).unwrap().to_bits(),
                    b[i].to_bits()
                );
            }
        }
        assert!(AdOsc::new(1, 10).is_err());
    }
}
