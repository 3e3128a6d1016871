"""FailoverFeed (python/trader/live/failover.py): a primary that stalls silently and then drops,
a backup carrying the same trades later, the switch within stale_after_s, no duplicate, no gap,
no reordering, the switch in the metrics, the primary back once healthy; every source down; bad
parameters. Sources are scripted here (no network); time is the event loop's clock."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from typing import Any

import pytest

from trader.exceptions import InvalidInputError
from trader.live.failover import AllSourcesDownError, FailoverFeed, Source
from trader.live.feeds import SyntheticFeed
from trader.live.metrics import NodeMetrics

STALE = 0.1
#: Scheduling tolerance on top of ``stale_after_s``. The silence is noticed by a loop timer,
#: then the switch, the hand-on of the backup's buffer and the consumer's turn each wait for the
#: loop; every wait is one loop iteration, well under 1 ms on an idle machine, but a shared
#: 2-core CI machine (a neighbour's build on the other core, the GC) can hold one for tens of
#: ms. 50 ms covers that and still fails a feed that waits for a second timer or for the next
#: event instead of switching.
TOLERANCE = 0.05
#: The market's pace: one quote and one trade every 5 ms.
PERIOD = 0.005
PERIOD_NS = 5_000_000
#: The backup gets each event this much later than the primary.
BACKUP_LATENCY = 0.015


def events(k: int, shift_ns: int = 0) -> list[tuple[Any, ...]]:
    """The market's k-th tick (k = 1, 2, ...): a quote, then trade id k, both at k x 5 ms."""
    ts = k * PERIOD_NS + shift_ns
    return [("quote", ts, 100.0 + k / 100, 100.01 + k / 100, 1.0, 2.0), ("trade", ts, 100.0 + k / 100, 0.5, "buy", k)]


@dataclass
class Run:
    """One connection of a scripted source: the market's ticks up to ``until`` (None: for good),
    then ``then``: "raise" (a drop), "stall" (silence until ``release`` is set, then a drop) or
    "end"."""

    until: int | None = None
    then: str = "raise"


class Scripted:
    """A feed delivering the market's ticks on the loop's clock: tick k is due ``latency`` after
    start + k x PERIOD; each call of :meth:`batches` (a connection) plays the next :class:`Run`,
    starting at the first tick not yet due. ``shift_ns`` moves the time stamps (a source
    stamping its own receive time)."""

    mode = "quotes"
    kind = "scripted"
    realtime = True
    market = "usdm"
    symbol = "TESTUSDT"
    price_precision = 2
    size_precision = 3

    def __init__(self, start: float, runs: list[Run], *, latency: float = 0.0, shift_ns: int = 0,
                 release: asyncio.Event | None = None) -> None:
        self.start, self.runs, self.latency, self.shift_ns, self.release = start, list(runs), latency, shift_ns, release
        self.connections = 0
        #: Ticks handed out; :meth:`delivered` waits for a count.
        self.ticks = 0
        self._waiting: list[tuple[int, asyncio.Event]] = []
        #: The loop time of the last batch handed out, and of the last drop.
        self.last_yield_at: float | None = None
        self.dropped_at: float | None = None

    def describe(self) -> str:
        return f"scripted (latency {self.latency * 1e3:g} ms)"

    async def delivered(self, n: int) -> None:
        """Return once ``n`` ticks were handed out (the reader has them: it runs on at the yield)."""
        if self.ticks < n:
            reached = asyncio.Event()
            self._waiting.append((n, reached))
            await reached.wait()

    def due(self, k: int) -> float:
        return self.start + k * PERIOD + self.latency

    async def batches(self) -> Any:
        loop = asyncio.get_running_loop()
        run = self.runs[min(self.connections, len(self.runs) - 1)]
        k = 1 if self.connections == 0 else max(1, math.ceil((loop.time() - self.start - self.latency) / PERIOD))
        self.connections += 1
        while run.until is None or k <= run.until:
            wait = self.due(k) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the market's pace, not a synchronisation
            out = []
            while self.due(k) <= loop.time() and (run.until is None or k <= run.until):  # a late loop catches up
                out += events(k, self.shift_ns)
                k += 1
            self.last_yield_at = loop.time()
            self.ticks += len(out) // 2
            for n, reached in self._waiting:
                if self.ticks >= n:
                    reached.set()
            yield out
        if run.then == "end":
            return
        if run.then == "stall":
            assert self.release is not None
            await self.release.wait()
        self.dropped_at = loop.time()
        raise ConnectionResetError("connection reset by peer")


def switches(feed: FailoverFeed) -> list[tuple[str, str, str]]:
    return [(s.from_source, s.to_source, s.reason) for s in feed.switches]


def check_stream(handed: list[tuple[Any, ...]], shift_ns: int = 0) -> None:
    """The events handed on are exactly the market's, from tick 1, in order: no duplicate, no gap,
    no reordering (``shift_ns``: only the time stamps of the ticks a source on that clock gave)."""
    assert handed, "nothing was handed on"
    ts = [e[1] for e in handed]
    assert ts == sorted(ts), "time stamps went back"
    ids = [e[5] for e in handed if e[0] == "trade"]
    assert len(ids) == len(set(ids)), "a trade came twice"
    assert ids == list(range(1, len(ids) + 1)), f"trades missing: {sorted(set(range(1, ids[-1] + 1)) - set(ids))}"
    if not shift_ns:
        expected = [e for k in range(1, ids[-1] + 2) for e in events(k)]
        assert handed == expected[:len(handed)]


def sample(m: NodeMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_primary_stalls_then_drops_and_comes_back() -> None:
    """The acceptance test of issue 16, item 4."""

    async def scenario() -> tuple[FailoverFeed, list[tuple[float, tuple[Any, ...]]], Scripted, NodeMetrics]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        release = asyncio.Event()
        # the primary: ticks 1..40, then silence (the connection stays open) until the test has
        # seen the switch, then a drop; reopened, it delivers for good
        primary = Scripted(start, [Run(40, "stall"), Run(None)], release=release)
        backup = Scripted(start, [Run(None)], latency=BACKUP_LATENCY)
        metrics = NodeMetrics()
        feed = FailoverFeed(Source(primary, "primary", venue="x"), [Source(backup, "backup", venue="x")],
                            stale_after_s=STALE, healthy_for_s=0.2, reconnect_s=0.05, metrics=metrics)
        assert sample(metrics, "trader_feed_source_active", source="primary") is None  # set when it runs
        got: list[tuple[float, tuple[Any, ...]]] = []
        back_at: int | None = None
        async with contextlib.aclosing(feed.batches()) as it:
            async for batch in it:
                now = loop.time()
                got += [(now, e) for e in batch]
                if feed.switches and not release.is_set():
                    assert sample(metrics, "trader_feed_source_active", source="backup") == 1
                    release.set()  # the stalled primary drops now
                if back_at is None and len(feed.switches) == 2:
                    back_at = len(got)
                if back_at is not None and len(got) >= back_at + 40:
                    break
        return feed, got, primary, metrics

    feed, got, primary, metrics = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert switches(feed) == [("primary", "backup", "stale"), ("backup", "primary", "recovered")]
    handed = [e for _, e in got]
    check_stream(handed)
    assert primary.connections == 2 and primary.dropped_at is not None
    # detect and switch: from the primary's last batch to the switch
    stalled_at = feed.switches[0].at
    last_primary = max(t for t, e in got if e[0] == "trade" and e[5] == 40)
    assert STALE <= stalled_at - last_primary + 1e-3, "switched before the primary was stale"
    assert stalled_at - last_primary < STALE + TOLERANCE
    # the strategy's stream: no silence longer than the switch time
    gaps = [b - a for (a, _), (b, _) in zip(got, got[1:])]
    assert max(gaps) < STALE + TOLERANCE
    # the trades the primary missed while silent came from the backup, at the switch
    after = [e[5] for t, e in got if e[0] == "trade" and t >= stalled_at]
    assert after[0] == 41
    assert feed.switches[0].ts == events(40)[1][1]
    # the switches are counted, the active source is the primary again
    assert sample(metrics, "trader_feed_switches_total", **{"from": "primary", "to": "backup", "reason": "stale"}) == 1
    assert sample(metrics, "trader_feed_switches_total", **{"from": "backup", "to": "primary", "reason": "recovered"}) == 1
    assert sample(metrics, "trader_feed_source_active", source="primary") == 1
    assert sample(metrics, "trader_feed_source_active", source="backup") == 0
    assert feed.active == "primary"
    # back on the primary: it was healthy for healthy_for_s after reopening, and the last 20
    # ticks handed on were its own (the backup's copies arrive later and are dropped)
    back = feed.switches[1]
    assert back.at - primary.dropped_at >= 0.05 + 0.2 - 1e-3
    assert feed.position == handed[-1][1]
    counts = feed.counts
    assert counts["primary"]["opens"] == 2 and counts["primary"]["downs"] == 1
    assert counts["backup"]["dropped"] > 0  # its copies of what the primary had handed on


def test_a_drop_switches_at_once_and_a_backup_on_its_own_clock_sends_no_trade_twice() -> None:
    """The primary breaks (an exception, no silence first): the switch does not wait for
    stale_after_s. The backup stamps its own receive time (15 ms late) and re-sends the trades
    the primary handed on with newer time stamps: the id window drops them."""
    shift = int(BACKUP_LATENCY * 1e9)

    async def scenario() -> tuple[FailoverFeed, list[tuple[float, tuple[Any, ...]]], Scripted]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        primary = Scripted(start, [Run(30, "raise")])
        backup = Scripted(start, [Run(None)], latency=BACKUP_LATENCY, shift_ns=shift)
        feed = FailoverFeed(primary, [backup], stale_after_s=STALE, healthy_for_s=0.0, reconnect_s=60)
        got: list[tuple[float, tuple[Any, ...]]] = []
        async with contextlib.aclosing(feed.batches()) as it:
            async for batch in it:
                got += [(loop.time(), e) for e in batch]
                if sum(e[0] == "trade" for _, e in got) >= 60:
                    break
        return feed, got, primary

    feed, got, primary = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert switches(feed) == [("primary", "backup", "down")]
    assert "ConnectionResetError" in feed.switches[0].detail
    assert primary.dropped_at is not None
    assert feed.switches[0].at - primary.dropped_at < TOLERANCE
    check_stream([e for _, e in got], shift_ns=shift)
    assert feed.counts["backup"]["dropped"] > 0


def test_every_source_down_is_an_error_not_a_hang() -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        primary = Scripted(start, [Run(5, "raise")])
        backup = Scripted(start, [Run(10, "end")])
        feed = FailoverFeed(primary, [backup], stale_after_s=STALE, reconnect_s=60)
        got: list[tuple[Any, ...]] = []
        with pytest.raises(AllSourcesDownError) as err:
            async for batch in feed.batches():
                got += batch
        msg = str(err.value)
        assert "every source is down" in msg
        assert "primary: ConnectionResetError: connection reset by peer" in msg
        assert "backup: the feed ended" in msg
        return got

    got = asyncio.run(asyncio.wait_for(scenario(), 5))
    check_stream(got)
    assert [e[5] for e in got if e[0] == "trade"] == list(range(1, 11))


def test_resume_hands_on_only_newer_events() -> None:
    async def scenario() -> tuple[FailoverFeed, list[tuple[Any, ...]]]:
        start = asyncio.get_running_loop().time()
        feed = FailoverFeed(Scripted(start, [Run(None)]), [Scripted(start, [Run(None)], latency=BACKUP_LATENCY)],
                            stale_after_s=STALE)
        feed.resume(events(10)[0][1])
        got: list[tuple[Any, ...]] = []
        async with contextlib.aclosing(feed.batches()) as it:
            async for batch in it:
                got += batch
                if len(got) >= 10:
                    break
        return feed, got

    feed, got = asyncio.run(asyncio.wait_for(scenario(), 5))
    assert got[:2] == events(11)
    assert feed.position == got[-1][1]
    assert feed.switches == []


def test_a_full_buffer_of_a_backup_drops_its_oldest() -> None:
    """A backup ahead of a silent-but-connected primary keeps at most buffer_max events."""

    async def scenario() -> FailoverFeed:
        start = asyncio.get_running_loop().time()
        never = asyncio.Event()
        primary = Scripted(start, [Run(0, "stall")], release=never)
        backup = Scripted(start, [Run(None)])
        # healthy_for_s and stale_after_s long: the backup only buffers for the test's time
        feed = FailoverFeed(primary, [backup], stale_after_s=30, healthy_for_s=30, buffer_max=8)
        it = feed.batches()
        task = asyncio.ensure_future(it.__anext__())
        await backup.delivered(20)
        assert feed.counts["backup"]["events"] >= 40
        assert not task.done()  # the primary is silent but connected, and not stale yet
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await it.aclose()
        return feed

    feed = asyncio.run(asyncio.wait_for(scenario(), 5))
    c = feed.counts["backup"]
    assert c["overflow"] == c["events"] - 8


def test_works_over_the_synthetic_feed() -> None:
    """Real feeds as sources: two synthetic feeds of one seed are two connections to one venue
    (the same trades, ids and prices): the stream is the seed's sequence once."""

    async def scenario() -> list[tuple[Any, ...]]:
        a, b = SyntheticFeed(seed=3, rate=400), SyntheticFeed(seed=3, rate=400)
        feed = FailoverFeed(a, [b], stale_after_s=STALE)
        assert (feed.symbol, feed.market, feed.price_precision, feed.rate) == (a.symbol, a.market, 2, 400)
        got: list[tuple[Any, ...]] = []
        async with contextlib.aclosing(feed.batches()) as it:
            async for batch in it:
                got += batch
                if len(got) >= 100:
                    break
        return got

    got = asyncio.run(asyncio.wait_for(scenario(), 5))
    ref = SyntheticFeed(seed=3).take(len(got), 0)
    assert [e[:1] + e[2:] for e in got] == [e[:1] + e[2:] for e in ref]


class _Lines:
    mode = "l2"
    kind = "replay"

    def batches(self) -> Any:
        raise AssertionError("never read")


def _synthetic() -> SyntheticFeed:
    return SyntheticFeed(seed=1)


@pytest.mark.parametrize("kwargs,match", [
    ({"stale_after_s": 0}, "stale_after_s: expected seconds > 0, got 0"),
    ({"stale_after_s": -0.1}, "stale_after_s"),
    ({"stale_after_s": math.nan}, "stale_after_s"),
    ({"stale_after_s": True}, "stale_after_s"),
    ({"stale_after_s": "0.1"}, "stale_after_s"),
    ({"healthy_for_s": -1}, "healthy_for_s: expected seconds >= 0"),
    ({"healthy_for_s": math.inf}, "healthy_for_s"),
    ({"reconnect_s": 0}, "reconnect_s"),
    ({"buffer_max": 0}, "buffer_max: expected a whole number >= 1"),
    ({"buffer_max": 1.5}, "buffer_max"),
    ({"id_window": 0}, "id_window"),
    ({"clock": 3}, "clock: expected a function"),
])
def test_bad_parameters(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        FailoverFeed(_synthetic(), [_synthetic()], **kwargs)


def test_bad_sources() -> None:
    a = _synthetic()
    with pytest.raises(InvalidInputError, match="backups: expected at least one backup"):
        FailoverFeed(a, [])
    with pytest.raises(InvalidInputError, match="backups: expected a list of feeds, got SyntheticFeed"):
        FailoverFeed(a, _synthetic())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"backups\[0\] \(backup\): the same feed object as primary"):
        FailoverFeed(a, [a])
    with pytest.raises(InvalidInputError, match=r"backups\[1\]: the name 'b' is taken"):
        FailoverFeed(a, [Source(_synthetic(), "b"), Source(_synthetic(), "b")])
    with pytest.raises(InvalidInputError, match=r"backups\[0\] \(backup\): expected a feed of trades and quotes .*'l2'"):
        FailoverFeed(a, [_Lines()])
    with pytest.raises(InvalidInputError, match=r"primary \(primary\): expected a feed \(with batches\(\)\), got int"):
        FailoverFeed(7, [a])
    with pytest.raises(InvalidInputError, match="primary: expected a non-empty name"):
        FailoverFeed(Source(a, " "), [_synthetic()])
    late = _synthetic()
    late.realtime = False  # type: ignore[misc]
    with pytest.raises(InvalidInputError, match="backup: realtime False but the primary's is True"):
        FailoverFeed(a, [late])
    feed = FailoverFeed(a, [_synthetic(), _synthetic()])
    assert feed.sources == ["primary", "backup1", "backup2"]
    for bad in (-1, 1.5, True):
        with pytest.raises(InvalidInputError, match="resume position must be a time stamp >= 0"):
            feed.resume(bad)  # type: ignore[arg-type]


def test_metrics_of_the_feed() -> None:
    m = NodeMetrics()
    m.set_feed_source("a", ["a", "b"])
    m.feed_switch("a", "b", "stale")
    m.set_feed_source("b", ["a", "b"])
    assert sample(m, "trader_feed_switches_total", **{"from": "a", "to": "b", "reason": "stale"}) == 1
    assert (sample(m, "trader_feed_source_active", source="a"), sample(m, "trader_feed_source_active", source="b")) == (0, 1)
    body = m.render()[0].decode()
    assert "# TYPE trader_feed_switches_total counter" in body
    assert "# TYPE trader_feed_source_active gauge" in body
    with pytest.raises(InvalidInputError, match="active: 'c' is not one of the sources"):
        m.set_feed_source("c", ["a", "b"])
