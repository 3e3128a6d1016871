"""The write-ahead log of a SQLite state folder (``trader._core.LiveSession.set_log_journal``,
``trader.live.store``): commands appended by the session, carried into the store by batches,
taken in by the next node after a crash, read by a read-only store, and refused when damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benches.test_bench_live import OrderEveryTrade  # the write-ahead bench's strategy: a command per trade
from trader import _core
from trader.exceptions import InvalidInputError, StoreError
from trader.live.persist import SlotLink
from trader.live.store import JOURNAL_LOG_BYTES, Batch, journal_log_name, open_store

TS0 = 1_700_000_000_000_000_000


def _session() -> Any:
    s = _core.LiveSession(OrderEveryTrade(), mode="quotes", price_precision=2, size_precision=3, cash=1e6,
                          account="margin")
    s.push_quote(TS0, 50_000.0, 50_000.01, 5.0, 5.0)
    s.pump()
    return s


def _trades(s: Any, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        s.push_trade(TS0 + (i + 1) * 1_000, 50_000.0, 0.001, "buy" if i % 2 else "sell", i)
        s.pump()


def _link(store: Any, sid: str = "main", sync: str = "normal") -> tuple[SlotLink, Any]:
    s = _session()
    link = SlotLink(store=store, slot=SimpleNamespace(id=sid, session=s, strategy=SimpleNamespace(state={}, on_save=None)),
                    next_seq=store.next_command_seq(sid))
    link.attach_journal(sync)
    return link, s


@pytest.mark.parametrize("sync", ["normal", "full"])
def test_commands_go_through_the_log_into_the_store_and_are_released(tmp_path: Path, sync: str) -> None:
    store = open_store(tmp_path, sync=sync)
    link, s = _link(store, sync=sync)
    log = tmp_path / journal_log_name("main")
    assert log.stat().st_size == JOURNAL_LOG_BYTES + 4096
    _trades(s, 10)
    assert s.journal_next_seq == 11
    # In the log, not yet in the table: the store reads them from the log, pending.
    strategy, records = _core.read_journal_log(log)
    assert strategy == "main" and [r[0] for r in records] == list(range(1, 11))
    assert [r[2] for r in records] == ["submit", "cancel"] * 5
    assert json.loads(records[0][3])  # the command itself, as JSON
    seen = store.commands("main")
    assert [c.seq for c in seen] == list(range(1, 11)) and {c.status for c in seen} == {"pending"}
    assert seen[0].client_id == f"main-{records[0][1]}"
    batch = Batch()
    link.rows(batch, TS0)
    assert [c.seq for c in batch.commands] == list(range(1, 11))
    assert link.log_release.committed is None
    store.commit(batch)
    assert link.log_release.committed == 10
    stored = store.commands("main")
    assert [(c.seq, c.status) for c in stored] == [(q, "acked") for q in range(1, 11)]
    # Nothing new: the next batch carries no command and releases nothing.
    batch = Batch()
    link.rows(batch, TS0)
    assert batch.commands == [] and batch.releases == []
    store.close()


def test_a_killed_nodes_logged_commands_are_taken_in_at_the_next_open(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    link, s = _link(store)
    _trades(s, 6)
    batch = Batch()
    link.rows(batch, TS0)
    store.commit(batch)  # 1..6 in the table
    _trades(s, 5, start=6)  # 7..11 only in the log: the process "dies" here
    store.close()
    log = tmp_path / journal_log_name("main")
    # A read-only store (trader live inspect) sees them, pending, and leaves the log alone.
    ro = open_store(tmp_path, readonly=True)
    assert [(c.seq, c.status) for c in ro.commands("main", status="pending")] == [(q, "pending") for q in range(7, 12)]
    ro.close()
    assert log.exists()
    again = open_store(tmp_path)
    assert log.exists()  # an open alone changes nothing (a refused node leaves the folder as it was)
    with pytest.raises(InvalidInputError, match="open the store first"):
        _link(again)  # ... and a session cannot start its log over the untaken commands
    again.take_in_logs()  # what the node does once it has claimed the folder
    assert not log.exists()
    cmds = again.commands("main")
    assert [c.seq for c in cmds] == list(range(1, 12))
    assert [c.status for c in cmds] == ["acked"] * 6 + ["pending"] * 5
    assert again.next_command_seq("main") == 12
    # The next session goes on from there, in a fresh log.
    link2, s2 = _link(again)
    _trades(s2, 2)
    assert [r[0] for r in _core.read_journal_log(log)[1]] == [12, 13]
    again.close()


def test_a_log_the_store_has_not_taken_in_is_not_started_over(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    link, s = _link(store)
    _trades(s, 3)
    # A second session of the same strategy, the store not reopened: its log still holds 1..3.
    with pytest.raises(InvalidInputError, match=r"holds command main/3 .*open the store first"):
        _link(store)
    assert [r[0] for r in _core.read_journal_log(tmp_path / journal_log_name("main"))[1]] == [1, 2, 3]
    store.close()


def test_a_damaged_or_foreign_log_refuses_the_open_and_changes_nothing(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    bad = tmp_path / journal_log_name("main")
    bad.write_bytes(b"not a log at all" * 300)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    store = open_store(tmp_path)
    with pytest.raises(InvalidInputError, match=rf"{bad.name}: not a trader write-ahead log"):
        store.take_in_logs()
    with pytest.raises(InvalidInputError, match=rf"{bad.name}: not a trader write-ahead log"):
        store.commands()
    store.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))} == before


def test_a_hole_in_a_log_is_refused_naming_the_missing_command(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    link, s = _link(store)
    _trades(s, 4)
    store.close()
    log = tmp_path / journal_log_name("main")
    data = bytearray(log.read_bytes())
    # Break the second record's CRC (records start at 4096; the first is a submit).
    first_len = int.from_bytes(data[4096 + 4:4096 + 8], "little")
    data[4096 + first_len + 60] ^= 0xFF
    log.write_bytes(bytes(data))
    store = open_store(tmp_path)
    with pytest.raises(StoreError, match=r"command main/2 is missing from the write-ahead log, which holds main/3"):
        store.take_in_logs()
    with pytest.raises(StoreError, match=r"main/2 is missing"):
        store.commands()  # a reader is told too, not handed a silent gap
    assert log.exists()
    store.close()


def test_logs_of_several_strategies_are_kept_apart(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    (la, sa), (lb, sb) = _link(store, "alpha"), _link(store, "beta/β")
    _trades(sa, 3)
    _trades(sb, 2)
    assert len({journal_log_name("alpha"), journal_log_name("beta/β")}) == 2
    store.close()
    again = open_store(tmp_path)
    again.take_in_logs()
    assert [c.seq for c in again.commands("alpha")] == [1, 2, 3]
    assert [c.seq for c in again.commands("beta/β")] == [1, 2]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".log")]
    again.close()
