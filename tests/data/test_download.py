"""``trader.data.download`` against a local archive (tests/data/_archive_server.py) built from the
real bars of ``$TRADER_SHARED_DATA/klines_1m``: exact round trip, µs spot files, the daily and
REST fallbacks with their overlaps deduplicated, 429s waited out, and every corruption refused
without a trace in the catalog."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.data._archive_server import ArchiveServer
from trader.data import Bars, open_bars
from trader.data._time import to_ns
from trader.data.catalog import Catalog, Key
from trader.data.download import download, make_request, parse_csv
from trader.exceptions import DataError, InvalidInputError

FUT_BTC = "klines_1m/typhonun_DcaTpStrategy/BTC_USDT_USDT-1m-futures.feather"  # 2025-05-04 .. 2025-06-03
FUT_ETH = "klines_1m/typhonun_DcaTpStrategy/ETH_USDT_USDT-1m-futures.feather"  # 2025-05-04 .. 2025-06-15
SPOT_BTC = "klines_1m/xylotech_TF.bk/BTC_USDT-1m.feather"  # 2025-06-01 .. 2025-07-01
MIN = 60_000_000_000
NOW = to_ns("2026-12-01")


def bars_of(shared: Path, rel: str) -> Bars:
    return open_bars(str(shared / rel)).load()


def serve(server: ArchiveServer, market: str, symbol: str, bars: Bars, **kw: object) -> list[str]:
    return server.add_klines(market, symbol, "1m", MIN, bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, **kw)


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    s = ArchiveServer()
    s.start()
    yield s
    s.stop()


def run(server: ArchiveServer, catalog: Path, *, now: int = NOW, sleep: object = asyncio.sleep, **kw: object):
    args: dict = {"market": "usdm", "symbols": "BTCUSDT", "start": "2025-05-01", "end": "2025-07-01", "jobs": 4, **kw}
    req = make_request(catalog=catalog, archive_url=server.url, rest_url=server.url, now_ns=now, **args)
    return download(req, now_ns=now, sleep=sleep)


def assert_same_bars(got: Catalog, key: Key, want: Bars) -> None:
    t = got.table(key)
    ts = t.column("ts").to_numpy()
    assert ts.size == len(want), f"{ts.size} rows, the source has {len(want)}"
    np.testing.assert_array_equal(ts, want.ts)
    for c in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(t.column(c).to_numpy(), getattr(want, c), err_msg=c)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".parquet") or p.name.startswith(".")]


def test_full_download_equals_the_source_bars(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_BTC)
    serve(server, "usdm", "BTCUSDT", bars)
    results, waits = run(server, tmp_path)
    assert [(r.month, r.status, r.complete) for r in results] == [("2025-05", "written", True), ("2025-06", "written", True)]
    assert all("sha256" in s for r in results for s in r.sources) and waits == []
    cat = Catalog(tmp_path)
    assert_same_bars(cat, Key("binance", "usdm", "BTCUSDT", "1m"), bars)
    assert sorted(p.name for p in (tmp_path / "binance/usdm/BTCUSDT/1m").iterdir()) == ["2025-05.parquet", "2025-06.parquet"]
    # a rerun finds both months complete and asks the archive for nothing
    before = len(server.log)
    results, _ = run(server, tmp_path)
    assert [r.status for r in results] == ["complete", "complete"] and len(server.log) == before


def test_spot_files_of_2025_have_microsecond_times(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, SPOT_BTC)
    paths = serve(server, "spot", "BTCUSDT", bars)
    with zipfile.ZipFile(io.BytesIO(server.files[paths[0]])) as z:
        first_field = z.read("BTCUSDT-1m-2025-06.csv").split(b",")[0]
    assert len(first_field) == 16  # µs, no header
    run(server, tmp_path, market="spot", start="2025-06-01", end="2025-07-02")
    assert_same_bars(Catalog(tmp_path), Key("binance", "spot", "BTCUSDT", "1m"), bars)


def test_a_month_missing_from_the_archive_comes_from_its_daily_files(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_BTC)
    months = serve(server, "usdm", "BTCUSDT", bars)
    server.missing.add(months[0])
    results, _ = run(server, tmp_path)
    may = results[0]  # the source starts on May 4: the first three days are nowhere
    assert may.missing == ["2025-05-01", "2025-05-02", "2025-05-03"] and not may.complete
    assert len(may.sources) == 28 and all("/daily/" in s["file"] for s in may.sources)
    assert_same_bars(Catalog(tmp_path), Key("binance", "usdm", "BTCUSDT", "1m"), bars)


def test_the_recent_tail_comes_from_rest_and_overlaps_are_deduplicated(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_ETH)
    now = to_ns("2025-06-15T12:00")
    upto = bars.between(None, now)
    serve(server, "usdm", "ETHUSDT", upto)
    # the current month (June) has no monthly file yet; its last 2 days are not in the daily archive
    june = [p for p in server.files if "monthly" in p and p.endswith("2025-06.zip")]
    server.missing.update(june + [p for p in server.files if p.endswith(("2025-06-14.zip", "2025-06-15.zip"))])
    # REST has the last 6 days (overlapping 4 days of daily files)
    tail = upto.between("2025-06-10", None)
    server.rest_klines[("usdm", "ETHUSDT", "1m")] = (*tail.arrays(), MIN)
    results, _ = run(server, tmp_path, symbols="ETHUSDT", now=now)
    assert [(r.month, r.complete) for r in results] == [("2025-05", True), ("2025-06", False)]
    rest = [s for s in results[1].sources if "rest" in s]
    assert [s["from"][:10] for s in rest] == ["2025-06-14", "2025-06-15"]
    assert_same_bars(Catalog(tmp_path), Key("binance", "usdm", "ETHUSDT", "1m"), upto)
    # a later run (June over, its monthly file out) completes June, still without duplicates
    server.missing.clear()
    serve(server, "usdm", "ETHUSDT", bars)
    results, _ = run(server, tmp_path, symbols="ETHUSDT", now=to_ns("2025-07-02"))
    assert [(r.status, r.complete) for r in results] == [("complete", True), ("written", True)]
    assert_same_bars(Catalog(tmp_path), Key("binance", "usdm", "ETHUSDT", "1m"), bars)


def test_rest_pages_through_more_than_one_limit(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_BTC).between("2025-05-04", "2025-05-06")
    server.rest_klines[("usdm", "BTCUSDT", "1m")] = (*bars.arrays(), MIN)  # nothing in the archive at all
    results, _ = run(server, tmp_path, start="2025-05-04", end="2025-05-06", now=to_ns("2025-05-06"))
    pages = [x for x in server.log if x.startswith("/fapi/v1/klines")]
    per_day = [len(bars.between(d, e)) for d, e in (("2025-05-04", "2025-05-05"), ("2025-05-05", "2025-05-06"))]
    assert max(per_day) > 1000 and len(pages) == sum(n // 1000 + 1 for n in per_day)  # one request per day, 1000 a page
    assert not results[0].complete
    assert_same_bars(Catalog(tmp_path), Key("binance", "usdm", "BTCUSDT", "1m"), bars)


def test_429_is_waited_out(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_BTC)
    months = serve(server, "usdm", "BTCUSDT", bars)
    server.throttle.update({months[0], months[1] + ".CHECKSUM"})
    waited: list[float] = []

    async def sleep(s: float) -> None:
        waited.append(s)
        await asyncio.sleep(s)

    results, waits = run(server, tmp_path, sleep=sleep)
    assert len(waits) == 2 and all(w == 1.0 for w in waits)
    assert waited and max(waited) <= 1.0 and sum(waited) >= 0.9  # paused for Retry-After, not skipped
    assert [r.complete for r in results] == [True, True]
    assert_same_bars(Catalog(tmp_path), Key("binance", "usdm", "BTCUSDT", "1m"), bars)


def test_rest_weight_near_the_limit_waits_for_the_next_minute_and_a_418_stops(shared_data: Path, server: ArchiveServer,
                                                                              tmp_path: Path) -> None:
    bars = bars_of(shared_data, FUT_BTC).between("2025-05-05", "2025-05-06")
    assert len(bars) > 1000  # two pages
    server.rest_klines[("usdm", "BTCUSDT", "1m")] = (*bars.arrays(), MIN)
    server.used_weight = 1916  # + 5 for the next page is over 80 % (1920) of the 2400 a minute of USDⓈ-M
    slept: list[float] = []

    async def sleep(s: float) -> None:  # the clock is not waited on in a test: the pause is recorded
        slept.append(s)

    span = {"start": "2025-05-05", "end": "2025-05-06", "now": to_ns("2025-05-06"), "sleep": sleep, "jobs": 1}
    results, waits = run(server, tmp_path, **span)
    assert results[0].rows == len(bars)
    assert waits and all(0 < w <= 60.5 for w in waits)
    assert slept and 0 < slept[0] <= 60.5  # the second page waited for the minute to turn
    server.used_weight = None
    server.ban = True
    before = len(server.log)
    with pytest.raises(DataError, match=r"/fapi/v1/klines: the venue banned this IP \(HTTP 418, Retry-After 120 s\): stopped"):
        run(server, tmp_path / "b", **span)
    assert len([x for x in server.log[before:] if x.startswith("/fapi")]) == 1  # no retry into a ban


@pytest.mark.parametrize("fault,problem", [("corrupt", "not a readable zip archive"), ("bad_checksum", "checksum mismatch")])
def test_a_bad_file_stops_the_download_and_leaves_nothing_half_written(shared_data: Path, server: ArchiveServer, tmp_path: Path,
                                                                       fault: str, problem: str) -> None:
    bars = bars_of(shared_data, FUT_BTC)
    months = serve(server, "usdm", "BTCUSDT", bars)
    getattr(server, fault).add(months[1])
    with pytest.raises(DataError, match=problem) as e:
        run(server, tmp_path, jobs=1)
    assert "BTCUSDT-1m-2025-06.zip" in str(e.value) and "\n" not in str(e.value)
    folder = tmp_path / "binance/usdm/BTCUSDT/1m"
    assert not (folder / "2025-06.parquet").exists()
    assert leftovers(tmp_path) == []


def test_nothing_anywhere_is_an_error_naming_the_symbol(server: ArchiveServer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"XYZUSDT: no klines data for 2025-05-01T00:00:00Z\.\.2025-05-03T00:00:00Z in the archive"):
        run(server, tmp_path, symbols="XYZUSDT", start="2025-05-01", end="2025-05-03")
    assert not any(tmp_path.rglob("*.parquet"))


def test_funding_rates_land_in_the_catalog(server: ArchiveServer, tmp_path: Path) -> None:
    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-07-01"), 8 * 3600 * 10**9, dtype=np.int64)
    rate = np.round(np.sin(np.arange(ts.size)) * 1e-4, 8)
    server.add_funding("BTCUSDT", ts, rate)
    results, _ = run(server, tmp_path, kind="fundingRate")
    assert [r.complete for r in results] == [True, True]
    f = Catalog(tmp_path).funding("binance", "usdm", "BTCUSDT")
    assert f is not None
    np.testing.assert_array_equal(f["ts"], ts)
    np.testing.assert_array_equal(f["rate"], rate)


@pytest.mark.parametrize("args,message", [
    ({"market": "coinm"}, "--market: unknown market 'coinm'"),
    ({"kind": "fundingRate", "market": "spot"}, "--kind: fundingRate exists for --market usdm only"),
    ({"interval": "7m"}, "--interval: '7m' is not a Binance usdm kline interval"),
    ({"interval": "1s"}, "--interval: '1s' is not a Binance usdm kline interval"),
    ({"symbols": "BTC/USDT"}, "--symbols: expected Binance symbols"),
    ({"start": "2025-07-01", "end": "2025-05-01"}, "--start 2025-07-01T00:00:00Z is not before --end"),
    ({"start": "yesterday"}, "bad --start 'yesterday'"),
    ({"jobs": 0}, "--jobs: must be >= 1"),
])
def test_bad_requests_are_refused_before_any_work(tmp_path: Path, args: dict, message: str) -> None:
    base = {"market": "usdm", "symbols": "BTCUSDT", "start": "2025-05-01", "end": "2025-07-01"}
    with pytest.raises(InvalidInputError) as e:
        make_request(catalog=tmp_path / "cat", archive_url="http://127.0.0.1:9", **{**base, **args})
    assert message in str(e.value)
    assert not (tmp_path / "cat").exists()


def test_parse_csv_names_the_file_and_the_problem() -> None:
    with pytest.raises(DataError, match=r"x\.csv: expected 12 fields per line for klines, got 3"):
        parse_csv("klines", "x.csv", b"1,2,3\n")
    bad = b"1700000000000,1,2,0.5,1.5,3,1700000059999,4,5,1,1,0\n1700000060000,1,0.5,0.8,1.5,3,1700000119999,4,5,1,1,0\n"
    with pytest.raises(DataError, match=r"x\.csv: row 2: "):
        parse_csv("klines", "x.csv", bad)


def test_aggregated_trades_land_sorted_and_deduplicated(shared_data: Path, server: ArchiveServer, tmp_path: Path) -> None:
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(shared_data / "trades/nautilus/tardis_trades.csv.gz")  # Binance futures BTCUSDT, 2020-02-22
    ids, ts_us = t.column("id").to_numpy(), t.column("timestamp").to_numpy()
    price, qty = t.column("price").to_numpy(), t.column("amount").to_numpy()
    seller = np.array([s == "sell" for s in t.column("side").to_pylist()])
    rows = [f"{i},{float(p)!r},{float(q)!r},{i},{i},{u // 1000},{'true' if m else 'false'}" for i, p, q, u, m in zip(ids, price, qty, ts_us, seller)]
    rows += rows[100:110]  # the same trades twice in the file: kept once
    header = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
    server.add_csv("data/futures/um/monthly/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2020-02.zip", (header + "\n".join(rows) + "\n").encode())
    results, _ = run(server, tmp_path, kind="aggTrades", start="2020-02-01", end="2020-03-01")
    assert results[0].complete and results[0].rows == len(ids)
    got = Catalog(tmp_path).table(Key("binance", "usdm", "BTCUSDT", "aggTrades"))
    ts_ns = ts_us // 1000 * 1_000_000  # the archive's milliseconds
    order = np.lexsort((ids, ts_ns))
    np.testing.assert_array_equal(got.column("id").to_numpy(), ids[order])
    np.testing.assert_array_equal(got.column("ts").to_numpy(), ts_ns[order])
    np.testing.assert_array_equal(got.column("price").to_numpy(), price[order])
    np.testing.assert_array_equal(got.column("is_buyer_maker").to_numpy(zero_copy_only=False), seller[order])
