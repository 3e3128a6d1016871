"""Numbers for people: money to cents with thousands separators, percentages, prices at the
instrument's precision, ISO 8601 UTC times and d/h/m durations. Every function takes None (or a
non-finite float where it says so) and gives a dash or a word, never a crash, so a statistic a
run could not give reads as missing."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = ["money", "pct", "price", "number", "iso", "duration", "ratio"]

DASH = "-"


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def money(v: Any, currency: str = "", decimals: int = 2) -> str:
    """``1234.5`` -> ``1,234.50`` (``1,234.50 USDT`` with a currency); negative with a minus sign.
    ``decimals``: 2 (cents) by default; a coin-settled run passes 8."""
    if not _finite(v):
        return DASH if v is None else _inf(v)
    text = f"{float(v):,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # -0.00 reads as a loss that is not there
    return f"{text} {currency}".rstrip()


def pct(v: Any, decimals: int = 2, sign: bool = False) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``12.34%`` (``+12.34%`` with ``sign``)."""
    if not _finite(v):
        return DASH if v is None else _inf(v)
    return f"{float(v) * 100:{'+' if sign else ''},.{decimals}f}%"


def price(v: Any, precision: int) -> str:
    """A price at the instrument's price precision (decimals), thousands separated."""
    if not _finite(v):
        return DASH if v is None else _inf(v)
    return f"{float(v):,.{max(0, int(precision))}f}"


def number(v: Any, decimals: int = 2) -> str:
    """A plain number (a ratio, a count): integers with separators, floats to ``decimals``."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if not _finite(v):
        return _inf(v)
    return f"{float(v):,.{decimals}f}"


def ratio(v: Any) -> str:
    """A ratio (Sharpe, profit factor) to two decimals; infinity as ``inf``."""
    return number(v, 2)


def _inf(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return DASH
    return "inf" if f > 0 else "-inf"


def iso(ts_ns: Any, seconds: bool = True) -> str:
    """UTC epoch nanoseconds as ``2024-01-01 00:00:00`` (``2024-01-01 00:00`` without seconds);
    None as a dash. Always UTC (the report says so once)."""
    if ts_ns is None:
        return DASH
    try:
        when = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(ts_ns) // 1000)
    except (TypeError, ValueError, OverflowError):
        return str(ts_ns)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration(seconds: Any) -> str:
    """A duration in seconds as ``3d 4h 5m``, ``2h 30m``, ``5m``; under a minute ``42s``; zero
    units in between are left out (``1d 5m``). None or a negative value: a dash."""
    if not _finite(seconds) or float(seconds) < 0:
        return DASH
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s}s"
    d, rem = divmod(s, 86_400)
    h, rem = divmod(rem, 3_600)
    m = rem // 60
    parts = [f"{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m")) if n]
    return " ".join(parts)
