//! Object pool: a pre-sized slab of `T` with O(1) acquire/release and no allocation in steady
//! state.
//!
//! [`Pool::new`] builds every object up front with a factory. [`Pool::acquire`] pops an index
//! off a free list and returns a [`Handle`]; [`Pool::release`] pushes it back. Objects are
//! **not** dropped or reset on release: their buffers (a `String`, a `Vec`) are reused by the
//! next holder, which is the point of pooling; the acquirer overwrites what it needs through
//! [`Pool::get_mut`].
//!
//! * **Exhaustion**: with a fixed pool (the default) `acquire` returns `None` and counts a
//!   failed acquire; `try_acquire` turns that into [`CoreError::Capacity`]. A pool built with
//!   [`Pool::with_growth`] instead doubles its slab (up to `max_capacity`) — that one acquire
//!   allocates, and the growth is counted in [`PoolStats::grows`].
//! * **Bad handles**: a handle carries its pool's id, the slot index and the slot's generation
//!   (bumped on every release). Releasing twice, using a released handle, or using another
//!   pool's handle is a [`CoreError::InvalidArgument`] naming `handle` — never UB, never a
//!   panic. (A handle kept across 2^32 release cycles of the same slot could alias; the
//!   generation is 32 bits.)
//!
//! The pool is a single-owner structure (`&mut self`); share it across threads by moving it or
//! wrapping it, or keep one pool per thread as the engine does.
//!
//! ```
//! use _core::pool::Pool;
//! let mut pool = Pool::new(2, || String::with_capacity(64)).unwrap();
//! let a = pool.acquire().unwrap();
//! pool.get_mut(a).unwrap().push_str("order-1");
//! let b = pool.acquire().unwrap();
//! assert!(pool.acquire().is_none()); // exhausted
//! pool.release(a).unwrap();
//! assert!(pool.release(a).is_err()); // double release
//! let s = pool.stats();
//! assert_eq!((s.in_use, s.high_water, s.failed_acquires), (1, 2, 1));
//! # let _ = b;
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{CoreError, CoreResult};

/// Largest number of objects in one pool (indices are `u32`).
pub const MAX_POOL_CAPACITY: usize = u32::MAX as usize;

static NEXT_POOL_ID: AtomicU32 = AtomicU32::new(1);

/// A reference to an acquired object: pool id, slot index and generation. `Copy`, 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle {
    pool: u32,
    index: u32,
    generation: u32,
}

impl Handle {
    /// The slot index inside its pool (stable while the handle is live).
    pub fn index(self) -> u32 {
        self.index
    }

    /// Pack into one integer for foreign code (e.g. Python): `(pool << 64) | (generation << 32) | index`.
    ///
    /// ```
    /// use _core::pool::{Handle, Pool};
    /// let mut pool = Pool::new(1, || 0u8).unwrap();
    /// let h = pool.acquire().unwrap();
    /// assert_eq!(Handle::from_bits(h.to_bits()), h);
    /// ```
    pub fn to_bits(self) -> u128 {
        (u128::from(self.pool) << 64) | (u128::from(self.generation) << 32) | u128::from(self.index)
    }

    /// Inverse of [`Handle::to_bits`]. Any value is accepted; the pool validates it on use.
    pub fn from_bits(bits: u128) -> Self {
        Self {
            pool: (bits >> 64) as u32,
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

/// Counters of a [`Pool`], all since construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Objects in the slab.
    pub capacity: usize,
    /// Objects currently acquired.
    pub in_use: usize,
    /// Objects currently free (`capacity - in_use`).
    pub available: usize,
    /// Largest `in_use` ever seen.
    pub high_water: usize,
    /// Successful acquires.
    pub acquires: u64,
    /// Successful releases.
    pub releases: u64,
    /// Acquires refused because the pool was exhausted (and could not grow).
    pub failed_acquires: u64,
    /// Times the slab grew (growth policy only).
    pub grows: u64,
}

struct Entry<T> {
    value: T,
    generation: u32,
    in_use: bool,
}

/// A slab of pre-built `T` handed out by [`Handle`]. See the [module docs](self).
pub struct Pool<T> {
    entries: Vec<Entry<T>>,
    /// Stack of free slot indices; its capacity always covers every slot, so pushes never allocate.
    free: Vec<u32>,
    factory: Box<dyn FnMut() -> T + Send>,
    id: u32,
    max_capacity: usize,
    stats: PoolStats,
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("id", &self.id)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<T> Pool<T> {
    /// A fixed pool of `capacity` objects, each built by `factory` now.
    ///
    /// `capacity == 0` (or above [`MAX_POOL_CAPACITY`]) → [`CoreError::Capacity`].
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let pool = Pool::new(8, Vec::<u8>::new).unwrap();
    /// assert_eq!(pool.capacity(), 8);
    /// assert!(Pool::new(0, Vec::<u8>::new).is_err());
    /// ```
    pub fn new(capacity: usize, factory: impl FnMut() -> T + Send + 'static) -> CoreResult<Self> {
        Self::with_growth(capacity, capacity, factory)
    }

    /// A pool of `capacity` objects that, when exhausted, doubles its slab up to
    /// `max_capacity` objects (growing allocates; steady state does not).
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::with_growth(1, 3, || 0u64).unwrap();
    /// let _a = pool.acquire().unwrap();
    /// let _b = pool.acquire().unwrap(); // grows to 2
    /// let _c = pool.acquire().unwrap(); // grows to 3 (capped)
    /// assert!(pool.acquire().is_none());
    /// assert_eq!((pool.capacity(), pool.stats().grows), (3, 2));
    /// ```
    pub fn with_growth(
        capacity: usize,
        max_capacity: usize,
        mut factory: impl FnMut() -> T + Send + 'static,
    ) -> CoreResult<Self> {
        if capacity == 0 {
            return Err(CoreError::Capacity {
                name: "capacity",
                reason: "must be at least 1, got 0".into(),
            });
        }
        if max_capacity < capacity {
            return Err(CoreError::Capacity {
                name: "max_capacity",
                reason: format!("must be >= capacity ({capacity}), got {max_capacity}"),
            });
        }
        if max_capacity > MAX_POOL_CAPACITY {
            return Err(CoreError::Capacity {
                name: "max_capacity",
                reason: format!("must be at most {MAX_POOL_CAPACITY}, got {max_capacity}"),
            });
        }
        let mut entries = Vec::with_capacity(capacity);
        entries.extend((0..capacity).map(|_| Entry {
            value: factory(),
            generation: 0,
            in_use: false,
        }));
        let mut free = Vec::with_capacity(capacity);
        // Lowest index on top of the stack, so a fresh pool hands out 0, 1, 2, ...
        free.extend((0..capacity as u32).rev());
        Ok(Self {
            entries,
            free,
            factory: Box::new(factory),
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            max_capacity,
            stats: PoolStats {
                capacity,
                available: capacity,
                ..PoolStats::default()
            },
        })
    }

    fn grow(&mut self) -> bool {
        let old = self.entries.len();
        if old >= self.max_capacity {
            return false;
        }
        let new = (old * 2).min(self.max_capacity);
        self.entries.reserve_exact(new - old);
        self.free.reserve_exact(new - self.free.len());
        for _ in old..new {
            self.entries.push(Entry {
                value: (self.factory)(),
                generation: 0,
                in_use: false,
            });
        }
        self.free.extend((old as u32..new as u32).rev());
        self.stats.capacity = new;
        self.stats.grows += 1;
        true
    }

    /// Take a free object, O(1). `None` when exhausted (counted in `failed_acquires`), unless the
    /// pool may grow. The object keeps whatever state its last holder left.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || 5i32).unwrap();
    /// let h = pool.acquire().unwrap();
    /// assert_eq!(pool.get(h).copied(), Ok(5));
    /// assert!(pool.acquire().is_none());
    /// ```
    #[inline]
    pub fn acquire(&mut self) -> Option<Handle> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                if !self.grow() {
                    self.stats.failed_acquires += 1;
                    return None;
                }
                self.free.pop()?
            }
        };
        let entry = &mut self.entries[index as usize];
        debug_assert!(!entry.in_use);
        entry.in_use = true;
        let s = &mut self.stats;
        s.acquires += 1;
        s.in_use += 1;
        s.available = s.capacity - s.in_use;
        s.high_water = s.high_water.max(s.in_use);
        Some(Handle {
            pool: self.id,
            index,
            generation: entry.generation,
        })
    }

    /// [`Pool::acquire`], with exhaustion as [`CoreError::Capacity`].
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || ()).unwrap();
    /// assert!(pool.try_acquire().is_ok());
    /// assert!(pool.try_acquire().is_err());
    /// ```
    pub fn try_acquire(&mut self) -> CoreResult<Handle> {
        self.acquire().ok_or_else(|| CoreError::Capacity {
            name: "pool",
            reason: format!("all {} objects are in use", self.entries.len()),
        })
    }

    fn check(&self, handle: Handle) -> CoreResult<usize> {
        let bad = |reason: String| CoreError::InvalidArgument {
            name: "handle",
            reason,
        };
        if handle.pool != self.id {
            return Err(bad(format!(
                "belongs to pool {}, not to this pool ({})",
                handle.pool, self.id
            )));
        }
        let index = handle.index as usize;
        let Some(entry) = self.entries.get(index) else {
            return Err(bad(format!("slot {index} does not exist")));
        };
        if !entry.in_use || entry.generation != handle.generation {
            return Err(bad(format!(
                "slot {index} was already released (stale or double release)"
            )));
        }
        Ok(index)
    }

    /// Return an object to the pool, O(1). Double release, a stale handle or another pool's
    /// handle → [`CoreError::InvalidArgument`] and nothing changes.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || 0u8).unwrap();
    /// let h = pool.acquire().unwrap();
    /// assert!(pool.release(h).is_ok());
    /// assert!(pool.release(h).is_err());
    /// ```
    #[inline]
    pub fn release(&mut self, handle: Handle) -> CoreResult<()> {
        let index = self.check(handle)?;
        let entry = &mut self.entries[index];
        entry.in_use = false;
        entry.generation = entry.generation.wrapping_add(1);
        // Never reallocates: `free` has capacity for every slot and this one was not in it.
        self.free.push(handle.index);
        let s = &mut self.stats;
        s.releases += 1;
        s.in_use -= 1;
        s.available = s.capacity - s.in_use;
        Ok(())
    }

    /// The object behind a live handle.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || 3u8).unwrap();
    /// let h = pool.acquire().unwrap();
    /// assert_eq!(*pool.get(h).unwrap(), 3);
    /// ```
    pub fn get(&self, handle: Handle) -> CoreResult<&T> {
        let index = self.check(handle)?;
        Ok(&self.entries[index].value)
    }

    /// The object behind a live handle, mutably.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || 3u8).unwrap();
    /// let h = pool.acquire().unwrap();
    /// *pool.get_mut(h).unwrap() = 4;
    /// assert_eq!(*pool.get(h).unwrap(), 4);
    /// ```
    pub fn get_mut(&mut self, handle: Handle) -> CoreResult<&mut T> {
        let index = self.check(handle)?;
        Ok(&mut self.entries[index].value)
    }

    /// `true` if `handle` is live in this pool.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(1, || ()).unwrap();
    /// let h = pool.acquire().unwrap();
    /// assert!(pool.contains(h));
    /// pool.release(h).unwrap();
    /// assert!(!pool.contains(h));
    /// ```
    pub fn contains(&self, handle: Handle) -> bool {
        self.check(handle).is_ok()
    }

    /// Objects in the slab.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// assert_eq!(Pool::new(4, || ()).unwrap().capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.stats.capacity
    }

    /// Objects currently acquired.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(4, || ()).unwrap();
    /// pool.acquire();
    /// assert_eq!(pool.in_use(), 1);
    /// ```
    pub fn in_use(&self) -> usize {
        self.stats.in_use
    }

    /// Objects currently free.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(4, || ()).unwrap();
    /// pool.acquire();
    /// assert_eq!(pool.available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.stats.available
    }

    /// A copy of the counters.
    ///
    /// ```
    /// use _core::pool::Pool;
    /// let mut pool = Pool::new(2, || ()).unwrap();
    /// let h = pool.acquire().unwrap();
    /// pool.release(h).unwrap();
    /// let s = pool.stats();
    /// assert_eq!((s.acquires, s.releases, s.high_water, s.in_use), (1, 1, 1, 0));
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_and_forged_handles_are_errors() {
        let mut a = Pool::new(2, || 0u8).unwrap();
        let mut b = Pool::new(2, || 0u8).unwrap();
        let ha = a.acquire().unwrap();
        let hb = b.acquire().unwrap();
        let e = a.release(hb).unwrap_err();
        assert!(e.to_string().starts_with("handle: belongs to pool"), "{e}");
        let forged = Handle::from_bits(ha.to_bits() + 100);
        assert!(
            a.release(forged)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        assert_eq!(a.in_use(), 1);
        a.release(ha).unwrap();
        // Reacquired slot has a new generation: the old handle stays dead.
        let ha2 = a.acquire().unwrap();
        assert_eq!(ha2.index(), ha.index());
        assert!(a.get(ha).is_err());
        assert!(a.get(ha2).is_ok());
    }

    #[test]
    fn objects_are_reused_not_rebuilt() {
        let mut pool = Pool::new(1, || Vec::<u32>::with_capacity(16)).unwrap();
        let h = pool.acquire().unwrap();
        pool.get_mut(h).unwrap().extend([1, 2, 3]);
        pool.release(h).unwrap();
        let h = pool.acquire().unwrap();
        assert_eq!(pool.get(h).unwrap(), &vec![1, 2, 3]);
    }

    #[test]
    fn growth_validation() {
        assert!(Pool::with_growth(4, 2, || ()).is_err());
        let mut p = Pool::with_growth(2, 5, || ()).unwrap();
        let hs: Vec<_> = (0..5).map(|_| p.acquire().unwrap()).collect();
        assert!(p.acquire().is_none());
        let s = p.stats();
        assert_eq!(
            (s.capacity, s.grows, s.failed_acquires, s.high_water),
            (5, 2, 1, 5)
        );
        for h in hs {
            p.release(h).unwrap();
        }
        assert_eq!(p.available(), 5);
    }
}
