//! Fractional Kelly sizing (see [`KellyConfig`]).

use super::{KellyConfig, floor_raw, increases_exposure, order_price, position_of};
use crate::error::CoreResult;
use crate::model::order::{Fill, OrderSpec};
use crate::portfolio::Trade;
use crate::risk::explain::{figure, pct};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, Verdict};

/// Fractional Kelly over the last `window` closed trades (`Portfolio::trades`, net pnl).
///
/// W = share of trades with pnl > 0; R = mean win / mean |loss| (losses: pnl < 0; break-even
/// trades count in W's denominator only); f* = W − (1 − W)/R (no losses: f* = W; no wins:
/// f* = −∞). With at least `min_trades` trades in the window, an exposure-increasing order is
/// sized down so that |position after it| × order price ≤ fraction × f* × equity
/// (`equity_f64`); f* ≤ 0, or no room left, vetoes with `Kelly`. The order price is its limit,
/// trigger, or the last mark; none known → pass. Reducing orders pass.
///
/// The window is kept incrementally (a ring of pnl with exact i128 sums, fed lazily from the
/// trades appended since the last look), so `check` is O(1) amortized and allocation-free.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct KellySizing {
    name: String,
    cfg: KellyConfig,
    ring: Vec<i128>,
    head: usize,
    n: usize,
    seen: usize,
    wins: usize,
    losses: usize,
    sum_win: i128,
    sum_loss: i128,
}

impl KellySizing {
    pub fn new(cfg: KellyConfig, name: String) -> CoreResult<Self> {
        cfg.validate()?;
        Ok(Self {
            name,
            ring: vec![0; cfg.window],
            cfg,
            head: 0,
            n: 0,
            seen: 0,
            wins: 0,
            losses: 0,
            sum_win: 0,
            sum_loss: 0,
        })
    }

    fn account(&mut self, pnl: i128, sign: i128) {
        if pnl > 0 {
            self.wins = (self.wins as i128 + sign) as usize;
            self.sum_win += sign * pnl;
        } else if pnl < 0 {
            self.losses = (self.losses as i128 + sign) as usize;
            self.sum_loss -= sign * pnl;
        }
    }

    /// Take in the trades closed since the last call.
    pub fn sync(&mut self, trades: &[Trade]) {
        if trades.len() < self.seen {
            // A new run on a reset portfolio: start over.
            *self = Self {
                name: std::mem::take(&mut self.name),
                cfg: self.cfg.clone(),
                ring: std::mem::take(&mut self.ring),
                head: 0,
                n: 0,
                seen: 0,
                wins: 0,
                losses: 0,
                sum_win: 0,
                sum_loss: 0,
            };
        }
        let w = self.ring.len();
        for t in &trades[self.seen..] {
            if self.n == w {
                let old = self.ring[self.head];
                self.account(old, -1);
            } else {
                self.n += 1;
            }
            self.ring[self.head] = t.pnl;
            self.account(t.pnl, 1);
            self.head = (self.head + 1) % w;
        }
        self.seen = trades.len();
    }

    /// f* over the current window; None with fewer than `min_trades` trades.
    pub fn kelly_fraction(&self) -> Option<f64> {
        if self.n < self.cfg.min_trades {
            return None;
        }
        if self.wins == 0 {
            return Some(f64::NEG_INFINITY);
        }
        let w = self.wins as f64 / self.n as f64;
        if self.losses == 0 {
            return Some(w);
        }
        let avg_win = self.sum_win as f64 / self.wins as f64;
        let avg_loss = self.sum_loss as f64 / self.losses as f64;
        let r = avg_win / avg_loss;
        Some(w - (1.0 - w) / r)
    }
}

impl RiskLayer for KellySizing {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        if !increases_exposure(spec, view) {
            return Verdict::Pass;
        }
        self.sync(&view.portfolio.trades);
        let Some(f) = self.kelly_fraction() else {
            return Verdict::Pass;
        };
        if f <= 0.0 {
            return Verdict::Veto(RiskReason::Kelly);
        }
        let (Some(px), Some(inst)) = (
            order_price(spec, view),
            view.instruments.get(spec.instrument as usize),
        ) else {
            return Verdict::Pass;
        };
        let cap = self.cfg.fraction * f * view.portfolio.equity_f64();
        // Largest |position after the order|, raw; then the largest order reaching it.
        let max_pos = floor_raw(cap / px * inst.size_scale).max(0);
        let qmax = max_pos.saturating_sub(spec.side.sign() * position_of(spec, view));
        if spec.qty <= qmax {
            Verdict::Pass
        } else if qmax <= 0 {
            Verdict::Veto(RiskReason::Kelly)
        } else {
            Verdict::Resize(qmax)
        }
    }

    fn hooks(&self) -> Hooks {
        Hooks {
            check: true,
            fill: true,
            ..Hooks::NONE
        }
    }

    fn on_fill(&mut self, _fill: &Fill, view: &RiskView<'_>) {
        self.sync(&view.portfolio.trades);
    }

    /// f* and what it is made of: "f* = -0.120 over the last 50 trades (win rate 40.0 %, mean
    /// win / mean loss 0.80)", and the cap it sets.
    fn explain(&self) -> Option<String> {
        let n = self.n;
        let Some(f) = self.kelly_fraction() else {
            return Some(format!(
                "{n} closed trades, fewer than min_trades {}: no sizing yet",
                self.cfg.min_trades
            ));
        };
        let w = self.wins as f64 / n as f64;
        let stats = if self.wins == 0 {
            format!("no winning trade among the last {n} trades (f* = -inf)")
        } else if self.losses == 0 {
            format!(
                "f* = {f:.3} over the last {n} trades (win rate {} %, no losing trade)",
                pct(w)
            )
        } else {
            let r = (self.sum_win as f64 / self.wins as f64)
                / (self.sum_loss as f64 / self.losses as f64);
            format!(
                "f* = {f:.3} over the last {n} trades (win rate {} %, mean win / mean loss {r:.2})",
                pct(w)
            )
        };
        Some(if f > 0.0 {
            format!(
                "{stats}: a position is capped at fraction {} × f* × equity",
                figure(self.cfg.fraction)
            )
        } else {
            format!("{stats}: no edge, no order that adds exposure")
        })
    }
}
