"""The decision kernel: weighted fusion of N signal confidences into an action and a size.

``DecisionKernel(weights, thresholds, neutral_band)``; for signals ``s`` (float64 arrays):

* each signal is made effective: NaN counts as 0 (no opinion, e.g. an indicator warming up),
  values are clamped to [-1, 1], and ``|s_i| < thresholds[i]`` counts as 0;
* ``score = Σ w_i·s'_i / Σ|w_i|`` in [-1, 1]. Weights are signed (a negative weight inverts a
  signal); they must be finite with ``Σ|w| > 0``; thresholds in [0, 1]; the band in [0, 1);
* ``action = +1`` if ``score > band``, ``-1`` if ``score < -band``, else 0;
* ``size = clamp((|score| - band) / (1 - band), 0, 1)`` when not flat, else 0.

``decide(signals_1d) -> (action, score, size)`` (one tick; sub-microsecond from Python) and
``decide_batch(signals_2d) -> (actions int8, scores, sizes)`` for ``(n_bars, n_signals)`` arrays
(GIL released) give the same score bit for bit for the same row.
"""

from __future__ import annotations

from trader._core import DecisionKernel

__all__ = ["DecisionKernel"]
