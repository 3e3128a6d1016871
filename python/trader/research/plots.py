"""Plots of a parameter sweep (:class:`trader.research.sweep.SweepResult`), with plotly.

- one swept parameter: a line of the objective over it;
- two (or ``x`` and ``y`` named): a heatmap of the objective over the two, the best combination
  marked, a combination that was not run left as a gap, and every statistic of a cell's run in
  its hover text; with more than two parameters swept, a cell shows the best run among those
  sharing its ``x`` and ``y`` (the other parameters free);
- three or more: parallel coordinates, one line per run, coloured by the objective.

:func:`write_sweep_plot` writes a self-contained HTML file (plotly.js inline: it opens offline).
plotly is imported only when a plot is made (``pip install 'trader[research]'``).
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError

__all__ = ["sweep_figure", "write_sweep_plot", "require_plotly"]

#: Statistics drawn as axes of the parallel coordinates besides the parameters and the objective.
_PARCOORDS_STATS = ("total_return", "max_drawdown", "trades")


def require_plotly() -> Any:
    """``plotly.graph_objects``, or an InvalidInputError saying how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise InvalidInputError("plots need plotly: pip install 'trader[research]'") from None
    return go


def _objective_stat(result: Any) -> str:
    from trader.research.sweep import OBJECTIVES

    first = str(result.objective).split(",")[0].strip()
    return OBJECTIVES[first][0] if first in OBJECTIVES else first


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _score(v: Any, maximize: bool) -> float:
    if _is_missing(v):
        return -math.inf
    try:
        x = float(v)
    except (TypeError, ValueError):
        return -math.inf
    return x if maximize else -x


def _number(v: Any) -> float:
    """A cell's value as a float (NaN when missing or not a number)."""
    if _is_missing(v) or isinstance(v, str):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return html.escape(str(v))


def _hover(row: dict[str, Any], params: Sequence[str], stat: str) -> str:
    """Every column of a row: the parameters first, then the objective, then the other
    statistics."""
    head = [f"<b>{html.escape(p)}={_fmt(row.get(p))}</b>" for p in params]
    head.append(f"<b>{html.escape(stat)}: {_fmt(row.get(stat))}</b>")
    body = [f"{html.escape(k)}: {_fmt(v)}" for k, v in row.items() if k not in params and k != stat]
    return "<br>".join(head + body)


def _axis_values(rows: Sequence[dict[str, Any]], name: str) -> list[Any]:
    """The distinct values of a parameter in the rows, sorted (numbers by value; otherwise as
    text)."""
    seen: list[Any] = []
    for r in rows:
        v = r.get(name)
        if v not in seen:
            seen.append(v)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return sorted(seen)
    return sorted(seen, key=str)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _title(result: Any, stat: str, what: str) -> str:
    best = result.best
    shown = _fmt(best.get(stat))
    text = (f"{html.escape(str(result.strategy))}: {html.escape(stat)} {what} ({len(result.rows)} runs); best "
            + ", ".join(f"{html.escape(p)}={_fmt(best.get(p))}" for p in result.params) + f" ({html.escape(stat)} {shown})")
    o = getattr(result, "overfitting", None)
    if o is not None:
        text += (f"<br><sup>overfitting: deflated Sharpe {o.dsr:.3f}, PBO {o.pbo:.2f}, Reality Check p "
                 f"{o.reality_check_pvalue:.3f}, SPA p {o.spa_pvalue:.3f} ({o.n_trials} runs, {o.n_periods} days)</sup>")
    return text


def _cells(rows: Sequence[dict[str, Any]], keys: Sequence[str], stat: str, maximize: bool) -> dict[tuple, int]:
    """For each distinct value of ``keys``: the index of its best row by the objective (the first
    of equals)."""
    best: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        k = tuple(r.get(n) for n in keys)
        j = best.get(k)
        if j is None or _score(r.get(stat), maximize) > _score(rows[j].get(stat), maximize):
            best[k] = i
    return best


def _pick_axes(params: Sequence[str], x: str | None, y: str | None) -> tuple[str, str] | None:
    """The heatmap's axes, or None for the default figure of the parameter count."""
    for name, v in (("x", x), ("y", y)):
        if v is not None and v not in params:
            raise InvalidInputError(f"{name}: {v!r} is not a swept parameter (swept: {', '.join(params) or 'none'})")
    if x is None and y is None:
        return (params[0], params[1]) if len(params) == 2 else None
    if len(params) < 2:
        raise InvalidInputError(f"x, y: a heatmap needs two swept parameters, this sweep has {len(params)}")
    if x is None or y is None:
        if len(params) != 2:
            raise InvalidInputError(f"x, y: {len(params)} parameters swept: name both axes of the heatmap")
        given = x if x is not None else y
        other = params[1] if given == params[0] else params[0]
        x, y = (given, other) if x is not None else (other, given)
    assert x is not None and y is not None
    if x == y:
        raise InvalidInputError(f"x, y: the heatmap's two axes must differ, both are {x!r}")
    return x, y


def sweep_figure(result: Any, *, x: str | None = None, y: str | None = None) -> Any:
    """A plotly Figure of a sweep's objective (see the module docs): a heatmap over the two swept
    parameters (or over ``x`` and ``y``), a line with one parameter, parallel coordinates with
    three or more."""
    go = require_plotly()
    rows = list(result.rows)
    params = list(result.params)
    if not rows:
        raise InvalidInputError("sweep: no runs to plot")
    if not params:
        raise InvalidInputError("sweep: no swept parameter to plot")
    stat = _objective_stat(result)
    maximize = bool(result.maximize)
    axes = _pick_axes(params, x, y)
    if axes is not None:
        return _heatmap(go, result, rows, params, stat, maximize, *axes)
    if len(params) == 1:
        return _line(go, result, rows, params, stat, maximize)
    return _parcoords(go, result, rows, params, stat, maximize)


def _heatmap(go: Any, result: Any, rows: list[dict[str, Any]], params: list[str], stat: str, maximize: bool,
             x: str, y: str) -> Any:
    xs, ys = _axis_values(rows, x), _axis_values(rows, y)
    cells = _cells(rows, (y, x), stat, maximize)
    z = np.full((len(ys), len(xs)), np.nan)
    text = [["not run" for _ in xs] for _ in ys]
    xi = {v: j for j, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for (vy, vx), r in cells.items():
        i, j = yi[vy], xi[vx]
        z[i, j] = _number(rows[r].get(stat))
        text[i][j] = _hover(rows[r], params, stat)
    free = [p for p in params if p not in (x, y)]
    heat = go.Heatmap(
        z=z, x=xs if _numeric(xs) else [str(v) for v in xs], y=ys if _numeric(ys) else [str(v) for v in ys],
        text=text, hovertemplate="%{text}<extra></extra>", hoverongaps=False, colorscale="Viridis",
        reversescale=not maximize, colorbar={"title": {"text": stat}}, name=stat)
    best = result.best
    bx, by = best.get(x), best.get(y)
    marker = go.Scatter(
        x=[bx if _numeric(xs) else str(bx)], y=[by if _numeric(ys) else str(by)], mode="markers+text",
        marker={"symbol": "star", "size": 18, "color": "white", "line": {"color": "black", "width": 1.5}},
        text=["best"], textposition="top center", name="best",
        hovertext=[_hover(best, params, stat)], hovertemplate="<b>best</b><br>%{hovertext}<extra></extra>", showlegend=False)
    what = f"over {html.escape(x)} × {html.escape(y)}"
    if free:
        what += f", best over {', '.join(html.escape(p) for p in free)}"
    fig = go.Figure([heat, marker])
    fig.update_layout(title={"text": _title(result, stat, what)}, template="plotly_white",
                      xaxis={"title": {"text": x}, "type": "linear" if _numeric(xs) else "category"},
                      yaxis={"title": {"text": y}, "type": "linear" if _numeric(ys) else "category"})
    return fig


def _line(go: Any, result: Any, rows: list[dict[str, Any]], params: list[str], stat: str, maximize: bool) -> Any:
    p = params[0]
    xs = _axis_values(rows, p)
    cells = _cells(rows, (p,), stat, maximize)
    ys = [_number(rows[cells[(v,)]].get(stat)) for v in xs]
    text = [_hover(rows[cells[(v,)]], params, stat) for v in xs]
    shown_x = xs if _numeric(xs) else [str(v) for v in xs]
    line = go.Scatter(x=shown_x, y=ys, mode="lines+markers", name=stat, text=text,
                      hovertemplate="%{text}<extra></extra>")
    best = result.best
    bx = best.get(p)
    marker = go.Scatter(
        x=[bx if _numeric(xs) else str(bx)], y=[_number(best.get(stat))], mode="markers+text",
        marker={"symbol": "star", "size": 18, "color": "gold", "line": {"color": "black", "width": 1.5}},
        text=["best"], textposition="top center", name="best", hovertext=[_hover(best, params, stat)],
        hovertemplate="<b>best</b><br>%{hovertext}<extra></extra>")
    fig = go.Figure([line, marker])
    fig.update_layout(title={"text": _title(result, stat, f"over {html.escape(p)}")}, template="plotly_white",
                      xaxis={"title": {"text": p}, "type": "linear" if _numeric(xs) else "category"},
                      yaxis={"title": {"text": stat}}, showlegend=False)
    return fig


def _dimension(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    values = [r.get(name) for r in rows]
    present = [v for v in values if not _is_missing(v)]
    if _numeric(present):
        return {"label": name, "values": [_number(v) for v in values]}
    # text values: coded 0..k-1 in sorted order, the axis labelled with the text
    cats = sorted({str(v) for v in present})
    code = {c: i for i, c in enumerate(cats)}
    return {"label": name, "values": [math.nan if _is_missing(v) else float(code[str(v)]) for v in values],
            "tickvals": list(range(len(cats))), "ticktext": cats}


def _parcoords(go: Any, result: Any, rows: list[dict[str, Any]], params: list[str], stat: str,
               maximize: bool) -> Any:
    names = [*params, stat] + [s for s in _PARCOORDS_STATS if s != stat and s in rows[0]]
    dims = [_dimension(rows, n) for n in names]
    color = [_number(r.get(stat)) for r in rows]
    fig = go.Figure(go.Parcoords(
        dimensions=dims,
        line={"color": color, "colorscale": "Viridis", "reversescale": not maximize, "showscale": True,
              "colorbar": {"title": {"text": stat}}}))
    fig.update_layout(title={"text": _title(result, stat, f"over {', '.join(html.escape(p) for p in params)}")},
                      template="plotly_white")
    return fig


def write_sweep_plot(result: Any, path: str | os.PathLike[str], *, x: str | None = None, y: str | None = None) -> str:
    """Write :func:`sweep_figure` to ``path`` (``.html``) as one self-contained file (plotly.js
    inline, so it opens offline); returns the path written."""
    p = os.fspath(path)
    if not str(p).lower().endswith(".html"):
        raise InvalidInputError(f"plot: {p}: expected an .html file")
    fig = sweep_figure(result, x=x, y=y)
    fig.write_html(p, include_plotlyjs=True, full_html=True)
    return p
