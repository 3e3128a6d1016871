"""Arrow columns → the numpy columns of :class:`~trader.data.Bars`, with errors naming the row."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trader.data._errors import shown
from trader.data._time import NS_PER, epoch_unit, to_ns
from trader.data.validate import row_error
from trader.exceptions import DataError

_I64_MAX = np.iinfo(np.int64).max


def _first_null(arr: pa.Array | pa.ChunkedArray) -> int:
    mask = pc.is_null(arr).to_numpy(zero_copy_only=False)
    return int(np.argmax(mask))


def timestamps_ns(arr: pa.Array | pa.ChunkedArray, where: str, first_row: int, column: str, state: dict) -> np.ndarray:
    """A timestamp column as int64 UTC epoch nanoseconds.

    Accepted: Arrow timestamps of any unit (tz-aware or naive = UTC), dates, ISO strings (naive =
    UTC, offsets honoured), and integer (or integral float) epochs whose unit — s, ms, µs or ns —
    is guessed from the magnitude of the first value of the stream and then kept for the whole
    stream (``state["ts_unit"]``).
    """
    if arr.null_count:
        i = _first_null(arr)
        raise row_error(where, first_row + i, f"{column} is missing")
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        state.setdefault("ts_unit", "datetime")
        try:
            ns = arr.cast(pa.timestamp("ns", tz=t.tz if pa.types.is_timestamp(t) else None))
        except pa.ArrowInvalid as e:
            raise DataError(f"{where}: {column}: {e}") from None
        return np.ascontiguousarray(ns.to_numpy(zero_copy_only=False).view(np.int64) if ns.type.tz is None else _tz_to_i64(ns))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        state.setdefault("ts_unit", "datetime")
        return _strings_ns(arr, where, first_row, column)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        values = arr.to_numpy(zero_copy_only=False)
        if pa.types.is_floating(t):
            bad = ~np.isfinite(values) | (values != np.floor(values))
            if bad.any():
                i = int(np.argmax(bad))
                raise row_error(where, first_row + i, f"{column} {shown(values[i])} is not an integer epoch")
        values = values.astype(np.int64)
        if values.size == 0:
            return values
        unit = state.setdefault("ts_unit", epoch_unit(int(values[0])))
        mult = NS_PER[unit]
        if mult > 1:
            big = np.abs(values) > _I64_MAX // mult
            if big.any():
                i = int(np.argmax(big))
                raise row_error(where, first_row + i, f"{column} {values[i]} is out of range for epoch {unit}")
            values = values * mult
        return np.ascontiguousarray(values)
    raise DataError(f"{where}: {column} has type {t}: expected epoch integers or date/times")


def _tz_to_i64(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return arr.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _strings_ns(arr: pa.Array | pa.ChunkedArray, where: str, first_row: int, column: str) -> np.ndarray:
    for tz in (None, "UTC"):
        try:
            ns = pc.cast(arr, pa.timestamp("ns", tz=tz))
        except pa.ArrowInvalid:
            continue
        return np.ascontiguousarray(ns.cast(pa.int64()).to_numpy(zero_copy_only=False))
    # Mixed forms (naive and offset-carrying ISO strings, or epochs among strings): one by one.
    out = np.empty(len(arr), dtype=np.int64)
    for i, text in enumerate(arr.to_pylist()):
        value = str(text).strip()
        try:
            if value.lstrip("-").isdigit():
                out[i] = int(value) * NS_PER[epoch_unit(int(value))]
            else:
                out[i] = to_ns(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            raise row_error(where, first_row + i, f"{column} {shown(text)} is not a date/time or an epoch number") from None
    return out


def floats(arr: pa.Array | pa.ChunkedArray, where: str, first_row: int, column: str) -> np.ndarray:
    """A numeric column as contiguous float64 (a null becomes NaN, refused later by validation)."""
    t = arr.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        if not pa.types.is_float64(t):
            arr = arr.cast(pa.float64())
        return np.ascontiguousarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        for i, text in enumerate(arr.to_pylist()):
            if text is None:
                continue
            try:
                float(text)
            except ValueError:
                raise row_error(where, first_row + i, f"{column} {shown(text)} is not a number") from None
        return np.ascontiguousarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if pa.types.is_null(t):
        raise row_error(where, first_row, f"{column} is missing")
    raise DataError(f"{where}: column {column} has type {t}: expected numbers")
