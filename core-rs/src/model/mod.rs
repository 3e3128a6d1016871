//! Plain Rust domain types shared by the core (no PyO3 here).

pub mod event;

pub use event::{AggressorSide, EventKind, MarketEvent};
