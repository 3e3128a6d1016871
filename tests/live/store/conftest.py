"""The store suite runs on both back ends: ``target`` is a state folder (SQLite) or the URL of a
fresh database on the session's PostgreSQL cluster (``tests/live/_postgres.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The back end of the parametrized suite."""
    return str(request.param)


@pytest.fixture
def target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store target that does not hold a store yet: a state folder, or an empty database."""
    if backend == "sqlite":
        return str(tmp_path / "state")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def snapshot(backend: str) -> Callable[[str], object]:
    """Everything stored at a target: the state folder's files and their bytes, or every table's
    rows of the database (to check a refused open changed nothing)."""

    def take(t: str) -> object:
        if backend == "sqlite":
            p = Path(t)
            if p.is_file():
                return p.read_bytes()
            if not p.exists():
                return None
            return {f.name: f.read_bytes() for f in sorted(p.iterdir())}
        import psycopg

        with psycopg.connect(t, connect_timeout=5) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")]
            out: dict[str, object] = {}
            for n in names:
                cols = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", (n,))]
                out[n] = (cols, sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"').fetchall())))
            return out

    return take
