"""The backtest as a whole: books reconcile with fills at every bar, the vectorized and event paths
agree, statistics are consistent, and bad input / failing strategies end the run the right way."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from trader import Param, Signals, Strategy, run_backtest
from trader.exceptions import InvalidInputError, StrategyError
from trader.strategy import ParameterError

CASH = 10_000.0


def reconcile(result, bars: dict) -> None:
    """Rebuild cash and position from the exact fills, bar by bar; equity must match to the cent."""
    fills = result.fills_exact
    k, cash, pos = 0, Fraction(CASH), Fraction(0)
    assert len(result.equity) == len(bars["ts"])
    for i, t in enumerate(bars["ts"]):
        while k < len(fills) and fills[k][0] <= t:
            _ts, _inst, side, px, q, fee, _id = fills[k]
            cash += -side * Fraction(px) * Fraction(q) - Fraction(fee)
            pos += side * Fraction(q)
            k += 1
        equity = cash + pos * Fraction(bars["close"][i]).limit_denominator(10**9)
        assert abs(float(equity) - result.equity[i]) < 0.005, f"bar {i}: {float(equity)} vs {result.equity[i]}"
    assert k == len(fills)
    assert abs(float(cash) - float(result.stats["final_equity"]) + float(pos) * bars["close"][-1]) < 0.005


@pytest.mark.parametrize("strategy,params", [
    ("ema_cross", {"fast": 5, "slow": 20, "allow_short": True}),
    ("rsi_reversion", {"allow_short": True}),
    ("bollinger_breakout", {"allow_short": True}),
    ("macd_trend", {}),
    ("signal_fusion", {}),
])
def test_books_reconcile_with_fills_at_every_bar(klines_1m_paths, strategy, params):
    path, bars = max(klines_1m_paths, key=lambda pb: len(pb[1]["ts"]))
    # the strategies that sell short need a margin account (a cash account refuses short sales);
    # at 2x an all-in reversal (closing fee + opening margin) fits the wallet
    account = dict(account="margin", leverage=2.0) if params.get("allow_short") else {}
    result = run_backtest(strategy, params, str(path), cash=CASH, fee_bps=5, slippage_bps=3, **account)
    assert result.stats["trades"] > 0
    reconcile(result, bars)


def test_vectorized_and_event_paths_give_the_same_fills_for_target_decisions():
    """A strategy with both forms (targets): identical fills, equity and statistics."""

    class Wave(Strategy):
        name = "wave"
        period = Param(37, int, ge=2)

        def on_bar(self, bar):
            i = self._i = getattr(self, "_i", -1) + 1
            want = 0.5 if (i // self.period) % 3 == 0 else (-0.25 if (i // self.period) % 3 == 1 else 0.0)
            delta = want - self.position()
            if delta > 0:
                self.buy(delta)
            elif delta < 0:
                self.sell(-delta)

        def vectorized(self, bars):
            i = np.arange(len(bars.close))
            phase = (i // self.period) % 3
            return Signals(target=np.where(phase == 0, 0.5, np.where(phase == 1, -0.25, 0.0)))

    # targets long and short: a margin account (5x) carries them
    kw = dict(data=None, options={"bars": 20_000, "seed": 3}, fee_bps=2, slippage_bps=1, account="margin", leverage=5)
    for fill_at in ("next_open", "close"):
        ev = run_backtest(Wave(), fill_at=fill_at, **kw)
        vec = run_backtest(Wave(), fill_at=fill_at, mode="vectorized", **kw)
        assert ev.fills_exact == vec.fills_exact and len(ev.fills_exact) > 100
        assert np.array_equal(ev.equity, vec.equity)
        assert ev.stats == vec.stats


def test_statistics_are_consistent(klines_1m_paths):
    path, bars = max(klines_1m_paths, key=lambda pb: len(pb[1]["ts"]))
    r = run_backtest("ema_cross", {"fast": 10, "slow": 40}, str(path), fee_bps=4)
    s = r.summary()
    for key in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "max_drawdown_duration_s", "calmar", "win_rate",
                "profit_factor", "expectancy", "trades", "exposure", "fees_paid", "bars", "orders", "fills", "final_equity",
                "elapsed_s", "bars_per_s"):
        assert key in s, key
    assert s["bars"] == len(bars["ts"])
    assert s["total_return"] == pytest.approx(s["final_equity"] / CASH - 1)
    assert s["fees_paid"] == pytest.approx(float(sum(Fraction(f[5]) for f in r.fills_exact)))
    assert 0 <= s["max_drawdown"] < 1 and 0 <= s["exposure"] <= 1 and 0 <= s["win_rate"] <= 1
    pnl = r.trades["pnl"][r.trades["closed"]]  # the statistics count the closed round trips
    assert s["trades"] == len(pnl) and s["expectancy"] == pytest.approx(pnl.mean())
    eq = r.equity
    peak = np.maximum.accumulate(np.maximum(eq, CASH))
    assert s["max_drawdown"] == pytest.approx(float((1 - eq / peak).max()))


def test_a_signal_on_the_last_bar_leaves_an_unfilled_order_and_open_positions_stay():
    class LastBar(Strategy):
        name = "last_bar"

        def on_start(self):
            self.n = 0

        def on_bar(self, bar):
            self.n += 1
            if self.n in (10, 500):
                self.buy(1.0)

    r = run_backtest(LastBar(), options={"bars": 500}, cash=1_000_000)  # 1 unit of the synthetic series
    assert len(r.fills["ts"]) == 1 and len(r.open_orders) == 1
    assert r.positions[0][1] == 1.0


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="fast .* must be < slow"):
        run_backtest("ema_cross", {"fast": 30, "slow": 10})
    with pytest.raises(ParameterError, match="unknown parameter 'speed'"):
        run_backtest("ema_cross", {"speed": 3})
    with pytest.raises(ParameterError, match="parameter fast: expected int, got 'ten'"):
        run_backtest("ema_cross", {"fast": "ten"})
    with pytest.raises(ParameterError, match="parameter slow: must be >= 2"):
        run_backtest("ema_cross", {"fast": 1, "slow": 1})
    with pytest.raises(InvalidInputError, match="unknown strategy 'nope'"):
        run_backtest("nope")


def test_a_strategy_that_raises_stops_the_run_with_its_own_error():
    class Broken(Strategy):
        name = "broken"

        def on_bar(self, bar):
            if bar.close > 0 and getattr(self, "seen", 0) > 3:
                raise ZeroDivisionError("my bug")
            self.seen = getattr(self, "seen", 0) + 1

    with pytest.raises(StrategyError) as err:
        run_backtest(Broken(), options={"bars": 100})
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_backtest_json_and_fills_out(tmp_path: Path, klines_1m_paths):
    path, _ = klines_1m_paths[0]
    out = tmp_path / "fills.csv"
    p = run_cli("backtest", "--strategy", "ema_cross", "-p", "fast=5", "-p", "slow=20", "--data", str(path), "--fee-bps", "5",
                "--json", "--fills-out", str(out), "--report", str(tmp_path / "r.html"))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["strategy"] == "ema_cross" and doc["params"]["fast"] == 5 and doc["bars"] > 0
    header = out.read_text().splitlines()[0]
    assert header.startswith('"ts","side","price","qty","fee","order_id"')
    assert len(out.read_text().splitlines()) == doc["fills"] + 1
    page = (tmp_path / "r.html").read_text()
    assert '<meta name="trader-figures"' in page and "Equity" in page


def test_cli_fill_models_and_tables_out(tmp_path: Path):
    out = tmp_path / "tables"
    p = run_cli("backtest", "--json", "-o", "bars=3000", "-p", "stop_loss=0.01", "-p", "take_profit=0.02", "--fill-model",
                "bars:path=ohlc,participation=0.5", "--latency", "constant:submit_ms=30000", "--fees", "tiered",
                "--slippage", "spread:spread_bps=4", "--tables-out", str(out), "--tables-format", "csv")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["fees_paid"] > 0 and doc["fills"] > 0
    orders = (out / "orders.csv").read_text().splitlines()
    assert orders[0].startswith('"order_id","symbol","side","type"') and len(orders) - 1 == doc["orders"]
    assert len((out / "fills.csv").read_text().splitlines()) - 1 == doc["fills"]
    assert (out / "positions.csv").is_file()


def test_cli_backtest_on_tick_data_says_so(shared_data: Path):
    p = run_cli("backtest", "--data", str(shared_data / "trades/nautilus/tardis_trades.csv.gz"))
    assert p.returncode == 2 and "holds tick data (trades), not bars" in p.stderr and "Traceback" not in p.stderr


def test_cli_backtest_l2_on_a_recording(shared_data: Path):
    path = shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
    p = run_cli("backtest-l2", str(path), "-p", "qty=0.002", "-p", "max_position=0.01", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["events"] == 93_954 and doc["sync_errors"] == 0 and doc["fills"] == doc["maker_fills"] > 0
    p = run_cli("backtest-l2", str(path), "-p", "qty=abc")
    assert p.returncode == 2 and p.stderr.strip() == "error: native market maker: qty must be a number, got 'abc'"


def test_cli_default_runs_on_the_synthetic_series():
    p = run_cli("backtest", "--json", "-o", "bars=5000")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["symbols"] == ["SYNTH-USDT"]


@pytest.mark.parametrize("args,needle", [
    (["--strategy", "nope"], "unknown strategy 'nope'"),
    (["-p", "fast=x"], "parameter fast: expected int"),
    (["-p", "speed=3"], "unknown parameter 'speed'"),
    (["-p", "fast=40"], "fast (40) must be < slow (30)"),
    (["-p", "novalue"], "expected key=value"),
    (["--data", "/nonexistent/bars.csv"], "/nonexistent/bars.csv"),
    (["--fee-bps", "-1"], "fee-bps"),
    (["--fills-out", "x.txt"], "must end in .csv or .parquet"),
    (["--fill-model", "bars:path=sideways"], "path must be one of proximity, ohlc, olhc"),
    (["--latency", "warp"], "latency model: unknown model 'warp'"),
    (["--slippage", "sqrt_impact:k=-1"], "k must be >= 0"),
    (["--fees", "tiered:schedule=nyse"], "schedule must be one of"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, needle):
    p = run_cli("backtest", "-o", "bars=2000", *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("content,needle", [
    ("", "empty"),
    ("timestamp,open,high,low,close,volume\n", "no data rows"),
    ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00,1,2,0.5,x,3\n", "row 1"),
    ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00,1,2,0.5,1,3\n2024-01-01T00:01:00,1,0.4,0.5,1,3\n", "row 2"),
    ("timestamp,open,high,low,close,volume\n2024-01-01T00:01:00,1,2,0.5,1,3\n2024-01-01T00:00:00,1,2,0.5,1,3\n", "row 2"),
    ("timestamp,open,high,low,volume\n2024-01-01T00:01:00,1,2,0.5,3\n", "close"),
    ("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00,0,2,0.5,1,3\n", "row 1"),
])
def test_cli_bad_data_names_file_and_row(tmp_path: Path, content, needle):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    p = run_cli("backtest", "--data", str(f))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.csv" in lines[0] and needle in lines[0], p.stderr


def test_cli_strategy_error_prints_its_traceback_and_exits_1(tmp_path: Path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\nfrom trader import Strategy\nfrom trader.cli import run\nimport trader.plugins as pl\n"
        "class Boom(Strategy):\n    name = 'boom'\n    def on_bar(self, bar):\n        raise KeyError('strategy bug')\n"
        "orig = pl.strategies\npl.strategies = lambda pm=None: {**orig(pm), 'boom': Boom}\n"
        "run(['backtest', '--strategy', 'boom', '-o', 'bars=100', '--json'])\n"
    )
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "Traceback" in p.stderr and "KeyError: 'strategy bug'" in p.stderr
    assert p.stdout == ""  # no partial result reported


# ---- runs that cannot trade warn and say why (trader.backtest.run_warnings) ----------------------


def test_a_warm_up_longer_than_the_data_is_warned_about():
    result = run_backtest("ema_cross", {"slow": 5_000}, options={"bars": 3_000})
    assert result.orders == 0
    assert result.warnings == [
        "warm-up longer than the data: EMA was still warming up after all 3,000 bars of SYNTH-USDT, so it never gave a value "
        "and no order was placed (shorten its period or give more data)"
    ]
    assert result.summary()["warnings"] == result.warnings
    ok = run_backtest("ema_cross", {"slow": 2_999}, options={"bars": 3_000})
    assert ok.warnings == [] and "warnings" not in ok.summary()


def test_a_lot_step_that_rounds_every_order_to_zero_is_warned_about():
    # 1 unit of a 30,000 instrument with 10,000 of cash: qty_for(1.0) rounds 0.33 down to 0
    result = run_backtest("ema_cross", options={"bars": 5_000}, size_precision=0)
    assert result.orders == 0 and len(result.warnings) == 1
    assert result.warnings[0].startswith("lot step too coarse: qty_for rounded all ") and "lot step 1 (size precision 0)" in result.warnings[0]
    # direct orders below the lot are denied by the engine: the same warning, from the denials
    result = run_backtest("ema_cross", {"qty": 0.4}, options={"bars": 5_000}, size_precision=0)
    assert result.orders == 0 and result.risk["denials"]["quantity_below_min"] > 0
    n = result.risk["denials"]["quantity_below_min"]
    assert result.warnings == [
        f"{n} order quantities were rounded down to the lot (the first: 0.4 -> 0.0); --off-lot reject refuses them instead",
        f"lot step too coarse: all {n:,} orders were denied as below the minimum quantity (lot step 1, size precision 0), so no "
        "order was placed (give a finer size precision)",
    ]
    assert run_backtest("ema_cross", options={"bars": 5_000}, size_precision=2).warnings == []


def test_cli_warns_on_stderr_and_in_json():
    p = run_cli("backtest", "-o", "bars=3000", "-p", "slow=1000000000", "--json")
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("warning: warm-up longer than the data: EMA") and len(p.stderr.splitlines()) == 1
    assert json.loads(p.stdout)["warnings"] == [p.stderr.strip()[len("warning: "):]]
