//! Random order sequences through the bar venue (10,000 cases by default): random bars, random
//! commands of every kind (orders of each type, time in force and instruction, OCO / OTO /
//! bracket lists, cancels, modifies, cancel-all, duplicate ids), random venue configs (fill
//! mode, path, volume cap, latency, fees, slippage). After every step:
//! - no fill exceeds its order: the fills of an order (from the fills list) sum to its `filled`
//!   <= its quantity; `leaves` is the quantity minus that sum for an open order, 0 for a closed
//!   one;
//! - cash, position and fees reconcile exactly (i128) with the fills, and equity - initial =
//!   realized + unrealized - fees;
//! - the legs of an OCO never both trade (any fill cancels the others); a bracket's two exits
//!   (one-updates-other) never both fill in full and together close no more than the entry filled;
//! - a reduce-only fill never grows or flips the position; post-only fills are all maker;
//! - nothing happens to an order after it closed (no fill after its cancel arrived);
//! - every status change in the event stream follows `OrderStatus::can_become`, and the
//!   replayed status equals the order's;
//! - the order manager's running totals of working orders per side equal a scan of the book.

#![allow(
    clippy::manual_is_multiple_of,
    reason = "the generator slices random bits with %; is_multiple_of reads worse here"
)]

mod common;

use std::collections::HashMap;

use _core::model::{
    Bps, Command, Fill, Instrument, Liquidity, ListKind, OrderEventKind, OrderKind, OrderSpec,
    OrderStatus, Reason, Side, TimeInForce, TrailingOffset,
};
use _core::portfolio::Portfolio;
use _core::venue::{FillAt, IntrabarPath, Latency, LatencyConfig, VenueConfig, WorkingTotals};
use common::{MIN, Sim};
use proptest::prelude::*;

type Op = (u8, u32, u32, u32);

struct Gen {
    next_id: u64,
    next_list: u64,
}

impl Gen {
    fn spec(&mut self, last: i64, a: u32, b: u32, c: u32, sim: &Sim) -> OrderSpec {
        let side = if b % 2 == 0 { Side::Buy } else { Side::Sell };
        let qty = 1 + ((b >> 4) % 10) as i64;
        let px = (last + ((a >> 3) % 11) as i64 - 5).max(1);
        let trig = (last + ((a >> 7) % 11) as i64 - 5).max(1);
        let off = |x: u32| match x % 3 {
            0 => TrailingOffset::Price(1 + (x >> 2) as i64 % 4),
            1 => TrailingOffset::Ticks(1 + (x >> 2) as i64 % 4),
            _ => TrailingOffset::Bps(Bps(1_000_000 * (50 + (x >> 2) as i64 % 300))),
        };
        let act = ((a >> 11) % 3 == 0).then_some(trig);
        let kind = match a % 8 {
            0 => OrderKind::Market,
            1 => OrderKind::Limit { px },
            2 => OrderKind::StopMarket { trigger: trig },
            3 => OrderKind::StopLimit { trigger: trig, px },
            4 => OrderKind::MarketIfTouched { trigger: trig },
            5 => OrderKind::LimitIfTouched { trigger: trig, px },
            6 => OrderKind::TrailingStopMarket {
                offset: off(a >> 13),
                activation: act,
            },
            _ => OrderKind::TrailingStopLimit {
                offset: off(a >> 13),
                limit_offset: off(a >> 17),
                activation: act,
            },
        };
        let id = if (b >> 12) % 16 == 0 && self.next_id > 1 {
            1 + (b >> 16) as u64 % (self.next_id - 1) // a duplicate
        } else {
            self.next_id += 1;
            self.next_id - 1
        };
        let tif = match c % 12 {
            0..=6 => TimeInForce::Gtc,
            7 => TimeInForce::Ioc,
            8 => TimeInForce::Fok,
            9 | 10 => TimeInForce::Gtd {
                expire_ts: sim.ts + ((c >> 20) % 4) as i64 * MIN,
            },
            _ => TimeInForce::Day,
        };
        OrderSpec {
            id,
            instrument: 0,
            side,
            kind,
            qty,
            tif,
            post_only: (c >> 4) % 4 == 0,
            reduce_only: (c >> 6) % 4 == 0,
            display_qty: ((c >> 8) % 5 == 0).then(|| 1 + ((c >> 11) as i64 % qty)),
        }
    }
}

fn config(bits: u32) -> VenueConfig {
    let lat = |x: u32| match x % 4 {
        0 | 1 => Latency::Zero,
        2 => Latency::Constant(((x >> 2) % 3) as i64 * MIN / 2),
        _ => Latency::LogNormal {
            median_ns: MIN / 2,
            sigma: 1.0,
        },
    };
    VenueConfig {
        fill_at: if bits % 2 == 0 {
            FillAt::NextOpen
        } else {
            FillAt::Close
        },
        path: match (bits >> 1) % 3 {
            0 => IntrabarPath::Proximity,
            1 => IntrabarPath::HighFirst,
            _ => IntrabarPath::LowFirst,
        },
        volume_cap: ((bits >> 3) % 2 == 0).then_some(0.5),
        fee: Bps(((bits >> 4) % 30) as i64 * 1_000_000),
        slippage: Bps(((bits >> 9) % 60) as i64 * 1_000_000),
        latency: LatencyConfig {
            submit: lat(bits >> 15),
            cancel: lat(bits >> 19),
            modify: lat(bits >> 23),
            seed: bits as u64,
        },
    }
}

struct Checker {
    initial: i128,
    portfolio: Portfolio,
    applied: usize,
    /// Replayed status per order id (from the events).
    status: HashMap<u64, OrderStatus>,
    seen_events: usize,
    /// Lists as sent: kind, leg ids, original quantities.
    lists: Vec<(ListKind, Vec<u64>, Vec<i64>)>,
    /// Ids a Modify was sent for (a strategy may raise a bracket leg above the entry's fill).
    modified: std::collections::HashSet<u64>,
}

impl Checker {
    fn check(&mut self, s: &Sim, inst: &Instrument) -> Result<(), TestCaseError> {
        // status replay
        for e in &s.events[self.seen_events..] {
            let next = match e.kind {
                // a duplicate of a known id leaves that order alone
                OrderEventKind::Denied(Reason::DuplicateOrderId)
                    if self.status.contains_key(&e.id) =>
                {
                    continue;
                }
                OrderEventKind::Denied(_) => OrderStatus::Denied,
                OrderEventKind::Submitted => OrderStatus::Submitted,
                OrderEventKind::Accepted => OrderStatus::Accepted,
                OrderEventKind::Rejected(_) => OrderStatus::Rejected,
                OrderEventKind::Triggered => OrderStatus::Triggered,
                OrderEventKind::PartiallyFilled { .. } => OrderStatus::PartiallyFilled,
                OrderEventKind::Filled { .. } => OrderStatus::Filled,
                OrderEventKind::Canceled(_) => OrderStatus::Canceled,
                OrderEventKind::Expired => OrderStatus::Expired,
                OrderEventKind::Updated => {
                    let st = self.status.get(&e.id).copied();
                    prop_assert!(
                        st.is_some_and(|x| !x.is_closed()),
                        "update of closed {}",
                        e.id
                    );
                    continue;
                }
                OrderEventKind::ModifyRejected(_) | OrderEventKind::CancelRejected(_) => continue,
            };
            let prev = self
                .status
                .get(&e.id)
                .copied()
                .unwrap_or(OrderStatus::Initialized);
            prop_assert!(
                prev.can_become(next),
                "order {}: {:?} -> {:?} ({:?})",
                e.id,
                prev,
                next,
                e.kind
            );
            self.status.insert(e.id, next);
        }
        self.seen_events = s.events.len();
        for o in s.v.orders.all() {
            prop_assert_eq!(Some(&o.status), self.status.get(&o.id()));
        }

        // fills: per order, reduce-only, post-only, accounting
        let mut pos = self.portfolio.positions[0].qty;
        for f in &s.fills[self.applied..] {
            let o = s.v.orders.get(f.order_id).unwrap();
            prop_assert!(f.qty > 0 && f.qty <= o.spec.qty);
            if o.spec.reduce_only {
                let after = pos + f.side.sign() * f.qty;
                prop_assert!(
                    after.abs() < pos.abs() && after.signum() * pos.signum() >= 0,
                    "reduce-only {} grew {} -> {}",
                    o.id(),
                    pos,
                    after
                );
            }
            if o.spec.post_only {
                prop_assert_eq!(f.liquidity, Liquidity::Maker);
            }
            pos += f.side.sign() * f.qty;
            self.portfolio.apply(inst, f);
        }
        self.applied = s.fills.len();
        let mut by_order: HashMap<u64, i64> = HashMap::new();
        let (mut cash, mut fees) = (self.initial, 0i128);
        for f in &s.fills {
            *by_order.entry(f.order_id).or_default() += f.qty;
            let n = inst.notional(f.px, f.qty);
            cash += if f.side == Side::Buy { -n } else { n } - f.fee;
            fees += f.fee;
        }
        for o in s.v.orders.all() {
            // `traded` comes from the fills list, independently of the order's own counters
            let traded = by_order.get(&o.id()).copied().unwrap_or(0);
            prop_assert_eq!(traded, o.filled);
            prop_assert!(traded <= o.spec.qty);
            let left = if o.status.is_closed() {
                0
            } else {
                o.spec.qty - traded
            };
            prop_assert_eq!(o.leaves(), left, "order {} ({:?})", o.id(), o.status);
        }
        let p = &self.portfolio;
        prop_assert_eq!(p.cash, cash);
        prop_assert_eq!(p.fees, fees);
        prop_assert_eq!(p.positions[0].qty, s.pos());
        let equity = p.equity(std::slice::from_ref(inst));
        let pos0 = &p.positions[0];
        prop_assert_eq!(
            equity - self.initial,
            pos0.realized + pos0.unrealized(inst) - fees
        );

        // OCO legs
        for (kind, ids, qtys) in &self.lists {
            let legs: Vec<usize> = match kind {
                ListKind::Oco => (0..ids.len()).collect(),
                ListKind::Bracket => vec![1, 2],
                ListKind::Oto => continue,
            };
            let kind = *kind;
            let got: Vec<_> = legs
                .iter()
                .filter_map(|&k| s.v.orders.get(ids[k]))
                .collect();
            if got.len() != legs.len() {
                continue; // denied list
            }
            let total: i64 = got.iter().map(|o| o.filled).sum();
            let full = got
                .iter()
                .filter(|o| o.status == OrderStatus::Filled)
                .count();
            prop_assert!(full <= 1, "two OCO legs filled: {:?}", ids);
            if kind == ListKind::Oco {
                let traded = got.iter().filter(|o| o.filled > 0).count();
                prop_assert!(traded <= 1, "two OCO legs traded: {:?}", ids);
            }
            if legs.iter().any(|&k| self.modified.contains(&ids[k])) {
                continue; // a modify may raise a leg again: only "never both filled" holds
            }
            let cap = match kind {
                ListKind::Bracket => s.v.orders.get(ids[0]).unwrap().filled,
                _ => legs.iter().map(|&k| qtys[k]).max().unwrap(),
            };
            prop_assert!(
                total <= cap,
                "{kind:?} legs filled {total} > {cap}: {:?}",
                s.events
                    .iter()
                    .filter(|e| ids.contains(&e.id))
                    .map(|e| common::render(e, &s.fills))
                    .collect::<Vec<_>>()
            );
        }
        // the running totals of working orders (read by the risk checks) equal a scan
        for side in [Side::Buy, Side::Sell] {
            let mut scan = WorkingTotals::default();
            for o in s.v.orders.working(0).filter(|o| o.spec.side == side) {
                // each order's share, computed here from its fields (not `WorkingTotals::of`)
                let leaves = o.spec.qty - o.filled;
                let fixed = o.spec.kind.limit_px().or(o.spec.kind.trigger_px());
                let unpriced = if fixed.is_none() { leaves } else { 0 };
                let px_qty = fixed.map_or(0, |p| p as i128 * leaves as i128);
                let sh = o.shares_reserve;
                scan = WorkingTotals {
                    leaves: scan.leaves + leaves,
                    reduce_only: scan.reduce_only + if o.spec.reduce_only { leaves } else { 0 },
                    unpriced: scan.unpriced + unpriced,
                    px_qty: scan.px_qty + px_qty,
                    shared_leaves: scan.shared_leaves + if sh { leaves } else { 0 },
                    shared_unpriced: scan.shared_unpriced + if sh { unpriced } else { 0 },
                    shared_px_qty: scan.shared_px_qty + if sh { px_qty } else { 0 },
                };
            }
            prop_assert_eq!(
                s.v.orders.working_totals(0, side),
                scan,
                "{:?} totals",
                side
            );
        }
        Ok(())
    }
}

static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn run(cfg_bits: u32, ops: Vec<Op>) -> Result<(), TestCaseError> {
    CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cfg = config(cfg_bits);
    let mut s = Sim::new(cfg);
    let inst = s.insts[0].clone();
    let initial = 1_000_000 * inst.notional(1, 1);
    let mut ck = Checker {
        initial,
        portfolio: Portfolio::new(initial, 1),
        applied: 0,
        status: HashMap::new(),
        seen_events: 0,
        lists: Vec::new(),
        modified: Default::default(),
    };
    let mut g = Gen {
        next_id: 1,
        next_list: 1,
    };
    let mut last = 100i64;
    let mut t = 0i64;
    s.bar(t, 100, 100, 100, 100, 20.0);
    ck.portfolio.mark(0, 100, 100.0);
    for (k, a, b, c) in ops {
        match k % 10 {
            0..=2 => {
                t += MIN;
                let o = (last + (a % 11) as i64 - 5).max(20);
                let cl = (o + ((a >> 4) % 11) as i64 - 5).max(20);
                let h = o.max(cl) + (b % 5) as i64;
                let l = (o.min(cl) - (c % 5) as i64).max(10);
                s.bar(t, o, h, l, cl, ((a >> 8) % 30) as f64);
                ck.portfolio.mark(0, cl, cl as f64);
                last = cl;
            }
            3..=5 => {
                let sp = g.spec(last, a, b, c, &s);
                s.send(Command::Submit(sp));
            }
            6 => {
                let kind = match a % 3 {
                    0 => ListKind::Oco,
                    1 => ListKind::Oto,
                    _ => ListKind::Bracket,
                };
                let mut legs = vec![
                    g.spec(last, a, b, c, &s),
                    g.spec(
                        last,
                        a.rotate_left(7),
                        b.rotate_left(9),
                        c.rotate_left(5),
                        &s,
                    ),
                ];
                if kind == ListKind::Bracket {
                    let e = legs[0].clone();
                    let opp = e.side.opposite();
                    let d = 1 + (c % 4) as i64;
                    let (tp, sl) = match e.side {
                        Side::Buy => (last + d, (last - d).max(1)),
                        Side::Sell => ((last - d).max(1), last + d),
                    };
                    legs[1].side = opp;
                    legs[1].kind = OrderKind::Limit { px: tp };
                    let mut third = g.spec(last, a.rotate_left(3), b.rotate_left(3), c, &s);
                    third.side = opp;
                    third.kind = OrderKind::StopMarket { trigger: sl };
                    legs.push(third);
                }
                let ids = legs.iter().map(|x| x.id).collect();
                let qtys = legs.iter().map(|x| x.qty).collect();
                let list = g.next_list;
                g.next_list += 1;
                let registered_before = s.v.orders.list(list).is_some();
                s.send(Command::SubmitList {
                    list,
                    kind,
                    orders: legs,
                });
                if !registered_before && s.v.orders.list(list).is_some() {
                    ck.lists.push((kind, ids, qtys));
                }
            }
            7 => s.send(Command::Cancel {
                id: 1 + (a as u64) % g.next_id,
            }),
            8 => s.send(Command::Modify {
                id: {
                    let id = 1 + (a as u64) % g.next_id;
                    ck.modified.insert(id);
                    id
                },
                qty: (b % 3 == 0).then(|| 1 + ((b >> 2) % 12) as i64),
                px: (c % 3 == 0).then(|| (last + ((c >> 2) % 11) as i64 - 5).max(1)),
                trigger: (c % 5 == 0).then(|| (last + ((c >> 6) % 11) as i64 - 5).max(1)),
            }),
            _ => s.send(Command::CancelAll { instrument: None }),
        }
        ck.check(&s, &inst)?;
    }
    Ok(())
}

/// `PROPTEST_CASES` overrides the number of cases; at least 10,000 run by default, and the test
/// checks that they did run.
#[test]
fn random_order_sequences_keep_the_invariants() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let strategy = (
        any::<u32>(),
        prop::collection::vec(
            (any::<u8>(), any::<u32>(), any::<u32>(), any::<u32>()),
            1..40,
        ),
    );
    let before = CASES.load(std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = runner.run(&strategy, |(cfg, ops)| run(cfg, ops)) {
        panic!("{e}");
    }
    let ran = CASES.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(ran >= cases as usize, "only {ran} of {cases} cases ran");
}

#[test]
fn fills_reference_their_orders() {
    // A smoke check of the harness itself: one known sequence gives the fill it should.
    let mut s = Sim::new(VenueConfig::default());
    s.bar(0, 100, 100, 100, 100, 1.0);
    s.send(common::submit(1, Side::Buy, OrderKind::Market, 2));
    s.bar(MIN, 101, 101, 101, 101, 1.0);
    let f: &Fill = &s.fills[0];
    assert_eq!((f.order_id, f.px, f.qty), (1, 101, 2));
}
