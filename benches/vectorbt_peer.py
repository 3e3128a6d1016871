"""The vectorbt 1.2 side of the ``sweep_vs_vectorbt`` line (benches/test_bench_research.py).

vectorbt 1.2 needs pandas >= 3 and nautilus-trader 1.221 (the other anchors) needs pandas < 3, so
vectorbt lives in its own virtualenv (``.ci/run`` makes it: ``.venv-vectorbt``, the pin from the
``bench-vectorbt`` extra of pyproject.toml) and this script runs there, as a server the bench
drives round by round: it reads the bars the bench wrote (``.npz``: ts, close), warms up (numba
compiles), then for every ``run`` line on stdin sweeps the grid once and answers one JSON line:
the round's seconds and every combination's total return. ``quit`` (or EOF) ends it.

The sweep is vectorbt's own idiom for it: ``vbt.MA.run(close, windows, ewm=True)`` for the fast
and the slow EMAs of every combination (the cartesian product as aligned columns), the crossings
of each pair (fast crosses above slow: entry; below: exit), and
``vbt.Portfolio.from_signals(close, entries, exits, fees=..., init_cash=...)``, total return per
combination. Imports only numpy, pandas and vectorbt.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def main() -> None:
    path, fast_s, slow_s, fee_bps, cash = sys.argv[1:6]
    data = np.load(path)
    index = pd.DatetimeIndex(data["ts"].view("datetime64[ns]")).tz_localize("UTC")
    close = pd.Series(data["close"], index=index)
    fast = [int(x) for x in fast_s.split(",")]
    slow = [int(x) for x in slow_s.split(",")]
    fw = np.repeat(fast, len(slow))  # column k: fast[k // len(slow)] against slow[k % len(slow)]
    sw = np.tile(slow, len(fast))

    def sweep() -> np.ndarray:
        f = vbt.MA.run(close, fw, short_name="fast", ewm=True).ma.to_numpy()
        s = vbt.MA.run(close, sw, short_name="slow", ewm=True).ma.to_numpy()
        above, below = f > s, f < s
        was_above = np.zeros_like(above)  # fast[i-1] > slow[i-1]
        was_above[1:] = above[:-1]
        was_below = np.zeros_like(below)
        was_below[1:] = below[:-1]
        defined = ~(np.isnan(f) | np.isnan(s))
        prev_defined = np.zeros_like(defined)
        prev_defined[1:] = defined[:-1]
        both = defined & prev_defined
        entries = pd.DataFrame(both & above & ~was_above, index=index)  # fast[i-1] <= slow[i-1], fast[i] > slow[i]
        exits = pd.DataFrame(both & below & ~was_below, index=index)  # fast[i-1] >= slow[i-1], fast[i] < slow[i]
        pf = vbt.Portfolio.from_signals(close, entries, exits, fees=float(fee_bps) / 1e4, init_cash=float(cash), freq="1min")
        return np.asarray(pf.total_return(), dtype=np.float64)

    sweep()  # numba compiles its kernels on the first call
    print(json.dumps({"ready": True, "vectorbt": vbt.__version__, "pandas": pd.__version__}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        t = time.perf_counter()
        returns = sweep()
        seconds = time.perf_counter() - t
        print(json.dumps({"seconds": seconds, "returns": returns.tolist()}), flush=True)


if __name__ == "__main__":
    main()
