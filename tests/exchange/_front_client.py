"""Client-side helpers the Bybit and OKX front tests share (test_bybit_front.py, test_okx_front.py).

The venue-specific parts (signed REST clients, envelopes, the fixtures' folder) stay in each test
module; here: reading a documented payload and comparing shapes with it, serving one venue with
its books filled, and the async plumbing of the tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.exchange.test_fixture_shapes import mismatches
from trader.exchange import ExchangeHandle, serve_in_thread

#: The feed both front tests run on.
FEED = {"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000}


def fixtures_dir(shared_data: Path, rel: str, venue: str) -> Path:
    """The venue's documented payloads under the shared data (tests/conftest.py's ``shared_data``:
    skipped without it on a developer machine, failed under CI=true)."""
    path = shared_data / rel
    assert path.is_dir(), f"{venue} fixtures not found under {path}"
    return path


def fixture(data_dir: Path, name: str) -> Any:
    return json.loads((data_dir / f"{name}.json").read_text())


def same_shape(expected: Any, got: Any) -> None:
    bad = mismatches(expected, got)
    assert not bad, "\n".join(bad)


def wait_books(ex: ExchangeHandle) -> None:
    """Wait (10 s at most) until both markets have a bid and an ask."""
    deadline = time.monotonic() + 10
    while (None in ex.top("spot") or None in ex.top("usdm")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert None not in ex.top("spot") and None not in ex.top("usdm"), "the exchange's book never filled"


def serve_front(venue: str, accounts: list[dict[str, Any]]) -> Iterator[ExchangeHandle]:
    """A module fixture's body: the exchange serving ``venue`` for ``accounts`` on :data:`FEED`,
    its books filled."""
    with serve_in_thread(venue=venue, feed_options=FEED, accounts=accounts, ping_interval=0.5) as h:
        wait_books(h)
        yield h


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def below(ex: ExchangeHandle, market: str, ticks: int = 200) -> str:
    """A price ``ticks`` cents under the market's best bid."""
    return str(Decimal(ex.top(market)[0] or "0") - Decimal(ticks) / 100)


def above(ex: ExchangeHandle, market: str, ticks: int = 200) -> str:
    """A price ``ticks`` cents over the market's best ask."""
    return str(Decimal(ex.top(market)[1] or "0") + Decimal(ticks) / 100)


async def until(pred: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
