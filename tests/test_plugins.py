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
    with pytest.raises(DataError, match=r"no data source can read .*x.bin \(known: binance, tardis, binance_ws, parquet_ticks, csv, parquet, feather, synthetic\)"):
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
