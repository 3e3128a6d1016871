"""rsi_reversion: buy oversold, sell overbought (Wilder RSI, TA-Lib's conventions).

Enter long when RSI falls below ``lower``; leave the long when RSI rises above ``exit``. With
``allow_short``: enter short above ``upper`` and cover below ``100 - exit``.
"""

from __future__ import annotations

from typing import Any

from trader.indicators import RSI
from trader.strategy import Param
from trader_strategies._sizing import Sized


class RsiReversion(Sized):
    name = "rsi_reversion"
    description = "Mean reversion on RSI extremes"

    period = Param(14, int, ge=2, help="RSI period")
    lower = Param(30.0, float, gt=0.0, lt=100.0, help="oversold level: buy below")
    upper = Param(70.0, float, gt=0.0, lt=100.0, help="overbought level: short above (allow_short)")
    exit = Param(50.0, float, gt=0.0, lt=100.0, help="leave a long above this level")

    def validate(self) -> None:
        super().validate()
        if not self.lower < self.exit < self.upper:
            raise ValueError(f"need lower < exit < upper, got {self.lower} / {self.exit} / {self.upper}")

    def on_start(self) -> None:
        self.rsi = self.indicator(RSI(self.period))

    def on_bar(self, bar: Any) -> None:
        r = self.rsi.value
        if r != r:  # NaN: still in the lookback
            return
        pos = self.position()
        if pos <= 0 and r < self.lower:
            self.go_long(bar.close)
        elif pos > 0 and r > self.exit:
            self.go_flat()
        elif self.allow_short and pos == 0 and r > self.upper:
            self.go_short_or_flat(bar.close)
        elif pos < 0 and r < 100.0 - self.exit:
            self.go_flat()
