"""``BarFeed``: a re-iterable stream of validated :class:`~trader.data.Bars` batches from one source.

Every data source turns its input into *raw chunks* (numpy columns + the 1-based row number of the
first element); the feed runs each chunk through the same pipeline, so all sources behave alike:

1. validation (:func:`trader.data.validate.validate_bars`), ordering checked across chunks;
2. the time filter ``start <= ts < end`` (reading stops at the first bar at or after ``end``;
   rows past it are not read, hence not validated);
3. the gap policy (:mod:`trader.data.gaps`);
4. re-batching to exactly ``batch_size`` bars (the last batch may be shorter).

Memory is bounded by one raw chunk plus one output batch: nothing keeps earlier batches alive.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trader.data._time import check_range, interval_name, iso, to_ns
from trader.data.bars import Bars
from trader.data.gaps import GapTracker, check_policy
from trader.data.validate import validate_bars
from trader.exceptions import DataError, InvalidInputError


@dataclass(slots=True)
class Chunk:
    """Raw columns read from a source, not yet validated. ``first_row`` is 1-based."""

    first_row: int
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


class BarFeed:
    """A stream of :class:`Bars` of one instrument read from one source.

    - ``symbol: str``, ``interval_ns: int`` (known before iterating: given, or inferred from the
      first chunk).
    - ``meta: dict``: ``source``, ``path``, ``symbol``, ``interval`` / ``interval_ns``,
      ``gap_policy``, ``batch_size``, plus what the source knows up front (``rows`` for
      Parquet/Feather, ``ts_unit`` for epoch columns). After a complete iteration it also holds
      ``rows`` (data rows read), ``bars`` (bars emitted, fills included), ``first_ts`` /
      ``last_ts`` (ns) and their ISO forms ``first`` / ``last``, ``gaps`` (see
      :mod:`trader.data.gaps`) and ``complete=True``.
    - :meth:`batches` iterates batches of ``batch_size`` bars; every call starts over from the
      beginning of the source (the feed is re-iterable).
    - :meth:`load` returns everything as one :class:`Bars` (for small data).
    """

    def __init__(
        self,
        *,
        source: str,
        where: str,
        symbol: str,
        interval_ns: int,
        chunks: Callable[[], Iterator[Chunk]],
        batch_size: int = 1_000_000,
        gap_policy: str = "report",
        start: object = None,
        end: object = None,
        meta: dict | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.source = source
        self.where = where
        self.symbol = symbol
        self.interval_ns = int(interval_ns)
        self.batch_size = batch_size
        self.gap_policy = check_policy(gap_policy)
        self.start_ns = to_ns(start, "start")
        self.end_ns = to_ns(end, "end")
        check_range(where, self.start_ns, self.end_ns)
        self._chunks = chunks
        self.meta: dict = {
            "source": source,
            "path": where,
            "symbol": symbol,
            "interval_ns": self.interval_ns,
            "interval": interval_name(self.interval_ns),
            "gap_policy": gap_policy,
            "batch_size": batch_size,
            "start": iso(self.start_ns) if self.start_ns is not None else None,
            "end": iso(self.end_ns) if self.end_ns is not None else None,
            "complete": False,
            **(meta or {}),
        }

    def __repr__(self) -> str:
        return f"BarFeed({self.source}: {self.where}, {self.symbol}, {interval_name(self.interval_ns)})"

    def batches(self) -> Iterator[Bars]:
        """Iterate validated :class:`Bars` batches of ``batch_size`` bars (the last may be shorter)."""
        gaps = GapTracker(self.where, self.interval_ns, self.gap_policy)
        rebatch = _Rebatcher(self.batch_size)
        prev_ts: int | None = None
        rows = bars = 0
        first_ts = last_ts = None
        self.meta["complete"] = False
        for chunk in self._chunks():
            ts = chunk.ts
            n = ts.shape[0]
            if n == 0:
                continue
            validate_bars(self.where, chunk.first_row, ts, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume, prev_ts)
            prev_ts = int(ts[-1])
            rows += n
            lo = 0 if self.start_ns is None else int(np.searchsorted(ts, self.start_ns, "left"))
            hi = n if self.end_ns is None else int(np.searchsorted(ts, self.end_ns, "left"))
            if hi > lo:
                cols = (ts, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume)
                part = tuple(a[lo:hi] for a in cols)
                part = gaps.process(chunk.first_row + lo, *part)
                if first_ts is None:
                    first_ts = int(part[0][0])
                last_ts = int(part[0][-1])
                bars += part[0].shape[0]
                for out in rebatch.push(part):
                    yield Bars._trusted(self.symbol, *out, self.interval_ns)
            if hi < n:  # reached `end`: the rest of the source is not needed
                break
        for out in rebatch.flush():
            yield Bars._trusted(self.symbol, *out, self.interval_ns)
        self.meta.update(
            rows=rows,
            bars=bars,
            first_ts=first_ts,
            last_ts=last_ts,
            first=iso(first_ts) if first_ts is not None else None,
            last=iso(last_ts) if last_ts is not None else None,
            gaps=gaps.summary(),
            complete=True,
        )

    def __iter__(self) -> Iterator[Bars]:
        return self.batches()

    def load(self) -> Bars:
        """All the bars as one :class:`Bars` (concatenated); an empty selection gives empty Bars."""
        parts = list(self.batches())
        if not parts:
            empty_f = np.empty(0, dtype=np.float64)
            return Bars._trusted(self.symbol, np.empty(0, dtype=np.int64), *(empty_f,) * 5, self.interval_ns)
        return Bars.concat(parts)


class _Rebatcher:
    """Cuts a stream of column tuples into tuples of exactly ``size`` rows.

    Full batches are views of the (concatenated) input; only the short remainder is copied, so the
    cost stays linear whatever the input chunk size.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.count = 0

    def push(self, cols: tuple[np.ndarray, ...]) -> Iterator[tuple[np.ndarray, ...]]:
        self.parts.append(cols)
        self.count += cols[0].shape[0]
        if self.count < self.size:
            return
        merged = self._merge()
        n = merged[0].shape[0]
        full = n - n % self.size
        for i in range(0, full, self.size):
            yield tuple(a[i : i + self.size] for a in merged)
        rest = tuple(a[full:].copy() for a in merged)
        self.parts = [rest] if full < n else []
        self.count = n - full

    def flush(self) -> Iterator[tuple[np.ndarray, ...]]:
        if self.count:
            yield self._merge()
        self.parts, self.count = [], 0

    def _merge(self) -> tuple[np.ndarray, ...]:
        if len(self.parts) == 1:
            return self.parts[0]
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(len(self.parts[0])))


# --- helpers for file-based sources -------------------------------------------------------------

COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")


def check_file(path: str | os.PathLike) -> Path:
    """The path of an existing, non-empty regular file, or a :class:`DataError` naming it."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if p.is_dir():
        raise DataError(f"{path}: is a directory, not a file")
    if p.stat().st_size == 0:
        raise DataError(f"{path}: empty file: no data rows")
    return p


def suffixes(path: str | os.PathLike) -> str:
    """The lower-cased extension(s) that matter: ``.csv``, ``.csv.gz``, ``.feather``, ..."""
    name = Path(path).name.lower()
    for c in COMPRESSED:
        if name.endswith(c):
            return Path(name[: -len(c)]).suffix + c
    return Path(name).suffix


def symbol_from_path(path: str | os.PathLike) -> str:
    """A default symbol from a file name: the part before the first ``-`` of the bare name.

    ``BTC_USDT-1m.feather`` → ``BTC_USDT``; ``ADABTC-1m-2021-11-27.csv`` → ``ADABTC``.
    """
    name = Path(path).name
    name = re.sub(r"(\.(csv|txt|tsv|feather|arrow|ipc|parquet|pq|zip|gz|bz2|zst|lz4))+$", "", name, flags=re.I)
    return name.split("-")[0] or name
