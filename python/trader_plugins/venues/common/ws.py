"""A WebSocket connection that stays up, for every venue: reconnect with exponential backoff and
full jitter, stale-stream detection, server pings answered, a server's connection-age limit met by
reconnecting first.

Each attempt ``n`` (0-based, reset once a message arrives) waits ``uniform(0, min(max_s,
base_s * 2**n))`` (AWS's "full jitter"): many clients dropped together spread their reconnects
instead of coming back in lockstep. No message for ``stale_after_s`` seconds (pings do not count,
unless ``pings_alive``) closes the socket and reconnects (``stats["stale"]``). Server pings get
their pong at once. A venue that closes connections after some age (Binance: 24 h) sets
:attr:`WsConnection.max_age_s` (a subclass or the constructor): the connection is replaced before
that of its own accord (``stats["max_age"]``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Self

import aiohttp
import msgspec

from trader.exceptions import InvalidInputError

__all__ = ["Backoff", "WsConnection", "backoff_delay"]

log = logging.getLogger(__name__)


class Backoff(msgspec.Struct, frozen=True):
    """Reconnect delays: attempt ``n`` (0-based) waits ``uniform(0, min(max_s, base_s * 2**n))``
    seconds with ``jitter="full"`` (no two clients in lockstep), exactly that cap with ``"none"``."""

    base_s: float = 0.5
    max_s: float = 30.0
    jitter: Literal["full", "none"] = "full"


def backoff_delay(attempt: int, backoff: Backoff, rng: random.Random) -> float:
    """The wait before reconnect attempt ``attempt`` (0-based)."""
    cap = min(backoff.max_s, backoff.base_s * (2 ** min(attempt, 32)))
    return rng.uniform(0.0, cap) if backoff.jitter == "full" else cap


class WsConnection:
    """One supervised WebSocket (see the module docs).

    :param url: the URL, or a coroutine function returning it (called on each connect: a fresh
        listenKey, say).
    :param on_message: called with each text message and its receive time (ns); may be a
        coroutine function. An exception in it is logged and the connection is replaced.
    :param on_connect: coroutine function called with this object after each connect, before any
        message is read (subscribe here).
    :param on_disconnect: called (sync) after each connection ends, whatever the cause.
    :param stale_after_s: no message for this long -> reconnect.
    :param backoff: reconnect delays.
    :param rng: the jitter's random source (tests seed it).
    :param max_age_s: replace the connection after this long (None: the class's
        :attr:`max_age_s`).
    """

    #: Seconds after which the connection is replaced (the venue's limit less a margin); inf: never.
    max_age_s: float = math.inf

    def __init__(self, url: str | Callable[[], Awaitable[str]], on_message: Callable[[str, int], Any], *,
                 stale_after_s: float, backoff: Backoff = Backoff(), name: str = "ws", pings_alive: bool = False,
                 on_connect: Callable[[Self], Awaitable[Any]] | None = None,
                 on_disconnect: Callable[[], Any] | None = None, session: aiohttp.ClientSession | None = None,
                 rng: random.Random | None = None, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 max_age_s: float | None = None) -> None:
        self._url = url
        if max_age_s is not None:
            if not max_age_s > 0:
                raise InvalidInputError(f"{name}: max_age_s must be > 0, got {max_age_s}")
            self.max_age_s = max_age_s
        self.on_message = on_message
        self.on_connect: Callable[[Any], Awaitable[Any]] | None = on_connect
        self.on_disconnect = on_disconnect
        self.stale_after_s = stale_after_s
        #: A quiet stream that only pings is alive (a user-data stream: no order, no message).
        self.pings_alive = pings_alive
        self.backoff = backoff
        self.name = name
        self._session = session
        self._own_session = session is None
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.connected = asyncio.Event()
        self._closed = False
        self.stats: dict[str, int] = {"connects": 0, "reconnects": 0, "stale": 0, "errors": 0, "messages": 0,
                                      "pings": 0, "max_age": 0}
        #: Delays waited before reconnecting, in order (tests read them).
        self.delays: list[float] = []
        self._refused = False  # the venue refused this connection's login or subscription

    def refused(self) -> None:
        """The venue refused this connection (its login or subscription): it ends, and it does not
        count as a healthy one, so the next connect backs off instead of retrying at once."""
        self._refused = True

    async def _resolve_url(self) -> str:
        return self._url if isinstance(self._url, str) else await self._url()

    async def send_json(self, doc: Any) -> None:
        if self.ws is None or self.ws.closed:
            raise ConnectionError(f"{self.name}: not connected")
        await self.ws.send_json(doc)

    async def run(self) -> None:
        """Connect, read, reconnect, until :meth:`close`."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        attempt = 0
        try:
            while not self._closed:
                try:
                    url = await self._resolve_url()
                    async with self._session.ws_connect(url, autoping=False, max_msg_size=0, heartbeat=None) as ws:
                        self.ws = ws
                        self._refused = False
                        self.stats["connects"] += 1
                        if self.stats["connects"] > 1:
                            self.stats["reconnects"] += 1
                        if self.on_connect is not None:
                            await self.on_connect(self)
                        self.connected.set()
                        if await self._read(ws) and not self._refused:
                            attempt = 0
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ConnectionError) as e:
                    self.stats["errors"] += 1
                    log.warning("%s: connection failed or lost: %s", self.name, type(e).__name__)
                except Exception:  # a handler's bug: logged, the connection replaced (supervised)
                    self.stats["errors"] += 1
                    log.exception("%s: handler failed; reconnecting", self.name)
                finally:
                    self.ws = None
                    self.connected.clear()
                    if self.on_disconnect is not None:
                        try:
                            self.on_disconnect()
                        except Exception:
                            log.exception("%s: on_disconnect failed", self.name)
                if self._closed:
                    break
                delay = backoff_delay(attempt, self.backoff, self.rng)
                self.delays.append(delay)
                attempt += 1
                await self.sleep(delay)
        finally:
            if self._own_session and self._session is not None:
                await self._session.close()
                self._session = None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Read until the socket ends, goes stale or ages out; True if a message arrived."""
        opened = last = time.monotonic()
        got = False
        while not self._closed:
            now = time.monotonic()
            age_left = self.max_age_s - (now - opened)
            if age_left <= 0:
                self.stats["max_age"] += 1
                log.info("%s: replacing the connection before the server's age limit", self.name)
                break
            stale_left = self.stale_after_s - (now - last)
            if stale_left <= 0:
                self.stats["stale"] += 1
                log.warning("%s: no message for %.1fs: stale, reconnecting", self.name, self.stale_after_s)
                break
            try:
                msg = await ws.receive(timeout=min(stale_left, age_left))
            except asyncio.TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.TEXT:
                last = time.monotonic()
                got = True
                self.stats["messages"] += 1
                r = self.on_message(msg.data, time.time_ns())
                if asyncio.iscoroutine(r):
                    await r
            elif msg.type == aiohttp.WSMsgType.BINARY:
                last = time.monotonic()
                got = True
                self.stats["messages"] += 1
                r = self.on_message(msg.data.decode(), time.time_ns())
                if asyncio.iscoroutine(r):
                    await r
            elif msg.type == aiohttp.WSMsgType.PING:
                self.stats["pings"] += 1
                if self.pings_alive:
                    last = time.monotonic()
                await ws.pong(msg.data)
            elif msg.type == aiohttp.WSMsgType.PONG:
                pass
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                break
        await ws.close()
        return got

    async def close(self) -> None:
        """Stop reconnecting and close the socket (run() returns)."""
        self._closed = True
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
