//! Moving average convergence/divergence (TA-Lib `MACD`).
//!
//! TA-Lib's conventions, read from `ta_MACD.c` and checked against the 0.8.1 binary: if
//! `slowperiod < fastperiod` the two are swapped; both price EMAs are seeded with the mean of
//! their first `period` values where the two seed windows *end on the same bar* (index
//! `slow - 1`), the fast seed being the tail of the slow one; the MACD line is `fast - slow`; the
//! signal is an EMA of the MACD line seeded with the mean of its first `signal` values; the
//! histogram is `macd - signal`. Every EMA step is fused (`fma(x - prev, k, prev)`, as TA-Lib
//! 0.8.1 does on every CPU). Lookback: `slow - 1 + signal - 1`.

use super::ema::{ema_k, ema_step};
use crate::error::{CoreResult, check_period};

/// Validated MACD periods, `fast <= slow` after TA-Lib's swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MacdPeriods {
    pub fast: usize,
    pub slow: usize,
    pub signal: usize,
}

impl MacdPeriods {
    /// `fastperiod >= 2`, `slowperiod >= 2`, `signalperiod >= 1` (TA-Lib's ranges); a fast period
    /// larger than the slow one is swapped, as TA-Lib does.
    pub fn new(fast: i64, slow: i64, signal: i64) -> CoreResult<Self> {
        let f = check_period("fastperiod", fast, 2)?;
        let s = check_period("slowperiod", slow, 2)?;
        let signal = check_period("signalperiod", signal, 1)?;
        let (fast, slow) = if s < f { (s, f) } else { (f, s) };
        Ok(Self { fast, slow, signal })
    }

    /// Index of the first output.
    pub fn lookback(&self) -> usize {
        self.slow - 1 + self.signal - 1
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Ks {
    fast: f64,
    slow: f64,
    signal: f64,
}

impl Ks {
    fn new(p: MacdPeriods) -> Self {
        Self {
            fast: ema_k(p.fast),
            slow: ema_k(p.slow),
            signal: ema_k(p.signal),
        }
    }
}

/// Advance both price EMAs by one bar; returns the MACD line.
#[inline(always)]
fn price_step(x: f64, fast: &mut f64, slow: &mut f64, k: Ks) -> f64 {
    *fast = ema_step::<true>(x, *fast, k.fast);
    *slow = ema_step::<true>(x, *slow, k.slow);
    *fast - *slow
}

#[inline(always)]
fn macd_body(x: &[f64], p: MacdPeriods, m: &mut [f64], s: &mut [f64], h: &mut [f64]) -> bool {
    let n = x.len();
    let lb = p.lookback();
    for o in [&mut *m, &mut *s, &mut *h] {
        o[..lb.min(n)].fill(f64::NAN);
    }
    if n <= lb {
        return x.iter().any(|v| v.is_nan());
    }
    let k = Ks::new(p);
    let (mut slow_sum, mut fast_sum) = (0.0, 0.0);
    for &v in &x[..p.slow - p.fast] {
        slow_sum += v;
    }
    for &v in &x[p.slow - p.fast..p.slow] {
        fast_sum += v;
        slow_sum += v;
    }
    let mut slow = slow_sum / p.slow as f64;
    let mut fast = fast_sum / p.fast as f64;
    let mut macd = fast - slow;
    let mut sig = macd;
    let mut i = p.slow;
    for _ in 1..p.signal {
        macd = price_step(x[i], &mut fast, &mut slow, k);
        sig += macd;
        i += 1;
    }
    sig /= p.signal as f64;
    m[lb] = macd;
    s[lb] = sig;
    h[lb] = macd - sig;
    for j in lb + 1..n {
        macd = price_step(x[j], &mut fast, &mut slow, k);
        sig = ema_step::<true>(macd, sig, k.signal);
        m[j] = macd;
        s[j] = sig;
        h[j] = macd - sig;
    }
    // Every input reaches the slow EMA (from bar 0) and the fast one, so a NaN stays in the state.
    fast.is_nan() || slow.is_nan() || sig.is_nan()
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn macd_body_fma(
    x: &[f64],
    p: MacdPeriods,
    m: &mut [f64],
    s: &mut [f64],
    h: &mut [f64],
) -> bool {
    macd_body(x, p, m, s, h)
}

/// TA-Lib's MACD on a leading-NaN-free slice into three outputs (NaN for the lookback);
/// returns whether a NaN reached the state (the caller turns that into `NanInSeries`).
pub fn macd_kernel(x: &[f64], p: MacdPeriods, m: &mut [f64], s: &mut [f64], h: &mut [f64]) -> bool {
    assert!(x.len() == m.len() && x.len() == s.len() && x.len() == h.len());
    #[cfg(target_arch = "x86_64")]
    if super::fused() {
        // SAFETY: `fused()` is true only when the CPU reports FMA.
        return unsafe { macd_body_fma(x, p, m, s, h) };
    }
    macd_body(x, p, m, s, h)
}

/// Batch MACD (TA-Lib `MACD(real, fastperiod=12, slowperiod=26, signalperiod=9)`):
/// `(macd, signal, hist)`.
pub fn macd(
    x: &[f64],
    fast: i64,
    slow: i64,
    signal: i64,
) -> CoreResult<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let n = x.len();
    let (mut m, mut s, mut h) = (
        super::output(n, 0),
        super::output(n, 0),
        super::output(n, 0),
    );
    macd_into(x, fast, slow, signal, [&mut m, &mut s, &mut h])?;
    Ok((m, s, h))
}

/// [`macd`] into `(macd, signal, hist)` buffers (each as long as `x`, every element written).
pub fn macd_into(
    x: &[f64],
    fast: i64,
    slow: i64,
    signal: i64,
    out: [&mut [f64]; 3],
) -> CoreResult<()> {
    let p = MacdPeriods::new(fast, slow, signal)?;
    let [m, s, h] = out;
    for (name, o) in [("macd", &*m), ("macdsignal", &*s), ("macdhist", &*h)] {
        crate::error::check_len(name, x.len(), o.len())?;
    }
    let start = super::leading_nans(x);
    for o in [&mut *m, &mut *s, &mut *h] {
        o[..start].fill(f64::NAN);
    }
    if macd_kernel(
        &x[start..],
        p,
        &mut m[start..],
        &mut s[start..],
        &mut h[start..],
    ) {
        super::nan_error("real", x, start)?;
    }
    Ok(())
}

/// Streaming MACD: bit-for-bit [`macd`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Macd {
    p: MacdPeriods,
    k: Ks,
    hw: bool,
    fast: f64,
    slow: f64,
    signal: f64,
    count: usize,
    value: (f64, f64, f64),
}

impl Macd {
    /// A streaming MACD (same arguments and rules as [`macd`]).
    pub fn new(fast: i64, slow: i64, signal: i64) -> CoreResult<Self> {
        let p = MacdPeriods::new(fast, slow, signal)?;
        Ok(Self {
            p,
            k: Ks::new(p),
            hw: super::fused(),
            fast: 0.0,
            slow: 0.0,
            signal: 0.0,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }

    #[inline(always)]
    fn price(&mut self, x: f64) -> f64 {
        use super::ema::ema_step_dispatch as st;
        self.fast = st(x, self.fast, self.k.fast, self.hw);
        self.slow = st(x, self.slow, self.k.slow, self.hw);
        self.fast - self.slow
    }

    /// Push one value; `(macd, signal, hist)`, NaNs during the lookback.
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<(f64, f64, f64)> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok((f64::NAN, f64::NAN, f64::NAN));
        }
        self.count += 1;
        let c = self.count;
        let p = self.p;
        if c <= p.slow {
            // Seed sums: `slow` accumulates every bar, `fast` the last `fast` ones.
            self.slow += x;
            if c > p.slow - p.fast {
                self.fast += x;
            }
            if c == p.slow {
                self.slow /= p.slow as f64;
                self.fast /= p.fast as f64;
                self.signal = self.fast - self.slow;
                if p.signal == 1 {
                    self.finish_signal_seed();
                }
            }
            return Ok(self.value);
        }
        let macd = self.price(x);
        if c < p.slow + p.signal - 1 {
            self.signal += macd;
        } else if c == p.slow + p.signal - 1 {
            self.signal += macd;
            self.value.0 = macd;
            self.finish_signal_seed();
        } else {
            self.signal = super::ema::ema_step_dispatch(macd, self.signal, self.k.signal, self.hw);
            self.value = (macd, self.signal, macd - self.signal);
        }
        Ok(self.value)
    }

    fn finish_signal_seed(&mut self) {
        self.signal /= self.p.signal as f64;
        if self.p.signal == 1 {
            self.value.0 = self.fast - self.slow;
        }
        self.value = (self.value.0, self.signal, self.value.0 - self.signal);
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
        self.count > self.p.lookback()
    }
    /// The periods after validation (and TA-Lib's swap).
    pub fn periods(&self) -> MacdPeriods {
        self.p
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.fast = 0.0;
        self.slow = 0.0;
        self.signal = 0.0;
        self.count = 0;
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_batch() {
        let x: Vec<f64> = (0..400)
            .map(|i| 100.0 + ((i as f64) * 0.11).sin() * 7.0 + (i % 5) as f64 * 0.3)
            .collect();
        for (f, s, g) in [(12, 26, 9), (2, 3, 1), (3, 2, 2), (5, 5, 1), (2, 30, 15)] {
            let (bm, bs, bh) = macd(&x, f, s, g).unwrap();
            let mut st = Macd::new(f, s, g).unwrap();
            for i in 0..x.len() {
                let (m, sg, h) = st.update(x[i]).unwrap();
                assert_eq!(m.to_bits(), bm[i].to_bits(), "{f},{s},{g} i={i}");
                assert_eq!(sg.to_bits(), bs[i].to_bits(), "{f},{s},{g} i={i}");
                assert_eq!(h.to_bits(), bh[i].to_bits(), "{f},{s},{g} i={i}");
            }
        }
    }

    #[test]
    fn lookback_and_swap() {
        let x: Vec<f64> = (0..60).map(|i| i as f64).collect();
        let (m, _, _) = macd(&x, 12, 26, 9).unwrap();
        assert!(m[32].is_nan() && !m[33].is_nan());
        let a = macd(&x, 26, 12, 9).unwrap();
        let b = macd(&x, 12, 26, 9).unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(MacdPeriods::new(1, 26, 9).is_err());
        assert!(MacdPeriods::new(12, 26, 0).is_err());
    }
}
