"""OKX v5's REST API over aiohttp: signing, server time, 2-second rate budgets and typed errors.

- **Signing** (:func:`.auth.signed_payload`): a GET signs its path with the query string, a POST
  its compact JSON body; the very strings signed are sent (the URL is handed to aiohttp encoded).
- **Server time**: ``offset_ms`` is the median of a few samples of ``ts - (t0 + t1) / 2`` from
  ``GET /api/v5/public/time``, measured at start and again on a 50102 (timestamp expired) or 50112,
  after which the request is signed anew and sent once more; a second one in a row is raised.
- **Budgets**: OKX counts requests in fixed 2-second windows, per endpoint (the trade endpoints
  also per instrument): :data:`LIMITS` (requests per 2 s) on :class:`..common.http.Budget`, shared
  by every client of the host; a request that would pass :attr:`OkxHttp.headroom` of its budget
  waits for the next window instead of being sent.
- **50011** (HTTP 429, "rate limit reached"): the request was refused, not executed. Every request
  of the host waits for the next 2 s window (or the ``Retry-After`` the server gives), then the
  request is sent again, at most :attr:`OkxHttp.max_429_retries` times; then
  :class:`RateLimited` is raised.
- **Outcome unknown**: a 5xx, 50004 ("endpoint request timeout, does not mean the request
  failed"), a timeout or a dropped connection raise :class:`OutcomeUnknown`: the request may have
  been executed; the caller asks for the order by ``clOrdId``, never sends it again.
- **Errors**: an answer with ``code`` other than "0" is :class:`OkxError` (``code`` as an int,
  ``msg``, HTTP status, path, and the code's meaning from :data:`ERRORS` when known). The order
  endpoints answer per order: :meth:`OkxHttp.order_call` returns the one order's row or raises
  :class:`OrderError` carrying its ``sCode``/``sMsg``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..common import http as _common
from ..common.auth import encode_query
from ..common.execution import Withdrawn
from ..common.http import NO_GATE, Budget, RestClient, VenueError, decode_json, retry_after_s
from .auth import Credentials, signed_payload, timestamp_iso
from .config import OkxConfig

__all__ = ["OkxHttp", "OkxError", "OrderError", "RateLimited", "OutcomeUnknown", "Withdrawn", "LIMITS", "ERRORS",
           "WINDOW_S"]

log = logging.getLogger(__name__)

#: OKX's rate-limit window (s).
WINDOW_S = 2
#: Requests per 2 s window by endpoint (OKX v5 docs, each endpoint's "Rate Limit"); others: 10.
LIMITS: dict[str, int] = {
    "/api/v5/trade/order": 60, "/api/v5/trade/batch-orders": 300, "/api/v5/trade/cancel-order": 60,
    "/api/v5/trade/amend-order": 60, "/api/v5/trade/orders-pending": 60, "/api/v5/trade/orders-history": 40,
    "/api/v5/trade/fills": 60, "/api/v5/account/balance": 10, "/api/v5/account/positions": 10,
    "/api/v5/public/time": 10, "/api/v5/public/instruments": 20,
}
#: The trade endpoints whose limit is per instrument (the instId is part of the budget's key).
PER_INSTRUMENT = frozenset({"/api/v5/trade/order", "/api/v5/trade/cancel-order", "/api/v5/trade/amend-order"})
#: OKX v5 error codes the adapter meets, with their meaning (OKX docs, "Error Code").
ERRORS: dict[int, str] = {
    1: "every operation of the request failed (see sCode)", 2: "the request partially succeeded (see sCode)",
    50001: "service temporarily unavailable", 50004: "endpoint request timeout (outcome unknown)",
    50011: "rate limit reached", 50013: "system busy", 50102: "timestamp expired",
    50103: "OK-ACCESS-KEY header missing", 50104: "OK-ACCESS-PASSPHRASE header missing",
    50105: "wrong passphrase", 50106: "OK-ACCESS-SIGN header missing", 50107: "OK-ACCESS-TIMESTAMP header missing",
    50111: "unknown API key", 50112: "bad timestamp", 50113: "bad signature", 51000: "parameter error",
    51001: "instrument does not exist", 51008: "insufficient balance or margin", 51016: "duplicate clOrdId",
    51169: "no position to reduce", 51400: "cancel failed: the order is not open",
    51503: "amend failed: the order is not open", 51603: "order does not exist",
}
_UNKNOWN_CODES = frozenset({50004})
_RESYNC_CODES = frozenset({50102, 50112})


def _meaning(code: int) -> str:
    m = ERRORS.get(code)
    return f" [{m}]" if m else ""


class OkxError(VenueError):
    """An OKX answer with an error ``code`` (an int; ``msg`` its text, ``status`` the HTTP status).
    Built from the answer only: no key, secret, passphrase or signature inside."""

    venue = "okx"

    def __init__(self, code: int, msg: str, status: int, path: str = "") -> None:
        super().__init__(code, msg + _meaning(code), status, path)


class OrderError(OkxError):
    """One order's failure inside an order endpoint's ``data`` (``sCode``/``sMsg``), e.g. 51008
    insufficient balance, 51016 duplicate ``clOrdId``, 51400 cancel of an order not open."""


class RateLimited(OkxError, _common.RateLimited):
    """50011 that stayed 50011 after the retries; ``retry_after_s`` the wait that was asked."""

    def __init__(self, code: int, msg: str, status: int, path: str = "", retry_after_s: float = 0.0) -> None:
        OkxError.__init__(self, code, msg, status, path)
        self.retry_after_s = retry_after_s


class OutcomeUnknown(_common.OutcomeUnknown):
    """The request may or may not have been executed (5xx, 50004, timeout, dropped connection): ask
    OKX, never send it again."""

    venue = "okx"


def _window_end(server_s: float) -> float:
    return (int(server_s // WINDOW_S) + 1) * WINDOW_S - server_s + 0.02


class OkxHttp(RestClient[OkxConfig, Credentials]):
    """REST client of OKX v5 (see the module docs; the session, server-time offset, waits and
    transport are :class:`~..common.http.RestClient`'s)."""

    venue = "okx"
    outcome_unknown = OutcomeUnknown
    withdrawn_error = Withdrawn
    #: Times a 50011'd request is sent again after the wait.
    max_429_retries = 3

    stat_names = ("resigned", "rate_limited")

    def __repr__(self) -> str:
        return f"OkxHttp({self.config.rest_url!r}, credentials={self.credentials!r})"

    async def server_time_ms(self) -> float:
        data = await self.request("GET", "/api/v5/public/time", priority=True)
        try:
            return int(data[0]["ts"])
        except (LookupError, TypeError, ValueError):
            raise OkxError(0, f"public/time answered no ts: {str(data)[:120]}", 200, "/api/v5/public/time") from None

    # ---- limits ---------------------------------------------------------------------------------

    def budget(self, path: str, inst_id: str = "") -> Budget:
        """The 2 s budget of ``path`` (and ``inst_id`` for the per-instrument trade endpoints),
        shared by every client of the host."""
        key = f"{path}|{inst_id}" if path in PER_INSTRUMENT else path
        found = self._host.budgets.get(key)
        if not found:
            found = self._host.budgets[key] = [Budget(key, WINDOW_S, LIMITS.get(path, 10), "")]
        return found[0]

    async def _reserve(self, budget: Budget, withdrawn: Callable[[], bool] | None) -> None:
        await self.reserve([(budget, 1)], withdrawn)

    # ---- requests -------------------------------------------------------------------------------

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None, *,
                      signed: bool = False, priority: bool = False,
                      withdrawn: Callable[[], bool] | None = None, envelope: bool = False) -> Any:
        """Send one request; return the answer's ``data`` (``envelope``: the whole answer, for the
        order endpoints' per-order results). ``priority``: not queued behind other requests in
        flight (the budgets and a 50011's wait still hold). ``withdrawn``: asked during the waits;
        True gives the request up unsent (:class:`Withdrawn`). See the module docs for the rest."""
        method = method.upper()
        if method not in ("GET", "POST"):
            raise OkxError(0, f"method {method!r}: OKX v5 takes GET or POST", 0, path)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        budget = self.budget(path, str(clean.get("instId", "")))
        tries_429 = 0
        resigned = False
        while True:
            async with (NO_GATE if priority else self._host.gate(self.max_in_flight)):
                await self._reserve(budget, withdrawn)
                if withdrawn is not None and withdrawn():
                    raise Withdrawn()
                try:
                    doc = await self._send(method, path, clean, signed)
                except RateLimited as e:
                    if tries_429 < self.max_429_retries:
                        tries_429 += 1
                        continue
                    raise e from None
                except OkxError as e:
                    if e.code in _RESYNC_CODES and signed and not resigned:
                        resigned = True
                        self.stats["resigned"] += 1
                    else:
                        raise
                else:
                    return doc if envelope else doc.get("data", [])
            await self.sync_time()  # outside the gate: its own requests take their turn

    async def _send(self, method: str, path: str, params: dict[str, Any], signed: bool) -> dict[str, Any]:
        headers: dict[str, str]
        if signed:
            if self.credentials is None:
                raise OkxError(0, "a private endpoint needs credentials", 0, path)
            if method == "GET":
                full, body, headers = signed_payload(self.credentials, method, path, query=params or None,
                                                     timestamp_ms=self.server_ms())
            else:
                full, body, headers = signed_payload(self.credentials, method, path, body=params,
                                                     timestamp_ms=self.server_ms())
        else:
            q = encode_query(params) if method == "GET" else ""
            full = f"{path}?{q}" if q else path
            body = "" if method == "GET" else msgspec.json.encode(params).decode()
            headers = {"Content-Type": "application/json"}
        if self.config.demo:
            headers["x-simulated-trading"] = "1"
        status, rh, raw = await self.exchange(method, self.config.rest_url + full, body, headers, path)
        doc = decode_json(raw)
        code_text = str(doc.get("code", "")) if isinstance(doc, dict) else ""
        code = int(code_text) if code_text.lstrip("-").isdigit() else 0
        msg = str(doc.get("msg", "")) if isinstance(doc, dict) else ""
        if status == 429 or code == 50011:
            retry = retry_after_s(rh.get("retry-after"), default=_window_end(self.server_ms() / 1000))
            self.block_for(retry)
            self.stats["rate_limited"] += 1
            log.warning("okx %s %s: 50011 rate limit, every request waits %.2fs", method, path, retry)
            raise RateLimited(code or 50011, msg or f"HTTP {status}", status, path, retry)
        if status >= 500 or code in _UNKNOWN_CODES:
            self.stats["unknown"] += 1
            raise OutcomeUnknown(f"HTTP {status}" + (f", code {code}: {msg}" if code else ""), path)
        if not isinstance(doc, dict):
            raise OkxError(0, f"not an OKX answer: {raw[:120].decode(errors='replace')!r}", status, path)
        if code in (1, 2) and isinstance(doc.get("data"), list) and doc["data"]:
            return doc  # per-order results: the caller reads sCode
        if code != 0 or status >= 400:
            raise OkxError(code, msg, status, path)
        return doc

    async def order_call(self, path: str, body: Mapping[str, Any], *, priority: bool = False,
                         withdrawn: Callable[[], bool] | None = None) -> dict[str, Any]:
        """POST one order operation (place, cancel, amend) and return its row of ``data``; a row
        with ``sCode`` other than "0" raises :class:`OrderError` with that code and ``sMsg``."""
        doc = await self.request("POST", path, body, signed=True, priority=priority, withdrawn=withdrawn,
                                 envelope=True)
        data = doc.get("data")
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            raise OkxError(0, f"expected one result row, got {str(data)[:120]}", 200, path)
        row: dict[str, Any] = data[0]
        s_code = str(row.get("sCode", "0"))
        if s_code != "0":
            raise OrderError(int(s_code) if s_code.isdigit() else 0, str(row.get("sMsg", "")), 200, path)
        return row

    def login_timestamp_s(self) -> int:
        """The server's clock in seconds (the WebSocket login's timestamp)."""
        return self.server_ms() // 1000

    def timestamp_iso(self) -> str:
        """The server's clock as OKX's REST timestamp."""
        return timestamp_iso(self.server_ms())
