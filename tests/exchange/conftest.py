"""Shared pieces of the local exchange's tests: a running exchange and a raw signed client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from trader.exchange import ExchangeHandle, serve_in_thread

ACCOUNTS = [
    {"api_key": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
     "secret": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
     "balances": {"USDT": 10000, "BTC": 1}},
    {"api_key": "secondAccountKey0123456789", "secret": "secondAccountSecret0123456789",
     "balances": {"USDT": 100, "BTC": 0}, "permissions": ["SPOT"]},
]


class Client:
    """A raw Binance REST client: signs with HMAC-SHA256 over the query string."""

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str | None, secret: str | None) -> None:
        self.s, self.base, self.key, self.secret = session, base, key, secret
        self.last_headers: dict[str, str] = {}

    async def call(self, method: str, path: str, params: dict[str, Any] | None = None, signed: bool = True,
                   ts_offset: int = 0, body: bool = False) -> tuple[int, Any]:
        p = {k: v for k, v in (params or {}).items() if v is not None}
        if signed:
            p.setdefault("timestamp", int(time.time() * 1000) + ts_offset)
            q = urlencode(p)
            q += "&signature=" + hmac.new((self.secret or "").encode(), q.encode(), hashlib.sha256).hexdigest()
        else:
            q = urlencode(p)
        headers = {"X-MBX-APIKEY": self.key} if self.key else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            async with self.s.request(method, self.base + path, data=q, headers=headers) as r:
                self.last_headers = dict(r.headers)
                return r.status, await r.json(content_type=None)
        async with self.s.request(method, f"{self.base}{path}?{q}", headers=headers) as r:
            self.last_headers = dict(r.headers)
            return r.status, await r.json(content_type=None)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def room_in_window(window_s: int, need_s: float = 5.0) -> None:
    """Wait for a fresh fixed window when fewer than ``need_s`` seconds are left in this one.

    The exchange counts weight and orders in fixed windows (the minute, ten seconds) as Binance
    does, and a 429's Retry-After runs to the window's end: a test that fills a window must not
    straddle its boundary.
    """
    left = window_s - time.time() % window_s
    if left < need_s:
        time.sleep(left + 0.05)


@pytest.fixture(scope="module")
def ex() -> Iterator[ExchangeHandle]:
    with serve_in_thread(feed_options={"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000},
                         accounts=ACCOUNTS, ping_interval=0.5) as handle:
        deadline = time.monotonic() + 10
        while None in handle.top("spot") and time.monotonic() < deadline:
            time.sleep(0.02)
        yield handle


def client(ex: ExchangeHandle, session: aiohttp.ClientSession, i: int = 0) -> Client:
    a = ex.accounts[i]
    return Client(session, ex.base_url, a["api_key"], a["secret"])
