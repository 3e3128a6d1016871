//! The risk engine: every command a strategy sends — backtest or live — passes here before any
//! venue sees it. Order of work for a command:
//!
//! 1. the trading state ([`TradingState`]) — may deny at once;
//! 2. the pre-trade checks ([`checks`], configured by [`checks::RiskLimits`]);
//! 3. the risk layers ([`layers`], in their configured order): each may pass, veto or resize the
//!    order, and may ask for a trading state; a resized order is checked again by step 2;
//! 4. the venue.
//!
//! Denials carry a [`RiskReason`] (`Reason::Risk(code)` in the order event the strategy gets) and
//! one sentence with the numbers behind it ([`RiskEngine::last_denial`]: "position 2.500 + working
//! 0.500 + order 1.000 = 4.000 > max_position 3.000"), built only on the denial path. Every
//! decision that changes what goes out — a denial (the engine's, or the account's reported
//! through [`RiskEngine::note_account_denial`]), a layer's resize, a change of trading state —
//! is an [`audit`] entry, hash-chained. Nothing bypasses the engine except
//! [`RiskConfig::bypass`], which is itself written to the audit log when the engine starts.
//!
//! Where it sits: above the model ([`crate::model`]: orders, the order manager whose working
//! orders and totals the checks read, the denial codes [`RiskReason`], re-exported here) and the
//! portfolio, and below the command path ([`crate::exec`]) that every loop — bars, ticks/L2,
//! live — runs a command through. It reads nothing from any venue: working orders are the
//! trader's own order state, whichever venue holds them.
//!
//! Rust domain code: no PyO3 here (bindings in `python/risk.rs`).

pub mod audit;
pub mod bucket;
pub mod checks;
pub mod explain;
pub mod layers;
pub mod state;

use crate::model::bar::Bar;
use crate::model::instrument::Instrument;
use crate::model::order::{Command, Fill, ListKind, OrderEvent, OrderId, OrderSpec};
use crate::model::orders::Orders;
use crate::portfolio::Portfolio;

pub use state::TradingState;

mod engine;
pub use engine::{DenialNote, RiskConfig, RiskEngine, RiskReport, RiskState, StateChange};

pub use crate::model::reason::RiskReason;

/// The trading state's side of a [`RiskReason`].
impl RiskReason {
    /// The reason a command is refused in `state` (None for ACTIVE).
    pub fn for_state(state: TradingState) -> Option<Self> {
        match state {
            TradingState::Active => None,
            TradingState::Reducing => Some(Self::StateReducing),
            TradingState::Paused => Some(Self::StatePaused),
            TradingState::Halted => Some(Self::StateHalted),
            TradingState::Emergency => Some(Self::StateEmergency),
        }
    }
}

/// What the risk engine and its layers may read: the account, the open orders, the clock.
/// Built by the engine for each command and each bar (borrows only: free to build).
#[derive(Clone, Copy)]
pub struct RiskView<'a> {
    /// Engine clock, UTC epoch ns.
    pub ts: i64,
    pub instruments: &'a [Instrument],
    pub portfolio: &'a Portfolio,
    /// The trader's order manager ([`crate::model::orders`]: working orders, their leaves,
    /// reduce-only bookkeeping), whichever venue they are at.
    pub orders: &'a Orders,
    /// Latest composite confidence per instrument in [0, 1] (NaN: none given), fed by the
    /// strategy from the decision kernel (`RiskEngine::set_confidence`).
    pub confidence: &'a [f64],
    /// UTC epoch ns of the latest market data per instrument (i64::MIN: none yet).
    pub last_data_ts: &'a [i64],
}

/// A layer's answer about one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through unchanged.
    Pass,
    /// Change the quantity (raw units, > 0; the engine rounds down to the lot and checks it again).
    Resize(i64),
    /// Refuse it.
    Veto(RiskReason),
}

/// A layer's wish about the trading state: the engine's state is the most severe of the manual
/// state and every layer's wish (a layer with no objection wishes [`TradingState::Active`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateWish {
    pub state: TradingState,
    pub reason: RiskReason,
}

/// Which hooks of a layer the engine calls ([`RiskLayer::hooks`], read once when the engine is
/// built). A hook left out is never called, so a layer pays nothing for what it ignores; `wish`
/// and `on_state` are always called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hooks {
    /// [`RiskLayer::check`]: left out by a layer that never vetoes nor resizes in its
    /// configuration (its wish alone acts, through the state gate that runs before the layers).
    pub check: bool,
    pub bar: bool,
    pub quote: bool,
    pub fill: bool,
    pub event: bool,
}

impl Hooks {
    pub const ALL: Hooks = Hooks {
        check: true,
        bar: true,
        quote: true,
        fill: true,
        event: true,
    };
    pub const NONE: Hooks = Hooks {
        check: false,
        bar: false,
        quote: false,
        fill: false,
        event: false,
    };
}

/// A risk layer: composed in the configured order. Built-in layers are Rust ([`layers`]); a
/// Python plugin layer is wrapped by the bindings in the same trait.
pub trait RiskLayer: Send + Sync {
    /// The layer's name (as configured; unique in one engine).
    fn name(&self) -> &str;
    /// Pre-trade: pass, resize or veto a new order (`spec.qty` is what the strategy asked for, or
    /// what earlier layers resized it to).
    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict;
    /// After the venue settled a bar and the marks moved.
    fn on_bar(&mut self, _bar: &Bar, _view: &RiskView<'_>) {}
    /// A quote (best bid/ask, raw prices) from a tick or L2 feed; bar backtests never call it.
    fn on_quote(&mut self, _instrument: u32, _ts: i64, _bid: i64, _ask: i64) {}
    /// A fill reached the portfolio.
    fn on_fill(&mut self, _fill: &Fill, _view: &RiskView<'_>) {}
    /// Any order event (rejects, cancels, ...), after the engine handled it.
    fn on_event(&mut self, _event: &OrderEvent, _view: &RiskView<'_>) {}
    /// A batch of fills, in order (what the engine calls: one dynamic call a batch, the loop
    /// over [`on_fill`](Self::on_fill) compiled per layer).
    fn on_fills(&mut self, fills: &[Fill], view: &RiskView<'_>) {
        for f in fills {
            self.on_fill(f, view);
        }
    }
    /// A batch of order events, in order (see [`on_fills`](Self::on_fills)).
    fn on_events(&mut self, events: &[OrderEvent], view: &RiskView<'_>) {
        for e in events {
            self.on_event(e, view);
        }
    }
    /// What the engine calls once per sync: the new fills, then the new events, then the bar
    /// (each empty or None where nothing came or the layer's [`hooks`](Self::hooks) left it
    /// out; never all three). The view shows the account after all of them. Default: the three
    /// hooks above in that order; a layer that only reads the account may look once.
    fn on_step(
        &mut self,
        fills: &[Fill],
        events: &[OrderEvent],
        bar: Option<&Bar>,
        view: &RiskView<'_>,
    ) {
        if !fills.is_empty() {
            self.on_fills(fills, view);
        }
        if !events.is_empty() {
            self.on_events(events, view);
        }
        if let Some(bar) = bar {
            self.on_bar(bar, view);
        }
    }
    /// The hooks below the engine must call (default: all of them). A layer whose hook does
    /// nothing for its configuration leaves it out: the engine then skips the call.
    // NB: the trade-every-bar bench calls the hooks ~5 times a bar per layer; skipping the
    // no-op calls took the default layers' extra instructions per bar down (callgrind).
    fn hooks(&self) -> Hooks {
        Hooks::ALL
    }
    /// The layer's current state wish (read after `on_bar`/`on_fill`/`on_event`; called
    /// after every batch of them, so keep it O(1)).
    fn wish(&self) -> StateWish {
        StateWish {
            state: TradingState::Active,
            reason: RiskReason::LayerVeto,
        }
    }
    /// Whether the layer must see every bar even when no order is open (e.g. a drawdown guard).
    /// Layers that return false let the engine keep its quiet-span fast path.
    fn needs_every_bar(&self) -> bool {
        false
    }
    /// The reason reported when this layer's [`Verdict::Resize`] rounds the order down to
    /// nothing (e.g. `Kelly`, `VolatilityTarget`). (Added by the engine work.)
    fn resize_reason(&self) -> RiskReason {
        RiskReason::LayerVeto
    }
    /// The engine's trading state changed to `state` (also called once when the engine is
    /// built). (Added by the engine work: Python layers show it in their `account` dict.)
    fn on_state(&mut self, _state: TradingState) {}
    /// The layer's own state (a checkpoint of the engine: drawdown high-water mark, breaker
    /// state, ...), as JSON. Default: a layer with no state of its own (`null`).
    fn save(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Take back the state [`save`](Self::save) gave, on a layer built from the same
    /// configuration. Default: a layer with no state accepts only `null`.
    fn load(&mut self, v: &serde_json::Value) -> crate::error::CoreResult<()> {
        if v.is_null() {
            Ok(())
        } else {
            Err(crate::error::CoreError::InvalidArgument {
                name: "checkpoint",
                reason: format!(
                    "layer {:?} keeps no state but the checkpoint holds some",
                    self.name()
                ),
            })
        }
    }
    /// The layer's own words for what it decided last, with its numbers: why it wishes its
    /// state ("drawdown 12.3 % ≥ soft limit 10 % (high-water mark 11200.00, equity 9822.40)"),
    /// why it vetoed or resized the order it was just asked about ("f* = -0.12 over the last 50
    /// trades"). The engine calls it only on those paths (a state change, a veto, a resize),
    /// never for a passing order. None: the reason's [`RiskReason::as_str`] stands.
    fn explain(&self) -> Option<String> {
        None
    }
}

/// The orders `cmd` is about: a new order's id, every leg of a list, the order a modify or a
/// cancel names, and for a cancel-all the working orders it would cancel (of its instrument, or
/// of all `n_instruments`). Used on denial paths (events, audit entries), never on a passing one.
pub fn command_orders(cmd: &Command, orders: &Orders, n_instruments: usize) -> Vec<OrderId> {
    match cmd {
        Command::Submit(spec) => vec![spec.id],
        Command::SubmitList { orders: legs, .. } => legs.iter().map(|o| o.id).collect(),
        Command::Modify { id, .. } | Command::Cancel { id } => vec![*id],
        Command::CancelAll { instrument } => match instrument {
            Some(i) => orders.working_ids(*i).to_vec(),
            None => (0..n_instruments as u32)
                .flat_map(|i| orders.working_ids(i).iter().copied())
                .collect(),
        },
    }
}
