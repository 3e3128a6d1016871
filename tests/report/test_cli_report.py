"""``--report``, ``--returns-out`` and ``trader report`` as real ``python -m trader`` processes: the
files they write, and bad paths refused before any work with exit 2, one line, nothing written."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BARS = ["-o", "bars=5000"]


def trader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_returns_out_is_a_daily_series_quantstats_reads(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    p = trader("backtest", *BARS, "--returns-out", "r.csv", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    r = pd.read_csv(tmp_path / "r.csv", index_col=0, parse_dates=True).squeeze()
    assert isinstance(r, pd.Series) and r.name == "returns"
    assert isinstance(r.index, pd.DatetimeIndex) and r.index.is_monotonic_increasing
    assert (r.index == r.index.normalize()).all()  # whole UTC days
    assert len(r) == math.ceil(s["span_days"])  # 5,000 minutes from midnight: 4 days
    # the days' returns compound to the run's
    assert float((1 + r).prod()) == pytest.approx(s["final_equity"] / s["initial_cash"], rel=1e-9)
    p = trader("backtest", *BARS, "--returns-out", "r.parquet", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rp = pd.read_parquet(tmp_path / "r.parquet")["returns"]
    assert isinstance(rp.index, pd.DatetimeIndex) and rp.tolist() == pytest.approx(r.tolist(), rel=1e-12)


def test_backtest_report_and_a_report_from_saved_runs(tmp_path: Path) -> None:
    p = trader("backtest", *BARS, "--report", "a.html", "--tables-out", "a", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = trader("backtest", *BARS, "-p", "fast=5", "-p", "slow=50", "--tables-out", "b", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "a" / "run.json").is_file() and (tmp_path / "a" / "trades.parquet").is_file()
    page = (tmp_path / "a.html").read_text()
    assert "<h2>Equity</h2>" in page and "buy-and-hold SYNTH-USDT" in page
    p = trader("report", "a", "-o", "one.html", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "one.html").read_text().count('<div class="fig">') == page.count('<div class="fig">')
    p = trader("report", "a", "b", "-o", "ab.html", "--name", "base", "--name", "fast", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    ab = (tmp_path / "ab.html").read_text()
    assert "Comparison of 2 runs" in ab and ">base</th>" in ab and ">fast</th>" in ab and "fast=5" in ab


@pytest.mark.parametrize(("args", "message"), [
    (["backtest", *BARS, "--report", "missing/r.html"], "--report: missing/r.html: the directory missing does not exist"),
    (["backtest", *BARS, "--report", "r.txt"], "--report: r.txt: must end in .html or .htm"),
    (["backtest", *BARS, "--returns-out", "r.json"], "--returns-out: r.json: must end in .csv or .parquet"),
    (["backtest", *BARS, "--returns-out", "r.csv", "--fills-out", "r.csv"], "--returns-out: r.csv: also given to --fills-out"),
    (["report", "nowhere", "-o", "r.html"], "nowhere: not a folder"),
    (["report", ".", "-o", "r.html"], "holds no run.json"),
    (["report", ".", ".", "-o", "r.html", "--name", "x"], "--name: 1 names for 2 runs"),
    (["optimize", "-g", "fast=5,10", "--report", "r.pdf"], "--report: r.pdf: must end in .html or .htm"),
])
def test_bad_paths_exit_2_with_one_line_before_any_work(tmp_path: Path, args: list[str], message: str) -> None:
    p = trader(*args, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == [], "nothing written"


def test_backtest_l2_report_refuses_a_bad_path_before_reading_the_recording(tmp_path: Path) -> None:
    rec = tmp_path / "rec.gz"
    rec.write_bytes(b"")  # never read: the path check comes first
    p = trader("backtest-l2", str(rec), "--report", "out/r.html", cwd=tmp_path)
    assert p.returncode == 2 and "--report: out/r.html: the directory out does not exist" in p.stderr
