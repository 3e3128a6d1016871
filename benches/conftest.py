"""Bench fixtures: a long real close series (the shared 1-minute bars repeated; missing data fails
the bench, see ``benches/_data.py``), and the gate's run id stamped into every results file
(``benches/gate.py`` judges only results of its own run)."""

from __future__ import annotations

import os
import numpy as np
import pytest

from benches._data import shared_file
from tests._data import kline_files, load_ohlcv

N_VALUES = 1_000_000


def pytest_benchmark_update_json(config, benchmarks, output_json) -> None:
    """Stamp the results file with the gate's run id (``TRADER_GATE_RUN``; None outside the gate)."""
    output_json["trader_gate_run"] = os.environ.get("TRADER_GATE_RUN")


@pytest.fixture(scope="session")
def real_ohlcv() -> dict[str, np.ndarray]:
    """≥ 1M one-minute bars: every shared 1-minute BTC file's bars, concatenated and repeated."""
    files = [f for f in kline_files(shared_file("klines_1m")) if f.name.endswith(".feather")]
    if not files:
        pytest.fail(f"no .feather files under {shared_file('klines_1m')}")
    parts = [load_ohlcv(f) for f in files]
    btc = [p for p in parts if p["close"][0] > 1e4]  # BTC files only: one price level
    cols = {c: np.concatenate([p[c] for p in btc]) for c in ("open", "high", "low", "close", "volume")}
    reps = -(-N_VALUES // len(cols["close"]))
    return {c: np.ascontiguousarray(np.tile(v, reps)[:N_VALUES]) for c, v in cols.items()}


@pytest.fixture(scope="session")
def close_1m(real_ohlcv: dict[str, np.ndarray]) -> np.ndarray:
    return real_ohlcv["close"]
