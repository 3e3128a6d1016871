"""OKX v5 public market data for the live node: channels ``books`` (400 levels; sequence and CRC32
checksum checked by :class:`.book.OkxBookSync`) and ``trades`` on ``/ws/v5/public``, as the node's
quotes and trades (the machinery is :class:`..common.feed.StreamBookFeed`'s).

OKX v5 ("WebSocket API", "Order book channel", "Trades channel"): ``{"op": "subscribe", "args":
[{"channel", "instId"}]}`` answered ``{"event": "subscribe", "arg", "connId"}`` (an error:
``{"event": "error", "code", "msg"}``); the client sends the text ``ping`` when quiet (OKX closes
a connection silent for 30 s) and gets the text ``pong``. A trade push: ``{"arg": {"channel":
"trades", "instId"}, "data": [{"instId", "tradeId", "px", "sz", "side", "ts", ...}]}`` (``side``
the taker's). SWAP sizes are contracts: the feed multiplies them by the instrument's ``ctVal``
(from ``/api/v5/public/instruments``) to hand base units to the node. Resync: unsubscribe and
subscribe ``books`` again (the answer starts with a snapshot).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common.feed import Routed, StreamBookFeed, decimals, fetch_json, one_symbol
from ..common.ws import WsConnection
from .book import OkxBookSync
from .config import OkxConfig
from .orders import trader_symbol

__all__ = ["OkxDataClient"]

#: OKX's instrument type -> the node's market.
MARKETS = {"SPOT": "spot", "SWAP": "usdm"}


class _Arg(msgspec.Struct):
    channel: str = ""
    instId: str = ""


class _Trade(msgspec.Struct):
    instId: str
    tradeId: str
    px: str
    sz: str
    side: str
    ts: str


class _TradeMsg(msgspec.Struct):
    data: list[_Trade]


class _Doc(msgspec.Struct):
    arg: _Arg | None = None
    event: str | None = None
    code: str = ""
    msg: str = ""


_doc = msgspec.json.Decoder(_Doc)
_trades = msgspec.json.Decoder(_TradeMsg)


class OkxDataClient(StreamBookFeed):
    """OKX v5 quotes and trades of one instrument (see the module docs).

    :param config: ``inst_type``, ``symbols`` (the instId), ``ws_public_url``, ``channel``
        (``books``), ``stale_after_s``, ``ping_s``, ``backoff``, ``rest_url`` (for :meth:`instrument`).
    :param ct_val: a SWAP's contract value in base units (None: read by :meth:`instrument`).
    :param end_on_disconnect: see :class:`..common.feed.StreamBookFeed`.
    """

    kind = "okx"

    def __init__(self, config: OkxConfig, *, ct_val: Decimal | None = None, end_on_disconnect: bool = False,
                 rng: random.Random | None = None) -> None:
        symbol = one_symbol("okx", config.symbols, "instId")
        if config.channel != "books":
            raise InvalidInputError(f"feed okx: channel: the data client syncs 'books' (400 levels, checksum), "
                                    f"got {config.channel!r}")
        self.config = config
        super().__init__(venue="okx", url=config.ws_public_url, symbol=symbol,
                         market=MARKETS[config.inst_type], stale_after_s=config.stale_after_s,
                         ping_interval_s=config.ping_s, backoff=config.backoff,
                         size_multiplier=ct_val if (ct_val is not None and config.swap) else Decimal(1),
                         end_on_disconnect=end_on_disconnect, rng=rng)
        self._ct_known = not config.swap or ct_val is not None
        # the node's instrument: BTC-USDT / BTC-USDT-SWAP -> BTCUSDT
        self.symbol = trader_symbol(self.inst_id)

    def make_book(self, symbol: str) -> OkxBookSync:
        return OkxBookSync(symbol, "books", verify_checksum=True)

    def subscribe_messages(self, symbol: str, book: bool, trades: bool) -> list[Any]:
        args = ([{"channel": "books", "instId": symbol}] if book else []) \
            + ([{"channel": "trades", "instId": symbol}] if trades else [])
        return [{"op": "subscribe", "args": args}]

    def unsubscribe_messages(self, symbol: str) -> list[Any]:
        return [{"op": "unsubscribe", "args": [{"channel": "books", "instId": symbol}]}]

    async def send_ping(self, conn: WsConnection) -> None:
        ws = conn.ws
        if ws is None or ws.closed:
            raise ConnectionError("okx: not connected")
        await ws.send_str("ping")

    def route(self, text: str) -> Routed:
        if text == "pong":
            return "pong", None
        d = _doc.decode(text)
        if d.event is not None:
            return ("rejected", f"{d.code} {d.msg}") if d.event == "error" else ("ack", None)
        if d.arg is None:
            return "other", None
        if d.arg.channel == "books":
            return "book", d.arg.instId
        if d.arg.channel == "trades":
            rows = []
            for t in _trades.decode(text).data:
                if t.side not in ("buy", "sell"):
                    raise InvalidInputError(f"okx trades {t.instId}: side must be 'buy' or 'sell', got {t.side!r}")
                if not t.ts.isdigit():
                    raise InvalidInputError(f"okx trades {t.instId}: ts must be milliseconds, got {t.ts!r}")
                rows.append((t.instId, t.px, t.sz, t.side, t.tradeId, int(t.ts)))
            return "trades", rows
        return "other", None

    def describe(self) -> str:
        return f"okx {self.config.inst_type} {self.inst_id} (books + trades)"

    def instrument(self) -> dict[str, Any]:
        """The instrument's tick and lot decimals (base units) and, for SWAP, ``ctVal`` from
        ``/api/v5/public/instruments`` (one blocking request): ``symbol``, ``market``,
        ``price_precision``, ``size_precision``, ``ct_val``. Sets the precisions and the SWAP size
        multiplier.

        :raise InvalidInputError: the venue cannot be reached or does not list the instrument."""
        c = self.config
        url = f"{c.rest_url}/api/v5/public/instruments?instType={c.inst_type}&instId={self.inst_id}"
        doc = fetch_json(url, c.request_timeout_s, "feed okx")
        rows = doc.get("data") or [] if isinstance(doc, dict) else []
        row = next((r for r in rows if isinstance(r, dict) and r.get("instId") == self.inst_id), None)
        if row is None:
            raise InvalidInputError(f"feed okx: {c.inst_type} does not list {self.inst_id} ({url})")
        try:
            tick, lot = Decimal(str(row["tickSz"])), Decimal(str(row["lotSz"]))
            ct = Decimal(str(row["ctVal"])) if c.swap else Decimal(1)
        except (KeyError, InvalidOperation):
            raise InvalidInputError(f"feed okx: {self.inst_id}: tickSz, lotSz{' or ctVal' if c.swap else ''} "
                                    f"missing or not a number ({url})") from None
        if not (tick > 0 and lot > 0 and ct > 0):
            raise InvalidInputError(f"feed okx: {self.inst_id}: tickSz {tick}, lotSz {lot}, ctVal {ct}: must be > 0")
        self.size_multiplier = ct
        self._ct_known = True
        self.price_precision, self.size_precision = decimals(tick), decimals(lot * ct)
        return {"symbol": self.symbol, "market": self.market, "price_precision": self.price_precision,
                "size_precision": self.size_precision, "ct_val": str(ct)}

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        """See :meth:`..common.feed.StreamBookFeed.batches`.

        :raise InvalidInputError: a SWAP whose contract value is unknown (give ``ct_val`` or call
            :meth:`instrument` first)."""
        if not self._ct_known:
            raise InvalidInputError(f"feed okx: {self.inst_id}: the contract value (ctVal) is unknown: call "
                                    "instrument() or give ct_val")
        async for b in super().batches():
            yield b
