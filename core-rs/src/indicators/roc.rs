//! Momentum and rates of change (TA-Lib `MOM`, `ROC`, `ROCP`, `ROCR`, `ROCR100`), bit-identical
//! to TA-Lib 0.8.1.
//!
//! With `prev = real[i - timeperiod]`: `MOM = real - prev`; `ROC = (real / prev - 1) * 100`;
//! `ROCP = (real - prev) / prev`; `ROCR = real / prev`; `ROCR100 = real / prev * 100`. The ratios
//! are 0 where `prev == 0` (TA-Lib's test, read with `objdump -d`). Lookback `timeperiod`.

use super::ring::Window;
use crate::error::{CoreResult, check_period};

/// The member of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RocKind {
    /// `MOM`.
    Mom,
    /// `ROC`.
    Roc,
    /// `ROCP`.
    Rocp,
    /// `ROCR`.
    Rocr,
    /// `ROCR100`.
    Rocr100,
}

impl RocKind {
    /// TA-Lib's value of `x` against `prev`, the value `timeperiod` bars before.
    #[inline(always)]
    pub fn value(self, x: f64, prev: f64) -> f64 {
        if self == Self::Mom {
            return x - prev;
        }
        if prev == 0.0 {
            return 0.0;
        }
        match self {
            Self::Mom => x - prev,
            Self::Roc => (x / prev - 1.0) * 100.0,
            Self::Rocp => (x - prev) / prev,
            Self::Rocr => x / prev,
            Self::Rocr100 => x / prev * 100.0,
        }
    }

    /// TA-Lib's default period (10 for every member).
    pub const DEFAULT_PERIOD: i64 = 10;
}

/// TA-Lib 0.8.1's `kind` on a NaN-free slice with a checked `period >= 1`: NaN for the first
/// `period` outputs, bit-identical.
pub fn roc_kernel(kind: RocKind, x: &[f64], period: usize, out: &mut [f64]) {
    roc_kernel_nan(kind, x, period, out);
}

/// [`roc_kernel`], returning whether `x` holds a NaN (checked in the same pass).
fn roc_kernel_nan(kind: RocKind, x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    // One loop per member, with the kind a constant (the per-value `match` folds away and the
    // loop vectorises).
    match kind {
        RocKind::Mom => roc_loop(RocKind::Mom, x, period, out),
        RocKind::Roc => roc_loop(RocKind::Roc, x, period, out),
        RocKind::Rocp => roc_loop(RocKind::Rocp, x, period, out),
        RocKind::Rocr => roc_loop(RocKind::Rocr, x, period, out),
        RocKind::Rocr100 => roc_loop(RocKind::Rocr100, x, period, out),
    }
}

#[inline(always)]
fn roc_loop(kind: RocKind, x: &[f64], period: usize, out: &mut [f64]) -> bool {
    let n = x.len();
    let lb = period.min(n);
    out[..lb].fill(f64::NAN);
    let mut nan = super::has_nan(&x[..lb]);
    for ((o, &v), &prev) in out[lb..].iter_mut().zip(&x[lb..]).zip(x) {
        *o = kind.value(v, prev);
        nan |= v.is_nan();
    }
    nan
}

/// Batch `kind` of `real` (TA-Lib `MOM(real, timeperiod=10)` etc.) into `out` (every element
/// written), with the shared NaN policy.
pub fn roc_into(kind: RocKind, x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    // The NaN check rides along in the kernel's pass (see `apply_into_propagating`).
    crate::error::check_len("out", x.len(), out.len())?;
    let start = super::leading_nans(x);
    out[..start].fill(f64::NAN);
    if roc_kernel_nan(kind, &x[start..], period, &mut out[start..]) {
        super::nan_error("real", x, start)?;
    }
    Ok(())
}

/// Batch `kind` as a new vector (see [`roc_into`]).
pub fn roc(kind: RocKind, x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    roc_into(kind, x, period, &mut out)?;
    Ok(out)
}

/// Streaming `kind`: bit-for-bit [`roc`]. O(1), the window of `timeperiod` values allocated
/// once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RocStream {
    kind: RocKind,
    period: usize,
    window: Window,
    count: usize,
    value: f64,
}

impl RocStream {
    /// `kind` with `timeperiod >= 1`.
    pub fn new(kind: RocKind, period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            kind,
            period,
            window: Window::new(period),
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value; the output (NaN for the first `timeperiod` values).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        if self.window.len() == self.period {
            self.value = self.kind.value(x, self.window.oldest());
        }
        self.window.push(x);
        Ok(self.value)
    }

    /// The last output (NaN during the lookback).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Values pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count > self.period
    }
    /// Back to the state right after construction (storage kept).
    pub fn reset(&mut self) {
        self.window.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_streaming() {
        let x = [2.0, 4.0, 0.0, 5.0, 3.0];
        let k = |kind| roc(kind, &x, 2).unwrap();
        assert!(k(RocKind::Mom)[1].is_nan());
        assert_eq!(&k(RocKind::Mom)[2..], &[-2.0, 1.0, 3.0]);
        assert_eq!(&k(RocKind::Roc)[2..], &[-100.0, 25.0, 0.0]); // prev 0 -> 0
        assert_eq!(&k(RocKind::Rocp)[2..], &[-1.0, 0.25, 0.0]);
        assert_eq!(&k(RocKind::Rocr)[2..], &[0.0, 1.25, 0.0]);
        assert_eq!(&k(RocKind::Rocr100)[2..], &[0.0, 125.0, 0.0]);
        let y: Vec<f64> = (0..200)
            .map(|i| 50.0 + ((i * 7 % 13) as f64).sin())
            .collect();
        for kind in [
            RocKind::Mom,
            RocKind::Roc,
            RocKind::Rocp,
            RocKind::Rocr,
            RocKind::Rocr100,
        ] {
            for p in [1, 2, 10, 30] {
                let b = roc(kind, &y, p).unwrap();
                let mut s = RocStream::new(kind, p).unwrap();
                for (i, &v) in y.iter().enumerate() {
                    assert_eq!(
                        s.update(v).unwrap().to_bits(),
                        b[i].to_bits(),
                        "{kind:?} p={p} i={i}"
                    );
                }
            }
        }
        assert!(RocStream::new(RocKind::Roc, 0).is_err());
    }
}
