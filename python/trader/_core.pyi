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
# ---------------------------------------------------------------------------------------------

def sma(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Simple moving average; bit-identical to ``talib.SMA``."""

def ema(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Exponential moving average seeded with the mean of the first ``timeperiod`` values; bit-identical to ``talib.EMA``."""

def rsi(real: F64Array, timeperiod: int = 14) -> F64Array:
    """Relative strength index with Wilder's smoothing (``talib.RSI``)."""

# ---------------------------------------------------------------------------------------------
# Indicators: streaming classes
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# SIMD kernels: multi-lane indicators, rolling statistics, reductions, decision kernel
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Ring buffer and object pool
# ---------------------------------------------------------------------------------------------
