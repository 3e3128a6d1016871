"""Backtest throughput, side by side with NautilusTrader 1.221 and backtrader in the same run.

Data: the session fixture ``real_ohlcv`` (the shared BTC 1-minute bars, repeated to 1M bars),
stamped one minute apart from 2024-01-01 UTC. Harnesses: ``benches/peers.py``.

Groups (the gate compares ``extra_info["items"]`` per second, ours / anchor, from medians):

- ``ema_cross_vs_nautilus``: our ema_cross, event-driven (a Python ``on_bar`` per bar), on 1M
  bars vs nautilus's bundled ``EMACross`` example (bars/s). Two acceptance lines read this group:
  ">= 50x NautilusTrader" and ">= 1M bars/s" (the latter as 1M / the nautilus rate, see below).
- ``ema_cross_vs_backtrader``: the same ours vs a backtrader EMA-cross strategy (bars/s).
- ``ema_cross_vectorized``: our ema_cross on the vectorized path, 1M bars, vs nautilus EMACross.
- ``every_bar_orders``: a strategy that submits an order on every bar (flat → buy 0.01, long →
  sell 0.01; each fills at the next open, through our venue and portfolio), items = orders
  submitted (1M), vs nautilus EMACross (items = bars).

What is timed:
- ours: the whole ``run_backtest(...)`` call (plugin lookup, kernel wiring, the run and the
  result: equity statistics, fills, trades). ``extra_info["engine_items_per_s"]`` adds the rate
  from the engine's own ``elapsed_s`` (run only), for the reader.
- the peers: their engine's run only (``engine.run()`` / ``cerebro.run()``; backtrader's run
  includes reading the DataFrame into its lines, which is part of its event loop). Building the
  engine, venue, instrument, data and strategy is done in pytest-benchmark's untimed ``setup``;
  converting the arrays to their formats (DataFrame, ``BarDataWrangler``) once per session. This
  is symmetric with ours or favours the peers (our timing includes wiring and the report).

Peer data size: the peers run at 3-11k bars/s on this 2-core machine (nautilus: ~90 s for 1M
bars when the machine is quiet), and the nautilus anchor is measured in three groups, so 1M bars each would take the
file far past 5 minutes. They run on the first ``N_PEER`` = 100k bars of the very same series (a
prefix of the same data, 10-30 s a run, one round each: no JIT to warm up, and the build is in
the untimed setup), and the groups compare per-bar (per-item) throughput. This is conservative
for us: nautilus's per-bar rate falls as the run grows (presumably its cache, which keeps every
order and position; 50k and 100k bars ran at ~4.7k bars/s, 200k at ~3.4k, back to back under the same
load), so the 1M-bar comparison would only widen our lead. The whole file takes ~2.5 minutes.

Anchors for the absolute lines: a ratio needs a yardstick that does not move with our code, and
nautilus's EMACross rate, measured in the same run, is the one we already have: every absolute
target becomes "target / nautilus EMACross bars/s on the reference machine" (one calibration for
all absolute lines, rather than a different one per line). Our own event path would be a worse
anchor for the vectorized line: making the event path faster would fail the vectorized line. The
like-for-like anchor for ``every_bar_orders`` (the same every-bar strategy written for nautilus)
measures nautilus's order path rather than a machine yardstick, so it would not express the
500k orders/s target any better, and it costs another nautilus run; it is left out.

Thresholds (ours / anchor, items per second, for ``benches/gate.py``): 50 and 100 for the two
relative lines; the absolute ones divided by nautilus's EMACross rate on this very prefix (100k
bars) when this machine is quiet, ``gate.NAUTILUS_QUIET_BARS_S`` = 13.5k bars/s (13.1-13.7k in six
quiet runs, issue 10): ">= 1M bars/s" → 74 on ``ema_cross_vs_nautilus``, ">= 30M bars/s" → 2222
on ``ema_cross_vectorized``, ">= 500k orders/s" → 37 on ``every_bar_orders``. (Until issue 10 the
reference was nautilus's rate on 1M bars, ~11k bars/s, a run the bench never times.) A yardstick
measured on a shared machine moves (3-7k bars/s seen here under load, which flatters our ratios):
the gate prints the absolute rates beside the ratios.

Correctness (``extra_info["correct"]``, enforced by the gate on both sides of every line):
- ours (ema_cross, event and vectorized): our event-driven fills on the 100k prefix equal the
  independent plain-Python reference of the ema_cross contract
  (``tests/strategies/test_ema_cross_reference.py``: TA-Lib EMAs, ``Fraction`` books) one for one,
  and the vectorized run gives the event run's fills on the whole 1M bars; the backtrader group
  also requires our fills on the prefix to equal backtrader's (time, side, price; the two
  strategies have the same crossing and next-open fill rules).
- ours (every bar): every bar's order filled at the next bar's open, at that bar's time, sides
  alternating buy/sell, checked against the bars themselves.
- the anchors: they placed and filled orders (``trades``; nautilus's EMACross is always in the
  market and reverses on each cross, so it trades about twice as often as the long-only ours).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest

from benches import peers

N_PEER = int(os.environ.get("TRADER_BENCH_PEER_BARS", 100_000))  # smaller for a quick local look
OURS_ROUNDS = 5
# The vectorized run takes ~25 ms: 21 rounds cost half a second, and their median is not moved by
# a burst of the shared host's load that hits a few of them (the medians of 5 rounds read 25.7M
# then 18.1M bars/s in one gate run while another build ran; 38M quiet).
OURS_ROUNDS_SHORT = 21


@pytest.fixture(scope="module")
def bars_1m(real_ohlcv: dict[str, np.ndarray]) -> Any:
    return peers.make_bars(real_ohlcv)


@pytest.fixture(scope="module")
def ema_correct(bars_1m: Any, real_ohlcv: dict[str, np.ndarray]) -> bool:
    """Our event-driven ema_cross equals the independent reference on the peers' prefix, and the
    vectorized run gives the event run's fills on the 1M bars."""
    from tests.strategies.test_ema_cross_reference import engine_fills, reference

    prefix = {c: real_ohlcv[c][:N_PEER] for c in ("open", "close")}
    prefix["ts"] = peers.timestamps(N_PEER)
    ref = reference(prefix, peers.FAST, peers.SLOW, qty=peers.QTY, cash=peers.CASH, pdp=2)
    mine = [f[:4] for f in engine_fills(peers.ours(peers.make_bars(real_ohlcv, N_PEER), "event"))]
    r1, r2 = peers.ours(bars_1m, "event"), peers.ours(bars_1m, "vectorized")
    return len(ref) > 0 and mine == [f[:4] for f in ref] and len(r1.fills_exact) > 0 and r1.fills_exact == r2.fills_exact


@pytest.fixture(scope="module")
def nautilus_data(real_ohlcv: dict[str, np.ndarray]) -> tuple[Any, list[Any]]:
    return peers.nautilus_prepare(real_ohlcv, N_PEER)


def _ours(benchmark: Any, group: str, fn: Any, *, items: str, correct: bool, rounds: int = OURS_ROUNDS) -> None:
    """Benchmark ``fn()`` (returns a BacktestResult); record counts, rates and correctness.

    The previous round's result is freed in the untimed teardown, not inside the next timed call.
    """
    held: list[Any] = []
    seen: list[dict[str, Any]] = []

    def call() -> None:
        held.append(fn())

    def teardown() -> None:
        r = held.pop()
        seen.append({"bars": r.bars, "orders": r.orders, "fills": len(r.fills["ts"]), "elapsed_s": r.elapsed_s})
        del r

    benchmark.group = group
    benchmark.pedantic(call, teardown=teardown, rounds=rounds, iterations=1, warmup_rounds=1)
    last = seen[-1]
    engine_rates = sorted(s[items] / s["elapsed_s"] for s in seen)
    benchmark.extra_info.update(
        role="ours",
        items=last[items],
        bars=last["bars"],
        orders=last["orders"],
        fills=last["fills"],
        engine_items_per_s=round(engine_rates[len(engine_rates) // 2]),
        correct=correct,
    )


def _nautilus(benchmark: Any, group: str, data: tuple[Any, list[Any]]) -> None:
    instrument, bars = data
    counts: dict[str, Any] = {}

    def setup() -> tuple[tuple[Any], dict]:
        t0 = time.perf_counter()
        engine, _ = peers.nautilus_build(instrument, bars)
        counts["build_s"] = round(time.perf_counter() - t0, 3)
        return (engine,), {}

    def teardown(engine: Any) -> None:
        counts.update(peers.nautilus_counts(engine))
        engine.dispose()

    benchmark.group = group
    benchmark.pedantic(lambda engine: engine.run(), setup=setup, teardown=teardown, rounds=1, iterations=1)
    trades = counts["orders"] > 0 and counts["fills"] > 0
    benchmark.extra_info.update(role="anchor", peer="nautilus_trader 1.221.0 EMACross", items=len(bars), bars=len(bars),
                                trades=trades, correct=trades, **counts)


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_ema_cross_vs_nautilus(benchmark, role, bars_1m, ema_correct, nautilus_data):
    if role == "ours":
        _ours(benchmark, "ema_cross_vs_nautilus", lambda: peers.ours(bars_1m, "event"), items="bars", correct=ema_correct)
    else:
        _nautilus(benchmark, "ema_cross_vs_nautilus", nautilus_data)


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_ema_cross_vectorized(benchmark, role, bars_1m, ema_correct, nautilus_data):
    if role == "ours":
        _ours(benchmark, "ema_cross_vectorized", lambda: peers.ours(bars_1m, "vectorized"), items="bars", correct=ema_correct,
              rounds=OURS_ROUNDS_SHORT)
    else:
        _nautilus(benchmark, "ema_cross_vectorized", nautilus_data)


@pytest.mark.parametrize("role", ["ours", "anchor"])
def test_every_bar_orders(benchmark, role, bars_1m, nautilus_data):
    if role == "ours":
        # Every bar submits one order; all but the last fill, at the next bar's open and time,
        # buying and selling in turn: checked against the bars.
        r = peers.ours_every_bar(bars_1m)
        f = r.fills
        n = len(bars_1m.close)
        filled_as_sent = bool(
            r.orders == n and len(f["ts"]) == n - 1
            and np.array_equal(f["ts"], bars_1m.ts[1:])
            and np.array_equal(f["price"], np.round(bars_1m.open[1:], 2))
            and (f["side"][0::2] == 1).all() and (f["side"][1::2] == -1).all()
        )
        del r
        _ours(benchmark, "every_bar_orders", lambda: peers.ours_every_bar(bars_1m), items="orders", correct=filled_as_sent)
    else:
        _nautilus(benchmark, "every_bar_orders", nautilus_data)


_BT_FILLS: list[list[tuple[int, int, float]]] = []  # backtrader's fills on the prefix, from the anchor's run


def _backtrader_fills(real_ohlcv: dict[str, np.ndarray]) -> list[tuple[int, int, float]]:
    if not _BT_FILLS:  # the anchor did not run first (test selection): run backtrader once more
        _BT_FILLS.append(peers.backtrader_build(peers.frame(real_ohlcv, N_PEER, tz=None)).run()[0].fills)
    return _BT_FILLS[0]


@pytest.mark.parametrize("role", ["anchor", "ours"])
def test_ema_cross_vs_backtrader(benchmark, role, bars_1m, ema_correct, real_ohlcv):
    if role == "ours":
        _ours(benchmark, "ema_cross_vs_backtrader", lambda: peers.ours(bars_1m, "event"), items="bars", correct=ema_correct)
        # Cross-check on the peers' prefix: our fills are backtrader's, one for one.
        same = peers.same_fills(peers.ours(peers.make_bars(real_ohlcv, N_PEER), "event"), _backtrader_fills(real_ohlcv))
        benchmark.extra_info["same_fills_as_backtrader"] = same
        benchmark.extra_info["correct"] = ema_correct and same
        return
    df = peers.frame(real_ohlcv, N_PEER, tz=None)
    out: dict[str, Any] = {}

    def setup() -> tuple[tuple[Any], dict]:
        t0 = time.perf_counter()
        cerebro = peers.backtrader_build(df)
        out["build_s"] = round(time.perf_counter() - t0, 3)
        return (cerebro,), {}

    def run(cerebro: Any) -> None:
        strat = cerebro.run()[0]
        out.update(peers.backtrader_counts([strat]))
        _BT_FILLS[:] = [strat.fills]

    benchmark.group = "ema_cross_vs_backtrader"
    benchmark.pedantic(run, setup=setup, rounds=1, iterations=1)
    trades = out["orders"] > 0 and out["fills"] > 0
    benchmark.extra_info.update(role="anchor", peer="backtrader 1.9.78.123", items=N_PEER, bars=N_PEER,
                                trades=trades, correct=trades, **out)
