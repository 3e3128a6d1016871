"""What the venue adapters share and now write once (issue 16): option parsing and the plugin
objects (venues/common/options.py, plugin.py), an order command's checks and rounding
(common/orders.py), the config fields' checks (common/config.py) and the REST client's plumbing
(common/http.py :class:`RestClient`). Values are computed by hand."""

from __future__ import annotations

import asyncio
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from trader.exceptions import InvalidInputError
from trader_plugins.venues.binance.orders import OrderRefused as BinanceRefused
from trader_plugins.venues.binance.plugin import BinanceFeedClient, BinanceVenue
from trader_plugins.venues.bybit.orders import OrderRefused as BybitRefused
from trader_plugins.venues.bybit.plugin import BybitFeedClient, BybitVenue
from trader_plugins.venues.common import config as cc
from trader_plugins.venues.common import orders as co
from trader_plugins.venues.common.execution import Withdrawn
from trader_plugins.venues.common.http import Budget, OutcomeUnknown, RestClient
from trader_plugins.venues.common.options import config_from_options, parse_bool, split_list
from trader_plugins.venues.common.ws import Backoff
from trader_plugins.venues.okx.config import OkxConfig
from trader_plugins.venues.okx.plugin import OkxFeedClient, OkxVenue

D = Decimal


# ---- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [("1", True), ("Yes", True), (" on ", True), ("TRUE", True), ("0", False),
                                         ("no", False), ("Off", False), ("false", False)])
def test_parse_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_parse_bool_refuses_other_words() -> None:
    with pytest.raises(ValueError):
        parse_bool("maybe")


def test_split_list() -> None:
    assert split_list("btcusdt+ ethusdt,,SOLUSDT ") == ("btcusdt", "ethusdt", "SOLUSDT")


def test_options_become_the_venues_config() -> None:
    c = BybitFeedClient().config({"category": "linear", "symbol": "ethusdt", "testnet": "yes", "depth": "200"},
                                 "feed bybit")
    assert (c.category, c.symbols, c.testnet, c.depth) == ("linear", ("ETHUSDT",), True, 200)
    assert c.rest_url == "https://api-testnet.bybit.com"
    b = BinanceFeedClient().config({"symbols": "btcusdt+ethusdt", "streams": "depth,trade", "testnet": "0"},
                                   "feed binance")
    assert (b.symbols, b.streams, b.testnet) == (("BTCUSDT", "ETHUSDT"), ("depth", "trade"), False)
    o = OkxVenue().config({"inst_type": "swap", "symbols": "btc-usdt-swap", "demo": "1"}, "venue okx")
    assert (o.inst_type, o.symbols, o.td_mode, o.demo) == ("SWAP", ("BTC-USDT-SWAP",), "cross", True)


@pytest.mark.parametrize("plugin, options, message", [
    (BybitFeedClient(), {"colour": "red"}, r"^feed bybit: unknown option 'colour' \(known: category, symbols"),
    (BybitFeedClient(), {"depth": "deep"}, r"^feed bybit: option depth: bad value 'deep'$"),
    (OkxFeedClient(), {"demo": "perhaps"}, r"^feed okx: option demo: bad value 'perhaps'$"),
    (BinanceFeedClient(), {"symbol": "BTCUSDT", "symbols": "ETHUSDT"}, r"^feed binance: give symbol or symbols, not both$"),
    # the config's own error, with where the options came from in place of the venue's name
    (BybitFeedClient(), {"category": "spot", "depth": "500"},
     r"^feed bybit: depth must be one of \(1, 50, 200\) for category spot, got 500$"),
    (BinanceFeedClient(), {"market": "coinm"}, r"^feed binance: market must be 'spot' or 'usdm', got 'coinm'$"),
])
def test_bad_options_are_refused_naming_them(plugin: Any, options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        plugin.config(options, f"feed {plugin.name}")


def test_config_from_options_with_any_table() -> None:
    built = config_from_options({"n": "3", "names": "a+b"}, {"n": int, "names": str}, dict, "x", venue="x",
                                lists=("names",))
    assert built == {"n": 3, "names": ("a", "b")}


def test_a_feed_takes_options_not_files() -> None:
    for plugin, usage in ((BinanceFeedClient(), "market=usdm,symbols=BTCUSDT"),
                          (BybitFeedClient(), "category=linear,symbol=BTCUSDT"),
                          (OkxFeedClient(), "inst_type=SWAP,symbol=BTC-USDT-SWAP")):
        with pytest.raises(InvalidInputError, match=rf"^feed {plugin.name}: takes options \({usage}\), not files: 'a.gz'"):
            plugin.feed_config(["a.gz"], {})


def test_plugins_name_their_clients() -> None:
    from trader_plugins.venues.binance.execution import BinanceExecutionClient
    from trader_plugins.venues.bybit.data import BybitDataClient
    from trader_plugins.venues.bybit.execution import BybitExecutionClient
    from trader_plugins.venues.okx.data import OkxDataClient
    from trader_plugins.venues.okx.execution import OkxExecutionClient

    assert BinanceVenue().load(BinanceVenue.execution_client) is BinanceExecutionClient
    assert BybitVenue().load(BybitVenue.execution_client) is BybitExecutionClient
    assert OkxVenue().load(OkxVenue.execution_client) is OkxExecutionClient
    assert BybitFeedClient().load(BybitFeedClient.data_client) is BybitDataClient
    assert OkxFeedClient().load(OkxFeedClient.data_client) is OkxDataClient


def test_credentials_from_the_venues_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BYBIT_API_KEY", "k1")
    monkeypatch.setenv("BYBIT_API_SECRET", "s1")
    assert BybitVenue().credentials(None).api_key == "k1"
    monkeypatch.setenv("OKX_API_KEY", "k2")
    monkeypatch.setenv("OKX_API_SECRET", "s2")
    with pytest.raises(InvalidInputError, match="OKX_API_PASSPHRASE"):
        OkxVenue().credentials(None)  # OKX keys come with a passphrase


# ---- orders ---------------------------------------------------------------------------------------


def test_rounding() -> None:
    assert co.round_step(D("1.2345"), D("0.01"), ROUND_FLOOR) == D("1.23")
    assert co.round_step(D("1.2345"), D("0.01"), ROUND_CEILING) == D("1.24")
    assert co.round_step(D("0.125"), D("0.05"), ROUND_HALF_EVEN) == D("0.10")  # 2.5 steps -> 2
    assert co.round_step(D("7.77"), D("0"), ROUND_FLOOR) == D("7.77")  # no step: as it is
    assert co.passive_price(D("100.07"), D("0.05"), buy=True) == D("100.05")
    assert co.passive_price(D("100.07"), D("0.05"), buy=False) == D("100.10")
    assert co.dec("0.001") == D("0.001") and co.dec(None) == D(0) and co.dec("x", "1") == D(1)


def test_step_qty() -> None:
    assert co.step_qty(D("0.0129"), D("0.001"), D("0.001"), D("100"), "o", "BTCUSDT", "0.0129") == D("0.012")
    with pytest.raises(BybitRefused, match=r"^o: quantity 0.0009 rounds to 0 \(step 0.001\), below the minimum 0.001 "
                                           r"of BTCUSDT$"):
        co.step_qty(D("0.0009"), D("0.001"), D("0.001"), D("100"), "o", "BTCUSDT", "0.0009", BybitRefused)
    with pytest.raises(co.OrderRefused, match=r"quantity 101 above the maximum 100 of BTCUSDT"):
        co.step_qty(D("101"), D("1"), D("1"), D("100"), "o", "BTCUSDT", "101")
    assert co.step_qty(D("1e6"), D("1"), D("1"), D("0"), "o", "X", "1e6") == D("1e6")  # max 0: none


@pytest.mark.parametrize("value", [None, "abc", "-1", "0", "NaN", "Infinity"])
def test_positive_refuses(value: Any) -> None:
    with pytest.raises(BinanceRefused, match=rf"^order c: qty: must be a positive decimal string, got {value!r}"):
        co.positive({"qty": value}, "qty", "order c", BinanceRefused)


def test_check_submit() -> None:
    cmd = {"op": "submit", "kind": "limit", "side": "sell"}
    assert co.check_submit(cmd, "o", "V", ("market", "limit")) == ("limit", "sell")
    for bad, why in (({"op": "cancel"}, "op 'cancel' is not a submit"),
                     ({"kind": "bracket"}, "order lists .* not sent to V: trader's order manager emulates them"),
                     ({"list": [1]}, "order lists"),
                     ({"kind": "stop_market"}, "no stops here"),
                     ({"kind": "iceberg"}, r"kind 'iceberg' is not supported on V \(known: market, limit\)"),
                     ({"side": "long"}, "side must be 'buy' or 'sell', got 'long'")):
        with pytest.raises(co.OrderRefused, match=f"^o: {why}"):
            co.check_submit(cmd | bad, "o", "V", ("market", "limit"), refusals={"stop_market": "no stops here"})
    # a venue's refusal class subclasses the shared one
    assert issubclass(BinanceRefused, co.OrderRefused) and issubclass(BybitRefused, InvalidInputError)


def test_check_tif_and_symbol() -> None:
    assert co.check_tif({}, "o", ("GTC", "IOC")) == "GTC"
    with pytest.raises(co.OrderRefused, match="^o: DAY is not here$"):
        co.check_tif({"tif": "DAY"}, "o", ("GTC",), missing={"DAY": "DAY is not here"})
    with pytest.raises(co.OrderRefused, match="^o: time in force 'GTX' is not one of GTC, IOC$"):
        co.check_tif({"tif": "GTX"}, "o", ("GTC", "IOC"))
    assert co.trading_symbol({"symbol": "btcusdt"}, "o", "", "Trading", "Trading") == "BTCUSDT"
    assert co.trading_symbol({}, "o", "ethusdt", None, "Trading") == "ETHUSDT"
    with pytest.raises(co.OrderRefused, match="^o: symbol missing$"):
        co.trading_symbol({}, "o", "", None, "Trading")
    with pytest.raises(co.OrderRefused, match=r"^o: BTCUSDT is not trading \(status BREAK\)$"):
        co.trading_symbol({}, "o", "BTCUSDT", "BREAK", "TRADING")


# ---- config checks --------------------------------------------------------------------------------


class _Cfg:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def test_config_checks() -> None:
    cc.check_positive("v", _Cfg(a=1, b=0.5), "a", "b")
    for bad in (0, -1, True, "1"):
        with pytest.raises(InvalidInputError, match=rf"^v: a must be a number > 0, got {bad!r}$"):
            cc.check_positive("v", _Cfg(a=bad), "a")
    cc.check_non_negative("v", _Cfg(a=0), "a")
    with pytest.raises(InvalidInputError, match=r"^v: a must be a number >= 0, got -0.5$"):
        cc.check_non_negative("v", _Cfg(a=-0.5), "a")
    cc.check_recv_window("v", 60000)
    for window in (0, 60001, 5000.0, True):
        with pytest.raises(InvalidInputError, match=r"^v: recv_window must be an integer within \(0, 60000\] ms"):
            cc.check_recv_window("v", window)
    cc.check_backoff("v", Backoff(base_s=0.5, max_s=0.5))
    with pytest.raises(InvalidInputError, match=r"^v: backoff needs 0 < base_s <= max_s"):
        cc.check_backoff("v", Backoff(base_s=2.0, max_s=1.0))
    with pytest.raises(InvalidInputError, match=r"^v: ping \(20\) must be below stale \(20\)"):
        cc.check_ping("v", _Cfg(ping=20, stale=20), "ping", "stale")
    with pytest.raises(InvalidInputError, match=r"^okx: open_check_s must be a number >= 0, got -1"):
        OkxConfig(open_check_s=-1)


# ---- the REST client's plumbing -------------------------------------------------------------------


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t
        self.slept: list[float] = []

    def time(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.slept.append(round(s, 6))
        self.t += s


class _Unknown(OutcomeUnknown):
    venue = "test"


class _Rest(RestClient[Any, Any]):
    venue = "test"
    outcome_unknown = _Unknown
    withdrawn_error = Withdrawn
    stat_names = ("extra",)

    def __init__(self, clock: _Clock, answers: list[tuple[float, float]], url: str = "http://127.0.0.1:9") -> None:
        super().__init__(_Cfg(rest_url=url, request_timeout_s=1.0), None, time_fn=clock.time, sleep=clock.sleep)
        self.clock, self.answers = clock, answers

    async def server_time_ms(self) -> float:
        rtt_s, server_ms = self.answers.pop(0)
        self.clock.t += rtt_s  # the round trip
        return server_ms


def test_sync_time_takes_the_median_of_the_short_round_trips() -> None:
    clock = _Clock(1000.0)
    # round trips of 10 ms, 12 ms and 500 ms (a sample that waited: left out); the server 250 ms ahead,
    # then 260, then 900: offsets 250 and 260 count, their median 255
    rest = _Rest(clock, [(0.010, 1000_005 + 250), (0.012, 1000_016 + 260), (0.5, 1000_272 + 900)])
    assert asyncio.run(rest.sync_time()) == 255
    assert rest.server_ms() == int(clock.t * 1000) + 255
    assert rest.stats == {"requests": 0, "time_syncs": 1, "budget_waits": 0, "retry_after_waits": 0, "extra": 0,
                          "unknown": 0}


def test_reserve_waits_for_the_block_and_the_next_window() -> None:
    clock = _Clock(100.0)
    rest = _Rest(clock, [], url="http://reserve.test:1")
    b = Budget("w", 10, 10, "")
    b.roll(100.0)
    b.used = 9  # 9 + 1 > 10 x 0.9: wait for the window at 110 s (+ 0.05)
    rest.block_for(2.0)
    asyncio.run(rest.reserve([(b, 1)]))
    assert clock.slept == [2.0, 8.05] and b.used == 1 and b.window == 11
    assert (rest.stats["retry_after_waits"], rest.stats["budget_waits"]) == (1, 1)


def test_a_withdrawn_request_leaves_nothing_counted() -> None:
    clock = _Clock(100.0)
    rest = _Rest(clock, [], url="http://withdrawn.test:1")
    b = Budget("w", 10, 10, "")
    b.roll(100.0)
    b.used = 9
    calls = []

    def withdrawn() -> bool:
        calls.append(clock.t)
        return len(calls) > 2

    with pytest.raises(Withdrawn):
        asyncio.run(rest.reserve([(b, 1)], withdrawn))
    assert clock.slept == [0.25, 0.25] and b.used == 9  # asked every quarter second


def test_a_dropped_connection_is_an_unknown_outcome() -> None:
    async def go() -> None:
        rest = _Rest(_Clock(0.0), [])
        try:
            await rest.exchange("POST", "http://127.0.0.1:9/order", "{}", {}, "/order")
        finally:
            await rest.close()

    with pytest.raises(OutcomeUnknown, match=r"^test /order: outcome unknown: ClientConnectorError on POST$"):
        asyncio.run(go())
