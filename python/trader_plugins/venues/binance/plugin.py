"""Hook implementations: the ``binance`` data client (``trader live --feed binance:market=usdm,
symbols=BTCUSDT``) and the ``binance`` execution client. The lead registers this module under
the ``trader`` entry-point group. Option parsing and credentials are :mod:`..common.plugin`'s;
Binance names its options, config and clients."""

from __future__ import annotations

from typing import Any

from trader import hookimpl

from ..common.options import parse_bool
from ..common.plugin import ExecutionPlugin, FeedPlugin, VenuePlugin
from .config import BinanceConfig

#: ``--feed binance:k=v`` options and their types (``symbol`` is one of ``symbols``; ``symbols``
#: and ``streams`` comma- or plus-separated).
OPTIONS: dict[str, Any] = {"market": str, "symbols": str, "symbol": str, "rest_url": str, "stream_url": str,
                           "ws_api_url": str, "testnet": parse_bool, "stale_after_s": float,
                           "user_stale_after_s": float, "open_check_s": float, "depth_limit": int, "depth_speed": str,
                           "streams": str, "recv_window": int, "countdown_cancel_s": float,
                           "allow_withdraw": parse_bool}


class _Binance(VenuePlugin):
    name = "binance"
    options = OPTIONS
    config_class = BinanceConfig
    list_options = ("symbols", "streams")


class BinanceFeedClient(_Binance, FeedPlugin):
    description = "Binance spot / USDⓈ-M market data: depth diffs (with the documented book sync), bookTicker, trades"
    usage = "market=usdm,symbols=BTCUSDT"

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float) -> Any:
        from .data import BinanceDataClient

        return BinanceDataClient(self.feed_config(paths, options))


class BinanceVenue(_Binance, ExecutionPlugin):
    """The Binance execution client: ``client(options, credentials, on_report)`` builds a
    :class:`~.execution.BinanceExecutionClient` (the node wires it to the engine's commands); the
    key from a TOML file only its user can read, else BINANCE_API_KEY / BINANCE_API_SECRET."""

    description = "Binance spot / USDⓈ-M orders, user data and reconciliation"
    env_prefix = "BINANCE"
    execution_client = "execution:BinanceExecutionClient"


@hookimpl
def trader_data_clients() -> list:
    return [BinanceFeedClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [BinanceVenue()]
