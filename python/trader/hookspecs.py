"""Every hook the framework calls. Plugins implement them with ``@trader.hookimpl``.

Hooks are named ``trader_*``. Each returns a list of the objects the plugin provides; the framework
collects the lists of every registered plugin (see :mod:`trader.plugins`). None is
``firstresult``: every plugin's answer counts.
"""

from __future__ import annotations

import pluggy

#: Marker for hook specifications of the project ``"trader"``.
hookspec = pluggy.HookspecMarker("trader")


@hookspec
def trader_data_sources() -> list:  # type: ignore[empty-body]
    """Data sources this plugin provides.

    A data source has ``name: str``, ``description: str``, ``can_open(path) -> bool`` and
    ``open(path, *, symbol=None, start=None, end=None, batch_size=1_000_000, gap_policy="report",
    **options) -> trader.data.BarFeed`` (the protocol :class:`trader.data.DataSource`).

    :return: a list of data source objects; names must be unique across all plugins.
    """


@hookspec
def trader_strategies() -> list:  # type: ignore[empty-body]
    """Strategy classes this plugin provides.

    :return: a list of Strategy subclasses, each with a class attribute ``name`` unique across all
        plugins.
    """


@hookspec
def trader_venues() -> list:  # type: ignore[empty-body]
    """Venues this plugin provides: the simulated exchange, exchange adapters, paper venues.

    :return: a list of venue objects or classes, each with a ``name`` unique across all plugins.
    """


@hookspec
def trader_fill_models() -> list:  # type: ignore[empty-body]
    """Fill models of the simulated venue: matching for bars, quotes or L2 books, and the
    slippage, latency and fee models applied on top (see ``trader.fill_models``).

    :return: a list of ``trader.fill_models.FillModel`` objects, each with a ``kind`` and a
        ``name`` unique across all plugins.
    """


@hookspec
def trader_risk_layers() -> list:  # type: ignore[empty-body]
    """Risk layers this plugin provides (pre-trade checks added to the risk engine).

    :return: a list of risk layer objects or classes, each with a ``name`` unique across all plugins.
    """


@hookspec
def trader_data_clients() -> list:  # type: ignore[empty-body]
    """Live market-data clients this plugin provides (``trader live --feed NAME[:k=v,...]``).

    A data client has ``name: str``, ``description: str`` and ``open(paths: list[str], options:
    dict, *, speed: float)`` (the parts of ``--feed NAME:...``: files, ``k=v`` options; the replay
    pace, ``math.inf`` for ``--speed max``) returning a feed: an object with ``mode`` (``"quotes"``: trades and top-of-book quotes;
    ``"l2"``: raw recorded Binance lines), ``symbol``, ``market``, ``price_precision``,
    ``size_precision`` (None: read from the data), ``describe() -> str`` and ``batches()``, an
    async iterator of event batches (see :mod:`trader.live.feeds` for the events). The feed waits
    for its own events (network, a recording's pace); the node pushes every batch into the
    engine's ring. Raise ``trader.exceptions.InvalidInputError`` for a bad spec, before any I/O.

    :return: a list of data clients, each with a ``name`` unique across all plugins.
    """


@hookspec
def trader_execution_clients() -> list:  # type: ignore[empty-body]
    """Live execution clients this plugin provides (``trader live --venue NAME``): where the
    node's orders go after the risk engine.

    An execution client has ``name: str``, ``description: str``, ``paper: bool`` (True: the
    simulated venue behind a live feed) and ``session(strategy, feed, settings: dict)`` returning
    the engine session of one strategy (a ``trader._core.LiveSession`` or an object with its
    methods: ``push_*``, ``pump``, ``status``, ``set_state``, ``cancel_all``, ``flatten``,
    ``finish``).

    Reconciliation (restart, and the in-flight check of orders stuck in submitted / pending
    states): a client of a real venue also offers :class:`trader.live.reconcile.ReconcilingVenue`
    — ``mass_status(since_ts) -> MassStatus`` (the venue's open orders, its fills since
    ``since_ts`` ns, positions and balances), ``query_order(client_id) -> VenueOrder | None`` (the
    venue's order with that client order id in any status; None only when the venue has none, once
    its acceptance window has passed) and ``order_fills(client_id) -> list[VenueFill]``. Quantities,
    prices and money are exact decimal strings. Reconciliation only reads through these: an
    unacknowledged command is resolved by asking, never by sending it again (see
    :mod:`trader.live.reconcile` for the rules).

    :return: a list of execution clients, each with a ``name`` unique across all plugins.
    """


@hookspec
def trader_diagnostics() -> list:  # type: ignore[empty-body]
    """Statistical diagnostics of a series this plugin provides (``trader data inspect PATH
    --diagnostics NAME,...``, :func:`trader.research.diagnostics.run_diagnostics`).

    A diagnostic has ``name: str``, ``description: str`` and ``run(series: numpy.ndarray) ->
    trader.research.diagnostics.DiagnosticResult`` (``series``: 1-D float64, finite, the bars' log
    returns from the CLI). Raise ``trader.exceptions.InvalidInputError`` for a series it cannot
    take.

    :return: a list of diagnostics, each with a ``name`` unique across all plugins.
    """
