"""A market-data feed that fails over between sources of one instrument (issue 16).

:class:`FailoverFeed` reads a *primary* and one or more *backups* at once — the same instrument
on another venue, or a second connection to the same one — and hands the node the events of one
of them, the *active* source, as the feeds of :mod:`trader.live.feeds` do (an async iterator of
batches). Backups are hot: every source is subscribed and read all the time, so a switch needs
no reconnect, and what a backup received while the primary was silent is there to hand on.

Switching, in preference order (the primary, then the backups as given):

- *stale*: the active source delivered nothing for ``stale_after_s`` (and nothing of it is left
  to hand on) → the best other source. A timer of the loop notices the silence, not the next
  event, so a source that stalls without closing is left after ``stale_after_s``.
- *down*: the active source's ``batches()`` raised or ended → the best other source at once
  (after the events it delivered before breaking). A source that is down is opened again (its
  ``batches()`` called anew) ``reconnect_s`` later.
- *recovered*: a source earlier in preference order than the active one has delivered
  continuously — no silence longer than ``stale_after_s`` — for ``healthy_for_s``: it becomes the
  active one again (the primary comes back).

The best other source is the first, in preference order, of the healthy ones (as for
*recovered*), else of those delivering (an event within ``stale_after_s``), else of those
connected; a switch goes only to a source in a better state than the active one (a silent
primary is not swapped for a silent backup). Every source down at the same time ends the feed
with :class:`AllSourcesDownError`, naming each source's error: the node stops on it instead of
waiting on nothing.

No duplicates, no reordering. Each source's events wait in a buffer of its own. An event of the
active source is handed on when its time stamp is newer than the last one handed on, or equal
to it and either it continues the same source's run (the events of one batch may share a time
stamp) or it is a trade whose id was not handed on yet; ``(venue, id)`` of the last
``id_window`` trades handed on are remembered, and a trade among them is dropped whatever its
time stamp (a connection stamping its own receive time re-sends it later). The other buffers
drop what can no longer be handed on as the time stamp moves, so in the steady state (a backup
as fast as the active source, or later) they stay nearly empty; they hold ``buffer_max`` events
at most (the oldest go first), while the active source's reader waits for the node instead. After a switch the new source's buffer goes out first: the
trades the primary missed while it was silent come from the backup, late by the switch time,
not lost. Each source must deliver its events in time order. Time stamps of different sources
are compared as they are: sources on different clocks (a venue's event time and a receive time)
lose, at a switch, the events their offset covers, and a quote — it has no id — may then come
twice.

Marks: the node pushes every event of a batch into the engine's ring as a trade or a quote, so a
``("feed_switch", ...)`` event in the stream would stop it (the ring's ``push_quote`` raises
``TypeError`` on it). A switch is therefore not an event: it is a :class:`Switch` in
:attr:`FailoverFeed.switches`, a warning ``feed switch`` in the node's log (logger
``trader.live``, with the sources, the reason and the last time stamp handed on) and, given
``metrics`` (a :class:`trader.live.metrics.NodeMetrics`), a count in
``trader_feed_switches_total{from,to,reason}`` and the active source in
``trader_feed_source_active{source}``.

Resuming: :attr:`FailoverFeed.position` is the time stamp (ns) of the last event handed on, not
a count — counts of different sources add up to nothing, a time stamp means the same whichever
source delivered it. ``resume(position)`` — called before :meth:`FailoverFeed.batches` — hands on
only events newer than it; the sources are not resumed (they start where the market is). A
trade carrying that very time stamp that the node had not processed at the checkpoint is lost:
at most once at the boundary, never twice.

Events: the sources' trades ``("trade", ts, price, size, side, id)`` and quotes ``("quote", ts,
bid, ask, bid_size, ask_size)`` (sources of mode ``"quotes"``). Sources of raw lines (mode
``"l2"``: a replay, a venue's WebSocket lines) are refused: a line carries its connection's
receive time, not a time two connections share, and a depth book cannot continue on another
connection's diffs without a new snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trader.exceptions import InvalidInputError, TraderError
from trader.live.feeds import MAX_BATCH

__all__ = ["AllSourcesDownError", "FailoverFeed", "Source", "Switch"]

log = logging.getLogger("trader.live")

#: :attr:`FailoverFeed.switches` keeps this many of the last switches.
MAX_SWITCHES = 1024

#: Below any time stamp (ns since the epoch): nothing handed on yet.
_NO_TS = -(2**63)


class AllSourcesDownError(TraderError, ConnectionError):
    """Every source of a :class:`FailoverFeed` is down at the same time (the message names each
    source and its error; the active source's error is the ``__cause__``)."""


@dataclass(frozen=True)
class Source:
    """A source of a :class:`FailoverFeed`: a feed (the interface of :mod:`trader.live.feeds`),
    the name it goes by in switches, logs and metrics, and the venue whose trade ids its trades
    carry — two connections to one venue share ids, so a trade goes out once. ``venue`` None: the
    feed's ``venue`` attribute, else ``kind:market:symbol``."""

    feed: Any
    name: str
    venue: str | None = None


@dataclass(frozen=True)
class Switch:
    """One switch of a :class:`FailoverFeed`."""

    #: The feed's clock at the switch, seconds.
    at: float
    #: The time stamp (ns) of the last event handed on before it; None: nothing yet.
    ts: int | None
    from_source: str
    to_source: str
    #: ``stale``, ``down`` or ``recovered`` (see the module).
    reason: str
    #: The silence of a stale source, the error of a broken one, the run of a recovered one.
    detail: str = ""


class _State:
    """A source's running state (the feed's own bookkeeping)."""

    __slots__ = ("index", "name", "feed", "venue", "buffer", "alive", "last_at", "run_since", "error", "counts")

    def __init__(self, index: int, source: Source, venue: str) -> None:
        self.index = index
        self.name = source.name
        self.feed = source.feed
        self.venue = venue
        self.buffer: deque[tuple[Any, ...]] = deque()
        self.alive = False
        #: The clock at the last batch received (at the (re)opening before the first).
        self.last_at = 0.0
        #: The clock at the first batch of the current continuous run; None: no run.
        self.run_since: float | None = None
        self.error = ""
        self.counts = {"events": 0, "handed_on": 0, "dropped": 0, "overflow": 0, "opens": 0, "downs": 0}


def _seconds(key: str, value: Any, *, positive: bool) -> float:
    bound = "> 0" if positive else ">= 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (value <= 0 if positive else value < 0):
        raise InvalidInputError(f"feed failover: {key}: expected seconds {bound}, got {value!r}")
    return float(value)


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"feed failover: {key}: expected a whole number >= 1, got {value!r}")
    return value


class FailoverFeed:
    """A feed that hands on the events of the active one of several sources and switches when
    it goes stale or breaks, back when a preferred one is healthy again (see the module).

    :param primary: the preferred source: a feed, or a :class:`Source` (a plain feed is named
        ``primary``).
    :param backups: the other sources, in preference order (plain feeds are named ``backup``, or
        ``backup1``, ``backup2``, ... when there are several).
    :param stale_after_s: a source silent this long is stale (the active one is left).
    :param healthy_for_s: a source is healthy after delivering this long without a silence
        longer than ``stale_after_s``.
    :param reconnect_s: a broken source is opened again after this long.
    :param buffer_max: events held per source at most (an inactive source drops its oldest; the
        active one waits for the node to take them).
    :param id_window: trades remembered to drop a re-sent one.
    :param clock: seconds, monotonic: the time the feed stamps arrivals and switches with (None:
        the event loop's clock). The feed's timers wait on the loop, so a clock given must run
        at the loop's pace.
    :param metrics: a :class:`trader.live.metrics.NodeMetrics` to count the switches in.
    :raise InvalidInputError: a bad parameter or source, naming it.
    """

    mode = "quotes"
    kind = "failover"

    def __init__(self, primary: Any, backups: Sequence[Any], *, stale_after_s: float = 0.1, healthy_for_s: float = 1.0,
                 reconnect_s: float = 1.0, buffer_max: int = 65_536, id_window: int = 4096,
                 clock: Callable[[], float] | None = None, metrics: Any = None) -> None:
        self.stale_after_s = _seconds("stale_after_s", stale_after_s, positive=True)
        self.healthy_for_s = _seconds("healthy_for_s", healthy_for_s, positive=False)
        self.reconnect_s = _seconds("reconnect_s", reconnect_s, positive=True)
        self.buffer_max = _count("buffer_max", buffer_max)
        self.id_window = _count("id_window", id_window)
        if clock is not None and not callable(clock):
            raise InvalidInputError(f"feed failover: clock: expected a function returning seconds, got {clock!r}")
        if isinstance(backups, (str, bytes)) or not isinstance(backups, Sequence):
            raise InvalidInputError(f"feed failover: backups: expected a list of feeds, got {type(backups).__name__}")
        if not backups:
            raise InvalidInputError("feed failover: backups: expected at least one backup source, got none")
        default_names = ["primary"] + (["backup"] if len(backups) == 1 else [f"backup{i + 1}" for i in range(len(backups))])
        sources = [s if isinstance(s, Source) else Source(s, n) for s, n in zip([primary, *backups], default_names)]
        self._states: list[_State] = []
        for i, s in enumerate(sources):
            key = "primary" if i == 0 else f"backups[{i - 1}]"
            if not isinstance(s.name, str) or not s.name.strip():
                raise InvalidInputError(f"feed failover: {key}: expected a non-empty name, got {s.name!r}")
            if not callable(getattr(s.feed, "batches", None)):
                raise InvalidInputError(f"feed failover: {key} ({s.name}): expected a feed (with batches()), "
                                        f"got {type(s.feed).__name__}")
            mode = getattr(s.feed, "mode", None)
            if mode != "quotes":
                raise InvalidInputError(f"feed failover: {key} ({s.name}): expected a feed of trades and quotes "
                                        f"(mode 'quotes'), got mode {mode!r}: raw lines carry their connection's "
                                        "receive time and a book needs its own snapshot")
            for other in self._states:
                if other.name == s.name:
                    raise InvalidInputError(f"feed failover: {key}: the name {s.name!r} is taken by another source")
                if other.feed is s.feed:
                    raise InvalidInputError(f"feed failover: {key} ({s.name}): the same feed object as {other.name} "
                                            "(a second connection needs a feed of its own)")
            venue = s.venue if s.venue is not None else getattr(s.feed, "venue", None)
            if venue is None:
                venue = ":".join(str(getattr(s.feed, a, "")) for a in ("kind", "market", "symbol"))
            self._states.append(_State(i, s, str(venue)))
        first = self._states[0].feed
        #: Whether the events carry the wall clock's time (the primary's; every source must agree).
        self.realtime = bool(getattr(first, "realtime", False))
        for st in self._states[1:]:
            if bool(getattr(st.feed, "realtime", False)) != self.realtime:
                raise InvalidInputError(f"feed failover: {st.name}: realtime {not self.realtime} but the primary's is "
                                        f"{self.realtime} (the node runs the engine's clock by one of them)")
        # the engine is set up with the primary's instrument
        self.symbol = getattr(first, "symbol", None)
        self.market = getattr(first, "market", None)
        self.price_precision = getattr(first, "price_precision", None)
        self.size_precision = getattr(first, "size_precision", None)
        if hasattr(first, "rate"):
            self.rate = first.rate
        self.metrics = metrics
        self._clock = clock
        self._now: Callable[[], float] = clock or (lambda: 0.0)
        self._active = self._states[0]
        self._last_ts = _NO_TS
        self._last_src: _State | None = None
        self._floor = _NO_TS
        self._seen: set[tuple[str, Any]] = set()
        self._seen_order: deque[tuple[str, Any]] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        #: The last :data:`MAX_SWITCHES` switches, oldest first.
        self.switches: list[Switch] = []
        #: Switches since the feed was made.
        self.switch_count = 0

    # -- what the node and the operator see -------------------------------------------------------
    @property
    def active(self) -> str:
        """The name of the source whose events are handed on."""
        return self._active.name

    @property
    def sources(self) -> list[str]:
        """The sources' names in preference order."""
        return [s.name for s in self._states]

    @property
    def position(self) -> int:
        """The time stamp (ns) of the last event handed on (or resumed after); 0: none yet."""
        return max(self._last_ts, self._floor, 0)

    def resume(self, position: int) -> None:
        """Hand on only events with a time stamp newer than ``position`` (ns)."""
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InvalidInputError(f"feed failover: resume position must be a time stamp >= 0 (ns), got {position!r}")
        self._floor = position

    def describe(self) -> str:
        parts = [f"{s.name} ({s.feed.describe() if hasattr(s.feed, 'describe') else type(s.feed).__name__})"
                 for s in self._states]
        return f"failover {' > '.join(parts)}, stale after {self.stale_after_s * 1e3:g} ms"

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Per source: events received, handed on, dropped (old or already handed on), overflow
        (dropped from a full buffer), opens, downs."""
        return {s.name: dict(s.counts) for s in self._states}

    # -- the feed ---------------------------------------------------------------------------------
    async def batches(self) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """The active source's events as they come, until cancelled.

        :raise AllSourcesDownError: every source is down at once."""
        if self._tasks:
            raise InvalidInputError("feed failover: batches() is already being iterated")
        loop = asyncio.get_running_loop()
        self._now = self._clock or loop.time
        self._wake, self._room = asyncio.Event(), asyncio.Event()
        now = self._now()
        for s in self._states:
            s.alive, s.last_at, s.run_since = True, now, None
        if self.metrics is not None:
            self.metrics.set_feed_source(self._active.name, self.sources)
        self._tasks = [loop.create_task(self._read(s), name=f"failover source {s.name}") for s in self._states]
        for t in self._tasks:
            t.add_done_callback(lambda _: self._wake.set())
        try:
            while True:
                self._wake.clear()
                now = self._now()
                self._check(now)
                out = self._drain(self._active)
                if out:
                    yield out
                    continue
                delay = self._next_check(now)
                timer = None if delay is None else loop.call_later(max(0.0, delay), self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
        finally:
            tasks, self._tasks = self._tasks, []
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, s: _State) -> None:
        """Read one source for good: its batches into its buffer; a break marks it down and
        opens it again ``reconnect_s`` later."""
        while True:
            s.alive, s.last_at, s.run_since = True, self._now(), None
            s.counts["opens"] += 1
            it = s.feed.batches()
            error = "the feed ended"
            try:
                async for batch in it:
                    if not batch:
                        continue
                    self._arrive(s, batch)
                    while s is self._active and len(s.buffer) >= self.buffer_max:  # the node is behind: wait for it
                        self._room.clear()
                        await self._room.wait()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a source's failure is this feed's to handle: switch, then reopen
                error = f"{type(e).__name__}: {e}"
            finally:
                aclose = getattr(it, "aclose", None)
                if aclose is not None:
                    await aclose()
            s.alive, s.run_since, s.error = False, None, error
            s.counts["downs"] += 1
            self._wake.set()
            log.warning("feed source down", extra={"source": s.name, "error": error, "reconnect_s": self.reconnect_s})
            await asyncio.sleep(self.reconnect_s)

    def _arrive(self, s: _State, batch: list[tuple[Any, ...]]) -> None:
        now = self._now()
        new_run = s.run_since is None or now - s.last_at > self.stale_after_s
        if new_run:
            s.run_since = now
        s.last_at = now
        s.counts["events"] += len(batch)
        if s is not self._active and self._too_old(batch[-1][1]):
            s.counts["dropped"] += len(batch)  # a backup behind the active source: the usual case
        else:
            s.buffer.extend(batch)
            if s is not self._active:
                over = len(s.buffer) - self.buffer_max
                if over > 0:
                    s.counts["overflow"] += over
                    for _ in range(over):
                        s.buffer.popleft()
        if s is self._active or new_run:
            self._wake.set()

    def _too_old(self, ts: int) -> bool:
        return ts < self._last_ts or ts <= self._floor

    def _wanted(self, s: _State, e: tuple[Any, ...]) -> bool:
        """Whether ``e`` of ``s`` may be handed on now (no duplicate, no step back in time)."""
        ts = e[1]
        if ts < self._last_ts or ts <= self._floor:
            return False
        tid = e[5] if e[0] == "trade" and len(e) > 5 else None
        if tid is not None and (s.venue, tid) in self._seen:
            return False
        return ts > self._last_ts or s is self._last_src or tid is not None

    def _drain(self, s: _State) -> list[tuple[Any, ...]]:
        """Up to :data:`MAX_BATCH` events of ``s``'s buffer that may be handed on; the other
        buffers lose what can no longer be."""
        out: list[tuple[Any, ...]] = []
        buf = s.buffer
        dropped = 0
        while buf and len(out) < MAX_BATCH:
            e = buf.popleft()
            if not self._wanted(s, e):
                dropped += 1
                continue
            if e[0] == "trade" and len(e) > 5 and e[5] is not None:
                key = (s.venue, e[5])
                if len(self._seen_order) >= self.id_window:
                    self._seen.discard(self._seen_order.popleft())
                self._seen_order.append(key)
                self._seen.add(key)
            self._last_ts = e[1]
            self._last_src = s
            out.append(e)
        s.counts["dropped"] += dropped
        if out:
            s.counts["handed_on"] += len(out)
            for o in self._states:
                if o is not s:
                    while o.buffer and not self._wanted(o, o.buffer[0]):
                        o.buffer.popleft()
                        o.counts["dropped"] += 1
            self._room.set()
        return out

    # -- choosing the source ----------------------------------------------------------------------
    def _fresh(self, s: _State, now: float) -> bool:
        return s.alive and s.run_since is not None and now - s.last_at <= self.stale_after_s

    def _rank(self, s: _State, now: float) -> int:
        """3 healthy, 2 delivering, 1 connected but silent, 0 down."""
        if not s.alive:
            return 0
        if not self._fresh(s, now):
            return 1
        assert s.run_since is not None
        return 3 if now - s.run_since >= self.healthy_for_s else 2

    def _check(self, now: float) -> None:
        """Switch when the active source is down or stale, or a preferred one is healthy again.

        :raise AllSourcesDownError: every source is down and the active one has nothing left."""
        for t in self._tasks:
            if t.done() and not t.cancelled():
                t.result()  # a reader ended by a bug of this feed: surface it
        a = self._active
        if a.buffer:
            reason = None  # what it delivered goes out first
        elif not a.alive:
            reason = "down"
        elif now - a.last_at > self.stale_after_s:
            reason = "stale"
        else:
            reason = None
        if reason is None:
            for s in self._states[:a.index]:
                if self._rank(s, now) == 3:
                    assert s.run_since is not None
                    self._switch(s, "recovered", now, f"delivering for {now - s.run_since:.3f} s")
                    return
            return
        if not any(s.alive for s in self._states):
            cause = RuntimeError(a.error)
            raise AllSourcesDownError("feed failover: every source is down: "
                                      + "; ".join(f"{s.name}: {s.error}" for s in self._states)) from cause
        others = [s for s in self._states if s is not a]
        best = max(others, key=lambda s: (self._rank(s, now), -s.index))
        if self._rank(best, now) > self._rank(a, now):
            detail = a.error if reason == "down" else f"no event for {now - a.last_at:.3f} s"
            self._switch(best, reason, now, detail)

    def _next_check(self, now: float) -> float | None:
        """Seconds until the state can change without an event to say so: the active source
        going stale, a preferred one becoming healthy (None: only an event can)."""
        due: list[float] = []
        a = self._active
        if a.alive and now - a.last_at <= self.stale_after_s:
            due.append(a.last_at + self.stale_after_s - now)
        for s in self._states[:a.index]:
            if self._fresh(s, now):
                assert s.run_since is not None
                due.append(s.run_since + self.healthy_for_s - now)
        return min(due) if due else None

    def _switch(self, to: _State, reason: str, now: float, detail: str) -> None:
        frm = self._active
        self._active = to
        ts = None if self._last_ts == _NO_TS else self._last_ts
        self.switches.append(Switch(at=now, ts=ts, from_source=frm.name, to_source=to.name, reason=reason, detail=detail))
        if len(self.switches) > MAX_SWITCHES:
            del self.switches[0]
        self.switch_count += 1
        log.warning("feed switch", extra={"from_source": frm.name, "to_source": to.name, "reason": reason,
                                          "detail": detail, "last_ts": ts})
        if self.metrics is not None:
            self.metrics.feed_switch(frm.name, to.name, reason)
            self.metrics.set_feed_source(to.name, self.sources)
        self._room.set()  # the old active source's reader may be waiting for room
