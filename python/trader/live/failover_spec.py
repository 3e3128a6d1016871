"""``trader live --feed failover:...``: a :class:`trader.live.failover.FailoverFeed` from the
command line or the TOML ``feed`` key.

Syntax (``;`` between the parts, because a source's own options are separated by ``,``)::

    failover:primary=SPEC;backup=SPEC[;backup=SPEC...][;stale_ms=N][;healthy_s=S][;reconnect_s=S]

Each ``SPEC`` is a feed as ``--feed`` takes it (``bybit:category=linear,symbol=BTCUSDT``,
``okx:inst_type=SWAP,symbol=BTC-USDT-SWAP``, ``synthetic:seed=7``), of mode ``quotes`` (trades and
quotes: a replay or a data client of raw lines is refused when the feed is opened). The sources
go by their data client's name, numbered when one is used twice (``bybit``, ``bybit2``): that is
what the log, ``trader_feed_switches_total{from,to}`` and ``trader_feed_source_active{source}``
show. ``stale_ms``: a source silent that long is left (default: the feed's, 100 ms);
``healthy_s``: a preferred source delivering that long is taken back (1 s); ``reconnect_s``: a
broken source is opened again after that long (1 s). Example::

    trader live --feed "failover:primary=bybit:category=linear,symbol=BTCUSDT;backup=okx:inst_type=SWAP,symbol=BTC-USDT-SWAP;stale_ms=250"

In a TOML file the same text is the value of ``live.feed``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from trader._config import ConfigError, show

__all__ = ["FAILOVER_SYNTAX", "parse_failover", "open_failover"]

FAILOVER_SYNTAX = "failover:primary=SPEC;backup=SPEC[;backup=SPEC...][;stale_ms=N][;healthy_s=S][;reconnect_s=S]"

#: The failover's own options: name -> (FailoverFeed keyword, scale to seconds).
_OPTIONS = {"stale_ms": ("stale_after_s", 1e-3), "healthy_s": ("healthy_for_s", 1.0),
            "reconnect_s": ("reconnect_s", 1.0)}


def parse_failover(rest: str, spec: str) -> Any:
    """The part after ``failover:`` as a :class:`trader.live.config.FeedSpec` of kind
    ``failover`` (``sources``: the primary, then the backups; ``options``: the failover's own).

    :raise ConfigError: key ``feed``, naming the part and what was expected."""
    from trader.live.config import FeedSpec, parse_feed

    sources: list[Any] = []
    options: dict[str, int | float | str] = {}
    primary = False
    for part in filter(None, (p.strip() for p in rest.split(";"))):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not value:
            raise ConfigError("feed", f"expected key=value, got {show(part)} (in {show(spec)}; {FAILOVER_SYNTAX})")
        if key in ("primary", "backup"):
            if key == "primary":
                if primary:
                    raise ConfigError("feed", f"primary given twice (in {show(spec)})")
                primary = True
            inner = value.partition(":")[0].strip()
            if inner in ("failover", "replay"):
                why = "a failover cannot nest" if inner == "failover" else \
                    "a replay's raw lines carry their recorded times, not a time two sources share"
                raise ConfigError("feed", f"{key}: {show(value)}: {why} (in {show(spec)})")
            try:
                src = parse_feed(value)
            except ConfigError as e:
                raise ConfigError("feed", f"{key}: {e.problem} (in {show(spec)})") from None
            if key == "primary":
                sources.insert(0, src)
            else:
                sources.append(src)
        elif key in _OPTIONS:
            try:
                v = float(value)
            except ValueError:
                v = math.nan
            if not (math.isfinite(v) and (v > 0 if key != "healthy_s" else v >= 0)):
                bound = ">= 0" if key == "healthy_s" else "> 0"
                raise ConfigError("feed", f"{key}: expected a number {bound}, got {show(value)} (in {show(spec)})")
            options[key] = v
        else:
            raise ConfigError("feed", f"unknown part {show(key)}: expected primary, backup, "
                                      f"{', '.join(_OPTIONS)} (in {show(spec)}; {FAILOVER_SYNTAX})")
    if not primary:
        raise ConfigError("feed", f"no primary=SPEC (in {show(spec)}; {FAILOVER_SYNTAX})")
    if len(sources) < 2:
        raise ConfigError("feed", f"no backup=SPEC: a failover needs at least one backup (in {show(spec)})")
    return FeedSpec(kind="failover", options=options, sources=tuple(sources))


def open_failover(spec: Any, clients: dict[str, Any], *, speed: float = 1.0, metrics: Any = None) -> Any:
    """The :class:`trader.live.failover.FailoverFeed` of a parsed ``failover`` spec, its sources
    opened through their data clients (a client whose ``open`` takes ``end_on_disconnect`` is
    asked to report a lost connection at once, so that the failover sees it *down*).

    :raise InvalidInputError: an unknown data client, a bad source option, a source of raw lines."""
    from trader.exceptions import InvalidInputError
    from trader.live.failover import FailoverFeed, Source

    opened: list[Any] = []
    names: dict[str, int] = {}
    for i, src in enumerate(spec.sources):
        key = "primary" if i == 0 else f"backup {i}"
        client = clients.get(src.kind)
        if client is None:
            raise InvalidInputError(f"feed failover: {key}: unknown data client {src.kind!r} "
                                    f"(known: {', '.join(sorted(clients))})")
        kw: dict[str, Any] = {"speed": speed}
        if "end_on_disconnect" in inspect.signature(client.open).parameters:
            kw["end_on_disconnect"] = True
        feed = client.open(list(src.paths), dict(src.options), **kw)
        names[src.kind] = names.get(src.kind, 0) + 1
        name = src.kind if names[src.kind] == 1 else f"{src.kind}{names[src.kind]}"
        opened.append(Source(feed, name))
    kw = {_OPTIONS[k][0]: float(v) * _OPTIONS[k][1] for k, v in spec.options.items() if k in _OPTIONS}
    return FailoverFeed(opened[0], opened[1:], metrics=metrics, **kw)
