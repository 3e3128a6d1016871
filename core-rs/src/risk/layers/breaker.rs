//! Circuit breaker (see [`BreakerConfig`]).

use super::{BreakerConfig, increases_exposure};
use crate::error::CoreResult;
use crate::model::bar::Bar;
use crate::model::order::{Fill, OrderEvent, OrderEventKind, OrderSpec};
use crate::risk::explain::{secs, utc};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// Circuit breaker.
///
/// Failures: venue rejects (`Rejected` events; the risk engine's denials are not failures) and
/// closed trades with pnl < 0. Successes: `Accepted` events and closed trades with pnl > 0.
/// - CLOSED: `failure_threshold` failures in a row → OPEN (a success resets the count);
/// - OPEN (since t): exposure-increasing orders are vetoed with `CircuitOpen`, reducing ones
///   pass; failures while open change nothing; at t + `cooldown_ns` exactly → HALF-OPEN;
/// - HALF-OPEN: the next `half_open_trials` exposure-increasing orders pass, later ones are
///   vetoed until an outcome: a success → CLOSED, a failure → OPEN again (from its time).
///
/// The cool-down is evaluated lazily on every call (engine clock), so the layer needs no bars.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CircuitBreaker {
    name: String,
    cfg: BreakerConfig,
    state: BreakerState,
    failures: u32,
    opened_at: i64,
    /// The failures in a row that opened it last (0: its half-open trial failed).
    opened_after: u32,
    trials_left: u32,
    trades_seen: usize,
}

impl CircuitBreaker {
    pub fn new(cfg: BreakerConfig, name: String) -> CoreResult<Self> {
        cfg.validate()?;
        Ok(Self {
            name,
            cfg,
            state: BreakerState::Closed,
            failures: 0,
            opened_at: i64::MIN,
            opened_after: 0,
            trials_left: 0,
            trades_seen: 0,
        })
    }

    /// The breaker's state as of the latest call it saw.
    pub fn breaker_state(&self) -> BreakerState {
        self.state
    }

    /// Consecutive failures counted while closed.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Let the clock reach `ts` (OPEN → HALF-OPEN once the cool-down is over).
    pub fn advance(&mut self, ts: i64) {
        if self.state == BreakerState::Open
            && ts >= self.opened_at.saturating_add(self.cfg.cooldown_ns)
        {
            self.state = BreakerState::HalfOpen;
            self.trials_left = self.cfg.half_open_trials;
        }
    }

    fn open(&mut self, ts: i64) {
        self.state = BreakerState::Open;
        self.opened_at = ts;
        self.opened_after = self.failures;
        self.failures = 0;
    }

    /// Record a failure at `ts`.
    pub fn failure(&mut self, ts: i64) {
        self.advance(ts);
        match self.state {
            BreakerState::Closed => {
                self.failures += 1;
                if self.failures >= self.cfg.failure_threshold {
                    self.open(ts);
                }
            }
            // (no failure is counted while open or half-open: `opened_after` is 0)
            BreakerState::HalfOpen => self.open(ts),
            BreakerState::Open => {}
        }
    }

    /// Record a success at `ts`.
    pub fn success(&mut self, ts: i64) {
        self.advance(ts);
        match self.state {
            BreakerState::Closed => self.failures = 0,
            BreakerState::HalfOpen => {
                self.state = BreakerState::Closed;
                self.failures = 0;
            }
            BreakerState::Open => {}
        }
    }
}

impl RiskLayer for CircuitBreaker {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        self.advance(view.ts);
        if self.state == BreakerState::Closed || !increases_exposure(spec, view) {
            return Verdict::Pass;
        }
        if self.state == BreakerState::HalfOpen && self.trials_left > 0 {
            self.trials_left -= 1;
            return Verdict::Pass;
        }
        Verdict::Veto(RiskReason::CircuitOpen)
    }

    /// No bar hook: the breaker wishes no state, and `check` moves an open breaker to half-open
    /// on the clock before judging an order (`on_bar` stays for direct callers).
    fn hooks(&self) -> Hooks {
        Hooks {
            check: true,
            fill: true,
            event: true,
            ..Hooks::NONE
        }
    }

    fn on_bar(&mut self, _bar: &Bar, view: &RiskView<'_>) {
        self.advance(view.ts);
    }

    fn on_fill(&mut self, fill: &Fill, view: &RiskView<'_>) {
        let trades = &view.portfolio.trades;
        if trades.len() < self.trades_seen {
            self.trades_seen = 0;
        }
        for t in &trades[self.trades_seen..] {
            let pnl = t.pnl;
            if pnl < 0 {
                self.failure(fill.ts);
            } else if pnl > 0 {
                self.success(fill.ts);
            }
        }
        self.trades_seen = trades.len();
    }

    /// The view shows the trades the whole batch closed: the first fill's call sees them all.
    fn on_fills(&mut self, fills: &[Fill], view: &RiskView<'_>) {
        if let Some(f) = fills.first() {
            self.on_fill(f, view);
        }
    }

    fn on_event(&mut self, event: &OrderEvent, _view: &RiskView<'_>) {
        match event.kind {
            OrderEventKind::Rejected(_) => self.failure(event.ts),
            OrderEventKind::Accepted => self.success(event.ts),
            _ => self.advance(event.ts),
        }
    }

    /// The breaker's state and why: "circuit breaker open since ... after 5 failures in a row
    /// (failure_threshold 5): orders that add exposure are vetoed until ...".
    fn explain(&self) -> Option<String> {
        let c = &self.cfg;
        Some(match self.state {
            BreakerState::Closed => format!(
                "circuit breaker closed: {} failures in a row (failure_threshold {})",
                self.failures, c.failure_threshold
            ),
            BreakerState::Open => {
                let why = if self.opened_after == 0 {
                    "its half-open trial failed".to_string()
                } else {
                    format!(
                        "{} failures in a row (venue rejects, losing trades; failure_threshold {})",
                        self.opened_after, c.failure_threshold
                    )
                };
                format!(
                    "circuit breaker open since {} after {why}: orders that add exposure are vetoed until {} (cool-down {})",
                    utc(self.opened_at),
                    utc(self.opened_at.saturating_add(c.cooldown_ns)),
                    secs(c.cooldown_ns)
                )
            }
            BreakerState::HalfOpen => format!(
                "circuit breaker half-open: its {} trial order(s) are out, the next outcome closes or opens it",
                c.half_open_trials
            ),
        })
    }
}
