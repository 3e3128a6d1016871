"""trader.research.splits: walk-forward windows, purged k-fold and CPCV against their definitions.

The references below work bar by bar with Python loops and sets, straight from the definitions
in the module docstring (bar ``i`` uses ``[i - lookback, i + horizon]``; purge it when that
window holds a test bar; embargo the ``embargo`` bars after each test block), so they share no
code path with the module's vectorized bounds. Hypothesis runs derandomized: the examples are the
same on every run.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import math
from collections.abc import Callable, Sequence
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from trader.exceptions import InvalidInputError
from trader.research.splits import CPCVResult, Split, cpcv, leakage, purged_kfold, walk_forward

MINUTE = 60_000_000_000
DAY = 1440 * MINUTE
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00Z in ns

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------------------
# References (loops over bars, from the definitions)


def ref_blocks(n: int, k: int) -> list[list[int]]:
    """k contiguous blocks, the first n % k one bar longer, built by dealing bars out."""
    sizes = [n // k + (1 if f < n % k else 0) for f in range(k)]
    out, bar = [], 0
    for size in sizes:
        out.append(list(range(bar, bar + size)))
        bar += size
    return out


def ref_split(n: int, test: Sequence[int], lookback: int, horizon: int,
              embargo: int) -> tuple[list[int], list[int], list[int]]:
    """(train, purged, embargoed) for the test bars, by looking at every bar's window."""
    test_set = set(test)
    block_ends = [j for j in test_set if j + 1 not in test_set]
    train, purged, embargoed = [], [], []
    for i in range(n):
        if i in test_set:
            continue
        if any(j in test_set for j in range(i - lookback, i + horizon + 1)):
            purged.append(i)
        elif any(e < i <= e + embargo for e in block_ends):
            embargoed.append(i)
        else:
            train.append(i)
    return train, purged, embargoed


def ref_split_time(ts: Sequence[int], test: Sequence[int], lookback: int, horizon: int,
                   embargo: int) -> tuple[list[int], list[int], list[int]]:
    """As :func:`ref_split` with lengths in nanoseconds, on the timestamps."""
    test_set = set(test)
    block_ends = [j for j in test_set if j + 1 not in test_set]
    train, purged, embargoed = [], [], []
    for i, t in enumerate(ts):
        if i in test_set:
            continue
        if any(t - lookback <= ts[j] <= t + horizon for j in test_set):
            purged.append(i)
        elif any(ts[e] < t <= ts[e] + embargo for e in block_ends):
            embargoed.append(i)
        else:
            train.append(i)
    return train, purged, embargoed


def ref_leaks(train: Sequence[int], test: Sequence[int], lookback: int, horizon: int) -> list[int]:
    return [i for i in train if any(i - lookback <= j <= i + horizon for j in test)]


def ref_walk_forward(n: int, train: int, test: int, step: int, gap: int,
                     anchored: bool) -> list[tuple[int, int, int, int]]:
    out, w = [], 0
    while train + gap + w * step < n:
        start = train + gap + w * step
        out.append((0 if anchored else start - gap - train, start - gap, start, min(start + test, n)))
        w += 1
    return out


def ref_walk_forward_time(ts: Sequence[int], train: int, test: int, step: int, gap: int,
                          anchored: bool) -> list[tuple[list[int], list[int]]]:
    """Windows on the clock: test [t, t + test), train [t - gap - train, t - gap) (anchored: from
    ts[0]), for t = ts[0] + train + gap + w * step while t <= ts[-1]; windows with an empty train or
    test are skipped."""
    out, w = [], 0
    while ts[0] + train + gap + w * step <= ts[-1]:
        t = ts[0] + train + gap + w * step
        lo = ts[0] if anchored else t - gap - train
        tr = [i for i, x in enumerate(ts) if lo <= x < t - gap]
        te = [i for i, x in enumerate(ts) if t <= x < t + test]
        if tr and te:
            out.append((tr, te))
        w += 1
    return out


def check_split(split: Split, n: int, lookback: int, horizon: int, embargo: int) -> None:
    """The properties every purged split must have, checked bar by bar."""
    train, test = split.train.tolist(), split.test.tolist()
    test_set, train_set = set(test), set(train)
    for name in ("train", "test", "purged", "embargoed"):
        a = getattr(split, name)
        assert a.dtype == np.intp and not a.flags.writeable, name
        assert np.all(np.diff(a) > 0), f"{name} not sorted and unique"
    # train ∩ test = ∅ and the four sets partition the bars
    assert not train_set & test_set
    parts = [train, test, split.purged.tolist(), split.embargoed.tolist()]
    assert sorted(itertools.chain(*parts)) == list(range(n))
    # no test information reaches training: every train window is disjoint from the test bars
    for i in train:
        assert not any(j in test_set for j in range(i - lookback, i + horizon + 1)), f"bar {i} sees the test"
    # the embargo after each test block is absent from training
    for e in (j for j in test if j + 1 not in test_set):
        assert not any(i in train_set for i in range(e + 1, e + embargo + 1)), f"embargo after {e} breached"
    # purging is minimal: a bar whose window misses the test and that is outside every embargo trains
    ends = [j for j in test if j + 1 not in test_set]
    for i in range(n):
        touches = any(j in test_set for j in range(i - lookback, i + horizon + 1))
        in_embargo = any(e < i <= e + embargo for e in ends)
        if i not in test_set and not touches and not in_embargo:
            assert i in train_set, f"bar {i} was removed though it need not be"
    assert leakage(split, lookback, horizon).size == 0


# ------------------------------------------------------------------------------------------------
# Purged k-fold


def test_purged_kfold_hand_example() -> None:
    """n=20, k=4, lookback=2, horizon=1, embargo=1: folds of 5 bars. Before a fold, bar start-1
    reaches it (horizon 1); after it, bars end+1 and end+2 look back into it (lookback 2); the
    1-bar embargo falls on end+1, already purged."""
    splits = purged_kfold(20, 4, lookback=2, horizon=1, embargo=1)
    assert [s.test.tolist() for s in splits] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14],
                                                 [15, 16, 17, 18, 19]]
    assert [s.train.tolist() for s in splits] == [
        [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        [0, 1, 2, 3, 12, 13, 14, 15, 16, 17, 18, 19],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    ]
    assert [s.purged.tolist() for s in splits] == [[5, 6], [4, 10, 11], [9, 15, 16], [14]]
    assert [s.embargoed.tolist() for s in splits] == [[], [], [], []]
    assert [(s.fold, s.groups, s.test_start, s.test_end) for s in splits] == [
        (0, (0,), 0, 5), (1, (1,), 5, 10), (2, (2,), 10, 15), (3, (3,), 15, 20)]


def test_purged_kfold_hand_example_embargo_beyond_lookback() -> None:
    """n=20, k=4, lookback=1, horizon=2, embargo=3: purge 2 bars before each fold and 1 after;
    the embargo then removes 2 more bars (end+2, end+3)."""
    splits = purged_kfold(20, 4, lookback=1, horizon=2, embargo=3)
    assert [s.train.tolist() for s in splits] == [
        [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        [0, 1, 2, 13, 14, 15, 16, 17, 18, 19],
        [0, 1, 2, 3, 4, 5, 6, 7, 18, 19],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ]
    assert [s.purged.tolist() for s in splits] == [[5], [3, 4, 10], [8, 9, 15], [13, 14]]
    assert [s.embargoed.tolist() for s in splits] == [[6, 7], [11, 12], [16, 17], []]


def test_purged_kfold_uneven_folds_and_fraction_embargo() -> None:
    """n=11, k=3: folds of 4, 4, 3 bars; embargo=0.2 is ⌊0.2 · 11⌋ = 2 bars."""
    splits = purged_kfold(11, 3, embargo=0.2)
    assert [s.test.tolist() for s in splits] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert [s.embargoed.tolist() for s in splits] == [[4, 5], [8, 9], []]
    assert [s.purged.tolist() for s in splits] == [[], [], []]
    # 0.29 · 100 is 28.999999999999996 in floating point: still 29 bars, as written
    assert purged_kfold(100, 4, embargo=0.29)[0].embargoed.tolist() == list(range(25, 54))


@SETTINGS
@given(st.data())
def test_purged_kfold_properties(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 120), label="n")
    k = data.draw(st.integers(2, min(n, 10)), label="k")
    reach = min(12, n // k)  # longer windows mostly leave some fold without training bars
    lookback = data.draw(st.integers(0, reach), label="lookback")
    horizon = data.draw(st.integers(0, reach), label="horizon")
    embargo_arg = data.draw(st.one_of(st.integers(0, reach), st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.15, 0.29])),
                            label="embargo")
    embargo = embargo_arg if isinstance(embargo_arg, int) else math.floor(Decimal(repr(embargo_arg)) * n)
    blocks = ref_blocks(n, k)
    expected = [ref_split(n, b, lookback, horizon, embargo) for b in blocks]
    if any(not train for train, _, _ in expected):
        event("refused: a fold without training bars")
        with pytest.raises(InvalidInputError, match=r"^lookback, horizon, embargo: .*no training bar"):
            purged_kfold(n, k, lookback=lookback, horizon=horizon, embargo=embargo_arg)
        return
    splits = purged_kfold(n, k, lookback=lookback, horizon=horizon, embargo=embargo_arg)
    # test folds partition the data, contiguous, in order
    assert [s.test.tolist() for s in splits] == blocks
    assert sorted(itertools.chain.from_iterable(s.test.tolist() for s in splits)) == list(range(n))
    for s, block, (train, purged, embargoed) in zip(splits, blocks, expected, strict=True):
        check_split(s, n, lookback, horizon, embargo)
        assert (s.train.tolist(), s.purged.tolist(), s.embargoed.tolist()) == (train, purged, embargoed)
        assert (s.test_start, s.test_end) == (block[0], block[-1] + 1)


@SETTINGS
@given(st.data())
def test_purged_kfold_on_timestamps_with_durations(data: st.DataObject) -> None:
    """Irregular 1-minute bars (gaps of up to 3 hours); lookback, horizon and embargo in minutes
    select bars by time, so a bar across a gap from the test is not purged."""
    steps = data.draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 5, 30, 180]), min_size=5, max_size=80), label="steps")
    ts = [T0]
    for m in steps:
        ts.append(ts[-1] + m * MINUTE)
    n = len(ts)
    k = data.draw(st.integers(2, min(n, 6)), label="k")
    lb, hz, em = (data.draw(st.integers(0, 40), label=name) for name in ("lookback", "horizon", "embargo"))
    expected = [ref_split_time(ts, b, lb * MINUTE, hz * MINUTE, em * MINUTE) for b in ref_blocks(n, k)]
    args = {"lookback": f"{lb}m", "horizon": f"{hz}m", "embargo": f"{em}m"}
    if any(not train for train, _, _ in expected):
        event("refused: a fold without training bars")
        with pytest.raises(InvalidInputError, match="^lookback, horizon, embargo: "):
            purged_kfold(np.array(ts, dtype=np.int64), k, **args)
        return
    splits = purged_kfold(np.array(ts, dtype=np.int64), k, **args)
    for s, (train, purged, embargoed) in zip(splits, expected, strict=True):
        assert (s.train.tolist(), s.purged.tolist(), s.embargoed.tolist()) == (train, purged, embargoed)
        assert leakage(s, f"{lb}m", f"{hz}m", timestamps=ts).size == 0
        t_test = [ts[j] for j in s.test.tolist()]
        for i in s.train.tolist():
            assert not any(ts[i] - lb * MINUTE <= t <= ts[i] + hz * MINUTE for t in t_test)


def test_purged_kfold_durations_follow_the_clock_across_a_gap() -> None:
    """Bars at minutes 0..9, then a 1-hour gap, then minutes 70..79; two folds of 10 bars. Fold 1
    starts at minute 70: a 15-minute horizon reaches it from minute 55 on (no bar there), a
    65-minute horizon from minute 5 on (bars 5..9)."""
    ts = np.array([T0 + m * MINUTE for m in [*range(10), *range(70, 80)]], dtype=np.int64)
    assert purged_kfold(ts, 2, horizon="15m")[1].purged.tolist() == []
    assert purged_kfold(ts, 2, horizon="65m")[1].purged.tolist() == [5, 6, 7, 8, 9]
    assert purged_kfold(ts, 2, horizon=3)[1].purged.tolist() == [7, 8, 9]  # bars, not time
    # embargo of 1 hour after fold 0 (ends at minute 9) reaches minute 69: nothing after the gap
    assert purged_kfold(ts, 2, embargo="1h")[0].embargoed.tolist() == []
    assert purged_kfold(ts, 2, embargo="61m")[0].embargoed.tolist() == [10]
    # the same with datetime64 timestamps and timedelta durations
    ts64 = ts.astype("datetime64[ns]")
    assert purged_kfold(ts64, 2, horizon=datetime.timedelta(minutes=65))[1].purged.tolist() == [5, 6, 7, 8, 9]
    assert purged_kfold(ts64, 2, embargo=np.timedelta64(61, "m"))[0].embargoed.tolist() == [10]


# ------------------------------------------------------------------------------------------------
# Leakage


@SETTINGS
@given(st.data())
def test_leakage_finds_exactly_the_leaking_bars(data: st.DataObject) -> None:
    """On an unpurged split, :func:`leakage` returns the reference's leaking bars (so it can
    report a leak), and purging the same split removes every one of them."""
    n = data.draw(st.integers(4, 80), label="n")
    start = data.draw(st.integers(0, n - 2), label="start")
    end = data.draw(st.integers(start + 1, n), label="end")
    lb, hz = data.draw(st.integers(0, 10), label="lookback"), data.draw(st.integers(0, 10), label="horizon")
    test = list(range(start, end))
    naive = Split(fold=0, train=np.array([i for i in range(n) if not start <= i < end], dtype=np.intp),
                  test=np.array(test, dtype=np.intp))
    expected = ref_leaks(naive.train.tolist(), test, lb, hz)
    assert leakage(naive, lb, hz).tolist() == expected
    if (lb > 0 and end < n) or (hz > 0 and start > 0):
        assert expected  # the naive split does leak here
    purged = [i for i in naive.train.tolist() if i not in expected]
    fixed = dataclasses.replace(naive, train=np.array(purged, dtype=np.intp))
    assert leakage(fixed, lb, hz).size == 0


def test_leakage_hand_example() -> None:
    split = Split(fold=0, train=np.array([0, 1, 2, 3, 7, 8, 9]), test=np.array([4, 5, 6]))
    assert leakage(split, 0, 0).tolist() == []
    assert leakage(split, 0, 1).tolist() == [3]
    assert leakage(split, 2, 1).tolist() == [3, 7, 8]
    assert leakage(split, 1, 4).tolist() == [0, 1, 2, 3, 7]
    ts = [T0 + m * MINUTE for m in (0, 1, 2, 3, 10, 11, 12, 20, 21, 22)]
    assert leakage(split, "0m", "7m", timestamps=ts).tolist() == [3]
    assert leakage(split, "8m", "0m", timestamps=ts).tolist() == [7]
    assert leakage(split, 2, "8m", timestamps=ts).tolist() == [2, 3, 7, 8]


# ------------------------------------------------------------------------------------------------
# CPCV


def test_cpcv_lopez_de_prado_example() -> None:
    """N=6, k=2 (López de Prado 2018, Fig. 12.1-12.2): 15 splits, φ = 2/6 · 15 = 5 paths. Group g
    is tested by 5 splits; the j-th of them (in combination order) feeds path j."""
    r = cpcv(60, n_groups=6, n_test_groups=2)
    assert isinstance(r, CPCVResult)
    assert (len(r.splits), r.n_paths, r.n_groups, r.n_test_groups) == (15, 5, 6, 2)
    assert [s.groups for s in r.splits] == list(itertools.combinations(range(6), 2))
    # combinations: 0 (0,1) 1 (0,2) 2 (0,3) 3 (0,4) 4 (0,5) 5 (1,2) 6 (1,3) 7 (1,4) 8 (1,5)
    #               9 (2,3) 10 (2,4) 11 (2,5) 12 (3,4) 13 (3,5) 14 (4,5)
    assert r.paths == (
        (0, 0, 1, 2, 3, 4),
        (1, 5, 5, 6, 7, 8),
        (2, 6, 9, 9, 10, 11),
        (3, 7, 10, 12, 12, 13),
        (4, 8, 11, 13, 14, 14),
    )
    assert r.block_paths[:6] == ((0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (1, 1))
    assert r.group_bounds == tuple((10 * g, 10 * g + 10) for g in range(6))
    blocks = r.path(2)
    assert [s for s, _ in blocks] == [2, 6, 9, 9, 10, 11]
    assert np.concatenate([bars for _, bars in blocks]).tolist() == list(range(60))


def test_cpcv_hand_example_purge_and_embargo() -> None:
    """n=12, N=4 groups of 3, k=2, lookback=1, horizon=1, embargo=2. Split (0, 2) tests bars
    0-2 and 6-8: purge 3 (looks back into 2), 5 (horizon reaches 6), 9; the embargo after 2
    adds 4, after 8 adds 10."""
    r = cpcv(12, 4, 2, lookback=1, horizon=1, embargo=2)
    split = r.splits[1]
    assert split.groups == (0, 2)
    assert split.test.tolist() == [0, 1, 2, 6, 7, 8]
    assert split.purged.tolist() == [3, 5, 9]
    assert split.embargoed.tolist() == [4, 10]
    assert split.train.tolist() == [11]
    # adjacent test groups (1, 2): one block 3..8
    split = r.splits[3]
    assert split.groups == (1, 2)
    assert (split.purged.tolist(), split.embargoed.tolist(), split.train.tolist()) == ([2, 9], [10], [0, 1, 11])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_cpcv_properties(data: st.DataObject) -> None:
    n_groups = data.draw(st.integers(2, 7), label="n_groups")
    k = data.draw(st.integers(1, n_groups - 1), label="n_test_groups")
    n = data.draw(st.integers(n_groups, 70), label="n")
    reach = min(6, n // n_groups)
    lb, hz, em = (data.draw(st.integers(0, reach), label=name) for name in ("lookback", "horizon", "embargo"))
    groups = ref_blocks(n, n_groups)
    combos = list(itertools.combinations(range(n_groups), k))
    expected = [ref_split(n, [j for g in c for j in groups[g]], lb, hz, em) for c in combos]
    if any(not train for train, _, _ in expected):
        event("refused: a split without training bars")
        with pytest.raises(InvalidInputError, match="^lookback, horizon, embargo: "):
            cpcv(n, n_groups, k, lookback=lb, horizon=hz, embargo=em)
        return
    r = cpcv(n, n_groups, k, lookback=lb, horizon=hz, embargo=em)
    # C(N, k) splits, the groups partition the data, each test set is the union of its groups
    assert len(r.splits) == math.comb(n_groups, k)
    assert [list(range(a, b)) for a, b in r.group_bounds] == groups
    for s, combo, (train, purged, embargoed) in zip(r.splits, combos, expected, strict=True):
        assert s.groups == combo
        assert s.test.tolist() == sorted(j for g in combo for j in groups[g])
        check_split(s, n, lb, hz, em)
        assert (s.train.tolist(), s.purged.tolist(), s.embargoed.tolist()) == (train, purged, embargoed)
    # φ = k/N · C(N, k) paths; each covers every group once; each (split, group) block is used once
    phi = k * math.comb(n_groups, k) // n_groups
    assert r.n_paths == phi == math.comb(n_groups - 1, k - 1)
    used = []
    for p, path in enumerate(r.paths):
        assert len(path) == n_groups
        for g, i in enumerate(path):
            assert g in r.splits[i].groups, f"path {p} takes group {g} from split {i}, which does not test it"
            used.append((i, g))
            assert r.block_paths[i][r.splits[i].groups.index(g)] == p
        assert np.concatenate([bars for _, bars in r.path(p)]).tolist() == list(range(n))
    assert sorted(used) == sorted((i, g) for i, split in enumerate(r.splits) for g in split.groups)


def test_cpcv_on_timestamps_with_durations() -> None:
    """Irregular bars (seeded), 6 groups, 2 test groups, lengths on the clock: every split equals
    the bar-by-bar reference and shows no leakage."""
    rng = np.random.default_rng(7)
    ts = (T0 + MINUTE * np.cumsum(rng.choice([1, 1, 1, 2, 20, 90], size=90))).tolist()
    r = cpcv(np.array(ts, dtype=np.int64), 6, 2, lookback="25m", horizon="10m", embargo="30m")
    assert (len(r.splits), r.n_paths) == (15, 5)
    for split in r.splits:
        expected = ref_split_time(ts, split.test.tolist(), 25 * MINUTE, 10 * MINUTE, 30 * MINUTE)
        assert (split.train.tolist(), split.purged.tolist(), split.embargoed.tolist()) == expected
        assert leakage(split, "25m", "10m", timestamps=ts).size == 0
    assert sum(s.purged.size for s in r.splits) > 0 and sum(s.embargoed.size for s in r.splits) > 0


# ------------------------------------------------------------------------------------------------
# Walk-forward


def test_walk_forward_hand_example() -> None:
    """n=20, train=8, test=4, gap=1: tests start at 9, 13, 17; the last one holds 3 bars."""
    rolling = walk_forward(20, train=8, test=4, gap=1)
    assert [(s.train_start, s.train_end, s.test_start, s.test_end) for s in rolling] == [
        (0, 8, 9, 13), (4, 12, 13, 17), (8, 16, 17, 20)]
    assert [s.train.tolist() for s in rolling] == [list(range(0, 8)), list(range(4, 12)), list(range(8, 16))]
    assert [s.test.tolist() for s in rolling] == [[9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19]]
    assert [s.fold for s in rolling] == [0, 1, 2]
    anchored = walk_forward(20, train=8, test=4, gap=1, anchored=True)
    assert [s.train.tolist() for s in anchored] == [list(range(0, 8)), list(range(0, 12)), list(range(0, 16))]
    # the last window holds 3/4 of a test window: dropped from 0.8 on, kept at 0.75
    assert len(walk_forward(20, train=8, test=4, gap=1, min_test_fraction=0.8)) == 2
    assert len(walk_forward(20, train=8, test=4, gap=1, min_test_fraction=0.75)) == 3
    # step 2 < test 4: tests overlap by 2; step 6 > test 4: 2 untested bars between them
    assert [s.test.tolist() for s in walk_forward(16, train=8, test=4, step=2)] == [
        [8, 9, 10, 11], [10, 11, 12, 13], [12, 13, 14, 15], [14, 15]]
    assert [s.test.tolist() for s in walk_forward(20, train=8, test=4, step=6)] == [[8, 9, 10, 11], [14, 15, 16, 17]]


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_walk_forward_properties(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 300), label="n")
    train = data.draw(st.integers(1, n - 1), label="train")
    gap = data.draw(st.integers(0, n - 1 - train), label="gap")
    test = data.draw(st.integers(1, n), label="test")
    step_arg = data.draw(st.one_of(st.none(), st.integers(1, 2 * test)), label="step")
    anchored = data.draw(st.booleans(), label="anchored")
    step = test if step_arg is None else step_arg
    splits = walk_forward(n, train=train, test=test, step=step_arg, gap=gap, anchored=anchored)
    assert [(s.train_start, s.train_end, s.test_start, s.test_end) for s in splits] == ref_walk_forward(
        n, train, test, step, gap, anchored)
    assert len(splits) == math.ceil((n - train - gap) / step)
    for w, s in enumerate(splits):
        tr, te = s.train.tolist(), s.test.tolist()
        assert s.fold == w and s.purged.size == 0 and s.embargoed.size == 0
        assert tr == list(range(tr[0], tr[-1] + 1)) and te == list(range(te[0], te[-1] + 1))
        # train strictly before test, with exactly `gap` bars between
        assert te[0] - tr[-1] - 1 == gap
        if anchored:
            assert tr[0] == 0 and len(tr) == train + w * step
        else:
            assert len(tr) == train
        assert 1 <= len(te) <= test
        assert len(te) == test or te[-1] == n - 1  # only a window cut by the end of the data is short
    first = train + gap
    tested = [j for s in splits for j in s.test.tolist()]
    if step == test:
        # contiguous, non-overlapping, covering every bar from the first test start to the end
        assert tested == list(range(first, n))
    for a, b in itertools.pairwise(splits):
        assert b.test[0] - a.test[0] == step


@SETTINGS
@given(st.data())
def test_walk_forward_min_test_fraction(data: st.DataObject) -> None:
    n = data.draw(st.integers(10, 200), label="n")
    train = data.draw(st.integers(1, n // 2), label="train")
    test = data.draw(st.integers(1, n - train), label="test")
    frac = data.draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]), label="min_test_fraction")
    full = walk_forward(n, train=train, test=test)
    kept = [s for s in full if len(s.test) >= frac * test]
    if not kept:
        event("refused: every window too short")
        with pytest.raises(InvalidInputError, match="^min_test_fraction: "):
            walk_forward(n, train=train, test=test, min_test_fraction=frac)
        return
    got = walk_forward(n, train=train, test=test, min_test_fraction=frac)
    assert [s.test.tolist() for s in got] == [s.test.tolist() for s in kept]
    assert len(full) - len(got) <= 1  # with step == test only the final window can be short


def minute_bars(days: int, drop_days: Sequence[int] = ()) -> np.ndarray:
    ts = T0 + MINUTE * np.arange(days * 1440, dtype=np.int64)
    keep = np.ones(ts.size, dtype=bool)
    for d in drop_days:
        keep[d * 1440:(d + 1) * 1440] = False
    return ts[keep]


def test_walk_forward_durations_on_minute_bars() -> None:
    """1-minute bars over 10 days; train "2d", test "1d": tests on days 2..9, 2880 training bars
    (rolling) or 2880 + 1440·w (anchored), 1440 test bars each."""
    ts = minute_bars(10)
    splits = walk_forward(ts, train="2d", test="1d")
    assert len(splits) == 8
    assert [len(s.train) for s in splits] == [2880] * 8
    assert [len(s.test) for s in splits] == [1440] * 8
    assert [s.test_start for s in splits] == [1440 * d for d in range(2, 10)]
    assert np.concatenate([s.test for s in splits]).tolist() == list(range(2880, 14400))
    anchored = walk_forward(ts, train="2d", test="1d", anchored=True)
    assert [len(s.train) for s in anchored] == [2880 + 1440 * w for w in range(8)]
    assert all(s.train_start == 0 for s in anchored)
    # gap "1h": 60 bars between train and test, train still 2 days long
    gapped = walk_forward(ts, train="2d", test="1d", gap="1h")
    assert [int(s.test[0]) - int(s.train[-1]) - 1 for s in gapped] == [60] * len(gapped)
    assert [(s.train_end, s.test_start) for s in gapped] == [(int(s.train[-1]) + 1, int(s.test[0])) for s in gapped]
    assert [len(s.train) for s in gapped] == [2880] * len(gapped)
    assert gapped[0].test_start == 2880 + 60
    # the same windows from timedelta, timedelta64, datetime64 timestamps and bar counts
    same = walk_forward(ts.astype("datetime64[ns]"), train=datetime.timedelta(days=2), test=np.timedelta64(1, "D"))
    assert [(s.train_start, s.train_end, s.test_start, s.test_end) for s in same] == \
        [(s.train_start, s.train_end, s.test_start, s.test_end) for s in splits]
    bars = walk_forward(ts, train=2880, test=1440)
    assert [s.test.tolist() for s in bars] == [s.test.tolist() for s in splits]
    # test "3d": windows on days 2-4, 5-7, 8-9; the last covers 2/3 of its 3 days
    three = walk_forward(ts, train="2d", test="3d")
    assert [len(s.test) for s in three] == [4320, 4320, 2880]
    assert len(walk_forward(ts, train="2d", test="3d", min_test_fraction=0.6)) == 3
    assert len(walk_forward(ts, train="2d", test="3d", min_test_fraction=0.7)) == 2


def test_walk_forward_durations_with_a_missing_day() -> None:
    """Day 4 has no bar. Its test window is skipped; the day-5 window trains on days 3-4, i.e.
    on day 3 only; with a 1-day train, the day-5 window has no training bar and is skipped."""
    ts = minute_bars(10, drop_days=[4])
    two = walk_forward(ts, train="2d", test="1d")
    assert len(two) == 7
    assert [len(s.train) for s in two] == [2880, 2880, 1440, 1440, 2880, 2880, 2880]
    assert [len(s.test) for s in two] == [1440] * 7
    day = (ts[[int(s.test[0]) for s in two]] - T0) // DAY
    assert day.tolist() == [2, 3, 5, 6, 7, 8, 9]
    one = walk_forward(ts, train="1d", test="1d")
    assert ((ts[[int(s.test[0]) for s in one]] - T0) // DAY).tolist() == [1, 2, 3, 6, 7, 8, 9]


@SETTINGS
@given(st.data())
def test_walk_forward_durations_irregular(data: st.DataObject) -> None:
    """Irregular timestamps against the clock-window definition, bar by bar."""
    steps = data.draw(st.lists(st.sampled_from([1, 1, 1, 2, 3, 10, 45]), min_size=10, max_size=120), label="steps")
    ts = [T0]
    for m in steps:
        ts.append(ts[-1] + m * MINUTE)
    span = ts[-1] - ts[0]
    train = data.draw(st.integers(1, max(1, span // MINUTE // 2)), label="train") * MINUTE
    gap = data.draw(st.integers(0, 10), label="gap") * MINUTE
    test = data.draw(st.integers(1, max(1, span // MINUTE // 3)), label="test") * MINUTE
    step = data.draw(st.one_of(st.none(), st.integers(1, 2 * test // MINUTE)), label="step")
    anchored = data.draw(st.booleans(), label="anchored")
    expected = ref_walk_forward_time(ts, train, test, test if step is None else step * MINUTE, gap, anchored)
    if ts[0] + train + gap > ts[-1] or not expected:
        event("refused: no window")
        with pytest.raises(InvalidInputError):
            walk_forward(np.array(ts), train=f"{train // MINUTE}m", test=f"{test // MINUTE}m",
                         step=None if step is None else f"{step}m", gap=f"{gap // MINUTE}m", anchored=anchored)
        return
    got = walk_forward(np.array(ts), train=f"{train // MINUTE}m", test=f"{test // MINUTE}m",
                       step=None if step is None else f"{step}m", gap=f"{gap // MINUTE}m", anchored=anchored)
    assert [(s.train.tolist(), s.test.tolist()) for s in got] == expected
    for s in got:
        t_test_start = ts[s.test[0]]
        assert all(ts[i] < t_test_start - gap for i in s.train.tolist())  # train ends `gap` before the test
        assert (s.train_start, s.train_end, s.test_start, s.test_end) == (
            s.train[0], s.train[-1] + 1, s.test[0], s.test[-1] + 1)
    if step is None:
        tested = [j for s in got for j in s.test.tolist()]
        assert tested == sorted(set(tested))  # never overlapping, in time order
        first = min(i for i, t in enumerate(ts) if t >= ts[0] + train + gap)
        # covering: a bar from the first test start on is untested only when its window was
        # skipped for an empty (rolling) training window
        for j in set(range(first, len(ts))) - set(tested):
            t = ts[0] + train + gap + (ts[j] - ts[0] - train - gap) // test * test  # its window's start
            assert not anchored
            assert not any(t - gap - train <= x < t - gap for x in ts), f"bar {j} untested"


# ------------------------------------------------------------------------------------------------
# Results are immutable


def test_splits_are_frozen_and_read_only() -> None:
    split = purged_kfold(10, 2)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.train = np.arange(3)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        split.train[0] = 5
    ts = np.arange(10, dtype=np.int64) * MINUTE + T0
    assert [x.test.tolist() for x in walk_forward(ts, train="3m", test="2m")] == [[3, 4], [5, 6], [7, 8], [9]]
    assert ts.flags.writeable and ts[5] == T0 + 5 * MINUTE  # the caller's array is left alone
    assert "train=5 bars [5..9]" in repr(split)


# ------------------------------------------------------------------------------------------------
# Bad input


FUNCTIONS: dict[str, Callable[..., object]] = {"walk_forward": walk_forward, "purged_kfold": purged_kfold, "cpcv": cpcv,
                                             "leakage": leakage}


TS10D = minute_bars(10)

BAD = [
    # purged k-fold
    ("purged_kfold", (20, 1), {}, "k", "must be >= 2"),
    ("purged_kfold", (20, 21), {}, "k", "21 folds for 20 bars"),
    ("purged_kfold", (20, 2.0), {}, "k", "expected an integer"),
    ("purged_kfold", (20, True), {}, "k", "expected an integer"),
    ("purged_kfold", (20, 4), {"lookback": -1}, "lookback", "must be >= 0"),
    ("purged_kfold", (20, 4), {"horizon": -2}, "horizon", "must be >= 0"),
    ("purged_kfold", (20, 4), {"embargo": -1}, "embargo", "must be >= 0"),
    ("purged_kfold", (20, 4), {"embargo": 1.5}, "embargo", "fraction"),
    ("purged_kfold", (20, 4), {"embargo": float("nan")}, "embargo", "finite"),
    ("purged_kfold", (20, 4), {"lookback": 1.5}, "lookback", "number of bars"),
    ("purged_kfold", (20, 4), {"lookback": "2d"}, "lookback", "needs timestamps"),
    ("purged_kfold", (TS10D, 4), {"horizon": "-1d"}, "horizon", "must be >= 0"),
    ("purged_kfold", (10, 2), {"horizon": 10}, "lookback, horizon, embargo", "fold 1 (bars 5..9) with no training bar"),
    ("purged_kfold", (0, 2), {}, "data", "must be >= 1"),
    ("purged_kfold", (np.array([3, 1, 2]), 2), {}, "data", "index 1 is out of order"),
    ("purged_kfold", (np.array([1, 2, 2, 3]), 2), {}, "data", "index 2 is duplicate"),
    ("purged_kfold", (np.array([1.0, 2.0, 3.0]), 2), {}, "data", "dtype float64"),
    ("purged_kfold", (np.zeros((2, 3), dtype=np.int64), 2), {}, "data", "1-D"),
    ("purged_kfold", (np.array([], dtype=np.int64), 2), {}, "data", "is empty"),
    ("purged_kfold", (np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"), 2), {}, "data", "NaT"),
    # CPCV
    ("cpcv", (20, 6, 6), {}, "n_test_groups", "must be < n_groups (6)"),
    ("cpcv", (20, 6, 7), {}, "n_test_groups", "must be < n_groups"),
    ("cpcv", (20, 6, 0), {}, "n_test_groups", "must be >= 1"),
    ("cpcv", (20, 1, 1), {}, "n_groups", "must be >= 2"),
    ("cpcv", (5, 6, 2), {}, "n_groups", "6 groups for 5 bars"),
    ("cpcv", (100, 30, 15), {}, "n_groups, n_test_groups", "C(30, 15)"),
    ("cpcv", (20, 4, 2), {"lookback": -1}, "lookback", "must be >= 0"),
    ("cpcv", (8, 4, 3), {"lookback": 2, "horizon": 2}, "lookback, horizon, embargo", "no training bar"),
    # walk-forward
    ("walk_forward", (100,), {"train": 101, "test": 10}, "train",
     "a window of 101 bars is longer than the data (100 bars)"),
    ("walk_forward", (100,), {"train": 10, "test": 101}, "test",
     "a window of 101 bars is longer than the data (100 bars)"),
    ("walk_forward", (100,), {"train": 10, "test": 0}, "test", "must be >= 1"),
    ("walk_forward", (100,), {"train": 0, "test": 5}, "train", "must be >= 1"),
    ("walk_forward", (100,), {"train": 10, "test": 5, "step": 0}, "step", "must be >= 1"),
    ("walk_forward", (100,), {"train": 10, "test": 5, "gap": -1}, "gap", "must be >= 0"),
    ("walk_forward", (100,), {"train": 95, "test": 5, "gap": 5}, "train, gap", "leave no bar to test"),
    ("walk_forward", (100,), {"train": 10, "test": 5, "min_test_fraction": 1.5}, "min_test_fraction", "<= 1"),
    ("walk_forward", (100,), {"train": 10, "test": 5, "anchored": "yes"}, "anchored", "True or False"),
    ("walk_forward", (100,), {"train": "2d", "test": "1d"}, "train", "needs timestamps"),
    ("walk_forward", (TS10D,), {"train": "90d", "test": "1d"}, "train", "a window of 90d is longer than the data (10d"),
    ("walk_forward", (TS10D,), {"train": "1d", "test": "11d"}, "test", "longer than the data"),
    ("walk_forward", (TS10D,), {"train": "9d", "test": "1d", "gap": "1d"}, "train, gap", "leave no bar to test"),
    ("walk_forward", (TS10D,), {"train": "2y", "test": "1d"}, "train", "unknown duration unit 'y'"),
    ("walk_forward", (TS10D,), {"train": "90", "test": "1d"}, "train", "has no unit"),
    ("walk_forward", (TS10D,), {"train": "soon", "test": "1d"}, "train", "duration like"),
    ("walk_forward", (TS10D,), {"train": "2d", "test": 1440}, "test", "is a bar count but train is a duration"),
    ("walk_forward", (TS10D,), {"train": 2880, "test": "1d"}, "test", "is a duration but train is a bar count"),
    ("walk_forward", (TS10D,), {"train": "2d", "test": "1d", "step": 5}, "step", "same unit"),
    ("walk_forward", (TS10D,), {"train": "2d", "test": "0d"}, "test", "positive"),
    ("walk_forward", (TS10D,), {"train": "2d", "test": np.timedelta64(1, "M")}, "test", "no fixed length"),
    ("walk_forward", (TS10D,), {"train": "99999w", "test": "1d"}, "train", "longest duration"),
    ("walk_forward", (np.array([5, 3, 9]),), {"train": 1, "test": 1}, "data", "strictly increasing"),
    # leakage
    ("leakage", ("not a split", 1, 1), {}, "split", "expected a Split"),
    ("leakage", (Split(0, np.arange(3), np.arange(3, 5)), -1, 0), {}, "lookback", "must be >= 0"),
    ("leakage", (Split(0, np.arange(3), np.arange(3, 5)), "1m", 0), {}, "lookback", "needs timestamps"),
    ("leakage", (Split(0, np.arange(3), np.arange(3, 5)), "1m", 0), {"timestamps": [1, 2, 3]}, "timestamps",
     "do not cover"),
]


@pytest.mark.parametrize(("fn", "args", "kwargs", "name", "text"), BAD,
                         ids=[f"{b[0]}-{b[3]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input(fn: str, args: tuple[object, ...], kwargs: dict[str, object], name: str, text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        FUNCTIONS[fn](*args, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{name}: "), message
    assert text in message, message
    assert "\n" not in message


def test_cpcv_path_number_checked() -> None:
    r = cpcv(12, 4, 2)
    with pytest.raises(InvalidInputError, match=r"^p: expected a path number in \[0, 3\)"):
        r.path(3)
