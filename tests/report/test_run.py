"""The record a tearsheet is drawn from (``trader.report.run``): a tick/L2 run's equity and
inventory rebuilt from its fills, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from trader.report.run import from_l2


def test_an_l2_runs_equity_is_cash_plus_position_marked_at_each_fill() -> None:
    report = {
        "initial_cash": 1000.0, "first_ts": 0, "last_ts": 10, "equity": 1009.0, "symbol": "BTCUSDT",
        "price_precision": 1, "fills": 3,
        # given out of order: the record sorts them by time
        "fill_columns": {"ts": np.array([5, 2, 8]), "side": np.array([-1, 1, 1]), "price": np.array([110.0, 100.0, 105.0]),
                         "qty": np.array([1.0, 1.0, 0.5]), "fee": np.array([0.1, 0.1, -0.05]),
                         "order_id": np.array([2, 1, 3]), "maker": np.array([True, False, True])},
    }
    rec = from_l2(report, name="mm")
    assert rec.kind == "l2" and rec.equity_ts.tolist() == [0, 2, 5, 8, 10]
    # t=2: buy 1 @100, fee .1 -> cash 899.9 + 1 x 100; t=5: sell 1 @110 -> cash 1009.8, flat;
    # t=8: buy .5 @105 with a .05 rebate -> cash 957.35 + .5 x 105; the end: the report's equity
    assert rec.equity.tolist() == pytest.approx([1000.0, 999.9, 1009.8, 1009.85, 1009.0])
    assert rec.position is not None and rec.position.tolist() == [0.0, 1.0, 0.0, 0.5, 0.5]
    assert rec.fills["maker"].tolist() == [False, True, True]
    assert ("instrument", "BTCUSDT") in rec.meta and "fill_columns" not in rec.summary


def test_an_l2_run_without_fills_is_flat_from_start_to_end() -> None:
    rec = from_l2({"initial_cash": 50.0, "first_ts": 1, "last_ts": 9, "equity": 50.0, "fill_columns": {}})
    assert rec.equity_ts.tolist() == [1, 9] and rec.equity.tolist() == [50.0, 50.0]
    assert rec.position is not None and rec.position.tolist() == [0.0, 0.0]
