"""The cost of the default risk layers, against the same run without them, in the same session.

Acceptance line (issue 5): "the default layers cost <= 15% of throughput on issue 2's
trade-every-bar benchmark". Both sides run ``peers.EveryBar`` (an order on every bar: buy 0.01
when flat, sell when long; 1M orders, each filled at the next open) through the whole
``run_backtest`` call on the session's 1M real bars (``real_ohlcv``), event-driven:

- ours: with a risk configuration of the default layers (drawdown guard, panic conditions,
  circuit breaker) and no numeric limit (what the line is about: the layers' cost; the full
  pre-trade check with every limit set has its own line, ``risk_check`` in core-rs/benches/risk.rs);
- anchor: the same strategy with no risk configuration (the structural checks only).

Items = orders submitted. For the two sides to do the same trading, no limit and no layer may
trip: the circuit breaker's failure threshold is
set out of reach (with the default of 5 it would open after 5 losing trades in a row, and the
vetoed orders would then cost less than filled ones, flattering ours). ``correct``: ours has the
same number of orders and fills as the anchor, and the risk report shows no denial and no state
change.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from benches import peers
from trader import run_backtest
from trader.risk import RiskSettings

ROUNDS = 15

RISK = RiskSettings(
    layers=["drawdown", "panic", "circuit_breaker:failure_threshold=1000000000"],
    source="bench",
)


@pytest.fixture(scope="module")
def bars_1m(real_ohlcv: dict[str, np.ndarray]) -> Any:
    return peers.make_bars(real_ohlcv)


def _run(bars: Any, risk: Any) -> Any:
    return run_backtest(peers.EveryBar, None, bars, mode="event", cash=peers.CASH, price_precision=2, risk=risk)


def test_risk_layers_every_bar(benchmark, bars_1m):
    """Ours timed by pytest-benchmark; before each of its rounds (untimed for it) the anchor runs
    once and is timed here: A/B alternation, so a noise phase of the shared host (they last tens of
    seconds here) hits both sides alike. Each round's ratio (anchor time / ours, the rounds
    paired) is recorded, and the gate judges their median, ``extra_info["paired_ratio"]``: a
    ratio of medians lets a phase that hit only some anchors and other rounds of ours move the
    line by 10% here. ``anchor_median_s`` is printed beside it."""
    held: list[Any] = []
    seen: list[dict[str, Any]] = []
    anchor_s: list[float] = []
    anchor_counts: list[tuple[int, int]] = []

    def setup() -> None:
        t0 = time.perf_counter()
        a = _run(bars_1m, None)
        anchor_s.append(time.perf_counter() - t0)
        anchor_counts.append((a.orders, len(a.fills["ts"])))
        del a

    def call() -> None:
        held.append(_run(bars_1m, RISK))

    def teardown() -> None:
        r = held.pop()
        seen.append({"orders": r.orders, "fills": len(r.fills["ts"]), "elapsed_s": r.elapsed_s, "risk": r.risk})
        del r

    benchmark.group = "risk_layers_every_bar"
    benchmark.pedantic(call, setup=setup, teardown=teardown, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    last = seen[-1]
    rates = sorted(s["orders"] / s["elapsed_s"] for s in seen)
    timed_anchor = sorted(anchor_s[1:])  # the first one ran before the warm-up round
    ours_s = list(benchmark.stats.stats.data)
    pairs = sorted(a / o for a, o in zip(anchor_s[1:], ours_s, strict=True))
    rep = last["risk"]
    untouched = not any(rep.get("denials", {}).values()) and not rep.get("changes") and rep.get("state") == "active"
    n = len(bars_1m.close)
    benchmark.extra_info.update(
        role="ours", items=last["orders"], orders=last["orders"], fills=last["fills"],
        engine_items_per_s=round(rates[len(rates) // 2]),
        anchor_median_s=timed_anchor[len(timed_anchor) // 2], anchor_items=anchor_counts[-1][0],
        paired_ratio=round(pairs[len(pairs) // 2], 4), paired_ratios=[round(p, 3) for p in pairs],
        correct=bool(untouched and last["orders"] == n and last["fills"] == n - 1
                     and all(c == (n, n - 1) for c in anchor_counts)),
    )
