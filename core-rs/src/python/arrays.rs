//! numpy in: borrow a contiguous float64 array without copying, or explain in one line why not.

use numpy::{
    PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::error::CoreError;

fn describe(obj: &Bound<'_, PyAny>) -> String {
    match obj.cast::<PyUntypedArray>() {
        Ok(arr) => format!("a {}-D {} array", arr.ndim(), arr.dtype()),
        Err(_) => format!(
            "{}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "object".into())
        ),
    }
}

/// Borrow `obj` as a read-only, C-contiguous, 1-D float64 array (zero-copy).
pub(crate) fn f64_array<'py>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
) -> PyResult<PyReadonlyArray1<'py, f64>> {
    let arr = obj
        .cast::<numpy::PyArray1<f64>>()
        .map_err(|_| CoreError::ArrayType {
            name,
            reason: format!("expected a 1-D float64 numpy array, got {}", describe(obj)),
        })?;
    let ro = arr.try_readonly().map_err(|e| CoreError::ArrayType {
        name,
        reason: e.to_string(),
    })?;
    if !ro.is_c_contiguous() {
        return Err(CoreError::ArrayType {
            name,
            reason: "array is not contiguous; pass numpy.ascontiguousarray(...)".into(),
        }
        .into());
    }
    Ok(ro)
}

/// Borrow `obj` as a read-only, C-contiguous, 2-D float64 array (zero-copy).
pub(crate) fn f64_array_2d<'py>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
) -> PyResult<PyReadonlyArray2<'py, f64>> {
    let arr = obj
        .cast::<numpy::PyArray2<f64>>()
        .map_err(|_| CoreError::ArrayType {
            name,
            reason: format!("expected a 2-D float64 numpy array, got {}", describe(obj)),
        })?;
    let ro = arr.try_readonly().map_err(|e| CoreError::ArrayType {
        name,
        reason: e.to_string(),
    })?;
    if !ro.is_c_contiguous() {
        return Err(CoreError::ArrayType {
            name,
            reason: "array is not C-contiguous; pass numpy.ascontiguousarray(...)".into(),
        }
        .into());
    }
    Ok(ro)
}
