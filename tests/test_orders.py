"""Orders through the simulated venue on hand-built bars: market and limit fills, order events,
cancels, rejections, and several instruments merged by timestamp."""

from __future__ import annotations

import numpy as np
import pytest

from trader import Strategy, run_backtest
from trader.data import Bars

MIN = 60_000_000_000


def bars(rows: list[tuple[float, float, float, float]], symbol: str = "X", start: int = 0) -> Bars:
    o, h, lo, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    ts = start + np.arange(len(rows), dtype=np.int64) * MIN
    return Bars(symbol, ts, o, h, lo, c, np.ones(len(rows)))


class Script(Strategy):
    """Runs ``plan[i]`` (a callable taking the strategy) on bar i and records every order event."""

    name = "script"

    def __init__(self, plan):
        super().__init__()
        self.plan = plan
        self.events = []

    def on_start(self):
        self.i = -1

    def on_bar(self, bar):
        self.i += 1
        if self.i in self.plan:
            self.plan[self.i](self)

    def on_order_event(self, event):
        # Keyed by the bar the event happened on (fills arrive before that bar's on_bar).
        self.events.append((event.ts // MIN, event.kind, event.order_id, event.price, event.qty, event.reason))


ROWS = [
    (100.0, 101.0, 99.0, 100.5),   # 0
    (100.5, 102.0, 100.0, 101.0),  # 1
    (101.0, 101.5, 97.0, 98.0),    # 2: trades down through 98.5
    (96.0, 97.0, 95.0, 96.5),      # 3: gaps below 97
    (96.5, 99.0, 96.0, 98.5),      # 4
    (98.5, 99.5, 98.0, 99.0),      # 5
]


def test_limit_buy_fills_at_the_limit_when_the_low_reaches_it():
    s = Script({1: lambda st: st.buy(2.0, price=98.5)})
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    assert [(k, kind) for k, kind, *_ in s.events] == [(1, "accepted"), (2, "filled")]
    assert r.fills_exact[0][3:5] == ("98.5", "2.000000") and r.fills["maker"][0]


def test_limit_buy_fills_at_the_open_on_a_gap_and_sell_limits_mirror():
    s = Script({2: lambda st: st.buy(1.0, price=97.0), 3: lambda st: st.sell(1.0, price=99.2)})
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    fills = [(f[2], f[3]) for f in r.fills_exact]
    assert fills == [(1, "96.0"), (-1, "99.2")]  # gap: better than the limit; sell at its limit on bar 5


def test_market_orders_next_open_and_close_modes_with_slippage():
    plan = {0: lambda st: st.buy(1.0), 2: lambda st: st.close()}
    r = run_backtest(Script(plan), data=bars(ROWS), price_precision=1, slippage_bps=100)
    # 100.5 (bar 1 open) * 1.01 = 101.505 -> up to 101.6; 96.0 (bar 3 open) * 0.99 = 95.04 -> down to 95.0
    assert [(f[2], f[3]) for f in r.fills_exact] == [(1, "101.6"), (-1, "95.0")]
    r = run_backtest(Script(plan), data=bars(ROWS), price_precision=1, fill_at="close")
    assert [(f[2], f[3]) for f in r.fills_exact] == [(1, "100.5"), (-1, "98.0")]


def test_cancel_and_rejections_reach_the_strategy_as_events():
    ids = {}

    def place(st):
        ids["a"] = st.buy(1.0, price=90.0)

    plan = {0: place, 2: lambda st: st.cancel(ids["a"]), 3: lambda st: st.cancel(ids["a"]), 4: lambda st: st.buy(0.0000001)}
    s = Script(plan)
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    kinds = [(k, kind, reason) for k, kind, _id, _px, _q, reason in s.events]
    assert kinds == [
        (0, "accepted", None),
        (2, "canceled", "canceled on request"),
        (3, "cancel_rejected", "order is no longer open"),
        (4, "rejected", "quantity must be positive"),  # rounds to 0 at 6 decimals
    ]
    assert len(r.fills["ts"]) == 0 and r.open_orders == []


def test_positions_carry_average_price_and_pnl():
    plan = {0: lambda st: st.buy(1.0), 1: lambda st: st.buy(1.0), 3: lambda st: st.sell(1.0)}
    r = run_backtest(Script(plan), data=bars(ROWS), price_precision=1)
    (_inst, qty, avg, realized, unrealized), = r.positions
    # buys at 100.5 and 101.0 -> avg 100.75; sell 1 at 96.5 (bar 4 open) -> realized -4.25
    assert qty == 1.0 and avg == pytest.approx(100.75) and realized == pytest.approx(-4.25)
    assert unrealized == pytest.approx(99.0 - 100.75)  # marked at the last close


def test_several_instruments_are_merged_by_timestamp():
    a = bars(ROWS, "AAA")
    b = bars([(r[0] * 2, r[1] * 2, r[2] * 2, r[3] * 2) for r in ROWS[:4]], "BBB", start=2 * MIN)

    class Both(Strategy):
        name = "both"

        def on_start(self):
            self.seen = []

        def on_bar(self, bar):
            self.seen.append((bar.ts // MIN, bar.instrument))
            if bar.instrument == 1 and bar.ts == 2 * MIN:
                self.buy(1.0, instrument=1)

    s = Both()
    r = run_backtest(s, data=[a, b], price_precision=1)
    assert s.seen == [(0, 0), (1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (4, 0), (4, 1), (5, 0), (5, 1)]
    assert r.symbols == ["AAA", "BBB"]
    f = r.fills_exact[0]
    assert (f[1], f[3]) == (1, str(ROWS[1][0] * 2))  # BBB's next bar opens at 201.0
    assert len(r.equity) == 6  # one point per timestamp
