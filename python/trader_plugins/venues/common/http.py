"""What every venue's REST client shares: the typed errors (a venue's answer with an error code, a
rate limit that held, an outcome that is unknown), rate budgets counted per window, and the state
of one host that every client of the process shares (a Retry-After block, the budgets, the bound
on requests in flight).

- :class:`VenueError`: the venue answered with an error (``code``, ``msg``, HTTP ``status``,
  ``path``); built from the answer only: no key, secret or signature inside. A venue subclasses it
  and names itself in :attr:`VenueError.venue`.
- :class:`RateLimited`: a rate limit that stayed one after the waits and retries the client allows
  (``retry_after_s`` as the server said).
- :class:`OutcomeUnknown`: the request may or may not have been executed (a 5xx, a timeout, a
  dropped connection): the caller asks the venue (by client order id), never sends it again.
- :class:`Budget`: ``limit`` units per window of ``interval_s`` seconds (of the server's clock),
  corrected by the response header that reports the units used.
- :class:`HostState` / :func:`host_state`: a ban or a Retry-After is the IP's, limits are counted
  per IP: every client of the process that talks to one host (a data client's snapshots, an
  execution client's orders) waits them out together and shares the budgets.
- :class:`RestClient`: the REST client's plumbing every venue repeats: the aiohttp session (its own
  or one given), the server-time offset measured as the median of a few round trips, the wait for
  a host's block and the budgets before a request leaves (withdrawable), and one exchange of bytes
  whose transport failure is an unknown outcome. A venue's client subclasses it with its paths,
  headers, signing, error codes and retry rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
import msgspec
import yarl

from trader.exceptions import TraderError

__all__ = ["VenueError", "RateLimited", "OutcomeUnknown", "Budget", "HostState", "host_state", "NO_GATE",
           "retry_after_s", "RestClient", "decode_json"]

log = logging.getLogger(__name__)


class RestConfig(Protocol):
    """What :class:`RestClient` reads of a venue's config."""

    @property
    def rest_url(self) -> str: ...

    @property
    def request_timeout_s(self) -> float: ...


ConfigT = TypeVar("ConfigT", bound=RestConfig)
CredentialsT = TypeVar("CredentialsT")


class VenueError(TraderError):
    """An answer of the venue's with an error code (see the module docs)."""

    #: The venue's name, first in the message.
    venue = "venue"

    def __init__(self, code: int, msg: str, status: int, path: str = "") -> None:
        self.code, self.msg, self.status, self.path = code, msg, status, path
        super().__init__(f"{self.venue} {path}: HTTP {status}, code {code}: {msg}")


class RateLimited(VenueError):
    """A rate limit that held (a 429 that stayed a 429, a ban); ``retry_after_s`` as the server
    said."""

    def __init__(self, code: int, msg: str, status: int, path: str = "", retry_after_s: float = 0.0) -> None:
        super().__init__(code, msg, status, path)
        self.retry_after_s = retry_after_s


class OutcomeUnknown(TraderError):
    """The request may or may not have been executed (5xx, timeout, dropped connection): ask the
    venue, never send it again."""

    #: The venue's name, first in the message.
    venue = "venue"

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason, self.path = reason, path
        super().__init__(f"{self.venue} {path}: outcome unknown: {reason}")


class Budget:
    """One rate limit: ``limit`` units per window of ``interval_s`` seconds of server time,
    ``header`` the response header reporting the units used (lowercase)."""

    __slots__ = ("kind", "interval_s", "limit", "header", "used", "window")

    def __init__(self, kind: str, interval_s: int, limit: int, header: str) -> None:
        self.kind, self.interval_s, self.limit, self.header = kind, interval_s, limit, header
        self.used = 0
        self.window = -1

    def roll(self, server_s: float) -> None:
        w = int(server_s // self.interval_s)
        if w != self.window:
            self.window, self.used = w, 0

    def wait_s(self, server_s: float, units: int, headroom: float) -> float:
        """Seconds to wait before ``units`` more fit (0: now)."""
        self.roll(server_s)
        # a request bigger than the headroom still goes alone in a fresh window (else never)
        if self.used + units <= max(self.limit * headroom, units):
            return 0.0
        return (self.window + 1) * self.interval_s - server_s + 0.05

    def observe(self, server_s: float, value: str | None) -> None:
        """The server's count of units used (the :attr:`header`'s value): the header counts what
        the server had seen, requests still in flight are not in it yet, so it only ever raises
        the count."""
        if value is not None and value.isdigit():
            self.roll(server_s)
            self.used = max(self.used, int(value))

    def __repr__(self) -> str:
        return f"Budget({self.kind}, {self.used}/{self.limit} per {self.interval_s}s)"


class HostState:
    """What the clients of one host share: the Retry-After block (wall seconds), the budgets (by
    API, e.g. a URL prefix) and the bound on requests in flight."""

    __slots__ = ("blocked_until", "budgets", "gates")

    def __init__(self) -> None:
        self.blocked_until = 0.0
        self.budgets: dict[str, list[Budget]] = {}
        self.gates: dict[int, asyncio.Semaphore] = {}

    def gate(self, limit: int) -> asyncio.Semaphore:
        """The bound on requests in flight to the host from the running loop."""
        loop = asyncio.get_running_loop()
        g = self.gates.get(id(loop))
        if g is None:
            g = self.gates[id(loop)] = asyncio.Semaphore(limit)
        return g


#: The gate of a priority request: none.
NO_GATE: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()

#: (host, clock key) -> its shared state (a test's fake clock gets a state of its own).
_HOSTS: dict[tuple[str, int], HostState] = {}


def host_state(netloc: str, clock_key: int) -> HostState:
    """The state shared by every client of ``netloc`` on the clock ``clock_key`` (``id`` of the
    client's time function: clients on a test's fake clock share nothing with real ones)."""
    return _HOSTS.setdefault((netloc, clock_key), HostState())


def retry_after_s(value: str | None, default: float = 1.0) -> float:
    """A ``Retry-After`` header in seconds (absent or not a number: ``default``; never negative)."""
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


class RestClient(Generic[ConfigT, CredentialsT]):
    """The plumbing of a venue's REST client (see the module docs). A subclass names its venue
    (:attr:`venue`), its :attr:`outcome_unknown` and :attr:`withdrawn_error` classes, its stats
    (:attr:`stat_names`) and the stat its block waits count under, sets up its own state in
    :meth:`setup`, and implements :meth:`server_time_ms` (one request of the venue's time endpoint).

    :param config: the venue's config (``rest_url``, ``request_timeout_s``).
    :param credentials: for signed endpoints (None: public endpoints only).
    :param session: an aiohttp session to use (None: one of its own, closed by :meth:`close`).
    :param time_fn: the wall clock in seconds (tests move it to skew the clock).
    :param sleep: the coroutine that waits (tests pass a fake clock's).
    """

    #: The venue's name (logs).
    venue: ClassVar[str] = "venue"
    #: Raised when the transport fails (the request may have been executed).
    outcome_unknown: ClassVar[type[OutcomeUnknown]] = OutcomeUnknown
    #: Raised when a request's ``withdrawn`` check says so while it waits: never sent.
    withdrawn_error: ClassVar[type[Exception]]
    #: The stat counting the waits for a host's block (a Retry-After, a rate-limit reset).
    blocked_stat: ClassVar[str] = "retry_after_waits"
    #: Fraction of a limit the client allows itself.
    headroom = 0.9
    #: Requests in flight to one host at most (the others wait their turn): a rate limit or a ban
    #: then meets a handful of requests already on their way, not a herd.
    max_in_flight = 16
    #: Server-time samples per measurement.
    time_samples = 3
    #: The venue's own counters in :attr:`stats` (besides requests, time_syncs, budget_waits,
    #: unknown and :attr:`blocked_stat`).
    stat_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ConfigT, credentials: CredentialsT | None = None, *,
                 session: aiohttp.ClientSession | None = None,
                 time_fn: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.config = config
        self.credentials = credentials
        self._session = session
        self._own_session = session is None
        self.time_fn = time_fn
        self.sleep = sleep
        self.offset_ms = 0
        # A ban or a Retry-After is the IP's: every client of this process that talks to the same
        # host (the data client's snapshots, the execution client's orders) waits it out together.
        self._host = host_state(urllib.parse.urlsplit(config.rest_url).netloc, id(time_fn))
        self.stats: dict[str, int] = dict.fromkeys(("requests", "time_syncs", "budget_waits", self.blocked_stat,
                                                    *self.stat_names, "unknown"), 0)
        self.setup()

    def setup(self) -> None:
        """The venue's own state (called last by ``__init__``; nothing here)."""

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

    @property
    def log_name(self) -> str:
        """How the logs name this client (the venue, and e.g. its market)."""
        return self.venue

    # ---- time -----------------------------------------------------------------------------------

    def server_ms(self) -> int:
        """The server's clock now, as this client estimates it (ms)."""
        return int(self.time_fn() * 1000) + self.offset_ms

    async def server_time_ms(self) -> float:
        """The server's clock (ms) as the venue's time endpoint answers it (one request)."""
        raise NotImplementedError(f"{type(self).__name__} names no time endpoint")

    async def sync_time(self) -> int:
        """Measure :attr:`offset_ms` again: ``server - (t0 + t1) / 2`` over :attr:`time_samples`
        round trips, the median of those whose round trip was short (a sample that waited, for a
        Retry-After or a slow answer, is not a measurement)."""
        samples: list[tuple[float, float]] = []  # (offset, round trip)
        for _ in range(self.time_samples):
            t0 = self.time_fn() * 1000
            server = await self.server_time_ms()
            t1 = self.time_fn() * 1000
            samples.append((server - (t0 + t1) / 2, t1 - t0))
        best = min(rtt for _, rtt in samples)
        self.offset_ms = int(round(statistics.median(o for o, rtt in samples if rtt <= 2 * best + 5)))
        self.stats["time_syncs"] = self.stats.get("time_syncs", 0) + 1
        log.info("%s: server time offset %d ms", self.log_name, self.offset_ms)
        return self.offset_ms

    # ---- limits ---------------------------------------------------------------------------------

    @property
    def _blocked_until(self) -> float:
        """Wall seconds until which no request to the host may leave (a Retry-After, a reset)."""
        return self._host.blocked_until

    @_blocked_until.setter
    def _blocked_until(self, value: float) -> None:
        self._host.blocked_until = value

    def block_for(self, seconds: float) -> None:
        """No request to the host leaves for ``seconds`` (a later block already set stays)."""
        self._blocked_until = max(self._blocked_until, self.time_fn() + seconds)

    async def reserve(self, charges: Sequence[tuple[Budget, int]], withdrawn: Callable[[], bool] | None = None) -> None:
        """Wait until no block of the host holds and every ``(budget, units)`` of ``charges`` fits
        (within :attr:`headroom`), then count them. ``withdrawn`` is asked at least every quarter
        second of the wait (True: :attr:`withdrawn_error`, nothing counted)."""
        waited = False
        while True:
            if withdrawn is not None and withdrawn():
                raise self.withdrawn_error()
            now = self.time_fn()
            if self._blocked_until > now:
                self.stats[self.blocked_stat] = self.stats.get(self.blocked_stat, 0) + 1
                left = self._blocked_until - now
                await self.sleep(left if withdrawn is None else min(0.25, left))
                continue
            server_s = self.server_ms() / 1000
            wait = max((b.wait_s(server_s, units, self.headroom) for b, units in charges if units), default=0.0)
            if wait <= 0:
                break
            if not waited:  # once a wait (a withdrawable one wakes every quarter second)
                waited = True
                self.stats["budget_waits"] = self.stats.get("budget_waits", 0) + 1
                log.warning("%s: budget nearly used (%s): waiting %.2fs", self.log_name,
                            ", ".join(repr(b) for b, _ in charges), wait)
            await self.sleep(wait if withdrawn is None else min(0.25, wait))
        for b, units in charges:
            b.used += units

    # ---- one exchange ---------------------------------------------------------------------------

    async def exchange(self, method: str, url: str, body: str, headers: Mapping[str, str],
                       path: str) -> tuple[int, dict[str, str], bytes]:
        """Send one request (``url`` already encoded: nothing re-quotes what was signed) and return
        its status, headers (lower-cased names) and body.

        :raise OutcomeUnknown: (:attr:`outcome_unknown`) a timeout or a dropped connection."""
        self.stats["requests"] = self.stats.get("requests", 0) + 1
        try:
            async with self.session.request(method, yarl.URL(url, encoded=True),
                                            data=body.encode() if body else None, headers=dict(headers)) as resp:
                raw = await resp.read()
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw
        except (asyncio.TimeoutError, aiohttp.ClientError) as e:
            self.stats["unknown"] = self.stats.get("unknown", 0) + 1
            raise self.outcome_unknown(f"{type(e).__name__} on {method}", path) from None

    def fresh(self) -> Any:
        """A new client of the same config, credentials and clock, on the same host state and clock
        offset (for another event loop: the session is the loop's)."""
        h = type(self)(self.config, self.credentials, time_fn=self.time_fn)
        h.offset_ms = self.offset_ms
        return h


def decode_json(raw: bytes) -> Any:
    """An answer's body as JSON (empty or not JSON: None)."""
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
