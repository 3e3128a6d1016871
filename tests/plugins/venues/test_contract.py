"""The execution-client contract every venue adapter meets, run unchanged against each venue's
front of the local exchange: Binance (spot, USDⓈ-M), Bybit (spot, linear), OKX (SPOT, SWAP).

The client is built the way the node builds it: the venue plugin's ``client(options, credentials,
on_report)`` (``trader live --venue NAME:k=v``), driven by the engine's command dicts, judged by
its reports and by the exchange's own books (:meth:`trader.exchange.ExchangeHandle.books`, the
same truth whatever protocol the front speaks):

- a resting limit is accepted with the exchange's order id, then canceled;
- a market order's fills are the exchange's fills (price, quantity, fee), reported once each;
- a modify moves the order at the exchange (where the venue modifies in place; elsewhere it is
  refused and the order stays as it was);
- an order the exchange refuses is reported rejected with the venue's code;
- an order whose answer is lost (a 5xx after the exchange placed it) is settled by asking the
  venue, never by sending it again: the exchange holds it once;
- reconciliation (mass status, one order, its fills) answers what the exchange books;
- the secret (and OKX's passphrase) shows in no report, log line, ``repr`` or error;
- under every chaos mode the fronts share at once (dropped, stalled, duplicated and reordered
  stream messages, late, lost and 5xx answers, 429 bursts, a skewed clock, forced reconnects),
  hundreds of orders end as the exchange books them: each at the exchange once at most, each
  order's final status and fills as the exchange has them.

The venue-specific suites (tests/plugins/venues/<venue>/) cover each protocol's own rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from trader.exchange import ExchangeHandle, serve_in_thread
from trader.live.reconcile import MassStatus, VenueFill, VenueOrder
from trader.plugins import execution_clients
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.common.reports import (ModifyRejected, OrderAccepted, OrderAmended, OrderCanceled,
                                                  OrderExpired, OrderFilled, OrderRejected, OrderUnknown)

pytestmark = [pytest.mark.local_exchange, pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

FEED = {"seed": 11, "rate": 200, "symbol": "BTCUSDT", "price": 50000}


@dataclass(frozen=True)
class Kit:
    """One venue and market under the contract: ``options`` are the plugin's ``k=v`` options
    pointing at a running front; ``market`` is the exchange's market the books are read from."""

    venue: str
    market: str  # "spot" or "usdm"
    options: Callable[[ExchangeHandle], dict[str, Any]]
    label: str = ""  # the venue's name for the market (default: ``market``)
    #: extra fields of every submit command (e.g. a venue's instrument naming)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the venue changes a working order's price in place (Binance spot does not: refused, the
    #: order unchanged; the strategy cancels and places anew)
    modifies: bool = True

    @property
    def name(self) -> str:
        return f"{self.venue}-{self.label or self.market}"


def _binance(market: str) -> Callable[[ExchangeHandle], dict[str, Any]]:
    def options(h: ExchangeHandle) -> dict[str, Any]:
        out = {"market": market, "symbols": "BTCUSDT", "rest_url": h.base_url,
               "stream_url": h.stream_urls["spot" if market == "spot" else "usdm"]}
        if market == "spot":
            out["ws_api_url"] = h.stream_urls["ws_api"]
        return out
    return options


def _bybit(category: str) -> Callable[[ExchangeHandle], dict[str, Any]]:
    def options(h: ExchangeHandle) -> dict[str, Any]:
        return {"category": category, "symbols": "BTCUSDT", "rest_url": h.base_url,
                "ws_public_url": h.stream_urls[category], "ws_private_url": h.stream_urls["private"]}
    return options


def _okx(inst_type: str, inst_id: str) -> Callable[[ExchangeHandle], dict[str, Any]]:
    def options(h: ExchangeHandle) -> dict[str, Any]:
        return {"inst_type": inst_type, "symbols": inst_id, "rest_url": h.base_url,
                "ws_public_url": h.stream_urls["public"], "ws_private_url": h.stream_urls["private"]}
    return options


KITS = [
    Kit("binance", "spot", _binance("spot"), modifies=False),
    Kit("binance", "usdm", _binance("usdm")),
    Kit("bybit", "spot", _bybit("spot")),
    Kit("bybit", "usdm", _bybit("linear"), label="linear"),
    Kit("okx", "spot", _okx("SPOT", "BTC-USDT"), label="SPOT"),
    Kit("okx", "usdm", _okx("SWAP", "BTC-USDT-SWAP"), label="SWAP"),
]


@pytest.fixture(scope="module")
def fronts() -> Iterator[dict[str, ExchangeHandle]]:
    """One running front per venue, started when a test first needs it."""
    running: dict[str, Any] = {}
    handles: dict[str, ExchangeHandle] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, venue: str) -> ExchangeHandle:
            cm = serve_in_thread(venue=venue, feed_options=FEED, ping_interval=0.5)
            h = cm.__enter__()
            running[venue] = cm
            _wait_books(h)
            self[venue] = h
            return h

    lazy = Lazy()
    try:
        yield lazy
    finally:
        for cm in running.values():
            cm.__exit__(None, None, None)
        handles.clear()


def _wait_books(h: ExchangeHandle) -> None:
    import time

    deadline = time.monotonic() + 10
    while (None in h.top("spot") or None in h.top("usdm")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert None not in h.top("spot") and None not in h.top("usdm"), "the exchange's book never filled"


class Harness:
    """A client of ``kit``'s plugin against its front, with the reports it made."""

    _n = 0

    def __init__(self, kit: Kit, h: ExchangeHandle) -> None:
        self.kit, self.h = kit, h
        acct = h.accounts[0]
        self.key, self.secret, self.passphrase = acct["api_key"], acct["secret"], acct.get("passphrase")
        self.reports: list[Any] = []
        venue = execution_clients()[kit.venue]
        creds = Credentials(self.key, self.secret, self.passphrase) if self.passphrase else Credentials(self.key, self.secret)
        self.client = venue.client(kit.options(h), creds, self.reports.append)

    def cid(self, tag: str) -> str:
        Harness._n += 1
        return f"ct{tag}{Harness._n}x{id(self) % 100000}"

    def cmd(self, cid: str, kind: str, side: str, qty: str, **kw: Any) -> dict[str, Any]:
        c = {"op": "submit", "order_id": Harness._n, "client_id": cid, "symbol": "BTCUSDT", "side": side, "kind": kind,
             "qty": qty, "price": None, "trigger": None, "trail": None, "trail_type": None, "activation": None,
             "tif": "GTC", "expire_ns": None, "post_only": False, "reduce_only": False, **self.kit.extra}
        c.update(kw)
        return c

    def of(self, cid: str, typ: type) -> list[Any]:
        return [r for r in self.reports if isinstance(r, typ) and getattr(r, "client_id", None) == cid]

    def filled(self, cid: str) -> Decimal:
        return sum((Decimal(f.qty) for f in self.of(cid, OrderFilled)), Decimal(0))

    def market_done(self, cid: str, qty: str) -> bool:
        """A market order is done: filled, or what the book held filled and the rest expired."""
        return self.filled(cid) >= Decimal(qty) or bool(self.of(cid, OrderExpired) or self.of(cid, OrderCanceled))

    async def flatten(self, cid: str) -> None:
        """Sell what the market buy ``cid`` bought (the tests leave the account as they found it)."""
        qty = self.filled(cid)
        if qty:
            back = self.cid("flat")
            await self.client.handle(self.cmd(back, "market", "sell", str(qty)))
            await self.until(lambda: self.market_done(back, str(qty)))

    def books(self) -> dict[str, Any]:
        return self.h.books(self.key, self.kit.market)

    def booked(self, cid: str) -> list[dict[str, Any]]:
        return [o for o in self.books()["orders"] if o["clientOrderId"] == cid]

    def below(self) -> str:
        """A price far under the market: a buy there rests."""
        bid = Decimal(self.h.top(self.kit.market)[0] or "0")
        return str((bid * Decimal("0.9")).quantize(Decimal("0.1")))

    async def until(self, pred: Callable[[], bool], timeout: float = 15.0) -> None:
        for _ in range(int(timeout / 0.02)):
            if pred():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.kit.name}: condition not met in {timeout} s; reports: {self.reports[-8:]}")


def _run(kit: Kit, fronts: dict[str, ExchangeHandle], body: Callable[[Harness], Any]) -> Harness:
    hs = Harness(kit, fronts[kit.venue])

    async def main() -> None:
        await hs.client.start()
        try:
            await asyncio.wait_for(body(hs), 60)
        finally:
            await hs.client.close()

    asyncio.run(main())
    return hs


def _ids() -> list[Any]:
    return [pytest.param(k, id=k.name) for k in KITS]


@pytest.mark.parametrize("kit", _ids())
def test_a_resting_limit_is_accepted_then_canceled(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    async def body(hs: Harness) -> None:
        cid = hs.cid("rest")
        await hs.client.handle(hs.cmd(cid, "limit", "buy", "0.002", price=hs.below()))
        await hs.until(lambda: bool(hs.of(cid, OrderAccepted)))
        [booked] = hs.booked(cid)
        assert booked["status"] == "NEW"
        assert hs.of(cid, OrderAccepted)[0].venue_order_id == str(booked["orderId"])
        await hs.client.handle({"op": "cancel", "order_id": 0, "client_id": cid, "symbol": "BTCUSDT"})
        await hs.until(lambda: bool(hs.of(cid, OrderCanceled)))
        assert hs.booked(cid)[0]["status"] == "CANCELED"
        assert not hs.of(cid, OrderFilled)

    _run(kit, fronts, body)


@pytest.mark.parametrize("kit", _ids())
def test_a_market_orders_fills_are_the_exchanges(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    async def body(hs: Harness) -> None:
        cid = hs.cid("mkt")
        await hs.client.handle(hs.cmd(cid, "market", "buy", "0.003"))
        await hs.until(lambda: hs.market_done(cid, "0.003"))
        await asyncio.sleep(0.3)  # a repeated report would come now
        [booked] = hs.booked(cid)
        assert booked["status"] in ("FILLED", "EXPIRED") and Decimal(booked["executedQty"]) == hs.filled(cid) > 0
        theirs = sorted((Decimal(f["price"]), Decimal(f["qty"]), Decimal(f["commission"]))
                        for f in hs.books()["fills"] if f["orderId"] == booked["orderId"])
        ours = sorted((Decimal(f.price), Decimal(f.qty), Decimal(f.fee)) for f in hs.of(cid, OrderFilled))
        assert ours == theirs
        assert len({f.trade_id for f in hs.of(cid, OrderFilled)}) == len(ours)
        await hs.flatten(cid)

    _run(kit, fronts, body)


@pytest.mark.parametrize("kit", _ids())
def test_a_modify_moves_the_order_at_the_exchange(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    async def body(hs: Harness) -> None:
        cid = hs.cid("mod")
        price = Decimal(hs.below())
        await hs.client.handle(hs.cmd(cid, "limit", "buy", "0.002", price=str(price)))
        await hs.until(lambda: bool(hs.of(cid, OrderAccepted)))
        new = price - Decimal(100)
        await hs.client.handle({**hs.cmd(cid, "limit", "buy", "0.002", price=str(new)), "op": "modify"})
        if not kit.modifies:
            await hs.until(lambda: bool(hs.of(cid, ModifyRejected)))
            assert hs.of(cid, ModifyRejected)[0].reason
            [live] = hs.booked(cid)
            assert live["status"] == "NEW" and Decimal(live["price"]) == price
        else:
            await hs.until(lambda: bool(hs.of(cid, OrderAmended)))
            live = [o for o in hs.booked(cid) if o["status"] == "NEW"]
            assert live and Decimal(live[0]["price"]) == new
            assert Decimal(hs.of(cid, OrderAmended)[-1].price) == new
        await hs.client.handle({"op": "cancel", "order_id": 0, "client_id": cid, "symbol": "BTCUSDT"})
        await hs.until(lambda: bool(hs.of(cid, OrderCanceled)))

    _run(kit, fronts, body)


@pytest.mark.parametrize("kit", _ids())
def test_an_order_the_exchange_refuses_is_reported_rejected(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    async def body(hs: Harness) -> None:
        cid = hs.cid("big")
        # far more than the account holds: refused by the exchange (or by the adapter's own
        # check, code 0), never working
        await hs.client.handle(hs.cmd(cid, "limit", "buy", "900", price=hs.below()))
        await hs.until(lambda: bool(hs.of(cid, OrderRejected)))
        assert not hs.of(cid, OrderAccepted)
        assert not [o for o in hs.booked(cid) if o["status"] in ("NEW", "PARTIALLY_FILLED")]
        assert hs.of(cid, OrderRejected)[0].reason

    _run(kit, fronts, body)


@pytest.mark.parametrize("kit", _ids())
def test_a_lost_answer_is_settled_by_asking_never_by_sending_again(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    h = fronts[kit.venue]

    async def body(hs: Harness) -> None:
        cids = [hs.cid("lost") for _ in range(3)]
        h.set_chaos("ack_5xx=1.0")  # every order placed, every answer a 5xx
        try:
            for cid in cids:
                await hs.client.handle(hs.cmd(cid, "limit", "buy", "0.002", price=hs.below()))
            await hs.until(lambda: all(hs.of(c, OrderUnknown) for c in cids))
        finally:
            h.set_chaos(None)
        await hs.until(lambda: all(hs.of(c, OrderAccepted) for c in cids))
        for cid in cids:
            assert len(hs.booked(cid)) == 1, f"{cid} is at the exchange {len(hs.booked(cid))} times"
            await hs.client.handle({"op": "cancel", "order_id": 0, "client_id": cid, "symbol": "BTCUSDT"})
        await hs.until(lambda: all(hs.of(c, OrderCanceled) for c in cids))

    _run(kit, fronts, body)


@pytest.mark.parametrize("kit", _ids())
def test_reconciliation_answers_what_the_exchange_books(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    box: dict[str, Any] = {}

    async def body(hs: Harness) -> None:
        resting, filled = hs.cid("open"), hs.cid("done")
        box.update(resting=resting, filled=filled)
        await hs.client.handle(hs.cmd(resting, "limit", "buy", "0.002", price=hs.below()))
        await hs.client.handle(hs.cmd(filled, "market", "buy", "0.002"))
        await hs.until(lambda: bool(hs.of(resting, OrderAccepted)) and hs.market_done(filled, "0.002"))
        box["filled_qty"] = hs.filled(filled)
        box["since"] = min(r.ts for r in hs.reports if hasattr(r, "ts")) - 60_000_000_000

    hs = _run(kit, fronts, body)
    resting, filled = box["resting"], box["filled"]
    try:
        status = hs.client.mass_status(box["since"])
        assert isinstance(status, MassStatus)
        books = hs.books()
        open_booked = {o["clientOrderId"] for o in books["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")}
        assert {o.client_id for o in status.open_orders} == open_booked
        assert resting in open_booked
        q = hs.client.query_order(filled)
        [booked] = hs.booked(filled)
        assert isinstance(q, VenueOrder) and q.status == booked["status"].lower()
        assert Decimal(q.filled) == Decimal(booked["executedQty"]) == box["filled_qty"]
        fills = hs.client.order_fills(filled)
        assert all(isinstance(f, VenueFill) for f in fills)
        theirs = sorted((Decimal(f["price"]), Decimal(f["qty"])) for f in books["fills"] if f["orderId"] == booked["orderId"])
        assert sorted((Decimal(f.price), Decimal(f.qty)) for f in fills) == theirs
        # the mass status' fills (since before the orders) hold this order's, the same trades
        assert {f.trade_id for f in status.fills if f.client_id == filled} == {f.trade_id for f in fills}
        assert hs.client.query_order(hs.cid("never")) is None
    finally:
        async def tidy(hs: Harness) -> None:  # a fresh client: this one's loop is gone
            await hs.client.handle({"op": "cancel", "order_id": 0, "client_id": resting, "symbol": "BTCUSDT"})
            qty = box.get("filled_qty")
            if qty:
                back = hs.cid("flat")
                await hs.client.handle(hs.cmd(back, "market", "sell", str(qty)))
                await hs.until(lambda: hs.market_done(back, str(qty)))
        _run(kit, fronts, tidy)


@pytest.mark.parametrize("kit", _ids())
def test_the_secret_shows_nowhere(kit: Kit, fronts: dict[str, ExchangeHandle], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def body(hs: Harness) -> None:
        cid = hs.cid("sec")
        await hs.client.handle(hs.cmd(cid, "limit", "buy", "900", price=hs.below()))  # refused: an error path
        await hs.client.handle(hs.cmd(hs.cid("sec"), "limit", "buy", "0.002", price=hs.below()))
        await hs.until(lambda: bool(hs.of(cid, OrderRejected)))
        await hs.client.handle({"op": "cancel_all", "symbol": "BTCUSDT"})
        await asyncio.sleep(0.3)

    hs = _run(kit, fronts, body)
    seen = "\n".join([caplog.text, repr(hs.client), *(repr(r) for r in hs.reports)])
    for name, value in (("secret", hs.secret), ("passphrase", hs.passphrase)):
        if value:
            assert value not in seen, f"{kit.name}: the {name} shows"


#: Every chaos mode the three fronts share, at once (probabilities per message or request).
MIXED = ("drop=0.002,stall=0.001,dup=0.03,reorder=0.03,delay_ack=0.05,delay_ms=100,ack_5xx=0.02,timeout=0.01,"
         "timeout_s=0.5,burst429=0.003,burst_len=3,ban_s=1,skew_ms=700,disconnect=3s")
CHAOS_ORDERS = 300
_FINAL = {OrderCanceled: "CANCELED", OrderExpired: "EXPIRED", OrderRejected: "REJECTED"}


def _final(hs: Harness, cid: str, qty: Decimal) -> str | None:
    """The order's final status as the client reported it (None: not final yet)."""
    if hs.filled(cid) == qty:
        return "FILLED"
    for r in reversed(hs.reports):
        if getattr(r, "client_id", None) == cid and type(r) in _FINAL:
            return _FINAL[type(r)]
    return None


@pytest.mark.parametrize("kit", _ids())
def test_mixed_chaos_over_hundreds_of_orders_ends_as_the_exchange_books(kit: Kit, fronts: dict[str, ExchangeHandle]) -> None:
    h = fronts[kit.venue]
    sent: dict[str, Decimal] = {}

    async def body(hs: Harness) -> None:
        resting: list[str] = []
        h.set_chaos(MIXED)
        try:
            for i in range(CHAOS_ORDERS):
                cid = hs.cid("chaos")
                if i % 4 == 3:  # a market order, sides alternating: the position stays small
                    sent[cid] = Decimal("0.001")
                    cmd = hs.cmd(cid, "market", "buy" if i % 8 == 3 else "sell", "0.001")
                else:
                    sent[cid] = Decimal("0.002")
                    cmd = hs.cmd(cid, "limit", "buy", "0.002", price=hs.below())
                    resting.append(cid)
                asyncio.ensure_future(hs.client.handle(cmd))
                if len(resting) > 3:
                    asyncio.ensure_future(hs.client.handle(
                        {"op": "cancel", "order_id": 0, "client_id": resting.pop(0), "symbol": "BTCUSDT"}))
                await asyncio.sleep(0.01)
        finally:
            h.set_chaos(None)
        for cid in resting:
            await hs.client.handle({"op": "cancel", "order_id": 0, "client_id": cid, "symbol": "BTCUSDT"})
        await hs.until(lambda: all(_final(hs, c, q) is not None for c, q in sent.items()), timeout=45)

    hs = _run(kit, fronts, body)
    books = hs.books()
    by_cid: dict[str, list[dict[str, Any]]] = {}
    for o in books["orders"]:
        by_cid.setdefault(o["clientOrderId"], []).append(o)
    wrong = []
    for cid, qty in sent.items():
        at = by_cid.get(cid, [])
        ours = _final(hs, cid, qty)
        if len(at) > 1:
            wrong.append(f"{cid}: at the exchange {len(at)} times")
            continue
        if not at:  # refused before it left, or withdrawn: never working
            if ours not in ("REJECTED", "CANCELED") or hs.of(cid, OrderFilled):
                wrong.append(f"{cid}: not at the exchange, reported {ours}")
            continue
        theirs = at[0]["status"]
        if ours != theirs:
            wrong.append(f"{cid}: the exchange has it {theirs}, the client reported {ours}")
        booked = sorted((Decimal(f["price"]), Decimal(f["qty"])) for f in books["fills"] if f["orderId"] == at[0]["orderId"])
        reported = sorted((Decimal(f.price), Decimal(f.qty)) for f in hs.of(cid, OrderFilled))
        if booked != reported:
            wrong.append(f"{cid}: fills at the exchange {booked}, reported {reported}")
    assert not wrong, f"{kit.name}: {len(wrong)} of {len(sent)} orders differ:\n" + "\n".join(wrong[:20])
    chaos = h.stats()["chaos"]
    assert sum(chaos.values()) > 0, f"{kit.name}: no chaos happened: {chaos}"
    stats = h.stats()
    assert stats.get("418", 0) == stats.get("403", 0) == 0, f"{kit.name}: the client was banned: {stats}"
