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
    /// The orders a denial or a resize is about (empty for other kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<u64>,
    pub prev_hash: String,
    pub hash: String,
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
    let v2 = !e.code.is_empty() || !e.orders.is_empty();
    let mut buf = Vec::with_capacity(
        100 + e.reason.len() + e.source.len() + e.code.len() + 8 * e.orders.len(),
    );
    buf.extend_from_slice(if v2 {
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
}

impl AuditLog {
    /// An empty log; `key`: HMAC key (None: plain SHA-256).
    pub fn new(key: Option<Vec<u8>>) -> Self {
        Self {
            entries: Vec::new(),
            key,
            sealed: false,
        }
    }

    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Append an entry (ignored once sealed: the seal is the last entry); `about`: the reason
    /// code and orders of a denial or a resize ([`About::NONE`] for the other kinds).
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
        let prev_hash = self
            .entries
            .last()
            .map_or_else(|| GENESIS.to_string(), |e| e.hash.clone());
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
        let mut l = AuditLog::new(key.map(|k| k.to_vec()));
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
            assert_eq!(e.len(), 7);
            assert_eq!(e[6].reason, "entries=6");
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
                for field in 0..11 {
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
                        _ if x.orders.is_empty() => x.orders.push(1),
                        _ => x.orders[0] += 1,
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
}
