//! trader's Rust core.
//!
//! Domain code lives in plain Rust modules that never touch PyO3; the bindings sit in
//! [`python`] behind the `python` feature, so `cargo test` and the criterion benches use the
//! crate as an ordinary `rlib`.
#![deny(unsafe_op_in_unsafe_fn)]
// `clippy::undocumented_unsafe_blocks` is denied for every target in core-rs/Cargo.toml `[lints]`
// (a crate attribute here would override it for the library).

pub mod book;
pub mod data;
pub mod engine;
pub mod engine_l2;
pub mod error;
pub mod indicators;
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
