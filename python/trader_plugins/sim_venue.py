"""The built-in simulated venue, registered like any third-party venue.

The matching, fill model and accounting run in Rust (``trader._core.Backtest``, see
``core-rs/src/venue``); this plugin is what the kernel looks up by name (``--venue sim``, the
default) to build it.
"""

from __future__ import annotations

from typing import Any

from trader import _core, hookimpl


class SimulatedVenue:
    """Bars in, fills out: market orders at the next open (or this close), limit orders when the bar
    trades through them, slippage against the trader, fees on notional, a cash account."""

    name = "sim"
    description = "Simulated exchange for backtests (market and limit orders on bars)"

    def create(self, symbols: list[str], price_precision: list[int], size_precision: list[int], *, cash: float,
               fee_bps: float, slippage_bps: float, fill_at: str, **account: Any) -> Any:
        """The engine for one backtest: a ``trader._core.Backtest``. ``account``: the keyword
        arguments of ``trader._core.configure_account`` (margin account, fee tiers, slippage model)."""
        engine = _core.Backtest(symbols, price_precision, size_precision, cash, fee_bps, slippage_bps, fill_at)
        if account:
            _core.configure_account(engine, **account)
        return engine


@hookimpl
def trader_venues() -> list:
    """The simulated exchange."""
    return [SimulatedVenue()]
