"""A separate distribution (tests/plugin_dist) installed with pip is found through the entry-point
group ``trader``, listed by ``trader plugins``, and runs under ``trader backtest``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DIST = Path(__file__).parent / "plugin_dist"


@pytest.fixture(scope="module")
def installed_plugin():
    def pip(*args: str) -> None:
        p = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr

    pip("install", "--no-deps", "--quiet", str(DIST))
    yield
    pip("uninstall", "--yes", "--quiet", "trader-example-plugin")


def trader_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, timeout=120)


def test_trader_plugins_lists_the_third_party_strategy(installed_plugin):
    p = trader_cli("plugins", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    plugins = rows["plugins"] if isinstance(rows, dict) else rows
    ours = [r for r in plugins if r["name"] == "breakout_example"]
    assert ours and ours[0]["kind"] == "strategy"
    assert ours[0]["distribution"].startswith("trader-example-plugin")


def test_backtest_runs_the_third_party_strategy(installed_plugin):
    p = trader_cli("backtest", "--strategy", "breakout_example", "-p", "lookback=30", "-o", "bars=20000", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["strategy"] == "breakout_example" and doc["params"]["lookback"] == 30
    assert doc["fills"] > 0
