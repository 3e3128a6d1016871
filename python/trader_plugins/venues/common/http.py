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
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from trader.exceptions import TraderError

__all__ = ["VenueError", "RateLimited", "OutcomeUnknown", "Budget", "HostState", "host_state", "NO_GATE",
           "retry_after_s"]


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
        if self.used + units <= self.limit * headroom:
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
