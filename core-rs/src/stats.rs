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

/// Statistics of `equity` (one value per point) starting from `initial`; `exposed[i]` says
/// whether a position was open at point `i`. Welford's update keeps the variance accurate on
/// long curves.
pub fn curve_stats(equity: &[f64], exposed: &[bool], initial: f64) -> CurveStats {
    let n = equity.len();
    let (mut mean, mut m2, mut down2) = (0.0f64, 0.0f64, 0.0f64);
    let (mut prev, mut peak) = (initial, initial);
    let (mut max_dd, mut run, mut longest) = (0.0f64, 0usize, 0usize);
    for (i, &e) in equity.iter().enumerate() {
        let r = if prev > 0.0 { e / prev - 1.0 } else { 0.0 };
        let delta = r - mean;
        mean += delta / (i + 1) as f64;
        m2 += delta * (r - mean);
        if r < 0.0 {
            down2 += r * r;
        }
        prev = e;
        if e > peak {
            peak = e;
        }
        let dd = if peak > 0.0 { 1.0 - e / peak } else { 0.0 };
        if dd > 0.0 {
            run += 1;
            longest = longest.max(run);
            max_dd = max_dd.max(dd);
        } else {
            run = 0;
        }
    }
    let exposed_points = exposed.iter().filter(|&&x| x).count();
    CurveStats {
        n,
        mean_return: mean,
        std_return: if n > 1 { (m2 / (n - 1) as f64).sqrt() } else { 0.0 },
        downside_dev: if n > 0 { (down2 / n as f64).sqrt() } else { 0.0 },
        max_drawdown: max_dd,
        max_drawdown_points: longest,
        exposure: if n > 0 { exposed_points as f64 / n as f64 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_computation() {
        let eq = [100.0, 110.0, 99.0, 99.0, 120.0, 90.0];
        let s = curve_stats(&eq, &[false, true, true, true, false, true], 100.0);
        let rets: Vec<f64> = std::iter::once(100.0).chain(eq).collect::<Vec<_>>().windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let mean = rets.iter().sum::<f64>() / 6.0;
        let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((s.mean_return - mean).abs() < 1e-15 && (s.std_return - var.sqrt()).abs() < 1e-15);
        let down = (rets.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / 6.0).sqrt();
        assert!((s.downside_dev - down).abs() < 1e-15);
        assert!((s.max_drawdown - 0.25).abs() < 1e-15); // 120 -> 90
        assert_eq!(s.max_drawdown_points, 2); // 99, 99 below the 110 peak
        assert!((s.exposure - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(curve_stats(&[], &[], 1.0).n, 0);
    }
}
