"""Hook implementations: the ``okx`` data client (``trader live --feed okx:inst_type=SWAP,
symbol=BTC-USDT-SWAP``) and the ``okx`` execution client (:class:`OkxVenue`). The lead registers
this module under the ``trader`` entry-point group. Option parsing, credentials and the feed's
opening are :mod:`..common.plugin`'s; OKX names its options, config and clients."""

from __future__ import annotations

from typing import Any

from trader import hookimpl

from ..common.options import parse_bool
from ..common.plugin import ExecutionPlugin, InstrumentFeedPlugin, VenuePlugin
from .config import OkxConfig

#: ``--feed okx:k=v`` / ``--venue okx:k=v`` options and their types (every :class:`OkxConfig`
#: field but ``backoff``; ``symbol`` is one of ``symbols``).
OPTIONS: dict[str, Any] = {"inst_type": lambda v: str(v).upper(), "symbols": str, "symbol": str, "rest_url": str,
                           "ws_public_url": str, "ws_private_url": str, "td_mode": str, "channel": str,
                           "stale_after_s": float, "user_stale_after_s": float, "ping_s": float,
                           "open_check_s": float, "allow_withdraw": parse_bool, "request_timeout_s": float,
                           "demo": parse_bool}


class _Okx(VenuePlugin):
    name = "okx"
    options = OPTIONS
    config_class = OkxConfig


class OkxFeedClient(_Okx, InstrumentFeedPlugin):
    """``--feed okx:...``: OKX v5 ``books`` (synced, checksum checked, resynced by resubscribing)
    and ``trades`` of one instrument as the node's quotes and trades (:class:`.data.OkxDataClient`;
    the instrument's tick, lot and SWAP ``ctVal`` read from the venue)."""

    description = "OKX v5 SPOT / SWAP market data: the synced books' top as quotes, trades (SWAP sizes in base units)"
    usage = "inst_type=SWAP,symbol=BTC-USDT-SWAP"
    data_client = "data:OkxDataClient"


class OkxVenue(_Okx, ExecutionPlugin):
    """The OKX execution client: ``client(options, credentials, on_report)`` builds an
    :class:`~.execution.OkxExecutionClient` (the node wires it to the engine's commands); the key,
    secret and passphrase from a TOML file only its user can read (with ``passphrase``), else
    OKX_API_KEY / OKX_API_SECRET / OKX_API_PASSPHRASE."""

    description = "OKX v5 SPOT / SWAP orders, user data (private WebSocket) and reconciliation"
    env_prefix = "OKX"
    need_passphrase = True
    execution_client = "execution:OkxExecutionClient"


@hookimpl
def trader_data_clients() -> list:
    return [OkxFeedClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [OkxVenue()]
