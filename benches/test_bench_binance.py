"""Binance market data (issue 13).

* ``binance_decode``: the recorded usdm stream (93,954 messages: depth diffs, book tickers,
  trades, the REST snapshot) decoded in Rust into typed events — integer prices and sizes at the
  instrument's precision, every depth level parsed, update ids, times
  (:func:`trader._core.decode_binance_messages`) — against ``orjson.loads`` of the same JSON texts
  into dicts (strings left unparsed), the fastest JSON parser Python has. Paired rounds (orjson,
  then ours, round after round); the line is the median of the per-round ratios, goal ">= 3x".
  Both are timed with Python's cyclic GC off (its passes over the dicts are not charged to the
  anchor). Correct: the kinds, ids, prices and sizes equal what the dicts say, message for message.
"""

from __future__ import annotations

import gc
import gzip
import time
from decimal import Decimal

import numpy as np

from benches._data import shared_file
from trader import _core

RECORDING = "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"
ROUNDS = 9
PDP, SDP = 1, 3


def _check(lines: list[str], d: dict, dicts: list[dict]) -> bool:
    """Our columns against orjson's dicts, message for message (levels of every diff too)."""
    kinds = {"depthUpdate": 0, "bookTicker": 1, "trade": 2}
    lv = 0
    for i, m in enumerate(dicts):
        data = m.get("data", m)
        k = 3 if "lastUpdateId" in m else kinds.get(data.get("e", "bookTicker" if "u" in data and "b" in data else ""), 4)
        if int(d["kind"][i]) != k:
            return False
        if k == 1 and (int(d["a"][i]) != int(Decimal(data["b"]) * 10**PDP) or int(d["d"][i]) != int(Decimal(data["A"]) * 10**SDP)):
            return False
        if k == 2 and (int(d["a"][i]) != int(Decimal(data["p"]) * 10**PDP) or int(d["first_id"][i]) != data["t"]):
            return False
        if k in (0, 3):
            bids, asks = (data["b"], data["a"]) if k == 0 else (data["bids"], data["asks"])
            for side, levels in ((0, bids), (1, asks)):
                for p, q in levels:
                    if (int(d["level_row"][lv]) != i or int(d["level_side"][lv]) != side
                            or int(d["level_px"][lv]) != int(Decimal(p) * 10**PDP)
                            or int(d["level_qty"][lv]) != int(Decimal(q) * 10**SDP)):
                        return False
                    lv += 1
            if k == 0 and (int(d["first_id"][i]) != data["U"] or int(d["last_id"][i]) != data["u"]):
                return False
    return lv == len(d["level_px"]) and len(dicts) == len(lines)


def test_binance_decode(benchmark) -> None:
    import orjson

    with gzip.open(shared_file(RECORDING), "rt") as f:
        lines = f.read().splitlines()
    texts = [ln.split(" ", 1)[1] for ln in lines]
    n = len(lines)
    ours_s: list[float] = []
    anchor_s: list[float] = []
    holder: dict = {}

    def setup():
        holder.pop("dicts", None)
        gc.collect()
        gc.disable()  # the dicts' cyclic GC passes are not charged to the anchor
        try:
            t = time.perf_counter()
            dicts = [orjson.loads(x) for x in texts]
            anchor_s.append(time.perf_counter() - t)
        finally:
            gc.enable()
        holder["dicts"] = dicts
        return (), {}

    def ours():
        t = time.perf_counter()
        holder["d"] = _core.decode_binance_messages(lines, PDP, SDP)
        ours_s.append(time.perf_counter() - t)

    benchmark.group = "binance_decode"
    benchmark.pedantic(ours, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    ours_s, anchor_s = ours_s[-ROUNDS:], anchor_s[-ROUNDS:]
    ratios = [a / o for a, o in zip(anchor_s, ours_s)]
    correct = _check(lines, holder["d"], holder["dicts"])
    benchmark.extra_info.update(role="ours", items=n, anchor_items=n, anchor_median_s=float(np.median(anchor_s)),
                                paired_ratio=round(float(np.median(ratios)), 4), correct=correct,
                                ours_median_s=float(np.median(ours_s)),
                                levels=len(holder["d"]["level_px"]),
                                check="kinds, ids, prices and sizes (every depth level) equal orjson's dicts, message for message")
