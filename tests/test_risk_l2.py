"""The L2 and tick loops through the risk engine, on the recorded usdm stream: the max-position
boundary, a HALTED start, the panic layer's wide-spread condition on real quotes, the report and
audit log, no change without a risk configuration, and the CLI's risk options."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trader
from trader.cli import main
from trader.exceptions import InvalidInputError
from trader.risk import RiskSettings, verify_audit_file
from trader.strategy import Param, Strategy
from trader_strategies.l2_market_maker import L2MarketMaker

KEYS = ("orders", "fills", "maker_fills", "position", "cash", "fees", "volume", "strategy_calls")


@pytest.fixture(scope="module")
def usdm(shared_data: Path) -> str:
    return str(shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz")


class TwoBuys(Strategy):
    """At the first wake-up: a market buy of ``first`` units, then one of ``second``; records
    what the engine says back."""

    name = "two_buys"
    first = Param(0.005, float, gt=0)
    second = Param(0.001, float, gt=0)

    def on_start(self) -> None:
        self.ids: list[int] = []
        self.events: list[Any] = []
        self.positions: list[float] = []

    def on_book(self, book: Any) -> None:
        self.positions.append(self.position())
        if not self.ids:
            self.ids = [self.buy(self.first), self.buy(self.second)]

    def on_order_event(self, event: Any) -> None:
        self.events.append(event)


class Recorder(L2MarketMaker):
    def on_start(self) -> None:
        super().on_start()
        self.events: list[Any] = []
        self.changes: list[dict[str, Any]] = []
        self.states: set[str] = set()

    def on_book(self, book: Any) -> None:
        self.states.add(book.trading_state)
        super().on_book(book)

    def on_order_event(self, event: Any) -> None:
        if event.code is not None:  # what the risk engine said
            self.events.append(event)

    def on_trading_state(self, change: dict[str, Any]) -> None:
        self.changes.append(change)


def test_max_position_boundary(usdm: str) -> None:
    risk = RiskSettings(instruments={"L2": {"max_position": 0.005}}, layers=[])
    # 0.004 + 0.001 lands exactly on the limit: both pass.
    s = TwoBuys(first=0.004, second=0.001)
    r = trader.run_l2_backtest(usdm, s, risk=risk)
    assert r["position"] == pytest.approx(0.005) and r["orders"] == 2
    kinds = [e.kind for e in s.events]
    assert {"submitted", "accepted", "filled"} <= set(kinds) <= {"submitted", "accepted", "partially_filled", "filled"}
    assert kinds.count("filled") == 2 and kinds.count("submitted") == 2
    assert r["risk"]["denials"] == {}
    # 0.005 is the limit: it passes; one lot (0.001) beyond is denied and reaches nothing.
    s = TwoBuys(first=0.005, second=0.001)
    r = trader.run_l2_backtest(usdm, s, risk=risk)
    assert r["position"] == pytest.approx(0.005) and r["orders"] == 1
    denied = [e for e in s.events if e.kind == "denied"]
    assert [(e.order_id, e.reason, e.code) for e in denied] == [
        (s.ids[1], "risk: position would exceed its limit", "max_position")]
    assert set(r["fill_columns"]["order_id"].tolist()) == {s.ids[0]}
    assert r["risk"]["denials"] == {"max_position": 1}
    # Without the limit the same two orders both fill.
    free = trader.run_l2_backtest(usdm, TwoBuys(first=0.005, second=0.001))
    assert free["position"] == pytest.approx(0.006) and free["risk"]["denials"] == {}


def test_halted_from_the_start_sends_nothing(usdm: str) -> None:
    s = Recorder(qty=0.002, max_position=0.01)
    r = trader.run_l2_backtest(usdm, s, risk=RiskSettings(layers=[], initial_state="halted"))
    assert (r["orders"], r["fills"], r["position"], r["cash"]) == (0, 0, 0.0, 10_000.0)
    assert r["strategy_calls"] > 3000
    assert [(c["from"], c["to"], c["source"]) for c in s.changes] == [("active", "halted", "config")]
    assert s.states == {"halted"}
    assert s.events and all(e.kind == "denied" and e.code == "state_halted" for e in s.events)
    assert r["risk"]["denials"] == {"state_halted": len(s.events)}
    assert r["risk"]["state"] == "halted"
    assert r["risk"]["time_in_state"]["halted"] == pytest.approx((r["last_ts"] - r["first_ts"]) / 1e9)
    # The native maker too: nothing goes out.
    n = trader.run_l2_backtest(usdm, None, risk=RiskSettings(layers=[], initial_state="halted"))
    assert (n["orders"], n["fills"]) == (0, 0) and n["risk"]["denials"]["state_halted"] > 0


def test_panic_layer_pauses_on_a_wide_spread_of_real_quotes(usdm: str) -> None:
    s = Recorder(qty=0.002, max_position=0.01)
    risk = RiskSettings(layers=["panic:spread_k=1.5,spread_window=20,cooldown=1s"])
    r = trader.run_l2_backtest(usdm, s, risk=risk)
    changes = r["risk"]["changes"]
    paused = [c for c in changes if c["to"] == "paused"]
    # each change says what the layer saw: the spread against its median, with the numbers
    wide = r"instrument 0: spread [\d.]+ bps is ([\d.]+) × its median [\d.]+ bps over the last 20 quotes > spread_k 1\.5: .*"
    assert paused and all(c["source"] == "panic" and re.fullmatch(wide, c["reason"]) for c in paused)
    assert all(float(re.fullmatch(wide, c["reason"])[1]) > 1.5 for c in paused)
    assert any(c["reason"].startswith("condition cleared: instrument 0: spread") for c in changes)
    assert s.changes == changes
    assert r["risk"]["denials"].get("state_paused", 0) > 0
    assert any(e.code == "state_paused" for e in s.events)
    assert r["risk"]["time_in_state"]["paused"] > 0
    assert {"active", "paused"} <= s.states
    # The audit log records every change and verifies.
    audit = r["audit"]
    assert [e["to"] for e in audit if e["kind"] == "state"] == [c["to"] for c in changes]
    trader._core.verify_audit(audit)
    # A loose spread_k never fires: the run is the same as without the layer.
    loose = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, risk=RiskSettings(layers=["panic:spread_k=1000"]))
    plain = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)
    assert loose["risk"]["changes"] == []
    assert {k: loose[k] for k in KEYS} == {k: plain[k] for k in KEYS}
    assert r["orders"] < plain["orders"]


def test_no_risk_config_and_structural_only_give_the_same_run(usdm: str) -> None:
    plain = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)
    structural = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, risk=RiskSettings(layers=[]))
    bypass = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, risk=RiskSettings(layers=[], bypass=True))
    for r in (structural, bypass):
        assert {k: r[k] for k in KEYS} == {k: plain[k] for k in KEYS}
    assert plain["risk"]["denials"] == {} and plain["risk"]["changes"] == []
    assert [e["kind"] for e in plain["audit"]] == ["seal"]
    assert [e["kind"] for e in bypass["audit"]] == ["bypass", "seal"]


def test_the_account_rule_holds_in_l2_runs(usdm: str) -> None:
    """The account's rule in an L2 run as in a bar run: a margin account (the default on a futures
    recording) with no cash opens nothing; a cash account never sells what it does not hold and
    never buys beyond its cash; cash and equity never go below zero."""
    plain = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)  # margin, 10,000
    assert plain["account"] == "margin" and plain["fills"] > 0 and plain["risk"]["denials"] == {}
    funded = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, cash=20_000)
    assert funded["cash"] == pytest.approx(plain["cash"] + 10_000, abs=1e-9)
    assert {k: funded[k] for k in ("orders", "fills", "position")} == {k: plain[k] for k in ("orders", "fills", "position")}
    # No cash at all: every opening order is denied for its margin, nothing fills.
    broke = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, cash=0)
    assert broke["fills"] == 0 and broke["risk"]["denials"].get("insufficient_margin", 0) > 0
    # A cash account: the market maker's asks from flat are refused (no shorting on spot), its bids
    # fill, and every sell sells what was bought before.
    spot = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, account="cash")
    assert spot["risk"]["denials"].get("insufficient_holdings", 0) > 0
    f = spot["fill_columns"]
    held = np.cumsum(np.where(f["side"] > 0, f["qty"], -f["qty"]))
    assert f["side"][0] > 0 and held.min() >= -1e-12
    # A cash account with 100 of cash: one 0.002 bid (about 115) is refused for its balance.
    poor = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, account="cash", cash=100)
    assert poor["fills"] == 0 and poor["risk"]["denials"].get("insufficient_balance", 0) > 0
    with pytest.raises(InvalidInputError, match="cash"):
        trader.run_l2_backtest(usdm, None, cash=-1)
    with pytest.raises(InvalidInputError, match="leverage"):
        trader.run_l2_backtest(usdm, None, account="cash", leverage=3)


def test_tick_backtest_goes_through_the_risk_engine(usdm: str) -> None:
    # a margin account: the market maker quotes both sides from flat
    kw = dict(data=usdm, price_precision=2, size_precision=3, qty=0.002, account="margin")
    plain = trader.run_tick_backtest(None, **kw)
    halted = trader.run_tick_backtest(None, risk=RiskSettings(layers=[], initial_state="halted"), **kw)
    assert plain["fills"] > 0 and plain["risk"]["denials"] == {}
    assert (halted["orders"], halted["fills"]) == (0, 0) and halted["risk"]["denials"]["state_halted"] > 0
    # The run's instrument is the recording's BTCUSDT: any spelling of it, or the alias TICKS.
    for name in ("TICKS", "BTCUSDT", "BTC_USDT", "BTC/USDT"):
        capped = trader.run_tick_backtest(None, risk=RiskSettings(instruments={name: {"max_position": 0.002}}, layers=[]), **kw)
        assert capped["risk"]["denials"].get("max_position", 0) > 0, name
        assert abs(capped["position"]) <= 0.002 + 1e-12
    with pytest.raises(InvalidInputError, match="'L2' is not traded in this run .*BTCUSDT"):
        trader.run_tick_backtest(None, risk=RiskSettings(instruments={"L2": {"max_position": 1}}, layers=[]), **kw)


def test_bad_risk_settings(usdm: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="'ETHUSDT' is not traded in this run .*BTCUSDT"):
        trader.run_l2_backtest(usdm, None, risk=RiskSettings(instruments={"ETHUSDT": {"max_position": 1}}, layers=[]))
    with pytest.raises(InvalidInputError, match="risk"):
        trader.run_l2_backtest(usdm, None, risk={"limits": {}})
    toml = tmp_path / "risk.toml"
    toml.write_text('[risk]\nlayers = []\ninitial_state = "halted"\n')
    r = trader.run_l2_backtest(usdm, None, risk=str(toml))
    assert r["orders"] == 0 and r["risk"]["state"] == "halted"


def test_cli_risk_options(usdm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "audit.jsonl"
    main(["backtest-l2", usdm, "--risk-limit", "max_position=0.004", "--risk-layer", "panic:spread_k=1.5,cooldown=1s",
          "--audit-log", str(log), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["risk"]["denials"]["max_position"] > 0
    assert any(c["reason"].startswith("instrument 0: spread ") for c in out["risk"]["changes"])
    assert "audit" not in out and "fill_columns" not in out
    # every change and every denial is in an entry (runs of the same denial folded into one), then the seal
    n_denied = sum(out["risk"]["denials"].values())
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert verify_audit_file(log) == len(entries)
    assert sum(e["kind"] == "state" for e in entries) == len(out["risk"]["changes"])
    assert sum(e.get("count", 1) for e in entries if e["kind"] == "denial") == n_denied
    for bad, msg in [(["--risk-limit", "nonsense"], "--risk-limit"), (["--risk-layer", "nosuch"], "nosuch"),
                     (["--risk-limit", "instruments.ETHUSDT.max_position=1"], "ETHUSDT"), (["--cash", "-5"], "--cash")]:
        with pytest.raises(SystemExit) as e:
            main(["backtest-l2", usdm, *bad])
        assert e.value.code == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1 and msg in err, err
