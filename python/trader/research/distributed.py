"""One way to run many independent research tasks — a sweep's backtests, walk-forward windows,
cross-validation folds, Monte Carlo paths — in this process or on Dask.

:func:`run_tasks` calls ``fn(shared, item)`` once per item and returns the results in the items'
order:

- ``jobs == 1`` and no ``scheduler``: here, one after another (no Dask at all);
- ``jobs > 1`` (``None``: the machine's cores): on a ``distributed.LocalCluster`` of ``jobs``
  worker processes (one thread each; at most one per task) started for the call and closed after
  it; no dashboard, no memory limit per worker (as plain worker processes would have), Dask's
  logging kept below ERROR;
- ``scheduler="tcp://HOST:PORT"``: on an existing Dask cluster (started with ``dask scheduler``
  and ``dask worker ADDRESS``); ``jobs`` is then ignored: the cluster's workers set the
  parallelism. The scheduler and the workers need the same Python packages as this process
  (trader, numpy, the strategies' modules), as Dask requires. An address that is not
  ``tcp://HOST:PORT``, a scheduler that cannot be reached within :data:`CONNECT_TIMEOUT_S`
  seconds, or one without any worker within :data:`WORKERS_TIMEOUT_S`, is an
  :class:`~trader.exceptions.InvalidInputError` naming the address, raised before any task is
  sent.

**Shared input, sent once.** ``shared`` (the bars, the backtest's options) is not copied into
every task: it becomes one task of its own whose result every task takes as its first argument,
so it travels to the cluster once and to each worker once (a worker that needs it fetches it from
a worker that has it). Being a task and not scattered data, it is never lost: the scheduler keeps
its definition, and should every worker holding it die, Dask computes it again on another worker.

**Worker loss.** When a worker dies (killed, out of memory, its machine gone), the scheduler gives
the tasks it was running or holding to the other workers (or to the worker that replaces it) and
runs them again there; results already received are kept. A task that is running each time a
worker dies 3 times (Dask's ``distributed.scheduler.allowed-failures``) is reported as
``distributed.KilledWorker``. Only when no worker is left does the call wait for one.

**Results do not depend on where they ran.** A task must be a pure function of ``shared`` and its
item (no global state, no clock, no unseeded randomness), and results are put back in the items'
order, so a run on one process, a local cluster or a remote one — including one where a task ran
twice because its first worker died — returns the same list.

Progress: ``progress(done, total)`` is called here as results arrive. Errors: a task's exception is
raised here as the original exception (an :class:`~trader.exceptions.InvalidInputError` raised in
a task stays one), and the tasks not yet run are cancelled.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import pickle
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from trader.exceptions import InvalidInputError

__all__ = ["run_tasks", "session", "check_scheduler", "runs_here", "CONNECT_TIMEOUT_S", "WORKERS_TIMEOUT_S"]

#: Seconds to reach a scheduler given by address before refusing it.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for a reachable scheduler to have at least one worker.
WORKERS_TIMEOUT_S = 30.0

_ADDRESS = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
#: Dask's loggers kept at ERROR while a cluster is in use (a worker lost and replaced is logged
#: at WARNING: Dask handles it; a task's error is raised here, not logged).
_LOGGERS = ("distributed", "dask", "tornado", "bokeh")

T = TypeVar("T")
R = TypeVar("R")


def check_scheduler(scheduler: str | None) -> str | None:
    """``scheduler`` if it is None or ``tcp://HOST:PORT`` (port 1..65535); else an
    InvalidInputError. Does not connect."""
    if scheduler is None:
        return None
    if not isinstance(scheduler, str):
        raise InvalidInputError(f"scheduler: expected an address tcp://HOST:PORT, got {type(scheduler).__name__}")
    m = _ADDRESS.match(scheduler.strip())
    if not m or not 1 <= int(m.group(2)) <= 65535:
        raise InvalidInputError(f"scheduler: {scheduler!r} is not an address tcp://HOST:PORT (port 1..65535)")
    return scheduler.strip()


def runs_here(jobs: int | None, scheduler: str | None, n_items: int | None = None) -> bool:
    """Whether :func:`run_tasks` with these arguments runs the tasks in this process."""
    if scheduler is not None:
        return False
    want = (os.cpu_count() or 1) if jobs is None else jobs
    return want <= 1 or (n_items is not None and n_items <= 1)


class _Packed:
    """A value pickled whole into one bytes object (cloudpickle, protocol 4), and unpickled — once,
    then kept — where it is used. So its numpy arrays arrive as fresh, aligned, writeable arrays
    of their own, as a plain pickle gives them: Dask's own serialization hands arrays out as
    views of its network buffers, read-only and possibly misaligned, which the engine refuses."""

    __slots__ = ("blob", "_value", "_lock")
    _UNSET: Any = object()

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self._value = _Packed._UNSET
        self._lock = threading.Lock()

    @classmethod
    def of(cls, value: Any) -> _Packed:
        import cloudpickle  # type: ignore[import-untyped]

        return cls(cloudpickle.dumps(value, protocol=4))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Packed, (self.blob,))

    def value(self) -> Any:
        with self._lock:
            if self._value is _Packed._UNSET:
                self._value = pickle.loads(self.blob)
            return self._value


def _task(fn: Callable[[Any, Any], Any], shared: _Packed, item: _Packed) -> _Packed:
    """One task on a worker: ``fn(shared, item)``, its inputs and its result packed."""
    return _Packed.of(fn(shared.value(), item.value()))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's loggers in this process at ERROR (or above, if set higher) for the block."""
    saved = []
    for name in _LOGGERS:
        log = logging.getLogger(name)
        saved.append((log, log.level))
        if log.getEffectiveLevel() < logging.ERROR:
            log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log, level in saved:
            log.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _identify(address: str) -> str | None:
    """What answers at ``address`` ("Scheduler", "Worker", ...), or None if nothing answered as a
    Dask server within :data:`CONNECT_TIMEOUT_S` (a peer that accepts the connection and stays
    silent would otherwise hold the client's handshake forever). Runs in a thread of its own, so
    it works under a running event loop (a notebook) too."""
    import asyncio

    from distributed.comm import connect

    async def ask() -> Any:
        comm = await connect(address, timeout=CONNECT_TIMEOUT_S)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    answer: list[Any] = []

    def run() -> None:
        try:
            answer.append(asyncio.run(asyncio.wait_for(ask(), CONNECT_TIMEOUT_S)))
        except Exception:  # refused, timed out, not speaking Dask's protocol
            pass

    thread = threading.Thread(target=run, name="trader-dask-probe", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S + 1.0)
    if not answer or not isinstance(answer[0], dict):
        return None
    return str(answer[0].get("type") or "server")


def _connect(scheduler: str) -> Any:
    """A client of the cluster at ``scheduler`` with at least one worker, or an InvalidInputError."""
    import socket

    from distributed import Client

    m = _ADDRESS.match(scheduler)
    assert m is not None
    host, port = m.group(1).strip("[]"), int(m.group(2))
    try:  # a plain TCP connection first: a refused port or an unknown host is told at once
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e)).lower()
        raise InvalidInputError(f"scheduler: {scheduler}: cannot connect: {reason}") from None
    kind = _identify(scheduler)
    if kind != "Scheduler":
        raise InvalidInputError(f"scheduler: {scheduler}: a Dask {kind}, not a scheduler" if kind else
                                f"scheduler: {scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT_S:g} s")
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise InvalidInputError(f"scheduler: {scheduler}: cannot connect within {CONNECT_TIMEOUT_S:g} s "
                                f"({_first_line(e)})") from None
    except Exception as e:  # a peer that is not a Dask scheduler, a version it refuses, ...
        raise InvalidInputError(f"scheduler: {scheduler}: not usable ({_first_line(e)})") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except (OSError, TimeoutError):
        client.close()
        raise InvalidInputError(f"scheduler: {scheduler}: no worker connected within {WORKERS_TIMEOUT_S:g} s "
                                f"(start some with `dask worker {scheduler}`)") from None
    return client


def _local(workers: int) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    # no dashboard; the scheduler's HTTP server (health, metrics) on a free port of localhost, not
    # on 8787, which another cluster may hold (Dask would warn and move)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL, memory_limit=0, host="127.0.0.1",
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return cluster, client


#: The innermost :func:`session`: its scheduler (None: a local cluster), its jobs, and its client
#: once a task needed one.
_SESSION: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("trader_dask_session", default=None)


@contextlib.contextmanager
def session(jobs: int | None = 1, scheduler: str | None = None) -> Iterator[None]:
    """One Dask client for every :func:`run_tasks` inside the block (a cross-validation's sweeps,
    a walk-forward's searches): a local cluster of ``jobs`` processes started once — when a task
    first needs it, not at all if every call runs here — instead of once per call, or the
    connection to ``scheduler`` made once. Nothing inside another session. Bad
    ``jobs``/``scheduler``: an InvalidInputError before anything starts."""
    scheduler = check_scheduler(scheduler)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    if _SESSION.get() is not None:
        yield
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet())  # its cluster closes quietly, last (the stack unwinds LIFO)
        token = _SESSION.set({"scheduler": scheduler, "jobs": jobs, "client": None, "stack": stack})
        try:
            yield
        finally:
            _SESSION.reset(token)


def _session_client(scheduler: str | None) -> Any:
    """The active session's client for ``scheduler`` (made now if none yet), or None."""
    active = _SESSION.get()
    if active is None or active["scheduler"] != scheduler:
        return None
    if active["client"] is None:
        stack = active["stack"]
        if scheduler is not None:
            client = _connect(scheduler)
        else:
            cluster, client = _local((os.cpu_count() or 1) if active["jobs"] is None else active["jobs"])
            stack.callback(cluster.close)
        stack.callback(client.close)
        active["client"] = client
    return active["client"]


def run_tasks(fn: Callable[[Any, T], R], items: Sequence[T], *, jobs: int | None = 1, scheduler: str | None = None,
              shared: Any = None, progress: Callable[[int, int], None] | None = None,
              on_result: Callable[[int, R], Any] | None = None, name: str | None = None) -> list[Any]:
    """``[fn(shared, item) for item in items]``, in this process or on Dask (see the module docs).

    ``fn``: a pure function of its two arguments, importable by name on the workers (a module's
    function; a lambda or a local function travels by value with cloudpickle). ``jobs``: worker
    processes of a local cluster (1: here, serially; None: the machine's cores; never more than
    the items); ignored with ``scheduler``. ``scheduler``: ``tcp://HOST:PORT`` of an existing
    cluster. ``shared``: the input every task shares, sent to each worker once. ``progress(done,
    total)``: called here as results arrive. ``on_result(index, value)``: called here for each
    result in the items' order, as soon as it and every result before it have arrived; what it
    returns is kept in the returned list in place of the value (to keep a part of a large result
    only). ``name``: a prefix of the tasks' keys on the cluster (default: ``fn``'s name).

    Raises an InvalidInputError for a bad ``jobs`` or ``scheduler`` before any task runs; a
    task's exception as raised by the task."""
    scheduler = check_scheduler(scheduler)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InvalidInputError(f"jobs: must be an integer >= 1, got {jobs!r}")
    items = list(items)
    total = len(items)
    results: list[Any] = [None] * total
    if runs_here(jobs, scheduler, total):
        for i, item in enumerate(items):
            value = fn(shared, item)
            results[i] = on_result(i, value) if on_result is not None else value
            if progress:
                progress(i + 1, total)
        return results

    import dask

    workers = min((os.cpu_count() or 1) if jobs is None else jobs, total)
    # the keys' names: the tasks form one group ("sweep-<token>-<i>"), the shared input another
    # ("sweep-shared-<token>"); in one group with it they would all go where it was computed
    label, token = name or getattr(fn, "__name__", "task"), uuid.uuid4().hex[:12]
    with _quiet(), contextlib.ExitStack() as stack:
        if (client := _session_client(scheduler)) is not None:
            pass  # the session's: its cluster stays up for the next call
        elif scheduler is not None:
            client = _connect(scheduler)
            stack.callback(client.close)
        else:
            cluster, client = _local(workers)
            stack.callback(cluster.close)
            stack.callback(client.close)
        if total == 0:
            return results
        # Dask warns of a large graph, which is right for data repeated in many tasks; here the
        # shared input is one task (see the module docs) and every item is a task's own input
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1 PiB"}):
            shared_future = client.submit(_Packed, _Packed.of(shared).blob, key=f"{label}-shared-{token}", pure=False)
            futures = client.map(_task, [fn] * total, [shared_future] * total, [_Packed.of(item) for item in items],
                                 key=[f"{label}-{token}-{i}" for i in range(total)], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        arrived: dict[int, Any] = {}
        next_out = 0
        try:
            from distributed import as_completed

            for done, fut in enumerate(as_completed(futures, loop=client.loop), 1):
                i = index[fut.key]
                value = fut.result().value()
                fut.release()
                if on_result is None:
                    results[i] = value
                else:
                    arrived[i] = value
                    while next_out in arrived:
                        results[next_out] = on_result(next_out, arrived.pop(next_out))
                        next_out += 1
                if progress:
                    progress(done, total)
        except BaseException:
            client.cancel([*futures, shared_future], force=True)
            raise
        return results
