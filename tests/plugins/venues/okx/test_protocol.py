"""OKX v5 protocol pieces without a server: the config's validation, order mapping
(:mod:`trader_plugins.venues.okx.orders`) against the documented instruments and order rows, and the
REST client's error handling (:mod:`trader_plugins.venues.okx.http`) against a scripted aiohttp
server answering with OKX's documented envelopes."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.exchange._front_client import fixture, fixtures_dir
from trader.exceptions import InvalidInputError
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.okx import auth as okx_auth
from trader_plugins.venues.okx.config import OkxConfig
from trader_plugins.venues.okx.http import OkxError, OkxHttp, OrderError, OutcomeUnknown, RateLimited
from trader_plugins.venues.okx.orders import (Instrument, OrderRefused, amend_params, from_cl_ord_id, order_params,
                                              parse_instruments, to_base, to_cl_ord_id)

FIXTURES = "ws_fixtures/nautilus/crates/adapters/okx/test_data"
D = Decimal
CRED = Credentials("okxProtoKey0123456789", "okxProtoSecret0123456789", "Proto-Pass1")


@pytest.fixture(scope="module")
def data_dir(shared_data: Path) -> Path:
    return fixtures_dir(shared_data, FIXTURES, "OKX")


@pytest.fixture(scope="module")
def instruments(data_dir: Path) -> dict[str, Instrument]:
    spot = fixture(data_dir, "http_get_instruments_spot")["data"]
    swap = fixture(data_dir, "http_get_instruments_swap")["data"]
    return parse_instruments(spot + swap)


# ---- config -------------------------------------------------------------------------------------
def test_config_defaults_and_validation() -> None:
    c = OkxConfig()
    assert (c.inst_type, c.symbols, c.td_mode) == ("SPOT", ("BTC-USDT",), "cash")
    s = OkxConfig(inst_type="SWAP", symbols=("btc-usdt-swap",), rest_url="http://127.0.0.1:1/")
    assert (s.symbols, s.td_mode, s.rest_url, s.swap) == (("BTC-USDT-SWAP",), "cross", "http://127.0.0.1:1", True)
    for kw, field in [({"inst_type": "FUTURES"}, "inst_type"), ({"symbols": ()}, "symbols"),
                      ({"symbols": ("BTC-USDT-SWAP",)}, "symbols"), ({"td_mode": "cross"}, "td_mode"),
                      ({"inst_type": "SWAP", "symbols": ("BTC-USDT-SWAP",), "td_mode": "cash"}, "td_mode"),
                      ({"rest_url": "ftp://x"}, "rest_url"), ({"ws_private_url": "http://x"}, "ws_private_url"),
                      ({"channel": "books9"}, "channel"), ({"stale_after_s": 0}, "stale_after_s"),
                      ({"open_check_s": -1}, "open_check_s"), ({"ping_s": 90}, "ping_s"),
                      ({"symbols": ("BTC-USDT", "BTC-USDT")}, "symbols"), ({"symbols": "BTC-USDT"}, "symbols")]:
        with pytest.raises(InvalidInputError, match=rf"okx: {field}"):
            OkxConfig(**kw)  # type: ignore[arg-type]


# ---- instruments and orders ---------------------------------------------------------------------
def test_instruments_from_the_documented_payloads(instruments: dict[str, Instrument]) -> None:
    btc = instruments["BTC-USD"]
    assert (btc.inst_type, btc.base_ccy, btc.quote_ccy, btc.contract, btc.lot_sz) == ("SPOT", "BTC", "USD", D(1),
                                                                                      "0.00000001")
    swap = instruments["BTC-USDT-SWAP"]
    assert (swap.ct_val, swap.lot_sz, swap.min_sz, swap.tick_sz) == ("0.01", "0.01", "0.01", "0.1")
    # 0.0123 BTC on BTC-USDT-SWAP: 1.23 contracts
    assert order_params(cmd(symbol="BTC-USDT-SWAP", qty="0.0123"), swap, "cross")["sz"] == "1.23"
    eth = instruments["ETH-USDT-SWAP"]
    assert (eth.inst_type, eth.ct_val, eth.contract, eth.settle_ccy) == ("SWAP", "0.1", D("0.1"), "USDT")
    assert to_base("3", eth) == D("0.3")
    with pytest.raises(InvalidInputError, match=r"okx instrument X-Y-SWAP: ctVal"):
        parse_instruments([{"instId": "X-Y-SWAP", "instType": "SWAP", "tickSz": "0.1", "lotSz": "1", "minSz": "1"}])
    with pytest.raises(InvalidInputError, match=r"okx instrument X-Y: tickSz: not a decimal"):
        parse_instruments([{"instId": "X-Y", "instType": "SPOT", "tickSz": "abc", "lotSz": "1", "minSz": "1"}])


SPOT = Instrument("BTC-USDT", "SPOT", "0.1", "0.00000001", "0.00001", base_ccy="BTC", quote_ccy="USDT")
SWAP = Instrument("BTC-USDT-SWAP", "SWAP", "0.1", "0.1", "0.1", ct_val="0.01", settle_ccy="USDT")


def cmd(**kw: Any) -> dict[str, Any]:
    return {"op": "submit", "client_id": "abc1", "symbol": "BTC-USDT", "side": "buy", "kind": "limit",
            "qty": "0.5", "price": "50000.05"} | kw


def test_order_types_map_to_ord_type() -> None:
    assert order_params(cmd(), SPOT, "cash") == {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "abc1",
                                                 "side": "buy", "ordType": "limit", "px": "50000", "sz": "0.5"}
    # a sell's price rounds up (never more aggressive than asked)
    assert order_params(cmd(side="sell"), SPOT, "cash")["px"] == "50000.1"
    assert order_params(cmd(post_only=True), SPOT, "cash")["ordType"] == "post_only"
    assert order_params(cmd(tif="IOC"), SPOT, "cash")["ordType"] == "ioc"
    assert order_params(cmd(tif="FOK"), SPOT, "cash")["ordType"] == "fok"
    m = order_params(cmd(kind="market", price=None), SPOT, "cash")
    assert m == {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": "abc1", "side": "buy", "ordType": "market",
                 "tgtCcy": "base_ccy", "sz": "0.5"}


def test_swap_sizes_in_contracts_and_reduce_only() -> None:
    # 0.0537 BTC = 5.37 contracts of 0.01 -> 5.3 (lotSz 0.1, rounded down)
    p = order_params(cmd(symbol="BTC-USDT-SWAP", qty="0.0537", side="sell", reduce_only=True, kind="market",
                         price=None), SWAP, "cross")
    assert p == {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "clOrdId": "abc1", "side": "sell",
                 "ordType": "market", "sz": "5.3", "reduceOnly": True}
    with pytest.raises(OrderRefused, match=r"quantity 0.0005 is 0 contracts of 0.01 .* below BTC-USDT-SWAP's minSz"):
        order_params(cmd(symbol="BTC-USDT-SWAP", qty="0.0005"), SWAP, "cross")


@pytest.mark.parametrize("kw, why", [
    ({"kind": "stop_market", "trigger": "1"}, r"conditional order: OKX keeps those in its algo-order service"),
    ({"kind": "trailing_stop_market"}, r"conditional"), ({"kind": "oco"}, r"order lists"),
    ({"kind": "iceberg"}, r"kind 'iceberg' is not supported"), ({"tif": "GTD", "expire_ns": 1}, r"GTD does not exist"),
    ({"tif": "DAY"}, r"DAY does not exist"), ({"reduce_only": True}, r"reduce_only exists on SWAP only"),
    ({"post_only": True, "tif": "IOC"}, r"post_only is a GTC limit order"),
    ({"kind": "market", "tif": "FOK"}, r"no fill-or-kill market order"),
    ({"client_id": "x" * 33}, r"OKX takes at most 32 letters and digits"),
    ({"client_id": "sma-" + "9" * 27}, r"client_id is 'smaZ2D9+' in OKX's clOrdId alphabet \(33 characters\)"),
    ({"client_id": "é-1"}, r"client_id must be a non-empty ASCII string"), ({"side": "long"}, r"side must be"),
    ({"qty": "-1"}, r"qty: must be a positive decimal"), ({"price": "abc"}, r"price: must be a positive decimal"),
    ({"symbol": "ETH-USDT"}, r"symbol ETH-USDT is not the instrument BTC-USDT"),
])
def test_what_okx_lacks_is_refused(kw: dict[str, Any], why: str) -> None:
    with pytest.raises(OrderRefused, match=why):
        order_params(cmd(**kw), SPOT, "cash")


def test_client_ids_written_in_okx_alphabet() -> None:
    # trader's ids are <strategy>-<n>: "-" is 0x2D, "_" 0x5F, a literal Z 0x5A
    assert to_cl_ord_id("sma-42") == "smaZ2D42"
    assert to_cl_ord_id("Zed_b-7") == "Z5AedZ5FbZ2D7"
    for cid in ("sma-42", "Zed_b-7", "plain1", "a.b:c/d"):
        assert from_cl_ord_id(to_cl_ord_id(cid)) == cid
    assert order_params(cmd(client_id="sma-42"), SPOT, "cash")["clOrdId"] == "smaZ2D42"


def test_amend_params() -> None:
    assert amend_params({"client_id": "abc1", "qty": "0.02", "price": "50100.5"}, SWAP, "77") == \
        {"instId": "BTC-USDT-SWAP", "ordId": "77", "newSz": "2", "newPx": "50100.5"}
    assert amend_params({"client_id": "abc1", "price": "50100"}, SPOT) == {"instId": "BTC-USDT", "clOrdId": "abc1",
                                                                          "newPx": "50100"}
    with pytest.raises(OrderRefused, match=r"needs qty or price"):
        amend_params({"client_id": "abc1"}, SPOT)
    with pytest.raises(OrderRefused, match=r"not a multiple of tickSz 0.1"):
        amend_params({"client_id": "abc1", "price": "1.05"}, SPOT)


# ---- REST client against a scripted server ------------------------------------------------------
class Scripted:
    """An aiohttp app answering each request with the next scripted (status, body) of its path
    (the last one repeats), recording the requests."""

    def __init__(self, script: dict[str, list[tuple[int, Any]]]) -> None:
        self.script = script
        self.seen: list[tuple[str, str, dict[str, str], str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.seen.append((request.method, request.raw_path, dict(request.headers), body))
        steps = self.script[request.path]
        status, doc = steps.pop(0) if len(steps) > 1 else steps[0]
        if doc == "hang":
            await asyncio.sleep(5)
        return web.Response(status=status, text=json.dumps(doc), content_type="application/json")


async def with_server(script: dict[str, list[tuple[int, Any]]], fn: Any) -> Scripted:
    s = Scripted(script)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", s.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    http = OkxHttp(OkxConfig(rest_url=f"http://127.0.0.1:{port}", request_timeout_s=1.0), CRED)
    try:
        await fn(http)
    finally:
        await http.close()
        await runner.cleanup()
    return s


def ok(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_order_call_maps_s_code_and_signs(data_dir: Path) -> None:
    placed = fixture(data_dir, "http_place_order_response")
    failed = {"code": "1", "msg": "All operations failed",
              "data": [{"ordId": "", "clOrdId": "b2", "sCode": "51008", "sMsg": "Order failed. Insufficient USDT"}]}
    script = {"/api/v5/trade/order": [(200, ok([placed])), (200, failed)]}

    async def go(http: OkxHttp) -> None:
        row = await http.order_call("/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "b1", "sz": "1"})
        assert row["ordId"] == "12345678901234567890"
        with pytest.raises(OrderError, match=r"okx /api/v5/trade/order: HTTP 200, code 51008: Order failed. "
                                             r"Insufficient USDT \[insufficient balance or margin\]") as e:
            await http.order_call("/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "b2", "sz": "1"})
        assert e.value.code == 51008

    s = run(with_server(script, go))
    method, path, headers, body = s.seen[0]
    assert (method, path, json.loads(body)) == ("POST", "/api/v5/trade/order",
                                                {"instId": "BTC-USDT", "clOrdId": "b1", "sz": "1"})
    assert okx_auth.verify(CRED, "POST", headers, path, body)


def test_rate_limit_50011_waits_the_window_then_resends() -> None:
    limited = {"code": "50011", "msg": "Rate limit reached.", "data": []}
    script = {"/api/v5/account/balance": [(429, limited), (429, limited), (200, ok([{"totalEq": "1"}]))]}

    async def go(http: OkxHttp) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await http.request("GET", "/api/v5/account/balance", signed=True) == [{"totalEq": "1"}]
        # each 50011 holds every request until the next 2 s window: at least one boundary passed
        assert loop.time() - t0 > 0.05
        assert http.stats["rate_limited"] == 2

    s = run(with_server(script, go))
    assert len(s.seen) == 3


def test_rate_limit_that_stays_is_raised() -> None:
    limited = {"code": "50011", "msg": "Rate limit reached.", "data": []}

    async def go(http: OkxHttp) -> None:
        http.max_429_retries = 1
        with pytest.raises(RateLimited, match=r"code 50011: Rate limit reached. \[rate limit reached\]"):
            await http.request("GET", "/api/v5/account/balance", signed=True)

    s = run(with_server({"/api/v5/account/balance": [(429, limited)]}, go))
    assert len(s.seen) == 2


def test_timestamp_expired_resyncs_and_resigns_once() -> None:
    expired = {"code": "50102", "msg": "Timestamp request expired", "data": []}
    script = {"/api/v5/account/balance": [(401, expired), (200, ok([]))],
              "/api/v5/public/time": [(200, ok([{"ts": "1700000000000"}]))]}

    async def go(http: OkxHttp) -> None:
        assert await http.request("GET", "/api/v5/account/balance", signed=True) == []
        assert http.stats["resigned"] == 1 and http.stats["time_syncs"] == 1
        assert http.offset_ms < -1_000_000  # the scripted server's clock is in the past

    s = run(with_server(script, go))
    assert [p for _, p, _, _ in s.seen] == ["/api/v5/account/balance"] + ["/api/v5/public/time"] * 3 + \
        ["/api/v5/account/balance"]
    # the second request carried the server's clock: 2023-11-14
    assert s.seen[-1][2]["OK-ACCESS-TIMESTAMP"].startswith("2023-11-14T22:13:")


def test_timestamp_expired_twice_is_raised() -> None:
    expired = {"code": "50102", "msg": "Timestamp request expired", "data": []}
    script = {"/api/v5/account/balance": [(401, expired)], "/api/v5/public/time": [(200, ok([{"ts": "1"}]))]}

    async def go(http: OkxHttp) -> None:
        with pytest.raises(OkxError, match=r"HTTP 401, code 50102: Timestamp request expired \[timestamp expired\]"):
            await http.request("GET", "/api/v5/account/balance", signed=True)

    run(with_server(script, go))


@pytest.mark.parametrize("status, doc", [(503, {"code": "50001", "msg": "busy"}), (500, "not json"),
                                         (200, {"code": "50004", "msg": "Endpoint request timeout"}),
                                         (200, "hang")])
def test_outcome_unknown(status: int, doc: Any) -> None:
    async def go(http: OkxHttp) -> None:
        with pytest.raises(OutcomeUnknown, match=r"okx /api/v5/trade/order: outcome unknown"):
            await http.order_call("/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "u1"})

    s = run(with_server({"/api/v5/trade/order": [(status, doc)]}, go))
    assert len(s.seen) == 1  # never sent again


def test_errors_and_reprs_hold_no_secret() -> None:
    bad = {"code": "50113", "msg": "Invalid Sign", "data": []}

    async def go(http: OkxHttp) -> None:
        with pytest.raises(OkxError) as e:
            await http.request("GET", "/api/v5/account/balance", signed=True)
        text = str(e.value) + repr(e.value) + repr(http)
        assert "bad signature" in text
        for hidden in (CRED.secret, CRED.passphrase):
            assert hidden is not None and hidden not in text

    run(with_server({"/api/v5/account/balance": [(401, bad)]}, go))


# ---- private-stream messages and REST rows, decoded by the execution client ----------------------
def decoded(data_dir: Path, swap: bool, names: list[str]) -> tuple[Any, list[Any]]:
    """A client (not started) fed the documented pushes ``names`` in order; its reports."""
    from trader_plugins.venues.okx.execution import OkxExecutionClient

    reports: list[Any] = []

    async def go() -> Any:
        cfg = OkxConfig(inst_type="SWAP" if swap else "SPOT", symbols=("BTC-USDT-SWAP" if swap else "BTC-USDT",))
        c = OkxExecutionClient(cfg, CRED, reports.append)
        c.instruments = parse_instruments(fixture(data_dir, "http_get_instruments_swap")["data"]) if swap else \
            {"BTC-USDT": Instrument("BTC-USDT", "SPOT", "0.1", "0.00000001", "0.00001", base_ccy="BTC",
                                    quote_ccy="USDT")}
        c._buffer = None  # live: no catch-up holds the events
        for n in names:
            c._on_message(json.dumps(fixture(data_dir, n)), 0)
        return c

    return asyncio.run(go()), reports


def test_orders_push_swap_contracts_to_base(data_dir: Path) -> None:
    from trader_plugins.venues.common.reports import OrderAccepted, OrderFilled

    c, reports = decoded(data_dir, True, ["ws_orders", "ws_orders"])  # the second is a duplicate
    # 0.03 contracts of ctVal 0.01 BTC = 0.0003 BTC; OKX's fee -0.021776769 is a cost of 0.021776769
    assert reports == [
        OrderAccepted("001BTCUSDT20250106001", "2497956918703120384", 1746947317402 * 1_000_000),
        OrderFilled("001BTCUSDT20250106001", "2497956918703120384", "1518905529", "103698.9", "0.0003",
                    "0.021776769", "USDT", "maker", 1746947317402 * 1_000_000)]
    o = c.orders["001BTCUSDT20250106001"]
    assert (o.status, o.filled, c.stats["duplicates"]) == ("filled", D("0.0003"), 1)


def test_orders_push_fok_and_ioc(data_dir: Path) -> None:
    from trader_plugins.venues.common.reports import OrderFilled

    c, reports = decoded(data_dir, False, ["ws_orders_fok", "ws_orders_ioc"])
    fills = [r for r in reports if isinstance(r, OrderFilled)]
    assert [(f.client_id, f.qty, f.price, f.fee, f.liquidity) for f in fills] == [
        ("FOK-TEST-001", "0.05", "50000", "0.25", "taker"), ("IOC-TEST-001", "0.02", "50100.5", "0.1002", "taker")]
    assert c.orders["FOK-TEST-001"].status == "filled"
    assert (c.orders["IOC-TEST-001"].status, c.orders["IOC-TEST-001"].filled) == ("partially_filled", D("0.02"))


def test_account_push_is_a_balance_update(data_dir: Path) -> None:
    from trader_plugins.venues.common.reports import BalanceUpdate

    _, reports = decoded(data_dir, False, ["ws_account"])
    (b,) = reports
    assert isinstance(b, BalanceUpdate)
    assert b.balances == {"USDT": "100.52768569797846", "BTC": "0.0000000051", "ETH": "0.000000185"}
    assert b.ts == 1751531646836 * 1_000_000  # the account's uTime (not a coin's)


def test_rest_order_rows_as_views(data_dir: Path) -> None:
    c, _ = decoded(data_dir, True, [])
    (p,) = fixture(data_dir, "http_get_orders_pending")["data"]
    v = c._view(p)
    assert (v.symbol, v.client_id, v.status, v.kind, v.side, v.qty, v.price, v.filled, v.avg_price) == \
        ("BTCUSDT", "client-order-1", "open", "limit", "buy", D("0.001"), D("103500"), D(0), None)
    (h,) = fixture(data_dir, "http_get_orders_history")["data"]
    v = c._view(h)
    assert (v.status, v.kind, v.qty, v.price, v.filled, v.avg_price, v.update_ms) == \
        ("filled", "market", D("0.0003"), None, D("0.0003"), D("103698.9"), 1746947317402)
    # OKX ended the rest itself: an IOC/FOK remainder (14), a post-only that would take (31)
    assert c._view(h | {"state": "canceled", "cancelSource": "14"}).status == "expired"
    assert c._view(h | {"state": "canceled", "cancelSource": "31"}).status == "expired"
    assert c._view(h | {"state": "canceled", "cancelSource": "1"}).status == "canceled"
    with pytest.raises(ValueError, match=r"unknown state 'bogus'"):
        c._view(h | {"state": "bogus"})


def test_fill_fee_from_cumulative_fee_in_order_or_left_to_rest(data_dir: Path) -> None:
    """A push without ``fillFee``: its fill's fee is the cumulative ``fee`` less the fees reported,
    only when it follows the last fill reported; a push out of order is left to the REST query."""
    from trader_plugins.venues.common.reports import OrderFilled
    from trader_plugins.venues.okx.execution import OkxExecutionClient

    (row,) = fixture(data_dir, "ws_orders_ioc")["data"]
    row = row | {"ordType": "limit", "sz": "0.1", "clOrdId": "feeZ2D1"}
    first = row | {"state": "partially_filled", "accFillSz": "0.02", "fillSz": "0.02", "fee": "-0.1002",
                   "tradeId": "t1", "uTime": "1000"}
    second = row | {"state": "partially_filled", "accFillSz": "0.05", "fillSz": "0.03", "fillPx": "50101",
                    "fee": "-0.25050", "tradeId": "t2", "uTime": "1001"}
    third = row | {"state": "filled", "accFillSz": "0.1", "fillSz": "0.05", "fillPx": "50102", "fee": "-0.5",
                   "fillFee": "-0.2495", "tradeId": "t3", "uTime": "1002"}

    def push(*rows: dict[str, Any]) -> str:
        return json.dumps({"arg": {"channel": "orders", "instType": "SPOT"}, "data": list(rows)})

    async def go(order: list[dict[str, Any]]) -> tuple[OkxExecutionClient, list[Any]]:
        reports: list[Any] = []
        c = OkxExecutionClient(OkxConfig(), CRED, reports.append)
        c.instruments = {"BTC-USDT": SPOT}
        c.fills_grace_s = 60  # the REST query would come later: not in this test
        c._buffer = None
        for r in order:
            c._on_message(push(r), 0)
        for t in list(c._tasks):
            t.cancel()
        return c, reports

    c, reports = asyncio.run(go([first, second, second, third]))
    fills = [(r.client_id, r.trade_id, r.qty, r.fee) for r in reports if isinstance(r, OrderFilled)]
    # 0.2505 - 0.1002 = 0.1503; the third carries fillFee
    assert fills == [("fee-1", "t1", "0.02", "0.1002"), ("fee-1", "t2", "0.03", "0.1503"),
                     ("fee-1", "t3", "0.05", "0.2495")]
    assert c.orders["fee-1"].status == "filled" and c.stats["duplicates"] == 1

    c, reports = asyncio.run(go([second, first]))  # reordered: t2 first cannot be priced
    priced = [(r.trade_id, r.fee) for r in reports if isinstance(r, OrderFilled)]
    assert priced == [("t1", "0.1002")] and c.stats["ws_fills_from_rest"] == 1
    o = c.orders["fee-1"]
    assert (o.filled, o.reported) == (D("0.05"), D("0.02"))  # the status is ahead: the fills are queried


@pytest.mark.parametrize("perm, allow, refused", [("read_only,trade,withdraw", False, True),
                                                  ("read_only,trade,withdraw", True, False),
                                                  ("read_only,trade", False, False)])
def test_a_key_that_may_withdraw_is_refused(perm: str, allow: bool, refused: bool) -> None:
    from trader_plugins.venues.okx.execution import OkxExecutionClient

    inst = {"instId": "BTC-USDT", "instType": "SPOT", "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001"}
    script = {"/api/v5/public/time": [(200, ok([{"ts": "1700000000000"}]))],
              "/api/v5/public/instruments": [(200, ok([inst]))],
              "/api/v5/account/config": [(200, ok([{"uid": "1", "perm": perm}]))]}

    async def go(http: OkxHttp) -> None:
        c = OkxExecutionClient(OkxConfig(allow_withdraw=allow), CRED, print, http=http)
        if refused:
            with pytest.raises(InvalidInputError, match=r"okx: the API key has withdrawal permission; refused"):
                await c._start_rest()
        else:
            await c._start_rest()
            assert list(c.instruments) == ["BTC-USDT"]

    s = run(with_server(script, go))
    assert s.seen[-1][1] == "/api/v5/account/config"
