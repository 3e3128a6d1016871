//! Aroon (TA-Lib `AROON`, `AROONOSC`), bit-identical to TA-Lib 0.8.1.
//!
//! Over the last `timeperiod + 1` bars, with `hi` / `lo` the bar indices of the highest high and
//! the lowest low (of equal extremes, the newest, as TA-Lib's `>=` / `<=` pick them) and
//! `factor = 100.0 / timeperiod`: `aroondown = factor * (timeperiod - (today - lo))`,
//! `aroonup = factor * (timeperiod - (today - hi))` (integer counts, one rounding each) and
//! `aroonosc = factor * (hi - lo)`. Lookback `timeperiod`. The extremes come from monotonic
//! deques ([`super::stoch::Extremes`]), amortised O(1) and allocated once.

use super::atr::gate_bar;
use super::stoch::{Extremes, scan_extremes};
use crate::error::{CoreResult, check_len, check_period};

/// The step shared by batch and streaming `AROON` / `AROONOSC`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AroonCore {
    period: usize,
    factor: f64,
    ext: Extremes,
}

impl AroonCore {
    fn new(period: i64) -> CoreResult<Self> {
        // TA-Lib: 2..=100000.
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            period,
            factor: 100.0 / period as f64,
            ext: Extremes::new(period + 1),
        })
    }

    /// `(aroondown, aroonup, aroonosc)`, NaNs during the lookback.
    #[inline]
    fn step(&mut self, high: f64, low: f64) -> (f64, f64, f64) {
        let today = self.ext.count() as i64;
        let ((_, hi), (_, lo)) = self.ext.push_indexed(high, low);
        if today < self.period as i64 {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        aroon_values(
            self.factor,
            self.period,
            today as usize,
            hi as usize,
            lo as usize,
        )
    }

    fn reset(&mut self) {
        self.ext.clear();
    }
}

/// Run the core over NaN-free, equal-length slices; `write` takes each bar's three values.
fn run(
    high: &[f64],
    low: &[f64],
    period: i64,
    mut write: impl FnMut(usize, (f64, f64, f64)),
) -> CoreResult<()> {
    let core = AroonCore::new(period)?;
    // The batch scan of the same extremes over `period + 1` bars (it agrees with the
    // streaming deques on values and indices), then the core's arithmetic.
    let (p, factor) = (core.period, core.factor);
    for i in 0..p.min(high.len()) {
        write(i, (f64::NAN, f64::NAN, f64::NAN));
    }
    scan_extremes::<true>(high, low, p + 1, |today, (_, hi), (_, lo)| {
        write(today, aroon_values(factor, p, today, hi, lo));
    });
    Ok(())
}

/// `(aroondown, aroonup, aroonosc)` of bar `today` with the extremes at bars `hi` and `lo`.
#[inline(always)]
fn aroon_values(factor: f64, period: usize, today: usize, hi: usize, lo: usize) -> (f64, f64, f64) {
    let (today, hi, lo, p) = (today as i64, hi as i64, lo as i64, period as i64);
    let down = factor * (p - (today - lo)) as f64;
    let up = factor * (p - (today - hi)) as f64;
    let osc = factor * (hi - lo) as f64;
    (down, up, osc)
}

/// TA-Lib 0.8.1's `AROON` on NaN-free, equal-length slices: `(aroondown, aroonup)` into `outs`,
/// NaN for the lookback. Errors only on a bad period.
pub fn aroon_kernel(
    high: &[f64],
    low: &[f64],
    period: i64,
    outs: [&mut [f64]; 2],
) -> CoreResult<()> {
    let [d, u] = outs;
    assert!(high.len() == low.len() && low.len() == d.len() && d.len() == u.len());
    run(high, low, period, |i, (down, up, _)| {
        d[i] = down;
        u[i] = up;
    })
}

/// TA-Lib 0.8.1's `AROONOSC` on NaN-free, equal-length slices into `out`, NaN for the lookback.
pub fn aroonosc_kernel(high: &[f64], low: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    assert!(high.len() == low.len() && low.len() == out.len());
    run(high, low, period, |i, (_, _, osc)| out[i] = osc)
}

/// Batch AROON (TA-Lib `AROON(high, low, timeperiod=14)`) into `(aroondown, aroonup)` (each as
/// long as the inputs, every element written).
pub fn aroon_into(high: &[f64], low: &[f64], period: i64, outs: [&mut [f64]; 2]) -> CoreResult<()> {
    AroonCore::new(period)?;
    let start = super::first_valid_all(&[("high", high), ("low", low)])?;
    let [d, u] = outs;
    check_len("out", high.len(), d.len())?;
    check_len("out", high.len(), u.len())?;
    d[..start].fill(f64::NAN);
    u[..start].fill(f64::NAN);
    aroon_kernel(
        &high[start..],
        &low[start..],
        period,
        [&mut d[start..], &mut u[start..]],
    )
}

/// Batch AROON as new vectors `(aroondown, aroonup)`.
pub fn aroon(high: &[f64], low: &[f64], period: i64) -> CoreResult<(Vec<f64>, Vec<f64>)> {
    let n = high.len();
    let (mut d, mut u) = (super::output(n, 0), super::output(n, 0));
    aroon_into(high, low, period, [&mut d, &mut u])?;
    Ok((d, u))
}

/// Batch AROONOSC (TA-Lib `AROONOSC(high, low, timeperiod=14)`) into `out`.
pub fn aroonosc_into(high: &[f64], low: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    AroonCore::new(period)?;
    let start = super::first_valid_all(&[("high", high), ("low", low)])?;
    check_len("out", high.len(), out.len())?;
    out[..start].fill(f64::NAN);
    aroonosc_kernel(&high[start..], &low[start..], period, &mut out[start..])
}

/// Batch AROONOSC as a new vector.
pub fn aroonosc(high: &[f64], low: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    aroonosc_into(high, low, period, &mut out)?;
    Ok(out)
}

/// The streaming state of `AROON` and `AROONOSC`: `update(high, low)` gives
/// `(aroondown, aroonup, aroonosc)`, bit-for-bit the batch functions. Amortised O(1), no
/// allocation after construction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AroonStream {
    core: AroonCore,
    count: usize,
    value: (f64, f64, f64),
}

impl AroonStream {
    /// `timeperiod >= 2`.
    pub fn new(period: i64) -> CoreResult<Self> {
        Ok(Self {
            core: AroonCore::new(period)?,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }

    /// Push one bar; `(aroondown, aroonup, aroonosc)` (NaNs during the lookback).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64) -> CoreResult<(f64, f64, f64)> {
        if !gate_bar(&[("high", high), ("low", low)], self.count > 0, self.count)? {
            return Ok((f64::NAN, f64::NAN, f64::NAN));
        }
        self.count += 1;
        self.value = self.core.step(high, low);
        Ok(self.value)
    }

    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count > self.core.period
    }
    /// Back to the state right after construction (storage kept).
    pub fn reset(&mut self) {
        self.core.reset();
        self.count = 0;
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }
}

macro_rules! aroon_type {
    ($(#[$doc:meta])* $ty:ident, $out:ty, |$v:ident| $pick:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $ty(AroonStream);

        impl $ty {
            /// `timeperiod >= 2`.
            pub fn new(period: i64) -> CoreResult<Self> {
                Ok(Self(AroonStream::new(period)?))
            }
            /// Push one bar; the output (NaN during the lookback).
            #[inline]
            pub fn update(&mut self, high: f64, low: f64) -> CoreResult<$out> {
                let $v = self.0.update(high, low)?;
                Ok($pick)
            }
            /// The last output.
            pub fn value(&self) -> $out {
                let $v = self.0.value;
                $pick
            }
            /// Bars pushed so far.
            pub fn count(&self) -> usize {
                self.0.count()
            }
            /// Whether the lookback is over.
            pub fn initialized(&self) -> bool {
                self.0.initialized()
            }
            /// Back to the state right after construction.
            pub fn reset(&mut self) {
                self.0.reset()
            }
        }
    };
}

aroon_type!(
    /// Streaming AROON: `update(high, low) -> (aroondown, aroonup)`, bit-for-bit [`aroon`].
    Aroon, (f64, f64), |v| (v.0, v.1)
);
aroon_type!(
    /// Streaming AROONOSC: `update(high, low) -> aroonosc`, bit-for-bit [`aroonosc`].
    AroonOsc, f64, |v| v.2
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_ties_and_streaming() {
        // Period 2, window of 3 bars. Bar 2: highs 1, 3, 3 -> newest max at 2 -> up 100;
        // lows 0, 0, 1 -> newest min at 1 -> down 50 * (2 - 1) = 50; osc 50 * (2 - 1) = 50.
        let h = [1.0, 3.0, 3.0, 2.0, 2.0];
        let l = [0.0, 0.0, 1.0, 1.0, 0.5];
        let (d, u) = aroon(&h, &l, 2).unwrap();
        let o = aroonosc(&h, &l, 2).unwrap();
        assert!(d[1].is_nan() && u[1].is_nan() && o[1].is_nan());
        assert_eq!((d[2], u[2], o[2]), (50.0, 100.0, 50.0));
        // Bar 3: highs 3, 3, 2 -> newest max at 2 -> up 50; lows 0, 1, 1 -> min at 1 -> down 0;
        // osc 50 * (2 - 1) = 50. Bar 4: highs 3, 2, 2 -> max at 2 -> up 0; lows 1, 1, 0.5 -> min at
        // 4 -> down 100; osc 50 * (2 - 4) = -100.
        assert_eq!((d[3], u[3], o[3]), (0.0, 50.0, 50.0));
        assert_eq!((d[4], u[4], o[4]), (100.0, 0.0, -100.0));
        let mut s = AroonStream::new(2).unwrap();
        let mut so1 = AroonOsc::new(2).unwrap();
        for i in 0..h.len() {
            let (sd, su, so) = s.update(h[i], l[i]).unwrap();
            assert_eq!(so1.update(h[i], l[i]).unwrap().to_bits(), o[i].to_bits());
            assert_eq!(
                (sd.to_bits(), su.to_bits(), so.to_bits()),
                (d[i].to_bits(), u[i].to_bits(), o[i].to_bits())
            );
        }
        assert!(aroon(&h, &l, 1).is_err());
        assert!(aroonosc(&h, &l[1..], 2).is_err());
    }
}
