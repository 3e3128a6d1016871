"""The live node's store: every order command written ahead, order events, fills, orders,
positions, balances, trading-state changes, risk state, the audit chain, strategies' own state,
feed positions and engine checkpoints — SQLite in the state folder by default, PostgreSQL by URL.

>>> store = open_store(state_dir)                     # or "postgresql://user:pw@host/db"
>>> store.write_ahead(Command(...))                   # synchronous: committed when it returns
>>> writer = BatchWriter(store); writer.submit(Batch(fills=[...], checkpoints=[...]))

See :mod:`trader.live.store.store` for durability and the checks made before anything is
written, :mod:`trader.live.store.schema` for the tables, :mod:`trader.live.store.writer` for the
background writer and :mod:`trader.live.store.crash` for the crash points of the tests.
"""

from trader.live.store import records
from trader.live.store.records import *  # noqa: F403 - the records are the package's API
from trader.live.store.schema import SCHEMA_VERSION
from trader.live.store.store import (
    JOURNAL_FILE,
    JOURNAL_LOG_BYTES,
    STORE_FILE,
    TERMINAL_STATUSES,
    Store,
    journal_log_name,
    mask_url,
    open_store,
)
from trader.live.store.writer import BatchWriter

__all__ = [
    *records.__all__,
    "open_store",
    "Store",
    "BatchWriter",
    "SCHEMA_VERSION",
    "STORE_FILE",
    "JOURNAL_FILE",
    "JOURNAL_LOG_BYTES",
    "journal_log_name",
    "TERMINAL_STATUSES",
    "mask_url",
]
