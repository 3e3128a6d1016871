"""The store's records: one ``msgspec.Struct`` per table, fields in the table's column order.

Prices, quantities and money are exact decimal strings (``"27000.10"``); timestamps are integer
nanoseconds (UTC); a side is the engine's sign (+1 buy, -1 sell); JSON columns hold the JSON text as given (``msgspec.json.encode(...).decode()``
or ``json.dumps``). A :class:`Batch` gathers what the node writes at one event boundary.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

__all__ = [
    "Command",
    "CommandUpdate",
    "OrderEvent",
    "Fill",
    "Order",
    "Position",
    "Balance",
    "StateChange",
    "RiskState",
    "AuditEntry",
    "StrategyState",
    "FeedPosition",
    "Checkpoint",
    "Restart",
    "Batch",
    "RECORDS",
    "COMMAND_STATUSES",
]

#: A command's status: written ahead (``pending``), acknowledged by the venue (``acked``), known
#: never to have reached the venue (``void``), or settled by asking the venue after a restart
#: (``resolved``).
COMMAND_STATUSES = ("pending", "acked", "void", "resolved")


class Command(msgspec.Struct, frozen=True):
    """An order command, written ahead before it is sent (table ``commands``). ``request`` is the
    full request as JSON text; ``status``/``note`` read back as the latest of its updates."""

    table: ClassVar[str] = "commands"
    strategy: str
    seq: int
    order_id: int
    client_id: str
    kind: str
    request: str
    ts: int
    status: str = "pending"
    note: str = ""


class CommandUpdate(msgspec.Struct, frozen=True):
    """A new status of a written-ahead command (``acked``, ``void``, ``resolved``) and why."""

    table: ClassVar[str] = "command_updates"
    strategy: str
    seq: int
    status: str
    note: str = ""
    ts: int = 0


class OrderEvent(msgspec.Struct, frozen=True):
    """One order event (submitted, accepted, filled, canceled, ...), in the strategy's sequence."""

    table: ClassVar[str] = "order_events"
    strategy: str
    seq: int
    order_id: int
    kind: str
    status: str
    ts: int
    detail: str = "{}"


class Fill(msgspec.Struct, frozen=True):
    """One fill; the venue's ``trade_id`` is unique per strategy and order (in a self-trade two of a
    strategy's orders fill on one trade id): a replayed fill is stored once."""

    table: ClassVar[str] = "fills"
    strategy: str
    trade_id: str
    order_id: int
    ts: int
    side: int
    price: str
    qty: str
    fee: str
    liquidity: str
    detail: str = "{}"


class Order(msgspec.Struct, frozen=True):
    """An order's latest state (upserted); ``price`` is None for a market order; ``external`` marks
    an order adopted from the venue by reconciliation."""

    table: ClassVar[str] = "orders"
    strategy: str
    order_id: int
    client_id: str
    side: int
    kind: str
    price: str | None
    qty: str
    filled: str
    status: str
    ts: int
    external: bool = False
    detail: str = "{}"


class Position(msgspec.Struct, frozen=True):
    """A strategy's position in one instrument (upserted)."""

    table: ClassVar[str] = "positions"
    strategy: str
    instrument: str
    qty: str
    avg_price: str
    realized: str
    ts: int


class Balance(msgspec.Struct, frozen=True):
    """A strategy's balance of one asset (upserted)."""

    table: ClassVar[str] = "balances"
    strategy: str
    asset: str
    total: str
    ts: int


class StateChange(msgspec.Struct, frozen=True):
    """A trading-state change (``from_state`` -> ``to_state``), who made it and why."""

    table: ClassVar[str] = "state_changes"
    strategy: str
    seq: int
    ts: int
    from_state: str
    to_state: str
    source: str
    reason: str


class RiskState(msgspec.Struct, frozen=True):
    """The risk engine's state for a strategy: trading state and the layers' own state (JSON)."""

    table: ClassVar[str] = "risk_state"
    strategy: str
    state: str
    detail: str
    ts: int


class AuditEntry(msgspec.Struct, frozen=True):
    """One link of a strategy's audit chain."""

    table: ClassVar[str] = "audit"
    strategy: str
    seq: int
    ts: int
    kind: str
    hash: str
    prev_hash: str
    entry: str


class StrategyState(msgspec.Struct, frozen=True):
    """A strategy's own ``self.state`` (JSON text), upserted."""

    table: ClassVar[str] = "strategy_state"
    strategy: str
    state: str
    ts: int


class FeedPosition(msgspec.Struct, frozen=True):
    """The last event processed of one stream of the feed (a replay resumes after it)."""

    table: ClassVar[str] = "feed_positions"
    stream: str
    position: int
    last_ts: int
    detail: str = "{}"


class Checkpoint(msgspec.Struct, frozen=True):
    """A strategy's engine checkpoint (``LiveSession.checkpoint()``) and the counts it covers."""

    table: ClassVar[str] = "checkpoints"
    strategy: str
    blob: bytes
    events: int
    fills: int
    audit: int
    ts: int


class Restart(msgspec.Struct, frozen=True):
    """One start of a node on the store (``kind``: fresh, restart, ...) and its report (JSON).
    ``seq`` 0 (or less): the store numbers it, one after the last, in the batch's transaction."""

    table: ClassVar[str] = "restarts"
    seq: int
    wall_ts: int
    kind: str
    report: str


#: The record type of each table written through :class:`Batch` or the write-ahead.
RECORDS: dict[str, type[msgspec.Struct]] = {
    c.table: c
    for c in (
        Command, CommandUpdate, OrderEvent, Fill, Order, Position, Balance, StateChange, RiskState,
        AuditEntry, StrategyState, FeedPosition, Checkpoint, Restart,
    )
}


class Batch(msgspec.Struct):
    """Everything written at one event boundary, committed in one transaction.

    Appends (order events, fills, state changes, audit entries, restarts) are idempotent: a row
    whose key is already stored is ignored. Upserts (orders, positions, balances, risk state,
    strategy state, feed positions, checkpoints, command updates) keep the last write.
    """

    #: Commands the session's write-ahead log holds (``trader._core.LiveSession.journal_drain``),
    #: taken into the journal's ``commands`` table before the rest of the batch commits.
    commands: list[Command] = msgspec.field(default_factory=list)
    command_updates: list[CommandUpdate] = msgspec.field(default_factory=list)
    order_events: list[OrderEvent] = msgspec.field(default_factory=list)
    fills: list[Fill] = msgspec.field(default_factory=list)
    state_changes: list[StateChange] = msgspec.field(default_factory=list)
    audit: list[AuditEntry] = msgspec.field(default_factory=list)
    restarts: list[Restart] = msgspec.field(default_factory=list)
    orders: list[Order] = msgspec.field(default_factory=list)
    positions: list[Position] = msgspec.field(default_factory=list)
    balances: list[Balance] = msgspec.field(default_factory=list)
    risk_states: list[RiskState] = msgspec.field(default_factory=list)
    strategy_states: list[StrategyState] = msgspec.field(default_factory=list)
    feed_positions: list[FeedPosition] = msgspec.field(default_factory=list)
    checkpoints: list[Checkpoint] = msgspec.field(default_factory=list)
    #: Once committed: ``(handle, seq)`` — the write-ahead logs whose records up to ``seq`` the
    #: batch holds, released then (``trader._core.JournalRelease``). Not records.
    releases: list[tuple[Any, int]] = msgspec.field(default_factory=list)

    def rows(self) -> int:
        """How many records the batch holds."""
        return sum(len(getattr(self, f)) for f in self.__struct_fields__ if f != "releases")

    def extend(self, other: Batch) -> None:
        """Append ``other``'s records after this batch's (its upserts then win)."""
        for f in self.__struct_fields__:
            getattr(self, f).extend(getattr(other, f))
