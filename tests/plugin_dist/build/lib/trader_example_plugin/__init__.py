"""An example third-party plugin for trader: the ``breakout_example`` strategy.

Everything a plugin needs: a Strategy subclass with declared parameters, and a ``trader_*`` hook
implementation in the module the ``trader`` entry point names (see this package's pyproject).
"""

from __future__ import annotations

from typing import Any

import trader
from trader import Param, Strategy
from trader.indicators import SMA


class BreakoutExample(Strategy):
    """Buy when the close clears the highest close of the last ``lookback`` bars by ``margin``."""

    name = "breakout_example"
    description = "Donchian-style close breakout (third-party example plugin)"

    lookback = Param(50, int, ge=2, help="bars in the channel")
    margin = Param(0.0, float, ge=0.0, help="fraction above the channel high required")
    qty = Param(0.01, float, gt=0.0, help="order quantity")

    def on_start(self) -> None:
        self.trend = self.indicator(SMA(self.lookback))
        self.window: list[float] = []

    def on_bar(self, bar: Any) -> None:
        high = max(self.window) if len(self.window) == self.lookback else None
        self.window.append(bar.close)
        if len(self.window) > self.lookback:
            self.window.pop(0)
        if high is None:
            return
        pos = self.position()
        if pos == 0 and bar.close > high * (1 + self.margin):
            self.buy(self.qty)
        elif pos > 0 and bar.close < self.trend.value:
            self.close()


@trader.hookimpl
def trader_strategies() -> list:
    return [BreakoutExample]
