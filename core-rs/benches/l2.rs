//! L2 backtest benchmark on the recorded Binance USD-M BTCUSDT stream (decompressed once, outside
//! the timing).
//!
//! - group `l2_mm_backtest`: `trader` = the whole L2 loop (decode every line, Binance sync, book
//!   updates, queue positions, matching, exact accounting) with the passive market maker called
//!   every 100 ms of market time; anchor `replay` = the bare replay of the same stream
//!   (decode + sync + book, no orders, no strategy). Throughput: recorded events (lines).
//!
//! Data: `$TRADER_SHARED_DATA` or `../shared/data` beside the project; without it the bench
//! panics (no measurement, so the gate fails the line).
//!
//! Gated: `l2_mm_backtest` (its check, for `benches/gate.py`: the backtest syncs with no error,
//! sees every event the bare replay sees, trades, and gives the same result when run again).

use std::hint::black_box;
use std::time::Duration;

use _core::book::MarketKind;
use _core::data::replay::{ReplayOptions, read_recording, replay_text};
use _core::engine_l2::{L2Config, PassiveMarketMaker, run_l2_text};
use _core::venue::queue::QueueModel;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

fn bench(c: &mut Criterion) {
    let path = common::shared_data("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz");
    let text = read_recording(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cfg = L2Config::new(MarketKind::UsdM);
    cfg.queue = QueueModel::Power(2.0);
    cfg.price_dp = Some(2);
    cfg.size_dp = Some(3);
    let mm = || PassiveMarketMaker::new(2, 10, 0).expect("valid params");
    let (first, _, _) = run_l2_text(&text, cfg.clone(), mm()).expect("l2 run");
    eprintln!(
        "usdm btcusdt: {} events, {} strategy calls, {} orders, {} fills",
        first.events, first.strategy_calls, first.orders, first.fills
    );
    let mut ropts = ReplayOptions::new(MarketKind::UsdM);
    ropts.price_dp = Some(2);
    ropts.size_dp = Some(3);
    let bare = replay_text(&text, ropts).expect("replay");
    let (second, _, _) = run_l2_text(&text, cfg.clone(), mm()).expect("l2 run");
    common::record_check(
        "l2_mm_backtest",
        first.sync.sync_errors == 0
            && bare.sync.sync_errors == 0
            && first.events == bare.messages
            && first.fills > 0
            && (second.orders, second.fills, second.cash, second.position)
                == (first.orders, first.fills, first.cash, first.position),
        &format!(
            "{} events (replay {}), {} orders, {} fills, sync errors {} / {}",
            first.events,
            bare.messages,
            first.orders,
            first.fills,
            first.sync.sync_errors,
            bare.sync.sync_errors
        ),
        serde_json::json!({}),
    );

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
