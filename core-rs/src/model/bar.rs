//! Bars as the engine sees them: one instrument, raw fixed-point prices, float volume.

use super::fixed::round_i64;
use super::instrument::{Instrument, InstrumentId};
use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Whether `x` (a price times its instrument's scale) is a whole number of ticks, within float
/// noise (1e-12 relative): `86000.01 × 100` is `8600001.000000001`.
#[inline(always)]
pub fn on_grid(x: f64) -> bool {
    // NB: adding and removing 1.5·2^52 rounds to the nearest integer without a libm call (and
    // vectorises); beyond 2^51 every float is an integer already.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let r = (x + MAGIC) - MAGIC;
    let a = x.abs();
    // `|` not `||`: no branch, so the scans over a column vectorise
    (a >= 2_251_799_813_685_248.0) | ((x - r).abs() <= a * 1e-12 + 1e-9)
}

#[cold]
pub fn off_grid(name: &'static str, i: usize, v: f64, inst: &Instrument) -> CoreError {
    CoreError::InvalidArgument {
        name,
        reason: format!(
            "bar {i}: price {v} of {} has more decimals than its price precision {} (give a larger price precision)",
            inst.symbol, inst.price_dp
        ),
    }
}

impl<'a> BarColumns<'a> {
    /// Bars `a..b` (a batch of the batch: runs given the batches of a series one after another
    /// give the run of the whole series).
    pub fn slice(&self, a: usize, b: usize) -> BarColumns<'a> {
        BarColumns {
            ts: &self.ts[a..b],
            open: &self.open[a..b],
            high: &self.high[a..b],
            low: &self.low[a..b],
            close: &self.close[a..b],
            volume: &self.volume[a..b],
            instrument: self.instrument.map(|i| &i[a..b]),
        }
    }

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

    /// Check up front what every bar needs: a known instrument and a close that is positive,
    /// finite and within the fixed-point range (every bar is marked at its close; the engine then
    /// checks that every close sits on its instrument's price grid, a SIMD scan). Open, high and
    /// low are checked only where a bar is stepped through (see [`BarColumns::bar_checked`]):
    /// bars skipped on the vectorized path never read them.
    pub fn validate(&self, instruments: &[Instrument]) -> CoreResult<()> {
        let max_scale = instruments
            .iter()
            .map(|x| x.price_scale)
            .fold(0.0, f64::max);
        let limit = 9.0e18 / max_scale;
        {
            let (name, col) = ("close", self.close);
            // NB: branch-free over blocks of 16 so the compiler vectorises it (~1 instruction a
            // value); the slow path below names the row. `!(v > 0.0)` on purpose: NaN is bad.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            let bad = |c: &[f64]| {
                c.iter().fold(0u8, |acc, &v| {
                    acc | (!(v > 0.0) as u8) | (!(v < limit) as u8)
                })
            };
            let mut chunks = col.chunks_exact(16);
            let any_bad = chunks.by_ref().any(|c| bad(c) != 0) || bad(chunks.remainder()) != 0;
            if any_bad {
                let i = col
                    .iter()
                    .position(|&v| !(v > 0.0 && v < limit))
                    .unwrap_or(0);
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!(
                        "bar {i}: price {} is not a positive finite number in range",
                        col[i]
                    ),
                });
            }
        }
        if let Some(ids) = self.instrument {
            if let Some(i) = ids.iter().position(|&id| id as usize >= instruments.len()) {
                return Err(CoreError::InvalidArgument {
                    name: "instrument",
                    reason: format!(
                        "bar {i} names instrument {}, but only {} are known",
                        ids[i],
                        instruments.len()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Bar `i` in raw units of `inst` (its instrument), for columns that passed
    /// [`BarColumns::validate`]: the close is known good; open, high and low are checked here.
    #[inline(always)]
    pub fn bar_checked(&self, i: usize, id: InstrumentId, inst: &Instrument) -> CoreResult<Bar> {
        let s = inst.price_scale;
        let limit = 9.0e18 / s;
        let (o, h, l) = (self.open[i], self.high[i], self.low[i]);
        let ok = |v: f64| v > 0.0 && v < limit;
        if !(ok(o) & ok(h) & ok(l)) {
            let (name, v) = if !ok(o) {
                ("open", o)
            } else if !ok(h) {
                ("high", h)
            } else {
                ("low", l)
            };
            return Err(CoreError::InvalidArgument {
                name,
                reason: format!("bar {i}: price {v} is not a positive finite number in range"),
            });
        }
        for (name, v) in [("open", o), ("high", h), ("low", l)] {
            if !on_grid(v * s) {
                return Err(off_grid(name, i, v, inst));
            }
        }
        Ok(Bar {
            instrument: id,
            ts: self.ts[i],
            open: round_i64(o * s),
            high: round_i64(h * s),
            low: round_i64(l * s),
            close: round_i64(self.close[i] * s),
            volume: self.volume[i],
        })
    }
}
