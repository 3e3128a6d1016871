"""Streaming indicators: every class returns, value by value, exactly (bit for bit) what the batch
function returns; NaN policy, state properties, reset, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._indicator_refs import assert_bits, ohlcv_from, price_series
from trader import exceptions as exc
from trader import indicators as ind

# name -> (make streaming object, batch call, how to feed one bar, number of outputs)
CASES = {
    "SMA": (lambda p: ind.SMA(p), lambda b, p: ind.sma(b["c"], p), lambda o, b, i: o.update(b["c"][i]), 1),
    "EMA": (lambda p: ind.EMA(p), lambda b, p: ind.ema(b["c"], p), lambda o, b, i: o.update(b["c"][i]), 1),
    "WMA": (lambda p: ind.WMA(p), lambda b, p: ind.wma(b["c"], p), lambda o, b, i: o.update(b["c"][i]), 1),
    "RSI": (lambda p: ind.RSI(max(p, 2)), lambda b, p: ind.rsi(b["c"], max(p, 2)), lambda o, b, i: o.update(b["c"][i]), 1),
    "STDDEV": (
        lambda p: ind.STDDEV(max(p, 2), 2.0),
        lambda b, p: ind.stddev(b["c"], max(p, 2), 2.0),
        lambda o, b, i: o.update(b["c"][i]),
        1,
    ),
    "ZScore": (lambda p: ind.ZScore(max(p, 2)), lambda b, p: ind.zscore(b["c"], max(p, 2)), lambda o, b, i: o.update(b["c"][i]), 1),
    "MACD": (
        lambda p: ind.MACD(2, max(p, 3), 4),
        lambda b, p: ind.macd(b["c"], 2, max(p, 3), 4),
        lambda o, b, i: o.update(b["c"][i]),
        3,
    ),
    "BBANDS": (
        lambda p: ind.BBANDS(max(p, 2), 2.0, 1.5),
        lambda b, p: ind.bbands(b["c"], max(p, 2), 2.0, 1.5),
        lambda o, b, i: o.update(b["c"][i]),
        3,
    ),
    "ATR": (
        lambda p: ind.ATR(p),
        lambda b, p: ind.atr(b["h"], b["l"], b["c"], p),
        lambda o, b, i: o.update(b["h"][i], b["l"][i], b["c"][i]),
        1,
    ),
    "OBV": (lambda p: ind.OBV(), lambda b, p: ind.obv(b["c"], b["v"]), lambda o, b, i: o.update(b["c"][i], b["v"][i]), 1),
    "VWAP": (
        lambda p: ind.VWAP(p),
        lambda b, p: ind.vwap(b["h"], b["l"], b["c"], b["v"], p),
        lambda o, b, i: o.update(b["h"][i], b["l"][i], b["c"][i], b["v"][i]),
        1,
    ),
    "VWAP0": (
        lambda p: ind.VWAP(0),
        lambda b, p: ind.vwap(b["h"], b["l"], b["c"], b["v"], 0),
        lambda o, b, i: o.update(b["h"][i], b["l"][i], b["c"][i], b["v"][i]),
        1,
    ),
}


def run_stream(name: str, bars: dict, p: int) -> list[np.ndarray]:
    make, _, feed, k = CASES[name]
    obj = make(p)
    n = len(bars["c"])
    outs = [np.empty(n) for _ in range(k)]
    for i in range(n):
        r = feed(obj, bars, i)
        if k == 1:
            outs[0][i] = r
        else:
            for j in range(k):
                outs[j][i] = r[j]
    last = obj.value if k == 1 else obj.value[0]
    if n:
        assert last == outs[0][-1] or (math.isnan(last) and math.isnan(outs[0][-1]))
    return outs


def check_stream(name: str, bars: dict, p: int, what: str) -> None:
    _, batch, _, k = CASES[name]
    ref = batch(bars, p)
    ref = [ref] if k == 1 else list(ref)
    for o, r in zip(run_stream(name, bars, p), ref):
        assert_bits(o, r, f"{name} {what}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_stream_equals_batch_on_recorded_bars(klines_1m, name):
    for fname, k in list(klines_1m.items())[:3]:
        bars = {"h": k["high"][:20000], "l": k["low"][:20000], "c": k["close"][:20000], "v": k["volume"][:20000]}
        for p in (2, 14):
            check_stream(name, bars, p, f"{fname} p={p}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=price_series(max_len=150), p=st.sampled_from([1, 2, 3, 7, 20]), seed=st.integers(0, 2**16))
def test_stream_equals_batch_generated(x, p, seed):
    h, l, c, v = ohlcv_from(x, seed)
    bars = {"h": h, "l": l, "c": c, "v": v}
    for name in CASES:
        check_stream(name, bars, p, f"p={p}")


def test_state_properties_and_reset():
    e = ind.EMA(3)
    assert math.isnan(e.value) and e.count == 0 and not e.initialized
    assert math.isnan(e.update(math.nan))  # leading NaN: skipped
    assert e.count == 0
    e.update(1.0)
    e.update(2.0)
    assert not e.initialized
    assert e.update(3.0) == 2.0 and e.initialized and e.count == 3
    e.reset()
    assert e.count == 0 and math.isnan(e.value)
    m = ind.MACD()
    assert all(math.isnan(v) for v in m.update(1.0))
    assert isinstance(m.value, tuple) and len(m.value) == 3
    b = ind.BBANDS(5)
    for v in (1.0, 2.0, 3.0, 4.0, 5.0):
        up, mid, lo = b.update(v)
    assert mid == 3.0 and up > mid > lo and b.initialized


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_after_start_raises_and_keeps_state(name):
    make, _, feed, k = CASES[name]
    obj = make(3)
    good = {"h": np.full(8, 11.0), "l": np.full(8, 9.0), "c": np.arange(8, dtype=float) + 10, "v": np.full(8, 2.0)}
    for i in range(5):
        feed(obj, good, i)
    before = obj.value
    bad = {key: val.copy() for key, val in good.items()}
    bad["c"][5] = np.nan
    with pytest.raises(exc.NanInSeriesError):
        feed(obj, bad, 5)
    assert obj.count == 5
    assert np.array_equal(np.asarray(obj.value, dtype=float), np.asarray(before, dtype=float), equal_nan=True)
    feed(obj, good, 5)  # and goes on as if the bad bar never came
    assert obj.count == 6


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: ind.SMA(0), "timeperiod"),
        (lambda: ind.EMA(-1), "timeperiod"),
        (lambda: ind.RSI(1), "timeperiod"),
        (lambda: ind.MACD(1, 26, 9), "fastperiod"),
        (lambda: ind.BBANDS(5, 2.0, 2.0, 2), "matype"),
        (lambda: ind.STDDEV(1), "timeperiod"),
        (lambda: ind.ZScore(0), "timeperiod"),
        (lambda: ind.ATR(0), "timeperiod"),
        (lambda: ind.VWAP(-2), "timeperiod"),
    ],
)
def test_constructor_errors(make, name):
    with pytest.raises(exc.InvalidInputError, match=f"^{name}:"):
        make()


def test_update_rejects_non_numbers():
    with pytest.raises(TypeError):
        ind.EMA(3).update("x")
