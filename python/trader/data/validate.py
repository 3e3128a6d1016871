"""Validation of bar data: every check a batch of bars must pass, with messages that name the row.

Rows are counted the same way everywhere: **the 1-based data row, header excluded** (row 1 is the
first bar of the file, whatever the format). Messages read ``<where>: row <n>: <problem>``, e.g.
``data/x.csv: row 17: high 101.5 < low 102.0``.

Checks, in this order of precedence within one row:

- open, high, low, close, volume are finite numbers (a NaN, an inf, or a missing value is refused);
- open, high, low, close are > 0; volume is >= 0;
- ``high >= low``, ``high >= max(open, close)``, ``low <= min(open, close)``;
- timestamps strictly increase (an equal timestamp is a *duplicate*, a smaller one *unsorted*),
  across batch boundaries too: the caller passes the previous batch's last timestamp.

When several rows are bad, the first bad row (in file order) is reported.
"""

from __future__ import annotations

import numpy as np

from trader.data._time import iso
from trader.exceptions import DataError
from trader.inputs import printable

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = ("open", "high", "low", "close", "volume")


def row_error(where: str, row: int, problem: str) -> DataError:
    """A :class:`DataError` reading ``<where>: row <row>: <problem>``."""
    return DataError(f"{where}: row {row}: {problem}")


def _first(mask: np.ndarray) -> int:
    """Index of the first True of a boolean array, or -1."""
    if mask.size == 0:
        return -1
    i = int(np.argmax(mask))
    return i if mask[i] else -1


def _num(x: float) -> str:
    return f"{x:.10g}"


def validate_bars(
    where: str,
    first_row: int,
    ts: np.ndarray,
    open: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    prev_ts: int | None = None,
) -> None:
    """Check one batch of bars; raise :class:`DataError` naming the first bad row.

    :param where: the file or source name that starts the message.
    :param first_row: the 1-based data row of element 0 of the arrays.
    :param ts: int64 UTC epoch nanoseconds; the other arrays are float64 of the same length.
    :param prev_ts: the last timestamp of the previous batch of the same stream (ordering is
        checked across the boundary), or ``None`` for the first batch.
    """
    cols = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
    candidates: list[tuple[int, int, str]] = []  # (index, precedence, message)

    def add(prec: int, mask: np.ndarray, message) -> None:
        i = _first(mask)
        if i >= 0:
            candidates.append((i, prec, message(i)))

    for k, (name, arr) in enumerate(cols.items()):
        bad = ~np.isfinite(arr)
        add(k, bad, lambda i, n=name, a=arr: f"{n} is NaN or missing" if np.isnan(a[i]) else f"{n} is {_num(a[i])}: not a finite number")
    for k, name in enumerate(PRICE_COLUMNS):
        arr = cols[name]
        add(10 + k, arr <= 0, lambda i, n=name, a=arr: f"{n} {_num(a[i])} is not a positive price")
    add(14, volume < 0, lambda i: f"volume {_num(volume[i])} is negative")
    add(20, high < low, lambda i: f"high {_num(high[i])} < low {_num(low[i])}")
    add(21, high < open, lambda i: f"high {_num(high[i])} < open {_num(open[i])}")
    add(22, high < close, lambda i: f"high {_num(high[i])} < close {_num(close[i])}")
    add(23, low > open, lambda i: f"low {_num(low[i])} > open {_num(open[i])}")
    add(24, low > close, lambda i: f"low {_num(low[i])} > close {_num(close[i])}")

    if ts.size:
        before = np.empty_like(ts)
        before[1:] = ts[:-1]
        if prev_ts is None:
            before[0] = ts[0] - 1  # nothing to compare the first bar with
        else:
            before[0] = prev_ts
        step = ts - before

        def order_msg(i: int) -> str:
            if ts[i] == before[i]:
                return f"duplicate timestamp {iso(ts[i])} (same as row {first_row + i - 1})"
            return f"timestamp {iso(ts[i])} is before row {first_row + i - 1}'s {iso(before[i])}: rows must be sorted by time"

        add(30, step <= 0, order_msg)

    if candidates:
        i, _, message = min(candidates)
        raise row_error(where, first_row + i, message)


def check_lengths(where: str, columns: dict[str, np.ndarray]) -> int:
    """Check that every column has the same length; return it."""
    lengths = {name: len(a) for name, a in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise DataError(f"{where}: columns have different lengths ({detail})")
    return next(iter(lengths.values()), 0)


def find_column(where: str, names: list[str], candidates: tuple[str, ...], what: str) -> str:
    """The actual name of the first of ``candidates`` present in ``names`` (case-insensitive).

    :raise DataError: ``<where>: missing <what> column (one of: ...; found: ...)``.
    """
    lower = {n.strip().lower(): n for n in names}
    for c in candidates:
        if c in lower:
            return lower[c]
    raise DataError(
        f"{where}: missing {what} column (expected one of: {', '.join(candidates)}; found: {printable(', '.join(names), 160) or 'nothing'})"
    )
