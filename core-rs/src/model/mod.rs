//! Plain Rust types shared by the engine, the venue and the portfolio.

pub mod bar;
pub mod fixed;
pub mod instrument;
pub mod order;

pub use bar::{Bar, BarColumns};
pub use fixed::{Bps, MONEY_DP};
pub use instrument::{Instrument, InstrumentId};
pub use order::{Command, Fill, Liquidity, Order, OrderEvent, OrderId, OrderKind, OrderStatus, RejectReason, Side};
