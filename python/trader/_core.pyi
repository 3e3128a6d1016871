"""Typed stubs of ``trader._core``, the Rust extension. The user-facing docs of the extension live here."""

from __future__ import annotations

from collections.abc import Sequence

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

I64Array = npt.NDArray[np.int64]
I8Array = npt.NDArray[np.int8]

def ema_multi(real: F64Array, periods: Sequence[int] | I64Array) -> F64Array:
    """EMA for several periods in one pass over ``real``.

    Returns a C-contiguous ``(len(periods), len(real))`` array whose row ``j`` is bit-identical to
    ``ema(real, periods[j])`` (and so to ``talib.EMA``): TA-Lib seeding, NaN for the lookback,
    leading NaNs skipped. Periods are computed 4 (AVX2) or 8 (AVX-512) per register, two registers
    interleaved. Raises ``InvalidInputError`` for an empty list or a period < 1,
    ``NanInSeriesError`` for a NaN after the first valid value. GIL released.
    """

def sma_multi(real: F64Array, periods: Sequence[int] | I64Array) -> F64Array:
    """SMA for several periods in one pass; row ``j`` is bit-identical to ``sma(real, periods[j])``."""

def rsi_multi(real: F64Array, periods: Sequence[int] | I64Array) -> F64Array:
    """RSI for several periods in one pass; row ``j`` is bit-identical to ``rsi(real, periods[j])``."""

def rolling_sum(real: F64Array, window: int) -> F64Array:
    """Rolling sum over ``window`` values; NaN for the first ``window - 1`` (after leading NaNs).

    Computed in chunks re-seeded with an exact window sum (the same chunks on every backend, so the
    result is bit-identical across backends); ~1e-12 relative to an exact recomputation.
    """

def rolling_mean(real: F64Array, window: int) -> F64Array:
    """Rolling mean over ``window`` values (``rolling_sum / window``)."""

def rolling_std(real: F64Array, window: int, ddof: int = 0) -> F64Array:
    """Rolling standard deviation over ``window`` values, divisor ``window - ddof`` (0: population).

    Sliding mean/M2 (Welford) updates re-seeded every chunk by a two-pass window computation.
    """

def reduce_sum(real: F64Array) -> float:
    """Sum of the valid values (0.0 if none); 32 accumulators, pairwise-combined (``trader.kernels.sum``)."""

def reduce_mean(real: F64Array) -> float:
    """Mean of the valid values (``trader.kernels.mean``); ``InvalidInputError`` if there are none."""

def reduce_std(real: F64Array, ddof: int = 0) -> float:
    """Two-pass standard deviation, divisor ``count - ddof`` (``trader.kernels.std``)."""

def reduce_corr(x: F64Array, y: F64Array) -> float:
    """Pearson correlation over the pairs after both series' leading NaNs; NaN if a side is constant.

    ``LengthMismatchError`` if the lengths differ (``trader.kernels.corr``).
    """

class DecisionKernel:
    """Weighted fusion of N signal confidences into ``(action, score, size)``.

    ``score = Σ w_i·s'_i / Σ|w_i|`` where ``s'_i`` is the signal clamped to [-1, 1], 0 if NaN or if
    ``|s_i| < thresholds[i]``; weights are signed. ``action`` is +1 if ``score > neutral_band``,
    -1 if ``score < -neutral_band``, else 0; ``size = clamp((|score| - band) / (1 - band), 0, 1)``
    when not flat, else 0. Raises ``InvalidInputError`` naming the argument for empty or
    non-finite weights, ``Σ|w| = 0``, thresholds outside [0, 1], a band outside [0, 1), and
    ``LengthMismatchError`` when thresholds and weights differ in length.
    """

    def __init__(self, weights: Sequence[float] | F64Array, thresholds: Sequence[float] | F64Array, neutral_band: float) -> None: ...
    def decide(self, signals: F64Array) -> tuple[int, float, float]:
        """One decision for a 1-D float64 array of ``n_signals`` values; no allocation, GIL held."""
    def decide_batch(self, signals: F64Array) -> tuple[I8Array, F64Array, F64Array]:
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
