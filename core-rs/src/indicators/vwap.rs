//! Volume-weighted average price (not in TA-Lib).
//!
//! Typical price `tp = (high + low + close) / 3`, weighted by volume:
//! `vwap = Σ tp·v / Σ v` over every bar since the first valid one (`timeperiod = 0`,
//! cumulative, lookback 0) or over the last `timeperiod` bars (`timeperiod > 0`, lookback
//! `timeperiod - 1`). Zero total volume (no trade in the window, or since the start): the
//! price is undefined and the output is **NaN** (not an error; it becomes a number again as
//! soon as volume arrives). Negative volumes are not checked.
//!
//! NB: the rolling sums are updated by adding the entering and subtracting the leaving term; to
//! bound the rounding drift of that scheme they are recomputed from the window (oldest first)
//! every `timeperiod` bars, so the error stays a few ulps of the window's largest sum
//! (amortised O(1)).

use super::atr::gate_bar;
use super::ring::Window;
use crate::error::{CoreResult, check_period};

/// The shared state of batch and streaming VWAP.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Core {
    period: usize,
    pv: f64,
    v: f64,
    pvs: Window,
    vs: Window,
    since_rebuild: usize,
    count: usize,
    /// Bars with non-zero volume in the window (or since the start): zero means no volume,
    /// decided exactly rather than from the rounded running sum (which can end a hair off 0).
    traded: usize,
}

impl Core {
    fn new(period: usize) -> Self {
        let cap = period.max(1);
        Self {
            period,
            pv: 0.0,
            v: 0.0,
            pvs: Window::new(cap),
            vs: Window::new(cap),
            since_rebuild: 0,
            count: 0,
            traded: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, h: f64, l: f64, c: f64, vol: f64) -> f64 {
        let tp = (h + l + c) / 3.0;
        let pv = tp * vol;
        self.count += 1;
        self.traded += usize::from(vol != 0.0);
        if self.period == 0 {
            self.pv += pv;
            self.v += vol;
        } else {
            let full = self.pvs.len() == self.period;
            let (old_pv, old_v) = (self.pvs.oldest(), self.vs.oldest());
            if full {
                self.traded -= usize::from(old_v != 0.0);
            }
            self.pvs.push(pv);
            self.vs.push(vol);
            self.since_rebuild += 1;
            if self.since_rebuild >= self.period {
                self.rebuild();
            } else {
                self.pv += pv;
                self.v += vol;
                if full {
                    self.pv -= old_pv;
                    self.v -= old_v;
                }
            }
            if self.count < self.period {
                return f64::NAN;
            }
        }
        if self.traded == 0 {
            f64::NAN
        } else {
            self.pv / self.v
        }
    }

    #[cold]
    fn rebuild(&mut self) {
        let (a, b) = self.pvs.as_slices();
        self.pv = a.iter().chain(b).fold(0.0, |s, &x| s + x);
        let (a, b) = self.vs.as_slices();
        self.v = a.iter().chain(b).fold(0.0, |s, &x| s + x);
        self.since_rebuild = 0;
    }
}

/// Batch VWAP (`timeperiod = 0` cumulative, `> 0` rolling).
pub fn vwap(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    period: i64,
) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 0)?;
    let start = super::first_valid_all(&[
        ("high", high),
        ("low", low),
        ("close", close),
        ("volume", volume),
    ])?;
    let mut out = vec![f64::NAN; high.len()];
    let mut core = Core::new(period);
    for i in start..high.len() {
        out[i] = core.push(high[i], low[i], close[i], volume[i]);
    }
    Ok(out)
}

/// Streaming VWAP: bit-for-bit [`vwap`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Vwap {
    core: Core,
    value: f64,
}

impl Vwap {
    /// `timeperiod >= 0` (0 = cumulative).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 0)?;
        Ok(Self {
            core: Core::new(period),
            value: f64::NAN,
        })
    }

    /// Push one bar; the VWAP (NaN during the lookback or with zero volume).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> CoreResult<f64> {
        let inputs = [
            ("high", high),
            ("low", low),
            ("close", close),
            ("volume", volume),
        ];
        if !gate_bar(&inputs, self.core.count > 0, self.core.count)? {
            return Ok(f64::NAN);
        }
        self.value = self.core.push(high, low, close, volume);
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.core.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.core.count >= self.core.period.max(1)
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.core = Core::new(self.core.period);
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_and_rolling() {
        let h = [3.0, 6.0, 9.0, 3.0];
        let l = [3.0, 6.0, 9.0, 3.0];
        let c = [3.0, 6.0, 9.0, 3.0];
        let v = [1.0, 1.0, 2.0, 0.0];
        let cum = vwap(&h, &l, &c, &v, 0).unwrap();
        assert_eq!(cum[0], 3.0);
        assert_eq!(cum[1], 4.5);
        assert_eq!(cum[2], (3.0 + 6.0 + 18.0) / 4.0);
        let roll = vwap(&h, &l, &c, &v, 2).unwrap();
        assert!(roll[0].is_nan());
        assert_eq!(roll[2], (6.0 + 18.0) / 3.0);
        assert_eq!(roll[3], 9.0);
        let z = vwap(&h, &l, &c, &[0.0; 4], 0).unwrap();
        assert!(z.iter().all(|x| x.is_nan()));
        let mut s = Vwap::new(2).unwrap();
        for i in 0..4 {
            assert_eq!(
                s.update(h[i], l[i], c[i], v[i]).unwrap().to_bits(),
                roll[i].to_bits()
            );
        }
    }
}
