//! SIMD kernels: multi-lane EMA (auto backend vs scalar) and the decision kernel (vs a naive
//! iterator implementation written here as the anchor). Short runs: 2 s, 10-20 samples.
//!
//! Gated: `decision_tick`, `decision_batch` (their check, for `benches/gate.py`: the kernel's
//! action equals the naive loop's and its score and size are within 1e-12, on every row timed).

use std::hint::black_box;
use std::time::Duration;

use _core::simd::{self, Backend, DecisionKernel};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;

const PERIODS: [i64; 8] = [5, 10, 20, 30, 50, 100, 150, 200];
const N: usize = 1_000_000;
const SIGNALS: usize = 16;
const BARS: usize = 100_000;

fn series(n: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(1);
    let mut v = 30_000.0;
    (0..n)
        .map(|_| {
            v *= 1.0 + 0.004 * (rng.random::<f64>() - 0.5);
            v
        })
        .collect()
}

fn ema_multi(c: &mut Criterion) {
    let x = series(N);
    let auto = simd::backend().expect("TRADER_SIMD names a backend this CPU runs");
    let mut g = c.benchmark_group("ema_multi");
    g.throughput(Throughput::Elements((PERIODS.len() * N) as u64));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    eprintln!("ema_multi: auto backend = {}", auto.name());
    g.bench_function("trader", |b| {
        b.iter(|| simd::ema_multi_with(auto, black_box(&x), &PERIODS).unwrap())
    });
    g.bench_function("scalar", |b| {
        b.iter(|| simd::ema_multi_with(Backend::Scalar, black_box(&x), &PERIODS).unwrap())
    });
    g.finish();
}

struct Naive {
    w: Vec<f64>,
    t: Vec<f64>,
    band: f64,
}

impl Naive {
    /// The straightforward version: iterator sum with branches per signal.
    fn decide(&self, s: &[f64]) -> (i8, f64, f64) {
        let norm: f64 = self.w.iter().map(|w| w.abs()).sum();
        let dot: f64 = s
            .iter()
            .zip(&self.w)
            .zip(&self.t)
            .map(|((&s, &w), &t)| {
                if s.is_nan() {
                    0.0
                } else {
                    let v = s.clamp(-1.0, 1.0);
                    if v.abs() < t { 0.0 } else { w * v }
                }
            })
            .sum();
        let score = (dot / norm).clamp(-1.0, 1.0);
        if score > self.band {
            (1, score, ((score - self.band) / (1.0 - self.band)).min(1.0))
        } else if score < -self.band {
            (
                -1,
                score,
                ((-score - self.band) / (1.0 - self.band)).min(1.0),
            )
        } else {
            (0, score, 0.0)
        }
    }
}

fn setup() -> (DecisionKernel, Naive, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(2);
    let w: Vec<f64> = (0..SIGNALS).map(|_| rng.random_range(-1.0..2.0)).collect();
    let t: Vec<f64> = (0..SIGNALS).map(|_| rng.random_range(0.0..0.3)).collect();
    let signals: Vec<f64> = (0..SIGNALS * BARS)
        .map(|_| rng.random_range(-1.1..1.1))
        .collect();
    let k = DecisionKernel::new(&w, &t, 0.1).expect("valid kernel");
    (k, Naive { w, t, band: 0.1 }, signals)
}

/// Whether the kernel decides every row as the naive loop does (same action, score and size
/// within 1e-12: the two sum in different orders).
fn agrees(k: &DecisionKernel, naive: &Naive, rows: &[f64]) -> bool {
    rows.chunks_exact(SIGNALS).all(|row| {
        let d = k.decide(row).expect("valid row");
        let (a, s, z) = naive.decide(row);
        d.action == a && (d.score - s).abs() <= 1e-12 && (d.size - z).abs() <= 1e-12
    })
}

fn decision_tick(c: &mut Criterion) {
    let (k, naive, signals) = setup();
    common::record_check(
        "decision_tick",
        agrees(&k, &naive, &signals[..1024 * SIGNALS]),
        "kernel == naive loop on the 1024 timed rows",
        serde_json::json!({}),
    );
    let mut g = c.benchmark_group("decision_tick");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let rows: Vec<&[f64]> = signals.chunks_exact(SIGNALS).take(1024).collect();
    let mut i = 0usize;
    g.bench_function("trader", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            k.decide(black_box(rows[i])).unwrap()
        })
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            naive.decide(black_box(rows[i]))
        })
    });
    g.finish();
}

fn decision_batch(c: &mut Criterion) {
    let (k, naive, signals) = setup();
    let mut g = c.benchmark_group("decision_batch");
    g.throughput(Throughput::Elements((BARS * SIGNALS) as u64));
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let (mut a, mut s, mut z) = (vec![0i8; BARS], vec![0.0; BARS], vec![0.0; BARS]);
    k.decide_batch(&signals, &mut a, &mut s, &mut z).unwrap();
    let batch_ok = signals.chunks_exact(SIGNALS).enumerate().all(|(i, row)| {
        let (ra, rs, rz) = naive.decide(row);
        a[i] == ra && (s[i] - rs).abs() <= 1e-12 && (z[i] - rz).abs() <= 1e-12
    });
    common::record_check(
        "decision_batch",
        batch_ok,
        "decide_batch == the naive loop on every one of the 100k rows",
        serde_json::json!({}),
    );
    g.bench_function("trader", |b| {
        b.iter(|| {
            k.decide_batch(black_box(&signals), &mut a, &mut s, &mut z)
                .unwrap()
        })
    });
    g.bench_function("naive", |b| {
        b.iter(|| {
            for (i, row) in black_box(&signals).chunks_exact(SIGNALS).enumerate() {
                (a[i], s[i], z[i]) = naive.decide(row);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, ema_multi, decision_tick, decision_batch);
criterion_main!(benches);
