from __future__ import annotations

import zipfile

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from trader.data import BinanceSource, CsvSource, open_bars
from trader.exceptions import DataError

HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote,ignore"


def test_real_no_header_ms(shared_data):
    path = shared_data / "klines_1m/nautilus/ADABTC-1m-2021-11-27.csv"
    assert BinanceSource().can_open(path) and not CsvSource().can_open(path.with_suffix(".feather"))
    feed = open_bars(path)
    bars = feed.load()
    assert feed.source == "binance" and feed.meta["ts_unit"] == "ms" and not feed.meta["has_header"]
    ref = pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(autogenerate_column_names=True))
    assert np.array_equal(bars.ts, ref.column("f0").to_numpy() * 10**6)
    assert np.array_equal(bars.high, ref.column("f2").to_numpy())
    assert bars.symbol == "ADABTC" and bars.interval_ns == 60 * 10**9


def test_real_header_with_datetime_open_time(shared_data):
    path = next((shared_data / "klines_1m/gokseltokur").glob("*.csv"))
    feed = open_bars(path)
    bars = feed.load()
    assert feed.source == "binance" and feed.meta["has_header"] and feed.meta["ts_unit"] == "datetime"
    assert len(bars) == 1441 and bars.ts[0] == np.datetime64("2020-12-01T00:00", "ns").astype(np.int64)
    # the same file read by name through the generic source gives the same bars
    same = open_bars(path, source="csv").load()
    assert np.array_equal(same.ts, bars.ts) and np.array_equal(same.close, bars.close)


def _rows(unit_mult: int) -> list[str]:
    out = []
    for i in range(5):
        t = (1_735_689_600_000 + i * 60_000) * unit_mult
        p = 100 + i
        out.append(f"{t},{p},{p + 1},{p - 1},{p},{10},{t + 59_999 * unit_mult},1000,5,4,400,0")
    return out


def test_ms_and_us_give_the_same_bars(write):
    ms = open_bars(write("BTCUSDT-1m-2025-01-01.csv", _rows(1)))
    us = open_bars(write("BTCUSDT-1m-2025-01-02.csv", _rows(1000)))
    a, b = ms.load(), us.load()
    assert ms.meta["ts_unit"] == "ms" and us.meta["ts_unit"] == "us"
    assert np.array_equal(a.ts, b.ts) and a.ts[0] == 1_735_689_600_000 * 10**6
    assert a.symbol == "BTCUSDT"


def test_header_and_zip(write, tmp_path):
    with_header = open_bars(write("h.csv", [HEADER, *_rows(1)])).load()
    assert len(with_header) == 5
    zp = tmp_path / "BTCUSDT-1m-2025-01.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("BTCUSDT-1m-2025-01.csv", "\n".join(_rows(1000)) + "\n")
    feed = open_bars(zp)
    assert feed.source == "binance" and np.array_equal(feed.load().ts, with_header.ts)


def test_binance_errors(write):
    with pytest.raises(DataError, match=r"k.csv: row 1: expected the 12 fields"):
        BinanceSource().open(write("k.csv", ["1,2,3"]))
    rows = _rows(1)
    rows[3] = rows[3].replace(",103,104,", ",103,99,", 1)  # high 99 < low 102
    with pytest.raises(DataError, match=r"bad.csv: row 4: high 99 < low 102"):
        open_bars(write("bad.csv", rows)).load()
    with pytest.raises(DataError, match=r"hb.csv: row 3: expected 12 fields, got 11"):
        open_bars(write("hb.csv", [HEADER, *_rows(1)[:2], _rows(1)[2].rsplit(",", 1)[0]])).load()
