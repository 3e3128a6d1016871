"""trader's order commands as OKX v5 order parameters (``POST /api/v5/trade/order``), SPOT and SWAP.

==========================  ==============================================================
trader ``kind`` / options   OKX ``ordType``
==========================  ==============================================================
market                      ``market`` (SPOT: ``tgtCcy=base_ccy``, the size in base units)
limit, GTC                  ``limit``
limit, ``post_only``        ``post_only`` (GTC only)
limit, IOC                  ``ioc``
limit, FOK                  ``fok``
==========================  ==============================================================

Quantities are trader's, in base units: a SWAP ``sz`` is in contracts of the instrument's
``ctVal`` (``qty / ctVal``), rounded down to ``lotSz`` and refused under ``minSz``; a SPOT ``sz``
is the base quantity on the same grid. Limit prices are rounded to ``tickSz`` never more
aggressively than asked (buys down, sells up). ``reduce_only`` is SWAP's only (``reduceOnly``).
The client order id is OKX's ``clOrdId``: 1 to 32 letters and digits. trader's ids are
``<strategy>-<n>``, so they are written reversibly in that alphabet (:func:`to_cl_ord_id`: letters
and digits other than ``Z`` kept, any other character as ``Z`` and its two hex digits, ``-`` ->
``Z2D``): deterministic, so an order of unknown outcome or one placed before a restart is found
again by the id the node journaled; an id still longer than 32 is refused.

Refused with :class:`OrderRefused` (OKX's plain order endpoint has no such thing): conditional
kinds (stops, if-touched, trailing: OKX keeps them in its separate algo-order service, which this
adapter does not drive; trader's order manager emulates them on the market data, as it does
brackets and OCO), GTD and DAY, ``post_only`` with IOC/FOK or on a market order, FOK market orders,
order lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

import msgspec

from trader.exceptions import InvalidInputError

from ..common import orders as _common
from ..common.orders import check_submit, check_tif, fmt_decimal, passive_price, positive
from ..common.orders import round_step as _round

__all__ = ["trader_symbol", "to_cl_ord_id", "from_cl_ord_id", "client_id", "Instrument", "OrderRefused",
           "parse_instruments", "order_params", "amend_params", "fmt_decimal",
           "CLIENT_ID_RE", "KINDS", "to_base", "to_sz", "ORD_TYPE_KIND"]

#: OKX's clOrdId rule: letters and digits, 1 to 32.
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
#: trader's kinds this adapter sends.
KINDS = ("market", "limit")
_CONDITIONAL = ("stop_market", "stop_limit", "market_if_touched", "limit_if_touched", "trailing_stop_market",
                "trailing_stop_limit")
_REFUSALS = {k: f"kind {k} is a conditional order: OKX keeps those in its algo-order service (/trade/order-algo), "
                "which this adapter does not drive; trader's order manager emulates them" for k in _CONDITIONAL}
_MISSING_TIF = {t: f"time in force {t} does not exist on OKX (GTC, IOC, FOK only)" for t in ("GTD", "DAY")}
#: OKX ordType -> trader kind.
ORD_TYPE_KIND = {"market": "market", "limit": "limit", "post_only": "limit", "ioc": "limit", "fok": "limit",
                 "optimal_limit_ioc": "market"}


class OrderRefused(_common.OrderRefused):
    """An order the adapter refuses before sending (OKX cannot express it, or would reject it)."""


class Instrument(msgspec.Struct, frozen=True):
    """One instrument of ``/api/v5/public/instruments`` (decimal strings)."""

    inst_id: str
    inst_type: str
    tick_sz: str
    lot_sz: str
    min_sz: str
    ct_val: str = ""
    base_ccy: str = ""
    quote_ccy: str = ""
    settle_ccy: str = ""
    state: str = "live"

    @property
    def contract(self) -> Decimal:
        """Base units per ``sz`` unit: ``ctVal`` for SWAP, 1 for SPOT."""
        return Decimal(self.ct_val) if self.inst_type == "SWAP" and self.ct_val else Decimal(1)


def _dec(row: Mapping[str, Any], key: str, where: str) -> str:
    v = row.get(key)
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise InvalidInputError(f"{where}: {key}: not a decimal: {v!r}") from None
    if not d.is_finite() or d <= 0:
        raise InvalidInputError(f"{where}: {key}: must be > 0, got {v!r}")
    return str(v)


def parse_instruments(data: list[Mapping[str, Any]]) -> dict[str, Instrument]:
    """``/api/v5/public/instruments``'s ``data`` as :class:`Instrument` by instId (a row missing
    tickSz/lotSz/minSz, or a SWAP row without ctVal, raises naming it)."""
    out: dict[str, Instrument] = {}
    for row in data:
        iid = str(row.get("instId", ""))
        where = f"okx instrument {iid or '?'}"
        t = str(row.get("instType", ""))
        out[iid] = Instrument(
            inst_id=iid, inst_type=t, tick_sz=_dec(row, "tickSz", where), lot_sz=_dec(row, "lotSz", where),
            min_sz=_dec(row, "minSz", where), ct_val=_dec(row, "ctVal", where) if t == "SWAP" else "",
            base_ccy=str(row.get("baseCcy") or row.get("ctValCcy") or ""), quote_ccy=str(row.get("quoteCcy") or ""),
            settle_ccy=str(row.get("settleCcy") or ""), state=str(row.get("state", "live")))
    return out


def to_sz(qty: Decimal, inst: Instrument) -> Decimal:
    """A base quantity in OKX's ``sz`` units (contracts for SWAP), not rounded."""
    return qty / inst.contract


def to_base(sz: str | Decimal, inst: Instrument) -> Decimal:
    """An OKX ``sz`` (contracts for SWAP) as a base quantity."""
    return Decimal(str(sz)) * inst.contract


def _size(qty: Decimal, inst: Instrument, where: str, raw: Any) -> Decimal:
    lot, min_sz = Decimal(inst.lot_sz), Decimal(inst.min_sz)
    sz = _round(to_sz(qty, inst), lot, ROUND_FLOOR)
    if sz <= 0 or sz < min_sz:
        unit = f" contracts of {inst.ct_val}" if inst.inst_type == "SWAP" else ""
        raise OrderRefused(f"{where}: quantity {raw} is {fmt_decimal(sz)}{unit} after rounding down to lotSz "
                           f"{inst.lot_sz}, below {inst.inst_id}'s minSz {inst.min_sz}")
    return sz


_HEX = re.compile(r"Z([0-9A-F]{2})")


def trader_symbol(inst_id: str) -> str:
    """The symbol trader's engine and reports use for an OKX instId (the data client's rule):
    ``BTC-USDT`` and ``BTC-USDT-SWAP`` are both ``BTCUSDT`` (one client trades one instType)."""
    return inst_id.removesuffix("-SWAP").replace("-", "")


def to_cl_ord_id(cid: str) -> str:
    """trader's client order id as OKX's ``clOrdId`` (see the module docs); refused when empty,
    not ASCII, or longer than 32 once written."""
    if not cid or not cid.isascii():
        raise OrderRefused(f"order {cid or '?'}: client_id must be a non-empty ASCII string, got {cid!r}")
    out = "".join(c if c.isalnum() and c != "Z" else f"Z{ord(c):02X}" for c in cid)
    if not CLIENT_ID_RE.match(out):
        raise OrderRefused(f"order {cid}: client_id is {out!r} in OKX's clOrdId alphabet ({len(out)} characters): "
                           "OKX takes at most 32 letters and digits")
    return out


def from_cl_ord_id(text: str) -> str:
    """trader's client order id back from OKX's ``clOrdId`` (one this adapter did not write comes
    back as it is, unless it happens to hold ``Z`` and two hex digits)."""
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)


def client_id(cmd: Mapping[str, Any]) -> str:
    """The command's client order id as OKX's ``clOrdId`` (:func:`to_cl_ord_id`)."""
    return to_cl_ord_id(str(cmd.get("client_id") or ""))


def order_params(cmd: Mapping[str, Any], inst: Instrument, td_mode: str) -> dict[str, Any]:
    """The body placing the engine's submit ``cmd`` on ``inst`` with trade mode ``td_mode``.

    :raises OrderRefused: what OKX's order endpoint cannot express or would reject on the
        instrument's rules (see the module docs)."""
    cid = str(cmd.get("client_id") or "")
    where = f"order {cid or '?'}"
    kind, side = check_submit(cmd, where, "OKX", KINDS, refusals=_REFUSALS, refused=OrderRefused)
    cl_ord_id = client_id(cmd)
    if inst.state != "live":
        raise OrderRefused(f"{where}: {inst.inst_id} is not live (state {inst.state})")
    symbol = str(cmd.get("symbol") or inst.inst_id).upper()
    if symbol != inst.inst_id:
        raise OrderRefused(f"{where}: symbol {symbol} is not the instrument {inst.inst_id}")
    tif = check_tif(cmd, where, ("GTC", "IOC", "FOK"), missing=_MISSING_TIF, refused=OrderRefused)
    post_only, reduce_only = bool(cmd.get("post_only")), bool(cmd.get("reduce_only"))
    if reduce_only and inst.inst_type != "SWAP":
        raise OrderRefused(f"{where}: reduce_only exists on SWAP only, not on {inst.inst_type}")
    if post_only and (kind != "limit" or tif != "GTC"):
        raise OrderRefused(f"{where}: post_only is a GTC limit order on OKX (ordType post_only), got {kind} {tif}")
    if kind == "market" and tif == "FOK":
        raise OrderRefused(f"{where}: OKX has no fill-or-kill market order (use a fok limit order)")
    buy = side == "buy"
    sz = _size(positive(cmd, "qty", where, OrderRefused), inst, where, cmd.get("qty"))
    p: dict[str, Any] = {"instId": inst.inst_id, "tdMode": td_mode, "clOrdId": cl_ord_id, "side": side}
    if kind == "market":
        p["ordType"] = "market"
        if inst.inst_type == "SPOT":
            p["tgtCcy"] = "base_ccy"  # the size is the base quantity (OKX's market buy defaults to quote)
    else:
        price = passive_price(positive(cmd, "price", where, OrderRefused), Decimal(inst.tick_sz), buy)
        if price <= 0:
            raise OrderRefused(f"{where}: price {cmd.get('price')} rounds to 0 on tickSz {inst.tick_sz}")
        p["ordType"] = "post_only" if post_only else {"GTC": "limit", "IOC": "ioc", "FOK": "fok"}[tif]
        p["px"] = fmt_decimal(price)
    p["sz"] = fmt_decimal(sz)
    if reduce_only:
        p["reduceOnly"] = True
    return p


def amend_params(cmd: Mapping[str, Any], inst: Instrument, venue_order_id: str = "") -> dict[str, Any]:
    """The body of ``/api/v5/trade/amend-order`` for the engine's modify ``cmd`` (``qty`` and/or
    ``price``; the quantity is the order's new total, filled part included, as OKX's ``newSz``).

    :raises OrderRefused: neither given, or a value off the instrument's grid."""
    cl_ord_id = client_id(cmd)
    where = f"modify {cmd.get('client_id')}"
    if cmd.get("qty") is None and cmd.get("price") is None:
        raise OrderRefused(f"{where}: needs qty or price")
    p: dict[str, Any] = {"instId": inst.inst_id}
    if venue_order_id:
        p["ordId"] = venue_order_id
    else:
        p["clOrdId"] = cl_ord_id
    if cmd.get("qty") is not None:
        p["newSz"] = fmt_decimal(_size(positive(cmd, "qty", where, OrderRefused), inst, where, cmd.get("qty")))
    if cmd.get("price") is not None:
        tick = Decimal(inst.tick_sz)
        price = positive(cmd, "price", where, OrderRefused)
        if price % tick:
            raise OrderRefused(f"{where}: price {cmd.get('price')} is not a multiple of tickSz {inst.tick_sz}")
        p["newPx"] = fmt_decimal(price)
    return p
