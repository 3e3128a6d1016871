"""Bybit v5 public market data for the live node: ``orderbook.{depth}.{symbol}`` (book sync by
:class:`.book.BybitBookSync`) and ``publicTrade.{symbol}`` on ``/v5/public/{spot|linear}``, as the
node's quotes and trades (the machinery is :class:`..common.feed.StreamBookFeed`'s).

Bybit v5 ("WebSocket Connect", "Orderbook", "Trade"): ``{"op": "subscribe", "args": [topics]}``
answered ``{"success", "ret_msg", "conn_id", "op"}``; the client sends ``{"op": "ping"}`` every
20 s (Bybit closes a connection without one for 10 minutes) and gets ``{"success": true,
"ret_msg": "pong", "op": "ping"}``. A trade push: ``{"topic": "publicTrade.BTCUSDT", "type":
"snapshot", "ts", "data": [{"T", "s", "S": "Buy"|"Sell", "v", "p", "i", "BT", ...}]}`` (``S`` the
taker's side, ``i`` the trade id: a UUID on spot). Resync: unsubscribe and subscribe the book
topic again (the answer starts with a snapshot).
"""

from __future__ import annotations

import random
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common.feed import Routed, StreamBookFeed, decimals, fetch_json, one_symbol
from ..common.ws import WsConnection
from .book import BybitBookSync
from .config import BybitConfig

__all__ = ["BybitDataClient"]

#: Bybit's category -> the node's market.
MARKETS = {"spot": "spot", "linear": "usdm"}


class _Trade(msgspec.Struct):
    T: int
    s: str
    S: str
    v: str
    p: str
    i: str


class _TradeMsg(msgspec.Struct):
    topic: str
    data: list[_Trade]


class _Doc(msgspec.Struct):
    topic: str | None = None
    op: str | None = None
    success: bool | None = None
    ret_msg: str = ""


_doc = msgspec.json.Decoder(_Doc)
_trades = msgspec.json.Decoder(_TradeMsg)


class BybitDataClient(StreamBookFeed):
    """Bybit v5 quotes and trades of one symbol (see the module docs).

    :param config: ``category``, ``symbols`` (the first is the feed's), ``ws_public_url``,
        ``depth``, ``stale_after_s``, ``ping_interval_s``, ``backoff``, ``rest_url`` (for
        :meth:`instrument`).
    :param end_on_disconnect: see :class:`..common.feed.StreamBookFeed`.
    """

    kind = "bybit"

    def __init__(self, config: BybitConfig, *, end_on_disconnect: bool = False,
                 rng: random.Random | None = None) -> None:
        symbol = one_symbol("bybit", config.symbols)
        self.config = config
        super().__init__(venue="bybit", url=config.public_url, symbol=symbol,
                         market=MARKETS[config.category], stale_after_s=config.stale_after_s,
                         ping_interval_s=config.ping_interval_s, backoff=config.backoff,
                         end_on_disconnect=end_on_disconnect, rng=rng)

    def make_book(self, symbol: str) -> BybitBookSync:
        return BybitBookSync(symbol, self.config.depth)

    def subscribe_messages(self, symbol: str, book: bool, trades: bool) -> list[Any]:
        args = ([f"orderbook.{self.config.depth}.{symbol}"] if book else []) + ([f"publicTrade.{symbol}"] if trades else [])
        return [{"op": "subscribe", "args": args}]

    def unsubscribe_messages(self, symbol: str) -> list[Any]:
        return [{"op": "unsubscribe", "args": [f"orderbook.{self.config.depth}.{symbol}"]}]

    async def send_ping(self, conn: WsConnection) -> None:
        await conn.send_json({"op": "ping"})

    def route(self, text: str) -> Routed:
        d = _doc.decode(text)
        if d.topic is not None:
            head, _, rest = d.topic.partition(".")
            if head == "orderbook":
                return "book", rest.partition(".")[2]
            if head == "publicTrade":
                rows = [(t.s, t.p, t.v, _side(t.S, d.topic), t.i, t.T) for t in _trades.decode(text).data]
                return "trades", rows
            return "other", None
        if d.op is not None:
            if d.success is False:
                return "rejected", f"{d.op}: {d.ret_msg}"
            return ("pong", None) if d.op == "ping" or d.ret_msg == "pong" else ("ack", None)
        return "other", None

    def describe(self) -> str:
        return f"bybit {self.config.category} {self.inst_id} (orderbook.{self.config.depth} + publicTrade)"

    def instrument(self) -> dict[str, Any]:
        """The symbol's tick and lot decimals from ``/v5/market/instruments-info`` (one blocking
        request): ``symbol``, ``market``, ``price_precision``, ``size_precision``. Sets
        :attr:`price_precision` / :attr:`size_precision`.

        :raise InvalidInputError: the venue cannot be reached or does not list the symbol."""
        c = self.config
        url = f"{c.rest_url}/v5/market/instruments-info?category={c.category}&symbol={self.inst_id}"
        doc = fetch_json(url, c.request_timeout_s, "feed bybit")
        rows = (doc.get("result") or {}).get("list") or [] if isinstance(doc, dict) else []
        row = next((r for r in rows if isinstance(r, dict) and r.get("symbol") == self.inst_id), None)
        if row is None:
            raise InvalidInputError(f"feed bybit: {c.category} does not list {self.inst_id} ({url})")
        lot = row.get("lotSizeFilter") or {}
        step = lot.get("qtyStep") or lot.get("basePrecision")
        tick = (row.get("priceFilter") or {}).get("tickSize")
        if not tick or not step:
            raise InvalidInputError(f"feed bybit: {self.inst_id} has no priceFilter.tickSize or lot step ({url})")
        self.price_precision, self.size_precision = decimals(tick), decimals(step)
        return {"symbol": self.symbol, "market": self.market, "price_precision": self.price_precision,
                "size_precision": self.size_precision}


def _side(s: str, topic: str) -> str:
    if s == "Buy":
        return "buy"
    if s == "Sell":
        return "sell"
    raise InvalidInputError(f"bybit {topic}: S must be 'Buy' or 'Sell', got {s!r}")
