"""``run_backtest``: the programmatic form of ``trader backtest``."""

from __future__ import annotations

import os

from collections.abc import Sequence
from typing import Any

from trader.exceptions import InvalidInputError
from trader.kernel import BacktestConfig, BacktestKernel
from trader.results import BacktestResult
from trader.strategy import Strategy

__all__ = ["run_backtest", "make_strategy"]


def make_strategy(name: str | type[Strategy] | Strategy, params: dict[str, Any] | None = None) -> Strategy:
    """A strategy instance from a registered name, a class, or an instance (params validated)."""
    if isinstance(name, Strategy):
        if params:
            raise InvalidInputError("params: give them to the strategy's constructor, not with an instance")
        return name
    if isinstance(name, type) and issubclass(name, Strategy):
        return name(**(params or {}))
    from trader.plugins import strategies

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
    from trader.data import Bars, MemoryFeed
    from trader.plugins import find_data_source

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
                            risk=risk, off_tick=off_tick, off_lot=off_lot)
    kernel = BacktestKernel(strat, feeds, config)
    if not progress:
        return kernel.run()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    total = sum(int(f.meta.get("rows") or 0) for f in feeds) or None
    with Progress(TextColumn("[bold]backtest"), BarColumn(), TextColumn("{task.completed:,} bars"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("run", total=total)
        return kernel.run(on_batch=lambda done: bar.update(task, completed=done))
