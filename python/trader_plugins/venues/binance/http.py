"""Binance's REST API over aiohttp: signing, server time, weights, and typed errors.

- **Signing**: the parameters are encoded once (:func:`.auth.encode`) and the HMAC covers the
  exact bytes sent: GET/DELETE carry them in the query string, POST/PUT in a form body (as ccxt
  does); the URL is handed to aiohttp already encoded so nothing re-quotes it.
- **Server time**: ``offset_ms`` is the median over a few samples of ``serverTime - (t0 + t1) / 2``
  (the server's clock minus ours, half the round trip corrected), measured at start and again on
  a -1021, after which the request is signed anew and sent once more; a second -1021 in a row is
  raised, never retried.
- **Weights**: the limits of ``exchangeInfo``'s ``rateLimits`` (``REQUEST_WEIGHT`` per request,
  ``ORDERS`` per new order), counted per window of server time and corrected by every response's
  ``X-MBX-USED-WEIGHT-*`` / ``X-MBX-ORDER-COUNT-*`` headers; a request that would pass
  :attr:`BinanceHttp.headroom` of a limit waits for the next window instead of being sent. New
  orders wait for the order limits one at a time, before they queue for one of the
  :attr:`BinanceHttp.max_in_flight` places: a cancel or a query never waits behind submits held
  by the order limit.
- **429 / 418**: ``Retry-After`` (seconds) blocks every request of the client until it has
  passed; a 429 (the request was refused, not executed) is sent again after the wait, at most
  :attr:`BinanceHttp.max_429_retries` times; a 418 is raised (:class:`RateLimited`).
- **Errors**: a JSON ``{"code", "msg"}`` answer becomes :class:`BinanceError`; a 5xx (except
  -1008, "server busy, request rejected"), -1007 (timeout waiting for the backend), a timeout or a
  dropped connection become :class:`OutcomeUnknown`: the request may have been executed — the
  caller asks (by client order id), never sends it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..common import http as _common
from ..common.execution import Withdrawn
from ..common.http import NO_GATE, Budget, RestClient, VenueError, decode_json, retry_after_s
from .auth import Credentials, encode, signed_payload
from .config import BinanceConfig

__all__ = ["BinanceHttp", "BinanceError", "RateLimited", "OutcomeUnknown", "Withdrawn", "WEIGHTS"]

log = logging.getLogger(__name__)

#: Request weights of the endpoints the adapter calls (spot, USDⓈ-M); others count 1.
WEIGHTS: dict[str, int] = {
    "/api/v3/exchangeInfo": 20, "/api/v3/depth": 50, "/api/v3/account": 20, "/api/v3/myTrades": 20,
    "/api/v3/allOrders": 20, "/api/v3/openOrders": 6, "/api/v3/order": 4,
    "/fapi/v1/exchangeInfo": 1, "/fapi/v1/depth": 20, "/fapi/v2/account": 5, "/fapi/v3/account": 5,
    "/fapi/v1/userTrades": 5, "/fapi/v1/allOrders": 5, "/fapi/v1/openOrders": 1, "/fapi/v2/positionRisk": 5,
    "/fapi/v3/positionRisk": 5, "/fapi/v2/balance": 5, "/fapi/v3/balance": 5,
}
_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
#: Order-placing endpoints (counted against the ORDERS limits).
ORDER_PATHS = frozenset({"/api/v3/order", "/fapi/v1/order", "/fapi/v1/algoOrder", "/fapi/v1/batchOrders"})


class BinanceError(VenueError):
    """An answer of Binance's with an error code (``code`` negative, ``msg`` its text, ``status``
    the HTTP status). Built from the answer only: no key, secret or signature inside."""

    venue = "binance"


class RateLimited(BinanceError, _common.RateLimited):
    """A 429 that stayed a 429, or a 418 (IP ban); ``retry_after_s`` as the server said. A
    :class:`BinanceError` and a :class:`..common.http.RateLimited`."""


class OutcomeUnknown(_common.OutcomeUnknown):
    """The request may or may not have been executed (5xx, -1007, timeout, dropped connection):
    ask the venue, never send it again."""

    venue = "binance"


class BinanceHttp(RestClient[BinanceConfig, Credentials]):
    """REST client of one Binance market (see the module docs; the session, server-time offset,
    waits and transport are :class:`~..common.http.RestClient`'s)."""

    venue = "binance"
    outcome_unknown = OutcomeUnknown
    withdrawn_error = Withdrawn
    #: Times a 429'd request is sent again after its Retry-After.
    max_429_retries = 3

    stat_names = ("resigned_1021", "http_429", "http_418")

    def setup(self) -> None:
        self._order_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._prefix = self.config.api_prefix
        self._host.budgets.setdefault(self._prefix, [Budget("REQUEST_WEIGHT", 60, 6000 if self.config.market == "spot"
                                                            else 2400, "x-mbx-used-weight-1m")])

    @property
    def budgets(self) -> list[Budget]:
        """The limits this client counts against — shared with every client of the same host and
        API (the weight is the IP's)."""
        return self._host.budgets[self._prefix]

    @budgets.setter
    def budgets(self, value: list[Budget]) -> None:
        self._host.budgets[self._prefix] = value

    @property
    def log_name(self) -> str:
        return f"binance {self.config.market}"

    async def server_time_ms(self) -> float:
        return int((await self.request("GET", f"{self.config.api_prefix}/time", weight=1))["serverTime"])

    # ---- limits ---------------------------------------------------------------------------------

    def set_rate_limits(self, rate_limits: list[Mapping[str, Any]]) -> None:
        """Budgets from ``exchangeInfo``'s ``rateLimits`` (REQUEST_WEIGHT and ORDERS)."""
        budgets = []
        for r in rate_limits:
            kind, interval, num = r.get("rateLimitType"), r.get("interval"), int(r.get("intervalNum", 1))
            if kind not in ("REQUEST_WEIGHT", "ORDERS") or interval not in _SECONDS:
                continue
            name = "used-weight" if kind == "REQUEST_WEIGHT" else "order-count"
            budgets.append(Budget(kind, _SECONDS[interval] * num, int(r["limit"]),
                                  f"x-mbx-{name}-{num}{_LETTER[interval]}".lower()))
        if budgets:
            self.budgets = budgets

    async def _reserve(self, weight: int, order: bool, withdrawn: Callable[[], bool] | None = None) -> None:
        """Wait until no Retry-After block holds and ``weight`` (and a new order, if ``order``)
        fits every budget, then count it (:meth:`~..common.http.RestClient.reserve`)."""
        await self.reserve([(b, weight if b.kind == "REQUEST_WEIGHT" else (1 if order else 0)) for b in self.budgets],
                           withdrawn)

    def _order_turn(self) -> asyncio.Lock:
        """New orders wait for the order limits one at a time, in order, on this lock (one a loop)."""
        loop = asyncio.get_running_loop()
        if self._order_lock is None or self._order_lock[0] is not loop:
            self._order_lock = (loop, asyncio.Lock())
        return self._order_lock[1]

    def _observe(self, headers: Mapping[str, str]) -> None:
        server_s = self.server_ms() / 1000
        for b in self.budgets:
            b.observe(server_s, headers.get(b.header))

    # ---- requests -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
                      signed: bool = False, api_key: bool = False, weight: int | None = None,
                      raw: bool = False, priority: bool = False, withdrawn: Callable[[], bool] | None = None) -> Any:
        """Send one request and return its decoded JSON answer (see the module docs for what is
        retried and what is raised). ``priority``: not queued behind the order flow's requests
        in flight (a catch-up, a query of an order of unknown outcome, the listenKey); the
        Retry-After blocks and the weight budget hold all the same. ``withdrawn``: asked after each
        wait (the limits, a place in flight); True gives the request up unsent (:class:`Withdrawn`)."""
        method = method.upper()
        if weight is None:
            # a USDⓈ-M order costs no IP weight (it counts against the order limits)
            weight = 0 if method == "POST" and path in ("/fapi/v1/order", "/fapi/v1/algoOrder") else WEIGHTS.get(path, 1)
        order = method == "POST" and path in ORDER_PATHS
        resigned = False
        counted = False
        tries_429 = 0
        resync = False
        while True:
            if resync:  # outside the gate: the clock's own requests take their turn
                resync = False
                await self.sync_time()
            if order and not counted:
                # a new order takes its place in the order limits before it queues for a place in
                # flight, one at a time: no place in flight waits for the next window, so a
                # cancel or a query never waits behind submits held by the order limit
                async with self._order_turn():
                    await self._reserve(0, True, withdrawn)
                counted = True  # a 429'd order was refused, not counted by the venue: kept (prudent)
            async with (NO_GATE if priority else self._host.gate(self.max_in_flight)):
                await self._reserve(weight, False)
                if withdrawn is not None and withdrawn():
                    raise Withdrawn()
                try:
                    return await self._send(method, path, params or {}, signed, api_key or signed, raw)
                except RateLimited as e:
                    if e.status == 429 and tries_429 < self.max_429_retries:
                        tries_429 += 1
                        continue  # the block set by Retry-After makes _reserve wait
                    raise
                except BinanceError as e:
                    if e.code == -1021 and signed and not resigned:
                        resigned = resync = True
                        self.stats["resigned_1021"] += 1
                        continue
                    raise

    async def request_raw(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
                          signed: bool = False, weight: int | None = None) -> bytes:
        """As :meth:`request`, the answer's bytes undecoded (a depth snapshot handed on as a line)."""
        return await self.request(method, path, params, signed=signed, weight=weight, raw=True)  # type: ignore[no-any-return]

    async def _send(self, method: str, path: str, params: Mapping[str, Any], signed: bool, with_key: bool,
                    want_raw: bool = False) -> Any:
        items = [(k, v) for k, v in params.items() if v is not None]
        headers: dict[str, str] = {}
        if signed:
            if self.credentials is None:
                raise BinanceError(0, "signed endpoint needs credentials", 0, path)
            items += [("recvWindow", self.config.recv_window), ("timestamp", self.server_ms())]
        encoded = encode(items)
        in_body = method in ("POST", "PUT")
        query, body = ("", encoded) if in_body else (encoded, "")
        if signed:
            assert self.credentials is not None
            query, body = signed_payload(self.credentials.secret, query, body)
        if with_key and self.credentials is not None:
            headers["X-MBX-APIKEY"] = self.credentials.api_key
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, rh, raw = await self.exchange(method, self.config.rest_url + path + (f"?{query}" if query else ""),
                                              body, headers, path)
        self._observe(rh)
        doc = decode_json(raw)
        code = int(doc.get("code", 0)) if isinstance(doc, dict) and isinstance(doc.get("code"), int) else 0
        msg = str(doc.get("msg", "")) if isinstance(doc, dict) else ""
        if status in (429, 418):
            retry = retry_after_s(rh.get("retry-after"))
            self.block_for(retry)
            self.stats["http_429" if status == 429 else "http_418"] += 1
            log.warning("binance %s %s: HTTP %d, blocking every request for %.1fs", method, path, status, retry)
            raise RateLimited(code, msg or f"HTTP {status}", status, path, retry)
        if status >= 500:
            if code == -1008:
                raise BinanceError(code, msg, status, path)
            self.stats["unknown"] += 1
            raise OutcomeUnknown(f"HTTP {status}" + (f", code {code}: {msg}" if code else ""), path)
        if code == -1007:
            self.stats["unknown"] += 1
            raise OutcomeUnknown(f"code -1007: {msg}", path)
        if status >= 400 or code < 0:
            raise BinanceError(code, msg or raw[:200].decode(errors="replace"), status, path)
        return raw if want_raw else doc

