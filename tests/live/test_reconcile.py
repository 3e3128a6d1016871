"""Reconciliation against a scripted venue: each scenario ends in the documented state with its
adjustments and audit entries; applying them and reconciling again changes nothing; nothing is
ever sent to the venue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trader.exceptions import InvalidInputError
from trader.live.reconcile import (
    ADJUSTMENT_KINDS,
    NodeRecords,
    PendingCommand,
    Reconciliation,
    ReconcilingVenue,
    StoredOrder,
    VenueFill,
    VenueOrder,
    reconcile,
)

from ._venue import ScriptedVenue

SYM = "BTCUSDT"
TS = 50_000


def vorder(cid: str, side: str = "buy", qty: str = "1", filled: str = "0", status: str = "open", *,
           price: str | None = "100", avg: str | None = None, ts: int = 900) -> VenueOrder:
    return VenueOrder(cid, f"V-{cid}", side, "limit" if price else "market", price, qty, filled,  # type: ignore[arg-type]
                      avg, status, ts)  # type: ignore[arg-type]


def vfill(tid: str, cid: str, qty: str, price: str = "100", side: str = "buy", ts: int = 1_000) -> VenueFill:
    return VenueFill(tid, cid, f"V-{cid}", side, price, qty, "0.01", "USDT", "maker", ts)  # type: ignore[arg-type]


def sorder(oid: int, cid: str, side: str = "buy", qty: str = "1", filled: str = "0", status: str = "open",
           price: str | None = "100") -> StoredOrder:
    return StoredOrder(oid, cid, side, "limit", price, qty, filled, status, 100)  # type: ignore[arg-type]


def records(open_orders: list[StoredOrder] = [], pending: list[PendingCommand] = [], known: set[tuple[str, str]] | None = None,  # noqa: B006
            position: str = "0", last_ts: int = 500) -> NodeRecords:
    return NodeRecords("mm-1", SYM, list(open_orders), list(pending), set(known or ()), position, last_ts)


def submit(seq: int, oid: int, cid: str, side: str = "buy", qty: str = "1", price: str | None = "99") -> PendingCommand:
    req = {"side": side, "kind": "limit", "qty": qty, **({"price": price} if price else {})}
    return PendingCommand(seq, "submit", oid, cid, json.dumps(req), 400)


def kinds(rec: Reconciliation) -> list[tuple[str, str]]:
    """(adjustment kind, event kind) of every adjustment."""
    return [(a.kind, a.event["kind"]) for a in rec.adjustments]


def replay(before: NodeRecords, rec: Reconciliation) -> tuple[dict[str, tuple[str, Decimal]], Decimal]:
    """Apply the adjustments' events to ``before`` the way a node would, independently of
    reconcile's own bookkeeping: each order's (status, filled) and the position."""
    state = {c.client_id: ("submitted", Decimal(0)) for c in before.pending_commands if c.kind == "submit"}
    state.update({o.client_id: (o.status, Decimal(o.filled)) for o in before.open_orders})
    position = Decimal(before.position)
    for a in rec.adjustments:
        ev, audit = a.event, a.audit
        assert a.kind in ADJUSTMENT_KINDS
        assert audit["kind"] == "reconcile" and audit["source"] == "reconcile" and audit["code"] == a.kind
        assert audit["ts"] == TS and ev["reason"] == audit["reason"] and audit["reason"]
        assert audit["orders"] == ([a.order_id] if a.order_id is not None else [])
        if a.kind == "position_adopted":
            assert Decimal(ev["from"]) == position
            position += Decimal(ev["delta"])
            assert Decimal(ev["to"]) == position
            continue
        status, filled = state.get(a.client_id, ("", Decimal(0)))  # type: ignore[arg-type]
        assert audit["from"] == status, a
        if ev.get("qty") and ev["kind"] in ("filled", "partially_filled"):
            filled += Decimal(ev["qty"])
            position += Decimal(ev["qty"]) * (1 if ev["side"] == "buy" else -1)
            assert ev["inferred"] is (a.kind == "inferred_fill")
        state[a.client_id] = (audit["to"], filled)  # type: ignore[index]
    return state, position


def check(before: NodeRecords, venue: ScriptedVenue, *, adopt: bool = False) -> Reconciliation:
    """Reconcile, check the adjustments replay to the reported state, then that reconciling the
    records after them is a no-op; return the first reconciliation."""
    assert isinstance(venue, ReconcilingVenue)
    rec = reconcile(before, venue, adopt_position=adopt, ts=TS)
    state, position = replay(before, rec)
    assert position == Decimal(rec.position)
    for o in rec.orders:
        assert state[o.client_id] == (o.status, Decimal(o.filled)), o
    assert {o.client_id for o in rec.after.open_orders} == {c for c, (s, _) in state.items()
                                                           if s not in ("filled", "canceled", "rejected", "expired")}
    assert rec.after.pending_commands == [] and rec.after.position == rec.position
    again = reconcile(rec.after, venue, adopt_position=adopt, ts=TS)
    assert again.adjustments == [], again.report()
    assert again.halted == rec.halted and again.position == rec.position
    assert again.after.open_orders == rec.after.open_orders
    return rec


def test_an_unknown_venue_order_is_adopted_as_external_with_its_fills() -> None:
    venue = ScriptedVenue([vorder("ext-1", "buy", "1", "0.4", "partially_filled", avg="100")],
                          [vfill("T1", "ext-1", "0.4")], {SYM: "0.4"})
    rec = check(records(), venue)
    assert kinds(rec) == [("external_order", "accepted"), ("order_event", "partially_filled")]
    ext, fill = rec.adjustments
    assert ext.order_id is None and ext.client_id == "ext-1" and ext.venue_order_id == "V-ext-1"
    assert ext.event["external"] is True and ext.audit["orders"] == []
    assert ext.reason == ("external order ext-1 (venue order V-ext-1: buy 1 @ 100, partially_filled, filled 0.4 of 1) "
                          "is open at the venue and unknown to the node: adopted")
    assert fill.event["trade_id"] == "T1" and fill.event["qty"] == "0.4"
    assert fill.reason == ("external order ext-1: fill T1 missed while the node was down: buy 0.4 @ 100, fee 0.01 USDT; "
                           "filled 0.4 of 1")
    assert [(o.client_id, o.status, o.filled) for o in rec.after.open_orders] == [("ext-1", "partially_filled", "0.4")]
    assert rec.position == "0.4" and not rec.halted and rec.after.known_fills == {("ext-1", "T1")}
    assert venue.calls["query_order"] == 0 and venue.calls["order_fills"] == 0


def test_external_orders_without_a_client_id_go_by_their_venue_order_id() -> None:
    hand = [VenueOrder("", f"V-{i}", "sell", "limit", "120", "1", "0", None, "open", 900) for i in (1, 2)]
    venue = ScriptedVenue(hand, [], {SYM: "0"})
    rec = check(records(), venue)
    assert [(a.kind, a.client_id, a.venue_order_id) for a in rec.adjustments] == [
        ("external_order", "V-1", "V-1"), ("external_order", "V-2", "V-2")]
    assert rec.adjustments[1].reason == ("external order V-2 (venue order V-2: sell 1 @ 120, open, filled 0 of 1) is open "
                                         "at the venue and unknown to the node: adopted")


def test_an_order_filled_while_the_node_was_down_gets_its_fills() -> None:
    node = records([sorder(7, "c-7", "buy", "2")])
    venue = ScriptedVenue([vorder("c-7", "buy", "2", "2", "filled", avg="100")],
                          [vfill("T1", "c-7", "1.5", ts=600), vfill("T2", "c-7", "0.5", ts=700)], {SYM: "2"})
    rec = check(node, venue)
    assert kinds(rec) == [("order_event", "partially_filled"), ("order_event", "filled")]
    assert [a.event["trade_id"] for a in rec.adjustments] == ["T1", "T2"]
    assert [(a.audit["from"], a.audit["to"], a.audit["orders"]) for a in rec.adjustments] == [
        ("open", "partially_filled", [7]), ("partially_filled", "filled", [7])]
    assert rec.adjustments[1].reason == ("order 7 (c-7): fill T2 missed while the node was down: buy 0.5 @ 100, "
                                         "fee 0.01 USDT; filled 2 of 2")
    assert [(o.order_id, o.status, o.filled) for o in rec.orders] == [(7, "filled", "2")]
    assert rec.after.open_orders == [] and rec.position == "2" and not rec.halted
    assert venue.asked.count(("query_order", "c-7")) == 1  # absent from the open list: asked once


def test_an_order_canceled_while_the_node_was_down_is_closed() -> None:
    node = records([sorder(8, "c-8", "sell", "1", "0.25", "partially_filled", price="110")], known={("c-8", "T0")}, position="-0.25")
    venue = ScriptedVenue([vorder("c-8", "sell", "1", "0.25", "canceled", price="110", avg="110")],
                          [vfill("T0", "c-8", "0.25", "110", "sell", ts=600)], {SYM: "-0.25"})
    rec = check(node, venue)
    assert kinds(rec) == [("order_event", "canceled")]  # T0 is known: never applied twice
    (a,) = rec.adjustments
    assert a.event["code"] == "venue" and a.event["ts"] == 900
    assert a.audit["from"] == "partially_filled" and a.audit["to"] == "canceled" and a.audit["orders"] == [8]
    assert a.reason == "order 8 (c-8) was canceled at the venue while the node was down (filled 0.25 of 1)"
    assert rec.position == "-0.25" and rec.after.open_orders == [] and not rec.halted


def test_fills_missed_while_down_on_an_order_still_open() -> None:
    node = records([sorder(3, "c-3", "buy", "1")])
    venue = ScriptedVenue([vorder("c-3", "buy", "1", "0.5", "partially_filled", avg="100")],
                          [vfill("T4", "c-3", "0.2", ts=800), vfill("T3", "c-3", "0.3", ts=700),
                           vfill("T-old", "c-3", "0.1", ts=100)],  # before last_ts: not in the window
                          {SYM: "0.5"})
    rec = check(node, venue)
    assert kinds(rec) == [("order_event", "partially_filled")] * 2
    assert [(a.event["trade_id"], a.event["qty"], a.event["ts"]) for a in rec.adjustments] == [("T3", "0.3", 700), ("T4", "0.2", 800)]
    assert [(o.status, o.filled) for o in rec.after.open_orders] == [("partially_filled", "0.5")]
    assert dict(venue.calls) == {"mass_status": 2}  # the open list answered: no query, no fill list


def test_a_partial_window_of_fills_is_completed_by_an_inferred_fill() -> None:
    node = records([sorder(9, "c-9", "buy", "3")])
    fills = [vfill("T5", "c-9", "1", "100", ts=200), vfill("T6", "c-9", "1", "101", ts=300), vfill("T7", "c-9", "1", "102", ts=600)]
    # the mass status has only T7 (since last_ts=500); order_fills pages the newest two (T6, T7)
    venue = ScriptedVenue([vorder("c-9", "buy", "3", "3", "filled", avg="101")], fills, {SYM: "3"}, order_fills_limit=2)
    rec = check(node, venue)
    assert kinds(rec) == [("order_event", "partially_filled"), ("order_event", "partially_filled"), ("inferred_fill", "filled")]
    assert [a.event["trade_id"] for a in rec.adjustments] == ["T6", "T7", None]
    inferred = rec.adjustments[-1]
    # the price that makes the order's average the venue's 101: (3 * 101 - 101 - 102) / 1 = 100 (T5's own)
    assert inferred.event["inferred"] is True and inferred.event["qty"] == "1" and inferred.event["price"] == "100"
    assert inferred.event["fee"] == "0" and inferred.audit["from"] == "partially_filled" and inferred.audit["to"] == "filled"
    assert inferred.reason == ("order 9 (c-9): the venue has 3 filled, the node 0 and the fill reports 2 more; "
                               "inferred fill buy 1 @ 100 (the price that makes the order's average the venue's 101; "
                               "fee not reported)")
    assert [(o.filled, o.notional) for o in rec.orders] == [("3", "303")]
    assert venue.calls["order_fills"] == 1 and rec.position == "3" and not rec.halted
    assert rec.after.known_fills == {("c-9", "T6"), ("c-9", "T7")}


@pytest.mark.parametrize(("notional", "avg", "price", "how"), [
    (None, "100.5", "100.5", "the venue's average price"),  # the node's own fills' value unknown
    ("99", "100.5", "102", "the price that makes the order's average the venue's 100.5"),  # 2 * 100.5 - 99
    # (3 * 100.1 - 100) / 2 = 100.15, rounded half to even at the finest decimals given (0.1)
    ("100", "100.1", "100.2", "the price that makes the order's average the venue's 100.1"),
])
def test_the_price_of_an_inferred_fill(notional: str | None, avg: str, price: str, how: str) -> None:
    order = StoredOrder(9, "c-9", "buy", "limit", "110", "4", "1", "partially_filled", 100, notional)
    filled = "2" if avg == "100.5" else "3"
    venue = ScriptedVenue([vorder("c-9", "buy", "4", filled, "partially_filled", price="110", avg=avg)], [], {SYM: filled})
    rec = check(records([order], known={("c-9", "T1")}, position="1"), venue)
    (a,) = rec.adjustments
    assert a.kind == "inferred_fill" and a.event["price"] == price and f"@ {price} ({how}; fee not reported)" in a.reason


def test_without_any_price_no_fill_is_inferred_and_the_node_halts() -> None:
    venue = ScriptedVenue([vorder("c-9", "buy", "2", "1", "partially_filled", price=None)], [], {SYM: "1"})
    rec = check(records([sorder(9, "c-9", "buy", "2", price=None)]), venue)
    assert rec.adjustments == [] and rec.halted
    assert rec.mismatches[0] == ("order 9 (c-9): the venue has 1 filled, the node 0 and the fill reports 0 more, and the "
                                 "venue gives no price for the other 1: no fill can be inferred")


def test_a_fill_report_arriving_after_its_inferred_fill_is_not_applied_again() -> None:
    node = records([sorder(9, "c-9", "buy", "3", "1", "partially_filled")], known={("c-9", "T1")}, position="1")
    venue = ScriptedVenue([vorder("c-9", "buy", "3", "2", "partially_filled", avg="100")], [], {SYM: "2"})
    first = check(node, venue)
    assert kinds(first) == [("inferred_fill", "partially_filled")]
    # the venue's report of that fill arrives later: covered by the inferred fill, not applied twice
    venue.fills.append(vfill("T2", "c-9", "1", ts=700))
    rec = reconcile(first.after, venue, adopt_position=False, ts=TS)
    assert rec.adjustments == [] and rec.position == "2" and not rec.halted
    assert rec.notes == ["trade T2 of order 9 (c-9) (buy 1 @ 100) is not applied: the node's filled quantity 2 already "
                         "covers the venue's 2 but 0 (an earlier inferred fill)"]


def test_an_unanswered_submit_the_venue_has_is_resolved_from_its_answer() -> None:
    venue = ScriptedVenue([vorder("c-11", "buy", "1", "0", "open", price="99")], [], {SYM: "0"})
    rec = check(records(pending=[submit(5, 11, "c-11")]), venue)
    assert kinds(rec) == [("command_acked", "accepted")]
    (a,) = rec.adjustments
    assert (a.order_id, a.client_id, a.venue_order_id) == (11, "c-11", "V-c-11")
    assert a.audit["from"] == "submitted" and a.audit["to"] == "open" and a.audit["orders"] == [11]
    assert a.reason == "submit 5 of order 11 (c-11): the venue has it as V-c-11, open, filled 0 of 1; not sent again"
    assert [(o.order_id, o.status) for o in rec.after.open_orders] == [(11, "open")]

    filled = ScriptedVenue([vorder("c-11", "buy", "1", "1", "filled", price="99", avg="99")],
                           [vfill("T9", "c-11", "1", "99", ts=450)], {SYM: "1"})
    rec = check(records(pending=[submit(5, 11, "c-11")], last_ts=400), filled)
    assert kinds(rec) == [("command_resolved", "accepted"), ("order_event", "filled")]
    assert rec.adjustments[0].reason == "submit 5 of order 11 (c-11): the venue has it as V-c-11, filled, filled 1 of 1; not sent again"
    assert rec.after.open_orders == [] and rec.position == "1"
    assert dict(filled.calls) == {"mass_status": 2, "query_order": 1}  # the re-run has nothing to ask


def test_an_unanswered_submit_the_venue_lacks_is_void_and_not_sent_again() -> None:
    venue = ScriptedVenue([], [], {SYM: "0"})
    rec = check(records(pending=[submit(6, 12, "c-12", "sell", "0.5", "120")]), venue)
    assert kinds(rec) == [("command_void", "rejected")]
    (a,) = rec.adjustments
    assert a.event["code"] == "void" and a.audit["from"] == "submitted" and a.audit["to"] == "rejected"
    assert a.reason == ("submit 6 of order 12 (c-12) (sell 0.5 @ 120) never reached the venue: the venue has no order "
                        "c-12; void, not sent again")
    assert rec.after.open_orders == [] and not rec.halted
    # asked once per reconciliation, never sent (the scripted venue fails the test on any other call)
    assert set(venue.calls) == {"mass_status", "query_order"} and venue.asked.count(("query_order", "c-12")) == 1


def test_an_unanswered_cancel_is_resolved_from_the_venue_or_the_orders_own_state() -> None:
    cancel = PendingCommand(7, "cancel", 4, "c-4", "{}", 450)
    node = records([sorder(4, "c-4", status="pending_cancel")], [cancel])
    done = check(node, ScriptedVenue([vorder("c-4", status="canceled")], [], {SYM: "0"}))
    assert kinds(done) == [("command_acked", "canceled")]
    assert done.adjustments[0].reason == "cancel 7 of order 4 (c-4): the venue has it canceled as V-c-4, filled 0 of 1"

    still = check(node, ScriptedVenue([vorder("c-4")], [], {SYM: "0"}))
    assert kinds(still) == [("command_resolved", "cancel_rejected")]
    assert still.adjustments[0].audit["to"] == "open"
    assert still.adjustments[0].reason == ("cancel 7 of order 4 (c-4): the venue still has it open: the cancel did not "
                                           "reach it; not sent again")

    gone = check(node, ScriptedVenue([], [], {SYM: "0"}))
    assert kinds(gone) == [("command_resolved", "canceled")]
    assert gone.adjustments[0].event["code"] == "not_at_venue"
    assert gone.adjustments[0].reason == ("cancel 7 of order 4 (c-4): the venue has no order c-4; the node held it "
                                          "pending_cancel with 0 filled: it is not working anywhere, canceled")


def test_a_submit_and_its_cancel_both_unanswered() -> None:
    pending = [submit(1, 13, "c-13"), PendingCommand(2, "cancel", 13, "c-13", "{}", 410)]
    venue = ScriptedVenue([vorder("c-13", "buy", "1", "0.25", "canceled", price="99", avg="99")],
                          [vfill("T13", "c-13", "0.25", "99", ts=600)], {SYM: "0.25"})
    rec = check(records(pending=pending), venue)
    assert kinds(rec) == [("command_resolved", "accepted"), ("order_event", "partially_filled"), ("command_acked", "canceled")]
    assert rec.adjustments[-1].reason == "cancel 2 of order 13 (c-13): the venue has it canceled as V-c-13"
    assert rec.adjustments[-1].audit["code"] == "command_acked" and rec.position == "0.25" and rec.after.open_orders == []
    # neither reached the venue: the submit is void, the cancel has nothing left to do
    gone = check(records(pending=pending), ScriptedVenue([], [], {SYM: "0"}))
    assert kinds(gone) == [("command_void", "rejected"), ("command_resolved", "cancel_rejected")]
    assert gone.adjustments[1].reason == "cancel 2 of order 13 (c-13): the order is rejected at the node; nothing to do"


def test_an_unanswered_modify_is_acked_when_the_venue_shows_it() -> None:
    modify = PendingCommand(8, "modify", 4, "c-4", json.dumps({"price": "101"}), 450)
    node = records([sorder(4, "c-4", status="pending_modify")], [modify])
    rec = check(node, ScriptedVenue([vorder("c-4", price="101")], [], {SYM: "0"}))
    assert kinds(rec) == [("command_acked", "updated")]
    assert rec.adjustments[0].reason == "modify 8 of order 4 (c-4): the venue shows it applied (price 101)"
    assert [(o.status, o.price) for o in rec.after.open_orders] == [("open", "101")]
    missed = check(node, ScriptedVenue([vorder("c-4", price="100")], [], {SYM: "0"}))
    assert kinds(missed) == [("command_resolved", "modify_rejected")]


def test_a_position_mismatch_halts_then_is_adopted_by_configuration() -> None:
    node = records(position="1")
    venue = ScriptedVenue([], [vfill("T-x", "manual-1", "0.5", ts=600)], {SYM: "1.5"}, {"USDT": "900", "BTC": "1.5"})
    halted = check(node, venue)
    assert halted.halted and halted.adjustments == [] and halted.position == "1" and halted.venue_position == "1.5"
    assert halted.mismatches == ["position BTCUSDT: node 1 + applied fills 0 = 1, venue 1.5: differs by 0.5; the node "
                                 "halts (set adopt_position to take the venue's)"]
    assert halted.notes == ["trade T-x of order manual-1 (buy 0.5 @ 100) belongs to no order the node holds: not applied"]
    text = halted.report()
    assert "HALTED" in text and halted.mismatches[0] in text and halted.notes[0] in text
    assert "venue balances: BTC 1.5, USDT 900" in text

    adopted = check(node, venue, adopt=True)
    assert not adopted.halted and adopted.position == "1.5" and adopted.mismatches == []
    assert kinds(adopted) == [("position_adopted", "position_adjusted")]
    (a,) = adopted.adjustments
    assert (a.event["from"], a.event["to"], a.event["delta"]) == ("1", "1.5", "0.5")
    assert (a.audit["from"], a.audit["to"]) == ("1", "1.5")
    assert a.reason == ("position BTCUSDT: node 1 + applied fills 0 = 1, venue 1.5: differs by 0.5; the venue's "
                        "position is adopted (adopt_position)")
    assert "position_adopted" in adopted.report() and "ok" in adopted.report().splitlines()[0]


def test_duplicate_fill_reports_are_applied_once() -> None:
    node = records([sorder(2, "c-2", "buy", "2", "0.5", "partially_filled")], known={("c-2", "T0")}, position="0.5")
    fills = [vfill("T0", "c-2", "0.5", ts=600), vfill("T1", "c-2", "0.5", ts=700), vfill("T1", "c-2", "0.5", ts=700),
             vfill("T2", "c-2", "1", ts=800)]
    venue = ScriptedVenue([vorder("c-2", "buy", "2", "2", "filled", avg="100")], fills, {SYM: "2"})
    rec = check(node, venue)
    assert [(a.kind, a.event["trade_id"]) for a in rec.adjustments] == [("order_event", "T1"), ("order_event", "T2")]
    assert rec.position == "2" and not rec.halted and rec.mismatches == []
    # the same trade id with different contents is a mismatch: the first report is used
    venue.fills.append(vfill("T2", "c-2", "0.7", ts=800))
    odd = reconcile(node, venue, adopt_position=False, ts=TS)
    assert odd.halted and odd.mismatches[0].startswith("trade T2 is reported twice with different contents")
    assert [a.event["trade_id"] for a in odd.adjustments] == ["T1", "T2"]


def test_a_self_trade_fills_both_orders_on_one_trade_id() -> None:
    # the node's buy c-3 and sell c-4 met each other at the venue: one trade T9, a fill for each;
    # the node had applied c-3's side (done) when it went down, c-4 is still working
    node = records([sorder(4, "c-4", "sell", "1", price="100")], known={("c-3", "T9")}, position="1")
    fills = [vfill("T9", "c-3", "1", ts=600), vfill("T9", "c-4", "1", side="sell", ts=600)]
    venue = ScriptedVenue([vorder("c-4", "sell", "1", "1", "filled", avg="100")], fills, {SYM: "0"})
    rec = check(node, venue)
    assert [(a.kind, a.client_id, a.event["trade_id"]) for a in rec.adjustments] == [("order_event", "c-4", "T9")]
    assert rec.position == "0" and not rec.halted and rec.mismatches == [] and rec.notes == []
    assert rec.after.known_fills == {("c-3", "T9"), ("c-4", "T9")}


def test_a_working_order_the_venue_never_had_is_closed() -> None:
    node = records([sorder(5, "c-5", status="submitted"), sorder(6, "c-6")])
    rec = check(node, ScriptedVenue([], [], {SYM: "0"}))
    assert kinds(rec) == [("order_event", "rejected"), ("order_event", "canceled")]
    assert [a.event["code"] for a in rec.adjustments] == ["void", "not_at_venue"]
    assert rec.adjustments[1].reason == "order 6 (c-6) (open, 0 of 1 filled) is unknown to the venue: it is not working anywhere, canceled"


def test_an_overfilled_node_order_halts() -> None:
    node = records([sorder(5, "c-5", "buy", "1", "0.5", "partially_filled")], known={("c-5", "T0")}, position="0.5")
    rec = check(node, ScriptedVenue([vorder("c-5", filled="0.2", status="partially_filled", avg="100")], [], {SYM: "0.5"}))
    assert rec.halted and rec.mismatches == ["order 5 (c-5): the node has 0.5 filled, the venue only 0.2"]


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match=r"venue order 'c-1': filled: must be a decimal string, got 'x'"):
        vorder("c-1", filled="x")
    with pytest.raises(InvalidInputError, match=r"venue order 'c-1': filled: 2 exceeds the quantity 1"):
        vorder("c-1", filled="2")
    with pytest.raises(InvalidInputError, match=r"status: must be one of"):
        vorder("c-1", status="working")
    with pytest.raises(InvalidInputError, match=r"open_orders: order 1 \('c-1'\) is filled, not working"):
        records([sorder(1, "c-1", filled="1", status="filled")])
    venue = ScriptedVenue()
    for request, message in [("{not json", r"pending command 3: request: not JSON"),
                             ('{"side": "buy"}', r"pending command 3: request: qty: missing"),
                             ('{"side": "buy", "qty": "-1"}', r"pending command 3: request: qty: must be positive, got '-1'"),
                             ('{"side": "hold", "qty": 1}', r"pending command 3: request: side: must be 'buy' or 'sell', got 'hold'")]:
        with pytest.raises(InvalidInputError, match=message):
            reconcile(records(pending=[PendingCommand(3, "submit", 1, "c-1", request, 0)]), venue, adopt_position=False, ts=TS)
    with pytest.raises(InvalidInputError, match=r"pending command 4: request: a modify needs a new price or qty"):
        reconcile(records(pending=[PendingCommand(4, "modify", 1, "c-1", '{"tif": "GTC"}', 0)]), venue, adopt_position=False, ts=TS)
    assert not venue.calls  # checked before the venue is asked anything
    with pytest.raises(InvalidInputError, match=r"pending command 5: kind: must be one of submit, cancel, modify"):
        PendingCommand(5, "replace", 1, "c-1", "{}", 0)


def test_the_scripted_venue_fails_anything_that_sends() -> None:
    venue = ScriptedVenue()
    with pytest.raises(AssertionError, match="must never send anything"):
        venue.submit  # noqa: B018
