//! Bindings of the account, fee and slippage models: `configure_account` sets them on a
//! `Backtest` before the run, `account_state` reads the margin account back.

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::engine::PyBacktest;
use crate::error::CoreError;
use crate::model::fixed::{Rate, from_raw, money_to_f64, pow10};
use crate::model::{Bps, MONEY_DP};
use crate::portfolio::{Account, FUNDING_8H_NS, Funding, MarginConfig};
use crate::venue::fees::{FeeModel, FeeTier, TierBasis, WINDOW_30D_NS};
use crate::venue::slippage::Slippage;

fn bad(name: &'static str, reason: String) -> PyErr {
    CoreError::InvalidArgument { name, reason }.into()
}

fn bps(name: &'static str, v: f64) -> PyResult<Bps> {
    Bps::from_f64(v).ok_or_else(|| bad(name, format!("must be a finite number >= 0, got {v}")))
}

fn rate_bps(name: &'static str, v: f64) -> PyResult<Rate> {
    Rate::from_bps(v).ok_or_else(|| bad(name, format!("must be a finite number, got {v}")))
}

/// Quote-currency units as exact money (to 1e-8, like the initial cash).
fn money(name: &'static str, v: f64) -> PyResult<i128> {
    if !(0.0..1e20).contains(&v) {
        return Err(bad(name, format!("must be a finite amount >= 0, got {v}")));
    }
    Ok((v * 1e8).round() as i128 * pow10(MONEY_DP - 8))
}

/// The account of a run: "cash" (spot) or "margin" (isolated margin at `leverage`,
/// `maintenance_margin` and `liquidation_fee` as fractions, funding from `funding_rate` or
/// `funding`); errors name the argument.
#[allow(
    clippy::too_many_arguments,
    reason = "the Python keyword arguments of an account"
)]
pub(super) fn account_from(
    account: &str,
    leverage: f64,
    maintenance_margin: f64,
    liquidation_fee: f64,
    funding_rate: Option<f64>,
    funding: Option<Vec<(i64, f64)>>,
    funding_interval_h: f64,
) -> PyResult<Account> {
    Ok(match account {
        "cash" => {
            if leverage != 1.0 || funding_rate.is_some() || funding.is_some() {
                return Err(bad(
                    "account",
                    "leverage and funding need account=\"margin\"".into(),
                ));
            }
            Account::Cash
        }
        "margin" => {
            let f = match (funding_rate, funding) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "funding",
                        "give funding_rate (constant) or funding (a series), not both".into(),
                    ));
                }
                (Some(r), None) => {
                    if !(funding_interval_h.is_finite() && funding_interval_h > 0.0) {
                        return Err(bad(
                            "funding_interval_h",
                            format!("must be > 0, got {funding_interval_h}"),
                        ));
                    }
                    let interval_ns = if funding_interval_h == 8.0 {
                        FUNDING_8H_NS
                    } else {
                        (funding_interval_h * 3600e9).round() as i64
                    };
                    Funding::Constant {
                        rate: Rate::from_fraction_exact(r).ok_or_else(|| {
                            bad(
                                "funding_rate",
                                format!("must be a finite number with at most 10 decimals (rates are exact at 1e-10, and a funding rate has no side to round toward), got {r}"),
                            )
                        })?,
                        interval_ns,
                    }
                }
                (None, Some(series)) => Funding::Series(
                    series
                        .into_iter()
                        .map(|(ts, r)| {
                            Rate::from_fraction_exact(r).map(|r| (ts, r)).ok_or_else(|| {
                                bad(
                                    "funding",
                                    format!("rate at {ts} must be a finite number with at most 10 decimals, got {r}"),
                                )
                            })
                        })
                        .collect::<PyResult<_>>()?,
                ),
                (None, None) => Funding::None,
            };
            Account::Margin(MarginConfig::new(
                leverage,
                maintenance_margin,
                liquidation_fee,
                f,
            )?)
        }
        other => {
            return Err(bad(
                "account",
                format!("must be \"cash\" or \"margin\", got {other:?}"),
            ));
        }
    })
}

/// Set the account type, the fee model and the slippage model of `backtest` (before its run).
///
/// - `account`: "cash" (spot, the default) or "margin" (perpetuals: isolated margin at
///   `leverage`, `maintenance_margin` and `liquidation_fee` as fractions, funding from
///   `funding_rate` (a constant fraction every `funding_interval_h` hours at multiples of it since
///   the epoch) or `funding` (a list of `(ts_ns, rate)`), never both).
/// - fees: `maker_fee_bps` / `taker_fee_bps` (signed maker = rebate); or `fee_tiers`, a list of
///   `(min_30d_volume, maker_bps, taker_bps)` with the tier picked by the rolling 30-day traded
///   notional, or fixed by `fee_tier`.
/// - `slippage`: "fixed" (`slippage_bps`, the default), "none", "spread" (half of `spread_bps`
///   on bars) or "sqrt" (`impact_k` × bar sigma × sqrt(qty / bar volume), at most
///   `impact_max_bps`).
#[pyfunction]
#[pyo3(signature = (backtest, *, account = "cash", leverage = 1.0, maintenance_margin = 0.005,
    liquidation_fee = 0.0, funding_rate = None, funding = None, funding_interval_h = 8.0,
    maker_fee_bps = None, taker_fee_bps = None, fee_tiers = None, fee_tier = None,
    slippage = "fixed", slippage_bps = None, spread_bps = 0.0, impact_k = 1.0,
    impact_max_bps = 500.0))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the Python keyword arguments"
)]
fn configure_account(
    backtest: &Bound<'_, PyBacktest>,
    account: &str,
    leverage: f64,
    maintenance_margin: f64,
    liquidation_fee: f64,
    funding_rate: Option<f64>,
    funding: Option<Vec<(i64, f64)>>,
    funding_interval_h: f64,
    maker_fee_bps: Option<f64>,
    taker_fee_bps: Option<f64>,
    fee_tiers: Option<Vec<(f64, f64, f64)>>,
    fee_tier: Option<usize>,
    slippage: &str,
    slippage_bps: Option<f64>,
    spread_bps: f64,
    impact_k: f64,
    impact_max_bps: f64,
) -> PyResult<()> {
    let mut bt = backtest.borrow_mut();
    let bt = bt.inner_mut();
    if !bt.fills.is_empty() || bt.bars() > 0 {
        return Err(bad(
            "backtest",
            "configure the account before the run".into(),
        ));
    }
    let acct = account_from(
        account,
        leverage,
        maintenance_margin,
        liquidation_fee,
        funding_rate,
        funding,
        funding_interval_h,
    )?;
    // Fees: tiers, or maker/taker overrides of the flat fee_bps the engine was built with.
    let flat = bt.venue.config.fee;
    let fees = match fee_tiers {
        Some(rows) => {
            if maker_fee_bps.is_some() || taker_fee_bps.is_some() {
                return Err(bad(
                    "fee_tiers",
                    "give fee_tiers or maker/taker_fee_bps, not both".into(),
                ));
            }
            let tiers = rows
                .into_iter()
                .map(|(v, m, t)| {
                    Ok(FeeTier {
                        min_volume: money("fee_tiers", v)?,
                        maker: rate_bps("fee_tiers", m)?,
                        taker: rate_bps("fee_tiers", t)?,
                    })
                })
                .collect::<PyResult<Vec<_>>>()?;
            let basis = match fee_tier {
                Some(k) => TierBasis::Fixed(k),
                None => TierBasis::Rolling {
                    window_ns: WINDOW_30D_NS,
                },
            };
            FeeModel::tiered(tiers, basis)?
        }
        None => {
            if fee_tier.is_some() {
                return Err(bad("fee_tier", "needs fee_tiers".into()));
            }
            let maker = maker_fee_bps.map_or(Ok(flat.into()), |m| rate_bps("maker_fee_bps", m))?;
            let taker = taker_fee_bps.map_or(Ok(flat), |t| bps("taker_fee_bps", t))?;
            FeeModel::tiered(
                vec![FeeTier {
                    min_volume: 0,
                    maker,
                    taker: taker.into(),
                }],
                TierBasis::Fixed(0),
            )?
        }
    };
    // Slippage.
    let fixed = match slippage_bps {
        Some(b) => bps("slippage_bps", b)?,
        None => bt.venue.config.slippage,
    };
    let slip = match slippage {
        "fixed" => Slippage::FixedBps(fixed),
        "none" => Slippage::None,
        "spread" => Slippage::Spread {
            assumed: bps("spread_bps", spread_bps)?,
        },
        "sqrt" => {
            if !(impact_k.is_finite() && impact_k >= 0.0) {
                return Err(bad("impact_k", format!("must be >= 0, got {impact_k}")));
            }
            Slippage::SqrtImpact {
                k: impact_k,
                max: bps("impact_max_bps", impact_max_bps)?,
            }
        }
        other => {
            return Err(bad(
                "slippage",
                format!("must be \"none\", \"fixed\", \"spread\" or \"sqrt\", got {other:?}"),
            ));
        }
    };
    bt.portfolio.set_account(acct);
    bt.venue.fee_model = fees;
    bt.venue.slip_model = slip;
    Ok(())
}

/// The account after (or during) a run, as a dict: `account` ("cash"/"margin"), `wallet`,
/// `margin_used`, `free_margin`, `funding_paid` (net, > 0 paid), `liquidations` (count),
/// `liquidation_price` (per instrument, None when flat or not liquidatable), and `funding`: numpy
/// columns ts, instrument, qty, mark, rate, amount (amount > 0 paid, < 0 received).
#[pyfunction]
fn account_state<'py>(
    py: Python<'py>,
    backtest: &Bound<'py, PyBacktest>,
) -> PyResult<Bound<'py, PyDict>> {
    let b = backtest.borrow();
    let bt = b.inner();
    let p = &bt.portfolio;
    let d = PyDict::new(py);
    d.set_item("account", if p.is_margin() { "margin" } else { "cash" })?;
    d.set_item("wallet", money_to_f64(p.wallet()))?;
    d.set_item("margin_used", money_to_f64(p.margin_used()))?;
    d.set_item("free_margin", money_to_f64(p.free_margin()))?;
    d.set_item("funding_paid", money_to_f64(p.funding_paid))?;
    d.set_item(
        "liquidations",
        bt.fills.iter().filter(|f| f.liquidation).count(),
    )?;
    let lps: Vec<Option<f64>> = bt
        .instruments
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            p.liquidation_price(inst, i as u32)
                .map(|px| from_raw(px, inst.price_dp))
        })
        .collect();
    d.set_item("liquidation_price", lps)?;
    let f = &p.funding;
    let inst = |i: u32| &bt.instruments[i as usize];
    let cols = PyDict::new(py);
    cols.set_item(
        "ts",
        f.iter().map(|x| x.ts).collect::<Vec<_>>().into_pyarray(py),
    )?;
    cols.set_item(
        "instrument",
        f.iter()
            .map(|x| x.instrument)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    cols.set_item(
        "qty",
        f.iter()
            .map(|x| from_raw(x.qty, inst(x.instrument).size_dp))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    cols.set_item(
        "mark",
        f.iter()
            .map(|x| from_raw(x.mark, inst(x.instrument).price_dp))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    cols.set_item(
        "rate",
        f.iter()
            .map(|x| x.rate.as_bps() / 1e4)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    cols.set_item(
        "amount",
        f.iter()
            .map(|x| money_to_f64(x.amount))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    d.set_item("funding", cols)?;
    Ok(d)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(configure_account, m)?)?;
    m.add_function(wrap_pyfunction!(account_state, m)?)?;
    Ok(())
}
