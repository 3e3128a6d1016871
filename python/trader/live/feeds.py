"""The node's market-data feeds that need no network.

A feed is an async iterator of *batches*: lists of events, each due at a wall-clock instant the
feed waits for itself (so a paced replay sleeps between batches, ``--speed max`` never does).
The node pushes each batch into every session's ring, then lets the engine consume it.

- :class:`SyntheticFeed` — the embedded default: a seeded random walk of trades and top-of-book
  quotes in real time (``rate`` events a second), on a 0.01 price grid and a 0.001 size grid, at
  the wall clock's time. No files, no network; the same seed gives the same prices and sizes.
- :class:`ReplayFeed` — a recorded Binance WebSocket file (``"<receive ns> <json>"`` lines, plain
  or gzip; the format of ``l2_book/hftbacktest_raw_ws``), its lines handed over as recorded, at
  the recorded pace × ``speed`` (``math.inf``: as fast as the node goes). The events keep their
  recorded times: the engine runs on event time, so a replay gives the backtest's fills.

Resuming (``trader live`` on an existing state folder): a feed counts the events it handed out
(``position``; the node stores it with each checkpoint, after the engines processed them) and
``resume(position)`` — called before :meth:`batches` — starts after them: a replay skips that many
recorded lines, the synthetic feed draws and drops that many events (its sequence stays the seed's).
A feed without ``resume`` starts where the market is (the node logs the gap).

Events: ``("batch", LineBatch)`` for recorded lines read in Rust (:class:`trader._core.LineBatch`),
``("line", text)`` for a recorded line from Python, ``("trade", ts, price, size, side, id)`` and
``("quote", ts, bid, ask, bid_size, ask_size)`` for ticks.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError

__all__ = ["SyntheticFeed", "ReplayFeed"]

#: Lines read per batch at ``--speed max`` (the node yields to its control API between batches).
MAX_BATCH = 1024


class SyntheticFeed:
    """A seeded random walk of quotes and trades in real time (the embedded default).

    Every event is a quote (the mid moves by -2..2 ticks, the spread is 1-3 ticks, each side's
    size 0.001-2.000) or, one time in three, a trade at the last quote's ask (a buyer) or bid (a
    seller), of 0.001-0.500. The draws come from numpy's generator seeded with ``seed``, in
    blocks of :data:`BLOCK` events: the same seed gives the same sequence of events whatever
    the pace; only the time stamps (the wall clock) differ from run to run."""

    mode = "quotes"
    kind = "synthetic"
    #: Events carry the wall clock's time: the node moves the engine's clock with it between
    #: events (timers fire on time).
    realtime = True
    BLOCK = 4096

    def __init__(self, *, seed: int = 7, rate: float = 20.0, price: float = 50_000.0, symbol: str = "SYNTHUSDT",
                 price_precision: int = 2, size_precision: int = 3) -> None:
        if isinstance(rate, bool) or not (0 < float(rate) <= 1e6):
            raise InvalidInputError(f"feed synthetic: rate must be within (0, 1e6] events a second, got {rate!r}")
        if isinstance(price, bool) or not (0 < float(price) < 1e12):
            raise InvalidInputError(f"feed synthetic: price must be > 0, got {price!r}")
        self.seed = int(seed)
        self.rate = float(rate)
        self.price = float(price)
        self.symbol = symbol
        self.price_precision = price_precision
        self.size_precision = size_precision
        self.market = "usdm"
        self._rng = np.random.default_rng(self.seed)
        self._tick = 10.0 ** -price_precision
        self._lot = 10.0 ** -size_precision
        mid = int(round(self.price / self._tick))
        self._bid, self._ask = mid - 1, mid + 1  # in ticks
        self._mid = mid
        self._id = 0
        self._block: list[tuple[Any, ...]] = []
        self._at = 0
        #: Events handed out (a resumed feed counts the skipped ones too).
        self.position = 0

    def resume(self, position: int) -> None:
        """Start after the first ``position`` events of the seed's sequence."""
        if position < 0:
            raise InvalidInputError(f"feed synthetic: resume position must be >= 0, got {position}")
        while self.position < position:
            self.take(min(self.BLOCK, position - self.position), 0)

    def describe(self) -> str:
        return f"synthetic (seed {self.seed}, {self.rate:g} events/s, {self.symbol})"

    def _fill_block(self) -> None:
        """The next :data:`BLOCK` events' draws, turned into events (time stamp 0: set when due)."""
        r, n = self._rng, self.BLOCK
        trade = (r.random(n) < 1 / 3).tolist()
        buy = (r.random(n) < 0.5).tolist()
        step = r.integers(-2, 3, n).tolist()
        spread = r.integers(1, 4, n).tolist()
        tsize = r.integers(1, 501, n).tolist()
        bsize = r.integers(1, 2001, n).tolist()
        asize = r.integers(1, 2001, n).tolist()
        tick, lot, pdp, sdp = self._tick, self._lot, self.price_precision, self.size_precision
        out: list[tuple[Any, ...]] = []
        for k in range(n):
            if trade[k]:
                self._id += 1
                px = self._ask if buy[k] else self._bid
                out.append(("trade", round(px * tick, pdp), round(tsize[k] * lot, sdp), "buy" if buy[k] else "sell",
                            self._id))
            else:
                self._mid = max(self._mid + step[k], 10)
                self._bid = self._mid - spread[k] // 2
                self._ask = self._bid + spread[k]
                out.append(("quote", round(self._bid * tick, pdp), round(self._ask * tick, pdp),
                            round(bsize[k] * lot, sdp), round(asize[k] * lot, sdp)))
        self._block, self._at = out, 0

    def take(self, k: int, ts: int) -> list[tuple[Any, ...]]:
        """The next ``k`` events, stamped ``ts``."""
        out: list[tuple[Any, ...]] = []
        while len(out) < k:
            if self._at >= len(self._block):
                self._fill_block()
            take = self._block[self._at:self._at + k - len(out)]
            self._at += len(take)
            out.extend((e[0], ts, *e[1:]) for e in take)
        self.position += len(out)
        return out

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Events at ``rate`` a second, time-stamped with the wall clock, until cancelled."""
        interval = 1.0 / self.rate
        start = time.monotonic()
        n = 0
        while True:
            due = start + n * interval
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            # every event due by now (a late loop catches up in one batch)
            k = max(1, min(MAX_BATCH, int((time.monotonic() - start) / interval) - n + 1))
            yield self.take(k, time.time_ns())
            n += k


class ReplayFeed:
    """The lines of recorded Binance WebSocket files, in order, at the recorded pace × ``speed``
    (``math.inf``: no waiting). Ends at the end of the last file. The files are read in Rust
    (:class:`trader._core.RecordingReader`, as ``trader backtest-l2`` reads them) and each batch
    goes to the sessions without becoming Python strings."""

    mode = "l2"
    kind = "replay"
    #: Events carry their recorded times: the engine runs on event time, as a backtest.
    realtime = False

    def __init__(self, paths: list[str], *, speed: float = 1.0) -> None:
        from trader.l2 import recording_paths

        self.paths = recording_paths(paths)
        if not (speed > 0):
            raise InvalidInputError(f"speed: must be > 0 or max, got {speed!r}")
        self.speed = float(speed)
        self.lines = 0
        self._skip = 0

    @property
    def position(self) -> int:
        """Recorded lines handed out (the skipped ones of a resumed replay included)."""
        return self.lines

    def resume(self, position: int) -> None:
        """Start after the first ``position`` lines of the (merged) recording."""
        if position < 0:
            raise InvalidInputError(f"feed replay: resume position must be >= 0, got {position}")
        self._skip = self.lines = int(position)

    def describe(self) -> str:
        pace = "as fast as possible" if math.isinf(self.speed) else f"{self.speed:g}x the recorded pace"
        return f"replay of {', '.join(os.path.basename(p) for p in self.paths)} ({pace})"

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        from trader import _core

        reader = _core.RecordingReader(self.paths, skip=self._skip)
        if math.isinf(self.speed):
            # the reader's own thread reads and decompresses ahead while the engine runs
            while (batch := reader.next_batch(MAX_BATCH)) is not None:
                self.lines = reader.lines
                yield [("batch", batch)]
            return
        first = reader.peek_ts()
        if first is None:
            return
        t0_wall = time.monotonic()
        while True:
            due = first + int((time.monotonic() - t0_wall) * self.speed * 1e9)
            batch = reader.next_batch(MAX_BATCH, due)
            if batch is None:
                return
            if len(batch):
                self.lines = reader.lines
                yield [("batch", batch)]
                continue
            nxt = reader.peek_ts()
            if nxt is None:
                return
            await asyncio.sleep(max(0.0, t0_wall + (nxt - first) / 1e9 / self.speed - time.monotonic()))
