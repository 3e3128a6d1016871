"""OKX v5 execution: orders out over REST, the private WebSocket's ``orders``/``account``/
``positions`` channels back, reconciliation — on the venue-neutral flow of
:class:`..common.execution.ExecutionClientBase` (tracking, unknown outcomes resolved by query,
withdrawn submits, deferred cancels, catch-up after a reconnect, the open-order check, mass status):
this module holds only OKX's protocol.

- **Orders**: ``POST /api/v5/trade/order`` (:mod:`.orders` maps the engine's commands; the per-order
  ``sCode`` is the rejection's code), ``cancel-order``, ``amend-order`` (quantity and price of an
  open limit order; OKX's ``newSz`` is the new total, filled part included). There is no cancel-all
  for plain orders on OKX: :meth:`~ExecutionClientBase.cancel_all` cancels the open orders one by one.
- **Sizes**: trader's quantities are base units; a SWAP ``sz`` (orders, fills, positions) is in
  contracts of the instrument's ``ctVal`` and is converted both ways here.
- **Symbols**: the engine's and the reports' symbol is trader's (``BTCUSDT``, the data client's
  :func:`.orders.trader_symbol`); commands may also name the instId. Every request and
  subscription uses the instId (``BTC-USDT`` / ``BTC-USDT-SWAP``).
- **Client ids**: OKX's ``clOrdId`` is alphanumeric (<= 32): trader's ``<strategy>-<n>`` is written
  reversibly (:func:`.orders.to_cl_ord_id`) and read back in every view and report.
- **Private stream**: ``/ws/v5/private``: ``login`` (signed with the server's clock, waited for),
  then ``subscribe`` to ``orders`` (the instType), ``account`` and, for SWAP, ``positions``; once
  every channel is acknowledged the base's catch-up runs (the stream's events wait meanwhile). A
  text ``ping`` every ``ping_s`` keeps it alive (answered ``pong``); no message for
  ``user_stale_after_s`` replaces the connection, and the next connect logs in, resubscribes and
  catches up again.
- **Fills from the stream**: an ``orders`` push with a ``tradeId`` is one fill (``fillPx``,
  ``fillSz``, ``execType``). Its fee is ``fillFee`` when OKX sends it; otherwise the push's
  cumulative ``fee`` less the fees already reported for the order — only when the push follows the
  last one reported (its ``accFillSz`` is the reported quantity plus this fill); any other push (a
  reordered or duplicated one) leaves the fill to the REST query of ``/trade/fills`` that the base
  makes when a status is ahead of the fills reported. Fees are reported as costs (OKX's negative
  ``fee`` negated).
- **Statuses**: ``live`` -> open, ``partially_filled``, ``filled``, ``canceled`` -> canceled, or
  expired when OKX canceled the rest itself (``cancelSource`` 14: an IOC/FOK remainder; 31: a
  post-only order that would have taken).
- **Balances**: ``BalanceUpdate`` carries each coin's ``cashBal`` (the trading account's balance);
  ``PositionUpdate`` the net position (``pos`` x ``ctVal``, signed) and ``avgPx``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp
import msgspec

from trader.exceptions import InvalidInputError
from trader.live.reconcile import VenuePosition

from ..common.execution import ExecutionClientBase, FillView, OrderView, PlaceRequest, TrackedOrder, fmt_decimal
from ..common.http import VenueError
from ..common.reports import BalanceUpdate, PositionUpdate
from ..common.ws import WsConnection
from .auth import Credentials, install_redaction, ws_login_message
from .config import OkxConfig
from .http import OkxError, OkxHttp, OutcomeUnknown
from .orders import (ORD_TYPE_KIND, Instrument, OrderRefused, amend_params, from_cl_ord_id, order_params,
                     parse_instruments, to_base, to_cl_ord_id, trader_symbol)

__all__ = ["OkxExecutionClient"]

log = logging.getLogger(__name__)
ZERO = Decimal(0)

_STATE = {"live": "open", "partially_filled": "partially_filled", "filled": "filled", "canceled": "canceled",
          "mmp_canceled": "canceled"}
#: cancelSource values meaning OKX ended the order itself (IOC/FOK remainder, post-only would take).
_EXPIRED_SOURCES = frozenset({"14", "31"})
#: Page size of OKX's order and fill lists.
_PAGE = 100


class _Arg(msgspec.Struct):
    channel: str


class _Push(msgspec.Struct):
    """A channel push: ``arg`` and ``data`` rows (decoded by channel)."""

    arg: _Arg
    data: list[dict[str, Any]]


class _Control(msgspec.Struct):
    """A non-data message: ``event`` (login, subscribe, error) with its ``code``/``msg``/``arg``."""

    event: str = ""
    code: str = "0"
    msg: str = ""
    arg: dict[str, Any] | None = None


_push = msgspec.json.Decoder(_Push)
_control = msgspec.json.Decoder(_Control)


def _ns(ms: Any) -> int:
    return int(ms or 0) * 1_000_000 if str(ms or "").isdigit() else 0


def _dec(v: Any) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else ZERO


class OkxExecutionClient(ExecutionClientBase):
    """Orders, user data and reconciliation of one OKX instrument type (see the module docs).

    :param config: instrument type, instIds, URLs, trade mode, staleness, backoff, open check.
    :param credentials: API key, secret and passphrase.
    :param on_report: called with each report (a msgspec struct of :mod:`..common.reports`).
    :param http: a REST client to use (None: one of its own).
    :param time_fn: the wall clock (s).
    """

    venue: ClassVar[str] = "okx"
    #: an amend's sCode 0 says OKX took the request; ``amendResult`` on the orders channel says
    #: how it went (-1: failed, the order as it was; 1: failed and the order canceled)
    amend_result_on_stream: ClassVar[bool] = True
    #: How long the login's answer is waited for (s).
    login_timeout_s = 10.0

    def __init__(self, config: OkxConfig, credentials: Credentials, on_report: Callable[[Any], Any], *,
                 http: OkxHttp | None = None, time_fn: Callable[[], float] = time.time) -> None:
        if not isinstance(config, OkxConfig):
            raise InvalidInputError(f"okx: config must be an OkxConfig, got {type(config).__name__}")
        if not isinstance(credentials, Credentials) or credentials.passphrase is None:
            raise InvalidInputError("okx: credentials must be a Credentials with a passphrase (OKX keys have one): "
                                    "from_env(prefix='OKX', need_passphrase=True) or from_file")
        #: trader's symbol -> the instId
        self.inst_ids = {trader_symbol(i): i for i in config.symbols}
        super().__init__(tuple(self.inst_ids), on_report, time_fn=time_fn, open_check_s=config.open_check_s)
        self.config = config
        self.credentials = credentials
        self.http = http or OkxHttp(config, credentials, time_fn=time_fn)
        self.instruments: dict[str, Instrument] = {}
        # a request is refused 30 s after its timestamp: unknown there by then, it never arrives
        self.unknown_grace_ms = 32_000
        self.stream_stale_s = config.user_stale_after_s
        self.backoff = config.backoff
        self._unacked: set[str] = set()
        self.stats |= {"pings": 0, "logins": 0, "ws_fills_from_rest": 0}
        self.redaction = install_redaction(credentials)

    def __repr__(self) -> str:
        return f"OkxExecutionClient({self.config.inst_type}, {', '.join(self.config.symbols)}, {self.credentials!r})"

    # ---- REST side ------------------------------------------------------------------------------

    def server_ms(self) -> int:
        return self.http.server_ms()

    def _fresh_http(self) -> OkxHttp:
        http = OkxHttp(self.config, self.credentials, time_fn=self.time_fn)
        http.offset_ms = self.http.offset_ms
        return http

    async def _start_rest(self) -> None:
        """Server time, the instruments (every configured instId must exist), the key's permissions."""
        await self.http.start()
        await self._read_instruments()
        await self._check_permissions()

    async def _query_ready(self) -> None:
        """The instruments (contract values: SWAP sizes are in contracts), when not read yet."""
        if not self.instruments:
            await self._read_instruments()

    async def _read_instruments(self) -> None:
        rows = await self.http.request("GET", "/api/v5/public/instruments", {"instType": self.config.inst_type})
        self.instruments = parse_instruments(rows)
        missing = [s for s in self.config.symbols if s not in self.instruments]
        if missing:
            raise InvalidInputError(f"okx {self.config.inst_type}: unknown instId(s) {', '.join(missing)}")

    async def _check_permissions(self) -> None:
        """A key that may withdraw is refused unless ``allow_withdraw`` (``perm`` of
        ``/api/v5/account/config``). A server without that endpoint (the local exchange) is let
        through, logged, after a signed balance request checked the key and passphrase."""
        try:
            rows = await self.http.request("GET", "/api/v5/account/config", signed=True)
        except OkxError as e:
            if e.status == 404:
                log.info("okx: no /account/config here (HTTP 404): the withdrawal check is skipped")
                await self.http.request("GET", "/api/v5/account/balance", signed=True)
                return
            raise
        perm = str(rows[0].get("perm", "")) if rows else ""
        if "withdraw" in perm.split(",") and not self.config.allow_withdraw:
            raise InvalidInputError("okx: the API key has withdrawal permission; refused (create a key without it, "
                                    "or set allow_withdraw=True)")

    async def _close_rest(self) -> None:
        await self.http.close()

    def _iid(self, symbol: str) -> str:
        """The instId of trader's ``symbol`` (or of an instId)."""
        s = symbol.upper()
        iid = self.inst_ids.get(s) or (s if s in self.config.symbols else None)
        if iid is None:
            raise OrderRefused(f"okx: symbol {symbol!r} is none of this client's ({', '.join(self.config.symbols)})")
        return iid

    def _inst(self, symbol: str) -> Instrument:
        """The instrument of trader's ``symbol`` or of an instId."""
        iid = self._iid(symbol)
        inst = self.instruments.get(iid)
        if inst is None:
            raise OrderRefused(f"okx: instId {iid!r}: not read from /public/instruments (client not started)")
        return inst

    def _prepare(self, cmd: dict[str, Any]) -> PlaceRequest:
        inst = self._inst(str(cmd.get("symbol") or self.symbols[0]))
        params = order_params(cmd | {"symbol": inst.inst_id}, inst, self.config.td_mode)
        price = Decimal(params["px"]) if "px" in params else None
        return PlaceRequest(symbol=trader_symbol(inst.inst_id), qty=to_base(params["sz"], inst), price=price,
                            stop=False, params=params)

    async def _place(self, o: TrackedOrder, req: PlaceRequest, withdrawn: Callable[[], bool]) -> OrderView | None:
        row = await self.http.order_call("/api/v5/trade/order", req.params, withdrawn=withdrawn)
        # the acknowledgement carries no state: open (rank and filled quantity order it against
        # the stream's views, so an ack arriving after a fill changes nothing)
        return OrderView(client_id=o.client_id, venue_order_id=str(row.get("ordId", "")), symbol=o.symbol,
                         status="open")

    async def _cancel_order(self, o: TrackedOrder) -> OrderView | None:
        await self.http.order_call("/api/v5/trade/cancel-order", self._ref(o))
        return None  # the stream (or the base's settling query) tells

    def _ref(self, o: TrackedOrder) -> dict[str, Any]:
        """The order's reference in a cancel: its ordId when known, else its clOrdId (a symbol or id
        OKX cannot hold is the venue's refusal, code 0: the cancel is rejected, naming it)."""
        try:
            if o.venue_order_id:
                return {"instId": self._iid(o.symbol), "ordId": o.venue_order_id}
            return {"instId": self._iid(o.symbol), "clOrdId": to_cl_ord_id(o.client_id)}
        except InvalidInputError as e:
            raise OkxError(0, str(e), 0, "/api/v5/trade/cancel-order") from None

    def _cancel_not_found(self, e: VenueError) -> bool:
        return e.code in (51400, 51603)

    def _amend_args(self, o: TrackedOrder, qty: Any, price: Any) -> dict[str, Any]:
        """The amend's body: ``newSz`` and ``newPx`` only where they change."""
        cmd: dict[str, Any] = {"client_id": o.client_id}
        if qty is not None and (o.qty is None or Decimal(str(qty)) != o.qty):
            cmd["qty"] = qty
        if price is not None and (o.price is None or Decimal(str(price)) != o.price):
            cmd["price"] = price
        return amend_params(cmd, self._inst(o.symbol), o.venue_order_id)

    def _amend_refusal(self, o: TrackedOrder, cmd: dict[str, Any]) -> str | None:
        if o.price is None:
            return "OKX amends limit orders only (quantity, price): a market order cannot be amended"
        if cmd.get("trigger") is not None:
            return "OKX's plain orders have no trigger to amend"
        try:
            self._amend_args(o, cmd.get("qty"), cmd.get("price"))
        except (InvalidInputError, ArithmeticError) as e:
            return str(e)
        return None

    async def _amend_order(self, o: TrackedOrder, qty: Decimal, price: Decimal | None) -> OrderView | None:
        await self.http.order_call("/api/v5/trade/amend-order", self._amend_args(o, qty, price))
        return None

    async def _query_order(self, symbol: str, client_id: str) -> OrderView | None:
        try:
            params = {"instId": self._iid(symbol), "clOrdId": to_cl_ord_id(client_id)}
        except InvalidInputError:
            return None  # an id (or symbol) OKX cannot hold: the venue has no such order
        try:
            rows = await self.http.request("GET", "/api/v5/trade/order", params, signed=True, priority=True)
        except OkxError as e:
            if e.code == 51603:
                return None
            raise
        return self._view(rows[0]) if rows else None

    async def _open_orders(self, symbol: str) -> list[OrderView]:
        views: list[OrderView] = []
        params: dict[str, Any] = {"instType": self.config.inst_type, "instId": self._iid(symbol), "limit": _PAGE}
        while True:
            rows = await self.http.request("GET", "/api/v5/trade/orders-pending", params, signed=True, priority=True)
            new = [r for r in rows if all(v.venue_order_id != str(r.get("ordId")) for v in views)]
            views += [self._view(r) for r in new]
            if len(rows) < _PAGE or not new:
                return views
            params = params | {"after": str(rows[-1]["ordId"])}

    async def _fills(self, params: dict[str, Any], since_ms: int = 0) -> list[FillView]:
        """``/trade/fills`` pages (newest first; ``after`` the last ``billId``), oldest first."""
        out: dict[tuple[str, str], FillView] = {}  # by order and trade id: a self-trade fills two orders
        while True:
            rows = await self.http.request("GET", "/api/v5/trade/fills", params, signed=True, priority=True)
            fresh = 0
            for r in rows:
                f = self._fill_view(r)
                key = (f.venue_order_id, f.trade_id)
                if key not in out and f.ts >= since_ms * 1_000_000:
                    out[key] = f
                    fresh += 1
            if len(rows) < _PAGE or not fresh:
                return sorted(out.values(), key=lambda f: (f.ts, f.trade_id))
            params = params | {"after": str(rows[-1].get("billId") or rows[-1]["tradeId"])}

    async def _order_trades(self, symbol: str, venue_order_id: str) -> list[FillView]:
        return await self._fills({"instType": self.config.inst_type, "instId": self._iid(symbol),
                                  "ordId": venue_order_id, "limit": _PAGE})

    async def _trades_since(self, symbol: str, since_ms: int) -> list[FillView]:
        # /trade/fills covers the last 3 days (older: /trade/fills-history, not read here)
        return await self._fills({"instType": self.config.inst_type, "instId": self._iid(symbol),
                                  "begin": since_ms or None, "limit": _PAGE}, since_ms)

    async def _cancel_all_orders(self, symbol: str) -> None:
        for v in await self._open_orders(symbol):
            try:
                await self.http.order_call("/api/v5/trade/cancel-order", {"instId": self._iid(symbol),
                                                                           "ordId": v.venue_order_id})
            except OkxError as e:
                if e.code != 51400:  # closed meanwhile
                    log.warning("okx: cancel all %s: order %s: %s", symbol, v.venue_order_id, e)
            except OutcomeUnknown as e:  # the next ones still go; the open-order check settles this one
                log.warning("okx: cancel all %s: order %s: outcome unknown: %s", symbol, v.venue_order_id, e)

    async def _balances(self) -> dict[str, str]:
        rows = await self.http.request("GET", "/api/v5/account/balance", signed=True)
        return {str(d["ccy"]): fmt_decimal(_dec(d.get("cashBal"))) for r in rows for d in r.get("details", [])
                if _dec(d.get("cashBal")) != 0}

    async def _positions(self) -> list[VenuePosition]:
        if not self.config.swap:
            return []
        rows = await self.http.request("GET", "/api/v5/account/positions", {"instType": "SWAP"}, signed=True)
        out = []
        for r in rows:
            inst = self.instruments.get(str(r.get("instId")))
            if inst is not None and r.get("posSide", "net") in ("net", ""):
                out.append(VenuePosition(instrument=trader_symbol(inst.inst_id),
                                         qty=fmt_decimal(to_base(_dec(r.get("pos")), inst))))
        return out

    # ---- the venue's rows in trader's terms -----------------------------------------------------

    def _view(self, r: dict[str, Any]) -> OrderView:
        """An OKX order row (REST or the ``orders`` channel) as an :class:`OrderView`."""
        iid = str(r.get("instId", ""))
        inst = self._inst(iid)
        state = str(r.get("state", ""))
        if state not in _STATE:
            raise ValueError(f"okx order {r.get('ordId')}: unknown state {state!r}")
        status = _STATE[state]
        if status == "canceled" and str(r.get("cancelSource", "")) in _EXPIRED_SOURCES:
            status = "expired"
        quote_sz = r.get("tgtCcy") == "quote_ccy"
        px = _dec(r.get("px"))
        avg = _dec(r.get("avgPx"))
        return OrderView(client_id=from_cl_ord_id(str(r.get("clOrdId", ""))), venue_order_id=str(r.get("ordId", "")),
                         symbol=trader_symbol(iid), status=status, filled=to_base(_dec(r.get("accFillSz")), inst),
                         update_ms=int(r.get("uTime") or 0), side=str(r.get("side", "")),
                         kind=ORD_TYPE_KIND.get(str(r.get("ordType", "")), str(r.get("ordType", ""))),
                         qty=None if quote_sz else to_base(_dec(r.get("sz")), inst), price=px if px > 0 else None,
                         avg_price=avg if avg > 0 else None, reason=str(r.get("cancelSourceReason", "")))

    def _fill_view(self, r: dict[str, Any], fee: Decimal | None = None) -> FillView:
        """A ``/trade/fills`` row (or, with ``fee``, an ``orders`` push's fill) as a :class:`FillView`."""
        iid = str(r.get("instId", ""))
        inst = self._inst(iid)
        return FillView(trade_id=str(r["tradeId"]), venue_order_id=str(r.get("ordId", "")),
                        client_id=from_cl_ord_id(str(r.get("clOrdId", ""))), symbol=trader_symbol(iid),
                        side=str(r.get("side", "")),
                        price=fmt_decimal(_dec(r.get("fillPx"))), qty=fmt_decimal(to_base(_dec(r.get("fillSz")), inst)),
                        fee=fmt_decimal(-_dec(r.get("fee")) if fee is None else fee),
                        fee_asset=str(r.get("feeCcy", "")), liquidity="maker" if r.get("execType") == "M" else "taker",
                        ts=_ns(r.get("fillTime") or r.get("ts")))

    def fill_update(self, f: FillView) -> None:
        """The base's, plus the sum of the fees reported per order (a push's per-fill fee is its
        cumulative fee less that sum)."""
        cid = f.client_id or self.client_id_of(f.venue_order_id) or ""
        o = self.orders.get(cid)
        new = o is None or f.trade_id not in o.trades
        super().fill_update(f)
        o = self.orders.get(cid)
        if new and o is not None and f.trade_id in o.trades:
            o.extra["fees"] = o.extra.get("fees", ZERO) + Decimal(f.fee)

    def _push_fill(self, r: dict[str, Any]) -> None:
        """The fill an ``orders`` push carries, when its fee is known (see the module docs)."""
        trade_id = str(r.get("tradeId") or "")
        if not trade_id or _dec(r.get("fillSz")) <= 0:
            return
        inst = self._inst(str(r.get("instId", "")))
        cid = from_cl_ord_id(str(r.get("clOrdId", ""))) or self.client_id_of(str(r.get("ordId", ""))) or ""
        o = self.orders.get(cid)
        if o is not None and trade_id in o.trades:
            self.stats["duplicates"] += 1
            return
        if r.get("fillFee") not in (None, ""):
            fee = -_dec(r.get("fillFee"))
        else:
            qty = to_base(_dec(r.get("fillSz")), inst)
            reported = o.reported if o is not None else ZERO
            if to_base(_dec(r.get("accFillSz")), inst) != reported + qty:
                self.stats["ws_fills_from_rest"] += 1  # out of order: the REST query brings it
                return
            fee = -_dec(r.get("fee")) - (o.extra.get("fees", ZERO) if o is not None else ZERO)
        self.fill_update(self._fill_view(r | {"ts": r.get("fillTime")}, fee))

    # ---- the private stream ---------------------------------------------------------------------

    async def _stream_url(self) -> str:
        return self.config.ws_private_url

    async def _stream_login(self, conn: WsConnection) -> None:
        """Log in (and wait for the answer), then subscribe; the acknowledgements come to
        :meth:`_control`."""
        ws = conn.ws
        assert ws is not None
        await ws.send_json(ws_login_message(self.credentials, timestamp_s=self.http.server_ms() // 1000))
        while True:
            msg = await ws.receive(timeout=self.login_timeout_s)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"okx private stream: {msg.type.name} before the login's answer")
            if msg.data == "pong":
                continue
            ans = _control.decode(msg.data)
            if ans.event == "login" and ans.code == "0":
                break
            raise ConnectionError(f"okx private stream: login refused: {ans.code} {ans.msg}")
        self.stats["logins"] += 1
        args: list[dict[str, str]] = [{"channel": "orders", "instType": self.config.inst_type},
                                      {"channel": "account"}]
        if self.config.swap:
            args.append({"channel": "positions", "instType": "SWAP"})
        self._unacked = {a["channel"] for a in args}
        await ws.send_json({"op": "subscribe", "args": args})

    def _control(self, text: str) -> bool:
        if text == "pong":
            return True
        ans = _control.decode(text)  # a push has no event
        if not ans.event:
            return False
        if ans.event == "subscribe":
            self._unacked.discard(str((ans.arg or {}).get("channel", "")))
            if not self._unacked:
                log.info("okx private stream: subscribed")
                self._stream_ready()
        elif ans.event == "error":
            self._stream_refused(f"error {ans.code}: {ans.msg}")
        return True

    def _apply_event(self, text: str) -> None:
        p = _push.decode(text)
        ch = p.arg.channel
        if ch == "orders":
            for r in p.data:
                if str(r.get("instId")) not in self.instruments:
                    continue
                self._push_fill(r)
                self.order_update(self._view(r), _ns(r.get("uTime")))
                if str(r.get("amendResult", "")) in ("-1", "1"):
                    why = str(r.get("msg") or "the amendment failed at OKX")
                    if str(r.get("amendResult")) == "1":
                        why += "; OKX canceled the order"
                    self.amend_failed(from_cl_ord_id(str(r.get("clOrdId", ""))), why, _int(r.get("code")))
        elif ch == "account":
            for r in p.data:
                bal = {str(d["ccy"]): fmt_decimal(_dec(d.get("cashBal"))) for d in r.get("details", [])}
                if bal:
                    self.emit(BalanceUpdate(bal, _ns(r.get("uTime"))))
        elif ch == "positions":
            for r in p.data:
                inst = self.instruments.get(str(r.get("instId")))
                if inst is None or r.get("posSide", "net") not in ("net", ""):
                    continue
                self.emit(PositionUpdate(trader_symbol(inst.inst_id), fmt_decimal(to_base(_dec(r.get("pos")), inst)),
                                         fmt_decimal(_dec(r.get("avgPx"))), _ns(r.get("uTime"))))

    def _background(self) -> list[Coroutine[Any, Any, Any]]:
        return [self._ping()]

    async def _ping(self) -> None:
        """A text ``ping`` every ``ping_s`` (OKX closes a connection quiet for 30 s)."""
        while True:
            await asyncio.sleep(self.config.ping_s)
            ws = self.conn.ws if self.conn is not None else None
            if ws is not None and not ws.closed:
                try:
                    await ws.send_str("ping")
                    self.stats["pings"] += 1
                except (ConnectionError, aiohttp.ClientError) as e:
                    log.warning("okx private stream: ping failed: %s", type(e).__name__)


def _int(v: Any) -> int:
    """An OKX code field as an int (0 when absent or not a number)."""
    try:
        return int(str(v))
    except ValueError:
        return 0
