"""Batch indicators: parity with TA-Lib 0.8 on the recorded 1-minute bars and on generated series,
the two indicators TA-Lib lacks against plain numpy references, and the error contract."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from tests._indicator_refs import assert_bits, assert_close, assert_same_nan, ohlcv_from, price_series
from trader import exceptions as exc
from trader import indicators as ind

PERIODS = [2, 5, 14, 30]


def _zscore_ref(x: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    sd = talib.STDDEV(x, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x - talib.SMA(x, p)) / sd, sd


def _vwap_ref(h, l, c, v, p: int) -> np.ndarray:
    """Plain numpy VWAP (typical price weighted by volume), NaN where the volume sums to 0."""
    tp = (h + l + c) / 3.0
    out = np.full(len(h), np.nan)
    valid = ~(np.isnan(h) | np.isnan(l) | np.isnan(c) | np.isnan(v))
    start = int(np.argmax(valid)) if valid.any() else len(h)
    pv, vv = tp[start:] * v[start:], v[start:]
    if p == 0:
        num, den = np.cumsum(pv), np.cumsum(vv)
        o = np.full(len(pv), np.nan)
    else:
        if len(pv) < p:
            return out
        num, den = sliding_window_view(pv, p).sum(axis=1), sliding_window_view(vv, p).sum(axis=1)
        o = np.full(len(pv), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den == 0, np.nan, num / den)
    o[len(pv) - len(r) :] = r
    out[start:] = o
    return out


def check_all(close, high, low, volume, p: int, what: str) -> None:
    """Every indicator against its reference; bit-identity where TA-Lib 0.8 is the reference."""
    assert_bits(ind.sma(close, p), talib.SMA(close, p), f"sma {what}")
    assert_bits(ind.ema(close, p), talib.EMA(close, p), f"ema {what}")
    assert_bits(ind.wma(close, p), talib.WMA(close, p), f"wma {what}")
    # RSI runs a blocked form of Wilder's recurrence (faster than TA-Lib's sequential chain):
    # within 1e-9 relative, zeros exact (see core-rs/src/indicators/rsi.rs).
    assert_close(ind.rsi(close, p), talib.RSI(close, p), 1e-9, f"rsi {what}")
    assert_bits(ind.stddev(close, p, 1.5), talib.STDDEV(close, p, 1.5), f"stddev {what}")
    assert_bits(ind.atr(high, low, close, p), talib.ATR(high, low, close, p), f"atr {what}")
    for up, dn in ((2.0, 2.0), (1.0, 2.5)):
        for o, r, name in zip(ind.bbands(close, p, up, dn), talib.BBANDS(close, p, up, dn, 0), "uml"):
            assert_bits(o, r, f"bbands.{name} {what} {up}/{dn}")
    fast, slow = max(2, p // 2), max(3, p)
    for o, r, name in zip(ind.macd(close, fast, slow, 9), talib.MACD(close, fast, slow, 9), "msh"):
        assert_bits(o, r, f"macd.{name} {what}")
    assert_bits(ind.obv(close, volume), talib.OBV(close, volume), f"obv {what}")
    z = ind.zscore(close, p)
    ref, dev = _zscore_ref(close, p)
    assert_same_nan(z, dev, f"zscore {what}")
    nz = ~np.isnan(dev) & (dev != 0)
    assert_bits(z[nz], ref[nz], f"zscore {what}")
    assert (z[~np.isnan(dev) & (dev == 0)] == 0).all()
    for vp in (0, p):
        assert_close(ind.vwap(high, low, close, volume, vp), _vwap_ref(high, low, close, volume, vp), 1e-9, f"vwap({vp}) {what}")


@pytest.mark.parametrize("p", PERIODS)
def test_parity_on_recorded_bars(klines_1m, p):
    for name, k in klines_1m.items():
        check_all(k["close"], k["high"], k["low"], k["volume"], p, f"{name} p={p}")


def test_macd_defaults_and_swap_on_recorded_bars(klines_1m):
    for name, k in klines_1m.items():
        c = k["close"]
        for o, r in zip(ind.macd(c), talib.MACD(c)):
            assert_bits(o, r, name)
        for o, r in zip(ind.macd(c, 26, 12, 9), talib.MACD(c, 26, 12, 9)):
            assert_bits(o, r, f"swapped {name}")
        for o, r in zip(ind.bbands(c), talib.BBANDS(c)):
            assert_bits(o, r, name)
        assert_bits(ind.atr(k["high"], k["low"], c), talib.ATR(k["high"], k["low"], c), name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=price_series(), p=st.sampled_from([1, 2, 3, 5, 14, 40]), seed=st.integers(0, 2**16))
def test_parity_on_generated_series(x, p, seed):
    h, l, c, v = ohlcv_from(x, seed)
    assert_bits(ind.sma(c, p), talib.SMA(c, p), "sma")
    assert_bits(ind.ema(c, p), talib.EMA(c, p), "ema")
    assert_bits(ind.wma(c, p), talib.WMA(c, p), "wma")
    assert_bits(ind.atr(h, l, c, p), talib.ATR(h, l, c, p), "atr")
    if np.isnan(c).all():
        # talib's wrapper quirk: with no valid value at all it still runs OBV on the last bar and
        # returns its volume; ours says "no valid value" with NaN everywhere.
        assert np.isnan(ind.obv(c, v)).all()
    else:
        assert_bits(ind.obv(c, v), talib.OBV(c, v), "obv")
    for vp in (0, p):
        assert_close(ind.vwap(h, l, c, v, vp), _vwap_ref(h, l, c, v, vp), 1e-9, f"vwap({vp})")
    if p < 2:
        return
    assert_close(ind.rsi(c, p), talib.RSI(c, p), 1e-9, "rsi")
    assert_bits(ind.stddev(c, p), talib.STDDEV(c, p), "stddev")
    for o, r in zip(ind.bbands(c, p, 2.0, 2.0), talib.BBANDS(c, p, 2.0, 2.0)):
        assert_bits(o, r, "bbands")
    for o, r in zip(ind.bbands(c, p, 1.5, 0.5), talib.BBANDS(c, p, 1.5, 0.5)):
        assert_bits(o, r, "bbands up!=dn")
    for o, r in zip(ind.macd(c, 2, p, 3), talib.MACD(c, 2, p, 3)):
        assert_bits(o, r, "macd")
    z = ind.zscore(c, p)
    ref, sd = _zscore_ref(c, p)
    nz = ~np.isnan(sd) & (sd != 0)
    assert_bits(z[nz], ref[nz], "zscore")
    assert (z[~np.isnan(sd) & (sd == 0)] == 0).all()
    assert np.isnan(z[np.isnan(sd)]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=price_series(max_len=9000), p=st.sampled_from([2, 3, 14, 511, 512, 513, 1000, 3000]))
def test_rsi_blocked_kernel_on_long_generated_series(x, p):
    # Long enough for the SIMD groups of the blocked kernel (2048 values after the seed: 4 blocks of 512).
    assert_close(ind.rsi(x, p), talib.RSI(x, p), 1e-9, f"rsi p={p}")


@pytest.mark.parametrize("p", [2, 3, 7, 14, 30, 100, 500, 1000, 2000, 5000])
def test_rsi_periods_on_long_walk(p):
    rng = np.random.default_rng(p)
    steps = rng.normal(0, 1e-3, 200_000)
    steps[rng.random(len(steps)) < 0.3] = 0.0  # flat steps
    x = 100.0 * np.exp(np.cumsum(steps))
    assert_close(ind.rsi(x, p), talib.RSI(x, p), 1e-9, f"rsi p={p}")


def test_tiny_prices_follow_talib():
    # TA-Lib 0.8.1 dropped the absolute 1e-8 TA_IS_ZERO rule in RSI/STDDEV: tiny prices get real values.
    rng = np.random.default_rng(1)
    x = 1e-8 * np.exp(np.cumsum(rng.normal(0, 0.01, 500)))
    assert_close(ind.rsi(x, 14), talib.RSI(x, 14), 1e-9)
    assert_bits(ind.stddev(x, 10), talib.STDDEV(x, 10))
    assert np.nanmax(ind.stddev(x, 10)) > 0


def test_shapes_defaults_and_lookbacks():
    x = np.linspace(1.0, 2.0, 100)
    assert ind.sma(x).shape == (100,)
    assert np.isnan(ind.sma(x)[28]) and not np.isnan(ind.sma(x)[29])
    m, s, h = ind.macd(x)
    assert np.isnan(m[32]) and not np.isnan(m[33])
    assert isinstance(ind.bbands(x), tuple) and len(ind.bbands(x)) == 3
    assert np.isnan(ind.atr(x, x, x)[13]) and not np.isnan(ind.atr(x, x, x)[14])
    assert np.isnan(ind.rsi(x)[13]) and not np.isnan(ind.rsi(x)[14])
    assert ind.sma(x[:3], 5).tolist() == [pytest.approx(np.nan, nan_ok=True)] * 3
    assert ind.ema(np.array([]), 3).shape == (0,)


def test_vwap_zero_volume_is_nan_then_recovers():
    h = l = c = np.array([10.0, 11.0, 12.0, 13.0])
    v = np.array([0.0, 0.0, 2.0, 0.0])
    out = ind.vwap(h, l, c, v)
    assert np.isnan(out[:2]).all() and out[2] == 12.0 and out[3] == 12.0
    assert np.isnan(ind.vwap(h, l, c, v, 1)[3])


# --- errors ---------------------------------------------------------------------------------


X = np.linspace(1.0, 3.0, 50)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: ind.sma(X[::2], 5), exc.ArrayTypeError, "real"),
        (lambda: ind.ema(X.astype(np.float32), 5), exc.ArrayTypeError, "real"),
        (lambda: ind.rsi(X.reshape(5, 10), 5), exc.ArrayTypeError, "real"),
        (lambda: ind.wma([1.0, 2.0], 2), exc.ArrayTypeError, "real"),
        (lambda: ind.sma(X, 0), exc.InvalidInputError, "timeperiod"),
        (lambda: ind.rsi(X, 1), exc.InvalidInputError, "timeperiod"),
        (lambda: ind.stddev(X, 1), exc.InvalidInputError, "timeperiod"),
        (lambda: ind.stddev(X, 5, float("nan")), exc.InvalidInputError, "nbdev"),
        (lambda: ind.macd(X, 1, 26, 9), exc.InvalidInputError, "fastperiod"),
        (lambda: ind.macd(X, 12, 1, 9), exc.InvalidInputError, "slowperiod"),
        (lambda: ind.macd(X, 12, 26, 0), exc.InvalidInputError, "signalperiod"),
        (lambda: ind.bbands(X, 5, 2.0, 2.0, 1), exc.InvalidInputError, "matype"),
        (lambda: ind.zscore(X, 1), exc.InvalidInputError, "timeperiod"),
        (lambda: ind.vwap(X, X, X, X, -1), exc.InvalidInputError, "timeperiod"),
        (lambda: ind.atr(X, X[:-1], X), exc.LengthMismatchError, "low"),
        (lambda: ind.obv(X, X[:10]), exc.LengthMismatchError, "volume"),
        (lambda: ind.vwap(X, X, X, X[1:]), exc.LengthMismatchError, "volume"),
        (lambda: ind.atr(X, X, X[::2]), exc.ArrayTypeError, "close"),
        (lambda: ind.sma(np.r_[1.0, np.nan, 2.0, 3.0], 2), exc.NanInSeriesError, "real"),
        (lambda: ind.macd(np.r_[X, np.nan, X]), exc.NanInSeriesError, "real"),
        (lambda: ind.atr(X, np.r_[X[:10], np.nan, X[11:]], X), exc.NanInSeriesError, "low"),
    ],
)
def test_errors_name_the_argument(call, error, name):
    with pytest.raises(error, match=f"^{name}:"):
        call()


def test_errors_are_value_errors_and_leading_nans_are_fine():
    with pytest.raises(ValueError):
        ind.ema(X, -3)
    x = np.r_[np.nan, np.nan, X]
    assert_bits(ind.ema(x, 5), talib.EMA(x, 5))
    h = np.r_[np.nan, X]
    c = np.r_[np.nan, np.nan, X[1:]]
    assert_bits(ind.atr(h, h, c, 3), talib.ATR(h, h, c, 3))


def test_vwap_window_without_volume_is_nan_even_after_rounding():
    """The running volume sum can end a hair off zero after a traded bar leaves the window; a
    window with no volume is still NaN (decided by counting traded bars, not by the sum)."""
    from trader.indicators import VWAP, vwap

    n = 12
    price = np.full(n, 1.0)
    vol = np.array([0.1, 0.7, 0.2, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    out = vwap(price, price, price, vol, 3)
    assert np.isnan(out[5]) and np.isnan(out[9]) and np.isnan(out[11])
    assert out[6] == 1.0 and out[8] == 1.0
    stream = VWAP(3)
    got = [stream.update(1.0, 1.0, 1.0, v) for v in vol]
    assert np.array_equal(np.array(got), out, equal_nan=True)
