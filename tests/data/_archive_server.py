"""A local stand-in for Binance's public-data archive and its REST klines/funding endpoints, on
127.0.0.1 (ephemeral port), built from real bars, with switchable faults.

Archive layout as Binance's public-data archive serves it (the tests never reach it: every URL is this server's): ``data/{spot|futures/um}/{monthly|daily}/
{kind}/{SYM}/{interval}/{SYM}-{interval}-{label}.zip`` plus ``.zip.CHECKSUM`` (``<sha256>  <name>``).
Spot CSVs have no header (µs open times from 2025 on), futures CSVs have one.

Faults (attributes, changeable while it runs): ``missing`` (paths answered 404), ``corrupt``
(paths whose zip bytes are damaged, CHECKSUM matching the damaged bytes: a bad zip),
``bad_checksum`` (paths whose CHECKSUM names another digest), ``throttle`` (paths answered 429
with ``Retry-After: 1`` the first time they are asked for), ``delay`` (seconds before each
archive answer), ``used_weight`` (the ``X-MBX-USED-WEIGHT-1M`` REST answers carry; default: the
number of requests so far), ``ban`` (REST answers 418). ``log`` records every request path (with
its query for REST).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import threading
import zipfile

import numpy as np
from aiohttp import web

MS = 1_000_000


def _fmt(x: float) -> str:
    return repr(float(x))


def kline_csv(ts_ns: np.ndarray, o, h, lo, c, v, interval_ns: int, *, header: bool, micros: bool) -> bytes:
    """Binance kline CSV rows (12 fields) for the bars given."""
    unit = 1000 if micros else MS
    out = io.StringIO()
    if header:
        out.write("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
                  "taker_buy_quote_volume,ignore\n")
    for i in range(ts_ns.size):
        t = int(ts_ns[i]) // unit
        close_t = (int(ts_ns[i]) + interval_ns) // unit - 1
        out.write(f"{t},{_fmt(o[i])},{_fmt(h[i])},{_fmt(lo[i])},{_fmt(c[i])},{_fmt(v[i])},{close_t},"
                  f"{_fmt(v[i] * c[i])},{100 + i % 7},{_fmt(v[i] / 2)},{_fmt(v[i] * c[i] / 2)},0\n")
    return out.getvalue().encode()


def zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def _label(ts_ns: int, daily: bool) -> str:
    d = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%d" if daily else "%Y-%m")


class ArchiveServer:
    """See the module docs. ``url`` is set once :meth:`start` returns."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.rest_klines: dict[tuple[str, str, str], tuple[np.ndarray, ...]] = {}
        self.rest_funding: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.missing: set[str] = set()
        self.corrupt: set[str] = set()
        self.bad_checksum: set[str] = set()
        self.throttle: set[str] = set()
        self.delay = 0.0
        self.used_weight: int | None = None
        self.ban = False
        self.log: list[str] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- content --

    def add_klines(self, market: str, symbol: str, interval: str, interval_ns: int, ts: np.ndarray, o, h, lo, c, v,
                   *, kind: str = "klines", daily: bool = True) -> list[str]:
        """Monthly (and daily) archive files of these bars; returns the monthly paths, in order."""
        root = "data/spot" if market == "spot" else "data/futures/um"
        labels = np.array([_label(int(t), False) for t in ts])
        months = []
        for daily_files in ((False, True) if daily else (False,)):
            keys = np.array([_label(int(t), True) for t in ts]) if daily_files else labels
            for label in dict.fromkeys(keys.tolist()):
                sel = keys == label
                name = f"{symbol}-{interval}-{label}"
                micros = market == "spot" and label >= "2025"
                data = kline_csv(ts[sel], o[sel], h[sel], lo[sel], c[sel], v[sel], interval_ns, header=market == "usdm",
                                 micros=micros)
                path = f"{root}/{'daily' if daily_files else 'monthly'}/{kind}/{symbol}/{interval}/{name}.zip"
                self.files[path] = zipped(f"{name}.csv", data)
                if not daily_files:
                    months.append(path)
        return months

    def add_csv(self, path: str, csv: bytes) -> str:
        """Any archive file: ``csv`` zipped at ``path`` (``....zip``); returns ``path``."""
        self.files[path] = zipped(path.rsplit("/", 1)[-1][: -len(".zip")] + ".csv", csv)
        return path

    def add_funding(self, symbol: str, ts: np.ndarray, rate: np.ndarray) -> list[str]:
        """Monthly fundingRate files (futures layout, with header); returns their paths."""
        labels = np.array([_label(int(t), False) for t in ts])
        paths = []
        for label in dict.fromkeys(labels.tolist()):
            sel = labels == label
            rows = "".join(f"{int(t) // MS},8,{_fmt(r)}\n" for t, r in zip(ts[sel], rate[sel]))
            name = f"{symbol}-fundingRate-{label}"
            path = f"data/futures/um/monthly/fundingRate/{symbol}/{name}.zip"
            self.files[path] = zipped(f"{name}.csv", ("calc_time,funding_interval_hours,last_funding_rate\n" + rows).encode())
            paths.append(path)
        return paths

    # -- serving --

    def _checksum_for(self, path: str) -> bytes:
        data = self._zip_bytes(path)
        digest = hashlib.sha256(data).hexdigest()
        if path in self.bad_checksum:
            digest = hashlib.sha256(data + b"x").hexdigest()
        return f"{digest}  {path.rsplit('/', 1)[-1]}\n".encode()

    def _zip_bytes(self, path: str) -> bytes:
        data = self.files[path]
        if path in self.corrupt:
            mid = len(data) // 2
            data = data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 64]) + data[mid + 64 :]
        return data

    async def _archive(self, request: web.Request) -> web.Response:
        path = request.match_info["tail"]
        self.log.append(path)
        if self.delay:
            await asyncio.sleep(self.delay)
        base = path[: -len(".CHECKSUM")] if path.endswith(".CHECKSUM") else path
        if path in self.throttle:
            self.throttle.discard(path)
            return web.Response(status=429, headers={"Retry-After": "1"}, text="Too many requests")
        if base not in self.files or base in self.missing:
            return web.Response(status=404, text="Not Found")
        body = self._checksum_for(base) if path.endswith(".CHECKSUM") else self._zip_bytes(base)
        return web.Response(body=body, content_type="application/zip")

    async def _klines(self, request: web.Request) -> web.Response:
        q = request.query
        self.log.append(f"{request.path}?{request.query_string}")
        if self.ban:
            return web.Response(status=418, headers={"Retry-After": "120"}, text="IP banned")
        market = "spot" if request.path.startswith("/api/") else "usdm"
        data = self.rest_klines.get((market, q["symbol"], q["interval"]))
        rows: list = []
        if data is not None:
            ts, o, h, lo, c, v, interval_ns = data
            a = np.searchsorted(ts, int(q["startTime"]) * MS, "left")
            b = np.searchsorted(ts, (int(q["endTime"]) + 1) * MS, "left")
            b = min(b, a + int(q.get("limit", 500)))
            for i in range(a, b):
                t = int(ts[i]) // MS
                rows.append([t, _fmt(o[i]), _fmt(h[i]), _fmt(lo[i]), _fmt(c[i]), _fmt(v[i]), t + interval_ns // MS - 1,
                             _fmt(v[i] * c[i]), 100 + i % 7, _fmt(v[i] / 2), _fmt(v[i] * c[i] / 2), "0"])
        used = len(self.log) if self.used_weight is None else self.used_weight
        return web.json_response(rows, headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    async def _funding(self, request: web.Request) -> web.Response:
        q = request.query
        self.log.append(f"{request.path}?{request.query_string}")
        rows = []
        if q["symbol"] in self.rest_funding:
            ts, rate = self.rest_funding[q["symbol"]]
            sel = (ts >= int(q["startTime"]) * MS) & (ts <= int(q["endTime"]) * MS)
            for t, r in list(zip(ts[sel], rate[sel]))[: int(q.get("limit", 100))]:
                rows.append({"symbol": q["symbol"], "fundingTime": int(t) // MS, "fundingRate": _fmt(r), "markPrice": "1.0"})
        return web.json_response(rows)

    def start(self) -> str:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/api/v3/klines", self._klines)
            app.router.add_get("/fapi/v1/klines", self._klines)
            app.router.add_get("/fapi/v1/fundingRate", self._funding)
            app.router.add_get("/{tail:data/.*}", self._archive)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = self._runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="archive-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
