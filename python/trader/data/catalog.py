"""The Parquet market-data catalog: what ``trader data download`` fills and ``--data catalog:...`` reads.

Layout (one Parquet file per month, partitioned by venue, market, symbol and interval or kind)::

    ROOT/binance/usdm/BTCUSDT/1m/2024-01.parquet          klines (bars), one folder per interval
    ROOT/binance/usdm/BTCUSDT/markPrice-1m/2024-01.parquet  mark-price klines (bars)
    ROOT/binance/usdm/BTCUSDT/fundingRate/2024-01.parquet   funding rates
    ROOT/binance/spot/BTCUSDT/aggTrades/2024-01.parquet     aggregated trades (trades: ``trades``)

``ROOT`` is ``--catalog DIR``, else ``$TRADER_CATALOG``, else ``trader/catalog`` under the user's
data directory (``$XDG_DATA_HOME``, else ``~/.local/share``).

Contracts:

- Bars have the columns of trader's bar data (:class:`~trader.data.Bars`): ``ts`` (int64 UTC epoch
  nanoseconds of the bar's open time), ``open``, ``high``, ``low``, ``close``, ``volume``
  (float64), then Binance's extras (``quote_volume``, ``trades``, ``taker_buy_base``,
  ``taker_buy_quote``). Funding: ``ts`` (int64 ns), ``rate`` (float64), ``interval_h`` (int64).
  Trades: ``ts``, ``id``, ``price``, ``qty``, ``is_buyer_maker``. Every file is sorted by ``ts``
  (trades: by ``ts`` then ``id``) without duplicates, and holds only its own month.
- Writes are atomic (a temporary file in the same folder, then :func:`os.replace`): a kill at any
  point leaves the old month file or the new one, never half of one. Temporary files start with a
  dot and are ignored by readers; the next write into the folder removes stale ones.
- Each month file carries its provenance in the Parquet key-value metadata (``trader.sources``:
  the archive files and their sha256, or the REST spans it came from; ``trader.complete``: whether
  the month is whole). A complete month is never fetched again (resume).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trader.data._errors import DECODE_ERRORS, detail
from trader.data._time import interval_name, iso, parse_interval, to_ns
from trader.data.bars import Bars
from trader.data.feed import BarFeed, Chunk
from trader.exceptions import DataError, InvalidInputError

#: Spec prefix that picks the catalog data source (``--data catalog:binance/usdm/BTCUSDT/1m``).
PREFIX = "catalog:"
#: Kinds whose partitions hold bars (the rest: funding, trades).
BAR_KINDS = ("klines", "markPriceKlines")
KINDS = ("klines", "trades", "aggTrades", "fundingRate", "markPriceKlines")
MARKETS = ("spot", "usdm")

BAR_SCHEMA = pa.schema([
    ("ts", pa.int64()), ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()), ("close", pa.float64()),
    ("volume", pa.float64()), ("quote_volume", pa.float64()), ("trades", pa.int64()), ("taker_buy_base", pa.float64()),
    ("taker_buy_quote", pa.float64()),
])
FUNDING_SCHEMA = pa.schema([("ts", pa.int64()), ("rate", pa.float64()), ("interval_h", pa.int64())])
TRADE_SCHEMA = pa.schema([("ts", pa.int64()), ("id", pa.int64()), ("price", pa.float64()), ("qty", pa.float64()),
                          ("is_buyer_maker", pa.bool_())])

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})\.parquet$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def default_root() -> Path:
    """The catalog folder when ``--catalog`` is not given: ``$TRADER_CATALOG``, else
    ``trader/catalog`` under ``$XDG_DATA_HOME`` (else ``~/.local/share``)."""
    env = os.environ.get("TRADER_CATALOG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "trader" / "catalog"


def partition_name(kind: str, interval: str | None) -> str:
    """The folder of a kind under the symbol: the interval for klines (``1m``), ``markPrice-1m``
    for mark-price klines, the kind's name otherwise (``fundingRate``, ``aggTrades``, ``trades``)."""
    if kind == "klines":
        assert interval
        return interval
    if kind == "markPriceKlines":
        assert interval
        return f"markPrice-{interval}"
    return kind


def kind_of(name: str) -> tuple[str, str | None]:
    """The inverse of :func:`partition_name`: ``(kind, interval or None)``."""
    if name.startswith("markPrice-"):
        return "markPriceKlines", name[len("markPrice-"):]
    if name in ("fundingRate", "aggTrades", "trades"):
        return name, None
    return "klines", name


def schema_of(kind: str) -> pa.Schema:
    """The Arrow schema of a kind's month files."""
    if kind in BAR_KINDS:
        return BAR_SCHEMA
    return FUNDING_SCHEMA if kind == "fundingRate" else TRADE_SCHEMA


# --- months -----------------------------------------------------------------------------------


def month_start_ns(year: int, month: int) -> int:
    """UTC epoch nanoseconds of the first instant of ``year-month``."""
    ns = to_ns(_dt.datetime(year, month, 1, tzinfo=_dt.timezone.utc))
    assert ns is not None
    return ns


def next_month(year: int, month: int) -> tuple[int, int]:
    """The month after ``year-month``."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_between(start_ns: int, end_ns: int) -> list[tuple[int, int]]:
    """The months that ``[start_ns, end_ns)`` touches, in order."""
    d = _dt.datetime.fromtimestamp(start_ns / 1e9, tz=_dt.timezone.utc)
    ym = (d.year, d.month)
    out = []
    while month_start_ns(*ym) < end_ns:
        out.append(ym)
        ym = next_month(*ym)
    return out


def month_label(ym: tuple[int, int]) -> str:
    """``(2024, 1)`` → ``"2024-01"``."""
    return f"{ym[0]:04d}-{ym[1]:02d}"


# --- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """One partition of the catalog: venue / market / symbol / interval-or-kind."""

    venue: str
    market: str
    symbol: str
    part: str

    @property
    def kind(self) -> str:
        return kind_of(self.part)[0]

    @property
    def interval(self) -> str | None:
        return kind_of(self.part)[1]

    def __str__(self) -> str:
        return f"{self.venue}/{self.market}/{self.symbol}/{self.part}"

    @classmethod
    def parse(cls, spec: str) -> Key:
        """``[catalog:]venue/market/symbol/part`` → a Key (InvalidInputError naming the spec)."""
        text = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
        parts = text.strip("/").split("/")
        if len(parts) != 4 or not all(_NAME_RE.match(p) for p in parts):
            raise InvalidInputError(f"{spec}: expected catalog:VENUE/MARKET/SYMBOL/INTERVAL (or /KIND), "
                                    "e.g. catalog:binance/usdm/BTCUSDT/1m")
        return cls(parts[0].lower(), parts[1].lower(), parts[2].upper(), parts[3])


@dataclass(slots=True)
class MonthInfo:
    """What a month file says about itself (from the footer only)."""

    path: Path
    month: str
    rows: int
    complete: bool
    sources: list = field(default_factory=list)


class Catalog:
    """A catalog folder (see the module docs). Nothing is created until something is written."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    # -- paths --

    def folder(self, key: Key) -> Path:
        """The partition folder of ``key``."""
        return self.root / key.venue / key.market / key.symbol / key.part

    def month_path(self, key: Key, ym: tuple[int, int]) -> Path:
        """The month file of ``key`` for ``ym`` (it may not exist)."""
        return self.folder(key) / f"{month_label(ym)}.parquet"

    def months(self, key: Key) -> list[tuple[int, int]]:
        """The months ``key`` holds, in order (temporary files ignored)."""
        folder = self.folder(key)
        if not folder.is_dir():
            return []
        out = []
        for p in folder.iterdir():
            m = _MONTH_RE.match(p.name)
            if m and p.is_file():
                out.append((int(m.group(1)), int(m.group(2))))
        return sorted(out)

    def keys(self) -> list[Key]:
        """Every partition holding at least one month, sorted."""
        out: list[Key] = []
        if not self.root.is_dir():
            return out
        for folder in sorted(self.root.glob("*/*/*/*")):
            if folder.is_dir() and not folder.name.startswith("."):
                rel = folder.relative_to(self.root).parts
                key = Key(*rel)
                if self.months(key):
                    out.append(key)
        return out

    def require(self, key: Key) -> None:
        """DataError naming ``key`` and listing what the catalog has, when ``key`` holds nothing."""
        if not self.months(key):
            have = ", ".join(str(k) for k in self.keys()) or "nothing"
            raise DataError(f"{PREFIX}{key}: not in the catalog {self.root} (it has: {have})")

    # -- month files --

    def info(self, key: Key, ym: tuple[int, int]) -> MonthInfo | None:
        """The month's row count and provenance (footer only), or None when the file is absent."""
        path = self.month_path(key, ym)
        if not path.is_file():
            return None
        try:
            meta = pq.read_metadata(path)
        except DECODE_ERRORS as e:
            raise DataError(f"{path}: not a Parquet file ({detail(e)})") from None
        kv = meta.metadata or {}
        sources = json.loads(kv.get(b"trader.sources", b"[]"))
        return MonthInfo(path, month_label(ym), meta.num_rows, kv.get(b"trader.complete") == b"true", sources)

    def read_month(self, key: Key, ym: tuple[int, int], columns: list[str] | None = None) -> pa.Table:
        """A month file as a table (DataError naming the file when it is not readable)."""
        path = self.month_path(key, ym)
        try:
            return pq.read_table(path, columns=columns)
        except DECODE_ERRORS as e:
            raise DataError(f"{path}: not a Parquet file ({detail(e)})") from None

    def write_month(self, key: Key, ym: tuple[int, int], table: pa.Table, *, complete: bool, sources: list) -> Path:
        """Write ``table`` (already sorted, deduplicated, within the month, in the kind's schema) as
        the month file, atomically; ``complete`` and ``sources`` go into its metadata."""
        folder = self.folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        final = self.month_path(key, ym)
        tmp = folder / f".{final.name}.tmp-{os.getpid()}"
        meta = {b"trader.sources": json.dumps(sources).encode(), b"trader.complete": b"true" if complete else b"false",
                b"trader.key": str(key).encode()}
        table = table.cast(schema_of(key.kind)).replace_schema_metadata(meta)
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def clean_temp(self, key: Key) -> None:
        """Remove temporary files a killed writer left in ``key``'s folder."""
        folder = self.folder(key)
        if folder.is_dir():
            for p in folder.glob(".*.parquet.tmp-*"):
                p.unlink(missing_ok=True)

    # -- reading --

    def selected_months(self, key: Key, start_ns: int | None, end_ns: int | None) -> list[tuple[int, int]]:
        """``key``'s months that overlap ``[start_ns, end_ns)`` (pruning before any read)."""
        out = []
        for ym in self.months(key):
            lo, hi = month_start_ns(*ym), month_start_ns(*next_month(*ym))
            if (end_ns is None or lo < end_ns) and (start_ns is None or hi > start_ns):
                out.append(ym)
        return out

    def table(self, key: Key, start: object = None, end: object = None, columns: list[str] | None = None) -> pa.Table:
        """Everything ``key`` holds in ``[start, end)`` as one table (DataError if ``key`` is absent)."""
        self.require(key)
        start_ns, end_ns = to_ns(start, "start"), to_ns(end, "end")
        parts = [self.read_month(key, ym, columns) for ym in self.selected_months(key, start_ns, end_ns)]
        if not parts:
            return schema_of(key.kind).empty_table() if columns is None else schema_of(key.kind).empty_table().select(columns)
        t = pa.concat_tables(parts)
        ts = t.column("ts").to_numpy()
        lo = 0 if start_ns is None else int(np.searchsorted(ts, start_ns, "left"))
        hi = len(ts) if end_ns is None else int(np.searchsorted(ts, end_ns, "left"))
        return t.slice(lo, max(0, hi - lo))

    def funding(self, venue: str, market: str, symbol: str, start: object = None, end: object = None) -> dict | None:
        """The funding series of a symbol as ``{"ts": int64 ns, "rate": float64}`` (the shape
        :func:`trader.backtest.run_backtest` takes as ``funding=``), or None when the catalog has no
        ``fundingRate`` partition for it."""
        key = Key(venue, market, symbol, "fundingRate")
        if not self.months(key):
            return None
        t = self.table(key, start, end, columns=["ts", "rate"])
        return {"ts": t.column("ts").to_numpy(), "rate": t.column("rate").to_numpy()}

    def open(self, key: Key, *, symbol: str | None = None, start: object = None, end: object = None,
             batch_size: int = 1_000_000, gap_policy: str = "report") -> BarFeed:
        """``key``'s bars as a :class:`BarFeed`: only the months overlapping ``[start, end)`` are read,
        one at a time. ``feed.meta["funding"]`` names the symbol's funding partition when the
        catalog has one (``None`` otherwise)."""
        if key.kind not in BAR_KINDS:
            raise DataError(f"{PREFIX}{key}: holds {key.kind}, not bars (bars: an interval such as 1m, or markPrice-1m)")
        self.require(key)
        interval_ns = parse_interval(key.interval)
        assert interval_ns is not None
        start_ns, end_ns = to_ns(start, "start"), to_ns(end, "end")
        months = self.selected_months(key, start_ns, end_ns)
        where = f"{PREFIX}{key}"
        rows = sum(info.rows for ym in months if (info := self.info(key, ym)) is not None)
        funding_key = Key(key.venue, key.market, key.symbol, "fundingRate")

        def chunks() -> Iterator[Chunk]:
            row = 1
            for ym in months:
                t = self.read_month(key, ym, ["ts", "open", "high", "low", "close", "volume"])
                cols = [np.ascontiguousarray(t.column(c).to_numpy(), dtype=np.int64 if c == "ts" else np.float64)
                        for c in t.column_names]
                yield Chunk(row, *cols)
                row += t.num_rows

        return BarFeed(
            source="catalog", where=where, symbol=symbol or key.symbol, interval_ns=interval_ns, chunks=chunks,
            batch_size=batch_size, gap_policy=gap_policy, start=start, end=end,
            meta={"rows": rows, "ts_unit": "ns", "catalog": str(self.root), "months": [month_label(m) for m in months],
                  "funding": f"{PREFIX}{funding_key}" if self.months(funding_key) else None},
        )

    # -- resampling --

    def resample(self, key: Key, to: str, start: object = None, end: object = None) -> tuple[Key, list[MonthInfo]]:
        """Aggregate ``key``'s bars into ``to`` bars (:func:`resample_bars`) and write them into the
        catalog as the partition of that interval (``1h``, or ``markPrice-1h``), month by month,
        atomically. ``start``/``end`` are widened to whole months (a month file is always whole);
        ``to`` must divide a day, so no bucket crosses a month. A month is complete when its source
        month is. Returns the target key and the months written."""
        if key.kind not in BAR_KINDS:
            raise DataError(f"{PREFIX}{key}: holds {key.kind}, not bars: nothing to resample")
        self.require(key)
        to_ns_ = parse_interval(to)
        assert to_ns_ is not None
        step = parse_interval(key.interval)
        assert step is not None
        if to_ns_ <= step or to_ns_ % step:  # refused before anything is read
            raise InvalidInputError(f"--to: {to} must be a multiple of the bars' interval ({key.interval}), and coarser")
        day = 86_400 * 10**9
        if to_ns_ > day or day % to_ns_:
            raise InvalidInputError(f"--to: {to}: into the catalog, the interval must divide a day (buckets of "
                                    "a month file never cross into the next); write longer ones with --out")
        months = self.selected_months(key, to_ns(start, "start"), to_ns(end, "end"))
        if not months:
            raise DataError(f"{PREFIX}{key}: no month between {start} and {end} (it has "
                            f"{', '.join(month_label(m) for m in self.months(key))})")
        name = interval_name(to_ns_)
        target = Key(key.venue, key.market, key.symbol, name if key.kind == "klines" else f"markPrice-{name}")
        if target == key:
            raise InvalidInputError(f"--to: {to} is the interval {PREFIX}{key} already has")
        lo, hi = month_start_ns(*months[0]), month_start_ns(*next_month(*months[-1]))
        bars = self.open(key, start=lo, end=hi).load()
        out = resample_bars(bars, to_ns_)
        written = []
        for ym in months:
            part = out.between(month_start_ns(*ym), month_start_ns(*next_month(*ym)))
            if not len(part):
                continue
            src = self.info(key, ym)
            n = len(part)
            none_f = pa.nulls(n, pa.float64())
            table = pa.table({"ts": part.ts, "open": part.open, "high": part.high, "low": part.low, "close": part.close,
                              "volume": part.volume, "quote_volume": none_f, "trades": pa.nulls(n, pa.int64()),
                              "taker_buy_base": none_f, "taker_buy_quote": none_f}, schema=BAR_SCHEMA)
            complete = src is not None and src.complete
            self.write_month(target, ym, table, complete=complete,
                             sources=[{"resampled_from": f"{PREFIX}{key}", "month": month_label(ym), "to": name}])
            written.append(MonthInfo(self.month_path(target, ym), month_label(ym), n, complete))
        return target, written

    # -- listing --

    def describe(self, key: Key) -> dict:
        """One row of ``trader data list``: venue, market, symbol, interval/kind, first, last,
        rows, months, gaps (bar partitions: steps longer than the interval, across months too;
        other kinds: None), incomplete months."""
        months = self.months(key)
        ts = np.concatenate([self.read_month(key, ym, ["ts"]).column("ts").to_numpy() for ym in months])
        gaps = None
        if key.kind in BAR_KINDS:
            step = parse_interval(key.interval)
            gaps = int(np.count_nonzero(np.diff(ts) > step)) if ts.size > 1 else 0
        incomplete = [m for ym in months if (info := self.info(key, ym)) is not None and not info.complete
                      for m in (info.month,)]
        return {
            "venue": key.venue, "market": key.market, "symbol": key.symbol, "interval": key.part, "kind": key.kind,
            "first": iso(int(ts[0])) if ts.size else None, "last": iso(int(ts[-1])) if ts.size else None,
            "rows": int(ts.size), "months": len(months), "gaps": gaps, "incomplete": incomplete,
            "spec": f"{PREFIX}{key}",
        }

    def list(self) -> list[dict]:
        """:meth:`describe` of every partition."""
        return [self.describe(k) for k in self.keys()]


def catalog_from_options(options: dict) -> Catalog:
    """The catalog a data-source call names with ``catalog=DIR`` (popped from ``options``), else the default."""
    root = options.pop("catalog", None)
    return Catalog(None if root is None else str(root))



class CatalogSource:
    """The data source of ``catalog:VENUE/MARKET/SYMBOL/INTERVAL`` specs (name ``"catalog"``):
    bars from the Parquet catalog, only the months overlapping ``start``/``end`` read. Option
    ``catalog=DIR`` picks the folder (default: :func:`default_root`)."""

    name = "catalog"
    description = "The Parquet catalog of `trader data download`: catalog:binance/usdm/BTCUSDT/1m (-o catalog=DIR)"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """Specs that start with ``catalog:``."""
        return path is not None and str(path).startswith(PREFIX)

    def open(
        self,
        path: str | os.PathLike | None,
        *,
        symbol: str | None = None,
        start: object = None,
        end: object = None,
        batch_size: int = 1_000_000,
        gap_policy: str = "report",
        **options: object,
    ) -> BarFeed:
        """Open a ``catalog:`` spec as a :class:`BarFeed` (unknown entry: DataError naming it and
        listing what the catalog has)."""
        if path is None:
            raise DataError(f"{self.name}: a spec such as catalog:binance/usdm/BTCUSDT/1m is needed")
        cat = catalog_from_options(options)
        if options:
            raise DataError(f"{path}: unknown option(s) for the catalog source: {', '.join(options)} (known: catalog)")
        return cat.open(Key.parse(str(path)), symbol=symbol, start=start, end=end, batch_size=batch_size,
                        gap_policy=gap_policy)


# --- resampling ---------------------------------------------------------------------------------


def decimals(values: np.ndarray, what: str) -> int:
    """The fewest decimals (0-9) that write every value of ``values`` exactly (to 1e-9 relative,
    the float noise of a decimal price); DataError naming ``what`` when 9 are not enough."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    for dp in range(10):
        scaled = v * 10.0**dp
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(scaled, 1.0)):
            return dp
    raise DataError(f"{what}: values with more than 9 decimals cannot be aggregated exactly")


def resample_bars(bars: Bars, to: str | int) -> Bars:
    """``bars`` aggregated into bars of ``to`` (``"1h"``...), by the aggregation of trader's live
    bars — the Rust ``BarAggregator`` (``trader._core``, see ``core-rs/src/data/aggregate.rs``),
    driven through the tick engine: each bar enters as four prints, its open (carrying the volume),
    high, low and close, one nanosecond apart.

    So the rules are the live ones: buckets of ``to`` aligned to the epoch and labelled by their
    open time; OHLC the first, highest, lowest and last prices; the volume summed exactly at the
    data's size precision; a bucket without bars gives no bar; the last bucket is handed out only
    when the bars reach its end (live trading would not have a bar still open either).

    :raise InvalidInputError: ``to`` is not a multiple of the bars' interval, or not coarser.
    """
    from trader.data.ticks import Ticks
    from trader.l2 import run_tick_backtest
    from trader.strategy import Strategy

    to_ns_ = parse_interval(to)
    assert to_ns_ is not None
    step = bars.interval_ns
    if step <= 0 or to_ns_ <= step or to_ns_ % step:
        shown = to if isinstance(to, str) else interval_name(to_ns_)
        raise InvalidInputError(f"--to: {shown} must be a multiple of the bars' interval ({interval_name(step)}), and coarser")
    n = len(bars)
    if n == 0:
        return Bars._trusted(bars.symbol, np.empty(0, np.int64), *(np.empty(0),) * 5, to_ns_)
    ts = np.repeat(bars.ts, 4) + np.tile(np.arange(4, dtype=np.int64), n)
    zeros = np.zeros(n)
    price = np.column_stack([bars.open, bars.high, bars.low, bars.close]).ravel()
    size = np.column_stack([bars.volume, zeros, zeros, zeros]).ravel()
    trades = Ticks("trades", bars.symbol, {"ts_event": ts, "ts_local": ts.copy(), "price": price, "size": size,
                                           "side": np.zeros(4 * n, np.uint8), "id": np.full(4 * n, -1, np.int64)})
    # the quotes the tick engine needs; the last one, at the end of the last bar, is the clock
    # reaching it: it completes the last bucket when the bars reach its end
    qts = np.append(bars.ts, bars.ts[-1] + step)
    qpx = np.append(bars.close, bars.close[-1])
    quotes = Ticks("quotes", bars.symbol, {"ts_event": qts, "ts_local": qts.copy(), "bid_price": qpx,
                                           "bid_size": np.ones(n + 1), "ask_price": qpx, "ask_size": np.ones(n + 1)})
    out: list[tuple[int, float, float, float, float, float]] = []

    class _Collect(Strategy):
        def on_bar(self, bar: object) -> None:
            out.append((bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume))  # type: ignore[attr-defined]

    pdp = decimals(np.concatenate([bars.open, bars.high, bars.low, bars.close]), f"{bars.symbol}: prices")
    sdp = decimals(bars.volume, f"{bars.symbol}: volumes")
    run_tick_backtest(_Collect(), data=trades, quotes=quotes, bar=to_ns_, price_precision=pdp, size_precision=sdp)
    if not out:
        return Bars._trusted(bars.symbol, np.empty(0, np.int64), *(np.empty(0),) * 5, to_ns_)
    ts_out, o, h, lo, c, v = (np.array(col) for col in zip(*out))
    f64 = np.float64
    return Bars._trusted(bars.symbol, ts_out.astype(np.int64), o.astype(f64), h.astype(f64), lo.astype(f64), c.astype(f64),
                         v.astype(f64), to_ns_)


def feed_funding(feeds: list, start: object = None, end: object = None) -> tuple[dict | None, str | None]:
    """The funding series a margin backtest takes from the catalog: when ``feeds`` is one bar feed
    opened from a ``catalog:`` spec whose symbol has a ``fundingRate`` partition, that series
    (``{"ts", "rate"}``, the ``funding=`` of :func:`trader.backtest.run_backtest`) over
    ``[start, end)`` and the spec it came from; ``(None, None)`` otherwise."""
    if len(feeds) != 1 or not getattr(feeds[0], "meta", {}).get("funding"):
        return None, None
    spec = feeds[0].meta["funding"]
    key = Key.parse(spec)
    series = Catalog(feeds[0].meta["catalog"]).funding(key.venue, key.market, key.symbol, start, end)
    if series is None or not len(series["ts"]):
        return None, None
    return series, spec
