"""What every venue's order translation shares: the checks of an engine submit before any venue
parameter is written (a submit, not an order list, a kind the venue sends, a side, a time in force
it knows), positive decimals read from the command, and decimal rounding to a step. A venue's
``orders.py`` keeps its own kinds, refusals, rounding rules and parameter names.

Each check raises the venue's refusal class (``refused``, a subclass of :class:`OrderRefused`), with
``where`` (``"order c-1"``) first in its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from trader.exceptions import InvalidInputError

from .execution import fmt_decimal

__all__ = ["OrderRefused", "LIST_KINDS", "dec", "round_step", "positive", "check_submit", "check_tif",
           "step_qty", "passive_price", "trading_symbol", "fmt_decimal"]

#: trader's order-list kinds (an OCO, brackets): no venue adapter sends them, the order manager
#: emulates them.
LIST_KINDS = ("oco", "bracket", "oto", "otoco")


class OrderRefused(InvalidInputError):
    """An order an adapter refuses before sending (the venue would reject it, or cannot express it);
    each venue subclasses it."""


def dec(v: Any, default: str = "0") -> Decimal:
    """``v`` (an instrument rule, a decimal string) as a Decimal; absent, empty or not a number:
    ``default``."""
    try:
        return Decimal(str(v)) if v not in (None, "") else Decimal(default)
    except InvalidOperation:
        return Decimal(default)


def round_step(value: Decimal, step: Decimal, mode: str) -> Decimal:
    """``value`` on the grid of ``step`` (a ``decimal`` rounding ``mode``); a step <= 0: as it is."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=mode) * step


def positive(cmd: Mapping[str, Any], key: str, where: str, refused: type[Exception] = OrderRefused) -> Decimal:
    """``cmd[key]`` as a finite Decimal > 0.

    :raise refused: absent, not a number, or not > 0, naming ``key``."""
    v = cmd.get(key)
    try:
        d = Decimal(str(v)) if v is not None else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite() or d <= 0:
        raise refused(f"{where}: {key}: must be a positive decimal string, got {v!r}")
    return d


def check_submit(cmd: Mapping[str, Any], where: str, venue: str, kinds: Iterable[str], *,
                 refusals: Mapping[str, str] | None = None,
                 refused: type[Exception] = OrderRefused) -> tuple[str, str]:
    """The checks every venue makes of a submit: ``op`` is a submit, no order list, the kind is one
    of ``kinds`` (``refusals``: kind -> why the venue refuses it, checked first), the side is
    ``buy`` or ``sell``. ``venue`` is the venue's display name (``Binance``).

    :return: (kind, side).
    :raise refused: the first check that fails."""
    kinds = tuple(kinds)
    kind, side = cmd.get("kind"), cmd.get("side")
    if cmd.get("op", "submit") != "submit":
        raise refused(f"{where}: op {cmd.get('op')!r} is not a submit")
    if kind in LIST_KINDS or cmd.get("list"):
        raise refused(f"{where}: order lists (OCO, brackets) are not sent to {venue}: trader's order manager "
                      "emulates them")
    if refusals and isinstance(kind, str) and kind in refusals:
        raise refused(f"{where}: {refusals[kind]}")
    if kind not in kinds:
        raise refused(f"{where}: kind {kind!r} is not supported on {venue} (known: {', '.join(kinds)})")
    if side not in ("buy", "sell"):
        raise refused(f"{where}: side must be 'buy' or 'sell', got {side!r}")
    return str(kind), str(side)


def trading_symbol(cmd: Mapping[str, Any], where: str, default: str, status: str | None, trading: str,
                   refused: type[Exception] = OrderRefused) -> str:
    """The command's symbol (upper-cased; absent: ``default``, the instrument's), refused when
    there is none or the instrument's ``status`` (None: unknown) is not ``trading``."""
    symbol = str(cmd.get("symbol") or default).upper()
    if not symbol:
        raise refused(f"{where}: symbol missing")
    if status is not None and status != trading:
        raise refused(f"{where}: {symbol} is not trading (status {status})")
    return symbol


def check_tif(cmd: Mapping[str, Any], where: str, known: tuple[str, ...], *,
              missing: Mapping[str, str] | None = None, refused: type[Exception] = OrderRefused) -> str:
    """The command's time in force (default ``GTC``), one of ``known``; ``missing``: a tif trader
    has and the venue lacks -> the refusal's text (checked first).

    :raise refused: a missing or an unknown time in force."""
    tif = str(cmd.get("tif") or "GTC")
    if missing and tif in missing:
        raise refused(f"{where}: {missing[tif]}")
    if tif not in known:
        raise refused(f"{where}: time in force {tif!r} is not one of {', '.join(known)}")
    return tif


def step_qty(qty: Decimal, step: Decimal, min_q: Decimal, max_q: Decimal, where: str, symbol: str, raw: Any,
             refused: type[Exception] = OrderRefused) -> Decimal:
    """``qty`` rounded down to ``step``, within ``[min_q, max_q]`` (``max_q`` 0: no maximum);
    ``raw`` is the command's quantity as given (for the message).

    :raise refused: it rounds to 0 or below the minimum, or it is above the maximum."""
    q = round_step(qty, step, ROUND_FLOOR)
    if q <= 0 or q < min_q:
        raise refused(f"{where}: quantity {raw} rounds to {fmt_decimal(q)} (step {fmt_decimal(step)}), below the "
                      f"minimum {fmt_decimal(min_q)} of {symbol}")
    if max_q > 0 and q > max_q:
        raise refused(f"{where}: quantity {fmt_decimal(q)} above the maximum {fmt_decimal(max_q)} of {symbol}")
    return q


def passive_price(price: Decimal, tick: Decimal, buy: bool) -> Decimal:
    """A limit price on the tick, never more aggressive than asked: a buy's rounded down, a sell's up."""
    return round_step(price, tick, ROUND_FLOOR if buy else ROUND_CEILING)
