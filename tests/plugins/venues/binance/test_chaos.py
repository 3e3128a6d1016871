"""The adapter under the local exchange's chaos, one mode at a time: unknown outcomes resolved by
query and never resent, clock skew without -1021, 429 bursts without a 418, gaps resynced,
dropped streams reconnected, listenKeys renewed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from trader_plugins.venues.binance.auth import Credentials
from trader_plugins.venues.binance.data import BinanceDataClient
from trader_plugins.venues.binance.execution import (
    BinanceExecutionClient, OrderAccepted, OrderFilled, OrderRejected, OrderUnknown)

from .test_local_exchange import _cmd, _config, _until

from trader import exchange
FEED = {"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000}


def _creds(ex: Any) -> Credentials:
    return Credentials(ex.accounts[0]["api_key"], ex.accounts[0]["secret"])


@pytest.mark.parametrize("market", ["spot", "usdm"])
@pytest.mark.parametrize("chaos", ["ack_5xx=1", "timeout=1,timeout_s=0.3"])
def test_unknown_outcome_resolved_never_resent(market: str, chaos: str) -> None:
    reports: list[Any] = []
    with exchange.serve_in_thread(feed_options=FEED, seed=3) as ex:
        async def main() -> None:
            client = BinanceExecutionClient(_config(ex, market, request_timeout_s=1.0), _creds(ex), reports.append)
            client.resolve_base_s = 0.05
            await client.start()
            try:
                ex.set_chaos(chaos)
                for i in range(3):
                    await client.submit(_cmd(f"u{i}", "market", "buy", "0.01"))
                ex.set_chaos(None)
                await _until(lambda: sum(isinstance(r, OrderFilled) for r in reports) == 3, 20)
            finally:
                await client.close()
        asyncio.run(asyncio.wait_for(main(), 40))
        books = ex.books(ex.accounts[0]["api_key"], market)
    assert sum(isinstance(r, OrderUnknown) for r in reports) == 3
    assert not any(isinstance(r, OrderRejected) for r in reports)
    assert len(books["orders"]) == 3  # each placed once
    assert len({r.client_id for r in reports if isinstance(r, OrderAccepted)}) == 3


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_clock_skew_and_429_burst(market: str) -> None:
    reports: list[Any] = []
    # NB: the burst is on from the start: ex.set_chaos("...burst429...") did not start bursts (see the report)
    with exchange.serve_in_thread(feed_options=FEED, seed=5, chaos="skew_ms=4000,burst429=0.2,burst_len=2,ban_s=2") as ex:
        async def main() -> dict[str, int]:
            client = BinanceExecutionClient(_config(ex, market), _creds(ex), reports.append)
            await client.start()
            try:
                assert abs(client.http.offset_ms - 4000) < 500
                for i in range(6):
                    await client.submit(_cmd(f"b{i}", "limit", "buy", "0.01", price="40000"))
                await _until(lambda: sum(isinstance(r, OrderAccepted) for r in reports) == 6, 20)
                return client.http.stats
            finally:
                await client.close()
        stats = asyncio.run(asyncio.wait_for(main(), 60))
        ex_stats = ex.stats()
    assert ex_stats.get("418", 0) == 0 and stats["http_418"] == 0
    assert stats["resigned_1021"] == 0
    assert stats["http_429"] > 0 and stats["retry_after_waits"] > 0  # the burst happened and was waited out
    assert not any(isinstance(r, OrderRejected) for r in reports)


@pytest.mark.parametrize("market", ["spot", "usdm"])
@pytest.mark.parametrize("chaos,want", [("gap=0.5", "gaps"), ("drop=0.01", "reconnects")])
def test_depth_gaps_resync_and_drops_reconnect(market: str, chaos: str, want: str) -> None:
    with exchange.serve_in_thread(feed_options={**FEED, "rate": 2000}, seed=9, chaos=chaos) as ex:
        async def main() -> dict[str, int]:
            feed = BinanceDataClient(_config(ex, market, stale_after_s=2.0))
            gen = feed.batches()
            async for _batch in gen:
                if feed.counts[want] >= 2 and feed.counts["snapshots"] >= 3:
                    break
            await gen.aclose()
            return feed.counts
        counts = asyncio.run(asyncio.wait_for(main(), 40))
    assert counts[want] >= 2 and counts["snapshots"] >= 3
    assert counts["snapshots"] >= counts["gaps"] + 1


@pytest.mark.parametrize("keepalive_s", [0.2, 30.0])
def test_listen_key_keepalive_and_renewal(keepalive_s: float) -> None:
    """Kept alive faster than it expires: the same key all along; not kept alive: expired, renewed."""
    reports: list[Any] = []
    with exchange.serve_in_thread(feed_options=FEED, seed=11, chaos="listenkey_expiry=1s") as ex:
        async def main() -> int:
            client = BinanceExecutionClient(_config(ex, "usdm", listen_key_keepalive_s=keepalive_s), _creds(ex),
                                            reports.append)
            await client.start()
            try:
                if keepalive_s < 1:
                    first = client.listen_key
                    await asyncio.sleep(2.0)
                    assert client.listen_key == first and client.stats["listen_key_renewals"] == 0
                else:
                    await _until(lambda: client.stats["listen_key_renewals"] >= 1, 10)
                await _until(lambda: client._subscribed.is_set(), 10)
                await client.submit(_cmd("lk", "market", "buy", "0.01"))
                await _until(lambda: any(isinstance(r, OrderFilled) for r in reports), 10)
                return client.stats["listen_key_renewals"]
            finally:
                await client.close()
        renewals = asyncio.run(asyncio.wait_for(main(), 30))
    assert renewals == (0 if keepalive_s < 1 else renewals) and (keepalive_s < 1 or renewals >= 1)
