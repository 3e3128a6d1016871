"""trader's order commands as Bybit v5's ``POST /v5/order/create`` parameters (spot and linear).

=====================  ============================================================================
trader ``kind``        Bybit v5
=====================  ============================================================================
market                 ``orderType=Market`` (spot: ``marketUnit=baseCoin``: the quantity is the base
                       coin's, as trader's is, never the quote's)
limit                  ``orderType=Limit`` + ``timeInForce`` GTC / IOC / FOK; post-only:
                       ``timeInForce=PostOnly``
stop_market            ``Market`` + ``triggerPrice``; linear ``triggerDirection`` 1 (buy: the price
                       rises to it) / 2 (sell: falls to it); spot ``orderFilter=StopOrder``
stop_limit             ``Limit`` + ``triggerPrice`` (as stop_market) + ``price``
market_if_touched      ``Market`` + ``triggerPrice``, the other direction (buy 2, sell 1)
limit_if_touched       ``Limit`` + ``triggerPrice`` (as market_if_touched) + ``price``
trailing_*             refused: Bybit trails only a position's stop (``/v5/position/trading-stop``),
                       no order; trader's order manager emulates it
lists (OCO, brackets)  refused: trader's order manager emulates them
=====================  ============================================================================

``reduce_only`` (``reduceOnly``) is linear only; ``GTD`` and ``DAY`` do not exist on Bybit.
Quantities are rounded down to the instrument's step, limit prices to the tick (buys down, sells
up: never more aggressive than asked), triggers to the nearest tick; an order that still breaks the
instrument's rules (minimum/maximum quantity, minimum order value) is refused with
:class:`OrderRefused` before anything is sent. ``orderLinkId`` is the engine's client id (at most 36
letters, digits, ``-`` or ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common.execution import fmt_decimal

__all__ = ["Instrument", "OrderRefused", "parse_instruments", "order_params", "CLIENT_ID_RE", "KINDS",
           "fmt_decimal"]

#: Bybit's allowed ``orderLinkId``.
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
KINDS = ("market", "limit", "stop_market", "stop_limit", "market_if_touched", "limit_if_touched")
_TRAILING = ("trailing_stop_market", "trailing_stop_limit")


class OrderRefused(InvalidInputError):
    """An order the adapter refuses before sending (Bybit would reject it, or cannot express it)."""


class Instrument(msgspec.Struct, frozen=True):
    """One symbol's trading rules from ``/v5/market/instruments-info`` (decimal strings; "0": none)."""

    symbol: str
    base_coin: str
    quote_coin: str
    tick_size: str
    qty_step: str
    min_qty: str
    max_qty: str
    min_notional: str
    status: str = "Trading"


def _d(v: Any, default: str = "0") -> Decimal:
    try:
        return Decimal(str(v)) if v not in (None, "") else Decimal(default)
    except InvalidOperation:
        return Decimal(default)


def parse_instruments(result: Mapping[str, Any]) -> dict[str, Instrument]:
    """``instruments-info``'s ``result`` (spot or linear) as :class:`Instrument` by symbol."""
    out: dict[str, Instrument] = {}
    for s in result.get("list", []):
        lot, price = s.get("lotSizeFilter", {}), s.get("priceFilter", {})
        step = lot.get("qtyStep") or lot.get("basePrecision") or "0"
        notional = lot.get("minNotionalValue") or lot.get("minOrderAmt") or "0"
        out[str(s["symbol"])] = Instrument(
            symbol=str(s["symbol"]), base_coin=str(s.get("baseCoin", "")), quote_coin=str(s.get("quoteCoin", "")),
            tick_size=str(price.get("tickSize", "0")), qty_step=str(step), min_qty=str(lot.get("minOrderQty", "0")),
            max_qty=str(lot.get("maxOrderQty", "0")), min_notional=str(notional),
            status=str(s.get("status", "Trading")))
    return out


def _round(value: Decimal, step: Decimal, mode: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=mode) * step


def _num(cmd: Mapping[str, Any], key: str, where: str) -> Decimal:
    v = cmd.get(key)
    try:
        d = Decimal(str(v)) if v is not None else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite() or d <= 0:
        raise OrderRefused(f"{where}: {key}: must be a positive decimal, got {v!r}")
    return d


def order_params(cmd: Mapping[str, Any], category: str, instrument: Instrument | None) -> dict[str, Any]:
    """The ``/v5/order/create`` body placing the engine's submit ``cmd`` in ``category``
    (``"spot"``/``"linear"``), rounded to ``instrument`` (None: sent as given).

    :raises OrderRefused: what Bybit cannot express or would reject on the instrument's rules.
    """
    if category not in ("spot", "linear"):
        raise InvalidInputError(f"bybit: category must be 'spot' or 'linear', got {category!r}")
    cid = str(cmd.get("client_id") or "")
    where = f"bybit order {cid or '?'}"
    kind, side = cmd.get("kind"), cmd.get("side")
    if cmd.get("op", "submit") != "submit":
        raise OrderRefused(f"{where}: op {cmd.get('op')!r} is not a submit")
    if kind in ("oco", "bracket", "oto", "otoco") or cmd.get("list"):
        raise OrderRefused(f"{where}: order lists (OCO, brackets) are not sent to Bybit: trader's order manager "
                           "emulates them")
    if kind in _TRAILING:
        raise OrderRefused(f"{where}: Bybit has no trailing-stop order (it trails a position's stop only): "
                           "trader's order manager emulates it")
    if kind not in KINDS:
        raise OrderRefused(f"{where}: kind {kind!r} is not supported on Bybit (known: {', '.join(KINDS)})")
    if side not in ("buy", "sell"):
        raise OrderRefused(f"{where}: side must be 'buy' or 'sell', got {side!r}")
    if not CLIENT_ID_RE.match(cid):
        raise OrderRefused(f"{where}: client_id must match {CLIENT_ID_RE.pattern} (Bybit's orderLinkId rule)")
    symbol = str(cmd.get("symbol") or (instrument.symbol if instrument else "")).upper()
    if not symbol:
        raise OrderRefused(f"{where}: symbol missing")
    if instrument is not None and instrument.status != "Trading":
        raise OrderRefused(f"{where}: {symbol} is not trading (status {instrument.status})")
    tif = cmd.get("tif") or "GTC"
    post_only, reduce_only = bool(cmd.get("post_only")), bool(cmd.get("reduce_only"))
    if tif in ("GTD", "DAY"):
        raise OrderRefused(f"{where}: time in force {tif} does not exist on Bybit (GTC, IOC, FOK, post-only)")
    if tif not in ("GTC", "IOC", "FOK"):
        raise OrderRefused(f"{where}: time in force {tif!r} is not one of GTC, IOC, FOK")
    if category == "spot" and reduce_only:
        raise OrderRefused(f"{where}: reduce_only exists on linear contracts only, not on spot")
    if post_only and kind not in ("limit", "stop_limit", "limit_if_touched"):
        raise OrderRefused(f"{where}: post_only applies to limit orders only, not {kind}")
    if post_only and tif != "GTC":
        raise OrderRefused(f"{where}: a post-only order takes no other time in force, got {tif}")

    qty = _num(cmd, "qty", where)
    buy = side == "buy"
    limit = kind in ("limit", "stop_limit", "limit_if_touched")
    price = _num(cmd, "price", where) if limit else None
    trigger = _num(cmd, "trigger", where) if kind not in ("market", "limit") else None

    if instrument is not None:
        step = _d(instrument.qty_step)
        qty = _round(qty, step, ROUND_FLOOR)
        min_q, max_q = _d(instrument.min_qty), _d(instrument.max_qty)
        if qty <= 0 or qty < min_q:
            raise OrderRefused(f"{where}: quantity {cmd.get('qty')} rounds to {fmt_decimal(qty)} (step "
                               f"{fmt_decimal(step)}), below the minimum {fmt_decimal(min_q)} of {symbol}")
        if max_q > 0 and qty > max_q:
            raise OrderRefused(f"{where}: quantity {fmt_decimal(qty)} above the maximum {fmt_decimal(max_q)} of "
                               f"{symbol}")
        tick = _d(instrument.tick_size)
        if price is not None:
            price = _round(price, tick, ROUND_FLOOR if buy else ROUND_CEILING)
            if price <= 0:
                raise OrderRefused(f"{where}: price {cmd.get('price')} rounds to 0 on {symbol}'s tick {tick}")
        if trigger is not None:
            trigger = _round(trigger, tick, ROUND_HALF_EVEN)
            if trigger <= 0:
                raise OrderRefused(f"{where}: trigger {cmd.get('trigger')} rounds to 0 on {symbol}'s tick {tick}")
        ref = price or trigger
        min_n = _d(instrument.min_notional)
        if min_n > 0 and ref is not None and not reduce_only and qty * ref < min_n:
            raise OrderRefused(f"{where}: order value {fmt_decimal(qty * ref)} ({fmt_decimal(qty)} x "
                               f"{fmt_decimal(ref)}) below {symbol}'s minimum {fmt_decimal(min_n)}")

    p: dict[str, Any] = {"category": category, "symbol": symbol, "side": "Buy" if buy else "Sell",
                         "orderType": "Limit" if limit else "Market", "qty": fmt_decimal(qty)}
    if price is not None:
        p["price"] = fmt_decimal(price)
    if limit:
        p["timeInForce"] = "PostOnly" if post_only else tif
    elif tif != "GTC":
        p["timeInForce"] = tif  # a market order is IOC by nature; FOK is Bybit's to take
    if kind == "market" and category == "spot":
        p["marketUnit"] = "baseCoin"
    if trigger is not None:
        p["triggerPrice"] = fmt_decimal(trigger)
        rises = buy if kind in ("stop_market", "stop_limit") else not buy
        if category == "linear":
            p["triggerDirection"] = 1 if rises else 2
        else:
            p["orderFilter"] = "StopOrder"
    if reduce_only:
        p["reduceOnly"] = True
    p["orderLinkId"] = cid
    return p
