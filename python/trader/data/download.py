"""Download Binance market data into the Parquet catalog (``trader data download``).

Sources, in order, per symbol and month (https://github.com/binance/binance-public-data):

1. the month's archive file, ``{archive}/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip``
   (USDⓈ-M: ``data/futures/um/...``; funding: ``.../fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip``);
2. when the month is not in the archive (404: the current month, or a gap), each day's file
   ``.../daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-15.zip``;
3. when a day is not there either (the last day or two), the REST endpoint for that span —
   ``/api/v3/klines``, ``/fapi/v1/klines``, ``/fapi/v1/markPriceKlines`` (``limit`` 1000,
   ``startTime``/``endTime``) or ``/fapi/v1/fundingRate``; trades and aggTrades have no REST tail.

Every archive file is checked against its ``.zip.CHECKSUM`` (``<sha256 hex>  <name>``) before it
is read; a mismatch, a corrupt zip or a malformed CSV is a :class:`DataError` naming the file and
the problem, and the download stops without writing the month (other months already written are
whole: catalog writes are atomic). The CSVs are read by position: futures files have a header
line and spot files do not; spot files from 2025 on stamp times in microseconds instead of
milliseconds (the unit is detected per file from the magnitude).

Months already **complete** in the catalog are skipped (resume); an incomplete one (the current
month) is merged with what is fetched again. Rows are deduplicated by timestamp (trades: by id)
across monthly, daily and REST data, a later source winning, and kept within their month.

HTTP: one aiohttp session, at most ``jobs`` requests in flight. Rate limits: a 429 pauses every
request for its ``Retry-After`` (then retries, at most :data:`MAX_RETRIES` times); a 418 (IP ban)
stops the download at once; the REST weight used in the current minute
(``X-MBX-USED-WEIGHT-1M``) is kept below :data:`WEIGHT_SHARE` of the venue's limit by waiting for
the next minute.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import io
import json
import os
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from trader.data._errors import DECODE_ERRORS, describe, detail
from trader.data._time import NS_PER, epoch_unit, iso, to_ns
from trader.data.catalog import (
    BAR_KINDS,
    KINDS,
    MARKETS,
    Catalog,
    Key,
    month_label,
    month_start_ns,
    months_between,
    next_month,
    partition_name,
    schema_of,
)
from trader.data.validate import validate_bars
from trader.exceptions import DataError, InvalidInputError

ARCHIVE_URL = "https://data.binance.vision"
REST_URLS = {"spot": "https://api.binance.com", "usdm": "https://fapi.binance.com"}
#: Kline intervals Binance publishes (``1s``: spot only). ``1mo`` is left out: months are not a fixed length.
INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")
#: Request weight limit per minute (IP), and the share of it a download allows itself.
WEIGHT_LIMITS = {"spot": 6000, "usdm": 2400}
WEIGHT_SHARE = 0.8
#: Retries of one request after a 429 or a network error.
MAX_RETRIES = 5
REST_LIMIT = 1000
DAY_NS = 86_400 * 1_000_000_000

KLINE_FIELDS = ("open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades",
                "taker_buy_base", "taker_buy_quote", "ignore")
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")


# --- the request --------------------------------------------------------------------------------


@dataclass(slots=True)
class Request:
    """What to download, checked by :func:`make_request` before any work starts."""

    market: str
    symbols: list[str]
    kind: str
    interval: str | None
    start_ns: int
    end_ns: int
    catalog: Catalog
    archive_url: str
    rest_url: str
    jobs: int = 8
    venue: str = "binance"

    def key(self, symbol: str) -> Key:
        return Key(self.venue, self.market, symbol, partition_name(self.kind, self.interval))


def make_request(*, venue: str = "binance", market: str, symbols: str | list[str], kind: str = "klines",
                 interval: str | None = "1m", start: object, end: object = None, catalog: str | os.PathLike | None = None,
                 archive_url: str | None = None, rest_url: str | None = None, jobs: int = 8,
                 now_ns: int | None = None) -> Request:
    """Check the inputs of a download (InvalidInputError naming the bad one) and resolve defaults.

    ``end`` defaults to now; it is capped at now. Base URLs: the arguments, else
    ``$TRADER_BINANCE_ARCHIVE_URL`` / ``$TRADER_BINANCE_REST_URL``, else Binance's.
    """
    from trader.paths import check_output_dir

    if venue != "binance":
        raise InvalidInputError(f"--venue: unknown venue {venue!r} (known: binance)")
    if market not in MARKETS:
        raise InvalidInputError(f"--market: unknown market {market!r} (known: {', '.join(MARKETS)})")
    if kind not in KINDS:
        raise InvalidInputError(f"--kind: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if kind in ("fundingRate", "markPriceKlines") and market != "usdm":
        raise InvalidInputError(f"--kind: {kind} exists for --market usdm only")
    if kind in BAR_KINDS:
        if interval not in INTERVALS or (interval == "1s" and market != "spot"):
            allowed = INTERVALS if market == "spot" else INTERVALS[1:]
            raise InvalidInputError(f"--interval: {interval!r} is not a Binance {market} kline interval (one of {', '.join(allowed)})")
    else:
        interval = None
    names = [s.strip().upper() for s in symbols.split(",")] if isinstance(symbols, str) else [s.upper() for s in symbols]
    if not names or any(not _SYMBOL_RE.match(s) for s in names):
        raise InvalidInputError(f"--symbols: expected Binance symbols such as BTCUSDT,ETHUSDT, got {symbols!r}")
    names = list(dict.fromkeys(names))
    now = time.time_ns() if now_ns is None else now_ns
    start_ns = to_ns(start, "--start")
    if start_ns is None:
        raise InvalidInputError("--start: required (an ISO date such as 2024-01-01)")
    end_ns = min(now, to_ns(end, "--end") or now)
    if start_ns >= end_ns:
        raise InvalidInputError(f"--start {iso(start_ns)} is not before --end {iso(end_ns)}")
    if jobs < 1:
        raise InvalidInputError(f"--jobs: must be >= 1, got {jobs}")
    cat = Catalog(catalog)
    archive = (archive_url or os.environ.get("TRADER_BINANCE_ARCHIVE_URL") or ARCHIVE_URL).rstrip("/")
    rest = (rest_url or os.environ.get("TRADER_BINANCE_REST_URL") or REST_URLS[market]).rstrip("/")
    for option, url in (("--archive-url", archive), ("--rest-url", rest)):
        if not url.startswith(("http://", "https://")):
            raise InvalidInputError(f"{option}: expected an http(s) URL, got {url!r}")
    try:  # last, once everything else is known to be right: the default folder may need its parents
        cat.root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidInputError(f"--catalog: {cat.root}: cannot create it ({e.strerror or e})") from None
    check_output_dir(cat.root, "--catalog")
    return Request(market, names, kind, interval, start_ns, end_ns, cat, archive, rest, jobs, venue)


# --- archive paths and parsing -------------------------------------------------------------------


def archive_path(req: Request, symbol: str, period: str, label: str) -> str:
    """The archive path of one file: ``period`` is ``monthly`` or ``daily``, ``label`` ``2024-01``
    or ``2024-01-15``."""
    root = "data/spot" if req.market == "spot" else "data/futures/um"
    if req.kind in BAR_KINDS:
        return f"{root}/{period}/{req.kind}/{symbol}/{req.interval}/{symbol}-{req.interval}-{label}.zip"
    return f"{root}/{period}/{req.kind}/{symbol}/{symbol}-{req.kind}-{label}.zip"


def _field_names(kind: str, n: int) -> list[str]:
    base = {
        "klines": KLINE_FIELDS,
        "markPriceKlines": KLINE_FIELDS,
        "fundingRate": ("calc_time", "funding_interval_hours", "last_funding_rate"),
        "aggTrades": ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
                      "is_buyer_maker", "is_best_match"),
        "trades": ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"),
    }[kind]
    if n < len(base) - (1 if kind in ("aggTrades", "trades") else 0) or n > len(base):
        raise ValueError(f"expected {len(base)} fields per line for {kind}, got {n}")
    return list(base[:n])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _epoch_ns(values: np.ndarray) -> np.ndarray:
    """Integer epochs (unit from the first value's magnitude: ms, or µs in 2025+ spot files) → ns."""
    if values.size == 0:
        return values.astype(np.int64)
    return values.astype(np.int64) * NS_PER[epoch_unit(int(values[0]))]


def _dedup(table: pa.Table, key: str) -> pa.Table:
    """Sorted by ``key`` (stable), one row per key value: the last occurrence wins."""
    k = table.column(key).to_numpy()
    idx = np.argsort(k, kind="stable")
    ks = k[idx]
    keep = np.ones(ks.size, dtype=bool)
    if ks.size > 1:
        keep[:-1] = ks[1:] != ks[:-1]
    return table.take(pa.array(idx[keep]))


def kline_table(where: str, ts_raw: np.ndarray, cols: dict[str, np.ndarray]) -> pa.Table:
    """Bars in the catalog's schema from raw kline columns; validated (DataError names ``where``)."""
    ts = _epoch_ns(ts_raw)
    f = {c: np.ascontiguousarray(cols[c], dtype=np.float64) for c in ("open", "high", "low", "close", "volume",
                                                                      "quote_volume", "taker_buy_base", "taker_buy_quote")}
    t = pa.table({"ts": ts, "open": f["open"], "high": f["high"], "low": f["low"], "close": f["close"],
                  "volume": f["volume"], "quote_volume": f["quote_volume"],
                  "trades": np.asarray(cols["trades"], dtype=np.int64), "taker_buy_base": f["taker_buy_base"],
                  "taker_buy_quote": f["taker_buy_quote"]}, schema=schema_of("klines"))
    t = _dedup(t, "ts")
    ts_v, o, h, lo, c, v = (np.ascontiguousarray(t.column(n).to_numpy()) for n in ("ts", "open", "high", "low", "close", "volume"))
    validate_bars(where, 1, ts_v, o, h, lo, c, v)
    return t


def parse_csv(kind: str, where: str, data: bytes) -> pa.Table:
    """One Binance public-data CSV (header or not; ms or µs epochs) as a table in the catalog's
    schema of ``kind``, sorted and deduplicated; DataError naming ``where`` on anything malformed."""
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not first:
        raise DataError(f"{where}: empty CSV: no data rows")
    fields = first.split(",")
    header = not _is_number(fields[0])
    try:
        names = _field_names(kind, len(fields))
    except ValueError as e:
        raise DataError(f"{where}: {e}") from None
    try:
        t = pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(column_names=names, skip_rows=int(header)),
                           convert_options=pacsv.ConvertOptions(include_columns=[n for n in names if n not in ("ignore",)]))
    except DECODE_ERRORS as e:
        raise DataError(f"{where}: malformed CSV ({detail(e)})") from None
    if t.num_rows == 0:
        raise DataError(f"{where}: no data rows")
    for c in t.column_names:
        if t.column(c).null_count:
            raise DataError(f"{where}: column {c} has {t.column(c).null_count} empty value(s)")

    def num(c: str, dtype: type = np.float64) -> np.ndarray:
        try:
            return np.ascontiguousarray(t.column(c).to_numpy(), dtype=dtype)
        except (TypeError, ValueError) as e:
            raise DataError(f"{where}: column {c} is not numeric ({e})") from None

    if kind in BAR_KINDS:
        return kline_table(where, num("open_time", np.int64), {c: num(c) for c in KLINE_FIELDS[1:11] if c != "close_time"})
    if kind == "fundingRate":
        out = pa.table({"ts": _epoch_ns(num("calc_time", np.int64)), "rate": num("last_funding_rate"),
                        "interval_h": num("funding_interval_hours", np.int64)}, schema=schema_of(kind))
        return _dedup(out, "ts")
    id_col, ts_col, qty_col = ("agg_trade_id", "transact_time", "quantity") if kind == "aggTrades" else ("id", "time", "qty")
    try:
        maker = t.column("is_buyer_maker").cast(pa.bool_())
    except pa.ArrowException as e:
        raise DataError(f"{where}: column is_buyer_maker is not true/false ({detail(e)})") from None
    out = pa.table({"ts": _epoch_ns(num(ts_col, np.int64)), "id": num(id_col, np.int64), "price": num("price"),
                    "qty": num(qty_col), "is_buyer_maker": maker}, schema=schema_of(kind))
    return _dedup(out, "id")


def read_zip(name: str, data: bytes) -> bytes:
    """The one CSV inside a Binance archive zip; DataError naming ``name`` when it is not readable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [m for m in z.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise DataError(f"{name}: expected one CSV inside the zip, found {len(members)}")
            return z.read(members[0])
    except DataError:
        raise
    except DECODE_ERRORS as e:
        raise DataError(f"{name}: {describe(e, 'zip data')}") from None


def check_sha256(name: str, data: bytes, checksum_text: str) -> str:
    """The sha256 of ``data`` when it matches the ``.CHECKSUM`` line; DataError naming the file otherwise."""
    token = checksum_text.strip().split()[0] if checksum_text.strip() else ""
    if not _HEX_RE.match(token):
        raise DataError(f"{name}.CHECKSUM: not a sha256 checksum line ({checksum_text.strip()[:80]!r})")
    got = hashlib.sha256(data).hexdigest()
    if got != token.lower():
        raise DataError(f"{name}: checksum mismatch: sha256 is {got}, {name}.CHECKSUM says {token.lower()}")
    return got


# --- HTTP with rate limits ------------------------------------------------------------------------


class Http:
    """GETs through one aiohttp session: bounded concurrency, 429/418 and weight handling (see the
    module docs). ``sleep`` is injectable (tests count the waits)."""

    def __init__(self, session: object, jobs: int, weight_limit: int, sleep: Callable = asyncio.sleep) -> None:
        self.session = session
        self.gate = asyncio.Semaphore(jobs)
        self.weight_limit = weight_limit
        self.sleep = sleep
        self.paused_until = 0.0
        self.waits: list[float] = []  # every pause taken (seconds), for the summary and tests

    async def _pause(self) -> None:
        delay = self.paused_until - time.monotonic()
        if delay > 0:
            await self.sleep(delay)

    async def get(self, url: str, params: dict | None = None, weight: int = 0) -> tuple[int, bytes]:
        """``(status, body)``; 404 is returned, other failures raise DataError naming ``url``."""
        import aiohttp

        errors = 0
        while True:
            async with self.gate:
                await self._pause()
                try:
                    async with self.session.get(url, params=params) as r:  # type: ignore[attr-defined]
                        body = await r.read()
                        status, headers = r.status, r.headers
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    errors += 1
                    if errors > MAX_RETRIES:
                        raise DataError(f"{url}: cannot fetch it ({detail(e) or type(e).__name__})") from None
                    await self.sleep(min(0.5 * 2 ** errors, 10.0))
                    continue
            if status == 418:
                after = headers.get("Retry-After", "?")
                raise DataError(f"{url}: the venue banned this IP (HTTP 418, Retry-After {after} s): stopped; "
                                "wait that long before downloading again")
            if status == 429:
                errors += 1
                if errors > MAX_RETRIES:
                    raise DataError(f"{url}: still rate-limited (HTTP 429) after {MAX_RETRIES} waits: stopped")
                wait = _retry_after(headers.get("Retry-After"))
                self.waits.append(wait)
                self.paused_until = max(self.paused_until, time.monotonic() + wait)
                continue
            if weight:
                used = headers.get("X-MBX-USED-WEIGHT-1M")
                if used is not None and used.isdigit() and int(used) + weight > self.weight_limit * WEIGHT_SHARE:
                    wait = 60.0 - (time.time() % 60.0) + 0.5  # the window resets at the minute
                    self.waits.append(wait)
                    self.paused_until = max(self.paused_until, time.monotonic() + wait)
            if status == 200 or status == 404:
                return status, body
            raise DataError(f"{url}: HTTP {status} ({body[:120].decode('utf-8', 'replace').strip()})")


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


# --- one month -------------------------------------------------------------------------------------


@dataclass(slots=True)
class MonthResult:
    """What happened to one symbol-month: ``status`` is ``complete`` (already in the catalog),
    ``written``, ``kept`` (an incomplete month nothing new was found for) or ``empty`` (no source
    had anything); ``missing`` lists the days (or span) no source had."""

    symbol: str
    month: str
    status: str
    rows: int = 0
    complete: bool = False
    sources: list = field(default_factory=list)
    missing: list = field(default_factory=list)


class Downloader:
    """Runs a :class:`Request` (see the module docs). ``now_ns`` is injectable (tests)."""

    def __init__(self, req: Request, *, now_ns: int | None = None, progress: Callable[[MonthResult], None] | None = None,
                 sleep: Callable = asyncio.sleep) -> None:
        self.req = req
        self.now_ns = time.time_ns() if now_ns is None else now_ns
        self.progress = progress
        self.sleep = sleep
        self.http: Http | None = None

    def jobs(self) -> list[tuple[str, tuple[int, int]]]:
        """``(symbol, month)`` pairs to consider, in order."""
        return [(s, ym) for s in self.req.symbols for ym in months_between(self.req.start_ns, self.req.end_ns)]

    async def run(self) -> list[MonthResult]:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=120, sock_connect=15)
        async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "trader-data-download"}) as session:
            self.http = Http(session, self.req.jobs, WEIGHT_LIMITS[self.req.market], self.sleep)
            for s in self.req.symbols:
                self.req.catalog.clean_temp(self.req.key(s))
            # at most `jobs` months in the making at once, in order: months land one after another
            # (a kill loses at most those), and memory holds `jobs` months, not the whole span
            months = asyncio.Semaphore(self.req.jobs)
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(self._gated(months, s, ym)) for s, ym in self.jobs()]
            except BaseExceptionGroup as eg:
                raise _first_error(eg) from None
            results = [t.result() for t in tasks]
        return results

    async def _gated(self, gate: asyncio.Semaphore, symbol: str, ym: tuple[int, int]) -> MonthResult:
        async with gate:
            return await self._month(symbol, ym)

    async def _archive(self, path: str) -> tuple[pa.Table, dict] | None:
        """One archive file, verified and parsed; None when the archive does not have it (404)."""
        assert self.http is not None
        url = f"{self.req.archive_url}/{path}"
        name = path.rsplit("/", 1)[-1]
        status, data = await self.http.get(url)
        if status == 404:
            return None
        cstatus, ctext = await self.http.get(url + ".CHECKSUM")
        if cstatus == 404:
            raise DataError(f"{name}: no {name}.CHECKSUM beside it in the archive: cannot verify it")
        sha = check_sha256(name, data, ctext.decode("utf-8", "replace"))
        table = await asyncio.to_thread(lambda: parse_csv(self.req.kind, name, read_zip(name, data)))
        return table, {"file": path, "sha256": sha, "rows": table.num_rows}

    async def _rest(self, symbol: str, lo: int, hi: int) -> tuple[pa.Table, dict] | None:
        """REST rows for ``[lo, hi)`` (ns); None for kinds without a REST tail."""
        assert self.http is not None
        kind, market = self.req.kind, self.req.market
        base: dict[str, object]
        if kind in ("trades", "aggTrades"):
            return None
        if kind == "fundingRate":
            path, weight, base = "/fapi/v1/fundingRate", 1, {"symbol": symbol}
        elif kind == "markPriceKlines":
            path, weight, base = "/fapi/v1/markPriceKlines", 5, {"symbol": symbol, "interval": str(self.req.interval)}
        else:
            path = "/api/v3/klines" if market == "spot" else "/fapi/v1/klines"
            weight, base = (2 if market == "spot" else 5), {"symbol": symbol, "interval": str(self.req.interval)}
        url = f"{self.req.rest_url}{path}"
        start_ms, end_ms = lo // 1_000_000, hi // 1_000_000 - 1
        rows: list = []
        while start_ms <= end_ms:
            status, body = await self.http.get(url, {**base, "startTime": start_ms, "endTime": end_ms, "limit": REST_LIMIT}, weight)
            if status == 404:
                raise DataError(f"{url}: not found (HTTP 404): is --rest-url right?")
            try:
                page = json.loads(body)
            except ValueError:
                raise DataError(f"{url}: the answer is not JSON ({body[:80]!r})") from None
            if not isinstance(page, list):
                raise DataError(f"{url}: unexpected answer for {symbol}: {str(page)[:160]}")
            if not page:
                break
            rows.extend(page)
            last = page[-1]["fundingTime"] if kind == "fundingRate" else page[-1][0]
            start_ms = int(last) + 1
            if len(page) < REST_LIMIT:
                break
        if not rows:
            return None
        where = f"{url} ({symbol} {iso(lo)}..{iso(hi)})"
        try:
            if kind == "fundingRate":
                ts = _epoch_ns(np.array([int(r["fundingTime"]) for r in rows], dtype=np.int64))
                steps = np.diff(ts) // (3600 * 1_000_000_000)
                hours = np.concatenate([steps[:1], steps]) if steps.size else np.array([8] * ts.size)
                table = _dedup(pa.table({"ts": ts, "rate": np.array([float(r["fundingRate"]) for r in rows]),
                                         "interval_h": hours.astype(np.int64)}, schema=schema_of(kind)), "ts")
            else:
                arr = np.array([r[:11] for r in rows], dtype=object)
                cols = {c: arr[:, i].astype(np.float64) for i, c in enumerate(KLINE_FIELDS[:11]) if i > 0 and c != "close_time"}
                table = kline_table(where, arr[:, 0].astype(np.int64), cols)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise DataError(f"{where}: malformed rows ({e})") from None
        table = table.filter(_within(table, lo, hi))
        return table, {"rest": path, "from": iso(lo), "to": iso(hi), "rows": table.num_rows}

    async def _month(self, symbol: str, ym: tuple[int, int]) -> MonthResult:
        req, cat = self.req, self.req.catalog
        key = req.key(symbol)
        label = month_label(ym)
        lo, hi = month_start_ns(*ym), month_start_ns(*next_month(*ym))
        old = cat.info(key, ym)
        if old is not None and old.complete:
            return self._done(MonthResult(symbol, label, "complete", old.rows, True, old.sources))
        want_lo, want_hi = max(lo, req.start_ns), min(hi, req.end_ns)
        tables: list[pa.Table] = []
        sources: list = []
        missing: list = []
        monthly = await self._archive(archive_path(req, symbol, "monthly", label))
        if monthly is not None:
            tables.append(monthly[0])
            sources.append(monthly[1])
            covered = True
        elif req.kind == "fundingRate":  # no daily funding files: the REST endpoint for the whole span
            got = await self._rest(symbol, want_lo, want_hi)
            if got is not None:
                tables.append(got[0])
                sources.append(got[1])
            else:
                missing.append(f"{iso(want_lo)}..{iso(want_hi)}")
            covered = got is not None and want_lo == lo and want_hi == hi
        else:
            days = list(range(want_lo - (want_lo - lo) % DAY_NS, want_hi, DAY_NS))
            got_days = await asyncio.gather(*(self._day(symbol, d, max(d, want_lo), min(d + DAY_NS, want_hi)) for d in days))
            for d, got in zip(days, got_days):
                if got is None:
                    missing.append(_dt.datetime.fromtimestamp(d / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d"))
                else:
                    tables.append(got[0])
                    sources.append(got[1])
            covered = not missing and want_lo == lo and want_hi == hi
        if not tables:
            if old is not None:  # nothing new: the incomplete month stays as it was
                return self._done(MonthResult(symbol, label, "kept", old.rows, False, old.sources, missing))
            return self._done(MonthResult(symbol, label, "empty", 0, False, [], missing))
        if old is not None:  # an incomplete month: keep what it had, newer rows win
            tables.insert(0, cat.read_month(key, ym))
            sources = old.sources + sources
        merged = _dedup(pa.concat_tables([t.cast(schema_of(req.kind)) for t in tables]), "id" if req.kind in ("trades", "aggTrades") else "ts")
        if req.kind in ("trades", "aggTrades"):
            merged = merged.take(pa.array(np.argsort(merged.column("ts").to_numpy(), kind="stable")))
        merged = merged.filter(_within(merged, lo, hi))
        complete = covered and hi <= self.now_ns
        await asyncio.to_thread(cat.write_month, key, ym, merged, complete=complete, sources=sources)
        return self._done(MonthResult(symbol, label, "written", merged.num_rows, complete, sources, missing))

    async def _day(self, symbol: str, day: int, lo: int, hi: int) -> tuple[pa.Table, dict] | None:
        label = _dt.datetime.fromtimestamp(day / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d")
        got = await self._archive(archive_path(self.req, symbol, "daily", label))
        if got is not None:
            return got
        return await self._rest(symbol, lo, hi)

    def _done(self, result: MonthResult) -> MonthResult:
        if self.progress is not None:
            self.progress(result)
        return result


def _within(table: pa.Table, lo: int, hi: int) -> pa.Array:
    ts = table.column("ts").to_numpy()
    return pa.array((ts >= lo) & (ts < hi))


def _first_error(eg: BaseExceptionGroup) -> BaseException:
    """The error to report from a task group: a DataError first, else the first leaf."""
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for x in e.exceptions:
                walk(x)
        else:
            leaves.append(e)

    walk(eg)
    for e in leaves:
        if isinstance(e, DataError):
            return e
    return leaves[0]


def download(req: Request, *, now_ns: int | None = None, progress: Callable[[MonthResult], None] | None = None,
             sleep: Callable = asyncio.sleep) -> tuple[list[MonthResult], list[float]]:
    """Run ``req``; returns the per-month results and the rate-limit waits taken (seconds).

    :raise DataError: a file failed its checksum, is not a readable zip or CSV, the venue banned
        the IP, or a symbol had no data at all in the span (``nothing`` found anywhere).
    """
    d = Downloader(req, now_ns=now_ns, progress=progress, sleep=sleep)
    results = asyncio.run(d.run())
    for symbol in req.symbols:
        mine = [r for r in results if r.symbol == symbol]
        if mine and all(r.status == "empty" for r in mine):
            raise DataError(f"{symbol}: no {req.kind} data for {iso(req.start_ns)}..{iso(req.end_ns)} in the archive "
                            f"({req.archive_url}) nor from REST ({req.rest_url}): is the symbol right for --market {req.market}?")
    return results, (d.http.waits if d.http is not None else [])
