//! Numbers in sentences: how the risk engine and its layers write the figures behind a denial, a
//! resize or a change of trading state. Only ever called on those paths, never on a passing
//! order.

/// `s` (a decimal number) without trailing zeros after the point, nor a bare point.
fn trim(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A configured figure (a limit, a multiple) with up to 4 decimals, trailing zeros dropped:
/// 3.0 → "3", 2.5 → "2.5".
pub fn figure(x: f64) -> String {
    trim(format!("{x:.4}"))
}

/// A configured fraction as a percentage: 0.1 → "10", 0.125 → "12.5".
pub fn pct(x: f64) -> String {
    figure(x * 100.0)
}

/// `x` with `min_dp` decimals, more (up to 8) when fewer would show it on the other side of
/// `limit` than it is (so "9.96 % < 10 %" never prints as "10.0 % < 10 %").
pub fn shown_vs(x: f64, limit: f64, min_dp: usize) -> String {
    let tol = 1e-9 * limit.abs().max(1.0);
    for dp in min_dp..=8 {
        let s = format!("{x:.dp$}");
        let shown: f64 = s.parse().unwrap_or(x);
        if (x >= limit) == (shown >= limit - tol) && (x > limit) == (shown > limit + tol) {
            return s;
        }
    }
    format!("{x}")
}

/// A measured fraction `v` as a percentage beside its limit (a fraction too): one decimal, more
/// where needed (see [`shown_vs`]).
pub fn pct_vs(v: f64, limit: f64) -> String {
    shown_vs(v * 100.0, limit * 100.0, 1)
}

/// A measured figure with 3 significant digits (up to 8 decimals): 0.01234 → "0.0123",
/// 12.345 → "12.3", 1234.5 → "1235".
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let dp = (2 - x.abs().log10().floor() as i64).clamp(0, 8) as usize;
    format!("{x:.dp$}")
}

/// An amount of money given as a float (currency units), two decimals.
pub fn money_f64(x: f64) -> String {
    format!("{x:.2}")
}

/// A duration in its largest unit (s, ms, µs, ns), up to 3 decimals: 1_000_000_000 → "1 s",
/// 250_000_000 → "250 ms", 1_500 → "1.5 µs".
pub fn secs(ns: i64) -> String {
    let a = ns.unsigned_abs();
    let (div, unit) = if a >= 1_000_000_000 {
        (1e9, "s")
    } else if a >= 1_000_000 {
        (1e6, "ms")
    } else if a >= 1_000 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    };
    format!("{} {unit}", trim(format!("{:.3}", ns as f64 / div)))
}

/// The engine clock (UTC epoch ns) as `YYYY-MM-DD HH:MM:SS UTC` (with milliseconds when it has
/// any).
pub fn utc(ts: i64) -> String {
    const NS: i64 = 1_000_000_000;
    let secs = ts.div_euclid(NS);
    let ns = ts.rem_euclid(NS);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (sod / 3_600, sod % 3_600 / 60, sod % 60);
    let ms = ns / 1_000_000;
    if ms == 0 {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
    } else {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03} UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_percentages() {
        assert_eq!(figure(3.0), "3");
        assert_eq!(figure(2.5), "2.5");
        assert_eq!(pct(0.1), "10");
        assert_eq!(pct(0.125), "12.5");
        assert_eq!(pct(0.07), "7");
        assert_eq!(pct_vs(0.123, 0.1), "12.3");
        // one decimal would round onto the limit: more decimals
        assert_eq!(pct_vs(0.09996, 0.1), "9.996");
        assert_eq!(pct_vs(0.1, 0.1), "10.0");
        assert_eq!(shown_vs(3.004, 3.0, 2), "3.004");
        assert_eq!(shown_vs(3.41, 3.0, 2), "3.41");
        assert_eq!(sig3(0.01234), "0.0123");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(1234.5), "1234");
        assert_eq!(secs(1_000_000_000), "1 s");
        assert_eq!(secs(250_000_000), "250 ms");
        assert_eq!(secs(1_500), "1.5 µs");
        assert_eq!(secs(101), "101 ns");
        assert_eq!(secs(90_500_000_000), "90.5 s");
        assert_eq!(secs(60_000_000_000), "60 s");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        // 2022-01-05 13:01:00 UTC
        assert_eq!(utc(1_641_387_660_000_000_000), "2022-01-05 13:01:00 UTC");
        assert_eq!(
            utc(1_709_210_096_250_000_000),
            "2024-02-29 12:34:56.250 UTC"
        );
        assert_eq!(utc(-1_000_000_000), "1969-12-31 23:59:59 UTC");
    }
}
