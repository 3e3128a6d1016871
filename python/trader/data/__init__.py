"""Market data: the :class:`Bars` batch type, the :class:`BarFeed` stream, and the built-in data
sources (generic CSV, Binance kline CSV, Parquet, Feather, synthetic).

A *data source* (what a plugin's ``trader_data_sources`` hook returns; see :class:`DataSource`) has
``name``, ``description``, ``can_open(path)`` and ``open(path, *, symbol=None, start=None,
end=None, batch_size=1_000_000, gap_policy="report", **options) -> BarFeed``. Pick one with
:func:`trader.plugins.find_data_source`, or use :func:`open_bars`.

Errors are :class:`trader.exceptions.DataError`, whose message names the file, the 1-based data
row (header excluded) and the problem (see :mod:`trader.data.validate`); gaps in time follow the
policy of :mod:`trader.data.gaps`.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from trader.data.arrow import FeatherSource, ParquetSource
from trader.data.bars import Bars, infer_interval
from trader.data.binance import BinanceSource
from trader.data.csv import CsvSource
from trader.data.feed import BarFeed
from trader.data.gaps import GAP_POLICIES
from trader.data.memory import MemoryFeed
from trader.data.synthetic import SyntheticSource
from trader.data.ticks import BinanceWsTickSource, ParquetTickSource, TardisSource, TickFeed, Ticks


@runtime_checkable
class DataSource(Protocol):
    """What a data source plugin provides (structural: any object with these members)."""

    name: str
    description: str

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """Whether this source can read ``path`` (by extension or by sniffing the file)."""
        ...

    def open(
        self,
        path: str | os.PathLike | None,
        *,
        symbol: str | None = None,
        start: object = None,
        end: object = None,
        batch_size: int = 1_000_000,
        gap_policy: str = "report",
        **options: object,
    ) -> BarFeed:
        """Open ``path`` as a :class:`BarFeed` (bad input raises DataError)."""
        ...


def open_bars(path: str | os.PathLike | None = None, *, source: str | None = None, **kwargs: object) -> BarFeed:
    """Open ``path`` with the data source that can read it (``source`` names one explicitly).

    ``path=None`` gives the synthetic series. Keyword arguments go to the source's ``open``.
    """
    from trader.plugins import find_data_source

    return find_data_source(path, source).open(None if path is None else str(path), **kwargs)  # type: ignore[arg-type]


__all__ = [
    "MemoryFeed",
    "Bars",
    "BarFeed",
    "DataSource",
    "GAP_POLICIES",
    "CsvSource",
    "BinanceSource",
    "ParquetSource",
    "FeatherSource",
    "SyntheticSource",
    "infer_interval",
    "Ticks",
    "TickFeed",
    "TardisSource",
    "BinanceWsTickSource",
    "ParquetTickSource",
    "open_bars",
]
