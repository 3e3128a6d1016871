"""The account bookkeeping every protocol front of the local exchange shares.

A :class:`Ledger` turns the matcher's events into the account's state — orders' fills and
statuses, spot locks and balances, USDⓈ-M positions, realized PnL and fees in the wallet, the
trade ids — and calls the front's report hooks, which say it in the venue's words:

- ``_emit_spot_report(acct, order, x, fill=None)``: a spot order changed (``x``: NEW, TRADE,
  CANCELED, EXPIRED, ...; ``fill``: the trade when it is one);
- ``_emit_spot_position(acct, assets)``: spot balances of ``assets`` changed;
- ``_emit_fut_update(acct, order, x, fill=None)``: a USDⓈ-M / linear order changed;
- ``_emit_algo_update(acct, order, status)``: a conditional (algo) order changed;
- ``_emit_fut_account(acct, symbol)``: a position and the wallet changed.

A front subclasses it (:class:`~trader.exchange.binance.BinanceFront`,
:class:`~trader.exchange.bybit.BybitFront`) and adds its routes, its checks and its shapes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from trader.exceptions import InvalidInputError
from trader.exchange.accounts import ZERO, Account, Fill, Matcher, Order

if TYPE_CHECKING:
    from trader.exchange.server import Exchange

__all__ = ["Ledger"]


def _norm(d: Decimal) -> Decimal:
    """``d`` without trailing zeros (never in exponent form)."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


class Ledger(ABC):
    """The matcher's events into one exchange's accounts; a front's reports through its hooks."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.trade_seq = 0
        self.order_seq = 0

    # ------------------------------------------------------------------------------------------
    # the front's report hooks
    # ------------------------------------------------------------------------------------------
    @abstractmethod
    def _emit_spot_report(self, acct: Account, o: Order, x: str, fill: Fill | None = None, reason: str = "NONE") -> None:
        """A spot order changed (``x`` what happened; ``fill`` the trade when it is one)."""

    @abstractmethod
    def _emit_spot_position(self, acct: Account, assets: list[str]) -> None:
        """The spot balances of ``assets`` changed."""

    @abstractmethod
    def _emit_fut_update(self, acct: Account, o: Order, x: str, fill: Fill | None = None) -> None:
        """A USDⓈ-M (linear) order changed."""

    @abstractmethod
    def _emit_algo_update(self, acct: Account, o: Order, status: str) -> None:
        """A conditional (algo) order changed."""

    @abstractmethod
    def _emit_fut_account(self, acct: Account, symbol: str, reason: str = "ORDER") -> None:
        """A position (``symbol``) and the USDⓈ-M wallet changed."""

    # ------------------------------------------------------------------------------------------
    # orders at the matcher, and its events into the books
    # ------------------------------------------------------------------------------------------
    def server_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.ex.chaos.skew_ms

    def _matcher(self, acct: Account, market: str, symbol: str) -> Matcher:
        key = (market, symbol)
        mt = acct.matchers.get(key)
        if mt is None:
            m = self.ex.markets[key]
            maker, taker = self.ex.fees[market]
            mt = acct.matchers[key] = Matcher(market, symbol, m.pp, m.sp, float(maker), float(taker))
            bid, ask = m.top()
            bq, aq = m.top_sizes()
            mt.quote(float(m.px(bid)) if bid is not None else None, float(m.px(ask)) if ask is not None else None,
                     float(m.qty(bq)), float(m.qty(aq)))
        return mt

    def _request(self, o: Order, market: str) -> Any:
        """The trader OrderRequest of an exchange order."""
        from trader import orders

        side = o.side.lower()
        qty = float(o.qty)
        price = float(o.price)  # validated: set for the types that use it
        trigger = float(o.stop)
        tif = {"GTX": "GTC"}.get(o.tif, o.tif) or "GTC"
        kw: dict[str, Any] = {"reduce_only": o.reduce_only} if market == "usdm" else {}
        if o.tif == "GTD":
            kw["expire_time"] = o.gtd * 1_000_000
        t = o.type
        if t == "LIMIT":
            return orders.limit(side, qty, price, time_in_force=tif, post_only=o.tif == "GTX", **kw)
        if t == "LIMIT_MAKER":
            return orders.limit(side, qty, price, post_only=True)
        if t == "MARKET":
            return orders.market(side, qty, time_in_force="IOC", **kw)
        buy = o.side == "BUY"
        # spot STOP_LOSS sells below / buys above the market (a stop); TAKE_PROFIT the other way
        if t in ("STOP_LOSS", "TAKE_PROFIT") and o.callback_rate is not None:  # spot trailingDelta
            if o.activate:
                kw["activation"] = float(o.activate)
            return orders.trailing_stop_market(side, qty, float(o.callback_rate * 100), offset_type="bps", **kw)
        if t in ("STOP_LOSS", "STOP_MARKET"):
            return orders.stop_market(side, qty, trigger, **kw)
        if t in ("STOP_LOSS_LIMIT", "STOP"):
            return orders.stop_limit(side, qty, trigger, price, time_in_force=tif, **kw)
        if t in ("TAKE_PROFIT", "TAKE_PROFIT_MARKET"):
            return orders.market_if_touched(side, qty, trigger, **kw)
        if t in ("TAKE_PROFIT_LIMIT", "TAKE_PROFIT"):
            return orders.limit_if_touched(side, qty, trigger, price, time_in_force=tif, **kw)
        if t == "TRAILING_STOP_MARKET":
            assert o.callback_rate is not None
            if o.activate:
                kw["activation"] = float(o.activate)
            del buy
            return orders.trailing_stop_market(side, qty, float(o.callback_rate * 100), offset_type="bps", **kw)
        raise InvalidInputError(f"order type {t!r}: not one the exchange matches")

    def _next_id(self) -> int:
        self.order_seq += 1
        return self.order_seq

    def _register(self, acct: Account, o: Order) -> None:
        acct.orders[o.market][o.id] = o
        acct.by_client[o.market][o.client_id] = o.id

    def _cancel(self, acct: Account, o: Order, reason: str = "requested") -> None:
        """Cancel an open order at the matcher and close it here."""
        mt = self._matcher(acct, o.market, o.symbol)
        sid = o.child if o.child is not None else o.id
        mt.cancel(sid)
        self.ex.settle(acct, o.market, mt)
        if o.open:  # the matcher did not know it (or it was already done there): close it here
            self.ex.close_order(acct, o, "CANCELED")
        self.ex.count("orders_canceled")

    def on_event(self, acct: Account, market: str, e: dict[str, Any], fill: dict[str, Any] | None) -> None:
        """One event of the matcher (with its fill, if it is one) applied to the account."""
        book = acct.orders[market]
        o = book.get(e["order_id"])
        if o is None:
            return
        kind = e["kind"]
        if o.algo and o.child is not None:
            target = book[o.child]
        else:
            target = o
        if "trigger" in kind:
            self._triggered(acct, o)
            return
        if fill is not None:
            if o.algo and o.child is None:
                self._triggered(acct, o)
                target = book[o.child]  # type: ignore[index]
            self._fill(acct, market, target, fill)
            if o is not target:
                o.status = target.status
                o.update = target.update
                if target.status == "FILLED":
                    self._emit_algo_update(acct, o, "FINISHED")
            return
        if kind in ("canceled", "expired", "rejected"):
            if not target.open:
                return
            reason = e.get("reason") or ""
            status = "EXPIRED" if (kind == "expired" or reason.startswith(("ioc", "fok")) or "remainder" in reason
                                   or target.type == "MARKET") else ("REJECTED" if kind == "rejected" else "CANCELED")
            if kind == "rejected" and target.executed:
                status = "EXPIRED"
            self.ex.close_order(acct, target, status)
            if o is not target and o.open:
                o.status = status
            if o is not target or o.algo:
                self._emit_algo_update(acct, o, "CANCELED" if status == "CANCELED" else ("FINISHED" if o.child else status))

    def _triggered(self, acct: Account, o: Order) -> None:
        if o.market == "spot":
            if not o.working:  # the order is working now: an executionReport NEW with w=true
                o.working = True
                o.update = self.server_ms()
                self._emit_spot_report(acct, o, "NEW")
            return
        if o.child is not None:
            return
        o.trigger_time = self.server_ms()
        child_type = "MARKET" if o.type.endswith("MARKET") else "LIMIT"
        c = Order(self._next_id(), o.client_id if False else f"{o.client_id}"[:36], o.symbol, "usdm", o.side, o.type,
                  o.tif, o.qty, o.price, o.stop, o.trigger_time, reduce_only=o.reduce_only, update=o.trigger_time,
                  parent=o.id)
        c.client_id = o.client_id
        del child_type
        o.child = c.id
        acct.orders["usdm"][c.id] = c
        self._emit_algo_update(acct, o, "TRIGGERED")
        self._emit_fut_update(acct, c, "NEW")

    def _fill(self, acct: Account, market: str, o: Order, f: dict[str, Any]) -> None:
        # the commission as Binance reports and books it: to 8 decimals (the events, the trade
        # rows and the balances then agree to the unit)
        fee = _norm(Decimal(f["fee"]).quantize(Decimal("1E-8"), rounding=ROUND_HALF_UP))
        price, qty = _norm(Decimal(f["price"])), _norm(Decimal(f["qty"]))
        maker = f.get("liquidity") == "MAKER"
        self.trade_seq += 1
        ms = self.server_ms()
        quote = o.symbol[-4:]
        fill = Fill(self.trade_seq, o.id, o.symbol, market, o.side, price, qty, fee, quote, maker, ms)
        o.executed += qty
        o.cum_quote += price * qty
        o.update = ms
        o.status = "FILLED" if o.executed >= o.qty else "PARTIALLY_FILLED"
        o.fills.append(fill.id)
        if market == "spot":
            base = o.symbol[:-4]
            if o.side == "BUY":
                share = o.lock_price * qty * (1 + self.ex.fees["spot"][1] / Decimal(10_000))
                share = min(share, o.lock_left)
                o.lock_left -= share
                acct.locked[quote] -= share
                acct.free[quote] = acct.free.get(quote, ZERO) + share - price * qty - fee
                acct.credit(base, qty)
            else:
                o.lock_left -= qty
                acct.locked[base] -= qty
                acct.credit(quote, price * qty - fee)
            if not o.open and o.lock_left:
                acct.unlock(o.lock_asset, o.lock_left)
                o.lock_left = ZERO
            acct.fills[market].append(fill)
            self._emit_spot_report(acct, o, "TRADE", fill)
            self._emit_spot_position(acct, [base, quote])
        else:
            p = acct.position(o.symbol)
            signed = qty if o.side == "BUY" else -qty
            realized = ZERO
            if p.amt == 0 or (p.amt > 0) == (signed > 0):
                p.entry = (p.entry * abs(p.amt) + price * qty) / (abs(p.amt) + qty)
                p.amt += signed
            else:
                closing = min(qty, abs(p.amt))
                realized = (price - p.entry) * closing * (1 if p.amt > 0 else -1)
                p.amt += signed
                if p.amt == 0:
                    p.entry = ZERO
                elif (p.amt > 0) == (signed > 0):  # flipped: the rest opens at the fill price
                    p.entry = price
            p.realized += realized
            p.update = ms
            fill.realized = realized
            acct.wallet["USDT"] = acct.wallet.get("USDT", ZERO) + realized - fee
            acct.fills[market].append(fill)
            self._emit_fut_update(acct, o, "TRADE", fill)
            self._emit_fut_account(acct, o.symbol)
