"""A passive market maker for the L2 engine (the same logic as the Rust ``PassiveMarketMaker``).

Every wake-up (``on_book``, every ``elapse`` of market time) it quotes ``qty`` post-only at the
touch (``offset_ticks`` behind it), one order a side, re-quoting a side whose price moved, and
stops quoting the side that would take its position beyond ``max_position``.

Live, its quotes (order id and price of each side) are its restart state: ``on_save`` keeps them in
``self.state`` and ``on_load`` takes them back, so a restarted node goes on managing the same
orders (the engine restores them at the venue).
"""

from __future__ import annotations

from typing import Any

from trader.strategy import Param, Strategy


class L2MarketMaker(Strategy):
    name = "l2_market_maker"
    description = "Passive market maker on an L2 book: post-only quotes at the touch, position-capped"

    qty = Param(0.002, float, gt=0, help="quote size, units")
    max_position = Param(0.01, float, ge=0, help="largest absolute position, units")
    offset_ticks = Param(0, int, ge=0, help="quote this many ticks behind the touch")

    def on_start(self) -> None:
        self._bid: tuple[int, float] | None = None
        self._ask: tuple[int, float] | None = None

    def on_save(self) -> None:
        self.state["bid"] = list(self._bid) if self._bid is not None else None
        self.state["ask"] = list(self._ask) if self._ask is not None else None

    def on_load(self, state: dict[str, Any]) -> None:
        bid, ask = state.get("bid"), state.get("ask")
        self._bid = (int(bid[0]), float(bid[1])) if bid else None
        self._ask = (int(ask[0]), float(ask[1])) if ask else None

    def _quote(self, book: Any, side: int, want: float | None) -> tuple[int, float] | None:
        slot = self._bid if side > 0 else self._ask
        live = slot if slot is not None and book.is_working(slot[0]) else None
        if live is not None and want is not None and live[1] == want:
            return live
        if live is not None:
            self.cancel(live[0])
        if want is None:
            return None
        oid = self.order(side, self.qty, price=want, post_only=True)
        return (oid, want)

    def on_book(self, book: Any) -> None:
        bid, ask = book.best_bid, book.best_ask
        if bid is None or ask is None:
            return
        pos = self.position()
        eps = 1e-12
        off = self.offset_ticks * book.tick
        want_bid = round(bid - off, 10) if pos + self.qty <= self.max_position + eps else None
        want_ask = round(ask + off, 10) if pos - self.qty >= -self.max_position - eps else None
        self._bid = self._quote(book, 1, want_bid)
        self._ask = self._quote(book, -1, want_ask)
