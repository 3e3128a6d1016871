"""Regression tests for the accounting bullets of issue 10 ("Numbers a user can trust"): each is a
small hand-computed scenario, with the arithmetic written out, that failed before the fix.

The bullets come from two lists of the issue: what a new user found in one afternoon (a cash
account that overdraws, trades that do not explain themselves) and what an independent check of
the accounting found (margin below zero, limits filled as makers, off-tick prices, CAGR overflow,
latency one bar short, a float equity curve, and the smaller ones).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trader import Strategy, orders, run_backtest
from trader.data import Bars
from trader.exceptions import InvalidInputError, StrategyError

MIN = 60_000_000_000


def bars(rows: list[tuple[float, float, float, float]], *, step: int = MIN, volume: float = 1_000.0, ts=None) -> Bars:
    o, h, lo, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    t = np.arange(len(rows), dtype=np.int64) * step if ts is None else np.asarray(ts, dtype=np.int64)
    return Bars("X", t, o, h, lo, c, np.full(len(rows), volume))


def flat(px: float, n: int) -> list[tuple[float, float, float, float]]:
    return [(px, px, px, px)] * n


class Script(Strategy):
    """Runs ``plan[i](strategy)`` on bar i; records every order event."""

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
        self.events.append(event)


def kinds(s: Script) -> list[tuple[str, str | None]]:
    return [(e.kind, e.code) for e in s.events]


# ---- the afternoon of a new user --------------------------------------------------------------


def test_qty_1000_on_a_cash_account_does_not_overdraw():
    """`trader backtest -p qty=1000` (a spot "cash" account with 10,000 of cash) ends with final
    equity -3,060,596, total return -30,706 % and Sharpe +3.11 ... No order is denied."""
    r = run_backtest("ema_cross", {"qty": 1000})  # the synthetic series near 30,000: 30M a buy
    assert r.risk["denials"]["insufficient_balance"] > 0
    assert r.orders == 0 and len(r.fills["ts"]) == 0
    assert r.stats["final_equity"] == 10_000.0 and r.stats["total_return"] == 0.0
    assert float(r.equity.min()) == 10_000.0
    # A quantity the cash pays for trades, and the account never goes below zero.
    r = run_backtest("ema_cross", {"qty": 0.3})  # 0.3 x ~30,000 = ~9,000 <= 10,000
    assert r.orders > 0 and float(r.equity.min()) > 0
    assert not r.stats["ruined"]


def test_a_stop_limit_strategy_cannot_overdraw_the_cash_account():
    """a stop-limit strategy ended at -111k with Sharpe +2.12."""

    class StopLimits(Strategy):
        name = "stop_limits"

        def on_bar(self, bar):
            if self.position() == 0:
                self.cancel_all()
                self.submit(orders.stop_limit("buy", 1.0, trigger=bar.close * 1.001, price=bar.close * 1.002))
            else:
                self.close()

    r = run_backtest(StopLimits(), options={"bars": 3_000})  # 1 unit of ~30,000 with 10,000
    assert r.risk["denials"]["insufficient_balance"] > 0 and len(r.fills["ts"]) == 0
    assert r.stats["final_equity"] == 10_000.0
    assert r.stats["sharpe"] == 0.0


def test_buying_1_btc_with_10k_is_denied_with_its_numbers():
    """Buying 1 BTC (≈86k) with 10k goes through."""
    s = Script({0: lambda st: st.buy(1.0)})
    r = run_backtest(s, data=bars(flat(86_000.0, 4)), price_precision=2, cash=10_000)
    # cost 1 x 86,000.00 = 86,000.00 (no fee) > free 10,000.00
    assert kinds(s) == [("denied", "insufficient_balance")]
    assert s.events[0].detail == ("buy 1.000000 X at 86000.00 costs 86000.00 with fees; free balance 10000.00 "
                                  "(cash 10000.00)")
    assert len(r.fills["ts"]) == 0 and r.stats["final_equity"] == 10_000.0


def test_shorting_1_btc_on_spot_is_denied():
    """shorting 1 BTC on spot goes through."""
    s = Script({0: lambda st: st.sell(1.0)})
    r = run_backtest(s, data=bars(flat(86_000.0, 4)), price_precision=2, cash=100_000)
    assert kinds(s) == [("denied", "insufficient_holdings")]
    assert s.events[0].detail == "sell 1.000000 X but the account holds 0.000000 (a cash account cannot sell short)"
    assert len(r.fills["ts"]) == 0 and r.positions[0][1] == 0.0


def test_sharpe_never_positive_on_a_ruined_account():
    """final equity -3,060,596, total return -30,706 % and Sharpe +3.11: equity that reaches zero or
    below marks the run as ruined, and return-based ratios never flip sign."""
    # 10x margin, wallet 1,000: buy 95 at 100 (margin 950). LP = 100 x 0.9 / 0.995 = 90.4522...
    # -> 90.45. Bar 2 opens at 85, through it: liquidated at the open, 85. Loss 95 x 15 = 1,425:
    # equity 1,000 - 1,425 = -425 (no insurance fund), below zero: ruined at bar 2.
    rows = [*flat(100.0, 2), *flat(85.0, 2), *flat(120.0, 2)]
    s = Script({0: lambda st: st.buy(95.0)})
    r = run_backtest(s, data=bars(rows), price_precision=2, cash=1_000, account="margin", leverage=10)
    assert r.fills_exact[1][3] == "85.00" and r.stats["liquidations"] == 1
    assert r.stats["final_equity"] == -425.0
    assert r.stats["ruined"] is True and r.stats["ruin_ts"] == 2 * MIN
    assert r.stats["cagr"] == -1.0
    assert r.stats["sharpe"] < 0 and r.stats["sortino"] < 0
    assert r.summary()["ruined"] is True


def test_result_trades_explain_themselves():
    """`result.trades` has no entry/exit price, return, exit reason or holding time."""
    # Bracket on bar 0: long 1 at bar 1's open 100.00, take-profit 102.00, stop 97.00. Bar 1 dips to
    # 98.50 (MAE -1.50) and reaches 101.00; bar 2 reaches 102.00 first (MFE at the take-profit: +2.00):
    # the take-profit fills as a maker at 102.00. PnL +2.00, return 2 %, held from 1 min to 2 min.
    rows = [(100.0, 100.0, 100.0, 100.0), (100.0, 101.0, 98.5, 100.5), (100.5, 102.5, 100.0, 102.0), *flat(102.0, 2)]
    s = Script({0: lambda st: st.bracket("buy", 1.0, take_profit=102.0, stop_loss=97.0)})
    r = run_backtest(s, data=bars(rows), price_precision=2)
    t = r.trades_table().to_pylist()
    assert len(t) == 1
    row = t[0]
    assert (row["side"], row["entry_price"], row["exit_price"], row["qty"]) == ("LONG", 100.0, 102.0, 1.0)
    assert (row["pnl"], row["return"], row["fees"]) == (2.0, 0.02, 0.0)
    assert (row["exit_reason"], row["holding_s"], row["closed"]) == ("take_profit", 60.0, True)
    assert (row["mae"], row["mfe"]) == (-1.5, 2.0)


# ---- the independent check of the accounting --------------------------------------------------


def test_margin_cannot_go_below_zero_without_liquidation():
    """Wallet 1,000 at 10x, two 60-unit buys at 100: margin used 1,200, free margin -200; the price
    falls to 90.5 (above the liquidation price 90.45) and equity ends at -140."""
    # Both buys sent on bar 0. The first needs 60 x 100 / 10 = 600 of margin: it goes. The second
    # would need 600 + 600 = 1,200 in the worst case (both filled) > 1,000: denied. Then 60 long from
    # 100; at 90.50 equity = 1,000 - 60 x 9.50 = 430.
    rows = [*flat(100.0, 2), *flat(90.5, 3)]
    s = Script({0: lambda st: (st.buy(60.0), st.buy(60.0))})
    r = run_backtest(s, data=bars(rows), price_precision=2, cash=1_000, account="margin", leverage=10)
    assert [k for k in kinds(s) if k[0] == "denied"] == [("denied", "insufficient_margin")]
    assert [f[4] for f in r.fills_exact] == ["60.000000"]
    assert r.stats["final_equity"] == 430.0 and float(r.equity.min()) == 430.0
    assert r.account["margin_used"] == 600.0 and not r.stats["ruined"]


def test_a_limit_marketable_on_arrival_fills_as_a_taker():
    """A limit order that crosses at arrival is filled as a resting maker: buy limit 105 with the next
    open at 100 fills at 100 with maker=True and a rebate, no slippage."""
    # Sent at bar 0's close, it reaches the market at bar 1's open 100.00, through its limit: a taker.
    # Slippage 10 bps: 100 x 1.001 = 100.10 (capped at the limit 105); taker fee 5 bps of 100.10 =
    # 0.05005 (the maker rebate -1 bp does not apply).
    rows = [*flat(100.0, 1), (100.0, 101.0, 99.0, 100.0), *flat(100.0, 1)]
    kw = dict(data=bars(rows), price_precision=2, maker_fee_bps=-1.0, taker_fee_bps=5.0, slippage_bps=10.0)
    r = run_backtest(Script({0: lambda st: st.buy(1.0, price=105.0)}), **kw)
    f = r.fills_table().to_pylist()
    assert [(x["price"], x["liquidity"]) for x in f] == [(100.1, "TAKER")]
    assert r.fills_exact[0][5] == "0.050050000000000000"
    # The same order, post-only: refused as taking liquidity (consistent with the fill above).
    s = Script({0: lambda st: st.submit(orders.limit("buy", 1.0, price=105.0, post_only=True))})
    r = run_backtest(s, **kw)
    assert len(r.fills["ts"]) == 0 and r.orders_table().to_pydict()["reason"] == ["post-only order would take liquidity"]


def test_off_tick_prices_round_in_the_orders_conservative_direction():
    """Off-tick prices are rounded to nearest, so orders fill beyond their limit: buy limit 99.996 on
    a 0.01 tick fills at 100.00; a take-profit of 100.004 fires at 100.00."""
    # The low is 100.00: a buy limit of 99.996 must not fill there (it rounds down to 99.99).
    rows = [*flat(100.5, 1), (100.5, 101.0, 100.0, 100.5), *flat(100.5, 1)]
    s = Script({0: lambda st: st.buy(1.0, price=99.996)})
    r = run_backtest(s, data=bars(rows), price_precision=2)
    assert len(r.fills["ts"]) == 0 and r.orders_table().to_pydict()["price"] == [99.99]
    assert any("price was off the tick" in w and "99.996 -> 99.99" in w for w in r.warnings)
    # A take-profit of 100.004 (a sell limit) rounds up to 100.01: flat bars at 100.00 never reach it.
    s = Script({0: lambda st: st.bracket("buy", 1.0, take_profit=100.004)})
    r = run_backtest(s, data=bars(flat(100.0, 5)), price_precision=2)
    assert [f[2] for f in r.fills_exact] == [1]  # the entry only
    assert r.orders_table().to_pydict()["price"][1] == 100.01
    # off_tick="reject" refuses the price instead.
    with pytest.raises(StrategyError, match=r"99\.996 is not a multiple of X's tick 0\.01"):
        run_backtest(Script({0: lambda st: st.buy(1.0, price=99.996)}), data=bars(rows), price_precision=2, off_tick="reject")


def test_off_lot_quantities_are_rounded_down_with_a_warning_or_refused():
    """Quantities off the lot are silently truncated (0.12345 -> 0.123), though the README promises a
    tick/lot precision check."""
    r = run_backtest(Script({0: lambda st: st.buy(0.12345)}), data=bars(flat(100.0, 3)), price_precision=2, size_precision=3)
    assert [f[4] for f in r.fills_exact] == ["0.123"]
    assert r.warnings[0].startswith("1 order quantity was rounded down to the lot (the first: 0.12345 -> 0.123)")
    with pytest.raises(StrategyError, match=r"0\.12345 is not a multiple of X's lot 0\.001"):
        run_backtest(Script({0: lambda st: st.buy(0.12345)}), data=bars(flat(100.0, 3)), price_precision=2, size_precision=3,
                     off_lot="reject")


def test_cagr_of_a_short_profitable_run_does_not_overflow():
    """CAGR crashes short profitable runs: (final/initial) ** (1/years) overflows — a 2-hour run at
    +20 % exits 1 with a traceback and no result; milder ones report CAGR 9e227."""
    # 120 one-minute bars from 100 to 120; all in at bar 1's open: +~20 % over 2 hours. The annual
    # log return log(1.2) / (2 h / 1 year) ~ 800 does not fit a float's exponential: CAGR is None
    # and cagr_log says how large it is.
    px = np.linspace(100.0, 120.0, 121).round(2)
    rows = [(p, p, p, p) for p in px]
    r = run_backtest(Script({0: lambda st: st.buy(99.0)}), data=bars(rows), price_precision=2, cash=10_000)
    assert r.stats["total_return"] > 0.19
    assert r.stats["cagr"] is None and 700 < r.stats["cagr_log"] < 900
    assert r.stats["annualized_from_days"] == pytest.approx(121 / 1440)
    # A gain that fits: +0.1 % over a day annualizes to 1.001^365.25 - 1 computed in log space.
    day = [(100.0, 100.0, 100.0, 100.0)] + [(100.1, 100.1, 100.1, 100.1)] * 1439
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=bars(day), price_precision=2, cash=100)
    years = 1440 * MIN / (365.25 * 86_400e9)
    assert r.stats["cagr"] == pytest.approx(math.expm1(math.log(r.stats["final_equity"] / 100) / years), rel=1e-12)


def test_latency_counts_from_the_bar_close():
    """Latency is one bar short: a bar's event, the strategy clock and the order's submit time carry
    the bar's open time although on_bar sees its close; a 60 s submit latency on 1-minute bars still
    fills at the next open, and any latency under one bar has no effect."""
    seen = {}

    class Buy(Strategy):
        name = "buy_once"

        def on_bar(self, bar):
            if bar.ts == 0:
                seen["clock"], seen["close"] = self.clock, bar.ts_close
                self.buy(1.0)

    def fill_ts(latency):
        r = run_backtest(Buy(), data=bars(flat(100.0, 6)), price_precision=2, latency=latency)
        return int(r.fills["ts"][0]) // MIN

    # Decided at bar 0's close (t = 1 min): no latency -> bar 1's open; 30 s -> arrives at 1.5 min,
    # trades from bar 2; 60 s -> arrives at 2 min exactly: bar 2; 90 s -> 2.5 min: bar 3.
    assert fill_ts(None) == 1
    assert fill_ts("constant:submit_ms=30000") == 2
    assert fill_ts("constant:submit_ms=60000") == 2
    assert fill_ts("constant:submit_ms=90000") == 3
    assert seen == {"clock": MIN, "close": MIN}


def test_an_equity_of_exactly_10000_is_exactly_10000():
    """The equity curve is float: equity that is exactly 10,000 in decimals comes out 10,000 − 1.8e-12,
    a drawdown of 2e-16 and a Sortino of 3.4e16."""
    # Buy 0.1 at 123.45 and hold at 123.45: cash 10,000 - 12.345 = 9,987.655 and a position worth
    # 12.345: exactly 10,000 at every bar; then sell at 123.45.
    s = Script({0: lambda st: st.buy(0.1), 5: lambda st: st.sell(0.1)})
    r = run_backtest(s, data=bars(flat(123.45, 8)), price_precision=2, cash=10_000)
    assert len(r.fills["ts"]) == 2
    assert set(r.equity.tolist()) == {10_000.0}
    assert r.stats["max_drawdown"] == 0.0 and r.stats["sortino"] == 0.0 and r.stats["sharpe"] == 0.0


def test_fee_rates_finer_than_the_unit_round_up():
    """fee and funding rates are cut to 1e-10 to nearest (documented as rounded up)."""
    # A fee of 1/3 bp on 100.00: exactly 0.0033333...; the rate rounds up to 0.0000333334 of the
    # notional, so the fee is 0.00333334 (never below the exact one).
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=bars(flat(100.0, 3)), price_precision=2, fee_bps=1 / 3)
    assert r.fills_exact[0][5] == "0.003333340000000000"
    # A funding rate has no side to round toward: one finer than 1e-10 is refused.
    with pytest.raises(InvalidInputError, match="funding_rate: must be a finite number with at most 10 decimals"):
        run_backtest(Script({}), data=bars(flat(100.0, 3)), price_precision=2, account="margin", funding_rate=1 / 3e4)


def test_a_partly_filled_then_canceled_order_leaves_nothing():
    """the order table reports `leaves > 0` for a partly filled then canceled order."""
    # 1.0 to buy, bars of volume 1, 50 % participation: 0.5 fills on bar 1; canceled at bar 1's close.
    ids = {}
    s = Script({0: lambda st: ids.setdefault("a", st.buy(1.0, price=100.0)), 1: lambda st: st.cancel(ids["a"])})
    r = run_backtest(s, data=bars(flat(100.0, 4), volume=1.0), price_precision=2, size_precision=2,
                     fill_model="bars:participation=0.5")
    t = r.orders_table().to_pydict()
    assert (t["status"], t["filled"], t["leaves"]) == (["CANCELED"], [0.5], [0.0])


def test_drawdown_duration_counts_time_across_gaps():
    """drawdown duration counts bars, not time, so gaps shorten it."""
    # Long 1 from bar 1 (100): 10,000 at bar 1 (the peak), 9,990 at bar 2, a 100-minute gap, 9,990
    # at bar 3 (t = 103 min), back to 10,010 at bar 4 (t = 104 min): below the peak from 1 min to
    # 104 min = 103 minutes = 6,180 s (two points).
    ts = [0, MIN, 2 * MIN, 103 * MIN, 104 * MIN]
    rows = [*flat(100.0, 2), *flat(90.0, 2), *flat(110.0, 1)]
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=bars(rows, ts=ts), price_precision=2, gap_policy="report")
    assert r.stats["max_drawdown_bars"] == 2
    assert r.stats["max_drawdown_duration_s"] == 6_180.0


def test_the_price_precision_comes_from_all_of_the_data():
    """the price precision is inferred from the first batch only and later prices are silently
    rounded."""
    # 300 bars at 100.00 but the last at 100.125, in batches of 100: the precision is 3, and the open
    # long of 1 (from 100.00) is worth exactly +0.125 at the end (not 0.12 or 0.13).
    rows = [*flat(100.0, 299), (100.125, 100.125, 100.125, 100.125)]
    r = run_backtest(Script({0: lambda st: st.buy(1.0)}), data=bars(rows), batch_size=100)
    assert r.positions[0][4] == 0.125
    assert r.stats["final_equity"] == 10_000.125


def test_an_unknown_interval_does_not_annualize_as_one_minute():
    """a feed with an unknown interval annualizes as if it were 1-minute."""
    # Daily bars whose feed does not know its interval (0): the statistics take it from the curve's
    # timestamps (1 day): Sharpe = mean / std x sqrt(365.25), not x sqrt(525,960).
    day = 86_400 * 10**9
    px = [100.0, 101.0, 100.5, 102.0, 101.0, 103.0]
    b = Bars("X", np.arange(6, dtype=np.int64) * day, px, px, px, px, np.ones(6), interval_ns=0)
    r = run_backtest(Script({0: lambda st: st.buy(10.0)}), data=b, price_precision=2, cash=10_000)
    eq = np.concatenate([[10_000.0], r.equity])
    ret = eq[1:] / eq[:-1] - 1
    assert r.stats["sharpe"] == pytest.approx(ret.mean() / ret.std(ddof=1) * math.sqrt(365.25), rel=1e-9)


def test_client_ids_cannot_reach_the_engines_own_ids():
    """`client_id` may collide with the engine's own order ids (≥ 2^62, so that every id fits the
    store's signed 64-bit columns) and escape the EMERGENCY cancel."""
    s = Script({0: lambda st: st.submit(orders.limit("buy", 0.1, price=90.0, client_id=2**62))})
    with pytest.raises(StrategyError, match=r"client_id: must be within 1..2\^62"):
        run_backtest(s, data=bars(flat(100.0, 3)), price_precision=2)
