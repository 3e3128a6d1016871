"""The background writer: batches leave the engine's thread at once and are committed by a thread
of their own, several at a time.

Back-pressure: the queue holds at most ``max_queue`` batches. :meth:`BatchWriter.submit` returns as
soon as its batch is queued; when the queue is full (the disk is slower than the feed) it blocks
until the writer thread takes a batch — the feed is held back, nothing is dropped.

Coalescing: the thread takes every batch waiting at once and commits them in one transaction
(appends concatenated; the last record of each upsert key wins), so a slow commit makes the next
one bigger, not later.

Errors: a failed commit stops the writer. The error is raised (a :class:`StoreError` whose cause is
the original) by the next :meth:`submit` or :meth:`flush`, and by every later one; batches queued
behind it are not written. The node stops on it.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from trader.exceptions import InvalidInputError, StoreError
from trader.live.store.records import Batch
from trader.live.store.store import Store

__all__ = ["BatchWriter"]

_STOP = object()


class BatchWriter:
    """Commits the batches given to :meth:`submit` on a background thread (see the module
    docstring). The store stays the caller's: :meth:`close` does not close it."""

    def __init__(self, store: Store, *, max_queue: int = 64) -> None:
        if max_queue < 1:
            raise InvalidInputError(f"max_queue: {max_queue}: must be >= 1")
        self.store = store
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._error: BaseException | None = None
        self._closed = False
        #: Batches committed, transactions (a transaction holds the batches queued at once),
        #: records written, seconds spent committing, and the last commit's seconds.
        self.batches = 0
        self.transactions = 0
        self.rows = 0
        self.commit_seconds = 0.0
        self.last_commit_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="trader-store-writer", daemon=True)
        self._thread.start()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(f"{self.store.location}: the store writer stopped: {self._error}") from self._error

    def submit(self, batch: Batch) -> None:
        """Queue ``batch`` for commit; blocks only while the queue is full. Raises the writer's
        error, if it stopped on one."""
        self._raise_error()
        if self._closed:
            raise StoreError(f"{self.store.location}: the store writer is closed")
        with self._cond:
            self._submitted += 1
        self._queue.put(batch)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every batch submitted so far is committed (or the writer stopped on an
        error, which is then raised). A :class:`StoreError` after ``timeout`` seconds."""
        with self._cond:
            target = self._submitted
            ok = self._cond.wait_for(lambda: self._done >= target or self._error is not None, timeout)
        self._raise_error()
        if not ok:
            raise StoreError(f"{self.store.location}: the store writer did not commit within {timeout} s")

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the thread (idempotent). Raises the writer's error, if any."""
        if self._closed:
            self._raise_error()
            return
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    @property
    def pending(self) -> int:
        """Batches submitted and not committed yet."""
        with self._cond:
            return self._submitted - self._done

    def stats(self) -> dict[str, Any]:
        """The counters, for the metrics and ``/status``."""
        return {"batches": self.batches, "transactions": self.transactions, "rows": self.rows,
                "commit_seconds": self.commit_seconds, "last_commit_seconds": self.last_commit_seconds,
                "pending": self.pending, "error": None if self._error is None else str(self._error)}

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            taken = [item]
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                taken.append(more)
            if self._error is None:
                merged = taken[0]
                if len(taken) > 1:
                    merged = Batch()
                    for b in taken:
                        merged.extend(b)
                t0 = time.perf_counter()
                try:
                    rows = self.store.commit(merged)
                except BaseException as e:  # noqa: BLE001 - kept and raised in the caller's thread
                    self._error = e
                else:
                    dt = time.perf_counter() - t0
                    self.batches += len(taken)
                    self.transactions += 1
                    self.rows += rows
                    self.commit_seconds += dt
                    self.last_commit_seconds = dt
            with self._cond:
                self._done += len(taken)
                self._cond.notify_all()
            if stop:
                return
