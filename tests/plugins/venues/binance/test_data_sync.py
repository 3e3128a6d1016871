"""Binance's documented book sync on real recordings (spot and USDⓈ-M): the client hands on the
snapshot then an unbroken chain of diffs; a diff removed from the flow is caught as a gap and a new
snapshot (the true book at that moment) puts the client's book back equal to the truth."""

from __future__ import annotations

import gzip
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from trader_plugins.venues.binance.config import BinanceConfig
from trader_plugins.venues.binance.data import BinanceDataClient, DepthSync

DATA = Path(os.environ.get("TRADER_SHARED_DATA", Path(__file__).resolve().parents[4].parent / "shared" / "data"))
RAW = DATA / "l2_book" / "hftbacktest_raw_ws"
FILES = {"spot": RAW / "spot" / "btcusdt_20240808.gz", "usdm": RAW / "usdm" / "btcusdt_20240808.gz"}
LIMIT = 60_000  # lines read per recording (keeps the test quick)


def _lines(market: str) -> list[tuple[int, str]]:
    path = FILES[market]
    if not path.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"recording missing: {path}")
        pytest.skip(f"recording missing: {path}")
    out = []
    with gzip.open(path, "rt") as f:
        for i, line in enumerate(f):
            if i >= LIMIT:
                break
            ns, _, text = line.rstrip("\n").partition(" ")
            out.append((int(ns), text))
    return out


class Book:
    def __init__(self) -> None:
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}

    def snapshot(self, doc: dict) -> None:
        self.bids = {Decimal(p): q for p, q in doc["bids"]}
        self.asks = {Decimal(p): q for p, q in doc["asks"]}

    def diff(self, d: dict) -> None:
        for side, levels in ((self.bids, d["b"]), (self.asks, d["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = q

    def as_doc(self, lid: int) -> dict:
        return {"lastUpdateId": lid, "bids": [[str(p), q] for p, q in sorted(self.bids.items(), reverse=True)],
                "asks": [[str(p), q] for p, q in sorted(self.asks.items())]}


def _run(market: str, drop_at: int | None) -> tuple[BinanceDataClient, Book, Book]:
    """Feed the recording through the client's sync; the recorded snapshot answers the first
    request, a snapshot of the true book answers later ones (a few diffs after the request)."""
    lines = _lines(market)
    client = BinanceDataClient(BinanceConfig(market=market, symbols=("BTCUSDT",)))
    sync = client.syncs["BTCUSDT"]
    truth, mine = Book(), Book()
    truth_lid = None
    recorded_snapshot = None
    pending_since = None
    out: list[str] = []
    depth_seen = 0
    early: list[dict] = []
    for ns, text in lines:
        if text.startswith('{"lastUpdateId"'):
            recorded_snapshot = text
            doc = json.loads(text)
            if truth_lid is None:
                truth.snapshot(doc)
                truth_lid = doc["lastUpdateId"]
                for d in early:  # diffs received before the snapshot that it does not cover
                    if not (d["u"] < truth_lid if market == "usdm" else d["u"] <= truth_lid):
                        truth.diff(d)
                        truth_lid = d["u"]
            if sync.wants_snapshot and sync.counts["snapshots"] == 0:
                lid, line = client.snapshot_line("BTCUSDT", text.encode(), ns)
                res = sync.on_snapshot(lid, line)
                assert res is not None, "the recorded snapshot is newer than the first buffered diff"
                out += res
            continue
        msg = json.loads(text)
        is_depth = "@depth" in msg["stream"]
        if is_depth:
            depth_seen += 1
            d = msg["data"]
            if truth_lid is None:
                early.append(d)
            if truth_lid is not None and not (d["u"] < truth_lid if market == "usdm" else d["u"] <= truth_lid):
                truth.diff(d)
                truth_lid = d["u"]
            if drop_at is not None and depth_seen == drop_at:
                continue  # the injected gap: this diff never reaches the client
        out += client.handle(text, ns)
        if sync.wants_snapshot and sync.counts["snapshots"] > 0:
            pending_since = pending_since or depth_seen
            if depth_seen - pending_since >= 3 and truth_lid is not None:  # the REST answer arrives
                body = json.dumps(truth.as_doc(truth_lid), separators=(",", ":")).encode()
                lid, line = client.snapshot_line("BTCUSDT", body, ns)
                res = sync.on_snapshot(lid, line)
                if res is not None:
                    out += res
                    pending_since = None
    assert recorded_snapshot is not None
    # replay what the client handed on into a book of its own, checking the chain as the engine would
    last = None
    for line in out:
        text = line.partition(" ")[2]
        doc = json.loads(text)
        if "lastUpdateId" in doc:
            mine.snapshot(doc)
            last = ("snap", doc["lastUpdateId"])
            continue
        d = doc["data"]
        if "@depth" not in doc["stream"]:
            continue
        assert last is not None, "a diff before any snapshot"
        kind, lu = last
        if kind == "snap":
            assert (d["U"] <= lu <= d["u"]) if market == "usdm" else (d["U"] <= lu + 1 <= d["u"])
        else:
            assert (d["pu"] == lu) if market == "usdm" else (d["U"] == lu + 1)
        mine.diff(d)
        last = ("diff", d["u"])
    return client, truth, mine


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_recording_syncs_without_gaps(market: str) -> None:
    client, truth, mine = _run(market, None)
    c = client.counts
    assert c["gaps"] == 0 and c["resyncs"] == 0 and c["snapshots"] == 1
    assert c["dropped"] > 0  # the diffs the snapshot covered
    assert mine.bids == truth.bids and mine.asks == truth.asks


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_injected_gap_resyncs_to_the_truth(market: str) -> None:
    client, truth, mine = _run(market, drop_at=400)
    c = client.counts
    assert c["gaps"] == 1 and c["resyncs"] == 1 and c["snapshots"] == 2
    assert mine.bids == truth.bids and mine.asks == truth.asks


def test_stale_snapshot_is_refetched_and_dupes_dropped() -> None:
    s = DepthSync("X", "spot")
    assert s.on_diff(10, 12, None, "d1") == [] and s.wants_snapshot
    assert s.on_snapshot(5, "old") is None and s.counts["stale_snapshots"] == 1  # older than U-1: ask again
    assert s.on_snapshot(11, "snap") == ["snap", "d1"]
    assert s.on_diff(13, 14, None, "d2") == ["d2"]
    assert s.on_diff(13, 14, None, "d2") == []  # a duplicate
    assert s.on_diff(16, 17, None, "d3") == [] and s.counts["gaps"] == 1 and s.wants_snapshot
    f = DepthSync("X", "usdm")
    f.on_diff(10, 12, 9, "a")
    assert f.on_snapshot(12, "snap") == ["snap", "a"]  # u == lastUpdateId is kept on futures
    assert f.on_diff(13, 15, 12, "b") == ["b"]
    assert f.on_diff(16, 18, 14, "c") == [] and f.counts["gaps"] == 1


def test_snapshot_line_names_the_symbol_when_several() -> None:
    c = BinanceDataClient(BinanceConfig(symbols=("BTCUSDT", "ETHUSDT")))
    lid, line = c.snapshot_line("ETHUSDT", b'{"lastUpdateId":7,"bids":[],"asks":[]}', 5)
    assert lid == 7 and line == '5 {"lastUpdateId":7,"bids":[],"asks":[],"symbol":"ETHUSDT"}'
    assert c.url().endswith("/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@trade/"
                            "ethusdt@depth@100ms/ethusdt@bookTicker/ethusdt@trade")
