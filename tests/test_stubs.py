"""The typed stub ``python/trader/_core.pyi`` must describe the extension exactly (mypy's stubtest)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "python" / "trader" / "_core.stubtest-allowlist"


def test_core_stub_matches_extension() -> None:
    if importlib.util.find_spec("mypy") is None:
        msg = "mypy is not installed (it is in the `test` extra)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    assert ALLOWLIST.is_file(), ALLOWLIST
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "trader._core", "--allowlist", str(ALLOWLIST)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0, f"stubtest found differences between _core.pyi and the extension:\n{out}"
