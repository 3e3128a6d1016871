"""Bybit v5 execution (one category: spot or linear): orders out, order events and fills back,
reconciliation — Bybit's protocol on the shared flow of :mod:`..common.execution` (tracking, the
ordering rules, unknown outcomes, deferred cancels, catch-up, open-order check, reconciliation).

**Orders** over REST (:mod:`.orders` maps the engine's commands): ``POST /v5/order/create`` with
the engine's client id as ``orderLinkId``; ``cancel``, ``amend`` and ``cancel-all`` by
``orderLinkId``. An order is asked for with ``GET /v5/order/realtime`` (open) then
``/v5/order/history`` (ended); its fills with ``/v5/execution/list``.

**Private stream** (``/v5/private``): ``{"op": "auth", "args": [key, expires, signature]}`` on each
connect, then ``subscribe`` to ``order.{category}``, ``execution.{category}``, ``wallet`` (and
``position.linear`` on linear); the subscription's ack starts the catch-up (the base's: events
held while the open orders are read). ``{"op": "ping"}`` goes out every ``ping_interval_s``; the
pong counts as a message (the stream is stale after ``user_stale_after_s`` without one).
``order`` rows become order views (status, cumulative filled quantity, ``updatedTime``),
``execution`` rows fills (execType Trade, AdlTrade, BustTrade, BlockTrade; by ``execId``),
``wallet`` a :class:`~..common.reports.BalanceUpdate` (``walletBalance`` per coin), ``position``
a :class:`~..common.reports.PositionUpdate` (one-way mode, signed size).

Statuses: New / Untriggered / Triggered -> open, PartiallyFilled -> partially filled, Filled,
Cancelled / PartiallyFilledCanceled / Deactivated -> canceled, Rejected. A conditional order
(``triggerPrice`` > 0) counts as triggered once it is no longer Untriggered.

**Credentials**: a key whose permissions include ``Wallet: Withdraw`` (``GET /v5/user/query-api``)
is refused unless ``allow_withdraw``; the secret never appears in a log (the redacting filter on
the adapter's loggers), a ``repr`` or an error.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError
from trader.live.reconcile import VenuePosition

from ..common.execution import ExecutionClientBase, FillView, OrderView, PlaceRequest, TrackedOrder, fmt_decimal
from ..common.reports import BalanceUpdate, PositionUpdate
from ..common.ws import WsConnection
from .auth import Credentials, install_redaction, ws_auth_message
from .config import BybitConfig
from .http import BybitError, BybitHttp
from .orders import Instrument, order_params, parse_instruments

__all__ = ["BybitExecutionClient", "STATUS", "view_of", "fill_of"]

log = logging.getLogger(__name__)

#: Bybit's orderStatus -> trader's.
STATUS = {"New": "open", "Untriggered": "open", "Triggered": "open", "Created": "open",
          "PartiallyFilled": "partially_filled", "Filled": "filled", "Cancelled": "canceled",
          "PartiallyFilledCanceled": "canceled", "Deactivated": "canceled", "Rejected": "rejected"}
#: Executions that are fills of an order.
FILL_TYPES = ("Trade", "AdlTrade", "BustTrade", "BlockTrade")
#: Errors meaning "no such open order" (linear, spot).
NOT_FOUND = (110001, 170213)


def _dec(v: Any) -> Decimal | None:
    if v in (None, ""):
        return None
    d = Decimal(str(v))
    return d if d.is_finite() else None


def _kind(row: dict[str, Any]) -> str:
    typ = str(row.get("orderType", ""))
    trig = _dec(row.get("triggerPrice")) or Decimal(0)
    if trig <= 0:
        return "market" if typ == "Market" else "limit"
    direction, buy = int(row.get("triggerDirection") or 0), row.get("side") == "Buy"
    if direction:
        stop = (direction == 1) == buy
    else:  # spot: Bybit does not say; a stop unless its type says take-profit
        stop = "TakeProfit" not in str(row.get("stopOrderType", ""))
    if typ == "Market":
        return "stop_market" if stop else "market_if_touched"
    return "stop_limit" if stop else "limit_if_touched"


def view_of(row: dict[str, Any]) -> OrderView:
    """An order row (REST ``list`` entry or stream ``order`` data) as an :class:`OrderView`."""
    raw_status = str(row.get("orderStatus", ""))
    status = STATUS.get(raw_status)
    if status is None:
        raise ValueError(f"bybit: unknown orderStatus {raw_status!r}")
    kind = _kind(row)
    price = _dec(row.get("price"))
    trig = _dec(row.get("triggerPrice")) or Decimal(0)
    return OrderView(
        client_id=str(row.get("orderLinkId") or ""), venue_order_id=str(row.get("orderId") or ""),
        symbol=str(row.get("symbol", "")), status=status, filled=_dec(row.get("cumExecQty")) or Decimal(0),
        update_ms=int(row.get("updatedTime") or 0), side=str(row.get("side", "")).lower(), kind=kind,
        qty=_dec(row.get("qty")),
        price=price if price and kind in ("limit", "stop_limit", "limit_if_touched") else None,
        avg_price=_dec(row.get("avgPrice")) or None,
        triggered=trig > 0 and raw_status not in ("Untriggered", "Deactivated", "Rejected"),
        reason=_reason(row, raw_status))


def _reason(row: dict[str, Any], raw_status: str) -> str:
    """Why the order ended as it did: the matcher's ``rejectReason`` (``EC_NoError`` says nothing),
    else the ``cancelType``, else the status."""
    why = str(row.get("rejectReason") or "")
    if why and why != "EC_NoError":
        return why
    cancel = str(row.get("cancelType") or "")
    return cancel if cancel and cancel != "UNKNOWN" else raw_status


def fill_of(row: dict[str, Any], fee_asset: str) -> FillView:
    """An execution row (REST or stream) as a :class:`FillView`; ``fee_asset`` when the row has no
    ``feeCurrency``."""
    return FillView(trade_id=str(row["execId"]), venue_order_id=str(row.get("orderId") or ""),
                    client_id=str(row.get("orderLinkId") or ""), symbol=str(row.get("symbol", "")),
                    side=str(row.get("side", "")).lower(), price=fmt_decimal(Decimal(str(row["execPrice"]))),
                    qty=fmt_decimal(Decimal(str(row["execQty"]))),
                    fee=fmt_decimal(Decimal(str(row.get("execFee") or "0"))),
                    fee_asset=str(row.get("feeCurrency") or fee_asset),
                    liquidity="maker" if row.get("isMaker") else "taker", ts=int(row.get("execTime") or 0) * 1_000_000)


class _Msg(msgspec.Struct):
    topic: str = ""
    op: str = ""
    success: bool | None = None
    retCode: int | None = None
    retMsg: str = ""
    ret_msg: str = ""
    req_id: str = ""
    creationTime: int = 0
    data: Any = None


_msg = msgspec.json.Decoder(_Msg)


class BybitExecutionClient(ExecutionClientBase):
    """Orders, user data and reconciliation on one Bybit v5 category (see the module docs).

    :param config: category, symbols, URLs, ``recv_window``, ``allow_withdraw``, backoff, the
        private stream's ping and staleness, the open-order check.
    :param credentials: the API key and secret.
    :param on_report: called with each report (a msgspec Struct) as it happens.
    :param http: a REST client to use (None: one of its own).
    :param time_fn: the wall clock (s), for report times without a venue time.
    """

    venue = "bybit"

    def __init__(self, config: BybitConfig, credentials: Credentials, on_report: Callable[[Any], Any], *,
                 http: BybitHttp | None = None, time_fn: Callable[[], float] = time.time) -> None:
        if not isinstance(config, BybitConfig):
            raise InvalidInputError("bybit: config must be a BybitConfig")
        if not isinstance(credentials, Credentials):
            raise InvalidInputError("bybit: credentials must be a Credentials (from_env or from_file)")
        super().__init__(config.symbols, on_report, time_fn=time_fn, open_check_s=config.open_check_s)
        self.config = config
        self.credentials = credentials
        self.category = config.category
        self.http = http or BybitHttp(config, credentials, time_fn=time_fn)
        self.unknown_grace_ms = config.recv_window + 1000
        self.stream_stale_s = config.user_stale_after_s
        self.backoff = config.backoff
        self.instruments: dict[str, Instrument] = {}
        self._req = itertools.count(1)
        self.stats |= {"pings": 0, "pongs": 0, "auth_failures": 0}
        self.redaction = install_redaction(credentials)

    def __repr__(self) -> str:
        return f"BybitExecutionClient({self.category}, {', '.join(self.symbols)}, {self.credentials!r})"

    # ---- REST side ------------------------------------------------------------------------------

    def server_ms(self) -> int:
        return self.http.server_ms()  # type: ignore[no-any-return]

    def _fresh_http(self) -> BybitHttp:
        return self.http.fresh()  # type: ignore[no-any-return]

    async def _start_rest(self) -> None:
        await self.http.start()
        info = await self.http.request("GET", "/v5/market/instruments-info", {"category": self.category})
        self.instruments = parse_instruments(info)
        missing = [s for s in self.symbols if s not in self.instruments]
        if missing:
            raise InvalidInputError(f"bybit {self.category}: unknown symbol(s) {', '.join(missing)}")
        await self._check_withdrawals()

    async def _check_withdrawals(self) -> None:
        try:
            r = await self.http.request("GET", "/v5/user/query-api", signed=True)
        except BybitError as e:
            if e.status == 404:
                log.info("bybit: no /v5/user/query-api here: the withdrawal check is skipped")
                return
            raise
        wallet = (r.get("permissions") or {}).get("Wallet") or []
        if "Withdraw" in wallet and not self.config.allow_withdraw:
            raise InvalidInputError("bybit: the API key has withdrawal permission; refused (create a key without "
                                    "it, or set allow_withdraw=True)")

    async def _close_rest(self) -> None:
        await self.http.close()

    def _prepare(self, cmd: dict[str, Any]) -> PlaceRequest:
        symbol = str(cmd.get("symbol") or self.symbols[0]).upper()
        if symbol not in self.symbols:
            raise InvalidInputError(f"bybit order {cmd.get('client_id') or '?'}: symbol {symbol} is not one of "
                                    f"this client's ({', '.join(self.symbols)})")
        p = order_params(cmd, self.category, self.instruments.get(symbol))
        return PlaceRequest(symbol=symbol, qty=Decimal(p["qty"]), price=Decimal(p["price"]) if "price" in p else None,
                            stop="triggerPrice" in p, params=p)

    async def _place(self, o: TrackedOrder, req: PlaceRequest, withdrawn: Callable[[], bool]) -> OrderView | None:
        r = await self.http.request("POST", "/v5/order/create", req.params, signed=True, withdrawn=withdrawn)
        return OrderView(client_id=o.client_id, venue_order_id=str(r.get("orderId", "")), symbol=o.symbol,
                         status="open")

    async def _cancel_order(self, o: TrackedOrder) -> OrderView | None:
        await self.http.request("POST", "/v5/order/cancel", {"category": self.category, "symbol": o.symbol,
                                                            "orderLinkId": o.client_id}, signed=True)
        return None  # the stream (or the settling query) brings the status with its fills

    def _cancel_not_found(self, e: Any) -> bool:
        return isinstance(e, BybitError) and e.code in NOT_FOUND

    def _amend_refusal(self, o: TrackedOrder, cmd: dict[str, Any]) -> str | None:
        if o.price is None:
            return "Bybit amends a Limit order's price and quantity only; a Market order has no price to amend"
        if o.stop or cmd.get("trigger") is not None:
            return "amending a conditional order's trigger is not supported by this adapter: cancel and place anew"
        return None

    async def _amend_order(self, o: TrackedOrder, qty: Decimal, price: Decimal | None) -> OrderView | None:
        params: dict[str, Any] = {"category": self.category, "symbol": o.symbol, "orderLinkId": o.client_id}
        if qty != o.qty:
            params["qty"] = fmt_decimal(qty)
        if price is not None and price != o.price:
            params["price"] = fmt_decimal(price)
        await self.http.request("POST", "/v5/order/amend", params, signed=True)
        return None

    async def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(100):
            r = await self.http.request("GET", path, params | ({"cursor": cursor} if cursor else {}), signed=True,
                                        priority=True)
            rows.extend(r.get("list") or [])
            cursor = str(r.get("nextPageCursor") or "")
            if not cursor:
                break
        return rows

    async def _query_order(self, symbol: str, client_id: str) -> OrderView | None:
        for path in ("/v5/order/realtime", "/v5/order/history"):
            rows = await self._pages(path, {"category": self.category, "symbol": symbol, "orderLinkId": client_id})
            for row in rows:
                if row.get("orderLinkId") == client_id:
                    return view_of(row)
        return None

    async def _open_orders(self, symbol: str) -> list[OrderView]:
        rows = await self._pages("/v5/order/realtime", {"category": self.category, "symbol": symbol, "limit": 50})
        return [view_of(r) for r in rows]

    def _fee_asset(self, symbol: str, side: str) -> str:
        ins = self.instruments.get(symbol)
        if ins is None:
            return ""
        return ins.base_coin if self.category == "spot" and side == "Buy" else ins.quote_coin

    def _fills(self, rows: list[dict[str, Any]]) -> list[FillView]:
        return [fill_of(r, self._fee_asset(str(r.get("symbol")), str(r.get("side")))) for r in rows
                if r.get("execType", "Trade") in FILL_TYPES]

    async def _order_trades(self, symbol: str, venue_order_id: str) -> list[FillView]:
        rows = await self._pages("/v5/execution/list", {"category": self.category, "symbol": symbol,
                                                        "orderId": venue_order_id, "limit": 100})
        return sorted(self._fills(rows), key=lambda f: f.ts)

    async def _trades_since(self, symbol: str, since_ms: int) -> list[FillView]:
        rows = await self._pages("/v5/execution/list", {"category": self.category, "symbol": symbol,
                                                        "startTime": since_ms or None, "limit": 100})
        return sorted((f for f in self._fills(rows) if f.ts >= since_ms * 1_000_000), key=lambda f: f.ts)

    async def _cancel_all_orders(self, symbol: str) -> None:
        await self.http.request("POST", "/v5/order/cancel-all", {"category": self.category, "symbol": symbol},
                                signed=True)

    async def _balances(self) -> dict[str, str]:
        r = await self.http.request("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, signed=True,
                                    priority=True)
        out: dict[str, str] = {}
        for acct in r.get("list") or []:
            for c in acct.get("coin") or []:
                total = Decimal(str(c.get("walletBalance") or "0"))
                if total != 0:
                    out[str(c["coin"])] = fmt_decimal(total)
        return out

    async def _positions(self) -> list[VenuePosition]:
        if self.category != "linear":
            return []
        out: list[VenuePosition] = []
        for s in self.symbols:
            r = await self.http.request("GET", "/v5/position/list", {"category": "linear", "symbol": s}, signed=True,
                                        priority=True)
            for p in r.get("list") or []:
                if int(p.get("positionIdx") or 0) == 0:
                    out.append(VenuePosition(instrument=str(p["symbol"]), qty=fmt_decimal(self._signed(p))))
        return out

    @staticmethod
    def _signed(p: dict[str, Any]) -> Decimal:
        size = Decimal(str(p.get("size") or "0"))
        return -size if p.get("side") == "Sell" else size

    # ---- the private stream ---------------------------------------------------------------------

    def _topics(self) -> list[str]:
        topics = [f"order.{self.category}", f"execution.{self.category}", "wallet"]
        if self.category == "linear":
            topics.append("position.linear")
        return topics

    async def _stream_url(self) -> str:
        return self.config.ws_private_url

    async def _stream_login(self, conn: WsConnection) -> None:
        msg = ws_auth_message(self.credentials, expires_ms=self.http.server_ms() + 5000)
        msg["req_id"] = f"auth-{next(self._req)}"
        await conn.send_json(msg)

    def _control(self, text: str) -> bool:
        m = _msg.decode(text)
        if m.topic:
            return False
        if m.op == "auth":
            if m.success:
                log.info("bybit private stream: authenticated; subscribing to %s", ", ".join(self._topics()))
                if self.conn is not None and self.conn.ws is not None:
                    self._spawn(self.conn.send_json({"op": "subscribe", "req_id": f"sub-{next(self._req)}",
                                                     "args": self._topics()}))
            else:
                self.stats["auth_failures"] += 1
                self._stream_refused(f"authentication refused: {m.retCode} {m.retMsg}")
        elif m.op == "subscribe":
            if m.success:
                self._stream_ready()
            else:
                self._stream_refused(f"subscription refused: {m.ret_msg}")
        elif m.op in ("pong", "ping"):
            self.stats["pongs"] += 1
        else:
            log.info("bybit private stream: unhandled message op %r", m.op)
        return True

    def _apply_event(self, text: str) -> None:
        m = _msg.decode(text)
        topic = m.topic.split(".")[0]
        rows = m.data if isinstance(m.data, list) else [m.data] if isinstance(m.data, dict) else []
        if topic == "order":
            for row in rows:
                if row.get("category", self.category) == self.category:
                    self.order_update(view_of(row))
        elif topic == "execution":
            for row in rows:
                if row.get("category", self.category) == self.category:
                    for f in self._fills([row]):
                        self.fill_update(f)
        elif topic == "wallet":
            ts = m.creationTime * 1_000_000
            for acct in rows:
                bal = {str(c["coin"]): fmt_decimal(Decimal(str(c.get("walletBalance") or "0")))
                       for c in acct.get("coin") or []}
                if bal:
                    self.emit(BalanceUpdate(bal, ts))
        elif topic == "position":
            ts = m.creationTime * 1_000_000
            for p in rows:
                if int(p.get("positionIdx") or 0) == 0 and p.get("symbol") in self.symbols:
                    self.emit(PositionUpdate(str(p["symbol"]), fmt_decimal(self._signed(p)),
                                             fmt_decimal(Decimal(str(p.get("entryPrice") or p.get("avgPrice") or "0"))),
                                             ts))
        else:
            log.info("bybit private stream: unhandled topic %r", m.topic)

    def _background(self) -> list[Coroutine[Any, Any, Any]]:
        return [self._pinger()]

    async def _pinger(self) -> None:
        """``{"op": "ping"}`` every ``ping_interval_s`` on the live connection (Bybit's
        keepalive: its pong keeps the stream from going stale)."""
        while True:
            await asyncio.sleep(self.config.ping_interval_s)
            conn = self.conn
            if conn is None or conn.ws is None or conn.ws.closed:
                continue
            try:
                await conn.send_json({"op": "ping", "req_id": f"ping-{next(self._req)}"})
                self.stats["pings"] += 1
            except (ConnectionError, RuntimeError, OSError) as e:
                log.info("bybit private stream: ping not sent: %s", type(e).__name__)

