//! Bindings of the momentum indicators (`indicators/stoch.rs`, `dm.rs`, `osc.rs`, `aroon.rs`, `roc.rs`, `momentum.rs`): batch
//! functions (numpy in without copying, numpy out, GIL released around the kernel) and the
//! streaming classes (thin wrappers, `update` does nothing but the Rust step).

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::f64_array;
use super::indicators::{Arr, Arr2, run1, run2};
use crate::indicators::aroon::{Aroon, AroonOsc};
use crate::indicators::dm::{Dir, DmKind, DmStream};
use crate::indicators::momentum::{Bop, Cmo, Po, Trix, Ultosc};
use crate::indicators::osc::{Mfi, OscKind, OscStream};
use crate::indicators::roc::{RocKind, RocStream};
use crate::indicators::stoch as st;

/// The three price arrays of a `(high, low, close)` function, as named in TA-Lib.
fn hlc<'py>(
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<[PyReadonlyArray1<'py, f64>; 3]> {
    Ok([
        f64_array(high, "high")?,
        f64_array(low, "low")?,
        f64_array(close, "close")?,
    ])
}

/// Slow stochastic (TA-Lib `STOCH`): `(slowk, slowd)`. MA types as `ma()`: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 8 T3.
#[pyfunction]
#[pyo3(signature = (high, low, close, fastk_period = 5, slowk_period = 3, slowk_matype = 0, slowd_period = 3, slowd_matype = 0))]
#[allow(clippy::too_many_arguments)] // TA-Lib's parameter list
fn stoch<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    fastk_period: i64,
    slowk_period: i64,
    slowk_matype: i64,
    slowd_period: i64,
    slowd_matype: i64,
) -> PyResult<Arr2<'py>> {
    let [h, l, c] = hlc(high, low, close)?;
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run2(py, h.len(), |o| {
        st::stoch_into(
            h,
            l,
            c,
            fastk_period,
            slowk_period,
            slowk_matype,
            slowd_period,
            slowd_matype,
            o,
        )
    })
}

/// Fast stochastic (TA-Lib `STOCHF`): `(fastk, fastd)`. MA types as `ma()`: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 8 T3.
#[pyfunction]
#[pyo3(signature = (high, low, close, fastk_period = 5, fastd_period = 3, fastd_matype = 0))]
fn stochf<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    fastk_period: i64,
    fastd_period: i64,
    fastd_matype: i64,
) -> PyResult<Arr2<'py>> {
    let [h, l, c] = hlc(high, low, close)?;
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run2(py, h.len(), |o| {
        st::stochf_into(h, l, c, fastk_period, fastd_period, fastd_matype, o)
    })
}

/// Stochastic RSI (TA-Lib `STOCHRSI`): `(fastk, fastd)`.
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 14, fastk_period = 5, fastd_period = 3, fastd_matype = 0))]
fn stochrsi<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    timeperiod: i64,
    fastk_period: i64,
    fastd_period: i64,
    fastd_matype: i64,
) -> PyResult<Arr2<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run2(py, x.len(), |o| {
        st::stochrsi_into(x, timeperiod, fastk_period, fastd_period, fastd_matype, o)
    })
}

// `$default:tt`, not `expr`: PyO3 writes a default into `__text_signature__` only when it sees a
// literal token.
macro_rules! batch_hlc {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (high, low, close, timeperiod = 14))]
        fn $name<'py>(
            py: Python<'py>,
            high: &Bound<'py, PyAny>,
            low: &Bound<'py, PyAny>,
            close: &Bound<'py, PyAny>,
            timeperiod: i64,
        ) -> PyResult<Arr<'py>> {
            let [h, l, c] = hlc(high, low, close)?;
            let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
            run1(py, h.len(), |o| crate::indicators::dm::dm_into($kind, h, l, Some(c), timeperiod, o))
        }
    };
}

macro_rules! batch_hl {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (high, low, timeperiod = 14))]
        fn $name<'py>(
            py: Python<'py>,
            high: &Bound<'py, PyAny>,
            low: &Bound<'py, PyAny>,
            timeperiod: i64,
        ) -> PyResult<Arr<'py>> {
            let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
            let (h, l) = (h.as_slice()?, l.as_slice()?);
            run1(py, h.len(), |o| crate::indicators::dm::dm_into($kind, h, l, None, timeperiod, o))
        }
    };
}

batch_hl!(
    /// Wilder-smoothed plus directional movement (TA-Lib `PLUS_DM`).
    plus_dm, DmKind::Dm(Dir::Plus)
);
batch_hl!(
    /// Wilder-smoothed minus directional movement (TA-Lib `MINUS_DM`).
    minus_dm, DmKind::Dm(Dir::Minus)
);
batch_hlc!(
    /// Plus directional indicator (TA-Lib `PLUS_DI`).
    plus_di, DmKind::Di(Dir::Plus)
);
batch_hlc!(
    /// Minus directional indicator (TA-Lib `MINUS_DI`).
    minus_di, DmKind::Di(Dir::Minus)
);
batch_hlc!(
    /// Directional movement index (TA-Lib `DX`).
    dx, DmKind::Dx
);
batch_hlc!(
    /// Average directional movement index (TA-Lib `ADX`).
    adx, DmKind::Adx
);
batch_hlc!(
    /// Average directional movement index rating (TA-Lib `ADXR`).
    adxr, DmKind::Adxr
);

macro_rules! batch_osc {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (high, low, close, timeperiod = 14))]
        fn $name<'py>(
            py: Python<'py>,
            high: &Bound<'py, PyAny>,
            low: &Bound<'py, PyAny>,
            close: &Bound<'py, PyAny>,
            timeperiod: i64,
        ) -> PyResult<Arr<'py>> {
            let [h, l, c] = hlc(high, low, close)?;
            let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
            run1(py, h.len(), |o| crate::indicators::osc::osc_into($kind, h, l, c, timeperiod, o))
        }
    };
}

batch_osc!(
    /// Williams' %R (TA-Lib `WILLR`).
    willr, OscKind::Willr
);
batch_osc!(
    /// Commodity channel index (TA-Lib `CCI`).
    cci, OscKind::Cci
);

/// Money flow index (TA-Lib `MFI`).
#[pyfunction]
#[pyo3(signature = (high, low, close, volume, timeperiod = 14))]
fn mfi<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr<'py>> {
    let [h, l, c] = hlc(high, low, close)?;
    let v = f64_array(volume, "volume")?;
    let (h, l, c, v) = (h.as_slice()?, l.as_slice()?, c.as_slice()?, v.as_slice()?);
    run1(py, h.len(), |o| {
        crate::indicators::osc::mfi_into(h, l, c, v, timeperiod, o)
    })
}

/// Aroon (TA-Lib `AROON`): `(aroondown, aroonup)`.
#[pyfunction]
#[pyo3(signature = (high, low, timeperiod = 14))]
fn aroon<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr2<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run2(py, h.len(), |o| {
        crate::indicators::aroon::aroon_into(h, l, timeperiod, o)
    })
}

/// Aroon oscillator (TA-Lib `AROONOSC`).
#[pyfunction]
#[pyo3(signature = (high, low, timeperiod = 14))]
fn aroonosc<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    timeperiod: i64,
) -> PyResult<Arr<'py>> {
    let (h, l) = (f64_array(high, "high")?, f64_array(low, "low")?);
    let (h, l) = (h.as_slice()?, l.as_slice()?);
    run1(py, h.len(), |o| {
        crate::indicators::aroon::aroonosc_into(h, l, timeperiod, o)
    })
}

macro_rules! batch_roc {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (real, timeperiod = 10))]
        fn $name<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
            let x = f64_array(real, "real")?;
            let x = x.as_slice()?;
            run1(py, x.len(), |o| crate::indicators::roc::roc_into($kind, x, timeperiod, o))
        }
    };
}

batch_roc!(
    /// Momentum `real - real[i - timeperiod]` (TA-Lib `MOM`).
    mom, RocKind::Mom
);
batch_roc!(
    /// Rate of change in percent (TA-Lib `ROC`).
    roc, RocKind::Roc
);
batch_roc!(
    /// Rate of change as a fraction (TA-Lib `ROCP`).
    rocp, RocKind::Rocp
);
batch_roc!(
    /// Rate of change ratio (TA-Lib `ROCR`).
    rocr, RocKind::Rocr
);
batch_roc!(
    /// Rate of change ratio times 100 (TA-Lib `ROCR100`).
    rocr100, RocKind::Rocr100
);

/// Chande momentum oscillator (TA-Lib `CMO`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 14))]
fn cmo<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        crate::indicators::momentum::cmo_into(x, timeperiod, o)
    })
}

/// One-bar rate of change of a triple EMA (TA-Lib `TRIX`).
#[pyfunction]
#[pyo3(signature = (real, timeperiod = 30))]
fn trix<'py>(py: Python<'py>, real: &Bound<'py, PyAny>, timeperiod: i64) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        crate::indicators::momentum::trix_into(x, timeperiod, o)
    })
}

/// Balance of power (TA-Lib `BOP`).
#[pyfunction]
#[pyo3(signature = (open, high, low, close))]
fn bop<'py>(
    py: Python<'py>,
    open: &Bound<'py, PyAny>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
) -> PyResult<Arr<'py>> {
    let op = f64_array(open, "open")?;
    let [h, l, c] = hlc(high, low, close)?;
    let (op, h, l, c) = (op.as_slice()?, h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, op.len(), |o| {
        crate::indicators::momentum::bop_into(op, h, l, c, o)
    })
}

/// Absolute price oscillator `fast MA - slow MA` (TA-Lib `APO`; `matype` default 1, EMA, as in TA-Lib 0.8).
#[pyfunction]
#[pyo3(signature = (real, fastperiod = 12, slowperiod = 26, matype = 1))]
fn apo<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    fastperiod: i64,
    slowperiod: i64,
    matype: i64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        crate::indicators::momentum::po_into(x, fastperiod, slowperiod, matype, false, o)
    })
}

/// Percentage price oscillator (TA-Lib `PPO`; `matype` default 1, EMA, as in TA-Lib 0.8).
#[pyfunction]
#[pyo3(signature = (real, fastperiod = 12, slowperiod = 26, matype = 1))]
fn ppo<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    fastperiod: i64,
    slowperiod: i64,
    matype: i64,
) -> PyResult<Arr<'py>> {
    let x = f64_array(real, "real")?;
    let x = x.as_slice()?;
    run1(py, x.len(), |o| {
        crate::indicators::momentum::po_into(x, fastperiod, slowperiod, matype, true, o)
    })
}

/// Ultimate oscillator (TA-Lib `ULTOSC`).
#[pyfunction]
#[pyo3(signature = (high, low, close, timeperiod1 = 7, timeperiod2 = 14, timeperiod3 = 28))]
#[allow(clippy::too_many_arguments)] // TA-Lib's parameter list
fn ultosc<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    timeperiod1: i64,
    timeperiod2: i64,
    timeperiod3: i64,
) -> PyResult<Arr<'py>> {
    let [h, l, c] = hlc(high, low, close)?;
    let (h, l, c) = (h.as_slice()?, l.as_slice()?, c.as_slice()?);
    run1(py, h.len(), |o| {
        crate::indicators::momentum::ultosc_into(
            h,
            l,
            c,
            [timeperiod1, timeperiod2, timeperiod3],
            o,
        )
    })
}

stream_class!(
    /// Streaming STOCH; `update(high, low, close) -> (slowk, slowd)` equals `stoch` bit for bit.
    PyStoch, "STOCH", st::Stoch, (f64, f64), {
    #[new]
    #[pyo3(signature = (fastk_period = 5, slowk_period = 3, slowk_matype = 0, slowd_period = 3, slowd_matype = 0))]
    fn new(fastk_period: i64, slowk_period: i64, slowk_matype: i64, slowd_period: i64, slowd_matype: i64) -> PyResult<Self> {
        Ok(Self(st::Stoch::new(fastk_period, slowk_period, slowk_matype, slowd_period, slowd_matype)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<(f64, f64)> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming STOCHF; `update(high, low, close) -> (fastk, fastd)` equals `stochf` bit for bit.
    PyStochF, "STOCHF", st::StochF, (f64, f64), {
    #[new]
    #[pyo3(signature = (fastk_period = 5, fastd_period = 3, fastd_matype = 0))]
    fn new(fastk_period: i64, fastd_period: i64, fastd_matype: i64) -> PyResult<Self> {
        Ok(Self(st::StochF::new(fastk_period, fastd_period, fastd_matype)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<(f64, f64)> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming STOCHRSI; `update(x) -> (fastk, fastd)` equals `stochrsi` bit for bit.
    PyStochRsi, "STOCHRSI", st::StochRsi, (f64, f64), {
    #[new]
    #[pyo3(signature = (timeperiod = 14, fastk_period = 5, fastd_period = 3, fastd_matype = 0))]
    fn new(timeperiod: i64, fastk_period: i64, fastd_period: i64, fastd_matype: i64) -> PyResult<Self> {
        Ok(Self(st::StochRsi::new(timeperiod, fastk_period, fastd_period, fastd_matype)?))
    }
    fn update(&mut self, x: f64) -> PyResult<(f64, f64)> {
        Ok(self.0.update(x)?)
    }
    }
);

macro_rules! stream_hlc {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kind:expr) => {
        stream_class!(
            $(#[$doc])*
            $ty, $name, DmStream, f64, {
            #[new]
            #[pyo3(signature = (timeperiod = 14))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(DmStream::new($kind, timeperiod)?))
            }
            fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
                Ok(self.0.update(high, low, close)?)
            }
            }
        );
    };
}

macro_rules! stream_hl {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kind:expr) => {
        stream_class!(
            $(#[$doc])*
            $ty, $name, DmStream, f64, {
            #[new]
            #[pyo3(signature = (timeperiod = 14))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(DmStream::new($kind, timeperiod)?))
            }
            fn update(&mut self, high: f64, low: f64) -> PyResult<f64> {
                Ok(self.0.update_hl(high, low)?)
            }
            }
        );
    };
}

stream_hl!(
    /// Streaming PLUS_DM; `update(high, low)` equals `plus_dm` bit for bit.
    PyPlusDm, "PLUS_DM", DmKind::Dm(Dir::Plus)
);
stream_hl!(
    /// Streaming MINUS_DM; `update(high, low)` equals `minus_dm` bit for bit.
    PyMinusDm, "MINUS_DM", DmKind::Dm(Dir::Minus)
);
stream_hlc!(
    /// Streaming PLUS_DI; `update(high, low, close)` equals `plus_di` bit for bit.
    PyPlusDi, "PLUS_DI", DmKind::Di(Dir::Plus)
);
stream_hlc!(
    /// Streaming MINUS_DI; `update(high, low, close)` equals `minus_di` bit for bit.
    PyMinusDi, "MINUS_DI", DmKind::Di(Dir::Minus)
);
stream_hlc!(
    /// Streaming DX; `update(high, low, close)` equals `dx` bit for bit.
    PyDx, "DX", DmKind::Dx
);
stream_hlc!(
    /// Streaming ADX; `update(high, low, close)` equals `adx` bit for bit.
    PyAdx, "ADX", DmKind::Adx
);
stream_hlc!(
    /// Streaming ADXR; `update(high, low, close)` equals `adxr` bit for bit.
    PyAdxr, "ADXR", DmKind::Adxr
);

macro_rules! stream_osc {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kind:expr) => {
        stream_class!(
            $(#[$doc])*
            $ty, $name, OscStream, f64, {
            #[new]
            #[pyo3(signature = (timeperiod = 14))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(OscStream::new($kind, timeperiod)?))
            }
            fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
                Ok(self.0.update(high, low, close)?)
            }
            }
        );
    };
}

stream_osc!(
    /// Streaming WILLR; `update(high, low, close)` equals `willr` bit for bit.
    PyWillr, "WILLR", OscKind::Willr
);
stream_osc!(
    /// Streaming CCI; `update(high, low, close)` equals `cci` bit for bit.
    PyCci, "CCI", OscKind::Cci
);

stream_class!(
    /// Streaming MFI; `update(high, low, close, volume)` equals `mfi` bit for bit.
    PyMfi, "MFI", Mfi, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(Mfi::new(timeperiod)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64, volume: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close, volume)?)
    }
    }
);

stream_class!(
    /// Streaming AROON; `update(high, low) -> (aroondown, aroonup)` equals `aroon` bit for bit.
    PyAroon, "AROON", Aroon, (f64, f64), {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(Aroon::new(timeperiod)?))
    }
    fn update(&mut self, high: f64, low: f64) -> PyResult<(f64, f64)> {
        Ok(self.0.update(high, low)?)
    }
    }
);

stream_class!(
    /// Streaming AROONOSC; `update(high, low)` equals `aroonosc` bit for bit.
    PyAroonOsc, "AROONOSC", AroonOsc, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(AroonOsc::new(timeperiod)?))
    }
    fn update(&mut self, high: f64, low: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low)?)
    }
    }
);

macro_rules! stream_roc {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $kind:expr) => {
        stream_class!(
            $(#[$doc])*
            $ty, $name, RocStream, f64, {
            #[new]
            #[pyo3(signature = (timeperiod = 10))]
            fn new(timeperiod: i64) -> PyResult<Self> {
                Ok(Self(RocStream::new($kind, timeperiod)?))
            }
            fn update(&mut self, x: f64) -> PyResult<f64> {
                Ok(self.0.update(x)?)
            }
            }
        );
    };
}

stream_roc!(
    /// Streaming MOM; `update(x)` equals `mom` bit for bit.
    PyMom, "MOM", RocKind::Mom
);
stream_roc!(
    /// Streaming ROC; `update(x)` equals `roc` bit for bit.
    PyRoc, "ROC", RocKind::Roc
);
stream_roc!(
    /// Streaming ROCP; `update(x)` equals `rocp` bit for bit.
    PyRocp, "ROCP", RocKind::Rocp
);
stream_roc!(
    /// Streaming ROCR; `update(x)` equals `rocr` bit for bit.
    PyRocr, "ROCR", RocKind::Rocr
);
stream_roc!(
    /// Streaming ROCR100; `update(x)` equals `rocr100` bit for bit.
    PyRocr100, "ROCR100", RocKind::Rocr100
);

stream_class!(
    /// Streaming CMO; `update(x)` equals `cmo` bit for bit.
    PyCmo, "CMO", Cmo, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 14))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(Cmo::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming TRIX; `update(x)` equals `trix` bit for bit.
    PyTrix, "TRIX", Trix, f64, {
    #[new]
    #[pyo3(signature = (timeperiod = 30))]
    fn new(timeperiod: i64) -> PyResult<Self> {
        Ok(Self(Trix::new(timeperiod)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming BOP; `update(open, high, low, close)` equals `bop` bit for bit.
    PyBop, "BOP", Bop, f64, {
    #[new]
    fn new() -> Self {
        Self(Bop::new())
    }
    fn update(&mut self, open: f64, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(open, high, low, close)?)
    }
    }
);

stream_class!(
    /// Streaming APO; `update(x)` equals `apo` bit for bit.
    PyApo, "APO", Po, f64, {
    #[new]
    #[pyo3(signature = (fastperiod = 12, slowperiod = 26, matype = 1))]
    fn new(fastperiod: i64, slowperiod: i64, matype: i64) -> PyResult<Self> {
        Ok(Self(Po::new(fastperiod, slowperiod, matype, false)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming PPO; `update(x)` equals `ppo` bit for bit.
    PyPpo, "PPO", Po, f64, {
    #[new]
    #[pyo3(signature = (fastperiod = 12, slowperiod = 26, matype = 1))]
    fn new(fastperiod: i64, slowperiod: i64, matype: i64) -> PyResult<Self> {
        Ok(Self(Po::new(fastperiod, slowperiod, matype, true)?))
    }
    fn update(&mut self, x: f64) -> PyResult<f64> {
        Ok(self.0.update(x)?)
    }
    }
);

stream_class!(
    /// Streaming ULTOSC; `update(high, low, close)` equals `ultosc` bit for bit.
    PyUltosc, "ULTOSC", Ultosc, f64, {
    #[new]
    #[pyo3(signature = (timeperiod1 = 7, timeperiod2 = 14, timeperiod3 = 28))]
    fn new(timeperiod1: i64, timeperiod2: i64, timeperiod3: i64) -> PyResult<Self> {
        Ok(Self(Ultosc::new(timeperiod1, timeperiod2, timeperiod3)?))
    }
    fn update(&mut self, high: f64, low: f64, close: f64) -> PyResult<f64> {
        Ok(self.0.update(high, low, close)?)
    }
    }
);

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stoch, m)?)?;
    m.add_function(wrap_pyfunction!(stochf, m)?)?;
    m.add_function(wrap_pyfunction!(stochrsi, m)?)?;
    m.add_function(wrap_pyfunction!(plus_dm, m)?)?;
    m.add_function(wrap_pyfunction!(minus_dm, m)?)?;
    m.add_function(wrap_pyfunction!(plus_di, m)?)?;
    m.add_function(wrap_pyfunction!(minus_di, m)?)?;
    m.add_function(wrap_pyfunction!(dx, m)?)?;
    m.add_function(wrap_pyfunction!(adx, m)?)?;
    m.add_function(wrap_pyfunction!(adxr, m)?)?;
    m.add_function(wrap_pyfunction!(willr, m)?)?;
    m.add_function(wrap_pyfunction!(cci, m)?)?;
    m.add_function(wrap_pyfunction!(mfi, m)?)?;
    m.add_function(wrap_pyfunction!(aroon, m)?)?;
    m.add_function(wrap_pyfunction!(aroonosc, m)?)?;
    m.add_function(wrap_pyfunction!(mom, m)?)?;
    m.add_function(wrap_pyfunction!(roc, m)?)?;
    m.add_function(wrap_pyfunction!(rocp, m)?)?;
    m.add_function(wrap_pyfunction!(rocr, m)?)?;
    m.add_function(wrap_pyfunction!(rocr100, m)?)?;
    m.add_function(wrap_pyfunction!(cmo, m)?)?;
    m.add_function(wrap_pyfunction!(trix, m)?)?;
    m.add_function(wrap_pyfunction!(bop, m)?)?;
    m.add_function(wrap_pyfunction!(apo, m)?)?;
    m.add_function(wrap_pyfunction!(ppo, m)?)?;
    m.add_function(wrap_pyfunction!(ultosc, m)?)?;
    m.add_class::<PyStoch>()?;
    m.add_class::<PyStochF>()?;
    m.add_class::<PyStochRsi>()?;
    m.add_class::<PyPlusDm>()?;
    m.add_class::<PyMinusDm>()?;
    m.add_class::<PyPlusDi>()?;
    m.add_class::<PyMinusDi>()?;
    m.add_class::<PyDx>()?;
    m.add_class::<PyAdx>()?;
    m.add_class::<PyAdxr>()?;
    m.add_class::<PyWillr>()?;
    m.add_class::<PyCci>()?;
    m.add_class::<PyMfi>()?;
    m.add_class::<PyAroon>()?;
    m.add_class::<PyAroonOsc>()?;
    m.add_class::<PyMom>()?;
    m.add_class::<PyRoc>()?;
    m.add_class::<PyRocp>()?;
    m.add_class::<PyRocr>()?;
    m.add_class::<PyRocr100>()?;
    m.add_class::<PyCmo>()?;
    m.add_class::<PyTrix>()?;
    m.add_class::<PyBop>()?;
    m.add_class::<PyApo>()?;
    m.add_class::<PyPpo>()?;
    m.add_class::<PyUltosc>()?;
    Ok(())
}
