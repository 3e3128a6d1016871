//! Lock-free single-producer single-consumer (SPSC) ring buffers.
//!
//! Two flavours, both bounded, both split into a [`Send`] producer handle and a [`Send`]
//! consumer handle (neither handle is `Sync` nor `Clone`, so there is exactly one of each and
//! each is used from one thread at a time):
//!
//! | type | when full | producer | consumer | items |
//! | --- | --- | --- | --- | --- |
//! | [`RingBuffer`] → [`Producer`] / [`Consumer`] | `push` fails and hands the value back ([`PushError::Full`]) | wait-free | wait-free | any `T: Send` |
//! | [`OverwriteRing`] → [`OverwriteProducer`] / [`OverwriteConsumer`] | `push` evicts the **oldest** item and counts it in `dropped()` | wait-free | lock-free | any `T: Send` |
//!
//! The normal ring is the default for anything that must not be lost (trades, order events).
//! The overwrite ring is for data where only the freshest value matters (top-of-book quotes):
//! a slow consumer never blocks the producer, it just sees fewer, newer items.
//!
//! ## Design of the normal ring
//! A power-of-two array of slots and two monotonically increasing (wrapping) indices: `head`
//! (next item to read, written only by the consumer) and `tail` (next slot to write, written
//! only by the producer), each in its own cache line (`CachePadded`). Each side keeps a private
//! copy of the *other* side's index and reloads it only when the copy says full (producer) or
//! empty (consumer), so in steady state a push or a pop touches one shared cache line.
//! NB: `cargo bench --bench ring -- spsc_ring` compares it with rtrb and crossbeam's
//! `ArrayQueue` (1M u64 across two threads, capacity 4096): on the shared 2-core dev box it was
//! 1.4–1.8× rtrb's throughput (74M msg/s median on a quiet run).
//!
//! ## Design of the overwrite ring
//! Letting the producer advance `head` of the normal ring would race with a consumer that is
//! reading the oldest slot. Instead the items live in `capacity + 2` *cells*, and each ring slot
//! is one `AtomicU64` holding `(item index tag, cell number, full bit)`. Ownership of a cell moves
//! only through atomic read-modify-writes on a slot:
//!
//! * the producer writes the value into its private spare cell, then `swap`s
//!   `(t, spare, full)` into slot `t % capacity`. What it gets back is its next spare cell:
//!   if that came back *full*, item `t - capacity` was never consumed — it is evicted (returned
//!   to the caller of `push` and counted in `dropped`);
//! * the consumer wanting item `h` does a `compare_exchange` on slot `h % capacity` from
//!   `(h, cell, full)` to `(h, its spare, empty)`. On success it owns `cell` exclusively and
//!   reads it; on failure the producer overwrote the slot in between (item `h` was evicted) and
//!   the consumer skips ahead to the oldest item that can still be in the ring.
//!
//! No cell is ever read and written at the same time, so this works for any `T` (not just
//! `Copy` types) and has no torn reads; the loom model test (`tests/ring_loom.rs`) checks it.
//!
//! Guarantees of the overwrite ring: items are delivered in push order (the sequence the
//! consumer sees is a subsequence of the pushed sequence), each item at most once, and every
//! pushed item is exactly one of: delivered, evicted (counted in `dropped()`), or still in the
//! ring. After the producer stops and the consumer drains, `delivered + dropped == pushed`.
//! Tags are 39 bits wide: the one thing not guarded against is a consumer stalled between a
//! load and its `compare_exchange` while the producer pushes 2^39 (≈ 5.5·10^11) items.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::error::{CoreError, CoreResult};

/// std or loom primitives, so that `--cfg loom` model-checks this very code.
mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;
    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[cfg(not(loom))]
    pub(crate) use std::sync::Arc;
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` with loom's closure-shaped accessors; compiles to nothing.
    #[cfg(not(loom))]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

use sync::{Arc, AtomicU64, AtomicUsize, Ordering, UnsafeCell};

/// Largest capacity of a [`RingBuffer`].
pub const MAX_CAPACITY: usize = 1 << 30;
/// Largest capacity of an [`OverwriteRing`] (cell numbers are packed in 24 bits).
pub const MAX_OVERWRITE_CAPACITY: usize = 1 << 23;

/// `PhantomData` that makes a handle `!Sync` while keeping it `Send`.
type NotSync = PhantomData<Cell<()>>;

fn checked_capacity(capacity: usize, max: usize) -> CoreResult<usize> {
    if capacity == 0 {
        return Err(CoreError::Capacity {
            name: "capacity",
            reason: "must be at least 1, got 0".into(),
        });
    }
    if capacity > max {
        return Err(CoreError::Capacity {
            name: "capacity",
            reason: format!("must be at most {max}, got {capacity}"),
        });
    }
    Ok(capacity.next_power_of_two())
}

fn new_slots<T>(n: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
    (0..n)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a [`Producer::push`] failed. The value is handed back, never lost.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PushError<T> {
    /// The ring holds `capacity` items; the value is returned untouched.
    Full(T),
}

impl<T> PushError<T> {
    /// The value that could not be pushed.
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, _rx) = RingBuffer::new(1).unwrap();
    /// tx.push("a").unwrap();
    /// assert_eq!(tx.push("b").unwrap_err().into_inner(), "b");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) => v,
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring buffer is full")
    }
}

impl<T> std::error::Error for PushError<T> {}

/// Why a [`Consumer::pop`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// No item is available.
    Empty,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring buffer is empty")
    }
}

impl std::error::Error for PopError {}

// ---------------------------------------------------------------------------------------------
// Normal (bounded, fail-when-full) ring
// ---------------------------------------------------------------------------------------------

struct Shared<T> {
    /// Index of the next item to pop; written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Index of the next slot to fill; written only by the producer.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
}

// SAFETY: the shared state is touched by exactly one producer and one consumer. A slot is written
// only by the producer while it lies in [tail, head + capacity) and read only by the consumer while
// it lies in [head, tail); the Release stores / Acquire loads of `head` and `tail` hand each slot
// from one side to the other, so no slot is ever accessed by both at once. Values of `T` move
// between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: see `Send` above; `&Shared` only gives access through that protocol.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    #[inline(always)]
    fn slot(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        // SAFETY: `index & mask < slots.len()` because `slots.len() == mask + 1`.
        unsafe { self.slots.get_unchecked(index & self.mask) }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        let mut head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        while head != tail {
            // SAFETY: both handles are gone (this is the last reference), and every slot in
            // [head, tail) holds an initialised value that nobody popped.
            self.slot(head)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            head = head.wrapping_add(1);
        }
    }
}

/// A bounded SPSC ring buffer whose `push` fails when full.
///
/// `RingBuffer::new(capacity)` returns the two ends, [`Producer`] and [`Consumer`]; the buffer
/// itself lives as long as either end. The capacity is rounded up to a power of two.
///
/// * **Full**: [`Producer::push`] returns `Err(PushError::Full(value))` with the value; nothing
///   is overwritten and nothing blocks.
/// * **Empty**: [`Consumer::pop`] returns `Err(PopError::Empty)`; nothing blocks.
///
/// Both `push` and `pop` are wait-free (a bounded number of steps, no retry loop).
///
/// ```
/// use _core::ring::RingBuffer;
/// let (mut tx, mut rx) = RingBuffer::<u64>::new(3).unwrap();
/// assert_eq!(tx.capacity(), 4);
/// let t = std::thread::spawn(move || for i in 0..100 { while tx.push(i).is_err() {} });
/// let mut got = Vec::new();
/// while got.len() < 100 { if let Ok(v) = rx.pop() { got.push(v) } }
/// t.join().unwrap();
/// assert_eq!(got, (0..100).collect::<Vec<_>>());
/// ```
#[derive(Debug)]
pub struct RingBuffer<T>(PhantomData<T>);

impl<T> RingBuffer<T> {
    /// Allocate a ring of at least `capacity` slots (rounded up to a power of two) and split it.
    ///
    /// `capacity == 0` or `> MAX_CAPACITY` → [`CoreError::Capacity`].
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (tx, rx) = RingBuffer::<u32>::new(1000).unwrap();
    /// assert_eq!((tx.capacity(), rx.capacity()), (1024, 1024));
    /// assert!(RingBuffer::<u32>::new(0).is_err());
    /// ```
    #[allow(
        clippy::new_ret_no_self,
        reason = "a ring is only ever used through its two ends"
    )]
    pub fn new(capacity: usize) -> CoreResult<(Producer<T>, Consumer<T>)> {
        let cap = checked_capacity(capacity, MAX_CAPACITY)?;
        let shared = Arc::new(Shared {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: new_slots(cap),
            mask: cap - 1,
        });
        let producer = Producer {
            shared: Arc::clone(&shared),
            tail: 0,
            cached_head: 0,
            _not_sync: PhantomData,
        };
        let consumer = Consumer {
            shared,
            head: 0,
            cached_tail: 0,
            _not_sync: PhantomData,
        };
        Ok((producer, consumer))
    }
}

/// The writing end of a [`RingBuffer`]. `Send`, not `Sync`, not `Clone`.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Private copy of `shared.tail` (only this handle writes it).
    tail: usize,
    /// Last value of `shared.head` seen; refreshed only when the ring looks full.
    cached_head: usize,
    _not_sync: NotSync,
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Producer<T> {
    /// Append `value`. Wait-free. When the ring is full the value comes back in
    /// [`PushError::Full`] and the ring is unchanged.
    ///
    /// ```
    /// use _core::ring::{PushError, RingBuffer};
    /// let (mut tx, mut rx) = RingBuffer::new(2).unwrap();
    /// assert_eq!(tx.push(1), Ok(()));
    /// assert_eq!(tx.push(2), Ok(()));
    /// assert_eq!(tx.push(3), Err(PushError::Full(3)));
    /// assert_eq!(rx.pop(), Ok(1));
    /// assert_eq!(tx.push(3), Ok(()));
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), PushError<T>> {
        let cap = self.shared.mask + 1;
        if self.tail.wrapping_sub(self.cached_head) == cap {
            // Acquire: the consumer's reads of the slot we are about to reuse happen before.
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) == cap {
                return Err(PushError::Full(value));
            }
        }
        // SAFETY: tail - head < capacity, so slot `tail` is outside [head, tail): the consumer does
        // not read it until we publish the new tail below, and it holds no live value (it was
        // never written or its value was moved out by the consumer).
        self.shared
            .slot(self.tail)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.tail = self.tail.wrapping_add(1);
        // Release: the write above is visible to a consumer that sees the new tail.
        self.shared.tail.store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Number of free slots right now (a snapshot: the consumer may free more at any time).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, _rx) = RingBuffer::new(4).unwrap();
    /// tx.push(0u8).unwrap();
    /// assert_eq!(tx.slots(), 3);
    /// ```
    pub fn slots(&self) -> usize {
        let head = self.shared.head.load(Ordering::Acquire);
        self.capacity() - self.tail.wrapping_sub(head)
    }

    /// Number of items in the ring right now (a snapshot).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, _rx) = RingBuffer::new(4).unwrap();
    /// tx.push(0u8).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.capacity() - self.slots()
    }

    /// `true` if the ring holds no item right now (a snapshot).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (tx, _rx) = RingBuffer::<u8>::new(4).unwrap();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` if a `push` would fail right now.
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, _rx) = RingBuffer::new(1).unwrap();
    /// tx.push(0u8).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.slots() == 0
    }

    /// The capacity (a power of two).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (tx, _rx) = RingBuffer::<u8>::new(5).unwrap();
    /// assert_eq!(tx.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }
}

/// The reading end of a [`RingBuffer`]. `Send`, not `Sync`, not `Clone`.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Private copy of `shared.head` (only this handle writes it).
    head: usize,
    /// Last value of `shared.tail` seen; refreshed only when the ring looks empty.
    cached_tail: usize,
    _not_sync: NotSync,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Consumer<T> {
    /// Number of items readable without reloading the producer's index, refreshing it if zero.
    #[inline(always)]
    fn available(&mut self) -> usize {
        let n = self.cached_tail.wrapping_sub(self.head);
        if n != 0 {
            return n;
        }
        // Acquire: the producer's writes of the slots up to the new tail happen before.
        self.cached_tail = self.shared.tail.load(Ordering::Acquire);
        self.cached_tail.wrapping_sub(self.head)
    }

    /// Remove the oldest item. Wait-free. `Err(PopError::Empty)` when there is none.
    ///
    /// ```
    /// use _core::ring::{PopError, RingBuffer};
    /// let (mut tx, mut rx) = RingBuffer::new(2).unwrap();
    /// assert_eq!(rx.pop(), Err(PopError::Empty));
    /// tx.push("x").unwrap();
    /// assert_eq!(rx.pop(), Ok("x"));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Result<T, PopError> {
        if self.available() == 0 {
            return Err(PopError::Empty);
        }
        // SAFETY: head < tail (as published with Release by the producer and loaded with Acquire),
        // so slot `head` holds an initialised value the producer will not touch until we publish
        // head + 1; we move it out exactly once.
        let value = self
            .shared
            .slot(self.head)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.head = self.head.wrapping_add(1);
        // Release: our read of the slot happens before the producer reuses it.
        self.shared.head.store(self.head, Ordering::Release);
        Ok(value)
    }

    /// Move up to `max` of the oldest items, in order, to the end of `out`; return how many.
    ///
    /// The head index is published once for the whole batch. `out` is grown with
    /// `Vec::reserve` only if its spare capacity is too small: reserve it once (for example
    /// `Vec::with_capacity(ring capacity)`) and reuse it to keep the hot path free of
    /// allocation.
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, mut rx) = RingBuffer::new(8).unwrap();
    /// for i in 0..5 { tx.push(i).unwrap(); }
    /// let mut out = Vec::with_capacity(8);
    /// assert_eq!(rx.pop_batch(&mut out, 3), 3);
    /// assert_eq!(rx.pop_batch(&mut out, 100), 2);
    /// assert_eq!(out, vec![0, 1, 2, 3, 4]);
    /// assert_eq!(rx.pop_batch(&mut out, 100), 0);
    /// ```
    pub fn pop_batch(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let mut n = self.available().min(max);
        if n == 0 {
            return 0;
        }
        if n < max {
            // The cached tail may be stale: one reload can only give more.
            self.cached_tail = self.shared.tail.load(Ordering::Acquire);
            n = self.cached_tail.wrapping_sub(self.head).min(max);
        }
        out.reserve(n);
        for i in 0..n {
            // SAFETY: every index in [head, head + n) is below the tail loaded with Acquire, so each
            // slot holds an initialised value the producer will not touch before we publish the new
            // head; each is moved out exactly once.
            let value = self
                .shared
                .slot(self.head.wrapping_add(i))
                .with(|p| unsafe { (*p).assume_init_read() });
            out.push(value);
        }
        self.head = self.head.wrapping_add(n);
        self.shared.head.store(self.head, Ordering::Release);
        n
    }

    /// A reference to the oldest item without removing it.
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, mut rx) = RingBuffer::new(2).unwrap();
    /// assert_eq!(rx.peek(), None);
    /// tx.push(7).unwrap();
    /// assert_eq!(rx.peek(), Some(&7));
    /// assert_eq!(rx.pop(), Ok(7));
    /// ```
    pub fn peek(&mut self) -> Option<&T> {
        if self.available() == 0 {
            return None;
        }
        // SAFETY: as in `pop`, slot `head` is initialised and the producer does not write it while
        // it is in [head, tail); the returned borrow ties up `&mut self`, so no pop can move the
        // value out while the reference lives.
        Some(
            self.shared
                .slot(self.head)
                .with(|p| unsafe { (*p).assume_init_ref() }),
        )
    }

    /// Number of items available to pop right now (a snapshot: the producer may add more).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, rx) = RingBuffer::new(4).unwrap();
    /// tx.push(1).unwrap();
    /// tx.push(2).unwrap();
    /// assert_eq!(rx.slots(), 2);
    /// ```
    pub fn slots(&self) -> usize {
        self.shared
            .tail
            .load(Ordering::Acquire)
            .wrapping_sub(self.head)
    }

    /// Number of items in the ring right now; the same as [`Consumer::slots`].
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (mut tx, rx) = RingBuffer::new(4).unwrap();
    /// tx.push(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.slots()
    }

    /// `true` if nothing can be popped right now.
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (_tx, rx) = RingBuffer::<u8>::new(4).unwrap();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots() == 0
    }

    /// The capacity (a power of two).
    ///
    /// ```
    /// use _core::ring::RingBuffer;
    /// let (_tx, rx) = RingBuffer::<u8>::new(3).unwrap();
    /// assert_eq!(rx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }
}

// ---------------------------------------------------------------------------------------------
// Overwrite-oldest ring
// ---------------------------------------------------------------------------------------------

const CELL_BITS: u32 = 24;
const CELL_MASK: u64 = (1 << CELL_BITS) - 1;
const FULL_BIT: u64 = 1 << CELL_BITS;
const TAG_SHIFT: u32 = CELL_BITS + 1;
const TAG_BITS: u32 = 64 - TAG_SHIFT;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

#[inline(always)]
fn pack(index: u64, cell: usize, full: bool) -> u64 {
    ((index & TAG_MASK) << TAG_SHIFT) | if full { FULL_BIT } else { 0 } | cell as u64
}

#[inline(always)]
fn cell_of(word: u64) -> usize {
    (word & CELL_MASK) as usize
}

#[inline(always)]
fn is_full(word: u64) -> bool {
    word & FULL_BIT != 0
}

/// `tag(word) - index` as a signed distance modulo 2^TAG_BITS.
#[inline(always)]
fn tag_distance(word: u64, index: u64) -> i64 {
    let d = ((word >> TAG_SHIFT).wrapping_sub(index)) & TAG_MASK;
    if d >= 1 << (TAG_BITS - 1) {
        d as i64 - (1i64 << TAG_BITS)
    } else {
        d as i64
    }
}

struct OverwriteShared<T> {
    /// `(tag, cell, full)` per ring position; see the module docs.
    slots: Box<[AtomicU64]>,
    /// `capacity + 2` cells: `capacity` referenced by slots, one spare per handle.
    cells: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: u64,
    /// Items pushed so far (published by the producer, read for `len`).
    pushed: CachePadded<AtomicU64>,
    /// Index of the next item the consumer wants (published by the consumer, read for `len`).
    head: CachePadded<AtomicU64>,
    /// Items evicted so far.
    dropped: CachePadded<AtomicU64>,
}

// SAFETY: a cell is accessed only by the handle that owns it, and ownership moves between the two
// handles only through AcqRel read-modify-writes on a slot word (see the module docs), which order
// the previous owner's accesses before the next owner's. Values move between threads: `T: Send`.
unsafe impl<T: Send> Send for OverwriteShared<T> {}
// SAFETY: see `Send` above.
unsafe impl<T: Send> Sync for OverwriteShared<T> {}

impl<T> OverwriteShared<T> {
    #[inline(always)]
    fn slot(&self, index: u64) -> &AtomicU64 {
        // SAFETY: `index & mask < slots.len()` because `slots.len() == mask + 1`.
        unsafe { self.slots.get_unchecked((index & self.mask) as usize) }
    }

    #[inline(always)]
    fn cell(&self, cell: usize) -> &UnsafeCell<MaybeUninit<T>> {
        debug_assert!(cell < self.cells.len());
        // SAFETY: cell numbers are created in `new` below `cells.len()` and only moved around.
        unsafe { self.cells.get_unchecked(cell) }
    }
}

impl<T> Drop for OverwriteShared<T> {
    fn drop(&mut self) {
        for i in 0..self.slots.len() {
            let word = self.slots[i].load(Ordering::Acquire);
            if is_full(word) {
                // SAFETY: both handles are gone; a full slot references a cell holding a value that
                // was neither consumed nor evicted, and each cell is referenced by one slot at most.
                self.cell(cell_of(word))
                    .with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

/// A bounded SPSC ring whose `push` never fails: when full it evicts the oldest item.
///
/// For quotes and other "latest value wins" data. `OverwriteRing::new(capacity)` returns the two
/// ends, [`OverwriteProducer`] and [`OverwriteConsumer`]; capacity is rounded up to a power of two.
///
/// * **Full**: [`OverwriteProducer::push`] stores the new item, removes the oldest unread one,
///   returns it (`Some(evicted)`) and adds one to [`OverwriteProducer::dropped`].
/// * **Empty**: [`OverwriteConsumer::pop`] returns `None`.
///
/// Guarantees (see the module docs for the mechanism): order preserved, each item delivered at
/// most once, and `delivered + dropped + still queued == pushed` at every quiescent point. The
/// producer is wait-free (one atomic swap per push); the consumer is lock-free (it retries only
/// when the producer evicted the very item it was about to take).
///
/// ```
/// use _core::ring::OverwriteRing;
/// let (mut tx, mut rx) = OverwriteRing::new(2).unwrap();
/// for q in [10, 11, 12] { tx.push(q); }
/// assert_eq!(tx.dropped(), 1);
/// assert_eq!((rx.pop(), rx.pop(), rx.pop()), (Some(11), Some(12), None));
/// ```
#[derive(Debug)]
pub struct OverwriteRing<T>(PhantomData<T>);

impl<T> OverwriteRing<T> {
    /// Allocate a ring of at least `capacity` items (rounded up to a power of two) and split it.
    ///
    /// `capacity == 0` or `> MAX_OVERWRITE_CAPACITY` → [`CoreError::Capacity`].
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (tx, rx) = OverwriteRing::<u64>::new(100).unwrap();
    /// assert_eq!((tx.capacity(), rx.capacity()), (128, 128));
    /// assert!(OverwriteRing::<u64>::new(0).is_err());
    /// ```
    #[allow(
        clippy::new_ret_no_self,
        reason = "a ring is only ever used through its two ends"
    )]
    pub fn new(capacity: usize) -> CoreResult<(OverwriteProducer<T>, OverwriteConsumer<T>)> {
        let cap = checked_capacity(capacity, MAX_OVERWRITE_CAPACITY)?;
        let cap64 = cap as u64;
        // Slot i starts empty, tagged as if item i - cap had been consumed, and owns cell i.
        let slots = (0..cap)
            .map(|i| AtomicU64::new(pack((i as u64).wrapping_sub(cap64), i, false)))
            .collect();
        let shared = Arc::new(OverwriteShared {
            slots,
            cells: new_slots(cap + 2),
            mask: cap64 - 1,
            pushed: CachePadded::new(AtomicU64::new(0)),
            head: CachePadded::new(AtomicU64::new(0)),
            dropped: CachePadded::new(AtomicU64::new(0)),
        });
        let producer = OverwriteProducer {
            shared: Arc::clone(&shared),
            tail: 0,
            spare: cap,
            dropped: 0,
            _not_sync: PhantomData,
        };
        let consumer = OverwriteConsumer {
            shared,
            head: 0,
            spare: cap + 1,
            _not_sync: PhantomData,
        };
        Ok((producer, consumer))
    }
}

/// The writing end of an [`OverwriteRing`]. `Send`, not `Sync`, not `Clone`.
pub struct OverwriteProducer<T> {
    shared: Arc<OverwriteShared<T>>,
    /// Index of the next item.
    tail: u64,
    /// The cell this handle owns and writes next.
    spare: usize,
    dropped: u64,
    _not_sync: NotSync,
}

impl<T> fmt::Debug for OverwriteProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OverwriteProducer")
            .field("capacity", &self.capacity())
            .field("pushed", &self.tail)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl<T> OverwriteProducer<T> {
    /// Append `value`; never fails. Wait-free. If the ring was full, the oldest unread item is
    /// evicted, returned, and counted in [`dropped`](Self::dropped).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, mut rx) = OverwriteRing::new(1).unwrap();
    /// assert_eq!(tx.push('a'), None);
    /// assert_eq!(tx.push('b'), Some('a'));
    /// assert_eq!(rx.pop(), Some('b'));
    /// assert_eq!(tx.push('c'), None);
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Option<T> {
        let shared = &*self.shared;
        // SAFETY: `spare` is owned by this handle alone: it is referenced by no slot (it was the
        // initial spare or came out of a slot through our own swap below) and holds no live value.
        shared
            .cell(self.spare)
            .with_mut(|p| unsafe { (*p).write(value) });
        let t = self.tail;
        // AcqRel: Release publishes the value to the consumer that takes this cell; Acquire orders
        // the consumer's read of the cell we get back before our next write into it.
        let old = shared
            .slot(t)
            .swap(pack(t, self.spare, true), Ordering::AcqRel);
        self.tail = t.wrapping_add(1);
        shared.pushed.store(self.tail, Ordering::Release);
        self.spare = cell_of(old);
        if is_full(old) {
            self.dropped += 1;
            shared.dropped.store(self.dropped, Ordering::Release);
            // SAFETY: the swap removed the last reference to this cell from the ring, so we own it;
            // it is full, i.e. holds item t - capacity, which nobody consumed. Moved out once.
            Some(
                shared
                    .cell(self.spare)
                    .with(|p| unsafe { (*p).assume_init_read() }),
            )
        } else {
            None
        }
    }

    /// Items evicted so far (pushed while full).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, _rx) = OverwriteRing::new(2).unwrap();
    /// for i in 0..5 { tx.push(i); }
    /// assert_eq!(tx.dropped(), 3);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Items pushed so far.
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, _rx) = OverwriteRing::new(2).unwrap();
    /// for i in 0..5 { tx.push(i); }
    /// assert_eq!(tx.pushed(), 5);
    /// ```
    pub fn pushed(&self) -> u64 {
        self.tail
    }

    /// Number of unread items right now (a snapshot).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, _rx) = OverwriteRing::new(2).unwrap();
    /// for i in 0..5 { tx.push(i); }
    /// assert_eq!(tx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        ring_len(
            self.tail,
            self.shared.head.load(Ordering::Acquire),
            self.capacity(),
        )
    }

    /// `true` if no item is unread right now.
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, _rx) = OverwriteRing::new(2).unwrap();
    /// assert!(tx.is_empty());
    /// tx.push(1);
    /// assert!(!tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity (a power of two).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (tx, _rx) = OverwriteRing::<u8>::new(3).unwrap();
    /// assert_eq!(tx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.mask as usize + 1
    }
}

fn ring_len(pushed: u64, head: u64, capacity: usize) -> usize {
    // `head` may be stale (a lagging consumer publishes its skip on its next pop): clamp.
    (pushed.saturating_sub(head)).min(capacity as u64) as usize
}

/// The reading end of an [`OverwriteRing`]. `Send`, not `Sync`, not `Clone`.
pub struct OverwriteConsumer<T> {
    shared: Arc<OverwriteShared<T>>,
    /// Index of the next item wanted.
    head: u64,
    /// The cell this handle owns and hands back to the ring on its next successful take.
    spare: usize,
    _not_sync: NotSync,
}

impl<T> fmt::Debug for OverwriteConsumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OverwriteConsumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl<T> OverwriteConsumer<T> {
    /// Remove the oldest unread item, or `None` if there is none. Lock-free.
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, mut rx) = OverwriteRing::new(4).unwrap();
    /// assert_eq!(rx.pop(), None);
    /// tx.push(1.5);
    /// assert_eq!(rx.pop(), Some(1.5));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let shared = &*self.shared;
        let cap = shared.mask + 1;
        loop {
            let h = self.head;
            let slot = shared.slot(h);
            let word = slot.load(Ordering::Acquire);
            let d = tag_distance(word, h);
            if d < 0 {
                // The slot still holds an older (consumed) item: item h is not pushed yet.
                return None;
            }
            if d == 0 {
                debug_assert!(
                    is_full(word),
                    "only the consumer empties a slot and it then moves on"
                );
                // AcqRel: Acquire pairs with the producer's Release swap (the cell's value is
                // visible); Release orders our earlier read of `spare` before the producer reuses it.
                match slot.compare_exchange(
                    word,
                    pack(h, self.spare, false),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        let cell = cell_of(word);
                        // SAFETY: the successful exchange removed the only reference to `cell` from
                        // the ring: we own it, and it holds item h (full bit set). Moved out once.
                        let value = shared
                            .cell(cell)
                            .with(|p| unsafe { (*p).assume_init_read() });
                        self.spare = cell;
                        self.head = h.wrapping_add(1);
                        shared.head.store(self.head, Ordering::Release);
                        return Some(value);
                    }
                    // The producer evicted item h in between: look again (now d > 0).
                    Err(_) => continue,
                }
            }
            // d > 0: the slot holds item tag = h + d (d a multiple of cap), so every item up to
            // tag - cap was overwritten; the oldest that can still be here is tag - cap + 1.
            self.head = h.wrapping_add(d as u64).wrapping_sub(cap).wrapping_add(1);
            shared.head.store(self.head, Ordering::Release);
        }
    }

    /// Move up to `max` of the oldest unread items, in order, to the end of `out`; return how
    /// many. `out` is grown only if its spare capacity is too small (see
    /// [`Consumer::pop_batch`]).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, mut rx) = OverwriteRing::new(4).unwrap();
    /// for i in 0..6 { tx.push(i); }
    /// let mut out = Vec::with_capacity(4);
    /// assert_eq!(rx.pop_batch(&mut out, 10), 4);
    /// assert_eq!(out, vec![2, 3, 4, 5]);
    /// ```
    pub fn pop_batch(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            match self.pop() {
                Some(v) => out.push(v),
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Items evicted so far by the producer (a snapshot).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, rx) = OverwriteRing::new(1).unwrap();
    /// tx.push(1);
    /// tx.push(2);
    /// assert_eq!(rx.dropped(), 1);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Acquire)
    }

    /// Number of unread items right now (a snapshot, at most `capacity`).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (mut tx, rx) = OverwriteRing::new(2).unwrap();
    /// for i in 0..3 { tx.push(i); }
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        ring_len(
            self.shared.pushed.load(Ordering::Acquire),
            self.head,
            self.capacity(),
        )
    }

    /// `true` if nothing can be popped right now.
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (_tx, rx) = OverwriteRing::<u8>::new(2).unwrap();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity (a power of two).
    ///
    /// ```
    /// use _core::ring::OverwriteRing;
    /// let (_tx, rx) = OverwriteRing::<u8>::new(2).unwrap();
    /// assert_eq!(rx.capacity(), 2);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.mask as usize + 1
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn capacity_is_validated_and_rounded() {
        assert!(matches!(
            RingBuffer::<u8>::new(0),
            Err(CoreError::Capacity {
                name: "capacity",
                ..
            })
        ));
        assert!(RingBuffer::<u8>::new(MAX_CAPACITY + 1).is_err());
        assert_eq!(RingBuffer::<u8>::new(1).unwrap().0.capacity(), 1);
        assert_eq!(RingBuffer::<u8>::new(1025).unwrap().0.capacity(), 2048);
        assert!(OverwriteRing::<u8>::new(0).is_err());
        assert!(OverwriteRing::<u8>::new(MAX_OVERWRITE_CAPACITY + 1).is_err());
    }

    #[test]
    fn wraps_many_times() {
        let (mut tx, mut rx) = RingBuffer::new(4).unwrap();
        for i in 0..1000u32 {
            tx.push(i).unwrap();
            tx.push(i + 1).unwrap();
            assert_eq!(rx.pop(), Ok(i));
            assert_eq!(rx.pop(), Ok(i + 1));
        }
        assert!(rx.is_empty());
    }

    #[test]
    fn unread_items_are_dropped_with_the_ring() {
        let marker = Rc::new(());
        {
            let (mut tx, mut rx) = RingBuffer::new(4).unwrap();
            for _ in 0..3 {
                tx.push(Rc::clone(&marker)).unwrap();
            }
            drop(rx.pop());
            assert_eq!(Rc::strong_count(&marker), 3);
        }
        assert_eq!(Rc::strong_count(&marker), 1);
        {
            let (mut tx, mut rx) = OverwriteRing::new(2).unwrap();
            for _ in 0..5 {
                drop(tx.push(Rc::clone(&marker)));
            }
            drop(rx.pop());
            assert_eq!(Rc::strong_count(&marker), 2);
        }
        assert_eq!(Rc::strong_count(&marker), 1);
    }

    #[test]
    fn overwrite_consumer_skips_a_lap() {
        let (mut tx, mut rx) = OverwriteRing::new(4).unwrap();
        for i in 0..100u64 {
            tx.push(i);
        }
        assert_eq!(tx.dropped(), 96);
        let mut out = Vec::new();
        rx.pop_batch(&mut out, usize::MAX);
        assert_eq!(out, vec![96, 97, 98, 99]);
        tx.push(100);
        assert_eq!(rx.pop(), Some(100));
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn tag_distance_wraps() {
        assert_eq!(tag_distance(pack(5, 0, true), 5), 0);
        assert_eq!(tag_distance(pack(3, 0, true), 5), -2);
        assert_eq!(tag_distance(pack(0, 0, true), TAG_MASK), 1);
        assert_eq!(tag_distance(pack(TAG_MASK, 0, true), 0), -1);
        assert_eq!(
            tag_distance(pack(u64::MAX - 3, 7, false), u64::MAX.wrapping_sub(7)),
            4
        );
    }
}
