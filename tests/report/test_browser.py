"""The reports in a real browser: headless Chromium over the DevTools Protocol
(``tests/report/_browser.py``) loads each page from file://, waits until every plotly figure the
page declares is drawn, and finds no console error, no uncaught exception, no failed request and
no request that left the machine. A full-page screenshot of each goes to ``test-artifacts/`` (or
``$TRADER_ARTIFACTS_DIR``) for CI to keep. Without Chromium the test skips locally and fails in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._data import ROOT
from tests.report._browser import find_chromium, inspect_page

#: The 1M-bar report's size limit: plotly.js (4.8 MB, embedded once) plus at most ~4 MB of
#: figures and tables. Measured: 6.4 MB.
MAX_BIG_REPORT_BYTES = 9_000_000
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        msg = "chromium not found (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def _artifacts() -> Path:
    return Path(os.environ.get("TRADER_ARTIFACTS_DIR") or ROOT / "test-artifacts")


def trader(*args: str, cwd: Path) -> str:
    p = subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert p.returncode == 0, p.stderr
    return p.stdout


#: Clicks the equity figure's "log" button (its updatemenu), then says the y axis type plotly drew.
LOG_TOGGLE = """(async () => {
  const fig = document.getElementById('fig1');
  const buttons = Array.from(fig.querySelectorAll('.updatemenu-button'));
  const log = buttons.find(b => b.textContent.trim() === 'log');
  if (!log) return 'no log button';
  log.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  await new Promise(r => setTimeout(r, 300));
  return fig.layout.yaxis.type + ' ' + fig.querySelectorAll('.yaxislayer-above .ytick').length;
})()"""


def check_in_browser(exe: str, page: Path, name: str, probes: list[str] | None = None) -> list:
    shot = _artifacts() / f"report-{name}.png"
    r = inspect_page(exe, page, shot, probes=probes)
    assert r.declared > 0, "the page declares its figures"
    assert r.plots == r.declared and r.drawn == r.declared, f"{r.drawn} of {r.declared} figures drawn ({r.plots} containers)"
    assert r.errors == []
    outside = [u for u in r.requests if not u.startswith(LOCAL)]
    assert outside == [], "no request may leave the machine"
    assert r.requests[0] == page.resolve().as_uri()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    return r.probes


def test_a_bar_backtest_report_renders(chromium: str, tmp_path: Path) -> None:
    trader("backtest", "-o", "bars=20000", "--report", "bars.html", "--json", cwd=tmp_path)
    (toggled,) = check_in_browser(chromium, tmp_path / "bars.html", "backtest", [LOG_TOGGLE])
    kind, ticks = toggled.split()
    assert kind == "log" and int(ticks) > 0, toggled


def test_a_margin_run_with_liquidations_renders_them(chromium: str, tmp_path: Path) -> None:
    # 100x leverage on the synthetic series: a ~1 % move against a position liquidates it
    out = trader("backtest", "-o", "bars=5000", "--account", "margin", "--leverage", "100", "--report", "margin.html",
                 "--json", cwd=tmp_path)
    liquidations = json.loads(out)["liquidations"]
    assert liquidations > 0
    page = (tmp_path / "margin.html").read_text()
    assert f"{liquidations:,} liquidation(s), the first at" in page and '"name":"liquidation"' in page
    check_in_browser(chromium, tmp_path / "margin.html", "margin")


def test_an_l2_run_report_renders(chromium: str, shared_data: Path, tmp_path: Path) -> None:
    rec = shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
    trader("backtest-l2", str(rec), "-p", "qty=0.002", "-p", "max_position=0.01", "--report", "l2.html", "--json", cwd=tmp_path)
    page = (tmp_path / "l2.html").read_text()
    assert "PnL (marked at each fill) and inventory" in page and "Fills: " in page
    check_in_browser(chromium, tmp_path / "l2.html", "l2")


def test_a_live_replay_report_renders(chromium: str, shared_data: Path, tmp_path: Path) -> None:
    rec = shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
    trader("live", "--feed", f"replay:{rec}", "--speed", "max", "--state", str(tmp_path / "state"), "--report", "live.html",
           "--json", "--log-level", "error", cwd=tmp_path)
    page = (tmp_path / "live.html").read_text()
    assert "Final status" in page and "Strategy main (l2_market_maker)" in page
    check_in_browser(chromium, tmp_path / "live.html", "live")


def test_a_comparison_report_renders(chromium: str, tmp_path: Path) -> None:
    trader("backtest", "-o", "bars=20000", "--tables-out", "a", "--json", cwd=tmp_path)
    trader("backtest", "-o", "bars=20000", "-p", "fast=5", "-p", "slow=50", "--tables-out", "b", "--json", cwd=tmp_path)
    trader("report", "a", "b", "-o", "ab.html", cwd=tmp_path)
    check_in_browser(chromium, tmp_path / "ab.html", "comparison")


def test_a_sweep_report_compares_its_best_runs(chromium: str, tmp_path: Path) -> None:
    trader("optimize", "-g", "fast=5:15:5", "-g", "slow=30,50", "-j", "1", "--report", "sweep.html", "--report-top", "3",
           "--json", cwd=tmp_path)
    page = (tmp_path / "sweep.html").read_text()
    assert "the best 3 of 6 runs by sharpe" in page
    check_in_browser(chromium, tmp_path / "sweep.html", "optimize")


def test_a_million_bar_report_stays_light_and_renders(chromium: str, tmp_path: Path) -> None:
    trader("backtest", "-o", "bars=1000000", "--report", "big.html", "--json", cwd=tmp_path)
    size = (tmp_path / "big.html").stat().st_size
    assert size < MAX_BIG_REPORT_BYTES, f"{size:,} bytes"
    assert "(500 bars per candle)" in (tmp_path / "big.html").read_text()
    check_in_browser(chromium, tmp_path / "big.html", "1m-bars")
