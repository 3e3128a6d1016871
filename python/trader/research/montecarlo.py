"""Monte Carlo paths, distributions of outcomes and stress scenarios.

Five parts, all numpy, vectorised over paths, every draw from ``numpy.random.default_rng(seed)``
(the same seed and arguments give the same arrays, bit for bit; ``seed=None`` takes fresh OS
entropy):

1. **Path generators** (:func:`gbm`, :func:`merton`, :func:`regime_switching`, :func:`heston`,
   :func:`block_bootstrap`) return a :class:`PathSet`: log prices of shape
   ``(n_paths, n_steps + 1)``, column 0 being ``log(s0)``.

   *Time step.* ``dt`` is the length of one step in the unit in which the rates are given
   (``mu``, ``sigma``, jump intensity, ``kappa``, ...). With per-bar parameters, ``dt = 1`` (the
   default); with annualised parameters, ``dt`` is the bar length in years
   (:func:`years_per_bar` ``("1m")`` = 1 / 525,960 of a 365.25-day year).
2. **Bars from paths** (:func:`paths_to_bars`, :func:`bars_from_path`) and :func:`run_paths`, which
   runs trader's own :func:`trader.run_backtest` once per path (here, or on Dask: ``jobs``,
   ``scheduler``) and returns a table (a numpy structured array) of per-path statistics.
3. **Distributions** of per-path outcomes from equity curves: :func:`total_returns`,
   :func:`max_drawdowns`, :func:`time_under_water`, :func:`value_at_risk`,
   :func:`conditional_value_at_risk`, :func:`risk_of_ruin` and :func:`summary`.
4. **Trade-order resampling** (:func:`resample_trades`): the per-trade returns of a backtest
   permuted (or bootstrapped) ``n`` times.
5. **Stress scenarios** spliced into real OHLCV data (:func:`stress`, :data:`SCENARIOS`):
   ``flash_crash``, ``gap``, ``halt``, ``funding_spike``. The input is never modified.

Bad input raises :class:`trader.exceptions.InvalidInputError` naming the argument and the
problem, before any random number is drawn or any backtest is run.

References
----------
- Black, F. & Scholes, M. (1973); Glasserman, P. (2004), *Monte Carlo Methods in Financial
  Engineering*, Springer: §3.2 (GBM), §3.5.1 (jump-diffusion), §6.4 (extremes of a Brownian bridge).
- Merton, R. C. (1976), "Option pricing when underlying stock returns are discontinuous",
  *Journal of Financial Economics* 3, 125-144.
- Hamilton, J. D. (1989), "A new approach to the economic analysis of nonstationary time series
  and the business cycle", *Econometrica* 57(2), 357-384.
- Heston, S. L. (1993), "A closed-form solution for options with stochastic volatility",
  *Review of Financial Studies* 6(2), 327-343.
- Lord, R., Koekkoek, R. & van Dijk, D. (2010), "A comparison of biased simulation schemes for
  stochastic volatility models", *Quantitative Finance* 10(2), 177-194 (full truncation).
- Politis, D. N. & Romano, J. P. (1992), "A circular block-resampling procedure for stationary
  data", in *Exploring the Limits of Bootstrap*, Wiley, 263-270.
- Politis, D. N. & Romano, J. P. (1994), "The stationary bootstrap", *Journal of the American
  Statistical Association* 89(428), 1303-1313.
- Acerbi, C. & Tasche, D. (2002), "On the coherence of expected shortfall", *Journal of Banking &
  Finance* 26(7), 1487-1503 (the discrete CVaR formula).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trader.exceptions import InvalidInputError
from trader.inputs import check_float_array, check_number
from trader.research.stats import stationary_walk

if TYPE_CHECKING:
    from trader.data import Bars
    from trader.results import BacktestResult
    from trader.strategy import Strategy

__all__ = [
    "PathSet",
    "years_per_bar",
    "gbm",
    "merton",
    "regime_switching",
    "stationary_distribution",
    "heston",
    "bootstrap_indices",
    "block_bootstrap",
    "paths_to_bars",
    "bars_from_path",
    "run_paths",
    "RUN_FIELDS",
    "equity_from_returns",
    "total_returns",
    "max_drawdowns",
    "time_under_water",
    "value_at_risk",
    "conditional_value_at_risk",
    "risk_of_ruin",
    "summary",
    "resample_trades",
    "flash_crash",
    "gap",
    "halt",
    "funding_spike",
    "funding_settlements",
    "stress",
    "SCENARIOS",
]

#: Largest ``n_paths * (n_steps + 1)`` one call may allocate (8 GB of float64 per array).
MAX_CELLS = 1_000_000_000
#: A 365.25-day year in nanoseconds (as :mod:`trader.results` annualises).
YEAR_NS = int(365.25 * 24 * 3600 * 1e9)
#: Quantiles :func:`summary` reports by default.
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Largest price a generated bar may carry (the engine's fixed point, as the synthetic source).
MAX_PRICE = 1e9
#: Rows of a transition matrix must sum to 1 within this.
ROW_SUM_TOL = 1e-9


# -- validation ---------------------------------------------------------------------------------


def _count(name: str, value: Any, ge: int = 1) -> int:
    """``value`` as an int >= ``ge`` (bools and floats refused), else InvalidInputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    if int(value) < ge:
        raise InvalidInputError(f"{name}: must be >= {ge}, got {int(value)}")
    return int(value)


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    return _count("seed", seed, ge=0)


def _shape(n_paths: Any, n_steps: Any) -> tuple[int, int]:
    n = _count("n_paths", n_paths)
    t = _count("n_steps", n_steps)
    if n * (t + 1) > MAX_CELLS:
        raise InvalidInputError(f"n_paths x (n_steps + 1): {n:,} x {t + 1:,} cells exceed the limit of {MAX_CELLS:,} "
                                "(run several batches with different seeds)")
    return n, t


def _positive(name: str, value: Any) -> float:
    return check_number(name, value, gt=0)


def _nonneg(name: str, value: Any) -> float:
    return check_number(name, value, ge=0)


def _finite(name: str, value: Any) -> float:
    return check_number(name, value)


def _float_array(name: str, value: Any, ndim: int | tuple[int, ...]) -> np.ndarray:
    """A float64 copy of ``value`` with ``ndim`` dimensions, every value finite."""
    arr: np.ndarray = check_float_array(name, value, ndim)
    return arr


def _level(name: str, value: Any) -> float:
    return check_number(name, value, gt=0, lt=1)


# -- paths ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PathSet:
    """Simulated paths: ``log_price`` of shape ``(n_paths, n_steps + 1)``, column 0 = ``log(s0)``.

    ``dt`` is the step length (see the module docs for its unit). ``regimes`` (regime switching:
    the regime index of each point, int64, same shape; the return from point t-1 to t is drawn in
    the regime of point t) and ``variance`` (Heston: the variance state ``v`` of each point, same
    shape, before truncation) are None for the other generators.
    """

    log_price: np.ndarray
    dt: float
    regimes: np.ndarray | None = None
    variance: np.ndarray | None = None

    @property
    def price(self) -> np.ndarray:
        """``exp(log_price)``, shape ``(n_paths, n_steps + 1)``."""
        return np.exp(self.log_price)

    @property
    def log_returns(self) -> np.ndarray:
        """Per-step log returns, shape ``(n_paths, n_steps)``."""
        return np.diff(self.log_price, axis=1)

    @property
    def n_paths(self) -> int:
        return int(self.log_price.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.log_price.shape[1] - 1)


def years_per_bar(interval: str | int) -> float:
    """The length of one bar of ``interval`` (``"1m"``, ``"4h"``, or nanoseconds) in 365.25-day
    years: the ``dt`` to give a generator whose rates are annualised."""
    from trader.data._time import parse_interval

    try:
        ns = parse_interval(interval)
    except InvalidInputError as e:
        raise InvalidInputError(f"interval: {e}") from None
    assert ns is not None
    return ns / YEAR_NS


def _log_paths(s0: float, increments: np.ndarray) -> np.ndarray:
    n = increments.shape[0]
    out = np.empty((n, increments.shape[1] + 1))
    out[:, 0] = math.log(s0)
    np.cumsum(increments, axis=1, out=out[:, 1:])
    out[:, 1:] += out[:, :1]
    return out


def gbm(n_paths: int, n_steps: int, *, mu: float, sigma: float, dt: float = 1.0, s0: float = 1.0,
        seed: int | None = None) -> PathSet:
    """Geometric Brownian motion ``dS = mu S dt + sigma S dW``, simulated exactly in log space:

    ``log S[t+1] = log S[t] + (mu - sigma^2 / 2) dt + sigma sqrt(dt) Z``, Z ~ N(0, 1) i.i.d.

    So log returns are i.i.d. normal with mean ``(mu - sigma^2/2) dt`` and variance ``sigma^2 dt``,
    and ``E[S_t] = s0 e^{mu t}`` (Black & Scholes 1973; Glasserman 2004, §3.2).
    """
    n, t = _shape(n_paths, n_steps)
    mu = _finite("mu", mu)
    sigma = _nonneg("sigma", sigma)
    dt = _positive("dt", dt)
    s0 = _positive("s0", s0)
    rng = np.random.default_rng(_seed(seed))
    z = rng.standard_normal((n, t))
    inc = (mu - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * z
    return PathSet(_log_paths(s0, inc), dt)


def merton(n_paths: int, n_steps: int, *, mu: float, sigma: float, jump_intensity: float, jump_mean: float,
           jump_std: float, dt: float = 1.0, s0: float = 1.0, seed: int | None = None) -> PathSet:
    """Merton's (1976) jump-diffusion, with the drift compensated so that ``E[S_t] = s0 e^{mu t}``:

    ``dS / S- = (mu - lambda k) dt + sigma dW + (e^Y - 1) dN``, N Poisson with intensity
    ``lambda = jump_intensity``, log jump sizes ``Y ~ N(m, delta^2)`` (``jump_mean``, ``jump_std``),
    ``k = E[e^Y - 1] = e^{m + delta^2/2} - 1``. Simulated exactly per step:

    ``r = (mu - sigma^2/2 - lambda k) dt + sigma sqrt(dt) Z + N m + delta sqrt(N) Z'``,
    ``N ~ Poisson(lambda dt)``, Z, Z' ~ N(0, 1) (the sum of N normal jumps; Glasserman 2004, §3.5.1).

    Log-return moments: mean ``(mu - sigma^2/2 - lambda k) dt + lambda dt m``, variance
    ``sigma^2 dt + lambda dt (m^2 + delta^2)`` (a compound Poisson sum).
    """
    n, t = _shape(n_paths, n_steps)
    mu = _finite("mu", mu)
    sigma = _nonneg("sigma", sigma)
    lam = _nonneg("jump_intensity", jump_intensity)
    m = _finite("jump_mean", jump_mean)
    delta = _nonneg("jump_std", jump_std)
    dt = _positive("dt", dt)
    s0 = _positive("s0", s0)
    if m + 0.5 * delta * delta > 700.0:
        raise InvalidInputError(f"jump_mean, jump_std: e^(jump_mean + jump_std^2/2) overflows ({m:g}, {delta:g})")
    k = math.expm1(m + 0.5 * delta * delta)
    rng = np.random.default_rng(_seed(seed))
    z = rng.standard_normal((n, t))
    counts = rng.poisson(lam * dt, (n, t))
    zj = rng.standard_normal((n, t))
    inc = (mu - 0.5 * sigma * sigma - lam * k) * dt + sigma * math.sqrt(dt) * z + counts * m + delta * np.sqrt(counts) * zj
    return PathSet(_log_paths(s0, inc), dt)


def _transition(transition: Any, k: int | None = None) -> np.ndarray:
    p = _float_array("transition", transition, 2)
    if p.shape[0] != p.shape[1]:
        raise InvalidInputError(f"transition: must be a square matrix, got shape {p.shape}")
    if k is not None and p.shape[0] != k:
        raise InvalidInputError(f"transition: is {p.shape[0]}x{p.shape[0]} but there are {k} regimes (mus, sigmas)")
    if (p < 0).any() or (p > 1).any():
        i, j = (int(x) for x in np.argwhere((p < 0) | (p > 1))[0])
        raise InvalidInputError(f"transition: entries are probabilities in [0, 1], got {p[i, j]:g} at row {i}, column {j}")
    sums = p.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOL)
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(f"transition: row {i} sums to {sums[i]!r}, not 1 (every row must sum to 1)")
    return p


def stationary_distribution(transition: Any) -> np.ndarray:
    """A stationary distribution ``pi`` of the Markov chain (``pi P = pi``, ``sum(pi) = 1``).

    Solved by least squares on ``[(P^T - I); 1^T] pi = [0; 1]``; for a reducible chain (several
    closed classes) this is the minimum-norm stationary distribution, which is still a valid one
    (a positive mixture of the classes' own)."""
    p = _transition(transition)
    k = p.shape[0]
    a = np.vstack([p.T - np.eye(k), np.ones((1, k))])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return np.asarray(pi / pi.sum())


def regime_switching(n_paths: int, n_steps: int, *, mus: Sequence[float], sigmas: Sequence[float], transition: Any,
                     initial: int | Sequence[float] | None = None, dt: float = 1.0, s0: float = 1.0,
                     seed: int | None = None) -> PathSet:
    """Markov regime switching (Hamilton 1989): a K-state Markov chain ``s`` with transition
    matrix ``P`` (``P[i, j]`` = probability of going from regime i to j in one step; rows sum to
    1) and, given the regime, GBM returns:

    ``r[t] = (mu[s_t] - sigma[s_t]^2/2) dt + sigma[s_t] sqrt(dt) Z[t]``, ``s_t ~ P[s_{t-1}, .]``.

    ``initial``: the regime of point 0 — an index, a probability vector to draw it from, or None
    for the stationary distribution (then every r[t] has the stationary mixture law: mean
    ``sum_k pi_k m_k`` with ``m_k = (mu_k - sigma_k^2/2) dt``, variance
    ``sum_k pi_k (sigma_k^2 dt + m_k^2) - mean^2``). The regime path is ``PathSet.regimes``.
    """
    n, t = _shape(n_paths, n_steps)
    mu = _float_array("mus", mus, 1)
    sig = _float_array("sigmas", sigmas, 1)
    if mu.shape != sig.shape:
        raise InvalidInputError(f"mus, sigmas: {mu.size} drifts but {sig.size} volatilities (one of each per regime)")
    if (sig < 0).any():
        i = int(np.flatnonzero(sig < 0)[0])
        raise InvalidInputError(f"sigmas: must be >= 0, got {sig[i]:g} for regime {i}")
    k = mu.size
    p = _transition(transition, k)
    dt = _positive("dt", dt)
    s0 = _positive("s0", s0)
    if initial is None:
        init = stationary_distribution(p)
    elif isinstance(initial, numbers.Integral) and not isinstance(initial, bool):
        if not 0 <= int(initial) < k:
            raise InvalidInputError(f"initial: regime index must be in 0..{k - 1}, got {int(initial)}")
        init = np.zeros(k)
        init[int(initial)] = 1.0
    else:
        init = _float_array("initial", initial, 1)
        if init.size != k or (init < 0).any() or abs(init.sum() - 1.0) > ROW_SUM_TOL:
            raise InvalidInputError(f"initial: expected a regime index or {k} probabilities summing to 1, got {init.tolist()}")
    rng = np.random.default_rng(_seed(seed))
    cum_init = np.cumsum(init)
    cum = np.cumsum(p, axis=1)
    regimes = np.empty((n, t + 1), dtype=np.int64)
    regimes[:, 0] = np.minimum(np.searchsorted(cum_init, rng.random(n), side="right"), k - 1)
    u = rng.random((t, n))
    for step in range(t):
        row = cum[regimes[:, step]]  # (n, k): the cumulative row of each path's regime
        regimes[:, step + 1] = np.minimum((u[step][:, None] >= row).sum(axis=1), k - 1)
    s = regimes[:, 1:]
    z = rng.standard_normal((n, t))
    inc = (mu[s] - 0.5 * sig[s] ** 2) * dt + sig[s] * math.sqrt(dt) * z
    return PathSet(_log_paths(s0, inc), dt, regimes=regimes)


def heston(n_paths: int, n_steps: int, *, mu: float, kappa: float, theta: float, xi: float, rho: float, v0: float,
           dt: float = 1.0, s0: float = 1.0, seed: int | None = None) -> PathSet:
    """Heston's (1993) stochastic volatility model

    ``dS/S = mu dt + sqrt(v) dW_S``, ``dv = kappa (theta - v) dt + xi sqrt(v) dW_v``,
    ``d<W_S, W_v> = rho dt``,

    by the full-truncation Euler scheme of Lord, Koekkoek & van Dijk (2010), with ``v+ = max(v, 0)``:

    ``log S[t+1] = log S[t] + (mu - v+[t]/2) dt + sqrt(v+[t] dt) Z_S``,
    ``v[t+1] = v[t] + kappa (theta - v+[t]) dt + xi sqrt(v+[t] dt) Z_v``,
    ``Z_v = rho Z_S + sqrt(1 - rho^2) Z_perp``.

    ``v`` may go below zero (the truncated ``v+`` drives both equations); ``PathSet.variance``
    holds ``v``. With ``v0 = theta`` the variance is stationary in mean, ``E[v_t] = theta``, so
    log returns have variance about ``theta dt`` and mean about ``(mu - theta/2) dt`` (the
    Euler scheme and the truncation bias both shrink with dt). The Feller condition
    ``2 kappa theta >= xi^2`` is not required.
    """
    n, t = _shape(n_paths, n_steps)
    mu = _finite("mu", mu)
    kappa = _nonneg("kappa", kappa)
    theta = _nonneg("theta", theta)
    xi = _nonneg("xi", xi)
    rho = check_number("rho", rho, ge=-1, le=1, why="a correlation")
    v0 = _nonneg("v0", v0)
    dt = _positive("dt", dt)
    s0 = _positive("s0", s0)
    rng = np.random.default_rng(_seed(seed))
    x = np.empty((n, t + 1))
    v = np.empty((n, t + 1))
    x[:, 0] = math.log(s0)
    v[:, 0] = v0
    perp = math.sqrt(max(0.0, 1.0 - rho * rho))
    sdt = math.sqrt(dt)
    for step in range(t):
        z = rng.standard_normal((2, n))
        vp = np.maximum(v[:, step], 0.0)
        root = np.sqrt(vp) * sdt
        x[:, step + 1] = x[:, step] + (mu - 0.5 * vp) * dt + root * z[0]
        v[:, step + 1] = v[:, step] + kappa * (theta - vp) * dt + xi * root * (rho * z[0] + perp * z[1])
    return PathSet(x, dt, variance=v)


def bootstrap_indices(n_obs: int, n_paths: int, n_steps: int, *, method: str = "stationary", block_length: float = 10.0,
                      seed: int | None = None) -> np.ndarray:
    """Indices into a series of ``n_obs`` observations, shape ``(n_paths, n_steps)``, for a block
    bootstrap; the series is wrapped around (index ``n_obs`` is index 0).

    - ``"stationary"`` (Politis & Romano 1994): the first index is uniform; then at each step,
      with probability ``p = 1 / block_length`` a new block starts at a uniform index, else the
      next observation follows (``i + 1 mod n_obs``). Block lengths are geometric with mean
      ``block_length`` (a float >= 1; 1 is the i.i.d. bootstrap), and the resampled series is
      stationary.
    - ``"circular"`` (Politis & Romano 1992): blocks of exactly ``block_length`` (an integer,
      ``1 <= block_length <= n_obs``) consecutive observations, each starting at a uniform index;
      the last block of a path is cut at ``n_steps``.
    """
    n_obs = _count("n_obs", n_obs)
    n, t = _shape(n_paths, n_steps)
    if method not in ("stationary", "circular"):
        raise InvalidInputError(f"method: must be 'stationary' or 'circular', got {method!r}")
    if method == "circular":
        if isinstance(block_length, float) and block_length.is_integer():
            block_length = int(block_length)
        length = _count("block_length", block_length)
        if length > n_obs:
            raise InvalidInputError(f"block_length: a circular block cannot be longer than the data ({n_obs} returns), got {length}")
    else:
        p = 1.0 / check_number("block_length", block_length, ge=1, why="the mean block length")
    rng = np.random.default_rng(_seed(seed))
    if method == "circular":
        blocks = -(-t // length)
        starts = rng.integers(0, n_obs, (n, blocks))
        offsets = np.tile(np.arange(length), blocks)[:t]
        return np.asarray((np.repeat(starts, length, axis=1)[:, :t] + offsets) % n_obs)
    starts = rng.integers(0, n_obs, (n, t))
    return stationary_walk(starts, rng.random((n, t)) < p, n_obs)


def block_bootstrap(returns: Any, n_paths: int, n_steps: int, *, method: str = "stationary", block_length: float = 10.0,
                    simple: bool = False, s0: float = 1.0, seed: int | None = None) -> PathSet:
    """Paths made of blocks of observed returns (see :func:`bootstrap_indices` for the two
    schemes): ``log_returns == returns[bootstrap_indices(len(returns), n_paths, n_steps, ...)]``
    for the same seed, so every step reuses an observed return.

    ``returns``: 1-D log returns (from prices: ``np.diff(np.log(close))``), finite; with
    ``simple=True`` they are simple returns (> -1), turned into log returns by ``log1p``.
    ``dt`` of the result is 1 (one observation per step).
    """
    r = _float_array("returns", returns, 1)
    if simple:
        if (r <= -1).any():
            i = int(np.flatnonzero(r <= -1)[0])
            raise InvalidInputError(f"returns: a simple return must be > -1, got {r[i]:g} at index {i}")
        r = np.log1p(r)
    s0 = _positive("s0", s0)
    idx = bootstrap_indices(r.size, n_paths, n_steps, method=method, block_length=block_length, seed=seed)
    return PathSet(_log_paths(s0, r[idx]), 1.0)


# -- bars from paths ------------------------------------------------------------------------------


def _price_decimals(price: float) -> int:
    """Seven significant digits of ``price`` (the synthetic source's tick grid), within 0..9."""
    return int(min(9, max(0, 6 - math.floor(math.log10(price)))))


def _prices_2d(paths: Any) -> np.ndarray:
    if isinstance(paths, PathSet):
        arr = paths.price
        if not np.isfinite(arr).all():
            raise InvalidInputError("paths: exp(log_price) overflows (prices beyond float range)")
        return arr
    arr = _float_array("paths", paths, (1, 2))
    return arr[None, :] if arr.ndim == 1 else arr


def paths_to_bars(paths: PathSet | np.ndarray, *, interval: str | int = "1m", start: str | int = "2024-01-01T00:00Z",
                  symbol: str = "MC-USDT", substeps: int = 1, high_low: str = "bridge", step_variance: float | None = None,
                  volume: str | float | np.ndarray = "abs_return", volume_base: float = 100.0, volume_noise: float = 0.35,
                  price_decimals: int | None = None, seed: int | None = None) -> list[Bars]:
    """One :class:`trader.data.Bars` per path, ready for :func:`trader.run_backtest` (``data=``).

    ``paths``: a :class:`PathSet` or prices, shape ``(n_paths, n_points)`` (or one 1-D path).
    With ``substeps = m``, every bar spans ``m`` steps of the path (``n_points - 1`` must be a
    multiple of m), so a path simulated at ``dt / m`` gives bars at ``dt`` with intrabar extremes.

    Bar ``j`` (0-based) of a path ``p``: ``ts = start + j * interval`` (its open time; ``start`` an
    ISO string or epoch ns), ``open`` = the previous close (bar 0: ``p[0]``), ``close = p[(j+1) m]``.

    ``high_low``:

    - ``"bridge"`` (default): between two consecutive path points the log price is taken as a
      Brownian bridge of variance ``step_variance`` (default: each path's sample variance of its
      log increments); its maximum over the step is sampled exactly, given the increment r,
      as ``M = (r + sqrt(r^2 + 2 s^2 E)) / 2`` with ``E ~ Exp(1)`` (from
      ``P(M >= m) = exp(-2 m (m - r) / s^2)``; Glasserman 2004, §6.4), and the minimum as
      ``(r - sqrt(r^2 + 2 s^2 E')) / 2``. High and low are the extremes over the bar's sub-steps.
      (The two extremes of one step are drawn independently: their marginals are exact, their
      dependence is not modelled.)
    - ``"path"``: the extremes of the path points inside the bar (with ``substeps=1``,
      ``max(open, close)`` and ``min(open, close)``).

    Prices are put on a tick grid of ``price_decimals`` decimals (default: seven significant
    digits of the path's first price, at most 9), as exchange prices are and as the engine
    requires: the close is rounded (never below one tick), the open is the previous rounded
    close, and ``high >= max(open, close)``, ``low <= min(open, close)``, ``low >= tick`` hold
    after rounding. So the bars follow the path to within half a tick.

    ``volume``: ``"abs_return"`` (default): ``volume_base * (0.4 + 0.6 |r| / sd(r)) *
    exp(volume_noise Z - volume_noise^2/2)`` with r the bar's log return (so volume grows with
    the size of the move and the noise has mean 1); ``"constant"``: ``volume_base``; a number: that
    constant; an array of shape ``(n_bars,)`` or ``(n_paths, n_bars)``: given as is.

    ``seed`` drives the bridge extremes and the volume noise (drawn for all paths at once, so a
    path's bars depend on the seed and on every argument, including the number of paths).
    """
    from trader.data import Bars
    from trader.data._time import parse_interval, to_ns

    prices = _prices_2d(paths)
    n_paths, n_points = prices.shape
    if (prices <= 0).any():
        i, j = (int(x) for x in np.argwhere(prices <= 0)[0])
        raise InvalidInputError(f"paths: prices must be > 0, got {prices[i, j]:g} at path {i}, point {j}")
    if (prices > MAX_PRICE).any():
        i, j = (int(x) for x in np.argwhere(prices > MAX_PRICE)[0])
        raise InvalidInputError(f"paths: prices must be <= {MAX_PRICE:g} (fixed-point money), got {prices[i, j]:g} at path {i}, point {j}")
    m = _count("substeps", substeps)
    if n_points < 2 or (n_points - 1) % m:
        raise InvalidInputError(f"paths: {n_points} points do not make whole bars of {m} step(s) "
                                f"(need 1 + a positive multiple of {m})")
    n_bars = (n_points - 1) // m
    if high_low not in ("bridge", "path"):
        raise InvalidInputError(f"high_low: must be 'bridge' or 'path', got {high_low!r}")
    s2: float | None = None if step_variance is None else _nonneg("step_variance", step_variance)
    try:
        iv = parse_interval(interval)
    except InvalidInputError as e:
        raise InvalidInputError(f"interval: {e}") from None
    assert iv is not None
    if isinstance(start, numbers.Integral) and not isinstance(start, bool):
        start_ns = int(start)
    else:
        try:
            start_ns = to_ns(start, "start")  # type: ignore[assignment]
        except InvalidInputError as e:
            raise InvalidInputError(f"start: {e}") from None
    if start_ns is None or start_ns < 0 or start_ns + (n_bars - 1) * iv >= np.iinfo(np.int64).max:
        raise InvalidInputError(f"start: the bars must fit int64 nanoseconds from the epoch, got {start!r}")
    if not isinstance(symbol, str) or not symbol:
        raise InvalidInputError(f"symbol: expected a non-empty string, got {symbol!r}")
    if price_decimals is None:
        dps = np.array([_price_decimals(float(p)) for p in prices[:, 0]])
    else:
        dps = np.full(n_paths, _count("price_decimals", price_decimals, ge=0))
        if dps[0] > 9:
            raise InvalidInputError(f"price_decimals: must be in 0..9 (the engine's grid), got {int(dps[0])}")
    vol_given: np.ndarray | None = None
    if isinstance(volume, str):
        if volume not in ("abs_return", "constant"):
            raise InvalidInputError(f"volume: must be 'abs_return', 'constant', a number or an array, got {volume!r}")
        volume_base = _nonneg("volume_base", volume_base)
        volume_noise = _nonneg("volume_noise", volume_noise)
    elif isinstance(volume, numbers.Real) and not isinstance(volume, bool):
        vol_given = np.full((n_paths, n_bars), _nonneg("volume", volume))
    else:
        vg = _float_array("volume", volume, (1, 2))
        if vg.shape not in ((n_bars,), (n_paths, n_bars)):
            raise InvalidInputError(f"volume: expected shape ({n_bars},) or ({n_paths}, {n_bars}), got {vg.shape}")
        if (vg < 0).any():
            raise InvalidInputError("volume: must be >= 0")
        vol_given = np.broadcast_to(vg, (n_paths, n_bars))
    rng = np.random.default_rng(_seed(seed))

    logp = np.log(prices)
    inc = np.diff(logp, axis=1)  # (n_paths, n_points - 1)
    if high_low == "bridge":
        var = np.full((n_paths, 1), s2) if s2 is not None else inc.var(axis=1, keepdims=True)
        expo = rng.standard_exponential((2, n_paths, n_points - 1))
        hi_step = logp[:, :-1] + 0.5 * (inc + np.sqrt(inc * inc + 2.0 * var * expo[0]))
        lo_step = logp[:, :-1] + 0.5 * (inc - np.sqrt(inc * inc + 2.0 * var * expo[1]))
        hi_log = hi_step.reshape(n_paths, n_bars, m).max(axis=2)
        lo_log = lo_step.reshape(n_paths, n_bars, m).min(axis=2)
    else:
        inner = logp[:, 1:].reshape(n_paths, n_bars, m)
        hi_log = np.maximum(inner.max(axis=2), logp[:, :-1:m])
        lo_log = np.minimum(inner.min(axis=2), logp[:, :-1:m])
    scale = 10.0 ** dps[:, None].astype(np.float64)
    tick = 1.0 / scale
    points = np.maximum(np.round(prices[:, ::m] * scale) / scale, tick)  # (n_paths, n_bars + 1)
    o = points[:, :-1]
    c = points[:, 1:]
    high = np.maximum(np.round(np.exp(hi_log) * scale) / scale, np.maximum(o, c))
    low = np.maximum(np.minimum(np.round(np.exp(lo_log) * scale) / scale, np.minimum(o, c)), tick)
    if vol_given is not None:
        vol = np.array(vol_given, dtype=np.float64)
    elif volume == "constant":
        vol = np.full((n_paths, n_bars), volume_base)
    else:
        r = logp[:, m::m] - logp[:, :-1:m]
        sd = r.std(axis=1, keepdims=True)
        shock = np.divide(np.abs(r), sd, out=np.ones_like(r), where=sd > 0)
        noise = np.exp(volume_noise * rng.standard_normal((n_paths, n_bars)) - 0.5 * volume_noise**2)
        vol = volume_base * (0.4 + 0.6 * shock) * noise
    ts = start_ns + np.arange(n_bars, dtype=np.int64) * np.int64(iv)
    return [Bars(symbol, ts.copy(), o[i].copy(), high[i].copy(), low[i].copy(), c[i].copy(), vol[i].copy(), int(iv),
                 source=f"paths[{i}]") for i in range(n_paths)]


def bars_from_path(path: Any, **options: Any) -> Bars:
    """The bars of one 1-D price path: ``paths_to_bars(path[None], **options)[0]`` (see there)."""
    arr = _float_array("path", path, 1)
    return paths_to_bars(arr[None, :], **options)[0]


#: The columns of :func:`run_paths`' table (name, numpy dtype), in order. Float statistics the
#: engine reports as None (e.g. Sharpe of a single point) are NaN; ``longest_underwater`` and
#: ``total_underwater`` are counted in equity points (see :func:`time_under_water`).
RUN_FIELDS: tuple[tuple[str, str], ...] = (
    ("path", "i8"), ("bars", "i8"), ("total_return", "f8"), ("final_equity", "f8"), ("max_drawdown", "f8"),
    ("max_drawdown_bars", "i8"), ("max_drawdown_duration_s", "f8"), ("sharpe", "f8"), ("sortino", "f8"),
    ("exposure", "f8"), ("trades", "i8"), ("win_rate", "f8"), ("profit_factor", "f8"), ("expectancy", "f8"),
    ("fees_paid", "f8"), ("ruined", "?"), ("longest_underwater", "i8"), ("total_underwater", "i8"),
)


def run_paths(strategy_factory: Callable[[], Strategy] | str, paths: PathSet | np.ndarray | Sequence[Bars], *,
              bar_options: Mapping[str, Any] | None = None,
              on_result: Callable[[int, BacktestResult], None] | None = None, jobs: int | None = 1,
              scheduler: str | None = None, **backtest_kwargs: Any) -> np.ndarray:
    """Run a strategy over every path with :func:`trader.run_backtest` and return one row of
    statistics per path: a numpy structured array with the fields of :data:`RUN_FIELDS`.

    ``strategy_factory``: a zero-argument callable returning a fresh :class:`trader.Strategy`
    (a Strategy subclass, ``functools.partial(EmaCross, fast=5, slow=20)``, a lambda), or a
    registered strategy name. An instance is refused: each path needs a strategy with fresh state.

    ``paths``: a :class:`PathSet` or a 2-D array of prices (turned into bars by
    :func:`paths_to_bars` with ``bar_options``), or a sequence of :class:`trader.data.Bars`.

    ``backtest_kwargs`` go to :func:`trader.run_backtest` unchanged (``cash``, ``fee_bps``, ...;
    not ``strategy``, ``params`` or ``data``). ``on_result(i, result)`` is called with each
    path's full :class:`trader.results.BacktestResult` (to keep equity curves, trades, ...), in
    the paths' order.

    ``jobs`` and ``scheduler``: where the paths run (:func:`trader.research.distributed.run_tasks`):
    one after another in this process (``jobs=1``, the default), on a local Dask cluster of
    ``jobs`` worker processes (None: the machine's cores), or on the Dask cluster at
    ``scheduler="tcp://HOST:PORT"``; the table is the same wherever they ran. Off this process the
    factory must be picklable (a lambda is, by value), and a result given to ``on_result`` was
    built on a worker: everything the engine would have answered later (exact fills, the exact
    account, orders, fill arrivals) is computed there and sent with it.

    A failing run raises with the path index noted.
    """
    from trader.backtest import run_backtest
    from trader.data import Bars
    from trader.research.distributed import check_scheduler, run_tasks, runs_here
    from trader.strategy import Strategy

    if isinstance(strategy_factory, Strategy):
        raise InvalidInputError("strategy_factory: give a class or a zero-argument callable, not an instance "
                                "(each path needs a strategy with fresh state)")
    if not (callable(strategy_factory) or isinstance(strategy_factory, str)):
        raise InvalidInputError(f"strategy_factory: expected a callable or a strategy name, got {type(strategy_factory).__name__}")
    allowed = set(inspect.signature(run_backtest).parameters) - {"strategy", "params", "data"}
    unknown = sorted(set(backtest_kwargs) - allowed)
    if unknown:
        raise InvalidInputError(f"backtest_kwargs: unknown or reserved argument(s) {', '.join(unknown)} of run_backtest "
                                "(strategy, params and data are given by run_paths)")
    if on_result is not None and not callable(on_result):
        raise InvalidInputError(f"on_result: expected a callable, got {type(on_result).__name__}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    scheduler = check_scheduler(scheduler)
    if isinstance(paths, (list, tuple)) and paths and all(isinstance(b, Bars) for b in paths):
        if bar_options:
            raise InvalidInputError("bar_options: the paths are already bars")
        bars = list(paths)
    elif isinstance(paths, (list, tuple)) and any(isinstance(b, Bars) for b in paths):
        raise InvalidInputError("paths: a sequence of paths must hold only trader.data.Bars")
    else:
        bars = paths_to_bars(paths, **dict(bar_options or {}))  # type: ignore[arg-type]

    keep = "here" if runs_here(jobs, scheduler, len(bars)) else "detached"
    shared = (strategy_factory, dict(backtest_kwargs), keep if on_result is not None else None)

    def deliver(i: int, out: tuple[np.ndarray, Any]) -> np.ndarray:
        row, result = out
        if on_result is not None:
            on_result(i, result)
        return row

    rows = run_tasks(_run_path, list(enumerate(bars)), jobs=jobs, scheduler=scheduler, shared=shared, on_result=deliver,
                     name="paths")
    out = np.zeros(len(bars), dtype=list(RUN_FIELDS))
    for i, row in enumerate(rows):
        out[i] = row
    return out


class _Finished:
    """What a :class:`trader.results.BacktestResult` asks of its engine after the run, computed
    where the run happened: a result sent from a Dask worker (the engine itself stays there)."""

    def __init__(self, engine: Any) -> None:
        self._fills_exact = engine.fills_exact()
        self._account_exact = engine.account_exact()
        self._fill_arrivals = engine.fill_arrivals()
        self._orders_columns = engine.orders_columns()

    def fills_exact(self) -> Any:
        return self._fills_exact

    def account_exact(self) -> Any:
        return self._account_exact

    def fill_arrivals(self) -> Any:
        return self._fill_arrivals

    def orders_columns(self) -> Any:
        return self._orders_columns


def _run_path(shared: tuple[Any, dict[str, Any], str | None], item: tuple[int, Bars]) -> tuple[np.ndarray, Any]:
    """Path ``i``'s row of :data:`RUN_FIELDS` (and its result for ``on_result``: as is here,
    detached from its engine on a worker): a task of :func:`trader.research.distributed.run_tasks`."""
    from trader.backtest import make_strategy, run_backtest
    from trader.strategy import Strategy

    factory, kwargs, keep = shared
    i, b = item
    strat = make_strategy(factory) if isinstance(factory, str) else factory()
    if not isinstance(strat, Strategy):
        raise InvalidInputError(f"strategy_factory: returned {type(strat).__name__}, not a trader.Strategy")
    try:
        result = run_backtest(strat, data=b, **kwargs)
    except Exception as exc:
        exc.add_note(f"run_paths: while running path {i}")
        raise
    s = result.stats
    row = np.zeros((), dtype=list(RUN_FIELDS))
    row["path"] = i
    row["bars"] = result.bars
    for name, kind in RUN_FIELDS:
        if name in ("path", "bars", "longest_underwater", "total_underwater"):
            continue
        value = s.get(name)
        if kind == "f8":
            row[name] = math.nan if value is None else float(value)
        else:
            row[name] = value
    if len(result.equity):
        longest, total = time_under_water(result.equity)
        row["longest_underwater"] = int(longest[0])
        row["total_underwater"] = int(total[0])
    if keep is None:
        return row, None
    if keep == "detached" and result._engine is not None:
        result = dataclasses.replace(result, _engine=_Finished(result._engine))
    return row, result


# -- distributions ------------------------------------------------------------------------------


def _equity_2d(equity: Any, name: str = "equity") -> np.ndarray:
    arr = _float_array(name, equity, (1, 2))
    arr = arr[None, :] if arr.ndim == 1 else arr
    if (arr[:, 0] <= 0).any():
        i = int(np.flatnonzero(arr[:, 0] <= 0)[0])
        raise InvalidInputError(f"{name}: the first point of every curve must be > 0, got {arr[i, 0]:g} on path {i}")
    return arr


def equity_from_returns(returns: Any, initial: float = 1.0) -> np.ndarray:
    """Equity curves from per-period simple returns of shape ``(n_paths, n_periods)`` (or 1-D):
    ``initial`` then ``initial * cumprod(1 + r)``, shape ``(n_paths, n_periods + 1)``."""
    r = _float_array("returns", returns, (1, 2))
    r = r[None, :] if r.ndim == 1 else r
    initial = _positive("initial", initial)
    out = np.empty((r.shape[0], r.shape[1] + 1))
    out[:, 0] = initial
    np.cumprod(1.0 + r, axis=1, out=out[:, 1:])
    out[:, 1:] *= initial
    return out


def total_returns(equity: Any) -> np.ndarray:
    """Per path: ``equity[-1] / equity[0] - 1`` (``equity``: ``(n_paths, n_points)`` or 1-D)."""
    e = _equity_2d(equity)
    return np.asarray(e[:, -1] / e[:, 0] - 1.0)


def _drawdown(e: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(e, axis=1)
    return np.asarray(1.0 - e / peak)


def max_drawdowns(equity: Any) -> np.ndarray:
    """Per path: the largest fall from a running peak, as a fraction of the peak,
    ``max_t (1 - e_t / max_{s<=t} e_s)`` (0 for a curve that never falls; above 1 when equity
    went below zero), as :mod:`trader.results` defines it."""
    e = _equity_2d(equity)
    return np.asarray(_drawdown(e).max(axis=1))


def _underwater(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    under = e < np.maximum.accumulate(e, axis=1)
    c: np.ndarray = np.cumsum(under, axis=1)
    resets: np.ndarray = np.maximum.accumulate(np.where(under, 0, c), axis=1)
    runs: np.ndarray = c - resets  # length of the current run of under-water points at each point
    return np.asarray(runs.max(axis=1)), np.asarray(under.sum(axis=1))


def time_under_water(equity: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per path, in points (bars): ``(longest, total)``. A point is under water when it is
    strictly below the highest point before it; ``longest`` is the longest run of consecutive
    such points, ``total`` their number. (Multiply by the bar interval for a time; trader's
    ``max_drawdown_duration_s`` also counts the peak point and is measured in time.)"""
    e = _equity_2d(equity)
    return _underwater(e)


def _samples(name: str, samples: Any) -> np.ndarray:
    return np.sort(_float_array(name, samples, 1))


def _tail_weight(n: int, level: float) -> float:
    """``n (1 - level)``, snapped to the nearest integer when within float noise of it."""
    w = n * (1.0 - level)
    return float(round(w)) if abs(w - round(w)) < 1e-9 else w


def value_at_risk(samples: Any, level: float = 0.95) -> float:
    """Historical value at risk at ``level``: the loss not exceeded with probability ``level``,
    ``VaR = -x_(k)`` with ``x_(1) <= ... <= x_(n)`` the sorted samples (returns, gains > 0) and
    ``k = ceil(n (1 - level))`` (at least 1): minus the lower empirical ``1 - level`` quantile.
    A positive number is a loss."""
    x = _samples("samples", samples)
    lv = _level("level", level)
    w = _tail_weight(x.size, lv)
    k = min(x.size, max(1, math.ceil(w)))
    return float(-x[k - 1])


def conditional_value_at_risk(samples: Any, level: float = 0.95) -> float:
    """Historical conditional value at risk (expected shortfall) at ``level``: minus the mean of
    the worst ``w = n (1 - level)`` samples, the boundary sample weighted by the fraction of it
    that falls in the tail (Acerbi & Tasche 2002):
    ``CVaR = -(sum_{i <= floor(w)} x_(i) + (w - floor(w)) x_(floor(w)+1)) / w``;
    when ``w < 1`` this is ``-x_(1)``. Always ``>= VaR`` at the same level."""
    x = _samples("samples", samples)
    lv = _level("level", level)
    w = _tail_weight(x.size, lv)
    if w < 1.0:
        return float(-x[0])
    whole = int(math.floor(w))
    tail = float(x[:whole].sum())
    if whole < x.size:
        tail += (w - whole) * float(x[whole])
    return -tail / w


def risk_of_ruin(equity: Any, threshold: float = 0.0) -> float:
    """The share of paths whose equity falls to or below ``threshold`` times its first point at
    any point (``threshold = 0``: equity at or below zero, trader's own ruin; 0.5: half lost)."""
    e = _equity_2d(equity)
    th = check_number("threshold", threshold, ge=0, lt=1, why="a fraction of the initial equity")
    return float((e <= th * e[:, :1]).any(axis=1).mean())


def _describe(values: np.ndarray, quantiles: Sequence[float]) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()),
            "max": float(v.max()), "quantiles": {float(q): float(x) for q, x in zip(quantiles, np.quantile(v, quantiles))}}


def summary(equity: Any = None, *, returns: Any = None, initial: float = 1.0, levels: Sequence[float] = (0.95, 0.99),
            quantiles: Sequence[float] = DEFAULT_QUANTILES, ruin_threshold: float = 0.0) -> dict[str, Any]:
    """The distribution of outcomes over paths, from equity curves ``(n_paths, n_points)`` or,
    with ``returns=``, per-period simple returns (compounded from ``initial`` by
    :func:`equity_from_returns`).

    Returns a dict: ``n_paths``; for ``total_return``, ``max_drawdown``, ``longest_underwater``
    and ``total_underwater`` (points) a dict of ``mean``, ``std`` (ddof 1), ``min``, ``max`` and
    ``quantiles`` ({q: value}, numpy's linear interpolation); ``var`` and ``cvar`` ({level: value})
    of the paths' total returns (:func:`value_at_risk`, :func:`conditional_value_at_risk`);
    ``risk_of_ruin`` at ``ruin_threshold``.
    """
    if (equity is None) == (returns is None):
        raise InvalidInputError("equity, returns: give exactly one of them")
    e = _equity_2d(equity) if equity is not None else equity_from_returns(returns, initial)
    lv = [_level("levels", x) for x in levels]
    qs = [check_number("quantiles", q, ge=0, le=1) for q in quantiles]
    th = check_number("ruin_threshold", ruin_threshold, ge=0, lt=1, why="a fraction of the initial equity")
    tot = np.asarray(e[:, -1] / e[:, 0] - 1.0)
    longest, total = _underwater(e)
    return {
        "n_paths": int(e.shape[0]),
        "total_return": _describe(tot, qs),
        "max_drawdown": _describe(_drawdown(e).max(axis=1), qs),
        "longest_underwater": _describe(longest, qs),
        "total_underwater": _describe(total, qs),
        "var": {x: value_at_risk(tot, x) for x in lv},
        "cvar": {x: conditional_value_at_risk(tot, x) for x in lv},
        "risk_of_ruin": float((e <= th * e[:, :1]).any(axis=1).mean()),
        "ruin_threshold": th,
    }


# -- trade-order resampling ---------------------------------------------------------------------


def resample_trades(trades: Any, n_resamples: int, *, mode: str = "compound", initial: float | None = None,
                    replace: bool = False, seed: int | None = None) -> np.ndarray:
    """Reorder a backtest's trades ``n_resamples`` times and measure each new equity curve.

    ``trades``: a :class:`trader.results.BacktestResult` (its closed trades: ``return`` for
    ``mode="compound"``, ``pnl`` and the run's initial cash for ``mode="additive"``) or a 1-D array
    of per-trade returns (compound) or PnLs (additive, with ``initial`` cash required).

    - ``"compound"``: equity = ``initial * cumprod(1 + r)`` (default initial 1): every trade
      stakes the whole equity, as a strategy sized at 100 % of equity does.
    - ``"additive"``: equity = ``initial + cumsum(pnl)``: fixed-size trades.

    ``replace=False`` permutes the sequence (each resample uses every trade once): the final
    return is then the same for every order (a product or a sum does not depend on the order) and
    only the path — max drawdown, time under water — varies. ``replace=True`` draws the trades
    with replacement (an i.i.d. bootstrap), so the final return varies as well.

    Returns a structured array of ``n_resamples`` rows: ``final_return``, ``max_drawdown``,
    ``longest_underwater`` (in trades).
    """
    from trader.results import BacktestResult

    n = _count("n_resamples", n_resamples)
    if mode not in ("compound", "additive"):
        raise InvalidInputError(f"mode: must be 'compound' or 'additive', got {mode!r}")
    if isinstance(trades, BacktestResult):
        t = trades.trades
        closed = np.asarray(t.get("closed", np.ones(len(t["pnl"]), dtype=bool)), dtype=bool)
        values = np.asarray(t["return"] if mode == "compound" else t["pnl"], dtype=np.float64)[closed]
        if initial is None:
            initial = float(trades.stats["initial_cash"]) if mode == "additive" else 1.0
        if values.size == 0:
            raise InvalidInputError("trades: the backtest closed no trade")
        x = _float_array("trades", values, 1)
    else:
        x = _float_array("trades", trades, 1)
        if initial is None:
            if mode == "additive":
                raise InvalidInputError("initial: required with mode='additive' and an array of PnLs (the starting cash)")
            initial = 1.0
    init = _positive("initial", initial)
    if mode == "compound" and (x < -1).any():
        i = int(np.flatnonzero(x < -1)[0])
        raise InvalidInputError(f"trades: a trade's return must be >= -1 (all of the stake lost), got {x[i]:g} at index {i}")
    n_cells = n * (x.size + 1)
    if n_cells > MAX_CELLS:
        raise InvalidInputError(f"n_resamples: {n:,} resamples of {x.size:,} trades exceed the limit of {MAX_CELLS:,} cells")
    rng = np.random.default_rng(_seed(seed))
    if replace:
        order = rng.integers(0, x.size, (n, x.size))
    else:
        order = np.argsort(rng.random((n, x.size)), axis=1)
    seq = x[order]
    e = np.empty((n, x.size + 1))
    e[:, 0] = init
    if mode == "compound":
        np.cumprod(1.0 + seq, axis=1, out=e[:, 1:])
        e[:, 1:] *= init
    else:
        np.cumsum(seq, axis=1, out=e[:, 1:])
        e[:, 1:] += init
    out = np.zeros(n, dtype=[("final_return", "f8"), ("max_drawdown", "f8"), ("longest_underwater", "i8")])
    out["final_return"] = e[:, -1] / init - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["max_drawdown"] = _drawdown(e).max(axis=1)
    out["longest_underwater"] = _underwater(e)[0]
    return out


# -- stress scenarios ---------------------------------------------------------------------------

_OHLCV = ("open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")
#: The funding-rate column :func:`funding_spike` writes (and reads when it is present).
FUNDING_COLUMN = "funding_rate"


@dataclasses.dataclass
class _Frame:
    """The columns of one OHLCV input as float64 copies, and how to rebuild the input's type."""

    kind: str  # "bars" | "dict" | "struct" | "arrow"
    source: Any
    cols: dict[str, np.ndarray]
    n: int

    def rebuild(self, changed: Mapping[str, np.ndarray]) -> Any:
        if self.kind == "bars":
            from trader.data import Bars

            b = self.source
            if FUNDING_COLUMN in changed:
                out: dict[str, np.ndarray] = {k: np.array(v) for k, v in b.columns().items()}
                out.update({k: np.array(v) for k, v in changed.items()})
                return out
            c = {**self.cols, **changed}
            return Bars(b.symbol, b.ts.copy(), c["open"], c["high"], c["low"], c["close"], c["volume"], b.interval_ns,
                        source="stress")
        if self.kind == "dict":
            res: dict[str, Any] = {k: (v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v)
                                   for k, v in self.source.items()}
            for k, v in changed.items():
                res[k] = v.astype(np.asarray(self.source[k]).dtype) if k in self.source else v
            return res
        if self.kind == "struct":
            src: np.ndarray = self.source
            names = list(src.dtype.names or ())
            added = [k for k in changed if k not in names]
            if added:
                arr = np.zeros(src.shape, dtype=[*((k, src.dtype[k]) for k in names), *((k, "f8") for k in added)])
                for k in names:
                    arr[k] = src[k]
            else:
                arr = src.copy()
            for k, v in changed.items():
                arr[k] = v
            return arr
        import pyarrow as pa

        table = self.source
        for k, v in changed.items():
            if k in table.column_names:
                i = table.column_names.index(k)
                field = table.schema.field(i)
                try:
                    col = pa.array(v).cast(field.type)  # safe cast: refuses to truncate
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    field, col = field.with_type(pa.float64()), pa.array(v, pa.float64())
                table = table.set_column(i, field, col)
            else:
                table = table.append_column(k, pa.array(v, pa.float64()))
        return table


def _frame(data: Any) -> _Frame:
    from trader.data import Bars

    if isinstance(data, Bars):
        return _Frame("bars", data, {k: np.array(getattr(data, k), dtype=np.float64) for k in _OHLCV}, len(data))
    if isinstance(data, np.ndarray) and data.dtype.names:
        names = data.dtype.names
        if data.ndim != 1:
            raise InvalidInputError(f"data: a structured array must be 1-D, got shape {data.shape}")
        missing = [k for k in _OHLCV if k not in names]
        if missing:
            raise InvalidInputError(f"data: missing column(s) {', '.join(missing)} (have {', '.join(names)})")
        cols = {k: np.array(data[k], dtype=np.float64) for k in names if k != "ts" and data.dtype[k].kind in "fiu"}
        return _Frame("struct", data, cols, int(data.shape[0]))
    if isinstance(data, Mapping):
        missing = [k for k in _OHLCV if k not in data]
        if missing:
            raise InvalidInputError(f"data: missing column(s) {', '.join(missing)} (have {', '.join(map(str, data))})")
        cols = {k: np.array(data[k], dtype=np.float64) for k in (*_OHLCV, FUNDING_COLUMN) if k in data}
        return _Frame("dict", data, cols, int(cols["close"].shape[0]))
    if hasattr(data, "column_names") and hasattr(data, "schema") and hasattr(data, "num_rows"):
        missing = [k for k in _OHLCV if k not in data.column_names]
        if missing:
            raise InvalidInputError(f"data: missing column(s) {', '.join(missing)} (have {', '.join(data.column_names)})")
        cols = {k: np.array(data.column(k).to_numpy(), dtype=np.float64)
                for k in (*_OHLCV, FUNDING_COLUMN) if k in data.column_names}
        return _Frame("arrow", data, cols, int(data.num_rows))
    raise InvalidInputError(f"data: expected trader.data.Bars, a dict of columns, a numpy structured array or a "
                            f"pyarrow Table, got {type(data).__name__}")


def _checked_frame(data: Any, at: Any, span: int) -> tuple[_Frame, int]:
    f = _frame(data)
    if f.n == 0:
        raise InvalidInputError("data: is empty")
    for k in _OHLCV:
        col = f.cols[k]
        if col.shape != (f.n,):
            raise InvalidInputError(f"data: column {k} has shape {col.shape}, expected ({f.n},)")
        if not np.isfinite(col).all():
            raise InvalidInputError(f"data: column {k} holds NaN or infinite values (row {int(np.flatnonzero(~np.isfinite(col))[0])})")
    if (f.cols["low"] <= 0).any():
        raise InvalidInputError("data: prices must be > 0")
    i = _count("at", at, ge=0)
    if i >= f.n:
        raise InvalidInputError(f"at: index {i} is outside the data (0..{f.n - 1})")
    if i + span > f.n:
        raise InvalidInputError(f"at: the scenario spans bars {i}..{i + span - 1} but the data ends at {f.n - 1}")
    return f, i


def _decimals(f: _Frame, decimals: int | None) -> int:
    if decimals is not None:
        d = _count("decimals", decimals, ge=0)
        if d > 9:
            raise InvalidInputError(f"decimals: must be in 0..9 (the engine's grid), got {d}")
        return d
    from trader.kernel import infer_price_precision

    return infer_price_precision(*(f.cols[k] for k in _PRICES))


def _on_grid(x: np.ndarray, dp: int) -> np.ndarray:
    return np.asarray(np.maximum(np.round(x, dp), 10.0**-dp))


def flash_crash(data: Any, at: int, *, depth: float = 0.2, bars: int = 5, recovery: float = 0.5, recovery_bars: int = 5,
                volume_mult: float = 5.0, persist: bool = True, decimals: int | None = None) -> Any:
    """A crash of ``depth`` (a fraction, 0 < depth < 1) within ``bars`` bars from bar ``at``, then
    a recovery of the fraction ``recovery`` (0..1) of the fall over ``recovery_bars`` bars.

    With ``P = open[at]``, ``B = P (1 - depth)`` and ``R = B + recovery (P - B)``, the closes of
    the window fall geometrically, ``close[at + j] = P (B/P)^((j+1)/bars)`` (j < bars), then
    rise geometrically from B to R over ``recovery_bars`` bars (none when 0: the series stays at
    B). Window bars: open = previous close, high = max(open, close), low = min(open, close),
    volume x ``volume_mult``. ``persist=True``: every later bar's prices are scaled by
    ``close_new / close_old`` of the window's last bar, so the data continues from the new level
    (a lasting loss of ``depth (1 - recovery)``); ``persist=False`` leaves later bars as they are
    (the price jumps back to the data after the window). Bars before ``at`` never change.

    Prices are rounded to ``decimals`` (default: the data's own price precision).
    """
    d = check_number("depth", depth, gt=0, lt=1, why="a fraction of the price")
    k = _count("bars", bars)
    rec = check_number("recovery", recovery, ge=0, le=1, why="a fraction of the fall")
    rk = _count("recovery_bars", recovery_bars, ge=0)
    vm = _nonneg("volume_mult", volume_mult)
    if not isinstance(persist, bool):
        raise InvalidInputError(f"persist: expected True or False, got {persist!r}")
    f, i = _checked_frame(data, at, k + rk)
    dp = _decimals(f, decimals)
    o, h, lo, c, v = (f.cols[x].copy() for x in _OHLCV)
    p = float(o[i])
    b = p * (1.0 - d)
    r = b + rec * (p - b)
    path = np.concatenate([p * (b / p) ** (np.arange(1, k + 1) / k),
                           b * (r / b) ** (np.arange(1, rk + 1) / rk) if rk else np.empty(0)])
    end = i + k + rk
    new_c = _on_grid(path, dp)
    new_o = np.concatenate([[o[i]], new_c[:-1]])
    factor = new_c[-1] / c[end - 1]
    c[i:end] = new_c
    o[i:end] = new_o
    h[i:end] = np.maximum(new_o, new_c)
    lo[i:end] = np.minimum(new_o, new_c)
    v[i:end] *= vm
    if persist and end < f.n:
        for col in (o, h, lo, c):
            col[end:] = _on_grid(col[end:] * factor, dp)
    return f.rebuild({"open": o, "high": h, "low": lo, "close": c, "volume": v})


def gap(data: Any, at: int, *, size: float = -0.1, decimals: int | None = None) -> Any:
    """A jump of ``size`` (a fraction, > -1: -0.1 is a 10 % gap down) between bar ``at - 1`` and
    bar ``at`` (``at >= 1``): the prices of bar ``at`` and of every later bar are multiplied by
    ``1 + size`` (rounded to ``decimals``, default the data's precision), so the market opens at
    the new level and stays there. Bars before ``at`` and every volume are unchanged."""
    s = check_number("size", size, gt=-1, why="a fraction of the price")
    f, i = _checked_frame(data, at, 1)
    if i < 1:
        raise InvalidInputError("at: a gap sits between two bars, so at must be >= 1, got 0")
    dp = _decimals(f, decimals)
    changed: dict[str, np.ndarray] = {}
    for k in _PRICES:
        col = f.cols[k].copy()
        col[i:] = _on_grid(col[i:] * (1.0 + s), dp)
        changed[k] = col
    changed["volume"] = f.cols["volume"].copy()
    return f.rebuild(changed)


def halt(data: Any, at: int, *, bars: int = 10, gap: float = 0.0, decimals: int | None = None) -> Any:
    """A trading halt of ``bars`` bars from bar ``at`` (``at >= 1``): those bars are flat at the
    last close before the halt (open = high = low = close = ``close[at - 1]``) with zero volume.
    Trading resumes at bar ``at + bars`` with the data's own prices, so the move the market made
    during the halt shows as one gap at the reopening; ``gap`` (a fraction, > -1) adds a further
    jump by scaling the prices of every bar from the reopening on by ``1 + gap``. Bars before
    ``at`` never change; the halt must end inside the data."""
    g = check_number("gap", gap, gt=-1, why="a fraction of the price")
    k = _count("bars", bars)
    f, i = _checked_frame(data, at, k + 1)
    if i < 1:
        raise InvalidInputError("at: a halt freezes the last price before it, so at must be >= 1, got 0")
    dp = _decimals(f, decimals) if g != 0.0 else 0
    last = f.cols["close"][i - 1]
    changed: dict[str, np.ndarray] = {}
    for name in _PRICES:
        col = f.cols[name].copy()
        col[i:i + k] = last
        if g != 0.0:
            col[i + k:] = _on_grid(col[i + k:] * (1.0 + g), dp)
        changed[name] = col
    vol = f.cols["volume"].copy()
    vol[i:i + k] = 0.0
    changed["volume"] = vol
    return f.rebuild(changed)


def funding_spike(data: Any, at: int, *, rate: float = 0.003, bars: int = 3, base_rate: float = 0.0001) -> Any:
    """Funding rates of ``rate`` (a fraction of the notional per funding interval, -1 < rate < 1)
    for the ``bars`` bars from ``at``, in the data's ``funding_rate`` column; when the data has no
    such column, one is made with ``base_rate`` everywhere else (default 0.0001: 0.01 % per 8 h,
    the usual perpetual baseline). Prices and volumes are unchanged.

    The column holds the rate in force at each bar; :func:`funding_settlements` picks the
    settlement times from it for ``trader.run_backtest(..., account="margin", funding=...)``.
    A :class:`trader.data.Bars` cannot carry the column: for Bars the result is a dict of columns
    (``ts, open, high, low, close, volume, funding_rate``)."""
    rt = check_number("rate", rate, gt=-1, lt=1, why="a fraction of the notional per funding interval")
    k = _count("bars", bars)
    base = check_number("base_rate", base_rate, gt=-1, lt=1, why="a fraction of the notional per funding interval")
    f, i = _checked_frame(data, at, k)
    if FUNDING_COLUMN in f.cols:
        col = f.cols[FUNDING_COLUMN].copy()
        if col.shape != (f.n,):
            raise InvalidInputError(f"data: column {FUNDING_COLUMN} has shape {col.shape}, expected ({f.n},)")
        if not np.isfinite(col).all():
            raise InvalidInputError(f"data: column {FUNDING_COLUMN} holds NaN or infinite values")
    else:
        col = np.full(f.n, base)
    col[i:i + k] = rt
    return f.rebuild({FUNDING_COLUMN: col})


def funding_settlements(ts: Any, rate: Any, interval_h: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``(ts, rate)`` pairs at funding times: the bars whose timestamp (epoch ns) is a
    multiple of ``interval_h`` hours (00/08/16 UTC for 8), with the rate in force there — the
    ``funding=`` series :func:`trader.run_backtest` takes."""
    t = np.asarray(ts)
    if np.issubdtype(t.dtype, np.datetime64):
        t = t.astype("datetime64[ns]").view(np.int64)
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.integer):
        raise InvalidInputError(f"ts: expected 1-D integer epoch nanoseconds or datetime64, got {t.dtype} of shape {t.shape}")
    r = _float_array("rate", rate, 1)
    if r.shape != t.shape:
        raise InvalidInputError(f"rate: {r.size} rates for {t.size} timestamps")
    iv = check_number("interval_h", interval_h, gt=0, le=24 * 365)
    step = int(round(iv * 3600e9))
    keep = (t.astype(np.int64) % step) == 0
    return t[keep].astype(np.int64), r[keep]


#: The named scenarios of :func:`stress`.
SCENARIOS: dict[str, Callable[..., Any]] = {
    "flash_crash": flash_crash,
    "gap": gap,
    "halt": halt,
    "funding_spike": funding_spike,
}


def stress(data: Any, scenario: str, at: int, **params: Any) -> Any:
    """Splice the named scenario (:data:`SCENARIOS`: ``flash_crash``, ``gap``, ``halt``,
    ``funding_spike``) into ``data`` at bar index ``at`` and return new data of the same type
    (:class:`trader.data.Bars`, a dict of columns, a numpy structured array or a pyarrow Table;
    ``funding_spike`` on Bars gives a dict). ``params`` are the scenario's keyword arguments
    (see each function). The input is never modified."""
    fn = SCENARIOS.get(scenario) if isinstance(scenario, str) else None
    if fn is None:
        raise InvalidInputError(f"scenario: unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
    accepted = [p for p in inspect.signature(fn).parameters if p not in ("data", "at")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidInputError(f"params: {scenario} takes {', '.join(accepted)}; unknown: {', '.join(unknown)}")
    return fn(data, at, **params)
