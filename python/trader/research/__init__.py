"""Research at scale: parameter sweeps, Optuna search, walk-forward and purged cross-validation,
overfitting statistics and Monte Carlo paths (see DESIGN.md, ``research/``)."""
