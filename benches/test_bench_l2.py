"""L2 backtest benches on the recorded usdm stream (events/s).

Group ``l2_mm_backtest_py``: ``ours`` = the passive market maker as a Python Strategy driven by
the Rust L2 loop (``on_book`` every 100 ms of market time); ``anchor`` = the bare replay of the
same stream (decode + Binance sync + book, ``trader._core.replay_binance_depth``). Items = the
recording's events (lines). A third entry (role ``native``, printed, not gated) runs the native
Rust market maker; the criterion group ``l2_mm_backtest`` (core-rs/benches/l2.rs) gates that one.
"""

from __future__ import annotations

import pytest

import trader
from benches._data import shared_file
from trader import _core
from trader_strategies.l2_market_maker import L2MarketMaker

EVENTS = 93_954


@pytest.fixture(scope="module")
def usdm() -> str:
    return str(shared_file("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"))


def test_l2_mm_python(benchmark, usdm: str) -> None:
    benchmark.group = "l2_mm_backtest_py"
    benchmark.extra_info["role"] = "ours"
    benchmark.extra_info["items"] = EVENTS
    native = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)
    r = benchmark.pedantic(lambda: trader.run_l2_backtest(usdm, L2MarketMaker(qty=0.002, max_position=0.01)), rounds=3, iterations=1)
    benchmark.extra_info["correct"] = bool(r["events"] == EVENTS and r["fills"] == native["fills"] and r["cash"] == native["cash"])


def test_l2_mm_native(benchmark, usdm: str) -> None:
    benchmark.group = "l2_mm_backtest_py"
    benchmark.extra_info["role"] = "native"
    benchmark.extra_info["items"] = EVENTS
    r = benchmark.pedantic(lambda: trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01), rounds=3, iterations=1)
    benchmark.extra_info["correct"] = bool(r["events"] == EVENTS and r["sync_errors"] == 0)


def test_l2_replay_anchor(benchmark, usdm: str) -> None:
    benchmark.group = "l2_mm_backtest_py"
    benchmark.extra_info["role"] = "anchor"
    benchmark.extra_info["items"] = EVENTS
    r = benchmark.pedantic(lambda: _core.replay_binance_depth(usdm, "usdm"), rounds=3, iterations=1)
    benchmark.extra_info["correct"] = bool(r["messages"] == EVENTS and r["sync_errors"] == 0)
