"""Entry point of the bundled strategies: registered exactly as a third party's would be."""

from __future__ import annotations

from trader import hookimpl
from trader_strategies.ema_cross import EmaCross


@hookimpl
def trader_strategies() -> list:
    """The bundled example strategies."""
    return [EmaCross]
