"""Order-book sync that every venue shares: hold or drop deltas until a snapshot, apply them in
sequence, detect gaps, ask for a resync; and a plain L2 book for the venues whose updates are
applied in Python (Bybit, OKX).

:class:`BookSync` is the skeleton (pure: no I/O, no decoding). A venue brings a
:class:`SyncPolicy`, its sequence rule: given the id the book is at and the next delta,
``"apply"`` (it continues the book), ``"drop"`` (a duplicate, or a delta the snapshot already
covers) or ``"gap"`` (something was lost). The skeleton keeps the state: synced or not, the last id,
the deltas held back while a snapshot is awaited, and the counts.

Two kinds of venue:

- the snapshot comes over REST, after the deltas have started (Binance): ``policy.hold`` is True;
  deltas are held until the snapshot is in, the snapshot drops the held deltas it covers, and is
  *stale* (``on_snapshot`` returns None: fetch another) when the first delta it leaves does not
  continue it;
- the snapshot comes in the stream, first on each subscription (Bybit, OKX): ``policy.hold`` is
  False; a delta that arrives while the book is not synced is dropped (the next snapshot replaces
  it) and a snapshot always starts the book afresh.

After a gap (or :meth:`BookSync.resync`, when a venue's own check fails: a checksum, a crossed book)
:attr:`BookSync.wants_snapshot` is True until a snapshot is in; the client fetches one (REST) or
subscribes again (stream).

Counts (:attr:`BookSync.counts`): ``gaps``, ``resyncs``, ``snapshots``, ``stale_snapshots``,
``dropped`` (deltas covered by the book, duplicates, or received while waiting for a stream's
snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Generic, Literal, Protocol, TypeVar

import msgspec

from trader.exceptions import InvalidInputError

__all__ = ["BookSync", "SyncPolicy", "Verdict", "BookUpdate", "Level", "L2Book", "parse_levels"]

log = logging.getLogger(__name__)

Verdict = Literal["apply", "drop", "gap"]
D = TypeVar("D")
D_contra = TypeVar("D_contra", contravariant=True)
T = TypeVar("T")


class SyncPolicy(Protocol[D_contra]):
    """A venue's sequence rule over its deltas ``D``."""

    #: True: deltas wait for a (REST) snapshot; False: the snapshot comes in the stream, deltas
    #: received before it are dropped.
    hold: bool

    def classify(self, last: int, delta: D_contra, first: bool) -> Verdict:
        """What to do with ``delta`` when the book is at id ``last`` (``first``: no delta applied
        since the snapshot)."""
        ...

    def last_id(self, delta: D_contra) -> int:
        """The id the book is at once ``delta`` is applied."""
        ...


class BookSync(Generic[D, T]):
    """The sync state of one book (see the module docs). ``D`` is what the policy reads of a delta,
    ``T`` what is handed on (a raw line, a :class:`BookUpdate`, ...).

    :param policy: the venue's sequence rule.
    :param name: for the log (``"binance BTCUSDT depth"``).
    """

    def __init__(self, policy: SyncPolicy[D], name: str) -> None:
        self.policy = policy
        self.name = name
        self.synced = False
        #: No delta applied since the snapshot.
        self.first = False
        #: The id the book is at (None: not synced).
        self.last_id: int | None = None
        self.held: list[tuple[D, T]] = []
        self._want = False
        self.counts = {"gaps": 0, "resyncs": 0, "snapshots": 0, "stale_snapshots": 0, "dropped": 0}

    @property
    def wants_snapshot(self) -> bool:
        """A snapshot is needed now: deltas are held for one, or a gap or failed check lost the book."""
        return not self.synced and (bool(self.held) or self._want)

    def reset(self) -> None:
        """Forget the book (a reconnect): the next deltas wait for a new snapshot."""
        if self.synced:
            self.counts["resyncs"] += 1
        self.synced, self.first, self.last_id, self.held, self._want = False, False, None, [], False

    def resync(self, reason: str) -> None:
        """The venue's own check failed (checksum, crossed book): count a gap and want a snapshot."""
        self.counts["gaps"] += 1
        self.counts["resyncs"] += 1
        log.warning("%s: %s: resync", self.name, reason)
        self.synced, self.first, self.last_id, self.held, self._want = False, False, None, [], True

    def on_delta(self, delta: D, item: T) -> list[T]:
        """A delta: the items to hand on now ([] while held, dropped, or on a gap)."""
        if not self.synced:
            if self.policy.hold:
                self.held.append((delta, item))
            else:
                self.counts["dropped"] += 1
            return []
        return self._apply(delta, item)

    def _apply(self, delta: D, item: T) -> list[T]:
        last = self.last_id
        assert last is not None
        verdict = self.policy.classify(last, delta, self.first)
        if verdict == "drop":
            self.counts["dropped"] += 1
            return []
        if verdict == "gap":
            self.counts["gaps"] += 1
            self.counts["resyncs"] += 1
            log.warning("%s: gap after id %d: resync", self.name, last)
            self.synced, self.first, self.last_id, self._want = False, False, None, True
            self.held = [(delta, item)] if self.policy.hold else []
            return []
        self.first = False
        self.last_id = self.policy.last_id(delta)
        return [item]

    def on_snapshot(self, snapshot_id: int, item: T) -> list[T] | None:
        """A snapshot at id ``snapshot_id``: the items to hand on (the snapshot's, then the held
        deltas it leaves), or None when it is older than the held deltas (fetch another)."""
        self.counts["snapshots"] += 1
        keep = [h for h in self.held if self.policy.classify(snapshot_id, h[0], True) != "drop"]
        self.counts["dropped"] += len(self.held) - len(keep)
        if keep and self.policy.classify(snapshot_id, keep[0][0], True) == "gap":
            self.counts["stale_snapshots"] += 1
            self.held = keep
            return None
        self.synced, self.first, self.last_id, self.held, self._want = True, True, snapshot_id, [], False
        out = [item]
        for i, (d, x) in enumerate(keep):
            out += self._apply(d, x)
            if not self.synced:  # a gap inside the held deltas: hold the rest behind it
                self.held += keep[i + 1:]
                break
        return out


# ------------------------------------------------------------------------------------------------
# book updates and an L2 book (venues whose levels are kept in Python)
# ------------------------------------------------------------------------------------------------

#: One price level as the venue wrote it: (price, size), decimal text; size "0" deletes the level.
Level = tuple[str, str]


class BookUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One book message of a venue, decoded: a snapshot (replaces the book) or a delta (levels to
    set; a size of zero deletes).

    ``update_id``: the venue's sequence after this update (Bybit ``u``, OKX ``seqId``);
    ``prev_id``: the id it follows, where the venue says (OKX ``prevSeqId``); ``seq``: Bybit's
    cross sequence; ``checksum``: OKX's CRC32 (signed), None where the venue sends none;
    ``ts_ms``: the venue's time of the update.
    """

    venue: str
    symbol: str
    snapshot: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int
    prev_id: int | None = None
    seq: int | None = None
    checksum: int | None = None
    ts_ms: int = 0


def _dec(text: str, what: str) -> Decimal:
    try:
        v = Decimal(text)
    except (InvalidOperation, TypeError):
        raise InvalidInputError(f"{what}: not a decimal number: {text!r}") from None
    if not v.is_finite() or v < 0:
        raise InvalidInputError(f"{what}: must be a finite number >= 0, got {text!r}")
    return v


def parse_levels(raw: object, what: str) -> tuple[Level, ...]:
    """A venue's level list (``[[price, size, ...], ...]``, decimal strings; extra fields ignored)
    as :data:`Level` tuples, each number checked.

    :raise InvalidInputError: not a list of ``[price, size, ...]`` decimal strings (``what`` names
        the input)."""
    if not isinstance(raw, list):
        raise InvalidInputError(f"{what}: expected a list of [price, size] levels, got {type(raw).__name__}")
    out = []
    for i, lv in enumerate(raw):
        if not (isinstance(lv, list) and len(lv) >= 2 and isinstance(lv[0], str) and isinstance(lv[1], str)):
            raise InvalidInputError(f"{what}[{i}]: expected [price, size] as strings, got {lv!r}")
        _dec(lv[0], f"{what}[{i}] price")
        _dec(lv[1], f"{what}[{i}] size")
        out.append((lv[0], lv[1]))
    return tuple(out)


class L2Book:
    """Price levels of one instrument, each kept with the venue's own text (a checksum hashes the
    text the venue sent, not a reformatted number).

    :meth:`apply` takes a :class:`BookUpdate`: a snapshot replaces both sides, a delta sets levels
    (size zero deletes; deleting a level that is not there is a no-op)."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Level] = {}
        self.asks: dict[Decimal, Level] = {}

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def apply(self, update: BookUpdate) -> None:
        if update.snapshot:
            self.clear()
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            self._set(side, levels)

    @staticmethod
    def _set(side: dict[Decimal, Level], levels: Iterable[Level]) -> None:
        for px, sz in levels:
            p = Decimal(px)
            if Decimal(sz) == 0:
                side.pop(p, None)
            else:
                side[p] = (px, sz)

    def top_bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all: None), best first, as the venue wrote them."""
        keys = sorted(self.bids, reverse=True)[:n]
        return [self.bids[k] for k in keys]

    def top_asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all: None), best first, as the venue wrote them."""
        keys = sorted(self.asks)[:n]
        return [self.asks[k] for k in keys]

    @property
    def best_bid(self) -> Decimal | None:
        return max(self.bids) if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return min(self.asks) if self.asks else None

    @property
    def crossed(self) -> bool:
        """The best bid is at or above the best ask: a book no venue shows (an update was lost)."""
        bb, ba = self.best_bid, self.best_ask
        return bb is not None and ba is not None and bb >= ba
