//! loom model of both rings: every interleaving of one producer and one consumer thread (within
//! loom's preemption bound) on a tiny ring, with loom's `UnsafeCell` checking that no slot/cell is
//! read and written at the same time.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p trader-core --release --test ring_loom`
#![cfg(loom)]

use _core::ring::{OverwriteRing, RingBuffer};
use loom::thread;

/// Normal mode, capacity 2, 3 items: the producer hits full and must retry; order and count hold.
#[test]
fn loom_normal_push_pop() {
    loom::model(|| {
        let (mut tx, mut rx) = RingBuffer::<u32>::new(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3u32 {
                let mut v = i;
                loop {
                    match tx.push(v) {
                        Ok(()) => break,
                        Err(e) => {
                            v = e.into_inner();
                            thread::yield_now();
                        }
                    }
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match rx.pop() {
                Ok(v) => got.push(v),
                Err(_) => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, vec![0, 1, 2]);
        assert!(rx.pop().is_err());
    });
}

/// Normal mode with a batch pop on the consumer side.
#[test]
fn loom_normal_pop_batch() {
    loom::model(|| {
        let (mut tx, mut rx) = RingBuffer::<u32>::new(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3u32 {
                while tx.push(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut got = Vec::with_capacity(4);
        while got.len() < 3 {
            if rx.pop_batch(&mut got, 2) == 0 {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(got, vec![0, 1, 2]);
    });
}

/// Overwrite mode, capacity 1 and 2: the producer evicts while the consumer may be taking the very
/// same slot. Delivered items are strictly increasing, and delivered + dropped == pushed. Values are
/// `Box`ed so loom also catches a double read/free of a cell (a leak or double drop would abort).
#[test]
fn loom_overwrite_push_pop() {
    // (capacity, pushes, consumer attempts while the producer runs). Capacity 1 with 4 pushes and
    // 3 attempts lets a cell make the full round trip producer -> consumer -> producer concurrently.
    for (cap, pushed, attempts) in [(1usize, 4u32, 3usize), (2, 3, 2)] {
        loom::model(move || {
            let (mut tx, mut rx) = OverwriteRing::<Box<u32>>::new(cap).unwrap();
            let producer = thread::spawn(move || {
                let mut evicted = Vec::new();
                for i in 0..pushed {
                    if let Some(old) = tx.push(Box::new(i)) {
                        evicted.push(*old);
                    }
                }
                assert_eq!(tx.dropped(), evicted.len() as u64);
                evicted
            });
            let mut got = Vec::new();
            // A few attempts while the producer runs, then drain after it finished.
            for _ in 0..attempts {
                if let Some(v) = rx.pop() {
                    got.push(*v);
                }
            }
            let evicted = producer.join().unwrap();
            while let Some(v) = rx.pop() {
                got.push(*v);
            }
            assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
            assert_eq!(got.len() as u64 + rx.dropped(), u64::from(pushed));
            let mut all: Vec<u32> = got.iter().chain(&evicted).copied().collect();
            all.sort_unstable();
            assert_eq!(
                all,
                (0..pushed).collect::<Vec<_>>(),
                "each item exactly once"
            );
            // The newest item is never evicted.
            assert_eq!(got.last(), Some(&(pushed - 1)));
        });
    }
}
