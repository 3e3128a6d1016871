//! Bollinger bands (TA-Lib `BBANDS`, moving average type 0 = SMA only).
//!
//! Middle: TA-Lib's SMA (running total, bit-identical). Deviation: the shifted-sum variance of
//! [`super::stddev::VarCore`], `std = 0` when the variance is 0, else `sqrt(var)` (TA-Lib 0.8.1's
//! inline SMA path). Bands, as TA-Lib 0.8.1 computes them: with `nbdevup == nbdevdn`,
//! `t = std * nbdev`, `upper = middle + t`, `lower = middle - t`; otherwise
//! `upper = fma(nbdevup, std, middle)` (fused on every CPU) and `lower = middle - std * nbdevdn`.

use super::ring::Window;
use super::stddev::{VarCore, check_finite};
use crate::error::{CoreError, CoreResult, check_period};

/// Validated BBANDS parameters.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct BbandsParams {
    pub period: usize,
    pub up: f64,
    pub dn: f64,
}

impl BbandsParams {
    /// `timeperiod >= 2`, finite deviations, `matype == 0` (SMA; other TA-Lib types refused).
    pub fn new(period: i64, up: f64, dn: f64, matype: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        let up = check_finite("nbdevup", up)?;
        let dn = check_finite("nbdevdn", dn)?;
        if matype != 0 {
            return Err(CoreError::InvalidArgument {
                name: "matype",
                reason: format!("only 0 (SMA) is supported, got {matype}"),
            });
        }
        Ok(Self { period, up, dn })
    }
}

#[inline(always)]
fn bands(mid: f64, var: f64, up: f64, dn: f64) -> (f64, f64, f64) {
    let std = if var == 0.0 { 0.0 } else { var.sqrt() };
    if up == dn {
        let t = std * up;
        (mid + t, mid, mid - t)
    } else {
        (up.mul_add(std, mid), mid, mid - std * dn)
    }
}

/// TA-Lib 0.8.1's BBANDS (SMA) on a NaN-free slice into three outputs (NaN for the lookback).
pub fn bbands_kernel(
    x: &[f64],
    p: BbandsParams,
    upper: &mut [f64],
    middle: &mut [f64],
    lower: &mut [f64],
) {
    let n = x.len();
    let lb = p.period - 1;
    for o in [&mut *upper, &mut *middle, &mut *lower] {
        o[..lb.min(n)].fill(f64::NAN);
    }
    if n < p.period {
        return;
    }
    let per = p.period as f64;
    let mut core = VarCore::new(p.period);
    let mut total = 0.0;
    for (j, &v) in x[..lb].iter().enumerate() {
        total += v;
        core.warm(v, j == 0);
    }
    for i in lb..n {
        let v = x[i];
        total += v;
        let w = &x[i - lb..=i];
        let var = core.step(v, w[0], || (w, &[]));
        let mid = total / per;
        total -= w[0];
        (upper[i], middle[i], lower[i]) = bands(mid, var, p.up, p.dn);
    }
}

/// Batch BBANDS (TA-Lib 0.8 `BBANDS(real, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)`):
/// `(upper, middle, lower)`.
pub fn bbands(
    x: &[f64],
    period: i64,
    up: f64,
    dn: f64,
    matype: i64,
) -> CoreResult<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let n = x.len();
    let (mut u, mut m, mut l) = (
        super::output(n, 0),
        super::output(n, 0),
        super::output(n, 0),
    );
    bbands_into(x, period, up, dn, matype, [&mut u, &mut m, &mut l])?;
    Ok((u, m, l))
}

/// [`bbands`] into `(upper, middle, lower)` buffers (each as long as `x`, every element written).
pub fn bbands_into(
    x: &[f64],
    period: i64,
    up: f64,
    dn: f64,
    matype: i64,
    out: [&mut [f64]; 3],
) -> CoreResult<()> {
    let p = BbandsParams::new(period, up, dn, matype)?;
    let [u, m, l] = out;
    for (name, o) in [("upperband", &*u), ("middleband", &*m), ("lowerband", &*l)] {
        crate::error::check_len(name, x.len(), o.len())?;
    }
    let start = super::first_valid("real", x)?;
    for o in [&mut *u, &mut *m, &mut *l] {
        o[..start].fill(f64::NAN);
    }
    bbands_kernel(
        &x[start..],
        p,
        &mut u[start..],
        &mut m[start..],
        &mut l[start..],
    );
    Ok(())
}

/// Streaming BBANDS: bit-for-bit [`bbands`]. Amortised O(1); the window allocated once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bbands {
    p: BbandsParams,
    core: VarCore,
    window: Window,
    total: f64,
    count: usize,
    value: (f64, f64, f64),
}

impl Bbands {
    /// Same arguments and rules as [`bbands`].
    pub fn new(period: i64, up: f64, dn: f64, matype: i64) -> CoreResult<Self> {
        let p = BbandsParams::new(period, up, dn, matype)?;
        Ok(Self {
            p,
            core: VarCore::new(p.period),
            window: Window::new(p.period),
            total: 0.0,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }

    /// Push one value; `(upper, middle, lower)`, NaNs during the lookback.
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<(f64, f64, f64)> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok((f64::NAN, f64::NAN, f64::NAN));
        }
        self.count += 1;
        self.total += x;
        self.window.push(x);
        if self.count < self.p.period {
            self.core.warm(x, self.count == 1);
            return Ok(self.value);
        }
        let old = self.window.oldest();
        let w = &self.window;
        let var = self.core.step(x, old, || w.as_slices());
        let mid = self.total / self.p.period as f64;
        self.total -= old;
        self.value = bands(mid, var, self.p.up, self.p.dn);
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> (f64, f64, f64) {
        self.value
    }
    /// Valid values pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count >= self.p.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.core.reset();
        self.window.clear();
        self.total = 0.0;
        self.count = 0;
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_is_sma_and_streaming_matches() {
        let x: Vec<f64> = (0..300)
            .map(|i| 20.0 + ((i as f64) * 0.2).sin() * 2.0)
            .collect();
        for (p, up, dn) in [(5, 2.0, 2.0), (2, 1.0, 3.0), (20, 1.5, 1.5)] {
            let (u, m, l) = bbands(&x, p, up, dn, 0).unwrap();
            let sm = super::super::sma::sma(&x, p).unwrap();
            assert!(sm.iter().zip(&m).all(|(a, b)| a.to_bits() == b.to_bits()));
            let mut s = Bbands::new(p, up, dn, 0).unwrap();
            for i in 0..x.len() {
                let (a, b, c) = s.update(x[i]).unwrap();
                assert_eq!(
                    (a.to_bits(), b.to_bits(), c.to_bits()),
                    (u[i].to_bits(), m[i].to_bits(), l[i].to_bits())
                );
                if !a.is_nan() {
                    assert!(a >= b && b >= c);
                }
            }
        }
        assert!(bbands(&x, 5, 2.0, 2.0, 1).is_err());
        assert!(bbands(&x, 1, 2.0, 2.0, 0).is_err());
    }
}
