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
from decimal import ROUND_HALF_EVEN
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common import orders as _common
from ..common.orders import (check_submit, check_tif, fmt_decimal, passive_price, positive, step_qty,
                             trading_symbol)
from ..common.orders import dec as _d
from ..common.orders import round_step as _round

__all__ = ["Instrument", "OrderRefused", "parse_instruments", "order_params", "CLIENT_ID_RE", "KINDS",
           "fmt_decimal"]

#: Bybit's allowed ``orderLinkId``.
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
KINDS = ("market", "limit", "stop_market", "stop_limit", "market_if_touched", "limit_if_touched")
_TRAILING_WHY = ("Bybit has no trailing-stop order (it trails a position's stop only): trader's order manager "
                 "emulates it")
_REFUSALS = {"trailing_stop_market": _TRAILING_WHY, "trailing_stop_limit": _TRAILING_WHY}
_MISSING_TIF = {t: f"time in force {t} does not exist on Bybit (GTC, IOC, FOK, post-only)" for t in ("GTD", "DAY")}


class OrderRefused(_common.OrderRefused):
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


def order_params(cmd: Mapping[str, Any], category: str, instrument: Instrument | None) -> dict[str, Any]:
    """The ``/v5/order/create`` body placing the engine's submit ``cmd`` in ``category``
    (``"spot"``/``"linear"``), rounded to ``instrument`` (None: sent as given).

    :raises OrderRefused: what Bybit cannot express or would reject on the instrument's rules.
    """
    if category not in ("spot", "linear"):
        raise InvalidInputError(f"bybit: category must be 'spot' or 'linear', got {category!r}")
    cid = str(cmd.get("client_id") or "")
    where = f"bybit order {cid or '?'}"
    kind, side = check_submit(cmd, where, "Bybit", KINDS, refused=OrderRefused, refusals=_REFUSALS)
    if not CLIENT_ID_RE.match(cid):
        raise OrderRefused(f"{where}: client_id must match {CLIENT_ID_RE.pattern} (Bybit's orderLinkId rule)")
    symbol = trading_symbol(cmd, where, instrument.symbol if instrument else "",
                            instrument.status if instrument else None, "Trading", OrderRefused)
    tif = check_tif(cmd, where, ("GTC", "IOC", "FOK"), missing=_MISSING_TIF, refused=OrderRefused)
    post_only, reduce_only = bool(cmd.get("post_only")), bool(cmd.get("reduce_only"))
    if category == "spot" and reduce_only:
        raise OrderRefused(f"{where}: reduce_only exists on linear contracts only, not on spot")
    if post_only and kind not in ("limit", "stop_limit", "limit_if_touched"):
        raise OrderRefused(f"{where}: post_only applies to limit orders only, not {kind}")
    if post_only and tif != "GTC":
        raise OrderRefused(f"{where}: a post-only order takes no other time in force, got {tif}")

    qty = positive(cmd, "qty", where, OrderRefused)
    buy = side == "buy"
    limit = kind in ("limit", "stop_limit", "limit_if_touched")
    price = positive(cmd, "price", where, OrderRefused) if limit else None
    trigger = positive(cmd, "trigger", where, OrderRefused) if kind not in ("market", "limit") else None

    if instrument is not None:
        qty = step_qty(qty, _d(instrument.qty_step), _d(instrument.min_qty), _d(instrument.max_qty), where, symbol,
                       cmd.get("qty"), OrderRefused)
        tick = _d(instrument.tick_size)
        if price is not None:
            price = passive_price(price, tick, buy)
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
