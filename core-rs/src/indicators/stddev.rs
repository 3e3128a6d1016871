//! Rolling population variance / standard deviation (TA-Lib `VAR`, `STDDEV`), and the shared
//! variance core of `BBANDS` and `ZScore`.
//!
//! NB: TA-Lib 0.8.1 (the 0.8.2 wheel) does not use the classic `meanSq - mean²` running sums of
//! `ta_VAR.c` any more; its `TA_VAR`, `TA_STDDEV` and the SMA path of `TA_BBANDS` (read with
//! `objdump -d`) keep *shifted* sums: with a shift `K` (first the first value of the first
//! window), `S1 = Σ(x - K)`, `S2 = Σ(x - K)²`, `var = S2/p - (S1/p)²` (as multiplications by
//! `1/p`). The sums are rebuilt from the window, with `K` re-centred on the window mean
//! (`Σx · 1/p`), when cancellation threatens (`S2/p · 1e-6 > var`), when the value leaving is
//! huge next to the rest (`(x_old - K)² > S2 · 1e6`), and at least every `32·p` bars; a rebuilt
//! variance below `1e-12 · S2/p` is clamped to 0. [`VarCore`] is exactly that, in the same
//! operation order, so our values are bit-identical. The classic `TA_IS_ZERO_OR_NEG` rule is
//! gone with it: there is no absolute 1e-8 threshold, so tiny prices (1e-8) get real deviations.
//! Amortised O(1) per value (a rebuild costs O(p)).

use super::ring::Window;
use crate::error::{CoreError, CoreResult, check_period};

/// The shifted running sums of TA-Lib 0.8.1's rolling variance.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VarCore {
    p: usize,
    inv: f64,
    k: f64,
    s1: f64,
    s2: f64,
    counter: usize,
}

impl VarCore {
    /// A core for windows of `p >= 2` values.
    pub fn new(p: usize) -> Self {
        Self {
            p,
            inv: 1.0 / p as f64,
            k: 0.0,
            s1: 0.0,
            s2: 0.0,
            counter: 32 * p,
        }
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        *self = Self::new(self.p);
    }

    /// One of the first `p - 1` values (`first` tells whether it is the very first: it becomes
    /// the shift).
    #[inline(always)]
    pub fn warm(&mut self, x: f64, first: bool) {
        if first {
            self.k = x;
        }
        let d = x - self.k;
        self.s1 += d;
        self.s2 += d * d;
    }

    /// A full-window step: `x` enters, `old` (the first value of the window ending at `x`)
    /// leaves after the variance is taken. `window` yields the window's values oldest first
    /// (only read on a rebuild). Returns the variance.
    #[inline(always)]
    pub fn step<'a>(
        &mut self,
        x: f64,
        old: f64,
        window: impl FnOnce() -> (&'a [f64], &'a [f64]),
    ) -> f64 {
        let d = x - self.k;
        self.s1 += d;
        self.s2 += d * d;
        let m1 = self.inv * self.s1;
        let m2 = self.inv * self.s2;
        let var = m2 - m1 * m1;
        let t = old - self.k;
        let tt = t * t;
        self.s2 -= tt;
        if self.inv * self.s2 * 1e-6 > var || tt > self.s2 * 1e6 || {
            self.counter -= 1;
            self.counter == 0
        } {
            let (a, b) = window();
            let (core, var) = Self::rebuild(self.p, self.inv, a, b);
            *self = core;
            return var;
        }
        self.s1 -= t;
        var
    }

    /// The core rebuilt from the window `a` then `b`, and the window's variance.
    ///
    /// NB: returns the new state rather than taking `&mut self`: a `&mut self` passed to this
    /// out-of-line call kept the sums in memory across the whole loop (a store-to-load
    /// forwarding on every step's dependency chain; VAR took 5x TA-Lib's time).
    #[cold]
    #[inline(never)]
    fn rebuild(p: usize, inv: f64, a: &[f64], b: &[f64]) -> (Self, f64) {
        let mut sum = 0.0;
        for &v in a.iter().chain(b) {
            sum += v;
        }
        let k = sum * inv;
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in a.iter().chain(b) {
            let d = v - k;
            s1 += d;
            s2 += d * d;
        }
        let m1 = inv * s1;
        let m2 = inv * s2;
        let mut var = m2 - m1 * m1;
        if var < m2 * 1e-12 {
            var = 0.0;
        }
        let oldest = a.first().or(b.first()).copied().unwrap_or(0.0);
        let t = oldest - k;
        let core = Self {
            p,
            inv,
            k,
            s1: s1 - t,
            s2: s2 - t * t,
            counter: 32 * p,
        };
        (core, var)
    }
}

/// Run `f(i, var)` for every full window of the NaN-free `x` (`i` = index of its last value);
/// whether `x` held a NaN (always true when it is shorter than a window: not looked at).
#[inline(always)]
pub(crate) fn for_each_var(x: &[f64], p: usize, mut f: impl FnMut(usize, f64)) -> bool {
    if x.len() < p {
        return true;
    }
    let mut core = VarCore::new(p);
    let mut nan = false;
    for (j, &v) in x[..p - 1].iter().enumerate() {
        nan |= v.is_nan();
        core.warm(v, j == 0);
    }
    for i in p - 1..x.len() {
        let w = &x[i + 1 - p..=i];
        let v = x[i];
        nan |= v.is_nan();
        let var = core.step(v, w[0], || (w, &[]));
        f(i, var);
    }
    nan
}

/// TA-Lib 0.8.1's rolling population variance on a NaN-free slice (NaN for the lookback).
pub fn var_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    out[..(period - 1).min(x.len())].fill(f64::NAN);
    for_each_var(x, period, |i, v| out[i] = v);
}

/// [`var_kernel`], returning whether `x` may hold a NaN (a NaN need not poison the sums for
/// good: a rebuild starts them afresh from the window).
pub(crate) fn var_checked(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    out[..(period - 1).min(x.len())].fill(f64::NAN);
    for_each_var(x, period, |i, v| out[i] = v)
}

/// TA-Lib 0.8.1's STDDEV on a NaN-free slice: `sqrt(var) * nbdev`.
pub fn stddev_kernel(x: &[f64], period: usize, nbdev: f64, out: &mut [f64]) {
    out[..(period - 1).min(x.len())].fill(f64::NAN);
    for_each_var(x, period, |i, v| out[i] = v.sqrt() * nbdev);
}

pub(crate) fn check_finite(name: &'static str, v: f64) -> CoreResult<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(CoreError::InvalidArgument {
            name,
            reason: format!("must be a finite number, got {v}"),
        })
    }
}

/// Batch STDDEV (TA-Lib `STDDEV(real, timeperiod=5, nbdev=1.0)`, `timeperiod >= 2`).
pub fn stddev(x: &[f64], period: i64, nbdev: f64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    stddev_into(x, period, nbdev, &mut out)?;
    Ok(out)
}

/// [`stddev`] into `out` (same length as `x`, every element written).
pub fn stddev_into(x: &[f64], period: i64, nbdev: f64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    let nbdev = check_finite("nbdev", nbdev)?;
    super::apply_into("real", x, out, |x, out| {
        stddev_kernel(x, period, nbdev, out)
    })
}

/// Batch VAR (TA-Lib `VAR(real, timeperiod=5)`, population variance, `timeperiod >= 2`).
pub fn var(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let period = check_period("timeperiod", period, 2)?;
    super::apply("real", x, |x, out| var_kernel(x, period, out))
}

/// A [`VarCore`] fed one value at a time, with its window: the streaming side of every
/// rolling-variance indicator.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RollingVar {
    core: VarCore,
    window: Window,
    count: usize,
}

impl RollingVar {
    /// For windows of `p >= 2` values.
    pub fn new(p: usize) -> Self {
        Self {
            core: VarCore::new(p),
            window: Window::new(p),
            count: 0,
        }
    }
    /// Push a (non-NaN) value; the variance once the window is full, else `None`.
    #[inline(always)]
    pub fn push(&mut self, x: f64) -> Option<f64> {
        self.count += 1;
        self.window.push(x);
        if self.count < self.core.p {
            self.core.warm(x, self.count == 1);
            return None;
        }
        let old = self.window.oldest();
        let w = &self.window;
        Some(self.core.step(x, old, || w.as_slices()))
    }
    /// The oldest value of the window (after the last push).
    pub fn oldest(&self) -> f64 {
        self.window.oldest()
    }
    /// Values pushed.
    pub fn count(&self) -> usize {
        self.count
    }
    /// Forget everything (keeps the storage).
    pub fn reset(&mut self) {
        self.core.reset();
        self.window.clear();
        self.count = 0;
    }
}

/// Streaming STDDEV: bit-for-bit [`stddev`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StdDev {
    rv: RollingVar,
    period: usize,
    nbdev: f64,
    value: f64,
}

impl StdDev {
    /// `timeperiod >= 2`, finite `nbdev`.
    pub fn new(period: i64, nbdev: f64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        let nbdev = check_finite("nbdev", nbdev)?;
        Ok(Self {
            rv: RollingVar::new(period),
            period,
            nbdev,
            value: f64::NAN,
        })
    }

    /// Push one value; the deviation of the last `timeperiod` values (NaN during the lookback).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.rv.count() > 0, self.rv.count())? {
            return Ok(f64::NAN);
        }
        if let Some(v) = self.rv.push(x) {
            self.value = v.sqrt() * self.nbdev;
        }
        Ok(self.value)
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        self.value
    }
    /// Valid values pushed so far.
    pub fn count(&self) -> usize {
        self.rv.count()
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        self.rv.count() >= self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.rv.reset();
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_var(w: &[f64]) -> f64 {
        let m = w.iter().sum::<f64>() / w.len() as f64;
        w.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / w.len() as f64
    }

    #[test]
    fn close_to_two_pass_variance_even_far_from_zero() {
        let x: Vec<f64> = (0..2000)
            .map(|i| 1e6 + ((i * 7919 % 101) as f64) * 0.01)
            .collect();
        let v = var(&x, 20).unwrap();
        for i in 19..x.len() {
            let r = naive_var(&x[i - 19..=i]);
            assert!(
                (v[i] - r).abs() <= 1e-9 * r.max(1e-12),
                "i={i} {} {r}",
                v[i]
            );
        }
    }

    #[test]
    fn flat_is_zero_and_streaming_matches() {
        let v = stddev(&[3.0; 10], 4, 1.0).unwrap();
        assert!(v[2].is_nan());
        assert_eq!(v[9], 0.0);
        let x: Vec<f64> = (0..500)
            .map(|i| {
                if i % 50 < 10 {
                    5.0
                } else {
                    5.0 + (i as f64 * 0.3).cos() * 1e-3
                }
            })
            .collect();
        for p in [2, 3, 10, 40] {
            let b = stddev(&x, p, 2.0).unwrap();
            let mut s = StdDev::new(p, 2.0).unwrap();
            for (i, &xv) in x.iter().enumerate() {
                assert_eq!(
                    s.update(xv).unwrap().to_bits(),
                    b[i].to_bits(),
                    "p={p} i={i}"
                );
            }
        }
        assert!(StdDev::new(1, 1.0).is_err());
        assert!(StdDev::new(5, f64::NAN).is_err());
    }
}
