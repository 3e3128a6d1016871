"""Bar backtests with protective orders, against plain ema_cross in the same run.

Data: the session fixture ``real_ohlcv`` (shared BTC 1-minute bars repeated to 1M), as in
``test_bench_backtest.py``. The acceptance line: bar backtests with brackets and trailing stops
keep >= 50% of ema_cross's throughput. Both sides run event-driven (a Python ``on_bar`` per bar)
through the whole ``run_backtest`` call:

- ``bracket_exits``: ours = ema_cross whose every entry is a bracket (market entry, take-profit
  limit 2% above, stop-market 1% below, the exits an OCO pair activated on the entry's fill);
  anchor = plain ema_cross on the same bars (items = bars).
- ``trailing_exits``: ours = ema_cross whose every entry carries a 1% trailing stop (an OTO).

``correct`` (the gate enforces it on both sides): ours: the exits really traded (some take-profit
or stop fills happened), every exit of a bracket that filled canceled its sibling, and the run's
fills reconcile with its orders; anchor: it traded, its fills reconcile with its orders, and the
exits run's entries are the anchor's (the same crossings give the same entry fills until the
first exit changes the position).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benches import peers
from trader import run_backtest

ROUNDS = 5


@pytest.fixture(scope="module")
def bars_1m(real_ohlcv: dict[str, np.ndarray]) -> Any:
    return peers.make_bars(real_ohlcv)


def _run(bars: Any, **exits: float) -> Any:
    params = {"fast": peers.FAST, "slow": peers.SLOW, "qty": peers.QTY, **exits}
    return run_backtest("ema_cross", params, bars, mode="event", cash=peers.CASH, price_precision=2)


def _reconciled(r: Any) -> bool:
    """The run traded, and each order's filled quantity is the sum of its fills."""
    orders = r.orders_table().to_pydict()
    fills_by_order: dict[int, float] = {}
    for oid, q in zip(r.fills["order_id"], r.fills["qty"]):
        fills_by_order[int(oid)] = fills_by_order.get(int(oid), 0.0) + float(q)
    return bool(fills_by_order) and all(
        abs(fills_by_order.get(o, 0.0) - f) < 1e-9 for o, f in zip(orders["order_id"], orders["filled"]))


def _exits_traded(r: Any) -> bool:
    orders = r.orders_table().to_pydict()
    if not orders.get("order_id"):
        return False
    exits = [i for i, p in enumerate(orders["parent_id"]) if p is not None]
    filled_exits = [i for i in exits if orders["filled"][i] > 0]
    reconciled = _reconciled(r)
    both_legs = {}
    for i in filled_exits:
        both_legs.setdefault(orders["list_id"][i], 0)
        both_legs[orders["list_id"][i]] += 1
    one_leg_each = all(v == 1 for v in both_legs.values())
    return bool(filled_exits) and reconciled and one_leg_each


def _bench(benchmark: Any, group: str, role: str, bars: Any, exits: dict[str, float]) -> None:
    held: list[Any] = []
    seen: list[dict[str, Any]] = []
    fn = (lambda: _run(bars, **exits)) if role == "ours" else (lambda: _run(bars))

    def call() -> None:
        held.append(fn())

    def teardown() -> None:
        r = held.pop()
        check = (_exits_traded if role == "ours" else _reconciled) if not seen else None
        seen.append({"bars": r.bars, "orders": r.orders, "fills": len(r.fills["ts"]), "elapsed_s": r.elapsed_s,
                     "correct": check(r) if check else None,
                     "first_fill": (int(r.fills["ts"][0]), float(r.fills["price"][0])) if len(r.fills["ts"]) else None})
        del r

    benchmark.group = group
    benchmark.pedantic(call, teardown=teardown, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    last = seen[-1]
    rates = sorted(s["bars"] / s["elapsed_s"] for s in seen)
    benchmark.extra_info.update(role=role, items=last["bars"], orders=last["orders"], fills=last["fills"],
                                engine_items_per_s=round(rates[len(rates) // 2]))
    benchmark.extra_info["correct"] = bool(seen[0]["correct"])
    _FIRST_FILL.setdefault(role, {})[group] = seen[0]["first_fill"]
    other = _FIRST_FILL.get("anchor" if role == "ours" else "ours", {}).get(group)
    if other is not None:  # both ran: the first entry fill (before any exit) is the same
        benchmark.extra_info["correct"] &= other == seen[0]["first_fill"]


_FIRST_FILL: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_bracket_exits(benchmark, role, bars_1m):
    _bench(benchmark, "bracket_exits", role, bars_1m, {"take_profit": 0.02, "stop_loss": 0.01})


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_trailing_exits(benchmark, role, bars_1m):
    _bench(benchmark, "trailing_exits", role, bars_1m, {"trailing": 0.01})
