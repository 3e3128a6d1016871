"""Hook implementations: the ``binance`` data client (``trader live --feed binance:market=usdm,
symbols=BTCUSDT``) and the ``binance`` execution client. The lead registers this module under
the ``trader`` entry-point group."""

from __future__ import annotations

from typing import Any

from trader import hookimpl
from trader.exceptions import InvalidInputError

from .config import BinanceConfig

#: ``--feed binance:k=v`` options and their types.
OPTIONS: dict[str, Any] = {"market": str, "symbols": str, "symbol": str, "rest_url": str, "stream_url": str,
                           "ws_api_url": str, "testnet": lambda v: str(v).lower() in ("1", "true", "yes"),
                           "stale_after_s": float, "user_stale_after_s": float, "open_check_s": float, "depth_limit": int, "depth_speed": str, "streams": str,
                           "recv_window": int, "countdown_cancel_s": float, "allow_withdraw":
                           lambda v: str(v).lower() in ("1", "true", "yes")}


def config_from_options(options: dict[str, Any], where: str = "binance") -> BinanceConfig:
    """A :class:`BinanceConfig` from ``k=v`` options (``symbols`` comma- or plus-separated)."""
    kw: dict[str, Any] = {}
    for k, v in options.items():
        if k not in OPTIONS:
            raise InvalidInputError(f"{where}: unknown option {k!r} (known: {', '.join(OPTIONS)})")
        try:
            kw[k] = OPTIONS[k](v)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: option {k}: bad value {v!r}") from None
    if "symbol" in kw:
        kw["symbols"] = kw.pop("symbol")
    for k in ("symbols", "streams"):
        if k in kw and isinstance(kw[k], str):
            kw[k] = tuple(x for x in kw[k].replace("+", ",").split(",") if x)
    return BinanceConfig(**kw)


class BinanceFeedClient:
    name = "binance"
    description = "Binance spot / USDⓈ-M market data: depth diffs (with the documented book sync), bookTicker, trades"

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float) -> Any:
        from .data import BinanceDataClient

        if paths:
            raise InvalidInputError(f"feed binance: takes options (market=usdm,symbols=BTCUSDT), not files: {paths[0]!r}")
        return BinanceDataClient(config_from_options(options, "feed binance"))


class BinanceVenue:
    """The Binance execution client: ``client(options, credentials, on_report)`` builds a
    :class:`~.execution.BinanceExecutionClient` (the node wires it to the engine's commands)."""

    name = "binance"
    description = "Binance spot / USDⓈ-M orders, user data and reconciliation"
    paper = False

    def credentials(self, path: str | None) -> Any:
        """The API key and secret: from ``path`` (a TOML file only its user can read), else from
        BINANCE_API_KEY / BINANCE_API_SECRET. Refused, naming the source, when missing."""
        from .auth import Credentials

        return Credentials.from_file(path) if path else Credentials.from_env()

    def client(self, options: dict[str, Any], credentials: Any, on_report: Any) -> Any:
        from .execution import BinanceExecutionClient

        return BinanceExecutionClient(config_from_options(options, "venue binance"), credentials, on_report)


@hookimpl
def trader_data_clients() -> list:
    return [BinanceFeedClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [BinanceVenue()]
