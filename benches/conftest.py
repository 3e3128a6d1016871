"""Bench fixtures: a long real close series (the shared 1-minute bars repeated) and a seeded fallback."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests._data import ROOT, kline_files, load_ohlcv

N_VALUES = 1_000_000


@pytest.fixture(scope="session")
def real_ohlcv() -> dict[str, np.ndarray]:
    """≥ 1M one-minute bars: every shared 1-minute file's bars, concatenated and repeated.

    Repetitions are level-shifted so each copy joins the previous close: the series stays a
    plausible price path. Falls back to a seeded random walk only outside CI.
    """
    data = Path(os.environ.get("TRADER_SHARED_DATA", ROOT.parent / "shared" / "data"))
    files = kline_files(data / "klines_1m") if (data / "klines_1m").is_dir() else []
    files = [f for f in files if f.name.endswith(".feather")]
    if not files:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"shared data not found at {data}")
        rng = np.random.default_rng(7)
        close = 1e4 * np.exp(np.cumsum(rng.normal(0, 1e-3, N_VALUES)))
        return {"open": close, "high": close * 1.001, "low": close * 0.999, "close": close, "volume": np.ones(N_VALUES)}
    parts = [load_ohlcv(f) for f in files]
    btc = [p for p in parts if p["close"][0] > 1e4]  # BTC files only: one price level
    cols = {c: np.concatenate([p[c] for p in btc]) for c in ("open", "high", "low", "close", "volume")}
    reps = -(-N_VALUES // len(cols["close"]))
    return {c: np.ascontiguousarray(np.tile(v, reps)[:N_VALUES]) for c, v in cols.items()}


@pytest.fixture(scope="session")
def close_1m(real_ohlcv: dict[str, np.ndarray]) -> np.ndarray:
    return real_ohlcv["close"]
