//! Bindings of `simd/`: the backend in use, the multi-lane indicators, rolling statistics,
//! reductions and the decision kernel. Long kernels release the GIL; `DecisionKernel.decide`
//! does not (it takes a few tens of nanoseconds, less than releasing and re-taking the GIL).

use numpy::{IntoPyArray, PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::{f64_array, f64_array_2d};
use crate::error::{CoreError, check_len};
use crate::simd::{self, DecisionKernel, Rolling, Rows};

/// The SIMD backend in use: "scalar", "avx2" or "avx512".
#[pyfunction]
fn simd_backend() -> PyResult<&'static str> {
    Ok(simd::backend()?.name())
}

/// Every backend this CPU can run, scalar first.
#[pyfunction]
fn simd_backends_available() -> Vec<&'static str> {
    simd::available()
        .into_iter()
        .map(simd::Backend::name)
        .collect()
}

/// `periods`: a sequence of ints or an integer numpy array.
fn periods_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if obj.is_instance_of::<pyo3::types::PyString>() || obj.is_instance_of::<pyo3::types::PyBytes>()
    {
        return Err(bad_periods(obj));
    }
    obj.extract::<Vec<i64>>().map_err(|_| bad_periods(obj))
}

fn bad_periods(obj: &Bound<'_, PyAny>) -> PyErr {
    let ty = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    CoreError::ArrayType {
        name: "periods",
        reason: format!("expected a sequence of integers, got {ty}"),
    }
    .into()
}

/// A multi-lane call on the process backend, its output in a recycled buffer handed to numpy
/// without a copy (see `buffers`).
fn multi_py<'py>(
    py: Python<'py>,
    kind: simd::Multi,
    real: &Bound<'py, PyAny>,
    periods: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let x = f64_array(real, "real")?;
    let (x, p) = (x.as_slice()?, periods_arg(periods)?);
    let b = simd::backend()?;
    let buf = super::recycled(p.len().saturating_mul(x.len()));
    let rows: Rows = py.detach(|| simd::multi_in(b, kind, x, &p, buf))?;
    super::into_pyarray2(py, rows.data, rows.rows, rows.cols)
}

/// EMA for several periods in one pass: shape (len(periods), len(real)); row j equals ema(real, periods[j]).
#[pyfunction]
fn ema_multi<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    periods: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    multi_py(py, simd::Multi::Ema, real, periods)
}

/// SMA for several periods in one pass: shape (len(periods), len(real)).
#[pyfunction]
fn sma_multi<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    periods: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    multi_py(py, simd::Multi::Sma, real, periods)
}

/// RSI for several periods in one pass: shape (len(periods), len(real)).
#[pyfunction]
fn rsi_multi<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    periods: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    multi_py(py, simd::Multi::Rsi, real, periods)
}

fn rolling<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    window: i64,
    kind: Rolling,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    let b = simd::backend()?;
    Ok(py
        .detach(|| simd::rolling_with(b, x, window, kind))?
        .into_pyarray(py))
}

fn ddof_arg(ddof: i64) -> PyResult<usize> {
    usize::try_from(ddof).map_err(|_| {
        CoreError::InvalidArgument {
            name: "ddof",
            reason: format!("must be >= 0, got {ddof}"),
        }
        .into()
    })
}

/// Rolling sum over `window` values (NaN for the first window-1).
#[pyfunction]
fn rolling_sum<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    window: i64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    rolling(py, real, window, Rolling::Sum)
}

/// Rolling mean over `window` values (NaN for the first window-1).
#[pyfunction]
fn rolling_mean<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    window: i64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    rolling(py, real, window, Rolling::Mean)
}

/// Rolling standard deviation over `window` values, divisor window - ddof.
#[pyfunction]
#[pyo3(signature = (real, window, ddof = 0))]
fn rolling_std<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    window: i64,
    ddof: i64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    rolling(
        py,
        real,
        window,
        Rolling::Std {
            ddof: ddof_arg(ddof)?,
        },
    )
}

/// Sum of the valid values.
#[pyfunction]
fn reduce_sum(py: Python<'_>, real: &Bound<'_, PyAny>) -> PyResult<f64> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    Ok(py.detach(|| simd::sum(x))?)
}

/// Mean of the valid values.
#[pyfunction]
fn reduce_mean(py: Python<'_>, real: &Bound<'_, PyAny>) -> PyResult<f64> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    Ok(py.detach(|| simd::mean(x))?)
}

/// Standard deviation of the valid values, divisor count - ddof.
#[pyfunction]
#[pyo3(signature = (real, ddof = 0))]
fn reduce_std(py: Python<'_>, real: &Bound<'_, PyAny>, ddof: i64) -> PyResult<f64> {
    let x = f64_array(real, "real")?;
    let (x, ddof) = (x.as_slice()?, ddof_arg(ddof)?);
    Ok(py.detach(|| simd::std(x, ddof))?)
}

/// Pearson correlation of x and y.
#[pyfunction]
fn reduce_corr(py: Python<'_>, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
    let (x, y) = (f64_array(x, "x")?, f64_array(y, "y")?);
    let (x, y) = (x.as_slice()?, y.as_slice()?);
    Ok(py.detach(|| simd::corr(x, y))?)
}

/// Weighted fusion of N signal confidences into an action and a size.
#[pyclass(name = "DecisionKernel", module = "trader._core", frozen)]
struct PyDecisionKernel {
    inner: DecisionKernel,
}

#[pymethods]
impl PyDecisionKernel {
    #[new]
    #[pyo3(signature = (weights, thresholds, neutral_band))]
    fn new(
        weights: &Bound<'_, PyAny>,
        thresholds: &Bound<'_, PyAny>,
        neutral_band: f64,
    ) -> PyResult<Self> {
        let floats = |obj: &Bound<'_, PyAny>, name: &'static str| -> PyResult<Vec<f64>> {
            obj.extract::<Vec<f64>>().map_err(|_| {
                CoreError::ArrayType {
                    name,
                    reason: "expected a sequence of floats".into(),
                }
                .into()
            })
        };
        let (w, t) = (
            floats(weights, "weights")?,
            floats(thresholds, "thresholds")?,
        );
        Ok(Self {
            inner: DecisionKernel::new(&w, &t, neutral_band)?,
        })
    }

    /// One decision: (action, score, size) for a 1-D float64 array of n_signals values.
    fn decide(&self, signals: &Bound<'_, PyAny>) -> PyResult<(i8, f64, f64)> {
        let s = f64_array(signals, "signals")?;
        let d = self.inner.decide(s.as_slice()?)?;
        Ok((d.action, d.score, d.size))
    }

    /// Decisions for a (n_bars, n_signals) float64 array: (actions int8, scores, sizes).
    #[allow(clippy::type_complexity)] // reason: the Python-facing 3-tuple of arrays
    fn decide_batch<'py>(
        &self,
        py: Python<'py>,
        signals: &Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i8>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
    )> {
        let s = f64_array_2d(signals, "signals")?;
        let shape = s.shape();
        check_len("signals", self.inner.n_signals(), shape[1])?;
        let bars = shape[0];
        let s = s.as_slice()?;
        let (a, sc, sz) = py.detach(|| {
            let (mut a, mut sc, mut sz) = (vec![0i8; bars], vec![0.0; bars], vec![0.0; bars]);
            self.inner
                .decide_batch(s, &mut a, &mut sc, &mut sz)
                .map(|()| (a, sc, sz))
        })?;
        Ok((a.into_pyarray(py), sc.into_pyarray(py), sz.into_pyarray(py)))
    }

    /// Number of signals per decision.
    #[getter]
    fn n_signals(&self) -> usize {
        self.inner.n_signals()
    }

    /// The neutral band.
    #[getter]
    fn neutral_band(&self) -> f64 {
        self.inner.band()
    }

    /// The SIMD backend the kernel runs on.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().name()
    }

    fn __repr__(&self) -> String {
        format!(
            "DecisionKernel(n_signals={}, neutral_band={}, backend={:?})",
            self.inner.n_signals(),
            self.inner.band(),
            self.inner.backend().name()
        )
    }
}

/// Crossings of `a` over `b` as int8: +1 up-cross, -1 down-cross, 0 else (NaN never crosses).
#[pyfunction]
fn crossings<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i8>>> {
    let (a, b) = (f64_array(a, "a")?, f64_array(b, "b")?);
    let (a, b) = (a.as_slice()?, b.as_slice()?);
    Ok(py
        .detach(|| crate::signals::crossings(a, b))?
        .into_pyarray(py))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(crossings, m)?)?;
    m.add_function(wrap_pyfunction!(simd_backend, m)?)?;
    m.add_function(wrap_pyfunction!(simd_backends_available, m)?)?;
    m.add_function(wrap_pyfunction!(ema_multi, m)?)?;
    m.add_function(wrap_pyfunction!(sma_multi, m)?)?;
    m.add_function(wrap_pyfunction!(rsi_multi, m)?)?;
    m.add_function(wrap_pyfunction!(rolling_sum, m)?)?;
    m.add_function(wrap_pyfunction!(rolling_mean, m)?)?;
    m.add_function(wrap_pyfunction!(rolling_std, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_sum, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_mean, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_std, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_corr, m)?)?;
    m.add_class::<PyDecisionKernel>()?;
    Ok(())
}
