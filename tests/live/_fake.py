"""A fake node for the control API's tests, and a control server run on a thread of its own."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from trader.exceptions import InvalidInputError
from trader.live.control import ControlServer
from trader.live.metrics import NodeMetrics
from trader.risk import STATES

TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    """A TCP port of 127.0.0.1 free a moment ago (for a process that must be given a port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeNode:
    """Keeps what the server asked of it; ``fail`` makes :meth:`status` raise (a node bug)."""

    def __init__(self) -> None:
        self.metrics = NodeMetrics()
        self.state = "active"
        self.ready: bool = True
        self.reason: str | None = None
        self.orders = ["o-1", "o-2", "o-3"]
        self.positions = {"BTCUSDT": 0.5, "ETHUSDT": 0.0}
        self.calls: list[tuple[str, ...]] = []
        self.fail = False

    def status(self) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("status exploded\nwith a second line")
        return {"state": self.state, "positions": dict(self.positions), "open_orders": list(self.orders),
                "cash": 10_000.0, "equity": 10_050.25, "pnl": 50.25, "streams": {"BTCUSDT.trades": {"lag": 0.012}}}

    def health(self) -> tuple[bool, str | None]:
        return self.ready, self.reason

    def set_state(self, state: str, reason: str) -> dict[str, Any]:
        if state.lower() not in STATES:
            raise InvalidInputError(f"state: unknown trading state {state!r}")
        if reason == "refused by the node":
            raise InvalidInputError("reason: refused by the node")
        previous, self.state = self.state, state.lower()
        self.calls.append(("set_state", self.state, reason))
        self.metrics.set_state(self.state)
        return {"state": self.state, "previous": previous}

    def cancel_all(self, reason: str) -> dict[str, Any]:
        n = len(self.orders)
        self.orders.clear()
        self.calls.append(("cancel_all", reason))
        return {"canceled": n}

    def flatten(self, reason: str) -> dict[str, Any]:
        ids = [f"flat-{symbol}" for symbol, qty in self.positions.items() if qty]
        self.positions = {symbol: 0.0 for symbol in self.positions}
        self.calls.append(("flatten", reason))
        return {"orders": ids}


class ServerThread:
    """A :class:`ControlServer` serving ``node`` from an event loop on a background thread (the
    node's calls run there). ``with ServerThread(node) as s: s.url``; leaving stops it."""

    def __init__(self, node: Any, token: str = TOKEN, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = ControlServer(node, host=host, port=port, token=token)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="control-server", daemon=True)
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.host = ""
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.host, self.port = self.loop.run_until_complete(self.server.start())
        except BaseException as e:  # reported to the test thread by __enter__
            self.error = e
            self.started.set()
            self.loop.close()
            return
        self.started.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.server.stop())
            self.loop.close()

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert self.started.wait(10), "the control server did not start within 10 s"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        assert not self.thread.is_alive(), "the control server did not stop within 10 s"
