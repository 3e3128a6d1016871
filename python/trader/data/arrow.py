"""Parquet and Feather (Arrow IPC) data sources (names ``"parquet"`` and ``"feather"``).

Columns are found by name, case-insensitively: a timestamp column — the first of ``date``,
``timestamp``, ``ts``, ``time``, ``datetime``, ``open_time`` — and ``open``, ``high``, ``low``,
``close``, ``volume``; other columns are ignored. The timestamp may be an Arrow timestamp of any
unit (tz-aware, e.g. the ``date: timestamp[ns, tz=UTC]`` of the shared Freqtrade-style files, or
naive = UTC), a date, an ISO string or an integer epoch (unit guessed from the magnitude).

Streaming: Parquet is read with ``ParquetFile.iter_batches`` (only the needed columns); Feather is
memory-mapped and read record batch by record batch (large record batches are sliced, zero-copy).
"""

from __future__ import annotations

import abc

import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from trader.data._convert import floats, timestamps_ns
from trader.data._errors import DECODE_ERRORS, detail, guarded
from trader.data._time import parse_interval
from trader.data.bars import infer_interval
from trader.data.feed import BarFeed, Chunk, check_file, suffixes, symbol_from_path
from trader.data.validate import COLUMNS, find_column
from trader.exceptions import DataError

TIMESTAMP_NAMES = ("date", "timestamp", "ts", "time", "datetime", "open_time")
#: Largest raw chunk handed to the feed pipeline (rows).
CHUNK_ROWS = 1 << 20


def _columns(where: str, names: list[str]) -> list[str]:
    """The actual names of the timestamp and OHLCV columns, in that order."""
    return [find_column(where, names, TIMESTAMP_NAMES, "timestamp")] + [find_column(where, names, (c,), c) for c in COLUMNS]


def _chunks(where: str, batches: Iterator[pa.RecordBatch], cols: list[str], state: dict, kind: str) -> Iterator[Chunk]:
    row = 1
    for batch in guarded(where, batches, kind):  # a corrupt page or record batch: DataError naming the file
        for off in range(0, batch.num_rows, CHUNK_ROWS):
            part = batch.slice(off, CHUNK_ROWS)
            ts = timestamps_ns(part.column(cols[0]), where, row, cols[0], state)
            values = [floats(part.column(c), where, row, c) for c in cols[1:]]
            yield Chunk(row, ts, *values)
            row += part.num_rows


class _ArrowSource(abc.ABC):
    """Shared open() of the Arrow-based sources; subclasses say how to list and read batches."""

    name = ""
    description = ""
    suffixes: tuple[str, ...] = ()
    #: What the file holds, for messages ("Parquet data").
    kind = ""

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """By extension."""
        return path is not None and suffixes(path) in self.suffixes

    @abc.abstractmethod
    def _schema_rows(self, where: str) -> tuple[list[str], int]:
        """The file's column names and its row count (read from metadata, not data)."""

    @abc.abstractmethod
    def _batches(self, where: str, cols: list[str]) -> Iterator[pa.RecordBatch]:
        """Record batches of the columns ``cols``, in file order."""

    def open(
        self,
        path: str | os.PathLike | None,
        *,
        symbol: str | None = None,
        start: object = None,
        end: object = None,
        batch_size: int = 1_000_000,
        gap_policy: str = "report",
        interval: str | int | None = None,
        **options: object,
    ) -> BarFeed:
        """Open the file as a :class:`BarFeed`; ``meta["rows"]`` is known before iterating.

        :param interval: the bar interval (``"1m"``...); inferred from the first chunk if omitted.
        """
        if path is None:
            raise DataError(f"{self.name}: a file path is needed")
        if options:
            raise DataError(f"{path}: unknown option(s) for the {self.name} source: {', '.join(options)}")
        where = str(path)
        check_file(where)
        names, rows = self._schema_rows(where)
        cols = _columns(where, names)
        if rows == 0:
            raise DataError(f"{where}: no data rows")
        state: dict = {}
        interval_ns = parse_interval(interval)
        if interval_ns is None:
            first = next(_chunks(where, self._batches(where, cols), cols, state, self.kind))
            interval_ns = infer_interval(first.ts)
        feed = BarFeed(
            source=self.name,
            where=where,
            symbol=symbol or symbol_from_path(where),
            interval_ns=interval_ns,
            chunks=lambda: _chunks(where, self._batches(where, cols), cols, feed.meta, self.kind),
            batch_size=batch_size,
            gap_policy=gap_policy,
            start=start,
            end=end,
            meta={"rows": rows, "ts_unit": state.get("ts_unit"), "columns": cols},
        )
        return feed


class ParquetSource(_ArrowSource):
    """Parquet files of bars (``.parquet``, ``.pq``)."""

    name = "parquet"
    description = "Parquet: date|timestamp|ts + open/high/low/close/volume columns"
    suffixes = (".parquet", ".pq")
    kind = "Parquet data"

    def _schema_rows(self, where: str) -> tuple[list[str], int]:
        try:
            f = pq.ParquetFile(where)
            return list(f.schema_arrow.names), f.metadata.num_rows
        except DECODE_ERRORS as e:
            raise DataError(f"{where}: not a Parquet file ({detail(e)})") from None

    def _batches(self, where: str, cols: list[str]) -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(where) as f:
            yield from f.iter_batches(batch_size=CHUNK_ROWS, columns=cols)


class FeatherSource(_ArrowSource):
    """Feather v2 / Arrow IPC files of bars (``.feather``, ``.arrow``, ``.ipc``), memory-mapped."""

    name = "feather"
    description = "Feather v2 / Arrow IPC (memory-mapped): date|timestamp|ts + open/high/low/close/volume"
    suffixes = (".feather", ".arrow", ".ipc")
    kind = "Feather data"

    def _open(self, where: str) -> ipc.RecordBatchFileReader:
        try:
            return ipc.open_file(pa.memory_map(where, "r"))
        except DECODE_ERRORS as e:
            raise DataError(f"{where}: not a Feather v2 / Arrow IPC file ({detail(e)})") from None

    def _schema_rows(self, where: str) -> tuple[list[str], int]:
        reader = self._open(where)
        try:
            if hasattr(reader, "count_rows"):  # pyarrow >= 16: from the footer, without decompressing
                rows = reader.count_rows()
            else:
                rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        except DECODE_ERRORS as e:
            raise DataError(f"{where}: not a Feather v2 / Arrow IPC file ({detail(e)})") from None
        return list(reader.schema.names), rows

    def _batches(self, where: str, cols: list[str]) -> Iterator[pa.RecordBatch]:
        reader = self._open(where)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
