"""The Bybit v5 and OKX v5 market-data clients (venues/bybit/data.py, venues/okx/data.py on
venues/common/feed.py): the documented payloads as the node's quotes and trades (hand-computed),
then each client against its local front (python/trader/exchange/bybit.py, okx.py): every quote
equals the front's top of book at the update it came with, after the snapshot and after every
resync of a chaos gap, dup or reorder; no trade twice; a stalled stream reconnected; a dropped
one too; the options' errors. The fixtures are read in place under $TRADER_SHARED_DATA (a
missing folder fails under CI=true, see tests/conftest.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.exchange._front_client import FEED, fixture, fixtures_dir, wait_books
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader_plugins.venues.bybit.book import BybitBookSync
from trader_plugins.venues.bybit.config import BybitConfig
from trader_plugins.venues.bybit.data import BybitDataClient
from trader_plugins.venues.bybit.plugin import BybitFeedClient
from trader_plugins.venues.bybit.plugin import trader_data_clients as bybit_clients
from trader_plugins.venues.common.book import BookUpdate
from trader_plugins.venues.common.feed import FeedDisconnected, StreamBookFeed, trade_id
from trader_plugins.venues.okx.book import OkxBookSync, checksum
from trader_plugins.venues.okx.config import OkxConfig
from trader_plugins.venues.okx.data import OkxDataClient
from trader_plugins.venues.okx.plugin import OkxFeedClient
from trader_plugins.venues.okx.plugin import trader_data_clients as okx_clients

BYBIT_FIXTURES = "ws_fixtures/nautilus/crates/adapters/bybit/test_data"
OKX_FIXTURES = "ws_fixtures/nautilus/crates/adapters/okx/test_data"
ACCOUNT: dict[str, Any] = {"api_key": "v5FeedKey0123456789abcdef", "secret": "v5FeedSecret0123456789abcdef",
                           "passphrase": "v5-feed-pass", "balances": {"USDT": 1000, "BTC": 1}}


# ------------------------------------------------------------------------------------------------
# documented payloads (no network)
# ------------------------------------------------------------------------------------------------
def test_bybit_documented_book_and_trade(shared_data: Path) -> None:
    data = fixtures_dir(shared_data, BYBIT_FIXTURES, "Bybit")
    feed = BybitDataClient(BybitConfig(category="linear", symbols=("BTCUSDT",), depth=1))
    snap, delta = fixture(data, "ws_orderbook_snapshot"), fixture(data, "ws_orderbook_delta")
    # the snapshot's best levels: bid 27450.00 x 0.500, ask 27451.00 x 0.750, at its ts (ms)
    assert feed.handle(json.dumps(snap), 1) == [("quote", 1709891679000 * 10**6, 27450.0, 27451.0, 0.5, 0.75)]
    # the delta sets the bid to 0.400 and deletes the ask at 27451.00: 27451.50 x 0.900 is the best
    assert feed.handle(json.dumps(delta), 2) == [("quote", 1709891679500 * 10**6, 27450.0, 27451.5, 0.4, 0.9)]
    # the same delta again: a duplicate u, dropped; no quote
    assert feed.handle(json.dumps(delta), 3) == []
    assert feed.counts["dropped"] == 1 and feed.counts["quotes"] == 2
    # a documented trade row (the fixture's topic is an older name: the row under publicTrade.SYM)
    row = fixture(data, "ws_public_trade")["data"][0]
    msg = json.dumps({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": row["T"], "data": [row]})
    uuid = "9dc75fca-4bdd-4773-9f78-6f5d7ab2a110"
    assert row["i"] == uuid
    (trade,) = feed.handle(msg, 4)
    # its T (…679000 ms) is older than the delta's ts (…679500): the time stamp does not go back
    assert trade == ("trade", 1709891679500 * 10**6, 27451.0, 0.01, "buy", trade_id(uuid))
    assert 0 <= trade[5] < 2**63 and trade_id(uuid) == trade_id(str(uuid))
    assert feed.handle(msg, 5) == [] and feed.counts["duplicate_trades"] == 1
    # a later trade carries its own time; a numeric id is the id itself
    row2 = dict(row, i="2", T=row["T"] + 700, S="Sell")
    (t2,) = feed.handle(json.dumps({"topic": "publicTrade.BTCUSDT", "data": [row2]}), 6)
    assert t2 == ("trade", 1709891679700 * 10**6, 27451.0, 0.01, "sell", 2)


def test_bybit_gap_asks_for_a_snapshot(shared_data: Path) -> None:
    data = fixtures_dir(shared_data, BYBIT_FIXTURES, "Bybit")
    feed = BybitDataClient(BybitConfig(category="linear", symbols=("BTCUSDT",), depth=1))
    snap, delta = fixture(data, "ws_orderbook_snapshot"), fixture(data, "ws_orderbook_delta")
    feed.handle(json.dumps(snap), 1)
    delta["data"]["u"] += 1  # u skips one: a gap
    assert feed.handle(json.dumps(delta), 2) == []
    assert feed.books["BTCUSDT"].wants_snapshot and feed.counts["gaps"] == 1
    # the resubscription: unsubscribe then subscribe the book topic (the answer starts with a snapshot)
    assert feed.unsubscribe_messages("BTCUSDT") == [{"op": "unsubscribe", "args": ["orderbook.1.BTCUSDT"]}]
    assert feed.subscribe_messages("BTCUSDT", True, False) == [{"op": "subscribe", "args": ["orderbook.1.BTCUSDT"]}]
    # the snapshot is in: the same top as before is a quote again (the book was lost meanwhile)
    assert feed.handle(json.dumps(snap), 3) == [("quote", 1709891679000 * 10**6, 27450.0, 27451.0, 0.5, 0.75)]


def test_okx_documented_book_and_trade(shared_data: Path) -> None:
    data = fixtures_dir(shared_data, OKX_FIXTURES, "OKX")
    feed = OkxDataClient(OkxConfig(inst_type="SPOT", symbols=("BTC-USDT",)))
    snap, update = fixture(data, "ws_books_snapshot"), fixture(data, "ws_books_update")
    # the documented snapshot's checksum is not the CRC32 of its own levels: refused, resync wanted
    d = snap["data"][0]
    assert checksum([tuple(x[:2]) for x in d["bids"][:25]], [tuple(x[:2]) for x in d["asks"][:25]]) != d["checksum"]
    assert feed.handle(json.dumps(snap), 1) == [] and feed.counts["checksum_mismatch"] == 1
    assert feed.books["BTC-USDT"].wants_snapshot
    # with checksum 0 (OKX since June 2026: not checked): best bid 8476.97 x 256, ask 8476.98 x 415
    d["checksum"] = 0
    assert feed.handle(json.dumps(snap), 1) == [("quote", 1597026383085 * 10**6, 8476.97, 8476.98, 256.0, 415.0)]
    assert feed.counts["checksum_skipped"] == 1
    # the update links (prevSeqId 123456), with the true checksum of the book it leaves (its levels
    # are the snapshot's): it passes, and the top is as it was: no quote
    book = feed.books["BTC-USDT"].book
    update["data"][0]["checksum"] = checksum(book.top_bids(25), book.top_asks(25))
    assert feed.handle(json.dumps(update), 2) == []
    assert feed.counts["checksum_mismatch"] == 1
    assert feed.counts["gaps"] == 1 and feed.books["BTC-USDT"].book.best_bid == Decimal("8476.97")  # the checksum's
    # a wrong checksum: a resync
    bad = json.loads(json.dumps(update))
    bad["data"][0].update(prevSeqId=123457, seqId=123458, checksum=12345)
    assert feed.handle(json.dumps(bad), 3) == [] and feed.counts["checksum_mismatch"] == 2
    assert feed.books["BTC-USDT"].wants_snapshot
    # a documented trade (instrument BTC-USD)
    tfeed = OkxDataClient(OkxConfig(inst_type="SPOT", symbols=("BTC-USD",)))
    msg = json.dumps(fixture(data, "ws_trades"))
    assert tfeed.handle(msg, 4) == [("trade", 1630048897897 * 10**6, 42219.9, 0.12060306, "buy", 130639474)]
    assert tfeed.handle(msg, 5) == [] and tfeed.counts["duplicate_trades"] == 1
    assert tfeed.handle("pong", 6) == [] and tfeed.counts["undecodable"] == 0


def test_okx_swap_sizes_are_base_units(shared_data: Path) -> None:
    data = fixtures_dir(shared_data, OKX_FIXTURES, "OKX")
    feed = OkxDataClient(OkxConfig(inst_type="SWAP", symbols=("BTC-USDT-SWAP",)), ct_val=Decimal("0.01"))
    assert feed.symbol == "BTCUSDT" and feed.market == "usdm"
    snap = fixture(data, "ws_books_snapshot")
    snap["arg"]["instId"] = "BTC-USDT-SWAP"
    snap["data"][0]["checksum"] = 0  # not its levels' CRC32 (see above): OKX's "not checked"
    # 256 and 415 contracts of 0.01 BTC
    assert feed.handle(json.dumps(snap), 1) == [("quote", 1597026383085 * 10**6, 8476.97, 8476.98, 2.56, 4.15)]


def test_refused_messages_are_counted_not_raised() -> None:
    feed = BybitDataClient(BybitConfig(category="spot", symbols=("BTCUSDT",)))
    assert feed.handle('{"success": false, "ret_msg": "Invalid topic: x", "op": "subscribe"}', 1) == []
    assert feed.handle("not json", 2) == []
    assert feed.handle('{"topic": "publicTrade.BTCUSDT", "data": [{"T": 1, "s": "BTCUSDT", "S": "Up", "v": "1", '
                       '"p": "1", "i": "1"}]}', 3) == []
    assert feed.counts["rejected"] == 1 and feed.counts["undecodable"] == 2
    okx = OkxDataClient(OkxConfig(inst_type="SPOT", symbols=("BTC-USDT",)))
    assert okx.handle('{"event": "error", "code": "60018", "msg": "Wrong URL or channel"}', 1) == []
    assert okx.counts["rejected"] == 1


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("client,options,message", [
    (BybitFeedClient(), {"category": "linear", "colour": "red"}, r"feed bybit: unknown option 'colour' \(known: category"),
    (BybitFeedClient(), {"category": "inverse"}, r"feed bybit: category must be 'spot' or 'linear', got 'inverse'"),
    (BybitFeedClient(), {"depth": "fifty"}, r"feed bybit: option depth: bad value 'fifty'"),
    (BybitFeedClient(), {"category": "spot", "depth": "500"}, r"feed bybit: depth must be one of \(1, 50, 200\)"),
    (BybitFeedClient(), {"stale_after_s": "0"}, r"feed bybit: stale_after_s must be a number > 0"),
    (BybitFeedClient(), {"symbols": "BTCUSDT,ETHUSDT"}, r"feed bybit: symbols: one symbol per feed"),
    (BybitFeedClient(), {"symbol": "BTCUSDT", "symbols": "ETHUSDT"}, r"feed bybit: give symbol or symbols, not both"),
    (BybitFeedClient(), {"testnet": "maybe"}, r"feed bybit: option testnet: bad value 'maybe'"),
    (OkxFeedClient(), {"inst_type": "FUTURES"}, r"feed okx: inst_type must be 'SPOT' or 'SWAP'"),
    (OkxFeedClient(), {"inst_type": "SWAP", "symbol": "BTC-USDT"}, r"feed okx: symbols must be SWAP instIds"),
    (OkxFeedClient(), {"channel": "books5"}, r"feed okx: channel: the data client syncs 'books'"),
    (OkxFeedClient(), {"ws_public_url": "http://x"}, r"feed okx: ws_public_url must start with ws:// or wss://"),
    (OkxFeedClient(), {"ping_s": "soon"}, r"feed okx: option ping_s: bad value 'soon'"),
])
def test_options_errors_name_the_option(client: Any, options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        client.open([], options)


def test_files_and_unreachable_venues_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"feed bybit: takes options .*not files: 'x.gz'"):
        BybitFeedClient().open(["x.gz"], {})
    with pytest.raises(InvalidInputError, match=r"feed okx: cannot read http://127.0.0.1:9/api/v5/public/instruments"):
        OkxFeedClient().open([], {"rest_url": "http://127.0.0.1:9", "request_timeout_s": "2"})
    swap = OkxDataClient(OkxConfig(inst_type="SWAP", symbols=("BTC-USDT-SWAP",)))

    async def first() -> Any:
        async for b in swap.batches():
            return b

    with pytest.raises(InvalidInputError, match=r"feed okx: BTC-USDT-SWAP: the contract value \(ctVal\) is unknown"):
        asyncio.run(first())


def test_hookimpls_name_the_clients() -> None:
    (b,) = bybit_clients()
    (o,) = okx_clients()
    assert (b.name, o.name) == ("bybit", "okx") and b.description and o.description


# ------------------------------------------------------------------------------------------------
# against the local fronts
# ------------------------------------------------------------------------------------------------
class _Recording:
    """A book sync that remembers the market's update id of the last update applied (Bybit's
    ``seq``, OKX's ``seqId``): the id the front's ``top_at`` knows the top of book at."""

    def __init__(self, inner: Any, key: str) -> None:
        self.inner, self.key = inner, key
        self.last: int | None = None
        self.book = inner.book

    @property
    def wants_snapshot(self) -> bool:
        return bool(self.inner.wants_snapshot)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.inner.counts)

    def reset(self) -> None:
        self.inner.reset()

    def on_message(self, msg: Any) -> list[BookUpdate]:
        out: list[BookUpdate] = self.inner.on_message(msg)
        if out:
            self.last = getattr(out[-1], self.key)
        return out


class RecBybit(BybitDataClient):
    def make_book(self, symbol: str) -> Any:
        return _Recording(BybitBookSync(symbol, self.config.depth), "seq")


class RecOkx(OkxDataClient):
    def make_book(self, symbol: str) -> Any:
        return _Recording(OkxBookSync(symbol), "update_id")


VENUES: dict[str, tuple[str, Any]] = {"bybit": ("usdm", lambda ex, **kw: RecBybit(BybitConfig(
              category="linear", symbols=("BTCUSDT",), rest_url=ex.base_url, ws_public_url=ex.stream_urls["linear"],
              **kw))),
          "okx": ("usdm", lambda ex, **kw: RecOkx(OkxConfig(
              inst_type="SWAP", symbols=("BTC-USDT-SWAP",), rest_url=ex.base_url, ws_public_url=ex.stream_urls["public"],
              **kw)))}


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[ExchangeHandle]:
    venue, chaos = request.param
    with serve_in_thread(venue=venue, feed_options=FEED, accounts=[ACCOUNT], chaos=chaos, seed=5,
                         ping_interval=0.5) as ex:
        wait_books(ex)
        yield ex


async def _collect(feed: StreamBookFeed, ex: ExchangeHandle, market: str, seconds: float,
                   checks: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The feed's events for ``seconds``; each quote with the front's top at the update it came
    with (looked up at once, while the front still keeps it) and the resyncs so far into ``checks``."""
    out: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + seconds
    it = feed.batches()
    try:
        while time.monotonic() < deadline:
            try:
                batch = await asyncio.wait_for(it.__anext__(), max(0.05, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            for e in batch:
                out.append(e)
                if e[0] == "quote":
                    seq = feed.books[feed.inst_id].last  # type: ignore[attr-defined]
                    checks.append((seq, e, await asyncio.to_thread(ex.top_at, market, seq), feed.counts["resyncs"]))
    finally:
        await it.aclose()
    return out


def _check_quotes(checks: list[tuple[Any, ...]], at_least: int) -> dict[int, int]:
    """Every quote whose update the front still keeps equals its top; the quotes compared, by
    the number of resyncs before them."""
    compared: dict[int, int] = {}
    for seq, q, top, resyncs in checks:
        if top is None:  # the front no longer keeps that update's top
            continue
        assert (q[2], q[3]) == (float(top[0]), float(top[1])), (seq, q, top)
        compared[resyncs] = compared.get(resyncs, 0) + 1
    assert sum(compared.values()) >= at_least, (compared, len(checks))
    return compared


def _no_duplicate_trades(events: list[tuple[Any, ...]]) -> list[int]:
    ids = [e[5] for e in events if e[0] == "trade"]
    assert len(ids) == len(set(ids)), "a trade handed on twice"
    ts = [e[1] for e in events]
    assert ts == sorted(ts), "time stamps went back"
    return ids


@pytest.mark.parametrize("served", [("bybit", None), ("okx", None)], indirect=True, ids=["bybit", "okx"])
def test_quotes_are_the_fronts_top_and_trades_are_all_there(served: ExchangeHandle) -> None:
    ex = served
    market, make = VENUES[ex.venue]
    feed = make(ex)
    info = feed.instrument()
    assert info["price_precision"] == 2 and info["size_precision"] == 3 and info["market"] == "usdm"
    checks: list[Any] = []
    events = asyncio.run(_collect(feed, ex, market, 3.0, checks))
    _check_quotes(checks, 10)
    ids = _no_duplicate_trades(events)
    # no chaos: every trade of the run, in order, none missing
    assert len(ids) >= 50 and ids == list(range(ids[0], ids[0] + len(ids)))
    assert feed.counts["snapshots"] == 1 and feed.counts["gaps"] == 0


@pytest.mark.parametrize("served", [("bybit", "gap=0.15,dup=0.15,reorder=0.1"), ("okx", "gap=0.15,dup=0.15,reorder=0.1")],
                         indirect=True, ids=["bybit", "okx"])
def test_chaos_gaps_resync_and_quotes_stay_true(served: ExchangeHandle) -> None:
    ex = served
    market, make = VENUES[ex.venue]
    feed = make(ex, stale_after_s=5.0)
    feed.instrument()
    checks: list[Any] = []
    events = asyncio.run(_collect(feed, ex, market, 6.0, checks))
    c = feed.counts
    assert c["gaps"] >= 2 and c["resubscribes"] >= 2 and c["snapshots"] >= 3, c
    assert c["duplicate_trades"] >= 1, c  # dup chaos on the trade channel, dropped here
    by_resyncs = _check_quotes(checks, 10)
    # quotes compared before any resync, and after the first and the second (each from the
    # snapshot of a new subscription, then its deltas)
    assert {0, 1, 2} <= set(by_resyncs), by_resyncs
    assert ex.stats()["chaos"].get("gap", 0) >= 2
    _no_duplicate_trades(events)


@pytest.mark.parametrize("served", [("bybit", None), ("okx", None)], indirect=True, ids=["bybit", "okx"])
def test_stalled_stream_is_reconnected(served: ExchangeHandle) -> None:
    ex = served
    market, make = VENUES[ex.venue]
    feed = make(ex, stale_after_s=1.0)
    feed.instrument()

    async def go() -> tuple[list[Any], list[Any]]:
        before: list[Any] = []
        after: list[Any] = []
        it = feed.batches()

        async def unstall() -> None:
            # every new connection would stall too: the chaos ends once the client noticed
            while feed.counts["stale"] < 1:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(ex.set_chaos, None)

        helper = None
        try:
            while len(before) <= 20:
                before += await asyncio.wait_for(it.__anext__(), 10)
            await asyncio.to_thread(ex.set_chaos, "stall=1")
            helper = asyncio.ensure_future(unstall())
            while len(after) <= 20:
                batch = await asyncio.wait_for(it.__anext__(), 15)
                (after if feed.counts["stale"] >= 1 else before).extend(batch)
        finally:
            if helper is not None:
                helper.cancel()
            await it.aclose()
        return before, after

    before, after = asyncio.run(go())
    c = feed.counts
    assert c["stale"] >= 1 and c["reconnects"] >= 1 and len(after) > 20, c
    assert any(e[0] == "quote" for e in after)  # the new connection's snapshot: a quote again
    _no_duplicate_trades(before + after)


@pytest.mark.parametrize("served", [("bybit", None)], indirect=True, ids=["bybit"])
def test_end_on_disconnect_raises_for_a_failover(served: ExchangeHandle) -> None:
    ex = served
    feed = BybitFeedClient().open([], {"category": "linear", "symbol": "BTCUSDT", "rest_url": ex.base_url,
                                       "ws_public_url": ex.stream_urls["linear"]}, end_on_disconnect=True)

    async def go() -> int:
        n = 0
        with pytest.raises(FeedDisconnected, match=r"feed bybit: the connection to ws://.*/v5/public/linear ended"):
            async for batch in feed.batches():
                n += len(batch)
                if n > 10:
                    await asyncio.to_thread(ex.run, lambda e: [c.close() for c in list(e.connections)])
        return n

    assert asyncio.run(asyncio.wait_for(go(), 30)) > 10


@pytest.mark.parametrize("served,ping_key", [(("bybit", None), "ping_interval_s"), (("okx", None), "ping_s")],
                         indirect=["served"], ids=["bybit", "okx"])
def test_venue_pings_are_answered(served: ExchangeHandle, ping_key: str) -> None:
    """The venue's ping ({"op": "ping"} / text "ping") every ping interval; its answer is a pong,
    neither refused nor undecodable."""
    ex = served
    market, make = VENUES[ex.venue]
    feed = make(ex, **{ping_key: 0.3})
    feed.instrument()
    checks: list[Any] = []
    asyncio.run(_collect(feed, ex, market, 2.0, checks))
    c = feed.counts
    assert 3 <= c["pings"] <= 8 and c["pongs"] >= c["pings"] - 1 and c["rejected"] == 0 and c["undecodable"] == 0, c
