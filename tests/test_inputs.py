"""The numbers of a run are checked before any work (trader.inputs), naming the option and the range."""

from __future__ import annotations

import math

import pytest
from trader import run_backtest
from trader.exceptions import InvalidInputError
from trader.inputs import MAX_CASH, check_number, check_run_numbers, printable


def test_check_number_bounds_and_message():
    assert check_number("x", 5, ge=0, lt=10) == 5.0
    assert check_number("x", "2.5", gt=0) == 2.5
    for bad, bounds in ((10, {"lt": 10}), (-1e-9, {"ge": 0}), (0, {"gt": 0}), (math.nan, {}), (math.inf, {"ge": 0}), (11, {"le": 10})):
        with pytest.raises(InvalidInputError, match=r"^x: must be a finite number"):
            check_number("x", bad, **bounds)
    with pytest.raises(InvalidInputError, match=r"^x: expected a number, got 'ten'"):
        check_number("x", "ten")
    with pytest.raises(InvalidInputError, match=r"^x: expected a number, got True"):
        check_number("x", True)
    with pytest.raises(InvalidInputError, match=r"^cash: must be a finite number > 0 and <= 1e15 \(because\), got 1e308$"):
        check_number("cash", 1e308, gt=0, le=MAX_CASH, why="because")


@pytest.mark.parametrize(
    ("setting", "value", "option"),
    [
        ("cash", 1e308, "cash"), ("cash", MAX_CASH * 1.01, "cash"), ("cash", math.nan, "cash"), ("cash", 0, "cash"),
        ("fee_bps", 10_000, "fee-bps"), ("fee_bps", -1, "fee-bps"), ("taker_fee_bps", 20_000, "taker-fee-bps"),
        ("maker_fee_bps", -10_000, "maker-fee-bps"), ("maker_fee_bps", 10_000, "maker-fee-bps"),
        ("slippage_bps", 10_000, "slippage-bps"), ("spread_bps", math.inf, "spread-bps"), ("impact_k", -1, "impact-k"),
        ("leverage", 0.5, "leverage"), ("leverage", 1001, "leverage"), ("maintenance_margin", 1, "maintenance-margin"),
        ("liquidation_fee", -0.1, "liquidation-fee"), ("funding_rate", 1, "funding-rate"), ("funding_interval_h", 0, "funding-interval-h"),
    ],
)
def test_out_of_range_settings_are_refused_before_the_data_is_opened(setting, value, option):
    check_run_numbers(**{setting: None})  # None: not given
    with pytest.raises(InvalidInputError, match=rf"^{option}: must be a finite number"):
        check_run_numbers(**{setting: value})
    # the data path does not exist: the number is refused first, so nothing was read
    with pytest.raises(InvalidInputError, match=rf"^{option}: "):
        run_backtest("ema_cross", data="no/such/file.csv", **{setting: value})


def test_the_edges_that_are_allowed():
    check_run_numbers(cash=MAX_CASH, fee_bps=9_999.99, maker_fee_bps=-9_999, taker_fee_bps=0, slippage_bps=0,
                      leverage=1000, maintenance_margin=0, funding_rate=-0.5)
    result = run_backtest("ema_cross", options={"bars": 2_000}, cash=MAX_CASH)
    assert result.stats["initial_cash"] == MAX_CASH and result.stats["final_equity"] > 0


def test_unknown_setting_is_a_programming_error():
    with pytest.raises(TypeError, match="unknown setting 'fees_bps'"):
        check_run_numbers(fees_bps=1)


def test_printable():
    assert printable("é\x07\t") == "é\\x07\\t"
    assert len(printable("z" * 5000)) == 300
