//! Zero allocations in steady state: a counting `#[global_allocator]` (its own test binary) counts
//! the allocations made *by the current thread* during acquire/release cycles of the pool and
//! push/pop cycles of both rings, after a warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use _core::model::{AggressorSide, MarketEvent};
use _core::pool::Pool;
use _core::ring::{OverwriteRing, RingBuffer};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` unchanged; the thread-local counter is a const-initialised
// `Cell` without a destructor, so touching it never allocates or recurses into the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test itself: a broken counter would make the zero checks below vacuous.
    let n = allocations_during(|| {
        let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(10));
        drop(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn pool_steady_state_does_not_allocate() {
    let mut pool = Pool::new(256, || Vec::<u64>::with_capacity(32)).unwrap();
    let mut held = Vec::with_capacity(256);
    // Warm-up: every slot once.
    for _ in 0..256 {
        held.push(pool.acquire().unwrap());
    }
    for h in held.drain(..) {
        pool.release(h).unwrap();
    }
    let n = allocations_during(|| {
        for round in 0..10_000u64 {
            for _ in 0..16 {
                let h = pool.acquire().unwrap();
                let obj = pool.get_mut(h).unwrap();
                obj.clear();
                obj.extend_from_slice(&[round; 8]); // fits the pre-sized buffer
                held.push(h);
            }
            let h = pool.acquire().unwrap();
            pool.release(h).unwrap();
            for h in held.drain(..) {
                pool.release(h).unwrap();
            }
        }
    });
    assert_eq!(
        n, 0,
        "pool acquire/release allocated {n} times in steady state"
    );
    assert_eq!(pool.stats().in_use, 0);
    // Exhaustion (None, counted) does not allocate either.
    let mut small = Pool::new(1, || 0u8).unwrap();
    let h = small.acquire().unwrap();
    let n = allocations_during(|| assert!(small.acquire().is_none()));
    assert_eq!(n, 0);
    assert_eq!(small.stats().failed_acquires, 1);
    small.release(h).unwrap();
}

#[test]
fn ring_steady_state_does_not_allocate() {
    let (mut tx, mut rx) = RingBuffer::<MarketEvent>::new(1024).unwrap();
    let (mut otx, mut orx) = OverwriteRing::<MarketEvent>::new(64).unwrap();
    let mut out = Vec::with_capacity(1024);
    let n = allocations_during(|| {
        for i in 0..100_000u64 {
            let e = MarketEvent::trade(i, 1, 100.0, 1.0, AggressorSide::Buyer);
            tx.push(e).unwrap();
            tx.push(e).unwrap();
            assert_eq!(rx.pop().map(|e| e.ts_event), Ok(i));
            out.clear();
            assert_eq!(rx.pop_batch(&mut out, 8), 1);
            // Overwrite ring, including evictions (100 pushes per pop on a 64-slot ring).
            let _evicted = otx.push(e);
            if i % 100 == 0 {
                assert!(orx.pop().is_some());
            }
        }
        out.clear();
        orx.pop_batch(&mut out, 1024);
    });
    assert_eq!(n, 0, "ring push/pop allocated {n} times in steady state");
    assert!(otx.dropped() > 0);
}
