//! Bindings of `indicators/`: batch functions (numpy in, numpy out, GIL released) and the
//! streaming classes.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use super::f64_array;
use crate::indicators;

/// Simple moving average (TA-Lib `SMA`). NaN for the lookback.
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 30))]
fn sma<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    Ok(py.detach(|| indicators::sma::sma(x, timeperiod))?.into_pyarray(py))
}

/// Exponential moving average (TA-Lib `EMA`): seeded with the mean of the first `timeperiod` values.
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 30))]
fn ema<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    Ok(py.detach(|| indicators::ema::ema(x, timeperiod))?.into_pyarray(py))
}

/// Relative strength index with Wilder's smoothing (TA-Lib `RSI`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 14))]
fn rsi<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    Ok(py.detach(|| indicators::rsi::rsi(x, timeperiod))?.into_pyarray(py))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sma, m)?)?;
    m.add_function(wrap_pyfunction!(ema, m)?)?;
    m.add_function(wrap_pyfunction!(rsi, m)?)?;
    Ok(())
}
