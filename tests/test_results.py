"""``trader.results.statistics`` against statistics computed by hand, from their written formulas,
on a small equity curve and trade list (exact fractions up to the final square root and power).

The data are gap-free (one point a day, every day) and the equity stays positive, where every
convention of the module docstring is unambiguous:
- returns: simple, one per point, the first against the initial cash;
- periods per year = 365.25 days / interval; Sharpe = mean / std(ddof=1) · sqrt(periods per year);
  Sortino = mean / sqrt(mean(min(r, 0)²)) · sqrt(periods per year); risk-free rate 0;
- CAGR = (final / initial) ^ (1 / years) − 1, years = (last ts − first ts + interval) / 365.25 days;
- max drawdown = the largest fall from a running peak (the initial cash counts as the first peak),
  as a fraction of that peak; Calmar = CAGR / max drawdown;
- profit factor = gross profit / gross loss; win rate = winners / trades; expectancy = mean PnL.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from trader.results import statistics

DAY_NS = 86_400 * 10**9
INITIAL = 1_000
EQUITY = [1_010, 1_030, 1_015, 990, 1_005, 1_040, 1_020, 1_060, 1_055, 1_080]
TRADES = [30, -10, 25, -15, 12, -2]
EXPOSED = [True, True, False, True, True, True, False, True, True, False]


def by_hand() -> dict[str, float]:
    eq = [F(e) for e in EQUITY]
    prev = [F(INITIAL), *eq[:-1]]
    r = [e / p - 1 for e, p in zip(eq, prev)]
    n = len(r)
    mean = sum(r) / n
    var = sum((x - mean) ** 2 for x in r) / (n - 1)  # ddof = 1
    down = sum(min(x, F(0)) ** 2 for x in r) / n
    ppy = F(36525, 100)  # 365.25 days / 1 day
    years = F(n, 1) / ppy  # (last − first + interval) = n days
    cagr = (EQUITY[-1] / INITIAL) ** (1 / float(years)) - 1
    peak, mdd = F(INITIAL), F(0)
    for e in eq:
        peak = max(peak, e)
        mdd = max(mdd, (peak - e) / peak)
    wins = [p for p in TRADES if p > 0]
    losses = [p for p in TRADES if p < 0]
    return {
        "total_return": float(eq[-1] / INITIAL - 1),
        "sharpe": float(mean) / math.sqrt(var) * math.sqrt(ppy),
        "sortino": float(mean) / math.sqrt(down) * math.sqrt(ppy),
        "cagr": cagr,
        "max_drawdown": float(mdd),
        "calmar": cagr / float(mdd),
        "profit_factor": float(F(sum(wins)) / -sum(losses)),
        "win_rate": len(wins) / len(TRADES),
        "expectancy": float(F(sum(TRADES), len(TRADES))),
        "exposure": sum(EXPOSED) / len(EXPOSED),
    }


def test_statistics_equal_their_formulas_computed_by_hand():
    """Sharpe, Sortino, CAGR, Calmar and profit factor (and their inputs) have values, not only
    keys: each equals the hand computation above to 1e-12 relative."""
    ts = np.arange(len(EQUITY), dtype=np.int64) * DAY_NS + 1_700_000_000 * 10**9
    got = statistics(equity=np.array(EQUITY, dtype=np.float64), ts=ts, exposed=np.array(EXPOSED), trade_pnl=np.array(TRADES, dtype=np.float64),
                     initial_cash=float(INITIAL), interval_ns=DAY_NS, fees=0.0)
    want = by_hand()
    # the numbers the test stands on: a drawdown from 1030 to 990, a curve up 8% over 10 days
    assert want["max_drawdown"] == pytest.approx(40 / 1030, rel=1e-15)
    assert want["profit_factor"] == pytest.approx(67 / 27, rel=1e-15)
    assert want["cagr"] == pytest.approx(1.08**36.525 - 1, rel=1e-12)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=0), key
    assert got["trades"] == len(TRADES)


def test_statistics_reject_a_wrong_convention():
    """The hand reference is sharp enough to tell the conventions apart: a population std
    (ddof = 0), a downside deviation over the losing returns only, or a year of 365 days all
    move the figure by more than the tolerance."""
    want = by_hand()
    eq = [F(e) for e in EQUITY]
    r = [e / p - 1 for e, p in zip(eq, [F(INITIAL), *eq[:-1]])]
    mean = float(sum(r) / len(r))
    ddof0 = mean / math.sqrt(float(sum((x - sum(r) / len(r)) ** 2 for x in r) / len(r))) * math.sqrt(365.25)
    losers = [x for x in r if x < 0]
    down_losers = mean / math.sqrt(float(sum(x**2 for x in losers) / len(losers))) * math.sqrt(365.25)
    year_365 = 1.08 ** (365 / 10) - 1
    assert ddof0 != pytest.approx(want["sharpe"], rel=1e-6)
    assert down_losers != pytest.approx(want["sortino"], rel=1e-6)
    assert year_365 != pytest.approx(want["cagr"], rel=1e-6)


def test_a_trade_open_at_the_end_is_marked_at_the_last_bar():
    """A position still open when the data ends is a round trip marked at the last bar: its exit
    time is that bar's, its holding time positive — also after the equity curve was read."""
    from trader import Strategy
    from trader.backtest import run_backtest

    class BuyAndHold(Strategy):
        def on_bar(self, bar) -> None:
            self.last_ts = bar.ts
            if not self.position():
                self.buy(0.1)

    strategy = BuyAndHold()
    result = run_backtest(strategy, options={"bars": 500}, cash=1_000_000)
    assert len(result.equity) > 0  # the curve is handed over first
    t = result.trades_table().to_pydict()
    assert t["exit_reason"] == ["end_of_data"] and t["closed"] == [False]
    assert result.trades["exit_ts"][0] == strategy.last_ts
    assert t["holding_s"][0] > 0
