"""The execution flow every venue shares: order tracking, the reports, unknown outcomes, deferred
cancels, the catch-up after a (re)connect, the open-order check and reconciliation. A venue's
execution client subclasses :class:`ExecutionClientBase` and implements only its protocol.

**What the base guarantees** (whatever the venue):

- Each order is tracked by its client id (:class:`TrackedOrder`); its status only moves forward
  (submitted -> open -> partially filled -> done) and its filled quantity never decreases: a view
  of the order (a REST answer, a stream event) older than what was applied — lower rank, less
  filled, or, at the same rank and filled quantity, an older venue update time — is dropped
  (``stats["stale_answers"]``), so a late REST answer never overwrites a newer stream event.
- Fills are reported once per (order, trade id) (``stats["duplicates"]``). A terminal status whose
  filled quantity is ahead of the fills reported waits for them (the stream's executions, or a
  query after :attr:`ExecutionClientBase.fills_grace_s`): an order's reports come as accepted,
  fills, then canceled/expired.
- A submit whose outcome is unknown (:class:`~.http.OutcomeUnknown`) is reported
  (:class:`~.reports.OrderUnknown`) and resolved by querying the order by client id with backoff,
  never by sending it again; when the venue still does not know it after
  :attr:`ExecutionClientBase.unknown_grace_ms` (the receive window: it can no longer arrive), it is
  rejected.
- A submit still waiting for the rate limits when its cancel comes is withdrawn, never sent
  (:class:`Withdrawn`, reported canceled). A cancel of an order whose submit is unanswered is
  deferred and sent once the order shows open (at most :attr:`ExecutionClientBase.cancel_sends`
  sends); a cancel the venue did not find while the order is not done is settled by a query.
- After each (re)subscription the venue's open orders are read while the stream's events wait in a
  buffer; the buffer is applied after through the same rules, then orders the venue no longer lists
  are asked for one by one. Every :attr:`ExecutionClientBase.open_check_s` the venue's open orders
  are compared with the client's (NautilusTrader's open-order check).
- Reconciliation (:class:`trader.live.reconcile.ReconcilingVenue`): ``mass_status``,
  ``query_order``, ``order_fills`` (sync, run on a private loop in a thread with a fresh REST
  client), and their async versions ``amass_status``, ``aquery_order``, ``aorder_fills``.

**The subclass contract** — a venue implements these (the base never calls anything else of it):

=====================================  ===========================================================
``http`` (attribute)                   its REST client; ``await http.close()``
``server_ms()``                        the venue's clock (ms), as the REST client estimates it
``_fresh_http()``                      a new REST client sharing the clock offset and budgets
                                       (reconciliation runs on another loop)
``await _start_rest()``                time sync, instruments, key permissions (before the stream)
``await _query_ready()``               what the queries need, on a client not started (the node
                                       asks for the mass status before it starts the client);
                                       default: nothing
``await _close_rest()``                anything to switch off, then close the REST client
``_prepare(cmd) -> PlaceRequest``      the engine's submit as the venue's request; raises
                                       :class:`~trader.exceptions.InvalidInputError` to refuse
``await _place(o, req, withdrawn)``    send it -> :class:`OrderView` (or None: ack without
                                       state, taken as open); ``withdrawn()`` True while it waits
                                       for the limits -> raise :class:`Withdrawn`, unsent
``await _cancel_order(o)``             -> :class:`OrderView` or None (the stream tells)
``_cancel_not_found(e) -> bool``       the venue's error means "no such open order"
``_amend_refusal(o, cmd) -> str|None`` why a modify cannot be sent (None: it can)
``await _amend_order(o, qty, price)``  -> :class:`OrderView` or None (taken as done)
``await _query_order(sym, cid)``       -> :class:`OrderView` or None (the venue has none)
``await _open_orders(sym)``            -> list of :class:`OrderView`
``await _order_trades(sym, vid)``      -> list of :class:`FillView` of one order
``await _trades_since(sym, ms)``       -> list of :class:`FillView` (for mass status)
``await _cancel_all_orders(sym)``      cancel every open order of ``sym``
``await _balances()`` / ``_positions``  -> ``{asset: total}`` / list of ``VenuePosition``
``await _stream_url()``                the private stream's URL (called on each connect)
``await _stream_login(conn)``          authenticate and subscribe on a fresh connection
``_control(text) -> bool``             a non-event message (acks, pongs) handled: True; call
                                       :meth:`ExecutionClientBase._stream_ready` when subscribed
``_apply_event(text)``                 decode an event into :meth:`~ExecutionClientBase.order_update`,
                                       :meth:`~ExecutionClientBase.fill_update` and
                                       :meth:`~ExecutionClientBase.emit` calls
``_background() -> list[coroutine]``   venue tasks (pings, keepalives) started with the stream
=====================================  ===========================================================

Optional hooks (defaults suit most venues): ``_cancel_retry(e)`` — whether a cancel refused by a
:class:`~.http.RateLimited` goes again after its wait (default: always; a venue that bans the IP
on a retry says no for that case); :attr:`ExecutionClientBase.never_reached` — the reason and
code of the rejection of an order of unknown outcome the venue never got;
:attr:`ExecutionClientBase.ws_connection` — the private stream's connection class (a venue's
subclass of :class:`~.ws.WsConnection`, e.g. one replaced before the venue's age limit).

Errors: the hooks raise :class:`~.http.VenueError` (an answer with an error code; a
:class:`~.http.RateLimited` one is waited out by a cancel), :class:`~.http.OutcomeUnknown`, or
:class:`Withdrawn`. Attributes a subclass sets in its ``__init__`` after ``super().__init__``:
``unknown_grace_ms``, ``stream_stale_s``, ``backoff``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import msgspec

from trader.exceptions import InvalidInputError
from trader.live.reconcile import MassStatus, VenueFill, VenueOrder, VenuePosition

from .http import OutcomeUnknown, RateLimited, VenueError
from .reports import (CancelRejected, ModifyRejected, OrderAccepted, OrderAmended, OrderCanceled, OrderExpired,
                      OrderFilled, OrderRejected, OrderTriggered, OrderUnknown)
from .ws import Backoff, WsConnection

__all__ = ["ExecutionClientBase", "TrackedOrder", "OrderView", "FillView", "PlaceRequest", "Withdrawn",
           "RANK", "DONE", "fmt_decimal"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Status ranks: a status never goes back to a lower rank.
RANK = {"submitted": 0, "open": 1, "partially_filled": 2, "filled": 3, "canceled": 3, "expired": 3, "rejected": 3}
#: Terminal statuses.
DONE = ("filled", "canceled", "expired", "rejected")
ZERO = Decimal(0)


def fmt_decimal(d: Decimal) -> str:
    """A Decimal as venues take it: plain, no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def _ns(ms: int | float | str | None) -> int:
    return int(ms or 0) * 1_000_000


class Withdrawn(Exception):
    """A submit given up before it left (its cancel came while it waited for the limits): never
    sent."""


class OrderView(msgspec.Struct, kw_only=True):
    """One order as the venue reports it (a REST answer or a stream event), in trader's terms.

    ``status``: ``open``, ``partially_filled``, ``filled``, ``canceled``, ``expired`` or
    ``rejected``. ``filled``: the cumulative filled quantity. ``update_ms``: the venue's update
    time (0: not given; then only rank and filled quantity order views). ``qty``/``price``: as the
    venue has them now (an amend shows here; ``price`` None for a market order). ``kind``, ``side``,
    ``avg_price``: for reconciliation. ``triggered``: a conditional order's trigger fired.
    ``reason``/``code``: a rejection's."""

    client_id: str
    venue_order_id: str
    symbol: str
    status: str
    filled: Decimal = ZERO
    update_ms: int = 0
    side: str = ""
    kind: str = ""
    qty: Decimal | None = None
    price: Decimal | None = None
    avg_price: Decimal | None = None
    triggered: bool = False
    reason: str = ""
    code: int = 0


class FillView(msgspec.Struct, kw_only=True):
    """One execution as the venue reports it (decimals as strings, ``ts`` in ns). ``client_id``
    may be empty when the venue does not say (the base finds it by ``venue_order_id``)."""

    trade_id: str
    venue_order_id: str
    client_id: str
    symbol: str
    side: str
    price: str
    qty: str
    fee: str
    fee_asset: str
    liquidity: str
    ts: int


class PlaceRequest(msgspec.Struct, kw_only=True):
    """A submit as the venue's request: the symbol, the quantity and limit price as sent (a
    modify's base), whether it is a conditional order (``stop``), and the venue's ``params``."""

    symbol: str
    qty: Decimal
    price: Decimal | None
    stop: bool
    params: dict[str, Any]


class TrackedOrder:
    """What the client knows of one order (by client id). ``filled``: the venue's cumulative
    filled quantity as applied; ``reported``: the sum of the fills reported; ``pending``: a terminal
    view held until its fills are reported."""

    __slots__ = ("client_id", "symbol", "venue_order_id", "status", "filled", "reported", "update_ms", "accepted",
                 "triggered", "trades", "sent_ms", "stop", "cancel_wanted", "cancel_sending", "cancel_tries", "qty",
                 "price", "pending", "fetching", "extra")

    def __init__(self, client_id: str, symbol: str) -> None:
        self.client_id, self.symbol = client_id, symbol
        self.venue_order_id = ""
        self.status = "submitted"
        self.filled = ZERO
        self.reported = ZERO
        self.update_ms = 0
        self.accepted = False
        self.triggered = False
        self.stop = False
        self.trades: set[str] = set()
        self.sent_ms = 0
        self.cancel_wanted = False
        self.cancel_sending = False
        self.cancel_tries = 0
        self.qty: Decimal | None = None
        self.price: Decimal | None = None
        self.pending: OrderView | None = None
        self.fetching = False
        #: The venue's own notes on the order (e.g. an algo id).
        self.extra: dict[str, Any] = {}

    @property
    def done(self) -> bool:
        return self.status in DONE

    def __repr__(self) -> str:
        return f"TrackedOrder({self.client_id}, {self.symbol}, {self.status}, filled={self.filled})"


class ExecutionClientBase:
    """The venue-neutral execution flow (see the module docs for what a subclass implements).

    :param venue: the venue's name (logs, errors).
    :param symbols: the symbols traded (catch-up, open-order check and mass status cover them).
    :param on_report: called with each report (a :mod:`.reports` struct) as it happens; may
        return a coroutine (it is run as a task).
    :param time_fn: the wall clock (s), for report times without a venue time.
    :param open_check_s: the open-order check's period (0: off).
    """

    #: Tries of an unknown outcome's resolution before giving up (then left to the node's
    #: in-flight check); the delay doubles from ``resolve_base_s`` up to ``resolve_max_s``.
    resolve_tries = 30
    resolve_base_s = 0.1
    resolve_max_s = 5.0
    #: Sends of one order's cancel at most.
    cancel_sends = 5
    #: Seconds the stream has to bring fills a status says exist before they are queried.
    fills_grace_s = 0.5
    #: The open-order check leaves orders sent less than this long ago alone (ms).
    open_check_min_age_ms = 1000
    #: The venue's answer to a modify only says it took the request (OKX: the result comes on the
    #: stream): the amendment is reported when the order shows it, a failure by the subclass
    #: (:meth:`amend_failed`).
    amend_result_on_stream: ClassVar[bool] = False
    #: Name of the venue (logs, errors, the reconciliation thread).
    venue: ClassVar[str] = "venue"
    #: The rejection (reason, code) of an order of unknown outcome the venue never got.
    never_reached: ClassVar[tuple[str, int]] = ("never reached the venue (unknown there after the outcome was "
                                                "unknown)", 0)
    #: The private stream's connection class.
    ws_connection: ClassVar[type[WsConnection]] = WsConnection

    http: Any

    def __init__(self, symbols: tuple[str, ...], on_report: Callable[[Any], Any], *,
                 time_fn: Callable[[], float] = time.time, open_check_s: float = 10.0) -> None:
        self.symbols = tuple(symbols)
        self.on_report = on_report
        self.time_fn = time_fn
        self.open_check_s = open_check_s
        #: After this long without the venue knowing an order of unknown outcome, it cannot
        #: arrive any more (a subclass sets its receive window + margin).
        self.unknown_grace_ms = 6000
        #: The private stream is stale (replaced, then caught up) after this long without a message.
        self.stream_stale_s = 60.0
        self.backoff = Backoff()
        self.orders: dict[str, TrackedOrder] = {}
        self._by_venue_id: dict[str, str] = {}
        self.conn: WsConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._buffer: list[str] | None = []  # None: live; a list: events wait while catching up
        self._subscribed = asyncio.Event()
        self._catching_up = asyncio.Lock()
        self._catch_up_waiting = False
        self._asking: set[str] = set()
        self._refused = asyncio.Event()  # the venue refused the login or subscription (start fails)
        self._refusal = ""
        self.stats: dict[str, int] = {"events": 0, "duplicates": 0, "stale_answers": 0, "catch_ups": 0,
                                      "unknown_outcomes": 0, "resolved": 0, "buffered": 0, "open_check_repairs": 0,
                                      "withdrawn": 0, "fill_queries": 0, "undecodable": 0, "open_check_errors": 0,
                                      "resolve_errors": 0}

    # ---- hooks (the venue's protocol) -----------------------------------------------------------

    def server_ms(self) -> int:
        """The venue's clock (ms); the wall clock unless the subclass knows better."""
        return int(self.time_fn() * 1000)

    def _fresh_http(self) -> Any:
        raise NotImplementedError

    async def _start_rest(self) -> None:
        raise NotImplementedError

    async def _query_ready(self) -> None:
        """Load what the reconciliation queries need when the client was not started (the node
        checks the key with a mass status before :meth:`start`)."""

    async def _close_rest(self) -> None:
        raise NotImplementedError

    def _prepare(self, cmd: dict[str, Any]) -> PlaceRequest:
        raise NotImplementedError

    async def _place(self, o: TrackedOrder, req: PlaceRequest, withdrawn: Callable[[], bool]) -> OrderView | None:
        raise NotImplementedError

    async def _cancel_order(self, o: TrackedOrder) -> OrderView | None:
        raise NotImplementedError

    def _cancel_not_found(self, e: VenueError) -> bool:
        raise NotImplementedError

    def _cancel_retry(self, e: RateLimited) -> bool:
        """Whether a cancel refused by ``e`` goes again after its wait (False: refused)."""
        return True

    def _amend_refusal(self, o: TrackedOrder, cmd: dict[str, Any]) -> str | None:
        return None

    async def _amend_order(self, o: TrackedOrder, qty: Decimal, price: Decimal | None) -> OrderView | None:
        raise NotImplementedError

    async def _query_order(self, symbol: str, client_id: str) -> OrderView | None:
        raise NotImplementedError

    async def _open_orders(self, symbol: str) -> list[OrderView]:
        raise NotImplementedError

    async def _order_trades(self, symbol: str, venue_order_id: str) -> list[FillView]:
        raise NotImplementedError

    async def _trades_since(self, symbol: str, since_ms: int) -> list[FillView]:
        raise NotImplementedError

    async def _cancel_all_orders(self, symbol: str) -> None:
        raise NotImplementedError

    async def _balances(self) -> dict[str, str]:
        raise NotImplementedError

    async def _positions(self) -> list[VenuePosition]:
        raise NotImplementedError

    async def _stream_url(self) -> str:
        raise NotImplementedError

    async def _stream_login(self, conn: WsConnection) -> None:
        raise NotImplementedError

    def _control(self, text: str) -> bool:
        raise NotImplementedError

    def _apply_event(self, text: str) -> None:
        raise NotImplementedError

    def _background(self) -> list[Coroutine[Any, Any, Any]]:
        return []

    # ---- lifecycle ------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)

        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("%s task failed: %r", self.venue, task.exception())
        t.add_done_callback(done)
        return t

    async def start(self, *, subscribe_timeout_s: float = 10.0) -> None:
        """The REST side (:meth:`_start_rest`), then the private stream (and wait for its
        subscription and first catch-up), the venue's tasks and the open-order check."""
        await self._start_rest()
        self.conn = self.ws_connection(self._stream_url, self._on_message, stale_after_s=self.stream_stale_s,
                                       pings_alive=True, backoff=self.backoff, name=f"{self.venue} private stream",
                                       on_connect=self._on_connect, on_disconnect=self._on_disconnect)
        self._spawn(self.conn.run())
        for coro in self._background():
            self._spawn(coro)
        if self.open_check_s > 0:
            self._spawn(self._open_check())
        ready = asyncio.ensure_future(self._subscribed.wait())
        refused = asyncio.ensure_future(self._refused.wait())
        try:
            await asyncio.wait([ready, refused], timeout=subscribe_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            refused.cancel()
        if self._subscribed.is_set():
            return
        why = self._refusal or f"not subscribed within {subscribe_timeout_s}s"
        await self.close()
        if self._refusal:
            raise InvalidInputError(f"{self.venue}: the private stream refused this client: {why}")
        raise asyncio.TimeoutError(f"{self.venue}: private stream {why}")

    async def close(self) -> None:
        """Close the stream, stop every task, close the REST side."""
        if self.conn is not None:
            await self.conn.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_rest()

    # ---- the private stream ---------------------------------------------------------------------

    def _start_buffering(self) -> None:
        """Events wait from now on until a catch-up applies them (a buffer already holding some
        keeps them: a second disconnect during a catch-up loses nothing)."""
        if self._buffer is None:
            self._buffer = []

    async def _on_connect(self, conn: WsConnection) -> None:
        self._start_buffering()
        await self._stream_login(conn)

    def _on_disconnect(self) -> None:
        self._subscribed.clear()
        self._start_buffering()

    def _stream_ready(self) -> None:
        """The subclass's word that the stream is subscribed: the catch-up starts."""
        self._spawn(self._catch_up())

    def _stream_refused(self, why: str) -> None:
        """The subclass's word that the venue refused the login or subscription: the connection
        is replaced (with backoff)."""
        log.error("%s private stream: %s", self.venue, why)
        self._refusal = why
        self._refused.set()
        if self.conn is not None:
            self.conn.refused()  # backed off, not retried at once (a revoked key must not hammer the venue)
            if self.conn.ws is not None:
                self._spawn(self.conn.ws.close())

    def _on_message(self, text: str, recv_ns: int) -> None:
        try:
            if self._control(text):
                return
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError, TypeError) as e:
            self.stats["undecodable"] += 1
            log.error("%s: undecodable private-stream message: %s", self.venue, e)
            return
        if self._buffer is not None:
            self._buffer.append(text)
            self.stats["buffered"] += 1
            return
        self._event(text)

    def _event(self, text: str) -> None:
        self.stats["events"] += 1
        try:
            self._apply_event(text)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError, TypeError, ArithmeticError) as e:
            self.stats["undecodable"] += 1
            log.error("%s: undecodable private-stream event: %s", self.venue, e)

    async def _catch_up(self) -> None:
        """After a (re)subscription: the venue's open orders against the ones the client believes
        open, with the stream's events held meanwhile; then the held events, then live — and only
        then, outside the lock, each order the venue no longer lists (or lists with fills the
        client has not seen) is asked for, one at a time while the events flow. One catch-up at
        a time; one waiting stands for every later one."""
        if self._catch_up_waiting:
            return
        self._catch_up_waiting = True
        async with self._catching_up:
            self._catch_up_waiting = False
            self.stats["catch_ups"] += 1
            ask: list[TrackedOrder] = []
            try:
                for sym in self.symbols:
                    # an order whose submit is unanswered (or being resolved) is settled by its
                    # answer (or the resolution)
                    mine = [o for o in self.orders.values() if o.symbol == sym and not o.done
                            and not (o.status == "submitted" and o.sent_ms)]
                    if not mine:
                        continue
                    try:
                        views: list[OrderView] | None = await self._open_orders(sym)
                    except (VenueError, OutcomeUnknown) as e:
                        log.warning("%s: catch-up of %s: %s (asking order by order)", self.venue, sym, e)
                        views = None
                    listed = {v.client_id: v for v in views or []}
                    for o in mine:
                        v = listed.get(o.client_id)
                        if v is not None and v.filled <= o.reported:
                            self._apply_view(o, v)  # open there, nothing new filled
                        else:
                            ask.append(o)
            finally:
                buffered, self._buffer = self._buffer or [], None
                for text in buffered:
                    self._event(text)
                self._subscribed.set()
        for o in ask:
            if not o.done and o.client_id not in self._asking:
                await self._ask(o, "catch-up")

    async def _ask(self, o: TrackedOrder, why: str) -> None:
        self._asking.add(o.client_id)
        try:
            await self._refresh(o)
        except (VenueError, OutcomeUnknown) as e:
            log.warning("%s: %s of %s failed: %s", self.venue, why, o.client_id, e)
        finally:
            self._asking.discard(o.client_id)

    async def _open_check(self) -> None:
        """Every ``open_check_s``: the venue's open orders against the client's; an order the venue
        no longer lists (its closing events lost) is asked for."""
        while True:
            await asyncio.sleep(self.open_check_s)
            try:
                await self.open_check()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one failed pass must not end the check for the run
                self.stats["open_check_errors"] += 1
                log.exception("%s: open-order check failed; next in %s s", self.venue, self.open_check_s)

    async def open_check(self) -> int:
        """One open-order check (see :meth:`_open_check`); returns the orders asked for."""
        if self._buffer is not None or self._catching_up.locked():
            return 0  # a catch-up does it
        n = 0
        for sym in self.symbols:
            mine = [o for o in self.orders.values() if o.symbol == sym and not o.done and o.accepted]
            if not mine:
                continue
            try:
                views = await self._open_orders(sym)
            except (VenueError, OutcomeUnknown) as e:
                log.warning("%s: open-order check of %s: %s", self.venue, sym, e)
                continue
            listed = {v.client_id for v in views}
            now_ms = self.server_ms()
            for o in mine:
                if (o.client_id not in listed and not o.done and o.client_id not in self._asking
                        and now_ms - o.sent_ms > self.open_check_min_age_ms):
                    self.stats["open_check_repairs"] += 1
                    n += 1
                    await self._ask(o, "open-order check")
        return n

    # ---- applying what the venue says -----------------------------------------------------------

    def emit(self, report: Any) -> None:
        """Hand a report to ``on_report`` (a failure there is logged, never raised here)."""
        try:
            r = self.on_report(report)
            if asyncio.iscoroutine(r):
                self._spawn(r)
        except Exception:
            log.exception("%s: on_report failed for %s", self.venue, type(report).__name__)

    def _now_ns(self) -> int:
        return int(self.time_fn() * 1e9)

    def track(self, client_id: str, symbol: str) -> TrackedOrder:
        """The order with this client id (tracked from now on if it was not)."""
        o = self.orders.get(client_id)
        if o is None:
            o = self.orders[client_id] = TrackedOrder(client_id, symbol)
        return o

    def client_id_of(self, venue_order_id: str) -> str | None:
        return self._by_venue_id.get(venue_order_id)

    def order_update(self, v: OrderView, ts: int = 0) -> None:
        """A view of an order from the stream (or any source): tracked if new, applied by the
        rules of the module docs. ``ts`` (ns): the event's time (default: its update time)."""
        cid = v.client_id or self._by_venue_id.get(v.venue_order_id, "")
        if not cid:
            log.info("%s: event of order %s without a client id: not ours", self.venue, v.venue_order_id)
            return
        self._apply_view(self.track(cid, v.symbol), v, ts)

    def fill_update(self, f: FillView) -> None:
        """One execution: reported once per (order, trade id); a terminal view held for it is
        applied once the fills reported reach its filled quantity."""
        cid = f.client_id or self._by_venue_id.get(f.venue_order_id, "")
        if not cid:
            log.info("%s: fill %s of order %s without a client id: not ours", self.venue, f.trade_id,
                     f.venue_order_id)
            return
        o = self.track(cid, f.symbol)
        if f.venue_order_id:
            self._by_venue_id.setdefault(f.venue_order_id, cid)
            if not o.venue_order_id:
                o.venue_order_id = f.venue_order_id
        if f.trade_id in o.trades:
            self.stats["duplicates"] += 1
            return
        if not o.accepted:
            self._accept(o, f.ts)
        o.trades.add(f.trade_id)
        o.reported += Decimal(f.qty)
        if o.reported > o.filled:
            o.filled = o.reported
            if o.status in ("submitted", "open"):
                o.status = "partially_filled"
        self.emit(OrderFilled(cid, f.venue_order_id or o.venue_order_id, f.trade_id, f.price, f.qty, f.fee,
                              f.fee_asset, f.liquidity, f.ts))
        p = o.pending
        if p is not None and o.reported >= p.filled:
            o.pending = None
            self._status(o, p.status, p.filled, p.update_ms, _ns(p.update_ms) or f.ts, reason=p.reason,
                         code=p.code)

    def _stale(self, o: TrackedOrder, status: str, filled: Decimal, update_ms: int) -> bool:
        """Older than what is applied: a lower rank or less filled; at the same rank and filled
        quantity, an older venue update time (progress is newer whatever the venue's clock says)."""
        if filled < o.filled or RANK[status] < RANK[o.status]:
            return True
        if filled > o.filled or RANK[status] > RANK[o.status]:
            return False
        return bool(update_ms and update_ms < o.update_ms)

    def _accept(self, o: TrackedOrder, ts: int) -> None:
        o.accepted = True
        if o.status == "submitted":
            o.status = "open"
        self.emit(OrderAccepted(o.client_id, o.venue_order_id, ts))

    def _apply_view(self, o: TrackedOrder, v: OrderView, ts: int = 0) -> None:
        ts = ts or _ns(v.update_ms) or self._now_ns()
        if v.venue_order_id:
            self._by_venue_id.setdefault(v.venue_order_id, o.client_id)
            if not o.venue_order_id:
                o.venue_order_id = v.venue_order_id
        if v.status not in RANK or v.status == "submitted":
            raise InvalidInputError(f"{self.venue}: order view of {o.client_id}: unknown status {v.status!r}")
        if self._stale(o, v.status, v.filled, v.update_ms):
            self.stats["stale_answers"] += 1
            return
        if o.done:
            return
        if v.status != "rejected" and v.qty is not None and v.price is not None:
            self._amended(o, v.qty, v.price, ts)
        if v.triggered and o.stop and not o.triggered and v.status != "rejected":
            if not o.accepted:
                self._accept(o, ts)
            o.triggered = True
            self.emit(OrderTriggered(o.client_id, ts))
        if v.filled > o.reported:
            # the fills come first (the stream's executions, or a query): a terminal status waits
            if not o.accepted:
                self._accept(o, ts)
            o.filled = v.filled
            o.update_ms = max(o.update_ms, v.update_ms)
            if v.status in DONE:
                o.pending = v
            else:
                o.status = v.status
                if o.cancel_wanted and not o.cancel_sending:
                    self._spawn(self._send_cancel(o))
            self._fetch_fills(o)
            return
        self._status(o, v.status, v.filled, v.update_ms, ts, reason=v.reason, code=v.code)

    def _status(self, o: TrackedOrder, status: str, filled: Decimal, update_ms: int, ts: int, *, reason: str = "",
                code: int = 0) -> None:
        """Apply a status if it is not older than what is known (a terminal one reported once)."""
        if self._stale(o, status, filled, update_ms):
            self.stats["stale_answers"] += 1
            return
        if o.done:
            return
        o.update_ms = max(o.update_ms, update_ms or 0)
        o.filled = filled
        if status == "rejected":
            o.status = status
            self.emit(OrderRejected(o.client_id, reason or "rejected", code, ts))
            return
        if not o.accepted:
            self._accept(o, ts)
        o.status = status
        if status == "canceled":
            self.emit(OrderCanceled(o.client_id, ts))
        elif status == "expired":
            self.emit(OrderExpired(o.client_id, ts))
        elif status != "filled" and o.cancel_wanted and not o.cancel_sending:
            self._spawn(self._send_cancel(o))

    def _amended(self, o: TrackedOrder, qty: Decimal, price: Decimal, ts: int) -> None:
        """The venue's quantity and price of a (non-conditional) order: a change from what is
        known is reported once (the modify's answer and the stream both bring it)."""
        if o.qty is None or o.price is None or o.stop or (qty == o.qty and price == o.price):
            return
        o.qty, o.price = qty, price
        self.emit(OrderAmended(o.client_id, fmt_decimal(qty), fmt_decimal(price), ts))

    def _fetch_fills(self, o: TrackedOrder) -> None:
        if not o.fetching:
            o.fetching = True
            self._spawn(self._fills_of(o))

    async def _fills_of(self, o: TrackedOrder) -> None:
        """Fills the venue's status says exist and no execution brought: the stream has
        :attr:`fills_grace_s` (a catch-up under way hands on what it holds first), then the
        order is asked for (deduplicated by trade id either way)."""
        try:
            await asyncio.sleep(self.fills_grace_s)
            await self._subscribed.wait()
            if o.reported >= o.filled:
                return
            self.stats["fill_queries"] += 1
            await self._refresh(o)
        except (VenueError, OutcomeUnknown) as e:
            log.warning("%s: fills of %s: %s", self.venue, o.client_id, e)
        finally:
            o.fetching = False

    async def _refresh(self, o: TrackedOrder) -> OrderView | None:
        """The venue's view of ``o``: its fills first (by trade id), then its status."""
        v = await self._query_order(o.symbol, o.client_id)
        if v is None:
            return None
        if v.filled > o.reported and v.venue_order_id:
            for f in await self._order_trades(o.symbol, v.venue_order_id):
                self.fill_update(msgspec.structs.replace(f, client_id=o.client_id))
        self._apply_view(o, v)
        return v

    # ---- commands -------------------------------------------------------------------------------

    async def handle(self, cmd: dict[str, Any]) -> None:
        """Dispatch an engine command by its ``op``."""
        op = cmd.get("op")
        if op == "submit":
            await self.submit(cmd)
        elif op == "cancel":
            await self.cancel(cmd)
        elif op == "cancel_all":
            await self.cancel_all(cmd.get("symbol"))
        elif op == "modify":
            await self.modify(cmd)
        else:
            raise InvalidInputError(f"{self.venue}: unknown command op {op!r}")

    async def submit(self, cmd: dict[str, Any]) -> None:
        """Place the engine's submit command (reports follow; never raises for the venue's refusal)."""
        cid = str(cmd.get("client_id") or "")
        try:
            req = self._prepare(cmd)
        except InvalidInputError as e:
            self.emit(OrderRejected(cid, str(e), 0, self._now_ns()))
            return
        o = self.track(cid, req.symbol)
        o.stop, o.qty, o.price = req.stop, req.qty, req.price
        o.sent_ms = self.server_ms()
        try:
            v = await self._place(o, req, lambda: o.cancel_wanted and o.status == "submitted")
        except Withdrawn:
            o.status = "canceled"
            self.stats["withdrawn"] += 1
            self.emit(OrderCanceled(cid, self._now_ns()))
            return
        except OutcomeUnknown as e:
            self.stats["unknown_outcomes"] += 1
            # the grace for "never reached" runs from now: the request left after its waits for the
            # limits and its retries, at the latest now, and may still be taken within the venue's
            # receive window of its signature
            o.sent_ms = max(o.sent_ms, self.server_ms())
            # reported even when the stream told first (the answer is lost all the same); the
            # resolution then confirms what the stream said
            self.emit(OrderUnknown(cid, e.reason))
            self._spawn(self._resolve(o))
            return
        except VenueError as e:
            if o.status == "submitted":
                o.status = "rejected"
                self.emit(OrderRejected(cid, e.msg, e.code, self._now_ns()))
            return
        if v is None:
            v = OrderView(client_id=cid, venue_order_id=o.venue_order_id, symbol=o.symbol, status="open")
        self._apply_view(o, v)

    async def _resolve(self, o: TrackedOrder) -> None:
        """Ask for an order of unknown outcome until the venue's answer settles it."""
        delay = self.resolve_base_s
        for _ in range(self.resolve_tries):
            await asyncio.sleep(delay)
            delay = min(self.resolve_max_s, delay * 2)
            if o.done:  # settled by the stream meanwhile
                self.stats["resolved"] += 1
                return
            try:
                v = await self._refresh(o)
            except OutcomeUnknown:
                continue
            except VenueError as e:
                log.warning("%s: resolving %s: %s", self.venue, o.client_id, e)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - an answer it cannot read: ask again, the order stays unknown meanwhile
                self.stats["resolve_errors"] += 1
                log.exception("%s: resolving %s: the venue's answer could not be applied", self.venue, o.client_id)
                continue
            if v is None:
                if self.server_ms() - o.sent_ms > self.unknown_grace_ms:
                    self.stats["resolved"] += 1
                    if o.status == "submitted":
                        o.status = "rejected"
                        why, code = self.never_reached
                        self.emit(OrderRejected(o.client_id, why, code, self._now_ns()))
                    return
                continue
            self.stats["resolved"] += 1
            return
        log.error("%s: order %s still unknown after %d queries", self.venue, o.client_id, self.resolve_tries)

    async def cancel(self, cmd: dict[str, Any]) -> None:
        """Cancel the order with the command's client id. The cancel stays wanted until the order
        is done: when the venue does not have the order yet (its submit unanswered) or the cancel's
        answer is lost, it is sent again once the order shows open (:attr:`cancel_sends` at most)."""
        cid = str(cmd.get("client_id") or "")
        o = self.orders.get(cid)
        if o is None:
            o = self.track(cid, str(cmd.get("symbol") or self.symbols[0]).upper())
        o.cancel_wanted = True
        await self._send_cancel(o)

    async def _send_cancel(self, o: TrackedOrder) -> None:
        cid = o.client_id
        if o.done or o.cancel_sending:
            return
        if o.cancel_tries >= self.cancel_sends:
            log.error("%s: cancel of %s not taken after %d sends", self.venue, cid, o.cancel_tries)
            o.cancel_wanted = False  # refused once: a later update of the order does not send it again
            self.emit(CancelRejected(cid, f"cancel not taken after {o.cancel_tries} sends", 0, self._now_ns()))
            return
        if o.status == "submitted" and o.sent_ms:
            return  # its submit is unanswered: withdrawn if still waiting, else sent once it shows open
        o.cancel_tries += 1
        o.cancel_sending = True
        try:
            v = await self._cancel_order(o)
        except OutcomeUnknown as e:
            self.emit(OrderUnknown(cid, f"cancel: {e.reason}"))
            self._spawn(self._settle_cancel(o))
            return
        except RateLimited as e:  # refused, not executed: again after the wait
            if self._cancel_retry(e):
                self._spawn(self._cancel_again(o, max(e.retry_after_s, self.resolve_base_s)))
            else:
                self.emit(CancelRejected(cid, e.msg, e.code, self._now_ns()))
            return
        except VenueError as e:
            if self._cancel_not_found(e) and o.sent_ms and not o.done:
                if o.status == "submitted":
                    log.info("%s: cancel of %s before the venue has it: again once it shows open", self.venue, cid)
                    return
                self._spawn(self._settle_cancel(o))
                return
            self.emit(CancelRejected(cid, e.msg, e.code, self._now_ns()))
            return
        finally:
            o.cancel_sending = False
        if v is not None:
            self._apply_view(o, v)
        if not o.done:
            self._spawn(self._settle_cancel(o, self.fills_grace_s * 4))

    async def _cancel_again(self, o: TrackedOrder, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        await self._send_cancel(o)

    async def _settle_cancel(self, o: TrackedOrder, wait_s: float | None = None) -> None:
        """The venue's view of an order its cancel did not settle: open there, the cancel goes
        again (:meth:`_status`); done there, its fills and status are applied."""
        await asyncio.sleep(self.resolve_base_s if wait_s is None else wait_s)
        if o.done:
            return
        try:
            await self._refresh(o)
        except (VenueError, OutcomeUnknown) as e:
            log.warning("%s: settling the cancel of %s: %s", self.venue, o.client_id, e)
            self._spawn(self._cancel_again(o, self.resolve_base_s))

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol`` (None: every symbol); the events follow."""
        for s in [symbol.upper()] if symbol else list(self.symbols):
            try:
                await self._cancel_all_orders(s)
            except (VenueError, OutcomeUnknown) as e:
                log.warning("%s: cancel all %s: %s", self.venue, s, e)

    async def modify(self, cmd: dict[str, Any]) -> None:
        """Amend an order's quantity and/or price in place (what the venue refuses is a
        :class:`ModifyRejected`)."""
        cid = str(cmd.get("client_id") or "")
        o = self.orders.get(cid)
        now = self._now_ns()
        if o is None or o.qty is None:
            self.emit(ModifyRejected(cid, "the order's quantity and price are not known to this client (placed "
                                     "before a restart): cancel and place anew", now))
            return
        if o.done:
            self.emit(ModifyRejected(cid, f"the order is {o.status} already", now))
            return
        why = self._amend_refusal(o, cmd)
        if why is not None:
            self.emit(ModifyRejected(cid, why, now))
            return
        try:
            qty = Decimal(str(cmd["qty"])) if cmd.get("qty") is not None else o.qty
            price = Decimal(str(cmd["price"])) if cmd.get("price") is not None else o.price
        except ArithmeticError:
            self.emit(ModifyRejected(cid, f"qty/price must be decimals, got {cmd.get('qty')!r}/{cmd.get('price')!r}",
                                     now))
            return
        if not qty.is_finite() or qty <= 0 or (price is not None and (not price.is_finite() or price <= 0)):
            self.emit(ModifyRejected(cid, f"qty and price must be positive, got {qty}/{price}", now))
            return
        try:
            v = await self._amend_order(o, qty, price)
        except OutcomeUnknown as e:
            self.emit(OrderUnknown(cid, f"modify: {e.reason}"))
            self._spawn(self._refresh(o))
            return
        except VenueError as e:
            self.emit(ModifyRejected(cid, e.msg, self._now_ns(), e.code))
            return
        if price is not None and not self.amend_result_on_stream:
            self._amended(o, qty, price, self._now_ns())
        if v is not None:
            self._apply_view(o, v)

    def amend_failed(self, client_id: str, reason: str, code: int = 0) -> None:
        """The venue says a modify it had taken failed: the order is as it was (a
        :class:`ModifyRejected`)."""
        if client_id in self.orders:
            self.emit(ModifyRejected(client_id, reason, self._now_ns(), code))

    # ---- reconciliation (trader.live.reconcile.ReconcilingVenue) --------------------------------

    @staticmethod
    def venue_order(v: OrderView) -> VenueOrder:
        """An :class:`OrderView` as reconciliation takes it."""
        return VenueOrder(client_id=v.client_id, venue_order_id=v.venue_order_id, side=v.side,  # type: ignore[arg-type]
                          kind=v.kind, price=fmt_decimal(v.price) if v.price else None,
                          qty=fmt_decimal(v.qty if v.qty is not None else v.filled), filled=fmt_decimal(v.filled),
                          avg_price=fmt_decimal(v.avg_price) if v.avg_price and v.filled > 0 else None,
                          status=v.status, ts=_ns(v.update_ms), instrument=v.symbol)  # type: ignore[arg-type]

    @staticmethod
    def venue_fill(f: FillView, client_id: str | None = None) -> VenueFill:
        """A :class:`FillView` as reconciliation takes it (``client_id``: instead of the view's)."""
        return VenueFill(trade_id=f.trade_id, client_id=f.client_id if client_id is None else client_id,
                         venue_order_id=f.venue_order_id, side=f.side,  # type: ignore[arg-type]
                         price=f.price, qty=f.qty, fee=f.fee, fee_asset=f.fee_asset, liquidity=f.liquidity or None,
                         ts=f.ts, instrument=f.symbol)

    async def amass_status(self, since_ts: int) -> MassStatus:
        """The venue's open orders, fills since ``since_ts`` (ns), positions and balances."""
        orders: list[VenueOrder] = []
        fills: list[VenueFill] = []
        cids = dict(self._by_venue_id)
        for s in self.symbols:
            for v in await self._open_orders(s):
                cids.setdefault(v.venue_order_id, v.client_id)
                orders.append(self.venue_order(v))
            for f in await self._trades_since(s, since_ts // 1_000_000):
                fills.append(self.venue_fill(f, f.client_id or cids.get(f.venue_order_id, "")))
        return MassStatus(open_orders=orders, fills=fills, positions=await self._positions(),
                          balances=await self._balances(), ts=_ns(self.server_ms()))

    def _symbols_for(self, client_id: str) -> list[str]:
        o = self.orders.get(client_id)
        return [o.symbol] if o else list(self.symbols)

    async def aquery_order(self, client_id: str) -> VenueOrder | None:
        """The venue's order with this client id, any status (None: none)."""
        for s in self._symbols_for(client_id):
            v = await self._query_order(s, client_id)
            if v is not None:
                return self.venue_order(v)
        return None

    async def aorder_fills(self, client_id: str) -> list[VenueFill]:
        """Every fill of the venue's order with this client id."""
        for s in self._symbols_for(client_id):
            v = await self._query_order(s, client_id)
            if v is None:
                continue
            if v.filled <= 0:
                return []
            return [self.venue_fill(f, client_id) for f in await self._order_trades(s, v.venue_order_id)]
        return []

    def _run_sync(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn(shadow)`` on a private loop in a thread: ``shadow`` is this client with a fresh
        REST client (:meth:`_fresh_http`), the node's loop untouched."""
        box: dict[str, Any] = {}

        def work() -> None:
            async def main() -> T:
                http = self._fresh_http()
                shadow = object.__new__(type(self))
                shadow.__dict__.update(self.__dict__)
                shadow.http = http
                try:
                    await shadow._query_ready()
                    return await fn(shadow)
                finally:
                    await http.close()
            try:
                box["value"] = asyncio.run(main())
            except BaseException as e:  # handed to the caller's thread
                box["error"] = e

        t = threading.Thread(target=work, name=f"{self.venue}-reconcile")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    def mass_status(self, since_ts: int) -> MassStatus:
        return self._run_sync(lambda c: c.amass_status(since_ts))

    def query_order(self, client_id: str) -> VenueOrder | None:
        return self._run_sync(lambda c: c.aquery_order(client_id))

    def order_fills(self, client_id: str) -> list[VenueFill]:
        return self._run_sync(lambda c: c.aorder_fills(client_id))
