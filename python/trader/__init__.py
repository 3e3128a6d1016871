"""trader: an algorithmic trading framework for crypto markets.

A Rust core (indicators, SIMD kernels, ring buffer, pool, the backtest engine) bound through PyO3
as ``trader._core``, and a Python front where everything users extend is a pluggy plugin.
"""

from __future__ import annotations

import pluggy

from trader import exceptions
from trader._core import __version__, simd_backend, simd_backends_available
from trader.exceptions import TraderError

#: Marker for plugin hook implementations: ``@trader.hookimpl def trader_data_sources(): ...``.
hookimpl = pluggy.HookimplMarker("trader")

from trader.strategy import Param, Signals, Strategy  # noqa: E402  (needs hookimpl defined first for plugins importing trader)
from trader.backtest import run_backtest  # noqa: E402
from trader.l2 import run_l2_backtest, run_tick_backtest  # noqa: E402

__all__ = [
    "run_l2_backtest",
    "run_tick_backtest",
    "__version__",
    "exceptions",
    "hookimpl",
    "simd_backend",
    "simd_backends_available",
    "TraderError",
    "Strategy",
    "Param",
    "Signals",
    "run_backtest",
]
