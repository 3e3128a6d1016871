"""Typed stubs of ``trader._core``, the Rust extension. The user-facing docs of the extension live here."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Self, final

import numpy as np
import numpy.typing as npt

_F64Array = npt.NDArray[np.float64]

__all__ = [
    "__version__",
    "LineBatch",
    "LiveSession",
    "JournalRelease",
    "read_journal_log",
    "RecordingReader",
    "TimerEvent",
    "simd_backend",
    "simd_backends_available",
    "ema_multi",
    "sma_multi",
    "rsi_multi",
    "rolling_sum",
    "rolling_mean",
    "rolling_std",
    "reduce_sum",
    "reduce_mean",
    "reduce_std",
    "reduce_corr",
    "DecisionKernel",
    "sma",
    "ema",
    "wma",
    "rsi",
    "macd",
    "bbands",
    "atr",
    "stddev",
    "obv",
    "zscore",
    "vwap",
    "SMA",
    "EMA",
    "WMA",
    "RSI",
    "MACD",
    "BBANDS",
    "ATR",
    "STDDEV",
    "ZScore",
    "VWAP",
    "OBV",
    # --- overlap, volatility, volume, statistics (issue 15) ---
    "sar",
    "dema",
    "tema",
    "trima",
    "kama",
    "t3",
    "ma",
    "trange",
    "natr",
    "ad",
    "adosc",
    "midpoint",
    "midprice",
    "linearreg",
    "linearreg_slope",
    "linearreg_intercept",
    "linearreg_angle",
    "tsf",
    "var",
    "sum",
    "max",
    "min",
    "medprice",
    "typprice",
    "wclprice",
    "avgprice",
    "donchian",
    "keltner",
    "SAR",
    "DEMA",
    "TEMA",
    "TRIMA",
    "KAMA",
    "T3",
    "MA",
    "TRANGE",
    "NATR",
    "AD",
    "ADOSC",
    "MIDPOINT",
    "MIDPRICE",
    "LINEARREG",
    "LINEARREG_SLOPE",
    "LINEARREG_INTERCEPT",
    "LINEARREG_ANGLE",
    "TSF",
    "VAR",
    "SUM",
    "MAX",
    "MIN",
    "MEDPRICE",
    "TYPPRICE",
    "WCLPRICE",
    "AVGPRICE",
    "DONCHIAN",
    "KELTNER",
    "EventRing",
    "ObjectPool",
    "Backtest",
    "configure_account",
    "account_state",
    "curve_stats",
    "run_vectorized_many",
    "price_decimals",
    "crossings",
    "replay_binance_depth",
    "decode_binance_messages",
    "L2Book",
    "read_tardis",
    "read_binance_ticks",
    "L2Context",
    "TradeTick",
    "QuoteTick",
    "probe_recording",
    "run_l2_backtest",
    "run_tick_backtest",
    "configure_venue",
    "verify_audit",
    "Context",
    "Bar",
    "OrderEvent",
]

__version__: str

# ---------------------------------------------------------------------------------------------
# SIMD backend
# ---------------------------------------------------------------------------------------------

def simd_backend() -> str:
    """The SIMD backend in use: ``"scalar"``, ``"avx2"`` or ``"avx512"``.

    Chosen once per process: the best one the CPU supports, unless ``TRADER_SIMD`` forces one.
    Raises ``SimdUnavailableError`` if ``TRADER_SIMD`` names a backend this CPU cannot run.
    """

def simd_backends_available() -> list[str]:
    """Every backend this CPU can run, scalar first."""

# ---------------------------------------------------------------------------------------------
# Indicators: batch functions (TA-Lib's argument order, NaN for the lookback, GIL released)
#
# Inputs: 1-D contiguous float64 arrays (else ArrayTypeError naming the argument); several inputs
# must have the same length (LengthMismatchError). Leading NaNs are skipped (for several inputs,
# the start is the latest first valid index); a NaN after that raises NanInSeriesError. Bad
# periods raise InvalidInputError naming the argument. Values are bit-identical to TA-Lib 0.8
# (C library 0.8.1, on every CPU) for sma, ema, wma, macd, bbands, atr, stddev, obv; rsi is within
# 1e-9 relative (same NaNs, exact 0 and 100), being Wilder's smoothing computed in blocks.
# ---------------------------------------------------------------------------------------------

def sma(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Simple moving average (``talib.SMA``); ``timeperiod >= 1``."""

def ema(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Exponential moving average seeded with the mean of the first ``timeperiod`` values (``talib.EMA``)."""

def wma(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Linearly weighted moving average (``talib.WMA``)."""

def rsi(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Relative strength index with Wilder's smoothing (``talib.RSI`` within 1e-9 relative, NaNs and
    exact zeros identical; computed in independent blocks, not TA-Lib's sequential chain);
    ``timeperiod >= 2``."""

def macd(
    real: _F64Array, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> tuple[_F64Array, _F64Array, _F64Array]:
    """``(macd, signal, hist)`` as ``talib.MACD``. Fast/slow ``>= 2``, signal ``>= 1``; a fast period
    larger than the slow one is swapped, as TA-Lib does. Lookback ``slow - 1 + signal - 1``."""

def bbands(
    real: _F64Array, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0
) -> tuple[_F64Array, _F64Array, _F64Array]:
    """Bollinger bands ``(upper, middle, lower)`` as ``talib.BBANDS`` (default period 20, as TA-Lib 0.8).
    Only ``matype=0`` (SMA); any other value raises InvalidInputError."""

def atr(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Average true range (``talib.ATR``): Wilder-smoothed true range seeded by the mean of the first
    ``timeperiod`` true ranges; lookback ``timeperiod``."""

def stddev(real: _F64Array, timeperiod: int = 5, nbdev: float = 1.0) -> _F64Array:
    """Rolling population standard deviation times ``nbdev`` (``talib.STDDEV``); ``timeperiod >= 2``."""

def obv(real: _F64Array, volume: _F64Array) -> _F64Array:
    """On-balance volume (``talib.OBV``), seeded with the first volume."""

def zscore(real: _F64Array, timeperiod: int) -> _F64Array:
    """Rolling ``(x - SMA) / STDDEV`` (population) over ``timeperiod >= 2`` values. Zero deviation
    (flat window) gives 0.0, never inf/NaN."""

def vwap(high: _F64Array, low: _F64Array, close: _F64Array, volume: _F64Array, timeperiod: int = 0) -> _F64Array:
    """Volume-weighted typical price ``(h+l+c)/3``: cumulative from the first valid bar
    (``timeperiod=0``) or over the last ``timeperiod`` bars. Zero volume in the window gives NaN."""

# ---------------------------------------------------------------------------------------------
# Indicators: streaming classes
#
# ``update`` is O(1) (amortised for STDDEV/BBANDS/ZScore/VWAP/WMA, which rebuild their sums from
# the window now and then, exactly like the batch versions) and allocates nothing; its results
# equal the batch function's bit for bit. ``update(nan)`` before the first valid value returns
# NaN and changes nothing; after it, it raises NanInSeriesError and leaves the state untouched.
# ---------------------------------------------------------------------------------------------

class _Stream:
    @property
    def value(self) -> float:
        """The last output (NaN during the lookback)."""
    @property
    def count(self) -> int:
        """Valid values (bars) pushed so far."""
    @property
    def initialized(self) -> bool:
        """Whether the lookback is over."""
    def reset(self) -> None:
        """Back to the state right after construction."""

class _Stream3:
    @property
    def value(self) -> tuple[float, float, float]:
        """The last output (NaNs during the lookback)."""
    @property
    def count(self) -> int:
        """Valid values pushed so far."""
    @property
    def initialized(self) -> bool:
        """Whether the lookback is over."""
    def reset(self) -> None:
        """Back to the state right after construction."""

@final
class SMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class EMA(_Stream):
    """Streaming EMA. Usable from any thread (calls are serialised by the GIL). ``update`` is a
    ``METH_O`` fast path: its one argument is positional-only."""
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float, /) -> float: ...

@final
class WMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class RSI(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class STDDEV(_Stream):
    def __new__(cls, timeperiod: int = 5, nbdev: float = 1.0) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ZScore(_Stream):
    def __new__(cls, timeperiod: int) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MACD(_Stream3):
    def __new__(cls, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9) -> Self: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """``(macd, signal, hist)``."""

@final
class BBANDS(_Stream3):
    def __new__(cls, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0) -> Self: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """``(upper, middle, lower)``."""

@final
class ATR(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class OBV(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, real: float, volume: float) -> float: ...

@final
class VWAP(_Stream):
    def __new__(cls, timeperiod: int = 0) -> Self: ...
    def update(self, high: float, low: float, close: float, volume: float) -> float: ...

# --- overlap, volatility, volume, statistics (issue 15) ---
# Batch functions follow TA-Lib's names, argument order and defaults; all are bit-identical to
# TA-Lib 0.8 (the 0.8.2 wheel) except ``donchian``/``keltner`` (not in TA-Lib). NaN policy and
# errors as for ``sma``.

def sar(high: _F64Array, low: _F64Array, acceleration: float = 0.02, maximum: float = 0.2) -> _F64Array:
    """Parabolic SAR (``talib.SAR``) with TA-Lib's start rules (direction from the first bar's
    -DM); lookback 1. ``acceleration``/``maximum`` finite and >= 0; an acceleration above the
    maximum is lowered to it, as TA-Lib does."""

def dema(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Double EMA ``2·EMA - EMA(EMA)`` (``talib.DEMA``); lookback ``2·(timeperiod-1)``."""

def tema(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Triple EMA (``talib.TEMA``); lookback ``3·(timeperiod-1)``."""

def trima(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Triangular moving average, an SMA of an SMA (``talib.TRIMA``); lookback ``timeperiod-1``."""

def kama(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Kaufman adaptive moving average, fast 2 / slow 30 (``talib.KAMA``); lookback ``timeperiod``
    (0 for ``timeperiod=1``, which copies the input)."""

def t3(real: _F64Array, timeperiod: int = 5, vfactor: float = 0.7) -> _F64Array:
    """Tillson's T3, six chained EMAs (``talib.T3``); lookback ``6·(timeperiod-1)``;
    ``0 <= vfactor <= 1``."""

def ma(real: _F64Array, timeperiod: int = 30, matype: int = 0) -> _F64Array:
    """Moving average of TA-Lib type ``matype`` (``talib.MA``): 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA,
    5 TRIMA, 6 KAMA, 8 T3 (vfactor 0.7); 7 (MAMA) raises ``InvalidInputError``. ``timeperiod=1``
    copies the input."""

def trange(high: _F64Array, low: _F64Array, close: _F64Array) -> _F64Array:
    """True range (``talib.TRANGE``); lookback 1."""

def natr(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Normalized ATR, ``ATR / close · 100`` (``talib.NATR``); lookback ``timeperiod``. As in
    TA-Lib, ``timeperiod=1`` returns the true range itself, not normalized."""

def ad(high: _F64Array, low: _F64Array, close: _F64Array, volume: _F64Array) -> _F64Array:
    """Chaikin accumulation/distribution line (``talib.AD``); no lookback."""

def adosc(
    high: _F64Array, low: _F64Array, close: _F64Array, volume: _F64Array, fastperiod: int = 3, slowperiod: int = 10
) -> _F64Array:
    """Chaikin A/D oscillator, ``EMA(AD, fast) - EMA(AD, slow)`` seeded with the first AD value
    (``talib.ADOSC``); periods >= 2; lookback ``max(fastperiod, slowperiod) - 1``."""

def midpoint(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """``(highest + lowest) / 2`` over ``timeperiod >= 2`` values (``talib.MIDPOINT``)."""

def midprice(high: _F64Array, low: _F64Array, timeperiod: int = 14) -> _F64Array:
    """``(highest high + lowest low) / 2`` over ``timeperiod >= 2`` bars (``talib.MIDPRICE``)."""

def linearreg(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Least-squares line over ``timeperiod >= 2`` values, its value at the newest point
    (``talib.LINEARREG``)."""

def linearreg_slope(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Slope of the least-squares line (``talib.LINEARREG_SLOPE``)."""

def linearreg_intercept(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Intercept of the least-squares line at the oldest point (``talib.LINEARREG_INTERCEPT``)."""

def linearreg_angle(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Angle of the slope in degrees (``talib.LINEARREG_ANGLE``)."""

def tsf(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Time series forecast, the least-squares line one step ahead (``talib.TSF``)."""

def var(real: _F64Array, timeperiod: int = 5, nbdev: float = 1.0) -> _F64Array:
    """Rolling population variance (``talib.VAR``); ``nbdev`` must be finite and, as in TA-Lib,
    does not scale the result."""

def sum(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Rolling sum over ``timeperiod >= 2`` values (``talib.SUM``)."""

def max(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Rolling highest value over ``timeperiod >= 2`` values (``talib.MAX``)."""

def min(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """Rolling lowest value over ``timeperiod >= 2`` values (``talib.MIN``)."""

def medprice(high: _F64Array, low: _F64Array) -> _F64Array:
    """``(high + low) / 2`` (``talib.MEDPRICE``)."""

def typprice(high: _F64Array, low: _F64Array, close: _F64Array) -> _F64Array:
    """``(high + low + close) / 3`` (``talib.TYPPRICE``)."""

def wclprice(high: _F64Array, low: _F64Array, close: _F64Array) -> _F64Array:
    """``(high + low + 2·close) / 4`` (``talib.WCLPRICE``)."""

def avgprice(open: _F64Array, high: _F64Array, low: _F64Array, close: _F64Array) -> _F64Array:
    """``(open + high + low + close) / 4`` (``talib.AVGPRICE``)."""

def donchian(high: _F64Array, low: _F64Array, timeperiod: int = 20) -> tuple[_F64Array, _F64Array, _F64Array]:
    """Donchian channel ``(upper, middle, lower)`` (Richard Donchian): highest high and lowest low
    of the last ``timeperiod`` bars and their mean; lookback ``timeperiod - 1``."""

def keltner(
    high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 20, atrperiod: int = 10, multiplier: float = 2.0
) -> tuple[_F64Array, _F64Array, _F64Array]:
    """Keltner channel ``(upper, middle, lower)`` as StockCharts defines it: ``EMA(close,
    timeperiod)`` ± ``multiplier · ATR(atrperiod)``; lookback ``max(timeperiod - 1, atrperiod)``."""

@final
class SAR(_Stream):
    def __new__(cls, acceleration: float = 0.02, maximum: float = 0.2) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class DEMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class TEMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class TRIMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class KAMA(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class T3(_Stream):
    def __new__(cls, timeperiod: int = 5, vfactor: float = 0.7) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MA(_Stream):
    def __new__(cls, timeperiod: int = 30, matype: int = 0) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class TRANGE(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class NATR(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class AD(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, high: float, low: float, close: float, volume: float) -> float: ...

@final
class ADOSC(_Stream):
    def __new__(cls, fastperiod: int = 3, slowperiod: int = 10) -> Self: ...
    def update(self, high: float, low: float, close: float, volume: float) -> float: ...

@final
class MIDPOINT(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MIDPRICE(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class LINEARREG(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class LINEARREG_SLOPE(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class LINEARREG_INTERCEPT(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class LINEARREG_ANGLE(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class TSF(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class VAR(_Stream):
    def __new__(cls, timeperiod: int = 5, nbdev: float = 1.0) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class SUM(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MAX(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MIN(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class MEDPRICE(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class TYPPRICE(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class WCLPRICE(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class AVGPRICE(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, open: float, high: float, low: float, close: float) -> float: ...

@final
class DONCHIAN(_Stream3):
    def __new__(cls, timeperiod: int = 20) -> Self: ...
    def update(self, high: float, low: float) -> tuple[float, float, float]:
        """``(upper, middle, lower)``."""

@final
class KELTNER(_Stream3):
    def __new__(cls, timeperiod: int = 20, atrperiod: int = 10, multiplier: float = 2.0) -> Self: ...
    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        """``(upper, middle, lower)``."""

# --- end overlap, volatility, volume, statistics (issue 15) ---

# --- momentum (issue 15) ---
# Batch functions and streaming classes as above (same input, NaN and error rules), all
# bit-identical to TA-Lib 0.8. ``*_matype``: TA-Lib's MA types as ``ma()`` takes them (0 SMA,
# 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 8 T3); 7 (MAMA) raises InvalidInputError
# naming the parameter. Periods ``>= 1`` unless noted.

__all__ += [
    "stoch",
    "stochf",
    "stochrsi",
    "plus_dm",
    "minus_dm",
    "plus_di",
    "minus_di",
    "dx",
    "adx",
    "adxr",
    "willr",
    "cci",
    "mfi",
    "aroon",
    "aroonosc",
    "mom",
    "roc",
    "rocp",
    "rocr",
    "rocr100",
    "cmo",
    "trix",
    "bop",
    "apo",
    "ppo",
    "ultosc",
    "STOCH",
    "STOCHF",
    "STOCHRSI",
    "PLUS_DM",
    "MINUS_DM",
    "PLUS_DI",
    "MINUS_DI",
    "DX",
    "ADX",
    "ADXR",
    "WILLR",
    "CCI",
    "MFI",
    "AROON",
    "AROONOSC",
    "MOM",
    "ROC",
    "ROCP",
    "ROCR",
    "ROCR100",
    "CMO",
    "TRIX",
    "BOP",
    "APO",
    "PPO",
    "ULTOSC",
]

def stoch(
    high: _F64Array,
    low: _F64Array,
    close: _F64Array,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
) -> tuple[_F64Array, _F64Array]:
    """Slow stochastic ``(slowk, slowd)`` as ``talib.STOCH``: raw %K over ``fastk_period`` bars
    smoothed into slow %K, then slow %D. Lookback ``fastk-1 + slowk-1 + slowd-1``."""

def stochf(
    high: _F64Array, low: _F64Array, close: _F64Array, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0
) -> tuple[_F64Array, _F64Array]:
    """Fast stochastic ``(fastk, fastd)`` as ``talib.STOCHF``. Lookback ``fastk-1 + fastd-1``."""

def stochrsi(
    real: _F64Array, timeperiod: int = 14, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0
) -> tuple[_F64Array, _F64Array]:
    """Stochastic RSI ``(fastk, fastd)`` as ``talib.STOCHRSI`` (STOCHF over TA-Lib's sequential RSI);
    ``timeperiod >= 2``. Lookback ``timeperiod + fastk-1 + fastd-1``."""

def plus_dm(high: _F64Array, low: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Wilder-smoothed +DM (``talib.PLUS_DM``). Lookback ``timeperiod - 1`` (1 for period 1)."""

def minus_dm(high: _F64Array, low: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Wilder-smoothed -DM (``talib.MINUS_DM``). Lookback ``timeperiod - 1`` (1 for period 1)."""

def plus_di(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """+DI (``talib.PLUS_DI``): ``100 * +DM / TR``, 0 where TR is zero; lookback ``timeperiod``.
    Period 1 is TA-Lib's unsmoothed ratio ``+DM1 / TR1`` (not times 100)."""

def minus_di(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """-DI (``talib.MINUS_DI``), as ``plus_di`` for the minus direction."""

def dx(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Directional movement index (``talib.DX``); ``timeperiod >= 2``, lookback ``timeperiod``."""

def adx(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Average directional movement index (``talib.ADX``); ``timeperiod >= 2``, lookback
    ``2 * timeperiod - 1``."""

def adxr(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """ADX rating ``(adx[i] + adx[i - timeperiod + 1]) / 2`` (``talib.ADXR``); ``timeperiod >= 2``,
    lookback ``3 * timeperiod - 2``."""

class _Stream2:
    @property
    def value(self) -> tuple[float, float]:
        """The last output (NaNs during the lookback)."""
    @property
    def count(self) -> int:
        """Valid values (bars) pushed so far."""
    @property
    def initialized(self) -> bool:
        """Whether the lookback is over."""
    def reset(self) -> None:
        """Back to the state right after construction."""

@final
class STOCH(_Stream2):
    def __new__(
        cls, fastk_period: int = 5, slowk_period: int = 3, slowk_matype: int = 0, slowd_period: int = 3, slowd_matype: int = 0
    ) -> Self: ...
    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        """``(slowk, slowd)``."""

@final
class STOCHF(_Stream2):
    def __new__(cls, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0) -> Self: ...
    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        """``(fastk, fastd)``."""

@final
class STOCHRSI(_Stream2):
    def __new__(cls, timeperiod: int = 14, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0) -> Self: ...
    def update(self, x: float) -> tuple[float, float]:
        """``(fastk, fastd)``."""

@final
class PLUS_DM(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class MINUS_DM(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class PLUS_DI(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class MINUS_DI(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class DX(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class ADX(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class ADXR(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

def willr(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Williams' %R (``talib.WILLR``) in ``[-100, 0]``, 0 over a flat window; ``timeperiod >= 2``,
    lookback ``timeperiod - 1``."""

def cci(high: _F64Array, low: _F64Array, close: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Commodity channel index (``talib.CCI``) of the typical price; ``timeperiod >= 2``, lookback
    ``timeperiod - 1``. The streaming ``CCI.update`` is O(timeperiod) (a mean-deviation pass)."""

def mfi(high: _F64Array, low: _F64Array, close: _F64Array, volume: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Money flow index (``talib.MFI``) in ``[0, 100]``; ``timeperiod >= 2``, lookback ``timeperiod``.
    After ``timeperiod`` bars in a row without money flow the sums restart from 0, as TA-Lib's."""

def aroon(high: _F64Array, low: _F64Array, timeperiod: int = 14) -> tuple[_F64Array, _F64Array]:
    """``(aroondown, aroonup)`` as ``talib.AROON`` (of equal extremes the newest counts);
    ``timeperiod >= 2``, lookback ``timeperiod``."""

def aroonosc(high: _F64Array, low: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Aroon oscillator ``aroonup - aroondown`` (``talib.AROONOSC``); ``timeperiod >= 2``, lookback
    ``timeperiod``."""

def mom(real: _F64Array, timeperiod: int = 10) -> _F64Array:
    """Momentum ``real - real[i - timeperiod]`` (``talib.MOM``); lookback ``timeperiod``."""

def roc(real: _F64Array, timeperiod: int = 10) -> _F64Array:
    """Rate of change ``(real / prev - 1) * 100`` (``talib.ROC``), 0 where ``prev == 0``."""

def rocp(real: _F64Array, timeperiod: int = 10) -> _F64Array:
    """Rate of change ``(real - prev) / prev`` (``talib.ROCP``), 0 where ``prev == 0``."""

def rocr(real: _F64Array, timeperiod: int = 10) -> _F64Array:
    """Rate of change ratio ``real / prev`` (``talib.ROCR``), 0 where ``prev == 0``."""

def rocr100(real: _F64Array, timeperiod: int = 10) -> _F64Array:
    """Rate of change ratio ``real / prev * 100`` (``talib.ROCR100``), 0 where ``prev == 0``."""

def cmo(real: _F64Array, timeperiod: int = 14) -> _F64Array:
    """Chande momentum oscillator (``talib.CMO``); ``timeperiod >= 2``, lookback ``timeperiod``."""

def trix(real: _F64Array, timeperiod: int = 30) -> _F64Array:
    """One-bar rate of change (percent) of a triple EMA (``talib.TRIX``); lookback
    ``3 * (timeperiod - 1) + 1``."""

def bop(open: _F64Array, high: _F64Array, low: _F64Array, close: _F64Array) -> _F64Array:
    """Balance of power ``(close - open) / (high - low)``, 0 for a bar without range (``talib.BOP``)."""

def apo(real: _F64Array, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> _F64Array:
    """Absolute price oscillator ``MA(fast) - MA(slow)`` (``talib.APO``; default ``matype=1``, EMA,
    as in TA-Lib 0.8). Periods ``>= 2``, a fast period above the slow one is swapped; lookback
    ``slow - 1``."""

def ppo(real: _F64Array, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> _F64Array:
    """Percentage price oscillator ``(MA(fast) - MA(slow)) / MA(slow) * 100`` (``talib.PPO``), 0 where
    the slow MA is within 1e-14 of 0; otherwise as ``apo``."""

def ultosc(
    high: _F64Array, low: _F64Array, close: _F64Array, timeperiod1: int = 7, timeperiod2: int = 14, timeperiod3: int = 28
) -> _F64Array:
    """Ultimate oscillator (``talib.ULTOSC``); periods ``>= 1`` in any order (the shortest weighs 4,
    the middle 2, the longest 1); lookback the longest period."""

@final
class WILLR(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class CCI(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

@final
class MFI(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float, volume: float) -> float: ...

@final
class AROON(_Stream2):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float) -> tuple[float, float]:
        """``(aroondown, aroonup)``."""

@final
class AROONOSC(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, high: float, low: float) -> float: ...

@final
class MOM(_Stream):
    def __new__(cls, timeperiod: int = 10) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ROC(_Stream):
    def __new__(cls, timeperiod: int = 10) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ROCP(_Stream):
    def __new__(cls, timeperiod: int = 10) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ROCR(_Stream):
    def __new__(cls, timeperiod: int = 10) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ROCR100(_Stream):
    def __new__(cls, timeperiod: int = 10) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class CMO(_Stream):
    def __new__(cls, timeperiod: int = 14) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class TRIX(_Stream):
    def __new__(cls, timeperiod: int = 30) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class BOP(_Stream):
    def __new__(cls) -> Self: ...
    def update(self, open: float, high: float, low: float, close: float) -> float: ...

@final
class APO(_Stream):
    def __new__(cls, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class PPO(_Stream):
    def __new__(cls, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> Self: ...
    def update(self, x: float) -> float: ...

@final
class ULTOSC(_Stream):
    def __new__(cls, timeperiod1: int = 7, timeperiod2: int = 14, timeperiod3: int = 28) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...

# --- end momentum (issue 15) ---

# ---------------------------------------------------------------------------------------------
# SIMD kernels: multi-lane indicators, rolling statistics, reductions, decision kernel
# ---------------------------------------------------------------------------------------------

_I64Array = npt.NDArray[np.int64]
_I8Array = npt.NDArray[np.int8]

def ema_multi(real: _F64Array, periods: Sequence[int] | _I64Array) -> _F64Array:
    """EMA for several periods in one pass over ``real``.

    Returns a C-contiguous ``(len(periods), len(real))`` array whose row ``j`` is bit-identical to
    ``ema(real, periods[j])`` (and so to ``talib.EMA``): TA-Lib seeding, NaN for the lookback,
    leading NaNs skipped. Periods are computed 4 (AVX2) or 8 (AVX-512) per register, two registers
    interleaved. Raises ``InvalidInputError`` for an empty list or a period < 1,
    ``NanInSeriesError`` for a NaN after the first valid value. GIL released.
    """

def sma_multi(real: _F64Array, periods: Sequence[int] | _I64Array) -> _F64Array:
    """SMA for several periods in one pass; row ``j`` is bit-identical to ``sma(real, periods[j])``."""

def rsi_multi(real: _F64Array, periods: Sequence[int] | _I64Array) -> _F64Array:
    """RSI for several periods in one pass; row ``j`` is ``talib.RSI(real, periods[j])`` bit for bit
    (TA-Lib's sequential recurrence per lane), so within 1e-9 of ``rsi(real, periods[j])``."""

def rolling_sum(real: _F64Array, window: int) -> _F64Array:
    """Rolling sum over ``window`` values; NaN for the first ``window - 1`` (after leading NaNs).

    Computed in chunks re-seeded with an exact window sum (the same chunks on every backend, so the
    result is bit-identical across backends); ~1e-12 relative to an exact recomputation.
    """

def rolling_mean(real: _F64Array, window: int) -> _F64Array:
    """Rolling mean over ``window`` values (``rolling_sum / window``)."""

def rolling_std(real: _F64Array, window: int, ddof: int = 0) -> _F64Array:
    """Rolling standard deviation over ``window`` values, divisor ``window - ddof`` (0: population).

    Sliding mean/M2 (Welford) updates re-seeded every chunk by a two-pass window computation.
    """

def reduce_sum(real: _F64Array) -> float:
    """Sum of the valid values (0.0 if none); 32 accumulators, pairwise-combined (``trader.kernels.sum``)."""

def reduce_mean(real: _F64Array) -> float:
    """Mean of the valid values (``trader.kernels.mean``); ``InvalidInputError`` if there are none."""

def reduce_std(real: _F64Array, ddof: int = 0) -> float:
    """Two-pass standard deviation, divisor ``count - ddof`` (``trader.kernels.std``)."""

def reduce_corr(x: _F64Array, y: _F64Array) -> float:
    """Pearson correlation over the pairs after both series' leading NaNs; NaN if a side is constant.

    ``LengthMismatchError`` if the lengths differ (``trader.kernels.corr``).
    """

@final
class DecisionKernel:
    """Weighted fusion of N signal confidences into ``(action, score, size)``.

    ``score = Σ w_i·s'_i / Σ|w_i|`` where ``s'_i`` is the signal clamped to [-1, 1], 0 if NaN or if
    ``|s_i| < thresholds[i]``; weights are signed. ``action`` is +1 if ``score > neutral_band``,
    -1 if ``score < -neutral_band``, else 0; ``size = clamp((|score| - band) / (1 - band), 0, 1)``
    when not flat, else 0. Raises ``InvalidInputError`` naming the argument for empty or
    non-finite weights, ``Σ|w| = 0``, thresholds outside [0, 1], a band outside [0, 1), and
    ``LengthMismatchError`` when thresholds and weights differ in length.
    """

    def __new__(cls, weights: Sequence[float] | _F64Array, thresholds: Sequence[float] | _F64Array, neutral_band: float) -> Self: ...
    def decide(self, signals: _F64Array) -> tuple[int, float, float]:
        """One decision for a 1-D float64 array of ``n_signals`` values; no allocation, GIL held."""
    def decide_batch(self, signals: _F64Array) -> tuple[_I8Array, _F64Array, _F64Array]:
        """Decisions for a ``(n_bars, n_signals)`` float64 array; row ``i`` equals ``decide(signals[i])`` bit for bit."""
    @property
    def n_signals(self) -> int: ...
    @property
    def neutral_band(self) -> float: ...
    @property
    def backend(self) -> str:
        """The SIMD backend the kernel runs on."""

# ---------------------------------------------------------------------------------------------
# Ring buffer and object pool
# ---------------------------------------------------------------------------------------------

@final
class EventRing:
    """A bounded single-producer single-consumer ring of fixed-layout market events.

    The ring lives in Rust (``core-rs/src/ring.rs``); events are 72-byte ``#[repr(C)]`` records
    (kind, side, flags, instrument id, ``ts_event``/``ts_init`` in ns, price, size, bid, ask,
    bid_size, ask_size) and never become Python objects unless you ``pop()`` one.

    This Python object holds **both** ends, so it is the in-process bridge (tests, replay, a
    Python adapter feeding the engine). The live engine pushes from an adapter thread in Rust
    through the producer handle and consumes on the engine thread; it does not go through here.

    The capacity is rounded up to a power of two; ``capacity < 1`` raises ``CapacityError``.

    Full behaviour:

    * ``overwrite=False`` (default, for trades and anything that must not be lost): a push into a
      full ring stores nothing and returns ``False``; the caller decides (retry, drop, alarm).
    * ``overwrite=True`` (for quotes, where only the latest matters): a push never fails; when the
      ring is full the **oldest** unread event is evicted and counted in ``dropped``. Order is
      preserved, each event is delivered at most once, and
      ``delivered + dropped + len(ring) == pushed``.
    """

    def __new__(cls, capacity: int, overwrite: bool = False) -> Self: ...
    def push_trade(
        self,
        ts: int,
        instrument_id: int,
        price: float,
        size: float,
        side: int = 0,
        ts_init: int | None = None,
    ) -> bool:
        """Push a trade. ``side``: 0 no aggressor, 1 buyer, 2 seller. ``ts``/``ts_init`` are ns
        since the epoch (``ts_init`` defaults to ``ts``). Returns ``False`` if the ring is full in
        normal mode (nothing stored); always ``True`` in overwrite mode.

        Bad input (negative ``ts``, ``instrument_id`` outside 0..2**32-1, a non-finite price or size,
        an unknown side) raises ``InvalidInputError`` naming the argument.
        """

    def push_quote(
        self,
        ts: int,
        instrument_id: int,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
        ts_init: int | None = None,
    ) -> bool:
        """Push a top-of-book quote; same full behaviour and validation as ``push_trade``."""

    def pop(self) -> dict[str, int | float | str] | None:
        """Remove the oldest event and return it as a small dict, or ``None`` if the ring is empty.

        Keys: ``kind`` (``"trade"``, ``"quote"``, ``"bar"``, ``"book_delta"``), ``instrument_id``,
        ``ts_event``, ``ts_init``, then ``price``, ``size``, ``side`` for trades or ``bid``, ``ask``,
        ``bid_size``, ``ask_size`` for quotes.
        """

    def pop_batch(self, max: int | None = None) -> dict[str, npt.NDArray[np.generic]]:
        """Remove up to ``max`` events (default: ``capacity``) and return them as columns.

        One numpy array per field, all of the same length (0 if empty), built in Rust with the
        GIL released: ``kind`` (uint8: 0 trade, 1 quote, 2 bar, 3 book delta), ``side`` (uint8),
        ``flags`` (uint16), ``instrument_id`` (uint32), ``ts_event``/``ts_init`` (uint64), and
        ``price``, ``size``, ``bid``, ``ask``, ``bid_size``, ``ask_size`` (float64; 0.0 where the
        kind does not use the field). No Python object is created per event.
        """

    def __len__(self) -> int:
        """Events currently in the ring."""

    @property
    def capacity(self) -> int:
        """The capacity (a power of two)."""

    @property
    def overwrite(self) -> bool:
        """Whether the ring evicts the oldest event when full."""

    @property
    def dropped(self) -> int:
        """Events evicted so far (always 0 in normal mode)."""

@final
class ObjectPool:
    """A pre-sized pool of event slots with O(1) acquire/release (``core-rs/src/pool.rs``).

    Mainly here to expose the pool statistics the engine keeps for its hot-path pools.
    Handles are opaque ints (pool id, slot, generation).

    * Exhaustion: ``acquire()`` returns ``None`` and counts a failed acquire, unless
      ``max_capacity`` > ``capacity``, in which case the pool doubles (up to ``max_capacity``).
    * Releasing twice, a stale handle or another pool's handle raises ``InvalidInputError``.
    """

    def __new__(cls, capacity: int, max_capacity: int | None = None) -> Self: ...
    def acquire(self) -> int | None:
        """Take a free slot; its handle, or ``None`` when exhausted."""

    def release(self, handle: int) -> None:
        """Give a slot back. ``InvalidInputError`` on double release or a foreign handle."""

    def __contains__(self, handle: int, /) -> bool:
        """Whether ``handle`` is live in this pool."""

    def stats(self) -> dict[str, int]:
        """``capacity``, ``in_use``, ``available``, ``high_water``, ``acquires``, ``releases``,
        ``failed_acquires``, ``grows`` (all counters since construction)."""

    def __len__(self) -> int:
        """Slots currently acquired."""

    @property
    def capacity(self) -> int:
        """Slots in the pool (grows only with a growth policy)."""

# ---------------------------------------------------------------------------------------------
# Backtest engine (wired by trader.kernel; strategies see Bar, OrderEvent and, through
# trader.Strategy, the Context)
# ---------------------------------------------------------------------------------------------

@final
class Bar:
    """One bar as a strategy sees it in ``on_bar``.

    The engine reuses one ``Bar`` per instrument and updates it in place for every bar (no
    Python object per bar): read it inside the callback, or keep ``bar.copy()``.
    """

    @property
    def ts(self) -> int:
        """Open time (UTC epoch ns), as in the data."""
    @property
    def ts_close(self) -> int:
        """Close time (``ts`` + the bar interval): the engine's clock while ``on_bar`` runs, so
        orders sent there, their events and the latency count from the close."""
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def instrument(self) -> int: ...
    def __new__(
        cls, ts: int, open: float, high: float, low: float, close: float, volume: float, instrument: int = 0,
        ts_close: int | None = None,
    ) -> Self: ...
    def copy(self) -> Bar: ...

@final
class OrderEvent:
    """An order event: ``kind`` is accepted, rejected, filled, canceled or cancel_rejected.

    Rejections carry ``reason``; fills carry ``instrument``, ``side`` ("BUY"/"SELL"), ``price``,
    ``qty``, ``fee`` and ``liquidity`` ("maker"/"taker").
    """

    @property
    def kind(self) -> str: ...
    @property
    def order_id(self) -> int: ...
    @property
    def ts(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def code(self) -> str | None:
        """The reason's stable code: the risk engine's ("max_position", "state_halted", ...), the
        account's ("insufficient_balance", "insufficient_holdings", "insufficient_margin") or the
        venue's ("post_only_would_take", "requested", ...); None without a reason."""
    @property
    def detail(self) -> str | None:
        """A denial's numbers, one sentence ("buy 1.000000 BTCUSDT at 86000.00 costs 86064.50 with
        fees; free balance 10000.00 (cash 10000.00)"); None for other events."""
    @property
    def instrument(self) -> int | None: ...
    @property
    def side(self) -> str | None: ...
    @property
    def price(self) -> float | None: ...
    @property
    def qty(self) -> float | None: ...
    @property
    def fee(self) -> float | None: ...
    @property
    def liquidity(self) -> str | None: ...

@final
class Context:
    """The strategy's handle on a running engine: order entry and an account snapshot.

    Commands are queued and reach the venue right after the callback returns, in order.
    """

    def __new__(
        cls, symbols: list[str], price_precision: list[int], size_precision: list[int], off_tick: str = "round",
        off_lot: str = "round",
    ) -> Self:
        """``off_tick`` / ``off_lot``: "round" (a price between two ticks rounds toward the order's
        conservative side: a buy limit down, a sell limit up, a stop so that it triggers no
        earlier; a quantity between two lots rounds down; both counted in :meth:`grid_report`) or
        "reject" (an error naming the value)."""
    def grid_report(self) -> dict[str, Any]:
        """What the grid rounded: ``prices_rounded``, ``qtys_rounded``, ``first_price`` and
        ``first_qty`` as ``(asked, became)`` or None."""
    def submit(self, side: int, qty: float, instrument: int = 0, price: float | None = None) -> int:
        """Queue an order (+1 buy, -1 sell; a price makes it a limit order); returns its id."""
    def submit_order(self, request: Any) -> int:
        """Queue a ``trader.orders.OrderRequest``; returns its client order id."""
    def bracket(
        self,
        side: int,
        qty: float,
        instrument: int = 0,
        entry_price: float | None = None,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        stop_limit: float | None = None,
        trailing_offset: float | None = None,
        offset_type: str = "price",
        time_in_force: str = "GTC",
    ) -> list[int]:
        """Queue an entry with reduce-only exits (bracket, or OTO with one exit); returns the ids."""
    def submit_list(self, kind: str, requests: list[Any]) -> list[int]:
        """Queue a contingent list ("oco", "oto" parent first, "bracket" entry/tp/sl); returns the ids."""
    def modify(self, order_id: int, qty: float | None = None, price: float | None = None, trigger: float | None = None) -> None:
        """Queue a change of a working order's quantity, limit price or trigger."""
    def cancel(self, order_id: int) -> None: ...
    def cancel_all(self, instrument: int | None = None) -> None: ...
    def position(self, instrument: int = 0) -> float:
        """Signed position in units (long > 0)."""
    @property
    def cash(self) -> float: ...
    @property
    def equity(self) -> float:
        """Cash plus positions at the latest closes."""
    @property
    def ts(self) -> int:
        """Time of the current event, UTC epoch nanoseconds."""
    def lot(self, instrument: int = 0) -> float:
        """The instrument's quantity step in units."""
    def qty_for_fraction(self, fraction: float, price: float, instrument: int = 0) -> float:
        """Quantity worth ``fraction`` of equity at ``price``, rounded down to the lot."""
    @property
    def trading_state(self) -> str:
        """The risk engine's trading state when the callback started ("active", "reducing",
        "paused", "halted", "emergency")."""
    def set_trading_state(self, state: str, reason: str = "") -> None:
        """Queue a manual trading-state command (the engine's state is the most severe of it and
        the risk layers' wishes); applied in order with the queued orders."""
    def set_confidence(self, value: float, instrument: int | None = None) -> None:
        """Feed a composite confidence in [0, 1] to the risk layers (one instrument, or all)."""

@final
class Backtest:
    """The backtest engine: one simulated venue, one cash account, bars in batches.

    Prices and quantities are exact fixed point at each instrument's precision; market orders fill
    at the next bar's open (``fill_at="next_open"``) or this bar's close (``"close"``), moved
    against the trader by ``slippage_bps``; limit orders fill at the limit or better on a gap;
    fees are ``fee_bps`` x notional, rounded up. :func:`configure_account` switches to a margin
    account, fee tiers or another slippage model; :func:`account_state` reads the account back.
    ``fills()`` has a ``liquidation`` column (forced closes, order id 0).
    """

    def __new__(
        cls,
        symbols: list[str],
        price_precision: list[int],
        size_precision: list[int],
        cash: float = 10_000.0,
        fee_bps: float = 0.0,
        slippage_bps: float = 0.0,
        fill_at: str = "next_open",
    ) -> Self: ...
    def run(
        self,
        on_bar: object,
        on_event: object | None,
        context: Context,
        ts: npt.NDArray[np.int64],
        open: _F64Array,
        high: _F64Array,
        low: _F64Array,
        close: _F64Array,
        volume: _F64Array,
        instrument: npt.NDArray[np.uint32] | None = None,
        indicators: list[tuple[int, str, object]] = ...,
        on_state: object | None = None,
    ) -> None:
        """Run one batch of bars through a Python strategy (``StrategyError`` if it raises).

        ``on_state(change: dict)`` gets each change of the risk engine's trading state."""
    def run_vectorized(
        self,
        ts: npt.NDArray[np.int64],
        open: _F64Array,
        high: _F64Array,
        low: _F64Array,
        close: _F64Array,
        volume: _F64Array,
        instrument: npt.NDArray[np.uint32] | None = None,
        *,
        signal: npt.NDArray[np.int8] | None = None,
        target: _F64Array | None = None,
        qty: float = 0.0,
        size: float = 1.0,
        allow_short: bool = False,
    ) -> None:
        """Run one batch from decision arrays, in Rust with the GIL released."""
    def set_bar_intervals(self, intervals: list[int]) -> None:
        """Each instrument's bar interval in ns (0: unknown), before the run: while ``on_bar``
        runs the clock is the bar's close time, so orders, their events and latency count from it."""
    def finish(self) -> None:
        """End the run: last equity point; the risk engine's time in state closes and its audit
        log is sealed."""
    def configure_risk(self, cfg: dict[str, Any]) -> None:
        """Configure the risk engine before the run from the ``trader.risk`` config dict:
        ``bypass``, ``initial_state``, ``limits``, ``layers`` (built-in kinds and
        ``{"kind": "python", "name", "layer": obj}``), optional ``audit_key`` (bytes/str: the audit
        chain is HMAC-SHA256 keyed by it). ``InvalidInputError`` names the bad key. A Python
        layer that raises in ``check`` vetoes the order (``layer_veto``); its message is in the
        report's ``layer_messages``."""
    def risk_report(self) -> dict[str, Any]:
        """``{"denials": {code: n}, "examples": {code: sentence}, "vetoes_by_layer": {name: n},
        "resized": n, "changes": [{ts, from, to, source, reason}], "time_in_state": {state:
        seconds}, "state": name, "layer_messages": [str]}``. ``denials`` counts the risk engine's
        and the account's refusals by reason code; ``examples`` holds the first denial's sentence
        of each code, with its numbers (``"insufficient_balance": "buy 1.000000 BTCUSDT at
        86000.00 costs 86064.50 with fees; free balance 10000.00 (cash 10000.00)"``). A change's
        ``reason`` is the layer's own explanation when a layer asked for it ("drawdown 12.3 % ≥
        soft limit 10 % (high-water mark 11200.00, equity 9822.40)")."""
    def audit_entries(self) -> list[dict[str, Any]]:
        """The hash-chained audit log: dicts of seq, ts, kind, from, to, source, reason,
        prev_hash, hash, and for denials and resizes ``code`` and ``orders``. Kinds: "state" (a
        change of trading state), "denial" (a refused command: ``orders`` its order ids, ``code``
        its reason code, ``source`` "risk", a layer's name or "account", ``reason`` the sentence
        with the numbers, ``from`` = ``to`` the trading state), "resize" (a layer changed an
        order's quantity: ``from``/``to`` the quantities, ``source`` the layer), "bypass", "seal".
        A streak of consecutive denials with one ``code``, ``source`` and state keeps its first
        1000 as entries of their own; the rest folds into entries of at most 4096 denials each: ``count`` the number of denials, ``orders`` every order id of
        each, ``ts``/``reason`` the first one's time and sentence, ``last_ts``/``last_reason`` the
        last one's (the three keys are absent for a single denial, which reads as it always did).
        Any other entry closes the run; before the end of the run the open one is the last dict,
        as it stands. Check with :func:`verify_audit`."""
    @property
    def trading_state(self) -> str:
        """The risk engine's trading state."""
    def set_trading_state(self, state: str, reason: str = "") -> None:
        """A manual trading-state command from outside the strategy (EMERGENCY acts at once)."""
    def fills(self) -> dict[str, npt.NDArray[np.generic]]: ...
    def account_exact(self) -> dict[str, Any]:
        """The account as exact decimal strings: initial_cash, cash, fees, positions (list)."""
    def orders_columns(self) -> dict[str, Any]:
        """Every order of the run as columns: order_id, instrument, side, type, time_in_force,
        post_only, reduce_only, display_qty, qty, filled, leaves, avg_price, price, trigger, status,
        reason, contingency, list_id, parent_id, arrival_price, ts_init, ts_last."""
    def fill_arrivals(self) -> npt.NDArray[np.float64]:
        """Per fill, its order's arrival price (market price when sent; NaN if unknown)."""
    def fills_exact(self) -> list[tuple[int, int, int, str, str, str, int]]:
        """(ts, instrument, side, price, qty, fee, order_id) with exact decimal strings."""
    def equity_curve(self) -> tuple[npt.NDArray[np.int64], _F64Array, npt.NDArray[np.bool_]]: ...
    def take_equity_curve(self) -> tuple[npt.NDArray[np.int64], _F64Array, npt.NDArray[np.bool_]]: ...
    def trades(self) -> dict[str, npt.NDArray[np.generic]]: ...
    def positions(self) -> list[tuple[int, float, float, float, float]]:
        """(instrument, qty, avg_price, realized_pnl, unrealized_pnl) per instrument."""
    def open_orders(self) -> list[tuple[int, int, int, float, float | None]]: ...
    @property
    def cash(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def bars(self) -> int: ...
    @property
    def orders(self) -> int: ...

def configure_venue(
    backtest: Backtest,
    *,
    path: str = "proximity",
    volume_cap: float | None = None,
    latency: str = "none",
    submit_ms: float = 0.0,
    cancel_ms: float | None = None,
    modify_ms: float | None = None,
    sigma: float = 0.5,
    seed: int = 0,
) -> None:
    """Set the bar fill model and the latency of ``backtest`` before its run.

    ``path``: the intrabar path, "proximity" (the extreme nearer the open first), "ohlc" (high
    first) or "olhc" (low first). ``volume_cap``: at most this fraction of a bar's volume fills per
    bar (the rest keeps working). ``latency``: "none", "constant" (``submit_ms``, ``cancel_ms``,
    ``modify_ms``) or "lognormal" (those are medians; ``sigma`` of the log delay; ``seed``).
    """

def configure_account(
    backtest: Backtest,
    *,
    account: str = "cash",
    leverage: float = 1.0,
    maintenance_margin: float = 0.005,
    liquidation_fee: float = 0.0,
    funding_rate: float | None = None,
    funding: list[tuple[int, float]] | None = None,
    funding_interval_h: float = 8.0,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
    fee_tiers: list[tuple[float, float, float]] | None = None,
    fee_tier: int | None = None,
    slippage: str = "fixed",
    slippage_bps: float | None = None,
    spread_bps: float = 0.0,
    impact_k: float = 1.0,
    impact_max_bps: float = 500.0,
) -> None:
    """Set the account, fee and slippage models of ``backtest`` before its run.

    **Account** ``"cash"`` (spot, default) or ``"margin"`` (perpetuals, isolated margin per
    position; rates account-wide): IMR = 1/``leverage``, MMR = ``maintenance_margin`` (< IMR).
    Opening ``q`` at ``p`` posts ``ceil(IMR q p)``; closing releases it pro rata. Orders whose
    opening part needs more than the free margin (wallet − posted margin, plus what the closing
    part releases) are rejected ("insufficient margin"). Liquidation price, maintenance taken on
    the mark value: long ``LP = (C − M) / (q (1 − MMR))`` = ``E (1 − IMR) / (1 − MMR)`` rounded
    down to the tick, short ``LP = (C + M) / (q (1 + MMR))`` = ``E (1 + IMR) / (1 + MMR)``
    rounded up (``C`` cost basis, ``M`` posted margin, ``E`` entry). A bar whose low (long) or
    high (short) reaches LP closes the position at LP, or at the open if it gapped through, with
    a fill flagged ``liquidation`` (order id 0) paying ``liquidation_fee`` x notional, and cancels
    the instrument's open orders (reason "liquidated"). **Funding**: ``funding_rate`` every
    ``funding_interval_h`` hours (00/08/16 UTC for 8) or a ``funding`` series of ``(ts_ns,
    rate)``; at each funding time, on the first bar at or after it and before its fills, a
    position pays ``qty x open x rate`` (longs pay when positive; payments round up, receipts
    toward zero).

    **Fees**: ``maker_fee_bps``/``taker_fee_bps`` (default: the engine's ``fee_bps``; a negative
    maker fee is a rebate) or ``fee_tiers`` = ``[(min_30d_volume, maker_bps, taker_bps), ...]``,
    the tier picked by the notional traded over the trailing 30 days (current fill excluded), or
    fixed by ``fee_tier``. Charges round up, rebates toward zero.

    **Slippage**: ``"fixed"`` (``slippage_bps``, default the engine's), ``"none"``, ``"spread"``
    (half of an assumed ``spread_bps`` spread on bars), ``"sqrt"`` (``impact_k`` x Parkinson
    sigma of the bar x sqrt(qty / bar volume), at most ``impact_max_bps``); prices round to the
    tick against the trader.
    """

def account_state(backtest: Backtest) -> dict[str, Any]:
    """The account: ``account``, ``wallet`` (initial + realized − fees − funding), ``margin_used``,
    ``free_margin``, ``funding_paid`` (net, > 0 paid), ``liquidations``, ``liquidation_price``
    (per instrument, None when flat) and ``funding`` (numpy columns ts, instrument, qty, mark,
    rate, amount)."""

def price_decimals(arrays: list[_F64Array]) -> int:
    """The smallest number of decimals (0..9) at which every finite value of the arrays sits on the
    price grid, by the engine's own check (float noise 1e-12 relative); 9 when none does."""

def run_vectorized_many(
    engines: list[Backtest],
    ts: npt.NDArray[np.int64],
    open: _F64Array,
    high: _F64Array,
    low: _F64Array,
    close: _F64Array,
    volume: _F64Array,
    *,
    signals: list[npt.NDArray[np.int8] | None],
    targets: list[_F64Array | None],
    qty: list[float],
    size: list[float],
    allow_short: list[bool],
    threads: int = 0,
    chunk: int = 8192,
) -> None:
    """Many vectorized runs over the same bars, each engine with its own decisions (a sweep's
    combinations): each engine ends exactly as ``engine.run_vectorized(...)`` with its decisions
    would leave it. The bars are checked once; the engines are split among ``threads`` threads
    (0: the machine's cores) with the GIL released, each thread taking the bars ``chunk`` at a
    time through all of its engines. Engine k's decisions: ``signals[k]`` or ``targets[k]``,
    ``qty[k]``, ``size[k]``, ``allow_short[k]``, as ``run_vectorized`` takes them."""

def curve_stats(
    equity: _F64Array, ts: npt.NDArray[np.int64], exposed: npt.NDArray[np.bool_], initial: float
) -> dict[str, Any]:
    """One-pass statistics of an equity curve at times ``ts``: ``n``, ``mean_return`` and
    ``std_return`` (ddof=1) of the simple returns (the first against ``initial``; they stop at the
    ruin point, the first equity at or below zero, whose return is -100 %: ``ruin`` is its index or
    None, ``n_returns`` how many returns count), ``downside_dev``, ``max_drawdown`` (a fraction of
    the running peak, the initial cash counting as one), ``max_drawdown_points`` (the longest run
    below a peak), ``max_drawdown_ns`` (the longest time below a peak) and ``exposure`` (fraction
    of points with a position)."""

def crossings(a: _F64Array, b: _F64Array) -> npt.NDArray[np.int8]:
    """Where ``a`` crosses ``b``: +1 on bar i when ``a[i-1] <= b[i-1]`` and ``a[i] > b[i]``, -1 for
    the mirror, else 0; NaN never crosses (``trader.kernels.crossings``)."""

# ---------------------------------------------------------------------------------------------
# L2 order book: Binance diff-depth replay
# ---------------------------------------------------------------------------------------------

def replay_binance_depth(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    market: str = "usdm",
    price_precision: int | None = None,
    size_precision: int | None = None,
) -> dict[str, object]:
    """Replay a raw Binance WebSocket recording through the Rust L2 book; return a report.

    ``path`` is one recording (``<receive time ns> <JSON>`` per line, gzip or plain) or a sequence
    of them replayed as one session, in order (the book carries over: a recorder that rotates
    files continues the same update-id sequence, so a continuation file only syncs after its
    predecessor). ``market`` is ``"usdm"``, ``"cm"`` (futures rules: drop diffs with
    ``u < lastUpdateId``, the first applied has ``U <= lastUpdateId <= u``, then ``pu`` == the
    previous ``u``) or ``"spot"`` (drop ``u <= lastUpdateId``, the first applied has
    ``U <= lastUpdateId + 1 <= u``, then ``U`` == previous ``u + 1``). A continuity break puts the
    book out of sync (``sync_errors``) until the next snapshot line. Prices and sizes are parsed
    from their decimal strings straight into integers scaled by ``10**precision`` (default: the
    number of decimals of the first price/size in the file; a non-zero digit past the precision
    is an ``InvalidInputError``). Decoding runs in Rust with the GIL released.

    Report keys: ``messages``, ``depth_messages``, ``ticker_messages``, ``trade_messages``,
    ``snapshot_messages``, ``deltas_decoded``, ``depth_updates_applied``, ``deltas_applied``,
    ``dropped_stale``, ``gaps``, ``sync_errors``, ``syncs``, ``resyncs``, ``snapshots_ignored``,
    ``crossed_after_event``; the bookTicker checks: ``ticker_comparisons`` / ``ticker_matches`` /
    ``match_rate`` (tickers whose update id pins the book state exactly: equal to a diff's final
    ``u``, or between two diffs on futures), ``mismatch_bid_px`` ... ``mismatch_examples``,
    ``ticker_inside_event`` (intermediate states inside an aggregated diff: not comparable),
    ``ticker_before_sync``, ``ticker_unresolved``, and ``event_top_checks`` /
    ``event_top_matches`` / ``event_top_match_rate`` (the top after every applied diff vs the
    latest ticker at or before its ``u``); the end state: ``synced_at_end``, ``best_bid`` and
    ``best_ask`` as exact ``(price, qty)`` decimal strings, ``bid_levels``, ``ask_levels``;
    ``trade_volume``; ``elapsed_s`` and ``deltas_per_s``. Raises ``FileNotFoundError`` for a
    missing file and ``InvalidInputError`` for a malformed line (named ``file:line``).
    """

def decode_binance_messages(lines: Sequence[str], price_precision: int, size_precision: int) -> dict[str, npt.NDArray[Any]]:
    """Binance market-data messages (``<receive ns> <JSON>`` lines or the JSON alone: depth
    diffs, book tickers, trades, REST snapshots) decoded in Rust into typed columns at the given
    precision: per message ``kind`` (0 depth, 1 book ticker, 2 trade, 3 snapshot, 4 other),
    ``recv_ns``, ``event_ms``, ``first_id``, ``last_id``, ``a``..``d`` (book ticker: bid px, bid
    size, ask px, ask size; trade: px, size, buyer aggressor); per depth level ``level_row``,
    ``level_side``, ``level_px``, ``level_qty``. A bad message is an error naming its index."""

@final
class L2Book:
    """An L2 order book for one instrument: prices and quantities are integers scaled by
    ``10**price_precision`` / ``10**size_precision`` inside, exact decimal strings outside."""

    def __new__(cls, price_precision: int, size_precision: int) -> Self: ...
    @staticmethod
    def from_binance_recording(
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        market: str = "usdm",
        price_precision: int | None = None,
        size_precision: int | None = None,
    ) -> tuple[L2Book, dict[str, object]]:
        """The book at the end of a replay, with the replay's report (see ``replay_binance_depth``;
        the book is only meaningful if ``report["synced_at_end"]``)."""
    @property
    def price_precision(self) -> int: ...
    @property
    def size_precision(self) -> int: ...
    def apply_delta(self, side: str, price: str, qty: str) -> None:
        """Set the absolute quantity at ``price`` on ``side`` (``"bid"``/``"ask"``); ``"0"`` deletes
        the level (deleting an absent level is a no-op). ``InvalidInputError`` for a negative or
        malformed number, or a non-zero digit past the precision."""
    def best_bid(self) -> tuple[str, str] | None:
        """``(price, qty)`` of the best bid, or ``None`` if there is none."""
    def best_ask(self) -> tuple[str, str] | None: ...
    def depth(self, side: str, n: int) -> list[tuple[str, str]]:
        """The best ``n`` levels of ``side``, best first."""
    def is_crossed(self) -> bool:
        """Best bid >= best ask (never true for a correct book after a whole diff event)."""
    def levels(self, side: str) -> int:
        """Number of levels on ``side``."""

# ---------------------------------------------------------------------------------------------
# Ticks and the L2 backtest loop
# ---------------------------------------------------------------------------------------------

def read_tardis(path: str | os.PathLike[str]) -> tuple[str, dict[str, npt.NDArray[Any]]]:
    """Decode a Tardis.dev trades or quotes CSV (``.csv`` or ``.csv.gz``) into numpy columns.

    Returns ``(kind, columns)``: kind ``"trades"`` (columns ``ts_event``, ``ts_local`` int64 ns,
    ``price``, ``size`` float64, ``side`` uint8 aggressor 0/1 buyer/2 seller, ``id`` int64) or
    ``"quotes"`` (``ts_event``, ``ts_local``, ``bid_price``, ``bid_size``, ``ask_price``,
    ``ask_size``; an empty side is NaN), told by the header. ``InvalidInputError`` names
    ``file:line`` and the column of a bad value.
    """

def read_binance_ticks(
    path: str | os.PathLike[str],
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]]]:
    """The ``trade`` and ``bookTicker`` streams of a raw Binance WebSocket recording as
    ``(trades, quotes)`` numpy column dicts (same columns as :func:`read_tardis`; ``ts_event`` is
    the trade/transaction time, or the receive time for spot tickers that carry none)."""

@final
class TradeTick:
    """A trade print as a strategy sees it in ``on_trade`` (tick and L2 runs).

    The engine reuses one object for every trade of a run: read it inside the callback, call
    ``copy()`` to keep one."""
    def __new__(cls, ts: int, price: float, size: float, side: str | None = None, id: int | None = None) -> Self: ...
    @property
    def ts(self) -> int:
        """The run's clock at the print, UTC epoch ns (an L2 run: the recorder's receive time)."""
    @property
    def price(self) -> float: ...
    @property
    def size(self) -> float: ...
    @property
    def side(self) -> str | None:
        """The aggressor: ``"BUY"`` (the buyer lifted the offer), ``"SELL"``, or None when unknown."""
    @property
    def id(self) -> int | None:
        """The exchange's trade id, None when the source has none."""
    def copy(self) -> TradeTick:
        """An independent copy (the object passed to ``on_trade`` is reused)."""

@final
class QuoteTick:
    """A top of book as a strategy sees it in ``on_quote`` (tick and L2 runs): a side with no
    level has price None and size 0. Reused for every quote of a run, as :class:`TradeTick`."""
    def __new__(cls, ts: int, bid: float | None, ask: float | None, bid_size: float = 0.0, ask_size: float = 0.0) -> Self: ...
    @property
    def ts(self) -> int:
        """The run's clock at the quote, UTC epoch ns."""
    @property
    def bid(self) -> float | None: ...
    @property
    def ask(self) -> float | None: ...
    @property
    def bid_size(self) -> float: ...
    @property
    def ask_size(self) -> float: ...
    def copy(self) -> QuoteTick:
        """An independent copy (the object passed to ``on_quote`` is reused)."""

@final
class L2Context:
    """The strategy's view of the tick/L2 engine during :func:`run_l2_backtest` and
    :func:`run_tick_backtest` (``Strategy._ctx``, passed to ``Strategy.on_book``). Prices and sizes
    are floats in instrument units; the account is a snapshot taken before each callback, marked
    at the book's mid. Orders and state commands are queued and carried out in order when the
    callback returns."""
    @property
    def ts(self) -> int:
        """The run's clock at the callback (epoch ns; the recorder's receive time in an L2 run)."""
    @property
    def best_bid(self) -> float | None: ...
    @property
    def best_ask(self) -> float | None: ...
    @property
    def bid_size(self) -> float: ...
    @property
    def ask_size(self) -> float: ...
    @property
    def tick(self) -> float: ...
    @property
    def cash(self) -> float: ...
    @property
    def equity(self) -> float:
        """Cash plus the position at the book's mid."""
    @property
    def trading_state(self) -> str:
        """The risk engine's trading state (``"active"``, ``"reducing"``, ``"paused"``,
        ``"halted"``, ``"emergency"``)."""
    def position(self, instrument: int = 0) -> float:
        """Signed position in units."""
    def is_working(self, order_id: int) -> bool:
        """Whether the order rests at the venue (not filled, canceled or rejected)."""
    def submit(self, side: int, qty: float, instrument: int = 0, price: float | None = None) -> int:
        """Queue a market (``price=None``) or limit order; returns its id."""
    def submit_order(self, request: Any) -> int:
        """Queue a ``trader.orders.OrderRequest`` (instructions such as ``post_only`` apply)."""
    def bracket(
        self,
        side: int,
        qty: float,
        instrument: int = 0,
        entry_price: float | None = None,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        stop_limit: float | None = None,
        trailing_offset: float | None = None,
        offset_type: str = "price",
        time_in_force: str = "GTC",
    ) -> list[int]:
        """Queue an entry with reduce-only exits (bracket, or OTO with one exit); returns the ids."""
    def submit_list(self, kind: str, requests: list[Any]) -> list[int]:
        """Queue a contingent list (``"oco"``, ``"oto"``, ``"bracket"``); returns the ids in order."""
    def modify(self, order_id: int, qty: float | None = None, price: float | None = None, trigger: float | None = None) -> None:
        """Queue a change of a working order (a new price loses the queue position)."""
    def cancel(self, order_id: int) -> None:
        """Queue a cancel of order ``order_id``."""
    def cancel_all(self, instrument: int | None = None) -> None:
        """Queue a cancel of every open order."""
    def set_trading_state(self, state: str, reason: str = "") -> None:
        """Ask for a trading state (the strategy's manual state; the engine's is the most severe of
        it and the risk layers' wishes)."""
    def set_confidence(self, value: float, instrument: int | None = None) -> None:
        """Feed a composite confidence in [0, 1] to the risk layers."""
    def set_timer(self, name: str, interval_ns: int, start_ns: int | None = None) -> None:
        """A timer firing ``on_timer`` every ``interval_ns`` of the run's clock, first at
        ``start_ns`` (None: one interval from now); replaces a timer of the same name."""
    def set_alert(self, name: str, at_ns: int) -> None:
        """An alert firing ``on_timer`` once at ``at_ns``."""
    def cancel_timer(self, name: str) -> None:
        """Cancel the timer or alert ``name``."""
    def lot(self, instrument: int = 0) -> float:
        """The instrument's quantity step, in units."""
    def qty_for_fraction(self, fraction: float, price: float, instrument: int = 0) -> float:
        """Quantity worth ``fraction`` of equity at ``price``, rounded down to the lot."""

@final
class TimerEvent:
    """A timer or alert that came due (``Strategy.on_timer``)."""
    @property
    def name(self) -> str: ...
    @property
    def ts(self) -> int:
        """Its time, UTC epoch ns (the run's clock during the call)."""

@final
class JournalRelease:
    """The seq up to which the store has committed a session's write-ahead log
    (:meth:`LiveSession.set_log_journal`'s result); thread-safe."""
    def release(self, seq: int) -> None:
        """Records with a seq <= ``seq`` are committed: the log may reuse their bytes."""
    @property
    def committed(self) -> int | None:
        """The last seq released (None before any)."""

def read_journal_log(path: str | os.PathLike[str]) -> tuple[str, list[tuple[int, int, str, str, int]]]:
    """The strategy a write-ahead log belongs to and its valid records by seq, as ``(seq,
    order_id, kind, request, ts)``; a file that is not such a log is an InvalidInputError naming it."""

@final
class LiveSession:
    """The engine of one strategy of the live node: feed events pushed into its SPSC ring are
    consumed by the tick/L2 backtest loop (``pump``), which calls the strategy and routes its
    orders through the risk engine to the paper venue. ``mode="l2"``: recorded Binance lines
    (``push_line``); ``mode="quotes"``: trade and quote ticks (``push_trade``, ``push_quote``).
    The keywords are those of :func:`run_l2_backtest` / :func:`run_tick_backtest`."""
    def __new__(
        cls,
        strategy: Any = None,
        *,
        mode: str = "quotes",
        market: str = "usdm",
        queue: str = "risk_averse",
        elapse_ns: int = 100_000_000,
        maker_fee_bps: float = 0.0,
        taker_fee_bps: float = 0.0,
        qty: float = 0.001,
        max_position: float = 0.01,
        offset_ticks: int = 0,
        price_precision: int = 2,
        size_precision: int = 3,
        latency: dict[str, Any] | None = None,
        risk: dict[str, Any] | None = None,
        cash: float = 0.0,
        symbol: str | None = None,
        bar_ns: int | None = None,
        account: str = "cash",
        leverage: float = 1.0,
        maintenance_margin: float = 0.005,
        capacity: int = 65_536,
        venue: str = "sim",
        idle: bool = False,
    ) -> Self:
        """``venue="external"``: orders go to a real venue through the node's execution client
        (``take_commands``) and its reports come back through ``report``; ``idle=True``: no
        strategy (the local exchange's matching sessions, driven by ``place`` / ``cancel``)."""

    def push_line(self, line: str) -> bool:
        """Push one recorded line; False when the ring is full (push it again after ``pump``)."""
    def push_batch(self, batch: LineBatch, start: int = 0) -> int:
        """Push the lines of ``batch`` from ``start`` on until the ring is full; how many went in."""
    def push_lines(self, lines: Sequence[str]) -> int:
        """Push lines in order until the ring is full; how many went in."""
    def push_trade(self, ts: int, price: float, size: float, side: str | None = None, id: int | None = None) -> bool:
        """Push a trade print (``side``: the aggressor, buy/sell); False when the ring is full."""
    def push_quote(self, ts: int, bid: float | None, ask: float | None, bid_size: float = 0.0, ask_size: float = 0.0) -> bool:
        """Push a top of book; False when the ring is full."""
    def pump(self, max: int = 4096) -> int:
        """Process up to ``max`` waiting events; how many."""
    def advance_time(self, ts: int) -> None:
        """The real-time clock reached ``ts`` with no event: delayed commands arrive, timers fire."""
    @property
    def equity(self) -> float:
        """Cash plus the position at the book's mid, quote currency."""
    @property
    def backlog(self) -> int: ...
    @property
    def free(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def clock(self) -> int: ...
    def stats(self) -> dict[str, Any]:
        """The ring's counters: pushed and processed by stream, full (refused and retried), max_backlog."""
    def take_latencies(self) -> npt.NDArray[np.uint64]:
        """Tick-to-order latencies (ns) recorded since the last call."""
    def take_order_events(self) -> tuple[dict[str, int], dict[str, int]]:
        """Order events since the last call: by kind, and denials by code."""
    def status(self) -> dict[str, Any]:
        """The account, the book's top, the open orders and the trading state now."""
    def set_state(self, state: str, reason: str) -> None:
        """The operator's trading state (audited, source operator)."""
    def cancel_all(self, reason: str) -> list[int]:
        """The operator's cancel-all; the ids canceled."""
    def flatten(self, reason: str) -> dict[str, Any]:
        """The operator's flatten: {"canceled": [ids], "order": id or None}."""
    def checkpoint(self) -> bytes:
        """The engine's whole state at an event boundary (the ring pumped empty): book, paper
        venue (queue positions, commands in flight), orders, fills, events, account, risk engine
        (state, buckets, layers' own state, audit log), timers, counters, the strategy's order-id
        counters. A Python strategy's own ``state`` is not in it."""
    def restore(self, blob: bytes) -> None:
        """Take back a ``checkpoint`` into a session built with the same arguments; a blob of
        another configuration or version, or a damaged one, raises ``InvalidInputError``
        ("checkpoint: ...")."""
    def set_journal(self, cb: Callable[[str, int, str, int], Any] | None) -> None:
        """Write-ahead: ``cb(kind, order_id, request_json, ts)`` for every command that passed
        the risk engine and the account, before it leaves; its exception stops the command and
        propagates out of the call that sent it. None: no journal."""
    def set_log_journal(self, path: str | os.PathLike[str], strategy: str, next_seq: int, capacity: int,
                        full: bool = False, after: Callable[[], Any] | None = None) -> JournalRelease:
        """Write-ahead into the write-ahead log at ``path`` (created, or started over; refused
        while it holds a command from ``next_seq`` on) as ``strategy`` from seq ``next_seq`` on,
        appended by the session itself before a command leaves (no Python call on the order
        path): a ring of ``capacity`` bytes in a memory-mapped file. ``full``: ``msync`` each
        record. ``after``: called after each append (the tests' crash point). An error (a full
        ring, ``after``'s exception) stops the command and propagates. Returns the handle the
        store releases committed records through."""
    @property
    def journal_next_seq(self) -> int | None:
        """The seq the write-ahead log gives its next command (None without one)."""
    def journal_drain(self) -> list[tuple[int, int, str, str, int]]:
        """The commands appended to the write-ahead log since the last call, oldest first:
        ``(seq, order_id, kind, request, ts)`` (empty without a log)."""
    def fills_since(self, start: int = 0) -> list[dict[str, Any]]:
        """Fills from index ``start`` on: trade_id ("F" + index), order_id, ts, side, and price,
        qty, fee as exact decimal strings, liquidity."""
    def events_since(self, start: int = 0) -> list[dict[str, Any]]:
        """Order events from index ``start`` on: seq, order_id, kind, status, ts, reason, detail,
        trade_id."""
    def audit_since(self, start: int = 0) -> list[dict[str, Any]]:
        """Closed audit entries from index ``start`` on, as the audit file writes them."""
    def orders(self, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Current order records (all, or those of ``ids``)."""
    def order(self, order_id: int) -> dict[str, Any] | None:
        """The record of order ``order_id``, None when the venue does not know it."""
    def open_orders(self) -> list[dict[str, Any]]:
        """The orders working at the venue."""
    def position(self) -> dict[str, Any]:
        """symbol, qty, cost, realized, mark (exact decimal strings)."""
    def balances(self) -> dict[str, Any]:
        """cash, initial_cash, fees, funding_paid (exact decimal strings)."""
    def risk_state(self) -> dict[str, Any]:
        """trading_state, manual_state, manual_source, manual_reason, layers (state by name)."""
    def record_action(self, kind: str, source: str, reason: str, orders: Sequence[int] = ...) -> None:
        """Append an audit entry (reconciliation's adjustments)."""
    def take_commands(self) -> list[dict[str, Any]]:
        """The commands waiting for the execution client (``venue="external"``), oldest first:
        ``op`` ("submit", "cancel", "modify"), ``order_id``, ``symbol``; a submit's ``side``,
        ``kind``, ``qty``, ``price``, ``trigger``, ``trail``, ``trail_type``, ``activation``, ``tif``,
        ``expire_ns``, ``post_only``, ``reduce_only`` (decimals as exact strings). Contingent lists
        are emulated: each leg leaves when the engine releases it, a leg it closes is canceled."""
    def report(self, kind: str, order_id: int, *, price: str | None = None, qty: str | None = None,
               fee: str | None = None, liquidity: str | None = None, trade_id: str | None = None,
               requested: bool = True, trigger: str | None = None) -> bool:
        """Apply a real venue's report on ``order_id``: "accepted", "rejected", "canceled",
        "expired", "triggered", "amended" (qty, price, trigger), "modify_rejected" /
        "cancel_rejected" (the venue refused the strategy's modify or cancel: an event tells it,
        the order is unchanged) or "fill" (price, qty, fee in quote, liquidity, the venue's
        trade_id: a repeated one is ignored). False when nothing changed, or before any market
        data (hold it and apply it later)."""
    def adopt(self, request: str) -> list[int]:
        """A restart on a real venue: take back the orders of a journaled command (its request JSON)
        this engine does not know; the strategy's order ids move past them. The ids taken back."""
    def venue_stats(self) -> dict[str, Any] | None:
        """A real venue's counters: at_venue (ids), late_fills, ignored, pending; None on the sim venue."""
    def place(self, request: Any, order_id: int) -> None:
        """The venue's side (local exchange): place a ``trader.orders.OrderRequest`` as ``order_id``
        on the simulated matcher at once (no latency, no risk engine)."""
    def amend(self, order_id: int, *, qty: str | None = None, price: str | None = None) -> bool:
        """The venue's side: modify open order ``order_id`` at once (decimal strings; None:
        unchanged; a new price loses the queue position); True when it was open."""
    def cancel(self, order_id: int) -> bool:
        """The venue's side: cancel ``order_id`` at once; True when it was open."""
    def finish(self) -> dict[str, Any]:
        """End the run; the report of :func:`run_l2_backtest`."""

@final
class LineBatch:
    """Lines of a recording read by :class:`RecordingReader` (handed to sessions by ``push_batch``)."""
    def __len__(self) -> int: ...
    @property
    def first_ts(self) -> int | None: ...
    @property
    def last_ts(self) -> int | None: ...
    def texts(self) -> list[str]:
        """The lines as strings."""

@final
class RecordingReader:
    """Recorded Binance WebSocket files (gzip or plain) read in order, in batches."""
    def __new__(cls, paths: Sequence[str | os.PathLike[str]], skip: int = 0) -> Self:
        """``skip``: pass over the first ``skip`` lines (counted in ``lines``)."""
    def next_batch(self, max: int = 4096, until_ns: int | None = None) -> LineBatch | None:
        """Up to ``max`` lines received at or before ``until_ns``; empty when none is due, None at the end."""
    def peek_ts(self) -> int | None:
        """The receive time of the next line, None at the end."""
    @property
    def lines(self) -> int: ...

def probe_recording(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """What a raw Binance recording says about itself, from its first lines: ``market``
    (``"usdm"``, ``"spot"``, ``"cm"``, or None without a depth diff: diffs with ``pu`` are
    futures, with ``ps`` or a ``_PERP`` symbol coin-M, without ``pu`` spot), ``symbol`` (the
    streams' symbol in upper case), ``price_precision`` and ``size_precision`` (of the first price
    and size strings)."""

def run_l2_backtest(
    paths: Sequence[str | os.PathLike[str]],
    strategy: Any = None,
    *,
    market: str = "usdm",
    queue: str = "risk_averse",
    elapse_ns: int = 100_000_000,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    qty: float = 0.001,
    max_position: float = 0.01,
    offset_ticks: int = 0,
    price_precision: int | None = None,
    size_precision: int | None = None,
    latency: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    cash: float = 0.0,
    symbol: str | None = None,
    bar_ns: int | None = None,
    account: str = "cash",
    leverage: float = 1.0,
    maintenance_margin: float = 0.005,
) -> dict[str, Any]:
    """Run an L2 backtest over raw Binance recordings (see :func:`trader.run_l2_backtest`).

    ``strategy=None`` runs the native passive market maker (``qty``, ``max_position`` in units,
    ``offset_ticks``) with the GIL released; otherwise a Python ``Strategy``, called for the
    data callbacks it overrides (``on_book`` every ``elapse_ns`` of market time, ``on_trade``,
    ``on_quote``, ``on_bar`` with ``bar_ns``) and for ``on_order_event`` / ``on_trading_state``.
    ``queue``: ``risk_averse``, ``power``, ``power:N`` or ``log``. ``symbol``: the instrument's
    symbol (None: ``L2``). The report: ``events``, message counts, ``deltas``, ``sync_errors``,
    ``strategy_calls``, ``trade_calls``, ``quote_calls``, ``bars``, ``orders``, ``fills``,
    ``maker_fills``, ``taker_fills``, ``position``, ``cash``, ``fees``, ``initial_cash``,
    ``realized_pnl``, ``unrealized_pnl``, ``equity``, ``pnl``, ``volume``, ``last_mid``,
    ``symbol``, precisions, ``first_ts``, ``last_ts``, ``seconds``, ``fill_columns`` (numpy:
    ``ts``, ``order_id``, ``side``, ``price``, ``qty``, ``fee``, ``maker``), ``risk`` (the risk
    report, as ``Backtest.risk_report()``) and ``audit`` (the audit entries).

    ``risk``: the config dict of ``trader.risk.RiskSettings.to_core([symbol])``; every command
    passes that risk engine (None: the structural checks only). ``cash``: the account's cash at
    the start (0: the reported cash is the run's cash flow).
    """

def run_tick_backtest(
    trades: dict[str, npt.NDArray[Any]],
    quotes: dict[str, npt.NDArray[Any]],
    strategy: Any = None,
    *,
    price_precision: int | None = None,
    size_precision: int | None = None,
    queue: str = "risk_averse",
    elapse_ns: int = 100_000_000,
    maker_fee_bps: float = 0.0,
    taker_fee_bps: float = 0.0,
    qty: float = 0.001,
    max_position: float = 0.01,
    offset_ticks: int = 0,
    latency: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    cash: float = 0.0,
    symbol: str | None = None,
    bar_ns: int | None = None,
    by_receive_time: bool = False,
    account: str = "cash",
    leverage: float = 1.0,
    maintenance_margin: float = 0.005,
) -> dict[str, Any]:
    """A quote-mode backtest over tick columns (``ts_event``, ``price``, ``size``, ``side`` and
    optionally ``id`` for trades; ``ts_event``, ``bid_price``, ``bid_size``, ``ask_price``,
    ``ask_size`` for quotes, as :func:`read_tardis` returns them; ``ts_local`` too with
    ``by_receive_time``), merged by that time; each quote is a one-level book (see
    :func:`trader.run_tick_backtest`). A precision not given is inferred from every price (size)
    of the data. Same report, ``risk`` and ``cash`` as :func:`run_l2_backtest` (the instrument
    is ``symbol``, or ``TICKS``)."""

def verify_audit(entries: list[dict[str, Any]], key: bytes | str | None = None, sealed: bool = True) -> None:
    """Check a sealed audit log (``Backtest.audit_entries()``, or read back from JSON lines):
    every hash (SHA-256, or HMAC-SHA256 with ``key``), the chain of ``prev_hash``, the sequence and
    the final seal with its count. A folded run of denials' ``count``, ``last_ts``, ``last_reason``
    and every one of its ``orders`` are in its hash; older logs without those keys verify as before. Raises ValueError naming the first bad entry's index and the
    problem (edited, reordered, removed, or entries missing at the end)."""
