"""The tearsheet's plotly figures, one function each, from a :class:`~trader.report.run.RunRecord`.

Long series are reduced before they reach plotly (:func:`trader.report.compute.downsample_line`,
candles aggregated by :func:`~trader.report.compute.downsample_ohlc`), so a million-bar run draws
a few thousand points per figure. Times are UTC."""

from __future__ import annotations

from typing import Any

import numpy as np

from trader.report import compute as C
from trader.report.run import RunRecord

__all__ = ["MAX_POINTS", "equity_figure", "drawdown_figure", "monthly_heatmap", "yearly_bars", "returns_histogram",
           "rolling_figure", "exposure_figure", "price_figure", "risk_state_figure", "l2_figures", "compare_equity"]

#: Most points a line keeps (per trace).
MAX_POINTS = 4_000
HEIGHT = 380
_LAYOUT = dict(template="plotly_white", height=HEIGHT, margin=dict(l=60, r=20, t=64, b=40),
               legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1), hovermode="x unified")


def _t(ts: np.ndarray) -> np.ndarray:
    return np.asarray(ts, dtype=np.int64).astype("datetime64[ns]").astype("datetime64[ms]")


def _fig(title: str, **layout: Any) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(**{**_LAYOUT, "title": dict(text=title, x=0, font=dict(size=15)), **layout})
    return fig


def _line(ts: np.ndarray, y: np.ndarray, **kw: Any) -> Any:
    import plotly.graph_objects as go

    t, v = C.downsample_line(ts, y, MAX_POINTS)
    return go.Scatter(x=_t(t), y=v, mode="lines", **kw)


def equity_figure(rec: RunRecord) -> Any:
    """Equity against buy-and-hold of the traded instrument (same starting cash), with a
    linear/log toggle; liquidations marked."""
    import plotly.graph_objects as go

    fig = _fig("Equity" + (" vs buy-and-hold" if rec.benchmark is not None else ""), yaxis_title=rec.currency or "equity")
    fig.add_trace(_line(rec.equity_ts, rec.equity, name="strategy", line=dict(color="#1f6feb", width=1.6)))
    if rec.benchmark is not None:
        sym = rec.candles.get("symbol") if rec.candles else ""
        fig.add_trace(_line(rec.equity_ts, rec.benchmark, name=f"buy-and-hold {sym}".strip(), line=dict(color="#8b949e", width=1.2)))
    liq = _liquidations(rec)
    if len(liq):
        i = np.clip(np.searchsorted(rec.equity_ts, liq), 0, len(rec.equity) - 1)
        fig.add_trace(go.Scatter(x=_t(liq), y=rec.equity[i], mode="markers", name="liquidation",
                                 marker=dict(symbol="x", size=11, color="#d1242f", line=dict(width=2))))
    fig.update_layout(updatemenus=[dict(type="buttons", direction="left", x=0.5, xanchor="center", y=1.16, yanchor="bottom",
                                        buttons=[dict(label="linear", method="relayout", args=[{"yaxis.type": "linear"}]),
                                                 dict(label="log", method="relayout", args=[{"yaxis.type": "log"}])])])
    return fig


def _liquidations(rec: RunRecord) -> np.ndarray:
    t = rec.trades
    if not t or "exit_reason" not in t:
        return np.empty(0, np.int64)
    mask = np.asarray(t["exit_reason"]).astype(str) == "liquidation"
    return np.asarray(t["exit_time"], np.int64)[mask]


def drawdown_figure(rec: RunRecord) -> Any:
    """The underwater chart: drawdown from the running peak, in percent."""
    fig = _fig("Drawdown (underwater)", yaxis=dict(ticksuffix="%"))
    fig.add_trace(_line(rec.equity_ts, C.underwater(rec.equity) * 100, name="drawdown", fill="tozeroy",
                        line=dict(color="#d1242f", width=1)))
    return fig


def monthly_heatmap(rec: RunRecord) -> Any:
    """Calendar-month returns as a years × months heatmap (percent, red to green)."""
    import plotly.graph_objects as go

    years, grid = C.monthly_returns(rec.equity_ts, rec.equity, rec.initial_cash)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    z = grid * 100
    text = [["" if np.isnan(v) else f"{v:+.1f}%" for v in row] for row in z]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = _fig("Monthly returns", height=max(160, 60 + 40 * len(years)), hovermode="closest")
    fig.add_trace(go.Heatmap(z=z, x=months, y=[str(y) for y in years], text=text, texttemplate="%{text}",
                             colorscale="RdYlGn", zmid=0, zmin=-lim, zmax=lim, colorbar=dict(ticksuffix="%"),
                             hovertemplate="%{y} %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def yearly_bars(rec: RunRecord) -> Any:
    """Calendar-year returns as bars (percent)."""
    import plotly.graph_objects as go

    years, r = C.yearly_returns(rec.equity_ts, rec.equity, rec.initial_cash)
    fig = _fig("Yearly returns", yaxis=dict(ticksuffix="%"), hovermode="closest")
    fig.add_trace(go.Bar(x=[str(y) for y in years], y=r * 100, marker_color=np.where(r >= 0, "#2da44e", "#d1242f"),
                         text=[f"{v:+.1f}%" for v in r * 100], textposition="outside", name="return"))
    fig.update_xaxes(type="category")
    return fig


def returns_histogram(returns: np.ndarray, period_name: str) -> Any:
    """The distribution of the period returns (percent), with its mean marked."""
    import plotly.graph_objects as go

    fig = _fig(f"Distribution of {period_name} returns", xaxis=dict(ticksuffix="%"), yaxis_title="periods",
               hovermode="closest", bargap=0.05)
    fig.add_trace(go.Histogram(x=returns * 100, nbinsx=60, marker_color="#1f6feb", name=f"{period_name} return"))
    if len(returns):
        fig.add_vline(x=float(np.mean(returns)) * 100, line_dash="dash", line_color="#444",
                      annotation_text=f"mean {np.mean(returns) * 100:+.3f}%")
    return fig


def rolling_figure(ts: np.ndarray, returns: np.ndarray, window: int, ppy: float, period_name: str) -> Any:
    """Rolling Sharpe ratio (left axis) and rolling annualized volatility (right axis) over
    ``window`` periods."""
    sharpe = C.rolling_sharpe(returns, window, ppy)
    vol = C.rolling_volatility(returns, window, ppy) * 100
    fig = _fig(f"Rolling Sharpe and volatility ({window} {period_name} periods, annualized)",
               legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0), yaxis=dict(title="Sharpe"), yaxis2=dict(title="volatility", overlaying="y", side="right", ticksuffix="%",
                                                       showgrid=False))
    ok = np.isfinite(sharpe)
    fig.add_trace(_line(ts[ok], sharpe[ok], name="rolling Sharpe", line=dict(color="#1f6feb", width=1.3)))
    okv = np.isfinite(vol)
    fig.add_trace(_line(ts[okv], vol[okv], name="rolling volatility", yaxis="y2", line=dict(color="#bf8700", width=1.3)))
    return fig


def exposure_figure(rec: RunRecord) -> Any:
    """Gross position value over equity through the run (percent)."""
    assert rec.exposure is not None
    e = np.nan_to_num(rec.exposure, nan=0.0) * 100
    fig = _fig("Exposure (gross position value / equity)", yaxis=dict(ticksuffix="%"))
    fig.add_trace(_line(rec.equity_ts, e, name="exposure", fill="tozeroy", line=dict(color="#8250df", width=1)))
    return fig


def price_figure(rec: RunRecord) -> Any:
    """Candlesticks of the traded instrument (aggregated into coarser candles on a long run) with
    the round trips' entries (triangles up for long, down for short) and exits (circles)."""
    import plotly.graph_objects as go

    c = rec.candles
    assert c is not None
    k = int(c.get("bars_per_candle", 1))
    title = f"{c.get('symbol', '')} price" + (f" ({k:,} bars per candle)" if k > 1 else "")
    fig = _fig(title.strip(), height=460, xaxis_rangeslider_visible=False, hovermode="closest")
    fig.add_trace(go.Candlestick(x=_t(c["ts"]), open=c["open"], high=c["high"], low=c["low"], close=c["close"],
                                 name="price", increasing_line_color="#2da44e", decreasing_line_color="#d1242f"))
    t = rec.trades
    if t and "entry_time" in t and len(t["entry_time"]):
        ins = np.asarray(t.get("symbol", np.array([c.get("symbol")] * len(t["entry_time"])))).astype(str)
        mine = ins == str(c.get("symbol"))
        longs = np.asarray(t["side"]).astype(str) == "LONG"
        n = int(mine.sum())
        step = max(1, n // MAX_POINTS)  # at most MAX_POINTS markers per kind: the first of each step
        for sel, label, sym, color in ((mine & longs, "long entry", "triangle-up", "#2da44e"),
                                       (mine & ~longs, "short entry", "triangle-down", "#d1242f")):
            idx = np.flatnonzero(sel)[::step]
            if len(idx):
                fig.add_trace(go.Scatter(x=_t(t["entry_time"][idx]), y=t["entry_price"][idx], mode="markers", name=label,
                                         marker=dict(symbol=sym, size=9, color=color, line=dict(width=1, color="#222"))))
        idx = np.flatnonzero(mine)[::step]
        closed = np.asarray(t.get("closed", np.ones(len(t["entry_time"]), bool)), bool)[idx]
        idx = idx[closed]
        if len(idx):
            fig.add_trace(go.Scatter(x=_t(t["exit_time"][idx]), y=t["exit_price"][idx], mode="markers", name="exit",
                                     text=np.asarray(t["exit_reason"]).astype(str)[idx],
                                     hovertemplate="exit (%{text}) %{y}<extra></extra>",
                                     marker=dict(symbol="circle-open", size=8, color="#24292f", line=dict(width=1.5))))
        liq = _liquidations(rec)
        if len(liq):
            i = np.clip(np.searchsorted(c["ts"], liq, side="right") - 1, 0, len(c["ts"]) - 1)
            fig.add_trace(go.Scatter(x=_t(liq), y=np.asarray(c["low"])[i], mode="markers", name="liquidation",
                                     marker=dict(symbol="x", size=12, color="#d1242f", line=dict(width=2))))
    return fig


_STATES = {"active": 0, "reducing": 1, "paused": 2, "halted": 3, "emergency": 4}


def risk_state_figure(rec: RunRecord) -> Any:
    """The trading state through the run as a step line (active, reducing, halted, emergency)."""
    import plotly.graph_objects as go

    changes = rec.risk.get("changes") or []
    first = int(rec.equity_ts[0]) if len(rec.equity_ts) else int(changes[0]["ts"])
    last = int(rec.equity_ts[-1]) if len(rec.equity_ts) else int(changes[-1]["ts"])
    xs = [first] + [int(c["ts"]) for c in changes] + [last]
    names = [str(changes[0]["from"]).lower()] + [str(c["to"]).lower() for c in changes]
    names.append(names[-1])
    levels = sorted(set(_STATES) | set(names), key=lambda s: _STATES.get(s, 9))
    fig = _fig("Risk: trading state", height=260, hovermode="closest",
               yaxis=dict(tickvals=list(range(len(levels))), ticktext=[s.upper() for s in levels]))
    reasons = [""] + [f"{c.get('source', '')}: {c.get('reason', '')}" for c in changes] + [""]
    fig.add_trace(go.Scatter(x=_t(np.asarray(xs)), y=[levels.index(n) for n in names], mode="lines+markers", line_shape="hv",
                             text=reasons, hovertemplate="%{x}: %{text}<extra></extra>", name="state",
                             line=dict(color="#bf8700")))
    return fig


def l2_figures(rec: RunRecord) -> list[tuple[str, Any]]:
    """An L2 run's figures: PnL marked at the fills with the inventory beneath, the fills on the
    price, and the cumulative fees (negative: rebates earned)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    out = []
    f = rec.fills
    pnl = rec.equity - rec.initial_cash
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.06)
    fig.update_layout(**{**_LAYOUT, "height": 480, "title": dict(text="PnL (marked at each fill) and inventory", x=0)})
    t, v = C.downsample_line(rec.equity_ts, pnl, MAX_POINTS)
    fig.add_trace(go.Scatter(x=_t(t), y=v, mode="lines", line_shape="hv", name="net PnL", line=dict(color="#1f6feb")), 1, 1)
    assert rec.position is not None
    t, v = C.downsample_line(rec.equity_ts, rec.position, MAX_POINTS)
    fig.add_trace(go.Scatter(x=_t(t), y=v, mode="lines", line_shape="hv", name="position", fill="tozeroy",
                             line=dict(color="#8250df")), 2, 1)
    fig.update_yaxes(title_text=rec.currency or "PnL", row=1, col=1)
    fig.update_yaxes(title_text="position", row=2, col=1)
    out.append(("pnl", fig))
    if len(f.get("ts", [])):
        price = _fig("Fills", yaxis_title="price", hovermode="closest")
        buys = np.asarray(f["side"]) > 0
        step = max(1, len(buys) // MAX_POINTS)
        for sel, label, sym, color in ((buys, "buy", "triangle-up", "#2da44e"), (~buys, "sell", "triangle-down", "#d1242f")):
            idx = np.flatnonzero(sel)[::step]
            price.add_trace(go.Scatter(x=_t(f["ts"][idx]), y=f["price"][idx], mode="markers", name=label,
                                       marker=dict(symbol=sym, size=7, color=color)))
        out.append(("fills", price))
    if len(f.get("ts", [])) and np.any(np.asarray(f["fee"]) != 0):
        fees = _fig("Cumulative fees (negative: rebates)", yaxis_title=rec.currency or "fees")
        fees.add_trace(_line(f["ts"], np.cumsum(f["fee"]), name="fees", line_shape="hv", line=dict(color="#bf8700")))
        out.append(("fees", fees))
    return out


def compare_equity(recs: list[RunRecord]) -> tuple[Any, Any]:
    """Overlaid equity curves (growth of 1 when the runs start with different cash) and their
    drawdowns."""
    same = len({r.initial_cash for r in recs}) == 1
    eq = _fig("Equity" if same else "Growth of 1", yaxis_title=(recs[0].currency or "equity") if same else "growth")
    dd = _fig("Drawdown", yaxis=dict(ticksuffix="%"))
    for r in recs:
        y = r.equity if same else r.equity / r.initial_cash
        eq.add_trace(_line(r.equity_ts, y, name=r.name, line=dict(width=1.4)))
        dd.add_trace(_line(r.equity_ts, C.underwater(r.equity) * 100, name=r.name, line=dict(width=1)))
    eq.update_layout(updatemenus=[dict(type="buttons", direction="left", x=0.5, xanchor="center", y=1.16, yanchor="bottom",
                                       buttons=[dict(label="linear", method="relayout", args=[{"yaxis.type": "linear"}]),
                                                dict(label="log", method="relayout", args=[{"yaxis.type": "log"}])])])
    return eq, dd
