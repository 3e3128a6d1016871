"""The Binance front of the local exchange: signatures, rules, errors and order lifecycles."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import aiohttp
import pytest

from tests.exchange.conftest import ACCOUNTS, Client, client, room_in_window, run
from trader.exchange import serve_in_thread
from trader.exchange.binance import RETRY_GRACE_S, sign


def test_documented_signature_vector() -> None:
    payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    assert sign(ACCOUNTS[0]["secret"], payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_signed_request_rules(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            assert (await c.call("GET", "/api/v3/account"))[0] == 200
            # body-signed works too (query string + body)
            assert (await c.call("GET", "/fapi/v2/balance", body=False))[0] == 200
            bad = Client(s, ex.base_url, c.key, "wrong-secret")
            assert await bad.call("GET", "/api/v3/account") == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
            st, body = await c.call("GET", "/api/v3/account", ts_offset=-6000)
            assert (st, body["code"], body["msg"]) == (400, -1021, "Timestamp for this request is outside of the recvWindow.")
            assert (await c.call("GET", "/api/v3/account", {"recvWindow": 10000}, ts_offset=-6000))[0] == 200
            st, body = await c.call("GET", "/api/v3/account", ts_offset=2000)
            assert body["code"] == -1021 and "ahead" in body["msg"]
            assert (await c.call("GET", "/api/v3/account", {"recvWindow": 70000}))[1]["code"] == -1131
            nokey = Client(s, ex.base_url, None, "x")
            assert (await nokey.call("GET", "/api/v3/account"))[1]["code"] == -2014
            unknown = Client(s, ex.base_url, "A" * 64, "x")
            st, body = await unknown.call("GET", "/api/v3/account")
            assert (st, body["code"]) == (401, -2015)
            assert (await c.call("GET", "/api/v3/account", {"timestamp": "abc"}))[1]["code"] == -1100
            # spot-only key on futures
            c2 = client(ex, s, 1)
            assert (await c2.call("GET", "/fapi/v2/balance"))[1]["code"] == -2015
            assert "X-MBX-USED-WEIGHT-1M" in c.last_headers
    run(go())


def test_public_endpoints_shapes(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            assert await c.call("GET", "/api/v3/ping", signed=False) == (200, {})
            for prefix in ("/api/v3", "/fapi/v1"):
                st, t = await c.call("GET", prefix + "/time", signed=False)
                assert st == 200 and abs(t["serverTime"] - time.time() * 1000) < 5000
                st, info = await c.call("GET", prefix + "/exchangeInfo", signed=False)
                sym = info["symbols"][0]
                filters = {f["filterType"]: f for f in sym["filters"]}
                assert filters["PRICE_FILTER"]["tickSize"] == "0.01" and filters["LOT_SIZE"]["stepSize"] == "0.001"
                assert ("NOTIONAL" if prefix == "/api/v3" else "MIN_NOTIONAL") in filters
                weight = {r["rateLimitType"]: r["limit"] for r in info["rateLimits"]}["REQUEST_WEIGHT"]
                assert weight == (6000 if prefix == "/api/v3" else 2400)
                st, depth = await c.call("GET", prefix + "/depth", {"symbol": "BTCUSDT", "limit": 5}, signed=False)
                assert st == 200 and depth["bids"][0][0] < depth["asks"][0][0]
                assert (await c.call("GET", prefix + "/depth", {"symbol": "NOPE"}, signed=False))[1]["code"] == -1121
                await asyncio.sleep(0.2)
                st, trades = await c.call("GET", prefix + "/trades", {"symbol": "BTCUSDT", "limit": 5}, signed=False)
                assert st == 200 and trades and {"id", "price", "qty", "time", "isBuyerMaker"} <= trades[0].keys()
                st, kl = await c.call("GET", prefix + "/klines", {"symbol": "BTCUSDT", "interval": "1m"}, signed=False)
                assert st == 200 and len(kl[-1]) == 12
                assert (await c.call("GET", prefix + "/klines", {"symbol": "BTCUSDT", "interval": "7m"}, signed=False))[1]["code"] == -1120
    run(go())


def _below(ex, market="spot", ticks=1000) -> str:
    bid, _ = ex.top(market)
    return str(Decimal(bid) - Decimal("0.01") * ticks)


def _above(ex, market="spot", ticks=1000) -> str:
    _, ask = ex.top(market)
    return str(Decimal(ask) + Decimal("0.01") * ticks)


def test_spot_limit_lifecycle_and_balances(ex) -> None:
    key = ex.accounts[0]["api_key"]

    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            price = _below(ex)
            before = ex.books(key, "spot")["balances"]["USDT"]
            st, o = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                           "timeInForce": "GTC", "quantity": "0.01", "price": price,
                                                           "newClientOrderId": "lim-1"})
            assert st == 200 and o["status"] == "NEW" and o["fills"] == [], o
            assert "X-MBX-ORDER-COUNT-10S" in c.last_headers and "X-MBX-ORDER-COUNT-1D" in c.last_headers
            locked = Decimal(price) * Decimal("0.01") * Decimal("1.001")
            b = ex.books(key, "spot")["balances"]["USDT"]
            assert Decimal(b["locked"]) - Decimal(before["locked"]) == locked
            assert Decimal(before["free"]) - Decimal(b["free"]) == locked
            # duplicate client id while open
            st, e = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                           "timeInForce": "GTC", "quantity": "0.01", "price": price,
                                                           "newClientOrderId": "lim-1"})
            assert e == {"code": -2010, "msg": "Duplicate order sent."}
            st, q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "lim-1"})
            assert q["orderId"] == o["orderId"] and q["status"] == "NEW" and q["isWorking"] is True
            st, oo = await c.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
            assert [x["orderId"] for x in oo] == [o["orderId"]]
            st, cx = await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]})
            assert st == 200 and cx["status"] == "CANCELED"
            assert ex.books(key, "spot")["balances"]["USDT"] == before
            assert (await c.call("DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]}))[1] == \
                {"code": -2011, "msg": "Unknown order sent."}
            assert (await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 999999}))[1] == \
                {"code": -2013, "msg": "Order does not exist."}
            st, allo = await c.call("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"})
            assert any(x["orderId"] == o["orderId"] and x["status"] == "CANCELED" for x in allo)
    run(go())


def test_spot_market_fills_match_books(ex) -> None:
    key = ex.accounts[0]["api_key"]

    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            before = ex.books(key, "spot")["balances"]
            st, o = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                           "quantity": "0.002"})
            assert st == 200 and o["status"] in ("FILLED", "EXPIRED", "PARTIALLY_FILLED"), o
            assert o["fills"], o
            cost = sum(Decimal(f["price"]) * Decimal(f["qty"]) + Decimal(f["commission"]) for f in o["fills"])
            got = sum(Decimal(f["qty"]) for f in o["fills"])
            after = ex.books(key, "spot")["balances"]
            assert Decimal(before["USDT"]["free"]) - Decimal(after["USDT"]["free"]) == cost
            assert Decimal(after["BTC"]["free"]) - Decimal(before["BTC"]["free"]) == got
            assert after["USDT"]["locked"] == before["USDT"]["locked"]
            st, trades = await c.call("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "orderId": o["orderId"]})
            assert [t["id"] for t in trades] == [f["tradeId"] for f in o["fills"]]
            # quoteOrderQty sell
            st, o2 = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                            "quoteOrderQty": "60", "newOrderRespType": "RESULT"})
            assert st == 200 and "fills" not in o2 and Decimal(o2["origQty"]) == Decimal("0.001")
    run(go())


@pytest.mark.parametrize("params, code, msg", [
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "100.001"}, -1013, "Filter failure: PRICE_FILTER"),
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.0101", "price": "40000"}, -1013, "Filter failure: LOT_SIZE"),
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "1000"}, -1013, "Filter failure: NOTIONAL"),
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "40000"}, -2010, "Account has insufficient balance for requested action."),
    ({"type": "LIMIT", "quantity": "0.01", "price": "40000"}, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    ({"type": "LIMIT", "timeInForce": "DAY", "quantity": "0.01", "price": "40000"}, -1115, "Invalid timeInForce."),
    ({"type": "NOPE", "quantity": "0.01"}, -1116, "Invalid orderType."),
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "4e4"}, -1100, None),
    ({"type": "STOP_LOSS", "quantity": "0.01"}, -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."),
])
def test_spot_new_order_errors(ex, params, code, msg) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            st, e = await client(ex, s).call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", **params})
            assert st == 400 and e["code"] == code, e
            if msg:
                assert e["msg"] == msg
    run(go())


def test_limit_maker_would_take_and_test_order(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            st, e = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER",
                                                           "quantity": "0.01", "price": _above(ex, ticks=100)})
            assert e == {"code": -2010, "msg": "Order would immediately match and take."}
            n = len(ex.books(c.key, "spot")["orders"])
            assert await c.call("POST", "/api/v3/order/test", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                               "timeInForce": "GTC", "quantity": "0.01",
                                                               "price": _below(ex)}) == (200, {})
            assert len(ex.books(c.key, "spot")["orders"]) == n
    run(go())


def test_spot_stop_loss_limit_rests_not_working(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            stop = _below(ex, ticks=5000)
            st, o = await c.call("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
                                                           "timeInForce": "GTC", "quantity": "0.01", "stopPrice": stop,
                                                           "price": stop})
            assert st == 200 and set(o) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
            st, q = await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]})
            assert q["status"] == "NEW" and q["isWorking"] is False and q["stopPrice"] == f"{Decimal(stop):.8f}"
            assert (await c.call("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}))[0] == 200
            assert (await c.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}))[1] == []
    run(go())


def test_futures_orders_positions_and_errors(ex) -> None:
    key = ex.accounts[0]["api_key"]

    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            assert (await c.call("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 10}))[1]["leverage"] == 10
            st, e = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                            "quantity": "0.01", "reduceOnly": "true"})
            assert e == {"code": -2022, "msg": "ReduceOnly Order is rejected."}
            st, e = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
                                                            "quantity": "0.01", "stopPrice": _above(ex, "usdm")})
            assert e["code"] == -4120
            st, e = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                            "quantity": "5"})
            assert e == {"code": -2019, "msg": "Margin is insufficient."}
            st, o = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                            "quantity": "0.01", "newClientOrderId": "fm-1"})
            assert st == 200 and o["status"] == "FILLED", o
            assert "X-MBX-ORDER-COUNT-1M" in c.last_headers
            books = ex.books(key, "usdm")
            assert books["positions"][0]["positionAmt"] == "0.01"
            fill = books["fills"][-1]
            assert Decimal(books["positions"][0]["entryPrice"]) == Decimal(fill["price"])
            st, risk = await c.call("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
            assert risk[0]["positionAmt"] == "0.01" and risk[0]["leverage"] == "10"
            st, e = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                            "timeInForce": "GTX", "quantity": "0.01", "price": _above(ex, "usdm", 100)})
            assert e["code"] == -5022
            price = _below(ex, "usdm")
            st, lo = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                             "timeInForce": "GTC", "quantity": "0.01", "price": price,
                                                             "newClientOrderId": "fl-1"})
            assert lo["status"] == "NEW"
            st, e = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                            "timeInForce": "GTC", "quantity": "0.01", "price": price,
                                                            "newClientOrderId": "fl-1"})
            assert e == {"code": -4116, "msg": "ClientOrderId is duplicated."}
            st, acc = await c.call("GET", "/fapi/v2/account")
            assert Decimal(acc["totalOpenOrderInitialMargin"]) == Decimal(price) * Decimal("0.01") / 10
            assert (await c.call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}))[1][0]["orderId"] == lo["orderId"]
            st, cx = await c.call("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "fl-1"})
            assert cx["status"] == "CANCELED"
            assert (await c.call("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": lo["orderId"]}))[1]["code"] == -2011
            st, close = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                                                "quantity": "0.01", "reduceOnly": "true"})
            assert close["status"] == "FILLED"
            books = ex.books(key, "usdm")
            assert books["positions"][0]["positionAmt"] == "0"
            fills = books["fills"][-2:]
            pnl = (Decimal(fills[1]["price"]) - Decimal(fills[0]["price"])) * Decimal("0.01")
            fees = sum(Decimal(f["commission"]) for f in books["fills"])
            realized = sum(Decimal(f["realizedPnl"]) for f in books["fills"])
            assert Decimal(fills[1]["realizedPnl"]) == pnl
            assert Decimal(books["balances"]["USDT"]["wallet"]) == Decimal(10000) + realized - fees
            st, trades = await c.call("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
            assert [t["id"] for t in trades] == [f["id"] for f in books["fills"]]
    run(go())


def test_futures_algo_orders(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            trig = _above(ex, "usdm", 50000)
            st, a = await c.call("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                                "side": "BUY", "type": "STOP_MARKET", "quantity": "0.01",
                                                                "triggerPrice": trig, "clientAlgoId": "algo-1"})
            assert st == 200 and a["algoStatus"] == "NEW" and a["clientAlgoId"] == "algo-1", a
            st, tr = await c.call("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                                 "side": "SELL", "type": "TRAILING_STOP_MARKET",
                                                                 "quantity": "0.01", "callbackRate": "1"})
            assert st == 200 and tr["algoStatus"] == "NEW", tr
            st, open_ = await c.call("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"})
            assert {x["algoId"] for x in open_} == {a["algoId"], tr["algoId"]}
            keys = {"algoId", "clientAlgoId", "algoType", "type", "symbol", "side", "positionSide", "timeInForce",
                    "quantity", "algoStatus", "triggerPrice", "workingType", "reduceOnly", "createTime", "updateTime"}
            assert keys <= open_[0].keys()
            st, cx = await c.call("DELETE", "/fapi/v1/algoOrder", {"algoId": a["algoId"]})
            assert st == 200 and cx["algoId"] == a["algoId"]
            st, q = await c.call("GET", "/fapi/v1/algoOrder", {"algoId": a["algoId"]})
            assert q["algoStatus"] == "CANCELED"
            assert (await c.call("DELETE", "/fapi/v1/algoOrder", {"algoId": a["algoId"]}))[1]["code"] == -2011
            assert (await c.call("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}))[0] == 200
            assert (await c.call("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}))[1] == []
    run(go())


def test_futures_modify_and_cancel_all_algo(ex) -> None:
    """PUT /fapi/v1/order changes a limit order's quantity and price (a price through the touch
    trades at once); its refusals; DELETE /fapi/v1/algoOpenOrders leaves plain orders alone."""
    key = ex.accounts[0]["api_key"]

    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            price = _below(ex, "usdm")
            st, lo = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                             "timeInForce": "GTC", "quantity": "0.01", "price": price,
                                                             "newClientOrderId": "fmod-1"})
            assert lo["status"] == "NEW"
            lower = str(Decimal(price) - 1)
            mod = {"symbol": "BTCUSDT", "origClientOrderId": "fmod-1", "side": "BUY", "quantity": "0.02", "price": lower}
            st, m = await c.call("PUT", "/fapi/v1/order", mod)
            assert st == 200 and Decimal(m["origQty"]) == Decimal("0.02") and Decimal(m["price"]) == Decimal(lower), m
            st, q = await c.call("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "fmod-1"})
            assert (Decimal(q["origQty"]), Decimal(q["price"]), q["status"]) == (Decimal("0.02"), Decimal(lower), "NEW")
            assert (await c.call("PUT", "/fapi/v1/order", mod))[1]["code"] == -5027  # nothing to change
            assert (await c.call("PUT", "/fapi/v1/order", mod | {"origClientOrderId": "nope"}))[1]["code"] == -2013
            assert (await c.call("PUT", "/fapi/v1/order", mod | {"side": "SELL"}))[1]["code"] == -1130
            assert (await c.call("PUT", "/fapi/v1/order", mod | {"price": "0.001"}))[1]["code"] == -4014  # tick size
            # through the touch: it trades at once
            st, m = await c.call("PUT", "/fapi/v1/order", mod | {"price": _above(ex, "usdm", 100)})
            assert st == 200
            st, q = await c.call("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "fmod-1"})
            assert Decimal(q["executedQty"]) > 0, q
            assert [f for f in ex.books(key, "usdm")["fills"] if f["orderId"] == lo["orderId"]]
            # algo orders only
            st, keep = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                               "timeInForce": "GTC", "quantity": "0.01",
                                                               "price": _below(ex, "usdm"), "newClientOrderId": "keep-1"})
            for i in range(2):
                st, a = await c.call("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT",
                                                                    "side": "BUY", "type": "STOP_MARKET", "quantity": "0.01",
                                                                    "triggerPrice": _above(ex, "usdm", 5000 + i)})
                assert st == 200, a
            st, r = await c.call("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "BTCUSDT"})
            assert st == 200, r
            assert (await c.call("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}))[1] == []
            st, q = await c.call("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "keep-1"})
            assert q["status"] == "NEW"
            await c.call("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    run(go())


def test_countdown_cancel_all(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            st, lo = await c.call("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                                             "timeInForce": "GTC", "quantity": "0.01",
                                                             "price": _below(ex, "usdm")})
            assert lo["status"] == "NEW"
            assert (await c.call("POST", "/fapi/v1/countdownCancelAll", {"symbol": "BTCUSDT", "countdownTime": 200}))[0] == 200
            for _ in range(100):
                await asyncio.sleep(0.05)
                if (await c.call("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": lo["orderId"]}))[1]["status"] == "CANCELED":
                    break
            else:
                raise AssertionError("the countdown did not cancel the order")
    run(go())


def test_listen_key_lifecycle(ex) -> None:
    async def go():
        async with aiohttp.ClientSession() as s:
            c = client(ex, s)
            st, lk = await c.call("POST", "/fapi/v1/listenKey", signed=False)
            assert st == 200 and len(lk["listenKey"]) == 64
            assert (await c.call("POST", "/fapi/v1/listenKey", signed=False))[1] == lk  # the active key again
            assert (await c.call("PUT", "/fapi/v1/listenKey", signed=False))[0] == 200
            assert (await c.call("DELETE", "/fapi/v1/listenKey", signed=False))[1] == {}
            assert (await c.call("PUT", "/fapi/v1/listenKey", signed=False))[1] == \
                {"code": -1125, "msg": "This listenKey does not exist."}
    run(go())


def test_weights_429_then_418() -> None:
    with serve_in_thread(feed_options={"seed": 1, "rate": 50}, accounts=ACCOUNTS[:1],
                         rate_limits={"spot_weight": 10, "ban_s": 30}) as ex:
        room_in_window(60)

        async def go():
            async with aiohttp.ClientSession() as s:
                c = client(ex, s)
                for i in range(10):
                    st, _ = await c.call("GET", "/api/v3/ping", signed=False)
                    assert st == 200 and c.last_headers["X-MBX-USED-WEIGHT-1M"] == str(i + 1)
                st, e = await c.call("GET", "/api/v3/ping", signed=False)
                assert st == 429 and e["code"] == -1003 and int(c.last_headers["Retry-After"]) >= 1
                # at once: a request already on its way when the 429 left gets another 429
                st, e = await c.call("GET", "/api/v3/ping", signed=False)
                assert st == 429
                await asyncio.sleep(RETRY_GRACE_S + 0.05)  # it read the 429 and kept going
                st, e = await c.call("GET", "/api/v3/time", signed=False)
                assert st == 418 and int(c.last_headers["Retry-After"]) >= 1
                st, _ = await c.call("GET", "/fapi/v1/time", signed=False)
                assert st == 418  # the ban is per IP
        run(go())
        stats = ex.stats()
        assert stats["429"] == 2 and stats["418"] >= 2


def test_spot_order_count_limit() -> None:
    with serve_in_thread(feed_options={"seed": 1, "rate": 50}, accounts=ACCOUNTS[:1],
                         rate_limits={"spot_orders_10s": 2}) as ex:
        room_in_window(10, 5.0)

        async def go():
            async with aiohttp.ClientSession() as s:
                c = client(ex, s)
                while None in ex.top("spot"):
                    await asyncio.sleep(0.02)
                p = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
                     "price": _below(ex)}
                assert (await c.call("POST", "/api/v3/order", p))[0] == 200
                assert (await c.call("POST", "/api/v3/order", p))[0] == 200
                st, e = await c.call("POST", "/api/v3/order", p)
                assert st == 429 and e["code"] == -1015 and c.last_headers["X-MBX-ORDER-COUNT-10S"] == "3"
        run(go())


def test_bad_construction_inputs() -> None:
    from trader.exceptions import InvalidInputError

    with pytest.raises(InvalidInputError, match="venue"):
        with serve_in_thread(venue="kraken"):
            pass
    with pytest.raises(InvalidInputError, match="feed"):
        with serve_in_thread(feed="nothing"):
            pass
    with pytest.raises(InvalidInputError, match="accounts: account 1: secret"):
        with serve_in_thread(accounts=[{"api_key": "k"}]):
            pass
    with pytest.raises(InvalidInputError, match="chaos: unknown mode"):
        with serve_in_thread(chaos="explode=1"):
            pass
