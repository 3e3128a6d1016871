"""Backtest results and the statistics computed from them.

Conventions (documented because users compare them with other tools):
- The equity curve is the exact fixed-point equity (cash plus positions at their marks) at each
  point, converted to float once: a flat account gives identical points and returns of exactly 0.
- Returns are simple returns of the equity curve, one per point (one point per bar timestamp),
  the first against the initial cash; the per-point pass runs in Rust (``_core.curve_stats``).
- **Ruin**: equity at or below zero ruins the run (``ruined``, ``ruin_ts``). The return of that
  point is -100 % and the returns stop there: nothing after ruin is a return on capital, so no
  ratio changes sign because equity crossed zero. CAGR is -100 %.
- Annualization uses the bar interval: ``periods_per_year = 365.25 days / interval`` (crypto
  trades every day); an unknown interval is taken as the most common step of the curve's
  timestamps, and with fewer than two points nothing is annualized (None). Sharpe = mean /
  std (ddof=1) × sqrt(periods_per_year), risk-free rate 0; Sortino uses the downside deviation
  sqrt(mean(min(r, 0)^2)).
- CAGR is computed in log space: ``exp(log(final / initial) / years) - 1`` with years = (last ts
  - first ts + interval) / 365.25 days; when that exponential does not fit a float (a +20 % run of
  two hours annualizes to ~e^800) CAGR is None and ``cagr_log`` (the annual log return, always
  finite) says how large it is. A span under a year is stated: ``annualized_from_days``.
- Max drawdown is the largest peak-to-trough fall of equity, as a fraction of the peak (above 1
  when equity fell below zero); its duration is the longest TIME spent below a previous peak
  (from the point that set the peak to the first point back at or above it, or the end), in
  seconds: gaps in the data count as the time they span. ``max_drawdown_bars`` counts points.
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
DAY_NS = 86_400 * 10**9


def curve_interval(ts: np.ndarray, interval_ns: int) -> int:
    """``interval_ns``, or when it is unknown (0) the most common step of ``ts`` (0: fewer than two
    distinct timestamps)."""
    if interval_ns > 0:
        return int(interval_ns)
    steps = np.diff(np.asarray(ts, dtype=np.int64))
    steps = steps[steps > 0]
    if steps.size == 0:
        return 0
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


def statistics(
    equity: np.ndarray,
    ts: np.ndarray,
    exposed: np.ndarray,
    trade_pnl: np.ndarray,
    initial_cash: float,
    interval_ns: int,
    fees: float,
    final_equity: float | None = None,
) -> dict[str, Any]:
    """Every statistic of the report, from the equity curve and the closed trades.

    ``final_equity``: the account's exact final equity (default: the curve's last point).
    ``interval_ns``: the bar interval (0: unknown, taken from the curve's timestamps)."""
    n = len(equity)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    final = float(final_equity) if final_equity is not None else (float(equity[-1]) if n else initial_cash)
    out: dict[str, Any] = {"initial_cash": initial_cash, "final_equity": final}
    out["total_return"] = final / initial_cash - 1.0
    c = _core.curve_stats(np.ascontiguousarray(equity, dtype=np.float64), ts, np.ascontiguousarray(exposed, dtype=bool),
                          float(initial_cash))
    ruin = c["ruin"]
    out["ruined"] = ruin is not None or final <= 0
    out["ruin_ts"] = int(ts[ruin]) if ruin is not None else None
    interval = curve_interval(ts, interval_ns)
    span_ns = (int(ts[-1]) - int(ts[0]) + interval) if n and interval > 0 else 0
    years = span_ns / YEAR_NS
    out["span_days"] = span_ns / DAY_NS
    out["annualized_from_days"] = span_ns / DAY_NS if 0 < span_ns < YEAR_NS else None
    if out["ruined"]:
        out["cagr"], out["cagr_log"] = -1.0, None
    elif years > 0:
        lr = math.log(final / initial_cash) / years
        out["cagr_log"] = lr
        out["cagr"] = math.expm1(lr) if lr < 700.0 else None
    else:
        out["cagr"] = out["cagr_log"] = None
    ppy = YEAR_NS / interval if interval > 0 else 0.0
    if c["n_returns"] > 1 and ppy > 0:
        sd, mean, dd = c["std_return"], c["mean_return"], c["downside_dev"]
        out["sharpe"] = mean / sd * math.sqrt(ppy) if sd > 0 else 0.0
        out["sortino"] = mean / dd * math.sqrt(ppy) if dd > 0 else 0.0
    else:
        out["sharpe"] = out["sortino"] = None
    out["max_drawdown"] = c["max_drawdown"]
    out["max_drawdown_bars"] = c["max_drawdown_points"]
    out["max_drawdown_duration_s"] = c["max_drawdown_ns"] / 1e9
    out["exposure"] = c["exposure"]
    cagr = out["cagr"]
    out["calmar"] = (cagr / out["max_drawdown"] if out["max_drawdown"] > 0 else 0.0) if cagr is not None else None
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
    #: What the user should know about the run, one sentence each (a strategy that could not
    #: trade and why, quantities rounded to the lot, ...): printed by the CLI, in ``--json``.
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

    def trades_table(self) -> Any:
        """One row per round trip (``pyarrow.Table``): symbol, side (LONG/SHORT), entry and exit time
        (UTC) and average price, quantity (the largest size reached), PnL (net of fees and funding),
        return (PnL over the money paid to open), fees, holding time (seconds), exit reason (signal,
        stop, take_profit, trailing, liquidation, risk, end_of_data), MAE and MFE (the lowest and
        highest PnL the trade reached at the bars' extremes, before fees), and ``closed`` (False for
        the trade still open at the end, marked at the last price). The statistics count the closed
        trades."""
        import pyarrow as pa

        t = self.trades
        n = len(t["pnl"])
        if "entry_price" not in t:  # a venue that reports only the basic columns
            return pa.table({k: pa.array(v) for k, v in t.items()})
        return pa.table(
            {
                "symbol": pa.array([self.symbols[i] for i in t["instrument"]], pa.string()) if n else pa.array([], pa.string()),
                "side": pa.array(np.where(t["long"], "LONG", "SHORT").astype(object), pa.string()),
                "entry_time": pa.array(t["entry_ts"], pa.timestamp("ns", tz="UTC")),
                "exit_time": pa.array(t["exit_ts"], pa.timestamp("ns", tz="UTC")),
                "entry_price": pa.array(t["entry_price"], pa.float64()),
                "exit_price": pa.array(t["exit_price"], pa.float64()),
                "qty": pa.array(t["qty"], pa.float64()),
                "pnl": pa.array(t["pnl"], pa.float64()),
                "return": pa.array(t["return"], pa.float64()),
                "fees": pa.array(t["fees"], pa.float64()),
                "holding_s": pa.array((np.asarray(t["exit_ts"]) - np.asarray(t["entry_ts"])) / 1e9, pa.float64()),
                "exit_reason": pa.array(list(t["exit_reason"]), pa.string()),
                "mae": pa.array(t["mae"], pa.float64()),
                "mfe": pa.array(t["mfe"], pa.float64()),
                "closed": pa.array(t["closed"], pa.bool_()),
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
        """Write the ``orders``, ``fills``, ``trades`` or ``positions`` table to ``path`` (.csv,
        .parquet, .feather/.arrow)."""
        tables = {"orders": self.orders_table, "fills": self.fills_table, "trades": self.trades_table,
                  "positions": self.positions_table}
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
