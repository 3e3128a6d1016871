"""The OKX v5 adapter's settings: instrument type, instruments, URLs (OKX's, or any base URL such
as the local exchange's) and the resilience knobs. One config serves the data client (public
WebSocket: ``ws_public_url``, ``symbols``, ``inst_type``, ``channel``, ``stale_after_s``) and the
execution client (REST, private WebSocket, ``td_mode``, user-stream staleness, the open-order check).
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from trader.exceptions import InvalidInputError

from ..common.config import check_backoff, check_non_negative, check_ping, check_positive
from ..common.ws import Backoff

__all__ = ["OkxConfig", "Backoff", "REST_URL", "WS_PUBLIC_URL", "WS_PRIVATE_URL", "CHANNELS"]

#: OKX's production endpoints.
REST_URL = "https://www.okx.com"
WS_PUBLIC_URL = "wss://ws.okx.com:8443/ws/v5/public"
WS_PRIVATE_URL = "wss://ws.okx.com:8443/ws/v5/private"
#: The public order-book channels the data client may subscribe to.
CHANNELS = ("books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt")

_SPOT_ID = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")
_SWAP_ID = re.compile(r"[A-Z0-9]+-[A-Z0-9]+-SWAP")


class OkxConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of one OKX instrument type (a frozen struct; every field is validated, errors name it).

    ``inst_type``: ``SPOT`` or ``SWAP``; ``symbols``: OKX instIds of that type (``BTC-USDT`` /
    ``BTC-USDT-SWAP``; upper-cased). ``td_mode``: the trade mode orders carry (``cash`` for SPOT,
    ``cross`` for SWAP; empty: that default). ``stale_after_s``: no message on a public stream for
    that long -> reconnect. ``user_stale_after_s``: the private stream is stale (reconnected, then
    caught up over REST) after that long without a message or a ``pong`` (the client sends a text
    ``ping`` every :attr:`ping_s`). ``open_check_s``: every that many seconds the venue's open
    orders are compared with the client's; 0: off. ``allow_withdraw``: accept an API key that may
    withdraw funds (``perm`` of ``/api/v5/account/config`` holds ``withdraw``); refused by default.
    """

    inst_type: Literal["SPOT", "SWAP"] = "SPOT"
    symbols: tuple[str, ...] = ("BTC-USDT",)
    rest_url: str = REST_URL
    ws_public_url: str = WS_PUBLIC_URL
    ws_private_url: str = WS_PRIVATE_URL
    td_mode: str = ""
    channel: str = "books"
    stale_after_s: float = 30.0
    user_stale_after_s: float = 60.0
    ping_s: float = 20.0
    backoff: Backoff = Backoff()
    open_check_s: float = 10.0
    allow_withdraw: bool = False
    request_timeout_s: float = 10.0
    #: Sent as ``x-simulated-trading: 1`` (OKX's demo trading).
    demo: bool = False

    def __post_init__(self) -> None:
        if self.inst_type not in ("SPOT", "SWAP"):
            raise InvalidInputError(f"okx: inst_type must be 'SPOT' or 'SWAP', got {self.inst_type!r}")
        if isinstance(self.symbols, str) or not self.symbols or not all(isinstance(s, str) for s in self.symbols):
            raise InvalidInputError(f"okx: symbols must be a non-empty list of instIds, got {self.symbols!r}")
        symbols = tuple(s.strip().upper() for s in self.symbols)
        pattern = _SPOT_ID if self.inst_type == "SPOT" else _SWAP_ID
        bad = [s for s in symbols if not pattern.fullmatch(s)]
        if bad:
            example = "BTC-USDT" if self.inst_type == "SPOT" else "BTC-USDT-SWAP"
            raise InvalidInputError(f"okx: symbols must be {self.inst_type} instIds such as {example}, got {bad[0]!r}")
        if len(set(symbols)) != len(symbols):
            raise InvalidInputError(f"okx: symbols has duplicates: {symbols!r}")
        default_td = "cash" if self.inst_type == "SPOT" else "cross"
        td = self.td_mode or default_td
        allowed = ("cash",) if self.inst_type == "SPOT" else ("cross", "isolated")
        if td not in allowed:
            raise InvalidInputError(f"okx: td_mode must be one of {allowed} for inst_type {self.inst_type}, "
                                    f"got {self.td_mode!r}")
        for name in ("rest_url", "ws_public_url", "ws_private_url"):
            url = getattr(self, name)
            schemes = ("http://", "https://") if name == "rest_url" else ("ws://", "wss://")
            if not isinstance(url, str) or not url.startswith(schemes):
                raise InvalidInputError(f"okx: {name} must start with {' or '.join(schemes)}, got {url!r}")
        if self.channel not in CHANNELS:
            raise InvalidInputError(f"okx: channel must be one of {', '.join(CHANNELS)}, got {self.channel!r}")
        check_positive("okx", self, "stale_after_s", "user_stale_after_s", "ping_s", "request_timeout_s")
        check_ping("okx", self, "ping_s", "user_stale_after_s")
        check_non_negative("okx", self, "open_check_s")
        check_backoff("okx", self.backoff)
        msgspec.structs.force_setattr(self, "symbols", symbols)
        msgspec.structs.force_setattr(self, "td_mode", td)
        msgspec.structs.force_setattr(self, "rest_url", self.rest_url.rstrip("/"))

    @property
    def swap(self) -> bool:
        """True for SWAP (sizes in contracts, positions, ``reduceOnly``)."""
        return self.inst_type == "SWAP"
