"""``trader data download | list`` and ``--data catalog:...`` end to end, against the local archive
of tests/data/_archive_server.py (127.0.0.1 only): a resumed download after a SIGKILL, corrupt
files refused with exit 2, the listing, and a backtest on the catalog equal to one on the file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.data._archive_server import ArchiveServer
from trader.cli import main
from trader.data import Bars, open_bars
from trader.data.catalog import Catalog, Key

FUT_BTC = "klines_1m/typhonun_DcaTpStrategy/BTC_USDT_USDT-1m-futures.feather"  # 2025-05-04 .. 2025-06-03
SPOT_1H = "klines_long/nic_TradingStrategyGA/BTC_USDT-1h.feather"  # 2017-08 .. 2024-04, 1 h
MIN = 60_000_000_000
HOUR = 60 * MIN


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    s = ArchiveServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Bars:
    return open_bars(str(shared_data / FUT_BTC)).load()


def serve(server: ArchiveServer, market: str, symbol: str, interval: str, step: int, bars: Bars, **kw: object) -> list[str]:
    return server.add_klines(market, symbol, interval, step, bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, **kw)


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """``trader ARGV`` in this process: (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def dl(server: ArchiveServer, catalog: Path, *extra: str) -> list[str]:
    return ["data", "download", "--market", "usdm", "--symbols", "BTCUSDT", "--start", "2025-05-01", "--end", "2025-07-01",
            "--catalog", str(catalog), "--archive-url", server.url, "--rest-url", server.url, *extra]


def test_download_then_list(server: ArchiveServer, btc: Bars, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    code, out, err = cli(capsys, *dl(server, tmp_path))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (f"BTCUSDT 1m: 2 month(s) written ({len(btc):,} rows), 0 already complete -> "
                                   f"{tmp_path / 'binance/usdm/BTCUSDT/1m'}")
    code, out, _ = cli(capsys, "data", "list", "--catalog", str(tmp_path), "--json")
    [entry] = json.loads(out)["entries"]
    assert code == 0 and entry["rows"] == len(btc) and entry["months"] == 2 and entry["incomplete"] == []
    assert entry["gaps"] == int(np.count_nonzero(np.diff(btc.ts) > MIN))
    code, out, _ = cli(capsys, "data", "list", "--catalog", str(tmp_path))
    assert code == 0 and "BTCUSDT" in out and f"{len(btc):,}" in out
    code, out, _ = cli(capsys, *dl(server, tmp_path, "--json"))
    assert code == 0 and [m["status"] for m in json.loads(out)["months"]] == ["complete", "complete"]


@pytest.mark.parametrize("fault,problem", [("corrupt", "not a readable zip archive"), ("bad_checksum", "checksum mismatch")])
def test_a_bad_archive_file_exits_2_naming_it(server: ArchiveServer, btc: Bars, tmp_path: Path, capsys: pytest.CaptureFixture,
                                              fault: str, problem: str) -> None:
    months = serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    getattr(server, fault).add(months[0])
    code, out, err = cli(capsys, *dl(server, tmp_path, "--jobs", "1"))
    assert code == 2 and out == ""
    assert err.startswith("error: BTCUSDT-1m-2025-05.zip: " + problem) and err.count("\n") == 1
    assert not (tmp_path / "binance/usdm/BTCUSDT/1m/2025-05.parquet").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file() and (p.name.startswith(".") or not p.name.endswith(".parquet"))] == []


def test_a_killed_download_resumes_without_duplicates_or_holes(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = open_bars(str(shared_data / SPOT_1H)).load().between("2023-01-01", "2024-01-01")
    serve(server, "spot", "BTCUSDT", "1h", HOUR, bars, daily=False)
    server.delay = 0.12  # two requests a month: months land about every quarter of a second
    catalog = tmp_path / "cat"
    args = [sys.executable, "-m", "trader", "data", "download", "--market", "spot", "--symbols", "BTCUSDT", "--interval", "1h",
            "--start", "2023-01-01", "--end", "2024-01-01", "--catalog", str(catalog), "--jobs", "1"]
    env = {**os.environ, "TRADER_BINANCE_ARCHIVE_URL": server.url, "TRADER_BINANCE_REST_URL": server.url}
    folder = catalog / "binance/spot/BTCUSDT/1h"
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(folder.glob("*.parquet"))) < 3:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    landed = sorted(p.name for p in folder.glob("*.parquet"))
    assert 3 <= len(landed) < 12, landed
    asked = len(server.log)
    server.delay = 0.0
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    again = [p for p in server.log[asked:] if not p.endswith(".CHECKSUM")]
    assert len(again) == 12 - len(landed)  # only the missing months were fetched
    assert f"{len(landed)} already complete" in done.stdout
    cat = Catalog(catalog)
    t = cat.table(Key("binance", "spot", "BTCUSDT", "1h"))
    np.testing.assert_array_equal(t.column("ts").to_numpy(), bars.ts)  # every hour once, none missing
    np.testing.assert_array_equal(t.column("close").to_numpy(), bars.close)
    assert len(cat.months(Key("binance", "spot", "BTCUSDT", "1h"))) == 12
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_backtest_on_the_catalog_equals_the_backtest_on_the_file(shared_data: Path, server: ArchiveServer, btc: Bars,
                                                                 tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    assert cli(capsys, *dl(server, tmp_path))[0] == 0
    span = ("--start", "2025-05-10", "--end", "2025-05-20", "--json")
    code, out, err = cli(capsys, "backtest", "--data", "catalog:binance/usdm/BTCUSDT/1m", "-o", f"catalog={tmp_path}", *span)
    assert code == 0, err
    on_catalog = json.loads(out)
    code, out, err = cli(capsys, "backtest", "--data", str(shared_data / FUT_BTC), "--symbol", "BTCUSDT", *span)
    assert code == 0, err
    on_file = json.loads(out)
    for timing in ("elapsed_s", "bars_per_s"):
        on_catalog.pop(timing), on_file.pop(timing)
    assert on_catalog["trades"] > 0 and on_catalog["bars"] == len(btc.between("2025-05-10", "2025-05-20"))
    assert on_catalog == on_file


def test_data_inspect_and_unknown_entries(server: ArchiveServer, btc: Bars, tmp_path: Path, capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    assert cli(capsys, *dl(server, tmp_path))[0] == 0
    monkeypatch.setenv("TRADER_CATALOG", str(tmp_path))
    code, out, _ = cli(capsys, "data", "inspect", "catalog:binance/usdm/BTCUSDT/1m", "--start", "2025-06-01", "--json")
    meta = json.loads(out)
    assert code == 0 and meta["source"] == "catalog" and meta["months"] == ["2025-06"]
    assert meta["bars"] == len(btc.between("2025-06-01", None))
    code, out, err = cli(capsys, "backtest", "--data", "catalog:binance/usdm/ETHUSDT/1m")
    assert code == 2 and out == ""
    assert err == (f"error: catalog:binance/usdm/ETHUSDT/1m: not in the catalog {tmp_path} "
                   "(it has: binance/usdm/BTCUSDT/1m)\n")


def test_resample_into_the_catalog_and_into_a_file(server: ArchiveServer, btc: Bars, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    from trader.data.catalog import resample_bars

    serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    cat = tmp_path / "cat"
    assert cli(capsys, *dl(server, cat))[0] == 0
    want = resample_bars(btc, "4h")
    code, out, err = cli(capsys, "data", "resample", "catalog:binance/usdm/BTCUSDT/1m", "--to", "4h", "--catalog", str(cat))
    assert (code, err) == (0, "")
    assert out == f"catalog:binance/usdm/BTCUSDT/4h: 2 month(s), {len(want):,} bars -> {cat / 'binance/usdm/BTCUSDT/4h'}\n"
    got = Catalog(cat).open(Key.parse("catalog:binance/usdm/BTCUSDT/4h")).load()
    np.testing.assert_array_equal(got.ts, want.ts)
    np.testing.assert_array_equal(got.close, want.close)
    np.testing.assert_array_equal(got.volume, want.volume)
    out_file = tmp_path / "btc_4h.parquet"
    code, out, err = cli(capsys, "data", "resample", "catalog:binance/usdm/BTCUSDT/1m", "--to", "4h", "--catalog", str(cat),
                         "--out", str(out_file))
    assert code == 0, err
    from_file = open_bars(str(out_file)).load()
    np.testing.assert_array_equal(from_file.ts, want.ts)
    np.testing.assert_array_equal(from_file.high, want.high)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    for argv, message in (
        (("--to", "7s"), "error: --to: 7s must be a multiple of the bars' interval (1m), and coarser\n"),
        (("--to", "1w"), "error: --to: 1w: into the catalog, the interval must divide a day (buckets of a month file "
                         "never cross into the next); write longer ones with --out\n"),
        (("--to", "fast"), "error: bad interval 'fast': expected e.g. 1m, 5m, 1h, 4h, 1d\n"),
    ):
        code, out, err = cli(capsys, "data", "resample", "catalog:binance/usdm/BTCUSDT/1m", "--catalog", str(cat), *argv)
        assert (code, out, err) == (2, "", message)


def test_funding_download_lands_in_the_catalog(server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trader.data._time import to_ns

    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-07-01"), 8 * HOUR, dtype=np.int64)
    rate = np.round(np.cos(np.arange(ts.size)) * 2e-4, 8)
    server.add_funding("BTCUSDT", ts, rate)
    code, out, err = cli(capsys, *dl(server, tmp_path, "--kind", "fundingRate"))
    assert (code, err) == (0, "") and out.startswith(f"BTCUSDT fundingRate: 2 month(s) written ({ts.size:,} rows)")
    series = Catalog(tmp_path).funding("binance", "usdm", "BTCUSDT")
    assert series is not None
    np.testing.assert_array_equal(series["ts"], ts)
    np.testing.assert_array_equal(series["rate"], rate)
    code, out, _ = cli(capsys, "data", "list", "--catalog", str(tmp_path), "--json")
    [entry] = json.loads(out)["entries"]
    assert entry["interval"] == "fundingRate" and entry["rows"] == ts.size and entry["gaps"] is None


def test_a_margin_backtest_on_catalog_bars_pays_the_catalogs_funding(server: ArchiveServer, btc: Bars, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    """``--account margin`` on ``catalog:`` bars: the symbol's funding series from the catalog feeds
    the margin account (said on stderr), exactly as the same series given by hand; an explicit
    ``--funding-rate`` overrides it."""
    from trader.backtest import run_backtest
    from trader.data._time import to_ns

    serve(server, "usdm", "BTCUSDT", "1m", MIN, btc)
    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-07-01"), 8 * HOUR, dtype=np.int64)
    rate = np.full(ts.size, 3e-4)
    server.add_funding("BTCUSDT", ts, rate)
    for kind in ("klines", "fundingRate"):
        code, _, err = cli(capsys, *dl(server, tmp_path, "--kind", kind))
        assert code == 0, err
    spec = "catalog:binance/usdm/BTCUSDT/1m"
    os.environ["TRADER_CATALOG"] = str(tmp_path)  # where `catalog:` specs are looked up
    try:
        args = ["backtest", "--data", spec, "--account", "margin", "--leverage", "3", "-p", "fast=10", "-p", "slow=40", "-p", "allow_short=true", "--json"]
        code, out, err = cli(capsys, *args)
        assert code == 0, err
        assert "funding: the margin account pays the rates of catalog:binance/usdm/BTCUSDT/fundingRate" in err
        doc = json.loads(out)
        by_hand = run_backtest("ema_cross", {"fast": 10, "slow": 40, "allow_short": True}, spec, account="margin", leverage=3,
                               funding={"ts": ts, "rate": rate})
        assert by_hand.account["funding_paid"] != 0
        assert doc["final_equity"] == by_hand.stats["final_equity"]
        code, out, err = cli(capsys, *args, "--funding-rate", "0")
        assert code == 0 and "funding:" not in err and json.loads(out)["final_equity"] != doc["final_equity"]
    finally:
        os.environ.pop("TRADER_CATALOG")
