"""trader: an algorithmic trading framework for crypto markets.

A Rust core (indicators, SIMD kernels, ring buffer, pool) bound through PyO3 as ``trader._core``,
and a Python front where everything users extend is a pluggy plugin.
"""

from __future__ import annotations

import pluggy

from trader import exceptions
from trader._core import __version__, simd_backend, simd_backends_available
from trader.exceptions import TraderError

#: Marker for plugin hook implementations: ``@trader.hookimpl def trader_data_sources(): ...``.
hookimpl = pluggy.HookimplMarker("trader")

__all__ = ["__version__", "exceptions", "hookimpl", "simd_backend", "simd_backends_available", "TraderError"]
