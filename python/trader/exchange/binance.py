"""Binance's protocol in front of the local exchange: spot ``/api/v3`` + the WebSocket API, USDⓈ-M
``/fapi`` + listenKey user streams, with Binance's rules as documented.

- Signed requests: ``signature`` = HMAC-SHA256 (hex) of the query string concatenated with the
  body (the ``signature`` item left out), key in ``X-MBX-APIKEY``; ``timestamp`` within
  ``recvWindow`` (default 5000 ms, at most 60000) of the server's time and not more than 1000 ms
  ahead of it (-1021); a bad signature is -1022, a missing or unknown key -2014 / -2015.
- Weights per endpoint counted per IP in one-minute windows (``X-MBX-USED-WEIGHT-1M``), orders per
  account (``X-MBX-ORDER-COUNT-10S``/``-1D`` spot, ``-10S``/``-1M`` futures). Over a limit: 429 with
  ``Retry-After`` (seconds to the window's end); a request from that IP before then that was not
  already in flight — signed at or before the 429 (its ``timestamp``), or arriving within
  :data:`RETRY_GRACE_S` of it — is banned: 418 for ``ban_s`` (default 120 s) with ``Retry-After``.
- Filters from exchangeInfo: PRICE_FILTER (tickSize), LOT_SIZE (stepSize, minQty), NOTIONAL
  (spot) / MIN_NOTIONAL (futures, -4164) → ``-1013 Filter failure: NAME``.
- New orders: ``-2010`` (insufficient balance, LIMIT_MAKER that would take, duplicate client id on
  spot), futures ``-4116`` duplicate client id, ``-5022`` GTX that would take, ``-2019`` margin,
  ``-2022`` reduce-only, ``-4120`` conditional types on ``/fapi/v1/order`` (they go to
  ``/fapi/v1/algoOrder``), a conditional order whose trigger is reached already (the touch it
  would execute at, or the last trade): spot ``-2010 Stop price would trigger immediately.``,
  futures ``-2021 Order would immediately trigger.``. Cancels: ``-2011 Unknown order sent.``;
  queries: ``-2013``.
- Conditional orders: spot STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT) rest not working until their
  trigger, then an ``executionReport`` NEW with ``w`` true says they work; ``trailingDelta``
  (10-2000 bps, TRAILING_DELTA filter) on STOP_LOSS and TAKE_PROFIT, ``stopPrice`` then its
  activation price (the limit variants with a trailing delta are refused, -1130). USDⓈ-M algo
  orders (STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET with
  ``callbackRate`` and ``activatePrice``) become an order of the same client id when triggered.
  GTD (USDⓈ-M): ``goodTillDate`` at least ``gtd_min_s`` ahead (Binance's 600 s by default), the
  order expires then.

Commission: in the quote asset, maker/taker rates of the exchange (spot 10/10 bps, USDⓈ-M 2/5),
rounded to 8 decimals as Binance books it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import WSMsgType, web

from trader.exchange.accounts import ZERO, Account, Fill, Order
from trader.exchange.ledger import Ledger

if TYPE_CHECKING:
    from trader.exchange.server import Exchange

__all__ = ["BinanceFront", "BinanceError", "sign"]

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()

SPOT_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
FUT_TYPES = ("LIMIT", "MARKET")
ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
# spot's order types and their mandatory parameters (a spot TAKE_PROFIT is a market order)
_NEEDS_PRICE = {"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
_NEEDS_STOP = {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
_NEEDS_TIF = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}
#: Conditional types whose trigger fires as the price rises to it when buying (stops); the
#: take-profits fire as it falls to it (and the other way round when selling).
_STOP_TYPES = {"STOP_LOSS", "STOP_LOSS_LIMIT", "STOP", "STOP_MARKET"}
_TP_TYPES = {"TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "TAKE_PROFIT_MARKET"}
_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")

# weights (spot: the docs' per-endpoint weights; futures: the same for USDⓈ-M)
SPOT_WEIGHTS = {"ping": 1, "time": 1, "exchangeInfo": 20, "depth": 5, "klines": 2, "trades": 25,
                "ticker/bookTicker": 2, "avgPrice": 2, "order": 1, "order/test": 1, "openOrders": 6,
                "allOrders": 20, "myTrades": 20, "account": 20}
FUT_WEIGHTS = {"ping": 1, "time": 1, "exchangeInfo": 1, "depth": 5, "klines": 2, "trades": 5, "ticker/bookTicker": 2,
               "premiumIndex": 1, "order": 1, "algoOrder": 1, "openAlgoOrders": 1, "allOpenOrders": 1,
               "openOrders": 1, "allOrders": 5, "userTrades": 5, "account": 5, "balance": 5, "positionRisk": 5,
               "leverage": 1, "countdownCancelAll": 10, "listenKey": 1, "leverageBracket": 1}


def sign(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` under ``secret``, hex (Binance's request signature)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()



#: A request arriving within this long of its IP's last 429, or signed (``timestamp``) no later than
#: this after it, was in flight before its client could read the 429: it gets another 429 (Binance
#: bans whoever *keeps going*, not a request already on its way — on a loaded machine a request
#: signed before the 429 can arrive well after it). Later ones before the ``Retry-After`` ran out
#: are banned (418).
RETRY_GRACE_S = 0.25

class BinanceError(Exception):
    """An error answer: HTTP ``status``, Binance ``code`` and ``msg``."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status, self.headers = code, msg, status, headers or {}


def _missing(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _s8(d: Decimal) -> str:
    return f"{d:.8f}"


def _dec_param(params: dict[str, str], name: str, required: bool = False) -> Decimal | None:
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise _missing(name)
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.") from None
    if not d.is_finite() or d < 0 or v.strip() != v or "e" in v.lower():
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.")
    return d


def _int_param(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    v = params.get(name)
    if v is None or v == "":
        return default
    if not re.fullmatch(r"-?\d{1,20}", v):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})$'.")
    return int(v)


class _Limits:
    """Weight and order counters: fixed windows, 429 / 418 state per IP."""

    def __init__(self) -> None:
        self.weight: dict[tuple[str, str, int], int] = {}
        self.orders: dict[tuple[str, str, str, int], int] = {}
        self.retry_until: dict[str, float] = {}
        self.banned_until: dict[str, float] = {}
        self.burst: dict[str, int] = {}
        #: When each IP was last answered 429 (requests in flight then get 429, not 418):
        #: monotonic seconds, and the server's clock in ms (against a signed request's timestamp).
        self.last_429: dict[str, float] = {}
        self.last_429_ms: dict[str, int] = {}


class BinanceFront(Ledger):
    """The Binance protocol of one :class:`~trader.exchange.server.Exchange` (the account
    bookkeeping of the matcher's events is :class:`~trader.exchange.ledger.Ledger`'s)."""

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex)
        self.limits = _Limits()
        self.listen_keys: dict[str, tuple[Account, float]] = {}  # key -> (account, expires monotonic)

    # ------------------------------------------------------------------------------------------
    # app wiring
    # ------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        r = app.router
        for prefix, market in (("/api/v3", "spot"), ("/fapi/v1", "usdm")):
            for name in ("ping", "time", "exchangeInfo", "depth", "klines", "trades", "ticker/bookTicker"):
                r.add_get(f"{prefix}/{name}", self._public(market, name))
        r.add_get("/api/v3/avgPrice", self._public("spot", "avgPrice"))
        r.add_get("/fapi/v1/premiumIndex", self._public("usdm", "premiumIndex"))
        spot = {
            ("POST", "order"): self.spot_new_order, ("POST", "order/test"): self.spot_test_order,
            ("DELETE", "order"): self.spot_cancel, ("GET", "order"): self.spot_query,
            ("DELETE", "openOrders"): self.spot_cancel_all, ("GET", "openOrders"): self.spot_open_orders,
            ("GET", "allOrders"): self.spot_all_orders, ("GET", "myTrades"): self.spot_my_trades,
            ("GET", "account"): self.spot_account,
        }
        for (method, name), fn in spot.items():
            r.add_route(method, f"/api/v3/{name}", self._signed("spot", name, fn))
        fut = {
            ("POST", "v1/order"): self.fut_new_order, ("DELETE", "v1/order"): self.fut_cancel,
            ("GET", "v1/order"): self.fut_query, ("POST", "v1/algoOrder"): self.fut_new_algo,
            ("DELETE", "v1/algoOrder"): self.fut_cancel_algo, ("GET", "v1/algoOrder"): self.fut_query_algo,
            ("GET", "v1/openAlgoOrders"): self.fut_open_algo, ("DELETE", "v1/allOpenOrders"): self.fut_cancel_all,
            ("GET", "v1/openOrders"): self.fut_open_orders, ("GET", "v1/allOrders"): self.fut_all_orders,
            ("GET", "v1/userTrades"): self.fut_user_trades, ("GET", "v2/account"): self.fut_account,
            ("GET", "v3/account"): self.fut_account, ("GET", "v2/balance"): self.fut_balance,
            ("GET", "v3/balance"): self.fut_balance, ("GET", "v2/positionRisk"): self.fut_position_risk,
            ("GET", "v3/positionRisk"): self.fut_position_risk, ("POST", "v1/leverage"): self.fut_leverage,
            ("POST", "v1/countdownCancelAll"): self.fut_countdown, ("GET", "v1/leverageBracket"): self.fut_brackets,
            ("PUT", "v1/order"): self.fut_modify, ("DELETE", "v1/algoOpenOrders"): self.fut_cancel_all_algo,
        }
        for (method, name), fn in fut.items():
            r.add_route(method, f"/fapi/{name}", self._signed("usdm", name.split("/", 1)[1], fn))
        for method in ("POST", "PUT", "DELETE"):
            r.add_route(method, "/fapi/v1/listenKey", self._keyed("usdm", "listenKey", self.listen_key))
        r.add_get("/sapi/v1/account/apiRestrictions", self._signed("spot", "account", self.api_restrictions))
        r.add_get("/ws-api/v3", self.ws_api)
        r.add_get(r"/{market:spot|usdm}/{mode:ws}/{name}", self.stream_handler)
        r.add_get(r"/{market:spot|usdm}/{mode:ws}", self.stream_handler)
        r.add_get(r"/{market:spot|usdm}/{mode:stream}", self.stream_handler)

    def stream_urls(self, host: str, port: int) -> dict[str, str]:
        return {"spot": f"ws://{host}:{port}/spot", "usdm": f"ws://{host}:{port}/usdm",
                "ws_api": f"ws://{host}:{port}/ws-api/v3"}

    # ------------------------------------------------------------------------------------------
    # the server's hooks (see trader.exchange.server)
    # ------------------------------------------------------------------------------------------
    def on_market(self, market: str, stream: str, payload: dict[str, Any]) -> None:
        """A market's message to the subscribers of its stream (Binance's names and shapes as is)."""
        depth = "@depth" in stream
        for conn in list(self.ex.market_subs.get((market, stream), ())):
            conn.send(payload, stream, event=True, depth=depth)

    def on_tick(self, n: int) -> None:
        """Nothing beyond the markets' own diffs and klines (flushed by the server)."""

    def on_closed(self, acct: Account, o: Order, status: str) -> None:
        """An order the server ended: its executionReport / ORDER_TRADE_UPDATE / ALGO_UPDATE."""
        if o.market == "spot":
            self._emit_spot_report(acct, o, "CANCELED" if status == "CANCELED" else status)
            base, quote = o.symbol[:-4], o.symbol[-4:]
            self._emit_spot_position(acct, [base, quote])
        elif o.algo and o.child is None:
            self._emit_algo_update(acct, o, status)
        else:
            self._emit_fut_update(acct, o, status)

    def housekeeping(self, now: float) -> None:
        """listenKey expiry and the USDⓈ-M countdown-cancel."""
        for key, (_, exp) in list(self.listen_keys.items()):
            if exp <= now:
                del self.listen_keys[key]
                self.ex.chaos.count("listenkey_expired")
                self.close_listen_key(key, expired=True)
        for a in self.ex.accounts:
            for sym, deadline in list(a.countdown.items()):
                if deadline <= now:
                    del a.countdown[sym]
                    self.ex.count("countdown_cancel")
                    self.cancel_all_usdm(a, sym)

    def unsubscribe_user(self, conn: Any, sid: int) -> None:
        entry = self.ex.user_subs.pop(sid, None)
        if entry is not None and entry[2] == "spot":
            conn.send({"subscriptionId": sid, "event": {"e": "eventStreamTerminated", "E": self.server_ms()}})

    def push_user(self, acct: Account, market: str, event: dict[str, Any]) -> None:
        for sid, conn in self.ex.user_connections(acct, market):
            if conn.kind == "ws-api":
                conn.send({"subscriptionId": sid, "event": event}, event=True)
            else:
                conn.send(event, conn.listen_key, event=True)

    def close_listen_key(self, key: str, expired: bool) -> None:
        for sid, (conn, _, _) in list(self.ex.user_subs.items()):
            if conn.listen_key == key:
                if expired:
                    conn.send({"e": "listenKeyExpired", "E": self.server_ms(), "listenKey": key}, key)
                del self.ex.user_subs[sid]
                conn.close()

    async def stream_handler(self, request: web.Request) -> web.WebSocketResponse:
        """``/{spot|usdm}/ws[/<stream or listenKey>]`` and ``/{spot|usdm}/stream?streams=a/b``."""
        ex = self.ex
        market = request.match_info["market"]
        combined = request.match_info.get("mode") == "stream"
        names = request.query.get("streams", "").split("/") if combined else [request.match_info.get("name", "")]
        names = [n for n in names if n]
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = ex.open_connection(ws, "market", market, combined)
        try:
            for n in names:
                self._subscribe(conn, market, n)
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = _dec.decode(msg.data)
                    method, params, rid = req.get("method"), req.get("params") or [], req.get("id")
                except (msgspec.DecodeError, AttributeError):
                    conn.send({"error": {"code": 3, "msg": "Invalid JSON"}})
                    continue
                if method == "SUBSCRIBE":
                    for n in params:
                        self._subscribe(conn, market, str(n))
                    conn.send({"result": None, "id": rid})
                elif method == "UNSUBSCRIBE":
                    for n in params:
                        ex.market_subs.get((market, str(n)), set()).discard(conn)
                        conn.streams.discard(str(n))
                    conn.send({"result": None, "id": rid})
                elif method == "LIST_SUBSCRIPTIONS":
                    conn.send({"result": sorted(conn.streams), "id": rid})
                else:
                    conn.send({"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": rid})
        finally:
            ex.close_connection(conn)
        return ws

    def _subscribe(self, conn: Any, market: str, name: str) -> None:
        if "@" not in name:
            entry = self.listen_keys.get(name) if market == "usdm" else None
            if entry is None or entry[1] <= time.monotonic():
                conn.send({"error": {"code": 2, "msg": f"Invalid request: unknown stream or listenKey {name[:8]!r}"}})
                conn.close()
                return
            conn.kind = "user"
            conn.listen_key = name
            self.ex.subscribe_user(conn, entry[0], "usdm")
            return
        conn.streams.add(name)
        self.ex.market_subs.setdefault((market, name), set()).add(conn)

    # ------------------------------------------------------------------------------------------
    # limits, errors, signatures
    # ------------------------------------------------------------------------------------------
    def _weight_limit(self, market: str) -> int:
        return int(self.ex.rate_limits["spot_weight" if market == "spot" else "usdm_weight"])

    def _check_ip(self, ip: str, params: dict[str, str] | None = None) -> None:
        """418 for a banned IP or one back before its Retry-After ran out (``params``: the
        request's, whose ``timestamp`` tells when a signed request was sent)."""
        now = time.monotonic()
        lim = self.limits
        until = lim.banned_until.get(ip, 0.0)
        if until > now:
            self.ex.count("418")
            raise BinanceError(-1003, f"Way too many requests; IP(127.0.0.1) banned until {int((time.time() + until - now) * 1000)}. Please use the websocket for live updates to avoid bans.",
                               418, {"Retry-After": str(max(1, int(until - now + 0.999)))})
        if lim.retry_until.get(ip, 0.0) > now:
            ts = (params or {}).get("timestamp", "")
            signed_before = ts.isdigit() and int(ts) <= lim.last_429_ms.get(ip, 0) + RETRY_GRACE_S * 1000
            if now - lim.last_429.get(ip, 0.0) <= RETRY_GRACE_S or signed_before:
                # sent before its client could have read the 429 (in flight): another 429
                raise self._too_many(ip, lim.retry_until[ip] - now)
            ban = float(self.ex.chaos["ban_s"] if self.ex.chaos.settings.get("burst429") else self.ex.rate_limits["ban_s"])
            lim.banned_until[ip] = now + ban
            lim.retry_until.pop(ip, None)
            self.ex.count("418")
            raise BinanceError(-1003, f"Way too many requests; IP(127.0.0.1) banned until {int((time.time() + ban) * 1000)}. Please use the websocket for live updates to avoid bans.",
                               418, {"Retry-After": str(max(1, int(ban + 0.999)))})

    def _too_many(self, ip: str, retry: float) -> BinanceError:
        self.limits.retry_until[ip] = time.monotonic() + retry
        self.limits.last_429[ip] = time.monotonic()
        self.limits.last_429_ms[ip] = self.server_ms()
        self.ex.count("429")
        return BinanceError(-1003, "Too many requests; current limit of IP(127.0.0.1) is %d requests per minute. Please use the websocket for live updates to avoid bans." % self._weight_limit("spot"),
                            429, {"Retry-After": str(max(1, int(retry + 0.999)))})

    def _spend(self, market: str, ip: str, weight: int, headers: dict[str, str]) -> None:
        now = time.time()
        minute = int(now // 60)
        key = (market, ip, minute)
        used = self.limits.weight.get(key, 0) + weight
        self.limits.weight[key] = used
        if len(self.limits.weight) > 1000:
            self.limits.weight = {k: v for k, v in self.limits.weight.items() if k[2] >= minute - 1}
        headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        headers["X-MBX-USED-WEIGHT"] = str(used)
        if self.limits.burst.get(ip, 0) > 0:
            self.limits.burst[ip] -= 1
            raise self._too_many(ip, 1.0)
        if self.ex.chaos.roll("burst429"):
            self.limits.burst[ip] = int(self.ex.chaos["burst_len"]) - 1
            raise self._too_many(ip, 1.0)
        if used > self._weight_limit(market):
            raise self._too_many(ip, 60 - now % 60)

    def _count_order(self, market: str, account: Account, headers: dict[str, str]) -> None:
        now = time.time()
        windows = (("10S", 10, "spot_orders_10s" if market == "spot" else "usdm_orders_10s"),
                   ("1D", 86400, "spot_orders_1d") if market == "spot" else ("1M", 60, "usdm_orders_1m"))
        over: tuple[str, float] | None = None
        for label, secs, limit_key in windows:
            key = (market, account.api_key, label, int(now // secs))
            n = self.limits.orders.get(key, 0) + 1
            self.limits.orders[key] = n
            headers[f"X-MBX-ORDER-COUNT-{label}"] = str(n)
            if n > int(self.ex.rate_limits[limit_key]) and over is None:
                over = (label, secs - now % secs)
        if len(self.limits.orders) > 1000:
            self.limits.orders = {k: v for k, v in self.limits.orders.items() if k[3] >= int(now // 86400) - 1 or k[2] != "1D"}
        if over is not None:
            self.ex.count("429")
            raise BinanceError(-1015, f"Too many new orders; current limit is {self.ex.rate_limits[windows[0][2]]} orders per TEN_SECONDS.",
                               429, {"Retry-After": str(max(1, int(over[1] + 0.999)))})

    @staticmethod
    def _respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(body=_enc.encode(body), status=status, headers=headers, content_type="application/json")

    def _error(self, e: BinanceError, headers: dict[str, str]) -> web.Response:
        self.ex.count(f"error{e.code}")
        return self._respond({"code": e.code, "msg": e.msg}, e.status, headers | e.headers)

    @staticmethod
    async def _params(request: web.Request) -> tuple[dict[str, str], str, str]:
        query = request.rel_url.raw_query_string
        body = (await request.text()) if request.can_read_body else ""
        params: dict[str, str] = {}
        for part in (query, body):
            for k, v in parse_qsl(part, keep_blank_values=True):
                if k in params and k != "signature":
                    raise BinanceError(-1101, f"Duplicate values for parameter '{k}'.")
                params[k] = v
        return params, query, body

    def _account_by_key(self, key: str | None) -> Account:
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        acct = self.ex.account_by_key.get(key)
        if acct is None:
            if not re.fullmatch(r"[A-Za-z0-9_-]{8,128}", key):
                raise BinanceError(-2014, "API-key format invalid.", 401)
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return acct

    def verify(self, acct: Account, params: dict[str, str], payload: str) -> None:
        """timestamp, signature and recvWindow of a signed request (HTTP or WebSocket API)."""
        sig = params.get("signature")
        if not sig:
            raise _missing("signature")
        ts = params.get("timestamp")
        if not ts:
            raise _missing("timestamp")
        if not re.fullmatch(r"\d{1,20}", ts):
            raise BinanceError(-1100, "Illegal characters found in parameter 'timestamp'; legal range is '^([0-9]{1,20})$'.")
        rw = params.get("recvWindow", "5000")
        try:
            recv = Decimal(rw)
        except InvalidOperation:
            raise BinanceError(-1100, "Illegal characters found in parameter 'recvWindow'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,3})?$'.") from None
        if not recv.is_finite() or recv <= 0 or recv > 60000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        if not hmac.compare_digest(sign(acct.secret, payload), sig.lower()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        now = self.server_ms()
        t = int(ts)
        if t > now + 1000:
            raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if now - t > recv:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    @staticmethod
    def _payload(query: str, body: str) -> str:
        def strip(s: str) -> str:
            return "&".join(p for p in s.split("&") if p and not p.startswith("signature="))
        return strip(query) + strip(body)

    def _ip(self, request: web.Request) -> str:
        return request.remote or "?"

    def _public(self, market: str, name: str) -> Any:
        weights = SPOT_WEIGHTS if market == "spot" else FUT_WEIGHTS

        async def handler(request: web.Request) -> web.Response:
            headers: dict[str, str] = {}
            ip = self._ip(request)
            try:
                self._check_ip(ip)
                params, _, _ = await self._params(request)
                weight = weights[name]
                if name == "depth":
                    limit = _int_param(params, "limit", 100) or 100
                    weight = (5 if limit <= 100 else 25 if limit <= 500 else 50) if market == "spot" else \
                        (2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20)
                self._spend(market, ip, weight, headers)
                body = self.public(market, name, params)
            except BinanceError as e:
                return self._error(e, headers)
            return self._respond(body, headers=headers)

        return handler

    def _signed(self, market: str, name: str, fn: Any) -> Any:
        weights = SPOT_WEIGHTS if market == "spot" else FUT_WEIGHTS

        async def handler(request: web.Request) -> web.StreamResponse:
            t0 = time.perf_counter_ns()
            headers: dict[str, str] = {}
            ip = self._ip(request)
            try:
                params, query, body = await self._params(request)
                self._check_ip(ip, params)
                weight = weights.get(name, 1)
                if name == "openOrders" and market == "spot" and "symbol" not in params:
                    weight = 80
                if name == "openOrders" and market == "usdm" and "symbol" not in params:
                    weight = 40
                if market == "usdm" and request.method == "POST" and name in ("order", "algoOrder"):
                    weight = 0  # futures orders count against the order limits, not the IP weight
                self._spend(market, ip, weight, headers)
                acct = self._account_by_key(request.headers.get("X-MBX-APIKEY"))
                self.verify(acct, params, self._payload(query, body))
                if ("USDM" if market == "usdm" else "SPOT") not in acct.permissions and name != "account":
                    raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
                is_order = request.method == "POST" and name in ("order", "algoOrder")
                if is_order:
                    self._count_order(market, acct, headers)
                result = fn(acct, params)
                if is_order:
                    # the exchange's own time on a new order: checks, signature, matching
                    self.ex.order_processing_ns.append(time.perf_counter_ns() - t0)
                    return await self._order_chaos(request, result, headers)
            except BinanceError as e:
                return self._error(e, headers)
            return self._respond(result, headers=headers)

        return handler

    async def _order_chaos(self, request: web.Request, result: Any, headers: dict[str, str]) -> web.StreamResponse:
        """The answer to a placed order, after chaos had its say (the order exists either way)."""
        chaos = self.ex.chaos
        if chaos.roll("delay_ack"):
            await asyncio.sleep(float(chaos["delay_ms"]))
        if chaos.roll("ack_5xx"):
            return self._respond({"code": -1007, "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown."}, 503, headers)
        if chaos.roll("timeout"):
            await asyncio.sleep(float(chaos["timeout_s"]))
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        return self._respond(result, headers=headers)

    def _keyed(self, market: str, name: str, fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            headers: dict[str, str] = {}
            ip = self._ip(request)
            try:
                self._check_ip(ip)
                params, _, _ = await self._params(request)
                self._spend(market, ip, FUT_WEIGHTS.get(name, 1), headers)
                acct = self._account_by_key(request.headers.get("X-MBX-APIKEY"))
                result = fn(request.method, acct, params)
            except BinanceError as e:
                return self._error(e, headers)
            return self._respond(result, headers=headers)

        return handler

    # ------------------------------------------------------------------------------------------
    # public endpoints
    # ------------------------------------------------------------------------------------------
    def _market(self, market: str, params: dict[str, str], required: bool = True) -> Any:
        sym = params.get("symbol")
        if not sym:
            if required:
                raise _missing("symbol")
            return None
        m = self.ex.markets.get((market, sym.upper()))
        if m is None or sym != sym.upper():
            raise BinanceError(-1121, "Invalid symbol.")
        return m

    def public(self, market: str, name: str, params: dict[str, str]) -> Any:
        if name == "ping":
            return {}
        if name == "time":
            return {"serverTime": self.server_ms()}
        if name == "exchangeInfo":
            return self.exchange_info(market)
        m = self._market(market, params)
        if name == "depth":
            limit = _int_param(params, "limit", 100) or 100
            if not 1 <= limit <= 5000:
                raise BinanceError(-1130, "Invalid data sent for a parameter.")
            return m.snapshot(limit)
        if name == "klines":
            interval = params.get("interval")
            if not interval:
                raise _missing("interval")
            if interval != "1m":
                raise BinanceError(-1120, "Invalid interval.")
            limit = _int_param(params, "limit", 500) or 500
            return m.kline_rows(min(limit, 1500), _int_param(params, "startTime"), _int_param(params, "endTime"))
        if name == "trades":
            limit = _int_param(params, "limit", 500) or 500
            return m.trade_rows(min(limit, 1000))
        if name == "ticker/bookTicker":
            bid, ask = m.top()
            bq, aq = m.top_sizes()
            out = {"symbol": m.symbol, "bidPrice": m.px(bid or 0), "bidQty": m.qty(bq), "askPrice": m.px(ask or 0),
                   "askQty": m.qty(aq)}
            if market == "usdm":
                out["time"] = self.server_ms()
            return out
        mark = self.ex.mark(market, m.symbol)
        if name == "avgPrice":
            return {"mins": 5, "price": str(mark), "closeTime": self.server_ms()}
        # premiumIndex
        return {"symbol": m.symbol, "markPrice": str(mark), "indexPrice": str(mark), "estimatedSettlePrice": str(mark),
                "lastFundingRate": "0.00000000", "interestRate": "0.00000000", "nextFundingTime": 0,
                "time": self.server_ms()}

    def exchange_info(self, market: str) -> dict[str, Any]:
        rl = self.ex.rate_limits
        now = self.server_ms()
        symbols = []
        for (kind, _), m in sorted(self.ex.markets.items()):
            if kind != market:
                continue
            base, quote = m.symbol[:-4], m.symbol[-4:]
            tick, step = m.px(1), m.qty(1)
            if market == "spot":
                symbols.append({
                    "symbol": m.symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
                    "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
                    "quoteCommissionPrecision": 8, "orderTypes": list(SPOT_TYPES), "icebergAllowed": False,
                    "ocoAllowed": False, "otoAllowed": False, "opoAllowed": False, "quoteOrderQtyMarketAllowed": True,
                    "allowTrailingStop": False, "cancelReplaceAllowed": False, "amendAllowed": False,
                    "pegInstructionsAllowed": False, "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
                        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
                        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "9000.00000000", "stepSize": "0.00000000"},
                        {"filterType": "NOTIONAL", "minNotional": str(self.ex.min_notional["spot"]), "applyMinToMarket": True,
                         "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
                        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
                    ],
                    "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "NONE",
                    "allowedSelfTradePreventionModes": ["NONE"],
                })
            else:
                symbols.append({
                    "symbol": m.symbol, "pair": m.symbol, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
                    "onboardDate": 1569398400000, "status": "TRADING", "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000", "baseAsset": base, "quoteAsset": quote, "marginAsset": quote,
                    "pricePrecision": m.pp, "quantityPrecision": m.sp, "baseAssetPrecision": 8, "quotePrecision": 8,
                    "underlyingType": "COIN", "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500", "marketTakeBound": "0.05",
                    "filters": [
                        {"minPrice": tick, "maxPrice": "1000000", "filterType": "PRICE_FILTER", "tickSize": tick},
                        {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": step},
                        {"stepSize": step, "filterType": "MARKET_LOT_SIZE", "maxQty": "1000", "minQty": step},
                        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
                        {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
                        {"notional": str(self.ex.min_notional["usdm"]), "filterType": "MIN_NOTIONAL"},
                    ],
                    "orderTypes": list(FUT_TYPES + ALGO_TYPES), "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                })
        if market == "spot":
            limits = [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": int(rl["spot_weight"])},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": int(rl["spot_orders_10s"])},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": int(rl["spot_orders_1d"])},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ]
            return {"timezone": "UTC", "serverTime": now, "rateLimits": limits, "exchangeFilters": [], "symbols": symbols}
        limits = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": int(rl["usdm_weight"])},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": int(rl["usdm_orders_1m"])},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": int(rl["usdm_orders_10s"])},
        ]
        return {"timezone": "UTC", "serverTime": now, "futuresType": "U_MARGINED", "rateLimits": limits,
                "exchangeFilters": [], "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
                "symbols": symbols}

    # ------------------------------------------------------------------------------------------
    # orders: validation shared by spot and futures
    # ------------------------------------------------------------------------------------------
    def _check_filters(self, market: str, m: Any, otype: str, price: Decimal | None, qty: Decimal | None,
                       stop: Decimal | None, reduce_only: bool = False) -> None:
        for v in (price, stop):
            if v is not None and (v <= 0 or v % m.tick != 0):
                raise BinanceError(-1013, "Filter failure: PRICE_FILTER") if market == "spot" else \
                    BinanceError(-4014, "Price not increased by tick size.")
        if qty is not None:
            if qty <= 0 and market == "usdm":
                raise BinanceError(-4003, "Quantity less than or equal to zero.")
            if qty < m.lot or qty % m.lot != 0 or qty > 9000:
                raise BinanceError(-1013, "Filter failure: LOT_SIZE") if market == "spot" else \
                    BinanceError(-1111, "Precision is over the maximum defined for this asset.") if qty % m.lot else \
                    BinanceError(-4005, "Quantity greater than max quantity.") if qty > 9000 else \
                    BinanceError(-4003, "Quantity less than or equal to zero.")
            ref = price if price is not None else (stop if stop is not None else self.ex.mark(market, m.symbol))
            notional = qty * ref
            minimum = self.ex.min_notional[market]
            if notional < minimum:
                if market == "spot":
                    raise BinanceError(-1013, "Filter failure: NOTIONAL")
                if not reduce_only:
                    raise BinanceError(-4164, f"Order's notional must be no smaller than {minimum} (unless you choose reduce only).")

    def _client_id(self, acct: Account, market: str, params: dict[str, str], key: str = "newClientOrderId") -> str:
        cid = params.get(key)
        if cid is None or cid == "":
            prefix = "web_" if market == "usdm" else ""
            return prefix + secrets.token_urlsafe(16)[:22]
        if not _CLIENT_ID.match(cid):
            raise BinanceError(-1100, f"Illegal characters found in parameter '{key}'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{{1,36}}$'.")
        oid = acct.by_client[market].get(cid)
        if oid is not None and acct.orders[market][oid].open:
            if market == "spot":
                raise BinanceError(-2010, "Duplicate order sent.")
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        return cid

    def _side(self, params: dict[str, str]) -> str:
        side = params.get("side")
        if not side:
            raise _missing("side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        return side

    def _would_take(self, market: str, symbol: str, side: str, price: Decimal) -> bool:
        m = self.ex.markets[(market, symbol)]
        bid, ask = m.top()
        if side == "BUY":
            return ask is not None and price >= Decimal(m.px(ask))
        return bid is not None and price <= Decimal(m.px(bid))

    def _would_trigger(self, market: str, symbol: str, side: str, otype: str, stop: Decimal) -> bool:
        """Whether a conditional order's trigger is reached already (the touch it would execute
        at, or the last trade): Binance refuses such an order instead of filling it at once."""
        m = self.ex.markets[(market, symbol)]
        bid, ask = m.top()
        touch = ask if side == "BUY" else bid
        prices = [Decimal(m.px(touch))] if touch is not None else []
        if m.trades:
            prices.append(Decimal(m.px(m.trades[-1][1])))
        rising = (otype in _STOP_TYPES) == (side == "BUY")
        return any(p >= stop for p in prices) if rising else any(p <= stop for p in prices)

    # ------------------------------------------------------------------------------------------
    # spot orders
    # ------------------------------------------------------------------------------------------
    def _spot_order_from(self, acct: Account, params: dict[str, str]) -> tuple[Order, str]:
        m = self._market("spot", params)
        side = self._side(params)
        otype = params.get("type")
        if not otype:
            raise _missing("type")
        if otype not in SPOT_TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        tif = params.get("timeInForce", "")
        if otype in _NEEDS_TIF:
            if not tif:
                raise _missing("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise BinanceError(-1115, "Invalid timeInForce.")
        elif tif and otype != "LIMIT_MAKER":
            raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
        price = _dec_param(params, "price", otype in _NEEDS_PRICE)
        if price is not None and otype not in _NEEDS_PRICE:
            raise BinanceError(-1106, "Parameter 'price' sent when not required.")
        delta = _int_param(params, "trailingDelta")
        if delta is not None:
            if otype not in ("STOP_LOSS", "TAKE_PROFIT"):
                # the limit variants keep a fixed limit price under a moving trigger: not matched here
                raise BinanceError(-1130, "Invalid data sent for a parameter.")
            if not 10 <= delta <= 2000:
                raise BinanceError(-1013, "Filter failure: TRAILING_DELTA")
        stop = _dec_param(params, "stopPrice", otype in _NEEDS_STOP and delta is None)
        qty = _dec_param(params, "quantity")
        quote_qty = _dec_param(params, "quoteOrderQty")
        if otype == "MARKET":
            if (qty is None) == (quote_qty is None):
                raise BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!") \
                    if qty is None else BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
        elif qty is None:
            raise _missing("quantity")
        elif quote_qty is not None:
            raise BinanceError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
        resp_type = params.get("newOrderRespType") or ("FULL" if otype in ("LIMIT", "MARKET") else "ACK")
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        mark = self.ex.mark("spot", m.symbol)
        if quote_qty is not None:
            bid, ask = m.top()
            ref = Decimal(m.px(ask if side == "BUY" else bid)) if (ask if side == "BUY" else bid) else mark
            if quote_qty < self.ex.min_notional["spot"]:
                raise BinanceError(-1013, "Filter failure: NOTIONAL")
            qty = (quote_qty / ref).quantize(m.lot, rounding="ROUND_DOWN")
            if qty < m.lot:
                raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        assert qty is not None
        self._check_filters("spot", m, otype, price, qty, stop)
        cid = self._client_id(acct, "spot", params)
        now = self.server_ms()
        o = Order(0, cid, m.symbol, "spot", side, otype, tif or ("GTC" if otype != "MARKET" else "GTC"), qty,
                  price or ZERO, stop or ZERO, now, quote_qty=quote_qty or ZERO, update=now,
                  working=otype not in _NEEDS_STOP)
        if delta is not None:
            o.callback_rate = Decimal(delta) / 100  # percent, as futures' callbackRate
            o.activate = stop
        if otype == "LIMIT_MAKER" and self._would_take("spot", m.symbol, side, o.price):
            raise BinanceError(-2010, "Order would immediately match and take.")
        if delta is None and stop is not None and self._would_trigger("spot", m.symbol, side, otype, stop):
            raise BinanceError(-2010, "Stop price would trigger immediately.")
        # balance: what the order locks
        base, quote = m.symbol[:-4], m.symbol[-4:]
        taker = self.ex.fees["spot"][1] / Decimal(10_000)
        if side == "BUY":
            bid, ask = m.top()
            lock_price = o.price or o.stop or (Decimal(m.px(ask)) if ask is not None else mark)
            need = (lock_price * qty * (1 + taker))
            o.lock_asset, o.lock_price = quote, lock_price
        else:
            need = qty
            o.lock_asset, o.lock_price = base, ZERO
        if acct.free.get(o.lock_asset, ZERO) < need:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        o.lock_left = need
        return o, resp_type

    def spot_test_order(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        self._spot_order_from(acct, params)
        if params.get("computeCommissionRates") == "true":
            maker, taker = self.ex.fees["spot"]
            r = {"maker": _s8(maker / 10_000), "taker": _s8(taker / 10_000)}
            return {"standardCommissionForOrder": r, "taxCommissionForOrder": {"maker": _s8(ZERO), "taker": _s8(ZERO)},
                    "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB",
                                 "discount": "0.00000000"}}
        return {}

    def spot_new_order(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o, resp_type = self._spot_order_from(acct, params)
        o.id = self._next_id()
        acct.lock(o.lock_asset, o.lock_left)
        self._register(acct, o)
        self._emit_spot_report(acct, o, "NEW")
        mt = self._matcher(acct, "spot", o.symbol)
        fills_before = len(o.fills)
        mt.place(self._request(o, "spot"), o.id)
        self.ex.settle(acct, "spot", mt)
        self.ex.count("orders_placed")
        return self._spot_order_response(acct, o, resp_type, fills_before)

    def _spot_order_response(self, acct: Account, o: Order, resp_type: str, fills_from: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client_id,
                               "transactTime": o.time}
        if resp_type == "ACK":
            return out
        out |= {"price": _s8(o.price), "origQty": _s8(o.qty), "executedQty": _s8(o.executed),
                "origQuoteOrderQty": _s8(o.quote_qty), "cummulativeQuoteQty": _s8(o.cum_quote), "status": o.status,
                "timeInForce": o.tif, "type": o.type, "side": o.side, "workingTime": o.time if o.working else -1,
                "selfTradePreventionMode": "NONE"}
        if o.stop:
            out["stopPrice"] = _s8(o.stop)
        if o.callback_rate is not None:
            out["trailingDelta"] = int(o.callback_rate * 100)
        if resp_type == "FULL":
            fills = {f.id: f for f in acct.fills["spot"][-200:]}
            out["fills"] = [{"price": _s8(fills[i].price), "qty": _s8(fills[i].qty), "commission": _s8(fills[i].fee),
                             "commissionAsset": fills[i].fee_asset, "tradeId": i}
                            for i in o.fills[fills_from:] if i in fills]
        return out

    def _find(self, acct: Account, market: str, params: dict[str, str], orig_key: str = "origClientOrderId",
              id_key: str = "orderId") -> Order | None:
        oid = _int_param(params, id_key)
        cid = params.get(orig_key)
        if oid is None and not cid:
            raise BinanceError(-1102, f"Param '{orig_key}' or '{id_key}' must be sent, but both were empty/null!")
        book = acct.orders[market]
        if oid is not None:
            o = book.get(oid)
            return o if o is not None and (not cid or o.client_id == cid) else None
        assert cid is not None
        found = acct.by_client[market].get(cid)
        return book.get(found) if found is not None else None

    def spot_cancel(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("spot", params)
        o = self._find(acct, "spot", params)
        if o is None or o.symbol != m.symbol or not o.open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._cancel(acct, o)
        return self._cancel_response(o, params.get("newClientOrderId"))

    def _cancel_response(self, o: Order, new_cid: str | None = None) -> dict[str, Any]:
        return {"symbol": o.symbol, "origClientOrderId": o.client_id, "orderId": o.id, "orderListId": -1,
                "clientOrderId": new_cid or secrets.token_urlsafe(16)[:22], "transactTime": self.server_ms(),
                "price": _s8(o.price), "origQty": _s8(o.qty), "executedQty": _s8(o.executed),
                "origQuoteOrderQty": _s8(o.quote_qty), "cummulativeQuoteQty": _s8(o.cum_quote), "status": o.status,
                "timeInForce": o.tif, "type": o.type, "side": o.side, "selfTradePreventionMode": "NONE"}

    def spot_cancel_all(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("spot", params)
        open_ = [o for o in acct.orders["spot"].values() if o.open and o.symbol == m.symbol]
        if not open_:
            raise BinanceError(-2011, "Unknown order sent.")
        for o in open_:
            self._cancel(acct, o)
        return [self._cancel_response(o) for o in open_]

    def _spot_order_dict(self, o: Order) -> dict[str, Any]:
        return {"symbol": o.symbol, "orderId": o.id, "orderListId": -1, "clientOrderId": o.client_id,
                "price": _s8(o.price), "origQty": _s8(o.qty), "executedQty": _s8(o.executed),
                "cummulativeQuoteQty": _s8(o.cum_quote), "status": o.status, "timeInForce": o.tif, "type": o.type,
                "side": o.side, "stopPrice": _s8(o.stop), "icebergQty": _s8(ZERO), "time": o.time,
                "updateTime": o.update, "isWorking": o.working, "workingTime": o.time if o.working else -1,
                "origQuoteOrderQty": _s8(o.quote_qty), "selfTradePreventionMode": "NONE"}

    def spot_query(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("spot", params)
        o = self._find(acct, "spot", params)
        if o is None or o.symbol != m.symbol:
            raise BinanceError(-2013, "Order does not exist.")
        return self._spot_order_dict(o)

    def spot_open_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("spot", params, required=False)
        return [self._spot_order_dict(o) for o in acct.orders["spot"].values()
                if o.open and (m is None or o.symbol == m.symbol)]

    @staticmethod
    def _window(items: list[Any], params: dict[str, str], id_attr: str, id_key: str) -> list[Any]:
        start = _int_param(params, "startTime")
        end = _int_param(params, "endTime")
        from_id = _int_param(params, id_key)
        limit = _int_param(params, "limit", 500) or 500
        if not 1 <= limit <= 1000:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        out = [x for x in items if (from_id is None or getattr(x, id_attr) >= from_id)
               and (start is None or x.time >= start) and (end is None or x.time <= end)]
        return out[:limit] if from_id is not None or start is not None else out[-limit:]

    def spot_all_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("spot", params)
        items = [o for o in acct.orders["spot"].values() if o.symbol == m.symbol]
        return [self._spot_order_dict(o) for o in self._window(items, params, "id", "orderId")]

    def spot_my_trades(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("spot", params)
        oid = _int_param(params, "orderId")
        items = [f for f in acct.fills["spot"] if f.symbol == m.symbol and (oid is None or f.order_id == oid)]
        return [{"symbol": f.symbol, "id": f.id, "orderId": f.order_id, "orderListId": -1, "price": _s8(f.price),
                 "qty": _s8(f.qty), "quoteQty": _s8(f.price * f.qty), "commission": _s8(f.fee),
                 "commissionAsset": f.fee_asset, "time": f.time, "isBuyer": f.side == "BUY", "isMaker": f.maker,
                 "isBestMatch": True} for f in self._window(items, params, "id", "fromId")]

    def spot_account(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        maker, taker = self.ex.fees["spot"]
        assets = sorted(set(acct.free) | set(acct.locked))
        return {"makerCommission": int(maker), "takerCommission": int(taker), "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": _s8(maker / 10_000), "taker": _s8(taker / 10_000), "buyer": _s8(ZERO),
                                    "seller": _s8(ZERO)},
                "canTrade": True, "canWithdraw": "WITHDRAW" in acct.permissions, "canDeposit": True, "brokered": False,
                "requireSelfTradePrevention": False, "preventSor": False, "updateTime": self.server_ms(),
                "accountType": "SPOT",
                "balances": [{"asset": a, "free": _s8(acct.free.get(a, ZERO)), "locked": _s8(acct.locked.get(a, ZERO))}
                             for a in assets],
                "permissions": ["SPOT"], "uid": abs(hash(acct.api_key)) % 10**9}

    def api_restrictions(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        return {"ipRestrict": False, "createTime": 1698645219000, "enableReading": True,
                "enableWithdrawals": "WITHDRAW" in acct.permissions, "enableInternalTransfer": False,
                "enableMargin": False, "enableFutures": "USDM" in acct.permissions,
                "permitsUniversalTransfer": False, "enableVanillaOptions": False, "enableFixApiTrade": False,
                "enableFixReadOnly": True, "enableSpotAndMarginTrading": "SPOT" in acct.permissions,
                "enablePortfolioMarginTrading": False}

    # ------------------------------------------------------------------------------------------
    # futures orders
    # ------------------------------------------------------------------------------------------
    def _fut_common(self, acct: Account, params: dict[str, str], algo: bool) -> Order:
        m = self._market("usdm", params)
        side = self._side(params)
        otype = params.get("type")
        if not otype:
            raise _missing("type")
        if algo:
            if params.get("algoType") != "CONDITIONAL":
                raise _missing("algoType") if not params.get("algoType") else BinanceError(-1130, "Invalid data sent for a parameter.")
            if otype not in ALGO_TYPES:
                raise BinanceError(-1116, "Invalid orderType.")
        else:
            if otype in ALGO_TYPES:
                raise BinanceError(-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
            if otype not in FUT_TYPES:
                raise BinanceError(-1116, "Invalid orderType.")
        ps = params.get("positionSide", "BOTH")
        if ps != "BOTH":
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        tif = params.get("timeInForce", "")
        if otype in ("LIMIT", "STOP", "TAKE_PROFIT"):
            tif = tif or ("GTC" if algo else "")
            if not tif:
                raise _missing("timeInForce")
        if tif and tif not in ("GTC", "IOC", "FOK", "GTX", "GTD"):
            raise BinanceError(-1115, "Invalid timeInForce.")
        gtd = 0
        if tif == "GTD":
            gtd = _int_param(params, "goodTillDate") or 0
            if gtd <= self.server_ms() + int(self.ex.gtd_min_s * 1000):
                raise BinanceError(-4118 if not gtd else -4119, "goodTillDate is required for GTD order." if not gtd
                                   else "The goodTillDate timestamp must be greater than the current time plus 600 seconds and smaller than 253402300799000.")
        price = _dec_param(params, "price", otype in ("LIMIT", "STOP", "TAKE_PROFIT"))
        stop = _dec_param(params, "triggerPrice" if algo else "stopPrice", otype in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"))
        qty = _dec_param(params, "quantity", True)
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        if params.get("closePosition", "false").lower() == "true":
            raise BinanceError(-1130, "Invalid data sent for a parameter.")  # closePosition: not on this exchange
        rate = activate = None
        if otype == "TRAILING_STOP_MARKET":
            rate = _dec_param(params, "callbackRate", True)
            assert rate is not None
            if not Decimal("0.1") <= rate <= 10:
                raise BinanceError(-2007, "Invalid callBack rate.")
            activate = _dec_param(params, "activatePrice")
        assert qty is not None
        self._check_filters("usdm", m, otype, price, qty, stop if otype != "TRAILING_STOP_MARKET" else None, reduce_only)
        cid = self._client_id(acct, "usdm", params, "clientAlgoId" if algo else "newClientOrderId")
        now = self.server_ms()
        o = Order(0, cid, m.symbol, "usdm", side, otype, tif or "GTC", qty, price or ZERO, stop or ZERO, now,
                  reduce_only=reduce_only, update=now, algo=algo, callback_rate=rate, activate=activate, gtd=gtd)
        if algo and stop is not None and otype != "TRAILING_STOP_MARKET" and self._would_trigger("usdm", m.symbol, side, otype, stop):
            raise BinanceError(-2021, "Order would immediately trigger.")
        if tif == "GTX" and self._would_take("usdm", m.symbol, side, o.price):
            raise BinanceError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history")
        pos = acct.position(m.symbol)
        signed = qty if side == "BUY" else -qty
        if reduce_only and (pos.amt == 0 or (pos.amt > 0) == (signed > 0)):
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")
        if not reduce_only:
            if self.ex.margin_short(acct, o):
                raise BinanceError(-2019, "Margin is insufficient.")
        return o

    def fut_new_order(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._fut_common(acct, params, algo=False)
        o.id = self._next_id()
        self._register(acct, o)
        self._emit_fut_update(acct, o, "NEW")
        mt = self._matcher(acct, "usdm", o.symbol)
        mt.place(self._request(o, "usdm"), o.id)
        self.ex.settle(acct, "usdm", mt)
        self.ex.count("orders_placed")
        return self._fut_order_dict(o)

    def fut_new_algo(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._fut_common(acct, params, algo=True)
        o.id = self._next_id()
        self._register(acct, o)
        self._emit_algo_update(acct, o, "NEW")
        mt = self._matcher(acct, "usdm", o.symbol)
        mt.place(self._request(o, "usdm"), o.id)
        self.ex.settle(acct, "usdm", mt)
        self.ex.count("orders_placed")
        return self._algo_dict(o)

    def _fut_order_dict(self, o: Order) -> dict[str, Any]:
        m = self.ex.markets[("usdm", o.symbol)]
        p = m.pp
        return {"orderId": o.id, "symbol": o.symbol, "status": o.status, "clientOrderId": o.client_id,
                "price": f"{o.price:.{p}f}", "avgPrice": f"{o.avg_price:.{p}f}", "origQty": f"{o.qty:.{m.sp}f}",
                "executedQty": f"{o.executed:.{m.sp}f}", "cumQuote": _s8(o.cum_quote), "timeInForce": o.tif,
                "type": o.type, "reduceOnly": o.reduce_only, "closePosition": False, "side": o.side,
                "positionSide": "BOTH", "stopPrice": f"{o.stop:.{p}f}", "workingType": "CONTRACT_PRICE",
                "priceProtect": False, "origType": o.type, "priceMatch": "NONE", "selfTradePreventionMode": "NONE",
                "goodTillDate": o.gtd, "time": o.time, "updateTime": o.update}

    def _algo_status(self, o: Order) -> str:
        return {"NEW": "NEW", "PARTIALLY_FILLED": "TRIGGERED", "FILLED": "FINISHED", "CANCELED": "CANCELED",
                "EXPIRED": "EXPIRED", "REJECTED": "REJECTED"}.get(o.status, o.status) if o.child is None or o.status in ("CANCELED", "EXPIRED", "FILLED") else \
            ("FINISHED" if o.status == "FILLED" else "TRIGGERED")

    def _algo_dict(self, o: Order) -> dict[str, Any]:
        m = self.ex.markets[("usdm", o.symbol)]
        out = {"algoId": o.id, "clientAlgoId": o.client_id, "algoType": "CONDITIONAL", "orderType": o.type,
               "type": o.type, "symbol": o.symbol, "side": o.side, "positionSide": "BOTH", "timeInForce": o.tif,
               "quantity": f"{o.qty:.{m.sp}f}", "algoStatus": self._algo_status(o),
               "triggerPrice": f"{o.stop:.{m.pp}f}", "price": f"{o.price:.{m.pp}f}", "icebergQuantity": None,
               "selfTradePreventionMode": "NONE", "workingType": "CONTRACT_PRICE", "priceMatch": "NONE",
               "closePosition": False, "priceProtect": False, "reduceOnly": o.reduce_only,
               "activatePrice": f"{o.activate:.{m.pp}f}" if o.activate else "",
               "callbackRate": str(o.callback_rate) if o.callback_rate is not None else "",
               "createTime": o.time, "updateTime": o.update, "triggerTime": o.trigger_time, "goodTillDate": o.gtd}
        if o.child is not None:
            out["actualOrderId"] = str(o.child)
        return out

    def fut_cancel(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("usdm", params)
        o = self._find(acct, "usdm", params)
        if o is None or o.algo or o.symbol != m.symbol or not o.open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._cancel(acct, o)
        return self._fut_order_dict(o)

    def fut_modify(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """``PUT /fapi/v1/order``: a LIMIT order's quantity and price (both sent); a new price
        loses the queue position. Binance's refusals: no such order (-2013), nothing to change
        (-5027), a post-only one that would take (-5022), filters (-1013)."""
        m = self._market("usdm", params)
        o = self._find(acct, "usdm", params)
        if o is None or o.algo or o.symbol != m.symbol or not o.open:
            raise BinanceError(-2013, "Order does not exist.")
        if o.type != "LIMIT":
            raise BinanceError(-1116, "Invalid orderType.")
        if self._side(params) != o.side:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        price = _dec_param(params, "price", True)
        qty = _dec_param(params, "quantity", True)
        assert price is not None and qty is not None
        self._check_filters("usdm", m, "LIMIT", price, qty, None, o.reduce_only)
        if qty <= o.executed:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        if qty == o.qty and price == o.price:
            raise BinanceError(-5027, "No need to modify the order.")
        if o.tif == "GTX" and self._would_take("usdm", m.symbol, o.side, price):
            raise BinanceError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history")
        mt = self._matcher(acct, "usdm", o.symbol)
        o.qty, o.price, o.update = qty, price, self.server_ms()
        mt.amend(o.id, m.qty(m.lots(str(qty))), m.px(m.ticks(str(price))))
        self._emit_fut_update(acct, o, "AMENDMENT")
        self.ex.settle(acct, "usdm", mt)  # a new price through the touch trades at once
        self.ex.count("orders_modified")
        return self._fut_order_dict(o)

    def fut_cancel_all_algo(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """``DELETE /fapi/v1/algoOpenOrders``: every algo order of the symbol not triggered yet."""
        m = self._market("usdm", params)
        for o in [o for o in acct.orders["usdm"].values() if o.algo and o.open and o.child is None and o.symbol == m.symbol]:
            self._cancel(acct, o)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def fut_query(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("usdm", params)
        o = self._find(acct, "usdm", params)
        if o is None or o.algo or o.symbol != m.symbol:
            raise BinanceError(-2013, "Order does not exist.")
        return self._fut_order_dict(o)

    def fut_cancel_algo(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(acct, "usdm", params, "clientAlgoId", "algoId")
        if o is None or not o.algo or not o.open or o.child is not None:
            raise BinanceError(-2011, "Unknown order sent.")
        self._cancel(acct, o)
        return {"algoId": o.id, "clientAlgoId": o.client_id, "code": "200", "msg": "success"}

    def fut_query_algo(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(acct, "usdm", params, "clientAlgoId", "algoId")
        if o is None or not o.algo:
            raise BinanceError(-2013, "Order does not exist.")
        return self._algo_dict(o)

    def fut_open_algo(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("usdm", params, required=False)
        return [self._algo_dict(o) for o in acct.orders["usdm"].values()
                if o.algo and o.open and o.child is None and (m is None or o.symbol == m.symbol)]

    def fut_cancel_all(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("usdm", params)
        self.cancel_all_usdm(acct, m.symbol)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def cancel_all_usdm(self, acct: Account, symbol: str) -> None:
        for o in [o for o in acct.orders["usdm"].values() if o.open and o.symbol == symbol]:
            if o.open:
                self._cancel(acct, o)

    def fut_open_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("usdm", params, required=False)
        return [self._fut_order_dict(o) for o in acct.orders["usdm"].values()
                if o.open and not o.algo and (m is None or o.symbol == m.symbol)]

    def fut_all_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("usdm", params)
        items = [o for o in acct.orders["usdm"].values() if o.symbol == m.symbol and not o.algo]
        return [self._fut_order_dict(o) for o in self._window(items, params, "id", "orderId")]

    def fut_user_trades(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("usdm", params)
        oid = _int_param(params, "orderId")
        items = [f for f in acct.fills["usdm"] if f.symbol == m.symbol and (oid is None or f.order_id == oid)]
        return [{"symbol": f.symbol, "id": f.id, "orderId": f.order_id, "side": f.side, "price": str(f.price),
                 "qty": str(f.qty), "realizedPnl": str(f.realized), "marginAsset": "USDT",
                 "quoteQty": str(f.price * f.qty), "commission": str(f.fee), "commissionAsset": f.fee_asset,
                 "time": f.time, "positionSide": "BOTH", "buyer": f.side == "BUY", "maker": f.maker}
                for f in self._window(items, params, "id", "fromId")]

    def _position_rows(self, acct: Account) -> list[dict[str, Any]]:
        rows = []
        for (kind, sym), m in sorted(self.ex.markets.items()):
            if kind != "usdm":
                continue
            p = acct.position(sym)
            mark = self.ex.mark("usdm", sym)
            upnl = p.amt * (mark - p.entry)
            notional = p.amt * mark
            rows.append({"symbol": sym, "positionAmt": str(p.amt), "entryPrice": str(p.entry),
                         "breakEvenPrice": str(p.entry), "markPrice": str(mark), "unRealizedProfit": _s8(upnl),
                         "liquidationPrice": "0", "leverage": str(p.leverage), "maxNotionalValue": "1000000",
                         "marginType": "cross", "isolatedMargin": "0.00000000", "isAutoAddMargin": "false",
                         "positionSide": "BOTH", "notional": str(notional), "isolatedWallet": "0",
                         "initialMargin": _s8(abs(notional) / p.leverage), "updateTime": p.update})
        return rows

    def fut_position_risk(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        m = self._market("usdm", params, required=False)
        return [r for r in self._position_rows(acct) if m is None or r["symbol"] == m.symbol]

    def fut_balance(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        avail = self.ex.available(acct)
        return [{"accountAlias": "SgsR", "asset": a, "balance": _s8(v), "crossWalletBalance": _s8(v),
                 "crossUnPnl": _s8(self.ex.upnl(acct) if a == "USDT" else ZERO),
                 "availableBalance": _s8(avail if a == "USDT" else v), "maxWithdrawAmount": _s8(avail if a == "USDT" else v),
                 "marginAvailable": True, "updateTime": self.server_ms()} for a, v in sorted(acct.wallet.items())]

    def fut_account(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        upnl = self.ex.upnl(acct)
        wallet = acct.wallet.get("USDT", ZERO)
        pos_im = self.ex.position_margin(acct)
        ord_im = self.ex.order_margin(acct)
        avail = self.ex.available(acct)
        assets = [{"asset": a, "walletBalance": _s8(v), "unrealizedProfit": _s8(upnl if a == "USDT" else ZERO),
                   "marginBalance": _s8(v + (upnl if a == "USDT" else ZERO)), "maintMargin": "0.00000000",
                   "initialMargin": _s8(pos_im + ord_im if a == "USDT" else ZERO),
                   "positionInitialMargin": _s8(pos_im if a == "USDT" else ZERO),
                   "openOrderInitialMargin": _s8(ord_im if a == "USDT" else ZERO), "crossWalletBalance": _s8(v),
                   "crossUnPnl": _s8(upnl if a == "USDT" else ZERO), "availableBalance": _s8(avail if a == "USDT" else v),
                   "maxWithdrawAmount": _s8(avail if a == "USDT" else v), "marginAvailable": True,
                   "updateTime": self.server_ms()} for a, v in sorted(acct.wallet.items())]
        positions = [{"symbol": r["symbol"], "initialMargin": r["initialMargin"], "maintMargin": "0",
                      "unrealizedProfit": r["unRealizedProfit"], "positionInitialMargin": r["initialMargin"],
                      "openOrderInitialMargin": "0", "leverage": r["leverage"], "isolated": False,
                      "entryPrice": r["entryPrice"], "breakEvenPrice": r["breakEvenPrice"], "maxNotional": "1000000",
                      "bidNotional": "0", "askNotional": "0", "positionSide": "BOTH", "positionAmt": r["positionAmt"],
                      "notional": r["notional"], "updateTime": r["updateTime"]} for r in self._position_rows(acct)]
        return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": "WITHDRAW" in acct.permissions,
                "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1,
                "totalInitialMargin": _s8(pos_im + ord_im), "totalMaintMargin": "0.00000000",
                "totalWalletBalance": _s8(wallet), "totalUnrealizedProfit": _s8(upnl),
                "totalMarginBalance": _s8(wallet + upnl), "totalPositionInitialMargin": _s8(pos_im),
                "totalOpenOrderInitialMargin": _s8(ord_im), "totalCrossWalletBalance": _s8(wallet),
                "totalCrossUnPnl": _s8(upnl), "availableBalance": _s8(avail), "maxWithdrawAmount": _s8(avail),
                "assets": assets, "positions": positions}

    def fut_leverage(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("usdm", params)
        lev = _int_param(params, "leverage")
        if lev is None:
            raise _missing("leverage")
        if not 1 <= lev <= 125:
            raise BinanceError(-4028, f"Leverage {lev} is not valid")
        acct.leverage[m.symbol] = lev
        acct.position(m.symbol).leverage = lev
        return {"leverage": lev, "maxNotionalValue": "1000000", "symbol": m.symbol}

    def fut_brackets(self, acct: Account, params: dict[str, str]) -> Any:
        m = self._market("usdm", params, required=False)
        rows = [{"symbol": sym, "notionalCoef": 1.0, "brackets": [
            {"bracket": 1, "initialLeverage": 125, "notionalCap": 1_000_000, "notionalFloor": 0,
             "maintMarginRatio": 0.004, "cum": 0.0}]}
            for (kind, sym) in sorted(self.ex.markets) if kind == "usdm" and (m is None or sym == m.symbol)]
        return rows[0] if m is not None else rows

    def fut_countdown(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        m = self._market("usdm", params)
        ms = _int_param(params, "countdownTime")
        if ms is None:
            raise _missing("countdownTime")
        if ms < 0:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        if ms == 0:
            acct.countdown.pop(m.symbol, None)
        else:
            acct.countdown[m.symbol] = time.monotonic() + ms / 1000
        return {"symbol": m.symbol, "countdownTime": str(ms)}

    def listen_key(self, method: str, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        life = float(self.ex.chaos["listenkey_expiry"] or 3600.0)
        if method == "POST":
            for key, (a, exp) in self.listen_keys.items():
                if a is acct and exp > time.monotonic():
                    self.listen_keys[key] = (acct, time.monotonic() + life)
                    return {"listenKey": key}
            key = secrets.token_urlsafe(48)[:64]
            self.listen_keys[key] = (acct, time.monotonic() + life)
            return {"listenKey": key}
        found = params.get("listenKey") or next((k for k, (a, e) in self.listen_keys.items() if a is acct), None)
        key = found or ""
        entry = self.listen_keys.get(key)
        if entry is None or entry[0] is not acct or entry[1] <= time.monotonic():
            raise BinanceError(-1125, "This listenKey does not exist.")
        if method == "PUT":
            self.listen_keys[key or ""] = (acct, time.monotonic() + life)
            return {"listenKey": key}
        del self.listen_keys[key or ""]
        self.close_listen_key(key or "", expired=False)
        return {}

    # ------------------------------------------------------------------------------------------
    # user-stream events
    # ------------------------------------------------------------------------------------------
    def _emit_spot_report(self, acct: Account, o: Order, x: str, fill: Fill | None = None, reason: str = "NONE") -> None:
        ms = self.server_ms()
        ev = {"e": "executionReport", "E": ms, "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.type,
              "f": o.tif, "q": _s8(o.qty), "p": _s8(o.price), "P": _s8(o.stop), "F": "0.00000000", "g": -1, "C": "",
              "x": x, "X": o.status, "r": reason, "i": o.id,
              "l": _s8(fill.qty if fill else ZERO), "z": _s8(o.executed), "L": _s8(fill.price if fill else ZERO),
              "n": _s8(fill.fee) if fill else "0", "N": fill.fee_asset if fill else None,
              "T": fill.time if fill else o.update, "t": fill.id if fill else -1, "I": self.ex.next_event_id(),
              "w": o.open and o.working, "m": bool(fill and fill.maker), "M": False, "O": o.time,
              "Z": _s8(o.cum_quote), "Y": _s8(fill.price * fill.qty if fill else ZERO), "Q": _s8(o.quote_qty),
              "W": o.time, "V": "NONE"}
        if x == "EXPIRED":
            ev["eR"] = "INSUFFICIENT_LIQUIDITY" if o.type == "MARKET" or o.tif in ("IOC", "FOK") else "NONE"
        self.push_user(acct, "spot", ev)

    def _emit_spot_position(self, acct: Account, assets: list[str]) -> None:
        ms = self.server_ms()
        self.push_user(acct, "spot", {"e": "outboundAccountPosition", "E": ms, "u": ms, "B": [
            {"a": a, "f": _s8(acct.free.get(a, ZERO)), "l": _s8(acct.locked.get(a, ZERO))} for a in assets]})

    def _emit_fut_update(self, acct: Account, o: Order, x: str, fill: Fill | None = None) -> None:
        m = self.ex.markets[("usdm", o.symbol)]
        ms = self.server_ms()
        ev = {"e": "ORDER_TRADE_UPDATE", "T": ms, "E": ms, "o": {
            "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.type, "f": o.tif, "q": f"{o.qty:.{m.sp}f}",
            "p": f"{o.price:.{m.pp}f}", "ap": f"{o.avg_price:.{m.pp}f}", "sp": f"{o.stop:.{m.pp}f}", "x": x,
            "X": o.status, "i": o.id, "l": f"{fill.qty if fill else ZERO:.{m.sp}f}", "z": f"{o.executed:.{m.sp}f}",
            "L": f"{fill.price if fill else ZERO:.{m.pp}f}", "N": "USDT", "n": _s8(fill.fee if fill else ZERO),
            "T": fill.time if fill else o.update, "t": fill.id if fill else 0, "b": "0", "a": "0",
            "m": bool(fill and fill.maker), "R": o.reduce_only, "wt": "CONTRACT_PRICE", "ot": o.type, "ps": "BOTH",
            "cp": False, "rp": _s8(fill.realized if fill else ZERO), "pP": False, "si": 0, "ss": 0,
            "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": o.gtd, "W": o.time}}
        self.push_user(acct, "usdm", ev)

    def _emit_algo_update(self, acct: Account, o: Order, status: str) -> None:
        m = self.ex.markets[("usdm", o.symbol)]
        ms = self.server_ms()
        child = acct.orders["usdm"].get(o.child) if o.child is not None else None
        ev = {"e": "ALGO_UPDATE", "T": ms, "E": ms, "o": {
            "caid": o.client_id, "aid": o.id, "at": "CONDITIONAL", "o": o.type, "s": o.symbol, "S": o.side,
            "ps": "BOTH", "f": o.tif, "q": f"{o.qty:.{m.sp}f}", "X": status, "ai": str(o.child) if o.child else "",
            "ap": f"{child.avg_price if child else ZERO:.{m.pp}f}", "aq": f"{child.executed if child else ZERO:.{m.sp}f}",
            "act": "MARKET" if o.type.endswith("MARKET") and o.child else ("LIMIT" if o.child else "0"),
            "tp": f"{o.stop:.{m.pp}f}", "p": f"{o.price:.{m.pp}f}", "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE",
            "pm": "NONE", "cp": False, "pP": False, "R": o.reduce_only, "tt": o.trigger_time, "gtd": o.gtd,
            "rm": ""}}
        self.push_user(acct, "usdm", ev)

    def _emit_fut_account(self, acct: Account, symbol: str, reason: str = "ORDER") -> None:
        ms = self.server_ms()
        p = acct.position(symbol)
        mark = self.ex.mark("usdm", symbol)
        self.push_user(acct, "usdm", {"e": "ACCOUNT_UPDATE", "T": ms, "E": ms, "a": {
            "m": reason,
            "B": [{"a": a, "wb": _s8(v), "cw": _s8(v), "bc": "0"} for a, v in sorted(acct.wallet.items())],
            "P": [{"s": symbol, "pa": str(p.amt), "ep": str(p.entry), "bep": str(p.entry), "cr": _s8(p.realized),
                   "up": _s8(p.amt * (mark - p.entry)), "mt": "cross", "iw": "0", "ps": "BOTH"}]}})

    # ------------------------------------------------------------------------------------------
    # the matcher's events into the books
    # ------------------------------------------------------------------------------------------
    # ------------------------------------------------------------------------------------------
    # WebSocket API (spot)
    # ------------------------------------------------------------------------------------------
    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = self.ex.open_connection(ws, "ws-api")
        state: dict[str, Any] = {"account": None, "subs": {}}
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = _dec.decode(msg.data)
                    if not isinstance(req, dict):
                        raise ValueError
                except (msgspec.DecodeError, ValueError):
                    conn.send({"id": None, "status": 400, "error": {"code": -1000, "msg": "Malformed request."}})
                    continue
                rid = req.get("id")
                try:
                    result = self._ws_call(conn, state, str(req.get("method", "")), req.get("params") or {})
                    conn.send({"id": rid, "status": 200, "result": result, "rateLimits": []})
                except BinanceError as e:
                    self.ex.count(f"error{e.code}")
                    conn.send({"id": rid, "status": e.status, "error": {"code": e.code, "msg": e.msg}})
        finally:
            for sid in list(state["subs"]):
                self.unsubscribe_user(conn, sid)
            self.ex.close_connection(conn)
        return ws

    def _ws_verify(self, params: dict[str, Any]) -> Account:
        if not isinstance(params, dict):
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        p = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()}
        acct = self._account_by_key(p.get("apiKey"))
        payload = "&".join(f"{k}={v}" for k, v in sorted(p.items()) if k != "signature")
        self.verify(acct, p, payload)
        return acct

    def _ws_call(self, conn: Any, state: dict[str, Any], method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.server_ms()}
        if method == "session.logon":
            state["account"] = self._ws_verify(params)
            return {"apiKey": state["account"].api_key, "authorizedSince": self.server_ms(),
                    "connectedSince": conn.opened_ms, "returnRateLimits": False, "serverTime": self.server_ms(),
                    "userDataStream": bool(state["subs"])}
        if method == "session.status":
            acct = state["account"]
            return {"apiKey": acct.api_key if acct else None, "authorizedSince": None, "connectedSince": conn.opened_ms,
                    "returnRateLimits": False, "serverTime": self.server_ms(), "userDataStream": bool(state["subs"])}
        if method == "session.logout":
            state["account"] = None
            return {"apiKey": None, "authorizedSince": None, "connectedSince": conn.opened_ms, "returnRateLimits": False,
                    "serverTime": self.server_ms(), "userDataStream": bool(state["subs"])}
        if method in ("userDataStream.subscribe", "userDataStream.subscribe.signature"):
            if method == "userDataStream.subscribe":
                acct = state["account"]
                if acct is None:
                    raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
            else:
                acct = self._ws_verify(params)
            sid = self.ex.subscribe_user(conn, acct, "spot")
            state["subs"][sid] = acct
            return {"subscriptionId": sid}
        if method == "userDataStream.unsubscribe":
            which = params.get("subscriptionId")
            for s in [s for s in state["subs"] if which is None or s == which]:
                self.unsubscribe_user(conn, s)
                del state["subs"][s]
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in state["subs"]]
        if method in ("order.place", "order.cancel", "order.status", "openOrders.status", "account.status"):
            if "signature" in params or state["account"] is None:
                acct = self._ws_verify(params)
            else:
                acct = state["account"]
            p = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()}
            fn = {"order.place": self.spot_new_order, "order.cancel": self.spot_cancel, "order.status": self.spot_query,
                  "openOrders.status": self.spot_open_orders, "account.status": self.spot_account}[method]
            if method == "order.place":
                self._count_order("spot", acct, {})
            return fn(acct, p)
        raise BinanceError(-1020, "This operation is not supported.")
