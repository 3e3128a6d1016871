"""Tick data sources: Tardis CSV, Binance WebSocket recordings and Parquet ticks (values hand-read
from the files), through the plugin registry and ``trader data inspect``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from trader.cli import cli, main
from trader.exceptions import DataError
from trader.plugins import find_data_source


@pytest.fixture(scope="module")
def nautilus(shared_data: Path) -> Path:
    return shared_data / "trades" / "nautilus"


def test_tardis_trades(nautilus: Path) -> None:
    path = nautilus / "tardis_trades.csv.gz"
    src = find_data_source(str(path))
    assert src.name == "tardis"
    feed = src.open(str(path))
    t = feed.load()
    assert (t.kind, len(t)) == ("trades", 9_999)
    # binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132
    assert (t["ts_event"][0], t["ts_local"][0], t["id"][0], t["side"][0], t["price"][0], t["size"][0]) == (
        1582329602111000000, 1582329602418379000, 42377944, 1, 9682.0, 0.132)
    # binance-futures,BTCUSDT,1582337147728000,1582337147852384,42387942,sell,9666.84,0.07
    assert (t["ts_event"][-1], t["id"][-1], t["side"][-1], t["price"][-1], t["size"][-1]) == (
        1582337147728000000, 42387942, 2, 9666.84, 0.07)
    assert t["ts_event"].dtype == np.int64 and t["side"].dtype == np.uint8
    assert feed.meta["rows"] == 9_999 and feed.meta["first"].startswith("2020-02-22")


def test_tardis_quotes_and_time_filter(nautilus: Path) -> None:
    path = str(nautilus / "tardis_quotes.csv.gz")
    q = find_data_source(path).open(path).load()
    assert (q.kind, len(q)) == ("quotes", 9_999)
    # ...,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67
    assert (q["ask_size"][0], q["ask_price"][0], q["bid_price"][0], q["bid_size"][0]) == (0.84, 9682.0, 9681.92, 0.67)
    # ...,1582329827061000,1582329827181582,0.031,9672.09,9671.19,0.012
    assert (q["ask_size"][-1], q["ask_price"][-1], q["bid_price"][-1], q["bid_size"][-1]) == (0.031, 9672.09, 9671.19, 0.012)
    part = find_data_source(path).open(path, start=1582329700000000000, batch_size=1000)
    batches = list(part.batches())
    assert all(len(b) <= 1000 for b in batches)
    assert sum(len(b) for b in batches) == part.meta["ticks"] < 9_999
    assert batches[0]["ts_event"][0] >= 1582329700000000000


def test_binance_ws_trades_and_quotes(shared_data: Path) -> None:
    path = str(shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz")
    src = find_data_source(path)
    assert src.name == "binance_ws"
    t = src.open(path).load()
    q = src.open(path, stream="quotes").load()
    assert (len(t), len(q)) == (21_313, 66_089)
    # first trade line: "p":"61800.30","q":"0.006","m":false,"t":5266583935,"T":1723161256322
    assert (t["price"][0], t["size"][0], t["side"][0], t["id"][0], t["ts_event"][0]) == (61800.3, 0.006, 1, 5266583935, 1723161256322000000)
    # first bookTicker line: "b":"61800.20","B":"2.507","a":"61800.30","A":"2.510"
    assert (q["bid_price"][0], q["bid_size"][0], q["ask_price"][0], q["ask_size"][0]) == (61800.2, 2.507, 61800.3, 2.51)
    assert bool(np.all(q["bid_price"] < q["ask_price"]))
    with pytest.raises(DataError, match="stream"):
        src.open(path, stream="depth")


def test_parquet_ticks(nautilus: Path) -> None:
    tp = str(nautilus / "btcusdt-trades.parquet")
    src = find_data_source(tp)
    assert src.name == "parquet_ticks"
    t = src.open(tp).load()
    assert (t.kind, len(t)) == ("trades", 2_001)
    # first row: 2021-01-08 00:00:00.278, 553287559, 39432.48, 0.000263, buyer_maker "True" -> seller aggressor
    assert (t["ts_event"][0], t["id"][0], t["price"][0], t["size"][0], t["side"][0]) == (1610064000278000000, 553287559, 39432.48, 0.000263, 2)
    assert (t["price"][-1], t["side"][1]) == (39491.76, 1)
    qp = str(nautilus / "btcusdt-quotes.parquet")
    q = find_data_source(qp).open(qp).load()
    assert (q.kind, len(q)) == ("quotes", 451)
    assert (q["bid_price"][0], q["bid_size"][0], q["ask_price"][0], q["ask_size"][0]) == (39432.99, 0.0031, 39433.62, 0.066851)


def test_inspect_cli(nautilus: Path) -> None:
    r = CliRunner().invoke(cli, ["data", "inspect", str(nautilus / "tardis_trades.csv.gz")])
    assert r.exit_code == 0, r.output
    assert "source: tardis" in r.output and "trades: 9999" in r.output
    r = CliRunner().invoke(cli, ["data", "inspect", "--json", str(nautilus / "tardis_quotes.csv.gz")])
    assert r.exit_code == 0, r.output
    meta = json.loads(r.output)
    assert (meta["kind"], meta["ticks"], meta["source"]) == ("quotes", 9999, "tardis")


def test_bad_tardis_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        f.write("x,Y,1,2,3,buy,9682,0.1\n")
        f.write("x,Y,2,3,4,sideways,9682,0.1\n")
    src = find_data_source(str(p))
    assert src.name == "tardis"
    with pytest.raises(DataError, match=r"bad.csv.gz:3: column side"):
        src.open(str(p)).load()
    with pytest.raises(SystemExit) as e:
        main(["data", "inspect", str(p)])
    assert e.value.code == 2
    assert "column side" in capsys.readouterr().err
