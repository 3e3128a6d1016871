"""Fill models as venue plugins: lookup, validation, and their effect on a run (hand-built bars)."""

from __future__ import annotations

import numpy as np
import pytest

from trader import Strategy, run_backtest
from trader.data import Bars
from trader.exceptions import InvalidInputError
from trader.fill_models import parse_spec, resolve
from trader.plugins import fill_models, list_plugins

MIN = 60_000_000_000


def bars(rows, volume=None):
    o, h, lo, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    v = np.full(len(rows), 10.0) if volume is None else np.asarray(volume, dtype=np.float64)
    return Bars("X", np.arange(len(rows), dtype=np.int64) * MIN, o, h, lo, c, v)


class BuyOnce(Strategy):
    name = "buy_once"

    def __init__(self, qty=1.0, **kw):
        super().__init__()
        self.qty, self.kw = qty, kw

    def on_bar(self, bar):
        if bar.ts == 0:
            self.buy(self.qty, **self.kw)


ROWS = [(100.0, 101.0, 99.0, 100.0)] * 6


def test_every_built_in_model_is_a_plugin_with_documented_assumptions():
    models = fill_models()
    kinds = {m.kind for m in models.values()}
    assert kinds == {"bars", "quotes", "l2", "slippage", "latency", "fees"}
    for m in models.values():
        assert len(m.assumes) > 40, m.name
    rows = [r for r in list_plugins() if r.kind == "fill model"]
    assert {r.name for r in rows} == set(models)


def test_specs_parse_and_validate():
    assert parse_spec("bars:path=ohlc,participation=0.1") == ("bars", {"path": "ohlc", "participation": 0.1})
    assert resolve("latency", "lognormal:submit_ms=20") == {"model": "lognormal", "submit_ms": 20.0, "cancel_ms": None, "sigma": 0.5, "seed": 0}
    with pytest.raises(InvalidInputError, match="unknown model 'nope'"):
        resolve("slippage", "nope")
    with pytest.raises(InvalidInputError, match="unknown parameter 'x'"):
        resolve("bars", "bars:x=1")
    with pytest.raises(InvalidInputError, match="participation must be within"):
        resolve("bars", "bars:participation=2")
    with pytest.raises(InvalidInputError, match="latency model: unknown model .bars."):
        resolve("latency", "bars")  # a model of another kind
    with pytest.raises(InvalidInputError, match="expected key=value"):
        parse_spec("bars:path")


def test_participation_cap_splits_a_market_order_into_partial_fills():
    # 1.0 to buy, bars of volume 10, 5% participation: 0.5 per bar → two fills at two opens.
    r = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=1, size_precision=2, fill_model="bars:participation=0.05")
    assert r.fills["qty"].tolist() == [0.5, 0.5]
    assert r.fills["ts"].tolist() == [1 * MIN, 2 * MIN]
    orders = r.orders_table().to_pydict()
    assert orders["status"] == ["FILLED"] and orders["filled"] == [1.0]


def test_constant_latency_delays_the_fill_to_the_first_bar_after_arrival():
    # Sent at bar 0's close (t=1 min) with 150 s latency: arrives at 3.5 min, trades at the open of
    # bar 4 (t=4 min).
    r = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=1, latency="constant:submit_ms=150000")
    assert r.fills["ts"].tolist() == [4 * MIN]


class BuyEveryBar(Strategy):
    name = "buy_every_bar"

    def on_bar(self, bar):
        self.buy(0.1)


def test_lognormal_latency_is_deterministic_for_a_seed():
    # 40 orders, each delayed by a lognormal draw around one bar: the seed fixes every draw, and
    # another seed draws other delays, so other fill times.
    rows = [(100.0 + i % 7, 108.0, 92.0, 100.0) for i in range(40)]
    runs = [run_backtest(BuyEveryBar(), data=bars(rows), price_precision=1, size_precision=1,
                         latency=f"lognormal:submit_ms=60000,sigma=1.0,seed={s}") for s in (7, 7, 8)]
    fills = [(r.fills["ts"].tolist(), r.fills["price"].tolist()) for r in runs]
    assert len(fills[0][0]) > 30
    assert fills[0] == fills[1]
    assert fills[0][0] != fills[2][0]
    no_latency = run_backtest(BuyEveryBar(), data=bars(rows), price_precision=1, size_precision=1)
    assert fills[0][0] != no_latency.fills["ts"].tolist()


def test_flat_maker_taker_fees_and_tiers():
    # A taker buy of 1 at 100 (next open) with taker 4 bps → 0.04; maker -1 bps unused.
    r = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=1, fees="flat:maker_bps=-1,taker_bps=4")
    assert r.fills["fee"].tolist() == [pytest.approx(0.04)]
    # Binance USD-M tier 0 taker = 5 bps.
    r = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=1, fees="tiered:schedule=binance_usdm")
    assert r.fills["fee"].tolist() == [pytest.approx(0.05)]
    # A maker (limit) fill pays the maker rate: 2 bps at tier 0.
    r = run_backtest(BuyOnce(1.0, price=99.5), data=bars(ROWS), price_precision=1, fees="tiered:schedule=binance_usdm")
    assert r.fills["maker"].tolist() == [True] and r.fills["fee"].tolist() == [pytest.approx(99.5 * 2e-4)]


def test_slippage_models_by_name():
    # sqrt impact: k * sigma * sqrt(qty / volume) with the bar's Parkinson sigma; a buy pays more.
    plain = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=2)
    impact = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=2, slippage="sqrt_impact:k=1.0")
    assert impact.fills["price"][0] > plain.fills["price"][0] == 100.0
    none = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=2, slippage="no_slippage", slippage_bps=50.0)
    assert none.fills["price"].tolist() == [100.0]
    fixed = run_backtest(BuyOnce(1.0), data=bars(ROWS), price_precision=2, slippage="fixed_bps:bps=10")
    assert fixed.fills["price"].tolist() == [100.1]
