//! The write-ahead log of a live session: every command that passed the risk engine and the
//! account is appended here before it reaches latency or the matcher ([`Journal`]).
//!
//! One file per strategy, a ring in a memory-mapped file: a fixed header (magic, version, the
//! strategy's name) and a data region of `capacity` bytes, fully allocated and faulted in when
//! the log opens. Appending a command is a copy into the mapping — no system call, no page
//! allocation, no file growth — so the order path pays microseconds, not a database insert.
//! Durability: against a killed process (`kill -9`, a crash) the bytes are in the operating
//! system's page cache the moment the copy ends; with `full` each record is also `msync`ed
//! before the command leaves (a power cut loses nothing, at a disk flush per command).
//!
//! The store takes the records off the order path: [`LogJournal::drain`] hands the rows written
//! since the last call to the batch being built (on the engine's thread); the store's writer
//! commits them to its SQLite `commands` table and then releases them
//! ([`JournalRelease::release`], from its own thread). Released bytes are reused; a command that
//! finds no room (the writer fell a whole ring behind) is refused with an error naming the log,
//! never written over a record the store does not hold yet.
//!
//! Record (little endian, 8-byte aligned): `magic u32 | len u32 (padded) | crc u32 | body_len u32
//! | seq i64 | order_id i64 | ts i64 | kind_len u16 | kind | request (JSON)`; the CRC-32 covers
//! `body_len` and the body. The magic is written last. A record torn by a crash fails its CRC
//! and is not a command (it was never sent: the command leaves only after the append returns).
//! Records of earlier laps stay readable until overwritten; [`read_log`] returns every valid
//! record and the store keeps those after the last seq it holds.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use memmap2::MmapMut;

use crate::engine_l2::Journal;
use crate::error::{CoreError, CoreResult};
use crate::model::order::Command;

/// Bytes before the data region: magic, version, the strategy's name.
pub const HEADER: usize = 4096;
const FILE_MAGIC: &[u8; 8] = b"TRDRWAL\x01";
const VERSION: u32 = 1;
const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"TRWL");
const WRAP_MAGIC: u32 = u32::from_le_bytes(*b"TRWP");
/// magic, len, crc, body_len.
const PREFIX: usize = 16;
/// seq, order_id, ts, kind_len.
const FIXED_BODY: usize = 26;
/// The smallest data region a log accepts.
pub const MIN_CAPACITY: usize = 64 * 1024;

fn log_error(reason: String) -> CoreError {
    CoreError::InvalidArgument {
        name: "journal",
        reason,
    }
}

/// One written-ahead command, as the store's `commands` table holds it (status `pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: i64,
    pub order_id: i64,
    pub kind: String,
    pub request: String,
    pub ts: i64,
}

/// The seq up to which the store has committed a log's records; shared between the engine's
/// thread (which reuses their bytes) and the store's writer (which advances it).
#[derive(Debug, Default)]
pub struct JournalRelease {
    committed: AtomicI64,
}

impl JournalRelease {
    /// Records with a seq <= `seq` are in the store: their bytes may be reused. Never moves back.
    pub fn release(&self, seq: i64) {
        self.committed.fetch_max(seq, Ordering::AcqRel);
    }

    /// The last seq released (`i64::MIN` before any).
    pub fn committed(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
    }
}

fn crc(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}

fn round8(n: usize) -> usize {
    (n + 7) & !7
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

/// The record starting at `data[at..]`, if it is a whole, valid one: with its length.
fn record_at(data: &[u8], at: usize) -> Option<(LogRecord, usize)> {
    if at + PREFIX + FIXED_BODY > data.len() || u32_at(data, at) != RECORD_MAGIC {
        return None;
    }
    let len = u32_at(data, at + 4) as usize;
    let body_len = u32_at(data, at + 12) as usize;
    if !len.is_multiple_of(8) || body_len < FIXED_BODY || round8(PREFIX + body_len) != len || at + len > data.len() {
        return None;
    }
    if crc(&data[at + 12..at + PREFIX + body_len]) != u32_at(data, at + 8) {
        return None;
    }
    let b = at + PREFIX;
    let kind_len = u16::from_le_bytes([data[b + 24], data[b + 25]]) as usize;
    if FIXED_BODY + kind_len > body_len {
        return None;
    }
    let kind = std::str::from_utf8(&data[b + FIXED_BODY..b + FIXED_BODY + kind_len]).ok()?;
    let request = std::str::from_utf8(&data[b + FIXED_BODY + kind_len..b + body_len]).ok()?;
    Some((
        LogRecord {
            seq: i64_at(data, b),
            order_id: i64_at(data, b + 8),
            ts: i64_at(data, b + 16),
            kind: kind.to_string(),
            request: request.to_string(),
        },
        len,
    ))
}

/// The strategy a log belongs to and every valid record in it, by seq (one per seq).
fn parse_log(bytes: &[u8], path: &Path) -> CoreResult<(String, Vec<LogRecord>)> {
    let bad = |what: &str| log_error(format!("{}: not a trader write-ahead log ({what})", path.display()));
    if bytes.len() < HEADER || &bytes[..8] != FILE_MAGIC {
        return Err(bad("no header"));
    }
    if u32_at(bytes, 8) != VERSION {
        return Err(bad(&format!("version {}, this trader reads {VERSION}", u32_at(bytes, 8))));
    }
    let name_len = u32_at(bytes, 12) as usize;
    if 16 + name_len > HEADER {
        return Err(bad("its strategy name is too long"));
    }
    let strategy = std::str::from_utf8(&bytes[16..16 + name_len])
        .map_err(|_| bad("its strategy name is not UTF-8"))?
        .to_string();
    let data = &bytes[HEADER..];
    let mut out: Vec<LogRecord> = Vec::new();
    let mut at = 0;
    while at + PREFIX + FIXED_BODY <= data.len() {
        match record_at(data, at) {
            Some((rec, len)) => {
                out.push(rec);
                at += len;
            }
            None => at += 8,
        }
    }
    out.sort_by_key(|r| r.seq);
    out.dedup_by_key(|r| r.seq);
    Ok((strategy, out))
}

/// Read the log at `path`: its strategy and its valid records by seq.
pub fn read_log(path: &Path) -> CoreResult<(String, Vec<LogRecord>)> {
    let bytes = std::fs::read(path).map_err(|e| log_error(format!("{}: {e}", path.display())))?;
    parse_log(&bytes, path)
}

/// A strategy's write-ahead log, open for appending (see the module's documentation).
pub struct LogJournal {
    path: PathBuf,
    _file: File,
    map: MmapMut,
    capacity: usize,
    /// Where the next record goes, in the data region.
    head: usize,
    /// Bytes appended since the log opened, wrap padding included, and bytes given back.
    written: u64,
    released: u64,
    /// Per record not yet released: its seq and `written` after it.
    inflight: VecDeque<(i64, u64)>,
    release: Arc<JournalRelease>,
    strategy: String,
    full: bool,
    next_seq: Rc<Cell<i64>>,
    /// Rows appended since the last [`LogJournal::drain`], shared with the session.
    pending: Rc<RefCell<Vec<LogRecord>>>,
    /// Called after each append (the kill -9 tests' crash point), when set.
    after: Option<Box<dyn FnMut() -> CoreResult<()>>>,
}

impl LogJournal {
    /// Create (or start over) the log at `path` for `strategy`, its next command being
    /// `next_seq`, with a data region of `capacity` bytes. An existing log holding a record
    /// with a seq >= `next_seq` is refused: the store has not taken it in yet, and starting
    /// over would lose it. `full`: `msync` each record.
    pub fn open(
        path: &Path,
        strategy: &str,
        next_seq: Rc<Cell<i64>>,
        capacity: usize,
        full: bool,
        after: Option<Box<dyn FnMut() -> CoreResult<()>>>,
    ) -> CoreResult<Self> {
        let fail = |e: std::io::Error| log_error(format!("{}: {e}", path.display()));
        if capacity < MIN_CAPACITY || !capacity.is_multiple_of(8) || capacity > u32::MAX as usize {
            return Err(log_error(format!(
                "capacity {capacity}: must be a multiple of 8 between {MIN_CAPACITY} and {} bytes",
                u32::MAX
            )));
        }
        if 16 + strategy.len() > HEADER {
            return Err(log_error(format!(
                "strategy {strategy:?}: its name is longer than the log's header allows ({} bytes)",
                HEADER - 16
            )));
        }
        if path.exists() {
            let (owner, records) = read_log(path)?;
            if let Some(last) = records.iter().rev().find(|r| r.seq >= next_seq.get()) {
                return Err(log_error(format!(
                    "{}: holds command {owner}/{} that the store has not taken in (its next seq is {}): open the store first",
                    path.display(),
                    last.seq,
                    next_seq.get()
                )));
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(fail)?;
        file.set_len((HEADER + capacity) as u64).map_err(fail)?;
        // SAFETY: the file is ours for the session (the node holds the state folder's lock and
        // truncates nothing else into it); the mapping's length is the file's, set just above.
        let mut map = unsafe { MmapMut::map_mut(&file) }.map_err(fail)?;
        map[..8].copy_from_slice(FILE_MAGIC);
        map[8..12].copy_from_slice(&VERSION.to_le_bytes());
        map[12..16].copy_from_slice(&(strategy.len() as u32).to_le_bytes());
        map[16..16 + strategy.len()].copy_from_slice(strategy.as_bytes());
        // Fault every page in now (a write fault allocates the page): no first touch on the
        // order path.
        for page in (HEADER..HEADER + capacity).step_by(4096) {
            map[page] = 0;
        }
        map.flush().map_err(fail)?;
        if full {
            file.sync_all().map_err(fail)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            _file: file,
            map,
            capacity,
            head: 0,
            written: 0,
            released: 0,
            inflight: VecDeque::new(),
            release: Arc::new(JournalRelease {
                committed: AtomicI64::new(i64::MIN),
            }),
            strategy: strategy.to_string(),
            full,
            next_seq,
            pending: Rc::new(RefCell::new(Vec::new())),
            after,
        })
    }

    /// The handle the store's writer releases committed records through.
    pub fn release_handle(&self) -> Arc<JournalRelease> {
        self.release.clone()
    }

    /// The rows appended since the last drain, shared (the session drains them).
    pub fn pending_rows(&self) -> Rc<RefCell<Vec<LogRecord>>> {
        self.pending.clone()
    }

    /// Append one command's record; see [`Journal::write_ahead`].
    pub fn append(&mut self, seq: i64, order_id: i64, kind: &str, request: &str, ts: i64) -> CoreResult<()> {
        let body_len = FIXED_BODY + kind.len() + request.len();
        let len = round8(PREFIX + body_len);
        if len > self.capacity || kind.len() > u16::MAX as usize {
            return Err(log_error(format!(
                "write-ahead of command {}/{seq}: {len} bytes do not fit the log {} ({} bytes)",
                self.strategy,
                self.path.display(),
                self.capacity
            )));
        }
        let committed = self.release.committed();
        while let Some(&(s, w)) = self.inflight.front() {
            if s > committed {
                break;
            }
            self.released = w;
            self.inflight.pop_front();
        }
        let waste = if self.head + len > self.capacity {
            self.capacity - self.head
        } else {
            0
        };
        if self.written - self.released + (waste + len) as u64 > self.capacity as u64 {
            return Err(log_error(format!(
                "write-ahead of command {}/{seq}: the log {} is full ({} commands written ahead are not in the store yet)",
                self.strategy,
                self.path.display(),
                self.inflight.len()
            )));
        }
        if waste > 0 {
            let at = HEADER + self.head;
            if waste >= 4 {
                self.map[at..at + 4].copy_from_slice(&WRAP_MAGIC.to_le_bytes());
            }
            self.head = 0;
        }
        let at = HEADER + self.head;
        let rec = &mut self.map[at..at + len];
        let b = PREFIX;
        rec[b..b + 8].copy_from_slice(&seq.to_le_bytes());
        rec[b + 8..b + 16].copy_from_slice(&order_id.to_le_bytes());
        rec[b + 16..b + 24].copy_from_slice(&ts.to_le_bytes());
        rec[b + 24..b + 26].copy_from_slice(&(kind.len() as u16).to_le_bytes());
        rec[b + FIXED_BODY..b + FIXED_BODY + kind.len()].copy_from_slice(kind.as_bytes());
        rec[b + FIXED_BODY + kind.len()..b + body_len].copy_from_slice(request.as_bytes());
        rec[12..16].copy_from_slice(&(body_len as u32).to_le_bytes());
        let sum = crc(&rec[12..PREFIX + body_len]);
        rec[8..12].copy_from_slice(&sum.to_le_bytes());
        rec[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        rec[..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
        if self.full {
            self.map
                .flush_range(at, len)
                .map_err(|e| log_error(format!("write-ahead of command {}/{seq}: {}: {e}", self.strategy, self.path.display())))?;
        }
        self.head += len;
        self.written += (waste + len) as u64;
        self.inflight.push_back((seq, self.written));
        self.pending.borrow_mut().push(LogRecord {
            seq,
            order_id,
            kind: kind.to_string(),
            request: request.to_string(),
            ts,
        });
        Ok(())
    }
}

/// The command's kind as the store names it, and the order it is about (0 for a cancel-all).
pub fn command_kind(cmd: &Command) -> (&'static str, u64) {
    match cmd {
        Command::Submit(spec) => ("submit", spec.id),
        Command::SubmitList { orders, .. } => ("submit_list", orders.first().map_or(0, |o| o.id)),
        Command::Modify { id, .. } => ("modify", *id),
        Command::Cancel { id } => ("cancel", *id),
        Command::CancelAll { .. } => ("cancel_all", 0),
    }
}

impl Journal for LogJournal {
    fn write_ahead(&mut self, cmd: &Command, ts: i64) -> CoreResult<()> {
        let (kind, id) = command_kind(cmd);
        let request = serde_json::to_string(cmd)
            .map_err(|e| log_error(format!("cannot encode the command: {e}")))?;
        let oid = i64::try_from(id).map_err(|_| log_error(format!("order id {id} does not fit the store")))?;
        let seq = self.next_seq.get();
        self.append(seq, oid, kind, &request, ts)?;
        self.next_seq.set(seq + 1);
        match self.after.as_mut() {
            Some(f) => f(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, cap: usize, next: i64) -> LogJournal {
        LogJournal::open(&dir.join("s.log"), "alpha", Rc::new(Cell::new(next)), cap, false, None).unwrap()
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trader-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn records_read_back_in_seq_order() {
        let d = tmp("read");
        let mut j = open(&d, MIN_CAPACITY, 1);
        for s in 1..=50 {
            j.append(s, s * 10, "submit", &format!("{{\"n\":{s}}}"), 1_000 + s).unwrap();
        }
        let (who, recs) = read_log(&d.join("s.log")).unwrap();
        assert_eq!(who, "alpha");
        assert_eq!(recs.len(), 50);
        assert_eq!(recs[7], LogRecord { seq: 8, order_id: 80, kind: "submit".into(), request: "{\"n\":8}".into(), ts: 1_008 });
        assert_eq!(j.pending_rows().borrow().len(), 50);
    }

    #[test]
    fn a_torn_record_is_not_a_command() {
        let d = tmp("torn");
        let mut j = open(&d, MIN_CAPACITY, 1);
        j.append(1, 1, "submit", "{\"a\":1}", 1).unwrap();
        j.append(2, 2, "cancel", "{\"b\":2}", 2).unwrap();
        // Flip one byte of the second record's request: its CRC no longer holds.
        let at = HEADER + round8(PREFIX + FIXED_BODY + 6 + 7) + PREFIX + FIXED_BODY + 6 + 2;
        j.map[at] ^= 0x20;
        let (_, recs) = read_log(&d.join("s.log")).unwrap();
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn the_ring_reuses_released_bytes_and_refuses_when_full() {
        let d = tmp("ring");
        let mut j = open(&d, MIN_CAPACITY, 1);
        let req = "x".repeat(1000);
        let rel = j.release_handle();
        let mut seq = 1;
        // Fill without releasing: refused once the ring holds no more room.
        let err = loop {
            match j.append(seq, seq, "submit", &req, seq) {
                Ok(()) => seq += 1,
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("is full"), "{err}");
        let held = seq - 1;
        assert!(held > 50 && held < 70, "{held}");
        // Release all but the last 10: appends go on, over the released bytes (several laps).
        rel.release(held - 10);
        for _ in 0..500 {
            j.append(seq, seq, "submit", &req, seq).unwrap();
            rel.release(seq - 10);
            seq += 1;
        }
        let (_, recs) = read_log(&d.join("s.log")).unwrap();
        let last = recs.last().unwrap().seq;
        assert_eq!(last, seq - 1);
        // Every unreleased record is still there, whole.
        let kept: Vec<i64> = recs.iter().map(|r| r.seq).filter(|&s| s > seq - 12).collect();
        assert_eq!(kept, ((seq - 11)..seq).collect::<Vec<_>>());
    }

    #[test]
    fn reopening_over_records_the_store_lacks_is_refused() {
        let d = tmp("reopen");
        {
            let mut j = open(&d, MIN_CAPACITY, 5);
            j.append(5, 1, "submit", "{}", 1).unwrap();
        }
        let again = LogJournal::open(&d.join("s.log"), "alpha", Rc::new(Cell::new(5)), MIN_CAPACITY, false, None);
        let msg = again.err().unwrap().to_string();
        assert!(msg.contains("alpha/5") && msg.contains("open the store first"), "{msg}");
        // Once the store holds seq 5, the log starts over.
        let j = LogJournal::open(&d.join("s.log"), "alpha", Rc::new(Cell::new(6)), MIN_CAPACITY, false, None).unwrap();
        drop(j);
        assert!(read_log(&d.join("s.log")).unwrap().1.is_empty());
    }

    #[test]
    fn a_foreign_file_is_named() {
        let d = tmp("foreign");
        std::fs::write(d.join("x.log"), b"hello").unwrap();
        let msg = read_log(&d.join("x.log")).err().unwrap().to_string();
        assert!(msg.contains("x.log") && msg.contains("not a trader write-ahead log"), "{msg}");
    }
}
