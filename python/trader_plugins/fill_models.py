"""The built-in fill models of the simulated venue, registered like any third-party plugin.

Each model documents what it assumes; the matching runs in Rust (``core-rs/src/venue``).
"""

from __future__ import annotations

from trader import hookimpl
from trader.fill_models import FillModel, ModelParam


def _choice(*options: str):
    return lambda v: None if v in options else f"must be one of {', '.join(options)}"


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _fraction(v: float) -> str | None:
    return None if 0 < v <= 1 else "must be within (0, 1]"


MODELS = [
    FillModel(
        "bars",
        "bars",
        "OHLC bars: an intrabar path decides triggers; limits at the limit or better on a gap",
        assumes=(
            "Inside a bar the price moves open -> high -> low -> close or open -> low -> high -> close "
            "(path=proximity: the extreme nearer the open first; or fixed), visiting every price between. "
            "Stops and if-touched orders trigger where the path first reaches them; a stop fills at its "
            "trigger (or the open when the bar gaps through it) moved by the slippage model; limits fill at "
            "the limit, or at the open when the bar opens through it. Market orders fill at the next open "
            "(or this close with --fill-at close). With participation=X, the orders of an instrument take at "
            "most X of the bar's volume; the rest keeps working (partial fills)."
        ),
        params={
            "path": ModelParam("proximity", str, "intrabar path: proximity, ohlc or olhc", _choice("proximity", "ohlc", "olhc")),
            "participation": ModelParam(None, float, "max fraction of a bar's volume filled per bar (none: no cap)", _fraction),
        },
    ),
    FillModel(
        "quotes",
        "quotes",
        "Tick data: market orders at the touch, limits when a trade prints through or the quote crosses",
        assumes=(
            "Top-of-book quotes and trades are the only liquidity: a market order fills at the opposite best "
            "price up to its quoted size (the rest at the next quotes); a resting limit fills when the "
            "opposite quote crosses it or a trade prints at or through it (maker)."
        ),
    ),
    FillModel(
        "l2",
        "l2",
        "L2 books: market orders walk the book; resting limits keep a queue position",
        assumes=(
            "The book rebuilt from depth diffs is the visible liquidity and our orders do not move it. A "
            "market order walks the levels (VWAP fill). A resting limit joins the back of its level's queue; "
            "trades at its price consume the queue ahead first; size removed from the level without a trade "
            "is a cancellation, taken from ahead of us with the probability of the queue model "
            "(risk_averse: never; power: hftbacktest's power-probability model with exponent `power`; log: "
            "f(x) = ln(1 + x)). Trades through our price, or the opposite side crossing it, fill the whole rest."
        ),
        params={
            "queue": ModelParam("power", str, "queue model: risk_averse, power or log", _choice("risk_averse", "power", "log")),
            "power": ModelParam(2.0, float, "exponent of the power queue model", _positive),
        },
    ),
    FillModel("slippage", "no_slippage", "Taker fills at the reference price", assumes="Unlimited liquidity at the reference price."),
    FillModel(
        "slippage",
        "fixed_bps",
        "Taker fills move against the trader by a fixed number of basis points",
        assumes="A constant cost per taker fill, independent of size and market state; rounded to the tick against the trader.",
        params={"bps": ModelParam(None, float, "basis points (default: --slippage-bps)", _non_negative)},
    ),
    FillModel(
        "slippage",
        "spread",
        "Taker fills pay half the bid-ask spread",
        assumes=(
            "A taker crosses the spread: it pays half of it beyond the mid. On quotes/L2 the real spread is "
            "used; on bars (no spread in the data) an assumed spread of spread_bps."
        ),
        params={"spread_bps": ModelParam(2.0, float, "assumed spread on bars, basis points", _non_negative)},
    ),
    FillModel(
        "slippage",
        "sqrt_impact",
        "Square-root market impact: k * sigma * sqrt(qty / volume)",
        assumes=(
            "Impact grows with the square root of the order's share of traded volume (the 'square-root law'): "
            "price moves by k * sigma * sqrt(qty / V), sigma the bar's relative range (high-low)/close and V "
            "the bar's volume; rounded to the tick against the trader."
        ),
        params={"k": ModelParam(1.0, float, "impact coefficient", _non_negative)},
    ),
    FillModel("latency", "no_latency", "Commands reach the venue at once", assumes="Zero latency: an order can trade on the next event."),
    FillModel(
        "latency",
        "constant",
        "Fixed submit and cancel delays",
        assumes="Every command takes the same time to reach the venue; until then it cannot trade (or stop a fill).",
        params={
            "submit_ms": ModelParam(0.0, float, "submit (and modify) delay, ms", _non_negative),
            "cancel_ms": ModelParam(None, float, "cancel delay, ms (default: submit_ms)", _non_negative),
        },
    ),
    FillModel(
        "latency",
        "lognormal",
        "Log-normal submit and cancel delays (seeded)",
        assumes="Delays are log-normal around a median (heavy right tail, as measured venue round trips are); deterministic for a seed.",
        params={
            "submit_ms": ModelParam(5.0, float, "median submit delay, ms", _positive),
            "cancel_ms": ModelParam(None, float, "median cancel delay, ms (default: submit_ms)", _positive),
            "sigma": ModelParam(0.5, float, "sigma of the log delay", _non_negative),
            "seed": ModelParam(0, int, "random seed", _non_negative),
        },
    ),
    FillModel(
        "fees",
        "flat",
        "One maker and one taker rate",
        assumes="Fee = rate x notional per fill, charges rounded up; a negative maker rate is a rebate.",
        params={
            "maker_bps": ModelParam(None, float, "maker rate, bps (default: --fee-bps)"),
            "taker_bps": ModelParam(None, float, "taker rate, bps (default: --fee-bps)"),
        },
    ),
    FillModel(
        "fees",
        "tiered",
        "Volume tiers: the rate falls with 30-day traded notional",
        assumes="The tier is set by notional traded over the trailing 30 days, as Binance's VIP levels; each tier has a maker and a taker rate.",
        params={"schedule": ModelParam("binance_usdm", str, "tier table: binance_spot or binance_usdm", _choice("binance_spot", "binance_usdm"))},
    ),
]


@hookimpl
def trader_fill_models() -> list:
    """The simulated venue's built-in fill, slippage, latency and fee models."""
    return list(MODELS)
