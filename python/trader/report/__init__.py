"""Human-readable reports of a run: a rich summary on the terminal (here) and the HTML tearsheet
(:mod:`trader.report.tearsheet`, drawn from a :class:`trader.report.run.RunRecord`)."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from trader.results import BacktestResult

__all__ = ["print_summary", "write_html", "format_stats", "risk_lines", "write_run_report", "write_comparison"]

_PERCENT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure"}
_ORDER = [
    "initial_cash", "final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "max_drawdown_duration_s",
    "calmar", "trades", "win_rate", "profit_factor", "expectancy", "exposure", "fees_paid", "bars", "orders", "fills",
    "elapsed_s", "bars_per_s",
]


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "inf" if v > 0 else "-inf"
        if key in _PERCENT:
            return f"{v * 100:.2f}%"
        if key == "max_drawdown_duration_s":
            return f"{v / 86400:.2f} d"
        if key == "bars_per_s":
            return f"{v:,.0f}"
        return f"{v:,.4f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def format_stats(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The statistics as (name, text) rows. Annualized figures over a span under a year say so;
    a ruined run says when; a CAGR too large for a float gives its annual log return."""
    rows = []
    span = summary.get("annualized_from_days")
    for k in _ORDER:
        if k not in summary:
            continue
        text = _fmt(k, summary.get(k))
        if k in ("cagr", "sharpe", "sortino", "calmar") and span is not None and summary.get(k) is not None:
            text += f" (annualized from {_span(span)})"
        if k == "cagr" and summary.get(k) is None and summary.get("cagr_log") is not None:
            text = f"too large for a float: e^{summary['cagr_log']:,.0f} a year (from {_span(span or summary.get('span_days') or 0)})"
        # the JSON key says its unit (seconds); the row shows days, so its name drops the unit
        rows.append(("max_drawdown_duration" if k == "max_drawdown_duration_s" else k, text))
    if summary.get("ruined"):
        when = summary.get("ruin_ts")
        at = f" at {np.datetime64(int(when), 'ns').astype('datetime64[s]')} UTC" if when is not None else ""
        rows.insert(2, ("ruined", f"yes: equity reached zero{at}; returns stop there"))
    return rows


def _span(days: float) -> str:
    """A span for people: hours under two days, else days."""
    return f"{days * 24:.1f} h" if days < 2 else f"{days:.1f} d"


def print_summary(result: BacktestResult) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result.summary()
    con = Console() if sys.stdout.isatty() else Console(width=120)
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    table = Table(title=f"{result.strategy}({params}) on {', '.join(result.symbols)}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for k, v in format_stats(s):
        table.add_row(k, v)
    con.print(table)
    for gap in result.meta.get("gaps", []):
        con.print(f"[yellow]gaps in {gap.get('path', 'data')}: {gap.get('count')} ({gap.get('missing_bars')} missing bars; policy {gap.get('policy')})")
    if result.open_orders:
        con.print(f"{len(result.open_orders)} order(s) still open at the end (not filled).")
    if result.risk:
        for line in risk_lines(result.risk):
            con.print(line, markup=False, highlight=False)


def risk_lines(risk: dict) -> list[str]:
    """The risk report as text lines: state, denials by reason, state changes, time per state."""
    out = [f"risk: final state {risk.get('state', '?').upper()}"]
    denials = {k: v for k, v in risk.get("denials", {}).items() if v}
    if denials:
        out.append("  denied: " + ", ".join(f"{k} {v}" for k, v in sorted(denials.items(), key=lambda kv: -kv[1])))
        # the first denial of each reason, in its own words (with its numbers)
        for k, example in risk.get("examples", {}).items():
            if k in denials:
                out.append(f"    first {k}: {example}")
    vetoes = {k: v for k, v in risk.get("vetoes_by_layer", {}).items() if v}
    if vetoes:
        out.append("  vetoed by layer: " + ", ".join(f"{k} {v}" for k, v in vetoes.items()))
    if risk.get("resized"):
        out.append(f"  resized by layers: {risk['resized']}")
    changes = risk.get("changes", [])
    for c in changes[:20]:
        when = np.datetime64(int(c["ts"]), "ns").astype("datetime64[s]")
        out.append(f"  {when} {c['from'].upper()} -> {c['to'].upper()} ({c['source']}: {c['reason']})")
    if len(changes) > 20:
        out.append(f"  ... and {len(changes) - 20} more state changes")
    spent = {k: v for k, v in risk.get("time_in_state", {}).items() if v}
    if spent:
        total = sum(spent.values()) or 1.0
        out.append("  time in state: " + ", ".join(f"{k} {v / total:.1%}" for k, v in spent.items()))
    return out


def write_html(result: BacktestResult, path: str, bars: dict[str, Any] | None = None,
               settings: dict[str, Any] | None = None) -> None:
    """Write the tearsheet of a bar backtest to ``path``: one self-contained HTML page (plotly.js
    embedded, no network fetch) with the run's settings, headline statistics, equity against
    buy-and-hold, drawdowns, period returns, rolling statistics, exposure, the price with the
    trades, the round trips and the risk report. ``bars``: {symbol: ``trader.data.Bars``} of the
    run (without them: no price chart, buy-and-hold or exposure); ``settings``: labelled values
    for the settings table (see :func:`trader.report.run.from_backtest`)."""
    from trader.report.run import from_backtest
    from trader.report.tearsheet import render, write_page

    write_page(render(from_backtest(result, bars, settings)), path)


def write_run_report(rec: Any, path: str, extra: str = "") -> None:
    """Write the tearsheet of one :class:`~trader.report.run.RunRecord` (bar or L2) to ``path``."""
    from trader.report.tearsheet import render, write_page

    write_page(render(rec, extra), path)


def write_comparison(recs: list[Any], path: str, title: str = "Comparison") -> None:
    """Write a comparison page of several :class:`~trader.report.run.RunRecord` to ``path``."""
    from trader.report.tearsheet import render_comparison, write_page

    write_page(render_comparison(recs, title), path)
