//! Volatility targeting (see [`VolTargetConfig`]).

use super::{VolEstimator, VolTargetConfig, floor_raw, increases_exposure, resize_verdict};
use crate::error::CoreResult;
use crate::model::bar::Bar;
use crate::model::order::OrderSpec;
use crate::risk::explain::{figure, pct};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, Verdict};

/// Rolling sample variance over a ring of the last `window` returns: Welford while filling, the
/// sliding-window update once full, and an exact two-pass recomputation each time the ring wraps
/// (so float drift never outlives one window; amortized O(1)).
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Rolling {
    head: usize,
    n: usize,
    #[serde(with = "super::jf64")]
    mean: f64,
    #[serde(with = "super::jf64")]
    m2: f64,
    since_exact: usize,
}

/// GARCH(1,1) state: Welford over the warm-up returns, then the recursion.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Garch {
    n: usize,
    #[serde(with = "super::jf64")]
    mean: f64,
    #[serde(with = "super::jf64")]
    m2: f64,
    #[serde(with = "super::jf64")]
    omega: f64,
    /// Variance forecast of the next return (NaN during the warm-up).
    #[serde(with = "super::jf64")]
    h: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum Est {
    /// `buf` holds `window` returns per instrument, instrument i at `i * window`.
    Rolling {
        window: usize,
        buf: Vec<f64>,
        st: Vec<Rolling>,
    },
    Garch {
        #[serde(with = "super::jf64")]
        alpha: f64,
        #[serde(with = "super::jf64")]
        beta: f64,
        omega: Option<f64>,
        warmup: usize,
        st: Vec<Garch>,
    },
}

/// Volatility targeting over the log returns of bar closes, per instrument.
///
/// - Rolling: σ = sample standard deviation (n − 1) of the last `window` returns; available
///   once `window` returns (`window + 1` closes) were seen.
/// - GARCH(1,1): the first `warmup` returns give the sample variance s²; ω = the configured
///   one, or s² × (1 − α − β) (variance targeting). At the last warm-up return r_W the forecast
///   starts as h = ω + α·r_W² + β·s², and each later return r updates h ← ω + α·r² + β·h. σ = √h,
///   the forecast for the next return.
///
/// σ_annual = σ × √periods_per_year. Exposure-increasing orders get qty × clamp(target /
/// σ_annual, min_scale, max_scale) (rounded down; may grow the order up to max_scale; σ = 0 →
/// max_scale); a result of 0 vetoes with `VolatilityTarget`. During the warm-up, and for
/// reducing orders, orders pass unchanged. The estimator must see every bar (`needs_every_bar`).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct VolTarget {
    name: String,
    cfg: VolTargetConfig,
    #[serde(with = "super::jf64")]
    sqrt_ppy: f64,
    last_close: Vec<i64>,
    est: Est,
    /// The instrument of the latest order it sized (for [`RiskLayer::explain`]).
    sized: usize,
}

impl VolTarget {
    pub fn new(cfg: VolTargetConfig, name: String, n_instruments: usize) -> CoreResult<Self> {
        cfg.validate()?;
        let est = match cfg.estimator {
            VolEstimator::Rolling { window } => Est::Rolling {
                window,
                buf: vec![0.0; window * n_instruments],
                st: vec![
                    Rolling {
                        head: 0,
                        n: 0,
                        mean: 0.0,
                        m2: 0.0,
                        since_exact: 0,
                    };
                    n_instruments
                ],
            },
            VolEstimator::Garch {
                alpha,
                beta,
                omega,
                warmup,
            } => Est::Garch {
                alpha,
                beta,
                omega,
                warmup,
                st: vec![
                    Garch {
                        n: 0,
                        mean: 0.0,
                        m2: 0.0,
                        omega: f64::NAN,
                        h: f64::NAN,
                    };
                    n_instruments
                ],
            },
        };
        Ok(Self {
            name,
            sqrt_ppy: cfg.periods_per_year.sqrt(),
            cfg,
            last_close: vec![0; n_instruments],
            est,
            sized: 0,
        })
    }

    /// Feed one close (raw price) of `instrument`; non-positive prices are skipped.
    pub fn update(&mut self, instrument: usize, close: i64) {
        let Some(prev) = self.last_close.get_mut(instrument) else {
            return;
        };
        if close <= 0 {
            return;
        }
        let p = *prev;
        *prev = close;
        if p <= 0 {
            return;
        }
        let r = (close as f64 / p as f64).ln();
        match &mut self.est {
            Est::Rolling { window, buf, st } => {
                let w = *window;
                let s = &mut st[instrument];
                let ring = &mut buf[instrument * w..(instrument + 1) * w];
                if s.n < w {
                    ring[s.head] = r;
                    s.n += 1;
                    let d = r - s.mean;
                    s.mean += d / s.n as f64;
                    s.m2 += d * (r - s.mean);
                } else {
                    let old = ring[s.head];
                    ring[s.head] = r;
                    let old_mean = s.mean;
                    s.mean += (r - old) / w as f64;
                    s.m2 += (r - old) * (r - s.mean + old - old_mean);
                    s.since_exact += 1;
                    if s.since_exact >= w {
                        s.since_exact = 0;
                        let mean = ring.iter().sum::<f64>() / w as f64;
                        s.mean = mean;
                        s.m2 = ring.iter().map(|x| (x - mean) * (x - mean)).sum();
                    }
                    s.m2 = s.m2.max(0.0);
                }
                s.head = (s.head + 1) % w;
            }
            Est::Garch {
                alpha,
                beta,
                omega,
                warmup,
                st,
            } => {
                let s = &mut st[instrument];
                if s.h.is_nan() {
                    s.n += 1;
                    let d = r - s.mean;
                    s.mean += d / s.n as f64;
                    s.m2 += d * (r - s.mean);
                    if s.n == *warmup {
                        let s2 = s.m2 / (s.n - 1) as f64;
                        s.omega = omega.unwrap_or(s2 * (1.0 - *alpha - *beta));
                        s.h = s.omega + *alpha * r * r + *beta * s2;
                    }
                } else {
                    s.h = s.omega + *alpha * r * r + *beta * s.h;
                }
            }
        }
    }

    /// The per-period σ of `instrument` (None during the warm-up).
    pub fn sigma(&self, instrument: usize) -> Option<f64> {
        match &self.est {
            Est::Rolling { window, st, .. } => {
                let s = st.get(instrument)?;
                (s.n == *window).then(|| (s.m2 / (s.n - 1) as f64).sqrt())
            }
            Est::Garch { st, .. } => {
                let s = st.get(instrument)?;
                (!s.h.is_nan()).then(|| s.h.sqrt())
            }
        }
    }

    /// The annualized σ of `instrument` (None during the warm-up).
    pub fn sigma_annual(&self, instrument: usize) -> Option<f64> {
        self.sigma(instrument).map(|s| s * self.sqrt_ppy)
    }

    /// The size multiplier for `instrument` now (None during the warm-up).
    pub fn scale(&self, instrument: usize) -> Option<f64> {
        let sa = self.sigma_annual(instrument)?;
        let raw = if sa > 0.0 {
            self.cfg.target / sa
        } else {
            f64::INFINITY
        };
        Some(raw.clamp(self.cfg.min_scale, self.cfg.max_scale))
    }
}

impl RiskLayer for VolTarget {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        if !increases_exposure(spec, view) {
            return Verdict::Pass;
        }
        let Some(scale) = self.scale(spec.instrument as usize) else {
            return Verdict::Pass;
        };
        self.sized = spec.instrument as usize;
        let new = floor_raw(spec.qty as f64 * scale);
        resize_verdict(spec.qty, new, RiskReason::VolatilityTarget)
    }

    fn hooks(&self) -> Hooks {
        Hooks {
            check: true,
            bar: true,
            ..Hooks::NONE
        }
    }

    fn on_bar(&mut self, bar: &Bar, _view: &RiskView<'_>) {
        self.update(bar.instrument as usize, bar.close);
    }

    fn needs_every_bar(&self) -> bool {
        true
    }

    /// σ and the scale it gives for the instrument of the latest order it sized: "annualized
    /// volatility 56.2 % (σ 0.0775 % per bar, rolling 20) against the target 20 %: size × 0.356".
    fn explain(&self) -> Option<String> {
        let i = self.sized;
        let (sigma, sa, scale) = (self.sigma(i)?, self.sigma_annual(i)?, self.scale(i)?);
        let est = match self.cfg.estimator {
            VolEstimator::Rolling { window } => format!("rolling {window}"),
            VolEstimator::Garch { alpha, beta, .. } => {
                format!("GARCH(1,1) α {} β {}", figure(alpha), figure(beta))
            }
        };
        Some(format!(
            "annualized volatility {} % (σ {} % per bar, {est}) against the target {} %: size × {scale:.3} (clamped to [{}, {}])",
            pct(sa),
            pct(sigma),
            pct(self.cfg.target),
            figure(self.cfg.min_scale),
            figure(self.cfg.max_scale)
        ))
    }
}
