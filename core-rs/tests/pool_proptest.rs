//! Property test: the pool behaves like a model set of live handles, including bad releases.

use std::collections::HashMap;

use _core::pool::{Handle, Pool};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Acquire(u64),
    /// Release the i-th live handle (modulo the number live).
    Release(usize),
    /// Release a handle that was already released (if any).
    ReleaseStale(usize),
    /// Read the i-th live handle's value.
    Get(usize),
}

proptest! {
    #[test]
    fn pool_matches_model(capacity in 1usize..16, grow_to in 0usize..8, ops in prop::collection::vec(
        prop_oneof![
            3 => any::<u64>().prop_map(Op::Acquire),
            2 => any::<usize>().prop_map(Op::Release),
            1 => any::<usize>().prop_map(Op::ReleaseStale),
            1 => any::<usize>().prop_map(Op::Get),
        ],
        0..300,
    )) {
        let max = capacity + grow_to;
        let mut pool = Pool::with_growth(capacity, max, || 0u64).unwrap();
        let mut live: Vec<Handle> = Vec::new();
        let mut values: HashMap<Handle, u64> = HashMap::new();
        let mut dead: Vec<Handle> = Vec::new();
        let (mut acquires, mut releases, mut failed, mut high) = (0u64, 0u64, 0u64, 0usize);
        let mut cap = capacity;
        for op in ops {
            match op {
                Op::Acquire(v) => match pool.acquire() {
                    Some(h) => {
                        prop_assert!(live.len() < max);
                        prop_assert!(!live.contains(&h));
                        *pool.get_mut(h).unwrap() = v;
                        live.push(h);
                        values.insert(h, v);
                        acquires += 1;
                        if live.len() > cap {
                            cap = (cap * 2).min(max);
                        }
                    }
                    None => {
                        prop_assert_eq!(live.len(), max);
                        failed += 1;
                    }
                },
                Op::Release(i) if !live.is_empty() => {
                    let h = live.swap_remove(i % live.len());
                    prop_assert!(pool.release(h).is_ok());
                    values.remove(&h);
                    dead.push(h);
                    releases += 1;
                }
                Op::ReleaseStale(i) if !dead.is_empty() => {
                    let h = dead[i % dead.len()];
                    prop_assert!(pool.release(h).is_err());
                    prop_assert!(pool.get(h).is_err());
                }
                Op::Get(i) if !live.is_empty() => {
                    let h = live[i % live.len()];
                    prop_assert_eq!(pool.get(h).copied(), Ok(values[&h]));
                }
                _ => {}
            }
            high = high.max(live.len());
            let s = pool.stats();
            prop_assert_eq!(s.in_use, live.len());
            prop_assert_eq!(s.capacity, cap);
            prop_assert_eq!(s.available, cap - live.len());
            prop_assert_eq!((s.acquires, s.releases, s.failed_acquires, s.high_water), (acquires, releases, failed, high));
        }
    }
}
