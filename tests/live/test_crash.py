"""kill -9: a paper node replaying a recording is killed with SIGKILL at 30+ points chosen to hurt
and restarted each time on the same state folder; at the end its orders, fills, order events,
positions, balances, commands and audit chain equal those of an uninterrupted run — on SQLite and
on PostgreSQL.

The kill points are the crash points of the code (``TRADER_CRASH_AT=name:N``, see
:mod:`trader.live.store.crash`): between the write-ahead of a command and its send
(``store.write_ahead``), between fills and their write (``node.fill``), inside a batch's
transaction (``store.batch``), a batch handed to the writer but not committed (``node.batch``),
after the engines were restored and before reconciliation (``node.restored``), and during
reconciliation itself (``node.reconcile``, right after a kill between a write-ahead and its send,
so there is a command to resolve). N varies, so each kill lands at another place of the replay.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RECORDING = "l2_book/hftbacktest_raw_ws/spot/btcusdt_20240808.gz"
RISK = """
[risk]
layers = ["drawdown", { use = "circuit_breaker", failure_threshold = 3, cooldown = "30m" }]
[risk.limits]
price_band_bps = 500
submit_rate = "50/1s"
"""
#: (crash point, N) in the order the runs meet them: 40 points, of which at least 30 must kill
#: before the replay ends, then a run to the end. A run killed at a batch point gets at most N
#: batches further (the writer may fold several into one transaction, so where a point lands
#: depends on timing): N stays 1 or 2 so that the replay (41 batches of 1,024 lines at
#: --flush-ms 0) outlasts 30 kills whatever the timing.
KILLS: list[tuple[str, int]] = [
    ("store.write_ahead", 1), ("node.reconcile", 1), ("node.fill", 1), ("store.batch", 1), ("node.batch", 1),
    ("store.write_ahead", 7), ("node.restored", 1), ("node.fill", 1), ("store.batch", 2), ("store.write_ahead", 2),
    ("node.reconcile", 1), ("node.batch", 1), ("node.fill", 1), ("store.batch", 1), ("store.write_ahead", 9),
    ("node.fill", 1), ("store.write_ahead", 4), ("node.reconcile", 1), ("store.batch", 2), ("node.batch", 1),
    ("node.fill", 1), ("store.write_ahead", 12), ("node.restored", 1), ("store.batch", 1), ("node.fill", 1),
    ("store.write_ahead", 5), ("node.batch", 1), ("store.batch", 2), ("node.fill", 1), ("store.write_ahead", 3),
    ("node.reconcile", 1), ("store.batch", 1), ("store.write_ahead", 6), ("node.fill", 1), ("node.batch", 1),
    ("store.batch", 1), ("store.write_ahead", 2), ("node.fill", 1), ("node.restored", 1), ("store.batch", 1),
]


def _node(state: Path, store: str | None, crash: str | None, rec: str, risk: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TRADER_CRASH_AT"}
    if crash:
        env["TRADER_CRASH_AT"] = crash
    cmd = [sys.executable, "-m", "trader", "live", "--feed", f"replay:{rec}", "--speed", "max", "--state", str(state),
           "--flush-ms", "0", "--latency", "lognormal:submit_ms=2", "--risk-config", str(risk), "--json",
           "--log-level", "warning"]
    if store:
        cmd += ["--store", store]
    cmd += list(extra)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def _kill_through(points: list[tuple[str, int]], state: Path, store: str | None, rec: str, risk: Path,
                  *extra: str) -> tuple[list[str], subprocess.CompletedProcess]:
    """Run the node on ``state`` once per crash point, each run killed there (SIGKILL) and the
    next one restarting on the same folder, until a run gets to the end of the replay before its
    point; then (if none did) one run to the end. Returns the points that killed a run and the
    run that ended."""
    landed: list[str] = []
    for point, n in points:
        r = _node(state, store, f"{point}:{n}", rec, risk, *extra)
        if r.returncode == 0:
            return landed, r  # the replay ended before this point was reached: the rest cannot kill
        assert r.returncode == -signal.SIGKILL, f"{point}:{n}: exit {r.returncode}\n{r.stderr[-2000:]}"
        landed.append(f"{point}:{n}")
    last = _node(state, store, None, rec, risk, *extra)
    assert last.returncode == 0, last.stderr[-2000:]
    return landed, last


def _decisions(entries: Any) -> list[tuple[Any, ...]]:
    """The audit chain's decisions, one per denied order: a run of like denials folds into one
    entry (trader.risk's audit folding), and a restart's reconcile entry closes the run open at
    that moment, so the same denials may fold at other boundaries than in an uninterrupted run;
    what was decided — every state change, resize and denial (which order, why, by whom) — must not
    differ."""
    out: list[tuple[Any, ...]] = []
    for a in entries:
        if a["kind"] == "denial":
            out.extend(("denial", a.get("code"), a.get("source"), a.get("from"), o) for o in a.get("orders") or [])
        else:
            out.append((a["ts"], a["kind"], a.get("from"), a.get("to"), a.get("source"), a.get("reason"), a.get("orders")))
    return out


def _final(target: str) -> dict[str, Any]:
    """What must not differ, read back from the store."""
    from trader.live.inspect import open_for_reading, verify_store_audit

    s = open_for_reading(target)
    try:
        verify_store_audit(s)
        out: dict[str, Any] = {}
        out["orders"] = sorted((o.strategy, o.order_id, o.side, o.kind, o.price, o.qty, o.filled, o.status) for o in s.orders())
        out["fills"] = sorted((f.strategy, f.trade_id, f.order_id, f.ts, f.side, f.price, f.qty, f.fee, f.liquidity)
                              for f in s.fills())
        out["events"] = [(e.seq, e.order_id, e.kind, e.status, e.ts) for e in s.order_events("main")]
        out["state"] = s.strategy_states()["main"].state
        out["positions"] = sorted((p.strategy, p.instrument, p.qty, p.avg_price, p.realized) for p in s.positions())
        out["balances"] = sorted((b.strategy, b.asset, b.total) for b in s.balances())
        cmds = s.commands("main")
        out["sent"] = [(c.order_id, c.kind, c.request) for c in cmds if c.status == "acked"]
        out["void"] = [(c.order_id, c.kind, c.request) for c in cmds if c.status == "void"]
        out["resolved"] = [(c.order_id, c.kind, c.request) for c in cmds if c.status == "resolved"]
        out["unresolved"] = [c.seq for c in cmds if c.status == "pending"]
        audit = [json.loads(a.entry) for a in s.audit("main")]
        out["reconcile_entries"] = [a for a in audit if a["kind"] == "reconcile"]
        out["audit"] = _decisions(a for a in audit if a["kind"] != "reconcile")
        out["restarts"] = len(s.restarts())
        return out
    finally:
        s.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_at_30_points_and_restarted_ends_equal_to_an_uninterrupted_run(tmp_path, shared_data, backend, request):
    rec = str(shared_data / RECORDING)
    risk = tmp_path / "risk.toml"
    risk.write_text(RISK)
    if backend == "postgresql":
        new_db = request.getfixturevalue("postgresql_url_factory")
        whole_store, crashy_store = new_db("whole"), new_db("crashy")
    else:
        whole_store = crashy_store = None

    whole = _node(tmp_path / "whole", whole_store, None, rec, risk)
    assert whole.returncode == 0, whole.stderr[-2000:]
    want = _final(whole_store or str(tmp_path / "whole"))
    assert want["fills"] and want["orders"], "the uninterrupted run traded (else the test proves nothing)"

    state = tmp_path / "crashy"
    landed, last = _kill_through(KILLS, state, crashy_store, rec, risk)
    kills = len(landed)
    assert kills >= 30, f"only {kills} kills landed before the replay ended ({landed}): choose earlier points"

    got = _final(crashy_store or str(state))
    # a restart killed before its batch committed (restored, reconciling) leaves no record: the
    # next one redoes its work
    assert 0 < got["restarts"] <= kills
    assert got["unresolved"] == [], "every command written ahead was resolved"
    for key in ("orders", "fills", "events", "positions", "balances", "sent", "audit"):
        assert got[key] == want[key], f"{key} differ from the uninterrupted run"
    # every difference is explained: each void command (written ahead, killed before the send) has
    # its reconcile entry, and was decided again identically after the restart (in "sent" above)
    assert len(got["void"]) + len(got["resolved"]) == len(got["reconcile_entries"]) > 0
    for v in got["void"]:
        assert v in got["sent"], f"void command {v} was not decided again"
    summary_whole = json.loads(whole.stdout)["strategies"][0]
    summary_last = json.loads(last.stdout)["strategies"][0]
    for k in ("orders", "fills", "position", "cash", "equity", "fees"):
        assert summary_last[k] == summary_whole[k], k


#: A bar strategy (ema_cross on 5 s bars of the trades): its indicators are in the engine's
#: checkpoint, its last crossing in ``self.state``. Few commands: the kills stay early.
BAR_KILLS = [("node.fill", 1), ("store.write_ahead", 1), ("node.reconcile", 1), ("store.batch", 2), ("node.batch", 2),
             ("store.write_ahead", 2), ("node.fill", 2), ("store.batch", 1)]


#: Orders in flight at the cut (a 200 ms submit latency: several saved cuts hold submitted
#: orders): the paper venue restores its simulated network with them.
# Points every run reaches whatever the machine's load: the node's own (per feed batch, per
# command, per fill) and the writer's first transaction — not its second, since a busy writer
# coalesces the queued batches of a short replay into one transaction (a CI run reached none).
SLOW_KILLS = [("node.batch", 3), ("store.batch", 1), ("store.write_ahead", 5), ("node.reconcile", 1),
              ("node.batch", 2), ("store.batch", 1), ("node.fill", 1), ("store.write_ahead", 3)]


def test_orders_in_flight_at_the_cut_arrive_after_the_restart(tmp_path, shared_data):
    rec = str(shared_data / RECORDING)
    risk = tmp_path / "risk.toml"
    risk.write_text(RISK)
    extra = ("--latency", "lognormal:submit_ms=200")  # (the last --latency given wins)
    whole = _node(tmp_path / "whole", None, None, rec, risk, *extra)
    assert whole.returncode == 0, whole.stderr[-2000:]
    want = _final(str(tmp_path / "whole"))
    landed, _ = _kill_through(SLOW_KILLS, tmp_path / "crashy", None, rec, risk, *extra)
    assert len(landed) >= 5, f"only {landed} landed"
    got = _final(str(tmp_path / "crashy"))
    for key in ("orders", "fills", "events", "positions", "balances", "sent", "audit"):
        assert got[key] == want[key], f"{key} differ from the uninterrupted run"


def test_a_bar_strategy_killed_and_restarted_ends_equal(tmp_path, shared_data):
    rec = str(shared_data / RECORDING)
    risk = tmp_path / "risk.toml"
    risk.write_text(RISK)
    extra = ("--strategy", "ema_cross", "-p", "fast=3", "-p", "slow=8", "--bar", "5s")
    whole = _node(tmp_path / "whole", None, None, rec, risk, *extra)
    assert whole.returncode == 0, whole.stderr[-2000:]
    want = _final(str(tmp_path / "whole"))
    assert want["fills"], "the uninterrupted run traded"
    landed, _ = _kill_through(BAR_KILLS, tmp_path / "crashy", None, rec, risk, *extra)
    assert len(landed) >= 5, f"only {landed} landed"
    got = _final(str(tmp_path / "crashy"))
    for key in ("orders", "fills", "events", "positions", "balances", "sent", "audit", "state"):
        assert got[key] == want[key], f"{key} differ from the uninterrupted run"
