//! Equity-curve statistics in one pass (the report's per-point work; the rest is arithmetic on
//! these figures, done in `python/trader/results.py`).

/// What the report needs from an equity curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveStats {
    /// Points in the curve.
    pub n: usize,
    /// Returns that count: one per point up to the ruin point (included), or every point.
    pub n_returns: usize,
    /// Mean simple return per point (the first return is against the initial cash).
    pub mean_return: f64,
    /// Sample standard deviation of the returns (ddof = 1; 0 for fewer than two).
    pub std_return: f64,
    /// Downside deviation `sqrt(mean(min(r, 0)^2))`.
    pub downside_dev: f64,
    /// Largest fall from a running peak (the initial cash counts as a peak), as a fraction of
    /// the peak (above 1 when equity fell below zero).
    pub max_drawdown: f64,
    /// Longest run of consecutive points below a running peak.
    pub max_drawdown_points: usize,
    /// Longest time spent below a running peak (ns): from the point that set the peak (the first
    /// point for the initial cash) to the first point back at or above it, or to the last point.
    pub max_drawdown_ns: i64,
    /// Fraction of points with an open position.
    pub exposure: f64,
    /// The first point whose equity is at or below zero: the account is ruined there, its
    /// return is -100 %, and the returns stop (nothing after ruin is a return on capital).
    pub ruin: Option<usize>,
}

/// Simple return of point `e` against the previous value `prev` (0 when `prev` is not
/// positive), never below -100 %.
#[inline(always)]
fn ret(e: f64, prev: f64) -> f64 {
    // NB: selects, not f64::max (its NaN rule keeps the lanes scalar); equity is never NaN
    let r = e / prev - 1.0;
    let r = if r < -1.0 { -1.0 } else { r };
    if prev > 0.0 { r } else { 0.0 }
}

/// The first point at or below zero: blocks of 16 checked branch-free, the first failing block
/// searched point by point (a plain `position` stays one compare-and-branch a point).
#[inline(always)]
fn first_ruin(equity: &[f64]) -> Option<usize> {
    let mut chunks = equity.chunks_exact(16);
    let mut base = 0;
    for c in chunks.by_ref() {
        if c.iter().fold(false, |acc, &e| acc | (e <= 0.0)) {
            return c.iter().position(|&e| e <= 0.0).map(|k| base + k);
        }
        base += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&e| e <= 0.0)
        .map(|k| base + k)
}

/// Sums of `f(r)` (two values each) over the returns of `equity` against the previous point
/// (the first against `initial`), in `L` independent lanes: one running sum is bound by the add
/// latency (4 cycles a point); eight lanes let the divisions and adds pipeline and vectorise.
/// The lanes are added up at the end, so sums differ from one running sum in the last bits.
#[inline(always)]
fn lane_sums(equity: &[f64], initial: f64, f: impl Fn(f64) -> [f64; 2]) -> (f64, f64) {
    const L: usize = 8;
    let n = equity.len();
    let (cur, prev) = (&equity[1..], &equity[..n - 1]);
    let (mut a, mut b) = ([0.0f64; L], [0.0f64; L]);
    let [a0, b0] = f(ret(equity[0], initial));
    a[0] += a0;
    b[0] += b0;
    let (mut cc, mut pc) = (cur.chunks_exact(L), prev.chunks_exact(L));
    for (c, p) in (&mut cc).zip(&mut pc) {
        for k in 0..L {
            let [x, y] = f(ret(c[k], p[k]));
            a[k] += x;
            b[k] += y;
        }
    }
    for (&c, &p) in cc.remainder().iter().zip(pc.remainder()) {
        let [x, y] = f(ret(c, p));
        a[0] += x;
        b[0] += y;
    }
    (a.iter().sum(), b.iter().sum())
}

/// Statistics of `equity` (one value per point, at times `ts`, as many) starting from `initial`;
/// `exposed[i]` says whether a position was open at point `i`.
///
/// NB: written for throughput on long curves (a 1M-point report took 9 ms with one running
/// pass of three divisions a point): the returns are summed in two vectorisable passes (mean,
/// then squared deviations: accurate like numpy's two-pass std), and the drawdown pass tracks the
/// lowest `equity / peak` ratio with a multiplication, dividing only when a new low is found.
pub fn curve_stats(equity: &[f64], ts: &[i64], exposed: &[bool], initial: f64) -> CurveStats {
    let n = equity.len();
    let ruin = first_ruin(equity);
    let m = ruin.map_or(n, |r| r + 1);
    if n == 0 {
        return CurveStats {
            n,
            n_returns: 0,
            mean_return: 0.0,
            std_return: 0.0,
            downside_dev: 0.0,
            max_drawdown: 0.0,
            max_drawdown_points: 0,
            max_drawdown_ns: 0,
            exposure: 0.0,
            ruin,
        };
    }
    let counted = &equity[..m];
    let (sum, down2) = lane_sums(counted, initial, |r| {
        let neg = r.min(0.0);
        [r, neg * neg]
    });
    let mean = sum / m as f64;
    let (m2, _) = lane_sums(counted, initial, |r| {
        let d = r - mean;
        [d * d, 0.0]
    });
    let (mut peak, mut low_ratio) = (initial, 1.0f64);
    let (mut run, mut longest) = (0usize, 0usize);
    let ts = &ts[..n]; // the caller gives one time per point
    let (mut peak_ts, mut longest_ns) = (ts[0], 0i64);
    for (&e, &t) in equity.iter().zip(ts) {
        if e >= peak {
            if run > 0 {
                longest_ns = longest_ns.max(t - peak_ts);
                longest = longest.max(run);
                run = 0;
            }
            peak = e;
            peak_ts = t;
        } else {
            run += 1;
            if e < low_ratio * peak && peak > 0.0 {
                low_ratio = e / peak;
            }
        }
    }
    if run > 0 {
        // still under water at the end: the time from the peak to the last point
        longest_ns = longest_ns.max(ts[n - 1] - peak_ts);
        longest = longest.max(run);
    }
    let exposed_points = exposed.iter().map(|&x| usize::from(x)).sum::<usize>();
    CurveStats {
        n,
        n_returns: m,
        mean_return: mean,
        std_return: if m > 1 {
            (m2 / (m - 1) as f64).sqrt()
        } else {
            0.0
        },
        downside_dev: (down2 / m as f64).sqrt(),
        max_drawdown: 1.0 - low_ratio,
        max_drawdown_points: longest,
        max_drawdown_ns: longest_ns,
        exposure: exposed_points as f64 / n as f64,
        ruin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_computation() {
        let eq = [100.0, 110.0, 99.0, 99.0, 120.0, 90.0];
        let ts = [0, 60, 120, 180, 240, 300];
        let s = curve_stats(&eq, &ts, &[false, true, true, true, false, true], 100.0);
        let rets: Vec<f64> = std::iter::once(100.0)
            .chain(eq)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| w[1] / w[0] - 1.0)
            .collect();
        let mean = rets.iter().sum::<f64>() / 6.0;
        let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((s.mean_return - mean).abs() < 1e-15 && (s.std_return - var.sqrt()).abs() < 1e-15);
        assert!(
            (curve_stats(&[100.0, 100.0], &[0, 1], &[false, false], 100.0).max_drawdown).abs()
                < 1e-15
        );
        let down = (rets.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / 6.0).sqrt();
        assert!((s.downside_dev - down).abs() < 1e-15);
        assert!((s.max_drawdown - 0.25).abs() < 1e-15); // 120 -> 90
        assert_eq!(s.max_drawdown_points, 2); // 99, 99 below the 110 peak
        // below the 110 peak (set at t=60) until 120 at t=240: 180; below 120 from t=240 to 300: 60
        assert_eq!(s.max_drawdown_ns, 180);
        assert!((s.exposure - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(s.ruin, None);
        assert_eq!(curve_stats(&[], &[], &[], 1.0).n, 0);
    }

    #[test]
    fn ruin_stops_the_returns_at_minus_100_percent() {
        // 100 -> 50 -> -20 (ruined) -> 10: the returns are -50 %, -100 % (not -140 %), and the
        // climb from -20 to 10 is no return at all.
        let s = curve_stats(&[50.0, -20.0, 10.0], &[1, 2, 3], &[true; 3], 100.0);
        assert_eq!(s.ruin, Some(1));
        assert_eq!(s.n_returns, 2);
        assert!((s.mean_return - (-0.75)).abs() < 1e-15);
        assert!((s.max_drawdown - 1.2).abs() < 1e-12);
    }

    #[test]
    fn the_ruin_point_is_found_in_every_block_position() {
        // the blocked scan against a plain search: the first point at or below zero, wherever
        // it falls (first/last of a block of 16, the remainder), and none
        for n in [0usize, 1, 15, 16, 17, 33, 70] {
            for at in 0..=n {
                let mut eq = vec![100.0; n];
                if at < n {
                    eq[at] = if at % 2 == 0 { 0.0 } else { -5.0 };
                    if at + 3 < n {
                        eq[at + 3] = -1.0; // a later one does not count
                    }
                }
                assert_eq!(
                    first_ruin(&eq),
                    eq.iter().position(|&e| e <= 0.0),
                    "n={n} at={at}"
                );
            }
        }
    }
}
