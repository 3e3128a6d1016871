//! Parabolic SAR (TA-Lib `SAR`, Wilder), with TA-Lib's start rules.
//!
//! TA-Lib's start (`ta_SAR.c`): the direction comes from the `-DM` of the first two bars (short
//! when `low[0] - low[1] > 0` and exceeds `high[1] - high[0]`, long otherwise); a long start
//! takes `sar = low[0]`, `ep = high[1]`, a short one `sar = high[0]`, `ep = low[1]`. The first
//! output (index 1, the lookback) is then computed with bar 1 as both "yesterday" and "today".
//! Each step outputs the SAR computed at the previous step (or, on a reversal, the old extreme
//! point clamped to the last two bars' range), then moves it: `sar + af * (ep - sar)`, clamped
//! so it never enters yesterday's or today's range. `acceleration` above `maximum` is lowered to
//! `maximum` (as TA-Lib does). TA-Lib 0.8.1's build fuses the move into
//! `fma(af, ep - sar, sar)` (found by comparing bits with `talib`); so do we: bit-identical.

use crate::error::{CoreError, CoreResult};

/// The SAR state between two bars.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct State {
    is_long: bool,
    af: f64,
    ep: f64,
    sar: f64,
    new_high: f64,
    new_low: f64,
}

/// Validated acceleration parameters (TA-Lib's clamp applied).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Params {
    accel: f64,
    max: f64,
}

fn params(acceleration: f64, maximum: f64) -> CoreResult<Params> {
    for (name, v) in [("acceleration", acceleration), ("maximum", maximum)] {
        if !v.is_finite() || v < 0.0 {
            return Err(CoreError::InvalidArgument {
                name,
                reason: format!("must be a finite number >= 0, got {v}"),
            });
        }
    }
    Ok(Params {
        accel: acceleration.min(maximum),
        max: maximum,
    })
}

/// TA-Lib's start from bars 0 and 1.
#[inline]
fn start(p: Params, h0: f64, l0: f64, h1: f64, l1: f64) -> State {
    // MINUS_DM(period 1) of bar 1.
    let diff_p = h1 - h0;
    let diff_m = l0 - l1;
    let minus_dm = if diff_m > 0.0 && diff_p < diff_m {
        diff_m
    } else {
        0.0
    };
    let is_long = minus_dm <= 0.0; // never NaN: the inputs are NaN-free
    let (ep, sar) = if is_long { (h1, l0) } else { (l1, h0) };
    State {
        is_long,
        af: p.accel,
        ep,
        sar,
        new_high: h1,
        new_low: l1,
    }
}

/// One bar: returns the SAR output for it (TA-Lib's loop body, same order).
#[inline(always)]
fn step(s: &mut State, p: Params, high: f64, low: f64) -> f64 {
    let prev_low = s.new_low;
    let prev_high = s.new_high;
    s.new_low = low;
    s.new_high = high;
    let out;
    if s.is_long {
        if s.new_low <= s.sar {
            s.is_long = false;
            s.sar = s.ep.max_ta(prev_high).max_ta(s.new_high);
            out = s.sar;
            s.af = p.accel;
            s.ep = s.new_low;
            s.sar = s.af.mul_add(s.ep - s.sar, s.sar);
            s.sar = s.sar.max_ta(prev_high).max_ta(s.new_high);
        } else {
            out = s.sar;
            if s.new_high > s.ep {
                s.ep = s.new_high;
                s.af += p.accel;
                if s.af > p.max {
                    s.af = p.max;
                }
            }
            s.sar = s.af.mul_add(s.ep - s.sar, s.sar);
            s.sar = s.sar.min_ta(prev_low).min_ta(s.new_low);
        }
    } else if s.new_high >= s.sar {
        s.is_long = true;
        s.sar = s.ep.min_ta(prev_low).min_ta(s.new_low);
        out = s.sar;
        s.af = p.accel;
        s.ep = s.new_high;
        s.sar = s.af.mul_add(s.ep - s.sar, s.sar);
        s.sar = s.sar.min_ta(prev_low).min_ta(s.new_low);
    } else {
        out = s.sar;
        if s.new_low < s.ep {
            s.ep = s.new_low;
            s.af += p.accel;
            if s.af > p.max {
                s.af = p.max;
            }
        }
        s.sar = s.af.mul_add(s.ep - s.sar, s.sar);
        s.sar = s.sar.max_ta(prev_high).max_ta(s.new_high);
    }
    out
}

/// TA-Lib's clamps: `if (sar < bound) sar = bound` (a NaN-free comparison, no `f64::max`
/// subtleties).
trait Clamp {
    fn max_ta(self, bound: f64) -> f64;
    fn min_ta(self, bound: f64) -> f64;
}

impl Clamp for f64 {
    #[inline(always)]
    fn max_ta(self, bound: f64) -> f64 {
        if self < bound { bound } else { self }
    }
    #[inline(always)]
    fn min_ta(self, bound: f64) -> f64 {
        if self > bound { bound } else { self }
    }
}

/// TA-Lib's SAR on NaN-free, equal-length slices (`out[0]` NaN: lookback 1). `acceleration`
/// and `maximum` must already be valid (finite, >= 0).
pub fn sar_kernel(high: &[f64], low: &[f64], acceleration: f64, maximum: f64, out: &mut [f64]) {
    sar_checked(high, low, acceleration, maximum, out);
}

fma_kernel!(
    /// [`sar_kernel`], returning whether an input held a NaN.
    fn sar_checked(
        high: &[f64],
        low: &[f64],
        acceleration: f64,
        maximum: f64,
        out: &mut [f64],
    ) -> bool = sar_body;
);

#[inline(always)]
fn sar_body(high: &[f64], low: &[f64], acceleration: f64, maximum: f64, out: &mut [f64]) -> bool {
    assert!(high.len() == low.len() && low.len() == out.len());
    let n = high.len();
    out[..n.min(1)].fill(f64::NAN);
    if n < 2 {
        return true;
    }
    let p = Params {
        accel: acceleration.min(maximum),
        max: maximum,
    };
    let mut s = start(p, high[0], low[0], high[1], low[1]);
    let mut nan = high[0].is_nan() | low[0].is_nan();
    for ((o, &h), &l) in out[1..].iter_mut().zip(&high[1..]).zip(&low[1..]) {
        nan |= h.is_nan() | l.is_nan();
        *o = step(&mut s, p, h, l);
    }
    nan
}

/// Batch SAR (TA-Lib `SAR(high, low, acceleration=0.02, maximum=0.2)`).
pub fn sar(high: &[f64], low: &[f64], acceleration: f64, maximum: f64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    sar_into(high, low, acceleration, maximum, &mut out)?;
    Ok(out)
}

/// [`sar`] into `out` (as long as the inputs, every element written).
pub fn sar_into(
    high: &[f64],
    low: &[f64],
    acceleration: f64,
    maximum: f64,
    out: &mut [f64],
) -> CoreResult<()> {
    params(acceleration, maximum)?;
    super::volatility::apply_multi_checked([("high", high), ("low", low)], out, |[h, l], o| {
        sar_checked(h, l, acceleration, maximum, o)
    })
}

/// Streaming SAR: bit-for-bit [`sar`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sar {
    p: Params,
    s: State,
    first: (f64, f64),
    count: usize,
    value: f64,
}

impl Sar {
    /// Finite `acceleration >= 0` and `maximum >= 0`.
    pub fn new(acceleration: f64, maximum: f64) -> CoreResult<Self> {
        let p = params(acceleration, maximum)?;
        Ok(Self {
            p,
            s: start(p, 0.0, 0.0, 0.0, 0.0),
            first: (f64::NAN, f64::NAN),
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one bar; the SAR (NaN for the first bar).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64) -> CoreResult<f64> {
        if !super::atr::gate_bar(&[("high", high), ("low", low)], self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        if self.count == 1 {
            self.first = (high, low);
            return Ok(f64::NAN);
        }
        if self.count == 2 {
            self.s = start(self.p, self.first.0, self.first.1, high, low);
        }
        self.value = step(&mut self.s, self.p, high, low);
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
        self.count > 1
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.first = (f64::NAN, f64::NAN);
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(n: usize) -> (Vec<f64>, Vec<f64>) {
        let c: Vec<f64> = (0..n)
            .map(|i| 100.0 + ((i as f64) * 0.21).sin() * 5.0 + (i as f64 * 0.05))
            .collect();
        let h = c
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.3 + (i % 3) as f64 * 0.1)
            .collect();
        let l = c
            .iter()
            .enumerate()
            .map(|(i, v)| v - 0.2 - (i % 5) as f64 * 0.1)
            .collect();
        (h, l)
    }

    #[test]
    fn start_rules_and_reversal() {
        // Bar 1 falls (-DM > +DM): short start, sar = high[0].
        let h = [10.0, 9.0, 8.5, 12.0];
        let l = [9.0, 8.0, 7.5, 11.0];
        let out = sar(&h, &l, 0.02, 0.2).unwrap();
        assert!(out[0].is_nan());
        assert_eq!(out[1], 10.0);
        // Bar 3's high crosses the SAR: reversal to long at the old extreme point (7.5),
        // clamped below the last two lows.
        assert_eq!(out[3], 7.5);
    }

    #[test]
    fn streaming_equals_batch_and_errors() {
        let (h, l) = bars(400);
        for (a, m) in [(0.02, 0.2), (0.05, 0.1), (0.3, 0.2)] {
            let b = sar(&h, &l, a, m).unwrap();
            let mut s = Sar::new(a, m).unwrap();
            for i in 0..h.len() {
                assert_eq!(
                    s.update(h[i], l[i]).unwrap().to_bits(),
                    b[i].to_bits(),
                    "i={i}"
                );
            }
        }
        assert!(Sar::new(-0.1, 0.2).is_err());
        assert!(Sar::new(0.02, f64::NAN).is_err());
        assert!(matches!(
            sar(&h, &l[1..], 0.02, 0.2),
            Err(CoreError::LengthMismatch { name: "low", .. })
        ));
    }
}
