"""Binance market data for the live node: combined streams (depth diffs, bookTicker, trades,
klines) handed over as raw lines, with Binance's documented order-book sync run here too (its
rule, :class:`DepthPolicy`, on the venues' common skeleton :class:`..common.book.BookSync`).

The engine decodes Binance's JSON in Rust (``{"stream", "data"}`` lines and REST snapshot lines
``{"lastUpdateId", "bids", "asks"}``); this client only decides *which* lines it gets, so that the
depth diffs it sees always continue a snapshot:

1. diffs of a symbol are held back until a REST snapshot (``/api/v3/depth`` or
   ``/fapi/v1/depth``) is in; the snapshot is fetched after the first diff arrives and fetched
   again while it is older than that diff;
2. the snapshot line goes out, then the held diffs it does not cover: spot drops ``u <=
   lastUpdateId`` and the first kept diff must straddle ``lastUpdateId + 1``; USDⓈ-M drops ``u <
   lastUpdateId`` and the first kept one must have ``U <= lastUpdateId <= u``;
3. after that each diff must continue the previous one (spot ``U == prev u + 1``, USDⓈ-M ``pu ==
   prev u``); a diff that does not is a *gap*: the symbol goes back to step 1 (a *resync*) while
   its trades and quotes keep flowing.

A reconnect (dropped, stale or aged-out connection) resyncs every symbol. Counts in
:attr:`BinanceDataClient.counts`: ``gaps``, ``resyncs``, ``snapshots``, ``reconnects``, ``stale``,
``messages``, ``dropped`` (diffs a snapshot covered or duplicates).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import msgspec

from trader.exceptions import InvalidInputError

from ..common.book import BookSync, Verdict
from ..common.ws import backoff_delay
from .config import BinanceConfig
from .http import BinanceHttp, OutcomeUnknown, BinanceError
from .ws import WsConnection

__all__ = ["BinanceDataClient", "DepthSync", "DepthPolicy"]

log = logging.getLogger(__name__)

#: Lines per batch at most.
MAX_BATCH = 1024


class _Envelope(msgspec.Struct):
    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Diff(msgspec.Struct):
    U: int
    u: int
    pu: int | None = None


_env_decoder = msgspec.json.Decoder(_Envelope)
_diff_decoder = msgspec.json.Decoder(_Diff)


class _Delta(NamedTuple):
    U: int
    u: int
    pu: int | None


class DepthPolicy:
    """Binance's diff rule (see the module docs) for the common :class:`BookSync`: spot drops
    ``u <= last`` after a snapshot and wants ``U <= last + 1 <= u`` of the first kept diff, then
    ``U == prev u + 1``; USDⓈ-M drops ``u < last``, wants ``U <= last <= u``, then ``pu == prev u``."""

    hold = True  # the snapshot comes over REST, after the diffs have started

    def __init__(self, futures: bool) -> None:
        self.futures = futures

    def classify(self, last: int, d: _Delta, first: bool) -> Verdict:
        if first:
            if d.u < last if self.futures else d.u <= last:
                return "drop"
            ok = (d.U <= last <= d.u) if self.futures else (d.U <= last + 1 <= d.u)
        else:
            if d.u <= last:  # a duplicate or an old diff
                return "drop"
            ok = (d.pu == last) if self.futures and d.pu is not None else (d.U == last + 1)
        return "apply" if ok else "gap"

    def last_id(self, d: _Delta) -> int:
        return d.u


class DepthSync(BookSync[_Delta, str]):
    """The book-sync state of one symbol (pure: no I/O): the common skeleton with Binance's
    :class:`DepthPolicy`. Feed it diffs (:meth:`on_diff`) and snapshots (:meth:`on_snapshot`);
    each returns the lines to hand on, in order. :attr:`wants_snapshot` says a snapshot is
    needed now."""

    def __init__(self, symbol: str, market: str) -> None:
        self.symbol = symbol
        self.futures = market != "spot"
        super().__init__(DepthPolicy(self.futures), f"binance {symbol} depth")

    def on_diff(self, U: int, u: int, pu: int | None, line: str) -> list[str]:
        return self.on_delta(_Delta(U, u, pu), line)


class BinanceDataClient:
    """A live node feed of Binance market data (``mode="l2"``: raw lines, decoded in Rust).

    :param config: market, symbols, URLs, ``stale_after_s``, backoff, depth limit and speed.
    :param http: the REST client for snapshots (None: one of its own, without credentials).
    :param rng: the reconnect jitter's random source.
    """

    mode = "l2"
    kind = "binance"
    realtime = True
    price_precision = None
    size_precision = None

    def __init__(self, config: BinanceConfig, *, http: BinanceHttp | None = None,
                 rng: random.Random | None = None) -> None:
        if "depth" not in config.streams and not any(s in config.streams for s in ("bookTicker", "trade", "aggTrade")) \
                and not any(s.startswith("kline") for s in config.streams):
            raise InvalidInputError(f"binance feed: no known stream in {config.streams!r}")
        self.config = config
        self.symbol = config.symbols[0]
        self.market = config.market
        self.http = http or BinanceHttp(config)
        self._own_http = http is None
        self.rng = rng or random.Random()
        self.syncs = {s: DepthSync(s, config.market) for s in config.symbols}
        self._by_stream = {s.lower(): s for s in config.symbols}
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._fetching: dict[str, asyncio.Task[None]] = {}
        self.conn: WsConnection | None = None
        self._stats = {"messages": 0, "snapshot_errors": 0, "undecodable": 0}
        #: Lines handed out.
        self.position = 0
        self.last_message_ns = 0

    def instrument(self) -> dict[str, Any]:
        """The first symbol as the engine needs it before anything starts, from ``exchangeInfo``
        (one blocking request, bounded by ``request_timeout_s``): ``symbol``, ``market``,
        ``price_precision`` and ``size_precision`` (the decimals of the tick and lot steps),
        ``base_asset``, ``quote_asset``. Sets :attr:`price_precision` / :attr:`size_precision`.

        :raise InvalidInputError: the venue cannot be reached or does not list the symbol."""
        import json
        import urllib.error
        import urllib.request

        url = f"{self.config.rest_url}{self.config.api_prefix}/exchangeInfo"
        try:
            with urllib.request.urlopen(url, timeout=self.config.request_timeout_s) as r:  # noqa: S310 (a configured URL)
                info = json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise InvalidInputError(f"feed binance: cannot read {url}: {getattr(e, 'reason', e)}") from None
        sym = next((x for x in info.get("symbols", []) if x.get("symbol") == self.symbol), None)
        if sym is None:
            raise InvalidInputError(f"feed binance: {self.market} does not list {self.symbol} ({url})")
        filters = {f.get("filterType"): f for f in sym.get("filters", [])}

        def decimals(step: str) -> int:
            frac = step.partition(".")[2].rstrip("0")
            return len(frac)

        try:
            pdp = decimals(str(filters["PRICE_FILTER"]["tickSize"]))
            sdp = decimals(str(filters["LOT_SIZE"]["stepSize"]))
        except KeyError as e:
            raise InvalidInputError(f"feed binance: {self.symbol} has no {e.args[0]} filter ({url})") from None
        self.price_precision, self.size_precision = pdp, sdp
        return {"symbol": self.symbol, "market": self.market, "price_precision": pdp, "size_precision": sdp,
                "base_asset": str(sym.get("baseAsset", "")), "quote_asset": str(sym.get("quoteAsset", ""))}

    # ---- description ----------------------------------------------------------------------------

    def stream_names(self) -> list[str]:
        out = []
        for s in self.config.symbols:
            for st in self.config.streams:
                name = f"depth@{self.config.depth_speed}" if st == "depth" else st
                out.append(f"{s.lower()}@{name}")
        return out

    def url(self) -> str:
        return f"{self.config.stream_url}/stream?streams={'/'.join(self.stream_names())}"

    def describe(self) -> str:
        return f"binance {self.market} {', '.join(self.config.symbols)} ({', '.join(self.config.streams)})"

    @property
    def counts(self) -> dict[str, int]:
        """gaps, resyncs, snapshots, reconnects, stale, messages, dropped, ..."""
        out = dict(self._stats)
        for s in self.syncs.values():
            for k, v in s.counts.items():
                out[k] = out.get(k, 0) + v
        if self.conn is not None:
            out["reconnects"] = self.conn.stats["reconnects"]
            out["stale"] = self.conn.stats["stale"]
        else:
            out.setdefault("reconnects", 0)
            out.setdefault("stale", 0)
        return out

    # ---- messages -------------------------------------------------------------------------------

    def handle(self, text: str, recv_ns: int) -> list[str]:
        """One WebSocket message: the lines to hand on now (snapshot requests are noted in
        :attr:`syncs`)."""
        self._stats["messages"] += 1
        self.last_message_ns = recv_ns
        line = f"{recv_ns} {text}"
        try:
            env = _env_decoder.decode(text)
        except msgspec.DecodeError:
            self._stats["undecodable"] += 1
            return []
        if "@depth" not in env.stream:
            return [line] if env.stream else []
        sync = self.syncs.get(self._by_stream.get(env.stream.split("@", 1)[0], ""))
        if sync is None:
            return []
        try:
            d = _diff_decoder.decode(env.data)
        except msgspec.DecodeError:
            self._stats["undecodable"] += 1
            return []
        return sync.on_diff(d.U, d.u, d.pu, line)

    def snapshot_line(self, symbol: str, body: bytes, recv_ns: int) -> tuple[int, str]:
        """A REST depth answer as a line (one line; the symbol added when there are several)."""
        doc = msgspec.json.decode(body)
        lid = int(doc["lastUpdateId"])
        text = body.decode().strip()
        if "\n" in text or not text.startswith('{"lastUpdateId"'):
            doc = {"lastUpdateId": lid, **{k: v for k, v in doc.items() if k != "lastUpdateId"}}
            text = msgspec.json.encode(doc).decode()
        if len(self.config.symbols) > 1 and '"symbol"' not in text and text.endswith("}"):
            text = text[:-1] + f',"symbol":"{symbol}"}}'
        return lid, f"{recv_ns} {text}"

    async def _fetch_snapshot(self, symbol: str) -> None:
        sync = self.syncs[symbol]
        path = "/api/v3/depth" if self.market == "spot" else "/fapi/v1/depth"
        attempt = 0
        try:
            while sync.wants_snapshot:
                try:
                    body = await self.http.request_raw("GET", path, {"symbol": symbol, "limit": self.config.depth_limit})
                    lid, line = self.snapshot_line(symbol, body, time.time_ns())
                    out = sync.on_snapshot(lid, line)
                    if out is not None:
                        for x in out:
                            self.queue.put_nowait(x)
                        attempt = 0
                        continue
                except (OutcomeUnknown, BinanceError, KeyError, ValueError, msgspec.DecodeError) as e:
                    self._stats["snapshot_errors"] += 1
                    log.warning("binance %s depth snapshot failed: %s", symbol, e)
                await asyncio.sleep(backoff_delay(attempt, self.config.backoff, self.rng) if attempt else 0.05)
                attempt += 1
        finally:
            self._fetching.pop(symbol, None)

    def _want_snapshots(self) -> None:
        for s, sync in self.syncs.items():
            if sync.wants_snapshot and s not in self._fetching:
                self._fetching[s] = asyncio.ensure_future(self._fetch_snapshot(s))

    def _on_message(self, text: str, recv_ns: int) -> None:
        for x in self.handle(text, recv_ns):
            self.queue.put_nowait(x)
        self._want_snapshots()

    def _on_disconnect(self) -> None:
        for t in list(self._fetching.values()):
            t.cancel()
        self._fetching.clear()
        for s in self.syncs.values():
            s.reset()

    # ---- the feed -------------------------------------------------------------------------------

    async def batches(self) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Batches of ``("line", "<recv ns> <json>")`` as they arrive, until cancelled."""
        self.conn = WsConnection(self.url(), self._on_message, stale_after_s=self.config.stale_after_s,
                                 backoff=self.config.backoff, name=f"binance {self.market} market data",
                                 on_disconnect=self._on_disconnect, rng=self.rng)
        task = asyncio.ensure_future(self.conn.run())
        try:
            while True:
                get = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait({get, task}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    task.result()  # the connection task ended: raise its error
                    return
                lines = [get.result()]
                while len(lines) < MAX_BATCH and not self.queue.empty():
                    lines.append(self.queue.get_nowait())
                self.position += len(lines)
                yield [("line", x) for x in lines]
        finally:
            await self.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
        for t in list(self._fetching.values()):
            t.cancel()
        if self._own_http:
            await self.http.close()
