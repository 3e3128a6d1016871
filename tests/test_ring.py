"""trader.ring: the EventRing bridge (round trip, full and overwrite behaviour, batch columns)
and the ObjectPool statistics."""

from __future__ import annotations

import numpy as np
import pytest

from trader.exceptions import CapacityError, InvalidInputError
from trader.ring import KIND_QUOTE, KIND_TRADE, SIDE_BUYER, SIDE_SELLER, EventRing, ObjectPool


def test_round_trip_trade_and_quote() -> None:
    ring = EventRing(8)
    assert ring.push_trade(1_000, 7, 101.5, 0.25, SIDE_BUYER)
    assert ring.push_quote(2_000, 8, 99.5, 100.5, 3.0, 4.0, ts_init=2_500)
    assert len(ring) == 2
    assert ring.pop() == {
        "kind": "trade",
        "instrument_id": 7,
        "ts_event": 1_000,
        "ts_init": 1_000,
        "price": 101.5,
        "size": 0.25,
        "side": SIDE_BUYER,
    }
    assert ring.pop() == {
        "kind": "quote",
        "instrument_id": 8,
        "ts_event": 2_000,
        "ts_init": 2_500,
        "bid": 99.5,
        "ask": 100.5,
        "bid_size": 3.0,
        "ask_size": 4.0,
    }
    assert ring.pop() is None
    assert len(ring) == 0


def test_capacity_rounds_up_and_rejects_zero() -> None:
    assert EventRing(5).capacity == 8
    assert EventRing(5, overwrite=True).capacity == 8
    with pytest.raises(CapacityError, match="capacity"):
        EventRing(0)
    with pytest.raises(CapacityError, match="capacity"):
        EventRing(-3, overwrite=True)


def test_full_ring_refuses_and_keeps_what_it_has() -> None:
    ring = EventRing(4)
    assert all(ring.push_trade(i, 1, 100.0 + i, 1.0) for i in range(4))
    assert ring.push_trade(99, 1, 1.0, 1.0) is False
    assert ring.push_quote(99, 1, 1.0, 2.0, 1.0, 1.0) is False
    assert len(ring) == 4
    assert ring.dropped == 0
    assert [ring.pop()["ts_event"] for _ in range(4)] == [0, 1, 2, 3]  # type: ignore[index]
    assert ring.push_trade(5, 1, 1.0, 1.0)


def test_overwrite_mode_drops_oldest_and_counts() -> None:
    ring = EventRing(4, overwrite=True)
    for i in range(10):
        assert ring.push_quote(i, 1, 100.0, 100.5, 1.0, 1.0)
    assert ring.overwrite
    assert ring.dropped == 6
    assert len(ring) == 4
    batch = ring.pop_batch()
    assert batch["ts_event"].tolist() == [6, 7, 8, 9]
    assert len(batch["ts_event"]) + ring.dropped == 10


def test_pop_batch_columns() -> None:
    ring = EventRing(16)
    ring.push_trade(10, 3, 50.0, 2.0, SIDE_SELLER)
    ring.push_quote(11, 4, 49.0, 51.0, 5.0, 6.0)
    ring.push_trade(12, 3, 50.5, 1.0, SIDE_BUYER)
    cols = ring.pop_batch(2)
    expected_dtypes = {
        "kind": np.uint8,
        "side": np.uint8,
        "flags": np.uint16,
        "instrument_id": np.uint32,
        "ts_event": np.uint64,
        "ts_init": np.uint64,
        "price": np.float64,
        "size": np.float64,
        "bid": np.float64,
        "ask": np.float64,
        "bid_size": np.float64,
        "ask_size": np.float64,
    }
    assert set(cols) == set(expected_dtypes)
    for name, dtype in expected_dtypes.items():
        assert cols[name].dtype == dtype, name
        assert cols[name].shape == (2,), name
    assert cols["kind"].tolist() == [KIND_TRADE, KIND_QUOTE]
    assert cols["side"].tolist() == [SIDE_SELLER, 0]
    assert cols["instrument_id"].tolist() == [3, 4]
    assert cols["price"].tolist() == [50.0, 0.0]
    assert cols["bid"].tolist() == [0.0, 49.0]
    assert cols["ask_size"].tolist() == [0.0, 6.0]
    rest = ring.pop_batch()
    assert rest["ts_event"].tolist() == [12]
    empty = ring.pop_batch(10)
    assert all(len(col) == 0 for col in empty.values())
    with pytest.raises(InvalidInputError, match="max"):
        ring.pop_batch(-1)


def test_large_batch_preserves_order() -> None:
    ring = EventRing(4096)
    n = 3000
    for i in range(n):
        assert ring.push_trade(i, i % 5, float(i), 1.0)
    cols = ring.pop_batch(n)
    np.testing.assert_array_equal(cols["ts_event"], np.arange(n, dtype=np.uint64))
    np.testing.assert_array_equal(cols["price"], np.arange(n, dtype=np.float64))
    np.testing.assert_array_equal(cols["instrument_id"], np.arange(n) % 5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"ts": -1}, "ts"),
        ({"instrument_id": -1}, "instrument_id"),
        ({"instrument_id": 2**32}, "instrument_id"),
        ({"price": float("nan")}, "price"),
        ({"size": float("inf")}, "size"),
        ({"side": 3}, "side"),
        ({"ts_init": -5}, "ts_init"),
    ],
)
def test_bad_trade_input_names_the_argument(kwargs: dict[str, float], name: str) -> None:
    ring = EventRing(4)
    args: dict[str, float] = {"ts": 1, "instrument_id": 1, "price": 1.0, "size": 1.0, "side": 0}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=f"^{name}:"):
        ring.push_trade(**args)  # type: ignore[arg-type]
    assert len(ring) == 0


def test_bad_quote_input() -> None:
    ring = EventRing(4)
    with pytest.raises(InvalidInputError, match="^ask:"):
        ring.push_quote(1, 1, 1.0, float("nan"), 1.0, 1.0)
    assert len(ring) == 0


def test_pool_stats() -> None:
    pool = ObjectPool(3)
    handles = [pool.acquire() for _ in range(3)]
    assert all(h is not None for h in handles)
    assert pool.acquire() is None
    assert len(pool) == 3
    pool.release(handles[0])  # type: ignore[arg-type]
    assert handles[0] not in pool
    assert handles[1] in pool
    assert pool.stats() == {
        "capacity": 3,
        "in_use": 2,
        "available": 1,
        "high_water": 3,
        "acquires": 3,
        "releases": 1,
        "failed_acquires": 1,
        "grows": 0,
    }


def test_pool_rejects_double_and_foreign_release() -> None:
    a, b = ObjectPool(2), ObjectPool(2)
    h = a.acquire()
    assert h is not None
    a.release(h)
    with pytest.raises(InvalidInputError, match="^handle: .*already released"):
        a.release(h)
    hb = b.acquire()
    assert hb is not None
    with pytest.raises(InvalidInputError, match="^handle: belongs to pool"):
        a.release(hb)
    assert a.stats()["releases"] == 1


def test_pool_growth_policy() -> None:
    pool = ObjectPool(1, max_capacity=4)
    assert [pool.acquire() is not None for _ in range(5)] == [True, True, True, True, False]
    stats = pool.stats()
    assert (stats["capacity"], stats["grows"], stats["failed_acquires"]) == (4, 2, 1)
    with pytest.raises(CapacityError, match="max_capacity"):
        ObjectPool(4, max_capacity=2)
