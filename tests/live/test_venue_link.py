"""A strategy's engine trading on a real venue's protocol: the engine (``venue="external"``)
fed by the Binance data client, its commands sent by the Binance execution client through
:class:`trader.live.venue_link.VenueLink`, the venue's reports applied back — against the local
exchange. The engine's fills, position and orders must equal the exchange's books."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from trader import Strategy, _core
from trader.exchange import serve_in_thread
from trader.live.venue_link import VenueLink
from trader_plugins.venues.binance.auth import Credentials
from trader_plugins.venues.binance.config import BinanceConfig
from trader_plugins.venues.binance.data import BinanceDataClient
from trader_plugins.venues.binance.execution import BinanceExecutionClient


def _wired(ex: Any, market: str, strategy: Strategy) -> tuple[Any, VenueLink, BinanceDataClient]:
    """A session on the external venue for ``strategy``, its link to the Binance execution
    client and the data client, all pointed at the local exchange ``ex``."""
    acct = ex.accounts[0]
    stream = ex.usdm_stream_url if market == "usdm" else ex.spot_stream_url
    cfg = BinanceConfig(market=market, symbols=("BTCUSDT",), rest_url=ex.base_url, stream_url=stream,
                        ws_api_url=ex.spot_ws_api_url if market == "spot" else "")
    session = _core.LiveSession(strategy, mode="l2", market=market, price_precision=2, size_precision=3,
                                venue="external", account="margin", cash=10_000.0, symbol="BTCUSDT")
    link = VenueLink(session, "main")
    link.client = BinanceExecutionClient(cfg, Credentials(acct["api_key"], acct["secret"]), link.on_report)
    return session, link, BinanceDataClient(cfg)


async def _trade(session: Any, link: VenueLink, feed: BinanceDataClient, done: Any, timeout: float,
                 settled: Any = None) -> None:
    """Feed the session until ``done()``, sending what it commands; then the link drains and
    the client stays up until ``settled()`` (at most 5 s)."""
    await link.client.start()
    try:
        async def consume() -> None:
            async for batch in feed.batches():
                session.push_lines([e[1] for e in batch])
                while session.backlog:
                    session.pump(4096)
                link.retry_held()
                link.flush()
                if done():
                    return

        await asyncio.wait_for(consume(), timeout)
        await link.drain(10)
        for _ in range(100):
            if settled is None or settled():
                break
            await asyncio.sleep(0.05)
    finally:
        await feed.close()
        await link.client.close()


class Trader(Strategy):
    """Every 15th trade: a market order (buy, buy, sell...), and a limit far below the market that
    the 3rd time is canceled; stops sending after ``n`` orders."""

    def __init__(self, n: int = 8) -> None:
        super().__init__()
        self.n = n

    def on_start(self) -> None:
        self.trades = 0
        self.sent = 0
        self.resting: list[int] = []

    def on_trade(self, trade: Any) -> None:
        self.trades += 1
        if self.trades % 15 or self.sent >= self.n:
            return
        self.sent += 1
        if self.sent % 3 == 0:
            self.resting.append(self.buy(0.002, price=round(trade.price * 0.9, 2)))
            if len(self.resting) > 1:
                self.cancel(self.resting.pop(0))
        else:
            (self.buy if self.sent % 2 else self.sell)(0.001)


# The local exchange's shutdown may leave a WebSocket ping task of aiohttp's pending (reported
# by the garbage collector as an unraisable exception, not a failure of the run).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_the_engine_trades_through_the_adapter_and_matches_the_exchanges_books(market: str) -> None:
    with serve_in_thread(feed_options={"seed": 11, "rate": 400, "symbol": "BTCUSDT", "price": 50_000}) as ex:
        acct = ex.accounts[0]
        strategy = Trader()
        session, link, feed = _wired(ex, market, strategy)

        asyncio.run(_trade(session, link, feed,
                           lambda: strategy.sent >= strategy.n and not session.venue_stats()["at_venue"][1:], 60,
                           # the last fills' events reach the engine (the stream's, after the answers)
                           lambda: len(session.fills_since(0)) == len(ex.books(acct["api_key"], market)["fills"])))
        books = ex.books(acct["api_key"], market)

    fills = session.fills_since(0)
    assert strategy.sent == strategy.n
    assert len(fills) >= 5
    ours = sorted((f["trade_id"], Decimal(f["price"]), Decimal(f["qty"]), f["side"].upper()) for f in fills)
    theirs = sorted((str(f["id"]), Decimal(f["price"]), Decimal(f["qty"]), f["side"].upper()) for f in books["fills"])
    assert ours == theirs
    # the orders: each of ours is at the exchange with the same status and filled quantity
    by_cid = {o["clientOrderId"]: o for o in books["orders"]}
    status = {"FILLED": "FILLED", "CANCELED": "CANCELED", "ACCEPTED": "NEW", "PARTIALLY_FILLED": "PARTIALLY_FILLED"}
    for o in session.orders():
        there = by_cid[f"main-{o['id']}"]
        assert status[o["status"]] == there["status"], (o, there)
        assert Decimal(o["filled"]) == Decimal(there["executedQty"])
    if market == "usdm":
        (pos,) = [p for p in books["positions"] if p["symbol"] == "BTCUSDT"]
        assert Decimal(session.position()["qty"]) == Decimal(pos["positionAmt"])
    assert link.counts["send_errors"] == 0 and link.counts["unknown"] == 0


class Modifier(Strategy):
    """A limit buy far under the market; once accepted, modified (closer, larger); once updated,
    modified again to the same values (the venue refuses: nothing to change)."""

    def on_start(self) -> None:
        self.oid: int | None = None
        self.kinds: list[str] = []
        self.price = 0.0

    def on_trade(self, trade: Any) -> None:
        if self.oid is None:
            self.price = round(trade.price * 0.9, 2)
            self.oid = self.buy(0.002, price=self.price)

    def on_order_event(self, event: Any) -> None:
        if event.order_id != self.oid:
            return
        self.kinds.append(event.kind)
        if event.kind == "accepted":
            self.modify(self.oid, qty=0.003, price=round(self.price * 1.01, 2))
        elif event.kind == "updated":
            self.modify(self.oid, qty=0.003, price=round(self.price * 1.01, 2))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_a_modify_reaches_the_venue_and_a_refused_one_reaches_the_strategy(market: str) -> None:
    """USDⓈ-M: the modify is carried out at the exchange (PUT /fapi/v1/order) and the engine's order
    follows; the same modify again is refused there (-5027) and the strategy gets a
    modify_rejected event. Spot modifies nothing in place: refused at once, the order unchanged."""
    with serve_in_thread(feed_options={"seed": 3, "rate": 400, "symbol": "BTCUSDT", "price": 50_000}) as ex:
        acct = ex.accounts[0]
        strategy = Modifier()
        session, link, feed = _wired(ex, market, strategy)

        asyncio.run(_trade(session, link, feed, lambda: "modify_rejected" in strategy.kinds, 30))
        books = ex.books(acct["api_key"], market)
    (there,) = [o for o in books["orders"] if o["clientOrderId"] == f"main-{strategy.oid}"]
    mine = session.order(strategy.oid)
    want = Decimal(str(round(strategy.price * 1.01, 2))) if market == "usdm" else Decimal(str(strategy.price))
    assert Decimal(there["price"]) == Decimal(mine["price"]) == want
    assert Decimal(there["origQty"]) == Decimal(mine["qty"]) == (Decimal("0.003") if market == "usdm" else Decimal("0.002"))
    if market == "usdm":
        assert strategy.kinds[:3] == ["submitted", "accepted", "updated"] and strategy.kinds[-1] == "modify_rejected"
        assert strategy.kinds.count("updated") == 1
    else:
        assert strategy.kinds[-1] == "modify_rejected" and "updated" not in strategy.kinds
    assert link.counts["modify_rejected"] == 1
