"""Walk-forward optimization: parameters chosen on each training window, traded on the window
after it. No look-ahead, by test: a strategy records every bar each of its runs sees, and no
in-sample run of a window sees a bar of that window's test period (or after it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader.exceptions import InvalidInputError
from trader.research.sweep import sweep
from trader.research.walkforward import walk_forward_optimize
from trader.strategy import Param, Strategy

BTC = "klines_1m/0g_trading/BTC_USDT-1m.feather"
RUNS: list[list[int]] = []


class Recorder(Strategy):
    """Records the bars of each run; trades every ``every`` bars (buy, then sell)."""

    name = "recorder"
    every = Param(50, int, ge=2, help="bars between trades")

    def on_start(self) -> None:
        self.seen: list[int] = []
        RUNS.append(self.seen)
        self.n = 0

    def on_bar(self, bar: Any) -> None:
        self.seen.append(int(bar.ts))
        self.n += 1
        if self.n % self.every == 0:
            if self.position() > 0:
                self.sell(self.position())
            else:
                self.buy(0.01)


@pytest.mark.parametrize("anchored,gap", [(False, "0s"), (True, "2h")])
def test_no_test_bar_reaches_the_choice_made_for_it(shared_data: Path, anchored: bool, gap: str) -> None:
    from trader.data import open_bars

    bars = open_bars(str(shared_data / BTC)).load()
    RUNS.clear()
    grid = {"every": "40:80:20"}  # 3 runs in sample per window
    r = walk_forward_optimize(Recorder, grid, bars, train="8d", test="4d", anchored=anchored, gap=gap, fee_bps=7.5)
    per_window = len(r.windows)
    assert per_window >= 5 and len(RUNS) == per_window * 4  # 3 in sample, then 1 out of sample, per window
    for k, w in enumerate(r.windows):
        ins, oos = RUNS[4 * k: 4 * k + 3], RUNS[4 * k + 3]
        for seen in ins:
            assert seen, "an in-sample run saw no bar"
            assert w.train_start <= min(seen) and max(seen) < w.train_end <= w.test_start
            assert max(seen) < w.test_start  # no bar of the test window, nor after it
        assert oos and w.test_start <= min(oos) and max(oos) < w.test_end
        if gap == "2h":
            assert w.test_start - w.train_end >= 2 * 3_600_000_000_000 - 60_000_000_000
        # the choice is the sweep's best on the training bars alone
        again = sweep(Recorder, grid, bars.between(w.train_start, w.train_end), fee_bps=7.5)
        assert w.params == {"every": again.best["every"]}
    if anchored:
        assert len({w.train_start for w in r.windows}) == 1
    # the stitched curve chains the windows' own curves
    first = r.windows[0]
    assert np.array_equal(r.equity[: len(first.equity)], first.equity)
    assert r.equity[-1] == pytest.approx(10_000 * np.prod([w.equity[-1] / 10_000 for w in r.windows]))
    assert r.stats["trades"] == sum(w.out_of_sample["trades"] for w in r.windows)
    assert r.stability["every"]["values"] == [w.params["every"] for w in r.windows]


def test_bad_windows_are_refused_before_any_run(shared_data: Path) -> None:
    data = str(shared_data / BTC)
    with pytest.raises(InvalidInputError, match="train"):
        walk_forward_optimize("ema_cross", {"fast": "5:10:5"}, data, train="400d", test="1d")
    with pytest.raises(InvalidInputError, match="objective: unknown"):
        walk_forward_optimize("ema_cross", {"fast": "5:10:5"}, data, train="4d", test="1d", objective="luck")
    with pytest.raises(InvalidInputError, match="grid: empty"):
        walk_forward_optimize("ema_cross", {}, data, train="4d", test="1d")
    with pytest.raises(InvalidInputError, match="step: .* overlap"):
        walk_forward_optimize("ema_cross", {"fast": "5:10:5"}, data, train="4d", test="2d", step="1d")


def test_each_window_searches_with_its_own_optuna_study(tmp_path: Path) -> None:
    """With Optuna, window k's study is its own (not window 1's resumed): every window runs its
    own trials, stored under its own name; the same storage given again resumes them all."""
    import optuna

    from trader.data import open_bars

    bars = open_bars(None).load()[:1400]  # the built-in series' first 1,400 bars: 4 windows
    storage = f"sqlite:///{tmp_path / 'wf.db'}"
    kw = dict(train=600, test=200, method="tpe", trials=4, seed=3, storage=storage, study="wf-test")
    r = walk_forward_optimize("ema_cross", {"fast": "3:9:1", "slow": "20:40:5"}, bars, **kw)
    names = sorted(s.study_name for s in optuna.study.get_all_study_summaries(storage))
    assert len(names) == len(r.windows) >= 3 and all(n.startswith("wf-test:window ") for n in names)
    assert all(s.n_trials == 4 for s in optuna.study.get_all_study_summaries(storage))
    again = walk_forward_optimize("ema_cross", {"fast": "3:9:1", "slow": "20:40:5"}, bars, **kw)
    assert [w.params for w in again.windows] == [w.params for w in r.windows]
    assert all(s.n_trials == 4 for s in optuna.study.get_all_study_summaries(storage))  # resumed, none added
    # no storage: nothing is left in the working folder
    before = set(Path.cwd().iterdir())
    walk_forward_optimize("ema_cross", {"fast": "3:9:1", "slow": "20:40:5"}, bars, train=600, test=200, method="tpe",
                          trials=2, seed=3)
    assert set(Path.cwd().iterdir()) == before
