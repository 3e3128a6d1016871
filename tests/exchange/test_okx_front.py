"""The local exchange's OKX v5 front (``venue="okx"``): REST, signatures and passphrases, errors,
rate limits, the public books and trades channels, the private channels, chaos on its streams, and
ccxt's ``okx``.

Message shapes are checked against the documented OKX v5 payloads in the shared data
(``ws_fixtures/nautilus/crates/adapters/okx/test_data``) with the comparison of
``test_fixture_shapes.py``: every key of the fixture, recursively, with the same JSON type (a
fixture ``null`` accepts anything); extra keys are allowed. Requests are signed with trader's own
client-side signer (``trader_plugins.venues.okx.auth``), which the exchange checks with the
server-side ``verify``; the book stream is rebuilt with trader's OKX book client
(``trader_plugins.venues.okx.book.OkxBookSync``, which checks ``seqId``/``prevSeqId`` and the
checksum). Amounts are checked exactly against ``ex.books`` and hand-computed values.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import pytest
from yarl import URL

from tests.exchange._front_client import (FEED, below, fixture, fixtures_dir, run, same_shape, serve_front,
                                          until, wait_books)
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader.exchange.accounts import default_account, load_accounts
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.okx import auth as okx_auth
from trader_plugins.venues.okx.book import OkxBookSync

FIXTURES = "ws_fixtures/nautilus/crates/adapters/okx/test_data"
ACCOUNT: dict[str, Any] = {"api_key": "okxFrontKey0123456789abcdef", "secret": "okxFrontSecret0123456789abcdef",
                           "passphrase": "Front-Pass1", "balances": {"USDT": 100000, "BTC": 2}}
POOR: dict[str, Any] = {"api_key": "okxPoorKey0123456789abcdef", "secret": "okxPoorSecret0123456789abcdef",
                        "passphrase": "Poor-Pass1", "balances": {"USDT": 20, "BTC": 0}}
CCXT: dict[str, Any] = {"api_key": "okxCcxtKey0123456789abcdef", "secret": "okxCcxtSecret0123456789abcdef",
                        "passphrase": "Ccxt-Pass1", "balances": {"USDT": 10000, "BTC": 1}}
D = Decimal
CT_VAL = D("0.01")


@pytest.fixture(scope="module")
def data_dir(shared_data: Path) -> Path:
    """The OKX fixtures (tests/conftest.py: skipped without the shared data on a developer machine,
    failed under CI=true)."""
    return fixtures_dir(shared_data, FIXTURES, "OKX")


@pytest.fixture(scope="module")
def ex() -> Iterator[ExchangeHandle]:
    yield from serve_front("okx", [ACCOUNT, POOR, CCXT])


class Client:
    """A raw OKX v5 REST client: signed with trader's OKX signer."""

    def __init__(self, session: aiohttp.ClientSession, ex: ExchangeHandle, account: dict[str, Any],
                 passphrase: str | None = None) -> None:
        self.s, self.base = session, ex.base_url
        self.cred = Credentials(account["api_key"], account["secret"], passphrase or account["passphrase"])
        self.status = 0

    async def get(self, path: str, params: dict[str, Any] | None = None, signed: bool = True,
                  ts_offset: int = 0) -> dict[str, Any]:
        full, _, headers = okx_auth.signed_payload(self.cred, "GET", path, query=params or {},
                                                   timestamp_ms=int(time.time() * 1000) + ts_offset)
        # encoded=True: the query string goes out as signed (yarl would otherwise unquote %2C)
        async with self.s.get(URL(f"{self.base}{full}", encoded=True), headers=headers if signed else {}) as r:
            self.status = r.status
            return await r.json()

    async def post(self, path: str, body: Any, ts_offset: int = 0, tamper: bool = False) -> dict[str, Any]:
        full, text, headers = okx_auth.signed_payload(self.cred, "POST", path, body=body,
                                                      timestamp_ms=int(time.time() * 1000) + ts_offset)
        if tamper:
            text = text.replace('"sz":"', '"sz":"1')
        async with self.s.post(f"{self.base}{full}", data=text, headers=headers) as r:
            self.status = r.status
            return await r.json()

    async def order(self, body: dict[str, Any]) -> dict[str, Any]:
        """Place one order; its ``data`` row (asserted accepted)."""
        r = await self.post("/api/v5/trade/order", body)
        assert r["code"] == "0" and r["data"][0]["sCode"] == "0", r
        return r["data"][0]  # type: ignore[no-any-return]


def ok(resp: dict[str, Any]) -> Any:
    assert resp["code"] == "0", resp
    return resp["data"]


def order_of(ex: ExchangeHandle, key: str, market: str, oid: str) -> dict[str, Any]:
    (o,) = [o for o in ex.books(key, market)["orders"] if str(o["orderId"]) == oid]
    return o  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------
# construction, accounts, the CLI
# ------------------------------------------------------------------------------------------------
def test_accounts_carry_a_passphrase() -> None:
    (a,) = load_accounts([ACCOUNT])
    assert a.passphrase == "Front-Pass1" and "Front-Pass1" not in repr(a)
    assert load_accounts([{"api_key": "k", "secret": "s"}])[0].passphrase is None
    with pytest.raises(InvalidInputError, match=r"account 1: passphrase must be a non-empty string"):
        load_accounts([{"api_key": "k", "secret": "s", "passphrase": ""}])
    with pytest.raises(InvalidInputError, match=r"account 1: passphrase must be a non-empty string"):
        load_accounts([{"api_key": "k", "secret": "s", "passphrase": 1234}])
    demo = default_account()
    assert isinstance(demo.passphrase, str) and len(demo.passphrase) >= 8
    # the okx venue refuses an account without one, naming it
    with pytest.raises(InvalidInputError, match=r"okx venue needs a passphrase .* api_key okxN… has none"):
        with serve_in_thread(venue="okx", accounts=[{"api_key": "okxNoPass", "secret": "s"}]):
            pass


def test_unknown_venue_lists_okx() -> None:
    with pytest.raises(InvalidInputError, match=r"venue: unknown venue 'kraken' \(served: binance, bybit, okx\)"):
        with serve_in_thread(venue="kraken"):
            pass


def test_cli_accepts_okx() -> None:
    from click.testing import CliRunner

    from trader.cli import exchange_serve

    result = CliRunner().invoke(exchange_serve, ["--venue", "okx", "--port", "70000"])
    assert "--port" in result.output and "'okx' is not" not in result.output and result.exit_code == 2


# ------------------------------------------------------------------------------------------------
# public REST
# ------------------------------------------------------------------------------------------------
def test_public_rest_shapes_and_values(ex: ExchangeHandle, data_dir: Path) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            (t,) = ok(await c.get("/api/v5/public/time", signed=False))
            assert abs(int(t["ts"]) / 1000 - time.time()) < 5
            for kind, name in (("SPOT", "spot"), ("SWAP", "swap")):
                r = await c.get("/api/v5/public/instruments", {"instType": kind}, signed=False)
                same_shape(fixture(data_dir, f"http_get_instruments_{name}"), r)
                (inst,) = r["data"]
                assert inst["tickSz"] == "0.01" and inst["state"] == "live"
            (spot,) = ok(await c.get("/api/v5/public/instruments", {"instType": "SPOT"}, signed=False))
            assert spot["instId"] == "BTC-USDT" and spot["lotSz"] == "0.001" and spot["baseCcy"] == "BTC"
            (swap,) = ok(await c.get("/api/v5/public/instruments", {"instType": "SWAP"}, signed=False))
            # 0.001 BTC quantity step / 0.01 BTC a contract = 0.1 contract
            assert (swap["instId"], swap["ctVal"], swap["ctValCcy"], swap["lotSz"], swap["settleCcy"]) == \
                ("BTC-USDT-SWAP", "0.01", "BTC", "0.1", "USDT")
            r = await c.get("/api/v5/market/books", {"instId": "BTC-USDT-SWAP", "sz": 5}, signed=False)
            same_shape(fixture(data_dir, "http_get_order_book"), r)
            (book,) = r["data"]
            assert len(book["bids"]) == 5 and isinstance(book["seqId"], int)
            assert [D(b[0]) for b in book["bids"]] == sorted((D(b[0]) for b in book["bids"]), reverse=True)
            assert D(book["bids"][0][0]) < D(book["asks"][0][0])
            await until(lambda: ex.run(lambda e: len(e.markets[("spot", "BTCUSDT")].trades) >= 3))
            r = await c.get("/api/v5/market/trades", {"instId": "BTC-USDT", "limit": 3}, signed=False)
            same_shape(fixture(data_dir, "http_get_trades"), r)
            ids = [int(x["tradeId"]) for x in r["data"]]
            assert len(ids) == 3 and ids == sorted(ids, reverse=True)
            (tick,) = ok(await c.get("/api/v5/market/ticker", {"instId": "BTC-USDT"}, signed=False))
            assert D(tick["bidPx"]) < D(tick["askPx"]) and tick["instType"] == "SPOT"
            # bad input: named
            r = await c.get("/api/v5/market/books", {"instId": "DOGE-USDT"}, signed=False)
            assert r["code"] == "51001" and "DOGE-USDT" in r["msg"]
            r = await c.get("/api/v5/market/books", {"instId": "BTC-USDT", "sz": 401}, signed=False)
            assert r["code"] == "51000" and "limit" in r["msg"] and "400" in r["msg"]
            r = await c.get("/api/v5/public/instruments", {"instType": "OPTION"}, signed=False)
            assert r["code"] == "51000" and "instType" in r["msg"]

    run(go())


def test_rest_book_sizes_are_contracts_for_swap(ex: ExchangeHandle) -> None:
    """The SWAP book's sizes are the server's BTC sizes / ctVal (0.01), level by level, read on the
    exchange's loop so the book cannot move between the two reads."""
    def both(e: Any) -> tuple[Any, Any]:
        m = e.markets[("usdm", "BTCUSDT")]
        data = e.front.market_data("market/books", {"instId": "BTC-USDT-SWAP", "sz": "400"})[0]
        return data, [(m.px(p), m.qty(q)) for p, q in sorted(m.bids.items(), reverse=True)]

    data, server = ex.run(both)
    assert len(data["bids"]) == len(server) > 0
    for (px, sz, zero, n), (spx, sqty) in zip(data["bids"], server, strict=True):
        assert px == spx and D(sz) * CT_VAL == D(sqty) and zero == "0" and n == "1"


# ------------------------------------------------------------------------------------------------
# orders
# ------------------------------------------------------------------------------------------------
def test_spot_order_lifecycle(ex: ExchangeHandle, data_dir: Path) -> None:
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            usdt0 = D(ex.books(key, "spot")["balances"]["USDT"]["free"])
            px = below(ex, "spot", 5000)
            r = await c.post("/api/v5/trade/order", {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                     "ordType": "limit", "sz": "0.01", "px": px, "clOrdId": "spot1"})
            same_shape(fixture(data_dir, "http_place_order_response"), r["data"][0])
            row = ok(r)[0]
            assert row["sCode"] == "0" and row["clOrdId"] == "spot1"
            oid = row["ordId"]
            # locked: px * 0.01 * (1 + 0.001 taker fee)
            lock = D(px) * D("0.01") * D("1.001")
            assert D(ex.books(key, "spot")["balances"]["USDT"]["locked"]) == lock
            r = await c.get("/api/v5/trade/orders-pending", {"instType": "SPOT"})
            same_shape(fixture(data_dir, "http_get_orders_pending"), r)
            (p,) = [x for x in ok(r) if x["ordId"] == oid]
            assert (p["state"], D(p["px"]), p["sz"], p["ordType"], p["tdMode"], p["side"]) == \
                ("live", D(px), "0.01", "limit", "cash", "buy")
            # amend: new size and price; the lock follows
            px2 = str(D(px) - 1)
            a = ok(await c.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT", "ordId": oid, "newSz": "0.02",
                                                              "newPx": px2, "reqId": "r1"}))[0]
            assert a["sCode"] == "0" and a["ordId"] == oid and a["reqId"] == "r1"
            (q,) = ok(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "spot1"}))
            assert (q["sz"], D(q["px"]), q["state"]) == ("0.02", D(px2), "live")
            assert D(ex.books(key, "spot")["balances"]["USDT"]["locked"]) == D(px2) * D("0.02") * D("1.001")
            # cancel: the lock is released, the order is canceled
            cx = ok(await c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid}))[0]
            assert cx["sCode"] == "0" and cx["ordId"] == oid and cx["clOrdId"] == "spot1"
            (q,) = ok(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": oid}))
            assert q["state"] == "canceled" and q["cancelSource"] == "1"
            assert D(ex.books(key, "spot")["balances"]["USDT"]["locked"]) == 0
            hist = ok(await c.get("/api/v5/trade/orders-history", {"instType": "SPOT"}))
            assert oid in [h["ordId"] for h in hist]
            # a market buy of 0.01 BTC (tgtCcy base_ccy): it fills at the ask
            buy = await c.order({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market",
                                 "sz": "0.01", "tgtCcy": "base_ccy", "clOrdId": "spotmkt"})
            await until(lambda: order_of(ex, key, "spot", buy["ordId"])["status"] == "FILLED")
            fills = ok(await c.get("/api/v5/trade/fills", {"instType": "SPOT", "ordId": buy["ordId"]}))
            assert sum(D(f["fillSz"]) for f in fills) == D("0.01")
            cost = sum(D(f["fillPx"]) * D(f["fillSz"]) for f in fills)
            fee = sum(-D(f["fee"]) for f in fills)
            # the fee: 10 bps of the cost (to 8 decimals), charged in USDT, reported negative
            assert abs(fee - cost * D("0.001")) <= D("1E-8") * len(fills)
            assert all(f["feeCcy"] == "USDT" and f["execType"] == "T" and f["side"] == "buy" for f in fills)
            (q,) = ok(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": buy["ordId"]}))
            assert q["state"] == "filled" and q["accFillSz"] == "0.01" and q["ordType"] == "market"
            assert D(q["avgPx"]) == cost / D("0.01")
            r = await c.get("/api/v5/account/balance", {"ccy": "BTC,USDT"})
            same_shape(fixture(data_dir, "http_get_account_balance"), r)
            det = {d["ccy"]: d for d in ok(r)[0]["details"]}
            assert D(det["BTC"]["cashBal"]) == 2 + D("0.01")
            assert D(det["USDT"]["cashBal"]) == usdt0 - cost - fee
            assert D(det["USDT"]["cashBal"]) == D(ex.books(key, "spot")["balances"]["USDT"]["free"])
            # a market buy's sz is quote units by default (tgtCcy quote_ccy): 100 USDT buys
            # floor(100 / ask, 0.001) BTC, filled at that ask (the touch holds far more)
            q100 = await c.order({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market",
                                  "sz": "100"})
            await until(lambda: order_of(ex, key, "spot", q100["ordId"])["status"] == "FILLED")
            (f,) = ok(await c.get("/api/v5/trade/fills", {"instType": "SPOT", "ordId": q100["ordId"]}))
            assert D(f["fillSz"]) == (D(100) / D(f["fillPx"])).quantize(D("0.001"), rounding="ROUND_DOWN")
            (q,) = ok(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": q100["ordId"]}))
            assert (q["sz"], q["tgtCcy"], q["accFillSz"]) == ("100", "quote_ccy", f["fillSz"])

    run(go())


def test_swap_order_lifecycle(ex: ExchangeHandle, data_dir: Path) -> None:
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            px = below(ex, "usdm", 5000)
            row = await c.order({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "post_only",
                                 "sz": "2.5", "px": px, "clOrdId": "swap1"})
            oid = row["ordId"]
            o = order_of(ex, key, "usdm", oid)
            assert D(o["origQty"]) == D("0.025") and o["timeInForce"] == "GTX"  # 2.5 contracts × 0.01 BTC
            r = await c.get("/api/v5/trade/orders-pending", {"instType": "SWAP"})
            same_shape(fixture(data_dir, "http_get_orders_pending"), r)
            (p,) = [x for x in ok(r) if x["ordId"] == oid]
            assert (p["sz"], p["ordType"], p["tdMode"], p["posSide"], p["instType"]) == \
                ("2.5", "post_only", "cross", "net", "SWAP")
            a = ok(await c.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT-SWAP", "clOrdId": "swap1",
                                                              "newSz": "3"}))[0]
            assert a["sCode"] == "0"
            assert D(order_of(ex, key, "usdm", oid)["origQty"]) == D("0.03")
            ok(await c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT-SWAP", "clOrdId": "swap1"}))
            (q,) = ok(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT-SWAP", "ordId": oid}))
            assert q["state"] == "canceled" and q["sz"] == "3"
            # a market buy of 10 contracts (0.1 BTC): a long of 10
            buy = await c.order({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market",
                                 "sz": "10"})
            await until(lambda: order_of(ex, key, "usdm", buy["ordId"])["status"] == "FILLED")
            fills = ok(await c.get("/api/v5/trade/fills", {"instType": "SWAP", "ordId": buy["ordId"]}))
            assert sum(D(f["fillSz"]) for f in fills) == 10
            r = await c.get("/api/v5/account/positions", {"instId": "BTC-USDT-SWAP"})
            same_shape(fixture(data_dir, "http_get_positions"), r)
            (pos,) = ok(r)
            truth = ex.books(key, "usdm")["positions"][0]
            assert D(pos["pos"]) == 10 and D(truth["positionAmt"]) == D("0.1")
            assert D(pos["avgPx"]) == D(truth["entryPrice"]) and pos["posSide"] == "net" and pos["mgnMode"] == "cross"
            # reduce-only close; then a reduce-only order with nothing to reduce is refused
            sell = await c.order({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market",
                                  "sz": "10", "reduceOnly": True})
            await until(lambda: order_of(ex, key, "usdm", sell["ordId"])["status"] == "FILLED")
            assert ok(await c.get("/api/v5/account/positions")) == []
            r = await c.post("/api/v5/trade/order", {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell",
                                                     "ordType": "market", "sz": "1", "reduceOnly": True})
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51169"
            # realized PnL of the round trip: what the fills say
            closes = ok(await c.get("/api/v5/trade/fills", {"instType": "SWAP", "ordId": sell["ordId"]}))
            opened = D(pos["avgPx"])
            pnl = sum((D(f["fillPx"]) - opened) * D(f["fillSz"]) * CT_VAL for f in closes)
            assert sum(D(f["fillPnl"]) for f in closes) == pnl

    run(go())


def test_batch_orders_report_each_order(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            px = below(ex, "spot", 6000)
            r = await c.post("/api/v5/trade/batch-orders", [
                {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01", "px": px,
                 "clOrdId": "batchA"},
                {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01", "px": px,
                 "clOrdId": "batchA"}])
            assert r["code"] == "2", r  # one placed, one refused
            first, second = r["data"]
            assert first["sCode"] == "0" and (second["sCode"], second["sMsg"]) == ("51016", "Duplicated clOrdId")
            ok(await c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "batchA"}))

    run(go())


def test_error_codes(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01",
                    "px": below(ex, "spot", 5000)}
            r = await c.post("/api/v5/trade/order", body, tamper=True)
            assert (c.status, r["code"], r["msg"]) == (401, "50113", "Invalid Sign")
            r = await c.get("/api/v5/account/balance", ts_offset=-60_000)
            assert (c.status, r["code"], r["msg"]) == (401, "50102", "Timestamp request expired")
            r = await Client(s, ex, ACCOUNT, passphrase="Wrong-Pass1").get("/api/v5/account/balance")
            assert r["code"] == "50105" and "PASSPHRASE" in r["msg"]
            stranger = {"api_key": "nobodyKey0123", "secret": "nobodySecret0123", "passphrase": "Nobody-Pass1"}
            r = await Client(s, ex, stranger).get("/api/v5/account/balance")
            assert r["code"] == "50111"
            async with s.get(f"{ex.base_url}/api/v5/account/balance") as resp:
                assert resp.status == 401 and (await resp.json())["code"] == "50103"
            r = await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": "987654321"})
            assert (r["code"], r["msg"]) == ("51603", "Order does not exist")
            r = await c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": "987654321"})
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51400"
            r = await c.post("/api/v5/trade/amend-order", {"instId": "BTC-USDT", "ordId": "987654321", "newSz": "1"})
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51503"
            poor = Client(s, ex, POOR)
            r = await poor.post("/api/v5/trade/order", body)  # 0.01 BTC at ~45,000: 450 USDT > 20
            assert r["code"] == "1" and r["msg"] == "All operations failed"
            assert r["data"][0]["sCode"] == "51008" and "USDT" in r["data"][0]["sMsg"]
            r = await poor.post("/api/v5/trade/order", {**body, "instId": "BTC-USDT-SWAP", "tdMode": "cross",
                                                        "sz": "100"})
            assert r["data"][0]["sCode"] == "51008"
            for bad, field in (({"sz": "0.0005"}, "sz"), ({"ordType": "twap"}, "ordType"), ({"tdMode": "cross"}, "tdMode"),
                               ({"px": "abc"}, "px"), ({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "sz": "0.05"},
                                                       "sz")):
                r = await c.post("/api/v5/trade/order", {**body, **bad})
                assert r["code"] == "1" and r["data"][0]["sCode"] == "51000" and field in r["data"][0]["sMsg"], r
            r = await c.post("/api/v5/trade/order", {**body, "instId": "ETH-USDT"})
            assert r["data"][0]["sCode"] == "51001"

    run(go())


def test_rate_limit_50011() -> None:
    with serve_in_thread(venue="okx", feed_options=FEED, accounts=[ACCOUNT],
                         rate_limits={"okx_orders_2s": 3, "okx_queries_2s": 2}) as ex:
        wait_books(ex)

        async def go() -> None:
            async with aiohttp.ClientSession() as s:
                c = Client(s, ex, ACCOUNT)
                if 2 - time.time() % 2 < 1.2:  # a fresh 2-second window for what follows
                    await asyncio.sleep(2 - time.time() % 2 + 0.05)
                codes = [(await c.get("/api/v5/account/balance"))["code"] for _ in range(3)]
                assert codes == ["0", "0", "50011"] and c.status == 429
                codes = [(await c.get("/api/v5/trade/order", {"instId": "BTC-USDT", "ordId": "1"}))["code"]
                         for _ in range(4)]
                assert codes == ["51603", "51603", "51603", "50011"]
                # another instrument has its own count (OKX: per account and instrument)
                r = await c.get("/api/v5/trade/order", {"instId": "BTC-USDT-SWAP", "ordId": "1"})
                assert r["code"] == "51603"
                await asyncio.sleep(2 - time.time() % 2 + 0.05)
                assert (await c.get("/api/v5/account/balance"))["code"] == "0"

        run(go())
        assert ex.stats()["50011"] == 2


# ------------------------------------------------------------------------------------------------
# streams
# ------------------------------------------------------------------------------------------------
async def _rebuild(ex: ExchangeHandle, inst: str, market: str, n_updates: int,
                   data_dir: Path | None = None) -> OkxBookSync:
    """Subscribe to ``books`` of ``inst``, rebuild it with OKX's client for ``n_updates`` updates,
    then check the client's book equals the server's books channel state at the same seqId."""
    sync = OkxBookSync(inst)
    seen = {"snapshot": 0, "update": 0}
    async with aiohttp.ClientSession() as s, s.ws_connect(ex.stream_urls["public"]) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": inst}]}))
        ack = json.loads((await ws.receive(timeout=5)).data)
        assert ack["event"] == "subscribe" and ack["arg"] == {"channel": "books", "instId": inst}
        target: tuple[int, list[Any], list[Any]] | None = None
        while True:
            msg = json.loads((await ws.receive(timeout=5)).data)
            if data_dir is not None and seen[msg["action"]] == 0:
                same_shape(fixture(data_dir, f"ws_books_{msg['action']}"), msg)
            seen[msg["action"]] += 1
            sync.on_message(msg)
            if target is None and seen["update"] >= n_updates:
                def state(e: Any) -> tuple[int, list[Any], list[Any]]:
                    t = e.front.books[market]
                    m = e.markets[(market, "BTCUSDT")]
                    return (t.seq, [tuple(r[:2]) for r in e.front._rows(market, m, t.bids, True)],
                            [tuple(r[:2]) for r in e.front._rows(market, m, t.asks, False)])

                target = ex.run(state)
            if target is not None and sync.sync.last_id == target[0]:
                assert sync.book.top_bids() == target[1] and sync.book.top_asks() == target[2]
                return sync
            assert sync.sync.last_id is None or target is None or sync.sync.last_id < target[0]


def test_book_stream_rebuilt_by_okx_client(ex: ExchangeHandle, data_dir: Path) -> None:
    for inst, market in (("BTC-USDT", "spot"), ("BTC-USDT-SWAP", "usdm")):
        sync = run(_rebuild(ex, inst, market, 15, data_dir))
        counts = sync.counts
        assert counts["gaps"] == 0 and counts["checksum_mismatch"] == 0 and counts["checksum_skipped"] == 0
        assert counts["snapshots"] == 1 and not sync.wants_snapshot


def test_zero_checksum_is_skipped_by_the_client(ex: ExchangeHandle) -> None:
    ex.run(lambda e: setattr(e.front, "zero_checksum", True))
    try:
        sync = run(_rebuild(ex, "BTC-USDT", "spot", 5))
    finally:
        ex.run(lambda e: setattr(e.front, "zero_checksum", False))
    assert sync.counts["checksum_skipped"] >= 6 and sync.counts["gaps"] == 0


def test_trades_channel_and_ping(ex: ExchangeHandle, data_dir: Path) -> None:
    async def go() -> None:
        async with aiohttp.ClientSession() as s, s.ws_connect(ex.stream_urls["public"]) as ws:
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "pong"
            await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT-SWAP"},
                                                                      {"channel": "books5", "instId": "BTC-USDT"}]}))
            ack = json.loads((await ws.receive(timeout=5)).data)
            assert ack["event"] == "subscribe"
            err = json.loads((await ws.receive(timeout=5)).data)
            assert err["event"] == "error" and err["code"] == "60018" and "books5" in err["msg"]
            msg = json.loads((await ws.receive(timeout=5)).data)
            same_shape(fixture(data_dir, "ws_trades"), msg)
            (row,) = msg["data"]
            assert row["instId"] == "BTC-USDT-SWAP" and row["side"] in ("buy", "sell")
            # the size in contracts: the server's trade (BTC) / 0.01
            tid = int(row["tradeId"])
            qty = ex.run(lambda e: next(e.markets[("usdm", "BTCUSDT")].qty(t[2])
                                        for t in e.markets[("usdm", "BTCUSDT")].trades if t[0] == tid))
            assert D(row["sz"]) * CT_VAL == D(qty)
            await ws.send_str("not json")
            while True:  # trades keep coming on the subscribed channel: the answer is among them
                err = json.loads((await ws.receive(timeout=5)).data)
                if err.get("event") == "error":
                    break
                assert err.get("arg", {}).get("channel") == "trades", err
            assert err["code"] == "60012"

    run(go())


def test_private_stream(ex: ExchangeHandle, data_dir: Path) -> None:
    cred = Credentials(ACCOUNT["api_key"], ACCOUNT["secret"], ACCOUNT["passphrase"])

    async def go() -> None:
        async with aiohttp.ClientSession() as s, s.ws_connect(ex.stream_urls["private"]) as ws:
            async def send(m: Any) -> dict[str, Any]:
                await ws.send_str(json.dumps(m))
                return json.loads((await ws.receive(timeout=5)).data)  # type: ignore[no-any-return]

            r = await send({"op": "subscribe", "args": [{"channel": "account"}]})
            assert (r["event"], r["code"]) == ("error", "60011")
            bad = okx_auth.ws_login_message(cred)
            bad["args"][0]["sign"] = bad["args"][0]["sign"][::-1]
            assert (await send(bad))["code"] == "60007"
            wrong = okx_auth.ws_login_message(Credentials(cred.api_key, cred.secret, "Wrong-Pass1"))
            assert (await send(wrong))["code"] == "60024"
            stale = okx_auth.ws_login_message(cred, timestamp_s=int(time.time()) - 120)
            assert (await send(stale))["code"] == "60006"
            r = await send(okx_auth.ws_login_message(cred))
            assert (r["event"], r["code"]) == ("login", "0")
            r = await send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
            assert r["event"] == "subscribe"
            r = await send({"op": "subscribe", "args": [{"channel": "account"}]})
            assert r["event"] == "subscribe"
            first = json.loads((await ws.receive(timeout=5)).data)  # the account's state on subscribing
            same_shape(fixture(data_dir, "ws_account"), first)
            async with aiohttp.ClientSession() as s2:
                c = Client(s2, ex, ACCOUNT)
                row = await c.order({"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market",
                                     "sz": "0.002", "tgtCcy": "base_ccy", "clOrdId": "wsmkt"})
            orders: list[dict[str, Any]] = []
            accounts: list[dict[str, Any]] = []
            while not any(o["state"] == "filled" for o in orders) or not accounts:
                msg = json.loads((await ws.receive(timeout=5)).data)
                (orders if msg["arg"]["channel"] == "orders" else accounts).append(msg["data"][0])
                if msg["arg"]["channel"] == "orders":
                    same_shape(fixture(data_dir, "ws_orders"), msg)
                    assert msg["arg"]["instType"] == "ANY" and msg["arg"]["uid"]
            assert orders[0]["state"] == "live" and orders[0]["ordId"] == row["ordId"]
            filled = [o for o in orders if o["fillSz"] != "0"]
            assert sum(D(o["fillSz"]) for o in filled) == D("0.002") and all(o["execType"] == "T" for o in filled)
            assert orders[-1]["accFillSz"] == "0.002" and orders[-1]["clOrdId"] == "wsmkt"
            btc = [d for d in accounts[-1]["details"] if d["ccy"] == "BTC"][0]
            assert D(btc["cashBal"]) == D(ex.books(ACCOUNT["api_key"], "spot")["balances"]["BTC"]["free"])
            # positions: the current ones on subscribing (none), then each change of the SWAP position
            r = await send({"op": "subscribe", "args": [{"channel": "positions", "instType": "SWAP"}]})
            assert r["event"] == "subscribe"
            first = json.loads((await ws.receive(timeout=5)).data)
            assert first["arg"]["channel"] == "positions" and first["data"] == []
            async with aiohttp.ClientSession() as s2:
                c = Client(s2, ex, ACCOUNT)
                await c.order({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "ordType": "market",
                               "sz": "1"})
                pos: list[dict[str, Any]] = []
                while not pos or D(pos[-1]["pos"]) != -1:
                    msg = json.loads((await ws.receive(timeout=5)).data)
                    if msg["arg"]["channel"] == "positions":
                        pos += msg["data"]
                assert pos[-1]["instId"] == "BTC-USDT-SWAP" and pos[-1]["posSide"] == "net"
                await c.order({"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "market",
                               "sz": "1", "reduceOnly": True})
                while D(pos[-1]["pos"]) != 0:  # the closed position is pushed once more with pos 0
                    msg = json.loads((await ws.receive(timeout=5)).data)
                    if msg["arg"]["channel"] == "positions":
                        pos += msg["data"]

    run(go())


# ------------------------------------------------------------------------------------------------
# chaos
# ------------------------------------------------------------------------------------------------
def test_chaos_gap_breaks_the_seq_chain() -> None:
    with serve_in_thread(venue="okx", feed_options=FEED, accounts=[ACCOUNT], chaos="gap=0.3", seed=3) as ex:
        wait_books(ex)

        async def go() -> OkxBookSync:
            sync = OkxBookSync("BTC-USDT")
            async with aiohttp.ClientSession() as s, s.ws_connect(ex.stream_urls["public"]) as ws:
                await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}))
                await ws.receive(timeout=5)
                for _ in range(20):
                    sync.on_message(json.loads((await ws.receive(timeout=5)).data))
            return sync

        sync = run(go())
        assert ex.stats()["chaos"]["gap"] > 0
        assert sync.counts["gaps"] >= 1 and sync.wants_snapshot


def test_chaos_on_orders(ex: ExchangeHandle) -> None:
    key = ACCOUNT["api_key"]

    async def go() -> None:
        async with aiohttp.ClientSession() as s:
            c = Client(s, ex, ACCOUNT)
            ex.set_chaos("ack_5xx=1")
            try:
                full, text, headers = okx_auth.signed_payload(c.cred, "POST", "/api/v5/trade/order", body={
                    "instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01",
                    "px": below(ex, "spot", 5000), "clOrdId": "chaos5xx"})
                async with s.post(f"{ex.base_url}{full}", data=text, headers=headers) as r:
                    assert r.status == 503
            finally:
                ex.set_chaos(None)
            # placed all the same: the outcome was unknown to the client
            (placed,) = [o for o in ex.books(key, "spot")["orders"] if o["clientOrderId"] == "chaos5xx"]
            assert placed["status"] == "NEW"
            ok(await c.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "chaos5xx"}))
            ex.set_chaos("burst429=1,burst_len=3")
            try:
                codes = [(await c.get("/api/v5/account/balance"))["code"] for _ in range(1)]
            finally:
                ex.set_chaos(None)
            codes += [(await c.get("/api/v5/trade/orders-pending"))["code"] for _ in range(3)]
            assert codes == ["50011", "50011", "50011", "0"]
            # skew_ms: the server's clock runs 60 s ahead; a request stamped by the client's is stale
            ex.set_chaos("skew_ms=60000")
            try:
                (t,) = ok(await c.get("/api/v5/public/time", signed=False))
                r = await c.get("/api/v5/account/balance")
            finally:
                ex.set_chaos(None)
            assert 55_000 < int(t["ts"]) - time.time() * 1000 < 65_000
            assert r["code"] == "50102"

    run(go())


# ------------------------------------------------------------------------------------------------
# ccxt
# ------------------------------------------------------------------------------------------------
def test_ccxt_places_and_cancels_on_spot(ex: ExchangeHandle) -> None:
    """ccxt's okx class pointed at the local exchange (spot markets only; no currency list, an
    /asset endpoint the exchange does not serve)."""
    c = ccxt.okx({"apiKey": CCXT["api_key"], "secret": CCXT["secret"], "password": CCXT["passphrase"],
                  "timeout": 5000, "options": {"fetchMarkets": {"types": ["spot"]}}})
    c.urls["api"] = {"rest": ex.base_url}
    c.has["fetchCurrencies"] = False
    c.load_markets()
    assert "BTC/USDT" in c.markets and c.markets["BTC/USDT"]["id"] == "BTC-USDT"
    price = float(below(ex, "spot", 5000))
    o = c.create_order("BTC/USDT", "limit", "buy", 0.01, price, {"clOrdId": "ccxtspot1"})
    mine = order_of(ex, CCXT["api_key"], "spot", o["id"])
    assert mine["status"] == "NEW" and mine["clientOrderId"] == "ccxtspot1" and D(mine["origQty"]) == D("0.01")
    opened = c.fetch_open_orders("BTC/USDT")
    assert [x["id"] for x in opened] == [o["id"]] and opened[0]["price"] == price
    c.cancel_order(o["id"], "BTC/USDT")
    assert order_of(ex, CCXT["api_key"], "spot", o["id"])["status"] == "CANCELED"
    bal = c.fetch_balance()
    assert bal["USDT"]["total"] == 10000 and bal["BTC"]["free"] == 1
