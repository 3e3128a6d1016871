"""A 10M-bar backtest streams its bars in batches and stays under 1.5 GB of resident memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def test_ten_million_bars_stay_under_1_5_gb():
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(
        [sys.executable, "-m", "trader", "backtest", "--strategy", "ema_cross", "-o", "bars=10000000", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["bars"] == 10_000_000
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib >= before
    assert peak_kib < 1.5 * 1024 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
