//! Average true range (TA-Lib `ATR`), Wilder's smoothing.
//!
//! True range of bar `i >= 1`: the greatest of `high - low`, `|close[i-1] - high|`,
//! `|close[i-1] - low|`. Seed: the mean of the first `period` true ranges (output index
//! `period`, the lookback). Then, as TA-Lib 0.8.1 computes it (read with `objdump -d`: its
//! `.default` clone calls `fma()`, its `.fma` clone uses `vfmadd132sd`):
//! `atr = fma(a, atr, tr * b)` with `a = (period - 1) / period`, `b = 1 - a`. Bit-identical.

use crate::error::{CoreError, CoreResult, check_period};

/// TA-Lib's true range from today's high/low and yesterday's close.
#[inline(always)]
pub fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut g = high - low;
    let v2 = (prev_close - high).abs();
    if v2 > g {
        g = v2;
    }
    let v3 = (prev_close - low).abs();
    if v3 > g {
        g = v3;
    }
    g
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Coef {
    a: f64,
    b: f64,
}

impl Coef {
    fn new(p: usize) -> Self {
        let a = (p - 1) as f64 / p as f64;
        Self { a, b: 1.0 - a }
    }
}

#[inline(always)]
fn wilder(c: Coef, prev: f64, tr: f64) -> f64 {
    c.a.mul_add(prev, tr * c.b)
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[inline]
unsafe fn wilder_hw(c: Coef, prev: f64, tr: f64) -> f64 {
    wilder(c, prev, tr)
}

#[inline(always)]
fn wilder_dispatch(c: Coef, prev: f64, tr: f64, hw: bool) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if hw {
        // SAFETY: `hw` is `fused()`, true only when the CPU reports FMA.
        return unsafe { wilder_hw(c, prev, tr) };
    }
    let _ = hw;
    wilder(c, prev, tr)
}

#[inline(always)]
fn atr_body(h: &[f64], l: &[f64], c: &[f64], period: usize, out: &mut [f64]) -> bool {
    atr_body_map(h, l, c, period, out, |atr, _| atr)
}

/// Bars per block of [`atr_body_map`]: its scratch stays in L1.
const BLOCK: usize = 64;

/// [`atr_body`] writing `map(atr, close)` for each bar past the lookback (NATR divides by the
/// close in the same pass); returns whether an input held a NaN (always true when there are
/// too few bars to look at them all). Compile it into an FMA body (see `fma_kernel!`).
///
/// NB: the Wilder step is one FMA chain (4 cycles a bar), and a loop doing the true range, the
/// NaN flags and the step bar by bar was bound by its ~20 floating-point operations a bar
/// instead (1.6x TA-Lib's time for ATR). So the bars go in blocks of [`BLOCK`]: first `tr * b`
/// and the NaN flags of the whole block (independent per bar: vectorised), then the chain
/// over the block (load, FMA, `map`, store), which the CPU overlaps with the pass around it.
/// (NATR's division in a third, vectorised pass over the block measured slower.) The operations per bar are the same ones, in the same order: bit-identical.
#[inline(always)]
pub(crate) fn atr_body_map(
    h: &[f64],
    l: &[f64],
    c: &[f64],
    period: usize,
    out: &mut [f64],
    map: impl Fn(f64, f64) -> f64,
) -> bool {
    let n = h.len();
    assert!(l.len() == n && c.len() == n && out.len() == n);
    out[..period.min(n)].fill(f64::NAN);
    if n <= period {
        return true;
    }
    let co = Coef::new(period);
    let mut nan = h[0].is_nan() | l[0].is_nan() | c[n - 1].is_nan();
    let mut sum = 0.0;
    for i in 1..=period {
        nan |= h[i].is_nan() | l[i].is_nan() | c[i - 1].is_nan();
        sum += true_range(h[i], l[i], c[i - 1]);
    }
    let mut prev = sum / period as f64;
    out[period] = map(prev, c[period]);
    let mut scaled = [0.0f64; BLOCK];
    let mut i = period + 1;
    while i < n {
        let m = BLOCK.min(n - i);
        let (hs, ls, pcs) = (&h[i..i + m], &l[i..i + m], &c[i - 1..i - 1 + m]);
        let mut any = false;
        for (((s, &hi), &lo), &pc) in scaled[..m].iter_mut().zip(hs).zip(ls).zip(pcs) {
            any |= hi.is_nan() | lo.is_nan() | pc.is_nan();
            *s = true_range(hi, lo, pc) * co.b;
        }
        nan |= any;
        for ((o, &s), &cl) in out[i..i + m].iter_mut().zip(&scaled[..m]).zip(&c[i..i + m]) {
            prev = co.a.mul_add(prev, s);
            *o = map(prev, cl);
        }
        i += m;
    }
    nan
}

fma_kernel!(
    /// [`atr_kernel`], returning whether an input may hold a NaN.
    pub(crate) fn atr_checked(
        high: &[f64],
        low: &[f64],
        close: &[f64],
        period: usize,
        out: &mut [f64],
    ) -> bool = atr_body;
);

/// TA-Lib 0.8.1's ATR on NaN-free, equal-length slices (NaN for the first `period` outputs).
pub fn atr_kernel(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut [f64]) {
    atr_checked(high, low, close, period, out);
}

/// Batch ATR (TA-Lib `ATR(high, low, close, timeperiod=14)`).
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(high.len(), 0);
    atr_into(high, low, close, period, &mut out)?;
    Ok(out)
}

/// [`atr`] into `out` (as long as the inputs, every element written).
pub fn atr_into(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: i64,
    out: &mut [f64],
) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::volatility::apply_multi_checked(
        [("high", high), ("low", low), ("close", close)],
        out,
        |[h, l, c], o| atr_checked(h, l, c, period, o),
    )
}

/// The NaN gate of multi-input streaming types: `Ok(false)` skips a bar with a NaN before the
/// first complete bar; after it, a NaN is an error naming its input.
#[inline(always)]
pub(crate) fn gate_bar(
    inputs: &[(&'static str, f64)],
    started: bool,
    count: usize,
) -> CoreResult<bool> {
    for &(name, v) in inputs {
        if v.is_nan() {
            if started {
                return Err(CoreError::NanInSeries { name, index: count });
            }
            return Ok(false);
        }
    }
    Ok(true)
}

/// Streaming ATR: bit-for-bit [`atr`]. O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Atr {
    period: usize,
    co: Coef,
    hw: bool,
    prev_close: f64,
    sum: f64,
    count: usize,
    value: f64,
}

impl Atr {
    /// `timeperiod >= 1`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            period,
            co: Coef::new(period),
            hw: super::fused(),
            prev_close: f64::NAN,
            sum: 0.0,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one bar; the ATR (NaN for the first `timeperiod` bars).
    #[inline]
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> CoreResult<f64> {
        if !gate_bar(
            &[("high", high), ("low", low), ("close", close)],
            self.count > 0,
            self.count,
        )? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        let c = self.count;
        if c > 1 {
            let tr = true_range(high, low, self.prev_close);
            if c <= self.period + 1 {
                self.sum += tr;
                if c == self.period + 1 {
                    self.value = self.sum / self.period as f64;
                }
            } else {
                self.value = wilder_dispatch(self.co, self.value, tr, self.hw);
            }
        }
        self.prev_close = close;
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
        self.count > self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.prev_close = f64::NAN;
        self.sum = 0.0;
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_range_cases() {
        assert_eq!(true_range(10.0, 8.0, 9.0), 2.0);
        assert_eq!(true_range(10.0, 8.0, 5.0), 5.0);
        assert_eq!(true_range(10.0, 8.0, 13.0), 5.0);
    }

    #[test]
    fn streaming_equals_batch() {
        let c: Vec<f64> = (0..300)
            .map(|i| 100.0 + ((i as f64) * 0.3).sin() * 4.0)
            .collect();
        let h: Vec<f64> = c
            .iter()
            .enumerate()
            .map(|(i, v)| v + 0.5 + (i % 3) as f64 * 0.2)
            .collect();
        let l: Vec<f64> = c
            .iter()
            .enumerate()
            .map(|(i, v)| v - 0.4 - (i % 4) as f64 * 0.1)
            .collect();
        for p in [1, 2, 14, 50] {
            let b = atr(&h, &l, &c, p).unwrap();
            assert!(b[p as usize - 1].is_nan() && !b[p as usize].is_nan());
            let mut s = Atr::new(p).unwrap();
            for i in 0..c.len() {
                assert_eq!(
                    s.update(h[i], l[i], c[i]).unwrap().to_bits(),
                    b[i].to_bits(),
                    "p={p} i={i}"
                );
            }
        }
        assert!(matches!(
            atr(&h, &l[1..], &c, 14),
            Err(CoreError::LengthMismatch { name: "low", .. })
        ));
    }
}
