"""Every public ``Strategy`` method works in every mode: one strategy calls them all in a bar run,
a tick run and an L2 run (the same ``on_bar``: tick and L2 runs build the bars from the trades)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import trader
from trader import orders
from trader.indicators import EMA
from trader.strategy import Param, Strategy

STATES = {"active", "reducing", "paused", "halted", "emergency"}


class EveryMethod(Strategy):
    """At its first bar it calls every public method (orders, state, risk controls, sizing); at the
    next ones it checks what came back; it records what it saw."""

    name = "every_method"
    qty = Param(0.001, float, gt=0)

    def on_start(self) -> None:
        self.ema = self.indicator(EMA(2))
        self.seen: dict[str, Any] = {}
        self.bars = 0
        self.events: list[str] = []
        self.changes: list[tuple[str, str]] = []

    def on_bar(self, bar: Any) -> None:
        self.bars += 1
        lot = self.lot()
        px = bar.close
        if self.bars == 1:
            s = self.seen
            s["params"] = (sorted(self.params()), self.param_values())
            s["equity"], s["cash"], s["position"] = self.equity, self.cash, self.position()
            s["clock"], s["state"], s["lot"] = self.clock, self.trading_state, lot
            s["qty_for"] = self.qty_for(0.5, px)
            self.set_confidence(0.8)
            self.buy(self.qty)
            self.sell(self.qty, price=round(px * 1.5, 1))
            self.order("buy", lot, price=round(px * 0.5, 1))
            s["rest"] = self.submit(orders.limit("buy", lot, round(px * 0.6, 1)))
            self.submit_oco(orders.limit("buy", lot, round(px * 0.55, 1)), orders.limit("buy", lot, round(px * 0.56, 1)))
            self.submit_oto(orders.limit("buy", lot, round(px * 0.57, 1)), orders.limit("sell", lot, round(px * 1.6, 1)))
            self.bracket("buy", lot, take_profit=round(px * 1.5, 1), stop_loss=round(px * 0.5, 1))
            self.modify(s["rest"], price=round(px * 0.61, 1))
            self.cancel(s["rest"])
            self.set_trading_state("reducing", "test")
        elif self.bars == 2:
            self.seen["state2"] = self.trading_state
            self.set_trading_state("active")
            self.cancel_all()
            self.seen["close"] = self.close()
        elif self.bars == 3:
            self.seen["state3"] = self.trading_state
            self.seen["equity3"], self.seen["position3"] = self.equity, self.position()

    def on_order_event(self, event: Any) -> None:
        self.events.append(event.kind)

    def on_trading_state(self, change: dict[str, Any]) -> None:
        self.changes.append((change["from"], change["to"]))


@pytest.fixture(scope="module")
def data(shared_data: Path) -> dict[str, Path]:
    return {"trades": shared_data / "trades/nautilus/tardis_trades.csv.gz",
            "quotes": shared_data / "trades/nautilus/tardis_quotes.csv.gz",
            "l2": shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"}


def _run(mode: str, s: Strategy, data: dict[str, Path]) -> float:
    """Run ``s`` in ``mode``; the final equity."""
    if mode == "bar":
        return trader.run_backtest(s, data=None, options={"bars": 50, "seed": 3}, cash=100_000.0, size_precision=3).summary()["final_equity"]
    if mode == "tick":
        return trader.run_tick_backtest(s, data=data["trades"], quotes=data["quotes"], bar="1m", cash=100_000.0)["equity"]
    return trader.run_l2_backtest(data["l2"], s, bar="1m", cash=100_000.0)["equity"]


@pytest.mark.parametrize("mode", ["bar", "tick", "l2"])
def test_every_strategy_method_works_in_every_mode(mode: str, data: dict[str, Path]) -> None:
    s = EveryMethod()
    final = _run(mode, s, data)
    seen = s.seen
    assert s.bars >= 3, s.bars
    assert seen["params"] == (["qty"], {"qty": 0.001})
    # The account before any fill: all cash.
    assert seen["equity"] == pytest.approx(100_000.0) and seen["cash"] == pytest.approx(100_000.0)
    assert seen["position"] == 0.0 and seen["clock"] > 1_500_000_000 * 10**9
    assert seen["state"] == "active" and seen["lot"] == pytest.approx(0.001)
    assert seen["qty_for"] > 0 and math.isclose(seen["qty_for"] / seen["lot"], round(seen["qty_for"] / seen["lot"]))
    # The commanded states reached the risk engine (and the strategy) in order.
    assert seen["state2"] == "reducing" and seen["state3"] == "active"
    assert ("active", "reducing") in s.changes and ("reducing", "active") in s.changes
    # Orders went out and came back as events.
    assert {"submitted", "accepted", "canceled"} <= set(s.events), s.events
    assert "updated" in s.events or "canceled" in s.events
    assert math.isfinite(final) and math.isfinite(seen["equity3"]) and math.isfinite(seen["position3"])
    assert s.ema.count == s.bars and math.isfinite(s.ema.value)  # updated on every bar
