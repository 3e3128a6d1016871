//! The L2 book and Binance's sync procedure on hand-written sequences, plus a model check.

use std::collections::BTreeMap;

use _core::book::{
    BookSide, BookSync, Delta, DiffIds, DiffOutcome, L2Book, Level, MarketKind, SyncState,
};
use proptest::prelude::*;

fn bid(px: i64, qty: i64) -> Delta {
    Delta {
        side: BookSide::Bid,
        px,
        qty,
    }
}
fn ask(px: i64, qty: i64) -> Delta {
    Delta {
        side: BookSide::Ask,
        px,
        qty,
    }
}
fn lv(px: i64, qty: i64) -> Level {
    Level { px, qty }
}

#[test]
fn deltas_deletes_and_depth() {
    let mut b = L2Book::new(2, 3).unwrap();
    assert_eq!((b.best_bid(), b.best_ask()), (None, None));
    b.apply_all(&[
        bid(100, 5),
        bid(99, 7),
        bid(101, 1),
        ask(103, 2),
        ask(102, 4),
        ask(110, 9),
    ])
    .unwrap();
    assert_eq!(b.best_bid(), Some(lv(101, 1)));
    assert_eq!(b.best_ask(), Some(lv(102, 4)));
    assert_eq!(b.depth(BookSide::Bid, 2), vec![lv(101, 1), lv(100, 5)]);
    assert_eq!(
        b.depth(BookSide::Ask, 10),
        vec![lv(102, 4), lv(103, 2), lv(110, 9)]
    );
    // Update in place, delete the best, delete an absent level (a no-op, as Binance documents).
    b.apply_delta(BookSide::Bid, 100, 6).unwrap();
    b.apply_delta(BookSide::Bid, 101, 0).unwrap();
    b.apply_delta(BookSide::Ask, 500, 0).unwrap();
    assert_eq!(b.best_bid(), Some(lv(100, 6)));
    assert_eq!(b.qty_at(BookSide::Ask, 500), None);
    assert_eq!((b.len(BookSide::Bid), b.len(BookSide::Ask)), (2, 3));
    let (bids, asks) = b.snapshot(1);
    assert_eq!((bids, asks), (vec![lv(100, 6)], vec![lv(102, 4)]));
    // Bad input leaves the book untouched.
    assert!(b.apply_delta(BookSide::Bid, 100, -1).is_err());
    assert!(b.apply_all(&[bid(98, 1), ask(104, -3)]).is_err());
    assert_eq!(b.qty_at(BookSide::Bid, 98), None);
    assert!(b.apply_delta(BookSide::Ask, i64::MIN, 1).is_err());
    assert!(L2Book::new(10, 0).is_err());
}

#[test]
fn crossing_is_detected_not_hidden() {
    let mut b = L2Book::new(0, 0).unwrap();
    b.apply_all(&[bid(100, 1), ask(101, 1)]).unwrap();
    assert!(!b.is_crossed());
    b.apply_delta(BookSide::Bid, 101, 3).unwrap(); // bid == ask
    assert!(b.is_crossed());
    b.apply_delta(BookSide::Ask, 101, 0).unwrap();
    assert!(!b.is_crossed());
    b.apply_delta(BookSide::Bid, 105, 1).unwrap();
    assert!(!b.is_crossed()); // no ask at all
    b.apply_delta(BookSide::Ask, 104, 1).unwrap();
    assert!(b.is_crossed());
    assert_eq!(b.best_bid(), Some(lv(105, 1)));
    assert_eq!(b.best_ask(), Some(lv(104, 1)));
}

fn fut(first: u64, last: u64, prev: u64) -> DiffIds {
    DiffIds {
        first,
        last,
        prev: Some(prev),
    }
}
fn spot(first: u64, last: u64) -> DiffIds {
    DiffIds {
        first,
        last,
        prev: None,
    }
}

#[test]
fn futures_sync_drops_stale_then_follows_pu() {
    let mut s = BookSync::new(MarketKind::UsdM, 0, 0).unwrap();
    // Buffered before the snapshot.
    assert_eq!(
        s.on_diff(fut(10, 20, 5), &[bid(100, 1)]).unwrap(),
        DiffOutcome::Buffered
    );
    assert_eq!(
        s.on_diff(fut(21, 30, 20), &[bid(100, 2)]).unwrap(),
        DiffOutcome::Buffered
    );
    assert_eq!(
        s.on_diff(fut(33, 40, 30), &[bid(101, 1)]).unwrap(),
        DiffOutcome::Buffered
    );
    assert_eq!(s.buffered(), 3);
    // Snapshot at 35: [10,20] is stale (u < 35), [21,30] too; [33,40] straddles 35.
    let st = s
        .on_snapshot(35, &[lv(100, 9), lv(99, 1)], &[lv(105, 4)])
        .unwrap();
    assert_eq!(st, SyncState::Synced { last_update_id: 40 });
    assert_eq!(s.book().best_bid(), Some(lv(101, 1)));
    assert_eq!(
        s.book().qty_at(BookSide::Bid, 100),
        Some(9),
        "stale diffs must not touch the snapshot"
    );
    // pu == previous u; ids between belong to other symbols (futures).
    assert_eq!(
        s.on_diff(fut(45, 50, 40), &[ask(104, 2)]).unwrap(),
        DiffOutcome::Applied
    );
    // A replayed old event is dropped as stale.
    assert_eq!(
        s.on_diff(fut(33, 40, 30), &[bid(101, 7)]).unwrap(),
        DiffOutcome::Stale
    );
    assert_eq!(s.book().best_bid(), Some(lv(101, 1)));
    // A gap: pu != 50.
    assert_eq!(
        s.on_diff(fut(60, 70, 55), &[bid(102, 1)]).unwrap(),
        DiffOutcome::Gap
    );
    assert_eq!(s.state(), SyncState::OutOfSync);
    let st0 = s.stats();
    assert_eq!(
        (
            st0.applied,
            st0.dropped_stale,
            st0.gaps,
            st0.sync_errors,
            st0.syncs,
            st0.resyncs
        ),
        (2, 3, 1, 1, 1, 0)
    );
    // Resync on the next snapshot from the buffer (it kept the diff that revealed the gap).
    assert_eq!(
        s.on_diff(fut(71, 80, 70), &[bid(103, 1)]).unwrap(),
        DiffOutcome::Buffered
    );
    let st = s.on_snapshot(75, &[lv(90, 1)], &[lv(110, 1)]).unwrap();
    assert_eq!(st, SyncState::Synced { last_update_id: 80 });
    assert_eq!(s.book().best_bid(), Some(lv(103, 1)));
    assert_eq!(s.stats().resyncs, 1);
    // A snapshot while synced is ignored and counted.
    s.on_snapshot(79, &[], &[]).unwrap();
    assert_eq!(s.stats().snapshots_ignored, 1);
    assert_eq!(s.book().best_bid(), Some(lv(103, 1)));
    // A newer one means the feed resynced: the book starts again from it, and the diff that
    // continues it applies.
    let st = s.on_snapshot(85, &[lv(95, 2)], &[lv(105, 2)]).unwrap();
    assert_eq!(st, SyncState::AwaitingFirst { snapshot_id: 85 });
    assert_eq!(s.stats().resyncs, 2);
    assert_eq!(
        s.on_diff(fut(84, 86, 83), &[bid(96, 1)]).unwrap(),
        DiffOutcome::Applied
    );
    assert_eq!(s.book().best_bid(), Some(lv(96, 1)));
    assert_eq!(s.state(), SyncState::Synced { last_update_id: 86 });
    // the diffs the old book had applied past it are not needed again
    s.on_snapshot(86, &[], &[]).unwrap();
    assert_eq!(s.stats().snapshots_ignored, 2);
    // A futures diff without pu is malformed.
    assert!(s.on_diff(spot(81, 90), &[]).is_err());
    assert!(s.on_diff(fut(91, 90, 80), &[]).is_err());
}

#[test]
fn futures_u_equal_to_snapshot_is_applied_and_late_snapshot_is_an_error() {
    let mut s = BookSync::new(MarketKind::CoinM, 0, 0).unwrap();
    s.on_snapshot(20, &[lv(1, 1)], &[lv(3, 1)]).unwrap();
    assert_eq!(s.state(), SyncState::AwaitingFirst { snapshot_id: 20 });
    assert_eq!(s.on_diff(fut(5, 19, 4), &[]).unwrap(), DiffOutcome::Stale); // u < 20
    assert_eq!(
        s.on_diff(fut(15, 20, 19), &[bid(2, 1)]).unwrap(),
        DiffOutcome::Applied
    ); // U <= 20 <= u
    assert!(s.is_synced());

    // The stream is already past the snapshot: the updates between are lost.
    let mut s = BookSync::new(MarketKind::UsdM, 0, 0).unwrap();
    s.on_diff(fut(30, 40, 29), &[]).unwrap();
    assert_eq!(s.on_snapshot(20, &[], &[]).unwrap(), SyncState::OutOfSync);
    assert_eq!((s.stats().sync_errors, s.stats().gaps), (1, 1));
    assert_eq!(s.buffered(), 1);
    // A newer snapshot fixes it.
    assert_eq!(
        s.on_snapshot(35, &[], &[]).unwrap(),
        SyncState::Synced { last_update_id: 40 }
    );
}

#[test]
fn spot_sync_uses_last_update_id_plus_one_and_consecutive_ids() {
    let mut s = BookSync::new(MarketKind::Spot, 0, 0).unwrap();
    s.on_diff(spot(1, 10), &[bid(100, 1)]).unwrap();
    s.on_diff(spot(11, 20), &[bid(100, 2)]).unwrap();
    s.on_diff(spot(21, 30), &[bid(100, 3)]).unwrap();
    // Snapshot 20: spot drops u <= 20 (so [11,20] goes, unlike futures); [21,30] has U <= 21 <= u.
    let st = s.on_snapshot(20, &[lv(100, 2)], &[lv(200, 1)]).unwrap();
    assert_eq!(st, SyncState::Synced { last_update_id: 30 });
    assert_eq!(s.book().best_bid(), Some(lv(100, 3)));
    assert_eq!(s.stats().dropped_stale, 2);
    assert_eq!(
        s.on_diff(spot(31, 35), &[ask(199, 1)]).unwrap(),
        DiffOutcome::Applied
    );
    assert_eq!(s.on_diff(spot(20, 35), &[]).unwrap(), DiffOutcome::Stale);
    // U must be previous u + 1: 37 skips 36.
    assert_eq!(s.on_diff(spot(37, 40), &[]).unwrap(), DiffOutcome::Gap);
    assert_eq!(s.stats().sync_errors, 1);

    // Snapshot exactly at the end of a buffered event: the next one must start at lastUpdateId+1.
    let mut s = BookSync::new(MarketKind::Spot, 0, 0).unwrap();
    s.on_snapshot(50, &[lv(1, 1)], &[]).unwrap();
    assert_eq!(s.on_diff(spot(45, 50), &[]).unwrap(), DiffOutcome::Stale);
    assert_eq!(s.on_diff(spot(52, 60), &[]).unwrap(), DiffOutcome::Gap); // 51 missing
    assert_eq!(s.state(), SyncState::OutOfSync);

    // Buffered gap: everything before it is discarded.
    let mut s = BookSync::new(MarketKind::Spot, 0, 0).unwrap();
    s.on_diff(spot(1, 10), &[]).unwrap();
    s.on_diff(spot(15, 20), &[bid(7, 1)]).unwrap();
    assert_eq!(
        (s.buffered(), s.stats().gaps, s.stats().sync_errors),
        (1, 1, 0)
    );
    assert_eq!(
        s.on_snapshot(16, &[], &[]).unwrap(),
        SyncState::Synced { last_update_id: 20 }
    );
}

#[test]
fn buffer_is_bounded() {
    let mut s = BookSync::new(MarketKind::Spot, 0, 0)
        .unwrap()
        .with_max_buffer(3);
    for i in 0..10u64 {
        s.on_diff(spot(i * 10 + 1, i * 10 + 10), &[]).unwrap();
    }
    assert_eq!((s.buffered(), s.stats().buffer_overflows), (3, 7));
    assert_eq!(
        s.on_snapshot(75, &[], &[]).unwrap(),
        SyncState::Synced {
            last_update_id: 100
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn book_matches_a_btreemap_model(ops in proptest::collection::vec((any::<bool>(), 0i64..60, prop_oneof![Just(0i64), 1i64..1000]), 0..400), n in 0usize..8) {
        let mut book = L2Book::new(2, 3).unwrap();
        let mut model: [BTreeMap<i64, i64>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for &(is_bid, px, qty) in &ops {
            let side = if is_bid { BookSide::Bid } else { BookSide::Ask };
            book.apply_delta(side, px, qty).unwrap();
            let m = &mut model[usize::from(!is_bid)];
            if qty == 0 { m.remove(&px); } else { m.insert(px, qty); }
            prop_assert_eq!(book.best_bid(), model[0].last_key_value().map(|(&p, &q)| lv(p, q)));
            prop_assert_eq!(book.best_ask(), model[1].first_key_value().map(|(&p, &q)| lv(p, q)));
        }
        let bids: Vec<Level> = model[0].iter().rev().take(n).map(|(&p, &q)| lv(p, q)).collect();
        let asks: Vec<Level> = model[1].iter().take(n).map(|(&p, &q)| lv(p, q)).collect();
        prop_assert_eq!(book.snapshot(n), (bids, asks));
        prop_assert_eq!(book.len(BookSide::Bid), model[0].len());
        prop_assert_eq!(book.len(BookSide::Ask), model[1].len());
    }
}
