"""SIMD kernels through Python: multi-lane indicators vs the single-period functions and TA-Lib,
rolling statistics and reductions vs numpy, the decision kernel vs a plain-Python reference,
errors, and the TRADER_SIMD switch. Run the suite under TRADER_SIMD=scalar and without it."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

import trader
from trader import _core, exceptions
from trader.decision import DecisionKernel
from trader.kernels import corr, mean, rolling_mean, rolling_std, rolling_sum, std
from trader.kernels import sum as ksum

PERIODS = [5, 10, 20, 30, 50, 100, 150, 200]


def _walk(n: int, seed: int = 1, level: float = 30_000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level * np.exp(np.cumsum(rng.normal(0, 0.002, n)))


@pytest.fixture(scope="module")
def closes(klines_1m: dict[str, dict]) -> list[tuple[str, np.ndarray]]:
    return [(name, bars["close"]) for name, bars in klines_1m.items()]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


# ---------------------------------------------------------------------------------------------
# Multi-lane indicators
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 150, 201, 5003])
def test_multi_rows_equal_single_period(n: int) -> None:
    x = _walk(n)
    x[: min(n, 3)] = np.nan  # leading NaNs are skipped
    # rsi_multi rows are TA-Lib's sequential RSI bit for bit (the single-period rsi is the blocked
    # form, within 1e-9: see test_multi_matches_talib_on_real_data).
    talib_rsi = lambda x, p: talib.RSI(x, p) if len(x) else np.empty(0)  # noqa: E731
    for multi, single in ((_core.ema_multi, _core.ema), (_core.sma_multi, _core.sma), (_core.rsi_multi, talib_rsi)):
        out = multi(x, PERIODS)
        assert out.shape == (len(PERIODS), n) and out.dtype == np.float64 and out.flags.c_contiguous
        for j, p in enumerate(PERIODS):
            assert _same(out[j], single(x, p)), (multi.__name__, n, p)


def test_multi_matches_talib_on_real_data(closes: list[tuple[str, np.ndarray]]) -> None:
    periods = np.array([2, 3, 7, 14, 20, 50, 100, 200, 9], dtype=np.int64)  # an int array works too
    for name, x in closes:
        ema = _core.ema_multi(x, periods)
        sma = _core.sma_multi(x, periods)
        rsi = _core.rsi_multi(x, periods)
        for j, p in enumerate(periods.tolist()):
            assert _same(ema[j], talib.EMA(x, p)), (name, "EMA", p)
            assert _same(ema[j], _core.ema(x, p)), (name, "ema", p)
            assert _same(sma[j], talib.SMA(x, p)), (name, "SMA", p)
            # rsi_multi runs TA-Lib's sequential recurrence per row (bit for bit); the single-period
            # rsi the faster blocked form (within 1e-9 relative).
            assert _same(rsi[j], talib.RSI(x, p)), (name, "RSI", p)
            assert np.array_equal(np.isnan(rsi[j]), np.isnan(_core.rsi(x, p))), (name, "rsi nan", p)
            np.testing.assert_allclose(_core.rsi(x, p), rsi[j], rtol=1e-9, atol=0, err_msg=f"{name} rsi {p}")


def test_rsi_multi_matches_talib_on_real_data(closes: list[tuple[str, np.ndarray]]) -> None:
    periods = [2, 3, 7, 14, 20, 50, 100, 200, 9]
    for name, x in closes:
        rsi = _core.rsi_multi(x, periods)
        for j, p in enumerate(periods):
            ref = talib.RSI(x, p)
            assert np.array_equal(np.isnan(rsi[j]), np.isnan(ref)), (name, "RSI nan", p)
            np.testing.assert_allclose(rsi[j], ref, rtol=1e-9, atol=1e-9, err_msg=f"{name} RSI {p}")


def test_rsi_multi_matches_talib_on_synthetic_data() -> None:
    x = _walk(20_011, seed=4)
    rsi = _core.rsi_multi(x, PERIODS)
    for j, p in enumerate(PERIODS):
        np.testing.assert_allclose(rsi[j], talib.RSI(x, p), rtol=1e-9, atol=1e-9)


def test_multi_matches_talib_on_synthetic_data() -> None:
    x = _walk(20_011, seed=3)
    ema = _core.ema_multi(x, PERIODS)
    for j, p in enumerate(PERIODS):
        assert _same(ema[j], talib.EMA(x, p))
        assert _same(_core.sma_multi(x, PERIODS)[j], talib.SMA(x, p))


# ---------------------------------------------------------------------------------------------
# Rolling statistics and reductions vs numpy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 2, 20, 777])
@pytest.mark.parametrize("data", ["walk", "noise"])
def test_rolling_vs_numpy(window: int, data: str) -> None:
    x = _walk(30_000, seed=5) if data == "walk" else np.random.default_rng(9).normal(0, 1, 30_000)
    win = sliding_window_view(x, window)
    lead = np.full(window - 1, np.nan)
    scale = np.abs(x).max()
    for got, want in (
        (rolling_sum(x, window), np.concatenate([lead, win.sum(axis=1)])),
        (rolling_mean(x, window), np.concatenate([lead, win.mean(axis=1)])),
    ):
        assert np.isnan(got[: window - 1]).all()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale * window)
    if window > 1:
        for ddof in (0, 1):
            want = np.concatenate([lead, win.std(axis=1, ddof=ddof)])
            np.testing.assert_allclose(rolling_std(x, window, ddof=ddof), want, rtol=1e-9, atol=1e-9 * scale)


def test_rolling_leading_nans_and_real_data(closes: list[tuple[str, np.ndarray]]) -> None:
    for name, x in closes:
        y = x.copy()
        y[:4] = np.nan
        got = rolling_std(y, 20)
        if len(x) < 24:
            assert np.isnan(got).all(), name
            continue
        want = np.concatenate([np.full(4 + 19, np.nan), sliding_window_view(x[4:], 20).std(axis=1)])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.nanmax(np.abs(x)), err_msg=name)
        np.testing.assert_allclose(rolling_mean(y, 20), talib.SMA(y, 20), rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("n", [1, 2, 31, 32, 33, 1000, 100_003])
def test_reductions_vs_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(3.0, 2.0, n)
    y = 0.3 * x + rng.normal(0, 1, n)
    assert math.isclose(ksum(x), np.sum(x), rel_tol=1e-9)
    assert math.isclose(mean(x), np.mean(x), rel_tol=1e-9)
    assert math.isclose(std(x), np.std(x), rel_tol=1e-9, abs_tol=1e-300)
    if n > 1:
        assert math.isclose(std(x, ddof=1), np.std(x, ddof=1), rel_tol=1e-9)
        assert math.isclose(corr(x, y), np.corrcoef(x, y)[0, 1], rel_tol=1e-9)


def test_reductions_skip_leading_nans() -> None:
    x = np.array([np.nan, np.nan, 1.0, 2.0, 4.0])
    assert ksum(x) == 7.0 and mean(x) == 7.0 / 3
    assert ksum(np.array([np.nan])) == 0.0
    assert math.isnan(corr(np.ones(5), np.arange(5.0)))


# ---------------------------------------------------------------------------------------------
# Decision kernel
# ---------------------------------------------------------------------------------------------


def _reference(weights: list[float], thresholds: list[float], band: float, signals: list[float]) -> tuple[int, float, float]:
    total = 0.0
    for w, t, s in zip(weights, thresholds, signals, strict=True):
        v = 0.0 if math.isnan(s) else min(1.0, max(-1.0, s))
        total += w * (0.0 if abs(v) < t else v)
    score = min(1.0, max(-1.0, total / sum(abs(w) for w in weights)))
    action = 1 if score > band else (-1 if score < -band else 0)
    size = min(1.0, max(0.0, (abs(score) - band) / (1.0 - band))) if action else 0.0
    return action, score, size


@pytest.mark.parametrize("n", [1, 3, 4, 8, 16, 21])
def test_decision_vs_reference_and_batch(n: int) -> None:
    rng = np.random.default_rng(n)
    weights = rng.uniform(-2, 2, n).tolist()
    thresholds = rng.uniform(0, 0.6, n).tolist()
    kernel = DecisionKernel(weights, thresholds, 0.1)
    assert kernel.n_signals == n and kernel.backend == trader.simd_backend()
    signals = rng.uniform(-1.3, 1.3, (500, n))
    signals[rng.random((500, n)) < 0.05] = np.nan
    actions, scores, sizes = kernel.decide_batch(signals)
    assert actions.dtype == np.int8 and scores.shape == sizes.shape == (500,)
    for i, row in enumerate(signals):
        action, score, size = kernel.decide(row)
        # decide and decide_batch: same summation order, bit for bit.
        assert (action, score, size) == (actions[i], scores[i], sizes[i])
        ref = _reference(weights, thresholds, 0.1, row.tolist())
        assert action == ref[0] and math.isclose(score, ref[1], abs_tol=1e-12) and math.isclose(size, ref[2], abs_tol=1e-12)
        assert 0.0 <= size <= 1.0 and -1.0 <= score <= 1.0


def test_decision_hand_example() -> None:
    kernel = DecisionKernel([2.0, -1.0, 1.0], [0.1, 0.1, 0.5], neutral_band=0.2)
    action, score, size = kernel.decide(np.array([0.5, -0.4, 0.3]))
    assert action == 1 and math.isclose(score, 0.35) and math.isclose(size, 0.15 / 0.8)
    assert kernel.decide(np.array([0.05, 0.05, 0.45])) == (0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "exc", "needle"),
    [
        (([], [], 0.1), exceptions.InvalidInputError, "weights"),
        (([1.0, math.inf], [0.0, 0.0], 0.1), exceptions.InvalidInputError, "weights"),
        (([0.0, 0.0], [0.0, 0.0], 0.1), exceptions.InvalidInputError, "weights"),
        (([1.0], [0.0, 0.0], 0.1), exceptions.LengthMismatchError, "thresholds"),
        (([1.0], [1.5], 0.1), exceptions.InvalidInputError, "thresholds"),
        (([1.0], [0.5], 1.0), exceptions.InvalidInputError, "neutral_band"),
        (("ab", [0.5], 0.1), exceptions.ArrayTypeError, "weights"),
    ],
)
def test_decision_construction_errors(args: tuple, exc: type[Exception], needle: str) -> None:
    with pytest.raises(exc, match=needle):
        DecisionKernel(*args)


def test_decision_call_errors() -> None:
    kernel = DecisionKernel([1.0, 1.0], [0.0, 0.0], 0.0)
    with pytest.raises(exceptions.LengthMismatchError, match="signals"):
        kernel.decide(np.zeros(3))
    with pytest.raises(exceptions.ArrayTypeError, match="signals"):
        kernel.decide(np.zeros(2, dtype=np.float32))
    with pytest.raises(exceptions.LengthMismatchError, match="signals"):
        kernel.decide_batch(np.zeros((4, 3)))
    with pytest.raises(exceptions.ArrayTypeError, match="signals"):
        kernel.decide_batch(np.zeros(4))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_kernel_errors() -> None:
    x = np.arange(1.0, 50.0)
    bad = x.copy()
    bad[10] = np.nan
    for fn in (_core.ema_multi, _core.sma_multi, _core.rsi_multi):
        with pytest.raises(exceptions.InvalidInputError, match="periods"):
            fn(x, [])
        with pytest.raises(exceptions.InvalidInputError, match="periods"):
            fn(x, [5, 0])
        with pytest.raises(exceptions.ArrayTypeError, match="periods"):
            fn(x, "abc")
        with pytest.raises(exceptions.ArrayTypeError, match="periods"):
            fn(x, [1.5])
        with pytest.raises(exceptions.NanInSeriesError, match="index 10"):
            fn(bad, [3])
        with pytest.raises(exceptions.ArrayTypeError, match="real"):
            fn(x.astype(np.int64), [3])
        with pytest.raises(exceptions.ArrayTypeError, match="real"):
            fn(x[::2], [3])
    with pytest.raises(exceptions.InvalidInputError, match="window"):
        rolling_sum(x, 0)
    with pytest.raises(exceptions.InvalidInputError, match="ddof"):
        rolling_std(x, 3, ddof=3)
    with pytest.raises(exceptions.InvalidInputError, match="ddof"):
        std(x, ddof=-1)
    with pytest.raises(exceptions.NanInSeriesError):
        rolling_mean(bad, 3)
    with pytest.raises(exceptions.NanInSeriesError):
        ksum(bad)
    with pytest.raises(exceptions.NanInSeriesError):
        std(bad)
    with pytest.raises(exceptions.LengthMismatchError, match="y"):
        corr(x, x[:-1])
    with pytest.raises(exceptions.ArrayTypeError):
        mean([1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# TRADER_SIMD
# ---------------------------------------------------------------------------------------------


def _run_with(backend: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADER_SIMD": backend}
    code = "import numpy as np, trader; print(trader.simd_backend()); print(trader._core.ema_multi(np.arange(50.0), [3, 5])[1, -1])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_trader_simd_env() -> None:
    res = _run_with("scalar")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert lines[0] == "scalar" and float(lines[1]) == _core.ema(np.arange(50.0), 5)[-1]
    for name in ("avx2", "avx512"):
        res = _run_with(name)
        if name in trader.simd_backends_available():
            assert res.returncode == 0 and res.stdout.split()[0] == name, res.stderr
        else:
            assert res.returncode != 0 and res.returncode > 0  # an exception, never a crash (signal)
            assert "SimdUnavailableError" in res.stderr and f"TRADER_SIMD={name}" in res.stderr


def test_crossings_match_the_written_rule(closes: list[tuple[str, np.ndarray]]) -> None:
    from trader.kernels import crossings

    for _name, x in closes[:3]:
        f, s = _core.ema(x, 5), _core.ema(x, 21)
        got = crossings(f, s)
        with np.errstate(invalid="ignore"):
            up = np.r_[False, (f[:-1] <= s[:-1]) & (f[1:] > s[1:])]
            down = np.r_[False, (f[:-1] >= s[:-1]) & (f[1:] < s[1:])]
        assert np.array_equal(got, up.astype(np.int8) - down.astype(np.int8))
        assert not got[:21].any()  # the slow EMA's lookback never crosses
