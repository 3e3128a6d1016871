//! Orders, fills and the events a strategy sees.

use super::instrument::InstrumentId;

pub type OrderId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Market,
    /// Limit price in raw price units.
    Limit(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Accepted,
    Filled,
    Canceled,
    Rejected,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub instrument: InstrumentId,
    pub side: Side,
    pub kind: OrderKind,
    /// Raw quantity (> 0).
    pub qty: i64,
    pub filled: i64,
    pub status: OrderStatus,
    pub ts_submitted: i64,
    /// Index of the bar (of any instrument) during which the order was submitted.
    pub bar_submitted: u64,
}

/// A strategy's request, as it crosses into the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Submit { id: OrderId, instrument: InstrumentId, side: Side, kind: OrderKind, qty: i64 },
    Cancel { id: OrderId },
    CancelAll { instrument: Option<InstrumentId> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liquidity {
    Maker,
    Taker,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub ts: i64,
    pub order_id: OrderId,
    pub instrument: InstrumentId,
    pub side: Side,
    /// Raw price and quantity of the fill.
    pub px: i64,
    pub qty: i64,
    /// Fee in money units (always >= 0, rounded up).
    pub fee: i128,
    pub liquidity: Liquidity,
}

/// Why an order was rejected or a cancel refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    UnknownInstrument,
    NonPositiveQuantity,
    QuantityNotMultipleOfLot,
    QuantityBelowMinimum,
    PriceNotMultipleOfTick,
    NonPositivePrice,
    DuplicateOrderId,
    UnknownOrder,
    OrderClosed,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownInstrument => "unknown instrument",
            Self::NonPositiveQuantity => "quantity must be positive",
            Self::QuantityNotMultipleOfLot => "quantity is not a multiple of the lot step",
            Self::QuantityBelowMinimum => "quantity below the instrument's minimum",
            Self::PriceNotMultipleOfTick => "price is not a multiple of the tick size",
            Self::NonPositivePrice => "price must be positive",
            Self::DuplicateOrderId => "duplicate order id",
            Self::UnknownOrder => "unknown order id",
            Self::OrderClosed => "order is no longer open",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderEvent {
    Accepted { id: OrderId, ts: i64 },
    Rejected { id: OrderId, ts: i64, reason: RejectReason },
    Filled { fill_index: usize, ts: i64, id: OrderId },
    Canceled { id: OrderId, ts: i64 },
    CancelRejected { id: OrderId, ts: i64, reason: RejectReason },
}

impl OrderEvent {
    pub fn order_id(&self) -> OrderId {
        match *self {
            Self::Accepted { id, .. }
            | Self::Rejected { id, .. }
            | Self::Filled { id, .. }
            | Self::Canceled { id, .. }
            | Self::CancelRejected { id, .. } => id,
        }
    }
}
