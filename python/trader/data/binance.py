"""The Binance public-data kline CSV source (name ``"binance"``).

Layout (https://github.com/binance/binance-public-data): 12 fields per line — open_time, open,
high, low, close, volume, close_time, quote_volume, trades, taker_buy_base, taker_buy_quote,
ignore — read by position. Variants handled:

- with or without a header line (a first line whose first field is not a number is a header);
- ``open_time`` as an epoch in **ms or µs** (Binance switched its spot files to µs in 2025): the
  unit is detected per file from the magnitude of the first value (s and ns are accepted too);
- ``open_time`` as a date/time string (e.g. the ``Timestamp`` column of
  ``klines_1m/gokseltokur/*.csv``, naive = UTC): such files are read by this source too (they
  also open with ``--source csv``, which finds the columns by name);
- ``.csv``, ``.csv.gz`` and the ``.zip`` archives Binance publishes (one CSV inside).

``can_open`` answers True only for files whose first line has exactly 12 fields and is either
numeric (no header) or a header whose fields 2–6 are open, high, low, close, volume.
"""

from __future__ import annotations

import os
from pathlib import Path

from trader.data.csv import CSV_SUFFIXES, CsvFileSource, CsvLayout, first_line, is_number, sniff_delimiter, split_fields
from trader.data.feed import suffixes
from trader.exceptions import DataError
from trader.inputs import printable

FIELDS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "trades", "taker_buy_base", "taker_buy_quote", "ignore",
)


def binance_layout(path: str, line: str) -> CsvLayout:
    """The layout of a Binance kline file from its first line; DataError if it is not one."""
    if not line:
        raise DataError(f"{path}: empty file: no data rows")
    delimiter = sniff_delimiter(line)
    fields = [f.strip() for f in split_fields(line, delimiter)]
    if len(fields) != len(FIELDS):
        raise DataError(f"{path}: row 1: expected the 12 fields of a Binance kline file, got {len(fields)}")
    has_header = not is_number(fields[0])
    if has_header and [f.lower() for f in fields[1:6]] != list(FIELDS[1:6]):
        raise DataError(f"{path}: header: fields 2-6 must be open, high, low, close, volume (found {printable(', '.join(fields[1:6]), 160)})")
    names = tuple(fields) if has_header else FIELDS
    return CsvLayout(delimiter, has_header, len(FIELDS), 0, (1, 2, 3, 4, 5), names)


class BinanceSource(CsvFileSource):
    """Binance public-data kline CSV (12 columns, header optional, ms/µs/datetime open times)."""

    name = "binance"
    description = "Binance public-data kline CSV: 12 columns, with or without header, ms or µs epochs; gz/zip"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """A CSV-like extension, and (if the file exists) a first line in the Binance layout."""
        if path is None or suffixes(path) not in CSV_SUFFIXES:
            return False
        if not Path(path).is_file():
            return True
        try:
            binance_layout(str(path), first_line(path))
        except DataError:
            return False
        return True

    def layout(self, where: str, line: str) -> CsvLayout:
        """Binance's 12-column kline layout (``meta["ts_unit"]`` then says ms or us)."""
        return binance_layout(where, line)
