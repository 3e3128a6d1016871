//! Bars as the engine sees them: one instrument, raw fixed-point prices, float volume.

use super::fixed::to_raw;
use super::instrument::{Instrument, InstrumentId};
use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub instrument: InstrumentId,
    /// UTC epoch nanoseconds of the bar's open time.
    pub ts: i64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume: f64,
}

/// A columnar batch of bars (one or several instruments, already merged by timestamp).
#[derive(Debug, Clone, Copy)]
pub struct BarColumns<'a> {
    pub ts: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    /// Instrument of each bar; `None` means every bar is instrument 0.
    pub instrument: Option<&'a [u32]>,
}

impl<'a> BarColumns<'a> {
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Check that every column has the batch's length.
    pub fn check(&self) -> CoreResult<()> {
        let n = self.ts.len();
        for (name, len) in [
            ("open", self.open.len()),
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("volume", self.volume.len()),
        ] {
            crate::error::check_len(name, n, len)?;
        }
        if let Some(inst) = self.instrument {
            crate::error::check_len("instrument", n, inst.len())?;
        }
        Ok(())
    }

    #[inline]
    pub fn instrument_at(&self, i: usize) -> InstrumentId {
        self.instrument.map_or(0, |ids| ids[i])
    }

    /// Bar `i` in raw units of its instrument.
    #[inline]
    pub fn bar(&self, i: usize, instruments: &[Instrument]) -> CoreResult<Bar> {
        let id = self.instrument_at(i);
        let inst = instruments.get(id as usize).ok_or_else(|| CoreError::InvalidArgument {
            name: "instrument",
            reason: format!("bar {i} names instrument {id}, but only {} are known", instruments.len()),
        })?;
        let dp = inst.price_dp;
        let raw = |name: &'static str, v: f64| {
            to_raw(v, dp).filter(|r| *r > 0).ok_or_else(|| CoreError::InvalidArgument {
                name,
                reason: format!("bar {i}: price {v} is not a positive finite number"),
            })
        };
        Ok(Bar {
            instrument: id,
            ts: self.ts[i],
            open: raw("open", self.open[i])?,
            high: raw("high", self.high[i])?,
            low: raw("low", self.low[i])?,
            close: raw("close", self.close[i])?,
            volume: self.volume[i],
        })
    }
}
