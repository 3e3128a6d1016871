"""ema_cross against an independent plain-Python reference of its contract.

The reference below shares no code with the engine: EMAs come from TA-Lib (the indicator
reference), the books are kept in exact ``Fraction`` arithmetic, and the rules are the written
contract (README / ``trader_strategies.ema_cross``): crosses on bar i, market orders filling at
the next bar's open (or this bar's close), moved against the trader by the slippage and rounded to
the price precision against them, fee = fee_bps x notional (rounded up to 1e-18), qty 0 = the
quantity whose cost at the bar's close, fee and slippage included, is size x equity, rounded down
to the lot. The account's rule: on a cash account a buy never spends more than the cash (the fill
is cut to what the cash pays for, fee included, and the rest canceled); the configurations that
sell short run on a margin account (2x), where the all-in entries always fit. Fills must be
identical (time, side, price, quantity; fees to 1e-9), in both fill modes, with and without
slippage, event-driven and vectorized.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import talib

from trader import run_backtest

SIZE_DP = 6


def price_precision(*cols: np.ndarray) -> int:
    vals = np.concatenate(cols)
    for dp in range(10):
        s = vals * 10.0**dp
        if np.all(np.abs(s - np.round(s)) < 1e-6):
            return dp
    return 9


def reference(bars: dict, fast: int, slow: int, *, qty=0.0, size=1.0, allow_short=False, cash=10_000.0,
              fee_bps="0", slip_bps="0", fill_at="next_open", pdp: int) -> list[tuple]:
    o, c, ts = bars["open"], bars["close"], bars["ts"]
    interval = int(np.bincount(np.diff(ts) // 10**9).argmax()) * 10**9  # the most common step
    P, Q = 10**pdp, 10**SIZE_DP
    fee, slip = Fraction(fee_bps) / 10_000, Fraction(slip_bps) / 10_000
    f, s = talib.EMA(c, fast), talib.EMA(c, slow)
    money, pos = Fraction(cash), 0  # pos in 1/Q units
    pending: tuple[int, int] | None = None
    fills: list[tuple] = []

    def slipped(side: int, base_raw: int) -> int:
        px = base_raw * (1 + slip) if side > 0 else base_raw * (1 - slip)
        return math.ceil(px) if side > 0 else math.floor(px)

    def fee_of(notional: Fraction) -> Fraction:  # rounded up to the money unit, 1e-18
        return Fraction(math.ceil(notional * fee * 10**18), 10**18)

    def fill(side: int, q: int, base: float, t: int) -> None:
        nonlocal money, pos
        px_raw = slipped(side, round(base * P))

        def cost(qq: int) -> Fraction:
            n = Fraction(px_raw, P) * Fraction(qq, Q)
            return n + fee_of(n)

        if side > 0 and not allow_short and cost(q) > money:
            # a cash account: the fill is cut to what the cash pays for (the rest is canceled)
            lo, hi = 0, q
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if cost(mid) <= money else (lo, mid - 1)
            q = lo
            if q == 0:
                return
        notional = Fraction(px_raw, P) * Fraction(q, Q)
        cost_ = fee_of(notional)
        money += -side * notional - cost_
        pos += side * q
        fills.append((t, side, Fraction(px_raw, P), Fraction(q, Q), cost_))

    # sizing folds the fee and the slippage at the close into the price (as Strategy.qty_for does)
    fee_factor = 1.0 + float(fee)

    def entry(price: float, equity: Fraction) -> int:
        if qty > 0:
            return round(qty * Q)
        raw = round(price * P)
        factor = fee_factor * max(slipped(1, raw) / raw, 1.0)
        return math.floor(size * float(equity) / (price * factor) * Q)

    for i in range(len(c)):
        if pending is not None:
            fill(*pending, o[i], int(ts[i]))
            pending = None
        if i == 0:
            continue
        up = f[i - 1] <= s[i - 1] and f[i] > s[i]
        down = f[i - 1] >= s[i - 1] and f[i] < s[i]
        if not (up or down):
            continue
        equity = money + Fraction(pos, Q) * Fraction(round(c[i] * P), P)
        order = None
        if up and pos <= 0:
            q = entry(c[i], equity) - pos
            order = (1, q) if q > 0 else None
        elif down and (pos > 0 or (pos == 0 and allow_short)):
            q = pos + (entry(c[i], equity) if allow_short else 0)
            order = (-1, q) if q > 0 else None
        if order is None:
            continue
        if fill_at == "close":  # at the bar's close, the time the decision is made
            fill(*order, c[i], int(ts[i]) + interval)
        else:
            pending = order
    return fills


def engine_fills(result) -> list[tuple]:
    return [(ts, side, Fraction(px), Fraction(q), Fraction(fee)) for ts, _inst, side, px, q, fee, _id in result.fills_exact]


def assert_same_fills(ours: list[tuple], ref: list[tuple], label: str) -> None:
    assert len(ours) == len(ref), f"{label}: {len(ours)} fills vs {len(ref)} in the reference"
    for k, (a, b) in enumerate(zip(ours, ref)):
        assert a[:4] == b[:4], f"{label}: fill {k} differs: {a[:4]} vs {b[:4]}"
        assert abs(a[4] - b[4]) <= Fraction(1, 10**9), f"{label}: fee of fill {k}: {a[4]} vs {b[4]}"


CONFIGS = [
    dict(fast=10, slow=30),
    dict(fast=5, slow=21, allow_short=True, fee_bps="7.5", slip_bps="2.5"),
    dict(fast=8, slow=34, fill_at="close", slip_bps="10", fee_bps="4"),
    dict(fast=9, slow=40, fee_bps="7.5", slip_bps="2"),
    dict(fast=12, slow=26, allow_short=True, fill_at="close", qty=0.25, cash=100_000.0),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_engine_matches_reference_on_every_file(klines_1m_paths, cfg):
    checked = 0
    for path, bars in klines_1m_paths:
        pdp = price_precision(bars["open"], bars["high"], bars["low"], bars["close"])
        ref = reference(bars, pdp=pdp, **cfg)
        params = {k: cfg[k] for k in ("fast", "slow", "qty", "allow_short") if k in cfg}
        kw = dict(fee_bps=float(cfg.get("fee_bps", 0)), slippage_bps=float(cfg.get("slip_bps", 0)),
                  fill_at=cfg.get("fill_at", "next_open"), price_precision=pdp, size_precision=SIZE_DP,
                  cash=cfg.get("cash", 10_000.0))
        if cfg.get("allow_short"):  # short sales need a margin account
            kw.update(account="margin", leverage=2.0)
        for mode in ("event", "vectorized"):
            result = run_backtest("ema_cross", params, str(path), mode=mode, **kw)
            assert_same_fills(engine_fills(result), ref, f"{path.name} {mode}")
        checked += len(ref)
    assert checked > 100, "the configurations must trade"
