"""The plugin manager: every strategy, data source, venue and risk layer comes from a plugin.

Loading order (:func:`get_plugin_manager`, built once per process):

1. a ``pluggy.PluginManager("trader")`` with the hooks of :mod:`trader.hookspecs`;
2. every entry point of the group ``"trader"``, one by one, through
   ``importlib.metadata.entry_points(group="trader")``. The built-in plugins (package
   ``trader_plugins``) are entry points of trader's own distribution, found exactly as a third
   party's would be. A plugin that fails to import or to register is recorded in
   ``pm.broken`` — ``(name, dist, error)`` — reported once on stderr, and skipped;
3. ``pm.check_pending()``: a hook implementation with no matching spec is an error; the plugin
   that carries it is unregistered and recorded as broken in the same way.

``TRADER_DISABLE_PLUGIN_AUTOLOAD=1`` skips step 2: only plugins registered explicitly
(``get_plugin_manager().register(obj)``) are used.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys
from dataclasses import dataclass
from typing import Any

import pluggy

from trader import hookspecs
from trader.exceptions import DataError, TraderError

ENTRY_POINT_GROUP = "trader"
DISABLE_ENV = "TRADER_DISABLE_PLUGIN_AUTOLOAD"
#: kind shown by ``trader plugins`` → hook that provides it
KINDS = {
    "data source": "trader_data_sources",
    "strategy": "trader_strategies",
    "venue": "trader_venues",
    "fill model": "trader_fill_models",
    "risk layer": "trader_risk_layers",
    "data client": "trader_data_clients",
    "execution client": "trader_execution_clients",
    "diagnostic": "trader_diagnostics",
}


class PluginError(TraderError):
    """Plugins that cannot be used together (e.g. two provide the same name)."""


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that was skipped: its entry point name, its distribution, and why."""

    name: str
    dist: str
    error: str


@dataclass(frozen=True)
class PluginRow:
    """One line of ``trader plugins``."""

    kind: str
    name: str
    module: str
    distribution: str


class TraderPluginManager(pluggy.PluginManager):
    """A PluginManager that remembers where each plugin came from and which ones were skipped."""

    def __init__(self) -> None:
        super().__init__("trader")
        self.add_hookspecs(hookspecs)
        #: plugins skipped because they failed to load, register or validate
        self.broken: list[BrokenPlugin] = []
        #: plugin name → "distribution version" of the entry point that supplied it
        self.distributions: dict[str, str] = {}

    def mark_broken(self, name: str, dist: str, error: BaseException | str) -> None:
        """Record a skipped plugin and say so on stderr (once per plugin)."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        text = " ".join(str(text).split())
        self.broken.append(BrokenPlugin(name, dist, text))
        print(f"trader: skipped broken plugin {name!r} (from {dist}): {text}", file=sys.stderr)

    def distribution_of(self, plugin_name: str) -> str:
        """``"name version"`` of the distribution that supplied a plugin, or ``"-"`` (registered by hand)."""
        return self.distributions.get(plugin_name, "-")


def _dist_label(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown distribution"
    try:
        return f"{dist.metadata['Name']} {dist.version}"
    except Exception:  # a distribution with broken metadata is still named by its entry point
        return "unknown distribution"


def load_entry_points(pm: TraderPluginManager, group: str = ENTRY_POINT_GROUP) -> None:
    """Register every entry point of ``group``, one by one; record and skip the broken ones."""
    seen: set[tuple[str, str]] = set()
    for ep in importlib.metadata.entry_points(group=group):
        key = (ep.name, ep.value)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        dist = _dist_label(ep)
        if pm.is_blocked(ep.name):
            continue
        if pm.has_plugin(ep.name):
            pm.mark_broken(ep.name, dist, f"plugin name already registered by {pm.distribution_of(ep.name)}")
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as e:  # any failure of third-party code: report by name, skip
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
            pm.mark_broken(ep.name, dist, e)
            continue
        pm.distributions[ep.name] = dist


def check_pending(pm: TraderPluginManager) -> None:
    """``pm.check_pending()``, unregistering (and recording) each plugin with an unknown hook."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as e:
            name = pm.get_name(e.plugin) or repr(e.plugin)
            pm.unregister(e.plugin)
            pm.mark_broken(name, pm.distribution_of(name), e)


@functools.cache
def get_plugin_manager() -> TraderPluginManager:
    """The process-wide plugin manager (built on first use; see the module docs for the order).

    Tests that change the environment call ``get_plugin_manager.cache_clear()``.
    """
    pm = TraderPluginManager()
    if os.environ.get(DISABLE_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
        load_entry_points(pm)
    check_pending(pm)
    return pm


def _provided(hook_name: str, pm: TraderPluginManager | None = None) -> list[tuple[Any, str, str, str]]:
    """``(item, plugin name, module, distribution)`` for every item a hook's implementations return,
    in registration order. An implementation that raises or returns a non-list is recorded as
    broken and skipped (once)."""
    pm = pm or get_plugin_manager()
    out = []
    broken_names = {b.name for b in pm.broken}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        name = impl.plugin_name
        if name in broken_names:
            continue
        module = getattr(impl.plugin, "__name__", type(impl.plugin).__module__)
        dist = pm.distribution_of(name)
        try:
            items = impl.function()
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"{hook_name} returned {type(items).__name__}, expected a list")
        except Exception as e:  # third-party code: report by name, skip
            pm.mark_broken(name, dist, e)
            broken_names.add(name)
            continue
        out.extend((item, name, module, dist) for item in items)
    return out


def _item_name(item: Any) -> str:
    return str(getattr(item, "name", None) or getattr(item, "__name__", None) or type(item).__name__)


def list_plugins(pm: TraderPluginManager | None = None) -> list[PluginRow]:
    """One row per provided object: (kind, name, plugin module, distribution name + version)."""
    rows = []
    for kind, hook in KINDS.items():
        for item, _plugin, module, dist in _provided(hook, pm):
            rows.append(PluginRow(kind, _item_name(item), module, dist))
    return rows


def _by_name(kind: str, hook: str, pm: TraderPluginManager | None) -> dict[str, Any]:
    found: dict[str, tuple[Any, str, str]] = {}
    for item, _plugin, module, dist in _provided(hook, pm):
        name = _item_name(item)
        if name in found:
            _, other_module, other_dist = found[name]
            raise PluginError(
                f"two plugins provide the {kind} {name!r}: {other_module} (from {other_dist}) and {module} (from {dist})"
            )
        found[name] = (item, module, dist)
    return {name: v[0] for name, v in found.items()}


def data_sources(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: data source}`` of every plugin, built-ins first (registration order)."""
    return _by_name("data source", KINDS["data source"], pm)


def strategies(pm: TraderPluginManager | None = None) -> dict[str, type]:
    """``{name: Strategy class}`` of every plugin (each class exposes ``name``)."""
    return _by_name("strategy", KINDS["strategy"], pm)


def venues(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: venue}`` of every plugin."""
    return _by_name("venue", KINDS["venue"], pm)


def fill_models(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: FillModel}`` of every plugin (names are unique across kinds)."""
    return _by_name("fill model", KINDS["fill model"], pm)


def risk_layers(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: risk layer}`` of every plugin."""
    return _by_name("risk layer", KINDS["risk layer"], pm)


def data_clients(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: live data client}`` of every plugin (``trader live --feed``)."""
    return _by_name("data client", KINDS["data client"], pm)


def execution_clients(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: live execution client}`` of every plugin (``trader live --venue``)."""
    return _by_name("execution client", KINDS["execution client"], pm)


def diagnostics(pm: TraderPluginManager | None = None) -> dict[str, Any]:
    """``{name: diagnostic}`` of every plugin (``trader data inspect --diagnostics``)."""
    return _by_name("diagnostic", KINDS["diagnostic"], pm)


def find_data_source(path: str | os.PathLike | None, source_name: str | None = None, pm: TraderPluginManager | None = None) -> Any:
    """The data source to read ``path`` with.

    An explicit ``source_name`` wins (unknown → DataError listing the known ones); otherwise the
    first source, in registration order (built-ins first), whose ``can_open(path)`` is true.
    ``path=None`` means "no data given" (the synthetic source answers it).

    :raise DataError: ``no data source can read PATH (known: ...)``, or ``PATH: no such file``.
    """
    sources = data_sources(pm)
    known = ", ".join(sources) or "none"
    if source_name is not None:
        if source_name not in sources:
            raise DataError(f"unknown data source {source_name!r} (known: {known})")
        return sources[source_name]
    for source in sources.values():
        try:
            if source.can_open(path):
                return source
        except Exception:  # a third-party can_open that fails just does not claim the file
            continue
    if path is not None and not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if path is not None and os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    raise DataError(f"no data source can read {path} (known: {known})")


# ---- strategies from files and modules ---------------------------------------------------------


def is_strategy_spec(spec: str) -> bool:
    """Whether ``spec`` names a strategy by location (``path/to/file.py[:Class]`` or
    ``package.module:Class``) rather than by its registered name."""
    return ":" in spec or spec.lower().endswith(".py")


def load_strategy(spec: str) -> type:
    """The Strategy class named by ``spec``, without packaging it as a plugin:

    - ``path/to/file.py:ClassName`` — the file is imported as a module of its own (not put on
      ``sys.path``); ``path/to/file.py`` alone takes the one Strategy subclass the file defines;
    - ``package.module:ClassName`` — imported with :func:`importlib.import_module`.

    Every failure is one :class:`InvalidInputError` line (the CLI exits 2): a missing file or
    module; a file that raises while imported (named with the exception, and the line of the file
    where it was raised: run ``python FILE`` for the whole traceback); a class that is not there
    (the message lists the Strategy subclasses the file defines); an object that is not a Strategy
    subclass. A strategy that raises *during the run* is not an import error: it stops the run
    with its own traceback (``StrategyError``, exit 1).
    """
    import importlib
    import importlib.util
    import inspect

    from trader.exceptions import InvalidInputError
    from trader.strategy import Strategy

    target, sep, name = spec.rpartition(":")
    if not sep or (len(target) == 1 and target.isalpha() and "\\" in name):  # "file.py", or "C:\\x.py"
        target, name = spec, ""
    target, name = target.strip(), name.strip()
    where = f"strategy {spec}"
    if target.lower().endswith(".py") or os.sep in target or "/" in target:
        path = os.path.abspath(target)
        if not os.path.exists(path):
            raise InvalidInputError(f"{where}: {target}: no such file")
        if not os.path.isfile(path):
            raise InvalidInputError(f"{where}: {target}: is a directory, not a Python file")
        import hashlib

        module_name = f"trader_user_strategy_{hashlib.sha1(path.encode()).hexdigest()[:12]}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise InvalidInputError(f"{where}: {target}: not a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module  # dataclasses, pickling and typing look the module up here
        try:
            loader_spec.loader.exec_module(module)
        except Exception as e:
            sys.modules.pop(module_name, None)
            raise InvalidInputError(f"{where}: importing {target} raised {_import_failure(e, path)}") from None
        origin = target
    else:
        if not name:
            raise InvalidInputError(f"{where}: expected path/to/file.py:ClassName or package.module:ClassName")
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name and target.startswith(e.name):
                raise InvalidInputError(f"{where}: no module named {e.name!r}") from None
            raise InvalidInputError(f"{where}: importing {target} raised {_import_failure(e, None)}") from None
        except Exception as e:
            raise InvalidInputError(f"{where}: importing {target} raised {_import_failure(e, getattr(e, 'filename', None))}") from None
        origin = f"module {target}"
    defined = sorted(n for n, obj in vars(module).items()
                     if inspect.isclass(obj) and issubclass(obj, Strategy) and obj is not Strategy and obj.__module__ == module.__name__)
    if not name:
        if len(defined) != 1:
            raise InvalidInputError(f"{where}: {origin} defines {len(defined)} Strategy subclasses ({', '.join(defined) or 'none'}): "
                                    f"name one as {target}:ClassName")
        name = defined[0]
    obj = getattr(module, name, None)
    if obj is None:
        raise InvalidInputError(f"{where}: {origin} has no {name!r} (Strategy subclasses it defines: {', '.join(defined) or 'none'})")
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        kind = "a class" if inspect.isclass(obj) else "a function" if inspect.isroutine(obj) else f"a {type(obj).__name__} object"
        raise InvalidInputError(f"{where}: {name} in {origin} is {kind}, not a trader.Strategy subclass "
                                f"(Strategy subclasses it defines: {', '.join(defined) or 'none'})")
    return obj


def _import_failure(e: BaseException, path: str | None) -> str:
    """``SyntaxError: invalid syntax (line 3)``: the exception and, when known, the line of ``path``
    where it was raised (one line; the whole traceback is what ``python FILE`` prints)."""
    from trader.inputs import printable

    line = None
    if isinstance(e, SyntaxError):
        line = e.lineno
        text = e.msg
    else:
        text = str(e)
        if path is not None:
            import traceback

            frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.abspath(f.filename) == path]
            line = frames[-1].lineno if frames else None
    where = f" (line {line})" if line else ""
    return printable(f"{type(e).__name__}: {text}{where}", 200)
