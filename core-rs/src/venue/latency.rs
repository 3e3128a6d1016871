//! Latency between the strategy and the venue: a command sent at `t` arrives at `t + latency`.
//!
//! Three independent legs (submit, cancel, modify), each zero (the default: the command arrives
//! the instant it is sent), constant, or log-normal. The log-normal leg draws from a seeded
//! generator (SplitMix64 and Box–Muller, written here), so a run is deterministic for a given
//! seed; the legs share one stream, drawn in the order the commands are sent.

use crate::error::{CoreError, CoreResult};

/// One leg's latency in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Latency {
    #[default]
    Zero,
    Constant(i64),
    /// `median_ns * exp(sigma * z)` with `z` standard normal, rounded to the nanosecond.
    LogNormal {
        median_ns: i64,
        sigma: f64,
    },
}

impl Latency {
    pub fn validate(&self, name: &'static str) -> CoreResult<()> {
        let bad = match *self {
            Latency::Zero => false,
            Latency::Constant(ns) => ns < 0,
            Latency::LogNormal { median_ns, sigma } => {
                median_ns < 0 || !(sigma.is_finite() && sigma >= 0.0)
            }
        };
        if bad {
            return Err(CoreError::InvalidArgument {
                name,
                reason: format!("latency must be >= 0 (and sigma finite >= 0), got {self:?}"),
            });
        }
        Ok(())
    }

    #[inline]
    pub fn is_zero(&self) -> bool {
        matches!(self, Latency::Zero | Latency::Constant(0))
            || matches!(self, Latency::LogNormal { median_ns: 0, .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LatencyConfig {
    pub submit: Latency,
    pub cancel: Latency,
    pub modify: Latency,
    pub seed: u64,
}

impl LatencyConfig {
    pub fn validate(&self) -> CoreResult<()> {
        self.submit.validate("latency.submit")?;
        self.cancel.validate("latency.cancel")?;
        self.modify.validate("latency.modify")
    }

    pub fn constant(submit_ns: i64, cancel_ns: i64, modify_ns: i64) -> Self {
        Self {
            submit: Latency::Constant(submit_ns),
            cancel: Latency::Constant(cancel_ns),
            modify: Latency::Constant(modify_ns),
            seed: 0,
        }
    }
}

/// Which leg a command travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Submit,
    Cancel,
    Modify,
}

/// Draws latencies for the legs of a [`LatencyConfig`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LatencyModel {
    pub config: LatencyConfig,
    state: u64,
    spare: Option<f64>,
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self::new(LatencyConfig::default())
    }
}

impl LatencyModel {
    pub fn new(config: LatencyConfig) -> Self {
        Self {
            config,
            state: config.seed,
            spare: None,
        }
    }

    /// Whether every leg is zero (commands arrive when sent).
    pub fn is_zero(&self) -> bool {
        self.config.submit.is_zero() && self.config.cancel.is_zero() && self.config.modify.is_zero()
    }

    /// The latency of the next command on `leg`, in ns (>= 0).
    pub fn draw(&mut self, leg: Leg) -> i64 {
        let l = match leg {
            Leg::Submit => self.config.submit,
            Leg::Cancel => self.config.cancel,
            Leg::Modify => self.config.modify,
        };
        match l {
            Latency::Zero => 0,
            Latency::Constant(ns) => ns,
            Latency::LogNormal { median_ns, sigma } => {
                let z = self.normal();
                let x = median_ns as f64 * (sigma * z).exp();
                if x.is_finite() && x < 9.0e18 {
                    x.round() as i64
                } else {
                    i64::MAX / 4
                }
            }
        }
    }

    /// SplitMix64.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (the second value of each pair is kept for the next call).
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_zero_legs() {
        let mut m = LatencyModel::new(LatencyConfig::constant(5, 7, 9));
        assert_eq!(
            (
                m.draw(Leg::Submit),
                m.draw(Leg::Cancel),
                m.draw(Leg::Modify)
            ),
            (5, 7, 9)
        );
        assert!(LatencyModel::default().is_zero());
        assert!(!m.is_zero());
    }

    #[test]
    fn log_normal_is_seeded_and_has_its_median() {
        let cfg = LatencyConfig {
            submit: Latency::LogNormal {
                median_ns: 1_000_000,
                sigma: 0.5,
            },
            seed: 42,
            ..LatencyConfig::default()
        };
        let (mut a, mut b) = (LatencyModel::new(cfg), LatencyModel::new(cfg));
        let xs: Vec<i64> = (0..20_001).map(|_| a.draw(Leg::Submit)).collect();
        let ys: Vec<i64> = (0..20_001).map(|_| b.draw(Leg::Submit)).collect();
        assert_eq!(xs, ys, "same seed, same draws");
        assert!(xs.iter().all(|&x| x > 0));
        let mut s = xs.clone();
        s.sort_unstable();
        let median = s[s.len() / 2] as f64;
        assert!((median / 1e6 - 1.0).abs() < 0.03, "median {median}");
        // log of the draws: standard deviation sigma
        let logs: Vec<f64> = xs.iter().map(|&x| (x as f64 / 1e6).ln()).collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64;
        assert!((var.sqrt() - 0.5).abs() < 0.02, "sigma {}", var.sqrt());
        let mut c = LatencyModel::new(LatencyConfig { seed: 43, ..cfg });
        assert_ne!(xs[0], c.draw(Leg::Submit));
    }

    #[test]
    fn negative_latency_is_an_error() {
        assert!(LatencyConfig::constant(-1, 0, 0).validate().is_err());
        let bad = Latency::LogNormal {
            median_ns: 5,
            sigma: f64::NAN,
        };
        assert!(bad.validate("x").is_err());
    }
}
