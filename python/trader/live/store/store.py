"""The store itself: :func:`open_store` checks a target, migrates it and returns a :class:`Store`.

Two back ends behind one class, chosen by the target:

**SQLite** (a state folder; the default). ``<folder>/store.sqlite3`` holds every table but the
write-ahead of commands, which lives in ``<folder>/journal.sqlite3``; readers see both (the journal
is ATTACHed). Both files are in WAL mode. A live session writes each command ahead into its own
*write-ahead log* first, ``<folder>/journal-<hash>.log`` (``trader._core.LiveSession.set_log_journal``:
a ring in a memory-mapped file, a copy of a few hundred bytes on the order path, no system call);
each batch carries the records into the journal's ``commands`` table (in the journal's own
transaction, before the batch that acks them) and then releases their bytes for reuse. A node
that claims the folder takes in whatever a log holds beyond the table (a killed node's last
commands, :meth:`Store.take_in_logs`) and removes the logs before its sessions open theirs;
:meth:`Store.commands` also reads the logs, so a running or killed node's commands not yet
batched are seen. Durability:

- ``sync="normal"`` (default): ``synchronous=NORMAL``. A committed transaction, and a command in a
  write-ahead log, survives the process being killed (``kill -9``, a crash): its bytes are in the
  operating system's hands before the call returns. A power cut or an OS crash may lose the last
  transactions (never corrupt the file).
- ``sync="full"``: ``synchronous=FULL`` and an ``msync`` per logged command: a commit and a command
  also survive a power cut, at the cost of a disk flush (milliseconds on most disks) before each
  order leaves.

The journal is a second file so that taking in a log's commands never waits behind a batch commit
holding the main file's write lock. A batch's command updates go to ``command_updates`` in the
main file, in the batch's transaction, and :meth:`Store.commands` reads a command's status as: the
journal's own status once a resolution set it, else the latest update, else ``pending``.

**PostgreSQL** (a ``postgresql://`` URL, psycopg 3): the same tables in the URL's database (the
first schema of its ``search_path``). The write-ahead uses its own autocommit connection, batches
the writer's connection, readers a third; commits are as durable as the server's settings make
them (``synchronous_commit``, on by default). The password never appears in a message nor in
:attr:`Store.location`.

Checks before anything is written (each an :class:`InvalidInputError` of one line naming the
target): the folder is a file; a database file is not SQLite or is corrupted (``PRAGMA
quick_check``); a foreign database (tables but no trader ``meta``, or ``meta`` of another app); a
schema newer than this code knows; PostgreSQL unreachable or refusing (5 s connect timeout). The
checks open SQLite files read-only and only read PostgreSQL, so a refused target is left exactly
as it was. Migrations then run, one transaction per database file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from trader.exceptions import InvalidInputError, StoreError
from trader.live.store import crash
from trader.live.store import records as rec
from trader.live.store.records import RECORDS, Batch, Command, CommandUpdate
from trader.live.store.schema import (
    APP,
    MIGRATIONS,
    SCHEMA_VERSION,
    Dialect,
    Home,
    Migration,
    Table,
    meta_ddl,
    statements,
    tables,
)

__all__ = ["Store", "open_store", "STORE_FILE", "JOURNAL_FILE", "JOURNAL_LOG_BYTES", "journal_log_name", "mask_url",
           "TERMINAL_STATUSES"]

#: The main database file of a SQLite state folder.
STORE_FILE = "store.sqlite3"
#: The write-ahead journal file of a SQLite state folder.
JOURNAL_FILE = "journal.sqlite3"
#: Order statuses after which no event can change an order (``orders(open_only=True)`` skips them).
TERMINAL_STATUSES = ("FILLED", "CANCELED", "EXPIRED", "REJECTED", "DENIED")

CONNECT_TIMEOUT_S = 5
#: A session's write-ahead log (SQLite folders): ``journal-<16 hex digits of the strategy's
#: SHA-256>.log``, a ring of this many bytes (plus a 4 KiB header) in a memory-mapped file.
JOURNAL_LOG_BYTES = 16 << 20
_LOG_GLOB = "journal-*.log"


def journal_log_name(strategy: str) -> str:
    """The file name of ``strategy``'s write-ahead log in a state folder."""
    return f"journal-{hashlib.sha256(strategy.encode()).hexdigest()[:16]}.log"

_PG_SCHEMES = ("postgresql://", "postgres://")
# Batch lists in the order a transaction writes them: appends first, then upserts.
_APPENDS = ("order_events", "fills", "state_changes", "audit", "restarts")
_UPSERTS = ("command_updates", "orders", "positions", "balances", "risk_states", "strategy_states",
            "feed_positions", "checkpoints")
_BATCH_TABLE = {
    "command_updates": "command_updates", "order_events": "order_events", "fills": "fills",
    "state_changes": "state_changes", "audit": "audit", "restarts": "restarts", "orders": "orders",
    "positions": "positions", "balances": "balances", "risk_states": "risk_state",
    "strategy_states": "strategy_state", "feed_positions": "feed_positions", "checkpoints": "checkpoints",
}


def mask_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        q = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={'***' if k == 'password' else v}" for k, v in q)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    out = []
    if parts.password:
        out += [parts.password, urllib.parse.unquote(parts.password)]
    out += [v for k, v in urllib.parse.parse_qsl(parts.query) if k == "password" and v]
    return [s for s in out if s]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _node_info() -> str:
    try:
        from importlib.metadata import version

        trader_version = version("trader")
    except Exception:  # noqa: BLE001 - an uninstalled tree still gets a store
        trader_version = "unknown"
    return json.dumps({"host": platform.node(), "pid": os.getpid(), "trader": trader_version,
                       "python": platform.python_version()})


def _check_meta(label: str, names: set[str], meta: dict[str, str] | None, known: int = SCHEMA_VERSION) -> int:
    """The schema version of a database holding tables ``names`` and ``meta``; 0 when empty."""
    if not names:
        return 0
    if meta is None:
        raise InvalidInputError(f"{label}: a foreign database: it has tables but no trader meta table")
    if meta.get("app") != APP:
        raise InvalidInputError(f"{label}: a foreign database: its meta says app {meta.get('app')!r}, not {APP!r}")
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise InvalidInputError(f"{label}: a damaged trader meta table: schema_version "
                                f"{meta.get('schema_version')!r} is not a number") from None
    if version > known:
        raise InvalidInputError(f"{label}: made by a newer trader: schema {version}, this one knows up to {known}")
    return version


def _inspect_sqlite(path: Path, label: str, known: int) -> int | None:
    """Check one SQLite file without writing to it: None when it does not exist, else its schema
    version (0: an empty database)."""
    if not path.exists():
        return None
    if not path.is_file():
        raise InvalidInputError(f"{label}: is not a file")
    # A WAL database in use (or left by a crash) has its -wal and -shm files: read-only. Without
    # them nothing has it open, and ``immutable`` reads the file without creating them, so the
    # check leaves the folder exactly as it found it.
    idle = not any(Path(f"{path}{sfx}").exists() for sfx in ("-wal", "-shm"))
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + ("?immutable=1" if idle else "?mode=ro")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10)
    except sqlite3.Error as e:
        raise InvalidInputError(f"{label}: cannot be opened: {_one_line(str(e))}") from None
    try:
        try:
            check = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as e:
            raise InvalidInputError(f"{label}: not a SQLite database or corrupted: {_one_line(str(e))}") from None
        if check != [("ok",)]:
            first = _one_line(str(check[0][0])) if check else "no answer"
            raise InvalidInputError(f"{label}: a corrupted SQLite database: quick_check says {first}")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        meta = None
        if "meta" in names:
            try:
                meta = {str(k): str(v) for k, v in conn.execute('SELECT "key", "value" FROM "meta"')}
            except sqlite3.DatabaseError:
                raise InvalidInputError(f"{label}: a foreign database: its meta table is not trader's") from None
        return _check_meta(label, names, meta, known)
    finally:
        conn.close()


class Store:
    """An open store (SQLite state folder or PostgreSQL database); see the module docstring.

    Thread-safe: each connection is used under its own lock, so the engine thread's write-ahead,
    the :class:`BatchWriter`'s commits and readers may run from different threads.
    """

    def __init__(self, dialect: Dialect, location: str, readonly: bool, conns: dict[str, Any],
                 migrations: Sequence[Migration] = MIGRATIONS) -> None:
        #: ``"sqlite"`` or ``"postgresql"``.
        self.backend: Literal["sqlite", "postgresql"] = dialect
        #: Where the store is: the folder, or the URL with its password masked.
        self.location = location
        self.readonly = readonly
        self._conns = conns
        self._locks = {role: threading.Lock() for role in conns}
        self._tables = tables(tuple(migrations))
        self._ph = "?" if dialect == "sqlite" else "%s"
        self._sql = {name: self._insert_sql(t) for name, t in self._tables.items()}
        self._bools = {name: [i for i, c in enumerate(t.columns) if c.type == "bool"] for name, t in self._tables.items()}
        self._closed = False
        self._journal_last: dict[str, int] = {}  # SQLite: the last seq written ahead, per strategy

    # --- SQL -------------------------------------------------------------------------------------

    def _insert_sql(self, t: Table) -> str:
        cols = ", ".join(f'"{c}"' for c in t.column_names)
        vals = ", ".join([self._ph] * len(t.columns))
        sql = f'INSERT INTO "{t.name}" ({cols}) VALUES ({vals})'
        key = ", ".join(f'"{k}"' for k in t.key)
        if t.kind == "append":
            sql += f" ON CONFLICT ({key}) DO NOTHING"
        elif t.kind == "upsert":
            sets = ", ".join(f'"{c}" = excluded."{c}"' for c in t.column_names if c not in t.key)
            sql += f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
        return sql

    @contextlib.contextmanager
    def _tx(self, role: str) -> Iterator[Any]:
        """A transaction on the connection of ``role`` (held under its lock); rolled back on error."""
        if self._closed:
            raise StoreError(f"{self.location}: the store is closed")
        if self.readonly and role != "read":
            raise StoreError(f"{self.location}: the store is open read-only")
        conn = self._conns[role]
        with self._locks[role]:
            if self.backend == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn.cursor()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    yield conn.cursor()

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._closed:
            raise StoreError(f"{self.location}: the store is closed")
        sql = sql.replace("?", self._ph)
        with self._locks["read"]:
            cur = self._conns["read"].cursor()
            cur.execute(sql, tuple(params))
            rows = cur.fetchall()
            cur.close()
        return rows

    def _records(self, table: str, where: str = "", params: Sequence[Any] = (), order: str = "") -> list[Any]:
        t = self._tables[table]
        cls = RECORDS[table]
        cols = ", ".join(f'"{c}"' for c in t.column_names)
        order = order or ", ".join(f'"{k}"' for k in t.key)
        rows = self._select(f'SELECT {cols} FROM "{table}"{" WHERE " + where if where else ""} ORDER BY {order}', params)
        bools = self._bools[table]
        out = []
        for row in rows:
            if bools:
                row = tuple(bool(v) if i in bools else v for i, v in enumerate(row))
            out.append(cls(*row))
        return out

    # --- writes ----------------------------------------------------------------------------------

    def write_ahead(self, cmd: Command) -> None:
        """Store ``cmd`` (status ``pending``) durably before it is sent: committed when this
        returns. A second command with the same strategy and seq is a :class:`StoreError`.

        The one synchronous write of the hot path: a single INSERT on the journal's own
        autocommit connection (one implicit transaction, no BEGIN/COMMIT round trips)."""
        if self._closed or self.readonly:
            raise StoreError(f"{self.location}: the store is {'closed' if self._closed else 'open read-only'}")
        row = msgspec.structs.astuple(cmd)
        try:
            with self._locks["journal"]:
                if self.backend == "sqlite":  # no index there (schema.render): the key is checked here
                    last = self._journal_last.get(cmd.strategy)
                    if last is None:
                        last = self._journal_last[cmd.strategy] = self.next_command_seq(cmd.strategy) - 1
                    if cmd.seq <= last:
                        raise sqlite3.IntegrityError(f"command {cmd.strategy}/{cmd.seq} is already written ahead "
                                                     f"(the journal is at {last})")
                self._conns["journal"].execute(self._sql["commands"], row)
                if self.backend == "sqlite":
                    self._journal_last[cmd.strategy] = cmd.seq
        except (sqlite3.Error, _pg_error()) as e:
            raise StoreError(f"{self.location}: write-ahead of command {cmd.strategy}/{cmd.seq} "
                             f"({cmd.client_id}) failed: {_one_line(str(e))}") from e
        crash.point("store.write_ahead")

    def hold(self) -> None:
        """Take the store for this process until it closes: on PostgreSQL a session advisory lock
        on its schema (released when the connection ends, a killed process's too), so that two
        nodes writing one database is refused; on SQLite the node holds its state folder instead.

        :raise InvalidInputError: another process holds it."""
        if self.backend != "postgresql" or self.readonly:
            return
        with self._locks["write"]:
            row = self._conns["write"].execute(
                "SELECT pg_try_advisory_lock(726301, hashtext(current_schema()))").fetchone()
        if not row or not row[0]:
            raise InvalidInputError(f"{self.location}: in use by another running node (it holds the store's lock)")

    def resolve(self, updates: Sequence[CommandUpdate]) -> None:
        """Set the status (and note) of written-ahead commands, synchronously, in one transaction
        (restart's resolutions: a resolved status is final). An unknown command is a
        :class:`StoreError` and nothing is changed."""
        _check_statuses(updates)
        sql = 'UPDATE "commands" SET "status" = ?, "note" = ? WHERE "strategy" = ? AND "seq" = ?'.replace("?", self._ph)
        try:
            with self._tx("journal") as cur:
                for u in updates:
                    cur.execute(sql, (u.status, u.note, u.strategy, u.seq))
                    if cur.rowcount != 1:
                        raise StoreError(f"{self.location}: cannot resolve command {u.strategy}/{u.seq}: not written ahead")
        except (sqlite3.Error, _pg_error()) as e:
            raise StoreError(f"{self.location}: resolving commands failed: {_one_line(str(e))}") from e

    def commit(self, batch: Batch) -> int:
        """Write ``batch`` in one transaction: appends (a key already stored is ignored), then
        upserts (the last record of a key wins); how many records it held."""
        _check_statuses(batch.command_updates)
        try:
            if batch.commands:
                # The write-ahead logs' records first, in the journal's own transaction: a batch
                # that marks a command acked never commits before the command itself.
                with self._tx("journal") as cur:
                    cur.executemany(self._sql["commands"], [msgspec.structs.astuple(c) for c in batch.commands])
            with self._tx("write") as cur:
                for f in _APPENDS:
                    recs = getattr(batch, f)
                    if f == "restarts" and any(r.seq <= 0 for r in recs):
                        recs = self._number_restarts(cur, recs)
                    if recs:
                        cur.executemany(self._sql[_BATCH_TABLE[f]], [msgspec.structs.astuple(r) for r in recs])
                crash.point("store.batch")
                for f in _UPSERTS:
                    recs = getattr(batch, f)
                    if recs:
                        t = self._tables[_BATCH_TABLE[f]]
                        idx = [t.column_names.index(k) for k in t.key]
                        last: dict[tuple[Any, ...], tuple[Any, ...]] = {}
                        for r in recs:
                            row = msgspec.structs.astuple(r)
                            last[tuple(row[i] for i in idx)] = row
                        cur.executemany(self._sql[t.name], list(last.values()))
        except (sqlite3.Error, _pg_error()) as e:
            raise StoreError(f"{self.location}: batch commit failed: {_one_line(str(e))}") from e
        for handle, seq in batch.releases:
            handle.release(seq)
        return batch.rows()

    # --- the write-ahead logs (SQLite) ------------------------------------------------------------

    def journal_log_path(self, strategy: str) -> str:
        """SQLite: the file of ``strategy``'s write-ahead log in the state folder (the session
        appends each command there, :meth:`trader._core.LiveSession.set_log_journal`; batches
        carry the records into the journal's ``commands`` table)."""
        if self.backend != "sqlite":
            raise StoreError(f"{self.location}: write-ahead logs belong to SQLite state folders")
        return os.path.join(self.location, journal_log_name(strategy))

    def _logs(self, last: dict[str, int] | None = None) -> list[tuple[Path, str, list[Command]]]:
        """Each write-ahead log in the folder: its file, strategy, and the commands it holds
        after the last one the journal's table has (``last``: that seq by strategy, read in the
        caller's snapshot; else read here), pending, by seq."""
        if self.backend != "sqlite":
            return []
        from trader import _core

        out = []
        for path in sorted(Path(self.location).glob(_LOG_GLOB)):
            strategy, records = _core.read_journal_log(path)
            held = last.get(strategy) if last is not None else self._last_seq(strategy)
            nxt = None if held is None else held + 1  # the table holds none: from the log's first
            cmds = []
            for seq, oid, kind, request, ts in records:
                if nxt is None:
                    nxt = seq
                if seq < nxt:
                    continue  # in the table already (an earlier lap of the ring, or taken in)
                if seq != nxt:
                    raise StoreError(f"{path}: command {strategy}/{nxt} is missing from the write-ahead log, "
                                     f"which holds {strategy}/{seq}: the log is damaged")
                cmds.append(Command(strategy=strategy, seq=seq, order_id=oid, client_id=f"{strategy}-{oid}", kind=kind,
                                    request=request, ts=ts, status="pending", note=""))
                nxt += 1
            out.append((path, strategy, cmds))
        return out

    def take_in_logs(self) -> None:
        """Move what the write-ahead logs hold beyond the journal's table into it, then remove
        the logs. The node does this once it has claimed the store, before any session opens
        its log (a log a running session writes must not be taken in under it)."""
        if self.backend != "sqlite":
            return
        if self.readonly:
            raise StoreError(f"{self.location}: the store is open read-only")
        for path, strategy, cmds in self._logs():
            if cmds:
                with self._tx("journal") as cur:
                    cur.executemany(self._sql["commands"], [msgspec.structs.astuple(c) for c in cmds])
            self._journal_last.pop(strategy, None)
            path.unlink()

    def _number_restarts(self, cur: Any, recs: list[rec.Restart]) -> list[rec.Restart]:
        cur.execute('SELECT MAX("seq") FROM "restarts"')
        last = cur.fetchone()[0] or 0
        out = []
        for r in recs:
            if r.seq <= 0:
                last += 1
                r = msgspec.structs.replace(r, seq=last)
            last = max(last, r.seq)
            out.append(r)
        return out

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``meta`` entry of the node's own (e.g. ``node``: the configuration a resumed node
        must share); ``app``, ``schema_version`` and ``created`` belong to the store."""
        if key in ("app", "schema_version", "created"):
            raise InvalidInputError(f"{self.location}: meta {key!r} belongs to the store")
        sql = f'INSERT INTO "meta" ("key", "value") VALUES ({self._ph}, {self._ph}) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"'
        try:
            with self._tx("write") as cur:
                cur.execute(sql, (key, str(value)))
        except (sqlite3.Error, _pg_error()) as e:
            raise StoreError(f"{self.location}: writing meta {key!r} failed: {_one_line(str(e))}") from e

    # --- readers ---------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The ``meta`` table: app, schema_version, created, created_by (JSON: host, pid,
        versions), and the node's own entries (:meth:`set_meta`)."""
        return {str(k): str(v) for k, v in self._select('SELECT "key", "value" FROM "meta"')}

    def commands(self, strategy: str | None = None, status: str | None = None) -> list[Command]:
        """Written-ahead commands by strategy and seq, with their current status and note."""
        cols = ", ".join(f'c."{c}"' for c in ("strategy", "seq", "order_id", "client_id", "kind", "request", "ts"))
        eff_status = "CASE WHEN c.\"status\" <> 'pending' THEN c.\"status\" ELSE COALESCE(u.\"status\", c.\"status\") END"
        eff_note = "CASE WHEN c.\"status\" <> 'pending' THEN c.\"note\" ELSE COALESCE(u.\"note\", c.\"note\") END"
        sql = (f'SELECT * FROM (SELECT {cols}, {eff_status} AS "status", {eff_note} AS "note" FROM "commands" c '
               'LEFT JOIN "command_updates" u ON u."strategy" = c."strategy" AND u."seq" = c."seq") x')
        where, params = [], []
        if strategy is not None:
            where.append('x."strategy" = ?')
            params.append(strategy)
        if status is not None:
            where.append('x."status" = ?')
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += ' ORDER BY x."strategy", x."seq"'
        if self.backend != "sqlite":
            return [Command(*row) for row in self._select(sql, params)]
        # A running (or killed) node's commands not batched yet are in its write-ahead logs: the
        # table's rows and its last seqs are read in one snapshot, so that a batch committing
        # meanwhile neither hides nor doubles a command.
        if self._closed:
            raise StoreError(f"{self.location}: the store is closed")
        with self._locks["read"]:
            conn = self._conns["read"]
            conn.execute("BEGIN")
            try:
                out = [Command(*row) for row in conn.execute(sql, tuple(params)).fetchall()]
                last = {str(k): int(v) for k, v in conn.execute('SELECT "strategy", MAX("seq") FROM "commands" GROUP BY "strategy"')}
            finally:
                conn.execute("COMMIT")
        if status in (None, "pending"):
            logged = [c for _, s, cmds in self._logs(last) if strategy in (None, s) for c in cmds]
            if logged:
                out = sorted(out + logged, key=lambda c: (c.strategy, c.seq))
        return out

    def _last_seq(self, strategy: str) -> int | None:
        (row,) = self._select('SELECT MAX("seq") FROM "commands" WHERE "strategy" = ?', (strategy,))
        return None if row[0] is None else int(row[0])

    def next_command_seq(self, strategy: str) -> int:
        """The seq of ``strategy``'s next command: one after the last in the journal's table (1 at
        first); the logs not taken in (:meth:`take_in_logs`) are not counted."""
        last = self._last_seq(strategy)
        return 1 if last is None else last + 1

    def order_events(self, strategy: str) -> list[rec.OrderEvent]:
        """``strategy``'s order events in sequence."""
        return self._records("order_events", '"strategy" = ?', (strategy,))

    def fills(self, strategy: str | None = None) -> list[rec.Fill]:
        """Fills by strategy, time, order and trade id."""
        order = '"strategy", "ts", "order_id", "trade_id"'
        if strategy is None:
            return self._records("fills", order=order)
        return self._records("fills", '"strategy" = ?', (strategy,), order=order)

    def orders(self, strategy: str | None = None, open_only: bool = False) -> list[rec.Order]:
        """Orders' latest states; ``open_only`` skips those in a terminal status."""
        where, params = [], []
        if strategy is not None:
            where.append('"strategy" = ?')
            params.append(strategy)
        if open_only:
            where.append(f'UPPER("status") NOT IN ({", ".join("?" * len(TERMINAL_STATUSES))})')
            params.extend(TERMINAL_STATUSES)
        return self._records("orders", " AND ".join(where), params)

    def positions(self) -> list[rec.Position]:
        """Every position, by strategy and instrument."""
        return self._records("positions")

    def balances(self) -> list[rec.Balance]:
        """Every balance, by strategy and asset."""
        return self._records("balances")

    def state_changes(self, strategy: str) -> list[rec.StateChange]:
        """``strategy``'s trading-state changes in sequence."""
        return self._records("state_changes", '"strategy" = ?', (strategy,))

    def risk_states(self) -> list[rec.RiskState]:
        """Each strategy's risk state."""
        return self._records("risk_state")

    def audit(self, strategy: str) -> list[rec.AuditEntry]:
        """``strategy``'s audit chain in sequence."""
        return self._records("audit", '"strategy" = ?', (strategy,))

    def strategy_states(self) -> dict[str, rec.StrategyState]:
        """Each strategy's own state, by strategy."""
        return {r.strategy: r for r in self._records("strategy_state")}

    def feed_positions(self) -> dict[str, rec.FeedPosition]:
        """The feed position of each stream, by stream."""
        return {r.stream: r for r in self._records("feed_positions")}

    def checkpoint_strategies(self) -> list[str]:
        """The strategies that have a checkpoint, sorted."""
        return [str(r[0]) for r in self._select('SELECT "strategy" FROM "checkpoints" ORDER BY "strategy"')]

    def checkpoint(self, strategy: str) -> rec.Checkpoint | None:
        """``strategy``'s latest engine checkpoint, or None."""
        found = self._records("checkpoints", '"strategy" = ?', (strategy,))
        return found[0] if found else None

    def restarts(self) -> list[rec.Restart]:
        """The node's starts on this store, in order."""
        return self._records("restarts")

    def tables(self) -> list[str]:
        """The store's tables (``meta`` aside), in creation order."""
        return list(self._tables)

    def table(self, name: str) -> Any:
        """Table ``name`` as a ``pyarrow.Table`` (rows by key; decimals as exact strings)."""
        import pyarrow as pa  # type: ignore[import-untyped]

        t = self._tables.get(name)
        if t is None:
            raise InvalidInputError(f"{self.location}: no table {name!r}; the tables are {', '.join(self._tables)}")
        types = {"text": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "blob": pa.binary(),
                 "decimal": pa.string(), "json": pa.string()}
        cols = ", ".join(f'"{c}"' for c in t.column_names)
        rows = self._select(f'SELECT {cols} FROM "{name}" ORDER BY {", ".join(chr(34) + k + chr(34) for k in t.key)}')
        arrays = []
        for i, c in enumerate(t.columns):
            values = [r[i] for r in rows]
            if c.type == "bool":
                values = [None if v is None else bool(v) for v in values]
            arrays.append(pa.array(values, type=types[c.type]))
        schema = pa.schema([pa.field(c.name, types[c.type], nullable=c.nullable) for c in t.columns])
        return pa.Table.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        """Close the connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for role, conn in self._conns.items():
            with self._locks[role]:
                conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.backend}, {self.location!r}{', readonly' if self.readonly else ''})"


def _check_statuses(updates: Sequence[CommandUpdate]) -> None:
    for u in updates:
        if u.status not in rec.COMMAND_STATUSES:
            raise InvalidInputError(f"command {u.strategy}/{u.seq}: status {u.status!r}: expected one of "
                                    f"{', '.join(rec.COMMAND_STATUSES)}")


def _pg_error() -> type[BaseException]:
    try:
        import psycopg
    except ImportError:  # SQLite-only installs: no psycopg error can occur
        return sqlite3.Error
    return psycopg.Error


# --- migrations ----------------------------------------------------------------------------------


def _migrate(cur: Any, dialect: Dialect, version: int, homes_here: Sequence[Home],
             migrations: Sequence[Migration], read_meta: Any) -> None:
    """Bring one database from ``version`` to the last migration, inside the caller's transaction:
    the meta table first (when new), then each later migration's operations for the tables whose
    home is in ``homes_here``."""
    ph = "?" if dialect == "sqlite" else "%s"
    if version == 0 and read_meta() is None:
        cur.execute(meta_ddl())
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        for k, v in (("app", APP), ("schema_version", "0"), ("created", now), ("created_by", _node_info())):
            cur.execute(f'INSERT INTO "meta" ("key", "value") VALUES ({ph}, {ph})', (k, v))
    for m in migrations:
        if m.version <= version:
            continue
        for home, ddl in statements(tuple(migrations), m.version, dialect):
            if home in homes_here:
                cur.execute(ddl)
    cur.execute(f'UPDATE "meta" SET "value" = {ph} WHERE "key" = {ph}', (str(migrations[-1].version), "schema_version"))


def _sqlite_connect(path: Path, sync: str, readonly: bool) -> sqlite3.Connection:
    if readonly:
        uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _sqlite_meta(conn: sqlite3.Connection, schema: str = "main") -> dict[str, str] | None:
    names = {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}
    if "meta" not in names:
        return None
    return {str(k): str(v) for k, v in conn.execute(f'SELECT "key", "value" FROM {schema}."meta"')}


def _open_sqlite(folder: Path, readonly: bool, sync: str, migrations: Sequence[Migration]) -> Store:
    label = str(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{label}: is a file, not a state folder")
    main_path, journal_path = folder / STORE_FILE, folder / JOURNAL_FILE
    known = migrations[-1].version
    v_main = _inspect_sqlite(main_path, str(main_path), known)
    v_journal = _inspect_sqlite(journal_path, str(journal_path), known)
    if readonly:
        if v_main is None or v_main == 0:
            raise InvalidInputError(f"{label}: no trader store here ({STORE_FILE} missing or empty)")
        if v_journal is None:
            raise InvalidInputError(f"{label}: {JOURNAL_FILE} is missing")
    elif v_main and v_journal is None:
        raise InvalidInputError(f"{label}: {JOURNAL_FILE} is missing: the store's write-ahead of commands is lost")
    if readonly and (v_main, v_journal) != (known, known):
        raise InvalidInputError(f"{label}: schema {min(v_main or 0, v_journal or 0)} is older than this trader's "
                                f"{known}: open it once read-write to migrate it")
    if not readonly:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInputError(f"{label}: cannot create the state folder: {e.strerror}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InvalidInputError(f"{label}: the state folder is not writable")
    conns: dict[str, sqlite3.Connection] = {}
    try:
        if not readonly:
            # Both files migrate together: each in its own transaction, committed only once both
            # succeeded (an error rolls both back). Each file records its own version, so a crash
            # between the two COMMITs leaves a store the next open finishes migrating. The journal
            # is created first: a main file with a schema always has its journal beside it.
            roles: tuple[tuple[str, Path, Home], ...] = (("journal", journal_path, "journal"), ("write", main_path, "main"))
            for role, path, _ in roles:
                conns[role] = _sqlite_connect(path, sync, readonly)
            began = []
            try:
                for role, path, home in roles:
                    conn = conns[role]
                    conn.execute("BEGIN IMMEDIATE")
                    began.append(conn)
                    meta = _sqlite_meta(conn)
                    version = _check_meta(str(path), {"meta"} if meta is not None else set(), meta, known)
                    if version < known:
                        _migrate(conn.cursor(), "sqlite", version, (home,), migrations, lambda c=conn: _sqlite_meta(c))
            except BaseException:
                for conn in began:
                    conn.execute("ROLLBACK")
                raise
            for conn in began:
                conn.execute("COMMIT")
        read = _sqlite_connect(main_path, sync, readonly)
        conns["read"] = read
        # A read-only connection was opened by URI, so ATTACH reads a URI too.
        journal_ref = ("file:" + urllib.parse.quote(str(journal_path.resolve())) + "?mode=ro") if readonly else str(journal_path)
        read.execute("ATTACH DATABASE ? AS journal", (journal_ref,))
    except sqlite3.Error as e:
        for c in conns.values():
            c.close()
        raise StoreError(f"{label}: cannot open the store: {_one_line(str(e))}") from e
    except BaseException:
        for c in conns.values():
            c.close()
        raise
    return Store("sqlite", label, readonly, dict(conns), migrations)


def _open_postgresql(url: str, readonly: bool, migrations: Sequence[Migration]) -> Store:
    location = mask_url(url)
    secrets = _secrets(url)

    def clean(text: str) -> str:
        text = _one_line(text)
        for s in secrets:
            text = text.replace(s, "***")
        return text

    try:
        import psycopg
    except ImportError:
        raise InvalidInputError(f"{location}: PostgreSQL needs psycopg 3 (pip install 'psycopg[binary]')") from None

    def connect() -> Any:
        try:
            conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
        except psycopg.Error as e:
            raise InvalidInputError(f"{location}: cannot connect to PostgreSQL: {clean(str(e))}") from None
        except Exception as e:  # noqa: BLE001 - a malformed URL is the libpq parser's ValueError/ProgrammingError
            raise InvalidInputError(f"{location}: not a usable PostgreSQL URL: {clean(str(e))}") from None
        if readonly:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    def read_meta(cur: Any) -> tuple[set[str], dict[str, str] | None]:
        cur.execute("SELECT current_schema()")
        (schema,) = cur.fetchone()
        if schema is None:
            raise InvalidInputError(f"{location}: no schema of the search_path exists in the database")
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        names = {r[0] for r in cur.fetchall()}
        if "meta" not in names:
            return names, None
        try:
            cur.execute('SELECT "key", "value" FROM "meta"')
        except psycopg.Error:
            raise InvalidInputError(f"{location}: a foreign database: its meta table is not trader's") from None
        return names, {str(k): str(v) for k, v in cur.fetchall()}

    conns: dict[str, Any] = {}
    try:
        check = connect()
        conns["write"] = check
        names, meta = read_meta(check.cursor())
        known = migrations[-1].version
        version = _check_meta(location, names, meta, known)
        if readonly and version != known:
            what = "no trader store here" if version == 0 else f"schema {version} is older than this trader's {known}"
            raise InvalidInputError(f"{location}: {what}")
        if not readonly and version < known:
            try:
                with check.transaction():
                    cur = check.cursor()
                    # One migrator at a time; re-read under the lock (another node may have migrated).
                    cur.execute("SELECT pg_advisory_xact_lock(7263011201)")
                    names, meta = read_meta(cur)
                    version = _check_meta(location, names, meta, known)
                    if version < known:
                        _migrate(cur, "postgresql", version, ("main", "journal"), migrations, lambda: read_meta(cur)[1])
            except psycopg.Error as e:
                raise StoreError(f"{location}: migration failed: {clean(str(e))}") from e
        conns["read"] = connect()
        if not readonly:
            conns["journal"] = connect()
        else:
            conns.pop("write").close()
    except BaseException:
        for c in conns.values():
            c.close()
        raise
    return Store("postgresql", location, readonly, conns, migrations)


def open_store(target: str | os.PathLike[str], *, readonly: bool = False, sync: str = "normal",
               _migrations: Sequence[Migration] = MIGRATIONS) -> Store:
    """Open (creating or migrating when needed) the store at ``target``: a state folder (SQLite,
    ``<folder>/store.sqlite3`` + ``journal.sqlite3``; created if missing) or a
    ``postgresql://`` URL. ``sync``: ``"normal"`` or ``"full"`` (SQLite's durability, see the
    module docstring). ``readonly``: only readers work; the store must exist at this schema.

    A bad target is an :class:`InvalidInputError` of one line naming it, raised before anything
    is written.
    """
    if sync not in ("normal", "full"):
        raise InvalidInputError(f"sync: {sync!r}: expected 'normal' or 'full'")
    text = os.fspath(target)
    if not text:
        raise InvalidInputError("store: an empty target: give a state folder or a postgresql:// URL")
    if text.startswith(_PG_SCHEMES):
        store = _open_postgresql(text, readonly, _migrations)
    elif "://" in text:
        raise InvalidInputError(f"store: {mask_url(text)}: unsupported URL; a state folder or a postgresql:// URL")
    else:
        store = _open_sqlite(Path(text), readonly, sync, _migrations)
    return store
