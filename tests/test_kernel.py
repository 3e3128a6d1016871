"""trader.kernel.run_many: several kernels over the same bars (a sweep's combinations) give, each,
exactly what ``kernel.run()`` gives alone — statistics, equity curve, fills and trades — whatever
the threads and the chunk of bars the engines go through together; strategies without a
vectorized form, or on other bars, run on their own; errors reach the caller."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader import _core
from trader.backtest import backtest_kernel, finish_result, run_backtest
from trader.data import open_bars
from trader.exceptions import InvalidInputError
from trader.kernel import run_many

BTC = "klines_1m/0g_trading/BTC_USDT-1m.feather"


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> Any:
    return open_bars(str(shared_data / BTC)).load()


def _same_result(a: Any, b: Any) -> None:
    for k, v in b.stats.items():
        w = a.stats[k]
        assert w == v or (isinstance(v, float) and math.isnan(v) and math.isnan(w)), (k, w, v)
    assert np.array_equal(a.equity_ts, b.equity_ts) and np.array_equal(a.equity, b.equity)
    for k in b.fills:
        assert np.array_equal(a.fills[k], b.fills[k]), k
    for k in b.trades:
        x, y = np.asarray(a.trades[k]), np.asarray(b.trades[k])
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), k
    assert a.bars == b.bars and a.orders == b.orders and a.warnings == b.warnings


COMBOS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("ema_cross", {"fast": 5, "slow": 30}, {}),
    ("ema_cross", {"fast": 12, "slow": 90, "size": 0.5}, {}),
    ("ema_cross", {"fast": 20, "slow": 50, "allow_short": True}, {"account": "margin", "leverage": 2.0}),
    ("ema_cross", {"fast": 8, "slow": 21, "qty": 0.01}, {}),
    ("signal_fusion", {"qty": 0.01, "allow_short": True}, {"account": "margin"}),  # target positions, not signals
]


@pytest.mark.parametrize("threads,chunk", [(1, 1_000_000_000), (2, 8192), (3, 1), (0, 977)])
def test_each_run_equals_its_run_alone(bars: Any, threads: int, chunk: int) -> None:
    data = bars.between("2026-01-01", "2026-01-06") if chunk == 1 else bars
    common = {"fee_bps": 7.5, "mode": "vectorized"}
    kernels = [backtest_kernel(s, p, data, **common, **extra) for s, p, extra in COMBOS]
    together = [finish_result(k, r) for k, r in zip(kernels, run_many(kernels, threads=threads, chunk=chunk))]
    for (s, p, extra), mine in zip(COMBOS, together):
        alone = run_backtest(s, p, data, **common, **extra)
        assert alone.stats["trades"] > 0, (s, p)
        _same_result(mine, alone)


def test_event_strategies_and_other_bars_run_on_their_own(bars: Any) -> None:
    a, b = bars.between("2026-01-01", "2026-01-04"), bars.between("2026-01-05", "2026-01-09")
    specs = [("ema_cross", {"fast": 5, "slow": 30}, a, "auto"),
             ("rsi_reversion", {"period": 14}, a, "auto"),  # no vectorized form: the event path
             ("ema_cross", {"fast": 5, "slow": 30, "stop_loss": 0.01}, a, "auto"),  # exits: the event path
             ("ema_cross", {"fast": 5, "slow": 30}, b, "auto"),  # other bars
             ("ema_cross", {"fast": 7, "slow": 40}, a, "event")]
    kernels = [backtest_kernel(s, p, d, mode=m, fee_bps=10) for s, p, d, m in specs]
    for (s, p, d, m), k, r in zip(specs, kernels, run_many(kernels, threads=2, chunk=500)):
        _same_result(finish_result(k, r), run_backtest(s, p, d, mode=m, fee_bps=10))


def test_errors_reach_the_caller(bars: Any) -> None:
    data = bars.between("2026-01-01", "2026-01-02")
    # one decimal fewer than the closes have: the bars are refused, as a run alone refuses them
    kernels = [backtest_kernel("ema_cross", {"fast": 5, "slow": 30}, data, mode="vectorized", price_precision=1)
               for _ in range(3)]
    with pytest.raises(Exception) as alone:
        run_backtest("ema_cross", {"fast": 5, "slow": 30}, data, mode="vectorized", price_precision=1)
    with pytest.raises(type(alone.value), match="close"):
        run_many(kernels, threads=2)
    # the same engine twice is refused, not run twice at once
    k = backtest_kernel("ema_cross", {"fast": 5, "slow": 30}, data, mode="vectorized")
    run = k._setup()
    cols = run.bars
    sig = np.zeros(len(cols["ts"]), np.int8)
    with pytest.raises(RuntimeError):
        _core.run_vectorized_many([run.engine, run.engine], cols["ts"], cols["open"], cols["high"], cols["low"],
                                  cols["close"], cols["volume"], signals=[sig, sig], targets=[None, None],
                                  qty=[0.0, 0.0], size=[1.0, 1.0], allow_short=[False, False])
    with pytest.raises(InvalidInputError, match="chunk"):
        _core.run_vectorized_many([run.engine], cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"],
                                  cols["volume"], signals=[sig], targets=[None], qty=[0.0], size=[1.0],
                                  allow_short=[False], chunk=0)
    with pytest.raises(InvalidInputError, match="signals"):
        _core.run_vectorized_many([run.engine], cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"],
                                  cols["volume"], signals=[], targets=[None], qty=[0.0], size=[1.0],
                                  allow_short=[False])


def test_backtest_kernel_takes_what_run_backtest_takes() -> None:
    """run_backtest hands its arguments to backtest_kernel: one list of options, in step."""
    import inspect

    run = dict(inspect.signature(run_backtest).parameters)
    run.pop("progress")
    kernel = dict(inspect.signature(backtest_kernel).parameters)
    assert [(p.name, p.kind, p.default) for p in run.values()] == [(p.name, p.kind, p.default) for p in kernel.values()]
