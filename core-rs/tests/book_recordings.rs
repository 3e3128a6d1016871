//! Replays of the recorded Binance streams (skipped with a message when the data is absent; the
//! Python suite is the one that fails under CI without the data).

use std::path::PathBuf;

use _core::book::MarketKind;
use _core::data::replay::{ReplayOptions, replay_files};

fn ws_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("TRADER_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let d = base.join("l2_book/hftbacktest_raw_ws");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("recordings not found at {}: skipped", d.display());
        None
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
        (MarketKind::Spot, vec!["spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"]),
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
    }
}
