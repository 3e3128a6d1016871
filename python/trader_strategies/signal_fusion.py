"""signal_fusion: several indicator signals fused by the decision kernel into one position.

Four signals, each scaled to [-1, 1]:
- trend: the fast/slow EMA spread in ATRs, ``tanh((ema_fast - ema_slow) / atr)``;
- momentum: the MACD histogram in ATRs, ``tanh(hist / atr)``;
- reversion: ``(50 - RSI) / 50`` (oversold → positive);
- bands: the close's place in the Bollinger bands, ``-(close - middle) / (upper - middle)``
  clamped (above the upper band → -1).
The kernel (``trader.decision.DecisionKernel``) weighs them with signed weights, zeroes those
below ``threshold``, and maps the score to an action (long / flat / short) outside the
``neutral_band`` and a size in [0, 1]. The strategy holds ``action × size × qty`` (fixed
``qty``), or ``action × size × size_fraction`` of equity.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trader.decision import DecisionKernel
from trader.indicators import ATR, BBANDS, EMA, MACD, RSI, atr, bbands, ema, macd, rsi
from trader.strategy import Param, Signals, Strategy


class SignalFusion(Strategy):
    name = "signal_fusion"
    description = "Trend, momentum, reversion and band signals fused by the SIMD decision kernel"

    fast = Param(12, int, ge=1, help="fast EMA period (trend signal)")
    slow = Param(48, int, ge=2, help="slow EMA period (trend signal)")
    rsi_period = Param(14, int, ge=2, help="RSI period (reversion signal)")
    band_period = Param(20, int, ge=2, help="Bollinger period (bands signal)")
    atr_period = Param(14, int, ge=1, help="ATR period (scales trend and momentum)")
    w_trend = Param(1.0, float, help="weight of the trend signal")
    w_momentum = Param(0.5, float, help="weight of the MACD momentum signal")
    w_reversion = Param(0.25, float, help="weight of the RSI reversion signal")
    w_bands = Param(0.25, float, help="weight of the Bollinger bands signal")
    threshold = Param(0.1, float, ge=0.0, le=1.0, help="signals weaker than this count as 0")
    neutral_band = Param(0.2, float, ge=0.0, lt=1.0, help="|score| at or below this means flat")
    qty = Param(0.0, float, ge=0.0, help="full-size position in units; 0 = size_fraction x equity")
    size_fraction = Param(1.0, float, gt=0.0, help="fraction of equity of a full-size position when qty is 0")
    allow_short = Param(True, bool, help="hold short positions on negative scores")

    def validate(self) -> None:
        super().validate()
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be < slow ({self.slow})")
        if self.w_trend == self.w_momentum == self.w_reversion == self.w_bands == 0:
            raise ValueError("at least one weight must be non-zero")

    def _kernel(self) -> DecisionKernel:
        w = [self.w_trend, self.w_momentum, self.w_reversion, self.w_bands]
        return DecisionKernel(w, [self.threshold] * 4, self.neutral_band)

    def on_start(self) -> None:
        self.kernel = self._kernel()
        self.fast_ema = self.indicator(EMA(self.fast))
        self.slow_ema = self.indicator(EMA(self.slow))
        self.macd = self.indicator(MACD(self.fast, self.slow, 9))
        self.rsi = self.indicator(RSI(self.rsi_period))
        self.bands = self.indicator(BBANDS(self.band_period, 2.0, 2.0))
        self.atr = self.indicator(ATR(self.atr_period), source="hlc")
        self.signals = np.zeros(4)

    def on_bar(self, bar: Any) -> None:
        a = self.atr.value
        s = self.signals
        s[0] = math.tanh((self.fast_ema.value - self.slow_ema.value) / a) if a > 0 else math.nan
        s[1] = math.tanh(self.macd.value[2] / a) if a > 0 else math.nan
        r = self.rsi.value
        s[2] = (50.0 - r) / 50.0
        upper, middle, _ = self.bands.value
        s[3] = -(bar.close - middle) / (upper - middle) if upper > middle else math.nan
        action, _score, size = self.kernel.decide(s)
        if not self.allow_short and action < 0:
            action = 0
        unit = self.qty if self.qty > 0 else self.qty_for(self.size_fraction, bar.close)
        target = action * size * unit
        delta = target - self.position()
        step = self.lot()
        if abs(delta) >= step:
            if delta > 0:
                self.buy(math.floor(delta / step) * step)
            else:
                self.sell(math.floor(-delta / step) * step)

    def vectorized(self, bars: Any) -> Signals | None:
        """Targets for the whole series (fixed ``qty`` only: equity sizing is path dependent)."""
        if self.qty <= 0:
            return None
        c = np.ascontiguousarray(bars.close, dtype=np.float64)
        h = np.ascontiguousarray(bars.high, dtype=np.float64)
        lo = np.ascontiguousarray(bars.low, dtype=np.float64)
        a = atr(h, lo, c, self.atr_period)
        with np.errstate(invalid="ignore", divide="ignore"):
            trend = np.tanh((ema(c, self.fast) - ema(c, self.slow)) / np.where(a > 0, a, np.nan))
            mom = np.tanh(macd(c, self.fast, self.slow, 9)[2] / np.where(a > 0, a, np.nan))
            rev = (50.0 - rsi(c, self.rsi_period)) / 50.0
            upper, middle, _ = bbands(c, self.band_period, 2.0, 2.0)
            band = np.where(upper > middle, -(c - middle) / (upper - middle), np.nan)
        sig = np.ascontiguousarray(np.column_stack([trend, mom, rev, band]))
        action, _score, size = self._kernel().decide_batch(sig)
        if not self.allow_short:
            action = np.maximum(action, 0)
        # The engine rounds each target to the instrument's lot (toward zero).
        return Signals(target=action * size * self.qty)
