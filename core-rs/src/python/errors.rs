//! The single mapping from [`CoreError`] onto `trader.exceptions` (defined in Python so the
//! classes can also derive from `ValueError`/`TypeError`).

use pyo3::PyErr;

use crate::error::CoreError;

mod exc {
    pyo3::import_exception!(trader.exceptions, InvalidInputError);
    pyo3::import_exception!(trader.exceptions, ArrayTypeError);
    pyo3::import_exception!(trader.exceptions, LengthMismatchError);
    pyo3::import_exception!(trader.exceptions, NanInSeriesError);
    pyo3::import_exception!(trader.exceptions, SimdUnavailableError);
    pyo3::import_exception!(trader.exceptions, CapacityError);
    pyo3::import_exception!(trader.exceptions, StrategyError);
}

/// Map a core error onto its Python exception, message unchanged.
pub(crate) fn to_py_err(err: CoreError) -> PyErr {
    let msg = err.to_string();
    match err {
        CoreError::InvalidPeriod { .. } | CoreError::InvalidArgument { .. } => {
            exc::InvalidInputError::new_err(msg)
        }
        CoreError::LengthMismatch { .. } => exc::LengthMismatchError::new_err(msg),
        CoreError::NanInSeries { .. } => exc::NanInSeriesError::new_err(msg),
        CoreError::ArrayType { .. } => exc::ArrayTypeError::new_err(msg),
        CoreError::SimdUnavailable { .. } | CoreError::UnknownSimdBackend { .. } => {
            exc::SimdUnavailableError::new_err(msg)
        }
        CoreError::Capacity { .. } => exc::CapacityError::new_err(msg),
    }
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        to_py_err(err)
    }
}

/// Wrap an exception raised by a strategy's callback: a `StrategyError` whose `__cause__` is the
/// original (its traceback intact), so callers can tell a strategy bug from bad input.
pub(crate) fn strategy_error(py: pyo3::Python<'_>, err: PyErr) -> PyErr {
    let msg = format!("the strategy raised {}", err);
    let wrapped = exc::StrategyError::new_err(msg);
    wrapped.set_cause(py, Some(err));
    wrapped
}
