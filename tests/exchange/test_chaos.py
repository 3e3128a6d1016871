"""Each chaos mode of the local exchange, observable from a client and counted in stats()."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal

import aiohttp
import pytest

from tests.exchange.conftest import ACCOUNTS, client, run
from trader.exchange.binance import RETRY_GRACE_S
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader.exchange.chaos import parse_chaos


@pytest.fixture(scope="module")
def cx() -> Iterator[ExchangeHandle]:
    with serve_in_thread(feed_options={"seed": 5, "rate": 200}, accounts=ACCOUNTS[:1], seed=11) as ex:
        yield ex


@pytest.fixture(autouse=True)
def _reset(cx):
    cx.set_chaos(None)
    yield
    cx.set_chaos(None)


@pytest.mark.parametrize("spec, match", [
    ("drop=2", "chaos: drop: expected a probability"),
    ("nope=1", "chaos: unknown mode 'nope'"),
    ("drop", "chaos: expected NAME=VALUE"),
    ("disconnect=soon", "chaos: disconnect: expected a duration"),
    ("burst_len=0", "chaos: burst_len: expected an integer"),
])
def test_bad_specs(cx, spec, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        parse_chaos(spec)
    with pytest.raises(InvalidInputError):
        cx.set_chaos(spec)


def test_spec_values() -> None:
    s = parse_chaos("drop=0.01,skew_ms=1500,listenkey_expiry=30s,disconnect=1m,delay_ms=250")
    assert s["drop"] == 0.01 and s["skew_ms"] == 1.5 and s["listenkey_expiry"] == 30 and s["disconnect"] == 60
    assert s["delay_ms"] == 0.25


async def _messages(url: str, n: int, timeout: float = 5.0) -> tuple[list[dict], bool]:
    out = []
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        while len(out) < n:
            try:
                m = await ws.receive(timeout=timeout)
            except asyncio.TimeoutError:
                return out, False
            if m.type != aiohttp.WSMsgType.TEXT:
                return out, True
            out.append(json.loads(m.data))
    return out, False


def test_gap_in_depth_ids(cx) -> None:
    cx.set_chaos("gap=0.5")
    msgs, _ = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@depth@100ms", 8))
    assert any(b["U"] != a["u"] + 1 for a, b in zip(msgs, msgs[1:]))
    assert cx.stats()["chaos"]["gap"] >= 1


def test_dup_and_reorder(cx) -> None:
    cx.set_chaos("dup=1")
    msgs, _ = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@trade", 6))
    assert msgs[0] == msgs[1] and msgs[2] == msgs[3]
    cx.set_chaos("reorder=1")
    msgs, _ = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@trade", 6))
    ids = [m["t"] for m in msgs]
    assert ids != sorted(ids)
    assert cx.stats()["chaos"]["dup"] >= 3 and cx.stats()["chaos"]["reorder"] >= 1


def test_drop_and_stall_and_disconnect(cx) -> None:
    cx.set_chaos("drop=1")
    msgs, closed = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@trade", 3))
    assert msgs == [] and closed
    cx.set_chaos("stall=1")
    msgs, closed = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@trade", 3, timeout=0.5))
    assert msgs == [] and not closed  # open socket, no data
    cx.set_chaos("disconnect=300ms")
    msgs, closed = run(_messages(f"{cx.spot_stream_url}/ws/btcusdt@trade", 10_000))
    assert closed and msgs
    c = cx.stats()["chaos"]
    assert c["drop"] >= 1 and c["stall"] >= 1 and c["disconnect"] >= 1


def test_ack_5xx_and_timeout_after_placing(cx) -> None:
    key = cx.accounts[0]["api_key"]

    async def go():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            c = client(cx, s)
            bid, _ = cx.top("spot")
            p = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
                 "price": str(Decimal(bid) - 100), "newClientOrderId": "unknown-1"}
            cx.set_chaos("ack_5xx=1")
            st, e = await c.call("POST", "/api/v3/order", p)
            assert st == 503 and e["code"] == -1007
            cx.set_chaos(None)
            st, q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "unknown-1"})
            assert st == 200 and q["status"] == "NEW"  # the order exists
            cx.set_chaos("timeout=1,timeout_s=0.2")
            with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
                await c.call("POST", "/api/v3/order", dict(p, newClientOrderId="unknown-2"))
            cx.set_chaos(None)
            st, q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "unknown-2"})
            assert st == 200 and q["status"] == "NEW"
            await c.call("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    run(go())
    c = cx.stats()["chaos"]
    assert c["ack_5xx"] == 1 and c["timeout"] == 1
    assert {o["clientOrderId"] for o in cx.books(key, "spot")["orders"]} >= {"unknown-1", "unknown-2"}


def test_delay_ack_and_skew(cx) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(cx, s)
            cx.set_chaos("skew_ms=-1500")
            st, e = await c.call("GET", "/api/v3/account")
            assert e["code"] == -1021  # the client's clock is now 1.5 s ahead of the server's
            _, t = await c.call("GET", "/api/v3/time", signed=False)
            st, _ = await c.call("GET", "/api/v3/account", {"timestamp": t["serverTime"]})
            assert st == 200
            cx.set_chaos("delay_ack=1,delay_ms=50")
            st, o = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                           "quantity": "0.001"})
            assert st == 200
    run(go())
    assert cx.stats()["chaos"]["delay_ack"] == 1


def test_burst429_then_418(cx) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(cx, s)
            cx.set_chaos("burst429=1,burst_len=1,ban_s=0.5")
            st, _ = await c.call("GET", "/api/v3/ping", signed=False)
            assert st == 429 and c.last_headers["Retry-After"] == "1"
            await asyncio.sleep(RETRY_GRACE_S + 0.05)  # read the 429, then kept going
            st, _ = await c.call("GET", "/api/v3/ping", signed=False)
            assert st == 418  # came back before Retry-After
            cx.set_chaos(None)
            await asyncio.sleep(1.1)
            assert (await c.call("GET", "/api/v3/ping", signed=False))[0] == 200
    run(go())
    s = cx.stats()
    assert s["chaos"]["burst429"] >= 1 and s["418"] >= 1


def test_listen_key_expiry(cx) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(cx, s)
            cx.set_chaos("listenkey_expiry=300ms")
            _, lk = await c.call("POST", "/fapi/v1/listenKey", signed=False)
            msgs, closed = await _messages(f"{cx.usdm_stream_url}/ws/{lk['listenKey']}", 5)
            assert msgs[-1]["e"] == "listenKeyExpired" and msgs[-1]["listenKey"] == lk["listenKey"] and closed
            assert (await c.call("PUT", "/fapi/v1/listenKey", signed=False))[1]["code"] == -1125
    run(go())
    assert cx.stats()["chaos"]["listenkey_expired"] >= 1
