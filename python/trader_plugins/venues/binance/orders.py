"""trader's order commands as Binance's order parameters, per market.

==========================  ================================  ===========================================
trader ``kind``             spot (``POST /api/v3/order``)     USDⓈ-M
==========================  ================================  ===========================================
market                      MARKET                            MARKET (``/fapi/v1/order``)
limit                       LIMIT + timeInForce;              LIMIT + timeInForce (GTX when post-only,
                            LIMIT_MAKER when post-only        GTD + goodTillDate)
stop_market                 STOP_LOSS (stopPrice)             algo STOP_MARKET (``/fapi/v1/algoOrder``)
stop_limit                  STOP_LOSS_LIMIT                   algo STOP
market_if_touched           TAKE_PROFIT                       algo TAKE_PROFIT_MARKET
limit_if_touched            TAKE_PROFIT_LIMIT                 algo TAKE_PROFIT
trailing_stop_market        STOP_LOSS + trailingDelta (bps)   algo TRAILING_STOP_MARKET, callbackRate (%)
trailing_stop_limit         STOP_LOSS_LIMIT + trailingDelta   refused (Binance has none)
==========================  ================================  ===========================================

Since 2025-12 USDⓈ-M conditional orders go through the algo-order endpoint (else -4120): their
client id is ``clientAlgoId`` and the trigger ``triggerPrice``. Trailing amounts are given in bps
(``trail_type="bps"``); a price or tick offset has no Binance equivalent and is refused, as are
``reduce_only`` on spot, GTD on spot, ``DAY``, and lists (OCO, brackets: trader's own order
manager emulates them). Quantities are rounded down to the step size, limit prices to the tick
(buys down, sells up: never more aggressive than asked), triggers to the nearest tick; an order
that still cannot pass the filters (min/max quantity, min notional) is refused with
:class:`OrderRefused` before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec

from ..common import orders as _common
from ..common.orders import check_submit, fmt_decimal, passive_price, positive, step_qty, trading_symbol
from ..common.orders import dec as _d
from ..common.orders import round_step as _round

__all__ = ["SymbolFilters", "OrderRefused", "OrderRequest", "parse_exchange_info", "order_request",
           "fmt_decimal", "CLIENT_ID_RE"]

#: Binance's allowed client order ids.
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
KINDS = ("market", "limit", "stop_market", "stop_limit", "market_if_touched", "limit_if_touched",
         "trailing_stop_market", "trailing_stop_limit")


class OrderRefused(_common.OrderRefused):
    """An order the adapter refuses before sending (Binance would reject it, or cannot express it)."""


class SymbolFilters(msgspec.Struct, frozen=True):
    """The filters of one symbol from ``exchangeInfo`` (decimal strings; "0": none)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: str
    min_price: str
    max_price: str
    step_size: str
    min_qty: str
    max_qty: str
    market_step_size: str
    market_min_qty: str
    market_max_qty: str
    min_notional: str
    min_notional_market: bool = True
    status: str = "TRADING"


class OrderRequest(msgspec.Struct, frozen=True):
    """Where and what to send: ``path`` (``/api/v3/order``, ``/fapi/v1/order`` or
    ``/fapi/v1/algoOrder``), ``params`` in Binance's order, ``algo`` True for the algo endpoint."""

    path: str
    params: dict[str, Any]
    algo: bool = False


def parse_exchange_info(info: Mapping[str, Any]) -> dict[str, SymbolFilters]:
    """``exchangeInfo`` (spot or USDⓈ-M) as :class:`SymbolFilters` by symbol."""
    out: dict[str, SymbolFilters] = {}
    for s in info.get("symbols", []):
        f = {x.get("filterType"): x for x in s.get("filters", [])}
        price, lot = f.get("PRICE_FILTER", {}), f.get("LOT_SIZE", {})
        mlot = f.get("MARKET_LOT_SIZE", lot)
        notional = f.get("NOTIONAL") or f.get("MIN_NOTIONAL") or {}
        min_notional = notional.get("minNotional", notional.get("notional", "0"))
        apply_market = notional.get("applyMinToMarket", notional.get("applyToMarket", True))
        msize = mlot.get("stepSize") or lot.get("stepSize", "0")
        out[s["symbol"]] = SymbolFilters(
            symbol=s["symbol"], base_asset=s.get("baseAsset", ""), quote_asset=s.get("quoteAsset", ""),
            tick_size=str(price.get("tickSize", "0")), min_price=str(price.get("minPrice", "0")),
            max_price=str(price.get("maxPrice", "0")), step_size=str(lot.get("stepSize", "0")),
            min_qty=str(lot.get("minQty", "0")), max_qty=str(lot.get("maxQty", "0")),
            market_step_size=str(msize if _d(msize) > 0 else lot.get("stepSize", "0")),
            market_min_qty=str(mlot.get("minQty", lot.get("minQty", "0"))),
            market_max_qty=str(mlot.get("maxQty", lot.get("maxQty", "0"))),
            min_notional=str(min_notional), min_notional_market=bool(apply_market),
            status=str(s.get("status", s.get("contractStatus", "TRADING"))))
    return out


def order_request(cmd: Mapping[str, Any], market: str, filters: SymbolFilters | None, *,
                  ref_price: str | None = None) -> OrderRequest:
    """The request placing the engine's submit ``cmd`` on ``market`` (``"spot"``/``"usdm"``),
    rounded to ``filters`` (None: sent as given). ``ref_price`` (e.g. the last mid) checks a
    market order's notional; without it that check is left to the exchange.

    :raises OrderRefused: what Binance cannot express or would reject on its filters.
    """
    cid = str(cmd.get("client_id") or "")
    where = f"order {cid or '?'}"
    kind, side = check_submit(cmd, where, "Binance", KINDS, refused=OrderRefused)
    if not CLIENT_ID_RE.match(cid):
        raise OrderRefused(f"{where}: client_id must match {CLIENT_ID_RE.pattern} (Binance's rule)")
    symbol = trading_symbol(cmd, where, filters.symbol if filters else "", filters.status if filters else None,
                            "TRADING", OrderRefused)
    tif = cmd.get("tif") or "GTC"
    post_only, reduce_only = bool(cmd.get("post_only")), bool(cmd.get("reduce_only"))
    if tif == "DAY":
        raise OrderRefused(f"{where}: time in force DAY does not exist on Binance (use GTD on usdm)")
    if tif not in ("GTC", "IOC", "FOK", "GTD"):
        raise OrderRefused(f"{where}: time in force {tif!r} is not one of GTC, IOC, FOK, GTD")
    if market == "spot" and tif == "GTD":
        raise OrderRefused(f"{where}: GTD is not available on Binance spot")
    if market == "spot" and reduce_only:
        raise OrderRefused(f"{where}: reduce_only exists on USDⓈ-M futures only, not on spot")
    if kind == "trailing_stop_limit":
        raise OrderRefused(f"{where}: trader's trailing stop-limit moves its limit with the trigger; Binance has none "
                           "such (USDⓈ-M has no trailing stop-limit, spot's keeps a fixed limit price)")
    if post_only and kind not in ("limit",):
        raise OrderRefused(f"{where}: post_only applies to limit orders only on Binance, not {kind}")
    if post_only and tif != "GTC" and market == "spot":
        raise OrderRefused(f"{where}: a spot post-only order (LIMIT_MAKER) takes no time in force, got {tif}")
    if tif == "GTD" and not cmd.get("expire_ns"):
        raise OrderRefused(f"{where}: GTD needs expire_ns")

    qty = positive(cmd, "qty", where, OrderRefused)
    is_market_qty = kind in ("market", "stop_market", "market_if_touched", "trailing_stop_market")
    buy = side == "buy"
    price = trigger = None
    if kind in ("limit", "stop_limit", "limit_if_touched", "trailing_stop_limit"):
        price = positive(cmd, "price", where, OrderRefused)
    if kind in ("stop_market", "stop_limit", "market_if_touched", "limit_if_touched"):
        trigger = positive(cmd, "trigger", where, OrderRefused)
    elif kind.startswith("trailing") and cmd.get("trigger") is not None:
        trigger = positive(cmd, "trigger", where, OrderRefused)  # activation price
    trail_bps: Decimal | None = None
    if kind.startswith("trailing"):
        if cmd.get("trail_type") != "bps":
            raise OrderRefused(f"{where}: Binance trails in bps only (trailingDelta / callbackRate): trail_type "
                               f"{cmd.get('trail_type')!r} (a price or tick offset) cannot be sent")
        trail_bps = positive(cmd, "trail", where, OrderRefused)

    if filters is not None:
        step = _d(filters.market_step_size if is_market_qty else filters.step_size)
        min_q = _d(filters.market_min_qty if is_market_qty else filters.min_qty)
        max_q = _d(filters.market_max_qty if is_market_qty else filters.max_qty)
        qty = step_qty(qty, step, min_q, max_q, where, symbol, cmd.get("qty"), OrderRefused)
        tick = _d(filters.tick_size)
        if price is not None:
            price = passive_price(price, tick, buy)
        if trigger is not None:
            trigger = _round(trigger, tick, ROUND_HALF_EVEN)
        for name, pv in (("price", price), ("trigger", trigger)):
            if pv is None:
                continue
            lo, hi = _d(filters.min_price), _d(filters.max_price)
            if pv <= 0 or (lo > 0 and pv < lo) or (hi > 0 and pv > hi):
                raise OrderRefused(f"{where}: {name} {fmt_decimal(pv)} outside {symbol}'s price range "
                                   f"[{fmt_decimal(lo)}, {fmt_decimal(hi)}]")
        notional_px = price or trigger or (_d(ref_price) if ref_price else None)
        min_n = _d(filters.min_notional)
        if min_n > 0 and notional_px and (not is_market_qty or filters.min_notional_market):
            if qty * notional_px < min_n:
                raise OrderRefused(f"{where}: notional {fmt_decimal(qty * notional_px)} ({fmt_decimal(qty)} x "
                                   f"{fmt_decimal(notional_px)}) below {symbol}'s minimum {fmt_decimal(min_n)}")

    S = "BUY" if buy else "SELL"
    p: dict[str, Any] = {"symbol": symbol, "side": S}
    if market == "spot":
        types = {"market": "MARKET", "limit": "LIMIT", "stop_market": "STOP_LOSS", "stop_limit": "STOP_LOSS_LIMIT",
                 "market_if_touched": "TAKE_PROFIT", "limit_if_touched": "TAKE_PROFIT_LIMIT",
                 "trailing_stop_market": "STOP_LOSS", "trailing_stop_limit": "STOP_LOSS_LIMIT"}
        typ = "LIMIT_MAKER" if post_only else types[kind]
        p["type"] = typ
        if typ in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
            p["timeInForce"] = tif
        p["quantity"] = fmt_decimal(qty)
        if price is not None:
            p["price"] = fmt_decimal(price)
        if trigger is not None:
            p["stopPrice"] = fmt_decimal(trigger)
        if trail_bps is not None:
            if trail_bps != trail_bps.to_integral_value() or not (10 <= trail_bps <= 2000):
                raise OrderRefused(f"{where}: spot trailingDelta is a whole number of bps in [10, 2000] (the "
                                   f"TRAILING_DELTA filter), got {cmd.get('trail')}")
            p["trailingDelta"] = int(trail_bps)
        p["newClientOrderId"] = cid
        p["newOrderRespType"] = "RESULT"
        return OrderRequest("/api/v3/order", p)

    if kind in ("market", "limit"):
        p["type"] = "MARKET" if kind == "market" else "LIMIT"
        if kind == "limit":
            p["timeInForce"] = "GTX" if post_only else tif
        elif tif != "GTC":
            pass  # a market order takes no time in force
        p["quantity"] = fmt_decimal(qty)
        if price is not None:
            p["price"] = fmt_decimal(price)
        if reduce_only:
            p["reduceOnly"] = "true"
        if kind == "limit" and tif == "GTD" and not post_only:
            p["goodTillDate"] = int(cmd["expire_ns"]) // 1_000_000
        p["newClientOrderId"] = cid
        p["newOrderRespType"] = "RESULT"
        return OrderRequest("/fapi/v1/order", p)
    types = {"stop_market": "STOP_MARKET", "stop_limit": "STOP", "market_if_touched": "TAKE_PROFIT_MARKET",
             "limit_if_touched": "TAKE_PROFIT", "trailing_stop_market": "TRAILING_STOP_MARKET"}
    p = {"algoType": "CONDITIONAL", "symbol": symbol, "side": S, "type": types[kind]}
    if kind in ("stop_limit", "limit_if_touched"):
        p["timeInForce"] = tif
    p["quantity"] = fmt_decimal(qty)
    if price is not None:
        p["price"] = fmt_decimal(price)
    if trail_bps is not None:
        rate = trail_bps / 100
        if not (Decimal("0.1") <= rate <= 10) or rate != rate.quantize(Decimal("0.1")):
            raise OrderRefused(f"{where}: futures callbackRate is 0.1-10 % in steps of 0.1 (10-1000 bps by 10), got "
                               f"{cmd.get('trail')} bps")
        p["callbackRate"] = fmt_decimal(rate)
        if trigger is not None:
            p["activatePrice"] = fmt_decimal(trigger)
    elif trigger is not None:
        p["triggerPrice"] = fmt_decimal(trigger)
    if reduce_only:
        p["reduceOnly"] = "true"
    if tif == "GTD":
        p["timeInForce"] = "GTD"
        p["goodTillDate"] = int(cmd["expire_ns"]) // 1_000_000
    p["clientAlgoId"] = cid
    return OrderRequest("/fapi/v1/algoOrder", p, algo=True)
