"""Typed configuration: msgspec Structs decoded from TOML tables and flags, every error one line.

The one mechanism behind ``trader.live.config`` and ``trader.risk``: a configuration is a
``msgspec.Struct`` whose annotations carry the types and bounds (``Annotated[float, Meta(gt=0)]``,
``Literal[...]``) and whose ``__post_init__`` checks the rest, raising :class:`ConfigError` with the
field's name. :func:`convert` decodes a mapping into it and turns msgspec's ``ValidationError``
(``Expected `float`, got `str` - at `$.live.speed```) into one :class:`InvalidInputError` line
naming the key, the value and what was expected, through a ``label`` function that writes the
key the way its source spells it (``config live.toml: live.speed``, ``--speed``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from trader.exceptions import InvalidInputError

__all__ = ["ConfigError", "Label", "Table", "check_finite", "convert", "describe", "expected", "prefixed", "read_toml", "show",
           "subpath"]

T = TypeVar("T")

#: Turns a key path inside the decoded value (``"speed"``, ``"strategies[1].id"``, ``""`` for the
#: value itself) into the prefix of an error line (``"config live.toml: live.speed"``).
Label = Callable[[str], str]


class ConfigError(ValueError):
    """A value outside its domain, raised by a Struct's ``__post_init__`` (or a parser it calls):
    ``key`` is the field, relative to the Struct; ``problem`` the rest of the line
    (``expected ..., got ...``: see :func:`expected`)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def show(value: Any) -> str:
    """A value as an error line shows it: strings in double quotes, TOML's true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (Mapping, list, tuple)):
        text = json.dumps(value, default=str, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)


def expected(what: str, value: Any) -> str:
    """``expected WHAT, got VALUE``."""
    return f"expected {what}, got {show(value)}"


def prefixed(top: str, sep: str = ": ", bare: str | None = None) -> Label:
    """The :data:`Label` ``top`` + ``sep`` + path (``bare``, default ``top``, for the value itself)."""
    return lambda path: f"{top}{sep}{path}" if path else top if bare is None else bare


def subpath(path: str, key: str) -> str:
    """``path`` + ``.key`` (``key`` alone at the top)."""
    return f"{path}.{key}" if path else key


def read_toml(path: str | os.PathLike[str], where: str) -> dict[str, Any]:
    """The TOML document at ``path``; a missing, unreadable or malformed file is one
    :class:`InvalidInputError` line starting with ``where`` (the line and column of a syntax error)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{where}: is a directory") from None
    except OSError as e:
        raise InvalidInputError(f"{where}: cannot read it ({e.strerror or type(e).__name__})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{where}: not a UTF-8 text file") from None
    try:
        doc = msgspec.toml.decode(text)
    except msgspec.DecodeError as e:
        raise InvalidInputError(f"{where}: not valid TOML: {e}") from None
    return dict(doc)


def convert(data: Any, type: type[T], label: Label, *, strict: bool = True) -> T:
    """``msgspec.convert(data, type)``; a failure is one :class:`InvalidInputError` line
    ``label(key): problem``. ``strict=False`` takes flags' strings for numbers and booleans."""
    try:
        return msgspec.convert(data, type, strict=strict)  # type: ignore[no-any-return]
    except msgspec.ValidationError as e:
        raise _translate(e, data, type, label) from None


_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_MISSING = object()


def _translate(err: msgspec.ValidationError, data: Any, type: Any, label: Label) -> InvalidInputError:
    m = _AT.match(str(err))
    text, path = (m.group(1), (m.group(2) or "").lstrip(".")) if m else (str(err), "")
    cause = err.__cause__
    if isinstance(cause, ConfigError):
        return InvalidInputError(f"{label(subpath(path, cause.key))}: {cause.problem}")
    if isinstance(cause, InvalidInputError):  # another loader's line: it names its own input
        return InvalidInputError(str(cause))
    if cause is not None:
        return InvalidInputError(f"{label(path)}: {cause}")
    in_values = "[...]" in path  # a mapping's value: msgspec does not say which key
    if in_values:
        path = path[: path.index("[...]")]
    info = _type_at(mi.type_info(type), data, path)
    value = _value_at(data, path)
    if u := re.match(r"Object contains unknown field `(.*)`$", text):
        struct = _member(info, value)
        known = [f.encode_name for f in struct.fields] if isinstance(struct, mi.StructType) else []
        return InvalidInputError(f"{label(path)}: unknown key {u.group(1)!r}"
                                 + (f" (known: {', '.join(known)})" if known else ""))
    if r := re.match(r"Object missing required field `(.*)`$", text):
        return InvalidInputError(f"{label(subpath(path, r.group(1)))}: missing (required)")
    if info is None or value is _MISSING:
        return InvalidInputError(f"{label(path)}: {text[:1].lower()}{text[1:]}")
    what = f"a table whose values are each {describe(info.value_type)}" if in_values and isinstance(info, mi.DictType) \
        else describe(info)
    return InvalidInputError(f"{label(path)}: {expected(what, value)}")


def _segments(path: str) -> list[str | int]:
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _SEGMENT.finditer("." + path if path else "")]


def _type_at(info: Any, data: Any, path: str) -> Any:
    """The msgspec type at ``path`` inside ``info``, the unions on the way resolved by ``data``."""
    for seg in _segments(path):
        tagged = _tagged(info)
        if tagged and seg == tagged[0].tag_field:  # the tag itself: msgspec says only "Invalid value"
            return mi.LiteralType(values=tuple(t.tag for t in tagged))
        info = _member(info, data)
        data = _step(data, seg)
        if isinstance(seg, str) and isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.encode_name == seg), None)
        elif isinstance(seg, int) and isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
            info = info.item_type
        elif isinstance(seg, str) and isinstance(info, mi.DictType):
            info = info.value_type
        else:
            return None
    return info


def _tagged(info: Any) -> list[Any]:
    """The tagged Structs of a union (``kind = "garch"`` picks one)."""
    types = info.types if isinstance(info, mi.UnionType) else ()
    return [t for t in types if isinstance(t, mi.StructType) and t.tag_field]


def _member(info: Any, data: Any) -> Any:
    """The member of a union that ``data`` is meant as: a tagged Struct by its tag, else the one
    container or Struct; a non-union type as it is."""
    if not isinstance(info, mi.UnionType):
        return info
    if tagged := _tagged(info):
        tag = data.get(tagged[0].tag_field) if isinstance(data, Mapping) else None
        return next((t for t in tagged if t.tag == tag), info)
    return next((t for t in info.types if not isinstance(t, (mi.NoneType, mi.LiteralType))), None)


def _step(data: Any, seg: str | int) -> Any:
    if isinstance(seg, int):
        return data[seg] if isinstance(data, (list, tuple)) and seg < len(data) else _MISSING
    if isinstance(data, Mapping):
        return data.get(seg, _MISSING)
    return getattr(data, seg, _MISSING)


def _value_at(data: Any, path: str) -> Any:
    for seg in _segments(path):
        data = _step(data, seg)
        if data is _MISSING:
            break
    return data


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def describe(info: Any) -> str:
    """What a msgspec type accepts, in words: ``a number > 0``, ``one of cash, margin``."""
    if isinstance(info, mi.UnionType):
        kinds = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if any(isinstance(t, mi.FloatType) for t in kinds):  # int and float: "a number" says both
            kinds = [t for t in kinds if not isinstance(t, mi.IntType)]
        words = list(dict.fromkeys(describe(t) for t in kinds))
        return " or ".join(words) if words else "nothing"
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(str(v) for v in info.values)
    if isinstance(info, (mi.FloatType, mi.IntType)):
        name = "a number" if isinstance(info, mi.FloatType) else "a whole number"
        if info.ge is not None and info.le is not None:
            return f"{name} within {_number(info.ge)}..{_number(info.le)}"
        bounds = [f"{op} {_number(v)}" for op, v in ((">", info.gt), (">=", info.ge), ("<", info.lt), ("<=", info.le))
                  if v is not None]
        return f"{name} {' and '.join(bounds)}" if bounds else name
    if isinstance(info, mi.StrType):
        if info.pattern:
            return f"a string matching {info.pattern}"
        return "a non-empty string" if info.min_length else "a string"
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return "a list of tables" if isinstance(info.item_type, mi.StructType) else "a list"
    if isinstance(info, (mi.DictType, mi.StructType, mi.TypedDictType, mi.DataclassType)):
        return "a table"
    return "a value"


def check_finite(obj: msgspec.Struct, skip: Collection[str] = ()) -> None:
    """Refuse a float field of ``obj`` that is inf or nan (TOML writes both; bounds in ``Meta``
    refuse nan but let inf through): :class:`ConfigError` naming the field."""
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if isinstance(value, float) and not math.isfinite(value) and name not in skip:
            raise ConfigError(name, expected("a finite number", value))


class Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of a configuration table: unknown keys are refused, numbers are finite. A subclass
    with a ``__post_init__`` of its own calls ``super().__post_init__()``."""

    def __post_init__(self) -> None:
        check_finite(self)
