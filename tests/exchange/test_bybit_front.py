"""The local exchange's Bybit v5 front (``venue="bybit"``): REST, signatures, errors, rate limits,
the public book and trade streams, the private topics, chaos on its streams, and ccxt's ``bybit``.

Message shapes are checked against the documented Bybit v5 payloads in the shared data
(``ws_fixtures/nautilus/crates/adapters/bybit/test_data``) with the comparison of
``test_fixture_shapes.py``: every key of the fixture, recursively, with the same JSON type (a
fixture ``null`` accepts anything); extra keys are allowed. Requests are signed with trader's own
client-side signer (``trader_plugins.venues.bybit.auth``), which the exchange checks with the
server-side ``verify``. Amounts are checked exactly against ``ex.books`` and hand-computed values.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import pytest

from tests.exchange._front_client import (FEED, above, below, fixture, fixtures_dir, run, same_shape, serve_front,
                                          until, wait_books)
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader_plugins.venues.bybit import auth as bybit_auth
from trader_plugins.venues.common.auth import Credentials

FIXTURES = "ws_fixtures/nautilus/crates/adapters/bybit/test_data"
ACCOUNT: dict[str, Any] = {"api_key": "bybitFrontKey0123456789abcdef", "secret": "bybitFrontSecret0123456789abcdef",
                           "balances": {"USDT": 100000, "BTC": 2}}
POOR: dict[str, Any] = {"api_key": "bybitPoorKey0123456789abcdef", "secret": "bybitPoorSecret0123456789abcdef",
                        "balances": {"USDT": 20, "BTC": 0}}
CCXT: dict[str, Any] = {"api_key": "bybitCcxtKey0123456789abcdef", "secret": "bybitCcxtSecret0123456789abcdef",
                        "balances": {"USDT": 10000, "BTC": 1}}
D = Decimal


@pytest.fixture(scope="module")
def data_dir(shared_data: Path) -> Path:
    """The Bybit fixtures (tests/conftest.py: skipped without the shared data on a developer
    machine, failed under CI=true)."""
    return fixtures_dir(shared_data, FIXTURES, "Bybit")


@pytest.fixture(scope="module")
def ex() -> Iterator[ExchangeHandle]:
    yield from serve_front("bybit", [ACCOUNT, POOR, CCXT])


class Client:
    """A raw Bybit v5 REST client: signed with trader's Bybit signer."""

    def __init__(self, session: aiohttp.ClientSession, ex: ExchangeHandle, account: dict[str, Any]) -> None:
        self.s, self.base = session, ex.base_url
        self.cred = Credentials(account["api_key"], account["secret"])
        self.headers: dict[str, str] = {}

    async def get(self, path: str, params: dict[str, Any] | None = None, signed: bool = True,
                  ts_offset: int = 0) -> dict[str, Any]:
        query, _, headers = bybit_auth.signed_payload(self.cred, "GET", query=params or {},
                                                      timestamp_ms=int(time.time() * 1000) + ts_offset)
        async with self.s.get(f"{self.base}{path}?{query}", headers=headers if signed else {}) as r:
            assert r.status == 200, await r.text()
            self.headers = dict(r.headers)
            return await r.json()

    async def post(self, path: str, body: dict[str, Any], ts_offset: int = 0,
                   tamper: bool = False) -> dict[str, Any]:
        _, text, headers = bybit_auth.signed_payload(self.cred, "POST", body=body,
                                                     timestamp_ms=int(time.time() * 1000) + ts_offset)
        if tamper:
            text = text.replace('"qty":"', '"qty":"1')
        async with self.s.post(f"{self.base}{path}", data=text, headers=headers) as r:
            assert r.status == 200, await r.text()
            self.headers = dict(r.headers)
            return await r.json()


def ok(resp: dict[str, Any]) -> Any:
    assert resp["retCode"] == 0, resp
    return resp["result"]


async def flatten(c: Client) -> None:
    """Close the linear BTCUSDT position with reduce-only market orders (each takes at most the
    touch's size)."""
    for _ in range(100):
        pos = (await c.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}))["result"]["list"][0]
        if not D(pos["size"]):
            return
        ok(await c.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT",
                                             "side": "Buy" if pos["side"] == "Sell" else "Sell",
                                             "orderType": "Market", "qty": pos["size"], "reduceOnly": True}))
        await asyncio.sleep(0.15)  # under the 10 orders a second of order/create
    raise AssertionError("the position did not close")


# ------------------------------------------------------------------------------------------------
# construction and the CLI
# ------------------------------------------------------------------------------------------------
def test_unknown_venue_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match=r"venue: unknown venue 'kraken' \(served: binance, bybit, okx\)"):
        with serve_in_thread(venue="kraken"):
            pass


def test_cli_accepts_bybit() -> None:
    from click.testing import CliRunner

    from trader.cli import exchange_serve

    # the option's choices: bybit is one (a bad port stops it before it serves)
    result = CliRunner().invoke(exchange_serve, ["--venue", "bybit", "--port", "70000"])
    assert "--port" in result.output and "'bybit' is not" not in result.output and result.exit_code == 2


# ------------------------------------------------------------------------------------------------
# public REST
# ------------------------------------------------------------------------------------------------
def test_public_rest_shapes_and_values(ex: ExchangeHandle, data_dir: Path) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            t = ok(await c.get("/v5/market/time", signed=False))
            assert abs(int(t["timeSecond"]) - time.time()) < 5 and t["timeNano"].startswith(t["timeSecond"])
            for cat in ("spot", "linear"):
                r = await c.get("/v5/market/instruments-info", {"category": cat}, signed=False)
                same_shape(fixture(data_dir, f"http_get_instruments_{cat}"), r)
                (inst,) = r["result"]["list"]
                assert inst["symbol"] == "BTCUSDT" and inst["priceFilter"]["tickSize"] == "0.01"
            await until(lambda: ex.run(lambda e: bool(e.markets[("usdm", "BTCUSDT")].trades)))
            r = await c.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": 50},
                            signed=False)
            same_shape(fixture(data_dir, "http_get_orderbook"), r)
            book = r["result"]
            assert [D(p) for p, _ in book["b"]] == sorted((D(p) for p, _ in book["b"]), reverse=True)
            assert D(book["b"][0][0]) < D(book["a"][0][0])
            r = await c.get("/v5/market/recent-trade", {"category": "linear", "symbol": "BTCUSDT", "limit": 5},
                            signed=False)
            same_shape(fixture(data_dir, "http_get_trades_recent"), r)
            rows = r["result"]["list"]
            assert [int(x["execId"]) for x in rows] == sorted((int(x["execId"]) for x in rows), reverse=True)
            r = await c.get("/v5/market/tickers", {"category": "spot", "symbol": "BTCUSDT"}, signed=False)
            row = ok(r)["list"][0]
            assert D(row["bid1Price"]) < D(row["ask1Price"]) and row["symbol"] == "BTCUSDT"
            # bad input: named
            r = await c.get("/v5/market/orderbook", {"category": "inverse", "symbol": "BTCUSD"}, signed=False)
            assert r["retCode"] == 10001 and "category" in r["retMsg"]
            r = await c.get("/v5/market/orderbook", {"category": "spot", "symbol": "DOGEUSDT"}, signed=False)
            assert r["retCode"] == 170121
            r = await c.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": 501},
                            signed=False)
            assert r["retCode"] == 10001 and "limit" in r["retMsg"]

    run(go())


# ------------------------------------------------------------------------------------------------
# signed lifecycle
# ------------------------------------------------------------------------------------------------
def test_linear_order_lifecycle(ex: ExchangeHandle, data_dir: Path) -> None:
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            # a resting buy: realtime shows it, in the documented shape
            r = ok(await c.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Limit", "qty": "0.01", "price": below(ex, "usdm"),
                                                     "timeInForce": "GTC", "orderLinkId": "lin-1"}))
            assert r["orderLinkId"] == "lin-1"
            oid = r["orderId"]
            assert c.headers["X-Bapi-Limit"] == "10" and c.headers["X-Bapi-Limit-Status"].isdigit()
            assert int(c.headers["X-Bapi-Limit-Reset-Timestamp"]) > time.time() * 1000 - 1000
            r = await c.get("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
            same_shape(fixture(data_dir, "http_get_orders_realtime"), r)
            (row,) = [x for x in r["result"]["list"] if x["orderId"] == oid]
            assert row["orderStatus"] == "New" and row["qty"] == "0.01" and row["leavesQty"] == "0.01"
            # amend: a larger qty, then a price through the ask: it trades at once
            ok(await c.post("/v5/order/amend", {"category": "linear", "symbol": "BTCUSDT", "orderId": oid,
                                                "qty": "0.02"}))
            order = next(o for o in ex.books(key, "usdm")["orders"] if o["orderId"] == int(oid))
            assert order["origQty"] == "0.02" and order["status"] == "NEW"
            ok(await c.post("/v5/order/amend", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "lin-1",
                                                "price": above(ex, "usdm")}))
            await until(lambda: next(o for o in ex.books(key, "usdm")["orders"]
                                     if o["orderId"] == int(oid))["status"] == "FILLED")
            r = await c.get("/v5/order/history", {"category": "linear", "orderId": oid})
            same_shape(fixture(data_dir, "http_get_orders_history"), r)
            (row,) = r["result"]["list"]
            assert row["orderStatus"] == "Filled" and row["cumExecQty"] == "0.02" and row["leavesQty"] == "0"
            # executions: values add up and match the books
            r = await c.get("/v5/execution/list", {"category": "linear", "symbol": "BTCUSDT", "orderId": oid})
            same_shape(fixture(data_dir, "http_get_executions"), r)
            fills = [f for f in ex.books(key, "usdm")["fills"] if f["orderId"] == int(oid)]
            execs = r["result"]["list"]
            assert sorted(D(e["execQty"]) for e in execs) == sorted(D(f["qty"]) for f in fills)
            assert sum(D(e["execQty"]) for e in execs) == D("0.02")
            for e in execs:
                assert D(e["execValue"]) == D(e["execPrice"]) * D(e["execQty"])
                assert D(e["feeRate"]) == (D("0.0002") if e["isMaker"] else D("0.0005"))
            assert sum(D(e["execFee"]) for e in execs) == sum(D(f["commission"]) for f in fills)
            assert D(row["cumExecFee"]) == sum(D(f["commission"]) for f in fills)
            # the position: long 0.02 at the fills' average
            r = await c.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
            same_shape(fixture(data_dir, "http_get_positions"), r)
            (pos,) = r["result"]["list"]
            avg = sum(D(e["execPrice"]) * D(e["execQty"]) for e in execs) / D("0.02")
            assert pos["side"] == "Buy" and pos["size"] == "0.02" and D(pos["avgPrice"]) == avg
            # a reduce-only sell resting above, canceled; then cancel-all has nothing left
            r = ok(await c.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Sell",
                                                     "orderType": "Limit", "qty": "0.01", "price": above(ex, "usdm", 5000),
                                                     "reduceOnly": True, "timeInForce": "PostOnly"}))
            ro = r["orderId"]
            ok(await c.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": ro}))
            r = await c.get("/v5/order/history", {"category": "linear", "orderId": ro})
            (row,) = r["result"]["list"]
            assert row["orderStatus"] == "Cancelled" and row["reduceOnly"] is True and row["timeInForce"] == "PostOnly"
            assert ok(await c.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}))["list"] == []
            # the wallet: the linear fees come off the USDT balance
            r = await c.get("/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT"})
            same_shape(fixture(data_dir, "http_get_wallet_balance"), r)
            (usdt,) = r["result"]["list"][0]["coin"]
            spot = ex.books(key, "spot")["balances"]["USDT"]
            fut = ex.books(key, "usdm")["balances"]["USDT"]
            assert D(usdt["walletBalance"]) == D(spot["free"]) + D(spot["locked"]) + D(fut["wallet"]) - 100000

    run(go())


def test_partial_fill_then_cancel(ex: ExchangeHandle) -> None:
    """An IOC larger than the touch (the synthetic feed's top sizes are at most 2) fills what is
    there and the rest is cancelled."""
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as c0:
            c = Client(c0, ex, ACCOUNT)
            r = ok(await c.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Sell",
                                                     "orderType": "Limit", "qty": "3", "price": below(ex, "usdm", 500),
                                                     "timeInForce": "IOC"}))
            oid = int(r["orderId"])
            await until(lambda: next(o for o in ex.books(key, "usdm")["orders"] if o["orderId"] == oid)["status"]
                        not in ("NEW", "PARTIALLY_FILLED"))
            o = next(o for o in ex.books(key, "usdm")["orders"] if o["orderId"] == oid)
            row = (await c.get("/v5/order/history", {"category": "linear", "orderId": str(oid)}))["result"]["list"][0]
            assert D(row["cumExecQty"]) == D(o["executedQty"]) and 0 < D(o["executedQty"]) < 3, row
            assert row["orderStatus"] == "Cancelled" and D(row["leavesQty"]) == 0
            await flatten(c)

    run(go())


def test_spot_order_lifecycle(ex: ExchangeHandle, data_dir: Path) -> None:
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            before = ex.books(key, "spot")["balances"]
            price = below(ex, "spot")
            r = ok(await c.post("/v5/order/create", {"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Limit", "qty": "0.01", "price": price}))
            oid = r["orderId"]
            locked = ex.books(key, "spot")["balances"]["USDT"]["locked"]
            assert D(locked) - D(before["USDT"]["locked"]) == D(price) * D("0.01") * D("1.001")
            ok(await c.post("/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderId": oid}))
            assert ex.books(key, "spot")["balances"]["USDT"] == before["USDT"]
            row = (await c.get("/v5/order/history", {"category": "spot", "orderId": oid}))["result"]["list"][0]
            assert row["orderStatus"] == "Cancelled"
            # a buy through the ask: filled; the BTC and USDT move by the executions exactly
            r = ok(await c.post("/v5/order/create", {"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Limit", "qty": "0.01", "price": above(ex, "spot"),
                                                     "timeInForce": "IOC", "orderLinkId": "spot-ioc"}))
            oid = r["orderId"]
            await until(lambda: next(o for o in ex.books(key, "spot")["orders"]
                                     if o["orderId"] == int(oid))["status"] in ("FILLED", "EXPIRED"))
            execs = (await c.get("/v5/execution/list", {"category": "spot", "orderId": oid}))["result"]["list"]
            assert execs and all(e["orderLinkId"] == "spot-ioc" for e in execs)
            got = sum(D(e["execQty"]) for e in execs)
            paid = sum(D(e["execValue"]) + D(e["execFee"]) for e in execs)
            after = ex.books(key, "spot")["balances"]
            assert D(after["BTC"]["free"]) - D(before["BTC"]["free"]) == got
            assert D(before["USDT"]["free"]) - D(after["USDT"]["free"]) == paid
            w = (await c.get("/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "BTC"}))["result"]
            assert D(w["list"][0]["coin"][0]["walletBalance"]) == D(after["BTC"]["free"]) + D(after["BTC"]["locked"])

    run(go())


# ------------------------------------------------------------------------------------------------
# errors and limits
# ------------------------------------------------------------------------------------------------
def test_error_codes(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            await asyncio.sleep(1.0 - time.time() % 1.0)  # a fresh second of the order-rate window
            c = Client(s, ex, ACCOUNT)
            order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
                     "price": below(ex, "usdm")}
            r = await c.post("/v5/order/create", order, tamper=True)
            assert r["retCode"] == 10004 and "error sign" in r["retMsg"]
            r = await c.post("/v5/order/create", order, ts_offset=-10_000)
            assert r["retCode"] == 10002 and "recv_window" in r["retMsg"]
            r = await c.post("/v5/order/create", order, ts_offset=2_000)
            assert r["retCode"] == 10002
            stranger = Client(s, ex, {"api_key": "nobodyKey123", "secret": "nobodySecret123"})
            r = await stranger.get("/v5/order/realtime", {"category": "linear"})
            assert r["retCode"] == 10003
            r = await c.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": "987654"})
            assert r["retCode"] == 110001
            r = await c.post("/v5/order/amend", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "nope",
                                                 "price": "1"})
            assert r["retCode"] == 170213
            r = await c.post("/v5/order/create", {**order, "qty": "0.0101"})
            assert r["retCode"] == 10001 and "qty" in r["retMsg"]
            r = await c.post("/v5/order/create", {**order, "side": "Long"})
            assert r["retCode"] == 10001 and "side" in r["retMsg"]
            poor = Client(s, ex, POOR)
            r = await poor.post("/v5/order/create", {**order, "category": "spot"})
            assert r["retCode"] == 170131
            r = await poor.post("/v5/order/create", {**order, "qty": "1"})
            assert r["retCode"] == 110007
            r = await poor.post("/v5/order/create", {**order, "side": "Sell", "reduceOnly": True})
            assert r["retCode"] == 110017
            ok(await c.post("/v5/order/create", {**order, "orderLinkId": "dup-1"}))
            r = await c.post("/v5/order/create", {**order, "orderLinkId": "dup-1"})
            assert r["retCode"] == 110072
            ok(await c.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}))
        stats = ex.stats()
        for code in (10004, 10002, 10003, 110001, 170213, 170131, 110007, 110072):
            assert stats[f"error{code}"] >= 1, code

    run(go())


def test_rate_limit_10006() -> None:
    with serve_in_thread(venue="bybit", feed_options=FEED, accounts=[ACCOUNT],
                         rate_limits={"bybit_queries_s": 3}) as ex:
        async def go() -> None:
            async with aiohttp.ClientSession() as s:
                c = Client(s, ex, ACCOUNT)
                left = 1.0 - time.time() % 1.0
                if left < 0.5:
                    await asyncio.sleep(left + 0.01)
                codes, status = [], []
                for _ in range(5):
                    r = await c.get("/v5/order/realtime", {"category": "spot"})
                    codes.append(r["retCode"])
                    status.append(c.headers["X-Bapi-Limit-Status"])
                assert codes == [0, 0, 0, 10006, 10006] and status == ["2", "1", "0", "0", "0"]
                assert c.headers["X-Bapi-Limit"] == "3"
                await asyncio.sleep(int(c.headers["X-Bapi-Limit-Reset-Timestamp"]) / 1000 - time.time() + 0.01)
                assert (await c.get("/v5/order/realtime", {"category": "spot"}))["retCode"] == 0

        run(go())


def test_ip_limit_403() -> None:
    """Past ``bybit_ip_5s`` requests in a 5-second window an IP gets HTTP 403 (Bybit's IP limit)."""
    with serve_in_thread(venue="bybit", feed_options=FEED, accounts=[ACCOUNT], rate_limits={"bybit_ip_5s": 3}) as ex:
        async def go() -> None:
            async with aiohttp.ClientSession() as s:
                left = 5.0 - time.monotonic() % 5.0  # the server counts in monotonic 5 s windows
                if left < 2.0:
                    await asyncio.sleep(left + 0.01)
                status = []
                for _ in range(4):
                    async with s.get(f"{ex.base_url}/v5/market/time") as r:
                        status.append(r.status)
                        body = await r.json()
                assert status == [200, 200, 200, 403] and body["retCode"] == 10006
                assert ex.stats()["403"] == 1

        run(go())


# ------------------------------------------------------------------------------------------------
# WebSocket: public
# ------------------------------------------------------------------------------------------------
async def _read(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def _apply(book: dict[str, dict[str, str]], data: dict[str, Any]) -> None:
    for side, key in (("b", "b"), ("a", "a")):
        for p, q in data[key]:
            if D(q) == 0:
                book[side].pop(p, None)
            else:
                book[side][p] = q


def test_public_streams_shapes_and_book_rebuild(data_dir: Path) -> None:
    """Snapshot + deltas rebuild the served book: every time the local book's ``seq`` equals the
    REST book's, the two are the same (a slow feed, so they meet often)."""
    slow = FEED | {"rate": 4}
    with serve_in_thread(venue="bybit", feed_options=slow, accounts=[ACCOUNT]) as ex:
        wait_books(ex)

        async def go() -> None:
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(ex.stream_urls["linear"])
                await ws.send_json({"op": "subscribe", "req_id": "sub-1",
                                    "args": ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]})
                ack = await _read(ws)
                same_shape(fixture(data_dir, "ws_subscription_ack"), ack)
                assert ack["success"] is True and ack["req_id"] == "sub-1"
                snap = await _read(ws)
                same_shape(fixture(data_dir, "ws_orderbook_snapshot"), snap)
                assert snap["type"] == "snapshot" and snap["topic"] == "orderbook.50.BTCUSDT" and snap["data"]["u"] == 1
                book = {"b": dict(snap["data"]["b"]), "a": dict(snap["data"]["a"])}
                u, seq = snap["data"]["u"], snap["data"]["seq"]
                deltas = trades = compared = 0
                c = Client(s, ex, ACCOUNT)
                deadline = time.monotonic() + 20
                while (compared < 3 or trades < 1 or deltas < 3) and time.monotonic() < deadline:
                    m = await _read(ws)
                    if m["topic"].startswith("publicTrade"):
                        same_shape(fixture(data_dir, "ws_public_trade"), m)
                        assert m["data"][0]["S"] in ("Buy", "Sell")
                        trades += 1
                        continue
                    same_shape(fixture(data_dir, "ws_orderbook_delta"), m)
                    assert m["type"] == "delta" and m["data"]["u"] == u + 1 and m["data"]["seq"] > seq
                    u, seq = m["data"]["u"], m["data"]["seq"]
                    _apply(book, m["data"])
                    deltas += 1
                    assert len(book["b"]) <= 50 and len(book["a"]) <= 50
                    rest = (await c.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT",
                                                                 "limit": 50}, signed=False))["result"]
                    if rest["seq"] == seq:
                        assert sorted(book["b"].items(), key=lambda x: -D(x[0])) == [tuple(x) for x in rest["b"]]
                        assert sorted(book["a"].items(), key=lambda x: D(x[0])) == [tuple(x) for x in rest["a"]]
                        compared += 1
                assert compared >= 3 and trades >= 1 and deltas >= 3, (compared, trades, deltas)
                # ping / pong, a bad topic
                await ws.send_json({"op": "ping", "req_id": "p1"})
                while (m := await _read(ws)).get("op") != "ping":
                    pass
                assert m["ret_msg"] == "pong" and m["success"] is True and m["req_id"] == "p1"
                await ws.send_json({"op": "subscribe", "args": ["invalid.topic.BTCUSDT"]})
                while "success" not in (m := await _read(ws)):
                    pass
                same_shape(fixture(data_dir, "ws_subscription_failure"), m)
                assert m["success"] is False and "invalid.topic.BTCUSDT" in m["ret_msg"]
                await ws.close()

        run(go())


def test_level1_snapshot_again_after_3s_unchanged(shared_data: Path) -> None:
    """A replay that ends leaves the book still: linear orderbook.1 sends its snapshot again
    (same ``u``) after 3 s; spot's does not."""
    path = shared_data / "l2_book" / "hftbacktest_raw_ws" / "usdm" / "ethusdt_20240808.gz"
    assert path.is_file(), path
    with serve_in_thread(venue="bybit", feed=f"replay:{path}", feed_options={"speed": "max", "lines": 2000}) as ex:
        deadline = time.monotonic() + 20
        while not ex.stats()["feed_done"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ex.stats()["feed_done"]

        async def go() -> None:
            async with aiohttp.ClientSession() as s:
                lin = await s.ws_connect(ex.stream_urls["linear"])
                spot = await s.ws_connect(ex.stream_urls["spot"])
                for ws in (lin, spot):
                    await ws.send_json({"op": "subscribe", "args": ["orderbook.1.ETHUSDT"]})
                    assert (await _read(ws))["success"] is True
                first, s0 = await _read(lin), await _read(spot)
                t0 = time.monotonic()
                again = await _read(lin, timeout=5)
                assert 2.8 <= time.monotonic() - t0 <= 4.0
                assert first["type"] == again["type"] == "snapshot" and again["data"] == first["data"]
                assert first["data"]["u"] == 1 and s0["type"] == "snapshot"
                with pytest.raises(asyncio.TimeoutError):
                    await _read(spot, timeout=0.5)
                bid, ask = ex.top("usdm")
                assert again["data"]["b"][0][0] == bid and again["data"]["a"][0][0] == ask

        run(go())


def test_chaos_gap_skips_book_updates() -> None:
    with serve_in_thread(venue="bybit", feed_options=FEED, accounts=[ACCOUNT], chaos="gap=0.3", seed=3) as ex:
        wait_books(ex)

        async def go() -> list[int]:
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(ex.stream_urls["spot"])
                await ws.send_json({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
                assert (await _read(ws))["success"] is True
                us = [(await _read(ws))["data"]["u"]]
                while len(us) < 30:
                    us.append((await _read(ws))["data"]["u"])
                await ws.close()
                return us

        us = run(go())
        steps = [b - a for a, b in zip(us, us[1:], strict=False)]
        assert all(st >= 1 for st in steps) and any(st > 1 for st in steps), steps
        assert ex.stats()["chaos"]["gap"] == sum(st - 1 for st in steps)


def test_chaos_on_orders(ex: ExchangeHandle) -> None:
    """``ack_5xx``: the order is placed and answered 503; ``burst429``: a run of ``burst_len``
    10006 answers."""
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            await asyncio.sleep(1.0 - time.time() % 1.0)
            ex.set_chaos("ack_5xx=1")
            try:
                _, text, headers = bybit_auth.signed_payload(c.cred, "POST", body={
                    "category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
                    "price": below(ex, "spot", 5000), "orderLinkId": "chaos-5xx"})
                async with s.post(f"{ex.base_url}/v5/order/create", data=text, headers=headers) as r:
                    assert r.status == 503
            finally:
                ex.set_chaos(None)
            (placed,) = [o for o in ex.books(key, "spot")["orders"] if o["clientOrderId"] == "chaos-5xx"]
            assert placed["status"] == "NEW"
            ok(await c.post("/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "chaos-5xx"}))
            ex.set_chaos("burst429=1,burst_len=3")
            try:
                codes = [(await c.get("/v5/order/realtime", {"category": "spot"}))["retCode"] for _ in range(3)]
            finally:
                ex.set_chaos(None)
            assert codes == [10006, 10006, 10006]
            assert (await c.get("/v5/order/realtime", {"category": "spot"}))["retCode"] == 0
            assert ex.stats()["chaos"]["ack_5xx"] == 1 and ex.stats()["chaos"]["burst429"] == 1

    run(go())


# ------------------------------------------------------------------------------------------------
# WebSocket: private
# ------------------------------------------------------------------------------------------------
def test_private_stream(ex: ExchangeHandle, data_dir: Path) -> None:
    cred = Credentials(ACCOUNT["api_key"], ACCOUNT["secret"])

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(ex.stream_urls["private"])
            await ws.send_json({"op": "subscribe", "args": ["order"]})
            m = await _read(ws)
            assert m["success"] is False and "not authorized" in m["ret_msg"]
            bad = bybit_auth.ws_auth_message(Credentials(ACCOUNT["api_key"], "wrongSecret"))
            await ws.send_json(bad)
            m = await _read(ws)
            same_shape(fixture(data_dir, "ws_auth_failure"), m)
            assert m["success"] is False and m["retCode"] == 10004
            await ws.send_json(bybit_auth.ws_auth_message(cred, expires_ms=int(time.time() * 1000) - 10))
            assert (await _read(ws))["retCode"] == 10002
            await ws.send_json({**bybit_auth.ws_auth_message(cred), "req_id": "auth-1"})
            m = await _read(ws)
            same_shape(fixture(data_dir, "ws_auth_success"), m)
            assert m["success"] is True and m["retCode"] == 0
            await ws.send_json({"op": "subscribe", "args": ["order", "execution", "position", "wallet"]})
            assert (await _read(ws))["success"] is True
            c = Client(s, ex, ACCOUNT)
            r = ok(await c.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                     "orderType": "Market", "qty": "0.01", "orderLinkId": "ws-mkt"}))
            seen: dict[str, list[dict[str, Any]]] = {}
            deadline = time.monotonic() + 10
            while not {"order", "execution", "position", "wallet"} <= set(seen) and time.monotonic() < deadline:
                m = await _read(ws)
                seen.setdefault(m["topic"], []).append(m)
            for topic in ("order", "execution", "position", "wallet"):
                assert topic in seen, topic
                same_shape(fixture(data_dir, f"ws_account_{topic}"), seen[topic][0])
            orders = [row for m in seen["order"] for row in m["data"]]
            assert all(o["orderId"] == r["orderId"] and o["orderLinkId"] == "ws-mkt" for o in orders)
            assert orders[0]["orderStatus"] == "New"
            ex_rows = [row for m in seen["execution"] for row in m["data"]]
            assert all(e["orderId"] == r["orderId"] and e["category"] == "linear" for e in ex_rows)
            await flatten(c)
            await ws.send_json({"op": "ping", "req_id": "p"})
            while (m := await _read(ws)).get("op") != "pong":
                pass
            assert m["req_id"] == "p" and m["args"][0].isdigit()
            await ws.close()

    run(go())


# ------------------------------------------------------------------------------------------------
# ccxt
# ------------------------------------------------------------------------------------------------
def bybit_client(ex: ExchangeHandle, account: dict[str, Any], default_type: str) -> ccxt.bybit:
    """ccxt's Bybit client on the local exchange: spot and linear markets only, a unified account
    (told, so ccxt skips its account-type probes), no currency list (an /v5/asset call)."""
    c = ccxt.bybit({"apiKey": account["api_key"], "secret": account["secret"], "timeout": 5000,
                    "enableRateLimit": False,
                    "options": {"defaultType": default_type, "fetchMarkets": {"types": ["spot", "linear"]},
                                "enableUnifiedAccount": True, "enableUnifiedMargin": False}})
    c.has["fetchCurrencies"] = False
    c.session.trust_env = False

    def local(v: Any) -> Any:
        if isinstance(v, str):
            return re.sub(r"^https?://[^/]+", ex.base_url, v)
        return {k: local(x) for k, x in v.items()} if isinstance(v, dict) else v

    c.urls["api"] = local(c.urls["api"])
    return c


def test_ccxt_places_and_cancels(ex: ExchangeHandle) -> None:
    key = CCXT["api_key"]
    for symbol, market in (("BTC/USDT", "spot"), ("BTC/USDT:USDT", "usdm")):
        c = bybit_client(ex, CCXT, "spot" if market == "spot" else "swap")
        c.load_markets()
        price = float(below(ex, market, 500))
        o = c.create_order(symbol, "limit", "buy", 0.01, price, {"clientOrderId": f"ccxt-{market}"})
        mine = next(x for x in ex.books(key, market)["orders"] if x["orderId"] == int(o["id"]))
        assert mine["status"] == "NEW" and mine["clientOrderId"] == f"ccxt-{market}"
        assert D(mine["price"]) == D(str(price)) and mine["origQty"] == "0.01"
        (open_,) = c.fetch_open_orders(symbol)
        assert open_["id"] == o["id"] and open_["amount"] == 0.01 and open_["price"] == price
        c.cancel_order(o["id"], symbol)
        mine = next(x for x in ex.books(key, market)["orders"] if x["orderId"] == int(o["id"]))
        assert mine["status"] == "CANCELED" and c.fetch_open_orders(symbol) == []
    bal = c.fetch_balance()
    assert bal["USDT"]["total"] == 10000.0 and bal["BTC"]["total"] == 1.0
