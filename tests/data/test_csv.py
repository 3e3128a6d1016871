from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from tests.data.conftest import HEADER, good_rows
from trader.cli import main
from trader.data import CsvSource, open_bars
from trader.data import csv as csv_mod
from trader.exceptions import DataError

M = 60_000_000_000


def test_real_generic_csv_gz(shared_data):
    path = shared_data / "klines_1m/nautilus/btc-perp-20211231-20220201_1m.csv.gz"
    assert CsvSource().can_open(path)
    feed = open_bars(path)
    assert feed.source == "csv"
    bars = feed.load()
    ref = pa_csv.read_csv(path)
    assert len(bars) == ref.num_rows == feed.meta["rows"]
    assert np.array_equal(bars.close, ref.column("close").to_numpy())
    assert np.array_equal(bars.ts, ref.column("timestamp").cast("int64").to_numpy())
    assert bars.interval_ns == M and feed.meta["gaps"]["count"] == 0


@pytest.mark.parametrize(("unit", "mult"), [("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)])
def test_epoch_units_by_magnitude(write, unit, mult):
    start_s = 1_700_000_000
    lines = [HEADER] + [f"{(start_s + 60 * i) * 10**9 // mult},1,2,0.5,1.5,3" for i in range(4)]
    feed = open_bars(write(f"e_{unit}.csv", lines))
    bars = feed.load()
    assert feed.meta["ts_unit"] == unit
    assert bars.ts.tolist() == [(start_s + 60 * i) * 10**9 for i in range(4)]


def test_iso_case_insensitive_semicolon_and_extra_columns(write):
    lines = ["Date;Symbol;OPEN;High;low;Close;Volume", "2024-01-01T00:00:00Z;X;1;2;0.5;1.5;3", "2024-01-01 00:01:00;X;1;2;0.5;1.5;3"]
    bars = open_bars(write("iso.csv", lines), symbol="XY").load()
    assert bars.symbol == "XY"
    assert bars.ts.tolist() == [1704067200 * 10**9, 1704067260 * 10**9]


def test_gzip_and_zip(tmp_path):
    text = "\n".join([HEADER, *good_rows(6)]) + "\n"
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    zp = tmp_path / "a.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("a.csv", text)
    a, b = open_bars(gz).load(), open_bars(zp).load()
    assert len(a) == len(b) == 6 and np.array_equal(a.close, b.close)


def test_streaming_across_blocks_and_batches(tmp_path, monkeypatch):
    # many small Arrow blocks and small output batches: results identical to one read
    monkeypatch.setattr(csv_mod, "BLOCK_SIZE", 1 << 10)
    path = tmp_path / "big.csv"
    path.write_text("\n".join([HEADER, *good_rows(3000)]) + "\n")
    feed = open_bars(path, batch_size=250)
    sizes = [len(b) for b in feed.batches()]
    assert sizes == [250] * 12
    ref = pa_csv.read_csv(path)
    assert np.array_equal(feed.load().open, ref.column("open").to_numpy())


def test_duplicate_across_block_boundary(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_mod, "BLOCK_SIZE", 1 << 10)
    rows = good_rows(2000)
    rows[1500] = rows[1499]  # data row 1501 repeats row 1500
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(DataError, match=r"dup.csv: row 1501: duplicate timestamp .*same as row 1500"):
        open_bars(path, batch_size=100).load()


def test_non_numeric_deep_in_file(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_mod, "BLOCK_SIZE", 1 << 10)
    rows = good_rows(2000)
    rows[1733] = rows[1733].replace(",", ",abc,", 1).replace(",abc,", ",", 1).replace(",1", ",x1", 1)
    path = tmp_path / "nn.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(DataError, match=r"nn.csv: row 1734: open 'x1\d+\.0' is not a number"):
        open_bars(path).load()


def test_start_end_filter_stops_reading(write):
    path = write("f.csv", [HEADER, *good_rows(10)])
    t0 = 1_700_000_000_000 * 10**6
    feed = open_bars(path, start=t0 + 2 * M, end=t0 + 5 * M)
    bars = feed.load()
    assert [int(t) for t in bars.ts] == [t0 + k * M for k in (2, 3, 4)]
    assert feed.meta["bars"] == 3


# --- bad input: DataError naming file and row; the CLI exits 2 with one line -----------------

BAD = [
    ("empty.csv", [], r"empty.csv: empty file"),
    ("header_only.csv", [HEADER], r"header_only.csv: no data rows"),
    ("missing_col.csv", ["timestamp,open,high,low,close", "1700000000000,1,2,0.5,1"], r"missing_col.csv: missing volume column"),
    ("no_ts.csv", ["when,open,high,low,close,volume", "1700000000000,1,2,0.5,1,1"], r"no_ts.csv: missing timestamp column"),
    ("nonnum.csv", [HEADER, *good_rows(3), "1700000180000,1,2,abc,1,1"], r"nonnum.csv: row 4: low 'abc' is not a number"),
    ("nan.csv", [HEADER, *good_rows(2), "1700000120000,1,2,0.5,nan,1"], r"nan.csv: row 3: close is NaN or missing"),
    ("blank.csv", [HEADER, *good_rows(2), "1700000120000,1,2,0.5,,1"], r"blank.csv: row 3: close is NaN or missing"),
    ("zero.csv", [HEADER, "1700000000000,0,2,0.5,1,1"], r"zero.csv: row 1: open 0 is not a positive price"),
    ("neg.csv", [HEADER, *good_rows(1), "1700000060000,-1,2,0.5,1,1"], r"neg.csv: row 2: open -1 is not a positive price"),
    ("hilo.csv", [HEADER, *good_rows(16), "1700000960000,101.8,101.5,102.0,101.9,1"], r"hilo.csv: row 17: high 101.5 < low 102"),
    ("unsorted.csv", [HEADER, *good_rows(3)[::-1]], r"unsorted.csv: row 2: timestamp .* is before row 1's"),
    ("dup.csv", [HEADER, *good_rows(2), good_rows(2)[1]], r"dup.csv: row 3: duplicate timestamp"),
    ("fields.csv", [HEADER, *good_rows(2), "1700000120000,1,2,0.5,1"], r"fields.csv: row 3: expected 6 fields, got 5"),
    ("badts.csv", [HEADER, *good_rows(2), "yesterday,1,2,0.5,1,1"], r"badts.csv: row 3: timestamp 'yesterday' is not a date/time or an epoch number"),
    ("nope.csv", None, r"nope.csv: no such file"),
]


@pytest.mark.parametrize(("name", "lines", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_row(tmp_path, write, name, lines, message):
    path = tmp_path / name if lines is None else write(name, lines)
    with pytest.raises(DataError, match=message):
        open_bars(path).load()


@pytest.mark.parametrize(("name", "lines", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_cli_exit_2_one_line(tmp_path, write, capsys, name, lines, message):
    path = tmp_path / name if lines is None else write(name, lines)
    with pytest.raises(SystemExit) as e:
        main(["data", "inspect", str(path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err


def test_cli_subprocess_bad_file(write):
    path = write("hilo.csv", [HEADER, "1700000000000,101.8,101.5,102.0,101.9,1"])
    proc = subprocess.run([sys.executable, "-c", "import sys; from trader.cli import run; run(sys.argv[1:])", "data", "inspect", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {path}: row 1: high 101.5 < low 102"]
