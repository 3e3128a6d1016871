"""Tick data: trade prints and top-of-book quotes, as columns (numpy), from three sources.

- ``tardis``: Tardis.dev CSV exports (``.csv``/``.csv.gz``), trades
  (``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``) or quotes
  (``...,ask_amount,ask_price,bid_price,bid_amount``), told apart by the header. Decoded in Rust
  (``trader._core.read_tardis``), no Python loop.
- ``binance_ws``: raw Binance WebSocket recordings (``<recv ns> <JSON>`` a line, gzip or not):
  the ``trade`` stream as trades, ``bookTicker`` as quotes (option ``stream=trades|quotes``).
  Decoded in Rust (``trader._core.read_binance_ticks``).
- ``parquet_ticks``: Parquet files of trades (a timestamp column, ``price`` and one of
  ``quantity``/``size``/``amount``, optional ``side``/``buyer_maker`` and ``trade_id``/``id``) or
  quotes (``bid``/``ask`` or ``bid_price``/``ask_price`` with sizes), read with pyarrow.

Every source's ``open`` returns a :class:`TickFeed`: ``kind`` ("trades" or "quotes"),
:meth:`TickFeed.load` (one :class:`Ticks`), :meth:`TickFeed.batches` (slices of ``batch_size``
rows) and ``meta`` (rows, span, ...), which ``trader data inspect`` prints.

Columns of trades: ``ts_event``, ``ts_local`` (int64 ns; ``ts_local`` = ``ts_event`` when the
source has no receive time), ``price``, ``size`` (float64), ``side`` (uint8 aggressor: 0
unknown, 1 buyer, 2 seller), ``id`` (int64, -1 when absent). Quotes: ``ts_event``, ``ts_local``,
``bid_price``, ``bid_size``, ``ask_price``, ``ask_size``.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trader.data._time import iso, to_ns
from trader.data.feed import check_file, suffixes, symbol_from_path
from trader.exceptions import DataError, TraderError

TRADE_COLUMNS = ("ts_event", "ts_local", "price", "size", "side", "id")
QUOTE_COLUMNS = ("ts_event", "ts_local", "bid_price", "bid_size", "ask_price", "ask_size")
KINDS = ("trades", "quotes")


@dataclass
class Ticks:
    """One batch of ticks of one kind: ``columns`` maps each column name to a numpy array."""

    kind: str
    symbol: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.columns["ts_event"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def slice(self, lo: int, hi: int) -> Ticks:
        return Ticks(self.kind, self.symbol, {k: v[lo:hi] for k, v in self.columns.items()})


@dataclass
class TickFeed:
    """A re-iterable stream of :class:`Ticks` from one source (see the module docs)."""

    source: str
    where: str
    kind: str
    symbol: str
    loader: Callable[[], dict[str, np.ndarray]]
    batch_size: int = 1_000_000
    start: object = None
    end: object = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise DataError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        self.start_ns = to_ns(self.start, "start")
        self.end_ns = to_ns(self.end, "end")
        self.meta.update(source=self.source, path=self.where, symbol=self.symbol, kind=self.kind, complete=False)

    def load(self) -> Ticks:
        """Every selected tick as one :class:`Ticks` (updates ``meta``)."""
        cols = self.loader()
        ts = cols["ts_event"]
        rows = int(ts.shape[0])
        if rows > 1 and bool(np.any(ts[1:] < ts[:-1])):
            i = int(np.argmax(ts[1:] < ts[:-1])) + 2
            raise DataError(f"{self.where}: row {i}: timestamp goes back in time")
        lo = 0 if self.start_ns is None else int(np.searchsorted(ts, self.start_ns, "left"))
        hi = rows if self.end_ns is None else int(np.searchsorted(ts, self.end_ns, "left"))
        cols = {k: v[lo:hi] for k, v in cols.items()}
        n = hi - lo if hi > lo else 0
        first = int(cols["ts_event"][0]) if n else None
        last = int(cols["ts_event"][-1]) if n else None
        self.meta.update(
            rows=rows,
            ticks=n,
            first_ts=first,
            last_ts=last,
            first=iso(first) if first is not None else None,
            last=iso(last) if last is not None else None,
            complete=True,
        )
        return Ticks(self.kind, self.symbol, cols)

    def batches(self) -> Iterator[Ticks]:
        """Slices of ``batch_size`` ticks (views of one decoded block)."""
        t = self.load()
        for i in range(0, len(t), self.batch_size):
            yield t.slice(i, i + self.batch_size)

    def __iter__(self) -> Iterator[Ticks]:
        return self.batches()


def _first_line(path: str) -> str:
    return _first_lines(path, 1)[0]


def _first_lines(path: str, n: int) -> list[str]:
    """The first ``n`` lines of a (possibly gzipped) text file; missing ones are ""."""
    opener = gzip.open if _is_gzip(path) else open
    out: list[str] = []
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
            for _ in range(n):
                out.append(f.readline())
    except (OSError, EOFError):
        pass
    return out + [""] * (n - len(out))


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _core_call(fn: Callable, path: str):  # noqa: ANN202 - returns whatever the decoder returns
    try:
        return fn(path)
    except TraderError as e:
        raise DataError(str(e)) from None


class _TickSource:
    name = ""
    description = ""

    def _feed(self, path: str, kind: str, loader: Callable[[], dict], symbol: str | None, start: object, end: object, batch_size: int) -> TickFeed:
        return TickFeed(self.name, path, kind, symbol or symbol_from_path(path), loader, batch_size, start, end)

    @staticmethod
    def _no_options(name: str, gap_policy: str, options: dict) -> None:
        if options:
            raise DataError(f"data source {name}: unknown option {sorted(options)[0]!r}")
        del gap_policy  # ticks have no fixed interval: the gap policy does not apply


class TardisSource(_TickSource):
    """Tardis.dev trades / quotes CSV (``.csv``/``.csv.gz``), decoded in Rust. The symbol is the
    file's ``symbol`` column (its first row), else taken from the file name."""

    name = "tardis"
    description = "Tardis.dev CSV trades or quotes (header-sniffed), .csv or .csv.gz; ticks decoded in Rust"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """A CSV extension and a Tardis trades/quotes header."""
        if path is None or suffixes(path) not in (".csv", ".csv.gz") or not Path(path).is_file():
            return False
        head = {c.strip().lower() for c in _first_line(str(path)).split(",")}
        return {"timestamp", "local_timestamp"} <= head and ({"price", "amount", "side"} <= head or {"bid_price", "ask_price"} <= head)

    def open(self, path, *, symbol=None, start=None, end=None, batch_size=1_000_000, gap_policy="report", **options) -> TickFeed:  # noqa: ANN001
        """Open a Tardis file; ``kind`` comes from its header."""
        from trader import _core

        self._no_options(self.name, gap_policy, options)
        where = str(check_file(path))
        header, row = _first_lines(where, 2)
        names = [c.strip().lower() for c in header.split(",")]
        kind = "quotes" if {"bid_price", "ask_price"} <= set(names) else "trades"
        if symbol is None and "symbol" in names:  # the exchange's symbol, from the first row
            cells = row.split(",")
            i = names.index("symbol")
            symbol = cells[i].strip() if len(cells) == len(names) and cells[i].strip() else None

        def load() -> dict:
            got_kind, cols = _core_call(_core.read_tardis, where)
            assert got_kind == kind
            return dict(cols)

        return self._feed(where, kind, load, symbol, start, end, batch_size)


_WS_LINE = re.compile(r"^\d+ \{")


class BinanceWsTickSource(_TickSource):
    """Trades or bookTicker quotes of a raw Binance WebSocket recording, decoded in Rust."""

    name = "binance_ws"
    description = "raw Binance WebSocket recording (<ns> <JSON> lines, gz): trade stream as trades, bookTicker as quotes (option stream=)"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """A file whose first line is ``<integer> {JSON``."""
        if path is None or not Path(path).is_file():
            return False
        return bool(_WS_LINE.match(_first_line(str(path))))

    def open(self, path, *, symbol=None, start=None, end=None, batch_size=1_000_000, gap_policy="report", stream="trades", **options) -> TickFeed:  # noqa: ANN001
        """Open a recording; ``stream="trades"`` (default) or ``"quotes"``."""
        from trader import _core

        self._no_options(self.name, gap_policy, options)
        if stream not in KINDS:
            raise DataError(f"data source {self.name}: stream must be trades or quotes, got {stream!r}")
        where = str(check_file(path))
        default_symbol = Path(where).name.split("_")[0].upper()

        def load() -> dict:
            trades, quotes = _core_call(_core.read_binance_ticks, where)
            return dict(trades if stream == "trades" else quotes)

        return self._feed(where, stream, load, symbol or default_symbol, start, end, batch_size)


def _pick(names: dict[str, str], *candidates: str) -> str | None:
    for c in candidates:
        if c in names:
            return names[c]
    return None


class ParquetTickSource(_TickSource):
    """Parquet trades or quotes, read with pyarrow (columns found by name)."""

    name = "parquet_ticks"
    description = "Parquet trade ticks (price + quantity/size/amount) or quotes (bid/ask [+ sizes]), via pyarrow"

    @staticmethod
    def _layout(path: str) -> tuple[str, dict[str, str]] | None:
        import pyarrow.parquet as pq

        try:
            names = {n.lower(): n for n in pq.ParquetFile(path).schema_arrow.names}
        except Exception:  # not a readable Parquet file: not ours
            return None
        if "open" in names and "close" in names:
            return None
        ts = _pick(names, "timestamp", "ts_event", "ts", "time", "date")
        if ts is None:
            return None
        bid, ask = _pick(names, "bid", "bid_price"), _pick(names, "ask", "ask_price")
        if bid and ask:
            return "quotes", {
                "ts": ts, "bid_price": bid, "ask_price": ask,
                "bid_size": _pick(names, "bid_size", "bid_amount", "bid_qty") or "",
                "ask_size": _pick(names, "ask_size", "ask_amount", "ask_qty") or "",
            }
        px, qty = _pick(names, "price"), _pick(names, "quantity", "size", "amount", "qty")
        if px and qty:
            return "trades", {
                "ts": ts, "price": px, "size": qty,
                "side": _pick(names, "side", "aggressor_side") or "",
                "buyer_maker": _pick(names, "buyer_maker", "is_buyer_maker") or "",
                "id": _pick(names, "trade_id", "id") or "",
            }
        return None

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """A ``.parquet`` file whose columns are trades or quotes (not OHLCV bars)."""
        if path is None or suffixes(path) not in (".parquet", ".pq") or not Path(path).is_file():
            return False
        return self._layout(str(path)) is not None

    def open(self, path, *, symbol=None, start=None, end=None, batch_size=1_000_000, gap_policy="report", **options) -> TickFeed:  # noqa: ANN001
        import pyarrow.parquet as pq

        from trader.data._convert import floats, timestamps_ns

        self._no_options(self.name, gap_policy, options)
        where = str(check_file(path))
        layout = self._layout(where)
        if layout is None:
            raise DataError(f"{where}: not a Parquet file of trades (price, quantity) or quotes (bid, ask)")
        kind, cols = layout

        def load() -> dict:
            t = pq.read_table(where, columns=[c for c in cols.values() if c])
            ts = timestamps_ns(t.column(cols["ts"]), where, 1, cols["ts"], {})
            n = ts.shape[0]
            out: dict[str, np.ndarray] = {"ts_event": ts, "ts_local": ts.copy()}
            if kind == "quotes":
                for k in ("bid_price", "bid_size", "ask_price", "ask_size"):
                    out[k] = floats(t.column(cols[k]), where, 1, cols[k]) if cols[k] else np.full(n, np.nan)
                return out
            out["price"] = floats(t.column(cols["price"]), where, 1, cols["price"])
            out["size"] = floats(t.column(cols["size"]), where, 1, cols["size"])
            side = np.zeros(n, dtype=np.uint8)
            if cols["buyer_maker"]:
                bm = np.asarray(t.column(cols["buyer_maker"]).to_numpy(zero_copy_only=False)).astype(str)
                low = np.char.lower(bm)
                side = np.where(low == "true", 2, np.where(low == "false", 1, 0)).astype(np.uint8)
            elif cols["side"]:
                s = np.char.lower(np.asarray(t.column(cols["side"]).to_numpy(zero_copy_only=False)).astype(str))
                side = np.where(np.isin(s, ("buy", "buyer", "b")), 1, np.where(np.isin(s, ("sell", "seller", "s")), 2, 0)).astype(np.uint8)
            out["side"] = side
            out["id"] = np.asarray(t.column(cols["id"]).to_numpy(), dtype=np.int64) if cols["id"] else np.full(n, -1, dtype=np.int64)
            return out

        return self._feed(where, kind, load, symbol, start, end, batch_size)


__all__ = ["Ticks", "TickFeed", "TardisSource", "BinanceWsTickSource", "ParquetTickSource", "TRADE_COLUMNS", "QUOTE_COLUMNS"]
