"""Order requests: what a strategy asks the venue for, before it has an id.

Build one with the factory functions (``market``, ``limit``, ``stop_market``, ``stop_limit``,
``market_if_touched``, ``limit_if_touched``, ``trailing_stop_market``, ``trailing_stop_limit``),
then hand it to :meth:`trader.Strategy.submit` (or to ``submit_oco`` / ``submit_oto`` /
``bracket`` for contingent lists)::

    from trader import orders

    def on_bar(self, bar):
        stop = orders.stop_market("sell", 1.0, trigger=bar.close * 0.98, reduce_only=True)
        self.submit(stop)

Prices, triggers and quantities are in instrument units (floats); the engine rounds them to the
instrument's precision. The same request runs unchanged in ``trader backtest`` and ``trader live``.

Time in force: ``"GTC"`` (default), ``"IOC"``, ``"FOK"``, ``"GTD"`` (with ``expire_time``, UTC epoch
nanoseconds) and ``"DAY"`` (until the end of the UTC day the order was accepted in).
Trailing offsets are in ``"price"`` units, ``"bps"`` of the reference price, or ``"ticks"``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = [
    "OrderRequest",
    "ORDER_TYPES",
    "TIME_IN_FORCE",
    "OFFSET_TYPES",
    "market",
    "limit",
    "stop_market",
    "stop_limit",
    "market_if_touched",
    "limit_if_touched",
    "trailing_stop_market",
    "trailing_stop_limit",
]

#: Order types and which price fields each one needs.
ORDER_TYPES: dict[str, tuple[str, ...]] = {
    "market": (),
    "limit": ("price",),
    "stop_market": ("trigger",),
    "stop_limit": ("trigger", "price"),
    "market_if_touched": ("trigger",),
    "limit_if_touched": ("trigger", "price"),
    "trailing_stop_market": ("offset",),
    "trailing_stop_limit": ("offset", "limit_offset"),
}
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTD", "DAY")
OFFSET_TYPES = ("price", "bps", "ticks")


def _side(side: str | int) -> int:
    s = {"buy": 1, "sell": -1, 1: 1, -1: -1}.get(side.lower() if isinstance(side, str) else side)
    if s is None:
        raise InvalidInputError(f"side: must be 'buy' or 'sell' (or +1/-1), got {side!r}")
    return s


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InvalidInputError(f"{name}: must be a positive finite number, got {value!r}")
    return v


@dataclasses.dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order as a strategy states it. Use the factory functions rather than this class."""

    side: int
    qty: float
    type: str = "market"
    price: float | None = None
    trigger: float | None = None
    offset: float | None = None
    limit_offset: float | None = None
    offset_type: str = "price"
    activation: float | None = None
    time_in_force: str = "GTC"
    expire_time: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    display_qty: float | None = None
    instrument: int = 0
    client_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", _side(self.side))
        object.__setattr__(self, "qty", _positive("qty", self.qty))
        if self.type not in ORDER_TYPES:
            raise InvalidInputError(f"type: must be one of {', '.join(ORDER_TYPES)}, got {self.type!r}")
        for name in ORDER_TYPES[self.type]:
            if getattr(self, name) is None:
                raise InvalidInputError(f"{name}: a {self.type} order needs one")
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        for name in ("price", "trigger", "offset", "limit_offset"):
            if name not in ORDER_TYPES[self.type] and getattr(self, name) is not None:
                raise InvalidInputError(f"{name}: a {self.type} order takes none, got {getattr(self, name)!r}")
        if self.offset_type not in OFFSET_TYPES:
            raise InvalidInputError(f"offset_type: must be one of {', '.join(OFFSET_TYPES)}, got {self.offset_type!r}")
        if self.activation is not None:
            if not self.type.startswith("trailing"):
                raise InvalidInputError(f"activation: only trailing stops take one, not a {self.type} order")
            object.__setattr__(self, "activation", _positive("activation", self.activation))
        tif = self.time_in_force.upper() if isinstance(self.time_in_force, str) else self.time_in_force
        if tif not in TIME_IN_FORCE:
            raise InvalidInputError(f"time_in_force: must be one of {', '.join(TIME_IN_FORCE)}, got {self.time_in_force!r}")
        object.__setattr__(self, "time_in_force", tif)
        if (tif == "GTD") != (self.expire_time is not None):
            raise InvalidInputError("expire_time: GTD orders need one (UTC epoch ns) and other time in force take none")
        if self.display_qty is not None:
            d = _positive("display_qty", self.display_qty)
            if d > self.qty:
                raise InvalidInputError(f"display_qty: {d} is more than the order's quantity {self.qty}")
            object.__setattr__(self, "display_qty", d)
        if self.post_only and self.type not in ("limit", "stop_limit", "limit_if_touched", "trailing_stop_limit"):
            raise InvalidInputError(f"post_only: only orders with a limit price can be post-only, not a {self.type} order")
        if self.client_id is not None and (not isinstance(self.client_id, int) or self.client_id <= 0):
            raise InvalidInputError(f"client_id: must be a positive integer, got {self.client_id!r}")
        if not isinstance(self.instrument, int) or self.instrument < 0:
            raise InvalidInputError(f"instrument: must be an instrument index (int >= 0), got {self.instrument!r}")

    def replace(self, **changes: Any) -> OrderRequest:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def market(side: str | int, qty: float, **kw: Any) -> OrderRequest:
    """Trade now at the best available price (taker)."""
    return OrderRequest(side, qty, "market", **kw)


def limit(side: str | int, qty: float, price: float, **kw: Any) -> OrderRequest:
    """Trade at ``price`` or better; rests on the book until then."""
    return OrderRequest(side, qty, "limit", price=price, **kw)


def stop_market(side: str | int, qty: float, trigger: float, **kw: Any) -> OrderRequest:
    """A market order once the price moves against the side to ``trigger`` (buy: up to it)."""
    return OrderRequest(side, qty, "stop_market", trigger=trigger, **kw)


def stop_limit(side: str | int, qty: float, trigger: float, price: float, **kw: Any) -> OrderRequest:
    """A limit order at ``price`` once the stop ``trigger`` is reached."""
    return OrderRequest(side, qty, "stop_limit", trigger=trigger, price=price, **kw)


def market_if_touched(side: str | int, qty: float, trigger: float, **kw: Any) -> OrderRequest:
    """A market order once the price moves in the side's favour to ``trigger`` (buy: down to it)."""
    return OrderRequest(side, qty, "market_if_touched", trigger=trigger, **kw)


def limit_if_touched(side: str | int, qty: float, trigger: float, price: float, **kw: Any) -> OrderRequest:
    """A limit order at ``price`` once ``trigger`` is touched in the side's favour."""
    return OrderRequest(side, qty, "limit_if_touched", trigger=trigger, price=price, **kw)


def trailing_stop_market(side: str | int, qty: float, offset: float, *, offset_type: str = "price", **kw: Any) -> OrderRequest:
    """A stop whose trigger trails the best price since activation by ``offset``."""
    return OrderRequest(side, qty, "trailing_stop_market", offset=offset, offset_type=offset_type, **kw)


def trailing_stop_limit(
    side: str | int, qty: float, offset: float, limit_offset: float, *, offset_type: str = "price", **kw: Any
) -> OrderRequest:
    """A trailing stop that becomes a limit order ``limit_offset`` beyond its trigger."""
    return OrderRequest(side, qty, "trailing_stop_limit", offset=offset, limit_offset=limit_offset, offset_type=offset_type, **kw)
