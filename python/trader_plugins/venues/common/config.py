"""The checks every venue's config makes of its fields, written once: each raises
:class:`InvalidInputError` starting with the venue's name and naming the field and the value
(``bybit: stale_after_s must be a number > 0, got 0``). A venue's ``config.py`` keeps its fields,
defaults, URLs and the checks only it has.
"""

from __future__ import annotations

from typing import Any

from trader.exceptions import InvalidInputError

from .ws import Backoff

__all__ = ["check_positive", "check_non_negative", "check_recv_window", "check_backoff", "check_ping"]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_positive(venue: str, config: Any, *names: str) -> None:
    """Every field of ``names`` is a number > 0."""
    for name in names:
        v = getattr(config, name)
        if not (_number(v) and v > 0):
            raise InvalidInputError(f"{venue}: {name} must be a number > 0, got {v!r}")


def check_non_negative(venue: str, config: Any, *names: str) -> None:
    """Every field of ``names`` is a number >= 0 (0: the feature is off)."""
    for name in names:
        v = getattr(config, name)
        if not (_number(v) and v >= 0):
            raise InvalidInputError(f"{venue}: {name} must be a number >= 0, got {v!r}")


def check_recv_window(venue: str, recv_window: Any) -> None:
    """The signed request's receive window: an integer within (0, 60000] ms."""
    if isinstance(recv_window, bool) or not isinstance(recv_window, int) or not 0 < recv_window <= 60000:
        raise InvalidInputError(f"{venue}: recv_window must be an integer within (0, 60000] ms, got {recv_window!r}")


def check_backoff(venue: str, backoff: Any) -> None:
    """A :class:`~.ws.Backoff` with 0 < base_s <= max_s."""
    if not isinstance(backoff, Backoff) or not (0 < backoff.base_s <= backoff.max_s):
        raise InvalidInputError(f"{venue}: backoff needs 0 < base_s <= max_s, got {backoff!r}")


def check_ping(venue: str, config: Any, ping: str, stale: str) -> None:
    """The private stream's ping period ``ping`` is below its staleness ``stale``: the pong is
    what keeps the stream alive."""
    p, s = getattr(config, ping), getattr(config, stale)
    if p >= s:
        raise InvalidInputError(f"{venue}: {ping} ({p}) must be below {stale} ({s}): the pong keeps the stream alive")
