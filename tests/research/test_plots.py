"""Plots of a sweep (trader.research.plots, SweepResult.plot, `trader optimize --plot`): the
figure's data are the sweep's table — a heatmap's cells the objective of the run with those
parameters (NaN where no run), a line's points, the parallel coordinates' axes the table's
columns — the best run is marked, a cell's hover holds every statistic of its run, and the HTML
file is self-contained. Sweeps run on the built-in synthetic series, in this process."""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("plotly")

from plotly.io.json import to_json_plotly  # noqa: E402

from trader.exceptions import InvalidInputError  # noqa: E402
from trader.research.plots import sweep_figure, write_sweep_plot  # noqa: E402
from trader.research.sweep import SweepResult, sweep  # noqa: E402

STATS = ("sharpe", "total_return", "max_drawdown", "trades")


@pytest.fixture(scope="module")
def two() -> SweepResult:
    """6 of the 9 combinations of a 3 x 3 grid: 3 cells of the heatmap are gaps."""
    r = sweep("ema_cross", ["fast=3:5:1", "slow=10:12:1"], method="random", trials=6, seed=1, jobs=1)
    assert len(r.rows) == 6
    return r


@pytest.fixture(scope="module")
def three() -> SweepResult:
    return sweep("ema_cross", ["fast=3:4:1", "slow=10:11:1", "stop_loss=0,0.02"], jobs=1)


def _row(result: SweepResult, **params: Any) -> dict[str, Any] | None:
    found = [r for r in result.rows if all(r[k] == v for k, v in params.items())]
    assert len(found) <= 1
    return found[0] if found else None


def _array(value: Any) -> np.ndarray:
    """A serialized plotly array: a list, or plotly 6+'s typed-array {dtype, bdata, shape}."""
    if isinstance(value, dict):
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(n) for n in str(value.get("shape", len(a))).split(",")]
        return a.reshape(shape).astype(float)
    return np.array([[math.nan if v is None else v for v in row] for row in value], dtype=float)


def test_heatmap_cells_are_the_objective_of_the_run_with_those_parameters(two: SweepResult) -> None:
    fig = sweep_figure(two)
    heat, best = fig.data
    assert heat.type == "heatmap" and best.type == "scatter"
    assert list(heat.x) == [3, 4, 5] and list(heat.y) == [10, 11, 12]
    assert fig.layout.xaxis.title.text == "fast" and fig.layout.yaxis.title.text == "slow"
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (3, 3)
    gaps = 0
    for i, slow in enumerate(heat.y):
        for j, fast in enumerate(heat.x):
            row = _row(two, fast=fast, slow=slow)
            if row is None:
                gaps += 1
                assert math.isnan(z[i][j]) and heat.text[i][j] == "not run"
                continue
            assert z[i][j] == row["sharpe"]
            hover = heat.text[i][j]
            assert f"fast={fast}" in hover and f"slow={slow}" in hover
            for k in row:  # every statistic of the run, the key ones among them
                assert f"{k}: " in hover or f"{k}=" in hover, k
            for k in STATS:
                assert f"{k}: " in hover
    assert gaps == 3 and heat.hoverongaps is False
    # the best run is marked where it is
    assert (best.x[0], best.y[0]) == (two.best["fast"], two.best["slow"]) and best.text[0] == "best"
    assert two.best["sharpe"] == np.nanmax(z)


def test_axes_can_be_swapped_and_a_minimized_objective_keeps_good_the_same_colour(two: SweepResult) -> None:
    z = np.asarray(sweep_figure(two).data[0].z, dtype=float)
    swapped = sweep_figure(two, x="slow", y="fast")
    assert swapped.layout.xaxis.title.text == "slow"
    np.testing.assert_array_equal(np.asarray(swapped.data[0].z, dtype=float), z.T)
    assert sweep_figure(two, y="fast").layout.xaxis.title.text == "slow"  # the other axis inferred
    dd = sweep("ema_cross", ["fast=3:4:1", "slow=10:11:1"], objective="max_drawdown", jobs=1)
    heat = sweep_figure(dd).data[0]
    assert heat.reversescale is True
    for i, slow in enumerate(heat.y):
        for j, fast in enumerate(heat.x):
            assert heat.z[i][j] == _row(dd, fast=fast, slow=slow)["max_drawdown"]


def test_one_parameter_is_a_line_of_the_objective() -> None:
    r = sweep("ema_cross", ["fast=3:7:2"], fixed={"slow": 20}, jobs=1)
    line, best = sweep_figure(r).data
    assert line.type == "scatter" and list(line.x) == [3, 5, 7]
    assert list(line.y) == [_row(r, fast=f)["sharpe"] for f in (3, 5, 7)]
    assert all("total_return: " in t and "trades: " in t for t in line.text)
    assert (best.x[0], best.y[0]) == (r.best["fast"], r.best["sharpe"])


def test_three_parameters_are_parallel_coordinates_of_the_table(three: SweepResult) -> None:
    fig = sweep_figure(three)
    (pc,) = fig.data
    assert pc.type == "parcoords"
    table = three.table().to_pydict()
    labels = [d.label for d in pc.dimensions]
    assert labels == ["fast", "slow", "stop_loss", "sharpe", "total_return", "max_drawdown", "trades"]
    for d in pc.dimensions:
        assert [float(v) for v in d["values"]] == [float(v) for v in table[d.label]], d.label
    assert [float(v) for v in pc.line.color] == [float(v) for v in table["sharpe"]]
    assert pc.line.showscale is True


def test_three_parameters_as_a_heatmap_show_the_best_over_the_free_one(three: SweepResult) -> None:
    heat, best = sweep_figure(three, x="fast", y="slow").data
    assert heat.type == "heatmap"
    for i, slow in enumerate(heat.y):
        for j, fast in enumerate(heat.x):
            runs = [r["sharpe"] for r in three.rows if r["fast"] == fast and r["slow"] == slow]
            assert len(runs) == 2 and heat.z[i][j] == max(runs)
    assert (best.x[0], best.y[0]) == (three.best["fast"], three.best["slow"])


def test_text_parameters_are_categories() -> None:
    rows = [{"mode": m, "n": n, "sharpe": float(k), "total_return": 0.1 * k, "max_drawdown": 0.01, "trades": 3}
            for k, (m, n) in enumerate([("long", 1), ("short", 1), ("long", 2)])]
    r = SweepResult(strategy="s", params=["mode", "n"], objective="sharpe", maximize=True, rows=rows, best=rows[2],
                    best_index=2, days=np.empty(0, np.int64), returns=np.empty((0, 3)), overfitting=None, bars=1,
                    elapsed_s=1.0, jobs=1)
    heat = sweep_figure(r).data[0]
    assert list(heat.x) == ["long", "short"] and list(heat.y) == [1, 2]
    z = np.asarray(heat.z, dtype=float)
    assert z[0].tolist() == [0.0, 1.0] and z[1][0] == 2.0 and math.isnan(z[1][1])
    r3 = SweepResult(**{**r.__dict__, "params": ["mode", "n", "trades"]})
    mode = sweep_figure(r3).data[0].dimensions[0]
    assert list(mode.ticktext) == ["long", "short"] and list(mode["values"]) == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("kw,match", [({"x": "nope"}, "x: 'nope' is not a swept parameter"),
                                      ({"x": "fast", "y": "fast"}, "must differ")])
def test_bad_axes_are_refused(two: SweepResult, kw: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        sweep_figure(two, **kw)


def test_the_html_file_is_self_contained_and_holds_the_data(two: SweepResult, tmp_path: Path) -> None:
    path = tmp_path / "sweep.html"
    assert two.plot(path) == str(path)
    text = path.read_text(encoding="utf-8")
    assert "plotly.js v" in text and "Plotly.newPlot" in text  # the bundle, inline
    assert '<script src="http' not in text and "<script type=\"text/javascript\" src=" not in text
    # the figure's data, as plotly serializes them, are in the file: z decoded equals the figure's
    data = to_json_plotly(sweep_figure(two).to_dict()["data"])
    assert data in text
    z = _array(json.loads(data)[0]["z"])
    np.testing.assert_array_equal(z, np.asarray(sweep_figure(two).data[0].z, dtype=float))
    assert np.isnan(z).sum() == 3 and two.best["sharpe"] in z
    hovers = [t for line in json.loads(data)[0]["text"] for t in line]
    for r in two.rows:
        assert sum(t.startswith(f"<b>fast={r['fast']}</b><br><b>slow={r['slow']}</b><br><b>sharpe: ") for t in hovers) == 1
    assert write_sweep_plot(two, tmp_path / "b.HTML")  # the suffix in any case


@pytest.mark.parametrize("name", ["sweep.png", "sweep.html.txt", "sweep"])
def test_a_path_not_ending_in_html_is_refused(two: SweepResult, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(InvalidInputError, match=f"plot: {path}: expected an .html file"):
        write_sweep_plot(two, path)
    assert not path.exists()


def test_without_plotly_the_error_says_how_to_install_it(two: SweepResult, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(InvalidInputError, match=r"plots need plotly: pip install 'trader\[research\]'"):
        two.plot(tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_cli_optimize_writes_the_plot(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "trader", "optimize", "--grid", "fast=3:5:1", "--grid", "slow=10:12:1", "--jobs", "1",
            "--plot", "out.html"]
    p = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    assert "plot: out.html" in p.stdout and "best: fast=" in p.stdout
    text = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "plotly.js v" in text and to_json_plotly("<b>fast=4</b><br><b>slow=12</b>")[1:-1] in text  # as HTML-safe JSON


def test_cli_without_plotly_refuses_plot_before_the_sweep(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "plotly"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no plotly here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(fake.parent), os.environ.get("PYTHONPATH")) if p))
    args = [sys.executable, "-m", "trader", "optimize", "--grid", "fast=3:5:1", "--grid", "slow=10:12:1", "--plot", "out.html",
            "--out", "runs.parquet"]
    p = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.splitlines() == ["error: plots need plotly: pip install 'trader[research]'"]
    assert not (tmp_path / "out.html").exists() and not (tmp_path / "runs.parquet").exists()
