"""Between a strategy's engine and a real venue's execution client.

The engine (a :class:`trader._core.LiveSession` built with ``venue="external"``) hands out the
commands that passed its risk engine and were written ahead to the store (``take_commands``);
the link gives each its client order id — deterministic, the one the store journaled
(:func:`trader.live.persist.client_order_id`) — and sends it through the client on the node's
asyncio loop, one task per command so a slow answer never blocks the engine. The client's
reports (msgspec structs named ``OrderAccepted``, ``OrderFilled``, ...) come back through
:meth:`VenueLink.on_report` and are applied to the engine at once (same loop, same thread);
anything the strategy sends in response leaves right after.

Reports the engine cannot take yet (a fill before its first market data) wait in
:attr:`VenueLink.held` and are applied after the next event (:meth:`retry_held`). Balance and
position updates are kept (:attr:`balances`, :attr:`positions`) for the status and the
reconciliation. An unknown outcome (a timeout or 5xx after sending) is counted and left to the
client, which resolves it by asking the venue, never by sending again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from trader.live.persist import _order_id, client_order_id

__all__ = ["VenueLink", "StrategyView"]

log = logging.getLogger("trader.live.venue")


class VenueLink:
    """The commands of ``session`` (strategy ``strategy_id``) to ``client``, its reports back."""

    def __init__(self, session: Any, strategy_id: str, client: Any = None) -> None:
        self.session = session
        self.strategy_id = strategy_id
        self.client = client
        self.held: list[Any] = []
        self.balances: dict[str, str] = {}
        self.positions: dict[str, tuple[str, str]] = {}
        self.counts = {"sent": 0, "reports": 0, "unknown": 0, "cancel_rejected": 0, "modify_rejected": 0,
                       "send_errors": 0, "foreign": 0}
        self._tasks: set[asyncio.Task[Any]] = set()

    def client_id(self, order_id: int) -> str:
        return client_order_id(self.strategy_id, order_id)

    # -- out ----------------------------------------------------------------------------------------
    def flush(self) -> int:
        """Send every command the engine has waiting; how many left."""
        if self.client is None:
            return 0
        cmds = self.session.take_commands()
        for cmd in cmds:
            cmd["client_id"] = self.client_id(int(cmd["order_id"]))
            if cmd["op"] == "modify":  # a venue's modify restates the order (Binance: side, qty, price)
                o = self.session.order(int(cmd["order_id"]))
                if o is not None:
                    cmd["side"] = str(o["side"]).lower()
                    cmd["kind"] = str(o["kind"]).lower()
            self.counts["sent"] += 1
            task = asyncio.ensure_future(self._send(cmd))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(cmds)

    async def _send(self, cmd: dict[str, Any]) -> None:
        try:
            await self.client.handle(cmd)
        except Exception as e:  # the client reports rejections itself; this is a bug or a refusal
            self.counts["send_errors"] += 1
            log.error("send failed", extra={"strategy": self.strategy_id, "op": cmd["op"], "client_id": cmd["client_id"],
                                            "error": type(e).__name__, "detail": str(e)})
            if cmd["op"] == "submit":
                self.session.report("rejected", int(cmd["order_id"]))
                self.flush()

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) for the commands on their way."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # -- in -----------------------------------------------------------------------------------------
    def on_report(self, r: Any) -> None:
        """Apply one report of the client to the engine (then send what the strategy answered)."""
        self.counts["reports"] += 1
        kind = type(r).__name__
        if kind == "BalanceUpdate":
            self.balances.update(r.balances)
            return
        if kind == "PositionUpdate":
            self.positions[r.symbol] = (r.qty, r.entry_price)
            return
        oid = _order_id(r.client_id, self.strategy_id)
        if oid is None:
            self.counts["foreign"] += 1  # another strategy's or a manual order: reconciliation's business
            return
        if kind == "OrderUnknown":
            self.counts["unknown"] += 1
            log.warning("outcome unknown", extra={"strategy": self.strategy_id, "client_id": r.client_id,
                                                  "detail": r.reason})
            return
        if kind in ("CancelRejected", "ModifyRejected"):  # the order is unchanged; the strategy hears of it
            what = "cancel_rejected" if kind == "CancelRejected" else "modify_rejected"
            self.counts[what] += 1
            log.info(kind, extra={"strategy": self.strategy_id, "client_id": r.client_id, "detail": r.reason})
            self.session.report(what, oid)
            self.flush()
            return
        if not self._apply(kind, oid, r):
            self.held.append(r)
        self.flush()

    def _apply(self, kind: str, oid: int, r: Any) -> bool:
        """Apply; False when the engine cannot take it yet (no market data)."""
        s = self.session
        if kind == "OrderFilled":
            if s.report("fill", oid, price=r.price, qty=r.qty, fee=r.fee, liquidity=r.liquidity, trade_id=r.trade_id):
                return True
            return not self._waiting_for_data()
        if kind == "OrderAccepted":
            s.report("accepted", oid)
        elif kind == "OrderRejected":
            log.info("rejected", extra={"strategy": self.strategy_id, "client_id": r.client_id, "code": r.code,
                                        "detail": r.reason})
            s.report("rejected", oid)
        elif kind == "OrderCanceled":
            s.report("canceled", oid, requested=True)
        elif kind == "OrderExpired":
            s.report("expired", oid)
        elif kind == "OrderTriggered":
            s.report("triggered", oid)
        elif kind == "OrderAmended":
            s.report("amended", oid, qty=r.qty, price=r.price)
        else:
            log.warning("unknown report", extra={"strategy": self.strategy_id, "report": kind})
        return True

    def _waiting_for_data(self) -> bool:
        st = self.session.status()
        return st.get("best_bid") is None and st.get("best_ask") is None

    def retry_held(self) -> None:
        """Apply the reports held back for want of market data (after an event)."""
        if not self.held:
            return
        held, self.held = self.held, []
        for r in held:
            oid = _order_id(r.client_id, self.strategy_id)
            if oid is not None and not self._apply(type(r).__name__, oid, r):
                self.held.append(r)
        self.flush()


class StrategyView:
    """A real venue's reconciliation answers (:class:`trader.live.reconcile.ReconcilingVenue`)
    narrowed to one strategy: its client order ids (``<strategy>-<n>``) only — the other
    strategies' orders and fills are theirs; orders no strategy of the node placed show in every
    strategy's view (reconciliation reports them as external). Positions and balances are the
    account's."""

    def __init__(self, client: Any, strategy_id: str) -> None:
        self.client = client
        self.strategy_id = strategy_id
        self.prefix = strategy_id + "-"

    def _ours(self, client_id: str) -> bool:
        return client_id.startswith(self.prefix) or "-" not in client_id or not client_id.split("-")[-1].isdigit()

    def mass_status(self, since_ts: int) -> Any:
        from trader.live.reconcile import MassStatus

        m = self.client.mass_status(since_ts)
        return MassStatus(open_orders=[o for o in m.open_orders if self._ours(o.client_id)],
                          fills=[f for f in m.fills if self._ours(f.client_id)], positions=m.positions,
                          balances=m.balances, ts=m.ts)

    def query_order(self, client_id: str) -> Any:
        return self.client.query_order(client_id)

    def order_fills(self, client_id: str) -> list[Any]:
        return self.client.order_fills(client_id)
