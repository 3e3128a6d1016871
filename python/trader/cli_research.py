"""``trader research``: research tools on results from anywhere.

``trader research overfit FILE`` runs every overfitting statistic of :mod:`trader.research.stats`
on a table of returns — one column per strategy (or trial, or parameter combination), one row per
period — as `trader optimize` does on its own runs: the best column's annualized Sharpe ratio,
its probabilistic and deflated Sharpe ratios (N = the columns, V = the variance of their Sharpe
ratios), the probability of backtest overfitting (CSCV), White's Reality Check and Hansen's SPA
p-values, and every column's p-value (of "its true Sharpe ratio is <= 0": 1 − PSR(0)) adjusted
for the number of columns by Bonferroni, Holm and Benjamini–Hochberg.

``trader optimize --returns PATH`` writes such a table from a sweep (:func:`write_sweep_returns`).

Three commands run a strategy the way its choice of parameters should be judged, with the options
of ``trader optimize`` (``--strategy``, ``--grid``, ``-p``, ``--data``, ``--objective``, ...):

- ``trader research walkforward``: :func:`trader.research.walkforward.walk_forward_optimize` —
  the parameters chosen on each training window, traded on the window after it; the stitched
  out-of-sample curve and the choices' stability (:func:`walkforward_report`, :func:`walkforward_table`);
- ``trader research cv``: :func:`trader.research.crossval.purged_cv` (purged k-fold) or, with
  ``--cpcv``, :func:`trader.research.crossval.cpcv` and the distribution of its paths' Sharpe ratios;
- ``trader research montecarlo``: :func:`trader.research.montecarlo.run_paths` over paths of a
  model (:func:`mc_model_params` sets its parameters from the data's log returns) or a block
  bootstrap of the data, optionally with a stress scenario spliced into every path; the
  distribution of the outcomes (:func:`mc_report`).

This module imports click and the standard library only; numpy and pyarrow are imported when a
command runs (it is loaded by every ``trader`` command).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from typing import Any

import click

from trader.exceptions import InvalidInputError

__all__ = ["research", "read_returns", "write_sweep_returns", "overfit_report", "TIME_COLUMN_NAMES", "walkforward_report",
           "walkforward_table", "mc_model_params", "mc_report", "MC_MODELS"]

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
    """Research tools: the overfitting statistics of a table of returns (overfit); a strategy's
    parameter choice judged out of sample (walkforward, cv); its outcomes over simulated paths
    (montecarlo)."""


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


# -- the run commands: walkforward, cv, montecarlo ------------------------------------------------
#
# Their options are `trader optimize`'s (same names, defaults and meaning); a bad one exits 2 with
# one line before any run: the click checks, then the files to write (`_check_files`), then the
# API's own checks, which all run before its first backtest.

_TABLE_SUFFIXES = (".parquet", ".csv", ".feather", ".arrow")
_METHODS_HELP = "Every combination; or --trials of them drawn at random (seeded)"


def _strategy_option(f: Any) -> Any:
    return click.option("--strategy", "-s", "strategy_name", default="ema_cross", show_default=True,
                        help="Strategy name (see `trader strategies`), or path/to/file.py:ClassName.")(f)


def _run_options(f: Any) -> Any:
    """The backtest options every run of these commands gets, as `trader optimize` has them."""
    for option in reversed([
        click.option("--cash", type=float, default=10_000.0, show_default=True, help="Initial cash (quote currency)."),
        click.option("--fee-bps", type=float, default=0.0, show_default=True, help="Fee per fill, basis points of notional."),
        click.option("--slippage-bps", type=float, default=0.0, show_default=True, help="Market fills move against you by this much."),
        click.option("--fill-at", type=click.Choice(["next_open", "close"]), default="next_open", show_default=True, help="Where market orders fill."),
        click.option("--mode", type=click.Choice(["event", "vectorized", "auto"]), default="auto", show_default=True, help="Python callbacks per bar, or the strategy's arrays simulated in Rust (auto: when it has them)."),
        click.option("--account", type=click.Choice(["cash", "margin"]), default="cash", show_default=True, help="Spot cash account, or a perpetuals margin account."),
        click.option("--leverage", type=float, default=1.0, show_default=True, help="Margin account: leverage."),
    ]):
        f = option(f)
    return f


def _backtest_kwargs(fee_bps: float, slippage_bps: float, fill_at: str, mode: str, account: str, leverage: float) -> dict[str, Any]:
    return {"fee_bps": fee_bps, "slippage_bps": slippage_bps, "fill_at": fill_at, "mode": mode, "account": account,
            "leverage": leverage}


def _parse_params(items: tuple[str, ...]) -> dict[str, str]:
    """-p KEY=VALUE, as every ``trader`` command reads it."""
    from trader.cli import _parse_params as parse

    return parse(items)


def _check_objective(objective: str) -> None:
    from trader.research.sweep import OBJECTIVES

    if "," in objective:
        raise click.BadParameter(f"one objective: the search ranks by one statistic here, got {objective!r}",
                                 param_hint="--objective")
    if objective.strip() not in OBJECTIVES:
        raise click.BadParameter(f"unknown objective {objective.strip()!r}; one of {', '.join(OBJECTIVES)}",
                                 param_hint="--objective")


def _check_search(grid: tuple[str, ...], method: str, trials: int | None) -> None:
    """`trader optimize`'s checks of the search options."""
    if not grid:
        raise click.BadParameter("give at least one parameter to sweep, e.g. --grid fast=5:25:2", param_hint="--grid")
    if trials is not None and method == "grid":
        raise click.BadParameter("a grid runs every combination: --trials goes with --method random, tpe or cmaes",
                                 param_hint="--trials")
    if method != "grid" and trials is None:
        raise click.BadParameter(f"--method {method} needs --trials N", param_hint="--trials")


def _check_files(data: str | None, outputs: list[tuple[str, str | None]]) -> None:
    """The tables to write, checked before any run as `trader optimize` checks --out: their folder
    exists and is writable, the suffix is a table's, none is the data file or another output."""
    from trader.exceptions import InvalidInputError
    from trader.paths import check_output_file

    read = os.path.realpath(data) if data and os.path.exists(data) else None
    seen: dict[str, str] = {}
    for option, path in outputs:
        if not path:
            continue
        check_output_file(path, option, _TABLE_SUFFIXES)
        real = os.path.realpath(path)
        if real == read:
            raise InvalidInputError(f"{option}: {path}: is an input of this run; writing it would destroy it")
        if real in seen:
            raise InvalidInputError(f"{option}: {path}: also given to {seen[real]}")
        seen[real] = option


def _load_bars(data: str | None, backtest: dict[str, Any], what: str) -> Any:
    """The bars of --data (None: the built-in synthetic series) as the research APIs load them
    (:func:`trader.research.sweep.load_bars`: the feed's declared price precision goes into
    ``backtest``), so the APIs given these bars run exactly as when given the file."""
    from trader.data import Bars
    from trader.exceptions import InvalidInputError
    from trader.research.sweep import load_bars

    bars = load_bars(data, backtest, what=what)
    if not isinstance(bars, Bars):
        raise InvalidInputError(f"data: {what} runs on one instrument's bars")
    return bars


def _window(text: str | None, option: str) -> int | str | None:
    """--train/--test/--step/--gap: a bar count (digits) or a duration ("30d", "4h"), as
    :func:`trader.research.splits.walk_forward` takes them."""
    if text is None:
        return None
    t = text.strip()
    if not t:
        raise click.BadParameter("expected a bar count or a duration like 30d", param_hint=option)
    return int(t) if t.isdigit() else t


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_table(table: Any, path: str) -> None:
    low = path.lower()
    if low.endswith(".parquet"):
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif low.endswith(".csv"):
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        import pyarrow.feather as feather

        feather.write_feather(table, path)


@contextlib.contextmanager
def _progress(label: str, enabled: bool) -> Any:
    """A progress bar on stderr (``progress(done, total)``; None when not enabled: --json, or
    stderr not a terminal, as `trader optimize`)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                   console=Console(stderr=True))
    bar.start()
    task = bar.add_task(label, total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        bar.stop()


def _show_progress(as_json: bool) -> bool:
    import sys

    return not as_json and sys.stderr.isatty()


def _when(ns: int) -> str:
    """A bar time for the tables: ``2024-01-01 00:00`` (seconds when there are any)."""
    from trader.data._time import iso

    text = iso(int(ns)).rstrip("Z").replace("T", " ")
    return text[:-3] if text.endswith(":00") and len(text) == 19 else text


def _fmt(v: Any, spec: str) -> str:
    """A statistic for a table; a dash when there is none (None, NaN)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, spec)


def _data_info(data: str | None, bars: Any) -> dict[str, Any]:
    from trader.data._time import interval_name, iso

    return {"data": data if data else "synthetic", "symbol": bars.symbol, "data_bars": len(bars),
            "first": iso(int(bars.ts[0])), "last": iso(int(bars.ts[-1])),
            "interval": interval_name(int(bars.interval_ns or 0))}


def _strategy_name(strategy: str, fixed: dict[str, Any]) -> str:
    from trader.backtest import make_strategy

    proto = make_strategy(strategy, fixed)
    return getattr(proto, "name", "") or type(proto).__name__


# -- walkforward ----------------------------------------------------------------------------------


def walkforward_report(result: Any, *, strategy: str, params: list[str]) -> dict[str, Any]:
    """What ``trader research walkforward --json`` prints (without the run's settings): each
    window (its bounds in epoch ns, half-open, as :class:`WalkForwardWindow` has them; its
    parameters; the in-sample objective; the out-of-sample return, Sharpe ratio, maximum
    drawdown, trades and objective), the stitched out-of-sample statistics and the stability of
    the parameters, all from ``result`` (a :class:`trader.research.walkforward.WalkForwardResult`)."""
    from trader.research.sweep import OBJECTIVES

    key = OBJECTIVES[result.objective][0]
    windows = []
    for w in result.windows:
        oos = w.out_of_sample
        windows.append({
            "window": w.window, "train_start": w.train_start, "train_end": w.train_end, "test_start": w.test_start,
            "test_end": w.test_end, "params": dict(w.params), f"train_{key}": w.in_sample.get(key),
            "test_total_return": oos.get("total_return"), "test_sharpe": oos.get("sharpe"),
            "test_max_drawdown": oos.get("max_drawdown"), "test_trades": oos.get("trades"), f"test_{key}": oos.get(key),
        })
    return _clean({"strategy": strategy, "objective": result.objective, "params": params, "windows": windows,
                   "out_of_sample": dict(result.stats), "stability": result.stability})


def walkforward_table(result: Any, params: list[str]) -> Any:
    """One row per window (a pyarrow Table): window, the train and test bounds (epoch ns,
    half-open: ``*_start_ts``, ``*_end_ts``), the chosen parameters, the in-sample objective
    (``train_<stat>``), and the test window's return, Sharpe ratio, maximum drawdown, trades, fees
    and objective (``test_<stat>``) — the columns of ``trader research cv``'s fold table."""
    import pyarrow as pa

    from trader.research.sweep import OBJECTIVES

    key = OBJECTIVES[result.objective][0]
    rows = []
    for w in result.windows:
        oos = w.out_of_sample
        row: dict[str, Any] = {"window": w.window, "train_start_ts": w.train_start, "train_end_ts": w.train_end,
                               "test_start_ts": w.test_start, "test_end_ts": w.test_end}
        row.update({n: w.params.get(n) for n in params})
        row[f"train_{key}"] = w.in_sample.get(key)
        row.update({"test_total_return": oos.get("total_return"), "test_sharpe": oos.get("sharpe"),
                    "test_max_drawdown": oos.get("max_drawdown"), "test_trades": oos.get("trades"),
                    "test_fees_paid": oos.get("fees_paid")})
        row.setdefault(f"test_{key}", oos.get(key))
        rows.append(_clean(row))
    cols = list(rows[0]) if rows else []
    return pa.table({c: [r.get(c) for r in rows] for c in cols})


@research.command("walkforward")
@_strategy_option
@click.option("--grid", "-g", "grid", multiple=True, metavar="NAME=VALUES", help="A parameter to sweep: start:stop:step (stop included), a,b,c, or one value. Repeatable.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter every run gets. Repeatable.")
@click.option("--data", metavar="PATH", default=None, help="Bar file (default: the synthetic series).")
@click.option("--train", required=True, metavar="N|DURATION", help="Training window: a number of bars, or a duration (30d, 12h).")
@click.option("--test", required=True, metavar="N|DURATION", help="Test window after it: bars or a duration.")
@click.option("--step", default=None, metavar="N|DURATION", help="How far the windows move (default: the test window, so the test windows tile the data).")
@click.option("--anchored", is_flag=True, help="Every training window starts at the first bar (default: rolling, of --train each).")
@click.option("--gap", default="0", show_default=True, metavar="N|DURATION", help="Bars (or a duration) left out between a training window and its test window.")
@click.option("--method", type=click.Choice(["grid", "random", "tpe", "cmaes"]), default="grid", show_default=True, help=_METHODS_HELP + "; or an Optuna search of --trials runs (TPE, CMA-ES) per window.")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Runs of --method random, tpe or cmaes (per window).")
@click.option("--objective", default="sharpe", show_default=True, metavar="NAME", help="What chooses the parameters in each training window: sharpe, sortino, calmar, return, cagr, profit_factor, win_rate, expectancy, final_equity, max_drawdown (lower is better).")
@click.option("--storage", metavar="URL", default=None, help="Optuna storage of the windows' studies (default: a SQLite file of the run, removed after it).")
@click.option("--study", metavar="NAME", default=None, help="Prefix of the windows' study names in --storage (the same name resumes them).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of --method random, tpe and cmaes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes of a local Dask cluster running the windows (default: the machine's cores; 1: in this process).")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="a Dask scheduler (tcp://HOST:PORT) to run the windows on; default: a local cluster of --jobs processes")
@_run_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write one row per window (bounds, parameters, in- and out-of-sample statistics) to PATH.parquet, .csv or .feather.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (every window, the stitched out-of-sample statistics, the stability) on stdout.")
def walkforward(strategy_name, grid, params, data, train, test, step, anchored, gap, method, trials, objective, storage, study,
                seed, jobs, scheduler, cash, fee_bps, slippage_bps, fill_at, mode, account, leverage, out_path, as_json) -> None:
    """Walk-forward optimization: on each training window, sweep the grid and keep the best
    parameters by --objective; trade them on the test window that follows; move on by --step.
    Prints each window (its spans, the parameters chosen, the in-sample objective, the
    out-of-sample return and Sharpe ratio), the stitched out-of-sample result (return, Sharpe,
    maximum drawdown, trades) and how stable the choices were."""
    from trader.research.sweep import check_grid
    from trader.research.walkforward import walk_forward_optimize

    _check_objective(objective)
    _check_search(grid, method, trials)
    if (storage or study) and method not in ("tpe", "cmaes"):
        raise click.BadParameter("only with --method tpe or cmaes (an Optuna study)", param_hint="--storage/--study")
    windows = {"train": _window(train, "--train"), "test": _window(test, "--test"), "step": _window(step, "--step"),
               "gap": _window(gap, "--gap")}
    fixed = _parse_params(params)
    _check_files(data, [("--out", out_path)])
    backtest = _backtest_kwargs(fee_bps, slippage_bps, fill_at, mode, account, leverage)
    check_grid(strategy_name, list(grid), fixed, backtest, jobs=jobs, method=method, trials=trials, seed=seed,
               what="walk-forward")
    bars = _load_bars(data, backtest, "a walk-forward")
    search = {"storage": storage, "study": study} if method in ("tpe", "cmaes") else {}
    with _progress("walk-forward", _show_progress(as_json)) as progress:
        result = walk_forward_optimize(strategy_name, list(grid), bars, train=windows["train"], test=windows["test"],
                                       step=windows["step"], gap=windows["gap"], anchored=anchored,
                                       objective=objective.strip(), method=method, trials=trials, seed=seed, jobs=jobs,
                                       scheduler=scheduler, fixed=fixed, cash=cash, progress=progress, **search,
                                       **backtest)
    names = list(result.stability)
    report = walkforward_report(result, strategy=_strategy_name(strategy_name, fixed), params=names)
    settings = {**_data_info(data, bars), "fixed": fixed, "method": method, "trials": trials, "seed": seed,
                "anchored": anchored, **windows}
    if out_path:
        _write_table(walkforward_table(result, names), out_path)
    if as_json:
        click.echo(json.dumps(_clean({**settings, **report}), allow_nan=False, default=str))
        return
    _print_walkforward(report, settings, out_path)


def _print_walkforward(r: dict[str, Any], s: dict[str, Any], out_path: str | None) -> None:
    from rich.table import Table

    from trader.cli import _console
    from trader.research.sweep import OBJECTIVES

    con = _console()
    key = OBJECTIVES[r["objective"]][0]
    kind = "anchored" if s["anchored"] else "rolling"

    def span(v: Any) -> str:
        return f"{v:,} bars" if isinstance(v, int) else str(v)

    step = "the test window" if s["step"] is None else span(s["step"])
    con.print(f"{r['strategy']} on {s['symbol']}: {s['data_bars']:,} bars of {s['interval']} ({s['first']} .. {s['last']})",
              markup=False, highlight=False)
    con.print(f"{kind} windows: train {span(s['train'])}, test {span(s['test'])}, step {step}, gap {span(s['gap'])}; "
              f"{s['method']} search of {', '.join(r['params'])} by {r['objective']}", markup=False, highlight=False)
    t = Table(title=f"walk-forward: {len(r['windows'])} windows")
    for c in ("#", "train", "test", "params", f"in-sample {key}", "OOS return", "OOS Sharpe", "OOS trades"):
        t.add_column(c, justify="left" if c in ("train", "test", "params") else "right", no_wrap=c in ("train", "test"))
    for w in r["windows"]:
        chosen = ", ".join(f"{n}={w['params'].get(n)}" for n in r["params"])
        t.add_row(str(w["window"]), f"{_when(w['train_start'])} .. {_when(w['train_end'] - 1)}",
                  f"{_when(w['test_start'])} .. {_when(w['test_end'] - 1)}", chosen, _fmt(w[f"train_{key}"], ".4g"),
                  _fmt(w["test_total_return"], "+.2%"), _fmt(w["test_sharpe"], ".2f"), _fmt(w["test_trades"], ","))
    con.print(t)
    o = r["out_of_sample"]
    st = Table(title="out of sample: the test windows stitched")
    st.add_column("statistic", style="bold")
    st.add_column("value", justify="right")
    for name, value in (("total return", _fmt(o.get("total_return"), "+.2%")), ("Sharpe ratio (daily, 365)", _fmt(o.get("sharpe"), ".2f")),
                        ("max drawdown", _fmt(o.get("max_drawdown"), ".2%")), ("trades", _fmt(o.get("trades"), ",")),
                        ("fees paid", _fmt(o.get("fees_paid"), ",.2f")), ("days", _fmt(o.get("days"), ",")),
                        (f"mean in-sample {key}", _fmt(o.get(f"mean_in_sample_{key}"), ".4g")),
                        (f"mean out-of-sample {key}", _fmt(o.get(f"mean_out_of_sample_{key}"), ".4g"))):
        st.add_row(name, value)
    con.print(st)
    pt = Table(title="parameter stability")
    for c in ("parameter", "chosen per window", "changes", "mean", "std"):
        pt.add_column(c, justify="left" if c in ("parameter", "chosen per window") else "right")
    for name, e in r["stability"].items():
        pt.add_row(name, " ".join(str(v) for v in e["values"]), f"{e['changes']} of {max(0, len(e['values']) - 1)}",
                   _fmt(e.get("mean"), ".4g"), _fmt(e.get("std"), ".4g"))
    con.print(pt)
    if out_path:
        con.print(f"windows: {out_path}", markup=False, highlight=False)


# -- cv -------------------------------------------------------------------------------------------


@research.command("cv")
@_strategy_option
@click.option("--grid", "-g", "grid", multiple=True, metavar="NAME=VALUES", help="A parameter to sweep: start:stop:step (stop included), a,b,c, or one value. Repeatable.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter every run gets. Repeatable.")
@click.option("--data", metavar="PATH", default=None, help="Bar file (default: the synthetic series).")
@click.option("--splits", type=click.IntRange(min=2), default=None, help="Purged k-fold: the folds (default 5).")
@click.option("--cpcv", is_flag=True, help="Combinatorial purged cross-validation: every choice of --test-groups of --groups groups; its backtest paths' Sharpe ratios.")
@click.option("--groups", type=click.IntRange(min=2), default=None, help="--cpcv: groups N (default 6).")
@click.option("--test-groups", type=click.IntRange(min=1), default=None, help="--cpcv: test groups per split k (default 2; paths: C(N-1, k-1)).")
@click.option("--purge", type=click.IntRange(min=0), default=0, show_default=True, help="Bars removed from training before each test block: the strategy's lookback / holding horizon.")
@click.option("--embargo", type=click.IntRange(min=0), default=0, show_default=True, help="Bars removed from training after each test block.")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Bars run before each test block to warm the indicators (default: --purge).")
@click.option("--method", type=click.Choice(["grid", "random"]), default="grid", show_default=True, help=_METHODS_HELP + " (the same in every training segment).")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Runs of --method random.")
@click.option("--objective", default="sharpe", show_default=True, metavar="NAME", help="What chooses the parameters on the training bars: sharpe, sortino, calmar, return, cagr, profit_factor, win_rate, expectancy, final_equity, max_drawdown (lower is better).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of --method random.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes of each training sweep (default: the machine's cores; 1: in this process).")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="a Dask scheduler (tcp://HOST:PORT) to run the training sweeps on; default: a local cluster of --jobs processes")
@_run_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write one row per fold (test blocks, parameters, train and test statistics) to PATH.parquet, .csv or .feather.")
@click.option("--paths-out", "paths_path", type=click.Path(dir_okay=False), help="Write one row per backtest path (return, Sharpe, drawdown, the fold used on each group) to PATH.parquet, .csv or .feather.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (every fold and path, the path Sharpe distribution) on stdout.")
def cv(strategy_name, grid, params, data, splits, cpcv, groups, test_groups, purge, embargo, warmup, method, trials, objective,
       seed, jobs, scheduler, cash, fee_bps, slippage_bps, fill_at, mode, account, leverage, out_path, paths_path,
       as_json) -> None:
    """Cross-validate the choice of parameters without look-ahead: purged k-fold (default), or
    combinatorial purged CV (--cpcv). For each split the grid is swept on the training bars only
    (purged before each test block, embargoed after it) and the best by --objective is traded on
    the test block(s). Prints each fold (test blocks, parameters, training objective, test return
    and Sharpe ratio) and, for CPCV, the distribution of the backtest paths' Sharpe ratios."""
    from trader.research.crossval import cpcv as run_cpcv
    from trader.research.crossval import purged_cv

    _check_objective(objective)
    _check_search(grid, method, trials)
    if cpcv and splits is not None:
        raise click.BadParameter("purged k-fold's folds; --cpcv takes --groups and --test-groups", param_hint="--splits")
    if not cpcv and (groups is not None or test_groups is not None):
        raise click.BadParameter("only with --cpcv (purged k-fold takes --splits)", param_hint="--groups/--test-groups")
    fixed = _parse_params(params)
    _check_files(data, [("--out", out_path), ("--paths-out", paths_path)])
    backtest = _backtest_kwargs(fee_bps, slippage_bps, fill_at, mode, account, leverage)
    bars = _load_bars(data, backtest, "a cross-validation")
    common = dict(purge=purge, embargo=embargo, warmup=warmup, objective=objective.strip(), method=method, trials=trials,
                  seed=seed, jobs=jobs, scheduler=scheduler, fixed=fixed, cash=cash, **backtest)
    with _progress("cross-validation", _show_progress(as_json)):  # no counts: the API reports none
        if cpcv:
            result = run_cpcv(strategy_name, list(grid), bars, n_groups=6 if groups is None else groups,
                              n_test_groups=2 if test_groups is None else test_groups, **common)
        else:
            result = purged_cv(strategy_name, list(grid), bars, n_splits=5 if splits is None else splits, **common)
    if out_path:
        _write_table(result.table(), out_path)
    if paths_path:
        _write_table(result.paths_table(), paths_path)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(_clean({**_data_info(data, bars), "fixed": fixed, **summary}), allow_nan=False, default=str))
        return
    _print_cv(result, summary, _data_info(data, bars), method, [p for p in (out_path, paths_path) if p])


def _print_cv(result: Any, r: dict[str, Any], d: dict[str, Any], search: str, written: list[str]) -> None:
    from rich.table import Table

    from trader.cli import _console
    from trader.research.sweep import OBJECTIVES

    con = _console()
    key = OBJECTIVES[r["objective"]][0]
    what = (f"purged {r['n_folds']}-fold" if r["method"] == "purged_kfold" else
            f"CPCV: {r['n_groups']} groups, {len(r['folds'][0]['groups']) if r['folds'] else 0} to test, "
            f"{r['n_folds']} splits, {r['n_paths']} paths")
    con.print(f"{r['strategy']} on {d['symbol']}: {r['bars']:,} bars of {d['interval']} ({d['first']} .. {d['last']})",
              markup=False, highlight=False)
    con.print(f"{what}; purge {r['purge']}, embargo {r['embargo']}, warm-up {r['warmup']} bars; {search} search of "
              f"{', '.join(r['params'])} by {r['objective']}", markup=False, highlight=False)
    t = Table(title=f"{'folds' if r['method'] == 'purged_kfold' else 'splits'}: parameters chosen on the training bars, "
                    "traded on the test bars")
    for c in ("#", "test bars", "train bars", "params", f"train {key}", "test return", "test Sharpe", "test trades"):
        t.add_column(c, justify="left" if c in ("test bars", "params") else "right")
    for f, fs in zip(result.folds, r["folds"]):
        blocks = ", ".join(f"{b.start:,}..{b.end - 1:,}" for b in f.blocks)
        chosen = ", ".join(f"{n}={f.params.get(n)}" for n in r["params"])
        t.add_row(str(f.fold), blocks, f"{f.train_bars:,}", chosen, _fmt(fs.get(f"train_{key}"), ".4g"),
                  _fmt(fs.get("test_total_return"), "+.2%"), _fmt(fs.get("test_sharpe"), ".2f"), _fmt(fs.get("test_trades"), ","))
    con.print(t)
    o = r["out_of_sample"]
    con.print(f"out of sample ({'the folds in order' if r['method'] == 'purged_kfold' else 'the mean of the paths'}, "
              f"{o['days']} days): return {_fmt(o['total_return'], '+.2%')}, Sharpe {_fmt(o['sharpe'], '.2f')}, "
              f"max drawdown {_fmt(o['max_drawdown'], '.2%')}", markup=False, highlight=False)
    if r["method"] != "purged_kfold":
        ps = r["path_sharpe"]
        pt = Table(title=f"Sharpe ratio of the {r['n_paths']} backtest paths (daily, 365)")
        cols = ("mean", "std", "min", "q05", "q25", "median", "q75", "q95", "max")
        for c in cols:
            pt.add_column(c, justify="right")
        pt.add_column("share <= 0", justify="right")
        pt.add_row(*[_fmt(ps.get(c), ".2f") for c in cols], _fmt(ps.get("prob_nonpositive"), ".0%"))
        con.print(pt)
        if ps.get("n_undefined"):
            con.print(f"{ps['n_undefined']} path(s) without a Sharpe ratio (under 2 days)", markup=False)
    for p in written:
        con.print(f"written: {p}", markup=False, highlight=False)


# -- montecarlo -----------------------------------------------------------------------------------

#: The models of ``trader research montecarlo --model`` and their parameters (``--model
#: NAME:key=value,...``); lists (regime) are separated by "/".
MC_MODELS: dict[str, tuple[str, ...]] = {
    "gbm": ("mu", "sigma"),
    "merton": ("mu", "sigma", "jump_intensity", "jump_mean", "jump_std"),
    "regime": ("mus", "sigmas", "stay", "initial"),
    "heston": ("mu", "kappa", "theta", "xi", "rho", "v0"),
    "bootstrap": ("method", "block_length"),
}
_MC_LISTS = ("mus", "sigmas", "stay")
#: The quantiles of the distributions reported, by name.
MC_QUANTILES = (("q01", 0.01), ("q05", 0.05), ("q25", 0.25), ("median", 0.5), ("q75", 0.75), ("q95", 0.95), ("q99", 0.99))
MC_LEVELS = (0.95, 0.99)


def _spec(text: str, option: str) -> tuple[str, dict[str, str]]:
    """``NAME[:key=value,...]``, as the CLI's model options (--fill-model, --latency) are given."""
    name, _, rest = text.partition(":")
    out: dict[str, str] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise click.BadParameter(f"expected NAME:key=value,..., got {item!r} in {text!r}", param_hint=option)
        out[k.strip()] = v.strip()
    return name.strip(), out


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise click.BadParameter(f"{what}: expected a number, got {text!r}", param_hint="--model") from None
    return value


def mc_model_params(model: str, log_returns: Any, given: dict[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments of the model's generator in :mod:`trader.research.montecarlo` (per
    bar: ``dt = 1``), each as given (``given``: text, from ``--model NAME:key=value,...``) or else
    set from the data's log returns ``r`` (mean ``m``, variance ``v``, ``s = sqrt(v)``) so that a
    path's log returns have the data's mean and variance:

    - ``gbm``: ``sigma = s``, ``mu = m + sigma^2/2`` (exact: the log returns are N(m, v));
    - ``merton``: ``jump_intensity`` 0.001 a bar, ``jump_mean`` 0, ``jump_std`` 5 s; the diffusion
      ``sigma = sqrt(max(0, v - intensity (jump_mean^2 + jump_std^2)))``, ``mu`` so the mean log
      return is m;
    - ``regime``: two regimes of ``sigmas`` s·sqrt(0.5) and s·sqrt(1.5), each kept with
      probability ``stay`` 0.999 a bar (the others share the rest), so the stationary mixture has
      variance v; ``mus`` so each regime's mean log return is m; ``initial``: the stationary
      distribution (an index when given);
    - ``heston``: ``theta = v0 = v``, ``kappa`` 0.01 a bar, ``xi = sqrt(kappa theta / 2)`` (the
      variance's stationary spread half its mean; Feller's condition holds), ``rho`` -0.5,
      ``mu = m + theta/2``;
    - ``bootstrap``: ``returns`` = r, ``method`` stationary, ``block_length`` 10 (the API's).

    Nothing else of the data is fitted (no jump detection, no regime filter): the parameters not
    set from ``m`` and ``v`` are these defaults unless given."""
    import numpy as np

    from trader.exceptions import InvalidInputError

    if model not in MC_MODELS:
        raise InvalidInputError(f"model: unknown model {model!r}; one of {', '.join(MC_MODELS)}")
    given = dict(given or {})
    unknown = sorted(set(given) - set(MC_MODELS[model]))
    if unknown:
        raise InvalidInputError(f"model: {model} takes {', '.join(MC_MODELS[model])}; unknown: {', '.join(unknown)}")
    r = np.asarray(log_returns, dtype=np.float64)
    if r.size < 2:
        raise InvalidInputError(f"data: {r.size + 1} bar(s): at least 3 are needed to set a model from its returns")
    m, v = float(r.mean()), float(r.var(ddof=1))
    s = math.sqrt(v)

    def num(k: str, default: Any) -> float:
        return _number(given[k], f"{model} {k}") if k in given else (default() if callable(default) else default)

    def nums(k: str) -> list[float] | None:
        return [_number(x, f"{model} {k}") for x in given[k].split("/")] if k in given else None

    if model == "gbm":
        sigma = num("sigma", s)
        return {"mu": num("mu", lambda: m + sigma * sigma / 2), "sigma": sigma}
    if model == "merton":
        lam, mj = num("jump_intensity", 0.001), num("jump_mean", 0.0)
        dj = num("jump_std", 5 * s)
        sigma = num("sigma", lambda: math.sqrt(max(0.0, v - lam * (mj * mj + dj * dj))))
        k = math.expm1(mj + dj * dj / 2) if mj + dj * dj / 2 < 700 else math.inf
        return {"mu": num("mu", lambda: m + sigma * sigma / 2 + lam * k - lam * mj), "sigma": sigma,
                "jump_intensity": lam, "jump_mean": mj, "jump_std": dj}
    if model == "regime":
        sigmas = nums("sigmas") or [s * math.sqrt(0.5), s * math.sqrt(1.5)]
        n = len(sigmas)
        mus = nums("mus") or [m + x * x / 2 for x in sigmas]
        stay = nums("stay") or [0.999]
        if len(stay) == 1:
            stay = stay * n
        if len(stay) != n:
            raise InvalidInputError(f"model: regime stay: {len(stay)} values for {n} regimes (one, or one per regime)")
        transition = [[stay[i] if i == j else ((1.0 - stay[i]) / (n - 1) if n > 1 else 0.0) for j in range(n)]
                      for i in range(n)]
        out: dict[str, Any] = {"mus": mus, "sigmas": sigmas, "transition": transition}
        if "initial" in given:
            if not given["initial"].isdigit():
                raise click.BadParameter(f"regime initial: expected a regime index, got {given['initial']!r}",
                                         param_hint="--model")
            out["initial"] = int(given["initial"])
        return out
    if model == "heston":
        theta = num("theta", v)
        kappa = num("kappa", 0.01)
        return {"mu": num("mu", lambda: m + theta / 2), "kappa": kappa, "theta": theta,
                "xi": num("xi", lambda: math.sqrt(max(0.0, kappa * theta / 2))), "rho": num("rho", -0.5),
                "v0": num("v0", theta)}
    length = given.get("block_length")
    return {"method": given.get("method", "stationary"),
            "block_length": 10.0 if length is None else _number(length, "bootstrap block_length")}


def _mc_paths(model: str, params: dict[str, Any], log_returns: Any, n_paths: int, n_bars: int, s0: float,
              seed: int) -> Any:
    """The model's :class:`trader.research.montecarlo.PathSet` (per-bar parameters, ``dt = 1``)."""
    from trader.research import montecarlo as mc

    if model == "bootstrap":
        return mc.block_bootstrap(log_returns, n_paths, n_bars, s0=s0, seed=seed, **params)
    generators: dict[str, Any] = {"gbm": mc.gbm, "merton": mc.merton, "regime": mc.regime_switching, "heston": mc.heston}
    generator = generators[model]
    return generator(n_paths, n_bars, s0=s0, seed=seed, **params)


def _distribution(values: Any) -> dict[str, Any]:
    """mean, std (ddof 1), min, the quantiles of :data:`MC_QUANTILES` (numpy's linear) and max of
    the finite values (all None without any)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    names = ("mean", "std", "min", *(n for n, _ in MC_QUANTILES), "max")
    if v.size == 0:
        return {n: None for n in (*names, "n")} | {"n": 0}
    qs = np.quantile(v, [q for _, q in MC_QUANTILES])
    return {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), **{n: float(x) for (n, _), x in zip(MC_QUANTILES, qs)}, "max": float(v.max())}


def mc_report(table: Any) -> dict[str, Any]:
    """The distribution over the paths of a :func:`trader.research.montecarlo.run_paths` table:
    of the total return, the maximum drawdown, the longest and total time under water (in bars),
    the Sharpe ratio and the trades (:func:`_distribution` each); the historical value at risk and
    conditional value at risk of the total return at 95 and 99 %
    (:func:`~trader.research.montecarlo.value_at_risk`,
    :func:`~trader.research.montecarlo.conditional_value_at_risk`: a positive number is a loss,
    a fraction of the initial cash); and the risk of ruin: the share of paths whose equity
    reached zero (the engine's ``ruined``)."""
    import numpy as np

    from trader.research import montecarlo as mc

    tot = np.asarray(table["total_return"], dtype=np.float64)
    ruined = np.asarray(table["ruined"], dtype=bool)
    return {
        "total_return": _distribution(tot), "max_drawdown": _distribution(table["max_drawdown"]),
        "longest_underwater_bars": _distribution(table["longest_underwater"]),
        "total_underwater_bars": _distribution(table["total_underwater"]), "sharpe": _distribution(table["sharpe"]),
        "trades": _distribution(table["trades"]),
        "var": {f"{lv:g}": mc.value_at_risk(tot, lv) for lv in MC_LEVELS},
        "cvar": {f"{lv:g}": mc.conditional_value_at_risk(tot, lv) for lv in MC_LEVELS},
        "risk_of_ruin": float(ruined.mean()), "ruined_paths": int(ruined.sum()),
    }


def _stress_params(text: str, n_bars: int, interval_ns: int) -> tuple[str, int, dict[str, Any]]:
    """--stress NAME[:key=value,...]: the scenario, its bar ``at`` (default: the middle of the
    path) and its parameters; ``funding_spike`` lasts a day of bars unless ``bars`` is given."""
    import inspect

    from trader.research.montecarlo import SCENARIOS

    name, raw = _spec(text, "--stress")
    if name not in SCENARIOS:
        raise click.BadParameter(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}", param_hint="--stress")
    accepted = [p for p in inspect.signature(SCENARIOS[name]).parameters if p != "data"]
    unknown = sorted(set(raw) - set(accepted))
    if unknown:
        raise click.BadParameter(f"{name} takes {', '.join(accepted)}; unknown: {', '.join(unknown)}", param_hint="--stress")
    values: dict[str, Any] = {}
    for k, v in raw.items():
        low = v.lower()
        if low in ("true", "false"):
            values[k] = low == "true"
        elif v.lstrip("+-").isdigit():
            values[k] = int(v)
        else:
            try:
                values[k] = float(v)
            except ValueError:
                raise click.BadParameter(f"{name} {k}: expected a number, got {v!r}", param_hint="--stress") from None
    at = values.pop("at", n_bars // 2)
    if name == "funding_spike" and "bars" not in values and isinstance(at, int):
        day = max(1, -(-86_400_000_000_000 // max(1, interval_ns)))
        values["bars"] = max(1, min(day, n_bars - at))
    return name, at, values


@research.command("montecarlo")
@_strategy_option
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Strategy parameter, repeatable.")
@click.option("--model", default="gbm", show_default=True, metavar="NAME[:k=v,...]", help="Paths: gbm, merton (jump-diffusion), regime (Markov regime switching), heston (stochastic volatility), or bootstrap (stationary block bootstrap of the data's returns). Parameters per bar, e.g. gbm:sigma=0.002, merton:jump_intensity=0.0005,jump_std=0.01, regime:sigmas=0.0005/0.002,stay=0.999, bootstrap:block_length=60; the ones not given are set from the data's log returns (their mean and variance).")
@click.option("--paths", "n_paths", type=click.IntRange(min=1), default=100, show_default=True, help="Paths to simulate and run.")
@click.option("--bars", "n_bars", type=click.IntRange(min=1), default=None, help="Bars per path (default: the data's, at most 10,000).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the paths (their bars' intrabar extremes and volumes: seed + 1).")
@click.option("--data", metavar="PATH", default=None, help="Bar file whose log returns set the model's parameters and which the bootstrap resamples; its first bar gives the paths' start, price and interval (default: the synthetic series).")
@click.option("--stress", metavar="NAME[:k=v,...]", default=None, help="Splice a scenario into every path: flash_crash, gap, halt or funding_spike, at bar at= (default: the middle), e.g. flash_crash:depth=0.3,at=5000 (funding_spike needs --account margin).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes of a local Dask cluster (default: the machine's cores; 1: in this process).")
@click.option("--scheduler", metavar="ADDRESS", default=None, help="a Dask scheduler (tcp://HOST:PORT) to run on; default: a local cluster of --jobs processes")
@_run_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write one row per path (its statistics) to PATH.parquet, .csv or .feather.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the model, the distributions, VaR, CVaR, risk of ruin) on stdout.")
def montecarlo(strategy_name, params, model, n_paths, n_bars, seed, data, stress, jobs, scheduler, cash, fee_bps, slippage_bps,
               fill_at, mode, account, leverage, out_path, as_json) -> None:
    """Run a strategy over simulated paths: --paths price paths of --model, turned into bars and
    backtested one by one. Prints the distribution of the outcomes over the paths: quantiles of
    the return and of the maximum drawdown, time under water, the value at risk and conditional
    value at risk of the return (95 %, 99 %), and the risk of ruin."""
    import functools

    import numpy as np

    from trader.backtest import make_strategy
    from trader.research import montecarlo as mc
    from trader.research.distributed import check_scheduler

    name, given = _spec(model, "--model")
    if name not in MC_MODELS:
        raise click.BadParameter(f"unknown model {name!r}; one of {', '.join(MC_MODELS)}", param_hint="--model")
    if stress and stress.partition(":")[0].strip() == "funding_spike" and account != "margin":
        raise click.BadParameter("funding_spike: funding is paid on a margin account: add --account margin",
                                 param_hint="--stress")
    fixed = _parse_params(params)
    _check_files(data, [("--out", out_path)])
    strategy = _strategy_name(strategy_name, fixed)  # the strategy and its parameters, checked
    check_scheduler(scheduler)
    bars = _load_bars(data, {}, "a Monte Carlo calibration")
    iv = int(bars.interval_ns or 0)
    if iv <= 0:
        from trader.exceptions import InvalidInputError

        raise InvalidInputError("data: the bars' interval is unknown (fewer than two bars?): the paths need one")
    t = n_bars if n_bars is not None else min(len(bars), 10_000)
    log_returns = np.diff(np.log(np.asarray(bars.close, dtype=np.float64)))
    model_params = mc_model_params(name, log_returns, given)
    scenario = _stress_params(stress, t, iv) if stress else None
    s0, start = float(bars.open[0]), int(bars.ts[0])
    paths = _mc_paths(name, model_params, log_returns, n_paths, t, s0, seed)
    runs = mc.paths_to_bars(paths, interval=iv, start=start, symbol=bars.symbol, seed=seed + 1)
    backtest = {"cash": cash, **_backtest_kwargs(fee_bps, slippage_bps, fill_at, mode, account, leverage)}
    if scenario is not None:
        sc, at, sp = scenario
        stressed = [mc.stress(b, sc, at, **sp) for b in runs]
        if sc == "funding_spike":  # prices unchanged; the rates (the same on every path) as the run's funding
            backtest["funding"] = mc.funding_settlements(stressed[0]["ts"], stressed[0]["funding_rate"])
        else:
            runs = stressed
    factory: Any = functools.partial(make_strategy, strategy_name, fixed) if fixed else strategy_name
    with _progress("paths", _show_progress(as_json)) as progress:
        done = [0]

        def counted(i: int, _: Any) -> None:
            done[0] += 1
            assert progress is not None
            progress(done[0], n_paths)

        from trader.research.distributed import runs_here

        here = progress is not None and runs_here(jobs, scheduler, n_paths)  # a count costs nothing here
        table = mc.run_paths(factory, runs, jobs=jobs, scheduler=scheduler, on_result=counted if here else None,
                             **backtest)
    report = mc_report(table)
    settings = {"strategy": strategy, "fixed": fixed, "model": name, "model_params": model_params,
                "calibration": {**_data_info(data, bars), "log_return_mean": float(log_returns.mean()),
                                "log_return_std": float(log_returns.std(ddof=1))},
                "paths": n_paths, "bars": t, "seed": seed, "start": _data_info(data, bars)["first"], "s0": s0,
                "stress": None if scenario is None else {"scenario": scenario[0], "at": scenario[1], **scenario[2]}}
    if out_path:
        import pyarrow as pa

        _write_table(pa.table({n: table[n] for n in table.dtype.names or ()}), out_path)
    if as_json:
        click.echo(json.dumps(_clean({**settings, **report}), allow_nan=False, default=str))
        return
    _print_montecarlo(settings, report, iv, out_path)


def _print_montecarlo(s: dict[str, Any], r: dict[str, Any], interval_ns: int, out_path: str | None) -> None:
    from rich.table import Table

    from trader.cli import _console
    from trader.data._time import duration

    con = _console()
    c = s["calibration"]
    shown = ", ".join(f"{k}={_short(v)}" for k, v in s["model_params"].items())
    stress = ""
    if s["stress"]:
        extra = ", ".join(f"{k}={v}" for k, v in s["stress"].items() if k not in ("scenario", "at"))
        stress = f"; stress: {s['stress']['scenario']} at bar {s['stress']['at']:,}" + (f" ({extra})" if extra else "")
    con.print(f"{s['strategy']} on {s['paths']:,} {s['model']} paths of {s['bars']:,} bars of {c['interval']} from "
              f"{s['start']}, seed {s['seed']}{stress}", markup=False, highlight=False)
    how = "resampling" if s["model"] == "bootstrap" else "parameters not given set from"
    con.print(f"model per bar: {shown} ({how} the log returns of {c['data']}, {c['symbol']}, {c['data_bars']:,} bars: "
              f"mean {c['log_return_mean']:.3g}, std {c['log_return_std']:.3g})", markup=False, highlight=False)
    t = Table(title=f"outcomes over {s['paths']:,} paths")
    t.add_column("statistic", style="bold")
    cols = ("mean", *(n for n, _ in MC_QUANTILES))
    heads = {"q01": "1%", "q05": "5%", "q25": "25%", "median": "median", "q75": "75%", "q95": "95%", "q99": "99%"}
    for col in cols:
        t.add_column(heads.get(col, col), justify="right")
    for label, key, spec in (("total return", "total_return", "+.2%"), ("max drawdown", "max_drawdown", ".2%"),
                             ("longest under water (bars)", "longest_underwater_bars", ",.0f"),
                             ("time under water (bars)", "total_underwater_bars", ",.0f"),
                             ("Sharpe ratio", "sharpe", ".2f"), ("trades", "trades", ",.0f")):
        d = r[key]
        t.add_row(label, *[_fmt(d.get(col), spec) for col in cols])
    con.print(t)
    lu = r["longest_underwater_bars"]["median"]
    if lu is not None and interval_ns > 0:
        con.print(f"median longest time under water: {duration(int(lu * interval_ns)) if lu else '0'}", markup=False,
                  highlight=False)
    var, cvar = r["var"], r["cvar"]
    con.print(f"value at risk of the return (a loss, of the initial cash): 95% {var['0.95']:.2%}, 99% {var['0.99']:.2%}; "
              f"conditional VaR: 95% {cvar['0.95']:.2%}, 99% {cvar['0.99']:.2%}", markup=False, highlight=False)
    con.print(f"risk of ruin (equity at or below zero): {r['risk_of_ruin']:.2%} ({r['ruined_paths']:,} of {s['paths']:,} paths)",
              markup=False, highlight=False)
    if out_path:
        con.print(f"paths: {out_path}", markup=False, highlight=False)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "/".join(_short(x) for x in v) if not any(isinstance(x, list) for x in v) else "[" + "; ".join(_short(x) for x in v) + "]"
    return str(v)
