"""Bybit v5 order-book sync (``orderbook.{depth}.{symbol}``) against the documented payloads in
../shared/data/ws_fixtures (nautilus's Bybit test data) and hand-built sequences: gap, reset by a
snapshot or by ``u == 1``, deletion by size "0", duplicates, the crossed-book check, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trader.exceptions import InvalidInputError
from trader_plugins.venues.bybit.book import BybitBookSync, parse_book_message
from trader_plugins.venues.common.book import BookUpdate


BYBIT = "ws_fixtures/nautilus/crates/adapters/bybit/test_data"


@pytest.fixture(scope="module")
def fixtures(shared_data: Path) -> Path:
    """The Bybit fixtures (tests/conftest.py: skipped without the shared data, failed in CI)."""
    d = shared_data / BYBIT
    assert (d / "ws_orderbook_snapshot.json").is_file() and (d / "ws_orderbook_delta.json").is_file(), \
        f"Bybit order-book fixtures not found under {d}"
    return d


def msg(kind: str, u: int, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None,
        symbol: str = "BTCUSDT", depth: int = 50, seq: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"s": symbol, "b": bids or [], "a": asks or [], "u": u}
    if seq is not None:
        data["seq"] = seq
    return {"topic": f"orderbook.{depth}.{symbol}", "type": kind, "ts": 1000 + u, "data": data}


def synced(u: int = 10) -> BybitBookSync:
    s = BybitBookSync("BTCUSDT", 50)
    s.on_message(msg("snapshot", u, [["100.0", "1"], ["99.5", "2"]], [["101.0", "3"], ["101.5", "4"]]))
    return s


def test_fixture_snapshot_then_delta(fixtures: Path) -> None:
    s = BybitBookSync("BTCUSDT", depth=1)
    snap_text = (fixtures / "ws_orderbook_snapshot.json").read_text()
    out = s.on_message(snap_text)
    assert len(out) == 1 and isinstance(out[0], BookUpdate)
    u = out[0]
    assert u.snapshot and u.venue == "bybit" and u.symbol == "BTCUSDT"
    assert (u.update_id, u.seq, u.ts_ms) == (123456789, 987654321, 1709891679000)
    assert s.book.top_bids() == [("27450.00", "0.500"), ("27449.50", "1.000")]
    assert s.book.top_asks() == [("27451.00", "0.750"), ("27451.50", "0.900")]
    # the delta: u = 123456790 continues; bid 27450.00 -> 0.400, ask 27451.00 deleted ("0")
    out = s.on_message(json.loads((fixtures / "ws_orderbook_delta.json").read_text()))
    assert [x.update_id for x in out] == [123456790] and not out[0].snapshot and out[0].seq == 987654322
    assert s.book.top_bids() == [("27450.00", "0.400"), ("27449.50", "1.000")]
    assert s.book.top_asks() == [("27451.50", "0.900")]
    assert str(s.book.best_bid) == "27450.00" and str(s.book.best_ask) == "27451.50"
    assert s.counts["gaps"] == 0 and s.counts["snapshots"] == 1 and not s.wants_snapshot
    # the same delta again is a duplicate: dropped, the book untouched
    assert s.on_message((fixtures / "ws_orderbook_delta.json").read_bytes()) == []
    assert s.counts["dropped"] == 1 and s.book.top_asks() == [("27451.50", "0.900")]


def test_delta_before_any_snapshot_is_dropped() -> None:
    s = BybitBookSync("BTCUSDT", 50)
    assert s.on_message(msg("delta", 5, [["100", "1"]])) == []
    assert s.counts["dropped"] == 1 and not s.book.bids and not s.wants_snapshot


def test_gap_clears_the_book_and_wants_a_snapshot() -> None:
    s = synced(10)
    assert len(s.on_message(msg("delta", 11, [["100.0", "5"]]))) == 1
    assert s.on_message(msg("delta", 13, [["100.0", "6"]])) == []  # 12 is missing
    assert s.counts["gaps"] == 1 and s.counts["resyncs"] == 1 and s.wants_snapshot
    assert not s.book.bids and not s.book.asks
    # deltas after the gap are dropped until the new subscription's snapshot
    assert s.on_message(msg("delta", 14, [["100.0", "7"]])) == [] and s.wants_snapshot
    out = s.on_message(msg("snapshot", 20, [["99.0", "1"]], [["100.5", "1"]]))
    assert [x.update_id for x in out] == [20] and not s.wants_snapshot
    assert s.book.top_bids() == [("99.0", "1")] and s.book.top_asks() == [("100.5", "1")]
    assert len(s.on_message(msg("delta", 21, [], [["100.5", "2"]]))) == 1
    assert s.book.top_asks() == [("100.5", "2")]


def test_any_snapshot_resets_the_book_even_with_a_lower_u() -> None:
    s = synced(10)
    s.on_message(msg("delta", 11, [["98.0", "1"]]))
    out = s.on_message(msg("snapshot", 7, [["90", "1"]], [["91", "1"]]))
    assert len(out) == 1 and s.book.top_bids() == [("90", "1")] and s.book.top_asks() == [("91", "1")]
    assert s.sync.last_id == 7 and s.counts["gaps"] == 0
    assert len(s.on_message(msg("delta", 8, [["90", "0"], ["89", "4"]]))) == 1
    assert s.book.top_bids() == [("89", "4")]


def test_u_equal_1_is_a_restart_and_replaces_the_book() -> None:
    s = synced(500)
    out = s.on_message(msg("delta", 1, [["50", "1"]], [["51", "1"]]))  # Bybit restarted: u is 1 again
    assert len(out) == 1 and out[0].snapshot
    assert s.book.top_bids() == [("50", "1")] and s.book.top_asks() == [("51", "1")]  # the old levels are gone
    assert len(s.on_message(msg("delta", 2, [["49", "1"]]))) == 1 and s.counts["gaps"] == 0


def test_size_zero_deletes_and_unknown_delete_is_harmless() -> None:
    s = synced(10)
    s.on_message(msg("delta", 11, [["100.0", "0"], ["98.0", "0"]], [["101.5", "0.000"]]))
    assert s.book.top_bids() == [("99.5", "2")] and s.book.top_asks() == [("101.0", "3")]
    # the same price written differently is the same level
    s.on_message(msg("delta", 12, [["99.50", "7"]]))
    assert s.book.top_bids() == [("99.50", "7")] and len(s.book.bids) == 1


def test_crossed_book_is_a_resync() -> None:
    s = synced(10)
    assert s.on_message(msg("delta", 11, [["101.0", "1"]])) == []  # bid at the best ask
    assert s.counts["crossed"] == 1 and s.counts["gaps"] == 1 and s.wants_snapshot and not s.book.bids
    # a crossed snapshot is refused as well
    assert s.on_message(msg("snapshot", 30, [["10", "1"]], [["9", "1"]])) == [] and s.counts["crossed"] == 2
    assert s.on_message(msg("snapshot", 31, [["9", "1"]], [["10", "1"]]))[0].update_id == 31


def test_reset_on_reconnect() -> None:
    s = synced(10)
    s.reset()
    assert not s.book.bids and s.counts["resyncs"] == 1 and not s.sync.synced
    assert s.on_message(msg("delta", 11, [["1", "1"]])) == []


@pytest.mark.parametrize(("doc", "problem"), [
    ({"topic": "orderbook.50.BTCUSDT", "type": "partial", "ts": 1, "data": {"s": "BTCUSDT", "b": [], "a": [], "u": 2}},
     "type must be 'snapshot' or 'delta'"),
    ({"topic": "tickers.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT", "b": [], "a": [], "u": 2}},
     "is not orderbook.<depth>.<symbol>"),
    ({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "ETHUSDT", "b": [], "a": [], "u": 2}},
     "data.s 'ETHUSDT' is not the topic's symbol"),
    ({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT", "b": [["1.x", "1"]], "a": [], "u": 2}},
     r"b\[0\] price: not a decimal number: '1.x'"),
    ({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT", "b": [], "a": [["1", "-2"]], "u": 2}},
     r"a\[0\] size: must be a finite number >= 0"),
    ({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT", "b": [], "a": []}},
     "missing required field `u`"),
    ({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT", "b": [], "a": [], "u": 0}},
     "u must be >= 1"),
])
def test_bad_messages_are_named(doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        parse_book_message(doc)


def test_other_topic_and_bad_settings_are_refused() -> None:
    s = synced(10)
    with pytest.raises(InvalidInputError, match="orderbook.50.BTCUSDT: got a message of orderbook.200.BTCUSDT"):
        s.on_message(msg("delta", 11, depth=200))
    with pytest.raises(InvalidInputError, match="not JSON|malformed|Expected|truncated"):
        s.on_message("{not json")
    with pytest.raises(InvalidInputError, match="depth must be one of"):
        BybitBookSync("BTCUSDT", 25)
    with pytest.raises(InvalidInputError, match="alphanumeric"):
        BybitBookSync("BTC-USDT", 50)
