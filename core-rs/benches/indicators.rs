//! Indicator benchmarks. `ema_update`: the streaming EMA step per value (`trader`) next to the
//! batch recurrence over the same data (`batch_kernel`, the anchor: the streaming step must stay
//! close to it). `batch_*`: whole-series kernels per value. `rsi_kernel`: the blocked RSI into a
//! reused buffer (`trader`) next to TA-Lib's sequential recurrence (`talib_sequence`, our
//! bit-identical port), without the output allocation.
//!
//! Gated: `ema_update` (its check, for `benches/gate.py`: the streaming values equal the batch
//! recurrence's, bit for bit, NaN for NaN).

use std::hint::black_box;
use std::time::Duration;

use _core::indicators::{
    Ema,
    ema::ema_kernel,
    macd::macd,
    rsi::{rsi, rsi_into, rsi_kernel},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

fn series(n: usize) -> Vec<f64> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut p = 30_000.0;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            p *= 1.0 + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.002;
            p
        })
        .collect()
}

fn ema_update(c: &mut Criterion) {
    let x = series(100_000);
    let mut batch = vec![0.0; x.len()];
    ema_kernel(&x, 20, &mut batch);
    let mut e = Ema::new(20).expect("valid period");
    let same = x.iter().zip(&batch).all(|(&v, &b)| {
        let s = e.update(v).expect("finite input");
        s.to_bits() == b.to_bits() || (s.is_nan() && b.is_nan())
    });
    common::record_check(
        "ema_update",
        same,
        "Ema::update over 100k values == the batch recurrence, bit for bit",
        serde_json::json!({}),
    );
    let mut g = c.benchmark_group("ema_update");
    g.measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(x.len() as u64));
    g.bench_function("trader", |b| {
        b.iter(|| {
            let mut e = Ema::new(20).expect("valid period");
            let mut acc = 0.0;
            for &v in black_box(&x) {
                acc += e.update(v).unwrap_or(0.0);
            }
            black_box(acc)
        })
    });
    let mut out = vec![0.0; x.len()];
    g.bench_function("batch_kernel", |b| {
        b.iter(|| {
            ema_kernel(black_box(&x), 20, &mut out);
            black_box(out[out.len() - 1])
        })
    });
    g.finish();
}

fn rsi_kernels(c: &mut Criterion) {
    let x = series(1_000_000);
    let mut out = vec![0.0; x.len()];
    let mut g = c.benchmark_group("rsi_kernel");
    g.measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(x.len() as u64));
    g.bench_function("trader", |b| {
        b.iter(|| {
            rsi_into(black_box(&x), 14, &mut out).expect("valid input");
            black_box(out[out.len() - 1])
        })
    });
    g.bench_function("talib_sequence", |b| {
        b.iter(|| {
            rsi_kernel(black_box(&x), 14, &mut out);
            black_box(out[out.len() - 1])
        })
    });
    g.finish();
}

fn batch(c: &mut Criterion) {
    let x = series(1_000_000);
    for (name, f) in [
        (
            "batch_ema",
            Box::new(|x: &[f64]| _core::indicators::ema::ema(x, 20).map(|v| v[v.len() - 1]))
                as Box<dyn Fn(&[f64]) -> _>,
        ),
        (
            "batch_rsi",
            Box::new(|x: &[f64]| rsi(x, 14).map(|v| v[v.len() - 1])),
        ),
        (
            "batch_macd",
            Box::new(|x: &[f64]| macd(x, 12, 26, 9).map(|v| v.0[v.0.len() - 1])),
        ),
    ] {
        let mut g = c.benchmark_group(name);
        g.measurement_time(Duration::from_secs(2))
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500));
        g.throughput(Throughput::Elements(x.len() as u64));
        g.bench_function("trader", |b| {
            b.iter(|| black_box(f(black_box(&x)).expect("valid input")))
        });
        g.finish();
    }
}

criterion_group!(benches, ema_update, rsi_kernels, batch);
criterion_main!(benches);
