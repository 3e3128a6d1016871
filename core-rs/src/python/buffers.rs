//! Large numpy results backed by recycled buffers.
//!
//! A fresh 64 MB result (`ema_multi` with 8 periods over 1M values) costs more in page faults
//! than the kernel itself: every 4 KiB page is faulted in and zeroed by the kernel on first
//! write, and glibc never keeps allocations above 32 MB on its heap, so each call pays again.
//! NB: measured on the 2-core dev machine: filling a fresh (8, 1M) float64 array took 7.5 ms,
//! filling an already-touched one 3.4 ms; the 8-period EMA recurrence itself is ~2.3 ms.
//!
//! NB: the same holds for several 8 MB outputs per call (MACD, BBANDS): glibc trims freed memory
//! above 16 MB back to the kernel, so TA-Lib's three 1M-value MACD outputs are faulted in again
//! on every call (7 ns a value against 2.6 ns when the data fits in cache).
//!
//! So large outputs are handed to numpy as views over a Rust buffer owned by a small Python
//! object ([`RecycledBuffer`]); when numpy releases the array, the buffer goes back to a bounded
//! process-wide cache instead of to the allocator, and the next call of a similar size reuses
//! warm pages. Small outputs take the ordinary `into_pyarray` path.

use std::sync::Mutex;

use numpy::ndarray::{ArrayView1, ArrayView2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;

/// Buffers smaller than this (in f64 elements, 1 MiB) are not worth caching.
const MIN_RECYCLED: usize = 1 << 17;
/// At most this many buffers wait in the cache...
const MAX_CACHED: usize = 4;
/// ...holding at most this many bytes in all.
const MAX_CACHED_BYTES: usize = 512 << 20;

static CACHE: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// An empty buffer whose capacity can hold `len` f64s without touching fresh pages: a cached one
/// of a close capacity if there is one, else a new empty `Vec` (the kernel then allocates).
pub(crate) fn recycled(len: usize) -> Vec<f64> {
    if len >= MIN_RECYCLED {
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        // The buffer released last is the warmest in the caches (as glibc hands back the chunk
        // freed last): search from the end.
        if let Some(i) = cache
            .iter()
            .rposition(|b| b.capacity() >= len && b.capacity() <= len + len / 2)
        {
            let mut buf = cache.remove(i);
            buf.clear();
            return buf;
        }
    }
    Vec::new()
}

fn give_back(buf: Vec<f64>) {
    let cap = buf.capacity();
    if cap < MIN_RECYCLED {
        return;
    }
    if cap * 8 > MAX_CACHED_BYTES {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    // The buffer released last is the likeliest to be asked for next (a loop of calls of one
    // size): keep it, dropping the oldest ones until the bounds hold again.
    cache.push(buf);
    while cache.len() > MAX_CACHED
        || cache.iter().map(|b| b.capacity() * 8).sum::<usize>() > MAX_CACHED_BYTES
    {
        cache.remove(0);
    }
}

/// The owner of a large result's memory; numpy holds it as the array's `base`.
#[pyclass(frozen, module = "trader._core")]
pub(crate) struct RecycledBuffer {
    // Never read or resized while an array views it; returned to the cache on drop.
    buf: Mutex<Vec<f64>>,
}

impl Drop for RecycledBuffer {
    fn drop(&mut self) {
        let buf = std::mem::take(self.buf.get_mut().unwrap_or_else(|p| p.into_inner()));
        give_back(buf);
    }
}

/// `buf` (row-major, `rows * cols` long) as a C-contiguous 2-D numpy array.
pub(crate) fn into_pyarray2<'py>(
    py: Python<'py>,
    buf: Vec<f64>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    assert_eq!(buf.len(), rows * cols);
    if buf.len() < MIN_RECYCLED {
        return Ok(buf.into_pyarray(py).reshape([rows, cols])?);
    }
    let (ptr, len) = (buf.as_ptr(), buf.len());
    let owner = Bound::new(
        py,
        RecycledBuffer {
            buf: Mutex::new(buf),
        },
    )?;
    // SAFETY: `ptr`/`len` describe the heap block of the Vec now owned by `owner`; moving the Vec
    // into the object did not move that block, and it is neither resized nor freed until
    // `owner` is dropped, which numpy does only after the array (whose base it becomes) is gone.
    let view = unsafe { ArrayView2::from_shape_ptr([rows, cols], ptr) };
    debug_assert_eq!(view.len(), len);
    // SAFETY: as above; `owner` becomes the array's base object and keeps the memory alive.
    Ok(unsafe { PyArray2::borrow_from_array(&view, owner.into_any()) })
}

/// `buf` as a 1-D numpy array, recycled when large.
pub(crate) fn into_pyarray1<'py>(
    py: Python<'py>,
    buf: Vec<f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    if buf.len() < MIN_RECYCLED {
        return Ok(buf.into_pyarray(py));
    }
    let (ptr, len) = (buf.as_ptr(), buf.len());
    let owner = Bound::new(
        py,
        RecycledBuffer {
            buf: Mutex::new(buf),
        },
    )?;
    // SAFETY: see `into_pyarray2`: the block outlives the array through its base object.
    let view = unsafe { ArrayView1::from_shape_ptr([len], ptr) };
    // SAFETY: see `into_pyarray2`.
    Ok(unsafe { PyArray1::borrow_from_array(&view, owner.into_any()) })
}

/// Whether an output of `len` values goes through the recycled buffers.
pub(crate) fn is_large(len: usize) -> bool {
    len >= MIN_RECYCLED
}
