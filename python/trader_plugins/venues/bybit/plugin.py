"""Hook implementations: the ``bybit`` data client (``trader live --feed bybit:category=linear,
symbol=BTCUSDT``) and the ``bybit`` execution client (:class:`BybitVenue`). The lead registers
this module under the ``trader`` entry-point group."""

from __future__ import annotations

from typing import Any

from trader import hookimpl
from trader.exceptions import InvalidInputError

from .config import BybitConfig


def _bool(v: Any) -> bool:
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(v)


#: ``--feed bybit:k=v`` / ``--venue bybit:k=v`` options and their types (every :class:`BybitConfig`
#: field but ``backoff``; ``symbol`` is one of ``symbols``).
OPTIONS: dict[str, Any] = {"category": str, "symbols": str, "symbol": str, "rest_url": str, "ws_public_url": str,
                           "ws_private_url": str, "testnet": _bool, "recv_window": int, "depth": int,
                           "stale_after_s": float, "user_stale_after_s": float, "ping_interval_s": float,
                           "open_check_s": float, "allow_withdraw": _bool, "request_timeout_s": float}


def config_from_options(options: dict[str, Any], where: str = "bybit") -> BybitConfig:
    """A :class:`BybitConfig` from ``k=v`` options (``symbols`` comma- or plus-separated).

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
        return BybitConfig(**kw)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {str(e).removeprefix('bybit: ')}") from None


class BybitFeedClient:
    """``--feed bybit:...``: Bybit v5 order book (synced, resynced by resubscribing) and trades of
    one symbol as the node's quotes and trades (:class:`.data.BybitDataClient`)."""

    name = "bybit"
    description = "Bybit v5 spot / linear market data: the synced order book's top as quotes, public trades"

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float = 1.0,
             end_on_disconnect: bool = False) -> Any:
        """The feed, its instrument read from the venue (tick and lot decimals).

        :raise InvalidInputError: files given, a bad option, or the venue does not list the symbol."""
        from .data import BybitDataClient

        if paths:
            raise InvalidInputError(f"feed bybit: takes options (category=linear,symbol=BTCUSDT), not files: {paths[0]!r}")
        feed = BybitDataClient(config_from_options(options, "feed bybit"), end_on_disconnect=end_on_disconnect)
        feed.instrument()
        return feed


@hookimpl
def trader_data_clients() -> list:
    return [BybitFeedClient()]


class BybitVenue:
    """The Bybit v5 execution client: ``client(options, credentials, on_report)`` builds a
    :class:`~.execution.BybitExecutionClient` (the node wires it to the engine's commands)."""

    name = "bybit"
    description = "Bybit v5 spot / linear orders, user data and reconciliation"
    paper = False

    def credentials(self, path: str | None) -> Any:
        """The API key and secret: from ``path`` (a TOML file only its user can read), else from
        BYBIT_API_KEY / BYBIT_API_SECRET. Refused, naming the source, when missing."""
        from .auth import Credentials

        return Credentials.from_file(path) if path else Credentials.from_env(prefix="BYBIT")

    def client(self, options: dict[str, Any], credentials: Any, on_report: Any) -> Any:
        from .execution import BybitExecutionClient

        return BybitExecutionClient(config_from_options(options, "venue bybit"), credentials, on_report)


@hookimpl
def trader_execution_clients() -> list:
    return [BybitVenue()]
