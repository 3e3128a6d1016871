"""The live node's Prometheus metrics (``GET /metrics`` of the control API).

Each :class:`NodeMetrics` has its own ``CollectorRegistry``: several nodes (and tests) can live in
one process without their series mixing, and nothing lands in prometheus-client's global registry.

=====================================  =========  =========  ===============================================
name                                   type       labels     meaning
=====================================  =========  =========  ===============================================
``trader_events_total``                counter    stream     market and order events taken in, per stream
``trader_orders_total``                counter    status     order events by status (submitted, accepted,
                                                             denied, rejected, filled, canceled, ...)
``trader_fills_total``                 counter               fills (a partial fill counts once)
``trader_risk_denials_total``          counter    code       orders the risk engine denied, by reason code
``trader_trading_state``               enum                  the trading state: one series per state,
                                                             1 for the current one (active, reducing,
                                                             paused, halted, emergency)
``trader_equity``                      gauge                 account equity, quote currency
``trader_cash``                        gauge                 account cash, quote currency
``trader_pnl``                         gauge                 PnL since the start (realized + unrealized
                                                             - fees), quote currency
``trader_position``                    gauge      symbol     signed position, instrument units
``trader_tick_to_order_seconds``       histogram             from a market event's arrival to the order it
                                                             caused leaving (1 µs .. 10 ms buckets)
``trader_feed_lag_seconds``            gauge      stream     arrival time minus the venue's event time of
                                                             the stream's last event
``trader_ring_dropped_total``          counter    stream     events the ring overwrote before the engine
                                                             read them (quotes, book tops only)
``trader_strategy_callback_seconds``   histogram             time spent in one strategy callback
``trader_ready``                       gauge                 1 when the node is ready to trade, else 0
``trader_feed_switches_total``         counter    from, to,  switches of a failover feed from one source to
                                                  reason     another (reason: stale, down, recovered; see
                                                             :mod:`trader.live.failover`)
``trader_feed_source_active``          gauge      source     a failover feed's sources: 1 for the one whose
                                                             events the node gets, 0 for the others
``process_cpu_seconds_total``          counter               CPU time of the node's process (user + system)
``process_resident_memory_bytes``      gauge                 resident memory of the node's process
=====================================  =========  =========  ===============================================

With several strategies in one node (each with its own paper account), the series are the
node's: order events, denials, fills and latencies of every strategy added up, the account
gauges summed over the accounts, positions summed by symbol, the most severe trading state;
events are counted once, as the feed delivers them. Each strategy's own figures are in
``GET /status``. The node's rings never drop (a full ring holds the feed back), so
``trader_ring_dropped_total`` stays 0 for the node's streams; how far the engine is behind shows
in ``trader_feed_lag_seconds`` (the time the engine took on the last batch) and the rings'
backlog in ``/status``. ``trader_strategy_callback_seconds`` times each engine call of the loop
(the strategy's callbacks during it included).

The process collector adds its usual siblings (``process_open_fds``, ``process_start_time_seconds``,
...), and prometheus-client adds a ``*_created`` series to each counter and histogram.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from trader.exceptions import InvalidInputError
from trader.risk import STATES

__all__ = ["NodeMetrics", "TICK_TO_ORDER_BUCKETS", "CALLBACK_BUCKETS"]

#: Buckets of ``trader_tick_to_order_seconds``: 1 µs to 10 ms, 1-2.5-5 per decade.
TICK_TO_ORDER_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2)

#: Buckets of ``trader_strategy_callback_seconds``: 1 µs to 100 ms (a Python callback is slower
#: than the engine's own path, and a slow one is what this histogram is there to show).
CALLBACK_BUCKETS = (*TICK_TO_ORDER_BUCKETS, 2.5e-2, 5e-2, 1e-1)


def _nonnegative(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0:  # also refuses NaN
        raise InvalidInputError(f"{name}: expected a number >= 0, got {value!r}")
    return value


class NodeMetrics:
    """The metrics of one live node, in a registry of their own (see the module's table).

    The node calls the methods as things happen; :meth:`render` produces the Prometheus text
    exposition. Not thread-safe beyond what prometheus-client guarantees (its metrics take a lock
    per update); the node calls it from its loop thread.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._events = Counter("trader_events_total", "Market and order events taken in, per stream.", ["stream"], registry=r)
        self._orders = Counter("trader_orders_total", "Order events by status.", ["status"], registry=r)
        self._fills = Counter("trader_fills_total", "Fills.", registry=r)
        self._denials = Counter("trader_risk_denials_total", "Orders denied by the risk engine, by reason code.", ["code"], registry=r)
        self._state = Enum("trader_trading_state", "The trading state.", states=list(STATES), registry=r)
        self._equity = Gauge("trader_equity", "Account equity, quote currency.", registry=r)
        self._cash = Gauge("trader_cash", "Account cash, quote currency.", registry=r)
        self._pnl = Gauge("trader_pnl", "PnL since the start (realized + unrealized - fees), quote currency.", registry=r)
        self._position = Gauge("trader_position", "Signed position, instrument units.", ["symbol"], registry=r)
        self._tick_to_order = Histogram("trader_tick_to_order_seconds", "From a market event's arrival to the order it caused leaving.",
                                        buckets=TICK_TO_ORDER_BUCKETS, registry=r)
        self._feed_lag = Gauge("trader_feed_lag_seconds", "Arrival time minus venue event time of the stream's last event.", ["stream"], registry=r)
        self._ring_dropped = Counter("trader_ring_dropped_total", "Events the ring overwrote before the engine read them.", ["stream"], registry=r)
        self._callback = Histogram("trader_strategy_callback_seconds", "Time spent in one strategy callback.",
                                   buckets=CALLBACK_BUCKETS, registry=r)
        self._ready = Gauge("trader_ready", "1 when the node is ready to trade, else 0.", registry=r)
        self._feed_switches = Counter("trader_feed_switches_total", "Switches of a failover feed between its sources.",
                                      ["from", "to", "reason"], registry=r)
        self._feed_source = Gauge("trader_feed_source_active", "1 for the failover feed's active source, 0 for the others.",
                                  ["source"], registry=r)
        ProcessCollector(registry=r)
        self._ring_totals: dict[str, int] = {}

    def event(self, stream: str, n: int = 1) -> None:
        """Count ``n`` events taken in from ``stream`` (e.g. "BTCUSDT.trades")."""
        if n < 0:
            raise InvalidInputError(f"n: expected an event count >= 0, got {n}")
        self._events.labels(stream=stream).inc(n)

    def order_event(self, status: str, n: int = 1) -> None:
        """Count ``n`` order events of ``status`` ("submitted", "accepted", "denied", "filled", ...)."""
        if n < 0:
            raise InvalidInputError(f"n: expected an order event count >= 0, got {n}")
        self._orders.labels(status=status).inc(n)

    def fill(self, n: int = 1) -> None:
        """Count ``n`` fills."""
        if n < 0:
            raise InvalidInputError(f"n: expected a fill count >= 0, got {n}")
        self._fills.inc(n)

    def denial(self, code: str, n: int = 1) -> None:
        """Count ``n`` orders denied (risk engine or account) with reason ``code``."""
        if n < 0:
            raise InvalidInputError(f"n: expected a denial count >= 0, got {n}")
        self._denials.labels(code=code).inc(n)

    def set_state(self, state: str) -> None:
        """The current trading state (one of :data:`trader.risk.STATES`, case-insensitive)."""
        s = state.lower()
        if s not in STATES:
            raise InvalidInputError(f"state: unknown trading state {state!r} (expected one of {', '.join(STATES)})")
        self._state.state(s)

    def set_account(self, *, cash: float | None = None, equity: float | None = None, pnl: float | None = None) -> None:
        """Set the account gauges given (the others keep their value)."""
        if cash is not None:
            self._cash.set(cash)
        if equity is not None:
            self._equity.set(equity)
        if pnl is not None:
            self._pnl.set(pnl)

    def set_position(self, symbol: str, qty: float) -> None:
        """The signed position in ``symbol`` (0 when flat; the series stays)."""
        self._position.labels(symbol=symbol).set(qty)

    def tick_to_order(self, seconds: float) -> None:
        """Observe one tick-to-order latency."""
        self._tick_to_order.observe(_nonnegative("tick_to_order", seconds))

    def feed_lag(self, stream: str, seconds: float) -> None:
        """The lag of ``stream``'s last event (may be negative when clocks disagree)."""
        self._feed_lag.labels(stream=stream).set(seconds)

    def ring_dropped(self, stream: str, total: int) -> None:
        """Report the ring's *running total* of dropped events for ``stream``; the counter grows by
        the difference from the last total reported. A total below the last one means the ring was
        replaced (a reconnect starts a new ring at 0): the new ring's total is added whole."""
        if total < 0:
            raise InvalidInputError(f"total: expected a dropped-event count >= 0, got {total}")
        last = self._ring_totals.get(stream, 0)
        step = total - last if total >= last else total
        self._ring_totals[stream] = total
        self._ring_dropped.labels(stream=stream).inc(step)

    def callback_time(self, seconds: float) -> None:
        """Observe the duration of one strategy callback."""
        self._callback.observe(_nonnegative("callback_time", seconds))

    def set_ready(self, ready: bool) -> None:
        """Whether the node is ready to trade (``trader_ready`` 1 or 0)."""
        self._ready.set(1 if ready else 0)

    def feed_switch(self, from_source: str, to_source: str, reason: str) -> None:
        """Count one switch of a failover feed from ``from_source`` to ``to_source`` (``reason``:
        stale, down, recovered)."""
        self._feed_switches.labels(from_source, to_source, reason).inc()

    def set_feed_source(self, active: str, sources: list[str]) -> None:
        """The failover feed's active source: 1 for ``active``, 0 for the other ``sources``."""
        if active not in sources:
            raise InvalidInputError(f"active: {active!r} is not one of the sources ({', '.join(sources)})")
        for name in sources:
            self._feed_source.labels(source=name).set(1 if name == active else 0)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric: (body, content type)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
