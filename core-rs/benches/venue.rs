//! The bar venue's order path, engine included (no Python): criterion groups
//! - `venue_every_bar_orders`: a market order on every bar (target position flips 0 ↔ 1), each
//!   filled at the next open: the cost of one order through the manager, the matcher and the
//!   portfolio (elements = orders);
//! - `venue_sparse_signals`: one order every 27 bars, the shape of the ema_cross runs (elements =
//!   bars; the quiet spans between orders take the fast path);
//! - `venue_brackets_trailing`: every 27 bars (when flat) a bracket: market entry, take-profit
//!   limit 0.5% away, and a trailing stop (0.3%) added on the entry's fill, all matched along
//!   the intrabar path (elements = bars). Read it against `venue_sparse_signals`, same bars: the
//!   issue asks bar backtests with brackets and trailing stops to keep >= 50% of the ema_cross
//!   throughput.

use std::hint::black_box;

use _core::engine::{Backtest, Decisions, Handler, VectorHandler};
use _core::error::CoreError;
use _core::model::{
    Bar, BarColumns, Bps, Command, Instrument, ListKind, OrderKind, OrderSpec, Side, TrailingOffset,
};
use _core::venue::VenueConfig;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 200_000;

fn series() -> (Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
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

fn run(target: &[f64], d: &(Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)) -> usize {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1e9).unwrap();
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

/// Every 27 bars, when flat and nothing works: a bracket (entry, take-profit, trailing stop).
struct Brackets {
    list: u64,
}

impl Handler for Brackets {
    type Error = CoreError;
    fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> Result<(), CoreError> {
        if i % 27 != 0 || bt.position_raw(0) != 0 || !bt.venue.is_idle() {
            return Ok(());
        }
        let qty = 1_000; // 1 unit at size_dp 3
        let tp = bar.close + bar.close / 200;
        let (e, t, s) = (bt.next_order_id(), bt.next_order_id(), bt.next_order_id());
        self.list += 1;
        bt.submit(Command::SubmitList {
            list: self.list,
            kind: ListKind::Bracket,
            orders: vec![
                OrderSpec::new(e, 0, Side::Buy, OrderKind::Market, qty),
                OrderSpec::new(t, 0, Side::Sell, OrderKind::Limit { px: tp }, qty),
                OrderSpec::new(
                    s,
                    0,
                    Side::Sell,
                    OrderKind::TrailingStopMarket {
                        offset: TrailingOffset::Bps(Bps(30_000_000)),
                        activation: None,
                    },
                    qty,
                ),
            ],
        });
        Ok(())
    }
}

fn run_brackets(d: &(Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)) -> usize {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1e9).unwrap();
    let cols = BarColumns {
        ts: &d.0,
        open: &d.1,
        high: &d.2,
        low: &d.3,
        close: &d.4,
        volume: &d.5,
        instrument: None,
    };
    bt.run(&cols, &mut Brackets { list: 0 }).unwrap();
    bt.finish();
    bt.fills.len()
}

fn bench(c: &mut Criterion) {
    let d = series();
    let every: Vec<f64> = (0..N).map(|i| (i % 2) as f64).collect();
    let sparse: Vec<f64> = (0..N)
        .map(|i| {
            if i % 27 == 0 {
                ((i / 27) % 2) as f64
            } else {
                f64::NAN
            }
        })
        .collect();
    let mut g = c.benchmark_group("venue_every_bar_orders");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("trader", |b| b.iter(|| black_box(run(&every, &d))));
    g.finish();
    let mut g = c.benchmark_group("venue_sparse_signals");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("trader", |b| b.iter(|| black_box(run(&sparse, &d))));
    g.finish();
    assert!(run_brackets(&d) > 1_000, "the bracket strategy trades");
    let mut g = c.benchmark_group("venue_brackets_trailing");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("trader", |b| b.iter(|| black_box(run_brackets(&d))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
