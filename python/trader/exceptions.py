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
    "StrategyError",
    "DataError",
    "StoreError",
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


class DataError(InvalidInputError):
    """Market data that cannot be used: a missing or empty file, a missing column, a value that is
    not a number, NaN, a non-positive price, ``high < low``, unsorted or duplicate timestamps, a gap
    refused by the gap policy.

    The message always starts with the file (or source) name, then the 1-based *data row* (the
    header line is not counted; row 1 is the first bar) when the problem belongs to a row, then the
    problem, e.g. ``data/x.csv: row 17: high 101.5 < low 102.0``.
    """


class StrategyError(TraderError):
    """A strategy's own code raised; the original exception is the ``__cause__``.

    The run stops at once and no result is produced: partial results are never reported as a
    success. The CLI prints the strategy's traceback and exits 1.
    """


class StoreError(TraderError):
    """The live store failed to write or read (a database error, a closed or read-only store, a
    command written ahead twice). The node stops on it: nothing is dropped silently."""
