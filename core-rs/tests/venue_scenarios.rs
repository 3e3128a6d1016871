//! Deterministic scenarios on hand-built bars: one per order type, instruction, time in force
//! and contingent kind, plus modify/cancel and latency, with the expected fills and event
//! sequences written out. Prices and quantities are integers (tick = lot = 1).
//!
//! Reading a bar: `bar(ts, open, high, low, close, volume)`. With the default proximity path the
//! extreme nearer the open comes first (the high on a tie).

mod common;

use _core::model::{
    Bps, Command, ListKind, OrderKind, OrderStatus, Side, TimeInForce, TrailingOffset,
};
use _core::venue::{FillAt, IntrabarPath, LatencyConfig, VenueConfig};
use common::{MIN, Sim, lim, spec, submit};

use Side::{Buy, Sell};

fn sim() -> Sim {
    let mut s = Sim::new(VenueConfig::default());
    s.bar(0, 100, 100, 100, 100, 1e9); // a first bar: the market is at 100
    s
}

// ---- order types ------------------------------------------------------------------------

#[test]
fn market_fills_at_the_next_open_as_taker() {
    let mut s = sim();
    s.send(submit(1, Buy, OrderKind::Market, 5));
    assert_eq!(s.take(), ["1 submitted", "1 accepted"]);
    s.bar(MIN, 101, 103, 99, 102, 1e9);
    assert_eq!(s.take(), ["1 filled 5@101 T"]);
    assert_eq!(s.pos(), 5);
}

#[test]
fn market_in_close_mode_fills_at_this_close_with_slippage() {
    let mut s = Sim::new(VenueConfig {
        fill_at: FillAt::Close,
        slippage: Bps::from_f64(100.0).unwrap(), // 1%: 100 → 101, sells 100 → 99
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(submit(1, Buy, OrderKind::Market, 2));
    s.send(submit(2, Sell, OrderKind::Market, 1));
    assert_eq!(
        s.take(),
        [
            "1 submitted",
            "1 accepted",
            "1 filled 2@101 T",
            "2 submitted",
            "2 accepted",
            "2 filled 1@99 T"
        ]
    );
}

#[test]
fn limit_fills_at_the_limit_or_better_on_a_gap() {
    let mut s = sim();
    s.send(submit(1, Buy, lim(98), 3));
    s.send(submit(2, Buy, lim(99), 1));
    s.bar(MIN, 100, 101, 99, 100, 1e9); // low 99: order 2 only
    assert_eq!(s.take()[4..], ["2 filled 1@99 M"]);
    s.bar(2 * MIN, 95, 97, 94, 96, 1e9); // gap below 98: fills at the open
    assert_eq!(s.take(), ["1 filled 3@95 M"]);
}

#[test]
fn stop_market_fills_at_the_trigger_or_worse_on_a_gap() {
    let mut s = sim();
    s.send(submit(1, Buy, OrderKind::StopMarket { trigger: 105 }, 1));
    s.send(submit(2, Buy, OrderKind::StopMarket { trigger: 103 }, 1));
    // low first (open-low 1 < high-open 6): 100 → 99 → 106: 103 then 105 trigger on the way up
    s.bar(MIN, 100, 106, 99, 104, 1e9);
    assert_eq!(
        s.take()[4..],
        [
            "2 triggered",
            "2 filled 1@103 T",
            "1 triggered",
            "1 filled 1@105 T"
        ]
    );
    s.send(submit(3, Sell, OrderKind::StopMarket { trigger: 100 }, 2));
    s.bar(2 * MIN, 97, 98, 96, 97, 1e9); // gaps through 100: fills at the open, worse
    assert_eq!(s.take()[2..], ["3 triggered", "3 filled 2@97 T"]);
}

#[test]
fn stop_limit_takes_when_marketable_on_trigger_else_rests() {
    let mut s = sim();
    s.send(submit(
        1,
        Sell,
        OrderKind::StopLimit {
            trigger: 95,
            px: 94,
        },
        1,
    ));
    s.send(submit(
        2,
        Sell,
        OrderKind::StopLimit {
            trigger: 95,
            px: 96,
        },
        1,
    ));
    // high first (5 <= 6): 100 → 105 → 94 → 97. At 95 both trigger; 1 takes at 95, 2 rests at
    // 96 and fills on the way back up to the close.
    s.bar(MIN, 100, 105, 94, 97, 1e9);
    assert_eq!(
        s.take()[4..],
        [
            "1 triggered",
            "1 filled 1@95 T",
            "2 triggered",
            "2 filled 1@96 M"
        ]
    );
}

#[test]
fn market_if_touched_and_limit_if_touched() {
    let mut s = sim();
    s.send(submit(
        1,
        Buy,
        OrderKind::MarketIfTouched { trigger: 95 },
        1,
    ));
    s.send(submit(
        2,
        Sell,
        OrderKind::LimitIfTouched {
            trigger: 105,
            px: 104,
        },
        1,
    ));
    // low first (5 < 6): 100 → 94 → 106 → 100
    s.bar(MIN, 100, 106, 95, 100, 1e9);
    assert_eq!(
        s.take()[4..],
        [
            "1 triggered",
            "1 filled 1@95 T",
            "2 triggered",
            "2 filled 1@105 T"
        ]
    );
    // An MIT gapped through fills at the (better) open.
    s.send(submit(
        3,
        Sell,
        OrderKind::MarketIfTouched { trigger: 101 },
        1,
    ));
    s.bar(2 * MIN, 103, 103, 102, 102, 1e9);
    assert_eq!(s.take()[2..], ["3 triggered", "3 filled 1@103 T"]);
}

#[test]
fn trailing_stop_market_follows_the_path_in_price_offset() {
    let mut s = sim();
    let kind = OrderKind::TrailingStopMarket {
        offset: TrailingOffset::Price(3),
        activation: None,
    };
    s.send(submit(1, Sell, kind, 2));
    // armed at the market (100): trigger 97
    assert_eq!(s.v.orders.get(1).unwrap().trail_trigger, Some(97));
    // low first: 101 → 100 → 106 → 104: trails to 98 at the open, 103 at the high
    s.bar(MIN, 101, 106, 100, 104, 1e9);
    assert_eq!(s.take()[2..], [] as [&str; 0]);
    assert_eq!(s.v.orders.get(1).unwrap().trail_trigger, Some(103));
    // high first: 104 → 104 → 99: falls through 103
    s.bar(2 * MIN, 104, 104, 99, 100, 1e9);
    assert_eq!(s.take(), ["1 triggered", "1 filled 2@103 T"]);
}

#[test]
fn trailing_stop_bps_and_ticks_with_activation() {
    let mut s = Sim::new(VenueConfig::default());
    s.insts = vec![_core::model::Instrument::new("X", 2, 0).unwrap()];
    s.v = _core::venue::SimVenue::new(VenueConfig::default(), &s.insts);
    s.bar(0, 10_000, 10_000, 10_000, 10_000, 1e9); // 100.00
    // 1% of 100.00 = 1.00 below: 99.00; only moves up
    s.send(submit(
        1,
        Sell,
        OrderKind::TrailingStopMarket {
            offset: TrailingOffset::Bps(Bps::from_f64(100.0).unwrap()),
            activation: None,
        },
        1,
    ));
    assert_eq!(s.v.orders.get(1).unwrap().trail_trigger, Some(9_900));
    // a buy trailing 2 ticks above the low, once the price is at or below 98.00
    s.send(submit(
        2,
        Buy,
        OrderKind::TrailingStopMarket {
            offset: TrailingOffset::Ticks(2),
            activation: Some(9_800),
        },
        1,
    ));
    assert_eq!(s.v.orders.get(2).unwrap().trail_trigger, None);
    // 100.50 → 100.50 → 97.90 → 99.00 (high first): sell trails to 99.49 (1% of 100.50 =
    // 1.005, rounded up to 1.01), triggers on the way down; the buy activates at 97.90 (trigger
    // 97.92) and triggers on the way back up.
    s.bar(MIN, 10_050, 10_050, 9_790, 9_900, 1e9);
    assert_eq!(
        s.take()[4..],
        [
            "1 triggered",
            "1 filled 1@9949 T",
            "2 triggered",
            "2 filled 1@9792 T"
        ]
    );
}

#[test]
fn trailing_stop_limit_rests_at_trigger_minus_offset_after_a_gap() {
    let mut s = sim();
    s.send(submit(
        1,
        Sell,
        OrderKind::TrailingStopLimit {
            offset: TrailingOffset::Price(2),
            limit_offset: TrailingOffset::Price(1),
            activation: None,
        },
        1,
    ));
    // trigger 98; the bar gaps to 96: triggered at the open, limit 97, not marketable at 96;
    // low first (1 < 3): 96 → 95 → 99: fills at 97 on the way up, as a maker.
    s.bar(MIN, 96, 99, 95, 96, 1e9);
    assert_eq!(s.take()[2..], ["1 triggered", "1 filled 1@97 M"]);
    assert_eq!(s.v.orders.get(1).unwrap().trail_limit, Some(97));
}

// ---- instructions -----------------------------------------------------------------------

#[test]
fn post_only_is_rejected_when_it_would_take_and_makes_otherwise() {
    let mut s = sim();
    let mut a = spec(1, Buy, lim(100), 1); // at the market (100): would take
    a.post_only = true;
    let mut b = spec(2, Buy, lim(99), 1);
    b.post_only = true;
    let mut c = spec(3, Buy, OrderKind::Market, 1);
    c.post_only = true;
    s.send(Command::Submit(a));
    s.send(Command::Submit(b));
    s.send(Command::Submit(c));
    s.bar(MIN, 100, 100, 98, 99, 1e9);
    assert_eq!(
        s.take(),
        [
            "1 submitted",
            "1 rejected PostOnlyWouldTake",
            "2 submitted",
            "2 accepted",
            "3 submitted",
            "3 rejected InvalidOrder",
            "2 filled 1@99 M"
        ]
    );
}

#[test]
fn reduce_only_is_rejected_on_a_flat_position_and_clamped_at_fill_time() {
    let mut s = sim();
    let mut r = spec(1, Sell, lim(101), 5);
    r.reduce_only = true;
    s.send(Command::Submit(r.clone()));
    assert_eq!(
        s.take(),
        ["1 submitted", "1 rejected ReduceOnlyWouldIncrease"]
    );
    s.send(submit(2, Buy, OrderKind::Market, 3));
    s.bar(MIN, 100, 100, 100, 100, 1e9);
    r.id = 3;
    s.send(Command::Submit(r));
    s.bar(2 * MIN, 100, 102, 100, 101, 1e9);
    assert_eq!(
        s.take()[2..],
        [
            "2 filled 3@100 T",
            "3 submitted",
            "3 accepted",
            "3 partially_filled 3@101 M",
            "3 canceled ReduceOnlyWouldIncrease"
        ]
    );
    assert_eq!(s.pos(), 0);
}

#[test]
fn display_quantity_shows_one_slice_per_bar() {
    let mut s = sim();
    let mut o = spec(1, Buy, lim(98), 10);
    o.display_qty = Some(4);
    s.send(Command::Submit(o));
    for k in 1..=3 {
        s.bar(k * MIN, 99, 99, 97, 98, 1e9);
    }
    assert_eq!(
        s.take()[2..],
        [
            "1 partially_filled 4@98 M",
            "1 partially_filled 4@98 M",
            "1 filled 2@98 M"
        ]
    );
}

#[test]
fn volume_cap_leaves_the_rest_working() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.25),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 100.0);
    s.send(submit(1, Buy, OrderKind::Market, 30));
    s.send(submit(2, Buy, lim(99), 10));
    // 25% of 40 = 10 per bar, shared in path order: the market order at the open first.
    s.bar(MIN, 100, 100, 98, 99, 40.0);
    s.bar(2 * MIN, 100, 100, 98, 99, 60.0); // 15
    s.bar(3 * MIN, 100, 100, 98, 99, 100.0); // 25
    assert_eq!(
        s.take()[4..],
        [
            "1 partially_filled 10@100 T",
            "1 partially_filled 15@100 T",
            "1 filled 5@100 T",
            "2 filled 10@99 M"
        ]
    );
}

// ---- time in force ----------------------------------------------------------------------

#[test]
fn ioc_acts_only_at_the_open_of_its_first_bar() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.5),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    let mut a = spec(1, Buy, lim(98), 1);
    a.tif = TimeInForce::Ioc;
    let mut b = spec(2, Buy, OrderKind::Market, 10);
    b.tif = TimeInForce::Ioc;
    s.send(Command::Submit(a));
    s.send(Command::Submit(b));
    s.bar(MIN, 100, 100, 97, 99, 8.0); // low reaches 98, but after the open
    assert_eq!(
        s.take()[4..],
        [
            "2 partially_filled 4@100 T",
            "1 canceled IocRemainder",
            "2 canceled IocRemainder"
        ]
    );
}

#[test]
fn fok_fills_in_full_or_not_at_all() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.5),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    let mut a = spec(1, Buy, OrderKind::Market, 10);
    a.tif = TimeInForce::Fok;
    let mut b = spec(2, Buy, OrderKind::Market, 3);
    b.tif = TimeInForce::Fok;
    s.send(Command::Submit(a));
    s.send(Command::Submit(b));
    s.bar(MIN, 100, 100, 100, 100, 8.0); // room for 4
    assert_eq!(
        s.take()[4..],
        ["1 canceled FokCannotFill", "2 filled 3@100 T"]
    );
}

#[test]
fn gtd_expires_at_the_first_bar_at_or_past_its_time() {
    let mut s = sim();
    let mut a = spec(1, Buy, lim(90), 1);
    a.tif = TimeInForce::Gtd { expire_ts: 2 * MIN };
    let mut past = spec(2, Buy, lim(90), 1);
    past.tif = TimeInForce::Gtd { expire_ts: 0 };
    s.send(Command::Submit(a));
    s.send(Command::Submit(past));
    s.bar(MIN, 100, 100, 95, 96, 1e9);
    s.bar(2 * MIN, 89, 89, 80, 85, 1e9); // would fill, but it has expired
    assert_eq!(
        s.take(),
        [
            "1 submitted",
            "1 accepted",
            "2 submitted",
            "2 rejected InvalidOrder",
            "1 expired"
        ]
    );
}

#[test]
fn day_orders_expire_at_the_end_of_the_utc_day() {
    let day = 86_400_000_000_000;
    let mut s = Sim::new(VenueConfig::default());
    s.bar(day - 2 * MIN, 100, 100, 100, 100, 1e9);
    let mut a = spec(1, Buy, lim(90), 1);
    a.tif = TimeInForce::Day;
    s.send(Command::Submit(a));
    s.bar(day - MIN, 100, 100, 99, 99, 1e9);
    assert_eq!(s.v.orders.get(1).unwrap().expire_ts, Some(day));
    s.bar(day, 80, 80, 80, 80, 1e9);
    assert_eq!(s.take(), ["1 submitted", "1 accepted", "1 expired"]);
}

// ---- contingent lists -------------------------------------------------------------------

#[test]
fn oco_any_fill_even_partial_cancels_the_other_leg() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.5),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(submit(9, Buy, OrderKind::Market, 10));
    s.bar(MIN, 100, 100, 100, 100, 1e9);
    s.send(Command::SubmitList {
        list: 1,
        kind: ListKind::Oco,
        orders: vec![
            spec(1, Sell, lim(110), 10),
            spec(2, Sell, OrderKind::StopMarket { trigger: 95 }, 10),
        ],
    });
    // room for 4: the limit fills 4 at 110 and the stop is canceled at once
    s.bar(2 * MIN, 105, 111, 104, 106, 8.0);
    // the stop would have triggered here; the limit's rest (6 at 110) keeps working
    s.bar(3 * MIN, 96, 96, 90, 92, 20.0);
    assert_eq!(
        s.take()[3..],
        [
            "1 submitted",
            "2 submitted",
            "1 accepted",
            "2 accepted",
            "1 partially_filled 4@110 M",
            "2 canceled OcoSibling",
        ]
    );
    let (a, b) = (s.v.orders.get(1).unwrap(), s.v.orders.get(2).unwrap());
    assert_eq!((a.filled, a.leaves(), b.filled), (4, 6, 0));
    assert_eq!(s.pos(), 6);
}

#[test]
fn bracket_exits_are_one_updates_other_partials_reduce_the_other_exit() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.5),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(Command::SubmitList {
        list: 1,
        kind: ListKind::Bracket,
        orders: vec![
            spec(1, Buy, OrderKind::Market, 10),
            spec(2, Sell, lim(110), 10),
            spec(3, Sell, OrderKind::StopMarket { trigger: 95 }, 10),
        ],
    });
    // the entry fills 10 at the open; the exits are released for 10
    s.bar(MIN, 100, 100, 100, 100, 1e9);
    // room for 4: the take-profit fills 4 at 110, the stop-loss goes down to 6
    s.bar(2 * MIN, 105, 111, 104, 106, 8.0);
    // room for 10: the stop fills its 6, the take-profit is canceled
    s.bar(3 * MIN, 96, 96, 90, 92, 20.0);
    let ev = s.take();
    let tail: Vec<&str> = ev
        .iter()
        .map(String::as_str)
        .skip_while(|e| *e != "2 partially_filled 4@110 M")
        .collect();
    assert_eq!(
        tail,
        [
            "2 partially_filled 4@110 M",
            "3 updated",
            "3 triggered",
            "3 filled 6@95 T",
            "2 canceled OcoSibling"
        ]
    );
    let (tp, sl) = (s.v.orders.get(2).unwrap(), s.v.orders.get(3).unwrap());
    assert_eq!((tp.filled, sl.filled, sl.spec.qty), (4, 6, 6));
    assert_eq!(s.pos(), 0);
}

#[test]
fn oto_child_is_held_until_the_parent_fills_then_sized_to_it() {
    let mut s = Sim::new(VenueConfig {
        volume_cap: Some(0.5),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(Command::SubmitList {
        list: 7,
        kind: ListKind::Oto,
        orders: vec![spec(1, Buy, lim(98), 6), spec(2, Sell, lim(105), 6)],
    });
    assert_eq!(s.v.orders.get(2).unwrap().status, OrderStatus::Submitted);
    // low first: 100 → 97 (parent fills 4 of 6: the cap) → child released for 4
    s.bar(MIN, 100, 104, 97, 103, 8.0);
    // the parent's last 2 grow the child to 6; the high 106 then fills the child's 6 minus
    // what the cap leaves (room 5 - 2 = 3)
    s.bar(2 * MIN, 98, 106, 98, 100, 10.0);
    assert_eq!(
        s.take()[2..],
        [
            "1 accepted",
            "1 partially_filled 4@98 M",
            "2 accepted",
            "1 filled 2@98 M",
            "2 updated",
            "2 partially_filled 3@105 M"
        ]
    );
    assert_eq!(s.v.orders.get(2).unwrap().spec.qty, 6);
}

fn bracket(s: &mut Sim) {
    s.send(Command::SubmitList {
        list: 1,
        kind: ListKind::Bracket,
        orders: vec![
            spec(1, Buy, OrderKind::Market, 10),
            spec(2, Sell, lim(110), 10),
            spec(3, Sell, OrderKind::StopMarket { trigger: 95 }, 10),
        ],
    });
}

#[test]
fn bracket_path_decides_stop_or_take_profit() {
    // open 100, high 111 (11 away), low 94 (6 away): proximity goes to the low first → stop.
    let mut s = sim();
    bracket(&mut s);
    s.bar(MIN, 100, 111, 94, 100, 1e9);
    assert_eq!(
        s.take()[3..],
        [
            "1 accepted",
            "1 filled 10@100 T",
            "2 accepted",
            "3 accepted",
            "3 triggered",
            "3 filled 10@95 T",
            "2 canceled OcoSibling"
        ]
    );
    // the same bar with the high fixed first → take-profit.
    let mut s = Sim::new(VenueConfig {
        path: IntrabarPath::HighFirst,
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    bracket(&mut s);
    s.bar(MIN, 100, 111, 94, 100, 1e9);
    assert_eq!(
        s.take()[7..],
        ["2 filled 10@110 M", "3 canceled OcoSibling"]
    );
    assert_eq!(s.pos(), 0);
}

#[test]
fn bracket_children_canceled_with_an_unfilled_parent_and_resized_on_partials() {
    let mut s = sim();
    s.send(Command::SubmitList {
        list: 1,
        kind: ListKind::Bracket,
        orders: vec![
            spec(1, Buy, lim(90), 10),
            spec(2, Sell, lim(110), 10),
            spec(3, Sell, OrderKind::StopMarket { trigger: 80 }, 10),
        ],
    });
    s.send(Command::Cancel { id: 1 });
    assert_eq!(
        s.take()[4..],
        [
            "1 canceled Requested",
            "2 canceled ParentClosed",
            "3 canceled ParentClosed"
        ]
    );
    // partial entry fills (iceberg slices) grow the children
    let mut e = spec(4, Buy, lim(90), 10);
    e.display_qty = Some(6);
    s.send(Command::SubmitList {
        list: 2,
        kind: ListKind::Bracket,
        orders: vec![
            e,
            spec(5, Sell, lim(110), 10),
            spec(6, Sell, OrderKind::StopMarket { trigger: 80 }, 10),
        ],
    });
    s.bar(MIN, 91, 92, 89, 91, 1e9);
    s.bar(2 * MIN, 91, 92, 89, 91, 1e9);
    assert_eq!(
        s.take()[4..],
        [
            "4 partially_filled 6@90 M",
            "5 accepted",
            "6 accepted",
            "4 filled 4@90 M",
            "5 updated",
            "6 updated"
        ]
    );
    assert_eq!(s.v.orders.get(5).unwrap().spec.qty, 10);
    assert_eq!(s.v.orders.get(6).unwrap().spec.qty, 10);
}

// ---- modify, cancel, ids ----------------------------------------------------------------

#[test]
fn modify_and_cancel_cases() {
    let mut s = sim();
    let mut o = spec(1, Buy, lim(90), 10);
    o.display_qty = Some(4);
    s.send(Command::Submit(o));
    s.send(Command::Modify {
        id: 1,
        qty: None,
        px: Some(97),
        trigger: None,
    });
    s.bar(MIN, 98, 98, 96, 97, 1e9); // fills 4 at the new limit
    s.send(Command::Modify {
        id: 1,
        qty: Some(4),
        px: None,
        trigger: None,
    });
    s.send(Command::Modify {
        id: 1,
        qty: Some(6),
        px: None,
        trigger: Some(5),
    });
    s.send(Command::Modify {
        id: 1,
        qty: Some(6),
        px: None,
        trigger: None,
    });
    s.send(Command::Cancel { id: 42 });
    s.bar(2 * MIN, 98, 98, 96, 97, 1e9); // fills the last 2
    s.send(Command::Cancel { id: 1 });
    s.send(Command::Modify {
        id: 1,
        qty: Some(8),
        px: None,
        trigger: None,
    });
    assert_eq!(
        s.take(),
        [
            "1 submitted",
            "1 accepted",
            "1 updated",
            "1 partially_filled 4@97 M",
            "1 modify_rejected ModifyBelowFilled",
            "1 modify_rejected InvalidOrder",
            "1 updated",
            "42 cancel_rejected UnknownOrder",
            "1 filled 2@97 M",
            "1 cancel_rejected OrderClosed",
            "1 modify_rejected OrderClosed"
        ]
    );
}

#[test]
fn a_duplicate_id_is_denied_and_never_executed_twice() {
    let mut s = sim();
    s.send(submit(1, Buy, lim(95), 2));
    s.send(submit(1, Sell, OrderKind::Market, 7));
    s.bar(MIN, 100, 100, 99, 99, 1e9);
    assert_eq!(
        s.take(),
        ["1 submitted", "1 accepted", "1 denied DuplicateOrderId"]
    );
    let o = s.v.orders.get(1).unwrap();
    assert_eq!(
        (o.spec.side, o.spec.qty, o.status),
        (Buy, 2, OrderStatus::Accepted)
    );
    assert!(s.fills.is_empty());
    s.send(Command::CancelAll { instrument: None });
    assert_eq!(s.take(), ["1 canceled Requested"]);
    assert!(s.v.is_idle());
}

// ---- latency ------------------------------------------------------------------------------

#[test]
fn submit_latency_delays_the_first_bar() {
    let mut s = Sim::new(VenueConfig {
        latency: LatencyConfig::constant(90_000_000_000, 0, 0), // 1.5 bars
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(submit(1, Buy, OrderKind::Market, 1));
    assert_eq!(s.take(), ["1 submitted"]);
    assert_eq!(s.v.orders.get(1).unwrap().status, OrderStatus::Submitted);
    s.bar(MIN, 101, 101, 101, 101, 1e9); // still in flight
    assert!(s.take().is_empty());
    s.bar(2 * MIN, 102, 102, 102, 102, 1e9); // arrived at 1.5 min: trades from this bar
    let ev = s.events.clone();
    assert_eq!(s.take(), ["1 accepted", "1 filled 1@102 T"]);
    assert_eq!(ev[1].ts, 90_000_000_000);
    assert_eq!(ev[2].ts, 2 * MIN);
}

#[test]
fn a_cancel_in_flight_cannot_stop_an_earlier_fill() {
    let mut s = Sim::new(VenueConfig {
        latency: LatencyConfig::constant(0, 90_000_000_000, 0),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(submit(1, Buy, lim(95), 1));
    s.send(submit(2, Buy, lim(90), 1));
    s.bar(MIN, 100, 100, 99, 99, 1e9);
    s.send(Command::Cancel { id: 1 }); // arrives at 2.5 min
    s.send(Command::Cancel { id: 2 });
    s.bar(2 * MIN, 96, 96, 94, 95, 1e9); // the cancel is still in flight: 1 fills
    s.bar(3 * MIN, 89, 89, 85, 86, 1e9); // arrived first: 2 is canceled before this bar
    assert_eq!(
        s.take()[4..],
        [
            "1 filled 1@95 M",
            "1 cancel_rejected OrderClosed",
            "2 canceled Requested"
        ]
    );
    assert_eq!(s.fills.len(), 1);
}

#[test]
fn a_cancel_arriving_before_its_order_cancels_it_in_flight() {
    let mut s = Sim::new(VenueConfig {
        latency: LatencyConfig::constant(3 * MIN, MIN / 2, 0),
        ..VenueConfig::default()
    });
    s.bar(0, 100, 100, 100, 100, 1e9);
    s.send(submit(1, Buy, OrderKind::Market, 1));
    s.send(Command::Cancel { id: 1 });
    for k in 1..=4 {
        s.bar(k * MIN, 100, 100, 100, 100, 1e9);
    }
    assert_eq!(s.take(), ["1 submitted", "1 canceled Requested"]);
    assert!(s.fills.is_empty() && s.v.is_idle());
}
