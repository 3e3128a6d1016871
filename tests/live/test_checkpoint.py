"""Engine checkpoints through the live session (``LiveSession.checkpoint`` / ``restore``), the
write-ahead journal (``set_journal``), the store's incremental readers, and a replay resuming
after the lines it processed (``RecordingReader(skip=n)``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trader._core import LiveSession, RecordingReader
from trader.exceptions import InvalidInputError
from trader.strategy import Strategy

RECORDING = "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
class EveryNth:
    """A Python risk layer with state of its own: it vetoes every 7th order it checks and
    counts the fills (``state()`` / ``load_state()`` carry the counts across a restore)."""

    name = "every_nth"

    def __init__(self) -> None:
        self.checked = 0
        self.fills = 0

    def check(self, order: dict, account: dict) -> str | None:
        self.checked += 1
        return "every 7th order" if self.checked % 7 == 0 else None

    def on_fill(self, fill: dict, account: dict) -> None:
        self.fills += 1

    def state(self) -> dict:
        return {"checked": self.checked, "fills": self.fills}

    def load_state(self, d: dict) -> None:
        self.checked, self.fills = d["checked"], d["fills"]


def kw(**over: Any) -> dict[str, Any]:
    """The session's arguments (a restored session is built with the same ones; each session
    gets its own Python layer object)."""
    out: dict[str, Any] = dict(
        mode="l2",
        market="usdm",
        price_precision=2,
        size_precision=3,
        cash=100_000.0,
        account="margin",
        elapse_ns=250_000_000,
        maker_fee_bps=-0.5,
        taker_fee_bps=4.0,
        latency={"model": "lognormal", "submit_ms": 15.0, "sigma": 0.7, "seed": 7},
        risk={
            "limits": {"submit_rate": {"capacity": 6, "interval_ns": 1_000_000_000}},
            "layers": [
                {"kind": "drawdown", "name": "dd", "soft": 0.00001},
                {"kind": "circuit_breaker", "name": "cb", "failure_threshold": 2, "cooldown_ns": 2_000_000_000},
                {"kind": "python", "name": "every_nth", "layer": EveryNth()},
            ],
        },
    )
    out.update(over)
    return out


class Quoter(Strategy):
    """Quotes one lot a side at the touch on every book callback (re-quoting when the touch
    moved), cancels everything on a 0.9 s timer every other firing, and counts what it saw in
    ``self.state`` (plain values: the node hands them over on a restart)."""

    def on_start(self) -> None:
        self.state: dict[str, Any] = {"books": 0, "timers": 0, "events": 0, "bid": None, "ask": None}
        self.clock.set_timer("flush", 900_000_000)

    def on_book(self, ctx: Any) -> None:
        s = self.state
        s["books"] += 1
        if ctx.best_bid is None or ctx.best_ask is None:
            return
        for side, key, px in ((1, "bid", ctx.best_bid), (-1, "ask", ctx.best_ask)):
            cur = s[key]
            if cur is not None and ctx.is_working(cur[0]) and cur[1] == px:
                continue
            if cur is not None and ctx.is_working(cur[0]):
                ctx.cancel(cur[0])
            if abs(ctx.position() + side * 0.002) <= 0.01:
                s[key] = [ctx.submit(side, 0.002, price=px), px]
            else:
                s[key] = None

    def on_timer(self, event: Any) -> None:
        self.state["timers"] += 1
        if self.state["timers"] % 2 == 0:
            self.cancel_all()

    def on_order_event(self, event: Any) -> None:
        self.state["events"] += 1


def lines_of(shared_data: Path) -> list[str]:
    reader = RecordingReader([str(shared_data / RECORDING)])
    out: list[str] = []
    while (b := reader.next_batch(8192)) is not None:
        out.extend(b.texts())
    return out


@pytest.fixture(scope="module")
def lines(shared_data: Path) -> list[str]:
    # the first 30,000 lines: ~2 minutes of market time, hundreds of orders (a bounded test)
    return lines_of(shared_data)[:30_000]


def session(strategy: Any = None) -> LiveSession:
    return LiveSession(Quoter() if strategy is None else strategy, **kw())


def feed(s: LiveSession, lines: list[str]) -> None:
    i = 0
    while i < len(lines):
        i += s.push_lines(lines[i : i + 4096])
        s.pump(1 << 20)
    s.pump(1 << 20)


def outcome(s: LiveSession) -> dict[str, Any]:
    """Everything the store reads, then the final report (elapsed time left out)."""
    got = {
        "fills": s.fills_since(0),
        "events": s.events_since(0),
        "audit": s.audit_since(0),
        "orders": s.orders(),
        "position": s.position(),
        "balances": s.balances(),
        "risk": s.risk_state(),
    }
    report = s.finish()
    report.pop("seconds")
    fill_columns = {k: v.tolist() for k, v in report.pop("fill_columns").items()}
    got["report"] = json.loads(json.dumps(report, default=str))
    got["fill_columns"] = fill_columns
    return got


def test_a_session_cut_at_several_points_ends_where_the_uninterrupted_one_ends(lines):
    whole = session()
    feed(whole, lines)
    want = outcome(whole)
    assert len(want["fills"]) > 10, "the quoter must trade"
    assert want["report"]["timer_calls"] > 20
    assert want["report"]["risk"]["denials"], "the rate limit and the layers must deny orders"
    assert want["risk"]["layers"]["every_nth"]["layer"]["checked"] > 7
    assert "hwm" in want["risk"]["layers"]["dd"]

    cuts = [5, 400, 3_000, 7_777, 12_000, 18_500, 24_000, 29_990]
    strategy = Quoter()
    s = session(strategy)
    start = 0
    for cut in cuts:
        feed(s, lines[start:cut])
        start = cut
        blob = s.checkpoint()
        state = json.loads(json.dumps(strategy.state))  # what the node stores
        strategy = Quoter()  # the strategy object re-created, its state handed over
        fresh = session(strategy)
        fresh.restore(blob)
        strategy.state = state
        s = fresh
    feed(s, lines[start:])
    got = outcome(s)
    for key in want:
        assert got[key] == want[key], key


class Witness(Quoter):
    """The quoter, writing each order event it is handed into a shared sequence."""

    def __init__(self, seq: list) -> None:
        super().__init__()
        self.seq = seq

    def on_order_event(self, event: Any) -> None:
        super().on_order_event(event)
        self.seq.append(("event", event.order_id, event.kind))


def test_the_journal_sees_every_command_before_its_first_event(lines):
    seq: list[tuple] = []
    s = session(Witness(seq))
    journaled: list[tuple[str, int, dict, int]] = []

    def journal(kind: str, order_id: int, request: str, ts: int) -> None:
        journaled.append((kind, order_id, json.loads(request), ts))
        seq.append(("journal", order_id, kind))

    s.set_journal(journal)
    feed(s, lines[:15_000])
    submits = [x for x in journaled if x[0] == "submit"]
    assert len(submits) > 10
    assert {x[0] for x in journaled} >= {"submit", "cancel"}
    for kind, oid, request, ts in submits:
        assert request["Submit"]["id"] == oid
        first_journal = seq.index(("journal", oid, "submit"))
        own = [i for i, x in enumerate(seq) if x[0] == "event" and x[1] == oid]
        assert own, f"order {oid} has events"
        assert first_journal < own[0], "the journal ran before the order's first event"
    events = s.events_since(0)
    # every order that reached the venue was journaled, at or before its first event's time
    sent = {e["order_id"]: e["ts"] for e in reversed(events) if e["kind"] == "submitted"}
    assert set(sent) == {x[1] for x in submits}
    assert all(sent[oid] >= ts for _, oid, _, ts in submits)


def test_a_raising_journal_stops_the_command(lines):
    s = session()
    calls: list[int] = []

    class DiskFull(Exception):
        pass

    def journal(kind: str, order_id: int, request: str, ts: int) -> None:
        calls.append(order_id)
        raise DiskFull("the store is full")

    s.set_journal(journal)
    with pytest.raises(DiskFull, match="the store is full"):
        feed(s, lines[:15_000])
    assert calls, "the journal was called"
    assert s.open_orders() == []
    assert not [e for e in s.events_since(0) if e["kind"] in ("submitted", "accepted")]
    assert s.order(calls[0]) is None, "the venue never heard of it"
    assert s.status()["orders"] == 0


def test_the_readers_are_incremental_and_exact(lines):
    s = session()
    feed(s, lines[:10_000])
    fills, events, audit = s.fills_since(0), s.events_since(0), s.audit_since(0)
    feed(s, lines[10_000:20_000])
    assert s.fills_since(0)[: len(fills)] == fills
    more = s.fills_since(len(fills))
    assert [f["trade_id"] for f in more] == [f"F{len(fills) + i}" for i in range(len(more))]
    assert s.events_since(len(events)) == s.events_since(0)[len(events) :]
    assert s.audit_since(len(audit)) == s.audit_since(0)[len(audit) :]
    f = s.fills_since(0)[0]
    assert f["price"].count(".") == 1 and len(f["price"].split(".")[1]) == 2
    assert len(f["qty"].split(".")[1]) == 3
    opened = s.open_orders()
    assert all(o["status"] in ("ACCEPTED", "PARTIALLY_FILLED") for o in opened)
    if opened:
        assert s.order(opened[0]["id"]) == opened[0]
    assert s.order(10**12) is None
    ids = [o["id"] for o in s.orders()[:3]]
    assert [o["id"] for o in s.orders(ids)] == ids
    assert set(s.balances()) >= {"cash", "fees", "initial_cash"}
    assert set(s.position()) >= {"qty", "cost", "realized"}
    r = s.risk_state()
    assert r["trading_state"] == "active" or r["trading_state"] == r["trading_state"].lower()
    n = len(s.audit_since(0))
    s.record_action("reconcile", "reconciliation", "adopted external order", [123])
    entry = s.audit_since(n)[-1]
    assert (entry["kind"], entry["source"], entry["orders"]) == ("reconcile", "reconciliation", [123])
    assert entry["prev_hash"] == (s.audit_since(0)[n - 1]["hash"] if n else "0" * 64)
    with pytest.raises(InvalidInputError, match="kind"):
        s.record_action("", "x", "y")


def test_a_blob_of_another_configuration_is_refused(lines):
    s = session()
    feed(s, lines[:3_000])
    blob = s.checkpoint()
    other = LiveSession(Quoter(), **kw(elapse_ns=500_000_000))
    with pytest.raises(InvalidInputError, match="checkpoint: .*another configuration"):
        other.restore(blob)
    native = LiveSession(None, **kw())
    with pytest.raises(InvalidInputError, match="checkpoint: "):
        native.restore(blob)

    class OtherQuoter(Quoter):
        pass

    with pytest.raises(InvalidInputError, match="checkpoint: .*saved by the strategy .*Quoter, this session runs .*OtherQuoter"):
        LiveSession(OtherQuoter(), **kw()).restore(blob)
    with pytest.raises(InvalidInputError, match="checkpoint: "):
        session().restore(blob[:100])


def test_a_checkpoint_needs_the_ring_pumped(lines):
    s = session()
    assert s.push_lines(lines[:10]) == 10
    with pytest.raises(InvalidInputError, match="pump them first"):
        s.checkpoint()
    s.pump()
    assert s.checkpoint()


def test_the_native_maker_restores_too(lines):
    def native() -> LiveSession:
        return LiveSession(None, **kw(risk=None))

    whole = native()
    feed(whole, lines)
    want = outcome(whole)
    s = native()
    feed(s, lines[:11_111])
    blob = s.checkpoint()
    s = native()
    s.restore(blob)
    feed(s, lines[11_111:])
    assert outcome(s) == want


def test_a_reader_with_skip_yields_exactly_the_lines_after_it(shared_data: Path):
    path = str(shared_data / RECORDING)
    everything: list[str] = []
    r = RecordingReader([path])
    while (b := r.next_batch(5000)) is not None and len(everything) < 20_000:
        everything.extend(b.texts())
    skip = 12_345
    r = RecordingReader([path], skip=skip)
    assert r.lines == skip
    got: list[str] = []
    while len(got) < 5_000 and (b := r.next_batch(1000)) is not None:
        got.extend(b.texts())
    assert got[:5_000] == everything[skip : skip + 5_000]
    assert r.lines == skip + len(got)
    # past the end: nothing, not an error
    r = RecordingReader([path], skip=10**9)
    assert r.next_batch(10) is None


def test_the_journal_sees_the_operators_and_the_engines_commands(lines):
    s = session()
    journaled: list[tuple[str, int]] = []
    s.set_journal(lambda kind, oid, request, ts: journaled.append((kind, oid)))
    for stop in range(6_000, 30_000, 2_000):  # until the quoter holds a position
        feed(s, lines[stop - 2_000 if stop > 6_000 else 0 : stop])
        if float(s.position()["qty"]) != 0 and s.open_orders():
            break
    working = [o["id"] for o in s.open_orders()]
    assert working and float(s.position()["qty"]) != 0
    journaled.clear()
    canceled = s.cancel_all("operator test")
    assert sorted(canceled) == sorted(working)
    assert sorted(oid for kind, oid in journaled if kind == "cancel") == sorted(working)
    journaled.clear()
    out = s.flatten("operator test")
    assert out["order"] is not None
    assert ("submit", out["order"]) in journaled, "the engine's flattening order is journaled"


def test_a_bar_strategys_indicators_come_back_with_the_checkpoint(lines):
    """ema_cross on 1 s bars: its EMAs (registered with ``self.indicator``, updated by the engine
    before each bar) are in the checkpoint; its own ``_prev`` is handed over as the node hands
    over a strategy's state."""
    from trader_strategies.ema_cross import EmaCross

    def make() -> tuple[Any, LiveSession]:
        st = EmaCross(fast=3, slow=8, qty=0.01, allow_short=True)
        return st, LiveSession(st, **kw(bar_ns=1_000_000_000, risk=None))

    st, whole = make()
    feed(whole, lines)
    want_emas = (st.fast_ema.value, st.slow_ema.value)
    want = outcome(whole)
    assert want["report"]["bars"] > 50 and len(want["fills"]) > 2

    st, s = make()
    start = 0
    for cut in (1_000, 9_000, 17_000, 26_000):
        feed(s, lines[start:cut])
        start = cut
        blob, prev = s.checkpoint(), st._prev
        st, s = make()
        s.restore(blob)
        st._prev = prev
    feed(s, lines[start:])
    assert (st.fast_ema.value, st.slow_ema.value) == want_emas
    assert outcome(s) == want


def test_a_streaming_indicator_pickles_with_its_state():
    import pickle

    from trader.indicators import EMA, RSI

    for ind in (EMA(5), RSI(4)):
        for x in (1.0, 2.0, 1.5, 3.0, 2.5, 2.0, 4.0):
            ind.update(x)
        back = pickle.loads(pickle.dumps(ind))
        assert (back.value, back.count) == (ind.value, ind.count)
        assert back.update(3.3) == ind.update(3.3)
    with pytest.raises(InvalidInputError, match="not this indicator's state"):
        EMA(5).__setstate__(b"\x01")
