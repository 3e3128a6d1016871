"""The OKX execution client against the local exchange's OKX v5 front (started here): the order
lifecycle of every supported order type on SPOT and SWAP, fills, balances and positions equal to
the exchange's books exactly, unknown outcomes resolved by query (never resent), a dropped private
stream caught up, a 50011 burst waited out, reconciliation equal to the exchange, and no secret or
passphrase in logs, reprs or errors."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.exchange._front_client import FEED, above, below, until, wait_books
from trader.exchange import ExchangeHandle, serve_in_thread
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.common.reports import (BalanceUpdate, CancelRejected, ModifyRejected, OrderAccepted, OrderAmended,
                                                  OrderFilled, OrderRejected, PositionUpdate)
from trader_plugins.venues.common.ws import Backoff
from trader_plugins.venues.okx.config import OkxConfig
from trader_plugins.venues.okx.execution import OkxExecutionClient
from trader_plugins.venues.okx.orders import to_cl_ord_id

D = Decimal
CT_VAL = D("0.01")
START = {"USDT": 100000, "BTC": 2}


def account(i: int) -> dict[str, Any]:
    return {"api_key": f"okxExecKey{i:02d}abcdef0123456789", "secret": f"okxExecSecret{i:02d}abcdef0123456789",
            "passphrase": f"Exec-Pass-{i:02d}", "balances": dict(START)}


ACCOUNTS = [account(i) for i in range(11)]


@pytest.fixture(scope="module")
def ex() -> Iterator[ExchangeHandle]:
    with serve_in_thread(venue="okx", feed_options=FEED, accounts=ACCOUNTS, ping_interval=0.5) as h:
        wait_books(h)
        yield h


def config(ex: ExchangeHandle, swap: bool = False, **kw: Any) -> OkxConfig:
    kw = {"open_check_s": 0} | kw
    return OkxConfig(inst_type="SWAP" if swap else "SPOT", symbols=("BTC-USDT-SWAP" if swap else "BTC-USDT",),
                     rest_url=ex.base_url, ws_public_url=ex.stream_urls["public"],
                     ws_private_url=ex.stream_urls["private"], backoff=Backoff(0.05, 0.2), **kw)


class Harness:
    """A started client of account ``i`` and the reports it emitted."""

    def __init__(self, ex: ExchangeHandle, i: int, swap: bool = False, **kw: Any) -> None:
        a = ACCOUNTS[i]
        self.ex, self.key = ex, a["api_key"]
        self.market = "usdm" if swap else "spot"
        self.symbol = "BTC-USDT-SWAP" if swap else "BTC-USDT"
        self.reports: list[Any] = []
        self.cred = Credentials(a["api_key"], a["secret"], a["passphrase"])
        self.client = OkxExecutionClient(config(ex, swap, **kw), self.cred, self.reports.append)

    async def __aenter__(self) -> Harness:
        await self.client.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.close()

    def of(self, cid: str, kind: type | None = None) -> list[Any]:
        return [r for r in self.reports
                if getattr(r, "client_id", None) == cid and (kind is None or isinstance(r, kind))]

    def kinds(self, cid: str) -> list[str]:
        return [type(r).__name__ for r in self.of(cid)]

    async def submit(self, cid: str, **kw: Any) -> None:
        await self.client.handle({"op": "submit", "client_id": cid, "symbol": self.symbol, "side": "buy",
                                  "kind": "limit", "qty": "0.01"} | kw)

    async def done(self, cid: str, timeout: float = 10.0) -> None:
        await until(lambda: self.client.orders[cid].done, timeout)

    def venue_order(self, cid: str) -> dict[str, Any]:
        (o,) = [o for o in self.ex.books(self.key, self.market)["orders"] if o["clientOrderId"] == to_cl_ord_id(cid)]
        return o

    def venue_fills(self, cid: str) -> list[dict[str, Any]]:
        oid = self.venue_order(cid)["orderId"]
        return [f for f in self.ex.books(self.key, self.market)["fills"] if f["orderId"] == oid]

    def check_fills(self, cid: str) -> None:
        """The fills reported are the exchange's, exactly: trade id, price, base qty, fee, asset, side."""
        mine = sorted((r.trade_id, D(r.price), D(r.qty), D(r.fee), r.fee_asset, r.liquidity)
                      for r in self.of(cid, OrderFilled))
        theirs = sorted((str(f["id"]), D(f["price"]), D(f["qty"]), D(f["commission"]), f["commissionAsset"],
                         "maker" if f["maker"] else "taker") for f in self.venue_fills(cid))
        assert mine == theirs and mine, (mine, theirs)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


def expected_cash(ex: ExchangeHandle, key: str) -> dict[str, D]:
    """OKX's cashBal per coin from the exchange's books: spot free + locked plus what the swap
    wallet gained or lost since the start."""
    spot = ex.books(key, "spot")["balances"]
    swap = ex.books(key, "usdm")["balances"]
    out = {}
    for c, b in spot.items():
        cash = D(b["free"]) + D(b["locked"])
        if c in swap:
            cash += D(swap[c]["wallet"]) - D(START.get(c, 0))
        if cash:
            out[c] = cash
    return out


# ------------------------------------------------------------------------------------------------
# lifecycle, SPOT
# ------------------------------------------------------------------------------------------------
def test_spot_lifecycle_of_every_order_type(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 0) as h:
            # limit GTC resting: accepted, amended (qty and price), canceled
            px = below(ex, "spot", 3000)
            await h.submit("spot-lim", price=px)
            await until(lambda: h.of("spot-lim", OrderAccepted))
            (acc,) = h.of("spot-lim", OrderAccepted)
            assert acc.venue_order_id == str(h.venue_order("spot-lim")["orderId"])
            new_px = str(D(px) - D("1.5"))
            await h.client.handle({"op": "modify", "client_id": "spot-lim", "qty": "0.02", "price": new_px})
            # OKX's answer only takes the request: the amendment is reported when the orders
            # channel shows it (amendResult 0)
            await until(lambda: h.of("spot-lim", OrderAmended))
            (am,) = h.of("spot-lim", OrderAmended)
            assert (D(am.qty), D(am.price)) == (D("0.02"), D(new_px))
            vo = h.venue_order("spot-lim")
            assert (D(vo["origQty"]), D(vo["price"])) == (D("0.02"), D(new_px))
            await h.client.handle({"op": "cancel", "client_id": "spot-lim"})
            await h.done("spot-lim")
            assert h.kinds("spot-lim") == ["OrderAccepted", "OrderAmended", "OrderCanceled"]
            assert h.venue_order("spot-lim")["status"] == "CANCELED"

            # market buy: accepted, filled (base quantity, tgtCcy=base_ccy), fills exactly the exchange's
            await h.submit("spot-mkt", kind="market", qty="0.05")
            await h.done("spot-mkt")
            filled = sum(D(r.qty) for r in h.of("spot-mkt", OrderFilled))
            assert filled > 0 and D(h.venue_order("spot-mkt")["executedQty"]) == filled
            assert h.client.orders["spot-mkt"].status == ("filled" if filled == D("0.05") else "expired")
            h.check_fills("spot-mkt")

            # marketable limit sell: filled
            await h.submit("spot-take", side="sell", price=below(ex, "spot", 500), qty="0.03")
            await h.done("spot-take")
            assert h.client.orders["spot-take"].filled == D(h.venue_order("spot-take")["executedQty"]) > 0
            h.check_fills("spot-take")

            # IOC and FOK far from the book: nothing fills, OKX cancels the rest itself -> expired
            for cid, tif in (("spot-ioc", "IOC"), ("spot-fok", "FOK")):
                await h.submit(cid, price=below(ex, "spot", 3000), tif=tif)
                await h.done(cid)
                assert h.kinds(cid) == ["OrderAccepted", "OrderExpired"], h.kinds(cid)

            # post-only: resting below the bid stays open; crossing the ask is canceled by OKX -> expired
            await h.submit("spot-po", price=below(ex, "spot", 3000), post_only=True)
            await until(lambda: h.of("spot-po", OrderAccepted))
            assert h.venue_order("spot-po")["timeInForce"] == "GTX"
            await h.submit("spot-po-x", price=above(ex, "spot", 500), post_only=True)
            await h.done("spot-po-x")
            assert h.kinds("spot-po-x") == ["OrderAccepted", "OrderExpired"]
            await h.client.handle({"op": "cancel_all", "symbol": "BTCUSDT"})  # trader's symbol
            await h.done("spot-po")
            assert h.client.orders["spot-po"].status == "canceled"

            # refused before sending (named), and refused by OKX (its sCode)
            await h.submit("spot-stop", kind="stop_market", trigger="1")
            (rej,) = h.of("spot-stop", OrderRejected)
            assert rej.code == 0 and "algo-order service" in rej.reason
            await h.submit("spot-poor", kind="market", qty="500")
            await until(lambda: h.of("spot-poor", OrderRejected))
            (rej,) = h.of("spot-poor", OrderRejected)
            assert rej.code == 51008 and "Insufficient" in rej.reason
            await h.client.handle({"op": "modify", "client_id": "spot-mkt", "price": "1"})
            assert h.of("spot-mkt", ModifyRejected)[0].reason.startswith("the order is ")

            # balances: the account channel's last push and the REST view equal the exchange's books
            await asyncio.sleep(0.3)
            want = expected_cash(ex, h.key)
            last = [r for r in h.reports if isinstance(r, BalanceUpdate)][-1]
            assert {c: D(v) for c, v in last.balances.items() if D(v)} == want
            ms = await h.client.amass_status(0)
            assert {c: D(v) for c, v in ms.balances.items()} == want
            # BTC: 2 + bought - sold; USDT: 100000 - quote paid + quote got - fees (in USDT here)
            fills = ex.books(h.key, "spot")["fills"]
            btc = D(2) + sum((D(f["qty"]) if f["side"] == "BUY" else -D(f["qty"])) for f in fills)
            usdt = D(100000) + sum((-D(f["qty"]) * D(f["price"]) if f["side"] == "BUY" else D(f["qty"]) * D(f["price"]))
                                   - D(f["commission"]) for f in fills)
            assert (want["BTC"], want["USDT"]) == (btc, usdt)

    run(go())


def test_an_amendment_okx_took_then_failed_is_reported_refused(ex: ExchangeHandle) -> None:
    """sCode 0 on amend-order says OKX took the request; the orders channel's ``amendResult``
    -1 says it failed (the order as it was): a ModifyRejected, never an OrderAmended."""
    async def go() -> None:
        async with Harness(ex, 0) as h:
            px = below(ex, "spot", 3000)
            await h.submit("spot-amf", price=px)
            await until(lambda: h.of("spot-amf", OrderAccepted))
            (now,) = await h.client.http.request("GET", "/api/v5/trade/order",
                                                 {"instId": "BTC-USDT", "clOrdId": to_cl_ord_id("spot-amf")}, signed=True)
            row = {**now, "amendResult": "-1", "code": "51008", "msg": "Order failed. Insufficient balance"}
            h.client._apply_event(json.dumps({"arg": {"channel": "orders", "instType": "SPOT"}, "data": [row]}))
            (rej,) = h.of("spot-amf", ModifyRejected)
            assert rej.code == 51008 and "Insufficient balance" in rej.reason
            assert not h.of("spot-amf", OrderAmended)
            await h.client.handle({"op": "cancel", "client_id": "spot-amf"})
            await h.done("spot-amf")

    run(go())


# ------------------------------------------------------------------------------------------------
# lifecycle, SWAP
# ------------------------------------------------------------------------------------------------
def test_swap_lifecycle_sizes_in_contracts_and_positions(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 1, swap=True) as h:
            await h.submit("sw-lim", price=below(ex, "usdm", 3000), qty="0.05")
            await until(lambda: h.of("sw-lim", OrderAccepted))
            assert D(h.venue_order("sw-lim")["origQty"]) == D("0.05")  # 5 contracts of 0.01 BTC
            await h.client.handle({"op": "modify", "client_id": "sw-lim", "qty": "0.03"})
            await until(lambda: h.of("sw-lim", OrderAmended))
            assert D(h.venue_order("sw-lim")["origQty"]) == D("0.03")
            await h.client.handle({"op": "cancel", "client_id": "sw-lim"})
            await h.done("sw-lim")

            def venue_pos() -> D:
                return sum((D(p["positionAmt"]) for p in ex.books(h.key, "usdm")["positions"]), D(0))

            def last_pos() -> D | None:
                ups = [r for r in h.reports if isinstance(r, PositionUpdate)]
                return D(ups[-1].qty) if ups else None

            # a market buy (the book may be thin: filled, or partly filled and the rest expired)
            await h.submit("sw-long", kind="market", qty="0.04", symbol="BTCUSDT")  # trader's symbol
            await h.done("sw-long")
            h.check_fills("sw-long")
            long = h.client.orders["sw-long"].filled
            assert long > 0 and long == sum(D(r.qty) for r in h.of("sw-long", OrderFilled))
            assert D(h.venue_order("sw-long")["executedQty"]) == long
            await until(lambda: last_pos() == long == venue_pos())
            assert {r.symbol for r in h.reports if isinstance(r, PositionUpdate)} == {"BTCUSDT"}
            await h.submit("sw-fok", side="sell", price=above(ex, "usdm", 3000), qty="0.01", tif="FOK")
            await h.done("sw-fok")
            assert h.client.orders["sw-fok"].status == "expired"
            # reduce-only sells until flat (an IOC first, then market orders of what is left)
            await h.submit("sw-ioc", side="sell", price=below(ex, "usdm", 300), qty="0.01", tif="IOC",
                           reduce_only=True)
            await h.done("sw-ioc")
            for n in range(6):
                left = venue_pos()
                if left == 0:
                    break
                await h.submit(f"sw-close{n}", side="sell", kind="market", qty=str(left), reduce_only=True)
                await h.done(f"sw-close{n}")
                h.check_fills(f"sw-close{n}")
            assert venue_pos() == 0
            await until(lambda: last_pos() == 0)
            # reduce-only with nothing to reduce: OKX refuses with 51169
            await h.submit("sw-none", side="sell", kind="market", qty="0.01", reduce_only=True)
            await until(lambda: h.of("sw-none", OrderRejected))
            assert h.of("sw-none", OrderRejected)[0].code == 51169

            ms = await h.client.amass_status(0)
            (pos,) = ex.books(h.key, "usdm")["positions"]
            assert D(pos["positionAmt"]) == 0 and ms.positions == []
            assert {c: D(v) for c, v in ms.balances.items()} == expected_cash(ex, h.key)
            # every fill of the account, in base units, equals the exchange's
            venue = sorted((str(f["id"]), D(f["qty"]), D(f["price"]), D(f["commission"]))
                           for f in ex.books(h.key, "usdm")["fills"])
            assert sorted((f.trade_id, D(f.qty), D(f.price), D(f.fee)) for f in ms.fills) == venue

    run(go())


# ------------------------------------------------------------------------------------------------
# resilience
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chaos", ["ack_5xx=1", "timeout=1,timeout_s=1.5"])
def test_unknown_outcome_resolved_by_query_never_resent(ex: ExchangeHandle, chaos: str) -> None:
    i = 2 if chaos.startswith("ack") else 3

    async def go() -> None:
        async with Harness(ex, i, request_timeout_s=1.0) as h:
            # the stream's events are swallowed meanwhile (a stalled stream): only the query can tell
            live = h.client._apply_event
            h.client._apply_event = lambda text: None  # type: ignore[method-assign]
            ex.set_chaos(chaos)
            try:
                await h.submit("unk-1", price=below(ex, "spot", 3000))
            finally:
                ex.set_chaos(None)
                h.client._apply_event = live  # type: ignore[method-assign]
            assert h.kinds("unk-1") == ["OrderUnknown"]
            assert h.client.http.stats["unknown"] == 1
            await until(lambda: h.of("unk-1", OrderAccepted))
            assert h.kinds("unk-1") == ["OrderUnknown", "OrderAccepted"]
            assert h.of("unk-1", OrderAccepted)[0].venue_order_id == str(h.venue_order("unk-1")["orderId"])
            await until(lambda: h.client.stats["resolved"] == 1)
            # exactly one order at the venue: resolved, not resent
            assert len([o for o in ex.books(h.key, "spot")["orders"]
                        if o["clientOrderId"] == to_cl_ord_id("unk-1")]) == 1
            await h.client.handle({"op": "cancel", "client_id": "unk-1"})
            await h.done("unk-1")

    run(go())


def test_dropped_private_stream_is_caught_up(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 4) as h:
            await h.submit("drop-1", price=below(ex, "spot", 3000))
            await h.submit("drop-2", price=below(ex, "spot", 3000))
            await until(lambda: h.of("drop-1", OrderAccepted) and h.of("drop-2", OrderAccepted))
            assert h.client.stats["catch_ups"] == 1
            # the stream drops; meanwhile both orders are canceled behind the client's back
            assert h.client.conn is not None and h.client.conn.ws is not None
            await h.client.conn.ws.close()
            for cid in ("drop-1", "drop-2"):
                await h.client.http.order_call("/api/v5/trade/cancel-order",
                                               {"instId": "BTC-USDT", "clOrdId": to_cl_ord_id(cid)})
            # reconnect: login, resubscribe, catch-up asks for the orders the venue no longer lists
            await h.done("drop-1")
            await h.done("drop-2")
            assert h.client.stats["catch_ups"] >= 2 and h.client.stats["logins"] >= 2
            assert h.kinds("drop-1") == ["OrderAccepted", "OrderCanceled"]
            assert h.kinds("drop-2") == ["OrderAccepted", "OrderCanceled"]

    run(go())


def test_rate_limit_burst_is_waited_out(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 5) as h:
            # one burst of three 50011s starts with the submit (chaos off once it has)
            ex.set_chaos("burst429=1,burst_len=3")
            try:
                task = asyncio.ensure_future(h.submit("burst-1", price=below(ex, "spot", 3000)))
                await until(lambda: h.client.http.stats["rate_limited"] >= 1)
            finally:
                ex.set_chaos(None)
            t0 = asyncio.get_running_loop().time()
            await task
            assert h.kinds("burst-1") == ["OrderAccepted"]
            assert h.client.http.stats["rate_limited"] == 3
            assert ex.stats().get("50011", 0) >= 3
            # each 50011 held every request for the Retry-After / the rest of the 2 s window
            assert asyncio.get_running_loop().time() - t0 > 1.0
            assert len([o for o in ex.books(h.key, "spot")["orders"]
                        if o["clientOrderId"] == to_cl_ord_id("burst-1")]) == 1
            await h.client.handle({"op": "cancel", "client_id": "burst-1"})
            await h.done("burst-1")

    run(go())


def test_stream_dup_reorder_drop_fills_still_exact(ex: ExchangeHandle) -> None:
    """Private-stream chaos: pushes duplicated, reordered, dropped. Each trade is reported once,
    with the exchange's fee: a push whose cumulative fields do not follow the last one reported
    leaves its fill to the REST query; a dropped closing push is found by the open-order check."""

    async def go() -> None:
        async with Harness(ex, 8, open_check_s=0.5) as h:
            ex.set_chaos("dup=0.5,reorder=0.5,drop=0.3")
            try:
                for n in range(4):
                    await h.submit(f"ch-{n}", kind="market", qty="0.05", side="buy" if n % 2 == 0 else "sell")
                for n in range(4):
                    await h.done(f"ch-{n}", 20)
            finally:
                ex.set_chaos(None)
            for n in range(4):
                h.check_fills(f"ch-{n}")
                fills = h.of(f"ch-{n}", OrderFilled)
                assert len({f.trade_id for f in fills}) == len(fills)
                o = h.client.orders[f"ch-{n}"]
                assert o.filled == D(h.venue_order(f"ch-{n}")["executedQty"]) == sum(D(f.qty) for f in fills)
            chaos = ex.stats()["chaos"]
            assert chaos.get("dup", 0) + chaos.get("reorder", 0) + chaos.get("drop", 0) > 0

    run(go())


def test_text_ping_keeps_a_quiet_stream_alive(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 9, ping_s=0.3, user_stale_after_s=1.0) as h:
            await asyncio.sleep(2.5)  # no order, no push: only the pongs
            conn = h.client.conn
            assert conn is not None
            assert h.client.stats["pings"] >= 5
            assert (conn.stats["connects"], conn.stats["stale"]) == (1, 0)

    run(go())


def test_venue_plugin_credentials_need_a_passphrase(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from trader.exceptions import InvalidInputError
    from trader_plugins.venues.okx.plugin import OkxVenue

    v = OkxVenue()
    monkeypatch.setenv("OKX_API_KEY", "envKey0123")
    monkeypatch.setenv("OKX_API_SECRET", "envSecret0123")
    monkeypatch.delenv("OKX_API_PASSPHRASE", raising=False)
    with pytest.raises(InvalidInputError, match=r"OKX_API_PASSPHRASE not set"):
        v.credentials(None)
    monkeypatch.setenv("OKX_API_PASSPHRASE", "envPass-1")
    cred = v.credentials(None)
    assert cred.passphrase == "envPass-1" and "envPass-1" not in repr(cred)
    f = tmp_path / "okx.toml"
    f.write_text('api_key = "fileKey0123"\nsecret = "fileSecret0123"\n')
    f.chmod(0o600)
    with pytest.raises(InvalidInputError, match=r"needs a string key passphrase"):
        v.credentials(str(f))
    c = v.client({"inst_type": "swap", "symbol": "BTC-USDT-SWAP"}, cred, print)
    assert isinstance(c, OkxExecutionClient) and c.config.td_mode == "cross"
    assert "envSecret0123" not in repr(c) and "envPass-1" not in repr(c)
    with pytest.raises(InvalidInputError, match=r"credentials must be a Credentials with a passphrase"):
        v.client({}, Credentials("k0123", "s0123"), print)


def test_submit_held_by_a_rate_limit_is_withdrawn_by_its_cancel(ex: ExchangeHandle) -> None:
    async def go() -> None:
        async with Harness(ex, 10) as h:
            ex.set_chaos("burst429=1,burst_len=1")
            try:
                task = asyncio.ensure_future(h.submit("wd-1", price=below(ex, "spot", 3000)))
                await until(lambda: h.client.http.stats["rate_limited"] >= 1)
            finally:
                ex.set_chaos(None)
            # refused by 50011, now waiting out the window: its cancel withdraws it
            await h.client.handle({"op": "cancel", "client_id": "wd-1"})
            await task
            assert h.kinds("wd-1") == ["OrderCanceled"] and h.client.stats["withdrawn"] == 1
            assert not [o for o in ex.books(h.key, "spot")["orders"] if o["clientOrderId"] == to_cl_ord_id("wd-1")]

    run(go())


# ------------------------------------------------------------------------------------------------
# reconciliation
# ------------------------------------------------------------------------------------------------
def test_reconciliation_equals_the_exchange(ex: ExchangeHandle) -> None:
    async def go() -> tuple[Harness, Any, Any, Any]:
        async with Harness(ex, 6) as h:
            await h.submit("rec-open", price=below(ex, "spot", 3000), qty="0.02")
            await h.submit("rec-fill", kind="market", qty="0.01")
            await h.done("rec-fill")
            await until(lambda: h.of("rec-open", OrderAccepted))
            # the sync versions run on their own loop and REST client in a thread
            ms = await asyncio.to_thread(h.client.mass_status, 0)
            q = await asyncio.to_thread(h.client.query_order, "rec-fill")
            fills = await asyncio.to_thread(h.client.order_fills, "rec-fill")
            assert await h.client.aquery_order("rec-none") is None
            assert await h.client.aquery_order("x" * 40) is None  # an id OKX cannot hold: none there
            await h.client.handle({"op": "cancel", "client_id": "rec-gone", "symbol": "ETHUSDT"})
            (cr,) = h.of("rec-gone", CancelRejected)
            assert "symbol 'ETHUSDT' is none of this client's (BTC-USDT)" in cr.reason
            return h, ms, q, fills

    h, ms, q, fills = run(go())
    (vo,) = ms.open_orders
    venue_open = h.venue_order("rec-open")
    assert (vo.client_id, vo.venue_order_id, vo.side, vo.kind, D(vo.price or 0), D(vo.qty), vo.status) == \
        ("rec-open", str(venue_open["orderId"]), "buy", "limit", D(venue_open["price"]), D("0.02"), "open")
    venue_fill = h.venue_order("rec-fill")
    assert (q.client_id, q.status, D(q.filled), q.kind) == ("rec-fill", "filled", D("0.01"), "market")
    assert q.venue_order_id == str(venue_fill["orderId"])
    theirs = sorted((str(f["id"]), D(f["qty"]), D(f["price"]), D(f["commission"])) for f in h.venue_fills("rec-fill"))
    assert sorted((f.trade_id, D(f.qty), D(f.price), D(f.fee)) for f in fills) == theirs
    assert sorted((f.trade_id, D(f.qty), D(f.price), D(f.fee)) for f in ms.fills) == theirs
    assert all(f.client_id == "rec-fill" for f in ms.fills)
    # instruments named as trader's engine names them (the data client's symbol)
    assert {vo.instrument, q.instrument} | {f.instrument for f in ms.fills + fills} == {"BTCUSDT"}
    assert {c: D(v) for c, v in ms.balances.items()} == expected_cash(ex, h.key)


# ------------------------------------------------------------------------------------------------
# credentials hygiene
# ------------------------------------------------------------------------------------------------
def test_secret_and_passphrase_never_in_logs_reprs_errors(ex: ExchangeHandle, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []

    async def go() -> Harness:
        async with Harness(ex, 7) as h:
            await h.submit("sec-1", kind="market", qty="900")  # refused by OKX: an error with a message
            await until(lambda: h.of("sec-1", OrderRejected))
            errors.extend(r.reason for r in h.reports if hasattr(r, "reason"))
            errors.extend([repr(h.client), str(h.client), repr(h.client.http), repr(h.cred)])
            # a wrong passphrase: the login is refused, the error names no secret
            bad = OkxExecutionClient(config(ex), Credentials(h.cred.api_key, h.cred.secret, "Wrong-Pass"), print)
            try:
                with pytest.raises(Exception) as e:
                    await bad._start_rest()
                await bad.http.request("GET", "/api/v5/account/balance", signed=True)
            except Exception as err:  # noqa: BLE001 - its text is what is checked
                errors.append(str(err) + repr(err))
            finally:
                await bad.close()
            errors.append(str(e.value) + repr(e.value))
            return h

    h = run(go())
    text = caplog.text + "\n".join(errors)
    assert "50105" in text  # the refusal is there, named
    for secret in (h.cred.secret, h.cred.passphrase, "Wrong-Pass"):
        assert secret is not None and secret not in text
