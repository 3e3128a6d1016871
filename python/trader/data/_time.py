"""Time helpers shared by the data sources: epoch units, interval strings, ISO formatting."""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np

from trader.exceptions import DataError, InvalidInputError

NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTERVAL_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def epoch_unit(value: int) -> str:
    """The unit of an integer epoch timestamp guessed from its magnitude.

    ``< 1e11`` seconds (up to year 5138), ``< 1e14`` milliseconds, ``< 1e17`` microseconds, else
    nanoseconds. Binance spot kline files switched from ms to µs in 2025; this tells them apart.
    """
    v = abs(int(value))
    if v < 10**11:
        return "s"
    if v < 10**14:
        return "ms"
    if v < 10**17:
        return "us"
    return "ns"


def parse_interval(value: str | int | None) -> int | None:
    """``"1m"``, ``"4h"``, ``"1d"``, ... (or an integer number of nanoseconds) to nanoseconds.

    Units: s, m (minute), h, d, w. ``None`` stays ``None``.
    """
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value <= 0:
            raise InvalidInputError(f"interval must be positive, got {value}")
        return int(value)
    m = _INTERVAL_RE.match(str(value))
    if not m or int(m.group(1)) == 0:
        raise InvalidInputError(f"bad interval {value!r}: expected e.g. 1m, 5m, 1h, 4h, 1d")
    return int(m.group(1)) * _UNITS[m.group(2)] * 1_000_000_000


def to_ns(value: object, what: str = "time") -> int | None:
    """A point in time as UTC epoch nanoseconds.

    Accepts ``None`` (stays ``None``), an integer (epoch; unit guessed by :func:`epoch_unit`), an ISO
    string (naive means UTC), a :class:`datetime.datetime` (naive means UTC) or a
    :class:`numpy.datetime64`.
    """
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value) * NS_PER[epoch_unit(int(value))]
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"bad {what} {value!r}: expected an ISO date/time such as 2024-01-01T00:00Z") from None
        return to_ns(parsed, what)
    raise InvalidInputError(f"bad {what} {value!r}: expected an ISO string, a datetime or an epoch integer")


def iso(ts_ns: int) -> str:
    """UTC epoch nanoseconds as ``2024-01-01T00:00:00Z`` (sub-second digits only when present)."""
    text = str(np.datetime64(int(ts_ns), "ns"))
    text = re.sub(r"\.0+$", "", text)
    return text + "Z"


def duration(ns: int) -> str:
    """A duration in nanoseconds as ``3d 4h``, ``2h 30m``, ``90s``, ``250ms``."""
    ns = int(ns)
    if ns < 1_000_000_000:
        return f"{ns / 1e6:g}ms"
    s = ns // 1_000_000_000
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return " ".join(parts[:2])


def interval_name(ns: int) -> str:
    """An interval in nanoseconds as the short name ``1m``, ``4h``, ``1d`` when it is one."""
    if ns <= 0:
        return "unknown"
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if ns % (size * 1_000_000_000) == 0:
            return f"{ns // (size * 1_000_000_000)}{unit}"
    return duration(ns)


def check_range(where: str, start_ns: int | None, end_ns: int | None) -> None:
    """Refuse a ``start`` that is not before ``end``."""
    if start_ns is not None and end_ns is not None and start_ns >= end_ns:
        raise DataError(f"{where}: start {iso(start_ns)} is not before end {iso(end_ns)}")
