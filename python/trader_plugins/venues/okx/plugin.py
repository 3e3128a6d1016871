"""Hook implementations: the ``okx`` data client (``trader live --feed okx:inst_type=SWAP,
symbol=BTC-USDT-SWAP``). The lead registers this module under the ``trader`` entry-point group."""

from __future__ import annotations

from typing import Any

from trader import hookimpl
from trader.exceptions import InvalidInputError

from .config import OkxConfig


def _bool(v: Any) -> bool:
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(v)


#: ``--feed okx:k=v`` / ``--venue okx:k=v`` options and their types (every :class:`OkxConfig`
#: field but ``backoff``; ``symbol`` is one of ``symbols``).
OPTIONS: dict[str, Any] = {"inst_type": lambda v: str(v).upper(), "symbols": str, "symbol": str, "rest_url": str,
                           "ws_public_url": str, "ws_private_url": str, "td_mode": str, "channel": str,
                           "stale_after_s": float, "user_stale_after_s": float, "ping_s": float,
                           "open_check_s": float, "allow_withdraw": _bool, "request_timeout_s": float, "demo": _bool}


def config_from_options(options: dict[str, Any], where: str = "okx") -> OkxConfig:
    """An :class:`OkxConfig` from ``k=v`` options (``symbols`` comma- or plus-separated).

    :raise InvalidInputError: an unknown option or a bad value, naming the option."""
    kw: dict[str, Any] = {}
    for k, v in options.items():
        if k not in OPTIONS:
            raise InvalidInputError(f"{where}: unknown option {k!r} (known: {', '.join(OPTIONS)})")
        try:
            kw[k] = OPTIONS[k](v)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: option {k}: bad value {v!r}") from None
    if "symbol" in kw:
        if "symbols" in kw:
            raise InvalidInputError(f"{where}: give symbol or symbols, not both")
        kw["symbols"] = kw.pop("symbol")
    if "symbols" in kw:
        kw["symbols"] = tuple(x.strip() for x in kw["symbols"].replace("+", ",").split(",") if x.strip())
    try:
        return OkxConfig(**kw)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {str(e).removeprefix('okx: ')}") from None


class OkxFeedClient:
    """``--feed okx:...``: OKX v5 ``books`` (synced, checksum checked, resynced by resubscribing)
    and ``trades`` of one instrument as the node's quotes and trades (:class:`.data.OkxDataClient`)."""

    name = "okx"
    description = "OKX v5 SPOT / SWAP market data: the synced books' top as quotes, trades (SWAP sizes in base units)"

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float = 1.0,
             end_on_disconnect: bool = False) -> Any:
        """The feed, its instrument read from the venue (tick and lot decimals, SWAP ``ctVal``).

        :raise InvalidInputError: files given, a bad option, or the venue does not list the instrument."""
        from .data import OkxDataClient

        if paths:
            raise InvalidInputError(f"feed okx: takes options (inst_type=SWAP,symbol=BTC-USDT-SWAP), not files: "
                                    f"{paths[0]!r}")
        feed = OkxDataClient(config_from_options(options, "feed okx"), end_on_disconnect=end_on_disconnect)
        feed.instrument()
        return feed


@hookimpl
def trader_data_clients() -> list:
    return [OkxFeedClient()]


class OkxVenue:
    """The OKX execution client: ``client(options, credentials, on_report)`` builds an
    :class:`~.execution.OkxExecutionClient` (the node wires it to the engine's commands)."""

    name = "okx"
    description = "OKX v5 SPOT / SWAP orders, user data (private WebSocket) and reconciliation"
    paper = False

    def credentials(self, path: str | None) -> Any:
        """The API key, secret and passphrase: from ``path`` (a TOML file only its user can read,
        with ``passphrase``), else from OKX_API_KEY / OKX_API_SECRET / OKX_API_PASSPHRASE. Refused,
        naming the source, when any is missing."""
        from ..common.auth import Credentials

        if path:
            return Credentials.from_file(path, need_passphrase=True)
        return Credentials.from_env(prefix="OKX", need_passphrase=True)

    def client(self, options: dict[str, Any], credentials: Any, on_report: Any) -> Any:
        from .execution import OkxExecutionClient

        return OkxExecutionClient(config_from_options(options, "venue okx"), credentials, on_report)


@hookimpl
def trader_execution_clients() -> list:
    return [OkxVenue()]
