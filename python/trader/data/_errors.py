"""What a decoder raises on a broken file, turned into one :class:`DataError` line naming the file.

gzip, bz2, zipfile, zlib and Arrow each fail in their own way on a truncated or corrupt file
(``EOFError``, ``zlib.error``, ``OSError`` without an errno, ``BadZipFile``, ``ArrowInvalid``...).
Left alone, some of them are misread far from here: click turns an ``EOFError`` into "aborted"
(it takes it for the end of the terminal's input). Every file-based source reads through
:class:`GuardedReader` (a binary stream) or :func:`guarded` (an iterator), so each of them
surfaces as ``DataError("FILE: what is wrong")`` instead.

Texts taken from a file (a header, the first bytes) go through :func:`printable` before they enter
a message: non-printable characters are escaped as ``repr`` does and the length is capped, so a
binary file never writes its bytes to the terminal.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, TypeVar

import pyarrow as pa

from trader.exceptions import DataError
from trader.inputs import printable

T = TypeVar("T")

#: What decoders raise on a broken file (KeyboardInterrupt, MemoryError and bugs are not here).
DECODE_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, OSError, zipfile.BadZipFile, pa.ArrowException,
                                                  UnicodeDecodeError)


def shown(value: object, limit: int = 80) -> str:
    """A value taken from a file, quoted as ``repr`` quotes it, at most ``limit`` characters."""
    return printable(repr(value), limit)


def detail(e: BaseException) -> str:
    """The first line of an exception's text (its type's name when it has none), printable."""
    text = str(e).strip()
    return printable(text.splitlines()[0] if text else type(e).__name__, 160)


def describe(e: BaseException, kind: str = "compressed data") -> str:
    """What went wrong, in words, with the decoder's own text in parentheses; ``kind`` names what
    was being decoded (``"compressed data"``, ``"Parquet data"``...)."""
    if isinstance(e, gzip.BadGzipFile) and str(e).startswith("Not a gzipped file"):
        return f"not a gzip file ({detail(e)})"
    if isinstance(e, EOFError):
        return f"truncated: the {kind} ends early ({detail(e)})"
    if isinstance(e, zipfile.BadZipFile):
        return f"not a readable zip archive ({detail(e)})"
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text (byte {e.start}: {e.reason})"
    if isinstance(e, OSError) and not isinstance(e, pa.ArrowException) and e.errno is not None:
        return f"cannot read it ({printable(e.strerror or detail(e), 160)})"
    return f"corrupt {kind} ({detail(e)})"  # zlib, bz2, a bad gzip CRC, Arrow's decoders


def decode_error(where: str, e: BaseException, kind: str = "compressed data") -> DataError:
    """The one-line :class:`DataError` for ``e`` raised while decoding ``kind`` from ``where``."""
    return DataError(f"{where}: {describe(e, kind)}")


class GuardedReader(io.RawIOBase):
    """A read-only binary stream over ``raw`` whose decoding errors are :class:`DataError`\\ s naming
    ``where`` (see the module docs). Closing it closes ``raw``."""

    def __init__(self, raw: IO[bytes], where: str) -> None:
        super().__init__()
        self._raw = raw
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            return self._raw.readinto(buffer)  # type: ignore[attr-defined]
        except DECODE_ERRORS as e:
            raise decode_error(self._where, e) from None

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def guarded(where: str, items: Iterator[T], kind: str) -> Iterator[T]:
    """``items``, with the decoding errors raised while producing them turned into
    :class:`DataError`\\ s naming ``where`` (``kind``: what is being decoded)."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except DataError:
            raise
        except DECODE_ERRORS as e:
            raise decode_error(where, e, kind) from None
        yield item
