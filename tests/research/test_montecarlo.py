"""trader.research.montecarlo: generators against their theoretical moments, reproducibility,
bars from paths, run_paths against direct backtests, distributions against hand-computed
examples, trade resampling and stress scenarios.

Statistical checks use confidence intervals computed from the model's own theory (mean and
variance of the estimator) at Z = 4.5 standard errors; the seeds are fixed, so each test is
deterministic, and a wrong drift, variance, compensator or regime alignment moves the estimate
by tens of standard errors (noted per test).
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader import run_backtest
from trader.data import Bars
from trader.exceptions import InvalidInputError
from trader.research import montecarlo as mc
from trader_strategies.ema_cross import EmaCross

Z = 4.5


def within(estimate: float, expected: float, se: float, z: float = Z) -> None:
    assert abs(estimate - expected) <= z * se, f"{estimate!r} vs {expected!r}: {abs(estimate - expected) / se:.1f} standard errors"


def sample_var_se(n: int, var: float, excess_kurtosis_cumulant: float = 0.0) -> float:
    """Standard error of the sample variance of n i.i.d. draws with variance ``var`` and fourth
    cumulant ``k4``: sqrt((k4 + 2 var^2) / n) (the normal case: var sqrt(2 / n))."""
    return math.sqrt((excess_kurtosis_cumulant + 2.0 * var * var) / n)


# -- generators: moments ------------------------------------------------------------------------


@pytest.mark.parametrize(("mu", "sigma", "dt"), [(0.001, 0.05, 1.0), (0.3, 0.9, mc.years_per_bar("1d"))])
def test_gbm_log_return_moments_and_mean_price(mu: float, sigma: float, dt: float) -> None:
    # Omitting -sigma^2/2 moves the mean by ~23 standard errors in both cases.
    assert dt in (1.0, pytest.approx(1 / 365.25, rel=1e-12))  # annualised rates: dt in years per bar
    ps = mc.gbm(4000, 250, mu=mu, sigma=sigma, dt=dt, s0=100.0, seed=11)
    assert ps.log_price.shape == (4000, 251)
    assert np.all(ps.log_price[:, 0] == math.log(100.0))
    r = ps.log_returns.ravel()
    n = r.size
    m, v = (mu - sigma**2 / 2) * dt, sigma**2 * dt
    within(float(r.mean()), m, math.sqrt(v / n))
    within(float(r.var(ddof=1)), v, sample_var_se(n, v))
    # E[S_T] = s0 e^{mu T}; Var[S_T] = s0^2 e^{2 mu T} (e^{sigma^2 T} - 1)
    t = 250 * dt
    st = ps.price[:, -1]
    within(float(st.mean()), 100.0 * math.exp(mu * t), 100.0 * math.exp(mu * t) * math.sqrt(math.expm1(sigma**2 * t) / st.size))


def test_merton_compound_poisson_moments_and_compensated_drift() -> None:
    mu, sigma, lam, jm, js = 0.0002, 0.01, 0.02, -0.02, 0.03
    ps = mc.merton(4000, 250, mu=mu, sigma=sigma, jump_intensity=lam, jump_mean=jm, jump_std=js, seed=5)
    r = ps.log_returns.ravel()
    n = r.size
    k = math.exp(jm + js**2 / 2) - 1
    mean = mu - sigma**2 / 2 - lam * k + lam * jm
    var = sigma**2 + lam * (jm**2 + js**2)
    k4 = lam * (jm**4 + 6 * jm**2 * js**2 + 3 * js**4)  # 4th cumulant of the compound Poisson part
    within(float(r.mean()), mean, math.sqrt(var / n))  # a missing compensator: ~35 se off
    within(float(r.var(ddof=1)), var, sample_var_se(n, var, k4))  # missing jumps: ~70 se off
    # E[S_T] = s0 e^{mu T}: the drift is compensated for the jumps
    t = 250
    a = mu - sigma**2 / 2 - lam * k
    second = math.exp(2 * a * t + 2 * sigma**2 * t + lam * t * (math.exp(2 * jm + 2 * js**2) - 1))
    first = math.exp(mu * t)
    within(float(ps.price[:, -1].mean()), first, math.sqrt((second - first**2) / 4000))


P2 = np.array([[0.97, 0.03], [0.06, 0.94]])
MUS, SIGMAS = np.array([0.002, -0.004]), np.array([0.01, 0.03])


def markov_sum_var(f: np.ndarray, p: np.ndarray, pi: np.ndarray, t: int) -> float:
    """Var(sum_{i<t} f(s_i)) for a stationary Markov chain: t g0 + 2 sum_h (t - h) g_h with
    g_h = sum_ij pi_i d_i (P^h)_ij d_j, d = f - E_pi f."""
    d = f - pi @ f
    out = t * float(pi @ (d * d))
    ph = np.eye(len(pi))
    for h in range(1, t):
        ph = ph @ p
        out += 2 * (t - h) * float((pi * d) @ ph @ d)
    return out


def test_regime_switching_stationary_mixture_moments() -> None:
    n_paths, t = 5000, 200
    ps = mc.regime_switching(n_paths, t, mus=MUS, sigmas=SIGMAS, transition=P2, seed=3)
    assert ps.regimes is not None and ps.regimes.shape == (n_paths, t + 1)
    pi = np.array([P2[1, 0], P2[0, 1]]) / (P2[0, 1] + P2[1, 0])  # two-state chain, by hand: (2/3, 1/3)
    np.testing.assert_allclose(mc.stationary_distribution(P2), pi, rtol=1e-12)
    m = MUS - SIGMAS**2 / 2
    mean = float(pi @ m)
    var = float(pi @ (SIGMAS**2 + m * m)) - mean**2
    r = ps.log_returns
    # the grand mean: Var(sum over a path) = t E_pi[sigma^2] + the Markov variance of the drifts
    var_sum = t * float(pi @ SIGMAS**2) + markov_sum_var(m, P2, pi, t)
    within(float(r.mean()), mean, math.sqrt(var_sum / n_paths) / t)
    # the variance: g = (r - mean)^2 has, given the regime k, mean a_k and variance b_k (normal)
    a = SIGMAS**2 + (m - mean) ** 2
    b = 2 * SIGMAS**4 + 4 * SIGMAS**2 * (m - mean) ** 2
    var_g = t * float(pi @ b) + markov_sum_var(a, P2, pi, t)
    within(float(((r - mean) ** 2).mean()), var, math.sqrt(var_g / n_paths) / t)
    # occupancy of the stationary start and of every point
    occ = (ps.regimes == 1).mean()
    within(float(occ), pi[1], math.sqrt(markov_sum_var(np.array([0.0, 1.0]), P2, pi, t + 1) / n_paths) / (t + 1))


def test_regime_switching_transitions_and_return_alignment() -> None:
    ps = mc.regime_switching(3000, 300, mus=MUS, sigmas=SIGMAS, transition=P2, initial=1, seed=4)
    s = ps.regimes
    assert s is not None
    assert np.all(s[:, 0] == 1)
    prev, nxt = s[:, :-1].ravel(), s[:, 1:].ravel()
    for i, j in itertools.product(range(2), range(2)):
        n_i = int((prev == i).sum())
        within(float(((prev == i) & (nxt == j)).sum() / n_i), P2[i, j], math.sqrt(P2[i, j] * (1 - P2[i, j]) / n_i))
    # the return from point t-1 to t is drawn in the regime of point t: conditional variances are
    # the regime's own (taking the regime of t-1 would inflate regime 0's by about 25 %)
    r = ps.log_returns.ravel()
    for k in range(2):
        rk = r[nxt == k]
        within(float(rk.var(ddof=1)), SIGMAS[k] ** 2, sample_var_se(rk.size, SIGMAS[k] ** 2))
        within(float(rk.mean()), MUS[k] - SIGMAS[k] ** 2 / 2, SIGMAS[k] / math.sqrt(rk.size))


HESTON = {"mu": 0.05, "kappa": 3.0, "theta": 0.04, "xi": 0.3, "rho": -0.7}


def test_heston_long_run_moments_and_correlation() -> None:
    dt = 1 / 252
    ps = mc.heston(4000, 250, v0=HESTON["theta"], dt=dt, seed=8, **HESTON)
    assert ps.variance is not None and ps.variance.shape == (4000, 251)
    r = ps.log_returns
    theta = HESTON["theta"]
    # mean (mu - theta/2) dt: per-path means are i.i.d., so their spread gives the standard error
    per_path_mean = r.mean(axis=1)
    within(float(r.mean()), (HESTON["mu"] - theta / 2) * dt, float(per_path_mean.std(ddof=1)) / math.sqrt(4000))
    # variance theta dt, looser: the Euler scheme and truncation bias it slightly (allow 2 %)
    per_path_var = ((r - r.mean()) ** 2).mean(axis=1)
    se = float(per_path_var.std(ddof=1)) / math.sqrt(4000)
    assert abs(float(per_path_var.mean()) - theta * dt) <= Z * se + 0.02 * theta * dt
    # the two Brownian motions are correlated with rho
    dv = np.diff(ps.variance, axis=1)
    assert abs(float(np.corrcoef(r.ravel(), dv.ravel())[0, 1]) - HESTON["rho"]) < 0.01


def test_heston_variance_mean_reverts_at_kappa() -> None:
    # E[v_t] = theta + (v0 - theta) e^{-kappa t} (Euler: (1 - kappa dt)^n); CIR variance for the CI
    dt, n, v0 = 1 / 252, 63, 0.09
    k, th, xi = HESTON["kappa"], HESTON["theta"], HESTON["xi"]
    ps = mc.heston(20000, n, v0=v0, dt=dt, seed=9, **HESTON)
    assert ps.variance is not None
    vt = ps.variance[:, -1]
    t = n * dt
    expected = th + (v0 - th) * (1 - k * dt) ** n
    assert abs(expected - (th + (v0 - th) * math.exp(-k * t))) < 1e-3  # the Euler and exact means agree
    var_v = v0 * xi**2 / k * (math.exp(-k * t) - math.exp(-2 * k * t)) + th * xi**2 / (2 * k) * (1 - math.exp(-k * t)) ** 2
    within(float(vt.mean()), expected, math.sqrt(var_v / vt.size))


def test_heston_full_truncation() -> None:
    # xi large (Feller violated): v goes below 0 and then drives neither the price nor its own noise
    mu, kappa, theta, dt = 0.05, 1.0, 0.04, 1 / 52
    ps = mc.heston(2000, 100, mu=mu, kappa=kappa, theta=theta, xi=2.0, rho=0.3, v0=theta, dt=dt, seed=10)
    assert ps.variance is not None
    v = ps.variance[:, :-1]
    neg = v < 0
    assert neg.sum() > 1000
    assert np.isfinite(ps.log_price).all()
    np.testing.assert_allclose(ps.log_returns[neg], mu * dt, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.diff(ps.variance, axis=1)[neg], kappa * theta * dt, rtol=0, atol=1e-12)


# -- generators: reproducibility ------------------------------------------------------------------

GENERATORS: dict[str, Any] = {
    "gbm": lambda seed: mc.gbm(50, 40, mu=0.0, sigma=0.02, seed=seed),
    "merton": lambda seed: mc.merton(50, 40, mu=0.0, sigma=0.02, jump_intensity=0.1, jump_mean=-0.01, jump_std=0.02, seed=seed),
    "regime": lambda seed: mc.regime_switching(50, 40, mus=MUS, sigmas=SIGMAS, transition=P2, seed=seed),
    "heston": lambda seed: mc.heston(50, 40, v0=0.04, dt=1 / 252, seed=seed, **HESTON),
    "stationary": lambda seed: mc.block_bootstrap(np.linspace(-0.01, 0.01, 97), 50, 40, block_length=5.0, seed=seed),
    "circular": lambda seed: mc.block_bootstrap(np.linspace(-0.01, 0.01, 97), 50, 40, method="circular", block_length=5, seed=seed),
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_same_seed_same_paths_different_seed_different(name: str) -> None:
    gen = GENERATORS[name]
    a, b, c = gen(123), gen(123), gen(124)
    for field in ("log_price", "regimes", "variance"):
        x, y, z = getattr(a, field), getattr(b, field), getattr(c, field)
        if x is None:
            assert y is None and z is None
            continue
        assert np.array_equal(x, y)
        assert not np.array_equal(x, z)
    assert not np.array_equal(a.log_price[0], a.log_price[1])  # paths differ from each other


# -- block bootstrap ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_bars(shared_data: Path) -> Bars:
    from trader.data import open_bars

    return open_bars(str(shared_data / "klines_1m" / "0g_trading" / "BTC_USDT-1m.feather")).load()[:3000]


def test_bootstrap_reuses_only_observed_returns(real_bars: Bars) -> None:
    r = np.diff(np.log(real_bars.close))
    for method, length in (("stationary", 7.5), ("circular", 12)):
        ps = mc.block_bootstrap(r, 40, 500, method=method, block_length=length, seed=2)
        idx = mc.bootstrap_indices(r.size, 40, 500, method=method, block_length=length, seed=2)
        assert np.array_equal(ps.log_returns, r[idx])  # exactly the observed values (bit for bit)
        assert np.isin(ps.log_returns, r).all()
        assert np.allclose(ps.log_price[:, 0], 0.0)
    simple = np.expm1(r)
    ps = mc.block_bootstrap(simple, 5, 50, simple=True, seed=1)
    assert np.allclose(np.exp(ps.log_returns) - 1, simple[mc.bootstrap_indices(r.size, 5, 50, seed=1)], rtol=0, atol=1e-15)


def test_stationary_bootstrap_mean_block_length(real_bars: Bars) -> None:
    n_obs, n_paths, n_steps, length = len(real_bars) - 1, 400, 2500, 8.0
    idx = mc.bootstrap_indices(n_obs, n_paths, n_steps, block_length=length, seed=6)
    breaks = int((idx[:, 1:] != (idx[:, :-1] + 1) % n_obs).sum())
    trials = n_paths * (n_steps - 1)
    q = (1 / length) * (1 - 1 / n_obs)  # a new block that happens to start at the next index is invisible
    within(breaks, trials * q, math.sqrt(trials * q * (1 - q)))
    mean_block = n_paths * n_steps / (n_paths + breaks)
    assert abs(mean_block - length) / length < 0.03
    within(float(idx[:, 0].mean()), (n_obs - 1) / 2, n_obs / math.sqrt(12 * n_paths))  # uniform first index


def test_circular_bootstrap_fixed_blocks() -> None:
    n_obs, length = 101, 10
    idx = mc.bootstrap_indices(n_obs, 300, 95, method="circular", block_length=length, seed=3)
    assert idx.shape == (300, 95)
    padded = np.concatenate([idx, np.zeros((300, 5), dtype=idx.dtype)], axis=1).reshape(300, 10, length)
    expected = (padded[:, :, :1] + np.arange(length)) % n_obs
    assert np.array_equal(padded.reshape(300, 100)[:, :95], expected.reshape(300, 100)[:, :95])
    starts = idx[:, ::length].ravel()
    within(float(starts.mean()), (n_obs - 1) / 2, n_obs / math.sqrt(12 * starts.size))
    assert set(np.unique(starts)) == set(range(n_obs))


# -- bars from paths ------------------------------------------------------------------------------


def test_bars_from_paths_are_valid_and_follow_the_path() -> None:
    ps = mc.gbm(4, 300, mu=0.0, sigma=0.003, s0=30_000.0, seed=1)
    bars = mc.paths_to_bars(ps, interval="5m", start="2024-03-01T00:00Z", seed=2)
    assert len(bars) == 4
    tick = 0.01  # seven significant digits of 30,000
    for i, b in enumerate(bars):
        assert len(b) == 300 and b.interval_ns == 300 * 10**9
        assert b.ts[0] == np.datetime64("2024-03-01T00:00", "ns").astype(np.int64)
        assert np.all(np.diff(b.ts) == 300 * 10**9)
        assert b.open[0] == 30_000.0
        assert np.array_equal(b.open[1:], b.close[:-1])
        assert np.all(np.abs(b.close - ps.price[i, 1:]) <= tick / 2 + 1e-9)
        assert np.all(b.high >= np.maximum(b.open, b.close)) and np.all(b.low <= np.minimum(b.open, b.close))
        assert np.allclose(b.close * 100, np.round(b.close * 100), rtol=0, atol=1e-6)
        assert (b.high > np.maximum(b.open, b.close)).mean() > 0.5  # the bridge gives wicks
        assert np.all(b.volume > 0)


def test_bridge_extremes_have_the_reflection_principle_law() -> None:
    # Zero log drift: the step increments are N(0, s^2), so the bridge maximum of a step has the
    # law of the maximum of a Brownian motion, |N(0, s^2)|: mean s sqrt(2/pi), variance s^2 (1 - 2/pi).
    s = 0.01
    ps = mc.gbm(200, 1000, mu=s * s / 2, sigma=s, s0=1.0, seed=12)
    bars = mc.paths_to_bars(ps, step_variance=s * s, price_decimals=9, seed=13)
    hi = np.log(np.array([b.high for b in bars])) - ps.log_price[:, :-1]
    lo = ps.log_price[:, :-1] - np.log(np.array([b.low for b in bars]))
    se = s * math.sqrt((1 - 2 / math.pi) / hi.size)
    within(float(hi.mean()), s * math.sqrt(2 / math.pi), se)
    within(float(lo.mean()), s * math.sqrt(2 / math.pi), se)
    # the default step variance is each path's sample variance: the same law within noise
    est = mc.paths_to_bars(ps, price_decimals=9, seed=13)
    hi_est = np.log(np.array([b.high for b in est])) - ps.log_price[:, :-1]
    within(float(hi_est.mean()), s * math.sqrt(2 / math.pi), se * 1.5)


def test_bars_from_substep_path_take_its_extremes() -> None:
    ps = mc.gbm(2, 400, mu=0.0, sigma=0.002, s0=100.0, seed=3)
    bars = mc.paths_to_bars(ps, substeps=10, high_low="path", volume="constant", volume_base=7.0)
    p = ps.price
    for i, b in enumerate(bars):
        assert len(b) == 40
        windows = p[i, :-1].reshape(40, 10)
        windows = np.concatenate([windows, p[i, 10::10, None]], axis=1)  # the 11 points of each bar
        np.testing.assert_allclose(b.high, np.maximum(np.round(windows.max(axis=1), 4), np.maximum(b.open, b.close)))
        np.testing.assert_allclose(b.low, np.minimum(np.round(windows.min(axis=1), 4), np.minimum(b.open, b.close)))
        np.testing.assert_allclose(b.close, np.round(p[i, 10::10], 4))
        assert np.all(b.volume == 7.0)
    with pytest.raises(InvalidInputError, match="substeps|whole bars"):
        mc.paths_to_bars(ps, substeps=7)


def test_volume_models() -> None:
    ps = mc.gbm(3, 2000, mu=0.0, sigma=0.01, s0=50.0, seed=4)
    bars = mc.paths_to_bars(ps, volume_base=100.0, volume_noise=0.2, seed=5)
    v = np.array([b.volume for b in bars]).ravel()
    r = np.abs(ps.log_returns).ravel()
    assert np.corrcoef(v, r)[0, 1] > 0.5
    # E[v] = base (0.4 + 0.6 E|r| / sd(r)) = base (0.4 + 0.6 sqrt(2/pi)) for normal returns
    within(float(v.mean()), 100.0 * (0.4 + 0.6 * math.sqrt(2 / math.pi)), float(v.std()) / math.sqrt(v.size), z=5)
    given = np.arange(2000, dtype=float)
    assert np.array_equal(mc.paths_to_bars(ps, volume=given)[2].volume, given)
    assert np.all(mc.bars_from_path(ps.price[0], volume=3.5).volume == 3.5)


# -- run_paths ----------------------------------------------------------------------------------


def test_run_paths_equals_direct_backtests() -> None:
    ps = mc.gbm(3, 400, mu=0.0, sigma=0.002, s0=30_000.0, seed=21)
    factory = functools.partial(EmaCross, fast=5, slow=20)
    seen: list[int] = []
    curves: dict[int, np.ndarray] = {}

    def keep(i: int, result: Any) -> None:
        seen.append(i)
        curves[i] = result.equity

    table = mc.run_paths(factory, ps, bar_options={"seed": 7, "interval": "1h"}, on_result=keep, fee_bps=5, cash=50_000.0)
    assert table.dtype.names == tuple(name for name, _ in mc.RUN_FIELDS)
    assert list(table["path"]) == [0, 1, 2] and seen == [0, 1, 2]
    bars = mc.paths_to_bars(ps, seed=7, interval="1h")
    for i, b in enumerate(bars):
        direct = run_backtest(EmaCross(fast=5, slow=20), data=b, fee_bps=5, cash=50_000.0)
        assert table["bars"][i] == direct.bars == 400
        for name, kind in mc.RUN_FIELDS:
            if name in ("path", "bars", "longest_underwater", "total_underwater"):
                continue
            value = direct.stats[name]
            expected = math.nan if value is None else value
            np.testing.assert_equal(table[name][i], expected, err_msg=f"path {i}: {name}")
        longest, total = mc.time_under_water(direct.equity)
        assert (table["longest_underwater"][i], table["total_underwater"][i]) == (longest[0], total[0])
        assert np.array_equal(curves[i], direct.equity)
    assert table["trades"].min() > 0  # the comparison is about runs that traded
    assert len(set(table["total_return"].tolist())) == 3
    # a list of Bars runs as is, with the same result
    again = mc.run_paths(factory, bars, fee_bps=5, cash=50_000.0)
    np.testing.assert_equal(again, table)


def test_run_paths_refuses_bad_input_before_running() -> None:
    calls = []

    def factory() -> EmaCross:
        calls.append(1)
        return EmaCross(fast=5, slow=20)

    ps = mc.gbm(2, 50, mu=0.0, sigma=0.01, s0=100.0, seed=1)
    with pytest.raises(InvalidInputError, match="backtest_kwargs.*no_such_option"):
        mc.run_paths(factory, ps, no_such_option=1)
    with pytest.raises(InvalidInputError, match="backtest_kwargs.*data"):
        mc.run_paths(factory, ps, data="x.csv")
    with pytest.raises(InvalidInputError, match="strategy_factory.*instance"):
        mc.run_paths(EmaCross(), ps)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="high_low"):
        mc.run_paths(factory, ps, bar_options={"high_low": "guess"})
    assert calls == []
    with pytest.raises(InvalidInputError, match="strategy_factory: returned int"):
        mc.run_paths(lambda: 3, ps)  # type: ignore[arg-type,return-value]


# -- distributions ------------------------------------------------------------------------------

EQUITY = np.array([[100.0, 110.0, 99.0, 105.0, 121.0, 100.0],
                   [100.0, 90.0, 80.0, 85.0, 95.0, 101.0]])


def test_drawdown_time_under_water_and_returns_by_hand() -> None:
    np.testing.assert_allclose(mc.total_returns(EQUITY), [0.0, 0.01])
    # path 0: peaks 100 110 110 110 121 121 -> drawdowns 0 0 .1 .0454 0 .1736; path 1: 20 % at 80
    np.testing.assert_allclose(mc.max_drawdowns(EQUITY), [1 - 100 / 121, 0.2])
    longest, total = mc.time_under_water(EQUITY)
    assert longest.tolist() == [2, 4]  # 99, 105 below 110; 90..95 below 100 (101 is a new high)
    assert total.tolist() == [3, 4]  # and 100 below 121
    flat = np.array([1.0, 1.0, 1.0])  # equal to the peak is not under water
    assert mc.time_under_water(flat)[1].tolist() == [0]
    assert mc.max_drawdowns(flat).tolist() == [0.0]
    np.testing.assert_allclose(mc.equity_from_returns([0.1, -0.1], initial=2.0), [[2.0, 2.2, 1.98]])


def test_var_cvar_by_hand() -> None:
    x = np.array([0.03, -0.10, 0.01, -0.02, 0.06, 0.0, 0.05, -0.05, 0.02, 0.04])  # sorted: -.10 -.05 -.02 0 ...
    assert mc.value_at_risk(x, 0.8) == pytest.approx(0.05)  # w = 2: the 2nd worst
    assert mc.conditional_value_at_risk(x, 0.8) == pytest.approx(0.075)  # mean of -.10, -.05
    assert mc.value_at_risk(x, 0.85) == pytest.approx(0.05)  # w = 1.5 -> k = 2
    assert mc.conditional_value_at_risk(x, 0.85) == pytest.approx((0.10 + 0.5 * 0.05) / 1.5)
    assert mc.value_at_risk(x, 0.7) == pytest.approx(0.02)
    assert mc.conditional_value_at_risk(x, 0.7) == pytest.approx((0.10 + 0.05 + 0.02) / 3)
    assert mc.value_at_risk(x, 0.95) == mc.conditional_value_at_risk(x, 0.95) == pytest.approx(0.10)  # w < 1
    assert mc.value_at_risk(x[::-1], 0.8) == mc.value_at_risk(x, 0.8)  # order does not matter


def test_risk_of_ruin_by_hand() -> None:
    assert mc.risk_of_ruin(EQUITY, 0.85) == 0.5
    assert mc.risk_of_ruin(EQUITY, 0.8) == 0.5  # touching the threshold is ruin
    assert mc.risk_of_ruin(EQUITY, 0.79) == 0.0
    assert mc.risk_of_ruin(EQUITY, 0.995) == 1.0
    assert mc.risk_of_ruin(np.array([[1.0, 0.5, -0.1], [1.0, 2.0, 3.0]])) == 0.5  # default: equity <= 0


def test_summary_by_hand() -> None:
    s = mc.summary(EQUITY, levels=(0.5,), quantiles=(0.0, 0.5, 1.0), ruin_threshold=0.85)
    assert s["n_paths"] == 2
    assert s["total_return"]["quantiles"] == pytest.approx({0.0: 0.0, 0.5: 0.005, 1.0: 0.01})
    assert s["max_drawdown"]["mean"] == pytest.approx((1 - 100 / 121 + 0.2) / 2)
    assert s["longest_underwater"]["max"] == 4 and s["total_underwater"]["min"] == 3
    assert s["var"][0.5] == pytest.approx(0.0) and s["cvar"][0.5] == pytest.approx(0.0)  # w = 1: the worst, 0
    assert s["risk_of_ruin"] == 0.5
    r = mc.summary(returns=[[0.1, -0.1], [-0.5, 0.2]], quantiles=(0.5,))
    assert r["total_return"]["min"] == pytest.approx(-0.4) and r["risk_of_ruin"] == 0.0
    assert r["max_drawdown"]["max"] == pytest.approx(0.5)


# -- trade-order resampling ---------------------------------------------------------------------


def test_trade_permutations_by_brute_force() -> None:
    trades = np.array([0.1, -0.2, 0.05, 0.3, -0.1])
    out = mc.resample_trades(trades, 3000, seed=4)
    final = float(np.prod(1 + trades) - 1)
    np.testing.assert_allclose(out["final_return"], final, rtol=0, atol=1e-12)  # a product ignores order
    possible = set()
    for perm in itertools.permutations(trades):
        e = np.concatenate([[1.0], np.cumprod(1 + np.array(perm))])
        possible.add(round(float(np.max(1 - e / np.maximum.accumulate(e))), 12))
    seen = {round(float(x), 12) for x in out["max_drawdown"]}
    assert seen == possible  # every value is a permutation's, and 3000 draws reach all of them
    again = mc.resample_trades(trades, 3000, seed=4)
    assert np.array_equal(out, again)
    assert not np.array_equal(out, mc.resample_trades(trades, 3000, seed=5))
    additive = mc.resample_trades([10.0, -30.0, 5.0], 200, mode="additive", initial=100.0, seed=1)
    np.testing.assert_allclose(additive["final_return"], -0.15)
    # the six orders from 100: (10,-30,5) 30/110; (10,5,-30), (5,10,-30) 30/115; (5,-30,10) 30/105; (-30,...) 0.3
    assert {round(float(x), 12) for x in additive["max_drawdown"]} == {round(x, 12) for x in (30 / 110, 30 / 115, 30 / 105, 0.3)}
    boot = mc.resample_trades(trades, 2000, replace=True, seed=2)
    assert boot["final_return"].std() > 0.05
    # with replacement each trade is i.i.d.: E[final + 1] = (1 + mean r)^n
    within(float(boot["final_return"].mean() + 1), (1 + trades.mean()) ** 5, float(boot["final_return"].std()) / math.sqrt(2000))


def test_resample_a_backtests_own_trades() -> None:
    ps = mc.gbm(1, 600, mu=0.0, sigma=0.003, s0=30_000.0, seed=30)
    result = run_backtest(EmaCross(fast=5, slow=20), data=mc.bars_from_path(ps.price[0], seed=1))
    closed = result.trades["closed"].astype(bool)
    assert closed.sum() >= 5
    out = mc.resample_trades(result, 200, seed=1)
    np.testing.assert_allclose(out["final_return"], np.prod(1 + result.trades["return"][closed]) - 1, rtol=1e-12)
    add = mc.resample_trades(result, 200, mode="additive", seed=1)
    np.testing.assert_allclose(add["final_return"], result.trades["pnl"][closed].sum() / result.stats["initial_cash"], rtol=1e-9)
    assert add["max_drawdown"].std() > 0


# -- stress scenarios ---------------------------------------------------------------------------


def copies(data: Bars) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in data.columns().items()}


def assert_untouched(data: Bars, before: dict[str, np.ndarray]) -> None:
    for k, v in before.items():
        assert np.array_equal(getattr(data, k), v), f"the input's {k} changed"


def test_gap_scales_only_the_bars_from_the_gap(real_bars: Bars) -> None:
    before = copies(real_bars)
    out = mc.stress(real_bars, "gap", 1000, size=-0.08)
    assert isinstance(out, Bars)
    assert_untouched(real_bars, before)
    for k in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(out, k)[:1000], before[k][:1000])
        assert np.all(np.abs(getattr(out, k)[1000:] - before[k][1000:] * 0.92) <= 0.005 + 1e-9)  # half a cent
    assert np.array_equal(out.volume, before["volume"]) and np.array_equal(out.ts, before["ts"])
    assert out.open[1000] / out.close[999] == pytest.approx(0.92, abs=1e-3)


@pytest.mark.parametrize("persist", [False, True])
def test_flash_crash_changes_only_its_window(real_bars: Bars, persist: bool) -> None:
    before = copies(real_bars)
    at, k, rk, depth, rec = 500, 4, 6, 0.25, 0.6
    out = mc.stress(real_bars, "flash_crash", at, depth=depth, bars=k, recovery=rec, recovery_bars=rk, volume_mult=3.0,
                    persist=persist)
    assert_untouched(real_bars, before)
    end = at + k + rk
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(out, name)[:at], before[name][:at])
    p = before["open"][at]
    bottom = p * (1 - depth)
    top = bottom + rec * (p - bottom)
    expected = np.concatenate([p * (bottom / p) ** (np.arange(1, k + 1) / k), bottom * (top / bottom) ** (np.arange(1, rk + 1) / rk)])
    assert np.all(np.abs(out.close[at:end] - expected) <= 0.005 + 1e-9)
    assert out.close[at:end].min() == pytest.approx(bottom, abs=0.005)
    assert out.open[at] == p and np.array_equal(out.open[at + 1:end], out.close[at:end - 1])
    np.testing.assert_allclose(out.volume[at:end], before["volume"][at:end] * 3.0)
    assert np.array_equal(out.volume[end:], before["volume"][end:])
    if persist:
        factor = out.close[end - 1] / before["close"][end - 1]
        for name in ("open", "high", "low", "close"):
            assert np.all(np.abs(getattr(out, name)[end:] - before[name][end:] * factor) <= 0.005 + 1e-9)
        assert out.close[-1] < 0.95 * before["close"][-1]  # a lasting loss of depth (1 - recovery) = 10 %
    else:
        for name in ("open", "high", "low", "close"):
            assert np.array_equal(getattr(out, name)[end:], before[name][end:])
    result = run_backtest(EmaCross(fast=5, slow=20), data=out[: end + 50])  # the engine takes the spliced bars
    assert result.bars == end + 50


def test_halt_freezes_then_gaps(real_bars: Bars) -> None:
    before = copies(real_bars)
    at, k = 200, 30
    out = mc.stress(real_bars, "halt", at, bars=k)
    assert_untouched(real_bars, before)
    last = before["close"][at - 1]
    for name in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(out, name)[:at], before[name][:at])
        assert np.all(getattr(out, name)[at:at + k] == last)
        assert np.array_equal(getattr(out, name)[at + k:], before[name][at + k:])
    assert np.all(out.volume[at:at + k] == 0) and np.array_equal(out.volume[at + k:], before["volume"][at + k:])
    assert np.array_equal(out.volume[:at], before["volume"][:at])
    up = mc.stress(real_bars, "halt", at, bars=k, gap=0.05)
    assert np.all(np.abs(up.close[at + k:] - before["close"][at + k:] * 1.05) <= 0.005 + 1e-9)
    assert np.all(up.close[at:at + k] == last)


def test_funding_spike_adds_or_edits_the_column(real_bars: Bars) -> None:
    cols = copies(real_bars)
    out = mc.stress(cols, "funding_spike", 100, rate=0.004, bars=3, base_rate=0.0002)
    assert isinstance(out, dict) and "funding_rate" not in cols
    expected = np.full(len(real_bars), 0.0002)
    expected[100:103] = 0.004
    assert np.array_equal(out["funding_rate"], expected)
    for k in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(out[k], cols[k])
    cols2 = dict(cols, funding_rate=np.linspace(0, 1e-4, len(real_bars)))
    kept = cols2["funding_rate"].copy()
    out2 = mc.stress(cols2, "funding_spike", 10, rate=-0.002, bars=2)
    assert np.array_equal(cols2["funding_rate"], kept)
    assert np.array_equal(out2["funding_rate"][:10], kept[:10]) and np.array_equal(out2["funding_rate"][12:], kept[12:])
    assert np.all(out2["funding_rate"][10:12] == -0.002)
    from_bars = mc.stress(real_bars, "funding_spike", 0)
    assert np.array_equal(from_bars["ts"], real_bars.ts) and from_bars["funding_rate"][0] == 0.003
    ts, rate = mc.funding_settlements(from_bars["ts"], from_bars["funding_rate"])
    at_settlement = np.flatnonzero(real_bars.ts % (8 * 3600 * 10**9) == 0)  # 00/08/16 UTC
    assert at_settlement[0] == 0 and len(at_settlement) == 7
    assert np.array_equal(ts, real_bars.ts[at_settlement])
    assert rate.tolist() == [0.003] + [0.0001] * 6  # the spike covers bars 0..2, so the 00:00 settlement


def test_stress_keeps_the_container_type(real_bars: Bars) -> None:
    import pyarrow as pa

    cols = copies(real_bars)
    struct = np.zeros(len(real_bars), dtype=[("ts", "i8"), *((k, "f8") for k in ("open", "high", "low", "close", "volume"))])
    for k in struct.dtype.names or ():
        struct[k] = cols[k]
    table = pa.table({"ts": pa.array(cols["ts"], pa.timestamp("ns", tz="UTC")), **{k: cols[k] for k in ("open", "high", "low", "close", "volume")}})
    struct_before, table_before = struct.copy(), copy.deepcopy(table)
    ref = mc.stress(real_bars, "gap", 50, size=0.1)
    s = mc.stress(struct, "gap", 50, size=0.1)
    t = mc.stress(table, "gap", 50, size=0.1)
    assert isinstance(s, np.ndarray) and s.dtype == struct.dtype and np.array_equal(struct, struct_before)
    assert isinstance(t, pa.Table) and t.schema == table.schema and t.equals(table_before) is False and table.equals(table_before)
    for k in ("open", "close", "volume"):
        assert np.array_equal(s[k], getattr(ref, k)) and np.array_equal(t.column(k).to_numpy(), getattr(ref, k))
    sf = mc.stress(struct, "funding_spike", 5)
    tf = mc.stress(table, "funding_spike", 5)
    assert "funding_rate" in (sf.dtype.names or ()) and "funding_rate" in tf.column_names
    assert sf["funding_rate"][5] == 0.003 and tf.column("funding_rate").to_numpy()[4] == 0.0001


# -- bad input ----------------------------------------------------------------------------------

BAD: list[tuple[str, Any, str]] = [
    ("n_paths", lambda: mc.gbm(0, 10, mu=0.0, sigma=0.1), "n_paths: must be >= 1"),
    ("n_steps", lambda: mc.gbm(5, 2.5, mu=0.0, sigma=0.1), "n_steps: expected an integer"),
    ("sigma", lambda: mc.gbm(5, 10, mu=0.0, sigma=-0.1), "sigma: must be a finite number >= 0"),
    ("dt", lambda: mc.gbm(5, 10, mu=0.0, sigma=0.1, dt=0), "dt: must be a finite number > 0"),
    ("seed", lambda: mc.gbm(5, 10, mu=0.0, sigma=0.1, seed=-1), "seed: must be >= 0"),
    ("jump_std", lambda: mc.merton(5, 10, mu=0, sigma=0.1, jump_intensity=1, jump_mean=0, jump_std=-1), "jump_std"),
    ("intensity", lambda: mc.merton(5, 10, mu=0, sigma=0.1, jump_intensity=-1, jump_mean=0, jump_std=1), "jump_intensity"),
    ("rows", lambda: mc.regime_switching(5, 10, mus=MUS, sigmas=SIGMAS, transition=[[0.9, 0.2], [0.5, 0.5]]),
     "transition: row 0 sums to"),
    ("square", lambda: mc.regime_switching(5, 10, mus=MUS, sigmas=SIGMAS, transition=[[1.0, 0.0]]), "transition: must be a square"),
    ("k", lambda: mc.regime_switching(5, 10, mus=[0.0] * 3, sigmas=[0.1] * 3, transition=P2), "transition: is 2x2 but there are 3"),
    ("neg sigmas", lambda: mc.regime_switching(5, 10, mus=MUS, sigmas=[0.1, -0.1], transition=P2), "sigmas: must be >= 0"),
    ("initial", lambda: mc.regime_switching(5, 10, mus=MUS, sigmas=SIGMAS, transition=P2, initial=2), "initial: regime index"),
    ("rho", lambda: mc.heston(5, 10, mu=0, kappa=1, theta=0.04, xi=0.3, rho=1.5, v0=0.04), "rho: must be"),
    ("v0", lambda: mc.heston(5, 10, mu=0, kappa=1, theta=0.04, xi=0.3, rho=0, v0=-0.1), "v0: must be"),
    ("block", lambda: mc.block_bootstrap([0.01, 0.02], 5, 10, block_length=0.5), "block_length: must be a finite number >= 1"),
    ("circular block", lambda: mc.block_bootstrap([0.01, 0.02], 5, 10, method="circular", block_length=3),
     "block_length: a circular block cannot be longer"),
    ("nan", lambda: mc.block_bootstrap([0.01, np.nan, 0.02], 5, 10), "returns: holds NaN at index 1"),
    ("method", lambda: mc.block_bootstrap([0.01, 0.02], 5, 10, method="moving"), "method: must be"),
    ("simple", lambda: mc.block_bootstrap([0.01, -1.0], 5, 10, simple=True), "returns: a simple return must be > -1"),
    ("prices", lambda: mc.paths_to_bars(np.array([[1.0, -1.0, 2.0]])), "paths: prices must be > 0"),
    ("level", lambda: mc.value_at_risk([0.1, 0.2], 1.0), "level: must be"),
    ("samples nan", lambda: mc.conditional_value_at_risk([0.1, np.nan], 0.9), "samples: holds NaN"),
    ("equity", lambda: mc.max_drawdowns([[0.0, 1.0]]), "equity: the first point"),
    ("ruin", lambda: mc.risk_of_ruin(EQUITY, 1.0), "threshold: must be"),
    ("summary", lambda: mc.summary(EQUITY, returns=EQUITY), "equity, returns: give exactly one"),
    ("resamples", lambda: mc.resample_trades([0.1], 0), "n_resamples: must be >= 1"),
    ("additive", lambda: mc.resample_trades([1.0, 2.0], 5, mode="additive"), "initial: required"),
]


@pytest.mark.parametrize(("case", "call", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_the_argument(case: str, call: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        call()
    assert message in str(info.value)


def test_bad_stress_input_names_the_argument(real_bars: Bars) -> None:
    cols = copies(real_bars)
    n = len(real_bars)
    cases = [
        (lambda: mc.stress(cols, "meteor", 10), "scenario: unknown scenario 'meteor'"),
        (lambda: mc.stress(cols, "gap", n), f"at: index {n} is outside the data"),
        (lambda: mc.stress(cols, "gap", -1), "at: must be >= 0"),
        (lambda: mc.stress(cols, "gap", 0), "at: a gap sits between two bars"),
        (lambda: mc.stress(cols, "halt", n - 5, bars=10), "at: the scenario spans bars"),
        (lambda: mc.stress(cols, "flash_crash", 10, depth=1.0), "depth: must be"),
        (lambda: mc.stress(cols, "flash_crash", 10, drop=0.1), "params: flash_crash takes"),
        (lambda: mc.stress(cols, "funding_spike", 10, rate=1.5), "rate: must be"),
        (lambda: mc.stress({"close": cols["close"]}, "gap", 10), "data: missing column(s) open, high, low, volume"),
        (lambda: mc.stress(dict(cols, close=np.where(np.arange(n) == 7, np.nan, cols["close"])), "gap", 10),
         "data: column close holds NaN"),
        (lambda: mc.stress([1, 2, 3], "gap", 1), "data: expected trader.data.Bars"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidInputError) as info:
            call()
        assert message in str(info.value)
    assert all(np.array_equal(cols[k], getattr(real_bars, k)) for k in cols)
