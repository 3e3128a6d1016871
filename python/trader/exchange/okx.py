"""OKX v5's protocol in front of the local exchange (instrument types SPOT and SWAP).

The markets, the matchers and the account rules are the server's (spot ``free``/``locked`` per
coin, the USDT wallet with one-way positions and its margin check); the bookkeeping of the
matcher's events is :class:`~trader.exchange.ledger.Ledger`'s, and every report goes out in OKX's
shapes. Instruments: ``BTC-USDT`` is the server's spot ``BTCUSDT``, ``BTC-USDT-SWAP`` its ``usdm``
``BTCUSDT`` (the linear USDT perpetual).

Sizes: SPOT ``sz`` is in base units. SWAP ``sz`` (orders, fills, positions, the books) is in
contracts of ``ctVal`` = :data:`CT_VAL` = 0.01 BTC (OKX's BTC-USDT-SWAP value), what
``/api/v5/public/instruments`` says; its ``lotSz``/``minSz`` is the server's quantity step in
contracts (``0.001 BTC`` -> ``0.1``). A SPOT market buy's ``sz`` is quote units unless
``tgtCcy=base_ccy`` (OKX's default for market buys). Every account needs a ``passphrase`` (OKX keys
have one); it is checked on every private request and on the WebSocket login.

REST, answers in OKX's envelope ``{"code": "0", "msg": "", "data": [...]}``:

- public: ``GET /api/v5/public/time``, ``/public/instruments``, ``/market/books`` (``asks``/``bids``
  ``[px, sz, "0", orders]``, ``ts``; the local exchange also gives ``seqId``, the market's update id,
  so a client can line the REST snapshot up with the stream), ``/market/trades``, ``/market/ticker``;
- private (``OK-ACCESS-KEY``, ``OK-ACCESS-SIGN``, ``OK-ACCESS-TIMESTAMP``, ``OK-ACCESS-PASSPHRASE``,
  checked with :func:`trader_plugins.venues.okx.auth.verify`): ``POST /api/v5/trade/order``,
  ``/trade/batch-orders`` (what ccxt sends), ``/trade/cancel-order``, ``/trade/amend-order``;
  ``GET /api/v5/trade/order``, ``/trade/orders-pending``, ``/trade/orders-history``, ``/trade/fills``,
  ``/account/balance``, ``/account/positions``. Order types ``market``, ``limit``, ``post_only``,
  ``ioc``, ``fok``; ``tdMode`` ``cash`` (SPOT) or ``cross`` (SWAP, net mode: ``posSide`` ``net``).
- errors (OKX v5 docs, "Error Code" section, https://www.okx.com/docs-v5/en/#error-code; HTTP
  status as listed there): 50011 rate limit (429); 50102 timestamp expired, 50103/50104/50106/50107
  a missing header, 50105 wrong passphrase, 50111 unknown key, 50112 bad timestamp, 50113 bad
  signature (401); 51000 parameter error, 51001 unknown instrument, 51603 order does not exist (a
  query). Order endpoints answer per order in ``data`` (``sCode``/``sMsg``) with the top level
  ``code`` "1" when every order failed ("2": some did): 51008 insufficient balance, 51016
  duplicate ``clOrdId``, 51169 nothing to reduce, 51400 cancel of an order that is not open, 51503
  amend of an order that is not open.
- rate limits in fixed 2-second windows (``rate_limits``): ``okx_orders_2s`` (60, OKX's rule for
  the trade endpoints) per account, endpoint and instrument; ``okx_queries_2s`` (10, OKX's rule for
  balance and positions) per account and endpoint. Over it: 50011, HTTP 429.

WebSocket: ``/ws/v5/public`` (``op`` subscribe / unsubscribe, channels ``books`` and ``trades``;
text ``ping`` is answered ``pong``) and ``/ws/v5/private`` (``op`` login, then channels ``orders``
(instType SPOT, SWAP or ANY), ``account``, ``positions``). The ``books`` channel (400 levels): a
``snapshot`` (``prevSeqId`` -1), then an ``update`` every 100 ms when the levels changed (size
``"0"``: the level left), ``seqId`` the market's update id, ``prevSeqId`` the previous message's
``seqId``, ``checksum`` the signed CRC32 of the top 25 levels after the message (OKX's rule, computed
with :func:`trader_plugins.venues.okx.book.checksum`). OKX announced the checksum becomes 0 from 23
June 2026 and the initial snapshot goes in August 2026; the local exchange serves the real checksum
and the snapshot by default, as a client checking both needs (set ``front.zero_checksum = True`` to
serve 0, as OKX now does: the client then checks the ``seqId`` chain alone).

Chaos: the server's connection applies drop / stall / dup / reorder to stream messages and ``gap``
to book updates (a client sees ``prevSeqId`` not link); ``delay_ack``, ``ack_5xx`` and ``timeout``
to order placement; ``burst429`` starts a run of ``burst_len`` 50011 answers; ``skew_ms`` moves the
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
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.okx import auth as okx_auth
from trader_plugins.venues.okx.book import CHECKSUM_DEPTH, checksum

if TYPE_CHECKING:
    from trader.exchange.server import Connection, Exchange

__all__ = ["OkxFront", "OkxError", "OrderError", "INST_TYPE_MARKET", "CT_VAL"]

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()

#: OKX's instType -> the server's market.
INST_TYPE_MARKET = {"SPOT": "spot", "SWAP": "usdm"}
_MARKET_INST_TYPE = {v: k for k, v in INST_TYPE_MARKET.items()}
#: A SWAP contract's value in the base coin (OKX's BTC-USDT-SWAP: 0.01 BTC).
CT_VAL = Decimal("0.01")
#: Levels of the ``books`` channel and the most ``/market/books`` gives.
BOOK_DEPTH = 400
_STATE = {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled",
          "EXPIRED": "canceled", "REJECTED": "canceled"}
#: OKX ordType -> (the server's type, time in force).
_ORD_TYPES = {"market": ("MARKET", "IOC"), "limit": ("LIMIT", "GTC"), "post_only": ("LIMIT", "GTX"),
              "ioc": ("LIMIT", "IOC"), "fok": ("LIMIT", "FOK")}
ORDER_PATHS = ("trade/order", "trade/batch-orders", "trade/cancel-order", "trade/amend-order")
#: Query endpoints under the trade rule (60 / 2 s) rather than the account rule.
_TRADE_QUERIES = ("trade/orders-pending", "trade/orders-history", "trade/fills")


class OkxError(FrontError):
    """A request-level error: OKX's ``code`` and ``msg`` (HTTP ``status``)."""

    def __init__(self, code: str, msg: str, status: int = 200) -> None:
        super().__init__(code, msg, status)


class OrderError(Exception):
    """One order's failure, answered inside ``data`` as ``sCode``/``sMsg``."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg = code, msg


def _param_error(name: str, why: str) -> OkxError:
    return OkxError("51000", f"Parameter {name} error: {why}")


def _insufficient(asset: str) -> OrderError:
    return OrderError("51008", f"Order failed. Insufficient {asset} balance in account.")


def _dec_param(params: dict[str, str], name: str, required: bool = False) -> Decimal | None:
    return dec_param(params, name, required, _param_error)


def _limit_param(params: dict[str, str], default: int, top: int) -> int:
    v = params.get("limit")
    if v is None or v == "":
        return default
    if not v.isdigit() or not 1 <= int(v) <= top:
        raise _param_error("limit", f"must be an integer 1..{top}, got {v[:32]!r}")
    return int(v)


def _s(d: Decimal) -> str:
    return dstr(d)


def inst_id(market: str, symbol: str) -> str:
    """The OKX instId of a server market: ``BTC-USDT`` (spot), ``BTC-USDT-SWAP`` (usdm)."""
    base, quote = symbol[:-4], symbol[-4:]
    return f"{base}-{quote}" + ("-SWAP" if market == "usdm" else "")


class _Books(BookStream):
    """One ``books`` channel's stream state: subscribers, the levels last sent (ticks -> lots), ``seqId``."""

    __slots__ = ("seq",)

    def __init__(self, seq: int = 0) -> None:
        super().__init__()
        self.seq = seq


class OkxFront(StreamFront[_Books, list[dict[str, str]]]):
    """The OKX v5 protocol of one :class:`~trader.exchange.server.Exchange`.

    Its book streams are keyed by market (one ``books`` channel each); a private session's
    subscriptions are the args as sent; ``windows`` counts (api key, method, path, instId) per 2 s."""

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex)
        missing = [a for a in ex.accounts if not a.passphrase]
        if missing:
            raise InvalidInputError(f"accounts: the okx venue needs a passphrase for every account; "
                                    f"api_key {missing[0].api_key[:4]}… has none")
        self.extra: dict[int, dict[str, str]] = {}  # order id -> tag, tgtCcy
        self.uid = {a.api_key: str(440_000_000_000 + i) for i, a in enumerate(ex.accounts)}
        #: Serve ``checksum`` 0 in the books channel (OKX from 23 June 2026); False: the real CRC32.
        self.zero_checksum = False

    @property
    def books(self) -> dict[str, _Books]:
        """The ``books`` channels' streams, keyed by market."""
        return self.book_streams

    # ------------------------------------------------------------------------------------------
    # app wiring and the server's hooks
    # ------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        private = {
            ("POST", "trade/order"): self.place, ("POST", "trade/batch-orders"): self.batch_place,
            ("POST", "trade/cancel-order"): self.cancel_order, ("POST", "trade/amend-order"): self.amend_order,
            ("GET", "trade/order"): self.get_order, ("GET", "trade/orders-pending"): self.orders_pending,
            ("GET", "trade/orders-history"): self.orders_history, ("GET", "trade/fills"): self.fills,
            ("GET", "account/balance"): self.balance, ("GET", "account/positions"): self.positions,
        }
        self._wire(app, "/api/v5/", ("public/time", "public/instruments", "market/books", "market/trades",
                                     "market/ticker"), "/api/v5/", private, "/ws/v5/public", "/ws/v5/private")

    def stream_urls(self, host: str, port: int) -> dict[str, str]:
        return {"public": f"ws://{host}:{port}/ws/v5/public", "private": f"ws://{host}:{port}/ws/v5/private"}

    def _trade_msg(self, market: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A trade in the ``trades`` channel (the book goes out from :meth:`on_tick`)."""
        m = self.ex.markets[(market, payload["s"])]
        iid = inst_id(market, m.symbol)
        row = {"instId": iid, "tradeId": str(payload["t"]), "px": payload["p"],
               "sz": self._sz_text(market, Decimal(payload["q"])), "side": "sell" if payload["m"] else "buy",
               "ts": str(payload["T"]), "count": "1", "source": "0", "seqId": m.update_id}
        return {"arg": {"channel": "trades", "instId": iid}, "data": [row]}

    def _book_scope(self, key: Any) -> tuple[str, int]:
        return key, BOOK_DEPTH

    def _book_update(self, key: Any, t: _Books, m: Any, bids: dict[int, int], asks: dict[int, int],
                     db: dict[int, int], da: dict[int, int]) -> dict[str, Any] | None:
        """An ``update`` when the levels changed: ``seqId`` the market's update id (at least the
        last + 1), ``prevSeqId`` the last message's."""
        if not db and not da:
            return None
        prev = t.seq
        t.bids, t.asks = bids, asks
        t.seq = max(m.update_id, t.seq + 1)
        return self._book_msg(key, m, "update", db, da, t, prev)

    def housekeeping(self, now: float) -> None:
        """Nothing of OKX's own (disconnects are the server's)."""

    # ------------------------------------------------------------------------------------------
    # sizes and instruments
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _sz_out(market: str, qty: Decimal) -> Decimal:
        """A base quantity in OKX's units (contracts for SWAP)."""
        return qty / CT_VAL if market == "usdm" else qty

    def _sz_text(self, market: str, qty: Decimal) -> str:
        return _s(self._sz_out(market, qty))

    @staticmethod
    def _lot_sz(market: str, m: Any) -> Decimal:
        return Decimal(m.lot) / CT_VAL if market == "usdm" else Decimal(m.lot)

    def _inst(self, params: dict[str, str], inst_type: str | None = None, required: bool = True) -> tuple[str, Any]:
        """The (market, Market) of ``instId`` (of ``inst_type`` when given)."""
        iid = params.get("instId") or ""
        if not iid:
            if required:
                raise _param_error("instId", "required")
            return "", None
        parts = iid.split("-")
        market = "usdm" if len(parts) == 3 and parts[2] == "SWAP" else ("spot" if len(parts) == 2 else "")
        m = self.ex.markets.get((market, "".join(parts[:2]))) if market and parts[0] and parts[1] else None
        if m is None or (inst_type is not None and _MARKET_INST_TYPE[market] != inst_type):
            raise OkxError("51001", f"Instrument ID {iid[:40]} does not exist")
        return market, m

    @staticmethod
    def _inst_type(params: dict[str, str], required: bool) -> str | None:
        t = params.get("instType") or ""
        if not t:
            if required:
                raise _param_error("instType", "required")
            return None
        if t not in INST_TYPE_MARKET:
            raise _param_error("instType", f"must be SPOT or SWAP (served here), got {t[:16]!r}")
        return t

    # ------------------------------------------------------------------------------------------
    # the envelope, signatures, limits
    # ------------------------------------------------------------------------------------------
    def _ok_body(self, result: Any) -> dict[str, Any]:
        return {"code": "0", "msg": "", "data": result}

    def _error_body(self, e: FrontError) -> dict[str, Any]:
        return {"code": e.code, "msg": e.msg, "data": []}

    @staticmethod
    def _query(raw: str) -> dict[str, str]:
        return query_params(raw, _param_error)

    @staticmethod
    def _flat(data: Any, where: str) -> dict[str, str]:
        if not isinstance(data, dict):
            raise OkxError("51000", f"Parameter error: {where} must be a JSON object")
        return flat_params(data, _param_error)

    @classmethod
    def _body(cls, raw: str, batch: bool) -> Any:
        if not raw.strip():
            raise OkxError("51000", "Parameter error: the body is empty (a JSON object is expected)")
        try:
            data = _dec.decode(raw)
        except msgspec.DecodeError:
            raise OkxError("51000", "Parameter error: the body is not valid JSON") from None
        if batch:
            if not isinstance(data, list) or not 1 <= len(data) <= 20:
                raise OkxError("51000", "Parameter error: batch-orders takes a JSON array of 1 to 20 orders")
            return [cls._flat(d, f"order {i + 1}") for i, d in enumerate(data)]
        return cls._flat(data, "the body")

    def _auth(self, request: web.Request, method: str, raw_path: str, raw_body: str) -> Account:
        h = request.headers
        for name, code in (("OK-ACCESS-KEY", "50103"), ("OK-ACCESS-PASSPHRASE", "50104"),
                           ("OK-ACCESS-SIGN", "50106"), ("OK-ACCESS-TIMESTAMP", "50107")):
            if not h.get(name):
                raise OkxError(code, f"Request header {name} can not be empty.", 401)
        acct = self.ex.account_by_key.get(h["OK-ACCESS-KEY"])
        if acct is None:
            raise OkxError("50111", "Invalid OK-ACCESS-KEY", 401)
        assert acct.passphrase is not None
        if not secrets.compare_digest(h["OK-ACCESS-PASSPHRASE"].encode(), acct.passphrase.encode()):
            raise OkxError("50105", "Request header OK-ACCESS-PASSPHRASE incorrect.", 401)
        try:
            ts = okx_auth.parse_timestamp_iso(h["OK-ACCESS-TIMESTAMP"])
        except InvalidInputError:
            raise OkxError("50112", "Invalid OK-ACCESS-TIMESTAMP", 401) from None
        now = self.server_ms()
        if abs(now - ts) > okx_auth.MAX_AGE_MS:
            raise OkxError("50102", "Timestamp request expired", 401)
        try:
            ok = okx_auth.verify(Credentials(acct.api_key, acct.secret, acct.passphrase), method, h, raw_path,
                                 raw_body, now_ms=now)
        except InvalidInputError as e:
            raise OkxError("50113", f"Invalid Sign ({e})", 401) from None
        if not ok:
            raise OkxError("50113", "Invalid Sign", 401)
        return acct

    def _limit(self, acct: Account, method: str, path: str, params: Any) -> None:
        per_inst = path in ORDER_PATHS  # placing, canceling, amending, GET trade/order: per instrument
        limit = int(self.ex.rate_limits["okx_orders_2s" if per_inst or path in _TRADE_QUERIES else "okx_queries_2s"])
        window = int(time.time() // 2)
        insts = {str(p.get("instId", "")) for p in (params if isinstance(params, list) else [params])} \
            if per_inst else {""}
        over = False
        for iid in insts:
            over = count_in_window(self.windows, (acct.api_key, method, path, iid), window) > limit or over
        burst = self._bursting(acct.api_key)
        if over or burst:
            self.ex.count("50011")
            raise OkxError("50011", "Rate limit reached. Please refer to API documentation and throttle "
                                    "requests accordingly.", 429)

    def _private(self, method: str, path: str, fn: Any) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            t0 = time.perf_counter_ns()
            in_us = time.time_ns() // 1000
            try:
                raw_path = request.raw_path
                raw_body = (await request.text()) if method == "POST" else ""
                acct = self._auth(request, method, raw_path, raw_body)
                params = self._query(request.rel_url.raw_query_string) if method == "GET" else \
                    self._body(raw_body, path == "trade/batch-orders")
                self._limit(acct, method, path, params)
                data = fn(acct, params)
            except OkxError as e:
                return self._fail(e)
            body: dict[str, Any] = {"code": "0", "msg": "", "data": data}
            if method == "POST":  # the order endpoints: per-order sCode/sMsg
                failed = [d for d in data if d["sCode"] != "0"]
                if failed:
                    body["code"], body["msg"] = ("1", "All operations failed") if len(failed) == len(data) else \
                        ("2", "Bulk operation partially succeeded")
                    for d in failed:
                        self.ex.count(f"error{d['sCode']}")
                body |= {"inTime": str(in_us), "outTime": str(time.time_ns() // 1000)}
            if method == "POST" and path in ("trade/order", "trade/batch-orders"):
                refused = await self._ack_chaos(request, t0)
                if refused is not None:
                    return refused
            return answer(body)

        return handler

    # ------------------------------------------------------------------------------------------
    # public endpoints
    # ------------------------------------------------------------------------------------------
    def market_data(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        if path == "public/time":
            return [{"ts": str(self.server_ms())}]
        if path == "public/instruments":
            t = self._inst_type(params, required=True)
            assert t is not None
            market = INST_TYPE_MARKET[t]
            _, one = self._inst(params, t, required=False)
            found = [one] if one is not None else [mk for (k, _), mk in sorted(self.ex.markets.items()) if k == market]
            return [self._instrument(market, mk) for mk in found]
        market, m = self._inst(params)
        ms = str(self.server_ms())
        if path == "market/books":
            depth = _limit_param({"limit": params.get("sz", "")}, 1, BOOK_DEPTH)
            bids, asks = levels(m, depth)
            return [{"asks": self._rows(market, m, asks, False), "bids": self._rows(market, m, bids, True), "ts": ms,
                     "seqId": m.update_id}]
        if path == "market/trades":
            limit = _limit_param(params, 100, 500)
            return [{"instId": inst_id(market, m.symbol), "side": "sell" if bm else "buy",
                     "sz": self._sz_text(market, Decimal(m.qty(q))), "px": m.px(px), "source": "0",
                     "tradeId": str(tid), "ts": str(ts)} for tid, px, q, ts, bm in reversed(list(m.trades)[-limit:])]
        # market/ticker
        bid, ask = m.top()
        bq, aq = m.top_sizes()
        last = m.trades[-1] if m.trades else None
        last_px = m.px(last[1]) if last else (m.px(bid) if bid is not None else "")
        day, vol, quote_vol = self._day_volume(m, self.server_ms() - 86_400_000)
        first = m.px(day[0][1]) if day else last_px
        return [{"instType": _MARKET_INST_TYPE[market], "instId": inst_id(market, m.symbol), "last": last_px,
                 "lastSz": self._sz_text(market, Decimal(m.qty(last[2]))) if last else "0",
                 "askPx": m.px(ask) if ask is not None else "", "askSz": self._sz_text(market, Decimal(m.qty(aq))),
                 "bidPx": m.px(bid) if bid is not None else "", "bidSz": self._sz_text(market, Decimal(m.qty(bq))),
                 "open24h": first, "high24h": m.px(max(t[1] for t in day)) if day else last_px,
                 "low24h": m.px(min(t[1] for t in day)) if day else last_px,
                 "volCcy24h": _s(quote_vol) if market == "spot" else _s(vol),
                 "vol24h": _s(vol) if market == "spot" else _s(vol / CT_VAL), "sodUtc0": first, "sodUtc8": first,
                 "ts": ms}]

    def _instrument(self, market: str, m: Any) -> dict[str, Any]:
        base, quote = m.symbol[:-4], m.symbol[-4:]
        lot = _s(self._lot_sz(market, m))
        swap = market == "usdm"
        return {"alias": "", "auctionEndTime": "", "baseCcy": "" if swap else base, "category": "1",
                "ctMult": "1" if swap else "", "ctType": "linear" if swap else "", "ctVal": _s(CT_VAL) if swap else "",
                "ctValCcy": base if swap else "", "expTime": "", "instFamily": f"{base}-{quote}" if swap else "",
                "instId": inst_id(market, m.symbol), "instType": _MARKET_INST_TYPE[market],
                "lever": "125" if swap else "", "listTime": "1606468572000", "lotSz": lot, "maxIcebergSz": "9999999999",
                "maxLmtAmt": "20000000", "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "1000000",
                "maxStopSz": "1000000", "maxTriggerSz": "9999999999", "maxTwapSz": "9999999999", "minSz": lot,
                "optType": "", "quoteCcy": "" if swap else quote, "ruleType": "normal", "settleCcy": quote if swap else "",
                "state": "live", "stk": "", "tickSz": _s(Decimal(m.tick)), "uly": f"{base}-{quote}" if swap else "",
                "contTdSwTime": "", "futureSettlement": False, "instIdCode": 10458 if swap else 10000,
                "maxPlatOILmt": "", "openType": "", "posLmtAmt": "", "posLmtPct": "", "preMktSwTime": "",
                "tradeQuoteCcyList": [] if swap else [quote]}

    def _rows(self, market: str, m: Any, levels: dict[int, int], bids: bool) -> list[list[str]]:
        """Levels best first as OKX writes them: ``[px, sz, "0", number of orders]``."""
        return [[m.px(p), self._sz_text(market, Decimal(m.qty(q))), "0", "1" if q else "0"]
                for p, q in sorted(levels.items(), reverse=bids)]

    def _book_msg(self, market: str, m: Any, action: str, bids: dict[int, int], asks: dict[int, int], t: _Books,
                  prev: int) -> dict[str, Any]:
        if self.zero_checksum:
            cs = 0
        else:
            top_b = [(r[0], r[1]) for r in self._rows(market, m, dict(sorted(t.bids.items(), reverse=True)
                                                                       [:CHECKSUM_DEPTH]), True)]
            top_a = [(r[0], r[1]) for r in self._rows(market, m, dict(sorted(t.asks.items())[:CHECKSUM_DEPTH]), False)]
            cs = checksum(top_b, top_a)
        data = {"asks": self._rows(market, m, asks, False), "bids": self._rows(market, m, bids, True),
                "ts": str(self.server_ms()), "checksum": cs, "prevSeqId": prev, "seqId": t.seq}
        return {"arg": {"channel": "books", "instId": inst_id(market, m.symbol)}, "action": action, "data": [data]}

    # ------------------------------------------------------------------------------------------
    # orders
    # ------------------------------------------------------------------------------------------
    def _sz_in(self, market: str, m: Any, sz: Decimal, name: str = "sz") -> Decimal:
        """OKX's ``sz`` (contracts for SWAP) as a base quantity on the server's grid."""
        qty = sz * CT_VAL if market == "usdm" else sz
        if sz <= 0 or qty % m.lot:
            raise OrderError("51000", f"Parameter {name} error: must be a positive multiple of lotSz "
                                      f"{_s(self._lot_sz(market, m))}")
        return qty

    def _client_id(self, acct: Account, market: str, params: dict[str, str]) -> str:
        cid = params.get("clOrdId") or ""
        if not cid:
            return ""
        if len(cid) > 32 or not cid.isascii() or not cid.isalnum():
            raise OrderError("51000", "Parameter clOrdId error: at most 32 letters and digits")
        if cid in acct.by_client[market]:
            raise OrderError("51016", "Duplicated clOrdId")
        return cid

    def _place_one(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        market, m = self._inst(params)
        spot = market == "spot"
        td = params.get("tdMode")
        if td != ("cash" if spot else "cross"):
            raise OrderError("51000", f"Parameter tdMode error: {'cash' if spot else 'cross'} for "
                                      f"{_MARKET_INST_TYPE[market]} here, got {str(td)[:16]!r}")
        side = params.get("side")
        if side not in ("buy", "sell"):
            raise OrderError("51000", f"Parameter side error: buy or sell, got {str(side)[:16]!r}")
        ord_type = params.get("ordType") or ""
        if ord_type not in _ORD_TYPES:
            raise OrderError("51000", f"Parameter ordType error: one of {', '.join(_ORD_TYPES)}, got {ord_type[:16]!r}")
        otype, tif = _ORD_TYPES[ord_type]
        if params.get("posSide", "net") not in ("net", ""):
            raise OrderError("51000", "Parameter posSide error: net (one-way mode) only")
        reduce_only = params.get("reduceOnly", "false") == "true"
        if reduce_only and spot:
            raise OrderError("51000", "Parameter reduceOnly error: SWAP orders only")
        tag = params.get("tag") or ""
        if len(tag) > 16:
            raise OrderError("51000", "Parameter tag error: at most 16 characters")
        try:
            sz = _dec_param(params, "sz", True)
            px = _dec_param(params, "px", otype == "LIMIT")
        except OkxError as e:
            raise OrderError(e.code, e.msg) from None
        assert sz is not None
        if otype == "MARKET":
            px = None
        elif px is not None and (px <= 0 or px % m.tick):
            raise OrderError("51000", f"Parameter px error: must be a positive multiple of tickSz {_s(Decimal(m.tick))}")
        bid, ask = m.top()
        touch = ask if side == "buy" else bid
        tgt = params.get("tgtCcy") or ("quote_ccy" if spot and otype == "MARKET" and side == "buy" else "base_ccy")
        if tgt not in ("base_ccy", "quote_ccy") or (tgt == "quote_ccy" and not (spot and otype == "MARKET")):
            raise OrderError("51000", f"Parameter tgtCcy error: quote_ccy is for SPOT market orders, got {tgt[:16]!r}")
        quote_qty = ZERO
        if tgt == "quote_ccy":
            if touch is None:
                raise _insufficient(m.symbol[-4:])
            quote_qty = sz
            qty = (sz / Decimal(m.px(touch))).quantize(m.lot, rounding=ROUND_DOWN)
            if qty <= 0:
                raise OrderError("51000", "Parameter sz error: less than one lotSz at the best price")
        else:
            qty = self._sz_in(market, m, sz)
        cid = self._client_id(acct, market, params)
        ref = px if px is not None else (Decimal(m.px(touch)) if touch is not None else self.ex.mark(market, m.symbol))
        now = self.server_ms()
        o = Order(0, cid, m.symbol, market, side.upper(), otype, tif, qty, px or ZERO, ZERO, now,
                  reduce_only=reduce_only, quote_qty=quote_qty, update=now)
        self._hold(acct, o, ref, _insufficient,
                   OrderError("51169", "Order failed because you don't have any positions in this direction "
                                       "for this contract to reduce or close."),
                   OrderError("51008", "Order failed. Insufficient USDT margin in account"))
        o.id = self._next_id()
        self.extra[o.id] = {"tag": tag, "tgtCcy": params.get("tgtCcy") or "" if spot else ""}
        self._enter(acct, o)
        return {"ordId": str(o.id), "clOrdId": cid, "tag": tag, "ts": str(now), "sCode": "0", "sMsg": "Order placed"}

    def _one(self, params: dict[str, str], fn: Any, acct: Account) -> dict[str, Any]:
        try:
            return fn(acct, params)  # type: ignore[no-any-return]
        except (OrderError, OkxError) as e:
            return {"ordId": "", "clOrdId": params.get("clOrdId") or "", "tag": params.get("tag") or "",
                    "ts": str(self.server_ms()), "sCode": e.code, "sMsg": e.msg}

    def place(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        return [self._one(params, self._place_one, acct)]

    def batch_place(self, acct: Account, params: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [self._one(p, self._place_one, acct) for p in params]

    def _find(self, acct: Account, params: dict[str, str], missing: OrderError | OkxError, open_only: bool) -> Order:
        market, m = self._inst(params)
        oid, cid = params.get("ordId") or "", params.get("clOrdId") or ""
        if not oid and not cid:
            raise _param_error("ordId", "ordId or clOrdId is required")
        o = self._lookup(acct, market, oid, cid)
        if o is None or o.symbol != m.symbol or (open_only and not o.open):
            raise missing
        return o

    def _cancel_one(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(acct, params, OrderError("51400", "Order cancellation failed as the order has been filled, "
                                                         "canceled or does not exist."), open_only=True)
        self._cancel(acct, o)
        return {"ordId": str(o.id), "clOrdId": o.client_id, "ts": str(self.server_ms()), "sCode": "0", "sMsg": ""}

    def cancel_order(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        return [self._one(params, self._cancel_one, acct)]

    def _amend_one(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        o = self._find(acct, params, OrderError("51503", "Order modification failed as the order has been filled, "
                                                         "canceled or does not exist."), open_only=True)
        market = o.market
        m = self.ex.markets[(market, o.symbol)]
        new_sz = _dec_param(params, "newSz")
        new_px = _dec_param(params, "newPx")
        if new_sz is None and new_px is None:
            raise OrderError("51000", "Parameter newSz error: newSz or newPx is required")
        if o.type != "LIMIT" and new_px is not None:
            raise OrderError("51000", "Parameter newPx error: only a limit order's price can be amended")
        qty = self._sz_in(market, m, new_sz, "newSz") if new_sz is not None else o.qty
        price = new_px if new_px is not None else o.price
        if price <= 0 or price % m.tick:
            raise OrderError("51000", f"Parameter newPx error: must be a positive multiple of tickSz {_s(m.tick)}")
        if qty <= o.executed:
            raise OrderError("51000", "Parameter newSz error: must be more than the filled size (it includes it)")
        if market == "spot":
            self._relock(acct, o, qty, price, _insufficient)
        self._amending = (o.id, params.get("reqId") or "")  # its push carries amendResult 0 and the reqId
        try:
            self._amend(acct, o, m, qty, price)
        finally:
            self._amending = None
        return {"ordId": str(o.id), "clOrdId": o.client_id, "reqId": params.get("reqId") or "",
                "ts": str(self.server_ms()), "sCode": "0", "sMsg": ""}

    def amend_order(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        return [self._one(params, self._amend_one, acct)]

    # ------------------------------------------------------------------------------------------
    # queries
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _ord_type(o: Order) -> str:
        if o.type == "MARKET":
            return "market"
        return {"GTX": "post_only", "IOC": "ioc", "FOK": "fok"}.get(o.tif, "limit")

    def _order_row(self, acct: Account, o: Order, fill: Fill | None = None) -> dict[str, Any]:
        market = o.market
        spot = market == "spot"
        fills = self._fills_of(o)
        last = fill if fill is not None else (fills[-1] if fills else None)
        fee = sum((f.fee for f in fills), ZERO)
        extra = self.extra.get(o.id, {})
        quote_sz = spot and extra.get("tgtCcy", "") != "base_ccy" and o.quote_qty > 0
        cancel_source = ""
        if o.status == "CANCELED":
            cancel_source = "1"  # canceled by the user
        elif o.status in ("EXPIRED", "REJECTED"):
            cancel_source = "31" if o.tif == "GTX" else "14"  # post-only would take / IOC-FOK remainder
        pnl = sum((f.realized for f in fills), ZERO)
        return {"accFillSz": self._sz_text(market, o.executed), "algoClOrdId": "", "algoId": "",
                "attachAlgoClOrdId": "", "attachAlgoOrds": [], "avgPx": _s(o.avg_price) if o.executed else "",
                "cTime": str(o.time), "cancelSource": cancel_source, "cancelSourceReason": "", "category": "normal",
                "ccy": "", "clOrdId": o.client_id, "fee": _s(-fee), "feeCcy": o.symbol[-4:],
                "fillPx": _s(last.price) if last else "", "fillSz": self._sz_text(market, last.qty) if last else "0",
                "fillTime": str(last.time) if last else "", "instId": inst_id(market, o.symbol),
                "instType": _MARKET_INST_TYPE[market], "isTpLimit": "false",
                "lever": "" if spot else str(acct.position(o.symbol).leverage), "linkedAlgoOrd": {"algoId": ""},
                "ordId": str(o.id), "ordType": self._ord_type(o), "pnl": _s(pnl), "posSide": "" if spot else "net",
                "px": _s(o.price) if o.type == "LIMIT" else "", "pxType": "", "pxUsd": "", "pxVol": "",
                "quickMgnType": "", "rebate": "0", "rebateCcy": o.symbol[-4:],
                "reduceOnly": "true" if o.reduce_only else "false", "side": o.side.lower(), "slOrdPx": "",
                "slTriggerPx": "", "slTriggerPxType": "", "source": "", "state": _STATE[o.status], "stpId": "",
                "stpMode": "cancel_maker", "sz": _s(o.quote_qty) if quote_sz else self._sz_text(market, o.qty),
                "tag": extra.get("tag", ""), "tdMode": "cash" if spot else "cross",
                "tgtCcy": ("quote_ccy" if quote_sz else extra.get("tgtCcy", "")) if spot else "", "tpOrdPx": "",
                "tpTriggerPx": "", "tpTriggerPxType": "", "tradeId": str(last.id) if last else "",
                "uTime": str(o.update)}

    def get_order(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        o = self._find(acct, params, OkxError("51603", "Order does not exist"), open_only=False)
        return [self._order_row(acct, o)]

    def _orders(self, acct: Account, params: dict[str, str], open_only: bool) -> list[dict[str, Any]]:
        t = self._inst_type(params, required=not open_only)
        _, m = self._inst(params, t, required=False)
        markets = [INST_TYPE_MARKET[t]] if t else (["spot", "usdm"] if m is None else [m.kind])
        limit = _limit_param(params, 100, 100)
        ord_type = params.get("ordType") or ""
        state = params.get("state") or ""
        since = self.server_ms() - 7 * 86_400_000
        rows = [o for mk in markets for o in acct.orders[mk].values()
                if o.open == open_only and (m is None or (o.symbol == m.symbol and o.market == m.kind))
                and (not ord_type or self._ord_type(o) == ord_type) and (not state or _STATE[o.status] == state)
                and (open_only or o.update >= since)]
        rows.sort(key=lambda o: o.id, reverse=True)
        return [self._order_row(acct, o) for o in rows[:limit]]

    def orders_pending(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        """Open orders, newest first (instType, instId, ordType, state filters)."""
        return self._orders(acct, params, open_only=True)

    def orders_history(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        """Ended orders of the last 7 days, newest first (instType required)."""
        return self._orders(acct, params, open_only=False)

    def _fill_row(self, acct: Account, f: Fill) -> dict[str, Any]:
        o = acct.orders[f.market][f.order_id]
        rate = self._fee_rate(f)
        mark = _s(self.ex.mark(f.market, f.symbol))
        return {"instType": _MARKET_INST_TYPE[f.market], "instId": inst_id(f.market, f.symbol),
                "tradeId": str(f.id), "ordId": str(f.order_id), "clOrdId": o.client_id, "billId": str(f.id),
                "subType": "1" if f.side == "BUY" else "2", "tag": self.extra.get(o.id, {}).get("tag", ""),
                "fillPx": _s(f.price), "fillSz": self._sz_text(f.market, f.qty), "fillIdxPx": mark,
                "fillPnl": _s(f.realized), "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "",
                "fillMarkPx": "" if f.market == "spot" else mark, "side": f.side.lower(),
                "posSide": "" if f.market == "spot" else "net", "execType": "M" if f.maker else "T",
                "feeCcy": f.fee_asset, "fee": _s(-f.fee), "feeRate": _s(-rate), "ts": str(f.time),
                "fillTime": str(f.time)}

    def fills(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        """The account's trades, newest first (instType, instId, ordId filters; at most 100)."""
        t = self._inst_type(params, required=False)
        _, m = self._inst(params, t, required=False)
        limit = _limit_param(params, 100, 100)
        oid = params.get("ordId") or ""
        markets = [INST_TYPE_MARKET[t]] if t else (["spot", "usdm"] if m is None else [m.kind])
        rows = [f for mk in markets for f in acct.fills[mk]
                if (m is None or f.symbol == m.symbol) and (not oid or str(f.order_id) == oid)]
        rows.sort(key=lambda f: f.id, reverse=True)
        return [self._fill_row(acct, f) for f in rows[:limit]]

    def _balance(self, acct: Account, coins: list[str] | None = None) -> dict[str, Any]:
        """The trading account: per coin the spot balance plus (USDT) what the swap wallet gained or
        lost since the start (realized PnL, fees); USDT's margin in use is frozen."""
        upnl, pos_im, ord_im = self._margins(acct)
        now = str(self.server_ms())
        details, total = [], ZERO
        for c, free, locked, swap in self._coins(acct, coins):
            usdt = c == "USDT"
            cash = free + locked + swap
            frozen = locked + (pos_im + ord_im if usdt else ZERO)
            eq = cash + (upnl if usdt else ZERO)
            avail = cash - frozen
            price = self._coin_price(c)
            total += eq * price
            details.append({
                "accAvgPx": "", "availBal": _s(avail), "availEq": _s(avail + (upnl if usdt else ZERO)),
                "borrowFroz": "", "cashBal": _s(cash), "ccy": c, "clSpotInUseAmt": "", "coinUsdPrice": _s(price),
                "colBorrAutoConversion": "0", "collateralEnabled": False, "collateralRestrict": False,
                "crossLiab": "", "disEq": _s(eq * price), "eq": _s(eq), "eqUsd": _s(eq * price), "fixedBal": "0",
                "frozenBal": _s(frozen), "imr": _s(pos_im if usdt else ZERO), "interest": "", "isoEq": "0",
                "isoLiab": "", "isoUpl": "0", "liab": "", "maxLoan": "", "maxSpotInUseAmt": "", "mgnRatio": "",
                "mmr": _s(pos_im / 10 if usdt else ZERO), "notionalLever": "0",
                "openAvgPx": "", "ordFrozen": _s(locked + (ord_im if usdt else ZERO)), "rewardBal": "0",
                "smtSyncEq": "0", "spotBal": "", "spotCopyTradingEq": "0", "spotInUseAmt": "", "spotIsoBal": "0",
                "spotUpl": "", "spotUplRatio": "", "stgyEq": "0", "totalPnl": "", "totalPnlRatio": "", "twap": "0",
                "uTime": now, "upl": _s(upnl if usdt else ZERO), "uplLiab": ""})
        return {"adjEq": "", "availEq": "", "borrowFroz": "", "details": details, "imr": _s(pos_im), "isoEq": "0",
                "mgnRatio": "", "mmr": _s(pos_im / 10), "notionalUsd": "", "notionalUsdForBorrow": "",
                "notionalUsdForFutures": "", "notionalUsdForOption": "", "notionalUsdForSwap": "",
                "ordFroz": _s(ord_im), "totalEq": _s(total), "uTime": now, "upl": _s(upnl)}

    def balance(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        coins = [c for c in (params.get("ccy") or "").upper().split(",") if c]
        return [self._balance(acct, coins or None)]

    def _position_row(self, acct: Account, symbol: str) -> dict[str, Any]:
        p, mark, size, im = self._position_at_mark(acct, symbol)
        upl = p.amt * (mark - p.entry)
        base = symbol[:-4]
        m = self.ex.markets[("usdm", symbol)]
        last = m.px(m.trades[-1][1]) if m.trades else _s(mark)
        ms = str(p.update or self.server_ms())
        return {"instId": inst_id("usdm", symbol), "instType": "SWAP", "mgnMode": "cross", "posId": str(p.update),
                "posSide": "net", "pos": _s(p.amt / CT_VAL), "baseBal": "", "ccy": "USDT", "fee": "0",
                "lever": str(p.leverage), "last": last, "markPx": _s(mark), "liqPx": "", "mmr": _s(im / 10),
                "interest": "", "tradeId": "", "notionalUsd": _s(size * mark), "avgPx": _s(p.entry), "upl": _s(upl),
                "uplRatio": _s((upl / im).quantize(Decimal("1E-8"))) if im else "0", "uTime": ms, "margin": "", "mgnRatio": "", "adl": "1",
                "cTime": ms, "realizedPnl": _s(p.realized), "uplLastPx": _s(p.amt * (Decimal(last) - p.entry)),
                "uplRatioLastPx": "0", "availPos": "", "bePx": _s(p.entry), "fundingFee": "0", "idxPx": _s(mark),
                "liqPenalty": "0", "optVal": "", "pendingCloseOrdLiabVal": "", "pnl": _s(p.realized), "posCcy": "",
                "quoteBal": "", "quoteBorrowed": "", "quoteInterest": "", "spotInUseAmt": "", "spotInUseCcy": "",
                "usdPx": "", "imr": _s(im), "deltaBS": "", "gammaBS": "", "thetaBS": "", "vegaBS": "",
                "closeOrderAlgo": [], "bizRefId": "", "bizRefType": "", "instFamily": f"{base}-USDT"}

    def _open_positions(self, acct: Account, symbol: str | None = None) -> list[dict[str, Any]]:
        return [self._position_row(acct, s) for s, p in sorted(acct.positions.items())
                if p.amt and (symbol is None or s == symbol)]

    def positions(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        """Open SWAP positions (instType SWAP or none; instId filter)."""
        t = params.get("instType") or ""
        if t not in ("", "SWAP"):
            raise _param_error("instType", f"SWAP (the positions served here), got {t[:16]!r}")
        _, m = self._inst(params, "SWAP", required=False)
        return self._open_positions(acct, m.symbol if m is not None else None)

    # ------------------------------------------------------------------------------------------
    # reports: the inherited bookkeeping calls these
    # ------------------------------------------------------------------------------------------
    def _push(self, acct: Account, channel: str, inst_type: str | None, data: list[dict[str, Any]]) -> None:
        for conn, (a, subs) in list(self.private.items()):
            if a is not acct:
                continue
            for arg in subs:
                if arg["channel"] != channel:
                    continue
                if inst_type is not None and arg.get("instType", "ANY") not in ("ANY", inst_type):
                    continue
                rows = data
                if arg.get("instId"):
                    rows = [d for d in data if d.get("instId") == arg["instId"]]
                    if not rows:
                        continue
                conn.send({"arg": arg | {"uid": self.uid[acct.api_key]}, "data": rows}, event=True)

    #: (order id, reqId) of the amendment being pushed (its push says amendResult 0)
    _amending: tuple[int, str] | None = None

    def _emit_order(self, acct: Account, o: Order, fill: Fill | None = None) -> None:
        row = self._order_row(acct, o, fill)
        row["execType"] = ("M" if fill.maker else "T") if fill is not None else ""
        amended = self._amending is not None and self._amending[0] == o.id
        row |= {"amendResult": "0" if amended else "", "reqId": self._amending[1] if amended and self._amending else "",
                "amendSource": "", "code": "0", "msg": ""}
        if fill is None:  # the push's fill fields are this push's trade
            row |= {"fillPx": "", "fillSz": "0", "fillTime": "", "tradeId": ""}
        self._push(acct, "orders", _MARKET_INST_TYPE[o.market], [row])

    def _emit_balances(self, acct: Account) -> None:
        self._push(acct, "account", None, [self._balance(acct)])

    def _emit_trade(self, acct: Account, o: Order, fill: Fill | None) -> None:
        self._emit_order(acct, o, fill)

    def _emit_position(self, acct: Account, symbol: str) -> None:
        p = acct.position(symbol)
        # a position that closed is pushed once more with pos "0" (OKX's rule)
        self._push(acct, "positions", "SWAP", [self._position_row(acct, symbol)] if p.amt or p.update else [])

    # ------------------------------------------------------------------------------------------
    # WebSocket
    # ------------------------------------------------------------------------------------------
    def _format_conn_id(self, seq: int) -> str:
        return f"{secrets.token_hex(4)}{seq:x}"

    def _subscribe_public(self, conn: Connection, arg: dict[str, str]) -> None:
        market, m = self._inst(arg)
        if arg["channel"] == "trades":
            self.trade_subs[market].add(conn)
            return
        t = self._join_book(conn, market, m, lambda mk: _Books(seq=mk.update_id))
        conn.send(self._book_msg(market, m, "snapshot", t.bids, t.asks, t, -1), event=True)

    def _unsubscribe_public(self, conn: Connection, arg: dict[str, str]) -> None:
        market, _ = self._inst(arg)
        if arg["channel"] == "trades":
            self.trade_subs[market].discard(conn)
            return
        self._leave_book(conn, market)

    @staticmethod
    def _error(conn_id: str, code: str, msg: str) -> dict[str, Any]:
        return {"event": "error", "code": code, "msg": msg, "connId": conn_id}

    async def _ws_text(self, ws: web.WebSocketResponse, data: str) -> bool:
        """OKX's text ``ping``: answered ``pong``."""
        if data != "ping":
            return False
        await ws.send_str("pong")
        return True

    def _ws_bad_json(self, conn_id: str, data: str) -> dict[str, Any]:
        return self._error(conn_id, "60012", f"Invalid request: {str(data)[:64]}")

    def _valid_arg(self, arg: Any, private: bool) -> dict[str, str] | None:
        if not isinstance(arg, dict) or not all(isinstance(v, str) for v in arg.values()):
            return None
        ch = arg.get("channel")
        if private:
            if ch == "orders" and arg.get("instType") in ("ANY", "SPOT", "SWAP"):
                ok = not arg.get("instId") or self._known(arg, arg["instType"])
            elif ch == "positions" and arg.get("instType") in ("ANY", "SWAP"):
                ok = not arg.get("instId") or self._known(arg, "SWAP")
            else:
                ok = ch == "account"
        else:
            ok = ch in ("books", "trades") and self._known(arg, None)
        return dict(arg) if ok else None

    def _known(self, arg: dict[str, str], inst_type: str | None) -> bool:
        try:
            self._inst(arg, None if inst_type in (None, "ANY") else inst_type)
        except OkxError:
            return False
        return True

    def _ws_op(self, conn: Connection, conn_id: str, scope: str, private: bool, req: dict[str, Any]) -> None:
        op, args = req.get("op"), req.get("args")
        extra = {"id": str(req["id"])} if isinstance(req.get("id"), str) else {}
        if op == "login" and private:
            conn.send({**extra, **self._ws_login(conn, req), "connId": conn_id})
            return
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            conn.send({**extra, **self._error(conn_id, "60012", f"Invalid request: op {str(op)[:32]!r} with args")})
            return
        if private and conn not in self.private:
            conn.send({**extra, **self._error(conn_id, "60011", "Please log in")})
            return
        for raw in args:
            arg = self._valid_arg(raw, private)
            if arg is None:
                conn.send({**extra, **self._error(conn_id, "60018", f"Wrong URL or channel:{_enc.encode(raw).decode()[:80]}"
                                                                    " doesn't exist. Please use the correct URL, "
                                                                    "channel and parameters referring to API document.")})
                continue
            conn.send({**extra, "event": op, "arg": arg, "connId": conn_id})
            if private:
                acct, subs = self.private[conn]
                if op == "subscribe":
                    if arg not in subs:
                        subs.append(arg)
                    if arg["channel"] == "account":  # the first push: the current state
                        conn.send({"arg": arg | {"uid": self.uid[acct.api_key]}, "data": [self._balance(acct)]},
                                  event=True)
                    elif arg["channel"] == "positions":
                        rows = self._open_positions(acct)
                        if arg.get("instId"):
                            rows = [r for r in rows if r["instId"] == arg["instId"]]
                        conn.send({"arg": arg | {"uid": self.uid[acct.api_key]}, "data": rows}, event=True)
                elif arg in subs:
                    subs.remove(arg)
            elif op == "subscribe":
                self._subscribe_public(conn, arg)
            else:
                self._unsubscribe_public(conn, arg)

    def _ws_login(self, conn: Connection, req: dict[str, Any]) -> dict[str, Any]:
        args = req.get("args")
        arg = args[0] if isinstance(args, list) and len(args) == 1 and isinstance(args[0], dict) else {}
        acct = self.ex.account_by_key.get(str(arg.get("apiKey", "")))
        if acct is None:
            return self._error("", "60005", "Invalid apiKey")
        assert acct.passphrase is not None
        if not secrets.compare_digest(str(arg.get("passphrase", "")).encode(), acct.passphrase.encode()):
            return self._error("", "60024", "Wrong passphrase")
        now_s = self.server_ms() // 1000
        ts = str(arg.get("timestamp", ""))
        if ts.isdigit() and abs(now_s - int(ts)) > okx_auth.WS_MAX_AGE_S:
            return self._error("", "60006", "Timestamp request expired")
        try:
            ok = okx_auth.verify_ws_login(Credentials(acct.api_key, acct.secret, acct.passphrase), req, now_s=now_s)
        except InvalidInputError as e:
            return self._error("", "60009", f"Login failed. {e}")
        if not ok:
            return self._error("", "60007", "Invalid sign")
        self.private[conn] = (acct, [])
        return {"event": "login", "code": "0", "msg": ""}
