//! Price channels TA-Lib lacks: Donchian and Keltner. Outputs `(upper, middle, lower)`, as
//! `BBANDS`.
//!
//! Donchian channel (Richard Donchian; see e.g. StockCharts, "Donchian Channels"):
//! `upper` = highest high of the last `timeperiod` bars, `lower` = lowest low, `middle` =
//! `(upper + lower) / 2`. Lookback `timeperiod - 1`.
//!
//! Keltner channel, the modern definition as StockCharts documents it ("Keltner Channels",
//! ChartSchool, after Linda Raschke): `middle` = `EMA(close, timeperiod=20)`,
//! `upper`/`lower` = `middle ± multiplier (2) · ATR(atrperiod=10)`, with this crate's
//! TA-Lib-identical [`super::ema`] and [`super::atr`]. Lookback
//! `max(timeperiod - 1, atrperiod)`.

use super::atr::{Atr, atr_kernel, gate_bar};
use super::ema::{Ema, ema_kernel};
use super::extremes::{StreamExtreme, Track};
use super::stddev::check_finite;
use crate::error::{CoreResult, check_len, check_period};

type Bands = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Donchian bands on NaN-free, equal-length slices (NaN for the lookback).
pub fn donchian_kernel(high: &[f64], low: &[f64], period: usize, out: [&mut [f64]; 3]) {
    let [up, mid, lo] = out;
    let n = high.len();
    assert!(low.len() == n && up.len() == n && mid.len() == n && lo.len() == n);
    for o in [&mut *up, &mut *mid, &mut *lo] {
        o[..(period - 1).min(n)].fill(f64::NAN);
    }
    if n < period {
        return;
    }
    let mut hi_t = Track::<true, true>::first(high, period);
    let mut lo_t = Track::<false, true>::first(low, period);
    let mut put = |t: usize, h: f64, l: f64| {
        up[t] = h;
        lo[t] = l;
        mid[t] = (h + l) / 2.0;
    };
    put(period - 1, hi_t.best(), lo_t.best());
    for t in period..n {
        let h = hi_t.step(high, t, period);
        let l = lo_t.step(low, t, period);
        put(t, h, l);
    }
}

fn bands(n: usize) -> Bands {
    (
        super::output(n, 0),
        super::output(n, 0),
        super::output(n, 0),
    )
}

/// Batch Donchian channel `(upper, middle, lower)` (`timeperiod >= 1`, default 20).
pub fn donchian(high: &[f64], low: &[f64], period: i64) -> CoreResult<Bands> {
    let (mut u, mut m, mut l) = bands(high.len());
    donchian_into(high, low, period, [&mut u, &mut m, &mut l])?;
    Ok((u, m, l))
}

/// [`donchian`] into `out` (`[upper, middle, lower]`, each as long as the inputs, every
/// element written).
pub fn donchian_into(
    high: &[f64],
    low: &[f64],
    period: i64,
    out: [&mut [f64]; 3],
) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    let start = super::first_valid_all(&[("high", high), ("low", low)])?;
    let [u, m, l] = out;
    for o in [&mut *u, &mut *m, &mut *l] {
        check_len("out", high.len(), o.len())?;
        o[..start].fill(f64::NAN);
    }
    donchian_kernel(
        &high[start..],
        &low[start..],
        period,
        [&mut u[start..], &mut m[start..], &mut l[start..]],
    );
    Ok(())
}

/// Keltner bands on NaN-free, equal-length slices (NaN for the lookback).
pub fn keltner_kernel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    atrperiod: usize,
    multiplier: f64,
    out: [&mut [f64]; 3],
) {
    let [up, mid, lo] = out;
    ema_kernel(close, period, mid);
    atr_kernel(high, low, close, atrperiod, up);
    for t in 0..close.len() {
        let (m, a) = (mid[t], up[t]);
        if m.is_nan() || a.is_nan() {
            up[t] = f64::NAN;
            mid[t] = f64::NAN;
            lo[t] = f64::NAN;
        } else {
            up[t] = m + multiplier * a;
            lo[t] = m - multiplier * a;
        }
    }
}

fn keltner_args(period: i64, atrperiod: i64, multiplier: f64) -> CoreResult<(usize, usize, f64)> {
    Ok((
        check_period("timeperiod", period, 1)?,
        check_period("atrperiod", atrperiod, 1)?,
        check_finite("multiplier", multiplier)?,
    ))
}

/// Batch Keltner channel `(upper, middle, lower)` (defaults: `timeperiod=20`, `atrperiod=10`,
/// `multiplier=2.0`).
pub fn keltner(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    atrperiod: i64,
    multiplier: f64,
) -> CoreResult<Bands> {
    let (mut u, mut m, mut l) = bands(high.len());
    keltner_into(
        high,
        low,
        close,
        period,
        atrperiod,
        multiplier,
        [&mut u, &mut m, &mut l],
    )?;
    Ok((u, m, l))
}

/// [`keltner`] into `out` (`[upper, middle, lower]`, each as long as the inputs, every element
/// written).
pub fn keltner_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    atrperiod: i64,
    multiplier: f64,
    out: [&mut [f64]; 3],
) -> CoreResult<()> {
    let (p, ap, k) = keltner_args(period, atrperiod, multiplier)?;
    let start = super::first_valid_all(&[("high", high), ("low", low), ("close", close)])?;
    check_len("close", high.len(), close.len())?;
    let [u, m, l] = out;
    for o in [&mut *u, &mut *m, &mut *l] {
        check_len("out", high.len(), o.len())?;
        o[..start].fill(f64::NAN);
    }
    keltner_kernel(
        &high[start..],
        &low[start..],
        &close[start..],
        p,
        ap,
        k,
        [&mut u[start..], &mut m[start..], &mut l[start..]],
    );
    Ok(())
}

/// Streaming Donchian channel: bit-for-bit [`donchian`]. Amortised O(1).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Donchian {
    hi: StreamExtreme,
    lo: StreamExtreme,
    period: usize,
    count: usize,
    value: (f64, f64, f64),
}

impl Donchian {
    /// `timeperiod >= 1`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            hi: StreamExtreme::new(period, true, true),
            lo: StreamExtreme::new(period, false, true),
            period,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }
    /// Push one bar; `(upper, middle, lower)` (NaNs during the lookback).
    pub fn update(&mut self, high: f64, low: f64) -> CoreResult<(f64, f64, f64)> {
        if !gate_bar(&[("high", high), ("low", low)], self.count > 0, self.count)? {
            return Ok((f64::NAN, f64::NAN, f64::NAN));
        }
        let t = self.count;
        self.count += 1;
        let h = self.hi.push(t, high);
        let l = self.lo.push(t, low);
        if t + 1 >= self.period {
            self.value = (h, (h + l) / 2.0, l);
        }
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> (f64, f64, f64) {
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
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }
}

/// Streaming Keltner channel: bit-for-bit [`keltner`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Keltner {
    ema: Ema,
    atr: Atr,
    multiplier: f64,
    count: usize,
    value: (f64, f64, f64),
}

impl Keltner {
    /// `timeperiod >= 1`, `atrperiod >= 1`, finite `multiplier`.
    pub fn new(period: i64, atrperiod: i64, multiplier: f64) -> CoreResult<Self> {
        keltner_args(period, atrperiod, multiplier)?;
        Ok(Self {
            ema: Ema::new(period)?,
            atr: Atr::new(atrperiod)?,
            multiplier,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }
    /// Push one bar; `(upper, middle, lower)` (NaNs during the lookback).
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<(f64, f64, f64)> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok((f64::NAN, f64::NAN, f64::NAN));
        }
        self.count += 1;
        let m = self.ema.update(close)?;
        let a = self.atr.update(high, low, close)?;
        if !m.is_nan() && !a.is_nan() {
            self.value = (m + self.multiplier * a, m, m - self.multiplier * a);
        }
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> (f64, f64, f64) {
        self.value
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.ema.initialized() && self.atr.initialized()
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.ema.reset();
        self.atr.reset();
        self.count = 0;
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn donchian_and_keltner() {
        let c: Vec<f64> = (0..300).map(|i| 10.0 + ((i as f64) * 0.2).sin()).collect();
        let h: Vec<f64> = c.iter().map(|v| v + 0.1).collect();
        let l: Vec<f64> = c.iter().map(|v| v - 0.15).collect();
        let (u, m, lo) = donchian(&h, &l, 20).unwrap();
        assert!(u[18].is_nan() && !u[19].is_nan());
        let hh = h[..20].iter().copied().fold(f64::MIN, f64::max);
        let ll = l[..20].iter().copied().fold(f64::MAX, f64::min);
        assert_eq!((u[19], m[19], lo[19]), (hh, (hh + ll) / 2.0, ll));
        let mut s = Donchian::new(20).unwrap();
        for i in 0..c.len() {
            let (a, b, d) = s.update(h[i], l[i]).unwrap();
            assert_eq!(
                [a.to_bits(), b.to_bits(), d.to_bits()],
                [u[i].to_bits(), m[i].to_bits(), lo[i].to_bits()]
            );
        }
        for (p, ap) in [(20, 10), (5, 30)] {
            let (u, m, lo) = keltner(&h, &l, &c, p, ap, 2.0).unwrap();
            let lb = (p as usize - 1).max(ap as usize);
            assert!(m[lb - 1].is_nan() && !m[lb].is_nan());
            let mut s = Keltner::new(p, ap, 2.0).unwrap();
            for i in 0..c.len() {
                let (a, b, d) = s.update(h[i], l[i], c[i]).unwrap();
                assert_eq!(
                    [a.to_bits(), b.to_bits(), d.to_bits()],
                    [u[i].to_bits(), m[i].to_bits(), lo[i].to_bits()]
                );
            }
        }
        assert!(Keltner::new(20, 0, 2.0).is_err());
        assert!(Keltner::new(20, 10, f64::NAN).is_err());
    }
}
