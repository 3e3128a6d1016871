"""trader's order commands as Binance parameters, spot and USDⓈ-M, with the filters' rounding
and the local refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trader_plugins.venues.binance.orders import OrderRefused, SymbolFilters, order_request, parse_exchange_info

F = SymbolFilters(symbol="BTCUSDT", base_asset="BTC", quote_asset="USDT", tick_size="0.01", min_price="0.01",
                  max_price="1000000", step_size="0.00001", min_qty="0.00001", max_qty="9000", market_step_size="0.00001",
                  market_min_qty="0.00001", market_max_qty="100", min_notional="5")


def cmd(**kw: object) -> dict:
    base = {"op": "submit", "order_id": 1, "client_id": "s1-1", "symbol": "BTCUSDT", "side": "buy", "kind": "limit",
            "qty": "0.001", "price": "50000", "trigger": None, "trail": None, "trail_type": None, "tif": "GTC",
            "expire_ns": None, "post_only": False, "reduce_only": False}
    base.update(kw)
    return base


@pytest.mark.parametrize("kind,extra,typ,keys", [
    ("market", {"price": None}, "MARKET", {"quantity"}),
    ("limit", {}, "LIMIT", {"quantity", "price", "timeInForce"}),
    ("stop_market", {"price": None, "trigger": "49000"}, "STOP_LOSS", {"quantity", "stopPrice"}),
    ("stop_limit", {"trigger": "49000"}, "STOP_LOSS_LIMIT", {"quantity", "price", "stopPrice", "timeInForce"}),
    ("market_if_touched", {"price": None, "trigger": "51000"}, "TAKE_PROFIT", {"quantity", "stopPrice"}),
    ("limit_if_touched", {"trigger": "51000"}, "TAKE_PROFIT_LIMIT", {"quantity", "price", "stopPrice", "timeInForce"}),
    ("trailing_stop_market", {"price": None, "trail": "50", "trail_type": "bps"}, "STOP_LOSS", {"quantity", "trailingDelta"}),
])
def test_spot_types(kind: str, extra: dict, typ: str, keys: set) -> None:
    r = order_request(cmd(kind=kind, **extra), "spot", F)
    assert r.path == "/api/v3/order" and not r.algo
    assert r.params["type"] == typ and r.params["newClientOrderId"] == "s1-1" and r.params["side"] == "BUY"
    assert keys <= set(r.params)


@pytest.mark.parametrize("kind,extra,typ,path", [
    ("market", {"price": None}, "MARKET", "/fapi/v1/order"),
    ("limit", {}, "LIMIT", "/fapi/v1/order"),
    ("stop_market", {"price": None, "trigger": "49000"}, "STOP_MARKET", "/fapi/v1/algoOrder"),
    ("stop_limit", {"trigger": "49000"}, "STOP", "/fapi/v1/algoOrder"),
    ("market_if_touched", {"price": None, "trigger": "51000"}, "TAKE_PROFIT_MARKET", "/fapi/v1/algoOrder"),
    ("limit_if_touched", {"trigger": "51000"}, "TAKE_PROFIT", "/fapi/v1/algoOrder"),
    ("trailing_stop_market", {"price": None, "trail": "150", "trail_type": "bps"}, "TRAILING_STOP_MARKET",
     "/fapi/v1/algoOrder"),
])
def test_futures_types(kind: str, extra: dict, typ: str, path: str) -> None:
    r = order_request(cmd(kind=kind, reduce_only=True, **extra), "usdm", F)
    assert r.path == path and r.params["type"] == typ and r.params["reduceOnly"] == "true"
    if r.algo:
        assert r.params["algoType"] == "CONDITIONAL" and r.params["clientAlgoId"] == "s1-1"
        if kind == "trailing_stop_market":
            assert r.params["callbackRate"] == "1.5"
        else:
            assert "triggerPrice" in r.params
    else:
        assert r.params["newClientOrderId"] == "s1-1"


def test_post_only_gtd_and_rounding() -> None:
    assert order_request(cmd(post_only=True), "spot", F).params["type"] == "LIMIT_MAKER"
    assert "timeInForce" not in order_request(cmd(post_only=True), "spot", F).params
    assert order_request(cmd(post_only=True), "usdm", F).params["timeInForce"] == "GTX"
    g = order_request(cmd(tif="GTD", expire_ns=1_700_000_000_123_456_789), "usdm", F).params
    assert g["timeInForce"] == "GTD" and g["goodTillDate"] == 1_700_000_000_123
    r = order_request(cmd(qty="0.0012345", price="50000.016"), "spot", F).params
    assert r["quantity"] == "0.00123" and r["price"] == "50000.01"  # a buy rounds down
    r = order_request(cmd(side="sell", qty="0.0012345", price="50000.011"), "spot", F).params
    assert r["price"] == "50000.02" and r["side"] == "SELL"  # a sell rounds up


@pytest.mark.parametrize("market,kw,match", [
    ("spot", {"qty": "0.000001"}, "below the minimum"),
    ("spot", {"qty": "0.00001", "price": "100"}, "notional .* below"),
    ("spot", {"reduce_only": True}, "reduce_only"),
    ("spot", {"tif": "GTD", "expire_ns": 1}, "GTD"),
    ("usdm", {"tif": "DAY"}, "DAY"),
    ("usdm", {"kind": "trailing_stop_market", "trail": "5", "trail_type": "price"}, "bps only"),
    ("usdm", {"kind": "trailing_stop_market", "trail": "5", "trail_type": "bps"}, "callbackRate"),
    ("usdm", {"kind": "trailing_stop_limit", "trail": "50", "trail_type": "bps"}, "no trailing stop-limit"),
    ("spot", {"kind": "trailing_stop_limit", "trail": "50", "trail_type": "bps"}, "fixed limit price"),
    ("spot", {"kind": "trailing_stop_market", "price": None, "trail": "5", "trail_type": "bps"}, "TRAILING_DELTA"),
    ("usdm", {"kind": "oco"}, "emulates"),
    ("usdm", {"kind": "iceberg"}, "not supported"),
    ("usdm", {"list": True}, "emulates"),
    ("usdm", {"client_id": "bad id with spaces"}, "client_id"),
    ("usdm", {"qty": "-1"}, "qty"),
])
def test_refusals(market: str, kw: dict, match: str) -> None:
    with pytest.raises(OrderRefused, match=match):
        order_request(cmd(**kw), market, F)


def test_filters_from_fixtures() -> None:
    root = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "ws_fixtures" / "nautilus" / "tests" / \
        "integration_tests" / "adapters" / "binance" / "resources" / "http_responses"
    if not root.exists():
        pytest.skip("fixtures missing")
    spot = parse_exchange_info(json.loads((root / "http_spot_market_exchange_info.json").read_text()))
    fut = parse_exchange_info(json.loads((root / "http_futures_market_exchange_info.json").read_text()))
    assert spot and fut
    for f in list(spot.values()) + list(fut.values()):
        assert float(f.tick_size) > 0 and float(f.step_size) > 0
