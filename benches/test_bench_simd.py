"""SIMD kernels side by side with their anchors (pytest-benchmark; see HELPERS.md for the fields).

* ``ema_multi_8x1M``: ``ema_multi(x, 8 periods)`` over 1M values vs 8 ``talib.EMA`` calls.
* ``decision_py``: ``DecisionKernel.decide`` (16 signals) per call vs the same decision in numpy;
  ours also records the p99 of 20k individually timed calls in ``extra_info["p99_ns"]``.
* ``decision_batch_py``: ``decide_batch`` over 100k × 16 vs the numpy-vectorised equivalent.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import talib

from trader import _core
from trader.decision import DecisionKernel

PERIODS = [5, 10, 20, 30, 50, 100, 150, 200]
N = 1_000_000
N_SIG = 16
BARS = 100_000
BAND = 0.1


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    rng = np.random.default_rng(1)
    return 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.002, N)))


def _talib_8(x: np.ndarray) -> list[np.ndarray]:
    return [talib.EMA(x, p) for p in PERIODS]


def test_ema_multi_ours(benchmark, series: np.ndarray) -> None:
    benchmark.group = "ema_multi_8x1M"
    benchmark.extra_info.update(role="ours", items=len(PERIODS) * N, backend=_core.simd_backend())
    out = benchmark.pedantic(_core.ema_multi, args=(series, PERIODS), rounds=15, iterations=1, warmup_rounds=2)
    ref = _talib_8(series)
    benchmark.extra_info["correct"] = all(np.array_equal(out[j], ref[j], equal_nan=True) for j in range(len(PERIODS)))


def test_ema_multi_anchor(benchmark, series: np.ndarray) -> None:
    benchmark.group = "ema_multi_8x1M"
    benchmark.extra_info.update(role="anchor", items=len(PERIODS) * N)
    ref = benchmark.pedantic(_talib_8, args=(series,), rounds=15, iterations=1, warmup_rounds=2)
    ours = _core.ema_multi(series, PERIODS)
    benchmark.extra_info["correct"] = all(np.array_equal(ours[j], ref[j], equal_nan=True) for j in range(len(PERIODS)))


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decision_setup() -> tuple[DecisionKernel, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    w = rng.uniform(-1.0, 2.0, N_SIG)
    t = rng.uniform(0.0, 0.3, N_SIG)
    signals = rng.uniform(-1.1, 1.1, (BARS, N_SIG))
    return DecisionKernel(w, t, BAND), w, t, signals


def _numpy_decide(w: np.ndarray, t: np.ndarray, norm: float, s: np.ndarray) -> tuple[int, float, float]:
    v = np.clip(np.nan_to_num(s, nan=0.0), -1.0, 1.0)
    v = np.where(np.abs(v) < t, 0.0, v)
    score = min(1.0, max(-1.0, float(np.dot(w, v)) / norm))
    action = 1 if score > BAND else (-1 if score < -BAND else 0)
    size = min(1.0, max(0.0, (abs(score) - BAND) / (1.0 - BAND))) if action else 0.0
    return action, score, size


def _numpy_batch(w: np.ndarray, t: np.ndarray, norm: float, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.clip(np.nan_to_num(s, nan=0.0), -1.0, 1.0)
    v = np.where(np.abs(v) < t, 0.0, v)
    score = np.clip(v @ w / norm, -1.0, 1.0)
    action = np.where(score > BAND, 1, np.where(score < -BAND, -1, 0)).astype(np.int8)
    size = np.where(action != 0, np.clip((np.abs(score) - BAND) / (1.0 - BAND), 0.0, 1.0), 0.0)
    return action, score, size


def test_decision_py_ours(benchmark, decision_setup) -> None:
    kernel, w, t, signals = decision_setup
    row = np.ascontiguousarray(signals[0])
    benchmark.group = "decision_py"
    benchmark.extra_info.update(role="ours", items=1)
    benchmark.pedantic(kernel.decide, args=(row,), rounds=200, iterations=100, warmup_rounds=5)
    rows = [np.ascontiguousarray(r) for r in signals[:20_000]]
    decide, clock = kernel.decide, time.perf_counter_ns
    samples = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        t0 = clock()
        decide(r)
        samples[i] = clock() - t0
    benchmark.extra_info["p99_ns"] = int(np.percentile(samples, 99))
    benchmark.extra_info["p50_ns"] = int(np.percentile(samples, 50))
    benchmark.extra_info["correct"] = _decide_agrees(decision_setup)


def test_decision_py_anchor(benchmark, decision_setup) -> None:
    _, w, t, signals = decision_setup
    norm = float(np.abs(w).sum())
    row = np.ascontiguousarray(signals[0])
    benchmark.group = "decision_py"
    benchmark.extra_info.update(role="anchor", items=1)
    benchmark.pedantic(_numpy_decide, args=(w, t, norm, row), rounds=200, iterations=20, warmup_rounds=5)
    benchmark.extra_info["correct"] = _decide_agrees(decision_setup)


def _decide_agrees(decision_setup) -> bool:
    """The kernel's decision equals the numpy one on the first 2000 rows (score, size to 1e-12)."""
    kernel, w, t, signals = decision_setup
    norm = float(np.abs(w).sum())
    ok = True
    for r in signals[:2000]:
        r = np.ascontiguousarray(r)
        a, s, z = kernel.decide(r)
        ra, rs, rz = _numpy_decide(w, t, norm, r)
        ok &= a == ra and abs(s - rs) <= 1e-12 and abs(z - rz) <= 1e-12
    return bool(ok)


def test_decision_batch_py_ours(benchmark, decision_setup) -> None:
    kernel, w, t, signals = decision_setup
    benchmark.group = "decision_batch_py"
    benchmark.extra_info.update(role="ours", items=BARS * N_SIG)
    a, s, z = benchmark.pedantic(kernel.decide_batch, args=(signals,), rounds=30, iterations=1, warmup_rounds=2)
    ra, rs, rz = _numpy_batch(w, t, float(np.abs(w).sum()), signals)
    benchmark.extra_info["correct"] = bool(
        np.array_equal(a, ra) and np.allclose(s, rs, rtol=0, atol=1e-12) and np.allclose(z, rz, rtol=0, atol=1e-12)
    )


def test_decision_batch_py_anchor(benchmark, decision_setup) -> None:
    kernel, w, t, signals = decision_setup
    benchmark.group = "decision_batch_py"
    benchmark.extra_info.update(role="anchor", items=BARS * N_SIG)
    ra, rs, rz = benchmark.pedantic(_numpy_batch, args=(w, t, float(np.abs(w).sum()), signals), rounds=30, iterations=1,
                                    warmup_rounds=2)
    a, s, z = kernel.decide_batch(signals)
    benchmark.extra_info["correct"] = bool(
        np.array_equal(a, ra) and np.allclose(s, rs, rtol=0, atol=1e-12) and np.allclose(z, rz, rtol=0, atol=1e-12)
    )
