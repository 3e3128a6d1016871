"""The local exchange's messages against the documented Binance payloads in ../shared/data/ws_fixtures.

One test per (fixture file, message of the exchange): the exchange's message must carry every key of
the fixture — recursively through nested objects and the first element of lists; arrays used as
tuples (klines, depth levels) position by position — with the same JSON type (string, number, bool,
object, array); where the fixture has ``null`` any value is accepted. Extra keys are allowed.

The messages are captured once, from one exchange: REST answers through a signed aiohttp client,
market streams through combined-stream connections (``{"stream", "data"}``), spot user data through
the WebSocket API (``userDataStream.subscribe.signature``, events wrapped ``{"subscriptionId", "event"}``),
USDⓈ-M user data through a listenKey. Nautilus's ``tests/.../ws_messages`` files wrap user events as
``{"stream": "<event name>", "data": ...}`` (Nautilus's own envelope, not Binance's): their ``data`` is
compared with the event.

Where no fixture exists the shape is taken from a documented neighbour and the test says so: spot
``depthUpdate`` (the USDⓈ-M diff without its futures-only ``T``/``pu``), ``ACK``/``RESULT`` order
responses (``FULL`` cut down as the docs list), ``listenKeyExpired`` (the docs' three keys).
``balanceUpdate`` (deposits, withdrawals, transfers) is never emitted by the local exchange, so it has
nothing to compare.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from trader.exchange import ExchangeHandle, serve_in_thread

ACCOUNT: dict[str, Any] = {"api_key": "shapeCheckKey0123456789abcdef", "secret": "shapeCheckSecret0123456789abcdef",
           "balances": {"USDT": 100000, "BTC": 10}}
CRATES = "ws_fixtures/nautilus/crates/adapters/binance/test_data"
RESOURCES = "ws_fixtures/nautilus/tests/integration_tests/adapters/binance/resources"
STREAMS = ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@kline_1m"]

Captured = dict[str, list[Any]]


# ------------------------------------------------------------------------------------------------
# the comparison
# ------------------------------------------------------------------------------------------------
def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _tuples(rows: list[Any]) -> bool:
    """Rows that are tuples (position matters): mixed types in a row, or many rows of one length."""
    if not all(isinstance(r, list) and r for r in rows):
        return False
    mixed = any(len({_kind(v) for v in r}) > 1 for r in rows)
    return mixed or (len(rows) > 1 and len({len(r) for r in rows}) == 1)


def mismatches(expected: Any, got: Any, path: str = "$") -> list[str]:
    """Every way ``got`` falls short of the fixture ``expected`` (missing keys, other JSON types)."""
    if expected is None:
        return []
    if _kind(expected) != _kind(got):
        return [f"{path}: fixture has {_kind(expected)}, exchange has {_kind(got)} ({json.dumps(got)[:60]})"]
    out: list[str] = []
    if isinstance(expected, dict):
        for k, v in expected.items():
            if k not in got:
                out.append(f"{path}.{k}: missing (fixture: {json.dumps(v)[:60]})")
            else:
                out += mismatches(v, got[k], f"{path}.{k}")
    elif isinstance(expected, list) and expected:
        if not got:
            return [f"{path}: fixture has a non-empty array, exchange's is empty (nothing to compare)"]
        if _tuples(expected):  # arrays as tuples: klines rows, [price, qty] levels
            e_row, g_row = expected[0], got[0]
            if _kind(g_row) != "array":
                return [f"{path}[0]: fixture has array, exchange has {_kind(g_row)}"]
            if len(g_row) < len(e_row):
                out.append(f"{path}[0]: {len(g_row)} items, fixture has {len(e_row)}")
            for j, (e, g) in enumerate(zip(e_row, g_row, strict=False)):
                out += mismatches(e, g, f"{path}[0][{j}]")
        else:
            out += mismatches(expected[0], got[0], f"{path}[0]")
    return out


# ------------------------------------------------------------------------------------------------
# capturing the exchange's messages
# ------------------------------------------------------------------------------------------------
def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def _capture(ex: ExchangeHandle) -> Captured:
    got: Captured = defaultdict(list)
    key, secret = ACCOUNT["api_key"], ACCOUNT["secret"]
    headers = {"X-MBX-APIKEY": key}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:

        async def rest(method: str, path: str, params: dict[str, Any] | None = None, signed: bool = True,
                       name: str | None = None) -> Any:
            p = dict(params or {})
            if signed:
                p["timestamp"] = int(time.time() * 1000)
                q = urlencode(p)
                q += "&signature=" + _sign(secret, q)
            else:
                q = urlencode(p)
            async with s.request(method, f"{ex.base_url}{path}?{q}", headers=headers) as r:
                body = await r.json(content_type=None)
                assert r.status == 200, (method, path, params, body)
            if name:
                got[name].append(body)
            return body

        async def reader(ws: aiohttp.ClientWebSocketResponse, label: Callable[[Any], str]) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    m = json.loads(msg.data)
                    name = label(m)
                    got[name].append(m)
                    ev = m.get("event") or m.get("o") or m
                    if isinstance(ev, dict) and ev.get("o") not in (None, "LIMIT", "MARKET"):
                        got[f"{name}:{ev['o']}"].append(m)  # the same event, by order type

        def market_label(market: str) -> Callable[[Any], str]:
            return lambda m: f"{market}:stream:{m['stream'].split('@', 1)[1]}" if "stream" in m else f"{market}:other"

        def spot_user(m: Any) -> str:
            ev = m.get("event")
            if ev is None:
                return "spot:ws-api"
            return f"spot:user:{ev['e']}" + (f":{ev['x']}" if "x" in ev else "")

        def usdm_user(m: Any) -> str:
            o = m.get("o") or {}
            return f"usdm:user:{m['e']}" + (f":{o.get('x') or o.get('X')}" if o else "")

        spot_ws = await s.ws_connect(f"{ex.spot_stream_url}/stream?streams={'/'.join(STREAMS)}")
        usdm_ws = await s.ws_connect(f"{ex.usdm_stream_url}/stream?streams={'/'.join(STREAMS)}")
        api_ws = await s.ws_connect(ex.spot_ws_api_url)
        sub = {"apiKey": key, "timestamp": int(time.time() * 1000)}
        sub["signature"] = _sign(secret, "&".join(f"{k}={v}" for k, v in sorted(sub.items())))
        await api_ws.send_json({"id": 1, "method": "userDataStream.subscribe.signature", "params": sub})
        reply = json.loads((await api_ws.receive(timeout=5)).data)
        assert reply["status"] == 200, reply
        listen_key = (await rest("POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
        user_ws = await s.ws_connect(f"{ex.usdm_stream_url}/ws/{listen_key}")
        tasks = [asyncio.create_task(reader(spot_ws, market_label("spot"))),
                 asyncio.create_task(reader(usdm_ws, market_label("usdm"))),
                 asyncio.create_task(reader(api_ws, spot_user)), asyncio.create_task(reader(user_ws, usdm_user))]
        try:
            # public REST, once the feed has traded on both markets (trades and klines are not empty)
            deadline = time.monotonic() + 5
            while not (got["spot:stream:trade"] and got["usdm:stream:trade"]) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            for market, prefix in (("spot", "/api/v3"), ("usdm", "/fapi/v1")):
                await rest("GET", f"{prefix}/ping", signed=False, name=f"{market}:ping")
                await rest("GET", f"{prefix}/time", signed=False, name=f"{market}:time")
                await rest("GET", f"{prefix}/exchangeInfo", signed=False, name=f"{market}:exchangeInfo")
                await rest("GET", f"{prefix}/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False, name=f"{market}:depth")
                await rest("GET", f"{prefix}/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 5},
                           signed=False, name=f"{market}:klines")
                await rest("GET", f"{prefix}/trades", {"symbol": "BTCUSDT", "limit": 5}, signed=False,
                           name=f"{market}:trades")
                await rest("GET", f"{prefix}/ticker/bookTicker", {"symbol": "BTCUSDT"}, signed=False,
                           name=f"{market}:bookTicker")
            await rest("GET", "/api/v3/avgPrice", {"symbol": "BTCUSDT"}, signed=False, name="spot:avgPrice")
            await rest("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, signed=False, name="usdm:premiumIndex")

            bid = float((await rest("GET", "/api/v3/ticker/bookTicker", {"symbol": "BTCUSDT"}, signed=False))["bidPrice"])
            far = f"{bid * 0.8:.2f}"
            spot_order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                          "quantity": "0.01", "price": far}
            # spot orders: ACK / RESULT / FULL, query, open, cancel, cancel-all, market fill, IOC expiry
            ack = await rest("POST", "/api/v3/order", spot_order | {"newOrderRespType": "ACK"}, name="spot:order:ACK")
            await rest("POST", "/api/v3/order", spot_order | {"newOrderRespType": "RESULT"}, name="spot:order:RESULT")
            await rest("POST", "/api/v3/order", spot_order | {"newOrderRespType": "FULL"}, name="spot:order:FULL:new")
            await rest("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": ack["orderId"]}, name="spot:queryOrder")
            await rest("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, name="spot:openOrders")
            await rest("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": ack["orderId"]}, name="spot:cancel")
            await rest("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, name="spot:cancelAll")
            await rest("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                 "quantity": "0.01", "newOrderRespType": "FULL"}, name="spot:order:FULL")
            await rest("POST", "/api/v3/order", spot_order | {"timeInForce": "IOC"})
            await rest("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
                                                 "timeInForce": "GTC", "quantity": "0.01", "price": far,
                                                 "stopPrice": far})
            await rest("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}, name="spot:allOrders")
            await rest("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}, name="spot:myTrades")
            await rest("GET", "/api/v3/account", name="spot:account")

            # USDⓈ-M orders: new, query, open, cancel, market fill (position), algo order, close
            fut_order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                         "quantity": "0.01", "price": far}
            fo = await rest("POST", "/fapi/v1/order", fut_order, name="usdm:order")
            await rest("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": fo["orderId"]}, name="usdm:queryOrder")
            await rest("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}, name="usdm:openOrders")
            await rest("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": fo["orderId"]}, name="usdm:cancel")
            await rest("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                  "quantity": "0.01"}, name="usdm:order:market")
            algo = await rest("POST", "/fapi/v1/algoOrder", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                                             "algoType": "CONDITIONAL", "quantity": "0.01",
                                                             "triggerPrice": far, "reduceOnly": "true"},
                              name="usdm:algoOrder")
            await rest("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}, name="usdm:openAlgoOrders")
            await rest("DELETE", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]}, name="usdm:cancelAlgo")
            for v in ("v2", "v3"):
                await rest("GET", f"/fapi/{v}/positionRisk", {"symbol": "BTCUSDT"}, name=f"usdm:positionRisk:{v}")
                await rest("GET", f"/fapi/{v}/balance", name=f"usdm:balance:{v}")
                await rest("GET", f"/fapi/{v}/account", name=f"usdm:account:{v}")
            await rest("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"}, name="usdm:allOrders")
            await rest("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}, name="usdm:userTrades")
            await rest("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                  "quantity": "0.01", "reduceOnly": "true"})

            # until every stream has spoken (klines are flushed once a second)
            wanted = {name for _, name, _, _ in CASES if ":stream:" in name or ":user:" in name}
            deadline = time.monotonic() + 5
            while any(not got[w] for w in wanted) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            for ws in (spot_ws, usdm_ws, api_ws, user_ws):
                await ws.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return got


async def _listen_key_expiry(ex: ExchangeHandle) -> list[Any]:
    """A listenKey left to expire (chaos ``listenkey_expiry``): the stream's last message."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
        async with s.post(f"{ex.base_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": ACCOUNT["api_key"]}) as r:
            key = (await r.json())["listenKey"]
        out = []
        async with s.ws_connect(f"{ex.usdm_stream_url}/ws/{key}") as ws:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    out.append(json.loads(msg.data))
        return out


@pytest.fixture(scope="module")
def captured() -> Iterator[Captured]:
    with serve_in_thread(feed_options={"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000},
                         accounts=[ACCOUNT]) as ex:
        deadline = time.monotonic() + 10
        while (None in ex.top("spot") or None in ex.top("usdm")) and time.monotonic() < deadline:
            time.sleep(0.02)
        got = asyncio.run(asyncio.wait_for(_capture(ex), 20))
    with serve_in_thread(feed_options={"seed": 7, "rate": 50, "symbol": "BTCUSDT", "price": 50000},
                         accounts=[ACCOUNT], chaos="listenkey_expiry=300ms") as ex:
        got["usdm:user:listenKeyExpired"] = [m for m in asyncio.run(asyncio.wait_for(_listen_key_expiry(ex), 10))
                                             if m.get("e") == "listenKeyExpired"]
    yield got


@pytest.fixture(scope="module")
def data_dir(shared_data: Path) -> Path:
    """The shared data (tests/conftest.py: skipped without it on a developer machine, failed in CI)."""
    assert (shared_data / CRATES).is_dir() and (shared_data / RESOURCES).is_dir(), \
        f"Binance fixtures not found under {shared_data / 'ws_fixtures'}"
    return shared_data


# ------------------------------------------------------------------------------------------------
# the cases: (fixture, captured message, how to get the compared part of the exchange's message)
# ------------------------------------------------------------------------------------------------
def _data(m: Any) -> Any:
    return m["data"]


def _event(m: Any) -> Any:
    return m["event"]


def _same(m: Any) -> Any:
    return m


def _without(*keys: str, inner: str | None = None, data: bool = False) -> Callable[[Any], Any]:
    """The fixture less keys Binance documents as conditional (in ``inner`` object / each list item)."""
    def cut(f: Any) -> Any:
        f = f["data"] if data else f
        if isinstance(f, list):
            return [{k: v for k, v in x.items() if k not in keys} for x in f]
        if inner is not None:
            return f | {inner: {k: v for k, v in f[inner].items() if k not in keys}}
        return {k: v for k, v in f.items() if k not in keys}
    return cut


# USDⓈ-M docs: ORDER_TRADE_UPDATE "AP" (activation price) and "cr" (callback rate) are "only pushed with
# TRAILING_STOP_MARKET order"; query/all/open orders' "activatePrice"/"priceRate" are "only returned with
# TRAILING_STOP_MARKET order". The exchange's orders here are LIMIT/MARKET.
NOT_TRAILING_OTU = _without("AP", "cr", inner="o")
NOT_TRAILING_OTU_DATA = _without("AP", "cr", inner="o", data=True)
NOT_TRAILING_ORDERS = _without("activatePrice", "priceRate")


def _fixture_data(f: Any) -> Any:
    """Nautilus's ``{"stream": <event name>, "data": ...}`` envelope around user events: the event."""
    return f["data"]


C = CRATES
R = RESOURCES
# (fixture path, captured name, exchange part, fixture part)
CASES: list[tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]]] = [
    # --- spot REST
    (f"{C}/spot/http_json/ping_response.json", "spot:ping", _same, _same),
    (f"{R}/http_responses/http_spot_market_ping.json", "spot:ping", _same, _same),
    (f"{C}/spot/http_json/server_time_response.json", "spot:time", _same, _same),
    (f"{R}/http_responses/http_spot_market_time.json", "spot:time", _same, _same),
    (f"{C}/spot/http_json/server_time_response.json", "usdm:time", _same, _same),
    # spot docs: "sors" is an "optional field, present only when SOR is available"
    (f"{C}/spot/http_json/exchange_info_response.json", "spot:exchangeInfo", _same, _without("sors")),
    # the older fixture's "permissions": ["SPOT"]; Binance now sends [] and "permissionSets" (the newer one above)
    (f"{R}/http_responses/http_spot_market_exchange_info.json", "spot:exchangeInfo", _same,
     lambda f: f | {"symbols": [{k: v for k, v in x.items() if k != "permissions"} for x in f["symbols"]]}),
    (f"{C}/spot/http_json/depth_response.json", "spot:depth", _same, _same),
    (f"{R}/http_responses/http_spot_market_depth.json", "spot:depth", _same, _same),
    (f"{C}/spot/http_json/klines_response.json", "spot:klines", _same, _same),
    (f"{R}/http_responses/http_spot_market_klines.json", "spot:klines", _same, _same),
    (f"{C}/spot/http_json/trades_response.json", "spot:trades", _same, _same),
    (f"{R}/http_responses/http_spot_market_trades.json", "spot:trades", _same, _same),
    (f"{C}/spot/http_json/book_ticker_response.json", "spot:bookTicker", _same, _same),
    (f"{R}/http_responses/http_spot_market_book_ticker.json", "spot:bookTicker", _same, _same),
    (f"{C}/spot/http_json/avg_price_response.json", "spot:avgPrice", _same, _same),
    (f"{R}/http_responses/http_spot_market_avg_price.json", "spot:avgPrice", _same, _same),
    (f"{C}/spot/http_json/new_order_full_response.json", "spot:order:FULL", _same, _same),
    # RESULT: FULL without "fills"; ACK: the five keys the docs list (no fixture of their own)
    (f"{C}/spot/http_json/new_order_full_response.json", "spot:order:RESULT", _same,
     lambda f: {k: v for k, v in f.items() if k != "fills"}),
    (f"{C}/spot/http_json/new_order_full_response.json", "spot:order:ACK", _same,
     lambda f: {k: f[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")}),
    (f"{C}/spot/http_json/order_response.json", "spot:queryOrder", _same, _same),
    (f"{C}/spot/http_json/open_orders_response.json", "spot:openOrders", _same, _same),
    (f"{C}/spot/http_json/all_orders_response.json", "spot:allOrders", _same, _same),
    (f"{C}/spot/http_json/cancel_order_response.json", "spot:cancel", _same, _same),
    (f"{C}/spot/http_json/cancel_open_orders_response.json", "spot:cancelAll", _same, _same),
    (f"{C}/spot/http_json/account_trades_response.json", "spot:myTrades", _same, _same),
    (f"{C}/spot/http_json/account_response.json", "spot:account", _same, _same),
    (f"{R}/http_responses/http_spot_wallet_account.json", "spot:account", _same, _same),
    # --- USDⓈ-M REST
    (f"{R}/http_responses/http_futures_market_exchange_info.json", "usdm:exchangeInfo", _same, _same),
    (f"{R}/http_responses/http_futures_market_depth.json", "usdm:depth", _same, _same),
    (f"{R}/http_responses/http_futures_market_klines.json", "usdm:klines", _same, _same),
    (f"{R}/http_responses/http_futures_market_trades.json", "usdm:trades", _same, _same),
    (f"{R}/http_responses/http_futures_market_book_ticker.json", "usdm:bookTicker", _same, _same),
    (f"{R}/http_responses/http_futures_market_premium_index.json", "usdm:premiumIndex", _same, _same),
    (f"{C}/futures/http_json/order_response.json", "usdm:order", _same, _same),
    (f"{C}/futures/http_json/order_response.json", "usdm:order:market", _same, _same),
    (f"{C}/futures/http_json/order_response.json", "usdm:queryOrder", _same, _same),
    (f"{C}/futures/http_json/order_response.json", "usdm:cancel", _same, _same),
    (f"{R}/http_responses/http_futures_account_orders.json", "usdm:openOrders", _same, NOT_TRAILING_ORDERS),
    (f"{R}/http_responses/http_futures_account_orders.json", "usdm:allOrders", _same, NOT_TRAILING_ORDERS),
    (f"{R}/http_responses/http_futures_account_trades.json", "usdm:userTrades", _same, _same),
    (f"{C}/futures/http_json/open_algo_orders.json", "usdm:openAlgoOrders", _same, _same),
    (f"{C}/futures/http_json/open_algo_orders.json", "usdm:algoOrder", lambda m: [m], _same),
    (f"{C}/futures/http_json/balance.json", "usdm:balance:v2", _same, _same),
    (f"{C}/futures/http_json/balance.json", "usdm:balance:v3", _same, _same),
    (f"{C}/futures/http_json/account_info_v2.json", "usdm:account:v2", _same, _same),
    (f"{C}/futures/http_json/account_info_v2.json", "usdm:account:v3", _same, _same),
    (f"{C}/futures/http_json/position_risk.json", "usdm:positionRisk:v2", _same, _same),
    (f"{C}/futures/http_json/position_risk.json", "usdm:positionRisk:v3", _same, _same),
    (f"{R}/http_responses/http_futures_account_positions_one_way.json", "usdm:positionRisk:v2", _same, _same),
    # --- market streams (combined: {"stream", "data"})
    (f"{R}/ws_messages/ws_spot_trade.json", "spot:stream:trade", _same, _same),
    (f"{C}/futures/market_data_json/trade_stream.json", "usdm:stream:trade", _data, _same),
    (f"{R}/ws_messages/ws_spot_agg_trade.json", "spot:stream:aggTrade", _same, _same),
    (f"{C}/futures/market_data_json/agg_trade_stream.json", "usdm:stream:aggTrade", _data, _same),
    (f"{R}/ws_messages/ws_spot_ticker_book.json", "spot:stream:bookTicker", _same, _same),
    (f"{C}/futures/market_data_json/book_ticker_stream.json", "usdm:stream:bookTicker", _data, _same),
    (f"{R}/ws_messages/ws_futures_book_ticker.json", "usdm:stream:bookTicker", _data, _same),
    (f"{C}/futures/market_data_json/depth_update_stream.json", "usdm:stream:depth@100ms", _data, _same),
    (f"{R}/ws_messages/ws_futures_depth_update.json", "usdm:stream:depth@100ms", _data, _same),
    (f"{R}/ws_messages/ws_futures_depth_diff_update.json", "usdm:stream:depth@100ms", _data, _same),
    # spot depthUpdate: Binance's spot diff is the futures one without "T" and "pu"
    (f"{R}/ws_messages/ws_futures_depth_diff_update.json", "spot:stream:depth@100ms", _data,
     lambda f: {k: v for k, v in f.items() if k not in ("T", "pu")}),
    (f"{C}/futures/market_data_json/kline_stream_open.json", "spot:stream:kline_1m", _data, _same),
    (f"{C}/futures/market_data_json/kline_stream_closed.json", "spot:stream:kline_1m", _data, _same),
    (f"{C}/futures/market_data_json/kline_stream_open.json", "usdm:stream:kline_1m", _data, _same),
    (f"{C}/futures/market_data_json/kline_stream_closed.json", "usdm:stream:kline_1m", _data, _same),
    # --- spot user data (WebSocket API: {"subscriptionId", "event"})
    (f"{C}/spot/user_data_json/execution_report_wrapped.json", "spot:user:executionReport:NEW", _same, _same),
    (f"{C}/spot/user_data_json/execution_report_new.json", "spot:user:executionReport:NEW", _event, _same),
    (f"{R}/ws_messages/ws_spot_execution_report_new.json", "spot:user:executionReport:NEW", _event, _fixture_data),
    (f"{C}/spot/user_data_json/execution_report_stop_loss.json", "spot:user:executionReport:NEW:STOP_LOSS_LIMIT", _event, _same),
    (f"{C}/spot/user_data_json/execution_report_canceled.json", "spot:user:executionReport:CANCELED", _event, _same),
    (f"{R}/ws_messages/ws_spot_execution_report_canceled.json", "spot:user:executionReport:CANCELED", _event,
     _fixture_data),
    (f"{C}/spot/user_data_json/execution_report_trade.json", "spot:user:executionReport:TRADE", _event, _same),
    (f"{R}/ws_messages/ws_spot_execution_report_trade.json", "spot:user:executionReport:TRADE", _event, _fixture_data),
    (f"{C}/spot/user_data_json/execution_report_expired.json", "spot:user:executionReport:EXPIRED", _event, _same),
    (f"{R}/ws_messages/ws_spot_execution_report_expired.json", "spot:user:executionReport:EXPIRED", _event,
     _fixture_data),
    (f"{C}/spot/user_data_json/account_position_wrapped.json", "spot:user:outboundAccountPosition", _same, _same),
    (f"{C}/spot/user_data_json/account_position.json", "spot:user:outboundAccountPosition", _event, _same),
    # --- USDⓈ-M user data (listenKey stream, raw events)
    (f"{C}/futures/user_data_json/order_update_new.json", "usdm:user:ORDER_TRADE_UPDATE:NEW", _same,
     NOT_TRAILING_OTU),
    (f"{C}/futures/user_data_json/order_update_trade.json", "usdm:user:ORDER_TRADE_UPDATE:TRADE", _same,
     NOT_TRAILING_OTU),
    (f"{R}/ws_messages/ws_futures_order_update_trade_reduce_only_qty.json", "usdm:user:ORDER_TRADE_UPDATE:TRADE",
     _same, NOT_TRAILING_OTU_DATA),
    (f"{C}/futures/user_data_json/account_update.json", "usdm:user:ACCOUNT_UPDATE", _same, _same),
    (f"{C}/futures/user_data_json/algo_update_new.json", "usdm:user:ALGO_UPDATE:NEW", _same, _same),
    (f"{C}/futures/user_data_json/algo_update_canceled.json", "usdm:user:ALGO_UPDATE:CANCELED", _same, _same),
    (f"{R}/ws_messages/ws_futures_algo_update_finished_canceled.json", "usdm:user:ALGO_UPDATE:CANCELED", _same,
     _fixture_data),
]


def _case_id(case: tuple[str, str, Any, Any]) -> str:
    return f"{case[1]}<-{case[0].rsplit('/', 1)[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_message_has_the_fixture_shape(case: tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]],
                                       captured: Captured, data_dir: Path) -> None:
    path, name, part, fixture_part = case
    expected = fixture_part(json.loads((data_dir / path).read_text()))
    samples = captured.get(name) or []
    assert samples, f"the exchange sent no {name} message"
    problems = mismatches(expected, part(samples[0]))
    assert not problems, f"{name} vs {path.rsplit('/', 1)[1]}:\n  " + "\n  ".join(problems)


def test_listen_key_expired(captured: Captured) -> None:
    # no fixture in ws_fixtures: the documented event {"e": "listenKeyExpired", "E": <time>, "listenKey": ...}
    (m,) = captured["usdm:user:listenKeyExpired"]
    assert m["e"] == "listenKeyExpired" and isinstance(m["listenKey"], str) and m["listenKey"]
    assert isinstance(m["E"], int) and not isinstance(m["E"], bool)


def test_the_comparison_itself() -> None:
    assert mismatches({"a": 1, "b": {"c": "x"}, "l": [{"k": True}]}, {"a": 2, "b": {"c": "y", "d": 0}, "l": [{"k": False}]}) == []
    assert mismatches({"a": "1"}, {"a": 1}) == ["$.a: fixture has string, exchange has number (1)"]
    assert mismatches({"a": None}, {"a": "anything"}) == []
    assert mismatches({"b": {"c": 1}}, {"b": {}}) == ["$.b.c: missing (fixture: 1)"]
    assert mismatches([[1, "2"]], [[1, 2]]) == ["$[0][1]: fixture has string, exchange has number (2)"]
    assert mismatches({"p": [["SPOT", "MARGIN"]]}, {"p": [["SPOT"]]}) == []  # a list of lists, not tuples
    assert mismatches([[1, "2", "3"]], [[1, "2"]]) == ["$[0]: 2 items, fixture has 3"]
    assert mismatches([{"x": 1}], []) == ["$: fixture has a non-empty array, exchange's is empty (nothing to compare)"]
