"""trader: an algorithmic trading framework for crypto markets.

A Rust core (indicators, SIMD kernels, ring buffer, pool) bound through PyO3 as ``trader._core``,
and a Python front where everything users extend is a pluggy plugin.
"""

from __future__ import annotations

from trader import exceptions
from trader._core import __version__, simd_backend, simd_backends_available
from trader.exceptions import TraderError

__all__ = ["__version__", "exceptions", "simd_backend", "simd_backends_available", "TraderError"]
