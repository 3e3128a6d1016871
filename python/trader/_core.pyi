"""Typed stubs of ``trader._core``, the Rust extension. The user-facing docs of the extension live here."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64Array = npt.NDArray[np.float64]

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
# (C library 0.8.1, on every CPU) for sma, ema, wma, rsi, macd, bbands, atr, stddev, obv.
# ---------------------------------------------------------------------------------------------

def sma(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Simple moving average (``talib.SMA``); ``timeperiod >= 1``."""

def ema(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Exponential moving average seeded with the mean of the first ``timeperiod`` values (``talib.EMA``)."""

def wma(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Linearly weighted moving average (``talib.WMA``)."""

def rsi(real: F64Array, timeperiod: int = 14) -> F64Array:
    """Relative strength index with Wilder's smoothing (``talib.RSI``); ``timeperiod >= 2``."""

def macd(
    real: F64Array, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> tuple[F64Array, F64Array, F64Array]:
    """``(macd, signal, hist)`` as ``talib.MACD``. Fast/slow ``>= 2``, signal ``>= 1``; a fast period
    larger than the slow one is swapped, as TA-Lib does. Lookback ``slow - 1 + signal - 1``."""

def bbands(
    real: F64Array, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0
) -> tuple[F64Array, F64Array, F64Array]:
    """Bollinger bands ``(upper, middle, lower)`` as ``talib.BBANDS`` (default period 20, as TA-Lib 0.8).
    Only ``matype=0`` (SMA); any other value raises InvalidInputError."""

def atr(high: F64Array, low: F64Array, close: F64Array, timeperiod: int = 14) -> F64Array:
    """Average true range (``talib.ATR``): Wilder-smoothed true range seeded by the mean of the first
    ``timeperiod`` true ranges; lookback ``timeperiod``."""

def stddev(real: F64Array, timeperiod: int = 5, nbdev: float = 1.0) -> F64Array:
    """Rolling population standard deviation times ``nbdev`` (``talib.STDDEV``); ``timeperiod >= 2``."""

def obv(real: F64Array, volume: F64Array) -> F64Array:
    """On-balance volume (``talib.OBV``), seeded with the first volume."""

def zscore(real: F64Array, timeperiod: int) -> F64Array:
    """Rolling ``(x - SMA) / STDDEV`` (population) over ``timeperiod >= 2`` values. Zero deviation
    (flat window) gives 0.0, never inf/NaN."""

def vwap(high: F64Array, low: F64Array, close: F64Array, volume: F64Array, timeperiod: int = 0) -> F64Array:
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

class SMA(_Stream):
    def __init__(self, timeperiod: int = 30) -> None: ...
    def update(self, x: float) -> float: ...

class EMA(_Stream):
    """Streaming EMA. Not shareable between threads (it stays on the thread that made it)."""
    def __init__(self, timeperiod: int = 30) -> None: ...
    def update(self, x: float) -> float: ...

class WMA(_Stream):
    def __init__(self, timeperiod: int = 30) -> None: ...
    def update(self, x: float) -> float: ...

class RSI(_Stream):
    def __init__(self, timeperiod: int = 14) -> None: ...
    def update(self, x: float) -> float: ...

class STDDEV(_Stream):
    def __init__(self, timeperiod: int = 5, nbdev: float = 1.0) -> None: ...
    def update(self, x: float) -> float: ...

class ZScore(_Stream):
    def __init__(self, timeperiod: int) -> None: ...
    def update(self, x: float) -> float: ...

class MACD(_Stream3):
    def __init__(self, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9) -> None: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """``(macd, signal, hist)``."""

class BBANDS(_Stream3):
    def __init__(self, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0, matype: int = 0) -> None: ...
    def update(self, x: float) -> tuple[float, float, float]:
        """``(upper, middle, lower)``."""

class ATR(_Stream):
    def __init__(self, timeperiod: int = 14) -> None: ...
    def update(self, high: float, low: float, close: float) -> float: ...

class OBV(_Stream):
    def __init__(self) -> None: ...
    def update(self, real: float, volume: float) -> float: ...

class VWAP(_Stream):
    def __init__(self, timeperiod: int = 0) -> None: ...
    def update(self, high: float, low: float, close: float, volume: float) -> float: ...

# ---------------------------------------------------------------------------------------------
# SIMD kernels: multi-lane indicators, rolling statistics, reductions, decision kernel
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Ring buffer and object pool
# ---------------------------------------------------------------------------------------------
