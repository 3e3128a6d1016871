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

A file without ``layers`` gets :data:`DEFAULT_LAYERS`; ``layers = []`` means none. Without any risk
configuration a backtest runs the structural checks only (instrument, precision, reduce-only, free
balance of a cash account) and no layer.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


def parse_rate(name: str, value: Any) -> dict[str, int] | None:
    """``{"capacity": n, "interval_ns": ns}`` from ``"COUNT/INTERVAL"`` (``"20/1s"``, ``"100/m"``)
    or a ``{count, interval}`` table; None for None."""
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"capacity", "interval_ns"}:
        # Already parsed (a RiskSettings being copied by merged()): validating is idempotent.
        count, interval_ns = value["capacity"], value["interval_ns"]
        if isinstance(count, bool) or not isinstance(count, int) or not (1 <= count < 2**32):
            raise InvalidInputError(f"{name}: the count must be a whole number >= 1, got {count!r}")
        if isinstance(interval_ns, bool) or not isinstance(interval_ns, int) or not (0 < interval_ns < 9e18):
            raise InvalidInputError(f"{name}: the interval must be a positive number of ns, got {interval_ns!r}")
        return {"capacity": count, "interval_ns": interval_ns}
    if isinstance(value, Mapping):
        count, interval = value.get("count"), value.get("interval", "1s")
    elif isinstance(value, str) and "/" in value:
        count, interval = value.split("/", 1)
        interval = interval.strip()
        if interval and interval[0].isalpha():
            interval = "1" + interval
    else:
        raise InvalidInputError(f"{name}: expected COUNT/INTERVAL such as 20/1s, got {value!r}")
    try:
        n = int(str(count).strip())
    except ValueError:
        raise InvalidInputError(f"{name}: the count must be a whole number, got {count!r}") from None
    if not (1 <= n < 2**32):
        raise InvalidInputError(f"{name}: the count must be >= 1, got {n}")
    return {"capacity": n, "interval_ns": parse_duration(name, interval)}


def _number(name: str, value: Any, kind: str) -> Any:
    """Validate one limit value of ``kind`` (positive, fraction, rate, bool); None passes."""
    if value is None:
        return None
    if kind == "rate":
        return parse_rate(name, value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name}: expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}: expected a number, got {value!r}") from None
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InvalidInputError(f"{name}: must be a number > 0, got {value!r}")
    if kind == "fraction" and v > 1:
        raise InvalidInputError(f"{name}: must be a fraction within (0, 1], got {value!r}")
    return v


def _unknown(where: str, keys: Sequence[str], known: Sequence[str]) -> None:
    bad = [k for k in keys if k not in known]
    if bad:
        raise InvalidInputError(f"{where}: unknown key {bad[0]!r} (known: {', '.join(known)})")


# ---- layers ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Param:
    """One layer parameter: default, kind (float, int, fraction, state, duration, estimator, ...),
    help, and an optional extra check returning an error text."""

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
        values = dict(values)
        for key, p in self.params.items():  # estimator parameters may sit beside it: estimator=garch,alpha=0.05
            if p.kind == "estimator":
                extra = {k: values.pop(k) for k in ("window", "alpha", "beta", "omega", "warmup") if k in values}
                if extra:
                    base = values.get(key, self.fixed.get(key, p.default))
                    table = dict(base) if isinstance(base, Mapping) else {"kind": base}
                    values[key] = {**table, **extra}
        _unknown(label, list(values), list(self.params))
        out: dict[str, Any] = {"kind": self.kind, "name": name or self.name}
        for key, p in self.params.items():
            v = values.get(key, self.fixed.get(key, p.default))
            out_key, v = _layer_value(f"{label}: {key}", key, p, v)
            out[out_key] = v
        return out


def _layer_value(where: str, key: str, p: Param, v: Any) -> tuple[str, Any]:
    if p.kind == "duration":
        return key + "_ns", None if v is None else parse_duration(where, v)
    if v is None:
        return key, None
    if p.kind == "state":
        if not isinstance(v, str) or v.lower() not in p.choices:
            raise InvalidInputError(f"{where}: must be one of {', '.join(p.choices)}, got {v!r}")
        return key, v.lower()
    if p.kind == "estimator":
        return key, _estimator(where, v)
    if p.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, float) and v.is_integer()):
            raise InvalidInputError(f"{where}: expected a whole number, got {v!r}")
        if int(v) < 0:
            raise InvalidInputError(f"{where}: must be >= 0, got {v!r}")
        return key, int(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise InvalidInputError(f"{where}: expected a number, got {v!r}")
    v = float(v)
    if p.kind == "fraction" and not (0 < v <= 1):
        raise InvalidInputError(f"{where}: must be a fraction within (0, 1], got {v!r}")
    if p.kind == "non_negative" and v < 0:
        raise InvalidInputError(f"{where}: must be >= 0, got {v!r}")
    if p.kind == "positive" and v <= 0:
        raise InvalidInputError(f"{where}: must be > 0, got {v!r}")
    if p.kind == "unit" and not (0 <= v <= 1):
        raise InvalidInputError(f"{where}: must be within [0, 1], got {v!r}")
    return key, v


def _estimator(where: str, v: Any) -> dict[str, Any]:
    """``"rolling"``, ``"garch"`` or a table ``{kind, window | alpha, beta, omega, warmup}`` (the
    parameters may also be given beside ``estimator`` in the layer's settings)."""
    if isinstance(v, str):
        v = {"kind": v.strip()}
    if not isinstance(v, Mapping):
        raise InvalidInputError(f"{where}: expected rolling or garch (or a table with kind), got {v!r}")
    kind = v.get("kind")
    if kind == "rolling":
        _unknown(where, [k for k in v if k != "kind"], ["window"])
        try:
            window = int(v.get("window", 1440))
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: window must be a whole number, got {v.get('window')!r}") from None
        if window < 2:
            raise InvalidInputError(f"{where}: window must be >= 2, got {window}")
        return {"kind": "rolling", "window": window}
    if kind == "garch":
        _unknown(where, [k for k in v if k != "kind"], ["alpha", "beta", "omega", "warmup"])
        try:
            alpha, beta = float(v.get("alpha", 0.05)), float(v.get("beta", 0.94))
            omega = None if v.get("omega") is None else float(v["omega"])
            warmup = int(v.get("warmup", 500))
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"{where}: {e}") from None
        if not (alpha >= 0 and beta >= 0 and alpha + beta < 1):
            raise InvalidInputError(f"{where}: GARCH needs alpha, beta >= 0 and alpha + beta < 1, got {alpha}, {beta}")
        if omega is not None and not omega > 0:
            raise InvalidInputError(f"{where}: omega must be > 0, got {omega}")
        if warmup < 2:
            raise InvalidInputError(f"{where}: warmup must be >= 2, got {warmup}")
        return {"kind": "garch", "alpha": alpha, "beta": beta, "omega": omega, "warmup": warmup}
    raise InvalidInputError(f"{where}: estimator kind must be rolling or garch, got {kind!r}")


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
        where = self.source
        _unknown(f"{where}: limits", list(self.limits), list(LIMIT_KEYS))
        for k, v in list(self.limits.items()):
            self.limits[k] = _number(f"{where}: {k}", v, LIMIT_KEYS[k][0])
        seen: dict[str, str] = {}
        for sym in self.instruments:
            if not isinstance(sym, str) or not sym.strip() or (sym != "*" and not canonical_symbol(sym)):
                raise InvalidInputError(f"{where}: instruments: expected a symbol such as BTCUSDT, got {sym!r}")
            key = sym if sym == "*" else canonical_symbol(sym)
            if key in seen:
                raise InvalidInputError(f"{where}: instruments: {seen[key]!r} and {sym!r} name the same instrument {key}")
            seen[key] = sym
        for sym, lim in self.instruments.items():
            if not isinstance(lim, Mapping):
                raise InvalidInputError(f"{where}: instruments.{sym}: expected a table of limits, got {lim!r}")
            _unknown(f"{where}: instruments.{sym}", list(lim), list(INSTRUMENT_LIMIT_KEYS))
            self.instruments[sym] = {k: _number(f"{where}: instruments.{sym}.{k}", v, INSTRUMENT_LIMIT_KEYS[k][0])
                                     for k, v in lim.items()}
        if not isinstance(self.bypass, bool):
            raise InvalidInputError(f"{where}: bypass: expected true or false, got {self.bypass!r}")
        if not isinstance(self.initial_state, str) or self.initial_state.lower() not in STATES:
            raise InvalidInputError(f"{where}: initial_state: must be one of {', '.join(STATES)}, got {self.initial_state!r}")
        self.initial_state = self.initial_state.lower()
        if self.layers is not None and (isinstance(self.layers, (str, bytes)) or not isinstance(self.layers, Sequence)):
            raise InvalidInputError(f"{where}: layers: expected a list of layer names or tables, got {self.layers!r}")

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
    p = Path(path)
    where = f"risk-config {p}"
    try:
        with p.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise InvalidInputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{where}: is a directory") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{where}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{where}: not a UTF-8 text file") from None
    risk = doc.get("risk", doc)
    if not isinstance(risk, Mapping):
        raise InvalidInputError(f"{where}: [risk] must be a table")
    _unknown(where, list(risk), ["bypass", "initial_state", "layers", "limits"])
    limits = dict(risk.get("limits", {}))
    instruments = limits.pop("instruments", {})
    if not isinstance(instruments, Mapping):
        raise InvalidInputError(f"{where}: limits.instruments must be a table of tables")
    return RiskSettings(limits=limits, instruments=dict(instruments), layers=risk.get("layers"),
                        bypass=risk.get("bypass", False), initial_state=risk.get("initial_state", "active"), source=where)


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
