"""The margin account on real 1-minute bars: a leveraged long liquidated through the Jan 2022 BTC
crash at the price the documented model gives (hand-computed below), funding paid at funding
times, the pre-trade margin check, and the fee/slippage knobs of ``run_backtest``.

Margin model (``trader._core.configure_account``): isolated margin, IMR = 1/leverage, posted
margin M = IMR x entry notional C, maintenance on the mark value; a long is liquidated when
``M + q (P - E) <= MMR q P``, i.e. at ``LP = (C - M) / (q (1 - MMR)) = E (1 - IMR) / (1 - MMR)``,
rounded down to the tick; the first bar whose low reaches LP closes the position at LP (at the
open if it gapped below LP).
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from trader import Strategy, run_backtest
from trader.data import Bars, open_bars
from trader.exceptions import InvalidInputError

FTX = "klines_1m/nautilus/btc-perp-20211231-20220201_1m.csv.gz"
MIN = 60_000_000_000
H8 = 8 * 3600 * 1_000_000_000


class Script(Strategy):
    """Runs ``plan[i]`` on bar i; records every order event."""

    name = "margin_script"

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
        self.events.append((event.kind, event.order_id, event.reason, event.price))


@pytest.fixture(scope="module")
def ftx(shared_data):
    path = shared_data / FTX
    return str(path), open_bars(str(path)).load()


def test_20x_long_is_liquidated_in_the_jan_2022_crash_at_the_hand_computed_price(ftx):
    path, b = ftx
    i0 = 28714  # 2022-01-20 21:35 UTC: the decision bar; the buy fills at the next open.
    assert b.open[i0 + 1] == 42347.0
    # The entry with a take-profit that activates on its fill (an OTO): a resting sell sent beside
    # a market buy from flat would be a 20x short of its own in the worst case, which the account
    # (10,000 at 20x) cannot carry on top of the long.
    s = Script({i0: lambda st: st.bracket("buy", 4.0, take_profit=50_000.0)})
    # Three decimals: a few FTX closes have them (43613.875), and a price is never rounded.
    r = run_backtest(
        s,
        data=path,
        price_precision=3,
        cash=10_000.0,
        fee_bps=4.0,
        account="margin",
        leverage=20.0,
        maintenance_margin=0.005,
        liquidation_fee=0.001,
    )
    # Hand calculation (exact fractions):
    #   entry E = 42347.000 (bar i0+1 open), q = 4 BTC, C = q E = 169388.000
    #   IMR = 1/20, M = C / 20 = 8469.40; MMR = 0.005
    #   LP = (C - M) / (q (1 - MMR)) = 160918.6 / 3.98 = 40431.8090... -> 40431.809 (down to the tick)
    E, q = F(42347), F(4)
    C = q * E
    M = C / 20
    lp_exact = (C - M) / (q * (1 - F(5, 1000)))
    LP = F(math.floor(lp_exact * 1000), 1000)
    assert (C, M, LP) == (F(169388), F("8469.4"), F("40431.809"))
    assert LP == F(math.floor(E * F(95, 100) / F(995, 1000) * 1000), 1000)  # = E (1 - IMR) / (1 - MMR)
    #   first bar whose low reaches LP: 2022-01-21 00:04 UTC (bar i0+149), open 40553 > LP, low 40362,
    #   so the position closes at LP itself; the bar before it bottomed at 40530 > LP.
    k = i0 + 1 + int(np.argmax(b.low[i0 + 1:] <= float(LP)))
    assert k == i0 + 149 and b.ts[k] == 1642723440000000000
    assert (b.open[k], b.low[k], b.low[k - 1]) == (40553.0, 40362.0, 40530.0)
    assert b.low[i0 + 1:k].min() > float(LP)
    #   fees: entry 4 bp of 169388 = 67.7552; liquidation fee 0.1% of 4 x 40431.809 = 161.727236
    #   cash = 10000 - 67.7552 + 4 x (40431.809 - 42347) - 161.727236
    #        = 10000 - 67.7552 - 7660.764 - 161.727236
    entry_fee, liq_fee = C * F(4, 10_000), q * LP / 1000
    final = 10_000 - entry_fee + q * (LP - E) - liq_fee
    assert final == F("2109.753564")

    fills = r.fills_exact
    assert len(fills) == 2
    assert fills[0][2:6] == (1, "42347.000", "4.000000", "67.755200000000000000")
    liq = fills[1]
    assert liq[0] == b.ts[k] and liq[6] == 0  # order id 0: the liquidation engine
    assert liq[2:6] == (-1, "40431.809", "4.000000", "161.727236000000000000")
    assert list(r.fills["liquidation"]) == [False, True]
    assert r.account["liquidations"] == 1 and r.stats["liquidations"] == 1
    assert r.account["wallet"] == pytest.approx(float(final), rel=1e-15)
    assert r.account["margin_used"] == 0.0 and r.account["liquidation_price"] == [None]
    assert r.stats["final_equity"] == pytest.approx(float(final), rel=1e-15)
    # The resting take-profit was canceled by the liquidation; the strategy saw the forced fill.
    assert s.events[-2:] == [("filled", 0, None, 40431.809), ("canceled", 2, "liquidated", None)]
    assert r.positions[0][1] == 0.0 and r.open_orders == []


def test_funding_is_qty_times_mark_times_rate_at_each_funding_time(ftx):
    path, b = ftx
    i0, j = 100, 100 + 2 * 1440  # hold a 1x long 0.2 BTC for two days
    q, rate = F("0.2"), F("0.0001")
    r = run_backtest(
        Script({i0: lambda st: st.buy(0.2), j: lambda st: st.close()}),
        data=path,
        price_precision=3,
        account="margin",
        leverage=1.0,
        funding_rate=0.0001,
    )
    # Funding times T = multiples of 8 h with ts[i0+1] < T <= ts[j+1] (the buy fills at bar i0+1's
    # open, after that bar's funding; the sell at bar j+1's open, after its funding). Each is
    # settled at the first bar with ts >= T, at its open: amount = q x open x rate.
    t_in, t_out = int(b.ts[i0 + 1]), int(b.ts[j + 1])
    times = range((t_in // H8 + 1) * H8, t_out + 1, H8)
    want = []
    for t in times:
        k = int(np.searchsorted(b.ts, t))
        want.append((t, float(b.open[k]), q * F(str(b.open[k])) * rate))
    assert len(want) == 6
    f = r.funding
    assert list(f["ts"]) == [t for t, _, _ in want]
    assert list(f["mark"]) == [m for _, m, _ in want]
    assert list(f["qty"]) == [0.2] * 6 and list(f["rate"]) == [0.0001] * 6
    # Exact in the engine (i128 money); the float columns are within one rounding of it.
    assert list(f["amount"]) == pytest.approx([float(a) for _, _, a in want], rel=1e-15)
    paid = sum(a for _, _, a in want)
    assert r.account["funding_paid"] == pytest.approx(float(paid), rel=1e-15)
    # Wallet = cash after the round trip minus the funding, exactly as the fills say.
    (_, _, _, px_in, _, _, _), (_, _, _, px_out, _, _, _) = r.fills_exact
    assert r.account["wallet"] == pytest.approx(float(10_000 + q * (F(px_out) - F(px_in)) - paid), rel=1e-15)
    # The round trip's PnL carries the funding like a fee.
    assert r.trades["pnl"][0] == pytest.approx(float(q * (F(px_out) - F(px_in)) - paid), rel=1e-12)


def test_a_short_receives_and_pays_a_funding_series():
    ts0 = 1_700_000_000 * 10**9 // H8 * H8
    rows = 20
    ts = ts0 + np.arange(rows, dtype=np.int64) * MIN
    px = np.linspace(100.0, 119.0, rows)
    data = Bars("X", ts, px, px, px, px, np.ones(rows))
    series = [(int(ts[3]) + 1, 0.0003), (int(ts[6]), -0.00025), (int(ts[40 % rows]) + 10**15, 0.1)]
    r = run_backtest(Script({0: lambda st: st.sell(3.0)}), data=data, price_precision=2,
                     account="margin", leverage=2.0, funding=series)
    # Short 3 from bar 1 (open 101). ts[3]+1 -> settled at bar 4 (open 104): receives
    # 3 x 104 x 0.0003 = 0.0936; ts[6] -> bar 6 (open 106), rate -0.025%: pays 3 x 106 x 0.00025
    # = 0.0795. The last entry lies beyond the data: never settled.
    assert list(r.funding["mark"]) == [104.0, 106.0]
    assert list(r.funding["amount"]) == pytest.approx([-0.0936, 0.0795], abs=1e-15)
    assert r.account["funding_paid"] == pytest.approx(-0.0141, abs=1e-15)


def test_orders_beyond_free_margin_are_denied():
    rows = [(100.0, 100.0, 100.0, 100.0)] * 4
    o, h, lo, c = (np.array(col) for col in zip(*rows))
    data = Bars("X", np.arange(4, dtype=np.int64) * MIN, o, h, lo, c, np.ones(4))
    s = Script({0: lambda st: (st.buy(101.0), st.buy(100.0))})
    r = run_backtest(s, data=data, price_precision=2, cash=1_000.0, account="margin", leverage=10.0)
    # 10x on 1000: 100 units @ 100 need exactly 1000 of margin; 101 need 1010.
    assert s.events[0][:3] == ("denied", 1, "insufficient margin")
    assert [f[4] for f in r.fills_exact] == ["100.000000"]
    assert r.account["free_margin"] == 0.0 and r.account["margin_used"] == 1000.0


def test_fee_and_slippage_knobs():
    rows = [(100.0, 101.0, 99.0, 100.0), (100.0, 101.0, 98.0, 100.0), (100.0, 101.0, 99.0, 100.0)]
    o, h, lo, c = (np.array(col) for col in zip(*rows))
    data = Bars("X", np.arange(3, dtype=np.int64) * MIN, o, h, lo, c, np.full(3, 400.0))
    # Spread model: half of an assumed 10 bp spread: 100 x 1.0005 = 100.05.
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=data, price_precision=2, slippage="spread", spread_bps=10)
    assert r.fills_exact[0][3] == "100.05"
    # Square-root impact: sigma = ln(101/98) / (2 sqrt(ln 2)) on bar 1, qty 4 of 400:
    # 100 x (1 + sigma x 0.1), rounded up to the cent.
    sigma = math.log(101 / 98) / (2 * math.sqrt(math.log(2)))
    r = run_backtest(Script({0: lambda st: st.buy(4.0)}), data=data, price_precision=2, slippage="sqrt", impact_k=1.0)
    assert r.fills_exact[0][3] == f"{math.ceil(100 * (1 + sigma * 0.1) * 100) / 100:.2f}"
    # A maker rebate of 1 bp on a limit fill at 99: -0.0099 for 1 unit; taker 5 bp on the market exit.
    r = run_backtest(Script({0: lambda st: st.buy(1.0, price=99.0), 1: lambda st: st.close()}), data=data,
                     price_precision=2, maker_fee_bps=-1.0, taker_fee_bps=5.0)
    assert [f[5] for f in r.fills_exact] == ["-0.009900000000000000", "0.050000000000000000"]
    # Tiers: fixed tier 1.
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=data, price_precision=2,
                     fee_tiers=[(0, 2.0, 4.0), (1_000_000, 1.0, 3.0)], fee_tier=1)
    assert r.fills_exact[0][5] == "0.030000000000000000"
    with pytest.raises(InvalidInputError, match="account"):
        run_backtest(Script({}), data=data, account="isolated")
    with pytest.raises(InvalidInputError, match="maintenance_margin"):
        run_backtest(Script({}), data=data, price_precision=2, account="margin", leverage=10.0, maintenance_margin=0.2)


def test_cli_margin_account_flags(ftx, capsys):
    import json

    from trader.cli import main

    path, _ = ftx
    args = ["backtest", "--data", path, "--price-precision", "3", "--account", "margin", "--leverage", "20",
            "--funding-rate", "0.0001", "--mode", "vectorized", "-p", "fast=10", "-p", "slow=30", "--json"]
    main(args)
    summary = json.loads(capsys.readouterr().out)
    assert summary["funding_paid"] != 0.0 and isinstance(summary["liquidations"], int)
    with pytest.raises(SystemExit) as e:
        main(["backtest", "--account", "margin", "--leverage", "10", "--maintenance-margin", "0.5"])
    assert e.value.code == 2 and "maintenance_margin" in capsys.readouterr().err
