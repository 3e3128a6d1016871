"""Binance's WebSocket connection: the common one (:mod:`..common.ws`: backoff with full jitter,
stale detection, pongs) with Binance's connection-age limit. Binance pings every 20 s (3 min on
futures) and closes a connection after 24 h: the connection is replaced after ``max_age_s``
(23 h 50 min) of its own accord.
"""

from __future__ import annotations

from ..common import ws as _common
from ..common.ws import backoff_delay

__all__ = ["WsConnection", "backoff_delay"]


class WsConnection(_common.WsConnection):
    """A supervised WebSocket to Binance (see :class:`..common.ws.WsConnection` for the parameters),
    replaced before Binance's 24 h limit."""

    max_age_s = 23 * 3600 + 50 * 60
