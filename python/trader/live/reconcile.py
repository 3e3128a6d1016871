"""Reconciliation: what a restarted node does after it rebuilt its state from the store and before
any strategy sees an event — compare the node's records with the venue's and explain every
difference as an adjustment (an order event and an audit entry), never by sending anything.

Pure logic: :func:`reconcile` reads a strategy's :class:`NodeRecords` and asks a
:class:`ReconcilingVenue` (the execution client) for its mass status and, where needed, for one
order or one order's fills; it returns a :class:`Reconciliation` — the adjustments in the order the
node must apply them, the final state of every order touched, the position after, whether the node
must halt, and a report. It never submits, cancels or modifies anything at the venue.

After NautilusTrader's execution reconciliation (``LiveExecutionEngine``'s mass status), and built
against the failures its and its peers' trackers record: fills replayed twice after a restart
(nautilus #3046, #4736), a node that refuses to start on a position difference it cannot explain
(#3104), a retry that resubmitted an accepted order (#4215), a database that keeps an order open
after it closed at the venue (freqtrade #8708).

Quantities, prices and money are exact decimal strings, computed with :class:`decimal.Decimal`.

**Node order states.** Working: ``submitted`` (sent, not yet acknowledged), ``open``,
``partially_filled``, ``pending_cancel``, ``pending_modify``. Done: ``filled``, ``canceled``,
``rejected``, ``expired``. :attr:`NodeRecords.open_orders` lists the working ones.

**Venue order states.** ``open``, ``partially_filled`` (working); ``filled``, ``canceled``,
``rejected``, ``expired`` (done).

**Rules**, applied in this order:

1. *Pending commands* (written ahead, never acknowledged), by ``seq``: the venue is asked for the
   command's client order id (:meth:`ReconcilingVenue.query_order`; its open-order list answers
   first). Nothing is ever sent again.

   - a submit the venue has: ``command_acked`` (event ``accepted``) when the venue holds it open and
     unfilled, else ``command_resolved`` (``accepted`` or ``rejected``), followed by the order's
     catch-up (below): the order becomes the venue's order, with its status;
   - a submit the venue lacks: ``command_void`` — it never reached the venue; event ``rejected``,
     code ``void``; the order is done (``rejected``) and NOT sent again;
   - a cancel the venue has applied (order ``canceled``/``expired``): ``command_acked`` (event
     ``canceled``) after the order's missing fills; the order filled first or still working at
     the venue: ``command_resolved`` with event ``cancel_rejected`` (the order stays as the venue
     has it; the strategy may cancel again);
   - a modify whose new price/quantity the venue shows: ``command_acked`` (event ``updated``);
     otherwise ``command_resolved`` with ``modify_rejected``;
   - a cancel or modify of an order the venue lacks is resolved from the order's own state: an
     order the node holds as working is not working anywhere — event ``canceled``, code
     ``not_at_venue`` (``rejected``/``void`` if it was never acknowledged); an order the node no
     longer holds as working: ``cancel_rejected``/``modify_rejected``, code ``order_closed``.

2. *External orders*: an order open at the venue whose client id the node does not know is adopted
   (``external_order``, event ``accepted``, ``order_id`` None until the node gives it one) with the
   fills it already has (below); reported, never silently ignored. One without a client id (placed
   by hand at some venues) goes by its venue order id.

3. *Working orders*: each order the node holds as working and no pending command touched is
   compared with the venue's (from the open-order list, else :meth:`~ReconcilingVenue.query_order`):
   absent at the venue -> ``order_event`` ``canceled``, code ``not_at_venue`` (``rejected``, code
   ``void``, for one never acknowledged); present -> the catch-up.

   *Catch-up* of one order against the venue's: ``accepted`` if the node never saw the ack; the
   missing quantity (venue ``filled`` - node ``filled``) is covered by the venue's fill reports
   for that order — the mass status' fills first, :meth:`~ReconcilingVenue.order_fills` when
   those fall short — oldest first, each applied as an ``order_event`` (``partially_filled`` /
   ``filled``), deduplicated by fill (the order and the venue's trade id: a self-trade gives
   two orders one trade id): a fill the node already has (:attr:`NodeRecords.known_fills`) or
   reported twice is applied once; a report that no
   longer fits in the missing quantity (an earlier inferred fill covered it) is not applied and is
   noted. Still short (a partial window of fills): an ``inferred_fill`` for the difference, marked
   ``"inferred": True``, fee 0 (not reported), at the price that makes the order's average the
   venue's average price when the node knows what its own fills of the order add up to
   (:attr:`StoredOrder.notional`, or no fills), rounded half to even at the finest decimals
   of the prices involved; else at the venue's average price; else at the order's limit price (neither: a
   mismatch). Then the venue's final status: ``canceled``/``expired``/``rejected`` events; a
   node order the venue shows as less filled than the node is a mismatch (halts).

4. *Position*: node position + every fill applied above (signed by side) is compared with the
   venue's position for the instrument (an instrument the venue does not list is flat). Equal:
   done. Different: ``halted=True`` with the mismatch in :meth:`Reconciliation.report`, unless
   ``adopt_position``, then a ``position_adopted`` adjustment (event ``position_adjusted`` with the
   quantities before, after and the difference) and no halt. Fill reports for orders the node
   neither holds nor adopts (a trade made outside the node on a done order) are listed as notes:
   they explain a position difference, they are not applied.

Any mismatch (rule 3's over-filled order, an inferred fill without a price, the position) sets
``halted``, except the position one when it is adopted.

**Audit.** Each adjustment carries an audit entry for the node's hash-chained log: ``ts`` (the
reconciliation's), ``kind="reconcile"``, ``source="reconcile"``, ``code`` the adjustment's kind,
``from``/``to`` the order's status (the position for ``position_adopted``), ``orders`` the node's
order id (empty for an external order), and ``reason`` a sentence with the ids and numbers.

**Idempotent.** Reconciling :attr:`Reconciliation.after` (the records once the adjustments are
applied) against the same venue yields no adjustments: applied fills are known, done orders
leave the working list, inferred fills count in the node's filled quantity, and pending commands
are resolved.

**Execution clients** offer :class:`ReconcilingVenue` (see the hookspec
``trader_execution_clients``). ``query_order`` must answer for the venue's state *now*: a submit
still in flight at the venue when asked is treated as never sent, so the client must wait out its
venue's acceptance window (or query again) before answering None.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from trader.exceptions import InvalidInputError

__all__ = [
    "VenueOrder",
    "VenueFill",
    "fill_key",
    "VenuePosition",
    "MassStatus",
    "ReconcilingVenue",
    "StoredOrder",
    "PendingCommand",
    "NodeRecords",
    "Adjustment",
    "Reconciliation",
    "reconcile",
    "ADJUSTMENT_KINDS",
    "NODE_WORKING",
    "NODE_DONE",
    "VENUE_WORKING",
    "VENUE_DONE",
]

Side = Literal["buy", "sell"]
VenueStatus = Literal["open", "partially_filled", "filled", "canceled", "rejected", "expired"]

#: Node order states: working, and done.
NODE_WORKING = ("submitted", "open", "partially_filled", "pending_cancel", "pending_modify")
NODE_DONE = ("filled", "canceled", "rejected", "expired")
#: Venue order states: working, and done.
VENUE_WORKING = ("open", "partially_filled")
VENUE_DONE = ("filled", "canceled", "rejected", "expired")
#: The kinds of :class:`Adjustment`.
ADJUSTMENT_KINDS = ("command_acked", "command_void", "command_resolved", "order_event",
                    "inferred_fill", "external_order", "position_adopted")
COMMAND_KINDS = ("submit", "cancel", "modify")

ZERO = Decimal(0)


def _dec(where: str, value: Any, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    """``value`` (a decimal string) as a finite Decimal, or InvalidInputError naming ``where``."""
    try:
        d = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise InvalidInputError(f"{where}: must be a decimal string, got {value!r}")
    if positive and d <= 0:
        raise InvalidInputError(f"{where}: must be positive, got {value!r}")
    if non_negative and d < 0:
        raise InvalidInputError(f"{where}: must not be negative, got {value!r}")
    return d


def _fmt(d: Decimal) -> str:
    """A Decimal as plain text, no exponent, no trailing zeros (``0.70`` -> ``0.7``, ``-0`` -> ``0``)."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def _side(where: str, side: Any) -> None:
    if side not in ("buy", "sell"):
        raise InvalidInputError(f"{where}: side: must be 'buy' or 'sell', got {side!r}")


def _check_order(where: str, side: str, status: str, statuses: tuple[str, ...], qty: str, filled: str,
                 **prices: str | None) -> None:
    """An order's fields, or InvalidInputError naming ``where`` and the field."""
    _side(where, side)
    if status not in statuses:
        raise InvalidInputError(f"{where}: status: must be one of {', '.join(statuses)}, got {status!r}")
    if _dec(f"{where}: filled", filled, non_negative=True) > _dec(f"{where}: qty", qty, positive=True):
        raise InvalidInputError(f"{where}: filled: {filled} exceeds the quantity {qty}")
    for name, value in prices.items():
        if value is not None:
            _dec(f"{where}: {name}", value, positive=True)


def _signed(side: str, qty: Decimal) -> Decimal:
    return qty if side == "buy" else -qty


# ---- venue side ---------------------------------------------------------------------------------


class VenueOrder(msgspec.Struct, frozen=True):
    """An order as the venue reports it. ``price`` None: a market order; ``avg_price`` None: no
    fill yet (or not reported). ``instrument`` None: the reconciled strategy's instrument (a venue
    reporting several instruments names them; orders of another instrument are left out)."""

    client_id: str
    venue_order_id: str
    side: Side
    kind: str
    price: str | None
    qty: str
    filled: str
    avg_price: str | None
    status: VenueStatus
    ts: int
    instrument: str | None = None

    def __post_init__(self) -> None:
        _check_order(f"venue order {self.client_id!r}", self.side, self.status, VENUE_WORKING + VENUE_DONE,
                     self.qty, self.filled, price=self.price, avg_price=self.avg_price)


class VenueFill(msgspec.Struct, frozen=True):
    """One execution as the venue reports it; ``trade_id`` is unique at the venue. ``liquidity``:
    ``"maker"``, ``"taker"`` or None (not reported)."""

    trade_id: str
    client_id: str
    venue_order_id: str
    side: Side
    price: str
    qty: str
    fee: str
    fee_asset: str
    liquidity: str | None
    ts: int
    instrument: str | None = None

    def __post_init__(self) -> None:
        where = f"venue fill {self.trade_id!r}"
        if not self.trade_id:
            raise InvalidInputError(f"venue fill of order {self.client_id!r}: trade_id: must not be empty")
        _side(where, self.side)
        _dec(f"{where}: price", self.price, positive=True)
        _dec(f"{where}: qty", self.qty, positive=True)
        _dec(f"{where}: fee", self.fee)


def fill_key(f: VenueFill) -> tuple[str, str]:
    """What makes a fill one: its order (the client id, else the venue's order id) and the venue's
    trade id. A trade id alone is not enough: in a self-trade both orders fill on one trade id."""
    return (f.client_id or f.venue_order_id, f.trade_id)


class VenuePosition(msgspec.Struct, frozen=True):
    """The venue's net position in one instrument (signed: negative is short)."""

    instrument: str
    qty: str

    def __post_init__(self) -> None:
        _dec(f"venue position {self.instrument!r}: qty", self.qty)


class MassStatus(msgspec.Struct, frozen=True):
    """What the venue reports at once: its open orders, the fills since a time, the positions and
    the balances (asset -> decimal string), at ``ts``."""

    open_orders: list[VenueOrder]
    fills: list[VenueFill]
    positions: list[VenuePosition]
    balances: dict[str, str]
    ts: int

    def __post_init__(self) -> None:
        for asset, amount in self.balances.items():
            _dec(f"venue balance {asset!r}", amount)


@runtime_checkable
class ReconcilingVenue(Protocol):
    """What an execution client offers reconciliation (and the in-flight check)."""

    def mass_status(self, since_ts: int) -> MassStatus:
        """The venue's open orders, its fills since ``since_ts`` (ns), positions and balances."""
        ...

    def query_order(self, client_id: str) -> VenueOrder | None:
        """The venue's order with this client order id, in any status; None: the venue has none."""
        ...

    def order_fills(self, client_id: str) -> list[VenueFill]:
        """Every fill of the venue's order with this client order id (empty: none, or no order)."""
        ...


# ---- node side ----------------------------------------------------------------------------------


class StoredOrder(msgspec.Struct, frozen=True):
    """An order as the node's store holds it. ``order_id`` is the node's id (None: an external
    order the node has not numbered yet); ``status`` one of :data:`NODE_WORKING` + :data:`NODE_DONE`."""

    order_id: int | None
    client_id: str
    side: Side
    kind: str
    price: str | None
    qty: str
    filled: str
    status: str
    ts: int
    #: The sum of price x quantity of the order's fills the node has applied (a decimal string;
    #: None: not known). With it, an inferred fill gets the price that makes the order's average
    #: the venue's; without it (and with fills), the venue's average price.
    notional: str | None = None

    def __post_init__(self) -> None:
        where = f"stored order {self.order_id} ({self.client_id!r})"
        _check_order(where, self.side, self.status, NODE_WORKING + NODE_DONE, self.qty, self.filled, price=self.price)
        if self.notional is not None:
            _dec(f"{where}: notional", self.notional, non_negative=True)

    @property
    def working(self) -> bool:
        """True while the order may still trade (a working status)."""
        return self.status in NODE_WORKING


class PendingCommand(msgspec.Struct, frozen=True):
    """A command written ahead to the store and never acknowledged. ``kind``: ``submit``,
    ``cancel``, ``modify``; ``order_id``/``client_id``: the order it creates or targets;
    ``request``: the command as JSON — a submit's ``{"side", "kind", "qty", "price"?}``, a modify's
    new ``{"price"?, "qty"?}`` (decimal strings or numbers)."""

    seq: int
    kind: str
    order_id: int
    client_id: str
    request: str
    ts: int

    def __post_init__(self) -> None:
        if self.kind not in COMMAND_KINDS:
            raise InvalidInputError(f"pending command {self.seq}: kind: must be one of {', '.join(COMMAND_KINDS)}, got {self.kind!r}")

    def fields(self) -> dict[str, Any]:
        """The request, checked: a submit's ``side``, ``kind`` (default ``"limit"``), ``qty`` and
        ``price`` (None: none), a modify's ``price`` and/or ``qty`` (decimal strings), a cancel's
        nothing; InvalidInputError naming the command and the field otherwise."""
        where = f"pending command {self.seq}: request"
        if self.kind == "cancel":
            return {}
        try:
            req = json.loads(self.request)
        except ValueError as e:
            raise InvalidInputError(f"{where}: not JSON ({e})") from None
        if not isinstance(req, dict):
            raise InvalidInputError(f"{where}: must be a JSON object, got {self.request!r}")

        def number(key: str) -> str | None:
            value = req.get(key)
            return None if value is None else _fmt(_dec(f"{where}: {key}", str(value), positive=True))
        if self.kind == "modify":
            out = {k: v for k in ("price", "qty") if (v := number(k)) is not None}
            if not out:
                raise InvalidInputError(f"{where}: a modify needs a new price or qty, got {self.request!r}")
            return out
        _side(where, req.get("side"))
        if req.get("qty") is None:
            raise InvalidInputError(f"{where}: qty: missing")
        return {"side": req["side"], "kind": str(req.get("kind") or "limit"), "qty": number("qty"), "price": number("price")}


class NodeRecords(msgspec.Struct):
    """One strategy's records as the store rebuilt them: its working orders, its unacknowledged
    commands, every fill it has applied (``known_fills``: its order's client id and the venue's
    trade id, see :func:`fill_key`), its position (signed decimal string) and the time of the last
    event it processed (ns; the venue is asked for fills since then)."""

    strategy: str
    instrument: str
    open_orders: list[StoredOrder]
    pending_commands: list[PendingCommand]
    known_fills: set[tuple[str, str]]
    position: str
    last_ts: int

    def __post_init__(self) -> None:
        _dec(f"strategy {self.strategy!r}: position", self.position)
        seen: set[str] = set()
        for o in self.open_orders:
            if not o.working:
                raise InvalidInputError(f"strategy {self.strategy!r}: open_orders: order {o.order_id} ({o.client_id!r}) is {o.status}, not working")
            if o.client_id in seen:
                raise InvalidInputError(f"strategy {self.strategy!r}: open_orders: client id {o.client_id!r} appears twice")
            seen.add(o.client_id)


# ---- result -------------------------------------------------------------------------------------


class Adjustment(msgspec.Struct, frozen=True):
    """One change the node applies: its ``kind`` (one of :data:`ADJUSTMENT_KINDS`), the ids, the
    order event it implies (``event``: ``kind``, ``order_id``, ``client_id``, ``venue_order_id``,
    ``ts``, and a fill's ``trade_id``, ``side``, ``price``, ``qty``, ``fee``, ``fee_asset``,
    ``liquidity``, ``inferred``; a status event's ``code``/``reason``) and its audit entry."""

    kind: str
    order_id: int | None
    client_id: str | None
    venue_order_id: str | None
    event: dict[str, Any]
    audit: dict[str, Any]

    @property
    def reason(self) -> str:
        """The audit entry's sentence."""
        return str(self.audit["reason"])


class Reconciliation(msgspec.Struct):
    """The outcome of :func:`reconcile`: the adjustments in the order they must be applied, the
    final state of every order touched (in the order first touched), the position after, whether
    the node must halt, the mismatches (one sentence each), notes (differences explained and not
    applied) and the node's records after the adjustments (:attr:`after`)."""

    strategy: str
    instrument: str
    ts: int
    adjustments: list[Adjustment]
    orders: list[StoredOrder]
    position_before: str
    position: str
    venue_position: str
    halted: bool
    mismatches: list[str]
    notes: list[str]
    balances: dict[str, str]
    after: NodeRecords

    def report(self) -> str:
        """A human-readable account: one line per adjustment, then mismatches, notes, balances."""
        verdict = "HALTED" if self.halted else "ok"
        lines = [f"reconciliation of strategy {self.strategy!r} on {self.instrument} at ts={self.ts}: "
                 f"{len(self.adjustments)} adjustment(s), {len(self.orders)} order(s) touched; "
                 f"position {self.position_before} -> {self.position} (venue {self.venue_position}); {verdict}"]
        for a in self.adjustments:
            lines.append(f"  {a.kind:<16} {a.reason}")
        if self.mismatches:
            lines.append("mismatches:")
            lines += [f"  {m}" for m in self.mismatches]
        if self.notes:
            lines.append("notes:")
            lines += [f"  {n}" for n in self.notes]
        if self.balances:
            lines.append("venue balances: " + ", ".join(f"{k} {v}" for k, v in sorted(self.balances.items())))
        return "\n".join(lines)


# ---- the work -----------------------------------------------------------------------------------


def _order_name(o: StoredOrder) -> str:
    return f"order {o.order_id} ({o.client_id})" if o.order_id is not None else f"external order {o.client_id}"


def _reopened(o: StoredOrder) -> StoredOrder:
    """``o`` back from a pending cancel/modify to its working status."""
    return msgspec.structs.replace(o, status="partially_filled" if Decimal(o.filled) > 0 else "open")


def _of(v: VenueOrder) -> str:
    return f"filled {_fmt(Decimal(v.filled))} of {_fmt(Decimal(v.qty))}"


def _inferred_price(v: VenueOrder, filled: Decimal, notional: Decimal | None, missing: Decimal,
                    places: list[str | None]) -> tuple[Decimal | None, str]:
    """The price of an inferred fill of ``missing`` on the venue's order ``v`` and how it was
    chosen: the one that makes the order's average the venue's (``notional``: what the node's
    fills of the order add up to, when known), else the venue's average, else the limit price."""
    if v.avg_price is not None:
        avg = Decimal(v.avg_price)
        if notional is not None:
            exp = min(Decimal(p).as_tuple().exponent for p in places if p is not None)
            price = ((avg * filled - notional) / missing).quantize(Decimal(1).scaleb(min(int(exp), 0)))
            if price > 0:
                return price, f"the price that makes the order's average the venue's {v.avg_price}"
        return avg, "the venue's average price"
    if v.price is not None:
        return Decimal(v.price), "the order's limit price"
    return None, ""


class _Run:
    """One reconciliation: the venue's answers, the node's orders as they change, the output."""

    def __init__(self, records: NodeRecords, venue: ReconcilingVenue, ts: int) -> None:
        self.records = records
        self.requests = {c.seq: c.fields() for c in records.pending_commands}  # checked before the venue is asked
        self.venue = venue
        self.ts = ts
        self.status = venue.mass_status(records.last_ts)
        if not isinstance(self.status, MassStatus):
            raise InvalidInputError(f"venue: mass_status returned {type(self.status).__name__}, not a MassStatus")
        # an order without a client id (placed by hand at some venues) goes by its venue order id
        self.venue_open = {o.client_id or o.venue_order_id: o for o in self.status.open_orders if self._mine(o.instrument)}
        self.queried: dict[str, VenueOrder | None] = {}
        self.fetched: set[str] = set()
        self.orders: dict[str, StoredOrder] = {o.client_id: o for o in records.open_orders}
        self.touched: dict[str, StoredOrder] = {}
        self.known = set(records.known_fills)
        self.noted: set[tuple[str, str]] = set()  # fills reported and deliberately not applied
        self.applied = ZERO  # signed quantity of the fills applied
        self.adjustments: list[Adjustment] = []
        self.mismatches: list[str] = []
        self.notes: list[str] = []
        self.reports: dict[tuple[str, str], VenueFill] = {}  # fill key -> its first report (deduplicated)
        for f in self.status.fills:
            if self._mine(f.instrument):
                self._report(f)

    def _mine(self, instrument: str | None) -> bool:
        return instrument is None or instrument == self.records.instrument

    def _report(self, f: VenueFill) -> None:
        """Register a fill report; a second report of a fill is dropped (a mismatch if it differs)."""
        first = self.reports.get(fill_key(f))
        if first is None:
            self.reports[fill_key(f)] = f
        elif (first.client_id, first.side, Decimal(first.price), Decimal(first.qty)) != (f.client_id, f.side, Decimal(f.price), Decimal(f.qty)):
            self.mismatches.append(f"trade {f.trade_id} is reported twice with different contents "
                                   f"({first.side} {first.qty} @ {first.price} of {first.client_id}; "
                                   f"{f.side} {f.qty} @ {f.price} of {f.client_id}); the first is used")

    # -- venue look-ups

    def venue_order(self, client_id: str) -> VenueOrder | None:
        """The venue's order: the open-order list first, then one query (cached)."""
        if client_id in self.venue_open:
            return self.venue_open[client_id]
        if client_id not in self.queried:
            v = self.venue.query_order(client_id)
            if v is not None and not isinstance(v, VenueOrder):
                raise InvalidInputError(f"venue: query_order({client_id!r}) returned {type(v).__name__}, not a VenueOrder")
            self.queried[client_id] = v
        return self.queried[client_id]

    def fills_of(self, v: VenueOrder, missing: Decimal) -> list[VenueFill]:
        """The fill reports of the venue's order ``v`` not yet applied, oldest first (matched by
        client id or venue order id); the order's own fill list is fetched when the mass status'
        window does not cover ``missing``."""
        def fresh() -> list[VenueFill]:
            mine = (f for f in self.reports.values() if fill_key(f) not in self.known and fill_key(f) not in self.noted
                    and ((v.client_id and f.client_id == v.client_id)
                         or (v.venue_order_id and f.venue_order_id == v.venue_order_id)))
            return sorted(mine, key=lambda f: (f.ts, f.trade_id))
        have = fresh()
        if sum((Decimal(f.qty) for f in have), ZERO) < missing and v.client_id not in self.fetched:
            self.fetched.add(v.client_id)
            for f in self.venue.order_fills(v.client_id):
                if not isinstance(f, VenueFill):
                    raise InvalidInputError(f"venue: order_fills({v.client_id!r}) returned a {type(f).__name__}, not a VenueFill")
                self._report(f)
            have = fresh()
        return have

    # -- output

    def adjust(self, kind: str, order_id: int | None, client_id: str | None, venue_order_id: str | None,
               event: dict[str, Any], before: str, after: str, reason: str) -> None:
        """Append one adjustment: ``event`` completed with the ids, time and reason; its audit entry."""
        event = {"kind": event.pop("kind"), "order_id": order_id, "client_id": client_id,
                 "venue_order_id": venue_order_id, "ts": self.ts, **event, "reason": reason}
        audit = {"ts": self.ts, "kind": "reconcile", "source": "reconcile", "code": kind, "from": before, "to": after,
                 "orders": [order_id] if order_id is not None else [], "reason": reason}
        self.adjustments.append(Adjustment(kind, order_id, client_id, venue_order_id, event, audit))

    def emit(self, kind: str, before: StoredOrder | None, after: StoredOrder, event: dict[str, Any], reason: str,
             venue_order_id: str | None = None) -> None:
        """One adjustment taking an order from ``before`` to ``after`` (its state once the event applies)."""
        self.adjust(kind, after.order_id, after.client_id, venue_order_id, event,
                    before.status if before is not None else "", after.status, reason)
        self.orders[after.client_id] = after
        self.touched[after.client_id] = after

    # -- one order against the venue's

    def catch_up(self, o: StoredOrder, v: VenueOrder, *, ack: tuple[str, str] | None = None,
                 close: tuple[str, str] | None = None) -> StoredOrder:
        """Bring ``o`` to the venue's ``v``: the ack, the missing fills, the final status.
        ``ack``/``close``: the (adjustment kind, reason) of the ack and of a cancel/expiry/rejection
        when a pending command is what they resolve (default: an ``order_event`` with its own reason)."""
        name = _order_name(o)
        if v.side != o.side:
            self.mismatches.append(f"{name}: the venue has it as a {v.side}, the node as a {o.side}")
            return o
        if o.status == "submitted":
            if v.status == "rejected" and Decimal(v.filled) == 0:
                after = msgspec.structs.replace(o, status="rejected")
                kind, reason = ack or ("order_event", f"{name} was rejected by the venue (venue order {v.venue_order_id})")
                self.emit(kind, o, after, {"kind": "rejected", "code": "venue", "ts": v.ts}, reason, v.venue_order_id)
                return after
            after = msgspec.structs.replace(o, status="open", qty=v.qty, price=v.price)
            kind, reason = ack or ("order_event", f"{name} was accepted by the venue as {v.venue_order_id} (the node never saw the ack)")
            self.emit(kind, o, after, {"kind": "accepted", "ts": v.ts}, reason, v.venue_order_id)
            o = after
        o = self.fill_up(o, v)
        if not o.working:
            return o
        if v.status in ("canceled", "expired", "rejected"):
            after = msgspec.structs.replace(o, status=v.status)
            kind, reason = close or ("order_event", f"{name} was {v.status} at the venue while the node was down ({_of(v)})")
            self.emit(kind, o, after, {"kind": v.status, "code": "venue", "ts": v.ts}, reason, v.venue_order_id)
            return after
        if v.status == "filled":  # the fills cover what the venue has filled and it calls the order done
            after = msgspec.structs.replace(o, status="filled")
            self.emit("order_event", o, after, {"kind": "filled", "code": "venue", "ts": v.ts},
                      f"{name} is filled at the venue ({_of(v)})", v.venue_order_id)
            return after
        return o

    def fill_up(self, o: StoredOrder, v: VenueOrder) -> StoredOrder:
        """Apply the venue's fills missing from ``o`` (deduplicated, up to the venue's filled
        quantity), then an inferred fill for what the reports do not cover."""
        name = _order_name(o)
        node_filled, venue_filled, qty = Decimal(o.filled), Decimal(v.filled), Decimal(v.qty)
        missing = venue_filled - node_filled
        if missing < 0:
            self.mismatches.append(f"{name}: the node has {_fmt(node_filled)} filled, the venue only {_fmt(venue_filled)}")
            return o

        notional = ZERO if node_filled == 0 else (Decimal(o.notional) if o.notional is not None else None)
        places = [v.avg_price, v.price]  # the inferred price is rounded to the finest of these and the fills' prices

        def fill(add: Decimal, price: Decimal) -> StoredOrder:
            filled = Decimal(o.filled) + add
            status = "filled" if filled == qty else "partially_filled"
            total = None if notional is None else _fmt(notional + add * price)
            return msgspec.structs.replace(o, filled=_fmt(filled), status=status if o.working else o.status, notional=total)

        for f in self.fills_of(v, missing):
            fq = Decimal(f.qty)
            if fq > missing:
                self.noted.add(fill_key(f))
                self.notes.append(f"trade {f.trade_id} of {name} ({f.side} {f.qty} @ {f.price}) is not applied: "
                                  f"the node's filled quantity {_fmt(Decimal(o.filled))} already covers the venue's "
                                  f"{_fmt(venue_filled)} but {_fmt(missing)} (an earlier inferred fill)")
                continue
            missing -= fq
            after = fill(fq, Decimal(f.price))
            notional = None if notional is None else notional + fq * Decimal(f.price)
            places.append(f.price)
            self.known.add(fill_key(f))
            self.applied += _signed(f.side, fq)
            self.emit("order_event", o, after,
                      {"kind": after.status, "ts": f.ts, "trade_id": f.trade_id, "side": f.side, "price": f.price, "qty": f.qty,
                       "fee": f.fee, "fee_asset": f.fee_asset, "liquidity": f.liquidity, "inferred": False},
                      f"{name}: fill {f.trade_id} missed while the node was down: {f.side} {f.qty} @ {f.price}, "
                      f"fee {f.fee} {f.fee_asset}; filled {after.filled} of {_fmt(qty)}", v.venue_order_id)
            o = after
        if missing == 0:
            return o
        reported = _fmt(venue_filled - missing - node_filled)
        price, how = _inferred_price(v, venue_filled, notional, missing, places)
        if price is None:
            self.mismatches.append(f"{name}: the venue has {_fmt(venue_filled)} filled, the node {_fmt(node_filled)} and the "
                                   f"fill reports {reported} more, and the venue gives no price for the other "
                                   f"{_fmt(missing)}: no fill can be inferred")
            return o
        after = fill(missing, price)
        self.applied += _signed(o.side, missing)
        self.emit("inferred_fill", o, after,
                  {"kind": after.status, "trade_id": None, "side": o.side, "price": _fmt(price), "qty": _fmt(missing),
                   "fee": "0", "fee_asset": "", "liquidity": None, "inferred": True},
                  f"{name}: the venue has {_fmt(venue_filled)} filled, the node {_fmt(node_filled)} and the fill reports "
                  f"{reported} more; inferred fill {o.side} {_fmt(missing)} @ {_fmt(price)} ({how}; fee not reported)",
                  v.venue_order_id)
        return after

    # -- rules

    def pending(self, c: PendingCommand) -> None:
        """Rule 1: resolve one unacknowledged command from the venue's answer; never re-send."""
        o = self.orders.get(c.client_id)
        if c.kind == "submit":
            self.pending_submit(c, o)
            return
        verb = c.kind
        rejected = "cancel_rejected" if verb == "cancel" else "modify_rejected"
        if o is not None and o.status in ("canceled", "expired") and verb == "cancel" and self.claim(c, o):
            return
        if o is None or not o.working:
            state = "unknown to the node" if o is None else f"{o.status} at the node"
            self.adjust("command_resolved", c.order_id, c.client_id, None, {"kind": rejected, "code": "order_closed"},
                        "" if o is None else o.status, "" if o is None else o.status,
                        f"{verb} {c.seq} of order {c.order_id} ({c.client_id}): the order is {state}; nothing to do")
            return
        name = _order_name(o)
        v = self.venue_order(c.client_id)
        if v is None:
            self.absent("command_resolved", o, f"{verb} {c.seq} of {name}: the venue has no order {o.client_id}; "
                                               f"the node held it {o.status} with {_fmt(Decimal(o.filled))} filled")
            return
        if verb == "cancel":
            close = ("command_acked", f"cancel {c.seq} of {name}: the venue has it {v.status} as {v.venue_order_id}, {_of(v)}")
            o = self.catch_up(o, v, close=close if v.status in ("canceled", "expired") else None)
            if not o.working and o.status in ("canceled", "expired"):
                return
            why = (f"the order is {o.status} at the venue" if not o.working
                   else f"the venue still has it {v.status}: the cancel did not reach it; not sent again")
        else:
            o = self.catch_up(o, v)
            want = {k: Decimal(x) for k, x in self.requests[c.seq].items()}
            have = {"price": Decimal(v.price) if v.price is not None else None, "qty": Decimal(v.qty)}
            asked = ", ".join(f"{k} {_fmt(x)}" for k, x in want.items())
            if o.working and want and all(have[k] == x for k, x in want.items()):
                base = _reopened(o) if o.status == "pending_modify" else o
                after = msgspec.structs.replace(base, price=v.price, qty=v.qty)
                self.emit("command_acked", o, after, {"kind": "updated", "price": v.price, "qty": v.qty, "ts": v.ts},
                          f"modify {c.seq} of {name}: the venue shows it applied ({asked})", v.venue_order_id)
                return
            why = (f"the order is {o.status} at the venue" if not o.working
                   else f"the venue shows price {v.price}, qty {v.qty}, not the requested {asked}: "
                        f"the modify did not reach it; not sent again")
        after = _reopened(o) if o.status in ("pending_cancel", "pending_modify") else o
        self.emit("command_resolved", o, after, {"kind": rejected, "code": "not_applied" if o.working else "order_closed"},
                  f"{verb} {c.seq} of {name}: {why}", v.venue_order_id)

    def claim(self, c: PendingCommand, o: StoredOrder) -> bool:
        """A cancel of an order this reconciliation closed as canceled/expired at the venue's word
        (its submit was pending too): that event is the cancel's ack — relabel it, emit nothing."""
        for i in range(len(self.adjustments) - 1, -1, -1):
            a = self.adjustments[i]
            if a.client_id == o.client_id:
                if a.kind != "order_event" or a.event["kind"] != o.status:
                    return False
                reason = f"cancel {c.seq} of {_order_name(o)}: the venue has it {o.status} as {a.venue_order_id}"
                self.adjustments[i] = msgspec.structs.replace(
                    a, kind="command_acked", event={**a.event, "reason": reason},
                    audit={**a.audit, "code": "command_acked", "reason": reason})
                return True
        return False

    def pending_submit(self, c: PendingCommand, o: StoredOrder | None) -> None:
        """Rule 1 for a submit: the venue's order (acked or resolved), or void."""
        if o is None:
            req = self.requests[c.seq]
            o = StoredOrder(c.order_id, c.client_id, req["side"], req["kind"], req["price"], req["qty"], "0", "submitted", c.ts)
        if o.status != "submitted":  # the store already holds its ack: the command is done
            self.notes.append(f"submit {c.seq} of {_order_name(o)}: the node already has the order {o.status}")
            self.working(o)
            return
        v = self.venue_order(c.client_id)
        if v is None:
            after = msgspec.structs.replace(o, status="rejected")
            self.emit("command_void", o, after, {"kind": "rejected", "code": "void"},
                      f"submit {c.seq} of {_order_name(o)} ({o.side} {o.qty}{' @ ' + o.price if o.price else ''}) "
                      f"never reached the venue: the venue has no order {o.client_id}; void, not sent again")
            return
        clean = v.status == "open" and Decimal(v.filled) == 0
        reason = (f"submit {c.seq} of {_order_name(o)}: the venue has it as {v.venue_order_id}, {v.status}, "
                  f"{_of(v)}; not sent again")
        self.catch_up(o, v, ack=("command_acked" if clean else "command_resolved", reason))

    def external(self, v: VenueOrder) -> None:
        """Rule 2: adopt an open venue order the node does not know, with its fills."""
        o = StoredOrder(None, v.client_id or v.venue_order_id, v.side, v.kind, v.price, v.qty, "0", "open", v.ts)
        self.emit("external_order", None, o,
                  {"kind": "accepted", "external": True, "side": v.side, "price": v.price, "qty": v.qty, "ts": v.ts},
                  f"external order {o.client_id} (venue order {v.venue_order_id}: {v.side} {v.qty}"
                  f"{' @ ' + v.price if v.price else ''}, {v.status}, {_of(v)}) is open at the "
                  f"venue and unknown to the node: adopted", v.venue_order_id)
        self.catch_up(o, v)

    def absent(self, kind: str, o: StoredOrder, why: str) -> None:
        """Close ``o``, a working order the venue does not have: ``rejected`` (code ``void``) if
        never acknowledged, else ``canceled`` (code ``not_at_venue``)."""
        status, code = ("rejected", "void") if o.status == "submitted" else ("canceled", "not_at_venue")
        self.emit(kind, o, msgspec.structs.replace(o, status=status), {"kind": status, "code": code},
                  f"{why}: it is not working anywhere, {status}")

    def working(self, o: StoredOrder) -> None:
        """Rule 3: one order the node holds as working, against the venue's."""
        v = self.venue_order(o.client_id)
        if v is None:
            self.absent("order_event", o, f"{_order_name(o)} ({o.status}, {_fmt(Decimal(o.filled))} of {o.qty} filled) "
                                          f"is unknown to the venue")
            return
        pending = o.status if o.status in ("pending_cancel", "pending_modify") else None
        o = self.catch_up(o, v)
        if o.working and pending is not None:
            rejected = "cancel_rejected" if pending == "pending_cancel" else "modify_rejected"
            self.emit("order_event", o, _reopened(o), {"kind": rejected, "code": "not_applied"},
                      f"{_order_name(o)} was {pending} at the node; the venue still has it {v.status}", v.venue_order_id)

    def position(self, adopt: bool) -> tuple[str, str, str]:
        """Rule 4: the node's position after the applied fills against the venue's."""
        instrument = self.records.instrument
        before = Decimal(self.records.position)
        node = before + self.applied
        venue = sum((Decimal(p.qty) for p in self.status.positions if p.instrument == instrument), ZERO)
        for f in self.reports.values():  # fills of orders neither held nor adopted: explained, not applied
            if fill_key(f) not in self.known and fill_key(f) not in self.noted:
                self.notes.append(f"trade {f.trade_id} of order {f.client_id or f.venue_order_id} ({f.side} {f.qty} @ "
                                  f"{f.price}) belongs to no order the node holds: not applied")
        if node != venue:
            diff = venue - node
            sentence = (f"position {instrument}: node {_fmt(before)} + applied fills {_fmt(self.applied)} = {_fmt(node)}, "
                        f"venue {_fmt(venue)}: differs by {_fmt(diff)}")
            if adopt:
                self.adjust("position_adopted", None, None, None,
                            {"kind": "position_adjusted", "instrument": instrument, "from": _fmt(node), "to": _fmt(venue),
                             "delta": _fmt(diff)},
                            _fmt(node), _fmt(venue), f"{sentence}; the venue's position is adopted (adopt_position)")
                node = venue
            else:
                self.mismatches.append(f"{sentence}; the node halts (set adopt_position to take the venue's)")
        return _fmt(before), _fmt(node), _fmt(venue)


def reconcile(records: NodeRecords, venue: ReconcilingVenue, *, adopt_position: bool, ts: int) -> Reconciliation:
    """Reconcile one strategy's records with the venue (see the module docs for the rules).

    :param records: what the store rebuilt for the strategy.
    :param venue: the execution client's reconciliation interface; never asked to send anything.
    :param adopt_position: take the venue's position when it still differs (else halt).
    :param ts: the reconciliation's time (ns): the audit entries' and the node-made events'.
    :return: the adjustments, the orders touched, the position after, ``halted`` and a report.
    """
    if not isinstance(records, NodeRecords):
        raise InvalidInputError(f"records: must be NodeRecords, got {type(records).__name__}")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise InvalidInputError(f"ts: must be an integer time in ns, got {ts!r}")
    run = _Run(records, venue, ts)
    for c in sorted(records.pending_commands, key=lambda c: c.seq):
        run.pending(c)
    for client_id, v in run.venue_open.items():
        if client_id not in run.orders:
            run.external(v)
    for o in records.open_orders:
        if o.client_id not in run.touched and o.working:
            run.working(o)
    before, position, venue_position = run.position(adopt_position)
    after = NodeRecords(records.strategy, records.instrument, [o for o in run.orders.values() if o.working], [],
                        set(run.known), position, records.last_ts)
    return Reconciliation(records.strategy, records.instrument, ts, run.adjustments, list(run.touched.values()),
                          before, position, venue_position, bool(run.mismatches), run.mismatches, run.notes,
                          dict(run.status.balances), after)
