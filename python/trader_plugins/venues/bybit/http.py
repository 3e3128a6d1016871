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

import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common import http as _common
from ..common.auth import encode_query
from ..common.execution import Withdrawn
from ..common.http import NO_GATE, Budget, RestClient, VenueError, decode_json
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


class BybitHttp(RestClient[BybitConfig, Credentials]):
    """REST client of one Bybit account (see the module docs; the session, server-time offset,
    waits and transport are :class:`~..common.http.RestClient`'s)."""

    venue = "bybit"
    outcome_unknown = OutcomeUnknown
    withdrawn_error = Withdrawn
    blocked_stat = "rate_limit_waits"
    #: Times a request answered 10006 is sent again after the window resets.
    max_10006_retries = 5

    stat_names = ("resigned_10002", "rate_limited_10006")

    def setup(self) -> None:
        if self.credentials is not None and not isinstance(self.credentials, Credentials):
            raise InvalidInputError("bybit: credentials must be a Credentials (from_env or from_file)")
        self._key = f"bybit:{self.credentials.api_key if self.credentials else ''}"

    async def server_time_ms(self) -> float:
        doc = await self.request("GET", "/v5/market/time")
        return int(doc["timeNano"]) / 1e6 if doc.get("timeNano") else int(doc["timeSecond"]) * 1000

    # ---- limits ---------------------------------------------------------------------------------

    def budget(self, path: str) -> Budget:
        """The budget of ``path`` for this account (shared by every client of the host)."""
        budgets = self._host.budgets.setdefault(f"{self._key}{path}", [])
        if not budgets:
            limit = DEFAULT_LIMITS["order" if path in ORDER_PATHS else "query"]
            budgets.append(Budget(path, 1, limit, "x-bapi-limit-status"))
        return budgets[0]

    async def _reserve(self, path: str, withdrawn: Callable[[], bool] | None) -> None:
        """Wait until no 10006 block holds and one more request of ``path`` fits its budget (a
        private one: public ones have none here), then count it."""
        await self.reserve([(self.budget(path), 1)] if self.credentials is not None else [], withdrawn)

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
            resync = False
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
                    if not (e.code == 10002 and signed and not resigned):
                        raise
                    resigned = resync = True
                    self.stats["resigned_10002"] += 1
            if resync:
                # outside the place in flight: the time request needs one of its own, and when a
                # clock step fails every request in flight at once, none may hold one while it waits
                await self.sync_time()

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
        status, rh, raw = await self.exchange(method, self.config.rest_url + path + (f"?{query}" if query else ""),
                                              body, headers, path)
        if signed:
            self._observe(path, rh)
        doc = decode_json(raw)
        code = doc.get("retCode") if isinstance(doc, dict) else None
        msg = str(doc.get("retMsg", "")) if isinstance(doc, dict) else ""
        if code == 10006 or (status == 403 and code is None) or status == 429:
            reset = rh.get("x-bapi-limit-reset-timestamp", "")
            wait = 1.0
            if reset.isdigit():
                wait = min(5.0, max(0.05, (int(reset) - self.server_ms()) / 1000 + 0.02))
            self.block_for(wait)
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
