//! Python order requests (`trader.orders.OrderRequest`) → the Rust [`OrderSpec`].
//!
//! The Python class validates shapes (which fields an order type needs, positive numbers); this
//! side puts floats on the instrument's grid ([`Grid`]) and names the field when one cannot be.
//!
//! **Off the grid** (a strategy's `close × 1.02`, an equity fraction): a price between two ticks
//! rounds toward the order's conservative side, never beyond what was asked — a buy limit down, a
//! sell limit up; a stop so that it triggers no earlier (buy up, sell down); a market-if-touched
//! likewise (buy down, sell up); a trailing offset up (wider); a trailing activation so that it
//! activates no earlier — or is refused when the run says so (`off_tick = "reject"`). A quantity
//! between two lots rounds down, or is refused (`off_lot = "reject"`); the run counts what it
//! rounded and reports it (never silent).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;

use crate::error::CoreError;
use crate::model::{
    Bps, Command, Instrument, ListKind, OrderKind, OrderSpec, Side, TimeInForce, Toward,
    TrailingOffset,
};

/// How a context puts a strategy's prices and quantities on the grid, and what it rounded.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    /// Refuse (an error naming the value) instead of rounding.
    pub reject_price: bool,
    pub reject_qty: bool,
    pub prices_rounded: AtomicU64,
    pub qtys_rounded: AtomicU64,
    /// The first of each: (asked, became).
    pub first_price: Mutex<Option<(f64, f64)>>,
    pub first_qty: Mutex<Option<(f64, f64)>>,
}

impl Grid {
    /// `(prices_rounded, qtys_rounded, first_price, first_qty)`.
    pub fn report(&self) -> (u64, u64, Option<(f64, f64)>, Option<(f64, f64)>) {
        (
            self.prices_rounded.load(Ordering::Relaxed),
            self.qtys_rounded.load(Ordering::Relaxed),
            self.first_price.lock().ok().and_then(|g| *g),
            self.first_qty.lock().ok().and_then(|g| *g),
        )
    }

    pub fn new(off_tick: &str, off_lot: &str) -> Result<Self, CoreError> {
        let reject = |name: &'static str, v: &str| match v {
            "round" => Ok(false),
            "reject" => Ok(true),
            other => Err(CoreError::InvalidArgument {
                name,
                reason: format!("must be round or reject, got {other:?}"),
            }),
        };
        Ok(Self {
            reject_price: reject("off_tick", off_tick)?,
            reject_qty: reject("off_lot", off_lot)?,
            ..Self::default()
        })
    }

    /// A price on `inst`'s tick grid, rounded `toward` when between two ticks.
    pub fn price(
        &self,
        inst: &Instrument,
        value: f64,
        toward: Toward,
        name: &'static str,
    ) -> Result<i64, CoreError> {
        let (raw, exact) =
            inst.price_on_grid(value, toward)
                .ok_or_else(|| CoreError::InvalidArgument {
                    name,
                    reason: format!("must be a finite number, got {value}"),
                })?;
        if !exact {
            let tick = crate::model::fixed::from_raw(inst.tick, inst.price_dp);
            if self.reject_price {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!(
                        "{value} is not a multiple of {}'s tick {tick} (off_tick=\"reject\"; \"round\" rounds it toward the order's conservative side)",
                        inst.symbol
                    ),
                });
            }
            if self.prices_rounded.fetch_add(1, Ordering::Relaxed) == 0
                && let Ok(mut first) = self.first_price.lock()
            {
                *first = Some((value, crate::model::fixed::from_raw(raw, inst.price_dp)));
            }
        }
        Ok(raw)
    }

    /// A quantity on `inst`'s lot grid, rounded down when between two lots.
    pub fn qty(&self, inst: &Instrument, value: f64, name: &'static str) -> Result<i64, CoreError> {
        let (raw, exact) = inst
            .qty_on_grid(value)
            .ok_or_else(|| CoreError::InvalidArgument {
                name,
                reason: format!("must be a finite number, got {value}"),
            })?;
        if !exact {
            let lot = crate::model::fixed::from_raw(inst.lot, inst.size_dp);
            if self.reject_qty {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!(
                        "{value} is not a multiple of {}'s lot {lot} (off_lot=\"reject\"; \"round\" rounds it down)",
                        inst.symbol
                    ),
                });
            }
            if self.qtys_rounded.fetch_add(1, Ordering::Relaxed) == 0
                && let Ok(mut first) = self.first_qty.lock()
            {
                *first = Some((value, crate::model::fixed::from_raw(raw, inst.size_dp)));
            }
        }
        Ok(raw)
    }
}

/// A limit price never worse than asked: a buy's down, a sell's up.
fn limit_toward(side: Side) -> Toward {
    match side {
        Side::Buy => Toward::Down,
        Side::Sell => Toward::Up,
    }
}

/// A stop's trigger no earlier than asked: a buy stop (price rising to it) up, a sell's down.
fn stop_toward(side: Side) -> Toward {
    match side {
        Side::Buy => Toward::Up,
        Side::Sell => Toward::Down,
    }
}

/// An if-touched trigger (and a trailing activation) no earlier than asked: a buy's (price falling
/// to it) down, a sell's up.
fn touched_toward(side: Side) -> Toward {
    limit_toward(side)
}

fn attr<'py, T>(req: &Bound<'py, PyAny>, name: &'static str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    let value = req.getattr(name)?;
    let out = value.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        PyErr::from(CoreError::InvalidArgument {
            name,
            reason: e.to_string(),
        })
    });
    out
}

fn price(
    grid: &Grid,
    inst: &Instrument,
    value: Option<f64>,
    toward: Toward,
    name: &'static str,
) -> Result<i64, CoreError> {
    let v = value.ok_or_else(|| CoreError::InvalidArgument {
        name,
        reason: "this order type needs one".into(),
    })?;
    grid.price(inst, v, toward, name)
}

fn offset(
    grid: &Grid,
    inst: &Instrument,
    value: Option<f64>,
    kind: &str,
    name: &'static str,
) -> Result<TrailingOffset, CoreError> {
    let v = value.ok_or_else(|| CoreError::InvalidArgument {
        name,
        reason: "a trailing stop needs one".into(),
    })?;
    match kind {
        // wider, never tighter than asked: the stop triggers no earlier
        "price" => Ok(TrailingOffset::Price(grid.price(
            inst,
            v,
            Toward::Up,
            name,
        )?)),
        "bps" => {
            Bps::from_f64(v)
                .map(TrailingOffset::Bps)
                .ok_or_else(|| CoreError::InvalidArgument {
                    name,
                    reason: format!("{v} is not a valid number of basis points"),
                })
        }
        "ticks" if v.fract() == 0.0 && v >= 1.0 && v < 1e15 => Ok(TrailingOffset::Ticks(v as i64)),
        "ticks" => Err(CoreError::InvalidArgument {
            name,
            reason: format!("a whole number of ticks (>= 1) is needed, got {v}"),
        }),
        other => Err(CoreError::InvalidArgument {
            name: "offset_type",
            reason: format!("must be price, bps or ticks, got {other:?}"),
        }),
    }
}

/// Convert one `OrderRequest` for `inst` (index `instrument`) into a spec with id `id`.
pub(crate) fn spec_from_request(
    grid: &Grid,
    inst: &Instrument,
    instrument: u32,
    req: &Bound<'_, PyAny>,
    id: u64,
) -> PyResult<OrderSpec> {
    let side = match attr::<i64>(req, "side")? {
        1 => Side::Buy,
        -1 => Side::Sell,
        other => {
            return Err(CoreError::InvalidArgument {
                name: "side",
                reason: format!("must be +1 (buy) or -1 (sell), got {other}"),
            }
            .into());
        }
    };
    let qty = grid.qty(inst, attr(req, "qty")?, "qty")?;
    let ty: String = attr(req, "type")?;
    let p: Option<f64> = attr(req, "price")?;
    let t: Option<f64> = attr(req, "trigger")?;
    let off_kind: String = attr(req, "offset_type")?;
    let activation = attr::<Option<f64>>(req, "activation")?
        .map(|a| grid.price(inst, a, touched_toward(side), "activation"))
        .transpose()?;
    let (lim, stop, touch) = (limit_toward(side), stop_toward(side), touched_toward(side));
    let kind = match ty.as_str() {
        "market" => OrderKind::Market,
        "limit" => OrderKind::Limit {
            px: price(grid, inst, p, lim, "price")?,
        },
        "stop_market" => OrderKind::StopMarket {
            trigger: price(grid, inst, t, stop, "trigger")?,
        },
        "stop_limit" => OrderKind::StopLimit {
            trigger: price(grid, inst, t, stop, "trigger")?,
            px: price(grid, inst, p, lim, "price")?,
        },
        "market_if_touched" => OrderKind::MarketIfTouched {
            trigger: price(grid, inst, t, touch, "trigger")?,
        },
        "limit_if_touched" => OrderKind::LimitIfTouched {
            trigger: price(grid, inst, t, touch, "trigger")?,
            px: price(grid, inst, p, lim, "price")?,
        },
        "trailing_stop_market" => OrderKind::TrailingStopMarket {
            offset: offset(grid, inst, attr(req, "offset")?, &off_kind, "offset")?,
            activation,
        },
        "trailing_stop_limit" => OrderKind::TrailingStopLimit {
            offset: offset(grid, inst, attr(req, "offset")?, &off_kind, "offset")?,
            limit_offset: offset(
                grid,
                inst,
                attr(req, "limit_offset")?,
                &off_kind,
                "limit_offset",
            )?,
            activation,
        },
        other => {
            return Err(CoreError::InvalidArgument {
                name: "type",
                reason: format!("unknown order type {other:?}"),
            }
            .into());
        }
    };
    let tif_name: String = attr(req, "time_in_force")?;
    let tif = match tif_name.as_str() {
        "GTC" => TimeInForce::Gtc,
        "IOC" => TimeInForce::Ioc,
        "FOK" => TimeInForce::Fok,
        "DAY" => TimeInForce::Day,
        "GTD" => {
            let expire_ts = attr::<Option<i64>>(req, "expire_time")?.ok_or_else(|| {
                CoreError::InvalidArgument {
                    name: "expire_time",
                    reason: "a GTD order needs one (UTC epoch ns)".into(),
                }
            })?;
            TimeInForce::Gtd { expire_ts }
        }
        other => {
            return Err(CoreError::InvalidArgument {
                name: "time_in_force",
                reason: format!("must be GTC, IOC, FOK, GTD or DAY, got {other:?}"),
            }
            .into());
        }
    };
    let display_qty = attr::<Option<f64>>(req, "display_qty")?
        .map(|d| grid.qty(inst, d, "display_qty"))
        .transpose()?;
    Ok(OrderSpec {
        id,
        instrument,
        side,
        kind,
        qty,
        tif,
        post_only: attr(req, "post_only")?,
        reduce_only: attr(req, "reduce_only")?,
        display_qty,
    })
}

/// `+1` → buy, `-1` → sell.
pub(crate) fn side_from_sign(side: i32) -> Result<Side, CoreError> {
    match side {
        1 => Ok(Side::Buy),
        -1 => Ok(Side::Sell),
        other => Err(CoreError::InvalidArgument {
            name: "side",
            reason: format!("must be +1 (buy) or -1 (sell), got {other}"),
        }),
    }
}

/// A market order, or a limit order at `price`: (raw qty, kind) for `inst`.
pub(crate) fn market_or_limit(
    grid: &Grid,
    inst: &Instrument,
    side: Side,
    qty: f64,
    price: Option<f64>,
) -> Result<(i64, OrderKind), CoreError> {
    let qty = grid.qty(inst, qty, "qty")?;
    let kind = match price {
        None => OrderKind::Market,
        Some(p) => OrderKind::Limit {
            px: grid.price(inst, p, limit_toward(side), "price")?,
        },
    };
    Ok((qty, kind))
}

/// A modify command for order `id` of `inst` (only the given fields change), its prices rounded
/// by the order's side and kind when known (`order`: the order's side and kind; None for an id the
/// venue does not know, which it refuses anyway).
pub(crate) fn modify_command(
    grid: &Grid,
    inst: &Instrument,
    id: u64,
    order: Option<(Side, &OrderKind)>,
    qty: Option<f64>,
    price: Option<f64>,
    trigger: Option<f64>,
) -> Result<Command, CoreError> {
    let (side, kind) = order.unwrap_or((Side::Buy, &OrderKind::Market));
    let trigger_toward = match kind {
        OrderKind::MarketIfTouched { .. } | OrderKind::LimitIfTouched { .. } => {
            touched_toward(side)
        }
        _ => stop_toward(side),
    };
    Ok(Command::Modify {
        id,
        qty: qty.map(|q| grid.qty(inst, q, "qty")).transpose()?,
        px: price
            .map(|p| grid.price(inst, p, limit_toward(side), "price"))
            .transpose()?,
        trigger: trigger
            .map(|t| grid.price(inst, t, trigger_toward, "trigger"))
            .transpose()?,
    })
}

/// The legs of an entry with protective exits, built from plain numbers (the fast path of
/// `Strategy.bracket`): `[entry, take-profit?, stop?]` with ids from `next_id`. The exits are
/// reduce-only; the stop is a stop-market at `stop_loss` (a stop-limit with `stop_limit`) or a
/// trailing stop `trailing_offset` away (`offset_type`: price, bps or ticks).
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors Strategy.bracket's keywords"
)]
pub(crate) fn bracket_specs(
    grid: &Grid,
    inst: &Instrument,
    instrument: u32,
    side: Side,
    qty: f64,
    entry_price: Option<f64>,
    take_profit: Option<f64>,
    stop_loss: Option<f64>,
    stop_limit: Option<f64>,
    trailing_offset: Option<f64>,
    offset_type: &str,
    tif: TimeInForce,
    mut next_id: impl FnMut() -> u64,
) -> Result<(ListKind, Vec<OrderSpec>), CoreError> {
    let qty = grid.qty(inst, qty, "qty")?;
    let exit_side = side.opposite();
    let entry_kind = match entry_price {
        None => OrderKind::Market,
        Some(p) => OrderKind::Limit {
            px: grid.price(inst, p, limit_toward(side), "entry_price")?,
        },
    };
    let mut entry = OrderSpec::new(next_id(), instrument, side, entry_kind, qty);
    entry.tif = tif;
    let mut legs = vec![entry];
    let exit = |id, kind| OrderSpec {
        reduce_only: true,
        ..OrderSpec::new(id, instrument, side.opposite(), kind, qty)
    };
    if let Some(tp) = take_profit {
        legs.push(exit(
            next_id(),
            OrderKind::Limit {
                px: grid.price(inst, tp, limit_toward(exit_side), "take_profit")?,
            },
        ));
    }
    let stop = match (stop_loss, trailing_offset) {
        (Some(_), Some(_)) => {
            return Err(CoreError::InvalidArgument {
                name: "stop_loss",
                reason: "give stop_loss or trailing_offset, not both".into(),
            });
        }
        (Some(sl), None) => {
            let trigger = grid.price(inst, sl, stop_toward(exit_side), "stop_loss")?;
            Some(match stop_limit {
                None => OrderKind::StopMarket { trigger },
                Some(l) => OrderKind::StopLimit {
                    trigger,
                    px: grid.price(inst, l, limit_toward(exit_side), "stop_limit")?,
                },
            })
        }
        (None, Some(off)) => Some(OrderKind::TrailingStopMarket {
            offset: offset(grid, inst, Some(off), offset_type, "trailing_offset")?,
            activation: None,
        }),
        (None, None) => None,
    };
    if let Some(kind) = stop {
        legs.push(exit(next_id(), kind));
    }
    let kind = match legs.len() {
        3 => ListKind::Bracket,
        2 => ListKind::Oto,
        _ => {
            return Err(CoreError::InvalidArgument {
                name: "take_profit",
                reason: "give at least one exit (take_profit, stop_loss or trailing_offset)".into(),
            });
        }
    };
    Ok((kind, legs))
}

pub(crate) fn tif_from_name(name: &str, expire: Option<i64>) -> Result<TimeInForce, CoreError> {
    Ok(match (name, expire) {
        ("GTC", None) => TimeInForce::Gtc,
        ("IOC", None) => TimeInForce::Ioc,
        ("FOK", None) => TimeInForce::Fok,
        ("DAY", None) => TimeInForce::Day,
        ("GTD", Some(expire_ts)) => TimeInForce::Gtd { expire_ts },
        ("GTD", None) => {
            return Err(CoreError::InvalidArgument {
                name: "expire_time",
                reason: "a GTD order needs one (UTC epoch ns)".into(),
            });
        }
        (other, _) => {
            return Err(CoreError::InvalidArgument {
                name: "time_in_force",
                reason: format!(
                    "must be GTC, IOC, FOK, GTD or DAY (expire_time only with GTD), got {other:?}"
                ),
            });
        }
    })
}

pub(crate) fn list_kind(name: &str) -> Result<ListKind, CoreError> {
    match name.to_ascii_lowercase().as_str() {
        "oco" => Ok(ListKind::Oco),
        "oto" => Ok(ListKind::Oto),
        "bracket" => Ok(ListKind::Bracket),
        other => Err(CoreError::InvalidArgument {
            name: "kind",
            reason: format!("must be oco, oto or bracket, got {other:?}"),
        }),
    }
}
