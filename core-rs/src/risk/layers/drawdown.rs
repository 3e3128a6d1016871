//! Drawdown guard (see [`DrawdownConfig`]).

use super::{DAY_NS, DrawdownConfig, increases_exposure, utc_day};
use crate::error::CoreResult;
use crate::model::bar::Bar;
use crate::model::order::{Fill, OrderEvent, OrderSpec};
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
pub struct DrawdownGuard {
    name: String,
    cfg: DrawdownConfig,
    hwm: f64,
    day: i64,
    /// The current day's span on the engine clock, [start, end) ns: the day is recomputed (a
    /// 64-bit division) only when the clock leaves it.
    day_span: (i64, i64),
    day_start: f64,
    soft_hit: bool,
    hard_latched: bool,
    daily_hit: bool,
    drawdown: f64,
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
        if self.cfg.hard.is_some_and(|h| self.drawdown >= h) {
            self.hard_latched = true;
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
}
