"""Where the benches find the recorded market data. A bench whose data is missing fails, in CI and
out of it: a line measured on other data than it documents, or not measured, must not pass for
one that was (``benches/gate.py`` fails every line left without a result of its run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._data import ROOT


def shared_file(rel: str) -> Path:
    """``$TRADER_SHARED_DATA/<rel>`` (default ``../shared/data``); fails the bench if it is absent."""
    path = Path(os.environ.get("TRADER_SHARED_DATA", ROOT.parent / "shared" / "data")) / rel
    if not path.exists():
        pytest.fail(f"bench data not found at {path} (set TRADER_SHARED_DATA): no measurement is taken", pytrace=False)
    return path
