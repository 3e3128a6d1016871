"""A cancel stays wanted until the order is done: sent before the venue has the order, refused
by a 429, or lost on the way, it goes again once the venue shows the order open; one that finds
no order settles with the venue's view (the order filled meanwhile) instead of being refused."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from trader_plugins.venues.binance.auth import Credentials
from trader_plugins.venues.binance.config import BinanceConfig
from trader_plugins.venues.binance.execution import (
    BinanceExecutionClient, CancelRejected, OrderAccepted, OrderCanceled, OrderFilled)
from trader_plugins.venues.binance.http import BinanceError, OutcomeUnknown, RateLimited, Withdrawn

CID = "s-1"
UNKNOWN = BinanceError(-2011, "Unknown order sent.", 400, "/api/v3/order")


def _order(status: str, executed: str = "0", update: int = 2000) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "orderId": 7, "clientOrderId": CID, "price": "100", "origQty": "1",
            "executedQty": executed, "status": status, "type": "LIMIT", "side": "BUY", "time": 1000,
            "updateTime": update}


CANCELED = _order("CANCELED", update=3000)


class ScriptedHttp:
    """Answers each (method, path) from a list (the last answer repeats); an exception is raised."""

    def __init__(self, script: dict[tuple[str, str], list[Any]]) -> None:
        self.script = script
        self.calls: list[tuple[str, str]] = []

    def server_ms(self) -> int:
        return int(time.time() * 1000)

    async def request(self, method: str, path: str, params: Any = None, **kw: Any) -> Any:
        self.calls.append((method, path))
        answers = self.script[(method, path)]
        a = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(a, BaseException):
            raise a
        return a

    def count(self, method: str, path: str) -> int:
        return self.calls.count((method, path))


def _client(script: dict[tuple[str, str], list[Any]], *, accepted: bool) -> tuple[BinanceExecutionClient, list[Any], ScriptedHttp]:
    reports: list[Any] = []
    http = ScriptedHttp(script)
    c = BinanceExecutionClient(BinanceConfig(market="spot", symbols=("BTCUSDT",)), Credentials("k" * 20, "s" * 20),
                               reports.append, http=http)  # type: ignore[arg-type]
    c._buffer = None  # live
    c.resolve_base_s = 0.01
    o = c.track(CID, "BTCUSDT")
    o.sent_ms = http.server_ms() - 100  # submitted by this client
    if accepted:
        c._status(o, "open", o.filled, 1000, 1)
    reports.clear()
    return c, reports, http


def _new_event() -> str:
    return json.dumps({"e": "executionReport", "E": 1500, "s": "BTCUSDT", "c": CID, "S": "BUY", "o": "LIMIT",
                       "f": "GTC", "q": "1", "p": "100", "x": "NEW", "X": "NEW", "i": 7, "l": "0", "z": "0",
                       "L": "0", "n": "0", "N": None, "T": 1500, "t": -1, "m": False, "C": "", "r": "NONE",
                       "w": True})


def _kinds(reports: list[Any]) -> list[str]:
    return [type(r).__name__ for r in reports]


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)


def test_cancel_of_an_order_whose_submit_is_unanswered_goes_once_it_shows_open() -> None:
    async def main() -> None:
        c, reports, http = _client({("DELETE", "/api/v3/order"): [CANCELED]}, accepted=False)
        await c.cancel({"op": "cancel", "client_id": CID, "symbol": "BTCUSDT"})
        assert http.count("DELETE", "/api/v3/order") == 0  # the venue may not have it yet: it waits
        assert not reports  # not refused: the order is on its way
        c._event(_new_event())  # the submit arrives: the cancel goes
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == 1
        assert _kinds(reports) == ["OrderAccepted", "OrderCanceled"]
    asyncio.run(main())


def test_cancel_before_the_venue_has_the_order_goes_again_once_it_shows_open() -> None:
    """An order the client did not submit (tracked from a restart): the cancel goes at once; the
    venue does not have it yet (-2011), and it goes again once the order shows open."""
    async def main() -> None:
        c, reports, http = _client({("DELETE", "/api/v3/order"): [UNKNOWN, CANCELED]}, accepted=False)
        c.orders[CID].status = "open"  # shown open, then not found by the cancel: the venue settles it
        c.orders[CID].accepted = True
        await c.cancel({"op": "cancel", "client_id": CID, "symbol": "BTCUSDT"})
        assert http.count("DELETE", "/api/v3/order") == 1
        assert not reports
    asyncio.run(main())


class HeldHttp(ScriptedHttp):
    """The submit waits for the order limits until it is withdrawn (as BinanceHttp does)."""

    async def request(self, method: str, path: str, params: Any = None, **kw: Any) -> Any:
        if method == "POST":
            while not kw["withdrawn"]():
                await asyncio.sleep(0.01)
            raise Withdrawn()
        return await super().request(method, path, params, **kw)


def test_an_order_canceled_while_it_waits_for_the_order_limit_is_never_sent() -> None:
    async def main() -> None:
        reports: list[Any] = []
        http = HeldHttp({("DELETE", "/api/v3/order"): [CANCELED]})
        c = BinanceExecutionClient(BinanceConfig(market="spot", symbols=("BTCUSDT",)), Credentials("k" * 20, "s" * 20),
                                   reports.append, http=http)  # type: ignore[arg-type]
        c._buffer = None
        c.filters = {}
        sub = asyncio.ensure_future(c.submit({"op": "submit", "client_id": CID, "symbol": "BTCUSDT", "side": "buy",
                                              "kind": "limit", "qty": "1", "price": "100"}))
        await _settle()
        await c.cancel({"op": "cancel", "client_id": CID, "symbol": "BTCUSDT"})
        await asyncio.wait_for(sub, 2)
        assert _kinds(reports) == ["OrderCanceled"] and c.orders[CID].done and c.stats["withdrawn"] == 1
        assert http.calls == []  # neither the order nor a cancel went out
    asyncio.run(main())


def test_cancel_refused_by_a_429_goes_again_after_the_wait() -> None:
    async def main() -> None:
        limited = RateLimited(-1003, "Too many requests", 429, "/api/v3/order", retry_after_s=0.05)
        c, reports, http = _client({("DELETE", "/api/v3/order"): [limited, CANCELED]}, accepted=True)
        t0 = time.monotonic()
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == 2
        assert time.monotonic() - t0 >= 0.05
        assert [type(r) for r in reports] == [OrderCanceled]
    asyncio.run(main())


def test_cancel_of_unknown_outcome_is_asked_for_then_sent_again() -> None:
    async def main() -> None:
        c, reports, http = _client({("DELETE", "/api/v3/order"): [OutcomeUnknown("timeout", "/api/v3/order"), CANCELED],
                                    ("GET", "/api/v3/order"): [_order("NEW")]}, accepted=True)
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("GET", "/api/v3/order") == 1  # asked, still open there
        assert http.count("DELETE", "/api/v3/order") == 2
        assert _kinds(reports) == ["OrderUnknown", "OrderCanceled"]
    asyncio.run(main())


def test_cancel_that_finds_no_order_takes_the_venues_view() -> None:
    """Filled while the cancel was on its way (the stream has not said yet): the fill is
    applied from the venue's answer, the cancel is not sent again nor reported refused."""
    async def main() -> None:
        trade = {"id": 55, "orderId": 7, "price": "100", "qty": "1", "commission": "0.001",
                 "commissionAsset": "BTC", "isBuyer": True, "isMaker": True, "time": 2000}
        c, reports, http = _client({("DELETE", "/api/v3/order"): [UNKNOWN],
                                    ("GET", "/api/v3/order"): [_order("FILLED", executed="1")],
                                    ("GET", "/api/v3/myTrades"): [[trade]]}, accepted=True)
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == 1
        assert [type(r) for r in reports] == [OrderFilled]
        assert reports[0].trade_id == "55" and c.orders[CID].status == "filled"
    asyncio.run(main())


def test_a_cancel_never_taken_is_refused_after_its_sends() -> None:
    async def main() -> None:
        limited = RateLimited(-1003, "Too many requests", 429, "/api/v3/order", retry_after_s=0.0)
        c, reports, http = _client({("DELETE", "/api/v3/order"): [limited]}, accepted=True)
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == c.cancel_sends
        assert [type(r) for r in reports] == [CancelRejected]
        assert f"{c.cancel_sends} sends" in reports[0].reason
    asyncio.run(main())


def test_a_cancel_the_venue_refuses_is_reported_at_once() -> None:
    async def main() -> None:
        refused = BinanceError(-1102, "Mandatory parameter 'symbol' was not sent.", 400, "/api/v3/order")
        c, reports, http = _client({("DELETE", "/api/v3/order"): [refused]}, accepted=True)
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == 1
        assert [type(r) for r in reports] == [CancelRejected] and reports[0].code == -1102
        assert not any(isinstance(r, OrderAccepted) for r in reports)
    asyncio.run(main())


def test_a_cancel_refused_by_a_418_is_reported_and_never_sent_into_the_ban() -> None:
    async def main() -> None:
        banned = RateLimited(-1003, "Way too many requests; IP banned", 418, "/api/v3/order", retry_after_s=0.01)
        c, reports, http = _client({("DELETE", "/api/v3/order"): [banned, CANCELED]}, accepted=True)
        await c.cancel({"op": "cancel", "client_id": CID})
        await _settle()
        assert http.count("DELETE", "/api/v3/order") == 1
        assert [type(r) for r in reports] == [CancelRejected] and reports[0].code == -1003
        assert not c.orders[CID].done
    asyncio.run(main())


def test_a_submit_of_unknown_outcome_the_venue_never_got_is_rejected_with_2013() -> None:
    """The answer is lost; the venue still says -2013 once the receive window has passed: the
    order never reached the book (Binance's code in the rejection)."""
    async def main() -> None:
        reports: list[Any] = []
        http = ScriptedHttp({("POST", "/api/v3/order"): [OutcomeUnknown("timeout", "/api/v3/order")],
                             ("GET", "/api/v3/order"): [BinanceError(-2013, "Order does not exist.", 400,
                                                                     "/api/v3/order")]})
        c = BinanceExecutionClient(BinanceConfig(market="spot", symbols=("BTCUSDT",)), Credentials("k" * 20, "s" * 20),
                                   reports.append, http=http)  # type: ignore[arg-type]
        c._buffer = None
        c.resolve_base_s = 0.01
        c.unknown_grace_ms = 30
        await c.submit({"op": "submit", "client_id": CID, "symbol": "BTCUSDT", "side": "buy", "kind": "limit",
                        "qty": "1", "price": "100"})
        await _settle()
        assert _kinds(reports) == ["OrderUnknown", "OrderRejected"]
        assert reports[1].code == -2013 and "-2013" in reports[1].reason and c.orders[CID].status == "rejected"
        assert http.count("POST", "/api/v3/order") == 1  # asked for, never sent again
    asyncio.run(main())
