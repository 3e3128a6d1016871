//! SPSC ring vs rtrb vs crossbeam's ArrayQueue (N u64 messages across two threads, same
//! capacity; the three measured interleaved), and pool acquire+release vs Box::new/drop.
//!
//! `cargo bench -p trader-core --bench ring`
//!
//! For `benches/gate.py` (see `common::record_check`): `spsc_ring`'s check says every queue
//! delivered the N messages in order (their sum), and carries `paired_ratio`: before criterion's
//! own sampling, [`PAIRED_ROUNDS`] rounds each time one transfer of every queue back to back (in a
//! rotating order), and the median over rounds of (anchor time / our time) is what the gate
//! judges. NB: on this 2-core VM shared with builds, criterion's medians of the three put trader
//! at 0.67-1.39 of rtrb in three runs of one minute; a ratio taken within each round cancels most
//! of what a noise phase does to one queue's block of samples. `pool`'s check: values written
//! through pool handles read back, and every slot is free again after the loop.

use std::hint::black_box;
use std::thread;
use std::time::Duration;

use _core::model::MarketEvent;
use _core::pool::Pool;
use _core::ring::RingBuffer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::ArrayQueue;

mod common;

const CAPACITY: usize = 4096;

/// Spin briefly, then yield: with two threads on a machine whose cores are shared, pure spinning
/// can burn a whole time slice waiting for a descheduled peer. All three rings use the same policy.
#[inline]
fn backoff(spins: &mut u32) {
    if *spins < 100 {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}
const N: u64 = 1_000_000;

/// One transfer of N messages: producer thread spawned per iteration, consumer on the bench
/// thread. The consumer sums what it receives so that nothing is optimised away; every queue
/// goes through this same harness (same backoff, same work), only `push`/`pop` differ.
fn exchange<P: Send + 'static, C>(
    mut tx: P,
    mut rx: C,
    push: fn(&mut P, u64) -> bool,
    pop: fn(&mut C) -> Option<u64>,
) -> u64 {
    let producer = thread::spawn(move || {
        for i in 0..N {
            let mut spins = 0;
            while !push(&mut tx, i) {
                backoff(&mut spins);
            }
        }
    });
    let (mut sum, mut got, mut spins) = (0u64, 0u64, 0u32);
    while got < N {
        match pop(&mut rx) {
            Some(v) => {
                sum = sum.wrapping_add(v);
                got += 1;
                spins = 0;
            }
            None => backoff(&mut spins),
        }
    }
    producer.join().unwrap();
    sum
}

fn run_trader() -> u64 {
    let (tx, rx) = RingBuffer::<u64>::new(CAPACITY).unwrap();
    exchange(tx, rx, |tx, v| tx.push(v).is_ok(), |rx| rx.pop().ok())
}

fn run_rtrb() -> u64 {
    let (tx, rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    exchange(tx, rx, |tx, v| tx.push(v).is_ok(), |rx| rx.pop().ok())
}

fn run_crossbeam() -> u64 {
    let q = std::sync::Arc::new(ArrayQueue::<u64>::new(CAPACITY));
    exchange(
        std::sync::Arc::clone(&q),
        q,
        |q, v| q.push(v).is_ok(),
        |q| q.pop(),
    )
}

/// Rounds of the paired measurement (each: one timed transfer of each queue).
const PAIRED_ROUNDS: usize = 21;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn spsc_ring(c: &mut Criterion) {
    let expected = N * (N - 1) / 2;
    let sums = [run_trader(), run_rtrb(), run_crossbeam()];
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut delivered = sums.iter().all(|&s| s == expected);
    let queues: [fn() -> u64; 3] = [run_trader, run_rtrb, run_crossbeam];
    for round in 0..PAIRED_ROUNDS {
        let mut secs = [0.0f64; 3];
        for k in 0..3 {
            let q = (round + k) % 3;
            let t = std::time::Instant::now();
            delivered &= black_box(queues[q]()) == expected;
            secs[q] = t.elapsed().as_secs_f64();
        }
        ratios[0].push(secs[1] / secs[0]);
        ratios[1].push(secs[2] / secs[0]);
    }
    let (vs_rtrb, vs_crossbeam) = (median(ratios[0].clone()), median(ratios[1].clone()));
    common::record_check(
        "spsc_ring",
        delivered,
        &format!(
            "every queue delivered {N} messages (sum {expected}); paired medians over {PAIRED_ROUNDS} rounds: {vs_rtrb:.3} vs rtrb, {vs_crossbeam:.3} vs crossbeam"
        ),
        serde_json::json!({
            "paired_ratio": {"rtrb": vs_rtrb, "crossbeam_arrayqueue": vs_crossbeam},
            "paired_ratios": {"rtrb": ratios[0], "crossbeam_arrayqueue": ratios[1]},
        }),
    );
    let mut g = c.benchmark_group("spsc_ring");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    // NB: each timed transfer runs right after one untimed transfer of each other queue, so the
    // three are measured interleaved: timed one after another in blocks of seconds, a noise phase
    // of this shared 2-core host that hit only one block moved a ratio by 30% (trader 0.75 of
    // crossbeam in one CI run, 1.13-1.28 in the next two runs).
    let runs: [(&str, fn() -> u64); 3] = [
        ("trader", run_trader),
        ("rtrb", run_rtrb),
        ("crossbeam_arrayqueue", run_crossbeam),
    ];
    for (id, timed) in runs {
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    for (other, run) in runs {
                        if other != id {
                            black_box(run());
                        }
                    }
                    let t = std::time::Instant::now();
                    black_box(timed());
                    spent += t.elapsed();
                }
                spent
            })
        });
    }
    g.finish();
}

const POOL_OPS: u64 = 1024;

fn pool(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool");
    g.throughput(Throughput::Elements(POOL_OPS));
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut pool = Pool::new(64, MarketEvent::default).unwrap();
    let mut round_trip = true;
    for i in 0..POOL_OPS {
        let h = pool.acquire().unwrap();
        pool.get_mut(h).unwrap().ts_event = i;
        round_trip &= pool.get(h).unwrap().ts_event == i;
        pool.release(h).unwrap();
    }
    common::record_check(
        "pool",
        round_trip && pool.in_use() == 0,
        &format!(
            "{POOL_OPS} acquire/write/read/release round trips; in use after: {}",
            pool.in_use()
        ),
        serde_json::json!({}),
    );
    g.bench_function("trader", |b| {
        b.iter(|| {
            for i in 0..POOL_OPS {
                let h = pool.acquire().unwrap();
                let e = pool.get_mut(h).unwrap();
                e.ts_event = i;
                black_box(&*e);
                pool.release(h).unwrap();
            }
        })
    });
    g.bench_function("box_alloc", |b| {
        b.iter(|| {
            for i in 0..POOL_OPS {
                let mut e = Box::new(MarketEvent::default());
                e.ts_event = i;
                black_box(&*e);
                drop(e);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, spsc_ring, pool);
criterion_main!(benches);
