"""OKX v5 order-book sync (channel ``books``) against the documented payloads in
../shared/data/ws_fixtures (nautilus's OKX test data), OKX's worked checksum examples, and
hand-built sequences: the seqId/prevSeqId link, no-change updates, gaps, duplicates, deletion,
checksum mismatch, the crossed-book check, bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from trader.exceptions import InvalidInputError
from trader_plugins.venues.common.book import Level
from trader_plugins.venues.okx.book import OkxBookSync, checksum, checksum_string, parse_book_message


OKX = "ws_fixtures/nautilus/crates/adapters/okx/test_data"


@pytest.fixture(scope="module")
def fixtures(shared_data: Path) -> Path:
    """The OKX fixtures (tests/conftest.py: skipped without the shared data, failed in CI)."""
    d = shared_data / OKX
    assert (d / "ws_books_snapshot.json").is_file() and (d / "ws_books_update.json").is_file(), \
        f"OKX order-book fixtures not found under {d}"
    return d


def _levels(raw: list[list[str]]) -> list[Level]:
    return [(x[0], x[1]) for x in raw]


def push(action: str, seq: int, prev: int, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None,
         cs: int | None = None, inst: str = "BTC-USDT") -> dict[str, Any]:
    """A ``books`` push; ``cs`` None: the checksum of the book this push leaves is left for the
    caller to fill in (0 here, i.e. not checked)."""
    d: dict[str, Any] = {"asks": [[p, s, "0", "1"] for p, s in asks or []],
                         "bids": [[p, s, "0", "1"] for p, s in bids or []],
                         "ts": "1597026383085", "seqId": seq, "prevSeqId": prev, "checksum": 0 if cs is None else cs}
    return {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [d]}


# ---- the checksum ---------------------------------------------------------------------------------

def test_checksum_matches_okx_documented_example() -> None:
    # OKX's API docs, "checksum" of the depth channel: bids 3366.1/7, 3366/6; asks 3366.8/9, 3368/8 ->
    # "3366.1:7:3366.8:9:3366:6:3368:8", checksum -1881014294 (a signed 32-bit value).
    bids, asks = [("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3366:6:3368:8"
    assert checksum(bids, asks) == -1881014294


def test_checksum_uneven_sides_documented_example() -> None:
    # OKX's second example: one bid, three asks -> "3366.1:7:3366.8:9:3368:8:3372:8", 831078360.
    bids, asks = [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert checksum(bids, asks) == 831078360


def test_checksum_covers_the_top_25_levels_only() -> None:
    bids = [(str(1000 - i), "1") for i in range(30)]
    asks = [(str(2000 + i), "2") for i in range(30)]
    s = checksum_string(bids, asks)
    assert s.startswith("1000:1:2000:2:999:1:2001:2") and s.endswith("976:1:2024:2")
    assert "975:1" not in s and "2025:2" not in s
    assert checksum(bids, asks) == checksum(bids[:25], asks[:25]) != checksum(bids[:24], asks[:25])


def test_book_checksum_uses_the_venue_text_sorted_best_first() -> None:
    # levels arrive out of order and "3366.0" is the venue's text: the book hashes it as sent
    s = OkxBookSync("BTC-USDT")
    bids, asks = [["3366", "6"], ["3366.1", "7"]], [["3368", "8"], ["3366.8", "9"]]
    out = s.on_message(push("snapshot", 1, -1, bids, asks, cs=-1881014294))
    assert len(out) == 1 and s.counts["checksum_mismatch"] == 0 and s.sync.synced


# ---- the fixtures ---------------------------------------------------------------------------------

def test_fixture_snapshot_checksum_is_illustrative(fixtures: Path) -> None:
    # The fixture is OKX's documentation example, cut down to 8 levels a side: its checksum
    # (-855196043) was computed over the full book, not over these levels (they give -2102840145),
    # so it does not match. That is the mismatch path: the book is dropped and a resync wanted.
    doc = json.loads((fixtures / "ws_books_snapshot.json").read_text())
    d = doc["data"][0]
    assert d["checksum"] == -855196043
    assert checksum(_levels(d["bids"]), _levels(d["asks"])) == -2102840145
    s = OkxBookSync("BTC-USDT")
    assert s.on_message(doc) == []
    assert s.counts["checksum_mismatch"] == 1 and s.counts["gaps"] == 1 and s.wants_snapshot
    assert not s.book.bids and not s.book.asks


def test_fixture_snapshot_then_update(fixtures: Path) -> None:
    # The same two pushes with the checksum of their own levels: the snapshot (prevSeqId -1,
    # seqId 123456) then the update (prevSeqId 123456, seqId 123457) that links to it.
    snap = json.loads((fixtures / "ws_books_snapshot.json").read_text())
    upd = json.loads((fixtures / "ws_books_update.json").read_text())
    d = snap["data"][0]
    good = checksum(_levels(d["bids"]), _levels(d["asks"]))
    snap["data"][0]["checksum"] = good
    s = OkxBookSync("BTC-USDT")
    out = s.on_message(snap)
    assert len(out) == 1 and out[0].snapshot and out[0].prev_id == -1 and out[0].update_id == 123456
    assert out[0].ts_ms == 1597026383085 and out[0].venue == "okx" and out[0].symbol == "BTC-USDT"
    assert s.book.top_bids(2) == [("8476.97", "256"), ("8475.55", "101")]
    assert s.book.top_asks(2) == [("8476.98", "415"), ("8477", "7")]
    assert len(s.book.bids) == 8 and len(s.book.asks) == 8
    # the update sets the same levels again: the book is unchanged, so is its checksum
    upd["data"][0]["checksum"] = good
    out = s.on_message(json.dumps(upd))
    assert [(x.prev_id, x.update_id, x.snapshot) for x in out] == [(123456, 123457, False)]
    assert s.counts["gaps"] == 0 and s.counts["checksum_mismatch"] == 0 and s.sync.last_id == 123457
    # as shipped, its checksum is the illustrative one: a mismatch
    upd["data"][0]["checksum"] = -855196043
    upd["data"][0]["prevSeqId"], upd["data"][0]["seqId"] = 123457, 123458
    assert s.on_message(upd) == [] and s.counts["checksum_mismatch"] == 1 and s.wants_snapshot


# ---- sequences ------------------------------------------------------------------------------------

def _cs(bids: list[list[str]], asks: list[list[str]]) -> int:
    return checksum([(p, s) for p, s in bids], [(p, s) for p, s in asks])


def synced() -> OkxBookSync:
    s = OkxBookSync("BTC-USDT")
    bids, asks = [["100", "1"], ["99", "2"]], [["101", "3"], ["102", "4"]]
    assert len(s.on_message(push("snapshot", 10, -1, bids, asks, cs=_cs(bids, asks)))) == 1
    return s


def test_update_applies_deletes_and_checks() -> None:
    s = synced()
    # 99 deleted, 100 resized, ask 101.5 added -> bids 100/5; asks 101/3, 101.5/1, 102/4
    after_b, after_a = [["100", "5"]], [["101", "3"], ["101.5", "1"], ["102", "4"]]
    out = s.on_message(push("update", 11, 10, [["99", "0"], ["100", "5"]], [["101.5", "1"]], cs=_cs(after_b, after_a)))
    assert len(out) == 1 and s.book.top_bids() == [("100", "5")]
    assert s.book.top_asks() == [("101", "3"), ("101.5", "1"), ("102", "4")]
    assert s.counts["checksum_mismatch"] == 0 and s.counts["checksum_skipped"] == 0


def test_no_change_update_keeps_the_sequence() -> None:
    s = synced()
    bids, asks = [["100", "1"], ["99", "2"]], [["101", "3"], ["102", "4"]]
    out = s.on_message(push("update", 10, 10, cs=_cs(bids, asks)))  # seqId == prevSeqId: nothing changed
    assert len(out) == 1 and s.sync.last_id == 10 and s.counts["gaps"] == 0
    assert len(s.on_message(push("update", 11, 10, [["98", "1"]]))) == 1 and s.sync.last_id == 11


def test_sequence_reset_links_through_prev_seq_id() -> None:
    s = synced()
    # after a maintenance seqId may start lower: the prevSeqId link is what counts
    assert len(s.on_message(push("update", 3, 10, [["98", "1"]]))) == 1 and s.sync.last_id == 3


def test_gap_and_duplicate() -> None:
    s = synced()
    upd = push("update", 11, 10, [["98", "1"]])
    assert len(s.on_message(upd)) == 1
    assert s.on_message(upd) == [] and s.counts["dropped"] == 1 and s.counts["gaps"] == 0  # sent twice
    assert s.on_message(push("update", 14, 13, [["97", "1"]])) == []  # 12 and 13 are lost
    assert s.counts["gaps"] == 1 and s.wants_snapshot and not s.book.bids
    assert s.on_message(push("update", 15, 14, [["96", "1"]])) == [] and s.counts["dropped"] == 2
    out = s.on_message(push("snapshot", 20, -1, [["90", "1"]], [["91", "1"]], cs=_cs([["90", "1"]], [["91", "1"]])))
    assert len(out) == 1 and not s.wants_snapshot and s.book.top_bids() == [("90", "1")]


def test_checksum_mismatch_on_update_is_a_resync() -> None:
    s = synced()
    good = _cs([["100", "1"], ["99", "2"]], [["101", "3"], ["102", "4"]])
    assert s.on_message(push("update", 11, 10, [], [], cs=good + 1)) == []
    assert s.counts["checksum_mismatch"] == 1 and s.counts["resyncs"] == 1 and s.wants_snapshot


def test_zero_checksum_is_not_checked_unless_asked_and_can_be_turned_off() -> None:
    s = synced()
    assert len(s.on_message(push("update", 11, 10, [["98", "1"]], cs=0))) == 1  # OKX's deprecated field: 0
    assert s.counts["checksum_skipped"] == 1 and s.counts["checksum_mismatch"] == 0
    off = OkxBookSync("BTC-USDT", verify_checksum=False)
    assert len(off.on_message(push("snapshot", 1, -1, [["1", "1"]], [["2", "1"]], cs=12345))) == 1
    assert off.counts["checksum_mismatch"] == 0 and off.counts["checksum_skipped"] == 0


def test_crossed_book_is_a_resync() -> None:
    s = synced()
    assert s.on_message(push("update", 11, 10, [["101", "1"]])) == []  # bid at the best ask
    assert s.counts["crossed"] == 1 and s.counts["gaps"] == 1 and s.wants_snapshot and not s.book.asks


def test_update_before_snapshot_and_reconnect() -> None:
    s = OkxBookSync("BTC-USDT")
    assert s.on_message(push("update", 11, 10, [["1", "1"]])) == [] and s.counts["dropped"] == 1
    s = synced()
    s.reset()
    assert not s.book.bids and s.counts["resyncs"] == 1 and s.on_message(push("update", 11, 10)) == []


def _bad(**change: Any) -> dict[str, Any]:
    doc = push("update", 11, 10, [["1", "1"]])
    doc = copy.deepcopy(doc)
    for k, v in change.items():
        if k in ("action",):
            doc[k] = v
        else:
            doc["data"][0][k] = v
    return doc


@pytest.mark.parametrize(("doc", "problem"), [
    (_bad(action="partial"), "action must be 'snapshot' or 'update'"),
    (_bad(ts="16:00"), r"data\[0\].ts: expected milliseconds"),
    (_bad(bids=[["1,5", "1", "0", "1"]]), r"data\[0\].bids\[0\] price: not a decimal number: '1,5'"),
    (_bad(asks=[["2"]]), r"data\[0\].asks\[0\]: expected \[price, size\]"),
    (_bad(seqId="x"), "Expected `int`"),
    ({"arg": {"channel": "books"}, "action": "update", "data": []}, "missing required field `instId`"),
])
def test_bad_pushes_are_named(doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        parse_book_message(doc)


def test_other_instrument_or_channel_and_bad_settings_are_refused() -> None:
    s = synced()
    with pytest.raises(InvalidInputError, match="got a push of ETH-USDT"):
        s.on_message(push("update", 11, 10, inst="ETH-USDT"))
    other = push("update", 11, 10)
    other["arg"]["channel"] = "books5"
    with pytest.raises(InvalidInputError, match="got a push of channel 'books5'"):
        s.on_message(other)
    with pytest.raises(InvalidInputError, match="channel must be 'books'"):
        OkxBookSync("BTC-USDT", "books5")
    with pytest.raises(InvalidInputError, match="inst_id must look like"):
        OkxBookSync("BTC USDT")
