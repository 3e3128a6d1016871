//! trader's Rust core.
//!
//! Domain code lives in plain Rust modules that never touch PyO3; the bindings sit in
//! `python` behind the `python` feature, so `cargo test` and the criterion benches use the
//! crate as an ordinary `rlib`.
//!
//! The layers of the trading core, from the ground up (each imports only from those below it):
//! - [`model`]: bars, instruments, orders, fills, order events, the order manager
//!   ([`model::Orders`]: the trader's own order state, one state machine, for every venue) and the
//!   risk denial codes ([`model::RiskReason`]);
//! - [`portfolio`]: the account (cash or margin), positions, round trips;
//! - [`risk`] (reads the model and the portfolio) and [`venue`] (the simulated venues: bar fill
//!   model, L2 matcher, queue, latency, fees, slippage; they drive the order manager): neither
//!   knows the other;
//! - [`exec`]: the command path every mode uses (risk engine → account → venue, the risk sync,
//!   EMERGENCY, commanded states, delivery to the strategy), over a small trait each loop
//!   implements;
//! - the loops: [`engine`] (bars), [`engine_l2`] (ticks and L2 books), [`live`] (a live session:
//!   the tick/L2 loop fed through the [`ring`]).
//!
//! Beside them: market data ([`data`], [`book`]), [`indicators`], [`signals`], [`simd`],
//! [`stats`], [`pool`], [`error`].
#![deny(unsafe_op_in_unsafe_fn)]
// `clippy::undocumented_unsafe_blocks` is denied for every target in core-rs/Cargo.toml `[lints]`
// (a crate attribute here would override it for the library).

pub mod book;
pub mod data;
pub mod engine;
pub mod engine_l2;
pub mod error;
pub mod exec;
pub mod indicators;
pub mod journal;
pub mod live;
pub mod model;
pub mod pool;
pub mod portfolio;
pub mod ring;
pub mod risk;
pub mod signals;
pub mod simd;
pub mod stats;
pub mod venue;

#[cfg(feature = "python")]
mod python;

pub use error::{CoreError, CoreResult};

// The Python module allocates through mimalloc, not the C library's malloc. A run's columns are
// megabytes each (the equity curve of 1M bars is 8 MB); glibc hands such blocks back to the kernel
// whenever the heap's top is free, depending on what else the process has allocated (importing a
// large package is enough), and the next run then faults every page in again: the same vectorized
// backtest took 34 ms instead of 25 ms in a process that had imported NautilusTrader. mimalloc
// reuses freed pages, so a run costs the same whatever the host process holds. The rlib (cargo
// tests, criterion benches, whose pool bench compares against the system allocator) keeps the
// system allocator.
#[cfg(feature = "extension-module")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
