//! The decision kernel: a weighted vote of N signal confidences → action and position size.
//!
//! For signals `s_i` and the kernel's weights `w_i`, thresholds `t_i` and neutral band `b`:
//!
//! * each signal is made *effective*: NaN counts as 0 (an indicator still warming up has no
//!   opinion), values are clamped to [-1, 1], and `|s_i| < t_i` counts as 0;
//! * `score = Σ w_i · s'_i / Σ |w_i|`, clamped to [-1, 1]. Weights are **signed**: a negative
//!   weight inverts a signal (a contrarian input); the normaliser uses `|w_i|`, so the score
//!   stays in [-1, 1] whatever the signs;
//! * `action = +1` if `score > b`, `-1` if `score < -b`, else 0;
//! * `size = clamp((|score| - b) / (1 - b), 0, 1)` when `action != 0`, else 0.
//!
//! The weighted sum uses [`super::DECISION_ACC`] accumulators in a fixed order, so `decide` and
//! `decide_batch` on any backend give the same score bit for bit. `decide` allocates nothing.

use crate::error::{CoreError, CoreResult, check_len};

use super::{Backend, DECISION_ACC, backend, ensure_available, scalar};

/// One decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// +1 long, -1 short, 0 flat.
    pub action: i8,
    /// The fused score in [-1, 1].
    pub score: f64,
    /// Position size in [0, 1]; 0 when flat.
    pub size: f64,
}

/// Score → decision (shared by every backend and by `decide`/`decide_batch`).
#[inline(always)]
pub(crate) fn finish(dot: f64, norm: f64, band: f64) -> Decision {
    let score = (dot / norm).clamp(-1.0, 1.0);
    let action: i8 = if score > band {
        1
    } else if score < -band {
        -1
    } else {
        0
    };
    let size = if action != 0 {
        ((score.abs() - band) / (1.0 - band)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Decision {
        action,
        score,
        size,
    }
}

/// Weighted fusion of N signals (see the module docs). Validated once at construction.
#[derive(Debug, Clone)]
pub struct DecisionKernel {
    n: usize,
    /// Weights and thresholds zero-padded to a multiple of [`DECISION_ACC`] (the SIMD paths
    /// read whole registers; a zero weight adds +0.0, which changes no accumulator).
    weights: Vec<f64>,
    thresholds: Vec<f64>,
    norm: f64,
    band: f64,
    backend: Backend,
}

impl DecisionKernel {
    /// A kernel on the process backend ([`super::backend`]).
    ///
    /// Errors (naming the argument): empty or non-finite `weights`, `Σ|w| = 0` or not finite,
    /// `thresholds` of another length or outside [0, 1], `band` outside [0, 1).
    pub fn new(weights: &[f64], thresholds: &[f64], band: f64) -> CoreResult<Self> {
        Self::with_backend(backend()?, weights, thresholds, band)
    }

    /// A kernel on an explicit backend (errors if the CPU lacks it).
    pub fn with_backend(
        b: Backend,
        weights: &[f64],
        thresholds: &[f64],
        band: f64,
    ) -> CoreResult<Self> {
        ensure_available(b)?;
        let n = weights.len();
        if n == 0 {
            return Err(CoreError::InvalidArgument {
                name: "weights",
                reason: "must hold at least one weight".into(),
            });
        }
        check_len("thresholds", n, thresholds.len())?;
        if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
            return Err(CoreError::InvalidArgument {
                name: "weights",
                reason: format!("weights[{i}] = {} is not finite", weights[i]),
            });
        }
        let norm: f64 = weights.iter().map(|w| w.abs()).sum();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err(CoreError::InvalidArgument {
                name: "weights",
                reason: format!("the sum of |weights| must be finite and > 0, got {norm}"),
            });
        }
        if let Some(i) = thresholds.iter().position(|t| !(0.0..=1.0).contains(t)) {
            return Err(CoreError::InvalidArgument {
                name: "thresholds",
                reason: format!("thresholds[{i}] = {} is outside [0, 1]", thresholds[i]),
            });
        }
        if !(0.0..1.0).contains(&band) {
            return Err(CoreError::InvalidArgument {
                name: "neutral_band",
                reason: format!("must be in [0, 1), got {band}"),
            });
        }
        let padded = n.next_multiple_of(DECISION_ACC);
        let mut w = weights.to_vec();
        w.resize(padded, 0.0);
        let mut t = thresholds.to_vec();
        t.resize(padded, 0.0);
        Ok(Self {
            n,
            weights: w,
            thresholds: t,
            norm,
            band,
            backend: b,
        })
    }

    /// Number of signals per decision.
    pub fn n_signals(&self) -> usize {
        self.n
    }

    /// The backend this kernel runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `Σ |w_i|`.
    pub fn norm(&self) -> f64 {
        self.norm
    }

    /// The neutral band.
    pub fn band(&self) -> f64 {
        self.band
    }

    /// The weighted sum `Σ w_i · s'_i` in the canonical order.
    #[inline]
    fn dot(&self, signals: &[f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if self.n >= 4 {
            match self.backend {
                Backend::Avx2 => {
                    // SAFETY: the backend's CPU features were checked at construction; the
                    // padded weights and thresholds hold `n.next_multiple_of(8)` values and
                    // `signals.len() == n` (checked by the callers).
                    return unsafe {
                        super::avx2::decision_dot(&self.weights, &self.thresholds, signals)
                    };
                }
                Backend::Avx512 => {
                    // SAFETY: as for AVX2 above (AVX-512F/DQ/VL checked at construction).
                    return unsafe {
                        super::avx512::decision_dot(&self.weights, &self.thresholds, signals)
                    };
                }
                Backend::Scalar => {}
            }
        }
        scalar::decision_dot(&self.weights, &self.thresholds, signals)
    }

    /// One decision from `signals` (`n_signals` values). No allocation.
    #[inline]
    pub fn decide(&self, signals: &[f64]) -> CoreResult<Decision> {
        check_len("signals", self.n, signals.len())?;
        Ok(finish(self.dot(signals), self.norm, self.band))
    }

    /// Decisions for a row-major `(n_bars, n_signals)` block; each row gives exactly what
    /// [`decide`](Self::decide) gives for it.
    pub fn decide_batch(
        &self,
        signals: &[f64],
        actions: &mut [i8],
        scores: &mut [f64],
        sizes: &mut [f64],
    ) -> CoreResult<()> {
        if signals.len() % self.n != 0 {
            return Err(CoreError::InvalidArgument {
                name: "signals",
                reason: format!(
                    "{} values is not a whole number of rows of {} signals",
                    signals.len(),
                    self.n
                ),
            });
        }
        let bars = signals.len() / self.n;
        check_len("actions", bars, actions.len())?;
        check_len("scores", bars, scores.len())?;
        check_len("sizes", bars, sizes.len())?;
        let (w, t) = (&self.weights[..], &self.thresholds[..]);
        #[cfg(target_arch = "x86_64")]
        if self.n >= 4 {
            match self.backend {
                // SAFETY: backend checked at construction; lengths checked above.
                Backend::Avx2 => unsafe {
                    super::avx2::decide_batch(
                        w, t, self.n, self.norm, self.band, signals, actions, scores, sizes,
                    );
                    return Ok(());
                },
                // SAFETY: as above.
                Backend::Avx512 => unsafe {
                    super::avx512::decide_batch(
                        w, t, self.n, self.norm, self.band, signals, actions, scores, sizes,
                    );
                    return Ok(());
                },
                Backend::Scalar => {}
            }
        }
        scalar::decide_batch(
            &w[..self.n],
            &t[..self.n],
            self.norm,
            self.band,
            signals,
            actions,
            scores,
            sizes,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_argument() {
        let e = DecisionKernel::with_backend(Backend::Scalar, &[], &[], 0.1).unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let e = DecisionKernel::with_backend(Backend::Scalar, &[1.0, f64::NAN], &[0.0, 0.0], 0.1)
            .unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let e = DecisionKernel::with_backend(Backend::Scalar, &[0.0, 0.0], &[0.0, 0.0], 0.1)
            .unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let e =
            DecisionKernel::with_backend(Backend::Scalar, &[1.0], &[0.0, 0.0], 0.1).unwrap_err();
        assert!(e.to_string().starts_with("thresholds:"), "{e}");
        let e = DecisionKernel::with_backend(Backend::Scalar, &[1.0], &[1.5], 0.1).unwrap_err();
        assert!(e.to_string().starts_with("thresholds:"), "{e}");
        let e = DecisionKernel::with_backend(Backend::Scalar, &[1.0], &[0.5], 1.0).unwrap_err();
        assert!(e.to_string().starts_with("neutral_band:"), "{e}");
        let k = DecisionKernel::with_backend(Backend::Scalar, &[1.0], &[0.5], 0.0).unwrap();
        assert!(
            k.decide(&[0.1, 0.2])
                .unwrap_err()
                .to_string()
                .starts_with("signals:")
        );
    }

    #[test]
    fn hand_computed() {
        // w = [2, -1, 1], t = [0.1, 0.1, 0.5]; s = [0.5, -0.4, 0.3] → s' = [0.5, -0.4, 0]
        // dot = 1.0 + 0.4 = 1.4; norm = 4; score = 0.35; band 0.2 → long, size = 0.15 / 0.8.
        let k =
            DecisionKernel::with_backend(Backend::Scalar, &[2.0, -1.0, 1.0], &[0.1, 0.1, 0.5], 0.2)
                .unwrap();
        let d = k.decide(&[0.5, -0.4, 0.3]).unwrap();
        assert_eq!(d.action, 1);
        assert!((d.score - 0.35).abs() < 1e-15);
        assert!((d.size - 0.15 / 0.8).abs() < 1e-15);
        // Out-of-range and NaN signals: clamped / neutral.
        let d = k.decide(&[-7.0, f64::NAN, 0.0]).unwrap();
        assert_eq!((d.action, d.score, d.size), (-1, -0.5, (0.5 - 0.2) / 0.8));
        let d = k.decide(&[0.05, 0.05, 0.45]).unwrap();
        assert_eq!((d.action, d.score, d.size), (0, 0.0, 0.0));
    }
}
