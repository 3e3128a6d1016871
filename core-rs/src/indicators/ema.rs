//! Exponential moving average.

use crate::error::{CoreResult, check_period};

/// TA-Lib's smoothing factor `2 / (period + 1)`.
#[inline]
pub fn ema_k(period: usize) -> f64 {
    2.0 / ((period + 1) as f64)
}

/// One EMA step, `(x - prev) * k + prev`, fused (`FUSED = true`, TA-Lib 0.8's arithmetic on
/// every CPU, see [`super::fused`]) or with two roundings (older TA-Lib builds).
#[inline(always)]
pub fn ema_step<const FUSED: bool>(x: f64, prev: f64, k: f64) -> f64 {
    if FUSED {
        (x - prev).mul_add(k, prev)
    } else {
        (x - prev) * k + prev
    }
}

/// The fused step through the FMA instruction.
///
/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[inline]
unsafe fn ema_step_hw(x: f64, prev: f64, k: f64) -> f64 {
    ema_step::<true>(x, prev, k)
}

/// The fused step, through the FMA instruction when `hw` (the CPU has FMA, see
/// [`super::fused`]) and libm's exact `fma` otherwise: the same bits either way.
#[inline(always)]
pub fn ema_step_dispatch(x: f64, prev: f64, k: f64, hw: bool) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if hw {
        // SAFETY: `hw` is `fused()`, true only when the CPU reports FMA.
        return unsafe { ema_step_hw(x, prev, k) };
    }
    let _ = hw;
    ema_step::<true>(x, prev, k)
}

/// TA-Lib's seed: the sum of the first `period` values, accumulated from 0.0 in order, divided
/// by the period.
#[inline(always)]
pub fn seed_mean(x: &[f64]) -> f64 {
    let mut sum = 0.0;
    for &v in x {
        sum += v;
    }
    sum / x.len() as f64
}

#[inline(always)]
fn ema_body(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    let n = x.len();
    out[..(period - 1).min(n)].fill(f64::NAN);
    if n < period {
        return x.iter().any(|v| v.is_nan());
    }
    let k = ema_k(period);
    let mut prev = seed_mean(&x[..period]);
    out[period - 1] = prev;
    for (o, &v) in out[period..].iter_mut().zip(&x[period..]) {
        prev = ema_step::<true>(v, prev, k);
        *o = prev;
    }
    prev.is_nan()
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn ema_body_fma(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    ema_body(x, period, out)
}

/// TA-Lib's EMA on a NaN-free slice: seeded with the mean of the first `period` values, then
/// `prev = fma(x - prev, k, prev)`. `out[..period-1]` is NaN. Bit-identical to `TA_EMA` 0.8.1
/// on every CPU (see [`super::fused`]).
pub fn ema_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    ema_kernel_tainted(x, period, out);
}

/// [`ema_kernel`], returning whether a NaN reached the state (it then stays there).
pub fn ema_kernel_tainted(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    assert!(period >= 1);
    #[cfg(target_arch = "x86_64")]
    if super::fused() {
        // SAFETY: `fused()` is true only when the CPU reports FMA.
        return unsafe { ema_body_fma(x, period, out) };
    }
    ema_body(x, period, out)
}

/// Batch EMA of `x` (TA-Lib `EMA(real, timeperiod)`).
pub fn ema(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    ema_into(x, period, &mut out)?;
    Ok(out)
}

/// [`ema`] into `out` (same length as `x`, every element written).
pub fn ema_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply_into_propagating("real", x, out, |x, out| ema_kernel_tainted(x, period, out))
}

/// Streaming EMA: bit-for-bit [`ema`] (same seed sum, same fused step). O(1), no allocation.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Ema {
    k: f64,
    value: f64,
    sum: f64,
    count: usize,
    period: usize,
    hw: bool,
}

impl Ema {
    /// A streaming EMA with `period >= 1` (argument name in errors: `timeperiod`).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            k: ema_k(period),
            value: f64::NAN,
            sum: 0.0,
            count: 0,
            period,
            hw: super::fused(),
        })
    }

    /// Push one value and return the EMA (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        // Hot path: past the seed and a real value, nothing but the step.
        if self.count >= self.period && !x.is_nan() {
            self.count += 1;
            self.value = ema_step_dispatch(x, self.value, self.k, self.hw);
            return Ok(self.value);
        }
        self.update_cold(x)
    }

    #[cold]
    fn update_cold(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        self.sum += x;
        if self.count == self.period {
            self.value = self.sum / self.period as f64;
        }
        Ok(self.value)
    }

    /// The last output (NaN during the lookback).
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Valid values pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.count >= self.period
    }
    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.value = f64::NAN;
        self.sum = 0.0;
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut p = 100.0;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                p += ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2.0;
                p
            })
            .collect()
    }

    #[test]
    fn streaming_equals_batch_bitwise() {
        let x = walk(500, 7);
        for p in [1, 2, 3, 9, 20, 200] {
            let batch = ema(&x, p).unwrap();
            let mut e = Ema::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(
                    e.update(v).unwrap().to_bits(),
                    batch[i].to_bits(),
                    "p={p} i={i}"
                );
            }
            assert!(e.initialized());
        }
    }

    #[test]
    fn hw_and_portable_steps_agree() {
        let x = walk(300, 3);
        let k = ema_k(10);
        let mut a = x[0];
        let mut b = x[0];
        for &v in &x {
            a = ema_step_dispatch(v, a, k, super::super::fused());
            b = ema_step_dispatch(v, b, k, false);
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn seed_is_the_mean() {
        let out = ema(&[1.0, 2.0, 3.0, 4.0], 3).unwrap();
        assert!(out[0].is_nan() && out[1].is_nan());
        assert_eq!(out[2], 2.0);
        assert_eq!(out[3], (4.0f64 - 2.0).mul_add(0.5, 2.0));
    }
}
