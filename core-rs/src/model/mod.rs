//! The ground floor: plain Rust types shared by the engine, the risk engine, the venues, the
//! portfolio and the ring (no PyO3 here). It imports nothing from the layers above it
//! (`risk/`, `venue/`, the loops): they all read and write orders through it.
//!
//! - [`order`]: orders, fills, commands and the events a strategy sees;
//! - [`orders`]: the order manager ([`Orders`]): the trader's own order state (every order it has
//!   at any venue, simulated or remote), the one state machine, contingent lists, working totals;
//! - [`reason`]: the risk denial codes ([`RiskReason`]) an order event may carry.

pub mod bar;
pub mod event;
pub mod fixed;
pub mod instrument;
pub mod order;
pub mod orders;
pub mod reason;

pub use bar::{Bar, BarColumns};
pub use event::{AggressorSide, EventKind, MarketEvent};
pub use fixed::{Bps, MONEY_DP};
pub use instrument::{Instrument, InstrumentId, Toward};
pub use order::{
    Command, Fill, Liquidity, ListId, ListKind, Order, OrderEvent, OrderEventKind, OrderId,
    OrderKind, OrderSpec, OrderStatus, Reason, RejectReason, Side, TimeInForce, TrailingOffset,
    WorkingOrders, WorkingTotals,
};
pub use orders::{OrderList, Orders};
pub use reason::RiskReason;
