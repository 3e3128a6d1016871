"""Accounts of the local exchange: keys, balances, positions, orders and fills, in exact decimals.

The orders match in trader's own venue: one :class:`Matcher` (a ``trader._core.LiveSession``) per
(account, market, symbol), fed every market event. The account rules are kept here, the way
Binance keeps them:

- spot: ``free``/``locked`` per asset. A buy locks ``price × qty × (1 + taker fee)`` of the quote
  asset (a market buy at the ask, a stop-market buy at its stop price), a sell locks ``qty`` of
  the base asset; each fill releases its share and books the trade; the commission is charged in
  the quote asset (the exchange's documented simplification); the rest is released when the order
  ends.
- USDⓈ-M: a USDT wallet, one-way positions (``positionAmt``, ``entryPrice`` the average of the
  opening fills), realized PnL and commissions booked into the wallet, a margin check (``-2019``)
  on orders that add exposure: ``notional / leverage`` against the available balance (wallet +
  unrealized PnL - position margin - open orders' margin).

Accounts TOML (``--accounts FILE``)::

    [[account]]
    api_key = "..."
    secret = "..."
    balances = { USDT = 10000, BTC = 1 }
    permissions = ["SPOT", "USDM"]      # optional; "WITHDRAW" reports enableWithdrawals
    passphrase = "..."                  # optional; OKX keys have one (the okx front requires and checks it)
"""

from __future__ import annotations

import secrets
import time
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["dstr", "Account", "Order", "Fill", "Matcher", "load_accounts", "default_account"]

ZERO = Decimal(0)


def dstr(d: Decimal) -> str:
    """An exact decimal as a plain string without trailing zeros (``"0.01"``, ``"10"``, never ``1E+1``)."""
    n = d.normalize()
    return str(n.quantize(Decimal(1)) if n == n.to_integral_value() else n)


@dataclass
class Fill:
    """One trade of an account."""

    id: int
    order_id: int
    symbol: str
    market: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    time: int
    realized: Decimal = ZERO

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "orderId": self.order_id, "symbol": self.symbol, "market": self.market,
                "side": self.side, "price": dstr(self.price), "qty": dstr(self.qty), "commission": dstr(self.fee),
                "commissionAsset": self.fee_asset, "maker": self.maker, "time": self.time,
                "realizedPnl": dstr(self.realized)}


@dataclass
class Order:
    """An order as the exchange knows it (Binance's fields)."""

    id: int
    client_id: str
    symbol: str
    market: str
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal
    stop: Decimal
    time: int
    reduce_only: bool = False
    quote_qty: Decimal = ZERO
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update: int = 0
    working: bool = True
    algo: bool = False
    callback_rate: Decimal | None = None
    activate: Decimal | None = None
    gtd: int = 0
    child: int | None = None  # futures algo: the order created when it triggered
    parent: int | None = None
    trigger_time: int = 0
    # spot: what is locked for it (asset, amount left, price the lock was taken at)
    lock_asset: str = ""
    lock_left: Decimal = ZERO
    lock_price: Decimal = ZERO
    fills: list[int] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed if self.executed else ZERO

    def to_dict(self) -> dict[str, Any]:
        return {"orderId": self.id, "clientOrderId": self.client_id, "symbol": self.symbol, "market": self.market,
                "side": self.side, "type": self.type, "timeInForce": self.tif, "origQty": dstr(self.qty),
                "price": dstr(self.price), "stopPrice": dstr(self.stop), "executedQty": dstr(self.executed),
                "cumQuote": dstr(self.cum_quote), "status": self.status, "reduceOnly": self.reduce_only,
                "algo": self.algo, "time": self.time, "updateTime": self.update}


@dataclass
class Position:
    symbol: str
    amt: Decimal = ZERO
    entry: Decimal = ZERO
    realized: Decimal = ZERO
    leverage: int = 20
    update: int = 0


class Account:
    """One key pair and what it owns."""

    def __init__(self, api_key: str, secret: str, balances: dict[str, Decimal],
                 permissions: tuple[str, ...] = ("SPOT", "USDM"), passphrase: str | None = None) -> None:
        self.api_key = api_key
        self.secret = secret
        #: The key's passphrase (OKX keys have one; the other fronts ignore it).
        self.passphrase = passphrase
        self.permissions = permissions
        self.free: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {a: ZERO for a in balances}
        #: USDⓈ-M wallet (its own balances: the same amounts as spot at start, as on a testnet)
        self.wallet: dict[str, Decimal] = {a: v for a, v in balances.items() if a in ("USDT", "USDC", "BNFCR")}
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, dict[int, Order]] = {"spot": {}, "usdm": {}}
        self.by_client: dict[str, dict[str, int]] = {"spot": {}, "usdm": {}}
        self.fills: dict[str, list[Fill]] = {"spot": [], "usdm": []}
        self.matchers: dict[tuple[str, str], Matcher] = {}
        self.leverage: dict[str, int] = {}
        self.countdown: dict[str, float] = {}  # symbol -> monotonic deadline

    def __repr__(self) -> str:  # never the secret (nor the passphrase)
        return f"Account(api_key={self.api_key[:4]}…, secret=<hidden>)"

    def position(self, symbol: str) -> Position:
        p = self.positions.get(symbol)
        if p is None:
            p = self.positions[symbol] = Position(symbol, leverage=self.leverage.get(symbol, 20))
        return p

    def credit(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, ZERO) + amount
        self.locked.setdefault(asset, ZERO)

    def lock(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.free.get(asset, ZERO) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        self.locked[asset] = self.locked.get(asset, ZERO) - amount
        self.free[asset] = self.free.get(asset, ZERO) + amount


def _decimal(name: str, value: Any) -> Decimal:
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        raise InvalidInputError(f"accounts: {name}: not a number: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise InvalidInputError(f"accounts: {name}: must be a finite number >= 0, got {value!r}")
    return d


def _account(i: int, spec: dict[str, Any]) -> Account:
    where = f"account {i + 1}"
    if not isinstance(spec, dict):
        raise InvalidInputError(f"accounts: {where}: expected a table")
    for key in ("api_key", "secret"):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise InvalidInputError(f"accounts: {where}: {key} must be a non-empty string")
    unknown = set(spec) - {"api_key", "secret", "balances", "permissions", "passphrase"}
    if unknown:
        raise InvalidInputError(f"accounts: {where}: unknown key {sorted(unknown)[0]!r}")
    passphrase = spec.get("passphrase")
    if passphrase is not None and (not isinstance(passphrase, str) or not passphrase.strip()):
        raise InvalidInputError(f"accounts: {where}: passphrase must be a non-empty string when given")
    balances = spec.get("balances", {})
    if not isinstance(balances, dict):
        raise InvalidInputError(f"accounts: {where}: balances must be a table like {{ USDT = 10000 }}")
    perms = spec.get("permissions", ["SPOT", "USDM"])
    if not isinstance(perms, list) or any(p not in ("SPOT", "USDM", "WITHDRAW") for p in perms):
        raise InvalidInputError(f"accounts: {where}: permissions must be a list of SPOT, USDM, WITHDRAW, got {perms!r}")
    return Account(spec["api_key"], spec["secret"],
                   {str(a).upper(): _decimal(f"{where}: balances.{a}", v) for a, v in balances.items()}, tuple(perms),
                   passphrase)


def load_accounts(source: str | Path | list[dict[str, Any]] | None) -> list[Account]:
    """Accounts from a TOML file, a list of dicts, or (None) one funded account with a new key."""
    if source is None:
        return [default_account()]
    if isinstance(source, (str, Path)):
        try:
            data = tomllib.loads(Path(source).read_text())
        except OSError as e:
            raise InvalidInputError(f"accounts: {source}: {e.strerror or e}") from None
        except tomllib.TOMLDecodeError as e:
            raise InvalidInputError(f"accounts: {source}: not valid TOML: {e}") from None
        specs = data.get("account")
        if not isinstance(specs, list) or not specs:
            raise InvalidInputError(f"accounts: {source}: expected [[account]] tables")
    else:
        specs = list(source)
        if not specs:
            raise InvalidInputError("accounts: the list is empty")
    out = [_account(i, s) for i, s in enumerate(specs)]
    keys = [a.api_key for a in out]
    if len(set(keys)) != len(keys):
        raise InvalidInputError("accounts: two accounts have the same api_key")
    return out


def default_account() -> Account:
    """One funded account with a fresh key pair and passphrase (printed by ``trader exchange serve``)."""
    return Account(secrets.token_urlsafe(48)[:64], secrets.token_urlsafe(48)[:64],
                   {"USDT": Decimal(100_000), "BTC": Decimal(10), "ETH": Decimal(100)},
                   passphrase=secrets.token_urlsafe(18)[:24])


# -- the matcher ----------------------------------------------------------------------------------

def _desk_class() -> type:
    from trader.strategy import Strategy

    class _Desk(Strategy):
        """A strategy that trades nothing by itself: the exchange's orders go through it when
        the session has no exchange-side ``place`` (it submits them from the next quote)."""

        name = "exchange_desk"

        def __init__(self) -> None:
            super().__init__()
            self.queue: list[tuple[str, Any]] = []
            self.ids: list[int] = []
            self.canceled: list[bool] = []

        def _drain(self) -> None:
            while self.queue:
                op, arg = self.queue.pop(0)
                if op == "place":
                    self.ids.append(self.submit(arg))
                else:
                    self.cancel(arg)

        def on_quote(self, quote: Any) -> None:
            self._drain()

        def on_trade(self, trade: Any) -> None:
            self._drain()

    return _Desk


class Matcher:
    """trader's venue for one (account, market, symbol): a ``LiveSession`` that is fed the
    market's quotes and trades and matches the account's orders.

    Uses the session's exchange-side ``place(request, order_id)`` / ``cancel(order_id)`` when the
    extension has them; otherwise the orders go in through a passive strategy (a repeated quote
    at the same time lets it submit them), and the session's ids are mapped to the exchange's."""

    def __init__(self, market: str, symbol: str, price_precision: int, size_precision: int,
                 maker_bps: float, taker_bps: float) -> None:
        from trader import _core

        self.native = hasattr(_core.LiveSession, "place")
        self.desk = _desk_class()()
        self.session = _core.LiveSession(
            self.desk, mode="quotes", market=market, price_precision=price_precision, size_precision=size_precision,
            account="margin", leverage=1000.0, cash=1e15, maker_fee_bps=maker_bps, taker_fee_bps=taker_bps,
            symbol=symbol, maintenance_margin=0.0)
        self.to_ex: dict[int, int] = {}
        self.to_session: dict[int, int] = {}
        self._ev = 0
        self._fi = 0
        self.ts = 0
        self.last_quote: tuple[float | None, float | None, float, float] | None = None

    def _now(self) -> int:
        self.ts = max(self.ts + 1, time.time_ns())
        return self.ts

    def quote(self, bid: float | None, ask: float | None, bid_size: float, ask_size: float) -> None:
        self.last_quote = (bid, ask, bid_size, ask_size)
        self.session.push_quote(self._now(), bid, ask, bid_size, ask_size)
        self.session.pump()

    def trade(self, price: float, size: float, side: str, tid: int) -> None:
        self.session.push_trade(self._now(), price, size, side, tid)
        self.session.pump()

    def place(self, request: Any, order_id: int) -> None:
        if self.native:
            self.session.place(request, order_id)  # type: ignore[attr-defined]
            self.session.pump()
            return
        self.desk.queue.append(("place", request))
        self._kick()
        sid = self.desk.ids[-1]
        self.to_ex[sid] = order_id
        self.to_session[order_id] = sid

    def amend(self, order_id: int, qty: str, price: str) -> bool:
        """Modify an open order's quantity and price (decimal strings) at once; True when open."""
        ok = bool(self.session.amend(order_id, qty=qty, price=price))
        self.session.pump()
        return ok

    def cancel(self, order_id: int) -> bool:
        if self.native:
            ok = bool(self.session.cancel(order_id))  # type: ignore[attr-defined]
            self.session.pump()
            return ok
        sid = self.to_session.get(order_id)
        if sid is None:
            return False
        rec = self.session.order(sid)
        if rec is None or rec["status"] in ("FILLED", "CANCELED", "EXPIRED", "REJECTED"):
            return False
        self.desk.queue.append(("cancel", sid))
        self._kick()
        return True

    def _kick(self) -> None:
        q = self.last_quote or (None, None, 0.0, 0.0)
        self.session.push_quote(self._now(), *q)
        self.session.pump()

    def drain(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """New order events and fills (the exchange's order ids)."""
        events = self.session.events_since(self._ev)
        fills = self.session.fills_since(self._fi)
        self._ev += len(events)
        self._fi += len(fills)
        if not self.native:
            for e in events:
                e["order_id"] = self.to_ex.get(e["order_id"], 0)
            for f in fills:
                f["order_id"] = self.to_ex.get(f["order_id"], 0)
        return events, fills
