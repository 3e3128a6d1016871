"""The HTML tearsheet: one self-contained page (plotly.js embedded once, no network fetch of any
kind) for one run — a bar backtest or a tick/L2 run — or for several side by side.

The page declares how many figures it holds (``<meta name="trader-figures" content="N">``) so a
test can check that every one was drawn. A section with no data (no trades, no risk events, a run
too short for monthly returns) is left out with a one-line note instead of an empty chart."""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from trader.report import compute as C
from trader.report import figures as F
from trader.report import format as fmt
from trader.report.run import RunRecord

__all__ = ["render", "render_comparison", "write_page", "HEADLINE", "MAX_TABLE_ROWS"]

#: Rows of the trades/fills tables shown on the page (the rest: --trades-out / --fills-out).
MAX_TABLE_ROWS = 1_000

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f8fa;color:#24292f}
main{max-width:1320px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#57606a;font-size:13px;margin-bottom:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:8px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}
.card .k{font-size:12px;color:#57606a}.card .v{font-size:18px;font-weight:600;margin-top:2px}
.pos{color:#1a7f37}.neg{color:#cf222e}
.fig{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:4px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:8px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f0f3f6}td.l,th.l{text-align:left}
.meta td:first-child{color:#57606a;text-align:left}.meta td{text-align:left;white-space:normal}
.scroll{max-height:520px;overflow:auto;display:inline-block;max-width:100%}
.note{color:#57606a;font-style:italic;margin:6px 0}
.wrap td:last-child{white-space:normal;text-align:left;max-width:760px}
.warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;margin:6px 0}
@media (max-width:1000px){.grid2{grid-template-columns:1fr}}
"""

#: The headline cards of a bar run: (statistic, label).
HEADLINE = [("total_return", "Total return"), ("cagr", "CAGR"), ("sharpe", "Sharpe"), ("sortino", "Sortino"),
            ("max_drawdown", "Max drawdown"), ("calmar", "Calmar"), ("final_equity", "Final equity"),
            ("trades", "Trades"), ("win_rate", "Win rate"), ("profit_factor", "Profit factor"),
            ("exposure", "Exposure"), ("fees_paid", "Fees paid"), ("max_drawdown_duration_s", "Longest drawdown"),
            ("liquidations", "Liquidations"), ("funding_paid", "Funding paid")]

_PCT = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure"}
_MONEY = {"initial_cash", "final_equity", "expectancy", "fees_paid", "funding_paid", "realized_pnl", "unrealized_pnl",
          "fees", "pnl", "equity", "cash"}


class _Page:
    """Sections and figures of one page, rendered in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.figures = 0

    def add(self, text: str) -> None:
        self.parts.append(text)

    def h2(self, title: str) -> None:
        self.parts.append(f"<h2>{html.escape(title)}</h2>")

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def figure(self, fig: Any) -> str:
        """The figure as a div (plotly.js comes once, in the page's head)."""
        import plotly.io as pio

        self.figures += 1
        div = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"fig{self.figures}",
                          config={"displaylogo": False, "responsive": True})
        return f'<div class="fig">{div}</div>'


def stat_text(key: str, v: Any, rec: RunRecord | None = None) -> str:
    """One statistic for people: money to cents, fractions as percentages, durations as d/h/m."""
    cur = rec.currency if rec is not None else ""
    dp = 8 if cur else 2  # a coin-settled L2 run counts money in the coin
    if key in _PCT:
        return fmt.pct(v)
    if key in _MONEY:
        return fmt.money(v, cur, dp)
    if key.endswith("_s") and key not in ("bars_per_s",):
        return fmt.duration(v)
    if key in ("first_ts", "last_ts", "ruin_ts"):
        return fmt.iso(v) if v is not None else fmt.DASH
    if key in ("last_mid",):
        return fmt.price(v, rec.price_precision if rec else 2)
    if key in ("bars_per_s",):
        return fmt.number(v, 0)
    return fmt.number(v, 2) if not isinstance(v, str) else v


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, cls: str = "") -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{html.escape(c)}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _cards(items: list[tuple[str, str, float | None]]) -> str:
    out = []
    for label, text, sign in items:
        shown_zero = not any(ch in "123456789" for ch in text)  # rounds to zero: no colour
        cls = "" if sign is None or sign == 0 or shown_zero else ("pos" if sign > 0 else "neg")
        out.append(f'<div class="card"><div class="k">{html.escape(label)}</div><div class="v {cls}">{html.escape(text)}</div></div>')
    return f'<div class="cards">{"".join(out)}</div>'


def _header(p: _Page, title: str, sub: str) -> None:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    p.add(f"<h1>{html.escape(title)}</h1><div class=\"sub\">{html.escape(sub)} · generated {now} · all times UTC</div>")


def _meta(p: _Page, rec: RunRecord) -> None:
    p.h2("Run")
    p.add(_table(["setting", "value"], rec.meta, left=2, cls="meta"))
    for w in rec.warnings:
        p.add(f'<div class="warn">warning: {html.escape(w)}</div>')


def _bar_sections(p: _Page, rec: RunRecord) -> None:
    s = rec.summary
    p.h2("Headline")
    cards = []
    for key, label in HEADLINE:
        if key in s:
            v = s.get(key)
            sign = None
            if key in ("total_return", "cagr", "sharpe", "sortino", "calmar") and isinstance(v, (int, float)):
                sign = float(v)
            cards.append((label, stat_text(key, v, rec), sign))
    if rec.benchmark is not None and len(rec.benchmark):
        bh = float(rec.benchmark[-1]) / rec.initial_cash - 1.0
        cards.append(("Buy-and-hold return", fmt.pct(bh), bh))
    p.add(_cards(cards))
    if s.get("ruined"):
        p.add(f'<div class="warn">ruined: equity reached zero at {fmt.iso(s.get("ruin_ts"))} UTC; returns stop there</div>')
    if s.get("annualized_from_days") is not None:
        p.note(f"annualized figures come from a span of {fmt.duration(s['annualized_from_days'] * 86400)} (under a year)")
    from trader.report import format_stats

    p.add('<details><summary>every statistic</summary>' + _table(["statistic", "value"], format_stats(s)) + "</details>")

    p.h2("Equity")
    p.add(p.figure(F.equity_figure(rec)))
    if rec.benchmark is None:
        p.note("no buy-and-hold line: the run's bars were not available to the report")
    liq = F._liquidations(rec)
    if len(liq):
        p.add(f'<div class="warn">{len(liq):,} liquidation(s), the first at {fmt.iso(int(liq[0]))} UTC (marked ✕)</div>')
    elif s.get("liquidations"):
        p.add(f'<div class="warn">{int(s["liquidations"]):,} liquidation(s)</div>')

    p.h2("Drawdowns")
    periods = C.drawdown_periods(rec.equity_ts, rec.equity, 5)
    if periods:
        p.add(p.figure(F.drawdown_figure(rec)))
        rows = [(str(i + 1), fmt.iso(d.start, False), fmt.iso(d.trough, False),
                 fmt.iso(d.recovery, False) if d.recovery is not None else "not recovered", fmt.pct(-d.depth),
                 fmt.duration(d.length_s)) for i, d in enumerate(periods)]
        p.add(_table(["#", "start (peak)", "trough", "recovery", "depth", "length"], rows, left=4))
    else:
        p.note("no drawdown: equity never fell below a previous peak")

    p.h2("Returns")
    span_ns = int(rec.equity_ts[-1] - rec.equity_ts[0]) if len(rec.equity_ts) > 1 else 0
    if span_ns >= 28 * C.DAY_NS:
        p.add(p.figure(F.monthly_heatmap(rec)))
    else:
        p.note(f"no monthly returns: the run spans {fmt.duration(span_ns / 1e9)}, under four weeks")
    if span_ns >= 365 * C.DAY_NS:
        p.add(p.figure(F.yearly_bars(rec)))
    else:
        p.note("no yearly returns: the run spans under a year")
    period = C.choose_period(span_ns, rec.interval_ns)
    pname = {C.DAY_NS: "daily", 3_600 * 10**9: "hourly", 60 * 10**9: "minute"}.get(period, "per-bar")
    pts, rets = C.period_returns(rec.equity_ts, rec.equity, rec.initial_cash, period)
    if len(rets) >= 2 and not np.any(rets != 0):
        p.note(f"no return distribution or rolling statistics: every {pname} return was 0")
    elif len(rets) >= 2:
        window = max(5, min(30, len(rets) // 4))
        p.add('<div class="grid2">' + p.figure(F.returns_histogram(rets, pname))
              + (p.figure(F.rolling_figure(pts, rets, window, C.YEAR_NS / period, pname)) if len(rets) >= 2 * window else "")
              + "</div>")
        if len(rets) < 2 * window:
            p.note(f"no rolling statistics: {len(rets)} {pname} returns are too few")
    else:
        p.note("no return distribution: fewer than two return periods")
    if rec.exposure is not None and np.nanmax(np.abs(rec.exposure), initial=0.0) > 0:
        p.add(p.figure(F.exposure_figure(rec)))
    elif rec.exposure is not None:
        p.note("no exposure: the run never held a position")

    p.h2("Price and trades")
    if rec.candles is not None and len(rec.candles["ts"]):
        p.add(p.figure(F.price_figure(rec)))
    else:
        p.note("no price chart: the run's bars were not available to the report")
    _trades_table(p, rec)
    _risk_section(p, rec)


def _trades_table(p: _Page, rec: RunRecord) -> None:
    t = rec.trades
    n = len(t.get("pnl", [])) if t else 0
    if not n:
        p.note("no round trips: the strategy never opened a position")
        return
    if "entry_time" not in t:
        p.note(f"{n:,} round trips (this venue reports no entry/exit detail)")
        return
    dp = rec.price_precision
    keep = np.arange(min(n, MAX_TABLE_ROWS))
    rows = []
    for i in keep:
        rows.append((fmt.iso(int(t["entry_time"][i])), fmt.iso(int(t["exit_time"][i])) + ("" if t["closed"][i] else " (open)"),
                     str(t["symbol"][i]), str(t["side"][i]), fmt.price(t["entry_price"][i], dp), fmt.price(t["exit_price"][i], dp),
                     fmt.number(float(t["qty"][i]), 6).rstrip("0").rstrip("."), fmt.money(t["pnl"][i]),
                     fmt.pct(t["return"][i]), fmt.money(t["fees"][i]), fmt.duration(t["holding_s"][i]),
                     str(t["exit_reason"][i]), fmt.money(t["mae"][i]), fmt.money(t["mfe"][i])))
    more = f" (the first {MAX_TABLE_ROWS:,}; --trades-out writes all)" if n > MAX_TABLE_ROWS else ""
    still_open = int(n - int(np.count_nonzero(np.asarray(t["closed"], dtype=bool))))
    held = f", {still_open:,} of them still open at the end (marked at the last bar)" if still_open else ""
    p.add(f"<h3>Round trips: {n:,}{held}{more}</h3>")
    p.add('<div class="scroll">' + _table(["entry", "exit", "symbol", "side", "entry price", "exit price", "qty", "PnL",
                                            "return", "fees", "held", "exit reason", "MAE", "MFE"], rows, left=4) + "</div>")


def _risk_section(p: _Page, rec: RunRecord) -> None:
    p.h2("Risk")
    risk = rec.risk
    denials = {k: v for k, v in (risk.get("denials") or {}).items() if v}
    changes = risk.get("changes") or []
    if not risk:
        p.note("no risk report: the run had no risk engine data")
        return
    p.add(f"<p>final trading state: <b>{html.escape(str(risk.get('state', '?')).upper())}</b></p>")
    if denials:
        ex = risk.get("examples") or {}
        rows = [(k, f"{v:,}", str(ex.get(k, ""))) for k, v in sorted(denials.items(), key=lambda kv: -kv[1])]
        p.add(_table(["denied because", "orders", "first occurrence"], rows, left=1, cls="wrap"))
    else:
        p.note("no order was denied by the risk engine")
    vetoes = {k: v for k, v in (risk.get("vetoes_by_layer") or {}).items() if v}
    if vetoes:
        p.add(_table(["risk layer", "vetoes"], [(k, f"{v:,}") for k, v in vetoes.items()]))
    if changes:
        p.add(p.figure(F.risk_state_figure(rec)))
        spent = {k: v for k, v in (risk.get("time_in_state") or {}).items() if v}
        if spent:
            total = sum(spent.values()) or 1.0
            p.add(_table(["state", "time", "share"], [(k.upper(), fmt.duration(v), fmt.pct(v / total, 1)) for k, v in spent.items()]))
    else:
        p.note("no trading-state change: the run stayed ACTIVE")


def _l2_sections(p: _Page, rec: RunRecord) -> None:
    s = rec.summary
    p.h2("Headline")
    cur, dp = rec.currency, 8 if rec.currency else 2
    pnl = s.get("pnl")
    cards = [("Net PnL", fmt.money(pnl, cur, dp), pnl), ("Realized PnL", fmt.money(s.get("realized_pnl"), cur, dp), None),
             ("Unrealized PnL", fmt.money(s.get("unrealized_pnl"), cur, dp), None),
             ("Fees (− rebates)", fmt.money(s.get("fees"), cur, dp), None),
             ("Equity at last mid", fmt.money(s.get("equity"), cur, dp), None),
             ("Position", fmt.number(s.get("position"), int(s.get("size_precision") or 6)), None),
             ("Fills", f"{fmt.number(s.get('fills'))} ({fmt.number(s.get('maker_fills'))} maker)", None),
             ("Orders", fmt.number(s.get("orders")), None), ("Volume", fmt.number(s.get("volume"), 6), None),
             ("Max drawdown", fmt.pct(-float(C.underwater(rec.equity).min()) if len(rec.equity) else None), None)]
    p.add(_cards(cards))
    rows = [(k, stat_text(k, v, rec)) for k, v in s.items()]
    p.add('<details><summary>every figure of the run</summary>' + _table(["figure", "value"], rows) + "</details>")
    p.h2("PnL, inventory and fills")
    if len(rec.equity_ts) >= 2:
        for _, fig in F.l2_figures(rec):
            p.add(p.figure(fig))
    else:
        p.note("no PnL or inventory chart: the run saw no market events")
    f = rec.fills
    n = len(f.get("ts", []))
    if n and not np.any(np.asarray(f["fee"]) != 0):
        p.note("no fees or rebates: every fill's fee was 0")
    if n:
        idx = np.arange(max(0, n - MAX_TABLE_ROWS), n)
        rows2 = [(fmt.iso(int(f["ts"][i])), "BUY" if f["side"][i] > 0 else "SELL", fmt.price(f["price"][i], rec.price_precision),
                  fmt.number(float(f["qty"][i]), 8).rstrip("0").rstrip("."), fmt.money(f["fee"][i], "", dp),
                  ("MAKER" if f["maker"][i] else "TAKER") if "maker" in f else "") for i in idx]
        more = f" (the last {MAX_TABLE_ROWS:,}; --fills-out writes all)" if n > MAX_TABLE_ROWS else ""
        p.add(f"<h3>Fills: {n:,}{more}</h3>")
        p.add('<div class="scroll">' + _table(["time", "side", "price", "qty", "fee", "liquidity"], rows2, left=2) + "</div>")
    else:
        p.note("no fills: the strategy's orders never traded")
    _risk_section(p, rec)


def render(rec: RunRecord, extra: str = "") -> str:
    """The page of one run (bar or L2). ``extra``: HTML put before the run's sections (the live
    summary table)."""
    p = _Page()
    _header(p, rec.name, "bar backtest" if rec.kind == "bars" else "tick/L2 run")
    if extra:
        p.add(extra)
    _meta(p, rec)
    if rec.kind == "bars":
        _bar_sections(p, rec)
    else:
        _l2_sections(p, rec)
    return _wrap(p, rec.name)


def _comparison_rows(recs: Sequence[RunRecord]) -> list[list[str]]:
    keys = [k for k, _ in HEADLINE] + ["max_drawdown_duration_s", "expectancy", "bars"]
    if any(r.kind == "l2" for r in recs):
        keys = ["pnl", "realized_pnl", "unrealized_pnl", "fees", "equity", "position", "fills", "orders", "volume"]
    rows = []
    for k in keys:
        if not any(k in r.summary for r in recs):
            continue
        rows.append([k.removesuffix("_s")] + [stat_text(k, r.summary.get(k), r) if k in r.summary else fmt.DASH for r in recs])
    rows.append(["buy-and-hold return"] + [fmt.pct(float(r.benchmark[-1]) / r.initial_cash - 1) if r.benchmark is not None and len(r.benchmark)
                                           else fmt.DASH for r in recs])
    rows.append(["deepest drawdown period"] + [
        (lambda d: f"{fmt.pct(-d[0].depth)} over {fmt.duration(d[0].length_s)}" if d else fmt.DASH)(
            C.drawdown_periods(r.equity_ts, r.equity, 1)) for r in recs])
    return rows


def render_comparison(recs: Sequence[RunRecord], title: str = "Comparison") -> str:
    """The page of several runs side by side: overlaid equity curves and drawdowns, a statistics
    table with one column per run, and each run's settings (the rows that differ first)."""
    if len(recs) < 2:
        raise ValueError(f"a comparison needs at least two runs, got {len(recs)}")
    p = _Page()
    _header(p, title, f"{len(recs)} runs side by side")
    p.h2("Statistics")
    names = [r.name for r in recs]
    p.add('<div class="scroll">' + _table(["statistic"] + names, _comparison_rows(recs)) + "</div>")
    p.h2("Equity")
    eq, dd = F.compare_equity(list(recs))
    p.add(p.figure(eq))
    p.add(p.figure(dd))
    p.h2("Settings")
    labels: list[str] = []
    for r in recs:
        for k, _ in r.meta:
            if k not in labels:
                labels.append(k)
    values = [[dict(r.meta).get(k, fmt.DASH) for r in recs] for k in labels]
    differ = [i for i, v in enumerate(values) if len(set(v)) > 1]
    same = [i for i, v in enumerate(values) if len(set(v)) == 1]
    rows = [[labels[i] + (" (differs)" if i in differ else "")] + values[i] for i in differ + same]
    p.add('<div class="scroll">' + _table(["setting"] + names, rows, cls="meta") + "</div>")
    return _wrap(p, title)


def _wrap(p: _Page, title: str) -> str:
    from plotly.offline import get_plotlyjs

    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="trader-figures" content="{p.figures}"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body><main>"
            + "\n".join(p.parts) + "</main></body></html>")


def write_page(page: str, path: str) -> None:
    """Write ``page`` to ``path`` through a temporary file beside it: an existing report is
    replaced only by a complete one."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
