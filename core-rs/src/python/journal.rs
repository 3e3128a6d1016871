//! The SQLite write-ahead journal of a live session (the store's `journal.sqlite3`, table
//! `commands`, created by the Python store `trader.live.store`): every command that passed the
//! risk engine and the account is inserted — one autocommit INSERT, durable against a killed
//! process once it returns (WAL) — before it reaches latency or the matcher. Written here rather
//! than through a Python callback: the order path then allocates no Python objects and pays
//! only SQLite's own insert (the budget: at most 20 us added to tick-to-order at p99).
//!
//! The row is the one the Python store writes (`trader.live.store.records.Command`): strategy,
//! seq (consecutive from the store's next one), order id, client order id `<strategy>-<id>`,
//! kind, the command as JSON, ts, status `pending`, an empty note. The library is the system's
//! libsqlite3, the one Python's `sqlite3` module uses: one SQLite in the process.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use rusqlite::Connection;

use crate::engine_l2::Journal;
use crate::error::{CoreError, CoreResult};
use crate::model::order::Command;

const INSERT: &str = "INSERT INTO \"commands\" (\"strategy\", \"seq\", \"order_id\", \"client_id\", \"kind\", \
                      \"request\", \"ts\", \"status\", \"note\") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', '')";

fn journal_error(reason: String) -> CoreError {
    CoreError::InvalidArgument {
        name: "journal",
        reason,
    }
}

/// A session's journal on the store's SQLite file.
pub(super) struct SqliteJournal {
    conn: Connection,
    strategy: String,
    /// The seq the next command gets (shared with the session, which reports it).
    next_seq: Rc<Cell<i64>>,
    /// Called after each insert (the kill -9 tests' crash point), when set.
    after: Option<Box<dyn FnMut() -> CoreResult<()>>>,
}

impl SqliteJournal {
    /// Open `path` (an existing store's journal) for the strategy `strategy`, its next command
    /// being `next_seq`; `full`: fsync at every insert (`synchronous=FULL`), else NORMAL.
    pub(super) fn open(
        path: &Path,
        strategy: String,
        next_seq: Rc<Cell<i64>>,
        full: bool,
        after: Option<Box<dyn FnMut() -> CoreResult<()>>>,
    ) -> CoreResult<Self> {
        let fail = |e: rusqlite::Error| journal_error(format!("{}: {e}", path.display()));
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(journal_error(format!(
                "{}: cannot use WAL mode ({mode})",
                path.display()
            )));
        }
        conn.execute_batch(if full {
            "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
        } else {
            "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
        })
        .map_err(fail)?;
        conn.prepare_cached(INSERT).map_err(fail)?;
        Ok(Self {
            conn,
            strategy,
            next_seq,
            after,
        })
    }
}

impl Journal for SqliteJournal {
    fn write_ahead(&mut self, cmd: &Command, ts: i64) -> CoreResult<()> {
        let (kind, id) = super::live::command_kind(cmd);
        let request = serde_json::to_string(cmd)
            .map_err(|e| journal_error(format!("cannot encode the command: {e}")))?;
        let oid = i64::try_from(id)
            .map_err(|_| journal_error(format!("order id {id} does not fit the store")))?;
        let client_id = format!("{}-{id}", self.strategy);
        let mut stmt = self
            .conn
            .prepare_cached(INSERT)
            .map_err(|e| journal_error(format!("write-ahead: {e}")))?;
        let seq = self.next_seq.get();
        stmt.execute(rusqlite::params![
            self.strategy,
            seq,
            oid,
            client_id,
            kind,
            request,
            ts
        ])
        .map_err(|e| {
            journal_error(format!(
                "write-ahead of command {}/{seq} ({client_id}) failed: {e}",
                self.strategy
            ))
        })?;
        self.next_seq.set(seq + 1);
        match self.after.as_mut() {
            Some(f) => f(),
            None => Ok(()),
        }
    }
}
