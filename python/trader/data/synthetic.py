"""The seeded synthetic bar generator (name ``"synthetic"``): the default data when none is given.

Model, per bar of length ``dt`` (all vectorised with numpy, generated in fixed internal chunks of
:data:`CHUNK` bars so that the output depends only on the seed and the options, never on
``batch_size``):

- **Regimes**: a 3-state Markov chain — ``calm`` (drift +30 %/yr, vol x0.6, mean stay 5 days),
  ``normal`` (drift 0, vol x1, 3 days), ``stress`` (drift -80 %/yr, vol x2.2, 12 hours) — with
  geometric stays and the transition rows of :data:`REGIMES`.
- **Volatility clustering**: GARCH(1,1) on the standardised shocks,
  ``h[t] = ω + α·h[t-1]·z[t-1]² + β·h[t-1]`` (α=0.08, β=0.90, ω=1-α-β so E[h]=1), computed as a
  linear recurrence with time-varying coefficients by a blocked scan (:func:`affine_scan`).
- **Jumps**: Poisson arrivals (0.5 per day) of normal log-jumps (mean -0.1 %, sd 0.8 %).
- Log return ``r = (μ_r - σ_r²/2)·dt + σ_r·√h·z + J`` with a 60 %/yr base volatility.
- **OHLC from an intrabar path**: the bar opens at the previous close and closes at
  ``open·exp(r)``; its high/low are the maximum/minimum of a Brownian bridge from 0 to ``r`` with
  the bar's diffusive variance, sampled exactly (``M = (r + sqrt(r² + 2σ²·E))/2``, E ~ Exp(1)). Hence
  ``high >= max(open, close)``, ``low <= min(open, close)`` and ``low > 0`` by construction.
- **Volume**: a per-interval base scaled by the regime and by ``0.4 + 0.6·|shock|`` (so it
  correlates with the absolute return), with lognormal noise.
- **Ticks**: prices sit on a tick grid, as exchange prices do: seven significant digits of the
  starting price (30,000 → 0.01; :func:`price_decimals`), the open being the previous close, the
  high and low rounded outward of them and never below one tick.

Options (``open(None | "synthetic", seed=42, bars=100_000 (at most :data:`MAX_BARS`), start="2024-01-01T00:00Z",
interval="1m", price=30_000.0, symbol="SYNTH-USDT")``): here ``start`` is where the series
begins; ``end``, if given, cuts it (exclusive).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

from trader.data._time import interval_name, iso, parse_interval, to_ns
from trader.data.feed import BarFeed, Chunk
from trader.exceptions import DataError, InvalidInputError

#: Bars generated per internal step (fixed: the output must not depend on the caller's batch size).
CHUNK = 1 << 17
YEAR_NS = 365 * 86400 * 10**9
DAY_NS = 86400 * 10**9
BASE_VOL = 0.60  # annualised
GARCH_ALPHA, GARCH_BETA = 0.08, 0.90
JUMPS_PER_DAY, JUMP_MEAN, JUMP_SD = 0.5, -0.001, 0.008
VOLUME_PER_MINUTE = 50.0
#: Most bars one synthetic series may have: 1e9 bars are 48 GB as float64 columns in all, but they
#: stream in batches; the cap keeps a typo (``-o bars=99999999999999999999``) from running for days.
MAX_BARS = 1_000_000_000
#: Highest starting price: prices must stay within the engine's fixed point at any precision.
MAX_PRICE = 1e9
#: The last bar must be representable: timestamps are int64 nanoseconds (up to 2262-04-11).
LAST_NS = np.iinfo(np.int64).max

#: (name, annual drift, vol multiplier, mean stay in ns, next-regime probabilities)
REGIMES = (
    ("calm", 0.30, 0.6, 5 * DAY_NS, (0.0, 0.8, 0.2)),
    ("normal", 0.0, 1.0, 3 * DAY_NS, (0.5, 0.0, 0.5)),
    ("stress", -0.80, 2.2, DAY_NS // 2, (0.3, 0.7, 0.0)),
)


def affine_scan(a: np.ndarray, b: np.ndarray, x0: float, block: int = 64) -> np.ndarray:
    """Solve ``x[t] = a[t]·x[t-1] + b[t]`` for all t, given ``x[-1] = x0`` (vectorised).

    Within blocks of ``block`` steps the solution from zero is ``P[t]·cumsum(b/P)[t]`` with
    ``P = cumprod(a)``; block boundaries are then chained by a short loop over blocks. Requires
    ``a > 0`` and a ``block`` small enough that ``cumprod(a)`` stays in float range.
    """
    n = a.shape[0]
    if n == 0:
        return np.empty(0)
    m = -(-n // block)
    pad = m * block - n
    A = np.concatenate([a, np.ones(pad)]).reshape(m, block)
    B = np.concatenate([b, np.zeros(pad)]).reshape(m, block)
    P = np.cumprod(A, axis=1)
    Y = P * np.cumsum(B / P, axis=1)
    starts = np.empty(m)
    x = float(x0)
    p_last, y_last = P[:, -1].tolist(), Y[:, -1].tolist()
    for k in range(m):
        starts[k] = x
        x = p_last[k] * x + y_last[k]
    return (P * starts[:, None] + Y).ravel()[:n]


def price_decimals(price: float) -> int:
    """Decimals of the synthetic tick grid for a series starting at ``price``: seven significant
    digits of it (30,000 → 2), between 0 and 8."""
    return int(min(8, max(0, 6 - math.floor(math.log10(price)))))


class SyntheticGenerator:
    """The generator's state; :meth:`chunks` yields raw bars, deterministically for a seed."""

    def __init__(self, *, seed: int, bars: int, start_ns: int, interval_ns: int, price: float) -> None:
        self.seed, self.bars, self.start_ns, self.interval_ns, self.price = seed, bars, start_ns, interval_ns, price

    def chunks(self, limit: int | None = None) -> Iterator[Chunk]:
        """Yield :class:`Chunk` objects of up to :data:`CHUNK` bars, ``min(bars, limit)`` in all."""
        rng = np.random.default_rng(self.seed)
        iv = self.interval_ns
        dt = iv / YEAR_NS
        sig = BASE_VOL * math.sqrt(dt)
        mus = np.array([r[1] for r in REGIMES])
        mults = np.array([r[2] for r in REGIMES])
        stays = [max(2.0, r[3] / iv) for r in REGIMES]
        nexts = [np.array(r[4]) for r in REGIMES]
        lam = JUMPS_PER_DAY * iv / DAY_NS
        vol_base = VOLUME_PER_MINUTE * iv / 60e9
        omega = 1.0 - GARCH_ALPHA - GARCH_BETA
        regime, remaining = 1, int(rng.geometric(1.0 / stays[1]))
        h_prev, z_prev = 1.0, 0.0
        last_close = float(self.price)
        dp = price_decimals(self.price)
        tick = 10.0**-dp
        last_close_r = round(last_close, dp)
        total = self.bars if limit is None else min(self.bars, limit)
        done = 0
        while done < total:
            n = min(CHUNK, total - done)
            # regimes: a loop over regime changes only (a few per chunk)
            reg = np.empty(n, dtype=np.int8)
            i = 0
            while i < n:
                if remaining == 0:
                    regime = int(rng.choice(3, p=nexts[regime]))
                    remaining = int(rng.geometric(1.0 / stays[regime]))
                take = min(remaining, n - i)
                reg[i : i + take] = regime
                i += take
                remaining -= take
            z = rng.standard_normal(n)
            z_lag = np.empty(n)
            z_lag[0] = z_prev
            z_lag[1:] = z[:-1]
            a = GARCH_BETA + GARCH_ALPHA * z_lag * z_lag
            h = affine_scan(a, np.full(n, omega), h_prev)
            h_prev, z_prev = float(h[-1]), float(z[-1])
            mult = np.take(mults, reg)
            s = sig * mult * np.sqrt(h)  # diffusive sd of each bar
            jumps = rng.poisson(lam, n)
            hit = np.flatnonzero(jumps)
            jump = np.zeros(n)
            jump[hit] = jumps[hit] * JUMP_MEAN + np.sqrt(jumps[hit]) * JUMP_SD * rng.standard_normal(hit.size)
            r = (np.take(mus, reg) - 0.5 * s * s) * dt + s * z + jump
            e = rng.standard_exponential((2, n))  # -ln(U), U uniform: the bridge extremes below
            two_var = 2.0 * s * s
            hi = 0.5 * (r + np.sqrt(r * r + two_var * e[0]))
            lo = 0.5 * (r - np.sqrt(r * r + two_var * e[1]))
            c_exact = last_close * np.exp(np.cumsum(r))
            o_exact = np.empty(n)
            o_exact[0] = last_close
            o_exact[1:] = c_exact[:-1]
            last_close = float(c_exact[-1])
            # On the tick grid: the close rounded (never below a tick), the open the previous
            # close, high >= max(o, c) and low <= min(o, c) after rounding.
            c = np.maximum(np.round(c_exact, dp), tick)
            o = np.empty(n)
            o[0] = last_close_r
            o[1:] = c[:-1]
            last_close_r = float(c[-1])
            high = np.maximum(np.round(o_exact * np.exp(hi), dp), np.maximum(o, c))
            low = np.maximum(np.minimum(np.round(o_exact * np.exp(lo), dp), np.minimum(o, c)), tick)
            shock = np.abs(r) / (sig * mult)
            volume = vol_base * (1.0 + (reg == 2)) * (0.4 + 0.6 * shock) * np.exp(0.35 * rng.standard_normal(n))
            ts = self.start_ns + (done + np.arange(n, dtype=np.int64)) * iv
            yield Chunk(done + 1, ts, o, high, low, c, volume)
            done += n


class SyntheticSource:
    """Seeded synthetic bars: regime-switching GBM with GARCH volatility and jumps."""

    name = "synthetic"
    description = "Seeded synthetic bars (regime-switching GBM, GARCH(1,1) vol clustering, Poisson jumps); the default"

    def can_open(self, path: str | os.PathLike | None) -> bool:
        """``None`` (no data given) or the word ``"synthetic"``."""
        return path is None or str(path) == "synthetic"

    def open(
        self,
        path: str | os.PathLike | None = None,
        *,
        symbol: str | None = None,
        start: object = None,
        end: object = None,
        batch_size: int = 1_000_000,
        gap_policy: str = "report",
        seed: int = 42,
        bars: int = 100_000,
        interval: str | int = "1m",
        price: float = 30_000.0,
        **options: object,
    ) -> BarFeed:
        """A :class:`BarFeed` of synthetic bars (see the module docs for the model and options)."""
        if options:
            raise InvalidInputError(f"synthetic: unknown option(s): {', '.join(options)} (known: seed, bars, start, interval, price)")
        for key, value in (("seed", seed), ("bars", bars)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidInputError(f"synthetic: {key} must be a non-negative integer, got {value!r}")
        try:
            price = float(price)
        except (TypeError, ValueError):
            raise InvalidInputError(f"synthetic: price must be a number, got {price!r}") from None
        if not math.isfinite(price) or price <= 0:
            raise InvalidInputError(f"synthetic: price must be positive, got {price!r}")
        if bars == 0:
            raise DataError("synthetic: bars must be at least 1")
        if bars > MAX_BARS:
            raise InvalidInputError(f"synthetic: bars must be at most {MAX_BARS:,}, got {bars}")
        if price > MAX_PRICE:
            raise InvalidInputError(f"synthetic: price must be at most {MAX_PRICE:g}, got {price:g}")
        interval_ns = parse_interval(interval)
        assert interval_ns is not None
        start_ns = to_ns(start if start is not None else "2024-01-01T00:00Z", "start")
        assert start_ns is not None
        if start_ns + (int(bars) - 1) * interval_ns > LAST_NS:
            raise InvalidInputError(f"synthetic: {bars:,} bars of {interval_name(interval_ns)} from {iso(start_ns)} would end after "
                                    f"{iso(LAST_NS)}, the last time nanosecond timestamps hold: give fewer bars or an earlier start")
        gen = SyntheticGenerator(seed=int(seed), bars=int(bars), start_ns=start_ns, interval_ns=interval_ns, price=price)
        end_ns = to_ns(end, "end")
        limit = None if end_ns is None else max(0, -(-(end_ns - start_ns) // interval_ns))
        return BarFeed(
            source=self.name,
            where="synthetic",
            symbol=symbol or "SYNTH-USDT",
            interval_ns=interval_ns,
            chunks=lambda: gen.chunks(limit),
            batch_size=batch_size,
            gap_policy=gap_policy,
            start=None,
            end=end_ns,
            meta={"rows": int(bars) if limit is None else min(int(bars), limit), "seed": int(seed), "model": "regime-switching GBM + GARCH(1,1) + Poisson jumps",
                  "price_precision": price_decimals(price)},
        )
