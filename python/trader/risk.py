"""Risk: the limits of the pre-trade checks, the risk layers, and their configuration.

Every order — backtest and live — passes the Rust risk engine (``core-rs/src/risk``) before a
venue sees it: first the trading state (ACTIVE, REDUCING, PAUSED, HALTED, EMERGENCY), then the
pre-trade checks (instrument, precision, price band, notional, position, concentration, gross/net
exposure, leverage, free balance, rate limits, reduce-only), then the risk layers in their
configured order. A layer may veto or resize an order and may ask for a trading state; the engine's
state is the most severe of the manual state and every layer's wish. Each state change is an
event for the strategy (``Strategy.on_trading_state``) and an entry of the hash-chained audit log.

Layers are plugins (``@hookimpl def trader_risk_layers()``):

- a :class:`LayerType` configures one of the built-in Rust layers (drawdown guard, volatility
  targeting, fractional Kelly, confidence sizing, panic conditions, circuit breaker) — the built-in
  plugin ``trader_plugins.risk_layers`` provides one of each, and a plugin may add presets;
- a :class:`RiskLayer` subclass is a layer written in Python (called per order, so slower: keep it
  for rare orders or prototypes).

Configuration (``trader backtest --risk-config risk.toml``)::

    [risk]
    bypass = false                # skip every check and layer (written to the audit log)
    initial_state = "active"
    layers = ["drawdown", { use = "circuit_breaker", failure_threshold = 3 }, "panic"]

    [risk.limits]
    price_band_bps = 500          # fat-finger guard around the last price
    max_notional = 50000          # per order, quote currency
    max_leverage = 3              # gross exposure / equity
    submit_rate = "20/1s"         # token bucket: 20 per second of engine time
    [risk.limits.instruments.BTCUSDT]
    max_position = 2.5

The tables are decoded into msgspec Structs (``trader._config``, as the live node's configuration):
a bad key or value is one line naming the file, the key, the value and what was expected.
A file without ``layers`` gets :data:`DEFAULT_LAYERS`; ``layers = []`` means none. Without any risk
configuration a backtest runs the structural checks only (instrument, precision, reduce-only, free
balance of a cash account) and no layer.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from trader._config import ConfigError, Table, convert, prefixed, read_toml
from trader.exceptions import InvalidInputError
from trader.instruments import canonical_symbol

__all__ = [
    "RiskLayer",
    "LayerType",
    "Param",
    "RiskSettings",
    "STATES",
    "DEFAULT_LAYERS",
    "LIMIT_KEYS",
    "INSTRUMENT_LIMIT_KEYS",
    "load_risk_config",
    "parse_duration",
    "parse_rate",
    "verify_audit_file",
    "write_audit_log",
]

#: Trading states, least to most severe.
STATES = ("active", "reducing", "paused", "halted", "emergency")

#: The layers a risk configuration gets when it names none (``layers`` absent), in order.
DEFAULT_LAYERS = ("drawdown", "panic", "circuit_breaker")

#: Account-wide limits: key → (kind, help). Money in quote currency.
LIMIT_KEYS: dict[str, tuple[str, str]] = {
    "price_band_bps": ("positive", "fat-finger guard: a limit/trigger price this far (bps) from the last price is denied"),
    "max_notional": ("positive", "largest notional of one order (quote currency)"),
    "max_concentration": ("fraction", "largest |position + working orders| notional of one instrument, as a fraction of equity"),
    "max_gross_exposure": ("positive", "largest sum of |position notional| (quote currency)"),
    "max_net_exposure": ("positive", "largest |sum of signed position notional| (quote currency)"),
    "max_leverage": ("positive", "largest gross exposure / equity (the venue's cap)"),
    "submit_rate": ("rate", "token bucket for submits, \"COUNT/INTERVAL\" (e.g. \"20/1s\")"),
    "modify_rate": ("rate", "token bucket for modifies, \"COUNT/INTERVAL\""),
    "check_balance": ("bool", "deny buys a cash account cannot pay for after its working buys (default true)"),
}

#: Per-instrument limits (instrument units / quote currency).
INSTRUMENT_LIMIT_KEYS: dict[str, tuple[str, str]] = {
    "max_position": ("positive", "largest |position| counting working orders on the same side"),
    "max_qty": ("positive", "largest order quantity"),
    "min_price": ("positive", "smallest limit/trigger price"),
    "max_price": ("positive", "largest limit/trigger price"),
    "min_notional": ("positive", "smallest order notional"),
}

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ns|us|ms|s|m|h|d)?\s*$")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
            "d": 86_400_000_000_000}


def parse_duration(name: str, value: Any) -> int:
    """Nanoseconds from ``"500ms"``, ``"5s"``, ``"2m"``, ``"1h"``, ``"1d"`` or a number of seconds."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: expected a duration like 5s or 500ms, got {value!r}")
    if isinstance(value, (int, float)):
        ns = float(value) * 1e9
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        ns = float(m.group(1)) * _UNIT_NS[m.group(2) or "s"]
    else:
        raise InvalidInputError(f"{name}: expected a duration like 5s or 500ms, got {value!r}")
    if not (math.isfinite(ns) and 0 < ns < 9e18):
        raise InvalidInputError(f"{name}: must be a positive duration, got {value!r}")
    return int(round(ns))


class _Rate(Table):
    """A parsed rate: a token bucket of ``capacity`` tokens, refilled every ``interval_ns``."""

    capacity: Annotated[int, Meta(ge=1, lt=2**32)]
    interval_ns: Annotated[int, Meta(gt=0, lt=9 * 10**18)]


class _RateTable(Table):
    """A rate as written: ``{count, interval}`` (``"COUNT/INTERVAL"`` becomes one)."""

    count: Annotated[int, Meta(ge=1, lt=2**32)]
    interval: Any = "1s"


def parse_rate(name: str, value: Any) -> dict[str, int] | None:
    """``{"capacity": n, "interval_ns": ns}`` from ``"COUNT/INTERVAL"`` (``"20/1s"``, ``"100/m"``)
    or a ``{count, interval}`` table; None for None."""
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"capacity", "interval_ns"}:
        # Already parsed (a RiskSettings being copied by merged()): validating is idempotent.
        return msgspec.structs.asdict(convert(value, _Rate, prefixed(name)))
    if isinstance(value, str) and "/" in value:
        count, interval = (part.strip() for part in value.split("/", 1))
        value = {"count": count, "interval": "1" + interval if interval[:1].isalpha() else interval}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{name}: expected COUNT/INTERVAL such as 20/1s, got {value!r}")
    rate = convert(value, _RateTable, prefixed(name), strict=False)
    return {"capacity": rate.count, "interval_ns": parse_duration(name, rate.interval)}


# ---- configuration types (decoded with msgspec; trader._config words the errors) ---------------


class RollingEstimator(Table, tag_field="kind", tag="rolling"):
    """Volatility as the sample standard deviation of log returns over ``window`` bars."""

    window: Annotated[int, Meta(ge=2)] = 1440


class GarchEstimator(Table, tag_field="kind", tag="garch"):
    """GARCH(1,1) volatility (``omega`` None: from the sample variance), after ``warmup`` bars."""

    alpha: Annotated[float, Meta(ge=0)] = 0.05
    beta: Annotated[float, Meta(ge=0)] = 0.94
    omega: Annotated[float, Meta(gt=0)] | None = None
    warmup: Annotated[int, Meta(ge=2)] = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha + self.beta >= 1:
            raise ConfigError("beta", f"GARCH needs alpha + beta < 1, got {self.alpha:g} + {self.beta:g}")


#: The msgspec type of each kind of limit or layer parameter. Rates and durations are text parsed
#: afterwards (:func:`parse_rate`, :func:`parse_duration`); ``state`` is a Literal of the choices.
_KIND_TYPES: dict[str, Any] = {
    "positive": Annotated[float, Meta(gt=0)],
    "fraction": Annotated[float, Meta(gt=0, le=1)],
    "non_negative": Annotated[float, Meta(ge=0)],
    "unit": Annotated[float, Meta(ge=0, le=1)],
    "int": Annotated[int, Meta(ge=0)],
    "bool": bool,
    "rate": Any,
    "duration": Any,
    "estimator": RollingEstimator | GarchEstimator,
}


def _limit_type(kind: str, choices: Sequence[str] = ()) -> Any:
    """The type of a value of ``kind``, None allowed (not set, off); a kind this module does not
    know takes any finite number."""
    return (Literal[tuple(choices)] if kind == "state" else _KIND_TYPES.get(kind, float)) | None


def _table_type(name: str, kinds: Mapping[str, tuple[str, str]]) -> Any:
    """A Struct of optional keys, one per entry of ``kinds`` (key → (kind, help))."""
    return msgspec.defstruct(name, [(key, _limit_type(kind), None) for key, (kind, _) in kinds.items()], bases=(Table,))


_LIMITS = _table_type("Limits", LIMIT_KEYS)
_INSTRUMENT_LIMITS = _table_type("InstrumentLimits", INSTRUMENT_LIMIT_KEYS)


class _RiskTable(Table):
    """The ``[risk]`` table (``limits`` is checked by :class:`RiskSettings`)."""

    bypass: bool = False
    initial_state: Literal[STATES] = "active"  # type: ignore[valid-type]
    layers: list[Any] | None = None
    limits: dict[str, Any] = {}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# ---- layers ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Param:
    """One layer parameter: default, kind (fraction, positive, non_negative, unit, int, state,
    duration, estimator; another kind: any finite number), help, and for ``kind="state"`` the
    states allowed."""

    default: Any
    kind: str
    help: str
    #: For ``kind="state"``: the states allowed.
    choices: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class LayerType:
    """A named configuration of one built-in Rust risk layer (``kind``), with its parameters.

    ``config(**values)`` validates the values and returns the dict the engine takes; presets set
    ``fixed`` values or other defaults under another ``name``."""

    kind: str
    name: str
    description: str
    params: Mapping[str, Param] = dataclasses.field(default_factory=dict)
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    KINDS = ("drawdown", "vol_target", "kelly", "confidence", "panic", "circuit_breaker")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"risk layer {self.name!r}: kind must be one of {', '.join(self.KINDS)}, got {self.kind!r}")

    def config(self, name: str | None = None, **values: Any) -> dict[str, Any]:
        """The validated engine configuration ``{"kind", "name", **params}`` (durations in ns)."""
        label = f"risk layer {name or self.name}"
        given = {key: self.fixed.get(key, p.default) for key, p in self.params.items()}
        given.update(values)
        for key, p in self.params.items():
            if p.kind == "state":
                given[key] = _lower(given[key])
            if p.kind == "estimator":  # "garch", a table, and its parameters beside it: estimator=garch,alpha=0.05
                base = given[key]
                table = dict(base) if isinstance(base, Mapping) else {"kind": _lower(base).strip()} if isinstance(base, str) else base
                extra = {k: given.pop(k) for k in ("window", "alpha", "beta", "omega", "warmup") if k in given}
                given[key] = {**table, **extra} if extra else table
        fields = [(key, _limit_type(p.kind, p.choices)) for key, p in self.params.items()]
        checked = convert(given, msgspec.defstruct(self.kind, fields, bases=(Table,)),
                          prefixed(label), strict=False)
        out: dict[str, Any] = {"kind": self.kind, "name": name or self.name}
        for key, p in self.params.items():
            v = getattr(checked, key)
            if p.kind == "duration":
                out[key + "_ns"] = None if v is None else parse_duration(f"{label}: {key}", v)
            else:
                out[key] = msgspec.to_builtins(v) if isinstance(v, msgspec.Struct) else v
        return out


class RiskLayer:
    """Base class of a risk layer written in Python (a plugin returns the class or an instance).

    Every method is optional. The engine calls ``check`` for each new order, after the Rust
    checks and the layers before it:

    - ``check(order, account)`` returns None to pass, a float to resize the order to that quantity
      (instrument units; the engine rounds it down to the lot and checks it again), or a str to
      veto it (the text is the detail; the denial's code is ``layer_veto``);
    - ``on_bar(bar, account)`` and ``on_fill(fill, account)`` observe the run;
    - ``wish()`` returns None (no objection) or a trading state name the layer asks for;
    - ``explain()`` returns the layer's own words, with its numbers, for what it decided last (a
      str, or None): called only when they are needed — a veto or resize of an order, a trading
      state it asked for — and written into the denial's detail, the change's reason and the
      audit log. Without it, a veto's str (or the exception that vetoed) is the explanation.

    ``order`` = ``{id, instrument, side, type, qty, price, trigger, reduce_only}``;
    ``account`` = ``{ts, equity, cash, positions: {symbol: qty}, state}``. An exception in a layer
    denies the order (``layer_veto``) and is reported; it never stops the engine.
    """

    name: str = ""
    description: str = ""

    def check(self, order: dict[str, Any], account: dict[str, Any]) -> float | str | None:
        return None

    def on_bar(self, bar: dict[str, Any], account: dict[str, Any]) -> None:
        return None

    def on_fill(self, fill: dict[str, Any], account: dict[str, Any]) -> None:
        return None

    def wish(self) -> str | None:
        return None

    def explain(self) -> str | None:
        return None


def _layer_config(spec: Any, known: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The engine dict of one layer entry: a name, ``NAME:k=v,...`` or a table with ``use``."""
    values: dict[str, Any] = {}
    alias = None
    if isinstance(spec, str):
        name, _, rest = spec.partition(":")
        name = name.strip()
        for part in filter(None, (p.strip() for p in rest.split(","))):
            k, eq, v = part.partition("=")
            if not eq:
                raise InvalidInputError(f"{where}: expected key=value in {spec!r}")
            values[k.strip()] = _scalar(v.strip())
    elif isinstance(spec, Mapping):
        if "use" not in spec:
            raise InvalidInputError(f"{where}: a layer table needs `use = \"NAME\"` (the layer's plugin name)")
        name = str(spec["use"])
        alias = spec.get("name")
        values = {k: v for k, v in spec.items() if k not in ("use", "name")}
    else:
        raise InvalidInputError(f"{where}: expected a layer name or a table, got {spec!r}")
    if name not in known:
        raise InvalidInputError(f"{where}: unknown risk layer {name!r} (known: {', '.join(known) or 'none'})")
    layer = known[name]
    if isinstance(layer, LayerType):
        try:
            return layer.config(alias, **values)
        except InvalidInputError as e:
            raise InvalidInputError(f"{where}: {e}") from None
    obj = layer() if isinstance(layer, type) else layer
    if values:
        for k, v in values.items():
            if not hasattr(obj, k):
                raise InvalidInputError(f"{where}: risk layer {name}: unknown parameter {k!r}")
            setattr(obj, k, v)
    return {"kind": "python", "name": alias or getattr(obj, "name", name) or name, "layer": obj}


def _scalar(text: str) -> Any:
    """A CLI value: int, float, true/false, or the text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


# ---- settings ----------------------------------------------------------------------------------


@dataclasses.dataclass
class RiskSettings:
    """A risk configuration: limits, layers (names, ``NAME:k=v`` strings or tables), state, bypass.

    ``layers=None`` means :data:`DEFAULT_LAYERS`; ``[]`` means none."""

    limits: dict[str, Any] = dataclasses.field(default_factory=dict)
    instruments: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    layers: list[Any] | None = None
    bypass: bool = False
    initial_state: str = "active"
    #: Where it came from (for messages).
    source: str = "risk"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every value (the limits' types and bounds, symbols, state, layers' form) and
        normalize it: numbers as floats, rates parsed, the state in lower case."""
        where = self.source
        top = convert({"bypass": self.bypass, "initial_state": _lower(self.initial_state), "layers": self.layers}, _RiskTable,
                      prefixed(where))
        self.initial_state = top.initial_state
        limits = convert(self.limits, _LIMITS, prefixed(where, bare=f"{where}: limits"), strict=False)
        self.limits = {k: parse_rate(f"{where}: {k}", getattr(limits, k)) if LIMIT_KEYS[k][0] == "rate" else getattr(limits, k)
                       for k in self.limits}
        seen: dict[str, str] = {}
        for sym in self.instruments:
            if not isinstance(sym, str) or not sym.strip() or (sym != "*" and not canonical_symbol(sym)):
                raise InvalidInputError(f"{where}: instruments: expected a symbol such as BTCUSDT, got {sym!r}")
            key = sym if sym == "*" else canonical_symbol(sym)
            if key in seen:
                raise InvalidInputError(f"{where}: instruments: {seen[key]!r} and {sym!r} name the same instrument {key}")
            seen[key] = sym
        for sym, lim in self.instruments.items():
            checked = convert(lim, _INSTRUMENT_LIMITS, prefixed(f"{where}: instruments.{sym}", "."), strict=False)
            self.instruments[sym] = {k: getattr(checked, k) for k in lim}

    def layer_configs(self, known: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The engine dicts of the layers, in order (unknown names and bad parameters fail here)."""
        if known is None:
            from trader.plugins import risk_layers

            known = risk_layers()
        specs = list(DEFAULT_LAYERS) if self.layers is None else list(self.layers)
        out = [_layer_config(s, known, f"{self.source}: layers[{i}]") for i, s in enumerate(specs)]
        names = [c["name"] for c in out]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise InvalidInputError(f"{self.source}: layers: the name {dup!r} is used twice (give one a `name`)")
        return out

    def to_core(self, symbols: Sequence[str], known: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The dict ``trader._core.Backtest.configure_risk`` takes.

        Instruments are matched by their canonical id (:func:`trader.instruments.canonical_symbol`):
        limits written for ``BTCUSDT`` apply to the run's ``BTC_USDT``; a name that matches no
        instrument of the run is an error listing the run's instruments."""
        own: dict[str, dict[str, Any]] = {}
        for name, lim in self.instruments.items():
            if name == "*":
                continue
            match = next((s for s in symbols if canonical_symbol(s) == canonical_symbol(name)), None)
            if match is None:
                raise InvalidInputError(f"{self.source}: instruments: {name!r} is not traded in this run "
                                        f"(instruments: {', '.join(symbols) or 'none'})")
            own[match] = lim
        every = self.instruments.get("*", {})
        instruments = {s: {k: {**every, **own.get(s, {})}.get(k) for k in INSTRUMENT_LIMIT_KEYS}
                       for s in symbols if every or s in own}
        limits = {k: self.limits.get(k) for k in LIMIT_KEYS}
        if limits["check_balance"] is None:
            limits["check_balance"] = True
        limits["instruments"] = instruments
        return {"bypass": self.bypass, "initial_state": self.initial_state, "limits": limits,
                "layers": self.layer_configs(known)}

    def merged(self, *, limits: Mapping[str, Any] | None = None, layers: list[Any] | None = None,
               bypass: bool | None = None, source: str | None = None) -> RiskSettings:
        """A copy with CLI overrides: limits merged key by key (``instruments.SYM.key`` or
        ``max_position`` = every instrument), layers replaced, bypass set."""
        lim = dict(self.limits)
        inst = {k: dict(v) for k, v in self.instruments.items()}
        for key, v in (limits or {}).items():
            if key in INSTRUMENT_LIMIT_KEYS:
                inst.setdefault("*", {})[key] = v
            elif key.startswith("instruments."):
                sym, _, name = key[len("instruments."):].rpartition(".")
                if not sym or not name:
                    raise InvalidInputError(f"risk-limit: expected instruments.SYMBOL.KEY, got {key!r}")
                # The same instrument however it is written: BTC/USDT here overrides the file's BTCUSDT.
                same = next((s for s in inst if s != "*" and canonical_symbol(s) == canonical_symbol(sym)), sym)
                inst.setdefault(same, {})[name] = v
            else:
                lim[key] = v
        return RiskSettings(limits=lim, instruments=inst, layers=self.layers if layers is None else layers,
                            bypass=self.bypass if bypass is None else bypass, initial_state=self.initial_state,
                            source=source or self.source)


def load_risk_config(path: str | Path) -> RiskSettings:
    """Read a TOML risk configuration (the ``[risk]`` table, or the whole file when it has none).

    :raise InvalidInputError: naming the file and the bad key or value."""
    where = f"risk-config {Path(path)}"
    doc = read_toml(path, where)
    risk = doc.get("risk", doc)
    if not isinstance(risk, Mapping):
        raise InvalidInputError(f"{where}: [risk] must be a table")
    table = convert({**risk, "initial_state": _lower(risk.get("initial_state", "active"))}, _RiskTable, prefixed(where))
    limits = dict(table.limits)
    instruments = limits.pop("instruments", {})
    if not isinstance(instruments, Mapping):
        raise InvalidInputError(f"{where}: limits.instruments must be a table of tables")
    return RiskSettings(limits=limits, instruments=dict(instruments), layers=table.layers, bypass=table.bypass,
                        initial_state=table.initial_state, source=where)


# ---- audit log ---------------------------------------------------------------------------------


def write_audit_log(entries: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write the audit entries as JSON lines (one entry per line, keys as the engine gives them: a
    folded run of denials is one line with ``count``, ``last_ts`` and ``last_reason``)."""
    import json

    p = Path(path)
    with p.open("w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(dict(e), separators=(",", ":"), sort_keys=True) + "\n")
    return p


def verify_audit_file(path: str | Path, key: bytes | None = None) -> int:
    """Check an audit log written by :func:`write_audit_log`: every entry's hash, the chain and the
    final seal. Returns the number of entries.

    :raise InvalidInputError: naming the file, the line and the problem (edited, reordered,
        removed or truncated entries)."""
    import json

    from trader import _core

    p = Path(path)
    where = f"audit log {p}"
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidInputError(f"{where}: no such file") from None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{where}: cannot read it ({type(e).__name__})") from None
    entries = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            raise InvalidInputError(f"{where}: line {i}: empty line (entries are one JSON object per line)")
        try:
            e = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidInputError(f"{where}: line {i}: not JSON ({err.msg})") from None
        if not isinstance(e, dict):
            raise InvalidInputError(f"{where}: line {i}: expected a JSON object")
        entries.append(e)
    if not entries:
        raise InvalidInputError(f"{where}: empty (a sealed log has at least its seal entry)")
    try:
        _core.verify_audit(entries, key)
    except ValueError as e:
        raise InvalidInputError(f"{where}: {e}") from None
    return len(entries)
