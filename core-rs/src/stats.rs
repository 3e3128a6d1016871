//! Equity-curve statistics in one pass (the report's per-point work; the rest is arithmetic on
//! these figures, done in `python/trader/results.py`).

/// What the report needs from an equity curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveStats {
    /// Points in the curve.
    pub n: usize,
    /// Mean simple return per point (the first return is against the initial cash).
    pub mean_return: f64,
    /// Sample standard deviation of the returns (ddof = 1; 0 for fewer than two points).
    pub std_return: f64,
    /// Downside deviation `sqrt(mean(min(r, 0)^2))`.
    pub downside_dev: f64,
    /// Largest fall from a running peak (the initial cash counts as a peak), as a fraction.
    pub max_drawdown: f64,
    /// Longest run of consecutive points below a running peak.
    pub max_drawdown_points: usize,
    /// Fraction of points with an open position.
    pub exposure: f64,
}

/// Simple return of point `e` against the previous value `prev` (0 when `prev` is not positive).
#[inline(always)]
fn ret(e: f64, prev: f64) -> f64 {
    if prev > 0.0 { e / prev - 1.0 } else { 0.0 }
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

/// Statistics of `equity` (one value per point) starting from `initial`; `exposed[i]` says
/// whether a position was open at point `i`.
///
/// NB: written for throughput on long curves (a 1M-point report took 9 ms with one running
/// pass of three divisions a point): the returns are summed in two vectorisable passes (mean,
/// then squared deviations: accurate like numpy's two-pass std), and the drawdown pass tracks the
/// lowest `equity / peak` ratio with a multiplication, dividing only when a new low is found.
pub fn curve_stats(equity: &[f64], exposed: &[bool], initial: f64) -> CurveStats {
    let n = equity.len();
    if n == 0 {
        return CurveStats {
            n,
            mean_return: 0.0,
            std_return: 0.0,
            downside_dev: 0.0,
            max_drawdown: 0.0,
            max_drawdown_points: 0,
            exposure: 0.0,
        };
    }
    let (sum, down2) = lane_sums(equity, initial, |r| {
        let neg = r.min(0.0);
        [r, neg * neg]
    });
    let mean = sum / n as f64;
    let (m2, _) = lane_sums(equity, initial, |r| {
        let d = r - mean;
        [d * d, 0.0]
    });
    let (mut peak, mut low_ratio) = (initial, 1.0f64);
    let (mut run, mut longest) = (0usize, 0usize);
    for &e in equity {
        if e >= peak {
            peak = peak.max(e);
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
            if e < low_ratio * peak && peak > 0.0 {
                low_ratio = e / peak;
            }
        }
    }
    let exposed_points = exposed.iter().map(|&x| usize::from(x)).sum::<usize>();
    CurveStats {
        n,
        mean_return: mean,
        std_return: if n > 1 {
            (m2 / (n - 1) as f64).sqrt()
        } else {
            0.0
        },
        downside_dev: (down2 / n as f64).sqrt(),
        max_drawdown: 1.0 - low_ratio,
        max_drawdown_points: longest,
        exposure: exposed_points as f64 / n as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_computation() {
        let eq = [100.0, 110.0, 99.0, 99.0, 120.0, 90.0];
        let s = curve_stats(&eq, &[false, true, true, true, false, true], 100.0);
        let rets: Vec<f64> = std::iter::once(100.0)
            .chain(eq)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| w[1] / w[0] - 1.0)
            .collect();
        let mean = rets.iter().sum::<f64>() / 6.0;
        let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((s.mean_return - mean).abs() < 1e-15 && (s.std_return - var.sqrt()).abs() < 1e-15);
        assert!((curve_stats(&[100.0, 100.0], &[false, false], 100.0).max_drawdown).abs() < 1e-15);
        let down = (rets.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / 6.0).sqrt();
        assert!((s.downside_dev - down).abs() < 1e-15);
        assert!((s.max_drawdown - 0.25).abs() < 1e-15); // 120 -> 90
        assert_eq!(s.max_drawdown_points, 2); // 99, 99 below the 110 peak
        assert!((s.exposure - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(curve_stats(&[], &[], 1.0).n, 0);
    }
}
