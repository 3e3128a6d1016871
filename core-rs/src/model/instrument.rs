//! Instruments: what is traded and at which precision.

use super::fixed::{MAX_DP, pow10};
use crate::error::{CoreError, CoreResult};

/// The way a value between two grid points rounds (prices: the order's conservative side, see
/// the order model; quantities: down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    Down,
    Up,
}

/// `x` (raw units, a float) as a multiple of `step`: `(raw, on_grid)`; see
/// [`Instrument::price_on_grid`].
fn on_grid(x: f64, step: i64, toward: Toward) -> Option<(i64, bool)> {
    if !(x.abs() < 9.0e18) {
        return None; // NaN fails the comparison too
    }
    let n = crate::model::fixed::round_i64(x);
    if (x - n as f64).abs() <= x.abs() * 1e-12 + 1e-9 && n % step == 0 {
        return Some((n, true));
    }
    let q = x / step as f64;
    let k = match toward {
        Toward::Down => q.floor(),
        Toward::Up => q.ceil(),
    };
    // a value within noise of a multiple of the step is that multiple
    let near = crate::model::fixed::round_i64(q);
    let k = if (q - near as f64).abs() <= q.abs() * 1e-12 + 1e-9 {
        near
    } else {
        k as i64
    };
    Some((k.checked_mul(step)?, false))
}

/// Index of an instrument inside one engine (its position in the engine's instrument list).
pub type InstrumentId = u32;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instrument {
    pub symbol: String,
    /// Decimal places of prices.
    pub price_dp: u8,
    /// Decimal places of quantities.
    pub size_dp: u8,
    /// Price increment in raw units (>= 1).
    pub tick: i64,
    /// Quantity step in raw units (>= 1).
    pub lot: i64,
    /// Smallest order quantity in raw units (>= lot).
    pub min_qty: i64,
    /// `10^price_dp` and `10^size_dp` as floats (raw = round(value * scale)).
    pub price_scale: f64,
    pub size_scale: f64,
}

impl Instrument {
    /// An instrument with tick = 10^-price_dp and lot = min_qty = 10^-size_dp.
    pub fn new(symbol: impl Into<String>, price_dp: u8, size_dp: u8) -> CoreResult<Self> {
        Self::new_checked(symbol, price_dp, size_dp, 1, 1, 1)
    }

    pub fn new_checked(
        symbol: impl Into<String>,
        price_dp: u8,
        size_dp: u8,
        tick: i64,
        lot: i64,
        min_qty: i64,
    ) -> CoreResult<Self> {
        let symbol = symbol.into();
        if symbol.is_empty() {
            return Err(CoreError::InvalidArgument {
                name: "symbol",
                reason: "must not be empty".into(),
            });
        }
        for (name, dp) in [("price_precision", price_dp), ("size_precision", size_dp)] {
            if dp > MAX_DP {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!("must be at most {MAX_DP}, got {dp}"),
                });
            }
        }
        for (name, v) in [("tick", tick), ("lot", lot), ("min_qty", min_qty)] {
            if v < 1 {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!("must be >= 1 raw unit, got {v}"),
                });
            }
        }
        Ok(Self {
            symbol,
            price_dp,
            size_dp,
            tick,
            lot,
            min_qty,
            price_scale: pow10(price_dp as u32) as f64,
            size_scale: pow10(size_dp as u32) as f64,
        })
    }

    /// `value` (a float in currency units) on this instrument's tick grid: `(raw, on_grid)`. A value
    /// within float noise of a tick (1e-12 relative) is that tick; one between two ticks rounds
    /// `toward` the order's conservative side and `on_grid` is false. None: not finite, or out of
    /// the fixed-point range.
    pub fn price_on_grid(&self, value: f64, toward: Toward) -> Option<(i64, bool)> {
        on_grid(value * self.price_scale, self.tick, toward)
    }

    /// `value` (a float in units) on this instrument's lot grid, rounded down: `(raw, on_grid)`.
    pub fn qty_on_grid(&self, value: f64) -> Option<(i64, bool)> {
        let toward = if value < 0.0 {
            Toward::Up
        } else {
            Toward::Down
        };
        on_grid(value * self.size_scale, self.lot, toward)
    }

    /// Money units per (raw price x raw qty): notional = px * qty * this.
    #[inline]
    pub fn notional_scale(&self) -> i128 {
        pow10(super::fixed::MONEY_DP - self.price_dp as u32 - self.size_dp as u32)
    }

    /// Exact notional of `qty` at `px`, in money units.
    #[inline]
    pub fn notional(&self, px: i64, qty: i64) -> i128 {
        px as i128 * qty as i128 * self.notional_scale()
    }
}
