//! TA-Lib's other moving averages — `DEMA`, `TEMA`, `TRIMA`, `KAMA`, `T3` — and the `MA`
//! dispatcher over every moving average of this crate ([`MaType`], [`ma`], [`Ma`]).
//!
//! Each has one state type whose `push` is TA-Lib's loop body; the batch kernels run that same
//! state over the slice, so streaming equals batch bit for bit by construction. Exactness
//! against TA-Lib 0.8.1 is stated per function (and asserted by `tests/test_indicators_overlap.py`).

use super::ema::Ema;
use super::sma::Sma;
use super::wma::Wma;
use crate::error::{CoreError, CoreResult, check_period};

/// The last `cap` values pushed, readable by age (allocated once).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hist {
    buf: Box<[f64]>,
    head: usize,
}

impl Hist {
    /// Room for `cap >= 1` values.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: vec![f64::NAN; cap.max(1)].into_boxed_slice(),
            head: 0,
        }
    }
    /// Append `x`, forgetting the value pushed `cap` pushes ago.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: f64) {
        self.buf[self.head] = x;
        self.head += 1;
        if self.head == self.buf.len() {
            self.head = 0;
        }
    }
    /// The value pushed `age` pushes ago (`1` = the last one, `age <= cap`).
    #[inline(always)]
    pub(crate) fn back(&self, age: usize) -> f64 {
        let cap = self.buf.len();
        // `head + cap - age` is in `[0, 2·cap)` (`age <= cap`): a subtraction, not a division.
        let i = self.head + cap - age;
        self.buf[if i >= cap { i - cap } else { i }]
    }
    /// Forget everything (keeps the storage).
    pub(crate) fn clear(&mut self) {
        self.buf.fill(f64::NAN);
        self.head = 0;
    }
}

/// Run a streaming state's `push` (an `#[inline(always)]` method returning the output, NaN in
/// the lookback) over a NaN-free slice. A macro, not a function taking a closure: the loop and
/// `push` must land in the caller's body, the FMA copy of `fma_kernel!` (a closure was left
/// out of line there, see that macro's NB).
/// Evaluates to whether a NaN was among the inputs (see [`super::apply_into_propagating`]).
macro_rules! run {
    ($x:expr, $out:expr, $s:ident) => {{
        let (x, out): (&[f64], &mut [f64]) = ($x, $out);
        assert_eq!(x.len(), out.len());
        let mut nan = false;
        for (o, &v) in out.iter_mut().zip(x) {
            nan |= v.is_nan();
            *o = $s.push(v);
        }
        nan
    }};
}

/// The `value` / `count` / `initialized` accessors shared by the streaming types here (each has
/// `value`, `count` fields and a `lookback()`).
macro_rules! stream_common {
    () => {
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
            self.count > self.lookback()
        }
    };
}

// --- DEMA / TEMA ---------------------------------------------------------------------------

/// The chain of `N` EMAs behind DEMA (`N = 2`) and TEMA (`N = 3`): EMA of the previous EMA's
/// output, each seeded with the mean of its first `period` inputs (TA-Lib's `TA_INT_EMA`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct EmaChain<const N: usize> {
    #[serde(with = "serde_arrays")]
    e: [Ema; N],
}

mod serde_arrays {
    use super::Ema;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer, const N: usize>(a: &[Ema; N], s: S) -> Result<S::Ok, S::Error> {
        a.as_slice().serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[Ema; N], D::Error> {
        let v: Vec<Ema> = Vec::deserialize(d)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("wrong number of EMAs"))
    }
}

impl<const N: usize> EmaChain<N> {
    fn new(period: usize) -> Self {
        let p = period as i64;
        Self {
            e: std::array::from_fn(|_| Ema::new(p).expect("period checked")),
        }
    }
    /// Push a NaN-free value; the `N` EMAs (NaN while an EMA is in its lookback).
    #[inline(always)]
    fn push(&mut self, x: f64) -> [f64; N] {
        let mut v = x;
        let mut out = [f64::NAN; N];
        for (o, e) in out.iter_mut().zip(self.e.iter_mut()) {
            if v.is_nan() {
                break;
            }
            // `v` is never NaN here (a predecessor's lookback stops the loop above), and
            // `Ema::update` fails only on a NaN.
            v = e.update(v).expect("a NaN-free value");
            *o = v;
        }
        out
    }
    fn reset(&mut self) {
        for e in &mut self.e {
            e.reset();
        }
    }
}

/// TA-Lib's DEMA output from its two EMAs: `2·e1 - e2`.
#[inline(always)]
fn dema_out(e: [f64; 2]) -> f64 {
    2.0 * e[0] - e[1]
}

/// TA-Lib's TEMA output from its three EMAs: `e3 + (3·e1 - 3·e2)` (its operation order).
#[inline(always)]
fn tema_out(e: [f64; 3]) -> f64 {
    e[2] + (3.0 * e[0] - 3.0 * e[1])
}

macro_rules! ema_chain_type {
    ($(#[$doc:meta])* $ty:ident, $n:literal, $out:ident, $kernel:ident, $checked:ident, $body:ident, $batch:ident, $into:ident, $ta:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub struct $ty {
            chain: EmaChain<$n>,
            period: usize,
            count: usize,
            value: f64,
        }

        impl $ty {
            /// `timeperiod >= 1`.
            pub fn new(period: i64) -> CoreResult<Self> {
                let period = check_period("timeperiod", period, 1)?;
                Ok(Self { chain: EmaChain::new(period), period, count: 0, value: f64::NAN })
            }
            fn lookback(&self) -> usize {
                $n * (self.period - 1)
            }
            #[inline(always)]
            fn push(&mut self, x: f64) -> f64 {
                self.count += 1;
                let e = self.chain.push(x);
                if !e[$n - 1].is_nan() {
                    self.value = $out(e);
                }
                self.value
            }
            /// Push one value; the output (NaN during the lookback).
            pub fn update(&mut self, x: f64) -> CoreResult<f64> {
                if !super::stream_gate("x", x, self.count > 0, self.count)? {
                    return Ok(f64::NAN);
                }
                Ok(self.push(x))
            }
            stream_common!();
            /// Back to the state right after construction.
            pub fn reset(&mut self) {
                self.chain.reset();
                self.count = 0;
                self.value = f64::NAN;
            }
        }

        #[doc = concat!("TA-Lib's `", $ta, "` on a NaN-free slice (NaN for the lookback).")]
        pub fn $kernel(x: &[f64], period: usize, out: &mut [f64]) {
            $checked(x, period, out);
        }

        fma_kernel!(
            #[doc = concat!("[`", stringify!($kernel), "`], returning whether `x` held a NaN.")]
            fn $checked(x: &[f64], period: usize, out: &mut [f64]) -> bool = $body;
        );

        #[inline(always)]
        fn $body(x: &[f64], period: usize, out: &mut [f64]) -> bool {
            assert_eq!(x.len(), out.len());
            let mut s = $ty::new(period as i64).expect("period checked");
            // The lookback and the seeds through the streaming state; then every EMA is past
            // its seed and each step is `Ema::update`'s hot path, `ema_step` with the same `k`,
            // run here on locals (NB: 2x faster than `push` per value).
            let warm = (s.lookback() + 1).min(x.len());
            let (xw, xr) = x.split_at(warm);
            let (ow, or) = out.split_at_mut(warm);
            let mut nan = run!(xw, ow, s);
            let k = super::ema::ema_k(period);
            let mut e: [f64; $n] = std::array::from_fn(|j| s.chain.e[j].value());
            for (o, &v) in or.iter_mut().zip(xr) {
                nan |= v.is_nan();
                let mut u = v;
                for ej in e.iter_mut() {
                    *ej = super::ema::ema_step::<true>(u, *ej, k);
                    u = *ej;
                }
                *o = $out(e);
            }
            nan
        }

        #[doc = concat!("Batch `", $ta, "(real, timeperiod=30)`.")]
        pub fn $batch(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
            let mut out = super::output(x.len(), 0);
            $into(x, period, &mut out)?;
            Ok(out)
        }

        #[doc = concat!("[`", stringify!($batch), "`] into `out` (same length as `x`).")]
        pub fn $into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
            let period = check_period("timeperiod", period, 1)?;
            super::apply_into_propagating("real", x, out, |x, out| $checked(x, period, out))
        }
    };
}

ema_chain_type!(
    /// Double EMA (TA-Lib `DEMA`): `2·EMA - EMA(EMA)`, lookback `2·(timeperiod-1)`.
    /// Bit-identical to TA-Lib 0.8.1 (its fused EMA, then `2·e1 - e2`).
    Dema, 2, dema_out, dema_kernel, dema_checked, dema_body, dema, dema_into, "DEMA"
);
ema_chain_type!(
    /// Triple EMA (TA-Lib `TEMA`): `3·EMA - 3·EMA(EMA) + EMA(EMA(EMA))`, lookback
    /// `3·(timeperiod-1)`. Bit-identical to TA-Lib 0.8.1.
    Tema, 3, tema_out, tema_kernel, tema_checked, tema_body, tema, tema_into, "TEMA"
);

// --- TRIMA ---------------------------------------------------------------------------------

/// Triangular moving average (TA-Lib `TRIMA`): TA-Lib's running numerator (`numeratorSub` /
/// `numeratorAdd` around the window's middle), same operation order: bit-identical.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Trima {
    period: usize,
    half: usize,
    factor: f64,
    num: f64,
    sub: f64,
    add: f64,
    hist: Hist,
    count: usize,
    value: f64,
}

impl Trima {
    /// `timeperiod >= 1`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        let half = period >> 1;
        let w = if period % 2 == 1 {
            (half + 1) * (half + 1)
        } else {
            half * (half + 1)
        };
        Ok(Self {
            period,
            half,
            factor: 1.0 / w as f64,
            num: 0.0,
            sub: 0.0,
            add: 0.0,
            hist: Hist::new(period + 1),
            count: 0,
            value: f64::NAN,
        })
    }
    fn lookback(&self) -> usize {
        self.period - 1
    }
    /// The value `age` values before the one being pushed (`0` = it).
    #[inline(always)]
    fn at(&self, x: f64, age: usize) -> f64 {
        if age == 0 { x } else { self.hist.back(age) }
    }
    #[inline(always)]
    fn push(&mut self, x: f64) -> f64 {
        self.count += 1;
        let p = self.period;
        let h = self.half;
        let odd = p % 2 == 1;
        if self.count == p {
            // TA-Lib's initialisation over the first window (indices 0..p, `x` is index p-1).
            let mid = if odd { h } else { h - 1 };
            let (mut num, mut sub) = (0.0, 0.0);
            for j in (0..=mid).rev() {
                sub += self.at(x, p - 1 - j);
                num += sub;
            }
            let mut add = 0.0;
            for j in mid + 1..p {
                add += self.at(x, p - 1 - j);
                num += add;
            }
            self.num = num;
            self.sub = sub;
            self.add = add;
            self.value = num * self.factor;
        } else if self.count > p {
            let trailing = self.hist.back(p);
            let middle = self.at(x, h);
            self.steady(x, trailing, middle);
        }
        self.hist.push(x);
        self.value
    }
    /// A step past the first window: `trailing` (the value `period` before `x`) leaves,
    /// `middle` (the value `period / 2` before `x`, `x` itself for period 1) crosses the middle.
    #[inline(always)]
    fn steady(&mut self, x: f64, trailing: f64, middle: f64) -> f64 {
        let odd = self.period % 2 == 1;
        {
            self.num -= self.sub;
            self.sub -= trailing;
            self.sub += middle;
            if odd {
                self.num += self.add;
                self.add -= middle;
            } else {
                self.add -= middle;
                self.num += self.add;
            }
            self.add += x;
            self.num += x;
            self.value = self.num * self.factor;
        }
        self.value
    }
    /// Push one value; the TRIMA (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        Ok(self.push(x))
    }
    stream_common!();
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.num = 0.0;
        self.sub = 0.0;
        self.add = 0.0;
        self.hist.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib's TRIMA on a NaN-free slice (NaN for the lookback `timeperiod - 1`).
pub fn trima_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    trima_checked(x, period, out);
}

fma_kernel!(
    /// [`trima_kernel`], returning whether `x` held a NaN.
    fn trima_checked(x: &[f64], period: usize, out: &mut [f64]) -> bool = trima_body;
);

#[inline(always)]
fn trima_body(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    let mut s = Trima::new(period as i64).expect("period checked");
    // The first window through `push`, then `steady` on values read from the slice (no ring).
    let warm = period.min(x.len());
    let mut nan = run!(&x[..warm], &mut out[..warm], s);
    let h = s.half;
    for t in warm..x.len() {
        let v = x[t];
        nan |= v.is_nan();
        out[t] = s.steady(v, x[t - period], x[t - h]);
    }
    nan
}

/// Batch TRIMA (TA-Lib `TRIMA(real, timeperiod=30)`).
pub fn trima(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    trima_into(x, period, &mut out)?;
    Ok(out)
}

/// [`trima`] into `out` (same length as `x`).
pub fn trima_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply_into_propagating("real", x, out, |x, out| trima_checked(x, period, out))
}

// --- KAMA ----------------------------------------------------------------------------------

const KAMA_MAX: f64 = 2.0 / (30.0 + 1.0);

#[inline(always)]
fn kama_diff() -> f64 {
    2.0 / (2.0 + 1.0) - KAMA_MAX
}

/// Kaufman's adaptive moving average (TA-Lib `KAMA`, fast 2 / slow 30): efficiency ratio
/// `min(1, |x[t] - x[t-p]| / Σ|x[i] - x[i-1]|)` (1 when the sum is not positive or not above
/// the change), smoothing `(er · (2/3 - 2/31) + 2/31)²`, then `kama += (x - kama) · sc`, seeded
/// with the previous value. `timeperiod = 1` copies the input, as TA-Lib does.
///
/// NB: TA-Lib 0.8.1 (read with `objdump -d`) differs from `ta_KAMA.c`: it counts consecutive
/// zero one-bar changes and, once a whole window is flat, restarts the running sum from an
/// exact 0 (the classic `TA_IS_ZERO` test is gone), and clamps the ratio to 1; its build fuses
/// `fma(er, 2/3 - 2/31, 2/31)` and `fma(x - kama, sc, kama)`. We do the same: bit-identical.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Kama {
    period: usize,
    sum_roc1: f64,
    /// Consecutive zero one-bar changes (at most `period`).
    flat: usize,
    prev: f64,
    hist: Hist,
    count: usize,
    value: f64,
}

impl Kama {
    /// `timeperiod >= 1`.
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        Ok(Self {
            period,
            sum_roc1: 0.0,
            flat: 0,
            prev: f64::NAN,
            hist: Hist::new(period + 1),
            count: 0,
            value: f64::NAN,
        })
    }
    fn lookback(&self) -> usize {
        if self.period == 1 { 0 } else { self.period }
    }
    #[inline(always)]
    fn smooth(&mut self, x: f64, period_roc: f64) {
        let er = if self.flat >= self.period || 0.0 >= self.sum_roc1 || period_roc >= self.sum_roc1
        {
            1.0
        } else {
            let r = (period_roc / self.sum_roc1).abs();
            if 1.0 < r { 1.0 } else { r }
        };
        let mut sc = er.mul_add(kama_diff(), KAMA_MAX);
        sc *= sc;
        self.prev = (x - self.prev).mul_add(sc, self.prev);
        self.value = self.prev;
    }
    #[inline(always)]
    fn push(&mut self, x: f64) -> f64 {
        self.count += 1;
        let p = self.period;
        let t = self.count - 1;
        if p == 1 {
            self.value = x;
        } else if t >= 1 && t <= p {
            let mut d = self.hist.back(1);
            d -= x;
            self.sum_roc1 += d.abs();
            self.flat = if d == 0.0 { self.flat + 1 } else { 0 };
            if t == p {
                self.prev = self.hist.back(1);
                let x0 = self.hist.back(p);
                self.smooth(x, x - x0);
            }
        } else if t > p {
            let (x_tp, trailing, x_prev) =
                (self.hist.back(p), self.hist.back(p + 1), self.hist.back(1));
            self.steady(x, x_tp, trailing, x_prev);
        }
        self.hist.push(x);
        self.value
    }
    /// A step past the first window (period >= 2): `x_tp`, `trailing` and `x_prev` are the
    /// values `period`, `period + 1` and 1 before `x`.
    #[inline(always)]
    fn steady(&mut self, x: f64, x_tp: f64, trailing: f64, x_prev: f64) -> f64 {
        let p = self.period;
        {
            let period_roc = x - x_tp;
            let d = x - x_prev;
            self.flat = if d == 0.0 { self.flat + 1 } else { 0 };
            if self.flat >= p {
                // A flat window: TA-Lib 0.8.1 restarts the sum from an exact 0.
                self.flat = p;
                self.sum_roc1 = 0.0;
            } else {
                self.sum_roc1 -= (trailing - x_tp).abs();
                self.sum_roc1 += d.abs();
            }
            self.smooth(x, period_roc);
        }
        self.value
    }
    /// Push one value; the KAMA (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        Ok(self.push(x))
    }
    stream_common!();
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.sum_roc1 = 0.0;
        self.flat = 0;
        self.prev = f64::NAN;
        self.hist.clear();
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib's KAMA on a NaN-free slice (NaN for the lookback `timeperiod`; none for period 1).
pub fn kama_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    kama_checked(x, period, out);
}

fma_kernel!(
    /// [`kama_kernel`], returning whether `x` held a NaN.
    fn kama_checked(x: &[f64], period: usize, out: &mut [f64]) -> bool = kama_body;
);

#[inline(always)]
fn kama_body(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    let mut s = Kama::new(period as i64).expect("period checked");
    // Period 1 and the first window through `push`, then `steady` on values read from the
    // slice (no ring).
    let warm = if period == 1 {
        x.len()
    } else {
        (period + 1).min(x.len())
    };
    let mut nan = run!(&x[..warm], &mut out[..warm], s);
    for t in warm..x.len() {
        let v = x[t];
        nan |= v.is_nan();
        out[t] = s.steady(v, x[t - period], x[t - period - 1], x[t - 1]);
    }
    nan
}

/// Batch KAMA (TA-Lib `KAMA(real, timeperiod=30)`).
pub fn kama(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    kama_into(x, period, &mut out)?;
    Ok(out)
}

/// [`kama`] into `out` (same length as `x`).
pub fn kama_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    super::apply_into_propagating("real", x, out, |x, out| kama_checked(x, period, out))
}

// --- T3 ------------------------------------------------------------------------------------

/// Tillson's T3 (TA-Lib `T3`): six chained EMAs with `k = 2 / (timeperiod + 1)`, each seeded
/// with the mean of its first `timeperiod` inputs, combined as `c1·e6 + c2·e5 + c3·e4 + c4·e3`
/// with the volume factor's coefficients. Lookback `6·(timeperiod - 1)`; `timeperiod = 1`
/// copies the input, as TA-Lib does. Bit-identical to TA-Lib 0.8.1, whose build fuses
/// `k·x + (1-k)·e` into `fma(1-k, e, k·x)` and the output into
/// `fma(c4, e3, fma(c3, e4, fma(c1, e6, c2·e5)))` (found by comparing bits with `talib`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct T3 {
    period: usize,
    k: f64,
    one_minus_k: f64,
    c: [f64; 4],
    e: [f64; 6],
    sum: f64,
    count: usize,
    value: f64,
}

pub(crate) fn check_vfactor(v: f64) -> CoreResult<f64> {
    if !(0.0..=1.0).contains(&v) {
        return Err(CoreError::InvalidArgument {
            name: "vfactor",
            reason: format!("must be a number in [0, 1], got {v}"),
        });
    }
    Ok(v)
}

impl T3 {
    /// `timeperiod >= 1`, `0 <= vfactor <= 1` (TA-Lib's range).
    pub fn new(period: i64, vfactor: f64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 1)?;
        let v = check_vfactor(vfactor)?;
        let k = 2.0 / (period as f64 + 1.0);
        let t = v * v;
        let c1 = 0.0 - t * v;
        let c2 = 3.0 * (t - c1);
        let c3 = (0.0 - 6.0) * t - 3.0 * (v - c1);
        // TA-Lib 0.8.1 fuses `1 + 3v - c1 + 3t` into `fma(3, t, fma(3, v, 1) - c1)`.
        let c4 = 3.0f64.mul_add(t, 3.0f64.mul_add(v, 1.0) - c1);
        Ok(Self {
            period,
            k,
            one_minus_k: 1.0 - k,
            c: [c1, c2, c3, c4],
            e: [0.0; 6],
            sum: 0.0,
            count: 0,
            value: f64::NAN,
        })
    }
    fn lookback(&self) -> usize {
        6 * (self.period - 1)
    }
    /// `k·x + (1-k)·e` as TA-Lib 0.8.1 computes it: `fma(1-k, e, k·x)`.
    #[inline(always)]
    fn ema(&self, x: f64, e: f64) -> f64 {
        self.one_minus_k.mul_add(e, self.k * x)
    }
    /// Update the first `n` EMAs with `x`.
    #[inline(always)]
    fn chain(&mut self, x: f64, n: usize) {
        let mut v = x;
        for j in 0..n {
            self.e[j] = self.ema(v, self.e[j]);
            v = self.e[j];
        }
    }
    #[inline(always)]
    fn output(&self) -> f64 {
        let [c1, c2, c3, c4] = self.c;
        c4.mul_add(
            self.e[2],
            c3.mul_add(self.e[3], c1.mul_add(self.e[5], c2 * self.e[4])),
        )
    }
    #[inline(always)]
    fn push(&mut self, x: f64) -> f64 {
        self.count += 1;
        let p = self.period;
        let t = self.count - 1;
        let lb = 6 * (p - 1);
        if p == 1 {
            self.value = x;
        } else if t < p {
            self.sum = if t == 0 { x } else { self.sum + x };
            if t == p - 1 {
                self.e[0] = self.sum / p as f64;
                self.sum = self.e[0];
            }
        } else if t <= lb {
            // Seeding EMA number `ph` (2..=6) from the previous one's outputs.
            let ph = (t - p) / (p - 1) + 2;
            self.chain(x, ph - 1);
            self.sum += self.e[ph - 2];
            if (t - (p - 1)).is_multiple_of(p - 1) {
                self.e[ph - 1] = self.sum / p as f64;
                self.sum = self.e[ph - 1];
            }
            if t == lb {
                self.value = self.output();
            }
        } else {
            self.chain(x, 6);
            self.value = self.output();
        }
        self.value
    }
    /// Push one value; the T3 (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        Ok(self.push(x))
    }
    stream_common!();
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.e = [0.0; 6];
        self.sum = 0.0;
        self.count = 0;
        self.value = f64::NAN;
    }
}

/// TA-Lib's T3 on a NaN-free slice (NaN for the lookback). `vfactor` must be in `[0, 1]`.
pub fn t3_kernel(x: &[f64], period: usize, vfactor: f64, out: &mut [f64]) {
    t3_checked(x, period, vfactor, out);
}

fma_kernel!(
    /// [`t3_kernel`], returning whether `x` held a NaN.
    fn t3_checked(x: &[f64], period: usize, vfactor: f64, out: &mut [f64]) -> bool = t3_body;
);

#[inline(always)]
fn t3_body(x: &[f64], period: usize, vfactor: f64, out: &mut [f64]) -> bool {
    assert_eq!(x.len(), out.len());
    let mut s = T3::new(period as i64, vfactor).expect("arguments checked");
    // Period 1, the lookback and the seeds through `push`; then `push`'s last branch alone.
    let warm = if period == 1 {
        x.len()
    } else {
        (s.lookback() + 1).min(x.len())
    };
    let mut nan = run!(&x[..warm], &mut out[..warm], s);
    for (o, &v) in out[warm..].iter_mut().zip(&x[warm..]) {
        nan |= v.is_nan();
        s.chain(v, 6);
        *o = s.output();
    }
    nan
}

/// Batch T3 (TA-Lib `T3(real, timeperiod=5, vfactor=0.7)`).
pub fn t3(x: &[f64], period: i64, vfactor: f64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    t3_into(x, period, vfactor, &mut out)?;
    Ok(out)
}

/// [`t3`] into `out` (same length as `x`).
pub fn t3_into(x: &[f64], period: i64, vfactor: f64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    let vfactor = check_vfactor(vfactor)?;
    super::apply_into_propagating("real", x, out, |x, out| t3_checked(x, period, vfactor, out))
}

// --- MA dispatcher -------------------------------------------------------------------------

/// TA-Lib's `MAType` values this crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MaType {
    /// 0
    Sma,
    /// 1
    Ema,
    /// 2
    Wma,
    /// 3
    Dema,
    /// 4
    Tema,
    /// 5
    Trima,
    /// 6
    Kama,
    /// 8 (volume factor 0.7, as TA-Lib's `MA`)
    T3,
}

impl MaType {
    /// From TA-Lib's integer code; the error names `name` and lists the supported values.
    pub fn from_code(name: &'static str, code: i64) -> CoreResult<Self> {
        Ok(match code {
            0 => Self::Sma,
            1 => Self::Ema,
            2 => Self::Wma,
            3 => Self::Dema,
            4 => Self::Tema,
            5 => Self::Trima,
            6 => Self::Kama,
            8 => Self::T3,
            _ => {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!(
                        "unsupported moving average type {code} (supported: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 8 T3)"
                    ),
                });
            }
        })
    }

    /// The lookback of this average over `period` (TA-Lib's `TA_MA_Lookback`).
    pub fn lookback(self, period: usize) -> usize {
        if period <= 1 {
            return 0;
        }
        match self {
            Self::Sma | Self::Ema | Self::Wma | Self::Trima => period - 1,
            Self::Dema => 2 * (period - 1),
            Self::Tema => 3 * (period - 1),
            Self::Kama => period,
            Self::T3 => 6 * (period - 1),
        }
    }
}

/// The moving average `matype` of a NaN-free slice (TA-Lib `MA`): `period = 1` copies the
/// input for every type, as `TA_MA` does.
pub fn ma_kernel(x: &[f64], period: usize, matype: MaType, out: &mut [f64]) {
    if period == 1 {
        out.copy_from_slice(x);
        return;
    }
    match matype {
        MaType::Sma => super::sma::sma_kernel(x, period, out),
        MaType::Ema => super::ema::ema_kernel(x, period, out),
        MaType::Wma => super::wma::wma_kernel(x, period, out),
        MaType::Dema => dema_kernel(x, period, out),
        MaType::Tema => tema_kernel(x, period, out),
        MaType::Trima => trima_kernel(x, period, out),
        MaType::Kama => kama_kernel(x, period, out),
        MaType::T3 => t3_kernel(x, period, 0.7, out),
    }
}

/// Batch MA (TA-Lib `MA(real, timeperiod=30, matype=0)`).
pub fn ma(x: &[f64], period: i64, matype: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    ma_into(x, period, matype, &mut out)?;
    Ok(out)
}

/// [`ma`] into `out` (same length as `x`).
pub fn ma_into(x: &[f64], period: i64, matype: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 1)?;
    let matype = MaType::from_code("matype", matype)?;
    super::apply_into("real", x, out, |x, out| ma_kernel(x, period, matype, out))
}

/// A streaming moving average of any [`MaType`]: bit-for-bit [`ma`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Ma {
    /// `period = 1`: the input itself.
    Copy { count: usize, value: f64 },
    /// SMA
    Sma(Sma),
    /// EMA
    Ema(Ema),
    /// WMA
    Wma(Wma),
    /// DEMA
    Dema(Dema),
    /// TEMA
    Tema(Tema),
    /// TRIMA
    Trima(Trima),
    /// KAMA
    Kama(Kama),
    /// T3
    T3(T3),
}

impl Ma {
    /// `timeperiod >= 1`, `matype` one of TA-Lib's codes this crate supports.
    pub fn new(period: i64, matype: i64) -> CoreResult<Self> {
        let p = check_period("timeperiod", period, 1)?;
        let t = MaType::from_code("matype", matype)?;
        Ok(Self::of(p, t))
    }

    /// The average `matype` of a checked `period >= 1` (the smoothing stages of STOCH, APO, ...).
    pub fn of(period: usize, matype: MaType) -> Self {
        if period == 1 {
            return Self::Copy {
                count: 0,
                value: f64::NAN,
            };
        }
        let p = period as i64;
        // The period was checked (>= 2 here) and T3's volume factor is a valid constant: the
        // constructors cannot fail.
        let ok = "period >= 2 checked";
        match matype {
            MaType::Sma => Self::Sma(Sma::new(p).expect(ok)),
            MaType::Ema => Self::Ema(Ema::new(p).expect(ok)),
            MaType::Wma => Self::Wma(Wma::new(p).expect(ok)),
            MaType::Dema => Self::Dema(Dema::new(p).expect(ok)),
            MaType::Tema => Self::Tema(Tema::new(p).expect(ok)),
            MaType::Trima => Self::Trima(Trima::new(p).expect(ok)),
            MaType::Kama => Self::Kama(Kama::new(p).expect(ok)),
            MaType::T3 => Self::T3(T3::new(p, 0.7).expect(ok)),
        }
    }
    /// Push one value; the average (NaN during the lookback).
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        match self {
            Self::Copy { count, value } => {
                if !super::stream_gate("x", x, *count > 0, *count)? {
                    return Ok(f64::NAN);
                }
                *count += 1;
                *value = x;
                Ok(x)
            }
            Self::Sma(s) => s.update(x),
            Self::Ema(s) => s.update(x),
            Self::Wma(s) => s.update(x),
            Self::Dema(s) => s.update(x),
            Self::Tema(s) => s.update(x),
            Self::Trima(s) => s.update(x),
            Self::Kama(s) => s.update(x),
            Self::T3(s) => s.update(x),
        }
    }
    /// The last output.
    pub fn value(&self) -> f64 {
        match self {
            Self::Copy { value, .. } => *value,
            Self::Sma(s) => s.value(),
            Self::Ema(s) => s.value(),
            Self::Wma(s) => s.value(),
            Self::Dema(s) => s.value(),
            Self::Tema(s) => s.value(),
            Self::Trima(s) => s.value(),
            Self::Kama(s) => s.value(),
            Self::T3(s) => s.value(),
        }
    }
    /// Valid values pushed so far.
    pub fn count(&self) -> usize {
        match self {
            Self::Copy { count, .. } => *count,
            Self::Sma(s) => s.count(),
            Self::Ema(s) => s.count(),
            Self::Wma(s) => s.count(),
            Self::Dema(s) => s.count(),
            Self::Tema(s) => s.count(),
            Self::Trima(s) => s.count(),
            Self::Kama(s) => s.count(),
            Self::T3(s) => s.count(),
        }
    }
    /// Whether the lookback is over.
    pub fn initialized(&self) -> bool {
        match self {
            Self::Copy { count, .. } => *count > 0,
            Self::Sma(s) => s.initialized(),
            Self::Ema(s) => s.initialized(),
            Self::Wma(s) => s.initialized(),
            Self::Dema(s) => s.initialized(),
            Self::Tema(s) => s.initialized(),
            Self::Trima(s) => s.initialized(),
            Self::Kama(s) => s.initialized(),
            Self::T3(s) => s.initialized(),
        }
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        match self {
            Self::Copy { count, value } => {
                *count = 0;
                *value = f64::NAN;
            }
            Self::Sma(s) => s.reset(),
            Self::Ema(s) => s.reset(),
            Self::Wma(s) => s.reset(),
            Self::Dema(s) => s.reset(),
            Self::Tema(s) => s.reset(),
            Self::Trima(s) => s.reset(),
            Self::Kama(s) => s.reset(),
            Self::T3(s) => s.reset(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 100.0 + ((i as f64) * 0.37).sin() * 3.0 + ((i * 7 % 13) as f64) * 0.1)
            .collect()
    }

    #[test]
    fn trima_is_sma_of_sma() {
        let x = walk(200);
        for p in [1usize, 2, 3, 4, 5, 10, 11] {
            let out = trima(&x, p as i64).unwrap();
            let (a, b) = if p % 2 == 1 {
                (p.div_ceil(2), p.div_ceil(2))
            } else {
                (p / 2, p / 2 + 1)
            };
            let s1 = super::super::sma::sma(&x, a as i64).unwrap();
            let s2 = super::super::sma::sma(&s1, b as i64).unwrap();
            for i in 0..x.len() {
                assert_eq!(out[i].is_nan(), s2[i].is_nan(), "p={p} i={i}");
                if !out[i].is_nan() {
                    assert!((out[i] - s2[i]).abs() < 1e-9, "p={p} i={i}");
                }
            }
        }
    }

    #[test]
    fn lookbacks_and_streaming_equals_batch() {
        let x = walk(300);
        for t in [0, 1, 2, 3, 4, 5, 6, 8] {
            for p in [1i64, 2, 3, 7, 20] {
                let b = ma(&x, p, t).unwrap();
                let lb = MaType::from_code("matype", t).unwrap().lookback(p as usize);
                assert!(b[..lb].iter().all(|v| v.is_nan()), "t={t} p={p}");
                assert!(!b[lb].is_nan(), "t={t} p={p}");
                let mut s = Ma::new(p, t).unwrap();
                for (i, &v) in x.iter().enumerate() {
                    assert_eq!(
                        s.update(v).unwrap().to_bits(),
                        b[i].to_bits(),
                        "t={t} p={p} i={i}"
                    );
                }
                assert!(s.initialized());
            }
        }
        assert!(Ma::new(5, 7).is_err());
        assert!(T3::new(5, 1.5).is_err());
        assert!(matches!(ma(&x, 0, 0), Err(CoreError::InvalidPeriod { .. })));
    }

    #[test]
    fn kama_flat_series_stays_flat() {
        let out = kama(&[5.0; 40], 10).unwrap();
        assert!(out[9].is_nan());
        assert!(out[10..].iter().all(|&v| v == 5.0));
    }
}
