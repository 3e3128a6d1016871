"""The terminal report's text (``trader.report``): statistics rows and the risk lines."""

from __future__ import annotations

from trader import run_backtest
from trader.report import format_stats, risk_lines


def test_each_denial_reason_shows_its_first_sentence_with_its_numbers() -> None:
    # 1000 units of a ~30k asset on 10,000 of cash: every buy is refused by the account
    r = run_backtest("ema_cross", {"qty": 1000.0})
    lines = risk_lines(r.risk)
    count = r.risk["denials"]["insufficient_balance"]
    assert count > 0 and f"  denied: insufficient_balance {count}" in lines
    first = [ln for ln in lines if ln.startswith("    first insufficient_balance: ")]
    assert len(first) == 1
    # the sentence carries the order, its cost and the balance it did not fit
    assert "buy 1000" in first[0] and "free balance 10000.00" in first[0]


def test_the_drawdown_duration_row_shows_days_under_a_name_without_seconds() -> None:
    rows = dict(format_stats({"max_drawdown_duration_s": 2 * 86_400.0}))
    assert rows == {"max_drawdown_duration": "2.00 d"}
