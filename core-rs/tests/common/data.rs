//! The recorded market data for integration tests, with the Python suite's policy
//! (`tests/conftest.py`): a test whose data is missing is skipped with a printed reason on a
//! developer machine, and FAILS under `CI` (`1`, `true` or `yes`, any case).

use std::ffi::OsString;
use std::path::PathBuf;

/// `$TRADER_SHARED_DATA/<rel>` (default `../shared/data` beside the project) if it exists;
/// `None` (after printing why) if it does not and this is not CI; a panic under CI.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    locate(
        std::env::var_os("TRADER_SHARED_DATA"),
        std::env::var("CI").ok(),
        rel,
    )
}

/// [`shared_data`] with its environment given (testable without touching the process's).
pub fn locate(base: Option<OsString>, ci: Option<String>, rel: &str) -> Option<PathBuf> {
    let base = match base {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let p = base.join(rel);
    if p.exists() {
        return Some(p);
    }
    let in_ci = ci.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    assert!(
        !in_ci,
        "recorded data missing under CI: {} (set TRADER_SHARED_DATA)",
        p.display()
    );
    eprintln!("recorded data not found at {}: skipped", p.display());
    None
}
