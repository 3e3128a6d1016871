"""Broken files: every loader turns a truncated or corrupt file into one DataError line naming it
(trader.data._errors); a UTF-8 byte order mark is accepted; binary content never reaches a message."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests.data.conftest import HEADER, good_rows
from trader.data import open_bars
from trader.inputs import printable
from trader.exceptions import DataError

#: Enough rows that the compressed files span several blocks of every decoder.
ROWS = 40_000


def _csv_bytes(n: int = ROWS) -> bytes:
    return ("\n".join([HEADER, *good_rows(n)]) + "\n").encode()


def _table(n: int = ROWS) -> pa.Table:
    # Repetitive values: every page is compressed, so a flipped byte breaks the decoder (random
    # floats would be stored raw, and a flip would only change numbers).
    close = 10_000 + (np.arange(n) % 100) * 0.5
    return pa.table({
        "date": pa.array(1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 60_000_000_000, pa.timestamp("ns", tz="UTC")),
        "open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(n, 1.5),
    })


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bars.csv", data)
    return buf.getvalue()


def _flip(data: bytes, at: float, n: int = 64) -> bytes:
    """``data`` with ``n`` bytes at fraction ``at`` replaced by other bytes."""
    b = bytearray(data)
    i = int(len(b) * at)
    b[i : i + n] = bytes((x ^ 0x5A) for x in b[i : i + n])
    return bytes(b)


def _flip_frame(data: bytes, magic: bytes, nth: int = 2) -> bytes:
    """``data`` with the ``nth`` compressed frame's magic number (LZ4 ``04224d18``, zstd
    ``28b52ffd``) flipped: the decoder must refuse that frame."""
    i = -1
    for _ in range(nth + 1):
        i = data.index(magic, i + 1)
    return data[:i] + bytes(x ^ 0x5A for x in magic) + data[i + len(magic):]


LZ4, ZSTD = bytes.fromhex("04224d18"), bytes.fromhex("28b52ffd")


def _parquet(compression: str = "snappy") -> bytes:
    buf = io.BytesIO()
    pq.write_table(_table(), buf, compression=compression)
    return buf.getvalue()


def _feather(compression: str = "lz4") -> bytes:
    buf = io.BytesIO()
    feather.write_feather(_table(), buf, compression=compression)
    return buf.getvalue()


BROKEN = {
    "truncated_csv_gz": ("bars.csv.gz", lambda: gzip.compress(_csv_bytes())[:30_000], "truncated"),
    "corrupt_csv_gz": ("bars.csv.gz", lambda: _flip(gzip.compress(_csv_bytes()), 0.5), "corrupt compressed data"),
    "plain_text_named_gz": ("bars.csv.gz", _csv_bytes, "not a gzip file"),
    "truncated_csv_bz2": ("bars.csv.bz2", lambda: bz2.compress(_csv_bytes())[:20_000], "truncated"),
    "corrupt_csv_bz2": ("bars.csv.bz2", lambda: _flip(bz2.compress(_csv_bytes()), 0.5), "corrupt compressed data"),
    "not_a_zip": ("bars.zip", lambda: b"PK this is not an archive", "not a readable zip archive"),
    "truncated_zip": ("bars.zip", lambda: _zip(_csv_bytes())[:20_000], "not a readable zip archive"),
    "binary_csv": ("bars.csv", lambda: bytes(range(256)) * 50, "not a text file"),
    "latin1_csv": ("bars.csv", lambda: "timestamp,open,high,low,close,volume,caf\xe9\n".encode("latin-1") * 3, "not a text file"),
    "binary_csv_gz": ("bars.csv.gz", lambda: gzip.compress(bytes(range(256)) * 50), "not a text file"),
    "truncated_binance_kline_gz": ("ADABTC-1m.csv.gz",
                                   lambda: gzip.compress(b"".join(b"%d,1,2,0.5,1.5,10,%d,1,1,1,1,0\n" % (1638000000000 + i * 60000, 1638000000000 + i * 60000 + 59999)
                                                                  for i in range(ROWS)))[:40_000], "truncated"),
    "truncated_parquet": ("bars.parquet", lambda: _parquet()[:5_000], "not a Parquet file"),
    "corrupt_parquet_snappy_page": ("bars.parquet", lambda: _flip(_parquet(), 0.3, 400), "corrupt Parquet data"),
    "corrupt_parquet_gzip_page": ("bars.parquet", lambda: _flip(_parquet("gzip"), 0.3, 400), "corrupt Parquet data"),
    "corrupt_parquet_zstd_frame": ("bars.parquet", lambda: _flip_frame(_parquet("zstd"), ZSTD), "corrupt Parquet data"),
    "random_bytes_parquet": ("bars.parquet", lambda: bytes(range(256)) * 20, "not a Parquet file"),
    "truncated_feather": ("bars.feather", lambda: _feather()[:5_000], "not a Feather v2 / Arrow IPC file"),
    "corrupt_feather_lz4_frame": ("bars.feather", lambda: _flip_frame(_feather(), LZ4), "corrupt Feather data"),
    "corrupt_feather_zstd_frame": ("bars.feather", lambda: _flip_frame(_feather("zstd"), ZSTD), "corrupt Feather data"),
    # a flip inside a block that still decodes: garbage values, refused by validation on their row
    "corrupt_feather_values": ("bars.feather", lambda: _flip(_feather(), 0.3, 400), "row "),
    "random_bytes_feather": ("bars.feather", lambda: bytes(range(256)) * 20, "not a Feather v2 / Arrow IPC file"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_is_one_data_error_naming_it(tmp_path: Path, case: str):
    name, make, problem = BROKEN[case]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(DataError) as e:
        open_bars(path).load()
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and problem in msg, msg
    assert msg.isprintable() and len(msg) < len(str(path)) + 300, msg


def test_the_good_versions_of_those_files_load(tmp_path: Path):
    """The same builders, unbroken, give the same bars (so the cases above test the breakage)."""
    for name, data in (("a.csv.gz", gzip.compress(_csv_bytes())), ("b.csv.bz2", bz2.compress(_csv_bytes())), ("c.zip", _zip(_csv_bytes())),
                       ("d.parquet", _parquet()), ("e.feather", _feather()), ("f.parquet", _parquet("zstd")), ("g.feather", _feather("zstd"))):
        (tmp_path / name).write_bytes(data)
        assert len(open_bars(tmp_path / name).load()) == ROWS


@pytest.mark.parametrize("name", ["bom.csv", "bom.csv.gz", "bom.zip"])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path, name: str):
    data = b"\xef\xbb\xbf" + _csv_bytes(10)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else _zip(data) if name.endswith(".zip") else data)
    feed = open_bars(path)
    assert feed.source == "csv" and len(feed.load()) == 10


def test_a_byte_order_mark_before_a_binance_kline_file(tmp_path: Path):
    path = tmp_path / "ADABTC-1m-2021-11-27.csv"
    rows = [f"{1638000000000 + i * 60000},1,2,0.5,1.5,10,{1638000000000 + i * 60000 + 59999},1,1,1,1,0" for i in range(5)]
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(rows) + "\n").encode())
    feed = open_bars(path)
    assert feed.source == "binance" and len(feed.load()) == 5 and feed.meta["ts_unit"] == "ms"


def test_a_header_with_control_characters_is_escaped(tmp_path: Path):
    path = tmp_path / "odd.csv"
    path.write_text("t\x1b[31mime,open,high,low,close,volume\n1,2,3,1,2,1\n")
    with pytest.raises(DataError, match=r"missing timestamp column") as e:
        open_bars(path)
    assert "\\x1b[31m" in str(e.value) and str(e.value).isprintable()


def test_a_directory_is_named_as_such(tmp_path: Path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match=r"folder: is a directory, not a data file"):
        open_bars(tmp_path / "folder")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match=r"folder.csv: is a directory"):
        open_bars(tmp_path / "folder.csv")


def test_printable_escapes_and_caps():
    assert printable("a\x00b\nc\ufeff") == "a\\x00b\\nc\\ufeff"
    assert printable("x" * 1000) == "x" * 297 + "..."
    assert printable("é ok") == "é ok"
