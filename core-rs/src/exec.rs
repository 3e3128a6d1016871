//! The command path every mode uses: the bar loop ([`crate::engine::Backtest`]), the tick/L2 loop
//! ([`crate::engine_l2::L2Backtest`]) and the live session that runs it ([`crate::live`]).
//!
//! What lives here, once:
//! - **A command** ([`route`]): the risk engine's check (it may resize a new order, or deny: a
//!   denial is an order event carrying `Reason::Risk(code)` and the denial's sentence, in
//!   [`Denials`]); then the account's rule ([`check_account`], never bypassed: a denial with the
//!   account's reason, noted by the risk engine as its own); then the venue ([`Host::send`]);
//!   then the risk sync.
//! - **The risk sync** ([`risk_sync`], [`observe`]): the fills and order events the risk layers
//!   have not seen, shown to them in one [`RiskEngine::sync`] (which settles the trading state);
//!   EMERGENCY entered on the way acts at once.
//! - **EMERGENCY** ([`emergency`]): cancel the strategy's working orders (their `Canceled` events
//!   carry `Risk(StateEmergency)`: [`cancel_strategy_orders`]), then flatten every open position
//!   with a reduce-only market order of the engine's own ([`flatten`]: ids from
//!   [`ENGINE_ORDER_ID_BASE`] up; a new one only once the last one closed).
//! - **A commanded trading state** ([`set_state`]: the strategy's or an operator's).
//! - **Delivery** ([`deliver`]): the trading-state changes, then the order events, handed to the
//!   strategy until none are left (a strategy may answer with commands that make more), at most
//!   [`MAX_DELIVERY_ROUNDS`] rounds at one point of the run.
//!
//! A loop implements [`Host`] (its parts, borrowed at once as a [`Desk`]; how its venue takes a
//! command; its account's prices) and [`Deliver`] (how its strategy is called), and keeps an
//! [`Exec`] (what the layers have seen, the engine's own orders). The venue is one sink among
//! others: the simulated bar venue, the L2 matcher, or a live node's remote venue.
//!
//! Where the modes differ, [`Host::LAZY_ACKS`] says how: the bar loop shows the risk layers a
//! command's `Submitted`/`Accepted` events at the next sync instead of at once (they move no
//! account and raise no wish; every check still runs on layers that saw everything before it),
//! and drops the events its handler has seen ([`Desk::forget_events`]); the tick/L2 loop shows
//! every event after each command and keeps the run's events.
//!
//! Rust domain code: no PyO3 here.

use crate::model::fixed::Rate;
use crate::model::{
    Bar, Command, Fill, Instrument, ListKind, OrderEvent, OrderEventKind, OrderId, OrderKind,
    OrderSpec, Orders, Reason, RiskReason, Side, WorkingTotals,
};
use crate::portfolio::{AccountDenial, Portfolio};
use crate::risk::{DenialNote, RiskEngine, RiskView, StateChange, TradingState};

/// Ids of the orders the engine sends itself (EMERGENCY flattening, an operator's flatten) start
/// here, far above any strategy's ids, and below 2^63: every id fits a signed 64-bit integer (the
/// store's SQLite and PostgreSQL columns).
pub const ENGINE_ORDER_ID_BASE: OrderId = 1 << 62;

/// Rounds of delivery at one point of the run, at most (a strategy whose answers to events keep
/// making events past this is stopped with an error).
pub const MAX_DELIVERY_ROUNDS: u32 = 64;

/// A denied command with its numbers: the risk engine's or the account's reason, and one
/// sentence of detail ("buy 1.000000 BTCUSDT at 86000.00 costs 86064.50 with fees; free balance
/// 10000.00 (cash 10000.00)").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Denial {
    pub ts: i64,
    pub order_id: OrderId,
    pub reason: Reason,
    pub detail: String,
}

/// Every denial of a run with its numbers, in order, found by order id.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<Denial>", into = "Vec<Denial>")]
pub struct Denials {
    list: Vec<Denial>,
    by_id: std::collections::HashMap<OrderId, usize>,
}

/// A checkpoint holds the list; the index by order id is rebuilt (the latest denial of an id).
impl From<Vec<Denial>> for Denials {
    fn from(list: Vec<Denial>) -> Self {
        let by_id = list
            .iter()
            .enumerate()
            .map(|(k, d)| (d.order_id, k))
            .collect();
        Self { list, by_id }
    }
}

impl From<Denials> for Vec<Denial> {
    fn from(d: Denials) -> Self {
        d.list
    }
}

impl Denials {
    /// The events of `cmd` refused for `reason`, one per order it is about (`orders`: see
    /// [`crate::risk::command_orders`]; a cancel-all's are the working orders it would have
    /// canceled): `Denied` for a new order or a list's leg, `ModifyRejected` for a modify,
    /// `CancelRejected` for a cancel; each recorded with `detail`.
    pub fn deny(
        &mut self,
        cmd: &Command,
        orders: &[OrderId],
        reason: Reason,
        detail: &str,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) {
        let kind = match cmd {
            Command::Submit(_) | Command::SubmitList { .. } => OrderEventKind::Denied(reason),
            Command::Modify { .. } => OrderEventKind::ModifyRejected(reason),
            Command::Cancel { .. } | Command::CancelAll { .. } => {
                OrderEventKind::CancelRejected(reason)
            }
        };
        for &id in orders {
            events.push(OrderEvent { id, ts, kind });
            self.by_id.insert(id, self.list.len());
            self.list.push(Denial {
                ts,
                order_id: id,
                reason,
                detail: detail.to_string(),
            });
        }
    }

    /// [`deny`](Self::deny) the command the risk engine just recorded as denied (`note`, its
    /// [`RiskEngine::last_denial`]: the engine's own denial or the account's): the orders and the
    /// sentence of its audit entry.
    pub fn deny_noted(
        &mut self,
        cmd: &Command,
        note: &DenialNote,
        reason: Reason,
        events: &mut Vec<OrderEvent>,
    ) {
        self.deny(cmd, &note.orders, reason, &note.sentence, note.ts, events);
    }

    /// The latest denial of order `id`.
    pub fn of(&self, id: OrderId) -> Option<&Denial> {
        self.by_id.get(&id).map(|&k| &self.list[k])
    }

    /// The sentence behind `event` when it is a denial (`Denied`, `ModifyRejected`,
    /// `CancelRejected`) recorded here at its time; None for any other event.
    #[inline]
    pub fn detail(&self, event: &OrderEvent) -> Option<&str> {
        match event.kind {
            OrderEventKind::Denied(_)
            | OrderEventKind::ModifyRejected(_)
            | OrderEventKind::CancelRejected(_) => self
                .of(event.id)
                .filter(|d| d.ts == event.ts)
                .map(|d| d.detail.as_str()),
            _ => None,
        }
    }

    pub fn all(&self) -> &[Denial] {
        &self.list
    }
}

/// The account's rule for a command, in every mode (see [`Portfolio::check_order`]): a new order,
/// each leg of a list that can trade on its own (every OCO leg, an OTO/bracket's parent; the
/// children activate later, sized to the parent's fill, and meet the fill-time check), and a
/// modify as the order would become. `estimate(spec, qty)`: the price the order can fill at in
/// this mode (None: no price yet); `fee_rate`: the highest fee rate it may pay.
pub fn check_account(
    portfolio: &Portfolio,
    instruments: &[Instrument],
    orders: &Orders,
    cmd: &Command,
    fee_rate: Rate,
    estimate: &dyn Fn(&OrderSpec, i64) -> Option<i64>,
) -> Result<(), AccountDenial> {
    let one = |spec: &OrderSpec, open_qty: i64, own: Option<&WorkingTotals>| {
        let px = estimate(spec, open_qty);
        portfolio.check_order(instruments, spec, open_qty, px, fee_rate, orders, own)
    };
    match cmd {
        Command::Submit(spec) => one(spec, spec.qty, None),
        Command::SubmitList { kind, orders, .. } => {
            let legs = match kind {
                ListKind::Oco => &orders[..],
                _ => &orders[..orders.len().min(1)],
            };
            for spec in legs {
                one(spec, spec.qty, None)?;
            }
            Ok(())
        }
        Command::Modify {
            id,
            qty,
            px,
            trigger,
        } => {
            let Some(o) = orders.get(*id) else {
                return Ok(()); // the venue answers an unknown id
            };
            if o.status.is_closed() {
                return Ok(());
            }
            let mut spec = o.spec.clone();
            crate::risk::checks::apply_modify(&mut spec, *qty, *px, *trigger);
            let open_qty = (spec.qty - o.filled).max(0);
            let own = o.status.is_working().then(|| WorkingTotals::of(o));
            one(&spec, open_qty, own.as_ref())
        }
        Command::Cancel { .. } | Command::CancelAll { .. } => Ok(()),
    }
}

/// The command path's own state in a loop: what the risk layers have seen, and the engine's own
/// orders (EMERGENCY flattening).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Exec {
    /// Fills and events (of the loop's lists) already shown to the risk layers.
    seen_fills: usize,
    seen_events: usize,
    /// Events the loop dropped (handed to its strategy) before the layers saw them: only a
    /// command's `Submitted`/`Accepted` under [`Host::LAZY_ACKS`], shown at the next sync.
    backlog: Vec<OrderEvent>,
    /// Per instrument: the engine's latest flattening order.
    flatten: Vec<Option<OrderId>>,
    /// The last id the engine gave its own orders.
    engine_ids: OrderId,
}

impl Exec {
    /// The command path of a loop over `n_instruments` instruments.
    pub fn new(n_instruments: usize) -> Self {
        Self {
            seen_fills: 0,
            seen_events: 0,
            backlog: Vec::new(),
            flatten: vec![None; n_instruments],
            engine_ids: ENGINE_ORDER_ID_BASE,
        }
    }

    /// A new risk engine takes over: it has seen nothing before the loop's current `fills` and
    /// `events` (they are not shown to it).
    pub fn reset_seen(&mut self, fills: usize, events: usize) {
        self.seen_fills = fills;
        self.seen_events = events;
        self.backlog.clear();
    }
}

/// The parts of a loop the command path works on, borrowed at once. `instruments` is empty while
/// the loop does not know its instrument yet (see [`Host::ready`]): there is nothing to cancel
/// or flatten then.
pub struct Desk<'a> {
    pub exec: &'a mut Exec,
    pub risk: &'a mut RiskEngine,
    pub denials: &'a mut Denials,
    pub instruments: &'a [Instrument],
    pub portfolio: &'a Portfolio,
    /// The trader's order state ([`crate::model::orders`]), at whichever venue.
    pub orders: &'a Orders,
    pub fills: &'a [Fill],
    pub events: &'a mut Vec<OrderEvent>,
}

impl Desk<'_> {
    /// `f` with the risk engine and a view of the account at `ts` (no allocation).
    #[inline(always)]
    pub fn with_view<R>(
        &mut self,
        ts: i64,
        f: impl FnOnce(&mut RiskEngine, &RiskView<'_>) -> R,
    ) -> R {
        let m = self.risk.take_market();
        let view = RiskView {
            ts,
            instruments: self.instruments,
            portfolio: self.portfolio,
            orders: self.orders,
            confidence: &m.confidence,
            last_data_ts: &m.last_data_ts,
        };
        let r = f(self.risk, &view);
        self.risk.put_market(m);
        r
    }

    /// The risk engine's pre-trade check of `cmd`.
    #[inline(always)]
    fn check(&mut self, cmd: &mut Command, ts: i64) -> Result<(), RiskReason> {
        self.with_view(ts, |risk, view| risk.check(cmd, view))
    }

    /// The events and records of the denial the risk engine just noted (its own or the
    /// account's: both land the same way).
    fn deny_noted(&mut self, cmd: &Command, reason: Reason) {
        debug_assert!(self.risk.last_denial().is_some(), "a denial is noted first");
        if let Some(n) = self.risk.last_denial() {
            self.denials.deny_noted(cmd, n, reason, self.events);
        }
    }

    /// The events of a command the risk engine refused (recorded, with its sentence and its
    /// audit entry, by the engine: [`RiskEngine::last_denial`]).
    #[inline(never)]
    fn risk_denied(&mut self, cmd: &Command, r: RiskReason) {
        self.deny_noted(cmd, Reason::Risk(r));
    }

    /// A command the account refused: noted by the risk engine (counted, audited) like its own
    /// denials, then its events. (The account refuses nothing before the instrument is known.)
    #[inline(never)]
    fn account_denied(&mut self, cmd: &Command, d: AccountDenial, ts: i64) {
        if self.instruments.is_empty() {
            return;
        }
        self.with_view(ts, |risk, view| {
            risk.note_account_denial(cmd, d.reason.code(), &d.detail, view)
        });
        self.deny_noted(cmd, d.reason);
    }

    /// Fills or events the layers must see now (with `lazy_acks`, a command's
    /// `Submitted`/`Accepted` alone can wait). False without layers.
    #[inline(always)]
    pub fn unseen(&self, lazy_acks: bool) -> bool {
        self.risk.has_layers()
            && (self.exec.seen_fills < self.fills.len()
                || if lazy_acks {
                    self.events[self.exec.seen_events..].iter().any(|e| {
                        !matches!(e.kind, OrderEventKind::Submitted | OrderEventKind::Accepted)
                    })
                } else {
                    self.exec.seen_events < self.events.len()
                })
    }

    /// Events the layers have not seen, waiting in the loop's list or in the backlog. False
    /// without layers.
    #[inline(always)]
    pub fn lagging(&self) -> bool {
        self.risk.has_layers()
            && (self.exec.seen_events < self.events.len() || !self.exec.backlog.is_empty())
    }

    /// The loop handed its strategy the events and drops them ([`Host::LAZY_ACKS`]): those the
    /// layers have not seen wait in the backlog for the next sync.
    #[inline]
    pub fn forget_events(&mut self) {
        if self.exec.seen_events < self.events.len() && self.risk.has_layers() {
            self.exec
                .backlog
                .extend_from_slice(&self.events[self.exec.seen_events..]);
        }
        self.events.clear();
        self.exec.seen_events = 0;
    }
}

/// A loop the command path runs in: its parts, its venue and its account's prices.
pub trait Host {
    /// What sending to the venue may fail with (the L2 loop calls its strategy back on fills).
    type Error;

    /// The layers see a command's `Submitted`/`Accepted` events at the next sync, not at once
    /// (and are caught up before each check): the bar loop, whose handler may send an order on
    /// every bar (one reading of the wishes a bar instead of two).
    // NB: callgrind, the trade-every-bar run (100k bars) with the three default layers against
    // none: ~1,090 extra instructions a bar with a sync after each command, ~970 with this;
    // ~1,350 before the layers' hook lists (`Hooks`) and the O(1) wishes, ~890 with all of it.
    const LAZY_ACKS: bool;

    /// The loop's parts, borrowed at once.
    fn desk(&mut self) -> Desk<'_>;

    /// Whether the loop knows its instruments: until then (an L2 recording before its first
    /// price) commands pass unchecked and nothing is shown to the layers. The bar loop always
    /// does (a constant: no test on its path).
    #[inline(always)]
    fn ready(&self) -> bool {
        true
    }

    /// Mark the account before the risk engine reads it (the L2 loop at the book's mid; bars
    /// are marked at each close: nothing to do).
    #[inline(always)]
    fn mark_account(&mut self) {}

    /// The account's rule for `cmd` ([`check_account`]) at the prices orders can fill at in
    /// this mode.
    fn account_check(&self, cmd: &Command) -> Result<(), AccountDenial>;

    /// Hand `cmd` to the venue at `ts`, past the risk engine (the strategy's commands, and the
    /// engine's own in EMERGENCY): its events and fills land in the loop's lists.
    fn send(&mut self, cmd: Command, ts: i64) -> Result<(), Self::Error>;

    /// Orders sent to a real venue that has not acknowledged them yet (not among the working
    /// orders): a cancel-all cancels them too. None where the venue is simulated: its commands
    /// travel in order, so an in-flight submit is never overtaken by the cancel-all.
    #[inline(always)]
    fn in_flight_ids(&self) -> Vec<OrderId> {
        Vec::new()
    }
}

/// A command of the strategy at `ts`: the risk engine first (it may shrink a new order's
/// quantity, or deny the command: an order event says why and nothing reaches the venue), then
/// the account's rule (never bypassed: a venue would refuse the order too), then the venue;
/// then the risk sync.
#[inline]
pub fn route<H: Host>(h: &mut H, mut cmd: Command, ts: i64) -> Result<(), H::Error> {
    if H::LAZY_ACKS {
        catch_up(h, ts)?;
    }
    let checked = if h.desk().risk.bypass() || !h.ready() {
        Ok(())
    } else {
        h.mark_account();
        h.desk().check(&mut cmd, ts)
    };
    match checked {
        Err(r) => h.desk().risk_denied(&cmd, r),
        // accounts: a cash account pays for buys and holds what it sells, a margin account
        // carries the initial margin, working orders and fees counted.
        Ok(()) => match h.account_check(&cmd) {
            Err(d) => h.desk().account_denied(&cmd, d, ts),
            Ok(()) => h.send(cmd, ts)?,
        },
    }
    risk_sync(h, ts)
}

/// After a command (or anything that may have filled or made events): show the risk layers the
/// fills and events they have not seen (a no-op without layers); EMERGENCY entered on the way
/// acts at once.
#[inline(always)]
pub fn risk_sync<H: Host>(h: &mut H, ts: i64) -> Result<(), H::Error> {
    if h.desk().unseen(H::LAZY_ACKS) {
        return risk_sync_slow(h, ts);
    }
    Ok(())
}

/// Before a check ([`Host::LAZY_ACKS`]): show the layers what [`risk_sync`] left for later.
#[inline(always)]
pub fn catch_up<H: Host>(h: &mut H, ts: i64) -> Result<(), H::Error> {
    if h.desk().lagging() {
        return risk_sync_slow(h, ts);
    }
    Ok(())
}

#[inline(never)]
fn risk_sync_slow<H: Host>(h: &mut H, ts: i64) -> Result<(), H::Error> {
    let before = h.desk().risk.state();
    observe(h, ts, None);
    emergency_if_entered(h, before, ts)
}

/// Hand the layers the fills and events they have not seen (and `bar`: the bar loop's turn),
/// then read their wishes once (a state change is stamped `ts`).
pub fn observe<H: Host>(h: &mut H, ts: i64, bar: Option<&Bar>) {
    h.mark_account();
    if !h.ready() {
        return;
    }
    let d = h.desk();
    let exec = d.exec;
    let events = &d.events[exec.seen_events..];
    let events = if exec.backlog.is_empty() {
        events
    } else {
        // One pass: the older events first.
        exec.backlog.extend_from_slice(events);
        &exec.backlog[..]
    };
    d.risk.sync(
        ts,
        d.instruments,
        d.portfolio,
        d.orders,
        &d.fills[exec.seen_fills..],
        events,
        bar,
    );
    exec.backlog.clear();
    exec.seen_fills = d.fills.len();
    exec.seen_events = d.events.len();
}

/// EMERGENCY acts when the state became EMERGENCY since it was `before`.
#[inline]
pub fn emergency_if_entered<H: Host>(
    h: &mut H,
    before: TradingState,
    ts: i64,
) -> Result<(), H::Error> {
    if before != TradingState::Emergency && h.desk().risk.state() == TradingState::Emergency {
        emergency(h, ts)?;
    }
    Ok(())
}

/// A commanded trading state from `source` ("command": the strategy; "operator": a live node's
/// controls); EMERGENCY acts at once (again, when it already was).
pub fn set_state<H: Host>(
    h: &mut H,
    state: TradingState,
    reason: &str,
    source: &str,
    ts: i64,
) -> Result<(), H::Error> {
    let risk = &mut *h.desk().risk;
    risk.set_state_by(state, reason, source, ts);
    if risk.state() == TradingState::Emergency {
        emergency(h, ts)?;
    }
    Ok(())
}

/// EMERGENCY: cancel every working order the engine did not send, and flatten every open
/// position with a reduce-only market order (a new one when the last one closed without
/// flattening). The loops run it again (each bar, each wake-up) until flat; it sends nothing
/// once flat.
#[inline(never)]
pub fn emergency<H: Host>(h: &mut H, ts: i64) -> Result<(), H::Error> {
    cancel_strategy_orders(h, ts, Some(Reason::Risk(RiskReason::StateEmergency)))?;
    flatten(h, ts).map(|_| ())
}

/// Cancel every working order the engine did not send, of every instrument in order; their
/// `Canceled` events (and those of the orders the cancels took with them, e.g. OCO legs) carry
/// `reason` when given. Returns the ids canceled.
pub fn cancel_strategy_orders<H: Host>(
    h: &mut H,
    ts: i64,
    reason: Option<Reason>,
) -> Result<Vec<OrderId>, H::Error> {
    let in_flight = h.in_flight_ids();
    let d = h.desk();
    let victims: Vec<OrderId> = (0..d.instruments.len() as u32)
        .flat_map(|i| d.orders.working_ids(i).iter().copied())
        .chain(in_flight)
        .filter(|&id| id < ENGINE_ORDER_ID_BASE)
        .collect();
    let from = d.events.len();
    for &id in &victims {
        h.send(Command::Cancel { id }, ts)?;
    }
    if let Some(reason) = reason {
        for e in &mut h.desk().events[from..] {
            if e.id < ENGINE_ORDER_ID_BASE
                && let OrderEventKind::Canceled(r) = &mut e.kind
            {
                *r = reason;
            }
        }
    }
    Ok(victims)
}

/// Flatten every open position with a reduce-only market order sent by the engine (ids from
/// [`ENGINE_ORDER_ID_BASE`] up), past the risk engine; nothing for an instrument that is flat or
/// whose last flattening order still works (or is in flight). Returns the ids sent.
pub fn flatten<H: Host>(h: &mut H, ts: i64) -> Result<Vec<OrderId>, H::Error> {
    let mut sent = Vec::new();
    for i in 0..h.desk().instruments.len() {
        let d = h.desk();
        let pos = d.portfolio.positions[i].qty;
        if pos == 0 {
            continue;
        }
        if let Some(id) = d.exec.flatten[i]
            && d.orders.get(id).is_some_and(|o| !o.status.is_closed())
        {
            continue; // ours is still working (or in flight)
        }
        d.exec.engine_ids += 1;
        let id = d.exec.engine_ids;
        d.exec.flatten[i] = Some(id);
        let side = if pos > 0 { Side::Sell } else { Side::Buy };
        let spec = OrderSpec {
            reduce_only: true,
            ..OrderSpec::new(id, i as u32, side, OrderKind::Market, pos.abs())
        };
        h.send(Command::Submit(spec), ts)?;
        sent.push(id);
    }
    Ok(sent)
}

/// How a loop's strategy is handed trading-state changes and order events.
pub trait Deliver {
    type Error;

    /// The risk engine (its pending state changes).
    fn risk(&mut self) -> &mut RiskEngine;

    /// Order events the strategy has not been handed (and wants).
    fn unseen_events(&self) -> bool;

    /// Whether the strategy can be shown anything yet (the L2 loop: once its book and
    /// instrument are known; changes wait until then).
    #[inline(always)]
    fn ready(&self) -> bool {
        true
    }

    /// One round: `changes` (taken from the risk engine), in order, then the unseen events.
    fn hand_over(&mut self, changes: Vec<StateChange>) -> Result<(), Self::Error>;

    /// The error when [`MAX_DELIVERY_ROUNDS`] did not empty the queue.
    fn runaway(&self) -> Self::Error;
}

/// Hand the strategy the state changes and order events it has not seen, round after round
/// (what it sends from there passes the risk engine like any other command and may make more),
/// until none are left.
#[inline]
pub fn deliver<D: Deliver>(d: &mut D) -> Result<(), D::Error> {
    let mut rounds = 0;
    while d.risk().has_pending_changes() || d.unseen_events() {
        rounds += 1;
        if rounds > MAX_DELIVERY_ROUNDS {
            return Err(d.runaway());
        }
        if !d.ready() {
            return Ok(()); // nothing to show the strategy yet
        }
        let changes = d.risk().take_changes();
        d.hand_over(changes)?;
    }
    Ok(())
}
