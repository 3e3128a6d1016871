//! Orders, fills and the events a strategy sees: the one order model shared by every venue (bars,
//! ticks, L2), the Python API and the reports. Shaped after NautilusTrader's order model.
//!
//! Prices and quantities are raw integers at the instrument's precision (see
//! [`crate::model::Instrument`]); money is i128 at [`crate::model::MONEY_DP`].

use super::fixed::Bps;
use super::instrument::InstrumentId;

/// A client order id: chosen by the strategy (or the engine), unique for the run. A second
/// submission with an id already seen is denied, never executed twice.
pub type OrderId = u64;
/// The id of a contingent order list (OCO / OTO / bracket).
pub type ListId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    #[inline]
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// How far a trailing stop sits from the best price seen since it was (re)armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrailingOffset {
    /// An absolute distance in raw price units (a multiple of the tick).
    Price(i64),
    /// A distance relative to the reference price (rounded to the tick away from the market).
    Bps(Bps),
    /// A number of ticks.
    Ticks(i64),
}

/// The order type. Prices and triggers are raw price units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderKind {
    Market,
    Limit {
        px: i64,
    },
    /// Becomes a market order when the market trades through `trigger` against the order's side
    /// (buy stop: price rises to `trigger`; sell stop: falls to it).
    StopMarket {
        trigger: i64,
    },
    /// Becomes a limit order at `px` when the stop `trigger` is touched.
    StopLimit {
        trigger: i64,
        px: i64,
    },
    /// Becomes a market order when the market touches `trigger` in the order's favour (buy: price
    /// falls to `trigger`; sell: rises to it).
    MarketIfTouched {
        trigger: i64,
    },
    /// Becomes a limit order at `px` when `trigger` is touched in the order's favour.
    LimitIfTouched {
        trigger: i64,
        px: i64,
    },
    /// A stop-market whose trigger trails the best price since activation by `offset` (only ever
    /// moving in the order's favour). `activation`: the trail starts once the market reaches it
    /// (None: at once).
    TrailingStopMarket {
        offset: TrailingOffset,
        activation: Option<i64>,
    },
    /// A trailing stop that becomes a limit order, its limit `limit_offset` beyond the trigger.
    TrailingStopLimit {
        offset: TrailingOffset,
        limit_offset: TrailingOffset,
        activation: Option<i64>,
    },
}

impl OrderKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Market => "MARKET",
            Self::Limit { .. } => "LIMIT",
            Self::StopMarket { .. } => "STOP_MARKET",
            Self::StopLimit { .. } => "STOP_LIMIT",
            Self::MarketIfTouched { .. } => "MARKET_IF_TOUCHED",
            Self::LimitIfTouched { .. } => "LIMIT_IF_TOUCHED",
            Self::TrailingStopMarket { .. } => "TRAILING_STOP_MARKET",
            Self::TrailingStopLimit { .. } => "TRAILING_STOP_LIMIT",
        }
    }

    /// The limit price, for kinds that have a fixed one.
    pub fn limit_px(&self) -> Option<i64> {
        match *self {
            Self::Limit { px } | Self::StopLimit { px, .. } | Self::LimitIfTouched { px, .. } => {
                Some(px)
            }
            _ => None,
        }
    }

    /// The trigger price, for kinds that have a fixed one.
    pub fn trigger_px(&self) -> Option<i64> {
        match *self {
            Self::StopMarket { trigger }
            | Self::StopLimit { trigger, .. }
            | Self::MarketIfTouched { trigger }
            | Self::LimitIfTouched { trigger, .. } => Some(trigger),
            _ => None,
        }
    }

    /// Whether the order waits for a trigger before it can trade.
    pub fn is_conditional(&self) -> bool {
        !matches!(self, Self::Market | Self::Limit { .. })
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TimeInForce {
    /// Good till canceled.
    #[default]
    Gtc,
    /// Immediate or cancel: fills what it can on arrival, the rest is canceled.
    Ioc,
    /// Fill or kill: fills in full on arrival or not at all (canceled, nothing traded).
    Fok,
    /// Good till date: expires at `expire_ts` (ns) if still working.
    Gtd { expire_ts: i64 },
    /// Expires at the end of the UTC day it was accepted in.
    Day,
}

impl TimeInForce {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Ioc => "IOC",
            Self::Fok => "FOK",
            Self::Gtd { .. } => "GTD",
            Self::Day => "DAY",
        }
    }
}

/// Everything a strategy states about one order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderSpec {
    pub id: OrderId,
    pub instrument: InstrumentId,
    pub side: Side,
    pub kind: OrderKind,
    /// Raw quantity (> 0, a multiple of the lot).
    pub qty: i64,
    pub tif: TimeInForce,
    /// Only ever rests on the book: rejected (not filled) if it would take liquidity on arrival.
    pub post_only: bool,
    /// May only reduce the position: rejected/canceled/shrunk so that it never grows or flips it.
    pub reduce_only: bool,
    /// Iceberg: only this much is shown at a time (queue position resets at each refill). None:
    /// all of it.
    pub display_qty: Option<i64>,
}

impl OrderSpec {
    /// A plain GTC order with no instructions.
    pub fn new(
        id: OrderId,
        instrument: InstrumentId,
        side: Side,
        kind: OrderKind,
        qty: i64,
    ) -> Self {
        Self {
            id,
            instrument,
            side,
            kind,
            qty,
            tif: TimeInForce::Gtc,
            post_only: false,
            reduce_only: false,
            display_qty: None,
        }
    }
}

/// Contingent order lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ListKind {
    /// One cancels the other(s): when one leg fills, even partly, the others are canceled (two
    /// legs never both trade).
    Oco,
    /// One triggers the other(s): `orders[0]` is the parent; the children are held (not at the
    /// venue) until the parent fills, then activate sized to the parent's filled quantity.
    Oto,
    /// Entry + take-profit + stop-loss (`orders` = [entry, take_profit, stop_loss]): an OTO whose
    /// two exits are one-updates-other (NautilusTrader's bracket default). The exits activate on
    /// the entry's fill, sized to the filled quantity (growing with further partial fills); a
    /// full fill of one cancels the other, a partial one takes its quantity off the other, so
    /// the exits never close more than the entry filled; canceling one cancels both.
    Bracket,
}

impl ListKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Oco => "OCO",
            Self::Oto => "OTO",
            Self::Bracket => "BRACKET",
        }
    }
}

/// Order lifecycle, as NautilusTrader's: `Initialized → Submitted → Accepted → (Triggered) →
/// PartiallyFilled → Filled`, or a terminal `Denied` (refused before the venue), `Rejected` (by
/// the venue), `Canceled`, `Expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderStatus {
    Initialized,
    /// Sent, in flight to the venue (latency).
    Submitted,
    Accepted,
    /// A conditional order whose trigger was hit (now working as market/limit).
    Triggered,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
    Rejected,
    Denied,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialized => "INITIALIZED",
            Self::Submitted => "SUBMITTED",
            Self::Accepted => "ACCEPTED",
            Self::Triggered => "TRIGGERED",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::Expired => "EXPIRED",
            Self::Rejected => "REJECTED",
            Self::Denied => "DENIED",
        }
    }

    /// No further event can change the order.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Filled | Self::Canceled | Self::Expired | Self::Rejected | Self::Denied
        )
    }

    /// At the venue and able to trade (or to be triggered).
    pub fn is_working(self) -> bool {
        matches!(
            self,
            Self::Accepted | Self::Triggered | Self::PartiallyFilled
        )
    }

    /// The one table of legal transitions; the venue asserts every change against it.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        match (self, next) {
            (Initialized, Submitted | Denied) => true,
            (Submitted, Accepted | Rejected | Canceled) => true,
            (Accepted, Triggered | PartiallyFilled | Filled | Canceled | Expired) => true,
            (Triggered, PartiallyFilled | Filled | Canceled | Expired) => true,
            (PartiallyFilled, PartiallyFilled | Filled | Canceled | Expired) => true,
            _ => false,
        }
    }
}

/// An order as the venue keeps it: the spec plus its state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub spec: OrderSpec,
    pub status: OrderStatus,
    /// Raw quantity filled so far; `filled + leaves() == spec.qty` always.
    pub filled: i64,
    /// Sum of `px * qty` over the fills (raw units), for the average fill price.
    pub filled_notional: i128,
    /// Current trigger of a trailing stop (raw price), once armed.
    pub trail_trigger: Option<i64>,
    pub list: Option<ListId>,
    /// Parent order of an OTO/bracket child.
    pub parent: Option<OrderId>,
    /// Market mid/last price when the order was submitted (raw), for slippage reports.
    pub arrival_px: Option<i64>,
    pub ts_init: i64,
    pub ts_last: i64,
    /// Index of the bar (of any instrument) during which the order was submitted.
    pub bar_submitted: u64,
    /// Bar venues: index of the first bar the order takes part in (set on acceptance).
    pub first_bar: u64,
    /// When a GTD / DAY order expires (ns), resolved on acceptance.
    pub expire_ts: Option<i64>,
    /// The limit of a triggered trailing stop limit (raw price).
    pub trail_limit: Option<i64>,
    /// Why the order was closed other than by filling (canceled, expired, rejected).
    pub reason: Option<Reason>,
    /// A leg of a one-cancels-other group other than its first (an OCO's later legs, a bracket's
    /// stop-loss): only one leg of a group can trade, so the group reserves the account's funds
    /// once, through its first leg.
    pub shares_reserve: bool,
}

impl Order {
    pub fn new(spec: OrderSpec, ts: i64, bar_submitted: u64) -> Self {
        Self {
            spec,
            status: OrderStatus::Initialized,
            filled: 0,
            filled_notional: 0,
            trail_trigger: None,
            list: None,
            parent: None,
            arrival_px: None,
            ts_init: ts,
            ts_last: ts,
            bar_submitted,
            first_bar: 0,
            expire_ts: None,
            trail_limit: None,
            reason: None,
            shares_reserve: false,
        }
    }

    /// The limit price the order works at now: its fixed limit, or a triggered trailing stop
    /// limit's computed one; None for market-type orders.
    #[inline]
    pub fn limit_price(&self) -> Option<i64> {
        match self.spec.kind {
            OrderKind::TrailingStopLimit { .. } => self.trail_limit,
            k => k.limit_px(),
        }
    }

    /// The trigger the order waits for now (fixed, or a trailing stop's current one).
    #[inline]
    pub fn trigger_price(&self) -> Option<i64> {
        match self.spec.kind {
            OrderKind::TrailingStopMarket { .. } | OrderKind::TrailingStopLimit { .. } => {
                self.trail_trigger
            }
            k => k.trigger_px(),
        }
    }

    #[inline]
    pub fn id(&self) -> OrderId {
        self.spec.id
    }

    #[inline]
    pub fn leaves(&self) -> i64 {
        if self.status.is_closed() {
            0
        } else {
            self.spec.qty - self.filled
        }
    }

    /// Average fill price in raw units (None before the first fill).
    pub fn avg_px(&self) -> Option<f64> {
        (self.filled > 0).then(|| self.filled_notional as f64 / self.filled as f64)
    }
}

/// Running totals of the working orders of one instrument on one side, kept in step with every
/// change of a working order (acceptance, fill, cancel, expiry, modify, contingent updates), so
/// that the pre-trade risk checks read them in O(1) instead of scanning the book.
///
/// Valuation: an order with a fixed price counts at its limit price, else at its trigger
/// ([`WorkingTotals::px_qty`]); market orders and trailing stops (whose trigger moves) have no
/// fixed price and are counted in [`WorkingTotals::unpriced`], to be valued at the mark.
/// The `shared_*` fields hold the part of those sums that belongs to legs sharing their group's
/// reservation ([`Order::shares_reserve`]): what the account reserves for the side is the totals
/// without them ([`WorkingTotals::reserved_leaves`], [`WorkingTotals::reserved_px_qty_at`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkingTotals {
    /// Sum of the leaves quantities (raw).
    pub leaves: i64,
    /// Sum of the leaves of the reduce-only orders (raw).
    pub reduce_only: i64,
    /// Sum of the leaves of the orders without a fixed price (raw).
    pub unpriced: i64,
    /// Sum of `price x leaves` (raw price x raw quantity) of the orders with a fixed price.
    pub px_qty: i128,
    /// The part of `leaves`, `unpriced` and `px_qty` held by legs that share a reservation.
    pub shared_leaves: i64,
    pub shared_unpriced: i64,
    pub shared_px_qty: i128,
}

impl WorkingTotals {
    /// The contribution of one order (its quantity not yet filled, whatever its status).
    #[inline]
    pub fn of(o: &Order) -> Self {
        let leaves = o.spec.qty - o.filled;
        let fixed = o.spec.kind.limit_px().or(o.spec.kind.trigger_px());
        let unpriced = if fixed.is_none() { leaves } else { 0 };
        let px_qty = fixed.map_or(0, |p| p as i128 * leaves as i128);
        let shared = o.shares_reserve;
        Self {
            leaves,
            reduce_only: if o.spec.reduce_only { leaves } else { 0 },
            unpriced,
            px_qty,
            shared_leaves: if shared { leaves } else { 0 },
            shared_unpriced: if shared { unpriced } else { 0 },
            shared_px_qty: if shared { px_qty } else { 0 },
        }
    }

    #[inline]
    pub fn add(&mut self, o: &Self) {
        self.leaves += o.leaves;
        self.reduce_only += o.reduce_only;
        self.unpriced += o.unpriced;
        self.px_qty += o.px_qty;
        self.shared_leaves += o.shared_leaves;
        self.shared_unpriced += o.shared_unpriced;
        self.shared_px_qty += o.shared_px_qty;
    }

    /// These totals without `o`'s contribution (e.g. an order about to be modified).
    #[inline]
    pub fn without(mut self, o: &Self) -> Self {
        self.leaves -= o.leaves;
        self.reduce_only -= o.reduce_only;
        self.unpriced -= o.unpriced;
        self.px_qty -= o.px_qty;
        self.shared_leaves -= o.shared_leaves;
        self.shared_unpriced -= o.shared_unpriced;
        self.shared_px_qty -= o.shared_px_qty;
        self
    }

    /// `price x quantity` (raw units) of the whole side, the unpriced orders at `mark`.
    #[inline]
    pub fn px_qty_at(&self, mark: i64) -> i128 {
        self.px_qty + self.unpriced as i128 * mark as i128
    }

    /// The quantity the account reserves for the side: one leg per one-cancels-other group.
    #[inline]
    pub fn reserved_leaves(&self) -> i64 {
        self.leaves - self.shared_leaves
    }

    /// `price x quantity` (raw units) the account reserves for the side, the unpriced orders at
    /// `mark`: one leg per one-cancels-other group.
    #[inline]
    pub fn reserved_px_qty_at(&self, mark: i64) -> i128 {
        (self.px_qty - self.shared_px_qty)
            + (self.unpriced - self.shared_unpriced) as i128 * mark as i128
    }
}

/// Read access to the working orders' running totals (the venue's order manager implements it;
/// the account and the risk checks read through it).
pub trait WorkingOrders {
    /// Totals of the working orders of `instrument` on `side` (zero for an unknown instrument).
    fn working_totals(&self, instrument: InstrumentId, side: Side) -> WorkingTotals;
}

/// A strategy's request, as it crosses into the engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    Submit(OrderSpec),
    /// A contingent list; see [`ListKind`] for the order of `orders`.
    SubmitList {
        list: ListId,
        kind: ListKind,
        orders: Vec<OrderSpec>,
    },
    /// Change a working order's quantity (total, not leaves), limit price or trigger. Only the
    /// given fields change; a quantity at or below what already filled is refused.
    Modify {
        id: OrderId,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
    },
    Cancel {
        id: OrderId,
    },
    CancelAll {
        instrument: Option<InstrumentId>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Liquidity {
    Maker,
    Taker,
}

impl Liquidity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Maker => "MAKER",
            Self::Taker => "TAKER",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fill {
    pub ts: i64,
    pub order_id: OrderId,
    pub instrument: InstrumentId,
    pub side: Side,
    /// Raw price and quantity of the fill.
    pub px: i64,
    pub qty: i64,
    /// Fee in money units (>= 0 a charge, < 0 a maker rebate; charges round up, rebates down).
    pub fee: i128,
    pub liquidity: Liquidity,
    /// Forced close by the margin account's liquidation engine (then `order_id` is 0: no order).
    pub liquidation: bool,
}

/// Why an order was denied, rejected, canceled or expired, or a modify/cancel refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    UnknownInstrument,
    NonPositiveQuantity,
    QuantityNotMultipleOfLot,
    QuantityBelowMinimum,
    PriceNotMultipleOfTick,
    NonPositivePrice,
    InvalidOrder,
    DuplicateOrderId,
    UnknownOrder,
    OrderClosed,
    /// A modify asked for a quantity at or below what already filled.
    ModifyBelowFilled,
    /// A post-only order would have taken liquidity.
    PostOnlyWouldTake,
    /// A reduce-only order would have grown or flipped the position.
    ReduceOnlyWouldIncrease,
    /// A FOK order could not fill in full on arrival.
    FokCannotFill,
    /// The unfilled rest of an IOC order.
    IocRemainder,
    /// The strategy asked for it.
    Requested,
    /// Another leg of its OCO group filled.
    OcoSibling,
    /// Its OTO/bracket parent was canceled or rejected before any fill.
    ParentClosed,
    /// GTD date reached / end of the DAY.
    Expired,
    /// A margin account's free margin (working orders counted) cannot carry the order's initial
    /// margin and fees.
    InsufficientMargin,
    /// A cash (spot) account's free quote balance (working buys counted) cannot pay the order's
    /// cost and fees.
    InsufficientBalance,
    /// A cash (spot) account sells more of the base asset than it holds (working sells
    /// counted): no shorting on spot.
    InsufficientHoldings,
    /// Closed by the venue's liquidation engine.
    Liquidation,
    /// A market order found nothing to trade against (empty book side).
    NoLiquidity,
    /// A real venue (an exchange adapter) refused the order; its message is in the session's log.
    VenueRejected,
    /// A real venue canceled the order on its own initiative (not at the trader's request).
    VenueCanceled,
    /// The risk engine refused it, for this reason (its code is `RiskReason::code`).
    Risk(super::reason::RiskReason),
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownInstrument => "unknown instrument",
            Self::NonPositiveQuantity => "quantity must be positive",
            Self::QuantityNotMultipleOfLot => "quantity is not a multiple of the lot step",
            Self::QuantityBelowMinimum => "quantity below the instrument's minimum",
            Self::PriceNotMultipleOfTick => "price is not a multiple of the tick size",
            Self::NonPositivePrice => "price must be positive",
            Self::InvalidOrder => "the order's fields are inconsistent",
            Self::DuplicateOrderId => "duplicate client order id",
            Self::UnknownOrder => "unknown order id",
            Self::OrderClosed => "order is no longer open",
            Self::ModifyBelowFilled => "new quantity is not above the filled quantity",
            Self::PostOnlyWouldTake => "post-only order would take liquidity",
            Self::ReduceOnlyWouldIncrease => "reduce-only order would increase the position",
            Self::FokCannotFill => "fill-or-kill order could not fill in full",
            Self::IocRemainder => "immediate-or-cancel remainder",
            Self::Requested => "canceled on request",
            Self::OcoSibling => "another leg of the OCO filled",
            Self::ParentClosed => "parent order closed without a fill",
            Self::Expired => "time in force expired",
            Self::InsufficientMargin => "insufficient margin",
            Self::InsufficientBalance => "insufficient balance",
            Self::InsufficientHoldings => {
                "sells more than the account holds (no shorting on a cash account)"
            }
            Self::Liquidation => "liquidated",
            Self::NoLiquidity => "no liquidity to trade against",
            Self::VenueRejected => "rejected by the venue",
            Self::VenueCanceled => "canceled by the venue",
            Self::Risk(r) => r.as_str(),
        }
    }
}

impl Reason {
    /// Stable snake_case code (order events, reports); a risk denial has its risk code.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownInstrument => "unknown_instrument",
            Self::NonPositiveQuantity => "non_positive_quantity",
            Self::QuantityNotMultipleOfLot => "quantity_not_multiple_of_lot",
            Self::QuantityBelowMinimum => "quantity_below_minimum",
            Self::PriceNotMultipleOfTick => "price_not_multiple_of_tick",
            Self::NonPositivePrice => "non_positive_price",
            Self::InvalidOrder => "invalid_order",
            Self::DuplicateOrderId => "duplicate_order_id",
            Self::UnknownOrder => "unknown_order",
            Self::OrderClosed => "order_closed",
            Self::ModifyBelowFilled => "modify_below_filled",
            Self::PostOnlyWouldTake => "post_only_would_take",
            Self::ReduceOnlyWouldIncrease => "reduce_only_would_increase",
            Self::FokCannotFill => "fok_cannot_fill",
            Self::IocRemainder => "ioc_remainder",
            Self::Requested => "requested",
            Self::OcoSibling => "oco_sibling",
            Self::ParentClosed => "parent_closed",
            Self::Expired => "expired",
            Self::InsufficientMargin => "insufficient_margin",
            Self::InsufficientBalance => "insufficient_balance",
            Self::InsufficientHoldings => "insufficient_holdings",
            Self::Liquidation => "liquidation",
            Self::NoLiquidity => "no_liquidity",
            Self::VenueRejected => "venue_rejected",
            Self::VenueCanceled => "venue_canceled",
            Self::Risk(r) => r.code(),
        }
    }
}

impl Reason {
    /// Every reason but `Risk(_)` (those are [`super::reason::RiskReason::ALL`]).
    pub const PLAIN: [Reason; 26] = [
        Self::UnknownInstrument,
        Self::NonPositiveQuantity,
        Self::QuantityNotMultipleOfLot,
        Self::QuantityBelowMinimum,
        Self::PriceNotMultipleOfTick,
        Self::NonPositivePrice,
        Self::InvalidOrder,
        Self::DuplicateOrderId,
        Self::UnknownOrder,
        Self::OrderClosed,
        Self::ModifyBelowFilled,
        Self::PostOnlyWouldTake,
        Self::ReduceOnlyWouldIncrease,
        Self::FokCannotFill,
        Self::IocRemainder,
        Self::Requested,
        Self::OcoSibling,
        Self::ParentClosed,
        Self::Expired,
        Self::InsufficientMargin,
        Self::InsufficientBalance,
        Self::InsufficientHoldings,
        Self::Liquidation,
        Self::NoLiquidity,
        Self::VenueRejected,
        Self::VenueCanceled,
    ];

    /// The static code equal to `code` (a [`Reason::code`] or a risk code), None if none is.
    pub fn static_code(code: &str) -> Option<&'static str> {
        Self::PLAIN
            .iter()
            .map(|r| r.code())
            .chain(super::reason::RiskReason::ALL.iter().map(|r| r.code()))
            .find(|c| *c == code)
    }
}

/// Kept for the existing call sites: a rejection reason is a [`Reason`].
pub type RejectReason = Reason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OrderEventKind {
    /// Refused before reaching the venue (duplicate id, invalid fields, risk).
    Denied(Reason),
    /// Sent towards the venue (arrives after the submit latency).
    Submitted,
    Accepted,
    Rejected(Reason),
    /// A conditional order's trigger was hit.
    Triggered,
    /// Quantity/price/trigger changed (by the strategy, or a child resized to its parent's fill).
    Updated,
    ModifyRejected(Reason),
    /// `fill_index` indexes the engine's fill list.
    PartiallyFilled {
        fill_index: usize,
    },
    Filled {
        fill_index: usize,
    },
    Canceled(Reason),
    CancelRejected(Reason),
    Expired,
}

impl OrderEventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Rejected(_) => "rejected",
            Self::Triggered => "triggered",
            Self::Updated => "updated",
            Self::ModifyRejected(_) => "modify_rejected",
            Self::PartiallyFilled { .. } => "partially_filled",
            Self::Filled { .. } => "filled",
            Self::Canceled(_) => "canceled",
            Self::CancelRejected(_) => "cancel_rejected",
            Self::Expired => "expired",
        }
    }

    pub fn reason(&self) -> Option<Reason> {
        match *self {
            Self::Denied(r)
            | Self::Rejected(r)
            | Self::ModifyRejected(r)
            | Self::Canceled(r)
            | Self::CancelRejected(r) => Some(r),
            Self::Expired => Some(Reason::Expired),
            _ => None,
        }
    }

    pub fn fill_index(&self) -> Option<usize> {
        match *self {
            Self::PartiallyFilled { fill_index } | Self::Filled { fill_index } => Some(fill_index),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderEvent {
    pub id: OrderId,
    pub ts: i64,
    pub kind: OrderEventKind,
}

impl OrderEvent {
    #[inline]
    pub fn order_id(&self) -> OrderId {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_table() {
        use OrderStatus::*;
        let all = [
            Initialized,
            Submitted,
            Accepted,
            Triggered,
            PartiallyFilled,
            Filled,
            Canceled,
            Expired,
            Rejected,
            Denied,
        ];
        for s in all {
            if s.is_closed() {
                assert!(all.iter().all(|&n| !s.can_become(n)), "{s:?} is terminal");
            }
        }
        assert!(Initialized.can_become(Denied));
        assert!(!Accepted.can_become(Rejected));
        assert!(!Filled.can_become(Canceled));
        assert!(PartiallyFilled.can_become(PartiallyFilled));
    }
}
