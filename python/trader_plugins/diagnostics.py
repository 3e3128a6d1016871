"""Built-in diagnostics (hook ``trader_diagnostics``): ADF, Jarque–Bera, Ljung–Box, a Gaussian HMM
of regimes and GARCH(1,1) volatility, each a thin plugin object over its function in
:mod:`trader.research.diagnostics` (where the statistics and their contracts are documented)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from trader import hookimpl
from trader.research import diagnostics as d


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """A diagnostic plugin: ``name``, ``description`` and ``run(series) -> DiagnosticResult``."""

    name: str
    description: str
    func: Callable[[np.ndarray], d.DiagnosticResult]

    def run(self, series: np.ndarray) -> d.DiagnosticResult:
        return self.func(series)


BUILTINS: list[Any] = [
    Diagnostic("adf", "Augmented Dickey-Fuller unit-root test (statsmodels)", d.adf),
    Diagnostic("jarque_bera", "Jarque-Bera normality test (statsmodels)", d.jarque_bera),
    Diagnostic("ljung_box", "Ljung-Box autocorrelation test, 10 lags (statsmodels)", d.ljung_box),
    Diagnostic("hmm", "Gaussian HMM regimes: means, vols, current probabilities (hmmlearn)", d.hmm_regimes),
    Diagnostic("garch", "GARCH(1,1) volatility: parameters, persistence, forecast (arch)", d.garch),
]


@hookimpl
def trader_diagnostics() -> list:
    """The built-in diagnostics."""
    return list(BUILTINS)
