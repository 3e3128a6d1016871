from __future__ import annotations

import numpy as np
import pytest

from trader.data import Bars, infer_interval
from trader.exceptions import DataError, InvalidInputError

M = 60_000_000_000


def make(n=10, **over):
    ts = np.arange(n, dtype=np.int64) * M
    c = 100.0 + np.arange(n)
    cols = dict(ts=ts, open=c.copy(), high=c + 1, low=c - 1, close=c.copy(), volume=np.ones(n))
    cols.update(over)
    return Bars("X", cols["ts"], cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], source="mem")


def test_bars_contract():
    b = make(10)
    assert len(b) == 10 and b.symbol == "X" and b.interval_ns == M
    assert b.ts.dtype == np.int64 and b.close.dtype == np.float64
    for a in b.arrays():
        assert a.flags.c_contiguous
    assert DataError.__mro__[1] is InvalidInputError


def test_between_is_half_open_view():
    b = make(10)
    part = b.between(2 * M, 5 * M)
    assert part.ts.tolist() == [2 * M, 3 * M, 4 * M]
    assert np.shares_memory(part.close, b.close)
    assert len(b.between(None, 0)) == 0
    assert len(b.between(9 * M + 1)) == 0
    assert b.between("1970-01-01T00:03:00Z").first_ts == 3 * M


def test_datetime64_ts_and_interval_inference():
    ts = np.array(["2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T03:00", "2024-01-01T04:00"], dtype="datetime64[m]")
    b = Bars("X", ts, [1, 1, 1, 1], [2, 2, 2, 2], [1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0])
    assert b.interval_ns == 3600 * 10**9
    assert infer_interval(np.array([5], dtype=np.int64)) == 0


@pytest.mark.parametrize(
    ("over", "row", "text"),
    [
        ({"high": np.r_[101.0, 102, 103, 90, 105]}, 4, "high 90 < low 102"),
        ({"close": np.r_[100.0, np.nan, 102, 103, 104]}, 2, "close is NaN or missing"),
        ({"open": np.r_[100.0, 101, 0.0, 103, 104]}, 3, "open 0 is not a positive price"),
        ({"volume": np.r_[1.0, 1, 1, 1, -5]}, 5, "volume -5 is negative"),
        ({"ts": np.r_[0, M, M, 3 * M, 4 * M].astype(np.int64)}, 3, "duplicate timestamp"),
        ({"ts": np.r_[0, 2 * M, M, 3 * M, 4 * M].astype(np.int64)}, 3, "sorted"),
        ({"high": np.r_[101.0, 102, 101.5, 104, 105]}, 3, "high 101.5 < open 102"),
    ],
)
def test_validation_names_row(over, row, text):
    with pytest.raises(DataError) as e:
        make(5, **over)
    assert str(e.value).startswith(f"mem: row {row}: ")
    assert text in str(e.value)


def test_first_bad_row_wins_and_lengths_checked():
    with pytest.raises(DataError, match=r"mem: row 2: "):
        make(5, close=np.r_[100.0, np.nan, 102, 103, 104], high=np.r_[101.0, 102, 103, 90, 105])
    with pytest.raises(DataError, match="different lengths"):
        Bars("X", [0, 1], [1.0], [1.0], [1.0], [1.0], [1.0])


def test_concat_and_slicing():
    b = make(10)
    again = Bars.concat([b[:4], b[4:]])
    assert np.array_equal(again.close, b.close) and again.interval_ns == M
    with pytest.raises(DataError, match="does not follow"):
        Bars.concat([b[4:], b[:4]])
    with pytest.raises(TypeError):
        b[::2]
