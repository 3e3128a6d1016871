"""Parameter sweeps (trader.research.sweep, `trader optimize`): every run's statistics equal what
`run_backtest` gives for the same parameters alone, on real bars, in worker processes and in
this one, for a vectorized strategy and an event-driven one; grids and random samples; the
objective's best; the overfitting statistics beside it; the table written out."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import trader
from trader.exceptions import InvalidInputError
from trader.research import stats
from trader.research.sweep import combinations, daily_returns, parse_grid, sweep

BTC = "klines_1m/0g_trading/BTC_USDT-1m.feather"
RUN = {"fee_bps": 7.5, "start": "2026-01-01", "end": "2026-01-15"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@pytest.mark.parametrize("strategy,mode,jobs", [("ema_cross", "auto", 2), ("rsi_reversion", "event", 1),
                                                ("ema_cross", "event", 1)])
def test_every_run_equals_its_backtest_alone(shared_data: Path, strategy: str, mode: str, jobs: int) -> None:
    data = str(shared_data / BTC)
    grid = {"fast": "5:15:5", "slow": "30:50:20"} if strategy == "ema_cross" else {"period": "7:21:7"}
    r = sweep(strategy, grid, data, jobs=jobs, mode=mode, **RUN)
    assert len(r.rows) == (6 if strategy == "ema_cross" else 3)
    for row in r.rows:
        params = {k: row[k] for k in r.params}
        alone = trader.run_backtest(strategy, params, data, mode=mode, **RUN)
        assert alone.stats["trades"] > 0, params
        for k, v in alone.stats.items():
            assert _same(row[k], v), (params, k, row[k], v)
    assert r.bars == alone.bars


@pytest.mark.parametrize("data_kind,jobs", [("file", 1), ("file", 2), ("synthetic", 2)])
def test_combinations_run_together_equal_their_backtests_alone(shared_data: Path, data_kind: str, jobs: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A vectorized strategy's combinations run together (one pass, both cores): every row is
    still what run_backtest gives alone — long/short on margin, the whole file or the built-in
    series (its declared price precision), more combinations than one pass holds."""
    from trader.research import sweep as sweep_module

    def not_together(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the combinations ran one by one, not together")

    monkeypatch.setattr(sweep_module, "_execute", not_together)
    data = str(shared_data / BTC) if data_kind == "file" else None
    run = {"fee_bps": 7.5, "account": "margin", "leverage": 2.0}
    grid = {"fast": "4:12:2", "slow": "20:60:5", "allow_short": "true,false"}
    r = sweep("ema_cross", grid, data, jobs=jobs, **run)
    assert len(r.rows) == 5 * 9 * 2 > sweep_module.TOGETHER
    for row in r.rows[:: 7]:
        params = {k: row[k] for k in r.params}
        alone = trader.run_backtest("ema_cross", params, data, mode="auto", **run)
        assert alone.stats["trades"] > 0, params
        for k, v in alone.stats.items():
            assert _same(row[k], v), (params, k, row[k], v)


def test_the_best_row_and_its_overfitting_statistics(shared_data: Path) -> None:
    data = str(shared_data / BTC)
    r = sweep("ema_cross", ["fast=5:25:10", "slow=30:90:30"], data, fee_bps=7.5)
    sharpes = [row["sharpe"] for row in r.rows]
    assert r.best == r.rows[int(np.argmax(sharpes))] and r.best_index == int(np.argmax(sharpes))
    low_dd = sweep("ema_cross", ["fast=5:25:10", "slow=30:90:30"], data, objective="max_drawdown", fee_bps=7.5)
    assert low_dd.best["max_drawdown"] == min(row["max_drawdown"] for row in low_dd.rows)
    # the report is the stats module's on the runs' daily returns
    o = r.overfitting
    assert o is not None and o.n_trials == 9 and o.n_periods == r.returns.shape[0] == 45  # 2025-12-18 .. 2026-01-31
    direct = stats.overfitting_report(r.returns, 365.0, n_splits=16, n_boot=1000, seed=0)
    assert (o.dsr, o.psr, o.pbo, o.reality_check_pvalue, o.spa_pvalue) == (
        direct.dsr, direct.psr, direct.pbo, direct.reality_check_pvalue, direct.spa_pvalue)
    # a run's column is its own daily returns
    alone = trader.run_backtest("ema_cross", {"fast": r.best["fast"], "slow": r.best["slow"]}, data, fee_bps=7.5)
    days, rets = daily_returns(alone.equity_ts, alone.equity)
    assert np.array_equal(r.returns[np.searchsorted(r.days, days), r.best_index], rets)


def test_daily_returns_by_hand() -> None:
    day = 86_400_000_000_000
    ts = np.array([0, day // 2, day, day + 5, 3 * day], dtype=np.int64)
    eq = np.array([100.0, 110.0, 99.0, 121.0, 60.5])
    days, r = daily_returns(ts, eq)
    assert days.tolist() == [0, day, 3 * day]
    assert np.allclose(r, [110 / 100 - 1, 121 / 110 - 1, 60.5 / 121 - 1])


def test_grids_and_random_samples() -> None:
    assert parse_grid(["fast=5:25:5", "slow=30,60", "size=0.5:1:0.25", "mode=long"]) == {
        "fast": [5, 10, 15, 20, 25], "slow": [30, 60], "size": [0.5, 0.75, 1.0], "mode": ["long"]}
    assert parse_grid({"fast": range(3, 6), "slow": 40}) == {"fast": [3, 4, 5], "slow": [40]}
    assert parse_grid(["x=0:1:0.3"]) == {"x": [0.0, 0.3, 0.6, 0.9]}  # stop included only when on the step
    axes = parse_grid(["a=1:4:1", "b=1:5:1"])
    full = combinations(axes)
    assert len(full) == 20 and full[0] == {"a": 1, "b": 1} and full[1] == {"a": 1, "b": 2}
    sample = combinations(axes, method="random", trials=7, seed=3)
    assert len(sample) == 7 and all(c in full for c in sample) and len({tuple(c.values()) for c in sample}) == 7
    assert sample == combinations(axes, method="random", trials=7, seed=3)
    assert sample != combinations(axes, method="random", trials=7, seed=4)
    assert len(combinations(axes, method="random", trials=500, seed=0)) == 20  # never more than the grid


@pytest.mark.parametrize("call,match", [
    (lambda: parse_grid([]), "grid: empty"),
    (lambda: parse_grid(["fast"]), "expected name=values"),
    (lambda: parse_grid(["fast=1:3:1", "fast=4"]), "given twice"),
    (lambda: parse_grid(["fast=5:1:1"]), "is empty"),
    (lambda: parse_grid(["fast=1:5:0"]), "step must be > 0"),
    (lambda: parse_grid(["fast=1,,2"]), "an empty value"),
    (lambda: parse_grid({"a": "1:1000:1", "b": "1:1000:1", "c": "1:10:1"}), "10,000,000 combinations"),
    (lambda: combinations({"a": [1]}, method="tpe"), "method: must be grid or random"),
    (lambda: combinations({"a": [1]}, method="random"), "trials: method random needs"),
    (lambda: sweep("ema_cross", {"fast": "5:10:5"}, objective="luck"), "objective: unknown 'luck'"),
    (lambda: sweep("ema_cross", {"nope": "1:2:1"}), "has no parameter nope"),
    (lambda: sweep("ema_cross", {"fast": "40:60:20"}, fixed={"slow": 50}), "fast .* must be < slow"),
    (lambda: sweep("ema_cross", {"fast": "5"}, fixed={"fast": 6}), "both swept and fixed"),
    (lambda: sweep("ema_cross", {"fast": "5"}, jobs=0), "jobs: must be an integer >= 1"),
])
def test_bad_input_is_refused_before_any_run(call: Any, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_cli_prints_the_best_beside_its_overfitting_statistics_and_writes_the_table(tmp_path: Path, shared_data: Path) -> None:
    data = str(shared_data / BTC)
    out = tmp_path / "sweep.parquet"
    args = [sys.executable, "-m", "trader", "optimize", "--data", data, "--grid", "fast=5:15:10", "--grid", "slow=30:60:30",
            "--fee-bps", "7.5", "--jobs", "2", "--out", str(out)]
    text = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "best: fast=" in text and "deflated Sharpe" in text and "PBO" in text and "Reality Check p" in text
    table = pq.read_table(out).to_pylist()
    assert len(table) == 4 and {"fast", "slow", "sharpe", "total_return", "trades"} <= set(table[0])
    js = json.loads(subprocess.run([*args[:-2], "--json"], capture_output=True, text=True, timeout=300, check=True).stdout)
    assert js["combinations"] == 4 and js["rows"] == table
    assert js["best"] == max(table, key=lambda r: r["sharpe"])
    assert 0 <= js["overfitting"]["pbo"] <= 1 and 0 <= js["overfitting"]["dsr"] <= 1
