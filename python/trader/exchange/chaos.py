"""Seeded misbehaviour of the local exchange: the ways real venues fail, on request.

A chaos spec is a comma-separated list of ``name=value`` items, e.g.
``"drop=0.01,gap=0.01,dup=0.01,skew_ms=1500,listenkey_expiry=30s,disconnect=60s"``:

Probabilities (0..1, drawn per message or per request from one seeded generator):

- ``drop``      a stream connection is closed instead of sending a message;
- ``stall``     a stream connection goes silent for good (socket open, no data, no pings);
- ``gap``       a depth diff is not sent (the next one's ``U`` skips; futures' ``pu`` breaks);
- ``dup``       a stream message is sent twice;
- ``reorder``   a stream message is held back and sent after the next one;
- ``delay_ack`` an order request is answered ``delay_ms`` late;
- ``ack_5xx``   an order is placed, then answered 503 (outcome unknown to the client);
- ``timeout``   an order is placed, then the connection hangs ``timeout_s`` and is closed unanswered;
- ``burst429``  a burst of ``burst_len`` 429s starts (``Retry-After`` given; whoever comes back
  before it runs out is banned with 418 for ``ban_s``).

Durations (``500ms``, ``30s``, ``2m``, ``1h``, or a number of seconds):

- ``skew_ms``           the server clock runs this many ms ahead (negative: behind);
- ``listenkey_expiry``  listenKeys live this long instead of 60 min (``listenKeyExpired`` is sent);
- ``disconnect``        every stream connection is closed this long after it opened (Binance's 24 h);
- ``delay_ms``, ``timeout_s``, ``ban_s``, ``ping``: the sizes of the above and the ping interval.

Every event is counted in :attr:`Chaos.counts` (``ex.stats()["chaos"]``).
"""

from __future__ import annotations

import random
import re
import threading
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["Chaos", "parse_chaos", "PROBABILITIES", "DURATIONS"]

PROBABILITIES = ("drop", "stall", "gap", "dup", "reorder", "delay_ack", "ack_5xx", "timeout", "burst429")
#: duration keys and their defaults in seconds (None: off)
DURATIONS: dict[str, float | None] = {
    "skew_ms": 0.0,
    "listenkey_expiry": None,
    "disconnect": None,
    "delay_ms": 0.5,
    "timeout_s": 5.0,
    "ban_s": 5.0,
    "ping": None,
}
INTEGERS = {"burst_len": 5}

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


def _duration(key: str, text: str) -> float:
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", text)
    if not m:
        raise InvalidInputError(f"chaos: {key}: expected a duration like 500ms, 30s, 2m or 1h, got {text!r}")
    value = float(m.group(1))
    if key.endswith("_ms"):
        # skew_ms / delay_ms: a bare number is milliseconds
        return value * (0.001 if m.group(2) in ("", "ms") else _UNITS[m.group(2)])
    if value < 0:
        raise InvalidInputError(f"chaos: {key}: must be >= 0, got {text!r}")
    return value * _UNITS[m.group(2)]


def parse_chaos(spec: str | None) -> dict[str, Any]:
    """The settings of a chaos spec (see the module's docs); InvalidInputError naming the item."""
    out: dict[str, Any] = {k: 0.0 for k in PROBABILITIES} | dict(DURATIONS) | dict(INTEGERS)
    if spec is None or not spec.strip() or spec.strip() == "none":
        return out
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInputError(f"chaos: expected NAME=VALUE, got {item.strip()!r}")
        if key in PROBABILITIES:
            try:
                p = float(value)
            except ValueError:
                raise InvalidInputError(f"chaos: {key}: expected a probability in [0, 1], got {value.strip()!r}") from None
            if not 0.0 <= p <= 1.0:
                raise InvalidInputError(f"chaos: {key}: expected a probability in [0, 1], got {value.strip()!r}")
            out[key] = p
        elif key in DURATIONS:
            out[key] = _duration(key, value)
        elif key in INTEGERS:
            if not value.strip().isdigit() or int(value) < 1:
                raise InvalidInputError(f"chaos: {key}: expected an integer >= 1, got {value.strip()!r}")
            out[key] = int(value)
        else:
            known = ", ".join((*PROBABILITIES, *DURATIONS, *INTEGERS))
            raise InvalidInputError(f"chaos: unknown mode {key!r} (known: {known})")
    return out


class Chaos:
    """The exchange's chaos settings, its seeded generator and its counters (thread-safe)."""

    def __init__(self, spec: str | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.counts: dict[str, int] = {}
        self.spec = ""
        self.settings: dict[str, Any] = parse_chaos(None)
        self.set(spec)

    def set(self, spec: str | None) -> None:
        """Replace the settings (validated first: a bad spec changes nothing)."""
        settings = parse_chaos(spec)
        with self._lock:
            self.settings = settings
            self.spec = spec or ""

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    def roll(self, kind: str) -> bool:
        """Whether a ``kind`` event happens now (counted when it does)."""
        p = self.settings[kind]
        if p <= 0.0:
            return False
        with self._lock:
            hit = self._rng.random() < p
        if hit:
            self.count(kind)
        return hit

    def count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + n

    @property
    def skew_ms(self) -> int:
        return int(round(self.settings["skew_ms"] * 1000))
