"""The live node: one asyncio loop runs a feed, the engine sessions of one or more strategies, the
control API and the metrics (``trader live``).

Data flow (see DESIGN.md, "Live"): the feed (a data client of a venue plugin) yields batches of
decoded events; the node pushes each batch into every strategy's session — its SPSC ring — and
the session's engine (the Rust loop of the tick/L2 backtests) consumes the ring, calls the
strategy and routes its orders through the risk engine to the execution client (paper: the Rust
simulated venue, with the backtests' fill models, fees, latency and account). A replay at
``--speed max`` is therefore the backtest, event for event: same orders, same fills.

Slow strategy policy: the ring never drops an event. A full ring makes the node run the engine
before pushing the rest (back-pressure on the feed); how far behind the engine is shows as the
feed lag and the ring's backlog in the metrics and ``/status``.

Each strategy has its own id, orders and (paper) account: two configurations side by side on one
feed are an A/B dry run, compared at the end (PnL, drawdown, win rate, orders, latency).

Stopping: SIGINT/SIGTERM, ``--duration``, the end of a replay, or a fatal error. The node stops
feeding, lets each engine finish what its ring holds, cancels the working orders (unless
``cancel_on_stop`` is false), ends the sessions (the strategies' ``on_stop``), writes the fills,
the audit logs and the final status, and returns the summary. A second SIGINT exits at once.

Watchdog (the dead-man's switch): a thread watches the loop's heartbeat; a strategy callback or
the loop stalled past ``watchdog`` seconds moves every session to HALTED with the reason, as
soon as the loop runs again, and the node reports not ready until an operator resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError, StrategyError

__all__ = ["LiveNode", "StrategySlot"]

log = logging.getLogger("trader.live")

#: The health check calls a feed stale after this many seconds without an event (or 10 event
#: intervals of a synthetic feed, when longer).
STALE_AFTER_S = 10.0

#: How often the engine's clock follows the wall clock between the events of a real-time feed.
CLOCK_TICK_S = 0.005


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (ISO 8601, UTC), level, logger, msg, and the record's extras."""

    RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in self.RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def setup_logging(level: str, path: Path, *, stderr: bool = True) -> list[logging.Handler]:
    """JSON logs to stderr and to a rotating file (10 MB x 3) for the ``trader`` loggers."""
    handlers: list[logging.Handler] = []
    fmt = JsonFormatter()
    fh = logging.handlers.RotatingFileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8")
    fh.setFormatter(fmt)
    handlers.append(fh)
    if stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        handlers.append(sh)
    root = logging.getLogger("trader")
    root.setLevel(getattr(logging, level.upper()))
    for h in handlers:
        root.addHandler(h)
    root.propagate = False
    return handlers


@dataclass
class StrategySlot:
    """One strategy of the node: its session (ring, engine, paper account) and running figures."""

    id: str
    name: str
    strategy: Any
    session: Any
    peak_equity: float = -math.inf
    max_drawdown: float = 0.0
    latencies: list[np.ndarray] = field(default_factory=list)
    processed: int = 0
    report: dict[str, Any] | None = None
    fills_seen: int = 0
    #: The ring's counters at the end (pushed/processed by stream, full, max_backlog).
    ring: dict[str, Any] = field(default_factory=dict)
    #: A real venue: the commands out, the reports in (:class:`trader.live.venue_link.VenueLink`).
    link: Any = None

    def observe_equity(self, equity: float) -> None:
        self.peak_equity = max(self.peak_equity, equity)
        if self.peak_equity > 0:
            self.max_drawdown = max(self.max_drawdown, (self.peak_equity - equity) / self.peak_equity)

    def latency_us(self, q: float) -> float | None:
        if not self.latencies:
            return None
        a = np.concatenate(self.latencies)
        return float(np.percentile(a, q)) / 1e3 if len(a) else None


def win_rate(fills: dict[str, Any]) -> tuple[int, float | None]:
    """(closing fills, share of them that realized a gain) from a report's fill columns: each fill
    that reduces the position realizes (price - average entry) x qty on the closed part."""
    pos = 0.0
    avg = 0.0
    closes = wins = 0
    for side, px, qty in zip(fills["side"], fills["price"], fills["qty"]):
        px, q = float(px), float(qty) * (1.0 if side > 0 else -1.0)
        if pos != 0 and (pos > 0) != (q > 0):
            closed = min(abs(q), abs(pos))
            gain = (px - avg) * closed * (1.0 if pos > 0 else -1.0)
            closes += 1
            wins += gain > 0
            rest = q + (closed if pos > 0 else -closed)
            pos += -closed if pos > 0 else closed
            if pos == 0:
                avg = 0.0
            q = rest
        if q != 0:
            avg = (avg * abs(pos) + px * abs(q)) / (abs(pos) + abs(q))
            pos += q
    return closes, (wins / closes if closes else None)


class LiveNode:
    """A live node built from a :class:`trader.live.config.LiveConfig` (everything that can be
    wrong with it is checked here, before :meth:`run` starts anything)."""

    def __init__(self, cfg: Any, *, log_to_stderr: bool = True) -> None:
        from trader.live.metrics import NodeMetrics
        from trader.plugins import data_clients, execution_clients

        self.cfg = cfg
        self.state_dir = Path(cfg.state)
        if self.state_dir.exists() and not self.state_dir.is_dir():
            raise InvalidInputError(f"state: {cfg.state} is a file, not a folder")
        clients = data_clients()
        spec = cfg.feed_spec
        if spec.kind != "failover" and spec.kind not in clients:
            raise InvalidInputError(f"feed: unknown data client {spec.kind!r} (known: {', '.join(sorted(clients))})")
        venues = execution_clients()
        kind = cfg.venue_kind
        if kind not in venues:
            raise InvalidInputError(f"venue: unknown execution client {kind!r} (known: {', '.join(sorted(venues))})")
        self.venue = venues[kind]
        if cfg.paper and not getattr(self.venue, "paper", False):
            raise InvalidInputError(f"venue: {kind} is a real venue; --paper needs a paper venue (sim)")
        if not cfg.paper and getattr(self.venue, "paper", False):
            raise InvalidInputError(f"venue: {kind} is the paper venue; give a real venue to trade for real")
        if spec.kind == "failover":  # sources opened through their data clients (trader.live.failover_spec)
            from trader.live.failover_spec import open_failover

            self.feed = open_failover(spec, clients, speed=cfg.speed)
        else:
            self.feed = clients[spec.kind].open(list(spec.paths), dict(spec.options), speed=cfg.speed)
        #: A real venue's execution client (None: paper), shared by the strategies; its reports go
        #: to the strategy whose client order ids they carry.
        self.exec_client: Any = None
        if not cfg.paper:
            self.exec_client = self.venue.client(cfg.venue_options(), self.venue.credentials(cfg.credentials),
                                                 self._on_report)
            # the key, the secret and the URLs are checked before anything starts (a signed read)
            try:
                self._venue_status = self.exec_client.mass_status(0)
            except InvalidInputError:
                raise
            except Exception as e:
                raise InvalidInputError(f"venue {kind}: {type(e).__name__}: {e}") from None
        self.settings = self._settings()
        self.slots = [self._slot(e) for e in cfg.entries()]
        self.persistence: Any = None
        if cfg.persist:
            self.persistence = self._persist()
        self.metrics = NodeMetrics()
        if spec.kind == "failover":
            self.feed.metrics = self.metrics  # switches counted, the active source shown
        self.log_to_stderr = log_to_stderr
        self.started_wall: float | None = None
        self.stop_reason: str | None = None
        self.fatal: BaseException | None = None
        self._heartbeat = time.monotonic()
        self._busy_since: float | None = None
        self._stall: str | None = None
        self._last_event_wall: dict[str, float] = {}
        self._last_event_ts: dict[str, int] = {}
        self._lag_s = 0.0
        self._halted_by_watchdog = False
        self._sigints = 0
        self._server: Any = None
        self.control_url: str | None = None
        #: (strategy, order, venue's answer) the in-flight check has reported.
        self._inflight_seen: set[tuple[Any, ...]] = set()

    # -- building ---------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        """The engine keywords of every session: a replay's come from the recording exactly as
        ``trader backtest-l2`` computes them (:func:`trader.l2.l2_settings`)."""
        cfg = self.cfg
        from trader import l2

        bar_ns = l2._bar_ns(cfg.bar)
        if self.feed.mode == "l2" and hasattr(self.feed, "instrument"):  # a venue's live market data
            inst = self.feed.instrument()
            market = inst["market"]
            cash = self._venue_cash(inst) if cfg.cash is None else l2._cash(cfg.cash)
            self._info, self._cash = {"market": market, "symbol": inst["symbol"], **inst}, cash
            return dict(
                market=market, queue=l2.queue_spec(None), elapse_ns=l2._elapse_ns(cfg.elapse_ms),
                maker_fee_bps=float(cfg.maker_fee_bps), taker_fee_bps=float(cfg.taker_fee_bps),
                latency=l2._latency(cfg.latency), risk=l2._risk(cfg.risk_config, inst["symbol"], l2.L2_SYMBOL, cash),
                cash=cash, symbol=inst["symbol"], bar_ns=bar_ns, price_precision=inst["price_precision"],
                size_precision=inst["size_precision"], **l2._account(cfg.account, market, cfg.leverage))
        if self.feed.mode == "l2":
            common, info, cash = l2.l2_settings(
                self.feed.paths, market=cfg.market, bar_ns=bar_ns, fill_model=None, elapse_ms=cfg.elapse_ms,
                maker_fee_bps=cfg.maker_fee_bps, taker_fee_bps=cfg.taker_fee_bps, latency=cfg.latency,
                risk=cfg.risk_config, cash=cfg.cash, account=cfg.account, leverage=cfg.leverage,
                price_precision=None, size_precision=None)
            if info["price_precision"] is None or info["size_precision"] is None:
                raise InvalidInputError(f"feed: no price or size in the first lines of {self.feed.paths[0]}: "
                                        "cannot infer the precision")
            common["price_precision"] = info["price_precision"]
            common["size_precision"] = info["size_precision"]
            self._info, self._cash = info, cash
            return common
        market = l2._market(cfg.market) if cfg.market is not None else self.feed.market
        cash = l2._cash(10_000.0 if cfg.cash is None else cfg.cash)
        symbol = self.feed.symbol
        self._info, self._cash = {"market": market, "symbol": symbol}, cash
        return dict(
            market=market, queue=l2.queue_spec(None), elapse_ns=l2._elapse_ns(cfg.elapse_ms),
            maker_fee_bps=float(cfg.maker_fee_bps), taker_fee_bps=float(cfg.taker_fee_bps),
            latency=l2._latency(cfg.latency), risk=l2._risk(cfg.risk_config, symbol, l2.TICKS_SYMBOL, cash),
            cash=cash, symbol=symbol, bar_ns=bar_ns, price_precision=self.feed.price_precision,
            size_precision=self.feed.size_precision, **l2._account(cfg.account, market, cfg.leverage))

    def _venue_cash(self, inst: dict[str, Any]) -> float:
        """The engine's cash on a real venue: the account's quote balance there (paper: 10,000)."""
        from trader import l2

        if self.exec_client is None:
            return l2._cash(10_000.0)
        status = self._venue_status
        quote = inst.get("quote_asset") or "USDT"
        try:
            return l2._cash(float(status.balances.get(quote, "0")))
        except InvalidInputError:
            raise InvalidInputError(f"venue {self.cfg.venue_kind}: the account holds no {quote} to trade "
                                    f"{inst['symbol']} with (give --cash for the engine's budget)") from None

    def _reconciling(self, slot: StrategySlot) -> Any:
        """What reconciliation and the in-flight check ask about ``slot``'s orders: the paper
        venue's session, or the real venue's answers narrowed to the strategy's client order ids."""
        if getattr(self, "exec_client", None) is None:
            return self.venue.reconciling_venue(slot.session, slot.id)
        from trader.live.venue_link import StrategyView

        return StrategyView(self.exec_client, slot.id)

    def _on_report(self, report: Any) -> None:
        """A real venue's report: to the strategy whose client order id it carries (balances and
        positions to every one)."""
        cid = getattr(report, "client_id", None)
        for slot in self.slots:
            link = slot.link
            if link is None:
                continue
            if cid is None or cid.startswith(slot.id + "-"):
                try:
                    link.on_report(report)
                except StrategyError as e:
                    self.fatal = self.fatal or e
                    self.request_stop(f"the strategy raised: {e}")
                if cid is not None:
                    return
        if cid is not None:
            log.warning("report of an order no strategy of this node placed", extra={"client_id": cid,
                                                                                     "report": type(report).__name__})

    def _persist(self) -> Any:
        """Open the store (its checks first: a foreign, damaged or newer store, an unreachable
        database stop here with one line), restore each session from its last checkpoint and
        move the feed after the stored position (see :mod:`trader.live.persist`)."""
        from trader.live.persist import Persistence

        if getattr(self, "exec_client", None) is None and not hasattr(self.venue, "reconciling_venue"):
            raise InvalidInputError(f"venue: {self.cfg.venue_kind} cannot reconcile after a restart (no reconciling_venue); "
                                    "run with --no-persist")
        p = Persistence(self.cfg, self.state_dir)
        try:
            p.check_identity()
            p.claim()
            position = p.feed_position(self.feed.kind)
            for slot in self.slots:
                p.attach(slot)
            if position:
                if hasattr(self.feed, "resume"):
                    self.feed.resume(position)
                    p.feed_resumed_at = position
                else:
                    log.warning("feed cannot resume", extra={"feed": self.feed.describe(), "stored_position": position})
        except BaseException:
            p.abandon()
            raise
        return p

    def _slot(self, entry: Any) -> StrategySlot:
        from trader import l2

        strategy = l2._strategy(entry.strategy, dict(entry.params), self.settings.get("bar_ns"),
                                "a live (replay)" if self.feed.mode == "l2" else "a live")
        strategy._live = True
        link = None
        if self.exec_client is None:
            session = self.venue.session(strategy, self.feed, dict(self.settings))
        else:
            from trader import _core
            from trader.live.venue_link import VenueLink

            session = _core.LiveSession(strategy, mode=self.feed.mode, venue="external", **self.settings)
            link = VenueLink(session, entry.id, self.exec_client)
        return StrategySlot(id=entry.id, name=strategy.name or type(strategy).__name__, strategy=strategy,
                            session=session, link=link)

    # -- the control API's view (NodeControl) -----------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Trading state, positions, open orders, cash, equity and PnL of each strategy; the
        last event time per stream, the lag and the ring's backlog."""
        now = time.time()
        out: dict[str, Any] = {
            "node": {
                "pid": os.getpid(),
                "paper": bool(self.cfg.paper),
                "venue": self.cfg.venue_kind,
                "feed": self.feed.describe(),
                "started": self.started_wall,
                "uptime_s": (now - self.started_wall) if self.started_wall else 0.0,
                "stopping": self.stop_reason is not None,
                "stop_reason": self.stop_reason,
            },
            "streams": {
                s: {"last_event_ts": self._last_event_ts.get(s),
                    "seconds_since_last": (time.monotonic() - t) if (t := self._last_event_wall.get(s)) else None}
                for s in ("line", "trade", "quote")
                if s in self._last_event_wall
            },
            "lag_s": self._lag_s,
            "strategies": [],
        }
        for slot in self.slots:
            if slot.report is not None:
                st = {"finished": True, "trading_state": slot.report.get("risk", {}).get("state")}
            else:
                st = dict(slot.session.status())
                st["backlog"] = slot.session.backlog
            st["id"] = slot.id
            st["strategy"] = slot.name
            st["max_drawdown"] = slot.max_drawdown
            out["strategies"].append(st)
        return out

    def health(self) -> tuple[bool, str | None]:
        """(ready, why not): not ready while halted or in emergency, when the watchdog fired, or
        when the feed went stale."""
        if self._stall:
            return False, f"halted: {self._stall}"
        for slot in self.slots:
            if slot.report is None:
                state = slot.session.status()["trading_state"]
                if state in ("halted", "emergency"):
                    return False, f"{state}: strategy {slot.id}"
        if self.stop_reason is not None:
            return False, f"stopping: {self.stop_reason}"
        last = max(self._last_event_wall.values(), default=None)
        stale = max(STALE_AFTER_S, 10.0 / getattr(self.feed, "rate", 1e9))
        if last is None:
            if self.started_wall and time.time() - self.started_wall > stale:
                return False, "feed stale: no event yet"
            return False, "starting: no event yet"
        if time.monotonic() - last > stale:
            return False, f"feed stale: no event for {time.monotonic() - last:.1f} s"
        return True, None

    def set_state(self, state: str, reason: str) -> dict[str, Any]:
        """An operator's trading state for every strategy (audited, source "operator")."""
        from trader.risk import STATES

        s = str(state).strip().lower()
        if s not in STATES:
            raise InvalidInputError(f"state: unknown trading state {state!r} (one of {', '.join(STATES)})")
        if not str(reason).strip():
            raise InvalidInputError("reason: a state change needs a reason")
        previous = {}
        for slot in self._running():
            previous[slot.id] = slot.session.status()["trading_state"]
            slot.session.set_state(s, str(reason))
        if s == "active":
            self._stall = None
        self.metrics.set_state(s)
        log.info("operator state", extra={"state": s, "reason": str(reason), "previous": previous})
        return {"state": s, "previous": previous}

    def cancel_all(self, reason: str = "operator cancel-all") -> dict[str, Any]:
        """Cancel every working order of every strategy (audited)."""
        out = {slot.id: list(slot.session.cancel_all(reason)) for slot in self._running()}
        log.info("operator cancel-all", extra={"canceled": out, "reason": reason})
        return {"canceled": sum(len(v) for v in out.values()), "by_strategy": out}

    def flatten(self, reason: str = "operator flatten") -> dict[str, Any]:
        """Cancel-all, then close every strategy's position with a reduce-only market order."""
        out = {slot.id: dict(slot.session.flatten(reason)) for slot in self._running()}
        log.info("operator flatten", extra={"result": out, "reason": reason})
        return {"orders": [r["order"] for r in out.values() if r["order"] is not None], "by_strategy": out}

    def _running(self) -> list[StrategySlot]:
        return [s for s in self.slots if s.report is None]

    # -- running ----------------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            log.info("stopping", extra={"reason": reason})
        if self._stop_event is not None:
            self._stop_event.set()

    def _on_sigint(self) -> None:
        self._sigints += 1
        if self._sigints > 1:
            print("trader live: second interrupt, stopping at once", file=sys.stderr, flush=True)
            os._exit(130)
        self.request_stop("interrupted (SIGINT)")

    async def run(self) -> dict[str, Any]:
        """Run until stopped; returns the summary (:meth:`summary`)."""
        from trader.live.control import ControlServer, load_or_create_token, remove_endpoint, write_endpoint

        cfg = self.cfg
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handlers = setup_logging(cfg.log_level, Path(cfg.log_path), stderr=self.log_to_stderr)
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        token = load_or_create_token(self.state_dir, cfg.token_file)
        host, port = cfg.control_address
        self._server = ControlServer(self, host=host, port=port, token=token)
        bound = await self._server.start()
        self.control_url = f"http://{bound[0]}:{bound[1]}"
        write_endpoint(self.state_dir, bound[0], bound[1], os.getpid())
        self.started_wall = time.time()
        print(f"trader live: {'paper' if cfg.paper else 'LIVE'} on {self.feed.describe()}; "
              f"strategies {', '.join(f'{s.id}={s.name}' for s in self.slots)}; control API at {self.control_url} "
              f"(token: {Path(cfg.token_file) if cfg.token_file else self.state_dir / 'control.token'}); "
              "Ctrl-C stops", file=sys.stderr, flush=True)
        log.info("started", extra={"control": self.control_url, "feed": self.feed.describe(),
                                   "strategies": [s.id for s in self.slots]})
        reports: list[dict[str, Any]] = []
        if self.exec_client is not None:
            await self.exec_client.start()
        if self.persistence is not None:
            p = self.persistence
            reports = p.reconcile(self._reconciling, time.time_ns(),
                                  (int(self.settings["price_precision"]), int(self.settings["size_precision"])))
        if self.persistence is not None and (self.persistence.restored or reports):
            adjusted = sum(len(r["adjustments"]) for r in reports)
            print(f"trader live: resumed from {p.store.location}: "
                  + ", ".join(f"{k} after {n:,} order events" for k, n in p.restored.items())
                  + (f"; the feed continues after event {p.feed_resumed_at:,}" if p.feed_resumed_at else "")
                  + f"; reconciliation: {adjusted} adjustment(s)"
                  + "".join(f"; {r['strategy']} HALTED: position differs from the venue's" for r in reports if r["halted"]),
                  file=sys.stderr, flush=True)
        installed = []
        for sig, handler in ((signal.SIGINT, self._on_sigint),
                             (signal.SIGTERM, lambda: self.request_stop("terminated (SIGTERM)"))):
            try:
                loop.add_signal_handler(sig, handler)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        if cfg.duration is not None:
            loop.call_later(cfg.duration, self.request_stop, f"duration of {cfg.duration:g} s reached")
        watchdog = threading.Thread(target=self._watch, name="trader-watchdog", daemon=True)
        watchdog.start()
        engine = asyncio.create_task(self._engine_loop(), name="engine")
        stopper = asyncio.create_task(self._stop_event.wait(), name="stop")
        metrics = asyncio.create_task(self._metrics_loop(), name="metrics")
        clock = asyncio.create_task(self._clock_loop(), name="clock") if getattr(self.feed, "realtime", False) else None
        try:
            await asyncio.wait({engine, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not engine.done():
                engine.cancel()
            try:
                await engine
            except asyncio.CancelledError:
                pass
            except StrategyError as e:
                self.fatal = e
                self.request_stop(f"the strategy raised: {e}")
            self._stop_started = time.monotonic()
            if self.exec_client is not None:
                await self._venue_stop()
            summary = self._finish()
        finally:
            metrics.cancel()
            stopper.cancel()
            if clock is not None:
                clock.cancel()
            self._watch_stop = True
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self._server.stop()
            if self.exec_client is not None:
                await self.exec_client.close()
            remove_endpoint(self.state_dir)
            if self.persistence is not None:
                self.persistence.abandon()  # after a failure before the last batch: stop the writer
            log.info("stopped", extra={"reason": self.stop_reason})
            for h in handlers:
                logging.getLogger("trader").removeHandler(h)
                h.close()
        if self.fatal is not None:
            raise self.fatal
        return summary

    _stop_event: asyncio.Event | None = None
    #: Seconds from the first feed batch to the last one processed (the run's throughput time).
    feed_seconds: float | None = None
    _watch_stop = False
    _stop_started: float | None = None

    async def _engine_loop(self) -> None:
        t0 = time.perf_counter()
        try:
            async for batch in self.feed.batches():
                self._process(batch)
                if self._stop_event is not None and self._stop_event.is_set():
                    return
                await asyncio.sleep(0)  # the control API and the timers get their turn
            self.request_stop("end of the recording" if self.feed.kind == "replay" else "the feed ended")
        finally:
            self._busy_since = None
            self.feed_seconds = time.perf_counter() - t0

    def _process(self, batch: list[tuple[Any, ...]]) -> None:
        """Push a batch into every session's ring and run the engines until the rings are empty."""
        t0 = time.monotonic()
        self._busy_since = t0
        kind = batch[0][0]
        for slot in self._running():
            s = slot.session
            if kind == "batch":  # recorded lines, read in Rust (a replay)
                for _, lines in batch:
                    i = 0
                    while i < len(lines):
                        i += s.push_batch(lines, i)
                        if i < len(lines):
                            self._pump(slot)
            elif kind == "line":
                texts = [e[1] for e in batch]
                i = 0
                while i < len(texts):
                    i += s.push_lines(texts[i:i + max(1, s.free)])
                    if i < len(texts):
                        self._pump(slot)
            else:
                for e in batch:
                    pushed = s.push_trade(*e[1:]) if e[0] == "trade" else s.push_quote(*e[1:])
                    while not pushed:
                        self._pump(slot)
                        pushed = s.push_trade(*e[1:]) if e[0] == "trade" else s.push_quote(*e[1:])
            self._pump(slot)
            slot.observe_equity(s.equity)
        now = time.monotonic()
        if kind == "batch":
            self.metrics.event("line", sum(len(b) for _, b in batch))
        elif kind == "line":
            self.metrics.event("line", len(batch))
        else:
            trades = sum(1 for e in batch if e[0] == "trade")
            if trades:
                self.metrics.event("trade", trades)
            if len(batch) > trades:
                self.metrics.event("quote", len(batch) - trades)
        if kind == "batch":
            self._last_event_wall["line"] = now
            self._last_event_ts["line"] = int(batch[-1][1].last_ts)
        elif kind == "line":
            self._last_event_wall["line"] = now
            head = batch[-1][1].split(" ", 1)[0]
            self._last_event_ts["line"] = int(head) if head.isdigit() else 0
        else:
            for e in batch[-2:]:
                self._last_event_wall[e[0]] = now
                self._last_event_ts[e[0]] = int(e[1])
        if self.persistence is not None:
            self.persistence.after_batch(self.feed)
        self._lag_s = now - t0
        self._busy_since = None
        self._heartbeat = now
        if self._stall and not self._halted_by_watchdog:
            self._halted_by_watchdog = True
            self.set_state("halted", f"watchdog: {self._stall}")

    def _pump(self, slot: StrategySlot) -> None:
        s = slot.session
        while s.backlog:
            t = time.perf_counter()
            slot.processed += s.pump(4096)
            self.metrics.callback_time(time.perf_counter() - t)
            self._heartbeat = time.monotonic()
        if slot.link is not None:
            slot.link.retry_held()
            slot.link.flush()

    def _watch(self) -> None:
        """The watchdog thread: notes a stall of the loop (a callback or the loop busy, or no
        heartbeat, past ``watchdog`` seconds); the loop halts the sessions when it runs again."""
        limit = float(self.cfg.watchdog)
        while not self._watch_stop:
            time.sleep(min(0.25, limit / 4))
            started = self._stop_started
            if started is not None and time.monotonic() - started > float(self.cfg.stop_timeout):
                print(f"trader live: the stop took longer than {self.cfg.stop_timeout:g} s (stop_timeout): "
                      "exiting without the final status", file=sys.stderr, flush=True)
                os._exit(1)
            busy = self._busy_since
            if busy is not None and time.monotonic() - busy > limit and not self._stall:
                self._stall = f"the engine loop stalled for more than {limit:g} s (a strategy callback?)"
                log.error("watchdog", extra={"stall": self._stall})

    async def _clock_loop(self) -> None:
        """A feed on the wall clock: between its events the engine's clock follows the wall
        clock every :data:`CLOCK_TICK_S`, so timers fire on time and delayed commands arrive
        (a replay runs on event time instead and never takes this path)."""
        while True:
            await asyncio.sleep(CLOCK_TICK_S)
            if self.stop_reason is not None:
                return
            now = time.time_ns()
            self._busy_since = time.monotonic()
            try:
                for slot in self._running():
                    slot.session.advance_time(now)
                    if slot.link is not None:
                        slot.link.flush()
            except StrategyError as e:
                self.fatal = e
                self.request_stop(f"the strategy raised: {e}")
                return
            finally:
                self._busy_since = None
            self._heartbeat = time.monotonic()

    async def _metrics_loop(self) -> None:
        """Refresh the gauges and counters from the sessions four times a second."""
        while True:
            try:
                self._refresh_metrics()
                self._inflight_check()
            except StrategyError as e:  # a strategy's exception surfaced here: stop as the engine loop does
                self.fatal = self.fatal or e
                self.request_stop(f"the strategy raised: {e}")
                return
            except Exception:  # a metrics bug must not stop trading; it is logged once a refresh
                log.exception("metrics refresh failed")
            await asyncio.sleep(0.25)

    #: Order statuses that wait for the venue's answer (the in-flight check's subjects).
    IN_FLIGHT = frozenset({"submitted", "pending_cancel", "pending_modify"})

    def _inflight_check(self) -> None:
        """Orders waiting for the venue's answer longer than ``inflight_timeout`` (engine time)
        are asked for at the venue by client order id (NautilusTrader's in-flight check): an
        answer that differs from the node's view is logged and audited (source ``inflight``)."""
        if getattr(self, "exec_client", None) is None and not hasattr(self.venue, "reconciling_venue"):
            return
        limit = int(float(self.cfg.inflight_timeout) * 1e9)
        seen = self._inflight_seen
        from trader.live.persist import client_order_id

        for slot in self._running():
            s = slot.session
            now = int(s.clock)
            stuck = [o for o in s.open_orders()
                     if str(o["status"]).lower() in self.IN_FLIGHT and o.get("ts") is not None and now - int(o["ts"]) > limit]
            if not stuck:
                continue
            venue = self._reconciling(slot)
            if getattr(venue, "restores_in_flight", False):
                continue  # the paper venue's network is simulated: its orders arrive as modelled
            for o in stuck:
                answer = venue.query_order(client_order_id(slot.id, int(o["id"])))
                where = "unknown at the venue" if answer is None else f"{answer.status} at the venue"
                if answer is not None and answer.status == "open" and answer.filled == str(o.get("filled") or "0"):
                    continue  # the venue agrees: still on its way
                key = (slot.id, int(o["id"]), None if answer is None else (answer.status, answer.filled))
                if key in seen:
                    continue  # reported once per answer; the venue's next answer is news again
                seen.add(key)
                reason = f"order {o['id']} {str(o['status']).lower()} for {(now - int(o['ts'])) / 1e9:.1f} s: {where}"
                log.warning("in-flight order", extra={"strategy": slot.id, "order": int(o["id"]), "reason": reason})
                s.record_action("inflight", "inflight", reason, [int(o["id"])])

    def _refresh_metrics(self) -> None:
        m = self.metrics
        ready, _ = self.health()
        m.set_ready(ready)
        for stream, t in self._last_event_wall.items():
            m.feed_lag(stream, self._lag_s if time.monotonic() - t < STALE_AFTER_S else time.monotonic() - t)
        # The node's series: order events, denials, fills and latencies of every strategy added
        # up; the account summed over the strategies' paper accounts, positions summed by
        # symbol, the most severe trading state (each strategy's own figures: GET /status).
        from trader.risk import STATES

        running = self._running()
        if not running:
            return
        cash = equity = pnl = 0.0
        positions: dict[str, float] = {}
        state = "active"
        for slot in running:
            s = slot.session
            st = s.status()
            statuses, denials = s.take_order_events()
            for status, n in statuses.items():
                m.order_event(status, n)
            for code, n in denials.items():
                m.denial(code, n)
            lat = s.take_latencies()
            if len(lat):
                slot.latencies.append(lat)
                for v in lat:
                    m.tick_to_order(float(v) / 1e9)
            fills = int(st["fills"])
            if fills > slot.fills_seen:
                m.fill(fills - slot.fills_seen)
                slot.fills_seen = fills
            cash, equity, pnl = cash + st["cash"], equity + st["equity"], pnl + st["pnl"]
            positions[st["symbol"]] = positions.get(st["symbol"], 0.0) + st["position"]
            state = max(state, st["trading_state"], key=STATES.index)
        for stream in ("line", "trade", "quote"):
            m.ring_dropped(stream, 0)  # the rings never drop: back-pressure instead (module docs)
        m.set_state(state)
        m.set_account(cash=cash, equity=equity, pnl=pnl)
        for symbol, qty in positions.items():
            m.set_position(symbol, qty)

    # -- stopping ---------------------------------------------------------------------------------
    async def _venue_stop(self) -> None:
        """A real venue at the stop: the working orders canceled there (``cancel_on_stop``) and
        the answers awaited, within half of ``stop_timeout``: an order whose acknowledgement was
        still on its way is canceled once it comes; what is still open then is reported."""
        deadline = time.monotonic() + float(self.cfg.stop_timeout) / 2
        asked: dict[str, set[int]] = {s.id: set() for s in self._running()}
        while True:
            waiting = False
            for slot in self._running():
                try:
                    self._pump(slot)
                    open_ids = {int(o["id"]) for o in slot.session.open_orders()}
                    if self.cfg.cancel_on_stop and open_ids - asked[slot.id]:
                        slot.session.cancel_all(f"node stopping: {self.stop_reason}")
                        asked[slot.id] |= open_ids
                    slot.link.flush()
                except StrategyError as e:
                    self.fatal = self.fatal or e
                    continue
                in_flight = [o for o in slot.session.orders() if str(o["status"]).lower() == "submitted"]
                waiting |= bool(slot.link._tasks or in_flight or (self.cfg.cancel_on_stop and open_ids))
            if not waiting or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.02)
        for slot in self._running():
            left = slot.session.open_orders()
            if left and self.cfg.cancel_on_stop:
                log.warning("orders still open at the venue after the stop's cancel",
                            extra={"strategy": slot.id, "orders": [int(o["id"]) for o in left]})

    def _finish(self) -> dict[str, Any]:
        from trader.l2 import finish_l2_report

        for slot in self._running():
            try:
                self._pump(slot)
                if self.cfg.cancel_on_stop and slot.session.open_orders():  # (nothing to cancel: no entry)
                    slot.session.cancel_all(f"node stopping: {self.stop_reason}")
            except StrategyError as e:
                self.fatal = self.fatal or e
        if self.persistence is not None:
            if self.fatal is None:
                self.persistence.close(self.feed)  # the last batch: the state at the stop, committed
            else:  # a strategy raised mid-batch: the last committed cut stands (nothing half-done is written)
                self.persistence.abandon()
        self._refresh_metrics()  # the final counts
        for slot in self._running():
            slot.ring = dict(slot.session.stats())
            report = slot.session.finish()
            if self.feed.mode == "l2":
                report = finish_l2_report(report, self._info, self.settings, self._cash)
            else:
                from trader.l2 import _finish

                report = _finish(report)
                report["market"] = self.settings["market"]
                report["account"] = self.settings["account"]
            slot.report = report
            self._write_audit(slot)
        summary = self.summary()
        (self.state_dir / "final_status.json").write_text(json.dumps(summary, default=str, indent=1) + "\n")
        return summary

    def _write_audit(self, slot: StrategySlot) -> None:
        from trader.risk import write_audit_log

        assert slot.report is not None
        write_audit_log(slot.report.get("audit") or [], self.state_dir / f"audit-{slot.id}.jsonl")

    def summary(self) -> dict[str, Any]:
        """The final status: the node, and per strategy its orders, fills, position, cash,
        equity, PnL, drawdown, win rate, latency and state (and a comparison of several)."""
        rows: list[dict[str, Any]] = []
        for slot in self.slots:
            r = slot.report or {}
            closes, wr = win_rate(r["fill_columns"]) if r else (0, None)
            rows.append({
                "id": slot.id, "strategy": slot.name, "orders": r.get("orders"), "fills": r.get("fills"),
                "position": r.get("position"), "cash": r.get("cash"), "equity": r.get("equity"), "pnl": r.get("pnl"),
                "fees": r.get("fees"), "max_drawdown": slot.max_drawdown, "closing_fills": closes, "win_rate": wr,
                "latency_p50_us": slot.latency_us(50), "latency_p99_us": slot.latency_us(99),
                "trading_state": (r.get("risk") or {}).get("state"), "events": r.get("events"),
                "first_time": r.get("first_time"), "last_time": r.get("last_time"),
                "risk_denials": (r.get("risk") or {}).get("denials") or {},
                "ring": slot.ring,
            })
        out: dict[str, Any] = {
            "node": {"paper": bool(self.cfg.paper), "venue": self.cfg.venue_kind, "feed": self.feed.describe(),
                     "stop_reason": self.stop_reason, "started": self.started_wall, "stopped": time.time(),
                     "symbol": self._info.get("symbol"), "market": self.settings.get("market"),
                     "store": None if self.persistence is None else self.persistence.stats()},
            "strategies": rows,
        }
        if len(rows) > 1:
            best = max(rows, key=lambda x: x["pnl"] if x["pnl"] is not None else -math.inf)
            out["comparison"] = {"best_pnl": best["id"],
                                 **{k: {x["id"]: x[k] for x in rows}
                                    for k in ("pnl", "max_drawdown", "win_rate", "orders", "fills", "latency_p50_us",
                                              "latency_p99_us")}}
        return out


def write_live_fills(slots: list[StrategySlot], path: str) -> None:
    """The fills of the node's strategies as CSV or Parquet (by the suffix), with the columns of
    ``trader backtest-l2 --fills-out`` (ts, side, price, qty, fee, order_id, symbol); with several
    strategies, a ``strategy`` column names each fill's."""
    import pyarrow as pa  # type: ignore[import-untyped]

    from trader.l2 import fills_table
    from trader.results import write_arrow

    done = [s for s in slots if s.report is not None]
    tables = [fills_table(s.report) for s in done]  # type: ignore[arg-type]
    if len(tables) > 1:
        tables = [t.append_column("strategy", pa.array([s.id] * t.num_rows, pa.string())) for s, t in zip(done, tables)]
    write_arrow(pa.concat_tables(tables) if len(tables) > 1 else tables[0], path)
