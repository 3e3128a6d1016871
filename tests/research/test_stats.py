"""Overfitting statistics (``trader.research.stats``) against the papers' worked example and
against independent reference implementations written here with plain loops.

Every reference below re-derives its statistic from the definition in the cited paper, with
Python loops over lists (or a different formulation of the same quantity), so it shares no code
path with the vectorized module: PSR through Mertens' form of the Sharpe ratio's variance and
``NormalDist``; PBO by looping over ``itertools.combinations``; the stationary bootstrap one index
at a time; Hansen's ω̂² from lag-by-lag autocovariances; the corrections from their min/max
definitions. All randomness is seeded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from trader.exceptions import InvalidInputError
from trader.research import stats
from trader.research.stats import (
    benjamini_hochberg,
    bonferroni,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    holm,
    overfitting_report,
    pbo,
    probabilistic_sharpe_ratio,
    reality_check,
    sharpe_ratio,
    spa_test,
    stationary_bootstrap_indices,
)

GAMMA = 0.5772156649015329  # Euler–Mascheroni


# ------------------------------------------------------------------------------------------------
# Reference implementations


def ref_sharpe(xs: Sequence[float]) -> float:
    n = len(xs)
    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return mean / sd if sd > 0 else 0.0


def ref_moments(xs: Sequence[float]) -> tuple[float, int, float, float]:
    n = len(xs)
    mean = sum(xs) / n
    dev = [x - mean for x in xs]
    m2 = sum(d * d for d in dev) / n
    m3 = sum(d**3 for d in dev) / n
    m4 = sum(d**4 for d in dev) / n
    return ref_sharpe(xs), n, m3 / m2**1.5, m4 / m2**2


def ref_psr(sr: float, n: int, skew: float, kurt: float, sr_star: float) -> float:
    # Mertens (2002) writes the variance of the SR estimate as (1 + SR²/2 − γ3·SR + (γ4 − 3)/4·SR²)/T,
    # the same quantity as Bailey & López de Prado's 1 − γ3·SR + (γ4 − 1)/4·SR² (over T − 1, their
    # choice). PSR = P[N(SR*, σ²) <= SR].
    sigma = math.sqrt((1 + sr * sr / 2 - skew * sr + (kurt - 3) / 4 * sr * sr) / (n - 1))
    return NormalDist(mu=sr_star, sigma=sigma).cdf(sr)


def ref_expected_max(n: int, v: float) -> float:
    nd = NormalDist()
    return math.sqrt(v) * ((1 - GAMMA) * nd.inv_cdf(1 - 1 / n) + GAMMA * nd.inv_cdf(1 - 1 / (n * math.e)))


def ref_pbo(m: np.ndarray, s: int, metric: Callable[[Sequence[float]], float]) -> dict[str, Any]:
    """CSCV exactly as Bailey, Borwein, López de Prado & Zhu (2015) list it, one combination,
    one configuration at a time."""
    t, n = m.shape
    rows = t // s
    data = m[t - rows * s:].tolist()  # the T mod S oldest rows are left out (module's convention)
    blocks = [data[i * rows:(i + 1) * rows] for i in range(s)]
    logits, best, is_perf, oos_perf = [], [], [], []
    for train in itertools.combinations(range(s), s // 2):
        test = [b for b in range(s) if b not in train]
        tr = [row for b in train for row in blocks[b]]
        te = [row for b in test for row in blocks[b]]
        r = [metric([row[j] for row in tr]) for j in range(n)]
        rb = [metric([row[j] for row in te]) for j in range(n)]
        nstar = max(range(n), key=lambda j: r[j])  # first maximum
        below = sum(1 for j in range(n) if rb[j] < rb[nstar])
        equal = sum(1 for j in range(n) if rb[j] == rb[nstar])
        omega = (below + (equal + 1) / 2) / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
        best.append(nstar)
        is_perf.append(r[nstar])
        oos_perf.append(rb[nstar])
    k = len(logits)
    mx, my = sum(is_perf) / k, sum(oos_perf) / k
    sxy = sum((x - mx) * (y - my) for x, y in zip(is_perf, oos_perf))
    sxx = sum((x - mx) ** 2 for x in is_perf)
    return {
        "pbo": sum(1 for lam in logits if lam <= 0) / k,
        "logits": logits,
        "best": best,
        "is": is_perf,
        "oos": oos_perf,
        "slope": sxy / sxx,
        "loss": sum(1 for y in oos_perf if y < 0) / k,
    }


def ref_sb_indices(rng: np.random.Generator, t: int, n_boot: int, mean_block: float) -> list[list[int]]:
    """Politis & Romano's stationary bootstrap, one index at a time, from the draws the module
    documents: per resample T uniforms u (new block when u < 1/mean_block) then T uniforms v
    (block start ⌊v·T⌋)."""
    p = 1 / mean_block
    out = []
    for _ in range(n_boot):
        u = rng.random(t)
        v = rng.random(t)
        idx: list[int] = []
        for i in range(t):
            if i == 0 or u[i] < p:
                idx.append(min(int(v[i] * t), t - 1))
            else:
                idx.append((idx[-1] + 1) % t)
        out.append(idx)
    return out


def ref_omega2(col: Sequence[float], mean_block: float) -> float:
    """Hansen (2005): ω̂² = γ̂0 + 2·Σ_{i=1}^{n−1} κ(n, i)·γ̂_i,
    κ(n, i) = (1 − i/n)(1 − q)^i + (i/n)(1 − q)^(n−i)."""
    n = len(col)
    q = 1 / mean_block
    mean = sum(col) / n
    x = [c - mean for c in col]
    total = sum(a * a for a in x) / n
    for i in range(1, n):
        gamma_i = sum(x[j] * x[j + i] for j in range(n - i)) / n
        kappa = (1 - i / n) * (1 - q) ** i + (i / n) * (1 - q) ** (n - i)
        total += 2 * kappa * gamma_i
    return total


def ref_rc_spa(data: np.ndarray, benchmark: Any, losses: bool, n_boot: int, mean_block: float,
               seed: int) -> dict[str, float]:
    """White's RC and Hansen's SPA from their definitions, with loops over resamples and strategies."""
    x = data.tolist()
    t, k = data.shape
    if benchmark is None:
        b = [0.0] * t
    elif np.ndim(benchmark) == 0:
        b = [float(benchmark)] * t
    else:
        b = [float(v) for v in benchmark]
    d = [[(b[i] - x[i][j]) if losses else (x[i][j] - b[i]) for j in range(k)] for i in range(t)]
    cols = [[d[i][j] for i in range(t)] for j in range(k)]
    dbar = [sum(c) / t for c in cols]
    omega = [math.sqrt(ref_omega2(c, mean_block)) for c in cols]
    root = math.sqrt(t)
    tstat = [root * dbar[j] / omega[j] for j in range(k)]
    thr = -math.sqrt(2 * math.log(math.log(t)))
    g_lower = [max(m, 0.0) for m in dbar]
    g_cons = [dbar[j] if tstat[j] >= thr else 0.0 for j in range(k)]
    v_rc = max(root * m for m in dbar)
    t_spa = max(0.0, max(tstat))
    rng = np.random.default_rng(seed)
    hits = {"rc": 0, "lower": 0, "consistent": 0, "upper": 0}
    for idx in ref_sb_indices(rng, t, n_boot, mean_block):
        star = [sum(d[i][j] for i in idx) / t for j in range(k)]
        if max(root * (star[j] - dbar[j]) for j in range(k)) > v_rc:
            hits["rc"] += 1
        for name, g in (("lower", g_lower), ("consistent", g_cons), ("upper", dbar)):
            if max(0.0, max(root * (star[j] - g[j]) / omega[j] for j in range(k))) > t_spa:
                hits[name] += 1
    out = {name: h / n_boot for name, h in hits.items()}
    if t_spa == 0:  # no strategy ahead in sample: the module reports p = 1 (see spa_test)
        out.update(lower=1.0, consistent=1.0, upper=1.0)
    out["v_rc"], out["t_spa"] = v_rc, t_spa
    return out


# ------------------------------------------------------------------------------------------------
# PSR, expected maximum Sharpe, DSR


def test_dsr_worked_example_of_the_paper() -> None:
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", JPM 40(5), numerical example:
    # N = 100 independent trials, V[SR_n] = 1/2 (annualized); the best has an annualized SR of 2.5
    # over T = 1250 daily observations (5 years of 250 days), skewness −3, kurtosis 10. Per day:
    # SR = 2.5/√250 = 0.1581, V = 0.5/250 = 0.002. The paper finds E[max SR] ≈ 0.1132
    # (non-annualized) and DSR ≈ 0.9004: the strategy is not significant at 95 %.
    sr = 2.5 / math.sqrt(250)
    res = deflated_sharpe_ratio(sr=sr, n=1250, skew=-3.0, kurtosis=10.0, n_trials=100, var_trials=0.5 / 250)
    assert res.sr_star == pytest.approx(0.1132, abs=5e-5)
    assert res.dsr == pytest.approx(0.9004, abs=5e-5)
    assert expected_max_sharpe(100, 0.5 / 250) == res.sr_star
    assert res.psr == pytest.approx(ref_psr(sr, 1250, -3.0, 10.0, 0.0), rel=1e-12)
    assert (res.n_trials, res.var_trials, res.n_obs) == (100, 0.002, 1250)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("sr_benchmark", [0.0, 0.05, -0.02])
def test_psr_matches_reference(seed: int, sr_benchmark: float) -> None:
    rng = np.random.default_rng(seed)
    # skewed, fat-tailed per-period returns with a small edge
    r = 0.002 + 0.01 * (rng.standard_t(5, size=400) + 1.5 * (rng.exponential(1.0, size=400) - 1.0))
    sr, n, skew, kurt = ref_moments(r.tolist())
    assert abs(skew) > 0.1 and kurt > 3.5  # the non-normal terms matter
    want = ref_psr(sr, n, skew, kurt, sr_benchmark)
    assert probabilistic_sharpe_ratio(r, sr_benchmark=sr_benchmark) == pytest.approx(want, rel=1e-10, abs=1e-14)
    got = probabilistic_sharpe_ratio(sr=sr, n=n, skew=skew, kurtosis=kurt, sr_benchmark=sr_benchmark)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert float(sharpe_ratio(r)) == pytest.approx(sr, rel=1e-12)


def test_sharpe_of_equal_returns_is_zero() -> None:
    flat = np.full(10, 0.01)
    assert np.std(flat, ddof=1) > 0  # rounding: mean/std would be 5e15
    assert sharpe_ratio(flat) == 0.0
    ramp = np.arange(10.0)
    assert sharpe_ratio(np.column_stack([flat, ramp])).tolist() == [0.0, pytest.approx(4.5 / ramp.std(ddof=1))]
    with pytest.raises(InvalidInputError, match="^returns: all returns are equal"):
        probabilistic_sharpe_ratio(flat)


def test_psr_properties() -> None:
    # normal returns: the denominator is √(1 + SR²/2); PSR at the estimate itself is 1/2
    assert probabilistic_sharpe_ratio(sr=0.1, n=500, sr_benchmark=0.1) == 0.5
    z = 0.1 * math.sqrt(499) / math.sqrt(1 + 0.1**2 / 2)
    assert probabilistic_sharpe_ratio(sr=0.1, n=500) == pytest.approx(NormalDist().cdf(z), rel=1e-13)
    # negative skew and fat tails lower the confidence in a positive SR; more data raises it
    base = probabilistic_sharpe_ratio(sr=0.1, n=500)
    assert probabilistic_sharpe_ratio(sr=0.1, n=500, skew=-1.0, kurtosis=6.0) < base
    assert probabilistic_sharpe_ratio(sr=0.1, n=2000) > base
    # the lower tail keeps its precision (1 + erf(z/√2) would give exactly 0 here)
    z = -0.5 * math.sqrt(999) / math.sqrt(1 + 0.5**2 / 2)
    tail = probabilistic_sharpe_ratio(sr=-0.5, n=1000)
    assert 0.0 < tail < 1e-45
    assert tail == pytest.approx(NormalDist().cdf(z), rel=1e-10)


def test_expected_max_sharpe_formula_and_exact_maximum() -> None:
    nd = NormalDist()
    for n in (2, 10, 100, 1000, 10**6):
        assert expected_max_sharpe(n, 0.04) == pytest.approx(ref_expected_max(n, 0.04), rel=1e-9)
    assert expected_max_sharpe(1, 0.04) == 0.0  # one trial: no selection
    assert expected_max_sharpe(10**18, 1.0) > expected_max_sharpe(10**17, 1.0)  # no 1 − 1/N rounding to 1
    assert expected_max_sharpe(100, 4.0) == pytest.approx(2 * expected_max_sharpe(100, 1.0), rel=1e-14)
    # the Gumbel approximation against the exact E[max of N standard normals],
    # ∫ x·N·φ(x)·Φ(x)^(N−1) dx, by the trapezoid rule on [−10, 10]
    xs = np.linspace(-10.0, 10.0, 20001)
    cdf = np.array([nd.cdf(float(x)) for x in xs])
    pdf = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    for n, tol in ((10, 0.03), (100, 0.015), (1000, 0.0075)):
        f = xs * n * pdf * cdf ** (n - 1)
        exact = float(np.sum((f[1:] + f[:-1]) / 2) * (xs[1] - xs[0]))
        assert expected_max_sharpe(n, 1.0) == pytest.approx(exact, rel=tol)


def test_expected_max_sharpe_monte_carlo_under_the_null() -> None:
    # N iid strategies with no edge: the mean of the best in-sample Sharpe ratio matches E[max SR]
    # computed from N and the variance of the trials' Sharpe ratios.
    rng = np.random.default_rng(20140101)
    n_trials, t, reps = 100, 250, 400
    maxima, variances = [], []
    for _ in range(reps // 40):
        r = rng.standard_normal((40, t, n_trials))
        sr = r.mean(axis=1) / r.std(axis=1, ddof=1)
        maxima.append(sr.max(axis=1))
        variances.append(sr.var(axis=1, ddof=1))
    mean_max = float(np.concatenate(maxima).mean())
    v = float(np.concatenate(variances).mean())
    assert v == pytest.approx(1 / t, rel=0.05)
    assert expected_max_sharpe(n_trials, v) == pytest.approx(mean_max, rel=0.03)


def test_dsr_from_trial_sharpes_matches_reference() -> None:
    rng = np.random.default_rng(7)
    trials = 0.003 + 0.01 * rng.standard_t(4, size=(600, 30))
    best = int(np.argmax([ref_sharpe(trials[:, j].tolist()) for j in range(30)]))
    trial_sr = [ref_sharpe(trials[:, j].tolist()) for j in range(30)]
    mean = sum(trial_sr) / 30
    v = sum((s - mean) ** 2 for s in trial_sr) / 29
    sr, n, skew, kurt = ref_moments(trials[:, best].tolist())
    res = deflated_sharpe_ratio(trials[:, best], sharpe_ratio(trials))
    assert (res.n_trials, res.n_obs) == (30, 600)
    assert res.var_trials == pytest.approx(v, rel=1e-10)
    assert res.sr_star == pytest.approx(ref_expected_max(30, v), rel=1e-10)
    assert res.dsr == pytest.approx(ref_psr(sr, n, skew, kurt, ref_expected_max(30, v)), rel=1e-9)
    assert res.psr == pytest.approx(ref_psr(sr, n, skew, kurt, 0.0), rel=1e-9)
    assert (res.skew, res.kurtosis) == (pytest.approx(skew, rel=1e-9), pytest.approx(kurt, rel=1e-9))
    assert res.dsr < res.psr  # deflation only lowers it
    one = deflated_sharpe_ratio(trials[:, best], n_trials=1, var_trials=v)
    assert one.dsr == one.psr == res.psr


# ------------------------------------------------------------------------------------------------
# PBO


def _sweep(seed: int, t: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.01 * rng.standard_normal((t, n)) + 0.001 * rng.standard_normal(n)


@pytest.mark.parametrize(("t", "n", "s"), [(64, 5, 2), (64, 5, 4), (100, 7, 8), (120, 12, 10)])
def test_pbo_matches_brute_force(t: int, n: int, s: int) -> None:
    m = _sweep(t * n + s, t, n)
    got = pbo(m, n_splits=s)
    want = ref_pbo(m, s, ref_sharpe)
    assert got.n_combinations == math.comb(s, s // 2) == len(want["logits"])
    assert got.n_periods_used == (t // s) * s
    assert got.best_is.tolist() == want["best"]
    assert got.logits.tolist() == pytest.approx(want["logits"], rel=1e-12, abs=1e-12)
    assert got.pbo == want["pbo"]
    np.testing.assert_allclose(got.is_performance, want["is"], rtol=1e-9)
    np.testing.assert_allclose(got.oos_performance, want["oos"], rtol=1e-9)
    assert got.degradation_slope == pytest.approx(want["slope"], rel=1e-8)
    assert got.prob_oos_loss == want["loss"]
    np.testing.assert_array_equal(got.logits <= 0, got.oos_rank <= 0.5)


def test_pbo_custom_metric_and_ties_match_brute_force() -> None:
    m = _sweep(11, 96, 6)
    m[:, 1] += 0.004  # the best configuration...
    m[:, 3] = m[:, 1]  # ...twice: ties in sample (the first wins) and out of sample (average rank)
    m[:, 5] = 0.0  # a configuration that never traded
    got = pbo(m, n_splits=6, metric=lambda x: x.mean(axis=0))
    want = ref_pbo(m, 6, lambda xs: sum(xs) / len(xs))
    assert got.best_is.tolist() == want["best"]
    assert got.logits.tolist() == pytest.approx(want["logits"], rel=1e-12, abs=1e-12)
    assert got.pbo == want["pbo"]
    # the tie of columns 1 and 3 does happen: column 1 is picked and shares its OOS rank with 3
    assert 1 in want["best"] and 3 not in want["best"]
    shared = got.oos_rank[got.best_is == 1]
    assert np.all((shared * 7) % 1 == 0.5)  # ranks k + 1/2 over N + 1 = 7
    fast = pbo(m, n_splits=6)
    ref = ref_pbo(m, 6, ref_sharpe)
    assert fast.best_is.tolist() == ref["best"] and fast.pbo == ref["pbo"]
    assert fast.logits.tolist() == pytest.approx(ref["logits"], rel=1e-12, abs=1e-12)


def test_pbo_vectorized_sharpe_equals_generic_path_with_idle_stretches() -> None:
    m = _sweep(5, 160, 9)
    m[:80, 2] = 0.0  # idle in the first half: SR 0 in combinations that train on it
    m[40:120, 4] = 0.0
    m[:, 7] = 0.0  # never traded
    m[:80, 5] = 0.01  # a fixed 1 % per period in the first half: np.std says 1.7e-18, not 0
    assert np.std(m[:80, 5], ddof=1) > 0
    m[:40, 6], m[40:80, 6] = 0.01, 0.02  # constant blocks whose values differ: the union does vary
    fast = pbo(m, n_splits=8)
    slow = pbo(m, n_splits=8, metric=lambda x: sharpe_ratio(x))
    # trained on the first half, column 5 has SR 0 (all returns equal), not 0.01/1.7e-18
    assert fast.best_is[0] != 5 and abs(fast.is_performance).max() < 10
    assert fast.best_is[0] == 6 and fast.is_performance[0] == pytest.approx(0.015 / np.std(m[:80, 6], ddof=1))
    assert fast.best_is.tolist() == slow.best_is.tolist()
    assert fast.logits.tolist() == slow.logits.tolist()
    np.testing.assert_allclose(fast.is_performance, slow.is_performance, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(fast.oos_performance, slow.oos_performance, rtol=1e-9, atol=1e-15)
    assert (fast.pbo, fast.prob_oos_loss) == (slow.pbo, slow.prob_oos_loss)


def test_pbo_flat_out_of_sample_is_not_a_loss() -> None:
    # configuration 0 earns in the first half and then stops trading: trained on the first half it
    # wins and scores exactly 0 out of sample, which is no loss
    rng = np.random.default_rng(41)
    m = 0.01 * rng.standard_normal((80, 5)) - 0.004
    m[:40, 0] = 0.01 + 0.01 * rng.standard_normal(40)
    m[40:, 0] = 0.0
    got = pbo(m, n_splits=4)
    want = ref_pbo(m, 4, ref_sharpe)
    assert (got.oos_performance == 0.0).any()
    assert got.prob_oos_loss == want["loss"] and got.pbo == want["pbo"]
    assert got.best_is.tolist() == want["best"]


def test_pbo_batches_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    m = _sweep(8, 120, 7)
    whole = pbo(m, n_splits=10)
    custom = pbo(m, n_splits=10, metric=lambda x: x.mean(axis=0))
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 7 * 5 * 3)  # batches of 3 of the 252 combinations
    for a, b in ((whole, pbo(m, n_splits=10)), (custom, pbo(m, n_splits=10, metric=lambda x: x.mean(axis=0)))):
        assert a.logits.tolist() == b.logits.tolist() and a.best_is.tolist() == b.best_is.tolist()
        assert a.is_performance.tolist() == b.is_performance.tolist()
        assert a.oos_performance.tolist() == b.oos_performance.tolist()


def test_pbo_noise_is_near_one_half_with_negative_degradation() -> None:
    # N pure-noise configurations: the in-sample winner's out-of-sample rank is uniform, so
    # E[PBO] = P[rank <= (N+1)/2] = 1/2 for even N; and since its in- and out-of-sample means add up
    # to its full-sample mean, a high IS Sharpe comes with a low OOS one (negative slope).
    values, slopes = [], []
    for seed in range(16):
        res = pbo(np.random.default_rng(seed).standard_normal((200, 20)), n_splits=10)
        values.append(res.pbo)
        slopes.append(res.degradation_slope)
    assert 0.4 <= float(np.mean(values)) <= 0.6
    assert float(np.mean(slopes)) < 0


def test_pbo_true_edge_is_near_zero() -> None:
    rng = np.random.default_rng(99)
    m = rng.standard_normal((400, 20))
    m[:, 13] += 0.3  # a real edge of 0.3 per-period Sharpe
    res = pbo(m, n_splits=8)
    assert res.pbo < 0.05
    assert float(np.mean(res.best_is == 13)) > 0.95
    assert res.prob_oos_loss < 0.05


# ------------------------------------------------------------------------------------------------
# Stationary bootstrap, Reality Check, SPA


@pytest.mark.parametrize("mean_block", [1.0, 3.7, 50.0])
def test_stationary_bootstrap_indices_match_loop(mean_block: float) -> None:
    t, b = 40, 30
    draws = np.random.default_rng(4).random((b, 2, t))
    got = stationary_bootstrap_indices(draws, mean_block)
    want = ref_sb_indices(np.random.default_rng(4), t, b, mean_block)
    assert got.tolist() == want


def test_stationary_bootstrap_mean_block_length() -> None:
    t, b, mean_block = 500, 200, 8.0
    idx = stationary_bootstrap_indices(np.random.default_rng(8).random((b, 2, t)), mean_block)
    # a block breaks where the next index is not the previous one + 1 (mod T); the chance of a new
    # block landing exactly there is 1/T, negligible here
    breaks = (idx[:, 1:] != (idx[:, :-1] + 1) % t).sum()
    mean_len = b * t / (breaks + b)
    assert mean_len == pytest.approx(mean_block, rel=0.08)


def test_spa_variance_matches_loop_and_bootstrap() -> None:
    rng = np.random.default_rng(12)
    t = 120
    e = rng.standard_normal((t, 2))
    x = np.zeros_like(e)
    for i in range(1, t):
        x[i] = 0.6 * x[i - 1] + e[i]
    for mean_block in (1.0, 6.0):
        got = stats._spa_omega2(x, mean_block)
        want = [ref_omega2(x[:, j].tolist(), mean_block) for j in range(2)]
        np.testing.assert_allclose(got, want, rtol=1e-9)
        # and it is the stationary bootstrap's own variance of √T·mean (Politis & Romano 1994)
        idx = stationary_bootstrap_indices(np.random.default_rng(0).random((6000, 2, t)), mean_block)
        boot = t * x[idx].mean(axis=1).var(axis=0)
        np.testing.assert_allclose(got, boot, rtol=0.1)


CASES = [
    # (benchmark, losses, mean_block, seed)
    (None, False, 1.0, 1),
    (None, False, 4.5, 2),
    ("series", False, 3.0, 3),
    ("series", True, 6.0, 4),
    (0.001, False, 2.0, 5),
]


# "bench_kind", not "benchmark": that name is pytest-benchmark's fixture
@pytest.mark.parametrize(("bench_kind", "losses", "mean_block", "seed"), CASES)
def test_reality_check_and_spa_match_loop_reference(bench_kind: Any, losses: bool, mean_block: float,
                                                    seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    t, k = 60, 4
    drift = np.array([0.0, 0.002, -0.001, 0.003])
    data = 0.01 * rng.standard_normal((t, k)) + (-drift if losses else drift)  # losses: lower is better
    bench = 0.01 * rng.standard_normal(t) if bench_kind == "series" else bench_kind
    n_boot = 150
    want = ref_rc_spa(data, bench, losses, n_boot, mean_block, seed)
    rc = reality_check(data, bench, losses=losses, n_boot=n_boot, mean_block=mean_block, seed=seed)
    spa = spa_test(data, bench, losses=losses, n_boot=n_boot, mean_block=mean_block, seed=seed)
    assert rc.pvalue == want["rc"]
    assert rc.statistic == pytest.approx(want["v_rc"], rel=1e-12)
    assert (spa.pvalue_lower, spa.pvalue, spa.pvalue_upper) == (want["lower"], want["consistent"], want["upper"])
    assert spa.statistic == pytest.approx(want["t_spa"], rel=1e-9)
    assert (rc.n_boot, rc.mean_block, spa.n_boot, spa.mean_block) == (n_boot, mean_block, n_boot, mean_block)
    # the p-values are not degenerate here, so the comparison says something
    assert 0.0 < want["upper"] < 1.0


def test_bootstrap_is_seeded_and_batching_does_not_change_the_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sweep(21, 80, 5)
    a = spa_test(data, n_boot=300, seed=17)
    assert spa_test(data, n_boot=300, seed=17) == a
    assert reality_check(data, n_boot=300, seed=17) == reality_check(data, n_boot=300, seed=17)
    others = {spa_test(data, n_boot=300, seed=s).pvalue_upper for s in range(18, 24)}
    assert len(others | {a.pvalue_upper}) > 1  # the seed is used
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", 7 * 80)  # batches of 7 resamples (and 2 columns of FFT)
    b = spa_test(data, n_boot=300, seed=17)
    assert (b.pvalue_lower, b.pvalue, b.pvalue_upper) == (a.pvalue_lower, a.pvalue, a.pvalue_upper)
    # the FFT's rounding depends on how many columns it transforms at once: equal to the last bits
    assert b.statistic == pytest.approx(a.statistic, rel=1e-13)


def test_null_pvalues_are_not_small() -> None:
    # all strategies have zero mean: the p-values should spread over (0, 1], not pile up near 0
    rc_p, spa_p = [], []
    for seed in range(40):
        data = np.random.default_rng(1000 + seed).standard_normal((120, 6))
        rc_p.append(reality_check(data, n_boot=200, mean_block=2.0, seed=seed).pvalue)
        spa_p.append(spa_test(data, n_boot=200, mean_block=2.0, seed=seed).pvalue)
    for ps in (rc_p, spa_p):
        assert 0.3 <= float(np.mean(ps)) <= 0.8
        assert float(np.mean(np.array(ps) < 0.05)) <= 0.15


def test_strong_strategy_is_detected() -> None:
    rng = np.random.default_rng(77)
    data = rng.standard_normal((250, 10))
    data[:, 6] += 0.4
    rc = reality_check(data, n_boot=500, seed=1)
    spa = spa_test(data, n_boot=500, seed=1)
    assert rc.pvalue < 0.05 and rc.best_index == 6
    assert spa.pvalue_upper < 0.05 and spa.best_index == 6
    assert spa.pvalue_lower <= spa.pvalue <= spa.pvalue_upper


def test_spa_orders_its_pvalues_and_handles_constant_columns() -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_normal((100, 8)) * 0.01 + np.linspace(-0.004, 0.001, 8)
    res = spa_test(data, n_boot=400, seed=3)
    assert res.pvalue_lower <= res.pvalue <= res.pvalue_upper
    assert res.pvalue_lower < res.pvalue_upper  # the bad strategies do move the bounds apart
    idle = spa_test(np.column_stack([data, np.zeros(100)]), n_boot=400, seed=3)  # one never traded: no change
    assert (idle.pvalue_lower, idle.pvalue, idle.pvalue_upper) == (res.pvalue_lower, res.pvalue, res.pvalue_upper)
    assert idle.statistic == pytest.approx(res.statistic, rel=1e-13)
    behind = data - 0.05  # every strategy far behind: no evidence against H0
    assert spa_test(behind, n_boot=200, seed=3).pvalue == 1.0
    sure = np.column_stack([data, np.full(100, 0.001)])  # a constant positive edge
    assert spa_test(sure, n_boot=200, seed=3).pvalue_upper == 0.0


# ------------------------------------------------------------------------------------------------
# Multiple-testing corrections


P = [0.004, 0.027, 0.012, 0.26, 0.035]


def test_corrections_hand_computed() -> None:
    # m = 5. Sorted: 0.004 (i0), 0.012 (i2), 0.027 (i1), 0.035 (i4), 0.26 (i3).
    # Bonferroni: 5·p = 0.02, 0.135, 0.06, 1.3 → 1, 0.175; reject p <= 0.05/5 = 0.01: only i0.
    b = bonferroni(P, alpha=0.05)
    np.testing.assert_allclose(b.pvalues_adjusted, [0.02, 0.135, 0.06, 1.0, 0.175], rtol=1e-12)
    assert b.reject.tolist() == [True, False, False, False, False]
    # Holm: sorted × (5, 4, 3, 2, 1) = 0.02, 0.048, 0.081, 0.07, 0.26; running max → 0.02, 0.048,
    # 0.081, 0.081, 0.26 (0.07 is lifted to 0.081). Reject while p_(j) <= 0.05/(m − j + 1):
    # 0.004 <= 0.01, 0.012 <= 0.0125, 0.027 > 0.0167 stops → i0 and i2.
    h = holm(P, alpha=0.05)
    np.testing.assert_allclose(h.pvalues_adjusted, [0.02, 0.081, 0.048, 0.26, 0.081], rtol=1e-12)
    assert h.reject.tolist() == [True, False, True, False, False]
    # BH: sorted × 5/j = 0.02, 0.03, 0.045, 0.04375, 0.26; running min from the top → 0.02, 0.03,
    # 0.04375, 0.04375, 0.26 (0.045 is lowered to 0.04375). Step-up: the largest k with
    # p_(k) <= k·0.05/5 is k = 4 (0.035 <= 0.04) → reject all but i3.
    f = benjamini_hochberg(P, alpha=0.05)
    np.testing.assert_allclose(f.pvalues_adjusted, [0.02, 0.04375, 0.03, 0.26, 0.04375], rtol=1e-12)
    assert f.reject.tolist() == [True, True, True, False, True]
    assert (b.method, h.method, f.method, f.alpha) == ("bonferroni", "holm", "fdr_bh", 0.05)
    # step-down stops at the first failure: Holm on [0.02, 0.02, 0.04], thresholds 0.05/3, 0.05/2,
    # 0.05/1: 0.02 > 0.0167 fails, so 0.04 <= 0.05 is not rejected either; adjusted 3·0.02 = 0.06,
    # max(0.06, 2·0.02) = 0.06, max(0.06, 1·0.04) = 0.06.
    h3 = holm([0.02, 0.02, 0.04], alpha=0.05)
    np.testing.assert_allclose(h3.pvalues_adjusted, [0.06, 0.06, 0.06], rtol=1e-12)
    assert h3.reject.tolist() == [False, False, False]
    # step-up rejects below a later success: BH on [0.03, 0.04], thresholds 0.025, 0.05: 0.03 fails
    # its own but 0.04 passes, so both are rejected; adjusted min(2·0.03, 0.04) = 0.04, and 0.04.
    f2 = benjamini_hochberg([0.03, 0.04], alpha=0.05)
    np.testing.assert_allclose(f2.pvalues_adjusted, [0.04, 0.04], rtol=1e-12)
    assert f2.reject.tolist() == [True, True]
    # capping at 1: Holm on [0.6, 0.7]: 2·0.6 = 1.2 → 1, then max(1.2, 0.7) → 1
    np.testing.assert_allclose(holm([0.6, 0.7]).pvalues_adjusted, [1.0, 1.0])
    # a single test is left alone
    for fn in (bonferroni, holm, benjamini_hochberg):
        assert fn([0.03]).pvalues_adjusted.tolist() == [0.03]


def ref_holm(p: list[float], alpha: float) -> tuple[list[float], list[bool]]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adj, rej = [0.0] * m, [False] * m
    for pos, i in enumerate(order):
        adj[i] = min(1.0, max((m - j) * p[order[j]] for j in range(pos + 1)))
    for pos, i in enumerate(order):
        if p[i] > alpha / (m - pos):
            break
        rej[i] = True
    return adj, rej


def ref_bh(p: list[float], alpha: float) -> tuple[list[float], list[bool]]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adj, rej = [0.0] * m, [False] * m
    for pos, i in enumerate(order):
        adj[i] = min(1.0, min(p[order[j]] * m / (j + 1) for j in range(pos, m)))
    k = max((pos + 1 for pos in range(m) if p[order[pos]] <= (pos + 1) / m * alpha), default=0)
    for pos in range(k):
        rej[order[pos]] = True
    return adj, rej


@pytest.mark.parametrize("seed", range(12))
def test_corrections_match_definitions_and_are_monotone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    p = np.round(rng.beta(0.3, 1.0, size=m), 2)  # many small p-values, with ties
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    b, h, f = bonferroni(p, alpha), holm(p, alpha), benjamini_hochberg(p, alpha)
    want_h, rej_h = ref_holm(p.tolist(), alpha)
    want_f, rej_f = ref_bh(p.tolist(), alpha)
    assert h.pvalues_adjusted.tolist() == want_h and h.reject.tolist() == rej_h
    assert f.pvalues_adjusted.tolist() == want_f and f.reject.tolist() == rej_f
    order = np.argsort(p, kind="stable")
    for res in (b, h, f):
        adj = res.pvalues_adjusted
        assert (adj >= p * (1 - 1e-12)).all() and (adj <= 1).all()  # m·p/m may round below p
        assert (np.diff(adj[order]) >= 0).all()  # monotone in the raw p-values
    assert (b.pvalues_adjusted >= h.pvalues_adjusted).all() and (h.pvalues_adjusted >= f.pvalues_adjusted).all()
    assert (b.reject <= h.reject).all() and (h.reject <= f.reject).all()


# ------------------------------------------------------------------------------------------------
# The sweep report


def test_overfitting_report_agrees_with_its_parts() -> None:
    m = _sweep(31, 240, 12)
    rep = overfitting_report(m, 365.0, n_splits=8, n_boot=300, mean_block=3.0, seed=9)
    srs = sharpe_ratio(m)
    assert rep.best_index == int(np.argmax(srs)) and (rep.n_periods, rep.n_trials) == (240, 12)
    assert rep.trial_sharpes.tolist() == pytest.approx([ref_sharpe(m[:, j].tolist()) for j in range(12)], rel=1e-10)
    assert rep.sharpe == pytest.approx(float(srs.max()), rel=1e-12)
    assert rep.sharpe_annual == pytest.approx(rep.sharpe * math.sqrt(365.0), rel=1e-12)
    dsr = deflated_sharpe_ratio(m[:, rep.best_index], srs)
    assert (rep.dsr, rep.psr, rep.sr_star) == (dsr.dsr, dsr.psr, dsr.sr_star)
    assert rep.sr_star_annual == pytest.approx(dsr.sr_star * math.sqrt(365.0), rel=1e-12)
    assert rep.var_trials == dsr.var_trials
    cscv = pbo(m, n_splits=8)
    assert (rep.pbo, rep.degradation_slope, rep.prob_oos_loss) == (cscv.pbo, cscv.degradation_slope, cscv.prob_oos_loss)
    assert rep.reality == reality_check(m, n_boot=300, mean_block=3.0, seed=9)
    assert rep.spa == spa_test(m, n_boot=300, mean_block=3.0, seed=9)
    assert (rep.reality_check_pvalue, rep.spa_pvalue) == (rep.reality.pvalue, rep.spa.pvalue)


def test_overfitting_report_tells_edge_from_noise() -> None:
    rng = np.random.default_rng(2024)
    noise = 0.01 * rng.standard_normal((500, 50))
    edge = noise.copy()
    edge[:, 17] += 0.003  # per-period Sharpe 0.3
    good = overfitting_report(edge, 365.0, n_splits=10, n_boot=400)
    bad = overfitting_report(noise, 365.0, n_splits=10, n_boot=400)
    assert good.best_index == 17
    assert good.dsr > 0.95 and good.pbo < 0.1 and good.reality_check_pvalue < 0.05 and good.spa_pvalue < 0.05
    assert bad.dsr < 0.95 < bad.psr  # the search explains the best noise config's Sharpe
    assert bad.pbo > 0.2 and bad.reality_check_pvalue > 0.05 and bad.spa_pvalue > 0.05


def test_overfitting_report_does_not_select_an_idle_configuration() -> None:
    m = _sweep(3, 120, 6) - 0.01  # every configuration loses money...
    m[:, 2] = 0.0  # ...except one that never traded
    rep = overfitting_report(m, 252.0, n_splits=4, n_boot=50)
    assert rep.best_index != 2 and rep.trial_sharpes[2] == 0.0 and rep.sharpe < 0


# ------------------------------------------------------------------------------------------------
# Bad input


M = _sweep(1, 60, 4)
NAN = M.copy()
NAN[7, 2] = np.nan

BAD: list[tuple[str, Callable[[], Any], str]] = [
    ("psr empty", lambda: probabilistic_sharpe_ratio([]), "returns"),
    ("psr nan", lambda: probabilistic_sharpe_ratio([0.1, np.nan, 0.2]), "returns"),
    ("psr 2-D", lambda: probabilistic_sharpe_ratio(M), "returns"),
    ("psr constant", lambda: probabilistic_sharpe_ratio([0.01] * 10), "returns"),
    ("psr both forms", lambda: probabilistic_sharpe_ratio(M[:, 0], sr=0.1, n=60), "returns"),
    ("psr neither form", lambda: probabilistic_sharpe_ratio(sr=0.1), "returns"),
    ("psr excess kurtosis", lambda: probabilistic_sharpe_ratio(sr=0.1, n=60, kurtosis=0.0), "kurtosis"),
    ("psr n", lambda: probabilistic_sharpe_ratio(sr=0.1, n=1), "n"),
    ("psr benchmark", lambda: probabilistic_sharpe_ratio(sr=0.1, n=60, sr_benchmark=math.inf), "sr_benchmark"),
    ("emax n", lambda: expected_max_sharpe(0, 0.1), "n_trials"),
    ("emax n float", lambda: expected_max_sharpe(2.5, 0.1), "n_trials"),  # type: ignore[arg-type]
    ("emax var", lambda: expected_max_sharpe(10, -0.1), "var_trials"),
    ("emax var nan", lambda: expected_max_sharpe(10, math.nan), "var_trials"),
    ("dsr one trial", lambda: deflated_sharpe_ratio(M[:, 0], [0.1]), "trial_sharpes"),
    ("dsr both", lambda: deflated_sharpe_ratio(M[:, 0], [0.1, 0.2], n_trials=2, var_trials=0.1), "trial_sharpes"),
    ("dsr no trials", lambda: deflated_sharpe_ratio(M[:, 0]), "trial_sharpes"),
    ("dsr nan", lambda: deflated_sharpe_ratio(NAN[:, 2], [0.1, 0.2]), "returns_of_best"),
    ("sharpe 1 row", lambda: sharpe_ratio(M[:1]), "returns"),
    ("pbo 1-D", lambda: pbo(M[:, 0]), "matrix"),
    ("pbo 3-D", lambda: pbo(M.reshape(3, 20, 4)), "matrix"),
    ("pbo one config", lambda: pbo(M[:, :1], n_splits=4), "matrix"),
    ("pbo nan", lambda: pbo(NAN, n_splits=4), "matrix"),
    ("pbo empty", lambda: pbo(np.empty((0, 3))), "matrix"),
    ("pbo text", lambda: pbo([["a", "b"], ["c", "d"]]), "matrix"),
    ("pbo odd", lambda: pbo(M, n_splits=5), "n_splits"),
    ("pbo zero", lambda: pbo(M, n_splits=0), "n_splits"),
    ("pbo too many blocks", lambda: pbo(M, n_splits=62), "n_splits"),
    ("pbo halves too short", lambda: pbo(M[:3], n_splits=2), "n_splits"),
    ("pbo combinations", lambda: pbo(np.zeros((1000, 2)), n_splits=24), "n_splits"),
    ("pbo metric", lambda: pbo(M, n_splits=4, metric="sharpe"), "metric"),  # type: ignore[arg-type]
    ("pbo metric shape", lambda: pbo(M, n_splits=4, metric=lambda x: x.mean()), "metric"),
    ("rc 1-D", lambda: reality_check(M[:, 0]), "data"),
    ("rc inf", lambda: reality_check(np.where(NAN == NAN, NAN, np.inf)), "data"),
    ("rc 2 rows", lambda: reality_check(M[:2]), "data"),
    ("rc benchmark length", lambda: reality_check(M, M[:-1, 0]), "benchmark"),
    ("rc benchmark nan", lambda: reality_check(M, NAN[:, 2]), "benchmark"),
    ("rc n_boot", lambda: reality_check(M, n_boot=0), "n_boot"),
    ("rc mean_block", lambda: reality_check(M, mean_block=0.5), "mean_block"),
    ("rc seed", lambda: reality_check(M, seed=-1), "seed"),
    ("spa losses", lambda: spa_test(M, losses="yes"), "losses"),  # type: ignore[arg-type]
    ("spa n_boot", lambda: spa_test(M, n_boot=1.5), "n_boot"),  # type: ignore[arg-type]
    ("spa mean_block", lambda: spa_test(M, mean_block=math.nan), "mean_block"),
    ("sb draws", lambda: stationary_bootstrap_indices(np.zeros((3, 3, 5)), 2.0), "draws"),
    ("sb draws range", lambda: stationary_bootstrap_indices(np.ones((3, 2, 5)), 2.0), "draws"),
    ("sb mean_block", lambda: stationary_bootstrap_indices(np.zeros((3, 2, 5)), 0.0), "mean_block"),
    ("bonferroni alpha 0", lambda: bonferroni([0.1], alpha=0.0), "alpha"),
    ("holm alpha 1", lambda: holm([0.1], alpha=1.0), "alpha"),
    ("bh alpha", lambda: benjamini_hochberg([0.1], alpha=1.5), "alpha"),
    ("bh p > 1", lambda: benjamini_hochberg([0.1, 1.2]), "pvalues"),
    ("holm p < 0", lambda: holm([-0.1, 0.2]), "pvalues"),
    ("bonferroni empty", lambda: bonferroni([]), "pvalues"),
    ("bonferroni nan", lambda: bonferroni([0.1, math.nan]), "pvalues"),
    ("holm 2-D", lambda: holm([[0.1, 0.2]]), "pvalues"),
    ("report ppy", lambda: overfitting_report(M, 0.0), "periods_per_year"),
    ("report one config", lambda: overfitting_report(M[:, :1], 365.0), "trial_returns"),
    ("report 1-D", lambda: overfitting_report(M[:, 0], 365.0), "trial_returns"),
    ("report odd splits", lambda: overfitting_report(M, 365.0, n_splits=3), "n_splits"),
    ("report constant", lambda: overfitting_report(np.ones((60, 3)), 365.0, n_splits=4), "trial_returns"),
    ("report n_boot", lambda: overfitting_report(M, 365.0, n_splits=4, n_boot=0), "n_boot"),
    ("report seed", lambda: overfitting_report(M, 365.0, n_splits=4, seed="x"), "seed"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "name"), [(c, n) for _, c, n in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_names_the_argument(call: Callable[[], Any], name: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"^{name}: "):
        call()


def test_arguments_are_checked_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def metric(x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.asarray(x.mean(axis=0))

    with pytest.raises(InvalidInputError, match="^n_splits: "):
        pbo(M, n_splits=7, metric=metric)
    assert calls == []

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(stats, "pbo", boom)
    monkeypatch.setattr(stats, "_rc_spa", boom)
    monkeypatch.setattr(stats, "deflated_sharpe_ratio", boom)
    cases: list[tuple[dict[str, Any], str]] = [({"n_boot": 0}, "n_boot"), ({"mean_block": 0.0}, "mean_block"),
                                                ({"n_splits": 40}, "n_splits"), ({"seed": -3}, "seed")]
    for kwargs, name in cases:
        with pytest.raises(InvalidInputError, match=f"^{name}: "):
            overfitting_report(M, 365.0, **{"n_splits": 4, **kwargs})
