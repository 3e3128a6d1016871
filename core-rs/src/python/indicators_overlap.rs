//! Bindings of the overlap, volatility, volume and statistics indicators (issue 15): batch
//! functions (numpy in without copying, GIL released around the kernel, numpy out) and their
//! streaming classes (thin wrappers: `update` does nothing but the Rust step).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::f64_array;
use super::indicators::{Arr, Arr3, run1, run3};
use crate::indicators as ind;

batch1!(
    /// Double exponential moving average (TA-Lib `DEMA`).
    dema, 30, ind::ma::dema_into
);
batch1!(
    /// Triple exponential moving average (TA-Lib `TEMA`).
    tema, 30, ind::ma::tema_into
);
batch1!(
    /// Triangular moving average (TA-Lib `TRIMA`).
    trima, 30, ind::ma::trima_into
);
batch1!(
    /// Kaufman adaptive moving average (TA-Lib `KAMA`).
    kama, 30, ind::ma::kama_into
);

/// Tillson's T3 (TA-Lib `T3`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 5, vfactor = 0.7))]
fn t3<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    vfactor: f64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| ind::ma::t3_into(x, timeperiod, vfactor, o))
}

/// Moving average of type `matype` (TA-Lib `MA`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 30, matype = 0))]
fn ma<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    matype: i64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| ind::ma::ma_into(x, timeperiod, matype, o))
}

/// Parabolic SAR (TA-Lib `SAR`).
#[pyfunction]
#[pyo3(signature = (high, low, acceleration = 0.02, maximum = 0.2))]
fn sar<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    acceleration: f64,
    maximum: f64,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run1(py, h.len(), |o| {
        ind::sar::sar_into(h, l, acceleration, maximum, o)
    })
}

batch1!(
    /// Highest value over `timeperiod` (TA-Lib `MAX`).
    max, 30, ind::extremes::max_into
);
batch1!(
    /// Lowest value over `timeperiod` (TA-Lib `MIN`).
    min, 30, ind::extremes::min_into
);
batch1!(
    /// `(highest + lowest) / 2` over `timeperiod` (TA-Lib `MIDPOINT`).
    midpoint, 14, ind::extremes::midpoint_into
);

/// `(highest high + lowest low) / 2` over `timeperiod` (TA-Lib `MIDPRICE`).
#[pyfunction]
#[pyo3(signature = (high, low, timeperiod = 14))]
fn midprice<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run1(py, h.len(), |o| {
        ind::extremes::midprice_into(h, l, timeperiod, o)
    })
}

/// True range (TA-Lib `TRANGE`).
#[pyfunction]
#[pyo3(signature = (high, low, close))]
fn trange<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (h, l, c) = (
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    );
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |o| ind::volatility::trange_into(h, l, c, o))
}

/// Normalized average true range, percent of the close (TA-Lib `NATR`).
#[pyfunction]
#[pyo3(signature = (high, low, close, timeperiod = 14))]
fn natr<'py>(
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
    run1(py, h.len(), |o| {
        ind::volatility::natr_into(h, l, c, timeperiod, o)
    })
}

/// Chaikin accumulation/distribution line (TA-Lib `AD`).
#[pyfunction]
#[pyo3(signature = (high, low, close, volume))]
fn ad<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (c, v) = (f64_array(close, "close")?, f64_array(volume, "volume")?);
    let (h, l, c, v) = (h.as_slice()?, l.as_slice()?, c.as_slice()?, v.as_slice()?);
    run1(py, h.len(), |o| ind::volume::ad_into(h, l, c, v, o))
}

/// Chaikin A/D oscillator (TA-Lib `ADOSC`).
#[pyfunction]
#[pyo3(signature = (high, low, close, volume, fastperiod = 3, slowperiod = 10))]
fn adosc<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
    fastperiod: i64,
    slowperiod: i64,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (c, v) = (f64_array(close, "close")?, f64_array(volume, "volume")?);
    let (h, l, c, v) = (h.as_slice()?, l.as_slice()?, c.as_slice()?, v.as_slice()?);
    run1(py, h.len(), |o| {
        ind::volume::adosc_into(h, l, c, v, fastperiod, slowperiod, o)
    })
}

/// Median price `(high + low) / 2` (TA-Lib `MEDPRICE`).
#[pyfunction]
#[pyo3(signature = (high, low))]
fn medprice<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run1(py, h.len(), |o| ind::price::medprice_into(h, l, o))
}

/// Typical price `(high + low + close) / 3` (TA-Lib `TYPPRICE`).
#[pyfunction]
#[pyo3(signature = (high, low, close))]
fn typprice<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (h, l, c) = (
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    );
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |o| ind::price::typprice_into(h, l, c, o))
}

/// Weighted close price `(high + low + 2·close) / 4` (TA-Lib `WCLPRICE`).
#[pyfunction]
#[pyo3(signature = (high, low, close))]
fn wclprice<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (h, l, c) = (
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    );
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |o| ind::price::wclprice_into(h, l, c, o))
}

/// Average price `(open + high + low + close) / 4` (TA-Lib `AVGPRICE`).
#[pyfunction]
#[pyo3(signature = (open, high, low, close))]
fn avgprice<'py>(
    py: Python<'py>,
    open: &Bound<'py, PyAny>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let (o, h) = (f64_array(open, "open")?, f64_array(high, "high")?);
    let (l, c) = (f64_array(low, "low")?, f64_array(close, "close")?);
    let (o, h, l, c) = (o.as_slice()?, h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |out| {
        ind::price::avgprice_into(o, h, l, c, out)
    })
}

macro_rules! batch_linreg {
    ($(#[$doc:meta])* $name:ident, $kind:ident) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (real, timeperiod = 14))]
        fn $name<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
            let x = f64_array(real, "real")?;
            let x = x.as_slice()?;
            run1(py, x.len(), |o| ind::linreg::linreg_into(x, timeperiod, ind::linreg::LinRegKind::$kind, o))
        }
    };
}

batch_linreg!(
    /// Linear regression value at the newest point (TA-Lib `LINEARREG`).
    linearreg, Value
);
batch_linreg!(
    /// Linear regression slope (TA-Lib `LINEARREG_SLOPE`).
    linearreg_slope, Slope
);
batch_linreg!(
    /// Linear regression intercept (TA-Lib `LINEARREG_INTERCEPT`).
    linearreg_intercept, Intercept
);
batch_linreg!(
    /// Linear regression slope angle in degrees (TA-Lib `LINEARREG_ANGLE`).
    linearreg_angle, Angle
);
batch_linreg!(
    /// Time series forecast, the regression one step ahead (TA-Lib `TSF`).
    tsf, Tsf
);
batch1!(
    /// Rolling sum (TA-Lib `SUM`).
    sum, 30, ind::stats::sum_into
);

/// Rolling population variance (TA-Lib `VAR`; `nbdev` unused, as in TA-Lib).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 5, nbdev = 1.0))]
fn var<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    nbdev: f64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        ind::stats::variance_into(x, timeperiod, nbdev, o)
    })
}

/// Donchian channel `(upper, middle, lower)`: highest high, their mean, lowest low.
#[pyfunction]
#[pyo3(signature = (high, low, timeperiod = 20))]
fn donchian<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr3<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run3(py, h.len(), |o| {
        ind::channels::donchian_into(h, l, timeperiod, o)
    })
}

/// Keltner channel `(upper, middle, lower)`: `EMA(close) ± multiplier · ATR`.
#[pyfunction]
#[pyo3(signature = (high, low, close, timeperiod = 20, atrperiod = 10, multiplier = 2.0))]
fn keltner<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    timeperiod: i64,
    atrperiod: i64,
    multiplier: f64,
) -> PyResult<Arr3<'py>> {
    let (h, l, c) = (
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    );
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run3(py, h.len(), |o| {
        ind::channels::keltner_into(h, l, c, timeperiod, atrperiod, multiplier, o)
    })
}

macro_rules! stream_period {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $inner:ty, $default:tt) => {
        stream_class!($(#[$doc])* $ty, $name, $inner, {
            #[new]
            #[pyo3(signature = (timeperiod = $default))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(<$inner>::new(timeperiod)?))
            }
            /// Push one value; the output (NaN during the lookback).
            fn update(&mut self, x: f64) -> PyResult<f64> {
                Ok(self.0.update(x)?)
            }
        });
    };
}

stream_period!(
    /// Streaming DEMA; `update(x)` equals `dema` bit for bit.
    PyDema, "DEMA", ind::ma::Dema, 30
);
stream_period!(
    /// Streaming TEMA; `update(x)` equals `tema` bit for bit.
    PyTema, "TEMA", ind::ma::Tema, 30
);
stream_period!(
    /// Streaming TRIMA; `update(x)` equals `trima` bit for bit.
    PyTrima, "TRIMA", ind::ma::Trima, 30
);
stream_period!(
    /// Streaming KAMA; `update(x)` equals `kama` bit for bit.
    PyKama, "KAMA", ind::ma::Kama, 30
);

stream_class!(
    /// Streaming T3; `update(x)` equals `t3` bit for bit.
    PyT3, "T3", ind::ma::T3, {
    #[new]
    #[pyo3(signature = (timeperiod = 5, vfactor = 0.7))]
    fn new(timeperiod: i64, vfactor: f64) -> PyResult<Self> {
        Ok(Self(ind::ma::T3::new(timeperiod, vfactor)?))
    }
    /// Push one value; the T3 (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming moving average of type `matype`; `update(x)` equals `ma` bit for bit.
    PyMa, "MA", ind::ma::Ma, {
    #[new]
    #[pyo3(signature = (timeperiod = 30, matype = 0))]
    fn new(timeperiod: i64, matype: i64) -> PyResult<Self> {
        Ok(Self(ind::ma::Ma::new(timeperiod, matype)?))
    }
    /// Push one value; the average (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming parabolic SAR; `update(high, low)` equals `sar` bit for bit.
    PySar, "SAR", ind::sar::Sar, {
    #[new]
    #[pyo3(signature = (acceleration = 0.02, maximum = 0.2))]
    fn new(acceleration: f64, maximum: f64) -> PyResult<Self> {
        Ok(Self(ind::sar::Sar::new(acceleration, maximum)?))
    }
    /// Push one bar; the SAR (NaN for the first bar).
    fn update(&mut self, high: f64, low: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low)?)
    }
    }
);

stream_class!(
    /// Streaming MAX; `update(x)` equals `max` bit for bit.
    PyMax, "MAX", ind::extremes::Rolling, {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::extremes::Rolling::new(ind::extremes::Kind::Max, timeperiod)?))
    }
    /// Push one value; the highest of the last `timeperiod` (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming MIN; `update(x)` equals `min` bit for bit.
    PyMin, "MIN", ind::extremes::Rolling, {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::extremes::Rolling::new(ind::extremes::Kind::Min, timeperiod)?))
    }
    /// Push one value; the lowest of the last `timeperiod` (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming MIDPOINT; `update(x)` equals `midpoint` bit for bit.
    PyMidPoint, "MIDPOINT", ind::extremes::Rolling, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::extremes::Rolling::new(ind::extremes::Kind::MidPoint, timeperiod)?))
    }
    /// Push one value; the midpoint (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming MIDPRICE; `update(high, low)` equals `midprice` bit for bit.
    PyMidPrice, "MIDPRICE", ind::extremes::MidPrice, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::extremes::MidPrice::new(timeperiod)?))
    }
    /// Push one bar; the midprice (NaN during the lookback).
    fn update(&mut self, high: f64, low: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low)?)
    }
    }
);

stream_class!(
    /// Streaming TRANGE; `update(high, low, close)` equals `trange` bit for bit.
    PyTRange, "TRANGE", ind::volatility::TRange, {
    #[new]
    fn new() -> Self {
        Self(ind::volatility::TRange::new())
    }
    /// Push one bar; its true range (NaN for the first bar).
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming NATR; `update(high, low, close)` equals `natr` bit for bit.
    PyNatr, "NATR", ind::volatility::Natr, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::volatility::Natr::new(timeperiod)?))
    }
    /// Push one bar; the NATR (NaN during the lookback).
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming AD; `update(high, low, close, volume)` equals `ad` bit for bit.
    PyAd, "AD", ind::volume::Ad, {
    #[new]
    fn new() -> Self {
        Self(ind::volume::Ad::new())
    }
    /// Push one bar; the A/D line.
    fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close, volume)?)
    }
    }
);

stream_class!(
    /// Streaming ADOSC; `update(high, low, close, volume)` equals `adosc` bit for bit.
    PyAdOsc, "ADOSC", ind::volume::AdOsc, {
    #[new]
    #[pyo3(signature = (fastperiod = 3, slowperiod = 10))]
    fn new(fastperiod: i64, slowperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::volume::AdOsc::new(fastperiod, slowperiod)?))
    }
    /// Push one bar; the oscillator (NaN during the lookback).
    fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close, volume)?)
    }
    }
);

stream_class!(
    /// Streaming MEDPRICE; `update(high, low)` equals `medprice` bit for bit.
    PyMedPrice, "MEDPRICE", ind::price::PriceTransform, {
    #[new]
    fn new() -> Self {
        Self(ind::price::PriceTransform::new(ind::price::PriceKind::Med))
    }
    /// Push one bar; its median price.
    fn update(&mut self, high: f64, low: f64) -> PyResult<f64> {
        Ok(self.0.update(&[("high", high), ("low", low)])?)
    }
    }
);

stream_class!(
    /// Streaming TYPPRICE; `update(high, low, close)` equals `typprice` bit for bit.
    PyTypPrice, "TYPPRICE", ind::price::PriceTransform, {
    #[new]
    fn new() -> Self {
        Self(ind::price::PriceTransform::new(ind::price::PriceKind::Typ))
    }
    /// Push one bar; its typical price.
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(&[("high", high), ("low", low), ("close", close)])?)
    }
    }
);

stream_class!(
    /// Streaming WCLPRICE; `update(high, low, close)` equals `wclprice` bit for bit.
    PyWclPrice, "WCLPRICE", ind::price::PriceTransform, {
    #[new]
    fn new() -> Self {
        Self(ind::price::PriceTransform::new(ind::price::PriceKind::Wcl))
    }
    /// Push one bar; its weighted close price.
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(&[("high", high), ("low", low), ("close", close)])?)
    }
    }
);

stream_class!(
    /// Streaming AVGPRICE; `update(open, high, low, close)` equals `avgprice` bit for bit.
    PyAvgPrice, "AVGPRICE", ind::price::PriceTransform, {
    #[new]
    fn new() -> Self {
        Self(ind::price::PriceTransform::new(ind::price::PriceKind::Avg))
    }
    /// Push one bar; its average price.
    fn update(&mut self, open: f64, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(&[("open", open), ("high", high), ("low", low), ("close", close)])?)
    }
    }
);

macro_rules! stream_linreg {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kind:ident) => {
        stream_class!($(#[$doc])* $ty, $name, ind::linreg::LinReg, {
            #[new]
            #[pyo3(signature = (timeperiod = 14))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(ind::linreg::LinReg::new(timeperiod, ind::linreg::LinRegKind::$kind)?))
            }
            /// Push one value; the output (NaN during the lookback).
            fn update(&mut self, x: f64) -> PyResult<f64> {
                Ok(self.0.update(x)?)
            }
        });
    };
}

stream_linreg!(
    /// Streaming LINEARREG; `update(x)` equals `linearreg` bit for bit (O(timeperiod) a value).
    PyLinReg, "LINEARREG", Value
);
stream_linreg!(
    /// Streaming LINEARREG_SLOPE; `update(x)` equals `linearreg_slope` bit for bit.
    PyLinRegSlope, "LINEARREG_SLOPE", Slope
);
stream_linreg!(
    /// Streaming LINEARREG_INTERCEPT; `update(x)` equals `linearreg_intercept` bit for bit.
    PyLinRegIntercept, "LINEARREG_INTERCEPT", Intercept
);
stream_linreg!(
    /// Streaming LINEARREG_ANGLE; `update(x)` equals `linearreg_angle` bit for bit.
    PyLinRegAngle, "LINEARREG_ANGLE", Angle
);
stream_linreg!(
    /// Streaming TSF; `update(x)` equals `tsf` bit for bit.
    PyTsf, "TSF", Tsf
);
stream_period!(
    /// Streaming SUM; `update(x)` equals `sum` bit for bit.
    PySum, "SUM", ind::stats::Sum, 30
);

stream_class!(
    /// Streaming VAR; `update(x)` equals `var` bit for bit.
    PyVar, "VAR", ind::stats::Var, {
    #[new]
    #[pyo3(signature = (timeperiod = 5, nbdev = 1.0))]
    fn new(timeperiod: i64, nbdev: f64) -> PyResult<Self> {
        Ok(Self(ind::stats::Var::new(timeperiod, nbdev)?))
    }
    /// Push one value; the variance (NaN during the lookback).
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming Donchian channel; `update(high, low) -> (upper, middle, lower)` equals
    /// `donchian` bit for bit.
    PyDonchian, "DONCHIAN", ind::channels::Donchian, (f64, f64, f64), {
    #[new]
    #[pyo3(signature = (timeperiod = 20))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(ind::channels::Donchian::new(timeperiod)?))
    }
    /// Push one bar; `(upper, middle, lower)` (NaNs during the lookback).
    fn update(&mut self, high: f64, low: f64) -> PyResult<(f64, f64, f64)> {
        Ok(self.0.update(high, low)?)
    }
    }
);

stream_class!(
    /// Streaming Keltner channel; `update(high, low, close) -> (upper, middle, lower)` equals
    /// `keltner` bit for bit.
    PyKeltner, "KELTNER", ind::channels::Keltner, (f64, f64, f64), {
    #[new]
    #[pyo3(signature = (timeperiod = 20, atrperiod = 10, multiplier = 2.0))]
    fn new(timeperiod: i64, atrperiod: i64, multiplier: f64) -> PyResult<Self> {
        Ok(Self(ind::channels::Keltner::new(timeperiod, atrperiod, multiplier)?))
    }
    /// Push one bar; `(upper, middle, lower)` (NaNs during the lookback).
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<(f64, f64, f64)> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sar, m)?)?;
    m.add_function(wrap_pyfunction!(dema, m)?)?;
    m.add_function(wrap_pyfunction!(tema, m)?)?;
    m.add_function(wrap_pyfunction!(trima, m)?)?;
    m.add_function(wrap_pyfunction!(kama, m)?)?;
    m.add_function(wrap_pyfunction!(t3, m)?)?;
    m.add_function(wrap_pyfunction!(ma, m)?)?;
    m.add_class::<PySar>()?;
    m.add_class::<PyDema>()?;
    m.add_class::<PyTema>()?;
    m.add_class::<PyTrima>()?;
    m.add_class::<PyKama>()?;
    m.add_class::<PyT3>()?;
    m.add_class::<PyMa>()?;
    m.add_function(wrap_pyfunction!(max, m)?)?;
    m.add_function(wrap_pyfunction!(min, m)?)?;
    m.add_function(wrap_pyfunction!(midpoint, m)?)?;
    m.add_function(wrap_pyfunction!(midprice, m)?)?;
    m.add_function(wrap_pyfunction!(trange, m)?)?;
    m.add_function(wrap_pyfunction!(natr, m)?)?;
    m.add_function(wrap_pyfunction!(ad, m)?)?;
    m.add_function(wrap_pyfunction!(adosc, m)?)?;
    m.add_function(wrap_pyfunction!(medprice, m)?)?;
    m.add_function(wrap_pyfunction!(typprice, m)?)?;
    m.add_function(wrap_pyfunction!(wclprice, m)?)?;
    m.add_function(wrap_pyfunction!(avgprice, m)?)?;
    m.add_class::<PyMax>()?;
    m.add_class::<PyMin>()?;
    m.add_class::<PyMidPoint>()?;
    m.add_class::<PyMidPrice>()?;
    m.add_class::<PyTRange>()?;
    m.add_class::<PyNatr>()?;
    m.add_class::<PyAd>()?;
    m.add_class::<PyAdOsc>()?;
    m.add_class::<PyMedPrice>()?;
    m.add_class::<PyTypPrice>()?;
    m.add_class::<PyWclPrice>()?;
    m.add_class::<PyAvgPrice>()?;
    m.add_function(wrap_pyfunction!(linearreg, m)?)?;
    m.add_function(wrap_pyfunction!(linearreg_slope, m)?)?;
    m.add_function(wrap_pyfunction!(linearreg_intercept, m)?)?;
    m.add_function(wrap_pyfunction!(linearreg_angle, m)?)?;
    m.add_function(wrap_pyfunction!(tsf, m)?)?;
    m.add_function(wrap_pyfunction!(sum, m)?)?;
    m.add_function(wrap_pyfunction!(var, m)?)?;
    m.add_function(wrap_pyfunction!(donchian, m)?)?;
    m.add_function(wrap_pyfunction!(keltner, m)?)?;
    m.add_class::<PyLinReg>()?;
    m.add_class::<PyLinRegSlope>()?;
    m.add_class::<PyLinRegIntercept>()?;
    m.add_class::<PyLinRegAngle>()?;
    m.add_class::<PyTsf>()?;
    m.add_class::<PySum>()?;
    m.add_class::<PyVar>()?;
    m.add_class::<PyDonchian>()?;
    m.add_class::<PyKeltner>()?;
    Ok(())
}
