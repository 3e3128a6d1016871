"""Lock-free SPSC ring of market events and the object pool, from the Rust core.

``EventRing`` is the in-process bridge into the engine's event ring (both ends in one object);
``ObjectPool`` exposes the pool statistics. See ``trader._core`` (``_core.pyi``) for the full
documentation of full/empty behaviour and of the overwrite mode.
"""

from __future__ import annotations

from trader._core import EventRing, ObjectPool

__all__ = [
    "EventRing",
    "ObjectPool",
    "KIND_TRADE",
    "KIND_QUOTE",
    "KIND_BAR",
    "KIND_BOOK_DELTA",
    "SIDE_NONE",
    "SIDE_BUYER",
    "SIDE_SELLER",
]

#: Codes of the ``kind`` column of ``EventRing.pop_batch``.
KIND_TRADE = 0
KIND_QUOTE = 1
KIND_BAR = 2
KIND_BOOK_DELTA = 3

#: Aggressor side codes (``side`` argument of ``push_trade`` and the ``side`` column).
SIDE_NONE = 0
SIDE_BUYER = 1
SIDE_SELLER = 2
