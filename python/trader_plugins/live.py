"""The built-in live clients, registered like any third-party adapter: the data clients that need
no network (``synthetic``, the embedded default; ``replay`` of a recorded Binance WebSocket file)
and the paper execution client (``sim``: the Rust simulated venue behind the live feed)."""

from __future__ import annotations

from typing import Any

from trader import _core, hookimpl
from trader.exceptions import InvalidInputError


class SyntheticClient:
    name = "synthetic"
    description = "Seeded random walk of trades and quotes in real time (options: seed, rate, price, symbol)"
    OPTIONS = {"seed": int, "rate": float, "price": float, "symbol": str}

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float) -> Any:
        from trader.live.feeds import SyntheticFeed

        if paths:
            raise InvalidInputError(f"feed synthetic: takes options (seed=7,rate=20), not files: {paths[0]!r}")
        kw: dict[str, Any] = {}
        for k, v in options.items():
            if k not in self.OPTIONS:
                raise InvalidInputError(f"feed synthetic: unknown option {k!r} (known: {', '.join(self.OPTIONS)})")
            try:
                kw[k] = self.OPTIONS[k](v)
            except (TypeError, ValueError):
                raise InvalidInputError(f"feed synthetic: {k} must be {self.OPTIONS[k].__name__}, got {v!r}") from None
        if kw.get("seed", 0) < 0:
            raise InvalidInputError(f"feed synthetic: seed must be >= 0, got {kw['seed']}")
        return SyntheticFeed(**kw)


class ReplayClient:
    name = "replay"
    description = "Replay of recorded Binance WebSocket files at the recorded pace x --speed (or max)"

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float) -> Any:
        from trader.live.feeds import ReplayFeed

        if options:
            raise InvalidInputError(f"feed replay: takes files, no options: {next(iter(options))!r}")
        if not paths:
            raise InvalidInputError("feed replay: give the recording, replay:PATH")
        return ReplayFeed(paths, speed=speed)


class PaperClient:
    """Paper trading: the orders go to the Rust simulated venue — the backtests' matcher, fill
    models, fees, latency and account — matched against the live feed."""

    name = "sim"
    description = "Paper trading on the simulated venue (the backtests' matcher and account) behind the live feed"
    paper = True

    def session(self, strategy: Any, feed: Any, settings: dict[str, Any]) -> Any:
        return _core.LiveSession(strategy, mode=feed.mode, **settings)

    def reconciling_venue(self, session: Any, strategy_id: str) -> Any:
        """What reconciliation asks the venue (:class:`trader.live.reconcile.ReconcilingVenue`):
        the paper venue is the session's own simulated venue, restored from the store."""
        return PaperVenue(session, strategy_id)


class PaperVenue:
    """The paper venue's answers to reconciliation: its open orders, fills and position, and one
    order by client order id, read from the session's simulated venue.

    The simulated network is part of the paper venue: an order still on its way to the matcher
    (``submitted``) was restored with it and arrives as the session resumes, so reconciliation
    leaves such orders out on both sides (:attr:`restores_in_flight`)."""

    #: Orders in flight are restored with the venue (the node's reconciliation and in-flight
    #: check leave them alone).
    restores_in_flight = True

    def __init__(self, session: Any, strategy_id: str) -> None:
        self.session = session
        self.strategy_id = strategy_id

    def _order(self, o: dict[str, Any]) -> Any:
        from trader.live.persist import client_order_id
        from trader.live.reconcile import VenueOrder

        return VenueOrder(client_id=client_order_id(self.strategy_id, int(o["id"])), venue_order_id=str(o["id"]),
                          side=str(o["side"]).lower(), kind=str(o["kind"]).lower(),
                          price=None if o.get("price") is None else str(o["price"]), qty=str(o["qty"]),
                          filled=str(o.get("filled") or "0"),
                          avg_price=None if o.get("avg_price") is None else str(o["avg_price"]),
                          status=_VENUE_STATUS.get(str(o["status"]).lower(), str(o["status"]).lower()),
                          ts=int(o.get("ts") or 0))

    def _fill(self, f: dict[str, Any]) -> Any:
        from trader.live.persist import client_order_id
        from trader.live.reconcile import VenueFill

        return VenueFill(trade_id=str(f["trade_id"]), client_id=client_order_id(self.strategy_id, int(f["order_id"])),
                         venue_order_id=str(f["order_id"]), side=str(f["side"]).lower(), price=str(f["price"]), qty=str(f["qty"]),
                         fee=str(f["fee"]), fee_asset=str(f.get("fee_asset") or ""),
                         liquidity=str(f.get("liquidity") or ""), ts=int(f["ts"]))

    def mass_status(self, since_ts: int) -> Any:
        from trader.live.reconcile import MassStatus, VenuePosition

        pos = self.session.position()
        return MassStatus(open_orders=[self._order(o) for o in self.session.open_orders()
                                       if str(o["status"]).lower() not in _IN_FLIGHT],
                          fills=[self._fill(f) for f in self.session.fills_since(0) if int(f["ts"]) >= since_ts],
                          positions=[VenuePosition(instrument=str(pos["symbol"]), qty=str(pos["qty"]))],
                          balances={str(k): str(v) for k, v in self.session.balances().items()},
                          ts=int(self.session.clock))

    def query_order(self, client_id: str) -> Any:
        from trader.live.persist import _order_id

        oid = _order_id(client_id, self.strategy_id)
        o = None if oid is None else self.session.order(oid)
        return None if o is None or str(o["status"]).lower() in _IN_FLIGHT else self._order(o)

    def order_fills(self, client_id: str) -> list[Any]:
        from trader.live.persist import _order_id

        oid = _order_id(client_id, self.strategy_id)
        return [self._fill(f) for f in self.session.fills_since(0) if int(f["order_id"]) == oid]


#: The engine's statuses of an order on its way to the matcher (the simulated network).
_IN_FLIGHT = frozenset({"submitted", "initialized"})

#: The engine's order statuses as reconciliation names a venue's.
_VENUE_STATUS = {"accepted": "open", "triggered": "open", "submitted": "open", "initialized": "open",
                 "partially_filled": "partially_filled", "filled": "filled",
                 "canceled": "canceled", "cancelled": "canceled", "rejected": "rejected", "expired": "expired",
                 "denied": "rejected"}


@hookimpl
def trader_data_clients() -> list:
    return [SyntheticClient(), ReplayClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [PaperClient()]
