"""NodeMetrics: every documented name, label and value appears in the exposition."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from trader.exceptions import InvalidInputError
from trader.live.metrics import CALLBACK_BUCKETS, TICK_TO_ORDER_BUCKETS, NodeMetrics
from trader.risk import STATES


def samples(m: NodeMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the rendered text: (name, labels) -> value."""
    body, content_type = m.render()
    assert content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: NodeMetrics, name: str, **labels: str) -> float:
    return samples(m)[(name, frozenset(labels.items()))]


def types(m: NodeMetrics) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(m.render()[0].decode())}


def test_counters() -> None:
    m = NodeMetrics()
    m.event("BTCUSDT.trades")
    m.event("BTCUSDT.trades", 4)
    m.event("BTCUSDT.quotes", 2)
    for status in ("submitted", "accepted", "filled", "submitted", "denied"):
        m.order_event(status)
    m.fill()
    m.fill(2)
    m.denial("max_notional")
    m.denial("max_notional")
    m.denial("state_halted")
    assert value(m, "trader_events_total", stream="BTCUSDT.trades") == 5
    assert value(m, "trader_events_total", stream="BTCUSDT.quotes") == 2
    assert value(m, "trader_orders_total", status="submitted") == 2
    assert value(m, "trader_orders_total", status="denied") == 1
    assert value(m, "trader_fills_total") == 3
    assert value(m, "trader_risk_denials_total", code="max_notional") == 2
    assert value(m, "trader_risk_denials_total", code="state_halted") == 1
    t = types(m)
    for name in ("trader_events", "trader_orders", "trader_fills", "trader_risk_denials", "trader_ring_dropped", "process_cpu_seconds"):
        assert t[name] == "counter", name


def test_trading_state_enum() -> None:
    m = NodeMetrics()
    assert value(m, "trader_trading_state", trader_trading_state="active") == 1
    m.set_state("HALTED")
    for state in STATES:
        assert value(m, "trader_trading_state", trader_trading_state=state) == (1 if state == "halted" else 0)
    with pytest.raises(InvalidInputError, match="unknown trading state 'sleepy'"):
        m.set_state("sleepy")
    assert value(m, "trader_trading_state", trader_trading_state="halted") == 1


def test_account_and_position_gauges() -> None:
    m = NodeMetrics()
    m.set_account(cash=9_500.5, equity=10_120.25, pnl=120.25)
    m.set_account(pnl=-3.5)  # the others keep their value
    m.set_position("BTCUSDT", 0.25)
    m.set_position("ETHUSDT", -2)
    m.set_position("BTCUSDT", 0)
    m.feed_lag("BTCUSDT.trades", 0.015)
    m.feed_lag("BTCUSDT.quotes", -0.001)
    m.set_ready(True)
    assert value(m, "trader_cash") == 9_500.5
    assert value(m, "trader_equity") == 10_120.25
    assert value(m, "trader_pnl") == -3.5
    assert value(m, "trader_position", symbol="BTCUSDT") == 0
    assert value(m, "trader_position", symbol="ETHUSDT") == -2
    assert value(m, "trader_feed_lag_seconds", stream="BTCUSDT.trades") == 0.015
    assert value(m, "trader_feed_lag_seconds", stream="BTCUSDT.quotes") == -0.001
    assert value(m, "trader_ready") == 1
    m.set_ready(False)
    assert value(m, "trader_ready") == 0
    t = types(m)
    for name in ("trader_cash", "trader_equity", "trader_pnl", "trader_position", "trader_feed_lag_seconds", "trader_ready",
                 "process_resident_memory_bytes"):
        assert t[name] == "gauge", name


def test_ring_dropped_from_running_totals() -> None:
    m = NodeMetrics()
    m.ring_dropped("BTCUSDT.quotes", 0)
    assert value(m, "trader_ring_dropped_total", stream="BTCUSDT.quotes") == 0
    m.ring_dropped("BTCUSDT.quotes", 7)
    m.ring_dropped("BTCUSDT.quotes", 7)
    m.ring_dropped("BTCUSDT.quotes", 10)
    m.ring_dropped("ETHUSDT.quotes", 4)
    assert value(m, "trader_ring_dropped_total", stream="BTCUSDT.quotes") == 10
    assert value(m, "trader_ring_dropped_total", stream="ETHUSDT.quotes") == 4
    m.ring_dropped("BTCUSDT.quotes", 3)  # a new ring (reconnect) counts from 0 again
    assert value(m, "trader_ring_dropped_total", stream="BTCUSDT.quotes") == 13
    m.ring_dropped("BTCUSDT.quotes", 5)
    assert value(m, "trader_ring_dropped_total", stream="BTCUSDT.quotes") == 15
    with pytest.raises(InvalidInputError, match="total: expected a dropped-event count >= 0, got -1"):
        m.ring_dropped("BTCUSDT.quotes", -1)


def test_histograms() -> None:
    m = NodeMetrics()
    for s in (2e-6, 4e-5, 4e-5, 0.02):
        m.tick_to_order(s)
    m.callback_time(3e-4)
    m.callback_time(0.2)
    assert types(m)["trader_tick_to_order_seconds"] == "histogram"
    assert types(m)["trader_strategy_callback_seconds"] == "histogram"
    got = samples(m)
    buckets = {dict(labels)["le"]: v for (name, labels), v in got.items() if name == "trader_tick_to_order_seconds_bucket"}
    assert float(min(buckets, key=float)) == 1e-6 and max(float(le) for le in buckets if le != "+Inf") == 0.01
    assert len(buckets) == len(TICK_TO_ORDER_BUCKETS) + 1
    assert buckets["1e-06"] == 0 and buckets["2.5e-06"] == 1 and buckets["5e-05"] == 3 and buckets["0.01"] == 3 and buckets["+Inf"] == 4
    assert value(m, "trader_tick_to_order_seconds_count") == 4
    assert math.isclose(value(m, "trader_tick_to_order_seconds_sum"), 0.020082)
    cb = {dict(labels)["le"]: v for (name, labels), v in got.items() if name == "trader_strategy_callback_seconds_bucket"}
    assert len(cb) == len(CALLBACK_BUCKETS) + 1 and cb["0.1"] == 1 and cb["+Inf"] == 2
    for bad in (-1e-6, float("nan")):
        with pytest.raises(InvalidInputError, match="tick_to_order: expected a number >= 0"):
            m.tick_to_order(bad)
        with pytest.raises(InvalidInputError, match="callback_time: expected a number >= 0"):
            m.callback_time(bad)


def test_process_metrics() -> None:
    got = samples(NodeMetrics())
    assert got[("process_cpu_seconds_total", frozenset())] > 0
    assert got[("process_resident_memory_bytes", frozenset())] > 1_000_000


def test_bad_counts() -> None:
    m = NodeMetrics()
    with pytest.raises(InvalidInputError, match="n: expected an event count >= 0"):
        m.event("x", -1)
    with pytest.raises(InvalidInputError, match="n: expected a fill count >= 0"):
        m.fill(-2)


def test_nodes_do_not_share_a_registry() -> None:
    a, b = NodeMetrics(), NodeMetrics()  # a shared (global) registry would refuse the second
    a.event("s", 3)
    b.event("s", 1)
    assert value(a, "trader_events_total", stream="s") == 3
    assert value(b, "trader_events_total", stream="s") == 1
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("trader_events_total", {"stream": "s"}) is None
