//! A series given to the engine in consecutive batches runs exactly as the whole series at once
//! (what a sweep's shared pass relies on: `run_vectorized_many` takes the bars a chunk at a time
//! through every engine): the same equity curve, bit for bit, the same fills, the same money.

use _core::engine::{Backtest, Decisions, VectorHandler};
use _core::model::fixed::Bps;
use _core::model::{BarColumns, Instrument};
use _core::venue::VenueConfig;

const MIN: i64 = 60_000_000_000;

/// A deterministic random walk on a 0.01 grid, with crossings of two moving averages as signals.
fn series(n: usize) -> (Vec<i64>, [Vec<f64>; 5], Vec<i8>) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 2001) as f64 / 1000.0 - 1.0
    };
    let ts: Vec<i64> = (0..n as i64).map(|i| i * MIN).collect();
    let mut close = Vec::with_capacity(n);
    let mut open = Vec::with_capacity(n);
    let mut px = 20_000.0_f64;
    for _ in 0..n {
        open.push(px);
        px = ((px + next() * 15.0) * 100.0).round() / 100.0;
        close.push(px);
    }
    let high: Vec<f64> = open
        .iter()
        .zip(&close)
        .map(|(o, c)| o.max(*c) + 1.0)
        .collect();
    let low: Vec<f64> = open
        .iter()
        .zip(&close)
        .map(|(o, c)| o.min(*c) - 1.0)
        .collect();
    let volume = vec![3.0; n];
    // signals: +1 / -1 where a fast mean crosses a slow one
    let (mut f, mut s) = (close[0], close[0]);
    let mut prev = 0i8;
    let signal = close
        .iter()
        .map(|&c| {
            f += (c - f) * 0.2;
            s += (c - s) * 0.02;
            let side = if f > s { 1 } else { -1 };
            let out = if side != prev { side } else { 0 };
            prev = side;
            out
        })
        .collect();
    (ts, [open, high, low, close, volume], signal)
}

fn run(n: usize, chunk: usize, allow_short: bool, qty: f64) -> Backtest {
    let (ts, [o, h, l, c, v], signal) = series(n);
    let cols = BarColumns {
        ts: &ts,
        open: &o,
        high: &h,
        low: &l,
        close: &c,
        volume: &v,
        instrument: None,
    };
    let cfg = VenueConfig {
        fee: Bps(7_500_000), // 7.5 bp
        ..VenueConfig::default()
    };
    let mut bt = Backtest::new(vec![Instrument::new("X", 2, 6).unwrap()], cfg, 10_000.0).unwrap();
    let decisions = Decisions::Signals {
        signal: &signal,
        allow_short,
    };
    if chunk >= n {
        let mut h = VectorHandler {
            decisions,
            close: &c,
            qty,
            size: 1.0,
        };
        bt.run(&cols, &mut h).unwrap();
    } else {
        bt.check_batch(&cols).unwrap();
        let mut a = 0;
        while a < n {
            let b = (a + chunk).min(n);
            let part = cols.slice(a, b);
            let mut h = VectorHandler {
                decisions: decisions.slice(a, b),
                close: part.close,
                qty,
                size: 1.0,
            };
            bt.run_checked(&part, &mut h).unwrap();
            a = b;
        }
    }
    bt.finish();
    bt
}

#[test]
fn batches_run_as_the_whole_series() {
    let n = 20_000;
    // (short selling needs a margin account: tests/test_kernel.py runs one through the bindings)
    for (allow_short, qty) in [(false, 0.0), (false, 0.01), (false, 0.25)] {
        let whole = run(n, n, allow_short, qty);
        let trades = whole.fills.len();
        assert!(
            trades > 50,
            "the series trades (allow_short {allow_short}, qty {qty}): {trades} fills"
        );
        for chunk in [1, 2, 7, 64, 1000, 8192, n - 1] {
            let parts = run(n, chunk, allow_short, qty);
            assert_eq!(parts.fills, whole.fills, "chunk {chunk}");
            assert_eq!(parts.curve.ts, whole.curve.ts, "chunk {chunk}");
            let bits = |e: &[f64]| e.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&parts.curve.equity),
                bits(&whole.curve.equity),
                "chunk {chunk}"
            );
            assert_eq!(parts.curve.exposed, whole.curve.exposed, "chunk {chunk}");
            assert_eq!(
                parts.equity().to_bits(),
                whole.equity().to_bits(),
                "chunk {chunk}"
            );
        }
    }
}
