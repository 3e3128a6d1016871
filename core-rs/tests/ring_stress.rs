//! Two-thread stress of both rings: 10M `u64` items (scaled down under miri), order and count
//! checked on every item. A second pair of tests moves heap values (`Box`) through small rings to
//! catch double reads / lost drops.

use std::thread;

use _core::ring::{OverwriteRing, RingBuffer};

const N: u64 = if cfg!(miri) { 2_000 } else { 10_000_000 };
const N_BOXED: u64 = if cfg!(miri) { 500 } else { 200_000 };

/// Back off politely: the test machine may have fewer cores than threads.
#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

#[test]
fn normal_mode_preserves_order_and_count() {
    let (mut tx, mut rx) = RingBuffer::<u64>::new(4096).unwrap();
    let producer = thread::spawn(move || {
        let mut full_hits = 0u64;
        for i in 0..N {
            let mut v = i;
            let mut spins = 0;
            loop {
                match tx.push(v) {
                    Ok(()) => break,
                    Err(e) => {
                        v = e.into_inner();
                        full_hits += 1;
                        backoff(&mut spins);
                    }
                }
            }
        }
        full_hits
    });
    let mut expected = 0u64;
    let mut buf = Vec::with_capacity(1024);
    let mut spins = 0;
    while expected < N {
        buf.clear();
        if rx.pop_batch(&mut buf, 1024) == 0 {
            backoff(&mut spins);
            continue;
        }
        spins = 0;
        for &v in &buf {
            assert_eq!(v, expected, "out of order or lost item");
            expected += 1;
        }
    }
    let full_hits = producer.join().unwrap();
    assert!(rx.pop().is_err(), "more items than pushed");
    assert_eq!(expected, N);
    eprintln!("normal mode: {N} items, producer saw full {full_hits} times");
}

#[test]
fn normal_mode_single_pops() {
    let n = N / 4;
    let (mut tx, mut rx) = RingBuffer::<u64>::new(64).unwrap();
    let producer = thread::spawn(move || {
        for i in 0..n {
            let mut spins = 0;
            while tx.push(i).is_err() {
                backoff(&mut spins);
            }
        }
    });
    let mut expected = 0;
    let mut spins = 0;
    while expected < n {
        match rx.pop() {
            Ok(v) => {
                assert_eq!(v, expected);
                expected += 1;
                spins = 0;
            }
            Err(_) => backoff(&mut spins),
        }
    }
    producer.join().unwrap();
    assert!(rx.is_empty());
}

#[test]
fn overwrite_mode_increasing_and_accounted() {
    // Small ring so that evictions actually happen while the consumer is busy.
    let (mut tx, mut rx) = OverwriteRing::<u64>::new(256).unwrap();
    let producer = thread::spawn(move || {
        let mut evicted = 0u64;
        let mut last_evicted = None;
        for i in 0..N {
            if let Some(old) = tx.push(i) {
                // Evictions come out oldest first, too.
                assert!(last_evicted.is_none_or(|l| old > l));
                last_evicted = Some(old);
                evicted += 1;
            }
        }
        assert_eq!(tx.pushed(), N);
        assert_eq!(tx.dropped(), evicted);
        evicted
    });
    let mut received = 0u64;
    let mut last: Option<u64> = None;
    let mut buf = Vec::with_capacity(256);
    let mut check = |buf: &[u64], received: &mut u64| {
        for &v in buf {
            assert!(
                last.is_none_or(|l| v > l),
                "not strictly increasing: {v} after {last:?}"
            );
            assert!(v < N);
            last = Some(v);
            *received += 1;
        }
    };
    let mut rounds = 0u64;
    while !producer.is_finished() {
        buf.clear();
        rx.pop_batch(&mut buf, if rounds & 1 == 0 { 1 } else { 256 });
        check(&buf, &mut received);
        // A consumer that is sometimes slow, so that both full and empty states occur.
        rounds += 1;
        if rounds.is_multiple_of(64) {
            thread::yield_now();
        }
    }
    let evicted = producer.join().unwrap();
    buf.clear();
    rx.pop_batch(&mut buf, usize::MAX);
    check(&buf, &mut received);
    assert_eq!(rx.dropped(), evicted);
    assert_eq!(
        received + rx.dropped(),
        N,
        "received {received} + dropped {evicted} != pushed {N}"
    );
    assert_eq!(last, Some(N - 1), "the newest item is never dropped");
    eprintln!("overwrite mode: {N} pushed, {received} received, {evicted} dropped");
}

#[test]
fn boxed_values_move_exactly_once() {
    let (mut tx, mut rx) = RingBuffer::<Box<u64>>::new(8).unwrap();
    let producer = thread::spawn(move || {
        for i in 0..N_BOXED {
            let mut v = Box::new(i);
            let mut spins = 0;
            while let Err(e) = tx.push(v) {
                v = e.into_inner();
                backoff(&mut spins);
            }
        }
    });
    let mut expected = 0;
    let mut spins = 0;
    while expected < N_BOXED {
        match rx.pop() {
            Ok(v) => {
                assert_eq!(*v, expected);
                expected += 1;
            }
            Err(_) => backoff(&mut spins),
        }
    }
    producer.join().unwrap();

    let (mut tx, mut rx) = OverwriteRing::<Box<u64>>::new(4).unwrap();
    let producer = thread::spawn(move || {
        let mut evicted = Vec::new();
        for i in 0..N_BOXED {
            if let Some(old) = tx.push(Box::new(i)) {
                evicted.push(*old);
            }
        }
        evicted
    });
    let mut got = Vec::new();
    while !producer.is_finished() {
        if let Some(v) = rx.pop() {
            got.push(*v);
        }
    }
    let evicted = producer.join().unwrap();
    while let Some(v) = rx.pop() {
        got.push(*v);
    }
    let mut all: Vec<u64> = got.iter().chain(&evicted).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..N_BOXED).collect::<Vec<_>>(),
        "every value delivered or evicted exactly once"
    );
}
