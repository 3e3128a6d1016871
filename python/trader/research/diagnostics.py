"""Statistical diagnostics of a series (usually log returns), and causal features built from them.

Diagnostics of a whole series, one function each (the library that computes it in brackets):

- :func:`adf` — augmented Dickey–Fuller unit-root test (statsmodels ``adfuller``);
- :func:`jarque_bera` — normality from skew and kurtosis (statsmodels ``jarque_bera``);
- :func:`ljung_box` — autocorrelation up to ``lags`` (statsmodels ``acorr_ljungbox``);
- :func:`hmm_regimes` — a Gaussian hidden Markov model of regimes (hmmlearn ``GaussianHMM``): the
  fitted states' means and volatilities, the transition matrix and the current regime's
  probabilities;
- :func:`garch` — GARCH(1,1) volatility (the ``arch`` package): parameters, persistence, the last
  conditional volatility and the next bar's forecast.

Each returns a :class:`DiagnosticResult`. The same diagnostics are plugins (hook
``trader_diagnostics``, built-ins in ``trader_plugins.diagnostics``): :func:`run_diagnostics` runs
them by name — any plugin's too — and ``trader data inspect PATH --diagnostics adf,hmm`` prints
them for a bar file's log returns.

Features for strategies, without look-ahead (value ``i`` uses ``returns[:i + 1]`` only, so it does
not change when data after ``i`` does): :func:`garch_volatility` and :func:`hmm_regime_proba` refit
every ``refit_every`` bars on the trailing ``fit_window`` returns and filter forward with the
fitted parameters in between.

statsmodels, hmmlearn and arch come with ``pip install 'trader[research]'``; a missing one is a
clear :class:`~trader.exceptions.InvalidInputError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from trader.exceptions import InvalidInputError

__all__ = [
    "DiagnosticResult",
    "adf",
    "jarque_bera",
    "ljung_box",
    "hmm_regimes",
    "garch",
    "garch_volatility",
    "hmm_regime_proba",
    "log_returns",
    "run_diagnostics",
    "diagnostic_names",
    "check_diagnostic_names",
]

#: Fewest observations a whole-series diagnostic accepts.
MIN_OBS = 20


@dataclasses.dataclass(frozen=True)
class DiagnosticResult:
    """One diagnostic's answer.

    ``statistic`` and ``pvalue`` are the test's (None for a model fit with no single test, e.g. the
    HMM); ``conclusion`` is one line for a table; ``details`` holds everything else, plain values
    (floats, ints, lists) that ``json.dumps`` accepts.
    """

    name: str
    statistic: float | None
    pvalue: float | None
    conclusion: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _need(module: str) -> Any:
    """Import ``module`` or raise a clear error naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise InvalidInputError(f"diagnostics need {top}: pip install 'trader[research]'") from None


def _series(values: npt.ArrayLike, what: str = "series", min_obs: int = MIN_OBS) -> np.ndarray:
    """``values`` as a contiguous 1-D float64 array: finite, at least ``min_obs`` long."""
    try:
        x = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what}: expected numbers, got {type(values).__name__}") from None
    if x.ndim != 1:
        raise InvalidInputError(f"{what}: expected a 1-D series, got shape {x.shape}")
    if len(x) < min_obs:
        raise InvalidInputError(f"{what}: needs at least {min_obs} observations, got {len(x)}")
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise InvalidInputError(f"{what}: {len(bad)} non-finite value(s), first at index {int(bad[0])}")
    return x


def _positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise InvalidInputError(f"{what}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def log_returns(close: npt.ArrayLike) -> np.ndarray:
    """``log(close[t] / close[t-1])`` for t = 1..n-1 (one shorter than ``close``); prices must be > 0."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise InvalidInputError(f"close: expected a 1-D series, got shape {c.shape}")
    if len(c) and not (np.isfinite(c).all() and (c > 0).all()):
        raise InvalidInputError("close: prices must be finite and > 0 to take log returns")
    return np.diff(np.log(c))


# ---- whole-series diagnostics -------------------------------------------------------------------


def _one_blas_thread():
    """A context in which numpy's BLAS runs on one thread (threadpoolctl, installed with
    scikit-learn; without it, nothing changes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def adf(series: npt.ArrayLike, *, regression: str = "c", alpha: float = 0.05) -> DiagnosticResult:
    """Augmented Dickey–Fuller test of a unit root (statsmodels ``adfuller``, lags chosen by AIC).

    The null hypothesis is a unit root (non-stationary); ``pvalue < alpha`` rejects it.
    ``regression``: "c" (constant), "ct" (constant and trend), "ctt", "n" (none).
    """
    if regression not in ("c", "ct", "ctt", "n"):
        raise InvalidInputError(f"regression: must be one of c, ct, ctt, n, got {regression!r}")
    x = _series(series)
    stattools = _need("statsmodels.tsa.stattools")
    import inspect

    # statsmodels >= 0.15 warns unless told which return type is wanted; 0.14 has no such argument
    kw = {"result_object": False} if "result_object" in inspect.signature(stattools.adfuller).parameters else {}
    # NB: the lag search is ~50 least-squares fits of a tall, thin matrix: BLAS threads only fight
    # over it (55 s instead of 9 s for 58k returns on a busy 2-core machine): one thread
    with _one_blas_thread():
        stat, p, lags, nobs, crit, _icbest = stattools.adfuller(x, regression=regression, autolag="AIC", **kw)
    stationary = bool(p < alpha)
    return DiagnosticResult(
        "adf", float(stat), float(p),
        f"{'stationary' if stationary else 'unit root not rejected'} at {alpha:g}",
        {"lags": int(lags), "nobs": int(nobs), "critical_values": {k: float(v) for k, v in crit.items()},
         "regression": regression, "stationary": stationary, "alpha": alpha},
    )


def jarque_bera(series: npt.ArrayLike, *, alpha: float = 0.05) -> DiagnosticResult:
    """Jarque–Bera test of normality (statsmodels ``jarque_bera``): the null is a normal
    distribution; ``details`` has the sample skew and (non-excess) kurtosis."""
    x = _series(series)
    stattools = _need("statsmodels.stats.stattools")
    jb, p, skew, kurt = stattools.jarque_bera(x)
    normal = bool(p >= alpha)
    return DiagnosticResult(
        "jarque_bera", float(jb), float(p),
        f"{'normality not rejected' if normal else 'not normal'} at {alpha:g} (skew {float(skew):.3g}, kurtosis {float(kurt):.3g})",
        {"skew": float(skew), "kurtosis": float(kurt), "normal": normal, "alpha": alpha},
    )


def ljung_box(series: npt.ArrayLike, *, lags: int = 10, alpha: float = 0.05) -> DiagnosticResult:
    """Ljung–Box test of autocorrelation up to ``lags`` (statsmodels ``acorr_ljungbox``): the null
    is no autocorrelation; ``pvalue < alpha`` says the series is autocorrelated."""
    lags = _positive_int(lags, "lags")
    x = _series(series)
    if lags >= len(x):
        raise InvalidInputError(f"lags: must be < the series' length ({len(x)}), got {lags}")
    diag = _need("statsmodels.stats.diagnostic")
    df = diag.acorr_ljungbox(x, lags=[lags], return_df=True)
    stat, p = float(df["lb_stat"].iloc[-1]), float(df["lb_pvalue"].iloc[-1])
    correlated = bool(p < alpha)
    return DiagnosticResult(
        "ljung_box", stat, p,
        f"{'autocorrelated' if correlated else 'no autocorrelation found'} up to lag {lags} at {alpha:g}",
        {"lags": lags, "autocorrelated": correlated, "alpha": alpha},
    )


def _fit_hmm(x: np.ndarray, n_states: int, seed: int, n_iter: int) -> tuple[Any, float, np.ndarray, bool]:
    """A GaussianHMM fitted to ``x / scale`` (1-D; ``scale`` the standard deviation of ``x``, so that
    hmmlearn's covariance floor ``min_covar`` = 1e-3 is small beside the data whatever its units:
    1-minute returns have variances near 1e-6), ``scale``, the order of the states by volatility
    (calm first), and whether EM converged (read from its monitor; hmmlearn's own non-convergence
    message goes to its logger, silenced here)."""
    import logging

    hmm = _need("hmmlearn.hmm")
    scale = float(np.std(x))
    if not scale > 0:
        raise InvalidInputError("series: constant, a regime model needs some variation")
    model = hmm.GaussianHMM(n_components=n_states, covariance_type="diag", n_iter=n_iter, random_state=seed)
    log = logging.getLogger("hmmlearn.base")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn/hmmlearn deprecation chatter is not the user's concern
            model.fit((x / scale)[:, None])
    finally:
        log.setLevel(level)
    order = np.argsort(model.covars_.reshape(n_states, -1)[:, 0], kind="stable")
    return model, scale, order, bool(model.monitor_.converged)


def hmm_regimes(series: npt.ArrayLike, *, n_states: int = 2, seed: int = 0, n_iter: int = 50) -> DiagnosticResult:
    """A Gaussian HMM of ``n_states`` regimes fitted to the whole series (hmmlearn ``GaussianHMM``,
    seeded). States are ordered by volatility, calm first. ``details``: ``means``, ``vols``,
    ``transmat`` (rows: from), ``current_proba`` (the regime probabilities at the last
    observation, given all of the series: at the last point, filtered and smoothed agree),
    ``current`` (the most likely state now) and ``converged``."""
    n_states = _positive_int(n_states, "n_states", 2)
    x = _series(series, min_obs=max(MIN_OBS, 10 * n_states))
    model, scale, order, converged = _fit_hmm(x, n_states, seed, n_iter)
    means = model.means_[:, 0][order] * scale
    vols = np.sqrt(model.covars_.reshape(n_states, -1)[:, 0])[order] * scale
    trans = model.transmat_[np.ix_(order, order)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = model.predict_proba((x / scale)[:, None])[-1][order]
    current = int(np.argmax(proba))
    return DiagnosticResult(
        "hmm", None, None,
        f"{n_states} regimes, vols {', '.join(f'{v:.3g}' for v in vols)}; now state {current} (p {proba[current]:.2f})"
        + ("" if converged else "; EM did not converge"),
        {"n_states": n_states, "means": means.tolist(), "vols": vols.tolist(), "transmat": trans.tolist(),
         "current_proba": proba.tolist(), "current": current, "converged": converged, "seed": seed},
    )


def _fit_garch(x: np.ndarray) -> tuple[Any, float]:
    """A GARCH(1,1) with a constant mean and normal errors fitted to ``x``, and the scale ``x`` was
    multiplied by for the optimizer (arch's ``rescale``; parameters are in scaled units)."""
    arch = _need("arch")
    model = arch.arch_model(x, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning is reported through convergence_flag
        res = model.fit(disp="off", show_warning=False)
    return res, float(res.scale)


def garch(series: npt.ArrayLike) -> DiagnosticResult:
    """GARCH(1,1) volatility of the series (the ``arch`` package: constant mean, normal errors).

    ``details``: ``mu``, ``omega``, ``alpha``, ``beta`` in the series' units (``omega`` in
    squared units), ``persistence`` (alpha + beta), ``last_vol`` (the conditional volatility of the
    last observation), ``forecast_vol`` (the next one's), ``unconditional_vol`` (when persistence
    < 1) and ``converged``. The statistic is ``persistence``."""
    x = _series(series, min_obs=max(MIN_OBS, 50))
    res, scale = _fit_garch(x)
    p = res.params
    mu, omega, a, b = float(p["mu"]) / scale, float(p["omega"]) / scale**2, float(p["alpha[1]"]), float(p["beta[1]"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecast = float(np.sqrt(res.forecast(horizon=1, reindex=False).variance.values[-1, 0])) / scale
    last = float(np.asarray(res.conditional_volatility)[-1]) / scale
    persistence = a + b
    uncond = math.sqrt(omega / (1.0 - persistence)) if persistence < 1.0 else None
    converged = int(res.convergence_flag) == 0
    return DiagnosticResult(
        "garch", persistence, None,
        f"persistence {persistence:.3f}, vol now {last:.3g}, next {forecast:.3g}" + ("" if converged else "; fit did not converge"),
        {"mu": mu, "omega": omega, "alpha": a, "beta": b, "persistence": persistence, "last_vol": last,
         "forecast_vol": forecast, "unconditional_vol": uncond, "converged": converged},
    )


# ---- causal features ---------------------------------------------------------------------------


def _refits(n: int, fit_window: int, refit_every: int) -> list[tuple[int, int]]:
    """``(k, end)`` per refit: fit on ``[k - fit_window + 1, k]``, serve bars ``k .. end - 1``."""
    starts = list(range(fit_window - 1, n, refit_every))
    return [(k, min(k + refit_every, n)) for k in starts]


def _feature_args(returns: npt.ArrayLike, fit_window: Any, refit_every: Any, min_window: int) -> tuple[np.ndarray, int, int]:
    fit_window = _positive_int(fit_window, "fit_window", min_window)
    refit_every = fit_window if refit_every is None else _positive_int(refit_every, "refit_every")
    try:
        r = np.ascontiguousarray(returns, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"returns: expected numbers, got {type(returns).__name__}") from None
    if r.ndim != 1:
        raise InvalidInputError(f"returns: expected a 1-D series, got shape {r.shape}")
    bad = np.flatnonzero(~np.isfinite(r))
    if len(bad):
        raise InvalidInputError(f"returns: {len(bad)} non-finite value(s), first at index {int(bad[0])}")
    return r, fit_window, refit_every


def garch_volatility(returns: npt.ArrayLike, fit_window: int, refit_every: int | None = None) -> np.ndarray:
    """The GARCH(1,1) forecast of the next bar's volatility made at each bar, without look-ahead.

    Value ``i`` is ``sqrt(omega + alpha * eps[i]**2 + beta * sigma2[i])`` with parameters fitted
    (:func:`garch`'s model) on ``returns[k - fit_window + 1 : k + 1]`` at the latest refit bar
    ``k <= i`` (refits at ``fit_window - 1``, then every ``refit_every`` bars; default
    ``fit_window``); the variance recursion runs from the start of that window, seeded with its
    sample variance. It uses ``returns[:i + 1]`` only: changing later returns leaves it as it is.
    NaN before the first fit (``i < fit_window - 1``). Same length as ``returns``.
    """
    r, fit_window, refit_every = _feature_args(returns, fit_window, refit_every, 50)
    out = np.full(len(r), np.nan)
    for k, end in _refits(len(r), fit_window, refit_every):
        lo = k - fit_window + 1
        res, scale = _fit_garch(r[lo:k + 1])
        p = res.params
        mu, omega, a, b = float(p["mu"]) / scale, float(p["omega"]) / scale**2, float(p["alpha[1]"]), float(p["beta[1]"])
        eps = r[lo:end] - mu
        s2 = float(np.var(eps[:fit_window]))
        for j, e in enumerate(eps):
            s2 = omega + a * e * e + b * s2  # after bar lo + j: the forecast for the next bar
            if lo + j >= k:
                out[lo + j] = math.sqrt(s2)
    return out


def hmm_regime_proba(returns: npt.ArrayLike, fit_window: int, refit_every: int | None = None, *,
                     n_states: int = 2, seed: int = 0, n_iter: int = 50) -> np.ndarray:
    """Filtered regime probabilities ``P(state at i | returns[:i + 1])`` of a Gaussian HMM, without
    look-ahead: an ``(n, n_states)`` array, states ordered by volatility (column 0 the calmest).

    The HMM (:func:`hmm_regimes`'s model, seeded) is fitted on ``returns[k - fit_window + 1 :
    k + 1]`` at each refit bar ``k`` (at ``fit_window - 1``, then every ``refit_every`` bars;
    default ``fit_window``); the forward algorithm runs from the start of that window to each bar
    it serves — the filtered, not the smoothed, probability, which would use later returns. Rows
    before the first fit are NaN.
    """
    n_states = _positive_int(n_states, "n_states", 2)
    r, fit_window, refit_every = _feature_args(returns, fit_window, refit_every, max(MIN_OBS, 10 * n_states))
    out = np.full((len(r), n_states), np.nan)
    for k, end in _refits(len(r), fit_window, refit_every):
        lo = k - fit_window + 1
        model, scale, order, _ = _fit_hmm(r[lo:k + 1], n_states, seed, n_iter)
        means = model.means_[:, 0]
        var = model.covars_.reshape(n_states, -1)[:, 0]
        seg = r[lo:end] / scale  # the model's units
        loglik = -0.5 * (np.log(2 * np.pi * var)[None, :] + (seg[:, None] - means[None, :]) ** 2 / var[None, :])
        lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))  # per-row scale: cancels in the normalization
        trans = model.transmat_
        alpha = model.startprob_ * lik[0]
        alpha /= alpha.sum()
        for j in range(len(seg)):
            if j:
                alpha = (alpha @ trans) * lik[j]
                total = alpha.sum()
                alpha = alpha / total if total > 0 else np.full(n_states, 1.0 / n_states)
            if lo + j >= k:
                out[lo + j] = alpha[order]
    return out


# ---- by name (plugins) ----------------------------------------------------------------------------


def _registry(pm: Any = None) -> dict[str, Any]:
    from trader.plugins import diagnostics

    return diagnostics(pm)


def diagnostic_names(pm: Any = None) -> list[str]:
    """The names of every diagnostic the plugins provide (built-ins first)."""
    return list(_registry(pm))


def check_diagnostic_names(names: str | Iterable[str], pm: Any = None) -> list[str]:
    """``names`` (a list, or one comma-separated string) checked against the plugins' diagnostics:
    the list of names, or :class:`InvalidInputError` naming an unknown one with close matches and
    every known name. Nothing runs: call it before any work."""
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else [str(n).strip() for n in names]
    wanted = [n for n in wanted if n]
    known = diagnostic_names(pm)
    if not wanted:
        raise InvalidInputError(f"diagnostics: none given (known: {', '.join(known)})")
    for n in wanted:
        if n not in known:
            close = difflib.get_close_matches(n, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidInputError(f"diagnostics: unknown diagnostic {n!r}{hint} (known: {', '.join(known)})")
    return list(dict.fromkeys(wanted))


def run_diagnostics(series: npt.ArrayLike, names: str | Sequence[str], pm: Any = None) -> dict[str, DiagnosticResult]:
    """Run the diagnostics ``names`` (a list or "adf,hmm") on ``series``: ``{name: result}`` in
    the order given. Every name is checked before any runs (unknown → InvalidInputError), and so
    is the series."""
    checked = check_diagnostic_names(names, pm)
    x = _series(series)
    registry = _registry(pm)
    out: dict[str, DiagnosticResult] = {}
    for n in checked:
        result = registry[n].run(x)
        if not isinstance(result, DiagnosticResult):
            raise InvalidInputError(f"diagnostic {n!r} returned {type(result).__name__}, expected a DiagnosticResult")
        out[n] = result
    return out
