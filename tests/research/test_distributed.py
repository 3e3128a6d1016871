"""Research work on Dask (trader.research.distributed): one mechanism runs a sweep's backtests, the
walk-forward windows and Monte Carlo paths, here, on a local cluster, or on a cluster given by
address — and the results do not depend on where they ran.

The acceptance test starts a real scheduler and two workers as separate OS processes on
127.0.0.1, runs a sweep and a walk-forward on them, kills one worker (SIGKILL) once some but not
all results have arrived, and gets exactly the serial run's results. A scheduler that is not
there, or an address that is not one, is refused at once, before any run."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trader.exceptions import InvalidInputError
from trader.research import montecarlo as mc
from trader.research.distributed import check_scheduler, run_tasks
from trader.research.sweep import sweep
from trader.research.walkforward import walk_forward_optimize
from trader_strategies.ema_cross import EmaCross

ROOT = Path(__file__).resolve().parents[2]


def _same(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN, through dicts, lists, tuples and arrays."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


# -- tasks of the tests (module functions: the workers import them by name) ------------------------


_SEEN: list[Any] = []  # the shared inputs a process's tasks were given (kept: no id is reused)


def _square(shared: dict[str, Any], x: int) -> tuple[int, int, int, tuple[bool, bool, bool]]:
    """x² times the shared factor plus the shared array's sum, the worker's pid, how many distinct
    shared objects this process has been given so far, and whether the shared array arrived
    contiguous, aligned and writeable."""
    if not any(s is shared for s in _SEEN):
        _SEEN.append(shared)
    time.sleep(0.02)
    a = shared["array"]
    flags = (bool(a.flags.c_contiguous), bool(a.flags.aligned), bool(a.flags.writeable))
    return shared["k"] * x * x + int(a.sum()), os.getpid(), len(_SEEN), flags


def _double(shared: int, x: int) -> int:
    return shared + 2 * x


def _fail_on_three(shared: Any, x: int) -> int:
    if x == 3:
        raise InvalidInputError(f"item {x}: refused")
    return x


# -- (a) run_tasks: here and on a local cluster, the same --------------------------------------------


def test_run_tasks_here_and_on_a_local_cluster_give_the_same_list() -> None:
    shared = {"k": 3, "array": np.arange(1000, dtype=np.int64)}
    items = list(range(12))
    seen_here: list[tuple[int, int]] = []
    seen_there: list[tuple[int, int]] = []
    order_here: list[int] = []
    order_there: list[int] = []

    def keep(order: list[int]) -> Callable[[int, Any], Any]:
        def on_result(i: int, value: Any) -> Any:
            order.append(i)
            return value[0]  # keep only the value
        return on_result

    here = run_tasks(_square, items, jobs=1, shared=shared, progress=lambda d, n: seen_here.append((d, n)),
                     on_result=keep(order_here))
    t0 = time.perf_counter()
    raw = run_tasks(_square, items, jobs=2, shared=shared, progress=lambda d, n: seen_there.append((d, n)))
    there = run_tasks(_square, items, jobs=2, shared=shared, on_result=keep(order_there))
    assert time.perf_counter() - t0 < 60
    expected = [3 * x * x + 499_500 for x in items]
    assert here == there == [v for v, *_ in raw] == expected
    assert order_here == order_there == items  # in the items' order, whatever the order of arrival
    assert seen_here == [(i, 12) for i in range(1, 13)] and seen_there == [(i, 12) for i in range(1, 13)]
    pids = {pid for _, pid, _, _ in raw}
    assert os.getpid() not in pids and len(pids) == 2  # ran in both worker processes
    # the shared input arrived once per worker: every task of a worker was given the same object
    assert {seen for _, _, seen, _ in raw} == {1}
    # as fresh arrays (the engine refuses misaligned or non-contiguous ones)
    assert all(flags == (True, True, True) for *_, flags in raw)
    # a task's error is raised here as what it was
    for jobs in (1, 2):
        with pytest.raises(InvalidInputError, match="item 3: refused"):
            run_tasks(_fail_on_three, range(6), jobs=jobs)
    assert run_tasks(_square, [], jobs=2, shared=shared) == []


def test_sweep_on_a_local_cluster_equals_the_serial_sweep() -> None:
    grid = {"fast": "3:9:3", "slow": "20:40:10"}
    serial = sweep("ema_cross", grid, None, jobs=1, mode="event", fee_bps=5.0)
    local = sweep("ema_cross", grid, None, jobs=2, mode="event", fee_bps=5.0)
    assert len(serial.rows) == 9 and _same(local.rows, serial.rows) and _same(local.best, serial.best)
    assert np.array_equal(local.returns, serial.returns) and np.array_equal(local.days, serial.days)


# -- (b) the acceptance test: a real scheduler and two workers, one killed mid-run -------------------


class _Cluster:
    """A Dask scheduler and workers, each its own OS process on 127.0.0.1 (no nanny: killing a
    worker's process kills the worker)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        p = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=env)
        log.close()
        self.procs.append(p)
        return p

    def start_scheduler(self) -> None:
        self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--scheduler-file",
                                  str(self.file)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.file.exists():
                try:
                    self.address = json.loads(self.file.read_text())["address"]
                    break
                except (ValueError, KeyError):
                    pass  # being written
            assert self.procs[0].poll() is None, self.log("scheduler")
            time.sleep(0.05)
        assert self.address.startswith("tcp://127.0.0.1:"), self.log("scheduler")

    def start_worker(self) -> subprocess.Popen[bytes]:
        name = f"worker{len(self.workers)}"
        p = self._spawn(name, ["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--nworkers", "1",
                               "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", name,
                               "--memory-limit", "0"])
        self.workers.append(p)
        return p

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=45)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def _taken_back(dask_scheduler: Any) -> list[str]:
    """Run on the scheduler: the keys it took back from a worker that was removed while they were
    running there (to run them again elsewhere)."""
    return sorted({str(t.key) for t in dask_scheduler.transition_log
                   if t.start == "processing" and str(t.stimulus_id).startswith("handle-worker-cleanup")})


def _rerun(address: str, prefix: str) -> list[str]:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return [k for k in client.run_on_scheduler(_taken_back) if k.startswith(prefix) and "-shared-" not in k]


@contextlib.contextmanager
def _cluster(folder: Path, workers: int) -> Iterator[_Cluster]:
    c = _Cluster(folder)
    try:
        c.start_scheduler()
        for _ in range(workers):
            c.start_worker()
        c.wait_for_workers(workers)
        yield c
    finally:
        c.stop()


def _killer(victim: Callable[[], subprocess.Popen[bytes]], at: int, then: Callable[[], object] | None = None
            ) -> tuple[Callable[[int, int], None], dict[str, Any]]:
    """A progress callback that SIGKILLs ``victim()`` when ``at`` results have arrived (and then
    calls ``then``), recording when."""
    state: dict[str, Any] = {"killed_at": None, "total": None, "calls": 0}

    def progress(done: int, total: int) -> None:
        state["calls"] += 1
        state["total"] = total
        if state["killed_at"] is None and done >= at:
            p = victim()
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            state["killed_at"] = done
            if then is not None:
                then()
    return progress, state


def test_sweep_and_walk_forward_on_a_scheduler_survive_a_killed_worker(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    grid = {"fast": "3:12:1", "slow": "20:40:5"}  # 50 runs of ~0.15 s each (event mode, 100,000 bars)
    options: dict[str, Any] = {"mode": "event", "fee_bps": 7.5}
    wf: dict[str, Any] = {"train": "10d", "test": "5d"}  # 11 windows on the synthetic series, each a sweep of 20 runs
    wf_grid = {"fast": "3:12:3", "slow": "20:40:5"}
    serial = sweep("ema_cross", grid, None, jobs=1, **options)
    serial_wf = walk_forward_optimize("ema_cross", wf_grid, None, jobs=1, **wf, **options)
    assert len(serial.rows) == 50 and len(serial_wf.windows) >= 8
    with _cluster(tmp_path, workers=2) as c:
        progress, state = _killer(lambda: c.workers[0], at=5)
        there = sweep("ema_cross", grid, None, scheduler=c.address, progress=progress, **options)
        # the kill landed mid-run: some results had arrived, not all
        assert state["killed_at"] is not None and 0 < state["killed_at"] < state["total"] == 50
        assert c.workers[0].poll() == -signal.SIGKILL and c.workers[1].poll() is None
        assert state["calls"] == 50  # every run's result arrived
        # the run the killed worker was running was taken back by the scheduler and ran again
        assert len(_rerun(c.address, "sweep-")) >= 1
        assert _same(there.rows, serial.rows) and _same(there.best, serial.best)
        assert there.best_index == serial.best_index
        assert np.array_equal(there.returns, serial.returns) and np.array_equal(there.days, serial.days)
        o, s = there.overfitting, serial.overfitting
        assert o is not None and s is not None and (o.dsr, o.pbo, o.spa_pvalue) == (s.dsr, s.pbo, s.spa_pvalue)

        # the walk-forward: one worker is left; start another, and kill the first one mid-run
        c.start_worker()
        c.wait_for_workers(2)
        progress, state = _killer(lambda: c.workers[1], at=2)
        there_wf = walk_forward_optimize("ema_cross", wf_grid, None, scheduler=c.address, progress=progress, **wf,
                                         **options)
        assert state["killed_at"] is not None and 0 < state["killed_at"] < state["total"] == len(serial_wf.windows)
        assert c.workers[1].poll() == -signal.SIGKILL
        assert len(_rerun(c.address, "walk-forward-")) >= 1
    assert len(there_wf.windows) == len(serial_wf.windows)
    for a, b in zip(there_wf.windows, serial_wf.windows):
        assert _same(a.params, b.params) and _same(a.in_sample, b.in_sample) and _same(a.out_of_sample, b.out_of_sample)
        assert (a.window, a.train_start, a.train_end, a.test_start, a.test_end) == (
            b.window, b.train_start, b.train_end, b.test_start, b.test_end)
        assert np.array_equal(a.equity, b.equity) and np.array_equal(a.equity_ts, b.equity_ts)
    assert np.array_equal(there_wf.equity, serial_wf.equity) and np.array_equal(there_wf.equity_ts, serial_wf.equity_ts)
    assert _same(there_wf.stats, serial_wf.stats) and _same(there_wf.stability, serial_wf.stability)
    assert time.perf_counter() - t0 < 120


def test_the_shared_data_survives_losing_every_worker_that_held_it(tmp_path: Path) -> None:
    """One worker holds the bars and runs; it is killed mid-run and another takes its place: the
    bars (a task, not scattered data) are made again there and the sweep ends as the serial one."""
    grid = {"fast": "3:7:1", "slow": "20:40:10"}  # 15 runs
    options: dict[str, Any] = {"mode": "event"}
    serial = sweep("ema_cross", grid, None, jobs=1, **options)
    with _cluster(tmp_path, workers=1) as c:
        progress, state = _killer(lambda: c.workers[0], at=3, then=c.start_worker)
        there = sweep("ema_cross", grid, None, scheduler=c.address, progress=progress, **options)
        assert 0 < state["killed_at"] < 15 and c.workers[0].poll() == -signal.SIGKILL and c.workers[1].poll() is None
        assert len(_rerun(c.address, "sweep-")) >= 1
    assert _same(there.rows, serial.rows) and _same(there.best, serial.best)


# -- (c) a scheduler that is not there, an address that is not one ----------------------------------


def test_an_unreachable_scheduler_is_refused_at_once_naming_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    address = f"tcp://127.0.0.1:{port}"
    for call in (lambda: run_tasks(_square, [1, 2], scheduler=address),
                 lambda: sweep("ema_cross", {"fast": "5:10:5"}, None, scheduler=address),
                 lambda: walk_forward_optimize("ema_cross", {"fast": "5:10:5"}, None, train="10d", test="5d",
                                               scheduler=address),
                 lambda: mc.run_paths(functools.partial(EmaCross, fast=5, slow=20),
                                      mc.gbm(2, 100, mu=0.0, sigma=0.01, s0=100.0, seed=1), scheduler=address)):
        t0 = time.perf_counter()
        with pytest.raises(InvalidInputError) as info:
            call()
        assert time.perf_counter() - t0 < 5
        text = str(info.value)
        assert text.startswith(f"scheduler: {address}: cannot connect") and "\n" not in text, text


def test_a_silent_peer_is_refused_within_the_timeout() -> None:
    """Something listens on the port but does not speak Dask: refused after the connect timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conns.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        t0 = time.perf_counter()
        with pytest.raises(InvalidInputError, match=f"scheduler: {address}: "):
            run_tasks(_square, [1], scheduler=address)
        assert time.perf_counter() - t0 < 20
    finally:
        stop.set()
        thread.join(5)
        for conn in conns:
            conn.close()
        server.close()


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
                                     "http://127.0.0.1:8786", "tcp://:8786", "tcp://a b:8786", 8786])
def test_a_malformed_address_is_refused_without_connecting(address: Any) -> None:
    with pytest.raises(InvalidInputError, match="scheduler: .*(not an address tcp://HOST:PORT|expected an address)"):
        check_scheduler(address)
    with pytest.raises(InvalidInputError, match="scheduler: "):
        sweep("ema_cross", {"fast": "5:10:5"}, None, scheduler=address)
    assert check_scheduler(" tcp://localhost:8786 ") == "tcp://localhost:8786"
    assert check_scheduler("tcp://[::1]:8786") == "tcp://[::1]:8786"


def test_an_optuna_search_runs_its_workers_on_a_scheduler(tmp_path: Path) -> None:
    """An Optuna search on a cluster: its workers are tasks there, sharing the study through a
    storage every worker reaches (one they could not share is refused before any run)."""
    import optuna

    import trader

    grid = {"fast": "3:12:1", "slow": "20:60:5"}
    for storage in (None, "sqlite:///relative.db"):
        with pytest.raises(InvalidInputError, match="storage: an Optuna search on the Dask cluster"):
            sweep("ema_cross", grid, None, method="tpe", trials=3, scheduler="tcp://127.0.0.1:1", storage=storage)
    with pytest.raises(InvalidInputError, match="scheduler: a walk-forward with an Optuna search"):
        walk_forward_optimize("ema_cross", {"fast": "5:10:5"}, None, train="10d", test="5d", method="tpe", trials=3,
                              scheduler="tcp://127.0.0.1:1")
    url = f"sqlite:///{tmp_path / 'o.db'}"  # an absolute path: sqlite:////...
    with _cluster(tmp_path, workers=2) as c:
        r = sweep("ema_cross", grid, None, method="tpe", trials=8, scheduler=c.address, storage=url, study="d",
                  jobs=2, fee_bps=7.5, seed=1)
    assert "Dask cluster" in r.runner
    st = optuna.load_study(study_name="d", storage=url)
    complete = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 8 <= len(complete) == len(r.rows) <= 9  # each worker finishes the trial it began
    for row in r.rows[:3]:
        alone = trader.run_backtest("ema_cross", {"fast": row["fast"], "slow": row["slow"]}, None, fee_bps=7.5,
                                    mode="auto")
        assert _same(dict(row), {**{k: row[k] for k in ("fast", "slow")}, **alone.stats})


# -- (d) Monte Carlo paths ------------------------------------------------------------------------


def test_run_paths_on_dask_equals_the_serial_run() -> None:
    ps = mc.gbm(6, 2_000, mu=0.0, sigma=0.002, s0=30_000.0, seed=5)
    options: dict[str, Any] = {"bar_options": {"seed": 3, "interval": "1m"}, "fee_bps": 5, "cash": 50_000.0}
    kept: dict[str, dict[int, Any]] = {"here": {}, "there": {}}

    def keep(where: str) -> Callable[[int, Any], None]:
        def on_result(i: int, result: Any) -> None:
            kept[where][i] = (result.equity, result.fills_exact, result.account_exact(), result.fills_table().to_pylist(),
                              result.orders_table().to_pylist())
        return on_result

    serial = mc.run_paths(functools.partial(EmaCross, fast=5, slow=20), ps, on_result=keep("here"), **options)
    there = mc.run_paths(lambda: EmaCross(fast=5, slow=20), ps, jobs=2, on_result=keep("there"), **options)
    assert there.dtype == serial.dtype and serial["trades"].min() > 0
    np.testing.assert_equal(there, serial)
    assert list(kept["there"]) == list(kept["here"]) == list(range(6))  # on_result in the paths' order
    for i in range(6):
        here_i, there_i = kept["here"][i], kept["there"][i]
        assert np.array_equal(here_i[0], there_i[0])
        assert here_i[1:] == there_i[1:], i  # exact fills, account, fills and orders tables: as if run here
    np.testing.assert_equal(mc.run_paths("ema_cross", ps, jobs=2, **options),
                            mc.run_paths("ema_cross", ps, **options))


def test_a_session_starts_one_cluster_for_many_calls_and_none_when_all_run_here(monkeypatch: pytest.MonkeyPatch) -> None:
    from trader.research import distributed

    started: list[int] = []
    real = distributed._local

    def counting(workers: int) -> Any:
        started.append(workers)
        return real(workers)

    monkeypatch.setattr(distributed, "_local", counting)
    with distributed.session(2):
        a = distributed.run_tasks(_double, [1, 2, 3], jobs=2, shared=10)
        b = distributed.run_tasks(_double, [4, 5], jobs=2, shared=10)
    assert (a, b) == ([12, 14, 16], [18, 20]) and started == [2]
    with distributed.session(2):  # every call runs here: no cluster at all
        assert distributed.run_tasks(_double, [1], jobs=1, shared=0) == [2]
    assert started == [2]
    # a cross-validation of an event-driven strategy: its sweeps share one cluster
    from trader.research.crossval import purged_cv

    purged_cv("ema_cross", {"fast": "3:5:1", "slow": "20:30:10"}, None, n_splits=3, jobs=2, mode="event",
              end="2024-01-20")
    assert started == [2, 2]
