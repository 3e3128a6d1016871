"""``--feed VENUE:k=v,...`` / ``--venue VENUE:k=v,...`` options as a venue's config, the same way for
every venue: each option is converted by its entry in the venue's table (unknown options and bad
values are refused naming the option), ``symbol`` is one of ``symbols``, list options are comma- or
plus-separated, and the config's own validation errors are re-raised naming where the options came
from (``feed bybit: ...``). A venue keeps only its table and its config class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from trader.exceptions import InvalidInputError

__all__ = ["parse_bool", "split_list", "config_from_options"]

C = TypeVar("C")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(v: Any) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (any case) as a bool.

    :raise ValueError: anything else (the option parser names the option)."""
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(v)


def split_list(text: str) -> tuple[str, ...]:
    """``"a,b"`` or ``"a+b"`` as ``("a", "b")`` (blanks around items and empty items dropped)."""
    return tuple(x.strip() for x in text.replace("+", ",").split(",") if x.strip())


def config_from_options(options: Mapping[str, Any], types: Mapping[str, Callable[[Any], Any]],
                        build: Callable[..., C], where: str, *, venue: str,
                        lists: Iterable[str] = ("symbols",)) -> C:
    """``build(**kw)`` from ``k=v`` ``options``, each converted by ``types[k]``.

    ``symbol`` (when in ``types``) is another name of ``symbols``; the ``lists`` options given as
    text are split by :func:`split_list`. ``where`` (``"feed okx"``) starts every error; an
    :class:`InvalidInputError` of ``build`` whose message starts with ``"{venue}: "`` is raised
    again with ``where`` in its place.

    :raise InvalidInputError: an unknown option, a bad value, both ``symbol`` and ``symbols``, or
        a config the venue refuses."""
    kw: dict[str, Any] = {}
    for k, v in options.items():
        if k not in types:
            raise InvalidInputError(f"{where}: unknown option {k!r} (known: {', '.join(types)})")
        try:
            kw[k] = types[k](v)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: option {k}: bad value {v!r}") from None
    if "symbol" in kw:
        if "symbols" in kw:
            raise InvalidInputError(f"{where}: give symbol or symbols, not both")
        kw["symbols"] = kw.pop("symbol")
    for k in lists:
        if isinstance(kw.get(k), str):
            kw[k] = split_list(kw[k])
    try:
        return build(**kw)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {str(e).removeprefix(f'{venue}: ')}") from None
