//! Plain Rust types shared by the engine, the venue, the portfolio and the ring (no PyO3 here).

pub mod bar;
pub mod event;
pub mod fixed;
pub mod instrument;
pub mod order;

pub use bar::{Bar, BarColumns};
pub use event::{AggressorSide, EventKind, MarketEvent};
pub use fixed::{Bps, MONEY_DP};
pub use instrument::{Instrument, InstrumentId, Toward};
pub use order::{
    Command, Fill, Liquidity, ListId, ListKind, Order, OrderEvent, OrderEventKind, OrderId,
    OrderKind, OrderSpec, OrderStatus, Reason, RejectReason, Side, TimeInForce, TrailingOffset,
    WorkingOrders, WorkingTotals,
};
