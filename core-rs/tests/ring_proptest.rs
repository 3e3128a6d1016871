//! Property tests: both rings behave like a `VecDeque` model under random push / pop / batch
//! sequences (single-threaded, so the model is exact).

use std::collections::VecDeque;

use _core::ring::{OverwriteRing, PopError, PushError, RingBuffer};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(u32),
    Pop,
    PopBatch(usize),
    Peek,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u32>().prop_map(Op::Push),
            2 => Just(Op::Pop),
            1 => (0usize..12).prop_map(Op::PopBatch),
            1 => Just(Op::Peek),
        ],
        0..400,
    )
}

proptest! {
    #[test]
    fn normal_ring_matches_vecdeque(capacity in 1usize..20, ops in ops()) {
        let (mut tx, mut rx) = RingBuffer::<u32>::new(capacity).unwrap();
        let cap = capacity.next_power_of_two();
        prop_assert_eq!(tx.capacity(), cap);
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(v) => {
                    let r = tx.push(v);
                    if model.len() == cap {
                        prop_assert_eq!(r, Err(PushError::Full(v)));
                    } else {
                        prop_assert_eq!(r, Ok(()));
                        model.push_back(v);
                    }
                }
                Op::Pop => prop_assert_eq!(rx.pop(), model.pop_front().ok_or(PopError::Empty)),
                Op::PopBatch(max) => {
                    let mut out = vec![7u32]; // appends, keeps what was there
                    let n = rx.pop_batch(&mut out, max);
                    let want: Vec<u32> = (0..max.min(model.len())).filter_map(|_| model.pop_front()).collect();
                    prop_assert_eq!(n, want.len());
                    prop_assert_eq!(&out[1..], &want[..]);
                    prop_assert_eq!(out[0], 7);
                }
                Op::Peek => prop_assert_eq!(rx.peek().copied(), model.front().copied()),
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(tx.slots(), cap - model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
            prop_assert_eq!(tx.is_full(), model.len() == cap);
        }
    }

    #[test]
    fn overwrite_ring_matches_vecdeque(capacity in 1usize..20, ops in ops()) {
        let (mut tx, mut rx) = OverwriteRing::<u32>::new(capacity).unwrap();
        let cap = capacity.next_power_of_two();
        let mut model = VecDeque::new();
        let (mut pushed, mut dropped, mut delivered) = (0u64, 0u64, 0u64);
        for op in ops {
            match op {
                Op::Push(v) => {
                    let evicted = tx.push(v);
                    pushed += 1;
                    if model.len() == cap {
                        prop_assert_eq!(evicted, model.pop_front());
                        dropped += 1;
                    } else {
                        prop_assert_eq!(evicted, None);
                    }
                    model.push_back(v);
                }
                Op::Pop | Op::Peek => {
                    let got = rx.pop();
                    prop_assert_eq!(got, model.pop_front());
                    delivered += u64::from(got.is_some());
                }
                Op::PopBatch(max) => {
                    let mut out = Vec::new();
                    let n = rx.pop_batch(&mut out, max);
                    let want: Vec<u32> = (0..max.min(model.len())).filter_map(|_| model.pop_front()).collect();
                    prop_assert_eq!(n, want.len());
                    prop_assert_eq!(out, want);
                    delivered += n as u64;
                }
            }
            prop_assert_eq!(tx.dropped(), dropped);
            prop_assert_eq!(rx.dropped(), dropped);
            prop_assert_eq!(tx.pushed(), pushed);
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(delivered + dropped + model.len() as u64, pushed);
        }
    }
}
