"""Fill models of the simulated venue, as plugins.

A fill model says how the venue turns orders into fills and what it assumes about the market.
Each one has a ``kind``:

- ``bars``, ``quotes``, ``l2``: the matching model for bar data, top-of-book ticks, L2 books;
- ``slippage``: how far a taker fill moves from the reference price;
- ``latency``: how long commands take to reach the venue;
- ``fees``: maker/taker fees.

The matching itself runs in Rust (``core-rs/src/venue``); a :class:`FillModel` is the named,
documented, validated configuration of one Rust model, and plugins may add presets of their own
(``@hookimpl def trader_fill_models(): return [FillModel(...)]``). On the command line a model
is chosen as ``NAME`` or ``NAME:key=value,key=value``, e.g. ``--slippage sqrt_impact:k=0.5``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from trader.exceptions import InvalidInputError

__all__ = ["FillModel", "ModelParam", "KINDS", "parse_spec", "resolve", "DEFAULTS"]

KINDS = ("bars", "quotes", "l2", "slippage", "latency", "fees")

#: The model of each kind used when none is chosen (today's behaviour: no latency, flat fees).
DEFAULTS = {"bars": "bars", "slippage": "fixed_bps", "latency": "no_latency", "fees": "flat"}


@dataclasses.dataclass(frozen=True)
class ModelParam:
    """One parameter: its default, its type, a check (returns an error text or None) and help."""

    default: Any
    type: type
    help: str
    check: Callable[[Any], str | None] | None = None


@dataclasses.dataclass(frozen=True)
class FillModel:
    """A named model of one kind, with its documented assumptions and parameters."""

    kind: str
    name: str
    description: str
    #: What the model assumes about the market (shown by ``trader plugins --verbose`` and docs).
    assumes: str
    params: Mapping[str, ModelParam] = dataclasses.field(default_factory=dict)
    #: The Rust model this configures (defaults to ``name``; presets point at a built-in model).
    model: str | None = None
    #: Fixed values a preset adds to the configuration.
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fill model {self.name!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    def config(self, **values: Any) -> dict[str, Any]:
        """The validated configuration handed to the engine: ``{"model": ..., **params}``."""
        label = f"{self.kind} model {self.name}"
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise InvalidInputError(f"{label}: unknown parameter {unknown[0]!r} (known: {known})")
        out: dict[str, Any] = {"model": self.model or self.name, **self.fixed}
        for key, p in self.params.items():
            v = values.get(key, p.default)
            if v is not None and not isinstance(v, p.type):
                try:
                    v = p.type(v)
                except (TypeError, ValueError):
                    raise InvalidInputError(f"{label}: {key} must be {p.type.__name__}, got {v!r}") from None
            if v is not None and p.check is not None:
                err = p.check(v)
                if err:
                    raise InvalidInputError(f"{label}: {key} {err}, got {v!r}")
            out[key] = v
        return out


def _value(text: str) -> Any:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name:k=v,k2=v2"`` → ``("name", {"k": v, "k2": v2})`` (numbers converted)."""
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InvalidInputError(f"model {spec!r}: expected key=value, got {item!r}")
        params[key.strip()] = _value(value.strip())
    return name.strip(), params


def resolve(kind: str, spec: str | Mapping[str, Any] | None, models: Mapping[str, FillModel] | None = None) -> dict[str, Any]:
    """The engine configuration for ``spec`` (a ``name:k=v`` text, a dict with ``model``, or None
    for the default) among the installed models of ``kind``."""
    if models is None:
        from trader.plugins import fill_models

        models = fill_models()
    if spec is None:
        name, params = DEFAULTS.get(kind, kind), {}
    elif isinstance(spec, str):
        name, params = parse_spec(spec)
    else:
        params = dict(spec)
        name = params.pop("model", None)
        if not isinstance(name, str):
            raise InvalidInputError(f"{kind} model: a dict needs a 'model' name, got {spec!r}")
    model = models.get(name)
    if model is None or model.kind != kind:
        known = sorted(m.name for m in models.values() if m.kind == kind)
        raise InvalidInputError(f"{kind} model: unknown model {name!r} (known: {', '.join(known) or 'none'})")
    return model.config(**params)
