"""Bybit v5's REST API over aiohttp: signing, server time, rate limits and typed errors.

- **Signing** (:func:`.auth.signed_payload`): a GET signs its query string, a POST its compact JSON
  body, byte for byte as sent; ``X-BAPI-RECV-WINDOW`` is the config's ``recv_window``.
- **Server time**: ``offset_ms`` is the median over a few samples of ``timeNano / 1e6 - (t0 + t1)
  / 2`` from ``GET /v5/market/time``, measured at start and again on a 10002 (timestamp outside
  the receive window), after which the request is signed anew and sent once more; a second 10002
  in a row is raised.
- **Rate limits**: Bybit counts per account and endpoint in one-second windows and reports it on
  every private answer: ``X-Bapi-Limit`` (the limit), ``X-Bapi-Limit-Status`` (what is left) and
  ``X-Bapi-Limit-Reset-Timestamp`` (ms). One :class:`~..common.http.Budget` per endpoint, its limit
  and use taken from those headers; a request that would pass :attr:`BybitHttp.headroom` of it
  waits for the next window. Over the limit Bybit answers retCode 10006 (HTTP 200, or 403 for the
  IP limit): the request was refused, not executed; every request to the host waits until the
  reset time (or a second), then it is sent again, :attr:`BybitHttp.max_10006_retries` times at
  most, then :class:`RateLimited` is raised.
- **Errors**: retCode != 0 becomes :class:`BybitError` (``code``, ``msg``); a 5xx, retCode 10000
  (server timeout) or 10016 (server error), a timeout or a dropped connection become
  :class:`OutcomeUnknown`: the request may have been executed — the caller asks (by
  ``orderLinkId``), never sends it again. A POST whose withdrawn check says so while it waits for
  the limits raises :class:`~..common.execution.Withdrawn`, unsent.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import msgspec
import yarl

from trader.exceptions import InvalidInputError

from ..common import http as _common
from ..common.auth import encode_query
from ..common.execution import Withdrawn
from ..common.http import NO_GATE, Budget, VenueError, host_state
from .auth import Credentials, signed_payload
from .config import BybitConfig

__all__ = ["BybitHttp", "BybitError", "RateLimited", "OutcomeUnknown", "Withdrawn", "UNKNOWN_CODES",
           "ORDER_PATHS"]

log = logging.getLogger(__name__)

#: retCodes that leave the outcome unknown (server timeout, server error).
UNKNOWN_CODES = frozenset({10000, 10016})
#: Endpoints that place or change orders (Bybit's default: 10 a second per account).
ORDER_PATHS = frozenset({"/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all"})
#: Limits assumed before an answer's headers tell (per second).
DEFAULT_LIMITS = {"order": 10, "query": 50}


class BybitError(VenueError):
    """An answer of Bybit's with a non-zero retCode (``code``, ``msg`` its retMsg, ``status`` the
    HTTP status). Built from the answer only: no key, secret or signature inside."""

    venue = "bybit"


class RateLimited(BybitError, _common.RateLimited):
    """A 10006 that stayed a 10006 after the waits; ``retry_after_s`` until the window resets."""


class OutcomeUnknown(_common.OutcomeUnknown):
    """The request may or may not have been executed (5xx, 10000, 10016, timeout, dropped
    connection): ask the venue, never send it again."""

    venue = "bybit"


class BybitHttp:
    """REST client of one Bybit account (see the module docs).

    :param config: base URL, ``recv_window`` and request timeout.
    :param credentials: for private endpoints (None: public ones only).
    :param session: an aiohttp session to use (None: one of its own, closed by :meth:`close`).
    :param time_fn: the wall clock in seconds (tests move it to skew the clock).
    :param sleep: the coroutine that waits (tests pass a fake clock's).
    """

    #: Fraction of a limit the client allows itself.
    headroom = 0.9
    #: Times a request answered 10006 is sent again after the window resets.
    max_10006_retries = 5
    #: Requests in flight to one host at most.
    max_in_flight = 16
    #: Server-time samples per measurement.
    time_samples = 3

    def __init__(self, config: BybitConfig, credentials: Credentials | None = None, *,
                 session: aiohttp.ClientSession | None = None, time_fn: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if credentials is not None and not isinstance(credentials, Credentials):
            raise InvalidInputError("bybit: credentials must be a Credentials (from_env or from_file)")
        self.config = config
        self.credentials = credentials
        self._session = session
        self._own_session = session is None
        self.time_fn = time_fn
        self.sleep = sleep
        self.offset_ms = 0
        self._host = host_state(urllib.parse.urlsplit(config.rest_url).netloc, id(time_fn))
        self._key = f"bybit:{credentials.api_key if credentials else ''}"
        self.stats: dict[str, int] = {"requests": 0, "time_syncs": 0, "resigned_10002": 0, "budget_waits": 0,
                                      "rate_limit_waits": 0, "rate_limited_10006": 0, "unknown": 0}

    # ---- lifecycle ------------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.request_timeout_s))
            self._own_session = True
        return self._session

    async def start(self) -> None:
        """Measure the server-time offset."""
        await self.sync_time()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def fresh(self) -> BybitHttp:
        """A new client on the same host state and clock offset (for another event loop)."""
        h = BybitHttp(self.config, self.credentials, time_fn=self.time_fn)
        h.offset_ms = self.offset_ms
        return h

    # ---- time -----------------------------------------------------------------------------------

    def server_ms(self) -> int:
        """The server's clock now, as this client estimates it (ms)."""
        return int(self.time_fn() * 1000) + self.offset_ms

    async def sync_time(self) -> int:
        """Measure :attr:`offset_ms` again (median of :attr:`time_samples` round trips)."""
        samples: list[tuple[float, float]] = []
        for _ in range(self.time_samples):
            t0 = self.time_fn() * 1000
            doc = await self.request("GET", "/v5/market/time")
            t1 = self.time_fn() * 1000
            server = int(doc["timeNano"]) / 1e6 if doc.get("timeNano") else int(doc["timeSecond"]) * 1000
            samples.append((server - (t0 + t1) / 2, t1 - t0))
        best = min(rtt for _, rtt in samples)
        self.offset_ms = int(round(statistics.median(o for o, rtt in samples if rtt <= 2 * best + 5)))
        self.stats["time_syncs"] += 1
        log.info("bybit: server time offset %d ms", self.offset_ms)
        return self.offset_ms

    # ---- limits ---------------------------------------------------------------------------------

    def budget(self, path: str) -> Budget:
        """The budget of ``path`` for this account (shared by every client of the host)."""
        budgets = self._host.budgets.setdefault(f"{self._key}{path}", [])
        if not budgets:
            limit = DEFAULT_LIMITS["order" if path in ORDER_PATHS else "query"]
            budgets.append(Budget(path, 1, limit, "x-bapi-limit-status"))
        return budgets[0]

    @property
    def _blocked_until(self) -> float:
        return self._host.blocked_until

    @_blocked_until.setter
    def _blocked_until(self, value: float) -> None:
        self._host.blocked_until = value

    async def _reserve(self, path: str, withdrawn: Callable[[], bool] | None) -> None:
        """Wait until no 10006 block holds and one more request of ``path`` fits its budget, then
        count it; ``withdrawn`` is asked at least every quarter second of the wait."""
        b = self.budget(path) if self.credentials is not None else None
        waited = False
        while True:
            if withdrawn is not None and withdrawn():
                raise Withdrawn()
            now = self.time_fn()
            if self._blocked_until > now:
                self.stats["rate_limit_waits"] += 1
                await self.sleep(min(0.25, self._blocked_until - now) if withdrawn else self._blocked_until - now)
                continue
            wait = b.wait_s(self.server_ms() / 1000, 1, self.headroom) if b is not None else 0.0
            if wait <= 0:
                break
            if not waited:
                waited = True
                self.stats["budget_waits"] += 1
                log.info("bybit: %r nearly used: waiting %.2fs", b, wait)
            await self.sleep(min(0.25, wait) if withdrawn else wait)
        if b is not None:
            b.used += 1

    def _observe(self, path: str, headers: Mapping[str, str]) -> None:
        limit, left = headers.get("x-bapi-limit"), headers.get("x-bapi-limit-status")
        if limit is None or left is None or not limit.isdigit() or not left.isdigit():
            return
        b = self.budget(path)
        b.limit = int(limit)
        b.observe(self.server_ms() / 1000, str(max(0, int(limit) - int(left))))

    # ---- requests -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
                      signed: bool = False, priority: bool = False,
                      withdrawn: Callable[[], bool] | None = None) -> Any:
        """Send one request and return its ``result`` (see the module docs for what is retried and
        what is raised). ``priority``: not queued behind the requests in flight (a catch-up, a
        query of an order of unknown outcome); the 10006 blocks and the budgets hold all the same."""
        method = method.upper()
        if method not in ("GET", "POST"):
            raise InvalidInputError(f"bybit: method must be GET or POST, got {method!r}")
        resigned = False
        tries = 0
        while True:
            await self._reserve(path, withdrawn)
            async with (NO_GATE if priority else self._host.gate(self.max_in_flight)):
                if withdrawn is not None and withdrawn():
                    raise Withdrawn()
                try:
                    return await self._send(method, path, params or {}, signed)
                except RateLimited:
                    if tries < self.max_10006_retries:
                        tries += 1
                        continue  # the block makes _reserve wait for the reset
                    raise
                except BybitError as e:
                    if e.code == 10002 and signed and not resigned:
                        resigned = True
                        self.stats["resigned_10002"] += 1
                        await self.sync_time()
                        continue
                    raise

    async def _send(self, method: str, path: str, params: Mapping[str, Any], signed: bool) -> Any:
        items = {k: v for k, v in params.items() if v is not None}
        headers: dict[str, str] = {}
        if signed:
            if self.credentials is None:
                raise BybitError(0, "a private endpoint needs credentials", 0, path)
            query, body, headers = signed_payload(self.credentials, method,
                                                  query=items if method == "GET" else None,
                                                  body=items if method == "POST" else None,
                                                  timestamp_ms=self.server_ms(), recv_window=self.config.recv_window)
        else:
            query, body = (encode_query(items), "") if method == "GET" else ("", msgspec.json.encode(items).decode())
            if method == "POST":
                headers["Content-Type"] = "application/json"
        url = yarl.URL(self.config.rest_url + path + (f"?{query}" if query else ""), encoded=True)
        self.stats["requests"] += 1
        try:
            async with self.session.request(method, url, data=body.encode() if body else None,
                                            headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
                rh = {k.lower(): v for k, v in resp.headers.items()}
        except (asyncio.TimeoutError, aiohttp.ClientError) as e:
            self.stats["unknown"] += 1
            raise OutcomeUnknown(f"{type(e).__name__} on {method}", path) from None
        if signed:
            self._observe(path, rh)
        doc: Any = None
        try:
            doc = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            doc = None
        code = doc.get("retCode") if isinstance(doc, dict) else None
        msg = str(doc.get("retMsg", "")) if isinstance(doc, dict) else ""
        if code == 10006 or (status == 403 and code is None) or status == 429:
            reset = rh.get("x-bapi-limit-reset-timestamp", "")
            wait = 1.0
            if reset.isdigit():
                wait = min(5.0, max(0.05, (int(reset) - self.server_ms()) / 1000 + 0.02))
            self._blocked_until = max(self._blocked_until, self.time_fn() + wait)
            self.stats["rate_limited_10006"] += 1
            log.warning("bybit %s %s: rate limited (HTTP %d, 10006): every request waits %.2fs", method, path,
                        status, wait)
            raise RateLimited(10006, msg or f"HTTP {status}", status, path, wait)
        if status >= 500 or (isinstance(code, int) and code in UNKNOWN_CODES):
            self.stats["unknown"] += 1
            raise OutcomeUnknown(f"HTTP {status}" + (f", retCode {code}: {msg}" if code else ""), path)
        if not isinstance(doc, dict) or not isinstance(code, int):
            if status >= 400:
                raise BybitError(0, raw[:200].decode(errors="replace"), status, path)
            raise BybitError(0, "the answer is not Bybit's envelope {retCode, retMsg, result}", status, path)
        if code != 0 or status >= 400:
            raise BybitError(code, msg, status, path)
        return doc.get("result")
