"""The live node's benches (issue 11).

* ``live_replay``: a replay at ``--speed max`` through the whole live path — the node's feed,
  every strategy's SPSC ring, the engine, a Python strategy called on each trade, the paper venue,
  the metrics; persistence off (its cost is ``live_replay_persist``'s, benches/test_bench_persist.py) — against ``trader backtest-l2`` (:func:`trader.run_l2_backtest`) on the same
  recording and strategy. Rounds are paired (ours then the anchor, round after round) and the
  line is the median of the per-round ratios. Correct: the same fills, to the last unit.
* ``live_tick_to_order_py`` / ``live_tick_to_order_rust``: tick-to-order latency, from an event
  pushed into the ring to the end of the engine call that handed the order to the execution
  client (the paper venue), as the engine measures it (``LiveSession.take_latencies``), with a
  Python strategy (on every trade it sends an order or cancels it) and with the Rust market maker
  (on every quote it re-quotes). 20k events each. The absolute goals (p50 <= 10 us and p99 <= 50
  us with a Python strategy, p99 <= 5 us with a Rust one) are judged against a yardstick timed in
  the same loop, interleaved with ours event by event: a fixed pure-Python function (nothing of
  ours) whose median took YARDSTICK_QUIET_NS on a quiet run of this machine; ``latency_ns`` holds
  ours' p50 and p99, ``anchor_latency_ns`` the yardstick's (see benches/gate.py, ``quantile``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benches._data import shared_file
from trader import _core
from trader.strategy import Strategy

RECORDING = "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
ROUNDS = 7
N_EVENTS = 20_000


class TradeFollower(Strategy):
    """Called on every trade; quotes a small bid under the last trade every 50 trades (so it
    trades now and then, and the live path carries orders and fills)."""

    name = "trade_follower"

    def on_start(self) -> None:
        self.n = 0
        self.oid: int | None = None

    def on_trade(self, trade: Any) -> None:
        self.n += 1
        if self.n % 50 == 0:
            if self.oid is not None and self._ctx.is_working(self.oid):
                self.cancel(self.oid)
            self.oid = self.order(1 if self.n % 100 else -1, 0.001, price=trade.price)


def _live(path: str, tmp: Path) -> dict:
    from trader.live.config import load_live_config
    from trader.live.node import LiveNode

    # the live path itself (ring, engine, paper venue, metrics); what persistence adds to it is
    # benches/test_bench_persist.py's line
    cfg = load_live_config(None, {"feed": f"replay:{path}", "speed": "max", "state": str(tmp), "persist": False,
                                  "strategy": f"{__file__}:TradeFollower"})
    node = LiveNode(cfg, log_to_stderr=False)
    asyncio.run(node.run())
    return node.slots[0].report


def test_live_replay(benchmark, tmp_path) -> None:
    """Ours (the live replay) timed by pytest-benchmark; before each of its rounds, untimed for
    it, the anchor (``run_l2_backtest``) runs once and is timed here: the rounds are paired, and
    the gate judges the median of the per-round ratios (``paired_ratio``)."""
    from trader.l2 import run_l2_backtest

    path = str(shared_file(RECORDING))
    want = run_l2_backtest(path, TradeFollower())
    anchor_s: list[float] = []
    reports: list[dict] = []

    def setup() -> None:
        t0 = time.perf_counter()
        run_l2_backtest(path, TradeFollower())
        anchor_s.append(time.perf_counter() - t0)

    def call() -> None:
        reports.append(_live(path, tmp_path / f"r{len(reports)}"))

    benchmark.group = "live_replay"
    benchmark.pedantic(call, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    got = reports[-1]
    same = bool(got["fills"] > 0 and got["fills"] == want["fills"] and got["orders"] == want["orders"]
                and all(np.array_equal(got["fill_columns"][c], want["fill_columns"][c])
                        for c in ("ts", "price", "qty", "side", "order_id")))
    ours_s = list(benchmark.stats.stats.data)
    pairs = sorted(a / o for a, o in zip(anchor_s[1:], ours_s, strict=True))
    events = want["events"]
    benchmark.extra_info.update(role="ours", items=events, anchor_items=events,
                                anchor_median_s=sorted(anchor_s[1:])[len(pairs) // 2],
                                paired_ratio=round(pairs[len(pairs) // 2], 4), paired_ratios=[round(p, 3) for p in pairs],
                                correct=same, fills=got["fills"], trade_calls=got["trade_calls"])


#: The yardstick's median on a quiet run of this machine (ns): ``_yardstick`` below.
YARDSTICK_QUIET_NS = 2_000.0


def _yardstick() -> int:
    """A fixed pure-Python workload (nothing of ours): the machine-speed unit of the latency lines."""
    x = 0
    for i in range(60):
        x += i * i
    return x


class OrderEveryTrade(Strategy):
    """On every trade: a limit buy far under the market, or the cancel of the last one."""

    name = "order_every_trade"

    def on_start(self) -> None:
        self.oid: int | None = None

    def on_trade(self, trade: Any) -> None:
        if self.oid is None:
            self.oid = self.order(1, 0.001, price=round(trade.price - 100.0, 2))
        else:
            self.cancel(self.oid)
            self.oid = None


def _latencies(strategy: Any, push: str, **kw: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(ours' latencies, the yardstick's times, orders sent) over N_EVENTS events, interleaved."""
    s = _core.LiveSession(strategy, mode="quotes", price_precision=2, size_precision=3, cash=1e6, account="margin", **kw)
    ts = 1_700_000_000_000_000_000
    s.push_quote(ts, 50_000.0, 50_000.01, 5.0, 5.0)
    s.pump()
    s.take_latencies()
    yard = np.empty(N_EVENTS, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(N_EVENTS):
        ts += 1_000
        t0 = clock()
        _yardstick()
        yard[i] = clock() - t0
        if push == "trade":
            s.push_trade(ts, 50_000.0 + (i % 2) * 0.01, 0.001, "buy" if i % 2 else "sell", i)
        else:
            b = 50_000.0 + (i % 2) * 0.01
            s.push_quote(ts, b, round(b + 0.01, 2), 5.0, 5.0)
        s.pump()
    lat = s.take_latencies()
    orders = s.status()["orders"]
    s.finish()
    return lat.astype(np.int64), yard, orders


def _record(benchmark, lat: np.ndarray, yard: np.ndarray, correct: bool) -> None:
    q = {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}
    y = {"p50": float(np.percentile(yard, 50)), "p99": float(np.percentile(yard, 99))}
    benchmark.extra_info.update(role="ours", items=1, latency_ns=q, anchor_latency_ns=y, samples=len(lat),
                                correct=correct, yardstick_quiet_ns=YARDSTICK_QUIET_NS)


@pytest.mark.parametrize("kind", ["py", "rust"])
def test_live_tick_to_order(benchmark, kind) -> None:
    out: dict[str, Any] = {}

    def run() -> None:
        if kind == "py":
            out["r"] = _latencies(OrderEveryTrade(), "trade")
        else:  # the Rust market maker, woken on every event, re-quotes when the touch moves
            out["r"] = _latencies(None, "quote", elapse_ns=1, qty=0.001, max_position=1.0)

    benchmark.group = {"py": "live_tick_to_order_py", "rust": "live_tick_to_order_rust"}[kind]
    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    lat, yard, orders = out["r"]
    # every event sent an order (py: a submit every other trade, a cancel between; rust: both sides
    # re-quoted on every quote), and the engine measured each event that did
    correct = bool(len(lat) >= N_EVENTS // 2 and orders >= N_EVENTS // 2 and (lat > 0).all())
    _record(benchmark, lat, yard, correct)
