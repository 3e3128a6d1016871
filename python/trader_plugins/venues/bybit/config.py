"""The Bybit v5 adapter's settings (one category: ``spot`` or ``linear`` perpetuals), read by both
the data client and the execution client: URLs (Bybit's, its testnet's, or any base URL such as the
local exchange's), symbols, and the resilience knobs.

Market data uses ``ws_public_url`` (the category's path is appended when the URL ends in
``/v5/public``), ``symbols``, ``category``, ``depth`` and ``stale_after_s``; orders use
``rest_url``, ``ws_private_url``, ``recv_window``, ``user_stale_after_s``, ``open_check_s``,
``allow_withdraw``; both reconnect with ``backoff``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from trader.exceptions import InvalidInputError

from ..common.config import check_backoff, check_non_negative, check_ping, check_positive, check_recv_window
from ..common.ws import Backoff

__all__ = ["BybitConfig", "Backoff", "URLS", "DEPTHS"]

#: (rest_url, ws_public_root, ws_private_url) per testnet flag.
URLS = {
    False: ("https://api.bybit.com", "wss://stream.bybit.com/v5/public", "wss://stream.bybit.com/v5/private"),
    True: ("https://api-testnet.bybit.com", "wss://stream-testnet.bybit.com/v5/public",
           "wss://stream-testnet.bybit.com/v5/private"),
}
#: The order-book depths Bybit v5 streams per category (``orderbook.{depth}.{symbol}``).
DEPTHS = {"spot": (1, 50, 200), "linear": (1, 50, 200, 500)}


@dataclass(frozen=True, kw_only=True)
class BybitConfig:
    """Settings of one Bybit v5 category.

    ``rest_url`` / ``ws_public_url`` / ``ws_private_url`` empty: Bybit's (``testnet`` picks its
    testnet). ``ws_public_url`` may be the root ``.../v5/public`` (the category is appended, see
    :attr:`public_url`) or the category's full URL. ``depth``: the ``orderbook.{depth}`` topic.
    ``stale_after_s``: no message on the public stream for that long -> reconnect.
    ``user_stale_after_s``: the same for the private stream (the client pings every
    ``ping_interval_s``; the pong counts as a message). ``open_check_s``: every this many seconds the
    venue's open orders are compared with the client's (0: off). ``allow_withdraw``: accept a key
    that may withdraw (refused otherwise).
    """

    category: Literal["spot", "linear"] = "spot"
    symbols: tuple[str, ...] = ("BTCUSDT",)
    rest_url: str = ""
    ws_public_url: str = ""
    ws_private_url: str = ""
    testnet: bool = False
    recv_window: int = 5000
    depth: int = 50
    stale_after_s: float = 10.0
    user_stale_after_s: float = 60.0
    ping_interval_s: float = 20.0
    backoff: Backoff = field(default_factory=Backoff)
    open_check_s: float = 10.0
    allow_withdraw: bool = False
    request_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.category not in ("spot", "linear"):
            raise InvalidInputError(f"bybit: category must be 'spot' or 'linear', got {self.category!r}")
        syms = self.symbols
        if isinstance(syms, str):
            syms = tuple(s for s in syms.replace("+", ",").split(",") if s)
        if not syms or not all(isinstance(s, str) and s.isalnum() for s in syms):
            raise InvalidInputError(f"bybit: symbols must be non-empty alphanumeric names, got {self.symbols!r}")
        check_recv_window("bybit", self.recv_window)
        if self.depth not in DEPTHS[self.category]:
            raise InvalidInputError(f"bybit: depth must be one of {DEPTHS[self.category]} for category "
                                    f"{self.category}, got {self.depth!r}")
        check_positive("bybit", self, "stale_after_s", "user_stale_after_s", "ping_interval_s", "request_timeout_s")
        check_ping("bybit", self, "ping_interval_s", "user_stale_after_s")
        check_non_negative("bybit", self, "open_check_s")
        check_backoff("bybit", self.backoff)
        for name in ("rest_url", "ws_public_url", "ws_private_url"):
            v = getattr(self, name)
            if not isinstance(v, str) or (v and not v.startswith(("http://", "https://", "ws://", "wss://"))):
                raise InvalidInputError(f"bybit: {name} must be an http(s):// or ws(s):// URL, got {v!r}")
        rest, public, private = URLS[bool(self.testnet)]
        object.__setattr__(self, "symbols", tuple(s.upper() for s in syms))
        object.__setattr__(self, "rest_url", (self.rest_url or rest).rstrip("/"))
        object.__setattr__(self, "ws_public_url", (self.ws_public_url or public).rstrip("/"))
        object.__setattr__(self, "ws_private_url", (self.ws_private_url or private).rstrip("/"))

    @property
    def public_url(self) -> str:
        """The category's public stream: ``ws_public_url`` with ``/{category}`` appended when it is
        the ``/v5/public`` root."""
        u = self.ws_public_url
        return f"{u}/{self.category}" if u.endswith("/v5/public") else u

    @property
    def linear(self) -> bool:
        return self.category == "linear"
