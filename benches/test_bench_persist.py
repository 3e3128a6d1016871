"""The cost of persistence (issue 12).

* ``live_replay_persist``: the replay at ``--speed max`` through the whole live node with the store
  on, as a user runs it (SQLite in the state folder, the defaults: the write-ahead of every
  command, a batch with the events, fills, positions, state and the engine's checkpoint at most
  every 200 ms) against the same node with ``--no-persist``, same recording and strategy.
  Throughput is events over the feed's time (first batch to the last event processed,
  :attr:`LiveNode.feed_seconds`). Rounds are paired (the anchor then ours, round after round;
  each round on a fresh state folder) and the line is the median of the per-round ratios.
  Beside it, not judged: ``stop_s``, what persisting adds to the stop (the last batch, which at
  --speed max on a recording this short holds most rows: the batches are paced by the wall
  clock) and to the start (opening the store), and ``stress_ratio``, the same ratio with a batch
  every 20 ms (ten times the default's rate). Correct: the same fills both ways, and the store
  holds every one of them.
* ``live_write_ahead``: tick-to-order latency as the engine measures it, with the write-ahead
  of every command into the SQLite store's write-ahead log (the node's journal,
  :class:`trader.live.persist.SlotLink`: a ring in a memory-mapped file, batches carry it into
  the store) and without, two sessions fed the same 20k events one after the other in one loop (a strategy that
  orders or cancels on every trade: every event sends a command). Batches are written meanwhile
  as the node writes them (every ``flush_ms``, 200 by default: built on the engine's thread
  between events, committed on the store's writer thread), so the write-ahead competes with them.
  Three rounds of 20k events; ``latency_ns`` holds the journaled session's p50/p99 (medians over
  the rounds), ``anchor_latency_ns`` the plain one's; the gate line is "p99 with <= p99 without +
  20 us".
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from benches._data import shared_file
from benches.test_bench_live import OrderEveryTrade
from trader import _core

RECORDING = "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
ROUNDS = 9
N_EVENTS = 20_000
#: Rounds of the write-ahead loop (N_EVENTS each): the line takes the median of their p50s/p99s.
WA_ROUNDS = 3


#: The node's default batch interval (``flush_ms``), seconds.
FLUSH_DEFAULT_S = 0.2
#: The stress variant's batch interval (ms): ten times the default's rate.
STRESS_FLUSH_MS = 20.0
STRESS_ROUNDS = 3


def _node(path: str, state: Path, persist: bool, flush_ms: float | None = None) -> tuple[dict, Any, float]:
    """(report, node, whole wall time) of one replay."""
    from trader.live.config import load_live_config
    from trader.live.node import LiveNode

    t0 = time.perf_counter()
    cfg = load_live_config(None, {"feed": f"replay:{path}", "speed": "max", "state": str(state), "persist": persist,
                                  "flush_ms": flush_ms,
                                  "strategy": f"{__file__.replace('test_bench_persist', 'test_bench_live')}:TradeFollower"})
    node = LiveNode(cfg, log_to_stderr=False)
    asyncio.run(node.run())
    return node.slots[0].report, node, time.perf_counter() - t0


def test_live_write_ahead(benchmark, tmp_path) -> None:
    from trader.live.persist import SlotLink
    from trader.live.store import Batch, BatchWriter, open_store

    def session() -> Any:
        return _core.LiveSession(OrderEveryTrade(), mode="quotes", price_precision=2, size_precision=3, cash=1e6,
                                 account="margin")

    store = open_store(str(tmp_path / "state"))
    writer = BatchWriter(store)
    plain, journaled = session(), session()
    link = SlotLink(store=store, slot=SimpleNamespace(id="main", session=journaled, strategy=journaled_strategy(journaled)),
                    next_seq=store.next_command_seq("main"))
    link.attach_journal("normal")  # the node's write-ahead: on SQLite, the session appends to its log itself
    ts = 1_700_000_000_000_000_000
    for s in (plain, journaled):
        s.push_quote(ts, 50_000.0, 50_000.01, 5.0, 5.0)
        s.pump()
        s.take_latencies()

    per_round: list[tuple[np.ndarray, np.ndarray]] = []
    last = time.monotonic()  # the node's flush timer runs across the rounds

    def flush() -> None:
        batch = Batch()
        link.rows(batch, time.time_ns())
        writer.submit(batch)

    def run() -> None:
        nonlocal ts, last
        for i in range(N_EVENTS):
            ts += 1_000
            for s in (plain, journaled):
                s.push_trade(ts, 50_000.0 + (i % 2) * 0.01, 0.001, "buy" if i % 2 else "sell", i)
                s.pump()
            if time.monotonic() - last >= FLUSH_DEFAULT_S:
                last = time.monotonic()
                flush()
        per_round.append((np.asarray(journaled.take_latencies(), dtype=np.float64),
                          np.asarray(plain.take_latencies(), dtype=np.float64)))

    benchmark.group = "live_write_ahead"
    benchmark.pedantic(run, rounds=WA_ROUNDS, iterations=1)
    flush()  # the node's last batch, at its stop
    writer.flush()
    commands = len(store.commands("main"))
    in_table = store.next_command_seq("main") - link.slot.session.journal_next_seq == 0
    sent = journaled.status()["orders"]
    writer.close()
    store.close()
    correct = bool(all(len(o) >= N_EVENTS // 2 and len(b) == len(o) for o, b in per_round)
                   and commands >= N_EVENTS * WA_ROUNDS and in_table and sent == plain.status()["orders"])

    def median_of(samples: list[np.ndarray], q: float) -> float:
        return float(np.median([np.percentile(x, q) for x in samples]))

    ours, base = [o for o, _ in per_round], [b for _, b in per_round]
    q = {"p50": median_of(ours, 50), "p99": median_of(ours, 99)}
    a = {"p50": median_of(base, 50), "p99": median_of(base, 99)}
    benchmark.extra_info.update(role="ours", items=N_EVENTS, latency_ns=q, anchor_latency_ns=a,
                                samples=sum(len(o) for o in ours), commands_written=commands, correct=correct,
                                p99_by_round_us=[(round(np.percentile(o, 99) / 1e3, 1), round(np.percentile(b, 99) / 1e3, 1))
                                                 for o, b in per_round],
                                added_p99_us=round((q["p99"] - a["p99"]) / 1e3, 2))


def test_live_replay_persist(benchmark, tmp_path) -> None:
    """Ours and the anchor alternate, each timed by its feed time (pytest-benchmark's rounds carry
    ours' feed time through ``benchmark.pedantic``'s own clock being replaced by the node's)."""
    path = str(shared_file(RECORDING))
    anchor_s: list[float] = []
    ours_s: list[float] = []
    fixed_s: list[float] = []
    anchors: list[dict] = []
    reports: list[dict] = []
    batches: list[int] = []

    anchor_whole: list[float] = []

    def setup() -> None:
        report, node, whole = _node(path, tmp_path / f"off{len(anchor_s)}", False)
        anchors.append(report)
        anchor_s.append(node.feed_seconds)
        anchor_whole.append(whole - node.feed_seconds)

    def call() -> None:
        report, node, whole = _node(path, tmp_path / f"on{len(reports)}", True)
        reports.append(report)
        ours_s.append(node.feed_seconds)
        fixed_s.append(whole - node.feed_seconds)
        batches.append(node.persistence.batches)

    benchmark.group = "live_replay_persist"
    benchmark.pedantic(call, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    got, want = reports[-1], anchors[-1]
    from trader.live.inspect import open_for_reading

    store = open_for_reading(str(tmp_path / f"on{len(reports) - 1}"))
    try:
        stored = len(store.fills("main"))
    finally:
        store.close()
    same = bool(got["fills"] > 0 and got["fills"] == want["fills"] == stored
                and all(np.array_equal(got["fill_columns"][c], want["fill_columns"][c])
                        for c in ("ts", "price", "qty", "side", "order_id")))
    pairs = sorted(a / o for a, o in zip(anchor_s[1:], ours_s[1:], strict=True))
    events = want["events"]
    stress = []
    for i in range(STRESS_ROUNDS):
        off = _node(path, tmp_path / f"s-off{i}", False)[1].feed_seconds
        on = _node(path, tmp_path / f"s-on{i}", True, STRESS_FLUSH_MS)[1].feed_seconds
        stress.append(off / on)
    off_whole = sorted(a for a in anchor_whole[1:])[len(pairs) // 2]
    benchmark.extra_info.update(role="ours", items=events, anchor_items=events,
                                anchor_median_s=sorted(anchor_s[1:])[len(pairs) // 2],
                                ours_feed_median_s=sorted(ours_s[1:])[len(pairs) // 2],
                                paired_ratio=round(pairs[len(pairs) // 2], 4), paired_ratios=[round(p, 3) for p in pairs],
                                stop_s=round(sorted(fixed_s[1:])[len(pairs) // 2] - off_whole, 4),
                                batches=batches[1:], stress_ratio=round(sorted(stress)[len(stress) // 2], 4),
                                correct=same, fills=got["fills"], stored_fills=stored)


def journaled_strategy(session: Any) -> Any:
    """The strategy object the link saves ``state`` of (the session's own is inside it)."""
    return SimpleNamespace(state={}, on_save=None)
