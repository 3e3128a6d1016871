//! The audit log of the risk engine: every decision that changes what goes out is an entry —
//! a change of trading state, a denied command (the risk engine's or the account's), an order a
//! layer resized, the bypass flag — and the end of the run; hash-chained so that an edited,
//! reordered, removed or appended entry is detected by [`AuditLog::verify`].
//!
//! **Kinds.** `"state"` (`from`/`to`: the trading states; `source`: who asked; `reason`: why),
//! `"denial"` (a refused command: `orders` its order ids, `code` the reason code, `source` the
//! deciding part — `"risk"` for the checks and the trading state, a layer's name for its veto,
//! `"account"` for the account's balance/holdings/margin — `reason` the sentence with the numbers,
//! `from` = `to` the trading state it was decided in), `"resize"` (`orders` the order, `from`/`to`
//! the quantities before and after, `source` the layer, `reason` the layer's explanation),
//! `"bypass"`, `"seal"`.
//!
//! **Chain.** Entry `i` stores `prev_hash` = entry `i - 1`'s `hash` (64 zeros for the first) and
//! `hash` = H(canonical bytes of `seq, ts, kind, from, to, source, reason, prev_hash`), hex. The
//! canonical bytes are a version tag `trader-audit-v1`, `seq` as u64 LE, `ts` as i64 LE, then each
//! text field as a u32 LE byte length followed by its UTF-8 bytes, then the 32 bytes of
//! `prev_hash` (so no two different entries encode to the same bytes). `seq` is the entry's index.
//! An entry with a `code` or `orders` (denials, resizes) is tagged `trader-audit-v2` instead and
//! its bytes go on with `code` (length and bytes), the number of orders as u32 LE and each id as
//! u64 LE: dropping or editing either is detected like any other edit, and a log of v1 entries
//! verifies as before.
//!
//! **Folding.** A strategy that keeps sending orders its account cannot pay for (or that a HALTED
//! or REDUCING state refuses) is denied on every bar; one entry per denial made the log grow with
//! the run (1M bars: 1M entries, 1.3 GB more memory, 7x slower). [`AuditLog::deny`] folds a run
//! of *consecutive* denials with the same key — the same reason `code`, the same `source`, the
//! same trading state (`from` = `to`) — into one entry, past the first [`UNFOLDED`] denials of
//! the streak (those stay entries of their own: an ordinary run has one entry per denial): `ts` and `reason` are the first denial's,
//! `last_ts` and `last_reason` the last one's (a balance denial's sentence changes with the price),
//! `count` the number of denials and `orders` every order id of every one of them, in order. Any
//! other entry (a state change, a resize, a denial with another key, the bypass flag, the seal)
//! closes the open run first, so the chain stays in event order. A run closes at [`FOLD_CAP`]
//! denials or order ids, so no entry grows without bound. The key holds no instrument or side
//! (the entry has no such field; the sentences and the order ids say them): two instruments
//! refused in turn for the same reason fold together.
//!
//! A run of one denial is exactly the single denial entry it always was (no `count`, `last_ts`,
//! `last_reason`; the v2 bytes below). A run of more is tagged `trader-audit-v3`: the v2 bytes,
//! then `count` as u64 LE, then `last_ts` and `last_reason`, each as one byte (1 present, 0
//! absent) followed, when present, by the i64 LE / the length-prefixed text: editing the count,
//! the last time, the last sentence or any order id of a folded entry breaks its hash.
//!
//! The open run is not in [`AuditLog::entries`] until it closes (at the latest, the seal);
//! [`AuditLog::open_run`] shows it hashed as if it closed now, and [`AuditLog::snapshot`] the
//! whole log that way (what a reading before the end of the run gets).
//!
//! **Seal.** [`AuditLog::seal`] appends a last entry of kind `"seal"` whose `reason` is
//! `"entries=N"` (N = number of entries before it); `verify` requires it, so removing the last
//! entries (truncation) is detected too.
//!
//! **Key.** H is SHA-256 by default: anyone can check the chain, and anyone can also rebuild a
//! whole forged chain from scratch. With a key (`RiskConfig::audit_key`, the config dict's
//! `"audit_key"`), H is HMAC-SHA256 keyed by it: a forger without the key cannot compute valid
//! hashes, and verifying needs the same key. Keep the key out of the log file.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CoreError, CoreResult};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A run of folded denials closes once it holds this many denials or order ids (see the
/// [module docs](self)): an entry holds about 4096 ids (32 KB; more only by the ids of the
/// command that reached the cap), and a strategy refused on every bar of a 1M-bar run writes
/// 245 entries instead of 1M. Small enough that a reading of the log lags the events by at most
/// one open run, large enough that the per-entry cost (the strings, the hash, a Python dict)
/// disappears next to the per-denial cost (the sentence every refused order gets).
pub const FOLD_CAP: usize = 4096;

/// The first this many denials of a streak (consecutive denials with the same key) are entries
/// of their own; only the rest of the streak folds (see the [module docs](self)). An ordinary run
/// keeps one entry per denial; only a strategy refused again and again gets folded entries.
pub const UNFOLDED: u64 = 1000;

/// One audit entry (see the [module docs](self) for the kinds and what each field holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub ts: i64,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub source: String,
    pub reason: String,
    /// The reason code of a denial (empty for other kinds).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The orders a denial or a resize is about (empty for other kinds); a folded run's: every
    /// order id of every denial in it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<u64>,
    /// How many denials the entry stands for: 1 for a single denial and every other kind (then
    /// absent from the JSON), more for a folded run.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// A folded run's last denial's time (`ts` is the first's); None for a single entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ts: Option<i64>,
    /// A folded run's last denial's sentence (`reason` is the first's); None for a single entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl AuditEntry {
    /// Whether the entry is a folded run of more than one denial (hashed with the v3 tag).
    pub fn is_folded(&self) -> bool {
        self.count != 1 || self.last_ts.is_some() || self.last_reason.is_some()
    }
}

/// What an entry is about beyond its kind and states: a reason code and order ids (denials,
/// resizes); [`About::NONE`] for state changes, the bypass flag and the seal.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    pub code: &'a str,
    pub orders: &'a [u64],
}

impl About<'_> {
    pub const NONE: About<'static> = About {
        code: "",
        orders: &[],
    };
}

/// Where and why verification failed: `index` is the position of the first bad entry in the
/// list given (the list's length when the seal is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError {
    pub index: usize,
    pub problem: String,
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit entry {}: {}", self.index, self.problem)
    }
}

impl std::error::Error for AuditError {}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (val(b[2 * i])? << 4) | val(b[2 * i + 1])?;
    }
    Some(out)
}

/// The canonical bytes an entry's hash covers (everything but `hash`). `None` when `prev_hash` is
/// not 64 lower-case hex digits.
fn canonical(e: &AuditEntry) -> Option<Vec<u8>> {
    let prev = unhex(&e.prev_hash)?;
    let folded = e.is_folded();
    let v2 = folded || !e.code.is_empty() || !e.orders.is_empty();
    let last_len = e.last_reason.as_ref().map_or(0, String::len);
    let mut buf = Vec::with_capacity(
        120 + e.reason.len() + last_len + e.source.len() + e.code.len() + 8 * e.orders.len(),
    );
    buf.extend_from_slice(if folded {
        b"trader-audit-v3"
    } else if v2 {
        b"trader-audit-v2"
    } else {
        b"trader-audit-v1"
    });
    buf.extend_from_slice(&e.seq.to_le_bytes());
    buf.extend_from_slice(&e.ts.to_le_bytes());
    for s in [&e.kind, &e.from, &e.to, &e.source, &e.reason] {
        push_str(&mut buf, s);
    }
    buf.extend_from_slice(&prev);
    if v2 {
        push_str(&mut buf, &e.code);
        buf.extend_from_slice(&(e.orders.len() as u32).to_le_bytes());
        for id in &e.orders {
            buf.extend_from_slice(&id.to_le_bytes());
        }
    }
    if folded {
        buf.extend_from_slice(&e.count.to_le_bytes());
        match e.last_ts {
            Some(t) => {
                buf.push(1);
                buf.extend_from_slice(&t.to_le_bytes());
            }
            None => buf.push(0),
        }
        match &e.last_reason {
            Some(r) => {
                buf.push(1);
                push_str(&mut buf, r);
            }
            None => buf.push(0),
        }
    }
    Some(buf)
}

/// The hash of `e` (hex), SHA-256 or HMAC-SHA256 with `key`.
pub fn entry_hash(e: &AuditEntry, key: Option<&[u8]>) -> Option<String> {
    let bytes = canonical(e)?;
    Some(match key {
        None => hex(&Sha256::digest(&bytes)),
        Some(k) => {
            // HMAC accepts keys of any length (never an error for HMAC-SHA256).
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k).ok()?;
            mac.update(&bytes);
            hex(&mac.finalize().into_bytes())
        }
    })
}

/// The hash-chained log the risk engine writes.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
    key: Option<Vec<u8>>,
    sealed: bool,
    /// The open run of folded denials (its `seq` and `prev_hash` set, its `hash` not yet):
    /// pushed to `entries` by [`Self::close_run`].
    open: Option<AuditEntry>,
    /// The current streak of denials with one key (code, source, state) and its length so far;
    /// any other entry ends it.
    streak: Option<(String, String, String, u64)>,
    /// How many denials of a streak stay entries of their own ([`UNFOLDED`] by default).
    unfolded: u64,
}

/// One entry as a checkpoint holds it: every field, always (the JSON form of [`AuditEntry`]
/// leaves empty fields out, which a positional binary format cannot).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryRow(
    u64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Vec<u64>,
    u64,
    Option<i64>,
    Option<String>,
    String,
    String,
);

impl From<&AuditEntry> for EntryRow {
    fn from(e: &AuditEntry) -> Self {
        EntryRow(
            e.seq,
            e.ts,
            e.kind.clone(),
            e.from.clone(),
            e.to.clone(),
            e.source.clone(),
            e.reason.clone(),
            e.code.clone(),
            e.orders.clone(),
            e.count,
            e.last_ts,
            e.last_reason.clone(),
            e.prev_hash.clone(),
            e.hash.clone(),
        )
    }
}

impl From<EntryRow> for AuditEntry {
    fn from(r: EntryRow) -> Self {
        let EntryRow(
            seq,
            ts,
            kind,
            from,
            to,
            source,
            reason,
            code,
            orders,
            count,
            last_ts,
            last_reason,
            prev_hash,
            hash,
        ) = r;
        AuditEntry {
            seq,
            ts,
            kind,
            from,
            to,
            source,
            reason,
            code,
            orders,
            count,
            last_ts,
            last_reason,
            prev_hash,
            hash,
        }
    }
}

/// The dynamic state of an [`AuditLog`] (a checkpoint): the entries, the open folded run and
/// its streak. The key is the configuration's, never saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditState {
    entries: Vec<EntryRow>,
    sealed: bool,
    open: Option<EntryRow>,
    streak: Option<(String, String, String, u64)>,
    unfolded: u64,
}

impl AuditLog {
    /// The log's state for a checkpoint (see [`AuditState`]).
    pub fn save(&self) -> AuditState {
        AuditState {
            entries: self.entries.iter().map(EntryRow::from).collect(),
            sealed: self.sealed,
            open: self.open.as_ref().map(EntryRow::from),
            streak: self.streak.clone(),
            unfolded: self.unfolded,
        }
    }

    /// Take back a saved state (the key stays this log's).
    pub fn load(&mut self, st: AuditState) {
        self.entries = st.entries.into_iter().map(AuditEntry::from).collect();
        self.sealed = st.sealed;
        self.open = st.open.map(AuditEntry::from);
        self.streak = st.streak;
        self.unfolded = st.unfolded;
    }

    /// An empty log; `key`: HMAC key (None: plain SHA-256).
    pub fn new(key: Option<Vec<u8>>) -> Self {
        Self {
            entries: Vec::new(),
            key,
            sealed: false,
            open: None,
            streak: None,
            unfolded: UNFOLDED,
        }
    }

    /// The same log with the first `n` denials of a streak kept as entries of their own (the
    /// default is [`UNFOLDED`]; 0 folds from the first denial).
    pub fn with_unfolded(mut self, n: u64) -> Self {
        self.unfolded = n;
        self
    }

    /// The closed entries: all of them once sealed; before that, without the open run of
    /// denials ([`Self::open_run`], [`Self::snapshot`]).
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// The open run of denials as the entry it would be if it closed now (hashed), if any.
    pub fn open_run(&self) -> Option<AuditEntry> {
        self.open.as_ref().map(|r| {
            let mut e = r.clone();
            e.hash = entry_hash(&e, self.key.as_deref()).unwrap_or_default();
            e
        })
    }

    /// Every entry, the open run included as [`Self::open_run`] shows it: the log as it would
    /// read if the run ended now (a later denial of the same run extends that last entry).
    pub fn snapshot(&self) -> Vec<AuditEntry> {
        let mut v = self.entries.clone();
        v.extend(self.open_run());
        v
    }

    /// The hash the next entry chains to.
    fn last_hash(&self) -> String {
        self.entries
            .last()
            .map_or_else(|| GENESIS.to_string(), |e| e.hash.clone())
    }

    /// Close the open run of denials now (a no-op without one): the next denial starts a new
    /// entry. A writer that streams the log calls it wherever it writes out what it has, so no
    /// denial it has seen waits in the open run (a backtest writes its log once, sealed, at the
    /// end: it never needs to).
    pub fn flush(&mut self) {
        self.close_run();
    }

    /// Hash the open run of denials and append it (a no-op without one).
    fn close_run(&mut self) {
        if let Some(mut e) = self.open.take() {
            // The previous hash is always 64 hex digits here, so the encoding exists.
            e.hash = entry_hash(&e, self.key.as_deref()).unwrap_or_default();
            self.entries.push(e);
        }
    }

    /// Record a denial: `state` the trading state it was decided in, `source` who decided,
    /// `reason` its sentence, `code` its reason code, `orders` the orders it is about. Folded
    /// into the open run when that has the same code, source and state (see the
    /// [module docs](self)); otherwise the open run closes and this denial opens the next one.
    /// Ignored once sealed.
    pub fn deny(
        &mut self,
        ts: i64,
        state: &str,
        source: &str,
        reason: &str,
        code: &str,
        orders: &[u64],
    ) {
        if self.sealed {
            return;
        }
        let n = match &mut self.streak {
            Some((c, s, st, n)) if c == code && s == source && st == state => {
                *n += 1;
                *n
            }
            _ => {
                self.streak = Some((code.to_string(), source.to_string(), state.to_string(), 1));
                1
            }
        };
        if n <= self.unfolded {
            // the head of a streak: an entry of its own (a run of one, the v2 bytes)
            self.close_run();
        }
        match &mut self.open {
            Some(run) if run.code == code && run.source == source && run.from == state => {
                run.count += 1;
                run.orders.extend_from_slice(orders);
                run.last_ts = Some(ts);
                match &mut run.last_reason {
                    // the buffer of the previous last sentence serves the next one
                    Some(last) => {
                        last.clear();
                        last.push_str(reason);
                    }
                    None => run.last_reason = Some(reason.to_string()),
                }
            }
            _ => {
                self.close_run();
                self.open = Some(AuditEntry {
                    seq: self.entries.len() as u64,
                    ts,
                    kind: "denial".to_string(),
                    from: state.to_string(),
                    to: state.to_string(),
                    source: source.to_string(),
                    reason: reason.to_string(),
                    code: code.to_string(),
                    orders: orders.to_vec(),
                    count: 1,
                    last_ts: None,
                    last_reason: None,
                    prev_hash: self.last_hash(),
                    hash: String::new(),
                });
            }
        }
        if let Some(run) = &self.open
            && (n <= self.unfolded
                || run.count as usize >= FOLD_CAP
                || run.orders.len() >= FOLD_CAP)
        {
            self.close_run();
        }
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Append an entry (ignored once sealed: the seal is the last entry); `about`: the reason
    /// code and orders of a denial or a resize ([`About::NONE`] for the other kinds). It closes
    /// the open run of denials first; a denial appended here is never folded (the engine's go
    /// through [`Self::deny`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "the entry's fields, one argument each"
    )]
    pub fn append(
        &mut self,
        ts: i64,
        kind: &str,
        from: &str,
        to: &str,
        source: &str,
        reason: &str,
        about: About<'_>,
    ) {
        if self.sealed {
            return;
        }
        self.close_run();
        self.streak = None;
        let prev_hash = self.last_hash();
        let mut e = AuditEntry {
            seq: self.entries.len() as u64,
            ts,
            kind: kind.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            source: source.to_string(),
            reason: reason.to_string(),
            code: about.code.to_string(),
            orders: about.orders.to_vec(),
            count: 1,
            last_ts: None,
            last_reason: None,
            prev_hash,
            hash: String::new(),
        };
        // The previous hash is always 64 hex digits here, so the encoding exists.
        e.hash = entry_hash(&e, self.key.as_deref()).unwrap_or_default();
        self.entries.push(e);
    }

    /// Close the log with a "seal" entry carrying the number of entries before it. Idempotent.
    pub fn seal(&mut self, ts: i64, state: &str) {
        if self.sealed {
            return;
        }
        self.close_run();
        let n = self.entries.len();
        self.append(
            ts,
            "seal",
            state,
            state,
            "engine",
            &format!("entries={n}"),
            About::NONE,
        );
        self.sealed = true;
    }

    /// Check a sealed log: every hash, the chain of `prev_hash`, the sequence numbers, and the
    /// final seal with the right count. `key` must be the one the log was written with.
    pub fn verify(entries: &[AuditEntry], key: Option<&[u8]>) -> Result<(), AuditError> {
        Self::verify_chain(entries, key)?;
        let bad = |index: usize, problem: String| Err(AuditError { index, problem });
        let Some(last) = entries.last() else {
            return bad(0, "empty log: the seal entry is missing".into());
        };
        if last.kind != "seal" {
            return bad(
                entries.len(),
                "the last entry is not the seal: entries were removed from the end (or the log \
                 was not sealed)"
                    .into(),
            );
        }
        let want = format!("entries={}", entries.len() - 1);
        if last.reason != want {
            return bad(
                entries.len() - 1,
                format!("seal says {:?}, the log has {want}", last.reason),
            );
        }
        Ok(())
    }

    /// Check the chain of a log that may still be open (no seal required; a seal anywhere but at
    /// the end is an error).
    pub fn verify_chain(entries: &[AuditEntry], key: Option<&[u8]>) -> Result<(), AuditError> {
        let bad = |index: usize, problem: String| Err(AuditError { index, problem });
        let mut prev = GENESIS;
        for (i, e) in entries.iter().enumerate() {
            if e.seq != i as u64 {
                return bad(
                    i,
                    format!(
                        "sequence number {} at position {i}: entries reordered or removed",
                        e.seq
                    ),
                );
            }
            if e.prev_hash != prev {
                return bad(
                    i,
                    "prev_hash does not match the previous entry's hash: entries reordered or \
                     removed"
                        .into(),
                );
            }
            match entry_hash(e, key) {
                Some(h) if h == e.hash => {}
                Some(_) => {
                    return bad(
                        i,
                        "hash mismatch: the entry was edited (or the key is wrong)".into(),
                    );
                }
                None => return bad(i, "prev_hash is not 64 hex digits".into()),
            }
            if e.kind == "seal" && i + 1 != entries.len() {
                return bad(i + 1, "entries after the seal".into());
            }
            prev = &e.hash;
        }
        Ok(())
    }

    /// The entries as JSON lines (one object per line, newline-terminated).
    pub fn to_jsonl(entries: &[AuditEntry]) -> String {
        let mut s = String::new();
        for e in entries {
            // A struct of strings and integers always serializes.
            s += &serde_json::to_string(e).unwrap_or_default();
            s.push('\n');
        }
        s
    }

    /// Parse JSON lines (blank lines skipped); the error names the line.
    pub fn from_jsonl(text: &str) -> CoreResult<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e = serde_json::from_str(line).map_err(|e| CoreError::InvalidArgument {
                name: "audit",
                reason: format!("line {}: not an audit entry: {e}", n + 1),
            })?;
            out.push(e);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(key: Option<&[u8]>) -> Vec<AuditEntry> {
        let mut l = AuditLog::new(key.map(|k| k.to_vec())).with_unfolded(0);
        l.append(
            0,
            "bypass",
            "active",
            "active",
            "config",
            "checks off",
            About::NONE,
        );
        l.append(
            10,
            "state",
            "active",
            "reducing",
            "drawdown",
            "risk: drawdown limit",
            About::NONE,
        );
        l.append(
            15,
            "denial",
            "reducing",
            "reducing",
            "risk",
            "buy 1 X would not reduce the position",
            About {
                code: "state_reducing",
                orders: &[7],
            },
        );
        l.append(
            16,
            "resize",
            "2.000",
            "1.000",
            "kelly",
            "f* = 0.10 over the last 20 trades",
            About {
                code: "",
                orders: &[8],
            },
        );
        l.append(
            20,
            "state",
            "reducing",
            "halted",
            "command",
            "operator",
            About::NONE,
        );
        l.append(
            30,
            "state",
            "halted",
            "active",
            "command",
            "resume",
            About::NONE,
        );
        // three balance denials in a row: one folded entry
        for (ts, id) in [(31, 9), (32, 10), (33, 11)] {
            let r = format!("buy 1 X at {ts}.00 costs {ts}.00; free balance 1.00");
            l.deny(ts, "active", "account", &r, "insufficient_balance", &[id]);
        }
        l.seal(40, "active");
        assert!(l.is_sealed());
        l.entries().to_vec()
    }

    fn fails(entries: &[AuditEntry], key: Option<&[u8]>) -> AuditError {
        AuditLog::verify(entries, key).expect_err("tampering must be detected")
    }

    #[test]
    fn a_clean_log_verifies_and_round_trips_through_jsonl() {
        for key in [None, Some(&b"secret"[..])] {
            let e = log(key);
            assert_eq!(e.len(), 8);
            assert_eq!(e[7].reason, "entries=7");
            assert_eq!(
                (e[6].count, e[6].orders.as_slice(), e[6].ts, e[6].last_ts),
                (3, &[9, 10, 11][..], 31, Some(33))
            );
            assert_eq!(
                (e[2].code.as_str(), e[2].orders.as_slice()),
                ("state_reducing", &[7][..])
            );
            AuditLog::verify(&e, key).unwrap();
            let back = AuditLog::from_jsonl(&AuditLog::to_jsonl(&e)).unwrap();
            assert_eq!(back, e);
        }
        assert!(AuditLog::from_jsonl("{\"seq\": 1}\n").is_err());
    }

    #[test]
    fn editing_any_field_of_any_entry_is_detected() {
        for key in [None, Some(&b"k"[..])] {
            let clean = log(key);
            for i in 0..clean.len() {
                for field in 0..14 {
                    let mut e = clean.clone();
                    let x = &mut e[i];
                    match field {
                        0 => x.seq += 1,
                        1 => x.ts += 1,
                        2 => x.kind.push('x'),
                        3 => x.from = "emergency".into(),
                        4 => x.to = "paused".into(),
                        5 => x.source.push('x'),
                        6 => x.reason.push('x'),
                        7 => x.prev_hash = x.hash.clone(),
                        8 => x.hash = GENESIS.into(),
                        9 => x.code.push('x'),
                        10 if x.orders.is_empty() => x.orders.push(1),
                        10 => x.orders[0] += 1,
                        11 => x.count += 1,
                        12 => x.last_ts = Some(x.last_ts.unwrap_or(x.ts) + 1),
                        _ => x.last_reason.get_or_insert_with(String::new).push('x'),
                    }
                    let err = fails(&e, key);
                    assert!(err.index <= i + 1, "entry {i} field {field}: {err}");
                }
            }
        }
    }

    #[test]
    fn dropping_what_a_denial_is_about_is_detected() {
        let clean = log(None);
        let mut e = clean.clone();
        e[2].orders.clear();
        assert_eq!(fails(&e, None).index, 2);
        let mut e = clean.clone();
        e[2].code.clear();
        assert_eq!(fails(&e, None).index, 2);
        let mut e = clean;
        e[3].orders.clear();
        assert_eq!(fails(&e, None).index, 3);
    }

    /// Entries without a code or orders hash exactly as before them (the v1 bytes, rebuilt here
    /// by hand): logs written before denials were audited still verify.
    #[test]
    fn entries_without_code_or_orders_keep_the_v1_bytes() {
        let e = &log(None)[1];
        let mut b = b"trader-audit-v1".to_vec();
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&10i64.to_le_bytes());
        for s in [
            "state",
            "active",
            "reducing",
            "drawdown",
            "risk: drawdown limit",
        ] {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        b.extend_from_slice(&unhex(&e.prev_hash).unwrap());
        assert_eq!(e.hash, hex(&Sha256::digest(&b)));
        // and the JSON of such an entry has no `code` / `orders` keys
        let j = AuditLog::to_jsonl(std::slice::from_ref(e));
        assert!(!j.contains("code") && !j.contains("orders"), "{j}");
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
        let mut e = log(None);
        e[1].reason = "forged".into();
        e[1].hash = entry_hash(&e[1], None).unwrap();
        let err = fails(&e, None);
        assert_eq!(err.index, 2);
        assert!(err.problem.contains("prev_hash"), "{err}");
    }

    #[test]
    fn a_keyed_chain_cannot_be_rebuilt_without_the_key() {
        let key = b"operator key";
        let mut e = log(Some(key));
        // A forger rewrites an entry and recomputes the whole chain with plain SHA-256.
        e[2].to = "active".into();
        let mut prev = GENESIS.to_string();
        for x in &mut e {
            x.prev_hash = prev.clone();
            x.hash = entry_hash(x, None).unwrap();
            prev = x.hash.clone();
        }
        AuditLog::verify(&e, None).unwrap();
        assert_eq!(fails(&e, Some(key)).index, 0);
        // ... and the right chain with the wrong key fails too.
        assert_eq!(fails(&log(Some(key)), Some(b"wrong")).index, 0);
    }

    #[test]
    fn swapping_two_entries_is_detected() {
        let clean = log(None);
        for i in 0..clean.len() {
            for j in i + 1..clean.len() {
                let mut e = clean.clone();
                e.swap(i, j);
                assert_eq!(fails(&e, None).index, i, "swap {i} {j}");
            }
        }
    }

    #[test]
    fn deleting_first_middle_or_last_is_detected() {
        let clean = log(None);
        for i in 0..clean.len() {
            let mut e = clean.clone();
            e.remove(i);
            let err = fails(&e, None);
            assert!(err.index <= i, "delete {i}: {err}");
        }
        // the seal removed: the last entry is no longer a seal
        let mut e = clean.clone();
        e.pop();
        assert!(fails(&e, None).problem.contains("seal"));
        // truncated to nothing
        assert!(fails(&[], None).problem.contains("seal"));
        // entries appended after the seal
        let mut e = clean.clone();
        let mut extra = e[1].clone();
        extra.seq = e.len() as u64;
        extra.prev_hash = e.last().unwrap().hash.clone();
        extra.hash = entry_hash(&extra, None).unwrap();
        e.push(extra);
        assert!(fails(&e, None).problem.contains("after the seal"));
    }

    #[test]
    fn a_forged_seal_count_is_detected() {
        let mut e = log(None);
        e.remove(5);
        // renumber and rechain, then a seal lying about the count
        let mut prev = GENESIS.to_string();
        for (i, x) in e.iter_mut().enumerate() {
            x.seq = i as u64;
            x.prev_hash = prev.clone();
            x.hash = entry_hash(x, None).unwrap();
            prev = x.hash.clone();
        }
        let err = fails(&e, None);
        assert!(err.problem.contains("seal says"), "{err}");
    }

    // ---- folded runs of denials ----------------------------------------------------------

    /// `n` denials in a row with one key (ids 1..=n, ts 100 + id, a sentence naming the price).
    fn denied(log: &mut AuditLog, ids: std::ops::RangeInclusive<u64>) {
        for id in ids {
            log.deny(
                100 + id as i64,
                "halted",
                "risk",
                &format!("order {id}: trading state HALTED lets nothing out"),
                "state_halted",
                &[id],
            );
        }
    }

    #[test]
    fn a_run_of_one_denial_is_the_single_denial_entry_it_always_was() {
        for key in [None, Some(&b"k"[..])] {
            let mut folded = AuditLog::new(key.map(<[u8]>::to_vec)).with_unfolded(0);
            let mut single = AuditLog::new(key.map(<[u8]>::to_vec)).with_unfolded(0);
            for l in [&mut folded, &mut single] {
                l.append(5, "state", "active", "halted", "command", "op", About::NONE);
            }
            denied(&mut folded, 1..=1);
            single.append(
                101,
                "denial",
                "halted",
                "halted",
                "risk",
                "order 1: trading state HALTED lets nothing out",
                About {
                    code: "state_halted",
                    orders: &[1],
                },
            );
            folded.seal(200, "halted");
            single.seal(200, "halted");
            assert_eq!(folded.entries(), single.entries());
            let e = &folded.entries()[1];
            assert_eq!((e.count, e.last_ts, &e.last_reason), (1, None, &None));
            let j = AuditLog::to_jsonl(std::slice::from_ref(e));
            assert!(
                !j.contains("count") && !j.contains("last_"),
                "a single denial's JSON is unchanged: {j}"
            );
        }
    }

    #[test]
    fn consecutive_denials_with_one_key_fold_into_one_entry() {
        let mut l = AuditLog::new(None).with_unfolded(0);
        // a list's denial (two ids) in the middle of the run
        l.deny(
            1,
            "active",
            "account",
            "first",
            "insufficient_balance",
            &[4],
        );
        l.deny(
            2,
            "active",
            "account",
            "second",
            "insufficient_balance",
            &[5, 6],
        );
        l.deny(3, "active", "account", "last", "insufficient_balance", &[7]);
        assert!(
            l.entries().is_empty(),
            "the run is open until something closes it"
        );
        let open = l.open_run().expect("an open run");
        assert_eq!(l.snapshot(), vec![open.clone()]);
        AuditLog::verify_chain(&l.snapshot(), None).unwrap();
        l.seal(9, "active");
        let e = l.entries();
        assert_eq!(e.len(), 2);
        let d = &e[0];
        assert_eq!(
            (d.ts, d.reason.as_str(), d.last_ts, d.last_reason.as_deref()),
            (1, "first", Some(3), Some("last"))
        );
        assert_eq!((d.count, d.orders.as_slice()), (3, &[4, 5, 6, 7][..]));
        assert_eq!(d, &open, "the snapshot showed the entry the run closed as");
        assert_eq!(e[1].reason, "entries=1");
        AuditLog::verify(e, None).unwrap();
        let j = AuditLog::to_jsonl(e);
        assert!(
            j.contains("\"count\":3") && j.contains("\"last_reason\":\"last\""),
            "{j}"
        );
        assert_eq!(AuditLog::from_jsonl(&j).unwrap(), e);
    }

    /// The v3 bytes of a folded entry, rebuilt by hand from the module docs.
    #[test]
    fn a_folded_entry_hashes_the_v3_bytes() {
        let mut l = AuditLog::new(None).with_unfolded(0);
        denied(&mut l, 1..=2);
        l.seal(200, "halted");
        let e = &l.entries()[0];
        let mut b = b"trader-audit-v3".to_vec();
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&101i64.to_le_bytes());
        for s in [
            "denial",
            "halted",
            "halted",
            "risk",
            "order 1: trading state HALTED lets nothing out",
        ] {
            push_str(&mut b, s);
        }
        b.extend_from_slice(&[0u8; 32]);
        push_str(&mut b, "state_halted");
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes()); // count
        b.push(1);
        b.extend_from_slice(&102i64.to_le_bytes());
        b.push(1);
        push_str(&mut b, "order 2: trading state HALTED lets nothing out");
        assert_eq!(e.hash, hex(&Sha256::digest(&b)));
    }

    #[test]
    fn any_other_entry_or_another_key_closes_the_run_in_event_order() {
        let mut l = AuditLog::new(None).with_unfolded(0);
        denied(&mut l, 1..=2);
        l.append(
            110,
            "state",
            "halted",
            "active",
            "command",
            "go",
            About::NONE,
        );
        denied(&mut l, 3..=4);
        // another code, another source, another state: each its own entry
        l.deny(120, "halted", "risk", "x", "state_reducing", &[5]);
        l.deny(121, "halted", "panic", "x", "state_reducing", &[6]);
        l.deny(122, "active", "panic", "x", "state_reducing", &[7]);
        l.append(
            123,
            "resize",
            "2",
            "1",
            "kelly",
            "f*",
            About {
                code: "",
                orders: &[8],
            },
        );
        denied(&mut l, 9..=9);
        l.append(
            130,
            "bypass",
            "active",
            "active",
            "config",
            "off",
            About::NONE,
        );
        denied(&mut l, 10..=12);
        l.seal(200, "halted");
        let rows: Vec<(&str, u64, Vec<u64>)> = l
            .entries()
            .iter()
            .map(|e| (e.kind.as_str(), e.count, e.orders.clone()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("denial", 2, vec![1, 2]),
                ("state", 1, vec![]),
                ("denial", 2, vec![3, 4]),
                ("denial", 1, vec![5]),
                ("denial", 1, vec![6]),
                ("denial", 1, vec![7]),
                ("resize", 1, vec![8]),
                ("denial", 1, vec![9]),
                ("bypass", 1, vec![]),
                ("denial", 3, vec![10, 11, 12]),
                ("seal", 1, vec![]),
            ]
        );
        AuditLog::verify(l.entries(), None).unwrap();
        // nothing lands after the seal
        denied(&mut l, 13..=13);
        assert_eq!(l.entries().len(), 11);
        assert!(l.open_run().is_none());
    }

    #[test]
    fn a_run_closes_at_the_cap_and_flush_closes_it_at_once() {
        let cap = FOLD_CAP as u64;
        let mut l = AuditLog::new(None).with_unfolded(0);
        denied(&mut l, 1..=cap);
        assert_eq!(
            l.entries().len(),
            1,
            "closed the moment it holds FOLD_CAP denials"
        );
        assert!(l.open_run().is_none());
        denied(&mut l, cap + 1..=cap + 5);
        assert_eq!(l.open_run().map(|e| e.count), Some(5));
        l.flush();
        assert_eq!(l.entries().len(), 2);
        denied(&mut l, cap + 6..=cap + 6);
        // a command about FOLD_CAP orders (a cancel-all) is an entry of its own at once
        let many: Vec<u64> = (0..cap).map(|i| 1_000_000 + i).collect();
        l.deny(9_999, "halted", "risk", "cancel-all", "state_halted", &many);
        assert!(l.open_run().is_none());
        l.seal(10_000, "halted");
        let e = l.entries();
        let counts: Vec<u64> = e.iter().map(|x| x.count).collect();
        assert_eq!(counts, [cap, 5, 2, 1]);
        assert_eq!(e[0].orders, (1..=cap).collect::<Vec<_>>());
        assert_eq!(e[0].last_ts, Some(100 + cap as i64));
        assert_eq!(e[2].orders.len(), 1 + FOLD_CAP);
        // every order id exactly once, in order
        let ids: Vec<u64> = e.iter().flat_map(|x| x.orders.iter().copied()).collect();
        assert_eq!(ids.len(), 2 * FOLD_CAP + 6);
        AuditLog::verify(e, None).unwrap();
    }

    #[test]
    fn tampering_with_a_folded_entry_is_detected() {
        for key in [None, Some(&b"k"[..])] {
            let mut l = AuditLog::new(key.map(<[u8]>::to_vec)).with_unfolded(0);
            l.append(5, "state", "active", "halted", "command", "op", About::NONE);
            denied(&mut l, 1..=5);
            l.seal(200, "halted");
            let clean = l.entries().to_vec();
            AuditLog::verify(&clean, key).unwrap();
            type Edit = fn(&mut AuditEntry);
            let edits: [(&str, Edit); 9] = [
                ("count", |e| e.count -= 1),
                ("count to one", |e| e.count = 1),
                ("last_ts", |e| e.last_ts = Some(e.last_ts.unwrap() + 1)),
                ("last_ts dropped", |e| e.last_ts = None),
                ("last_reason", |e| e.last_reason = Some("fine".into())),
                ("last_reason dropped", |e| e.last_reason = None),
                ("an id", |e| e.orders[3] = 42),
                ("an id dropped", |e| {
                    e.orders.remove(2);
                }),
                ("an id added", |e| e.orders.push(6)),
            ];
            for (what, edit) in edits {
                let mut e = clean.clone();
                edit(&mut e[1]);
                let err = fails(&e, key);
                assert_eq!(err.index, 1, "{what}: {err}");
                assert!(err.problem.contains("hash mismatch"), "{what}: {err}");
            }
            // folded back into a single denial, all traces removed: still caught
            let mut e = clean.clone();
            let x = &mut e[1];
            (x.count, x.last_ts, x.last_reason) = (1, None, None);
            x.orders.truncate(1);
            assert_eq!(fails(&e, key).index, 1);
        }
    }

    #[test]
    fn older_logs_without_the_fold_fields_parse_as_single_entries() {
        let e = &log(None)[2];
        let j = AuditLog::to_jsonl(std::slice::from_ref(e));
        let back = AuditLog::from_jsonl(&j).unwrap();
        assert_eq!((back[0].count, back[0].last_ts), (1, None));
        assert_eq!(&back[0], e);
    }

    #[test]
    fn the_head_of_a_streak_stays_one_entry_per_denial() {
        // unfolded 3: five denials with one key are three entries of their own, then one run of
        // two; a resize ends the streak, so the next denial is an entry of its own again
        let mut l = AuditLog::new(None).with_unfolded(3);
        for i in 0..5 {
            l.deny(
                i,
                "active",
                "account",
                "no cash",
                "insufficient_balance",
                &[i as u64 + 1],
            );
        }
        l.append(
            10,
            "resize",
            "active",
            "active",
            "kelly",
            "10 -> 5",
            About::NONE,
        );
        l.deny(
            11,
            "active",
            "account",
            "no cash",
            "insufficient_balance",
            &[7],
        );
        l.deny(
            12,
            "active",
            "account",
            "no cash",
            "insufficient_balance",
            &[8],
        );
        l.seal(20, "active");
        let e = l.entries();
        let counts: Vec<(String, u64, Vec<u64>)> = e
            .iter()
            .map(|x| (x.kind.clone(), x.count, x.orders.clone()))
            .collect();
        let d = |c: u64, o: &[u64]| ("denial".to_string(), c, o.to_vec());
        assert_eq!(
            counts,
            vec![
                d(1, &[1]),
                d(1, &[2]),
                d(1, &[3]),
                d(2, &[4, 5]),
                ("resize".to_string(), 1, vec![]),
                d(1, &[7]),
                d(1, &[8]),
                ("seal".to_string(), 1, vec![]),
            ]
        );
        // the heads hash as single entries (no v3 fields), the folded run carries them
        assert!(
            e[..3]
                .iter()
                .all(|x| x.last_ts.is_none() && x.last_reason.is_none())
        );
        assert_eq!(e[3].last_ts, Some(4));
        assert!(AuditLog::verify(e, None).is_ok());
        // the default keeps the first UNFOLDED of a streak unfolded
        let mut l = AuditLog::new(None);
        for i in 0..UNFOLDED + 10 {
            l.deny(
                i as i64,
                "active",
                "account",
                "no cash",
                "insufficient_balance",
                &[i + 1],
            );
        }
        l.seal(1 << 40, "active");
        assert_eq!(l.entries().len() as u64, UNFOLDED + 1 + 1);
        assert_eq!(l.entries()[UNFOLDED as usize].count, 10);
    }
}
