"""Optuna searches (`trader optimize --method tpe|cmaes`): each trial is the backtest of its
parameters exactly; a study killed with SIGKILL mid-run resumes from its storage and finishes
with the trials it had; several objectives give a Pareto front; a storage that is not there is
one line, exit 2."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import trader
from trader.exceptions import InvalidInputError
from trader.research.search import _spec
from trader.research.sweep import OBJECTIVES, sweep

GRID = {"fast": "5:30:1", "slow": "20:120:5"}


def _same(a: object, b: object) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


def test_each_trial_is_its_backtest_and_the_best_is_the_studys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    r = sweep("ema_cross", GRID, None, method="tpe", trials=8, storage=url, study="s", fee_bps=7.5, seed=3)
    assert len(r.rows) == 8 and r.params == ["fast", "slow"]
    for row in r.rows[:3]:
        alone = trader.run_backtest("ema_cross", {"fast": row["fast"], "slow": row["slow"]}, None, fee_bps=7.5)
        assert all(_same(row[k], v) for k, v in alone.stats.items()), row
    st = optuna.load_study(study_name="s", storage=url)
    assert st.best_trial.value == r.best["sharpe"] == max(row["sharpe"] for row in r.rows)
    assert all(row["fast"] < row["slow"] for row in r.rows)  # invalid suggestions were pruned, not run
    again = sweep("ema_cross", GRID, None, method="tpe", trials=8, storage=url, study="s", fee_bps=7.5, seed=3)
    assert again.rows == r.rows  # complete: nothing more runs


def test_several_objectives_give_a_pareto_front(tmp_path: Path) -> None:
    r = sweep("ema_cross", GRID, None, method="tpe", trials=10, objective="return,max_drawdown",
              storage=f"sqlite:///{tmp_path / 'mo.db'}", fee_bps=7.5)
    assert r.pareto
    pts = [(row["total_return"], row["max_drawdown"]) for row in r.rows]
    for i in r.pareto:  # nothing dominates a point of the front
        ret, dd = pts[i]
        assert not any(o[0] >= ret and o[1] <= dd and o != (ret, dd) for o in pts)
    assert r.best_index in r.pareto


def test_cmaes_and_float_axes(tmp_path: Path) -> None:
    assert _spec([5, 10, 15]) == ("int", (5, 15, 5))
    assert _spec([0.5, 0.75, 1.0]) == ("float", (0.5, 1.0, 0.25, 2))
    assert _spec([1, 2, 4]) == ("cat", [1, 2, 4])
    r = sweep("ema_cross", {"fast": "5:15:1", "slow": "30:60:1", "size": "0.5:1:0.25"}, None, method="cmaes", trials=6,
              storage=f"sqlite:///{tmp_path / 'c.db'}", fee_bps=7.5)
    assert len(r.rows) == 6 and all(row["size"] in (0.5, 0.75, 1.0) for row in r.rows)


def _complete(url: str, name: str) -> int:
    try:
        st = optuna.load_study(study_name=name, storage=url)
    except KeyError:
        return 0
    return len(st.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))


def test_a_study_killed_mid_run_resumes_with_the_trials_it_had(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    args = [sys.executable, "-m", "trader", "optimize", "--grid", "fast=5:30:1", "--grid", "slow=20:120:5", "--method",
            "tpe", "--trials", "30", "--storage", url, "--study", "k", "--jobs", "1", "--fee-bps", "7.5"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    t0 = time.monotonic()
    while _complete(url, "k") < 5 and time.monotonic() - t0 < 120 and proc.poll() is None:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    had = optuna.load_study(study_name="k", storage=url).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert 5 <= len(had) < 30, len(had)
    r = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    after = optuna.load_study(study_name="k", storage=url).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(after) == 30
    by_number = {t.number: t for t in after}
    for t in had:  # the trials it had are kept as they were
        assert by_number[t.number].params == t.params and by_number[t.number].value == t.value
    import json

    assert json.loads(r.stdout)["combinations"] == 30


@pytest.mark.parametrize("kw,match", [
    ({"method": "tpe"}, "trials: an Optuna search needs"),
    ({"method": "grid", "objective": "return,max_drawdown"}, "need an Optuna search"),
    ({"method": "cmaes", "trials": 3, "objective": "return,max_drawdown"}, "CMA-ES searches one objective"),
    ({"method": "tpe", "trials": 3, "objective": "return,return"}, "names one statistic twice"),
    ({"method": "tpe", "trials": 3, "storage": "postgresql://nobody@127.0.0.1:1/none"}, "storage: postgresql://"),
    ({"method": "anneal", "trials": 3}, "method: must be one of"),
    ({"method": "grid", "prune": True}, "prune: pruning stops Optuna trials"),
    ({"method": "tpe", "trials": 3, "prune": True, "objective": "return,max_drawdown"}, "prune: Optuna prunes single"),
    ({"method": "tpe", "trials": 3, "prune": True, "objective": "max_drawdown"}, "prune: a pruned trial is judged"),
    ({"method": "tpe", "trials": 3, "scheduler": "tcp://127.0.0.1:8786"}, "storage: an Optuna search on the Dask"),
])
def test_bad_input(kw: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        sweep("ema_cross", GRID, None, **kw)


def test_a_study_of_other_objectives_is_not_mixed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    sweep("ema_cross", GRID, None, method="tpe", trials=2, storage=url, study="x")
    with pytest.raises(InvalidInputError, match="optimizes"):
        sweep("ema_cross", GRID, None, method="tpe", trials=2, storage=url, study="x", objective="max_drawdown")
    assert "max_drawdown" in OBJECTIVES


def test_pruned_trials_stop_early_and_complete_ones_are_their_backtests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--prune: each trial reports its return at every quarter of the bars; Optuna's median rule
    stops some after the first trials; a trial that runs to the end is exactly its backtest (run
    in batches), and pruned ones are not in the table."""
    from trader.research import sweep as sweep_module

    seen: list[tuple[int, float]] = []
    real = sweep_module._run_steps

    def spy(params: dict, report: object) -> object:
        def rec(step: int, so_far: float) -> None:
            seen.append((step, so_far))
            report(step, so_far)  # type: ignore[operator]
        return real(params, rec)

    monkeypatch.setattr(sweep_module, "_run_steps", spy)
    url = f"sqlite:///{tmp_path / 'pruned.db'}"
    r = sweep("ema_cross", GRID, None, method="tpe", trials=14, storage=url, study="p", objective="return",
              fee_bps=7.5, seed=5, prune=True, jobs=1)
    st = optuna.load_study(study_name="p", storage=url)
    states = [t.state for t in st.trials if "invalid" not in t.user_attrs]
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    assert len(r.rows) == 14 and states.count(optuna.trial.TrialState.COMPLETE) == 14
    assert pruned > 0, "the median rule stopped none"
    assert {s for s, _ in seen} == {0, 1, 2, 3}
    for t in st.trials:
        if t.state == optuna.trial.TrialState.PRUNED and "invalid" not in t.user_attrs:
            assert max(t.intermediate_values) < 3  # stopped before the last quarter
    for row in r.rows[:4]:
        alone = trader.run_backtest("ema_cross", {"fast": row["fast"], "slow": row["slow"]}, None, fee_bps=7.5,
                                    mode="auto")
        assert all(_same(row[k], v) for k, v in alone.stats.items()), row
        # the last checkpoint's return is the run's own
    finals = [v for s, v in seen if s == 3]
    assert any(math.isclose(f, row["total_return"], rel_tol=0, abs_tol=1e-12) for row in r.rows for f in finals)
