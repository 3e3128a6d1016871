//! Drawdown guard (see [`DrawdownConfig`]).

use super::{DAY_NS, DrawdownConfig, increases_exposure, utc_day};
use crate::error::CoreResult;
use crate::model::bar::Bar;
use crate::model::order::{Fill, OrderEvent, OrderSpec};
use crate::risk::explain::{money_f64, pct, pct_vs, utc};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, StateWish, TradingState, Verdict};

/// Watches equity (`Portfolio::equity_f64`, positions at their marks) on every bar and fill.
///
/// - drawdown = (high-water mark − equity) / high-water mark; ≥ `soft` → REDUCING (released when
///   the drawdown falls back below `soft`); ≥ `hard` → `hard_state`, latched for the rest of the
///   run;
/// - day loss = (equity at the day's first observation − equity) / that equity, UTC days of the
///   engine clock; ≥ `daily_loss` → HALTED until the first bar or fill of the next UTC day.
///
/// Thresholds are inclusive (a drawdown of exactly `soft` triggers). The layer also vetoes
/// exposure-increasing orders while it wishes anything but ACTIVE (the engine's state denies
/// them first; this keeps the layer safe on its own).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DrawdownGuard {
    name: String,
    cfg: DrawdownConfig,
    #[serde(with = "super::jf64")]
    hwm: f64,
    day: i64,
    /// The current day's span on the engine clock, [start, end) ns: the day is recomputed (a
    /// 64-bit division) only when the clock leaves it.
    day_span: (i64, i64),
    #[serde(with = "super::jf64")]
    day_start: f64,
    soft_hit: bool,
    hard_latched: bool,
    daily_hit: bool,
    #[serde(with = "super::jf64")]
    drawdown: f64,
    /// The latest equity observed.
    #[serde(with = "super::jf64")]
    equity: f64,
    /// When the hard limit latched: (ts, drawdown, high-water mark, equity) then.
    latched: Option<(i64, f64, f64, f64)>,
}

impl DrawdownGuard {
    pub fn new(cfg: DrawdownConfig, name: String) -> CoreResult<Self> {
        cfg.validate()?;
        Ok(Self {
            name,
            cfg,
            hwm: f64::NEG_INFINITY,
            day: i64::MIN,
            day_span: (i64::MAX, i64::MIN),
            day_start: f64::NAN,
            soft_hit: false,
            hard_latched: false,
            daily_hit: false,
            drawdown: 0.0,
            equity: f64::NAN,
            latched: None,
        })
    }

    /// The equity high-water mark seen so far (−∞ before the first observation).
    pub fn high_water_mark(&self) -> f64 {
        self.hwm
    }

    /// The latest drawdown from the high-water mark (fraction).
    pub fn drawdown(&self) -> f64 {
        self.drawdown
    }

    /// The equity the current UTC day is measured from.
    pub fn day_start_equity(&self) -> f64 {
        self.day_start
    }

    #[inline(never)]
    fn enter_day(&mut self, ts: i64, equity: f64) {
        let day = utc_day(ts);
        self.day_span = (
            day.saturating_mul(DAY_NS),
            day.saturating_add(1).saturating_mul(DAY_NS),
        );
        if day != self.day {
            self.day = day;
            self.day_start = equity;
            self.daily_hit = false;
        }
    }

    #[cold]
    #[inline(never)]
    fn latch(&mut self, ts: i64, equity: f64) {
        self.hard_latched = true;
        self.latched = Some((ts, self.drawdown, self.hwm, equity));
    }

    /// The day's loss so far (fraction of the day's first equity; 0 before any).
    fn day_loss(&self) -> f64 {
        if self.day_start > 0.0 {
            (self.day_start - self.equity) / self.day_start
        } else {
            0.0
        }
    }

    /// "(high-water mark 11200.00, equity 9822.40)".
    fn marks(hwm: f64, equity: f64) -> String {
        format!(
            "(high-water mark {}, equity {})",
            money_f64(hwm),
            money_f64(equity)
        )
    }

    /// Take one equity observation at engine time `ts`.
    pub fn observe(&mut self, ts: i64, equity: f64) {
        if !(self.day_span.0 <= ts && ts < self.day_span.1) {
            self.enter_day(ts, equity);
        }
        if equity > self.hwm {
            self.hwm = equity;
        }
        self.drawdown = if self.hwm > 0.0 {
            (self.hwm - equity) / self.hwm
        } else {
            0.0
        };
        self.soft_hit = self.cfg.soft.is_some_and(|s| self.drawdown >= s);
        self.equity = equity;
        if !self.hard_latched && self.cfg.hard.is_some_and(|h| self.drawdown >= h) {
            self.latch(ts, equity);
        }
        if let Some(d) = self.cfg.daily_loss
            && self.day_start > 0.0
            && (self.day_start - equity) / self.day_start >= d
        {
            self.daily_hit = true;
        }
    }
}

impl RiskLayer for DrawdownGuard {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        let w = self.wish();
        if w.state > TradingState::Active && increases_exposure(spec, view) {
            Verdict::Veto(w.reason)
        } else {
            Verdict::Pass
        }
    }

    /// No `check` hook for the engine: the guard's veto (a wish above ACTIVE and an order that
    /// adds exposure) can never decide, because its wish already set the engine's state and the
    /// state gate, which runs before the layers, refuses every such order (REDUCING lets only
    /// orders through that reduce exposure, counting working orders too). `check` stays for
    /// direct callers.
    fn hooks(&self) -> Hooks {
        Hooks {
            bar: true,
            fill: true,
            ..Hooks::NONE
        }
    }

    fn on_bar(&mut self, _bar: &Bar, view: &RiskView<'_>) {
        self.observe(view.ts, view.portfolio.equity_f64());
    }

    fn on_fill(&mut self, _fill: &Fill, view: &RiskView<'_>) {
        self.observe(view.ts, view.portfolio.equity_f64());
    }

    /// The view shows the account after the whole batch: one observation stands for all.
    fn on_fills(&mut self, fills: &[Fill], view: &RiskView<'_>) {
        if !fills.is_empty() {
            self.observe(view.ts, view.portfolio.equity_f64());
        }
    }

    /// Fills and a bar of one step: one observation of the account they left.
    fn on_step(&mut self, _: &[Fill], _: &[OrderEvent], _: Option<&Bar>, view: &RiskView<'_>) {
        self.observe(view.ts, view.portfolio.equity_f64());
    }

    fn wish(&self) -> StateWish {
        let (state, reason) = if self.hard_latched {
            (self.cfg.hard_state, RiskReason::Drawdown)
        } else if self.daily_hit {
            (TradingState::Halted, RiskReason::DailyLoss)
        } else if self.soft_hit {
            (TradingState::Reducing, RiskReason::Drawdown)
        } else {
            (TradingState::Active, RiskReason::Drawdown)
        };
        StateWish { state, reason }
    }

    fn needs_every_bar(&self) -> bool {
        true
    }

    /// The wish's condition with its numbers: "drawdown 12.3 % ≥ soft limit 10 % (high-water
    /// mark 11200.00, equity 9822.40)"; the hard limit as it was when it latched; the day's loss;
    /// with no wish, where the drawdown and the day's loss stand against their limits.
    fn explain(&self) -> Option<String> {
        if self.equity.is_nan() {
            return None; // nothing observed yet
        }
        let c = &self.cfg;
        if let (Some((ts, dd, hwm, eq)), Some(h)) = (self.latched, c.hard) {
            return Some(format!(
                "drawdown {} % ≥ hard limit {} % {} at {}: {} for the rest of the run",
                pct_vs(dd, h),
                pct(h),
                Self::marks(hwm, eq),
                utc(ts),
                c.hard_state.as_str().to_uppercase()
            ));
        }
        let dd = |lim: f64, op: &str, name: &str| {
            format!(
                "drawdown {} % {op} {name} {} % {}",
                pct_vs(self.drawdown, lim),
                pct(lim),
                Self::marks(self.hwm, self.equity)
            )
        };
        let day = |lim: f64, op: &str| {
            format!(
                "day loss {} % {op} daily_loss limit {} % (equity {} against {} at the day's start)",
                pct_vs(self.day_loss(), lim),
                pct(lim),
                money_f64(self.equity),
                money_f64(self.day_start)
            )
        };
        if self.daily_hit
            && let Some(d) = c.daily_loss
        {
            return Some(day(d, "≥"));
        }
        if self.soft_hit
            && let Some(s) = c.soft
        {
            return Some(dd(s, "≥", "soft limit"));
        }
        let mut parts = Vec::new();
        if let Some(s) = c.soft.or(c.hard) {
            let name = if c.soft.is_some() {
                "soft limit"
            } else {
                "hard limit"
            };
            parts.push(dd(s, "<", name));
        }
        if let Some(d) = c.daily_loss {
            parts.push(day(d, "<"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
