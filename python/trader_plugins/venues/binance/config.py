"""The Binance adapter's settings: market, symbols, URLs (production, testnet or any base URL,
such as the local exchange's), and the resilience knobs."""

from __future__ import annotations

from typing import Literal

import msgspec

from trader.exceptions import InvalidInputError

from ..common.config import check_backoff, check_non_negative, check_positive, check_recv_window
from ..common.ws import Backoff

__all__ = ["BinanceConfig", "Backoff", "URLS"]

#: (rest_url, stream_url, ws_api_url) per (market, testnet).
URLS = {
    ("spot", False): ("https://api.binance.com", "wss://stream.binance.com:9443", "wss://ws-api.binance.com:443/ws-api/v3"),
    ("spot", True): ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision",
                     "wss://ws-api.testnet.binance.vision/ws-api/v3"),
    ("usdm", False): ("https://fapi.binance.com", "wss://fstream.binance.com", ""),
    ("usdm", True): ("https://testnet.binancefuture.com", "wss://stream.binancefuture.com", ""),
}


class BinanceConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of one Binance market.

    ``rest_url``/``stream_url``/``ws_api_url`` empty: Binance's (``testnet`` picks its testnet).
    ``stream_url`` is the root under which ``/ws/<name>`` and ``/stream?streams=`` live (the local
    exchange's ``spot_stream_url`` / ``usdm_stream_url``). ``ws_api_url`` (spot only): the
    WebSocket API that carries spot user data. ``stale_after_s``: no message for that long on a
    stream -> reconnect. ``countdown_cancel_s`` (USDⓈ-M): the dead-man's switch
    (``countdownCancelAll``), refreshed every third of it; 0 turns it off.
    ``listen_key_keepalive_s``: the USDⓈ-M listenKey keepalive period (Binance: 60 min validity).
    ``depth_limit``: levels of the REST snapshot. ``depth_speed``: the diff stream's pace suffix.
    """

    market: Literal["spot", "usdm"] = "spot"
    symbols: tuple[str, ...] = ("BTCUSDT",)
    rest_url: str = ""
    stream_url: str = ""
    ws_api_url: str = ""
    testnet: bool = False
    recv_window: int = 5000
    stale_after_s: float = 10.0
    countdown_cancel_s: float = 0.0
    allow_withdraw: bool = False
    backoff: Backoff = Backoff()
    listen_key_keepalive_s: float = 1800.0
    depth_limit: int = 1000
    depth_speed: str = "100ms"
    streams: tuple[str, ...] = ("depth", "bookTicker", "trade")
    request_timeout_s: float = 10.0
    #: The user-data stream is stale (reconnected, then caught up over REST) after this long
    #: without a message or a server ping; 0: the market's default (spot's WebSocket API pings
    #: every 20 s: 60 s; USDⓈ-M's stream every 3 min: 400 s).
    user_stale_after_s: float = 0.0
    #: Every this many seconds the venue's open orders are compared with the client's (orders
    #: whose closing events a lost stream swallowed are asked for); 0: off.
    open_check_s: float = 10.0

    def __post_init__(self) -> None:
        if self.market not in ("spot", "usdm"):
            raise InvalidInputError(f"binance: market must be 'spot' or 'usdm', got {self.market!r}")
        if not self.symbols or not all(isinstance(s, str) and s.isalnum() for s in self.symbols):
            raise InvalidInputError(f"binance: symbols must be non-empty alphanumeric names, got {self.symbols!r}")
        check_recv_window("binance", self.recv_window)
        check_non_negative("binance", self, "open_check_s", "user_stale_after_s", "countdown_cancel_s")
        check_positive("binance", self, "stale_after_s")
        if self.countdown_cancel_s and self.market != "usdm":
            raise InvalidInputError("binance: countdown_cancel_s is for market usdm only, got "
                                    f"{self.countdown_cancel_s} on {self.market}")
        check_backoff("binance", self.backoff)
        rest, stream, ws_api = URLS[(self.market, self.testnet)]
        msgspec.structs.force_setattr(self, "symbols", tuple(s.upper() for s in self.symbols))
        msgspec.structs.force_setattr(self, "rest_url", (self.rest_url or rest).rstrip("/"))
        msgspec.structs.force_setattr(self, "stream_url", (self.stream_url or stream).rstrip("/"))
        msgspec.structs.force_setattr(self, "ws_api_url", self.ws_api_url or ws_api)

    @property
    def user_stale_s(self) -> float:
        """:attr:`user_stale_after_s`, or the market's default."""
        return self.user_stale_after_s or (60.0 if self.market == "spot" else 400.0)

    @property
    def api_prefix(self) -> str:
        """``/api/v3`` (spot) or ``/fapi/v1`` (USDⓈ-M)."""
        return "/api/v3" if self.market == "spot" else "/fapi/v1"
