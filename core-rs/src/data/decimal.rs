//! Decimal strings straight to fixed-point integers (no float on the way).

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{MAX_DP, pow10};

/// Why a decimal string was refused.
fn bad(name: &'static str, s: &str, why: &str) -> CoreError {
    CoreError::InvalidArgument {
        name,
        reason: format!("{why}: {s:?}"),
    }
}

/// Parse a non-negative decimal string (`"61800.20"`, `"3"`, `"0.00100000"`) as a count of
/// `10^-dp`. Digits past `dp` must be zeros (`"61800.20"` at `dp = 1` is exactly 618002);
/// a non-zero digit past `dp` cannot be represented and is an error, as are signs, exponents,
/// empty parts and values beyond `i64`. `name` names the field in the error.
#[inline]
pub fn parse_fixed(s: &str, dp: u8, name: &'static str) -> CoreResult<i64> {
    parse_fixed_bytes(s.as_bytes(), dp, name)
}

/// [`parse_fixed`] of the bytes of a text (a decoder's slice of a message, no UTF-8 check on the
/// way; a malformed value is an error naming it as text).
#[inline]
pub fn parse_fixed_bytes(b: &[u8], dp: u8, name: &'static str) -> CoreResult<i64> {
    if b.len() <= 18
        && let Some(v) = parse_short(b, dp)
    {
        return Ok(v);
    }
    parse_checked(&String::from_utf8_lossy(b), dp, name)
}

/// [`parse_fixed`] of a text of at most 18 bytes: its digits cannot overflow, so no check per
/// digit (the scaling to `dp` is still checked). `None`: not a well-formed value (the checked
/// path then says why).
#[inline(always)]
fn parse_short(b: &[u8], dp: u8) -> Option<i64> {
    let mut v: i64 = 0;
    let mut i = 0;
    while i < b.len() {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + d as i64;
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut frac = 0u8;
    if i < b.len() {
        if b[i] != b'.' {
            return None;
        }
        i += 1;
        let start = i;
        while i < b.len() {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            if frac < dp {
                v = v * 10 + d as i64;
                frac += 1;
            } else if d != 0 {
                return None;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    while frac < dp {
        v = v.checked_mul(10)?;
        frac += 1;
    }
    Some(v)
}

#[inline(never)]
fn parse_checked(s: &str, dp: u8, name: &'static str) -> CoreResult<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: i64 = 0;
    // Integer part: up to 18 digits cannot overflow; beyond, check.
    while i < b.len() {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = match v.checked_mul(10).and_then(|x| x.checked_add(d as i64)) {
            Some(x) => x,
            None => return Err(bad(name, s, "out of range")),
        };
        i += 1;
    }
    if i == 0 {
        return Err(bad(name, s, "not a decimal number"));
    }
    let mut frac = 0u8;
    if i < b.len() {
        if b[i] != b'.' {
            return Err(bad(name, s, "not a decimal number"));
        }
        i += 1;
        let start = i;
        while i < b.len() {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                return Err(bad(name, s, "not a decimal number"));
            }
            if frac < dp {
                v = match v.checked_mul(10).and_then(|x| x.checked_add(d as i64)) {
                    Some(x) => x,
                    None => return Err(bad(name, s, "out of range")),
                };
                frac += 1;
            } else if d != 0 {
                return Err(bad(
                    name,
                    s,
                    &format!("more decimals than the precision ({dp})"),
                ));
            }
            i += 1;
        }
        if i == start {
            return Err(bad(name, s, "not a decimal number"));
        }
    }
    while frac < dp {
        v = match v.checked_mul(10) {
            Some(x) => x,
            None => return Err(bad(name, s, "out of range")),
        };
        frac += 1;
    }
    Ok(v)
}

/// Number of digits after the decimal point of `s` (trailing zeros count: Binance pads prices
/// and sizes to the symbol's precision, so this *is* the precision). Errors above `MAX_DP`.
pub fn decimals_of(s: &str, name: &'static str) -> CoreResult<u8> {
    let n = match s.find('.') {
        Some(p) => s.len() - p - 1,
        None => 0,
    };
    if n > MAX_DP as usize {
        return Err(CoreError::InvalidArgument {
            name,
            reason: format!("{s:?} has {n} decimals, more than the supported {MAX_DP}"),
        });
    }
    Ok(n as u8)
}

/// The fewest decimals (at most `MAX_DP`) that write every finite value of `values` exactly as
/// its shortest round-trip decimal (`61800.2` has 1, `0.006` has 3; NaN and infinities are
/// skipped): the precision of float columns decoded from decimal text. One pass over all the
/// values, not a first batch. A value that needs more than `MAX_DP` decimals is an error naming
/// `name` and the value.
pub fn decimals_of_floats(values: &[f64], name: &'static str) -> CoreResult<u8> {
    let mut dp: u8 = 0;
    let mut scale = 1.0f64;
    for &v in values {
        if !v.is_finite() {
            continue;
        }
        // Fast path: `v` already prints with at most `dp` decimals when scaling, rounding and
        // scaling back gives `v` again (exact for the magnitudes of prices and sizes).
        if ((v * scale).round() / scale) == v {
            continue;
        }
        let text = format!("{v}"); // shortest round-trip representation, never exponent form
        let n = decimals_of(&text, name)?;
        if n > dp {
            dp = n;
            scale = pow10(dp as u32) as f64;
        }
    }
    Ok(dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_fixed("61800.20", 2, "px").unwrap(), 6_180_020);
        assert_eq!(parse_fixed("61800.20", 1, "px").unwrap(), 618_002);
        assert_eq!(parse_fixed("61800.20", 4, "px").unwrap(), 618_002_000);
        assert_eq!(parse_fixed("0.00100000", 8, "q").unwrap(), 100_000);
        assert_eq!(parse_fixed("1001", 0, "q").unwrap(), 1001);
        assert_eq!(parse_fixed("0", 3, "q").unwrap(), 0);
        assert!(parse_fixed("61800.25", 1, "px").is_err());
        for s in [
            "",
            ".5",
            "5.",
            "-1",
            "+1",
            "1e5",
            "1.2.3",
            "abc",
            " 1",
            "99999999999999999999",
        ] {
            assert!(parse_fixed(s, 2, "px").is_err(), "{s:?}");
        }
        assert_eq!(decimals_of("61837.63000000", "px").unwrap(), 8);
        assert_eq!(decimals_of("1001", "q").unwrap(), 0);
        assert!(decimals_of("0.0000000001", "q").is_err());
    }

    #[test]
    fn float_precision_from_every_value() {
        let f = |v: &[f64]| decimals_of_floats(v, "price").unwrap();
        assert_eq!(f(&[]), 0);
        assert_eq!(f(&[61800.0, 3.0]), 0);
        assert_eq!(f(&[61800.2, 61800.0]), 1);
        // The one value with more decimals far down the column decides (not a first batch).
        let mut v = vec![100.5; 10_000];
        v.push(100.125);
        assert_eq!(f(&v), 3);
        assert_eq!(f(&[0.006, f64::NAN, 0.1]), 3);
        assert_eq!(f(&[0.00011, 1.5]), 5);
        assert_eq!(f(&[1e-9]), 9);
        let err = decimals_of_floats(&[0.1, 1.0 / 3.0], "price").unwrap_err();
        assert!(err.to_string().contains("price"), "{err}");
    }
}
