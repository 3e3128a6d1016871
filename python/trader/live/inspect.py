"""Reading a node's store without running it: ``trader state show``, ``trader state export`` and
``trader audit verify`` on a store.

A store is opened read-only (:func:`trader.live.store.open_store` with ``readonly=True``): its
checks run first (a missing, foreign, damaged or newer store is one line, exit 2) and nothing in
it is changed — reading a store of a running node is safe (SQLite's WAL lets readers in while the
node writes; PostgreSQL's MVCC likewise).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["open_for_reading", "show", "export", "verify_store_audit"]

#: Open orders of the engine's statuses (anything else is done).
OPEN = ("submitted", "accepted", "working", "partially_filled", "pending_cancel", "pending_modify", "triggered")


def open_for_reading(target: str) -> Any:
    """The store of ``target`` (a state folder or a ``postgresql://`` URL), read-only; a folder
    with no store is an error naming it (reading never creates one)."""
    from trader.live.store import open_store

    if not target.startswith(("postgresql://", "postgres://")):
        p = Path(target)
        if not p.exists():
            raise InvalidInputError(f"state {target}: no such folder")
        if not (p / "store.sqlite3").exists():
            raise InvalidInputError(f"state {target}: no store in this folder (store.sqlite3 missing: not a node's state folder?)")
    return open_store(target, readonly=True)


def show(store: Any, *, last: int = 10) -> dict[str, Any]:
    """What a trader asks first: per strategy its open orders, position, balances, trading state,
    the last ``last`` order events and fills, the commands still unresolved; the feed positions
    and the restarts."""
    meta = store.meta()
    out: dict[str, Any] = {"store": store.location, "backend": store.backend, "schema": meta.get("schema_version"),
                           "created": meta.get("created"), "strategies": {}, "feeds": {}, "restarts": []}
    positions = store.positions()
    balances = store.balances()
    risk = {r.strategy: r for r in store.risk_states()}
    strategies = sorted({p.strategy for p in positions} | set(risk) | set(store.checkpoint_strategies()))
    for sid in strategies:
        events = store.order_events(sid)
        fills = store.fills(sid)
        cp = store.checkpoint(sid)
        out["strategies"][sid] = {
            "trading_state": risk[sid].state if sid in risk else None,
            "positions": [{"instrument": p.instrument, "qty": p.qty, "avg_price": p.avg_price, "realized": p.realized}
                          for p in positions if p.strategy == sid],
            "balances": {b.asset: b.total for b in balances if b.strategy == sid},
            "open_orders": [{"order_id": o.order_id, "client_id": o.client_id, "side": "buy" if o.side > 0 else "sell",
                             "kind": o.kind, "price": o.price, "qty": o.qty, "filled": o.filled, "status": o.status}
                            for o in store.orders(sid, open_only=True)],
            "orders": len(store.orders(sid)), "fills": len(fills), "order_events": len(events),
            "unresolved_commands": [{"seq": c.seq, "kind": c.kind, "client_id": c.client_id, "ts": c.ts}
                                    for c in store.commands(sid, status="pending")],
            "void_commands": len(store.commands(sid, status="void")),
            "last_events": [{"seq": e.seq, "ts": e.ts, "order_id": e.order_id, "kind": e.kind, "status": e.status}
                            for e in events[-last:]],
            "last_fills": [{"trade_id": f.trade_id, "ts": f.ts, "order_id": f.order_id, "side": "buy" if f.side > 0 else "sell",
                            "price": f.price, "qty": f.qty, "fee": f.fee} for f in fills[-last:]],
            "checkpoint": None if cp is None else {"ts": cp.ts, "bytes": len(cp.blob), "events": cp.events,
                                                   "fills": cp.fills, "audit": cp.audit},
        }
    for stream, fp in store.feed_positions().items():
        out["feeds"][stream] = {"position": fp.position, "written": fp.last_ts}
    for r in store.restarts():
        out["restarts"].append({"seq": r.seq, "wall_ts": r.wall_ts, "kind": r.kind, "report": json.loads(r.report or "{}")})
    return out


def export(store: Any, folder: str) -> list[tuple[str, int]]:
    """Every table of the store as ``<folder>/<table>.parquet`` (Arrow); returns (table, rows).
    The folder is created; an existing file of the same name is replaced atomically."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--to: {folder} is a file, expected a folder")
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for name in store.tables():
        table = store.table(name)
        tmp = out / f".{name}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, out / f"{name}.parquet")
        done.append((name, table.num_rows))
    return done


def verify_store_audit(store: Any, key: bytes | None = None, strategy: str | None = None) -> dict[str, int]:
    """Check each strategy's audit chain in the store: every hash, the chain and the sequence (a
    live chain is open: no seal), and that no entry is missing at the end — the last checkpoint
    counts the entries written with it. Returns entries per strategy.

    :raise InvalidInputError: naming the store, the strategy, the entry and the problem."""
    from trader import _core

    ids = sorted(store.checkpoint_strategies())
    if strategy is not None:
        if strategy not in ids:
            raise InvalidInputError(f"--strategy: {strategy!r} has no audit chain in {store.location} "
                                    f"(strategies: {', '.join(ids) or 'none'})")
        ids = [strategy]
    if not ids:
        raise InvalidInputError(f"store {store.location}: no strategy has written anything yet")
    counts = {}
    for sid in ids:
        cp = store.checkpoint(sid)  # first: a batch committed meanwhile only adds entries
        entries = [json.loads(a.entry) for a in store.audit(sid)]
        where = f"store {store.location}: strategy {sid}"
        try:
            _core.verify_audit(entries, key, sealed=False)
        except ValueError as e:
            raise InvalidInputError(f"{where}: {e}") from None
        if cp is not None and len(entries) < int(cp.audit):
            raise InvalidInputError(f"{where}: {int(cp.audit) - len(entries)} entries missing at the end "
                                    f"(the last checkpoint counts {cp.audit}, the chain has {len(entries)})")
        counts[sid] = len(entries)
    return counts
