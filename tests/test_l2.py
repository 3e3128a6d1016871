"""The L2 backtest loop over the recorded usdm stream: the native Rust market maker and the same
logic as a Python Strategy give the same fills; exact accounting; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trader
from trader.exceptions import InvalidInputError, StrategyError
from trader.strategy import Strategy
from trader_strategies.l2_market_maker import L2MarketMaker


@pytest.fixture(scope="module")
def usdm(shared_data: Path) -> str:
    return str(shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz")


@pytest.mark.parametrize("fill_model", ["l2:queue=risk_averse", "l2:queue=power,power=2", "l2:queue=log"])
def test_python_strategy_matches_native(usdm: str, fill_model: str) -> None:
    kw = dict(fill_model=fill_model, maker_fee_bps=-0.5, taker_fee_bps=5.0)
    native = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, **kw)
    py = trader.run_l2_backtest(usdm, L2MarketMaker(qty=0.002, max_position=0.01), **kw)
    assert native["events"] == py["events"] == 93_954
    assert native["sync_errors"] == 0
    assert native["strategy_calls"] == py["strategy_calls"] > 3000
    for k in ("orders", "fills", "maker_fills", "position", "cash", "fees"):
        assert native[k] == py[k], k
    assert native["fills"] > 0 and native["maker_fills"] == native["fills"]  # post-only: maker only
    assert abs(native["position"]) <= 0.01 + 1e-12
    f = native["fill_columns"]
    assert bool(np.all(f["maker"])) and bool(np.all(f["fee"] <= 0))
    cash = -np.sum(f["side"] * f["price"] * f["qty"]) - np.sum(f["fee"])
    assert cash == pytest.approx(native["cash"], rel=1e-9)


def test_strategy_by_name_and_fill_events(usdm: str) -> None:
    seen: list[dict] = []

    class Recorder(L2MarketMaker):
        def on_order_event(self, event: dict) -> None:
            seen.append(event)

    r = trader.run_l2_backtest(usdm, Recorder(qty=0.002), elapse_ms=500)
    assert len(seen) == r["fills"] > 0
    assert {e["liquidity"] for e in seen} == {"MAKER"}
    by_name = trader.run_l2_backtest(usdm, "l2_market_maker", elapse_ms=500, qty=0.002)
    assert by_name["fills"] == r["fills"]


def test_errors(usdm: str, tmp_path: Path) -> None:
    class Boom(Strategy):
        def on_book(self, book: object) -> None:
            raise RuntimeError("boom")

    with pytest.raises(StrategyError, match="boom"):
        trader.run_l2_backtest(usdm, Boom())
    with pytest.raises(InvalidInputError, match="elapse_ms"):
        trader.run_l2_backtest(usdm, elapse_ms=0)
    with pytest.raises(InvalidInputError, match="unknown parameter"):
        trader.run_l2_backtest(usdm, None, size=1)
    with pytest.raises(InvalidInputError, match="queue"):
        trader.run_l2_backtest(usdm, fill_model="l2:queue=fifo")
    with pytest.raises(FileNotFoundError):
        trader.run_l2_backtest(str(tmp_path / "missing.gz"))


def test_tick_backtest_python_matches_native(shared_data: Path) -> None:
    d = shared_data / "trades" / "nautilus"
    kw = dict(price_precision=2, size_precision=3, maker_fee_bps=-0.25)
    native = trader.run_tick_backtest(d / "tardis_trades.csv.gz", d / "tardis_quotes.csv.gz", None, qty=0.001, max_position=0.005, **kw)
    py = trader.run_tick_backtest(d / "tardis_trades.csv.gz", d / "tardis_quotes.csv.gz", L2MarketMaker(qty=0.001, max_position=0.005), **kw)
    assert native["events"] == py["events"] == 19_998
    for k in ("orders", "fills", "maker_fills", "position", "cash", "fees"):
        assert native[k] == py[k], k
    assert native["fills"] > 0 and native["maker_fills"] == native["fills"]


def test_tick_backtest_on_binance_recording(usdm: str, shared_data: Path) -> None:
    r = trader.run_tick_backtest(usdm, None, None, price_precision=2, size_precision=3, qty=0.002)
    assert r["events"] == 21_313 + 66_089
    assert r["fills"] > 0 and r["maker_fills"] == r["fills"]
    tardis_trades = shared_data / "trades/nautilus/tardis_trades.csv.gz"
    with pytest.raises(InvalidInputError, match="quotes: .* holds trades"):
        trader.run_tick_backtest(usdm, tardis_trades, price_precision=2, size_precision=3)


def test_latency_in_the_l2_loop_is_deterministic_and_changes_the_fills(usdm: str) -> None:
    base = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)
    slow = [trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, latency="lognormal:submit_ms=20,sigma=0.5,seed=3")
            for _ in range(2)]
    assert slow[0]["fills"] == slow[1]["fills"] and slow[0]["cash"] == slow[1]["cash"]
    assert slow[0]["fills"] != base["fills"] and slow[0]["sync_errors"] == 0
    # another seed draws other latencies: another run
    other = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, latency="lognormal:submit_ms=20,sigma=0.5,seed=4")
    assert (other["fills"], other["cash"]) != (slow[0]["fills"], slow[0]["cash"])
    with pytest.raises(InvalidInputError, match="submit_ms must be >= 0"):
        trader.run_l2_backtest(usdm, None, latency="constant:submit_ms=-1")
