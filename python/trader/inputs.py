"""The numbers a user gives a run, checked before any work, and one-line error texts.

:func:`check_run_numbers` refuses what the engine would turn into silent nonsense: a fee of 100 %
or more (it takes the whole notional), slippage of 100 % or more, cash that is not finite or beyond
what fixed point holds, a leverage or margin rate outside its range. ``trader.run_backtest`` calls
it first; the other run functions (tick, L2) can call it with the subset they take.

Money is fixed point: an i128 count of 1e-18 units, so about 1.7e20 units at most. Cash is
capped at :data:`MAX_CASH` (1e15) so that prices × quantities, fees and PnL of any run keep several
orders of magnitude of room below that limit.
"""

from __future__ import annotations

import math
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["MAX_CASH", "MAX_BPS", "MAX_LEVERAGE", "MAX_MESSAGE", "check_number", "check_run_numbers", "printable"]

#: Largest starting cash (quote units): fixed-point money (i128 at 1e-18) with room for PnL.
MAX_CASH = 1e15
#: A rate of 10,000 bps is 100 %: fees and slippage must stay below it.
MAX_BPS = 10_000.0
#: The engine's leverage range is 1..=1000 (``core-rs/src/portfolio.rs``).
MAX_LEVERAGE = 1000.0
#: Longest one-line message the CLI prints (characters, after escaping).
MAX_MESSAGE = 300


def printable(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line: every non-printable character escaped as ``repr`` does (``\\x00``,
    ``\\n``, ``\\ufeff``), at most ``limit`` characters (cut with ``...``)."""
    s = str(text)
    if not s.isprintable():
        s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)
    return s if len(s) <= limit else s[: max(0, limit - 3)] + "..."


def _fmt(x: float) -> str:
    """10,000 or 1e15 or 0.005: short, and exact for the bounds used here."""
    if float(x).is_integer() and abs(x) < 1e6:
        return f"{x:,.0f}"
    return f"{x:g}".replace("e+", "e")


def check_number(name: str, value: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
                 lt: float | None = None, why: str = "") -> float:
    """``value`` as a finite float within the bounds given, or an :class:`InvalidInputError`
    naming ``name``, the range and the value (``why`` is appended as the reason of the range)."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected a number, got {value!r}")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}: expected a number, got {printable(repr(value), 80)}") from None
    v = float(value)
    bounds = [(">=", ge, lambda b: v >= b), (">", gt, lambda b: v > b), ("<=", le, lambda b: v <= b), ("<", lt, lambda b: v < b)]
    wanted = " and ".join(f"{op} {_fmt(b)}" for op, b, _ in bounds if b is not None)
    if not math.isfinite(v) or not all(ok(b) for _, b, ok in bounds if b is not None):
        rule = f"a finite number {wanted}" if wanted else "a finite number"
        raise InvalidInputError(f"{name}: must be {rule}{f' ({why})' if why else ''}, got {_fmt(v)}")
    return v


def check_run_numbers(**values: Any) -> None:
    """Check the numeric settings of a run (``run_backtest``'s keyword names; None and absent
    are skipped). Messages name the CLI option (``fee-bps``, ``cash``...)."""
    fee = "a fee of 100 % or more takes the whole notional"
    rules: dict[str, dict[str, Any]] = {
        "cash": {"gt": 0, "le": MAX_CASH, "why": "money is fixed point; 1e15 is the largest starting cash"},
        "fee_bps": {"ge": 0, "lt": MAX_BPS, "why": fee},
        "taker_fee_bps": {"ge": 0, "lt": MAX_BPS, "why": fee},
        "maker_fee_bps": {"gt": -MAX_BPS, "lt": MAX_BPS, "why": "100 % is the whole notional, as a fee or a rebate"},
        "slippage_bps": {"ge": 0, "lt": MAX_BPS, "why": "100 % is the whole price"},
        "spread_bps": {"ge": 0, "lt": MAX_BPS, "why": "100 % is the whole price"},
        "impact_max_bps": {"gt": 0, "lt": MAX_BPS, "why": "100 % is the whole price"},
        "impact_k": {"ge": 0},
        "leverage": {"ge": 1, "le": MAX_LEVERAGE},
        "maintenance_margin": {"ge": 0, "lt": 1, "why": "a fraction of the notional"},
        "liquidation_fee": {"ge": 0, "lt": 1, "why": "a fraction of the notional"},
        "funding_rate": {"gt": -1, "lt": 1, "why": "a fraction of the notional per funding interval"},
        "funding_interval_h": {"gt": 0, "le": 24 * 365},
    }
    for key, value in values.items():
        if key not in rules:
            raise TypeError(f"check_run_numbers: unknown setting {key!r}")
        if value is not None:
            check_number(key.replace("_", "-"), value, **rules[key])


def check_float_array(name: str, value: Any, ndim: int | tuple[int, ...] = 1) -> Any:
    """``value`` as a new float64 numpy array of ``ndim`` dimensions (one of them, given a tuple),
    non-empty and finite; else :class:`InvalidInputError` naming ``name`` and the problem (the
    first NaN or infinite value by its index)."""
    import numpy as np

    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: expected numbers, got {type(value).__name__}") from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise InvalidInputError(f"{name}: expected a {want} array, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInputError(f"{name}: is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(arr[where]) else "an infinite value"
        raise InvalidInputError(f"{name}: holds {what} at index {where[0] if len(where) == 1 else where}")
    return arr


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an int (anything ``operator.index`` takes; never a bool) of at least
    ``minimum``; else :class:`InvalidInputError` naming ``name``."""
    import operator

    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    try:
        i = operator.index(value)
    except TypeError:
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and i < minimum:
        raise InvalidInputError(f"{name}: must be >= {minimum}, got {i}")
    return i
