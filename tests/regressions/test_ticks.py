"""Regression tests for issue 10's tick and L2 bullets (each named after its bullet; each failed on
the code before the fix)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import trader
from trader.cli import main
from trader.strategy import Strategy


@pytest.fixture(scope="module")
def l2_dir(shared_data: Path) -> Path:
    return shared_data / "l2_book/hftbacktest_raw_ws"


@pytest.fixture(scope="module")
def usdm(l2_dir: Path) -> str:
    return str(l2_dir / "usdm/btcusdt_20240808.gz")


class TradesAndQuotes(Strategy):
    """A strategy written as the README documents: on_trade and on_quote."""

    name = "trades_and_quotes"
    calls: dict[str, int] = {}

    def on_start(self) -> None:
        type(self).calls = {"trade": 0, "quote": 0}

    def on_trade(self, trade: Any) -> None:
        type(self).calls["trade"] += 1

    def on_quote(self, quote: Any) -> None:
        type(self).calls["quote"] += 1


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """TradesAndQuotes as a registered strategy (what the CLI's --strategy looks up)."""
    import trader.plugins

    known = trader.plugins.strategies
    monkeypatch.setattr(trader.plugins, "strategies", lambda *a, **k: {**known(*a, **k), TradesAndQuotes.name: TradesAndQuotes})


def test_on_trade_on_quote_receive_0_calls_in_run_tick_backtest(shared_data: Path) -> None:
    """A strategy written with `on_trade` / `on_quote` as the README documents receives **0 calls**
    in `run_tick_backtest`."""
    from trader.data.ticks import TardisSource

    d = shared_data / "trades/nautilus"
    trades = dict(TardisSource().open(d / "tardis_trades.csv.gz").load().columns)
    quotes = dict(TardisSource().open(d / "tardis_quotes.csv.gz").load().columns)
    # The engine entry point (same signature before and after): 9,999 trades and 9,999 quotes;
    # callbacks start at the first quote (the book).
    s = TradesAndQuotes()
    trader._core.run_tick_backtest(trades, quotes, s, price_precision=2, size_precision=3)
    assert 9_900 < s.calls["trade"] <= 9_999 and s.calls["quote"] == 9_999
    # And through trader.run_tick_backtest.
    s = TradesAndQuotes()
    r = trader.run_tick_backtest(s, data=d / "tardis_trades.csv.gz", quotes=d / "tardis_quotes.csv.gz")
    assert 9_900 < s.calls["trade"] <= 9_999 and s.calls["quote"] == 9_999
    assert (r["trade_calls"], r["quote_calls"]) == (s.calls["trade"], s.calls["quote"])


def test_on_trade_on_quote_receive_0_calls_in_backtest_l2(usdm: str, registered: None,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A strategy written with `on_trade` / `on_quote` as the README documents receives **0 calls**
    in ... `trader backtest-l2`."""
    code, out, err = _cli(capsys, "backtest-l2", usdm, "-s", "trades_and_quotes", "--json")
    assert code == 0, err
    r = json.loads(out)
    # 21,313 trades and 66,089 bookTicker lines; callbacks from the book's sync on (~0.3 s in).
    assert 21_000 < TradesAndQuotes.calls["trade"] == r["trade_calls"] <= 21_313
    assert 65_000 < TradesAndQuotes.calls["quote"] == r["quote_calls"] <= 66_089


def test_bar_strategy_given_to_backtest_l2_runs_with_0_orders_and_no_word(usdm: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bar strategy given to `backtest-l2` runs with 0 orders and no word."""
    code, out, err = _cli(capsys, "backtest-l2", usdm, "-s", "ema_cross")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "on_bar" in err and "--bar 1m" in err, err
    code, out, err = _cli(capsys, "backtest-l2", usdm, "-s", "ema_cross", "--bar", "1m", "--cash", "100000", "--json")
    assert code == 0, err
    assert json.loads(out)["bars"] == 5  # 23:54 ... 23:58 (23:59 is incomplete at the end)


def test_run_tick_backtest_argument_order_and_required_precisions(shared_data: Path) -> None:
    """`run_tick_backtest(trades, quotes, strategy, price_precision=, size_precision=)` takes its
    arguments in another order than `run_backtest(strategy, data=)` and requires both precisions."""
    d = shared_data / "trades/nautilus"
    s = TradesAndQuotes()
    r = trader.run_tick_backtest(s, data=d / "tardis_trades.csv.gz", quotes=d / "tardis_quotes.csv.gz")
    # Inferred from every value: prices such as 9681.92 (2 decimals), sizes such as 0.132 (3).
    assert (r["price_precision"], r["size_precision"]) == (2, 3)
    assert r["symbol"] == "BTCUSDT" and s.calls["quote"] > 0
    with pytest.raises(trader.exceptions.InvalidInputError, match="takes the strategy first"):
        trader.run_tick_backtest(d / "tardis_trades.csv.gz", d / "tardis_quotes.csv.gz", s)


def test_backtest_l2_on_a_spot_recording_without_market_spot(l2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`backtest-l2` on a spot recording without `--market spot` fails with `pu: a usdm diff must
    carry 'pu'` and no hint."""
    spot = str(l2_dir / "spot/btcusdt_20240808.gz")
    code, out, err = _cli(capsys, "backtest-l2", spot, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (r["market"], r["sync_errors"]) == ("spot", 0) and r["fills"] > 0
    # Forcing the wrong market now says what to do.
    code, out, err = _cli(capsys, "backtest-l2", spot, "--market", "usdm")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--market spot" in err, err


def test_backtest_l2_market_cm_with_defaults_fails_on_qty_0(l2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--market cm` with defaults fails on qty 0."""
    cm = str(l2_dir / "cm/btcusd_perp_20240808.gz")
    code, out, err = _cli(capsys, "backtest-l2", cm, "--market", "cm", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["fills"] > 0 and r["orders"] > 0 and abs(r["position"]) <= 10  # 1 contract a quote, 10 at most


def test_backtest_l2_output_has_no_pnl_or_equity(usdm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """... the output has no PnL or equity."""
    fills = tmp_path / "fills.csv"
    code, out, err = _cli(capsys, "backtest-l2", usdm, "--cash", "1000", "--fills-out", str(fills), "--json")
    assert code == 0, err
    r = json.loads(out)
    import pyarrow.csv as pcsv

    f = pcsv.read_csv(fills).select(["side", "price", "qty", "fee"]).to_pydict()
    # By hand from the written fills: cash = 1000 - buys + sells - fees; equity adds the position at the last mid.
    cash = 1000 - sum((1 if s == "BUY" else -1) * p * q for s, p, q in zip(f["side"], f["price"], f["qty"])) - sum(f["fee"])
    assert r["equity"] == pytest.approx(cash + r["position"] * r["last_mid"], abs=1e-6)
    assert r["pnl"] == pytest.approx(r["realized_pnl"] + r["unrealized_pnl"] - r["fees"], abs=1e-6)
    code, out, err = _cli(capsys, "backtest-l2", usdm)
    assert code == 0, err
    for label in ("realized PnL", "unrealized PnL", "equity at last mid", "last mid"):
        assert label in out, out


def test_backtest_l2_timestamps_print_as_raw_nanoseconds(usdm: str, capsys: pytest.CaptureFixture[str]) -> None:
    """... timestamps print as raw nanoseconds with thousands separators."""
    code, out, err = _cli(capsys, "backtest-l2", usdm)
    assert code == 0, err
    assert "2024-08-08T23:54:15.030314667Z" in out and "2024-08-08T23:59:59.833492584Z" in out
    assert not re.search(r"1,723,161", out) and "1723161255030314667" not in out
    code, out, err = _cli(capsys, "backtest-l2", usdm, "--json")
    r = json.loads(out)  # --json keeps the ns beside the ISO time
    assert (r["first_ts"], r["first_time"]) == (1723161255030314667, "2024-08-08T23:54:15.030314667Z")


def test_l2_strategy_equity_qty_for_set_trading_state_set_confidence_raise_attributeerror(usdm: str) -> None:
    """in L2 runs `Strategy.equity`, `qty_for`, `set_trading_state` and `set_confidence` raise
    AttributeError."""

    class Sizer(Strategy):
        def on_start(self) -> None:
            self.seen: list[tuple] = []

        def on_book(self, book: Any) -> None:
            if not self.seen:
                self.set_confidence(0.5)
                self.set_trading_state("halted", "enough")
                self.seen.append((self.equity, self.qty_for(0.5, book.best_ask), self.trading_state))
            elif len(self.seen) == 1:
                self.seen.append((self.equity, self.qty_for(0.5, book.best_ask), self.trading_state))

    s = Sizer()
    r = trader.run_l2_backtest(usdm, s, cash=10_000.0)
    # 0.5 x 10,000 at ~61,800: 0.080 BTC, on the 0.001 lot.
    assert s.seen[0][:2] == (10_000.0, pytest.approx(0.080))
    assert s.seen[1][2] == "halted" and r["risk"]["state"] == "halted"
