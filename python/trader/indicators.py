"""Technical indicators with TA-Lib's conventions, computed by the Rust core.

Batch functions take 1-D contiguous float64 numpy arrays (borrowed, not copied) and return new
arrays (tuples where TA-Lib returns several), NaN for the lookback; the GIL is released while
they run. Argument names, order and defaults are TA-Lib's. Values are bit-identical to TA-Lib
0.8 (the 0.8.2 wheel) for ``sma, ema, wma, macd, bbands, atr, stddev, obv``; ``rsi`` is within
1e-9 relative (NaNs and exact zeros identical): it computes Wilder's smoothing in blocks.

Multi-lane functions (``ema_multi``, ``sma_multi``, ``rsi_multi``) compute many periods in one
pass over the series on the SIMD backend (8 lanes with AVX-512, 4 with AVX2) and return a
``(len(periods), len(real))`` array whose row ``j`` equals the single-period function for
``periods[j]`` bit for bit (``rsi_multi``: equals ``talib.RSI`` bit for bit, ``rsi`` within
1e-9): the engine of parameter sweeps.

Streaming classes (``SMA``, ``EMA``, ...) take one value (or bar) per ``update`` call, in O(1)
without allocating, and return bit for bit what the batch function returns at that index.

NaN policy: leading NaNs are skipped (the lookback starts at the first valid value; for several
inputs at the latest first valid value of any of them); a NaN after that raises
``trader.exceptions.NanInSeriesError``. Streaming: ``update(nan)`` before the first valid value
returns NaN and changes nothing; after it, it raises and leaves the state untouched.
"""

from __future__ import annotations

from trader._core import (
    ATR,
    BBANDS,
    EMA,
    MACD,
    OBV,
    RSI,
    SMA,
    STDDEV,
    VWAP,
    WMA,
    ZScore,
    atr,
    bbands,
    ema,
    ema_multi,
    macd,
    obv,
    rsi,
    rsi_multi,
    sma,
    sma_multi,
    stddev,
    vwap,
    wma,
    zscore,
)

__all__ = [
    "ema_multi",
    "sma_multi",
    "rsi_multi",
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
]
