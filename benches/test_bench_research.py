"""Research at scale (issue 14).

* ``sweep_vs_vectorbt``: the issue's grid — ema_cross, 10 fast (5, 10, ..., 50) × 10 slow (60, 80,
  ..., 240) EMA periods, fees 7.5 bps, 10,000 cash — on 509,144 real BTC 1-minute bars (the
  shared BTC files concatenated and repeated, ``real_ohlcv``), in bar·combinations per second.
  Ours: the whole ``trader.research.sweep(...)`` call with ``jobs=2`` (the machine's 2 cores): the
  combinations run together (every EMA in multi-lane passes, the simulations in one pass over the
  bars on both cores, the GIL released), the table of every statistic, the best, and the
  overfitting statistics (DSR, PBO, Reality Check, SPA) a sweep always reports — more work than
  the anchor does. Anchor: vectorbt 1.2 (``benches/vectorbt_peer.py``, in its own virtualenv:
  vectorbt 1.2 needs pandas >= 3, nautilus-trader 1.221 pandas < 3) — ``MA.run`` (ewm) for the
  fast and slow EMAs of every combination, their crossings, ``Portfolio.from_signals`` and the
  total returns, timed inside its process (interpreter start, imports and numba's compilation
  excluded). Paired rounds (vectorbt's round, then ours, round after round); the line is the
  median of the per-round ratios; goal ">= 10x vectorbt 1.2 in bar·combos/s on 2 cores".
  Correct: every one of our rows equals ``run_backtest`` of its combination alone (every
  statistic), and vectorbt's total returns are finite and rank the combinations as ours do
  (Spearman >= 0.9: the same work; fills differ by design — vectorbt fills at the signal bar's
  close, trader at the next bar's open). Both best combinations and their returns are printed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benches import peers
from tests._data import ROOT

N_BARS = 509_144
FAST = list(range(5, 51, 5))
SLOW = list(range(60, 241, 20))
FEE_BPS = 7.5
CASH = 10_000.0
ROUNDS = 3


def vectorbt_python() -> str:
    """The interpreter of vectorbt's virtualenv: $TRADER_VECTORBT_PYTHON, else .venv-vectorbt
    (made by .ci/run). Missing: the bench fails (no measurement is taken)."""
    py = os.environ.get("TRADER_VECTORBT_PYTHON") or str(ROOT / ".venv-vectorbt" / "bin" / "python")
    if not Path(py).exists():
        pytest.fail(f"vectorbt's interpreter not found at {py}: make it as .ci/run does (python3 -m venv .venv-vectorbt; "
                    ".venv-vectorbt/bin/pip install <the bench-vectorbt extra's pin>) or set TRADER_VECTORBT_PYTHON",
                    pytrace=False)
    return py


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_sweep_vs_vectorbt(benchmark: Any, real_ohlcv: dict[str, np.ndarray], tmp_path: Path) -> None:
    import trader
    from trader.research.sweep import sweep

    bars = peers.make_bars(real_ohlcv, N_BARS)
    npz = tmp_path / "bars.npz"
    np.savez(npz, ts=bars.ts, close=bars.close)
    peer = subprocess.Popen([vectorbt_python(), str(ROOT / "benches" / "vectorbt_peer.py"), str(npz),
                             ",".join(map(str, FAST)), ",".join(map(str, SLOW)), str(FEE_BPS), str(CASH)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert peer.stdin is not None and peer.stdout is not None
    try:
        hello = json.loads(peer.stdout.readline() or "{}")
        if not hello.get("ready"):
            pytest.fail(f"vectorbt's side did not start (exit {peer.poll()})", pytrace=False)
        grid = {"fast": FAST, "slow": SLOW}
        ours_s: list[float] = []
        anchor_s: list[float] = []
        held: dict[str, Any] = {}

        def setup() -> tuple[tuple, dict]:
            held.pop("r", None)
            peer.stdin.write("run\n")
            peer.stdin.flush()
            msg = json.loads(peer.stdout.readline())
            anchor_s.append(float(msg["seconds"]))
            held["vbt"] = np.asarray(msg["returns"], dtype=np.float64)
            return (), {}

        def ours() -> None:
            t = time.perf_counter()
            held["r"] = sweep("ema_cross", grid, bars, fee_bps=FEE_BPS, cash=CASH, jobs=2)
            ours_s.append(time.perf_counter() - t)

        benchmark.group = "sweep_vs_vectorbt"
        benchmark.pedantic(ours, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    finally:
        if peer.poll() is None:
            peer.stdin.write("quit\n")
            peer.stdin.close()
            try:
                peer.wait(30)
            except subprocess.TimeoutExpired:
                peer.kill()
        peer.stdout.close()
    ours_s, anchor_s = ours_s[-ROUNDS:], anchor_s[-ROUNDS:]
    r, vbt = held["r"], held["vbt"]
    items = N_BARS * len(FAST) * len(SLOW)
    # every row against run_backtest alone (untimed)
    same = len(r.rows) == len(FAST) * len(SLOW)
    for row in r.rows:
        alone = trader.run_backtest("ema_cross", {"fast": row["fast"], "slow": row["slow"]}, bars, fee_bps=FEE_BPS,
                                    cash=CASH, mode="auto")
        same = same and all(row[k] == v or (isinstance(v, float) and math.isnan(v) and math.isnan(row[k]))
                            for k, v in alone.stats.items())
    ours_ret = np.array([row["total_return"] for row in r.rows])  # rows in grid order: fast outer, slow inner
    rank = _spearman(ours_ret, vbt) if len(vbt) == len(ours_ret) else float("nan")
    vb = int(np.argmax(vbt)) if len(vbt) else 0
    ob = int(np.argmax(ours_ret))
    best = f"trader best fast={r.rows[ob]['fast']} slow={r.rows[ob]['slow']} return {ours_ret[ob]:+.4%}; " \
           f"vectorbt best fast={FAST[vb // len(SLOW)]} slow={SLOW[vb % len(SLOW)]} return {vbt[vb]:+.4%}"
    print("\n" + best)
    ratios = [a / o for a, o in zip(anchor_s, ours_s)]
    benchmark.extra_info.update(
        role="ours", items=items, anchor_items=items, anchor_median_s=float(np.median(anchor_s)),
        paired_ratio=round(float(np.median(ratios)), 4), ours_median_s=float(np.median(ours_s)),
        ours_bar_combos_per_s=round(items / float(np.median(ours_s))),
        vectorbt_bar_combos_per_s=round(items / float(np.median(anchor_s))),
        correct=bool(same and np.isfinite(vbt).all() and rank >= 0.9), rank_correlation=round(rank, 4), best=best,
        check="every row equals run_backtest alone; vectorbt's returns finite and ranked as ours (Spearman >= 0.9)",
        python=sys.version.split()[0])
