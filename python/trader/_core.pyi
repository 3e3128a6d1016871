"""Typed stubs of ``trader._core``, the Rust extension. The user-facing docs of the extension live here."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64Array = npt.NDArray[np.float64]

__version__: str

# ---------------------------------------------------------------------------------------------
# SIMD backend
# ---------------------------------------------------------------------------------------------

def simd_backend() -> str:
    """The SIMD backend in use: ``"scalar"``, ``"avx2"`` or ``"avx512"``.

    Chosen once per process: the best one the CPU supports, unless ``TRADER_SIMD`` forces one.
    Raises ``SimdUnavailableError`` if ``TRADER_SIMD`` names a backend this CPU cannot run.
    """

def simd_backends_available() -> list[str]:
    """Every backend this CPU can run, scalar first."""

# ---------------------------------------------------------------------------------------------
# Indicators: batch functions (TA-Lib's argument order, NaN for the lookback, GIL released)
# ---------------------------------------------------------------------------------------------

def sma(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Simple moving average; bit-identical to ``talib.SMA``."""

def ema(real: F64Array, timeperiod: int = 30) -> F64Array:
    """Exponential moving average seeded with the mean of the first ``timeperiod`` values; bit-identical to ``talib.EMA``."""

def rsi(real: F64Array, timeperiod: int = 14) -> F64Array:
    """Relative strength index with Wilder's smoothing (``talib.RSI``)."""

# ---------------------------------------------------------------------------------------------
# Indicators: streaming classes
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# SIMD kernels: multi-lane indicators, rolling statistics, reductions, decision kernel
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Ring buffer and object pool
# ---------------------------------------------------------------------------------------------

class EventRing:
    """A bounded single-producer single-consumer ring of fixed-layout market events.

    The ring lives in Rust (``core-rs/src/ring.rs``); events are 72-byte ``#[repr(C)]`` records
    (kind, side, flags, instrument id, ``ts_event``/``ts_init`` in ns, price, size, bid, ask,
    bid_size, ask_size) and never become Python objects unless you ``pop()`` one.

    This Python object holds **both** ends, so it is the in-process bridge (tests, replay, a
    Python adapter feeding the engine). The live engine pushes from an adapter thread in Rust
    through the producer handle and consumes on the engine thread; it does not go through here.

    The capacity is rounded up to a power of two; ``capacity < 1`` raises ``CapacityError``.

    Full behaviour:

    * ``overwrite=False`` (default, for trades and anything that must not be lost): a push into a
      full ring stores nothing and returns ``False``; the caller decides (retry, drop, alarm).
    * ``overwrite=True`` (for quotes, where only the latest matters): a push never fails; when the
      ring is full the **oldest** unread event is evicted and counted in ``dropped``. Order is
      preserved, each event is delivered at most once, and
      ``delivered + dropped + len(ring) == pushed``.
    """

    def __init__(self, capacity: int, overwrite: bool = False) -> None: ...
    def push_trade(
        self,
        ts: int,
        instrument_id: int,
        price: float,
        size: float,
        side: int = 0,
        ts_init: int | None = None,
    ) -> bool:
        """Push a trade. ``side``: 0 no aggressor, 1 buyer, 2 seller. ``ts``/``ts_init`` are ns
        since the epoch (``ts_init`` defaults to ``ts``). Returns ``False`` if the ring is full in
        normal mode (nothing stored); always ``True`` in overwrite mode.

        Bad input (negative ``ts``, ``instrument_id`` outside 0..2**32-1, a non-finite price or size,
        an unknown side) raises ``InvalidInputError`` naming the argument.
        """

    def push_quote(
        self,
        ts: int,
        instrument_id: int,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
        ts_init: int | None = None,
    ) -> bool:
        """Push a top-of-book quote; same full behaviour and validation as ``push_trade``."""

    def pop(self) -> dict[str, int | float | str] | None:
        """Remove the oldest event and return it as a small dict, or ``None`` if the ring is empty.

        Keys: ``kind`` (``"trade"``, ``"quote"``, ``"bar"``, ``"book_delta"``), ``instrument_id``,
        ``ts_event``, ``ts_init``, then ``price``, ``size``, ``side`` for trades or ``bid``, ``ask``,
        ``bid_size``, ``ask_size`` for quotes.
        """

    def pop_batch(self, max: int | None = None) -> dict[str, npt.NDArray[np.generic]]:
        """Remove up to ``max`` events (default: ``capacity``) and return them as columns.

        One numpy array per field, all of the same length (0 if empty), built in Rust with the
        GIL released: ``kind`` (uint8: 0 trade, 1 quote, 2 bar, 3 book delta), ``side`` (uint8),
        ``flags`` (uint16), ``instrument_id`` (uint32), ``ts_event``/``ts_init`` (uint64), and
        ``price``, ``size``, ``bid``, ``ask``, ``bid_size``, ``ask_size`` (float64; 0.0 where the
        kind does not use the field). No Python object is created per event.
        """

    def __len__(self) -> int:
        """Events currently in the ring."""

    @property
    def capacity(self) -> int:
        """The capacity (a power of two)."""

    @property
    def overwrite(self) -> bool:
        """Whether the ring evicts the oldest event when full."""

    @property
    def dropped(self) -> int:
        """Events evicted so far (always 0 in normal mode)."""

class ObjectPool:
    """A pre-sized pool of event slots with O(1) acquire/release (``core-rs/src/pool.rs``).

    Mainly here to expose the pool statistics the engine keeps for its hot-path pools.
    Handles are opaque ints (pool id, slot, generation).

    * Exhaustion: ``acquire()`` returns ``None`` and counts a failed acquire, unless
      ``max_capacity`` > ``capacity``, in which case the pool doubles (up to ``max_capacity``).
    * Releasing twice, a stale handle or another pool's handle raises ``InvalidInputError``.
    """

    def __init__(self, capacity: int, max_capacity: int | None = None) -> None: ...
    def acquire(self) -> int | None:
        """Take a free slot; its handle, or ``None`` when exhausted."""

    def release(self, handle: int) -> None:
        """Give a slot back. ``InvalidInputError`` on double release or a foreign handle."""

    def __contains__(self, handle: int) -> bool:
        """Whether ``handle`` is live in this pool."""

    def stats(self) -> dict[str, int]:
        """``capacity``, ``in_use``, ``available``, ``high_water``, ``acquires``, ``releases``,
        ``failed_acquires``, ``grows`` (all counters since construction)."""

    def __len__(self) -> int:
        """Slots currently acquired."""

    @property
    def capacity(self) -> int:
        """Slots in the pool (grows only with a growth policy)."""
