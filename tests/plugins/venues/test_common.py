"""The venue-neutral pieces of venues/common (ws, http, reports, book) on their own; the Binance
adapter's tests exercise them end to end."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest

from trader.exceptions import InvalidInputError
from trader_plugins.venues.binance import http as binance_http
from trader_plugins.venues.binance.execution import OrderAccepted as BinanceOrderAccepted
from trader_plugins.venues.binance.ws import WsConnection as BinanceWs
from trader_plugins.venues.common import http, reports
from trader_plugins.venues.common.book import BookSync, BookUpdate, L2Book, Verdict, parse_levels
from trader_plugins.venues.common.ws import Backoff, WsConnection, backoff_delay



# ---- http ---------------------------------------------------------------------------------------

def test_binance_errors_are_the_common_ones() -> None:
    limited = binance_http.RateLimited(-1003, "Too many requests", 418, "/api/v3/order", retry_after_s=7.0)
    assert isinstance(limited, binance_http.BinanceError) and isinstance(limited, http.RateLimited)
    assert isinstance(limited, http.VenueError) and limited.retry_after_s == 7.0
    assert str(limited) == "binance /api/v3/order: HTTP 418, code -1003: Too many requests"
    unknown = binance_http.OutcomeUnknown("HTTP 503", "/fapi/v1/order")
    assert isinstance(unknown, http.OutcomeUnknown)
    assert str(unknown) == "binance /fapi/v1/order: outcome unknown: HTTP 503"


def test_budget_waits_for_the_next_window_and_headers_only_raise_the_count() -> None:
    b = http.Budget("REQUEST_WEIGHT", 60, 100, "x-used")
    assert b.wait_s(120.0, 90, 0.9) == 0.0
    b.used = 90
    assert b.wait_s(130.0, 1, 0.9) == pytest.approx(180 - 130 + 0.05)  # window [120, 180) is full
    b.observe(130.0, "50")
    assert b.used == 90  # a header behind the client's own count does not lower it
    b.observe(130.0, "95")
    assert b.used == 95
    b.observe(130.0, "n/a")
    assert b.used == 95
    assert b.wait_s(181.0, 1, 0.9) == 0.0 and b.used == 0  # a new window
    # a request larger than the headroom (a limit of 1 reported by the venue) goes alone in a
    # fresh window, and waits while the window has anything in it
    one = http.Budget("ORDERS", 1, 1, "x-used")
    assert one.wait_s(10.0, 1, 0.9) == 0.0
    one.used = 1
    assert one.wait_s(10.5, 1, 0.9) == pytest.approx(11 - 10.5 + 0.05)


def test_host_state_is_shared_per_host_and_clock() -> None:
    def clock() -> float:
        return 0.0

    a = http.host_state("api.example.test", id(clock))
    assert http.host_state("api.example.test", id(clock)) is a
    assert http.host_state("api.example.test", id(clock) + 1) is not a
    assert http.host_state("other.example.test", id(clock)) is not a

    async def gates() -> bool:
        return a.gate(4) is a.gate(4) and a.gate(4)._value == 4  # type: ignore[attr-defined]

    assert asyncio.run(gates())


@pytest.mark.parametrize(("value", "want"), [(None, 1.0), ("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", 1.0)])
def test_retry_after(value: str | None, want: float) -> None:
    assert http.retry_after_s(value) == want


# ---- ws -----------------------------------------------------------------------------------------

def test_backoff_caps_and_the_age_limit() -> None:
    assert backoff_delay(3, Backoff(jitter="none"), random.Random(1)) == 4.0
    assert all(0 <= backoff_delay(50, Backoff(), random.Random(i)) <= 30.0 for i in range(50))
    common = WsConnection("ws://x", lambda t, ns: None, stale_after_s=5)
    assert common.max_age_s == float("inf")  # no venue limit unless one is set
    assert WsConnection("ws://x", lambda t, ns: None, stale_after_s=5, max_age_s=60).max_age_s == 60
    assert BinanceWs("ws://x", lambda t, ns: None, stale_after_s=5).max_age_s == 23 * 3600 + 50 * 60
    with pytest.raises(InvalidInputError, match="feed: max_age_s must be > 0, got 0"):
        WsConnection("ws://x", lambda t, ns: None, stale_after_s=5, max_age_s=0, name="feed")


# ---- reports ------------------------------------------------------------------------------------

def test_reports_are_tagged_by_class_name() -> None:
    assert BinanceOrderAccepted is reports.OrderAccepted
    raw = msgspec.json.encode(reports.OrderAccepted("c-1", "42", 7))
    assert msgspec.json.decode(raw) == {"type": "OrderAccepted", "client_id": "c-1", "venue_order_id": "42", "ts": 7}
    assert msgspec.json.decode(raw, type=reports.Report) == reports.OrderAccepted("c-1", "42", 7)


# ---- book ---------------------------------------------------------------------------------------

class _Contiguous:
    """A toy rule: ids must follow one another; the snapshot comes over REST (deltas held)."""

    hold = True

    def classify(self, last: int, delta: int, first: bool) -> Verdict:
        if delta <= last:
            return "drop"
        return "apply" if delta == last + 1 else "gap"

    def last_id(self, delta: int) -> int:
        return delta


def test_book_sync_holds_until_the_snapshot() -> None:
    s: BookSync[int, str] = BookSync(_Contiguous(), "toy")
    assert s.on_delta(5, "d5") == [] and s.on_delta(6, "d6") == [] and s.wants_snapshot
    assert s.on_snapshot(2, "old") is None and s.counts["stale_snapshots"] == 1  # 3 and 4 are missing
    assert s.on_snapshot(5, "snap") == ["snap", "d6"] and s.counts["dropped"] == 1 and not s.wants_snapshot
    assert s.on_delta(8, "d8") == [] and s.counts["gaps"] == 1 and s.wants_snapshot and s.held == [(8, "d8")]
    s.resync("checksum")
    assert s.counts["gaps"] == 2 and s.held == [] and s.wants_snapshot
    s.reset()
    assert not s.wants_snapshot


def test_l2_book_keeps_the_venue_text() -> None:
    b = L2Book()
    b.apply(BookUpdate(venue="v", symbol="X", snapshot=True, bids=(("10.0", "1"), ("9.5", "2")),
                       asks=(("10.5", "3"),), update_id=1))
    b.apply(BookUpdate(venue="v", symbol="X", snapshot=False, bids=(("10.00", "0"), ("9.75", "4")),
                       asks=(), update_id=2))
    assert b.top_bids() == [("9.75", "4"), ("9.5", "2")] and b.top_asks(1) == [("10.5", "3")]
    assert not b.crossed
    b.apply(BookUpdate(venue="v", symbol="X", snapshot=False, bids=(("10.5", "1"),), asks=(), update_id=3))
    assert b.crossed


@pytest.mark.parametrize(("raw", "problem"), [
    ("1,2", "expected a list"),
    ([["1"]], r"x\[0\]: expected \[price, size\]"),
    ([[1, "2"]], r"x\[0\]: expected \[price, size\] as strings"),
    ([["nan", "1"]], r"x\[0\] price: must be a finite number >= 0"),
    ([["1", "abc"]], r"x\[0\] size: not a decimal number: 'abc'"),
])
def test_parse_levels_names_the_problem(raw: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        parse_levels(raw, "x")


def test_a_refused_connection_backs_off_instead_of_retrying_at_once() -> None:
    """A venue that answers the login with a refusal (a message, then the close) must not be
    retried four times a second: a refused connection does not reset the backoff."""
    from aiohttp import web

    from tests.plugins.venues.binance._server import serve

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"op":"auth","success":false,"ret_msg":"invalid key"}')
        await ws.receive(timeout=2)  # the client closes it
        return ws

    with serve([("GET", "/ws", handler)]) as url:
        async def main() -> tuple[WsConnection, WsConnection]:
            out = []
            for refuse in (True, False):
                conn: WsConnection

                def on_message(text: str, ns: int) -> None:
                    if refuse:
                        conn.refused()
                    asyncio.ensure_future(conn.ws.close()) if conn.ws is not None else None

                conn = WsConnection(url.replace("http", "ws") + "/ws", on_message, stale_after_s=5,
                                    backoff=Backoff(base_s=0.02, max_s=10.0), rng=random.Random(1))
                task = asyncio.ensure_future(conn.run())
                await asyncio.sleep(0.6)
                await conn.close()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                out.append(conn)
            return out[0], out[1]

        refused, fine = asyncio.run(asyncio.wait_for(main(), 20))
    # refused: the delays' caps double (0.02, 0.04, 0.08, ...); a healthy connection's stay at the base
    assert len(refused.delays) >= 3 and len(fine.delays) >= 3
    assert max(fine.delays) <= 0.02
    assert fine.stats["connects"] > refused.stats["connects"]
    caps = [0.02 * 2 ** k for k in range(len(refused.delays))]
    assert all(d <= c for d, c in zip(refused.delays, caps)) and max(refused.delays) > 0.02
