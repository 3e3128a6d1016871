"""ema_cross: trade the crosses of a fast and a slow EMA of the close.

The contract (tested against an independent reference): EMAs with TA-Lib's seeding. The fast EMA
crosses above the slow one on bar i when ``fast[i-1] <= slow[i-1]`` and ``fast[i] > slow[i]``
(both defined on i-1 and i) → buy (covering a short first); it crosses below when
``fast[i-1] >= slow[i-1]`` and ``fast[i] < slow[i]`` → close the long, or with ``allow_short``
reverse to a short. ``qty`` is a fixed quantity; 0 invests ``size`` × equity at the bar's close,
rounded down to the lot step. With ``stop_loss``, ``take_profit`` and/or ``trailing`` (fractions of
the entry's close), each entry goes in as a bracket (or an OTO with one exit) whose exits activate
on the entry's fill and cancel together; a crossing the other way cancels them and closes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trader.indicators import EMA, ema_multi
from trader.kernels import crossings
from trader.strategy import Param, Signals
from trader_strategies._sizing import Sized


class EmaCross(Sized):
    name = "ema_cross"
    description = "Fast/slow EMA crossover, long-only or long/short"

    fast = Param(10, int, ge=1, help="fast EMA period")
    slow = Param(30, int, ge=2, help="slow EMA period")

    def validate(self) -> None:
        super().validate()
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")

    def on_start(self) -> None:
        self.fast_ema = self.indicator(EMA(self.fast))
        self.slow_ema = self.indicator(EMA(self.slow))
        self._prev = (float("nan"), float("nan"))

    def on_save(self) -> None:  # live: the last bar's EMAs survive a restart (None: not yet seeded)
        self.state["prev"] = [None if math.isnan(v) else v for v in self._prev]

    def on_load(self, state: dict[str, Any]) -> None:
        pf, ps = state.get("prev") or (None, None)
        self._prev = (math.nan if pf is None else float(pf), math.nan if ps is None else float(ps))

    def on_bar(self, bar: Any) -> None:
        f = self.fast_ema.value
        s = self.slow_ema.value
        pf, ps = self._prev
        self._prev = (f, s)
        if pf <= ps and f > s:
            self.go_long(bar.close)
        elif pf >= ps and f < s:
            self.go_short_or_flat(bar.close)

    def vectorized(self, bars: Any) -> Signals | None:
        if self.has_exits:
            return None  # protective orders need the event path
        close = np.ascontiguousarray(bars.close, dtype=np.float64)
        both = ema_multi(close, [self.fast, self.slow])  # one SIMD pass; rows == ema(close, p)
        sig = crossings(both[0], both[1])  # +1 / -1 exactly where on_bar sees the crosses
        return Signals(signal=sig, qty=self.qty, size=self.size, allow_short=self.allow_short)

    @classmethod
    def vectorized_many(cls, strategies: list[Any], bars: Any) -> list[Signals | None]:
        """A sweep's combinations: every distinct period's EMA in one multi-lane pass (rows ==
        ema(close, p) whatever the other lanes hold), then each combination's crossings."""
        plain = [s for s in strategies if not s.has_exits]
        periods = sorted({p for s in plain for p in (s.fast, s.slow)})
        rows: dict[int, np.ndarray] = {}
        if periods:
            close = np.ascontiguousarray(bars.close, dtype=np.float64)
            rows = dict(zip(periods, ema_multi(close, periods)))
        return [None if s.has_exits else
                Signals(signal=crossings(rows[s.fast], rows[s.slow]), qty=s.qty, size=s.size, allow_short=s.allow_short)
                for s in strategies]
