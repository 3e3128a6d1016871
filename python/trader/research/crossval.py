"""Cross-validation of a strategy's parameter choice without look-ahead: purged k-fold and
combinatorial purged cross-validation (CPCV) with an embargo (López de Prado 2018, ch. 7 and 12).

For each split of the bars into a test part and a training part (:func:`trader.research.splits.purged_kfold`
and :func:`trader.research.splits.cpcv`), a sweep (:func:`trader.research.sweep.sweep`) runs the
parameter combinations on the *training* bars only and the best combination by the objective is
then traded on the *test* bars. :func:`purged_cv` tests each of ``n_splits`` contiguous folds once:
the folds, in order, form one out-of-sample backtest of the whole data. :func:`cpcv` tests every
choice of ``n_test_groups`` groups out of ``n_groups``: the test blocks form φ = k/N · C(N, k)
out-of-sample backtest *paths*, each covering the whole data once, and the distribution of their
Sharpe ratios is the result to look at (López de Prado 2018, §12.4).

Definitions (bar indices ``0..n-1``; a range ``[a, b)`` is half-open):

- *Test block.* A fold (k-fold) or a group (CPCV), ``[start, end)``: the groups are cut as in
  :mod:`trader.research.splits` (``n // N`` bars, the first ``n % N`` one bar longer).
- *Purge.* ``purge`` bars: the strategy's lookback / label horizon, i.e. how many bars a
  decision's outcome (a position, a trade) or a feature can reach across a boundary. The training
  bars before a test block end ``purge`` bars before it: bars ``[start - purge, start)`` are
  removed, so no training trade or label runs into the test block. (In the terms of
  :mod:`trader.research.splits`: ``horizon=purge``, ``lookback=0`` — a training segment after a
  test block needs no lookback purge, because it starts cold, see below.)
- *Embargo.* ``embargo`` bars after each test block, ``[end, end + embargo)``, are removed from
  training too (serial correlation right after the test block).
- *Training segments.* What is left of the bars is the training part: a union of contiguous
  segments (the part before the test block, the part after it, and in CPCV the parts between test
  groups). Each segment is backtested **on its own, starting cold** (flat, with ``cash``, its
  indicators empty), so no indicator of a training run ever sees a bar outside its segment: in
  particular no bar of ``[start - purge, end + embargo)`` of any test block of its split. A
  segment not longer than the warm-up is left out (the strategy would make no decision in it) and
  listed in :attr:`CVFold.skipped_segments`; a split left with no segment is refused.
- *Training objective.* Every segment runs the same combinations (the same grid, or the same
  seeded random sample), and a combination's training statistics are its segments' statistics
  combined (:func:`combine_stats`): ``total_return`` chained over the segments
  (``Π(1 + r_i) - 1``, as if they were traded one after another), ``final_equity`` = ``cash ·
  (1 + that)``, ``trades``/``fees_paid``/``bars`` summed, ``max_drawdown`` the deepest segment's,
  ``win_rate``/``expectancy``/``profit_factor`` the trade-weighted mean, every other statistic
  (``sharpe``, ``sortino``, ``calmar``, ``cagr``, ...) the bar-weighted mean of the segments'
  values (None when a segment's is None). With one segment this is the segment's own statistics,
  so the choice is exactly the sweep's. The best combination has the best combined objective
  (None/NaN ranks last; ties go to the first in the sweep's order, as in the sweep).
- *Warm-up.* ``warmup`` bars (default: ``purge``, the strategy's lookback): the test run of a
  block gets the ``warmup`` bars before the block as well (fewer when the block starts earlier
  in the data; none for the first group), so the strategy's indicators are warm on the block's
  first bar. Those bars precede the block: past information only. The strategy runs on them as on
  any bar (it may trade), but the block's results count from its first bar: its statistics and
  daily returns are measured on the block's equity relative to the equity at the last warm-up bar
  (``base``), with the round trips closed and the fees paid inside the block (exposure from the
  position after each bar's fills). **No test run sees a bar after its block's end**, and no
  training run sees a bar outside its segment. A test block (fold, group) must be longer than the
  warm-up.
- *Paths.* A path stitches test blocks, one per group, in time order: each block's equity is
  scaled to start where the previous block ended (as the walk-forward's stitched curve); its daily
  returns (UTC days; a day split between two blocks is one day) and Sharpe ratio
  (daily, ``mean / std (ddof=1) · √365``, 0 for a flat path; None under 2 days), total return and
  maximum drawdown. Purged k-fold has one path (the folds in order); CPCV has φ, assigned as in
  :class:`trader.research.splits.CPCVResult`.

Parallelism: each training segment's sweep runs with ``jobs`` workers (the sweep's own
mechanism); segments shared by several CPCV splits are swept once, and a group traded with the
same parameters by several splits is run once. The test runs are run here, one by one.

References: M. López de Prado (2018), *Advances in Financial Machine Learning*, Wiley: §7.4
(purging, embargo, purged k-fold), §12.4 (combinatorial purged cross-validation, backtest paths).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError
from trader.inputs import check_int
from trader.research.distributed import check_scheduler
from trader.research.sweep import load_bars

__all__ = ["CVBlock", "CVFold", "CVPath", "CVResult", "combine_stats", "cpcv", "purged_cv"]

DAY_NS = 86_400_000_000_000
#: Most splits :func:`cpcv` runs (each is a sweep per training segment and a run per test group).
MAX_SPLITS = 10_000
#: Splits × bars at most (each split's training index set is held in memory: 8 bytes a bar).
MAX_SPLIT_BARS = 100_000_000
#: Quantiles of the path Sharpe ratios reported.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_SUMMED = ("bars", "trades", "fees_paid")
_TRADE_WEIGHTED = ("win_rate", "expectancy", "profit_factor")


# ------------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True, eq=False)
class CVBlock:
    """One test block's run: the group (k-fold: the fold), its bars ``[start, end)`` and times
    (``start_ts``, ``end_ts``: epoch ns, half-open), the ``warmup`` bars run before it, the
    parameters, the statistics over the block's bars, its equity (from its first bar) and
    ``base`` (the equity before that bar: ``cash``, or after the warm-up), and its daily
    returns."""

    group: int
    start: int
    end: int
    start_ts: int
    end_ts: int
    warmup: int
    params: dict[str, Any]
    stats: dict[str, Any]
    base: float
    equity_ts: np.ndarray
    equity: np.ndarray
    days: np.ndarray
    returns: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class CVFold:
    """One split: its test groups (k-fold: ``(fold,)``), the training segments run (bar ranges
    ``[a, b)``) and those left out as not longer than the warm-up, the chosen parameters (the
    fixed ones included), the combined training objective and each segment's, the combined
    training statistics of the chosen combination, the test blocks, the test statistics combined
    over the blocks the same way (one block: its own) with the objective's value, and the
    blocks' stitched daily returns."""

    fold: int
    groups: tuple[int, ...]
    train_segments: tuple[tuple[int, int], ...]
    skipped_segments: tuple[tuple[int, int], ...]
    params: dict[str, Any]
    train_objective: float | None
    segment_objectives: tuple[float | None, ...]
    train_stats: dict[str, Any]
    blocks: tuple[CVBlock, ...]
    test_stats: dict[str, Any]
    test_objective: float | None
    days: np.ndarray
    returns: np.ndarray

    @property
    def train_bars(self) -> int:
        """Bars in the training segments run."""
        return sum(b - a for a, b in self.train_segments)


@dataclasses.dataclass(frozen=True, eq=False)
class CVPath:
    """One backtest path: ``blocks[g]`` is the fold (split) whose test block on group ``g`` it
    uses; the stitched equity, daily returns and statistics."""

    path: int
    blocks: tuple[int, ...]
    equity_ts: np.ndarray
    equity: np.ndarray
    days: np.ndarray
    returns: np.ndarray
    total_return: float
    sharpe: float | None
    max_drawdown: float


@dataclasses.dataclass(frozen=True, eq=False)
class CVResult:
    """The outcome of :func:`purged_cv` (``method="purged_kfold"``, one path) or :func:`cpcv`
    (``method="cpcv"``, φ paths).

    ``days`` and ``path_returns`` (days × paths) are the paths' daily returns (every path covers
    the same bars, so the same days); ``returns`` is their mean over the paths (purged k-fold: the
    out-of-sample returns of the folds in order); ``path_sharpe`` the distribution of the paths'
    Sharpe ratios."""

    method: str
    strategy: str
    objective: str
    params: list[str]
    bars: int
    purge: int
    embargo: int
    warmup: int
    cash: float
    group_bounds: tuple[tuple[int, int], ...]
    folds: list[CVFold]
    paths: list[CVPath]
    days: np.ndarray
    path_returns: np.ndarray
    elapsed_s: float

    @property
    def returns(self) -> np.ndarray:
        """The out-of-sample daily returns: the mean over the paths of each day's return."""
        if self.path_returns.size == 0:
            return np.empty(0)
        return np.asarray(self.path_returns.mean(axis=1))

    @property
    def path_sharpe(self) -> dict[str, Any]:
        """The distribution of the paths' Sharpe ratios: ``n`` (paths with one), ``n_undefined``,
        ``mean``, ``std`` (ddof=1; 0 for one path), ``min``, ``q05``, ``q25``, ``median``,
        ``q75``, ``q95``, ``max`` (numpy's linear quantiles), and ``prob_nonpositive`` (the
        fraction of paths with a Sharpe ratio <= 0)."""
        values = np.array([p.sharpe for p in self.paths if p.sharpe is not None], dtype=np.float64)
        out: dict[str, Any] = {"n": int(values.size), "n_undefined": len(self.paths) - int(values.size)}
        if values.size == 0:
            return out | {k: None for k in ("mean", "std", "min", "q05", "q25", "median", "q75", "q95", "max",
                                            "prob_nonpositive")}
        qs = np.quantile(values, QUANTILES)
        out.update(mean=float(values.mean()), std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
                   min=float(values.min()), q05=float(qs[0]), q25=float(qs[1]), median=float(qs[2]), q75=float(qs[3]),
                   q95=float(qs[4]), max=float(values.max()), prob_nonpositive=float(np.mean(values <= 0)))
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict: the settings, each fold (params, training and test objective, test
        return and Sharpe), each path's statistics, the path Sharpe distribution and the
        out-of-sample curve's statistics."""
        key = _stat_key(self.objective)
        oos = _curve_summary(self.days, self.returns)
        return _clean({
            "method": self.method, "strategy": self.strategy, "objective": self.objective, "params": self.params,
            "bars": self.bars, "purge": self.purge, "embargo": self.embargo, "warmup": self.warmup,
            "n_groups": len(self.group_bounds), "n_folds": len(self.folds), "n_paths": len(self.paths),
            "folds": [{"fold": f.fold, "groups": list(f.groups), "train_segments": [list(s) for s in f.train_segments],
                       "skipped_segments": [list(s) for s in f.skipped_segments], "train_bars": f.train_bars,
                       "params": f.params, f"train_{key}": f.train_objective, f"test_{key}": f.test_objective,
                       "test_total_return": f.test_stats.get("total_return"), "test_sharpe": f.test_stats.get("sharpe"),
                       "test_trades": f.test_stats.get("trades")} for f in self.folds],
            "paths": [{"path": p.path, "blocks": list(p.blocks), "total_return": p.total_return, "sharpe": p.sharpe,
                       "max_drawdown": p.max_drawdown} for p in self.paths],
            "path_sharpe": self.path_sharpe, "out_of_sample": oos, "elapsed_s": round(self.elapsed_s, 3),
        })

    def table(self) -> Any:
        """One row per fold (a pyarrow Table): fold, test groups, test bar range and times, training
        bars and segments, the chosen parameters, the training and test objective, the test
        return, Sharpe ratio, maximum drawdown, trades and fees."""
        import pyarrow as pa

        key = _stat_key(self.objective)
        rows = []
        for f in self.folds:
            row: dict[str, Any] = {
                "fold": f.fold, "groups": ",".join(map(str, f.groups)),
                "test_start": min(b.start for b in f.blocks), "test_end": max(b.end for b in f.blocks),
                "test_start_ts": min(b.start_ts for b in f.blocks), "test_end_ts": max(b.end_ts for b in f.blocks),
                "train_bars": f.train_bars, "train_segments": len(f.train_segments),
            }
            row.update({n: f.params.get(n) for n in self.params})
            row.update({f"train_{key}": f.train_objective, f"test_{key}": f.test_objective,
                        "test_total_return": f.test_stats.get("total_return"), "test_sharpe": f.test_stats.get("sharpe"),
                        "test_max_drawdown": f.test_stats.get("max_drawdown"), "test_trades": f.test_stats.get("trades"),
                        "test_fees_paid": f.test_stats.get("fees_paid")})
            rows.append(_clean(row))
        cols = list(rows[0]) if rows else []
        return pa.table({c: [r.get(c) for r in rows] for c in cols})

    def paths_table(self) -> Any:
        """One row per path (a pyarrow Table): path, total return, Sharpe ratio, maximum drawdown,
        and the fold used on each group (``g0``, ``g1``, ...)."""
        import pyarrow as pa

        rows = [{"path": p.path, "total_return": p.total_return, "sharpe": p.sharpe, "max_drawdown": p.max_drawdown,
                 **{f"g{g}": s for g, s in enumerate(p.blocks)}} for p in self.paths]
        cols = list(rows[0]) if rows else []
        return pa.table({c: [r.get(c) for r in rows] for c in cols})


# ------------------------------------------------------------------------------------------------
# Statistics: combining segments, measuring a block, stitching a path


def _num(v: Any) -> float | None:
    """A finite float, or None (None, NaN, a non-number)."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def combine_stats(parts: Sequence[tuple[Mapping[str, Any], int]], cash: float) -> dict[str, Any]:
    """The statistics of several runs ``(stats, bars)`` taken together (see the module docs):
    ``total_return`` chained, ``final_equity = cash · (1 + total_return)``, ``bars``, ``trades``
    and ``fees_paid`` summed, ``max_drawdown`` the largest, ``win_rate``, ``expectancy`` and
    ``profit_factor`` weighted by trades, every other numeric statistic weighted by bars (None
    when a run's is None). One run: its statistics unchanged (with ``bars``)."""
    if not parts:
        raise InvalidInputError("parts: nothing to combine")
    if len(parts) == 1:
        stats, bars = parts[0]
        return dict(stats) | {"bars": int(bars)}
    keys: list[str] = []
    for stats, _ in parts:
        keys += [k for k in stats if k not in keys]
    weights = np.array([float(b) for _, b in parts])
    trades = np.array([float(_num(s.get("trades")) or 0.0) for s, _ in parts])
    out: dict[str, Any] = {"bars": int(weights.sum())}
    growth = 1.0
    for stats, _ in parts:
        r = _num(stats.get("total_return"))
        growth = growth * (1.0 + r) if r is not None and not math.isnan(growth) else math.nan
    for k in keys:
        raw = [s.get(k) for s, _ in parts]
        values = [_num(v) for v in raw]
        if k == "bars":
            continue
        if k == "total_return":
            out[k] = None if math.isnan(growth) else growth - 1.0
        elif k == "final_equity":
            out[k] = None if math.isnan(growth) else cash * growth
        elif k == "initial_cash":
            out[k] = cash
        elif all(isinstance(v, (bool, np.bool_)) for v in raw):
            out[k] = any(raw)
        elif not any(_is_number(v) for v in raw):
            continue  # not a number (a time, a name): no meaning for the runs together
        elif any(v is None for v in values):
            out[k] = None
        elif k in _SUMMED:
            out[k] = int(sum(values)) if k == "trades" else float(sum(values))  # type: ignore[arg-type]
        elif k == "max_drawdown":
            out[k] = max(values)  # type: ignore[type-var]
        elif k in _TRADE_WEIGHTED:
            used = [(v, t) for v, t in zip(values, trades) if t > 0]
            out[k] = float(sum(v * t for v, t in used) / sum(t for _, t in used)) if used else 0.0  # type: ignore[operator]
        else:
            with np.errstate(invalid="ignore"):
                out[k] = float(np.average(np.array(values, dtype=np.float64), weights=weights))
    return out


def _is_number(v: Any) -> bool:
    return v is not None and not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))


def _daily(ts: np.ndarray, equity: np.ndarray, base: float) -> tuple[np.ndarray, np.ndarray]:
    """(UTC day starts in ns, simple returns) of an equity curve from one day's last value to the
    next's; the first day's return is from ``base``, the equity before the curve's first point."""
    if len(equity) == 0:
        return np.empty(0, np.int64), np.empty(0)
    day = np.asarray(ts, dtype=np.int64) // DAY_NS
    last = np.flatnonzero(np.r_[day[1:] != day[:-1], True])
    closes = np.asarray(equity, dtype=np.float64)[last]
    prev = np.r_[float(base), closes[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, closes / prev - 1.0, 0.0)
    return day[last] * DAY_NS, r


def _block_stats(r: Any, first_ts: int, warmup: int, cash: float, interval_ns: int) -> tuple[dict[str, Any], float, np.ndarray,
                                                                                              np.ndarray]:
    """(statistics over the bars from ``first_ts`` on, base, their equity ts, equity) of a run
    whose first ``warmup`` bars are warm-up."""
    ts = np.asarray(r.equity_ts, dtype=np.int64)
    eq = np.asarray(r.equity, dtype=np.float64)
    if warmup == 0:
        return dict(r.stats) | {"warmup_bars": 0}, float(cash), ts, eq
    from trader.results import statistics

    k = int(np.searchsorted(ts, first_ts, side="left"))
    base = float(eq[k - 1]) if k > 0 else float(cash)
    ts_b, eq_b = ts[k:], eq[k:]
    fills = r.fills
    f_ts = np.asarray(fills["ts"], dtype=np.int64)
    signed = np.where(np.asarray(fills["side"]) > 0, 1.0, -1.0) * np.asarray(fills["qty"], dtype=np.float64)
    position = np.cumsum(signed)
    after = np.searchsorted(f_ts, ts_b, side="right")  # fills up to each bar
    held = np.where(after > 0, position[np.maximum(after - 1, 0)], 0.0) if len(f_ts) else np.zeros(len(ts_b))
    exposed = np.abs(held) > 1e-12
    tr = r.trades
    closed = np.asarray(tr["closed"], dtype=bool) if "closed" in tr else np.ones(len(tr["pnl"]), dtype=bool)
    inside = closed & (np.asarray(tr["exit_ts"], dtype=np.int64) >= first_ts) if "exit_ts" in tr else closed
    pnl = np.asarray(tr["pnl"], dtype=np.float64)[inside]
    fees = float(np.asarray(fills["fee"], dtype=np.float64)[f_ts >= first_ts].sum()) if len(f_ts) else 0.0
    if base <= 0:  # the warm-up ruined the account: nothing left to measure the block against
        stats = dict(r.stats)
    else:
        stats = statistics(eq_b, ts_b, exposed, pnl, base, interval_ns, fees, final_equity=float(r.stats["final_equity"]))
    stats["warmup_bars"] = int(warmup)
    stats["warmup_return"] = base / cash - 1.0
    return stats, base, ts_b, eq_b


def _stitch(blocks: Sequence[CVBlock], cash: float) -> tuple[np.ndarray, np.ndarray]:
    """The blocks' equity chained: each scaled to start where the previous ended."""
    ts_parts, eq_parts = [], []
    level = cash
    for b in blocks:
        if len(b.equity) == 0:
            continue
        scaled = b.equity * (level / b.base) if b.base > 0 else np.full(len(b.equity), level)
        ts_parts.append(b.equity_ts)
        eq_parts.append(scaled)
        level = float(scaled[-1])
    if not ts_parts:
        return np.empty(0, np.int64), np.empty(0)
    return np.concatenate(ts_parts), np.concatenate(eq_parts)


def _sharpe(returns: np.ndarray) -> float | None:
    """Annualized daily Sharpe ratio (√365), 0 for a flat series, None under 2 days."""
    if len(returns) < 2:
        return None
    from trader.research.stats import sharpe_ratio

    return float(sharpe_ratio(returns)) * math.sqrt(365.0)


def _drawdown(equity: np.ndarray, cash: float) -> float:
    if len(equity) == 0:
        return 0.0
    peak = np.maximum.accumulate(np.r_[cash, equity])[1:]
    return max(0.0, float(np.max(1.0 - equity / peak)))


def _curve_summary(days: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    if len(returns) == 0:
        return {"days": 0, "total_return": 0.0, "sharpe": None, "max_drawdown": 0.0}
    curve = np.cumprod(1.0 + returns)
    return {"days": int(len(returns)), "total_return": float(curve[-1] - 1.0), "sharpe": _sharpe(returns),
            "max_drawdown": _drawdown(curve, 1.0)}


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python ones, non-finite floats as None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _stat_key(objective: str) -> str:
    from trader.research.sweep import OBJECTIVES

    return OBJECTIVES[objective][0]


def _score(value: Any, maximize: bool) -> float:
    """A value as a number to maximize (None or NaN: the worst), as the sweep ranks."""
    v = _num(value)
    if v is None:
        return -math.inf
    return v if maximize else -v


# ------------------------------------------------------------------------------------------------
# Checks and the plan (everything before any run)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The splits to run: per split its test groups, training segments run and left out."""

    groups: tuple[tuple[int, int], ...]
    splits: tuple[tuple[tuple[int, ...], tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]], ...]
    paths: tuple[tuple[int, ...], ...]


def _segments(train: np.ndarray) -> list[tuple[int, int]]:
    """The contiguous runs ``[a, b)`` of sorted bar indices."""
    if train.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(train) > 1)
    starts = np.r_[train[0], train[breaks + 1]]
    ends = np.r_[train[breaks], train[-1]] + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def _lengths(n: int, purge: Any, embargo: Any, warmup: Any) -> tuple[int, int, int]:
    p = check_int("purge", purge, 0)
    e = check_int("embargo", embargo, 0)
    w = p if warmup is None else check_int("warmup", warmup, 0)
    for name, v in (("purge", p), ("embargo", e), ("warmup", w)):
        if v >= n:
            raise InvalidInputError(f"{name}: a window of {v} bars is longer than the data ({n} bars)")
    return p, e, w


def _plan(n: int, n_groups: int, n_test: int, purge: int, embargo: int, warmup: int, what: str) -> _Plan:
    """The splits of :mod:`trader.research.splits` (``horizon=purge``), their training segments,
    checked: every test block longer than the warm-up, every split with a segment longer than
    it."""
    from trader.research import splits as sp

    count_name = "n_splits" if what == "fold" else "n_groups"
    count = n_groups if what == "fold" else math.comb(n_groups, n_test)
    if count * n > MAX_SPLIT_BARS:
        raise InvalidInputError(f"{count_name}: {count:,} splits of {n:,} bars each: at most {MAX_SPLIT_BARS:,} bars over all "
                                f"the splits' index sets; use fewer {what}s")
    bounds = sp._blocks(n, n_groups)
    shortest = min(b - a for a, b in bounds)
    if shortest <= warmup:
        raise InvalidInputError(
            f"{count_name}: {n_groups} {what}s of {shortest} bars (the shortest) for {n} bars: a test {what} is not longer "
            f"than the strategy's warm-up (warmup={warmup} bars); use fewer {what}s or a shorter warm-up")
    raw: list[tuple[tuple[int, ...], Any]]
    try:
        if what == "fold":
            raw = [((s.fold,), s.train) for s in sp.purged_kfold(n, n_groups, horizon=purge, embargo=embargo)]
            paths: tuple[tuple[int, ...], ...] = (tuple(range(n_groups)),)
        else:
            res = sp.cpcv(n, n_groups, n_test, horizon=purge, embargo=embargo)
            raw = [(s.groups, s.train) for s in res.splits]
            paths = res.paths
    except InvalidInputError:
        # the arguments were checked above: what is left is a split with no training bar
        split = "fold" if what == "fold" else "split"
        raise InvalidInputError(f"purge, embargo: purge={purge} and embargo={embargo} bars leave a {split} with no "
                                f"training bar ({n} bars in {n_groups} {what}s)") from None
    out = []
    for i, (groups, train) in enumerate(raw):
        segs = _segments(np.asarray(train))
        keep = tuple(s for s in segs if s[1] - s[0] > warmup)
        skip = tuple(s for s in segs if s[1] - s[0] <= warmup)
        if not keep:
            label = f"fold {i}" if what == "fold" else f"split {i} (test groups {groups})"
            raise InvalidInputError(
                f"purge, embargo: purge={purge} and embargo={embargo} bars leave {label} no training segment longer than "
                f"the strategy's warm-up (warmup={warmup} bars; segments: "
                f"{', '.join(f'{a}..{b - 1}' for a, b in segs) or 'none'})")
        out.append((tuple(groups), keep, skip))
    return _Plan(groups=tuple(bounds), splits=tuple(out), paths=paths)


def _check_search(strategy: Any, grid: Any, objective: str, method: str, trials: Any, seed: Any, jobs: Any,
                  fixed: Mapping[str, Any] | None, backtest: dict[str, Any]) -> dict[str, list[Any]]:
    """The sweep's arguments, checked as the sweep checks them (so that a bad one is refused
    before any run); the grid's axes."""
    from trader.research.sweep import OBJECTIVES, check_grid

    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise InvalidInputError(f"objective: unknown {objective!r}; one of {', '.join(OBJECTIVES)} (one objective)")
    if method not in ("grid", "random"):
        raise InvalidInputError(
            f"method: must be grid or random, got {method!r}: the cross-validation combines each combination's results "
            "over the training segments, so every segment must run the same combinations (an Optuna search suggests "
            "different ones on each)")
    check_int("seed", seed, 0)
    return check_grid(strategy, grid, fixed, backtest, jobs=jobs, method=method, trials=trials, seed=seed,
                      what="cross-validation")[0]


# ------------------------------------------------------------------------------------------------
# The runs


def _run(label: str, strategy: Any, bars: Any, plan: _Plan, **kw: Any) -> CVResult:
    """The folds' runs, their sweeps sharing one Dask session (a local cluster started once, when
    a sweep first needs one — not at all for a vectorized strategy's sweeps, which run here)."""
    from trader.research.distributed import session

    with session(kw["jobs"], kw.get("scheduler")):
        return _run_folds(label, strategy, bars, plan, **kw)


def _run_folds(label: str, strategy: Any, bars: Any, plan: _Plan, *, method: str, purge: int, embargo: int, warmup: int,
         objective: str, trials: int | None, seed: int, jobs: int | None, fixed: Mapping[str, Any] | None, cash: float,
         backtest: dict[str, Any], axes: dict[str, list[Any]], scheduler: str | None = None) -> CVResult:
    import time

    from trader.backtest import make_strategy, run_backtest
    from trader.research.sweep import OBJECTIVES, sweep

    t0 = time.perf_counter()
    key, maximize = OBJECTIVES[objective]
    fixed = dict(fixed or {})
    names = list(axes)
    proto = make_strategy(strategy, fixed)
    strategy_name = getattr(proto, "name", "") or type(proto).__name__
    ts = np.asarray(bars.ts, dtype=np.int64)
    interval = int(getattr(bars, "interval_ns", 0) or 0)

    sweeps: dict[tuple[int, int], Any] = {}

    def swept(seg: tuple[int, int]) -> Any:
        if seg not in sweeps:
            sweeps[seg] = sweep(strategy, axes, bars[seg[0]:seg[1]], method=method, trials=trials, objective=objective,
                                seed=seed, jobs=jobs, fixed=fixed, cash=cash, scheduler=scheduler, **backtest)
        return sweeps[seg]

    runs: dict[tuple[int, str], CVBlock] = {}

    def tested(g: int, params: dict[str, Any]) -> CVBlock:
        k = (g, repr(sorted(params.items(), key=lambda kv: kv[0])))
        if k not in runs:
            start, end = plan.groups[g]
            w = min(warmup, start)
            r = run_backtest(strategy, dict(params), bars[start - w:end], cash=cash, **backtest)
            stats, base, b_ts, b_eq = _block_stats(r, int(ts[start]), w, cash, interval)
            days, rets = _daily(b_ts, b_eq, base)
            runs[k] = CVBlock(group=g, start=start, end=end, start_ts=int(ts[start]), end_ts=int(ts[end - 1]) + 1,
                              warmup=w, params=dict(params), stats=stats, base=base, equity_ts=b_ts, equity=b_eq,
                              days=days, returns=rets)
        return runs[k]

    folds: list[CVFold] = []
    for i, (groups, segs, skipped) in enumerate(plan.splits):
        results = [swept(s) for s in segs]
        combos = [{n: row[n] for n in names} for row in results[0].rows]
        for res in results[1:]:
            if [{n: row[n] for n in names} for row in res.rows] != combos:  # pragma: no cover - the sweep is seeded
                raise RuntimeError("the training segments' sweeps ran different combinations")
        combined = [combine_stats([(res.rows[j], s[1] - s[0]) for res, s in zip(results, segs)], cash)
                    for j in range(len(combos))]
        best = max(range(len(combos)), key=lambda j: (_score(combined[j].get(key), maximize), -j))
        params = fixed | combos[best]
        blocks = tuple(tested(g, params) for g in groups)
        test_stats = combine_stats([(b.stats, b.end - b.start) for b in blocks], cash)
        f_ts, f_eq = _stitch(blocks, cash)
        days, rets = _daily(f_ts, f_eq, cash)
        folds.append(CVFold(
            fold=i, groups=tuple(groups), train_segments=segs, skipped_segments=skipped, params=params,
            train_objective=_num(combined[best].get(key)),
            segment_objectives=tuple(_num(res.rows[best].get(key)) for res in results),
            train_stats=combined[best], blocks=blocks, test_stats=test_stats, test_objective=_num(test_stats.get(key)),
            days=days, returns=rets))

    # the paths: path p takes its block on group g from split plan.paths[p][g]
    paths: list[CVPath] = []
    for p, row in enumerate(plan.paths):
        chain = [folds[s].blocks[folds[s].groups.index(g)] for g, s in enumerate(row)]
        p_ts, p_eq = _stitch(chain, cash)
        days, rets = _daily(p_ts, p_eq, cash)
        paths.append(CVPath(path=p, blocks=tuple(row), equity_ts=p_ts, equity=p_eq, days=days, returns=rets,
                            total_return=float(p_eq[-1]) / cash - 1.0 if len(p_eq) else 0.0, sharpe=_sharpe(rets),
                            max_drawdown=_drawdown(p_eq, cash)))
    days = paths[0].days if paths else np.empty(0, np.int64)
    matrix = np.column_stack([p.returns for p in paths]) if paths else np.empty((0, 0))
    return CVResult(method=label,
                    strategy=strategy_name, objective=objective, params=names, bars=len(bars), purge=purge,
                    embargo=embargo, warmup=warmup, cash=float(cash), group_bounds=plan.groups, folds=folds, paths=paths,
                    days=days, path_returns=matrix, elapsed_s=time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------------
# Public functions


def purged_cv(strategy: Any = "ema_cross", grid: Mapping[str, Any] | Sequence[str] | None = None, data: Any = None, *,
              n_splits: int = 5, purge: int = 0, embargo: int = 0, warmup: int | None = None, objective: str = "sharpe",
              method: str = "grid", trials: int | None = None, seed: int = 0, jobs: int | None = 1,
              fixed: Mapping[str, Any] | None = None, cash: float = 10_000.0, scheduler: str | None = None,
              **backtest: Any) -> CVResult:
    """Purged k-fold cross-validation of ``strategy``'s parameter choice over ``grid`` on ``data``
    (a bar file, a :class:`trader.data.Bars`, or None for the synthetic series): see the module
    docs for the definitions.

    The bars are cut into ``n_splits`` contiguous folds. For each fold, the combinations are swept
    on the training segments (the bars before the fold ending ``purge`` bars before it, and the
    bars after it starting ``embargo`` bars after it, each run on its own from a cold start) and
    the best by the combined ``objective`` is traded on the fold (with ``warmup`` bars before it).
    The folds in order form the out-of-sample backtest (one path).

    Args:
        n_splits: folds, >= 2; each must be longer than the warm-up.
        purge: bars removed before each fold: the strategy's lookback / label horizon (>= 0).
        embargo: bars removed after each fold (>= 0).
        warmup: bars the strategy needs before its first decision (its longest indicator lookback),
            given to each test run from before its fold; default ``purge``.
        objective, method (``grid`` or ``random``), trials, seed, jobs, fixed, scheduler: the
            sweeps' (:func:`trader.research.sweep.sweep`; ``scheduler``: a Dask cluster's
            ``tcp://HOST:PORT`` to run them on); one objective.
        cash, backtest: every run's (:func:`trader.run_backtest`'s keyword arguments; ``source``,
            ``symbol``, ``start``, ``end``, ``options`` select the data when it is not a Bars).

    Raises:
        InvalidInputError: before any run, naming the input: ``n_splits`` < 2 or more folds than
            the data allows, a fold not longer than the warm-up, ``purge``/``embargo``/``warmup``
            negative or longer than the data, ``purge``/``embargo`` leaving a fold no training
            segment longer than the warm-up, or a bad sweep argument.
    """
    backtest = dict(backtest)
    k = check_int("n_splits", n_splits, 2)
    axes = _check_search(strategy, grid, objective, method, trials, seed, jobs, fixed, backtest)
    bars = load_bars(data, backtest, what="a cross-validation")
    n = len(bars)
    if k > n:
        raise InvalidInputError(f"n_splits: {k} folds for {n} bars: more folds than the data allows")
    if k > MAX_SPLITS:
        raise InvalidInputError(f"n_splits: {k:,} folds, at most {MAX_SPLITS:,} are allowed")
    p, e, w = _lengths(n, purge, embargo, warmup)
    plan = _plan(n, k, 1, p, e, w, "fold")
    return _run("purged_kfold", strategy, bars, plan, method=method, purge=p, embargo=e, warmup=w, objective=objective,
                trials=trials, seed=seed, jobs=jobs, fixed=fixed, cash=cash, backtest=backtest, axes=axes,
                scheduler=check_scheduler(scheduler))


def cpcv(strategy: Any = "ema_cross", grid: Mapping[str, Any] | Sequence[str] | None = None, data: Any = None, *,
         n_groups: int = 6, n_test_groups: int = 2, purge: int = 0, embargo: int = 0, warmup: int | None = None,
         objective: str = "sharpe", method: str = "grid", trials: int | None = None, seed: int = 0, jobs: int | None = 1,
         fixed: Mapping[str, Any] | None = None, cash: float = 10_000.0, scheduler: str | None = None,
         **backtest: Any) -> CVResult:
    """Combinatorial purged cross-validation of ``strategy``'s parameter choice (López de Prado
    2018, §12.4): see the module docs for the definitions.

    The bars are cut into N = ``n_groups`` groups; each of the C(N, k) choices of k =
    ``n_test_groups`` test groups is a split: the combinations are swept on its training segments
    (every bar except the test groups, ``purge`` bars before each and ``embargo`` bars after
    each; each segment run on its own from a cold start), and the best is traded on each of its
    test groups (each group run on its own, with ``warmup`` bars before it). The test blocks form
    φ = k/N · C(N, k) = C(N−1, k−1) paths, each covering the data once; :attr:`CVResult.path_sharpe`
    is the distribution of their Sharpe ratios. Arguments as :func:`purged_cv`'s.

    Raises:
        InvalidInputError: before any run, naming the input: ``n_groups`` < 2 or more groups than
            the data allows, ``n_test_groups`` outside ``[1, n_groups)``, more than
            :data:`MAX_SPLITS` splits, a group not longer than the warm-up, ``purge``/``embargo``/
            ``warmup`` negative or longer than the data, ``purge``/``embargo`` leaving a split no
            training segment longer than the warm-up, or a bad sweep argument.
    """
    backtest = dict(backtest)
    groups = check_int("n_groups", n_groups, 2)
    k = check_int("n_test_groups", n_test_groups, 1)
    if k >= groups:
        raise InvalidInputError(f"n_test_groups: must be < n_groups ({groups}) so that some group is left to train on, "
                                f"got {k}")
    count = math.comb(groups, k)
    if count > MAX_SPLITS:
        raise InvalidInputError(f"n_groups, n_test_groups: C({groups}, {k}) = {count:,} splits, at most {MAX_SPLITS:,} "
                                "are allowed")
    axes = _check_search(strategy, grid, objective, method, trials, seed, jobs, fixed, backtest)
    bars = load_bars(data, backtest, what="a cross-validation")
    n = len(bars)
    if groups > n:
        raise InvalidInputError(f"n_groups: {groups} groups for {n} bars: more groups than the data allows")
    p, e, w = _lengths(n, purge, embargo, warmup)
    plan = _plan(n, groups, k, p, e, w, "group")
    return _run("cpcv", strategy, bars, plan, method=method, purge=p, embargo=e, warmup=w, objective=objective,
                trials=trials, seed=seed, jobs=jobs, fixed=fixed, cash=cash, backtest=backtest, axes=axes,
                scheduler=check_scheduler(scheduler))
