"""The adapter against trader's local exchange (started by the test): the order lifecycle of
every supported type, spot and USDⓈ-M, and the fills and balances equal the exchange's books."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from trader_plugins.venues.binance.auth import Credentials
from trader_plugins.venues.binance.config import BinanceConfig
from trader_plugins.venues.binance.data import BinanceDataClient
from trader_plugins.venues.binance.execution import (
    BalanceUpdate, BinanceExecutionClient, CancelRejected, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected,
    OrderTriggered)

from trader import exchange


@pytest.fixture(scope="module")
def ex() -> Any:
    with exchange.serve_in_thread(venue="binance", feed="synthetic",
                                  feed_options={"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000}) as handle:
        yield handle


def _config(ex: Any, market: str, **kw: Any) -> BinanceConfig:
    return BinanceConfig(market=market, symbols=("BTCUSDT",), rest_url=ex.base_url,
                         stream_url=ex.spot_stream_url if market == "spot" else ex.usdm_stream_url,
                         ws_api_url=ex.spot_ws_api_url if market == "spot" else "", **kw)


async def _until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def _cmd(cid: str, kind: str, side: str, qty: str, **kw: Any) -> dict[str, Any]:
    c = {"op": "submit", "order_id": 1, "client_id": cid, "symbol": "BTCUSDT", "side": side, "kind": kind, "qty": qty,
         "price": None, "trigger": None, "trail": None, "trail_type": None, "tif": "GTC", "expire_ns": None,
         "post_only": False, "reduce_only": False}
    c.update(kw)
    return c


def _of(reports: list[Any], cid: str, typ: type) -> list[Any]:
    return [r for r in reports if isinstance(r, typ) and getattr(r, "client_id", None) == cid]


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_order_lifecycle(ex: Any, market: str) -> None:
    acct = ex.accounts[0]
    creds = Credentials(acct["api_key"], acct["secret"])
    reports: list[Any] = []

    async def main() -> None:
        client = BinanceExecutionClient(_config(ex, market), creds, reports.append)
        await client.start()
        try:
            bid, ask = (Decimal(x) for x in ex.top(market))
            p = market[0]
            # a resting limit far from the market: accepted, then canceled
            await client.submit(_cmd(f"{p}-lim", "limit", "buy", "0.01", price=str((bid * Decimal("0.9")).quantize(Decimal("0.01")))))
            await _until(lambda: bool(_of(reports, f"{p}-lim", OrderAccepted)))
            await client.cancel({"op": "cancel", "client_id": f"{p}-lim", "symbol": "BTCUSDT"})
            await _until(lambda: bool(_of(reports, f"{p}-lim", OrderCanceled)))
            # market buy: filled
            await client.submit(_cmd(f"{p}-mkt", "market", "buy", "0.01"))
            await _until(lambda: sum(Decimal(f.qty) for f in _of(reports, f"{p}-mkt", OrderFilled)) == Decimal("0.01"))
            # a stop far above: accepted, canceled
            await client.submit(_cmd(f"{p}-stp", "stop_market", "buy", "0.01", trigger=str((ask * Decimal("1.1")).quantize(Decimal("0.01")))))
            await _until(lambda: bool(_of(reports, f"{p}-stp", OrderAccepted)))
            await client.cancel({"op": "cancel", "client_id": f"{p}-stp", "symbol": "BTCUSDT", "kind": "stop_market"})
            await _until(lambda: bool(_of(reports, f"{p}-stp", OrderCanceled)))
            # a stop below the market for a sell... triggers at once for a buy stop under the ask
            await client.submit(_cmd(f"{p}-trg", "stop_market", "buy", "0.01", trigger=str((ask * Decimal("0.99")).quantize(Decimal("0.01")))))
            await _until(lambda: bool(_of(reports, f"{p}-trg", OrderFilled)) or bool(_of(reports, f"{p}-trg", OrderRejected)))
            # cancel of an unknown order: rejected
            await client.cancel({"op": "cancel", "client_id": f"{p}-none", "symbol": "BTCUSDT"})
            assert _of(reports, f"{p}-none", CancelRejected)
            # a refused order never leaves
            await client.submit(_cmd(f"{p}-tiny", "limit", "buy", "0.0000001", price=str(bid)))
            assert _of(reports, f"{p}-tiny", OrderRejected)[0].code == 0
            await asyncio.sleep(0.3)
            # reconciliation answers equal the exchange's books
            ms = await client.amass_status(0)
            books = ex.books(acct["api_key"], market)
            venue_fills = {str(f.get("trade_id", f.get("id"))): f for f in books["fills"]}
            assert {f.trade_id for f in ms.fills} == set(venue_fills)
            mine = {r.trade_id: r for r in reports if isinstance(r, OrderFilled)}
            assert set(mine) == set(venue_fills)
            q = await client.aquery_order(f"{p}-mkt")
            assert q is not None and q.status == "filled" and Decimal(q.filled) == Decimal("0.01")
            assert await client.aquery_order(f"{p}-never") is None
            fills = await client.aorder_fills(f"{p}-mkt")
            assert sum(Decimal(f.qty) for f in fills) == Decimal("0.01")
            for asset, b in books["balances"].items():
                total = Decimal(b.get("wallet", "0")) if market == "usdm" else Decimal(b["free"]) + Decimal(b["locked"])
                if total:
                    assert Decimal(ms.balances[asset]) == total, asset
            assert any(isinstance(r, BalanceUpdate) for r in reports)
        finally:
            await client.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    # the sync wrappers (reconcile() is synchronous) give the same answers
    client = BinanceExecutionClient(_config(ex, market), creds, lambda r: None)
    assert client.query_order(f"{market[0]}-mkt") is not None


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_market_data_feed(ex: Any, market: str) -> None:
    async def main() -> dict[str, int]:
        feed = BinanceDataClient(_config(ex, market, stale_after_s=5.0))
        n = 0
        snapshot = False
        gen = feed.batches()
        async for batch in gen:
            for _, line in batch:
                snapshot = snapshot or '{"lastUpdateId"' in line
                n += 1
            if n > 200 and snapshot:
                break
        await gen.aclose()
        return feed.counts

    counts = asyncio.run(asyncio.wait_for(main(), 30))
    assert counts["snapshots"] >= 1 and counts["gaps"] == 0


def test_a_key_that_can_withdraw_is_refused_unless_allowed() -> None:
    from trader.exceptions import InvalidInputError

    key = {"api_key": "w" * 64, "secret": "s" * 64, "balances": {"USDT": 1000},
           "permissions": ["SPOT", "USDM", "WITHDRAW"]}
    with exchange.serve_in_thread(feed_options={"seed": 2, "rate": 50, "symbol": "BTCUSDT"}, accounts=[key]) as h:
        creds = Credentials(key["api_key"], key["secret"])

        async def start(**kw: Any) -> None:
            client = BinanceExecutionClient(_config(h, "spot", **kw), creds, lambda r: None)
            try:
                await client.start()
            finally:
                await client.close()

        with pytest.raises(InvalidInputError, match="withdraw") as e:
            asyncio.run(start())
        assert key["secret"] not in str(e.value) and key["api_key"] not in str(e.value)
        asyncio.run(start(allow_withdraw=True))


def test_the_countdown_cancels_everything_when_the_client_goes_silent(ex: Any) -> None:
    """The USDⓈ-M dead-man's switch: while the client lives it refreshes countdownCancelAll and
    its order stays; once it stops (a frozen or killed process: no refresh, no close), the
    exchange cancels the symbol's orders when the countdown runs out."""
    acct = ex.accounts[0]
    reports: list[Any] = []

    async def main() -> None:
        client = BinanceExecutionClient(_config(ex, "usdm", countdown_cancel_s=1.0),
                                        Credentials(acct["api_key"], acct["secret"]), reports.append)
        await client.start()
        bid, _ = (Decimal(x) for x in ex.top("usdm"))
        await client.submit(_cmd("dms-1", "limit", "buy", "0.01", price=str((bid * Decimal("0.9")).quantize(Decimal("0.01")))))
        await _until(lambda: bool(_of(reports, "dms-1", OrderAccepted)))
        await asyncio.sleep(2.0)  # twice the countdown: refreshed, still there
        assert client.stats["countdown_refreshes"] >= 4
        assert [o["status"] for o in ex.books(acct["api_key"], "usdm")["orders"] if o["clientOrderId"] == "dms-1"] == ["NEW"]
        for t in list(client._tasks):  # the process freezes: nothing more leaves it
            t.cancel()
        await asyncio.sleep(1.6)
        assert [o["status"] for o in ex.books(acct["api_key"], "usdm")["orders"] if o["clientOrderId"] == "dms-1"] == ["CANCELED"]
        assert ex.stats()["countdown_cancel"] >= 1
        await client.close()

    asyncio.run(asyncio.wait_for(main(), 30))
