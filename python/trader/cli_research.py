"""``trader research``: research tools on results from anywhere.

``trader research overfit FILE`` runs every overfitting statistic of :mod:`trader.research.stats`
on a table of returns — one column per strategy (or trial, or parameter combination), one row per
period — as `trader optimize` does on its own runs: the best column's annualized Sharpe ratio,
its probabilistic and deflated Sharpe ratios (N = the columns, V = the variance of their Sharpe
ratios), the probability of backtest overfitting (CSCV), White's Reality Check and Hansen's SPA
p-values, and every column's p-value (of "its true Sharpe ratio is <= 0": 1 − PSR(0)) adjusted
for the number of columns by Bonferroni, Holm and Benjamini–Hochberg.

``trader optimize --returns PATH`` writes such a table from a sweep (:func:`write_sweep_returns`).

This module imports click and the standard library only; numpy and pyarrow are imported when a
command runs (it is loaded by every ``trader`` command).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import click

from trader.exceptions import InvalidInputError

__all__ = ["research", "read_returns", "write_sweep_returns", "overfit_report", "TIME_COLUMN_NAMES"]

#: Column names taken for the time of a row (compared lowercased), never for a strategy; a column
#: of a date, time or timestamp type is one too, whatever its name.
TIME_COLUMN_NAMES = frozenset({"timestamp", "ts", "time", "date", "datetime", "day", "period", "dt", "index",
                               "open_time", "close_time", "__index_level_0__"})
#: Fewest rows (periods) and columns (strategies) a file must have.
MIN_PERIODS = 8
MIN_COLUMNS = 2
_FORMATS = ((".parquet", "Parquet"), (".feather", "Feather"), (".arrow", "Feather"), (".csv", "CSV"))


@click.group()
def research() -> None:
    """Research tools on any set of results: the overfitting statistics of a table of returns."""


# -- the returns table ----------------------------------------------------------------------------


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _read_table(path: str) -> Any:
    """The file as a pyarrow Table, or an InvalidInputError naming it."""
    if not os.path.exists(path):
        raise InvalidInputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InvalidInputError(f"{path}: is a directory, not a file")
    kind = next((k for suffix, k in _FORMATS if path.lower().endswith(suffix)), None)
    if kind is None:
        raise InvalidInputError(f"{path}: expected a .parquet, .feather or .csv file of returns")
    import pyarrow as pa

    try:
        if kind == "Parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if kind == "Feather":
            import pyarrow.feather as feather

            return feather.read_table(path)
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{path}: not a readable {kind} file ({_first_line(e)})") from None


def _is_time(field: Any) -> bool:
    import pyarrow as pa

    t = field.type
    return (field.name.strip().lower() in TIME_COLUMN_NAMES or pa.types.is_timestamp(t) or pa.types.is_date(t)
            or pa.types.is_time(t) or pa.types.is_duration(t))


def read_returns(path: str | os.PathLike[str]) -> tuple[list[str], Any, str | None, Any]:
    """(the strategy columns' names, their T×N float64 returns, the time column's name, its values)
    — the last two None without one — of a .parquet, .feather or .csv file: one column per strategy, one row per period. A
    column named like a time (:data:`TIME_COLUMN_NAMES`) or holding dates or timestamps is the
    rows' time, not a strategy. Refused with an InvalidInputError naming the file (and the
    column): a missing or unreadable file, a column that is not numeric, fewer than 2 strategy
    columns or 8 rows, a missing, NaN or infinite value."""
    import numpy as np
    import pyarrow as pa

    p = os.fspath(path)
    table = _read_table(p)
    fields = list(table.schema)
    times = [i for i, f in enumerate(fields) if _is_time(f)]
    picked = [i for i, f in enumerate(fields) if not _is_time(f)]
    names = [fields[i].name for i in picked]
    for i in picked:
        f = fields[i]
        if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)):
            raise InvalidInputError(f"{p}: column {f.name!r} is not numeric ({f.type}): every column but the time "
                                    "must hold a strategy's returns")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInputError(f"{p}: column {twice[0]!r} appears twice")
    if len(names) < MIN_COLUMNS:
        raise InvalidInputError(f"{p}: {len(names)} strategy column(s) ({', '.join(names) or 'none'}): at least "
                                f"{MIN_COLUMNS} needed, one per strategy or trial")
    if table.num_rows < MIN_PERIODS:
        raise InvalidInputError(f"{p}: {table.num_rows} row(s): at least {MIN_PERIODS} periods of returns needed")
    cols = []
    for i in picked:
        name, col = fields[i].name, table.column(i)
        if col.null_count:
            first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InvalidInputError(f"{p}: column {name!r}: {col.null_count} missing value(s) (empty, NA or NaN), "
                                    f"the first at row {first + 1}")
        values = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InvalidInputError(f"{p}: column {name!r}: {values[bad[0]]} at row {int(bad[0]) + 1} "
                                    f"({bad.size} value(s) not finite)")
        cols.append(values)
    time_col = table.column(times[0]) if times else None
    return names, np.column_stack(cols), (fields[times[0]].name if times else None), time_col


def write_sweep_returns(result: Any, path: str | os.PathLike[str]) -> None:
    """Write a sweep's daily returns (``result.days`` × ``result.returns``) to PATH.parquet, .csv
    or .feather: a ``date`` column (UTC days), then one column per run in the order run, named by
    its parameters ("fast=5,slow=30") — the input of ``trader research overfit``."""
    import numpy as np
    import pyarrow as pa

    p = os.fspath(path)
    names: list[str] = []
    for row in result.rows:
        name = ",".join(f"{k}={row[k]}" for k in result.params) or "run"
        base, k = name, 2
        while name in names:  # a search may run one combination twice
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    days = np.asarray(result.days, dtype=np.int64).astype("datetime64[ns]").astype("datetime64[D]")
    cols = {"date": pa.array(days, pa.date32())}
    for j, name in enumerate(names):
        cols[name] = pa.array(np.asarray(result.returns[:, j], dtype=np.float64))
    table = pa.table(cols)
    low = p.lower()
    if low.endswith(".parquet"):
        import pyarrow.parquet as pq

        pq.write_table(table, p)
    elif low.endswith(".csv"):
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, p)
    elif low.endswith((".feather", ".arrow")):
        import pyarrow.feather as feather

        feather.write_feather(table, p)
    else:
        raise InvalidInputError(f"returns: {p}: expected a .parquet, .csv or .feather file")


# -- the statistics --------------------------------------------------------------------------------


def auto_splits(n_periods: int, wanted: int = 16) -> int:
    """CSCV's blocks as `trader optimize` chooses them: ``wanted``, at most half the periods
    (rounded down to an even number), at least 2."""
    return max(2, min(wanted, (n_periods // 2) // 2 * 2))


def column_pvalues(matrix: Any) -> Any:
    """Each column's one-sided p-value of "its true Sharpe ratio is <= 0": 1 − PSR(0) (Bailey &
    López de Prado's probabilistic Sharpe ratio, with the column's skewness and kurtosis), computed
    as Φ(−z) so a tiny p keeps its precision; 1 for a constant column. Where the moments leave the
    Sharpe estimate no variance the normal case (skewness 0, kurtosis 3) is used."""
    import numpy as np

    from trader.research import stats

    out = np.ones(matrix.shape[1])
    for j in range(matrix.shape[1]):
        r = matrix[:, j]
        if not np.ptp(r) > 0:
            continue
        sr, n, skew, kurt = stats._moments(r)
        var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
        if not var > 0:
            var = 1.0 + sr * sr / 2.0
        out[j] = stats._norm_cdf(-sr * math.sqrt(n - 1) / math.sqrt(var))
    return out


def _finite(x: Any) -> Any:
    """A number for JSON: NaN and infinities as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def overfit_report(names: list[str], matrix: Any, *, periods_per_year: float = 365.0, n_splits: int | None = None,
                   n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict[str, Any]:
    """Everything ``trader research overfit`` reports (its ``--json`` object, without the file's
    description): :func:`trader.research.stats.overfitting_report` on ``matrix`` (T×N) and the
    columns' p-values adjusted by Bonferroni, Holm and Benjamini–Hochberg."""
    from trader.research import stats

    t = matrix.shape[0]
    splits = auto_splits(t) if n_splits is None else n_splits
    o = stats.overfitting_report(matrix, periods_per_year, n_splits=splits, n_boot=n_boot, seed=seed)
    pvalues = column_pvalues(matrix)
    adjusted = {m: f(pvalues, alpha) for m, f in (("bonferroni", stats.bonferroni), ("holm", stats.holm),
                                                  ("bh", stats.benjamini_hochberg))}
    root = math.sqrt(o.periods_per_year)
    columns = []
    for j, name in enumerate(names):
        c: dict[str, Any] = {"column": name, "sharpe_annual": float(o.trial_sharpes[j]) * root,
                             "pvalue": float(pvalues[j])}
        for m, res in adjusted.items():
            c[m] = float(res.pvalues_adjusted[j])
        for m, res in adjusted.items():
            c[f"reject_{m}"] = bool(res.reject[j])
        columns.append(c)
    return {
        "periods": o.n_periods, "strategies": o.n_trials, "periods_per_year": o.periods_per_year, "n_splits": splits,
        "n_boot": n_boot, "seed": seed, "alpha": alpha,
        "best": names[o.best_index], "best_index": o.best_index, "sharpe": o.sharpe, "sharpe_annual": o.sharpe_annual,
        "psr": o.psr, "dsr": o.dsr, "sr_star_annual": o.sr_star_annual, "var_trials": o.var_trials,
        "pbo": o.pbo, "prob_oos_loss": o.prob_oos_loss, "degradation_slope": _finite(o.degradation_slope),
        "reality_check_pvalue": o.reality_check_pvalue, "spa_pvalue": o.spa_pvalue,
        "spa_pvalue_lower": o.spa.pvalue_lower, "spa_pvalue_upper": o.spa.pvalue_upper,
        "significant": {m: int(res.reject.sum()) for m, res in adjusted.items()},
        "columns": columns,
    }


# -- the command -----------------------------------------------------------------------------------


def _check_float(value: float, option: str, *, low: float, high: float | None = None) -> None:
    if not math.isfinite(value) or value <= low or (high is not None and value >= high):
        where = f"in ({low:g}, {high:g})" if high is not None else f"> {low:g}"
        raise click.BadParameter(f"must be a finite number {where}, got {value}", param_hint=option)


@research.command("overfit")
@click.argument("path", metavar="FILE")
@click.option("--periods-per-year", type=float, default=365.0, show_default=True, help="Periods of the rows in a year, to annualize the Sharpe ratios (365: daily returns of markets open every day; 252 for stock-market days).")
@click.option("--splits", type=click.IntRange(min=2), default=None, help="CSCV's blocks for PBO, even (default: 16, at most half the rows, as `trader optimize`).")
@click.option("--boot", type=click.IntRange(min=1), default=1000, show_default=True, help="Resamples of the stationary bootstrap (Reality Check, SPA).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Level of the multiple-testing corrections (family-wise for Bonferroni and Holm, false discovery rate for BH).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Columns listed in the table, lowest p-value first (--json lists every one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def overfit(path, periods_per_year, splits, boot, seed, alpha, top, as_json) -> None:
    """The overfitting statistics of FILE: a table of returns (.parquet, .feather or .csv), one
    column per strategy or trial, one row per period (a date or timestamp column is the rows' time,
    not a strategy). Prints the best column (highest Sharpe ratio) with its annualized Sharpe,
    probabilistic and deflated Sharpe ratios (N = the columns), the probability of backtest
    overfitting, the Reality Check and SPA p-values, and every column's p-value adjusted by
    Bonferroni, Holm and Benjamini-Hochberg. `trader optimize --returns PATH` writes such a file."""
    _check_float(periods_per_year, "--periods-per-year", low=0.0)
    _check_float(alpha, "--alpha", low=0.0, high=1.0)
    if splits is not None and splits % 2:
        raise click.BadParameter(f"must be even (CSCV trains on half the blocks, tests on the other half), got {splits}",
                                 param_hint="--splits")
    names, matrix, time_col, times = read_returns(path)
    if splits is not None:
        from trader.research import stats

        try:
            stats._n_splits(splits, matrix.shape[0])
        except InvalidInputError as e:
            raise click.BadParameter(str(e).removeprefix("n_splits: "), param_hint="--splits") from None
    report = overfit_report(names, matrix, periods_per_year=periods_per_year, n_splits=splits, n_boot=boot, seed=seed,
                            alpha=alpha)
    span = None
    if times is not None:
        span = (str(times[0].as_py()), str(times[len(times) - 1].as_py()))
    out = {"file": path, "time_column": time_col, "first": span[0] if span else None,
           "last": span[1] if span else None, **report}
    if as_json:
        click.echo(json.dumps(out, allow_nan=False, default=str))
        return
    _print_overfit(out, top)


def _print_overfit(r: dict[str, Any], top: int) -> None:
    from rich.table import Table

    from trader.cli import _console

    con = _console()
    span = f", {r['first']} .. {r['last']}" if r["first"] is not None else ""
    con.print(f"{r['file']}: {r['periods']:,} periods{span}, {r['strategies']:,} strategies; "
              f"{r['periods_per_year']:g} periods a year", markup=False, highlight=False)
    t = Table(title=f"overfitting: is the best of {r['strategies']:,} real?")
    t.add_column("statistic", style="bold")
    t.add_column("value", justify="right")
    t.add_column("meaning")
    sig = r["significant"]
    rows = [
        ("best column", r["best"], "highest Sharpe ratio"),
        ("Sharpe ratio", f"{r['sharpe_annual']:.2f} a year", f"{r['sharpe']:.4f} per period"),
        ("probabilistic Sharpe (PSR)", f"{r['psr']:.3f}", "P(true Sharpe > 0), the search ignored"),
        ("deflated Sharpe (DSR)", f"{r['dsr']:.3f}",
         f"P(true Sharpe > {r['sr_star_annual']:.2f} a year, the best of {r['strategies']:,} noise trials; "
         f"V = {r['var_trials']:.3g})"),
        ("PBO", f"{r['pbo']:.2f}", f"CSCV, {r['n_splits']} blocks; out-of-sample loss in {r['prob_oos_loss']:.0%} of splits"),
        ("Reality Check p", f"{r['reality_check_pvalue']:.3f}", "White: no column has a positive mean return"),
        ("SPA p", f"{r['spa_pvalue']:.3f}", f"Hansen (lower {r['spa_pvalue_lower']:.3f}, upper "
                                           f"{r['spa_pvalue_upper']:.3f}); {r['n_boot']:,} bootstraps, seed {r['seed']}"),
        ("significant columns", f"{sig['bonferroni']} / {sig['holm']} / {sig['bh']}",
         f"Bonferroni / Holm / Benjamini-Hochberg at alpha {r['alpha']:g}"),
    ]
    for name, value, meaning in rows:
        t.add_row(name, value, meaning)
    con.print(t)
    cols = sorted(r["columns"], key=lambda c: (c["pvalue"], -c["sharpe_annual"]))
    shown = cols[:top]
    pt = Table(title=f"p-values of Sharpe <= 0, adjusted for {r['strategies']:,} columns"
                     + (f" (the {len(shown)} lowest)" if len(shown) < len(cols) else ""))
    pt.add_column("column", no_wrap=True)
    for c in ("Sharpe/yr", "p", "Bonferroni", "Holm", "BH"):
        pt.add_column(c, justify="right")

    def cell(c: dict[str, Any], m: str) -> str:
        return f"{c[m]:.4f}" + (" *" if c[f"reject_{m}"] else "  ")

    for c in shown:
        pt.add_row(c["column"] + ("  (best)" if c["column"] == r["best"] else ""), f"{c['sharpe_annual']:.2f}",
                   f"{c['pvalue']:.4f}", cell(c, "bonferroni"), cell(c, "holm"), cell(c, "bh"))
    con.print(pt)
    con.print(f"* rejected at alpha {r['alpha']:g}" + (f"; {len(cols) - len(shown):,} more columns: --top N, or --json"
                                                      if len(shown) < len(cols) else ""), markup=False, highlight=False)
