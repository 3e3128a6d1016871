"""Bybit v5's protocol in front of the local exchange (unified account; categories spot and linear).

The markets, the matchers and the account rules are the server's (spot ``free``/``locked`` per
coin, the linear USDT wallet with one-way positions and its margin check); the bookkeeping of
the matcher's events (fills, locks, positions) is :class:`~trader.exchange.ledger.Ledger`'s, and
every report it makes goes out in Bybit's shapes. Category ``linear`` is the server's
``usdm`` market.

REST, answers in Bybit's envelope ``{retCode, retMsg, result, retExtInfo, time}`` (HTTP 200, also
for errors, as Bybit answers them):

- public: ``GET /v5/market/time``, ``instruments-info``, ``orderbook``, ``recent-trade``, ``tickers``;
- private (``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW``, ``X-BAPI-SIGN``, checked
  by :func:`trader_plugins.venues.bybit.auth.verify`): ``POST /v5/order/create``, ``amend``,
  ``cancel``, ``cancel-all``; ``GET /v5/order/realtime``, ``/v5/order/history``,
  ``/v5/execution/list``, ``/v5/position/list``, ``/v5/account/wallet-balance``.
- errors: 10001 parameters, 10002 timestamp outside the receive window, 10003 unknown key, 10004
  bad signature, 10006 rate limit; linear 110001 order does not exist, 110007 insufficient
  available balance, 110017 reduce-only rule, 110072 duplicate orderLinkId; spot 170121 invalid
  symbol, 170131 insufficient balance, 170134/170137 price/quantity decimals, 170140 order value
  below the minimum, 170141 duplicate orderLinkId, 170213 order does not exist.
- rate limits per account and endpoint in one-second windows (``rate_limits``: ``bybit_orders_s``
  for create/amend/cancel/cancel-all, ``bybit_queries_s`` for the other private endpoints), every
  private answer carrying ``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (what is left) and
  ``X-Bapi-Limit-Reset-Timestamp`` (ms); over the limit: retCode 10006.

WebSocket: ``/v5/public/spot`` and ``/v5/public/linear`` (topics ``orderbook.{1,50,200,500}.SYM``
and ``publicTrade.SYM``; ``op`` subscribe / unsubscribe / ping), ``/v5/private`` (``op`` auth, then
topics ``order``, ``execution``, ``position``, ``wallet`` and their ``.spot`` / ``.linear``
variants). The book stream: a ``snapshot`` of the top N levels a side, then a ``delta`` every
100 ms when those levels changed (quantity ``"0"``: the level left the top N); ``u`` counts the
topic's messages (+1 each delta) and ``seq`` is the market's update id. A topic whose stream
(re)starts sends its snapshot with ``u == 1``, which tells a client to drop its book (Bybit's rule
after a service restart); a later subscriber gets the current state as a snapshot with the
current ``u``; linear ``orderbook.1`` unchanged for 3 s is sent again as a snapshot with the same
``u``.

Chaos: the server's connection applies drop / stall / dup / reorder to stream messages and
``gap`` to book deltas (a client sees ``u`` skip); ``delay_ack``, ``ack_5xx`` and ``timeout`` to
order creation; ``burst429`` starts a run of ``burst_len`` 10006 answers; ``skew_ms`` moves the
clock; ``disconnect`` and ``ping`` as for every connection.
"""

from __future__ import annotations

import secrets
import time
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from trader.exceptions import InvalidInputError
from trader.exchange.accounts import ZERO, Account, Fill, Order, dstr
from trader.exchange.streams import (BookStream, FrontError, StreamFront, answer, count_in_window, dec_param,
                                     flat_params, levels, query_params)
from trader_plugins.venues.bybit import auth as bybit_auth
from trader_plugins.venues.common.auth import Credentials

if TYPE_CHECKING:
    from trader.exchange.server import Connection, Exchange

__all__ = ["BybitFront", "BybitError", "CATEGORY_MARKET"]

_dec = msgspec.json.Decoder()

#: Bybit's category -> the server's market.
CATEGORY_MARKET = {"spot": "spot", "linear": "usdm"}
_MARKET_CATEGORY = {v: k for k, v in CATEGORY_MARKET.items()}
#: Order-book depths per category (Bybit v5's public ``orderbook.{depth}.{symbol}`` topics).
DEPTHS = {"spot": (1, 50, 200), "linear": (1, 50, 200, 500)}
#: A linear level-1 book unchanged this long is sent again as a snapshot (same ``u``).
LEVEL1_RESEND_S = 3.0
_STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled", "CANCELED": "Cancelled",
           "EXPIRED": "Cancelled", "REJECTED": "Rejected"}
_TIF = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTX"}
_TIF_OUT = {v: k for k, v in _TIF.items()}
ORDER_PATHS = ("order/create", "order/amend", "order/cancel", "order/cancel-all")
_PRIVATE_TOPICS = {"order", "order.spot", "order.linear", "execution", "execution.spot", "execution.linear",
                   "position", "position.linear", "wallet"}


class BybitError(FrontError):
    """An error answer: Bybit's ``retCode`` and ``retMsg`` (HTTP ``status``, 200 as Bybit sends them)."""

    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(code, msg, status)


def _params_error(msg: str) -> BybitError:
    return BybitError(10001, msg)


def _bad_param(name: str, why: str) -> BybitError:
    """Bybit's 10001 for parameter ``name`` (``why``: "required", or what is wrong)."""
    return _params_error(f"params error: {name} {'is required' if why == 'required' else why}")


def _dec_param(params: dict[str, str], name: str, required: bool = False) -> Decimal | None:
    return dec_param(params, name, required, _bad_param)


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    v = params.get(name)
    if v is None or v == "":
        return default
    if not v.isdigit():
        raise _params_error(f"params error: {name} must be a non-negative integer, got {v[:32]!r}")
    return int(v)


def _s(d: Decimal) -> str:
    return dstr(d)


class _Topic(BookStream):
    """One order-book topic's stream state: its subscribers, the levels last sent, its ``u``."""

    __slots__ = ("u", "sent_at")

    def __init__(self, u: int = 0) -> None:
        super().__init__()
        self.u = u
        self.sent_at = time.monotonic()


class BybitFront(StreamFront[_Topic, set[str]]):
    """The Bybit v5 protocol of one :class:`~trader.exchange.server.Exchange`.

    Its book streams (``book_streams``) are keyed (market, depth); a private session's
    subscriptions are the topics as sent; ``windows`` counts (api key, path) per second."""

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex)
        self.ip_windows: dict[str, tuple[int, int]] = {}
        self.msg_seq = 0
        self.created: dict[str, dict[str, int]] = {a.api_key: {} for a in ex.accounts}  # symbol -> created ms

    # ------------------------------------------------------------------------------------------
    # app wiring and the server's hooks
    # ------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        private = {
            ("POST", "order/create"): self.create, ("POST", "order/amend"): self.amend,
            ("POST", "order/cancel"): self.cancel, ("POST", "order/cancel-all"): self.cancel_all,
            ("GET", "order/realtime"): self.realtime, ("GET", "order/history"): self.history,
            ("GET", "execution/list"): self.executions, ("GET", "position/list"): self.positions,
            ("GET", "account/wallet-balance"): self.wallet_balance,
        }
        self._wire(app, "/v5/market/", ("time", "instruments-info", "orderbook", "recent-trade", "tickers"), "/v5/",
                   private, r"/v5/public/{category:spot|linear}", "/v5/private")

    def stream_urls(self, host: str, port: int) -> dict[str, str]:
        return {"spot": f"ws://{host}:{port}/v5/public/spot", "linear": f"ws://{host}:{port}/v5/public/linear",
                "private": f"ws://{host}:{port}/v5/private"}

    def _trade_msg(self, market: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A trade as a ``publicTrade`` message (the market's other messages are Binance's: the
        book goes out from :meth:`on_tick`)."""
        ms = int(payload["T"])
        row = {"T": ms, "s": payload["s"], "S": "Sell" if payload["m"] else "Buy", "v": payload["q"],
               "p": payload["p"], "L": "ZeroPlusTick", "i": str(payload["t"]), "BT": False,
               "seq": self.ex.markets[(market, payload["s"])].update_id}
        return {"topic": f"publicTrade.{payload['s']}", "type": "snapshot", "ts": ms, "data": [row]}

    def _book_scope(self, key: Any) -> tuple[str, int]:
        market, depth = key
        return market, depth

    def _book_update(self, key: Any, t: _Topic, m: Any, bids: dict[int, int], asks: dict[int, int],
                     db: dict[int, int], da: dict[int, int]) -> dict[str, Any] | None:
        """A ``delta`` when the top levels changed (``u`` + 1); linear level 1 unchanged for 3 s:
        its snapshot again, same ``u`` (Bybit's rule)."""
        market, depth = key
        now = time.monotonic()
        if not db and not da:
            if market == "usdm" and depth == 1 and now - t.sent_at >= LEVEL1_RESEND_S:
                t.sent_at = now
                snap = self._book_msg(m, depth, "snapshot", t.bids, t.asks, t.u)
                for conn in list(t.subs):
                    conn.send(snap, event=True)
            return None
        t.bids, t.asks, t.sent_at = bids, asks, now
        t.u += 1
        return self._book_msg(m, depth, "delta", db, da, t.u)

    def housekeeping(self, now: float) -> None:
        """Nothing of Bybit's own (no listen keys; disconnects are the server's)."""

    # ------------------------------------------------------------------------------------------
    # the envelope, signatures, limits
    # ------------------------------------------------------------------------------------------
    def _envelope(self, result: Any, code: int = 0, msg: str = "OK") -> dict[str, Any]:
        return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": self.server_ms()}

    def _ok_body(self, result: Any) -> dict[str, Any]:
        return self._envelope(result)

    def _error_body(self, e: FrontError) -> dict[str, Any]:
        return self._envelope({}, e.code, e.msg)

    def _check_ip(self, request: web.Request) -> None:
        """Bybit's IP limit (600 requests in 5 s): HTTP 403 past it."""
        n = count_in_window(self.ip_windows, request.remote or "?", int(time.monotonic() // 5))
        if n > int(self.ex.rate_limits["bybit_ip_5s"]):
            self.ex.count("403")
            raise BybitError(10006, "access too frequent", 403)

    @staticmethod
    def _query(raw: str) -> dict[str, str]:
        return query_params(raw, _bad_param)

    @staticmethod
    def _body(raw: str) -> dict[str, str]:
        if not raw.strip():
            return {}
        try:
            data = _dec.decode(raw)
        except msgspec.DecodeError:
            raise _params_error("params error: the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _params_error("params error: the body must be a JSON object")
        return flat_params(data, _bad_param)

    def _auth(self, request: web.Request, method: str, raw_query: str, raw_body: str) -> Account:
        h = request.headers
        key = h.get("X-BAPI-API-KEY")
        acct = self.ex.account_by_key.get(key or "")
        if acct is None:
            raise BybitError(10003, "API key is invalid.")
        ts_text, window_text = h.get("X-BAPI-TIMESTAMP", ""), h.get("X-BAPI-RECV-WINDOW") or "5000"
        if not ts_text.isdigit() or not window_text.isdigit():
            raise _params_error("params error: X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers (ms)")
        now, ts, window = self.server_ms(), int(ts_text), int(window_text)
        if not now - window <= ts < now + bybit_auth.AHEAD_MS:
            raise BybitError(10002, f"invalid request, please check your server timestamp or recv_window param. "
                                    f"req_timestamp[{ts}],server_timestamp[{now}],recv_window[{window}]")
        headers = {"X-BAPI-API-KEY": acct.api_key, "X-BAPI-TIMESTAMP": ts_text, "X-BAPI-RECV-WINDOW": window_text,
                   "X-BAPI-SIGN": h.get("X-BAPI-SIGN", "")}
        try:
            ok = bybit_auth.verify(Credentials(acct.api_key, acct.secret), method, headers, raw_query, raw_body,
                                   now_ms=now)
        except InvalidInputError as e:
            raise BybitError(10004, f"error sign! {e}") from None
        if not ok:
            raise BybitError(10004, "error sign! origin_string[" + f"{ts_text}{acct.api_key}{window_text}"
                             + (raw_query if method == "GET" else raw_body) + "]")
        return acct

    def _limit(self, acct: Account, path: str, headers: dict[str, str]) -> None:
        limit = int(self.ex.rate_limits["bybit_orders_s" if path in ORDER_PATHS else "bybit_queries_s"])
        second = int(time.time())
        n = count_in_window(self.windows, (acct.api_key, path), second)
        headers.update({"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": str(max(0, limit - n)),
                        "X-Bapi-Limit-Reset-Timestamp": str((second + 1) * 1000)})
        burst = self._bursting(acct.api_key)
        if n > limit or burst:
            self.ex.count("10006")
            raise BybitError(10006, "Too many visits. Exceeded the API Rate Limit.")

    def _private(self, method: str, path: str, fn: Any) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            t0 = time.perf_counter_ns()
            headers: dict[str, str] = {}
            try:
                self._check_ip(request)
                raw_query = request.rel_url.raw_query_string
                raw_body = (await request.text()) if method == "POST" else ""
                acct = self._auth(request, method, raw_query, raw_body)
                self._limit(acct, path, headers)
                params = self._query(raw_query) if method == "GET" else self._body(raw_body)
                result = fn(acct, params)
            except BybitError as e:
                return self._fail(e, headers)
            if path == "order/create":
                refused = await self._ack_chaos(request, t0, headers)
                if refused is not None:
                    return refused
            return answer(self._envelope(result), headers=headers)

        return handler

    # ------------------------------------------------------------------------------------------
    # public endpoints
    # ------------------------------------------------------------------------------------------
    def _category(self, params: dict[str, str], allowed: tuple[str, ...] = ("spot", "linear")) -> str:
        cat = params.get("category")
        if not cat:
            raise _params_error("params error: category is required")
        if cat not in allowed:
            raise _params_error(f"params error: category must be one of {', '.join(allowed)}, got {cat[:16]!r}")
        return cat

    def _symbol(self, cat: str, params: dict[str, str], required: bool = True) -> Any:
        sym = params.get("symbol")
        if not sym:
            if required:
                raise _params_error("params error: symbol is required")
            return None
        m = self.ex.markets.get((CATEGORY_MARKET[cat], sym))
        if m is None:
            raise BybitError(170121, "Invalid symbol.") if cat == "spot" else _params_error("params error: symbol invalid")
        return m

    def market_data(self, name: str, params: dict[str, str]) -> Any:
        if name == "time":
            ns = time.time_ns() + self.ex.chaos.skew_ms * 1_000_000
            return {"timeSecond": str(ns // 1_000_000_000), "timeNano": str(ns)}
        cat = self._category(params)
        market = CATEGORY_MARKET[cat]
        if name == "instruments-info":
            m = self._symbol(cat, params, required=False)
            found = [m] if m is not None else [mk for (k, _), mk in sorted(self.ex.markets.items()) if k == market]
            return {"category": cat, "list": [self._instrument(cat, mk) for mk in found], "nextPageCursor": ""}
        m = self._symbol(cat, params)
        if name == "orderbook":
            top = 200 if cat == "spot" else 500
            limit = _int_param(params, "limit", 1 if cat == "spot" else 25)
            if not 1 <= limit <= top:
                raise _params_error(f"params error: limit must be 1..{top}, got {limit}")
            bids, asks = levels(m, limit)
            ms = self.server_ms()
            return {"s": m.symbol, "b": [[m.px(p), m.qty(q)] for p, q in sorted(bids.items(), reverse=True)],
                    "a": [[m.px(p), m.qty(q)] for p, q in sorted(asks.items())], "ts": ms, "u": m.update_id,
                    "seq": m.update_id, "cts": ms}
        if name == "recent-trade":
            limit = _int_param(params, "limit", 60)
            top = 60 if cat == "spot" else 1000
            if not 1 <= limit <= top:
                raise _params_error(f"params error: limit must be 1..{top}, got {limit}")
            rows = [{"execId": str(tid), "symbol": m.symbol, "price": m.px(px), "size": m.qty(q),
                     "side": "Sell" if bm else "Buy", "time": str(ts), "isBlockTrade": False}
                    for tid, px, q, ts, bm in reversed(list(m.trades)[-limit:])]
            return {"category": cat, "list": rows}
        # tickers
        bid, ask = m.top()
        bq, aq = m.top_sizes()
        last = m.px(m.trades[-1][1]) if m.trades else (m.px(bid) if bid is not None else "0")
        row: dict[str, Any] = {"symbol": m.symbol, "bid1Price": m.px(bid) if bid is not None else "",
                               "bid1Size": m.qty(bq), "ask1Price": m.px(ask) if ask is not None else "",
                               "ask1Size": m.qty(aq), "lastPrice": last}
        day, vol, turnover = self._day_volume(m, self.server_ms() - 86_400_000)
        high = m.px(max(t[1] for t in day)) if day else last
        low = m.px(min(t[1] for t in day)) if day else last
        row |= {"prevPrice24h": m.px(day[0][1]) if day else last, "price24hPcnt": "0", "highPrice24h": high,
                "lowPrice24h": low, "turnover24h": _s(turnover), "volume24h": _s(vol)}
        if cat == "linear":
            mark = _s(self.ex.mark("usdm", m.symbol))
            row |= {"indexPrice": mark, "markPrice": mark, "prevPrice1h": last, "openInterest": "0",
                    "openInterestValue": "0", "fundingRate": "0", "nextFundingTime": "0", "predictedDeliveryPrice": "",
                    "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0"}
        return {"category": cat, "list": [row]}

    def _instrument(self, cat: str, m: Any) -> dict[str, Any]:
        base, quote = m.symbol[:-4], m.symbol[-4:]
        minimum = str(self.ex.min_notional[CATEGORY_MARKET[cat]])
        if cat == "spot":
            return {"symbol": m.symbol, "baseCoin": base, "quoteCoin": quote, "innovation": "0", "status": "Trading",
                    "marginTrading": "utaOnly", "stTag": "0",
                    "lotSizeFilter": {"basePrecision": str(m.lot), "quotePrecision": str(m.tick),
                                      "minOrderQty": str(m.lot), "maxOrderQty": "9000", "minOrderAmt": minimum,
                                      "maxOrderAmt": "100000000"},
                    "priceFilter": {"tickSize": str(m.tick)}, "riskParameters": {"priceLimitRatioX": "0.05",
                                                                                  "priceLimitRatioY": "0.05"}}
        return {"symbol": m.symbol, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": base,
                "quoteCoin": quote, "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
                "priceScale": str(m.pp), "leverageFilter": {"minLeverage": "1", "maxLeverage": "125",
                                                            "leverageStep": "0.01"},
                "priceFilter": {"minPrice": str(m.tick), "maxPrice": "1999999", "tickSize": str(m.tick)},
                "lotSizeFilter": {"maxOrderQty": "9000", "minOrderQty": str(m.lot), "qtyStep": str(m.lot),
                                  "postOnlyMaxOrderQty": "9000", "maxMktOrderQty": "9000", "minNotionalValue": minimum},
                "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": quote, "copyTrading": "none",
                "upperFundingRate": "0.005", "lowerFundingRate": "-0.005", "isPreListing": False}

    def _book_msg(self, m: Any, depth: int, kind: str, bids: dict[int, int], asks: dict[int, int],
                  u: int) -> dict[str, Any]:
        ms = self.server_ms()
        return {"topic": f"orderbook.{depth}.{m.symbol}", "type": kind, "ts": ms,
                "data": {"s": m.symbol, "b": [[m.px(p), m.qty(q)] for p, q in sorted(bids.items(), reverse=True)],
                         "a": [[m.px(p), m.qty(q)] for p, q in sorted(asks.items())], "u": u, "seq": m.update_id},
                "cts": ms}

    # ------------------------------------------------------------------------------------------
    # orders
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _not_found(cat: str) -> BybitError:
        return BybitError(170213, "Order does not exist.") if cat == "spot" else BybitError(110001, "Order does not exist")

    def _check_grid(self, cat: str, m: Any, price: Decimal | None, qty: Decimal) -> None:
        if price is not None and (price <= 0 or price % m.tick):
            raise BybitError(170134, "Order price has too many decimals.") if cat == "spot" and price > 0 else \
                _params_error(f"params error: price must be a positive multiple of the tick size {m.tick}")
        if qty <= 0 or qty % m.lot:
            raise BybitError(170137, "Order quantity has too many decimals.") if cat == "spot" and qty > 0 else \
                _params_error(f"params error: qty must be a positive multiple of the quantity step {m.lot}")
        if qty > 9000:
            raise BybitError(170136, "Order quantity exceeded upper limit.") if cat == "spot" else \
                _params_error("params error: qty exceeds the maximum 9000")

    def _link_id(self, acct: Account, cat: str, params: dict[str, str]) -> str:
        market = CATEGORY_MARKET[cat]
        cid = params.get("orderLinkId") or ""
        if not cid:
            return ""
        if len(cid) > 36 or not all(c.isalnum() or c in "-_" for c in cid):
            raise _params_error("params error: orderLinkId: at most 36 letters, digits, '-' or '_'")
        if cid in acct.by_client[market]:  # Bybit: unique among the account's orders, not only open ones
            raise BybitError(170141, "Duplicate clientOrderId") if cat == "spot" else \
                BybitError(110072, "OrderLinkedID is duplicate")
        return cid

    def create(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params)
        market = CATEGORY_MARKET[cat]
        m = self._symbol(cat, params)
        side = params.get("side")
        if side not in ("Buy", "Sell"):
            raise _params_error(f"params error: side must be Buy or Sell, got {side!r}")
        otype = params.get("orderType")
        if otype not in ("Market", "Limit"):
            raise _params_error(f"params error: orderType must be Market or Limit, got {otype!r}")
        tif_in = params.get("timeInForce") or ("IOC" if otype == "Market" else "GTC")
        if tif_in not in _TIF:
            raise _params_error(f"params error: timeInForce must be GTC, IOC, FOK or PostOnly, got {tif_in!r}")
        if otype == "Market" and tif_in == "PostOnly":
            raise _params_error("params error: a Market order cannot be PostOnly")
        for unsupported in ("triggerPrice", "takeProfit", "stopLoss", "orderFilter"):
            if params.get(unsupported) not in (None, "", "0", "Order"):
                raise _params_error(f"params error: {unsupported} is not served by the local exchange")
        if params.get("positionIdx", "0") not in ("0", ""):
            raise _params_error("params error: positionIdx must be 0 (one-way mode)")
        if cat == "spot" and params.get("isLeverage", "0") not in ("0", ""):
            raise _params_error("params error: isLeverage must be 0 (no margin trading here)")
        reduce_only = params.get("reduceOnly", "false") == "true"
        if reduce_only and cat == "spot":
            raise _params_error("params error: reduceOnly is for linear orders")
        price = _dec_param(params, "price", otype == "Limit")
        if otype == "Market":
            price = None
        qty = _dec_param(params, "qty", True)
        assert qty is not None
        bid, ask = m.top()
        touch = ask if side == "Buy" else bid
        unit = params.get("marketUnit") or ("quoteCoin" if cat == "spot" and otype == "Market" and side == "Buy"
                                            else "baseCoin")
        if unit not in ("baseCoin", "quoteCoin") or (unit == "quoteCoin" and not (cat == "spot" and otype == "Market")):
            raise _params_error(f"params error: marketUnit {unit!r} (quoteCoin only for spot Market orders)")
        quote_qty = ZERO
        if unit == "quoteCoin":
            if touch is None:
                raise BybitError(170131, "Insufficient balance.")
            quote_qty = qty
            if quote_qty < self.ex.min_notional[market]:
                raise BybitError(170140, "Order value exceeded lower limit.")
            qty = (qty / Decimal(m.px(touch))).quantize(m.lot, rounding=ROUND_DOWN)
        self._check_grid(cat, m, price, qty)
        ref = price if price is not None else (Decimal(m.px(touch)) if touch is not None else self.ex.mark(market, m.symbol))
        if qty * ref < self.ex.min_notional[market] and not reduce_only:
            raise BybitError(170140, "Order value exceeded lower limit.") if cat == "spot" else \
                BybitError(110094, "Order does not meet minimum order value")
        cid = self._link_id(acct, cat, params)
        now = self.server_ms()
        o = Order(0, cid, m.symbol, market, side.upper(), otype.upper(), _TIF[tif_in], qty, price or ZERO, ZERO, now,
                  reduce_only=reduce_only, quote_qty=quote_qty, update=now)
        self._hold(acct, o, ref, lambda _asset: BybitError(170131, "Insufficient balance."),
                   BybitError(110017, "Reduce-only rule not satisfied"), BybitError(110007, "ab not enough for new order"))
        o.id = self._next_id()
        self._enter(acct, o)
        return {"orderId": str(o.id), "orderLinkId": o.client_id}

    def _find_order(self, acct: Account, cat: str, params: dict[str, str]) -> Order:
        market = CATEGORY_MARKET[cat]
        m = self._symbol(cat, params)
        oid, cid = params.get("orderId"), params.get("orderLinkId")
        if not oid and not cid:
            raise _params_error("params error: orderId or orderLinkId is required")
        o = self._lookup(acct, market, oid or "", cid or "")
        if o is None or o.symbol != m.symbol or not o.open:
            raise self._not_found(cat)
        return o

    def cancel(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params)
        o = self._find_order(acct, cat, params)
        self._cancel(acct, o)
        return {"orderId": str(o.id), "orderLinkId": o.client_id}

    def cancel_all(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params)
        m = self._symbol(cat, params, required=False)
        open_ = [o for o in acct.orders[CATEGORY_MARKET[cat]].values() if o.open and (m is None or o.symbol == m.symbol)]
        for o in open_:
            self._cancel(acct, o)
        return {"list": [{"orderId": str(o.id), "orderLinkId": o.client_id} for o in open_], "success": "1"}

    def amend(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params)
        market = CATEGORY_MARKET[cat]
        o = self._find_order(acct, cat, params)
        m = self.ex.markets[(market, o.symbol)]
        qty = _dec_param(params, "qty")
        price = _dec_param(params, "price")
        if qty is None and price is None:
            raise _params_error("params error: qty or price is required")
        if o.type != "LIMIT" and price is not None:
            raise _params_error("params error: only a Limit order's price can be amended")
        new_qty, new_price = qty if qty is not None else o.qty, price if price is not None else o.price
        self._check_grid(cat, m, new_price if o.type == "LIMIT" else None, new_qty)
        if new_qty <= o.executed:
            raise _params_error("params error: qty must be more than the quantity filled already")
        if new_qty == o.qty and new_price == o.price:
            raise BybitError(10001, "The order remains unchanged as the parameters entered match the existing ones.")
        if market == "spot":
            self._relock(acct, o, new_qty, new_price, lambda _asset: BybitError(170131, "Insufficient balance."))
        self._amend(acct, o, m, new_qty, new_price)
        return {"orderId": str(o.id), "orderLinkId": o.client_id}

    def _order_row(self, o: Order) -> dict[str, Any]:
        cat = _MARKET_CATEGORY[o.market]
        left = o.qty - o.executed if o.open else ZERO
        status = _STATUS[o.status]
        if o.status in ("CANCELED", "EXPIRED") and o.executed and cat == "spot":
            status = "PartiallyFilledCanceled"
        fee = sum((f.fee for f in self._fills_of(o)), ZERO)
        cancel_type, reject_reason = "UNKNOWN", "EC_NoError"
        if o.tif == "GTX" and o.status in ("REJECTED", "EXPIRED") and not o.executed:
            reject_reason = "EC_PostOnlyWillTakeLiquidity"  # a PostOnly order that would have taken
        if o.status == "CANCELED":
            cancel_type = "CancelByUser"
        elif o.status == "EXPIRED":
            cancel_type = "CancelByPostOnly" if o.tif == "GTX" else "UNKNOWN"
        return {"category": cat, "symbol": o.symbol, "orderId": str(o.id), "orderLinkId": o.client_id,
                "blockTradeId": "", "side": o.side.capitalize(), "orderType": o.type.capitalize(),
                "price": _s(o.price), "qty": _s(o.qty), "orderIv": "", "timeInForce": _TIF_OUT.get(o.tif, o.tif),
                "orderStatus": status, "cancelType": cancel_type, "rejectReason": reject_reason,
                "avgPrice": _s(o.avg_price) if o.executed else ("" if cat == "spot" else "0"),
                "leavesQty": _s(left), "leavesValue": _s(left * o.price), "cumExecQty": _s(o.executed),
                "cumExecValue": _s(o.cum_quote), "cumExecFee": _s(fee), "feeCurrency": o.symbol[-4:],
                "isLeverage": "0", "positionIdx": 0, "lastPriceOnCreated": "", "reduceOnly": o.reduce_only,
                "closeOnTrigger": False, "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0",
                "tpTriggerBy": "", "slTriggerBy": "", "tpLimitPrice": "0", "slLimitPrice": "0", "triggerBy": "",
                "triggerDirection": 0, "stopOrderType": "", "tpslMode": "", "placeType": "", "smpType": "None",
                "smpGroup": 0, "smpOrderId": "", "createType": "CreateByUser", "marketUnit": "",
                "createdTime": str(o.time), "updatedTime": str(o.update)}

    def _page(self, params: dict[str, str], default: int, top: int) -> int:
        limit = _int_param(params, "limit", default)
        if not 1 <= limit <= top:
            raise _params_error(f"params error: limit must be 1..{top}, got {limit}")
        return limit

    def _orders(self, acct: Account, params: dict[str, str], open_only: bool) -> dict[str, Any]:
        cat = self._category(params)
        market = CATEGORY_MARKET[cat]
        m = self._symbol(cat, params, required=False)
        limit = self._page(params, 20, 50)
        oid, cid = params.get("orderId"), params.get("orderLinkId")
        rows = [o for o in sorted(acct.orders[market].values(), key=lambda o: o.id, reverse=True)
                if o.open == open_only and (m is None or o.symbol == m.symbol)
                and (not oid or str(o.id) == oid) and (not cid or o.client_id == cid)]
        if not open_only and not oid and not cid:
            rows = [o for o in rows if o.update >= self.server_ms() - 7 * 86_400_000]
        return {"category": cat, "list": [self._order_row(o) for o in rows[:limit]], "nextPageCursor": ""}

    def realtime(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """Open orders (``openOnly`` 0), newest first."""
        return self._orders(acct, params, open_only=True)

    def history(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """Ended orders of the last 7 days (or the one asked for by id), newest first."""
        return self._orders(acct, params, open_only=False)

    def _exec_row(self, acct: Account, f: Fill) -> dict[str, Any]:
        o = acct.orders[f.market][f.order_id]
        cat = _MARKET_CATEGORY[f.market]
        rate = self._fee_rate(f)
        left = o.qty - sum((x.qty for x in self._fills_of(o) if x.id <= f.id), ZERO)
        closed = ZERO if f.market == "spot" or not f.realized else f.qty
        return {"category": cat, "symbol": f.symbol, "orderId": str(f.order_id), "orderLinkId": o.client_id,
                "side": f.side.capitalize(), "orderPrice": _s(o.price), "orderQty": _s(o.qty), "leavesQty": _s(left),
                "createType": "CreateByUser", "orderType": o.type.capitalize(), "stopOrderType": "",
                "execFee": _s(f.fee), "execId": str(f.id), "execPrice": _s(f.price), "execQty": _s(f.qty),
                "execType": "Trade", "execValue": _s(f.price * f.qty), "execTime": str(f.time),
                "feeCurrency": f.fee_asset, "isMaker": f.maker, "feeRate": _s(rate), "tradeIv": "", "markIv": "",
                "markPrice": _s(self.ex.mark(f.market, f.symbol)), "indexPrice": "", "underlyingPrice": "",
                "blockTradeId": "", "closedSize": _s(closed), "isLeverage": "0", "seq": f.id}

    def executions(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params)
        market = CATEGORY_MARKET[cat]
        m = self._symbol(cat, params, required=False)
        limit = self._page(params, 50, 100)
        oid = params.get("orderId")
        rows = [f for f in reversed(acct.fills[market])
                if (m is None or f.symbol == m.symbol) and (not oid or str(f.order_id) == oid)]
        return {"category": cat, "list": [self._exec_row(acct, f) for f in rows[:limit]], "nextPageCursor": ""}

    def _position_row(self, acct: Account, symbol: str) -> dict[str, Any]:
        p, mark, size, im = self._position_at_mark(acct, symbol)
        value = size * p.entry
        created = self.created[acct.api_key].setdefault(symbol, self.server_ms())
        return {"category": "linear", "positionIdx": 0, "tradeMode": 0, "riskId": 1, "riskLimitValue": "2000000",
                "symbol": symbol, "side": "" if not p.amt else ("Buy" if p.amt > 0 else "Sell"), "size": _s(size),
                "avgPrice": _s(p.entry), "entryPrice": _s(p.entry), "sessionAvgPrice": "", "positionValue": _s(value),
                "leverage": str(p.leverage), "positionBalance": _s(im), "markPrice": _s(mark), "liqPrice": "",
                "bustPrice": "", "positionIM": _s(im), "positionMM": _s(im / 10), "positionIMByMp": _s(im),
                "positionMMByMp": _s(im / 10), "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
                "unrealisedPnl": _s(p.amt * (mark - p.entry)), "curRealisedPnl": _s(p.realized),
                "cumRealisedPnl": _s(p.realized), "createdTime": str(created), "updatedTime": str(p.update or created),
                "tpslMode": "Full", "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 0,
                "leverageSysUpdatedTime": "", "mmrSysUpdatedTime": "", "seq": p.update, "isReduceOnly": False}

    def positions(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        cat = self._category(params, ("linear",))
        m = self._symbol(cat, params, required=False)
        if m is None and not params.get("settleCoin"):
            raise _params_error("params error: symbol or settleCoin is required")
        syms = [m.symbol] if m is not None else [s for (k, s) in sorted(self.ex.markets) if k == "usdm"]
        return {"category": cat, "list": [self._position_row(acct, s) for s in syms], "nextPageCursor": ""}

    def _wallet(self, acct: Account, coins: list[str] | None = None) -> dict[str, Any]:
        """The unified wallet: per coin, the spot balance plus (USDT) what the linear wallet
        gained or lost since the start (realized PnL, fees)."""
        upnl, pos_im, ord_im = self._margins(acct)
        rows, total_eq, total_wallet = [], ZERO, ZERO
        for c, free, locked, linear in self._coins(acct, coins):
            wallet = free + locked + linear
            is_usdt = c == "USDT"
            equity = wallet + (upnl if is_usdt else ZERO)
            price = self._coin_price(c)
            usd = equity * price
            total_eq += usd
            total_wallet += wallet * price
            avail = free + linear + (upnl - pos_im - ord_im if is_usdt else ZERO)
            rows.append({"coin": c, "equity": _s(equity), "usdValue": _s(usd), "walletBalance": _s(wallet),
                         "free": "", "locked": _s(locked), "spotHedgingQty": "0", "borrowAmount": "0",
                         "availableToBorrow": "", "availableToWithdraw": _s(max(avail, ZERO)), "accruedInterest": "0",
                         "totalOrderIM": _s(ord_im if is_usdt else ZERO), "totalPositionIM": _s(pos_im if is_usdt else ZERO),
                         "totalPositionMM": _s(pos_im / 10 if is_usdt else ZERO),
                         "unrealisedPnl": _s(upnl if is_usdt else ZERO),
                         "cumRealisedPnl": _s(linear if is_usdt else ZERO), "bonus": "0", "collateralSwitch": True,
                         "marginCollateral": True, "spotBorrow": "0"})
        avail_total = total_eq - pos_im - ord_im
        return {"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "accountLTV": "0",
                "totalEquity": _s(total_eq), "totalWalletBalance": _s(total_wallet),
                "totalMarginBalance": _s(total_eq), "totalAvailableBalance": _s(max(avail_total, ZERO)),
                "totalPerpUPL": _s(upnl), "totalInitialMargin": _s(pos_im + ord_im),
                "totalMaintenanceMargin": _s(pos_im / 10), "coin": rows}

    def wallet_balance(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        kind = params.get("accountType")
        if kind != "UNIFIED":
            raise _params_error(f"params error: accountType must be UNIFIED (a unified account), got {kind!r}")
        coins = [c for c in (params.get("coin") or "").upper().split(",") if c]
        return {"list": [self._wallet(acct, coins or None)]}

    # ------------------------------------------------------------------------------------------
    # reports: the inherited bookkeeping calls these
    # ------------------------------------------------------------------------------------------
    def _push(self, acct: Account, topic: str, category: str | None, data: list[dict[str, Any]]) -> None:
        subs = [c for c, (a, topics) in self.private.items()
                if a is acct and (topic in topics or (category is not None and f"{topic}.{category}" in topics))]
        if not subs:
            return
        self.msg_seq += 1
        msg = {"id": f"{acct.api_key[:8]}-{self.msg_seq}", "topic": topic, "creationTime": self.server_ms(), "data": data}
        for c in subs:
            c.send(msg, event=True)

    def _emit_order(self, acct: Account, o: Order) -> None:
        self._push(acct, "order", _MARKET_CATEGORY[o.market], [self._order_row(o)])

    def _emit_trade(self, acct: Account, o: Order, fill: Fill | None) -> None:
        self._emit_order(acct, o)
        if fill is not None:
            self._push(acct, "execution", _MARKET_CATEGORY[o.market], [self._exec_row(acct, fill)])

    def _emit_balances(self, acct: Account) -> None:
        w = self._wallet(acct)
        # Bybit's docs spell it totalPerpUPL; the documented stream payload (the fixture) totalPerpUpl
        self._push(acct, "wallet", None, [w | {"totalPerpUpl": w["totalPerpUPL"]}])

    def _emit_position(self, acct: Account, symbol: str) -> None:
        self._push(acct, "position", "linear", [self._position_row(acct, symbol)])

    # ------------------------------------------------------------------------------------------
    # WebSocket
    # ------------------------------------------------------------------------------------------
    def _format_conn_id(self, seq: int) -> str:
        return f"{secrets.token_hex(10)}-{seq}"

    def _valid_public(self, cat: str, topic: str) -> bool:
        market = CATEGORY_MARKET[cat]
        parts = topic.split(".")
        if len(parts) == 2 and parts[0] == "publicTrade":
            return (market, parts[1]) in self.ex.markets
        return (len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit() and int(parts[1]) in DEPTHS[cat]
                and (market, parts[2]) in self.ex.markets)

    def _subscribe_public(self, conn: Connection, cat: str, topic: str) -> None:
        market = CATEGORY_MARKET[cat]
        parts = topic.split(".")
        if parts[0] == "publicTrade":
            self.trade_subs[market].add(conn)
            conn.streams.add(topic)
        else:
            depth = int(parts[1])
            m = self.ex.markets[(market, parts[2])]
            # a topic whose stream (re)starts begins at u == 1
            t = self._join_book(conn, (market, depth), m, lambda _m: _Topic(u=1))
            conn.streams.add(topic)
            conn.send(self._book_msg(m, depth, "snapshot", t.bids, t.asks, t.u), event=True)

    def _unsubscribe_public(self, conn: Connection, cat: str, topic: str) -> None:
        market = CATEGORY_MARKET[cat]
        parts = topic.split(".")
        conn.streams.discard(topic)
        if parts[0] == "publicTrade":
            self.trade_subs[market].discard(conn)
        elif parts[0] == "orderbook" and len(parts) == 3 and parts[1].isdigit():
            self._leave_book(conn, (market, int(parts[1])))

    def _ws_scope(self, request: web.Request) -> tuple[str, str]:
        """The category of ``/v5/public/{category}`` ("" for ``/v5/private``) and its market."""
        cat = request.match_info.get("category", "")
        return cat, CATEGORY_MARKET.get(cat, "")

    def _ws_bad_json(self, conn_id: str, data: str) -> dict[str, Any]:
        return {"success": False, "ret_msg": "error:invalid message: not a JSON object", "conn_id": conn_id, "op": ""}

    def _ws_op(self, conn: Connection, conn_id: str, cat: str, private: bool, req: dict[str, Any]) -> None:
        op, args, rid = req.get("op"), req.get("args") or [], req.get("req_id")
        extra = {"req_id": str(rid)} if rid is not None else {}
        if op == "ping":
            if private:
                conn.send({**extra, "op": "pong", "args": [str(self.server_ms())], "conn_id": conn_id})
            else:
                conn.send({"success": True, "ret_msg": "pong", "conn_id": conn_id, **extra, "op": "ping"})
            return
        if op == "auth" and private:
            conn.send({**extra, **self._ws_auth(conn, req), "connId": conn_id})
            return
        if op in ("subscribe", "unsubscribe") and isinstance(args, list) and all(isinstance(a, str) for a in args):
            if private:
                entry = self.private.get(conn)
                if entry is None:
                    conn.send({"success": False, "ret_msg": "Request not authorized", "conn_id": conn_id, **extra,
                               "op": op})
                    return
                bad = [a for a in args if a not in _PRIVATE_TOPICS]
                if not bad:
                    (entry[1].update if op == "subscribe" else entry[1].difference_update)(args)
            else:
                bad = [a for a in args if not self._valid_public(cat, a)] if op == "subscribe" else []
            ok = not bad
            # the ack, then (Bybit's order) the snapshots of the books subscribed to
            conn.send({"success": ok, "ret_msg": "" if ok else f"Invalid topic: {bad[0]}", "conn_id": conn_id,
                       **extra, "op": op})
            if ok and not private:
                for a in args:
                    if op == "subscribe":
                        self._subscribe_public(conn, cat, a)
                    else:
                        self._unsubscribe_public(conn, cat, a)
            return
        conn.send({"success": False, "ret_msg": f"error:unknown op {str(op)[:32]!r} or bad args", "conn_id": conn_id,
                   **extra, "op": str(op or "")})

    def _ws_auth(self, conn: Connection, req: dict[str, Any]) -> dict[str, Any]:
        args = req.get("args")
        key = args[0] if isinstance(args, list) and args and isinstance(args[0], str) else ""
        acct = self.ex.account_by_key.get(key)
        if acct is None:
            return {"op": "auth", "success": False, "retCode": 10003, "retMsg": "Invalid apikey"}
        try:
            ok = bybit_auth.verify_ws_auth(Credentials(acct.api_key, acct.secret), req, now_ms=self.server_ms())
        except InvalidInputError as e:
            return {"op": "auth", "success": False, "retCode": 10001, "retMsg": str(e)}
        if not ok:
            expired = isinstance(args, list) and len(args) == 3 and str(args[1]).isdigit() and int(args[1]) <= self.server_ms()
            return {"op": "auth", "success": False, "retCode": 10002 if expired else 10004,
                    "retMsg": "Params Error: the auth request expired" if expired else "Invalid sign"}
        self.private[conn] = (acct, set())
        return {"op": "auth", "success": True, "retCode": 0, "retMsg": ""}
