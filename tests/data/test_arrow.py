from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests._data import kline_files
from trader.data import open_bars
from trader.exceptions import DataError

GAPPY = "klines_long/nic_TradingStrategyGA/BTC_USDT-1h.feather"
H = 3600 * 10**9


def test_every_real_feather_file(shared_data):
    files = [p for p in kline_files(shared_data) if p.suffix == ".feather"]
    assert len(files) >= 9
    for path in files:
        feed = open_bars(path)
        bars = feed.load()
        table = feather.read_table(path)
        assert feed.source == "feather" and len(bars) == table.num_rows == feed.meta["rows"]
        assert np.array_equal(bars.ts, table.column("date").cast(pa.int64()).to_numpy())
        for c in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(bars, c), table.column(c).to_numpy()), (path, c)


def test_parquet_from_feather(shared_data, tmp_path):
    src = shared_data / "klines_1m/0g_trading/BTC_USDT-1m.feather"
    table = feather.read_table(src)
    out = tmp_path / "BTC_USDT-1m.parquet"
    pq.write_table(table, out, row_group_size=10_000)
    feed = open_bars(out, batch_size=7_000)
    sizes = [len(b) for b in feed.batches()]
    assert feed.source == "parquet" and sum(sizes) == table.num_rows and set(sizes[:-1]) == {7_000}
    assert np.array_equal(feed.load().close, open_bars(src).load().close)


def test_parquet_epoch_ms_and_timestamp_name(tmp_path):
    t = pa.table({"Timestamp": pa.array([1_700_000_000_000 + 60_000 * i for i in range(3)], pa.int64()),
                  "Open": [1.0, 1, 1], "High": [2.0, 2, 2], "Low": [0.5, 0.5, 0.5], "Close": [1.5, 1.5, 1.5], "Volume": [1.0, 1, 1]})
    pq.write_table(t, tmp_path / "x.parquet")
    feed = open_bars(tmp_path / "x.parquet")
    assert feed.load().ts[0] == 1_700_000_000_000 * 10**6 and feed.meta["ts_unit"] == "ms"


def test_arrow_bad_input(tmp_path):
    t = pa.table({"date": pa.array([0, 60, 60], pa.timestamp("s")), "open": [1.0, 1, 1], "high": [2.0, 2, 2],
                  "low": [0.5, 0.5, 0.5], "close": [1.5, 1.5, 1.5], "volume": [1.0, 1, 1]})
    feather.write_feather(t, tmp_path / "dup.feather")
    with pytest.raises(DataError, match=r"dup.feather: row 3: duplicate timestamp"):
        open_bars(tmp_path / "dup.feather").load()
    feather.write_feather(t.drop_columns(["volume"]), tmp_path / "nov.feather")
    with pytest.raises(DataError, match=r"nov.feather: missing volume column"):
        open_bars(tmp_path / "nov.feather")
    feather.write_feather(t.slice(0, 0), tmp_path / "empty.feather")
    with pytest.raises(DataError, match=r"empty.feather: no data rows"):
        open_bars(tmp_path / "empty.feather")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"junk.parquet: not a Parquet file"):
        open_bars(tmp_path / "junk.parquet")


def test_gaps_report_finds_28(shared_data):
    feed = open_bars(shared_data / GAPPY, batch_size=5_000)
    n = sum(len(b) for b in feed.batches())
    g = feed.meta["gaps"]
    assert n == feed.meta["rows"] == 58_419
    assert g["count"] == 28 and g["policy"] == "report" and len(g["first"]) == 10
    ts = feather.read_table(shared_data / GAPPY).column("date").cast(pa.int64()).to_numpy()
    steps = np.diff(ts)
    assert g["missing_bars"] == int(((steps[steps > H] - 1) // H).sum())
    assert g["largest_ns"] == int(steps.max())
    first = g["first"][0]
    assert ts[first["row"] - 1] - ts[first["row"] - 2] > H


def test_gaps_error(shared_data):
    with pytest.raises(DataError, match=r"BTC_USDT-1h.feather: row 494: gap of 7h .*gap policy is 'error'"):
        open_bars(shared_data / GAPPY, gap_policy="error").load()


def test_gaps_fill(shared_data):
    feed = open_bars(shared_data / GAPPY, gap_policy="fill", batch_size=10_000)
    bars = feed.load()
    raw = open_bars(shared_data / GAPPY).load()
    g = feed.meta["gaps"]
    assert g["count"] == 28 and g["filled_bars"] == g["missing_bars"]
    assert len(bars) == len(raw) + g["missing_bars"]
    assert np.all(np.diff(bars.ts) == H)
    added = ~np.isin(bars.ts, raw.ts)
    assert added.sum() == g["missing_bars"]
    assert np.all(bars.volume[added] == 0)
    prev_close = bars.close[np.flatnonzero(added) - 1]
    assert np.all(bars.open[added] == bars.high[added]) and np.all(bars.low[added] == bars.close[added])
    # every filled bar repeats the close of the last real bar before it
    last_real = np.maximum.accumulate(np.where(~added, np.arange(len(bars)), 0))
    assert np.array_equal(bars.close[added], raw.close[np.searchsorted(raw.ts, bars.ts[last_real[added]])])
    assert np.all(prev_close > 0)
