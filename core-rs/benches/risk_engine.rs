//! The risk engine in the bar engine (no Python): criterion groups
//! - `risk_every_bar_orders`: a market order on every bar (target position flips 0 ↔ 1), through
//!   the default risk engine (`trader`: the structural checks, no layers) against the same run
//!   with the engine bypassed (`no_risk`, the order path before the risk engine). Elements =
//!   orders. With the built-in layers merged, add them here for the "default layers ≤ 15%" line.
//! - `risk_engine_check`: one `RiskEngine::check` of a limit order with every numeric limit configured
//!   (state gate, rate limit, all pre-trade checks) against a live account with working orders;
//!   elements = checks.

use std::hint::black_box;

use _core::engine::{Backtest, Decisions, VectorHandler};
use _core::model::{BarColumns, Command, Instrument, OrderKind, OrderSpec, Side};
use _core::risk::bucket::RateLimit;
use _core::risk::checks::{InstrumentLimits, RiskLimits};
use _core::risk::{RiskConfig, RiskEngine, RiskView};
use _core::venue::VenueConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 200_000;

type Series = (Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

fn series() -> Series {
    let mut x = 20_000.0f64;
    let mut s = 7u64;
    let (mut ts, mut o, mut h, mut l, mut c, mut v) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..N {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 20.0;
        let open = (x * 100.0).round() / 100.0;
        x = (x + r).max(100.0);
        let close = (x * 100.0).round() / 100.0;
        ts.push(i as i64 * 60_000_000_000);
        o.push(open);
        h.push(open.max(close) + 1.0);
        l.push(open.min(close) - 1.0);
        c.push(close);
        v.push(10.0);
    }
    (ts, o, h, l, c, v)
}

fn run(target: &[f64], d: &Series, bypass: bool) -> usize {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1e9).unwrap();
    if bypass {
        let cfg = RiskConfig {
            bypass: true,
            ..RiskConfig::default()
        };
        bt.set_risk(RiskEngine::new(cfg, Vec::new(), 1).unwrap());
    }
    let cols = BarColumns {
        ts: &d.0,
        open: &d.1,
        high: &d.2,
        low: &d.3,
        close: &d.4,
        volume: &d.5,
        instrument: None,
    };
    let mut h = VectorHandler {
        decisions: Decisions::Targets { target },
        close: &d.4,
        qty: 0.0,
        size: 0.0,
    };
    bt.run(&cols, &mut h).unwrap();
    bt.finish();
    bt.fills.len()
}

fn every_bar(c: &mut Criterion) {
    let d = series();
    let target: Vec<f64> = (0..N).map(|i| (i % 2) as f64).collect();
    let fills = run(&target, &d, false);
    assert_eq!(
        fills,
        run(&target, &d, true),
        "same fills with and without the checks"
    );
    let mut g = c.benchmark_group("risk_every_bar_orders");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(2));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("no_risk", |b| b.iter(|| black_box(run(&target, &d, true))));
    g.bench_function("trader", |b| b.iter(|| black_box(run(&target, &d, false))));
    g.finish();
}

fn check(c: &mut Criterion) {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1e6).unwrap();
    let limits = RiskLimits {
        instruments: vec![InstrumentLimits {
            max_position: Some(1_000_000),
            max_qty: Some(1_000_000),
            min_price: Some(1),
            max_price: Some(10_000_000),
            min_notional: Some(1),
        }],
        price_band_bps: Some(500.0),
        max_notional: Some(i128::MAX / 4),
        max_concentration: Some(10.0),
        max_gross_exposure: Some(i128::MAX / 4),
        max_net_exposure: Some(i128::MAX / 4),
        max_leverage: Some(10.0),
        submit_rate: Some(RateLimit {
            capacity: u32::MAX,
            interval_ns: 1,
        }),
        modify_rate: None,
    };
    let mut engine = RiskEngine::new(
        RiskConfig {
            limits,
            ..RiskConfig::default()
        },
        Vec::new(),
        1,
    )
    .unwrap();
    bt.portfolio.mark(0, 2_000_000, 20_000.0);
    bt.venue.set_last_px(0, 2_000_000);
    // three working limit orders on the book
    for id in 1..=3 {
        bt.submit(Command::Submit(OrderSpec::new(
            id,
            0,
            Side::Buy,
            OrderKind::Limit { px: 1_990_000 },
            100,
        )));
    }
    let m = engine.take_market();
    let view = RiskView {
        ts: 0,
        instruments: &bt.instruments,
        portfolio: &bt.portfolio,
        orders: &bt.venue.orders,
        confidence: &m.confidence,
        last_data_ts: &m.last_data_ts,
    };
    let mut cmd = Command::Submit(OrderSpec::new(
        10,
        0,
        Side::Buy,
        OrderKind::Limit { px: 1_995_000 },
        100,
    ));
    assert!(engine.check(&mut cmd, &view).is_ok());
    let mut g = c.benchmark_group("risk_engine_check");
    g.sample_size(20)
        .measurement_time(std::time::Duration::from_secs(2));
    g.throughput(Throughput::Elements(1));
    g.bench_function("trader", |b| {
        b.iter(|| black_box(engine.check(black_box(&mut cmd), &view)))
    });
    g.finish();
}

criterion_group!(benches, every_bar, check);
criterion_main!(benches);
