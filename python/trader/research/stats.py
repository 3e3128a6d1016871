"""Overfitting statistics for parameter sweeps: is the best backtest of a sweep real?

A sweep that tries thousands of configurations always finds a good-looking one. These tests say
how much of its performance survives the search:

- :func:`probabilistic_sharpe_ratio` (PSR) and :func:`deflated_sharpe_ratio` (DSR): the
  probability that the true Sharpe ratio beats a benchmark, given the track record's length,
  skewness and kurtosis; the DSR's benchmark is the Sharpe ratio the best of N worthless trials is
  expected to reach (:func:`expected_max_sharpe`). Bailey & López de Prado (2012, 2014).
- :func:`pbo`: the Probability of Backtest Overfitting by combinatorially symmetric
  cross-validation (CSCV). Bailey, Borwein, López de Prado & Zhu (2015).
- :func:`reality_check` and :func:`spa_test`: White's (2000) Reality Check and Hansen's (2005)
  test of Superior Predictive Ability, on the stationary bootstrap of Politis & Romano (1994).
- :func:`bonferroni`, :func:`holm`, :func:`benjamini_hochberg`: adjusted p-values as statsmodels'
  ``multipletests`` defines them.
- :func:`overfitting_report`: all of it for the T×N matrix of per-period returns a sweep produces.

Conventions (stated because users compare the numbers with other tools):

- Time runs down axis 0: a matrix is T periods × N configurations (K strategies).
- Sharpe ratios are **per period** (not annualized) unless a name ends in ``_annual``: SR =
  mean / std (ddof=1), risk-free rate 0, and a series whose returns are all equal has SR 0 (as in
  :mod:`trader.results`). Annualized: SR·√periods_per_year.
- Skewness and kurtosis are the moment ratios of the sample taken as a population
  (``m3 / m2**1.5`` and ``m4 / m2**2`` with ``m_k`` the mean k-th central moment; scipy's
  ``skew`` and ``kurtosis(fisher=False)`` defaults). Kurtosis is **not** excess kurtosis: a normal
  distribution has 3.
- Φ is computed with :func:`math.erfc` and Φ⁻¹ with :class:`statistics.NormalDist`; numpy is the
  only third-party dependency.
- Every argument is checked before any work starts; a bad one raises
  :class:`~trader.exceptions.InvalidInputError` whose message starts with the argument's name.
- Bootstrap p-values are reproducible: the same ``seed`` gives the same numbers (the draws are
  specified in :func:`stationary_bootstrap_indices`).

References:

- D. H. Bailey, M. López de Prado (2012), "The Sharpe Ratio Efficient Frontier", Journal of
  Risk 15(2), 3-44.
- D. H. Bailey, M. López de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection
  Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 94-107.
- D. H. Bailey, J. M. Borwein, M. López de Prado, Q. J. Zhu (2015), "The Probability of Backtest
  Overfitting", Journal of Computational Finance 20(4), 39-69.
- H. White (2000), "A Reality Check for Data Snooping", Econometrica 68(5), 1097-1126.
- P. R. Hansen (2005), "A Test for Superior Predictive Ability", Journal of Business & Economic
  Statistics 23(4), 365-380.
- D. N. Politis, J. P. Romano (1994), "The Stationary Bootstrap", Journal of the American
  Statistical Association 89(428), 1303-1313.
- S. Holm (1979), Scandinavian Journal of Statistics 6(2), 65-70; Y. Benjamini, Y. Hochberg
  (1995), Journal of the Royal Statistical Society B 57(1), 289-300.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from trader.exceptions import InvalidInputError
from trader.inputs import check_float_array, check_int

__all__ = [
    "EULER_GAMMA",
    "DeflatedSharpeResult",
    "MultipleTestingResult",
    "OverfittingReport",
    "PBOResult",
    "RealityCheckResult",
    "SPAResult",
    "benjamini_hochberg",
    "bonferroni",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "holm",
    "overfitting_report",
    "pbo",
    "probabilistic_sharpe_ratio",
    "reality_check",
    "sharpe_ratio",
    "spa_test",
    "stationary_bootstrap_indices",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: The Euler–Mascheroni constant γ of :func:`expected_max_sharpe`.
EULER_GAMMA = 0.5772156649015329

_NORMAL = statistics.NormalDist()
#: C(S, S/2) above this is refused: C(24, 12) = 2.7 million combinations add no precision worth
#: their cost over C(22, 11) = 705,432.
_MAX_COMBINATIONS = 1_000_000
#: Elements per temporary array in the chunked (vectorized) loops: 2**21 float64 = 16 MiB.
_CHUNK_ELEMENTS = 1 << 21


# ------------------------------------------------------------------------------------------------
# Argument checks: every public function runs these before any work.


def _array(value: Any, name: str, ndim: int | tuple[int, ...]) -> FloatArray:
    """``value`` as a float64 array of ``ndim`` dimensions, non-empty and finite."""
    a: FloatArray = check_float_array(name, value, ndim)
    return a


def _matrix(value: Any, name: str, min_rows: int = 2, min_cols: int = 1) -> FloatArray:
    a = _array(value, name, 2)
    if a.shape[0] < min_rows:
        raise InvalidInputError(f"{name}: needs at least {min_rows} periods (rows), got {a.shape[0]}")
    if a.shape[1] < min_cols:
        raise InvalidInputError(f"{name}: needs at least {min_cols} configurations (columns), got {a.shape[1]}")
    return a


def _int(value: Any, name: str, minimum: int) -> int:
    return check_int(name, value, minimum)


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise InvalidInputError(f"{name}: must be finite, got {x}")
    return x


def _alpha(alpha: Any) -> float:
    a = _float(alpha, "alpha")
    if not 0.0 < a < 1.0:
        raise InvalidInputError(f"alpha: must be in (0, 1), got {a}")
    return a


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    return _int(seed, "seed", 0)


def _mean_block(mean_block: Any, n: int) -> float:
    """The mean block length of the stationary bootstrap; ``None``: n^(1/3) (at least 1), the rate
    of the optimal block length of Politis & White (2004)."""
    if mean_block is None:
        return max(1.0, float(np.cbrt(n)))
    b = _float(mean_block, "mean_block")
    if b < 1.0:
        raise InvalidInputError(f"mean_block: must be >= 1 (a mean block length in periods), got {b}")
    return b


def _n_splits(n_splits: Any, n_periods: int) -> int:
    s = _int(n_splits, "n_splits", 2)
    if s % 2:
        raise InvalidInputError(f"n_splits: must be even (CSCV trains on S/2 blocks, tests on the other S/2), got {s}")
    rows = n_periods // s
    if rows < 1 or rows * (s // 2) < 2:
        raise InvalidInputError(
            f"n_splits: {s} is too large for {n_periods} periods (every block needs at least one period and "
            f"each half at least 2)")
    count = math.comb(s, s // 2)
    if count > _MAX_COMBINATIONS:
        raise InvalidInputError(
            f"n_splits: {s} gives {count:,} combinations, at most {_MAX_COMBINATIONS:,} are allowed")
    return s


def _norm_cdf(z: float) -> float:
    """Φ(z), through erfc so that the lower tail keeps its relative precision."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


# ------------------------------------------------------------------------------------------------
# Sharpe ratio, PSR, DSR


def sharpe_ratio(returns: npt.ArrayLike) -> FloatArray:
    """Per-period Sharpe ratio of each column: mean / std (ddof=1), 0 for a column whose returns
    are all equal.

    ``returns``: T×N (one Sharpe per column, shape ``(N,)``) or a 1-D series (shape ``()``).
    Needs T >= 2. This is the default ``metric`` of :func:`pbo`, which then takes a vectorized path
    over all combinations at once.
    """
    r = _array(returns, "returns", (1, 2))
    if r.shape[0] < 2:
        raise InvalidInputError(f"returns: needs at least 2 periods, got {r.shape[0]}")
    return _sharpe(r)


def _sharpe(r: FloatArray) -> FloatArray:
    mean = r.mean(axis=0)
    sd = r.std(axis=0, ddof=1)
    # "all equal" is tested on the values: the std of ten 0.01s is 1.8e-18, not 0, after rounding
    varies = np.ptp(r, axis=0) > 0
    out: FloatArray = np.divide(mean, sd, out=np.zeros_like(mean), where=varies & (sd > 0))
    return out


def _moments(r: FloatArray) -> tuple[float, int, float, float]:
    """(per-period SR, n, skewness, kurtosis) of a 1-D series; refuses a constant one."""
    n = r.shape[0]
    sd = float(r.std(ddof=1))
    if not (np.ptp(r) > 0 and sd > 0):
        raise InvalidInputError("returns: all returns are equal (zero variance): the Sharpe ratio and its "
                                "distribution are undefined")
    mean = float(r.mean())
    c = r - mean
    m2 = float(np.mean(c * c))
    skew = float(np.mean(c**3)) / m2**1.5
    kurt = float(np.mean(c**4)) / m2**2
    return mean / sd, n, skew, kurt


def _sr_inputs(returns: Any, sr: Any, n: Any, skew: Any, kurtosis: Any, what: str) -> tuple[float, int, float, float]:
    """The (SR, n, skewness, kurtosis) of a PSR/DSR call: from ``returns`` or given as moments."""
    if returns is not None:
        if sr is not None or n is not None:
            raise InvalidInputError(f"{what}: pass either the returns or sr and n (with skew, kurtosis), not both")
        r = _array(returns, what, 1)
        if r.shape[0] < 2:
            raise InvalidInputError(f"{what}: needs at least 2 periods, got {r.shape[0]}")
        return _moments(r)
    if sr is None or n is None:
        raise InvalidInputError(f"{what}: missing: pass the returns, or sr and n (with skew, kurtosis)")
    s = _float(sr, "sr")
    nn = _int(n, "n", 2)
    g3 = _float(skew, "skew")
    g4 = _float(kurtosis, "kurtosis")
    # Pearson's inequality: every distribution has kurtosis >= 1 + skewness^2. Failing it usually
    # means excess kurtosis (0 for a normal) was passed where the kurtosis (3) is expected.
    if g4 < 1.0 + g3 * g3 - 1e-9:
        raise InvalidInputError(f"kurtosis: must be >= 1 + skew^2 = {1.0 + g3 * g3:g} (the kurtosis, not the excess "
                                f"kurtosis: 3 for a normal distribution), got {g4:g}")
    return s, nn, g3, g4


def _psr(sr: float, n: int, skew: float, kurt: float, sr_benchmark: float, what: str) -> float:
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not var > 0:
        raise InvalidInputError(f"{what}: skewness {skew:g} and kurtosis {kurt:g} at SR {sr:g} leave no variance for "
                                f"the Sharpe estimate (1 - skew*SR + (kurtosis-1)/4*SR^2 = {var:g})")
    return _norm_cdf((sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(var))


def probabilistic_sharpe_ratio(
    returns: npt.ArrayLike | None = None,
    *,
    sr: float | None = None,
    n: int | None = None,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sr_benchmark: float = 0.0,
) -> float:
    """Probabilistic Sharpe Ratio: the probability that the true Sharpe ratio exceeds
    ``sr_benchmark``, given the estimate's length and non-normality (Bailey & López de Prado 2012):

        PSR(SR*) = Φ( (SR − SR*)·√(n − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²) )

    with SR the per-period Sharpe ratio over n periods, γ3 the skewness and γ4 the (non-excess)
    kurtosis of the returns.

    Pass either ``returns`` (1-D per-period returns, at least 2, not all equal: SR, skewness and
    kurtosis are estimated from them) or the moments ``sr`` (per period), ``n`` (>= 2), ``skew``
    and ``kurtosis`` (>= 1 + skew², 3 for a normal). ``sr_benchmark`` is per period too.
    """
    s, nn, g3, g4 = _sr_inputs(returns, sr, n, skew, kurtosis, "returns")
    return _psr(s, nn, g3, g4, _float(sr_benchmark, "sr_benchmark"), "returns")


def expected_max_sharpe(n_trials: int, var_trials: float) -> float:
    """Expected maximum of ``n_trials`` independent Sharpe ratio estimates whose true value is 0
    and whose variance across trials is ``var_trials`` (Bailey & López de Prado 2014, from the
    Gumbel limit of the maximum of normals, with γ the Euler–Mascheroni constant):

        E[max SR] ≈ √V · ( (1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)) )

    The unit is that of the Sharpe ratios ``var_trials`` was computed from (per period here). With
    one trial there is no selection and the expected maximum is the mean, 0. With correlated trials
    pass an effective number of independent trials (e.g. the number of clusters of the trials'
    returns, López de Prado 2018) as ``n_trials``.
    """
    nt = _int(n_trials, "n_trials", 1)
    v = _float(var_trials, "var_trials")
    if v < 0:
        raise InvalidInputError(f"var_trials: must be >= 0, got {v}")
    if nt == 1:
        return 0.0
    # Φ⁻¹(1 − p) = −Φ⁻¹(p): exact for any N, where 1 − 1/N would round to 1 for a huge N.
    z1 = -_NORMAL.inv_cdf(1.0 / nt)
    z2 = -_NORMAL.inv_cdf(1.0 / (nt * math.e))
    return math.sqrt(v) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


@dataclasses.dataclass(frozen=True)
class DeflatedSharpeResult:
    """Result of :func:`deflated_sharpe_ratio`. Sharpe ratios are per period.

    Attributes:
        dsr: Deflated Sharpe Ratio, PSR(SR*): the probability that the selected strategy's true
            Sharpe ratio beats the best of ``n_trials`` worthless ones.
        psr: PSR(0): the probability that its true Sharpe ratio is positive, ignoring the search.
        sr: its estimated Sharpe ratio.
        sr_star: SR* = :func:`expected_max_sharpe` (``n_trials``, ``var_trials``).
        n_trials: number of (independent) trials N.
        var_trials: variance of the trials' Sharpe ratios V.
        n_obs: number of returns of the selected strategy.
        skew: their skewness.
        kurtosis: their (non-excess) kurtosis.
    """

    dsr: float
    psr: float
    sr: float
    sr_star: float
    n_trials: int
    var_trials: float
    n_obs: int
    skew: float
    kurtosis: float


def deflated_sharpe_ratio(
    returns_of_best: npt.ArrayLike | None = None,
    trial_sharpes: npt.ArrayLike | None = None,
    *,
    n_trials: int | None = None,
    var_trials: float | None = None,
    sr: float | None = None,
    n: int | None = None,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> DeflatedSharpeResult:
    """Deflated Sharpe Ratio (Bailey & López de Prado 2014): the PSR of the selected strategy
    against SR* = E[max SR] of the trials, instead of against 0:

        DSR = Φ( (SR − SR*)·√(n − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²) ),
        SR* = √V · ( (1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)) )

    The selected strategy: ``returns_of_best`` (1-D per-period returns) or its moments ``sr``,
    ``n``, ``skew``, ``kurtosis`` (as :func:`probabilistic_sharpe_ratio`). The trials: either
    ``trial_sharpes`` (the per-period Sharpe ratio of every trial, the selected one included, at
    least 2: N is their count and V their variance, ddof=1), or ``n_trials`` and ``var_trials``.
    """
    s, nn, g3, g4 = _sr_inputs(returns_of_best, sr, n, skew, kurtosis, "returns_of_best")
    if trial_sharpes is not None:
        if n_trials is not None or var_trials is not None:
            raise InvalidInputError("trial_sharpes: pass either trial_sharpes or n_trials and var_trials, not both")
        t = _array(trial_sharpes, "trial_sharpes", 1)
        if t.shape[0] < 2:
            raise InvalidInputError(
                f"trial_sharpes: needs at least 2 trials to estimate their variance, got {t.shape[0]}")
        nt, v = int(t.shape[0]), float(t.var(ddof=1))
    else:
        if n_trials is None or var_trials is None:
            raise InvalidInputError("trial_sharpes: missing: pass trial_sharpes, or n_trials and var_trials")
        nt = _int(n_trials, "n_trials", 1)
        v = _float(var_trials, "var_trials")
    sr_star = expected_max_sharpe(nt, v)
    return DeflatedSharpeResult(
        dsr=_psr(s, nn, g3, g4, sr_star, "returns_of_best"), psr=_psr(s, nn, g3, g4, 0.0, "returns_of_best"), sr=s,
        sr_star=sr_star, n_trials=nt, var_trials=v, n_obs=nn, skew=g3, kurtosis=g4)


# ------------------------------------------------------------------------------------------------
# PBO by combinatorially symmetric cross-validation


@dataclasses.dataclass(frozen=True, eq=False)
class PBOResult:
    """Result of :func:`pbo`. Arrays have one entry per combination, in the order of
    ``itertools.combinations(range(n_splits), n_splits // 2)`` (the training blocks).

    Attributes:
        pbo: Probability of Backtest Overfitting: the share of combinations whose logit is <= 0,
            i.e. where the in-sample best configuration ranks at or below the out-of-sample median.
        logits: λ_c = ln(ω̄_c / (1 − ω̄_c)).
        oos_rank: ω̄_c = (out-of-sample rank of the in-sample best, 1 = worst) / (N + 1).
        best_is: n*_c, the column that is best in sample.
        is_performance: its in-sample metric.
        oos_performance: its out-of-sample metric.
        degradation_slope: β of the least-squares line oos_performance = α + β·is_performance
            (negative: the better in sample, the worse out of sample); NaN when is_performance is
            the same in every combination.
        degradation_intercept: α of that line (NaN with β).
        prob_oos_loss: share of combinations whose out-of-sample metric is < 0.
        n_splits: S.
        n_combinations: C(S, S/2).
        n_periods_used: rows used, S·⌊T/S⌋ (the T mod S oldest rows are left out).
    """

    pbo: float
    logits: FloatArray
    oos_rank: FloatArray
    best_is: IntArray
    is_performance: FloatArray
    oos_performance: FloatArray
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float
    n_splits: int
    n_combinations: int
    n_periods_used: int


def _combination_matrix(s: int) -> tuple[IntArray, IntArray]:
    """The C(S, S/2) training block sets in ``itertools.combinations`` order and their
    complements (the test sets)."""
    combos = np.array(list(itertools.combinations(range(s), s // 2)), dtype=np.intp)
    train = np.zeros((combos.shape[0], s), dtype=np.float64)
    np.put_along_axis(train, combos, 1.0, axis=1)
    tests = np.nonzero(train == 0.0)[1].reshape(combos.shape[0], s - s // 2).astype(np.intp)
    return combos, tests


class _BlockMoments:
    """Per-block moments of an (S, rows, N) array, from which the Sharpe ratio of every column
    over any union of blocks follows without touching the rows again."""

    def __init__(self, blocks: FloatArray) -> None:
        self.rows, self.n = blocks.shape[1], blocks.shape[2]
        mean = blocks.mean(axis=1)
        m2 = ((blocks - mean[:, None, :]) ** 2).sum(axis=1)
        self.max = blocks.max(axis=1)
        varies = (self.max > blocks.min(axis=1)).astype(np.float64)
        # one S × 4N matrix: a single product gives every sum a union needs
        self.stacked = np.concatenate([mean, m2, mean * mean, varies], axis=1)
        self.totals = self.stacked.sum(axis=0)

    def sharpe(self, train: IntArray, test: IntArray) -> tuple[FloatArray, FloatArray]:
        """Sharpe of every column over the union of the ``train`` blocks (combinations × h) and
        over the union of the ``test`` blocks, its complement. The test sums are the totals minus
        the training sums.

        The training sums add the blocks' rows one after the other, in the combination's order:
        each sum is the same whatever the batch it is computed in (a matrix product would pick
        its kernel, and so its order of additions, by the batch's size)."""
        tr = self.stacked[train[:, 0]].copy()
        for j in range(1, train.shape[1]):
            tr += self.stacked[train[:, j]]
        return self._sharpe(tr, train), self._sharpe(self.totals - tr, test)

    def _sharpe(self, sums: FloatArray, members: IntArray) -> FloatArray:
        """M2 by Chan, Golub & LeVeque's pairwise update, M2 = Σ M2_b + rows·(Σ mean_b² −
        (Σ mean_b)²/h). A column whose values are all equal over the union has SR 0, as in
        :func:`sharpe_ratio`, decided on the values so that rounding cannot make it a huge ratio:
        the union varies if one of its blocks does, or else if the blocks' (constant) values
        differ."""
        n, h = self.n, members.shape[1]
        total = sums[:, :n]
        m2 = sums[:, n:2 * n] + self.rows * np.maximum(sums[:, 2 * n:3 * n] - total * total / h, 0.0)
        mean = total / h
        sd = np.sqrt(m2 / (h * self.rows - 1))
        varies = sums[:, 3 * n:] > 0.5
        ci, ni = np.nonzero(~varies)
        if ci.size:
            values = self.max[members[ci], ni[:, None]]
            varies[ci, ni] = values.max(axis=1) > values.min(axis=1)
        out: FloatArray = np.divide(mean, sd, out=np.zeros_like(mean), where=varies & (sd > 0))
        return out


def pbo(
    matrix: npt.ArrayLike,
    n_splits: int = 16,
    metric: Callable[[FloatArray], npt.ArrayLike] = sharpe_ratio,
) -> PBOResult:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV,
    Bailey, Borwein, López de Prado & Zhu 2015).

    ``matrix`` is T×N per-period returns (T periods, N >= 2 configurations). Its rows are cut into
    S = ``n_splits`` consecutive blocks of ⌊T/S⌋ rows (the T mod S oldest rows are left out). For
    each of the C(S, S/2) ways c to choose S/2 blocks as the training set J (the other S/2 are the
    test set J̄, both kept in time order):

    1. R = metric(J), R̄ = metric(J̄) (one value per configuration, higher is better);
    2. n* = argmax R (the first on a tie), the configuration the search would pick;
    3. ω̄_c = rank of R̄[n*] among R̄ (1 = worst; ties get their average rank) / (N + 1);
    4. λ_c = ln(ω̄_c / (1 − ω̄_c)).

    PBO = #{c : λ_c <= 0} / C(S, S/2). Also returned: the performance degradation (the slope of
    R̄[n*] on R[n*] across combinations) and the probability of an out-of-sample loss, R̄[n*] < 0.

    ``n_splits`` must be even, leave each half at least 2 rows, and give at most 1,000,000
    combinations (S <= 22). ``metric`` takes a (rows × N) array and returns N values; the default,
    :func:`sharpe_ratio`, runs vectorized over all combinations at once from per-block moments,
    any other metric is called twice per combination.
    """
    m = _matrix(matrix, "matrix", min_rows=2, min_cols=2)
    if not callable(metric):
        raise InvalidInputError(f"metric: expected a callable, got {type(metric).__name__}")
    t, n = m.shape
    s = _n_splits(n_splits, t)
    rows, h = t // s, s // 2
    used = rows * s
    blocks = m[t - used:].reshape(s, rows, n)
    combos, tests = _combination_matrix(s)
    n_c = combos.shape[0]
    chunk = max(1, min(n_c, _CHUNK_ELEMENTS // (4 * n)))

    logits = np.empty(n_c)
    ranks = np.empty(n_c)
    best = np.empty(n_c, dtype=np.intp)
    is_perf = np.empty(n_c)
    oos_perf = np.empty(n_c)

    moments = _BlockMoments(blocks) if metric is sharpe_ratio else None
    for lo in range(0, n_c, chunk):
        hi = min(n_c, lo + chunk)
        if moments is not None:
            r_is, r_oos = moments.sharpe(combos[lo:hi], tests[lo:hi])
        else:
            r_is = np.empty((hi - lo, n))
            r_oos = np.empty((hi - lo, n))
            for j, c in enumerate(range(lo, hi)):
                r_is[j] = _metric_values(metric, blocks[combos[c]].reshape(-1, n), n)
                r_oos[j] = _metric_values(metric, blocks[tests[c]].reshape(-1, n), n)
        k = np.argmax(r_is, axis=1)
        at = np.arange(hi - lo)
        chosen = r_oos[at, k]
        below = (r_oos < chosen[:, None]).sum(axis=1)
        ties = (r_oos == chosen[:, None]).sum(axis=1)
        w = (below + (ties + 1) / 2.0) / (n + 1)
        ranks[lo:hi] = w
        logits[lo:hi] = np.log(w / (1.0 - w))
        best[lo:hi] = k
        is_perf[lo:hi] = r_is[at, k]
        oos_perf[lo:hi] = chosen

    x = is_perf - is_perf.mean()
    sxx = float(x @ x)
    if sxx > 0:
        slope = float(x @ (oos_perf - oos_perf.mean())) / sxx
        intercept = float(oos_perf.mean()) - slope * float(is_perf.mean())
    else:
        slope = intercept = math.nan
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)), logits=logits, oos_rank=ranks, best_is=best, is_performance=is_perf,
        oos_performance=oos_perf, degradation_slope=slope, degradation_intercept=intercept,
        prob_oos_loss=float(np.mean(oos_perf < 0.0)), n_splits=s, n_combinations=n_c, n_periods_used=used)


def _metric_values(metric: Callable[[FloatArray], npt.ArrayLike], x: FloatArray, n: int) -> FloatArray:
    v = np.asarray(metric(x), dtype=np.float64)
    if v.shape != (n,):
        raise InvalidInputError(f"metric: must return one value per configuration, shape ({n},), got shape {v.shape}")
    if np.isnan(v).any():
        raise InvalidInputError("metric: returned NaN")
    return v


# ------------------------------------------------------------------------------------------------
# Stationary bootstrap, Reality Check, SPA


def stationary_bootstrap_indices(draws: npt.ArrayLike, mean_block: float) -> IntArray:
    """Row indices of stationary-bootstrap resamples (Politis & Romano 1994) from uniform draws.

    ``draws`` has shape (B, 2, T): for resample b, ``u = draws[b, 0]`` and ``v = draws[b, 1]``, T
    uniforms each on [0, 1). With p = 1 / ``mean_block``, index 0 is ⌊v[0]·T⌋; index t >= 1 starts
    a new block at ⌊v[t]·T⌋ when u[t] < p and otherwise continues the block, (index[t−1] + 1) mod
    T (the series is wrapped into a circle). Block lengths are thus geometric with mean
    ``mean_block``. Returns (B, T) indices.

    :func:`reality_check` and :func:`spa_test` draw, from ``numpy.random.default_rng(seed)``, each
    resample's 2T uniforms in turn (``rng.random((B, 2, T))`` for B resamples, in batches that do
    not change the stream): the same seed gives the same resamples.
    """
    d = np.asarray(draws, dtype=np.float64)
    if d.ndim != 3 or d.shape[1] != 2 or d.shape[2] < 1:
        raise InvalidInputError(f"draws: expected shape (B, 2, T), got {d.shape}")
    if not ((d >= 0.0) & (d < 1.0)).all():
        raise InvalidInputError("draws: must be uniforms in [0, 1)")
    b = _float(mean_block, "mean_block")
    if b < 1.0:
        raise InvalidInputError(f"mean_block: must be >= 1, got {b}")
    return _sb_indices(d, 1.0 / b)


def _sb_indices(draws: FloatArray, p: float) -> IntArray:
    t = draws.shape[2]
    start = np.minimum((draws[:, 1, :] * t).astype(np.intp), t - 1)
    return stationary_walk(start, draws[:, 0, :] < p, t)


def stationary_walk(starts: npt.NDArray[np.integer[Any]], new: npt.NDArray[np.bool_], n_obs: int) -> IntArray:
    """The stationary bootstrap's indices (Politis & Romano 1994) from its draws, shape (B, L):
    step t starts a block at ``starts[:, t]`` where ``new[:, t]`` (always at step 0), else takes
    the observation after the previous one, wrapping at ``n_obs``. The one implementation behind
    :func:`stationary_bootstrap_indices` and :func:`trader.research.montecarlo.bootstrap_indices`."""
    t = new.shape[1]
    pos = np.arange(t, dtype=np.intp)
    new = np.array(new, dtype=bool)
    new[:, 0] = True
    last = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    idx: IntArray = (np.take_along_axis(np.asarray(starts, dtype=np.intp), last, axis=1) + (pos - last)) % n_obs
    return idx


def _bootstrap_max(d: FloatArray, n_boot: int, mean_block: float, seed: int | None,
                   centers: list[FloatArray], scales: list[FloatArray]) -> FloatArray:
    """For each (center, scale): the B bootstrap values max_k √T·(d̄*_k − center_k)/scale_k over
    the columns with a finite positive scale (−inf when there is none). Means of resamples are
    computed as (counts of each row) @ d / T, in batches of resamples."""
    t, k = d.shape
    rng = np.random.default_rng(seed)
    p = 1.0 / mean_block
    root = math.sqrt(t)
    out = np.full((len(centers), n_boot), -np.inf)
    usable = [np.isfinite(sc) & (sc > 0) for sc in scales]
    batch = max(1, min(n_boot, _CHUNK_ELEMENTS // max(t, k)))
    for lo in range(0, n_boot, batch):
        c = min(batch, n_boot - lo)
        idx = _sb_indices(rng.random((c, 2, t)), p)
        flat = (idx + (np.arange(c, dtype=np.intp) * t)[:, None]).ravel()
        counts = np.bincount(flat, minlength=c * t).reshape(c, t).astype(np.float64)
        means = counts @ d / t
        for j, (center, scale) in enumerate(zip(centers, scales)):
            ok = usable[j]
            if ok.any():
                z = (means[:, ok] - center[ok]) * (root / scale[ok])
                out[j, lo:lo + c] = z.max(axis=1)
    return out


def _spa_omega2(d: FloatArray, mean_block: float) -> FloatArray:
    """Hansen's (2005) estimate of ω²_k = Var(√T·d̄_k) matched to the stationary bootstrap:

        ω̂² = γ̂_0 + 2·Σ_{i=1}^{T−1} κ(T, i)·γ̂_i,
        κ(T, i) = (1 − i/T)(1 − q)^i + (i/T)(1 − q)^(T−i),

    q = 1/mean_block, γ̂_i = T⁻¹·Σ_{t} (d_t − d̄)(d_{t+i} − d̄). It equals the exact variance of
    √T·d̄* under the stationary bootstrap (Politis & Romano 1994, Lemma 1, with the circular
    autocovariances split into γ̂_i + γ̂_(T−i)), so it is >= 0 and 0 only for a constant column.
    Autocovariances by FFT, in batches of columns."""
    t, k = d.shape
    x = d - d.mean(axis=0)
    q = 1.0 / mean_block
    i = np.arange(t, dtype=np.float64)
    with np.errstate(under="ignore"):
        kappa = (1.0 - i / t) * (1.0 - q) ** i + (i / t) * (1.0 - q) ** (t - i)
    w = 2.0 * kappa
    w[0] = 1.0
    nfft = 1 << (2 * t - 1).bit_length()
    out = np.empty(k)
    step = max(1, _CHUNK_ELEMENTS // nfft)
    for lo in range(0, k, step):
        f = np.fft.rfft(x[:, lo:lo + step], n=nfft, axis=0)
        acov = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[:t] / t
        out[lo:lo + step] = w @ acov
    return out


def _differentials(data: Any, benchmark: Any, losses: bool, name: str) -> FloatArray:
    """d_{t,k}: how much strategy k beats the benchmark in period t (returns: r − b; losses: b − L)."""
    x = _matrix(data, name, min_rows=3)
    if benchmark is None:
        b: FloatArray | float = 0.0
    elif np.ndim(benchmark) == 0:
        b = _float(benchmark, "benchmark")
    else:
        b = _array(benchmark, "benchmark", 1)
        if b.shape[0] != x.shape[0]:
            raise InvalidInputError(f"benchmark: has {b.shape[0]} periods, {name} has {x.shape[0]}")
        b = b[:, None]
    if not isinstance(losses, (bool, np.bool_)):
        raise InvalidInputError(f"losses: expected True or False, got {losses!r}")
    out: FloatArray = (b - x) if losses else (x - b)
    return out


@dataclasses.dataclass(frozen=True)
class RealityCheckResult:
    """Result of :func:`reality_check`.

    Attributes:
        pvalue: White's Reality Check p-value for H0: no strategy beats the benchmark,
            #{b : V*_b > V} / n_boot.
        statistic: V = max_k √T·d̄_k.
        best_index: the strategy with the largest mean differential d̄_k.
        n_boot: number of bootstrap resamples.
        mean_block: mean block length of the stationary bootstrap.
    """

    pvalue: float
    statistic: float
    best_index: int
    n_boot: int
    mean_block: float


@dataclasses.dataclass(frozen=True)
class SPAResult:
    """Result of :func:`spa_test`; p-values satisfy lower <= consistent <= upper.

    Attributes:
        pvalue: Hansen's consistent SPA p-value for H0: no strategy beats the benchmark.
        pvalue_lower: the lower bound (recentering only strategies that beat the benchmark).
        pvalue_upper: the upper bound (recentering every strategy: a studentized Reality Check).
        statistic: T_SPA = max(0, max_k √T·d̄_k / ω̂_k).
        best_index: the strategy with the largest studentized mean √T·d̄_k / ω̂_k.
        n_boot: number of bootstrap resamples.
        mean_block: mean block length of the stationary bootstrap.
    """

    pvalue: float
    pvalue_lower: float
    pvalue_upper: float
    statistic: float
    best_index: int
    n_boot: int
    mean_block: float


def _rc_spa(d: FloatArray, n_boot: int, mean_block: float, seed: int | None, *, rc: bool,
            spa: bool) -> tuple[RealityCheckResult | None, SPAResult | None]:
    """Reality Check and/or SPA on the differentials ``d`` from one set of bootstrap resamples."""
    t = d.shape[0]
    root = math.sqrt(t)
    dbar = d.mean(axis=0)
    centers: list[FloatArray] = []
    scales: list[FloatArray] = []
    if rc:
        centers.append(dbar)
        scales.append(np.ones_like(dbar))
    if spa:
        omega2 = _spa_omega2(d, mean_block)
        flat = np.ptp(d, axis=0) == 0
        live = ~flat & (omega2 > 0)
        omega = np.where(live, np.sqrt(np.where(live, omega2, 1.0)), np.nan)
        tstat = np.full_like(dbar, -np.inf)
        tstat[live] = root * dbar[live] / omega[live]
        # A constant differential: no sampling variance; a positive one is a sure win.
        tstat[~live & (dbar > 0)] = np.inf
        threshold = -math.sqrt(2.0 * math.log(math.log(t)))
        centers += [np.maximum(dbar, 0.0), np.where(tstat >= threshold, dbar, 0.0), dbar]
        scales += [omega] * 3
    boot = _bootstrap_max(d, n_boot, mean_block, seed, centers, scales)
    rc_out = spa_out = None
    if rc:
        v = root * float(dbar.max())
        rc_out = RealityCheckResult(pvalue=float(np.mean(boot[0] > v)), statistic=v, best_index=int(np.argmax(dbar)),
                                    n_boot=n_boot, mean_block=mean_block)
    if spa:
        stat = max(0.0, float(tstat.max()))
        # T_SPA = 0 (no strategy ahead of the benchmark in sample): p = 1. Counting only T* > 0
        # there would report p ≈ 0 when every strategy is far behind (their T* are all 0 too).
        lower, consistent, upper = (float(np.mean(np.maximum(boot[j], 0.0) > stat)) if stat > 0 else 1.0
                                    for j in range(len(centers) - 3, len(centers)))
        spa_out = SPAResult(pvalue=consistent, pvalue_lower=lower, pvalue_upper=upper, statistic=stat,
                            best_index=int(np.argmax(tstat)), n_boot=n_boot, mean_block=mean_block)
    return rc_out, spa_out


def reality_check(
    data: npt.ArrayLike,
    benchmark: npt.ArrayLike | float | None = None,
    *,
    losses: bool = False,
    n_boot: int = 1000,
    mean_block: float | None = None,
    seed: int | None = None,
) -> RealityCheckResult:
    """White's (2000) Reality Check for data snooping: does any of K strategies beat the
    benchmark, once the search over all K is accounted for?

    ``data`` is T×K (T >= 3): per-period returns (higher is better), or losses with
    ``losses=True`` (lower is better). ``benchmark``: None (0), a number, or T per-period values in
    the same unit. Differentials d_{t,k} = r_{t,k} − b_t (returns) or b_t − L_{t,k} (losses);
    H0: max_k E[d_k] <= 0.

        V = max_k √T·d̄_k,   V*_b = max_k √T·(d̄*_{k,b} − d̄_k),   p = #{b : V*_b > V} / B

    with d̄*_{·,b} the column means of the b-th stationary-bootstrap resample of the rows (mean
    block length ``mean_block``, default T^(1/3); B = ``n_boot`` >= 1; draws from
    ``numpy.random.default_rng(seed)`` as :func:`stationary_bootstrap_indices` specifies).
    """
    d = _differentials(data, benchmark, losses, "data")
    nb = _int(n_boot, "n_boot", 1)
    mb = _mean_block(mean_block, d.shape[0])
    rc, _ = _rc_spa(d, nb, mb, _seed(seed), rc=True, spa=False)
    assert rc is not None
    return rc


def spa_test(
    data: npt.ArrayLike,
    benchmark: npt.ArrayLike | float | None = None,
    *,
    losses: bool = False,
    n_boot: int = 1000,
    mean_block: float | None = None,
    seed: int | None = None,
) -> SPAResult:
    """Hansen's (2005) test of Superior Predictive Ability: the Reality Check studentized, and
    with poor strategies kept from inflating the null distribution.

    Arguments and differentials d_{t,k} as in :func:`reality_check`. With ω̂_k² Hansen's kernel
    estimate of Var(√T·d̄_k) for the stationary bootstrap (q = 1/``mean_block``):

        T_SPA = max(0, max_k √T·d̄_k / ω̂_k)
        T*_b  = max(0, max_k √T·(d̄*_{k,b} − g(d̄_k)) / ω̂_k),   p = #{b : T*_b > T_SPA} / B

    with the recentering g of the three p-values: lower g(x) = max(x, 0); consistent
    g(x_k) = x_k·1{√T·x_k/ω̂_k >= −√(2·ln ln T)}; upper g(x) = x. When T_SPA = 0 (no strategy
    ahead of the benchmark in sample) all three p-values are 1. A strategy whose differential is
    constant has ω̂ = 0: it is left out of the bootstrap, and makes T_SPA infinite (p = 0) if it is
    positive.
    """
    d = _differentials(data, benchmark, losses, "data")
    nb = _int(n_boot, "n_boot", 1)
    mb = _mean_block(mean_block, d.shape[0])
    _, spa = _rc_spa(d, nb, mb, _seed(seed), rc=False, spa=True)
    assert spa is not None
    return spa


# ------------------------------------------------------------------------------------------------
# Multiple-testing corrections


@dataclasses.dataclass(frozen=True, eq=False)
class MultipleTestingResult:
    """Result of :func:`bonferroni`, :func:`holm` and :func:`benjamini_hochberg`.

    Attributes:
        pvalues_adjusted: adjusted p-values, in the order of the input, capped at 1.
        reject: True where the hypothesis is rejected at ``alpha``.
        alpha: the family-wise error rate (Bonferroni, Holm) or false discovery rate (BH).
        method: "bonferroni", "holm" or "fdr_bh" (statsmodels' names).
    """

    pvalues_adjusted: FloatArray
    reject: BoolArray
    alpha: float
    method: str


def _pvalues(pvalues: Any) -> FloatArray:
    p = _array(pvalues, "pvalues", 1)
    if (p < 0).any() or (p > 1).any():
        i = int(np.argmax((p < 0) | (p > 1)))
        raise InvalidInputError(f"pvalues: must be in [0, 1], got {p[i]} at index {i}")
    return p


def bonferroni(pvalues: npt.ArrayLike, alpha: float = 0.05) -> MultipleTestingResult:
    """Bonferroni: p̃_i = min(1, m·p_i); reject where p_i <= alpha/m (controls the FWER)."""
    p = _pvalues(pvalues)
    a = _alpha(alpha)
    m = p.shape[0]
    return MultipleTestingResult(np.minimum(p * m, 1.0), p <= a / m, a, "bonferroni")


def holm(pvalues: npt.ArrayLike, alpha: float = 0.05) -> MultipleTestingResult:
    """Holm's step-down procedure (Holm 1979), controls the FWER. With p_(1) <= ... <= p_(m):

        p̃_(i) = min(1, max_{j <= i} (m − j + 1)·p_(j))

    reject H_(1..i) for the largest i with p_(j) <= alpha/(m − j + 1) for every j <= i.
    """
    p = _pvalues(pvalues)
    a = _alpha(alpha)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    ps = p[order]
    factor = np.arange(m, 0, -1, dtype=np.float64)
    adj_sorted = np.minimum(np.maximum.accumulate(ps * factor), 1.0)
    fail = np.flatnonzero(ps > a / factor)
    rej_sorted = np.arange(m) < (fail[0] if fail.size else m)
    return _unsort(order, adj_sorted, rej_sorted, a, "holm")


def benjamini_hochberg(pvalues: npt.ArrayLike, alpha: float = 0.05) -> MultipleTestingResult:
    """Benjamini–Hochberg step-up procedure (1995), controls the FDR under independence or
    positive dependence. With p_(1) <= ... <= p_(m):

        p̃_(i) = min(1, min_{j >= i} m·p_(j) / j)

    reject H_(1..k) for the largest k with p_(k) <= k·alpha/m.
    """
    p = _pvalues(pvalues)
    a = _alpha(alpha)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    ps = p[order]
    rank = np.arange(1, m + 1, dtype=np.float64)
    adj_sorted = np.minimum(np.minimum.accumulate((ps * m / rank)[::-1])[::-1], 1.0)
    passed = np.flatnonzero(ps <= rank / m * a)
    rej_sorted = np.arange(m) <= (passed[-1] if passed.size else -1)
    return _unsort(order, adj_sorted, rej_sorted, a, "fdr_bh")


def _unsort(order: IntArray, adj_sorted: FloatArray, rej_sorted: BoolArray, alpha: float,
            method: str) -> MultipleTestingResult:
    adj = np.empty_like(adj_sorted)
    adj[order] = adj_sorted
    rej = np.empty_like(rej_sorted)
    rej[order] = rej_sorted
    return MultipleTestingResult(adj, rej, alpha, method)


# ------------------------------------------------------------------------------------------------
# The report of a sweep


@dataclasses.dataclass(frozen=True, eq=False)
class OverfittingReport:
    """What :func:`overfitting_report` says about the best configuration of a sweep.

    Attributes:
        n_periods: T, the number of return periods.
        n_trials: N, the number of configurations (each counted as one independent trial).
        periods_per_year: the annualization factor given.
        best_index: column of the best configuration: the highest Sharpe ratio among the columns
            whose returns are not all equal.
        sharpe: its per-period Sharpe ratio.
        sharpe_annual: sharpe·√periods_per_year.
        trial_sharpes: per-period Sharpe ratio of every configuration (0 for constant columns).
        var_trials: their variance (ddof=1), the V of the DSR.
        psr: PSR(0) of the best: probability that its true Sharpe ratio is > 0, ignoring the search.
        sr_star: expected maximum per-period Sharpe ratio of N worthless trials (the DSR benchmark).
        sr_star_annual: sr_star·√periods_per_year.
        dsr: Deflated Sharpe Ratio: probability that its true Sharpe ratio beats sr_star.
        pbo: Probability of Backtest Overfitting (CSCV, Sharpe ratio as the metric).
        degradation_slope: slope of out-of-sample on in-sample Sharpe of the CSCV-selected
            configuration (negative: in-sample success predicts out-of-sample failure).
        prob_oos_loss: share of CSCV combinations whose selected configuration has an
            out-of-sample Sharpe ratio < 0.
        reality_check_pvalue: White's Reality Check p-value for H0: no configuration has a
            positive mean return.
        spa_pvalue: Hansen's consistent SPA p-value for the same H0.
        deflated: the full :class:`DeflatedSharpeResult`.
        cscv: the full :class:`PBOResult`.
        reality: the full :class:`RealityCheckResult`.
        spa: the full :class:`SPAResult` (with the lower and upper p-values).
    """

    n_periods: int
    n_trials: int
    periods_per_year: float
    best_index: int
    sharpe: float
    sharpe_annual: float
    trial_sharpes: FloatArray
    var_trials: float
    psr: float
    sr_star: float
    sr_star_annual: float
    dsr: float
    pbo: float
    degradation_slope: float
    prob_oos_loss: float
    reality_check_pvalue: float
    spa_pvalue: float
    deflated: DeflatedSharpeResult
    cscv: PBOResult
    reality: RealityCheckResult
    spa: SPAResult


def overfitting_report(
    trial_returns: npt.ArrayLike,
    periods_per_year: float,
    *,
    n_splits: int = 16,
    n_boot: int = 1000,
    mean_block: float | None = None,
    seed: int | None = 0,
) -> OverfittingReport:
    """Every overfitting statistic of this module for a sweep's T×N per-period returns (T periods,
    N >= 2 configurations, one column each).

    The best configuration is the column with the highest per-period Sharpe ratio (columns whose
    returns are all equal, e.g. a configuration that never traded, count as trials with SR 0 but
    are not selected). Reported: its Sharpe ratio (per period and annualized with
    ``periods_per_year``), PSR(0), the DSR with N = number of columns and V = variance of their
    Sharpe ratios, PBO by CSCV with ``n_splits`` blocks, and the Reality Check and SPA p-values of
    "some configuration has a positive mean return" from one stationary bootstrap (``n_boot``,
    ``mean_block`` default T^(1/3), ``seed`` fixed by default so a report is reproducible).
    """
    m = _matrix(trial_returns, "trial_returns", min_rows=3, min_cols=2)
    ppy = _float(periods_per_year, "periods_per_year")
    if ppy <= 0:
        raise InvalidInputError(f"periods_per_year: must be > 0, got {ppy}")
    t, n = m.shape
    s = _n_splits(n_splits, t)
    nb = _int(n_boot, "n_boot", 1)
    mb = _mean_block(mean_block, t)
    sd = _seed(seed)
    varies = np.ptp(m, axis=0) > 0
    if not varies.any():
        raise InvalidInputError("trial_returns: every configuration's returns are constant: no Sharpe ratio to test")

    sharpes = _sharpe(m)
    best = int(np.argmax(np.where(varies, sharpes, -np.inf)))
    var_trials = float(sharpes.var(ddof=1))
    deflated = deflated_sharpe_ratio(m[:, best], n_trials=n, var_trials=var_trials)
    cscv = pbo(m, n_splits=s)
    rc, spa = _rc_spa(m, nb, mb, sd, rc=True, spa=True)
    assert rc is not None and spa is not None
    root = math.sqrt(ppy)
    return OverfittingReport(
        n_periods=t, n_trials=n, periods_per_year=ppy, best_index=best, sharpe=deflated.sr,
        sharpe_annual=deflated.sr * root, trial_sharpes=sharpes, var_trials=var_trials, psr=deflated.psr,
        sr_star=deflated.sr_star, sr_star_annual=deflated.sr_star * root, dsr=deflated.dsr, pbo=cscv.pbo,
        degradation_slope=cscv.degradation_slope, prob_oos_loss=cscv.prob_oos_loss, reality_check_pvalue=rc.pvalue,
        spa_pvalue=spa.pvalue, deflated=deflated, cscv=cscv, reality=rc, spa=spa)
