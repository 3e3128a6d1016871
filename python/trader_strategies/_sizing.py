"""Order sizing shared by the bundled strategies: a fixed quantity, or a fraction of equity."""

from __future__ import annotations

from trader.strategy import Param, Strategy


class Sized(Strategy):
    """Adds ``qty`` / ``size`` / ``allow_short`` and the helpers that turn a signal into orders."""

    qty = Param(0.0, float, ge=0.0, help="fixed order quantity; 0 = size x equity")
    size = Param(1.0, float, gt=0.0, help="fraction of equity per entry when qty is 0")
    allow_short = Param(False, bool, help="take short positions on sell signals")
    stop_loss = Param(0.0, float, ge=0.0, lt=1.0, help="protective stop this fraction from the entry (0 = none)")
    take_profit = Param(0.0, float, ge=0.0, help="take-profit limit this fraction from the entry (0 = none)")
    trailing = Param(0.0, float, ge=0.0, lt=1.0, help="trailing stop this fraction behind the best price (0 = none)")

    def validate(self) -> None:
        if self.stop_loss > 0 and self.trailing > 0:
            raise ValueError("give stop_loss or trailing, not both")

    def requires_shorting(self) -> bool:
        return self.allow_short

    @property
    def has_exits(self) -> bool:
        """Entries go in with protective orders (a bracket or an OTO), so only the event path runs it."""
        exits = self.__dict__.get("_has_exits")
        if exits is None:  # parameters are fixed for the run: read them once
            exits = self.__dict__["_has_exits"] = self.stop_loss > 0 or self.take_profit > 0 or self.trailing > 0
        return exits

    def entry_qty(self, price: float) -> float:
        """Quantity of a new entry at ``price``."""
        return self.qty if self.qty > 0 else self.qty_for(self.size, price)

    def enter(self, side: int, qty: float, price: float) -> None:
        """Enter ``qty`` at market on ``side``; with exits, as a bracket/OTO priced off ``price``."""
        self.bracket(
            side,
            qty,
            take_profit=price * (1 + side * self.take_profit) if self.take_profit > 0 else None,
            stop_loss=price * (1 - side * self.stop_loss) if self.stop_loss > 0 else None,
            trailing_offset=self.trailing * 1e4 if self.trailing > 0 else None,
            offset_type="bps",
        )

    def go_long(self, price: float) -> None:
        """Cover any short, then buy an entry (nothing if already long)."""
        pos = self.position()
        if pos > 0:
            return
        if not self.has_exits:
            q = self.entry_qty(price) - pos
            if q > 0:
                self.buy(q)
            return
        self.cancel_all()  # the exits of the previous position
        if pos < 0:
            self.buy(-pos)
        q = self.entry_qty(price)
        if q > 0:
            self.enter(1, q, price)

    def go_short_or_flat(self, price: float) -> None:
        """Close a long; with ``allow_short`` also sell an entry short (nothing if already short)."""
        pos = self.position()
        if pos < 0 or (pos == 0 and not self.allow_short):
            return
        if not self.has_exits:
            q = pos + (self.entry_qty(price) if self.allow_short else 0.0)
            if q > 0:
                self.sell(q)
            return
        self.cancel_all()
        if pos > 0:
            self.sell(pos)
        if self.allow_short:
            q = self.entry_qty(price)
            if q > 0:
                self.enter(-1, q, price)

    def go_flat(self) -> None:
        """Close whatever position is open."""
        self.close()
