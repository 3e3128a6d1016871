"""A scripted venue for the reconciliation tests: it answers :class:`ReconcilingVenue` from a
script (its orders, fills, positions, balances), counts every call, and fails the test if anything
asks it for more than reconciliation may (a submit, a cancel, any other method)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from trader.live.reconcile import VENUE_WORKING, MassStatus, VenueFill, VenueOrder, VenuePosition


class ScriptedVenue:
    """The venue as a script says it is.

    ``orders``: every order the venue has (any status; the working ones are its open orders).
    ``fills``: every fill it has made. ``window_from``: the oldest fill time the mass status still
    reports (a venue keeps a limited history: fills older than it are only in ``order_fills``).
    ``order_fills_limit``: at most this many (newest) fills per ``order_fills`` answer (a venue that
    pages its answers; None: all). ``positions``: instrument -> signed quantity.
    """

    def __init__(self, orders: list[VenueOrder] = (), fills: list[VenueFill] = (),  # type: ignore[assignment]
                 positions: dict[str, str] | None = None, balances: dict[str, str] | None = None, *,
                 window_from: int | None = None, order_fills_limit: int | None = None, ts: int = 10_000) -> None:
        self.orders = {o.client_id or o.venue_order_id: o for o in orders}
        self.fills = list(fills)
        self.positions = dict(positions or {})
        self.balances = dict(balances or {})
        self.window_from = window_from
        self.order_fills_limit = order_fills_limit
        self.ts = ts
        self.calls: Counter[str] = Counter()
        self.asked: list[tuple[str, Any]] = []

    def mass_status(self, since_ts: int) -> MassStatus:
        self.calls["mass_status"] += 1
        self.asked.append(("mass_status", since_ts))
        start = max(since_ts, self.window_from) if self.window_from is not None else since_ts
        return MassStatus(
            open_orders=[o for o in self.orders.values() if o.status in VENUE_WORKING],
            fills=[f for f in self.fills if f.ts >= start],
            positions=[VenuePosition(k, v) for k, v in self.positions.items()],
            balances=dict(self.balances),
            ts=self.ts,
        )

    def query_order(self, client_id: str) -> VenueOrder | None:
        self.calls["query_order"] += 1
        self.asked.append(("query_order", client_id))
        return self.orders.get(client_id)

    def order_fills(self, client_id: str) -> list[VenueFill]:
        self.calls["order_fills"] += 1
        self.asked.append(("order_fills", client_id))
        mine = sorted((f for f in self.fills if f.client_id == client_id), key=lambda f: f.ts)
        return mine[-self.order_fills_limit:] if self.order_fills_limit else mine

    def __getattr__(self, name: str) -> Any:
        # Reconciliation only reads: a submit, cancel, modify or anything else fails the test.
        raise AssertionError(f"reconciliation asked the venue for {name!r}: it must never send anything")
