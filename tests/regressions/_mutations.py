"""A pytest plugin for the regression tests of issue 10's "tests that cannot fail or test little":
it breaks the one behaviour named by ``TRADER_TEST_MUTATION``, so that ``test_checks.py`` can show
a test fails when the claim it makes is false (and passed before only because it could not fail).

Loaded with ``-p tests.regressions._mutations`` in a child pytest; does nothing without the variable.
"""

from __future__ import annotations

import functools
import os
import re
import sys

MUTATION = os.environ.get("TRADER_TEST_MUTATION", "")


def _accept_hyperliquid() -> None:
    """The Binance replay accepts the Hyperliquid recording (returns counts instead of refusing)."""
    import trader
    from trader import _core

    def lenient(fn):
        @functools.wraps(fn)
        def wrapper(path, *a, **kw):
            if "hyperliquid" in str(path):
                return {"messages": 55, "sync_errors": 0}
            return fn(path, *a, **kw)

        return wrapper

    _core.replay_binance_depth = lenient(_core.replay_binance_depth)
    trader.run_l2_backtest = lenient(trader.run_l2_backtest)


def _unbuilt_layers(module) -> None:
    """Configuring any risk layer fails as "not available in this build"."""
    from trader.exceptions import InvalidInputError

    real = module.engine

    def engine(cfg=None, cash=10_000.0):
        if cfg and cfg.get("layers"):
            raise InvalidInputError("layers[0]: risk layers are not available in this build")
        return real(cfg, cash)

    module.engine = engine


def _sharpe_with_ddof_0(module) -> None:
    """Sharpe computed with the population standard deviation."""
    real = module.statistics

    def statistics(**kw):
        out = real(**kw)
        n = len(kw["equity"])
        out["sharpe"] *= ((n - 1) / n) ** 0.5
        return out

    module.statistics = statistics


def _seed_ignored(module) -> None:
    """The latency model ignores its seed (every run draws as seed 0)."""
    real = module.run_backtest

    def run_backtest(*a, **kw):
        if isinstance(kw.get("latency"), str):
            kw["latency"] = re.sub(r"seed=\d+", "seed=0", kw["latency"])
        return real(*a, **kw)

    module.run_backtest = run_backtest


AT_CONFIGURE = {"accept_hyperliquid": _accept_hyperliquid}
AFTER_COLLECTION = {
    "unbuilt_layers": ("tests.test_risk_bindings", _unbuilt_layers),
    "sharpe_ddof_0": ("tests.test_results", _sharpe_with_ddof_0),
    "seed_ignored": ("tests.test_fill_models", _seed_ignored),
}


def pytest_configure(config) -> None:
    if MUTATION in AT_CONFIGURE:
        AT_CONFIGURE[MUTATION]()
    elif MUTATION and MUTATION not in AFTER_COLLECTION:
        raise ValueError(f"TRADER_TEST_MUTATION: unknown mutation {MUTATION!r}")


def pytest_collection_finish(session) -> None:
    if MUTATION in AFTER_COLLECTION:
        name, mutate = AFTER_COLLECTION[MUTATION]
        mutate(sys.modules[name])
