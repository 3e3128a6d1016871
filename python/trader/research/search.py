"""Optuna searches for :func:`trader.research.sweep.sweep` (``method="tpe"`` or ``"cmaes"``).

The grid's axes become Optuna distributions — an evenly spaced range of integers an
``IntDistribution`` with its step, of decimals a ``FloatDistribution`` with its step (values
rounded to the grid's decimals), anything else categorical — and each trial is one backtest, run
by the sweep's own worker function, so a trial's statistics are exactly what ``run_backtest``
gives for its parameters. A trial's statistics and daily returns are kept as its user
attributes in the study's storage, so a study killed mid-run is resumed from the storage (only
the missing trials run) and the sweep's table and overfitting report cover every trial. Several
worker processes (or machines) share one study through the storage, Optuna's own mechanism for
distributed search; with several workers a study may end with up to one trial more per extra
worker than asked (each worker finishes the trial it has begun), and every complete trial is
reported. A suggested combination the strategy refuses (e.g. fast >= slow) is pruned and does
not count as a trial.

Pruning (``prune=True``, ``trader optimize --prune``): a trial's backtest runs in
:data:`trader.research.sweep.PRUNE_STEPS` batches (batches run as the whole series does) and
reports its return so far after each; Optuna's median rule stops a trial below the median of the
earlier trials at the same checkpoint. One higher-is-better objective only (the return so far
stands for it); a trial that runs to the end is exactly its backtest.

Several workers (``jobs``, or a Dask cluster at ``scheduler``) are tasks of
:func:`trader.research.distributed.run_tasks`, each running trials of the one study in the
shared storage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError

__all__ = ["optuna_search", "DEFAULT_STORAGE"]

#: Where a study lives unless told: a SQLite file in the working folder.
DEFAULT_STORAGE = "sqlite:///trader-optuna.db"


def _spec(values: Sequence[Any]) -> tuple[str, Any]:
    """("int", (lo, hi, step)) | ("float", (lo, hi, step, decimals)) | ("cat", values)."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(values) >= 2 and len(nums) == len(values):
        if all(isinstance(v, int) for v in values):
            steps = {b - a for a, b in zip(values, values[1:])}
            if len(steps) == 1 and (step := steps.pop()) > 0:
                return "int", (values[0], values[-1], step)
        else:
            dec = [Decimal(str(v)) for v in values]
            steps_d = {b - a for a, b in zip(dec, dec[1:])}
            if len(steps_d) == 1 and (step_d := steps_d.pop()) > 0:
                places = max(-d.as_tuple().exponent for d in dec) if dec else 0  # type: ignore[operator]
                return "float", (float(dec[0]), float(dec[-1]), float(step_d), max(0, int(places)))
    return "cat", list(values)


def _suggest(trial: Any, name: str, spec: tuple[str, Any]) -> Any:
    kind, arg = spec
    if kind == "int":
        lo, hi, step = arg
        return trial.suggest_int(name, lo, hi, step=step)
    if kind == "float":
        lo, hi, step, places = arg
        return round(trial.suggest_float(name, lo, hi, step=step), places)
    return trial.suggest_categorical(name, arg)


def _sampler(method: str, seed: int) -> Any:
    import optuna

    if method == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(prune: bool) -> Any:
    """The median rule (Optuna's MedianPruner): from the 6th trial on, a trial whose return so far
    is below the median of the earlier trials' at the same checkpoint is stopped there."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0) if prune else optuna.pruners.NopPruner()


def _open(storage: str, study: str, goals: Sequence[tuple[str, str, bool]], method: str, seed: int,
          prune: bool = False) -> Any:
    import optuna

    directions = ["maximize" if g[2] else "minimize" for g in goals]
    try:
        s = optuna.create_study(storage=storage, study_name=study, directions=directions,
                                sampler=_sampler(method, seed), pruner=_pruner(prune), load_if_exists=True)
    except (ValueError, ImportError, RuntimeError) as e:  # a bad URL, a driver missing, a database refused
        raise InvalidInputError(f"storage: {storage}: {e}") from None
    except Exception as e:  # sqlalchemy's errors (an unreachable database server)
        raise InvalidInputError(f"storage: {storage}: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    have = [d.name.lower() for d in s.directions]
    if have != directions:
        raise InvalidInputError(f"study {study!r} in {storage} optimizes {have}, not {directions}: another study name "
                                "(--study) or the same objective")
    return s


def _complete(s: Any) -> list[Any]:
    import optuna

    return sorted(s.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)), key=lambda t: t.number)


def _optimize(storage: str, study: str, goals: Sequence[tuple[str, str, bool]], method: str, seed: int, trials: int,
              specs: Mapping[str, tuple[str, Any]], fixed: Mapping[str, Any], strategy_ref: Any,
              on_trial: Callable[[int], None] | None = None, prune: bool = False) -> None:
    """One worker: trials of the shared study until it holds ``trials`` complete ones."""
    import optuna

    from trader.backtest import make_strategy
    from trader.research.sweep import _run_one, _run_steps

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = _open(storage, study, goals, method, seed, prune)

    def objective(trial: Any) -> Any:
        params = dict(fixed) | {name: _suggest(trial, name, spec) for name, spec in specs.items()}
        try:
            make_strategy(strategy_ref, params)  # its constructor validates the parameters
        except InvalidInputError as e:
            trial.set_user_attr("invalid", str(e))
            raise optuna.TrialPruned(str(e)) from None
        if prune:
            def report(step: int, so_far: float) -> None:
                trial.report(so_far, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"return {so_far:+.4%} at checkpoint {step + 1}")

            stats, days, rets, bars = _run_steps(params, report)
        else:
            stats, days, rets, bars = _run_one(params)
        trial.set_user_attr("params", params)  # as run (a float rounded to the grid's decimals)
        trial.set_user_attr("stats", stats)
        trial.set_user_attr("days", [int(d) for d in days])
        trial.set_user_attr("returns", [float(r) for r in rets])
        trial.set_user_attr("bars", bars)
        values = []
        for _, key, maximize in goals:
            v = stats.get(key)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                v = -math.inf if maximize else math.inf  # a statistic undefined for this run: the worst
            values.append(float(v))
        return values[0] if len(values) == 1 else values

    def stop_when_done(study_: Any, trial: Any) -> None:
        n = len(_complete(study_))
        if on_trial is not None:
            on_trial(n)
        if n >= trials:
            study_.stop()

    left = trials - len(_complete(s))
    if left > 0:
        # pruned suggestions (invalid combinations) do not count: allow some, then give up
        s.optimize(objective, n_trials=left * 20, callbacks=[stop_when_done])


def _worker(shared: tuple[Any, ...], k: int) -> int:
    """Worker k of a search: the run's inputs in this process, then trials of the shared study (a
    task of :func:`trader.research.distributed.run_tasks`)."""
    from trader.research.sweep import _init_worker

    strategy_ref, data, backtest, storage, study, goals, method, seed, trials, specs, fixed, prune = shared
    _init_worker(strategy_ref, data, backtest)
    _optimize(storage, study, goals, method, seed + 7919 * k, trials, specs, fixed, strategy_ref, prune=prune)
    return k


def optuna_search(strategy_ref: Any, data: Any, backtest: dict[str, Any], axes: Mapping[str, Sequence[Any]],
                  fixed: Mapping[str, Any], goals: Sequence[tuple[str, str, bool]], *, method: str, trials: int,
                  seed: int, jobs: int, storage: str | None, study: str,
                  progress: Callable[[int, int], None] | None, prune: bool = False,
                  scheduler: str | None = None) -> tuple[list[dict[str, Any]], list[Any], list[int], int]:
    """Run (or resume) the study; returns its complete trials as the sweep's (parameters, runs),
    the Pareto front's rows for several objectives, and the number of worker processes."""
    try:
        import optuna
    except ImportError:  # pragma: no cover - optuna is a dependency of the research extra
        raise InvalidInputError("method: an Optuna search needs optuna (pip install 'trader[research]')") from None
    from trader.research.sweep import _init_worker

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage or DEFAULT_STORAGE
    specs = {name: _spec(list(values)) for name, values in axes.items()}
    if prune and len(goals) > 1:
        raise InvalidInputError("prune: Optuna prunes single-objective searches only; give one objective")
    if prune and not goals[0][2]:
        raise InvalidInputError(f"prune: a pruned trial is judged on its return so far, which cannot stand for "
                                f"{goals[0][0]} (lower is better): prune a search for a higher-is-better objective")
    if prune and not hasattr(data, "__len__"):
        raise InvalidInputError("prune: a pruned search runs on one instrument's bars in memory")
    s = _open(storage, study, goals, method, seed, prune)  # checked here, before any run
    done = len(_complete(s))
    workers = 1 if trials <= done else max(1, min(jobs, trials - done)) if scheduler is None else max(1, jobs)
    if trials > done:
        if workers == 1 and scheduler is None:
            _init_worker(strategy_ref, data, backtest)
            _optimize(storage, study, goals, method, seed + done, trials, specs, fixed, strategy_ref,
                      (lambda n: progress(min(n, trials), trials)) if progress else None, prune)
        else:
            # the workers share the study through its storage (Optuna's mechanism), each a task on a
            # local Dask cluster or the one at `scheduler`
            from trader.research.distributed import run_tasks

            run_tasks(_worker, list(range(workers)), jobs=workers, scheduler=scheduler, name="optuna",
                      shared=(strategy_ref, data, backtest, storage, study, goals, method, seed + done, trials, specs,
                              fixed, prune),
                      progress=(lambda _d, _t: progress(min(len(_complete(s)), trials), trials)) if progress else None)
    complete = _complete(s)
    params = [dict(t.user_attrs["params"]) for t in complete]
    outs = [(dict(t.user_attrs["stats"]), np.asarray(t.user_attrs["days"], dtype=np.int64),
             np.asarray(t.user_attrs["returns"], dtype=np.float64), int(t.user_attrs["bars"])) for t in complete]
    pareto: list[int] = []
    if len(goals) > 1 and complete:
        front = {t.number for t in s.best_trials}
        pareto = [i for i, t in enumerate(complete) if t.number in front]
    return params, outs, pareto, workers
