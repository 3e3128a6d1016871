"""Walk-forward optimization: choose the parameters on a training window, trade them on the window
that follows, move on; the stitched out-of-sample equity is the result to believe.

For each window of :func:`trader.research.splits.walk_forward` (rolling or anchored, a gap if
asked), a sweep (:func:`trader.research.sweep.sweep`: a grid, a random sample or an Optuna search)
runs on the training bars only and picks the best parameters by the objective; then one backtest
with those parameters runs on the test bars only. Nothing of a test window reaches the choice
made for it: the sweep receives a copy of the training bars and nothing else.

The windows are independent tasks of :func:`trader.research.distributed.run_tasks`: in this
process (``jobs=1``), on a local Dask cluster (``jobs > 1``) or on an existing one
(``scheduler="tcp://HOST:PORT"``), each window's in-sample sweep and test run on one worker, the
bars sent to each worker once. The result does not depend on where the windows ran (nor on a
worker dying mid-run: Dask runs its windows again elsewhere).

Each out-of-sample run starts flat with the initial cash, on its window's bars alone (its
indicators warm up inside the window). The stitched curve chains the windows' returns: window
``w``'s equity is scaled to start where window ``w - 1`` ended. Reported: the chosen parameters
and the in- and out-of-sample objective per window, the stitched curve's return, Sharpe ratio
(daily, annualized with 365 days) and maximum drawdown, and the parameters' stability (how often
the choice changed from one window to the next, and the spread of each parameter).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError
from trader.research.sweep import load_bars

__all__ = ["WalkForwardWindow", "WalkForwardResult", "walk_forward_optimize"]


@dataclasses.dataclass(frozen=True)
class WalkForwardWindow:
    """One window: its bounds (epoch ns, half-open), the parameters chosen in sample, the best
    in-sample row of the sweep, and the out-of-sample run's statistics and equity curve."""

    window: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int
    params: dict[str, Any]
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    equity_ts: np.ndarray
    equity: np.ndarray


@dataclasses.dataclass(frozen=True)
class WalkForwardResult:
    """The windows, the stitched out-of-sample curve and its statistics, and the stability of
    the chosen parameters: per parameter its values over the windows, how many times it changed,
    and their mean and standard deviation (numbers only)."""

    objective: str
    windows: list[WalkForwardWindow]
    equity_ts: np.ndarray
    equity: np.ndarray
    stats: dict[str, Any]
    stability: dict[str, dict[str, Any]]


def _stitch(windows: Sequence[WalkForwardWindow], cash: float) -> tuple[np.ndarray, np.ndarray]:
    ts_parts, eq_parts = [], []
    level = cash
    for w in windows:
        if len(w.equity) == 0:
            continue
        scaled = np.asarray(w.equity, dtype=np.float64) * (level / cash)
        ts_parts.append(np.asarray(w.equity_ts, dtype=np.int64))
        eq_parts.append(scaled)
        level = float(scaled[-1])
    if not ts_parts:
        return np.empty(0, np.int64), np.empty(0)
    return np.concatenate(ts_parts), np.concatenate(eq_parts)


def _curve_stats(ts: np.ndarray, equity: np.ndarray, cash: float, windows: Sequence[WalkForwardWindow]) -> dict[str, Any]:
    from trader.research.sweep import daily_returns

    if len(equity) == 0:
        return {"total_return": 0.0, "sharpe": None, "max_drawdown": 0.0, "trades": 0, "fees_paid": 0.0}
    peak = np.maximum.accumulate(np.r_[cash, equity])[1:]
    dd = float(np.max(1.0 - equity / peak)) if len(equity) else 0.0
    _, daily = daily_returns(ts, np.r_[equity])
    sd = float(np.std(daily, ddof=1)) if len(daily) > 1 else 0.0
    sharpe = float(np.mean(daily) / sd * math.sqrt(365.0)) if sd > 0 else None
    return {"initial_cash": cash, "final_equity": float(equity[-1]), "total_return": float(equity[-1]) / cash - 1.0,
            "sharpe": sharpe, "max_drawdown": max(0.0, dd), "days": len(daily),
            "trades": int(sum(int(w.out_of_sample.get("trades") or 0) for w in windows)),
            "fees_paid": float(sum(float(w.out_of_sample.get("fees_paid") or 0.0) for w in windows))}


def _stability(names: Sequence[str], windows: Sequence[WalkForwardWindow]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n in names:
        values = [w.params.get(n) for w in windows]
        changes = sum(1 for a, b in zip(values, values[1:]) if a != b)
        entry: dict[str, Any] = {"values": values, "changes": changes}
        nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == len(values) and nums:
            entry["mean"] = float(np.mean(nums))
            entry["std"] = float(np.std(nums))
        out[n] = entry
    return out


def _window(shared: dict[str, Any], bounds: tuple[int, int, int, int, int]) -> WalkForwardWindow:
    """One window — the sweep on its training bars, the chosen parameters' run on its test bars —
    a pure function of the shared inputs and the window's bounds (bar indices): a task of
    :func:`trader.research.distributed.run_tasks`."""
    from trader.backtest import run_backtest
    from trader.research.sweep import sweep

    fold, train_start, train_end, test_start, test_end = bounds
    bars, axes, fixed, cash, backtest = shared["bars"], shared["axes"], shared["fixed"], shared["cash"], shared["backtest"]
    strategy = shared["strategy"]
    ins = bars[train_start:train_end]
    oos = bars[test_start:test_end]
    search: dict[str, Any] = {}
    if shared["method"] in ("tpe", "cmaes"):
        # each window its own study (its own trials, resumable), named by the window and its bars
        search = {"storage": shared["storage"],
                  "study": f"{shared['study']}:window {fold}:{int(bars.ts[train_start])}-{int(bars.ts[train_end - 1])}"}
    chosen = sweep(strategy, axes, ins, method=shared["method"], trials=shared["trials"], objective=shared["objective"],
                   seed=shared["seed"], jobs=shared["sweep_jobs"], fixed=fixed, cash=cash, **search, **backtest)
    params = dict(fixed or {}) | {n: chosen.best[n] for n in axes}
    r = run_backtest(strategy, params, oos, cash=cash, **backtest)
    return WalkForwardWindow(
        window=fold, train_start=int(bars.ts[train_start]), train_end=int(bars.ts[train_end - 1]) + 1,
        test_start=int(bars.ts[test_start]), test_end=int(bars.ts[test_end - 1]) + 1, params=params,
        in_sample={k: chosen.best.get(k) for k in chosen.best}, out_of_sample=dict(r.stats),
        equity_ts=np.asarray(r.equity_ts), equity=np.asarray(r.equity))


def walk_forward_optimize(strategy: Any = "ema_cross", grid: Mapping[str, Any] | Sequence[str] | None = None,
                          data: Any = None, *, train: Any, test: Any, step: Any = None, anchored: bool = False,
                          gap: Any = 0, objective: str = "sharpe", method: str = "grid", trials: int | None = None,
                          seed: int = 0, jobs: int | None = 1, scheduler: str | None = None,
                          fixed: Mapping[str, Any] | None = None, cash: float = 10_000.0,
                          progress: Callable[[int, int], None] | None = None, storage: str | None = None,
                          study: str | None = None, **backtest: Any) -> WalkForwardResult:
    """Walk-forward optimization of ``strategy`` over ``grid`` on ``data`` (a bar file, a
    :class:`trader.data.Bars`, or None for the synthetic series); see the module docs.

    ``train``, ``test``, ``step``, ``anchored``, ``gap``: the windows, as
    :func:`trader.research.splits.walk_forward` takes them (bar counts, or durations such as
    ``"30d"``). ``objective``, ``method``, ``trials``, ``seed``, ``fixed``: the in-sample sweep's
    (:func:`trader.research.sweep.sweep`); ``cash`` and ``backtest``: every run's. ``jobs``:
    worker processes of a local Dask cluster running the windows (None: the machine's cores; 1:
    in this process); ``scheduler``: ``tcp://HOST:PORT`` of an existing Dask cluster to run them
    on instead (see :mod:`trader.research.distributed`). With an Optuna ``method`` (tpe, cmaes),
    whose trials depend on the ones before, the windows run here one after another and ``jobs``
    goes to each window's search; ``scheduler`` is refused; each window has its own Optuna study
    (``study``, default from the strategy and the grid, + the window and its training bars) in
    ``storage`` (an Optuna storage URL; default: a SQLite file of this call, removed after it).
    ``progress(done, total)`` is called as windows finish. Windows longer than the data and every other bad input are refused before
    any run."""
    from trader.backtest import make_strategy
    from trader.data import Bars
    from trader.research.distributed import check_scheduler, run_tasks, session
    from trader.research.splits import walk_forward
    from trader.research.sweep import METHODS, OBJECTIVES, parse_grid

    if objective not in OBJECTIVES:
        raise InvalidInputError(f"objective: unknown {objective!r}; one of {', '.join(OBJECTIVES)}")
    if method not in METHODS:
        raise InvalidInputError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    scheduler = check_scheduler(scheduler)
    if progress is not None and not callable(progress):
        raise InvalidInputError(f"progress: expected a callable progress(done, total), got {type(progress).__name__}")
    optuna_search = method in ("tpe", "cmaes")
    if optuna_search and scheduler is not None:
        raise InvalidInputError(f"scheduler: a walk-forward with an Optuna search ({method}) runs its windows here, "
                                "one after another; it does not run on a Dask scheduler")
    axes = parse_grid(grid if grid is not None else [])
    make_strategy(strategy, dict(fixed or {}))
    bars = load_bars(data, backtest, what="a walk-forward")
    if not isinstance(bars, Bars):
        raise InvalidInputError("data: a walk-forward runs on one instrument's bars")
    splits = walk_forward(np.asarray(bars.ts, dtype=np.int64), train=train, test=test, step=step, anchored=anchored, gap=gap)
    for a, b in zip(splits, splits[1:]):
        assert a.test_end is not None and b.test_start is not None
        if b.test_start < a.test_end:
            raise InvalidInputError(f"step: {step!r} is shorter than the test window {test!r}: the test windows would "
                                    "overlap and the stitched out-of-sample curve count their bars twice")
    if not splits:
        raise InvalidInputError(f"train/test: no window fits in the data ({len(bars)} bars)")
    key = OBJECTIVES[objective][0]
    bounds: list[tuple[int, int, int, int, int]] = []
    for sp in splits:
        assert sp.train_start is not None and sp.train_end is not None and sp.test_start is not None and sp.test_end is not None
        bounds.append((sp.fold, sp.train_start, sp.train_end, sp.test_start, sp.test_end))
    # What runs in parallel: the windows, each a whole task (its sweep on its training bars, then
    # its test run). A window's sweep is exactly `sweep(..., jobs=1)`, the same call whatever runs
    # it, so the result cannot depend on the placement; a task is big (a whole sweep), so Dask's
    # per-task overhead is negligible, and a worker lost costs the windows it was running. With
    # fewer windows than workers some stay idle; a sweep's combinations are then the finer unit,
    # but the windows' choices would have to be rebuilt from loose runs outside `sweep`. An
    # Optuna search is sequential within a window (each trial learns from the ones before): the
    # windows run here, and the workers go to each window's search (Optuna's own processes).
    shared = {"strategy": strategy, "bars": bars, "axes": axes, "fixed": dict(fixed or {}), "cash": cash,
              "backtest": dict(backtest), "method": method, "trials": trials, "objective": objective, "seed": seed,
              "sweep_jobs": jobs if optuna_search else 1, "storage": storage,
              "study": study or f"walk-forward:{strategy if isinstance(strategy, str) else getattr(strategy, '__name__', strategy)}:"
                                 + ";".join(f"{k}={v[0]}..{v[-1]}" for k, v in axes.items())}
    with contextlib.ExitStack() as stack:
        if optuna_search and storage is None:
            # no storage given: the windows' studies live in a SQLite file of this call, removed after
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="trader-walk-forward-"))
            shared["storage"] = f"sqlite:///{os.path.join(folder, 'optuna.db')}"
        if optuna_search:  # the windows' searches, one after another, share one cluster of `jobs` workers
            stack.enter_context(session(jobs, None))
        windows: list[WalkForwardWindow] = run_tasks(_window, bounds, jobs=1 if optuna_search else jobs,
                                                     scheduler=scheduler, shared=shared, progress=progress,
                                                     name="walk-forward")
    ts, eq = _stitch(windows, cash)
    stats = _curve_stats(ts, eq, cash, windows)
    stats[f"mean_in_sample_{key}"] = _mean([w.in_sample.get(key) for w in windows])
    stats[f"mean_out_of_sample_{key}"] = _mean([w.out_of_sample.get(key) for w in windows])
    return WalkForwardResult(objective=objective, windows=windows, equity_ts=ts, equity=eq, stats=stats,
                             stability=_stability(list(axes), windows))


def _mean(values: Sequence[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))]
    return float(np.mean(nums)) if nums else None
