"""Strategy authoring commands: ``trader new-strategy`` (a plugin package from a template) and the
details behind ``trader strategies --show NAME``.

Templates are files under ``trader/templates/<kind>/`` (``strategy.py.tmpl``, ``test.py.tmpl``,
``template.toml``: description, dependencies, run command, README text) plus the files every kind
shares in ``trader/templates/_common/``. ``{{key}}`` placeholders are filled from the name; a
placeholder left unfilled is an error, never written out.
"""

from __future__ import annotations

import difflib
import inspect
import json
import keyword
import os
import re
import shutil
import tempfile
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import click

from trader.exceptions import InvalidInputError

#: The templates ``--template`` offers, in the order ``--help`` lists them.
TEMPLATES = ("bar", "tick", "l2", "vectorized", "ml")

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _template_root() -> Any:
    return resources.files("trader") / "templates"


def _render(text: str, values: dict[str, str], where: str) -> str:
    """``text`` with every ``{{key}}`` replaced by ``values[key]``; an unknown key is an error."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise InvalidInputError(f"template {where}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def _class_name(name: str) -> str:
    """``my_strategy`` → ``MyStrategy`` (``Strategy`` appended when the result is not an identifier)."""
    out = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    return out if out.isidentifier() and not keyword.iskeyword(out) else f"{out}Strategy"


def check_new_strategy(name: str, target: Path) -> None:
    """Refuse a NAME or target folder ``new-strategy`` cannot use, before anything is written:
    NAME must be an ASCII Python identifier (the package and the strategy's registered name), not
    a keyword, not taken by a registered strategy or an importable module; ``target`` (DIR/NAME)
    must not exist or be an empty folder, and DIR must be an existing folder."""
    import importlib.util

    from trader.plugins import strategies

    if not (name.isascii() and name.isidentifier()) or keyword.iskeyword(name) or name.startswith("_"):
        raise InvalidInputError(f"NAME: {name!r} is not usable as a Python package and strategy name "
                                "(letters, digits and underscores, not starting with a digit or an underscore, not a keyword)")
    known = strategies()
    if name in known:
        raise InvalidInputError(f"NAME: a strategy named {name!r} is already registered ({known[name].__module__})")
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        raise InvalidInputError(f"NAME: a module named {name!r} is already importable ({spec.origin or 'a namespace package'}); "
                                "the package would clash with it")
    parent = target.parent
    if not parent.exists():
        raise InvalidInputError(f"--dir: {parent}: no such folder")
    if not parent.is_dir():
        raise InvalidInputError(f"--dir: {parent}: is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise InvalidInputError(f"--dir: {parent}: not writable")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidInputError(f"--dir: {target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        raise InvalidInputError(f"--dir: {target}: exists and is not empty")


def render_package(name: str, kind: str) -> dict[str, str]:
    """The files of the plugin package NAME made from template ``kind``: ``{relative path: text}``."""
    if kind not in TEMPLATES:
        raise InvalidInputError(f"--template: unknown template {kind!r} (one of {', '.join(TEMPLATES)})")
    root = _template_root()
    meta = tomllib.loads((root / kind / "template.toml").read_text(encoding="utf-8"))
    values = {"name": name, "class_name": _class_name(name), "kind": kind, "dist_name": name.replace("_", "-"),
              "description": meta["description"]}
    values["dependencies"] = ", ".join(json.dumps(d) for d in meta["dependencies"])
    values["run_command"] = _render(meta["run_command"], values, f"{kind}/template.toml")
    values["about"] = _render(meta["about"].strip(), values, f"{kind}/template.toml")
    sources = {
        "pyproject.toml": root / "_common" / "pyproject.toml.tmpl",
        "README.md": root / "_common" / "README.md.tmpl",
        f"src/{name}/__init__.py": root / "_common" / "__init__.py.tmpl",
        f"src/{name}/strategy.py": root / kind / "strategy.py.tmpl",
        f"tests/test_{name}.py": root / kind / "test.py.tmpl",
    }
    return {rel: _render(src.read_text(encoding="utf-8"), values, f"{kind}/{src.name}") for rel, src in sources.items()}


def write_package(files: dict[str, str], target: Path) -> None:
    """Write ``files`` as the folder ``target``: into a temporary folder beside it first, then
    renamed into place, so a failure leaves nothing half-written (an empty ``target`` is replaced)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.is_dir():
            target.rmdir()  # empty (checked): os.rename would refuse it
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@click.command("new-strategy")
@click.argument("name")
@click.option("--template", "kind", type=click.Choice(TEMPLATES), default="bar", show_default=True,
              help="bar (on_bar, streaming indicators), tick (on_trade/on_quote), l2 (on_book market maker), "
                   "vectorized (whole-series Signals + on_bar), ml (walk-forward classifier after ml_classifier).")
@click.option("--dir", "directory", default=".", show_default=True, metavar="DIR",
              help="Folder to create the package NAME in (DIR/NAME must not exist, or be empty).")
def new_strategy(name: str, kind: str, directory: str) -> None:
    """Create DIR/NAME, a strategy plugin package to `pip install -e`: pyproject.toml (with the
    `trader` entry point), src/NAME/ (the strategy and its plugin hook), tests/test_NAME.py and a
    README."""
    target = Path(directory) / name
    check_new_strategy(name, target)
    files = render_package(name, kind)
    write_package(files, target)
    click.echo(f"created {target}/ ({kind} template): " + ", ".join(sorted(files)))
    click.echo(f"next: pip install -e {target} && trader strategies --show {name} && (cd {target} && pytest)")


# ---- trader strategies --show NAME ------------------------------------------------------------------


def strategy_details(name: str) -> dict[str, Any]:
    """What ``trader strategies --show NAME`` prints: name, description, class, plugin
    distribution, docstring (the class's own, else its module's), source location ``file:line``
    and every parameter (name, type, default, bounds, choices, description).

    :raise InvalidInputError: an unknown NAME, with the close matches and the known names.
    """
    from trader.plugins import get_plugin_manager, strategies

    found = strategies(get_plugin_manager())
    if name not in found:
        close = difflib.get_close_matches(name, list(found), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidInputError(f"strategy {name!r}: not registered{hint} (known: {', '.join(sorted(found))})")
    cls: Any = found[name]  # a Strategy subclass (trader.plugins.strategies)
    doc = cls.__dict__.get("__doc__")
    module = inspect.getmodule(cls)
    if not doc and module is not None:
        doc = module.__doc__
    try:
        file = inspect.getsourcefile(cls) or "?"
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        file, line = "?", 0
    params = []
    for key, p in cls.params().items():
        bounds = [f"{op} {v}" for op, v in ((">=", p.ge), (">", p.gt), ("<=", p.le), ("<", p.lt)) if v is not None]
        params.append({"name": key, "type": p.type.__name__, "default": p.default, "bounds": bounds,
                       "choices": list(p.choices) if p.choices is not None else None, "description": p.help})
    return {"name": name, "description": getattr(cls, "description", ""), "class": f"{cls.__module__}.{cls.__qualname__}",
            "doc": inspect.cleandoc(doc) if doc else "", "source": f"{file}:{line}", "file": file, "line": line,
            "params": params}


def show_strategy(name: str, as_json: bool, console: Any) -> None:
    """Print :func:`strategy_details` as JSON or as text with a table of the parameters."""
    info = strategy_details(name)
    if as_json:
        click.echo(json.dumps(info, default=str, indent=2))
        return
    from rich.table import Table

    console.print(f"[bold]{info['name']}[/bold]: {info['description']}")
    console.print(f"class:  {info['class']}", markup=False, highlight=False)
    console.print(f"source: {info['source']}", markup=False, highlight=False)
    table = Table(title="parameters")
    for col in ("name", "type", "default", "constraints", "description"):
        table.add_column(col)
    for p in info["params"]:
        constraints = ", ".join(p["bounds"] + ([f"one of {', '.join(map(str, p['choices']))}"] if p["choices"] else []))
        table.add_row(p["name"], p["type"], repr(p["default"]), constraints, p["description"])
    console.print(table)
    if info["doc"]:
        console.print(info["doc"], markup=False, highlight=False)
