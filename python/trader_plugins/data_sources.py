"""Built-in data sources: Binance kline CSV, tick sources (Tardis CSV, Binance WebSocket
recordings, Parquet ticks), generic OHLCV CSV, Parquet, Feather, synthetic.

Order matters for :func:`trader.plugins.find_data_source` (first ``can_open`` wins): the Binance
layout is tried before the generic CSV one (a file both can read gives the same bars); the tick
sources sniff their files' headers/columns and come before the generic CSV and Parquet ones. The
catalog source (``catalog:VENUE/MARKET/SYMBOL/INTERVAL`` specs, :mod:`trader.data.catalog`) claims
only its own prefix (no other source claims it) and comes last.
"""

from __future__ import annotations

from trader import hookimpl
from trader.data import (
    BinanceSource,
    BinanceWsTickSource,
    CsvSource,
    FeatherSource,
    ParquetSource,
    ParquetTickSource,
    SyntheticSource,
    TardisSource,
)
from trader.data.catalog import CatalogSource


@hookimpl
def trader_data_sources() -> list:
    """The built-in data sources (bars and ticks)."""
    return [
        BinanceSource(),
        TardisSource(),
        BinanceWsTickSource(),
        ParquetTickSource(),
        CsvSource(),
        ParquetSource(),
        FeatherSource(),
        SyntheticSource(),
        CatalogSource(),
    ]
