"""The Bybit v5 execution client against the local exchange's Bybit front (started here): the order
lifecycle of every supported type (spot and linear), fills, balances and positions equal to the
exchange's books, unknown outcomes resolved by query (never resubmitted), a dropped private stream
caught up, 10006 honoured, reconciliation, the documented stream payloads decoded, and the secret
kept out of logs, reprs and errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.exchange._front_client import FEED, fixtures_dir, wait_books
from trader.exceptions import InvalidInputError
from trader.exchange import ExchangeHandle, serve_in_thread
from trader_plugins.venues.bybit import auth as bybit_auth
from trader_plugins.venues.bybit.config import Backoff, BybitConfig
from trader_plugins.venues.bybit.execution import BybitExecutionClient, fill_of, view_of
from trader_plugins.venues.bybit.orders import Instrument, OrderRefused, order_params
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.common.reports import (BalanceUpdate, CancelRejected, OrderAccepted, OrderAmended,
                                                  OrderCanceled, OrderExpired, OrderFilled, OrderRejected,
                                                  OrderUnknown, PositionUpdate)

FIXTURES = "ws_fixtures/nautilus/crates/adapters/bybit/test_data"
D = Decimal


def _acct(name: str, usdt: int = 100000, btc: int = 2) -> dict[str, Any]:
    return {"api_key": f"bybitExec{name}Key0123456789", "secret": f"bybitExec{name}Secret0123456789abcdef",
            "balances": {"USDT": usdt, "BTC": btc}}


SPOT, LINEAR, CHAOS, DROP, RECON, BURST, SECRET, MESSY = (
    _acct(n) for n in ("Spot", "Linear", "Chaos", "Drop", "Recon", "Burst", "Secret", "Messy"))
ACCOUNTS = [SPOT, LINEAR, CHAOS, DROP, RECON, BURST, SECRET, MESSY]


@pytest.fixture(scope="module")
def ex() -> Iterator[ExchangeHandle]:
    with serve_in_thread(venue="bybit", feed_options=FEED, accounts=ACCOUNTS, ping_interval=0.5) as h:
        wait_books(h)
        yield h


def run(coro: Any, timeout: float = 45) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Harness:
    """A client on the exchange with its reports collected."""

    def __init__(self, ex: ExchangeHandle, acct: dict[str, Any], category: str, **cfg: Any) -> None:
        self.ex, self.acct, self.category = ex, acct, category
        self.market = "spot" if category == "spot" else "usdm"
        self.reports: list[Any] = []
        config = BybitConfig(category=category, symbols=("BTCUSDT",), rest_url=ex.base_url,  # type: ignore[arg-type]
                             ws_private_url=ex.stream_urls["private"], open_check_s=cfg.pop("open_check_s", 0),
                             user_stale_after_s=cfg.pop("user_stale_after_s", 5.0),
                             ping_interval_s=cfg.pop("ping_interval_s", 1.0), **cfg)
        self.client = BybitExecutionClient(config, Credentials(acct["api_key"], acct["secret"]), self.reports.append)
        self.n = 0

    def cid(self, tag: str) -> str:
        self.n += 1
        return f"{self.category[:3]}-{tag}-{self.n}-{int(time.time() * 1000) % 10**8}"

    def of(self, cid: str, kind: type | None = None) -> list[Any]:
        return [r for r in self.reports
                if getattr(r, "client_id", None) == cid and (kind is None or isinstance(r, kind))]

    def kinds(self, cid: str) -> list[str]:
        return [type(r).__name__ for r in self.of(cid)]

    async def until(self, pred: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            assert time.monotonic() < deadline, f"condition not met in time; reports: {self.reports[-8:]}"
            await asyncio.sleep(0.02)

    async def done(self, cid: str, timeout: float = 10.0) -> None:
        await self.until(lambda: any(isinstance(r, (OrderCanceled, OrderExpired, OrderRejected)) for r in self.of(cid))
                         or self.filled(cid) == self.venue_order(cid)["qty"] != 0, timeout)

    def filled(self, cid: str) -> Decimal:
        return sum((D(r.qty) for r in self.of(cid, OrderFilled)), D(0))

    def books(self) -> dict[str, Any]:
        return self.ex.books(self.acct["api_key"], self.market)

    def venue_order(self, cid: str) -> dict[str, Any]:
        rows = [o for o in self.books()["orders"] if o["clientOrderId"] == cid]
        assert len(rows) <= 1, f"order {cid} placed {len(rows)} times"
        if not rows:
            return {"qty": D(-1), "status": "NONE"}
        o = rows[0]
        return {"qty": D(o["origQty"]), "status": o["status"], "executed": D(o["executedQty"]), "id": o["orderId"],
                "price": D(o["price"])}

    def check_fills(self, cid: str) -> None:
        """The fills reported for ``cid`` are exactly the exchange's (ids, prices, quantities, fees)."""
        vo = self.venue_order(cid)
        theirs = sorted((str(f["id"]), D(f["price"]), D(f["qty"]), D(f["commission"]), f["commissionAsset"],
                         "maker" if f["maker"] else "taker")
                        for f in self.books()["fills"] if f["orderId"] == vo["id"])
        ours = sorted((r.trade_id, D(r.price), D(r.qty), D(r.fee), r.fee_asset, r.liquidity)
                      for r in self.of(cid, OrderFilled))
        assert ours == theirs
        assert sum((q for _, _, q, *_ in ours), D(0)) == vo["executed"]


def px(ex: ExchangeHandle, market: str, side: str, ticks: int) -> str:
    """A price ``ticks`` cents away from the touch (positive: away from crossing)."""
    bid, ask = ex.top(market)
    if side == "buy":
        return str(D(bid or "0") - D(ticks) / 100)
    return str(D(ask or "0") + D(ticks) / 100)


def cross(ex: ExchangeHandle, market: str, side: str, ticks: int = 500) -> str:
    bid, ask = ex.top(market)
    return str(D(ask or "0") + D(ticks) / 100) if side == "buy" else str(D(bid or "0") - D(ticks) / 100)


# ---- the order lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("category,acct", [("spot", SPOT), ("linear", LINEAR)])
def test_lifecycle_every_type(ex: ExchangeHandle, category: str, acct: dict[str, Any]) -> None:
    h = Harness(ex, acct, category)
    m = h.market

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            # limit GTC resting, amended (price and quantity), then canceled
            a = h.cid("gtc")
            await c.handle({"op": "submit", "client_id": a, "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": px(ex, m, "buy", 300)})
            await h.until(lambda: h.kinds(a) == ["OrderAccepted"])
            new_price = str(D(px(ex, m, "buy", 400)))
            await c.handle({"op": "modify", "client_id": a, "qty": "0.02", "price": new_price})
            await h.until(lambda: h.venue_order(a)["qty"] == D("0.02"))
            assert h.venue_order(a)["price"] == D(new_price)
            await c.handle({"op": "cancel", "client_id": a})
            await h.until(lambda: h.of(a, OrderCanceled))
            assert h.kinds(a) == ["OrderAccepted", "OrderAmended", "OrderCanceled"]
            assert h.of(a, OrderAmended)[0].qty == "0.02" and D(h.of(a, OrderAmended)[0].price) == D(new_price)
            assert h.venue_order(a)["status"] == "CANCELED"

            # market buy: accepted, then its fills, nothing else
            b = h.cid("mkt")
            await c.handle({"op": "submit", "client_id": b, "kind": "market", "side": "buy", "qty": "0.01"})
            await h.until(lambda: h.filled(b) == D("0.01"))
            # market sell of the same (closes the linear position, returns the spot BTC)
            s = h.cid("mkts")
            await c.handle({"op": "submit", "client_id": s, "kind": "market", "side": "sell", "qty": "0.01",
                            "reduce_only": category == "linear"})
            await h.until(lambda: h.filled(s) == D("0.01"))

            # IOC crossing: fills; IOC not crossing: canceled unfilled
            i1, i2 = h.cid("ioc"), h.cid("iocx")
            await c.handle({"op": "submit", "client_id": i1, "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": cross(ex, m, "buy"), "tif": "IOC"})
            await c.handle({"op": "submit", "client_id": i2, "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": px(ex, m, "buy", 300), "tif": "IOC"})
            # FOK crossing fills whole; post-only crossing is ended by the venue, unfilled
            f1, p1, p2 = h.cid("fok"), h.cid("po"), h.cid("pox")
            await c.handle({"op": "submit", "client_id": f1, "kind": "limit", "side": "sell", "qty": "0.01",
                            "price": cross(ex, m, "sell"), "tif": "FOK"})
            await c.handle({"op": "submit", "client_id": p1, "kind": "limit", "side": "sell", "qty": "0.01",
                            "price": cross(ex, m, "sell"), "post_only": True})
            await c.handle({"op": "submit", "client_id": p2, "kind": "limit", "side": "sell", "qty": "0.01",
                            "price": px(ex, m, "sell", 300), "post_only": True})
            for x in (i1, i2, f1, p1):
                await h.done(x)
            await h.until(lambda: h.kinds(p2) == ["OrderAccepted"])
            await c.handle({"op": "cancel_all"})
            await h.until(lambda: h.of(p2, OrderCanceled))
            assert h.kinds(i1)[0] == "OrderAccepted" and h.filled(i1) == D("0.01")
            assert h.kinds(i2) == ["OrderAccepted", "OrderCanceled"]
            assert h.kinds(f1)[0] == "OrderAccepted" and h.filled(f1) == D("0.01")
            # the venue ends a post-only order that would take (this exchange says Rejected)
            assert h.kinds(p1) in (["OrderAccepted", "OrderCanceled"], ["OrderAccepted", "OrderRejected"])
            assert h.filled(p1) == 0 and h.venue_order(p1)["executed"] == 0
            assert "OrderCanceled" not in h.kinds(i1) and "OrderCanceled" not in h.kinds(f1)
            for x in (a, b, s, i1, i2, f1, p1, p2):
                h.check_fills(x)

            # refused before sending: a trailing stop, GTD, reduce-only on spot, a bad client id
            r1, r2 = h.cid("trail"), h.cid("gtd")
            await c.handle({"op": "submit", "client_id": r1, "kind": "trailing_stop_market", "side": "sell",
                            "qty": "0.01", "trail": "50", "trail_type": "bps"})
            await c.handle({"op": "submit", "client_id": r2, "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": "100", "tif": "GTD", "expire_ns": 1})
            for r in (r1, r2):
                rej = h.of(r, OrderRejected)
                assert len(rej) == 1 and rej[0].code == 0 and h.venue_order(r)["status"] == "NONE"
            assert "trailing" in h.of(r1, OrderRejected)[0].reason and "GTD" in h.of(r2, OrderRejected)[0].reason
            # a conditional order: sent as Bybit's triggerPrice, refused by this exchange (10001)
            st = h.cid("stop")
            await c.handle({"op": "submit", "client_id": st, "kind": "stop_market", "side": "sell", "qty": "0.01",
                            "trigger": px(ex, m, "buy", 1000)})
            await h.until(lambda: h.of(st, OrderRejected))
            assert h.of(st, OrderRejected)[0].code == 10001 and "triggerPrice" in h.of(st, OrderRejected)[0].reason

            # balances (and the linear position) equal the exchange's books
            await h.until(lambda: any(isinstance(r, BalanceUpdate) for r in h.reports))
            ms = await c.amass_status(0)
            books = h.books()
            if category == "spot":
                want = {k: D(v["free"]) + D(v["locked"]) for k, v in books["balances"].items()}
            else:
                want = {"USDT": D(books["balances"]["USDT"]["wallet"]), "BTC": D(2)}
                pos = {p["symbol"]: D(p["positionAmt"]) for p in books["positions"]}
                assert {p.instrument: D(p.qty) for p in ms.positions} == {"BTCUSDT": pos.get("BTCUSDT", D(0))}
            assert {k: D(v) for k, v in ms.balances.items()} == {k: v for k, v in want.items() if v}
            last = [r for r in h.reports if isinstance(r, BalanceUpdate)][-1]
            await h.until(lambda: D([r for r in h.reports if isinstance(r, BalanceUpdate)][-1].balances["USDT"])
                          == want["USDT"])
            assert last.ts > 0
            assert c.stats["duplicates"] >= 0 and c.stats["undecodable"] == 0
        finally:
            await c.close()

    run(main(), 60)


def test_linear_position_updates(ex: ExchangeHandle) -> None:
    """A linear fill moves the position; the stream's position report and mass status say so."""
    h = Harness(ex, LINEAR, "linear")

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            before = {p["symbol"]: D(p["positionAmt"]) for p in h.books()["positions"]}.get("BTCUSDT", D(0))
            b = h.cid("pos")
            await c.handle({"op": "submit", "client_id": b, "kind": "market", "side": "buy", "qty": "0.03"})
            await h.until(lambda: h.filled(b) == D("0.03"))
            await h.until(lambda: any(isinstance(r, PositionUpdate) and D(r.qty) == before + D("0.03")
                                      for r in h.reports))
            ms = await c.amass_status(0)
            assert [(p.instrument, D(p.qty)) for p in ms.positions] == [("BTCUSDT", before + D("0.03"))]
            s = h.cid("posx")
            await c.handle({"op": "submit", "client_id": s, "kind": "market", "side": "sell", "qty": "0.03",
                            "reduce_only": True})
            await h.until(lambda: h.filled(s) == D("0.03"))
            # reduce-only beyond the position: the venue's 110017
            r = h.cid("ro")
            await c.handle({"op": "submit", "client_id": r, "kind": "market", "side": "sell",
                            "qty": str(abs(before) + 1), "reduce_only": True})
            await h.until(lambda: h.of(r))
            if before >= 0:
                assert h.of(r, OrderRejected) and h.of(r, OrderRejected)[0].code == 110017
        finally:
            await c.close()

    run(main())


# ---- unknown outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize("chaos", ["ack_5xx=1", "timeout=1,timeout_s=0.3"])
def test_unknown_outcome_resolved_by_query(ex: ExchangeHandle, chaos: str) -> None:
    h = Harness(ex, CHAOS, "spot")

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            ex.set_chaos(chaos)
            a, b = h.cid("unk"), h.cid("unkm")
            try:
                await c.handle({"op": "submit", "client_id": a, "kind": "limit", "side": "buy", "qty": "0.01",
                                "price": px(ex, "spot", "buy", 300)})
                await c.handle({"op": "submit", "client_id": b, "kind": "market", "side": "buy", "qty": "0.01"})
            finally:
                ex.set_chaos(None)
            await h.until(lambda: h.of(a, OrderAccepted) and h.filled(b) == D("0.01") and c.stats["resolved"] == 2)
            # placed once each at the exchange, never resubmitted
            assert h.venue_order(a)["status"] == "NEW" and h.venue_order(b)["status"] == "FILLED"
            # the lost answer is reported (before or after the stream's word), each fact once
            assert sorted(h.kinds(a)) == ["OrderAccepted", "OrderUnknown"]
            assert h.kinds(b).count("OrderAccepted") == 1 and h.kinds(b).count("OrderUnknown") == 1
            assert "OrderRejected" not in h.kinds(b)
            h.check_fills(b)
            assert c.stats["unknown_outcomes"] == 2
            await c.handle({"op": "cancel", "client_id": a})
            await h.until(lambda: h.of(a, OrderCanceled))
        finally:
            await c.close()

    run(main())


# ---- a dropped private stream -------------------------------------------------------------------


def test_dropped_stream_catch_up(ex: ExchangeHandle) -> None:
    """While the private stream is away, one order is canceled and another amended into a fill
    (by a REST client the execution client does not know of): the catch-up after the reconnect
    reports both, with the fills the exchange made, exactly once."""
    h = Harness(ex, DROP, "spot", backoff=Backoff(base_s=1.5, max_s=1.5, jitter="none"))
    cred = Credentials(DROP["api_key"], DROP["secret"])

    async def raw_post(session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> dict[str, Any]:
        _, text, headers = bybit_auth.signed_payload(cred, "POST", body=body)
        async with session.post(f"{ex.base_url}{path}", data=text, headers=headers) as r:
            doc: dict[str, Any] = await r.json()
            assert doc["retCode"] == 0, doc
            return doc

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            a, b = h.cid("gone"), h.cid("fill")
            for x in (a, b):
                await c.handle({"op": "submit", "client_id": x, "kind": "limit", "side": "buy", "qty": "0.01",
                                "price": px(ex, "spot", "buy", 300)})
            await h.until(lambda: h.of(a, OrderAccepted) and h.of(b, OrderAccepted))
            assert c.conn is not None and c.conn.ws is not None
            await c.conn.ws.close()
            await h.until(lambda: c.conn is not None and c.conn.ws is None)
            async with aiohttp.ClientSession() as s:
                await raw_post(s, "/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": a})
                await raw_post(s, "/v5/order/amend", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": b,
                                                      "price": cross(ex, "spot", "buy")})
            assert c.conn.ws is None, "the stream came back too early for this test"
            await h.until(lambda: h.of(a, OrderCanceled) and h.filled(b) == D("0.01"), 15)
            assert h.kinds(a) == ["OrderAccepted", "OrderCanceled"]
            assert h.kinds(b)[0] == "OrderAccepted" and "OrderCanceled" not in h.kinds(b)
            h.check_fills(b)
            assert c.stats["catch_ups"] >= 2 and c.conn.stats["reconnects"] >= 1
            await h.until(lambda: c.stats["pongs"] >= 1, 3)  # {"op": "ping"} every ping_interval_s (1 s here)
            await asyncio.sleep(0.5)  # nothing reported twice afterwards
            assert len(h.of(b, OrderFilled)) == len({r.trade_id for r in h.of(b, OrderFilled)})
        finally:
            await c.close()

    run(main())


# ---- 10006 --------------------------------------------------------------------------------------


def test_10006_burst_honoured(ex: ExchangeHandle) -> None:
    h = Harness(ex, BURST, "spot")

    async def main() -> None:
        c = h.client
        await c.start()
        before = ex.stats().get("10006", 0)
        try:
            ex.set_chaos("burst429=0.3,burst_len=2")
            cids = [h.cid("b") for _ in range(8)]

            def order(i: int, x: str) -> dict[str, Any]:
                return {"op": "submit", "client_id": x, "kind": "limit", "side": "buy", "qty": "0.01",
                        "price": px(ex, "spot", "buy", 300 + i)}
            try:
                await asyncio.gather(*(c.handle(order(i, x)) for i, x in enumerate(cids)))
                while ex.stats().get("10006", 0) == before and len(cids) < 30:  # until a burst came
                    cids.append(h.cid("b"))
                    await c.handle(order(len(cids), cids[-1]))
            finally:
                ex.set_chaos(None)
            await h.until(lambda: all(h.of(x, OrderAccepted) for x in cids))
            assert ex.stats().get("10006", 0) > before
            assert c.http.stats["rate_limited_10006"] > 0
            assert not [r for r in h.reports if isinstance(r, OrderRejected)]
            assert all(h.venue_order(x)["status"] == "NEW" for x in cids)  # each placed once
            await c.handle({"op": "cancel_all"})
            await h.until(lambda: all(h.of(x, OrderCanceled) for x in cids))
        finally:
            await c.close()

    run(main())


# ---- reconciliation -----------------------------------------------------------------------------


def test_reconciliation_equals_the_exchange(ex: ExchangeHandle) -> None:
    h = Harness(ex, RECON, "linear")

    async def main() -> list[str]:
        c = h.client
        await c.start()
        cids = []
        try:
            for kind, side, tif in (("limit", "buy", "GTC"), ("market", "buy", "GTC"), ("limit", "sell", "GTC"),
                                    ("limit", "sell", "IOC")):
                x = h.cid("rc")
                cids.append(x)
                cmd: dict[str, Any] = {"op": "submit", "client_id": x, "kind": kind, "side": side, "qty": "0.02",
                                       "tif": tif}
                if kind == "limit":
                    cmd["price"] = cross(ex, "usdm", side) if tif == "IOC" else px(ex, "usdm", side, 300)
                await c.handle(cmd)
            await h.until(lambda: all(h.of(x) for x in cids) and h.filled(cids[1]) == D("0.02"))
            await h.done(cids[3])
        finally:
            await c.close()
        return cids

    cids = run(main())
    c = h.client
    books = h.books()
    ms = c.mass_status(0)
    open_there = {o["clientOrderId"]: o for o in books["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")}
    assert {o.client_id for o in ms.open_orders} == set(open_there)
    for o in ms.open_orders:
        b = open_there[o.client_id]
        assert (D(o.qty), D(o.filled), o.side, o.kind, o.status) == (D(b["origQty"]), D(b["executedQty"]),
                                                                     b["side"].lower(), "limit", "open")
        assert D(o.price or "0") == D(b["price"])
    by_id = {o["orderId"]: o["clientOrderId"] for o in books["orders"]}
    assert sorted((f.trade_id, f.client_id, D(f.price), D(f.qty), D(f.fee)) for f in ms.fills) == sorted(
        (str(f["id"]), by_id[f["orderId"]], D(f["price"]), D(f["qty"]), D(f["commission"])) for f in books["fills"])
    assert ms.balances["USDT"] and D(ms.balances["USDT"]) == D(books["balances"]["USDT"]["wallet"])
    pos = {p["symbol"]: D(p["positionAmt"]) for p in books["positions"]}
    assert {p.instrument: D(p.qty) for p in ms.positions} == {"BTCUSDT": pos.get("BTCUSDT", D(0))}
    status = {"NEW": "open", "FILLED": "filled", "CANCELED": "canceled", "EXPIRED": "canceled",
              "PARTIALLY_FILLED": "partially_filled"}
    for x in cids:
        b = next(o for o in books["orders"] if o["clientOrderId"] == x)
        q = c.query_order(x)
        assert q is not None and (q.venue_order_id, q.status, D(q.filled), D(q.qty)) == (
            str(b["orderId"]), status[b["status"]], D(b["executedQty"]), D(b["origQty"]))
        fills = c.order_fills(x)
        assert sorted((f.trade_id, D(f.qty), D(f.price)) for f in fills) == sorted(
            (str(f["id"]), D(f["qty"]), D(f["price"])) for f in books["fills"] if f["orderId"] == b["orderId"])
    assert c.query_order("never-placed-here") is None and c.order_fills("never-placed-here") == []


# ---- credentials hygiene ------------------------------------------------------------------------


def test_secret_never_shown(ex: ExchangeHandle, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = SECRET["secret"]
    h = Harness(ex, SECRET, "spot")
    bad = Harness(ex, {"api_key": SECRET["api_key"], "secret": "wrongSecretWrongSecret0123456789"}, "spot")

    async def main() -> list[str]:
        texts = []
        c = h.client
        await c.start()
        try:
            x = h.cid("s")
            await c.handle({"op": "submit", "client_id": x, "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": "1"})  # below the minimum order value: the venue's 170140
            await h.until(lambda: h.of(x, OrderRejected))
            texts.append(repr(h.of(x, OrderRejected)))
            await c.handle({"op": "cancel", "client_id": "not-there-at-all"})
            await h.until(lambda: h.of("not-there-at-all", CancelRejected))
        finally:
            await c.close()
        with pytest.raises(InvalidInputError, match="10004") as err:  # a wrong secret: the venue's 10004
            await bad.client.start(subscribe_timeout_s=5)
        texts.append(repr(err.value) + str(err.value))
        with pytest.raises(Exception, match="10004") as err2:
            await bad.client.amass_status(0)
        texts.append(repr(err2.value) + str(err2.value))
        await bad.client.close()
        return texts

    texts = run(main())
    assert any("10004" in t for t in texts)
    texts += [repr(h.client), repr(h.client.credentials), str(h.client.config), repr(h.reports)]
    for t in texts + [caplog.text]:
        assert secret not in t and "wrongSecretWrongSecret0123456789" not in t


# ---- the documented payloads and the mapping ----------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(shared_data: Path) -> Path:
    return fixtures_dir(shared_data, FIXTURES, "Bybit")


def test_documented_payloads_decode(data_dir: Path) -> None:
    order = json.loads((data_dir / "ws_account_order.json").read_text())["data"][0]
    v = view_of(order)
    assert (v.client_id, v.venue_order_id, v.status, v.filled, v.update_ms, v.kind, v.qty, v.price) == (
        "client-1", "abcdef123456", "canceled", D(0), 1700000005000, "limit", D("0.010"), D("30000"))
    stop = json.loads((data_dir / "ws_account_order_buy_stop_market.json").read_text())["data"][0]
    sv = view_of(stop)
    assert (sv.status, sv.kind, sv.triggered, sv.price) == ("open", "stop_market", False, None)
    ex_row = json.loads((data_dir / "ws_account_execution.json").read_text())["data"][0]
    f = fill_of(ex_row, "USDT")
    assert (f.trade_id, f.client_id, f.side, f.price, f.qty, f.fee, f.fee_asset, f.liquidity, f.ts) == (
        "0ab1bdf7-4219-438b-b30a-32ec863018f7", "test-order-link-001", "sell", "95900.1", "0.5", "26.3725275",
        "USDT", "taker", 1746270400353 * 1_000_000)
    for name in sorted(p.name for p in data_dir.glob("ws_account_order*.json")):
        for row in json.loads((data_dir / name).read_text())["data"]:
            view_of(row)  # every documented status decodes
    for name in ("http_get_orders_realtime.json", "http_get_orders_history.json"):
        for row in json.loads((data_dir / name).read_text())["result"]["list"]:
            view_of(row)


def test_documented_stream_messages_to_reports(data_dir: Path) -> None:
    """The documented wallet and position messages become the reports, through the client's
    decoding (no connection needed)."""
    reports: list[Any] = []
    c = BybitExecutionClient(BybitConfig(category="linear", symbols=("ETHUSDT",)),
                             Credentials("k" * 18, "s" * 32), reports.append)
    c._buffer = None
    c._on_message((data_dir / "ws_account_wallet.json").read_text(), 0)
    c._on_message((data_dir / "ws_account_position.json").read_text(), 0)
    assert reports[0] == BalanceUpdate({"BTC": "0.00102964", "USDT": "9647.75537647"}, 1700034722104 * 1_000_000)
    assert reports[1] == PositionUpdate("ETHUSDT", "-0.01", "3641.075", 1762199126022 * 1_000_000)
    assert c._control((data_dir / "ws_auth_failure.json").read_text()) is True
    assert c.stats["auth_failures"] == 1


SPOT_INS = Instrument(symbol="BTCUSDT", base_coin="BTC", quote_coin="USDT", tick_size="0.01", qty_step="0.000001",
                      min_qty="0.000048", max_qty="71.73956243", min_notional="1")
LIN_INS = Instrument(symbol="BTCUSDT", base_coin="BTC", quote_coin="USDT", tick_size="0.10", qty_step="0.001",
                     min_qty="0.001", max_qty="1190", min_notional="5")


def test_order_params_mapping() -> None:
    base = {"op": "submit", "client_id": "c-1", "symbol": "BTCUSDT", "side": "buy", "qty": "0.0123456"}
    assert order_params(base | {"kind": "market"}, "spot", SPOT_INS) == {
        "category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.012345",
        "marketUnit": "baseCoin", "orderLinkId": "c-1"}
    assert order_params(base | {"kind": "limit", "price": "50000.057", "post_only": True}, "linear", LIN_INS) == {
        "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.012",
        "price": "50000", "timeInForce": "PostOnly", "orderLinkId": "c-1"}
    sell = base | {"side": "sell", "qty": "0.01"}
    assert order_params(sell | {"kind": "limit", "price": "50000.01", "tif": "FOK", "reduce_only": True}, "linear",
                        LIN_INS) == {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit",
                                     "qty": "0.01", "price": "50000.1", "timeInForce": "FOK", "reduceOnly": True,
                                     "orderLinkId": "c-1"}
    # stops trigger in the adverse direction, if-touched ones in the favourable one
    stop = order_params(sell | {"kind": "stop_market", "trigger": "48000.04"}, "linear", LIN_INS)
    assert (stop["triggerPrice"], stop["triggerDirection"], stop["orderType"]) == ("48000", 2, "Market")
    assert order_params(base | {"kind": "stop_limit", "trigger": "52000", "price": "52100"}, "linear",
                        LIN_INS)["triggerDirection"] == 1
    assert order_params(base | {"kind": "market_if_touched", "trigger": "48000"}, "linear",
                        LIN_INS)["triggerDirection"] == 2
    lit = order_params(sell | {"kind": "limit_if_touched", "trigger": "52000.06", "price": "52000"}, "spot", SPOT_INS)
    assert (lit["triggerPrice"], lit["orderFilter"], lit["orderType"], "triggerDirection" in lit) == (
        "52000.06", "StopOrder", "Limit", False)
    for cmd, cat, words in ((base | {"kind": "trailing_stop_market", "trail": "10"}, "linear", "trailing"),
                            (base | {"kind": "oco"}, "spot", "order manager"),
                            (base | {"kind": "limit", "price": "1", "tif": "DAY"}, "spot", "DAY"),
                            (base | {"kind": "market", "reduce_only": True}, "spot", "reduce_only"),
                            (base | {"kind": "market", "client_id": "bad id!"}, "spot", "client_id"),
                            (base | {"kind": "market", "qty": "0.0000001"}, "spot", "below the minimum"),
                            (base | {"kind": "limit", "price": "1"}, "linear", "minimum 5"),
                            (base | {"kind": "limit", "price": "-1"}, "linear", "price"),
                            (base | {"kind": "market", "side": "long"}, "spot", "side")):
        with pytest.raises(OrderRefused, match=words):
            order_params(cmd, cat, SPOT_INS if cat == "spot" else LIN_INS)


def test_config_validation() -> None:
    c = BybitConfig(category="linear", symbols=("btcusdt",), depth=500)
    assert c.symbols == ("BTCUSDT",) and c.rest_url == "https://api.bybit.com"
    assert c.public_url == "wss://stream.bybit.com/v5/public/linear"
    assert BybitConfig(testnet=True).ws_private_url == "wss://stream-testnet.bybit.com/v5/private"
    for kw, field in (({"category": "inverse"}, "category"), ({"symbols": ()}, "symbols"),
                      ({"recv_window": 0}, "recv_window"), ({"depth": 500}, "depth"),
                      ({"stale_after_s": 0}, "stale_after_s"), ({"open_check_s": -1}, "open_check_s"),
                      ({"ping_interval_s": 90}, "ping_interval_s"), ({"rest_url": "ftp://x"}, "rest_url"),
                      ({"backoff": Backoff(base_s=2, max_s=1)}, "backoff")):
        with pytest.raises(InvalidInputError, match=field):
            BybitConfig(**kw)  # type: ignore[arg-type]


def test_clock_skew_resynced_on_10002(ex: ExchangeHandle) -> None:
    """The exchange's clock jumps 8 s ahead (then back): the request answered 10002 is signed
    again after a time sync and goes through; no order is lost or doubled."""
    h = Harness(ex, CHAOS, "spot")

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            cids = [h.cid("skew"), h.cid("skew")]
            ex.set_chaos("skew_ms=8000")
            try:
                await c.handle({"op": "submit", "client_id": cids[0], "kind": "limit", "side": "buy", "qty": "0.01",
                                "price": px(ex, "spot", "buy", 300)})
                assert 7500 <= c.http.offset_ms <= 8500
            finally:
                ex.set_chaos(None)
            await c.handle({"op": "submit", "client_id": cids[1], "kind": "limit", "side": "buy", "qty": "0.01",
                            "price": px(ex, "spot", "buy", 300)})
            assert abs(c.http.offset_ms) <= 500 and c.http.stats["resigned_10002"] == 2
            await h.until(lambda: all(h.of(x, OrderAccepted) for x in cids))
            assert all(h.venue_order(x)["status"] == "NEW" for x in cids)
            await c.handle({"op": "cancel_all"})
            await h.until(lambda: all(h.of(x, OrderCanceled) for x in cids))
        finally:
            await c.close()

    run(main())


def test_withdrawal_permission_refused(data_dir: Path) -> None:
    """A key that may withdraw is refused unless allowed (the documented query-api answer has no
    withdrawal permission: accepted)."""
    documented = json.loads((data_dir / "http_get_user_query_api.json").read_text())["result"]

    class Stub:
        def __init__(self, answer: dict[str, Any]) -> None:
            self.answer = answer

        async def request(self, method: str, path: str, params: Any = None, **kw: Any) -> Any:
            assert (method, path, kw.get("signed")) == ("GET", "/v5/user/query-api", True)
            return self.answer

    cred = Credentials("k" * 18, "s" * 32)
    withdraw = {**documented, "permissions": {**documented["permissions"], "Wallet": ["AccountTransfer", "Withdraw"]}}
    for answer, allow, refused in ((documented, False, False), (withdraw, False, True), (withdraw, True, False)):
        c = BybitExecutionClient(BybitConfig(allow_withdraw=allow), cred, lambda r: None,
                                 http=Stub(answer))  # type: ignore[arg-type]
        if refused:
            with pytest.raises(InvalidInputError, match="withdrawal permission"):
                run(c._check_withdrawals())
        else:
            run(c._check_withdrawals())


def test_duplicated_reordered_and_stalled_stream(ex: ExchangeHandle) -> None:
    """The private stream duplicates and reorders its messages: every fill is reported once, no
    status goes back, the orders end as the exchange has them; then it stalls (silent, no pings):
    the client finds it stale, reconnects and catches up on what it missed."""
    h = Harness(ex, MESSY, "linear", user_stale_after_s=2.0, ping_interval_s=0.5,
                backoff=Backoff(base_s=0.1, max_s=0.2))

    async def main() -> None:
        c = h.client
        await c.start()
        try:
            ex.set_chaos("dup=0.5,reorder=0.5")
            cids = []
            try:
                for i in range(6):
                    x = h.cid("messy")
                    cids.append(x)
                    side = "buy" if i % 2 == 0 else "sell"
                    await c.handle({"op": "submit", "client_id": x, "kind": "market", "side": side, "qty": "0.01"})
                rest = h.cid("rest")
                await c.handle({"op": "submit", "client_id": rest, "kind": "limit", "side": "buy", "qty": "0.01",
                                "price": px(ex, "usdm", "buy", 300)})
                # a market order fills what the top of the book holds; the rest is canceled (IOC)
                await h.until(lambda: all(h.filled(x) == D("0.01") or h.of(x, OrderCanceled) for x in cids)
                              and h.of(rest, OrderAccepted))
                await c.handle({"op": "cancel", "client_id": rest})
                await h.until(lambda: h.of(rest, OrderCanceled))
            finally:
                ex.set_chaos(None)
            assert ex.stats()["chaos"].get("dup", 0) > 0 and ex.stats()["chaos"].get("reorder", 0) > 0
            assert c.stats["duplicates"] > 0
            for x in cids:
                full = h.filled(x) == D("0.01")
                assert h.kinds(x) == ["OrderAccepted", "OrderFilled"] + ([] if full else ["OrderCanceled"]), h.kinds(x)
                h.check_fills(x)
                assert c.orders[x].status == ("filled" if full else "canceled")
            assert h.kinds(rest) == ["OrderAccepted", "OrderCanceled"]
            assert c.orders[rest].status == "canceled"

            # a silent stall: the next message stalls the connection for good
            reconnects = c.conn.stats["reconnects"] if c.conn else 0
            ex.set_chaos("stall=1")
            late = h.cid("late")
            try:
                await c.handle({"op": "submit", "client_id": late, "kind": "market", "side": "buy", "qty": "0.01"})
                await asyncio.sleep(0.3)
            finally:
                ex.set_chaos(None)
            await h.until(lambda: h.filled(late) == D("0.01"), 10)
            assert c.conn is not None and c.conn.stats["stale"] >= 1 and c.conn.stats["reconnects"] > reconnects
            h.check_fills(late)
            back = h.cid("back")
            await c.handle({"op": "submit", "client_id": back, "kind": "market", "side": "sell", "qty": "0.01",
                            "reduce_only": True})
            await h.until(lambda: h.filled(back) == D("0.01"))
        finally:
            await c.close()

    run(main(), 60)
