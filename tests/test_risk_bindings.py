"""The risk engine through the bindings: the config dict, Python layers, trading states seen by
the strategy, the report and the audit chain (``trader._core`` directly; ``trader.risk`` builds
the same dict from TOML / CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trader import _core
from trader.exceptions import InvalidInputError

MIN = 60_000_000_000


def columns(closes):
    c = np.asarray(closes, dtype=np.float64)
    ts = (np.arange(len(c), dtype=np.int64) + 1) * MIN
    return ts, c, c + 0.5, c - 0.5, c, np.full(len(c), 1e6)


def engine(cfg=None, cash=10_000.0):
    bt = _core.Backtest(["BTCUSDT"], [2], [3], cash=cash, fill_at="close")
    if cfg is not None:
        bt.configure_risk(cfg)
    ctx = _core.Context(["BTCUSDT"], [2], [3])
    return bt, ctx


def run(bt, ctx, closes, on_bar, on_event=None, on_state=None):
    ts, o, h, lo, c, v = columns(closes)
    bt.run(on_bar, on_event, ctx, ts, o, h, lo, c, v, None, [], on_state)
    bt.finish()


def test_limits_from_the_dict_deny_with_the_reason_code():
    cfg = {"limits": {"instruments": {"BTCUSDT": {"max_position": 2.0}}, "max_leverage": None}}
    bt, ctx = engine(cfg, cash=1e6)
    events = []
    plan = {0: 1.5, 1: 0.5, 2: 0.001}  # 1.5 + 0.5 = 2.0 is the limit; one lot more is denied
    i = iter(range(100))

    def on_bar(bar):
        k = next(i)
        if k in plan:
            ctx.submit(1, plan[k])

    run(bt, ctx, [100.0] * 4, on_bar, events.append)
    assert bt.positions()[0][1] == pytest.approx(2.0)
    denied = [e for e in events if e.kind == "denied"]
    assert len(denied) == 1 and denied[0].code == "max_position"
    assert denied[0].reason == "risk: position would exceed its limit"
    rep = bt.risk_report()
    assert rep["denials"] == {"max_position": 1}
    assert rep["state"] == "active" and rep["changes"] == []
    assert rep["time_in_state"]["active"] == pytest.approx(3 * 60.0)


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        ({"limits": {"max_leverage": -1.0}}, "limits.max_leverage"),
        ({"limits": {"max_leverag": 1.0}}, 'unknown key "max_leverag"'),
        ({"limits": {"instruments": {"ETHUSDT": {"max_position": 1.0}}}}, 'unknown symbol "ETHUSDT"'),
        ({"limits": {"instruments": {"BTCUSDT": {"max_position": "big"}}}}, "limits.instruments.BTCUSDT.max_position"),
        ({"limits": {"submit_rate": {"capacity": 0, "interval_ns": 1}}}, "submit_rate"),
        ({"initial_state": "sleepy"}, "initial_state"),
        ({"bypass": "yes"}, "risk.bypass"),
        ({"layers": [{"kind": "nope", "name": "x"}]}, "layers[0] (nope).kind"),
        ({"layers": [{"kind": "drawdown", "soft": 0.3, "hard": 0.2}]}, "layers[0] (drawdown).soft"),
        ({"layers": [{"kind": "kelly", "fraction": 0.5}]}, "layers[0] (kelly).fraction"),
        ({"layers": [{"kind": "python", "name": "p"}]}, "layers[0] (python).layer"),
        ({"layers": [{"kind": "python", "name": "p", "layer": object()}, {"kind": "python", "name": "p", "layer": object()}]}, "two layers are named"),
    ],
)
def test_config_errors_name_the_key(cfg, needle):
    with pytest.raises(InvalidInputError, match=None) as e:
        engine(cfg)
    assert needle in str(e.value)


class Halving:
    """A Python layer: halves every order, vetoes sells, asks for REDUCING after 3 fills."""

    name = "halving"

    def __init__(self):
        self.fills = 0
        self.bars = 0
        self.accounts = []

    def check(self, order, account):
        self.accounts.append(account)
        if order["side"] == "SELL":
            return "no selling today"
        return order["qty"] / 2

    def on_bar(self, bar, account):
        self.bars += 1

    def on_fill(self, fill, account):
        self.fills += 1

    def wish(self):
        return "reducing" if self.fills >= 3 else None


def test_a_python_layer_resizes_vetoes_and_changes_the_state():
    layer = Halving()
    bt, ctx = engine({"layers": [{"kind": "python", "name": "halving", "layer": layer}]}, cash=1e6)
    events, changes, states = [], [], []
    i = iter(range(100))

    def on_bar(bar):
        k = next(i)
        states.append(ctx.trading_state)
        ctx.submit(1 if k != 1 else -1, 1.0)

    run(bt, ctx, [100.0] * 6, on_bar, events.append, changes.append)
    # bar 0: buy 1 → 0.5; bar 1: sell vetoed; bars 2, 3: 0.5 each → 3 fills → REDUCING; then buys are refused
    assert bt.positions()[0][1] == pytest.approx(1.5)
    assert layer.fills == 3 and layer.bars == 6
    assert [c["to"] for c in changes] == ["reducing"]
    assert changes[0]["source"] == "halving" and changes[0]["from"] == "active"
    assert states == ["active", "active", "active", "active", "reducing", "reducing"]
    rep = bt.risk_report()
    assert rep["resized"] == 3
    assert rep["vetoes_by_layer"] == {"halving": 1}
    assert rep["denials"] == {"layer_veto": 1, "state_reducing": 2}
    assert any("no selling today" in m for m in rep["layer_messages"])
    acct = layer.accounts[0]
    assert set(acct) == {"ts", "equity", "cash", "positions", "state"} and acct["positions"] == {"BTCUSDT": 0.0}


class Explained(Halving):
    """Halving, with its own words."""

    def explain(self):
        return f"{self.fills} fills so far, at most 2 before REDUCING"


def test_a_python_layer_explains_its_vetoes_resizes_and_state():
    for layer in (Halving(), Explained()):
        bt, ctx = engine({"layers": [{"kind": "python", "name": "halving", "layer": layer}]}, cash=1e6)
        events, changes = [], []
        i = iter(range(100))

        def on_bar(bar):
            ctx.submit(1 if next(i) != 1 else -1, 1.0)

        run(bt, ctx, [100.0] * 6, on_bar, events.append, changes.append)
        denied = [e for e in events if e.kind == "denied"]
        audit = bt.audit_entries()
        resizes = [e for e in audit if e["kind"] == "resize"]
        assert [(e["from"], e["to"], e["source"]) for e in resizes] == [("1.000", "0.500", "halving")] * 3
        ids = [e["orders"] for e in resizes]  # the buys of bars 0, 2 and 3, one entry each
        assert all(len(x) == 1 for x in ids) and ids == sorted(ids) and len({x[0] for x in ids}) == 3
        if isinstance(layer, Explained):
            # its explain() is the words of the veto, the resizes and the state it asked for
            assert denied[0].detail == "vetoed by layer halving: 1 fills so far, at most 2 before REDUCING"
            assert [e["reason"] for e in resizes] == [f"{n} fills so far, at most 2 before REDUCING" for n in (0, 1, 2)]
            assert changes[0]["reason"] == "3 fills so far, at most 2 before REDUCING"
        else:
            # without one: the veto's own str; a resize says who did it
            assert denied[0].detail == "vetoed by layer halving: no selling today"
            assert {e["reason"] for e in resizes} == {"resized by layer halving"}
            assert changes[0]["reason"] == "risk: vetoed by a risk layer"
        assert denied[0].code == "layer_veto"
        d = [e for e in audit if e["kind"] == "denial"]
        # the two REDUCING denials in a row: an entry each (a streak's head is never folded)
        assert [(e["code"], e["source"], e.get("count", 1)) for e in d] == [
            ("layer_veto", "halving", 1), ("state_reducing", "risk", 1), ("state_reducing", "risk", 1)]
        assert len(d[1]["orders"]) == 1 and d[2]["ts"] >= d[1]["ts"] and "last_reason" not in d[1]
        assert d[0]["reason"] == denied[0].detail and d[0]["orders"] == [denied[0].order_id]
        _core.verify_audit(audit)


class Broken:
    name = "broken"

    def check(self, order, account):
        raise RuntimeError("layer bug")


def test_an_exception_in_a_python_layer_denies_the_order_and_is_reported():
    bt, ctx = engine({"layers": [{"kind": "python", "name": "broken", "layer": Broken()}]})
    events = []
    run(bt, ctx, [100.0] * 2, lambda bar: ctx.submit(1, 0.01), events.append)
    assert [e.code for e in events if e.kind == "denied"] == ["layer_veto", "layer_veto"]
    assert [e.detail for e in events if e.kind == "denied"] == ["vetoed by layer broken: check() failed: RuntimeError: layer bug"] * 2
    assert bt.positions()[0][1] == 0.0
    rep = bt.risk_report()
    assert rep["vetoes_by_layer"] == {"broken": 2}
    assert "layer bug" in rep["layer_messages"][0]


def test_strategy_state_commands_emergency_flattens_and_audit_verifies(tmp_path):
    bt, ctx = engine({"audit_key": b"k3y"}, cash=1e6)
    changes = []
    i = iter(range(100))

    def on_bar(bar):
        k = next(i)
        if k == 0:
            ctx.submit(1, 1.0)
        elif k == 1:
            ctx.set_confidence(0.7)
            ctx.set_trading_state("halted", "operator says stop")
            ctx.submit(1, 1.0)  # applied after the state command: denied
        elif k == 2:
            ctx.set_trading_state("emergency", "flatten")

    events = []
    run(bt, ctx, [100.0] * 4, on_bar, events.append, changes.append)
    assert [(c["from"], c["to"], c["source"]) for c in changes] == [
        ("active", "halted", "command"),
        ("halted", "emergency", "command"),
    ]
    assert changes[0]["reason"] == "operator says stop"
    assert bt.positions()[0][1] == 0.0  # flattened at the close of bar 2
    assert [e.code for e in events if e.kind == "denied"] == ["state_halted"]
    rep = bt.risk_report()
    assert rep["state"] == "emergency"
    assert rep["time_in_state"] == {"active": 60.0, "reducing": 0.0, "paused": 0.0, "halted": 60.0, "emergency": 60.0}

    entries = bt.audit_entries()
    assert [e["kind"] for e in entries] == ["state", "denial", "state", "seal"]
    # the denied order is an entry too: its id, its code and why (the state and who set it)
    (denied,) = [e for e in events if e.kind == "denied"]
    d = entries[1]
    assert (d["code"], d["orders"], d["source"], d["from"], d["to"]) == ("state_halted", [denied.order_id], "risk", "halted", "halted")
    assert d["reason"] == denied.detail
    assert d["reason"].startswith("operator says stop: trading state HALTED (since ") and "by command" in d["reason"]
    # JSON lines round trip, then verify with the key
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    back = [json.loads(line) for line in path.read_text().splitlines()]
    _core.verify_audit(back, b"k3y")
    with pytest.raises(ValueError, match="audit entry 0: hash mismatch"):
        _core.verify_audit(back)  # the key is needed
    edited = [dict(e) for e in back]
    edited[1]["reason"] = "nothing to see"
    with pytest.raises(ValueError, match="audit entry 1: hash mismatch"):
        _core.verify_audit(edited, b"k3y")
    with pytest.raises(ValueError, match="audit entry 0"):
        _core.verify_audit([back[1], back[0], back[2]], b"k3y")
    with pytest.raises(ValueError, match="seal"):
        _core.verify_audit(back[:-1], b"k3y")
    with pytest.raises(ValueError, match="audit entry 1: missing key \"hash\""):
        _core.verify_audit([back[0], {k: v for k, v in back[1].items() if k != "hash"}])


def test_bypass_is_audited_and_lets_everything_through():
    cfg = {"bypass": True, "limits": {"instruments": {"BTCUSDT": {"max_position": 0.5}}}}
    bt, ctx = engine(cfg, cash=1e6)
    run(bt, ctx, [100.0] * 2, lambda bar: ctx.submit(1, 1.0))
    assert bt.positions()[0][1] == pytest.approx(2.0)
    entries = bt.audit_entries()
    assert entries[0]["kind"] == "bypass" and entries[-1]["kind"] == "seal"
    _core.verify_audit(entries)
    assert bt.risk_report()["denials"] == {}


def test_builtin_layers_are_parsed_before_they_are_built():
    # The dict of every built-in layer parses and builds, alone and all six together (the errors
    # above come from the same parser); a field of the wrong type in any of them is refused.
    layers = [
        {"kind": "drawdown", "name": "drawdown", "soft": 0.1, "hard": 0.2, "hard_state": "emergency", "daily_loss": 0.05},
        {"kind": "vol_target", "name": "vol", "target": 0.4, "estimator": {"kind": "garch", "alpha": 0.05, "beta": 0.94, "omega": None, "warmup": 500},
         "periods_per_year": 525600.0, "min_scale": 0.0, "max_scale": 2.0},
        {"kind": "kelly", "name": "kelly", "fraction": 0.25, "window": 100, "min_trades": 20},
        {"kind": "confidence", "name": "confidence", "min_confidence": 0.2, "min_scale": 0.25, "max_scale": 1.0, "min_leverage": 1.0, "max_leverage": 3.0},
        {"kind": "panic", "name": "panic", "stale_ns": 120_000_000_000, "spread_k": 5.0, "spread_window": 100,
         "slippage_k": 5.0, "expected_slippage_bps": 2.0, "max_consecutive_rejects": 5, "state": "paused", "cooldown_ns": 60_000_000_000},
        {"kind": "circuit_breaker", "name": "breaker", "failure_threshold": 5, "cooldown_ns": 3_600_000_000_000, "half_open_trials": 1},
    ]
    for layer in layers:
        bt, _ = engine({"layers": [layer]})
        assert bt.risk_report()["state"] == "active"
        number = next(k for k, v in layer.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        broken = {**layer, number: "big"}
        with pytest.raises(InvalidInputError, match=f"layers\\[0\\] \\({layer['kind']}\\)"):
            engine({"layers": [broken]})
    bt, _ = engine({"layers": layers})
    assert bt.risk_report()["state"] == "active"
