"""The tearsheet's computations (``trader.report.compute``) against small cases worked by hand."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from trader.report import compute as C

S = 10**9  # one second in ns


def test_drawdown_periods_are_found_measured_and_ranked_deepest_first() -> None:
    ts = np.arange(8) * S
    equity = np.array([100, 110, 99, 105, 110, 120, 90, 100], dtype=float)
    # peaks 100 110 110 110 110 120 120 120 -> below at 2..3 (back at 110 on 4) and at 6..7 (never back)
    assert np.allclose(C.underwater(equity), [0, 0, -0.1, 105 / 110 - 1, 0, 0, -0.25, 100 / 120 - 1])
    first, second = C.drawdown_periods(ts, equity, top=5)
    assert (first.start, first.trough, first.recovery, first.length_s) == (5 * S, 6 * S, None, 2.0)
    assert first.depth == pytest.approx(0.25)
    assert (second.start, second.trough, second.recovery, second.length_s) == (1 * S, 2 * S, 4 * S, 3.0)
    assert second.depth == pytest.approx(0.1)
    assert C.drawdown_periods(ts, equity, top=1) == [first]


def test_a_curve_that_only_rises_has_no_drawdown_period() -> None:
    assert C.drawdown_periods(np.arange(3) * S, np.array([1.0, 2.0, 3.0])) == []
    assert C.drawdown_periods(np.empty(0, np.int64), np.empty(0)) == []


def _ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


def test_monthly_returns_chain_from_the_previous_months_last_value() -> None:
    ts = np.array([_ns("2024-01-15"), _ns("2024-01-31T23:59"), _ns("2024-02-10"), _ns("2024-03-05")])
    equity = np.array([105.0, 110.0, 99.0, 108.9])
    years, grid = C.monthly_returns(ts, equity, initial=100.0)
    assert years == [2024]
    # Jan: 100 -> 110; Feb: 110 -> 99; Mar: 99 -> 108.9; no point after March
    assert grid[0, :3] == pytest.approx([0.10, -0.10, 0.10])
    assert np.isnan(grid[0, 3:]).all()


def test_monthly_and_yearly_returns_span_the_years_of_the_run() -> None:
    ts = np.array([_ns("2023-12-31"), _ns("2024-01-01"), _ns("2024-06-30")])
    equity = np.array([120.0, 90.0, 99.0])
    years, grid = C.monthly_returns(ts, equity, initial=100.0)
    assert years == [2023, 2024]
    assert grid[0, 11] == pytest.approx(0.2) and grid[1, 0] == pytest.approx(-0.25) and grid[1, 5] == pytest.approx(0.1)
    assert np.isnan(grid[0, :11]).all() and np.isnan(grid[1, 6:]).all()
    ys, r = C.yearly_returns(ts, equity, initial=100.0)
    assert ys == [2023, 2024] and r == pytest.approx([0.2, 99 / 120 - 1])


def test_daily_returns_take_each_days_last_value() -> None:
    day = C.DAY_NS
    ts = np.array([0, 3600 * S, day + 5, day + 7, 3 * day])
    days, r = C.period_returns(ts, np.array([101.0, 102.0, 98.0, 96.0, 120.0]), 100.0, day)
    assert days.tolist() == [0, day, 3 * day]  # a day without a point is left out
    assert r == pytest.approx([0.02, 96 / 102 - 1, 0.25])


def test_rolling_sharpe_and_volatility_match_the_textbook_formula() -> None:
    r = np.array([0.01, 0.02, 0.03, -0.01])
    sharpe = C.rolling_sharpe(r, window=3, periods_per_year=4)
    vol = C.rolling_volatility(r, window=3, periods_per_year=4)
    assert np.isnan(sharpe[:2]).all() and np.isnan(vol[:2]).all()
    for i in (2, 3):
        w = r[i - 2:i + 1]
        sd = statistics.stdev(w)
        assert sharpe[i] == pytest.approx(statistics.fmean(w) / sd * math.sqrt(4))
        assert vol[i] == pytest.approx(sd * 2)
    assert sharpe[2] == pytest.approx(4.0)  # mean 0.02, std 0.01, sqrt(4) = 2


def test_rolling_sharpe_is_undefined_without_variation() -> None:
    assert np.isnan(C.rolling_sharpe(np.full(5, 0.01), 3, 252)).all()


def test_buy_and_hold_buys_at_the_first_open_and_marks_at_each_close() -> None:
    bars_ts = np.array([0, 10, 20]) * S
    got = C.buy_and_hold(np.array([-5, 0, 15, 25]) * S, bars_ts, np.array([100.0, 101.0, 102.0]),
                         np.array([101.0, 102.0, 99.0]), cash=1000.0)
    # 10 units bought at 100; before the first bar: the cash
    assert got.tolist() == [1000.0, 1010.0, 1020.0, 990.0]


def test_downsampling_keeps_the_true_ohlc_of_each_bucket() -> None:
    ts = np.arange(7) * 60 * S
    o = np.array([10.0, 11, 12, 13, 14, 15, 16])
    h = np.array([12.0, 19, 13, 14, 15, 30, 17])
    lo = np.array([9.0, 10, 5, 12, 13, 14, 1])
    c = np.array([11.0, 12, 13, 14, 15, 16, 2])
    t2, o2, h2, l2, c2, k = C.downsample_ohlc(ts, o, h, lo, c, max_candles=3)
    assert k == 3  # ceil(7 / 3): buckets [0:3], [3:6], [6:7]
    assert t2.tolist() == [0, 180 * S, 360 * S]
    assert o2.tolist() == [10, 13, 16]
    assert h2.tolist() == [19, 30, 17]
    assert l2.tolist() == [5, 12, 1]
    assert c2.tolist() == [13, 16, 2]


def test_downsampling_leaves_bars_that_fit_alone_and_refuses_zero_candles() -> None:
    ts = np.arange(3)
    *_, k = C.downsample_ohlc(ts, ts, ts, ts, ts, max_candles=3)
    assert k == 1
    with pytest.raises(ValueError, match="max_candles"):
        C.downsample_ohlc(ts, ts, ts, ts, ts, max_candles=0)


def test_a_million_bars_become_at_most_the_asked_candles_with_their_extremes() -> None:
    rng = np.random.default_rng(7)
    n = 1_000_000
    close = 100 + np.cumsum(rng.normal(size=n))
    high, low = close + 1, close - 1
    t, o, h, lo, c, k = C.downsample_ohlc(np.arange(n), close, high, low, close, max_candles=2_000)
    assert len(t) == 2_000 and k == 500
    assert h.max() == high.max() and lo.min() == low.min()
    assert o[1] == close[500] and c[0] == close[499]


def test_line_downsampling_keeps_every_bucket_extreme_and_the_ends() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=10_000)
    t, v = C.downsample_line(np.arange(10_000), y, max_points=100)
    assert len(v) <= 102
    assert v.max() == y.max() and v.min() == y.min()
    assert t[0] == 0 and t[-1] == 9_999 and np.all(np.diff(t) > 0)
    assert np.array_equal(v, y[t])


def test_position_sums_the_signed_fills_up_to_each_time() -> None:
    pos = C.position_at(np.array([0, 5, 10, 20]) * S, np.array([5, 10, 10]) * S, np.array([2.0, -1.0, -0.5]))
    assert pos.tolist() == [0.0, 2.0, 0.5, 0.5]


def test_the_return_period_gives_enough_points() -> None:
    minute = 60 * S
    assert C.choose_period(100 * C.DAY_NS, minute) == C.DAY_NS
    assert C.choose_period(10 * C.DAY_NS, minute) == 3600 * S
    assert C.choose_period(30 * minute, S) == S  # 30 minutes of 1-second bars: per bar
