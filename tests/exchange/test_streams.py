"""Market streams (depth sync against the served book) and user data streams."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal

import aiohttp
import pytest

from tests.exchange.conftest import client, run
from trader.exchange import serve_in_thread


def _apply(book: dict[str, dict[Decimal, Decimal]], msg: dict) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for p, q in msg[key]:
            if Decimal(q) == 0:
                book[side].pop(Decimal(p), None)
            else:
                book[side][Decimal(p)] = Decimal(q)


async def _sync(ex, market: str) -> None:
    """Binance's documented procedure on the served diff stream; the result equals the exchange's book."""
    path = "/api/v3/depth" if market == "spot" else "/fapi/v1/depth"
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"{getattr(ex, market + '_stream_url')}/ws/btcusdt@depth@100ms") as ws:
            buffered = [json.loads((await ws.receive()).data)]
            async with s.get(ex.base_url + path, params={"symbol": "BTCUSDT", "limit": 1000}) as r:
                snap = await r.json()
            book = {"bids": {Decimal(p): Decimal(q) for p, q in snap["bids"]},
                    "asks": {Decimal(p): Decimal(q) for p, q in snap["asks"]}}
            last = snap["lastUpdateId"]
            first = True
            prev_u = None
            checked = 0
            while checked < 5:
                msg = buffered.pop(0) if buffered else json.loads((await ws.receive()).data)
                assert msg["e"] == "depthUpdate" and msg["s"] == "BTCUSDT"
                if msg["u"] <= last:
                    continue
                if first:
                    assert msg["U"] <= last + 1 <= msg["u"]
                    first = False
                else:
                    assert msg["U"] == prev_u + 1
                    if market == "usdm":
                        assert msg["pu"] == prev_u
                _apply(book, msg)
                prev_u = msg["u"]
                checked += 1
            # with a slow feed, a snapshot taken right after a diff is usually at that diff's u:
            # then the book built from the stream equals the exchange's, level by level
            compared = 0
            for _ in range(40):
                msg = json.loads((await ws.receive()).data)
                assert msg["U"] == prev_u + 1
                _apply(book, msg)
                prev_u = msg["u"]
                async with s.get(ex.base_url + path, params={"symbol": "BTCUSDT", "limit": 1000}) as r:
                    now = await r.json()
                if now["lastUpdateId"] == prev_u:
                    assert book["bids"] == {Decimal(p): Decimal(q) for p, q in now["bids"]}
                    assert book["asks"] == {Decimal(p): Decimal(q) for p, q in now["asks"]}
                    compared += 1
                    if compared >= 3:
                        break
            assert compared >= 1


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_depth_sync(market) -> None:
    with serve_in_thread(feed_options={"seed": 3, "rate": 8}) as slow:
        run(_sync(slow, market))


def test_combined_market_streams(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            url = f"{ex.usdm_stream_url}/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@aggTrade"
            async with s.ws_connect(url) as ws:
                seen = {}
                while len(seen) < 3:
                    m = json.loads((await ws.receive()).data)
                    seen[m["stream"]] = m["data"]
                assert {"e", "E", "s", "t", "p", "q", "T", "m"} <= seen["btcusdt@trade"].keys()
                assert {"e", "u", "E", "T", "s", "b", "B", "a", "A"} <= seen["btcusdt@bookTicker"].keys()
                assert {"e", "E", "a", "s", "p", "q", "f", "l", "T", "m"} <= seen["btcusdt@aggTrade"].keys()
            async with s.ws_connect(f"{ex.spot_stream_url}/ws") as ws:
                await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 7})
                got = []
                while len(got) < 2:
                    got.append(json.loads((await ws.receive()).data))
                assert got[0] == {"result": None, "id": 7}
                assert {"u", "s", "b", "B", "a", "A"} <= set(got[1])
    run(go())


def _ws_sign(secret: str, params: dict) -> dict:
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return params | {"signature": hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}


def test_spot_user_stream_ws_api(ex) -> None:
    a = ex.accounts[0]

    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(ex.spot_ws_api_url) as ws:
                params = _ws_sign(a["secret"], {"apiKey": a["api_key"], "timestamp": int(time.time() * 1000)})
                await ws.send_json({"id": "sub", "method": "userDataStream.subscribe.signature", "params": params})
                r = json.loads((await ws.receive()).data)
                assert r["id"] == "sub" and r["status"] == 200 and isinstance(r["result"]["subscriptionId"], int)
                sid = r["result"]["subscriptionId"]
                bad = dict(params, signature="0" * 64)
                await ws.send_json({"id": 2, "method": "userDataStream.subscribe.signature", "params": bad})
                assert json.loads((await ws.receive()).data)["error"]["code"] == -1022
                st, o = await client(ex, s).call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY",
                                                                           "type": "MARKET", "quantity": "0.001"})
                assert st == 200
                events = []
                while not any(e["event"]["e"] == "executionReport" and e["event"]["x"] == "TRADE" for e in events):
                    events.append(json.loads((await ws.receive()).data))
                assert all(e["subscriptionId"] == sid for e in events)
                kinds = [e["event"]["e"] for e in events]
                assert kinds[0] == "executionReport" and events[0]["event"]["x"] == "NEW"
                trade = next(e["event"] for e in events if e["event"].get("x") == "TRADE")
                assert trade["i"] == o["orderId"] and trade["t"] == o["fills"][0]["tradeId"]
                # order.place over the WebSocket API
                p = _ws_sign(a["secret"], {"apiKey": a["api_key"], "symbol": "BTCUSDT", "side": "SELL",
                                           "type": "MARKET", "quantity": "0.001", "timestamp": int(time.time() * 1000)})
                await ws.send_json({"id": "p1", "method": "order.place", "params": p})
                while True:
                    m = json.loads((await ws.receive()).data)
                    if m.get("id") == "p1":
                        break
                assert m["status"] == 200 and m["result"]["side"] == "SELL"
                await ws.send_json({"id": "u", "method": "userDataStream.unsubscribe", "params": {}})
                seen_end = False
                while True:
                    m = json.loads((await ws.receive()).data)
                    if m.get("event", {}).get("e") == "eventStreamTerminated":
                        seen_end = True
                    if m.get("id") == "u":
                        break
                assert seen_end
    run(go())


def test_usdm_user_stream_listen_key(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            _, lk = await c.call("POST", "/fapi/v1/listenKey", signed=False)
            async with s.ws_connect(f"{ex.usdm_stream_url}/ws/{lk['listenKey']}") as ws:
                await asyncio.sleep(0.05)
                st, o = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                                "quantity": "0.002"})
                assert st == 200
                events = []
                while not any(e["e"] == "ACCOUNT_UPDATE" for e in events):
                    events.append(json.loads((await ws.receive()).data))
                upd = [e for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
                assert upd[0]["o"]["x"] == "NEW" and upd[0]["o"]["i"] == o["orderId"]
                assert any(e["o"]["x"] == "TRADE" for e in upd)
                acc = next(e for e in events if e["e"] == "ACCOUNT_UPDATE")
                assert acc["a"]["P"][0]["s"] == "BTCUSDT"
                await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                        "quantity": "0.002", "reduceOnly": "true"})
    run(go())
