"""One schema definition: every record matches its table, and it renders to both dialects."""

from __future__ import annotations

import sqlite3

import pytest

from trader.live.store import Batch
from trader.live.store.records import RECORDS
from trader.live.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AddColumn,
    Column,
    CreateIndex,
    CreateTable,
    Index,
    Migration,
    Home,
    Table,
    indexes,
    render,
    statements,
    tables,
)
from trader.live.store.store import _APPENDS, _BATCH_TABLE, _UPSERTS


def test_every_record_has_its_table_column_for_column() -> None:
    ts = tables()
    assert set(RECORDS) == set(ts)
    for name, cls in RECORDS.items():
        assert cls.__struct_fields__ == ts[name].column_names, name
        assert set(ts[name].key) <= set(ts[name].column_names)


def test_every_batch_list_has_a_table_of_the_right_kind() -> None:
    # commands: the write-ahead logs' records, into the journal's table (its own transaction);
    # releases: not records (the logs' handles, released once the batch is committed).
    assert set(Batch.__struct_fields__) == set(_APPENDS) | set(_UPSERTS) | {"commands", "releases"}
    for f in _APPENDS:
        assert tables()[_BATCH_TABLE[f]].kind == "append"
    for f in _UPSERTS:
        assert tables()[_BATCH_TABLE[f]].kind == "upsert"
    assert tables()["commands"].home == "journal"
    assert {t.home for n, t in tables().items() if n != "commands"} == {"main"}


def test_versions_follow_each_other() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == MIGRATIONS[-1].version


def test_fold_and_render() -> None:
    t = Table("x", (Column("k", "text"), Column("n", "int")), ("k",), "upsert")
    ms = (Migration(1, "a", (CreateTable(t), CreateIndex(Index("x_n", "x", ("n",))))),
          Migration(2, "b", (AddColumn("x", Column("b", "bool", nullable=True)),)))
    assert tables(ms)["x"].column_names == ("k", "n", "b")
    assert list(indexes(ms)) == ["x_n"]
    homes: dict[str, Home] = {"x": "main"}
    assert render(ms[0].ops[0], "postgresql", homes) == (
        "main", 'CREATE TABLE "x" ("k" TEXT NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("k"))')
    assert render(ms[0].ops[0], "sqlite", homes)[1] == 'CREATE TABLE "x" ("k" TEXT NOT NULL, "n" INTEGER NOT NULL, PRIMARY KEY ("k"))'
    assert render(ms[1].ops[0], "postgresql", homes)[1] == 'ALTER TABLE "x" ADD COLUMN "b" BOOLEAN'
    assert render(ms[0].ops[1], "sqlite", homes)[1] == 'CREATE INDEX "x_n" ON "x" ("n")'


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_whole_schema_renders(dialect: str) -> None:
    ddl = [stmt for m in MIGRATIONS for _, stmt in statements(MIGRATIONS, m.version, dialect)]  # type: ignore[arg-type]
    assert len(ddl) >= sum(len(m.ops) for m in MIGRATIONS)
    if dialect == "sqlite":  # and SQLite accepts every statement
        conn = sqlite3.connect(":memory:")
        for stmt in ddl:
            conn.execute(stmt)
        conn.close()
