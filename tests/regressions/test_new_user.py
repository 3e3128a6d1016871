"""Regression tests for issue 10's first list ("tried as a new user would"), the CLI and inputs
bullets: each test is named after its bullet and quotes it. Each runs ``python -m trader`` as a
user would, in an empty folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._data import ROOT

FEATHER = "klines_1m/0g_trading/BTC_USDT-1m.feather"

#: The README's risk.toml, as the issue quotes it (the exact text of README.md when it was filed).
README_RISK_TOML = """\
# risk.toml — trader backtest --risk-config risk.toml [--risk-limit max_leverage=2] [--risk-layer kelly]
[risk]
layers = ["drawdown", { use = "circuit_breaker", failure_threshold = 3, cooldown = "30m" }, "panic"]
[risk.limits]
price_band_bps = 500
max_leverage = 3
submit_rate = "20/1s"
[risk.limits.instruments.BTCUSDT]
max_position = 2.5
"""


def trader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))


def one_error_line(p: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a bad-input exit (code 2, no traceback)."""
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert lines[0].isprintable(), lines[0]
    return lines[0]


def test_readme_risk_toml_works_through_the_cli(tmp_path, shared_data):
    """"The README's `risk.toml` fails in the CLI: `submit_rate: the count must be a whole number,
    got None` (the Python API reads the same file fine)"."""
    (tmp_path / "risk.toml").write_text(README_RISK_TOML, encoding="utf-8")
    p = trader("backtest", "--risk-config", "risk.toml", "--risk-limit", "max_leverage=2", "--data", str(shared_data / FEATHER),
               "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["risk"]["state"] in ("active", "reducing", "paused", "halted", "emergency")


def test_btcusdt_risk_limit_applies_to_the_btc_usdt_file(tmp_path, shared_data):
    """"its `[risk.limits.instruments.BTCUSDT]` does not match the symbol `BTC_USDT` that the
    README's own data file yields"."""
    (tmp_path / "risk.toml").write_text("[risk]\nlayers = []\n[risk.limits.instruments.BTCUSDT]\nmax_position = 0.001\n")
    data = str(shared_data / FEATHER)
    for extra in ((), ("--risk-limit", "instruments.BTC/USDT.max_position=0.001")):
        p = trader("backtest", "--risk-config", "risk.toml", "--data", data, "-p", "qty=0.01", "--end", "2025-12-21", "--json",
                   *extra, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert out["symbols"] == ["BTC_USDT"] and out["risk"]["denials"]["max_position"] > 0 and out["fills"] == 0


def test_readme_examples_name_files_that_exist(shared_data):
    """"`data="bars.feather"` and `bars.csv` in the examples do not exist." Every file an example
    reads (``--data X``, ``data="X"``) exists from a checkout beside ../shared/data, or is written
    by an earlier example (tests/test_readme.py runs them all)."""
    from tests.test_readme import ALL

    written = {b.file_name for b in ALL if b.file_name}
    reads = [(b.line, m.group(1)) for b in ALL if b.lang in ("bash", "python")
             for m in re.finditer(r"""(?:--data\s+|data=["'])([^\s"']+)""", b.text)]
    assert reads
    # a catalog entry is there once the same block (each runs in its own folder) downloaded it
    downloads = {(b.line, f"catalog:binance/{m.group(1)}/{sym}/{m.group(3) or '1m'}")
                 for b in ALL if b.lang == "bash"
                 for m in re.finditer(r"trader data download --market (\w+) --symbols (\S+)(?: --interval (\w+))?", b.text)
                 for sym in m.group(2).split(",")}
    blocks_at = {b.line: b for b in ALL}
    for line, name in reads:
        if name.startswith("catalog:"):
            assert any(dl_line == line and spec == name for dl_line, spec in downloads) or any(
                blocks_at[line].text.find(f"data resample {spec}") >= 0 for _, spec in downloads), \
                f"README.md line {line}: {name} is not downloaded in its own block"
            continue
        local = shared_data.parent.parent / name[len("../"):] if name.startswith("../shared/data/") else ROOT / name
        assert name in written or local.exists(), f"README.md line {line}: {name} does not exist"


@pytest.mark.parametrize("option", ["--report", "--fills-out", "--tables-out", "--audit-log"])
def test_output_into_a_missing_directory_is_refused_before_the_run(tmp_path, option):
    """"`--report`, `--fills-out`, `--tables-out`, `--audit-log` into a missing directory: a 26-line
    traceback and exit 1 *after* the run, and the results are lost"."""
    target = {"--report": "out/r.html", "--fills-out": "out/f.csv", "--tables-out": "out/t", "--audit-log": "out/a.jsonl"}[option]
    risk = ("--risk-layer", "default") if option == "--audit-log" else ()
    line = one_error_line(trader("backtest", "-o", "bars=2000", option, target, *risk, cwd=tmp_path))
    assert line == f"error: {option}: {target}: the directory out does not exist"
    assert list(tmp_path.iterdir()) == []


def test_truncated_csv_gz_is_one_line_exit_2(tmp_path, shared_data):
    """"A truncated `.csv.gz`: exit 1 and the single word `aborted`"."""
    data = (shared_data / "klines_1m/nautilus/btc-perp-20211231-20220201_1m.csv.gz").read_bytes()
    (tmp_path / "bars.csv.gz").write_bytes(data[: len(data) // 2])
    line = one_error_line(trader("backtest", "--data", "bars.csv.gz", cwd=tmp_path))
    assert line.startswith("error: bars.csv.gz: truncated: the compressed data ends early")


def test_csv_with_a_utf8_bom_is_accepted(tmp_path):
    """"A CSV with a UTF-8 BOM (what Excel writes) is refused with an invisible character in the message"."""
    rows = "".join(f"2024-01-01T00:{i:02d}:00,100,102,99,101,5\n" for i in range(60))
    (tmp_path / "bars.csv").write_bytes("\ufefftimestamp,open,high,low,close,volume\n".encode() + rows.encode())
    p = trader("backtest", "--data", "bars.csv", "--json", cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert json.loads(p.stdout)["bars"] == 60


def test_binary_csv_does_not_echo_its_bytes(tmp_path):
    """"A binary file named `.csv` echoes its bytes to the terminal"."""
    (tmp_path / "bars.csv").write_bytes(bytes(range(256)) * 16)
    line = one_error_line(trader("backtest", "--data", "bars.csv", cwd=tmp_path))
    assert line == "error: bars.csv: not a text file (byte 0 is NUL): expected UTF-8 CSV text"


def test_bars_99999999999999999999_is_refused_up_front(tmp_path):
    """"`-o bars=99999999999999999999` leaks an overflowed timestamp"."""
    line = one_error_line(trader("backtest", "-o", "bars=99999999999999999999", cwd=tmp_path))
    assert line == "error: synthetic: bars must be at most 1,000,000,000, got 99999999999999999999"


def test_slow_1000000000_warns_that_the_warm_up_is_longer_than_the_data(tmp_path, shared_data):
    """"Silent nonsense: `-p slow=1000000000` (warm-up longer than the data) ... exit 0 without a word"."""
    p = trader("backtest", "--data", str(shared_data / FEATHER), "-p", "slow=1000000000", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("warning: warm-up longer than the data: EMA was still warming up after all 63,643 bars of BTC_USDT")
    assert json.loads(p.stdout)["warnings"][0].startswith("warm-up longer than the data")


def test_size_precision_0_warns_that_every_order_rounds_to_zero(tmp_path, shared_data):
    """"Silent nonsense: ... `--size-precision 0` ... exit 0 without a word"."""
    p = trader("backtest", "--data", str(shared_data / FEATHER), "--size-precision", "0", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("warning: lot step too coarse: qty_for rounded all ") and "lot step 1 (size precision 0)" in p.stderr
    assert json.loads(p.stdout)["orders"] == 0


def test_cash_1e308_is_refused_up_front(tmp_path):
    """"Silent nonsense: ... `--cash 1e308` (0 trades, return −100 %) ... exit 0 without a word"."""
    line = one_error_line(trader("backtest", "--cash", "1e308", cwd=tmp_path))
    assert line.startswith("error: cash: must be a finite number > 0 and <= 1e15") and line.endswith("got 1e308")


def test_fee_bps_20000_is_refused_up_front(tmp_path):
    """"Silent nonsense: ... `--fee-bps 20000` all exit 0 without a word"."""
    line = one_error_line(trader("backtest", "--fee-bps", "20000", cwd=tmp_path))
    assert line.startswith("error: fee-bps: must be a finite number >= 0 and < 10,000") and line.endswith("got 20,000")


def test_strategy_in_a_file_runs_from_the_cli(tmp_path):
    """"A strategy in a file cannot be run from the CLI: `-s my.py:RsiMR` is "unknown strategy"; a
    user has to write and pip-install a plugin package first"."""
    (tmp_path / "my.py").write_text(
        "from trader import Param, Strategy\nfrom trader.indicators import RSI\n\n"
        "class RsiMR(Strategy):\n    period = Param(14, int, ge=2)\n\n"
        "    def on_start(self):\n        self.rsi = self.indicator(RSI(self.period))\n\n"
        "    def on_bar(self, bar):\n"
        "        if self.rsi.value < 30 and self.position() == 0:\n            self.buy(self.qty_for(0.5, bar.close))\n"
        "        elif self.rsi.value > 70 and self.position() > 0:\n            self.close()\n"
    )
    p = trader("backtest", "-s", "my.py:RsiMR", "-p", "period=10", "-o", "bars=5000", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["strategy"] == "RsiMR" and out["params"] == {"period": 10} and out["trades"] > 0
