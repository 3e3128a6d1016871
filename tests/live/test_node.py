"""The live node (python/trader/live/node.py): parity of a replay with the backtest, the embedded
default, the operator's controls, the watchdog, the CLI's bad configurations."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader.live.config import load_live_config
from trader.live.node import LiveNode
from trader.strategy import Strategy

RAW = "l2_book/hftbacktest_raw_ws"
#: Three recordings of three markets (USD-M futures, spot, coin-M).
RECORDINGS = ["usdm/btcusdt_20240808.gz", "spot/btcusdt_20240808.gz", "cm/btcusd_perp_20240808.gz"]
#: Two bundled strategies: one on the L2 book, one on bars built from the trades.
STRATEGIES = [
    ("l2_market_maker", {}, None),
    ("ema_cross", {"fast": "3", "slow": "8"}, "5s"),
]


@pytest.fixture
def recording(shared_data: Path) -> Any:
    """The path of a recording under the shared data's raw Binance WebSocket folder."""
    return lambda name: str(shared_data / RAW / name)


def run_node(tmp_path: Path, **flags: Any) -> tuple[LiveNode, dict]:
    flags.setdefault("state", str(tmp_path / "state"))
    cfg = load_live_config(None, flags)
    node = LiveNode(cfg, log_to_stderr=False)
    summary = asyncio.run(node.run())
    return node, summary


FILL_COLUMNS = ("ts", "side", "price", "qty", "fee", "order_id", "maker")


@pytest.mark.parametrize("rec", RECORDINGS)
@pytest.mark.parametrize("name,params,bar", STRATEGIES, ids=[s[0] for s in STRATEGIES])
def test_a_replay_at_max_speed_gives_the_backtests_fills(tmp_path, recording, rec, name, params, bar):
    """Parity is the contract: the same strategy on the same recording gives the same orders and
    fills through the live path (ring, node, paper venue) as through `trader backtest-l2`."""
    from trader.l2 import run_l2_backtest

    path = recording(rec)
    if rec.startswith("cm/") and name == "l2_market_maker":
        params = {"qty": "1", "max_position": "5"}  # coin-M quantities are whole contracts
    want = run_l2_backtest(path, name, bar=bar, **params)
    node, summary = run_node(tmp_path, feed=f"replay:{path}", speed="max", strategy=name, params=params, bar=bar)
    got = node.slots[0].report
    assert want["fills"] > 0, f"{name} on {rec} must trade for the comparison to mean something"
    assert got["orders"] == want["orders"]
    assert got["fills"] == want["fills"]
    for c in FILL_COLUMNS:
        np.testing.assert_array_equal(got["fill_columns"][c], want["fill_columns"][c], err_msg=c)
    for k in ("position", "cash", "fees", "realized_pnl", "equity", "events", "trade_calls", "quote_calls",
              "strategy_calls", "bars"):
        assert got[k] == want[k], k
    row = summary["strategies"][0]
    assert row["fills"] == want["fills"] and row["pnl"] == want["pnl"]
    assert summary["node"]["stop_reason"] == "end of the recording"


class SeesMode(Strategy):
    name = "sees_mode"

    def on_start(self) -> None:
        self.seen: set[bool] = set()

    def on_book(self, book: Any) -> None:
        self.seen.add(self.is_live)


def test_a_strategy_can_tell_live_from_backtest_only_by_asking(tmp_path, recording):
    from trader.l2 import run_l2_backtest

    s = SeesMode()
    run_l2_backtest(recording(RECORDINGS[0]), s)
    assert s.seen == {False}
    node, _ = run_node(tmp_path, feed=f"replay:{recording(RECORDINGS[0])}", speed="max",
                       strategy=f"{__file__}:SeesMode")
    assert node.slots[0].strategy.seen == {True}


def test_two_strategies_side_by_side_each_with_its_own_account(tmp_path, recording):
    """The A/B dry run: two configurations on one feed, each its own orders and account, compared."""
    from trader.l2 import run_l2_backtest
    from trader.live.config import StrategyEntry

    path = recording(RECORDINGS[0])
    cfg = load_live_config(None, {"feed": f"replay:{path}", "speed": "max", "state": str(tmp_path / "s")})
    import msgspec

    cfg = msgspec.structs.replace(cfg, strategies=[
        StrategyEntry(id="tight", strategy="l2_market_maker", params={"offset_ticks": 0}),
        StrategyEntry(id="wide", strategy="l2_market_maker", params={"offset_ticks": 5}),
    ])
    node = LiveNode(cfg, log_to_stderr=False)
    summary = asyncio.run(node.run())
    by_id = {r["id"]: r for r in summary["strategies"]}
    for sid, off in (("tight", 0), ("wide", 5)):
        want = run_l2_backtest(path, "l2_market_maker", offset_ticks=off)
        assert by_id[sid]["fills"] == want["fills"]
        assert by_id[sid]["pnl"] == want["pnl"]
    assert by_id["tight"]["fills"] != by_id["wide"]["fills"]
    assert summary["comparison"]["best_pnl"] in ("tight", "wide")
    for k in ("pnl", "max_drawdown", "win_rate", "orders", "latency_p99_us"):
        assert set(summary["comparison"][k]) == {"tight", "wide"}, k
    assert summary["comparison"]["orders"] == {r["id"]: r["orders"] for r in summary["strategies"]}


class Sleeper(Strategy):
    """Stalls once in a callback (the dead-man's switch must fire)."""

    name = "sleeper"

    def on_start(self) -> None:
        self.calls = 0

    def on_book(self, book: Any) -> None:
        self.calls += 1
        if self.calls == 5:
            time.sleep(1.5)


def test_the_watchdog_halts_a_node_whose_strategy_stalls(tmp_path, recording):
    node, summary = run_node(tmp_path, feed=f"replay:{recording(RECORDINGS[0])}", speed="max",
                             strategy=f"{__file__}:Sleeper", watchdog="0.5")
    row = summary["strategies"][0]
    assert row["trading_state"] == "halted"
    audit = [json.loads(x) for x in (tmp_path / "state" / f"audit-{row['id']}.jsonl").read_text().splitlines()]
    halts = [e for e in audit if e.get("kind") == "state" and e.get("to") == "halted"]
    assert halts and halts[0]["source"] == "operator" and "watchdog" in halts[0]["reason"]


def _http(url: str, token: str | None, method: str = "GET", body: dict | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null") if "json" in r.headers.get("Content-Type", "") else r.read()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_the_controls_act_on_a_running_node_and_are_audited(tmp_path):
    """Against a running node (synthetic feed, in-process): pause and resume, cancel-all, flatten,
    emergency; each takes effect on the engine and is an audit entry with source operator."""
    state = tmp_path / "state"
    cfg = load_live_config(None, {"feed": "synthetic:seed=3,rate=400", "state": str(state), "duration": "30",
                                  "params": {"qty": "0.01", "max_position": "0.05"}})
    node = LiveNode(cfg, log_to_stderr=False)
    results: dict[str, Any] = {}

    async def drive() -> dict:
        task = asyncio.create_task(node.run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            if node.control_url and node.slots[0].session.status()["fills"] > 0:
                break
        token = (state / "control.token").read_text().strip()
        url = node.control_url
        call = lambda *a, **k: asyncio.to_thread(_http, *a, **k)  # noqa: E731
        results["no_token"] = await call(url + "/status", None)
        results["pause"] = await call(url + "/state", token, "POST", {"state": "paused", "reason": "test pause"})
        results["paused_status"] = await call(url + "/status", token)
        results["bad"] = await call(url + "/state", token, "POST", {"state": "sleeping", "reason": "x"})
        results["resume"] = await call(url + "/state", token, "POST", {"state": "active", "reason": "test resume"})
        await asyncio.sleep(0.5)
        results["cancel"] = await call(url + "/cancel-all", token, "POST", {"reason": "test cancel"})
        results["after_cancel"] = node.slots[0].session.status()["open_orders"]
        results["flatten"] = await call(url + "/flatten", token, "POST", {"reason": "test flatten"})
        results["emergency"] = await call(url + "/state", token, "POST", {"state": "emergency", "reason": "test stop"})
        await asyncio.sleep(0.3)
        results["health"] = await call(url + "/health", token)
        node.request_stop("test over")
        return await task

    summary = asyncio.run(drive())
    assert results["no_token"][0] == 401
    assert results["pause"][0] == 200 and results["pause"][1]["state"] == "paused"
    assert results["paused_status"][1]["strategies"][0]["trading_state"] == "paused"
    assert results["bad"][0] == 400
    assert results["resume"][0] == 200
    assert results["cancel"][0] == 200 and results["after_cancel"] == []
    assert results["flatten"][0] == 200
    assert results["emergency"][0] == 200
    assert results["health"][1]["ready"] is False and "emergency" in results["health"][1]["reason"]
    row = summary["strategies"][0]
    assert row["trading_state"] == "emergency"
    audit = [json.loads(x) for x in (state / f"audit-{row['id']}.jsonl").read_text().splitlines()]
    ops = [(e["kind"], e.get("to"), e["reason"]) for e in audit if e.get("source") == "operator"]
    assert ("state", "paused", "test pause") in ops
    assert ("state", "active", "test resume") in ops
    assert ("state", "emergency", "test stop") in ops
    assert any(k == "cancel_all" and r == "test cancel" for k, _, r in ops)
    assert any(k == "flatten" and r == "test flatten" for k, _, r in ops)


def _env(cwd: Path) -> dict[str, str]:
    """The environment of a `trader` subprocess whose default state folder is under ``cwd/data``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(cwd / "data")}
    env.pop("TRADER_CONTROL_TOKEN", None)
    env.pop("TRADER_STATE_DIR", None)
    return env


def _trader(*args: str, cwd: Path, **kw: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trader", *args], cwd=cwd, env=_env(cwd), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_trader_live_with_no_arguments_trades_on_paper_and_stops_on_sigint(tmp_path):
    """The embedded default: no files, no network; trades in paper mode until SIGINT, then prints
    its summary and exits 0. `trader ctl` drives it meanwhile."""
    p = _trader("live", cwd=tmp_path)
    try:
        endpoint = tmp_path / "data" / "trader" / "live" / "control.json"  # the default: the user's data directory
        deadline = time.monotonic() + 60
        fills = 0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert p.poll() is None, p.stderr.read() if p.stderr else ""
            if not endpoint.exists():
                continue
            ctl = subprocess.run([sys.executable, "-m", "trader", "ctl", "--json", "status"], cwd=tmp_path,
                                 env=_env(tmp_path), capture_output=True, text=True, timeout=30)
            if ctl.returncode == 0:
                fills = json.loads(ctl.stdout)["strategies"][0]["fills"]
                if fills > 0:
                    break
        assert fills > 0, "the default node must trade on paper within a minute"
        ctl = subprocess.run([sys.executable, "-m", "trader", "ctl", "pause", "--reason", "from the shell"],
                             cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=30)
        assert ctl.returncode == 0, ctl.stderr
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=40)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "Traceback" not in err
    assert "trader live" in out and "fills" in out and "interrupted" in out
    assert not endpoint.exists(), "the endpoint file goes with the node"


def test_trader_live_replay_cli_fills_equal_backtest_l2(tmp_path, recording):
    path = recording(RECORDINGS[1])
    live = subprocess.run([sys.executable, "-m", "trader", "live", "--feed", f"replay:{path}", "--speed", "max",
                           "--state", str(tmp_path / "st"), "--fills-out", str(tmp_path / "live.csv"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert live.returncode == 0, live.stderr
    summary = json.loads(live.stdout)
    bt = subprocess.run([sys.executable, "-m", "trader", "backtest-l2", path, "--strategy", "l2_market_maker",
                         "--fills-out", str(tmp_path / "bt.csv")], capture_output=True, text=True, timeout=300)
    assert bt.returncode == 0, bt.stderr
    a, b = (tmp_path / "live.csv").read_text(), (tmp_path / "bt.csv").read_text()
    assert a.count("\n") > 2 and a == b
    assert summary["strategies"][0]["fills"] == a.count("\n") - 1


def test_live_help_documents_every_flag():
    from click.testing import CliRunner

    from trader.cli import cli

    out = CliRunner().invoke(cli, ["live", "--help"]).output
    cmd = cli.commands["live"]
    for opt in cmd.params:
        for name in opt.opts:
            assert name in out
        assert opt.help, f"{opt.name} has no help"


def _argv(flags: dict) -> list[str]:
    out: list[str] = []
    for k, v in flags.items():
        if k == "params":
            out += [a for kv in v.items() for a in ("-p", f"{kv[0]}={kv[1]}")]
        else:
            out += [f"--{k.replace('_', '-')}", str(v)]
    return out


def _bad_cli_cases() -> list[Any]:
    from tests.live.test_config import BAD_CONFIGS

    # --json is an on/off flag on the command line: a value for it cannot be written there
    return [pytest.param(*c, id=c[0]) for c in BAD_CONFIGS if "json" not in c[2]]


@pytest.mark.parametrize("name,toml,flags,fragment", _bad_cli_cases())
def test_a_bad_configuration_is_exit_2_one_line(tmp_path, monkeypatch, capsys, name, toml, flags, fragment):
    """Every named bad configuration, from the file or the flags: `trader live` exits 2 with one
    line naming the key, before it starts anything (no state folder, no control API)."""
    from trader.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("TRADER_STATE_DIR", raising=False)
    argv = ["live"]
    if toml:
        (tmp_path / "live.toml").write_text(toml)
        argv += ["--config", "live.toml"]
    argv += _argv(flags)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    key = next(iter(flags), None)
    # click checks its typed options itself (--market's choices): then the flag is named
    assert fragment in lines[0] or (key is not None and f"--{key.replace('_', '-')}" in lines[0]), lines[0]
    assert not (tmp_path / "data").exists(), "nothing started"


class TimerProbe(Strategy):
    """A timer every 250 ms and an alert: records each firing and buys on every fourth."""

    name = "timer_probe"

    def on_start(self) -> None:
        self.fired: list[tuple[str, int, int]] = []
        self.clock.set_timer("beat", "250ms")

    def on_book(self, book: Any) -> None:
        if not self.fired and not getattr(self, "_alert", False):
            self._alert = True
            self.clock.set_alert("once", int(self.clock) + 1_500_000_000)

    def on_timer(self, event: Any) -> None:
        self.fired.append((event.name, event.ts, int(self.clock)))
        if event.name == "beat" and len(self.fired) % 4 == 0:
            self.order(1 if len(self.fired) % 8 == 0 else -1, 0.001)


def test_timers_fire_at_the_same_event_times_in_a_backtest_and_a_replay(tmp_path, recording):
    from trader.l2 import run_l2_backtest

    path = recording(RECORDINGS[0])
    s = TimerProbe()
    want = run_l2_backtest(path, s)
    node, _ = run_node(tmp_path, feed=f"replay:{path}", speed="max", strategy=f"{__file__}:TimerProbe")
    got = node.slots[0].strategy.fired
    assert len(s.fired) > 100  # the recording lasts minutes
    assert got == s.fired
    beats = [ts for name, ts, _ in s.fired if name == "beat"]
    assert all(b - a == 250_000_000 for a, b in zip(beats, beats[1:])), "every 250 ms of event time"
    assert [f for f in s.fired if f[0] == "once"] and all(ts == clock for _, ts, clock in s.fired)
    assert want["timer_calls"] == len(s.fired) == node.slots[0].report["timer_calls"]
    np.testing.assert_array_equal(node.slots[0].report["fill_columns"]["ts"], want["fill_columns"]["ts"])


def test_live_timers_follow_the_wall_clock_between_events(tmp_path):
    """On a real-time feed a timer fires on time even when no event arrives (1 event a second,
    a 250 ms timer)."""
    node, _ = run_node(tmp_path, feed="synthetic:rate=1", strategy=f"{__file__}:TimerProbe", duration="2.2")
    beats = [ts for name, ts, _ in node.slots[0].strategy.fired if name == "beat"]
    assert len(beats) >= 5, beats
    assert all(b - a == 250_000_000 for a, b in zip(beats, beats[1:]))


def test_the_metrics_count_what_the_engine_did(tmp_path, recording):
    """After a replay the node's metrics hold the engine's own counts: events by stream, order
    events by kind, fills, the trading state, the account."""
    from prometheus_client.parser import text_string_to_metric_families

    node, summary = run_node(tmp_path, feed=f"replay:{recording(RECORDINGS[0])}", speed="max")
    report = node.slots[0].report
    body, _ = node.metrics.render()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    assert samples[("trader_events_total", (("stream", "line"),))] == report["events"]
    assert samples[("trader_fills_total", ())] == report["fills"] > 0
    filled = sum(v for (name, labels), v in samples.items() if name == "trader_orders_total" and ("status", "filled") in labels)
    partial = sum(v for (name, labels), v in samples.items()
                  if name == "trader_orders_total" and ("status", "partially_filled") in labels)
    assert filled + partial == report["fills"]
    assert samples[("trader_trading_state", (("trader_trading_state", "active"),))] == 1.0
    assert samples[("trader_tick_to_order_seconds_count", ())] > 0


def test_a_paced_replay_keeps_the_recorded_pace_and_the_fills(tmp_path, recording):
    """--speed X replays at X times the recorded pace (the spot recording spans 346 s: at 200x,
    about 1.7 s), and pacing changes nothing the engine sees."""
    from trader.l2 import run_l2_backtest

    path = recording(RECORDINGS[1])
    want = run_l2_backtest(path, "l2_market_maker")
    t0 = time.monotonic()
    node, _ = run_node(tmp_path, feed=f"replay:{path}", speed="200")
    took = time.monotonic() - t0
    span_s = (want["last_ts"] - want["first_ts"]) / 1e9
    assert span_s / 200 * 0.9 <= took <= span_s / 200 + 10, (took, span_s)
    got = node.slots[0].report
    for c in FILL_COLUMNS:
        np.testing.assert_array_equal(got["fill_columns"][c], want["fill_columns"][c], err_msg=c)


def test_the_recording_reader_reads_every_line_in_order_and_paces_by_receive_time(recording):
    from trader import _core

    path = recording(RECORDINGS[1])
    import gzip

    with gzip.open(path, "rt") as f:
        want = [x.rstrip("\n") for x in f if x.strip()]
    r = _core.RecordingReader([path])
    first = r.peek_ts()
    assert first == int(want[0].split(" ", 1)[0])
    got: list[str] = []
    empty = r.next_batch(100, first - 1)
    assert empty is not None and len(empty) == 0, "nothing due before the first line"
    until = first + 1_000_000_000
    due = r.next_batch(100_000, until)
    assert due is not None and due.last_ts <= until and r.peek_ts() > until
    got += due.texts()
    while (b := r.next_batch(777)) is not None:
        assert len(b) <= 777
        got += b.texts()
    assert got == want and r.lines == len(want)
