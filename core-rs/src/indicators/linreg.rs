//! Linear regression over a rolling window (TA-Lib `LINEARREG`, `LINEARREG_SLOPE`,
//! `LINEARREG_INTERCEPT`, `LINEARREG_ANGLE`, `TSF`).
//!
//! Least-squares line over the last `p` values, with `x` counted back from the newest value
//! (`i = p-1 .. 0`): `m = (p·SumXY - SumX·SumY) / (SumX² - p·SumXSqr)`, `b = (SumY - m·SumX) / p`;
//! `LINEARREG = b + m·(p-1)`, `SLOPE = m`, `INTERCEPT = b`, `ANGLE = atan(m)·180/π`,
//! `TSF = b + m·p`.
//!
//! NB: TA-Lib 0.8.1 (the 0.8.2 wheel, read with `objdump -d`) no longer refits every window as
//! `ta_LINEARREG.c` does: it keeps running `SumY`, `SumXY` and `Σ|y|` (`SumXY += SumY - p·y_old`,
//! `SumY += y_new - y_old`) and refits the window from scratch every `32·p` outputs and whenever
//! `|p·y_old| > 100·Σ|y|` (cancellation ahead). `LINEARREG` and `TSF` fuse the last step
//! (`fma(m, p-1, b)`, `fma(m, p, b)`). [`Sums`] is exactly that, in the same order: all five
//! are bit-identical. Amortised O(1) a value (a refit costs O(p)).

use super::ma::Hist;
use crate::error::{CoreResult, check_period};

/// Which output of the regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LinRegKind {
    /// TA-Lib `LINEARREG`: the fitted value at the newest point.
    Value,
    /// TA-Lib `LINEARREG_SLOPE`
    Slope,
    /// TA-Lib `LINEARREG_INTERCEPT`
    Intercept,
    /// TA-Lib `LINEARREG_ANGLE`: the slope's angle in degrees.
    Angle,
    /// TA-Lib `TSF`: the fit extended one step ahead.
    Tsf,
}

/// The window-independent constants of a period.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Consts {
    p: usize,
    sum_x: f64,
    divisor: f64,
}

impl Consts {
    fn new(p: usize) -> Self {
        // TA-Lib 0.8.1's order, in doubles.
        let pf = p as f64;
        let pp = (p - 1) as f64 * pf;
        let sum_x = 0.5 * pp;
        let p_sum_x_sqr = ((2 * p - 1) as f64 * pp) / 6.0 * pf;
        Self {
            p,
            sum_x,
            divisor: sum_x * sum_x - p_sum_x_sqr,
        }
    }
}

/// TA-Lib 0.8.1's running sums of the current window.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Sums {
    y: f64,
    xy: f64,
    abs: f64,
    counter: usize,
}

impl Sums {
    /// Before the first full window (replaced by a refit there).
    const EMPTY: Self = Self {
        y: 0.0,
        xy: 0.0,
        abs: 0.0,
        counter: 0,
    };

    /// Fit the window from scratch: `window(k)` is its `k`-th value, oldest first.
    #[inline(never)]
    fn refit(p: usize, window: impl Fn(usize) -> f64) -> Self {
        let (mut y, mut xy, mut abs) = (0.0, 0.0, 0.0);
        let mut i = (p - 1) as f64;
        for k in 0..p {
            let v = window(k);
            let t = v * i;
            y += v;
            abs += v.abs();
            i -= 1.0;
            xy += t;
        }
        Self {
            y,
            xy,
            abs,
            counter: 32 * p,
        }
    }

    /// Take a refit's sums field by field.
    ///
    /// NB: `*self = Self::refit(..)` made `self` the call's return slot, which kept the sums in
    /// memory across the whole batch loop (a counter decremented in memory every value).
    #[inline(always)]
    fn set(&mut self, r: Self) {
        self.y = r.y;
        self.xy = r.xy;
        self.abs = r.abs;
        self.counter = r.counter;
    }

    /// Slide the window by one: `old` leaves, `new` enters; `window` as in [`Sums::refit`]
    /// (the new window), read only on a refit.
    #[inline(always)]
    fn slide(&mut self, p: usize, old: f64, new: f64, window: impl Fn(usize) -> f64) {
        self.counter -= 1;
        if self.counter == 0 {
            self.set(Self::refit(p, window));
            return;
        }
        self.abs -= old.abs();
        self.abs += new.abs();
        let p_old = p as f64 * old;
        if p_old.abs() > self.abs * 100.0 {
            self.set(Self::refit(p, window));
            return;
        }
        self.xy += self.y;
        let y = self.y - old;
        self.xy -= p_old;
        self.y = y + new;
    }

    /// The requested output of the current window.
    #[inline(always)]
    fn output(&self, c: Consts, kind: LinRegKind) -> f64 {
        let p = c.p as f64;
        let m = (p * self.xy - c.sum_x * self.y) / c.divisor;
        let b = (self.y - c.sum_x * m) / p;
        match kind {
            LinRegKind::Value => m.mul_add(p - 1.0, b),
            LinRegKind::Slope => m,
            LinRegKind::Intercept => b,
            LinRegKind::Angle => m.atan() * (180.0 / std::f64::consts::PI),
            LinRegKind::Tsf => m.mul_add(p, b),
        }
    }
}

/// TA-Lib's linear-regression output `kind` on a NaN-free slice (NaN for the lookback
/// `period - 1`). `period >= 2`.
pub fn linreg_kernel(x: &[f64], period: usize, kind: LinRegKind, out: &mut [f64]) {
    linreg_checked(x, period, kind, out);
}

fma_kernel!(
    /// [`linreg_kernel`], returning whether `x` held a NaN.
    fn linreg_checked(x: &[f64], period: usize, kind: LinRegKind, out: &mut [f64]) -> bool = linreg_body;
);

/// [`linreg_loop`] with the kind a constant, so each loop computes only its output.
/// NB: with the kind a runtime value, SLOPE paid the intercept's division too (a second
/// `divsd` per value: 2x TA-Lib's time).
#[inline(always)]
fn linreg_body(x: &[f64], period: usize, kind: LinRegKind, out: &mut [f64]) -> bool {
    match kind {
        LinRegKind::Value => linreg_loop::<0>(x, period, out),
        LinRegKind::Slope => linreg_loop::<1>(x, period, out),
        LinRegKind::Intercept => linreg_loop::<2>(x, period, out),
        LinRegKind::Angle => linreg_loop::<3>(x, period, out),
        LinRegKind::Tsf => linreg_loop::<4>(x, period, out),
    }
}

/// The kind numbered `k` by [`linreg_body`].
#[inline(always)]
const fn kind_of(k: u8) -> LinRegKind {
    match k {
        0 => LinRegKind::Value,
        1 => LinRegKind::Slope,
        2 => LinRegKind::Intercept,
        3 => LinRegKind::Angle,
        _ => LinRegKind::Tsf,
    }
}

#[inline(always)]
fn linreg_loop<const K: u8>(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    let kind = kind_of(K);
    assert_eq!(x.len(), out.len());
    let c = Consts::new(period);
    out[..(period - 1).min(x.len())].fill(f64::NAN);
    if x.len() < period {
        return true;
    }
    let mut nan = x[..period].iter().any(|v| v.is_nan());
    let mut s = Sums::refit(period, |k| x[k]);
    out[period - 1] = s.output(c, kind);
    for t in period..x.len() {
        let w = &x[t + 1 - period..=t];
        let v = x[t];
        nan |= v.is_nan();
        s.slide(period, x[t - period], v, |k| w[k]);
        out[t] = s.output(c, kind);
    }
    nan
}

/// Batch linear-regression output `kind` (TA-Lib `LINEARREG*`/`TSF(real, timeperiod=14)`,
/// `timeperiod >= 2`).
pub fn linreg(x: &[f64], period: i64, kind: LinRegKind) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    linreg_into(x, period, kind, &mut out)?;
    Ok(out)
}

/// [`linreg`] into `out` (same length as `x`, every element written).
pub fn linreg_into(x: &[f64], period: i64, kind: LinRegKind, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    super::apply_into_propagating("real", x, out, |x, out| {
        linreg_checked(x, period, kind, out)
    })
}

/// Streaming linear regression: bit-for-bit [`linreg`]. Amortised O(1), the window allocated
/// once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LinReg {
    c: Consts,
    kind: LinRegKind,
    sums: Sums,
    hist: Hist,
    count: usize,
    value: f64,
}

impl LinReg {
    /// `timeperiod >= 2`.
    pub fn new(period: i64, kind: LinRegKind) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        Ok(Self {
            c: Consts::new(period),
            kind,
            sums: Sums::EMPTY,
            hist: Hist::new(period + 1),
            count: 0,
            value: f64::NAN,
        })
    }
    /// Push one value; the output (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.hist.push(x);
        let p = self.c.p;
        if self.count >= p {
            // `back(p - k)` is the window's `k`-th value, oldest first; `back(p + 1)` just left.
            let h = &self.hist;
            if self.count == p {
                self.sums = Sums::refit(p, |k| h.back(p - k));
            } else {
                self.sums.slide(p, h.back(p + 1), x, |k| h.back(p - k));
            }
            self.value = self.sums.output(self.c, self.kind);
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
        self.count >= self.c.p
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.hist.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_on_a_line_and_streaming() {
        // y = 3 + 2·t: slope 2, the fit passes through every point, TSF one step ahead.
        let x: Vec<f64> = (0..50).map(|t| 3.0 + 2.0 * t as f64).collect();
        let v = linreg(&x, 5, LinRegKind::Value).unwrap();
        let s = linreg(&x, 5, LinRegKind::Slope).unwrap();
        let f = linreg(&x, 5, LinRegKind::Tsf).unwrap();
        assert!(v[3].is_nan());
        for t in 4..50 {
            assert!((v[t] - x[t]).abs() < 1e-9);
            assert!((s[t] - 2.0).abs() < 1e-12);
            assert!((f[t] - (x[t] + 2.0)).abs() < 1e-9);
        }
        let a = linreg(&x, 5, LinRegKind::Angle).unwrap();
        assert!((a[10] - 2f64.atan().to_degrees()).abs() < 1e-9);
        let w: Vec<f64> = (0..200).map(|t| ((t * 31 % 17) as f64).sqrt()).collect();
        for kind in [LinRegKind::Value, LinRegKind::Intercept, LinRegKind::Angle] {
            let b = linreg(&w, 9, kind).unwrap();
            let mut st = LinReg::new(9, kind).unwrap();
            for t in 0..w.len() {
                assert_eq!(st.update(w[t]).unwrap().to_bits(), b[t].to_bits());
            }
        }
        assert!(LinReg::new(1, LinRegKind::Slope).is_err());
    }
}
