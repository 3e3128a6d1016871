"""Named bad inputs of the CLI: each is a real ``python -m trader`` process in an empty folder and
must exit 2 with exactly one line on stderr that names the input, no traceback, and write nothing
(every error here is found before any result exists, so not even a partial output may appear)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

N = 3_000
START_MS = 1_700_000_000_000


def _csv(n: int = N) -> bytes:
    rows = [f"{START_MS + i * 60_000},{100 + i % 7},{103 + i % 7},{99 + i % 7},{101 + i % 7},{1 + i % 3}" for i in range(n)]
    return ("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n").encode()


def _table(n: int = N) -> pa.Table:
    close = 10_000 + (np.arange(n) % 100) * 0.5
    ts = pa.array(START_MS * 1_000_000 + np.arange(n, dtype=np.int64) * 60_000_000_000, pa.timestamp("ns", tz="UTC"))
    return pa.table({"date": ts, "open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(n, 1.5)})


def _corrupt_frame(data: bytes, magic: bytes) -> bytes:
    """The second compressed frame's magic number flipped (LZ4 or zstd): its decoder must refuse it."""
    i = data.index(magic, data.index(magic) + 1)
    return data[:i] + bytes(x ^ 0x5A for x in magic) + data[i + len(magic):]


def _parquet_corrupt() -> bytes:
    buf = io.BytesIO()
    pq.write_table(_table(), buf, compression="zstd")
    return _corrupt_frame(buf.getvalue(), bytes.fromhex("28b52ffd"))


def _feather_corrupt() -> bytes:
    buf = io.BytesIO()
    feather.write_feather(_table(), buf, compression="lz4")
    return _corrupt_frame(buf.getvalue(), bytes.fromhex("04224d18"))


def _file(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return str(path)

    return make


def _dir(folder: Path) -> str:
    (folder / "bars.csv").mkdir()
    return str(folder / "bars.csv")


def _raises_on_import(folder: Path) -> str:
    (folder / "strat.py").write_text("from trader import Strategy\nraise ImportError('needs talib2')\n")
    return f"{folder / 'strat.py'}:Mine"


def _defines_other_class(folder: Path) -> str:
    (folder / "strat.py").write_text("from trader import Strategy\nclass RsiMR(Strategy):\n    pass\n")
    return f"{folder / 'strat.py'}:RsiMr"


good_csv = _file("BTC_USDT-1m.csv", _csv)


def _returns_csv(rows: int = 20, columns: tuple[str, ...] = ("a", "b"), cell: str | None = None) -> bytes:
    """Returns for `trader research overfit`: a date column, one column per strategy; ``cell``
    replaces column b's value in row 3."""
    lines = ["date," + ",".join(columns)]
    for i in range(rows):
        values = [f"{0.001 * ((i * (k + 3)) % 7 - 3):g}" for k in range(len(columns))]
        if cell is not None and i == 2:
            values[1] = cell
        lines.append(f"2024-01-{i + 1:02d}," + ",".join(values))
    return ("\n".join(lines) + "\n").encode()


def _returns_parquet_with_nan() -> bytes:
    buf = io.BytesIO()
    b = np.linspace(-0.01, 0.01, 20)
    b[4] = np.nan
    pq.write_table(pa.table({"a": np.linspace(0.01, -0.01, 20), "b": b}), buf)
    return buf.getvalue()


def _overfit(name: str, data: bytes | Callable[[], bytes], *options: str) -> Callable[[Path, Callable[[], Path]], list[str]]:
    return lambda d, s: ["research", "overfit", _file(name, data)(d), *options]

#: name → (arguments built from the inputs folder and a getter of the shared data folder, a text the
#: one line must hold)
CASES: dict[str, tuple[Callable[[Path, Callable[[], Path]], list[str]], str]] = {
    "report_into_missing_directory": (lambda d, s: ["backtest", "-o", "bars=500", "--report", "out/report.html"], "--report: out/report.html: the directory out does not exist"),
    "fills_out_into_missing_directory": (lambda d, s: ["backtest", "-o", "bars=500", "--fills-out", "out/fills.csv"], "--fills-out: out/fills.csv: the directory out does not exist"),
    "tables_out_into_missing_directory": (lambda d, s: ["backtest", "-o", "bars=500", "--tables-out", "out/tables"], "--tables-out: out/tables: the directory out does not exist"),
    "audit_log_into_missing_directory": (lambda d, s: ["backtest", "-o", "bars=500", "--audit-log", "out/run.jsonl", "--risk-layer", "default"], "--audit-log: out/run.jsonl: the directory out does not exist"),
    "fills_out_over_the_data_file": (lambda d, s: ["backtest", "--data", good_csv(d), "--fills-out", good_csv(d)], "is an input of this run"),
    "truncated_csv_gz": (lambda d, s: ["backtest", "--data", _file("bars.csv.gz", lambda: gzip.compress(_csv(60_000))[:40_000])(d)], "bars.csv.gz: truncated"),
    "truncated_csv_bz2": (lambda d, s: ["backtest", "--data", _file("bars.csv.bz2", lambda: bz2.compress(_csv(60_000))[:30_000])(d)], "bars.csv.bz2: truncated"),
    "zip_that_is_not_a_zip": (lambda d, s: ["backtest", "--data", _file("bars.zip", b"PK\x03\x04 not really")(d)], "bars.zip: not a readable zip archive"),
    "binary_csv": (lambda d, s: ["backtest", "--data", _file("bars.csv", bytes(range(256)) * 40)(d)], "bars.csv: not a text file"),
    "directory_as_data": (lambda d, s: ["backtest", "--data", _dir(d)], "bars.csv: is a directory"),
    "corrupt_parquet": (lambda d, s: ["backtest", "--data", _file("bars.parquet", _parquet_corrupt)(d)], "bars.parquet: corrupt Parquet data"),
    "corrupt_feather": (lambda d, s: ["backtest", "--data", _file("bars.feather", _feather_corrupt)(d)], "bars.feather: corrupt Feather data"),
    "bars_beyond_any_timestamp": (lambda d, s: ["backtest", "-o", "bars=99999999999999999999"], "synthetic: bars must be at most 1,000,000,000"),
    "bars_past_year_2262": (lambda d, s: ["backtest", "-o", "interval=1w", "-o", "bars=100000"], "would end after 2262"),
    "cash_1e308": (lambda d, s: ["backtest", "-o", "bars=500", "--cash", "1e308"], "cash: must be a finite number > 0 and <= 1e15"),
    "cash_nan": (lambda d, s: ["backtest", "-o", "bars=500", "--cash", "nan"], "cash: must be a finite number"),
    "fee_bps_20000": (lambda d, s: ["backtest", "-o", "bars=500", "--fee-bps", "20000"], "fee-bps: must be a finite number >= 0 and < 10,000"),
    "taker_fee_100_percent": (lambda d, s: ["backtest", "-o", "bars=500", "--taker-fee-bps", "10000"], "taker-fee-bps"),
    "maker_rebate_100_percent": (lambda d, s: ["backtest", "-o", "bars=500", "--maker-fee-bps", "-10000"], "maker-fee-bps: must be a finite number > -10,000"),
    "slippage_100_percent": (lambda d, s: ["backtest", "-o", "bars=500", "--slippage-bps", "10000"], "slippage-bps"),
    "leverage_out_of_range": (lambda d, s: ["backtest", "-o", "bars=500", "--account", "margin", "--leverage", "5000"], "leverage: must be a finite number >= 1 and <= 1,000"),
    "negative_size_precision": (lambda d, s: ["backtest", "-o", "bars=500", "--size-precision", "-1"], "--size-precision"),
    "unknown_strategy_file": (lambda d, s: ["backtest", "-s", f"{d}/nope.py:RsiMR"], "nope.py: no such file"),
    "unknown_strategy_class": (lambda d, s: ["backtest", "-s", _defines_other_class(d)], "has no 'RsiMr' (Strategy subclasses it defines: RsiMR)"),
    "strategy_file_raising_on_import": (lambda d, s: ["backtest", "-s", _raises_on_import(d)], "raised ImportError: needs talib2 (line 2)"),
    "unknown_strategy_module": (lambda d, s: ["backtest", "-s", "no_such_pkg.strategies:RsiMR"], "no module named 'no_such_pkg'"),
    "one_instrument_twice": (lambda d, s: ["backtest", "--data", good_csv(d), "--data", _file("BTCUSDT-1m.csv", _csv)(d)], "are the same instrument BTCUSDT"),
    "risk_limit_for_an_instrument_not_in_the_run": (lambda d, s: ["backtest", "--data", good_csv(d), "--risk-limit", "instruments.ETH/USDT.max_position=1"], "'ETH/USDT' is not traded in this run (instruments: BTC_USDT)"),
    "optimize_empty_grid": (lambda d, s: ["optimize"], "--grid: give at least one parameter to sweep"),
    "optimize_empty_axis": (lambda d, s: ["optimize", "--grid", "fast="], "grid fast: no values"),
    "optimize_empty_range": (lambda d, s: ["optimize", "--grid", "fast=20:10:1"], "grid fast: the range 20:10:1 is empty"),
    "optimize_unknown_objective": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--objective", "luck"], "unknown objective 'luck'"),
    "optimize_unknown_parameter": (lambda d, s: ["optimize", "--grid", "speed=1:3:1"], "strategy ema_cross has no parameter speed"),
    "optimize_invalid_combination": (lambda d, s: ["optimize", "--grid", "fast=5:50:45", "--grid", "slow=20"], "grid: {'fast': 50, 'slow': 20}"),
    "optimize_out_into_missing_directory": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--out", "out/sweep.parquet"], "--out: out/sweep.parquet: the directory out does not exist"),
    "optimize_unreachable_scheduler": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--scheduler", "tcp://127.0.0.1:1"], "scheduler: tcp://127.0.0.1:1: cannot connect: connection refused"),
    "optimize_malformed_scheduler": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--scheduler", "127.0.0.1:8786"], "scheduler: '127.0.0.1:8786' is not an address tcp://HOST:PORT"),
    "optimize_plot_into_missing_directory": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--plot", "out/sweep.html"], "--plot: out/sweep.html: the directory out does not exist"),
    "optimize_plot_not_html": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--plot", "sweep.png"], "--plot: sweep.png: must end in .html"),
    "optimize_plot_is_a_directory": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--plot", str(_dir(d))], "bars.csv' is a directory"),
    "optimize_returns_into_missing_directory": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--returns", "out/returns.parquet"], "--returns: out/returns.parquet: the directory out does not exist"),
    "optimize_returns_not_a_table": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--returns", "returns.txt"], "--returns: returns.txt: must end in .parquet or .csv"),
    "optimize_returns_over_out": (lambda d, s: ["optimize", "--grid", "fast=5:10:5", "--out", "r.parquet", "--returns", "r.parquet"], "--returns: r.parquet: also given to --out"),
    "overfit_missing_file": (lambda d, s: ["research", "overfit", "nope.parquet"], "nope.parquet: no such file"),
    "overfit_directory": (lambda d, s: ["research", "overfit", _dir(d)], "bars.csv: is a directory"),
    "overfit_unknown_format": (_overfit("returns.txt", _returns_csv), "returns.txt: expected a .parquet, .feather or .csv file"),
    "overfit_corrupt_parquet": (_overfit("returns.parquet", b"PAR1 not really PAR1"), "returns.parquet: not a readable Parquet file"),
    "overfit_corrupt_feather": (_overfit("returns.feather", b"ARROW1 not really"), "returns.feather: not a readable Feather file"),
    "overfit_binary_csv": (_overfit("returns.csv", bytes(range(256)) * 40), "returns.csv: not a readable CSV file"),
    "overfit_one_column": (_overfit("returns.csv", lambda: _returns_csv(columns=("a",))), "1 strategy column(s) (a): at least 2 needed"),
    "overfit_seven_rows": (_overfit("returns.csv", lambda: _returns_csv(rows=7)), "returns.csv: 7 row(s): at least 8 periods"),
    "overfit_text_column": (_overfit("returns.csv", lambda: _returns_csv(cell="abc")), "column 'b' is not numeric"),
    "overfit_missing_value": (_overfit("returns.csv", lambda: _returns_csv(cell="")), "column 'b': 1 missing value(s)"),
    "overfit_nan_in_csv": (_overfit("returns.csv", lambda: _returns_csv(cell="nan")), "column 'b': 1 missing value(s) (empty, NA or NaN), the first at row 3"),
    "overfit_nan": (_overfit("returns.parquet", _returns_parquet_with_nan), "column 'b': nan at row 5"),
    "overfit_inf": (_overfit("returns.csv", lambda: _returns_csv(cell="-inf")), "column 'b': -inf at row 3"),
    "overfit_periods_per_year_zero": (_overfit("returns.csv", _returns_csv, "--periods-per-year", "0"), "--periods-per-year: must be a finite number > 0"),
    "overfit_periods_per_year_nan": (_overfit("returns.csv", _returns_csv, "--periods-per-year", "nan"), "--periods-per-year: must be a finite number > 0, got nan"),
    "overfit_alpha_one": (_overfit("returns.csv", _returns_csv, "--alpha", "1"), "--alpha: must be a finite number in (0, 1)"),
    "overfit_odd_splits": (_overfit("returns.csv", _returns_csv, "--splits", "5"), "--splits: must be even"),
    "overfit_splits_for_too_few_rows": (_overfit("returns.csv", _returns_csv, "--splits", "22"), "--splits: 22 is too large for 20 periods"),
    "overfit_no_bootstrap": (_overfit("returns.csv", _returns_csv, "--boot", "0"), "'--boot': 0 is not in the range x>=1"),
    "overfit_negative_seed": (_overfit("returns.csv", _returns_csv, "--seed", "-1"), "'--seed': -1 is not in the range x>=0"),
    "overfit_not_a_number": (_overfit("returns.csv", _returns_csv, "--periods-per-year", "daily"), "'daily' is not a valid float"),
    "walkforward_window_longer_than_the_data": (lambda d, s: ["research", "walkforward", "--grid", "fast=5:10:5", "--train", "200000", "--test", "1000", "--out", "windows.parquet"], "train: a window of 200000 bars is longer than the data (100000 bars)"),
    "walkforward_unknown_objective": (lambda d, s: ["research", "walkforward", "--grid", "fast=5:10:5", "--train", "2000", "--test", "1000", "--objective", "luck"], "--objective: unknown objective 'luck'"),
    "walkforward_empty_grid": (lambda d, s: ["research", "walkforward", "--train", "2000", "--test", "1000"], "--grid: give at least one parameter to sweep"),
    "walkforward_unknown_parameter": (lambda d, s: ["research", "walkforward", "--grid", "speed=1:3:1", "--train", "2000", "--test", "1000"], "strategy ema_cross has no parameter speed"),
    "walkforward_out_into_missing_directory": (lambda d, s: ["research", "walkforward", "--grid", "fast=5:10:5", "--train", "2000", "--test", "1000", "--out", "out/windows.csv"], "--out: out/windows.csv: the directory out does not exist"),
    "cv_one_split": (lambda d, s: ["research", "cv", "--grid", "fast=5:10:5", "--splits", "1"], "'--splits': 1 is not in the range x>=2"),
    "cv_negative_purge": (lambda d, s: ["research", "cv", "--grid", "fast=5:10:5", "--purge", "-5"], "'--purge': -5 is not in the range x>=0"),
    "cv_unreachable_scheduler": (lambda d, s: ["research", "cv", "--grid", "fast=5:10:5", "--scheduler", "tcp://127.0.0.1:1", "--out", "folds.csv"], "scheduler: tcp://127.0.0.1:1: cannot connect: connection refused"),
    "cv_paths_out_over_out": (lambda d, s: ["research", "cv", "--grid", "fast=5:10:5", "--cpcv", "--out", "cv.parquet", "--paths-out", "cv.parquet"], "--paths-out: cv.parquet: also given to --out"),
    "montecarlo_no_paths": (lambda d, s: ["research", "montecarlo", "--paths", "0"], "'--paths': 0 is not in the range x>=1"),
    "montecarlo_unknown_model": (lambda d, s: ["research", "montecarlo", "--model", "garch"], "--model: unknown model 'garch'; one of gbm, merton, regime, heston, bootstrap"),
    "montecarlo_unreachable_scheduler": (lambda d, s: ["research", "montecarlo", "--paths", "2", "--bars", "100", "--scheduler", "tcp://127.0.0.1:1", "--out", "paths.csv"], "scheduler: tcp://127.0.0.1:1: cannot connect: connection refused"),
    "montecarlo_funding_spike_on_a_cash_account": (lambda d, s: ["research", "montecarlo", "--stress", "funding_spike"], "--stress: funding_spike: funding is paid on a margin account"),
    "inspect_truncated_csv_gz": (lambda d, s: ["data", "inspect", _file("bars.csv.gz", lambda: gzip.compress(_csv(60_000))[:40_000])(d)], "bars.csv.gz: truncated"),
    "inspect_binary_csv": (lambda d, s: ["data", "inspect", _file("bars.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)(d)], "bars.csv: not a text file"),
    "inspect_truncated_tardis_csv_gz": (lambda d, s: ["data", "inspect", _file("tardis_trades.csv.gz", lambda: (s() / "trades/nautilus/tardis_trades.csv.gz").read_bytes()[:30_000])(d)], "tardis_trades.csv.gz"),
    "inspect_corrupt_binance_recording": (lambda d, s: ["data", "inspect", _file("btcusdt.gz", lambda: (s() / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz").read_bytes()[:50_000])(d)], "btcusdt.gz"),
}


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


def _trader(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "trader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_exit_2_one_line_and_writes_nothing(case: str, tmp_path: Path, request: pytest.FixtureRequest):
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    build, needle = CASES[case]
    args = build(inputs, lambda: request.getfixturevalue("shared_data"))  # only the recordings' cases need it
    before = _snapshot(inputs)
    p = _trader(args, work)
    lines = p.stderr.splitlines()
    assert p.returncode == 2, (p.returncode, p.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr[-3000:]
    assert "Traceback" not in p.stderr and needle in lines[0], lines[0]
    assert lines[0].isprintable() and len(lines[0]) <= len("error: ") + 300, lines[0]
    assert p.stdout == ""
    assert _snapshot(work) == {}, "something was written into the working folder"
    assert _snapshot(inputs) == before, "an input was changed"


def test_there_are_at_least_15_named_bad_inputs():
    assert len(CASES) >= 15


def test_a_csv_with_a_utf8_byte_order_mark_runs(tmp_path: Path):
    """What Excel writes: a BOM before the header. Accepted, and nothing is written but the run's output."""
    data = tmp_path / "inputs" / "BTC_USDT-1m.csv"
    data.parent.mkdir()
    data.write_bytes(b"\xef\xbb\xbf" + _csv())
    work = tmp_path / "work"
    work.mkdir()
    p = _trader(["backtest", "--data", str(data), "--json", "--fills-out", "fills.csv"], work)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert '"symbols": ["BTC_USDT"]' in p.stdout and '"bars": 3000' in p.stdout
    assert sorted(_snapshot(work)) == ["fills.csv"]
    p = _trader(["data", "inspect", str(data), "--json"], work)
    assert p.returncode == 0 and '"rows": 3000' in p.stdout, p.stderr
