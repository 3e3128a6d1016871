"""Hook implementations: the ``bybit`` data client (``trader live --feed bybit:category=linear,
symbol=BTCUSDT``) and the ``bybit`` execution client (:class:`BybitVenue`). The lead registers
this module under the ``trader`` entry-point group. Option parsing, credentials and the feed's
opening are :mod:`..common.plugin`'s; Bybit names its options, config and clients."""

from __future__ import annotations

from typing import Any

from trader import hookimpl

from ..common.options import parse_bool
from ..common.plugin import ExecutionPlugin, InstrumentFeedPlugin, VenuePlugin
from .config import BybitConfig

#: ``--feed bybit:k=v`` / ``--venue bybit:k=v`` options and their types (every :class:`BybitConfig`
#: field but ``backoff``; ``symbol`` is one of ``symbols``).
OPTIONS: dict[str, Any] = {"category": str, "symbols": str, "symbol": str, "rest_url": str, "ws_public_url": str,
                           "ws_private_url": str, "testnet": parse_bool, "recv_window": int, "depth": int,
                           "stale_after_s": float, "user_stale_after_s": float, "ping_interval_s": float,
                           "open_check_s": float, "allow_withdraw": parse_bool, "request_timeout_s": float}


class _Bybit(VenuePlugin):
    name = "bybit"
    options = OPTIONS
    config_class = BybitConfig


class BybitFeedClient(_Bybit, InstrumentFeedPlugin):
    """``--feed bybit:...``: Bybit v5 order book (synced, resynced by resubscribing) and trades of
    one symbol as the node's quotes and trades (:class:`.data.BybitDataClient`)."""

    description = "Bybit v5 spot / linear market data: the synced order book's top as quotes, public trades"
    usage = "category=linear,symbol=BTCUSDT"
    data_client = "data:BybitDataClient"


class BybitVenue(_Bybit, ExecutionPlugin):
    """The Bybit v5 execution client: ``client(options, credentials, on_report)`` builds a
    :class:`~.execution.BybitExecutionClient` (the node wires it to the engine's commands); the key
    from a TOML file only its user can read, else BYBIT_API_KEY / BYBIT_API_SECRET."""

    description = "Bybit v5 spot / linear orders, user data and reconciliation"
    env_prefix = "BYBIT"
    execution_client = "execution:BybitExecutionClient"


@hookimpl
def trader_data_clients() -> list:
    return [BybitFeedClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [BybitVenue()]
