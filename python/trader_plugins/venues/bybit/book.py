"""Bybit v5 order-book sync (public WebSocket, topic ``orderbook.{depth}.{symbol}``) on the common
skeleton (:mod:`..common.book`).

Bybit v5 ("WebSocket Stream: Orderbook"): the first message of a subscription is a ``"snapshot"``,
then ``"delta"`` messages; ``data.u`` is the update id, each delta's ``u`` the previous one's plus
one; ``data.seq`` the cross sequence (comparable across depths, not contiguous: carried, not
checked). Any snapshot replaces the local book (Bybit re-sends one when it has a problem of its own;
level 1 re-sends it every 3 s unchanged). A message with ``u == 1`` follows a restart of Bybit's
service and is a snapshot whatever its ``type``. In a delta, a size of ``"0"`` deletes the level.

Here: a delta whose ``u`` is not the previous ``u + 1`` is a gap (a ``u`` at or below the book's is
a duplicate and dropped); a book left crossed (best bid >= best ask) by an update is a gap as well.
After either the book is cleared and :attr:`BybitBookSync.wants_snapshot` says so: the client
subscribes to the topic again, and Bybit's answer starts with a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common.book import BookSync, BookUpdate, L2Book, Verdict, parse_levels

__all__ = ["BybitBookSync", "BybitBookPolicy", "parse_book_message", "DEPTHS"]

#: Depths of Bybit's ``orderbook`` topic (spot: 1, 50, 200, 1000; linear: 1, 50, 200, 500, 1000).
DEPTHS = frozenset({1, 50, 200, 500, 1000})


class _Data(msgspec.Struct):
    s: str
    b: list[list[str]]
    a: list[list[str]]
    u: int
    seq: int | None = None


class _Message(msgspec.Struct):
    topic: str
    type: str
    data: _Data
    ts: int = 0


def parse_book_message(msg: str | bytes | Mapping[str, Any]) -> BookUpdate:
    """One ``orderbook.*`` message (JSON text or decoded) as a :class:`BookUpdate`.

    :raise InvalidInputError: not a Bybit order-book message (the problem named)."""
    return _parse(msg)[1]


def _parse(msg: str | bytes | Mapping[str, Any]) -> tuple[str, BookUpdate]:
    try:
        if isinstance(msg, (str, bytes)):
            m = msgspec.json.decode(msg, type=_Message)
        else:
            m = msgspec.convert(msg, _Message)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidInputError(f"bybit orderbook message: {e}") from None
    parts = m.topic.split(".")
    if len(parts) != 3 or parts[0] != "orderbook":
        raise InvalidInputError(f"bybit orderbook message: topic {m.topic!r} is not orderbook.<depth>.<symbol>")
    if m.type not in ("snapshot", "delta"):
        raise InvalidInputError(f"bybit {m.topic}: type must be 'snapshot' or 'delta', got {m.type!r}")
    if parts[2] != m.data.s:
        raise InvalidInputError(f"bybit {m.topic}: data.s {m.data.s!r} is not the topic's symbol")
    if m.data.u < 1:
        raise InvalidInputError(f"bybit {m.topic}: update id u must be >= 1, got {m.data.u}")
    return m.topic, BookUpdate(venue="bybit", symbol=m.data.s, snapshot=m.type == "snapshot" or m.data.u == 1,
                      bids=parse_levels(m.data.b, f"bybit {m.topic} b"),
                      asks=parse_levels(m.data.a, f"bybit {m.topic} a"),
                      update_id=m.data.u, seq=m.data.seq, ts_ms=m.ts)


class BybitBookPolicy:
    """Bybit's sequence rule: a delta continues the book when its ``u`` is the last ``u + 1``."""

    hold = False

    def classify(self, last: int, delta: BookUpdate, first: bool) -> Verdict:
        if delta.update_id <= last:
            return "drop"
        return "apply" if delta.update_id == last + 1 else "gap"

    def last_id(self, delta: BookUpdate) -> int:
        return delta.update_id


class BybitBookSync:
    """The book of one ``orderbook.{depth}.{symbol}`` subscription (pure: no I/O).

    :meth:`on_message` takes each message and returns the :class:`BookUpdate` objects applied
    (in order; [] when dropped or on a gap); :attr:`book` is the resulting book.

    :param symbol: Bybit's symbol (``BTCUSDT``).
    :param depth: the subscribed depth (one of :data:`DEPTHS`).
    """

    def __init__(self, symbol: str, depth: int = 50) -> None:
        if depth not in DEPTHS:
            raise InvalidInputError(f"bybit orderbook depth must be one of {sorted(DEPTHS)}, got {depth!r}")
        if not (isinstance(symbol, str) and symbol.isalnum()):
            raise InvalidInputError(f"bybit orderbook symbol must be an alphanumeric name, got {symbol!r}")
        self.symbol = symbol
        self.depth = depth
        self.topic = f"orderbook.{depth}.{symbol}"
        self.book = L2Book()
        self.sync: BookSync[BookUpdate, BookUpdate] = BookSync(BybitBookPolicy(), f"bybit {self.topic}")
        self.counts_extra = {"crossed": 0}

    @property
    def wants_snapshot(self) -> bool:
        """The book was lost (gap, crossed): subscribe to :attr:`topic` again."""
        return self.sync.wants_snapshot

    @property
    def counts(self) -> dict[str, int]:
        return {**self.sync.counts, **self.counts_extra}

    def reset(self) -> None:
        """A reconnect: the book waits for the new subscription's snapshot."""
        self.sync.reset()
        self.book.clear()

    def on_message(self, msg: str | bytes | Mapping[str, Any]) -> list[BookUpdate]:
        """One message of this topic.

        :raise InvalidInputError: not an order-book message, or one of another topic."""
        topic, u = _parse(msg)
        if topic != self.topic:
            raise InvalidInputError(f"bybit {self.topic}: got a message of {topic}")
        out = self.sync.on_snapshot(u.update_id, u) if u.snapshot else self.sync.on_delta(u, u)
        assert out is not None  # a stream's snapshot is never stale (policy.hold is False)
        for x in out:
            self.book.apply(x)
        if out and self.book.crossed:
            self.counts_extra["crossed"] += 1
            self.sync.resync(f"crossed book (bid {self.book.best_bid} >= ask {self.book.best_ask}) "
                             f"after u {u.update_id}")
            self.book.clear()
            return []
        if not self.sync.synced:
            self.book.clear()
        return out
