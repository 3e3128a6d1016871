"""The REST client's rules (Retry-After, -1021, unknown outcomes, the weight budget) and the
WebSocket wrapper's (jittered reconnects, stale detection, pings) against small local servers."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Any

import pytest
from aiohttp import web

from trader_plugins.venues.binance.auth import Credentials
from trader_plugins.venues.binance.config import Backoff, BinanceConfig
from trader_plugins.venues.binance.http import BinanceError, BinanceHttp, OutcomeUnknown, RateLimited, Withdrawn
from trader_plugins.venues.binance.ws import WsConnection, backoff_delay

from ._server import serve

CREDS = Credentials("k" * 20, "s" * 20)


class Script:
    """Answers given in order, then the last one for ever; records the requests."""

    def __init__(self, *answers: tuple[int, dict, dict]) -> None:
        self.answers = list(answers)
        self.seen: list[float] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(time.monotonic())
        status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return web.json_response(body, status=status, headers=headers)


async def _time(request: web.Request) -> web.Response:
    return web.json_response({"serverTime": int(time.time() * 1000) + 3000})


def _run(routes: list[tuple[str, str, Any]], fn: Any) -> Any:
    with serve(routes + [("GET", "/api/v3/time", _time)]) as url:
        async def main() -> Any:
            http = BinanceHttp(BinanceConfig(rest_url=url), CREDS)
            try:
                return await fn(http)
            finally:
                await http.close()
        return asyncio.run(asyncio.wait_for(main(), 20))


def test_retry_after_blocks_then_retries() -> None:
    s = Script((429, {"code": -1003, "msg": "slow down"}, {"Retry-After": "0.3"}), (200, {"ok": 1}, {}))

    async def fn(http: BinanceHttp) -> Any:
        return await http.request("POST", "/api/v3/order", {"a": 1}, signed=True), http.stats
    r, stats = _run([("POST", "/api/v3/order", s.handle)], fn)
    assert r == {"ok": 1} and stats["http_429"] == 1 and stats["retry_after_waits"] >= 1
    assert s.seen[1] - s.seen[0] >= 0.29  # nothing sent before Retry-After ran out


def test_418_is_raised_and_blocks() -> None:
    s = Script((418, {"code": -1003, "msg": "banned"}, {"Retry-After": "0.2"}), (200, {"ok": 1}, {}))

    async def fn(http: BinanceHttp) -> Any:
        with pytest.raises(RateLimited):
            await http.request("GET", "/api/v3/x")
        t0 = time.monotonic()
        await http.request("GET", "/api/v3/x")
        return time.monotonic() - t0
    assert _run([("GET", "/api/v3/x", s.handle)], fn) >= 0.15


def test_1021_resyncs_once() -> None:
    s = Script((400, {"code": -1021, "msg": "Timestamp outside recvWindow"}, {}), (200, {"ok": 1}, {}))

    async def fn(http: BinanceHttp) -> Any:
        r = await http.request("GET", "/api/v3/account", signed=True)
        assert abs(http.offset_ms - 3000) < 300  # measured on the -1021
        return r, http.stats["resigned_1021"]
    assert _run([("GET", "/api/v3/account", s.handle)], fn) == ({"ok": 1}, 1)
    always = Script((400, {"code": -1021, "msg": "Timestamp outside recvWindow"}, {}))

    async def twice(http: BinanceHttp) -> Any:
        with pytest.raises(BinanceError) as e:
            await http.request("GET", "/api/v3/account", signed=True)
        return e.value.code
    assert _run([("GET", "/api/v3/account", always.handle)], twice) == -1021
    assert len(always.seen) == 2  # never a third


@pytest.mark.parametrize("status,body,unknown", [
    (503, {"code": -1001, "msg": "Internal error"}, True), (500, {}, True),
    (400, {"code": -1007, "msg": "Timeout waiting for response from backend server."}, True),
    (503, {"code": -1008, "msg": "Server is currently overloaded"}, False),
    (400, {"code": -2010, "msg": "Account has insufficient balance"}, False)])
def test_error_mapping(status: int, body: dict, unknown: bool) -> None:
    s = Script((status, body, {}))

    async def fn(http: BinanceHttp) -> Any:
        with pytest.raises((OutcomeUnknown, BinanceError)) as e:
            await http.request("POST", "/api/v3/order", {"symbol": "X"}, signed=True)
        return e.value
    err = _run([("POST", "/api/v3/order", s.handle)], fn)
    assert isinstance(err, OutcomeUnknown) is unknown
    assert len(s.seen) == 1  # never resent
    assert "s" * 20 not in str(err) and "signature" not in str(err)


def test_weight_budget_waits_for_the_next_window() -> None:
    """The header says the minute's weight is nearly spent: the next request waits for the next
    window of the server's clock instead of going out (and earning a 429)."""
    async def fn(http: BinanceHttp) -> Any:
        http.set_rate_limits([{"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 1, "limit": 100}])
        await http.request("GET", "/api/v3/w")  # answered "95 used"
        t0 = time.monotonic()
        await http.request("GET", "/api/v3/w")
        return time.monotonic() - t0, http.stats["budget_waits"], http.budgets
    s = Script((200, {}, {"X-MBX-USED-WEIGHT-1S": "95"}), (200, {}, {"X-MBX-USED-WEIGHT-1S": "1"}))
    waited, waits, budgets = _run([("GET", "/api/v3/w", s.handle)], fn)
    assert waits == 1 and budgets[0].header == "x-mbx-used-weight-1s"
    assert s.seen[1] - s.seen[0] > 0 and waited < 1.2


def test_orders_held_by_the_order_limit_hold_no_place_in_flight_and_can_be_withdrawn() -> None:
    """The order limit (2 in 10 s, less the headroom) is spent: the next new order waits for the next window
    outside the places in flight (one in flight here), so a DELETE sent meanwhile goes at once;
    the waiting order, withdrawn while it waits, is never sent."""
    async def fn(http: BinanceHttp) -> Any:
        http.max_in_flight = 1
        http.set_rate_limits([{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 2}])
        await http.request("POST", "/api/v3/order", {"symbol": "X"}, signed=True)  # spends the window
        gone = {"flag": False}
        held = asyncio.ensure_future(http.request("POST", "/api/v3/order", {"symbol": "X"}, signed=True,
                                                  withdrawn=lambda: gone["flag"]))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await http.request("DELETE", "/api/v3/order", {"symbol": "X"}, signed=True)
        took = time.monotonic() - t0
        gone["flag"] = True
        with pytest.raises(Withdrawn):
            await held
        return took
    posts, deletes = Script((200, {}, {})), Script((200, {}, {}))
    took = _run([("POST", "/api/v3/order", posts.handle), ("DELETE", "/api/v3/order", deletes.handle)], fn)
    assert len(posts.seen) == 1 and len(deletes.seen) == 1  # the held order never left
    assert took < 1.0  # not behind the held order's wait for the next window


def test_full_jitter_spreads_reconnects() -> None:
    """Many clients dropped at once: their reconnect delays spread over the window, not in lockstep."""
    b = Backoff()
    for attempt in range(6):
        delays = [backoff_delay(attempt, b, random.Random(i)) for i in range(200)]
        cap = min(b.max_s, b.base_s * 2 ** attempt)
        assert all(0 <= d <= cap for d in delays)
        assert len({round(d, 3) for d in delays}) > 150  # no lockstep
        assert statistics.pstdev(delays) > cap / 5
    assert backoff_delay(40, b, random.Random(1)) <= 30.0
    assert backoff_delay(3, Backoff(jitter="none"), random.Random(1)) == 4.0


def test_ws_clients_reconnect_spread_stale_and_pings() -> None:
    """N clients on a server that drops everyone at once reconnect at different instants; a
    silent server is detected as stale; server pings are answered."""
    connects: list[float] = []
    pongs: list[bytes] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        connects.append(time.monotonic())
        if request.query.get("mode") == "silent":
            await asyncio.sleep(1.0)
        else:
            await ws.ping(b"hi")
            msg = await ws.receive(timeout=2)
            if msg.type == web.WSMsgType.PONG:
                pongs.append(msg.data)
            await ws.send_str('{"x":1}')
        await ws.close()
        return ws

    with serve([("GET", "/ws", handler)]) as url:
        async def main() -> list[WsConnection]:
            conns = [WsConnection(url.replace("http", "ws") + "/ws", lambda t, ns: None, stale_after_s=5,
                                  backoff=Backoff(base_s=0.2, max_s=0.4), rng=random.Random(i), name=f"c{i}")
                     for i in range(8)]
            silent = WsConnection(url.replace("http", "ws") + "/ws?mode=silent", lambda t, ns: None,
                                  stale_after_s=0.3, backoff=Backoff(base_s=0.05, max_s=0.1), rng=random.Random(99))
            tasks = [asyncio.ensure_future(c.run()) for c in conns + [silent]]
            await asyncio.sleep(1.2)
            for c in conns + [silent]:
                await c.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return conns + [silent]
        conns = asyncio.run(asyncio.wait_for(main(), 20))
    clients, silent = conns[:-1], conns[-1]
    assert all(c.stats["reconnects"] >= 1 for c in clients)
    first_delays = [c.delays[0] for c in clients]
    assert len({round(d, 3) for d in first_delays}) == len(first_delays)  # no two in lockstep
    assert silent.stats["stale"] >= 1
    assert pongs and all(p == b"hi" for p in pongs)
