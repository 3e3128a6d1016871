"""Order sizing shared by the bundled strategies: a fixed quantity, or a fraction of equity."""

from __future__ import annotations

from trader.strategy import Param, Strategy


class Sized(Strategy):
    """Adds ``qty`` / ``size`` / ``allow_short`` and the helpers that turn a signal into orders."""

    qty = Param(0.0, float, ge=0.0, help="fixed order quantity; 0 = size x equity")
    size = Param(1.0, float, gt=0.0, help="fraction of equity per entry when qty is 0")
    allow_short = Param(False, bool, help="take short positions on sell signals")

    def entry_qty(self, price: float) -> float:
        """Quantity of a new entry at ``price``."""
        return self.qty if self.qty > 0 else self.qty_for(self.size, price)

    def go_long(self, price: float) -> None:
        """Cover any short, then buy an entry (nothing if already long)."""
        pos = self.position()
        if pos <= 0:
            q = self.entry_qty(price) - pos
            if q > 0:
                self.buy(q)

    def go_short_or_flat(self, price: float) -> None:
        """Close a long; with ``allow_short`` also sell an entry short (nothing if already short)."""
        pos = self.position()
        if pos > 0 or (pos == 0 and self.allow_short):
            q = pos + (self.entry_qty(price) if self.allow_short else 0.0)
            if q > 0:
                self.sell(q)

    def go_flat(self) -> None:
        """Close whatever position is open."""
        self.close()
