"""The node's persistence seen from the command line: resume, the store's tools (`trader state
show/export`, `trader audit verify` on a store), and every store that must be refused — a
damaged, foreign or newer one, an unreachable PostgreSQL, a store of another configuration —
with exit 2, one line, and not a byte of the store changed. Also the in-flight check."""

from __future__ import annotations

import hashlib
import signal
import time
from contextlib import closing
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

RECORDING = "l2_book/hftbacktest_raw_ws/spot/btcusdt_20240808.gz"


def _trader(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def _replay(rec: str, state: Path, *extra: str) -> subprocess.CompletedProcess:
    return _trader("live", "--feed", f"replay:{rec}", "--speed", "max", "--state", str(state), "--json",
                   "--log-level", "warning", *extra)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def rec(shared_data: Path) -> str:
    return str(shared_data / RECORDING)


@pytest.fixture
def finished(tmp_path: Path, rec: str) -> Path:
    """A state folder of a replay run to its end."""
    state = tmp_path / "node"
    r = _replay(rec, state)
    assert r.returncode == 0, r.stderr[-2000:]
    return state


def test_a_finished_replay_resumes_at_its_end_with_the_same_account(finished, rec):
    first = json.loads((finished / "final_status.json").read_text())["strategies"][0]
    again = _replay(rec, finished)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from" in again.stderr and "reconciliation: 0 adjustment(s)" in again.stderr
    second = json.loads(again.stdout)["strategies"][0]
    for k in ("orders", "fills", "position", "cash", "equity", "fees"):
        assert second[k] == first[k], k


def test_state_show_export_and_audit_verify_read_the_store(finished, tmp_path):
    shown = _trader("state", "show", str(finished), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    main = data["strategies"]["main"]
    assert main["fills"] > 0 and main["orders"] > 0 and main["unresolved_commands"] == []
    assert data["feeds"]["replay"]["position"] > 0
    assert main["positions"][0]["instrument"] == "BTCUSDT"
    table = _trader("state", "show", str(finished))
    assert table.returncode == 0 and "last 10 fills" in table.stdout
    before = _digest(finished)
    out = tmp_path / "tables"
    exported = _trader("state", "export", str(finished), "--to", "parquet", str(out))
    assert exported.returncode == 0, exported.stderr
    import pyarrow.parquet as pq

    fills = pq.read_table(out / "fills.parquet")
    assert fills.num_rows == main["fills"]
    assert pq.read_table(out / "orders.parquet").num_rows == main["orders"]
    verified = _trader("audit", "verify", str(finished))
    assert verified.returncode == 0 and "chain intact" in verified.stdout, verified.stderr
    assert _digest(finished) == before, "reading a store changes nothing"


def test_audit_verify_finds_an_edited_entry_in_a_store(finished):
    with closing(sqlite3.connect(finished / "store.sqlite3")) as c, c:
        seq, entry = c.execute('SELECT "seq", "entry" FROM "audit" WHERE "strategy" = \'main\' ORDER BY "seq" LIMIT 1').fetchone()
        e = json.loads(entry)
        e["reason"] = e["reason"] + " (edited)"
        c.execute('UPDATE "audit" SET "entry" = ? WHERE "strategy" = \'main\' AND "seq" = ?', (json.dumps(e), seq))
    r = _trader("audit", "verify", str(finished))
    assert r.returncode == 2 and "hash mismatch" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_store_of_another_configuration_is_refused_untouched(finished, rec):
    before = _digest(finished)
    r = _replay(rec, finished, "-p", "offset_ticks=2")
    assert r.returncode == 2, r.stderr[-2000:]
    line = r.stderr.strip().splitlines()[-1]
    assert "another configuration" in line and "strategies" in line and "Traceback" not in r.stderr
    assert _digest(finished) == before


def _damaged(folder: Path) -> None:
    data = bytearray((folder / "store.sqlite3").read_bytes())
    data[:16] = b"not a database!!"
    (folder / "store.sqlite3").write_bytes(bytes(data))


def _foreign(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()
    with closing(sqlite3.connect(folder / "store.sqlite3")) as c, c:
        c.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, price REAL)")


def _newer(folder: Path) -> None:
    with closing(sqlite3.connect(folder / "store.sqlite3")) as c, c:  # closed: the store is idle again
        c.execute('UPDATE "meta" SET "value" = \'999\' WHERE "key" = \'schema_version\'')


@pytest.mark.parametrize("spoil,words", [
    (_damaged, "not a database"),
    (_foreign, "a foreign database"),
    (_newer, "newer trader"),
], ids=["damaged", "foreign", "newer-schema"])
def test_a_bad_state_folder_is_exit_2_one_line_and_unchanged(finished, rec, spoil, words):
    spoil(finished)
    before = _digest(finished)
    r = _replay(rec, finished)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.strip().splitlines() if not ln.startswith("{")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert words in lines[0].lower(), lines[0]
    assert _digest(finished) == before, "a refused store is left as it was"


def test_an_unreachable_postgresql_is_exit_2_one_line_without_the_password(tmp_path, rec):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    r = _replay(rec, tmp_path / "node", "--store", f"postgresql://trader:hunter2@127.0.0.1:{port}/trader")
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.strip().splitlines() if not ln.startswith("{")]
    assert len(lines) == 1 and "hunter2" not in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_second_node_on_the_same_store_is_refused(tmp_path, backend, request):
    """SQLite: the same state folder (held by the first node, its pid named). PostgreSQL: another
    state folder but the same database (the store's advisory lock)."""
    store = ["--store", request.getfixturevalue("postgresql_url_factory")("shared")] if backend == "postgresql" else []
    state = tmp_path / "node"
    first = subprocess.Popen([sys.executable, "-m", "trader", "live", "--feed", "synthetic:rate=50", "--duration", "20",
                              "--state", str(state), "--log-level", "warning", *store],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (state / "control.json").exists():
            time.sleep(0.1)
        assert (state / "control.json").exists(), "the first node started"
        other = state if backend == "sqlite" else tmp_path / "other"
        second = _trader("live", "--feed", "synthetic:rate=50", "--duration", "1", "--state", str(other), *store)
        assert second.returncode == 2, second.stderr[-2000:]
        lines = [ln for ln in second.stderr.strip().splitlines() if not ln.startswith("{")]
        want = f"in use by a running node (pid {first.pid})" if backend == "sqlite" else "in use by another running node"
        assert len(lines) == 1 and want in lines[0], second.stderr
        assert first.poll() is None, "the first node runs on"
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_state_show_of_a_folder_without_a_store_is_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _trader("state", "show", str(tmp_path / "empty"))
    assert r.returncode == 2 and "no store" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list((tmp_path / "empty").iterdir()) == [], "reading never creates a store"


class _Session:
    """The parts of a session the in-flight check reads."""

    def __init__(self, orders: list[dict[str, Any]], clock: int) -> None:
        self.orders = orders
        self.clock = clock
        self.actions: list[tuple[str, str, str, list[int]]] = []

    def open_orders(self) -> list[dict[str, Any]]:
        return self.orders

    def record_action(self, kind: str, source: str, reason: str, orders: list[int]) -> None:
        self.actions.append((kind, source, reason, orders))


def test_the_in_flight_check_asks_the_venue_and_audits_what_differs():
    from trader.live.node import LiveNode
    from trader.live.reconcile import VenueOrder

    s = 1_000_000_000
    stuck_gone = {"id": 7, "status": "SUBMITTED", "ts": 0, "filled": "0"}
    stuck_open = {"id": 8, "status": "SUBMITTED", "ts": 0, "filled": "0"}
    fresh = {"id": 9, "status": "SUBMITTED", "ts": 9 * s, "filled": "0"}
    working = {"id": 10, "status": "ACCEPTED", "ts": 0, "filled": "0"}
    session = _Session([stuck_gone, stuck_open, fresh, working], clock=10 * s)
    asked: list[str] = []

    class Venue:
        def query_order(self, client_id: str) -> Any:
            asked.append(client_id)
            if client_id == "main-8":
                return VenueOrder(client_id=client_id, venue_order_id="8", side="buy", kind="limit", price="1",
                                  qty="1", filled="0", avg_price=None, status="open", ts=0)
            return None

    node = SimpleNamespace(cfg=SimpleNamespace(inflight_timeout=5.0), IN_FLIGHT=LiveNode.IN_FLIGHT, _inflight_seen=set(),
                           venue=SimpleNamespace(reconciling_venue=lambda sess, sid: Venue()), exec_client=None,
                           _running=lambda: [SimpleNamespace(id="main", session=session)])
    node._reconciling = lambda slot: LiveNode._reconciling(node, slot)  # type: ignore[arg-type]
    LiveNode._inflight_check(node)  # type: ignore[arg-type]
    assert asked == ["main-7", "main-8"], "only orders waiting past the timeout are asked for"
    assert len(session.actions) == 1
    kind, source, reason, orders = session.actions[0]
    assert (kind, source, orders) == ("inflight", "inflight", [7])
    assert "order 7 submitted for 10.0 s: unknown at the venue" == reason
    LiveNode._inflight_check(node)  # type: ignore[arg-type]
    assert len(session.actions) == 1, "the same answer is reported once, not at every check"
