"""OKX v5 order-book sync (public WebSocket, channel ``books``: 400 levels) on the common skeleton
(:mod:`..common.book`).

OKX v5 ("WebSocket: Order book channel"): a subscription starts with ``"action": "snapshot"``
(``prevSeqId`` -1), then ``"update"`` messages; each ``data[]`` item carries ``asks``/``bids``
(``[price, size, "0", number of orders]``, a size of ``"0"`` deletes the level), ``ts`` (ms, a
string), ``seqId``, ``prevSeqId`` and ``checksum``. An update continues the book when its
``prevSeqId`` is the last ``seqId``; ``seqId == prevSeqId`` is an update that changes nothing (the
book is unchanged, the sequence continues); after a maintenance ``seqId`` may start lower, and the
``prevSeqId`` link still holds. Here: an update that repeats the last ``seqId`` (and does not link
to it) is a duplicate and dropped; any other update that does not link is a gap.

The checksum (:func:`checksum`): the top 25 levels of each side interleaved as
``"bidPx:bidSz:askPx:askSz:..."`` (when one side has fewer levels, the other side's remaining
levels alone), the venue's own decimal text, CRC32 (zlib) read as a *signed* 32-bit integer,
compared with the message's ``checksum`` after the message is applied. A mismatch, or a crossed
book (best bid >= best ask), is a gap: the book is cleared and
:attr:`OkxBookSync.wants_snapshot` says so (the client subscribes again; OKX answers with a
snapshot).

OKX announced (May 2026) that from 23 June 2026 the ``checksum`` field of ``books`` is always 0
and must not be used: a ``checksum`` of 0 is therefore not checked (counted as
``checksum_skipped``), and the ``seqId``/``prevSeqId`` link carries the integrity check alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common.book import BookSync, BookUpdate, L2Book, Level, Verdict, parse_levels

__all__ = ["OkxBookSync", "OkxBookPolicy", "parse_book_message", "checksum", "checksum_string", "CHECKSUM_DEPTH"]

#: Levels per side the checksum covers.
CHECKSUM_DEPTH = 25


def checksum_string(bids: Sequence[Level], asks: Sequence[Level], depth: int = CHECKSUM_DEPTH) -> str:
    """The checksum's input: ``bids``/``asks`` best first, the top ``depth`` of each interleaved."""
    parts: list[str] = []
    for i in range(min(depth, max(len(bids), len(asks)))):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return ":".join(parts)


def checksum(bids: Sequence[Level], asks: Sequence[Level], depth: int = CHECKSUM_DEPTH) -> int:
    """OKX's book checksum: CRC32 of :func:`checksum_string`, as a signed 32-bit integer."""
    c = zlib.crc32(checksum_string(bids, asks, depth).encode())
    return c - (1 << 32) if c >= 1 << 31 else c


class _Arg(msgspec.Struct):
    channel: str
    instId: str


class _Data(msgspec.Struct):
    asks: list[list[str]]
    bids: list[list[str]]
    ts: str
    seqId: int
    prevSeqId: int
    checksum: int | None = None


class _Message(msgspec.Struct):
    arg: _Arg
    action: str
    data: list[_Data]


def parse_book_message(msg: str | bytes | Mapping[str, Any]) -> list[BookUpdate]:
    """One ``books`` push (JSON text or decoded) as its :class:`BookUpdate` objects (one per
    ``data`` item).

    :raise InvalidInputError: not an OKX order-book push (the problem named)."""
    return _parse(msg)[1]


def _parse(msg: str | bytes | Mapping[str, Any]) -> tuple[str, list[BookUpdate]]:
    try:
        if isinstance(msg, (str, bytes)):
            m = msgspec.json.decode(msg, type=_Message)
        else:
            m = msgspec.convert(msg, _Message)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise InvalidInputError(f"okx books message: {e}") from None
    what = f"okx {m.arg.channel} {m.arg.instId}"
    if m.action not in ("snapshot", "update"):
        raise InvalidInputError(f"{what}: action must be 'snapshot' or 'update', got {m.action!r}")
    out = []
    for i, d in enumerate(m.data):
        if not d.ts.isdigit():
            raise InvalidInputError(f"{what} data[{i}].ts: expected milliseconds as a digit string, got {d.ts!r}")
        out.append(BookUpdate(venue="okx", symbol=m.arg.instId, snapshot=m.action == "snapshot",
                              bids=parse_levels(d.bids, f"{what} data[{i}].bids"),
                              asks=parse_levels(d.asks, f"{what} data[{i}].asks"),
                              update_id=d.seqId, prev_id=d.prevSeqId, checksum=d.checksum, ts_ms=int(d.ts)))
    return m.arg.channel, out


class OkxBookPolicy:
    """OKX's sequence rule: an update continues the book when its ``prevSeqId`` is the last
    ``seqId``; one repeating the last ``seqId`` otherwise is a duplicate."""

    hold = False

    def classify(self, last: int, delta: BookUpdate, first: bool) -> Verdict:
        if delta.prev_id == last:
            return "apply"
        return "drop" if delta.update_id == last else "gap"

    def last_id(self, delta: BookUpdate) -> int:
        return delta.update_id


class OkxBookSync:
    """The book of one ``books`` subscription (pure: no I/O).

    :meth:`on_message` takes each push and returns the :class:`BookUpdate` objects applied (in
    order; [] when dropped or on a gap); :attr:`book` is the resulting book.

    :param inst_id: OKX's instrument id (``BTC-USDT``, ``BTC-USDT-SWAP``).
    :param channel: the subscribed channel (``books``).
    :param verify_checksum: compare each message's non-zero ``checksum`` with the book's.
    """

    def __init__(self, inst_id: str, channel: str = "books", *, verify_checksum: bool = True) -> None:
        if not (isinstance(inst_id, str) and inst_id and inst_id.replace("-", "").isalnum()):
            raise InvalidInputError(f"okx books: inst_id must look like BTC-USDT or BTC-USDT-SWAP, got {inst_id!r}")
        if channel != "books":
            raise InvalidInputError(f"okx book sync: channel must be 'books' (400 levels), got {channel!r}")
        self.inst_id = inst_id
        self.channel = channel
        self.verify_checksum = verify_checksum
        self.book = L2Book()
        self.sync: BookSync[BookUpdate, BookUpdate] = BookSync(OkxBookPolicy(), f"okx {channel} {inst_id}")
        self.counts_extra = {"crossed": 0, "checksum_mismatch": 0, "checksum_skipped": 0}

    @property
    def wants_snapshot(self) -> bool:
        """The book was lost (gap, checksum, crossed): subscribe to the channel again."""
        return self.sync.wants_snapshot

    @property
    def counts(self) -> dict[str, int]:
        return {**self.sync.counts, **self.counts_extra}

    def reset(self) -> None:
        """A reconnect: the book waits for the new subscription's snapshot."""
        self.sync.reset()
        self.book.clear()

    def on_message(self, msg: str | bytes | Mapping[str, Any]) -> list[BookUpdate]:
        """One push of this channel and instrument.

        :raise InvalidInputError: not a ``books`` push, or one of another channel or instrument."""
        channel, updates = _parse(msg)
        if channel != self.channel:
            raise InvalidInputError(f"okx {self.channel} {self.inst_id}: got a push of channel {channel!r}")
        out: list[BookUpdate] = []
        for u in updates:
            if u.symbol != self.inst_id:
                raise InvalidInputError(f"okx {self.channel} {self.inst_id}: got a push of {u.symbol}")
            applied = self.sync.on_snapshot(u.update_id, u) if u.snapshot else self.sync.on_delta(u, u)
            assert applied is not None  # a stream's snapshot is never stale (policy.hold is False)
            for x in applied:
                self.book.apply(x)
            if applied and not self._check(u):
                self.book.clear()
                continue
            if not self.sync.synced:
                self.book.clear()
            out += applied
        return out

    def _check(self, u: BookUpdate) -> bool:
        """The book after ``u`` passes OKX's checksum and is not crossed (else: resync)."""
        if self.book.crossed:
            self.counts_extra["crossed"] += 1
            self.sync.resync(f"crossed book (bid {self.book.best_bid} >= ask {self.book.best_ask}) at seqId "
                             f"{u.update_id}")
            return False
        if not self.verify_checksum:
            return True
        if not u.checksum:  # None, or 0: OKX no longer fills it in (see the module docs)
            self.counts_extra["checksum_skipped"] += 1
            return True
        mine = checksum(self.book.top_bids(CHECKSUM_DEPTH), self.book.top_asks(CHECKSUM_DEPTH))
        if mine != u.checksum:
            self.counts_extra["checksum_mismatch"] += 1
            self.sync.resync(f"checksum {mine} != the venue's {u.checksum} at seqId {u.update_id}")
            return False
        return True
