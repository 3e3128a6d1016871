"""L2 backtests over raw Binance WebSocket recordings (the per-event loop runs in Rust).

:func:`run_l2_backtest` replays a recording (depth diffs through Binance's sync procedure, trades)
into the Rust L2 matcher — market orders walk the book, resting limits keep a queue position
(see the ``l2`` fill model in :mod:`trader.fill_models`) — and calls the strategy on a throttle
of market time (``elapse_ms``, as hftbacktest's ``elapse``) through :meth:`Strategy.on_book`,
and on its own fills through :meth:`Strategy.on_order_event`. With ``strategy=None`` the native
Rust passive market maker runs instead (no Python call per wake-up).

Every order passes the same Rust risk engine as in :func:`trader.run_backtest` before it reaches
the matcher (``risk=``: a :class:`trader.risk.RiskSettings` or a TOML path; None: the structural
checks only). A denial reaches :meth:`Strategy.on_order_event` as ``{"kind": "denied", ...,
"code": "max_position"}``, a change of trading state :meth:`Strategy.on_trading_state`; the
layers see every fill, event and change of the best bid/ask. The report carries ``risk`` (the
risk report) and ``audit`` (the audit log's entries).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from trader import _core
from trader.exceptions import InvalidInputError
from trader.strategy import Strategy

__all__ = ["run_l2_backtest", "run_tick_backtest", "queue_spec"]

NATIVE_PARAMS = ("qty", "max_position", "offset_ticks")

#: The symbol of the one instrument of a run (what ``RiskSettings.instruments`` may name).
L2_SYMBOL = "L2"
TICKS_SYMBOL = "TICKS"


def _risk(risk: Any, symbol: str, cash: float) -> dict[str, Any] | None:
    """The engine's risk config dict for a run over ``symbol`` (None: no risk settings).

    The L2 account starts at ``cash`` (0 by default), so the free-balance check is on only with
    some cash, unless the settings say otherwise (``check_balance``)."""
    if risk is None:
        return None
    from trader.risk import RiskSettings, load_risk_config

    if isinstance(risk, (str, os.PathLike)):
        risk = load_risk_config(risk)
    if not isinstance(risk, RiskSettings):
        raise InvalidInputError(f"risk: expected trader.risk.RiskSettings or a TOML path, got {type(risk).__name__}")
    return risk.to_core([symbol])


def _cash(cash: Any) -> float:
    if isinstance(cash, bool) or not isinstance(cash, (int, float)) or not (cash >= 0) or cash == float("inf"):
        raise InvalidInputError(f"cash: must be a finite number >= 0, got {cash!r}")
    return float(cash)


def queue_spec(fill_model: str | Mapping[str, Any] | None) -> str:
    """The Rust queue model name for an ``l2`` fill model (``"l2:queue=power,power=3"``, a
    config dict, or None for the default), e.g. ``"power:3.0"`` or ``"risk_averse"``."""
    from trader.fill_models import resolve

    cfg = resolve("l2", fill_model if fill_model is not None else "l2")
    q = cfg.get("queue", "risk_averse")
    if q == "power":
        return f"power:{float(cfg.get('power', 2.0))}"
    return str(q)


def _latency(spec: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A latency fill model (``trader.fill_models``) resolved to its config, or None (zero)."""
    if spec is None:
        return None
    from trader.fill_models import resolve

    return resolve("latency", spec)


def _native_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The native market maker's parameters, checked: known names, numbers."""
    unknown = sorted(set(params) - set(NATIVE_PARAMS))
    if unknown:
        raise InvalidInputError(f"native market maker: unknown parameter {unknown[0]!r} (known: {', '.join(NATIVE_PARAMS)})")
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidInputError(f"native market maker: {k} must be a number, got {v!r}")
    return dict(params)


def run_l2_backtest(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    strategy: Strategy | str | None = None,
    *,
    market: str = "usdm",
    fill_model: str | Mapping[str, Any] | None = None,
    elapse_ms: float = 100.0,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    latency: str | Mapping[str, Any] | None = None,
    risk: Any = None,
    cash: float = 0.0,
    **params: Any,
) -> dict:
    """Run an L2 backtest; returns the report dict (events, fills, position, cash, fees, ...,
    ``fill_columns``: numpy columns of every fill, ``risk``: the risk report, ``audit``: the
    audit log's entries).

    ``strategy``: a :class:`Strategy` instance, the name of a registered strategy (``params``
    are its parameters), or None for the native Rust market maker (``params``: ``qty``,
    ``max_position`` in units, ``offset_ticks``). ``latency``: a latency fill model
    (``"constant:submit_ms=5"``, ``"lognormal:submit_ms=2,sigma=0.5"``): orders are ``submitted``
    when sent and reach the matcher (cancels and modifies too) after the drawn delay.
    ``risk``: a :class:`trader.risk.RiskSettings` or a path to its TOML file (the run's instrument
    is named ``L2``; limits for every instrument apply to it). ``cash``: the account's cash at
    the start (0: the reported cash is the run's cash flow, and the free-balance check is off
    unless the settings turn it on).
    """
    paths = [os.fspath(path)] if isinstance(path, (str, os.PathLike)) else [os.fspath(p) for p in path]
    if not (elapse_ms > 0):
        raise InvalidInputError(f"elapse_ms: must be > 0, got {elapse_ms!r}")
    queue = queue_spec(fill_model)
    cash = _cash(cash)
    common = dict(market=market, queue=queue, elapse_ns=int(round(elapse_ms * 1e6)), maker_fee_bps=float(maker_fee_bps),
                  taker_fee_bps=float(taker_fee_bps), latency=_latency(latency), risk=_risk(risk, L2_SYMBOL, cash),
                  cash=cash)
    if strategy is None:
        return _core.run_l2_backtest(paths, None, **common, **_native_params(params))
    strategy = _strategy(strategy, params)
    return _core.run_l2_backtest(paths, strategy, **common)


def _strategy(strategy: Strategy | str, params: dict) -> Strategy:
    if isinstance(strategy, str):
        from trader.plugins import strategies

        known = strategies()
        if strategy not in known:
            raise InvalidInputError(f"unknown strategy {strategy!r} (known: {', '.join(known)})")
        return known[strategy](**params)
    if params:
        raise InvalidInputError("strategy parameters go to the strategy's constructor when an instance is given")
    if not isinstance(strategy, Strategy):
        raise InvalidInputError(f"strategy: expected a trader.Strategy, a strategy name or None, got {type(strategy).__name__}")
    return strategy


def _ticks(src: Any, kind: str) -> dict:
    from trader.data.ticks import Ticks

    if isinstance(src, Ticks):
        if src.kind != kind:
            raise InvalidInputError(f"{kind}: got {src.kind} ticks")
        return dict(src.columns)
    from trader.plugins import find_data_source

    source = find_data_source(os.fspath(src))
    options = {"stream": kind} if source.name == "binance_ws" else {}
    feed = source.open(os.fspath(src), **options)
    if getattr(feed, "kind", None) != kind:
        raise InvalidInputError(f"{kind}: {src} holds {getattr(feed, 'kind', 'bars')}, not {kind}")
    return dict(feed.load().columns)


def run_tick_backtest(
    trades: Any,
    quotes: Any = None,
    strategy: Strategy | str | None = None,
    *,
    price_precision: int,
    size_precision: int,
    fill_model: str | Mapping[str, Any] | None = None,
    elapse_ms: float = 100.0,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    latency: str | Mapping[str, Any] | None = None,
    risk: Any = None,
    cash: float = 0.0,
    **params: Any,
) -> dict:
    """A backtest on trade ticks and top-of-book quotes (the ``quotes`` fill model): market
    orders fill at the touch up to the quoted size, resting limits fill when a trade prints
    through them, the opposite quote crosses them, or (queue model) enough trades print at
    their price. ``trades`` / ``quotes``: paths (read by their data source; one Binance
    recording gives both when ``quotes`` is None) or :class:`trader.data.Ticks`. Prices and
    sizes are converted at ``price_precision`` / ``size_precision``. Same report, ``risk`` and
    ``cash`` as :func:`run_l2_backtest` (the instrument is named ``TICKS``)."""
    if quotes is None:
        quotes = trades
    if not (elapse_ms > 0):
        raise InvalidInputError(f"elapse_ms: must be > 0, got {elapse_ms!r}")
    cash = _cash(cash)
    common = dict(
        price_precision=price_precision, size_precision=size_precision, queue=queue_spec(fill_model),
        elapse_ns=int(round(elapse_ms * 1e6)), maker_fee_bps=float(maker_fee_bps), taker_fee_bps=float(taker_fee_bps),
        latency=_latency(latency), risk=_risk(risk, TICKS_SYMBOL, cash), cash=cash,
    )
    t, q = _ticks(trades, "trades"), _ticks(quotes, "quotes")
    if strategy is None:
        return _core.run_tick_backtest(t, q, None, **common, **_native_params(params))
    return _core.run_tick_backtest(t, q, _strategy(strategy, params), **common)
