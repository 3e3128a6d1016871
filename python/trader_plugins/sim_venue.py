"""The built-in simulated venue, registered like any third-party venue.

The matching, fill model and accounting run in Rust (``trader._core.Backtest``, see
``core-rs/src/venue``); this plugin is what the kernel looks up by name (``--venue sim``, the
default) to build it.
"""

from __future__ import annotations

from typing import Any

from trader import _core, hookimpl


class SimulatedVenue:
    """Bars in, fills out: market orders at the next open (or this close), limit orders when the bar
    trades through them, slippage against the trader, fees on notional, a cash account."""

    name = "sim"
    description = "Simulated exchange for backtests (market and limit orders on bars)"

    def create(self, symbols: list[str], price_precision: list[int], size_precision: list[int], *, cash: float,
               fee_bps: float, slippage_bps: float, fill_at: str, models: dict[str, dict[str, Any]] | None = None,
               **account: Any) -> Any:
        """The engine for one backtest: a ``trader._core.Backtest``. ``account``: the keyword
        arguments of ``trader._core.configure_account`` (margin account, fee tiers, slippage model);
        ``models``: fill models by kind (``trader.fill_models`` configs), translated here."""
        engine = _core.Backtest(symbols, price_precision, size_precision, cash, fee_bps, slippage_bps, fill_at)
        venue, extra = translate(models or {})
        if venue:
            _core.configure_venue(engine, **venue)
        account = {**account, **extra}
        if account:
            _core.configure_account(engine, **account)
        return engine


#: Volume-based VIP tiers (30-day notional in quote currency, maker bps, taker bps), from Binance's
#: published fee schedules (regular accounts, no BNB discount; the BNB-balance criterion is left
#: out). Check the current schedule before relying on them.
FEE_SCHEDULES: dict[str, list[tuple[float, float, float]]] = {
    "binance_usdm": [
        (0.0, 2.0, 5.0), (15e6, 1.6, 4.0), (50e6, 1.4, 3.5), (100e6, 1.2, 3.2), (600e6, 1.0, 3.0),
        (1e9, 0.8, 2.7), (2.5e9, 0.6, 2.5), (5e9, 0.4, 2.2), (12.5e9, 0.2, 2.0), (25e9, 0.0, 1.7),
    ],
    "binance_spot": [
        (0.0, 10.0, 10.0), (1e6, 9.0, 10.0), (5e6, 8.0, 10.0), (20e6, 4.2, 6.0), (100e6, 4.2, 5.4),
        (150e6, 3.6, 4.8), (400e6, 3.0, 4.2), (800e6, 2.4, 3.6), (2e9, 1.8, 3.0), (4e9, 1.2, 2.4),
    ],
}


def translate(models: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fill-model configs → (``configure_venue`` kwargs, ``configure_account`` kwargs)."""
    venue: dict[str, Any] = {}
    account: dict[str, Any] = {}
    for kind, cfg in models.items():
        model = cfg["model"]
        if kind == "bars":
            venue.update(path=cfg["path"], volume_cap=cfg["participation"])
        elif kind == "latency":
            if model != "no_latency":
                venue.update(latency=model, submit_ms=cfg["submit_ms"], cancel_ms=cfg["cancel_ms"])
                if model == "lognormal":
                    venue.update(sigma=cfg["sigma"], seed=cfg["seed"])
        elif kind == "slippage":
            if model == "no_slippage":
                account["slippage"] = "none"
            elif model == "fixed_bps":
                account["slippage"] = "fixed"
                if cfg["bps"] is not None:
                    account["slippage_bps"] = cfg["bps"]
            elif model == "spread":
                account.update(slippage="spread", spread_bps=cfg["spread_bps"])
            elif model == "sqrt_impact":
                account.update(slippage="sqrt", impact_k=cfg["k"])
            else:
                raise ValueError(f"slippage model {model!r} is not one the simulated venue implements")
        elif kind == "fees":
            if model == "flat":
                for side in ("maker", "taker"):
                    if cfg[f"{side}_bps"] is not None:
                        account[f"{side}_fee_bps"] = cfg[f"{side}_bps"]
            elif model == "tiered":
                account["fee_tiers"] = FEE_SCHEDULES[cfg["schedule"]]
            else:
                raise ValueError(f"fee model {model!r} is not one the simulated venue implements")
        else:
            raise ValueError(f"{kind} models are not used by the bar venue (see trader.run_l2_backtest)")
    return venue, account


@hookimpl
def trader_venues() -> list:
    """The simulated exchange."""
    return [SimulatedVenue()]
