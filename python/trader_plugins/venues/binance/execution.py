"""Binance execution: orders out, order events and fills back, reconciliation.

**Orders** go out over REST (:mod:`.orders` maps the engine's commands; USDⓈ-M conditionals use
the algo-order endpoint). The client order id is the engine's, stored by the node before the
request; an unknown outcome (:class:`.http.OutcomeUnknown`) is reported (:class:`OrderUnknown`)
and resolved by asking for the order by that id, with backoff, until the venue knows or (after
the order's ``recvWindow`` has passed, so it can no longer arrive) says -2013: never reached the
book, :class:`OrderRejected`. Nothing is ever sent twice.

**User data**: spot through the WebSocket API (``userDataStream.subscribe.signature``, events
wrapped ``{"subscriptionId", "event"}``); USDⓈ-M through a listenKey stream (created with
``POST /fapi/v1/listenKey``, kept alive with ``PUT`` every ``listen_key_keepalive_s``, replaced
on -1125 or ``listenKeyExpired``). Events are decoded with msgspec into the report structs below.

**Ordering and duplicates**: each order's reports only move forward. Fills are reported once per
trade id; an order's status only advances (open -> partially filled -> done) and an answer whose
update time or cumulative filled quantity is older than what was already applied is ignored, so a
late REST answer never overwrites a newer stream event. After each (re)connect the client
resubscribes and reads the venue's open orders while the stream's events wait in a buffer; the
buffer is applied after, through the same rules, and then the orders the venue no longer lists
(closed while the stream was away) are asked for one by one while the events flow.

**Dead-man's switch** (USDⓈ-M, ``countdown_cancel_s > 0``): ``countdownCancelAll`` per symbol,
refreshed every third of the countdown; switched off on :meth:`close`.

Reports (``on_report``; defined once for every venue in :mod:`..common.reports`), all decimals as
strings, times in ns: :class:`OrderAccepted`,
:class:`OrderRejected`, :class:`OrderCanceled`, :class:`OrderExpired`, :class:`OrderTriggered`,
:class:`OrderFilled`, :class:`OrderAmended`, :class:`OrderUnknown`, :class:`CancelRejected`,
:class:`ModifyRejected`, :class:`BalanceUpdate`, :class:`PositionUpdate`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from trader.exceptions import InvalidInputError
from trader.live.reconcile import MassStatus, VenueFill, VenueOrder, VenuePosition

from ..common.reports import (BalanceUpdate, CancelRejected, ModifyRejected, OrderAccepted, OrderAmended,
                              OrderCanceled, OrderExpired, OrderFilled, OrderRejected, OrderTriggered, OrderUnknown,
                              PositionUpdate, Report)
from .auth import Credentials, encode, install_redaction
from .config import BinanceConfig
from .http import BinanceError, BinanceHttp, OutcomeUnknown, RateLimited, Withdrawn
from .orders import OrderRefused, SymbolFilters, fmt_decimal, order_request, parse_exchange_info
from .ws import WsConnection

__all__ = ["BinanceExecutionClient", "OrderAccepted", "OrderRejected", "OrderCanceled", "OrderExpired",
           "OrderTriggered", "OrderFilled", "OrderAmended", "OrderUnknown", "CancelRejected", "ModifyRejected",
           "BalanceUpdate",
           "PositionUpdate", "Report"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# ---- wire structs -------------------------------------------------------------------------------


class _ExecReport(msgspec.Struct):
    """Spot ``executionReport`` (and futures ``ORDER_TRADE_UPDATE``'s ``o``, same letters)."""

    s: str
    c: str
    S: str
    o: str
    x: str
    X: str
    i: int
    q: str = "0"
    p: str = "0"
    l: str = "0"  # noqa: E741 - Binance's field name
    z: str = "0"
    L: str = "0"
    n: str | None = "0"
    N: str | None = None
    T: int = 0
    t: int = -1
    m: bool = False
    C: str = ""
    r: str = "NONE"
    w: bool = True
    E: int = 0


class _FuturesOrderEvent(msgspec.Struct):
    E: int
    T: int = 0
    o: _ExecReport | None = None


class _AlgoO(msgspec.Struct):
    caid: str
    aid: int
    X: str
    s: str = ""
    ai: str | int = ""
    rm: str = ""


class _AlgoEvent(msgspec.Struct):
    E: int
    o: _AlgoO


class _Bal(msgspec.Struct):
    a: str
    f: str = "0"
    l: str = "0"  # noqa: E741
    wb: str | None = None


class _Pos(msgspec.Struct):
    s: str
    pa: str
    ep: str = "0"
    ps: str = "BOTH"


class _AccountData(msgspec.Struct):
    B: list[_Bal] = []
    P: list[_Pos] = []


class _AccountUpdate(msgspec.Struct):
    E: int
    a: _AccountData


class _OutboundPosition(msgspec.Struct):
    E: int
    B: list[_Bal] = []


class _Head(msgspec.Struct):
    e: str = ""


_head = msgspec.json.Decoder(_Head)
_exec = msgspec.json.Decoder(_ExecReport)
_fut_order = msgspec.json.Decoder(_FuturesOrderEvent)
_algo = msgspec.json.Decoder(_AlgoEvent)
_account = msgspec.json.Decoder(_AccountUpdate)
_outbound = msgspec.json.Decoder(_OutboundPosition)

# ---- order tracking -----------------------------------------------------------------------------

_RANK = {"submitted": 0, "open": 1, "partially_filled": 2, "filled": 3, "canceled": 3, "expired": 3, "rejected": 3}
_STATUS = {"NEW": "open", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled",
           "PENDING_CANCEL": "open", "REJECTED": "rejected", "EXPIRED": "expired", "EXPIRED_IN_MATCH": "expired",
           "PENDING_NEW": "open"}
_ALGO_STATUS = {"NEW": "open", "CANCELED": "canceled", "REJECTED": "rejected", "EXPIRED": "expired",
                "TRIGGERING": "open", "TRIGGERED": "open", "FINISHED": "open"}
_KIND = {"MARKET": "market", "LIMIT": "limit", "LIMIT_MAKER": "limit", "STOP_LOSS": "stop_market",
         "STOP_LOSS_LIMIT": "stop_limit", "TAKE_PROFIT": "market_if_touched", "TAKE_PROFIT_LIMIT": "limit_if_touched",
         "STOP_MARKET": "stop_market", "STOP": "stop_limit", "TAKE_PROFIT_MARKET": "market_if_touched",
         "TRAILING_STOP_MARKET": "trailing_stop_market"}
_FUTURES_TAKE_PROFIT_LIMIT = "limit_if_touched"
_DONE = ("filled", "canceled", "expired", "rejected")


class _Order:
    """What the client knows of one order (by client id)."""

    __slots__ = ("client_id", "symbol", "venue_order_id", "algo", "actual_id", "status", "filled", "update_ms",
                 "accepted", "triggered", "trades", "sent_ms", "stop", "cancel_wanted", "cancel_sending",
                 "cancel_tries", "qty", "price")

    def __init__(self, client_id: str, symbol: str, algo: bool = False, stop: bool = False) -> None:
        self.client_id, self.symbol, self.algo, self.stop = client_id, symbol, algo, stop
        self.venue_order_id = ""
        self.actual_id = ""  # a triggered algo order's order in the matching engine
        self.status = "submitted"
        self.filled = Decimal(0)
        self.update_ms = 0
        self.accepted = False
        self.triggered = False
        self.trades: set[str] = set()
        self.sent_ms = 0
        # a cancel is wanted until the order is done: one the venue could not take yet (the order
        # not there, or the answer lost) is sent again once the order shows open
        self.cancel_wanted = False
        self.cancel_sending = False
        self.cancel_tries = 0
        self.qty: Decimal | None = None  # as placed or last amended (a modify's base)
        self.price: Decimal | None = None

    @property
    def done(self) -> bool:
        return self.status in _DONE


def _ns(ms: int | float | str | None) -> int:
    return int(ms or 0) * 1_000_000


class BinanceExecutionClient:
    """Orders, user data and reconciliation on one Binance market (see the module docs).

    :param config: market, symbols, URLs, ``recv_window``, ``countdown_cancel_s``,
        ``allow_withdraw``, backoff, listenKey keepalive period.
    :param credentials: the API key and secret.
    :param on_report: called with each report (a msgspec Struct) as it happens.
    :param http: a REST client to use (None: one of its own).
    :param time_fn: the wall clock (s), for report times without a venue time.
    """

    #: Tries of an unknown outcome's resolution before giving up (then left to the node's
    #: in-flight check); the delay doubles from ``resolve_base_s`` up to ``resolve_max_s``.
    resolve_tries = 30
    resolve_base_s = 0.1
    resolve_max_s = 5.0
    #: Sends of one order's cancel at most (see :meth:`cancel`).
    cancel_sends = 5

    def __init__(self, config: BinanceConfig, credentials: Credentials, on_report: Callable[[Any], Any], *,
                 http: BinanceHttp | None = None, time_fn: Callable[[], float] = time.time) -> None:
        if not isinstance(credentials, Credentials):
            raise InvalidInputError("binance: credentials must be a Credentials (from_env or from_file)")
        self.config = config
        self.credentials = credentials
        self.on_report = on_report
        self.http = http or BinanceHttp(config, credentials, time_fn=time_fn)
        self.time_fn = time_fn
        self.filters: dict[str, SymbolFilters] = {}
        self.orders: dict[str, _Order] = {}
        self._by_venue_id: dict[str, str] = {}
        self.conn: WsConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._buffer: list[str] | None = []  # None: live; a list: events wait while catching up
        self._subscribed = asyncio.Event()
        self._catching_up = asyncio.Lock()
        self._catch_up_waiting = False
        self._asking: set[str] = set()  # client ids a catch-up or the open-order check is asking for
        self._ws_id = 0
        self.listen_key = ""
        self.stats: dict[str, int] = {"events": 0, "duplicates": 0, "stale_answers": 0, "catch_ups": 0,
                                      "listen_key_renewals": 0, "unknown_outcomes": 0, "resolved": 0,
                                      "countdown_refreshes": 0, "buffered": 0, "open_check_repairs": 0,
                                      "withdrawn": 0}
        self.redaction = install_redaction(credentials)

    # ---- lifecycle ------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)

        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("binance task failed: %r", task.exception())
        t.add_done_callback(done)
        return t

    async def start(self, *, subscribe_timeout_s: float = 10.0) -> None:
        """Measure the clock, read the symbols' filters and limits, check the key's permissions,
        open the user-data stream (and wait for its subscription), start the dead-man's switch."""
        await self.http.start()
        info = await self.http.request("GET", f"{self.config.api_prefix}/exchangeInfo")
        self.filters = parse_exchange_info(info)
        self.http.set_rate_limits(info.get("rateLimits", []))
        missing = [s for s in self.config.symbols if s not in self.filters]
        if missing:
            raise InvalidInputError(f"binance {self.config.market}: unknown symbol(s) {', '.join(missing)}")
        await self._check_withdrawals()
        if self.config.market == "spot":
            self.conn = WsConnection(self.config.ws_api_url, self._on_message, stale_after_s=self.config.user_stale_s,
                                     pings_alive=True,
                                     backoff=self.config.backoff, name="binance spot user data",
                                     on_connect=self._on_connect_spot, on_disconnect=self._on_disconnect)
        else:
            self.conn = WsConnection(self._listen_url, self._on_message, stale_after_s=self.config.user_stale_s,
                                     pings_alive=True,
                                     backoff=self.config.backoff, name="binance usdm user data",
                                     on_connect=self._on_connect_futures, on_disconnect=self._on_disconnect)
            self._spawn(self._keepalive())
            if self.config.countdown_cancel_s > 0:
                self._spawn(self._countdown())
        self._spawn(self.conn.run())
        if self.config.open_check_s > 0:
            self._spawn(self._open_check())
        await asyncio.wait_for(self._subscribed.wait(), subscribe_timeout_s)

    async def close(self) -> None:
        """Switch the dead-man's switch off, close the stream and the REST client."""
        if self.config.market == "usdm" and self.config.countdown_cancel_s > 0:
            for s in self.config.symbols:
                try:
                    await self.http.request("POST", "/fapi/v1/countdownCancelAll",
                                            {"symbol": s, "countdownTime": 0}, signed=True)
                except (BinanceError, OutcomeUnknown) as e:
                    log.warning("binance: switching the countdown off failed: %s", e)
        if self.conn is not None:
            await self.conn.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.listen_key:
            try:
                await self.http.request("DELETE", "/fapi/v1/listenKey", api_key=True)
            except (BinanceError, OutcomeUnknown):
                pass
        await self.http.close()

    async def _check_withdrawals(self) -> None:
        try:
            r = await self.http.request("GET", "/sapi/v1/account/apiRestrictions", signed=True)
        except BinanceError as e:
            if self.config.market == "spot":
                raise
            log.info("binance usdm: no apiRestrictions endpoint here (%s): withdrawal check skipped", e.status)
            return
        if r.get("enableWithdrawals") and not self.config.allow_withdraw:
            raise InvalidInputError("binance: the API key has withdrawal permission; refused (create a key without "
                                    "it, or set allow_withdraw=True)")

    # ---- user data: connection ------------------------------------------------------------------

    def _start_buffering(self) -> None:
        """Events wait from now on until a catch-up applies them (a buffer already holding some
        keeps them: a second disconnect during a catch-up loses nothing)."""
        if self._buffer is None:
            self._buffer = []

    async def _on_connect_spot(self, conn: WsConnection) -> None:
        self._start_buffering()
        self._ws_id += 1
        params = {"apiKey": self.credentials.api_key, "recvWindow": self.config.recv_window,
                  "timestamp": self.http.server_ms()}
        payload = encode(sorted(params.items()))
        params["signature"] = self.credentials.sign(payload)
        await conn.send_json({"id": f"sub-{self._ws_id}", "method": "userDataStream.subscribe.signature",
                              "params": params})

    async def _listen_url(self) -> str:
        r = await self.http.request("POST", "/fapi/v1/listenKey", api_key=True, priority=True)
        self.listen_key = str(r["listenKey"])
        return f"{self.config.stream_url}/ws/{self.listen_key}"

    async def _on_connect_futures(self, conn: WsConnection) -> None:
        self._start_buffering()
        self._spawn(self._catch_up())

    def _on_disconnect(self) -> None:
        self._subscribed.clear()
        self._start_buffering()

    async def _open_check(self) -> None:
        """Every ``open_check_s``: the venue's open orders against the ones the client believes
        open (NautilusTrader's open-order check) — one request a symbol; an order the venue no
        longer lists (its closing events lost with a dropped or stalled stream) is asked for by
        client id, and its fills fetched."""
        while True:
            await asyncio.sleep(self.config.open_check_s)
            if self._buffer is not None or self._catching_up.locked():
                continue  # catching up already
            for sym in self.config.symbols:
                mine = [o for o in self.orders.values() if o.symbol == sym and not o.done and o.accepted and not o.algo]
                if not mine:
                    continue
                try:
                    raw = await self._venue_open_orders(sym)
                except (BinanceError, OutcomeUnknown) as e:
                    log.warning("binance: open-order check of %s: %s", sym, e)
                    continue
                listed = {str(r.get("clientOrderId", "")) for r in raw}
                now_ms = self.http.server_ms()
                for o in mine:
                    if (o.client_id not in listed and not o.done and o.client_id not in self._asking
                            and now_ms - o.sent_ms > 1000):
                        self.stats["open_check_repairs"] += 1
                        await self._ask(o, "open-order check")

    async def _venue_open_orders(self, symbol: str) -> list[dict[str, Any]]:
        """The venue's open orders of ``symbol``: one request, ahead of the order flow."""
        path = "/api/v3/openOrders" if self.config.market == "spot" else "/fapi/v1/openOrders"
        rows: list[dict[str, Any]] = await self.http.request("GET", path, {"symbol": symbol}, signed=True, priority=True)
        return rows

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.config.listen_key_keepalive_s)
            if not self.listen_key:
                continue
            try:
                await self.http.request("PUT", "/fapi/v1/listenKey", api_key=True, priority=True)
            except BinanceError as e:
                if e.code == -1125:
                    log.warning("binance usdm: listenKey gone (-1125): new key, reconnecting")
                    await self._renew_listen_key()
                else:
                    log.warning("binance usdm: listenKey keepalive failed: %s", e)
            except OutcomeUnknown as e:
                log.warning("binance usdm: listenKey keepalive: %s", e)

    async def _renew_listen_key(self) -> None:
        self.stats["listen_key_renewals"] += 1
        self.listen_key = ""
        if self.conn is not None and self.conn.ws is not None:
            await self.conn.ws.close()  # run() reconnects through _listen_url: a new key

    async def _countdown(self) -> None:
        ms = int(self.config.countdown_cancel_s * 1000)
        while True:
            for s in self.config.symbols:
                try:
                    await self.http.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": s, "countdownTime": ms},
                                            signed=True)
                    self.stats["countdown_refreshes"] += 1
                except (BinanceError, OutcomeUnknown) as e:
                    log.warning("binance usdm: countdownCancelAll %s failed: %s", s, e)
            await asyncio.sleep(self.config.countdown_cancel_s / 3)

    def _on_message(self, text: str, recv_ns: int) -> None:
        if self.config.market == "spot":
            doc = msgspec.json.decode(text)
            if "event" not in doc:  # an answer of the WebSocket API
                if str(doc.get("id", "")).startswith("sub-"):
                    if doc.get("status") == 200:
                        log.info("binance spot user data: subscribed (%s)", doc.get("result"))
                        self._spawn(self._catch_up())
                    else:
                        err = doc.get("error") or {}
                        log.error("binance spot user data: subscription refused: %s %s", err.get("code"),
                                  err.get("msg"))
                        if self.conn is not None and self.conn.ws is not None:
                            self._spawn(self.conn.ws.close())
                return
            text = msgspec.json.encode(doc["event"]).decode()
        if self._buffer is not None:
            self._buffer.append(text)
            self.stats["buffered"] += 1
            return
        self._event(text)

    async def _catch_up(self) -> None:
        """After a (re)subscription: the venue's open orders (one request a symbol) against the
        ones the client believes open, with the stream's new events held meanwhile; then the held
        events, then live — and only then, outside the lock, each order the venue no longer lists
        (closed while the stream was away: its fills and status), one query at a time while the
        events flow: a long catch-up (many such orders, a Retry-After) never holds the live view,
        nor the next reconnect's catch-up, back. A REST
        answer older than what the stream told is stale and dropped (:meth:`_status`). One
        catch-up at a time; a later (re)connect's waits for it, and one waiting already stands
        for every later one (its queries, made after it starts, cover them all)."""
        if self._catch_up_waiting:
            return
        self._catch_up_waiting = True
        async with self._catching_up:
            self._catch_up_waiting = False
            self.stats["catch_ups"] += 1
            ask: list[_Order] = []
            try:
                for sym in self.config.symbols:
                    # an order whose submit is still on its way (or being resolved) is settled by
                    # its answer (or _resolve): asking for it too would cost two queries each
                    mine = [o for o in self.orders.values() if o.symbol == sym and not o.done
                            and not (o.status == "submitted" and o.sent_ms)]
                    if not mine:
                        continue
                    try:
                        raw = await self._venue_open_orders(sym)
                    except (BinanceError, OutcomeUnknown) as e:
                        log.warning("binance: catch-up of %s: %s (asking order by order)", sym, e)
                        raw = None
                    listed = {str(r.get("clientOrderId", "")): r for r in raw} if raw is not None else {}
                    for o in mine:
                        r = listed.get(o.client_id)
                        if r is not None and Decimal(str(r.get("executedQty", "0"))) <= o.filled:
                            self._apply_answer(o, r)  # open, nothing new filled
                        elif not (o.algo and raw is not None and r is None and not o.actual_id and o.accepted):
                            ask.append(o)
            finally:
                buffered, self._buffer = self._buffer or [], None
                for text in buffered:
                    self._event(text)
                self._subscribed.set()
        # outside the lock: a (re)connect meanwhile starts its own catch-up at once
        for o in ask:
            if not o.done and o.client_id not in self._asking:  # not settled by the events, nor asked for
                await self._ask(o, "catch-up")

    async def _ask(self, o: _Order, why: str) -> None:
        """Ask the venue for ``o`` (its fills, then its status) for the catch-up or the open-order
        check: one such query an order at a time (:attr:`_asking`)."""
        self._asking.add(o.client_id)
        try:
            await self._refresh(o.client_id)
        except (BinanceError, OutcomeUnknown) as e:
            log.warning("binance: %s of %s failed: %s", why, o.client_id, e)
        finally:
            self._asking.discard(o.client_id)

    # ---- user data: events ----------------------------------------------------------------------

    def _emit(self, report: Any) -> None:
        try:
            r = self.on_report(report)
            if asyncio.iscoroutine(r):
                self._spawn(r)
        except Exception:
            log.exception("binance: on_report failed for %s", type(report).__name__)

    def _event(self, text: str) -> None:
        self.stats["events"] += 1
        try:
            e = _head.decode(text).e
            if e == "executionReport":
                self._order_event(_exec.decode(text), algo_map=False)
            elif e == "ORDER_TRADE_UPDATE":
                ev = _fut_order.decode(text)
                if ev.o is not None:
                    self._order_event(ev.o, algo_map=True, event_ms=ev.E)
            elif e == "ALGO_UPDATE":
                self._algo_event(_algo.decode(text))
            elif e == "ACCOUNT_UPDATE":
                a = _account.decode(text)
                ts = _ns(a.E)
                if a.a.B:
                    self._emit(BalanceUpdate({b.a: b.wb if b.wb is not None else b.f for b in a.a.B}, ts))
                for p in a.a.P:
                    if p.ps == "BOTH":
                        self._emit(PositionUpdate(p.s, p.pa, p.ep, ts))
            elif e == "outboundAccountPosition":
                o = _outbound.decode(text)
                self._emit(BalanceUpdate({b.a: fmt_decimal(Decimal(b.f) + Decimal(b.l)) for b in o.B}, _ns(o.E)))
            elif e == "listenKeyExpired":
                self._spawn(self._renew_listen_key())
            elif e == "eventStreamTerminated":
                if self.conn is not None and self.conn.ws is not None:
                    self._spawn(self.conn.ws.close())
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            log.error("binance: undecodable user-data event: %s", err)

    def _track(self, cid: str, symbol: str, *, algo: bool = False) -> _Order:
        o = self.orders.get(cid)
        if o is None:
            o = self.orders[cid] = _Order(cid, symbol, algo)
        return o

    def _order_event(self, r: _ExecReport, *, algo_map: bool, event_ms: int = 0) -> None:
        cid = r.C if r.x == "CANCELED" and r.C else r.c
        vid = str(r.i)
        if algo_map and vid in self._by_venue_id:
            cid = self._by_venue_id[vid]
        o = self._track(cid, r.s)
        if not o.venue_order_id and not o.algo:
            o.venue_order_id = vid
        self._by_venue_id.setdefault(vid, cid)
        ts = _ns(r.T or r.E or event_ms)
        if r.x == "TRADE" and r.t >= 0:
            self._fill(o, str(r.t), vid, r.L, r.l, r.n or "0", r.N or "", "maker" if r.m else "taker", ts)
        if r.x == "REJECTED":
            self._status(o, "rejected", o.filled, r.T or r.E, ts, reason=r.r)
            return
        if r.x == "AMENDMENT":
            self._amended(o, r.q, r.p, ts)
        if o.stop and r.w and o.accepted and not o.triggered and r.x == "NEW":
            o.triggered = True
            self._emit(OrderTriggered(cid, ts))
        status = _STATUS.get(r.X, "open")
        self._status(o, status, Decimal(r.z), r.T or r.E or event_ms, ts, venue_id=vid)

    def _algo_event(self, a: _AlgoEvent) -> None:
        o = self._track(a.o.caid, a.o.s, algo=True)
        o.algo = True
        o.venue_order_id = o.venue_order_id or str(a.o.aid)
        ts = _ns(a.E)
        if a.o.ai not in ("", 0, "0"):
            o.actual_id = str(a.o.ai)
            self._by_venue_id[o.actual_id] = o.client_id
        if a.o.X in ("TRIGGERING", "TRIGGERED", "FINISHED") and not o.triggered:
            if not o.accepted:
                self._status(o, "open", o.filled, a.E, ts, venue_id=str(a.o.aid))
            o.triggered = True
            self._emit(OrderTriggered(o.client_id, ts))
            return
        status = _ALGO_STATUS.get(a.o.X, "open")
        self._status(o, status, o.filled, a.E, ts, venue_id=str(a.o.aid), reason=a.o.rm or a.o.X)

    def _fill(self, o: _Order, trade_id: str, vid: str, price: str, qty: str, fee: str, fee_asset: str,
              liquidity: str, ts: int) -> None:
        if trade_id in o.trades:
            self.stats["duplicates"] += 1
            return
        if not o.accepted:
            o.accepted = True
            self._emit(OrderAccepted(o.client_id, o.venue_order_id or vid, ts))
        o.trades.add(trade_id)
        self._emit(OrderFilled(o.client_id, vid, trade_id, price, qty, fee, fee_asset, liquidity, ts))

    def _status(self, o: _Order, status: str, filled: Decimal, update_ms: int, ts: int, *, venue_id: str = "",
                reason: str = "") -> None:
        """Apply a status (from the stream or a REST answer) if it is not older than what is known."""
        if (update_ms and update_ms < o.update_ms) or filled < o.filled or _RANK[status] < _RANK[o.status]:
            self.stats["stale_answers"] += 1
            return
        if o.done:
            return
        if venue_id and not o.venue_order_id:
            o.venue_order_id = venue_id
        o.update_ms = max(o.update_ms, update_ms or 0)
        o.filled = filled
        if status == "rejected" and not o.accepted:
            o.status = status
            self._emit(OrderRejected(o.client_id, reason or "rejected", 0, ts))
            return
        if not o.accepted:
            o.accepted = True
            self._emit(OrderAccepted(o.client_id, o.venue_order_id or venue_id, ts))
        o.status = status
        if status == "canceled":
            self._emit(OrderCanceled(o.client_id, ts))
        elif status == "expired":
            self._emit(OrderExpired(o.client_id, ts))
        elif status == "rejected":
            self._emit(OrderRejected(o.client_id, reason or "rejected", 0, ts))
        elif o.cancel_wanted and not o.cancel_sending:
            self._spawn(self._send_cancel(o))

    # ---- commands -------------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self.time_fn() * 1e9)

    async def submit(self, cmd: dict[str, Any]) -> None:
        """Place the engine's submit command (reports follow; never raises for the venue's refusal)."""
        cid = str(cmd.get("client_id") or "")
        symbol = str(cmd.get("symbol") or self.config.symbols[0]).upper()
        try:
            req = order_request(cmd, self.config.market, self.filters.get(symbol))
        except OrderRefused as e:
            self._emit(OrderRejected(cid, str(e), 0, self._now_ns()))
            return
        o = self._track(cid, symbol, algo=req.algo)
        o.stop = cmd.get("kind") not in ("market", "limit")
        o.qty = Decimal(req.params["quantity"])
        o.price = Decimal(req.params["price"]) if "price" in req.params else None
        o.sent_ms = self.http.server_ms()
        try:
            # canceled while it waits for the order limits: given up, never sent
            resp = await self.http.request("POST", req.path, req.params, signed=True,
                                           withdrawn=lambda: o.cancel_wanted and o.status == "submitted")
        except Withdrawn:
            o.status = "canceled"
            self.stats["withdrawn"] += 1
            self._emit(OrderCanceled(cid, self._now_ns()))
            return
        except OutcomeUnknown as e:
            self.stats["unknown_outcomes"] += 1
            self._emit(OrderUnknown(cid, e.reason))
            self._spawn(self._resolve(cid))
            return
        except BinanceError as e:
            if o.status == "submitted":
                o.status = "rejected"
                self._emit(OrderRejected(cid, e.msg, e.code, self._now_ns()))
            return
        self._apply_answer(o, resp)

    def _apply_answer(self, o: _Order, r: dict[str, Any]) -> None:
        """A REST order (or algo order) answer."""
        if "algoId" in r:
            o.algo = True
            vid = str(r["algoId"])
            status = _ALGO_STATUS.get(str(r.get("algoStatus", "NEW")), "open")
            upd = int(r.get("updateTime") or r.get("createTime") or 0)
            actual = r.get("actualOrderId")
            if actual not in (None, "", 0, "0"):
                o.actual_id = str(actual)
                self._by_venue_id[o.actual_id] = o.client_id
            self._status(o, status, o.filled, upd, _ns(upd) or self._now_ns(), venue_id=vid)
            return
        vid = str(r.get("orderId", ""))
        if vid:
            self._by_venue_id.setdefault(vid, o.client_id)
        upd = int(r.get("updateTime") or r.get("transactTime") or r.get("time") or 0)
        status = _STATUS.get(str(r.get("status", "NEW")), "open")
        filled = Decimal(str(r.get("executedQty", "0")))
        if status in ("partially_filled", "filled") or (status in ("canceled", "expired") and filled > 0):
            # fills come from the stream (or the catch-up's trade query): the status waits for them
            if not o.accepted:
                self._status(o, "open", o.filled, 0, _ns(upd) or self._now_ns(), venue_id=vid)
            if filled > o.filled and status in ("filled", "partially_filled"):
                self._spawn(self._fills_of(o, filled))
            return
        self._status(o, status, filled, upd, _ns(upd) or self._now_ns(), venue_id=vid)

    async def _fills_of(self, o: _Order, filled: Decimal) -> None:
        """The order's trades over REST when the stream has not brought ``filled`` of it within
        a moment (it usually does: no request then; deduplicated either way)."""
        await asyncio.sleep(0.5)  # the stream's events usually arrive first
        await self._subscribed.wait()  # and a catch-up under way hands on the ones it holds first
        if o.filled >= filled:
            return
        try:
            await self._refresh(o.client_id)
        except (BinanceError, OutcomeUnknown) as e:
            log.warning("binance: fills of %s: %s", o.client_id, e)

    async def cancel(self, cmd: dict[str, Any]) -> None:
        """Cancel the order with the command's client id. The cancel stays wanted until the order
        is done: when the venue does not have the order yet (its submit still on the way) or the
        cancel's answer is lost, it is sent again once the order shows open (at most
        :attr:`cancel_sends` times)."""
        cid = str(cmd.get("client_id") or "")
        o = self.orders.get(cid)
        symbol = str(cmd.get("symbol") or (o.symbol if o else self.config.symbols[0])).upper()
        if o is None:
            o = self._track(cid, symbol, algo=self.config.market == "usdm" and cmd.get("kind") not in (None, "market", "limit"))
        o.cancel_wanted = True
        await self._send_cancel(o)

    async def _send_cancel(self, o: _Order) -> None:
        cid, symbol = o.client_id, o.symbol
        if o.done or o.cancel_sending:
            return
        if o.cancel_tries >= self.cancel_sends:
            log.error("binance: cancel of %s not taken after %d sends", cid, o.cancel_tries)
            self._emit(CancelRejected(cid, f"cancel not taken after {o.cancel_tries} sends", 0, self._now_ns()))
            return
        if o.status == "submitted" and o.sent_ms:
            # its submit has not been answered: still waiting for the limits (then it is never
            # sent), or on its way (then the cancel goes once the order shows open, _status)
            return
        o.cancel_tries += 1
        if self.config.market == "spot":
            path, params = "/api/v3/order", {"symbol": symbol, "origClientOrderId": cid}
        elif o.algo and not o.actual_id:
            path, params = "/fapi/v1/algoOrder", {"clientAlgoId": cid}
        elif o.algo:
            path, params = "/fapi/v1/order", {"symbol": symbol, "orderId": o.actual_id}
        else:
            path, params = "/fapi/v1/order", {"symbol": symbol, "origClientOrderId": cid}
        o.cancel_sending = True
        try:
            resp = await self.http.request("DELETE", path, params, signed=True)
        except OutcomeUnknown as e:
            self._emit(OrderUnknown(cid, f"cancel: {e.reason}"))
            self._spawn(self._resolve(cid))  # open there: _status sends the cancel again
            return
        except RateLimited as e:  # refused, not executed: again after the wait
            if e.status == 429:
                self._spawn(self._cancel_again(o, max(e.retry_after_s, self.resolve_base_s)))
                return
            self._emit(CancelRejected(cid, e.msg, e.code, self._now_ns()))
            return
        except BinanceError as e:
            if e.code in (-2011, -2013) and o.sent_ms and not o.done:
                if o.status == "submitted":  # our submit has not reached the venue yet
                    log.info("binance: cancel of %s before the venue has it: again once it shows open", cid)
                    return
                # it showed open while the cancel was on its way (the answer and the stream
                # race), or it is done there and the stream has yet to say: the venue settles it
                self._spawn(self._settle_cancel(o))
                return
            self._emit(CancelRejected(cid, e.msg, e.code, self._now_ns()))
            return
        finally:
            o.cancel_sending = False
        if isinstance(resp, dict):
            if path.endswith("algoOrder"):
                self._status(o, "canceled", o.filled, 0, self._now_ns())
            else:
                self._apply_answer(o, resp)

    async def _cancel_again(self, o: _Order, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        await self._send_cancel(o)

    async def _settle_cancel(self, o: _Order) -> None:
        """The venue's view of an order its cancel did not find: open there, the cancel goes
        again (:meth:`_status`); done there, its fills and status are applied."""
        await asyncio.sleep(self.resolve_base_s)
        if o.done:
            return
        try:
            await self._refresh(o.client_id)
        except (BinanceError, OutcomeUnknown) as e:
            log.warning("binance: settling the cancel of %s: %s", o.client_id, e)
            self._spawn(self._cancel_again(o, self.resolve_base_s))

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol`` (None: every configured symbol); the events
        come through the stream."""
        for s in [symbol.upper()] if symbol else list(self.config.symbols):
            calls = ([("/api/v3/openOrders", {"symbol": s})] if self.config.market == "spot" else
                     [("/fapi/v1/allOpenOrders", {"symbol": s}), ("/fapi/v1/algoOpenOrders", {"symbol": s})])
            for path, params in calls:
                try:
                    await self.http.request("DELETE", path, params, signed=True)
                except BinanceError as e:
                    if e.code not in (-2011, -2013):  # none open
                        log.warning("binance: cancel all %s: %s", s, e)
                except OutcomeUnknown as e:
                    log.warning("binance: cancel all %s: %s", s, e)

    async def modify(self, cmd: dict[str, Any]) -> None:
        """Modify a USDⓈ-M limit order in place (``PUT /fapi/v1/order``: quantity and price; a
        new price loses the queue position, as on any venue). Binance modifies nothing else —
        spot orders, conditional orders and triggers are refused here (cancel and place anew)."""
        cid = str(cmd.get("client_id") or "")
        o = self.orders.get(cid)
        now = self._now_ns()
        if self.config.market != "usdm":
            self._emit(ModifyRejected(cid, "Binance spot modifies no order in place: cancel and place anew", now))
            return
        if o is None or o.qty is None:
            self._emit(ModifyRejected(cid, "the order's quantity and price are not known to this client (placed "
                                      "before a restart): cancel and place anew", now))
            return
        if o.algo or o.stop or cmd.get("trigger") is not None or o.price is None:
            self._emit(ModifyRejected(cid, "Binance modifies USDⓈ-M limit orders only (quantity, price)", now))
            return
        if o.done:
            self._emit(ModifyRejected(cid, f"the order is {o.status} already", now))
            return
        qty = Decimal(str(cmd["qty"])) if cmd.get("qty") is not None else o.qty
        price = Decimal(str(cmd["price"])) if cmd.get("price") is not None else o.price
        params = {"symbol": o.symbol, "origClientOrderId": cid, "side": str(cmd.get("side") or "").upper(),
                  "quantity": fmt_decimal(qty), "price": fmt_decimal(price)}
        try:
            resp = await self.http.request("PUT", "/fapi/v1/order", params, signed=True)
        except OutcomeUnknown as e:
            self._emit(OrderUnknown(cid, f"modify: {e.reason}"))
            self._spawn(self._refresh(cid))  # the venue's view shows whether it took
            return
        except BinanceError as e:
            self._emit(ModifyRejected(cid, e.msg, self._now_ns(), e.code))
            return
        if isinstance(resp, dict):
            self._amended(o, str(resp.get("origQty", qty)), str(resp.get("price", price)), self._now_ns())
            self._apply_answer(o, resp)

    def _amended(self, o: _Order, qty: str, price: str, ts: int) -> None:
        """The venue's quantity and price of an order: a change from what is known is reported
        once (the modify's answer and the stream's AMENDMENT both bring it)."""
        q, p = Decimal(qty), Decimal(price)
        if o.qty is None or o.price is None or (q == o.qty and p == o.price) or o.stop:
            return
        o.qty, o.price = q, p
        self._emit(OrderAmended(o.client_id, qty, price, ts))

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
            raise InvalidInputError(f"binance: unknown command op {op!r}")

    # ---- resolution -----------------------------------------------------------------------------

    async def _resolve(self, cid: str) -> None:
        """Ask for an order of unknown outcome until the venue's answer settles it."""
        delay = self.resolve_base_s
        o = self.orders[cid]
        for _ in range(self.resolve_tries):
            await asyncio.sleep(delay)
            delay = min(self.resolve_max_s, delay * 2)
            try:
                raw = await self._query_raw(cid, o.symbol)
            except OutcomeUnknown:
                continue
            except BinanceError as e:
                log.warning("binance: resolving %s: %s", cid, e)
                continue
            if raw is None:
                if self.http.server_ms() - o.sent_ms > self.config.recv_window + 1000:
                    self.stats["resolved"] += 1
                    if o.status == "submitted":
                        o.status = "rejected"
                        self._emit(OrderRejected(cid, "never reached the venue (-2013 after the outcome was unknown)",
                                                 -2013, self._now_ns()))
                    return
                continue
            self.stats["resolved"] += 1
            await self._apply_venue(o, raw)
            return
        log.error("binance: order %s still unknown after %d queries", cid, self.resolve_tries)

    async def _query_raw(self, cid: str, symbol: str) -> dict[str, Any] | None:
        """The venue's order (or algo order) with this client id as Binance answers it; None: -2013."""
        if self.config.market == "spot":
            try:
                r: dict[str, Any] = await self.http.request("GET", "/api/v3/order",
                                                            {"symbol": symbol, "origClientOrderId": cid}, signed=True,
                                                            priority=True)
                return r
            except BinanceError as e:
                if e.code == -2013:
                    return None
                raise
        o = self.orders.get(cid)
        order_first = not (o and o.algo)
        for kind in (("order", "algo") if order_first else ("algo", "order")):
            try:
                if kind == "order":
                    r = await self.http.request("GET", "/fapi/v1/order", {"symbol": symbol, "origClientOrderId": cid},
                                                signed=True, priority=True)
                else:
                    r = await self.http.request("GET", "/fapi/v1/algoOrder", {"clientAlgoId": cid}, signed=True,
                                                priority=True)
                return r
            except BinanceError as e:
                if e.code not in (-2013, -2011):
                    raise
        return None

    async def _apply_venue(self, o: _Order, raw: dict[str, Any]) -> None:
        """A REST view of an order: its fills first (by trade id), then its status."""
        if "algoId" in raw:
            actual = raw.get("actualOrderId")
            if actual not in (None, "", 0, "0"):
                o.actual_id = str(actual)
                self._by_venue_id[o.actual_id] = o.client_id
                if not o.triggered:
                    if not o.accepted:
                        self._status(o, "open", o.filled, 0, self._now_ns(), venue_id=str(raw["algoId"]))
                    o.triggered = True
                    self._emit(OrderTriggered(o.client_id, _ns(raw.get("triggerTime")) or self._now_ns()))
                real = await self.http.request("GET", "/fapi/v1/order", {"symbol": o.symbol, "orderId": o.actual_id},
                                               signed=True)
                await self._apply_venue(o, real)
                return
            self._apply_answer(o, raw)
            return
        filled = Decimal(str(raw.get("executedQty", "0")))
        if filled > 0:
            for f in await self._trades(o.symbol, str(raw["orderId"])):
                self._fill(o, f["trade_id"], str(raw["orderId"]), f["price"], f["qty"], f["fee"], f["fee_asset"],
                           f["liquidity"], f["ts"])
        vid = str(raw.get("orderId", ""))
        upd = int(raw.get("updateTime") or raw.get("time") or 0)
        if not o.accepted and not o.algo:
            o.venue_order_id = vid
        if "origQty" in raw and "price" in raw:  # a modify whose answer was lost shows here
            self._amended(o, str(raw["origQty"]), str(raw["price"]), _ns(upd) or self._now_ns())
        self._status(o, _STATUS.get(str(raw.get("status")), "open"), filled, upd, _ns(upd) or self._now_ns(),
                     venue_id=vid)

    async def _refresh(self, cid: str) -> None:
        o = self.orders[cid]
        raw = await self._query_raw(cid, o.symbol)
        if raw is not None:
            await self._apply_venue(o, raw)

    async def _trades(self, symbol: str, order_id: str | None = None, since_ms: int | None = None) -> list[dict[str, Any]]:
        spot = self.config.market == "spot"
        path = "/api/v3/myTrades" if spot else "/fapi/v1/userTrades"
        params: dict[str, Any] = {"symbol": symbol}
        if order_id is not None:
            params["orderId"] = order_id
        if since_ms is not None:
            params["startTime"] = since_ms
        params["limit"] = 1000
        out: list[dict[str, Any]] = []
        while True:
            rows = await self.http.request("GET", path, params, signed=True, priority=True)
            for t in rows:
                buyer = t["isBuyer"] if spot else t.get("side") == "BUY"
                out.append({"trade_id": str(t["id"]), "order_id": str(t["orderId"]), "side": "buy" if buyer else "sell",
                            "price": str(t["price"]), "qty": str(t["qty"]), "fee": str(t.get("commission", "0")),
                            "fee_asset": str(t.get("commissionAsset", "")),
                            "liquidity": "maker" if (t.get("isMaker") if spot else t.get("maker")) else "taker",
                            "ts": _ns(t["time"])})
            if len(rows) < 1000:
                return out
            params = {"symbol": symbol, "fromId": int(rows[-1]["id"]) + 1, "limit": 1000}
            if order_id is not None:
                params["orderId"] = order_id

    # ---- reconciliation (trader.live.reconcile.ReconcilingVenue) --------------------------------

    def _venue_order(self, raw: dict[str, Any]) -> VenueOrder:
        if "algoId" in raw:
            typ = str(raw.get("orderType") or raw.get("type") or "")
            kind = _KIND.get(typ, typ.lower())
            if typ == "TAKE_PROFIT":
                kind = _FUTURES_TAKE_PROFIT_LIMIT
            price = raw.get("price") if kind in ("stop_limit", "limit_if_touched") else None
            qty = str(raw.get("quantity") or raw.get("origQty"))
            filled = str(raw.get("executedQty") or "0")
            return VenueOrder(client_id=str(raw["clientAlgoId"]), venue_order_id=str(raw["algoId"]),
                              side=str(raw["side"]).lower(), kind=kind,  # type: ignore[arg-type]
                              price=_pos(price), qty=qty, filled=filled, avg_price=_pos(raw.get("avgPrice")),
                              status=_ALGO_STATUS.get(str(raw.get("algoStatus")), "open"),  # type: ignore[arg-type]
                              ts=_ns(raw.get("updateTime") or raw.get("createTime")), instrument=str(raw.get("symbol")))
        typ = str(raw.get("type", ""))
        kind = _KIND.get(typ, typ.lower())
        if self.config.market == "usdm" and typ == "TAKE_PROFIT":
            kind = _FUTURES_TAKE_PROFIT_LIMIT
        if typ in ("STOP_LOSS", "STOP_LOSS_LIMIT") and int(raw.get("trailingDelta") or 0) > 0:
            kind = "trailing_stop_market" if typ == "STOP_LOSS" else "trailing_stop_limit"
        executed = Decimal(str(raw.get("executedQty", "0")))
        avg = raw.get("avgPrice")
        if avg is None and executed > 0 and raw.get("cummulativeQuoteQty") is not None:
            avg = fmt_decimal(Decimal(str(raw["cummulativeQuoteQty"])) / executed)
        price = raw.get("price") if kind in ("limit", "stop_limit", "limit_if_touched", "trailing_stop_limit") else None
        return VenueOrder(client_id=str(raw.get("clientOrderId", "")), venue_order_id=str(raw["orderId"]),
                          side=str(raw["side"]).lower(), kind=kind, price=_pos(price),  # type: ignore[arg-type]
                          qty=fmt_decimal(Decimal(str(raw["origQty"]))), filled=fmt_decimal(executed),
                          avg_price=_pos(avg) if executed > 0 else None,
                          status=_STATUS.get(str(raw.get("status")), "open"),  # type: ignore[arg-type]
                          ts=_ns(raw.get("updateTime") or raw.get("time")), instrument=str(raw.get("symbol")))

    async def amass_status(self, since_ts: int) -> MassStatus:
        """The venue's open orders, fills since ``since_ts`` (ns), positions and balances."""
        spot = self.config.market == "spot"
        orders: list[VenueOrder] = []
        fills: list[VenueFill] = []
        positions: list[VenuePosition] = []
        cids: dict[str, str] = {vid: cid for vid, cid in self._by_venue_id.items()}
        for s in self.config.symbols:
            for raw in await self.http.request("GET", "/api/v3/openOrders" if spot else "/fapi/v1/openOrders",
                                               {"symbol": s}, signed=True):
                v = self._venue_order(raw)
                cids[v.venue_order_id] = v.client_id
                orders.append(v)
            if not spot:
                try:
                    algos = await self.http.request("GET", "/fapi/v1/openAlgoOrders", {"symbol": s}, signed=True)
                except BinanceError as e:
                    log.warning("binance usdm: open algo orders: %s", e)
                    algos = []
                for raw in algos:
                    if str(raw.get("algoStatus", "NEW")) in ("NEW",):
                        orders.append(self._venue_order(raw))
            for t in await self._trades(s, since_ms=since_ts // 1_000_000):
                cid = cids.get(t["order_id"])
                if cid is None:
                    try:
                        q = await self.http.request("GET", "/api/v3/order" if spot else "/fapi/v1/order",
                                                    {"symbol": s, "orderId": t["order_id"]}, signed=True)
                        cid = cids[t["order_id"]] = str(q.get("clientOrderId", ""))
                    except BinanceError:
                        cid = ""
                fills.append(VenueFill(trade_id=t["trade_id"], client_id=cid, venue_order_id=t["order_id"],
                                       side=t["side"], price=t["price"], qty=t["qty"], fee=t["fee"],
                                       fee_asset=t["fee_asset"], liquidity=t["liquidity"], ts=t["ts"], instrument=s))
        balances: dict[str, str] = {}
        if spot:
            acct = await self.http.request("GET", "/api/v3/account", signed=True)
            for b in acct.get("balances", []):
                total = Decimal(str(b["free"])) + Decimal(str(b["locked"]))
                if total != 0:
                    balances[str(b["asset"])] = fmt_decimal(total)
        else:
            bals = await self._get_versions(["/fapi/v2/balance", "/fapi/v3/balance"])
            for b in bals:
                balances[str(b["asset"])] = fmt_decimal(Decimal(str(b.get("balance", b.get("walletBalance", "0")))))
            risk = await self._get_versions(["/fapi/v2/positionRisk", "/fapi/v3/positionRisk"])
            for p in risk:
                if p.get("symbol") in self.config.symbols and p.get("positionSide", "BOTH") == "BOTH":
                    positions.append(VenuePosition(instrument=str(p["symbol"]),
                                                   qty=fmt_decimal(Decimal(str(p["positionAmt"])))))
        return MassStatus(open_orders=orders, fills=fills, positions=positions, balances=balances,
                          ts=_ns(self.http.server_ms()))

    async def _get_versions(self, paths: list[str]) -> Any:
        last: BinanceError | None = None
        for p in paths:
            try:
                return await self.http.request("GET", p, signed=True)
            except BinanceError as e:
                if e.status != 404:
                    raise
                last = e
        assert last is not None
        raise last

    async def aquery_order(self, client_id: str) -> VenueOrder | None:
        """The venue's order with this client id, any status (None: none)."""
        for s in self._symbols_for(client_id):
            raw = await self._query_raw(client_id, s)
            if raw is not None:
                if "algoId" in raw and raw.get("actualOrderId") not in (None, "", 0, "0"):
                    real = await self.http.request("GET", "/fapi/v1/order",
                                                   {"symbol": s, "orderId": str(raw["actualOrderId"])}, signed=True)
                    v = self._venue_order(real)
                    return msgspec.structs.replace(v, client_id=client_id, kind=self._venue_order(raw).kind)
                return self._venue_order(raw)
        return None

    async def aorder_fills(self, client_id: str) -> list[VenueFill]:
        """Every fill of the venue's order with this client id."""
        for s in self._symbols_for(client_id):
            raw = await self._query_raw(client_id, s)
            if raw is None:
                continue
            vid = str(raw.get("actualOrderId") or raw.get("orderId") or "")
            if "algoId" in raw and raw.get("actualOrderId") in (None, "", 0, "0"):
                return []
            return [VenueFill(trade_id=t["trade_id"], client_id=client_id, venue_order_id=vid, side=t["side"],
                              price=t["price"], qty=t["qty"], fee=t["fee"], fee_asset=t["fee_asset"],
                              liquidity=t["liquidity"], ts=t["ts"], instrument=s)
                    for t in await self._trades(s, order_id=vid)]
        return []

    def _symbols_for(self, client_id: str) -> list[str]:
        o = self.orders.get(client_id)
        return [o.symbol] if o else list(self.config.symbols)

    # sync versions (reconcile() is synchronous): run on a private loop and REST client in a thread

    def _run_sync(self, fn: Callable[[BinanceExecutionClient], Awaitable[T]]) -> T:
        box: dict[str, Any] = {}

        def work() -> None:
            async def main() -> T:
                http = BinanceHttp(self.config, self.credentials, time_fn=self.time_fn)
                http.offset_ms = self.http.offset_ms
                http.budgets = self.http.budgets
                shadow = object.__new__(BinanceExecutionClient)
                shadow.__dict__.update(self.__dict__)
                shadow.http = http
                try:
                    return await fn(shadow)
                finally:
                    await http.close()
            try:
                box["value"] = asyncio.run(main())
            except BaseException as e:  # handed to the caller's thread
                box["error"] = e

        t = threading.Thread(target=work, name="binance-reconcile")
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

    def __repr__(self) -> str:
        return f"BinanceExecutionClient({self.config.market}, {', '.join(self.config.symbols)}, {self.credentials!r})"


def _pos(v: Any) -> str | None:
    """A price as reconciliation takes it: None for absent or zero."""
    if v in (None, ""):
        return None
    d = Decimal(str(v))
    return fmt_decimal(d) if d > 0 else None
