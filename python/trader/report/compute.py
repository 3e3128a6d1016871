"""The computations behind the tearsheet, on plain numpy arrays (UTC epoch nanoseconds for times):
drawdown periods, period (daily, monthly, yearly) returns, rolling Sharpe and volatility,
buy-and-hold, position and exposure from fills, and the downsampling that keeps a long run's
figures light (candles aggregated into coarser candles, lines reduced to each bucket's extremes).

Conventions follow :mod:`trader.results`: simple returns; a period's return runs from the last
equity value of the previous period (the initial cash for the first) to its own last value;
annualization is ``sqrt(periods per year)`` with a year of 365.25 days, risk-free rate 0."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "DrawdownPeriod", "underwater", "drawdown_periods", "period_returns", "monthly_returns", "yearly_returns",
    "rolling_sharpe", "rolling_volatility", "buy_and_hold", "downsample_ohlc", "downsample_line",
    "position_at", "choose_period", "YEAR_NS", "DAY_NS",
]

DAY_NS = 86_400 * 10**9
YEAR_NS = int(365.25 * DAY_NS)


@dataclasses.dataclass(frozen=True)
class DrawdownPeriod:
    """One fall below a previous peak: ``start`` (the peak's time), ``trough`` (the lowest point),
    ``recovery`` (the first point back at or above the peak; None: not recovered by the end),
    ``depth`` (fall from the peak as a positive fraction) and ``length_s`` (start to recovery, or
    to the last point when not recovered)."""

    start: int
    trough: int
    recovery: int | None
    depth: float
    length_s: float


def underwater(equity: np.ndarray) -> np.ndarray:
    """Drawdown at each point: ``equity / running peak - 1`` (0 at a new high, negative below).
    A peak at or below zero gives -1 (everything is lost)."""
    e = np.asarray(equity, dtype=np.float64)
    if e.size == 0:
        return e.copy()
    peak = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, e / peak - 1.0, -1.0)
    return dd


def drawdown_periods(ts: np.ndarray, equity: np.ndarray, top: int = 5) -> list[DrawdownPeriod]:
    """The ``top`` deepest drawdown periods, deepest first. A period starts at a peak, runs while
    equity is below it and ends at the first point back at or above it (its recovery)."""
    t = np.asarray(ts, dtype=np.int64)
    dd = underwater(equity)
    if dd.size == 0:
        return []
    below = dd < 0
    # each run of points below the peak: [first below, last below]
    edges = np.diff(np.r_[0, below.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # one past the last point below
    out = []
    for s, e in zip(starts, ends):
        trough = s + int(np.argmin(dd[s:e]))
        peak_i = s - 1 if s > 0 else s  # below from the first point: the initial value is the peak
        recovered = e < len(dd)
        end_ts = int(t[e]) if recovered else int(t[-1])
        out.append(DrawdownPeriod(start=int(t[peak_i]), trough=int(t[trough]), recovery=int(t[e]) if recovered else None,
                                  depth=float(-dd[trough]), length_s=(end_ts - int(t[peak_i])) / 1e9))
    out.sort(key=lambda p: -p.depth)
    return out[:top]


def period_returns(ts: np.ndarray, equity: np.ndarray, initial: float, period_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(period starts in ns, simple returns) over fixed UTC periods of ``period_ns`` (a day:
    ``DAY_NS``): each from the previous period's last equity value (``initial`` for the first)
    to its own last value. Periods with no point are left out."""
    t = np.asarray(ts, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    if t.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    bucket = t // int(period_ns)
    last = np.flatnonzero(np.r_[bucket[1:] != bucket[:-1], True])
    return bucket[last] * int(period_ns), _chain(e[last], initial)


def _chain(closes: np.ndarray, initial: float) -> np.ndarray:
    prev = np.r_[float(initial), closes[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prev > 0, closes / prev - 1.0, np.where(closes >= prev, 0.0, -1.0))


def monthly_returns(ts: np.ndarray, equity: np.ndarray, initial: float) -> tuple[list[int], np.ndarray]:
    """(years, a years × 12 array of calendar-month returns, NaN where the run has no point)."""
    t = np.asarray(ts, dtype=np.int64)
    if t.size == 0:
        return [], np.empty((0, 12))
    months = t.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    last = np.flatnonzero(np.r_[months[1:] != months[:-1], True])
    r = _chain(np.asarray(equity, dtype=np.float64)[last], initial)
    m = months[last]
    years = list(range(int(m[0] // 12) + 1970, int(m[-1] // 12) + 1971))
    grid = np.full((len(years), 12), np.nan)
    grid[m // 12 + 1970 - years[0], m % 12] = r
    return years, grid


def yearly_returns(ts: np.ndarray, equity: np.ndarray, initial: float) -> tuple[list[int], np.ndarray]:
    """(calendar years, each year's return) over the years the run has points in."""
    t = np.asarray(ts, dtype=np.int64)
    if t.size == 0:
        return [], np.empty(0)
    years = t.astype("datetime64[ns]").astype("datetime64[Y]").astype(np.int64) + 1970
    last = np.flatnonzero(np.r_[years[1:] != years[:-1], True])
    return [int(y) for y in years[last]], _chain(np.asarray(equity, dtype=np.float64)[last], initial)


def _rolling_mean_std(r: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and sample std (ddof=1) of ``window`` values ending at each point (NaN before)."""
    n = r.size
    mean = np.full(n, np.nan)
    std = np.full(n, np.nan)
    if window < 2 or n < window:
        return mean, std
    view = np.lib.stride_tricks.sliding_window_view(r, window)
    mean[window - 1:] = view.mean(axis=1)
    std[window - 1:] = view.std(axis=1, ddof=1)
    return mean, std


def rolling_sharpe(returns: np.ndarray, window: int, periods_per_year: float) -> np.ndarray:
    """Annualized Sharpe ratio (mean / std × sqrt(periods per year), risk-free 0) of the last
    ``window`` returns at each point; NaN before the first full window and where std is 0."""
    mean, std = _rolling_mean_std(np.asarray(returns, dtype=np.float64), int(window))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, mean / std * math.sqrt(periods_per_year), np.nan)


def rolling_volatility(returns: np.ndarray, window: int, periods_per_year: float) -> np.ndarray:
    """Annualized volatility (std × sqrt(periods per year)) of the last ``window`` returns at each
    point; NaN before the first full window."""
    _, std = _rolling_mean_std(np.asarray(returns, dtype=np.float64), int(window))
    return std * math.sqrt(periods_per_year)


def buy_and_hold(at_ts: np.ndarray, bar_ts: np.ndarray, open_: np.ndarray, close: np.ndarray, cash: float) -> np.ndarray:
    """The equity of ``cash`` put in the instrument at the first bar's open, no fees, marked at
    the close of the latest bar at or before each time of ``at_ts`` (``cash`` before the first bar)."""
    bt = np.asarray(bar_ts, dtype=np.int64)
    if bt.size == 0:
        return np.full(len(at_ts), float(cash))
    qty = float(cash) / float(open_[0])
    i = np.searchsorted(bt, np.asarray(at_ts, dtype=np.int64), side="right") - 1
    c = np.asarray(close, dtype=np.float64)
    return np.where(i >= 0, qty * c[np.clip(i, 0, None)], float(cash))


def downsample_ohlc(ts: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                    max_candles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Bars aggregated into at most ``max_candles`` coarser candles of ``k`` consecutive bars each
    (the last bucket may be shorter): each candle's time and open are its first bar's, its high the
    highest high, its low the lowest low, its close the last bar's close. Returns (ts, open, high,
    low, close, k); k = 1 when the bars already fit."""
    n = len(ts)
    if max_candles < 1:
        raise ValueError(f"max_candles: must be at least 1, got {max_candles}")
    k = max(1, -(-n // max_candles))
    arrays = [np.asarray(a) for a in (ts, open_, high, low, close)]
    if k == 1 or n == 0:
        return (*arrays, 1)  # type: ignore[return-value]
    starts = np.arange(0, n, k)
    last = np.minimum(starts + k, n) - 1
    t, o, h, lo, c = arrays
    return (t[starts], o[starts], np.maximum.reduceat(h, starts), np.minimum.reduceat(lo, starts), c[last], k)


def downsample_line(ts: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """A line of at most about ``max_points`` points that keeps its shape: the points are split
    into ``max_points // 2`` buckets and each keeps its lowest and highest point (in time order),
    so every peak and trough survives; the first and last points are always kept."""
    t = np.asarray(ts)
    v = np.asarray(y, dtype=np.float64)
    n = v.size
    if n <= max_points or max_points < 4:
        return t, v
    k = -(-n // (max_points // 2))
    starts = np.arange(0, n, k)
    pad = (-n) % k
    padded = np.r_[v, np.full(pad, np.nan)].reshape(-1, k)
    lo = np.nanargmin(padded, axis=1) + starts
    hi = np.nanargmax(padded, axis=1) + starts
    keep = np.unique(np.r_[0, lo, hi, n - 1])
    return t[keep], v[keep]


def position_at(at_ts: np.ndarray, fill_ts: np.ndarray, signed_qty: np.ndarray) -> np.ndarray:
    """The position (sum of signed fill quantities) after every fill at or before each time."""
    ft = np.asarray(fill_ts, dtype=np.int64)
    if ft.size == 0:
        return np.zeros(len(at_ts))
    order = np.argsort(ft, kind="stable")
    cum = np.cumsum(np.asarray(signed_qty, dtype=np.float64)[order])
    i = np.searchsorted(ft[order], np.asarray(at_ts, dtype=np.int64), side="right") - 1
    return np.where(i >= 0, cum[np.clip(i, 0, None)], 0.0)


def choose_period(span_ns: int, interval_ns: int, wanted: int = 60) -> int:
    """The return period of the distribution and rolling figures: the longest of a day, an hour
    and a minute that gives at least ``wanted`` periods over ``span_ns``, else the bar interval."""
    for p in (DAY_NS, 3_600 * 10**9, 60 * 10**9):
        if p >= interval_ns and span_ns // p >= wanted:
            return p
    return max(int(interval_ns), 1)
