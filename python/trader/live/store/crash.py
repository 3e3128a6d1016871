"""Crash points: kill the process at a chosen place, for the crash-safety tests (test-only).

``point(name)`` does nothing unless the environment variable ``TRADER_CRASH_AT`` names it. Its
value is ``"name:N"`` or a comma list of them (``"store.batch:3,store.write_ahead:1"``): the N-th
call of :func:`point` with that name (counted per process, from 1) sends the process SIGKILL —
no ``finally``, no ``atexit``, no flush, exactly what ``kill -9`` does.

The variable is read once, at the first call; when it is unset a call costs one dict lookup.

Points placed by the store:

``store.write_ahead``
    after the write-ahead of a command committed, before :meth:`Store.write_ahead` returns: the
    command is stored but never sent.
``store.batch``
    inside a batch transaction, after its appends, before its upserts and the COMMIT: nothing of
    that batch may survive.
"""

from __future__ import annotations

import os
import signal

from trader.exceptions import InvalidInputError

__all__ = ["ENV", "point", "parse"]

#: The environment variable that arms the crash points.
ENV = "TRADER_CRASH_AT"

_armed: dict[str, int] | None = None
_hits: dict[str, int] = {}


def parse(spec: str) -> dict[str, int]:
    """``"a:1,b:3"`` -> ``{"a": 1, "b": 3}``; an :class:`InvalidInputError` names a bad item."""
    out: dict[str, int] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, n = item.rpartition(":")
        if not sep or not name or not n.isdigit() or int(n) < 1:
            raise InvalidInputError(f"{ENV}: {item!r}: expected name:N with N >= 1")
        out[name] = int(n)
    return out


def armed(name: str) -> bool:
    """Whether ``TRADER_CRASH_AT`` arms ``name`` in this process."""
    global _armed
    if _armed is None:
        _armed = parse(os.environ.get(ENV, ""))
    return name in _armed


def point(name: str) -> None:
    """Kill this process with SIGKILL if ``name`` is armed in ``TRADER_CRASH_AT`` and this is its
    N-th call; otherwise return at once."""
    global _armed
    if _armed is None:
        _armed = parse(os.environ.get(ENV, ""))
    n = _armed.get(name)
    if n is None:
        return
    hits = _hits.get(name, 0) + 1
    _hits[name] = hits
    if hits == n:
        os.kill(os.getpid(), signal.SIGKILL)
