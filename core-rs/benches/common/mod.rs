//! What every gated criterion bench shares with `benches/gate.py`:
//!
//! - [`record_check`]: criterion carries no extra information next to a measurement, so each
//!   gated group computes ours and its anchor's results once before timing and writes whether
//!   they agree to `<criterion dir>/<group>/trader-check.json`, stamped with the gate's run id
//!   (`TRADER_GATE_RUN`). The gate fails a line whose file is missing, from another run, or says
//!   `"correct": false`.
//! - [`shared_data`]: the recorded market data; a bench whose data is missing panics (it never
//!   returns quietly, which would leave an older measurement for the gate to judge).

#![allow(dead_code, reason = "each bench uses part of this module")]

use std::path::PathBuf;

/// `<criterion dir>`: `$TRADER_GATE_CHECKS` (set by the gate), else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace's `target/criterion` (where criterion writes under `cargo bench`).
fn criterion_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TRADER_GATE_CHECKS") {
        return PathBuf::from(p);
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("criterion"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
    }
}

/// Record whether `group`'s measured code gave the right result (ours against its anchor or
/// reference, computed before timing), with a one-line `detail` and optional extra numbers
/// (`extra`: a JSON object's members, e.g. paired ratios). Panics if the file cannot be written:
/// a check that is not recorded must not pass for one that failed.
pub fn record_check(group: &str, correct: bool, detail: &str, extra: serde_json::Value) {
    let dir = criterion_dir().join(group);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut doc = serde_json::json!({
        "group": group,
        "run": std::env::var("TRADER_GATE_RUN").ok(),
        "correct": correct,
        "detail": detail,
    });
    if let (Some(obj), serde_json::Value::Object(more)) = (doc.as_object_mut(), extra) {
        obj.extend(more);
    }
    let path = dir.join("trader-check.json");
    std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("{group}: correct = {correct} ({detail})");
}

/// `$TRADER_SHARED_DATA/<rel>` (default `../shared/data` beside the project). Panics with the
/// path when it does not exist: a bench without its data fails loudly, in CI and out of it.
pub fn shared_data(rel: &str) -> PathBuf {
    let base = match std::env::var_os("TRADER_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let p = base.join(rel);
    assert!(
        p.exists(),
        "bench data not found at {} (set TRADER_SHARED_DATA): no measurement is taken",
        p.display()
    );
    p
}
