"""SIMD kernels over numpy arrays: rolling window statistics and reductions.

Every function runs on the process's SIMD backend (``trader.simd_backend()``); all backends give
bit-identical results. NaN policy: leading NaNs are skipped, a NaN after the first valid value
raises ``NanInSeriesError``. Inputs must be contiguous float64 numpy arrays.

* ``rolling_sum / rolling_mean / rolling_std(real, window[, ddof])``: NaN for the first
  ``window - 1`` outputs; chunked recurrences re-seeded with exact window sums (about 1e-12
  relative to an exact recomputation on ordinary data).
* ``sum / mean / std(real[, ddof]) / corr(x, y)``: 32 accumulators (pairwise-combined), so they
  agree with numpy's pairwise sums to about 1e-15 relative; ``std`` is two-pass, ``corr`` is
  Pearson's r (NaN when a side is constant).
"""

from __future__ import annotations

from trader._core import (
    crossings,
    reduce_corr as corr,
    reduce_mean as mean,
    reduce_std as std,
    reduce_sum as sum,  # noqa: A004 - the module's API is named after the reduction
    rolling_mean,
    rolling_std,
    rolling_sum,
)

__all__ = ["corr", "crossings", "mean", "rolling_mean", "rolling_std", "rolling_sum", "std", "sum"]
