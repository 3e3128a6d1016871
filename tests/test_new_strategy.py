"""``trader new-strategy``: every template makes a package that pip installs, that trader finds
through its entry point, whose strategy runs and trades, and whose own tests pass; bad names and
folders are refused (exit 2, one line) before anything is written. Also ``trader strategies
--show``."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from trader.cli_new import TEMPLATES

# Unique per run: a stale install of an earlier, interrupted run cannot get in the way.
NAMES = {kind: f"nt{os.getpid()}_{kind}" for kind in TEMPLATES}


def trader_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def pip(*args: str) -> None:
    p = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


def _offline_build() -> list[str]:
    """``--no-build-isolation`` when the environment can build an editable setuptools package
    itself (setuptools >= 64 and wheel): then no index is needed. Otherwise pip fetches the build
    requirements into an isolated environment (CI has PyPI)."""
    if importlib.util.find_spec("wheel") is None or importlib.util.find_spec("setuptools") is None:
        return []
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    return ["--no-build-isolation"] if major >= 64 else []


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory):
    """Every template, generated into one folder and pip-installed (editable, no deps) in one pip
    call; uninstalled again afterwards."""
    root = tmp_path_factory.mktemp("new_strategy")
    made = {}
    for kind, name in NAMES.items():
        p = trader_cli("new-strategy", name, "--template", kind, "--dir", str(root))
        assert p.returncode == 0, p.stderr
        made[kind] = root / name
    dists = [name.replace("_", "-") for name in NAMES.values()]
    try:
        args = ["install", "--quiet", "--no-deps", *_offline_build()]
        for path in made.values():
            args += ["-e", str(path)]
        pip(*args)
        yield made
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *dists], capture_output=True, timeout=600)


def test_the_generated_package_is_complete(packages: dict[str, Path]) -> None:
    for kind, path in packages.items():
        name = NAMES[kind]
        files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and "egg-info" not in str(p)
                       and "__pycache__" not in str(p))
        assert files == ["README.md", "pyproject.toml", f"src/{name}/__init__.py", f"src/{name}/strategy.py",
                         f"tests/test_{name}.py"], kind
        for f in files:
            assert "{{" not in (path / f).read_text(), f"{kind}: {f} has an unfilled placeholder"
        meta = tomllib.loads((path / "pyproject.toml").read_text())
        assert meta["project"]["entry-points"]["trader"] == {name: name}
        assert meta["build-system"]["build-backend"] == "setuptools.build_meta"
        compile((path / f"src/{name}/strategy.py").read_text(), "strategy.py", "exec")


def test_trader_strategies_lists_every_generated_strategy(packages: dict[str, Path]) -> None:
    p = trader_cli("strategies", "--json")
    assert p.returncode == 0, p.stderr
    listed = {r["name"]: r for r in json.loads(p.stdout)}
    for name in NAMES.values():
        assert name in listed and listed[name]["params"], name
    plugins = json.loads(trader_cli("plugins", "--json").stdout)["plugins"]
    ours = {r["name"]: r["distribution"] for r in plugins if r["kind"] == "strategy"}
    for name in NAMES.values():
        assert ours[name].startswith(name.replace("_", "-") + " 0.1.0")


@pytest.mark.parametrize("kind", ["bar", "vectorized", "ml"])
def test_backtest_runs_and_trades_on_the_default_data(packages: dict[str, Path], kind: str) -> None:
    name = NAMES[kind]
    mode = ["--mode", "vectorized"] if kind in ("vectorized", "ml") else []
    p = trader_cli("backtest", "--strategy", name, *mode, "-o", "bars=30000", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["strategy"] == name and doc["bars"] == 30_000
    assert doc["fills"] > 0


@pytest.mark.parametrize("kind", ["tick", "l2"])
def test_backtest_l2_runs_and_trades_on_a_recording(packages: dict[str, Path], kind: str, shared_data: Path) -> None:
    recording = shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
    p = trader_cli("backtest-l2", str(recording), "--strategy", NAMES[kind], "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["fills"] > 0
    if kind == "tick":
        assert doc["trade_calls"] > 1000  # on_trade drove it
    else:
        assert doc["strategy_calls"] > 1000 and doc["maker_fills"] == doc["fills"]  # on_book, post-only quotes
        assert abs(doc["position"]) <= 0.01 + 1e-12  # max_position


@pytest.mark.parametrize("kind", TEMPLATES)
def test_the_generated_tests_pass(packages: dict[str, Path], kind: str) -> None:
    path = packages[kind]
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path / "tests")],
                       capture_output=True, text=True, timeout=600, cwd=path)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and " failed" not in p.stdout and " skipped" not in p.stdout, p.stdout[-2000:]


def test_strategies_show_a_generated_strategy(packages: dict[str, Path]) -> None:
    name = NAMES["bar"]
    p = trader_cli("strategies", "--show", name, "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    source = packages["bar"] / f"src/{name}/strategy.py"
    assert Path(info["file"]).resolve() == source.resolve()
    lines = source.read_text().splitlines()
    assert lines[info["line"] - 1].startswith("class ")
    assert {q["name"]: q["default"] for q in info["params"]} == {"trend": 200, "rsi_period": 14, "entry": 35.0, "exit": 55.0, "size": 0.5}
    text = trader_cli("strategies", "--show", name)
    assert text.returncode == 0 and f"{source}:{info['line']}" in text.stdout.replace("\n", "")


# ---- without installing anything ------------------------------------------------------------------


def test_strategies_show_a_bundled_strategy() -> None:
    from trader_strategies.rsi_reversion import RsiReversion

    p = trader_cli("strategies", "--show", "rsi_reversion", "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["file"] == inspect.getsourcefile(RsiReversion) and info["line"] == inspect.getsourcelines(RsiReversion)[1]
    params = {q["name"]: q for q in info["params"]}
    assert list(params) == list(RsiReversion.params())
    assert params["period"] == {"name": "period", "type": "int", "default": 14, "bounds": [">= 2"], "choices": None,
                                "description": "RSI period"}
    assert info["doc"].startswith("rsi_reversion: buy oversold")  # no class docstring: the module's
    text = trader_cli("strategies", "--show", "rsi_reversion")
    assert text.returncode == 0 and "oversold level: buy below" in text.stdout and "rsi_reversion.py:" in text.stdout


def test_strategies_show_unknown_name_exits_2_with_close_matches() -> None:
    p = trader_cli("strategies", "--show", "rsi_reverson")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert "'rsi_reverson': not registered; did you mean rsi_reversion?" in p.stderr


@pytest.mark.parametrize(("name", "message"), [
    ("1bad", "is not usable as a Python package"),
    ("my-strategy", "is not usable as a Python package"),
    ("class", "is not usable as a Python package"),
    ("ema_cross", "a strategy named 'ema_cross' is already registered"),
    ("json", "a module named 'json' is already importable"),
])
def test_bad_names_exit_2_and_write_nothing(tmp_path: Path, name: str, message: str) -> None:
    p = trader_cli("new-strategy", name, "--dir", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr and message in p.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_folders_exit_2_and_lose_nothing(tmp_path: Path) -> None:
    taken = tmp_path / "nt_taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    p = trader_cli("new-strategy", "nt_taken", "--dir", str(tmp_path))
    assert p.returncode == 2 and "exists and is not empty" in p.stderr and p.stderr.strip().count("\n") == 0
    assert [f.name for f in taken.iterdir()] == ["keep.txt"] and (taken / "keep.txt").read_text() == "mine"
    (tmp_path / "nt_file").write_text("x")
    p = trader_cli("new-strategy", "nt_file", "--dir", str(tmp_path))
    assert p.returncode == 2 and "exists and is not a folder" in p.stderr
    p = trader_cli("new-strategy", "nt_x", "--dir", str(tmp_path / "missing"))
    assert p.returncode == 2 and "no such folder" in p.stderr
    p = trader_cli("new-strategy", "nt_x", "--dir", str(tmp_path / "nt_file"))
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr
    p = trader_cli("new-strategy", "nt_x", "--template", "hft", "--dir", str(tmp_path))
    assert p.returncode == 2 and "hft" in p.stderr and p.stderr.strip().count("\n") == 0
    assert sorted(f.name for f in tmp_path.iterdir()) == ["nt_file", "nt_taken"]  # nothing left behind


def test_an_empty_target_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "nt_empty").mkdir()
    p = trader_cli("new-strategy", "nt_empty", "--template", "tick", "--dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "nt_empty/src/nt_empty/strategy.py").is_file()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["nt_empty"]  # no temporary folder left
