"""Instrument naming: one id however a symbol is written.

Users write the same market several ways: ``BTCUSDT`` (Binance), ``BTC/USDT`` (ccxt),
``BTC_USDT`` (freqtrade's file names), ``BTC/USDT:USDT`` or ``BTC_USDT_USDT`` (a linear
perpetual settled in USDT), ``btcusdt`` (a WebSocket stream name). :func:`canonical_symbol` maps
each of them to one id (``BTCUSDT``), and every place a symbol is written (risk configuration,
CLI, strategy) matches through it (:func:`resolve_symbol`), so a risk limit written for
``BTCUSDT`` applies to the instrument of ``BTC_USDT-1m.feather``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trader.exceptions import InvalidInputError

__all__ = ["canonical_symbol", "resolve_symbol"]

_SEPARATORS = re.compile(r"[/_:\-\s.]+")


def canonical_symbol(symbol: str) -> str:
    """The one id of a symbol: upper case, separators dropped, a repeated settle currency dropped.

    >>> [canonical_symbol(s) for s in ("BTC_USDT", "BTC/USDT", "btcusdt", "BTC/USDT:USDT", "BTC_USDT_USDT")]
    ['BTCUSDT', 'BTCUSDT', 'BTCUSDT', 'BTCUSDT', 'BTCUSDT']
    """
    parts = [p for p in _SEPARATORS.split(str(symbol).strip().upper()) if p]
    # ccxt's "BASE/QUOTE:SETTLE" and freqtrade's "BASE_QUOTE_SETTLE" name a linear contract whose
    # settle currency repeats the quote: the market is BASE+QUOTE.
    if len(parts) == 3 and parts[1] == parts[2]:
        parts = parts[:2]
    return "".join(parts)


def resolve_symbol(name: str | int, symbols: Sequence[str], what: str = "instrument") -> int:
    """The index in ``symbols`` (the run's instruments) of ``name``, matched by canonical id.

    An int is taken as an index (checked). An unknown name is an :class:`InvalidInputError` that
    names ``what`` and lists the run's instruments.
    """
    if isinstance(name, bool):
        raise InvalidInputError(f"{what}: expected a symbol or an index, got {name!r}")
    if isinstance(name, int):
        if 0 <= name < len(symbols):
            return name
        raise InvalidInputError(f"{what}: no instrument {name} (the run has {len(symbols)}: {', '.join(symbols)})")
    want = canonical_symbol(name)
    for i, s in enumerate(symbols):
        if canonical_symbol(s) == want:
            return i
    raise InvalidInputError(f"{what}: {name!r} is not an instrument of this run (instruments: {', '.join(symbols) or 'none'})")
