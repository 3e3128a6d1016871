"""Tick and L2 backtests: the per-event loop runs in Rust, Python is called only for the callbacks
a strategy overrides.

:func:`run_l2_backtest` replays raw Binance WebSocket recordings: depth diffs through Binance's
sync procedure rebuild the book, market orders walk it, resting limits keep a queue position (the
``l2`` fill model of :mod:`trader.fill_models`). :func:`run_tick_backtest` runs on trade ticks and
top-of-book quotes (the ``quotes`` fill model): market orders fill at the touch up to the quoted
size, resting limits when a trade prints through them, the opposite quote crosses them, or (queue
model) enough trades print at their price.

**Callbacks**, in event order (the run's clock: the recorder's receive time in an L2 run, the
ticks' ``ts_event`` — ``ts_local`` for a Binance recording — in a tick run; ties in file order,
and between a trades file and a quotes file the quote first):

- ``on_trade(trade)`` for every trade print (a reused :class:`trader._core.TradeTick`: ``ts``,
  ``price``, ``size``, ``side`` of the aggressor, ``id``), after the print filled what it reached;
- ``on_quote(quote)`` for every new top of book (a reused :class:`trader._core.QuoteTick`:
  ``ts``, ``bid``, ``ask``, ``bid_size``, ``ask_size``): each ``bookTicker`` line of a recording
  (a change of the rebuilt book's best bid/ask while the recording has shown none), each quote
  tick of a tick run;
- ``on_book(ctx)`` every ``elapse_ms`` of market time (hftbacktest's ``elapse``);
- ``on_bar(bar)`` with ``bar="1m"``: time bars built from the trades (see below); the
  indicators registered in ``on_start`` update first, as in a bar run;
- ``on_order_event(event)`` for every order event (submitted, accepted, denied, rejected,
  triggered, updated, partially filled, filled, canceled, expired, modify/cancel rejected: the
  :class:`trader._core.OrderEvent` of bar runs), ``on_trading_state(change)`` for every change of
  the risk engine's state.

Data callbacks run while the book is synced (an L2 run: the recording's snapshot applied; a tick
run: after the first quote); bars are handed out whenever they complete. Only the callbacks a
strategy overrides are called (the per-event loop stays in Rust): a strategy without ``on_trade``
costs nothing per trade. A run in which the strategy implements none of ``on_trade``,
``on_quote``, ``on_book`` (nor ``on_bar`` with a bar interval) is refused: nothing would call it.

**Bars** (``bar="1m"``, ``--bar 1m``): buckets of the interval aligned to the epoch on the run's
clock, labelled by their open time; OHLCV from the trade prices and sizes. A bar is handed out
when the first event of a later bucket arrives, before that event; the bar still open at the end
of the data is not (it is incomplete, and live trading would not have it). A bucket without
trades gives no bar (no flat filler bars). The aggregation is the Rust ``BarAggregator`` the live
engine uses.

Every order passes the same Rust risk engine as in :func:`trader.run_backtest` before it reaches
the matcher (``risk=``: a :class:`trader.risk.RiskSettings` or a TOML path; None: the structural
checks only); the layers see every fill, event and change of the best bid/ask. The run's
instrument carries the data's symbol (``BTCUSDT`` from a recording's streams; risk settings may
name it in any spelling, ``BTC_USDT``, ``BTC/USDT``, or as ``L2`` / ``TICKS``).

The report (a dict): events and message counts, ``strategy_calls`` (``on_book``),
``trade_calls``, ``quote_calls``, ``bars``, orders and fills, ``position``, ``cash``, ``fees``,
``realized_pnl`` (before fees), ``unrealized_pnl`` and ``equity`` at ``last_mid``, ``pnl``
(equity minus the initial cash), ``first_ts``/``last_ts`` (ns) and ``first_time``/``last_time``
(ISO 8601, UTC), ``fill_columns`` (numpy columns of every fill), ``risk`` and ``audit``.

Coin-M (inverse) runs: quantities are contracts (the native maker's defaults: 1 contract a quote,
10 at most); the report's money figures (PnL, fees, equity, cash) are in the settlement coin,
recomputed from the fills (``pnl_currency``, ``contract_usd``). The engine's own account, and so
the risk engine's notional and balance checks, still price a contract linearly (price ×
contracts).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from trader import _core
from trader.exceptions import InvalidInputError
from trader.strategy import Strategy

__all__ = ["run_l2_backtest", "run_tick_backtest", "queue_spec", "write_fills", "DATA_CALLBACKS", "l2_settings",
           "recording_paths", "finish_l2_report"]

NATIVE_PARAMS = ("qty", "max_position", "offset_ticks")
#: The native market maker's defaults by market, in the instrument's units: base currency on
#: USD-M and spot, contracts on coin-M (a BTCUSD_PERP contract is 100 USD; 0.001 would round to 0).
NATIVE_DEFAULTS: dict[str, dict[str, float]] = {
    "usdm": {"qty": 0.001, "max_position": 0.01},
    "spot": {"qty": 0.001, "max_position": 0.01},
    "cm": {"qty": 1.0, "max_position": 10.0},
}
MARKETS = {"usdm": "usdm", "usd-m": "usdm", "um": "usdm", "futures": "usdm", "spot": "spot", "cm": "cm",
           "coinm": "cm", "coin-m": "cm"}

#: USD value of one coin-M contract by base coin (Binance: 100 USD for BTC, 10 USD for the others).
COIN_M_CONTRACT_USD = {"BTC": 100.0}

#: The symbol of the one instrument of a run whose data names none (accepted as an alias of the
#: real symbol in risk settings).
L2_SYMBOL = "L2"
TICKS_SYMBOL = "TICKS"

#: The callbacks tick/L2 data can drive (``on_bar`` only with a bar interval).
DATA_CALLBACKS = ("on_trade", "on_quote", "on_book", "on_bar")


def _risk(risk: Any, symbol: str, alias: str, cash: float) -> dict[str, Any] | None:
    """The engine's risk config dict for a run over ``symbol`` (None: no risk settings).

    Instruments named in the settings match ``symbol`` by canonical id (``BTC_USDT`` = ``BTCUSDT``)
    or as ``alias`` (``L2`` / ``TICKS``). (The balance is the account's rule, not a risk setting.)"""
    if risk is None:
        return None
    from trader.instruments import canonical_symbol
    from trader.risk import RiskSettings, load_risk_config

    if isinstance(risk, (str, os.PathLike)):
        risk = load_risk_config(risk)
    if not isinstance(risk, RiskSettings):
        raise InvalidInputError(f"risk: expected trader.risk.RiskSettings or a TOML path, got {type(risk).__name__}")
    want = canonical_symbol(symbol)
    renamed: dict[str, dict[str, Any]] = {}
    for name, limits in risk.instruments.items():
        key = symbol if name != "*" and (name == alias or canonical_symbol(name) == want) else name
        renamed[key] = {**renamed.get(key, {}), **limits}
    return dataclasses.replace(risk, instruments=renamed).to_core([symbol])


def _cash(cash: Any) -> float:
    if isinstance(cash, bool) or not isinstance(cash, (int, float)) or not (cash >= 0) or cash == float("inf"):
        raise InvalidInputError(f"cash: must be a finite number >= 0, got {cash!r}")
    return float(cash)


def _elapse_ns(elapse_ms: Any) -> int:
    if isinstance(elapse_ms, bool) or not isinstance(elapse_ms, (int, float)) or not (0 < elapse_ms < float("inf")):
        raise InvalidInputError(f"elapse_ms: must be > 0, got {elapse_ms!r}")
    return max(1, int(round(elapse_ms * 1e6)))


def _bar_ns(bar: Any) -> int | None:
    """A bar interval (``"1m"``, ``"5s"``, ``"1h"``, or ns) as nanoseconds; None: no bars."""
    if bar is None:
        return None
    from trader.data._time import parse_interval

    try:
        return parse_interval(bar)
    except InvalidInputError as e:
        raise InvalidInputError(f"bar: {e}") from None


def _market(market: Any) -> str:
    m = MARKETS.get(str(market).strip().lower()) if isinstance(market, str) else None
    if m is None:
        raise InvalidInputError(f"market: expected usdm, spot or cm, got {market!r}")
    return m


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


def _native_params(params: Mapping[str, Any], market: str, size_dp: int | None = None) -> dict[str, Any]:
    """The native market maker's parameters, checked (known names, numbers, a quantity the size
    precision ``size_dp`` can hold), over the market's defaults."""
    unknown = sorted(set(params) - set(NATIVE_PARAMS))
    if unknown:
        raise InvalidInputError(f"native market maker: unknown parameter {unknown[0]!r} (known: {', '.join(NATIVE_PARAMS)})")
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidInputError(f"native market maker: {k} must be a number, got {v!r}")
    out = {**NATIVE_DEFAULTS[market], **params}
    if market == "cm" and float(out["qty"]) != int(out["qty"]):
        raise InvalidInputError(f"native market maker: qty {out['qty']!r}: coin-M quantities are whole contracts (qty=1 is one contract)")
    if size_dp is not None and not round(float(out["qty"]) * 10**size_dp) > 0:
        raise InvalidInputError(f"native market maker: qty {out['qty']!r} rounds to 0 at the data's size precision "
                                f"({size_dp} decimals: the smallest quantity is {10.0**-size_dp:g})")
    return out


def _check_callbacks(strategy: Strategy, bar_ns: int | None, run: str) -> None:
    """Refuse a run in which the data would never call the strategy (or bars nobody reads)."""
    name = strategy.name or type(strategy).__name__
    has = [m for m in DATA_CALLBACKS if strategy._overrides(m)]
    if bar_ns is not None and "on_bar" not in has:
        raise InvalidInputError(f"bar: strategy {name} has no on_bar to receive the bars "
                                f"(it implements {', '.join(has) or 'no data callback'})")
    if has == ["on_bar"] and bar_ns is None:
        raise InvalidInputError(f"strategy {name} implements on_bar only, and {run} run has no bars: give a bar "
                                f"interval to build them from the trades (--bar 1m, or bar='1m' in Python)")
    if not has:
        raise InvalidInputError(f"strategy {name} implements none of on_trade, on_quote, on_book, on_bar: nothing in "
                                f"{run} run would call it")


def _strategy(strategy: Strategy | str | type, params: dict[str, Any], bar_ns: int | None, run: str) -> Strategy:
    from trader.backtest import make_strategy

    s = make_strategy(strategy, params or None)
    _check_callbacks(s, bar_ns, run)
    return s


def _coin_m(report: dict) -> dict:
    """A coin-M (inverse) run's money figures in its settlement coin, from the fills: a contract is
    worth a fixed USD amount (:data:`COIN_M_CONTRACT_USD`), so N contracts at price p are worth
    N·usd/p coin; PnL of a long from p0 to p1 is N·usd·(1/p0 - 1/p1), fees are rate·N·usd/p. The
    engine's own account prices contracts linearly (price × contracts): those figures are replaced
    here, ``cash`` (the initial cash included) is taken in the settlement coin."""
    f = report["fill_columns"]
    base = (report.get("symbol") or "").upper().split("USD")[0] or "COIN"
    usd = COIN_M_CONTRACT_USD.get(base, 10.0)
    pos = cost = realized = fees = 0.0
    for side, px, qty, fee in zip(f["side"], f["price"], f["qty"], f["fee"]):
        px, qty = float(px), float(qty)
        fees += float(fee) * usd / (px * px)  # the engine's fee is rate·px·qty
        signed = qty if side > 0 else -qty
        if pos != 0 and (pos > 0) != (signed > 0):
            closing = min(abs(signed), abs(pos))
            removed = cost * closing / abs(pos)
            realized += (1.0 if pos > 0 else -1.0) * (removed - closing * usd / px)
            cost -= removed
            step = closing if signed > 0 else -closing
            pos += step
            signed -= step
        if signed != 0:
            cost += abs(signed) * usd / px
            pos += signed
    mid = report.get("last_mid")
    unrealized = (1.0 if pos > 0 else -1.0) * (cost - abs(pos) * usd / mid) if pos and mid else 0.0
    initial = float(report["initial_cash"])
    pnl = realized + unrealized - fees
    report.update(realized_pnl=realized, unrealized_pnl=unrealized, fees=fees, pnl=pnl, equity=initial + pnl,
                  cash=initial + realized - fees, pnl_currency=base, contract_usd=usd)
    return report


def _finish(report: dict) -> dict:
    """Human-readable UTC times beside the ns ones."""
    from trader.data._time import iso

    for k in ("first", "last"):
        ts = report.get(f"{k}_ts")
        report[f"{k}_time"] = iso(ts) if ts else None
    return report


def run_l2_backtest(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    strategy: Strategy | str | None = None,
    *,
    market: str | None = None,
    bar: str | int | None = None,
    fill_model: str | Mapping[str, Any] | None = None,
    elapse_ms: float = 100.0,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    latency: str | Mapping[str, Any] | None = None,
    risk: Any = None,
    cash: float | None = None,
    account: str | None = None,
    leverage: float = 1.0,
    price_precision: int | None = None,
    size_precision: int | None = None,
    **params: Any,
) -> dict:
    """Run an L2 backtest over one or more recording files (one session, in order); returns the
    report dict (see the module docs).

    ``strategy``: a :class:`Strategy` instance, class or registered name (``params`` are its
    parameters), or None for the native Rust market maker (``params``: ``qty``, ``max_position``
    in units — contracts on coin-M — and ``offset_ticks``; defaults by market, see
    :data:`NATIVE_DEFAULTS`). ``market``: ``usdm``, ``spot`` or ``cm``; None detects it from the
    recording (diffs with ``pu`` are futures, with ``ps`` or a ``_PERP`` symbol coin-M, without
    ``pu`` spot). ``bar``: a bar interval (``"1m"``) for ``on_bar``. ``latency``: a latency fill
    model (``"constant:submit_ms=5"``): orders are ``submitted`` when sent and reach the matcher
    (cancels and modifies too) after the drawn delay. ``risk``: a
    :class:`trader.risk.RiskSettings` or a TOML path. ``cash``: the account's cash at the start, in
    the quote currency (the settlement coin on coin-M; default 10,000, 1 coin on coin-M).
    ``account``: "cash" or "margin" (with ``leverage``); default the market's: a cash account for
    spot, a margin account for futures. The account's rule holds as in bar runs: a cash account
    never buys beyond its cash nor sells what it does not hold, a margin account never opens beyond
    its margin (see ``trader.portfolio``); refusals are ``denied`` events with their numbers.
    Coin-M contracts are accounted linearly by the engine (price × contracts): the coin cash is
    converted at the recording's first price for the account's checks, and the report's money is
    recomputed in the coin from the fills. Precisions: from the recording (Binance pads every
    number to the symbol's precision) unless given.
    """
    paths = recording_paths(path)
    bar_ns = _bar_ns(bar)
    common, info, cash = l2_settings(paths, market=market, bar_ns=bar_ns, fill_model=fill_model, elapse_ms=elapse_ms,
                                     maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, latency=latency,
                                     risk=risk, cash=cash, account=account, leverage=leverage,
                                     price_precision=price_precision, size_precision=size_precision)
    chosen = common["market"]
    if strategy is None:
        if bar_ns is not None:
            raise InvalidInputError("bar: the native market maker has no on_bar (give a Strategy with on_bar)")
        sdp = size_precision if size_precision is not None else info["size_precision"]
        report = _core.run_l2_backtest(paths, None, **common, **_native_params(params, chosen, sdp))
    else:
        report = _core.run_l2_backtest(paths, _strategy(strategy, params, bar_ns, "an L2"), **common)
    return finish_l2_report(report, info, common, cash)


def recording_paths(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The recording files of a run (one or several, in order), each checked to exist."""
    paths = [os.fspath(path)] if isinstance(path, (str, os.PathLike)) else [os.fspath(p) for p in path]
    if not paths:
        raise InvalidInputError("path: no recording given")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"path: no such recording: {p}")
    return paths


def l2_settings(paths: list[str], *, market: str | None, bar_ns: int | None, fill_model: Any, elapse_ms: float,
                maker_fee_bps: float, taker_fee_bps: float, latency: Any, risk: Any, cash: float | None,
                account: str | None, leverage: float, price_precision: int | None,
                size_precision: int | None) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The engine keywords of a run over the recordings ``paths`` — the L2 backtest's and the live
    node's replay (one mechanism: the same recording gives the same engine in both) — with what
    the recording says about itself (:func:`trader._core.probe_recording`) and the account's cash
    (in the settlement coin on coin-M)."""
    elapse_ns = _elapse_ns(elapse_ms)
    queue = queue_spec(fill_model)
    info = _core.probe_recording(paths)
    detected = info["market"]
    chosen = _market(market) if market is not None else (detected or "usdm")
    cash = _cash((1.0 if chosen == "cm" else 10_000.0) if cash is None else cash)
    acct = _account(account, chosen, leverage)
    symbol = info["symbol"]
    engine_cash = cash
    if chosen == "cm" and info.get("first_price"):
        # the engine's linear units of the coin cash at the first price: N contracts are worth
        # N·usd/p coin, and N·p to the engine
        base = (symbol or "").upper().split("USD")[0] or "COIN"
        p0 = float(info["first_price"])
        engine_cash = cash * p0 * p0 / COIN_M_CONTRACT_USD.get(base, 10.0)
    common = dict(market=chosen, queue=queue, elapse_ns=elapse_ns, maker_fee_bps=float(maker_fee_bps),
                  taker_fee_bps=float(taker_fee_bps), latency=_latency(latency),
                  risk=_risk(risk, symbol or L2_SYMBOL, L2_SYMBOL, cash), cash=engine_cash, symbol=symbol, bar_ns=bar_ns,
                  price_precision=price_precision, size_precision=size_precision, **acct)
    return common, info, cash


def finish_l2_report(report: dict, info: Mapping[str, Any], common: Mapping[str, Any], cash: float) -> dict:
    """The report of a run over a recording (:func:`l2_settings`): the market, the account, the
    coin-M money in the coin, human-readable times."""
    chosen = common["market"]
    report["market"] = chosen
    report["market_detected"] = info["market"]
    report["account"] = common["account"]
    if chosen == "cm":
        report["initial_cash"] = cash
        _coin_m(report)
    return _finish(report)


def _account(account: str | None, market: str, leverage: float) -> dict[str, Any]:
    """The account keywords of a run: the market's default (cash on spot, margin on futures)."""
    if account is None:
        account = "cash" if market == "spot" else "margin"
    if account not in ("cash", "margin"):
        raise InvalidInputError(f"account: must be cash or margin, got {account!r}")
    if isinstance(leverage, bool) or not isinstance(leverage, (int, float)) or not (1.0 <= leverage <= 1000.0):
        raise InvalidInputError(f"leverage: must be within 1..1000, got {leverage!r}")
    if account == "cash" and leverage != 1.0:
        raise InvalidInputError("leverage: needs account=\"margin\" (a cash account has no leverage)")
    return {"account": account, "leverage": float(leverage)}


def _is_data(x: Any) -> bool:
    from trader.data.ticks import Ticks

    return isinstance(x, (Ticks, os.PathLike)) or (isinstance(x, str) and os.path.isfile(x))


def _ticks(src: Any, kind: str, what: str) -> tuple[dict, str | None, str | None]:
    """The columns of ``src`` (a path or :class:`Ticks`) holding ``kind``; with its symbol and the
    name of the data source that read it (None for Ticks)."""
    from trader.data.ticks import Ticks

    if isinstance(src, Ticks):
        if src.kind != kind:
            raise InvalidInputError(f"{what}: got {src.kind} ticks, not {kind}")
        return dict(src.columns), src.symbol, None
    if not isinstance(src, (str, os.PathLike)):
        raise InvalidInputError(f"{what}: expected a path or trader.data.Ticks, got {type(src).__name__}")
    from trader.plugins import find_data_source

    source = find_data_source(os.fspath(src))
    options = {"stream": kind} if source.name == "binance_ws" else {}
    feed = source.open(os.fspath(src), **options)
    if getattr(feed, "kind", None) != kind:
        raise InvalidInputError(f"{what}: {src} holds {getattr(feed, 'kind', 'bars')}, not {kind}")
    return dict(feed.load().columns), feed.symbol, source.name


def run_tick_backtest(
    strategy: Strategy | str | type | None = None,
    params: dict[str, Any] | None = None,
    data: Any = None,
    *,
    quotes: Any = None,
    bar: str | int | None = None,
    symbol: str | None = None,
    price_precision: int | None = None,
    size_precision: int | None = None,
    fill_model: str | Mapping[str, Any] | None = None,
    elapse_ms: float = 100.0,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    latency: str | Mapping[str, Any] | None = None,
    risk: Any = None,
    cash: float = 10_000.0,
    account: str = "cash",
    leverage: float = 1.0,
    **kwargs: Any,
) -> dict:
    """A backtest on trade ticks and top-of-book quotes, called as :func:`trader.run_backtest`:
    ``run_tick_backtest(strategy, data=...)``.

    ``strategy``: a :class:`Strategy` instance, class or registered name with ``params`` (or
    keyword parameters), or None for the native market maker (``qty``, ``max_position``,
    ``offset_ticks``). ``data``: the trades — a path (read by its data source) or
    :class:`trader.data.Ticks`; a raw Binance recording gives both its trades and its
    ``bookTicker`` quotes (merged by receive time). ``quotes``: the quotes when ``data`` holds
    trades only. ``symbol``: the instrument's symbol (default: the data's). Precisions: inferred
    from every price and size of the data (one per instrument, all of its data) unless given.
    ``bar``, ``risk``, ``cash``, ``account`` ("cash" by default, or "margin" with ``leverage``) and
    the report as :func:`run_l2_backtest`.
    """
    if _is_data(strategy):
        raise InvalidInputError("strategy: got data where the strategy goes: run_tick_backtest takes the strategy "
                                "first, as run_backtest: run_tick_backtest(strategy, data=trades, quotes=quotes)")
    if data is None:
        raise InvalidInputError("data: give the trades (a path or trader.data.Ticks), or a Binance recording")
    elapse_ns = _elapse_ns(elapse_ms)
    bar_ns = _bar_ns(bar)
    cash = _cash(cash)
    t, data_symbol, source = _ticks(data, "trades", "data")
    by_receive_time = False
    if quotes is None:
        if source != "binance_ws":
            raise InvalidInputError(f"quotes: a tick run needs top-of-book quotes besides the trades of {data}: give "
                                    "quotes= (a path or trader.data.Ticks), or a Binance recording holding both")
        q, _, _ = _ticks(data, "quotes", "data")
        by_receive_time = True  # one recording: its trades and quotes in the order they were received
    else:
        q, _, _ = _ticks(quotes, "quotes", "quotes")
    symbol = symbol or data_symbol or TICKS_SYMBOL
    native = dict(params or {}, **kwargs)
    common = dict(
        price_precision=price_precision, size_precision=size_precision, queue=queue_spec(fill_model),
        elapse_ns=elapse_ns, maker_fee_bps=float(maker_fee_bps), taker_fee_bps=float(taker_fee_bps),
        latency=_latency(latency), risk=_risk(risk, symbol, TICKS_SYMBOL, cash), cash=cash, symbol=symbol,
        bar_ns=bar_ns, by_receive_time=by_receive_time, **_account(account, "spot", leverage),
    )
    if strategy is None:
        if bar_ns is not None:
            raise InvalidInputError("bar: the native market maker has no on_bar (give a Strategy with on_bar)")
        report = _core.run_tick_backtest(t, q, None, **common, **_native_params(native, "usdm"))
    else:
        report = _core.run_tick_backtest(t, q, _strategy(strategy, native, bar_ns, "a tick"), **common)
    return _finish(report)


def fills_table(report: Mapping[str, Any]) -> Any:
    """The fills of a tick/L2 report as a pyarrow table with the columns of ``trader backtest
    --fills-out``: ts, side, price, qty, fee, order_id, symbol."""
    import numpy as np
    import pyarrow as pa

    f = report["fill_columns"]
    n = len(f["ts"])
    return pa.table({
        "ts": pa.array(np.asarray(f["ts"], dtype=np.int64), pa.timestamp("ns", tz="UTC")),
        "side": pa.array(np.where(np.asarray(f["side"]) > 0, "BUY", "SELL").astype(object), pa.string()),
        "price": pa.array(f["price"], pa.float64()),
        "qty": pa.array(f["qty"], pa.float64()),
        "fee": pa.array(f["fee"], pa.float64()),
        "order_id": pa.array(f["order_id"], pa.uint64()),
        "symbol": pa.array([report.get("symbol") or ""] * n, pa.string()),
    })


def write_fills(report: Mapping[str, Any], path: str) -> None:
    """Write the fills of a tick/L2 report (:func:`fills_table`) as CSV or Parquet (by the suffix)."""
    from trader.results import write_arrow

    write_arrow(fills_table(report), path)
