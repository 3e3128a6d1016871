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
#: Test files whose subject runs no SIMD code (marked ``no_simd``): packaging a strategy with pip
#: (a template, a third-party distribution), reports (plotly, a browser), downloads, statistics
#: from statsmodels/hmmlearn/arch, and the live node (its sessions are the L2/quote engine: the
#: store, the write-ahead log, crashes and restarts, control, metrics, failover; no kernel of
#: ``trader._core``'s SIMD dispatch runs there).
_NO_SIMD = ("tests/test_new_strategy.py", "tests/test_third_party_plugin.py", "tests/report/",
            "tests/data/test_download.py", "tests/research/test_diagnostics.py", "tests/live/")


def pytest_collection_modifyitems(config, items):
    """Mark the suites that run against the local exchange, and the others that exercise no SIMD
    code: CI's second pass (``TRADER_SIMD=scalar``) leaves them out with
    ``-m "not local_exchange and not no_simd"``."""
    for item in items:
        path = item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else ""
        if path.startswith(_LOCAL_EXCHANGE):
            item.add_marker(pytest.mark.local_exchange)
        if path.startswith(_NO_SIMD):
            item.add_marker(pytest.mark.no_simd)
