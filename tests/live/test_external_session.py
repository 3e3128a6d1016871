"""The live session behind a real venue (``venue="external"``): commands leave through
``take_commands``, the venue's reports come back through ``report``; contingent lists are
emulated by the engine; and the venue's own side (``idle=True``, ``place`` / ``cancel``) that
the local exchange matches its clients' orders with."""

from __future__ import annotations

from typing import Any

import pytest

from trader import Strategy, _core, orders
from trader.exceptions import InvalidInputError


class OneShot(Strategy):
    """A limit buy and an OCO (take-profit limit, stop) on the first quote; keeps its events."""

    def on_start(self) -> None:
        self.n = 0
        self.events: list[Any] = []

    def on_quote(self, quote: Any) -> None:
        self.n += 1
        if self.n == 1:
            self.buy(0.01, price=99.0)
            self.submit_oco(orders.limit("sell", 0.01, 101.0), orders.stop_market("sell", 0.01, trigger=98.0))

    def on_order_event(self, event: Any) -> None:
        self.events.append(event)


def session(strategy: Any = None, **kw: Any) -> Any:
    s = _core.LiveSession(strategy or OneShot(), mode="quotes", price_precision=2, size_precision=3, account="margin",
                          cash=10_000, venue="external", symbol="BTCUSDT", **kw)
    s.push_quote(1_000_000_000, 100.0, 100.5, 1.0, 1.0)
    s.pump()
    return s


def test_commands_leave_as_dicts_and_nothing_matches_locally() -> None:
    s = session()
    cmds = s.take_commands()
    assert [(c["op"], c["kind"], c["side"], c["qty"], c["price"], c["trigger"]) for c in cmds] == [
        ("submit", "limit", "buy", "0.010", "99.00", None),
        ("submit", "limit", "sell", "0.010", "101.00", None),
        ("submit", "stop_market", "sell", "0.010", None, "98.00"),
    ]
    assert s.take_commands() == []
    # a quote through the limit fills nothing: the venue decides
    s.push_quote(2_000_000_000, 98.0, 98.5, 1.0, 1.0)
    s.pump()
    assert s.fills_since(0) == []
    # the plain order waits for the venue's ack; the OCO's legs are held by the engine's emulator
    assert [o["status"] for o in s.orders()] == ["SUBMITTED", "ACCEPTED", "ACCEPTED"]


def test_fills_apply_once_with_the_venues_trade_id() -> None:
    s = session()
    oid = s.take_commands()[0]["order_id"]
    assert s.report("accepted", oid)
    assert not s.report("accepted", oid)  # repeated
    assert s.report("fill", oid, price="99.00000000", qty="0.00400000", fee="0.0004", liquidity="maker", trade_id="T1")
    assert not s.report("fill", oid, price="99.00000000", qty="0.00400000", fee="0.0004", liquidity="maker", trade_id="T1")
    assert s.report("fill", oid, price="99", qty="0.006", fee="0.0006", liquidity="maker", trade_id="T2")
    fills = s.fills_since(0)
    assert [(f["trade_id"], f["qty"], f["fee"]) for f in fills] == [
        ("T1", "0.004", "0.000400000000000000"), ("T2", "0.006", "0.000600000000000000")]
    assert s.order(oid)["status"] == "FILLED"
    assert s.position()["qty"] == "0.010"
    assert s.balances()["cash"] == "9999.009000000000000000"  # 10000 - 0.99 - 0.001 fees
    assert s.venue_stats()["ignored"] == 1


class Crossing(Strategy):
    """A limit buy and a limit sell at the same price on the first quote: a venue without
    self-trade prevention matches them with each other."""

    def on_start(self) -> None:
        self.n = 0

    def on_quote(self, quote: Any) -> None:
        self.n += 1
        if self.n == 1:
            self.buy(0.01, price=100.2)
            self.sell(0.01, price=100.2)


def test_a_self_trade_applies_both_sides_of_one_trade_id() -> None:
    s = session(Crossing())
    buy, sell = (c["order_id"] for c in s.take_commands())
    for oid in (buy, sell):
        assert s.report("accepted", oid)
    # one trade at the venue, reported once per side with the venue's one trade id
    assert s.report("fill", buy, price="100.2", qty="0.01", fee="0", liquidity="maker", trade_id="S1")
    assert s.report("fill", sell, price="100.2", qty="0.01", fee="0", liquidity="taker", trade_id="S1")
    assert not s.report("fill", sell, price="100.2", qty="0.01", fee="0", liquidity="taker", trade_id="S1")
    assert [(f["order_id"], f["trade_id"]) for f in s.fills_since(0)] == [(buy, "S1"), (sell, "S1")]
    assert s.order(buy)["status"] == s.order(sell)["status"] == "FILLED"
    assert s.position()["qty"] == "0.000"
    assert s.venue_stats()["ignored"] == 1
    # and a restored session knows both sides were applied
    s2 = _core.LiveSession(Crossing(), mode="quotes", price_precision=2, size_precision=3, account="margin",
                           cash=10_000, venue="external", symbol="BTCUSDT")
    s2.restore(s.checkpoint())
    assert not s2.report("fill", buy, price="100.2", qty="0.01", fee="0", trade_id="S1")
    assert not s2.report("fill", sell, price="100.2", qty="0.01", fee="0", trade_id="S1")


def test_an_emulated_oco_cancels_the_other_leg_at_the_venue() -> None:
    s = session()
    buy, tp, sl = (c["order_id"] for c in s.take_commands())
    for i in (buy, tp, sl):
        s.report("accepted", i)
    s.report("fill", buy, price="99", qty="0.01", fee="0", trade_id="B1")
    s.report("fill", tp, price="101", qty="0.01", fee="0", liquidity="maker", trade_id="TP1")
    assert s.take_commands() == [{"op": "cancel", "order_id": sl, "symbol": "BTCUSDT"}]
    assert s.order(sl)["status"] == "CANCELED"
    assert s.report("canceled", sl) is False  # closed here already
    assert s.position()["qty"] == "0.000"
    assert s.position()["realized"] == "0.020000000000000000"


def test_a_fill_of_a_leg_closed_here_still_reaches_the_account() -> None:
    s = session()
    buy, tp, sl = (c["order_id"] for c in s.take_commands())
    for i in (buy, tp, sl):
        s.report("accepted", i)
    s.report("fill", buy, price="99", qty="0.01", fee="0", trade_id="B1")
    s.report("fill", tp, price="101", qty="0.01", fee="0", trade_id="TP1")
    # the stop triggered at the venue before the cancel arrived
    assert s.report("fill", sl, price="98", qty="0.01", fee="0", trade_id="SL1")
    assert s.venue_stats()["late_fills"] == 1
    assert s.position()["qty"] == "-0.010"
    assert [f["trade_id"] for f in s.fills_since(0)] == ["B1", "TP1", "SL1"]


def test_cancel_waits_for_the_venue_and_rejections_close() -> None:
    class Canceller(OneShot):
        def on_quote(self, quote: Any) -> None:
            self.n += 1
            if self.n == 1:
                self.oid = self.buy(0.01, price=99.0)
            elif self.n == 2:
                self.cancel(self.oid)

    st = Canceller()
    s = session(st)
    (sub,) = s.take_commands()
    s.report("accepted", sub["order_id"])
    s.push_quote(2_000_000_000, 100.0, 100.5, 1.0, 2.0)
    s.pump()
    assert s.take_commands() == [{"op": "cancel", "order_id": sub["order_id"], "symbol": "BTCUSDT"}]
    assert s.order(sub["order_id"])["status"] == "ACCEPTED"  # until the venue says so
    assert s.report("canceled", sub["order_id"])
    assert s.order(sub["order_id"])["status"] == "CANCELED"

    s2 = session()
    c = s2.take_commands()[0]
    assert s2.report("rejected", c["order_id"])
    assert s2.order(c["order_id"])["status"] == "REJECTED"
    assert s2.order(c["order_id"])["reason"] == "venue_rejected"


def test_cancel_all_reaches_orders_still_on_their_way() -> None:
    """A cancel-all (the strategy's or the operator's) cancels at the venue the orders sent and
    not yet acknowledged too: they may be working there already."""
    class CancelsAll(OneShot):
        def on_quote(self, quote: Any) -> None:
            self.n += 1
            if self.n == 1:
                self.a = self.buy(0.01, price=99.0)
                self.b = self.buy(0.01, price=98.0)
            elif self.n == 2:
                self.cancel_all()

    st = CancelsAll()
    s = session(st)
    a, b = (c["order_id"] for c in s.take_commands())
    s.report("accepted", a)  # b: no answer yet
    s.push_quote(2_000_000_000, 100.0, 100.5, 1.0, 2.0)
    s.pump()
    assert sorted((c["op"], c["order_id"]) for c in s.take_commands()) == [("cancel", a), ("cancel", b)]
    assert [s.order(i)["status"] for i in (a, b)] == ["ACCEPTED", "SUBMITTED"]  # until the venue says
    s.report("canceled", b, requested=True)
    assert s.order(b)["status"] == "CANCELED"

    s2 = session()
    buy, tp, sl = (c["order_id"] for c in s2.take_commands())
    assert s2.order(buy)["status"] == "SUBMITTED"
    assert sorted(s2.cancel_all("operator")) == sorted([buy, tp, sl])
    assert sorted(c["order_id"] for c in s2.take_commands() if c["op"] == "cancel") == sorted([buy, tp, sl])


def test_the_checkpoint_keeps_the_venue_side() -> None:
    s = session()
    buy, tp, sl = (c["order_id"] for c in s.take_commands())
    s.report("accepted", buy)
    s.report("fill", buy, price="99", qty="0.01", fee="0", trade_id="B1")
    blob = s.checkpoint()
    s2 = _core.LiveSession(OneShot(), mode="quotes", price_precision=2, size_precision=3, account="margin",
                           cash=10_000, venue="external", symbol="BTCUSDT")
    s2.restore(blob)
    assert s2.fills_since(0)[0]["trade_id"] == "B1"
    assert sorted(s2.venue_stats()["at_venue"]) == [tp, sl]
    assert not s2.report("fill", buy, price="99", qty="0.01", fee="0", trade_id="B1")  # seen before the crash
    # a checkpoint of the simulated venue does not restore into an external session
    sim = _core.LiveSession(OneShot(), mode="quotes", price_precision=2, size_precision=3, account="margin",
                            cash=10_000, symbol="BTCUSDT")
    with pytest.raises(InvalidInputError, match="checkpoint"):
        sim.restore(blob)


def test_bad_reports_are_refused_by_name() -> None:
    s = session()
    oid = s.take_commands()[0]["order_id"]
    with pytest.raises(InvalidInputError, match="kind"):
        s.report("filled!", oid)
    with pytest.raises(InvalidInputError, match="trade_id"):
        s.report("fill", oid, price="99", qty="0.01")
    with pytest.raises(InvalidInputError, match="price"):
        s.report("fill", oid, price="99.001", qty="0.01", trade_id="X")
    with pytest.raises(InvalidInputError, match="fee"):
        s.report("fill", oid, price="99", qty="0.01", fee="1e-3", trade_id="X")
    with pytest.raises(InvalidInputError, match="venue"):
        _core.LiveSession(None, venue="binance")
    sim = _core.LiveSession(OneShot(), mode="quotes")
    with pytest.raises(InvalidInputError, match="simulated venue"):
        sim.report("accepted", 1)


def test_the_venues_own_side_places_and_cancels_at_once() -> None:
    s = _core.LiveSession(None, mode="quotes", price_precision=2, size_precision=3, account="margin",
                          leverage=100.0, cash=10_000, idle=True, symbol="BTCUSDT")
    s.push_quote(1_000_000_000, 100.0, 100.5, 1.0, 1.0)
    s.pump()
    s.place(orders.limit("buy", 0.5, 99.0), 7)
    s.place(orders.market("buy", 0.2), 8)
    assert [(f["order_id"], f["price"], f["qty"], f["liquidity"]) for f in s.fills_since(0)] == [(8, "100.50", "0.200", "TAKER")]
    assert s.order(7)["status"] == "ACCEPTED"
    s.push_trade(2_000_000_000, 98.9, 1.0, "sell")
    s.pump()
    assert s.order(7)["status"] == "FILLED"
    assert not s.cancel(7)
    s.place(orders.limit("sell", 0.1, 120.0), 9)
    assert s.cancel(9) and s.order(9)["status"] == "CANCELED"
    # idle: nothing of its own was ever sent
    assert {o["id"] for o in s.orders()} == {7, 8, 9}
    ext = session()
    with pytest.raises(InvalidInputError, match="real venue"):
        ext.place(orders.market("buy", 0.1), 99)
