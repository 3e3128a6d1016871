"""Numbers for people (``trader.report.format``)."""

from __future__ import annotations

import math

from trader.report import format as fmt


def test_money_has_cents_separators_and_no_negative_zero() -> None:
    assert fmt.money(1234.5) == "1,234.50"
    assert fmt.money(-1234567.891) == "-1,234,567.89"
    assert fmt.money(-0.001) == "0.00"
    assert fmt.money(0.5, "USDT") == "0.50 USDT"
    assert fmt.money(0.000123, "BTC", 8) == "0.00012300 BTC"
    assert fmt.money(None) == "-" and fmt.money(math.nan) == "-" and fmt.money(math.inf) == "inf"


def test_percentages_prices_and_numbers() -> None:
    assert fmt.pct(0.1234) == "12.34%"
    assert fmt.pct(-0.5, 1) == "-50.0%"
    assert fmt.pct(0.02, sign=True) == "+2.00%"
    assert fmt.price(30123.456, 1) == "30,123.5"
    assert fmt.price(0.000123456, 6) == "0.000123"
    assert fmt.number(1789) == "1,789" and fmt.number(1.23456) == "1.23" and fmt.number(True) == "yes"
    assert fmt.ratio(-math.inf) == "-inf"


def test_times_are_iso_utc_and_durations_in_days_hours_minutes() -> None:
    assert fmt.iso(0) == "1970-01-01 00:00:00"
    assert fmt.iso(1_704_067_200_000_000_000 + 90 * 10**9) == "2024-01-01 00:01:30"
    assert fmt.iso(1_704_067_200_000_000_000, seconds=False) == "2024-01-01 00:00"
    assert fmt.iso(None) == "-"
    assert fmt.duration(42) == "42s"
    assert fmt.duration(90_061) == "1d 1h 1m"
    assert fmt.duration(86_400 + 300) == "1d 5m"
    assert fmt.duration(7_200) == "2h"
    assert fmt.duration(-1) == "-" and fmt.duration(None) == "-"
