//! Bindings of the bar fill model and latency: `configure_venue` sets them on a `Backtest`
//! before its run (the fee and slippage models are `configure_account`'s).

use pyo3::prelude::*;

use super::engine::PyBacktest;
use crate::error::CoreError;
use crate::venue::{IntrabarPath, Latency, LatencyConfig, SimVenue};

fn bad(name: &'static str, reason: String) -> PyErr {
    CoreError::InvalidArgument { name, reason }.into()
}

fn ms_to_ns(name: &'static str, ms: f64) -> PyResult<i64> {
    if !(ms.is_finite() && (0.0..1e9).contains(&ms)) {
        return Err(bad(
            name,
            format!("must be a finite number of milliseconds >= 0, got {ms}"),
        ));
    }
    Ok((ms * 1e6).round() as i64)
}

/// Set the bar fill model and the latency of `backtest` (before its run).
///
/// - `path`: the intrabar path, "proximity" (the extreme nearer the open first, the default),
///   "ohlc" (high first) or "olhc" (low first).
/// - `volume_cap`: at most this fraction (0, 1] of a bar's volume fills per bar over the orders
///   of its instrument (the rest keeps working); None: no cap.
/// - `latency`: "none", "constant" (`submit_ms`, `cancel_ms`, `modify_ms`) or "lognormal" (those
///   are medians, `sigma` the spread of the log delay, `seed` the generator's seed).
///   `cancel_ms` / `modify_ms` default to `submit_ms`.
#[pyfunction]
#[pyo3(signature = (backtest, *, path = "proximity", volume_cap = None, latency = "none", submit_ms = 0.0,
    cancel_ms = None, modify_ms = None, sigma = 0.5, seed = 0))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the Python keyword arguments"
)]
fn configure_venue(
    backtest: &Bound<'_, PyBacktest>,
    path: &str,
    volume_cap: Option<f64>,
    latency: &str,
    submit_ms: f64,
    cancel_ms: Option<f64>,
    modify_ms: Option<f64>,
    sigma: f64,
    seed: u64,
) -> PyResult<()> {
    let mut bt = backtest.borrow_mut();
    let bt = bt.inner_mut();
    if !bt.fills.is_empty() || bt.bars() > 0 || bt.venue.orders.all().next().is_some() {
        return Err(bad("backtest", "configure the venue before the run".into()));
    }
    let mut cfg = bt.venue.config;
    cfg.path = match path {
        "proximity" => IntrabarPath::Proximity,
        "ohlc" => IntrabarPath::HighFirst,
        "olhc" => IntrabarPath::LowFirst,
        other => {
            return Err(bad(
                "path",
                format!("must be proximity, ohlc or olhc, got {other:?}"),
            ));
        }
    };
    cfg.volume_cap = volume_cap;
    cfg.latency = latency_config(latency, submit_ms, cancel_ms, modify_ms, sigma, seed)?;
    cfg.validate()?;
    // Rebuild the venue on the new config; the fee and slippage models carry over.
    let fresh = SimVenue::new(cfg, &bt.instruments);
    let old = std::mem::replace(&mut bt.venue, fresh);
    bt.venue.fee_model = old.fee_model;
    bt.venue.slip_model = old.slip_model;
    Ok(())
}

/// The latency legs from the Python keywords (shared by `configure_venue` and the L2/tick
/// loops): `latency` is "none", "constant" or "lognormal"; `cancel_ms` / `modify_ms` default to
/// `submit_ms`.
pub(super) fn latency_config(
    latency: &str,
    submit_ms: f64,
    cancel_ms: Option<f64>,
    modify_ms: Option<f64>,
    sigma: f64,
    seed: u64,
) -> PyResult<LatencyConfig> {
    let submit = ms_to_ns("submit_ms", submit_ms)?;
    let cancel = ms_to_ns("cancel_ms", cancel_ms.unwrap_or(submit_ms))?;
    let modify = ms_to_ns("modify_ms", modify_ms.unwrap_or(submit_ms))?;
    let cfg = match latency {
        "none" => LatencyConfig::default(),
        "constant" => LatencyConfig::constant(submit, cancel, modify),
        "lognormal" => {
            let leg = |median_ns| Latency::LogNormal { median_ns, sigma };
            LatencyConfig {
                submit: leg(submit),
                cancel: leg(cancel),
                modify: leg(modify),
                seed,
            }
        }
        other => {
            return Err(bad(
                "latency",
                format!("must be none, constant or lognormal, got {other:?}"),
            ));
        }
    };
    cfg.validate()?;
    Ok(cfg)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(configure_venue, m)?)?;
    Ok(())
}
