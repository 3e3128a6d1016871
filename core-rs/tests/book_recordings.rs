//! Replays of the recorded Binance streams. Without the recordings the tests are skipped with a
//! printed reason, and fail under `CI=true` (`common/data.rs`, the Python suite's policy).

use std::path::PathBuf;

use _core::book::MarketKind;
use _core::data::replay::{ReplayOptions, replay_files};

#[path = "common/data.rs"]
mod data;

fn ws_dir() -> Option<PathBuf> {
    data::shared_data("l2_book/hftbacktest_raw_ws")
}

/// Issue 10: "`core-rs/tests/book_recordings.rs` returns silently when its data is missing,
/// even in CI".
#[test]
fn missing_recordings_fail_under_ci_and_are_skipped_with_a_reason_otherwise() {
    let nowhere = Some(std::ffi::OsString::from("/nonexistent/trader-shared-data"));
    let rel = "l2_book/hftbacktest_raw_ws";
    for ci in ["true", "1", "YES"] {
        let r = std::panic::catch_unwind(|| data::locate(nowhere.clone(), Some(ci.into()), rel));
        assert!(r.is_err(), "CI={ci}: missing data must fail the test");
    }
    for ci in [None, Some("false".to_string()), Some(String::new())] {
        assert_eq!(data::locate(nowhere.clone(), ci, rel), None);
    }
    if let Some(d) = ws_dir() {
        assert!(d.join("usdm").is_dir());
    }
}

#[test]
fn every_recording_replays_in_sync() {
    let Some(d) = ws_dir() else { return };
    let sessions: Vec<(MarketKind, Vec<&str>)> = vec![
        (MarketKind::UsdM, vec!["usdm/btcusdt_20240808.gz"]),
        (MarketKind::UsdM, vec!["usdm/ethusdt_20240808.gz"]),
        (MarketKind::CoinM, vec!["cm/btcusd_perp_20240808.gz"]),
        (MarketKind::Spot, vec!["spot/btcusdt_20240808.gz"]),
        (
            MarketKind::Spot,
            vec!["spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"],
        ),
    ];
    for (kind, files) in sessions {
        let paths: Vec<PathBuf> = files.iter().map(|f| d.join(f)).collect();
        let r = replay_files(&paths, ReplayOptions::new(kind)).unwrap();
        eprintln!("{files:?}: {r:#?} rate={}", r.match_rate());
        assert_eq!(r.sync.sync_errors, 0, "{files:?}");
        assert_eq!(r.sync.gaps, 0, "{files:?}");
        assert_eq!(r.crossed_after_event, 0, "{files:?}");
        assert!(r.synced_at_end, "{files:?}");
        assert!(r.ticker_compared > 0, "{files:?}");
        assert_eq!(
            r.ticker_matched, r.ticker_compared,
            "{files:?}: {:?}",
            r.mismatch_examples
        );
        // Top after every event vs the latest ticker at or before it: exact everywhere except two
        // spot 2024-08-09 events where the diff event omits a level inserted a few ids before its
        // final `u` (the next event deletes that level); see tests/test_book.py.
        let allowed = if files.len() == 2 { 2 } else { 0 };
        assert!(r.event_top_checked > r.sync.applied * 9 / 10, "{files:?}");
        assert!(
            r.event_top_checked - r.event_top_matched <= allowed,
            "{files:?}: {:?}",
            r.event_top_mismatch_examples
        );
    }
}

#[test]
fn a_continuation_file_alone_never_syncs_and_reports_it() {
    let Some(d) = ws_dir() else { return };
    let r = replay_files(
        &[d.join("spot/btcusdt_20240809.gz")],
        ReplayOptions::new(MarketKind::Spot),
    )
    .unwrap();
    assert_eq!(
        (
            r.snapshot_messages,
            r.sync.syncs,
            r.sync.applied,
            r.sync.sync_errors,
            r.sync.gaps
        ),
        (0, 0, 0, 0, 0)
    );
    assert!(!r.synced_at_end);
    assert_eq!(r.ticker_compared, 0);
    assert_eq!(r.ticker_before_sync, r.ticker_messages);
}
