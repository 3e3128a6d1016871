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

    Every event is a quote (the book's top moves by 0-2 ticks, the spread is 1-3 ticks, the
    sizes 0.001-2.000) or, one time in three, a trade at the bid or the ask (size 0.001-0.500).
    ``duration`` (seconds, None: until stopped) bounds it."""

    mode = "quotes"
    kind = "synthetic"
    #: Events carry the wall clock's time: the node moves the engine's clock with it between
    #: events (timers fire on time).
    realtime = True

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
        self._mid_ticks = int(round(self.price / self._tick))
        self._id = 0

    def describe(self) -> str:
        return f"synthetic (seed {self.seed}, {self.rate:g} events/s, {self.symbol})"

    def _event(self, ts: int) -> tuple[Any, ...]:
        r = self._rng
        lot = 10.0 ** -self.size_precision
        if r.random() < 1 / 3:
            self._id += 1
            buy = bool(r.random() < 0.5)
            spread = 1 + int(r.integers(0, 3))
            px = (self._mid_ticks + (spread if buy else -spread) // 2 + (1 if buy else 0)) * self._tick
            size = int(r.integers(1, 501)) * lot
            return ("trade", ts, round(px, self.price_precision), round(size, self.size_precision),
                    "buy" if buy else "sell", self._id)
        self._mid_ticks += int(r.integers(-2, 3))
        self._mid_ticks = max(self._mid_ticks, 10)
        spread = 1 + int(r.integers(0, 3))
        bid = (self._mid_ticks - spread // 2) * self._tick
        ask = bid + spread * self._tick
        return ("quote", ts, round(bid, self.price_precision), round(ask, self.price_precision),
                round(int(r.integers(1, 2001)) * lot, self.size_precision),
                round(int(r.integers(1, 2001)) * lot, self.size_precision))

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
            now = time.time_ns()
            yield [self._event(now) for _ in range(k)]
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

    def describe(self) -> str:
        pace = "as fast as possible" if math.isinf(self.speed) else f"{self.speed:g}x the recorded pace"
        return f"replay of {', '.join(os.path.basename(p) for p in self.paths)} ({pace})"

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        from trader import _core

        reader = _core.RecordingReader(self.paths)
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
