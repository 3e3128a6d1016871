"""Regression tests for issue 10's bullet on risk denials and the audit log (each named after its
bullet; each failed on the code before the fix)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader import Strategy, run_backtest
from trader.risk import RiskSettings, verify_audit_file

from tests.regressions.test_ticks import _cli  # run the CLI in-process: (exit code, stdout, stderr)

PERP = "klines_1m/nautilus/btc-perp-20211231-20220201_1m.csv.gz"  # BTC fell ~47k -> ~36k that month
# The drawdown guard alone, its soft limit only: REDUCING once equity is 10 % below its high.
GUARD = "drawdown:soft=0.1,hard=none,daily_loss=none"

# "drawdown 12.3 % ≥ soft limit 10 % (high-water mark 11200.00, equity 9822.40): ..."
DRAWDOWN = re.compile(
    r"drawdown (?P<dd>\d+\.\d+) % ≥ soft limit 10 % \(high-water mark (?P<hwm>\d+\.\d\d), equity (?P<eq>\d+\.\d\d)\)"
)


class DipBuyer(Strategy):
    """Buys 0.2 BTC (about 9,400 of its 10,000) on the first bar, then asks for 0.001 more on
    every bar, all the way down."""

    name = "dip_buyer"

    def on_start(self) -> None:
        self.denied: list[Any] = []
        self.changes: list[dict[str, Any]] = []

    def on_bar(self, bar: Any) -> None:
        self.buy(0.2 if self.position() == 0 else 0.001)

    def on_order_event(self, event: Any) -> None:
        if event.kind == "denied":
            self.denied.append(event)

    def on_trading_state(self, change: dict[str, Any]) -> None:
        self.changes.append(change)


def test_risk_denials_say_risk_drawdown_limit_without_the_threshold_or_the_value(shared_data: Path) -> None:
    """Bullet: 'Risk denials say "risk: drawdown limit" without the threshold or the value.'

    A denial in the REDUCING state the drawdown guard asked for says the drawdown, the limit, the
    high-water mark and the equity behind it (OrderEvent.detail), and so does the state change the
    strategy is told of; the numbers agree with the run's own equity curve."""
    s = DipBuyer()
    r = run_backtest(s, None, str(shared_data / PERP), cash=10_000.0, fill_at="close", risk=RiskSettings(layers=[GUARD]))
    assert s.changes == r.risk["changes"]
    into = [c for c in s.changes if c["to"] == "reducing"]
    assert into and all(c["source"] == "drawdown" for c in s.changes)
    curve, ts = np.asarray(r.equity), np.asarray(r.equity_ts)
    for change in into:
        m = DRAWDOWN.fullmatch(change["reason"])
        assert m, change["reason"]
        dd, hwm, eq = float(m["dd"]), float(m["hwm"]), float(m["eq"])
        # the arithmetic: the drawdown is (high-water mark - equity) / high-water mark, at or past 10 %
        assert dd == pytest.approx((hwm - eq) / hwm * 100, abs=0.05) and dd >= 10.0, change["reason"]
        # the high-water mark is the run's highest equity so far, the equity one of the curve's
        # last two points (the guard looks at the account when the bar's step syncs the layers,
        # which is stamped with the bar's time: the mark of the bar's close or the one before)
        before = curve[ts <= change["ts"]]
        assert hwm == pytest.approx(before.max(), abs=0.01)
        assert np.abs(before[-2:] - eq).min() <= 0.005, (eq, before[-2:])

    reducing = [e for e in s.denied if e.code == "state_reducing"]
    assert len(reducing) > 1000
    for e in reducing:
        # the reason of the change that set the state, then the state, who set it and when, and why
        # this order does not fit it
        (change,) = [c for c in into if c["ts"] <= e.ts][-1:]
        assert e.detail and e.detail.startswith(change["reason"] + ": trading state REDUCING (since "), (e, change)
        assert re.search(r"by layer drawdown\) lets only reducing orders out: buy 0\.001000 \S+ would grow the position 0\.2\d*$",
                         e.detail), e.detail
    # the report keeps one example sentence per reason, beside the count
    assert r.risk["examples"]["state_reducing"] == reducing[0].detail
    assert r.risk["denials"]["state_reducing"] == len(reducing)


def test_the_audit_log_records_state_changes_but_no_denial(shared_data: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Bullet: 'the audit log records state changes but no denial.'

    `trader backtest --audit-log`: every refused order is in an entry of the chain (its order id,
    its reason code and the sentence), the account's refusals as well as the risk engine's (a run
    of the same denial in a row is one entry: its `count`, every order id, the first and the last
    sentence), and `trader audit verify` still checks the chain (and catches an edited denial)."""
    log = tmp_path / "audit.jsonl"
    code, stdout, err = _cli(capsys, "backtest", "-s", f"{__file__}:DipBuyer", "--data", str(shared_data / PERP),
                             "--fill-at", "close", "--risk-layer", GUARD, "--audit-log", str(log), "--json")
    assert code == 0, err
    out = json.loads(stdout)
    denials = out["risk"]["denials"]
    assert denials["state_reducing"] > 1000 and denials["insufficient_balance"] > 0, denials

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [e["kind"] for e in entries]
    assert kinds.count("state") == len(out["risk"]["changes"]) > 0 and kinds[-1] == "seal"
    denied = [e for e in entries if e["kind"] == "denial"]
    # every refused order in one entry, named once (ids grow with the run), with its code
    assert {c: sum(e.get("count", 1) for e in denied if e["code"] == c) for c in denials} == denials
    ids = [i for e in denied for i in e["orders"]]
    assert len(ids) == sum(denials.values()) and ids == sorted(set(ids))
    first = next(e for e in denied if e["code"] == "state_reducing")
    assert (first["source"], first["from"], first["to"]) == ("risk", "reducing", "reducing")
    assert DRAWDOWN.match(first["reason"]) and "would grow the position" in first["reason"], first["reason"]
    account = next(e for e in denied if e["code"] == "insufficient_balance")
    assert account["source"] == "account"
    balance = r"buy 0\.001000 \S+ at \d+\.\d+ costs \d+\.\d\d with fees; free balance \d+\.\d\d \(cash \d+\.\d\d\)"
    assert re.fullmatch(balance, account["reason"]), account["reason"]
    folded = [e for e in denied if e.get("count", 1) > 1]
    assert folded and all(re.fullmatch(balance, e["last_reason"]) for e in folded if e["source"] == "account")

    # the chain verifies, and a denial edited to name another order is caught
    assert verify_audit_file(log) == len(entries)
    assert _cli(capsys, "audit", "verify", str(log))[0] == 0
    k = entries.index(first)
    edited = dict(first, orders=[first["orders"][0] + 1])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(e) + "\n" for e in [*entries[:k], edited, *entries[k + 1:]]))
    code, _, err = _cli(capsys, "audit", "verify", str(bad))
    assert code == 2 and f"audit entry {k}: hash mismatch" in err, err


def test_a_strategy_refused_every_bar_keeps_its_audit_small() -> None:
    """Problem: 'Since the audit chain records every denial (one AuditEntry per refused command ...),
    a strategy that keeps submitting orders its account cannot pay for got 7x slower and 4x
    heavier ... A user's buggy strategy must not blow up memory like this.'

    200k bars, every order refused: the audit folds each run of the same denial into one entry, so
    it has far fewer entries than denials, and every refused order id is in it exactly once."""
    from collections import Counter

    from trader import _core

    from tests.test_risk_backtest import _greedy_run

    n = 200_000
    r, refused = _greedy_run(n)
    assert len(refused) == n == r.risk["denials"]["insufficient_balance"]
    assert len(r.audit) < n / 100, len(r.audit)
    ids = Counter(i for e in r.audit if e["kind"] == "denial" for i in e["orders"])
    assert ids == Counter(refused) and set(ids.values()) == {1}
    assert sum(e.get("count", 1) for e in r.audit if e["kind"] == "denial") == n
    _core.verify_audit(r.audit)
