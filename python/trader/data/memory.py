"""``MemoryFeed``: a feed over bars already in memory (a validated :class:`~trader.data.Bars`).

For backtests on arrays a user already holds (``run_backtest(strategy, data=bars)``), and for
benchmarks that must not time file parsing. Batches are views (no copies).
"""

from __future__ import annotations

from collections.abc import Iterator

from trader.data._time import interval_name, iso
from trader.data.bars import Bars
from trader.exceptions import InvalidInputError


class MemoryFeed:
    """The :class:`~trader.data.BarFeed` interface over one in-memory :class:`Bars`."""

    source = "memory"

    def __init__(self, bars: Bars, batch_size: int = 1_000_000) -> None:
        if not isinstance(bars, Bars):
            raise InvalidInputError(f"data: expected trader.data.Bars, got {type(bars).__name__}")
        if batch_size < 1:
            raise InvalidInputError(f"batch_size: must be >= 1, got {batch_size}")
        self.bars = bars
        self.batch_size = int(batch_size)
        self.symbol = bars.symbol
        self.interval_ns = bars.interval_ns
        n = len(bars)
        self.meta: dict = {
            "source": self.source,
            "path": None,
            "symbol": bars.symbol,
            "interval_ns": bars.interval_ns,
            "interval": interval_name(bars.interval_ns),
            "rows": n,
            "bars": n,
            "first_ts": bars.first_ts,
            "last_ts": bars.last_ts,
            "first": iso(bars.first_ts) if n else None,
            "last": iso(bars.last_ts) if n else None,
            "complete": True,
        }

    def batches(self) -> Iterator[Bars]:
        for i in range(0, len(self.bars), self.batch_size):
            yield self.bars[i : i + self.batch_size]

    def __iter__(self) -> Iterator[Bars]:
        return self.batches()

    def load(self) -> Bars:
        return self.bars
