"""Risk configuration: TOML files and CLI flags → the engine's dict, with clear errors (exit 2)."""

from __future__ import annotations

import json

import pytest
from trader.cli import main
from trader.exceptions import InvalidInputError
from trader.risk import DEFAULT_LAYERS, RiskLayer, RiskSettings, load_risk_config, parse_duration, parse_rate
from trader_plugins.risk_layers import LAYERS

KNOWN = {layer.name: layer for layer in LAYERS}


def write(tmp_path, text: str):
    p = tmp_path / "risk.toml"
    p.write_text(text)
    return p


def test_durations_and_rates():
    assert parse_duration("x", "500ms") == 500_000_000
    assert parse_duration("x", "2m") == 120_000_000_000
    assert parse_duration("x", 1.5) == 1_500_000_000
    assert parse_duration("x", "1d") == 86_400_000_000_000
    assert parse_rate("r", "20/1s") == {"capacity": 20, "interval_ns": 1_000_000_000}
    assert parse_rate("r", "100/m") == {"capacity": 100, "interval_ns": 60_000_000_000}
    for bad in ("soon", "-1s", 0, True):
        with pytest.raises(InvalidInputError, match="^x: "):
            parse_duration("x", bad)
    for bad in ("20", "x/1s", "0/1s", "20/never"):
        with pytest.raises(InvalidInputError, match="^r: "):
            parse_rate("r", bad)


def test_toml_file_to_engine_dict(tmp_path):
    p = write(tmp_path, """
[risk]
initial_state = "Reducing"
layers = ["drawdown", { use = "circuit_breaker", name = "breaker", failure_threshold = 3, cooldown = "30m" },
          "vol_target:target=0.3,estimator=rolling,window=60"]
[risk.limits]
price_band_bps = 500
max_notional = 50000
max_leverage = 3
max_concentration = 0.5
submit_rate = "20/1s"
[risk.limits.instruments.BTCUSDT]
max_position = 2.5
""")
    s = load_risk_config(p)
    core = s.to_core(["BTCUSDT", "ETHUSDT"], KNOWN)
    assert core["initial_state"] == "reducing" and core["bypass"] is False
    lim = core["limits"]
    assert lim["price_band_bps"] == 500.0 and lim["max_notional"] == 50000.0 and lim["max_leverage"] == 3.0
    assert lim["submit_rate"] == {"capacity": 20, "interval_ns": 1_000_000_000}
    assert lim["check_balance"] is True and lim["modify_rate"] is None
    assert lim["instruments"] == {"BTCUSDT": {"max_position": 2.5, "max_qty": None, "min_price": None, "max_price": None,
                                              "min_notional": None}}
    names = [layer["name"] for layer in core["layers"]]
    assert names == ["drawdown", "breaker", "vol_target"]
    breaker = core["layers"][1]
    assert breaker == {"kind": "circuit_breaker", "name": "breaker", "failure_threshold": 3, "cooldown_ns": 1_800_000_000_000,
                       "half_open_trials": 1}
    vol = core["layers"][2]
    assert vol["target"] == 0.3 and vol["estimator"] == {"kind": "rolling", "window": 60}


def test_states_are_case_insensitive_and_messages_one_line(tmp_path):
    p = write(tmp_path, '[risk]\ninitial_state = "HALTED"\nlayers = ["drawdown:hard_state=Halted", "panic:state=PAUSED"]\n')
    core = load_risk_config(p).to_core(["BTC"], KNOWN)
    assert core["initial_state"] == "halted"
    assert core["layers"][0]["hard_state"] == "halted" and core["layers"][1]["state"] == "paused"
    with pytest.raises(InvalidInputError) as e:
        load_risk_config(write(tmp_path, "[risk.limits]\nmax_concentration = 0\n"))
    assert "\n" not in str(e.value) and str(e.value).endswith("max_concentration: expected a number > 0 and <= 1, got 0")


def test_defaults_and_none():
    assert [c["name"] for c in RiskSettings().layer_configs(KNOWN)] == list(DEFAULT_LAYERS)
    assert RiskSettings(layers=[]).layer_configs(KNOWN) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("[risk]\nbypas = true", r"unknown key 'bypas'"),
        ("[risk.limits]\nmax_levrage = 3", r"unknown key 'max_levrage'"),
        ("[risk.limits]\nmax_leverage = -3", r"max_leverage: expected a number > 0"),
        ("[risk.limits]\nmax_concentration = 1.5", r"max_concentration: expected a number > 0 and <= 1"),
        ("[risk.limits]\nsubmit_rate = \"fast\"", r"submit_rate: expected COUNT/INTERVAL"),
        ("[risk.limits.instruments.BTC]\nmax_posn = 1", r"instruments.BTC: unknown key 'max_posn'"),
        ("[risk]\ninitial_state = \"asleep\"", r"initial_state: expected one of"),
        ("[risk]\nlayers = [\"drawdwn\"]", r"layers\[0\]: unknown risk layer 'drawdwn'"),
        ("[risk]\nlayers = [{ use = \"drawdown\", soft = 2 }]", r"risk layer drawdown: soft: expected a number > 0 and <= 1"),
        ("[risk]\nlayers = [{ use = \"drawdown\", hard_state = \"paused\" }]", r"hard_state: expected one of emergency, halted"),
        ("[risk]\nlayers = [{ use = \"kelly\", frac = 0.1 }]", r"risk layer kelly: unknown key 'frac'"),
        ("[risk]\nlayers = [{ soft = 0.1 }]", r"needs `use"),
        ("[risk]\nlayers = [\"drawdown\", \"drawdown\"]", r"'drawdown' is used twice"),
        ("[risk]\nlayers = [\"vol_target:estimator=garch,alpha=0.5,beta=0.6\"]", r"alpha \+ beta < 1"),
        ("[risk\n", r"not valid TOML"),
        ("[risk]\nbypass = \"yes\"", r"bypass: expected true or false, got \"yes\""),
        ("[risk.limits]\nmax_notional = inf", r"max_notional: expected a finite number, got inf"),
        ("[risk.limits]\nmodify_rate = { count = 5, intervl = \"1m\" }", r"modify_rate: unknown key 'intervl' \(known: count, interval\)"),
        ("[risk.limits.instruments]\nBTC = 5", r"instruments.BTC: expected a table, got 5"),
        ("[risk.limits.instruments.BTC]\nmax_qty = -1", r"instruments.BTC.max_qty: expected a number > 0, got -1"),
        ("[risk]\nlayers = [\"vol_target:estimator=ewma\"]", r"estimator.kind: expected one of rolling, garch, got \"ewma\""),
        ("[risk]\nlayers = [{ use = \"vol_target\", estimator = { kind = \"garch\", window = 3 } }]",
         r"estimator: unknown key 'window' \(known: alpha, beta, omega, warmup\)"),
        ("[risk]\nlayers = [\"vol_target:estimator=rolling,window=1\"]", r"estimator.window: expected a whole number >= 2, got 1"),
        ("[risk]\nlayers = [\"kelly:window=1.5\"]", r"risk layer kelly: window: expected a whole number >= 0, got 1.5"),
        ("[risk]\nlayers = [\"panic:cooldown=soon\"]", r"risk layer panic: cooldown: expected a duration like 5s"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(InvalidInputError, match=message) as e:
        load_risk_config(p).to_core(["BTC"], KNOWN)
    assert str(p) in str(e.value)


def test_instrument_not_in_run(tmp_path):
    p = write(tmp_path, "[risk.limits.instruments.DOGE]\nmax_position = 1")
    with pytest.raises(InvalidInputError, match=r"'DOGE' is not traded in this run \(instruments: BTC\)"):
        load_risk_config(p).to_core(["BTC"], KNOWN)


def test_cli_overrides_merge():
    s = RiskSettings(limits={"max_leverage": 2}, layers=["drawdown"]).merged(
        limits={"max_leverage": 5, "max_position": 0.5, "instruments.BTC.max_qty": 0.1}, bypass=True)
    core = s.to_core(["BTC", "ETH"], KNOWN)
    assert core["bypass"] is True and core["limits"]["max_leverage"] == 5.0
    assert core["limits"]["instruments"]["BTC"]["max_position"] == 0.5 and core["limits"]["instruments"]["BTC"]["max_qty"] == 0.1
    assert core["limits"]["instruments"]["ETH"]["max_position"] == 0.5 and core["limits"]["instruments"]["ETH"]["max_qty"] is None
    assert [c["name"] for c in core["layers"]] == ["drawdown"]


def test_python_layer_plugin():
    class Cap(RiskLayer):
        name = "cap"
        limit = 1.0

        def check(self, order, account):
            return min(order["qty"], self.limit)

    core = RiskSettings(layers=["cap:limit=0.5"]).to_core(["BTC"], {**KNOWN, "cap": Cap})
    (layer,) = core["layers"]
    assert layer["kind"] == "python" and layer["name"] == "cap" and layer["layer"].limit == 0.5
    with pytest.raises(InvalidInputError, match="unknown parameter 'size'"):
        RiskSettings(layers=["cap:size=1"]).to_core(["BTC"], {**KNOWN, "cap": Cap})


@pytest.mark.parametrize(
    "args, message",
    [
        (["--risk-limit", "max_leverage"], "expected KEY=VALUE"),
        (["--risk-limit", "max_leverage=-1"], "max_leverage: expected a number > 0"),
        (["--risk-layer", "nope"], "unknown risk layer 'nope'"),
        (["--risk-layer", "drawdown:soft=0.5,hard=2"], "hard: expected a number > 0 and <= 1"),
    ],
)
def test_cli_bad_risk_flags_exit_2(args, message, capsys):
    assert cli_exit(["backtest", "-o", "bars=500", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_missing_risk_config_exit_2(tmp_path, capsys):
    assert cli_exit(["backtest", "-o", "bars=500", "--risk-config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_json_summary_without_risk_config_has_the_structural_checks_only(capsys):
    assert cli_exit(["backtest", "-o", "bars=2000", "--json"]) == 0
    risk = json.loads(capsys.readouterr().out)["risk"]
    assert risk["state"] == "active" and risk["changes"] == [] and not any(risk["denials"].values())


def cli_exit(argv: list[str]) -> int:
    """Run the CLI in-process; its exit code (0 when it returns)."""
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_merged_settings_keep_their_parsed_limits():
    """merged() validates again: every parsed limit (a rate above all) must pass its own check."""
    s = RiskSettings(limits={"submit_rate": "20/1s", "modify_rate": {"count": 5, "interval": "1m"}, "max_leverage": 3})
    m = s.merged(limits={"max_leverage": 2})
    assert m.limits["submit_rate"] == {"capacity": 20, "interval_ns": 1_000_000_000}
    assert m.limits["modify_rate"] == {"capacity": 5, "interval_ns": 60_000_000_000}
    assert m.merged().limits == m.limits
    for bad in ({"capacity": 0, "interval_ns": 1}, {"capacity": 2, "interval_ns": -1}, {"capacity": 1.5, "interval_ns": 1}):
        with pytest.raises(InvalidInputError, match="^r: "):
            parse_rate("r", bad)
