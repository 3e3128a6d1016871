from __future__ import annotations

import numpy as np
import pytest

from tests.data.conftest import HEADER
from trader.data import open_bars
from trader.data.gaps import GapTracker, check_policy
from trader.exceptions import DataError, InvalidInputError

M = 60_000_000_000


def _rows(minutes):
    return [HEADER] + [f"{1_700_000_000_000 + m * 60_000},{100 + i},{102 + i},{99 + i},{101 + i},5" for i, m in enumerate(minutes)]


def test_fill_small(write):
    path = write("g.csv", _rows([0, 1, 4, 5, 7]))
    bars = open_bars(path, gap_policy="fill").load()
    t0 = 1_700_000_000_000 * 10**6
    assert bars.ts.tolist() == [t0 + k * M for k in range(8)]
    assert bars.close.tolist() == [101, 102, 102, 102, 103, 104, 104, 105]
    assert bars.volume.tolist() == [5, 5, 0, 0, 5, 5, 0, 5]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_gaps_found_across_batches(write, batch_size):
    # the feed validates chunks then cuts batches: gaps are the same whatever the batch size
    feed = open_bars(write("g.csv", _rows([0, 1, 4, 5, 7, 30])), batch_size=batch_size, gap_policy="fill")
    bars = feed.load()
    assert feed.meta["gaps"]["count"] == 3 and feed.meta["gaps"]["missing_bars"] == 2 + 1 + 22
    assert len(bars) == 31 and np.all(np.diff(bars.ts) == M)


def test_tracker_state_across_calls():
    tr = GapTracker("t", M, "report")
    ts1 = np.array([0, M], dtype=np.int64)
    ts2 = np.array([5 * M, 6 * M], dtype=np.int64)
    ones = np.ones(2)
    tr.process(1, ts1, ones, ones, ones, ones, ones)
    tr.process(3, ts2, ones, ones, ones, ones, ones)
    s = tr.summary()
    assert s["count"] == 1 and s["missing_bars"] == 3 and s["first"][0]["row"] == 3
    tr = GapTracker("t", M, "error")
    tr.process(1, ts1, ones, ones, ones, ones, ones)
    with pytest.raises(DataError, match=r"t: row 3: gap of 4m after 1970-01-01T00:01:00Z \(3 missing bars"):
        tr.process(3, ts2, ones, ones, ones, ones, ones)


def test_unknown_policy():
    with pytest.raises(InvalidInputError, match="unknown gap policy 'skip'"):
        check_policy("skip")
