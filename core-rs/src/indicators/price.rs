//! Price transforms (TA-Lib `MEDPRICE`, `TYPPRICE`, `WCLPRICE`, `AVGPRICE`): one bar in, one
//! value out, no lookback. TA-Lib's expressions and order — `(h + l) / 2`, `(h + l + c) / 3`,
//! `(h + l + c·2) / 4`, `(h + l + c + o) / 4` — so bit-identical.
//!
//! The batch loops detect a NaN input from the output alone: sums of the inputs and
//! divisions by a constant are NaN whenever an input is (a NaN output from `inf - inf` with no
//! NaN input sends the check to the inputs, which then find none).

use super::atr::gate_bar;
use super::volatility::apply_multi_checked;
use crate::error::CoreResult;

#[inline(always)]
fn med(h: f64, l: f64) -> f64 {
    (h + l) / 2.0
}
#[inline(always)]
fn typ(h: f64, l: f64, c: f64) -> f64 {
    (h + l + c) / 3.0
}
#[inline(always)]
fn wcl(h: f64, l: f64, c: f64) -> f64 {
    (h + l + c * 2.0) / 4.0
}
#[inline(always)]
fn avg(o: f64, h: f64, l: f64, c: f64) -> f64 {
    (h + l + c + o) / 4.0
}

/// Batch MEDPRICE (TA-Lib `MEDPRICE(high, low)`).
pub fn medprice(high: &[f64], low: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    medprice_into(high, low, &mut out)?;
    Ok(out)
}

/// [`medprice`] into `out` (as long as the inputs, every element written).
pub fn medprice_into(high: &[f64], low: &[f64], out: &mut [f64]) -> CoreResult<()> {
    apply_multi_checked([("high", high), ("low", low)], out, |[h, l], o| {
        let mut nan = false;
        for ((o, &h), &l) in o.iter_mut().zip(h).zip(l) {
            *o = med(h, l);
            nan |= o.is_nan();
        }
        nan
    })
}

/// Batch TYPPRICE (TA-Lib `TYPPRICE(high, low, close)`).
pub fn typprice(high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    typprice_into(high, low, close, &mut out)?;
    Ok(out)
}

/// [`typprice`] into `out` (as long as the inputs, every element written).
pub fn typprice_into(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) -> CoreResult<()> {
    apply_multi_checked(
        [("high", high), ("low", low), ("close", close)],
        out,
        |[h, l, c], o| {
            let mut nan = false;
            for (((o, &h), &l), &c) in o.iter_mut().zip(h).zip(l).zip(c) {
                *o = typ(h, l, c);
                nan |= o.is_nan();
            }
            nan
        },
    )
}

/// Batch WCLPRICE (TA-Lib `WCLPRICE(high, low, close)`).
pub fn wclprice(high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    wclprice_into(high, low, close, &mut out)?;
    Ok(out)
}

/// [`wclprice`] into `out` (as long as the inputs, every element written).
pub fn wclprice_into(high: &[f64], low: &[f64], close: &[f64], out: &mut [f64]) -> CoreResult<()> {
    apply_multi_checked(
        [("high", high), ("low", low), ("close", close)],
        out,
        |[h, l, c], o| {
            let mut nan = false;
            for (((o, &h), &l), &c) in o.iter_mut().zip(h).zip(l).zip(c) {
                *o = wcl(h, l, c);
                nan |= o.is_nan();
            }
            nan
        },
    )
}

/// Batch AVGPRICE (TA-Lib `AVGPRICE(open, high, low, close)`).
pub fn avgprice(open: &[f64], high: &[f64], low: &[f64], close: &[f64]) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    avgprice_into(open, high, low, close, &mut out)?;
    Ok(out)
}

/// [`avgprice`] into `out` (as long as the inputs, every element written).
pub fn avgprice_into(
    open: &[f64],
    high: &[f64],
    low: &[f64],
    close: &[f64],
    out: &mut [f64],
) -> CoreResult<()> {
    apply_multi_checked(
        [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ],
        out,
        |[op, h, l, c], o| {
            let mut nan = false;
            for ((((o, &op), &h), &l), &c) in o.iter_mut().zip(op).zip(h).zip(l).zip(c) {
                *o = avg(op, h, l, c);
                nan |= o.is_nan();
            }
            nan
        },
    )
}

/// Which transform a [`PriceTransform`] computes, and from which inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PriceKind {
    /// `(high + low) / 2`
    Med,
    /// `(high + low + close) / 3`
    Typ,
    /// `(high + low + close·2) / 4`
    Wcl,
    /// `(open + high + low + close) / 4`
    Avg,
}

/// Streaming price transform: bit-for-bit the batch function. O(1).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PriceTransform {
    kind: PriceKind,
    count: usize,
    value: f64,
}

impl PriceTransform {
    /// A transform of the given kind.
    pub fn new(kind: PriceKind) -> Self {
        Self {
            kind,
            count: 0,
            value: f64::NAN,
        }
    }
    /// Push one bar given as `(name, value)` pairs in the batch function's argument order.
    pub fn update(&mut self, bar: &[(&'static str, f64)]) -> CoreResult<f64> {
        if !gate_bar(bar, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        let v = |i: usize| bar[i].1;
        self.value = match self.kind {
            PriceKind::Med => med(v(0), v(1)),
            PriceKind::Typ => typ(v(0), v(1), v(2)),
            PriceKind::Wcl => wcl(v(0), v(1), v(2)),
            PriceKind::Avg => avg(v(0), v(1), v(2), v(3)),
        };
        self.count += 1;
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
    /// Whether a bar has been pushed (no lookback).
    pub fn initialized(&self) -> bool {
        self.count > 0
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_nan_policy() {
        let h = [f64::NAN, 4.0, 6.0];
        let l = [1.0, 2.0, 2.0];
        let c = [1.0, 3.0, 5.0];
        assert!(medprice(&h, &l).unwrap()[0].is_nan());
        assert_eq!(medprice(&h, &l).unwrap()[1], 3.0);
        assert_eq!(typprice(&h, &l, &c).unwrap()[2], 13.0 / 3.0);
        assert_eq!(wclprice(&h, &l, &c).unwrap()[2], 18.0 / 4.0);
        assert_eq!(avgprice(&c, &h, &l, &c).unwrap()[2], 18.0 / 4.0);
        let mut s = PriceTransform::new(PriceKind::Wcl);
        assert!(
            s.update(&[("high", f64::NAN), ("low", 1.0), ("close", 1.0)])
                .unwrap()
                .is_nan()
        );
        assert_eq!(
            s.update(&[("high", 6.0), ("low", 2.0), ("close", 5.0)])
                .unwrap(),
            4.5
        );
        assert!(
            s.update(&[("high", 6.0), ("low", f64::NAN), ("close", 5.0)])
                .is_err()
        );
    }
}
