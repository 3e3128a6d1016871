"""The store on both back ends: round-trips, idempotent appends, upserts, the write-ahead,
migrations, refused targets (nothing changed), read-only opening and ``table()``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trader.exceptions import InvalidInputError, StoreError
from trader.live.store import (
    JOURNAL_FILE,
    SCHEMA_VERSION,
    STORE_FILE,
    Batch,
    CommandUpdate,
    Position,
    Store,
    open_store,
)
from trader.live.store.schema import MIGRATIONS, AddColumn, Column, CreateTable, Migration, Table

from ._samples import command, fill, full_batch, order
from .._postgres import PG_PASSWORD, PgServer


@pytest.fixture
def store(target: str) -> Iterator[Store]:
    s = open_store(target)
    yield s
    s.close()


def test_round_trip_of_every_record(store: Store) -> None:
    cmds = [command(1), command(2)]
    for c in cmds:
        store.write_ahead(c)
    b = full_batch()
    assert store.commit(b) == b.rows()
    got = store.commands("s1")
    assert got[0] == cmds[0].__class__(**{**{f: getattr(cmds[0], f) for f in cmds[0].__struct_fields__},
                                          "status": "acked", "note": "venue id 555"})
    assert got[1] == cmds[1]
    assert store.order_events("s1") == b.order_events
    assert store.fills() == b.fills == store.fills("s1")
    assert store.fills("other") == []
    assert store.orders() == b.orders
    assert store.orders()[0].price is None and store.orders()[0].external is True
    assert store.positions() == b.positions
    assert store.balances() == b.balances
    assert store.state_changes("s1") == b.state_changes
    assert store.risk_states() == b.risk_states
    assert store.audit("s1") == b.audit
    assert store.strategy_states() == {"s1": b.strategy_states[0]}
    assert store.feed_positions() == {b.feed_positions[0].stream: b.feed_positions[0]}
    assert store.checkpoint("s1") == b.checkpoints[0]
    assert store.checkpoint("nobody") is None
    assert store.checkpoint_strategies() == ["s1"]
    assert store.restarts() == b.restarts
    assert store.orders()[0].side == -1 and store.fills()[0].side == 1
    # Exact decimal strings, never floats.
    assert store.balances()[0].total == "9999.98919960"
    meta = store.meta()
    assert meta["app"] == "trader" and meta["schema_version"] == str(SCHEMA_VERSION) and meta["created"]
    assert "host" in meta["created_by"] and "node" not in meta


def test_meta_entries_of_the_node(target: str) -> None:
    with open_store(target) as s:
        s.set_meta("node", '{"feed": "replay"}')
        s.set_meta("node", '{"feed": "binance"}')
        with pytest.raises(InvalidInputError, match="meta 'schema_version' belongs to the store"):
            s.set_meta("schema_version", "7")
    with open_store(target, readonly=True) as s:
        assert s.meta()["node"] == '{"feed": "binance"}' and s.meta()["schema_version"] == str(SCHEMA_VERSION)


def test_restarts_are_numbered_by_the_store(store: Store) -> None:
    from trader.live.store import Restart

    store.commit(Batch(restarts=[Restart(0, 1, "fresh", "{}")]))
    store.commit(Batch(restarts=[Restart(0, 2, "restart", "{}"), Restart(0, 3, "restart", "{}")]))
    store.commit(Batch(restarts=[Restart(2, 9, "replayed", "{}")]))  # an explicit seq stays idempotent
    assert [(r.seq, r.wall_ts, r.kind) for r in store.restarts()] == [(1, 1, "fresh"), (2, 2, "restart"), (3, 3, "restart")]


def test_appends_are_idempotent(store: Store) -> None:
    b = full_batch()
    store.commit(b)
    store.commit(b)  # a replayed batch
    store.commit(Batch(fills=[fill("T-1"), fill("T-1"), fill("T-2")]))  # a replayed fill
    assert [f.trade_id for f in store.fills()] == ["T-1", "T-2"]
    assert len(store.order_events("s1")) == 2 and len(store.audit("s1")) == 1
    assert len(store.state_changes("s1")) == 1 and len(store.restarts()) == 1
    # The first copy stays: an append never rewrites a stored row.
    changed = fill("T-1").__class__(**{**{f: getattr(fill("T-1"), f) for f in fill("T-1").__struct_fields__}, "qty": "9"})
    store.commit(Batch(fills=[changed]))
    assert store.fills()[0].qty == "0.001"


def test_upserts_keep_the_last_write(store: Store) -> None:
    store.commit(Batch(orders=[order(status="ACCEPTED")], positions=[Position("s1", "BTCUSDT", "0.001", "1", "0", 1)]))
    store.commit(Batch(orders=[order(status="PARTIALLY_FILLED", filled="0.0005"), order(status="FILLED", filled="0.001"),
                               order(order_id=102)],
                       positions=[Position("s1", "BTCUSDT", "0", "0", "0.5", 2)]))
    orders = store.orders()
    assert [(o.order_id, o.status, o.filled) for o in orders] == [(101, "FILLED", "0.001"), (102, "ACCEPTED", "0")]
    assert [o.order_id for o in store.orders(open_only=True)] == [102]
    assert store.orders(strategy="s2") == []
    assert store.positions() == [Position("s1", "BTCUSDT", "0", "0", "0.5", 2)]
    # Checkpoints: the latest wins.
    b1, b2 = full_batch(), full_batch()
    b2.checkpoints[0] = b2.checkpoints[0].__class__("s1", b"second", 9, 9, 9, 99)
    store.commit(b1)
    store.commit(b2)
    cp = store.checkpoint("s1")
    assert cp is not None and cp.blob == b"second" and cp.events == 9


def test_command_status_updates_and_resolutions(store: Store) -> None:
    for i in (1, 2, 3):
        store.write_ahead(command(i))
    assert store.next_command_seq("s1") == 4 and store.next_command_seq("s2") == 1
    store.commit(Batch(command_updates=[CommandUpdate("s1", 1, "acked"), CommandUpdate("s1", 2, "acked"),
                                        CommandUpdate("s1", 2, "void", "never left: stopped")]))
    assert [(c.seq, c.status) for c in store.commands()] == [(1, "acked"), (2, "void"), (3, "pending")]
    assert [c.seq for c in store.commands(status="pending")] == [3]
    store.resolve([CommandUpdate("s1", 3, "resolved", "venue: unknown client id -> never arrived")])
    got = store.commands("s1", "resolved")
    assert [(c.seq, c.note) for c in got] == [(3, "venue: unknown client id -> never arrived")]
    # A resolution is final: a later batch update does not hide it.
    store.commit(Batch(command_updates=[CommandUpdate("s1", 3, "acked")]))
    assert store.commands(status="resolved")[0].seq == 3
    # Resolving a command never written ahead changes nothing.
    with pytest.raises(StoreError, match="s1/9: not written ahead"):
        store.resolve([CommandUpdate("s1", 1, "resolved"), CommandUpdate("s1", 9, "resolved")])
    assert [c.status for c in store.commands()] == ["acked", "void", "resolved"]
    with pytest.raises(InvalidInputError, match="s1/1: status 'done'"):
        store.resolve([CommandUpdate("s1", 1, "done")])
    with pytest.raises(InvalidInputError, match="s1/2: status 'ACKED'"):
        store.commit(Batch(command_updates=[CommandUpdate("s1", 2, "ACKED")]))


def test_a_command_written_ahead_twice_is_refused(store: Store) -> None:
    store.write_ahead(command(1))
    with pytest.raises(StoreError, match="write-ahead of command s1/1"):
        store.write_ahead(command(1))
    assert len(store.commands()) == 1


def test_write_ahead_is_visible_to_another_store_at_once(target: str) -> None:
    a = open_store(target)
    b = open_store(target)  # opened before the write: its reader must see it anyway
    try:
        a.write_ahead(command(1))
        assert [c.seq for c in b.commands()] == [1]
        c = open_store(target, readonly=True)
        try:
            assert [c_.client_id for c_ in c.commands()] == ["s1-c1"]
        finally:
            c.close()
    finally:
        a.close()
        b.close()


def test_a_failed_batch_writes_nothing(store: Store) -> None:
    bad = full_batch()
    bad.positions.append(Position("s1", "ETHUSDT", None, "1", "0", 1))  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(StoreError, match="batch commit failed"):
        store.commit(bad)
    assert store.fills() == [] and store.orders() == [] and store.checkpoint("s1") is None
    store.commit(full_batch())  # the store still works
    assert len(store.fills()) == 1


def test_read_only_store(target: str) -> None:
    with open_store(target) as s:
        s.commit(full_batch())
    with open_store(target, readonly=True) as ro:
        assert ro.readonly and len(ro.fills()) == 1
        with pytest.raises(StoreError, match="read-only"):
            ro.write_ahead(command(1))
        with pytest.raises(StoreError, match="read-only"):
            ro.commit(full_batch())
    with pytest.raises(StoreError, match="closed"):
        ro.fills()


def test_read_only_needs_a_store(target: str) -> None:
    with pytest.raises(InvalidInputError, match="no trader store here"):
        open_store(target, readonly=True)


def test_table_for_every_table(store: Store) -> None:
    store.write_ahead(command(1))
    store.commit(full_batch())
    names = store.tables()
    assert set(names) >= {"commands", "order_events", "fills", "orders", "positions", "balances", "state_changes",
                          "risk_state", "audit", "strategy_state", "feed_positions", "checkpoints", "restarts"}
    for name in names:
        t = store.table(name)
        assert t.num_rows >= 1, name
    fills = store.table("fills").to_pylist()
    assert fills[0]["price"] == "27000.10" and fills[0]["trade_id"] == "T-1"
    assert store.table("orders").column("external").to_pylist() == [True]
    assert store.table("orders").column("price").to_pylist() == [None]
    assert store.table("checkpoints").column("blob").to_pylist() == [bytes(range(256)) * 40]
    assert store.table("commands").column("status").to_pylist() == ["pending"]
    with pytest.raises(InvalidInputError, match="no table 'nope'"):
        store.table("nope")


def test_migrations_from_an_empty_database(target: str, backend: str) -> None:
    if backend == "sqlite":
        Path(target).mkdir()
        (Path(target) / STORE_FILE).write_bytes(b"")  # an empty file is an empty database
    with open_store(target) as s:
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION)
        for name in s.tables():
            assert s.table(name).num_rows == 0
    if backend == "sqlite":
        assert {p.name for p in Path(target).iterdir()} >= {STORE_FILE, JOURNAL_FILE}
    with open_store(target) as s:  # opening again migrates nothing
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION)


_V2 = Migration(SCHEMA_VERSION + 1, "test: a table and a column", (
    CreateTable(Table("extra", (Column("k", "text"), Column("v", "decimal", nullable=True)), ("k",), "upsert")),
    AddColumn("fills", Column("venue", "text"), default="'paper'"),
))


def test_a_migration_upgrades_in_place(target: str) -> None:
    with open_store(target) as s:
        s.commit(full_batch())
    with open_store(target, _migrations=(*MIGRATIONS, _V2)) as s:
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION + 1)
        assert "extra" in s.tables()
        t = s.table("fills")
        assert t.column("venue").to_pylist() == ["paper"] and t.column("trade_id").to_pylist() == ["T-1"]
        assert s.table("extra").num_rows == 0
    # This code knows only the first schema: the upgraded store is refused, untouched.
    with pytest.raises(InvalidInputError, match=f"made by a newer trader: schema {SCHEMA_VERSION + 1}, "
                                                f"this one knows up to {SCHEMA_VERSION}"):
        open_store(target)


def test_fills_are_keyed_by_order_and_trade_id_after_migrating_a_first_schema_store(target: str) -> None:
    """Schema 2 keys fills by (strategy, order id, trade id): a store of schema 1 keeps its rows
    and its index, and then holds both sides of a self-trade (one trade id, two orders)."""
    with open_store(target, _migrations=MIGRATIONS[:1]) as s:
        s.commit(Batch(fills=[fill("T-1", order_id=101), fill("T-2", order_id=101)]))
        s.commit(Batch(fills=[fill("T-1", order_id=102)]))  # schema 1: taken for a repeat
        assert [(f.order_id, f.trade_id) for f in s.fills()] == [(101, "T-1"), (101, "T-2")]
    with open_store(target) as s:
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION) == "2"
        assert [(f.order_id, f.trade_id) for f in s.fills()] == [(101, "T-1"), (101, "T-2")]
        s.commit(Batch(fills=[fill("T-1", order_id=102), fill("T-1", order_id=101)]))  # the other side; a repeat
        assert sorted((f.order_id, f.trade_id) for f in s.fills()) == [(101, "T-1"), (101, "T-2"), (102, "T-1")]
    with open_store(target) as s:  # opening again migrates nothing
        assert len(s.fills()) == 3
    if not target.startswith("postgresql"):  # the rebuilt SQLite table has its index again
        conn = sqlite3.connect(Path(target) / STORE_FILE)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'fills'")}
        conn.close()
        assert "fills_ts" in names


def test_a_failed_migration_changes_nothing(target: str, snapshot: Callable[[str], object]) -> None:
    with open_store(target) as s:
        s.commit(full_batch())
    before = snapshot(target)
    broken = Migration(SCHEMA_VERSION + 1, "test: fails halfway", (
        CreateTable(Table("extra", (Column("k", "text"),), ("k",), "upsert")),
        AddColumn("fills", Column("venue", "text")),  # NOT NULL without a default: refused
    ))
    with pytest.raises(StoreError, match="fills|venue|NOT NULL|null"):
        open_store(target, _migrations=(*MIGRATIONS, broken))
    with open_store(target) as s:
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION)
        assert "extra" not in s.tables() and len(s.fills()) == 1
    if not isinstance(before, dict) or STORE_FILE not in before:  # PostgreSQL: every row the same
        assert snapshot(target) == before


# --- refused targets -----------------------------------------------------------------------------


def _make_store(target: str) -> None:
    with open_store(target) as s:
        s.write_ahead(command(1))
        s.commit(full_batch())


def _set_meta(target: str, backend: str, key: str, value: str) -> None:
    if backend == "sqlite":
        db = sqlite3.connect(Path(target) / STORE_FILE)
        db.execute('UPDATE "meta" SET "value" = ? WHERE "key" = ?', (value, key))
        db.commit()
        db.close()
    else:
        import psycopg

        with psycopg.connect(target) as conn:
            conn.execute('UPDATE "meta" SET "value" = %s WHERE "key" = %s', (value, key))


def _foreign_tables(target: str, backend: str) -> None:
    if backend == "sqlite":
        Path(target).mkdir()
        db = sqlite3.connect(Path(target) / STORE_FILE)
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users VALUES (1, 'ann')")
        db.commit()
        db.close()
    else:
        import psycopg

        with psycopg.connect(target) as conn:
            conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
            conn.execute("INSERT INTO users VALUES (1, 'ann')")


def _newer(target: str, backend: str) -> None:
    _make_store(target)
    _set_meta(target, backend, "schema_version", "99")


def _other_app(target: str, backend: str) -> None:
    _make_store(target)
    _set_meta(target, backend, "app", "freqtrade")


BAD_BOTH = {
    "foreign tables": (_foreign_tables, "a foreign database: it has tables but no trader meta table"),
    "another app": (_other_app, "a foreign database: its meta says app 'freqtrade', not 'trader'"),
    "newer schema": (_newer, f"made by a newer trader: schema 99, this one knows up to {SCHEMA_VERSION}"),
}


@pytest.mark.parametrize("case", sorted(BAD_BOTH))
@pytest.mark.parametrize("readonly", [False, True])
def test_bad_targets_are_refused_untouched(case: str, readonly: bool, target: str, backend: str,
                                           snapshot: Callable[[str], object]) -> None:
    setup, message = BAD_BOTH[case]
    setup(target, backend)
    before = snapshot(target)
    with pytest.raises(InvalidInputError) as e:
        open_store(target, readonly=readonly)
    text = str(e.value)
    assert message in text and "\n" not in text
    assert text.startswith(target if backend == "sqlite" else target.replace(PG_PASSWORD, "***"))
    assert PG_PASSWORD not in text
    assert snapshot(target) == before


def _sqlite_cases(state: Path) -> dict[str, tuple[Path, str]]:
    return {
        "folder is a file": (state, "is a file, not a state folder"),
        "not sqlite": (state / STORE_FILE, "not a SQLite database or corrupted"),
        "journal not sqlite": (state / JOURNAL_FILE, "not a SQLite database or corrupted"),
        "corrupted": (state / STORE_FILE, "corrupted"),
        "journal missing": (state, f"{JOURNAL_FILE} is missing"),
        "store file is a folder": (state / STORE_FILE, "is not a file"),
    }


@pytest.mark.parametrize("case", sorted(_sqlite_cases(Path("x"))))
def test_bad_state_folders_are_refused_untouched(case: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    named, message = _sqlite_cases(state)[case]
    if case == "folder is a file":
        state.write_text("not a folder")
    elif case == "store file is a folder":
        (state / STORE_FILE).mkdir(parents=True)
    else:
        _make_store(str(state))
        if case in ("not sqlite", "journal not sqlite"):
            named.write_bytes(b"this is no database, just bytes. " * 300)
        elif case == "corrupted":
            data = bytearray(named.read_bytes())
            page = 4096
            assert len(data) >= 4 * page
            data[2 * page: 3 * page] = b"\xa5" * page  # one table's root page
            named.write_bytes(bytes(data))
        elif case == "journal missing":
            (state / JOURNAL_FILE).unlink()

    def files() -> object:
        if state.is_file():
            return state.read_bytes()
        return {str(p.relative_to(state)): (p.read_bytes() if p.is_file() else None) for p in sorted(state.rglob("*"))}

    before = files()
    for readonly in (False, True):
        with pytest.raises(InvalidInputError) as e:
            open_store(state, readonly=readonly)
        text = str(e.value)
        assert "\n" not in text and text.startswith(str(named)), text
        if not (readonly and case == "journal missing"):
            assert message in text, text
    assert files() == before


def test_unreachable_postgresql_never_shows_the_password(pg_server: PgServer) -> None:
    closed = f"postgresql://trader:{PG_PASSWORD}@127.0.0.1:1/db?sslmode=disable"
    with pytest.raises(InvalidInputError) as e:
        open_store(closed)
    text = str(e.value)
    assert text.startswith("postgresql://trader:***@127.0.0.1:1/db") and "cannot connect to PostgreSQL" in text
    assert PG_PASSWORD not in text and "\n" not in text
    with pytest.raises(InvalidInputError) as e:
        open_store(f"postgresql://127.0.0.1:1/db?password={PG_PASSWORD}&connect_timeout=1")
    assert PG_PASSWORD not in str(e.value) and "password=***" in str(e.value)


@pytest.mark.parametrize("how", ["wrong password", "no such database"])
def test_refusing_postgresql(how: str, pg_server: PgServer, pg_url: str, snapshot: Callable[[str], object]) -> None:
    _make_store(pg_url)
    before = snapshot(pg_url)
    url = pg_url.replace(PG_PASSWORD, "wrong-" + PG_PASSWORD) if how == "wrong password" else pg_server.url("nope")
    with pytest.raises(InvalidInputError) as e:
        open_store(url)
    text = str(e.value)
    assert "cannot connect to PostgreSQL" in text and "\n" not in text
    assert PG_PASSWORD not in text and ":***@" in text
    assert ("password authentication failed" if how == "wrong password" else '"nope" does not exist') in text
    assert snapshot(pg_url) == before


def test_the_password_is_masked_in_location(pg_url: str) -> None:
    with open_store(pg_url) as s:
        assert PG_PASSWORD not in s.location and PG_PASSWORD not in repr(s)
        assert s.location == pg_url.replace(PG_PASSWORD, "***") and s.backend == "postgresql"


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="sync: 'fast'"):
        open_store(tmp_path, sync="fast")
    with pytest.raises(InvalidInputError, match="unsupported URL"):
        open_store("mysql://u:pw@host/db")
    assert not (tmp_path / STORE_FILE).exists()


def test_sync_full_is_fsync_per_commit(tmp_path: Path) -> None:
    with open_store(tmp_path / "a", sync="full") as s:
        conn = s._conns["journal"]
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with open_store(tmp_path / "b") as s:
        assert s._conns["write"].execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL


def test_write_ahead_never_waits_behind_a_batch(tmp_path: Path) -> None:
    import time

    with open_store(tmp_path) as s:
        other = sqlite3.connect(tmp_path / STORE_FILE, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # a batch commit holding the main file's write lock
        try:
            t0 = time.perf_counter()
            s.write_ahead(command(1))
            assert time.perf_counter() - t0 < 1.0  # the journal is another file: no busy wait
            assert [c.seq for c in s.commands()] == [1]
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_postgresql_uses_the_search_path(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA trading")
    url = pg_url + "?options=-csearch_path%3Dtrading"
    with open_store(url) as s:
        s.write_ahead(command(1))
        s.commit(full_batch())
    with psycopg.connect(pg_url) as conn:
        where = {r[0] for r in conn.execute("SELECT DISTINCT table_schema FROM information_schema.tables "
                                            "WHERE table_name IN ('fills', 'commands', 'meta')")}
    assert where == {"trading"}
    with open_store(url, readonly=True) as s:
        assert len(s.fills()) == 1 and len(s.commands()) == 1
    with pytest.raises(InvalidInputError, match="no schema of the search_path exists"):
        open_store(pg_url + "?options=-csearch_path%3Dnowhere")
