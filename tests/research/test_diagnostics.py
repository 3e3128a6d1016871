"""Diagnostics (trader.research.diagnostics, the built-in plugins in trader_plugins.diagnostics):
each statistic against a direct call of its library on the same data, known answers, the
features' no-look-ahead property, and the errors (unknown name, bad series; the CLI's exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from trader.exceptions import InvalidInputError
from trader.research import diagnostics as d


def _lib(name: str):
    """A test dependency (the test extra has it): missing is a failure, not a skip."""
    import importlib

    return importlib.import_module(name)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(1).standard_normal(1500) * 0.001


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    e = np.random.default_rng(seed).standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


# ---- against the libraries ---------------------------------------------------------------------


def test_adf_matches_statsmodels(noise: np.ndarray) -> None:
    st = _lib("statsmodels.tsa.stattools")
    walk = np.cumsum(noise)
    for x in (noise, walk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ref = st.adfuller(x, regression="c", autolag="AIC")
        r = d.adf(x)
        assert r.statistic == pytest.approx(ref[0], rel=1e-12) and r.pvalue == pytest.approx(ref[1], rel=1e-12)
        assert r.details["lags"] == ref[2] and r.details["nobs"] == ref[3]
        assert r.details["critical_values"] == pytest.approx(ref[4])


def test_adf_known_answer_random_walk_vs_white_noise() -> None:
    # At 5 %, a random walk is rejected (called stationary) about 1 time in 20, white noise
    # essentially never kept: count over 40 seeded series of each.
    rng = np.random.default_rng(7)
    walks = [d.adf(np.cumsum(rng.standard_normal(500))).details["stationary"] for _ in range(40)]
    whites = [d.adf(rng.standard_normal(500)).details["stationary"] for _ in range(40)]
    assert sum(walks) <= 6 and all(whites)


def test_jarque_bera_matches_statsmodels_and_knows_fat_tails(noise: np.ndarray) -> None:
    st = _lib("statsmodels.stats.stattools")
    jb, p, skew, kurt = st.jarque_bera(noise)
    r = d.jarque_bera(noise)
    assert (r.statistic, r.pvalue) == pytest.approx((jb, p), rel=1e-12)
    assert (r.details["skew"], r.details["kurtosis"]) == pytest.approx((skew, kurt), rel=1e-12)
    assert r.details["normal"]  # Gaussian draws: not rejected
    fat = np.random.default_rng(3).standard_t(3, 1500)
    assert not d.jarque_bera(fat).details["normal"] and d.jarque_bera(fat).pvalue < 1e-6


def test_ljung_box_matches_statsmodels_iid_vs_ar1(noise: np.ndarray) -> None:
    diag = _lib("statsmodels.stats.diagnostic")
    ref = diag.acorr_ljungbox(noise, lags=[10], return_df=True)
    r = d.ljung_box(noise, lags=10)
    assert r.statistic == pytest.approx(float(ref["lb_stat"].iloc[0]), rel=1e-12)
    assert r.pvalue == pytest.approx(float(ref["lb_pvalue"].iloc[0]), rel=1e-12)
    assert not r.details["autocorrelated"] and r.pvalue > 0.05
    ar = d.ljung_box(_ar1(1500, 0.3, 5), lags=10)
    assert ar.details["autocorrelated"] and ar.pvalue < 1e-6


def test_hmm_matches_hmmlearn_and_finds_two_volatility_regimes() -> None:
    hmm = _lib("hmmlearn.hmm")
    rng = np.random.default_rng(11)
    calm, wild = rng.standard_normal(600) * 0.001, rng.standard_normal(600) * 0.005
    x = np.concatenate([calm, wild, calm[:300]])  # ends in the calm regime
    r = d.hmm_regimes(x, n_states=2, seed=0)
    s = float(np.std(x))
    ref = hmm.GaussianHMM(n_components=2, covariance_type="diag", n_iter=50, random_state=0).fit((x / s)[:, None])
    vols = np.sort(np.sqrt(ref.covars_.reshape(2, -1)[:, 0])) * s
    assert r.details["vols"] == pytest.approx(vols.tolist(), rel=1e-9)
    assert r.details["vols"][0] == pytest.approx(0.001, rel=0.15) and r.details["vols"][1] == pytest.approx(0.005, rel=0.15)
    assert r.details["current"] == 0 and r.details["current_proba"][0] > 0.9
    assert np.allclose(np.sum(r.details["transmat"], axis=1), 1.0)


def test_garch_matches_arch_and_recovers_simulated_parameters() -> None:
    arch = _lib("arch")
    sim = arch.arch_model(None, mean="Constant", vol="GARCH", p=1, q=1)
    data = sim.simulate([0.0, 0.05, 0.1, 0.85], 3000, burn=500)["data"].to_numpy()  # params: mu, omega, alpha, beta
    r = d.garch(data)
    res = arch.arch_model(data, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=True).fit(disp="off")
    scale = float(res.scale)
    assert r.details["alpha"] == pytest.approx(float(res.params["alpha[1]"]), rel=1e-9)
    assert r.details["beta"] == pytest.approx(float(res.params["beta[1]"]), rel=1e-9)
    assert r.details["omega"] == pytest.approx(float(res.params["omega"]) / scale**2, rel=1e-9)
    assert r.details["last_vol"] == pytest.approx(float(np.asarray(res.conditional_volatility)[-1]) / scale, rel=1e-9)
    assert r.details["alpha"] == pytest.approx(0.1, abs=0.05) and r.details["beta"] == pytest.approx(0.85, abs=0.08)
    assert r.statistic == pytest.approx(r.details["alpha"] + r.details["beta"])


# ---- features without look-ahead -------------------------------------------------------------


def _changed_after(r: np.ndarray, i: int, seed: int) -> np.ndarray:
    out = r.copy()
    out[i + 1:] = np.random.default_rng(seed).standard_normal(len(r) - i - 1) * 0.01  # a different future
    return out


def test_garch_volatility_uses_the_past_only() -> None:
    r = _ar1(700, 0.0, 21) * 0.002
    v = d.garch_volatility(r, fit_window=200, refit_every=150)
    assert len(v) == len(r) and np.isnan(v[:199]).all() and np.isfinite(v[199:]).all() and (v[199:] > 0).all()
    for i in (250, 420):
        v2 = d.garch_volatility(_changed_after(r, i, i), fit_window=200, refit_every=150)
        np.testing.assert_array_equal(v[:i + 1], v2[:i + 1])
        assert not np.array_equal(v[i + 1:], v2[i + 1:])  # later values do depend on the later data


def test_garch_volatility_follows_the_fitted_recursion() -> None:
    r = _ar1(400, 0.0, 22) * 0.002
    v = d.garch_volatility(r, fit_window=400)
    res, scale = d._fit_garch(r)  # the one fit: the whole series
    p = res.params
    mu, omega, a, b = p["mu"] / scale, p["omega"] / scale**2, p["alpha[1]"], p["beta[1]"]
    s2 = np.var(r - mu)
    for e in r - mu:
        s2 = omega + a * e * e + b * s2
    assert v[-1] == pytest.approx(np.sqrt(s2), rel=1e-12)


def test_hmm_regime_proba_uses_the_past_only_and_sees_the_switch() -> None:
    rng = np.random.default_rng(31)
    r = np.concatenate([rng.standard_normal(200) * 0.001, rng.standard_normal(100) * 0.006, rng.standard_normal(100) * 0.001])
    p = d.hmm_regime_proba(r, fit_window=250, refit_every=50)
    assert p.shape == (400, 2) and np.isnan(p[:249]).all() and np.allclose(p[249:].sum(axis=1), 1.0)
    # fits at bars 249 (window 0..249: calm, then wild) and 349 (window 100..349: calm, wild, calm)
    assert p[290, 1] > 0.8 and p[398, 0] > 0.8  # the volatile regime (column 1), then calm again
    i = 320
    p2 = d.hmm_regime_proba(_changed_after(r, i, 5), fit_window=250, refit_every=50)
    np.testing.assert_array_equal(p[:i + 1], p2[:i + 1])
    assert not np.array_equal(p[i + 1:], p2[i + 1:])


# ---- by name, and errors --------------------------------------------------------------------------


def test_run_diagnostics_by_name_through_the_plugins(noise: np.ndarray) -> None:
    from trader.plugins import get_plugin_manager, list_plugins

    rows = {r.name for r in list_plugins(get_plugin_manager()) if r.kind == "diagnostic"}
    assert {"adf", "jarque_bera", "ljung_box", "hmm", "garch"} <= rows
    out = d.run_diagnostics(noise, "ljung_box, adf")
    assert list(out) == ["ljung_box", "adf"]
    assert out["adf"] == d.adf(noise) and out["ljung_box"] == d.ljung_box(noise)


def test_unknown_names_and_bad_series_are_clear_errors(noise: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown diagnostic 'ljungbox'; did you mean ljung_box\?"):
        d.run_diagnostics(noise, ["adf", "ljungbox"])
    with pytest.raises(InvalidInputError, match="none given"):
        d.run_diagnostics(noise, " , ")
    bad = noise.copy()
    bad[5] = np.nan
    with pytest.raises(InvalidInputError, match="non-finite value.*index 5"):
        d.adf(bad)
    with pytest.raises(InvalidInputError, match="at least 20 observations"):
        d.jarque_bera(noise[:5])
    with pytest.raises(InvalidInputError, match="lags: expected an integer >= 1"):
        d.ljung_box(noise, lags=0)
    with pytest.raises(InvalidInputError, match="fit_window: expected an integer >= 50"):
        d.garch_volatility(noise, fit_window=10)
    with pytest.raises(InvalidInputError, match="prices must be finite and > 0"):
        d.log_returns([1.0, 0.0, 2.0])


def _trader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trader", *args], capture_output=True, text=True, timeout=300)


def test_cli_inspect_runs_the_diagnostics_on_log_returns() -> None:
    p = _trader("data", "inspect", "synthetic", "-o", "bars=2000", "--diagnostics", "adf,ljung_box,garch", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    from trader.data import open_bars

    close = open_bars(None, bars=2000).load().close
    want = d.run_diagnostics(d.log_returns(close), ["adf", "ljung_box", "garch"])
    assert list(doc["diagnostics"]) == ["adf", "ljung_box", "garch"]
    for name, r in want.items():
        assert doc["diagnostics"][name]["statistic"] == pytest.approx(r.statistic, rel=1e-12)
    table = _trader("data", "inspect", "synthetic", "-o", "bars=2000", "--diagnostics", "jarque_bera")
    assert table.returncode == 0, table.stderr
    assert "diagnostics of the log returns" in table.stdout and "jarque_bera" in table.stdout


def test_cli_inspect_unknown_diagnostic_exits_2_in_one_line() -> None:
    p = _trader("data", "inspect", "synthetic", "--diagnostics", "adf,garh")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert "unknown diagnostic 'garh'" in p.stderr and "did you mean garch" in p.stderr
    assert p.stdout == ""  # checked before any data was read


def test_cli_inspect_too_few_bars_for_a_diagnostic_exits_2_naming_the_data() -> None:
    p = _trader("data", "inspect", "synthetic", "-o", "bars=30", "--diagnostics", "garch")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "error: --diagnostics: log returns of synthetic: series: needs at least 50 observations, got 29"
