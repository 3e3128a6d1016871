"""Shared fixtures: where the recorded market data lives, and how to read its 1-minute bars.

The data stays in ``../shared/data`` (or ``$TRADER_SHARED_DATA``) and is read in place. A test that
needs it is skipped on a developer machine without it, and *fails* under ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._data import ROOT, kline_files, load_ohlcv


def _data_dir() -> Path:
    return Path(os.environ.get("TRADER_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _data_dir()
    if not (path / "klines_1m").is_dir():
        msg = f"recorded market data not found at {path} (set TRADER_SHARED_DATA)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def klines_1m(shared_data: Path) -> dict[str, dict]:
    """Every 1-minute bar file in the shared data, as ``{relative name: {open, high, ..., volume}}``."""
    files = kline_files(shared_data / "klines_1m")
    assert files, f"no 1-minute bar files under {shared_data / 'klines_1m'}"
    return {str(p.relative_to(shared_data)): load_ohlcv(p) for p in files}


@pytest.fixture(scope="session")
def klines_1m_paths(shared_data: Path) -> list[tuple[Path, dict]]:
    """Every 1-minute bar file with its bars as the engine reads them (ts in ns + OHLCV)."""
    from trader.data import open_bars

    out = []
    for p in kline_files(shared_data / "klines_1m"):
        b = open_bars(str(p)).load()
        out.append((p, {"ts": b.ts, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}))
    assert out
    return out


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    """After each test, collect its cyclic garbage here, on the main thread: a live session is
    bound to the thread that made it (``unsendable``), and a cycle left for later may be collected
    on some other thread of a later test (a control-API client, an exchange's loop), where
    dropping it raises."""
    yield
    import gc

    gc.collect()


#: Test files that trade against the local exchange (marked ``local_exchange``).
_LOCAL_EXCHANGE = ("tests/exchange/", "tests/plugins/venues/", "tests/live/test_binance_", "tests/live/test_venue_link")
#: Test files whose subject is code that runs on the process's SIMD backend (marked ``simd``): the
#: kernels themselves (every backend against scalar, in one process: test_simd.py), the indicators
#: (RSI's blocked kernel), the decision kernel and the vectorized path, the bar engine (its price
#: grid check), sweeps and statistics (the multi-period and reduction kernels). CI's second pass runs
#: them again with ``TRADER_SIMD=scalar`` (``-m simd``): the product on a CPU without AVX. The other
#: suites (the live node, venues, reports, packaging, data readers) reach SIMD code only through
#: these, which are bit-identical across backends.
_SIMD = ("tests/test_simd.py", "tests/test_kernel.py", "tests/test_indicators", "tests/test_backtest.py",
         "tests/test_margin.py", "tests/strategies/", "tests/research/test_sweep.py", "tests/research/test_stats.py",
         "tests/research/test_splits.py", "tests/regressions/test_checks.py")


def pytest_collection_modifyitems(config, items):
    """Mark the suites that run against the local exchange (``local_exchange``: network I/O on
    127.0.0.1) and those whose subject runs on the SIMD backend (``simd``: CI's scalar pass)."""
    for item in items:
        path = item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else ""
        if path.startswith(_LOCAL_EXCHANGE):
            item.add_marker(pytest.mark.local_exchange)
        if path.startswith(_SIMD):
            item.add_marker(pytest.mark.simd)
