"""Gaps in time, and the policy that decides what to do about them.

A *gap* is a step between two consecutive bars larger than the bar interval ``interval_ns``
(``ts[i] - ts[i-1] > interval_ns``). The number of *missing bars* of a gap is the number of
interval-aligned open times that fit strictly between the two bars:
``(step - 1) // interval_ns``.

Policies (``gap_policy=``; the CLI exposes ``--gaps report|error|fill``):

``"report"`` (default)
    Keep the bars as they are. Gaps are recorded in ``feed.meta["gaps"]``: ``count``,
    ``missing_bars``, ``largest_ns`` and ``first`` (the first :data:`MAX_LISTED` gaps, each
    ``{"row", "after", "before", "missing_bars"}`` with ISO times; ``row`` is the 1-based data row
    of the bar that follows the gap).
``"error"``
    The first gap raises :class:`trader.exceptions.DataError` naming the row after the gap.
``"fill"``
    Insert flat bars at the previous close (open = high = low = close = previous close, volume 0)
    at every missing open time. The gaps are still recorded in ``meta["gaps"]`` as for
    ``"report"``, with ``filled_bars`` set.

Gaps are looked for only inside the selected time range and across batch boundaries; when the
interval is unknown (a single bar) there are no gaps.
"""

from __future__ import annotations

import numpy as np

from trader.data._time import duration, iso
from trader.data.validate import row_error
from trader.exceptions import InvalidInputError

GAP_POLICIES = ("report", "error", "fill")
#: How many gaps are listed in ``meta["gaps"]["first"]``.
MAX_LISTED = 10


def check_policy(policy: str) -> str:
    """Return ``policy`` if it is one of :data:`GAP_POLICIES`, else raise InvalidInputError."""
    if policy not in GAP_POLICIES:
        raise InvalidInputError(f"unknown gap policy {policy!r} (expected one of: {', '.join(GAP_POLICIES)})")
    return policy


class GapTracker:
    """Finds gaps in a stream of batches and applies the policy, keeping state across batches."""

    def __init__(self, where: str, interval_ns: int, policy: str = "report") -> None:
        self.where = where
        self.interval_ns = int(interval_ns)
        self.policy = check_policy(policy)
        self.prev_ts: int | None = None
        self.prev_close: float | None = None
        self.count = 0
        self.missing = 0
        self.filled = 0
        self.largest_ns = 0
        self.first: list[dict] = []

    def summary(self) -> dict:
        """The gap record stored in ``feed.meta["gaps"]``."""
        out = {
            "policy": self.policy,
            "count": self.count,
            "missing_bars": self.missing,
            "largest_ns": self.largest_ns,
            "largest": duration(self.largest_ns) if self.count else None,
            "first": list(self.first),
        }
        if self.policy == "fill":
            out["filled_bars"] = self.filled
        return out

    def process(self, first_row: int, ts, o, h, lo, c, v) -> tuple[np.ndarray, ...]:
        """Look for gaps in one (validated, sorted) batch; return the batch, with fills if asked."""
        n = ts.shape[0]
        if n == 0:
            return (ts, o, h, lo, c, v)
        iv = self.interval_ns
        if iv <= 0:
            self.prev_ts, self.prev_close = int(ts[-1]), float(c[-1])
            return (ts, o, h, lo, c, v)
        prev_ts = np.empty(n, dtype=np.int64)
        prev_ts[1:] = ts[:-1]
        prev_ts[0] = ts[0] - iv if self.prev_ts is None else self.prev_ts
        step = ts - prev_ts
        idx = np.flatnonzero(step > iv)
        if idx.size:
            missing = (step[idx] - 1) // iv
            if self.policy == "error":
                i = int(idx[0])
                raise row_error(
                    self.where,
                    first_row + i,
                    f"gap of {duration(int(step[i]))} after {iso(prev_ts[i])} ({int(missing[0])} missing bars; gap policy is 'error')",
                )
            self.count += int(idx.size)
            self.missing += int(missing.sum())
            self.largest_ns = max(self.largest_ns, int(step[idx].max()))
            for i, m in zip(idx[: MAX_LISTED - len(self.first)], missing):
                self.first.append(
                    {"row": first_row + int(i), "after": iso(prev_ts[i]), "before": iso(ts[i]), "missing_bars": int(m)}
                )
            if self.policy == "fill":
                prev_close = np.empty(n, dtype=np.float64)
                prev_close[1:] = c[:-1]
                prev_close[0] = c[0] if self.prev_close is None else self.prev_close
                out = _fill(ts, (o, h, lo, c, v), prev_ts, prev_close, idx, missing, iv)
                self.filled += int(missing.sum())
                self.prev_ts, self.prev_close = int(ts[-1]), float(c[-1])
                return out
        self.prev_ts, self.prev_close = int(ts[-1]), float(c[-1])
        return (ts, o, h, lo, c, v)


def _fill(ts, cols, prev_ts, prev_close, idx, missing, iv) -> tuple[np.ndarray, ...]:
    """Insert ``missing[k]`` flat bars before row ``idx[k]`` (vectorised)."""
    n = ts.shape[0]
    extra = np.zeros(n, dtype=np.int64)
    extra[idx] = missing
    total = n + int(missing.sum())
    pos = np.cumsum(extra + 1) - 1  # output position of every original row
    is_fill = np.ones(total, dtype=bool)
    is_fill[pos] = False
    owner = np.repeat(idx, missing)  # the original row each filled bar precedes
    starts = np.cumsum(missing) - missing
    k = np.arange(owner.size, dtype=np.int64) - np.repeat(starts, missing) + 1
    out_ts = np.empty(total, dtype=np.int64)
    out_ts[pos] = ts
    out_ts[is_fill] = prev_ts[owner] + k * iv
    fill_price = prev_close[owner]
    out = [out_ts]
    for j, col in enumerate(cols):
        a = np.empty(total, dtype=np.float64)
        a[pos] = col
        a[is_fill] = 0.0 if j == 4 else fill_price
        out.append(a)
    return tuple(out)
