"""What the Bybit v5 and OKX v5 fronts of the local exchange share.

:class:`StreamFront` sits between :class:`~trader.exchange.ledger.Ledger` and the two fronts
(:class:`~trader.exchange.bybit.BybitFront`, :class:`~trader.exchange.okx.OkxFront`). It holds the
logic that is the same for both and leaves each venue's protocol to its own module:

- WebSocket bookkeeping: connection ids (the format is the venue's), the read loop (JSON objects
  to the venue's ``_ws_op``; anything else to its ``_ws_bad_json``), dropping a connection from
  every book stream, trade subscription and private session, joining and leaving a book stream;
- the book streams: the levels a stream last sent, the per-level difference on every tick (a level
  that left is quantity 0) and the fan-out; what a change is sent as, and how it is numbered
  (Bybit's ``u``, OKX's ``seqId``/``prevSeqId``), is the venue's ``_book_update``;
- trades to the trade subscribers (the row is the venue's ``_trade_msg``);
- the private reports: the ledger's hooks mapped onto four venue hooks (``_emit_order``,
  ``_emit_trade``, ``_emit_balances``, ``_emit_position``);
- fixed-window rate counting and the chaos ``burst429`` run, the order-ack chaos;
- the app wiring (public, private and WebSocket routes from the venue's tables) and the public
  endpoints' handler (the venue's IP check, ``market_data`` and envelope), error answers;
- request parsing (query strings, flat JSON bodies, decimal parameters) with the venue's error;
- the unified account's per-coin balances, margins, positions at the mark, 24 h volumes;
- order entry and amendment against the accounts (spot locks, the reduce-only and margin checks),
  with the venue's errors.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qsl

import msgspec
from aiohttp import WSMsgType, web

from trader.exchange.accounts import ZERO, Account, Fill, Order, Position
from trader.exchange.ledger import Ledger

if TYPE_CHECKING:
    from trader.exchange.server import Connection, Exchange

__all__ = ["BookStream", "FrontError", "ParamError", "StreamFront", "answer", "count_in_window", "dec_param",
           "flat_params", "level_diff", "levels", "query_params"]

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()

#: The venue's parameter error: ``(name, what is wrong) -> the exception to raise``.
ParamError = Callable[[str, str], Exception]


class FrontError(Exception):
    """A request-level error answer: the venue's ``code`` and ``msg``, and the HTTP ``status``."""

    def __init__(self, code: Any, msg: str, status: int = 200) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status = code, msg, status


# ------------------------------------------------------------------------------------------------
# request parsing and answers
# ------------------------------------------------------------------------------------------------
def dec_param(params: dict[str, str], name: str, required: bool, err: ParamError) -> Decimal | None:
    """``params[name]`` as a finite Decimal; None when absent or empty (``err`` when ``required``)."""
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise err(name, "required")
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise err(name, f"must be a number, got {v[:32]!r}") from None
    if not d.is_finite():
        raise err(name, f"must be a finite number, got {v[:32]!r}")
    return d


def query_params(raw: str, err: ParamError) -> dict[str, str]:
    """A raw query string as a dict; a name sent twice is ``err``."""
    params: dict[str, str] = {}
    for k, v in parse_qsl(raw, keep_blank_values=True):
        if k in params:
            raise err(k, "sent twice")
        params[k] = v
    return params


def flat_params(data: dict[Any, Any], err: ParamError) -> dict[str, str]:
    """A JSON object's values as strings (booleans ``true``/``false``, null ``""``); a nested value is ``err``."""
    out: dict[str, str] = {}
    for k, v in data.items():
        if isinstance(v, (dict, list)):
            raise err(str(k), "must be a string, number or boolean")
        out[str(k)] = str(v).lower() if isinstance(v, bool) else ("" if v is None else str(v))
    return out


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(body=_enc.encode(body), status=status, headers=headers, content_type="application/json")


def count_in_window(table: dict[Any, tuple[int, int]], key: Any, window: int) -> int:
    """Count one request of ``key`` in fixed window ``window``; the count so far in that window."""
    w, n = table.get(key, (window, 0))
    n = n + 1 if w == window else 1
    table[key] = (window, n)
    return n


# ------------------------------------------------------------------------------------------------
# book streams
# ------------------------------------------------------------------------------------------------
def levels(m: Any, depth: int) -> tuple[dict[int, int], dict[int, int]]:
    """The market's top ``depth`` levels a side (ticks -> lots)."""
    return (dict(sorted(m.bids.items(), reverse=True)[:depth]), dict(sorted(m.asks.items())[:depth]))


def level_diff(old: dict[int, int], new: dict[int, int]) -> dict[int, int]:
    """The levels of ``new`` that differ from ``old``, and those that left it (quantity 0)."""
    return {p: q for p, q in new.items() if old.get(p) != q} | {p: 0 for p in old if p not in new}


class BookStream:
    """One book stream's state: its subscribers and the levels last sent (the venue adds its counters)."""

    __slots__ = ("subs", "bids", "asks")

    def __init__(self) -> None:
        self.subs: set[Connection] = set()
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}


B = TypeVar("B", bound=BookStream)
S = TypeVar("S")


class StreamFront(Ledger, Generic[B, S]):
    """A front with book and trade streams and private sessions (``B``: its book stream state, ``S``:
    a private session's subscriptions)."""

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex)
        self.book_streams: dict[Any, B] = {}
        self.trade_subs: dict[str, set[Connection]] = {"spot": set(), "usdm": set()}
        #: private connections: the account and its subscriptions
        self.private: dict[Connection, tuple[Account, S]] = {}
        self.windows: dict[tuple[str, ...], tuple[int, int]] = {}
        self.bursts: dict[str, int] = {}  # api key -> rate-limit answers left of a chaos burst
        self.fill_by_id: dict[int, Fill] = {}
        self.usdm_start = {a.api_key: dict(a.wallet) for a in ex.accounts}
        self.conn_seq = 0

    # ------------------------------------------------------------------------------------------
    # the venue's protocol
    # ------------------------------------------------------------------------------------------
    @abstractmethod
    def _book_scope(self, key: Any) -> tuple[str, int]:
        """The (market, depth) of book stream ``key``."""

    @abstractmethod
    def _book_update(self, key: Any, t: B, m: Any, bids: dict[int, int], asks: dict[int, int],
                     db: dict[int, int], da: dict[int, int]) -> dict[str, Any] | None:
        """A tick: the stream's new levels and their differences; the message to send (None: nothing)."""

    @abstractmethod
    def _trade_msg(self, market: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A trade (the market's Binance-shaped ``@trade`` payload) in the venue's message."""

    @abstractmethod
    def _format_conn_id(self, seq: int) -> str:
        """The venue's id of the ``seq``-th connection."""

    @abstractmethod
    def _ws_bad_json(self, conn_id: str, data: str) -> dict[str, Any]:
        """The answer to a WebSocket message that is not a JSON object."""

    @abstractmethod
    def _ws_op(self, conn: Connection, conn_id: str, scope: str, private: bool, req: dict[str, Any]) -> None:
        """One request (a JSON object) on a connection."""

    @abstractmethod
    def _emit_order(self, acct: Account, o: Order) -> None:
        """Push an order's state."""

    @abstractmethod
    def _emit_trade(self, acct: Account, o: Order, fill: Fill | None) -> None:
        """Push an order that changed with ``fill`` (None: no trade)."""

    @abstractmethod
    def _emit_balances(self, acct: Account) -> None:
        """Push the account's balances."""

    @abstractmethod
    def _emit_position(self, acct: Account, symbol: str) -> None:
        """Push a linear position."""

    async def _ws_text(self, ws: web.WebSocketResponse, data: str) -> bool:
        """A text message the venue answers before JSON decoding (True: answered)."""
        return False

    def _ws_scope(self, request: web.Request) -> tuple[str, str]:
        """A WebSocket path's scope for ``_ws_op`` and the server market of its connection."""
        return "", ""

    # ------------------------------------------------------------------------------------------
    # app wiring and the server's hooks
    # ------------------------------------------------------------------------------------------
    def _wire(self, app: web.Application, public_prefix: str, public: tuple[str, ...], private_prefix: str,
              private: dict[tuple[str, str], Any], ws_public: str, ws_private: str) -> None:
        """The routes: GET ``{public_prefix}{name}`` for each public name, ``{private_prefix}{path}``
        for each private (method, path) -> handler, and the two WebSocket paths."""
        r = app.router
        for name in public:
            r.add_get(f"{public_prefix}{name}", self._public_route(name))
        for (method, path), fn in private.items():
            r.add_route(method, f"{private_prefix}{path}", self._private(method, path, fn))
        r.add_get(ws_public, self.public_ws)
        r.add_get(ws_private, self.private_ws)

    def _public_route(self, name: str) -> Any:
        """The handler of public endpoint ``name``: the venue's IP check, the query, its
        ``market_data``, answered in its envelope."""
        async def handler(request: web.Request) -> web.Response:
            try:
                self._check_ip(request)
                result = self.market_data(name, self._query(request.rel_url.raw_query_string))
            except FrontError as e:
                return self._fail(e)
            return answer(self._ok_body(result))

        return handler

    def _fail(self, e: FrontError, headers: dict[str, str] | None = None) -> web.Response:
        """An error answer (counted by its code)."""
        self.ex.count(f"error{e.code}")
        return answer(self._error_body(e), e.status, headers)

    def _check_ip(self, request: web.Request) -> None:
        """The venue's per-IP limit (none unless it has one)."""

    @staticmethod
    @abstractmethod
    def _query(raw: str) -> dict[str, str]:
        """A query string's parameters (the venue's error for a name sent twice)."""

    @abstractmethod
    def market_data(self, name: str, params: dict[str, str]) -> Any:
        """Public endpoint ``name``'s result."""

    @abstractmethod
    def _ok_body(self, result: Any) -> dict[str, Any]:
        """A result in the venue's envelope."""

    @abstractmethod
    def _error_body(self, e: FrontError) -> dict[str, Any]:
        """An error in the venue's envelope."""

    @abstractmethod
    def _private(self, method: str, path: str, fn: Any) -> Any:
        """The handler of private endpoint ``path`` (``fn(acct, params)`` gives its result)."""

    def on_market(self, market: str, stream: str, payload: dict[str, Any]) -> None:
        """The market's trades to its trade subscribers (the book goes out from :meth:`on_tick`)."""
        subs = self.trade_subs.get(market)
        if not subs or not stream.endswith("@trade"):
            return
        msg = self._trade_msg(market, payload)
        for conn in list(subs):
            conn.send(msg, event=True)

    def on_tick(self, n: int) -> None:
        """Every 100 ms: each book stream's changed levels, as the venue says them."""
        for key, t in list(self.book_streams.items()):
            if not t.subs:
                continue
            market, depth = self._book_scope(key)
            m = self.ex.markets[(market, self.ex.symbol)]
            bids, asks = levels(m, depth)
            msg = self._book_update(key, t, m, bids, asks, level_diff(t.bids, bids), level_diff(t.asks, asks))
            if msg is not None:
                for conn in list(t.subs):
                    conn.send(msg, event=True, depth=True)

    def on_closed(self, acct: Account, o: Order, status: str) -> None:
        self._emit_order(acct, o)
        if o.market == "spot":
            self._emit_balances(acct)

    # ------------------------------------------------------------------------------------------
    # the ledger's report hooks
    # ------------------------------------------------------------------------------------------
    def _emit_fill(self, acct: Account, o: Order, fill: Fill | None) -> None:
        if fill is not None:
            self.fill_by_id[fill.id] = fill
        self._emit_trade(acct, o, fill)

    def _emit_spot_report(self, acct: Account, o: Order, x: str, fill: Fill | None = None, reason: str = "NONE") -> None:
        self._emit_fill(acct, o, fill)

    def _emit_spot_position(self, acct: Account, assets: list[str]) -> None:
        self._emit_balances(acct)

    def _emit_fut_update(self, acct: Account, o: Order, x: str, fill: Fill | None = None) -> None:
        self._emit_fill(acct, o, fill)

    def _emit_algo_update(self, acct: Account, o: Order, status: str) -> None:
        self._emit_order(acct, o)

    def _emit_fut_account(self, acct: Account, symbol: str, reason: str = "ORDER") -> None:
        self._emit_position(acct, symbol)
        self._emit_balances(acct)

    def _fills_of(self, o: Order) -> list[Fill]:
        return [self.fill_by_id[i] for i in o.fills if i in self.fill_by_id]

    def _fee_rate(self, f: Fill) -> Decimal:
        """The fill's fee rate (maker or taker), as a fraction."""
        maker, taker = self.ex.fees[f.market]
        return (maker if f.maker else taker) / Decimal(10_000)

    def _coin_price(self, coin: str) -> Decimal:
        """A coin's USDT price: 1 for USDT and USDC, the spot mark of ``{coin}USDT``, else 0."""
        if coin in ("USDT", "USDC"):
            return Decimal(1)
        return self.ex.mark("spot", f"{coin}USDT") if ("spot", f"{coin}USDT") in self.ex.markets else ZERO

    def _margins(self, acct: Account) -> tuple[Decimal, Decimal, Decimal]:
        """The linear wallet's unrealized PnL, position margin and open-order margin."""
        return self.ex.upnl(acct), self.ex.position_margin(acct), self.ex.order_margin(acct)

    def _coins(self, acct: Account, coins: list[str] | None) -> Iterator[tuple[str, Decimal, Decimal, Decimal]]:
        """Per coin, sorted (only ``coins`` when given): the spot ``free`` and ``locked`` and what the
        linear wallet gained or lost since the start (realized PnL, fees)."""
        start = self.usdm_start.get(acct.api_key, {})
        for c in sorted(set(acct.free) | set(acct.locked)):
            if coins and c not in coins:
                continue
            yield c, acct.free.get(c, ZERO), acct.locked.get(c, ZERO), acct.wallet.get(c, ZERO) - start.get(c, ZERO)

    def _position_at_mark(self, acct: Account, symbol: str) -> tuple[Position, Decimal, Decimal, Decimal]:
        """A linear position, its mark price, its size and its initial margin at the mark."""
        p = acct.position(symbol)
        mark = self.ex.mark("usdm", symbol)
        size = abs(p.amt)
        return p, mark, size, size * mark / p.leverage

    @staticmethod
    def _day_volume(m: Any, since_ms: int) -> tuple[list[Any], Decimal, Decimal]:
        """The market's trades since ``since_ms``, their base volume and their quote volume."""
        day = [t for t in m.trades if t[3] >= since_ms]
        vol = sum((Decimal(m.qty(t[2])) for t in day), ZERO)
        quote_vol = sum((Decimal(m.px(t[1])) * Decimal(m.qty(t[2])) for t in day), ZERO)
        return day, vol, quote_vol

    # ------------------------------------------------------------------------------------------
    # rate limits and chaos
    # ------------------------------------------------------------------------------------------
    def _bursting(self, api_key: str) -> bool:
        """Whether a chaos ``burst429`` run answers this request (a new run starts at random)."""
        burst = self.bursts.get(api_key, 0)
        if burst:
            self.bursts[api_key] = burst - 1
            return True
        if self.ex.chaos.roll("burst429"):
            self.bursts[api_key] = int(self.ex.chaos["burst_len"]) - 1
            return True
        return False

    async def _ack_chaos(self, request: web.Request, t0: int, headers: dict[str, str] | None = None) -> web.Response | None:
        """An order placement's processing time, then chaos on its ack: a delay, a 503 (returned),
        or a timeout (the connection closes)."""
        self.ex.order_processing_ns.append(time.perf_counter_ns() - t0)
        chaos = self.ex.chaos
        if chaos.roll("delay_ack"):
            await asyncio.sleep(float(chaos["delay_ms"]))
        if chaos.roll("ack_5xx"):
            return web.Response(text="<html><body>503 Service Temporarily Unavailable</body></html>",
                                status=503, headers=headers, content_type="text/html")
        if chaos.roll("timeout"):
            await asyncio.sleep(float(chaos["timeout_s"]))
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        return None

    # ------------------------------------------------------------------------------------------
    # orders against the accounts
    # ------------------------------------------------------------------------------------------
    def _spot_need(self, o: Order, price: Decimal, left: Decimal) -> Decimal:
        """What a spot order locks for ``left`` more: a buy its quote at ``price`` plus the taker fee."""
        if o.side == "BUY":
            return price * left * (1 + self.ex.fees["spot"][1] / Decimal(10_000))
        return left

    def _hold(self, acct: Account, o: Order, ref: Decimal, insufficient: Callable[[str], Exception],
              no_position: Exception, no_margin: Exception) -> None:
        """Before a new order goes in: spot, what it locks (a buy at ``ref``; ``insufficient(asset)``
        when the account has less free); linear, the reduce-only rule and the margin check."""
        if o.market == "spot":
            base, quote = o.symbol[:-4], o.symbol[-4:]
            if o.side == "BUY":
                o.lock_asset, o.lock_price = quote, ref
            else:
                o.lock_asset = base
            need = self._spot_need(o, ref, o.qty)
            if acct.free.get(o.lock_asset, ZERO) < need:
                raise insufficient(o.lock_asset)
            o.lock_left = need
        else:
            p = acct.position(o.symbol)
            if o.reduce_only and (p.amt == 0 or (p.amt > 0) == (o.side == "BUY")):
                raise no_position
            if self.ex.margin_short(acct, o):
                raise no_margin

    def _enter(self, acct: Account, o: Order) -> None:
        """A checked new order (id given) into the account, its report, and to the matcher."""
        market = o.market
        if market == "spot":
            acct.lock(o.lock_asset, o.lock_left)
        acct.orders[market][o.id] = o
        if o.client_id:
            acct.by_client[market][o.client_id] = o.id
        self._emit_order(acct, o)
        mt = self._matcher(acct, market, o.symbol)
        mt.place(self._request(o, market), o.id)
        self.ex.settle(acct, market, mt)
        self.ex.count("orders_placed")

    @staticmethod
    def _lookup(acct: Account, market: str, oid: str, cid: str) -> Order | None:
        """An order by its id (and client id, when both are given) or by its client id."""
        if oid:
            o = acct.orders[market].get(int(oid)) if oid.isdigit() else None
            return None if o is not None and cid and o.client_id != cid else o
        found = acct.by_client[market].get(cid) if cid else None
        return acct.orders[market].get(found) if found is not None else None

    def _relock(self, acct: Account, o: Order, qty: Decimal, price: Decimal,
                insufficient: Callable[[str], Exception]) -> None:
        """A spot order amended to ``qty`` at ``price``: lock more or unlock what it no longer needs."""
        need = self._spot_need(o, price, qty - o.executed)
        if need > o.lock_left and acct.free.get(o.lock_asset, ZERO) < need - o.lock_left:
            raise insufficient(o.lock_asset)
        if need >= o.lock_left:
            acct.lock(o.lock_asset, need - o.lock_left)
        else:
            acct.unlock(o.lock_asset, o.lock_left - need)
        o.lock_left = need
        if o.side == "BUY":
            o.lock_price = price

    def _amend(self, acct: Account, o: Order, m: Any, qty: Decimal, price: Decimal) -> None:
        """A checked amendment at the matcher, its report and its settlement."""
        mt = self._matcher(acct, o.market, o.symbol)
        o.qty, o.price, o.update = qty, price, self.server_ms()
        mt.amend(o.id, m.qty(m.lots(str(qty))), m.px(m.ticks(str(price))))
        self._emit_order(acct, o)
        self.ex.settle(acct, o.market, mt)
        self.ex.count("orders_modified")

    # ------------------------------------------------------------------------------------------
    # WebSocket
    # ------------------------------------------------------------------------------------------
    def _conn_id(self) -> str:
        self.conn_seq += 1
        return self._format_conn_id(self.conn_seq)

    def _drop(self, conn: Connection) -> None:
        """A closed connection leaves every stream and its private session; a book stream left
        without subscribers ends (a new subscriber restarts it)."""
        for t in self.book_streams.values():
            t.subs.discard(conn)
        for subs in self.trade_subs.values():
            subs.discard(conn)
        self.private.pop(conn, None)
        for key in [k for k, t in self.book_streams.items() if not t.subs]:
            del self.book_streams[key]

    def _join_book(self, conn: Connection, key: Any, m: Any, new: Callable[[Any], B]) -> B:
        """``conn`` into book stream ``key``, started (``new(m)``, the current levels) when there is none."""
        t = self.book_streams.get(key)
        if t is None:
            t = self.book_streams[key] = new(m)
            t.bids, t.asks = levels(m, self._book_scope(key)[1])
        t.subs.add(conn)
        return t

    def _leave_book(self, conn: Connection, key: Any) -> None:
        t = self.book_streams.get(key)
        if t is not None:
            t.subs.discard(conn)
            if not t.subs:
                del self.book_streams[key]

    async def _ws_loop(self, request: web.Request, private: bool) -> web.WebSocketResponse:
        scope, market = self._ws_scope(request)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = self.ex.open_connection(ws, "user" if private else "market", market)
        conn_id = self._conn_id()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if await self._ws_text(ws, msg.data):
                    continue
                try:
                    req = _dec.decode(msg.data)
                    if not isinstance(req, dict):
                        raise ValueError
                except (msgspec.DecodeError, ValueError):
                    conn.send(self._ws_bad_json(conn_id, msg.data))
                    continue
                self._ws_op(conn, conn_id, scope, private, req)
        finally:
            self._drop(conn)
            self.ex.close_connection(conn)
        return ws

    async def public_ws(self, request: web.Request) -> web.WebSocketResponse:
        """The public streams."""
        return await self._ws_loop(request, private=False)

    async def private_ws(self, request: web.Request) -> web.WebSocketResponse:
        """The private streams (a login first)."""
        return await self._ws_loop(request, private=True)
