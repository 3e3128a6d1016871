"""Parameter sweeps: many backtests of one strategy over a grid of parameters, and whether the best
of them is real.

A sweep runs :func:`trader.run_backtest` once per combination of parameters (a full grid, or a
seeded random sample of it), in worker processes when ``jobs > 1`` (each worker receives the
bars once), so every combination's statistics are exactly what ``run_backtest`` gives for it
alone. The result is a table — one row per combination: its parameters, then every statistic of
the backtest — with the objective's best row, and the overfitting statistics of
:mod:`trader.research.stats` computed on the combinations' daily returns: the best one's
probabilistic and deflated Sharpe ratios (N = the combinations tried), the probability of
backtest overfitting (CSCV), and White's Reality Check and Hansen's SPA p-values.

Grid specifications (``--grid`` on the command line, or a mapping in Python)::

    fast=5:25:2          5, 7, ..., 25   (start:stop:step, stop included when on the step)
    slow=30:130:10       30, 40, ..., 130
    size=0.5,0.75,1      a list
    mode=long            one value

Values are given to the strategy as its parameters are declared (``trader strategies`` lists
them): "5" becomes 5 for an int parameter, 5.0 for a float one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError

__all__ = ["OBJECTIVES", "METHODS", "parse_grid", "combinations", "sweep", "SweepResult", "daily_returns"]

#: Objectives a sweep can rank by: a statistic of the backtest and whether higher is better.
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "sharpe": ("sharpe", True),
    "sortino": ("sortino", True),
    "calmar": ("calmar", True),
    "return": ("total_return", True),
    "total_return": ("total_return", True),
    "cagr": ("cagr", True),
    "profit_factor": ("profit_factor", True),
    "win_rate": ("win_rate", True),
    "expectancy": ("expectancy", True),
    "final_equity": ("final_equity", True),
    "max_drawdown": ("max_drawdown", False),
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^({_NUM}):({_NUM}):({_NUM})$")
#: A grid larger than this is refused (a random sample of it is the way to search it).
MAX_COMBINATIONS = 1_000_000


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)


def _axis(name: str, spec: Any) -> list[Any]:
    """The values of one parameter: a range "start:stop:step", a list "a,b,c", one value, or a
    Python sequence/value."""
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise InvalidInputError(f"grid {name}: no values")
        m = _RANGE.match(text)
        if m:
            try:
                start, stop, step = (Decimal(g) for g in m.groups())
            except InvalidOperation:  # pragma: no cover - the pattern admits numbers only
                raise InvalidInputError(f"grid {name}: {text!r} is not start:stop:step") from None
            if step <= 0:
                raise InvalidInputError(f"grid {name}: the step must be > 0, got {m.group(3)}")
            if stop < start:
                raise InvalidInputError(f"grid {name}: the range {text} is empty (stop {m.group(2)} < start {m.group(1)})")
            count = int((stop - start) / step) + 1
            if count > MAX_COMBINATIONS:
                raise InvalidInputError(f"grid {name}: {count:,} values in {text}: too many")
            ints = all(re.fullmatch(r"[-+]?\d+", g) for g in m.groups())
            return [int(start + i * step) if ints else float(start + i * step) for i in range(count)]
        values = [v.strip() for v in text.split(",")]
        if any(not v for v in values):
            raise InvalidInputError(f"grid {name}: an empty value in {text!r}")
        out: list[Any] = []
        for v in values:
            try:
                out.append(_number(v))
            except ValueError:
                out.append(v)
        return out
    given: list[Any] = list(spec) if isinstance(spec, (range, list, tuple, np.ndarray)) else [spec]
    if not given:
        raise InvalidInputError(f"grid {name}: no values")
    return given


def parse_grid(grid: Mapping[str, Any] | Sequence[str]) -> dict[str, list[Any]]:
    """The axes of a grid: a mapping name -> spec, or ``"name=spec"`` strings (the CLI's
    ``--grid``). An empty grid, a repeated name or an empty axis is an InvalidInputError."""
    items: list[tuple[str, Any]]
    if isinstance(grid, Mapping):
        items = list(grid.items())
    else:
        items = []
        for item in grid:
            name, sep, spec = str(item).partition("=")
            if not sep or not name.strip():
                raise InvalidInputError(f"grid: expected name=values (e.g. fast=5:25:2), got {item!r}")
            items.append((name.strip(), spec))
    if not items:
        raise InvalidInputError("grid: empty: give at least one parameter to sweep (e.g. fast=5:25:2)")
    axes: dict[str, list[Any]] = {}
    for name, spec in items:
        if name in axes:
            raise InvalidInputError(f"grid: parameter {name!r} given twice")
        axes[name] = _axis(name, spec)
    size = math.prod(len(v) for v in axes.values())
    if size > MAX_COMBINATIONS:
        raise InvalidInputError(f"grid: {size:,} combinations (more than {MAX_COMBINATIONS:,}): use method='random' "
                                "with a number of trials, or a coarser grid")
    return axes


def combinations(axes: Mapping[str, Sequence[Any]], *, method: str = "grid", trials: int | None = None,
                 seed: int = 0) -> list[dict[str, Any]]:
    """The parameter sets to run: every combination (``grid``), or ``trials`` of them drawn
    without replacement, seeded (``random``), in a stable order."""
    names = list(axes)
    size = math.prod(len(axes[n]) for n in names)
    if method == "grid":
        if trials is not None:
            raise InvalidInputError("trials: only with method random (a grid runs every combination)")
        picks: Iterable[int] = range(size)
    elif method == "random":
        if trials is None or isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise InvalidInputError(f"trials: method random needs a number of trials >= 1, got {trials!r}")
        rng = np.random.default_rng(seed)
        picks = sorted(int(i) for i in rng.choice(size, size=min(trials, size), replace=False))
    else:
        raise InvalidInputError(f"method: must be grid or random, got {method!r}")
    out = []
    lens = [len(axes[n]) for n in names]
    for flat in picks:
        combo: dict[str, Any] = {}
        rest = flat
        for n, k in zip(reversed(names), reversed(lens)):
            rest, j = divmod(rest, k)
            combo[n] = axes[n][j]
        out.append({n: combo[n] for n in names})
    return out


def day_ends(equity_ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UTC day starts in ns, the index of each day's last point) of an equity curve's times."""
    day = np.asarray(equity_ts, dtype=np.int64) // 86_400_000_000_000
    last = np.flatnonzero(np.r_[day[1:] != day[:-1], True])
    return day[last] * 86_400_000_000_000, last


def daily_returns(equity_ts: np.ndarray, equity: np.ndarray,
                  ends: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(UTC day starts in ns, simple returns) of an equity curve from one day's last value to the
    next's; the first day's return is from the first value. ``ends``: :func:`day_ends` of
    ``equity_ts``, when already known (runs over the same bars share their times)."""
    if len(equity) == 0:
        return np.empty(0, np.int64), np.empty(0)
    days, last = day_ends(equity_ts) if ends is None else ends
    closes = np.asarray(equity, dtype=np.float64)[last]
    prev = np.r_[float(equity[0]), closes[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, closes / prev - 1.0, 0.0)
    return days, r


# -- the workers ----------------------------------------------------------------------------------

_WORK: dict[str, Any] = {}


def _init_worker(strategy: Any, data: Any, kwargs: dict[str, Any]) -> None:
    """The run's inputs for :func:`_run_one` in this process (the Optuna search's workers)."""
    _WORK.update(strategy=strategy, data=data, kwargs=kwargs)


def _run_one(params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """One combination's run on the inputs given to :func:`_init_worker`."""
    return _run_combo((_WORK["strategy"], _WORK["data"], _WORK["kwargs"]), params)


def _run_combo(shared: tuple[Any, Any, dict[str, Any]], params: dict[str, Any]
               ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """One combination's run — (statistics, days, daily returns, bars) — a pure function of the
    shared (strategy, bars, backtest options) and the parameters: a task of
    :func:`trader.research.distributed.run_tasks`."""
    from trader.backtest import run_backtest

    strategy, data, kwargs = shared
    return _outcome(run_backtest(strategy, dict(params), data, **kwargs))


def _outcome(r: Any) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """What a sweep keeps of a run: (statistics, days, daily returns, bars)."""
    days, rets = daily_returns(r.equity_ts, r.equity)
    return dict(r.stats), days, rets, int(r.bars)


#: A pruned search's checkpoints: each trial reports its return so far after every 1/PRUNE_STEPS of
#: the bars.
PRUNE_STEPS = 4


def _run_steps(params: dict[str, Any], report: Callable[[int, float], None]
               ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """One combination's run on the inputs given to :func:`_init_worker`, in :data:`PRUNE_STEPS`
    batches, ``report(step, return so far)`` after each (an exception it raises — Optuna's
    TrialPruned — stops the run). Batches run as the whole series does: a run that goes to the
    end is exactly :func:`_run_one`'s."""
    from trader.backtest import backtest_kernel, finish_result

    strategy, data, kwargs = _WORK["strategy"], _WORK["data"], _WORK["kwargs"]
    size = -(-len(data) // PRUNE_STEPS)
    kernel = backtest_kernel(strategy, dict(params), data, **(kwargs | {"batch_size": max(1, size)}))
    cash = kernel.config.cash
    step = iter(range(PRUNE_STEPS + 1))
    result = kernel.run(on_batch=lambda done: report(next(step), float(kernel.engine.equity) / cash - 1.0))
    return _outcome(finish_result(kernel, result))


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """A sweep's outcome. ``rows``: one dict per combination (its parameters, then every
    statistic), in the order run; ``best``: the objective's best row; ``returns``: the
    combinations' daily returns (days × combinations, aligned on ``days``); ``overfitting``: the
    :class:`trader.research.stats.OverfittingReport` of those returns (None with fewer than 2
    combinations or too few days); ``bar_combos_per_s``: bars × combinations per second of the
    whole sweep."""

    strategy: str
    params: list[str]
    objective: str
    maximize: bool
    rows: list[dict[str, Any]]
    best: dict[str, Any]
    best_index: int
    days: np.ndarray
    returns: np.ndarray
    overfitting: Any
    bars: int
    elapsed_s: float
    jobs: int
    #: With several objectives: the rows on the Pareto front (Optuna's best trials).
    pareto: list[int] = dataclasses.field(default_factory=list)
    #: How the runs ran: together in this process on N threads (a vectorized strategy), on a
    #: local Dask cluster of N processes, on a Dask cluster by address, Optuna's workers.
    runner: str = ""

    @property
    def bar_combos_per_s(self) -> float:
        return self.bars * len(self.rows) / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def table(self) -> Any:
        """The rows as a pyarrow Table (parameters first, then every statistic)."""
        import pyarrow as pa

        cols = list(self.rows[0]) if self.rows else []
        return pa.table({c: [r.get(c) for r in self.rows] for c in cols})

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the table to PATH.parquet, .csv or .feather (by the suffix)."""
        import pyarrow.csv as pacsv
        import pyarrow.feather as feather
        import pyarrow.parquet as pq

        p = os.fspath(path)
        t = self.table()
        if p.endswith(".parquet"):
            pq.write_table(t, p)
        elif p.endswith(".csv"):
            pacsv.write_csv(t, p)
        elif p.endswith((".feather", ".arrow")):
            feather.write_feather(t, p)
        else:
            raise InvalidInputError(f"out: {p}: expected a .parquet, .csv or .feather file")

    def summary(self) -> dict[str, Any]:
        """What the CLI prints with ``--json``: the best row, the overfitting statistics, the
        pace, every row."""
        o = self.overfitting
        over = None if o is None else {
            "n_trials": o.n_trials, "n_days": o.n_periods, "best_sharpe_annual": o.sharpe_annual, "psr": o.psr,
            "dsr": o.dsr, "sr_star_annual": o.sr_star_annual, "pbo": o.pbo, "prob_oos_loss": o.prob_oos_loss,
            "reality_check_pvalue": o.reality_check_pvalue, "spa_pvalue": o.spa_pvalue,
        }
        return {"strategy": self.strategy, "objective": self.objective, "combinations": len(self.rows),
                "best": self.best, "pareto": [self.rows[i] for i in self.pareto], "overfitting": over, "bars": self.bars, "elapsed_s": round(self.elapsed_s, 3),
                "bar_combos_per_s": self.bar_combos_per_s, "jobs": self.jobs, "runner": self.runner, "rows": self.rows}

    def plot(self, path: str | os.PathLike[str], *, x: str | None = None, y: str | None = None) -> str:
        """Write the sweep's plot to PATH.html (see :func:`trader.research.plots.sweep_figure`):
        a heatmap of the objective over two parameters, a line over one, parallel coordinates
        over more; plotly.js inline, so the file opens offline."""
        from trader.research.plots import write_sweep_plot

        return write_sweep_plot(self, path, x=x, y=y)


def _score(value: Any, maximize: bool) -> float:
    """A row's objective as a number to maximize (None or NaN: the worst)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -math.inf
    v = float(value)
    return v if maximize else -v


METHODS = ("grid", "random", "tpe", "cmaes")


def _objectives(objective: str) -> list[tuple[str, str, bool]]:
    """(name, statistic, maximize) of each objective of "a" or "a,b" (multi-objective: Optuna)."""
    names = [o.strip() for o in str(objective).split(",")]
    out = []
    for n in names:
        if n not in OBJECTIVES:
            raise InvalidInputError(f"objective: unknown {n!r}; one of {', '.join(OBJECTIVES)}")
        out.append((n, *OBJECTIVES[n]))
    if len({o[1] for o in out}) != len(out):
        raise InvalidInputError(f"objective: {objective!r} names one statistic twice")
    return out


def check_grid(strategy: Any, grid: Mapping[str, Any] | Sequence[str] | None, fixed: Mapping[str, Any] | None,
               backtest: Mapping[str, Any], *, jobs: Any, method: str, trials: Any, seed: int, what: str
               ) -> tuple[dict[str, list[Any]], dict[str, Any], Any, list[dict[str, Any]]]:
    """A search's arguments, checked before any run (by the sweep, and by the walk-forward and
    cross-validation that run sweeps): ``(axes, fixed, a strategy made with the fixed parameters,
    every combination to run)`` — the combinations of a grid or random search, each one checked
    by the strategy's constructor; none for an Optuna search (``trials`` checked instead).
    ``what``: whose arguments, named in the errors."""
    from trader.backtest import make_strategy

    if grid is None:
        raise InvalidInputError("grid: empty: give at least one parameter to sweep (e.g. fast=5:25:2)")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    if "params" in backtest or "strategy" in backtest:
        raise InvalidInputError(f"backtest options: params and strategy are the {what}'s own arguments")
    axes = parse_grid(grid)
    fixed = dict(fixed or {})
    clash = sorted(set(axes) & set(fixed))
    if clash:
        raise InvalidInputError(f"grid: {', '.join(clash)} both swept and fixed")
    proto = make_strategy(strategy, fixed)
    known = set(type(proto).params())
    unknown = sorted(set(axes) - known) if known else []
    if unknown:
        raise InvalidInputError(f"grid: strategy {getattr(proto, 'name', '') or type(proto).__name__} has no parameter "
                                f"{', '.join(unknown)} (it has {', '.join(sorted(known)) or 'none'})")
    if method in ("tpe", "cmaes"):
        if trials is None or isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise InvalidInputError(f"trials: an Optuna search needs a number of trials >= 1, got {trials!r}")
        return axes, fixed, proto, []
    combos = [fixed | c for c in combinations(axes, method=method, trials=trials, seed=seed)]
    for c in combos:  # every combination must make a valid strategy: its constructor checks the parameters
        try:
            make_strategy(strategy, c)
        except InvalidInputError as e:
            raise InvalidInputError(f"grid: {c}: {e}") from None
    return axes, fixed, proto, combos


def load_bars(data: Any, backtest: dict[str, Any], *, what: str, required: bool = True) -> Any:
    """The bars of ``data`` in memory, read once for every run of a sweep, walk-forward or
    cross-validation: :class:`trader.data.Bars` as given, else read from its data source (a path;
    None: the built-in series) with the ``source``/``symbol``/``start``/``end``/``options`` of
    ``backtest``, which are then taken out of it; the price precision the feed declares goes into
    ``backtest`` (unless one is given), as a run on the source itself would use it. A source that
    cannot load its bars: an error (``required``), else ``data`` is returned as it is (each run
    reads it). Several instruments (a list) are returned as they are."""
    from trader.data import Bars

    if isinstance(data, (Bars, list, tuple)):
        bars = data
    else:
        from trader.plugins import find_data_source

        feed = find_data_source(data, backtest.get("source")).open(
            data, symbol=backtest.get("symbol"), start=backtest.get("start"), end=backtest.get("end"),
            **(backtest.get("options") or {}))
        if not hasattr(feed, "load"):
            if required:
                raise InvalidInputError(f"data: {data}: not a bar source {what} can slice")
            return data
        bars = feed.load()
        for k in ("source", "symbol", "start", "end", "options"):
            backtest.pop(k, None)
        declared = (getattr(feed, "meta", None) or {}).get("price_precision")
        if declared is not None and backtest.get("price_precision") is None:
            backtest["price_precision"] = int(declared)
    if isinstance(bars, Bars) and len(bars) == 0:
        raise InvalidInputError("data: no bars")
    return bars


def sweep(strategy: Any = "ema_cross", grid: Mapping[str, Any] | Sequence[str] | None = None, data: Any = None, *,
          method: str = "grid", trials: int | None = None, objective: str = "sharpe", seed: int = 0,
          jobs: int | None = 1, fixed: Mapping[str, Any] | None = None, progress: Callable[[int, int], None] | None = None,
          storage: str | None = None, study: str | None = None, n_splits: int = 16, n_boot: int = 1000,
          scheduler: str | None = None, prune: bool = False, **backtest: Any) -> SweepResult:
    """Run ``strategy`` over ``data`` for parameter combinations of ``grid`` (see the module docs)
    and rank the runs by ``objective`` (a key of :data:`OBJECTIVES`; with Optuna, several
    separated by commas for a multi-objective search, e.g. ``"return,max_drawdown"``).

    ``method``: ``grid`` (every combination), ``random`` (``trials`` of them, seeded), or an
    Optuna search of ``trials`` runs over the grid's ranges — ``tpe`` (Tree-structured Parzen
    Estimator) or ``cmaes`` (CMA-ES) — stored in ``storage`` (an Optuna storage URL; default
    ``sqlite:///trader-optuna.db`` in the working folder) under the name ``study`` (default: the
    strategy and the grid): a study interrupted (killed) is resumed by the same call, which then
    runs only the trials still missing, and several processes or machines given the same storage
    share one study (Optuna's own mechanism). ``prune``: stop unpromising trials early — each
    trial reports its return so far at every quarter of the bars and Optuna's median rule stops
    one below the median of the earlier trials there (one higher-is-better objective; pruned
    trials are not in the table, and do not count toward ``trials``).

    ``fixed``: parameters every run gets. ``backtest``: :func:`trader.run_backtest`'s keyword
    arguments (fees, account, mode, ...), the same for every run. ``jobs``: worker processes of a
    local Dask cluster (None: the machine's cores; 1: in this process); ``scheduler``: the address
    ``tcp://HOST:PORT`` of an existing Dask cluster to run on instead (``jobs`` is then ignored,
    but for an Optuna search: its workers, as many tasks on the cluster, sharing the study through
    ``storage``, which must then be given and reachable from every worker — a database server, or
    SQLite at an absolute path on a shared filesystem; see :mod:`trader.research.distributed`). ``progress(done, total)`` is called as runs finish. ``n_splits`` and ``n_boot`` go to the overfitting report (PBO's blocks, the
    bootstraps' resamples). Bad input is refused before any run."""
    if method not in METHODS:
        raise InvalidInputError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    goals = _objectives(objective)
    optuna_search = method in ("tpe", "cmaes")
    if len(goals) > 1 and not optuna_search:
        raise InvalidInputError(f"objective: several objectives ({objective}) need an Optuna search (method tpe)")
    if method == "cmaes" and len(goals) > 1:
        raise InvalidInputError("objective: CMA-ES searches one objective; use method tpe for several")
    if optuna_search and scheduler is not None and (storage is None or storage.startswith("sqlite:///")
                                                    and not storage.startswith("sqlite:////")):
        raise InvalidInputError(f"storage: an Optuna search on the Dask cluster at {scheduler} shares its study through "
                                "the storage, which every worker must reach: give --storage (a database server URL, or "
                                "sqlite:////absolute/path on a shared filesystem)")
    if prune and not optuna_search:
        raise InvalidInputError(f"prune: pruning stops Optuna trials early; method {method} runs every combination "
                                "(use --method tpe or cmaes)")
    axes, fixed, proto, combos = check_grid(strategy, grid, fixed, backtest, jobs=jobs, method=method, trials=trials,
                                            seed=seed, what="sweep")
    name = getattr(proto, "name", "") or type(proto).__name__
    backtest.setdefault("mode", "auto")
    data = load_bars(data, backtest, what="a sweep", required=False)
    strategy_ref = strategy if isinstance(strategy, str) else (strategy if isinstance(strategy, type) else type(strategy))
    want = (os.cpu_count() or 1) if jobs is None else jobs
    t0 = time.perf_counter()
    pareto: list[int] = []
    if optuna_search:
        from trader.research.search import optuna_search as run_search

        assert trials is not None
        params_run, outs, pareto, workers = run_search(
            strategy_ref, data, backtest, axes, fixed, goals, method=method, trials=trials, seed=seed, jobs=want,
            storage=storage, study=study or f"{name}:" + ";".join(f"{k}={v[0]}..{v[-1]}" for k, v in axes.items()),
            progress=progress, prune=prune, scheduler=scheduler)
        runner = (f"Optuna {method}, {workers} worker{'s' if workers > 1 else ''} on the Dask cluster at {scheduler}"
                  if scheduler is not None else f"Optuna {method}, {workers} worker process{'es' if workers > 1 else ''}")
    else:
        workers = max(1, min(want, len(combos)))
        params_run = combos
        if scheduler is None and _together(proto, data, backtest):
            outs = _execute_together(strategy_ref, data, backtest, combos, workers, progress)
            runner = f"run together in this process on {workers} thread{'s' if workers > 1 else ''}"
        else:
            outs = _execute(strategy_ref, data, backtest, combos, workers, progress, scheduler)
            runner = (f"on the Dask cluster at {scheduler}" if scheduler is not None else
                      f"on a local Dask cluster of {workers} processes" if workers > 1 else "one by one in this process")
    elapsed = time.perf_counter() - t0
    return _assemble(name, axes, params_run, outs, goals, pareto, elapsed, workers, seed, n_splits, n_boot, runner)


def _execute(strategy_ref: Any, data: Any, backtest: dict[str, Any], combos: list[dict[str, Any]], workers: int,
             progress: Callable[[int, int], None] | None, scheduler: str | None = None
             ) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray, int]]:
    """Every combination's run, in the combinations' order, through
    :func:`trader.research.distributed.run_tasks`: in this process (``workers == 1``, no
    scheduler), on a local Dask cluster of ``workers`` processes, or on the cluster at
    ``scheduler``; the bars are sent to each worker once."""
    from trader.research.distributed import run_tasks

    return run_tasks(_run_combo, combos, jobs=workers, scheduler=scheduler, shared=(strategy_ref, data, backtest),
                     progress=progress, name="sweep")


#: Combinations run together in one pass (their engines alive at once): bounds the memory of a
#: pass (each engine holds its equity curve, ~17 bytes a bar) and sets how often progress moves.
TOGETHER = 16


def _together(proto: Any, data: Any, backtest: Mapping[str, Any]) -> bool:
    """Whether the combinations run together in this process (:func:`trader.kernel.run_many`):
    a strategy with a vectorized form, on one instrument's bars in memory, not in event mode."""
    from trader.data import Bars
    from trader.strategy import Strategy

    return (isinstance(data, Bars) and backtest.get("mode") != "event"
            and type(proto).vectorized is not Strategy.vectorized)


def _execute_together(strategy_ref: Any, data: Any, backtest: dict[str, Any], combos: list[dict[str, Any]],
                      threads: int, progress: Callable[[int, int], None] | None
                      ) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray, int]]:
    """Every combination's run, :data:`TOGETHER` at a time through :func:`trader.kernel.run_many`:
    the strategy's decisions for all of them at once (``vectorized_many``), their simulations in
    one pass over the bars on ``threads`` threads with the GIL released. Each result is exactly
    :func:`trader.run_backtest`'s for its combination (the same kernel, run the same way); the
    price precision is inferred once, from the first kernel, for all of them."""
    from trader.backtest import backtest_kernel, finish_result
    from trader.kernel import run_many

    kwargs = dict(backtest)
    outs: list[tuple[dict[str, Any], np.ndarray, np.ndarray, int]] = []
    known: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] = []  # equity times -> their day ends

    def ends_of(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for seen, ends in known:  # the runs' curves share their times (one point a bar) but for a ruin
            if len(seen) == len(ts) and np.array_equal(seen, ts):
                return ends
        ends = day_ends(ts)
        known[:] = [*known[-7:], (ts, ends)]
        return ends
    for a in range(0, len(combos), TOGETHER):
        kernels = [backtest_kernel(strategy_ref, dict(c), data, **kwargs) for c in combos[a:a + TOGETHER]]
        if kwargs.get("price_precision") is None:
            kwargs["price_precision"] = kernels[0].price_precisions()[0]
            for k in kernels:
                k.config.price_precision = kwargs["price_precision"]
        def out(kr: tuple[Any, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
            r = finish_result(*kr)
            days, rets = daily_returns(r.equity_ts, r.equity, ends_of(r.equity_ts) if len(r.equity) else None)
            return dict(r.stats), days, rets, int(r.bars)

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            outs.extend(pool.map(out, zip(kernels, run_many(kernels, threads=threads))))
        if progress:
            progress(len(outs), len(combos))
    return outs


def _assemble(name: str, axes: Mapping[str, Any], combos: list[dict[str, Any]], outs: list[Any],
              goals: list[tuple[str, str, bool]], pareto: list[int], elapsed: float, workers: int, seed: int,
              n_splits: int, n_boot: int, runner: str = "") -> SweepResult:
    """The result of the runs: the table, the best by the first objective (among the Pareto front
    for several), the daily returns and their overfitting report."""
    rows = []
    bars = 0
    for c, out in zip(combos, outs):
        stats, _, _, n = out
        bars = max(bars, n)
        rows.append({**{k: c[k] for k in axes}, **stats})
    if not rows:
        raise InvalidInputError("trials: no run completed (every suggested combination was invalid for the strategy)")
    _, key, maximize = goals[0]
    pool = pareto or list(range(len(rows)))
    best_i = max(pool, key=lambda i: (_score(rows[i].get(key), maximize), -i))
    # the runs' daily returns, aligned on the union of their days (a day a run has no equity
    # value for is a 0 return)
    all_days = np.unique(np.concatenate([o[1] for o in outs]))
    matrix = np.zeros((len(all_days), len(rows)))
    for j, out in enumerate(outs):
        matrix[np.searchsorted(all_days, out[1]), j] = out[2]
    report = None
    if len(rows) >= 2 and len(all_days) >= 8:
        from trader.research.stats import overfitting_report

        splits = min(n_splits, (len(all_days) // 2) // 2 * 2)
        try:
            report = overfitting_report(matrix, 365.0, n_splits=max(2, splits), n_boot=n_boot, seed=seed)
        except InvalidInputError:
            report = None  # every run flat (none traded): nothing to test
    return SweepResult(strategy=name, params=list(axes), objective=",".join(g[0] for g in goals), maximize=maximize,
                       rows=rows, best=rows[best_i], best_index=best_i, days=all_days, returns=matrix, overfitting=report,
                       bars=bars, elapsed_s=elapsed, jobs=workers, pareto=pareto, runner=runner)
