"""What the market-data clients of the venues that send a book snapshot on subscribe (Bybit v5,
OKX v5) share: a supervised public WebSocket, the subscriptions, one synced book per symbol,
resync by subscribing again, and the node's trade and quote events.

:class:`StreamBookFeed` is a live node feed (the interface of :mod:`trader.live.feeds`, mode
``"quotes"``): batches of ``("trade", ts, price, size, side, id)`` and ``("quote", ts, bid, ask,
bid_size, ask_size)``. A venue's subclass brings its protocol: the subscribe and unsubscribe
messages, its ping, how a message is routed (a book push, a trade push, an ack, a pong), the book
sync (:class:`..bybit.book.BybitBookSync`, :class:`..okx.book.OkxBookSync`: their sequence rules
and checks) and how a trade row reads.

- **Connection**: :class:`..common.ws.WsConnection` (backoff with full jitter, server pings
  answered). On every connect the client subscribes to each symbol's book and trades; the venue
  answers with a book snapshot. A disconnect clears every book (the next snapshot restarts it).
- **Resync**: a gap in the sequence, a failed checksum or a crossed book leaves the book
  wanting a snapshot: the client unsubscribes from that symbol's book topic and subscribes again
  (no REST: the venue's answer starts with a snapshot). The request is repeated every
  ``resync_retry_s`` until the snapshot is in.
- **Quotes**: after each applied book message, the synced book's best bid and ask with their
  sizes; one is emitted only when that top changed (a side that is empty is ``None``).
- **Trades**: the trade channel's rows; a trade whose id was handed on among the last
  :data:`TRADE_WINDOW` is dropped (a duplicate, or a re-send after a reorder). Ids are integers
  for the node: a numeric venue id as is, any other (Bybit's UUIDs) a stable 63-bit hash of it.
- **Time stamps**: the venue's event time (a trade's time, a book message's time; ms, as ns),
  never going back on one connection (a reordered message takes the last one's), the receive time
  when the venue gives none. Two connections to one venue stamp the same trade alike, so a
  :class:`trader.live.failover.FailoverFeed` over them hands on each trade once and loses none
  at a switch; venues' clocks agree to a few ms (NTP). The node's engine keeps its clock
  (``realtime``: the wall clock between events) and takes an event stamped a little earlier
  at that clock.
- **Pings and staleness**: the venue's ping every ``ping_interval_s``; a connection that
  delivered no book or trade message for ``stale_after_s`` (pongs do not count: a venue can
  answer pings while its data stalls) is closed and opened again (``stale``).
- ``end_on_disconnect``: :meth:`StreamBookFeed.batches` raises :class:`FeedDisconnected` when the
  connection ends instead of reconnecting itself: a :class:`trader.live.failover.FailoverFeed`
  sees its source *down* at once and reopens it.

Counts (:attr:`StreamBookFeed.counts`): ``messages``, ``trades``, ``quotes``, ``duplicate_trades``,
``gaps``, ``resyncs``, ``resubscribes``, ``snapshots``, ``dropped``, ``reconnects``, ``stale``,
``pings``, ``pongs``, ``undecodable``, ``rejected`` (a subscription the venue refused), and the books' own
(``crossed``, ``checksum_mismatch``, ...).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

import msgspec

from trader.exceptions import InvalidInputError

from .book import BookUpdate, L2Book
from .ws import Backoff, WsConnection

__all__ = ["StreamBookFeed", "BookSyncLike", "FeedDisconnected", "Routed", "trade_id", "decimals", "fetch_json", "one_symbol",
           "MAX_BATCH", "TRADE_WINDOW"]

log = logging.getLogger(__name__)

#: Events per batch at most.
MAX_BATCH = 1024
#: Trade ids remembered per symbol to drop a re-sent trade.
TRADE_WINDOW = 4096

_json = msgspec.json.Decoder()


class FeedDisconnected(ConnectionError):
    """The connection of a feed opened with ``end_on_disconnect`` ended."""


class BookSyncLike(Protocol):
    """What the client needs of a venue's book sync (:class:`..bybit.book.BybitBookSync`,
    :class:`..okx.book.OkxBookSync`)."""

    book: L2Book

    @property
    def wants_snapshot(self) -> bool: ...

    @property
    def counts(self) -> dict[str, int]: ...

    def reset(self) -> None: ...

    def on_message(self, msg: str | bytes | Mapping[str, Any]) -> list[BookUpdate]: ...


#: What a venue's router makes of a message: ``("book", symbol)``, ``("trades", rows)`` with rows
#: ``(symbol, price, size, side, venue id, time ms)``, ``("pong", None)``, ``("ack", None)``,
#: ``("rejected", reason)`` or ``("other", None)``.
Routed = tuple[str, Any]


def decimals(step: str | Decimal) -> int:
    """The decimals of a tick or lot step (``"0.010"`` -> 2, ``"1"`` -> 0)."""
    d = Decimal(str(step)).normalize()
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def one_symbol(venue: str, symbols: tuple[str, ...], noun: str = "symbol") -> str:
    """The one symbol a feed's config names (the node's quotes and trades carry none).

    :raise InvalidInputError: none, or more than one."""
    if len(symbols) != 1:
        raise InvalidInputError(f"feed {venue}: symbols: one {noun} per feed (the node's quotes and trades carry none), "
                                f"got {', '.join(symbols)}")
    return symbols[0]


def fetch_json(url: str, timeout_s: float, where: str) -> Any:
    """GET ``url`` and decode its JSON (blocking: before the node's loop starts).

    :raise InvalidInputError: the venue cannot be reached or answers no JSON (``where`` and the URL named)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:  # noqa: S310 (a configured URL)
            return msgspec.json.decode(r.read())
    except (urllib.error.URLError, OSError, ValueError, msgspec.DecodeError) as e:
        raise InvalidInputError(f"{where}: cannot read {url}: {getattr(e, 'reason', e)}") from None


def trade_id(venue_id: str) -> int:
    """A venue's trade id as the node's integer: a decimal id as is (when it fits 63 bits), any other
    text (Bybit's UUIDs) the first 63 bits of its BLAKE2b hash (stable across runs and connections)."""
    if venue_id.isdigit() and len(venue_id) <= 18:
        return int(venue_id)
    return int.from_bytes(hashlib.blake2b(venue_id.encode(), digest_size=8).digest(), "big") >> 1


class StreamBookFeed:
    """A venue's public market data as the node's quotes and trades (see the module docs).

    :param venue: the venue's name (``"bybit"``), the :attr:`venue` trade ids belong to.
    :param url: the public WebSocket URL.
    :param symbol: the venue's instrument id (one: the node's events carry no symbol).
    :param stale_after_s: no book or trade message for this long -> reconnect.
    :param ping_interval_s: the venue's ping every this many seconds.
    :param backoff: reconnect delays.
    :param size_multiplier: book and trade sizes are multiplied by it (OKX SWAP: contracts ->
        base units).
    :param end_on_disconnect: :meth:`batches` raises :class:`FeedDisconnected` when the
        connection ends (a failover source), instead of reconnecting.
    :param resync_retry_s: a resubscription not answered with a snapshot within this long is sent again.
    """

    mode = "quotes"
    realtime = True
    #: Set by the subclass.
    kind = ""

    def __init__(self, *, venue: str, url: str, symbol: str, market: str, stale_after_s: float,
                 ping_interval_s: float, backoff: Backoff, size_multiplier: Decimal = Decimal(1),
                 end_on_disconnect: bool = False, resync_retry_s: float = 2.0,
                 rng: random.Random | None = None) -> None:
        for name, v in (("stale_after_s", stale_after_s), ("ping_interval_s", ping_interval_s),
                        ("resync_retry_s", resync_retry_s)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise InvalidInputError(f"feed {venue}: {name} must be a number > 0, got {v!r}")
        if not size_multiplier > 0:
            raise InvalidInputError(f"feed {venue}: size multiplier must be > 0, got {size_multiplier}")
        self.venue = venue
        self.url = url
        self.inst_id = symbol
        self.market = market
        self.stale_after_s = float(stale_after_s)
        self.ping_interval_s = float(ping_interval_s)
        self.backoff = backoff
        self.size_multiplier = size_multiplier
        self.end_on_disconnect = end_on_disconnect
        self.resync_retry_s = float(resync_retry_s)
        self.rng = rng or random.Random()
        #: The node's instrument (set by the subclass; precisions by :meth:`instrument`).
        self.symbol = symbol
        self.price_precision: int | None = None
        self.size_precision: int | None = None
        self.books: dict[str, BookSyncLike] = {symbol: self.make_book(symbol)}
        self._top: dict[str, tuple[Any, ...] | None] = {symbol: None}
        self._seen: dict[str, tuple[set[int], deque[int]]] = {symbol: (set(), deque())}
        #: Symbol -> monotonic time of the last resubscription sent (absent: none waiting).
        self._resubscribing: dict[str, float] = {}
        self.queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.conn: WsConnection | None = None
        self._down: asyncio.Event | None = None
        self._chores: set[asyncio.Task[None]] = set()
        self._last_ts = 0
        self._last_data = time.monotonic()
        self._stats = {"messages": 0, "trades": 0, "quotes": 0, "duplicate_trades": 0, "resubscribes": 0,
                       "pings": 0, "pongs": 0, "undecodable": 0, "rejected": 0, "data_stale": 0}
        #: Events handed out.
        self.position = 0

    # ---- the venue's part -----------------------------------------------------------------------

    def make_book(self, symbol: str) -> BookSyncLike:
        """The venue's book sync of ``symbol``."""
        raise NotImplementedError

    def subscribe_messages(self, symbol: str, book: bool, trades: bool) -> list[Any]:
        """The messages that subscribe to ``symbol``'s book and/or trades (JSON documents)."""
        raise NotImplementedError

    def unsubscribe_messages(self, symbol: str) -> list[Any]:
        """The messages that unsubscribe from ``symbol``'s book."""
        raise NotImplementedError

    async def send_ping(self, conn: WsConnection) -> None:
        """Send the venue's ping."""
        raise NotImplementedError

    def route(self, text: str) -> Routed:
        """What ``text`` is (see :data:`Routed`).

        :raise InvalidInputError: a message the venue's protocol does not allow."""
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.venue} {self.market} {self.inst_id} (book + trades)"

    # ---- counts ---------------------------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """messages, trades, quotes, gaps, resyncs, resubscribes, reconnects, stale, ..."""
        out = dict(self._stats)
        for b in self.books.values():
            for k, v in b.counts.items():
                out[k] = out.get(k, 0) + v
        stats = self.conn.stats if self.conn is not None else {}
        out["reconnects"] = stats.get("reconnects", 0)
        out["stale"] = stats.get("stale", 0) + self._stats["data_stale"]
        return out

    # ---- messages -------------------------------------------------------------------------------

    def _stamp(self, venue_ms: int, recv_ns: int) -> int:
        """The event's time stamp (ns): the venue's time (the receive time without one), not
        before the last one handed out."""
        ts = venue_ms * 1_000_000 if venue_ms > 0 else recv_ns
        self._last_ts = max(self._last_ts, ts)
        return self._last_ts

    def handle(self, text: str, recv_ns: int) -> list[tuple[Any, ...]]:
        """One WebSocket message: the events to hand on now (resubscriptions are noted)."""
        self._stats["messages"] += 1
        try:
            kind, what = self.route(text)
        except (InvalidInputError, msgspec.DecodeError, msgspec.ValidationError) as e:
            self._stats["undecodable"] += 1
            log.warning("%s: undecodable message (%s): %.200s", self.venue, e, text)
            return []
        if kind == "rejected":
            self._stats["rejected"] += 1
            log.error("%s: the venue refused a request: %s", self.venue, what)
            return []
        if kind == "pong":
            self._stats["pongs"] += 1
            return []
        if kind == "book":
            self._last_data = time.monotonic()
            return self._on_book(what, text, recv_ns)
        if kind == "trades":
            self._last_data = time.monotonic()
            return self._on_trades(what, recv_ns)
        return []

    def _on_book(self, symbol: str, text: str, recv_ns: int) -> list[tuple[Any, ...]]:
        sync = self.books.get(symbol)
        if sync is None:
            return []
        try:
            applied = sync.on_message(text)
        except InvalidInputError as e:
            self._stats["undecodable"] += 1
            log.warning("%s: bad book message: %s", self.venue, e)
            return []
        if sync.wants_snapshot:
            self._top[symbol] = None
            return []
        if symbol in self._resubscribing and not sync.wants_snapshot and applied:
            del self._resubscribing[symbol]
        if not applied:
            return []
        book = sync.book
        bids, asks = book.top_bids(1), book.top_asks(1)
        if not bids and not asks:
            return []
        m = self.size_multiplier
        top = (float(bids[0][0]) if bids else None, float(asks[0][0]) if asks else None,
               float(Decimal(bids[0][1]) * m) if bids else 0.0, float(Decimal(asks[0][1]) * m) if asks else 0.0)
        if top == self._top[symbol]:
            return []
        self._top[symbol] = top
        self._stats["quotes"] += 1
        return [("quote", self._stamp(applied[-1].ts_ms, recv_ns), *top)]

    def _on_trades(self, rows: list[tuple[str, str, str, str, str, int]], recv_ns: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for symbol, px, sz, side, vid, ms in rows:
            seen = self._seen.get(symbol)
            if seen is None:
                continue
            tid = trade_id(vid)
            ids, order = seen
            if tid in ids:
                self._stats["duplicate_trades"] += 1
                continue
            ids.add(tid)
            order.append(tid)
            if len(order) > TRADE_WINDOW:
                ids.discard(order.popleft())
            self._stats["trades"] += 1
            out.append(("trade", self._stamp(ms, recv_ns), float(px), float(Decimal(sz) * self.size_multiplier), side,
                        tid))
        return out

    # ---- the connection -------------------------------------------------------------------------

    async def _on_connect(self, conn: WsConnection) -> None:
        self._resubscribing.clear()
        self._last_data = time.monotonic()
        for symbol in self.books:
            for doc in self.subscribe_messages(symbol, True, True):
                await conn.send_json(doc)

    def _on_disconnect(self) -> None:
        for symbol, sync in self.books.items():
            sync.reset()
            self._top[symbol] = None
        self._resubscribing.clear()
        if self._down is not None and self.end_on_disconnect:
            self._down.set()

    def _on_message(self, text: str, recv_ns: int) -> None:
        for e in self.handle(text, recv_ns):
            self.queue.put_nowait(e)
        if any(s.wants_snapshot and sym not in self._resubscribing for sym, s in self.books.items()):
            t = asyncio.get_running_loop().create_task(self._resubscribe())
            self._chores.add(t)
            t.add_done_callback(self._chores.discard)

    async def _resubscribe(self, retry: bool = False) -> None:
        """Subscribe again to the book of every symbol that wants a snapshot (and whose last
        request is older than ``resync_retry_s``, on a ``retry``)."""
        conn = self.conn
        if conn is None or conn.ws is None or conn.ws.closed:
            return
        now = time.monotonic()
        for symbol, sync in self.books.items():
            if not sync.wants_snapshot:
                continue
            sent = self._resubscribing.get(symbol)
            if sent is not None and (not retry or now - sent < self.resync_retry_s):
                continue
            self._resubscribing[symbol] = now
            self._stats["resubscribes"] += 1
            log.info("%s %s: subscribing to the book again for a snapshot", self.venue, symbol)
            try:
                for doc in self.unsubscribe_messages(symbol) + self.subscribe_messages(symbol, True, False):
                    await conn.send_json(doc)
            except (ConnectionError, RuntimeError) as e:  # the connection went: the reconnect subscribes
                log.warning("%s %s: resubscribe failed: %s", self.venue, symbol, e)

    async def _housekeeping(self, conn: WsConnection) -> None:
        """The venue's pings, the data-staleness check and resubscription retries, until cancelled."""
        next_ping = time.monotonic() + self.ping_interval_s
        tick = min(self.ping_interval_s, self.stale_after_s, self.resync_retry_s) / 4
        while True:
            await asyncio.sleep(tick)
            ws = conn.ws
            if ws is None or ws.closed:
                continue
            now = time.monotonic()
            if now >= next_ping:
                next_ping = now + self.ping_interval_s
                try:
                    await self.send_ping(conn)
                    self._stats["pings"] += 1
                except (ConnectionError, RuntimeError):
                    pass
            if now - self._last_data > self.stale_after_s:
                self._stats["data_stale"] += 1
                log.warning("%s: no book or trade message for %.1f s: stale, reconnecting", self.venue,
                            self.stale_after_s)
                self._last_data = now
                await ws.close()
                continue
            await self._resubscribe(retry=True)

    # ---- the feed -------------------------------------------------------------------------------

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Batches of trades and quotes as they arrive, until cancelled.

        :raise FeedDisconnected: the connection ended (``end_on_disconnect`` only)."""
        self.queue = asyncio.Queue()
        self._down = asyncio.Event()
        for symbol, sync in self.books.items():
            sync.reset()
            self._top[symbol] = None
        conn = self.conn = WsConnection(self.url, self._on_message, stale_after_s=self.stale_after_s,
                                        backoff=self.backoff, name=f"{self.venue} {self.market} market data",
                                        on_connect=self._on_connect, on_disconnect=self._on_disconnect,
                                        rng=self.rng)
        task = asyncio.ensure_future(conn.run())
        chores = asyncio.ensure_future(self._housekeeping(conn))
        down = asyncio.ensure_future(self._down.wait())
        try:
            while True:
                get = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait({get, task, down}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    if task in done:
                        task.result()  # the connection task ended: raise its error
                        return
                    # the connection ended (end_on_disconnect): what it delivered, then the error
                    rest = []
                    while not self.queue.empty():
                        rest.append(self.queue.get_nowait())
                    if rest:
                        self.position += len(rest)
                        yield rest
                    raise FeedDisconnected(f"feed {self.venue}: the connection to {self.url} ended")
                events = [get.result()]
                while len(events) < MAX_BATCH and not self.queue.empty():
                    events.append(self.queue.get_nowait())
                self.position += len(events)
                yield events
        finally:
            await conn.close()
            pending = [task, chores, down, *self._chores]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
