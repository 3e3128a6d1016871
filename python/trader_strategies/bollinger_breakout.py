"""bollinger_breakout: follow a close outside the Bollinger bands, leave at the middle band.

Long when the close breaks above the upper band; exit when it falls back below the middle band.
With ``allow_short``: short below the lower band, cover above the middle band.
"""

from __future__ import annotations

from typing import Any

from trader.indicators import BBANDS
from trader.strategy import Param
from trader_strategies._sizing import Sized


class BollingerBreakout(Sized):
    name = "bollinger_breakout"
    description = "Breakouts through the Bollinger bands"

    period = Param(20, int, ge=2, help="band period (SMA and standard deviation)")
    nbdev = Param(2.0, float, gt=0.0, help="band width in standard deviations")

    def on_start(self) -> None:
        self.bands = self.indicator(BBANDS(self.period, self.nbdev, self.nbdev))

    def on_bar(self, bar: Any) -> None:
        upper, middle, lower = self.bands.value
        if middle != middle:  # NaN: still in the lookback
            return
        close = bar.close
        pos = self.position()
        if pos <= 0 and close > upper:
            self.go_long(close)
        elif pos > 0 and close < middle:
            self.go_flat()
        elif self.allow_short and pos == 0 and close < lower:
            self.go_short_or_flat(close)
        elif pos < 0 and close > middle:
            self.go_flat()
