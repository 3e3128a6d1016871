"""ccxt — a Binance client no one here wrote — against the local exchange, spot and USDⓈ-M.

ccxt's own ``binance`` class (the sync client) is pointed at the exchange by rewriting every entry
of ``exchange.urls['api']`` to ``http://127.0.0.1:PORT/...`` (so a call to an endpoint the exchange
does not serve is a 404 on loopback, never a request to the internet), with only these options:
``fetchMarkets.types = ['spot', 'linear']`` (no COIN-M/options exchangeInfo), ``fetchCurrencies`` and
``fetchMargins`` off (both are ``/sapi`` wallet/margin calls), and ``defaultType`` spot or swap.
Nothing ccxt calls is stubbed: what it needs, the exchange must serve.

Every amount is checked exactly: ccxt's raw ``info`` strings and its unified floats (``str`` of the
float, which round-trips these short decimals) against ``ex.books(api_key, market)`` as Decimals.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from trader.exchange import ExchangeHandle, serve_in_thread

SPOT_KEY: dict[str, Any] = {"api_key": "ccxtSpotKey0123456789abcdef", "secret": "ccxtSpotSecret0123456789abcdef",
            "balances": {"USDT": 10000, "BTC": 1}}
USDM_KEY: dict[str, Any] = {"api_key": "ccxtUsdmKey0123456789abcdef", "secret": "ccxtUsdmSecret0123456789abcdef",
            "balances": {"USDT": 10000, "BTC": 1}}
SPOT, SWAP = "BTC/USDT", "BTC/USDT:USDT"
QTY = Decimal("0.01")


@pytest.fixture(scope="module")
def venue() -> Iterator[ExchangeHandle]:
    with serve_in_thread(feed_options={"seed": 7, "rate": 200, "symbol": "BTCUSDT", "price": 50000},
                         accounts=[SPOT_KEY, USDM_KEY]) as ex:
        deadline = time.monotonic() + 10
        while (None in ex.top("spot") or None in ex.top("usdm")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert None not in ex.top("spot") and None not in ex.top("usdm"), "the exchange's book never filled"
        yield ex


def binance(ex: ExchangeHandle, account: dict[str, Any], default_type: str) -> ccxt.binance:
    """ccxt's Binance client, every REST base URL on the local exchange."""
    c = ccxt.binance({
        "apiKey": account["api_key"], "secret": account["secret"], "timeout": 5000, "enableRateLimit": False,
        "options": {"defaultType": default_type, "fetchMarkets": {"types": ["spot", "linear"]},
                    "fetchCurrencies": False, "fetchMargins": False},
    })
    c.session.trust_env = False  # no proxy from the environment: loopback only
    c.urls["api"] = {k: re.sub(r"^https?://[^/]+", ex.base_url, v) if isinstance(v, str) else v
                     for k, v in c.urls["api"].items()}
    assert all(v.startswith(ex.base_url) for v in c.urls["api"].values() if isinstance(v, str))
    return c


def d(x: Any) -> Decimal:
    """A ccxt number (float) or an exchange string as a Decimal."""
    return Decimal(str(x))


def book_order(ex: ExchangeHandle, key: str, market: str, order_id: str) -> dict[str, Any]:
    (o,) = [o for o in ex.books(key, market)["orders"] if o["orderId"] == int(order_id)]
    return o


def book_fills(ex: ExchangeHandle, key: str, market: str, order_id: str) -> list[dict[str, Any]]:
    return [f for f in ex.books(key, market)["fills"] if f["orderId"] == int(order_id)]


def below(price: str | None, amount: Decimal) -> Decimal:
    assert price is not None
    return Decimal(price) - amount


def check_markets(c: ccxt.binance) -> None:
    markets = c.load_markets()
    spot, swap = markets[SPOT], markets[SWAP]
    assert (spot["id"], spot["spot"], spot["base"], spot["quote"]) == ("BTCUSDT", True, "BTC", "USDT")
    assert (swap["id"], swap["swap"], swap["linear"], swap["settle"]) == ("BTCUSDT", True, True, "USDT")
    for m in (spot, swap):
        assert m["active"] is True
        assert m["precision"]["price"] > 0 and m["precision"]["amount"] > 0


def test_spot_through_ccxt(venue: ExchangeHandle) -> None:
    ex, key = venue, SPOT_KEY["api_key"]
    c = binance(ex, SPOT_KEY, "spot")
    check_markets(c)

    def balances_match() -> dict[str, Any]:
        bal = c.fetch_balance()
        books = ex.books(key, "spot")["balances"]
        raw = {b["asset"]: b for b in bal["info"]["balances"]}
        for asset, b in books.items():
            assert d(raw[asset]["free"]) == d(b["free"]) and d(raw[asset]["locked"]) == d(b["locked"]), asset
            assert d(bal[asset]["free"]) == d(b["free"]) and d(bal[asset]["used"]) == d(b["locked"]), asset
            assert d(bal[asset]["total"]) == d(b["free"]) + d(b["locked"]), asset
        return books

    # the account's configured balances
    books = balances_match()
    assert {a: (d(b["free"]), d(b["locked"])) for a, b in books.items() if a in SPOT_KEY["balances"]} == \
        {a: (Decimal(v), Decimal(0)) for a, v in SPOT_KEY["balances"].items()}

    # a limit buy far below the market: open, queried, listed, canceled
    bid, _ = ex.top("spot")
    price = below(bid, Decimal(1000))
    o = c.create_order(SPOT, "limit", "buy", float(QTY), float(price))
    assert o["status"] == "open" and d(o["price"]) == price and d(o["amount"]) == QTY and d(o["filled"]) == 0
    q = c.fetch_order(o["id"], SPOT)
    assert (q["id"], q["status"], q["side"], q["type"]) == (o["id"], "open", "buy", "limit")
    assert q["clientOrderId"] == o["clientOrderId"]
    bo = book_order(ex, key, "spot", o["id"])
    assert (bo["status"], d(bo["price"]), d(bo["origQty"])) == ("NEW", price, QTY)
    assert d(q["price"]) == d(bo["price"]) and d(q["amount"]) == d(bo["origQty"])
    books = balances_match()
    assert d(books["USDT"]["locked"]) > 0
    assert d(books["USDT"]["free"]) + d(books["USDT"]["locked"]) == Decimal(10000)
    assert [x["id"] for x in c.fetch_open_orders(SPOT)] == [o["id"]]
    x = c.cancel_order(o["id"], SPOT)
    assert (x["id"], x["status"]) == (o["id"], "canceled")
    assert c.fetch_order(o["id"], SPOT)["status"] == "canceled"
    assert book_order(ex, key, "spot", o["id"])["status"] == "CANCELED"
    assert c.fetch_open_orders(SPOT) == []
    books = balances_match()
    assert (d(books["USDT"]["free"]), d(books["USDT"]["locked"])) == (Decimal(10000), Decimal(0))

    # a market buy that fills: base up by exactly the fills, quote down by their cost plus the fee
    m = c.create_order(SPOT, "market", "buy", float(QTY))
    assert m["status"] == "closed" and d(m["filled"]) == QTY
    fills = book_fills(ex, key, "spot", m["id"])
    assert fills and sum(d(f["qty"]) for f in fills) == QTY
    assert all(f["commissionAsset"] == "USDT" for f in fills)
    assert sorted((d(t["price"]), d(t["amount"]), d(t["fee"]["cost"])) for t in m["trades"]) == \
        sorted((d(f["price"]), d(f["qty"]), d(f["commission"])) for f in fills)
    cost = sum(d(f["price"]) * d(f["qty"]) for f in fills)
    fee = sum(d(f["commission"]) for f in fills)
    assert d(m["cost"]) == cost
    books = balances_match()
    assert d(books["BTC"]["free"]) == Decimal(1) + QTY
    assert d(books["USDT"]["free"]) == Decimal(10000) - cost - fee

    # and a market sell back: base down by the fills, quote up by their proceeds less the fee
    s = c.create_order(SPOT, "market", "sell", float(QTY))
    assert s["status"] == "closed" and d(s["filled"]) == QTY
    sells = book_fills(ex, key, "spot", s["id"])
    assert sum(d(f["qty"]) for f in sells) == QTY
    proceeds = sum(d(f["price"]) * d(f["qty"]) for f in sells)
    sell_fee = sum(d(f["commission"]) for f in sells)
    books = balances_match()
    assert d(books["BTC"]["free"]) == Decimal(1)
    assert d(books["USDT"]["free"]) == Decimal(10000) - cost - fee + proceeds - sell_fee
    mine = c.fetch_my_trades(SPOT)
    assert sorted((t["order"], d(t["price"]), d(t["amount"]), d(t["fee"]["cost"])) for t in mine) == \
        sorted((str(f["orderId"]), d(f["price"]), d(f["qty"]), d(f["commission"])) for f in ex.books(key, "spot")["fills"])


def test_usdm_through_ccxt(venue: ExchangeHandle) -> None:
    ex, key = venue, USDM_KEY["api_key"]
    c = binance(ex, USDM_KEY, "swap")
    check_markets(c)

    def wallet() -> Decimal:
        """The USDT wallet as ccxt reads it (raw), equal to the exchange's."""
        bal = c.fetch_balance()
        (usdt,) = [a for a in bal["info"]["assets"] if a["asset"] == "USDT"]
        books = ex.books(key, "usdm")["balances"]["USDT"]
        assert d(usdt["walletBalance"]) == d(books["wallet"])
        return d(books["wallet"])

    # the configured balance, nothing at risk yet
    bal = c.fetch_balance()
    books = ex.books(key, "usdm")["balances"]["USDT"]
    assert d(books["wallet"]) == d(books["free"]) == Decimal(10000)
    assert d(bal["USDT"]["total"]) == d(bal["USDT"]["free"]) == Decimal(10000) and d(bal["USDT"]["used"]) == 0
    assert wallet() == Decimal(10000)

    # a limit buy far below the market: open, queried, listed, canceled
    bid, _ = ex.top("usdm")
    price = below(bid, Decimal(1000))
    o = c.create_order(SWAP, "limit", "buy", float(QTY), float(price))
    assert o["status"] == "open" and d(o["price"]) == price and d(o["amount"]) == QTY
    q = c.fetch_order(o["id"], SWAP)
    assert (q["id"], q["status"], q["side"], q["type"]) == (o["id"], "open", "buy", "limit")
    bo = book_order(ex, key, "usdm", o["id"])
    assert (bo["status"], d(bo["price"]), d(bo["origQty"])) == ("NEW", price, QTY)
    assert [x["id"] for x in c.fetch_open_orders(SWAP)] == [o["id"]]
    x = c.cancel_order(o["id"], SWAP)
    assert (x["id"], x["status"]) == (o["id"], "canceled")
    assert c.fetch_order(o["id"], SWAP)["status"] == "canceled"
    assert book_order(ex, key, "usdm", o["id"])["status"] == "CANCELED"
    assert c.fetch_open_orders(SWAP) == []
    assert wallet() == Decimal(10000)

    # leverage
    r = c.set_leverage(5, SWAP)
    assert (int(r["leverage"]), r["symbol"]) == (5, "BTCUSDT")

    # a market buy that fills: the position is exactly the fills, the wallet pays exactly the fee
    m = c.create_order(SWAP, "market", "buy", float(QTY))
    assert m["status"] == "closed" and d(m["filled"]) == QTY
    fills = book_fills(ex, key, "usdm", m["id"])
    assert fills and sum(d(f["qty"]) for f in fills) == QTY
    fee = sum(d(f["commission"]) for f in fills)
    assert wallet() == Decimal(10000) - fee
    trades = [t for t in c.fetch_my_trades(SWAP) if t["order"] == m["id"]]
    assert sorted((d(t["price"]), d(t["amount"]), d(t["fee"]["cost"])) for t in trades) == \
        sorted((d(f["price"]), d(f["qty"]), d(f["commission"])) for f in fills)
    (bp,) = [p for p in ex.books(key, "usdm")["positions"] if p["symbol"] == "BTCUSDT"]
    assert d(bp["positionAmt"]) == QTY and bp["leverage"] == 5
    entry = sum(d(f["price"]) * d(f["qty"]) for f in fills) / QTY
    assert d(bp["entryPrice"]) == entry
    (pos,) = [p for p in c.fetch_positions([SWAP]) if p["symbol"] == SWAP]
    assert (pos["side"], d(pos["contracts"]), d(pos["entryPrice"])) == ("long", QTY, d(bp["entryPrice"]))
    assert d(pos["info"]["positionAmt"]) == d(bp["positionAmt"]) and d(pos["leverage"]) == 5

    # close it: flat, the wallet books the realized PnL less both fees
    s = c.create_order(SWAP, "market", "sell", float(QTY), params={"reduceOnly": True})
    assert s["status"] == "closed" and d(s["filled"]) == QTY
    sells = book_fills(ex, key, "usdm", s["id"])
    realized = sum((d(f["price"]) - entry) * d(f["qty"]) for f in sells)
    assert sum(d(f["realizedPnl"]) for f in sells) == realized
    assert wallet() == Decimal(10000) - fee - sum(d(f["commission"]) for f in sells) + realized
    (bp,) = [p for p in ex.books(key, "usdm")["positions"] if p["symbol"] == "BTCUSDT"]
    assert d(bp["positionAmt"]) == 0
    assert all(d(p["contracts"] or 0) == 0 for p in c.fetch_positions([SWAP]) if p["symbol"] == SWAP)
