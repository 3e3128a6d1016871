//! The simulated exchange: order entry (with latency), the bar fill model, fees and slippage —
//! one sink of the trader's commands among others (a live node's remote venue is another).
//!
//! - [`orders`]: the order manager every venue kind shares (state machine, contingent lists,
//!   time in force, instructions). It is the trader's own order state and lives in the model
//!   ([`crate::model::orders`]); re-exported here for the venue code that drives it.
//! - [`bars`]: the bar fill model (intrabar path, triggers, gap rule, volume cap); its module
//!   docs state what it assumes.
//! - [`latency`]: submit / cancel / modify latency legs.
//!
//! A command sent at `t` arrives at `t + latency` (zero by default). Until it arrives the order is
//! `Submitted`; on bars an order arriving at `T` takes part from the first bar whose timestamp is
//! `>= T` that comes after the bar it was sent in (zero latency: the next bar). Commands that
//! arrive at once (zero latency) are handled during the call; delayed ones are handled at the
//! start of the first bar (of any instrument) at or after their arrival time, before matching, in
//! arrival order. A cancel in flight cannot stop a fill that happens before it arrives.
//!
//! **Fees**: [`SimVenue::fee`], by the fee model ([`fees`]: flat `fee_bps × notional` by
//! default, maker/taker rates, volume tiers), charges rounded up to the money unit, on every fill.
//! **Slippage**: [`SimVenue::taker_px`], by the slippage model ([`slippage`]: fixed bps by
//! default, spread-based, square-root impact); taker fills move against the trader and round to
//! the tick against them (buys up, sells down); maker fills have none.

pub mod bars;
pub mod external;
pub mod fees;
pub mod l2;
pub mod latency;
pub mod queue;
pub mod slippage;

pub use crate::model::orders;
pub use crate::model::orders::{OrderList, Orders, WorkingTotals};
pub use bars::IntrabarPath;
pub use latency::{Latency, LatencyConfig, LatencyModel, Leg};

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{div_ceil, div_floor};
use crate::model::{
    Bar, Bps, Command, Fill, Instrument, InstrumentId, Liquidity, ListId, Order, OrderEvent,
    OrderId, OrderKind, Reason, Side, TimeInForce,
};
use crate::portfolio::Portfolio;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillAt {
    /// Market orders fill at the open of the first bar they take part in.
    #[default]
    NextOpen,
    /// A market order that arrives while a bar of its instrument is handled fills at that bar's
    /// close (delayed ones, arriving between bars, still fill at the next open).
    Close,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VenueConfig {
    pub fill_at: FillAt,
    pub slippage: Bps,
    pub fee: Bps,
    /// The order in which a bar visits its high and low.
    pub path: IntrabarPath,
    /// At most this fraction (0, 1] of a bar's volume fills per bar, over all the orders of its
    /// instrument; the rest stays working. None: no cap.
    pub volume_cap: Option<f64>,
    pub latency: LatencyConfig,
}

impl VenueConfig {
    pub fn validate(&self) -> CoreResult<()> {
        if let Some(c) = self.volume_cap
            && !(c > 0.0 && c <= 1.0)
        {
            return Err(CoreError::InvalidArgument {
                name: "volume_cap",
                reason: format!("must be in (0, 1], got {c}"),
            });
        }
        self.latency.validate()
    }
}

/// A command on its way to the venue.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Accept(OrderId),
    AcceptList(ListId),
    Modify {
        id: OrderId,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
    },
    Cancel(OrderId),
    CancelAll(Option<InstrumentId>),
}

#[derive(Debug, Default)]
pub struct SimVenue {
    pub config: VenueConfig,
    pub orders: Orders,
    latency: LatencyModel,
    /// Commands in flight: (arrival ts, send sequence, command), sorted.
    pending: Vec<(i64, u64, Pending)>,
    sent: u64,
    /// Last close seen per instrument (the market price for post-only checks and trailing).
    last_px: Vec<Option<i64>>,
    /// Per instrument: (bar index, quantity the volume cap still allows in that bar).
    budget: Vec<(u64, i64)>,
    pub orders_submitted: u64,
    /// The fee model (flat `config.fee` unless replaced: maker/taker rates, tiers).
    pub fee_model: fees::FeeModel,
    /// The slippage model (fixed `config.slippage` unless replaced).
    pub slip_model: slippage::Slippage,
}

impl SimVenue {
    pub fn new(config: VenueConfig, instruments: &[Instrument]) -> Self {
        Self {
            config,
            orders: Orders::new(instruments),
            latency: LatencyModel::new(config.latency),
            last_px: vec![None; instruments.len()],
            budget: vec![(u64::MAX, 0); instruments.len()],
            fee_model: fees::FeeModel::flat(config.fee, config.fee),
            slip_model: slippage::Slippage::FixedBps(config.slippage),
            ..Self::default()
        }
    }

    /// Every working order, instrument by instrument.
    pub fn working_orders(&self) -> impl Iterator<Item = &Order> {
        (0..self.last_px.len() as InstrumentId).flat_map(move |i| self.orders.working(i))
    }

    /// No order can trade and no command is in flight: bars can be skipped.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.orders.n_working() == 0 && self.pending.is_empty()
    }

    /// Commands sent but not yet arrived.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The highest order id seen so far.
    pub fn last_id(&self) -> OrderId {
        self.orders.last_id()
    }

    /// Record the market price of `instrument` (engines that skip bars call this).
    #[inline]
    pub fn set_last_px(&mut self, instrument: InstrumentId, px: i64) {
        self.last_px[instrument as usize] = Some(px);
    }

    pub fn last_px(&self, instrument: InstrumentId) -> Option<i64> {
        self.last_px.get(instrument as usize).copied().flatten()
    }

    /// Market price moved against the trader by the flat slippage rate, rounded to the tick
    /// against them.
    pub fn slipped(&self, inst: &Instrument, side: Side, px: i64) -> i64 {
        if self.config.slippage.0 == 0 && px % inst.tick == 0 {
            return px; // no slippage and already on the tick: skip the 128-bit divisions
        }
        let one = Bps::ONE;
        let slip = self.config.slippage.0 as i128;
        let tick = inst.tick as i128;
        match side {
            Side::Buy => {
                let adj = div_ceil(px as i128 * (one + slip), one);
                (div_ceil(adj, tick) * tick) as i64
            }
            Side::Sell => {
                let adj = div_floor(px as i128 * (one - slip).max(0), one);
                ((div_floor(adj, tick) * tick) as i64).max(inst.tick)
            }
        }
    }

    /// The one slippage hook: the price a taker fill of `qty` gets when the market is at `px`
    /// during `bar`, by the slippage model (flat `slippage_bps` by default).
    #[inline]
    pub fn taker_px(&self, inst: &Instrument, side: Side, px: i64, qty: i64, bar: &Bar) -> i64 {
        if self.slip_model == slippage::Slippage::FixedBps(self.config.slippage) {
            return self.slipped(inst, side, px);
        }
        let ctx = if self.slip_model.needs_ctx() {
            slippage::SlipCtx::from_bar(bar)
        } else {
            slippage::SlipCtx::default()
        };
        self.slip_model.price(inst, side, px, qty, &ctx)
    }

    /// The price a taker fill of `qty` would get with the market at `px` (the slippage model; a
    /// model that needs the bar uses `bar` when given, else none): the account's pre-trade
    /// estimate of a market order's price.
    pub fn estimate_taker_px(
        &self,
        inst: &Instrument,
        side: Side,
        px: i64,
        qty: i64,
        bar: Option<&Bar>,
    ) -> i64 {
        match bar {
            Some(b) => self.taker_px(inst, side, px, qty, b),
            None if self.slip_model == slippage::Slippage::FixedBps(self.config.slippage) => {
                self.slipped(inst, side, px)
            }
            None => self
                .slip_model
                .price(inst, side, px, qty, &slippage::SlipCtx::default()),
        }
    }

    /// The one fee hook: the fee of a fill at `ts` (money units; charges round up, rebates toward
    /// zero) by the fee model, which records the traded volume for its tiers.
    #[inline]
    pub fn fee(
        &mut self,
        inst: &Instrument,
        px: i64,
        qty: i64,
        liquidity: Liquidity,
        ts: i64,
    ) -> i128 {
        self.fee_model.fee(inst, px, qty, liquidity, ts)
    }

    /// Handle a command sent at `ts` while bar `bar` (index `bar_index`) is handled, or between
    /// bars (`bar` None; `bar_index` = bars seen so far). Fills go to `acct` at once.
    #[allow(clippy::too_many_arguments, reason = "the engine's one entry point")]
    pub fn command(
        &mut self,
        acct: &mut Portfolio,
        instruments: &[Instrument],
        cmd: Command,
        bar: Option<&Bar>,
        bar_index: u64,
        ts: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let (leg, pending) = match cmd {
            Command::Submit(spec) => {
                self.orders_submitted += 1;
                let id = spec.id;
                let arrival = self.last_px(spec.instrument);
                if !self.orders.register(spec, ts, bar_index, events) {
                    return;
                }
                self.orders.set_arrival(id, arrival);
                (Leg::Submit, Pending::Accept(id))
            }
            Command::SubmitList { list, kind, orders } => {
                self.orders_submitted += orders.len() as u64;
                let arrivals: Vec<(OrderId, Option<i64>)> = orders
                    .iter()
                    .map(|o| (o.id, self.last_px(o.instrument)))
                    .collect();
                if !self
                    .orders
                    .register_list(list, kind, orders, ts, bar_index, events)
                {
                    return;
                }
                for (id, px) in arrivals {
                    self.orders.set_arrival(id, px);
                }
                (Leg::Submit, Pending::AcceptList(list))
            }
            Command::Modify {
                id,
                qty,
                px,
                trigger,
            } => (
                Leg::Modify,
                Pending::Modify {
                    id,
                    qty,
                    px,
                    trigger,
                },
            ),
            Command::Cancel { id } => (Leg::Cancel, Pending::Cancel(id)),
            Command::CancelAll { instrument } => (Leg::Cancel, Pending::CancelAll(instrument)),
        };
        let lat = self.latency.draw(leg);
        if lat == 0 {
            self.orders.release_from = bar_index + 1;
            self.arrive(
                acct,
                instruments,
                pending,
                bar,
                bar_index,
                ts,
                events,
                fills,
            );
        } else {
            let at = ts.saturating_add(lat);
            self.sent += 1;
            let key = (at, self.sent);
            let pos = self.pending.partition_point(|p| (p.0, p.1) <= key);
            self.pending.insert(pos, (at, self.sent, pending));
        }
    }

    /// A command reaches the venue at `ts`. `bar`: the bar being handled when it arrives at
    /// once (close-mode market fills).
    #[allow(clippy::too_many_arguments, reason = "internal")]
    fn arrive(
        &mut self,
        acct: &mut Portfolio,
        instruments: &[Instrument],
        cmd: Pending,
        bar: Option<&Bar>,
        bar_index: u64,
        ts: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        match cmd {
            Pending::Accept(id) => {
                let Some(inst) = self.orders.get(id).map(|o| o.spec.instrument) else {
                    return;
                };
                let mark = self.last_px(inst);
                if self.orders.accept(id, ts, mark, events) {
                    self.close_fill(acct, instruments, id, bar, bar_index, ts, events, fills);
                }
            }
            Pending::AcceptList(list) => {
                let Some(l) = self.orders.list(list) else {
                    return;
                };
                let first = l.ids[0];
                let mark = self
                    .orders
                    .get(first)
                    .and_then(|o| self.last_px(o.spec.instrument));
                self.orders.accept_list(list, ts, mark, events);
                if let Some(l) = self.orders.list(list) {
                    for id in l.ids.clone() {
                        self.close_fill(acct, instruments, id, bar, bar_index, ts, events, fills);
                    }
                }
            }
            Pending::Modify {
                id,
                qty,
                px,
                trigger,
            } => {
                let mark = self
                    .orders
                    .get(id)
                    .and_then(|o| self.last_px(o.spec.instrument));
                self.orders.modify(id, qty, px, trigger, ts, mark, events);
            }
            Pending::Cancel(id) => self.orders.cancel(id, ts, events),
            Pending::CancelAll(instrument) => self.orders.cancel_all(instrument, ts, events),
        }
    }

    /// Close mode: a market order accepted while a bar of its instrument is handled fills at
    /// that bar's close (within what the volume cap still allows in that bar), and so does a limit
    /// that is marketable at the close, as a taker with its slippage capped at its limit.
    #[allow(clippy::too_many_arguments, reason = "internal")]
    fn close_fill(
        &mut self,
        acct: &mut Portfolio,
        instruments: &[Instrument],
        id: OrderId,
        bar: Option<&Bar>,
        bar_index: u64,
        ts: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        if self.config.fill_at != FillAt::Close {
            return;
        }
        let (Some(bar), Some(o)) = (bar, self.orders.get(id)) else {
            return;
        };
        if o.spec.instrument != bar.instrument || !o.status.is_working() {
            return;
        }
        let limit = match o.spec.kind {
            OrderKind::Market => None,
            OrderKind::Limit { px } if !o.spec.post_only => Some(px),
            _ => return,
        };
        let (side, leaves) = (o.spec.side, o.leaves());
        let marketable = limit.is_none_or(|l| match side {
            Side::Buy => bar.close <= l,
            Side::Sell => bar.close >= l,
        });
        if !marketable {
            return;
        }
        let inst = &instruments[bar.instrument as usize];
        let mut m = bars::Matcher::new(self, acct, inst, bar, bar_index);
        let px = m.venue.taker_px(inst, side, bar.close, leaves, bar);
        let px = match (limit, side) {
            (Some(l), Side::Buy) => px.min(l),
            (Some(l), Side::Sell) => px.max(l),
            (None, _) => px,
        };
        m.fill(id, px, Liquidity::Taker, ts, events, fills);
        m.finish();
        if let Some(o) = self.orders.get(id)
            && o.status.is_working()
        {
            match o.spec.tif {
                TimeInForce::Ioc => self
                    .orders
                    .cancel_with(id, Reason::IocRemainder, ts, events),
                TimeInForce::Fok => self
                    .orders
                    .cancel_with(id, Reason::FokCannotFill, ts, events),
                _ => {}
            }
        }
    }

    /// Deliver the commands that arrived by `ts` (in arrival order), each at its arrival time.
    #[inline(never)]
    fn arrivals(
        &mut self,
        acct: &mut Portfolio,
        instruments: &[Instrument],
        ts: i64,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let n = self.pending.partition_point(|p| p.0 <= ts);
        if n == 0 {
            return;
        }
        let due: Vec<(i64, u64, Pending)> = self.pending.drain(..n).collect();
        self.orders.release_from = bar_index;
        for (at, _, cmd) in due {
            self.arrive(acct, instruments, cmd, None, bar_index, at, events, fills);
        }
    }

    /// Settle bar `bar` (index `bar_index` in the stream): deliver the commands that arrived by
    /// its time, expire orders, then match the working orders of its instrument that take part.
    /// Fills go to `acct` at once.
    #[inline(always)]
    pub fn on_bar(
        &mut self,
        acct: &mut Portfolio,
        instruments: &[Instrument],
        bar: &Bar,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        if !self.pending.is_empty() {
            self.arrivals(acct, instruments, bar.ts, bar_index, events, fills);
        }
        if !self.orders.working_ids(bar.instrument).is_empty() {
            let inst = &instruments[bar.instrument as usize];
            self.match_bar(acct, inst, bar, bar_index, events, fills);
        }
        self.last_px[bar.instrument as usize] = Some(bar.close);
    }
}
