"""The generic OHLCV CSV data source, and the streaming CSV reader it shares with the Binance one.

Layout read by :class:`CsvSource` (name ``"csv"``):

- a header line naming a timestamp column — the first of ``timestamp``, ``time``, ``date``,
  ``datetime``, ``open_time`` (case-insensitive) — and ``open``, ``high``, ``low``, ``close``,
  ``volume`` (case-insensitive); other columns are ignored;
- timestamps as ISO date/times (naive means UTC; ``Z``/offsets honoured) or integer epochs in s,
  ms, µs or ns (the unit is guessed per file from the magnitude of the first value);
- delimiter ``,`` (``;`` or tab are sniffed from the header); ``.gz``/``.bz2`` compressed files
  and ``.zip`` archives holding one CSV are read transparently.

Files are read in blocks by ``pyarrow.csv.open_csv`` (streaming), never whole. A value that is not a
number makes Arrow stop; the file is then re-scanned from the start to name the exact row.
"""

from __future__ import annotations

import abc
import bz2
import codecs
import csv as _csv
import gzip
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import pyarrow as pa
import pyarrow.csv as pa_csv

from trader.data._convert import floats, timestamps_ns
from trader.data._errors import DECODE_ERRORS, GuardedReader, decode_error, shown
from trader.data._time import parse_interval
from trader.data.bars import infer_interval
from trader.data.feed import BarFeed, Chunk, check_file, suffixes, symbol_from_path
from trader.data.validate import COLUMNS, find_column, row_error
from trader.exceptions import DataError

TIMESTAMP_NAMES = ("timestamp", "time", "date", "datetime", "open_time")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".txt", ".tsv", ".zip", ".txt.gz", ".tsv.gz")
#: Bytes per block handed to Arrow's streaming reader.
BLOCK_SIZE = 8 << 20


@dataclass(frozen=True)
class CsvLayout:
    """Where the columns are: the delimiter, whether a header line comes first, field count and
    the 0-based indices of the timestamp and OHLCV fields (``names`` are only for messages)."""

    delimiter: str
    has_header: bool
    n_fields: int
    ts_index: int
    ohlcv_index: tuple[int, int, int, int, int]
    names: tuple[str, ...]


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a (possibly gz/bz2-compressed or zipped) text file for reading; a UTF-8 byte order
    mark (what Excel writes first) is skipped."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="replace", newline="")


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a (possibly gz/bz2-compressed or zipped) file as a decompressed binary stream.

    A truncated or corrupt file raises a :class:`DataError` naming it, when opened or while read
    (:class:`trader.data._errors.GuardedReader`), whatever the compression."""
    name = str(path).lower()
    try:
        if name.endswith(".gz"):
            raw: IO[bytes] = gzip.open(path, "rb")
        elif name.endswith(".bz2"):
            raw = bz2.open(path, "rb")
        elif name.endswith(".zip"):
            archive = zipfile.ZipFile(path)
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                archive.close()
                raise DataError(f"{path}: a zip archive must hold exactly one CSV file, found {len(members)}")
            raw = archive.open(members[0])
        else:
            raw = open(path, "rb")
    except DECODE_ERRORS as e:
        raise decode_error(str(path), e) from None
    return io.BufferedReader(GuardedReader(raw, str(path)), buffer_size=1 << 16)


def first_line(path: str | os.PathLike) -> str:
    """The first non-empty line of a text file ("" if there is none), without a byte order mark."""
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                return line.strip("\r\n")
    return ""


#: Bytes of a text file checked for binary content before it is parsed.
SNIFF_BYTES = 1 << 16


def check_text(path: str | os.PathLike) -> None:
    """A :class:`DataError` if the (decompressed) start of ``path`` is not UTF-8 text: a NUL byte or
    an invalid UTF-8 sequence in its first :data:`SNIFF_BYTES` bytes (a binary file named .csv is
    refused here, before its bytes can reach a message)."""
    with open_binary(path) as fh:
        head = fh.read(SNIFF_BYTES)
    nul = head.find(b"\0")
    if nul >= 0:
        raise DataError(f"{path}: not a text file (byte {nul} is NUL): expected UTF-8 CSV text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file (byte {e.start} is not UTF-8): expected UTF-8 CSV text") from None


def sniff_delimiter(line: str) -> str:
    """``,`` unless ``;`` or a tab is more frequent in ``line``."""
    return max((",", ";", "\t"), key=lambda d: (line.count(d), d == ","))


def split_fields(line: str, delimiter: str) -> list[str]:
    """The fields of one CSV line (quotes honoured)."""
    return next(_csv.reader([line], delimiter=delimiter), [])


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def generic_layout(path: str, line: str) -> CsvLayout:
    """The layout of a generic OHLCV CSV from its header line (missing columns → DataError)."""
    if not line:
        raise DataError(f"{path}: empty file: no data rows")
    delimiter = sniff_delimiter(line)
    names = [f.strip() for f in split_fields(line, delimiter)]
    if names and all(is_number(n) for n in names if n):
        raise DataError(
            f"{path}: no header line (the generic CSV source needs one naming timestamp, open, high, low, close, "
            "volume; a 12-column Binance kline file is read by the 'binance' source)"
        )
    ts = find_column(path, names, TIMESTAMP_NAMES, "timestamp")
    idx = [names.index(find_column(path, names, (c,), c)) for c in COLUMNS]
    return CsvLayout(delimiter, True, len(names), names.index(ts), tuple(idx), tuple(names))  # type: ignore[arg-type]


def stream_csv(path: str, layout: CsvLayout, state: dict, block_size: int | None = None) -> Iterator[Chunk]:
    """Stream a CSV file as raw :class:`Chunk` objects, one per Arrow block.

    ``state`` collects what is learnt on the way (``ts_unit``) and is shared with the feed's meta.
    """
    names = [f"c{i}" for i in range(layout.n_fields)]
    wanted = [layout.ts_index, *layout.ohlcv_index]
    convert = pa_csv.ConvertOptions(
        include_columns=[names[i] for i in wanted],
        column_types={names[i]: pa.float64() for i in layout.ohlcv_index},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    read = pa_csv.ReadOptions(block_size=block_size or BLOCK_SIZE, skip_rows=int(layout.has_header), column_names=names)
    parse = pa_csv.ParseOptions(delimiter=layout.delimiter)
    ts_name = layout.names[layout.ts_index]
    row = 1
    source = open_binary(path)
    try:
        try:
            reader = pa_csv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as e:
            raise diagnose(path, layout, row, None, e) from None
        ts_type = reader.schema.field(names[layout.ts_index]).type
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as e:
                raise diagnose(path, layout, row, ts_type, e) from None
            n = batch.num_rows
            if n == 0:
                continue
            ts = timestamps_ns(batch.column(0), path, row, ts_name, state)
            cols = [floats(batch.column(1 + k), path, row, layout.names[i]) for k, i in enumerate(layout.ohlcv_index)]
            yield Chunk(row, ts, *cols)
            row += n
    finally:
        source.close()


def diagnose(path: str, layout: CsvLayout, near_row: int, ts_type: pa.DataType | None, err: Exception) -> DataError:
    """Re-scan a CSV file that Arrow refused and name the first bad row and value.

    Blank lines are not counted (as Arrow skips them). Falls back to Arrow's message.
    """
    ts_int = ts_type is not None and pa.types.is_integer(ts_type)
    ts_time = ts_type is not None and (pa.types.is_timestamp(ts_type) or pa.types.is_date(ts_type))
    with open_text(path) as fh:
        reader = _csv.reader(fh, delimiter=layout.delimiter)
        header_pending = layout.has_header
        n = 0
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header_pending:
                header_pending = False
                continue
            n += 1
            if len(fields) != layout.n_fields:
                return row_error(path, n, f"expected {layout.n_fields} fields, got {len(fields)}")
            for i in layout.ohlcv_index:
                text = fields[i].strip()
                if not is_number(text):
                    what = "is missing" if not text else f"{shown(text)} is not a number"
                    return row_error(path, n, f"{layout.names[i]} {what}")
            text = fields[layout.ts_index].strip()
            if ts_int and not text.lstrip("-").isdigit():
                return row_error(path, n, f"{layout.names[layout.ts_index]} {shown(text)} is not an integer epoch like the rows before it")
            if ts_time and not _is_datetime(text):
                return row_error(path, n, f"{layout.names[layout.ts_index]} {shown(text)} is not a date/time like the rows before it")
    return DataError(f"{path}: near row {near_row}: {str(err).splitlines()[0]}")


def _is_datetime(text: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def peek_interval(path: str, layout: CsvLayout, state: dict) -> int:
    """The interval inferred from the first block of the file; DataError if there are no rows."""
    for chunk in stream_csv(path, layout, state, block_size=min(BLOCK_SIZE, 1 << 20)):
        return infer_interval(chunk.ts)
    raise DataError(f"{path}: no data rows (the file has only a header)")


def make_csv_feed(
    source: str,
    path: str,
    layout: CsvLayout,
    *,
    symbol: str | None,
    start: object,
    end: object,
    batch_size: int,
    gap_policy: str,
    interval: str | int | None,
    meta: dict | None = None,
) -> BarFeed:
    """A :class:`BarFeed` over a CSV file of the given layout (used by the csv and binance sources)."""
    state: dict = {}
    interval_ns = parse_interval(interval)
    peeked = peek_interval(path, layout, state)
    feed = BarFeed(
        source=source,
        where=path,
        symbol=symbol or symbol_from_path(path),
        interval_ns=interval_ns if interval_ns is not None else peeked,
        chunks=lambda: stream_csv(path, layout, feed.meta),
        batch_size=batch_size,
        gap_policy=gap_policy,
        start=start,
        end=end,
        meta={"ts_unit": state.get("ts_unit"), "has_header": layout.has_header, **(meta or {})},
    )
    return feed


class CsvFileSource(abc.ABC):
    """Shared ``open()`` of the text-file sources: they differ only in how they read the layout
    (columns, header, epoch unit) from the file's first line (:meth:`layout`)."""

    name = ""
    description = ""

    @abc.abstractmethod
    def layout(self, where: str, line: str) -> CsvLayout:
        """The file's layout from its first line; ``DataError`` naming the file if it is not one."""

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
        """Open the file as a :class:`BarFeed`.

        :param interval: the bar interval (``"1m"``...); inferred from the first block if omitted.
        """
        if path is None:
            raise DataError(f"{self.name}: a file path is needed")
        if options:
            raise DataError(f"{path}: unknown option(s) for the {self.name} source: {', '.join(options)}")
        where = str(path)
        check_file(where)
        check_text(where)
        return make_csv_feed(
            self.name, where, self.layout(where, first_line(where)), symbol=symbol, start=start, end=end,
            batch_size=batch_size, gap_policy=gap_policy, interval=interval,
        )


class CsvSource(CsvFileSource):
    """Generic OHLCV CSV with a header line (see the module docs for the layout)."""

    name = "csv"
    description = "OHLCV CSV with a header (timestamp|time|date|datetime|open_time + open/high/low/close/volume); gz/bz2/zip"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """A CSV-like extension. (The Binance source, tried first, claims the 12-column kline
        layout; any other CSV comes here, so a broken header gets a precise error from :meth:`open`.)"""
        return path is not None and suffixes(path) in CSV_SUFFIXES

    def layout(self, where: str, line: str) -> CsvLayout:
        """A header naming a timestamp column and open/high/low/close/volume."""
        return generic_layout(where, line)
