"""Backtest results and the statistics computed from them.

Conventions (documented because users compare them with other tools):
- Returns are simple returns of the equity curve, one per point (one point per bar timestamp),
  the first against the initial cash; the per-point pass runs in Rust (``_core.curve_stats``).
- Annualization uses the bar interval: ``periods_per_year = 365.25 days / interval`` (crypto
  trades every day). Sharpe = mean / std (ddof=1) × sqrt(periods_per_year), risk-free rate 0;
  Sortino uses the downside deviation sqrt(mean(min(r, 0)^2)).
- CAGR = (final / initial) ^ (1 / years) - 1 with years = (last ts - first ts + interval) / year.
- Max drawdown is the largest peak-to-trough fall of equity, as a fraction of the peak; its
  duration is the longest time spent below a previous peak (nanoseconds and bars).
- Calmar = CAGR / max drawdown. Trades are closed round trips (flat → flat, or a reversal), with
  PnL net of fees; win rate, profit factor (gross profit / gross loss) and expectancy (mean PnL per
  trade) come from them. Exposure is the fraction of points with an open position.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from trader import _core

__all__ = ["BacktestResult", "statistics"]

YEAR_NS = int(365.25 * 24 * 3600 * 1e9)


def statistics(
    equity: np.ndarray,
    ts: np.ndarray,
    exposed: np.ndarray,
    trade_pnl: np.ndarray,
    initial_cash: float,
    interval_ns: int,
    fees: float,
) -> dict[str, float | int | None]:
    """Every statistic of the report, from the equity curve and the closed trades."""
    n = len(equity)
    final = float(equity[-1]) if n else initial_cash
    out: dict[str, Any] = {"initial_cash": initial_cash, "final_equity": final}
    out["total_return"] = final / initial_cash - 1.0
    span_ns = (int(ts[-1]) - int(ts[0]) + interval_ns) if n else 0
    years = span_ns / YEAR_NS if span_ns > 0 else 0.0
    if years > 0 and final > 0:
        out["cagr"] = (final / initial_cash) ** (1.0 / years) - 1.0
    else:
        out["cagr"] = -1.0 if final <= 0 and years > 0 else 0.0
    c = _core.curve_stats(np.ascontiguousarray(equity, dtype=np.float64), np.ascontiguousarray(exposed, dtype=bool), float(initial_cash))
    ppy = YEAR_NS / interval_ns if interval_ns > 0 else 0.0
    if n > 1 and ppy > 0:
        sd, mean, dd = c["std_return"], c["mean_return"], c["downside_dev"]
        out["sharpe"] = mean / sd * math.sqrt(ppy) if sd > 0 else 0.0
        out["sortino"] = mean / dd * math.sqrt(ppy) if dd > 0 else 0.0
    else:
        out["sharpe"] = out["sortino"] = 0.0
    out["max_drawdown"] = c["max_drawdown"]
    out["max_drawdown_bars"] = c["max_drawdown_points"]
    out["max_drawdown_duration_s"] = c["max_drawdown_points"] * interval_ns / 1e9
    out["exposure"] = c["exposure"]
    out["calmar"] = out["cagr"] / out["max_drawdown"] if out["max_drawdown"] > 0 else 0.0
    k = len(trade_pnl)
    wins = trade_pnl[trade_pnl > 0]
    losses = trade_pnl[trade_pnl < 0]
    out["trades"] = int(k)
    out["win_rate"] = len(wins) / k if k else 0.0
    gross_loss = -float(losses.sum())
    out["profit_factor"] = float(wins.sum()) / gross_loss if gross_loss > 0 else (math.inf if len(wins) else 0.0)
    out["expectancy"] = float(trade_pnl.mean()) if k else 0.0
    out["fees_paid"] = fees
    return out


@dataclasses.dataclass
class BacktestResult:
    """Everything a backtest produced. ``stats`` holds the report; arrays hold the detail."""

    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    stats: dict[str, Any]
    fills: dict[str, np.ndarray]
    equity_ts: np.ndarray
    equity: np.ndarray
    trades: dict[str, np.ndarray]
    positions: list[tuple]
    open_orders: list[tuple]
    bars: int
    orders: int
    elapsed_s: float
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The account at the end (``trader._core.account_state``): account type, wallet, margin_used,
    #: free_margin, funding_paid, liquidations, liquidation_price per instrument.
    account: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Funding settlements as columns: ts, instrument, qty, mark, rate, amount (> 0 paid).
    funding: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: The risk report: ``denials`` {reason code: count}, ``vetoes_by_layer``, ``resized``,
    #: ``changes`` (trading-state changes: ts, from, to, source, reason), ``time_in_state``
    #: {state: seconds}, ``state`` (at the end).
    risk: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The audit log's entries (hash-chained; ``trader.risk.write_audit_log`` writes them).
    audit: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: Why the run could not trade, when it completed anyway (warm-up longer than the data, a lot
    #: step that rounds every order to 0; see ``trader.backtest.run_warnings``).
    warnings: list[str] = dataclasses.field(default_factory=list)
    _engine: Any = dataclasses.field(default=None, repr=False, compare=False)
    _fills_exact: list[tuple] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def fills_exact(self) -> list[tuple]:
        """Fills with exact decimals: ``(ts, instrument, side, price, qty, fee, order_id)``, the
        price, quantity and fee as decimal strings. Built on first access (a million fills take
        about a second to format, which a run that never asks for them should not pay)."""
        if self._fills_exact is None:
            self._fills_exact = self._engine.fills_exact() if self._engine is not None else []
        return self._fills_exact

    def summary(self) -> dict[str, Any]:
        """The report as one flat JSON-ready dict (what ``--json`` prints)."""
        s = dict(self.stats)
        s.update(
            strategy=self.strategy,
            params=self.params,
            symbols=self.symbols,
            bars=self.bars,
            orders=self.orders,
            fills=int(len(self.fills["ts"])),
            elapsed_s=self.elapsed_s,
            bars_per_s=self.bars / self.elapsed_s if self.elapsed_s > 0 else None,
        )
        if "gaps" in self.meta:
            s["gaps"] = self.meta["gaps"]
        if self.risk:
            s["risk"] = self.risk
        if self.warnings:
            s["warnings"] = list(self.warnings)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in s.items()}

    def account_exact(self) -> dict[str, Any]:
        """The account as exact decimal strings: ``cash``, ``fees`` (paid, net of rebates),
        ``initial_cash`` and ``positions`` (signed quantity per instrument)."""
        return self._engine.account_exact() if self._engine is not None else {}

    # -- Arrow reports ----------------------------------------------------------------------------
    def fills_table(self) -> Any:
        """One row per fill (a ``pyarrow.Table``): time, symbol, order id, side, price, quantity,
        fee (negative = rebate), liquidity side (MAKER/TAKER), the order's arrival price (the
        market price when it was submitted: the mark, or the mid on quotes/books) and the slippage
        against it, in price units and basis points (positive = worse for the trader)."""
        import pyarrow as pa

        f = self.fills
        sign = np.where(f["side"] > 0, 1.0, -1.0)
        arrival = self._engine.fill_arrivals() if self._engine is not None else np.full(len(f["ts"]), np.nan)
        slip = (f["price"] - arrival) * sign + 0.0  # + 0.0: no negative zeros
        with np.errstate(invalid="ignore", divide="ignore"):
            slip_bps = slip / arrival * 1e4
        return pa.table(
            {
                "ts": pa.array(f["ts"], pa.timestamp("ns", tz="UTC")),
                "symbol": pa.array([self.symbols[i] for i in f["instrument"]], pa.string()) if len(f["ts"]) else pa.array([], pa.string()),
                "order_id": pa.array(f["order_id"], pa.uint64()),
                "side": pa.array(np.where(f["side"] > 0, "BUY", "SELL").astype(object), pa.string()),
                "price": pa.array(f["price"], pa.float64()),
                "qty": pa.array(f["qty"], pa.float64()),
                "fee": pa.array(f["fee"], pa.float64()),
                "liquidity": pa.array(np.where(f["maker"], "MAKER", "TAKER").astype(object), pa.string()),
                "arrival_price": pa.array(arrival, pa.float64(), from_pandas=True),
                "slippage": pa.array(slip, pa.float64(), from_pandas=True),
                "slippage_bps": pa.array(slip_bps, pa.float64(), from_pandas=True),
            }
        )

    def orders_table(self) -> Any:
        """One row per order the strategy submitted (``pyarrow.Table``): id, symbol, side, type,
        time in force, instructions, quantity, filled, average fill price, limit/trigger prices,
        final status and its reason, contingent list and parent, first and last event time."""
        import pyarrow as pa

        cols = self._engine.orders_columns() if self._engine is not None else {}
        if not cols:
            return pa.table({"order_id": pa.array([], pa.uint64())})
        out: dict[str, Any] = {}
        for key, values in cols.items():
            if key == "instrument":
                out["symbol"] = pa.array([self.symbols[i] for i in values], pa.string())
            elif key in ("ts_init", "ts_last"):
                out[key] = pa.array(values, pa.timestamp("ns", tz="UTC"))
            elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
                out[key] = pa.array(values, from_pandas=True)  # NaN = not applicable → null
            else:
                out[key] = pa.array(values)
        return pa.table(out)

    def positions_table(self) -> Any:
        """One row per instrument (``pyarrow.Table``): symbol, signed quantity, average entry price,
        realized and unrealized PnL at the last mark."""
        import pyarrow as pa

        rows = self.positions
        return pa.table(
            {
                "symbol": pa.array([self.symbols[r[0]] for r in rows], pa.string()),
                "qty": pa.array([r[1] for r in rows], pa.float64()),
                "avg_price": pa.array([r[2] if r[1] != 0 else None for r in rows], pa.float64()),
                "realized_pnl": pa.array([r[3] for r in rows], pa.float64()),
                "unrealized_pnl": pa.array([r[4] for r in rows], pa.float64()),
            }
        )

    def write_table(self, name: str, path: str) -> None:
        """Write the ``orders``, ``fills`` or ``positions`` table to ``path`` (.csv, .parquet,
        .feather/.arrow)."""
        tables = {"orders": self.orders_table, "fills": self.fills_table, "positions": self.positions_table}
        if name not in tables:
            raise ValueError(f"table: must be one of {', '.join(tables)}, got {name!r}")
        write_arrow(tables[name](), path)

    def write_fills(self, path: str) -> None:
        """Write one row per fill: ts, side, price, qty, fee, order_id (+ symbol) as CSV or Parquet."""
        import pyarrow as pa

        rows = self.fills_exact
        table = pa.table(
            {
                "ts": pa.array([r[0] for r in rows], pa.timestamp("ns", tz="UTC")),
                "symbol": pa.array([self.symbols[r[1]] for r in rows], pa.string()),
                "side": pa.array(["BUY" if r[2] > 0 else "SELL" for r in rows], pa.string()),
                "price": pa.array([float(r[3]) for r in rows], pa.float64()),
                "qty": pa.array([float(r[4]) for r in rows], pa.float64()),
                "fee": pa.array([float(r[5]) for r in rows], pa.float64()),
                "order_id": pa.array([r[6] for r in rows], pa.uint64()),
            }
        )
        table = table.select(["ts", "side", "price", "qty", "fee", "order_id", "symbol"])
        write_arrow(table, path)


def write_arrow(table: Any, path: str) -> None:
    """Write a ``pyarrow.Table`` as CSV, Parquet or Arrow IPC (feather), chosen by the suffix."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif path.endswith((".feather", ".arrow", ".ipc")):
        import pyarrow.feather as feather

        feather.write_feather(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
