"""The store suite runs on both back ends: ``target`` is a state folder (SQLite) or the URL of a
fresh database on a PostgreSQL cluster this session starts in a temporary folder.

The cluster: ``initdb`` / ``pg_ctl`` from PATH or ``/usr/lib/postgresql/*/bin``, run as the
``postgres`` user when the tests run as root (initdb refuses root), listening on a free port of
127.0.0.1 (password auth, scram) with its unix socket in the temporary folder; stopped and removed
at the end of the session. Without PostgreSQL the PostgreSQL cases are skipped, except under
``CI=true`` where they fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"t{next(self._counter)}"
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
