"""Output paths, checked before a run starts: a run never ends in a traceback because the report,
fills or audit log cannot be written, and nothing is lost after the work is done."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from trader.exceptions import InvalidInputError

__all__ = ["check_output_file", "check_output_dir"]


def check_output_file(path: str | os.PathLike, option: str, suffixes: Sequence[str] = ()) -> Path:
    """``path`` as a file the run will write: its folder exists and is writable, it is not a
    folder itself, and it ends in one of ``suffixes`` (when given). An
    :class:`InvalidInputError` names ``option``, the path and the problem."""
    p = Path(path)
    if suffixes and not str(p).lower().endswith(tuple(suffixes)):
        raise InvalidInputError(f"{option}: {path}: must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise InvalidInputError(f"{option}: {path}: is a directory, not a file")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise InvalidInputError(f"{option}: {path}: the directory {parent} does not exist")
    if not parent.is_dir():
        raise InvalidInputError(f"{option}: {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InvalidInputError(f"{option}: {path}: not writable")
    return p


def check_output_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a folder the run will write files into: an existing writable folder, or one whose
    parent exists and is writable (it is created when the run writes)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise InvalidInputError(f"{option}: {path}: is a file, not a directory")
        if not os.access(p, os.W_OK | os.X_OK):
            raise InvalidInputError(f"{option}: {path}: not writable")
        return p
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidInputError(f"{option}: {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInputError(f"{option}: {path}: {parent} is not writable")
    return p
