"""Time-series splits without look-ahead: walk-forward windows, purged k-fold and combinatorial
purged cross-validation (CPCV), plus a checker for leakage.

Everything works on a bar index ``0..n-1``. The first argument, ``data``, is either the number of
bars ``n`` or the bars' timestamps: a 1-D array of int64 epoch nanoseconds (or ``datetime64``),
strictly increasing. With timestamps, windows and purge lengths may be given as durations
(``"90d"``, ``"4h"``, ``datetime.timedelta``, ``numpy.timedelta64``) as well as bar counts; a
duration selects the bars by their timestamps, so gaps in the data (weekends, outages) are
handled: a ``"1d"`` window holds the bars of that day, however many there are.

- :func:`walk_forward`: rolling or anchored train windows, each followed (after ``gap``) by a test
  window.
- :func:`purged_kfold`: k contiguous test folds; training bars whose information reaches into the
  test fold are purged, and an embargo follows each fold (López de Prado 2018, ch. 7).
- :func:`cpcv`: every choice of k test groups out of N, purged and embargoed the same way, and the
  φ = k/N · C(N, k) backtest paths assembled from them (López de Prado 2018, ch. 12).
- :func:`leakage`: the training bars of a split whose information window touches a test bar.

Definitions (stated once, used by every function):

- *Information window.* Bar ``i`` uses the bars ``[i - lookback, i + horizon]``: ``lookback`` is
  how far back its features look (the strategy's longest indicator lookback), ``horizon`` how far
  forward its label looks (label horizon, holding period). With durations, bar ``i`` uses the bars
  whose timestamps lie in ``[ts[i] - lookback, ts[i] + horizon]``.
- *Purging.* A training bar is purged when its information window intersects a test block
  ``[start, end]`` (inclusive; with durations ``[ts[start], ts[end]]``). Before a block only the
  horizon matters (bars ``i >= start - horizon``), after it only the lookback
  (bars ``i <= end + lookback``). Purging is minimal: nothing else is removed.
- *Embargo.* The ``embargo`` bars following each test block (``end < i <= end + embargo``; with a
  duration, ``ts[end] < ts[i] <= ts[end] + embargo``; a float in ``[0, 1)`` is the fraction
  ``⌊embargo · n⌋`` of the bars, as in López de Prado's ``getEmbargoTimes``) are removed from
  training too. The embargo is counted from the end of the test block, so it overlaps the
  lookback purge; :attr:`Split.embargoed` lists only the bars the embargo removed *in addition* to
  purging (``purged`` and ``embargoed`` are disjoint).

Conventions: indices are ``numpy.intp`` arrays, sorted, read-only. Bounds are half-open bar
ranges ``[start, end)``. Every argument is checked before any work; a bad one raises
:class:`~trader.exceptions.InvalidInputError` whose message starts with the argument's name.
A split whose training set would be empty is refused rather than returned.

References:

- M. López de Prado (2018), *Advances in Financial Machine Learning*, Wiley: ch. 7
  "Cross-Validation in Finance" (purging §7.4.1, embargo §7.4.2, the purged k-fold §7.4.3) and
  ch. 12 "Backtesting through Cross-Validation" (the combinatorial purged CV and its backtest
  paths, §12.4).
- R. Pardo (2008), *The Evaluation and Optimization of Trading Strategies*, 2nd ed., Wiley, ch. 11
  (walk-forward analysis: rolling and anchored windows).
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import math
import re
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from trader.exceptions import InvalidInputError
from trader.inputs import check_int
from trader.data._time import duration
from trader.inputs import check_number

__all__ = [
    "CPCVResult",
    "Split",
    "cpcv",
    "leakage",
    "purged_kfold",
    "walk_forward",
]

IntArray = npt.NDArray[np.intp]
I64Array = npt.NDArray[np.int64]

#: Most splits :func:`cpcv` builds: each holds index arrays as long as the data.
MAX_CPCV_SPLITS = 100_000
#: Longest duration accepted (2**62 ns, about 146 years): timestamps plus or minus it stay in int64.
MAX_DURATION_NS = 1 << 62
#: Nanoseconds per duration unit. Months and years have no fixed length and are not units.
DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
}
_DURATION_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*([A-Za-z]*)\s*$")
_I64_MIN = int(np.iinfo(np.int64).min)
_I64_MAX = int(np.iinfo(np.int64).max)
_EMPTY: IntArray = np.empty(0, dtype=np.intp)
_EMPTY.setflags(write=False)


# ------------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Split:
    """One train/test split. All index arrays are sorted, read-only ``numpy.intp`` bar indices.

    Attributes:
        fold: the split's number: the window (walk-forward, counted over the windows returned),
            the fold (k-fold) or the combination (CPCV, in ``itertools.combinations`` order).
        train: the training bars.
        test: the test bars.
        purged: bars removed from training because their information window
            ``[i - lookback, i + horizon]`` touches a test block.
        embargoed: bars removed from training by the embargo after a test block (and not already
            purged).
        groups: the test groups: ``(fold,)`` for k-fold, the combination of groups for CPCV,
            ``()`` for walk-forward.
        train_start, train_end, test_start, test_end: half-open bar bounds ``[start, end)``, set
            where the set is one contiguous range: all four for walk-forward, the test bounds for
            k-fold, None otherwise. In walk-forward, ``train_end <= test_start`` and the bars
            ``[train_end, test_start)`` are the gap.
    """

    fold: int
    train: IntArray
    test: IntArray
    purged: IntArray = dataclasses.field(default_factory=lambda: _EMPTY)
    embargoed: IntArray = dataclasses.field(default_factory=lambda: _EMPTY)
    groups: tuple[int, ...] = ()
    train_start: int | None = None
    train_end: int | None = None
    test_start: int | None = None
    test_end: int | None = None

    def __repr__(self) -> str:
        def span(a: IntArray) -> str:
            return f"{a.size} bars" + (f" [{int(a[0])}..{int(a[-1])}]" if a.size else "")

        return (f"Split(fold={self.fold}, train={span(self.train)}, test={span(self.test)}, "
                f"purged={self.purged.size}, embargoed={self.embargoed.size}, groups={self.groups})")


@dataclasses.dataclass(frozen=True, eq=False)
class CPCVResult:
    """Result of :func:`cpcv`.

    Attributes:
        splits: the C(N, k) splits, in ``itertools.combinations(range(N), k)`` order; a split's
            ``groups`` are its k test groups.
        paths: ``paths[p][g]`` is the index (into ``splits``) of the split whose test block on group
            ``g`` belongs to backtest path ``p``. There are φ = k/N · C(N, k) = C(N−1, k−1) paths,
            each covering every group exactly once.
        block_paths: ``block_paths[s][j]`` is the path that the test block of split ``s`` on its
            ``j``-th test group (``splits[s].groups[j]``) belongs to; every (split, group) block
            belongs to exactly one path.
        group_bounds: the half-open bar range ``[start, end)`` of each group.

    *Path assignment* (López de Prado 2018, §12.4, Fig. 12.2): group ``g`` is a test group of
    exactly φ splits; taken in split order, the ``j``-th of them gives path ``j`` its block on
    ``g``. Path ``p`` is the sequence of blocks ``(paths[p][0], group 0), ..., (paths[p][N-1],
    group N-1)``: a model trained on the split's training set predicts each block, and the
    concatenated predictions form one out-of-sample backtest over the whole data.
    """

    splits: tuple[Split, ...]
    paths: tuple[tuple[int, ...], ...]
    block_paths: tuple[tuple[int, ...], ...]
    group_bounds: tuple[tuple[int, int], ...]

    @property
    def n_groups(self) -> int:
        """N, the number of groups."""
        return len(self.group_bounds)

    @property
    def n_test_groups(self) -> int:
        """k, the number of test groups per split."""
        return len(self.splits[0].groups)

    @property
    def n_paths(self) -> int:
        """φ = k/N · C(N, k), the number of backtest paths."""
        return len(self.paths)

    def path(self, p: int) -> tuple[tuple[int, IntArray], ...]:
        """The blocks of path ``p`` in time order: ``(split index, bars of the group)`` per group."""
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 0 <= p < self.n_paths:
            raise InvalidInputError(f"p: expected a path number in [0, {self.n_paths}), got {p!r}")
        out = []
        for g, s in enumerate(self.paths[int(p)]):
            start, end = self.group_bounds[g]
            bars = np.arange(start, end, dtype=np.intp)
            bars.setflags(write=False)
            out.append((s, bars))
        return tuple(out)


# ------------------------------------------------------------------------------------------------
# Argument checks


@dataclasses.dataclass(frozen=True)
class _Data:
    """The bars: their number and, when given, their timestamps (int64 ns, strictly increasing)."""

    n: int
    ts: I64Array | None


@dataclasses.dataclass(frozen=True)
class _Length:
    """A length given as a bar count (``is_time`` False) or as a duration in nanoseconds."""

    value: int
    is_time: bool
    text: str

    def __str__(self) -> str:
        return self.text


def _int(name: str, value: Any, minimum: int) -> int:
    return check_int(name, value, minimum)


def _data(value: Any, name: str = "data") -> _Data:
    """``value`` as a bar count or as strictly increasing int64 nanosecond timestamps."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected a number of bars or an array of timestamps, got {value!r}")
    if isinstance(value, (int, np.integer)):
        n = int(value)
        if n < 1:
            raise InvalidInputError(f"{name}: the number of bars must be >= 1, got {n}")
        return _Data(n, None)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: expected a number of bars or an array of timestamps, "
                                f"got {type(value).__name__}") from None
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: timestamps must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInputError(f"{name}: is empty")
    if arr.dtype.kind == "M":
        ts = arr.astype("datetime64[ns]").view(np.int64)
        if (ts == _I64_MIN).any():
            raise InvalidInputError(f"{name}: holds NaT at index {int(np.argmax(ts == _I64_MIN))}")
    elif arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and int(arr.max()) > _I64_MAX:
            raise InvalidInputError(f"{name}: timestamps beyond the int64 range")
        ts = arr.astype(np.int64)
    else:
        raise InvalidInputError(f"{name}: timestamps must be int64 epoch nanoseconds or datetime64, "
                                f"got dtype {arr.dtype}")
    ts = np.array(ts, dtype=np.int64)  # a private copy: the caller may modify theirs afterwards
    if ts.size > 1:
        bad = np.diff(ts) <= 0
        if bad.any():
            i = int(np.argmax(bad)) + 1
            what = "duplicate" if ts[i] == ts[i - 1] else "out of order"
            raise InvalidInputError(f"{name}: timestamps must be strictly increasing; index {i} is {what} "
                                    f"({int(ts[i])} after {int(ts[i - 1])})")
    ts.setflags(write=False)
    return _Data(int(ts.size), ts)


def _duration_ns(name: str, value: Any) -> int:
    """A duration (``"90d"``, ``"1.5h"``, ``timedelta``, ``timedelta64``) in nanoseconds."""
    if isinstance(value, datetime.timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
    if isinstance(value, np.timedelta64):
        if np.isnat(value):
            raise InvalidInputError(f"{name}: is NaT")
        if np.datetime_data(value.dtype)[0] in ("Y", "M", "generic"):
            raise InvalidInputError(f"{name}: {value!r} has no fixed length in nanoseconds")
        return int(value.astype("timedelta64[ns]").astype(np.int64))
    m = _DURATION_RE.match(value)
    if not m:
        raise InvalidInputError(f"{name}: expected a bar count or a duration like '30d' or '4h', got {value!r}")
    number, unit = m.group(1), m.group(2)
    if not unit:
        raise InvalidInputError(f"{name}: {value!r} has no unit: give a bar count as an int, or a duration like "
                                f"'{number}d'")
    if unit not in DURATION_UNITS:
        raise InvalidInputError(f"{name}: unknown duration unit {unit!r} in {value!r} "
                                f"(units: {', '.join(DURATION_UNITS)})")
    return round(Fraction(number) * DURATION_UNITS[unit])


def _length(name: str, value: Any, data: _Data, minimum: int) -> _Length:
    """A bar count (int) or, with timestamps, a duration; ``minimum`` applies to both."""
    if isinstance(value, (str, datetime.timedelta, np.timedelta64)):
        ns = _duration_ns(name, value)
        if data.ts is None:
            raise InvalidInputError(f"{name}: a duration ({value!r}) needs timestamps: pass the bars' timestamps "
                                    f"as data, or give {name} as a number of bars")
        if ns < minimum:
            raise InvalidInputError(f"{name}: must be {'>= 0' if minimum == 0 else 'positive'}, got {value!r}")
        if ns > MAX_DURATION_NS:
            raise InvalidInputError(f"{name}: {value!r} is longer than the longest duration accepted (2**62 ns, "
                                    "about 146 years)")
        return _Length(ns, True, str(value) if isinstance(value, str) else _fmt_ns(ns))
    if isinstance(value, (float, np.floating)):
        raise InvalidInputError(f"{name}: expected a number of bars (an int) or a duration like '30d', got {value!r}")
    bars = _int(name, value, minimum)
    return _Length(bars, False, f"{bars} bars")


def _embargo(value: Any, data: _Data) -> _Length:
    """The embargo: bars (int), a duration, or a float in [0, 1): ⌊value · n⌋ bars (AFML's
    ``getEmbargoTimes`` takes ``int(n * pctEmbargo)``)."""
    if isinstance(value, (float, np.floating)):
        f = check_number("embargo", value, ge=0, lt=1,
                         why="a float is a fraction of the bars; give a bar count as an int")
        # NB: the 1e-9 absorbs float error, so that 0.29 of 100 bars is 29 (0.29 * 100 = 28.999999999999996)
        bars = int(math.floor(f * data.n + 1e-9))
        return _Length(bars, False, f"{bars} bars")
    return _length("embargo", value, data, 0)


def _fmt_ns(ns: int) -> str:
    """A duration in nanoseconds as ``45d 3h``, ``2h 30m``, ``90s``, ``250ms``."""
    return duration(ns)


def _clip(x: int) -> int:
    """An int clipped to the int64 range (so that searchsorted gets a valid int64)."""
    return min(max(x, _I64_MIN), _I64_MAX)


def _bar_spacing(ts: I64Array) -> int:
    """The data's bar length: the median spacing of the timestamps (0 for a single bar)."""
    if ts.size < 2:
        return 0
    return int(round(float(np.median(np.diff(ts)))))


def _indices(start: int, stop: int) -> IntArray:
    a = np.arange(start, stop, dtype=np.intp)
    a.setflags(write=False)
    return a


def _frozen(a: npt.NDArray[Any]) -> IntArray:
    out = np.asarray(a, dtype=np.intp)
    out.setflags(write=False)
    return out


def _blocks(n: int, k: int) -> list[tuple[int, int]]:
    """k contiguous half-open blocks covering 0..n-1; the first ``n % k`` hold one bar more
    (``numpy.array_split``'s and scikit-learn's ``KFold`` sizes)."""
    size, extra = divmod(n, k)
    bounds, start = [], 0
    for i in range(k):
        end = start + size + (1 if i < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


# ------------------------------------------------------------------------------------------------
# Purging and embargo


def _first_reaching(data: _Data, start: int, horizon: _Length) -> int:
    """The first bar whose horizon reaches bar ``start``: i + horizon >= start."""
    if not horizon.is_time:
        return max(0, start - horizon.value)
    assert data.ts is not None
    return int(np.searchsorted(data.ts, _clip(int(data.ts[start]) - horizon.value), side="left"))


def _past_reaching(data: _Data, end: int, length: _Length) -> int:
    """One past the last bar within ``length`` after bar ``end``: i - length <= end."""
    if not length.is_time:
        return min(data.n, end + length.value + 1)
    assert data.ts is not None
    return int(np.searchsorted(data.ts, _clip(int(data.ts[end]) + length.value), side="right"))


def _purge(data: _Data, blocks: list[tuple[int, int]], lookback: _Length, horizon: _Length,
           embargo: _Length) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(train, test, purged, embargoed) for the test ``blocks`` (half-open bar ranges)."""
    n = data.n
    test = np.zeros(n, dtype=bool)
    purge = np.zeros(n, dtype=bool)
    emb = np.zeros(n, dtype=bool)
    for start, end in blocks:
        last = end - 1
        test[start:end] = True
        purge[_first_reaching(data, start, horizon):start] = True
        purge[end:_past_reaching(data, last, lookback)] = True
        emb[end:_past_reaching(data, last, embargo)] = True
    purged = purge & ~test
    embargoed = emb & ~test & ~purged
    train = ~(test | purged | embargoed)
    return (_frozen(np.flatnonzero(train)), _frozen(np.flatnonzero(test)), _frozen(np.flatnonzero(purged)),
            _frozen(np.flatnonzero(embargoed)))


def _no_train(what: str) -> InvalidInputError:
    return InvalidInputError(f"lookback, horizon, embargo: purging and the embargo leave {what} with no training bar")


# ------------------------------------------------------------------------------------------------
# Walk-forward


def walk_forward(data: Any, *, train: Any, test: Any, step: Any = None, anchored: bool = False, gap: Any = 0,
                 min_test_fraction: float = 0.0) -> tuple[Split, ...]:
    """Walk-forward windows: train on a window, test on the window that follows it, move on.

    Window ``w`` (counting from 0) tests from ``test_start(w) = train + gap + w · step`` (with
    durations, the time ``ts[0] + train + gap + w · step``) for ``test`` bars (or that duration).
    Its training window ends ``gap`` before the test starts and is

    - *rolling* (``anchored=False``): the ``train`` bars (duration) before that end, so every
      training window has the same length (in bars, or in time);
    - *anchored* (``anchored=True``): every bar from the first one, so it grows by ``step`` per
      window.

    The windows continue while a test window starts inside the data. With ``step == test`` (the
    default) the test windows are contiguous and never overlap, and together they cover every bar
    from the first test start to the end. ``step < test`` makes consecutive test windows overlap
    by ``test - step`` bars, ``step > test`` leaves ``step - test`` untested bars between them.

    *The last window.* The final test window is cut at the end of the data and may be shorter
    than ``test`` (with ``step < test``, several final windows are). It is kept, so the data is
    covered to its last bar, unless it is shorter than ``min_test_fraction · test``: then it is
    dropped (``min_test_fraction=1`` keeps full windows only). With durations, a window's length
    is the time from its start to the end of the data, ``ts[-1]`` plus one bar (the median
    spacing of the timestamps).

    *Gaps in the data.* With durations the windows are laid on the clock, so a gap in the
    timestamps shortens the windows it falls in (in bars). A window whose test or training
    window holds no bar at all (a gap longer than the window) is skipped; ``fold`` numbers the
    windows returned.

    Walk-forward needs no purging when ``gap >= horizon``: every training bar's label ends before
    the test starts; ``purged`` and ``embargoed`` are empty.

    Args:
        data: the number of bars, or their timestamps (1-D int64 ns or datetime64, strictly
            increasing).
        train: training window: bars (int >= 1) or a duration (``"90d"``; needs timestamps).
        test: test window, in the same kind of unit as ``train``.
        step: how far each window moves; default ``test``.
        anchored: False for rolling windows, True for anchored (expanding) ones.
        gap: bars (or a duration) between the end of training and the start of the test, >= 0.
        min_test_fraction: in ``[0, 1]``; a final test window shorter than this fraction of
            ``test`` is dropped.

    Returns:
        The windows in time order, as :class:`Split` with all four bounds set.

    Raises:
        InvalidInputError: a window longer than the data (``train`` or ``test``), ``train + gap``
            leaving no bar to test, ``test`` or ``step`` < 1, ``gap`` < 0, units mixed (bar counts
            and durations), a duration without timestamps, or no window left.
    """
    d = _data(data)
    tr = _length("train", train, d, 1)
    te = _length("test", test, d, 1)
    st = te if step is None else _length("step", step, d, 1)
    gp = _length("gap", gap, d, 0)
    if not isinstance(anchored, (bool, np.bool_)):
        raise InvalidInputError(f"anchored: expected True or False, got {anchored!r}")
    frac = check_number("min_test_fraction", min_test_fraction, ge=0, le=1)
    for name, length in (("test", te), ("step", st), ("gap", gp)):
        if length.is_time != tr.is_time and not (name == "gap" and length.value == 0):
            kind = "a duration" if length.is_time else "a bar count"
            other = "a duration" if tr.is_time else "a bar count"
            raise InvalidInputError(f"{name}: is {kind} but train is {other}; give the windows in the same unit")
    if tr.is_time:
        windows, short = _time_windows(d, tr.value, te.value, st.value, gp.value if gp.is_time else 0, bool(anchored),
                                       frac)
    else:
        windows, short = _bar_windows(d.n, tr.value, te.value, st.value, gp.value, bool(anchored), frac)
    if not windows:
        if short:
            raise InvalidInputError(f"min_test_fraction: {frac:g} drops every window (each test window is cut by the "
                                    f"end of the data to less than {frac:g} x test)")
        raise InvalidInputError("data: no window holds both training and test bars (the gaps in the timestamps are "
                                "longer than the windows)")
    return tuple(Split(fold=w, train=_indices(a, b), test=_indices(c, e), train_start=a, train_end=b, test_start=c,
                       test_end=e) for w, (a, b, c, e) in enumerate(windows))


def _bar_windows(n: int, train: int, test: int, step: int, gap: int, anchored: bool,
                 frac: float) -> tuple[list[tuple[int, int, int, int]], int]:
    """The windows' (train_start, train_end, test_start, test_end) and how many were too short."""
    if train > n:
        raise InvalidInputError(f"train: a window of {train} bars is longer than the data ({n} bars)")
    if test > n:
        raise InvalidInputError(f"test: a window of {test} bars is longer than the data ({n} bars)")
    if train + gap >= n:
        raise InvalidInputError(f"train, gap: {train} + {gap} bars leave no bar to test in the data ({n} bars)")
    out, short = [], 0
    start = train + gap
    while start < n:
        end = min(start + test, n)
        if end - start >= frac * test:
            train_end = start - gap
            out.append((0 if anchored else train_end - train, train_end, start, end))
        else:
            short += 1
        start += step
    return out, short


def _time_windows(d: _Data, train: int, test: int, step: int, gap: int, anchored: bool,
                  frac: float) -> tuple[list[tuple[int, int, int, int]], int]:
    """As :func:`_bar_windows`, on the clock."""
    ts = d.ts
    assert ts is not None
    t0, t_last = int(ts[0]), int(ts[-1])
    data_end = t_last + _bar_spacing(ts)
    span = data_end - t0
    data_text = f"{_fmt_ns(span) if span else '0s'}, {d.n} bars"
    if train > span:
        raise InvalidInputError(f"train: a window of {_fmt_ns(train)} is longer than the data ({data_text})")
    if test > span:
        raise InvalidInputError(f"test: a window of {_fmt_ns(test)} is longer than the data ({data_text})")
    t_start = t0 + train + gap
    if t_start > t_last:
        raise InvalidInputError(f"train, gap: {_fmt_ns(train)} + {_fmt_ns(gap) if gap else '0s'} leave no bar to test "
                                f"in the data ({data_text})")
    out, short = [], 0
    while t_start <= t_last:
        c = int(np.searchsorted(ts, t_start, side="left"))
        e = int(np.searchsorted(ts, _clip(t_start + test), side="left"))
        if e == c:
            # no bar in this test window: jump to the first window that can hold bar c
            ahead = (int(ts[c]) - test - t_start) // step + 1
            t_start += max(1, ahead) * step
            continue
        train_end_t = t_start - gap
        a = 0 if anchored else int(np.searchsorted(ts, train_end_t - train, side="left"))
        b = int(np.searchsorted(ts, train_end_t, side="left"))
        if min(test, data_end - t_start) < frac * test:
            short += 1
        elif b > a:
            out.append((a, b, c, e))
        t_start += step
    return out, short


# ------------------------------------------------------------------------------------------------
# Purged k-fold and CPCV


def purged_kfold(data: Any, k: int, *, lookback: Any = 0, horizon: Any = 0, embargo: Any = 0) -> tuple[Split, ...]:
    """Purged k-fold cross-validation (López de Prado 2018, §7.4).

    The bars are cut into ``k`` contiguous test folds, in order, of ``n // k`` bars, the first
    ``n % k`` folds one bar longer (scikit-learn's ``KFold`` without shuffling). For each fold,
    training is every other bar except those

    - *purged*: bar ``i`` whose information window ``[i - lookback, i + horizon]`` intersects the
      fold ``[start, end]``, i.e. ``start - horizon <= i < start`` or ``end < i <= end + lookback``;
    - *embargoed*: the ``embargo`` bars after the fold, ``end < i <= end + embargo``, not already
      purged.

    Nothing else is removed (purging is minimal). With timestamps, ``lookback``, ``horizon`` and
    ``embargo`` may be durations and are then measured on the clock (see the module docstring);
    the folds are still cut by bar count.

    Args:
        data: the number of bars, or their timestamps (1-D int64 ns or datetime64, strictly
            increasing).
        k: number of folds, ``2 <= k <= n``.
        lookback: the features' lookback, bars (int >= 0) or a duration.
        horizon: the label horizon (holding period), bars (int >= 0) or a duration.
        embargo: bars (int >= 0), a duration, or a float in ``[0, 1)``: the fraction ``⌊embargo · n⌋``
            of the bars.

    Returns:
        ``k`` :class:`Split`, one per fold in time order (``groups == (fold,)``; the test bounds
        are set).

    Raises:
        InvalidInputError: ``k`` < 2 or > n, a negative length, a duration without timestamps, or
            a fold left with no training bar.
    """
    d = _data(data)
    folds = _int("k", k, 2)
    if folds > d.n:
        raise InvalidInputError(f"k: {folds} folds for {d.n} bars: every fold needs at least one bar")
    lb = _length("lookback", lookback, d, 0)
    hz = _length("horizon", horizon, d, 0)
    em = _embargo(embargo, d)
    out = []
    for f, (start, end) in enumerate(_blocks(d.n, folds)):
        train, test, purged, embargoed = _purge(d, [(start, end)], lb, hz, em)
        if train.size == 0:
            raise _no_train(f"fold {f} (bars {start}..{end - 1})")
        out.append(Split(fold=f, train=train, test=test, purged=purged, embargoed=embargoed, groups=(f,),
                         test_start=start, test_end=end))
    return tuple(out)


def cpcv(data: Any, n_groups: int, n_test_groups: int, *, lookback: Any = 0, horizon: Any = 0,
         embargo: Any = 0) -> CPCVResult:
    """Combinatorial purged cross-validation (López de Prado 2018, §12.4).

    The bars are cut into N = ``n_groups`` contiguous groups (sizes as in :func:`purged_kfold`).
    Each of the C(N, k) choices of k = ``n_test_groups`` groups is one split: those groups are
    the test set, and training is every other bar except those purged or embargoed around *each*
    test group, exactly as in :func:`purged_kfold` (adjacent test groups act as one block).

    Each group is a test group of C(N−1, k−1) splits, which yields φ = k/N · C(N, k) =
    C(N−1, k−1) backtest paths covering the whole data (see :class:`CPCVResult` for the
    assignment). López de Prado's example: N = 6, k = 2 gives 15 splits and 5 paths.

    Args:
        data: the number of bars, or their timestamps (1-D int64 ns or datetime64, strictly
            increasing).
        n_groups: N, ``2 <= N <= n``.
        n_test_groups: k, ``1 <= k < N``.
        lookback, horizon, embargo: as in :func:`purged_kfold`.

    Raises:
        InvalidInputError: N or k out of range, more than :data:`MAX_CPCV_SPLITS` splits, a
            negative length, a duration without timestamps, or a split left with no training bar.
    """
    d = _data(data)
    groups = _int("n_groups", n_groups, 2)
    if groups > d.n:
        raise InvalidInputError(f"n_groups: {groups} groups for {d.n} bars: every group needs at least one bar")
    k = _int("n_test_groups", n_test_groups, 1)
    if k >= groups:
        raise InvalidInputError(f"n_test_groups: must be < n_groups ({groups}) so that some group is left to train "
                                f"on, got {k}")
    count = math.comb(groups, k)
    if count > MAX_CPCV_SPLITS:
        raise InvalidInputError(f"n_groups, n_test_groups: C({groups}, {k}) = {count:,} splits, at most "
                                f"{MAX_CPCV_SPLITS:,} are allowed")
    lb = _length("lookback", lookback, d, 0)
    hz = _length("horizon", horizon, d, 0)
    em = _embargo(embargo, d)
    bounds = _blocks(d.n, groups)
    splits = []
    for s, combo in enumerate(itertools.combinations(range(groups), k)):
        train, test, purged, embargoed = _purge(d, [bounds[g] for g in combo], lb, hz, em)
        if train.size == 0:
            raise _no_train(f"split {s} (test groups {combo})")
        splits.append(Split(fold=s, train=train, test=test, purged=purged, embargoed=embargoed, groups=combo))
    # path assignment: the j-th split (in order) testing group g gives path j its block on g
    n_paths = math.comb(groups - 1, k - 1)
    per_group: list[list[int]] = [[] for _ in range(groups)]
    block_paths = []
    for s, split in enumerate(splits):
        row = []
        for g in split.groups:
            row.append(len(per_group[g]))
            per_group[g].append(s)
        block_paths.append(tuple(row))
    paths = tuple(tuple(per_group[g][p] for g in range(groups)) for p in range(n_paths))
    return CPCVResult(splits=tuple(splits), paths=paths, block_paths=tuple(block_paths), group_bounds=tuple(bounds))


# ------------------------------------------------------------------------------------------------
# Leakage check


def leakage(split: Split, lookback: Any, horizon: Any, *, timestamps: Any = None) -> IntArray:
    """The training bars of ``split`` whose information window touches a test bar.

    Bar ``i`` leaks when some test bar ``j`` lies in ``[i - lookback, i + horizon]`` (with
    durations, ``ts[i] - lookback <= ts[j] <= ts[i] + horizon``). A correctly purged split returns
    an empty array. The embargo is not checked (it is a margin beyond this condition).

    Args:
        split: a :class:`Split` (from any function of this module, or built by hand).
        lookback, horizon: bars (int >= 0), or durations when ``timestamps`` are given.
        timestamps: the bars' timestamps (as ``data`` elsewhere); needed for durations.

    Returns:
        The leaking training bars, sorted (``numpy.intp``).
    """
    if not isinstance(split, Split):
        raise InvalidInputError(f"split: expected a Split, got {type(split).__name__}")
    d = _Data(0, None) if timestamps is None else _data(timestamps, "timestamps")
    lb = _length("lookback", lookback, d, 0)
    hz = _length("horizon", horizon, d, 0)
    train = np.asarray(split.train, dtype=np.intp)
    test = np.sort(np.asarray(split.test, dtype=np.intp))
    if train.size == 0 or test.size == 0:
        return _frozen(np.empty(0, dtype=np.intp))
    top = int(max(train.max(), test.max()))
    if d.ts is not None and (top >= d.n or min(int(train.min()), int(test.min())) < 0):
        raise InvalidInputError(f"timestamps: {d.n} timestamps do not cover the split's bar {top}")
    if lb.is_time or hz.is_time:
        assert d.ts is not None
        ts = d.ts
        t_train = ts[train]
        t_test = ts[test]
        lo = t_train - lb.value if lb.is_time else ts[np.maximum(train - lb.value, 0)]
        hi = t_train + hz.value if hz.is_time else ts[np.minimum(train + hz.value, d.n - 1)]
        pos = np.searchsorted(t_test, lo, side="left")
        hit = pos < test.size
        hit[hit] = t_test[pos[hit]] <= hi[hit]
    else:
        pos = np.searchsorted(test, train - lb.value, side="left")
        hit = pos < test.size
        hit[hit] = test[pos[hit]] <= train[hit] + hz.value
    return _frozen(np.sort(train[hit]))
