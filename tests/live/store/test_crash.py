"""Crash points, on both back ends: a process killed (SIGKILL) inside a batch transaction leaves
nothing of that batch; killed between the write-ahead and the send, the command is stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from trader.exceptions import InvalidInputError
from trader.live.store import open_store
from trader.live.store.crash import ENV, parse

from ._samples import command, full_batch

SCRIPT = textwrap.dedent("""
    import sys
    from tests.live.store._samples import command, fill, full_batch
    from trader.live.store import Batch, BatchWriter, open_store

    store = open_store(sys.argv[1])
    what = sys.argv[2]
    if what == "batch":
        store.write_ahead(command(1))
        w = BatchWriter(store)
        w.submit(Batch(fills=[fill("T-1")]))
        w.flush(timeout=30)
        print("batch 1", flush=True)
        w.submit(full_batch())
        w.flush(timeout=30)
        print("batch 2", flush=True)
    else:
        for seq in (1, 2, 3):
            store.write_ahead(command(seq))
            print(f"sent {seq}", flush=True)
""")


def _run(target: str, what: str, crash_at: str) -> subprocess.CompletedProcess[str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = {**os.environ, ENV: crash_at, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", SCRIPT, target, what], env=env, capture_output=True, text=True,
                          timeout=120, cwd=root)


def test_a_batch_killed_mid_transaction_leaves_nothing_of_it(target: str) -> None:
    r = _run(target, "batch", "store.batch:2")
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert r.stdout.splitlines() == ["batch 1"]
    with open_store(target) as s:
        assert [c.seq for c in s.commands()] == [1]
        assert [f.trade_id for f in s.fills()] == ["T-1"]  # batch 1 whole
        assert s.order_events("s1") == [] and s.orders() == [] and s.checkpoint("s1") is None  # batch 2: nothing
        assert s.audit("s1") == [] and s.positions() == [] and s.commands()[0].status == "pending"
        s.commit(full_batch())  # the store carries on; its fill T-1 is already there
        assert len(s.fills()) == 1 and len(s.orders()) == 1 and s.checkpoint("s1") is not None


def test_the_first_batch_killed(target: str) -> None:
    r = _run(target, "batch", "store.batch:1")
    assert r.returncode == -signal.SIGKILL and r.stdout == "", r.stderr
    with open_store(target) as s:
        assert [c.seq for c in s.commands()] == [1] and s.fills() == []


def test_killed_between_write_ahead_and_send_keeps_the_command(target: str) -> None:
    r = _run(target, "write_ahead", "store.write_ahead:2")
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert r.stdout.splitlines() == ["sent 1"]  # command 2 never left
    with open_store(target) as s:
        cmds = s.commands("s1")
        assert cmds == [command(1), command(2)] and all(c.status == "pending" for c in cmds)
        assert s.next_command_seq("s1") == 3


def test_unarmed_points_do_nothing(target: str) -> None:
    r = _run(target, "write_ahead", "store.batch:1,other:2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["sent 1", "sent 2", "sent 3"]


def test_parse() -> None:
    assert parse("store.batch:3, store.write_ahead:1") == {"store.batch": 3, "store.write_ahead": 1}
    assert parse("") == {}
    for bad in ("store.batch", "store.batch:0", ":2", "x:y"):
        with pytest.raises(InvalidInputError, match=ENV):
            parse(bad)
