"""``trader.data.catalog``: the month files (atomic writes, provenance), reading with month
pruning, the ``catalog:`` data source, listing, funding series, and the errors naming the entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trader.data import Bars, open_bars
from trader.data._time import to_ns
from trader.data.catalog import (
    Catalog,
    CatalogSource,
    Key,
    decimals,
    default_root,
    feed_funding,
    months_between,
    resample_bars,
)
from trader.data.download import kline_table
from trader.exceptions import DataError, InvalidInputError
from trader.plugins import find_data_source

FUT_ETH = "klines_1m/typhonun_DcaTpStrategy/ETH_USDT_USDT-1m-futures.feather"  # 2025-05-04 .. 2025-06-15
KEY = Key("binance", "usdm", "ETHUSDT", "1m")


def table_of(bars: Bars) -> pa.Table:
    n = len(bars)
    cols = {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close, "volume": bars.volume,
            "quote_volume": bars.volume * bars.close, "trades": np.arange(n), "taker_buy_base": bars.volume / 2,
            "taker_buy_quote": bars.volume * bars.close / 2}
    return kline_table("test", bars.ts // 1_000_000, cols)


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> Bars:
    return open_bars(str(shared_data / FUT_ETH)).load()


@pytest.fixture
def cat(tmp_path: Path, eth: Bars) -> Catalog:
    c = Catalog(tmp_path / "cat")
    for ym, (lo, hi) in {(2025, 5): ("2025-05-01", "2025-06-01"), (2025, 6): ("2025-06-01", "2025-07-01")}.items():
        c.write_month(KEY, ym, table_of(eth.between(lo, hi)), complete=ym == (2025, 5), sources=[{"file": f"{ym}"}])
    return c


def test_month_files_round_trip_with_their_provenance(cat: Catalog, eth: Bars) -> None:
    assert cat.months(KEY) == [(2025, 5), (2025, 6)]
    info = cat.info(KEY, (2025, 5))
    assert info is not None and info.complete and info.sources == [{"file": "(2025, 5)"}]
    assert info.rows == len(eth.between("2025-05-01", "2025-06-01"))
    assert not cat.info(KEY, (2025, 6)).complete  # type: ignore[union-attr]
    t = cat.table(KEY)
    assert t.schema.field("ts").type == pa.int64()
    np.testing.assert_array_equal(t.column("ts").to_numpy(), eth.ts)
    np.testing.assert_array_equal(t.column("close").to_numpy(), eth.close)
    assert (cat.root / "binance/usdm/ETHUSDT/1m/2025-05.parquet").is_file()


def test_a_failed_write_leaves_the_old_month_and_no_temporary_file(cat: Catalog, eth: Bars, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cat.month_path(KEY, (2025, 6))
    before = path.read_bytes()

    def broken(table: pa.Table, where: object, **kw: object) -> None:
        Path(str(where)).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError):
        cat.write_month(KEY, (2025, 6), table_of(eth.between("2025-06-01", "2025-07-01")), complete=True, sources=[])
    assert path.read_bytes() == before
    assert sorted(p.name for p in cat.folder(KEY).iterdir()) == ["2025-05.parquet", "2025-06.parquet"]


def test_stale_temporary_files_are_ignored_and_cleaned(cat: Catalog) -> None:
    stale = cat.folder(KEY) / ".2025-07.parquet.tmp-999"
    stale.write_bytes(b"half")
    assert cat.months(KEY) == [(2025, 5), (2025, 6)]
    cat.clean_temp(KEY)
    assert not stale.exists()


def test_reading_prunes_months_before_opening_them(cat: Catalog, eth: Bars, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    real = cat.read_month
    monkeypatch.setattr(cat, "read_month", lambda key, ym, columns=None: opened.append(ym) or real(key, ym, columns))
    feed = cat.open(KEY, start="2025-06-03", end="2025-06-05T12:00")
    bars = feed.load()
    assert opened == [(2025, 6)] and feed.meta["months"] == ["2025-06"]
    want = eth.between("2025-06-03", "2025-06-05T12:00")
    np.testing.assert_array_equal(bars.ts, want.ts)
    np.testing.assert_array_equal(bars.high, want.high)
    assert bars.symbol == "ETHUSDT" and bars.interval_ns == 60_000_000_000
    assert feed.meta["funding"] is None


def test_the_catalog_source_is_picked_by_its_prefix(cat: Catalog, eth: Bars) -> None:
    spec = "catalog:binance/usdm/ETHUSDT/1m"
    src = find_data_source(spec)
    assert isinstance(src, CatalogSource)
    bars = open_bars(spec, catalog=str(cat.root), start="2025-05-20", end="2025-06-10").load()
    np.testing.assert_array_equal(bars.close, eth.between("2025-05-20", "2025-06-10").close)
    with pytest.raises(DataError, match=r"catalog:binance/usdm/ETHUSDT/1m: unknown option\(s\) for the catalog source: colour"):
        src.open(spec, catalog=str(cat.root), colour="red")


def test_an_unknown_entry_names_it_and_what_the_catalog_has(cat: Catalog) -> None:
    with pytest.raises(DataError) as e:
        cat.open(Key.parse("catalog:binance/usdm/BTCUSDT/1m"))
    assert str(e.value) == (f"catalog:binance/usdm/BTCUSDT/1m: not in the catalog {cat.root} "
                            "(it has: binance/usdm/ETHUSDT/1m)")
    with pytest.raises(DataError, match=r"it has: nothing"):
        Catalog(cat.root / "empty").open(KEY)


@pytest.mark.parametrize("spec", ["catalog:binance/usdm/BTCUSDT", "catalog:binance//BTCUSDT/1m", "catalog:a/b/c/d/e",
                                  "catalog:binance/usdm/BTC USDT/1m"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(InvalidInputError, match=r"expected catalog:VENUE/MARKET/SYMBOL/INTERVAL"):
        Key.parse(spec)


def test_funding_partitions_are_not_bars(cat: Catalog) -> None:
    key = Key("binance", "usdm", "ETHUSDT", "fundingRate")
    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-06-01"), 8 * 3600 * 10**9, dtype=np.int64)
    cat.write_month(key, (2025, 5), pa.table({"ts": ts, "rate": np.full(ts.size, 1e-4), "interval_h": np.full(ts.size, 8)}),
                    complete=True, sources=[])
    with pytest.raises(DataError, match=r"holds fundingRate, not bars"):
        cat.open(key)
    f = cat.funding("binance", "usdm", "ETHUSDT", start="2025-05-10")
    assert f is not None and f["ts"][0] == to_ns("2025-05-10") and f["rate"].dtype == np.float64
    assert cat.open(KEY).meta["funding"] == "catalog:binance/usdm/ETHUSDT/fundingRate"
    assert cat.funding("binance", "usdm", "BTCUSDT") is None


def test_listing_counts_rows_months_gaps_and_incomplete_months(cat: Catalog, eth: Bars) -> None:
    # take 10 minutes out of May: one more gap than the source has
    may = eth.between("2025-05-01", "2025-06-01")
    cut = Bars.concat([may[:1000], may[1010:]])
    cat.write_month(KEY, (2025, 5), table_of(cut), complete=True, sources=[])
    source_gaps = int(np.count_nonzero(np.diff(eth.ts) > 60_000_000_000))
    [row] = cat.list()
    assert row == {
        "venue": "binance", "market": "usdm", "symbol": "ETHUSDT", "interval": "1m", "kind": "klines",
        "first": row["first"], "last": row["last"], "rows": len(eth) - 10, "months": 2, "gaps": source_gaps + 1, "incomplete": ["2025-06"],
        "spec": "catalog:binance/usdm/ETHUSDT/1m",
    }
    assert to_ns(row["first"]) == eth.ts[0] and to_ns(row["last"]) == eth.ts[-1]


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRADER_CATALOG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_root() == tmp_path / "trader" / "catalog"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_root() == Path.home() / ".local" / "share" / "trader" / "catalog"
    monkeypatch.setenv("TRADER_CATALOG", str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine" and Catalog().root == tmp_path / "mine"


def test_months_between() -> None:
    assert months_between(to_ns("2024-11-15"), to_ns("2025-02-01")) == [(2024, 11), (2024, 12), (2025, 1)]
    assert months_between(to_ns("2024-11-15"), to_ns("2025-02-01T00:00:01")) == [(2024, 11), (2024, 12), (2025, 1), (2025, 2)]


def reference(bars: Bars, to: int) -> dict[str, np.ndarray]:
    """Time buckets of ``to`` by hand (numpy): first open, max high, min low, last close, summed
    volume; the last bucket only when the bars reach its end (as a live bar completes)."""
    bucket = bars.ts - bars.ts % to
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bars)]
    out = {"ts": bucket[starts], "open": bars.open[starts], "high": np.maximum.reduceat(bars.high, starts),
           "low": np.minimum.reduceat(bars.low, starts), "close": bars.close[ends - 1],
           "volume": np.add.reduceat(bars.volume, starts)}
    if bars.ts[-1] + bars.interval_ns < bucket[-1] + to:
        out = {k: v[:-1] for k, v in out.items()}
    return out


@pytest.mark.parametrize("to", ["5m", "1h", "4h", "1d"])
def test_resample_is_the_live_aggregation(eth: Bars, to: str) -> None:
    step = {"5m": 300, "1h": 3600, "4h": 14400, "1d": 86400}[to] * 10**9
    got = resample_bars(eth, to)
    want = reference(eth, step)
    assert got.interval_ns == step and len(got) == len(want["ts"]) > 0
    np.testing.assert_array_equal(got.ts, want["ts"])
    for c in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(got, c), want[c], err_msg=c)
    # the volume is summed exactly at the data's size precision (no float drift): equal once rounded
    dp = decimals(eth.volume, "volume")
    np.testing.assert_array_equal(got.volume, np.round(want["volume"], dp))


def test_resample_drops_an_unfinished_last_bucket_and_refuses_bad_intervals(eth: Bars) -> None:
    part = eth.between(None, "2025-05-10T10:30")  # the 10:00 hour is half there
    got = resample_bars(part, "1h")
    assert got.ts[-1] == to_ns("2025-05-10T09:00")
    assert len(resample_bars(eth.between(None, "2025-05-10T11:00"), "1h")) == len(got) + 1
    for bad in ("1m", "90s", "30s"):
        with pytest.raises(InvalidInputError, match=r"--to: .* must be a multiple of the bars' interval \(1m\), and coarser"):
            resample_bars(part, bad)


def test_resample_into_the_catalog(cat: Catalog, eth: Bars) -> None:
    target, months = cat.resample(KEY, "1h")
    assert target == Key("binance", "usdm", "ETHUSDT", "1h")
    assert [(m.month, m.complete) for m in months] == [("2025-05", True), ("2025-06", False)]  # as their source months
    bars = cat.open(target).load()
    want = resample_bars(eth, "1h")
    np.testing.assert_array_equal(bars.ts, want.ts)
    np.testing.assert_array_equal(bars.volume, want.volume)
    assert bars.interval_ns == 3600 * 10**9
    with pytest.raises(InvalidInputError, match=r"--to: 1w: into the catalog, the interval must divide a day"):
        cat.resample(KEY, "1w")
    with pytest.raises(DataError, match=r"catalog:binance/usdm/ETHUSDT/fundingRate: holds fundingRate, not bars: nothing to resample"):
        cat.resample(Key("binance", "usdm", "ETHUSDT", "fundingRate"), "1h")
    with pytest.raises(DataError, match=r"catalog:binance/usdm/ETHUSDT/5m: not in the catalog .* \(it has: binance/usdm/ETHUSDT/1h, "
                                        r"binance/usdm/ETHUSDT/1m\)"):
        cat.resample(Key("binance", "usdm", "ETHUSDT", "5m"), "1h")


def test_a_margin_backtest_on_catalog_bars_gets_the_catalog_funding(cat: Catalog) -> None:
    from trader.backtest import run_backtest

    fkey = Key("binance", "usdm", "ETHUSDT", "fundingRate")
    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-07-01"), 8 * 3600 * 10**9, dtype=np.int64)
    rate = np.where(np.arange(ts.size) % 2 == 0, 3e-4, -1e-4)
    for ym, (lo, hi) in {(2025, 5): ("2025-05-01", "2025-06-01"), (2025, 6): ("2025-06-01", "2025-07-01")}.items():
        sel = (ts >= to_ns(lo)) & (ts < to_ns(hi))
        cat.write_month(fkey, ym, pa.table({"ts": ts[sel], "rate": rate[sel], "interval_h": np.full(sel.sum(), 8)}),
                        complete=True, sources=[])
    spec, span = "catalog:binance/usdm/ETHUSDT/1m", {"start": "2025-05-10", "end": "2025-05-25"}
    feed = find_data_source(spec).open(spec, catalog=str(cat.root), **span)
    series, source = feed_funding([feed], **span)
    assert source == "catalog:binance/usdm/ETHUSDT/fundingRate"
    assert series is not None and series["ts"][0] == to_ns("2025-05-10") and series["ts"][-1] < to_ns("2025-05-25")
    np.testing.assert_array_equal(series["rate"], rate[(ts >= to_ns("2025-05-10")) & (ts < to_ns("2025-05-25"))])
    runs = {}
    kinds = {"catalog": {"funding": series}, "found by itself": {}, "none": {"funding_rate": 0.0}, "by hand": {"funding": (ts, rate)}}
    for name, kw in kinds.items():
        r = run_backtest("ema_cross", {}, spec, options={"catalog": str(cat.root)}, account="margin", **kw, **span)
        runs[name] = r.summary()
        assert r.meta.get("funding_source") == ("catalog:binance/usdm/ETHUSDT/fundingRate" if name == "found by itself" else None)
    assert runs["none"]["funding_paid"] == 0.0 and runs["catalog"]["funding_paid"] != 0.0
    for name in ("by hand", "found by itself"):
        assert runs["catalog"]["funding_paid"] == runs[name]["funding_paid"]
        assert runs["catalog"]["final_equity"] == runs[name]["final_equity"]
    # bars that are not from the catalog (or several instruments) take no funding from it
    assert feed_funding([open_bars(spec, catalog=str(cat.root)), feed]) == (None, None)
