"""Built-in data sources: Binance kline CSV, generic OHLCV CSV, Parquet, Feather, synthetic.

Order matters for :func:`trader.plugins.find_data_source` (first ``can_open`` wins): the Binance
layout is tried before the generic CSV one (a file both can read gives the same bars).
"""

from __future__ import annotations

from trader import hookimpl
from trader.data import BinanceSource, CsvSource, FeatherSource, ParquetSource, SyntheticSource


@hookimpl
def trader_data_sources() -> list:
    """The five built-in data sources."""
    return [BinanceSource(), CsvSource(), ParquetSource(), FeatherSource(), SyntheticSource()]
