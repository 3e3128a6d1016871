"""The live node's configuration: TOML file + flags → LiveConfig, every bad value one line naming the key."""

from __future__ import annotations

import json
import os
import math

import msgspec
import pytest
from trader.exceptions import InvalidInputError
from trader.live.config import FeedSpec, LiveConfig, StrategyEntry, load_live_config, parse_control, parse_feed
from trader.risk import load_risk_config

#: (case, TOML text of live.toml or "" for none, flags (LiveConfig keys; values as a command line
#: gives them: ``--KEY`` with dashes, ``params`` is ``-p``), a fragment of the one-line error).
#: Relative paths are relative to the folder live.toml is in (the tests run there).
BAD_CONFIGS: list[tuple[str, str, dict, str]] = [
    ("unknown_key", "[live]\nspede = 2\n", {}, "live: unknown key 'spede' (known: strategy, params"),
    ("unknown_table", "[lve]\nspeed = 2\n", {}, "unknown key 'lve' (known: live, risk)"),
    ("invalid_toml", "[live\nspeed = 2\n", {}, "not valid TOML: Expected ']' at the end of a table declaration (at line 1"),
    ("wrong_type", "[live]\ncash = \"lots\"\n", {}, 'live.cash: expected a number within 0..1e+15, got "lots"'),
    ("wrong_type_flag", "", {"json": "maybe"}, '--json: expected true or false, got "maybe"'),
    ("bad_speed", "", {"speed": "fast"}, '--speed: expected "max" or a number > 0, got "fast"'),
    ("store_not_postgresql", "", {"store": "mysql://me:pw@db/x"}, '--store: expected a postgresql:// URL (the default store is SQLite in the state folder), got "mysql://me:***@db/x"'),
    ("negative_flush", "[live]\nflush_ms = -5\n", {}, "live.flush_ms: expected a number within 0..60000, got -5"),
    ("bad_store_sync", "", {"store_sync": "always"}, '--store-sync: expected one of full, normal, got "always"'),
    ("bad_inflight_timeout", "", {"inflight_timeout": "soon"}, '--inflight-timeout: expected seconds > 0 or a duration like 90s, 5m, 1h, got "soon"'),
    ("bad_speed_in_file", "[live]\nspeed = \"fast\"\n", {}, 'live.speed: expected "max" or a number > 0, got "fast"'),
    ("zero_speed", "[live]\nspeed = 0\n", {}, "live.speed: expected a number > 0, got 0"),
    ("bad_control_port", "", {"control": "localhost:99999"}, '--control: expected HOST:PORT with a port 0..65535, got "localhost:99999"'),
    ("control_without_port", "[live]\ncontrol = \"localhost\"\n", {}, 'live.control: expected HOST:PORT'),
    ("missing_replay_file", "", {"feed": "replay:no/such/recording.gz"}, "--feed: no/such/recording.gz: no such file"),
    ("bad_feed_kind", "[live]\nfeed = \"kafka:trades\"\n", {}, 'live.feed: expected synthetic[:seed=N,rate=R,price=P,symbol=S] or replay:PATH'),
    ("bad_synthetic_rate", "", {"feed": "synthetic:rate=0"}, "--feed: synthetic option rate: expected a number > 0 and <= 1000000"),
    ("unknown_synthetic_option", "", {"feed": "synthetic:colour=red"}, "--feed: synthetic options: unknown key 'colour'"),
    ("negative_cash", "", {"cash": "-5"}, '--cash: expected a number within 0..1e+15, got "-5"'),
    ("infinite_cash", "[live]\ncash = inf\n", {}, "live.cash: expected a number within 0..1e+15, got inf"),
    ("infinite_duration", "[live]\nduration = inf\n", {}, "live.duration: expected a finite number, got inf"),
    ("paper_false", "[live]\npaper = false\n", {}, "live.paper: the sim venue is paper trading; give a real venue"),
    ("paper_on_real_venue", "[live]\nvenue = \"binance\"\npaper = true\n", {},
     "live.paper: venue binance is a real venue; paper trading uses the sim venue"),
    ("venue_bad", "", {"venue": "bin ance"}, "venue: expected sim or NAME[:k=v,...]"),
    ("venue_option", "", {"venue": "binance:market"}, "venue: expected key=value"),
    ("sim_options", "", {"venue": "sim:x=1"}, "venue: the sim venue takes no options"),
    ("testnet_sim", "[live]\ntestnet = true\n", {}, "testnet: the sim venue has no test network"),
    ("credentials_missing", "", {"venue": "binance", "credentials": "/nonexistent/creds.toml"}, "credentials: "),
    ("duplicate_strategy_ids", "[[live.strategies]]\nid = \"a\"\nstrategy = \"x\"\n[[live.strategies]]\nid = \"a\"\nstrategy = \"y\"\n",
     {}, 'live.strategies: expected unique ids, "a" is used twice'),
    ("bad_strategy_id", "[[live.strategies]]\nid = \"a b\"\nstrategy = \"x\"\n", {},
     'live.strategies[0].id: expected 1 to 32 letters, digits, _ or -, got "a b"'),
    ("strategy_entry_without_strategy", "[[live.strategies]]\nid = \"a\"\n", {}, "live.strategies[0].strategy: missing (required)"),
    ("strategies_and_params", "[live]\nparams = { qty = 1 }\n[[live.strategies]]\nid = \"a\"\nstrategy = \"x\"\n", {},
     "live.strategies: give either strategy/params or [[live.strategies]], not both"),
    ("missing_strategy_file", "", {"strategy": "no/such/mine.py:Mine"}, "--strategy: no/such/mine.py: no such file"),
    ("bad_strategy_spec", "", {"strategy": "pkg.mod:"}, '--strategy: expected a strategy name, path/file.py:Class or package.module:Class'),
    ("bad_params", "[live]\nparams = { qty = [1, 2] }\n", {}, "live.params: expected a table whose values are each"),
    ("bad_duration", "", {"duration": "soon"}, '--duration: expected seconds > 0 or a duration like 90s, 5m, 1h, got "soon"'),
    ("zero_duration", "[live]\nduration = 0\n", {}, "live.duration: expected a number > 0, got 0"),
    ("missing_token_file", "", {"token_file": "no/such/token"}, '--token-file: "no/such/token": no such file'),
    ("bad_log_level", "[live]\nlog_level = \"verbose\"\n", {}, 'live.log_level: expected one of debug, error, info, warning, got "verbose"'),
    ("bad_market", "", {"market": "moon"}, '--market: expected usdm, spot or cm, got "moon"'),
    ("bad_account", "[live]\naccount = \"joint\"\n", {}, 'live.account: expected one of cash, margin, got "joint"'),
    ("leverage_on_cash", "", {"account": "cash", "leverage": "3"}, "--leverage: a cash account has no leverage"),
    ("leverage_too_high", "[live]\naccount = \"margin\"\nleverage = 5000\n", {}, "live.leverage: expected a number within 1..1000, got 5000"),
    ("fee_out_of_range", "", {"maker_fee_bps": "-500"}, "--maker-fee-bps: expected a number within -100..1000"),
    ("bad_fills_out", "", {"fills_out": "fills.txt"}, "--fills-out: fills.txt: must end in .csv or .parquet"),
    ("bad_latency", "", {"latency": "warp"}, "--latency: latency model: unknown model 'warp'"),
    ("bad_bar", "[live]\nbar = \"5x\"\n", {}, "live.bar: bad interval '5x'"),
    ("zero_elapse", "", {"elapse_ms": "0"}, "--elapse-ms: expected a number > 0"),
    ("stop_timeout_too_long", "[live]\nstop_timeout = \"2h\"\n", {}, "live.stop_timeout: expected a number > 0 and <= 3600, got 7200.0"),
    ("bad_watchdog", "", {"watchdog": "never"}, '--watchdog: expected seconds > 0 or a duration like 90s'),
    ("missing_risk_config", "", {"risk_config": "no/such/risk.toml"}, '--risk-config: "no/such/risk.toml": no such file'),
    ("bad_risk_table", "[risk.limits]\nmax_leverage = -3\n", {}, "max_leverage"),
]


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in a fresh folder (relative paths of the configurations resolve there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder, text: str, name: str = "live.toml"):
    p = folder / name
    p.write_text(text)
    return p


def test_bad_configs_are_distinct_and_enough():
    names = [c[0] for c in BAD_CONFIGS]
    assert len(names) == len(set(names)) >= 12


@pytest.mark.parametrize("name, text, flags, fragment", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_the_key(here, name, text, flags, fragment):
    path = write(here, text) if text else None
    with pytest.raises(InvalidInputError) as e:
        load_live_config(path, flags)
    message = str(e.value)
    assert fragment in message
    assert "\n" not in message
    if path is not None and not flags:
        assert str(path) in message  # a value from the file names the file


def test_defaults(here):
    cfg = load_live_config()
    assert cfg == LiveConfig() == load_live_config(write(here, "# nothing\n"))
    assert cfg.paper is True and cfg.venue == "sim" and cfg.feed == "synthetic" and cfg.speed == 1.0
    assert cfg.strategy == "l2_market_maker" and cfg.params == {} and cfg.risk_config is None
    assert cfg.entries() == [StrategyEntry(id="main", strategy="l2_market_maker")]
    assert cfg.feed_spec == FeedSpec(kind="synthetic")
    assert cfg.control_address == ("127.0.0.1", 0)
    from trader.live.control import default_state_dir

    assert cfg.state == default_state_dir() and cfg.log_path == os.path.join(default_state_dir(), "node.log")
    assert (cfg.stop_timeout, cfg.watchdog, cfg.cancel_on_stop, cfg.log_level) == (30.0, 5.0, True, "info")
    out = cfg.to_dict()
    assert json.loads(json.dumps(out)) == out and out["speed"] == 1.0 and out["log_file"] == cfg.log_path


def test_flags_win_over_the_file(here):
    path = write(here, """
[live]
speed = 2
cash = 500
control = "127.0.0.1:9000"
params = { qty = 0.5, side = "buy" }
log_level = "debug"
""")
    cfg = load_live_config(path, {"speed": "max", "cash": None, "control": "[::1]:9100", "params": {"qty": "1"}, "json": True})
    assert cfg.speed == math.inf and cfg.speed_max and cfg.to_dict()["speed"] == "max"
    assert cfg.cash == 500.0  # None: not given, the file's value stays
    assert cfg.control_address == ("::1", 9100)
    assert cfg.params == {"qty": "1"}  # flags replace the table; their strings are kept as given
    assert cfg.log_level == "debug" and cfg.json is True
    assert load_live_config(path).params == {"qty": 0.5, "side": "buy"}


def test_flag_strings_are_parsed(here):
    cfg = load_live_config(flags={"speed": "0.5", "duration": "90", "cash": "100", "leverage": "3", "account": "margin",
                                  "json": "true", "stop_timeout": "1m", "watchdog": "500ms", "elapse_ms": "50"})
    assert (cfg.speed, cfg.duration, cfg.cash, cfg.leverage, cfg.json) == (0.5, 90.0, 100.0, 3.0, True)
    assert (cfg.stop_timeout, cfg.watchdog, cfg.elapse_ms) == (60.0, 0.5, 50.0)
    for text, seconds in (("90s", 90.0), ("5m", 300.0), ("1h", 3600.0), ("1.5", 1.5)):
        assert load_live_config(flags={"duration": text}).duration == seconds
    assert load_live_config(write(here, '[live]\nduration = "5m"\nspeed = "MAX"\n')).duration == 300.0


def test_risk_table_in_the_same_file(here):
    path = write(here, """
[live]
cash = 2000

[risk.limits]
max_notional = 5000
""")
    cfg = load_live_config(path)
    assert cfg.risk_config == str(path)
    assert load_risk_config(cfg.risk_config).limits == {"max_notional": 5000.0}
    other = write(here, "[risk.limits]\nmax_notional = 10\n", "risk.toml")
    assert load_live_config(path, {"risk_config": str(other)}).risk_config == str(other)  # explicit wins
    explicit = write(here, f'[live]\nrisk_config = "{other}"\n[risk.limits]\nmax_notional = 5000\n', "both.toml")
    assert load_live_config(explicit).risk_config == str(other)
    assert load_live_config(write(here, "[live]\ncash = 1\n", "plain.toml")).risk_config is None


def test_several_strategies(here):
    path = write(here, """
[[live.strategies]]
id = "tight"
strategy = "l2_market_maker"
params = { offset_ticks = 1 }

[[live.strategies]]
id = "wide-2"
strategy = "l2_market_maker"
params = { offset_ticks = 5 }
""")
    cfg = load_live_config(path)
    assert [(e.id, e.params) for e in cfg.entries()] == [("tight", {"offset_ticks": 1}), ("wide-2", {"offset_ticks": 5})]
    # a strategy given by flags replaces the file's list: flags win
    one = load_live_config(path, {"strategy": "ema_cross", "params": {"fast": "5"}})
    assert one.entries() == [StrategyEntry(id="main", strategy="ema_cross", params={"fast": "5"})]


def test_strategy_specs(here):
    (here / "mine.py").write_text("from trader import Strategy\nclass Mine(Strategy):\n    pass\n")
    for spec in ("ema_cross", "mine.py", "mine.py:Mine", "./mine.py:Mine", "pkg.mod:Class"):
        assert load_live_config(flags={"strategy": spec}).strategy == spec


def test_feeds(here):
    (here / "a.gz").write_bytes(b"")
    (here / "b.gz").write_bytes(b"")
    assert parse_feed("replay:a.gz, b.gz") == FeedSpec(kind="replay", paths=("a.gz", "b.gz"))
    spec = parse_feed("synthetic:seed=7,rate=200,price=100.5,symbol=ETHUSDT")
    assert spec.kind == "synthetic" and spec.options == {"seed": 7, "rate": 200.0, "price": 100.5, "symbol": "ETHUSDT"}
    assert isinstance(spec.options["seed"], int)
    assert load_live_config(flags={"feed": "replay:a.gz"}).feed_spec.paths == ("a.gz",)
    for bad in ("replay:", "replay:a.gz,", "synthetic:seed", "synthetic:seed=1.5", "synthetic:rate=2e6", "file:a.gz"):
        with pytest.raises(InvalidInputError, match="^--feed: "):
            load_live_config(flags={"feed": bad})


@pytest.mark.parametrize("text, address", [("127.0.0.1:0", ("127.0.0.1", 0)), ("localhost:65535", ("localhost", 65535)),
                                           ("[::1]:8080", ("::1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80))])
def test_control_addresses(text, address):
    assert parse_control(text) == address


@pytest.mark.parametrize("text", ["localhost", ":80", "localhost:-1", "localhost:65536", "::1:80", "[]:80", "host:8o", " :80"])
def test_bad_control_addresses(text):
    with pytest.raises(InvalidInputError, match=r'^--control: expected HOST:PORT with a port 0\.\.65535, got'):
        load_live_config(flags={"control": text})


def test_account_market_and_models(here):
    cfg = load_live_config(flags={"market": "USD-M", "leverage": 5})
    assert cfg.market == "usdm" and cfg.leverage == 5.0  # futures: a margin account by default
    assert load_live_config(flags={"market": "coinm"}).market == "cm"
    with pytest.raises(InvalidInputError, match="^--leverage: a cash account has no leverage"):
        load_live_config(flags={"market": "spot", "leverage": 2})
    cfg = load_live_config(flags={"latency": "constant:submit_ms=5", "bar": "1m", "maker_fee_bps": -1, "taker_fee_bps": "4.5"})
    assert (cfg.latency, cfg.bar, cfg.maker_fee_bps, cfg.taker_fee_bps) == ("constant:submit_ms=5", "1m", -1.0, 4.5)


def test_paths(here):
    (here / "token").write_text("secret\n")
    (here / "state").mkdir()
    cfg = load_live_config(flags={"token_file": "token", "state": "state", "fills_out": "fills.parquet", "log_file": "x.log"})
    assert (cfg.token_file, cfg.state, cfg.fills_out, cfg.log_path) == ("token", "state", "fills.parquet", "x.log")
    assert load_live_config(flags={"state": "state"}).log_path == "state/node.log"
    with pytest.raises(InvalidInputError, match='^--state: "token" is a file'):
        load_live_config(flags={"state": "token"})
    with pytest.raises(InvalidInputError, match='^--token-file: "state": is a directory'):
        load_live_config(flags={"token_file": "state"})
    with pytest.raises(InvalidInputError, match="^--fills-out: no/fills.csv: the directory no does not exist"):
        load_live_config(flags={"fills_out": "no/fills.csv"})


def test_file_errors(here):
    with pytest.raises(InvalidInputError, match=r"^config .*nope\.toml: no such file$"):
        load_live_config(here / "nope.toml")
    with pytest.raises(InvalidInputError, match=r"^config .*: is a directory$"):
        load_live_config(here)
    (here / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidInputError, match=r"not a UTF-8 text file$"):
        load_live_config(here / "bin.toml")
    with pytest.raises(InvalidInputError, match=r"^config .*live\.toml: live: expected a table, got 3$"):
        load_live_config(write(here, "live = 3\n"))
    with pytest.raises(InvalidInputError, match=r"^flags: unknown key 'sped'"):
        load_live_config(flags={"sped": 1})


def test_constructed_directly():
    """Text forms are parsed and the domain checked without a decoder too."""
    cfg = LiveConfig(speed="max", duration="5m")  # type: ignore[arg-type]
    assert cfg.speed == math.inf and cfg.duration == 300.0
    with pytest.raises(ValueError, match="paper trading"):  # ConfigError: a ValueError, as msgspec expects
        LiveConfig(paper=False)
    real = LiveConfig(venue="binance:market=usdm,rest_url=http://127.0.0.1:1", testnet=True)
    assert real.paper is False and real.venue_kind == "binance"
    assert real.feed == "binance:market=usdm,rest_url=http://127.0.0.1:1,testnet=1"  # its own market data
    assert LiveConfig(venue="binance", feed="synthetic").feed == "synthetic"
    assert msgspec.convert(cfg.to_dict() | {"speed": 2.0, "log_file": None}, LiveConfig) == LiveConfig(speed=2.0, duration=300.0)
