"""Helpers for the data tests: write small bar files into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = "timestamp,open,high,low,close,volume"


def good_rows(n: int = 5, start_ms: int = 1_700_000_000_000, step_ms: int = 60_000) -> list[str]:
    """``n`` valid generic-CSV rows with ms epochs."""
    rows = []
    for i in range(n):
        p = 100.0 + i
        rows.append(f"{start_ms + i * step_ms},{p},{p + 2},{p - 1},{p + 1},{10 + i}")
    return rows


@pytest.fixture
def write(tmp_path: Path):
    """``write(name, lines)`` → the path of a text file holding ``lines``."""

    def _write(name: str, lines: list[str]) -> Path:
        path = tmp_path / name
        path.write_text("".join(line + "\n" for line in lines))
        return path

    return _write
