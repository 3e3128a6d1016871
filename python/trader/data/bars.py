"""``Bars``: a columnar batch of OHLCV bars of one instrument (the unit data sources stream)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trader.data._time import interval_name, iso, to_ns
from trader.data.validate import COLUMNS, check_lengths, validate_bars
from trader.exceptions import DataError

#: How many leading timestamps are looked at to infer the interval (most common step).
INFER_WINDOW = 100_000


def infer_interval(ts: np.ndarray) -> int:
    """The bar interval of a timestamp array: the most common positive step (0 if there is none).

    Only the first :data:`INFER_WINDOW` steps are looked at, so the cost is bounded.
    """
    steps = np.diff(ts[: INFER_WINDOW + 1])
    steps = steps[steps > 0]
    if steps.size == 0:
        return 0
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


class Bars:
    """A columnar batch of bars of ONE instrument.

    Attributes (the contract other parts of trader rely on):

    - ``symbol: str``
    - ``ts: np.ndarray[int64]``: UTC epoch nanoseconds of each bar's OPEN time, strictly increasing
    - ``open, high, low, close, volume: np.ndarray[float64]``, C-contiguous, same length as ``ts``
    - ``interval_ns: int``: the bar interval; inferred as the most common step of ``ts`` when not
      given (0 when it cannot be inferred: fewer than two bars)

    Construction validates the data (see :mod:`trader.data.validate`): finite values, positive
    prices, non-negative volume, ``low <= open, close <= high``, strictly increasing timestamps;
    a failure raises :class:`trader.exceptions.DataError` naming ``source`` and the 1-based row
    (``first_row`` is the row number of element 0). ``ts`` may also be a ``datetime64`` array.

    Slicing (``bars[10:20]``, :meth:`between`) returns views: no copy, no re-validation.
    Batches produced by a :class:`trader.data.BarFeed` were validated by the feed (with the file's
    row numbers) and are built without a second check.
    """

    __slots__ = ("symbol", "ts", "open", "high", "low", "close", "volume", "interval_ns")

    symbol: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    interval_ns: int

    def __init__(
        self,
        symbol: str,
        ts: Sequence[int] | np.ndarray,
        open: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        low: Sequence[float] | np.ndarray,
        close: Sequence[float] | np.ndarray,
        volume: Sequence[float] | np.ndarray,
        interval_ns: int | None = None,
        *,
        source: str = "bars",
        first_row: int = 1,
    ) -> None:
        ts_arr = np.asarray(ts)
        if np.issubdtype(ts_arr.dtype, np.datetime64):
            ts_arr = ts_arr.astype("datetime64[ns]").view(np.int64)
        elif ts_arr.size and not np.issubdtype(ts_arr.dtype, np.integer):
            raise DataError(f"{source}: ts must be integer epoch nanoseconds or datetime64, got dtype {ts_arr.dtype}")
        ts_arr = np.ascontiguousarray(ts_arr, dtype=np.int64)
        cols = {}
        for name, values in zip(COLUMNS, (open, high, low, close, volume)):
            try:
                cols[name] = np.ascontiguousarray(values, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise DataError(f"{source}: {name} is not numeric: {e}") from None
            if cols[name].ndim != 1:
                raise DataError(f"{source}: {name} must be 1-D, got shape {cols[name].shape}")
        if ts_arr.ndim != 1:
            raise DataError(f"{source}: ts must be 1-D, got shape {ts_arr.shape}")
        check_lengths(source, {"ts": ts_arr, **cols})
        validate_bars(source, first_row, ts_arr, *cols.values())
        self._set(str(symbol), ts_arr, *cols.values(), infer_interval(ts_arr) if interval_ns is None else int(interval_ns))

    def _set(self, symbol, ts, o, h, lo, c, v, interval_ns) -> None:
        self.symbol = symbol
        self.ts = ts
        self.open = o
        self.high = h
        self.low = lo
        self.close = c
        self.volume = v
        self.interval_ns = interval_ns

    @classmethod
    def _trusted(cls, symbol, ts, o, h, lo, c, v, interval_ns: int) -> Bars:
        """Build from arrays that are already contiguous, typed and validated (no checks)."""
        self = cls.__new__(cls)
        self._set(symbol, ts, o, h, lo, c, v, interval_ns)
        return self

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def __getitem__(self, item: slice) -> Bars:
        """A view on a range of bars (``slice`` only, step 1)."""
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("Bars can only be sliced with a step-1 slice; use .ts[i], .close[i] for one bar")
        return Bars._trusted(self.symbol, *(a[item] for a in self.arrays()), self.interval_ns)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``(ts, open, high, low, close, volume)``."""
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)

    def columns(self) -> dict[str, np.ndarray]:
        """The columns by name: ``ts, open, high, low, close, volume``."""
        return dict(zip(("ts", *COLUMNS), self.arrays()))

    @property
    def first_ts(self) -> int | None:
        """Open time of the first bar (ns), or None when empty."""
        return int(self.ts[0]) if len(self) else None

    @property
    def last_ts(self) -> int | None:
        """Open time of the last bar (ns), or None when empty."""
        return int(self.ts[-1]) if len(self) else None

    def between(self, start_ns: object = None, end_ns: object = None) -> Bars:
        """The bars with ``start_ns <= ts < end_ns`` (a view). ``None`` leaves that side open.

        Bounds may be epoch nanoseconds or anything :func:`trader.data._time.to_ns` accepts
        (ISO strings, datetimes).
        """
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts, _bound(start_ns), side="left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts, _bound(end_ns), side="left"))
        return self[lo : max(lo, hi)]

    @staticmethod
    def concat(parts: Sequence[Bars]) -> Bars:
        """Concatenate batches of the same symbol, in order (the boundary ordering is checked)."""
        if not parts:
            raise DataError("bars: nothing to concatenate")
        symbol = parts[0].symbol
        prev = None
        for p in parts:
            if p.symbol != symbol:
                raise DataError(f"bars: cannot concatenate {symbol} and {p.symbol}")
            if len(p) and prev is not None and p.ts[0] <= prev:
                raise DataError(f"bars: batch starting at {iso(p.ts[0])} does not follow {iso(prev)}")
            if len(p):
                prev = p.ts[-1]
        if len(parts) == 1:
            return parts[0]
        arrays = [np.concatenate([p.arrays()[i] for p in parts]) for i in range(6)]
        return Bars._trusted(symbol, *arrays, parts[0].interval_ns or infer_interval(arrays[0]))

    def __repr__(self) -> str:
        if not len(self):
            return f"Bars({self.symbol!r}, empty)"
        return (
            f"Bars({self.symbol!r}, {len(self)} bars of {interval_name(self.interval_ns)}, "
            f"{iso(self.ts[0])} .. {iso(self.ts[-1])})"
        )


def _bound(value: object) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)  # already nanoseconds
    ns = to_ns(value)
    assert ns is not None
    return ns
