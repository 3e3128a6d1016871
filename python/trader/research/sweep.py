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


def daily_returns(equity_ts: np.ndarray, equity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UTC day starts in ns, simple returns) of an equity curve from one day's last value to the
    next's; the first day's return is from the first value."""
    if len(equity) == 0:
        return np.empty(0, np.int64), np.empty(0)
    day = np.asarray(equity_ts, dtype=np.int64) // 86_400_000_000_000
    last = np.flatnonzero(np.r_[day[1:] != day[:-1], True])
    closes = np.asarray(equity, dtype=np.float64)[last]
    prev = np.r_[float(equity[0]), closes[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, closes / prev - 1.0, 0.0)
    return day[last] * 86_400_000_000_000, r


# -- the workers ----------------------------------------------------------------------------------

_WORK: dict[str, Any] = {}


def _init_worker(strategy: Any, data: Any, kwargs: dict[str, Any]) -> None:
    _WORK.update(strategy=strategy, data=data, kwargs=kwargs)


def _run_one(params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    from trader.backtest import run_backtest

    r = run_backtest(_WORK["strategy"], dict(params), _WORK["data"], **_WORK["kwargs"])
    days, rets = daily_returns(r.equity_ts, r.equity)
    return dict(r.stats), days, rets, int(r.bars)


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
                "bar_combos_per_s": self.bar_combos_per_s, "jobs": self.jobs, "rows": self.rows}


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


def sweep(strategy: Any = "ema_cross", grid: Mapping[str, Any] | Sequence[str] | None = None, data: Any = None, *,
          method: str = "grid", trials: int | None = None, objective: str = "sharpe", seed: int = 0,
          jobs: int | None = 1, fixed: Mapping[str, Any] | None = None, progress: Callable[[int, int], None] | None = None,
          storage: str | None = None, study: str | None = None, n_splits: int = 16, n_boot: int = 1000,
          **backtest: Any) -> SweepResult:
    """Run ``strategy`` over ``data`` for parameter combinations of ``grid`` (see the module docs)
    and rank the runs by ``objective`` (a key of :data:`OBJECTIVES`; with Optuna, several
    separated by commas for a multi-objective search, e.g. ``"return,max_drawdown"``).

    ``method``: ``grid`` (every combination), ``random`` (``trials`` of them, seeded), or an
    Optuna search of ``trials`` runs over the grid's ranges — ``tpe`` (Tree-structured Parzen
    Estimator) or ``cmaes`` (CMA-ES) — stored in ``storage`` (an Optuna storage URL; default
    ``sqlite:///trader-optuna.db`` in the working folder) under the name ``study`` (default: the
    strategy and the grid): a study interrupted (killed) is resumed by the same call, which then
    runs only the trials still missing, and several processes or machines given the same storage
    share one study (Optuna's own mechanism).

    ``fixed``: parameters every run gets. ``backtest``: :func:`trader.run_backtest`'s keyword
    arguments (fees, account, mode, ...), the same for every run. ``jobs``: worker processes
    (None: the machine's cores; 1: in this process). ``progress(done, total)`` is called as runs
    finish. ``n_splits`` and ``n_boot`` go to the overfitting report (PBO's blocks, the
    bootstraps' resamples). Bad input is refused before any run."""
    from trader.backtest import make_strategy
    from trader.data import Bars

    if method not in METHODS:
        raise InvalidInputError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    goals = _objectives(objective)
    optuna_search = method in ("tpe", "cmaes")
    if len(goals) > 1 and not optuna_search:
        raise InvalidInputError(f"objective: several objectives ({objective}) need an Optuna search (method tpe)")
    if method == "cmaes" and len(goals) > 1:
        raise InvalidInputError("objective: CMA-ES searches one objective; use method tpe for several")
    if grid is None:
        raise InvalidInputError("grid: empty: give at least one parameter to sweep (e.g. fast=5:25:2)")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    if "params" in backtest or "strategy" in backtest:
        raise InvalidInputError("backtest options: params and strategy are the sweep's own arguments")
    axes = parse_grid(grid)
    fixed = dict(fixed or {})
    clash = sorted(set(axes) & set(fixed))
    if clash:
        raise InvalidInputError(f"grid: {', '.join(clash)} both swept and fixed")
    proto = make_strategy(strategy, fixed)
    name = getattr(proto, "name", "") or type(proto).__name__
    known = set(type(proto).params())
    unknown = sorted(set(axes) - known) if known else []
    if unknown:
        raise InvalidInputError(f"grid: strategy {name} has no parameter {', '.join(unknown)} (it has "
                                f"{', '.join(sorted(known)) or 'none'})")
    if optuna_search:
        if trials is None or isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise InvalidInputError(f"trials: an Optuna search needs a number of trials >= 1, got {trials!r}")
        combos: list[dict[str, Any]] = []
    else:
        combos = [fixed | c for c in combinations(axes, method=method, trials=trials, seed=seed)]
        # every combination must make a valid strategy: checked here, before any run
        for c in combos:
            try:
                make_strategy(strategy, c)  # its constructor validates the parameters
            except InvalidInputError as e:
                raise InvalidInputError(f"grid: {c}: {e}") from None
    # the data once: a file is read here and handed to every run in memory
    if data is not None and not isinstance(data, (Bars, list, tuple)):
        from trader.plugins import find_data_source

        src = find_data_source(data, backtest.get("source"))
        feed = src.open(data, symbol=backtest.get("symbol"), start=backtest.get("start"), end=backtest.get("end"),
                        **(backtest.get("options") or {}))
        loaded = feed.load() if hasattr(feed, "load") else None
        if loaded is not None:
            data = loaded
            for k in ("source", "symbol", "start", "end", "options"):
                backtest.pop(k, None)
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
            progress=progress)
    else:
        workers = max(1, min(want, len(combos)))
        params_run = combos
        outs = _execute(strategy_ref, data, backtest, combos, workers, progress)
    elapsed = time.perf_counter() - t0
    return _assemble(name, axes, params_run, outs, goals, pareto, elapsed, workers, seed, n_splits, n_boot)


def _execute(strategy_ref: Any, data: Any, backtest: dict[str, Any], combos: list[dict[str, Any]], workers: int,
             progress: Callable[[int, int], None] | None) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray, int]]:
    """Every combination's run: in this process, or in ``workers`` processes that received the
    bars once."""
    outs: list[Any] = [None] * len(combos)
    if workers == 1:
        _init_worker(strategy_ref, data, backtest)
        for i, c in enumerate(combos):
            outs[i] = _run_one(c)
            if progress:
                progress(i + 1, len(combos))
        return outs
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                                initargs=(strategy_ref, data, backtest)) as pool:
        futures = {pool.submit(_run_one, c): i for i, c in enumerate(combos)}
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            outs[futures[fut]] = fut.result()
            if progress:
                progress(done, len(combos))
    return outs


def _assemble(name: str, axes: Mapping[str, Any], combos: list[dict[str, Any]], outs: list[Any],
              goals: list[tuple[str, str, bool]], pareto: list[int], elapsed: float, workers: int, seed: int,
              n_splits: int, n_boot: int) -> SweepResult:
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
                       bars=bars, elapsed_s=elapsed, jobs=workers, pareto=pareto)
