"""A throw-away PostgreSQL cluster for the live tests (the store suite, the kill -9 test).

``initdb`` / ``pg_ctl`` from PATH or ``/usr/lib/postgresql/*/bin``, run as the ``postgres`` user
when the tests run as root (initdb refuses root), listening on a free port of 127.0.0.1 (password
auth, scram) with its unix socket in a temporary folder; started at the first test that asks,
stopped and removed at the end of the session. Without PostgreSQL the tests that need it are
skipped, except under ``CI=true`` where they fail.

Fixtures (made visible to every live test by ``tests/live/conftest.py``): ``pg_server`` (the
cluster), ``pg_url`` (a fresh empty database), ``postgresql_url_factory`` (``new("name")`` -> the
URL of a fresh empty database).
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PG_PASSWORD", "PgServer", "pg_server", "pg_url", "postgresql_url_factory"]

PG_PASSWORD = "s3cr3t-pw"


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _pg_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running throw-away cluster."""

    port: int
    root: Path
    _counter: Iterator[int]

    def url(self, db: str = "postgres", password: str = PG_PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{db}"

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database (named ``prefix`` and a number); its URL."""
        import psycopg

        name = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40] + f"_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL cluster of this test session (skipped without PostgreSQL, failed under CI)."""
    bindir = _pg_bindir()
    missing = "PostgreSQL (initdb, pg_ctl) is not installed"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing = "psycopg is not installed"
        bindir = None
    if bindir is None:
        if _ci():
            pytest.fail(f"{missing}, and CI=true requires the PostgreSQL suite")
        pytest.skip(missing)
    root = Path(tempfile.mkdtemp(prefix="trader-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    pwfile = root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres", "postgres")
    data, sock, logf = root / "data", root / "sock", root / "log"
    sock.mkdir()
    if as_user:
        shutil.chown(sock, "postgres", "postgres")

    def run(*cmd: str, timeout: float = 120) -> None:
        r = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout}\n{r.stderr}")

    port = _free_port()
    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}", "-E", "UTF8",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        opts = (f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sock} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logf), "-o", opts, "-w", "-t", "60", "start")
        started = True
        yield PgServer(port, root, itertools.count(1))
    except RuntimeError as e:
        if _ci():
            pytest.fail(f"cannot start PostgreSQL: {e}")
        pytest.skip(f"cannot start PostgreSQL: {e}")
    finally:
        if started:
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database."""
    return pg_server.new_database()


@pytest.fixture
def postgresql_url_factory(pg_server: PgServer) -> Callable[[str], str]:
    """``new(name)``: the URL of a fresh, empty database whose name starts with ``name``."""
    return pg_server.new_database
