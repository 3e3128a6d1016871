//! Python order requests (`trader.orders.OrderRequest`) → the Rust [`OrderSpec`].
//!
//! The Python class validates shapes (which fields an order type needs, positive numbers); this
//! side converts floats to the instrument's raw units and names the field when one cannot be.

use pyo3::prelude::*;

use crate::error::CoreError;
use crate::model::fixed::to_raw;
use crate::model::{
    Bps, Command, Instrument, ListKind, OrderKind, OrderSpec, Side, TimeInForce, TrailingOffset,
};

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

fn raw(value: f64, dp: u8, name: &'static str) -> Result<i64, CoreError> {
    to_raw(value, dp).ok_or_else(|| CoreError::InvalidArgument {
        name,
        reason: format!("must be a finite number, got {value}"),
    })
}

fn price(inst: &Instrument, value: Option<f64>, name: &'static str) -> Result<i64, CoreError> {
    let v = value.ok_or_else(|| CoreError::InvalidArgument {
        name,
        reason: "this order type needs one".into(),
    })?;
    raw(v, inst.price_dp, name)
}

fn offset(
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
        "price" => Ok(TrailingOffset::Price(raw(v, inst.price_dp, name)?)),
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
    let qty = raw(attr(req, "qty")?, inst.size_dp, "qty")?;
    let ty: String = attr(req, "type")?;
    let p: Option<f64> = attr(req, "price")?;
    let t: Option<f64> = attr(req, "trigger")?;
    let off_kind: String = attr(req, "offset_type")?;
    let activation = attr::<Option<f64>>(req, "activation")?
        .map(|a| raw(a, inst.price_dp, "activation"))
        .transpose()?;
    let kind = match ty.as_str() {
        "market" => OrderKind::Market,
        "limit" => OrderKind::Limit {
            px: price(inst, p, "price")?,
        },
        "stop_market" => OrderKind::StopMarket {
            trigger: price(inst, t, "trigger")?,
        },
        "stop_limit" => OrderKind::StopLimit {
            trigger: price(inst, t, "trigger")?,
            px: price(inst, p, "price")?,
        },
        "market_if_touched" => OrderKind::MarketIfTouched {
            trigger: price(inst, t, "trigger")?,
        },
        "limit_if_touched" => OrderKind::LimitIfTouched {
            trigger: price(inst, t, "trigger")?,
            px: price(inst, p, "price")?,
        },
        "trailing_stop_market" => OrderKind::TrailingStopMarket {
            offset: offset(inst, attr(req, "offset")?, &off_kind, "offset")?,
            activation,
        },
        "trailing_stop_limit" => OrderKind::TrailingStopLimit {
            offset: offset(inst, attr(req, "offset")?, &off_kind, "offset")?,
            limit_offset: offset(inst, attr(req, "limit_offset")?, &off_kind, "limit_offset")?,
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
        .map(|d| raw(d, inst.size_dp, "display_qty"))
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
    inst: &Instrument,
    qty: f64,
    price: Option<f64>,
) -> Result<(i64, OrderKind), CoreError> {
    let qty = raw(qty, inst.size_dp, "qty")?;
    let kind = match price {
        None => OrderKind::Market,
        Some(p) => OrderKind::Limit {
            px: raw(p, inst.price_dp, "price")?,
        },
    };
    Ok((qty, kind))
}

/// A modify command for order `id` of `inst` (only the given fields change).
pub(crate) fn modify_command(
    inst: &Instrument,
    id: u64,
    qty: Option<f64>,
    price: Option<f64>,
    trigger: Option<f64>,
) -> Result<Command, CoreError> {
    Ok(Command::Modify {
        id,
        qty: qty.map(|q| raw(q, inst.size_dp, "qty")).transpose()?,
        px: price.map(|p| raw(p, inst.price_dp, "price")).transpose()?,
        trigger: trigger
            .map(|t| raw(t, inst.price_dp, "trigger"))
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
    let qty = raw(qty, inst.size_dp, "qty")?;
    let entry_kind = match entry_price {
        None => OrderKind::Market,
        Some(p) => OrderKind::Limit {
            px: raw(p, inst.price_dp, "entry_price")?,
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
                px: raw(tp, inst.price_dp, "take_profit")?,
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
            let trigger = raw(sl, inst.price_dp, "stop_loss")?;
            Some(match stop_limit {
                None => OrderKind::StopMarket { trigger },
                Some(l) => OrderKind::StopLimit {
                    trigger,
                    px: raw(l, inst.price_dp, "stop_limit")?,
                },
            })
        }
        (None, Some(off)) => Some(OrderKind::TrailingStopMarket {
            offset: offset(inst, Some(off), offset_type, "trailing_offset")?,
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
