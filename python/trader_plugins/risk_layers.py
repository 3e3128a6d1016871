"""The built-in risk layers, registered like any third-party plugin.

Each is a :class:`~trader.risk.LayerType`: the named, validated configuration of one Rust layer
(``core-rs/src/risk/layers.rs``). A plugin may add presets, e.g.
``LayerType("drawdown", "tight_drawdown", "...", params=DRAWDOWN.params, fixed={"hard": 0.1})``.
"""

from __future__ import annotations

from trader import hookimpl
from trader.risk import LayerType, Param

DRAWDOWN = LayerType(
    "drawdown",
    "drawdown",
    "Drawdown guard: soft limit -> REDUCING, hard limit -> HALTED or EMERGENCY (latched); daily loss limit -> HALTED until the next UTC day",
    params={
        "soft": Param(0.10, "fraction", "drawdown from the equity high-water mark that switches to REDUCING (none: off)"),
        "hard": Param(0.20, "fraction", "drawdown that switches to hard_state for the rest of the run (none: off)"),
        "hard_state": Param("emergency", "state", "state at the hard limit: halted or emergency (cancel all, flatten)", ("halted", "emergency")),
        "daily_loss": Param(0.05, "fraction", "loss since the first bar of the UTC day, as a fraction of that day's starting equity (none: off)"),
    },
)

VOL_TARGET = LayerType(
    "vol_target",
    "vol_target",
    "Volatility targeting: size new exposure so the position's annualized volatility is the target",
    params={
        "target": Param(0.5, "positive", "target annualized volatility (0.5 = 50%)"),
        "estimator": Param("garch", "estimator", "rolling (sample std of log returns over window=N) or garch (alpha, beta, omega, warmup), e.g. estimator=garch,alpha=0.05,beta=0.94"),
        "periods_per_year": Param(None, "positive", "bars per year for annualizing (default: from the data's bar interval)"),
        "min_scale": Param(0.0, "non_negative", "smallest size multiplier"),
        "max_scale": Param(2.0, "positive", "largest size multiplier"),
    },
)

KELLY = LayerType(
    "kelly",
    "kelly",
    "Fractional Kelly sizing from the recent closed trades (capped at 0.25 Kelly)",
    params={
        "fraction": Param(0.25, "fraction", "fraction of the Kelly bet (at most 0.25)"),
        "window": Param(100, "int", "closed trades the win rate and payoff ratio are measured on"),
        "min_trades": Param(20, "int", "fewer closed trades than this: orders pass unchanged"),
    },
)

CONFIDENCE = LayerType(
    "confidence",
    "confidence",
    "Confidence sizing: the decision kernel's composite confidence -> size and leverage within bounds",
    params={
        "min_confidence": Param(0.2, "unit", "below this confidence new orders are vetoed"),
        "min_scale": Param(0.25, "non_negative", "size multiplier at confidence 0"),
        "max_scale": Param(1.0, "positive", "size multiplier at confidence 1"),
        "min_leverage": Param(1.0, "positive", "leverage cap at confidence 0"),
        "max_leverage": Param(3.0, "positive", "leverage cap at confidence 1"),
    },
)

PANIC = LayerType(
    "panic",
    "panic",
    "Panic conditions: stale data, a wide spread, slippage or consecutive rejects -> PAUSED or HALTED",
    params={
        "stale": Param(None, "duration", "data older than this at order time (e.g. 5s; none: off)"),
        "spread_k": Param(5.0, "positive", "spread wider than k x its rolling median (quotes/L2 runs; none: off)"),
        "spread_window": Param(100, "int", "quotes in the spread's rolling median"),
        "slippage_k": Param(None, "positive", "slippage beyond k x expected_slippage_bps (none: off)"),
        "expected_slippage_bps": Param(1.0, "positive", "the slippage the fill model expects, bps"),
        "max_consecutive_rejects": Param(5, "int", "this many rejects/denials in a row (none: off)"),
        "state": Param("paused", "state", "state while a condition holds: paused or halted", ("paused", "halted")),
        "cooldown": Param("1h", "duration", "how long the state holds after the condition last held"),
    },
)

CIRCUIT_BREAKER = LayerType(
    "circuit_breaker",
    "circuit_breaker",
    "Circuit breaker: closed / open / half-open on consecutive failures (venue rejects, losing trades)",
    params={
        "failure_threshold": Param(5, "int", "consecutive failures that open the breaker"),
        "cooldown": Param("1h", "duration", "how long it stays open before a half-open trial"),
        "half_open_trials": Param(1, "int", "orders let through when half-open"),
    },
)

LAYERS = [DRAWDOWN, VOL_TARGET, KELLY, CONFIDENCE, PANIC, CIRCUIT_BREAKER]


@hookimpl
def trader_risk_layers() -> list:
    return list(LAYERS)
