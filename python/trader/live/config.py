"""The live node's configuration: typed msgspec Structs from a TOML file and flags (flags win).

A file (``trader live --config live.toml``) holds a ``[live]`` table; the same file may hold the
``[risk]`` table of :mod:`trader.risk`, which the node then uses (``risk_config`` defaults to the
file itself when it has one)::

    [live]
    strategy = "l2_market_maker"          # a registered name, path/file.py:Class or pkg.mod:Class
    params = { qty = 0.01 }
    feed = "replay:data/btcusdt.jsonl.gz" # or "synthetic:seed=7,rate=200", or
                                          # "failover:primary=bybit:...;backup=okx:..." (failover_spec)
    speed = "max"                         # the recording's pace x speed, or as fast as it goes
    duration = "5m"
    control = "127.0.0.1:8765"

    [[live.strategies]]                   # several strategies on one feed, instead of strategy/params
    id = "tight"
    strategy = "l2_market_maker"
    params = { offset_ticks = 1 }

    [risk.limits]
    max_notional = 5000

Relative paths are relative to the working directory, as on the command line. Everything is
checked before the node starts: every error is one :class:`~trader.exceptions.InvalidInputError`
line naming the key (and the file when the value came from it), the value and what was expected,
e.g. ``config live.toml: live.speed: expected "max" or a number > 0, got "fast"`` or
``--control: expected HOST:PORT with a port 0..65535, got "localhost:99999"``.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from trader._config import ConfigError, Label, check_finite, convert, expected, prefixed, read_toml, show
from trader.exceptions import InvalidInputError
from trader.live.control import default_state_dir
from trader.inputs import MAX_CASH, MAX_LEVERAGE

__all__ = ["FeedSpec", "LiveConfig", "StrategyEntry", "SyntheticOptions", "load_live_config", "parse_control", "parse_feed"]

#: A strategy's parameters as written: ``-p key=value`` flags stay strings (the strategy's own
#: ``Param`` declarations convert them), a file's values keep their TOML type.
Params = dict[str, str | int | float | bool]

_STRATEGY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HOST_PORT = re.compile(r"\[(?P<v6>[^\[\]]+)\]:(?P<p6>\d{1,5})|(?P<host>[^:\[\]]+):(?P<port>\d{1,5})")
_STRATEGY_SYNTAX = "a strategy name, path/file.py:Class or package.module:Class"


def _check_strategy(key: str, spec: str) -> None:
    """The syntax of a strategy spec (a registered name is looked up when the node starts); a
    ``file.py`` must exist."""
    from trader.plugins import is_strategy_spec

    if not spec.strip():
        raise ConfigError(key, expected(_STRATEGY_SYNTAX, spec))
    if not is_strategy_spec(spec):
        return
    target, sep, name = spec.rpartition(":")
    if not sep:
        target, name = spec, ""
    target, name = target.strip(), name.strip()
    if target.lower().endswith(".py") or "/" in target or os.sep in target:
        if not os.path.isfile(target):
            raise ConfigError(key, f"{target}: no such file (in {show(spec)})")
        if sep and not name.isidentifier():
            raise ConfigError(key, expected("path/file.py:ClassName", spec))
    elif not (name.isidentifier() and all(part.isidentifier() for part in target.split("."))):
        raise ConfigError(key, expected(_STRATEGY_SYNTAX, spec))


class StrategyEntry(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One strategy of a node: its id (1 to 32 of ``A-Z a-z 0-9 _ -``; orders, accounts and the
    summary are kept per id), the strategy spec and its parameters."""

    id: str
    strategy: str
    params: Params = {}

    def __post_init__(self) -> None:
        if not _STRATEGY_ID.fullmatch(self.id):
            raise ConfigError("id", expected("1 to 32 letters, digits, _ or -", self.id))
        _check_strategy("strategy", self.strategy)


class SyntheticOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The options of ``--feed synthetic:k=v,...`` (None: the feed's default)."""

    seed: Annotated[int, Meta(ge=0)] | None = None
    #: Events per second.
    rate: Annotated[float, Meta(gt=0, le=1e6)] | None = None
    #: The first price.
    price: Annotated[float, Meta(gt=0)] | None = None
    symbol: Annotated[str, Meta(min_length=1)] | None = None


class FeedSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed ``feed``: ``kind`` synthetic (``options``: the :class:`SyntheticOptions` given, typed),
    replay (``paths``: the recordings, in order), or the name of a data client a plugin provides
    (``options``: its ``k=v`` pairs as strings, checked by the client)."""

    kind: str
    paths: tuple[str, ...] = ()
    options: dict[str, int | float | str] = {}
    #: kind ``failover``: the primary, then the backups (:mod:`trader.live.failover_spec`).
    sources: tuple[FeedSpec, ...] = ()


_FEED_SYNTAX = "synthetic[:seed=N,rate=R,price=P,symbol=S] or replay:PATH[,PATH...]"


def parse_feed(spec: str) -> FeedSpec:
    """``synthetic``, ``synthetic:seed=7,rate=200`` or ``replay:PATH[,PATH...]`` (each file must
    exist; a path cannot contain a comma).

    :raise ConfigError: key ``feed``, naming the value and what was expected."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if kind == "failover":  # failover:primary=SPEC;backup=SPEC[;...] (trader.live.failover_spec)
        from trader.live.failover_spec import parse_failover

        return parse_failover(rest, spec)  # type: ignore[no-any-return]
    if kind == "replay":
        paths = tuple(p.strip() for p in rest.split(","))
        if not rest.strip() or not all(paths):
            raise ConfigError("feed", expected("replay:PATH[,PATH...]", spec))
        for p in paths:
            if not os.path.isfile(p):
                raise ConfigError("feed", f"{p}: no such file" + (" (a directory)" if os.path.isdir(p) else "")
                                  + f" (in {show(spec)})")
        return FeedSpec(kind="replay", paths=paths)
    if kind != "synthetic":
        from trader.plugins import data_clients

        if not kind or kind not in (found := data_clients()):
            others = sorted(set(found) - {"synthetic", "replay"})
            raise ConfigError("feed", expected(_FEED_SYNTAX + "".join(f" or {o}[:k=v,...]" for o in others)
                                               + " or failover:primary=SPEC;backup=SPEC", spec))
    given: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        k, eq, v = item.partition("=")
        if not eq or not k.strip():
            raise ConfigError("feed", f"expected key=value, got {show(item)} (in {show(spec)})")
        given[k.strip()] = v.strip()
    if kind != "synthetic":
        return FeedSpec(kind=kind, options=dict(given))
    try:
        options = convert(given, SyntheticOptions, prefixed("synthetic option", " ", "synthetic options"), strict=False)
    except InvalidInputError as e:
        raise ConfigError("feed", f"{e} (in {show(spec)})") from None
    return FeedSpec(kind="synthetic", options={k: getattr(options, k) for k in given})


def parse_venue(spec: str) -> tuple[str, dict[str, str]]:
    """``sim`` or ``NAME[:k=v,...]`` (a venue plugin's options, checked by its client).

    :raise ConfigError: key ``venue``, naming the value and what was expected."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if not kind or not kind.replace("_", "").isalnum():
        raise ConfigError("venue", expected("sim or NAME[:k=v,...]", spec))
    if kind == "sim" and rest.strip():
        raise ConfigError("venue", f"the sim venue takes no options, got {show(rest)}")
    given: dict[str, str] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        k, eq, v = item.partition("=")
        if not eq or not k.strip():
            raise ConfigError("venue", f"expected key=value, got {show(item)} (in {show(spec)})")
        given[k.strip()] = v.strip()
    return kind, given


def parse_control(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) → ``(host, port)``; port 0 = a free port.

    :raise ConfigError: key ``control``."""
    m = _HOST_PORT.fullmatch(text.strip())
    port = int(m.group("p6") or m.group("port")) if m else -1
    if m is None or not 0 <= port <= 65535 or not (m.group("v6") or m.group("host")).strip():
        raise ConfigError("control", expected("HOST:PORT with a port 0..65535", text))
    return (m.group("v6") or m.group("host")).strip(), port


def _speed(value: str) -> float:
    if value.strip().lower() == "max":
        return math.inf
    try:
        return float(value)
    except ValueError:
        raise ConfigError("speed", expected('"max" or a number > 0', value)) from None


def _seconds(key: str) -> Callable[[str], float]:
    def parse(value: str) -> float:
        from trader.risk import parse_duration

        try:
            return parse_duration(key, value) / 1e9
        except InvalidInputError:
            raise ConfigError(key, expected("seconds > 0 or a duration like 90s, 5m, 1h", value)) from None

    return parse


#: Fields also written as text (flags, or TOML strings): parsed before the types are checked.
_TEXT: dict[str, Callable[[str], float]] = {
    "speed": _speed,
    "duration": _seconds("duration"),
    "stop_timeout": _seconds("stop_timeout"),
    "watchdog": _seconds("watchdog"),
    "inflight_timeout": _seconds("inflight_timeout"),
}


def _check_with(key: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, its InvalidInputError turned into a ConfigError of ``key``."""
    try:
        return check(*args)
    except InvalidInputError as e:
        raise ConfigError(key, str(e).removeprefix(f"{key}: ")) from None


class LiveConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Everything ``trader live`` runs with. Build it with :func:`load_live_config` (or
    ``msgspec.convert``): decoding checks the types and bounds in the annotations, then
    ``__post_init__`` the rest. Constructed directly, only ``__post_init__``'s checks run.

    ``speed`` is a float: ``math.inf`` for ``"max"`` (:attr:`speed_max`). ``duration``,
    ``stop_timeout`` and ``watchdog`` are seconds (text such as ``"5m"`` is accepted).
    ``market`` is stored canonical (usdm, spot, cm)."""

    #: A registered strategy name, ``path/file.py:Class`` or ``package.module:Class``.
    strategy: str = "l2_market_maker"
    params: Params = {}
    #: Several strategies in one node; empty: one, ``strategy``/``params`` with id "main".
    strategies: list[StrategyEntry] = []
    #: Paper trading (the simulated venue) or a real venue. None: paper with the ``sim`` venue,
    #: real with any other (``venue = "binance"`` trades on Binance).
    paper: bool | None = None
    #: The execution client, ``NAME[:k=v,...]`` (:attr:`venue_spec`): ``sim`` (paper), or a venue
    #: plugin's (``binance:market=usdm,symbols=BTCUSDT``; URLs such as ``rest_url=`` point it at
    #: a testnet or the local exchange).
    venue: Annotated[str, Meta(min_length=1)] = "sim"
    #: ``synthetic[:k=v,...]``, ``replay:PATH[,PATH...]`` or a data client's ``NAME[:k=v,...]``
    #: (:attr:`feed_spec`). None: the real venue's own market data (its data client, same
    #: options), else ``synthetic``.
    feed: str | None = None
    #: A real venue's API key and secret: a TOML file (``api_key``, ``secret``) only its user can
    #: read. None: the venue's environment variables (Binance: BINANCE_API_KEY, BINANCE_API_SECRET).
    credentials: str | None = None
    #: The real venue's test network (Binance's testnet) instead of production.
    testnet: bool = False
    #: A replay's pace: the recorded pace x speed; ``math.inf`` = as fast as the node goes.
    speed: Annotated[float, Meta(gt=0)] = 1.0
    #: The node's folder (control token, logs, the SQLite store); created by the node. An existing
    #: one is resumed: its store is rebuilt, reconciled and the feed resumes after its last event.
    #: Default: ``$TRADER_STATE_DIR``, else ``trader/live`` under the user's data directory
    #: (:func:`trader.live.control.default_state_dir`).
    state: Annotated[str, Meta(min_length=1)] = msgspec.field(default_factory=lambda: default_state_dir())
    #: Where orders, fills, positions, risk and strategy state persist: None = SQLite in the state
    #: folder (``store.sqlite3``, ``journal.sqlite3``); or a ``postgresql://`` URL.
    store: str | None = None
    #: Persist (write-ahead of commands, batches, checkpoints). Off: nothing survives a crash.
    persist: bool = True
    #: SQLite durability: ``normal`` survives a killed process (WAL, no fsync per commit); ``full``
    #: also a power cut (fsync at every commit).
    store_sync: Literal["normal", "full"] = "normal"
    #: A batch (events, fills, positions, state, checkpoint) is written at most this often, ms.
    flush_ms: Annotated[float, Meta(ge=0, le=60_000)] = 200.0
    #: On restart, a position that still differs from the venue's after reconciliation: halt
    #: (false) or take the venue's (true), audited either way.
    adopt_position: bool = False
    #: Orders stuck submitted / pending cancel / pending modify this long (seconds) are queried
    #: at the venue and resolved (the in-flight check).
    inflight_timeout: Annotated[float, Meta(gt=0, le=3600)] = 5.0
    #: HOST:PORT of the control API (:attr:`control_address`); port 0: a free one.
    control: str = "127.0.0.1:0"
    #: The control API's token; None: TRADER_CONTROL_TOKEN, or one written to the state folder.
    token_file: str | None = None
    #: Stop after this many seconds; None: run until stopped (a replay stops at its end).
    duration: Annotated[float, Meta(gt=0)] | None = None
    #: The final status as one JSON object on stdout.
    json: bool = False
    #: Write the fills to this .csv or .parquet file.
    fills_out: str | None = None
    #: Paper account: cash at the start, quote currency (None: the market's default, as in
    #: ``trader backtest-l2``: 10,000; 1 coin on coin-M).
    cash: Annotated[float, Meta(ge=0, le=MAX_CASH)] | None = None
    #: Binance market (usdm, spot, cm); None: detected from the feed.
    market: str | None = None
    #: Paper account kind; None: the market's (cash on spot, margin on futures).
    account: Literal["cash", "margin"] | None = None
    leverage: Annotated[float, Meta(ge=1, le=MAX_LEVERAGE)] = 1.0
    maker_fee_bps: Annotated[float, Meta(ge=-100, le=1000)] = 0.0
    taker_fee_bps: Annotated[float, Meta(ge=-100, le=1000)] = 0.0
    #: A latency fill model, NAME[:k=v,...] (``trader plugins``).
    latency: str | None = None
    #: A TOML risk configuration (``trader.risk``); defaults to the config file when it has [risk].
    risk_config: str | None = None
    #: Build bars of this interval (1m, 5s) from trades for on_bar.
    bar: str | None = None
    #: on_book is called every this many ms.
    elapse_ms: Annotated[float, Meta(gt=0, le=86_400_000)] = 100.0
    #: A graceful stop's bound, seconds.
    stop_timeout: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    #: Cancel working orders when stopping (else leave them).
    cancel_on_stop: bool = True
    #: A strategy callback or the loop stalled this long (seconds) moves the node to HALTED.
    watchdog: Annotated[float, Meta(gt=0, le=86400)] = 5.0
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: The rotating JSON log; None: ``<state>/node.log`` (:attr:`log_path`).
    log_file: str | None = None

    def __post_init__(self) -> None:
        from trader.l2 import MARKETS
        from trader.paths import check_output_file

        for key, parse in _TEXT.items():  # constructed directly with text: parsed as when decoded
            if isinstance(getattr(self, key), str):
                msgspec.structs.force_setattr(self, key, parse(getattr(self, key)))
        kind, options = parse_venue(self.venue)
        if self.paper is None:
            msgspec.structs.force_setattr(self, "paper", kind == "sim")
        if kind == "sim" and not self.paper:
            raise ConfigError("paper", "the sim venue is paper trading; give a real venue (venue = \"binance\")")
        if kind != "sim" and self.paper:
            raise ConfigError("paper", f"venue {kind} is a real venue; paper trading uses the sim venue "
                                       f"(--paper --feed {kind} trades on {kind}'s market data)")
        if self.testnet and kind == "sim":
            raise ConfigError("testnet", "the sim venue has no test network")
        if self.credentials is not None and not os.path.isfile(self.credentials):
            raise ConfigError("credentials", f"{show(self.credentials)}: no such file")
        if self.feed is None:
            from trader.plugins import data_clients

            feed = f"{kind}:" + ",".join(f"{k}={v}" for k, v in self.venue_options().items()) \
                if kind != "sim" and kind in data_clients() else "synthetic"
            msgspec.structs.force_setattr(self, "feed", feed.rstrip(":"))
        _check_strategy("strategy", self.strategy)
        if self.strategies:
            if self.params or self.strategy != "l2_market_maker":
                raise ConfigError("strategies", "give either strategy/params or [[live.strategies]], not both")
            ids = [e.id for e in self.strategies]
            dup = next((i for i in ids if ids.count(i) > 1), None)
            if dup is not None:
                raise ConfigError("strategies", f"expected unique ids, {show(dup)} is used twice")
        parse_feed(self.feed or "synthetic")
        parse_control(self.control)
        check_finite(self, skip=("speed",))  # speed: inf is "max"
        if self.store is not None and not self.store.startswith(("postgresql://", "postgres://")):
            raise ConfigError("store", expected("a postgresql:// URL (the default store is SQLite in the state folder)",
                                                re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", self.store)))
        if os.path.exists(self.state) and not os.path.isdir(self.state):
            raise ConfigError("state", f"{show(self.state)} is a file, expected a folder (it is created when missing)")
        if self.token_file is not None and not os.path.isfile(self.token_file):
            raise ConfigError("token_file", f"{show(self.token_file)}: "
                                            + ("is a directory, not a file" if os.path.isdir(self.token_file) else "no such file"))
        if self.fills_out is not None:
            _check_with("fills_out", check_output_file, self.fills_out, "fills_out", (".csv", ".parquet"))
        if self.log_file is not None and os.path.isdir(self.log_file):
            raise ConfigError("log_file", f"{show(self.log_file)} is a directory, expected a file")
        if self.market is not None:
            market = MARKETS.get(self.market.strip().lower())
            if market is None:
                raise ConfigError("market", expected("usdm, spot or cm", self.market))
            msgspec.structs.force_setattr(self, "market", market)
        account = self.account
        if account is None and self.market is not None:  # the market's default, as in backtest-l2
            account = "cash" if self.market == "spot" else "margin"
        if account == "cash" and self.leverage != 1:
            raise ConfigError("leverage", f"a cash account has no leverage (set account = \"margin\"), got {show(self.leverage)}")
        if self.latency is not None:
            from trader.fill_models import resolve

            _check_with("latency", resolve, "latency", self.latency)
        if self.bar is not None:
            from trader.data._time import parse_interval

            _check_with("bar", parse_interval, self.bar)
        if self.risk_config is not None:
            from trader.risk import load_risk_config

            if not os.path.isfile(self.risk_config):
                raise ConfigError("risk_config", f"{show(self.risk_config)}: no such file")
            load_risk_config(self.risk_config)  # its errors name the file and the key

    @property
    def venue_kind(self) -> str:
        """The execution client's name (``sim``, ``binance``)."""
        return parse_venue(self.venue)[0]

    def venue_options(self) -> dict[str, str]:
        """The real venue's ``k=v`` options, with ``market`` and ``testnet`` from their own keys
        when the venue text does not give them."""
        options = dict(parse_venue(self.venue)[1])
        if self.market is not None and "market" not in options:
            options["market"] = self.market
        if self.testnet and "testnet" not in options:
            options["testnet"] = "1"
        return options

    def entries(self) -> list[StrategyEntry]:
        """The node's strategies: ``strategies``, or the one of ``strategy``/``params`` (id "main")."""
        return list(self.strategies) or [StrategyEntry(id="main", strategy=self.strategy, params=dict(self.params))]

    @property
    def feed_spec(self) -> FeedSpec:
        """``feed`` parsed."""
        return parse_feed(self.feed or "synthetic")

    @property
    def control_address(self) -> tuple[str, int]:
        """``control`` as ``(host, port)``."""
        return parse_control(self.control)

    @property
    def speed_max(self) -> bool:
        """Whether a replay runs as fast as the node goes (``speed = "max"``)."""
        return math.isinf(self.speed)

    @property
    def log_path(self) -> str:
        """The log file: ``log_file``, or ``<state>/node.log``."""
        return self.log_file if self.log_file is not None else os.path.join(self.state, "node.log")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``speed`` "max" when unbounded, ``log_file`` resolved), for the
        node's status and ``--json``."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["speed"] = "max" if self.speed_max else self.speed
        out["log_file"] = self.log_path
        return out


#: Flags spelled otherwise than ``--`` + the key with dashes.
_FLAG_NAMES = {"params": "-p"}
_FIELDS = {f.name: f for f in msgspec.structs.fields(LiveConfig)}


def _flag(path: str) -> str:
    """The flag of a key path: ``speed`` → ``--speed``, ``params`` → ``-p``."""
    key, sep, rest = re.match(r"([^.\[]*)([.\[]?)(.*)", path).groups()  # type: ignore[union-attr]
    return _FLAG_NAMES.get(key, "--" + key.replace("_", "-")) + sep + rest if key else "flags"


def _flag_under(key: str, path: str) -> str:
    """The flag of a path relative to the value of ``key``."""
    return _flag(key + path if path.startswith("[") else f"{key}.{path}" if path else key)


def _parsed_text(key: str, value: Any, label: Label) -> Any:
    """``value`` of ``key`` with the text forms of :data:`_TEXT` parsed."""
    if key in _TEXT and isinstance(value, str):
        try:
            return _TEXT[key](value)
        except ConfigError as e:
            raise InvalidInputError(f"{label(e.key)}: {e.problem}") from None
    return value


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    """A config file's top level: ``[live]`` and, for ``trader.risk``, ``[risk]``."""

    live: dict[str, Any] = {}
    risk: dict[str, Any] | None = None


def load_live_config(path: str | os.PathLike[str] | None = None, flags: Mapping[str, Any] | None = None) -> LiveConfig:
    """The node's configuration: the ``[live]`` table of the TOML file at ``path`` (none, or no
    table: the defaults), then ``flags`` over it (keys are :class:`LiveConfig`'s fields; a value
    of None = not given; strings are accepted for numbers and booleans; ``params`` is a dict, the
    ``-p key=value`` pairs split at the first ``=``), validated.

    A file with a ``[risk]`` table is also the risk configuration unless ``risk_config`` is given.
    Flags ``strategy``/``params`` replace the file's ``[[live.strategies]]``.

    :raise InvalidInputError: one line naming the key (``config FILE: live.KEY`` when the value
        came from the file, ``--KEY`` from a flag), the value and what was expected."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = sorted(set(given) - set(_FIELDS))
    if unknown:
        raise InvalidInputError(f"flags: unknown key {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    from_flags: dict[str, Any] = {}
    for key, value in given.items():
        from_flags[key] = convert(_parsed_text(key, value, _flag), _FIELDS[key].type, functools.partial(_flag_under, key),
                                  strict=False)
    from_file: dict[str, Any] = {}
    file_label: Label = _flag
    if path is not None:
        where = f"config {os.fspath(path)}"
        doc = convert(read_toml(path, where), _Document, prefixed(where))
        file_label = prefixed(f"{where}: live", ".")
        from_file = {k: _parsed_text(k, v, file_label) for k, v in doc.live.items()}
        if doc.risk is not None and "risk_config" not in from_file:
            from_file["risk_config"] = os.fspath(path)
        if "strategies" in from_file and "strategies" not in from_flags and {"strategy", "params"} & set(from_flags):
            del from_file["strategies"]

    def label(p: str) -> str:
        key = re.split(r"[.\[]", p, maxsplit=1)[0]
        return _flag(p) if key in from_flags or path is None else file_label(p)

    return convert({**from_file, **from_flags}, LiveConfig, label)
