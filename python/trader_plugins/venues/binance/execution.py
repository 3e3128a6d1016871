"""Binance execution (one market: spot or USDⓈ-M): orders out, order events and fills back,
reconciliation — Binance's protocol on the shared flow of :mod:`..common.execution` (tracking, the
ordering rules, unknown outcomes, deferred cancels, catch-up, open-order check, reconciliation).

**Orders** go out over REST (:mod:`.orders` maps the engine's commands; USDⓈ-M conditionals use
the algo-order endpoint: the algo id is the order's venue id, the order it becomes once triggered
— its ``actualOrderId`` — is kept in :attr:`TrackedOrder.extra` and its events and fills reach the
algo order's client id). The client order id is the engine's; an unknown outcome is resolved by
asking for the order by that id (the base's flow) until the venue knows or, after the order's
``recvWindow`` has passed (it can no longer arrive), says -2013: never reached the book,
:class:`OrderRejected` with code -2013.

**User data**: spot through the WebSocket API (``userDataStream.subscribe.signature``, events
wrapped ``{"subscriptionId", "event"}``; the subscription's ack starts the catch-up); USDⓈ-M
through a listenKey stream (created with ``POST /fapi/v1/listenKey`` on each connect, kept alive
with ``PUT`` every ``listen_key_keepalive_s``, replaced on -1125 or ``listenKeyExpired``).
``executionReport`` / ``ORDER_TRADE_UPDATE`` become a fill (``x`` TRADE, by trade id) then an
order view; ``ALGO_UPDATE`` an algo order's view (TRIGGERING / TRIGGERED / FINISHED: triggered);
``ACCOUNT_UPDATE`` / ``outboundAccountPosition`` a :class:`BalanceUpdate` (and one-way
:class:`PositionUpdate`).

**Dead-man's switch** (USDⓈ-M, ``countdown_cancel_s > 0``): ``countdownCancelAll`` per symbol,
refreshed every third of the countdown; switched off on :meth:`close`.

A cancel refused by a 418 (an IP ban) is reported refused, never sent again into the ban; a
429's is sent again after its ``Retry-After``.

Reports (``on_report``; defined once for every venue in :mod:`..common.reports`), all decimals as
strings, times in ns: :class:`OrderAccepted`, :class:`OrderRejected`, :class:`OrderCanceled`,
:class:`OrderExpired`, :class:`OrderTriggered`, :class:`OrderFilled`, :class:`OrderAmended`,
:class:`OrderUnknown`, :class:`CancelRejected`, :class:`ModifyRejected`, :class:`BalanceUpdate`,
:class:`PositionUpdate`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from trader.exceptions import InvalidInputError
from trader.live.reconcile import VenuePosition

from ..common import http as _common_http
from ..common import ws as _common_ws
from ..common.execution import ExecutionClientBase, FillView, OrderView, PlaceRequest, TrackedOrder
from ..common.reports import (BalanceUpdate, CancelRejected, ModifyRejected, OrderAccepted, OrderAmended,
                              OrderCanceled, OrderExpired, OrderFilled, OrderRejected, OrderTriggered, OrderUnknown,
                              PositionUpdate, Report)
from .auth import Credentials, encode, install_redaction
from .config import BinanceConfig
from .http import BinanceError, BinanceHttp, OutcomeUnknown
from .orders import SymbolFilters, fmt_decimal, order_request, parse_exchange_info
from .ws import WsConnection

__all__ = ["BinanceExecutionClient", "view_of", "OrderAccepted", "OrderRejected", "OrderCanceled", "OrderExpired",
           "OrderTriggered", "OrderFilled", "OrderAmended", "OrderUnknown", "CancelRejected", "ModifyRejected",
           "BalanceUpdate", "PositionUpdate", "Report"]

log = logging.getLogger(__name__)

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
    """Any message of the user-data stream: its event type, the spot WebSocket API's wrapped
    ``event``, or an answer's ``id`` / ``status`` / ``error``."""

    e: str = ""
    event: msgspec.Raw = msgspec.Raw()  # empty: not wrapped
    id: Any = None
    status: Any = None
    error: Any = None
    result: Any = None


_head = msgspec.json.Decoder(_Head)
_exec = msgspec.json.Decoder(_ExecReport)
_fut_order = msgspec.json.Decoder(_FuturesOrderEvent)
_algo = msgspec.json.Decoder(_AlgoEvent)
_account = msgspec.json.Decoder(_AccountUpdate)
_outbound = msgspec.json.Decoder(_OutboundPosition)

# ---- Binance's orders as views ------------------------------------------------------------------

#: Binance's order status -> trader's.
STATUS = {"NEW": "open", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled",
          "PENDING_CANCEL": "open", "REJECTED": "rejected", "EXPIRED": "expired", "EXPIRED_IN_MATCH": "expired",
          "PENDING_NEW": "open"}
#: An algo order's status -> trader's (once triggered, the order it became carries the state).
ALGO_STATUS = {"NEW": "open", "CANCELED": "canceled", "REJECTED": "rejected", "EXPIRED": "expired",
               "TRIGGERING": "open", "TRIGGERED": "open", "FINISHED": "open"}
_ALGO_TRIGGERED = ("TRIGGERING", "TRIGGERED", "FINISHED")
_KIND = {"MARKET": "market", "LIMIT": "limit", "LIMIT_MAKER": "limit", "STOP_LOSS": "stop_market",
         "STOP_LOSS_LIMIT": "stop_limit", "TAKE_PROFIT": "market_if_touched", "TAKE_PROFIT_LIMIT": "limit_if_touched",
         "STOP_MARKET": "stop_market", "STOP": "stop_limit", "TAKE_PROFIT_MARKET": "market_if_touched",
         "TRAILING_STOP_MARKET": "trailing_stop_market"}
_PRICED = ("limit", "stop_limit", "limit_if_touched", "trailing_stop_limit")
#: Errors meaning "no such (open) order".
NOT_FOUND = (-2011, -2013)


def _dec(v: Any) -> Decimal | None:
    if v in (None, ""):
        return None
    d = Decimal(str(v))
    return d if d.is_finite() else None


def _pos(v: Any) -> Decimal | None:
    """A price as Binance gives it: None for absent or zero."""
    d = _dec(v)
    return d if d is not None and d > 0 else None


def _actual_id(raw: dict[str, Any]) -> str:
    """A triggered algo order's order in the matching engine ("" before the trigger)."""
    a = raw.get("actualOrderId")
    return "" if a in (None, "", 0, "0") else str(a)


def view_of(raw: dict[str, Any], market: str) -> OrderView:
    """A REST order (``/api/v3/order``, ``/fapi/v1/order``, their open-order lists and answers) or
    algo order (``/fapi/v1/algoOrder``: ``algoId`` in it) as an :class:`OrderView`."""
    if "algoId" in raw:
        typ = str(raw.get("orderType") or raw.get("type") or "")
        kind = "limit_if_touched" if typ == "TAKE_PROFIT" else _KIND.get(typ, typ.lower())
        algo_status = str(raw.get("algoStatus", "NEW"))
        return OrderView(client_id=str(raw.get("clientAlgoId") or ""), venue_order_id=str(raw["algoId"]),
                         symbol=str(raw.get("symbol", "")), status=ALGO_STATUS.get(algo_status, "open"),
                         filled=_dec(raw.get("executedQty")) or Decimal(0),
                         update_ms=int(raw.get("updateTime") or raw.get("createTime") or 0),
                         side=str(raw.get("side", "")).lower(), kind=kind,
                         qty=_dec(raw.get("quantity") or raw.get("origQty")),
                         price=_pos(raw.get("price")) if kind in ("stop_limit", "limit_if_touched") else None,
                         avg_price=_pos(raw.get("avgPrice")),
                         triggered=algo_status in _ALGO_TRIGGERED or bool(_actual_id(raw)),
                         reason=str(raw.get("rejectReason") or algo_status))
    typ = str(raw.get("type", ""))
    kind = _KIND.get(typ, typ.lower())
    if market == "usdm" and typ == "TAKE_PROFIT":
        kind = "limit_if_touched"
    if typ in ("STOP_LOSS", "STOP_LOSS_LIMIT") and int(raw.get("trailingDelta") or 0) > 0:
        kind = "trailing_stop_market" if typ == "STOP_LOSS" else "trailing_stop_limit"
    filled = _dec(raw.get("executedQty")) or Decimal(0)
    avg = _pos(raw.get("avgPrice"))
    if avg is None and filled > 0 and raw.get("cummulativeQuoteQty") is not None:
        avg = Decimal(str(raw["cummulativeQuoteQty"])) / filled
    return OrderView(client_id=str(raw.get("clientOrderId") or ""), venue_order_id=str(raw.get("orderId", "")),
                     symbol=str(raw.get("symbol", "")), status=STATUS.get(str(raw.get("status", "NEW")), "open"),
                     filled=filled,
                     update_ms=int(raw.get("updateTime") or raw.get("transactTime") or raw.get("time") or 0),
                     side=str(raw.get("side", "")).lower(), kind=kind, qty=_dec(raw.get("origQty")),
                     price=_pos(raw.get("price")) if kind in _PRICED else None, avg_price=avg,
                     reason=str(raw.get("status", "")))


class _Place(PlaceRequest, kw_only=True):
    """A submit as Binance's request: the endpoint, and whether it is an algo order."""

    path: str
    algo: bool


class BinanceExecutionClient(ExecutionClientBase):
    """Orders, user data and reconciliation on one Binance market (see the module docs).

    :param config: market, symbols, URLs, ``recv_window``, ``countdown_cancel_s``,
        ``allow_withdraw``, backoff, listenKey keepalive period, the open-order check.
    :param credentials: the API key and secret.
    :param on_report: called with each report (a msgspec Struct) as it happens.
    :param http: a REST client to use (None: one of its own).
    :param time_fn: the wall clock (s), for report times without a venue time.
    """

    venue = "binance"
    ws_connection = WsConnection  # replaced before Binance's 24 h limit
    never_reached: ClassVar[tuple[str, int]] = ("never reached the venue (-2013 after the outcome was unknown)", -2013)

    def __init__(self, config: BinanceConfig, credentials: Credentials, on_report: Callable[[Any], Any], *,
                 http: BinanceHttp | None = None, time_fn: Callable[[], float] = time.time) -> None:
        if not isinstance(credentials, Credentials):
            raise InvalidInputError("binance: credentials must be a Credentials (from_env or from_file)")
        super().__init__(config.symbols, on_report, time_fn=time_fn, open_check_s=config.open_check_s)
        self.config = config
        self.credentials = credentials
        self.market = config.market
        self.http = http or BinanceHttp(config, credentials, time_fn=time_fn)
        self.unknown_grace_ms = config.recv_window + 1000
        self.stream_stale_s = config.user_stale_s
        self.backoff = config.backoff
        self.filters: dict[str, SymbolFilters] = {}
        self.listen_key = ""
        self._ws_id = itertools.count(1)
        self._foreign_trades: set[tuple[str, int]] = set()  # (order id, trade id) of orders without a client id
        self.stats |= {"listen_key_renewals": 0, "countdown_refreshes": 0}
        self.redaction = install_redaction(credentials)

    def __repr__(self) -> str:
        return f"BinanceExecutionClient({self.market}, {', '.join(self.symbols)}, {self.credentials!r})"

    @staticmethod
    def _is_algo(o: TrackedOrder) -> bool:
        return bool(o.extra.get("algo"))

    def _owner(self, order_id: str) -> str | None:
        """The client id of the venue's order ``order_id`` as this client knows it: a triggered
        algo order's order belongs to the algo order; an algo id (numbered apart from orders)
        never names an order."""
        cid = self._by_venue_id.get(order_id)
        o = self.orders.get(cid) if cid else None
        if o is not None and self._is_algo(o) and o.extra.get("actual_id") != order_id:
            return None
        return cid

    # ---- REST side ------------------------------------------------------------------------------

    def server_ms(self) -> int:
        return self.http.server_ms()  # type: ignore[no-any-return]

    def _fresh_http(self) -> BinanceHttp:
        http = BinanceHttp(self.config, self.credentials, time_fn=self.time_fn)
        http.offset_ms = self.http.offset_ms
        http.budgets = self.http.budgets
        return http

    async def _start_rest(self) -> None:
        """Measure the clock, read the symbols' filters and limits, check the key's permissions."""
        await self.http.start()
        info = await self.http.request("GET", f"{self.config.api_prefix}/exchangeInfo")
        self.filters = parse_exchange_info(info)
        self.http.set_rate_limits(info.get("rateLimits", []))
        missing = [s for s in self.symbols if s not in self.filters]
        if missing:
            raise InvalidInputError(f"binance {self.market}: unknown symbol(s) {', '.join(missing)}")
        await self._check_withdrawals()

    async def _check_withdrawals(self) -> None:
        try:
            r = await self.http.request("GET", "/sapi/v1/account/apiRestrictions", signed=True)
        except BinanceError as e:
            if self.market == "spot":
                raise
            log.info("binance usdm: no apiRestrictions endpoint here (%s): withdrawal check skipped", e.status)
            return
        if r.get("enableWithdrawals") and not self.config.allow_withdraw:
            raise InvalidInputError("binance: the API key has withdrawal permission; refused (create a key without "
                                    "it, or set allow_withdraw=True)")

    async def _close_rest(self) -> None:
        """Switch the dead-man's switch off, drop the listenKey, close the REST client."""
        if self.market == "usdm" and self.config.countdown_cancel_s > 0:
            for s in self.symbols:
                try:
                    await self.http.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": s, "countdownTime": 0},
                                            signed=True)
                except (BinanceError, OutcomeUnknown) as e:
                    log.warning("binance: switching the countdown off failed: %s", e)
        if self.listen_key:
            try:
                await self.http.request("DELETE", "/fapi/v1/listenKey", api_key=True)
            except (BinanceError, OutcomeUnknown):
                pass
        await self.http.close()

    def _prepare(self, cmd: dict[str, Any]) -> PlaceRequest:
        symbol = str(cmd.get("symbol") or self.symbols[0]).upper()
        req = order_request(cmd, self.market, self.filters.get(symbol))  # OrderRefused: an InvalidInputError
        p = req.params
        return _Place(symbol=symbol, qty=Decimal(p["quantity"]), price=Decimal(p["price"]) if "price" in p else None,
                      stop=cmd.get("kind") not in ("market", "limit"), params=p, path=req.path, algo=req.algo)

    async def _place(self, o: TrackedOrder, req: PlaceRequest, withdrawn: Callable[[], bool]) -> OrderView | None:
        assert isinstance(req, _Place)
        o.extra["algo"] = req.algo
        o.extra["side"] = str(req.params.get("side", ""))
        r = await self.http.request("POST", req.path, req.params, signed=True, withdrawn=withdrawn)
        return self._answer(o, r)

    def _answer(self, o: TrackedOrder, r: Any) -> OrderView | None:
        """A REST answer about ``o`` as its view (an algo order's triggered order noted)."""
        if not isinstance(r, dict):
            return None
        if "algoId" in r:
            o.extra["algo"] = True
            self._note_actual(o, _actual_id(r))
        v = view_of(r, self.market)
        return v if "algoId" not in r else msgspec.structs.replace(v, filled=max(v.filled, o.filled))

    def _note_actual(self, o: TrackedOrder, actual: str) -> None:
        if actual:
            o.extra["actual_id"] = actual
            self._by_venue_id[actual] = o.client_id

    async def _cancel_order(self, o: TrackedOrder) -> OrderView | None:
        actual = str(o.extra.get("actual_id", ""))
        if self.market == "spot":
            path, params = "/api/v3/order", {"symbol": o.symbol, "origClientOrderId": o.client_id}
        elif self._is_algo(o) and not actual:
            path, params = "/fapi/v1/algoOrder", {"clientAlgoId": o.client_id}
        elif self._is_algo(o):
            path, params = "/fapi/v1/order", {"symbol": o.symbol, "orderId": actual}
        else:
            path, params = "/fapi/v1/order", {"symbol": o.symbol, "origClientOrderId": o.client_id}
        r = await self.http.request("DELETE", path, params, signed=True)
        if path.endswith("algoOrder") and isinstance(r, dict):
            return OrderView(client_id=o.client_id, venue_order_id=o.venue_order_id, symbol=o.symbol,
                             status="canceled", filled=o.filled)
        return self._answer(o, r)

    def _cancel_not_found(self, e: Any) -> bool:
        return isinstance(e, BinanceError) and e.code in NOT_FOUND

    def _cancel_retry(self, e: _common_http.RateLimited) -> bool:
        return getattr(e, "status", 429) != 418  # never into a ban: a 418 is refused

    async def modify(self, cmd: dict[str, Any]) -> None:
        """Modify a USDⓈ-M limit order in place (``PUT /fapi/v1/order``: quantity and price; a
        new price loses the queue position, as on any venue). Binance modifies nothing else —
        spot orders, conditional orders and triggers are refused (cancel and place anew)."""
        if self.market != "usdm":
            self.emit(ModifyRejected(str(cmd.get("client_id") or ""),
                                     "Binance spot modifies no order in place: cancel and place anew", self._now_ns()))
            return
        await super().modify(cmd)

    def _amend_refusal(self, o: TrackedOrder, cmd: dict[str, Any]) -> str | None:
        if self._is_algo(o) or o.stop or cmd.get("trigger") is not None or o.price is None:
            return "Binance modifies USDⓈ-M limit orders only (quantity, price)"
        if cmd.get("side"):
            o.extra["side"] = str(cmd["side"])
        return None

    async def _amend_order(self, o: TrackedOrder, qty: Decimal, price: Decimal | None) -> OrderView | None:
        params = {"symbol": o.symbol, "origClientOrderId": o.client_id,
                  "side": str(o.extra.get("side", "")).upper(), "quantity": fmt_decimal(qty),
                  "price": fmt_decimal(price if price is not None else Decimal(0))}
        return self._answer(o, await self.http.request("PUT", "/fapi/v1/order", params, signed=True))

    async def cancel(self, cmd: dict[str, Any]) -> None:
        """Cancel the order with the command's client id (see the base); an order this client has
        not placed (a restart) is a USDⓈ-M algo order when the command's kind is conditional."""
        cid = str(cmd.get("client_id") or "")
        if cid not in self.orders and self.market == "usdm" and cmd.get("kind") not in (None, "market", "limit"):
            o = self.track(cid, str(cmd.get("symbol") or self.symbols[0]).upper())
            o.extra["algo"] = True
        await super().cancel(cmd)

    async def _query_order(self, symbol: str, client_id: str) -> OrderView | None:
        """The venue's order (or algo order; once triggered, the order it became, by the algo
        order's client id) with this client id; None: -2013 / -2011."""
        if self.market == "spot":
            try:
                r = await self.http.request("GET", "/api/v3/order", {"symbol": symbol, "origClientOrderId": client_id},
                                            signed=True, priority=True)
            except BinanceError as e:
                if e.code == -2013:
                    return None
                raise
            return view_of(r, self.market)
        o = self.orders.get(client_id)
        for kind in (("algo", "order") if o is not None and self._is_algo(o) else ("order", "algo")):
            try:
                if kind == "order":
                    r = await self.http.request("GET", "/fapi/v1/order",
                                                {"symbol": symbol, "origClientOrderId": client_id}, signed=True,
                                                priority=True)
                    return view_of(r, self.market)
                r = await self.http.request("GET", "/fapi/v1/algoOrder", {"clientAlgoId": client_id}, signed=True,
                                            priority=True)
            except BinanceError as e:
                if e.code not in NOT_FOUND:
                    raise
                continue
            algo = view_of(r, self.market)
            actual = _actual_id(r)
            if o is not None:
                o.extra["algo"] = True
                self._note_actual(o, actual)
            if not actual:
                return msgspec.structs.replace(algo, filled=max(algo.filled, o.filled if o is not None else algo.filled))
            real = view_of(await self.http.request("GET", "/fapi/v1/order", {"symbol": symbol, "orderId": actual},
                                                   signed=True, priority=True), self.market)
            return msgspec.structs.replace(real, client_id=client_id, kind=algo.kind, triggered=True)
        return None

    async def _open_orders(self, symbol: str) -> list[OrderView]:
        """The venue's open orders of ``symbol`` (USDⓈ-M: and its open algo orders), ahead of the
        order flow; a triggered algo order's order under the algo order's client id."""
        path = "/api/v3/openOrders" if self.market == "spot" else "/fapi/v1/openOrders"
        rows: list[dict[str, Any]] = await self.http.request("GET", path, {"symbol": symbol}, signed=True,
                                                             priority=True)
        views = []
        for r in rows:
            v = view_of(r, self.market)
            cid = self._owner(v.venue_order_id)
            views.append(msgspec.structs.replace(v, client_id=cid) if cid and cid != v.client_id else v)
        if self.market == "usdm":
            try:
                algos = await self.http.request("GET", "/fapi/v1/openAlgoOrders", {"symbol": symbol}, signed=True,
                                                priority=True)
            except BinanceError as e:
                log.warning("binance usdm: open algo orders: %s", e)
                algos = []
            views.extend(view_of(r, self.market) for r in algos if str(r.get("algoStatus", "NEW")) == "NEW")
        return views

    async def _trades(self, symbol: str, params: dict[str, Any]) -> list[FillView]:
        spot = self.market == "spot"
        path = "/api/v3/myTrades" if spot else "/fapi/v1/userTrades"
        params = {"symbol": symbol, **params, "limit": 1000}
        out: list[FillView] = []
        while True:
            rows = await self.http.request("GET", path, params, signed=True, priority=True)
            for t in rows:
                buyer = t["isBuyer"] if spot else t.get("side") == "BUY"
                out.append(FillView(trade_id=str(t["id"]), venue_order_id=str(t["orderId"]), client_id="",
                                    symbol=symbol, side="buy" if buyer else "sell", price=str(t["price"]),
                                    qty=str(t["qty"]), fee=str(t.get("commission", "0")),
                                    fee_asset=str(t.get("commissionAsset", "")),
                                    liquidity="maker" if (t.get("isMaker") if spot else t.get("maker")) else "taker",
                                    ts=int(t["time"]) * 1_000_000))
            if len(rows) < 1000:
                return out
            params = {"symbol": symbol, "fromId": int(rows[-1]["id"]) + 1, "limit": 1000,
                      **({"orderId": params["orderId"]} if "orderId" in params else {})}

    async def _order_trades(self, symbol: str, venue_order_id: str) -> list[FillView]:
        return await self._trades(symbol, {"orderId": venue_order_id})

    async def _trades_since(self, symbol: str, since_ms: int) -> list[FillView]:
        """The fills since ``since_ms``, each with its order's client id (an order this client
        does not know is asked for by its id)."""
        fills = await self._trades(symbol, {"startTime": since_ms})
        cids: dict[str, str] = {}
        out = []
        for f in fills:
            cid = self._owner(f.venue_order_id) or cids.get(f.venue_order_id)
            if cid is None:
                try:
                    q = await self.http.request("GET", "/api/v3/order" if self.market == "spot" else "/fapi/v1/order",
                                                {"symbol": symbol, "orderId": f.venue_order_id}, signed=True)
                    cid = str(q.get("clientOrderId", ""))
                except BinanceError:
                    cid = ""
                cids[f.venue_order_id] = cid
            out.append(msgspec.structs.replace(f, client_id=cid))
        return out

    async def _cancel_all_orders(self, symbol: str) -> None:
        calls = ([("/api/v3/openOrders", {"symbol": symbol})] if self.market == "spot" else
                 [("/fapi/v1/allOpenOrders", {"symbol": symbol}), ("/fapi/v1/algoOpenOrders", {"symbol": symbol})])
        for path, params in calls:
            try:
                await self.http.request("DELETE", path, params, signed=True)
            except BinanceError as e:
                if e.code not in NOT_FOUND:  # none open
                    log.warning("binance: cancel all %s: %s", symbol, e)

    async def _balances(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.market == "spot":
            acct = await self.http.request("GET", "/api/v3/account", signed=True)
            for b in acct.get("balances", []):
                total = Decimal(str(b["free"])) + Decimal(str(b["locked"]))
                if total != 0:
                    out[str(b["asset"])] = fmt_decimal(total)
            return out
        for b in await self._get_versions(["/fapi/v2/balance", "/fapi/v3/balance"]):
            out[str(b["asset"])] = fmt_decimal(Decimal(str(b.get("balance", b.get("walletBalance", "0")))))
        return out

    async def _positions(self) -> list[VenuePosition]:
        if self.market == "spot":
            return []
        return [VenuePosition(instrument=str(p["symbol"]), qty=fmt_decimal(Decimal(str(p["positionAmt"]))))
                for p in await self._get_versions(["/fapi/v2/positionRisk", "/fapi/v3/positionRisk"])
                if p.get("symbol") in self.symbols and p.get("positionSide", "BOTH") == "BOTH"]

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

    # ---- the user-data stream -------------------------------------------------------------------

    async def _stream_url(self) -> str:
        if self.market == "spot":
            return self.config.ws_api_url
        r = await self.http.request("POST", "/fapi/v1/listenKey", api_key=True, priority=True)
        self.listen_key = str(r["listenKey"])
        return f"{self.config.stream_url}/ws/{self.listen_key}"

    async def _stream_login(self, conn: _common_ws.WsConnection) -> None:
        if self.market != "spot":
            self._stream_ready()  # the listenKey is the subscription
            return
        params: dict[str, Any] = {"apiKey": self.credentials.api_key, "recvWindow": self.config.recv_window,
                                  "timestamp": self.http.server_ms()}
        params["signature"] = self.credentials.sign(encode(sorted(params.items())))
        await conn.send_json({"id": f"sub-{next(self._ws_id)}", "method": "userDataStream.subscribe.signature",
                              "params": params})

    def _control(self, text: str) -> bool:
        if self.market != "spot":
            return False
        h = _head.decode(text)
        if len(h.event) or h.e:
            return False
        if str(h.id or "").startswith("sub-"):  # an answer of the WebSocket API
            if h.status == 200:
                log.info("binance spot user data: subscribed (%s)", h.result)
                self._stream_ready()
            else:
                err = h.error if isinstance(h.error, dict) else {}
                self._stream_refused(f"subscription refused: {err.get('code')} {err.get('msg')}")
        return True

    def _apply_event(self, text: str) -> None:
        h = _head.decode(text)
        if len(h.event):  # spot: wrapped by the WebSocket API
            text = bytes(h.event).decode()
            h = _head.decode(text)
        e = h.e
        if e == "executionReport":
            self._order_event(_exec.decode(text))
        elif e == "ORDER_TRADE_UPDATE":
            ev = _fut_order.decode(text)
            if ev.o is not None:
                self._order_event(ev.o, event_ms=ev.E)
        elif e == "ALGO_UPDATE":
            self._algo_event(_algo.decode(text))
        elif e == "ACCOUNT_UPDATE":
            a = _account.decode(text)
            ts = a.E * 1_000_000
            if a.a.B:
                self.emit(BalanceUpdate({b.a: b.wb if b.wb is not None else b.f for b in a.a.B}, ts))
            for p in a.a.P:
                if p.ps == "BOTH":
                    self.emit(PositionUpdate(p.s, p.pa, p.ep, ts))
        elif e == "outboundAccountPosition":
            ob = _outbound.decode(text)
            self.emit(BalanceUpdate({b.a: fmt_decimal(Decimal(b.f) + Decimal(b.l)) for b in ob.B}, ob.E * 1_000_000))
        elif e == "listenKeyExpired":
            self._spawn(self._renew_listen_key())
        elif e == "eventStreamTerminated":
            if self.conn is not None and self.conn.ws is not None:
                self._spawn(self.conn.ws.close())

    def _order_event(self, r: _ExecReport, *, event_ms: int = 0) -> None:
        """An order's event: its fill (``x`` TRADE) first, then its view. A cancel's event names
        the order by ``C`` (the original client id); a triggered algo order's order reaches the
        algo order's client id."""
        vid = str(r.i)
        cid = self._owner(vid) or (r.C if r.x == "CANCELED" and r.C else r.c)
        ts = (r.T or r.E or event_ms) * 1_000_000
        if not cid:  # placed without a client id (the venue's UI): not tracked, its fills told as such
            if r.x == "TRADE" and r.t >= 0 and (vid, r.t) not in self._foreign_trades:
                self._foreign_trades.add((vid, r.t))
                self.emit(OrderFilled("", vid, str(r.t), r.L, r.l, r.n or "0", r.N or "", "maker" if r.m else "taker",
                                      ts))
            return
        if r.x == "TRADE" and r.t >= 0:
            self.fill_update(FillView(trade_id=str(r.t), venue_order_id=vid, client_id=cid, symbol=r.s,
                                      side=r.S.lower(), price=r.L, qty=r.l, fee=r.n or "0", fee_asset=r.N or "",
                                      liquidity="maker" if r.m else "taker", ts=ts))
        o = self.orders.get(cid)
        # a stop order's NEW with w (working) after its first NEW: triggered
        triggered = bool(o is not None and o.stop and r.w and o.accepted and r.x == "NEW")
        if r.x == "REJECTED":
            self.order_update(OrderView(client_id=cid, venue_order_id=vid, symbol=r.s, status="rejected",
                                        filled=o.filled if o is not None else Decimal(0),
                                        update_ms=r.T or r.E, reason=r.r), ts)
            return
        kind = _KIND.get(r.o, r.o.lower())
        self.order_update(OrderView(client_id=cid, venue_order_id=vid, symbol=r.s, status=STATUS.get(r.X, "open"),
                                    filled=Decimal(r.z), update_ms=r.T or r.E or event_ms, side=r.S.lower(),
                                    kind=kind, qty=Decimal(r.q), price=_pos(r.p) if kind in _PRICED else None,
                                    triggered=triggered, reason=r.r), ts)

    def _algo_event(self, a: _AlgoEvent) -> None:
        o = self.track(a.o.caid, a.o.s)
        o.extra["algo"] = True
        o.stop = True  # algo orders are conditional
        if a.o.ai not in ("", 0, "0"):
            self._note_actual(o, str(a.o.ai))
        triggered = a.o.X in _ALGO_TRIGGERED
        if triggered and o.triggered:
            return  # the order it became carries the state from here
        status = "open" if triggered else ALGO_STATUS.get(a.o.X, "open")
        self.order_update(OrderView(client_id=o.client_id, venue_order_id=str(a.o.aid), symbol=a.o.s or o.symbol,
                                    status=status, filled=o.filled, update_ms=a.E, triggered=triggered,
                                    reason=a.o.rm or a.o.X), a.E * 1_000_000)

    # ---- USDⓈ-M: listenKey keepalive, dead-man's switch -----------------------------------------

    def _background(self) -> list[Coroutine[Any, Any, Any]]:
        if self.market != "usdm":
            return []
        return [self._keepalive()] + ([self._countdown()] if self.config.countdown_cancel_s > 0 else [])

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
            await self.conn.ws.close()  # the connection comes back through _stream_url: a new key

    async def _countdown(self) -> None:
        ms = int(self.config.countdown_cancel_s * 1000)
        while True:
            for s in self.symbols:
                try:
                    await self.http.request("POST", "/fapi/v1/countdownCancelAll", {"symbol": s, "countdownTime": ms},
                                            signed=True)
                    self.stats["countdown_refreshes"] += 1
                except (BinanceError, OutcomeUnknown) as e:
                    log.warning("binance usdm: countdownCancelAll %s failed: %s", s, e)
            await asyncio.sleep(self.config.countdown_cancel_s / 3)
