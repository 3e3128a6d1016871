"""The cost of the default risk layers, against the same run without them, in the same session.

Acceptance line (issue 5): "the default layers cost <= 15% of throughput on issue 2's
trade-every-bar benchmark". Both sides run ``peers.EveryBar`` (an order on every bar: buy 0.01
when flat, sell when long; 1M orders, each filled at the next open) through the whole
``run_backtest`` call on the session's 1M real bars (``real_ohlcv``), event-driven:

- ours: with a risk configuration of the default layers (drawdown guard, panic conditions,
  circuit breaker) and limits on every check (price band, max notional, position, concentration,
  gross/net exposure, leverage, submit rate), so every order passes the full pre-trade check and
  every layer;
- anchor: the same strategy with no risk configuration (the structural checks only).

Items = orders submitted. For the two sides to do the same trading, no limit and no layer may
trip: the limits sit above what the strategy does and the circuit breaker's failure threshold is
set out of reach (with the default of 5 it would open after 5 losing trades in a row, and the
vetoed orders would then cost less than filled ones, flattering ours). ``correct``: ours has the
same number of orders and fills as the anchor, and the risk report shows no denial and no state
change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benches import peers
from trader import run_backtest
from trader.risk import RiskSettings

ROUNDS = 5

RISK = RiskSettings(
    limits={"price_band_bps": 5000, "max_notional": 1e6, "max_concentration": 1.0, "max_gross_exposure": 1e7,
            "max_net_exposure": 1e7, "max_leverage": 10, "submit_rate": "1000/1s"},
    instruments={"*": {"max_position": 10.0}},
    layers=["drawdown", "panic", "circuit_breaker:failure_threshold=1000000000"],
    source="bench",
)


@pytest.fixture(scope="module")
def bars_1m(real_ohlcv: dict[str, np.ndarray]) -> Any:
    return peers.make_bars(real_ohlcv)


def _run(bars: Any, risk: Any) -> Any:
    return run_backtest(peers.EveryBar, None, bars, mode="event", cash=peers.CASH, price_precision=2, risk=risk)


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_risk_layers_every_bar(benchmark, role, bars_1m):
    held: list[Any] = []
    seen: list[dict[str, Any]] = []
    risk = RISK if role == "ours" else None

    def call() -> None:
        held.append(_run(bars_1m, risk))

    def teardown() -> None:
        r = held.pop()
        seen.append({"orders": r.orders, "fills": len(r.fills["ts"]), "elapsed_s": r.elapsed_s, "risk": r.risk})
        del r

    benchmark.group = "risk_layers_every_bar"
    benchmark.pedantic(call, teardown=teardown, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    last = seen[-1]
    rates = sorted(s["orders"] / s["elapsed_s"] for s in seen)
    benchmark.extra_info.update(role=role, items=last["orders"], orders=last["orders"], fills=last["fills"],
                                engine_items_per_s=round(rates[len(rates) // 2]))
    if role == "ours":
        rep = last["risk"]
        untouched = not any(rep.get("denials", {}).values()) and not rep.get("changes") and rep.get("state") == "active"
        n = len(bars_1m.close)
        benchmark.extra_info["correct"] = bool(untouched and last["orders"] == n and last["fills"] == n - 1)
