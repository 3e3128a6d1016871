"""The node's side of persistence: what each strategy's session writes to the store, when, and
how a restart rebuilds, reconciles and resumes (``trader live`` on an existing state folder).

**While running.** Every command that passed the risk engine and the account is written ahead
(:meth:`SlotLink.journal`, called by the engine before the command reaches the venue: the one
synchronous write on the order path; a failure stops the command). Everything else is written in
*batches* at event boundaries (:meth:`Persistence.after_batch`, at most every ``flush_ms``): the
order events, fills, audit entries and trading-state changes since the last batch, the current
orders, position, balances, risk state and strategy state (after ``on_save``), the engine's
checkpoint (the paper venue included: working orders, queue positions, account) and the feed's
position. One batch is one transaction, committed by the store's writer thread: the store always
holds a consistent cut — the state after event N and the feed position N.

**Restart** (:meth:`Persistence.restore`, then :meth:`Persistence.reconcile`, before any event
reaches a strategy): each session restores its engine from the last checkpoint, each strategy its
``state`` (then ``on_load``); the feed resumes after the stored position. Then reconciliation with
the venue (:mod:`trader.live.reconcile`): commands written ahead after the last cut are resolved by
asking the venue for their client order id — a submit the venue never saw is void (the engine,
replaying the events after the cut, decides again); nothing is sent twice. Adjustments are audit
entries (kind ``reconcile``) and go to the store in one batch with the restart's record.

**Crash points** (:func:`trader.live.store.crash.point`, for the kill -9 tests): ``node.fill`` (a
feed batch produced fills that are not written yet), ``node.batch`` (a batch handed to the writer,
not committed yet), ``node.restored`` (engines restored, not reconciled), ``node.reconcile``
(adjustments made in the engine, not yet written).
"""

from __future__ import annotations

import json
import logging

import msgspec
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["Persistence", "SlotLink", "client_order_id"]

log = logging.getLogger("trader.live")


def client_order_id(strategy: str, order_id: int) -> str:
    """The client order id a venue sees for an order of a strategy: unique in the node."""
    return f"{strategy}-{order_id}"


def _order_id(client_id: str, strategy: str) -> int | None:
    prefix = strategy + "-"
    if client_id.startswith(prefix) and client_id[len(prefix):].isdigit():
        return int(client_id[len(prefix):])
    return None


#: The engine's order statuses as reconciliation names the node's (:data:`trader.live.reconcile.NODE_WORKING`).
NODE_STATUS = {"initialized": "submitted", "submitted": "submitted", "accepted": "open", "triggered": "open",
               "partially_filled": "partially_filled", "filled": "filled", "canceled": "canceled",
               "expired": "expired", "rejected": "rejected", "denied": "rejected"}


_ENCODER = msgspec.json.Encoder()


def _encode(row: dict[str, Any]) -> str:
    """A session's row (plain values) as JSON text, for the store's detail columns."""
    return _ENCODER.encode(row).decode()


#: A fill's detail when its columns say everything (not a liquidation).
_FILL_DETAIL = "{}"


def _event_detail(e: dict[str, Any]) -> str:
    """An order event's detail beyond its columns: the reason, the denial's sentence, the fill's
    trade id (``{}`` when none, most events)."""
    extra = {k: e[k] for k in ("reason", "detail", "trade_id") if e.get(k) is not None}
    return _encode(extra) if extra else "{}"


def side_of(side: Any) -> int:
    """+1 (buy) or -1 (sell) from the session's "BUY"/"SELL" (or a signed number)."""
    if isinstance(side, str):
        return 1 if side.strip().upper() == "BUY" else -1
    return 1 if int(side) > 0 else -1


def avg_price(pos: dict[str, Any]) -> str:
    """The position's average entry price (cost / quantity), exact to 18 places; "0" when flat."""
    from decimal import Decimal, localcontext

    qty = Decimal(str(pos["qty"]))
    if qty == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec = 60
        return str((abs(Decimal(str(pos["cost"]))) / abs(qty)).quantize(Decimal("1e-18")))


def plain_commands(c: Any, price_dp: int, size_dp: int) -> list[tuple[str, int, str, str]]:
    """A written-ahead command (the engine's request, raw integers at the instrument's precision)
    as reconciliation reads it: ``(kind, order_id, client_id, request JSON)`` with decimal
    strings — a list submits one entry per order; a cancel-all none (its orders' states at the
    venue decide)."""
    from decimal import Decimal

    req = json.loads(c.request)
    px = (lambda raw: None if raw is None else str(Decimal(int(raw)).scaleb(-price_dp)))
    qty = (lambda raw: None if raw is None else str(Decimal(int(raw)).scaleb(-size_dp)))

    def spec(o: dict[str, Any]) -> tuple[str, int, str, str]:
        kind = o["kind"] if isinstance(o["kind"], str) else next(iter(o["kind"]))
        body = {} if isinstance(o["kind"], str) else (o["kind"][kind] or {})
        plain = {"side": str(o["side"]).lower(), "kind": kind.lower(), "qty": qty(o["qty"]), "price": px(body.get("px"))}
        return ("submit", int(o["id"]), client_order_id(c.strategy, int(o["id"])), json.dumps(plain))

    if "Submit" in req:
        return [spec(req["Submit"])]
    if "SubmitList" in req:
        return [spec(o) for o in req["SubmitList"]["orders"]]
    if "Modify" in req:
        m = req["Modify"]
        plain = {k: v for k, v in (("price", px(m.get("px"))), ("qty", qty(m.get("qty")))) if v is not None}
        return [("modify", int(m["id"]), client_order_id(c.strategy, int(m["id"])), json.dumps(plain))]
    if "Cancel" in req:
        oid = int(req["Cancel"]["id"])
        return [("cancel", oid, client_order_id(c.strategy, oid), "{}")]
    return []


def _plain(value: Any, where: str) -> str:
    """``value`` as JSON text, refusing what JSON cannot hold (a strategy's ``state``)."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{where}: must hold plain values (str, int, float, bool, None, lists, dicts): {e}") from None


@dataclass
class SlotLink:
    """One strategy's link to the store: its write-ahead journal and how much of its session's
    history has been written."""

    store: Any
    slot: Any
    fills: int = 0
    events: int = 0
    audit: int = 0
    next_seq: int = 0
    #: Command seqs written ahead since the last batch (that batch marks them acked).
    pending: list[int] = field(default_factory=list)
    #: The session's write-ahead log (SQLite, :meth:`attach_journal`): the handle that releases
    #: the records a committed batch holds.
    log_release: Any = None

    @property
    def id(self) -> str:
        return str(self.slot.id)

    def attach_journal(self, sync: str) -> None:
        """Write every command of the session ahead: on SQLite into the strategy's write-ahead
        log, by the session itself (no Python call on the order path; batches carry the records
        into the store); on PostgreSQL through :meth:`journal`."""
        from trader.live.store import JOURNAL_LOG_BYTES, crash

        session = self.slot.session
        if self.store.backend == "sqlite":
            after = (lambda: crash.point("store.write_ahead")) if crash.armed("store.write_ahead") else None
            self.log_release = session.set_log_journal(self.store.journal_log_path(self.id), self.id, self.next_seq,
                                                       JOURNAL_LOG_BYTES, full=sync == "full", after=after)
        else:
            session.set_journal(self.journal)

    def journal(self, kind: str, order_id: int, request: str, ts: int) -> None:
        """The write-ahead: called by the engine before a command leaves; committed on return."""
        from trader.live.store import Command

        seq = self.next_seq
        self.store.write_ahead(Command(strategy=self.id, seq=seq, order_id=int(order_id),
                                       client_id=client_order_id(self.id, int(order_id)), kind=kind,
                                       request=request, ts=int(ts), status="pending", note=""))
        self.next_seq = seq + 1
        self.pending.append(seq)

    def rows(self, batch: Any, now_ts: int) -> int:
        """Add this strategy's rows since the last batch to ``batch``; returns the new fills."""
        from trader.live import store as st

        s, sid = self.slot.session, self.id
        fills = s.fills_since(self.fills)
        events = s.events_since(self.events)
        audit = s.audit_since(self.audit)
        for f in fills:
            batch.fills.append(st.Fill(strategy=sid, trade_id=str(f["trade_id"]), order_id=int(f["order_id"]),
                                       ts=int(f["ts"]), side=side_of(f["side"]), price=str(f["price"]), qty=str(f["qty"]),
                                       fee=str(f["fee"]), liquidity=str(f.get("liquidity") or ""),
                                       detail=_FILL_DETAIL if not f.get("liquidation") else '{"liquidation":true}'))
        touched = {int(e["order_id"]) for e in events} | {int(f["order_id"]) for f in fills}
        for e in events:
            batch.order_events.append(st.OrderEvent(strategy=sid, seq=int(e["seq"]), order_id=int(e["order_id"]),
                                                    kind=str(e["kind"]), status=str(e.get("status") or "").lower(),
                                                    ts=int(e["ts"]), detail=_event_detail(e)))
        for a in audit:
            batch.audit.append(st.AuditEntry(strategy=sid, seq=int(a["seq"]), ts=int(a["ts"]), kind=str(a["kind"]),
                                             hash=str(a["hash"]), prev_hash=str(a["prev_hash"]),
                                             entry=_encode(a)))
            if a["kind"] == "state":
                batch.state_changes.append(st.StateChange(strategy=sid, seq=int(a["seq"]), ts=int(a["ts"]),
                                                          from_state=str(a.get("from") or ""), to_state=str(a.get("to") or ""),
                                                          source=str(a.get("source") or ""),
                                                          reason=str(a.get("reason") or "")))
        if touched:
            for o in s.orders(sorted(touched)):
                batch.orders.append(_order_row(sid, o))
        pos = s.position()
        batch.positions.append(st.Position(strategy=sid, instrument=str(pos["symbol"]), qty=str(pos["qty"]),
                                           avg_price=avg_price(pos), realized=str(pos.get("realized") or "0"), ts=now_ts))
        for asset, total in s.balances().items():
            batch.balances.append(st.Balance(strategy=sid, asset=str(asset), total=str(total), ts=now_ts))
        risk = s.risk_state()
        batch.risk_states.append(st.RiskState(strategy=sid, state=str(risk.get("trading_state")),
                                              detail=json.dumps(risk, default=str), ts=now_ts))
        strategy = self.slot.strategy
        if getattr(strategy, "on_save", None) is not None:
            strategy.on_save()
        batch.strategy_states.append(st.StrategyState(strategy=sid, state=_plain(getattr(strategy, "state", {}) or {},
                                                                                  f"strategy {sid}: self.state"),
                                                      ts=now_ts))
        self.fills += len(fills)
        self.events += len(events)
        self.audit += len(audit)
        batch.checkpoints.append(st.Checkpoint(strategy=sid, blob=bytes(s.checkpoint()), events=self.events,
                                               fills=self.fills, audit=self.audit, ts=now_ts))
        if self.log_release is not None:
            logged = s.journal_drain()
            batch.commands.extend(st.Command(strategy=sid, seq=q, order_id=oid, client_id=client_order_id(sid, oid), kind=kind,
                                             request=request, ts=ts, status="pending", note="")
                                  for q, oid, kind, request, ts in logged)
            if logged:
                self.pending.extend(q for q, *_ in logged)
                batch.releases.append((self.log_release, logged[-1][0]))
        batch.command_updates.extend(st.CommandUpdate(strategy=sid, seq=q, status="acked", note="") for q in self.pending)
        self.pending = []
        return len(fills)


def _order_row(sid: str, o: dict[str, Any]) -> Any:
    from trader.live.store import Order

    return Order(strategy=sid, order_id=int(o["id"]), client_id=client_order_id(sid, int(o["id"])), side=side_of(o["side"]),
                 kind=str(o["kind"]).lower(), price=None if o.get("price") is None else str(o["price"]), qty=str(o["qty"]),
                 filled=str(o.get("filled") or "0"), status=str(o["status"]).lower(), ts=int(o.get("ts") or 0),
                 external=bool(o.get("external", False)), detail=_encode(o))


#: The configuration keys a resumed node must share with the one that wrote the store: what it
#: trades, on what, with which account and rules. (Logging, the control API, the pace of a replay,
#: durations and the store's own settings may change between runs.)
RESUME_KEYS = ("paper", "venue", "feed", "market", "account", "leverage", "cash", "maker_fee_bps", "taker_fee_bps",
               "latency", "bar", "elapse_ms")


def node_identity(cfg: Any) -> dict[str, Any]:
    """What must not change across a restart (:data:`RESUME_KEYS`, the strategies with their
    parameters, and the risk configuration's text), as plain values."""
    out: dict[str, Any] = {k: getattr(cfg, k) for k in RESUME_KEYS}
    out["strategies"] = [{"id": e.id, "strategy": e.strategy, "params": dict(e.params)} for e in cfg.entries()]
    risk = getattr(cfg, "risk_config", None)
    out["risk"] = Path(risk).read_text(encoding="utf-8") if risk else None
    return json.loads(json.dumps(out, default=str))


def identity_difference(stored: dict[str, Any], now: dict[str, Any]) -> str | None:
    """The first difference between two :func:`node_identity` values, as "key: was X, now Y"."""
    for k in sorted(set(stored) | set(now)):
        if stored.get(k) != now.get(k):
            a, b = json.dumps(stored.get(k)), json.dumps(now.get(k))
            short = (lambda t: t if len(t) <= 60 else t[:57] + "...")
            return f"{k}: was {short(a)}, now {short(b)}"
    return None


#: The lock file of a state folder: held (flock) by the node that runs on it, with its pid.
LOCK_FILE = "node.lock"


def lock_state(state_dir: Path) -> tuple[int, bool]:
    """Take the state folder for this process (an exclusive ``flock`` on ``node.lock``, released
    when the process ends, however it ends): a second node on the same folder would write the
    same journal and store. Returns the lock's file descriptor (:func:`claim_state` then writes
    the pid) and whether this call created the lock file.

    :raise InvalidInputError: the folder is in use by a running node (its pid named)."""
    import fcntl

    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise InvalidInputError(f"state {state_dir}: in use by a running node (pid {holder}): stop it, "
                                "or give another --state") from None
    return fd, created


def claim_state(fd: int) -> None:
    """Write this process's pid into the held lock file (once the store passed its checks: a
    refused store leaves the folder as it was)."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


class Persistence:
    """The node's store, its writer and one :class:`SlotLink` per strategy."""

    def __init__(self, cfg: Any, state_dir: Path) -> None:
        from trader.live.store import BatchWriter, open_store

        self.cfg = cfg
        self._lock, created = lock_state(state_dir)
        self._lock_path: Path | None = state_dir / LOCK_FILE if created else None  # removed if refused
        target = cfg.store if cfg.store is not None else os.fspath(state_dir)
        try:
            self.store = open_store(target, sync=cfg.store_sync)
        except BaseException:
            self._release()
            raise
        try:
            self.store.hold()  # PostgreSQL: one node per database (the folder lock covers SQLite)
        except BaseException:
            self.store.close()
            self._release()
            raise
        self.writer = BatchWriter(self.store)
        self.links: dict[str, SlotLink] = {}
        self.flush_s = float(cfg.flush_ms) / 1e3
        self._last = time.monotonic()
        self.restored: dict[str, int] = {}
        self.feed_resumed_at: int | None = None
        self.reconciliations: list[dict[str, Any]] = []
        self.batches = 0
        self._closed = False

    # -- start ------------------------------------------------------------------------------------
    def feed_position(self, stream: str) -> int | None:
        """The stored position of the feed ``stream`` (None: never written)."""
        pos = self.store.feed_positions().get(stream)
        return None if pos is None else int(pos.position)

    def check_identity(self) -> None:
        """A store written by a node of another configuration (another feed, strategy, account...)
        cannot be resumed by this one: refuse it, naming the difference, before anything is
        touched. A new store records this node's identity."""
        now = node_identity(self.cfg)
        stored = self.store.meta().get("node")
        if stored is None or not self.store.checkpoint_strategies():  # nothing to resume yet
            if stored is None or json.loads(stored) != now:
                self.store.set_meta("node", json.dumps(now))
            return
        diff = identity_difference(json.loads(stored), now)
        if diff is not None:
            raise InvalidInputError(f"store {self.store.location}: written by a node of another configuration ({diff}); "
                                    "resume with the same configuration, or give another --state (or --store)")

    def attach(self, slot: Any) -> None:
        """Link a strategy's session to the store: restore its engine and state from the last
        checkpoint when there is one, then write every command ahead from now on."""
        from trader.live.store import crash

        link = SlotLink(store=self.store, slot=slot, next_seq=self.store.next_command_seq(str(slot.id)))
        cp = self.store.checkpoint(str(slot.id))
        if cp is not None:
            try:
                slot.session.restore(cp.blob)
            except InvalidInputError as e:
                raise InvalidInputError(f"store {self.store.location}: strategy {slot.id}: {e}") from None
            link.fills, link.events, link.audit = int(cp.fills), int(cp.events), int(cp.audit)
            states = self.store.strategy_states()
            if slot.id in states:
                state = json.loads(states[slot.id].state)
                slot.strategy.state = state
                if getattr(slot.strategy, "on_load", None) is not None:
                    slot.strategy.on_load(state)
            self.restored[str(slot.id)] = link.events
        link.attach_journal(self.cfg.store_sync)
        self.links[str(slot.id)] = link
        if cp is not None:
            crash.point("node.restored")

    def reconcile(self, venue_of: Any, ts: int, precision: tuple[int, int]) -> list[dict[str, Any]]:
        """Reconcile every restored strategy with its venue (``venue_of(slot)``: a
        :class:`trader.live.reconcile.ReconcilingVenue`), apply the adjustments, and write them
        with the restart's record in one batch (committed before returning). Returns one report
        per strategy; a strategy whose position still differs is halted with its report."""
        from trader.live import reconcile as rc
        from trader.live import store as st
        from trader.live.store import crash

        unresolved = {sid for sid in self.links if self.store.commands(sid, status="pending")}
        if not self.restored and not unresolved:
            return []
        batch = st.Batch()
        reports: list[dict[str, Any]] = []
        for sid, link in self.links.items():
            if sid not in self.restored and sid not in unresolved:
                continue
            slot = link.slot
            venue = venue_of(slot)
            # a venue that restores its in-flight orders (the paper venue's simulated network)
            # answers for them as it resumes: they are not reconciled
            skip = ("submitted",) if getattr(venue, "restores_in_flight", False) else ()
            real = not getattr(venue, "restores_in_flight", False)
            stored = self.store.commands(sid, status="pending")
            if real:
                # a real venue may hold orders sent after the checkpoint the engine came back from:
                # the engine takes the journaled orders back (their reports apply from now on) and
                # its order ids move past them (a client order id is never used twice)
                for c in stored:
                    slot.session.adopt(c.request)
            records = rc.NodeRecords(
                strategy=sid, instrument=str(slot.session.position()["symbol"]),
                open_orders=[rc.StoredOrder(order_id=o.order_id, client_id=o.client_id, side="buy" if o.side > 0 else "sell",
                                            kind=o.kind,
                                            price=o.price, qty=o.qty, filled=o.filled,
                                            status=NODE_STATUS.get(o.status.lower(), o.status.lower()), ts=o.ts)
                             for o in self.store.orders(sid, open_only=True)
                             if NODE_STATUS.get(o.status.lower(), o.status.lower()) not in skip],
                pending_commands=[rc.PendingCommand(seq=c.seq, kind=kind, order_id=oid, client_id=cid, request=req, ts=c.ts)
                                  for c in stored for kind, oid, cid, req in plain_commands(c, *precision)],
                known_fills=self._known_fills(sid),
                position=str(slot.session.position()["qty"]), last_ts=int(slot.session.clock))
            result = rc.reconcile(records, venue, adopt_position=bool(self.cfg.adopt_position), ts=ts)
            pending = list(records.pending_commands)
            for adj in result.adjustments:
                self._apply(link, adj, batch, pending, real=real, precision=precision)
            resolved = {u.seq for u in batch.command_updates if u.strategy == sid}
            for c in stored:  # a cancel-all: the venue's open orders (reconciled above) tell what it did
                if c.seq not in resolved:
                    reason = (f"{c.kind} {c.seq} of {sid}: written ahead, no answer; resolved by the venue's "
                              "open orders and fills (reconciled order by order)")
                    batch.command_updates.append(st.CommandUpdate(strategy=sid, seq=int(c.seq), status="resolved",
                                                                  note=reason))
                    slot.session.record_action("reconcile", "reconcile", reason, [])
            if result.halted:
                slot.session.set_state("halted", "reconcile: the position differs from the venue's")
            reports.append({"strategy": sid, "adjustments": [a.kind for a in result.adjustments],
                            "halted": result.halted, "report": result.report()})
            if result.adjustments or result.halted:
                log.warning("reconciled", extra={"strategy": sid, "report": result.report()})
            crash.point("node.reconcile")
        self.reconciliations = reports
        batch.restarts.append(st.Restart(seq=0, wall_ts=time.time_ns(), kind="restart",
                                         report=json.dumps({"restored_events": self.restored,
                                                            "feed_position": self.feed_resumed_at,
                                                            "reconciliation": reports})))
        now_ts = time.time_ns()
        for sid in set(self.restored) | unresolved:  # the engines after the adjustments: the next cut, with their audit entries
            self.links[sid].rows(batch, now_ts)
        self.writer.submit(batch)
        self.writer.flush()
        return reports

    def _known_fills(self, sid: str) -> set[tuple[str, str]]:
        """The fills strategy ``sid`` has applied, as reconciliation knows a fill: its order's client
        id and the venue's trade id (:func:`trader.live.reconcile.fill_key`)."""
        cids = {o.order_id: o.client_id for o in self.store.orders(sid)}
        return {(cids.get(f.order_id) or client_order_id(sid, f.order_id), f.trade_id) for f in self.store.fills(sid)}

    def _apply(self, link: SlotLink, adj: Any, batch: Any, pending: list[Any], *, real: bool = False,
               precision: tuple[int, int] = (8, 8)) -> None:
        """One reconciliation adjustment: the command's resolution in the store (the first
        pending command of its client order id), its audit entry in the engine's chain. The paper
        venue restores with the node's own state, so it can only differ by commands written ahead
        after the last cut, which it never saw (void: the engine decides again on the events after
        the cut); anything else means the store and its checkpoint disagree."""
        from trader.live import store as st

        sid, session = link.id, link.slot.session
        status = {"command_void": "void", "command_resolved": "resolved", "command_acked": "acked"}.get(adj.kind)
        if real:
            self._apply_to_engine(session, adj, precision)
        if status is None and real:
            session.record_action("reconcile", "reconcile", adj.reason, [int(i) for i in adj.audit.get("orders") or []])
            return
        if status is None:
            raise InvalidInputError(f"store {self.store.location}: strategy {sid}: the stored state disagrees with its "
                                    f"paper venue's checkpoint ({adj.kind}: {adj.reason}); the store is damaged")
        cmd = next((c for c in pending if c.client_id == adj.client_id), None)
        if cmd is not None:
            pending.remove(cmd)
            batch.command_updates.append(st.CommandUpdate(strategy=sid, seq=int(cmd.seq), status=status, note=adj.reason))
        orders = [int(i) for i in adj.audit.get("orders") or []]
        session.record_action("reconcile", "reconcile", adj.reason, orders)

    @staticmethod
    def _apply_to_engine(session: Any, adj: Any, precision: tuple[int, int]) -> None:
        """A real venue's answer as the engine's report (the paper venue restores with the
        engine and needs none): an order's status, a fill missed while down (an inferred one gets
        a trade id of its own), a command the venue never saw rejected. Orders no strategy placed
        and the position are reported, not applied (the node halts on a position that differs)."""
        from decimal import ROUND_HALF_EVEN, Decimal

        ev, oid = adj.event, adj.order_id
        if oid is None:
            return
        if adj.kind == "command_void":
            session.report("rejected", int(oid))
            return
        kind = str(ev.get("kind") or "")
        if ev.get("qty") and (ev.get("trade_id") or adj.kind == "inferred_fill"):
            pdp, sdp = precision
            price = Decimal(str(ev["price"])).quantize(Decimal(1).scaleb(-pdp), ROUND_HALF_EVEN)
            qty = Decimal(str(ev["qty"])).quantize(Decimal(1).scaleb(-sdp), ROUND_HALF_EVEN)
            trade_id = ev.get("trade_id") or f"inferred:{adj.client_id}:{ev['qty']}@{ev['price']}"
            session.report("fill", int(oid), price=format(price, "f"), qty=format(qty, "f"),
                           fee=str(ev.get("fee") or "0"), liquidity=str(ev.get("liquidity") or "taker").lower(),
                           trade_id=str(trade_id))
        elif kind in ("accepted", "open") or adj.kind == "command_acked":
            session.report("accepted", int(oid))
        elif kind == "rejected":
            session.report("rejected", int(oid))
        elif kind == "canceled":
            session.report("canceled", int(oid), requested=False)
        elif kind == "expired":
            session.report("expired", int(oid))
        elif kind == "triggered":
            session.report("triggered", int(oid))

    # -- running ----------------------------------------------------------------------------------
    def due(self) -> bool:
        return time.monotonic() - self._last >= self.flush_s

    def after_batch(self, feed: Any, *, force: bool = False) -> None:
        """At an event boundary (every session drained its ring): write a batch when due."""
        if not force and not self.due():
            return
        from trader.live import store as st
        from trader.live.store import crash

        self._last = time.monotonic()
        batch = st.Batch()
        now_ts = time.time_ns()
        fills = 0
        for link in self.links.values():
            if link.slot.report is None:
                fills += link.rows(batch, now_ts)
        if fills:
            crash.point("node.fill")
        pos = getattr(feed, "position", None)
        if pos is not None:
            batch.feed_positions.append(st.FeedPosition(stream=str(feed.kind), position=int(pos),
                                                        last_ts=now_ts, detail=json.dumps({"feed": feed.describe()})))
        self.writer.submit(batch)
        self.batches += 1
        crash.point("node.batch")

    def close(self, feed: Any) -> None:
        """The last batch (everything up to the stop), committed before returning."""
        try:
            self.after_batch(feed, force=True)
            self.writer.flush()
        finally:
            self.abandon()

    def claim(self) -> None:
        """The store passed its checks: the state folder is this node's (its pid in the lock), and
        what a killed node's write-ahead logs hold beyond the store is taken in (before any
        session opens its own log)."""
        claim_state(self._lock)
        self._lock_path = None  # the lock file stays with the folder from now on
        self.store.take_in_logs()

    def _release(self) -> None:
        """Let the state folder go; a lock file this node created for a store it then refused
        goes too (a refused folder is left as it was)."""
        if self._lock_path is not None:
            self._lock_path.unlink(missing_ok=True)
        os.close(self._lock)

    def abandon(self) -> None:
        """Stop the writer and close the store without a last batch (after :meth:`close`, or a
        failure before it): what was committed stays; nothing half-written is left."""
        if not self._closed:
            self._closed = True
            try:
                self.writer.close()
            finally:
                try:
                    self.store.close()
                finally:
                    self._release()

    def stats(self) -> dict[str, Any]:
        return {"store": self.store.location, "backend": self.store.backend, "batches": self.batches,
                "restored": dict(self.restored), "feed_resumed_at": self.feed_resumed_at,
                "reconciliation": self.reconciliations, **dict(getattr(self.writer, "stats", lambda: {})())}
