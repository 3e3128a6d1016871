"""The venue-neutral execution flow (``venues/common/execution.py``) on a tiny in-memory venue: the
ordering rules (an old REST answer never overwrites a newer stream event, filled quantity never
decreases, a terminal status waits for its fills), fills deduplicated by (order, trade id),
withdrawn submits, deferred cancels, unknown outcomes resolved by query (never resubmitted), the
catch-up's buffering, the open-order check and the reconciliation wrappers. Every expected report
sequence is written out by hand."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from trader.exceptions import InvalidInputError
from trader.live.reconcile import VenuePosition
from trader_plugins.venues.common.execution import (ExecutionClientBase, FillView, OrderView, PlaceRequest,
                                                    TrackedOrder, Withdrawn)
from trader_plugins.venues.common.http import OutcomeUnknown, VenueError
from trader_plugins.venues.common.reports import (CancelRejected, ModifyRejected, OrderAccepted, OrderAmended,
                                                  OrderFilled, OrderRejected, OrderUnknown)

D = Decimal


class FakeHttp:
    closed = 0

    async def close(self) -> None:
        FakeHttp.closed += 1


class FakeVenue(ExecutionClientBase):
    """An in-memory venue: ``book`` holds its orders as views, ``trades`` its fills by order id;
    the test scripts what each hook does through the attributes."""

    venue = "fake"
    fills_grace_s = 0.05
    resolve_base_s = 0.01

    def __init__(self, clock: list[float] | None = None) -> None:
        self.clock = clock or [1000.0]
        super().__init__(("XY",), self.reports_append, time_fn=lambda: self.clock[0], open_check_s=0)
        self.reports: list[Any] = []
        self.http = FakeHttp()
        self.book: dict[str, OrderView] = {}
        self.trades: dict[str, list[FillView]] = {}
        self.calls: dict[str, int] = {"place": 0, "cancel": 0, "query": 0, "open": 0, "trades": 0, "amend": 0}
        self.place_gate: asyncio.Event | None = None
        self.place_error: Exception | None = None
        self.cancel_error: Exception | None = None
        self.open_gate: asyncio.Event | None = None
        self.unknown_grace_ms = 500

    def reports_append(self, r: Any) -> None:
        self.reports.append(r)

    def kinds(self, cid: str) -> list[str]:
        return [type(r).__name__ for r in self.reports if getattr(r, "client_id", None) == cid]

    # hooks
    def server_ms(self) -> int:
        return int(self.clock[0] * 1000)

    def _fresh_http(self) -> FakeHttp:
        return FakeHttp()

    async def _start_rest(self) -> None:
        pass

    async def _close_rest(self) -> None:
        await self.http.close()

    def _prepare(self, cmd: dict[str, Any]) -> PlaceRequest:
        if cmd.get("kind") not in ("limit", "market"):
            raise InvalidInputError(f"fake: kind {cmd.get('kind')!r} refused")
        price = D(cmd["price"]) if cmd.get("price") else None
        return PlaceRequest(symbol="XY", qty=D(cmd["qty"]), price=price, stop=False, params=dict(cmd))

    async def _place(self, o: TrackedOrder, req: PlaceRequest, withdrawn: Any) -> OrderView | None:
        while self.place_gate is not None and not self.place_gate.is_set():
            if withdrawn():
                raise Withdrawn()
            await asyncio.sleep(0.005)
        self.calls["place"] += 1
        self.book[o.client_id] = OrderView(client_id=o.client_id, venue_order_id=f"v{o.client_id}", symbol="XY",
                                           status="open", qty=req.qty, price=req.price, side="buy", kind="limit",
                                           update_ms=self.server_ms())
        if self.place_error is not None:
            raise self.place_error
        return OrderView(client_id=o.client_id, venue_order_id=f"v{o.client_id}", symbol="XY", status="open")

    async def _cancel_order(self, o: TrackedOrder) -> OrderView | None:
        self.calls["cancel"] += 1
        if self.cancel_error is not None:
            raise self.cancel_error
        v = self.book.get(o.client_id)
        if v is None or v.status not in ("open", "partially_filled"):
            raise VenueError(404, "no such order", 200)
        self.book[o.client_id] = v = OrderView(**{**_fields(v), "status": "canceled", "update_ms": self.server_ms()})
        return v

    def _cancel_not_found(self, e: VenueError) -> bool:
        return e.code == 404

    async def _amend_order(self, o: TrackedOrder, qty: Decimal, price: Decimal | None) -> OrderView | None:
        self.calls["amend"] += 1
        return None

    async def _query_order(self, symbol: str, client_id: str) -> OrderView | None:
        self.calls["query"] += 1
        return self.book.get(client_id)

    async def _open_orders(self, symbol: str) -> list[OrderView]:
        self.calls["open"] += 1
        snapshot = [v for v in self.book.values() if v.status in ("open", "partially_filled")]
        if self.open_gate is not None:
            await self.open_gate.wait()  # the answer was read before what happens meanwhile
        return snapshot

    async def _order_trades(self, symbol: str, venue_order_id: str) -> list[FillView]:
        self.calls["trades"] += 1
        return list(self.trades.get(venue_order_id, []))

    async def _trades_since(self, symbol: str, since_ms: int) -> list[FillView]:
        return [f for fs in self.trades.values() for f in fs if f.ts >= since_ms * 1_000_000]

    async def _cancel_all_orders(self, symbol: str) -> None:
        pass

    async def _balances(self) -> dict[str, str]:
        return {"USD": "100"}

    async def _positions(self) -> list[VenuePosition]:
        return [VenuePosition(instrument="XY", qty="0.5")]

    async def _stream_url(self) -> str:
        return "ws://unused"

    async def _stream_login(self, conn: Any) -> None:
        pass

    def _control(self, text: str) -> bool:
        return bool(json.loads(text).get("ack"))

    def _apply_event(self, text: str) -> None:
        doc = json.loads(text)
        if doc["type"] == "order":
            self.order_update(view(doc["cid"], doc["status"], doc["filled"], doc["upd"]))
        else:
            self.fill_update(fill(doc["cid"], doc["tid"], doc["qty"]))


def _fields(v: OrderView) -> dict[str, Any]:
    return {f: getattr(v, f) for f in v.__struct_fields__}


def view(cid: str, status: str, filled: str = "0", upd: int = 0, **kw: Any) -> OrderView:
    return OrderView(client_id=cid, venue_order_id=f"v{cid}", symbol="XY", status=status, filled=D(filled),
                     update_ms=upd, **kw)


def fill(cid: str, tid: str, qty: str, price: str = "10") -> FillView:
    return FillView(trade_id=tid, venue_order_id=f"v{cid}", client_id=cid, symbol="XY", side="buy", price=price,
                    qty=qty, fee="0.01", fee_asset="USD", liquidity="maker", ts=5_000_000)


def order_event(cid: str, status: str, filled: str, upd: int) -> str:
    return json.dumps({"type": "order", "cid": cid, "status": status, "filled": filled, "upd": upd})


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def submit(cid: str, qty: str = "1", price: str = "10") -> dict[str, Any]:
    return {"op": "submit", "client_id": cid, "kind": "limit", "side": "buy", "qty": qty, "price": price}


def live(v: FakeVenue) -> FakeVenue:
    v._buffer = None
    v._subscribed.set()
    return v


# ---- ordering ------------------------------------------------------------------------------------


def test_old_rest_answer_never_overwrites_a_newer_event() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("a"))
        v.fill_update(fill("a", "t1", "1"))
        v.order_update(view("a", "filled", "1", upd=2_000_000))
        # the late REST view: open, nothing filled, older
        v._apply_view(v.orders["a"], view("a", "open", "0", upd=1_000_000))
        v._apply_view(v.orders["a"], view("a", "partially_filled", "0.5", upd=2_000_001))  # less filled: stale
        return v

    v = run(main())
    assert v.kinds("a") == ["OrderAccepted", "OrderFilled"]
    o = v.orders["a"]
    assert (o.status, o.filled, o.update_ms, v.stats["stale_answers"]) == ("filled", D(1), 2_000_000, 2)


def test_status_never_goes_back_and_filled_never_decreases() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.order_update(view("b", "partially_filled", "0.3", upd=10))  # an unseen fill: it comes first
        v.fill_update(fill("b", "t1", "0.3"))
        v.order_update(view("b", "open", "0.3", upd=11))  # lower rank: dropped even if newer in time
        v.order_update(view("b", "partially_filled", "0.2", upd=12))  # less filled: dropped
        await asyncio.sleep(0.1)  # the fills' grace passes: nothing missing, no query
        return v

    v = run(main())
    assert v.calls["query"] == 0
    o = v.orders["b"]
    assert (o.status, o.filled, o.reported) == ("partially_filled", D("0.3"), D("0.3"))
    assert v.stats["stale_answers"] == 2
    assert v.kinds("b") == ["OrderAccepted", "OrderFilled"]


def test_terminal_status_waits_for_its_fills() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.order_update(view("c", "open", "0", upd=1))
        v.order_update(view("c", "canceled", "0.4", upd=3))  # canceled after a fill the stream has yet to bring
        assert v.kinds("c") == ["OrderAccepted"] and v.orders["c"].pending is not None
        v.fill_update(fill("c", "t9", "0.4"))
        return v

    v = run(main())
    assert v.kinds("c") == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert v.orders["c"].status == "canceled" and v.orders["c"].pending is None


def test_missing_fills_are_queried_after_the_grace() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("d", qty="2"))
        v.trades["vd"] = [fill("d", "t1", "0.5"), fill("d", "t2", "1.5")]
        v.book["d"] = view("d", "filled", "2", upd=5)
        v.order_update(view("d", "filled", "2", upd=5))  # the stream's status; its executions lost
        await asyncio.sleep(0.3)
        return v

    v = run(main())
    assert v.kinds("d") == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    assert v.orders["d"].status == "filled" and v.calls["trades"] == 1 and v.stats["fill_queries"] == 1


def test_duplicate_fills_reported_once_per_order_and_trade_id() -> None:
    v = FakeVenue()
    v.order_update(view("e", "open"))
    v.order_update(view("f", "open"))
    for _ in range(3):
        v.fill_update(fill("e", "t1", "0.25"))
    v.fill_update(fill("f", "t1", "0.25"))  # the same trade id on another order is another fill
    v.fill_update(fill("e", "t2", "0.25"))
    fills = [(r.client_id, r.trade_id) for r in v.reports if isinstance(r, OrderFilled)]
    assert fills == [("e", "t1"), ("f", "t1"), ("e", "t2")]
    assert v.stats["duplicates"] == 2 and v.orders["e"].reported == D("0.5")


# ---- withdrawn, deferred cancel, unknown outcomes ---------------------------------------------


def test_withdrawn_submit_is_never_sent() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.place_gate = asyncio.Event()  # the submit waits for the limits
        t = asyncio.ensure_future(v.submit(submit("g")))
        await asyncio.sleep(0.02)
        await v.cancel({"op": "cancel", "client_id": "g"})
        await t
        return v

    v = run(main())
    assert v.kinds("g") == ["OrderCanceled"]
    assert v.calls == {"place": 0, "cancel": 0, "query": 0, "open": 0, "trades": 0, "amend": 0}
    assert v.stats["withdrawn"] == 1


def test_cancel_while_the_submit_is_unanswered_is_deferred() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        gate = asyncio.Event()
        real_place = v._place

        async def slow_place(o: TrackedOrder, req: PlaceRequest, withdrawn: Any) -> OrderView | None:
            await gate.wait()  # on its way: past the limits, no longer withdrawable
            return await real_place(o, req, lambda: False)

        v._place = slow_place  # type: ignore[method-assign]
        t = asyncio.ensure_future(v.submit(submit("h")))
        await asyncio.sleep(0.02)
        await v.cancel({"op": "cancel", "client_id": "h"})
        assert v.calls["cancel"] == 0  # deferred: the venue does not have it yet
        gate.set()
        await t
        await asyncio.sleep(0.05)
        return v

    v = run(main())
    assert v.kinds("h") == ["OrderAccepted", "OrderCanceled"]
    assert (v.calls["place"], v.calls["cancel"]) == (1, 1)


def test_unknown_outcome_resolved_by_query_never_resubmitted() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.place_error = OutcomeUnknown("HTTP 503")  # placed at the venue, the answer lost
        await v.submit(submit("i"))
        await asyncio.sleep(0.1)
        return v

    v = run(main())
    assert v.kinds("i") == ["OrderUnknown", "OrderAccepted"]
    assert v.calls["place"] == 1 and v.calls["query"] >= 1 and v.stats["resolved"] == 1
    assert next(r for r in v.reports if isinstance(r, OrderUnknown)).reason == "HTTP 503"


def test_unknown_outcome_never_reached_is_rejected_after_the_grace() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())

        async def lost(o: TrackedOrder, req: PlaceRequest, withdrawn: Any) -> OrderView | None:
            v.calls["place"] += 1
            raise OutcomeUnknown("timeout")  # never reached the venue

        v._place = lost  # type: ignore[method-assign]
        await v.submit(submit("j"))
        await asyncio.sleep(0.05)
        assert v.kinds("j") == ["OrderUnknown"]  # within the grace: still asking
        v.clock[0] += 1.0  # 1000 ms > unknown_grace_ms (500)
        await asyncio.sleep(0.3)
        return v

    v = run(main())
    assert v.kinds("j") == ["OrderUnknown", "OrderRejected"] and v.calls["place"] == 1
    assert v.orders["j"].status == "rejected"


def test_cancel_not_found_settled_by_query_and_refusals_reported() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("k"))
        v.book["k"] = view("k", "filled", "1", upd=9)
        v.trades["vk"] = [fill("k", "t1", "1")]
        await v.cancel({"op": "cancel", "client_id": "k"})  # filled there: not found, then settled
        await asyncio.sleep(0.1)
        await v.cancel({"op": "cancel", "client_id": "zz"})  # never placed
        await v.modify({"op": "modify", "client_id": "zz", "qty": "2"})
        await v.submit({"op": "submit", "client_id": "m", "kind": "stop", "qty": "1"})
        return v

    v = run(main())
    assert v.kinds("k") == ["OrderAccepted", "OrderFilled"]
    assert v.kinds("zz") == ["CancelRejected", "ModifyRejected"]
    assert isinstance(v.reports[-1], OrderRejected) and v.reports[-1].code == 0 and "refused" in v.reports[-1].reason


def test_modify_reports_the_amendment_once() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("n", qty="1", price="10"))
        await v.modify({"op": "modify", "client_id": "n", "qty": "2", "price": "9"})
        v.order_update(view("n", "open", "0", upd=2_000_000_000_000, qty=D(2), price=D(9)))  # the stream says it too
        await v.modify({"op": "modify", "client_id": "n", "qty": "-1"})
        return v

    v = run(main())
    assert v.kinds("n") == ["OrderAccepted", "OrderAmended", "ModifyRejected"]
    am = next(r for r in v.reports if isinstance(r, OrderAmended))
    assert (am.qty, am.price) == ("2", "9")
    assert isinstance(v.reports[-1], ModifyRejected) and "positive" in v.reports[-1].reason


# ---- catch-up and the open-order check ----------------------------------------------------------


def test_catch_up_buffers_events_while_reading_open_orders() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        for cid in ("p", "q"):
            await v.submit(submit(cid))
        v._on_disconnect()  # the stream drops: events wait
        assert v._buffer == []
        v.book["q"] = view("q", "canceled", "0", upd=2_000_000)  # canceled while away: its event lost
        v.open_gate = asyncio.Event()
        t = asyncio.ensure_future(v._catch_up())
        await asyncio.sleep(0.02)  # the open orders were read (p open), the answer is on its way
        # meanwhile the venue fills p: the resubscribed stream brings it, held in the buffer
        v.book["p"] = view("p", "filled", "1", upd=3_000_000)
        v._on_message(json.dumps({"ack": True}), 0)  # control messages are never buffered
        v._on_message(json.dumps({"type": "fill", "cid": "p", "tid": "t1", "qty": "1"}), 0)
        v._on_message(order_event("p", "filled", "1", 3_000_000), 0)
        assert len(v._buffer) == 2 and v.kinds("p") == ["OrderAccepted"]
        v.open_gate.set()
        await t
        return v

    v = run(main())
    # the (older) open-orders answer did not undo the buffered fill; q was asked for
    assert v.kinds("p") == ["OrderAccepted", "OrderFilled"] and v.orders["p"].status == "filled"
    assert v.kinds("q") == ["OrderAccepted", "OrderCanceled"]
    assert v._buffer is None and v._subscribed.is_set() and v.stats["buffered"] == 2


def test_open_order_check_asks_for_orders_the_venue_no_longer_lists() -> None:
    async def main() -> tuple[FakeVenue, int]:
        v = live(FakeVenue())
        await v.submit(submit("r"))
        v.clock[0] += 5
        v.book["r"] = view("r", "canceled", "0", upd=9_000_000)  # its event was lost
        n = await v.open_check()
        return v, n

    v, n = run(main())
    assert n == 1 and v.kinds("r") == ["OrderAccepted", "OrderCanceled"] and v.stats["open_check_repairs"] == 1


# ---- reconciliation -----------------------------------------------------------------------------


def test_reconciliation_sync_wrappers() -> None:
    v = FakeVenue()
    v.book["s"] = view("s", "partially_filled", "0.5", upd=7, qty=D(1), price=D(10), side="buy", kind="limit",
                       avg_price=D(10))
    v.book["t"] = view("t", "filled", "1", upd=8, qty=D(1), price=None, side="buy", kind="market", avg_price=D(11))
    v.trades["vs"] = [fill("s", "t1", "0.5")]
    v.trades["vt"] = [FillView(**{**{f: getattr(fill("t", "t2", "1", "11"), f) for f in FillView.__struct_fields__},
                                  "client_id": ""})]
    v._by_venue_id["vt"] = "t"
    before = FakeHttp.closed
    ms = v.mass_status(0)
    assert [(o.client_id, o.status, o.filled, o.qty, o.price, o.avg_price, o.ts) for o in ms.open_orders] == [
        ("s", "partially_filled", "0.5", "1", "10", "10", 7_000_000)]
    assert sorted((f.trade_id, f.client_id, f.qty) for f in ms.fills) == [("t1", "s", "0.5"), ("t2", "t", "1")]
    assert ms.balances == {"USD": "100"} and [(p.instrument, p.qty) for p in ms.positions] == [("XY", "0.5")]
    q = v.query_order("t")
    assert q is not None and (q.status, q.kind, q.price, q.avg_price) == ("filled", "market", None, "11")
    assert [f.trade_id for f in v.order_fills("s")] == ["t1"]
    assert v.query_order("nope") is None and v.order_fills("nope") == []
    assert FakeHttp.closed - before == 5  # a fresh REST client per call, closed after


def test_unknown_view_status_is_an_error() -> None:
    v = FakeVenue()
    with pytest.raises(InvalidInputError, match="unknown status 'weird'"):
        v._apply_view(v.track("u", "XY"), view("u", "weird"))
    with pytest.raises(InvalidInputError, match="unknown command op"):
        run(v.handle({"op": "explode"}))


def test_on_report_failure_is_contained() -> None:
    def boom(r: Any) -> None:
        raise RuntimeError("strategy bug")

    v = FakeVenue()
    v.on_report = boom
    v.order_update(view("w", "open"))  # logged, not raised
    assert v.orders["w"].accepted


def test_cancel_unknown_outcome_and_rejection() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("x"))
        v.cancel_error = OutcomeUnknown("HTTP 502")
        await v.cancel({"op": "cancel", "client_id": "x"})
        v.cancel_error = None  # the settling query finds it open: the cancel goes again
        await asyncio.sleep(0.1)
        await v.submit(submit("y"))
        v.cancel_error = VenueError(77, "denied", 200)
        await v.cancel({"op": "cancel", "client_id": "y"})
        return v

    v = run(main())
    assert v.kinds("x") == ["OrderAccepted", "OrderUnknown", "OrderCanceled"] and v.calls["cancel"] == 3
    assert v.kinds("y") == ["OrderAccepted", "CancelRejected"]
    cr = next(r for r in v.reports if isinstance(r, CancelRejected))
    assert (cr.code, cr.reason) == (77, "denied")
    assert not [r for r in v.reports if isinstance(r, OrderAccepted) and r.venue_order_id == ""]


def test_an_answer_that_cannot_be_applied_does_not_end_the_resolution() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.place_error = OutcomeUnknown("HTTP 503")  # placed, the answer lost
        answers = iter([ValueError("unreadable answer"), None])
        real = v._query_order

        async def flaky(symbol: str, client_id: str) -> OrderView | None:
            e = next(answers, None)
            if isinstance(e, Exception):
                raise e
            return await real(symbol, client_id)

        v._query_order = flaky  # type: ignore[method-assign]
        await v.submit(submit("k"))
        await asyncio.sleep(0.2)
        return v

    v = run(main())
    # the first query raised something no hook names: logged, counted, asked again, settled
    assert v.kinds("k") == ["OrderUnknown", "OrderAccepted"] and v.calls["place"] == 1
    assert v.stats["resolve_errors"] == 1 and v.stats["resolved"] == 1


def test_a_failed_open_order_check_pass_does_not_end_the_check() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        v.open_check_s = 0.02
        fails = [RuntimeError("boom")]
        real = v._open_orders

        async def flaky(symbol: str) -> list[OrderView]:
            if fails:
                raise fails.pop()
            return await real(symbol)

        v._open_orders = flaky  # type: ignore[method-assign]
        await v.submit(submit("w"))  # an accepted order: something to check
        task = asyncio.ensure_future(v._open_check())
        await asyncio.sleep(0.15)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return v

    v = run(main())
    assert v.stats["open_check_errors"] == 1 and v.calls["open"] >= 2  # it went on after the failure


def test_a_cancel_out_of_sends_is_refused_once() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())
        await v.submit(submit("z"))
        o = v.orders["z"]
        o.cancel_tries = v.cancel_sends  # every send used
        await v.cancel({"op": "cancel", "client_id": "z"})
        # later updates of the still-open order send nothing and refuse nothing again
        v.order_update(view("z", "open", "0", upd=o.update_ms + 1))
        v.order_update(view("z", "open", "0", upd=o.update_ms + 2))
        await asyncio.sleep(0.02)
        return v

    v = run(main())
    assert v.kinds("z") == ["OrderAccepted", "CancelRejected"] and v.calls["cancel"] == 0


def test_the_grace_of_an_unknown_outcome_runs_from_the_failure_not_from_the_submit() -> None:
    async def main() -> FakeVenue:
        v = live(FakeVenue())

        async def slow_then_lost(o: TrackedOrder, req: PlaceRequest, withdrawn: Any) -> OrderView | None:
            v.calls["place"] += 1
            v.clock[0] += 2.0  # 2 s waiting for the limits, then a timeout: the request may be in flight
            raise OutcomeUnknown("timeout")

        v._place = slow_then_lost  # type: ignore[method-assign]
        await v.submit(submit("g"))
        await asyncio.sleep(0.1)
        # 2 s after the submit but 0 s after the failure: within the grace (500 ms), still asking
        assert v.kinds("g") == ["OrderUnknown"]
        v.clock[0] += 1.0
        await asyncio.sleep(0.3)
        return v

    v = run(main())
    assert v.kinds("g") == ["OrderUnknown", "OrderRejected"] and v.calls["place"] == 1
