"""The risk engine in whole backtests: a reckless strategy on real data held within its limits by
the default layers; denials reach the strategy; the audit log of the run verifies and detects
tampering; trading states commanded by the strategy."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from trader import Strategy, run_backtest
from trader.exceptions import InvalidInputError
from trader.risk import RiskSettings, verify_audit_file, write_audit_log

PERP = "klines_1m/nautilus/btc-perp-20211231-20220201_1m.csv.gz"  # BTC fell ~47k -> ~36k that month
LEVERAGE_CAP = 5.0


class Reckless(Strategy):
    """Martingale: opens long at 2x leverage and doubles the position every time the price falls 1%
    below the last entry (4x, 8x, 16x, ... up to the venue's 20x and liquidation); takes profit at
    +0.5% over the last entry."""

    name = "reckless"

    def on_start(self) -> None:
        self.last_entry = None
        self.size = None
        self.denied: list[str] = []
        self.changes: list[dict] = []

    def on_bar(self, bar) -> None:
        pos = self.position()
        px = bar.close
        if pos == 0:
            self.buy(round(self.equity * 2 / px, 3))
            self.last_entry = px
        elif px < self.last_entry * 0.99:  # down 1%: double down
            self.buy(round(pos, 3))
            self.last_entry = px
        elif px > self.last_entry * 1.005:
            self.sell(round(pos, 3))

    def on_order_event(self, event) -> None:
        if event.kind == "denied":
            self.denied.append(event.code)

    def on_trading_state(self, change) -> None:
        self.changes.append(change)


def _run(shared_data, risk, strategy=Reckless):
    return run_backtest(strategy, None, str(shared_data / PERP), account="margin", leverage=20, cash=10_000.0,
                        fill_at="close", risk=risk)


def leverage_at_fills(r) -> np.ndarray:
    """|position| x fill price / equity at that bar, after each fill."""
    f = r.fills
    pos = np.cumsum(np.where(f["side"] > 0, f["qty"], -f["qty"]))
    idx = np.searchsorted(r.equity_ts, f["ts"], side="right") - 1
    return np.abs(pos) * f["price"] / r.equity[idx]


def test_reckless_strategy_is_held_within_its_limits_by_the_default_layers(shared_data):
    free = _run(shared_data, None)
    # Unchecked, the martingale runs up to the venue's 20x and loses most of its equity.
    assert leverage_at_fills(free).max() > 3 * LEVERAGE_CAP
    assert free.stats["max_drawdown"] > 0.6

    strat = Reckless()
    r = _run(shared_data, RiskSettings(limits={"max_leverage": LEVERAGE_CAP}, layers=None), strat)  # default layers
    rep = r.risk
    # The strategy saw every state change and every denial, with its reason code.
    assert [(c["from"], c["to"]) for c in strat.changes] == [(c["from"], c["to"]) for c in rep["changes"]]
    assert {k: strat.denied.count(k) for k in set(strat.denied)} == {k: v for k, v in rep["denials"].items() if v}
    assert 0 < leverage_at_fills(r).max() <= LEVERAGE_CAP * 1.001
    assert r.stats["max_drawdown"] < 0.2  # the drawdown guard's hard limit was never reached
    # The transitions, in order, with who made them: the daily loss limit halts the first bad day,
    # the next UTC day trades again, the second bad day halts, and the drawdown (> 10% soft) keeps
    # it REDUCING from then on: no more doubling down.
    # Each reason is the guard's own sentence, with its numbers.
    path = [(c["from"], c["to"], c["source"]) for c in rep["changes"]]
    assert path == [
        ("active", "halted", "drawdown"),
        ("halted", "active", "drawdown"),
        ("active", "halted", "drawdown"),
        ("halted", "reducing", "drawdown"),
    ], path
    reasons = [c["reason"] for c in rep["changes"]]
    day_loss = r"day loss (\d+\.\d) % ≥ daily_loss limit 5 % \(equity [\d.]+ against [\d.]+ at the day's start\)"
    assert re.fullmatch(day_loss, reasons[0]) and re.fullmatch(day_loss, reasons[2]), reasons
    assert reasons[1].startswith("condition cleared: drawdown "), reasons[1]
    m = re.fullmatch(r"drawdown (\d+\.\d) % ≥ soft limit 10 % \(high-water mark ([\d.]+), equity ([\d.]+)\)", reasons[3])
    assert m and float(m[1]) >= 10.0, reasons[3]
    assert float(m[1]) == pytest.approx((1 - float(m[3]) / float(m[2])) * 100, abs=0.05)
    assert rep["state"] == "reducing"
    assert rep["denials"]["leverage"] >= 1 and rep["denials"]["state_reducing"] > 0 and rep["denials"]["state_halted"] > 0
    assert all(p[1] == 0 for p in r.positions)  # its take-profit sells were allowed: it ended flat
    spent = rep["time_in_state"]
    assert spent["reducing"] > spent["halted"] > 0 and spent["emergency"] == 0
    assert sum(spent.values()) == pytest.approx((r.equity_ts[-1] - r.equity_ts[0]) / 1e9, abs=60)


def test_emergency_cancels_and_flattens_and_nothing_else_goes_out(shared_data):
    r = _run(shared_data, RiskSettings(limits={"max_leverage": LEVERAGE_CAP},
                                       layers=["drawdown:hard=0.12,daily_loss=0.5", "panic", "circuit_breaker"]))
    rep = r.risk
    (t_emergency,) = [c["ts"] for c in rep["changes"] if c["to"] == "emergency"]
    assert rep["changes"][-1]["to"] == "emergency" and rep["state"] == "emergency"
    assert r.stats["max_drawdown"] < 0.15
    f = r.fills
    after = f["ts"] >= t_emergency
    # After EMERGENCY: only the engine's flattening order traded (ids from 2^62), and it left the
    # position flat; every strategy order since was denied.
    assert after.sum() >= 1 and np.all(f["order_id"][after] >= 2**62)
    signed = np.where(f["side"] > 0, f["qty"], -f["qty"])
    assert abs(signed.sum()) < 1e-9
    assert rep["denials"]["state_emergency"] > 1000


def test_audit_log_of_a_run_verifies_and_detects_tampering(shared_data, tmp_path):
    r = _run(shared_data, RiskSettings(limits={"max_leverage": LEVERAGE_CAP}, layers=None))
    path = write_audit_log(r.audit, tmp_path / "audit.jsonl")
    n = verify_audit_file(path)
    assert n == len(r.audit) >= 3  # state changes + the seal
    lines = path.read_text().splitlines()

    def tampered(new_lines: list[str]) -> str:
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(new_lines) + "\n")
        with pytest.raises(InvalidInputError) as e:
            verify_audit_file(bad)
        return str(e.value)

    edited = json.loads(lines[0])
    edited["reason"] = edited["reason"] + " (edited)"
    assert "entry 0" in tampered([json.dumps(edited), *lines[1:]])
    assert tampered([lines[1], lines[0], *lines[2:]])  # reordered
    assert tampered(lines[1:])  # first removed
    assert tampered([lines[0], *lines[2:]])  # middle removed
    assert tampered(lines[:-1])  # the seal removed


def test_strategy_commands_trading_states(klines_1m_paths):
    """PAUSED: nothing new goes out, working orders stay; HALTED: cancels refused too."""

    class Commander(Strategy):
        name = "commander"

        def on_start(self):
            self.n = 0
            self.seen = []
            self.oid = None

        def on_bar(self, bar):
            self.n += 1
            if self.n == 1:
                self.oid = self.buy(0.001, price=round(bar.close * 0.5, 2))  # far below: rests
            elif self.n == 2:
                self.set_trading_state("paused", "test pause")
                self.buy(0.001)
            elif self.n == 3:
                self.set_trading_state("halted", "test halt")
                self.cancel(self.oid)
            elif self.n == 4:
                self.set_trading_state("active", "resume")
                self.buy(0.001)

        def on_order_event(self, event):
            self.seen.append((self.n, event.kind, event.reason))

    path, _ = klines_1m_paths[0]
    r = run_backtest(Commander, None, str(path), risk=RiskSettings(layers=[]))
    kinds = [(c["from"], c["to"], c["source"]) for c in r.risk["changes"]]
    assert kinds == [("active", "paused", "command"), ("paused", "halted", "command"), ("halted", "active", "command")]
    assert {k: v for k, v in r.risk["denials"].items() if v} == {"state_paused": 1, "state_halted": 1}
    assert len(r.open_orders) == 1  # the resting order stayed through PAUSED and HALTED


def test_bad_risk_setting_type():
    with pytest.raises(InvalidInputError, match="risk: expected trader.risk.RiskSettings"):
        run_backtest("ema_cross", None, None, options={"bars": 500}, risk=42)


def _greedy_run(n: int, cash: float = 1000.0):
    """`n` synthetic minute bars around 30,000 (moving every bar) and a strategy that buys 1 X on
    every bar with `cash`: the account refuses every order (insufficient_balance). Returns the
    result and the ids of the refused orders, as the strategy saw them."""
    from trader.data import Bars

    rng = np.random.default_rng(7)
    c = np.round(30_000 * np.exp(np.cumsum(rng.normal(0, 0.001, n))), 2)
    o = np.concatenate([[c[0]], c[:-1]])
    bars = Bars("X", np.arange(n, dtype=np.int64) * 60_000_000_000, o, np.maximum(o, c) + 1, np.minimum(o, c) - 1, c,
                np.ones(n))

    class Greedy(Strategy):
        name = "greedy"

        def on_start(self) -> None:
            self.refused: list[int] = []

        def on_bar(self, bar) -> None:
            self.buy(1.0)

        def on_order_event(self, event) -> None:
            if event.kind == "denied":
                self.refused.append(event.order_id)

    s = Greedy()
    r = run_backtest(s, None, bars, mode="event", cash=cash, price_precision=2)
    return r, s.refused


def test_audit_verify_checks_folded_denials(tmp_path, capsys):
    """A streak of the same denial: its first 1000 are entries of their own, the rest one folded
    entry (count, last_ts, last_reason, every order id); `trader audit verify` accepts the log,
    and catches an edit of any of those fields."""
    from tests.regressions.test_ticks import _cli

    r, refused = _greedy_run(1300)
    denials = [e for e in r.audit if e["kind"] == "denial"]
    assert len(denials) == 1001 and r.risk["denials"]["insufficient_balance"] == len(refused) == 1300
    assert all("count" not in e and len(e["orders"]) == 1 for e in denials[:1000])
    d = denials[1000]
    assert (d["count"], d["orders"], d["source"], d["code"]) == (300, refused[1000:], "account", "insufficient_balance")
    assert [e["orders"][0] for e in denials[:1000]] == refused[:1000]
    assert d["last_ts"] > d["ts"] and d["reason"] != d["last_reason"]  # the price moved: both sentences kept
    path = write_audit_log(r.audit, tmp_path / "audit.jsonl")
    assert verify_audit_file(path) == 1002
    code, out, err = _cli(capsys, "audit", "verify", str(path))
    assert code == 0 and "1002 entries, chain intact and sealed" in out, err
    lines = path.read_text().splitlines()
    k = 1000  # the folded entry's line
    edits = {
        "count": lambda e: e.update(count=e["count"] - 1),
        "last_ts": lambda e: e.update(last_ts=e["last_ts"] + 1),
        "last_reason": lambda e: e.update(last_reason=e["reason"]),
        "an order id": lambda e: e["orders"].__setitem__(150, 999_999),
        "an order id dropped": lambda e: e["orders"].pop(),
        "the fold undone": lambda e: [e.pop(k) for k in ("count", "last_ts", "last_reason")],
    }
    for what, edit in edits.items():
        e = json.loads(lines[k])
        edit(e)
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join([*lines[:k], json.dumps(e), *lines[k + 1:]]) + "\n")
        code, out, err = _cli(capsys, "audit", "verify", str(bad))
        assert code == 2 and err.count("\n") == 1 and f"audit entry {k}: hash mismatch" in err, (what, err)
    # a count that is not an integer is named
    e = json.loads(lines[k])
    e["count"] = "many"
    bad.write_text("\n".join([*lines[:k], json.dumps(e), *lines[k + 1:]]) + "\n")
    code, _, err = _cli(capsys, "audit", "verify", str(bad))
    assert code == 2 and f'audit entry {k}: "count" must be an integer' in err, err
