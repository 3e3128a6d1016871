//! Relative strength index, Wilder's smoothing.
//!
//! # Two kernels
//!
//! * [`rsi_kernel`] is TA-Lib 0.8.1's exact sequence (the 0.8.2 wheel; its `TA_RSI` read with
//!   `objdump -d`, no FMA clone): per bar `gain = max(change, 0)` (as `0 < d ? d : 0`),
//!   `loss = gain - change`, `avg_gain = (avg_gain * (p-1) + gain) * (1/p)`, the same for the loss,
//!   the seed is the sum of the first `p` gains (losses) times `1/p`, and the output is
//!   `avg_gain / (avg_gain + avg_loss) * 100` when that sum is `> 0`, else `0`. It is bit-identical
//!   to `talib.RSI` and is what the multi-period SIMD kernel (`simd::rsi_multi`) runs per row.
//! * [`rsi`] / [`rsi_into`] and the streaming [`Rsi`] use the *blocked* form of the same
//!   recurrence, which is not latency-bound: TA-Lib's chain `avg = (avg*(p-1) + g) * (1/p)` costs
//!   a dependent mul→add→mul per value (the whole loop waits on it), so a sequential kernel can
//!   only tie TA-Lib. Wilder's average is the linear recurrence `y_t = a·y_{t-1} + b·v_t`
//!   (`a = (p-1)/p`, `b = 1/p`). After the seed (output index `p`), the steps are cut into blocks
//!   of [`BLOCK`] values; in each block, from `local = 0`, `pw = 1`:
//!   `local = local*a + v*b`, `pw = pw*a`, `y = local + pw*C` ([`Block::step`]), where `C` is the
//!   `y` of the last step of the previous block (the seed for the first block). The locals of
//!   [`LANES`] blocks are independent chains, computed side by side (SIMD lanes); the `C`s are a
//!   short sequential pass over block ends; the `y`s and outputs are an elementwise pass. The
//!   streaming [`Rsi`] runs [`Block::step`] one value at a time: same operations in the same order
//!   (no FMA anywhere), so **streaming == batch bit for bit**, on every backend.
//!
//! # Accuracy against TA-Lib
//!
//! Every term is `>= 0` (gains, losses, `a`, `b`, `pw`, `C`), so no rounding error is amplified by
//! cancellation; the blocked and TA-Lib's sequential averages differ by a few ulps times
//! `min(p, BLOCK) / (1 - a^BLOCK)` at worst, and the RSI by about as much relative. Measured
//! against `talib.RSI`: at most 6e-15 relative on the recorded 1-minute bars (periods 2..1000),
//! 3e-14 on 400k-value random walks for periods up to 100000 (tests check 1e-9). Zeros are exact:
//! an average is `0` in both exactly when all its terms are `0`, so `rsi == 0` (no gains, or a
//! flat window) and `rsi == 100` (no losses) where TA-Lib has them. NaN positions are the same.
//!
//! NB, the underflow corner: after a run of roughly `745 / -ln(a)` values without gains (losses) —
//! ~1000 bars for `p = 2`, ~9500 for `p = 14`, e.g. a long flat or one-way run — that average
//! decays into the subnormal range, where both kernels lose precision (TA-Lib's sequential decay
//! stalls at a few units of 2^-1074, ours reaches 0 at a block end, where `C * a^BLOCK`
//! underflows), so the RSI there (≈ 0 or ≈ 100, or meaningless when both averages are subnormal:
//! after a long flat run TA-Lib says 50 from two stalled subnormals, we say 0 or another ratio)
//! differs from TA-Lib's beyond 1e-9. Measured on a random walk then a flat run: the first such
//! output comes ~1040 flat bars in for p = 2, ~1790 for p = 3, ~9770 for p = 14. The recorded
//! 1-minute data has no flat run longer than 8 bars nor a one-way run longer than 19. Likewise,
//! averages near `f64::MAX` can overflow in TA-Lib's `avg*(p-1)` and not here.

use crate::error::{CoreResult, check_len, check_period};
use crate::simd::Backend;

/// Values per block of the blocked recurrence (positions counted from the seed).
///
/// NB: the AVX2 kernel alone on 1M values (p = 14, Zen 3 VM, best of 60; TA-Lib's sequential
/// order: 3.1 ms). Without the prefetch, 8 lanes of 64 → 2.2-2.4 ms, 128 → 2.0-2.7 ms, 256 →
/// 1.7-2.0 ms; with it, 128 → 1.8-2.1 ms, 256 → 1.4-1.6 ms, and 4 lanes of 512 → 1.2-1.45 ms
/// (kept; 5-10% ahead of 8 x 256 run for run, 2.05 vs 1.85 median ratio to talib.RSI in the
/// pytest bench). Each lane streams through its own block of `x`, so longer blocks read memory
/// better; but they contract rounding errors more slowly (`a^BLOCK`), and the step-major scratch
/// (`2 * BLOCK * LANES` values, 32 KiB) should stay in L1.
pub const BLOCK: usize = 512;

/// Blocks computed side by side by the batch kernel (independent chains / SIMD lanes).
pub const LANES: usize = 4;

const GROUP: usize = BLOCK * LANES;

/// Gain and loss of one change, as TA-Lib 0.8.1 splits it.
#[inline(always)]
pub fn split(d: f64) -> (f64, f64) {
    let g = if 0.0 < d { d } else { 0.0 };
    (g, g - d)
}

/// The RSI of the current averages.
#[inline(always)]
pub fn rsi_value(gain: f64, loss: f64) -> f64 {
    let s = gain + loss;
    if s > 0.0 { gain / s * 100.0 } else { 0.0 }
}

/// One Wilder step of the averages for the change `d`, TA-Lib's way ([`rsi_kernel`]).
#[inline(always)]
pub fn rsi_step(gain: &mut f64, loss: &mut f64, d: f64, pm1: f64, inv: f64) {
    let (g, l) = split(d);
    *gain = (*gain * pm1 + g) * inv;
    *loss = (l + *loss * pm1) * inv;
}

/// The coefficients of the blocked form: `a = (p-1)/p`, `b = 1/p` (each correctly rounded).
#[inline(always)]
fn coeffs(period: usize) -> (f64, f64) {
    let p = period as f64;
    ((p - 1.0) / p, 1.0 / p)
}

/// One step of a block's local chain: `local*a + v*b` (two products, one sum; never fused).
#[inline(always)]
pub fn local_step(local: f64, v: f64, a: f64, b: f64) -> f64 {
    local * a + v * b
}

/// The average at a block position: `local + pw*C`.
#[inline(always)]
pub fn at(local: f64, pw: f64, c: f64) -> f64 {
    local + pw * c
}

/// The state of the blocked recurrence for both averages: the running block's locals, its
/// power `a^i`, position `i`, and the carried averages `C` at the end of the previous block.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Block {
    gain: f64,
    loss: f64,
    pw: f64,
    pos: usize,
    c_gain: f64,
    c_loss: f64,
}

impl Block {
    /// A block starting after averages `(c_gain, c_loss)` (the seed, or a block end).
    #[inline(always)]
    pub fn new(c_gain: f64, c_loss: f64) -> Self {
        Self {
            gain: 0.0,
            loss: 0.0,
            pw: 1.0,
            pos: 0,
            c_gain,
            c_loss,
        }
    }

    /// One value of the change `d`: returns the averages `(gain, loss)` after it. The batch
    /// kernel performs exactly these operations, lane by lane.
    #[inline(always)]
    pub fn step(&mut self, d: f64, a: f64, b: f64) -> (f64, f64) {
        let (g, l) = split(d);
        self.gain = local_step(self.gain, g, a, b);
        self.loss = local_step(self.loss, l, a, b);
        self.pw *= a;
        let yg = at(self.gain, self.pw, self.c_gain);
        let yl = at(self.loss, self.pw, self.c_loss);
        self.pos += 1;
        if self.pos == BLOCK {
            *self = Self::new(yg, yl);
        }
        (yg, yl)
    }
}

/// The seed: TA-Lib's sum of the first `period` gains (losses) of `x[..=period]` times `1/p`.
/// Returns `(gain, loss, x[period])`.
#[inline(always)]
fn seed(x: &[f64], period: usize) -> (f64, f64, f64) {
    let inv = 1.0 / period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    let mut prev = x[0];
    for &v in &x[1..=period] {
        let (g, l) = split(v - prev);
        prev = v;
        gain += g;
        loss += l;
    }
    (gain * inv, loss * inv, prev)
}

/// TA-Lib 0.8.1's RSI on a NaN-free slice, bit for bit (sequential); `out[..period]` is NaN.
pub fn rsi_kernel(x: &[f64], period: usize, out: &mut [f64]) {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..period.min(n)].fill(f64::NAN);
    if n <= period {
        return;
    }
    let inv = 1.0 / period as f64;
    let pm1 = (period - 1) as f64;
    let (mut gain, mut loss, mut prev) = seed(x, period);
    out[period] = rsi_value(gain, loss);
    for (o, &v) in out[period + 1..].iter_mut().zip(&x[period + 1..]) {
        rsi_step(&mut gain, &mut loss, v - prev, pm1, inv);
        prev = v;
        *o = rsi_value(gain, loss);
    }
}

/// The constants of one blocked run: `a`, `b` and the powers `pw[i] = a^(i+1)` of a block, by
/// the same repeated multiplication as [`Block::step`].
struct Coef {
    a: f64,
    b: f64,
    pw: [f64; BLOCK],
}

impl Coef {
    #[inline(always)]
    fn new(period: usize) -> Self {
        let (a, b) = coeffs(period);
        let mut pw = [0.0; BLOCK];
        let mut p = 1.0;
        for v in pw.iter_mut() {
            p *= a;
            *v = p;
        }
        Self { a, b, pw }
    }
}

/// The locals of a group, step-major: `[gain|loss][i][lane]` (32 KiB on the stack, reused by
/// every group of a call: no allocation).
type Scratch = [[[f64; LANES]; BLOCK]; 2];

/// One group of [`LANES`] whole blocks, scalar: `xe` is the value before the group then its
/// [`GROUP`] values, `c` the averages before it; writes the group's outputs and returns the
/// averages at its end. Lane `j` is block `j`; every lane performs [`Block::step`]'s operations:
/// pass 1 the local chains (side by side), then the carried averages block by block, then pass 2
/// the averages `local + pw*C` and the RSI.
#[inline(always)]
fn group_scalar(
    xe: &[f64; GROUP + 1],
    c: (f64, f64),
    k: &Coef,
    scratch: &mut Scratch,
    out: &mut [f64; GROUP],
) -> (f64, f64) {
    let [sg, sl] = scratch;
    let mut lg = [0.0; LANES];
    let mut ll = [0.0; LANES];
    for i in 0..BLOCK {
        for j in 0..LANES {
            let t = j * BLOCK + i;
            let (g, l) = split(xe[t + 1] - xe[t]);
            lg[j] = local_step(lg[j], g, k.a, k.b);
            ll[j] = local_step(ll[j], l, k.a, k.b);
        }
        sg[i] = lg;
        sl[i] = ll;
    }
    let (cg, cl) = carried(&lg, &ll, c, k);
    for i in 0..BLOCK {
        for j in 0..LANES {
            let yg = at(sg[i][j], k.pw[i], cg[j]);
            let yl = at(sl[i][j], k.pw[i], cl[j]);
            out[j * BLOCK + i] = rsi_value(yg, yl);
        }
    }
    (
        at(lg[LANES - 1], k.pw[BLOCK - 1], cg[LANES - 1]),
        at(ll[LANES - 1], k.pw[BLOCK - 1], cl[LANES - 1]),
    )
}

/// The averages carried into each block of a group (`c` into the first; block `j`'s end,
/// `local + a^BLOCK * C`, into block `j + 1`).
#[inline(always)]
fn carried(
    lg: &[f64; LANES],
    ll: &[f64; LANES],
    c: (f64, f64),
    k: &Coef,
) -> ([f64; LANES], [f64; LANES]) {
    let (mut g, mut l) = c;
    let mut cg = [0.0; LANES];
    let mut cl = [0.0; LANES];
    for j in 0..LANES {
        cg[j] = g;
        cl[j] = l;
        g = at(lg[j], k.pw[BLOCK - 1], g);
        l = at(ll[j], k.pw[BLOCK - 1], l);
    }
    (cg, cl)
}

/// The blocked RSI on a NaN-free slice (see the module docs), whole groups by `group`, the rest
/// by [`Block::step`]; `out[..period]` is NaN. Returns whether a NaN reached the averages (it
/// then stays there) or ends `x`.
#[inline(always)]
fn blocked(
    x: &[f64],
    period: usize,
    out: &mut [f64],
    mut group: impl FnMut(
        &[f64; GROUP + 1],
        (f64, f64),
        &Coef,
        &mut Scratch,
        &mut [f64; GROUP],
    ) -> (f64, f64),
) -> bool {
    debug_assert_eq!(x.len(), out.len());
    let n = x.len();
    out[..period.min(n)].fill(f64::NAN);
    if n <= period {
        return x.iter().any(|v| v.is_nan());
    }
    let k = Coef::new(period);
    let (gain, loss, _) = seed(x, period);
    out[period] = rsi_value(gain, loss);
    let mut c = (gain, loss);
    let mut scratch = [[[0.0; LANES]; BLOCK]; 2];
    let mut s = period; // the index before the next step
    while let (Some(xe), Some(oe)) = (
        x[s..].first_chunk::<{ GROUP + 1 }>(),
        out[s + 1..].first_chunk_mut::<GROUP>(),
    ) {
        c = group(xe, c, &k, &mut scratch, oe);
        s += GROUP;
    }
    let mut blk = Block::new(c.0, c.1);
    for t in s + 1..n {
        c = blk.step(x[t] - x[t - 1], k.a, k.b);
        out[t] = rsi_value(c.0, c.1);
    }
    c.0.is_nan() || c.1.is_nan() || x[n - 1].is_nan()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{BLOCK, Coef, GROUP, LANES, Scratch, carried};
    use std::arch::x86_64::*;

    const Q: usize = LANES / 4;

    /// Rows to columns of a 4x4 block of f64.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn transpose(r: [__m256d; 4]) -> [__m256d; 4] {
        let t0 = _mm256_unpacklo_pd(r[0], r[1]);
        let t1 = _mm256_unpackhi_pd(r[0], r[1]);
        let t2 = _mm256_unpacklo_pd(r[2], r[3]);
        let t3 = _mm256_unpackhi_pd(r[2], r[3]);
        [
            _mm256_permute2f128_pd::<0x20>(t0, t2),
            _mm256_permute2f128_pd::<0x20>(t1, t3),
            _mm256_permute2f128_pd::<0x31>(t0, t2),
            _mm256_permute2f128_pd::<0x31>(t1, t3),
        ]
    }

    /// [`super::group_scalar`] with 4 lanes per register: the same operations on every lane
    /// (`max(d, 0)` is `0 < d ? d : 0` bit for bit: MAXPD returns its second operand, +0, for
    /// NaN and for ±0; the `> 0` test is an ordered compare, the `else 0` an AND with its mask).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn group(
        xe: &[f64; GROUP + 1],
        c: (f64, f64),
        k: &Coef,
        scratch: &mut Scratch,
        out: &mut [f64; GROUP],
    ) -> (f64, f64) {
        const { assert!(LANES.is_multiple_of(4) && BLOCK.is_multiple_of(4)) };
        let (va, vb) = (_mm256_set1_pd(k.a), _mm256_set1_pd(k.b));
        let zero = _mm256_setzero_pd();
        let [sg, sl] = scratch;
        let xp = xe.as_ptr();
        let mut lg = [zero; Q];
        let mut ll = [zero; Q];
        for i in (0..BLOCK).step_by(4) {
            for q in 0..Q {
                let mut d = [zero; 4];
                for (r, d) in d.iter_mut().enumerate() {
                    let t = (4 * q + r) * BLOCK + i;
                    if i % 8 == 0 {
                        // NB: the same place in the next group, one line per lane every 8 steps
                        // (a hint, never faults): -25..30% time on 1M values; each lane only
                        // reads BLOCK values in a row, too short for the hardware prefetcher.
                        _mm_prefetch::<_MM_HINT_T0>(xp.wrapping_add(t + GROUP).cast());
                    }
                    // SAFETY: t + 4 <= (LANES - 1) * BLOCK + BLOCK = GROUP, so both loads read
                    // inside `xe` (GROUP + 1 values).
                    let (hi, lo) =
                        unsafe { (_mm256_loadu_pd(xp.add(t + 1)), _mm256_loadu_pd(xp.add(t))) };
                    *d = _mm256_sub_pd(hi, lo);
                }
                for (s, d) in transpose(d).into_iter().enumerate() {
                    let g = _mm256_max_pd(d, zero);
                    let l = _mm256_sub_pd(g, d);
                    lg[q] = _mm256_add_pd(_mm256_mul_pd(lg[q], va), _mm256_mul_pd(g, vb));
                    ll[q] = _mm256_add_pd(_mm256_mul_pd(ll[q], va), _mm256_mul_pd(l, vb));
                    // SAFETY: i + s < BLOCK and 4 * q + 4 <= LANES: inside the rows.
                    unsafe {
                        _mm256_storeu_pd(sg[i + s].as_mut_ptr().add(4 * q), lg[q]);
                        _mm256_storeu_pd(sl[i + s].as_mut_ptr().add(4 * q), ll[q]);
                    }
                }
            }
        }
        let (mut eg, mut el) = ([0.0; LANES], [0.0; LANES]);
        for q in 0..Q {
            // SAFETY: 4 * q + 4 <= LANES.
            unsafe {
                _mm256_storeu_pd(eg.as_mut_ptr().add(4 * q), lg[q]);
                _mm256_storeu_pd(el.as_mut_ptr().add(4 * q), ll[q]);
            }
        }
        let (cg, cl) = carried(&eg, &el, c, k);
        // SAFETY: 4 * q + 4 <= LANES.
        let cgv: [__m256d; Q] =
            std::array::from_fn(|q| unsafe { _mm256_loadu_pd(cg.as_ptr().add(4 * q)) });
        // SAFETY: as above.
        let clv: [__m256d; Q] =
            std::array::from_fn(|q| unsafe { _mm256_loadu_pd(cl.as_ptr().add(4 * q)) });
        let hundred = _mm256_set1_pd(100.0);
        let op = out.as_mut_ptr();
        for i in (0..BLOCK).step_by(4) {
            for q in 0..Q {
                let mut r = [zero; 4];
                for (s, r) in r.iter_mut().enumerate() {
                    let pw = _mm256_set1_pd(k.pw[i + s]);
                    // SAFETY: i + s < BLOCK and 4 * q + 4 <= LANES: inside the rows.
                    let (g, l) = unsafe {
                        (
                            _mm256_loadu_pd(sg[i + s].as_ptr().add(4 * q)),
                            _mm256_loadu_pd(sl[i + s].as_ptr().add(4 * q)),
                        )
                    };
                    let yg = _mm256_add_pd(g, _mm256_mul_pd(pw, cgv[q]));
                    let yl = _mm256_add_pd(l, _mm256_mul_pd(pw, clv[q]));
                    let sum = _mm256_add_pd(yg, yl);
                    let v = _mm256_mul_pd(_mm256_div_pd(yg, sum), hundred);
                    *r = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(sum, zero), v);
                }
                for (rr, v) in transpose(r).into_iter().enumerate() {
                    // SAFETY: (4q + rr) * BLOCK + i + 4 <= GROUP: inside `out`.
                    unsafe { _mm256_storeu_pd(op.add((4 * q + rr) * BLOCK + i), v) };
                }
            }
        }
        let end = |l: &[f64; LANES], c: &[f64; LANES]| {
            super::at(l[LANES - 1], k.pw[BLOCK - 1], c[LANES - 1])
        };
        (end(&eg, &cg), end(&el, &cl))
    }
}

/// [`blocked`] with AVX2 groups.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blocked_avx2(x: &[f64], period: usize, out: &mut [f64]) -> bool {
    blocked(x, period, out, |xe, c, k, s, o| {
        // SAFETY: the caller guarantees AVX2.
        unsafe { x86::group(xe, c, k, s, o) }
    })
}

/// The blocked kernel on backend `be`, which the CPU must support (as [`crate::simd::backend`]
/// guarantees). The AVX-512 backend runs the AVX2 build (an 8-lane build could not be measured
/// on the development machine, which lacks AVX-512); every build gives the same bits.
fn blocked_on(be: Backend, x: &[f64], period: usize, out: &mut [f64]) -> bool {
    match be {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 | Backend::Avx512 if std::arch::is_x86_feature_detected!("avx2") => {
            // SAFETY: AVX2 was detected just above.
            unsafe { blocked_avx2(x, period, out) }
        }
        _ => blocked(x, period, out, group_scalar),
    }
}

/// The blocked RSI of a NaN-free slice on an explicit backend (tests compare backends with it);
/// returns whether a NaN reached the averages. Fails if the CPU lacks the backend.
pub fn rsi_kernel_with(be: Backend, x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<bool> {
    let period = check_period("timeperiod", period, 2)?;
    crate::simd::ensure_available(be)?;
    check_len("out", x.len(), out.len())?;
    Ok(blocked_on(be, x, period, out))
}

/// Batch RSI of `x` (TA-Lib `RSI(real, timeperiod)`, `timeperiod >= 2` as in TA-Lib).
pub fn rsi(x: &[f64], period: i64) -> CoreResult<Vec<f64>> {
    let mut out = super::output(x.len(), 0);
    rsi_into(x, period, &mut out)?;
    Ok(out)
}

/// [`rsi`] into `out` (same length as `x`, every element written).
pub fn rsi_into(x: &[f64], period: i64, out: &mut [f64]) -> CoreResult<()> {
    let period = check_period("timeperiod", period, 2)?;
    let be = crate::simd::backend()?;
    super::apply_into_propagating("real", x, out, |x, out| blocked_on(be, x, period, out))
}

/// Streaming RSI: bit-for-bit [`rsi`] (it runs [`Block::step`], the batch kernel's operations).
/// O(1), no allocation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rsi {
    period: usize,
    inv: f64,
    a: f64,
    b: f64,
    gain: f64,
    loss: f64,
    block: Block,
    prev: f64,
    count: usize,
    value: f64,
}

impl Rsi {
    /// A streaming RSI with `period >= 2` (argument name in errors: `timeperiod`).
    pub fn new(period: i64) -> CoreResult<Self> {
        let period = check_period("timeperiod", period, 2)?;
        let (a, b) = coeffs(period);
        Ok(Self {
            period,
            inv: 1.0 / period as f64,
            a,
            b,
            gain: 0.0,
            loss: 0.0,
            block: Block::new(0.0, 0.0),
            prev: f64::NAN,
            count: 0,
            value: f64::NAN,
        })
    }

    /// Push one value and return the RSI (NaN for the first `period` values).
    #[inline]
    pub fn update(&mut self, x: f64) -> CoreResult<f64> {
        if !super::stream_gate("x", x, self.count > 0, self.count)? {
            return Ok(f64::NAN);
        }
        self.count += 1;
        let c = self.count;
        if c == 1 {
            self.prev = x;
            return Ok(self.value);
        }
        let d = x - self.prev;
        self.prev = x;
        if c <= self.period + 1 {
            // The seed, as [`seed`] sums it.
            let (g, l) = split(d);
            self.gain += g;
            self.loss += l;
            if c == self.period + 1 {
                self.gain *= self.inv;
                self.loss *= self.inv;
                self.block = Block::new(self.gain, self.loss);
                self.value = rsi_value(self.gain, self.loss);
            }
        } else {
            let (g, l) = self.block.step(d, self.a, self.b);
            self.value = rsi_value(g, l);
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
        self.count > self.period
    }
    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }
    /// Back to the state right after construction.
    pub fn reset(&mut self) {
        self.gain = 0.0;
        self.loss = 0.0;
        self.block = Block::new(0.0, 0.0);
        self.prev = f64::NAN;
        self.count = 0;
        self.value = f64::NAN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(n: usize, seed: u64, flat_every: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut v = 100.0;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                if flat_every == 0 || !(s >> 7).is_multiple_of(flat_every) {
                    v *= 1.0 + u * 0.01;
                }
                v
            })
            .collect()
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b { 0.0 } else { ((a - b) / b).abs() }
    }

    #[test]
    fn streaming_equals_batch_and_bounds() {
        let x: Vec<f64> = (0..300)
            .map(|i| 50.0 + ((i as f64) * 0.37).sin() * 5.0 + (i % 7) as f64)
            .chain(walk(3 * GROUP + 77, 1, 4))
            .collect();
        for p in [2, 3, 14, 50, 1000] {
            let batch = rsi(&x, p).unwrap();
            let mut r = Rsi::new(p).unwrap();
            for (i, &v) in x.iter().enumerate() {
                let o = r.update(v).unwrap();
                assert_eq!(o.to_bits(), batch[i].to_bits(), "p={p} i={i}");
                if !o.is_nan() {
                    assert!((0.0..=100.0).contains(&o));
                }
            }
        }
        assert!(Rsi::new(1).is_err());
    }

    #[test]
    fn backends_are_bit_identical_to_scalar() {
        let mut ran = vec![];
        for n in [
            0,
            1,
            15,
            16,
            17,
            GROUP,
            GROUP + 15,
            GROUP + 16,
            5 * GROUP + 333,
        ] {
            let x = walk(n, n as u64, 3);
            for p in [2i64, 14, 15, 200] {
                let mut want = vec![0.0; n];
                let t = rsi_kernel_with(Backend::Scalar, &x, p, &mut want).unwrap();
                for be in crate::simd::available() {
                    let mut got = vec![0.0; n];
                    assert_eq!(rsi_kernel_with(be, &x, p, &mut got).unwrap(), t);
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{} n={n} p={p}", be.name());
                    ran.push(be.name());
                }
            }
        }
        ran.dedup();
        eprintln!(
            "rsi blocked kernel: backends compared with scalar: {:?}",
            crate::simd::available()
        );
    }

    #[test]
    fn close_to_talib_sequence_for_many_periods() {
        let x = walk(40 * GROUP, 7, 5);
        let mut worst = 0.0f64;
        for p in [2usize, 3, 5, 14, 30, 127, 128, 129, 500, 1000, 5000] {
            let mut seq = vec![0.0; x.len()];
            rsi_kernel(&x, p, &mut seq);
            let ours = rsi(&x, p as i64).unwrap();
            for (i, (&o, &s)) in ours.iter().zip(&seq).enumerate() {
                assert_eq!(o.is_nan(), s.is_nan(), "p={p} i={i}");
                if s == 0.0 || s == 100.0 {
                    assert_eq!(o, s, "p={p} i={i}");
                }
                if !s.is_nan() {
                    worst = worst.max(rel(o, s));
                }
            }
        }
        assert!(worst <= 1e-11, "worst relative difference {worst:e}");
    }

    #[test]
    fn nan_taints_and_infinities_match_talib() {
        let mut x = walk(2 * GROUP + 50, 3, 0);
        x[GROUP + 5] = f64::NAN;
        let mut out = vec![0.0; x.len()];
        assert!(rsi_kernel_with(Backend::Scalar, &x, 14, &mut out).unwrap());
        assert!(rsi(&x, 14).is_err());
        let mut y = walk(2 * GROUP + 50, 4, 0);
        y[300] = f64::INFINITY;
        let ours = rsi(&y, 14).unwrap();
        let mut seq = vec![0.0; y.len()];
        rsi_kernel(&y, 14, &mut seq);
        for (i, (&o, &s)) in ours.iter().zip(&seq).enumerate() {
            assert_eq!(o.is_nan(), s.is_nan(), "i={i}");
            assert!(
                o.is_nan() || o == s || rel(o, s) < 1e-12,
                "i={i}: {o} vs {s}"
            );
        }
    }

    #[test]
    fn flat_series_is_zero_and_rising_is_hundred() {
        assert_eq!(rsi(&[5.0; 10], 3).unwrap()[9], 0.0);
        let up: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert_eq!(rsi(&up, 3).unwrap()[9], 100.0);
        let long_up: Vec<f64> = (0..3 * GROUP).map(|i| i as f64).collect();
        assert!(rsi(&long_up, 14).unwrap()[14..].iter().all(|&v| v == 100.0));
    }
}
