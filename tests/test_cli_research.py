"""`trader research overfit FILE`: the overfitting statistics of any table of returns are those
of trader.research.stats on the same matrix (the best column named, its PSR and DSR, PBO, Reality
Check, SPA, and every column's p-value adjusted by Bonferroni, Holm and BH), whatever the format;
and `trader optimize --returns PATH` writes the sweep's daily returns so that `trader research
overfit PATH` says what `trader optimize` printed. (Its bad inputs are in test_cli_bad_inputs.py.)"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from trader.cli import cli
from trader.cli_research import column_pvalues, read_returns
from trader.research import stats
from trader.research.sweep import sweep

T, N = 400, 12


def _matrix(seed: int = 11) -> tuple[list[str], np.ndarray]:
    """N - 1 noise columns and one with a real edge (a daily Sharpe ratio of ~0.4)."""
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0, 0.01, size=(T, N))
    m[:, 7] += 0.004
    return [f"noise{j}" if j != 7 else "edge" for j in range(N)], m


def _table(names: list[str], m: np.ndarray, time: str | None = "date") -> pa.Table:
    cols: dict[str, pa.Array] = {}
    if time:
        ts = np.datetime64("2024-01-01", "ns") + np.arange(T) * np.timedelta64(1, "D")
        cols[time] = pa.array(ts, pa.timestamp("ns", tz="UTC"))
    for j, name in enumerate(names):
        cols[name] = pa.array(m[:, j])
    return pa.table(cols)


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def returns_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], np.ndarray]:
    names, m = _matrix()
    path = tmp_path_factory.mktemp("overfit") / "returns.parquet"
    pq.write_table(_table(names, m), path)
    return path, names, m


def test_the_report_names_the_real_edge_and_its_numbers_are_the_stats_modules(returns_file) -> None:
    path, names, m = returns_file
    js = json.loads(_run(["research", "overfit", str(path), "--json"]))
    direct = stats.overfitting_report(m, 365.0, n_splits=16, n_boot=1000, seed=0)
    assert js["best"] == "edge" == names[direct.best_index] and js["best_index"] == 7
    assert js["time_column"] == "date" and js["first"].startswith("2024-01-01") and js["periods"] == T
    assert js["strategies"] == N
    for key in ("sharpe", "sharpe_annual", "psr", "dsr", "sr_star_annual", "var_trials", "pbo", "prob_oos_loss",
                "reality_check_pvalue", "spa_pvalue"):
        assert js[key] == getattr(direct, key), key
    assert js["spa_pvalue_lower"] == direct.spa.pvalue_lower and js["spa_pvalue_upper"] == direct.spa.pvalue_upper
    assert js["dsr"] > 0.95 and js["reality_check_pvalue"] < 0.05
    # every column's p-value (1 - PSR(0)) and its adjustments for the N columns
    p = np.array([c["pvalue"] for c in js["columns"]])
    assert [c["column"] for c in js["columns"]] == names
    for j in range(N):
        assert p[j] == pytest.approx(1.0 - stats.probabilistic_sharpe_ratio(m[:, j]), abs=1e-12)
    for key, fn in (("bonferroni", stats.bonferroni), ("holm", stats.holm), ("bh", stats.benjamini_hochberg)):
        adj = fn(p, 0.05)
        assert [c[key] for c in js["columns"]] == adj.pvalues_adjusted.tolist()
        assert [c[f"reject_{key}"] for c in js["columns"]] == adj.reject.tolist()
        assert js["significant"][key] == int(adj.reject.sum())
        assert js["columns"][7][f"reject_{key}"]  # the edge survives every correction
    assert js["significant"]["bonferroni"] == 1  # and the noise does not


def test_the_printed_report(returns_file) -> None:
    path, _, m = returns_file
    text = _run(["research", "overfit", str(path)])
    direct = stats.overfitting_report(m, 365.0, n_splits=16, n_boot=1000, seed=0)
    flat = " ".join(text.split())
    assert f"{T} periods" in flat and f"{N} strategies" in flat
    assert "best column │ edge" in flat
    assert f"Sharpe ratio │ {direct.sharpe_annual:.2f} a year" in flat
    assert f"deflated Sharpe (DSR) │ {direct.dsr:.3f}" in flat and f"PBO │ {direct.pbo:.2f}" in flat
    assert f"Reality Check p │ {direct.reality_check_pvalue:.3f}" in flat and f"SPA p │ {direct.spa_pvalue:.3f}" in flat
    assert "edge (best)" in flat and "Bonferroni" in flat and "Holm" in flat and "BH" in flat
    # --top: the lowest p-values only, the rest counted
    few = " ".join(_run(["research", "overfit", str(path), "--top", "3"]).split())
    assert "edge (best)" in few and f"{N - 3} more columns" in few


def test_options_reach_the_statistics(returns_file) -> None:
    path, _, m = returns_file
    js = json.loads(_run(["research", "overfit", str(path), "--json", "--periods-per-year", "252", "--splits", "8",
                          "--boot", "200", "--seed", "3", "--alpha", "0.01"]))
    direct = stats.overfitting_report(m, 252.0, n_splits=8, n_boot=200, seed=3)
    assert (js["n_splits"], js["n_boot"], js["seed"], js["alpha"], js["periods_per_year"]) == (8, 200, 3, 0.01, 252.0)
    for key in ("sharpe_annual", "dsr", "pbo", "reality_check_pvalue", "spa_pvalue"):
        assert js[key] == getattr(direct, key), key
    p = column_pvalues(m)
    assert [c["holm"] for c in js["columns"]] == stats.holm(p, 0.01).pvalues_adjusted.tolist()


@pytest.mark.parametrize("fmt", ["csv", "feather", "arrow"])
def test_every_format_and_the_time_column_by_name_or_type(tmp_path: Path, fmt: str) -> None:
    names, m = _matrix()
    direct = stats.overfitting_report(m, 365.0, n_splits=16, n_boot=1000, seed=0)
    for time in ("ts", "when", None):  # "ts" by its name, "when" by its type (a timestamp), or none
        table = _table(names, m, time)
        if time == "ts":
            table = table.set_column(0, "ts", pa.array(np.arange(T, dtype=np.int64) * 86_400_000))
        path = tmp_path / f"r_{time}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            feather.write_feather(table, path)
        got_names, got, time_col, _ = read_returns(path)
        assert got_names == names and time_col == time
        np.testing.assert_array_equal(got, m)
        js = json.loads(_run(["research", "overfit", str(path), "--json"]))
        assert js["best"] == "edge" and js["dsr"] == direct.dsr and js["pbo"] == direct.pbo


def _overfitting_line(text: str) -> dict[str, float]:
    flat = " ".join(text.split())
    m = re.search(r"overfitting \((\d+) runs, (\d+) days of returns\): best Sharpe (-?[\d.]+) a year; probabilistic "
                  r"Sharpe ([\d.]+); deflated Sharpe ([\d.]+) \(the best of \d+ noise runs would show (-?[\d.]+)\); "
                  r"PBO ([\d.]+); Reality Check p ([\d.]+); SPA p ([\d.]+)", flat)
    assert m, flat
    keys = ("strategies", "periods", "sharpe_annual", "psr", "dsr", "sr_star_annual", "pbo", "reality_check_pvalue",
            "spa_pvalue")
    return dict(zip(keys, (float(g) for g in m.groups())))


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_optimize_returns_then_overfit_agrees_with_the_line_optimize_printed(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"r.{suffix}"
    grid = ["--grid", "fast=3:5:1", "--grid", "slow=10:12:1"]
    text = _run(["optimize", *grid, "--jobs", "1", "--returns", str(path)])
    assert f"returns: {path}" in " ".join(text.split())
    printed = _overfitting_line(text)
    # the file is the sweep's daily returns, one column per run named by its parameters
    r = sweep("ema_cross", ["fast=3:5:1", "slow=10:12:1"], jobs=1)
    names, got, time_col, times = read_returns(path)
    assert time_col == "date" and names == [f"fast={row['fast']},slow={row['slow']}" for row in r.rows]
    np.testing.assert_array_equal(got, r.returns)
    assert str(times[0].as_py()) == str(np.datetime64(int(r.days[0]), "ns").astype("datetime64[D]"))
    js = json.loads(_run(["research", "overfit", str(path), "--json"]))
    assert (js["strategies"], js["periods"]) == (printed["strategies"], printed["periods"])
    formats = {"sharpe_annual": ".2f", "psr": ".3f", "dsr": ".3f", "sr_star_annual": ".2f", "pbo": ".2f",
               "reality_check_pvalue": ".3f", "spa_pvalue": ".3f"}
    for key, spec in formats.items():
        assert format(js[key], spec) == format(printed[key], spec), key
    # exactly: optimize's own numbers (--json) are the command's
    over = json.loads(_run(["optimize", *grid, "--jobs", "1", "--json"]))["overfitting"]
    assert over["dsr"] == js["dsr"] and over["pbo"] == js["pbo"] and over["psr"] == js["psr"]
    assert over["best_sharpe_annual"] == js["sharpe_annual"] and over["spa_pvalue"] == js["spa_pvalue"]
    assert over["reality_check_pvalue"] == js["reality_check_pvalue"] and over["n_days"] == js["periods"]
    assert js["best"] == names[int(np.argmax(stats.sharpe_ratio(r.returns)))]


def test_constant_columns_are_reported_not_selected(tmp_path: Path) -> None:
    names, m = _matrix()
    m[:, 0] = 0.0  # a strategy that never traded
    path = tmp_path / "r.parquet"
    pq.write_table(_table(names, m), path)
    js = json.loads(_run(["research", "overfit", str(path), "--json"]))
    assert js["best"] == "edge" and js["columns"][0]["pvalue"] == 1.0 and js["columns"][0]["sharpe_annual"] == 0.0
    assert not math.isnan(js["dsr"])
