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


@hookimpl
def trader_data_clients() -> list:
    return [SyntheticClient(), ReplayClient()]


@hookimpl
def trader_execution_clients() -> list:
    return [PaperClient()]
