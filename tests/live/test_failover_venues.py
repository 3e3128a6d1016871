"""Issue 16's failover acceptance over real venue data clients and the local exchange: ``--feed
failover:primary=bybit:...;backup=...`` parsed as the CLI and the TOML ``feed`` key parse it, the
sources opened through their data clients (venues/bybit, venues/okx), a FailoverFeed over them.

The primary's connection stalls silently (the exchange sends it nothing, not even pings) and is
then dropped; the strategy's event stream (what the FailoverFeed hands the node) has no
duplicate trade, no missing trade and no silence beyond the switch time, its time stamps never
go back, the switches are in the metrics, and the primary comes back once healthy. Bounded in
time (each test well under 60 s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.exchange._front_client import FEED, wait_books
from trader._config import ConfigError
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader.live.config import FeedSpec, parse_feed
from trader.live.failover import FailoverFeed
from trader.live.failover_spec import open_failover
from trader.live.metrics import NodeMetrics
from trader_plugins.venues.bybit.plugin import BybitFeedClient
from trader_plugins.venues.okx.plugin import OkxFeedClient

ACCOUNT: dict[str, Any] = {"api_key": "failoverKey0123456789abcdef", "secret": "failoverSecret0123456789abcdef",
                           "passphrase": "failover-pass", "balances": {"USDT": 1000, "BTC": 1}}
#: The failover's staleness (the local fronts send a book update every 100 ms and ~70 trades a second).
STALE_S = 0.3
#: Scheduling slack on a shared 2-core machine: the loop timer, the switch, the consumer's turn,
#: two exchanges' loops in threads of the same process.
TOLERANCE_S = 0.25


@pytest.fixture
def v5_plugins() -> Iterator[None]:
    """The bybit and okx data clients in the plugin manager (as their entry points will put them)."""
    import trader_plugins.venues.bybit.plugin as bybit_plugin
    import trader_plugins.venues.okx.plugin as okx_plugin
    from trader.plugins import data_clients, get_plugin_manager

    pm = get_plugin_manager()
    known = data_clients(pm)
    added = [m for m in (bybit_plugin, okx_plugin) if m.__name__.split(".")[-2] not in known]
    for m in added:
        pm.register(m)
    try:
        yield
    finally:
        for m in added:
            pm.unregister(m)


class Recorder:
    """A data client that keeps the feeds it opened (to find the primary's connection)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.opened: list[Any] = []

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float = 1.0,
             end_on_disconnect: bool = False) -> Any:
        feed = self.inner.open(paths, options, speed=speed, end_on_disconnect=end_on_disconnect)
        self.opened.append(feed)
        return feed


@pytest.fixture
def bybit() -> Iterator[ExchangeHandle]:
    with serve_in_thread(venue="bybit", feed_options=FEED, accounts=[ACCOUNT], ping_interval=0.5) as ex:
        wait_books(ex)
        yield ex


def _bybit_spec(ex: ExchangeHandle) -> str:
    return f"bybit:category=linear,symbol=BTCUSDT,rest_url={ex.base_url},ws_public_url={ex.stream_urls['linear']}"


def _server_conn(ex: ExchangeHandle, feed: Any) -> Any:
    """The exchange's side of ``feed``'s connection (matched by the client's port)."""
    ws = feed.conn.ws
    assert ws is not None
    port = ws.get_extra_info("sockname")[1]

    def find(e: Any) -> Any:
        (c,) = [c for c in e.connections if not c.closed and c.ws.get_extra_info("peername")[1] == port]
        return c

    return ex.run(find)


def _stall(e: Any, conn: Any) -> None:
    conn.stalled = True  # the sender discards what it is given, pings included: a silent stream


def _drop(e: Any, conn: Any) -> None:
    conn.close()


def sample(m: NodeMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


async def _run(feed: FailoverFeed, ex: ExchangeHandle, primary: Any) -> tuple[list[tuple[float, tuple[Any, ...]]], float]:
    """Consume ``feed`` (the node's side); stall the primary's connection after 2 s, drop it
    1.5 s later, run until the primary is back and 1 s more. The events with their arrival time
    (the loop's clock), and the time of the stall."""
    loop = asyncio.get_running_loop()
    got: list[tuple[float, tuple[Any, ...]]] = []

    async def consume() -> None:
        async for batch in feed.batches():
            now = loop.time()
            got.extend((now, e) for e in batch)

    task = asyncio.ensure_future(consume())
    try:
        await asyncio.sleep(2.0)
        assert feed.active == "bybit" and got, "the primary delivers from the start"
        conn = await asyncio.to_thread(_server_conn, ex, primary)
        stalled_at = loop.time()
        await asyncio.to_thread(ex.run, _stall, conn)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(ex.run, _drop, conn)
        deadline = time.monotonic() + 15
        while not any(s.reason == "recovered" for s in feed.switches):
            assert time.monotonic() < deadline, f"the primary did not come back: {feed.switches}, {feed.counts}"
            assert not task.done(), task.result()
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return got, stalled_at


def test_primary_connection_stalls_then_drops_backup_connection_takes_over(v5_plugins: None,
                                                                          bybit: ExchangeHandle) -> None:
    """Primary and backup: two connections to the same venue (Bybit). Both carry the same trades
    (same ids, same venue time stamps): the strategy gets each trade exactly once, none missing."""
    ex = bybit
    text = (f"failover:primary={_bybit_spec(ex)};backup={_bybit_spec(ex)};stale_ms={STALE_S * 1000:g};"
            "healthy_s=1;reconnect_s=0.3")
    spec = parse_feed(text)
    assert spec.kind == "failover" and [s.kind for s in spec.sources] == ["bybit", "bybit"]
    assert spec.options == {"stale_ms": STALE_S * 1000, "healthy_s": 1.0, "reconnect_s": 0.3}
    rec = Recorder(BybitFeedClient())
    metrics = NodeMetrics()
    feed = open_failover(spec, {"bybit": rec}, metrics=metrics)
    assert feed.sources == ["bybit", "bybit2"] and feed.stale_after_s == STALE_S
    assert feed.symbol == "BTCUSDT" and feed.price_precision == 2 and feed.size_precision == 3
    primary, backup = rec.opened
    assert primary.end_on_disconnect and backup.end_on_disconnect  # a drop is seen at once

    got, stalled_at = asyncio.run(asyncio.wait_for(_run(feed, ex, primary), 45))

    # the switches: away on the silence, back once the primary was healthy again
    reasons = [(s.from_source, s.to_source, s.reason) for s in feed.switches]
    assert reasons == [("bybit", "bybit2", "stale"), ("bybit2", "bybit", "recovered")], feed.switches
    away = feed.switches[0]
    assert stalled_at < away.at <= stalled_at + STALE_S + 0.1 + TOLERANCE_S  # + the ~100 ms before the stall hit
    assert feed.active == "bybit"
    # the metrics
    assert sample(metrics, "trader_feed_switches_total", **{"from": "bybit", "to": "bybit2", "reason": "stale"}) == 1
    assert sample(metrics, "trader_feed_switches_total", **{"from": "bybit2", "to": "bybit", "reason": "recovered"}) == 1
    assert sample(metrics, "trader_feed_source_active", source="bybit") == 1
    assert sample(metrics, "trader_feed_source_active", source="bybit2") == 0
    # the strategy's stream: no duplicate, no missing trade (the synthetic market numbers its trades
    # 1, 2, 3, ...), time stamps in order, no silence longer than the switch time
    events = [e for _, e in got]
    ids = [e[5] for e in events if e[0] == "trade"]
    assert len(ids) == len(set(ids)), "a trade handed on twice"
    assert ids == list(range(ids[0], ids[0] + len(ids))), "a trade lost at a switch"
    ts = [e[1] for e in events]
    assert ts == sorted(ts)
    arrivals = [t for t, _ in got]
    silence = max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False))
    assert silence <= STALE_S + TOLERANCE_S, silence
    # the primary was down (the drop) and opened again; its events after the recovery went out
    counts = feed.counts
    assert counts["bybit"]["downs"] >= 1 and counts["bybit"]["opens"] >= 2, counts
    back = feed.switches[1].at
    assert sum(1 for t, e in got if t > back and e[0] == "trade") > 20
    assert primary.counts["reconnects"] == 0  # it does not reconnect by itself: the failover reopens it


@pytest.fixture
def okx() -> Iterator[ExchangeHandle]:
    with serve_in_thread(venue="okx", feed_options=FEED, accounts=[ACCOUNT], ping_interval=0.5) as ex:
        wait_books(ex)
        yield ex


def test_primary_venue_stalls_then_drops_other_venue_takes_over(v5_plugins: None, bybit: ExchangeHandle,
                                                                okx: ExchangeHandle) -> None:
    """Primary Bybit, backup OKX (the same instrument on another venue): the switch away on the
    silence and back once Bybit is healthy, no silence beyond the switch time, time stamps in
    order, each venue's trades once, the OKX SWAP sizes in base units."""
    text = (f"failover:primary={_bybit_spec(bybit)};backup=okx:inst_type=SWAP,symbol=BTC-USDT-SWAP,"
            f"rest_url={okx.base_url},ws_public_url={okx.stream_urls['public']};stale_ms={STALE_S * 1000:g};"
            "healthy_s=1;reconnect_s=0.3")
    spec = parse_feed(text)
    rec = Recorder(BybitFeedClient())
    metrics = NodeMetrics()
    feed = open_failover(spec, {"bybit": rec, "okx": OkxFeedClient()}, metrics=metrics)
    assert feed.sources == ["bybit", "okx"]
    (primary,) = rec.opened

    got, stalled_at = asyncio.run(asyncio.wait_for(_run(feed, bybit, primary), 45))

    reasons = [(s.from_source, s.to_source, s.reason) for s in feed.switches]
    assert reasons == [("bybit", "okx", "stale"), ("okx", "bybit", "recovered")], feed.switches
    away, back = feed.switches
    assert stalled_at < away.at <= stalled_at + STALE_S + 0.1 + TOLERANCE_S
    assert sample(metrics, "trader_feed_switches_total", **{"from": "bybit", "to": "okx", "reason": "stale"}) == 1
    assert sample(metrics, "trader_feed_source_active", source="bybit") == 1
    arrivals = [t for t, _ in got]
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) <= STALE_S + TOLERANCE_S
    ts = [e[1] for _, e in got]
    assert ts == sorted(ts)
    # each venue's run of trades: no duplicate within it (ids are per venue)
    for lo, hi in ((float("-inf"), away.at), (away.at, back.at), (back.at, float("inf"))):
        ids = [e[5] for t, e in got if lo < t <= hi and e[0] == "trade"]
        assert len(ids) == len(set(ids))
    from_okx = [e for t, e in got if away.at < t <= back.at]
    assert sum(1 for e in from_okx if e[0] == "trade") > 20
    # OKX SWAP sizes are contracts of 0.01 BTC on the wire: the feed hands base units, on the
    # 0.001 grid of the Bybit side (the same synthetic market)
    sizes = [e[3] for e in from_okx if e[0] == "trade"]
    assert all(0.001 <= s <= 0.5 and abs(s * 1000 - round(s * 1000)) < 1e-6 for s in sizes), sizes[:10]


def test_failover_spec_errors() -> None:
    with pytest.raises(InvalidInputError, match=r"feed failover: primary: unknown data client 'nope'"):
        open_failover(FeedSpec(kind="failover", sources=(FeedSpec(kind="nope"), FeedSpec(kind="synthetic"))),
                      {"synthetic": object()})
    with pytest.raises(ConfigError, match=r"feed: no backup=SPEC"):
        parse_feed("failover:primary=synthetic")
    with pytest.raises(ConfigError, match=r"feed: stale_ms: expected a number > 0, got \"0\""):
        parse_feed("failover:primary=synthetic;backup=synthetic;stale_ms=0")
    with pytest.raises(ConfigError, match=r"feed: backup: \"failover:primary=synthetic\": a failover cannot nest"):
        parse_feed("failover:primary=synthetic;backup=failover:primary=synthetic")
    with pytest.raises(ConfigError, match=r"feed: unknown part \"speed\""):
        parse_feed("failover:primary=synthetic;backup=synthetic;speed=2")
    with pytest.raises(ConfigError, match=r"feed: primary given twice"):
        parse_feed("failover:primary=synthetic;primary=synthetic;backup=synthetic")
    # two synthetic sources: opened through the real clients, named synthetic and synthetic2
    from trader.plugins import data_clients

    spec = parse_feed("failover:primary=synthetic:seed=1;backup=synthetic:seed=2;healthy_s=0.5")
    feed = open_failover(spec, data_clients())
    assert feed.sources == ["synthetic", "synthetic2"] and feed.healthy_for_s == 0.5 and feed.stale_after_s == 0.1
