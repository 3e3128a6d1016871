"""The market the local exchange runs: a feed drives an order book with update ids, trades and klines.

One :class:`Market` per (market, symbol): spot and USDⓈ-M of the same symbol are two markets fed
by the same events, each with its own update ids and trade ids, as on Binance.

Book: price levels in integer ticks and lots. Every feed event that changes the book is one
*update* (``update_id`` + 1); the changed levels accumulate per depth stream (100 ms and 1000 ms)
and are flushed as one diff ``U..u`` (futures add ``pu``, the previous diff's ``u`` of that
stream). A snapshot (``GET depth``) is the book after update ``lastUpdateId``: Binance's sync
procedure (drop diffs with ``u <= lastUpdateId``, the first kept one has ``U <= lastUpdateId + 1
<= u``, then ``U == previous u + 1``, or ``pu == previous u`` on futures) rebuilds the same book.

Feeds: the synthetic feed's quotes become 5 levels a side (the quote's top plus 4 deterministic
levels behind it); a replayed recording's depth diffs, snapshots and bookTickers are applied as
recorded (its own update ids are replaced by the market's).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["Market", "fmt"]

SYNTH_LEVELS = 5
_json = msgspec.json.Decoder()


def fmt(units: int, precision: int) -> str:
    """``units`` × 10^-precision as a fixed-point string (``fmt(5000012, 2) == "50000.12"``)."""
    if precision <= 0:
        return str(units)
    sign = "-" if units < 0 else ""
    s = str(abs(units)).rjust(precision + 1, "0")
    return f"{sign}{s[:-precision]}.{s[-precision:]}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Depth:
    """Changes waiting for one depth stream's next diff."""

    __slots__ = ("first", "bids", "asks", "last_u")

    def __init__(self, last_u: int) -> None:
        self.first: int | None = None
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last_u = last_u


#: Updates whose top of book :attr:`Market.tops` keeps.
TOP_HISTORY = 200_000


class Market:
    """Book, trades and 1-minute klines of one symbol on one market (``"spot"`` or ``"usdm"``).

    ``emit(market, stream, payload)`` is called for every market-stream message (``stream`` the
    Binance stream name, e.g. ``btcusdt@trade``); the server fans them out to subscribers."""

    def __init__(self, kind: str, symbol: str, price_precision: int, size_precision: int,
                 emit: Callable[[str, str, dict[str, Any]], None] | None = None, first_update_id: int = 1000) -> None:
        self.kind = kind
        self.symbol = symbol.upper()
        self.stream_symbol = self.symbol.lower()
        self.pp = price_precision
        self.sp = size_precision
        self.tick = Decimal(1).scaleb(-price_precision)
        self.lot = Decimal(1).scaleb(-size_precision)
        self.emit = emit or (lambda market, stream, payload: None)
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.update_id = first_update_id
        self.depth = {"100ms": _Depth(first_update_id), "1000ms": _Depth(first_update_id)}
        self.trades: deque[tuple[int, int, int, int, bool]] = deque(maxlen=1000)  # id, px, qty, ms, buyer maker
        self.trade_id = 0
        self.klines: dict[int, list[Any]] = {}
        self._kline_dirty = False
        self.last_event_ms = 0
        #: (update id, best bid, best ask) after each update, the latest :data:`TOP_HISTORY`: what
        #: a client's book must show once it applied that update (the chaos suite's resync check).
        self.tops: deque[tuple[int, int | None, int | None]] = deque(maxlen=TOP_HISTORY)

    # -- conversions ----------------------------------------------------------------------------
    def px(self, ticks: int) -> str:
        return fmt(ticks, self.pp)

    def qty(self, lots: int) -> str:
        return fmt(lots, self.sp)

    def ticks(self, price: float | str | Decimal) -> int:
        return int((Decimal(str(price)) / self.tick).to_integral_value())

    def lots(self, size: float | str | Decimal) -> int:
        return int((Decimal(str(size)) / self.lot).to_integral_value())

    # -- the book -------------------------------------------------------------------------------
    def top(self) -> tuple[int | None, int | None]:
        """Best bid and ask in ticks (None for an empty side)."""
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)

    def top_sizes(self) -> tuple[int, int]:
        bid, ask = self.top()
        return (self.bids[bid] if bid is not None else 0, self.asks[ask] if ask is not None else 0)

    def _update(self, bids: dict[int, int], asks: dict[int, int]) -> None:
        """Apply absolute level quantities (0 removes) as one update."""
        changed_b = {p: q for p, q in bids.items() if self.bids.get(p, 0) != q}
        changed_a = {p: q for p, q in asks.items() if self.asks.get(p, 0) != q}
        if not changed_b and not changed_a:
            return
        self.update_id += 1
        for book, changed in ((self.bids, changed_b), (self.asks, changed_a)):
            for p, q in changed.items():
                if q:
                    book[p] = q
                else:
                    book.pop(p, None)
        for d in self.depth.values():
            if d.first is None:
                d.first = self.update_id
            d.bids.update(changed_b)
            d.asks.update(changed_a)
        bid, ask = self.top()
        self.tops.append((self.update_id, bid, ask))
        bq, aq = self.top_sizes()
        self.emit(self.kind, f"{self.stream_symbol}@bookTicker", self._book_ticker(bid, ask, bq, aq))

    def _book_ticker(self, bid: int | None, ask: int | None, bq: int, aq: int) -> dict[str, Any]:
        msg: dict[str, Any] = {"u": self.update_id, "s": self.symbol,
                               "b": self.px(bid or 0), "B": self.qty(bq), "a": self.px(ask or 0), "A": self.qty(aq)}
        ms = now_ms()
        if self.kind == "usdm":
            msg = {"e": "bookTicker", "u": self.update_id, "E": ms, "T": ms, **{k: msg[k] for k in "sbBaA"},
                   "st": 1, "ps": self.symbol}
        else:
            msg |= {"T": ms, "E": ms}
        return msg

    def set_top(self, bid: int, ask: int, bid_lots: int, ask_lots: int, levels: int = SYNTH_LEVELS) -> None:
        """A top of book from the synthetic feed: ``levels`` levels a side, deeper ones derived."""
        new_b = {bid - k: bid_lots + k * 250 for k in range(levels)}
        new_a = {ask + k: ask_lots + k * 250 for k in range(levels)}
        bids = {p: 0 for p in self.bids if p not in new_b} | new_b
        asks = {p: 0 for p in self.asks if p not in new_a} | new_a
        self._update(bids, asks)

    def apply_levels(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        """A recorded depth diff (absolute quantities)."""
        self._update({self.ticks(p): self.lots(q) for p, q in bids}, {self.ticks(p): self.lots(q) for p, q in asks})

    def replace_book(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        """A recorded snapshot: the book becomes it (one update)."""
        nb = {self.ticks(p): self.lots(q) for p, q in bids}
        na = {self.ticks(p): self.lots(q) for p, q in asks}
        self._update({p: 0 for p in self.bids} | nb, {p: 0 for p in self.asks} | na)

    def set_best(self, bid: str, bid_qty: str, ask: str, ask_qty: str) -> None:
        """A recorded bookTicker: the top levels, levels better than them removed."""
        b, a = self.ticks(bid), self.ticks(ask)
        bids = {p: 0 for p in self.bids if p > b} | {b: self.lots(bid_qty)}
        asks = {p: 0 for p in self.asks if p < a} | {a: self.lots(ask_qty)}
        self._update(bids, asks)

    def snapshot(self, limit: int = 100) -> dict[str, Any]:
        """``GET depth``: the book after update ``lastUpdateId``."""
        bids = sorted(self.bids.items(), reverse=True)[:limit]
        asks = sorted(self.asks.items())[:limit]
        out: dict[str, Any] = {"lastUpdateId": self.update_id}
        if self.kind == "usdm":
            ms = now_ms()
            out |= {"E": ms, "T": ms}
        out["bids"] = [[self.px(p), self.qty(q)] for p, q in bids]
        out["asks"] = [[self.px(p), self.qty(q)] for p, q in asks]
        return out

    def flush_depth(self, speed: str) -> dict[str, Any] | None:
        """The diff of the changes since the last flush of stream ``speed`` (None: no change)."""
        d = self.depth[speed]
        if d.first is None:
            return None
        ms = now_ms()
        msg: dict[str, Any] = {"e": "depthUpdate", "E": ms}
        if self.kind == "usdm":
            msg["T"] = ms
        msg |= {"s": self.symbol, "U": d.first, "u": self.update_id}
        if self.kind == "usdm":
            msg["pu"] = d.last_u
        if self.kind == "usdm":
            msg |= {"ps": self.symbol, "st": 1}
        msg["b"] = [[self.px(p), self.qty(q)] for p, q in sorted(d.bids.items(), reverse=True)]
        msg["a"] = [[self.px(p), self.qty(q)] for p, q in sorted(d.asks.items())]
        d.first, d.bids, d.asks, d.last_u = None, {}, {}, self.update_id
        name = f"{self.stream_symbol}@depth" + ("@100ms" if speed == "100ms" else "")
        self.emit(self.kind, name, msg)
        return msg

    # -- trades and klines ----------------------------------------------------------------------
    def trade(self, price: int, qty: int, buyer_maker: bool, ms: int | None = None) -> None:
        """A print: ``trade`` and ``aggTrade`` messages, the kline updated."""
        ms = ms or now_ms()
        self.trade_id += 1
        tid = self.trade_id
        self.trades.append((tid, price, qty, ms, buyer_maker))
        p, q = self.px(price), self.qty(qty)
        trade: dict[str, Any] = {"e": "trade", "E": ms, "s": self.symbol, "t": tid, "p": p, "q": q}
        if self.kind == "spot":
            trade |= {"b": 0, "a": 0}
        trade |= {"T": ms, "m": buyer_maker}
        if self.kind == "spot":
            trade["M"] = True
        self.emit(self.kind, f"{self.stream_symbol}@trade", trade)
        agg: dict[str, Any] = {"e": "aggTrade", "E": ms, "a": tid, "s": self.symbol, "p": p, "q": q, "f": tid,
                               "l": tid, "T": ms, "m": buyer_maker}
        if self.kind == "spot":
            agg["M"] = True
        agg["st"] = 1
        self.emit(self.kind, f"{self.stream_symbol}@aggTrade", agg)
        start = ms - ms % 60_000
        k = self.klines.get(start)
        notional = Decimal(p) * Decimal(q)
        taker_buy = not buyer_maker
        if k is None:
            if len(self.klines) >= 1000:
                del self.klines[min(self.klines)]
            # open, high, low, close (ticks), volume (lots), quote volume, trades, first, last, taker buy base, quote
            k = self.klines[start] = [price, price, price, price, 0, Decimal(0), 0, tid, tid, 0, Decimal(0)]
        k[1] = max(k[1], price)
        k[2] = min(k[2], price)
        k[3] = price
        k[4] += qty
        k[5] += notional
        k[6] += 1
        k[8] = tid
        if taker_buy:
            k[9] += qty
            k[10] += notional
        self._kline_dirty = True

    def _kline_fields(self, start: int, k: list[Any], closed: bool) -> dict[str, Any]:
        return {"t": start, "T": start + 59_999, "s": self.symbol, "i": "1m", "f": k[7], "L": k[8],
                "o": self.px(k[0]), "c": self.px(k[3]), "h": self.px(k[1]), "l": self.px(k[2]), "v": self.qty(k[4]),
                "n": k[6], "x": closed, "q": str(k[5]), "V": self.qty(k[9]), "Q": str(k[10]), "B": "0"}

    def flush_kline(self) -> None:
        """Push the current minute's kline when it changed, and a closed one when a minute ended."""
        ms = now_ms()
        start = ms - ms % 60_000
        for s in sorted(self.klines):
            if s < start and self.klines[s][-1:] != ["closed"]:
                k = self.klines[s]
                self.emit(self.kind, f"{self.stream_symbol}@kline_1m",
                          {"e": "kline", "E": ms, "s": self.symbol, "k": self._kline_fields(s, k, True)})
                k.append("closed")
        if self._kline_dirty and start in self.klines:
            self._kline_dirty = False
            self.emit(self.kind, f"{self.stream_symbol}@kline_1m",
                      {"e": "kline", "E": ms, "s": self.symbol, "k": self._kline_fields(start, self.klines[start], False)})

    def kline_rows(self, limit: int = 500, start: int | None = None, end: int | None = None) -> list[list[Any]]:
        """``GET klines`` rows (Binance's 12-column layout)."""
        rows = []
        for s in sorted(self.klines):
            if (start is not None and s < start) or (end is not None and s > end):
                continue
            k = self.klines[s]
            rows.append([s, self.px(k[0]), self.px(k[1]), self.px(k[2]), self.px(k[3]), self.qty(k[4]), s + 59_999,
                         str(k[5]), k[6], self.qty(k[9]), str(k[10]), "0"])
        return rows[-limit:]

    def trade_rows(self, limit: int = 500) -> list[dict[str, Any]]:
        """``GET trades`` rows, oldest first."""
        out = []
        for tid, price, qty, ms, bm in list(self.trades)[-limit:]:
            row: dict[str, Any] = {"id": tid, "price": self.px(price), "qty": self.qty(qty),
                                   "quoteQty": str(Decimal(self.px(price)) * Decimal(self.qty(qty))), "time": ms,
                                   "isBuyerMaker": bm}
            if self.kind == "spot":
                row["isBestMatch"] = True
            out.append(row)
        return out

    # -- recorded lines -------------------------------------------------------------------------
    def apply_line(self, text: str) -> tuple[str, Any] | None:
        """One recorded ``<ns> <json>`` line (or bare json): what it was for the matcher —
        ``("trade", (price ticks, lots, buyer_maker))``, ``("book", None)`` or None."""
        raw = text.split(" ", 1)[1] if text[:1].isdigit() and " " in text else text
        msg = _json.decode(raw)
        if isinstance(msg, dict) and "data" in msg and "stream" in msg:
            msg = msg["data"]
        if not isinstance(msg, dict):
            return None
        e = msg.get("e")
        if e == "depthUpdate":
            self.apply_levels(msg.get("b", []), msg.get("a", []))
            return ("book", None)
        if e in ("trade", "aggTrade"):
            price, qty = self.ticks(msg["p"]), self.lots(msg["q"])
            self.trade(price, qty, bool(msg.get("m")))
            return ("trade", (price, qty, bool(msg.get("m"))))
        if "lastUpdateId" in msg and "bids" in msg:
            self.replace_book(msg["bids"], msg["asks"])
            return ("book", None)
        if e == "bookTicker" or {"b", "B", "a", "A"} <= msg.keys():
            self.set_best(msg["b"], msg["B"], msg["a"], msg["A"])
            return ("book", None)
        return None
