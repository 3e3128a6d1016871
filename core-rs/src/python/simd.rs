//! Bindings of `simd/`: the backend in use and the SIMD kernels.

use pyo3::prelude::*;

use crate::simd;

/// The SIMD backend in use: "scalar", "avx2" or "avx512".
#[pyfunction]
fn simd_backend() -> PyResult<&'static str> {
    Ok(simd::backend()?.name())
}

/// Every backend this CPU can run, scalar first.
#[pyfunction]
fn simd_backends_available() -> Vec<&'static str> {
    simd::available().into_iter().map(simd::Backend::name).collect()
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(simd_backend, m)?)?;
    m.add_function(wrap_pyfunction!(simd_backends_available, m)?)?;
    Ok(())
}
