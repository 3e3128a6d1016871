"""Reference helpers shared by the indicator tests: series generators and comparisons."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def assert_same_nan(ours: np.ndarray, ref: np.ndarray, what: str = "") -> None:
    assert ours.shape == ref.shape, what
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=f"NaN positions differ {what}")


def assert_close(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-9, what: str = "") -> None:
    """Identical NaN positions, values within ``rtol`` relative (exact where the reference is 0)."""
    assert_same_nan(ours, ref, what)
    ok = ~np.isnan(ref)
    a, b = ours[ok], ref[ok]
    bad = np.abs(a - b) > rtol * np.abs(b)
    assert not bad.any(), f"{what}: {bad.sum()} values off, first at {np.flatnonzero(ok)[np.argmax(bad)]}: {a[bad][:3]} vs {b[bad][:3]}"


def assert_bits(ours: np.ndarray, ref: np.ndarray, what: str = "") -> None:
    assert np.array_equal(ours, ref, equal_nan=True), (
        f"{what}: not bit-identical, first diff at {np.flatnonzero(~((ours == ref) | (np.isnan(ours) & np.isnan(ref))))[:3]}"
    )


@st.composite
def price_series(draw, max_len: int = 250) -> np.ndarray:
    """A positive price path: log-uniform scale 1e-8..1e6 times a random walk, with flat runs and
    optional leading NaNs."""
    n = draw(st.integers(0, max_len))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = 10.0 ** draw(st.floats(-8, 6))
    vol = draw(st.sampled_from([0.0, 1e-4, 1e-2, 0.05]))
    flat = draw(st.floats(0, 0.9))
    lead = draw(st.integers(0, 4))
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, vol, n)
    steps[rng.random(n) < flat] = 0.0
    x = scale * np.exp(np.cumsum(steps))
    x[: min(lead, n)] = np.nan
    return np.ascontiguousarray(x)


def ohlcv_from(close: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(close)
    spread = np.abs(rng.normal(0, 0.01, n)) * np.nan_to_num(close, nan=1.0)
    high = close + spread * rng.random(n)
    low = close - spread * rng.random(n)
    vol = np.round(rng.exponential(10.0, n), 3)
    vol[rng.random(n) < 0.1] = 0.0
    return high, low, close.copy(), vol
