"""The local exchange's server: the market loop, the stream connections and :func:`serve_in_thread`.

One asyncio loop runs everything: the feed task (each event moves every market's book and every
account's matcher), the depth flushers (100 ms and 1000 ms diffs, klines every second), the
housekeeping (the front's own: Binance's listenKey expiry and countdown-cancel; chaos disconnects)
and aiohttp. Calls from other threads (:class:`ExchangeHandle`'s ``books``, ``top``, ``stats``)
run on that loop, so they see a consistent state.

The venue seam: the server knows markets (``"spot"``, ``"usdm"``: the linear USDT perpetual),
accounts, the matchers, connections and chaos; everything a venue's clients see is its *front*
(:data:`FRONTS`, picked by ``Exchange(venue=...)``), an object with:

- ``routes(app)``: its REST paths and its WebSocket endpoints (public and private streams);
- ``server_ms()``: the venue's clock (chaos ``skew_ms`` applied);
- ``on_market(market, stream, payload)``: every message of a :class:`~trader.exchange.market.Market`
  (Binance-named streams: ``btcusdt@trade``, ``btcusdt@depth@100ms``, ...), to re-shape and fan out;
- ``on_tick(n)``: every 100 ms (n counts them), after the markets flushed their diffs;
- ``on_event(acct, market, event, fill)``: a matcher event (and its fill) to book and report;
- ``on_closed(acct, order, status)``: an order ended by the server (its locks already released);
- ``housekeeping(now)``: every 50 ms (monotonic ``now``);
- ``stream_urls(host, port)``: the WebSocket endpoints, by name (printed, and on the handle).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from trader.exceptions import InvalidInputError
from trader.exchange.accounts import ZERO, Account, Matcher, Order, dstr, load_accounts
from trader.exchange.chaos import Chaos
from trader.exchange.market import Market

__all__ = ["Exchange", "ExchangeHandle", "serve_in_thread", "DEFAULT_RATE_LIMITS", "FRONTS"]

_enc = msgspec.json.Encoder()

DEFAULT_RATE_LIMITS: dict[str, float] = {
    "spot_weight": 6000, "usdm_weight": 2400, "spot_orders_10s": 100, "spot_orders_1d": 200_000,
    "usdm_orders_10s": 300, "usdm_orders_1m": 1200, "ban_s": 120,
    # Bybit v5: per account and endpoint per second (orders: create/amend/cancel), per IP per 5 s
    "bybit_orders_s": 10, "bybit_queries_s": 50, "bybit_ip_5s": 600,
    # OKX v5: per account, endpoint (and instrument for trade endpoints) per 2 s
    "okx_orders_2s": 60, "okx_queries_2s": 10,
}
MAX_QUEUE = 20_000
#: The venues served: name -> the front's class (``module:Class``, imported when picked).
FRONTS: dict[str, str] = {"binance": "trader.exchange.binance:BinanceFront", "bybit": "trader.exchange.bybit:BybitFront",
                          "okx": "trader.exchange.okx:OkxFront"}


def _front_class(venue: Any) -> Any:
    import importlib

    if not isinstance(venue, str) or venue not in FRONTS:
        raise InvalidInputError(f"venue: unknown venue {venue!r} (served: {', '.join(FRONTS)})")
    module, name = FRONTS[venue].split(":")
    return getattr(importlib.import_module(module), name)


class Connection:
    """One WebSocket client: an outgoing queue drained by a sender task that applies chaos."""

    def __init__(self, ex: Exchange, ws: web.WebSocketResponse, kind: str, market: str = "", wrapped: bool = False) -> None:
        self.ex = ex
        self.ws = ws
        self.kind = kind  # "market" | "user" | "ws-api"
        self.market = market
        self.wrapped = wrapped
        self.streams: set[str] = set()
        self.listen_key: str | None = None
        self.opened = time.monotonic()
        self.opened_ms = time.time_ns() // 1_000_000
        self.queue: asyncio.Queue[tuple[bytes, bool, bool] | None] = asyncio.Queue()
        self.stalled = False
        self.closed = False
        self.task = asyncio.get_running_loop().create_task(self._sender())
        self.pinger = asyncio.get_running_loop().create_task(self._pings())

    def send(self, payload: dict[str, Any] | list[Any], stream: str | None = None, event: bool = False,
             depth: bool = False) -> None:
        """Queue one message (``event``: a stream message chaos may drop, duplicate, reorder;
        ``depth``: a book diff chaos ``gap`` may leave out)."""
        if self.closed:
            return
        if self.queue.qsize() >= MAX_QUEUE:
            self.ex.count("slow_consumer_closed")
            self.close()
            return
        body = {"stream": stream, "data": payload} if (self.wrapped and stream is not None) else payload
        self.queue.put_nowait((_enc.encode(body), event, depth))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
        self.pinger.cancel()

    async def _sender(self) -> None:
        chaos = self.ex.chaos
        held: bytes | None = None
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    break
                data, event, depth = item
                if self.stalled:
                    continue
                if event:
                    if chaos.roll("drop"):
                        break
                    if chaos.roll("stall"):
                        self.stalled = True
                        continue
                    if depth and chaos.roll("gap"):
                        continue
                    if held is None and chaos.roll("reorder"):
                        held = data
                        continue
                await self.ws.send_str(data.decode())
                if event and chaos.roll("dup"):
                    await self.ws.send_str(data.decode())
                if held is not None:
                    await self.ws.send_str(held.decode())
                    held = None
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            self.closed = True
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _pings(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError, asyncio.CancelledError):
            while not self.closed:
                await asyncio.sleep(float(self.ex.chaos["ping"] or self.ex.ping_interval))
                if self.closed:
                    break
                if not self.stalled:
                    await self.ws.ping()


class Exchange:
    """The local exchange: markets driven by a feed, accounts, a venue's front, chaos.

    ``feed``: ``"synthetic"`` (options of :class:`trader.live.feeds.SyntheticFeed`: seed, rate,
    symbol, price, price_precision, size_precision) or ``"replay:PATH"`` (option ``speed``, default
    1 or max; ``lines``: stop after about that many lines; the recording's symbol and precisions are
    probed). ``rate_limits`` overrides
    :data:`DEFAULT_RATE_LIMITS` (exchangeInfo reports the values in force)."""

    def __init__(self, venue: str = "binance", feed: str = "synthetic", feed_options: dict[str, Any] | None = None,
                 accounts: str | Path | list[dict[str, Any]] | None = None, chaos: str | None = None, seed: int = 0,
                 rate_limits: dict[str, float] | None = None, ping_interval: float = 20.0,
                 min_notional: dict[str, Decimal] | None = None, gtd_min_s: float = 600.0) -> None:
        front_class = _front_class(venue)
        self.venue = venue
        self.chaos = Chaos(chaos, seed)
        self.accounts: list[Account] = load_accounts(accounts)
        self.account_by_key = {a.api_key: a for a in self.accounts}
        unknown = set(rate_limits or {}) - set(DEFAULT_RATE_LIMITS)
        if unknown:
            raise InvalidInputError(f"rate_limits: unknown key {sorted(unknown)[0]!r} (known: {', '.join(DEFAULT_RATE_LIMITS)})")
        self.rate_limits = DEFAULT_RATE_LIMITS | dict(rate_limits or {})
        self.ping_interval = float(ping_interval)
        self.fees = {"spot": (Decimal(10), Decimal(10)), "usdm": (Decimal(2), Decimal(5))}
        self.min_notional = {"spot": Decimal(5), "usdm": Decimal(5)} | dict(min_notional or {})
        if isinstance(gtd_min_s, bool) or not isinstance(gtd_min_s, (int, float)) or not gtd_min_s >= 0:
            raise InvalidInputError(f"exchange: gtd_min_s must be a number of seconds >= 0, got {gtd_min_s!r}")
        #: How far ahead a GTD order's goodTillDate must be (Binance: 600 s; less to see expiries soon).
        self.gtd_min_s = float(gtd_min_s)
        self.feed = self._make_feed(feed, dict(feed_options or {}))
        self.markets: dict[tuple[str, str], Market] = {}
        for kind in ("spot", "usdm"):
            self.markets[(kind, self.symbol)] = Market(kind, self.symbol, self.price_precision, self.size_precision,
                                                       self._emit)
        self.front = front_class(self)
        self.counters: dict[str, int] = {}
        #: The exchange's own processing time of each new order (ns, request in to answer out, the
        #: latest 100,000): the round-trip bench prints it beside the client's.
        self.order_processing_ns: collections.deque[int] = collections.deque(maxlen=100_000)
        self.market_subs: dict[tuple[str, str], set[Connection]] = {}
        self.user_subs: dict[int, tuple[Connection, Account, str]] = {}
        self.connections: set[Connection] = set()
        self._sub_seq = 0
        self._event_seq = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self.feed_done = False
        self.feed_error: BaseException | None = None

    # -- feed ---------------------------------------------------------------------------------------
    def _make_feed(self, spec: str, opts: dict[str, Any]) -> Any:
        from trader.live.feeds import ReplayFeed, SyntheticFeed

        if spec == "synthetic":
            opts = {"symbol": "BTCUSDT", "rate": 50.0} | opts
            allowed = {"seed", "rate", "price", "symbol", "price_precision", "size_precision"}
            bad = set(opts) - allowed
            if bad:
                raise InvalidInputError(f"feed option: unknown {sorted(bad)[0]!r} for the synthetic feed (known: {', '.join(sorted(allowed))})")
            conv = {"seed": int, "rate": float, "price": float, "symbol": str, "price_precision": int, "size_precision": int}
            try:
                kw = {k: conv[k](v) for k, v in opts.items()}
            except (TypeError, ValueError):
                raise InvalidInputError(f"feed option: bad value in {opts!r}") from None
            kw["symbol"] = str(kw["symbol"]).upper()
            if not kw["symbol"].endswith(("USDT", "USDC")) or len(kw["symbol"]) < 6:
                raise InvalidInputError(f"feed option: symbol must be a USDT or USDC pair like BTCUSDT, got {kw['symbol']!r}")
            feed = SyntheticFeed(**kw)
            self.symbol, self.price_precision, self.size_precision = feed.symbol, feed.price_precision, feed.size_precision
            return feed
        if spec.startswith("replay:"):
            from trader import _core

            path = spec.split(":", 1)[1]
            bad = set(opts) - {"speed", "lines"}
            if bad:
                raise InvalidInputError(f"feed option: unknown {sorted(bad)[0]!r} for a replay (known: speed, lines)")
            try:
                speed = opts.get("speed", 1.0)
                speed = float("inf") if str(speed) == "max" else float(speed)
                self.max_lines = int(opts["lines"]) if "lines" in opts else None
            except ValueError:
                raise InvalidInputError(f"feed option: speed must be a number or max and lines an integer, got {opts!r}") from None
            if self.max_lines is not None and self.max_lines < 1:
                raise InvalidInputError(f"feed option: lines must be >= 1, got {self.max_lines}")
            replay = ReplayFeed([path], speed=speed)
            info = _core.probe_recording(replay.paths)
            if not info.get("symbol"):
                raise InvalidInputError(f"feed: {path}: no symbol found in the recording")
            self.symbol = str(info["symbol"]).upper()
            self.price_precision = int(info.get("price_precision") or 2)
            self.size_precision = int(info.get("size_precision") or 3)
            return replay
        raise InvalidInputError(f"feed: expected synthetic or replay:PATH, got {spec!r}")

    async def _run_feed(self) -> None:
        try:
            limit = getattr(self, "max_lines", None)
            async for batch in self.feed.batches():
                for ev in batch:
                    self._on_feed_event(ev)
                if limit is not None and self.feed.position >= limit:
                    break
                await asyncio.sleep(0)  # a replay at full speed leaves the server room to answer
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 - recorded in stats; the exchange keeps serving
            self.feed_error = e
            self.count("feed_errors")
        self.feed_done = True

    def _on_feed_event(self, ev: tuple[Any, ...]) -> None:
        kind = ev[0]
        if kind == "quote":
            _, _, bid, ask, bs, as_ = ev
            for m in self.markets.values():
                m.set_top(m.ticks(bid), m.ticks(ask), m.lots(bs), m.lots(as_))
                self._quote_matchers(m)
        elif kind == "trade":
            _, _, price, size, side, _tid = ev
            for m in self.markets.values():
                m.trade(m.ticks(price), m.lots(size), side == "sell")
                self._trade_matchers(m, float(price), float(size), side)
        elif kind == "batch":
            for text in ev[1].texts():
                self._on_line(text)
        elif kind == "line":
            self._on_line(ev[1])

    def _on_line(self, text: str) -> None:
        for m in self.markets.values():
            what = m.apply_line(text)
            if what is None:
                continue
            if what[0] == "book":
                self._quote_matchers(m)
            else:
                price, qty, buyer_maker = what[1]
                self._trade_matchers(m, float(m.px(price)), float(m.qty(qty)), "sell" if buyer_maker else "buy")

    def _matchers(self, m: Market) -> Iterator[tuple[Account, Matcher]]:
        for a in self.accounts:
            mt = a.matchers.get((m.kind, m.symbol))
            if mt is not None:
                yield a, mt

    def _quote_matchers(self, m: Market) -> None:
        bid, ask = m.top()
        bq, aq = m.top_sizes()
        for a, mt in self._matchers(m):
            mt.quote(float(m.px(bid)) if bid is not None else None, float(m.px(ask)) if ask is not None else None,
                     float(m.qty(bq)), float(m.qty(aq)))
            self.settle(a, m.kind, mt)

    def _trade_matchers(self, m: Market, price: float, size: float, side: str) -> None:
        for a, mt in self._matchers(m):
            mt.trade(price, size, side, m.trade_id)
            self.settle(a, m.kind, mt)

    # -- the books ------------------------------------------------------------------------------------
    def settle(self, acct: Account, market: str, mt: Matcher) -> None:
        """The matcher's new events and fills into the account (and its user streams)."""
        events, fills = mt.drain()
        if not events and not fills:
            return
        by_tid = {f["trade_id"]: f for f in fills}
        used = set()
        for e in events:
            f = by_tid.get(e.get("trade_id")) if e.get("trade_id") else None
            if f is not None:
                used.add(f["trade_id"])
            self.front.on_event(acct, market, e, f)
        for f in fills:
            if f["trade_id"] not in used:
                self.front.on_event(acct, market, {"order_id": f["order_id"], "kind": "filled", "trade_id": f["trade_id"]}, f)

    def close_order(self, acct: Account, o: Order, status: str) -> None:
        """End an open order (canceled, expired, rejected): its lock released, reported."""
        o.status = status
        o.update = self.front.server_ms()
        if o.market == "spot" and o.lock_left:
            acct.unlock(o.lock_asset, o.lock_left)
            o.lock_left = ZERO
        self.front.on_closed(acct, o, status)

    def mark(self, market: str, symbol: str) -> Decimal:
        m = self.markets[(market, symbol)]
        bid, ask = m.top()
        if bid is not None and ask is not None:
            return (Decimal(m.px(bid)) + Decimal(m.px(ask))) / 2
        one = bid if bid is not None else ask
        return Decimal(m.px(one)) if one is not None else ZERO

    def upnl(self, acct: Account) -> Decimal:
        return sum((p.amt * (self.mark("usdm", s) - p.entry) for s, p in acct.positions.items() if p.amt), ZERO)

    def position_margin(self, acct: Account) -> Decimal:
        return sum((abs(p.amt) * self.mark("usdm", s) / p.leverage for s, p in acct.positions.items() if p.amt), ZERO)

    def order_margin(self, acct: Account) -> Decimal:
        total = ZERO
        for o in acct.orders["usdm"].values():
            if o.open and not o.reduce_only and not (o.algo and o.child is not None):
                ref = o.price or o.stop or self.mark("usdm", o.symbol)
                total += (o.qty - o.executed) * ref / acct.position(o.symbol).leverage
        return total

    def available(self, acct: Account) -> Decimal:
        return acct.wallet.get("USDT", ZERO) + self.upnl(acct) - self.position_margin(acct) - self.order_margin(acct)

    def margin_short(self, acct: Account, o: Order) -> bool:
        """Whether a USDⓈ-M order that adds exposure needs more margin than is available
        (``notional / leverage`` of what it adds against :meth:`available`)."""
        p = acct.position(o.symbol)
        signed = o.qty if o.side == "BUY" else -o.qty
        adds = o.qty if p.amt == 0 or (p.amt > 0) == (signed > 0) else max(ZERO, o.qty - abs(p.amt))
        if not adds:
            return False
        ref = o.price or o.stop or self.mark("usdm", o.symbol)
        return bool(adds * ref / p.leverage > self.available(acct))

    # -- streams --------------------------------------------------------------------------------------
    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def next_event_id(self) -> int:
        self._event_seq += 1
        return self._event_seq

    def _emit(self, market: str, stream: str, payload: dict[str, Any]) -> None:
        self.front.on_market(market, stream, payload)

    def open_connection(self, ws: web.WebSocketResponse, kind: str, market: str = "", wrapped: bool = False) -> Connection:
        conn = Connection(self, ws, kind, market, wrapped)
        self.connections.add(conn)
        self.count("connections")
        return conn

    def close_connection(self, conn: Connection) -> None:
        conn.close()
        self.connections.discard(conn)
        for subs in self.market_subs.values():
            subs.discard(conn)
        for sid in [s for s, (c, _, _) in self.user_subs.items() if c is conn]:
            del self.user_subs[sid]

    def subscribe_user(self, conn: Connection, acct: Account, market: str) -> int:
        sid = self._sub_seq
        self._sub_seq += 1
        self.user_subs[sid] = (conn, acct, market)
        return sid

    def user_connections(self, acct: Account, market: str) -> Iterator[tuple[int, Connection]]:
        """The user-stream subscriptions of ``acct`` on ``market``: (subscription id, connection)."""
        for sid, (conn, a, mk) in list(self.user_subs.items()):
            if a is acct and mk == market:
                yield sid, conn

    # -- periodic work --------------------------------------------------------------------------------
    async def _flusher(self) -> None:
        n = 0
        while True:
            await asyncio.sleep(0.1)
            n += 1
            for m in self.markets.values():
                m.flush_depth("100ms")
                if n % 10 == 0:
                    m.flush_depth("1000ms")
                    m.flush_kline()
            self.front.on_tick(n)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            self.front.housekeeping(now)
            life = self.chaos["disconnect"]
            if life:
                for conn in list(self.connections):
                    if not conn.closed and now - conn.opened >= life:
                        self.chaos.count("disconnect")
                        conn.close()

    # -- lifecycle ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        self.front.routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on ``host:port`` (0: any free port); the port."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self.host = host
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run_feed()), loop.create_task(self._flusher()),
                       loop.create_task(self._housekeeping())]
        return self.port

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for conn in list(self.connections):
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(), 1.0)
            for t in (conn.task, conn.pinger):
                t.cancel()
                with contextlib.suppress(BaseException):
                    await t
        await self._runner.cleanup()
        # the sessions are not Send: dropped here, on the loop's thread
        for a in self.accounts:
            a.matchers.clear()

    # -- introspection ----------------------------------------------------------------------------------
    def books(self, api_key: str, market: str) -> dict[str, Any]:
        acct = self.account_by_key.get(api_key)
        if acct is None:
            raise InvalidInputError("books: unknown api_key")
        if market not in ("spot", "usdm"):
            raise InvalidInputError(f"books: market must be spot or usdm, got {market!r}")
        if market == "spot":
            assets = sorted(set(acct.free) | set(acct.locked))
            balances = {a: {"free": dstr(acct.free.get(a, ZERO)), "locked": dstr(acct.locked.get(a, ZERO))} for a in assets}
        else:
            balances = {a: {"free": dstr(self.available(acct) if a == "USDT" else v), "locked": "0", "wallet": dstr(v)}
                        for a, v in acct.wallet.items()}
        positions = [{"symbol": s, "positionAmt": dstr(p.amt), "entryPrice": dstr(p.entry), "realizedPnl": dstr(p.realized),
                      "leverage": p.leverage} for s, p in sorted(acct.positions.items())] if market == "usdm" else []
        return {"orders": [o.to_dict() for o in acct.orders[market].values()],
                "fills": [f.to_dict() for f in acct.fills[market]], "balances": balances, "positions": positions}

    def top(self, market: str) -> tuple[str | None, str | None]:
        m = self.markets[(market, self.symbol)]
        bid, ask = m.top()
        return (m.px(bid) if bid is not None else None, m.px(ask) if ask is not None else None)

    def stats(self) -> dict[str, Any]:
        return {**self.counters, "chaos": dict(self.chaos.counts),
                "update_ids": {f"{k}:{s}": m.update_id for (k, s), m in self.markets.items()},
                "connections_open": sum(1 for c in self.connections if not c.closed), "feed_done": self.feed_done}


class ExchangeHandle:
    """A running :class:`Exchange` on its own loop in a daemon thread (see :func:`serve_in_thread`)."""

    def __init__(self, ex: Exchange, loop: asyncio.AbstractEventLoop, thread: threading.Thread, host: str) -> None:
        self._ex, self._loop, self._thread = ex, loop, thread
        self.port = ex.port
        self.venue: str = ex.venue
        self.base_url = f"http://{host}:{ex.port}"
        #: The front's WebSocket endpoints by name (Binance: spot, usdm, ws_api; Bybit: spot,
        #: linear, private).
        self.stream_urls: dict[str, str] = dict(ex.front.stream_urls(host, ex.port))
        self.spot_stream_url = self.stream_urls.get("spot", "")
        self.usdm_stream_url = self.stream_urls.get("usdm", "")
        self.spot_ws_api_url = self.stream_urls.get("ws_api", "")
        self.accounts = [{"api_key": a.api_key, "secret": a.secret, "passphrase": a.passphrase} for a in ex.accounts]
        self.symbol = ex.symbol

    def _call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def books(self, api_key: str, market: str) -> dict[str, Any]:
        """The exchange's truth for one account: orders, fills, balances, positions (decimal strings)."""
        return self._call(self._ex.books, api_key, market)

    def top(self, market: str) -> tuple[str | None, str | None]:
        """Best bid and ask of ``market`` ("spot" or "usdm") as strings."""
        return self._call(self._ex.top, market)

    def top_at(self, market: str, update_id: int) -> tuple[str | None, str | None] | None:
        """Best bid and ask of ``market`` right after update ``update_id`` (None: not kept)."""

        def find(ex: Any) -> Any:
            m = ex.markets[(market, ex.symbol)]
            for u, bid, ask in reversed(m.tops):
                if u == update_id:
                    return (m.px(bid) if bid is not None else None, m.px(ask) if ask is not None else None)
                if u < update_id:
                    return None
            return None

        return self._call(find, self._ex)

    def order_processing_ns(self) -> list[int]:
        """The exchange's own processing time of each new order (ns, the latest 100,000)."""
        return self._call(lambda: list(self._ex.order_processing_ns))

    def stats(self) -> dict[str, Any]:
        """Counters: orders placed/canceled, 429s, 418s, errors by code, chaos events by kind, ..."""
        return self._call(self._ex.stats)

    def set_chaos(self, spec: str | None) -> None:
        """Change the chaos settings at run time (validated first)."""
        self._call(self._ex.chaos.set, spec)

    def run(self, fn: Any, *args: Any) -> Any:
        """Call ``fn(exchange, *args)`` on the exchange's loop (tests and tools)."""
        return self._call(fn, self._ex, *args)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._ex.stop(), self._loop)
        with contextlib.suppress(Exception):
            fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def serve_in_thread(venue: str = "binance", feed: str = "synthetic", feed_options: dict[str, Any] | None = None,
                    accounts: str | Path | list[dict[str, Any]] | None = None, chaos: str | None = None, seed: int = 0,
                    port: int = 0, host: str = "127.0.0.1", **options: Any) -> Iterator[ExchangeHandle]:
    """Run the local exchange on its own event loop in a daemon thread, for the ``with`` block.

    ``options``: ``rate_limits`` (see :data:`DEFAULT_RATE_LIMITS`), ``ping_interval`` (s),
    ``min_notional`` ({"spot": Decimal, "usdm": Decimal}), ``gtd_min_s`` (how far ahead a GTD
    order's goodTillDate must be; Binance's 600 s by default). Bad input raises InvalidInputError
    before anything starts; the server is stopped and its thread joined on exit."""
    ex = Exchange(venue, feed, feed_options, accounts, chaos, seed, **options)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(ex.start(host, port))
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            failure.append(e)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=main, name="trader-exchange", daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        thread.join(5)
        raise failure[0]
    handle = ExchangeHandle(ex, loop, thread, host)
    try:
        yield handle
    finally:
        handle.close()
