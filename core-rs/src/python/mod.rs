//! PyO3 bindings: thin wrappers over the domain modules, the error mapping and the numpy
//! crossing. Nothing here computes anything a Rust caller would need.

mod accounts;
mod arrays;
mod book;
mod buffers;
mod engine;
mod errors;
mod fastcall;
#[macro_use]
mod indicators; // `stream_class!`, used by the two below
mod indicators_momentum;
mod indicators_overlap;
mod journal;
mod l2;
mod live;
mod orders;
mod ring;
mod risk;
mod simd;
mod venue;

use pyo3::prelude::*;

pub(crate) use arrays::{f64_array, f64_array_2d};
pub(crate) use buffers::{into_pyarray1, into_pyarray2, is_large, recycled};
pub(crate) use errors::strategy_error;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    simd::register(m)?;
    indicators::register(m)?;
    indicators_overlap::register(m)?;
    indicators_momentum::register(m)?;
    ring::register(m)?;
    engine::register(m)?;
    book::register(m)?;
    l2::register(m)?;
    live::register(m)?;
    journal::register(m)?;
    accounts::register(m)?;
    venue::register(m)?;
    risk::register(m)?;
    Ok(())
}
