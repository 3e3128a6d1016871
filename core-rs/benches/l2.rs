//! L2 backtest benchmark on the recorded Binance USD-M BTCUSDT stream (decompressed once, outside
//! the timing).
//!
//! - group `l2_mm_backtest`: `trader` = the whole L2 loop (decode every line, Binance sync, book
//!   updates, queue positions, matching, exact accounting) with the passive market maker called
//!   every 100 ms of market time; anchor `replay` = the bare replay of the same stream
//!   (decode + sync + book, no orders, no strategy). Throughput: recorded events (lines).
//!
//! Data: `$TRADER_SHARED_DATA` or `../shared/data` beside the project.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use _core::book::MarketKind;
use _core::data::replay::{ReplayOptions, read_recording, replay_text};
use _core::engine_l2::{L2Config, PassiveMarketMaker, run_l2_text};
use _core::venue::queue::QueueModel;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn data_dir() -> PathBuf {
    match std::env::var_os("TRADER_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

fn bench(c: &mut Criterion) {
    let path = data_dir().join("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz");
    let text = match read_recording(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("l2 bench skipped: {e}");
            return;
        }
    };
    let mut cfg = L2Config::new(MarketKind::UsdM);
    cfg.queue = QueueModel::Power(2.0);
    cfg.price_dp = Some(2);
    cfg.size_dp = Some(3);
    let mm = || PassiveMarketMaker::new(2, 10, 0).expect("valid params");
    let (first, _, _) = run_l2_text(&text, cfg.clone(), mm()).expect("l2 run");
    assert_eq!(first.sync.sync_errors, 0);
    eprintln!(
        "usdm btcusdt: {} events, {} strategy calls, {} orders, {} fills",
        first.events, first.strategy_calls, first.orders, first.fills
    );
    let mut ropts = ReplayOptions::new(MarketKind::UsdM);
    ropts.price_dp = Some(2);
    ropts.size_dp = Some(3);

    let mut g = c.benchmark_group("l2_mm_backtest");
    g.throughput(Throughput::Elements(first.events));
    g.measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("trader", |b| {
        b.iter(|| {
            black_box(
                run_l2_text(black_box(&text), cfg.clone(), mm())
                    .unwrap()
                    .0
                    .fills,
            )
        })
    });
    g.bench_function("replay", |b| {
        b.iter(|| {
            black_box(
                replay_text(black_box(&text), ropts)
                    .unwrap()
                    .sync
                    .deltas_applied,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
