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
        # Keyed by the minute of the event: fills carry their bar's (open) time; what on_bar sends
        # on bar i carries bar i's close time, minute i + 1.
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
    # sent at bar 1's close (minute 2), filled on bar 2's way down
    assert [(k, kind) for k, kind, *_ in s.events] == [(2, "submitted"), (2, "accepted"), (2, "filled")]
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
    assert kinds == [  # at each bar's close: bar i closes at minute i + 1
        (1, "submitted", None),
        (1, "accepted", None),
        (3, "canceled", "canceled on request"),
        (4, "cancel_rejected", "order is no longer open"),
        # rounds to 0 at 6 decimals: the risk engine's structural checks deny it before the venue
        (5, "denied", "risk: quantity below the instrument's minimum"),
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


# -- the order types, instructions and lists through the Strategy API ------------------------------
# Orders are sent on bar 0 and work from bar 1. Intrabar path "proximity": the extreme nearer the
# open comes first (bar 1: 100.5 -> 100 -> 102 -> 101; bar 2: 101 -> 101.5 -> 97 -> 98).


def _fills(r):
    return [(int(t // MIN), float(p), float(q), bool(m)) for t, p, q, m in zip(r.fills["ts"], r.fills["price"], r.fills["qty"], r.fills["maker"])]


def _run_one(request):
    """One order sent on bar 0, on a margin account (sells from flat open shorts: the order
    types are the subject here, not the account; a cash account refuses short sales)."""
    from trader import orders as o

    s = Script({0: lambda st: st.submit(request(o))})
    return run_backtest(s, data=bars(ROWS), price_precision=1, account="margin"), s


@pytest.mark.parametrize(
    "request_, want",
    [
        # sell stop at 98.5: bar 2 falls through it after its high -> taker at the trigger
        (lambda o: o.stop_market("sell", 1.0, trigger=98.5), [(2, 98.5, 1.0, False)]),
        # buy stop at 101.8: bar 1 goes to its low first, then up through 101.8
        (lambda o: o.stop_market("buy", 1.0, trigger=101.8), [(1, 101.8, 1.0, False)]),
        # stop-limit buy 101.8 / limit 101.9: marketable at the trigger -> fills there
        (lambda o: o.stop_limit("buy", 1.0, trigger=101.8, price=101.9), [(1, 101.8, 1.0, False)]),
        # buy MIT at 97.5: bar 2's fall touches it -> taker at the trigger
        (lambda o: o.market_if_touched("buy", 1.0, trigger=97.5), [(2, 97.5, 1.0, False)]),
        # sell LIT 101.8 / limit 101.9: triggered at 101.8 on bar 1, rests at 101.9 (not reached
        # on bar 1's way to 102? it is: 102 >= 101.9 -> fills at the limit as a maker)
        (lambda o: o.limit_if_touched("sell", 1.0, trigger=101.8, price=101.9), [(1, 101.9, 1.0, True)]),
        # a gap: bar 2 bottoms at 97, bar 3 opens at 96 below the 96.5 stop -> fills at the open (worse)
        (lambda o: o.stop_market("sell", 1.0, trigger=96.5), [(3, 96.0, 1.0, False)]),
        # IOC limit buy at 100.0: bar 1 opens at 100.5 -> nothing at the open -> canceled
        (lambda o: o.limit("buy", 1.0, price=100.0, time_in_force="IOC"), []),
        # GTC limit buy at 100.0: bar 1's low touches it -> maker at the limit
        (lambda o: o.limit("buy", 1.0, price=100.0), [(1, 100.0, 1.0, True)]),
        # reduce-only with no position: nothing to reduce -> no fill
        (lambda o: o.market("sell", 1.0, reduce_only=True), []),
    ],
)
def test_each_order_type_through_the_strategy_api(request_, want):
    r, _ = _run_one(request_)
    assert _fills(r) == want


def test_trailing_stop_follows_the_path_and_fills_on_the_way_back():
    # Sell trailing 1.0 below the best price: armed at bar 0's close 100.5 (trigger 99.5); bar 1
    # goes 100.5 -> 100 -> 102 (trigger 101) -> 101: hit on the way back to the close.
    r, _ = _run_one(lambda o: o.trailing_stop_market("sell", 1.0, offset=1.0))
    assert _fills(r) == [(1, 101.0, 1.0, False)]


def test_post_only_that_would_take_is_rejected_with_its_reason():
    r, s = _run_one(lambda o: o.limit("buy", 1.0, price=101.0, post_only=True))  # above bar 1's open
    assert _fills(r) == []
    t = r.orders_table().to_pydict()
    assert (t["status"], t["reason"]) in ((["REJECTED"], ["post-only order would take liquidity"]), (["CANCELED"], ["post-only order would take liquidity"]))


def test_bracket_exits_activate_on_the_entry_fill_and_cancel_together():
    # Long 1 at bar 1's open 100.5; the exits rest from there, so the take-profit 101.8 is reached
    # on bar 1's way up (after its low 100, above the 99.0 stop) as a maker -> the stop is canceled.
    s = Script({0: lambda st: st.bracket("buy", 1.0, take_profit=101.8, stop_loss=99.0)})
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    assert _fills(r) == [(1, 100.5, 1.0, False), (1, 101.8, 1.0, True)]
    t = r.orders_table().to_pydict()
    assert t["type"] == ["MARKET", "LIMIT", "STOP_MARKET"]
    assert t["status"] == ["FILLED", "FILLED", "CANCELED"]
    assert t["contingency"] == ["OTO", "OUO", "OUO"] and t["parent_id"] == [None, t["order_id"][0], t["order_id"][0]]
    assert r.positions[0][1] == 0.0


def test_oco_first_leg_to_trade_cancels_the_other():
    from trader import orders as o

    plan = {0: lambda st: st.submit_oco(o.limit("buy", 1.0, price=97.5), o.stop_market("buy", 1.0, trigger=101.8))}
    s = Script(plan)
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    assert _fills(r) == [(1, 101.8, 1.0, False)]
    t = r.orders_table().to_pydict()
    assert t["status"] == ["CANCELED", "FILLED"] and t["reason"][0] == "another leg of the OCO filled"


def test_modify_moves_a_working_limit_and_duplicate_client_ids_are_denied():
    from trader import orders as o

    ids = {}

    def place(st):
        ids["a"] = st.submit(o.limit("buy", 1.0, price=95.0, client_id=42))
        ids["dup"] = st.submit(o.limit("buy", 5.0, price=99.0, client_id=42))

    s = Script({0: place, 1: lambda st: st.modify(ids["a"], price=97.5)})
    r = run_backtest(s, data=bars(ROWS), price_precision=1)
    assert ids == {"a": 42, "dup": 42}
    assert ("denied", "duplicate client order id") in {(e[1], e[5]) for e in s.events}
    assert _fills(r) == [(2, 97.5, 1.0, True)]  # the modified limit, once; the duplicate never trades
    assert r.orders_table().to_pydict()["qty"] == [1.0]


def test_reports_are_arrow_tables_with_liquidity_fees_and_slippage(tmp_path):
    s = Script({0: lambda st: st.bracket("buy", 1.0, take_profit=101.8, stop_loss=99.0)})
    r = run_backtest(s, data=bars(ROWS), price_precision=1, fee_bps=10.0, slippage_bps=20.0)
    f = r.fills_table().to_pydict()
    assert f["liquidity"] == ["TAKER", "MAKER"]
    # entry: arrival = bar 0's close 100.5, filled at bar 1's open 100.5 + 20 bps -> 100.8 (ticks of 0.1, up)
    assert f["arrival_price"][0] == 100.5 and f["price"][0] == 100.8
    assert f["slippage"][0] == pytest.approx(0.3) and f["slippage_bps"][0] == pytest.approx(0.3 / 100.5 * 1e4)
    assert f["fee"][0] == pytest.approx(100.8 * 1e-3)
    for name in ("orders", "fills", "positions"):
        r.write_table(name, str(tmp_path / f"{name}.parquet"))
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "orders.parquet").num_rows == 3
    assert pq.read_table(tmp_path / "fills.parquet").column("liquidity").to_pylist() == f["liquidity"]
