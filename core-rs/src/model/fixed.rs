//! Exact fixed-point arithmetic for prices, quantities and money.
//!
//! Prices and quantities are `i64` counts of the instrument's smallest increment
//! (`10^-precision`); money is an `i128` count of `10^-MONEY_DP` units of the quote currency.
//! A notional `price * qty` is exact at scale `10^(price_dp + size_dp)`, and every supported
//! precision keeps `price_dp + size_dp <= MONEY_DP`, so cash moves by exact amounts: no float drift
//! in cash and positions. Only fees and slippage round, and they round against the trader.

/// Decimal places of money amounts.
pub const MONEY_DP: u32 = 18;
/// Largest precision accepted for prices and for sizes (their sum stays within `MONEY_DP`).
pub const MAX_DP: u8 = 9;

/// 10^k for k = 0..=38, the powers an i128 holds.
const POW10_TABLE: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut k = 1;
    while k < 39 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// 10^dp (dp ≤ 38).
// NB: a table, not a loop: `Instrument::notional_scale` calls it on every notional (each check,
// fill and excursion); the loop was ~850k instructions of a 200k-bar vectorized run (callgrind).
#[inline(always)]
pub const fn pow10(dp: u32) -> i128 {
    POW10_TABLE[dp as usize]
}

/// Integer division rounding toward +infinity.
#[inline]
pub fn div_ceil(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0);
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 { q } else { q + 1 }
}

/// Integer division rounding toward -infinity.
#[inline]
pub fn div_floor(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0);
    a.div_euclid(b)
}

/// Round to the nearest integer, halves away from zero, for |x| < 9e18.
/// NB: `f64::round` is a libm call on baseline x86-64 (no SSE4.1 `roundsd` without target
/// features), ~5 ns, four times per bar; truncation plus the exact remainder is branch-cheap.
#[inline]
pub fn round_i64(x: f64) -> i64 {
    let t = x as i64; // truncates toward zero
    let frac = x - t as f64; // exact
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// `value` scaled by `scale` (= 10^dp) and rounded to nearest. `None` if not finite or out of range.
#[inline]
pub fn to_raw_scaled(value: f64, scale: f64) -> Option<i64> {
    let scaled = value * scale;
    if scaled.abs() < 9.0e18 {
        Some(round_i64(scaled))
    } else {
        None
    } // NaN fails the comparison
}

/// `value` (a float) as a count of `10^-dp`, rounded to nearest. `None` if not finite or out of range.
#[inline]
pub fn to_raw(value: f64, dp: u8) -> Option<i64> {
    to_raw_scaled(value, pow10(dp as u32) as f64)
}

#[inline]
pub fn from_raw(raw: i64, dp: u8) -> f64 {
    raw as f64 / pow10(dp as u32) as f64
}

/// `v` as the nearest f64 (correctly rounded). For |v| < 2^106 (money below ~8e13 currency
/// units) the value splits into `hi·2^53 + lo` with both halves exact in f64, so the one rounding
/// is the final addition; beyond, the library conversion.
// NB: `i128 as f64` is a library call (`__floattidf`) on x86-64; the split is six instructions and
// vectorises, which the exact equity curve needs once a bar.
#[inline(always)]
pub fn i128_to_f64(v: i128) -> f64 {
    if v.unsigned_abs() < (1u128 << 106) {
        let hi = v >> 53; // floor: lo below is in [0, 2^53)
        let lo = (v - (hi << 53)) as i64;
        (hi as i64) as f64 * 9_007_199_254_740_992.0 + lo as f64
    } else {
        v as f64
    }
}

/// A money amount as a float in currency units (for reports; the books stay exact): the exact
/// amount correctly rounded to f64, divided by the exactly representable 1e18 (two roundings,
/// ≤ 1 ulp). The same exact amount always gives the same float, and an amount that is a whole
/// number of cents below 2^53 cents comes out as the nearest float to its decimal value.
/// NB: an exact split through i128 division costs two `__divti3` calls, ~100 ns a bar on the
/// vectorized path.
#[inline(always)]
pub fn money_to_f64(m: i128) -> f64 {
    i128_to_f64(m) / 1e18
}

/// Exact decimal text of a fixed-point value (for reports and CSV).
pub fn format_fixed(raw: i128, dp: u32) -> String {
    if dp == 0 {
        return raw.to_string();
    }
    let scale = pow10(dp);
    let sign = if raw < 0 { "-" } else { "" };
    let a = raw.unsigned_abs();
    let s = scale as u128;
    format!("{sign}{}.{:0width$}", a / s, a % s, width = dp as usize)
}

/// `x` (a count of rate units, 1e-10) as a whole count, rounded up unless within float noise of
/// one: a rate with more than ten decimals of a fraction is never cut in the trader's favour.
#[inline]
fn rate_units_up(x: f64) -> f64 {
    let n = x.round();
    if (x - n).abs() <= 1e-9 * x.abs().max(1.0) {
        n
    } else {
        x.ceil()
    }
}

/// A rate (fees, slippage) in basis points, held exactly as a count of 1e-6 bp (a fraction at
/// 1e-10). A rate finer than that is rounded up: fees, slippage, margin rates never round in the
/// trader's favour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Bps(pub i64);

impl Bps {
    /// Denominator: 1 = 10_000 bp = 10^10 units.
    pub const ONE: i128 = 10_000_000_000;

    pub fn from_f64(bps: f64) -> Option<Bps> {
        let v = rate_units_up(bps * 1e6);
        if v.is_finite() && v >= 0.0 && v < 1e15 {
            Some(Bps(v as i64))
        } else {
            None
        }
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// A signed rate (maker fees that may be rebates, funding rates), at the scale of [`Bps`]: a
/// count of 1e-10 (1e-6 bp), so `Rate(Bps::ONE as i64)` is 100%.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Rate(pub i64);

impl Rate {
    /// From basis points (may be negative: a rebate), rounded up to the unit (a charge up, a
    /// rebate toward zero). `None` if not finite or beyond ±1e9 bp.
    pub fn from_bps(bps: f64) -> Option<Rate> {
        let v = rate_units_up(bps * 1e6);
        if v.is_finite() && v.abs() < 1e15 {
            Some(Rate(v as i64))
        } else {
            None
        }
    }

    /// From a fraction (0.0001 = 1 bp), rounded up as [`Rate::from_bps`].
    pub fn from_fraction(x: f64) -> Option<Rate> {
        Self::from_bps(x * 1e4)
    }

    /// From a fraction that must sit on the 1e-10 grid (within float noise): a funding rate, paid
    /// by one side and received by the other, has no side to round toward. `None` otherwise.
    pub fn from_fraction_exact(x: f64) -> Option<Rate> {
        let v = x * 1e10;
        let n = v.round();
        if v.is_finite() && n.abs() < 1e15 && (v - n).abs() <= 1e-9 * v.abs().max(1.0) {
            Some(Rate(n as i64))
        } else {
            None
        }
    }

    pub fn as_bps(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `amount × rate`, rounded up (a charge rounds up, a credit rounds toward zero).
    #[inline]
    pub fn charge(self, amount: i128) -> i128 {
        div_ceil(amount * self.0 as i128, Bps::ONE)
    }
}

impl From<Bps> for Rate {
    fn from(b: Bps) -> Rate {
        Rate(b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_format() {
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(to_raw(101.25, 2), Some(10125));
        assert_eq!(to_raw(0.1 + 0.2, 1), Some(3));
        assert_eq!(to_raw(f64::NAN, 2), None);
        assert_eq!(to_raw(f64::INFINITY, 2), None);
        assert_eq!(to_raw(-2.5, 0), Some(-3));
        for x in [
            0.49999999999999994,
            1.5,
            2.5,
            -0.5,
            123456.789,
            -7.25,
            4503599627370497.0,
        ] {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
        assert_eq!(format_fixed(-12345, 3), "-12.345");
        assert_eq!(format_fixed(5, 3), "0.005");
        assert_eq!(money_to_f64(pow10(MONEY_DP) * 3 / 2), 1.5);
        assert_eq!(money_to_f64(10_000 * pow10(MONEY_DP)), 10_000.0);
        for v in [
            0i128,
            1,
            -1,
            (1 << 53) + 1,
            -(1 << 60) - 12_345,
            123_456_789_012_345_678_901_234_567,
            -98_765_432_109_876_543_210_987,
            (1 << 105) + 3,
            -(1 << 105) - 5,
            (1 << 110) + 7,
        ] {
            assert_eq!(i128_to_f64(v), v as f64, "{v}");
        }
        assert_eq!(Bps::from_f64(2.5), Some(Bps(2_500_000)));
        assert_eq!(Bps::from_f64(-1.0), None);
        // finer than 1e-6 bp: up (a fee of 1/3 bp is 333_334 units, not 333_333)
        assert_eq!(Bps::from_f64(1.0 / 3.0), Some(Bps(333_334)));
        assert_eq!(Rate::from_bps(1.0 / 3.0), Some(Rate(333_334)));
        assert_eq!(Rate::from_bps(-1.0 / 3.0), Some(Rate(-333_333)));
        assert_eq!(Rate::from_fraction(0.00012345), Some(Rate(1_234_500)));
        assert_eq!(Rate::from_fraction_exact(0.00012345), Some(Rate(1_234_500)));
        assert_eq!(Rate::from_fraction_exact(-0.0000251), Some(Rate(-251_000)));
        assert_eq!(Rate::from_fraction_exact(1.0 / 3e4), None);
    }
}
