//! Bindings of `ring` and `pool`: `EventRing` (a ring of `MarketEvent`s holding both ends, the
//! in-process bridge) and `ObjectPool` (a pool of event slots exposing the pool statistics).

use std::sync::{Mutex, MutexGuard};

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::CoreError;
use crate::model::{AggressorSide, EventKind, MarketEvent};
use crate::pool::{Handle, Pool, PoolStats};
use crate::ring::{
    Consumer, OverwriteConsumer, OverwriteProducer, OverwriteRing, Producer, RingBuffer,
};

enum Ends {
    Normal(Producer<MarketEvent>, Consumer<MarketEvent>),
    Overwrite(
        OverwriteProducer<MarketEvent>,
        OverwriteConsumer<MarketEvent>,
    ),
}

struct Inner {
    ends: Ends,
    /// Reused by `pop_batch`, so a batch costs no allocation besides the output columns.
    scratch: Vec<MarketEvent>,
}

impl Inner {
    fn push(&mut self, e: MarketEvent) -> bool {
        match &mut self.ends {
            Ends::Normal(tx, _) => tx.push(e).is_ok(),
            Ends::Overwrite(tx, _) => {
                // The evicted event is counted in `dropped`; nothing else to do with it.
                let _evicted = tx.push(e);
                true
            }
        }
    }

    fn pop(&mut self) -> Option<MarketEvent> {
        match &mut self.ends {
            Ends::Normal(_, rx) => rx.pop().ok(),
            Ends::Overwrite(_, rx) => rx.pop(),
        }
    }

    fn pop_batch(&mut self, max: usize) {
        self.scratch.clear();
        match &mut self.ends {
            Ends::Normal(_, rx) => rx.pop_batch(&mut self.scratch, max),
            Ends::Overwrite(_, rx) => rx.pop_batch(&mut self.scratch, max),
        };
    }
}

/// A bounded SPSC ring of fixed-layout market events (see `_core.pyi` for the user docs).
#[pyclass(module = "trader._core", name = "EventRing")]
pub(crate) struct EventRing {
    // NB: a pyclass must be `Sync`; the ring's ends are deliberately not, so they sit behind an
    // uncontended mutex (one object holds both ends; the live engine uses the ends directly).
    inner: Mutex<Inner>,
    capacity: usize,
    overwrite: bool,
}

impl EventRing {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the ring inconsistent (every ring operation
        // is complete or not started), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn check_ts(name: &'static str, ts: i64) -> Result<u64, CoreError> {
    u64::try_from(ts).map_err(|_| CoreError::InvalidArgument {
        name,
        reason: format!("must be >= 0 (ns since the epoch), got {ts}"),
    })
}

fn check_id(id: i64) -> Result<u32, CoreError> {
    u32::try_from(id).map_err(|_| CoreError::InvalidArgument {
        name: "instrument_id",
        reason: format!("must be in 0..={}, got {id}", u32::MAX),
    })
}

fn check_finite(name: &'static str, v: f64) -> Result<f64, CoreError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(CoreError::InvalidArgument {
            name,
            reason: format!("must be finite, got {v}"),
        })
    }
}

fn check_side(side: i64) -> Result<AggressorSide, CoreError> {
    u8::try_from(side)
        .ok()
        .and_then(AggressorSide::from_code)
        .ok_or_else(|| CoreError::InvalidArgument {
            name: "side",
            reason: format!("must be 0 (no aggressor), 1 (buyer) or 2 (seller), got {side}"),
        })
}

fn event_dict<'py>(py: Python<'py>, e: &MarketEvent) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", e.kind.name())?;
    d.set_item("instrument_id", e.instrument_id)?;
    d.set_item("ts_event", e.ts_event)?;
    d.set_item("ts_init", e.ts_init)?;
    match e.kind {
        EventKind::Quote => {
            d.set_item("bid", e.bid)?;
            d.set_item("ask", e.ask)?;
            d.set_item("bid_size", e.bid_size)?;
            d.set_item("ask_size", e.ask_size)?;
        }
        EventKind::Trade | EventKind::Bar | EventKind::BookDelta => {
            d.set_item("price", e.price)?;
            d.set_item("size", e.size)?;
            d.set_item("side", e.side)?;
        }
    }
    Ok(d)
}

#[pymethods]
impl EventRing {
    #[new]
    #[pyo3(signature = (capacity, overwrite = false))]
    fn new(capacity: i64, overwrite: bool) -> PyResult<Self> {
        let cap = usize::try_from(capacity).map_err(|_| CoreError::Capacity {
            name: "capacity",
            reason: format!("must be at least 1, got {capacity}"),
        })?;
        let ends = if overwrite {
            let (tx, rx) = OverwriteRing::new(cap)?;
            Ends::Overwrite(tx, rx)
        } else {
            let (tx, rx) = RingBuffer::new(cap)?;
            Ends::Normal(tx, rx)
        };
        let capacity = match &ends {
            Ends::Normal(tx, _) => tx.capacity(),
            Ends::Overwrite(tx, _) => tx.capacity(),
        };
        Ok(Self {
            inner: Mutex::new(Inner {
                ends,
                scratch: Vec::new(),
            }),
            capacity,
            overwrite,
        })
    }

    #[pyo3(signature = (ts, instrument_id, price, size, side = 0, ts_init = None))]
    fn push_trade(
        &self,
        ts: i64,
        instrument_id: i64,
        price: f64,
        size: f64,
        side: i64,
        ts_init: Option<i64>,
    ) -> PyResult<bool> {
        let ts_event = check_ts("ts", ts)?;
        let mut e = MarketEvent::trade(
            ts_event,
            check_id(instrument_id)?,
            check_finite("price", price)?,
            check_finite("size", size)?,
            check_side(side)?,
        );
        if let Some(t) = ts_init {
            e.ts_init = check_ts("ts_init", t)?;
        }
        Ok(self.lock().push(e))
    }

    #[pyo3(signature = (ts, instrument_id, bid, ask, bid_size, ask_size, ts_init = None))]
    #[allow(clippy::too_many_arguments, reason = "mirrors the Python signature")]
    fn push_quote(
        &self,
        ts: i64,
        instrument_id: i64,
        bid: f64,
        ask: f64,
        bid_size: f64,
        ask_size: f64,
        ts_init: Option<i64>,
    ) -> PyResult<bool> {
        let mut e = MarketEvent::quote(
            check_ts("ts", ts)?,
            check_id(instrument_id)?,
            check_finite("bid", bid)?,
            check_finite("ask", ask)?,
            check_finite("bid_size", bid_size)?,
            check_finite("ask_size", ask_size)?,
        );
        if let Some(t) = ts_init {
            e.ts_init = check_ts("ts_init", t)?;
        }
        Ok(self.lock().push(e))
    }

    fn pop<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let e = self.lock().pop();
        e.map(|e| event_dict(py, &e)).transpose()
    }

    #[pyo3(signature = (max = None))]
    fn pop_batch<'py>(&self, py: Python<'py>, max: Option<i64>) -> PyResult<Bound<'py, PyDict>> {
        let max = match max {
            None => self.capacity,
            Some(m) => usize::try_from(m).map_err(|_| CoreError::InvalidArgument {
                name: "max",
                reason: format!("must be >= 0, got {m}"),
            })?,
        };
        struct Columns {
            kind: Vec<u8>,
            side: Vec<u8>,
            flags: Vec<u16>,
            instrument_id: Vec<u32>,
            ts_event: Vec<u64>,
            ts_init: Vec<u64>,
            f: [Vec<f64>; 6],
        }
        let cols = py.detach(|| {
            let mut inner = self.lock();
            inner.pop_batch(max);
            let ev = &inner.scratch;
            Columns {
                kind: ev.iter().map(|e| e.kind as u8).collect(),
                side: ev.iter().map(|e| e.side).collect(),
                flags: ev.iter().map(|e| e.flags).collect(),
                instrument_id: ev.iter().map(|e| e.instrument_id).collect(),
                ts_event: ev.iter().map(|e| e.ts_event).collect(),
                ts_init: ev.iter().map(|e| e.ts_init).collect(),
                f: [
                    ev.iter().map(|e| e.price).collect(),
                    ev.iter().map(|e| e.size).collect(),
                    ev.iter().map(|e| e.bid).collect(),
                    ev.iter().map(|e| e.ask).collect(),
                    ev.iter().map(|e| e.bid_size).collect(),
                    ev.iter().map(|e| e.ask_size).collect(),
                ],
            }
        });
        let d = PyDict::new(py);
        d.set_item("kind", cols.kind.into_pyarray(py))?;
        d.set_item("side", cols.side.into_pyarray(py))?;
        d.set_item("flags", cols.flags.into_pyarray(py))?;
        d.set_item("instrument_id", cols.instrument_id.into_pyarray(py))?;
        d.set_item("ts_event", cols.ts_event.into_pyarray(py))?;
        d.set_item("ts_init", cols.ts_init.into_pyarray(py))?;
        for (name, col) in ["price", "size", "bid", "ask", "bid_size", "ask_size"]
            .into_iter()
            .zip(cols.f)
        {
            d.set_item(name, col.into_pyarray(py))?;
        }
        Ok(d)
    }

    fn __len__(&self) -> usize {
        match &self.lock().ends {
            Ends::Normal(_, rx) => rx.len(),
            Ends::Overwrite(_, rx) => rx.len(),
        }
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.capacity
    }

    #[getter]
    fn overwrite(&self) -> bool {
        self.overwrite
    }

    #[getter]
    fn dropped(&self) -> u64 {
        match &self.lock().ends {
            Ends::Normal(..) => 0,
            Ends::Overwrite(_, rx) => rx.dropped(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "EventRing(capacity={}, overwrite={}, len={}, dropped={})",
            self.capacity,
            if self.overwrite { "True" } else { "False" },
            self.__len__(),
            self.dropped()
        )
    }
}

/// A pool of pre-allocated event slots; exposes the pool statistics.
#[pyclass(module = "trader._core", name = "ObjectPool")]
pub(crate) struct ObjectPool {
    pool: Mutex<Pool<MarketEvent>>,
}

impl ObjectPool {
    fn lock(&self) -> MutexGuard<'_, Pool<MarketEvent>> {
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn stats_dict<'py>(py: Python<'py>, s: &PoolStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("capacity", s.capacity)?;
    d.set_item("in_use", s.in_use)?;
    d.set_item("available", s.available)?;
    d.set_item("high_water", s.high_water)?;
    d.set_item("acquires", s.acquires)?;
    d.set_item("releases", s.releases)?;
    d.set_item("failed_acquires", s.failed_acquires)?;
    d.set_item("grows", s.grows)?;
    Ok(d)
}

#[pymethods]
impl ObjectPool {
    #[new]
    #[pyo3(signature = (capacity, max_capacity = None))]
    fn new(capacity: i64, max_capacity: Option<i64>) -> PyResult<Self> {
        let to_usize = |name: &'static str, v: i64| {
            usize::try_from(v).map_err(|_| CoreError::Capacity {
                name,
                reason: format!("must be at least 1, got {v}"),
            })
        };
        let cap = to_usize("capacity", capacity)?;
        let max = max_capacity
            .map(|m| to_usize("max_capacity", m))
            .transpose()?
            .unwrap_or(cap);
        Ok(Self {
            pool: Mutex::new(Pool::with_growth(cap, max, MarketEvent::default)?),
        })
    }

    fn acquire(&self) -> Option<u128> {
        self.lock().acquire().map(Handle::to_bits)
    }

    fn release(&self, handle: u128) -> PyResult<()> {
        Ok(self.lock().release(Handle::from_bits(handle))?)
    }

    fn __contains__(&self, handle: u128) -> bool {
        self.lock().contains(Handle::from_bits(handle))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock().stats();
        stats_dict(py, &s)
    }

    fn __len__(&self) -> usize {
        self.lock().in_use()
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.lock().capacity()
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EventRing>()?;
    m.add_class::<ObjectPool>()?;
    Ok(())
}
