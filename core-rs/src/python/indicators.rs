//! Bindings of `indicators/`: batch functions (numpy in without copying, numpy out, GIL
//! released around the kernel) and the streaming classes (thin wrappers, `update` does nothing
//! but the Rust step).

use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::f64_array;
use crate::error::{CoreError, CoreResult};
use crate::indicators as ind;

pub(super) type Arr<'py> = Bound<'py, PyArray1<f64>>;
pub(super) type Arr2<'py> = (Arr<'py>, Arr<'py>);
pub(super) type Arr3<'py> = (Arr<'py>, Arr<'py>, Arr<'py>);

/// Allocate the output as a numpy array and let `f` write all of it with the GIL released.
///
/// NB: numpy's allocator asks for transparent huge pages on large arrays; a `Vec` handed over
/// with `into_pyarray` took a 4 KiB page fault per 512 values and made 1M-value batches ~2x
/// slower than talib (benches/test_bench_indicators.py). Zeroed (`calloc`), so no uninitialised
/// memory is ever behind a Rust reference.
/// Where a batch function's output goes before it becomes a numpy array.
///
/// NB: neither output is zero-filled first: `PyArray1::zeros` (calloc) costs a memset or 8 MB of
/// fresh zero pages per 1M-value call (~25% of an EMA's time). Every kernel behind `run1`/`run3`
/// writes each element exactly once (`apply_into`: NaN prefix, then the kernel) before anything
/// reads it, and on error the buffer is dropped unread, so no uninitialised value is observed.
pub(super) enum Out<'py> {
    /// Small outputs: a numpy array of its own (`PyArray_EMPTY`, like TA-Lib's wrapper).
    Numpy(Bound<'py, PyArray1<f64>>),
    /// Large outputs: a recycled Rust buffer handed to numpy without a copy (see `buffers`).
    Recycled(Vec<f64>),
}

impl<'py> Out<'py> {
    pub(super) fn new(py: Python<'py>, n: usize) -> Self {
        if super::is_large(n) {
            let mut buf = super::recycled(n);
            buf.reserve_exact(n);
            // SAFETY: capacity >= n; the elements are written before they are read (see above).
            unsafe { buf.set_len(n) };
            Out::Recycled(buf)
        } else {
            // SAFETY: as above: the array is fully written before it is read or returned.
            Out::Numpy(unsafe { PyArray1::<f64>::new(py, n, false) })
        }
    }

    pub(super) fn finish(self, py: Python<'py>) -> PyResult<Arr<'py>> {
        match self {
            Out::Numpy(a) => Ok(a),
            Out::Recycled(buf) => super::into_pyarray1(py, buf),
        }
    }
}

/// Run `f` over one output slice (GIL released) and return it as a numpy array.
pub(super) fn run1<'py>(
    py: Python<'py>,
    n: usize,
    f: impl FnOnce(&mut [f64]) -> CoreResult<()> + Send,
) -> PyResult<Arr<'py>> {
    let mut out = Out::new(py, n);
    match &mut out {
        Out::Numpy(a) => {
            let mut rw = a.readwrite();
            let o = rw.as_slice_mut()?;
            py.detach(|| f(o))?;
        }
        Out::Recycled(buf) => py.detach(|| f(buf))?,
    }
    out.finish(py)
}

/// [`run1`] for two outputs.
pub(super) fn run2<'py>(
    py: Python<'py>,
    n: usize,
    f: impl FnOnce([&mut [f64]; 2]) -> CoreResult<()> + Send,
) -> PyResult<Arr2<'py>> {
    let (mut a, mut b) = (Out::new(py, n), Out::new(py, n));
    match (&mut a, &mut b) {
        (Out::Recycled(x), Out::Recycled(y)) => py.detach(|| f([x, y]))?,
        (Out::Numpy(x), Out::Numpy(y)) => {
            let (mut rx, mut ry) = (x.readwrite(), y.readwrite());
            let (sx, sy) = (rx.as_slice_mut()?, ry.as_slice_mut()?);
            py.detach(|| f([sx, sy]))?;
        }
        _ => unreachable!("two outputs of one length take the same path"),
    }
    Ok((a.finish(py)?, b.finish(py)?))
}

/// [`run1`] for three outputs.
pub(super) fn run3<'py>(
    py: Python<'py>,
    n: usize,
    f: impl FnOnce([&mut [f64]; 3]) -> CoreResult<()> + Send,
) -> PyResult<Arr3<'py>> {
    let (mut a, mut b, mut c) = (Out::new(py, n), Out::new(py, n), Out::new(py, n));
    match (&mut a, &mut b, &mut c) {
        (Out::Recycled(x), Out::Recycled(y), Out::Recycled(z)) => py.detach(|| f([x, y, z]))?,
        (Out::Numpy(x), Out::Numpy(y), Out::Numpy(z)) => {
            let (mut rx, mut ry, mut rz) = (x.readwrite(), y.readwrite(), z.readwrite());
            let (sx, sy, sz) = (rx.as_slice_mut()?, ry.as_slice_mut()?, rz.as_slice_mut()?);
            py.detach(|| f([sx, sy, sz]))?;
        }
        _ => unreachable!("three outputs of one length take the same path"),
    }
    Ok((a.finish(py)?, b.finish(py)?, c.finish(py)?))
}

// `$default:tt`, not `expr`: PyO3 writes a default into `__text_signature__` only when it sees a
// literal token; an `expr` fragment arrives wrapped in an invisible group and shows as `...`.
macro_rules! batch1 {
    ($(#[$doc:meta])* $name:ident, $default:tt, $f:path) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (real, timeperiod = $default))]
        fn $name<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
            let x = f64_array(real, "real")?;
            let x = x.as_slice()?;
            run1(py, x.len(), |o| $f(x, timeperiod, o))
        }
    };
}

batch1!(
    /// Simple moving average (TA-Lib `SMA`). NaN for the lookback.
    sma, 30, ind::sma::sma_into
);
batch1!(
    /// Exponential moving average (TA-Lib `EMA`): seeded with the mean of the first `timeperiod` values.
    ema, 30, ind::ema::ema_into
);
batch1!(
    /// Weighted moving average (TA-Lib `WMA`).
    wma, 30, ind::wma::wma_into
);
batch1!(
    /// Relative strength index with Wilder's smoothing (TA-Lib `RSI` within 1e-9 relative).
    rsi, 14, ind::rsi::rsi_into
);

/// Rolling z-score `(x - SMA) / STDDEV` (0.0 where the deviation is 0).
#[pyfunction]
#[pyo3(signature = (real, timeperiod))]
fn zscore<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| ind::zscore::zscore_into(x, timeperiod, o))
}

/// Rolling population standard deviation (TA-Lib `STDDEV`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 5, nbdev = 1.0))]
fn stddev<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    nbdev: f64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        ind::stddev::stddev_into(x, timeperiod, nbdev, o)
    })
}

/// MACD (TA-Lib `MACD`): `(macd, signal, hist)`.
#[pyfunction]
#[pyo3(signature = (real, fastperiod = 12, slowperiod = 26, signalperiod = 9))]
fn macd<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    fastperiod: i64,
    slowperiod: i64,
    signalperiod: i64,
) -> PyResult<Arr3<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run3(py, x.len(), |o| {
        ind::macd::macd_into(x, fastperiod, slowperiod, signalperiod, o)
    })
}

/// Bollinger bands (TA-Lib `BBANDS`, `matype=0` only): `(upper, middle, lower)`. Default period 20, as in TA-Lib 0.8.
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 20, nbdevup = 2.0, nbdevdn = 2.0, matype = 0))]
fn bbands<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    nbdevup: f64,
    nbdevdn: f64,
    matype: i64,
) -> PyResult<Arr3<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run3(py, x.len(), |o| {
        ind::bbands::bbands_into(x, timeperiod, nbdevup, nbdevdn, matype, o)
    })
}

/// Average true range (TA-Lib `ATR`).
#[pyfunction]
#[pyo3(signature = (high, low, close, timeperiod = 14))]
fn atr<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr<'py>> {
    let (h, l, c) = (
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    );
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |o| ind::atr::atr_into(h, l, c, timeperiod, o))
}

/// On-balance volume (TA-Lib `OBV`).
#[pyfunction]
#[pyo3(signature = (real, volume))]
fn obv<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (x, v) = (f64_array(real, "real")?, f64_array(volume, "volume")?);
    let (x, v) = (x.as_slice()?, v.as_slice()?);
    Ok(py.detach(|| ind::obv::obv(x, v))?.into_pyarray(py))
}

/// Volume-weighted average price of the typical price (`timeperiod=0`: cumulative).
#[pyfunction]
#[pyo3(signature = (high, low, close, volume, timeperiod = 0))]
fn vwap<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (c, v) = (f64_array(close, "close")?, f64_array(volume, "volume")?);
    let (h, l, c, v) = (h.as_slice()?, l.as_slice()?, c.as_slice()?, v.as_slice()?);
    Ok(py
        .detach(|| ind::vwap::vwap(h, l, c, v, timeperiod))?
        .into_pyarray(py))
}

/// A streaming class: the wrapper struct plus `value`, `count`, `initialized`, `reset` and
/// pickling around the given constructor and `update` (`$out`: what `value` returns, `f64` when
/// left out). Shared by every indicator bindings module (`#[macro_use]` in `python/mod.rs`).
macro_rules! stream_class {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $inner:ty, { $($items:tt)* }) => {
        stream_class!($(#[$doc])* $ty, $name, $inner, f64, { $($items)* });
    };
    ($(#[$doc:meta])* $ty:ident, $name:literal, $inner:ty, $out:ty, { $($items:tt)* }) => {
        $(#[$doc])*
        #[pyclass(name = $name, module = "trader._core")]
        pub(crate) struct $ty($inner);

        #[pymethods]
        impl $ty {
            $($items)*

            /// The last output (NaN during the lookback).
            #[getter]
            fn value(&self) -> $out {
                self.0.value()
            }
            /// Valid values (bars) pushed so far.
            #[getter]
            fn count(&self) -> usize {
                self.0.count()
            }
            /// Whether the lookback is over.
            #[getter]
            fn initialized(&self) -> bool {
                self.0.initialized()
            }
            /// Back to the state right after construction (storage kept).
            fn reset(&mut self) {
                self.0.reset()
            }
            /// The whole state as bytes (pickling; a live node's checkpoint).
            fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
                $crate::python::indicators::state_bytes(py, &self.0)
            }
            /// Take back what `__getstate__` gave.
            fn __setstate__(&mut self, state: &[u8]) -> PyResult<()> {
                self.0 = $crate::python::indicators::state_of(state)?;
                Ok(())
            }
        }
    };
}

/// A streaming indicator's state as bytes (bincode).
pub(super) fn state_bytes<'py, T: serde::Serialize>(
    py: Python<'py>,
    t: &T,
) -> PyResult<Bound<'py, PyBytes>> {
    let b = bincode::serialize(t).map_err(|e| CoreError::InvalidArgument {
        name: "state",
        reason: format!("cannot encode the indicator: {e}"),
    })?;
    Ok(PyBytes::new(py, &b))
}

/// A streaming indicator's state from `state_bytes`' bytes.
pub(super) fn state_of<T: serde::de::DeserializeOwned>(state: &[u8]) -> PyResult<T> {
    Ok(
        bincode::deserialize(state).map_err(|e| CoreError::InvalidArgument {
            name: "state",
            reason: format!("not this indicator's state ({e})"),
        })?,
    )
}

stream_class!(
    /// Streaming SMA; `update(x)` equals `sma` bit for bit.
    PySma, "SMA", ind::Sma, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Sma::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

/// `EMA.update` as a `METH_O` C function (see `fastcall`).
unsafe extern "C" fn ema_update_o(
    slf: *mut pyo3::ffi::PyObject,
    arg: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls a METH_O method with the GIL held, `slf` an instance of the class the
    // descriptor was made for (`EMA`, checked by the descriptor) and `arg` a valid borrowed object.
    unsafe {
        let py = Python::assume_attached();
        let Some(x) = super::fastcall::arg_f64(arg) else {
            return std::ptr::null_mut();
        };
        let this = Bound::<PyAny>::ref_from_ptr(py, &slf).cast_unchecked::<PyEma>();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            this.get().0.with(py, |e| e.update(x)).map_err(PyErr::from)
        }));
        super::fastcall::return_f64(py, r)
    }
}

/// Streaming EMA; `update(x)` equals `ema` bit for bit.
///
/// NB: the hot `update` takes no borrow flag and no thread check: the state sits in a
/// [`GilCell`], which relies on the GIL to serialise access (see its SAFETY note). Measured
/// against NautilusTrader's `update_raw` in `benches/test_bench_indicators.py` (`stream_ema_py`):
/// the `unsendable` + `Cell` form spent ~10 ns a call in PyO3's thread check.
#[pyclass(name = "EMA", module = "trader._core", frozen)]
pub(crate) struct PyEma(super::fastcall::GilCell<ind::Ema>);

#[pymethods]
impl PyEma {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(super::fastcall::GilCell::new(ind::Ema::new(
            timeperiod,
        )?)))
    }
    /// Push one value; the EMA (NaN during the lookback).
    #[inline]
    fn update(&self, py: Python<'_>, x: f64) -> PyResult<f64> {
        Ok(self.0.with(py, |e| e.update(x))?)
    }
    /// The last output (NaN during the lookback).
    #[getter]
    fn value(&self, py: Python<'_>) -> f64 {
        self.0.with(py, |e| e.value())
    }
    /// Valid values pushed so far.
    #[getter]
    fn count(&self, py: Python<'_>) -> usize {
        self.0.with(py, |e| e.count())
    }
    /// Whether the lookback is over.
    #[getter]
    fn initialized(&self, py: Python<'_>) -> bool {
        self.0.with(py, |e| e.initialized())
    }
    /// Back to the state right after construction.
    fn reset(&self, py: Python<'_>) {
        self.0.with(py, |e| e.reset())
    }
    /// The whole state as bytes (pickling; a live node's checkpoint).
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let e = self.0.with(py, |e| *e);
        state_bytes(py, &e)
    }
    /// Take back what `__getstate__` gave.
    fn __setstate__(&self, py: Python<'_>, state: &[u8]) -> PyResult<()> {
        let new: ind::Ema = state_of(state)?;
        self.0.with(py, |e| *e = new);
        Ok(())
    }
}

stream_class!(
    /// Streaming WMA; `update(x)` equals `wma` bit for bit.
    PyWma, "WMA", ind::Wma, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Wma::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming RSI; `update(x)` equals `rsi` bit for bit.
    PyRsi, "RSI", ind::Rsi, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Rsi::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming STDDEV; `update(x)` equals `stddev` bit for bit.
    PyStdDev, "STDDEV", ind::StdDev, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 5, nbdev = 1.0))]
    fn new(timeperiod: i64, nbdev: f64) -> PyResult<Self> {
        Ok(Self(ind::StdDev::new(timeperiod, nbdev)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming z-score; `update(x)` equals `zscore` bit for bit.
    PyZScore, "ZScore", ind::ZScore, f64, {
    #[new]
    #[pyo3(signature = (timeperiod))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::ZScore::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming MACD; `update(x) -> (macd, signal, hist)` equals `macd` bit for bit.
    PyMacd, "MACD", ind::Macd, (f64, f64, f64), {
    #[new]
    #[pyo3(signature = (fastperiod = 12, slowperiod = 26, signalperiod = 9))]
    fn new(fastperiod: i64, slowperiod: i64, signalperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Macd::new(fastperiod, slowperiod, signalperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<(f64, f64, f64)> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming BBANDS; `update(x) -> (upper, middle, lower)` equals `bbands` bit for bit.
    PyBbands, "BBANDS", ind::Bbands, (f64, f64, f64), {
    #[new]
    #[pyo3(signature = (timeperiod = 20, nbdevup = 2.0, nbdevdn = 2.0, matype = 0))]
    fn new(timeperiod: i64, nbdevup: f64, nbdevdn: f64, matype: i64) -> PyResult<Self> {
        Ok(Self(ind::Bbands::new(timeperiod, nbdevup, nbdevdn, matype)?))
    }
    fn update(&mut self, x: f64) -> PyResult<(f64, f64, f64)> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming ATR; `update(high, low, close)` equals `atr` bit for bit.
    PyAtr, "ATR", ind::Atr, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Atr::new(timeperiod)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming OBV; `update(real, volume)` equals `obv` bit for bit.
    PyObv, "OBV", ind::Obv, f64, {
    #[new]
    fn new() -> Self {
        Self(ind::Obv::new())
    }
    fn update(&mut self, real: f64, volume: f64) -> PyResult<f64> {
        Ok(self.0.update(real, volume)?)
    }
    }
);

stream_class!(
    /// Streaming VWAP; `update(high, low, close, volume)` equals `vwap` bit for bit.
    PyVwap, "VWAP", ind::Vwap, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 0))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::Vwap::new(timeperiod)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close, volume)?)
    }
    }
);

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sma, m)?)?;
    m.add_function(wrap_pyfunction!(ema, m)?)?;
    m.add_function(wrap_pyfunction!(wma, m)?)?;
    m.add_function(wrap_pyfunction!(rsi, m)?)?;
    m.add_function(wrap_pyfunction!(macd, m)?)?;
    m.add_function(wrap_pyfunction!(bbands, m)?)?;
    m.add_function(wrap_pyfunction!(atr, m)?)?;
    m.add_function(wrap_pyfunction!(stddev, m)?)?;
    m.add_function(wrap_pyfunction!(obv, m)?)?;
    m.add_function(wrap_pyfunction!(zscore, m)?)?;
    m.add_function(wrap_pyfunction!(vwap, m)?)?;
    m.add_class::<PySma>()?;
    m.add_class::<PyEma>()?;
    super::fastcall::install_meth_o(
        &m.py().get_type::<PyEma>(),
        c"update",
        // CPython's text-signature convention (`name(sig)\n--\n\n` then the doc): gives
        // `__text_signature__`, so `inspect.signature` and stubtest see the real parameters.
        c"update($self, x, /)\n--\n\nPush one value; the EMA (NaN during the lookback).",
        ema_update_o,
    )?;
    m.add_class::<PyWma>()?;
    m.add_class::<PyRsi>()?;
    m.add_class::<PyMacd>()?;
    m.add_class::<PyBbands>()?;
    m.add_class::<PyAtr>()?;
    m.add_class::<PyStdDev>()?;
    m.add_class::<PyZScore>()?;
    m.add_class::<PyVwap>()?;
    m.add_class::<PyObv>()?;
    Ok(())
}

/// The engine's handle on a registered indicator: the built-in classes are updated straight on
/// their Rust state (a few ns), anything else through its Python `update` method.
pub(crate) enum Updater<'py> {
    Ema(Bound<'py, PyEma>),
    Sma(Bound<'py, PySma>),
    Wma(Bound<'py, PyWma>),
    Rsi(Bound<'py, PyRsi>),
    StdDev(Bound<'py, PyStdDev>),
    ZScore(Bound<'py, PyZScore>),
    Macd(Bound<'py, PyMacd>),
    Bbands(Bound<'py, PyBbands>),
    Atr(Bound<'py, PyAtr>),
    Obv(Bound<'py, PyObv>),
    Vwap(Bound<'py, PyVwap>),
    Python(Bound<'py, PyAny>),
}

/// One bar's inputs, as the engine hands them to an indicator.
#[derive(Clone, Copy)]
pub(crate) struct BarInputs {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// What an indicator reads from each bar.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Source {
    Open,
    High,
    Low,
    Close,
    Volume,
    /// `update(high, low, close)`
    Hlc,
    /// `update(close, volume)`
    CloseVolume,
    /// `update(high, low, close, volume)`
    Hlcv,
}

impl Source {
    pub(crate) fn parse(s: &str) -> PyResult<Self> {
        Ok(match s {
            "open" => Self::Open,
            "high" => Self::High,
            "low" => Self::Low,
            "close" => Self::Close,
            "volume" => Self::Volume,
            "hlc" => Self::Hlc,
            "close_volume" => Self::CloseVolume,
            "hlcv" => Self::Hlcv,
            other => {
                return Err(crate::error::CoreError::InvalidArgument {
                    name: "source",
                    reason: format!("unknown indicator input {other:?} (expected open, high, low, close, volume, hlc, close_volume, hlcv)"),
                }
                .into());
            }
        })
    }

    fn single(self, b: &BarInputs) -> Option<f64> {
        match self {
            Self::Open => Some(b.open),
            Self::High => Some(b.high),
            Self::Low => Some(b.low),
            Self::Close => Some(b.close),
            Self::Volume => Some(b.volume),
            _ => None,
        }
    }
}

impl<'py> Updater<'py> {
    /// Recognise a built-in indicator and check that `source` gives it the inputs it takes.
    pub(crate) fn new(obj: Bound<'py, PyAny>, source: Source) -> PyResult<Self> {
        let single = !matches!(source, Source::Hlc | Source::CloseVolume | Source::Hlcv);
        let need = |ok: bool, what: &str| -> PyResult<()> {
            if ok {
                Ok(())
            } else {
                let ty = obj
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                Err(crate::error::CoreError::InvalidArgument {
                    name: "source",
                    reason: format!("{ty} takes {what}, not {source:?}"),
                }
                .into())
            }
        };
        macro_rules! try_single {
            ($($variant:ident => $ty:ty),*) => {
                $(if let Ok(b) = obj.cast::<$ty>() {
                    need(single, "one value a bar (open, high, low, close or volume)")?;
                    return Ok(Self::$variant(b.clone()));
                })*
            };
        }
        try_single!(Ema => PyEma, Sma => PySma, Wma => PyWma, Rsi => PyRsi, StdDev => PyStdDev, ZScore => PyZScore, Macd => PyMacd, Bbands => PyBbands);
        if let Ok(b) = obj.cast::<PyAtr>() {
            need(source == Source::Hlc, "source=\"hlc\"")?;
            return Ok(Self::Atr(b.clone()));
        }
        if let Ok(b) = obj.cast::<PyObv>() {
            need(source == Source::CloseVolume, "source=\"close_volume\"")?;
            return Ok(Self::Obv(b.clone()));
        }
        if let Ok(b) = obj.cast::<PyVwap>() {
            need(source == Source::Hlcv, "source=\"hlcv\"")?;
            return Ok(Self::Vwap(b.clone()));
        }
        Ok(Self::Python(obj))
    }

    /// Feed one bar.
    #[inline]
    pub(crate) fn update(&self, source: Source, b: &BarInputs) -> PyResult<()> {
        let x = source.single(b).unwrap_or(b.close);
        match self {
            Self::Ema(o) => {
                o.get().0.with(o.py(), |e| e.update(x))?;
            }
            Self::Sma(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::Wma(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::Rsi(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::StdDev(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::ZScore(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::Macd(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::Bbands(o) => {
                o.borrow_mut().0.update(x)?;
            }
            Self::Atr(o) => {
                o.borrow_mut().0.update(b.high, b.low, b.close)?;
            }
            Self::Obv(o) => {
                o.borrow_mut().0.update(b.close, b.volume)?;
            }
            Self::Vwap(o) => {
                o.borrow_mut().0.update(b.high, b.low, b.close, b.volume)?;
            }
            Self::Python(o) => {
                let upd = pyo3::intern!(o.py(), "update");
                match source {
                    Source::Hlc => o.call_method1(upd, (b.high, b.low, b.close))?,
                    Source::CloseVolume => o.call_method1(upd, (b.close, b.volume))?,
                    Source::Hlcv => o.call_method1(upd, (b.high, b.low, b.close, b.volume))?,
                    _ => o.call_method1(upd, (x,))?,
                };
            }
        }
        Ok(())
    }
}
