//! `METH_O` entry points for the hottest one-argument methods (`EMA.update`, ...).
//!
//! NB: a PyO3 method goes through its generic trampoline (fastcall + keywords argument parsing,
//! GIL-count bookkeeping, panic guard): ~15 ns a call on the dev box, more than the EMA step
//! itself and the margin by which NautilusTrader's Cython `update_raw` led (32 vs 38 ns a call,
//! `benches/test_bench_indicators.py`). CPython calls a `METH_O` C function directly with
//! `(self, arg)`, as Cython's `cpdef f(double)` does. These functions replace the PyO3-generated
//! attribute on the class after it is created; the PyO3 method stays the documented fallback.

use std::ffi::CStr;
use std::ptr;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// A method table entry that lives for the rest of the process (CPython keeps the pointer).
struct StaticDef(ffi::PyMethodDef);
// SAFETY: the definition is written once, before publication, and only read afterwards.
unsafe impl Sync for StaticDef {}
// SAFETY: as above; it holds only pointers to 'static C strings and a function.
unsafe impl Send for StaticDef {}

/// Install `f` as the `METH_O` method `name` of `ty`.
pub(crate) fn install_meth_o(
    ty: &Bound<'_, PyType>,
    name: &'static CStr,
    doc: &'static CStr,
    f: ffi::PyCFunction,
) -> PyResult<()> {
    let def: &'static StaticDef = Box::leak(Box::new(StaticDef(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: f },
        ml_flags: ffi::METH_O,
        ml_doc: doc.as_ptr(),
    })));
    let py = ty.py();
    // SAFETY: `ty` is a live type object; `def` is 'static and never mutated (CPython only reads
    // it); the new reference the call returns is owned by the `Bound` right away.
    let descr = unsafe {
        let raw = ffi::PyDescr_NewMethod(
            ty.as_type_ptr(),
            (&def.0 as *const ffi::PyMethodDef).cast_mut(),
        );
        Bound::from_owned_ptr_or_err(py, raw)?
    };
    ty.setattr(
        name.to_str()
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?,
        descr,
    )
}

/// The float value of a borrowed argument: exact floats read directly, anything else through
/// `__float__` (`PyFloat_AsDouble`). `None` means a Python error is set.
///
/// # Safety
/// The GIL is held and `arg` is a valid object pointer.
#[inline(always)]
pub(crate) unsafe fn arg_f64(arg: *mut ffi::PyObject) -> Option<f64> {
    // SAFETY: forwarded caller contract.
    unsafe {
        if ffi::PyFloat_CheckExact(arg) != 0 {
            return Some(ffi::PyFloat_AS_DOUBLE(arg));
        }
        let v = ffi::PyFloat_AsDouble(arg);
        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
            None
        } else {
            Some(v)
        }
    }
}

/// Turn a Rust result into what a `METH_O` function returns: a new float, or NULL with the
/// exception set. Catches panics (none are expected) so none crosses the C boundary.
#[inline(always)]
pub(crate) fn return_f64(
    py: Python<'_>,
    r: std::thread::Result<PyResult<f64>>,
) -> *mut ffi::PyObject {
    match r {
        // SAFETY: the GIL is held (we are inside a CPython call).
        Ok(Ok(v)) => unsafe { ffi::PyFloat_FromDouble(v) },
        Ok(Err(e)) => {
            e.restore(py);
            ptr::null_mut()
        }
        Err(_) => {
            pyo3::exceptions::PySystemError::new_err("trader: panic in a METH_O fast path")
                .restore(py);
            ptr::null_mut()
        }
    }
}

/// Interior mutability for a `frozen` pyclass's hot state, serialised by the GIL.
///
/// Every access goes through [`GilCell::with`], which demands a `Python<'_>` token: the caller
/// holds the GIL, so no other thread can be inside `with` on this cell at the same time, and the
/// closure cannot reach Python code that could re-enter (it gets only `&mut T`).
/// NB: replaces `unsendable` + `Cell`, whose per-call thread check cost ~10 ns.
pub(crate) struct GilCell<T>(std::cell::UnsafeCell<T>);

// SAFETY: all access is through `with`, which requires the GIL token; with the GIL held, accesses
// from different threads are serialised. (This crate targets GIL-enabled CPython only; a build
// for a free-threaded interpreter would have to replace this with a lock.)
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub(crate) fn new(v: T) -> Self {
        Self(std::cell::UnsafeCell::new(v))
    }

    #[inline(always)]
    pub(crate) fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the GIL token proves exclusive access among threads (see the `Sync` impl), and
        // `f` cannot re-enter `with` on this cell: it receives only `&mut T`, never Python.
        f(unsafe { &mut *self.0.get() })
    }
}
