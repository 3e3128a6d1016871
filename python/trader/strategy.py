"""The Strategy base class: the same object runs in ``trader backtest`` and ``trader live``.

A strategy declares its parameters on the class with :class:`Param`, registers indicators in
``on_start`` (the engine updates them before each bar), and trades from the callbacks::

    class EmaCross(Strategy):
        name = "ema_cross"
        fast = Param(10, int, ge=1, help="fast EMA period")
        slow = Param(30, int, ge=2, help="slow EMA period")

        def validate(self):
            if self.fast >= self.slow:
                raise ValueError("fast must be < slow")

        def on_start(self):
            self.fast_ema = self.indicator(EMA(self.fast))

        def on_bar(self, bar):
            ...
            self.buy(1.0)

Vectorized path: a strategy may also implement :meth:`Strategy.vectorized`, returning decisions
for the whole series at once (``Signals``); the engine then simulates them in Rust with no
per-bar Python call, through the same venue and portfolio.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from trader import orders
from trader.exceptions import InvalidInputError
from trader.instruments import resolve_symbol

__all__ = ["Param", "Strategy", "StrategyClock", "Signals", "ParameterError"]

_MISSING = object()


class ParameterError(InvalidInputError):
    """An unknown, ill-typed or out-of-range strategy parameter."""


@dataclasses.dataclass
class Param:
    """A declared strategy parameter: default, type, bounds and help.

    Values given as strings (from the command line) are converted to ``type``; booleans accept
    true/false/yes/no/1/0.
    """

    default: Any
    type: type = dataclasses.field(default=type(None))
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple | None = None
    help: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        if self.type is type(None):
            self.type = type(self.default)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = self.convert(value, getattr(obj, "name", type(obj).__name__))

    def convert(self, value: Any, strategy: str) -> Any:
        where = f"strategy {strategy}: parameter {self.name}"
        t = self.type
        try:
            if t is bool:
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
                        raise ValueError(value)
                    value = low in ("true", "yes", "1", "on")
                elif not isinstance(value, (bool, np.bool_)):
                    raise TypeError(value)
                value = bool(value)
            elif t is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise TypeError(value)
                value = int(value)
            elif t is float:
                if isinstance(value, bool):
                    raise TypeError(value)
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(value)
            else:
                value = t(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{where}: expected {t.__name__}, got {value!r}") from None
        for op, bound, ok in (
            (">=", self.ge, lambda v, b: v >= b),
            (">", self.gt, lambda v, b: v > b),
            ("<=", self.le, lambda v, b: v <= b),
            ("<", self.lt, lambda v, b: v < b),
        ):
            if bound is not None and not ok(value, bound):
                raise ParameterError(f"{where}: must be {op} {bound}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"{where}: must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        return value


@dataclasses.dataclass(frozen=True)
class Signals:
    """Decisions for a whole series (the vectorized path).

    Exactly one of:
    - ``signal``: int8 per bar, +1 go long (covering a short first), -1 close a long and, with
      ``allow_short``, go short, 0 nothing (ema_cross semantics);
    - ``target``: float per bar, the target signed position in instrument units (NaN: keep).
    ``qty`` > 0 orders a fixed quantity, else ``size`` × equity at the bar's close.
    """

    signal: np.ndarray | None = None
    target: np.ndarray | None = None
    qty: float = 0.0
    size: float = 1.0
    allow_short: bool = False

    def __post_init__(self) -> None:
        if (self.signal is None) == (self.target is None):
            raise InvalidInputError("Signals: give exactly one of signal= or target=")


def _ns(name: str, value: Any) -> int:
    """Nanoseconds from a duration: ``"1s"``, ``"250ms"``, ``"1m"``, a ``datetime.timedelta``, or
    an int of ns."""
    import datetime

    if isinstance(value, datetime.timedelta):
        return int(round(value.total_seconds() * 1e9))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        from trader.risk import parse_duration

        return parse_duration(name, value)
    raise InvalidInputError(f"{name}: expected a duration (\"1s\", \"250ms\", a timedelta or ns), got {value!r}")


class StrategyClock(int):
    """The run's clock at the current callback (an ``int``: UTC epoch ns) and the strategy's
    timers. Timers and alerts fire through :meth:`Strategy.on_timer` on the run's clock: event
    time in tick/L2 backtests and replays (the same firings in both), the wall clock live."""

    _ctx: Any

    def __new__(cls, ts: int, ctx: Any) -> StrategyClock:
        obj = int.__new__(cls, ts)
        obj._ctx = ctx
        return obj

    @property
    def timestamp_ns(self) -> int:
        return int(self)

    def _timers(self) -> Any:
        if not hasattr(self._ctx, "set_timer"):
            raise InvalidInputError("timers run in tick and L2 backtests and in trader live; a bar backtest has none "
                                    "(its clock moves by whole bars: act in on_bar)")
        return self._ctx

    def set_timer(self, name: str, interval: Any, start: Any = None) -> None:
        """Fire ``on_timer`` every ``interval`` (``"1s"``, ``"250ms"``, a timedelta, or ns), first
        at ``start`` (epoch ns; default one interval from now). A timer of the same name is
        replaced."""
        ctx = self._timers()
        ns = _ns("interval", interval)
        if ns <= 0:
            raise InvalidInputError(f"timer {name}: the interval must be > 0, got {interval!r}")
        ctx.set_timer(str(name), ns, None if start is None else int(start))

    def set_alert(self, name: str, at: int) -> None:
        """Fire ``on_timer`` once at ``at`` (epoch ns; at the next event when it has passed)."""
        self._timers().set_alert(str(name), int(at))

    def cancel_timer(self, name: str) -> None:
        """Cancel the timer or alert ``name``."""
        self._timers().cancel_timer(str(name))


class Strategy:
    """Base class of every strategy. Subclass it, declare ``Param``s, override the callbacks."""

    #: Registry name (``trader backtest --strategy NAME``).
    name: ClassVar[str] = ""
    #: One line for ``trader strategies``.
    description: ClassVar[str] = ""
    #: Calls of :meth:`qty_for` in this run that the lot step rounded down to 0.
    _lot_roundings: int = 0
    #: Set by the live node (``trader live``) before ``on_start``; see :attr:`is_live`.
    _live: bool = False

    @property
    def is_live(self) -> bool:
        """True when the live node runs this strategy (``trader live``: paper or real venue),
        False in a backtest. The engine is the same in both; this is the only way to tell."""
        return self._live

    def __init__(self, **params: Any) -> None:
        known = self.params()
        for key, value in params.items():
            if key not in known:
                names = ", ".join(known) or "none"
                raise ParameterError(f"strategy {self.name or type(self).__name__}: unknown parameter {key!r} (known: {names})")
            setattr(self, key, value)
        try:
            self.validate()
        except ParameterError:
            raise
        except (ValueError, TypeError) as e:
            raise ParameterError(f"strategy {self.name or type(self).__name__}: {e}") from None
        self._ctx: Any = None
        self._indicators: list[tuple[int, str, Any]] = []
        self.symbols: list[str] = []
        #: The strategy's own state that survives a restart of ``trader live``: a dict of plain
        #: values (str, int, float, bool, None, lists and dicts of them) the strategy may fill.
        #: The node stores it with every checkpoint (after :meth:`on_save`) and hands it back on
        #: restart (then calls :meth:`on_load`) before any event. Unused in backtests.
        self.state: dict[str, Any] = {}

    # -- declaration ----------------------------------------------------------------------------
    @classmethod
    def params(cls) -> dict[str, Param]:
        """The declared parameters, by name, in declaration order (base classes first)."""
        out: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            for key, value in vars(klass).items():
                if isinstance(value, Param):
                    out[key] = value
        return out

    def param_values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.params()}

    def validate(self) -> None:
        """Check constraints between parameters; raise ValueError with a clear message."""

    def requires_shorting(self) -> bool:
        """Whether this configuration sells short. A cash (spot) account cannot: the run is then
        refused before it starts (use a margin account). Default: False."""
        return False

    # -- callbacks ------------------------------------------------------------------------------
    def on_start(self) -> None:
        """Called once before the first event: register indicators here."""

    def on_bar(self, bar: Any) -> None:
        """Called for every bar, after the engine updated the registered indicators.

        The ``bar`` object is reused for the next bar: use ``bar.copy()`` to keep it. Tick and L2
        runs call it with a bar interval (``bar="1m"``, ``--bar 1m``): time bars built from the
        trades, labelled by their open time, handed out when the first event of a later bucket
        arrives (see :mod:`trader.l2`).
        """

    def on_trade(self, trade: Any) -> None:
        """Called for every trade print in tick and L2 runs (while the book is synced), after the
        print filled the orders it reached. ``trade`` (:class:`trader._core.TradeTick`, reused:
        ``trade.copy()`` to keep it): ``ts``, ``price``, ``size``, ``side`` (the aggressor,
        "BUY"/"SELL"/None), ``id``."""

    def on_quote(self, quote: Any) -> None:
        """Called for every new top of book in tick and L2 runs: each quote tick, each
        ``bookTicker`` line of a recording (without them, each change of the rebuilt book's best
        bid/ask). ``quote`` (:class:`trader._core.QuoteTick`, reused): ``ts``, ``bid``, ``ask``,
        ``bid_size``, ``ask_size`` (a missing side: price None)."""

    def on_order_event(self, event: Any) -> None:
        """Called for each order event (accepted, rejected, filled, canceled, ...)."""

    def on_timer(self, event: Any) -> None:
        """Called when a timer or alert set through :attr:`clock` comes due. ``event``
        (:class:`trader._core.TimerEvent`): ``name``, ``ts`` (its time, ns; the clock during the
        call). Timers run on the run's clock: event time in tick/L2 backtests and in a replay (the
        same firings in both), the wall clock in ``trader live`` on a real-time feed."""

    def on_trading_state(self, change: dict[str, Any]) -> None:
        """Called when the risk engine's trading state changes (before the bar's order events).

        ``change`` is ``{"ts", "from", "to", "source", "reason"}``: states by name ("active",
        "reducing", "paused", "halted", "emergency"); ``source`` is "command", "config" or the
        name of the risk layer that asked for (or released) the state. The default does nothing;
        ``self._context().trading_state`` always holds the current state. L2 and tick runs
        (:func:`trader.run_l2_backtest`) call it too.
        """

    def on_book(self, book: Any) -> None:
        """Called by the tick and L2 engines (:func:`trader.run_l2_backtest`,
        :func:`trader.run_tick_backtest`) every ``elapse_ms`` of market time (``--elapse-ms``,
        100 ms by default) while the book is synced. ``book`` is the engine context:
        ``best_bid``, ``best_ask``, ``bid_size``, ``ask_size``, ``tick``, ``ts``,
        ``trading_state``, ``is_working(order_id)``. Orders pass the risk engine: a denial comes
        back through :meth:`on_order_event` (kind ``"denied"``, with ``reason`` and ``code``)."""

    def on_stop(self) -> None:
        """Called once after the last event."""

    def on_save(self) -> None:
        """Live only: called before the node stores :attr:`state` (at each checkpoint, a few times
        a second): copy into ``self.state`` what a restart must give back."""

    def on_load(self, state: dict[str, Any]) -> None:
        """Live only: called once on restart, after :attr:`state` was restored (``state`` is the
        same dict) and before any event: rebuild what :meth:`on_save` left out."""

    def vectorized(self, bars: Any) -> Signals | None:
        """Optionally return decisions for the whole series (the vectorized path)."""
        return None

    @classmethod
    def vectorized_many(cls, strategies: list[Strategy], bars: Any) -> list[Signals | None]:
        """The vectorized decisions of several instances of this class on the same bars (a sweep's
        combinations, run together by :func:`trader.kernel.run_many`). Entry k must equal
        ``strategies[k].vectorized(bars)`` exactly; the default computes just that. Override it to
        share work among the combinations — e.g. every period's indicator in one multi-lane pass
        (``trader.indicators.ema_multi``) instead of one pass per combination."""
        return [s.vectorized(bars) for s in strategies]

    # -- indicators -----------------------------------------------------------------------------
    def indicator(self, indicator: Any, source: str = "close", instrument: int | str = 0) -> Any:
        """Register a streaming indicator; the engine updates it from ``source`` before each bar.

        ``source``: open, high, low, close, volume, hlc (``update(high, low, close)``),
        close_volume, hlcv.
        """
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        self._indicators.append((instrument, source, indicator))
        return indicator

    # -- orders ---------------------------------------------------------------------------------
    def _context(self) -> Any:
        if self._ctx is None:
            raise RuntimeError("the strategy is not attached to a running engine")
        return self._ctx

    def buy(self, qty: float, *, price: float | None = None, instrument: int | str = 0, **instructions: Any) -> int:
        """Buy ``qty`` at market (or limit ``price``); returns the order id.

        ``instructions``: ``time_in_force``, ``expire_time``, ``post_only``, ``reduce_only``,
        ``display_qty``, ``client_id`` (see :mod:`trader.orders`).
        """
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        if instructions:
            return self.order(1, qty, price=price, instrument=instrument, **instructions)
        return self._context().submit(1, qty, instrument, price)

    def sell(self, qty: float, *, price: float | None = None, instrument: int | str = 0, **instructions: Any) -> int:
        """Sell ``qty`` at market (or limit ``price``); returns the order id (see :meth:`buy`)."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        if instructions:
            return self.order(-1, qty, price=price, instrument=instrument, **instructions)
        return self._context().submit(-1, qty, instrument, price)

    def order(self, side: str | int, qty: float, *, price: float | None = None, instrument: int | str = 0, **instructions: Any) -> int:
        """Submit a market (or limit, with ``price``) order: ``side`` is "buy"/"sell" (or +1/-1)."""
        s = {"buy": 1, "sell": -1, 1: 1, -1: -1}.get(side.lower() if isinstance(side, str) else side)
        if s is None:
            raise InvalidInputError(f"side: must be 'buy' or 'sell', got {side!r}")
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        if instructions:
            kind = "market" if price is None else "limit"
            return self.submit(orders.OrderRequest(s, qty, kind, price=price, instrument=instrument, **instructions))
        return self._context().submit(s, qty, instrument, price)

    def submit(self, order: orders.OrderRequest) -> int:
        """Submit an order request built with :mod:`trader.orders`; returns its client order id."""
        if not isinstance(order, orders.OrderRequest):
            raise InvalidInputError(f"order: expected a trader.orders.OrderRequest, got {type(order).__name__}")
        return self._context().submit_order(order)

    def submit_oco(self, *legs: orders.OrderRequest) -> list[int]:
        """One-cancels-other: when one leg fills (even partly) the others are canceled (or reduced)."""
        if len(legs) < 2:
            raise InvalidInputError(f"legs: an OCO needs at least two orders, got {len(legs)}")
        return self._context().submit_list("oco", self._requests(legs))

    def submit_oto(self, parent: orders.OrderRequest, *children: orders.OrderRequest) -> list[int]:
        """One-triggers-other: the children go to the venue once ``parent`` fills, sized to its fill."""
        if not children:
            raise InvalidInputError("children: an OTO needs at least one child order")
        return self._context().submit_list("oto", self._requests((parent, *children)))

    def bracket(
        self,
        side: str | int,
        qty: float,
        *,
        take_profit: float | None = None,
        stop_loss: float | None = None,
        trailing_offset: float | None = None,
        offset_type: str = "price",
        entry_price: float | None = None,
        stop_limit: float | None = None,
        instrument: int | str = 0,
        time_in_force: str = "GTC",
    ) -> list[int]:
        """An entry (market, or limit at ``entry_price``) with protective exits that activate on
        its fill, sized to the filled quantity: a take-profit limit at ``take_profit`` and a stop
        at ``stop_loss`` (stop-market, or stop-limit at ``stop_limit``) or a trailing stop
        ``trailing_offset`` away (in ``offset_type`` units: price, bps or ticks). With both a
        take-profit and a stop, the exits cancel each other (a bracket); with one exit it is an
        OTO. Returns the ids: [entry, exit, ...] in that order (take-profit first).
        """
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        return self._context().bracket(orders._side(side), qty, instrument, entry_price, take_profit, stop_loss, stop_limit,
                                       trailing_offset, offset_type, time_in_force)

    def modify(self, order_id: int, *, qty: float | None = None, price: float | None = None, trigger: float | None = None) -> None:
        """Change a working order's total quantity, limit price or trigger (an event confirms)."""
        if qty is None and price is None and trigger is None:
            raise InvalidInputError("modify: give at least one of qty, price, trigger")
        self._context().modify(order_id, qty, price, trigger)

    @staticmethod
    def _requests(reqs: Any) -> list[orders.OrderRequest]:
        for r in reqs:
            if not isinstance(r, orders.OrderRequest):
                raise InvalidInputError(f"order: expected a trader.orders.OrderRequest, got {type(r).__name__}")
        return list(reqs)

    def close(self, instrument: int | str = 0) -> int | None:
        """Flatten the position at market; returns the order id, or None when already flat."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        ctx = self._context()
        pos = ctx.position(instrument)
        if pos == 0:
            return None
        return ctx.submit(-1 if pos > 0 else 1, abs(pos), instrument, None)

    def cancel(self, order_id: int) -> None:
        self._context().cancel(order_id)

    def cancel_all(self, instrument: int | str | None = None) -> None:
        if instrument is not None and instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        self._context().cancel_all(instrument)

    # -- state ----------------------------------------------------------------------------------
    def position(self, instrument: int | str = 0) -> float:
        """Signed position in units (long > 0)."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        return self._context().position(instrument)

    @property
    def cash(self) -> float:
        return self._context().cash

    @property
    def equity(self) -> float:
        return self._context().equity

    @property
    def clock(self) -> StrategyClock:
        """Time of the current event, UTC epoch nanoseconds (bar runs: the bar's time; tick and L2
        runs and ``trader live``: the run's clock at the callback) — an ``int`` that also sets
        timers: ``self.clock.set_timer(name, interval, start=None)``, ``set_alert(name, at)``,
        ``cancel_timer(name)`` (see :class:`StrategyClock`)."""
        ctx = self._context()
        return StrategyClock(ctx.ts, ctx)

    # -- risk ---------------------------------------------------------------------------------
    @property
    def trading_state(self) -> str:
        """The risk engine's trading state: active, reducing, paused, halted or emergency."""
        return self._context().trading_state

    def set_trading_state(self, state: str, reason: str = "") -> None:
        """Command a trading state (an audit entry and an ``on_trading_state`` event). The engine's
        state is the most severe of this and the risk layers' wishes."""
        self._context().set_trading_state(state, reason)

    def set_confidence(self, value: float, instrument: int | str = 0) -> None:
        """Feed the composite confidence in [0, 1] (e.g. the decision kernel's) to the risk
        engine: the ``confidence`` layer sizes orders and caps leverage from it."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        self._context().set_confidence(value, instrument)

    def lot(self, instrument: int | str = 0) -> float:
        """The instrument's quantity step, in units: order quantities are multiples of it."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        return self._context().lot(instrument)

    def qty_for(self, fraction: float, price: float, instrument: int | str = 0) -> float:
        """Quantity worth ``fraction`` of equity at ``price``, rounded down to the lot.

        A request that rounds to 0 although it asks for something (the lot step is larger than
        the amount) is counted: a run whose every order rounded away is warned about."""
        if instrument.__class__ is not int:
            instrument = self._instrument_id(instrument)
        q = self._context().qty_for_fraction(fraction, price, instrument)
        if q == 0 and fraction > 0 and price > 0 and self.equity > 0:
            self._lot_roundings += 1
        return q

    def _instrument_id(self, instrument: int | str) -> int:
        """The index of ``instrument`` in the run: a symbol however written (``BTCUSDT``,
        ``BTC/USDT``, ``BTC_USDT``...) is resolved among :attr:`symbols`, an unknown one is an
        error listing them; anything else is passed on as an index (the engine checks it).

        NB: the methods test ``instrument.__class__ is not int`` inline before calling this: on the
        per-order path that costs ~10 ns, a call ~60 ns (a trade-every-bar run measured 8-10 %
        slower with the call)."""
        if isinstance(instrument, str):
            return resolve_symbol(instrument, self.symbols)
        return instrument

    # -- engine side ----------------------------------------------------------------------------
    def _attach(self, ctx: Any, symbols: list[str]) -> None:
        self._ctx = ctx
        self.symbols = list(symbols)
        self._indicators = []
        self._lot_roundings = 0

    def _overrides(self, method: str) -> bool:
        return getattr(type(self), method) is not getattr(Strategy, method)

    def _event_handler(self) -> Callable[[Any], None] | None:
        return self.on_order_event if self._overrides("on_order_event") else None

    def _state_handler(self) -> Callable[[dict[str, Any]], None] | None:
        return self.on_trading_state if self._overrides("on_trading_state") else None
