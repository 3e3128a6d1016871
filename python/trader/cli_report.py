"""The report side of the command line: ``trader report`` (a tearsheet from saved runs) and the
helpers behind ``--report`` / ``--returns-out`` of ``backtest``, ``backtest-l2``, ``optimize`` and
``live``. Click and the stdlib at import; numpy, pyarrow and plotly when a report is written."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import click

from trader.exceptions import InvalidInputError

__all__ = ["report", "check_report_path", "check_returns_path", "backtest_record", "write_returns",
           "l2_report", "optimize_report", "live_report"]

REPORT_SUFFIXES = (".html", ".htm")
RETURNS_SUFFIXES = (".csv", ".parquet")


def check_report_path(path: str, option: str = "--report") -> None:
    """Before the run: ``path`` can be written as an HTML report, and plotly is installed."""
    from trader.paths import check_output_file

    check_output_file(path, option, REPORT_SUFFIXES)
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise InvalidInputError(f"{option}: HTML reports need plotly (a dependency of trader): pip install plotly") from None


def check_returns_path(path: str, others: Mapping[str, str | None] | None = None, inputs: Sequence[str] = ()) -> None:
    """Before the run: ``path`` can be written as a returns file (.csv or .parquet), and is neither
    one of the run's ``inputs`` nor a file another option (``others``: {option: path}) writes."""
    from trader.paths import check_output_file

    check_output_file(path, "--returns-out", RETURNS_SUFFIXES)
    real = os.path.realpath(path)
    if any(os.path.realpath(p) == real for p in inputs if p):
        raise InvalidInputError(f"--returns-out: {path}: is an input of this run; writing it would destroy it")
    for option, other in (others or {}).items():
        if other and os.path.realpath(other) == real:
            raise InvalidInputError(f"--returns-out: {path}: also given to {option}")


# -- trader backtest --------------------------------------------------------------------------------


def run_bars(paths: Sequence[str | None], *, source: str | None, symbol: str | None, start: Any, end: Any,
             gap_policy: str, options: Mapping[str, Any], batch_size: int) -> dict[str, Any]:
    """{symbol: ``trader.data.Bars``} of a run's data, read again through the same data sources
    and options as the run (the engine keeps no bars)."""
    from trader.data import Bars
    from trader.plugins import find_data_source

    out: dict[str, Any] = {}
    for path in paths:
        feed = find_data_source(path, source).open(path, symbol=symbol, start=start, end=end, batch_size=batch_size,
                                                   gap_policy=gap_policy, **dict(options))
        parts = [b for b in feed.batches() if len(b)]
        if parts:
            whole = Bars.concat(parts) if len(parts) > 1 else parts[0]
            out[whole.symbol] = whole
    return out


def _bps(v: Any) -> str:
    return f"{float(v):g} bps"


def backtest_settings(p: Mapping[str, Any]) -> dict[str, str]:
    """The settings table of a ``trader backtest`` run from its click parameters."""
    opts = ", ".join(p.get("options") or ())
    data = ", ".join(p.get("paths") or ()) or "synthetic series"
    s: dict[str, str] = {"data": data + (f" ({opts})" if opts else "")}
    if p.get("source_name"):
        s["data source"] = p["source_name"]
    if p.get("start") or p.get("end"):
        s["window"] = f"{p.get('start') or 'start'} .. {p.get('end') or 'end'}"
    s["initial cash"] = f"{float(p['cash']):,.2f}"
    if p.get("fee_model"):
        s["fees"] = p["fee_model"]
    else:
        maker = p.get("maker_fee_bps")
        taker = p.get("taker_fee_bps")
        s["fees"] = (f"maker {_bps(maker if maker is not None else p['fee_bps'])}, taker {_bps(taker if taker is not None else p['fee_bps'])}"
                     if maker is not None or taker is not None else _bps(p["fee_bps"]))
    model = p.get("slippage_model") or "fixed"
    s["slippage"] = {"fixed": _bps(p["slippage_bps"]), "spread": f"spread {_bps(p['spread_bps'])}",
                     "sqrt": f"square-root impact k={p['impact_k']:g}", "none": "none"}.get(model, model)
    s["fill"] = f"market orders at {p['fill_at']}" + (f"; model {p['fill_model']}" if p.get("fill_model") else "")
    if p.get("latency"):
        s["latency"] = p["latency"]
    s["mode"] = p["mode"]
    if p.get("account") == "margin":
        s["margin"] = (f"leverage {p['leverage']:g}, maintenance {float(p['maintenance_margin']) * 100:g}%, "
                       f"liquidation fee {float(p['liquidation_fee']) * 100:g}%"
                       + (f", funding {float(p['funding_rate']) * 100:g}% / 8h" if p.get("funding_rate") is not None else ""))
    risk = []
    if p.get("risk_config"):
        risk.append(f"config {p['risk_config']}")
    risk += list(p.get("risk_limits") or ())
    if p.get("risk_layer_specs"):
        risk.append("layers " + ", ".join(p["risk_layer_specs"]))
    if p.get("risk_bypass"):
        risk.append("BYPASSED")
    s["risk"] = "; ".join(risk) or "structural checks only"
    return s


def backtest_record(result: Any, params: Mapping[str, Any]) -> Any:
    """The :class:`~trader.report.run.RunRecord` of a ``trader backtest`` run (its click
    parameters ``params``): the bars are read again for the price chart and buy-and-hold."""
    from trader.cli import _option_value
    from trader.report.run import from_backtest

    opts = {}
    for item in params.get("options") or ():
        key, _, value = item.partition("=")
        opts[key.strip()] = _option_value(value.strip())
    bars = run_bars(list(params.get("paths") or ()) or [None], source=params.get("source_name"), symbol=params.get("symbol"),
                    start=params.get("start"), end=params.get("end"), gap_policy=params.get("gap_policy") or "report",
                    options=opts, batch_size=int(params.get("batch_size") or 1_000_000))
    return from_backtest(result, bars, backtest_settings(params))


def write_returns(result: Any, path: str) -> None:
    """The run's daily returns as quantstats and pyfolio read them: simple returns of each UTC day
    (from the previous day's last equity, the initial cash for the first day), indexed by date,
    one column ``returns``. CSV: ``date,returns`` rows; Parquet: with pandas installed, the date is
    the stored index (``pandas.read_parquet`` gives it back as a DatetimeIndex), else a column."""
    import numpy as np
    import pyarrow as pa

    from trader.report.compute import DAY_NS, period_returns

    days, r = period_returns(result.equity_ts, result.equity, float(result.stats["initial_cash"]), DAY_NS)
    dates = np.asarray(days, np.int64).astype("datetime64[ns]").astype("datetime64[D]")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        if path.lower().endswith(".csv"):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write("date,returns\n")
                fh.writelines(f"{d},{float(v)!r}\n" for d, v in zip(dates, r))
        else:
            import pyarrow.parquet as pq

            try:
                import pandas as pd
            except ImportError:
                table = pa.table({"date": pa.array(dates, pa.date32()), "returns": pa.array(r, pa.float64())})
            else:
                series = pd.Series(r, index=pd.DatetimeIndex(dates.astype("datetime64[ns]"), name="date"), name="returns")
                table = pa.Table.from_pandas(series.to_frame())
            pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# -- trader backtest-l2 and trader live -------------------------------------------------------------


def l2_report(report: Mapping[str, Any], path: str, params: Mapping[str, Any]) -> None:
    """Write the tearsheet of a ``trader backtest-l2`` run (its report, with its fill columns)."""
    from trader.report import write_run_report
    from trader.report.run import from_l2

    settings = {"recordings": ", ".join(params.get("paths") or ()),
                "parameters": ", ".join(params.get("params") or ()) or "defaults",
                "fees": f"maker {_bps(params.get('maker_fee_bps') or 0)}, taker {_bps(params.get('taker_fee_bps') or 0)}",
                "fill model": params.get("fill_model") or "l2 (default queue model)", "latency": params.get("latency") or "none",
                "leverage": f"{float(params.get('leverage') or 1):g}", "on_book every": f"{params.get('elapse_ms')} ms",
                "bars": params.get("bar") or "none"}
    name = str(params.get("strategy_name") or "native")
    rec = from_l2(dict(report), name=f"{name} on {report.get('symbol') or 'L2'}", settings=settings)
    write_run_report(rec, path)


def live_report(summary: Mapping[str, Any], slots: Sequence[Any], path: str, cash: float | None) -> None:
    """Write the report of a live run: the final status (one column per strategy), then each
    strategy's own sections from its session report (PnL marked at its fills, inventory, fills,
    fees, risk). A strategy without a report (stopped before its session ended) is named."""
    import html

    from trader.report import format as fmt
    from trader.report.run import from_l2
    from trader.report.tearsheet import _Page, _header, _l2_sections, _meta, _table, _wrap, write_page

    node = summary["node"]
    rows = summary["strategies"]
    p = _Page()
    _header(p, f"trader live ({'paper' if node.get('paper') else 'real'})", f"stopped: {node.get('stop_reason')}")
    p.h2("Final status")
    keys = [("feed", lambda r: str(node.get("feed"))), ("symbol", lambda r: str(node.get("symbol") or "")),
            ("events", lambda r: fmt.number(r.get("events"))), ("orders", lambda r: fmt.number(r.get("orders"))),
            ("fills", lambda r: fmt.number(r.get("fills"))), ("position", lambda r: fmt.number(r.get("position"), 6)),
            ("cash", lambda r: fmt.money(r.get("cash"))), ("equity", lambda r: fmt.money(r.get("equity"))),
            ("net PnL", lambda r: fmt.money(r.get("pnl"))), ("fees", lambda r: fmt.money(r.get("fees"))),
            ("max drawdown", lambda r: fmt.pct(r.get("max_drawdown"))),
            ("win rate", lambda r: fmt.DASH if r.get("win_rate") is None else f"{fmt.pct(r['win_rate'], 1)} of {r.get('closing_fills')}"),
            ("tick-to-order p50 / p99", lambda r: fmt.DASH if r.get("latency_p50_us") is None else
             f"{r['latency_p50_us']:.1f} / {r['latency_p99_us']:.1f} µs"),
            ("trading state", lambda r: str(r.get("trading_state"))),
            ("risk denials", lambda r: ", ".join(f"{k}: {n:,}" for k, n in (r.get("risk_denials") or {}).items()) or "none")]
    p.add(_table([""] + [f"{r['id']} ({r['strategy']})" for r in rows], [[k] + [get(r) for r in rows] for k, get in keys]))
    for slot in slots:
        p.add(f"<h2>Strategy {html.escape(str(slot.id))} ({html.escape(str(slot.name))})</h2>")
        if slot.report is None:
            p.note("no session report: the strategy stopped before its session ended")
            continue
        rep = dict(slot.report)
        if not rep.get("initial_cash"):
            rep["initial_cash"] = cash if cash is not None else 10_000.0
        rec = from_l2(rep, name=str(slot.name), settings={"strategy id": slot.id})
        _meta(p, rec)
        _l2_sections(p, rec)
    write_page(_wrap(p, "trader live"), path)


# -- trader optimize --------------------------------------------------------------------------------


def optimize_report(result: Any, path: str, top: int, run: Mapping[str, Any]) -> None:
    """A comparison of a sweep's ``top`` best runs (by its first objective), each run again with
    ``trader backtest`` on the same data and settings (``run``: run_backtest's arguments; ``fixed``
    parameters under "params")."""
    from trader.backtest import run_backtest
    from trader.report import write_comparison
    from trader.report.run import from_backtest
    from trader.research.sweep import OBJECTIVES

    key = str(result.objective).split(",")[0].strip()
    stat = OBJECTIVES[key][0]

    def score(row: Mapping[str, Any]) -> float:
        v = row.get(stat)
        if v is None or v != v:
            return float("-inf")
        return float(v) if result.maximize else -float(v)

    best = sorted(result.rows, key=score, reverse=True)[:top]
    kw = dict(run)
    fixed = dict(kw.pop("params", {}) or {})
    data = kw.pop("data", None)
    bars = run_bars([data], source=None, symbol=None, start=None, end=None, gap_policy="report", options={},
                    batch_size=1_000_000)
    recs = []
    for rank, row in enumerate(best, 1):
        params = {**fixed, **{p: row[p] for p in result.params}}
        r = run_backtest(result.strategy, params, data, **kw)
        label = f"#{rank} " + ", ".join(f"{p}={row[p]}" for p in result.params)
        settings = {"data": data or "synthetic series", "rank": f"{rank} of {len(result.rows)} by {key}",
                    "initial cash": f"{float(kw.get('cash', 10_000.0)):,.2f}"}
        recs.append(from_backtest(r, bars, settings, name=label))
    if len(recs) == 1:
        from trader.report import write_run_report

        write_run_report(recs[0], path)
    else:
        write_comparison(recs, path, title=f"{result.strategy}: the best {len(recs)} of {len(result.rows)} runs by {key}")


# -- trader report ----------------------------------------------------------------------------------


@click.command("report")
@click.argument("runs", nargs=-1, required=True, metavar="DIR...")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), metavar="FILE.html",
              help="The HTML file to write (self-contained, opens offline).")
@click.option("--title", default=None, help="Title of a comparison page (default: 'Comparison of N runs').")
@click.option("--name", "names", multiple=True, metavar="NAME", help="A run's name on the page, one per DIR in order (default: strategy and parameters).")
def report(runs: tuple[str, ...], out_path: str, title: str | None, names: tuple[str, ...]) -> None:
    """Write a tearsheet from saved runs: one DIR gives the run's report, several a comparison
    (overlaid equity, one statistics column per run). A DIR is the --tables-out folder of
    `trader backtest` (it holds run.json)."""
    check_report_path(out_path, "--out")
    if names and len(names) != len(runs):
        raise InvalidInputError(f"--name: {len(names)} names for {len(runs)} runs; give one per DIR or none")
    from trader.report import write_comparison, write_run_report
    from trader.report.run import load_run

    recs = [load_run(d) for d in runs]  # every input read before anything is written
    for rec, name in zip(recs, names):
        rec.name = name
    if len(recs) == 1:
        write_run_report(recs[0], out_path)
    else:
        write_comparison(recs, out_path, title or f"Comparison of {len(recs)} runs")
    click.echo(f"report: {out_path}")
