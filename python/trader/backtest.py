"""``run_backtest``: the programmatic form of ``trader backtest``."""

from __future__ import annotations

import os

from collections.abc import Sequence
from typing import Any

from trader.exceptions import InvalidInputError
from trader.inputs import check_run_numbers
from trader.instruments import canonical_symbol
from trader.kernel import BacktestConfig, BacktestKernel
from trader.results import BacktestResult
from trader.strategy import Strategy

__all__ = ["run_backtest", "backtest_kernel", "finish_result", "make_strategy", "run_warnings"]


def make_strategy(name: str | type[Strategy] | Strategy, params: dict[str, Any] | None = None) -> Strategy:
    """A strategy instance (params validated) from a registered name, a location
    (``path/to/file.py:ClassName`` or ``package.module:ClassName``, see
    :func:`trader.plugins.load_strategy`), a class, or an instance."""
    if isinstance(name, Strategy):
        if params:
            raise InvalidInputError("params: give them to the strategy's constructor, not with an instance")
        return name
    if isinstance(name, type) and issubclass(name, Strategy):
        return name(**(params or {}))
    from trader.plugins import is_strategy_spec, load_strategy, strategies

    if isinstance(name, str) and is_strategy_spec(name):
        return load_strategy(name)(**(params or {}))
    found = strategies()
    cls = found.get(str(name))
    if cls is None:
        raise InvalidInputError(f"strategy: unknown strategy {name!r} (known: {', '.join(sorted(found)) or 'none'})")
    return cls(**(params or {}))


def run_backtest(
    strategy: str | type[Strategy] | Strategy = "ema_cross",
    params: dict[str, Any] | None = None,
    data: Sequence[Any] | str | Any | None = None,
    *,
    source: str | None = None,
    symbol: str | None = None,
    start: Any = None,
    end: Any = None,
    gap_policy: str = "report",
    options: dict[str, Any] | None = None,
    cash: float = 10_000.0,
    fee_bps: float = 0.0,
    slippage_bps: float = 0.0,
    fill_at: str = "next_open",
    mode: str = "event",
    price_precision: int | None = None,
    size_precision: int = 6,
    batch_size: int = 1_000_000,
    progress: bool = False,
    account: str = "cash",
    leverage: float = 1.0,
    maintenance_margin: float = 0.005,
    liquidation_fee: float = 0.0,
    funding_rate: float | None = None,
    funding: Any = None,
    funding_interval_h: float = 8.0,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
    fee_tiers: list[tuple[float, float, float]] | None = None,
    fee_tier: int | None = None,
    slippage: str = "fixed",
    spread_bps: float = 0.0,
    impact_k: float = 1.0,
    impact_max_bps: float = 500.0,
    fill_model: str | None = None,
    latency: str | None = None,
    fees: str | None = None,
    risk: Any = None,
    off_tick: str = "round",
    off_lot: str = "round",
) -> BacktestResult:
    """Run ``strategy`` over ``data`` and return the result.

    ``data``: a path, ``None`` (the synthetic series), a :class:`trader.data.Bars` held in memory,
    or a list of those (several instruments, merged by timestamp).

    Account, fees and slippage (see :class:`trader.kernel.BacktestConfig` and
    ``trader._core.configure_account`` for the documented models): ``account="margin"`` with
    ``leverage``, ``maintenance_margin``, ``liquidation_fee`` and ``funding_rate`` (constant, every
    ``funding_interval_h`` hours) or ``funding`` (a series); ``maker_fee_bps``/``taker_fee_bps`` or
    ``fee_tiers``/``fee_tier``; ``slippage`` = "fixed" | "none" | "spread" | "sqrt".

    Fill models (venue plugins, ``trader.fill_models``; ``trader plugins`` lists them) by name as
    ``"NAME[:k=v,...]"``: ``fill_model`` (bars: intrabar path, volume participation),
    ``latency`` (constant, lognormal), ``fees`` (flat, tiered), and ``slippage`` (also a model name:
    fixed_bps, no_slippage, spread, sqrt_impact).

    ``risk``: a :class:`trader.risk.RiskSettings` (limits and layers; ``load_risk_config(path)``
    reads one from TOML), or a path to such a TOML file. None: the structural checks only.

    ``off_tick`` / ``off_lot``: what happens to a strategy's price between two ticks ("round":
    toward the order's conservative side; "reject": an error) and quantity between two lots
    ("round": down, reported in ``result.warnings``; "reject").
    """
    args = dict(locals())
    progress = args.pop("progress")
    kernel = backtest_kernel(**args)
    if not progress:
        result = kernel.run()
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        total = sum(int(f.meta.get("rows") or 0) for f in kernel.feeds) or None
        with Progress(TextColumn("[bold]backtest"), BarColumn(), TextColumn("{task.completed:,} bars"), TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("run", total=total)
            result = kernel.run(on_batch=lambda done: bar.update(task, completed=done))
    return finish_result(kernel, result)


def backtest_kernel(
    strategy: str | type[Strategy] | Strategy = "ema_cross",
    params: dict[str, Any] | None = None,
    data: Sequence[Any] | str | Any | None = None,
    *,
    source: str | None = None,
    symbol: str | None = None,
    start: Any = None,
    end: Any = None,
    gap_policy: str = "report",
    options: dict[str, Any] | None = None,
    cash: float = 10_000.0,
    fee_bps: float = 0.0,
    slippage_bps: float = 0.0,
    fill_at: str = "next_open",
    mode: str = "event",
    price_precision: int | None = None,
    size_precision: int = 6,
    batch_size: int = 1_000_000,
    account: str = "cash",
    leverage: float = 1.0,
    maintenance_margin: float = 0.005,
    liquidation_fee: float = 0.0,
    funding_rate: float | None = None,
    funding: Any = None,
    funding_interval_h: float = 8.0,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
    fee_tiers: list[tuple[float, float, float]] | None = None,
    fee_tier: int | None = None,
    slippage: str = "fixed",
    spread_bps: float = 0.0,
    impact_k: float = 1.0,
    impact_max_bps: float = 500.0,
    fill_model: str | None = None,
    latency: str | None = None,
    fees: str | None = None,
    risk: Any = None,
    off_tick: str = "round",
    off_lot: str = "round",
) -> BacktestKernel:
    """The kernel :func:`run_backtest` runs, with its arguments checked, its data opened and its
    strategy made — everything but the run (:func:`trader.kernel.run_many` runs several)."""
    from trader.data import Bars, MemoryFeed
    from trader.plugins import find_data_source

    check_run_numbers(cash=cash, fee_bps=fee_bps, slippage_bps=slippage_bps, maker_fee_bps=maker_fee_bps,
                      taker_fee_bps=taker_fee_bps, spread_bps=spread_bps, impact_k=impact_k, impact_max_bps=impact_max_bps,
                      leverage=leverage, maintenance_margin=maintenance_margin, liquidation_fee=liquidation_fee,
                      funding_rate=funding_rate, funding_interval_h=funding_interval_h)
    if symbol is not None and not canonical_symbol(symbol):
        raise InvalidInputError(f"symbol: expected an instrument symbol such as BTCUSDT or BTC/USDT, got {symbol!r}")
    strat = make_strategy(strategy, params)
    paths = list(data) if isinstance(data, (list, tuple)) else [data]
    feeds = []
    for path in paths:
        if isinstance(path, Bars):
            feeds.append(MemoryFeed(path.between(start, end) if (start or end) else path, batch_size))
            continue
        src = find_data_source(path, source)
        feeds.append(
            src.open(path, symbol=symbol, start=start, end=end, batch_size=batch_size, gap_policy=gap_policy, **(options or {}))
        )
    from trader.data.ticks import TickFeed

    for feed in feeds:
        if isinstance(feed, TickFeed):
            raise InvalidInputError(
                f"data: {feed.where} holds tick data ({feed.kind}), not bars: run it with trader.run_tick_backtest "
                "(or `trader backtest-l2` for Binance recordings)"
            )
    _check_one_id_per_instrument(feeds)
    funding_source = None
    if account == "margin" and funding is None and funding_rate is None:
        from trader.data.catalog import feed_funding  # bars from catalog:...: the symbol's funding from there too

        funding, funding_source = feed_funding(feeds, start, end)
    if isinstance(risk, (str, os.PathLike)):
        from trader.risk import load_risk_config

        risk = load_risk_config(risk)
    config = BacktestConfig(cash=cash, fee_bps=fee_bps, slippage_bps=slippage_bps, fill_at=fill_at, mode=mode,
                            price_precision=price_precision, size_precision=size_precision, account=account,
                            leverage=leverage, maintenance_margin=maintenance_margin, liquidation_fee=liquidation_fee,
                            funding_rate=funding_rate, funding=funding, funding_interval_h=funding_interval_h,
                            maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps, fee_tiers=fee_tiers,
                            fee_tier=fee_tier, slippage=slippage, spread_bps=spread_bps, impact_k=impact_k,
                            impact_max_bps=impact_max_bps, fill_model=fill_model, latency=latency, fees=fees,
                            risk=risk, off_tick=off_tick, off_lot=off_lot, funding_source=funding_source)
    return BacktestKernel(strat, feeds, config)


def finish_result(kernel: BacktestKernel, result: BacktestResult) -> BacktestResult:
    """What :func:`run_backtest` adds to a kernel's result: the strategy's name for a class without
    a registry name, and the warnings of a run that could not trade."""
    if not result.strategy:  # a class without a registry name (e.g. from a file)
        result.strategy = type(kernel.strategy).__name__
    result.warnings.extend(run_warnings(kernel.strategy, result, kernel.config.size_precision))
    if kernel.config.funding_source:
        result.meta["funding_source"] = kernel.config.funding_source
    return result


def _check_one_id_per_instrument(feeds: Sequence[Any]) -> None:
    """Two feeds whose symbols name one instrument (``BTC_USDT`` and ``BTCUSDT``) are refused."""
    seen: dict[str, Any] = {}
    for feed in feeds:
        key = canonical_symbol(feed.symbol)
        if key in seen:
            other = seen[key]
            raise InvalidInputError(f"data: {other.symbol} ({other.where}) and {feed.symbol} ({feed.where}) are the same instrument "
                                    f"{key}: give each instrument once (or name them apart with trader.data.open_bars(..., symbol=))")
        seen[key] = feed


def run_warnings(strat: Strategy, result: BacktestResult, size_precision: int) -> list[str]:
    """Why a run could not trade, for runs that still complete (exit 0): the warm-up of a registered
    indicator longer than the data it was given, and orders the lot step rounded to 0."""
    out = []
    traded = result.orders > 0
    for instrument, _source, ind in strat._indicators:
        count = getattr(ind, "count", 0)
        if count and getattr(ind, "initialized", True) is False:
            sym = result.symbols[instrument] if 0 <= instrument < len(result.symbols) else f"instrument {instrument}"
            out.append(f"warm-up longer than the data: {type(ind).__name__} was still warming up after all {count:,} bars of {sym}, "
                       f"so it never gave a value{'' if traded else ' and no order was placed'} (shorten its period or give more data)")
    lot = f"{10.0 ** -size_precision:g}"
    if strat._lot_roundings and not traded:
        out.append(f"lot step too coarse: qty_for rounded all {strat._lot_roundings:,} order sizes down to 0 at the lot step {lot} "
                   f"(size precision {size_precision}), so no order was placed (give a finer size precision)")
    below = int((result.risk.get("denials") or {}).get("quantity_below_min", 0))
    if below and not traded:
        out.append(f"lot step too coarse: all {below:,} orders were denied as below the minimum quantity (lot step {lot}, size "
                   f"precision {size_precision}), so no order was placed (give a finer size precision)")
    return out
