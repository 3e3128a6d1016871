from __future__ import annotations

import importlib.metadata
import json

import pytest

import trader
from trader import plugins
from trader.cli import main
from trader.exceptions import DataError

BUILTINS = {"binance", "tardis", "binance_ws", "parquet_ticks", "csv", "parquet", "feather", "synthetic"}


@pytest.fixture(autouse=True)
def fresh_manager(monkeypatch):
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    plugins.get_plugin_manager.cache_clear()
    yield
    plugins.get_plugin_manager.cache_clear()


def _with_extra_entry_points(monkeypatch, tmp_path, modules: dict[str, str]):
    """Add modules written into tmp_path as fake entry points of group 'trader'."""
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = importlib.metadata.entry_points
    fake = [importlib.metadata.EntryPoint(name=f"ext.{n}", value=n, group="trader") for n in modules]

    def entry_points(**kw):
        found = list(real(**kw))
        return found + fake if kw.get("group") == "trader" else found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_builtins_come_from_our_distribution():
    rows = plugins.list_plugins()
    sources = {r.name: r for r in rows if r.kind == "data source"}
    assert set(sources) >= BUILTINS
    for name in BUILTINS:
        assert sources[name].distribution.split()[0] == "trader"
        assert sources[name].module == "trader_plugins.data_sources"
    assert plugins.get_plugin_manager().broken == []
    assert {"ema_cross"} <= set(plugins.strategies())
    assert list(plugins.data_sources())[:8] == ["binance", "tardis", "binance_ws", "parquet_ticks", "csv", "parquet", "feather", "synthetic"]


def test_broken_plugins_reported_by_name_and_skipped(monkeypatch, tmp_path, capsys):
    _with_extra_entry_points(
        monkeypatch,
        tmp_path,
        {
            "boom_plugin": "raise RuntimeError('boom at import')\n",
            "nospec_plugin": "import trader\n\n@trader.hookimpl\ndef trader_no_such_hook():\n    return []\n",
            "good_plugin": (
                "import trader\n\nclass Src:\n    name = 'extra'\n    description = 'x'\n"
                "    def can_open(self, path):\n        return str(path).endswith('.extra')\n"
                "    def open(self, path, **kw):\n        raise NotImplementedError\n\n"
                "@trader.hookimpl\ndef trader_data_sources():\n    return [Src()]\n"
            ),
            "raising_hook": "import trader\n\n@trader.hookimpl\ndef trader_venues():\n    raise ValueError('no venue today')\n",
        },
    )
    pm = plugins.get_plugin_manager()
    broken = {b.name: b for b in pm.broken}
    assert "RuntimeError: boom at import" in broken["ext.boom_plugin"].error
    assert "trader_no_such_hook" in broken["ext.nospec_plugin"].error  # found by check_pending
    assert not pm.has_plugin("ext.nospec_plugin")
    rows = plugins.list_plugins()
    assert "ValueError: no venue today" in {b.name: b for b in pm.broken}["ext.raising_hook"].error
    assert {r.name for r in rows} >= BUILTINS | {"extra"}
    assert plugins.find_data_source("x.extra").name == "extra"
    err = capsys.readouterr().err
    assert "skipped broken plugin 'ext.boom_plugin'" in err and "Traceback" not in err


def test_check_pending_rejects_unknown_hook():
    import pluggy

    pm = plugins.TraderPluginManager()

    class Bad:
        @trader.hookimpl
        def trader_unknown(self):
            return []

    pm.register(Bad(), name="bad")
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()
    plugins.check_pending(pm)
    assert [b.name for b in pm.broken] == ["bad"]


def test_autoload_can_be_disabled(monkeypatch):
    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    pm = plugins.get_plugin_manager()
    assert plugins.list_plugins() == [] and plugins.data_sources() == {}

    class Mine:
        @trader.hookimpl
        def trader_data_sources(self):
            from trader.data import SyntheticSource

            return [SyntheticSource()]

    pm.register(Mine(), name="mine")
    assert list(plugins.data_sources()) == ["synthetic"]
    assert plugins.list_plugins()[0].distribution == "-"


def test_duplicate_names_name_both_distributions(monkeypatch, tmp_path):
    _with_extra_entry_points(
        monkeypatch,
        tmp_path,
        {"dup_csv": "import trader\nfrom trader.data import CsvSource\n\n@trader.hookimpl\ndef trader_data_sources():\n    return [CsvSource()]\n"},
    )
    with pytest.raises(plugins.PluginError, match=r"'csv'.*trader_plugins.data_sources \(from trader .*\) and dup_csv \(from unknown distribution\)"):
        plugins.data_sources()


def test_find_data_source():
    assert plugins.find_data_source(None).name == "synthetic"
    assert plugins.find_data_source("whatever.bin", "feather").name == "feather"
    with pytest.raises(DataError, match=r"unknown data source 'nope' \(known: binance, tardis, binance_ws, parquet_ticks, csv"):
        plugins.find_data_source("x.csv", "nope")
    with pytest.raises(DataError, match=r"missing.bin: no such file"):
        plugins.find_data_source("missing.bin")


def test_find_data_source_unreadable(tmp_path):
    path = tmp_path / "x.bin"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"no data source can read .*x.bin \(known: binance, tardis, binance_ws, parquet_ticks, csv, parquet, feather, synthetic, catalog\)"):
        plugins.find_data_source(str(path))


def test_cli_plugins_json_and_table(capsys):
    main(["plugins", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in out["plugins"] if p["kind"] == "data source"} >= BUILTINS
    assert out["broken"] == []
    main(["plugins"])
    text = capsys.readouterr().out
    assert "synthetic" in text and "trader_plugins.data_sources" in text


def test_cli_inspect_json(shared_data, capsys):
    main(["data", "inspect", str(shared_data / "klines_long/nic_TradingStrategyGA/BTC_USDT-1h.feather"), "--json"])
    meta = json.loads(capsys.readouterr().out)
    assert meta["gaps"]["count"] == 28 and meta["rows"] == 58_419 and meta["interval"] == "1h"
    main(["data", "inspect", "synthetic", "-o", "bars=500", "-o", "seed=3", "--json"])
    meta = json.loads(capsys.readouterr().out)
    assert meta["bars"] == 500 and meta["seed"] == 3


# ---- strategies from files and modules (trader.plugins.load_strategy) --------------------------

STRATEGY_FILE = '''
from trader import Param, Strategy


class Helper:
    pass


class BuyOnce(Strategy):
    """Buys ``qty`` on bar ``at`` (a parameter, so -p works)."""

    qty = Param(0.01, float, gt=0)
    at = Param(3, int, ge=0)

    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        if self.n == self.at:
            self.buy(self.qty)
        self.n += 1


def helper():
    pass
'''


def _write_strategy(tmp_path, text=STRATEGY_FILE, name="mine.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_strategy_from_a_file_runs_with_its_params(tmp_path):
    path = _write_strategy(tmp_path)
    cls = plugins.load_strategy(f"{path}:BuyOnce")
    assert cls.__name__ == "BuyOnce" and plugins.load_strategy(str(path)) is not None  # the one subclass
    result = trader.run_backtest(f"{path}:BuyOnce", {"qty": "0.02", "at": "5"}, options={"bars": 50})
    assert result.strategy == "BuyOnce" and result.params == {"qty": 0.02, "at": 5}
    assert list(result.fills["qty"]) == pytest.approx([0.02])
    assert result.fills["ts"][0] == result.equity_ts[6]  # decided on bar 5, filled at the next open


def test_a_strategy_from_a_module(tmp_path, monkeypatch):
    _write_strategy(tmp_path, name="my_strats.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert plugins.load_strategy("my_strats:BuyOnce").__name__ == "BuyOnce"
    assert plugins.load_strategy("trader_strategies.ema_cross:EmaCross").name == "ema_cross"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{dir}/nope.py:X", r"strategy {dir}/nope.py:X: {dir}/nope.py: no such file$"),
        ("{dir}:X", r"{dir}: is a directory, not a Python file$"),
        ("{dir}/mine.py:Nope", r"has no 'Nope' \(Strategy subclasses it defines: BuyOnce\)$"),
        ("{dir}/mine.py:Helper", r"Helper in {dir}/mine.py is a class, not a trader.Strategy subclass \(Strategy subclasses it defines: BuyOnce\)$"),
        ("{dir}/mine.py:helper", r"helper in {dir}/mine.py is a function, not a trader.Strategy subclass"),
        ("{dir}/raises.py:X", r"importing {dir}/raises.py raised RuntimeError: boom at import \(line 3\)$"),
        ("{dir}/syntax.py:X", r"importing {dir}/syntax.py raised SyntaxError: .* \(line 2\)$"),
        ("{dir}/two.py", r"two.py defines 2 Strategy subclasses \(A, B\): name one as {dir}/two.py:ClassName$"),
        ("no_such_package.mod:X", r"no module named 'no_such_package'$"),
        ("trader_strategies.ema_cross:Nope", r"module trader_strategies.ema_cross has no 'Nope' \(Strategy subclasses it defines: EmaCross\)$"),
        ("trader_strategies.ema_cross", None),  # no colon, no .py: a registry name, unknown
    ],
)
def test_strategy_location_errors_are_one_line(tmp_path, spec, message):
    _write_strategy(tmp_path)
    _write_strategy(tmp_path, "import trader\nx = 1\nraise RuntimeError('boom at import')\n", "raises.py")
    _write_strategy(tmp_path, "import trader\ndef f(:\n", "syntax.py")
    _write_strategy(tmp_path, "from trader import Strategy\nclass A(Strategy): pass\nclass B(Strategy): pass\n", "two.py")
    spec = spec.format(dir=tmp_path)
    with pytest.raises(trader.exceptions.InvalidInputError) as e:
        trader.backtest.make_strategy(spec)
    text = str(e.value)
    assert "\n" not in text
    if message is None:
        assert f"unknown strategy {spec!r}" in text
    else:
        import re

        assert re.search(message.format(dir=re.escape(str(tmp_path))), text), text


def test_cli_runs_a_strategy_file(tmp_path, capsys):
    path = _write_strategy(tmp_path)
    main(["backtest", "-s", f"{path}:BuyOnce", "-p", "at=2", "-o", "bars=40", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["strategy"] == "BuyOnce" and out["params"]["at"] == 2 and out["fills"] == 1


def test_a_file_strategy_that_raises_during_the_run_keeps_its_traceback(tmp_path):
    """Import errors are one line (exit 2); an error *in the run* is the strategy's own bug: its
    traceback, pointing into the file, and exit 1, as for any strategy."""
    import subprocess
    import sys

    path = _write_strategy(tmp_path, "from trader import Strategy\n\nclass Boom(Strategy):\n    def on_bar(self, bar):\n"
                                     "        raise KeyError('strategy bug')\n")
    p = subprocess.run([sys.executable, "-m", "trader", "backtest", "-s", f"{path}:Boom", "-o", "bars=100"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert "Traceback" in p.stderr and f'File "{path}", line 5, in on_bar' in p.stderr and "KeyError: 'strategy bug'" in p.stderr
