"""The background writer on both back ends: everything submitted is committed by flush, batches
queued at once share a transaction, a full queue holds the caller back, an error stops it loudly."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from trader.exceptions import InvalidInputError, StoreError
from trader.live.store import Batch, BatchWriter, Position, Store, open_store

from ._samples import fill, full_batch, order


@pytest.fixture
def store(target: str) -> Iterator[Store]:
    s = open_store(target)
    yield s
    s.close()


class _Gate:
    """Holds the writer's first commit until released, to queue batches behind it."""

    def __init__(self, store: Store) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._commit = store.commit
        self.calls = 0

        def commit(batch: Batch) -> int:
            self.calls += 1
            if self.calls == 1:
                self.entered.set()
                assert self.release.wait(10)
            return self._commit(batch)

        store.commit = commit  # type: ignore[method-assign]


def test_flush_commits_everything(store: Store) -> None:
    w = BatchWriter(store)
    try:
        for i in range(50):
            w.submit(Batch(fills=[fill(f"T-{i}")], orders=[order(status="ACCEPTED" if i < 49 else "FILLED")]))
        w.flush(timeout=30)
        assert len(store.fills()) == 50 and store.orders()[0].status == "FILLED"
        st = w.stats()
        assert st["batches"] == 50 and st["rows"] == 100 and st["pending"] == 0 and st["error"] is None
        assert 1 <= st["transactions"] <= 50 and st["commit_seconds"] > 0
    finally:
        w.close(timeout=30)


def test_batches_queued_at_once_share_one_transaction(store: Store) -> None:
    gate = _Gate(store)
    w = BatchWriter(store)
    try:
        w.submit(full_batch())
        assert gate.entered.wait(10)
        w.submit(Batch(positions=[Position("s1", "BTCUSDT", "0.5", "1", "0", 2)]))
        w.submit(Batch(positions=[Position("s1", "BTCUSDT", "0.7", "1", "0", 3)], fills=[fill("T-9")]))
        assert w.pending == 3
        gate.release.set()
        w.flush(timeout=30)
        assert (w.batches, w.transactions) == (3, 2)
        assert store.positions()[0].qty == "0.7" and len(store.fills()) == 2
    finally:
        gate.release.set()
        w.close(timeout=30)


def test_a_full_queue_holds_the_caller_back(store: Store) -> None:
    gate = _Gate(store)
    w = BatchWriter(store, max_queue=1)
    try:
        w.submit(Batch(fills=[fill("T-1")]))
        assert gate.entered.wait(10)
        w.submit(Batch(fills=[fill("T-2")]))  # fills the queue
        third = threading.Thread(target=w.submit, args=(Batch(fills=[fill("T-3")]),))
        third.start()
        third.join(0.3)
        assert third.is_alive()  # blocked: back-pressure, not a drop
        gate.release.set()
        third.join(10)
        assert not third.is_alive()
        w.flush(timeout=30)
        assert [f.trade_id for f in store.fills()] == ["T-1", "T-2", "T-3"]
    finally:
        gate.release.set()
        w.close(timeout=30)


def test_an_error_stops_the_writer_and_is_raised(store: Store) -> None:
    w = BatchWriter(store)
    bad = Batch(positions=[Position("s1", "BTCUSDT", None, "1", "0", 1)])  # type: ignore[arg-type]  # NOT NULL
    w.submit(bad)
    with pytest.raises(StoreError, match="the store writer stopped") as e:
        w.flush(timeout=30)
    assert isinstance(e.value.__cause__, StoreError)
    with pytest.raises(StoreError, match="the store writer stopped"):
        w.submit(Batch(fills=[fill("T-1")]))
    with pytest.raises(StoreError):
        w.close(timeout=30)
    assert store.fills() == [] and w.stats()["error"]


def test_close_flushes_and_refuses_later_batches(store: Store) -> None:
    w = BatchWriter(store)
    w.submit(Batch(fills=[fill("T-1")]))
    w.close(timeout=30)
    assert len(store.fills()) == 1
    with pytest.raises(StoreError, match="closed"):
        w.submit(Batch())
    w.close()  # idempotent
    with pytest.raises(InvalidInputError, match="max_queue"):
        BatchWriter(store, max_queue=0)
