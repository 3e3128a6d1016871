"""Readers for the recorded bar files used by tests and benches (feather, CSV, Binance kline CSV)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("open", "high", "low", "close", "volume")


def kline_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".feather", ".csv", ".csv.gz")))


def load_ohlcv(path: Path) -> dict[str, np.ndarray]:
    """OHLCV columns of a bar file as contiguous float64 arrays."""
    if path.name.endswith(".feather"):
        import pyarrow.feather as feather

        table = feather.read_table(path)
        return {c: np.ascontiguousarray(table.column(c).to_numpy(), dtype=np.float64) for c in COLUMNS}
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        first = fh.readline()
    has_header = not first.split(",")[0].strip().replace(".", "", 1).isdigit()
    # Binance kline layout: open time, open, high, low, close, volume, ...; generic: ts, o, h, l, c, v.
    cols = np.loadtxt(path, delimiter=",", skiprows=int(has_header), usecols=(1, 2, 3, 4, 5), dtype=np.float64, ndmin=2)
    return {c: np.ascontiguousarray(cols[:, i]) for i, c in enumerate(COLUMNS)}
