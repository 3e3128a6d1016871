"""What a tearsheet is drawn from: a :class:`RunRecord`, built from a bar backtest's result (plus
its bars), from a tick/L2 report (``trader backtest-l2``, a live strategy's report), and saved to
or loaded from a folder so ``trader report DIR`` draws the same page later.

A saved run is a folder holding ``run.json`` (name, kind, metadata, summary, risk report),
``equity.parquet`` (ts, equity, and where known benchmark, exposure, position), ``candles.parquet``
(the price chart's candles, already downsampled), ``fills.parquet`` and ``trades.parquet``.
``trader backtest --tables-out DIR`` writes these beside its other tables."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError
from trader.report.compute import buy_and_hold, downsample_ohlc, position_at

__all__ = ["RunRecord", "from_backtest", "from_l2", "save_run", "load_run", "MAX_CANDLES", "RUN_FILE"]

#: Most candles a price chart draws: a longer run's bars are aggregated into coarser candles.
MAX_CANDLES = 2_000
RUN_FILE = "run.json"
_VERSION = 1


@dataclasses.dataclass
class RunRecord:
    """One run, as the tearsheet needs it.

    ``kind``: "bars" (a bar backtest) or "l2" (tick/L2: a ``backtest-l2`` or live strategy's
    report). ``meta``: the run's settings as (label, text) rows, in order. ``summary``: the
    statistics (the keys of ``BacktestResult.summary()`` or of an L2 report). Arrays are numpy:
    ``equity_ts``/``equity`` the equity curve (L2: marked at each fill's price);
    ``benchmark`` buy-and-hold equity at the same times (None: no bars); ``exposure`` gross
    position value over equity, ``position`` the signed position (one instrument) at the same
    times; ``candles`` ts/open/high/low/close (+ ``bars_per_candle``); ``fills`` ts, side (+1/-1),
    price, qty, fee (+ maker); ``trades`` the round-trip columns of ``BacktestResult.trades_table``;
    ``risk`` the risk report; ``price_precision`` decimals of prices; ``currency`` of the money."""

    name: str
    kind: str
    meta: list[tuple[str, str]]
    summary: dict[str, Any]
    equity_ts: np.ndarray
    equity: np.ndarray
    initial_cash: float
    interval_ns: int = 0
    benchmark: np.ndarray | None = None
    exposure: np.ndarray | None = None
    position: np.ndarray | None = None
    candles: dict[str, Any] | None = None
    fills: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    trades: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    risk: dict[str, Any] = dataclasses.field(default_factory=dict)
    price_precision: int = 2
    currency: str = ""
    warnings: list[str] = dataclasses.field(default_factory=list)


def _version() -> str:
    import trader

    return str(trader.__version__)


def _span_rows(first: int | None, last: int | None, interval_ns: int) -> list[tuple[str, str]]:
    from trader.data._time import interval_name
    from trader.report.format import duration, iso

    if first is None or last is None:
        return [("span", "no data")]
    rows = [("span", f"{iso(first)} .. {iso(last)} UTC ({duration((last - first) / 1e9)})")]
    if interval_ns:
        rows.append(("bar interval", interval_name(interval_ns)))
    return rows


def from_backtest(result: Any, bars: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                  name: str | None = None) -> RunRecord:
    """A bar backtest's record. ``bars``: {symbol: :class:`trader.data.Bars`} of the run's data
    (None: no price chart, benchmark or exposure); ``settings``: what the run was given, as
    labelled values for the metadata table (data, fees, slippage, fill model, risk...)."""
    from trader.kernel import infer_price_precision
    from trader.results import curve_interval

    s = result.summary()
    ts = np.asarray(result.equity_ts, dtype=np.int64)
    eq = np.asarray(result.equity, dtype=np.float64)
    cash = float(s.get("initial_cash") or 0.0)
    interval = curve_interval(ts, 0)
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    label = name or f"{result.strategy}({params})"
    meta: list[tuple[str, str]] = [("strategy", result.strategy), ("parameters", params or "none"),
                                   ("instruments", ", ".join(result.symbols))]
    meta += _span_rows(int(ts[0]) if len(ts) else None, int(ts[-1]) if len(ts) else None, interval)
    meta += [(k, str(v)) for k, v in (settings or {}).items() if v is not None and v != ""]
    acct = result.account or {}
    if acct.get("account"):
        meta.append(("account", str(acct["account"])))
    meta.append(("trader version", _version()))
    f = result.fills
    fills: dict[str, np.ndarray] = {"ts": np.asarray(f["ts"], np.int64), "side": np.where(np.asarray(f["side"]) > 0, 1, -1).astype(np.int8),
             "price": np.asarray(f["price"], np.float64), "qty": np.asarray(f["qty"], np.float64),
             "fee": np.asarray(f["fee"], np.float64), "instrument": np.asarray(f["instrument"], np.int64)}
    trades: dict[str, np.ndarray] = {}
    tt = result.trades_table()
    for c in tt.column_names:
        col = tt.column(c)
        trades[c] = np.asarray(col.to_numpy(zero_copy_only=False))
        if c in ("entry_time", "exit_time"):
            trades[c] = np.asarray(col.cast("int64").to_numpy(zero_copy_only=False), np.int64)
    rec = RunRecord(name=label, kind="bars", meta=meta, summary=s, equity_ts=ts, equity=eq, initial_cash=cash,
                    interval_ns=interval, fills=fills, trades=trades, risk=dict(result.risk or {}),
                    warnings=list(result.warnings))
    if bars:
        first = bars.get(result.symbols[0]) if result.symbols else None
        if first is not None and len(first.ts):
            rec.price_precision = infer_price_precision(first.open, first.high, first.low, first.close)
            rec.benchmark = buy_and_hold(ts, first.ts, first.open, first.close, cash)
            t, o, h, lo, c, k = downsample_ohlc(first.ts, first.open, first.high, first.low, first.close, MAX_CANDLES)
            rec.candles = {"ts": t, "open": o, "high": h, "low": lo, "close": c, "bars_per_candle": k,
                           "symbol": result.symbols[0]}
        gross = np.zeros(len(ts))
        signed = fills["side"] * fills["qty"]
        for i, sym in enumerate(result.symbols):
            b = bars.get(sym)
            mine = fills["instrument"] == i
            pos = position_at(ts, fills["ts"][mine], signed[mine])
            if i == 0:
                rec.position = pos
            if b is None or not len(b.ts):
                continue
            j = np.clip(np.searchsorted(b.ts, ts, side="right") - 1, 0, None)
            gross += np.abs(pos * np.asarray(b.close)[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            rec.exposure = np.where(eq > 0, gross / eq, np.nan)
    return rec


def from_l2(report: dict[str, Any], name: str | None = None, settings: dict[str, Any] | None = None) -> RunRecord:
    """A tick/L2 run's record (``trader.run_l2_backtest``'s report with its ``fill_columns``, or a
    live strategy's report): the equity curve is cash plus position marked at each fill's price
    (the only prices the report keeps), starting from the initial cash."""
    f = report.get("fill_columns") or {}
    ts = np.asarray(f.get("ts", []), np.int64)
    side = np.where(np.asarray(f.get("side", []), np.float64) > 0, 1, -1).astype(np.int8)
    px = np.asarray(f.get("price", []), np.float64)
    qty = np.asarray(f.get("qty", []), np.float64)
    fee = np.asarray(f.get("fee", []), np.float64)
    cash0 = float(report.get("initial_cash") or 0.0)
    order = np.argsort(ts, kind="stable")
    ts, side, px, qty, fee = ts[order], side[order], px[order], qty[order], fee[order]
    signed = side * qty
    pos = np.cumsum(signed)
    cash = cash0 - np.cumsum(signed * px) - np.cumsum(fee)
    equity = cash + pos * px
    first, last = report.get("first_ts"), report.get("last_ts")
    if first is not None and last is not None:  # the curve spans the run: flat at the start, last mark at the end
        end_eq = float(report.get("equity", equity[-1] if len(equity) else cash0))
        ts_c = np.r_[int(first), ts, int(last)]
        eq_c = np.r_[cash0, equity, end_eq]
        pos_c = np.r_[0.0, pos, pos[-1] if len(pos) else 0.0]
    else:
        ts_c, eq_c, pos_c = ts, equity, pos
    dp = int(report.get("price_precision") or 2)
    unit = report.get("pnl_currency") or ""
    meta: list[tuple[str, str]] = [("strategy", str(report.get("strategy") or name or "native market maker")),
                                   ("instrument", str(report.get("symbol") or "")),
                                   ("market", str(report.get("market") or "")), ("account", str(report.get("account") or ""))]
    meta += _span_rows(first, last, 0)
    meta += [(k, str(v)) for k, v in (settings or {}).items() if v is not None and v != ""]
    meta.append(("trader version", _version()))
    summary = {k: v for k, v in report.items() if k not in ("fill_columns", "audit", "risk") and not isinstance(v, (dict, list))}
    fills: dict[str, np.ndarray] = {"ts": ts, "side": side, "price": px, "qty": qty, "fee": fee}
    if "maker" in f:
        fills["maker"] = np.asarray(f["maker"], bool)[order]
    return RunRecord(name=name or str(report.get("symbol") or "L2 run"), kind="l2", meta=meta, summary=summary,
                     equity_ts=ts_c, equity=eq_c, initial_cash=cash0, position=pos_c, fills=fills,
                     risk=dict(report.get("risk") or {}), price_precision=dp, currency=unit)


# -- saving and loading -----------------------------------------------------------------------------


def _json_safe(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def save_run(rec: RunRecord, folder: str) -> None:
    """Write ``rec`` into ``folder`` (created if missing): run.json and Parquet tables."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(folder, exist_ok=True)
    eq = {"ts": pa.array(rec.equity_ts, pa.timestamp("ns", tz="UTC")), "equity": pa.array(rec.equity, pa.float64())}
    for k in ("benchmark", "exposure", "position"):
        v = getattr(rec, k)
        if v is not None:
            eq[k] = pa.array(np.asarray(v, np.float64), pa.float64(), from_pandas=True)
    pq.write_table(pa.table(eq), os.path.join(folder, "equity.parquet"))
    if rec.candles is not None:
        c = rec.candles
        pq.write_table(pa.table({"ts": pa.array(c["ts"], pa.timestamp("ns", tz="UTC")),
                                 **{k: pa.array(c[k], pa.float64()) for k in ("open", "high", "low", "close")}}),
                       os.path.join(folder, "candles.parquet"))
    fills = {k: pa.array(v) for k, v in rec.fills.items()}
    fills["ts"] = pa.array(rec.fills.get("ts", np.empty(0, np.int64)), pa.timestamp("ns", tz="UTC"))
    pq.write_table(pa.table(fills), os.path.join(folder, "report_fills.parquet"))
    if rec.trades:
        cols = {k: pa.array(v) for k, v in rec.trades.items()}
        for k in ("entry_time", "exit_time"):
            if k in cols:
                cols[k] = pa.array(rec.trades[k], pa.timestamp("ns", tz="UTC"))
        pq.write_table(pa.table(cols), os.path.join(folder, "report_trades.parquet"))
    doc = {"format": "trader-run", "version": _VERSION, "name": rec.name, "kind": rec.kind, "meta": rec.meta,
           "summary": rec.summary, "risk": rec.risk, "initial_cash": rec.initial_cash, "interval_ns": rec.interval_ns,
           "price_precision": rec.price_precision, "currency": rec.currency, "warnings": rec.warnings,
           "bars_per_candle": rec.candles["bars_per_candle"] if rec.candles else None,
           "candle_symbol": rec.candles.get("symbol") if rec.candles else None}
    tmp = os.path.join(folder, RUN_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(_json_safe(doc), fh, indent=1)
    os.replace(tmp, os.path.join(folder, RUN_FILE))  # run.json last: a folder with it is complete


def _ns(col: Any) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("ns", tz=col.type.tz)).cast(pa.int64())
    return np.asarray(col.to_numpy(zero_copy_only=False), np.int64)


def load_run(folder: str) -> RunRecord:
    """The run saved in ``folder`` by :func:`save_run`; a folder without one, or with a damaged
    file, is an :class:`~trader.exceptions.InvalidInputError` naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.path.join(folder, RUN_FILE)
    if not os.path.isdir(folder):
        raise InvalidInputError(f"{folder}: not a folder (give the --tables-out folder of a backtest)")
    if not os.path.isfile(path):
        raise InvalidInputError(f"{folder}: holds no {RUN_FILE} (write one with trader backtest --tables-out {folder})")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        if doc.get("format") != "trader-run":
            raise InvalidInputError(f"{path}: not a trader run file")
        if doc.get("version") != _VERSION:
            raise InvalidInputError(f"{path}: run file version {doc.get('version')!r}; this trader reads version {_VERSION}")
        eq = pq.read_table(os.path.join(folder, "equity.parquet"))
        rec = RunRecord(name=doc["name"], kind=doc["kind"], meta=[(str(a), str(b)) for a, b in doc["meta"]],
                        summary=doc["summary"], equity_ts=_ns(eq.column("ts")),
                        equity=np.asarray(eq.column("equity").to_numpy(), np.float64),
                        initial_cash=float(doc["initial_cash"]), interval_ns=int(doc.get("interval_ns") or 0),
                        risk=doc.get("risk") or {}, price_precision=int(doc.get("price_precision") or 2),
                        currency=str(doc.get("currency") or ""), warnings=list(doc.get("warnings") or []))
        for k in ("benchmark", "exposure", "position"):
            if k in eq.column_names:
                setattr(rec, k, np.asarray(eq.column(k).to_numpy(zero_copy_only=False), np.float64))
        cpath = os.path.join(folder, "candles.parquet")
        if os.path.isfile(cpath):
            c = pq.read_table(cpath)
            rec.candles = {"ts": _ns(c.column("ts")), **{k: np.asarray(c.column(k).to_numpy(), np.float64)
                                                        for k in ("open", "high", "low", "close")},
                           "bars_per_candle": int(doc.get("bars_per_candle") or 1), "symbol": doc.get("candle_symbol") or ""}
        fl = pq.read_table(os.path.join(folder, "report_fills.parquet"))
        rec.fills = {k: (_ns(fl.column(k)) if k == "ts" else np.asarray(fl.column(k).to_numpy(zero_copy_only=False)))
                     for k in fl.column_names}
        tpath = os.path.join(folder, "report_trades.parquet")
        if os.path.isfile(tpath):
            tt = pq.read_table(tpath)
            rec.trades = {k: (_ns(tt.column(k)) if pa.types.is_timestamp(tt.column(k).type)
                              else np.asarray(tt.column(k).to_numpy(zero_copy_only=False))) for k in tt.column_names}
    except InvalidInputError:
        raise
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as e:
        raise InvalidInputError(f"{folder}: cannot read the saved run: {e}") from None
    return rec
