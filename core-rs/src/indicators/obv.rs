//! On-balance volume (TA-Lib `OBV(real, volume)`): seeded with the first volume, then the
//! volume is added on an up close, subtracted on a down close, ignored on an unchanged one.
//! Lookback 0.

use super::atr::gate_bar;
use crate::error::CoreResult;

#[inline(always)]
fn step(obv: f64, x: f64, prev: f64, v: f64) -> f64 {
    if x > prev {
        obv + v
    } else if x < prev {
        obv - v
    } else {
        obv
    }
}

/// TA-Lib's OBV on NaN-free, equal-length slices.
pub fn obv_kernel(x: &[f64], volume: &[f64], out: &mut [f64]) {
    assert!(x.len() == volume.len() && x.len() == out.len());
    let Some((&x0, _)) = x.split_first() else {
        return;
    };
    let mut obv = volume[0];
    let mut prev = x0;
    out[0] = obv;
    for i in 1..x.len() {
        obv = step(obv, x[i], prev, volume[i]);
        prev = x[i];
        out[i] = obv;
    }
}

/// Batch OBV (TA-Lib `OBV(real, volume)`).
pub fn obv(x: &[f64], volume: &[f64]) -> CoreResult<Vec<f64>> {
    let start = super::first_valid_all(&[("real", x), ("volume", volume)])?;
    let mut out = super::output(x.len(), start);
    obv_kernel(&x[start..], &volume[start..], &mut out[start..]);
    Ok(out)
}

/// Streaming OBV: bit-for-bit [`obv`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Obv {
    obv: f64,
    prev: f64,
    count: usize,
}

impl Obv {
    /// A new OBV.
    pub fn new() -> Self {
        Self {
            obv: f64::NAN,
            prev: f64::NAN,
            count: 0,
        }
    }

    /// Push one bar (`close`, `volume`); the OBV.
    #[inline]
    pub fn update(&mut self, x: f64, volume: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[("real", x), ("volume", volume)],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.obv = if self.count == 0 {
            volume
        } else {
            step(self.obv, x, self.prev, volume)
        };
        self.prev = x;
        self.count += 1;
        Ok(self.obv)
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        self.obv
    }
    /// Bars pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether a value exists.
    pub fn initialized(&self) -> bool {
        self.count > 0
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_streaming() {
        let x = [1.0, 2.0, 2.0, 1.0, 3.0];
        let v = [10.0, 5.0, 7.0, 2.0, 1.0];
        let o = obv(&x, &v).unwrap();
        assert_eq!(o, vec![10.0, 15.0, 15.0, 13.0, 14.0]);
        let mut s = Obv::new();
        assert!(s.update(f64::NAN, 1.0).unwrap().is_nan());
        for i in 0..5 {
            assert_eq!(s.update(x[i], v[i]).unwrap(), o[i]);
        }
        assert!(s.update(1.0, f64::NAN).is_err());
    }
}
