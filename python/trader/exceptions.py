"""The exception tree of trader. Every error the Rust core raises is one of these.

``TraderError`` is the root; the input errors also derive from the built-in they refine
(``ValueError``, ``TypeError``), so ``except ValueError`` keeps working for callers that know
nothing of trader.
"""

from __future__ import annotations

__all__ = [
    "TraderError",
    "InvalidInputError",
    "ArrayTypeError",
    "LengthMismatchError",
    "NanInSeriesError",
    "SimdUnavailableError",
    "CapacityError",
]


class TraderError(Exception):
    """Root of every error raised by trader."""


class InvalidInputError(TraderError, ValueError):
    """An argument outside its domain: a period < 1, an unknown option, a bad value."""


class ArrayTypeError(InvalidInputError, TypeError):
    """An array that is not a 1-D (or 2-D where documented) contiguous float64 numpy array."""


class LengthMismatchError(InvalidInputError):
    """Inputs that must have the same length (high/low/close, signals/weights) do not."""


class NanInSeriesError(InvalidInputError):
    """A NaN after the first valid value of a series.

    Policy: leading NaNs are skipped and the lookback starts at the first valid value (TA-Lib's
    convention); a NaN in the middle of a series is refused, because it would silently turn every
    later value of a recursive indicator into NaN.
    """


class SimdUnavailableError(TraderError, RuntimeError):
    """``TRADER_SIMD`` names a backend this CPU cannot run, or no backend at all."""


class CapacityError(TraderError):
    """A bounded container (ring buffer, object pool) cannot take more."""
