"""Research at scale (see DESIGN.md, ``research/``):

- :mod:`.sweep` — parameter sweeps (grid, random, Optuna through :mod:`.search`), `trader optimize`;
- :mod:`.walkforward` — walk-forward optimization, the stitched out-of-sample curve;
- :mod:`.splits` — walk-forward windows, purged k-fold and combinatorial purged CV;
- :mod:`.crossval` — purged k-fold and CPCV of a strategy's parameter choice, the CPCV paths;
- :mod:`.stats` — overfitting statistics: PSR, DSR, PBO, Reality Check, SPA, multiple testing;
- :mod:`.montecarlo` — path generators, runs over paths, distributions, stress scenarios.
"""

from trader.research.crossval import CVResult, cpcv, purged_cv  # noqa: E402,F401
