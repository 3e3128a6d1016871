"""The backtest kernel: wires data, clock, message bus, cache, the Rust engine and the strategy.

Shape after NautilusTrader's kernel, sized to what a bar backtest needs:
- **clock**: backtest time is the time of the event being handled (``Clock.now_ns``);
- **message bus**: order events are published on ``orders.<kind>`` topics; the strategy's
  ``on_order_event`` and any other subscriber (reports, risk layers) receive them;
- **cache**: instruments by id and symbol, and the last bar per instrument;
- **data engine**: feeds from data-source plugins, merged by timestamp into batches;
- **execution / risk / portfolio**: the Rust engine (`trader._core.Backtest`): risk engine, venue,
  account, positions, equity curve. Every order passes the risk engine (trading state, pre-trade
  checks, then the risk layers of ``BacktestConfig.risk``) before the venue; see ``trader.risk``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from trader import _core
from trader.exceptions import InvalidInputError, StrategyError
from trader.results import BacktestResult, statistics
from trader.strategy import Signals, Strategy

__all__ = ["BacktestConfig", "BacktestKernel", "run_many", "Clock", "MessageBus", "Cache", "infer_price_precision"]


#: The short slippage names (the fill models fixed_bps, no_slippage, spread, sqrt_impact with the
#: flags --slippage-bps, --spread-bps, --impact-k).
LEGACY_SLIPPAGE = ("fixed", "none", "spread", "sqrt")


@dataclasses.dataclass
class BacktestConfig:
    """Engine settings (``trader backtest`` flags map one to one)."""

    cash: float = 10_000.0
    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    fill_at: str = "next_open"
    #: "event" (Python callbacks), "vectorized" (the strategy's arrays), or "auto" (vectorized when
    #: the strategy offers it and has no event-only features in use).
    mode: str = "event"
    price_precision: int | None = None
    size_precision: int = 6
    #: The venue plugin that simulates the exchange.
    venue: str = "sim"
    #: Account: "cash" (spot) or "margin" (perpetuals: isolated margin, liquidation, funding; see
    #: ``trader._core.configure_account`` for the model).
    account: str = "cash"
    leverage: float = 1.0
    #: Maintenance margin rate and liquidation fee, as fractions of the notional.
    maintenance_margin: float = 0.005
    liquidation_fee: float = 0.0
    #: Funding: a constant rate (fraction) every ``funding_interval_h`` hours, or a series of
    #: ``(ts_ns, rate)`` pairs (or a ``(ts array, rate array)`` tuple).
    funding_rate: float | None = None
    funding: Any = None
    funding_interval_h: float = 8.0
    #: Where ``funding`` came from when trader found it rather than the caller (the catalog's
    #: ``fundingRate`` partition of the bars' symbol): reported in the result's ``meta``.
    funding_source: str | None = None
    #: Maker/taker fees in bps (None: ``fee_bps``; a negative maker fee is a rebate), or tiers
    #: ``[(min_30d_volume, maker_bps, taker_bps), ...]`` picked by 30-day volume or fixed by
    #: ``fee_tier``.
    maker_fee_bps: float | None = None
    taker_fee_bps: float | None = None
    fee_tiers: list[tuple[float, float, float]] | None = None
    fee_tier: int | None = None
    #: Slippage model: "fixed" (``slippage_bps``), "none", "spread" (half of ``spread_bps``) or
    #: "sqrt" (``impact_k`` x bar sigma x sqrt(qty / bar volume), capped at ``impact_max_bps``).
    #: Also any slippage fill model as ``NAME[:k=v,...]`` (``trader plugins``: fixed_bps,
    #: no_slippage, spread, sqrt_impact).
    slippage: str = "fixed"
    #: Fill models (plugins, see ``trader.fill_models``) as ``NAME[:k=v,...]``: the bar matching
    #: model (``bars:path=ohlc,participation=0.1``), the latency (``lognormal:submit_ms=20``) and
    #: the fee model (``tiered:schedule=binance_usdm``, ``flat:maker_bps=-1,taker_bps=4``).
    fill_model: str | None = None
    latency: str | None = None
    fees: str | None = None
    spread_bps: float = 0.0
    impact_k: float = 1.0
    impact_max_bps: float = 500.0
    #: Risk limits and layers (``trader.risk.RiskSettings``, e.g. from ``load_risk_config``); None:
    #: the structural pre-trade checks only, no layer.
    risk: Any = None
    #: A strategy's price between two ticks: "round" toward the order's conservative side (a buy
    #: limit down, a sell limit up, stops so they trigger no earlier) or "reject" (an error).
    off_tick: str = "round"
    #: A strategy's quantity between two lots: "round" down (counted and reported) or "reject".
    off_lot: str = "round"

    def account_options(self) -> dict[str, Any]:
        """The account/fee/slippage knobs that differ from the defaults (passed to the venue)."""
        defaults = BacktestConfig()
        out: dict[str, Any] = {}
        for name in ("account", "leverage", "maintenance_margin", "liquidation_fee", "funding_rate", "funding_interval_h",
                     "maker_fee_bps", "taker_fee_bps", "fee_tiers", "fee_tier", "slippage", "spread_bps", "impact_k",
                     "impact_max_bps"):
            if name == "slippage" and self.slippage not in LEGACY_SLIPPAGE:
                continue  # a fill-model spec: see models()
            v = getattr(self, name)
            if v != getattr(defaults, name):
                out[name] = [tuple(map(float, t)) for t in v] if name == "fee_tiers" else v
        if self.funding is not None:
            out["funding"] = funding_series(self.funding)
        return out

    def models(self) -> dict[str, dict[str, Any]]:
        """The fill models chosen by name (``{kind: config}``), resolved among the plugins."""
        from trader.fill_models import resolve

        out = {}
        for kind, spec in (("bars", self.fill_model), ("latency", self.latency), ("fees", self.fees)):
            if spec is not None:
                out[kind] = resolve(kind, spec)
        if self.slippage not in LEGACY_SLIPPAGE:
            out["slippage"] = resolve("slippage", self.slippage)
        return out

    def check(self) -> None:
        if not (self.cash > 0):
            raise InvalidInputError(f"cash: must be > 0, got {self.cash}")
        for name in ("fee_bps", "slippage_bps"):
            v = getattr(self, name)
            if not (v >= 0):
                raise InvalidInputError(f"{name.replace('_', '-')}: must be >= 0, got {v}")
        if self.fill_at not in ("next_open", "close"):
            raise InvalidInputError(f"fill-at: must be next_open or close, got {self.fill_at!r}")
        if self.mode not in ("event", "vectorized", "auto"):
            raise InvalidInputError(f"mode: must be event, vectorized or auto, got {self.mode!r}")
        if self.account not in ("cash", "margin"):
            raise InvalidInputError(f"account: must be cash or margin, got {self.account!r}")
        self.models()  # unknown models and bad parameters fail here, naming the model
        if self.risk is not None:
            from trader.risk import RiskSettings

            if not isinstance(self.risk, RiskSettings):
                raise InvalidInputError(f"risk: expected trader.risk.RiskSettings, got {type(self.risk).__name__}")
            self.risk.layer_configs()  # unknown layers and bad parameters fail before the run
        if not (0 <= self.size_precision <= 9):
            raise InvalidInputError(f"size-precision: must be within 0..9, got {self.size_precision}")
        for name in ("off_tick", "off_lot"):
            if getattr(self, name) not in ("round", "reject"):
                raise InvalidInputError(f"{name.replace('_', '-')}: must be round or reject, got {getattr(self, name)!r}")


def venue_kwargs(cfg: BacktestConfig) -> dict[str, Any]:
    """Keyword arguments for the venue's ``create`` beyond the basic ones: the account options
    that differ from the defaults, and ``models`` when fill models were chosen by name (so venues
    that know neither keep working with the defaults)."""
    kw = cfg.account_options()
    models = cfg.models()
    if models:
        kw["models"] = models
    return kw


class Clock:
    """Backtest clock: the time of the event being handled."""

    def __init__(self) -> None:
        self.now_ns = 0


class MessageBus:
    """Topic publish/subscribe for events (exact topic or a ``prefix.*`` wildcard)."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Callable[[Any], None]) -> None:
        self._subs[topic].append(handler)

    def has_subscribers(self, prefix: str) -> bool:
        return any(t == prefix or t.startswith(prefix + ".") or t == prefix + ".*" for t in self._subs)

    def publish(self, topic: str, message: Any) -> None:
        for handler in self._subs.get(topic, ()):
            handler(message)
        head = topic.split(".", 1)[0]
        for handler in self._subs.get(head + ".*", ()):
            handler(message)


class Cache:
    """The instruments of the run, by id (the index every order and bar carries)."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = list(symbols)


def funding_series(funding: Any) -> list[tuple[int, float]]:
    """``[(ts_ns, rate), ...]`` from pairs, a ``(ts, rate)`` pair of arrays or a dict with ``ts``
    and ``rate`` (timestamps as int ns or numpy datetime64)."""
    if isinstance(funding, dict):
        funding = (funding["ts"], funding["rate"])
    if isinstance(funding, tuple) and len(funding) == 2 and np.ndim(funding[0]) == 1:
        ts = np.asarray(funding[0])
        if np.issubdtype(ts.dtype, np.datetime64):
            ts = ts.astype("datetime64[ns]").astype(np.int64)
        rate = np.asarray(funding[1], dtype=np.float64)
        if len(ts) != len(rate):
            raise InvalidInputError(f"funding: {len(ts)} times but {len(rate)} rates")
        return [(int(t), float(r)) for t, r in zip(ts, rate)]
    try:
        return [(int(t), float(r)) for t, r in funding]
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"funding: expected (ts_ns, rate) pairs, got {funding!r:.80}") from e


def infer_price_precision(*arrays: np.ndarray) -> int:
    """Smallest number of decimals (0..9) that represents every price exactly, by the engine's own
    grid check (float noise 1e-12 relative), looking at every value given."""
    return int(_core.price_decimals([np.ascontiguousarray(a, dtype=np.float64) for a in arrays]))


def grid_warnings(report: dict[str, Any]) -> list[str]:
    """What the strategy's prices and quantities lost to the grid, as warning lines (never silent)."""
    out = []
    if report["qtys_rounded"]:
        asked, got = report["first_qty"]
        out.append(f"{report['qtys_rounded']:,} order quantit{'y was' if report['qtys_rounded'] == 1 else 'ies were'} "
                   f"rounded down to the lot (the first: {asked!r} -> {got!r}); --off-lot reject refuses them instead")
    if report["prices_rounded"]:
        asked, got = report["first_price"]
        out.append(f"{report['prices_rounded']:,} order price{' was' if report['prices_rounded'] == 1 else 's were'} off the "
                   f"tick and rounded toward the order's conservative side (the first: {asked!r} -> {got!r}); "
                   "--off-tick reject refuses them instead")
    return out


def merge_batches(feeds: list[Any]) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray | None]]:
    """Merge the feeds' bar batches by timestamp into ``(columns, instrument ids)`` chunks.

    One feed passes through unchanged. With several, each chunk holds every buffered bar up to the
    smallest "last timestamp" among feeds that still have data, so order is exact across batch
    boundaries; ties keep instrument order (stable sort).
    """
    cols = ("ts", "open", "high", "low", "close", "volume")
    if len(feeds) == 1:
        for b in feeds[0].batches():
            if len(b):
                yield {c: getattr(b, c) for c in cols}, None
        return
    iters = [iter(f.batches()) for f in feeds]
    bufs: list[dict[str, np.ndarray] | None] = [None] * len(feeds)

    def refill(i: int) -> None:
        while bufs[i] is None or len(bufs[i]["ts"]) == 0:
            b = next(iters[i], None)
            if b is None:
                bufs[i] = None
                return
            bufs[i] = {c: getattr(b, c) for c in cols}

    for i in range(len(feeds)):
        refill(i)
    while any(b is not None for b in bufs):
        live = [i for i, b in enumerate(bufs) if b is not None]
        bound = min(bufs[i]["ts"][-1] for i in live)
        parts, ids = [], []
        for i in live:
            b = bufs[i]
            k = int(np.searchsorted(b["ts"], bound, side="right"))
            parts.append({c: b[c][:k] for c in cols})
            ids.append(np.full(k, i, dtype=np.uint32))
            bufs[i] = {c: b[c][k:] for c in cols}
            refill(i)
        merged = {c: np.concatenate([p[c] for p in parts]) for c in cols}
        inst = np.concatenate(ids)
        order = np.argsort(merged["ts"], kind="stable")
        yield {c: np.ascontiguousarray(v[order]) for c, v in merged.items()}, np.ascontiguousarray(inst[order])


def _call(callback: Callable[[], None]) -> None:
    """Run a strategy lifecycle callback; its exceptions become StrategyError (cause kept)."""
    try:
        callback()
    except Exception as e:
        raise StrategyError(f"the strategy raised {type(e).__name__}: {e}") from e


@dataclasses.dataclass
class _Run:
    """One run's state between :meth:`BacktestKernel._setup` and :meth:`BacktestKernel._complete`."""

    engine: Any
    ctx: Any
    first: tuple[dict[str, np.ndarray], np.ndarray | None]
    batches: Iterator[tuple[dict[str, np.ndarray], np.ndarray | None]]
    #: The bars in memory (one instrument, vectorized or auto mode, a feed that can load them).
    loaded: Any = None
    bars: dict[str, np.ndarray] | None = None
    decisions: Signals | None = None
    on_event: Callable[[Any], None] | None = None
    elapsed: float = 0.0


def _vector_kwargs(decisions: Signals) -> dict[str, Any]:
    """The engine's vectorized-run arguments of a strategy's decisions."""
    kw: dict[str, Any] = {"qty": decisions.qty, "size": decisions.size, "allow_short": decisions.allow_short}
    if decisions.signal is not None:
        kw["signal"] = np.ascontiguousarray(decisions.signal, dtype=np.int8)
    else:
        kw["target"] = np.ascontiguousarray(decisions.target, dtype=np.float64)
    return kw


class BacktestKernel:
    """Runs one strategy over one or more bar feeds and returns a :class:`BacktestResult`."""

    def __init__(self, strategy: Strategy, feeds: Iterable[Any], config: BacktestConfig | None = None) -> None:
        self.strategy = strategy
        self.feeds = list(feeds)
        if not self.feeds:
            raise InvalidInputError("data: no bar feed given")
        self.config = config or BacktestConfig()
        self.config.check()
        self.clock = Clock()
        self.bus = MessageBus()
        #: The run's engine, once the run has begun (its equity, its counts, as the bars go by).
        self.engine: Any = None
        self.cache = Cache([f.symbol for f in self.feeds])
        if len(set(self.cache.symbols)) != len(self.cache.symbols):
            raise InvalidInputError(f"data: the same symbol appears twice ({', '.join(self.cache.symbols)})")

    def run(self, on_batch: Callable[[int], None] | None = None) -> BacktestResult:
        """Run to the end of the data. ``on_batch(bars_done)`` is called after each batch of the
        feed (progress; :attr:`engine` holds the run's state then; an exception it raises stops the
        run)."""
        run = self._setup()
        run.decisions = self._decide(run)
        _call(self.strategy.on_start)
        if run.decisions is not None:
            cols = run.bars
            assert cols is not None
            kw = _vector_kwargs(run.decisions)
            n = len(cols["ts"])
            # one call; with a progress callback, one per batch of the feed (batches run as the
            # whole series does)
            step = n if on_batch is None else max(1, self.config_batch_size(self.feeds[0]))
            for a in range(0, n, step):
                b = min(n, a + step)
                part = {c: v[a:b] for c, v in cols.items()}
                t0 = time.perf_counter()
                run.engine.run_vectorized(part["ts"], part["open"], part["high"], part["low"], part["close"],
                                          part["volume"], None,
                                          **{k: (v[a:b] if k in ("signal", "target") else v) for k, v in kw.items()})
                run.elapsed += time.perf_counter() - t0
                if on_batch:
                    on_batch(run.engine.bars)
        else:
            self._run_events(run, on_batch)
        return self._complete(run)

    def _run_events(self, run: _Run, on_batch: Callable[[int], None] | None = None) -> None:
        """The event path: the strategy's ``on_bar`` for every bar, batch by batch."""
        strat = self.strategy
        indicators = list(strat._indicators)

        def chunks() -> Iterator[tuple[dict[str, np.ndarray], np.ndarray | None]]:
            yield run.first
            yield from run.batches

        for cols, inst in chunks():
            t0 = time.perf_counter()
            run.engine.run(strat.on_bar, run.on_event, run.ctx, cols["ts"], cols["open"], cols["high"], cols["low"],
                           cols["close"], cols["volume"], inst, indicators, strat._state_handler())
            run.elapsed += time.perf_counter() - t0
            self.clock.now_ns = int(cols["ts"][-1])
            if on_batch:
                on_batch(run.engine.bars)

    def _setup(self) -> _Run:
        """Everything before the bars run: the engine (price precisions, venue, account, risk), the
        strategy attached to its context, its order-event wiring, and — where the vectorized path
        may run — the bars in memory."""
        cfg = self.config
        strat = self.strategy
        symbols = self.cache.symbols
        batches = merge_batches(self.feeds)
        first = next(batches, None)
        if first is None:
            raise InvalidInputError("data: no bars to run on")
        dps = self.price_precisions(first)
        n = len(symbols)
        from trader.plugins import venues

        known = venues()
        if cfg.venue not in known:
            raise InvalidInputError(f"venue: unknown venue {cfg.venue!r} (known: {', '.join(sorted(known)) or 'none'})")
        engine = known[cfg.venue].create(symbols, dps, [cfg.size_precision] * n, cash=cfg.cash, fee_bps=cfg.fee_bps,
                                         slippage_bps=cfg.slippage_bps, fill_at=cfg.fill_at, **venue_kwargs(cfg))
        if hasattr(engine, "set_bar_intervals"):
            engine.set_bar_intervals([int(getattr(f, "interval_ns", 0) or 0) for f in self.feeds])
        if cfg.account == "cash" and strat.requires_shorting():
            raise InvalidInputError(f"strategy {strat.name or type(strat).__name__}: sells short (allow_short), which a cash "
                                    "account cannot do: run it with --account margin (account=\"margin\")")
        if cfg.risk is not None:
            self._configure_risk(engine, symbols)
        ctx = _core.Context(symbols, dps, [cfg.size_precision] * n, off_tick=cfg.off_tick, off_lot=cfg.off_lot)
        strat._attach(ctx, symbols)
        self.engine = engine
        run = _Run(engine=engine, ctx=ctx, first=first, batches=batches)
        if cfg.mode in ("vectorized", "auto"):
            if n != 1:
                if cfg.mode == "vectorized":
                    raise InvalidInputError("mode vectorized: runs on one instrument; use --mode event for several")
            else:
                feed = self.feeds[0]
                run.loaded = feed.load() if hasattr(feed, "load") else None
                if run.loaded is not None:
                    run.bars = {c: np.ascontiguousarray(getattr(run.loaded, c))
                                for c in ("ts", "open", "high", "low", "close", "volume")}

        user_handler = strat._event_handler()

        def publish(ev: Any) -> None:
            self.clock.now_ns = ev.ts
            self.bus.publish("orders." + ev.kind, ev)
            if user_handler is not None:
                user_handler(ev)

        # Events cross into Python only when someone listens (the strategy or a bus subscriber).
        run.on_event = publish if (user_handler is not None or self.bus.has_subscribers("orders")) else None
        return run

    def _decide(self, run: _Run) -> Signals | None:
        """The strategy's vectorized decisions when the vectorized path runs (None: the event path)."""
        if run.loaded is None:
            return self._accept(None)
        try:
            decisions = self.strategy.vectorized(run.loaded)
        except Exception as e:
            raise StrategyError(f"the strategy raised {type(e).__name__}: {e}") from e
        return self._accept(decisions)

    def _accept(self, decisions: Signals | None) -> Signals | None:
        """``decisions`` to run vectorized, or None for the event path (an error in mode
        "vectorized", where the event path is not allowed)."""
        if decisions is None and self.config.mode == "vectorized":
            raise InvalidInputError(f"mode vectorized: strategy {self.strategy.name} has no vectorized form")
        return decisions

    def _complete(self, run: _Run) -> BacktestResult:
        """After the bars: the engine finished, the strategy stopped, the result with its warnings."""
        run.engine.finish()
        _call(self.strategy.on_stop)
        result = self._result(run.engine, run.elapsed)
        result.warnings.extend(grid_warnings(run.ctx.grid_report()))
        decisions = run.decisions
        if decisions is not None and decisions.qty > 0:
            lot = 10.0 ** -self.config.size_precision
            if abs(decisions.qty / lot - round(decisions.qty / lot)) > 1e-9:
                result.warnings.append(f"the fixed quantity {decisions.qty} is not a multiple of the lot {lot:g}: "
                                       "every order was rounded down to the lot")
        return result

    def price_precisions(self, first: tuple[dict[str, np.ndarray], np.ndarray | None] | None = None) -> list[int]:
        """Each instrument's price precision for the run: the configured one, else inferred from
        its data (see :meth:`_price_precision`). ``first``: the first merged batch, if read."""
        n = len(self.cache.symbols)
        if self.config.price_precision is not None:
            return [self.config.price_precision] * n
        if first is None:
            first = next(merge_batches(self.feeds), None)
            if first is None:
                raise InvalidInputError("data: no bars to run on")
        cols0, inst0 = first
        return [self._price_precision(k, cols0, inst0) for k in range(n)]

    def _price_precision(self, k: int, cols0: dict[str, np.ndarray], inst0: np.ndarray | None) -> int:
        """One price precision for instrument ``k``, from all of its data: what its feed declares
        (the synthetic series), else its first batch when that is all of it, else a pass over every
        batch of the feed (a second read of a file larger than one batch). A price of a later batch
        with more decimals is never rounded: the engine stops with an error naming it."""
        feed = self.feeds[k]
        declared = (getattr(feed, "meta", None) or {}).get("price_precision")
        if declared is not None:
            return int(declared)
        rows = (getattr(feed, "meta", None) or {}).get("rows")
        whole = len(cols0["ts"]) < self.config_batch_size(feed) or (rows is not None and len(cols0["ts"]) >= rows)
        if len(self.feeds) == 1 and whole:
            cols = [cols0[c] for c in ("open", "high", "low", "close")]
            return infer_price_precision(*cols) if len(cols[0]) else 2
        dp = 0
        for b in feed.batches():
            if len(b):
                dp = max(dp, infer_price_precision(b.open, b.high, b.low, b.close))
        return dp

    @staticmethod
    def config_batch_size(feed: Any) -> int:
        return int(getattr(feed, "batch_size", 0) or (getattr(feed, "meta", None) or {}).get("batch_size") or 1_000_000)

    def _bar_interval_ns(self) -> int:
        """The shortest bar interval of the feeds (0: unknown; statistics then take it from the
        equity curve's timestamps)."""
        known = [int(getattr(f, "interval_ns", 0) or 0) for f in self.feeds]
        known = [k for k in known if k > 0]
        return min(known) if known else 0

    def _configure_risk(self, engine: Any, symbols: list[str]) -> None:
        """Hand the risk settings to the engine (bars per year filled in from the bar interval)."""
        core = self.config.risk.to_core(symbols)
        interval = self._bar_interval_ns()
        for layer in core["layers"]:
            if layer["kind"] == "vol_target" and layer.get("periods_per_year") is None:
                if not interval:
                    raise InvalidInputError("risk layer vol_target: the bar interval of the data is unknown (fewer than two "
                                            "bars): give the layer periods_per_year")
                layer["periods_per_year"] = 365.25 * 86_400e9 / interval
        if not hasattr(engine, "configure_risk"):
            raise InvalidInputError(f"venue {self.config.venue}: has no risk engine, so risk settings cannot apply")
        engine.configure_risk(core)

    def _result(self, engine: Any, elapsed: float) -> BacktestResult:
        ts, equity, exposed = engine.take_equity_curve()
        trades = engine.trades()
        interval = self._bar_interval_ns()
        closed = trades["pnl"][trades["closed"]] if "closed" in trades else trades["pnl"]
        stats = statistics(equity, ts, exposed, closed, self.config.cash, interval, engine.fees,
                           final_equity=float(engine.equity))
        meta: dict[str, Any] = {}
        gaps = [dict(g, path=f.meta.get("path")) for f in self.feeds if (g := (getattr(f, "meta", None) or {}).get("gaps")) and g.get("count")]
        if gaps:
            meta["gaps"] = gaps
        account: dict[str, Any] = _core.account_state(engine) if isinstance(engine, _core.Backtest) else {}
        funding = account.pop("funding", {})
        if account.get("account") == "margin":
            stats["funding_paid"] = account["funding_paid"]
            stats["liquidations"] = account["liquidations"]
        risk = engine.risk_report() if hasattr(engine, "risk_report") else {}
        audit = engine.audit_entries() if hasattr(engine, "audit_entries") else []
        return BacktestResult(
            risk=risk,
            audit=audit,
            strategy=self.strategy.name,
            params=self.strategy.param_values(),
            symbols=self.cache.symbols,
            stats=stats,
            fills=engine.fills(),
            equity_ts=ts,
            equity=equity,
            trades=trades,
            positions=engine.positions(),
            open_orders=engine.open_orders(),
            bars=int(engine.bars),
            orders=int(engine.orders),
            elapsed_s=elapsed,
            meta=meta,
            account=account,
            funding=funding,
            _engine=engine,
        )


def run_many(kernels: list[BacktestKernel], *, threads: int = 0, chunk: int = 8192) -> list[BacktestResult]:
    """Run several kernels over the same bars — a sweep's combinations of one strategy — and
    return their results in order, each exactly what ``kernel.run()`` returns.

    The vectorized ones share one pass: their decisions come from the strategy class's
    :meth:`~trader.strategy.Strategy.vectorized_many` (work shared across the combinations, e.g.
    every period's indicator in one multi-lane pass), and their engines run together in Rust
    (``trader._core.run_vectorized_many``): the bars checked once, the engines split among
    ``threads`` threads (0: the machine's cores) with the GIL released, each thread taking the
    bars ``chunk`` at a time through all of its engines. A kernel whose strategy has no
    vectorized form here (or whose bars differ from the first one's) runs on its own, as
    ``kernel.run()`` would. ``elapsed_s`` of a shared pass's results is the pass's time divided
    among its runs.
    """
    import concurrent.futures

    runs = [k._setup() for k in kernels]
    ref = next((r.bars for r in runs if r.bars is not None), None)
    workers = threads or (os.cpu_count() or 1)

    def same_bars(r: _Run) -> bool:
        if r.bars is None or ref is None:
            return False
        return all(r.bars[c] is ref[c] or np.array_equal(r.bars[c], ref[c]) for c in ref)

    shared = [i for i, r in enumerate(runs) if same_bars(r)]
    by_class: dict[type, list[int]] = defaultdict(list)
    for i in shared:
        by_class[type(kernels[i].strategy)].append(i)
    # each class's strategies in `workers` contiguous groups, decided on as many threads (the
    # indicator and signal kernels release the GIL)
    groups = [(cls, part) for cls, idx in by_class.items()
              for part in (idx[len(idx) * w // workers:len(idx) * (w + 1) // workers] for w in range(workers)) if part]

    def decide(group: tuple[type, list[int]]) -> list[Signals | None]:
        cls, part = group
        try:
            decided = cls.vectorized_many([kernels[i].strategy for i in part], runs[part[0]].loaded)
        except Exception as e:
            raise StrategyError(f"the strategy raised {type(e).__name__}: {e}") from e
        if len(decided) != len(part):
            raise StrategyError(f"{cls.__name__}.vectorized_many returned {len(decided)} decisions for {len(part)} strategies")
        return list(decided)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for (cls, part), decided in zip(groups, pool.map(decide, groups)):
            for i, d in zip(part, decided):
                runs[i].decisions = kernels[i]._accept(d)
    for i, r in enumerate(runs):
        if i not in by_class.get(type(kernels[i].strategy), ()):
            r.decisions = kernels[i]._decide(r)
    for k in kernels:
        _call(k.strategy.on_start)
    together = [i for i in shared if runs[i].decisions is not None]
    if together:
        t0 = time.perf_counter()
        kws = [_vector_kwargs(runs[i].decisions) for i in together]  # type: ignore[arg-type]
        assert ref is not None
        _core.run_vectorized_many([runs[i].engine for i in together], ref["ts"], ref["open"], ref["high"], ref["low"],
                                  ref["close"], ref["volume"], signals=[kw.get("signal") for kw in kws],
                                  targets=[kw.get("target") for kw in kws], qty=[kw["qty"] for kw in kws],
                                  size=[kw["size"] for kw in kws], allow_short=[kw["allow_short"] for kw in kws],
                                  threads=threads, chunk=chunk)
        share = (time.perf_counter() - t0) / len(together)
        for i in together:
            runs[i].elapsed += share
    alone = set(together)
    for i, (k, r) in enumerate(zip(kernels, runs)):
        if i in alone:
            continue
        if r.decisions is not None:
            t0 = time.perf_counter()
            cols = r.bars
            assert cols is not None
            r.engine.run_vectorized(cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"],
                                    None, **_vector_kwargs(r.decisions))
            r.elapsed += time.perf_counter() - t0
        else:
            k._run_events(r)
    # the results (statistics in Rust with the GIL released) on as many threads
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda kr: kr[0]._complete(kr[1]), zip(kernels, runs)))
