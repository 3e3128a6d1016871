"""Purged k-fold and combinatorial purged cross-validation of a strategy's parameter choice.

No look-ahead, by test: a strategy records every bar each of its runs sees (into files, so the
record survives the sweep's worker processes), and every run the cross-validation made is
accounted for: a training run saw exactly one training segment of its split, which holds no bar
of ``[test_start - purge, test_end + embargo]`` of any of the split's test blocks, and a test run
saw its block plus the warm-up bars before it, never a bar after the block's end. The expected
segments, folds and chosen parameters are recomputed here from the definitions (bar arithmetic,
and sweeps on the training bars alone), not taken from the module.
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader.exceptions import InvalidInputError
from trader.research.crossval import CVResult, combine_stats, cpcv, purged_cv
from trader.research.sweep import sweep
from trader.strategy import Param, Strategy

N_BARS = 9_000  # 1-minute synthetic bars: 6.25 days
GRID = {"every": "20:60:20"}  # 3 combinations
EVERY = [20, 40, 60]
PURGE, EMBARGO = 50, 30
BTC = "klines_1m/0g_trading/BTC_USDT-1m.feather"


class Recorder(Strategy):
    """Records the bars of each run into a file under ``record``; trades every ``every`` bars."""

    name = "cv_recorder"
    every = Param(40, int, ge=2, help="bars between trades")
    record = Param("", str, help="folder to record the bars seen into ('' : no record)")

    def on_start(self) -> None:
        self.seen: list[int] = []
        self.n = 0

    def on_bar(self, bar: Any) -> None:
        self.seen.append(int(bar.ts))
        self.n += 1
        if self.n % self.every == 0:
            if self.position() > 0:
                self.sell(self.position())
            else:
                self.buy(0.01)

    def on_stop(self) -> None:
        if self.record:
            np.savez(os.path.join(self.record, f"{os.getpid()}-{uuid.uuid4().hex}.npz"), ts=np.array(self.seen, np.int64),
                     every=self.every)


def recorded(folder: Path) -> list[tuple[np.ndarray, int]]:
    out = []
    for p in sorted(folder.glob("*.npz")):
        with np.load(p) as z:
            out.append((z["ts"], int(z["every"])))
    return out


@pytest.fixture(scope="module")
def bars() -> Any:
    from trader.data import open_bars

    return open_bars(None, bars=N_BARS).load()


# ------------------------------------------------------------------------------------------------
# References, from the definitions


def ref_groups(n: int, k: int) -> list[tuple[int, int]]:
    sizes = [n // k + (1 if g < n % k else 0) for g in range(k)]
    starts = np.r_[0, np.cumsum(sizes)]
    return [(int(starts[g]), int(starts[g + 1])) for g in range(k)]


def ref_segments(n: int, blocks: list[tuple[int, int]], purge: int, embargo: int, warmup: int) -> list[tuple[int, int]]:
    """The training segments: the bars outside every [start - purge, end + embargo) of the test
    blocks, cut into contiguous runs, those not longer than the warm-up left out."""
    banned = [False] * n
    for start, end in blocks:
        for i in range(max(0, start - purge), min(n, end + embargo)):
            banned[i] = True
    segs, i = [], 0
    while i < n:
        if banned[i]:
            i += 1
            continue
        j = i
        while j < n and not banned[j]:
            j += 1
        segs.append((i, j))
        i = j
    return [s for s in segs if s[1] - s[0] > warmup]


def ref_choice(bars: Any, segments: list[tuple[int, int]], objective: str = "sharpe", **backtest: Any) -> tuple[int, float]:
    """The parameter a sweep on the training bars alone chooses: each segment swept on its own;
    per combination the bar-weighted mean of the segments' objective (``return``: chained)."""
    per_segment = [sweep(Recorder, GRID, bars[a:b], objective=objective, **backtest) for a, b in segments]
    stat = {"sharpe": "sharpe", "return": "total_return"}[objective]
    scores = []
    for j in range(len(EVERY)):
        assert all(r.rows[j]["every"] == EVERY[j] for r in per_segment)
        values = [r.rows[j][stat] for r in per_segment]
        if objective == "return":
            scores.append(math.prod(1.0 + v for v in values) - 1.0)
        else:
            weights = [b - a for a, b in segments]
            scores.append(sum(v * w for v, w in zip(values, weights)) / sum(weights))
    best = max(range(len(EVERY)), key=lambda j: (scores[j], -j))
    return EVERY[best], scores[best]


# ------------------------------------------------------------------------------------------------
# (a) no look-ahead, (b) coverage, (c) the choice


def _check_no_look_ahead(bars: Any, result: CVResult, runs: list[tuple[np.ndarray, int]], n_groups: int,
                         purge: int, embargo: int, warmup: int) -> None:
    ts = np.asarray(bars.ts)
    n = len(ts)
    groups = ref_groups(n, n_groups)
    assert list(result.group_bounds) == groups
    # every run saw a contiguous slice of the bars: file it under its bar range [i0, i1)
    by_range: dict[tuple[int, int], list[tuple[np.ndarray, int]]] = {}
    for seen, every in runs:
        assert seen.size, "a run saw no bar"
        i0 = int(np.searchsorted(ts, seen[0]))
        assert np.array_equal(seen, ts[i0:i0 + seen.size]), "a run saw bars that are not one contiguous slice"
        by_range.setdefault((i0, i0 + seen.size), []).append((seen, every))
    expected: dict[tuple[int, int], list[int]] = {}  # bar range -> the `every` of each training run expected on it
    tests: dict[tuple[int, int], set[int]] = {}  # bar range -> the `every` of the test runs expected on it
    for fold in result.folds:
        blocks = [groups[g] for g in fold.groups]
        assert [(b.start, b.end) for b in fold.blocks] == blocks
        segments = ref_segments(n, blocks, purge, embargo, warmup)
        assert segments, "a fold with no training part"
        assert list(fold.train_segments) == segments
        assert fold.train_bars == sum(b - a for a, b in segments) > 0
        for seg in segments:
            # the segment's sweep: one run per combination on exactly the segment's bars (a segment
            # shared by several CPCV splits is swept once)
            expected[seg] = list(EVERY)
            got = by_range.get(seg, [])
            assert sorted(e for _, e in got) == EVERY, f"fold {fold.fold}: segment {seg[0]}..{seg[1] - 1}"
            for seen, _ in got:
                for start, end in blocks:
                    lo, hi = ts[max(0, start - purge)], ts[min(n - 1, end - 1 + embargo)]
                    inside = (seen >= lo) & (seen <= hi)
                    assert not inside.any(), (
                        f"fold {fold.fold}: a training run saw bar {seg[0] + int(np.argmax(inside))}, inside "
                        f"[test_start - purge, test_end + embargo] = [{start - purge}, {end - 1 + embargo}]")
        for block in fold.blocks:
            w = min(warmup, block.start)
            assert block.warmup == w
            rng = (block.start - w, block.end)
            every = fold.params["every"]
            got = [seen for seen, e in by_range.get(rng, []) if e == every]
            assert got, f"fold {fold.fold}: no test run on bars {rng[0]}..{rng[1] - 1}"
            for seen in got:  # the test run: its warm-up and its block, never a bar after the block's end
                assert seen.max() <= ts[block.end - 1] and seen.min() >= ts[block.start - w]
            tests.setdefault(rng, set()).add(every)  # a group traded with the same parameters by several splits: once
            assert np.array_equal(block.equity_ts, ts[block.start:block.end])
    # every run is accounted for: nothing else was run, on any bars
    for rng, everys in tests.items():
        expected[rng] = expected.get(rng, []) + sorted(everys)
    assert {rng: sorted(e for _, e in got) for rng, got in by_range.items()} == \
        {rng: sorted(es) for rng, es in expected.items()}


@pytest.fixture(scope="module")
def kfold_run(bars: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[CVResult, list[tuple[np.ndarray, int]]]:
    folder = tmp_path_factory.mktemp("kfold_runs")
    r = purged_cv(Recorder, GRID, bars, n_splits=4, purge=PURGE, embargo=EMBARGO, fixed={"record": str(folder)},
                  fee_bps=7.5, mode="event")
    return r, recorded(folder)


@pytest.fixture(scope="module")
def cpcv_run(bars: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[CVResult, list[tuple[np.ndarray, int]]]:
    folder = tmp_path_factory.mktemp("cpcv_runs")
    r = cpcv(Recorder, GRID, bars, n_groups=5, n_test_groups=2, purge=PURGE, embargo=EMBARGO, warmup=40,
             fixed={"record": str(folder)}, fee_bps=7.5, mode="event")
    return r, recorded(folder)


def test_no_test_bar_reaches_training_purged_kfold(bars: Any, kfold_run: Any) -> None:
    r, runs = kfold_run
    assert r.method == "purged_kfold" and len(r.folds) == 4 and r.warmup == PURGE  # warm-up defaults to the purge
    # the middle folds train on two segments: before the fold (ending purge bars before it) and after it
    assert [len(f.train_segments) for f in r.folds] == [1, 2, 2, 1]
    _check_no_look_ahead(bars, r, runs, 4, PURGE, EMBARGO, PURGE)


def test_no_test_bar_reaches_training_cpcv(bars: Any, cpcv_run: Any) -> None:
    r, runs = cpcv_run
    assert r.method == "cpcv" and len(r.folds) == math.comb(5, 2) and r.warmup == 40
    assert max(len(f.train_segments) for f in r.folds) == 3  # test groups 1 and 3: before, between, after
    _check_no_look_ahead(bars, r, runs, 5, PURGE, EMBARGO, 40)


def test_no_look_ahead_with_worker_processes(bars: Any, tmp_path: Path) -> None:
    """The sweeps' runs in worker processes (jobs=2) record the same way, through files."""
    part = bars[:3_000]
    r = purged_cv(Recorder, GRID, part, n_splits=2, purge=PURGE, embargo=EMBARGO, fixed={"record": str(tmp_path)},
                  fee_bps=7.5, jobs=2)
    _check_no_look_ahead(part, r, recorded(tmp_path), 2, PURGE, EMBARGO, PURGE)


def test_purged_folds_cover_the_data_once(bars: Any, kfold_run: Any) -> None:
    r, _ = kfold_run
    n = len(bars)
    assert [(f.blocks[0].start, f.blocks[0].end) for f in r.folds] == ref_groups(n, 4)
    assert [f.groups for f in r.folds] == [(0,), (1,), (2,), (3,)]
    # one path: the folds in order, every bar once; the out-of-sample returns are that path's
    assert len(r.paths) == 1 and r.paths[0].blocks == (0, 1, 2, 3)
    assert np.array_equal(r.paths[0].equity_ts, bars.ts)
    assert np.array_equal(r.returns, r.paths[0].returns) and r.path_returns.shape == (len(r.days), 1)
    # the path chains the folds: its final equity is the product of the folds' growths
    growth = math.prod(f.blocks[0].equity[-1] / f.blocks[0].base for f in r.folds)
    assert r.paths[0].total_return == pytest.approx(growth - 1.0, rel=1e-12)
    assert r.paths[0].days[0] == bars.ts[0] // 86_400_000_000_000 * 86_400_000_000_000


def test_cpcv_paths(bars: Any, cpcv_run: Any) -> None:
    r, _ = cpcv_run
    n_groups, k = 5, 2
    # López de Prado's number of paths: φ[N, k] = k/N · C(N, k) = C(N-1, k-1)
    phi = Fraction(k, n_groups) * math.comb(n_groups, k)
    assert phi.denominator == 1 and len(r.paths) == int(phi) == math.comb(n_groups - 1, k - 1) == 4
    assert [f.groups for f in r.folds] == list(itertools.combinations(range(n_groups), k))
    used: set[tuple[int, int]] = set()
    for p in r.paths:
        assert len(p.blocks) == n_groups
        for g, s in enumerate(p.blocks):
            assert g in r.folds[s].groups  # the path's block on group g comes from a split testing g
            used.add((s, g))
        assert np.array_equal(p.equity_ts, bars.ts)  # one test segment per group: every bar once, in order
        assert np.array_equal(p.days, r.days)
    # every (split, test group) block belongs to exactly one path
    assert used == {(s, g) for s, f in enumerate(r.folds) for g in f.groups}
    assert len(used) == len(r.paths) * n_groups
    dist = r.path_sharpe
    sharpes = np.array([p.sharpe for p in r.paths])
    assert dist["n"] == 4 and dist["mean"] == pytest.approx(sharpes.mean())
    assert dist["std"] == pytest.approx(sharpes.std(ddof=1)) and dist["median"] == pytest.approx(np.median(sharpes))
    assert dist["min"] <= dist["q05"] <= dist["q25"] <= dist["median"] <= dist["q75"] <= dist["q95"] <= dist["max"]
    assert np.allclose(r.returns, r.path_returns.mean(axis=1))
    # a path's Sharpe ratio is its daily returns' (annualized with 365 days)
    p0 = r.paths[0]
    assert p0.sharpe == pytest.approx(p0.returns.mean() / p0.returns.std(ddof=1) * math.sqrt(365.0))
    # the summary and the tables
    s = r.summary()
    assert s["n_paths"] == 4 and s["n_folds"] == 10 and s["path_sharpe"]["n"] == 4
    t = r.table()
    assert t.num_rows == 10 and t.column("every").to_pylist() == [f.params["every"] for f in r.folds]
    assert r.paths_table().num_rows == 4


def test_lopez_de_prado_example_six_groups_two_test_groups() -> None:
    from trader.data import open_bars

    small = open_bars(None, bars=1_200).load()
    r = cpcv(Recorder, {"every": [20]}, small, n_groups=6, n_test_groups=2, purge=10, embargo=5)
    assert len(r.folds) == 15 and len(r.paths) == 5  # López de Prado's Fig. 12.2: 15 splits, 5 paths
    assert [f.groups for f in r.folds] == list(itertools.combinations(range(6), 2))
    for p in r.paths:
        assert all(g in r.folds[s].groups for g, s in enumerate(p.blocks))
        assert np.array_equal(p.equity_ts, small.ts)
    assert sorted((s, g) for p in r.paths for g, s in enumerate(p.blocks)) == \
        sorted((s, g) for s, f in enumerate(r.folds) for g in f.groups)


@pytest.mark.parametrize("which", ["kfold", "cpcv"])
def test_chosen_parameters_are_the_training_sweeps_choice(bars: Any, kfold_run: Any, cpcv_run: Any, which: str) -> None:
    r, _ = kfold_run if which == "kfold" else cpcv_run
    folds = r.folds if which == "kfold" else r.folds[::3]  # a sample of the CPCV splits
    for fold in folds:
        every, score = ref_choice(bars, list(fold.train_segments), fee_bps=7.5)
        assert fold.params["every"] == every, f"fold {fold.fold}"
        assert fold.train_objective == pytest.approx(score, rel=1e-12)


def test_chosen_parameters_with_a_chained_objective(bars: Any) -> None:
    part = bars[:4_000]
    r = purged_cv(Recorder, GRID, part, n_splits=3, purge=20, embargo=10, objective="return")
    for fold in r.folds:
        every, score = ref_choice(part, list(fold.train_segments), "return")
        assert fold.params["every"] == every and fold.train_objective == pytest.approx(score, rel=1e-12)


def test_test_blocks_are_measured_on_their_own_bars(bars: Any, kfold_run: Any) -> None:
    from trader.backtest import run_backtest

    r, _ = kfold_run
    first, second = r.folds[0].blocks[0], r.folds[1].blocks[0]
    params = {"every": first.params["every"]}
    # the first fold has no bar before it: a cold start, the run's own statistics
    own = run_backtest(Recorder, params, bars[first.start:first.end], fee_bps=7.5)
    assert first.warmup == 0 and first.base == 10_000.0
    assert first.stats["total_return"] == own.stats["total_return"] and first.stats["sharpe"] == own.stats["sharpe"]
    # a later fold: warmed up on the PURGE bars before it, measured from its first bar
    assert second.warmup == PURGE
    run = run_backtest(Recorder, {"every": second.params["every"]}, bars[second.start - PURGE:second.end], fee_bps=7.5)
    assert np.array_equal(second.equity, run.equity[PURGE:]) and second.base == run.equity[PURGE - 1]
    assert second.stats["total_return"] == pytest.approx(run.stats["final_equity"] / second.base - 1.0, rel=1e-12)
    assert second.stats["warmup_bars"] == PURGE
    closed_inside = run.trades["closed"] & (run.trades["exit_ts"] >= bars.ts[second.start])
    assert second.stats["trades"] == int(closed_inside.sum())


def test_combine_stats() -> None:
    a = {"total_return": 0.1, "final_equity": 1_100.0, "sharpe": 1.0, "trades": 2, "win_rate": 0.5, "max_drawdown": 0.1, "fees_paid": 1.0,
         "ruined": False}
    b = {"total_return": -0.5, "final_equity": 500.0, "sharpe": 3.0, "trades": 6, "win_rate": 1.0, "max_drawdown": 0.6, "fees_paid": 2.0,
         "ruined": False}
    c = combine_stats([(a, 100), (b, 300)], 1_000.0)
    assert c["total_return"] == pytest.approx(1.1 * 0.5 - 1.0) and c["final_equity"] == pytest.approx(550.0)
    assert c["sharpe"] == pytest.approx(2.5) and c["win_rate"] == pytest.approx(7 / 8)
    assert c["trades"] == 8 and c["fees_paid"] == 3.0 and c["max_drawdown"] == 0.6 and c["bars"] == 400
    assert c["ruined"] is False
    assert combine_stats([(a, 100)], 1_000.0) == a | {"bars": 100}
    assert combine_stats([(a, 100), (b | {"sharpe": None}, 10)], 1_000.0)["sharpe"] is None


# ------------------------------------------------------------------------------------------------
# (d) bad inputs, (e) determinism


@pytest.mark.parametrize("fn,kwargs,match", [
    (purged_cv, dict(n_splits=1), r"^n_splits: must be >= 2"),
    (purged_cv, dict(n_splits=1_001), r"^n_splits: 1001 folds for 1000 bars"),
    (purged_cv, dict(n_splits=10, purge=100), r"^n_splits: .*not longer than the strategy's warm-up"),
    (purged_cv, dict(n_splits=10, purge=5, warmup=150), r"^n_splits: .*warm-up \(warmup=150"),
    (purged_cv, dict(n_splits=2, purge=-1), r"^purge: must be >= 0"),
    (purged_cv, dict(n_splits=2, embargo=-3), r"^embargo: must be >= 0"),
    (purged_cv, dict(n_splits=2, warmup=-1), r"^warmup: must be >= 0"),
    (purged_cv, dict(n_splits=2, purge=5_000), r"^purge: a window of 5000 bars is longer than the data \(1000 bars\)"),
    (purged_cv, dict(n_splits=2, embargo=1_000), r"^embargo: a window of 1000 bars is longer than the data"),
    (purged_cv, dict(n_splits=2, purge=600, warmup=0), r"^purge, embargo: .*no training"),
    (purged_cv, dict(n_splits=4, purge=250, embargo=500, warmup=0), r"^purge, embargo: .*no training"),
    (purged_cv, dict(n_splits=2, purge=480, embargo=480, warmup=30), r"^purge, embargo: .*longer than the strategy's warm-up"),
    (purged_cv, dict(n_splits=2, objective="luck"), r"^objective: unknown"),
    (purged_cv, dict(n_splits=2, method="tpe", trials=5), r"^method: must be grid or random"),
    (purged_cv, dict(n_splits=2, grid={"every": "1:3:1"}), r"^grid: "),
    (purged_cv, dict(n_splits=2, grid={"nope": "1:3:1"}), r"^grid: strategy cv_recorder has no parameter nope"),
    (purged_cv, dict(n_splits=2, jobs=0), r"^jobs: "),
    (cpcv, dict(n_groups=1, n_test_groups=1), r"^n_groups: must be >= 2"),
    (cpcv, dict(n_groups=1_001, n_test_groups=1), r"^n_groups: 1001 groups for 1000 bars"),
    (cpcv, dict(n_groups=4, n_test_groups=4), r"^n_test_groups: must be < n_groups"),
    (cpcv, dict(n_groups=4, n_test_groups=0), r"^n_test_groups: must be >= 1"),
    (cpcv, dict(n_groups=40, n_test_groups=20), r"^n_groups, n_test_groups: C\(40, 20\)"),
    (cpcv, dict(n_groups=20, n_test_groups=2, purge=60), r"^n_groups: .*warm-up"),
    (cpcv, dict(n_groups=4, n_test_groups=3, purge=250, warmup=0), r"^purge, embargo: .*no training"),
    (cpcv, dict(n_groups=5, n_test_groups=2, embargo=-1), r"^embargo: must be >= 0"),
    (cpcv, dict(n_groups=5, n_test_groups=2, purge=2_000), r"^purge: a window of 2000 bars is longer than the data"),
])
def test_bad_inputs_are_refused_before_any_run(tmp_path: Path, fn: Any, kwargs: dict[str, Any], match: str) -> None:
    from trader.data import open_bars

    data = open_bars(None, bars=1_000).load()
    kwargs = dict(kwargs)
    grid = kwargs.pop("grid", GRID)
    with pytest.raises(InvalidInputError, match=match):
        fn(Recorder, grid, data, fixed={"record": str(tmp_path)}, **kwargs)
    assert not list(tmp_path.iterdir()), "a run was made before the input was refused"


def test_same_seed_same_result(bars: Any) -> None:
    part = bars[:3_000]
    kw: dict[str, Any] = dict(n_groups=4, n_test_groups=2, purge=20, embargo=10, method="random", trials=2, seed=7,
                              fee_bps=7.5)
    a = cpcv(Recorder, {"every": "10:80:10"}, part, **kw)
    b = cpcv(Recorder, {"every": "10:80:10"}, part, **kw)
    sa, sb = a.summary(), b.summary()
    sa.pop("elapsed_s")
    sb.pop("elapsed_s")
    assert sa == sb
    assert np.array_equal(a.path_returns, b.path_returns) and np.array_equal(a.days, b.days)
    for fa, fb in zip(a.folds, b.folds):
        assert fa.params == fb.params and fa.test_stats == fb.test_stats
        assert np.array_equal(fa.returns, fb.returns)
    # the random sample is the seed's: every split chose among the same 2 combinations
    tried = {f.params["every"] for f in a.folds}
    assert len(tried) <= 2


# ------------------------------------------------------------------------------------------------
# Real data: a slice of a recorded file (fails, not skips, when the data is missing)


@pytest.fixture(scope="module")
def btc_slice() -> Any:
    from trader.data import open_bars

    root = Path(os.environ.get("TRADER_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    path = root / BTC
    if not path.is_file():
        pytest.fail(f"recorded market data not found at {path} (set TRADER_SHARED_DATA)")
    return open_bars(str(path)).load()[:6_000]


def test_no_look_ahead_on_recorded_bars(btc_slice: Any, tmp_path: Path) -> None:
    r = cpcv(Recorder, GRID, btc_slice, n_groups=4, n_test_groups=2, purge=PURGE, embargo=EMBARGO,
             fixed={"record": str(tmp_path)}, fee_bps=7.5)
    assert len(r.paths) == 3
    _check_no_look_ahead(btc_slice, r, recorded(tmp_path), 4, PURGE, EMBARGO, PURGE)


def test_a_bad_scheduler_is_refused_before_any_run() -> None:
    from trader.research.crossval import cpcv, purged_cv

    for fn in (purged_cv, cpcv):
        with pytest.raises(InvalidInputError, match="scheduler"):
            fn("ema_cross", {"fast": "3:5:1"}, None, scheduler="localhost:8786")


def test_more_folds_than_allowed_are_refused_before_any_work() -> None:
    from trader.research.crossval import MAX_SPLITS, purged_cv

    with pytest.raises(InvalidInputError, match="n_splits: .* at most"):
        purged_cv("ema_cross", {"fast": "3:5:1"}, None, n_splits=MAX_SPLITS + 1)
    with pytest.raises(InvalidInputError, match="n_splits: 5,000 splits of 100,000 bars each"):
        purged_cv("ema_cross", {"fast": "3:5:1"}, None, n_splits=5_000)
