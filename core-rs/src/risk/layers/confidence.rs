//! Confidence sizing (see [`ConfidenceConfig`]).

use super::{
    ConfidenceConfig, floor_raw, increases_exposure, order_price, position_of, resize_verdict,
};
use crate::error::CoreResult;
use crate::model::order::OrderSpec;
use crate::risk::explain::{figure, shown_vs};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, Verdict};

#[inline]
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Confidence sizing from `RiskView::confidence[instrument]` (c, clamped to [0, 1]).
///
/// For an exposure-increasing order: no confidence (NaN or no entry) → pass; c <
/// `min_confidence` → veto `Confidence`; else qty × lerp(min_scale, max_scale, c) (rounded
/// down), then capped so that the leverage after the order — gross exposure (every position at
/// its mark, this instrument's position after the order at the order price) / equity — is ≤
/// lerp(min_leverage, max_leverage, c); nothing left → veto `Confidence`. Working orders are not
/// counted (the pre-trade leverage check counts them). Reducing orders pass. O(instruments).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ConfidenceSizing {
    name: String,
    cfg: ConfidenceConfig,
    /// The confidence of the latest order it judged (for [`RiskLayer::explain`]).
    #[serde(with = "super::jf64")]
    judged: f64,
}

impl ConfidenceSizing {
    pub fn new(cfg: ConfidenceConfig, name: String) -> CoreResult<Self> {
        cfg.validate()?;
        Ok(Self {
            name,
            cfg,
            judged: f64::NAN,
        })
    }

    /// (size scale, leverage cap) at confidence `c`.
    pub fn bounds(&self, c: f64) -> (f64, f64) {
        let c = c.clamp(0.0, 1.0);
        (
            lerp(self.cfg.min_scale, self.cfg.max_scale, c),
            lerp(self.cfg.min_leverage, self.cfg.max_leverage, c),
        )
    }
}

impl RiskLayer for ConfidenceSizing {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        if !increases_exposure(spec, view) {
            return Verdict::Pass;
        }
        let i = spec.instrument as usize;
        let c = view.confidence.get(i).copied().unwrap_or(f64::NAN);
        if c.is_nan() {
            return Verdict::Pass;
        }
        self.judged = c;
        if c < self.cfg.min_confidence {
            return Verdict::Veto(RiskReason::Confidence);
        }
        let (scale, max_lev) = self.bounds(c);
        let mut q = floor_raw(spec.qty as f64 * scale);
        if let (Some(px), Some(inst)) = (order_price(spec, view), view.instruments.get(i)) {
            let pf = view.portfolio;
            let mut gross_other = 0.0;
            for (j, p) in pf.positions.iter().enumerate() {
                if j != i && p.qty != 0 {
                    gross_other += (p.qty_f64() * p.mark_f64()).abs();
                }
            }
            let room = max_lev * pf.equity_f64() - gross_other;
            let max_pos = floor_raw(room / px * inst.size_scale);
            let qmax = max_pos.saturating_sub(spec.side.sign() * position_of(spec, view));
            q = q.min(qmax);
        }
        resize_verdict(spec.qty, q, RiskReason::Confidence)
    }

    /// Reads only the view at order time.
    fn hooks(&self) -> Hooks {
        Hooks {
            check: true,
            ..Hooks::NONE
        }
    }

    /// The confidence of the latest order it judged and what it allowed: "confidence 0.32 <
    /// min_confidence 0.5", or "confidence 0.70: size × 0.70, leverage after the order capped
    /// at 2.40x".
    fn explain(&self) -> Option<String> {
        let c = self.judged;
        if c.is_nan() {
            return None;
        }
        let min = self.cfg.min_confidence;
        Some(if c < min {
            format!(
                "confidence {} < min_confidence {}",
                shown_vs(c, min, 2),
                figure(min)
            )
        } else {
            let (scale, lev) = self.bounds(c);
            format!(
                "confidence {c:.2}: size × {scale:.2}, leverage after the order capped at {lev:.2}x"
            )
        })
    }
}
