"""The reports every venue's execution client emits (``on_report``), whatever the venue: msgspec
structs tagged with their class name (the live node's venue link dispatches on it), all decimals as
strings, times in ns.

:class:`OrderAccepted`, :class:`OrderRejected`, :class:`OrderCanceled`, :class:`OrderExpired`,
:class:`OrderTriggered`, :class:`OrderFilled`, :class:`OrderAmended`, :class:`OrderUnknown` (the
outcome of a submit or cancel is unknown: the client asks the venue, a later report settles it),
:class:`CancelRejected`, :class:`ModifyRejected`, :class:`BalanceUpdate`, :class:`PositionUpdate`;
:data:`Report` is their union.
"""

from __future__ import annotations

import msgspec

__all__ = ["OrderAccepted", "OrderRejected", "OrderCanceled", "OrderExpired", "OrderTriggered", "OrderFilled",
           "OrderAmended", "OrderUnknown", "CancelRejected", "ModifyRejected", "BalanceUpdate", "PositionUpdate",
           "Report"]


class OrderAccepted(msgspec.Struct, frozen=True, tag=True):
    client_id: str
    venue_order_id: str
    ts: int


class OrderRejected(msgspec.Struct, frozen=True, tag=True):
    """``code``: the venue's error code; 0 when the adapter refused the order before sending."""

    client_id: str
    reason: str
    code: int
    ts: int


class OrderCanceled(msgspec.Struct, frozen=True, tag=True):
    client_id: str
    ts: int


class OrderExpired(msgspec.Struct, frozen=True, tag=True):
    client_id: str
    ts: int


class OrderTriggered(msgspec.Struct, frozen=True, tag=True):
    client_id: str
    ts: int


class OrderFilled(msgspec.Struct, frozen=True, tag=True):
    """``liquidity``: ``"maker"`` or ``"taker"``."""

    client_id: str
    venue_order_id: str
    trade_id: str
    price: str
    qty: str
    fee: str
    fee_asset: str
    liquidity: str
    ts: int


class OrderUnknown(msgspec.Struct, frozen=True, tag=True):
    """The outcome of a submit or cancel is unknown; the client is asking the venue (a later
    report settles it)."""

    client_id: str
    reason: str


class CancelRejected(msgspec.Struct, frozen=True, tag=True):
    client_id: str
    reason: str
    code: int
    ts: int


class ModifyRejected(msgspec.Struct, frozen=True, tag=True):
    """``code``: the venue's error code; 0 when the adapter refused the modify before sending."""

    client_id: str
    reason: str
    ts: int
    code: int = 0


class OrderAmended(msgspec.Struct, frozen=True, tag=True):
    """The venue changed the order's quantity or price (a modify carried out)."""

    client_id: str
    qty: str
    price: str
    ts: int


class BalanceUpdate(msgspec.Struct, frozen=True, tag=True):
    """Asset -> total balance (spot: free + locked; derivatives: the wallet balance)."""

    balances: dict[str, str]
    ts: int = 0


class PositionUpdate(msgspec.Struct, frozen=True, tag=True):
    """A derivatives net position (one-way mode), signed."""

    symbol: str
    qty: str
    entry_price: str
    ts: int = 0


Report = (OrderAccepted | OrderRejected | OrderCanceled | OrderExpired | OrderTriggered | OrderFilled | OrderUnknown
          | OrderAmended | CancelRejected | ModifyRejected | BalanceUpdate | PositionUpdate)
