"""macd_trend: trade the MACD line crossing its signal line, optionally only with the trend.

Long when the MACD line crosses above the signal line (and, with ``zero_filter``, is above 0);
close (or, with ``allow_short``, reverse) when it crosses below (and is below 0 for the short).
"""

from __future__ import annotations

import math
from typing import Any

from trader.indicators import MACD
from trader.strategy import Param
from trader_strategies._sizing import Sized


class MacdTrend(Sized):
    name = "macd_trend"
    description = "MACD / signal line crossovers"

    fast = Param(12, int, ge=2, help="fast EMA period")
    slow = Param(26, int, ge=2, help="slow EMA period")
    signal = Param(9, int, ge=1, help="signal EMA period")
    zero_filter = Param(False, bool, help="enter longs only above 0 and shorts only below 0")

    def validate(self) -> None:
        super().validate()
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")

    def on_start(self) -> None:
        self.macd = self.indicator(MACD(self.fast, self.slow, self.signal))
        self._prev = float("nan")

    def on_save(self) -> None:  # live: the last bar's histogram survives a restart (None: not yet seeded)
        self.state["prev"] = None if math.isnan(self._prev) else self._prev

    def on_load(self, state: dict[str, Any]) -> None:
        prev = state.get("prev")
        self._prev = math.nan if prev is None else float(prev)

    def on_bar(self, bar: Any) -> None:
        line, sig, hist = self.macd.value
        prev, self._prev = self._prev, hist
        if prev <= 0.0 < hist:
            if not self.zero_filter or line > 0:
                self.go_long(bar.close)
            elif self.position() < 0:
                self.go_flat()
        elif prev >= 0.0 > hist:
            if self.allow_short and (not self.zero_filter or line < 0):
                self.go_short_or_flat(bar.close)
            elif self.position() > 0:
                self.go_flat()
