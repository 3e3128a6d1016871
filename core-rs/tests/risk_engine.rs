//! The risk engine inside the bar engine: property tests over random strategy behaviour (random
//! submits / modifies / cancels of random types and sizes on random bar series, random manual
//! state commands) and boundary tests of the trading-state gate.
//!
//! Definitions used by the properties:
//! - **position limit**: |position| ≤ `max_position` after every command and every bar.
//! - **leverage**: gross exposure / equity, both at the instrument's mark. Exact only when the
//!   fill price equals the mark the check used: the leverage property runs the venue with
//!   `FillAt::Close`, no slippage, no fees and market orders only, so every fill happens at the
//!   bar's close = the mark the check valued the order at, and equity is unchanged by a fill.
//!   Then, after every fill that grows the position, Σ|qty × mark| ≤ cap × equity. (Prices moving
//!   afterwards change leverage passively; that is not an order and is not bounded.)
//! - **HALTED**: while the state is HALTED, a command reaches the venue neither as a new order
//!   (`orders_submitted` unchanged) nor as a modify / cancel (no event but the risk refusals).
//! - **EMERGENCY**: once entered, the position is flat after the bar in which the flattening
//!   market order can fill (the same bar with `FillAt::Close`, the next bar's open otherwise)
//!   and stays flat.

use _core::engine::{Backtest, ENGINE_ORDER_ID_BASE, Handler};
use _core::error::CoreError;
use _core::model::{
    Bar, BarColumns, Command, Instrument, ListKind, OrderEventKind, OrderKind, OrderSpec, Reason,
    Side, TimeInForce,
};
use _core::risk::checks::{InstrumentLimits, RiskLimits};
use _core::risk::{Hooks, RiskConfig, RiskEngine, RiskReason, TradingState};
use _core::venue::{FillAt, VenueConfig};
use proptest::prelude::*;

const MAX_POS: i64 = 150_000; // 150 units at size_dp 3
const CAP: f64 = 1.2;

#[derive(Debug, Clone)]
enum Action {
    Submit {
        buy: bool,
        kind: u8,
        qty: i64,
        off_bps: i64,
        reduce_only: bool,
        ioc: bool,
    },
    Bracket {
        buy: bool,
        qty: i64,
    },
    Modify {
        pick: usize,
        qty: i64,
        off_bps: i64,
    },
    Cancel {
        pick: usize,
    },
    CancelAll,
    State(u8),
}

fn action(states: u8) -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (any::<bool>(), 0u8..4, 1i64..60_000, -300i64..300, prop::bool::weighted(0.1), prop::bool::weighted(0.2))
            .prop_map(|(buy, kind, qty, off_bps, reduce_only, ioc)| Action::Submit { buy, kind, qty, off_bps, reduce_only, ioc }),
        1 => (any::<bool>(), 1i64..60_000).prop_map(|(buy, qty)| Action::Bracket { buy, qty }),
        2 => (any::<usize>(), 1i64..80_000, -300i64..300).prop_map(|(pick, qty, off_bps)| Action::Modify { pick, qty, off_bps }),
        2 => any::<usize>().prop_map(|pick| Action::Cancel { pick }),
        1 => Just(Action::CancelAll),
        1 => (0u8..states).prop_map(Action::State),
    ]
}

fn bars_strategy() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    (10usize..60).prop_flat_map(|n| {
        prop::collection::vec((-400i64..400, 0i64..150, 0i64..150), n).prop_map(|steps| {
            let mut px = 10_000i64; // 100.00
            steps
                .into_iter()
                .map(|(d, up, dn)| {
                    let open = px;
                    let close = (px + d).max(2_000);
                    let high = open.max(close) + up;
                    let low = (open.min(close) - dn).max(1_000);
                    px = close;
                    let f = |x: i64| x as f64 / 100.0;
                    (f(open), f(high), f(low), f(close))
                })
                .collect()
        })
    })
}

const STATES: [TradingState; 5] = [
    TradingState::Active,
    TradingState::Reducing,
    TradingState::Paused,
    TradingState::Halted,
    TradingState::Emergency,
];

/// Plays `plan[i]` at bar i and checks the invariants as it goes.
struct Fuzz {
    plan: Vec<Vec<Action>>,
    market_only: bool,
    /// Bar at which the manual state goes to EMERGENCY (None: never).
    emergency_at: Option<usize>,
    /// First bar at which the position must be flat (set when EMERGENCY is entered).
    flat_from: Option<usize>,
    close_mode: bool,
    violations: Vec<String>,
    halted_commands: usize,
    max_seen: i64,
}

impl Fuzz {
    fn pos(bt: &Backtest) -> i64 {
        bt.position_raw(0)
    }

    fn invariants(&mut self, bt: &Backtest, i: usize, when: &str) {
        let p = Self::pos(bt);
        self.max_seen = self.max_seen.max(p.abs());
        if p.abs() > MAX_POS {
            self.violations
                .push(format!("bar {i} {when}: position {p} beyond {MAX_POS}"));
        }
        if let Some(f) = self.flat_from
            && i >= f
            && p != 0
        {
            self.violations.push(format!(
                "bar {i} {when}: EMERGENCY since bar {}, position {p}",
                f
            ));
        }
    }

    fn command(&mut self, bt: &mut Backtest, bar: &Bar, i: usize, a: &Action) {
        let close = bar.close;
        let px_at = |off: i64| (close + close * off / 10_000).max(1);
        let working: Vec<u64> = bt
            .venue
            .working_orders()
            .map(|o| o.spec.id)
            .filter(|&id| id < ENGINE_ORDER_ID_BASE)
            .collect();
        let cmd = match *a {
            Action::Submit {
                buy,
                kind,
                qty,
                off_bps,
                reduce_only,
                ioc,
            } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let kind = match if self.market_only { 0 } else { kind } {
                    0 => OrderKind::Market,
                    1 => OrderKind::Limit { px: px_at(off_bps) },
                    2 => OrderKind::StopMarket {
                        trigger: px_at(off_bps.abs() * side.sign()),
                    },
                    _ => OrderKind::StopLimit {
                        trigger: px_at(off_bps.abs() * side.sign()),
                        px: px_at(off_bps.abs() * side.sign() + 20 * side.sign()),
                    },
                };
                let mut spec = OrderSpec::new(bt.next_order_id(), 0, side, kind, qty);
                spec.reduce_only = reduce_only;
                if ioc {
                    spec.tif = TimeInForce::Ioc;
                }
                Command::Submit(spec)
            }
            Action::Bracket { buy, qty } => {
                if self.market_only {
                    return;
                }
                let side = if buy { Side::Buy } else { Side::Sell };
                let s = side.sign();
                let entry = OrderSpec::new(bt.next_order_id(), 0, side, OrderKind::Market, qty);
                let mut tp = OrderSpec::new(
                    bt.next_order_id(),
                    0,
                    side.opposite(),
                    OrderKind::Limit { px: px_at(200 * s) },
                    qty,
                );
                let mut sl = OrderSpec::new(
                    bt.next_order_id(),
                    0,
                    side.opposite(),
                    OrderKind::StopMarket {
                        trigger: px_at(-200 * s),
                    },
                    qty,
                );
                tp.reduce_only = true;
                sl.reduce_only = true;
                Command::SubmitList {
                    list: bt.next_order_id(),
                    kind: ListKind::Bracket,
                    orders: vec![entry, tp, sl],
                }
            }
            Action::Modify { pick, qty, off_bps } => {
                let Some(&id) = working.get(pick % working.len().max(1)) else {
                    return;
                };
                let o = bt.venue.orders.get(id).unwrap();
                let px = o.spec.kind.limit_px().map(|_| px_at(off_bps));
                Command::Modify {
                    id,
                    qty: Some(qty),
                    px,
                    trigger: None,
                }
            }
            Action::Cancel { pick } => {
                let Some(&id) = working.get(pick % working.len().max(1)) else {
                    return;
                };
                Command::Cancel { id }
            }
            Action::CancelAll => Command::CancelAll { instrument: None },
            Action::State(k) => {
                if self.flat_from.is_some() {
                    return; // a manual command may lift EMERGENCY: not this property's subject
                }
                bt.set_trading_state(STATES[k as usize], "fuzz");
                return;
            }
        };
        let halted = bt.risk.state() == TradingState::Halted;
        let (sent, n_ev) = (bt.venue.orders_submitted, bt.events().len());
        bt.submit(cmd);
        if halted {
            self.halted_commands += 1;
            if bt.venue.orders_submitted != sent {
                self.violations
                    .push(format!("bar {i}: an order reached the venue while HALTED"));
            }
            for e in &bt.events()[n_ev..] {
                let refused = matches!(
                    e.kind,
                    OrderEventKind::Denied(Reason::Risk(RiskReason::StateHalted))
                        | OrderEventKind::ModifyRejected(Reason::Risk(RiskReason::StateHalted))
                        | OrderEventKind::CancelRejected(Reason::Risk(RiskReason::StateHalted))
                );
                if !refused {
                    self.violations
                        .push(format!("bar {i}: {:?} while HALTED", e.kind));
                }
            }
        }
        self.invariants(bt, i, "after a command");
    }
}

impl Handler for Fuzz {
    type Error = CoreError;
    fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> Result<(), CoreError> {
        self.invariants(bt, i, "after settling");
        if self.emergency_at == Some(i) {
            bt.set_trading_state(TradingState::Emergency, "fuzz emergency");
            self.flat_from = Some(if self.close_mode { i } else { i + 1 });
            self.invariants(bt, i, "after EMERGENCY");
        }
        let plan = std::mem::take(&mut self.plan[i]);
        for a in &plan {
            let gross_before = Self::pos(bt).abs();
            self.command(bt, bar, i, a);
            if self.market_only && self.close_mode {
                // Leverage at the marks after a fill that grew the position.
                let p = Self::pos(bt);
                if p.abs() > gross_before {
                    let inst = &bt.instruments[0];
                    let pos = &bt.portfolio.positions[0];
                    let gross = inst.notional(pos.mark, p).abs();
                    let equity = bt.portfolio.equity(&bt.instruments);
                    if gross as f64 > CAP * equity as f64 {
                        self.violations.push(format!(
                            "bar {i}: leverage {} above {CAP}",
                            gross as f64 / equity as f64
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn config() -> RiskConfig {
    RiskConfig {
        limits: RiskLimits {
            instruments: vec![InstrumentLimits {
                max_position: Some(MAX_POS),
                ..InstrumentLimits::default()
            }],
            max_leverage: Some(CAP),
            ..RiskLimits::default()
        },
        ..RiskConfig::default()
    }
}

fn play(
    bars: &[(f64, f64, f64, f64)],
    plan: Vec<Vec<Action>>,
    fill_at: FillAt,
    market_only: bool,
    emergency_at: Option<usize>,
) -> (Backtest, Fuzz) {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let venue = VenueConfig {
        fill_at,
        ..VenueConfig::default()
    };
    let mut bt = Backtest::new(vec![inst], venue, 10_000.0).unwrap();
    bt.set_risk(RiskEngine::new(config(), Vec::new(), 1).unwrap());
    let n = bars.len();
    let ts: Vec<i64> = (0..n as i64).map(|k| (k + 1) * 60_000_000_000).collect();
    let o: Vec<f64> = bars.iter().map(|b| b.0).collect();
    let h: Vec<f64> = bars.iter().map(|b| b.1).collect();
    let l: Vec<f64> = bars.iter().map(|b| b.2).collect();
    let c: Vec<f64> = bars.iter().map(|b| b.3).collect();
    let v = vec![1e9; n];
    let cols = BarColumns {
        ts: &ts,
        open: &o,
        high: &h,
        low: &l,
        close: &c,
        volume: &v,
        instrument: None,
    };
    let mut plan = plan;
    plan.resize(n, Vec::new());
    let mut f = Fuzz {
        plan,
        market_only,
        emergency_at,
        flat_from: None,
        close_mode: fill_at == FillAt::Close,
        violations: Vec::new(),
        halted_commands: 0,
        max_seen: 0,
    };
    bt.run(&cols, &mut f).unwrap();
    bt.finish();
    (bt, f)
}

fn plans(states: u8) -> impl Strategy<Value = Vec<Vec<Action>>> {
    prop::collection::vec(prop::collection::vec(action(states), 0..4), 60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn position_never_exceeds_its_limit_and_halted_sends_nothing(
        bars in bars_strategy(),
        plan in plans(4),
        close in any::<bool>(),
    ) {
        let fill_at = if close { FillAt::Close } else { FillAt::NextOpen };
        let (bt, f) = play(&bars, plan, fill_at, false, None);
        prop_assert!(f.violations.is_empty(), "{:?}", f.violations);
        // the audit chain of the run verifies
        prop_assert!(_core::risk::audit::AuditLog::verify(bt.risk.audit().entries(), None).is_ok());
    }

    #[test]
    fn leverage_never_exceeds_its_cap(bars in bars_strategy(), plan in plans(3)) {
        let (_, f) = play(&bars, plan, FillAt::Close, true, None);
        prop_assert!(f.violations.is_empty(), "{:?}", f.violations);
    }

    #[test]
    fn emergency_always_ends_flat(
        bars in bars_strategy(),
        plan in plans(3),
        at in 0usize..60,
        close in any::<bool>(),
    ) {
        let fill_at = if close { FillAt::Close } else { FillAt::NextOpen };
        let at = at % bars.len();
        let (bt, f) = play(&bars, plan, fill_at, false, Some(at));
        prop_assert!(f.violations.is_empty(), "{:?}", f.violations);
        prop_assert_eq!(bt.risk.state(), TradingState::Emergency);
        if at + 1 < bars.len() || close {
            prop_assert_eq!(bt.position_raw(0), 0);
        }
        prop_assert_eq!(bt.venue.working_orders().filter(|o| o.spec.id < ENGINE_ORDER_ID_BASE).count(), 0);
    }
}

#[test]
fn the_fuzz_does_reach_its_limits() {
    // Not a property: seeded runs showing both limits bind (so the properties are not vacuous).
    // Buys of 40 units each bar: at ~100 the leverage cap 1.2 (≈ 120 units on 10 000) stops the
    // third; at ~50 it is the position limit of 150 units that stops the fourth.
    for (px, want, reason) in [
        (100.0, 80_000, RiskReason::Leverage),
        (50.0, 120_000, RiskReason::MaxPosition),
    ] {
        let bars: Vec<(f64, f64, f64, f64)> = (0..30)
            .map(|k| {
                let p = px + k as f64 * 0.1;
                (p, p + 0.5, p - 0.5, p)
            })
            .collect();
        let plan: Vec<Vec<Action>> = (0..30)
            .map(|_| {
                vec![Action::Submit {
                    buy: true,
                    kind: 0,
                    qty: 40_000,
                    off_bps: 0,
                    reduce_only: false,
                    ioc: false,
                }]
            })
            .collect();
        let (bt, f) = play(&bars, plan, FillAt::Close, true, None);
        assert!(f.violations.is_empty(), "{:?}", f.violations);
        assert_eq!(f.max_seen, want, "at {px}");
        assert!(bt.risk.report().denials[&reason] > 0, "at {px}");
    }
}

// ---- boundary tests of the state gate -------------------------------------------------------

/// One command per call of `on_bar` at bar 1 after a long of 10 units was bought at bar 0.
struct Gate {
    state: TradingState,
    cmds: Vec<Command>,
    seen: Vec<OrderEventKind>,
    sent_before: u64,
    sent_after: u64,
}

impl Handler for Gate {
    type Error = CoreError;
    fn on_events(&mut self, bt: &mut Backtest) -> Result<(), CoreError> {
        self.seen.extend(bt.events().iter().map(|e| e.kind));
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        match i {
            0 => {
                bt.submit(Command::Submit(OrderSpec::new(
                    1,
                    0,
                    Side::Buy,
                    OrderKind::Market,
                    10_000,
                )));
                // a working buy limit far below the market, to modify / cancel later
                bt.submit(Command::Submit(OrderSpec::new(
                    2,
                    0,
                    Side::Buy,
                    OrderKind::Limit { px: 5_000 },
                    1_000,
                )));
            }
            1 => {
                bt.set_trading_state(self.state, "test");
                self.seen.clear();
                self.sent_before = bt.venue.orders_submitted;
                for c in std::mem::take(&mut self.cmds) {
                    bt.submit(c);
                }
                self.sent_after = bt.venue.orders_submitted;
            }
            _ => {}
        }
        Ok(())
    }
}

fn gate(state: TradingState, cmds: Vec<Command>) -> (Backtest, Gate) {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let venue = VenueConfig {
        fill_at: FillAt::Close,
        ..VenueConfig::default()
    };
    let mut bt = Backtest::new(vec![inst], venue, 100_000.0).unwrap();
    let ts = [1, 2, 3];
    let px = [100.0; 3];
    let cols = BarColumns {
        ts: &ts,
        open: &px,
        high: &px,
        low: &px,
        close: &px,
        volume: &[1e9; 3],
        instrument: None,
    };
    let mut g = Gate {
        state,
        cmds,
        seen: Vec::new(),
        sent_before: 0,
        sent_after: 0,
    };
    bt.run(&cols, &mut g).unwrap();
    bt.finish();
    (bt, g)
}

fn sell(id: u64, qty: i64) -> Command {
    Command::Submit(OrderSpec::new(id, 0, Side::Sell, OrderKind::Market, qty))
}

fn denied(r: RiskReason) -> OrderEventKind {
    OrderEventKind::Denied(Reason::Risk(r))
}

#[test]
fn reducing_allows_exactly_the_position_and_not_one_lot_more() {
    let (bt, g) = gate(TradingState::Reducing, vec![sell(10, 10_001)]);
    assert_eq!(g.seen, vec![denied(RiskReason::StateReducing)]);
    assert_eq!(bt.position_raw(0), 10_000);
    // the same-side add and a flip are refused; the exact close passes
    let buy = Command::Submit(OrderSpec::new(11, 0, Side::Buy, OrderKind::Market, 1));
    let (bt, g) = gate(TradingState::Reducing, vec![buy, sell(12, 10_000)]);
    assert_eq!(g.seen[0], denied(RiskReason::StateReducing));
    assert!(g.seen[1..].contains(&OrderEventKind::Filled { fill_index: 1 }));
    assert_eq!(bt.position_raw(0), 0);
    // working reducing orders count: two sells of 6 against a long of 10 → the second is refused
    let lim = |id| {
        Command::Submit(OrderSpec::new(
            id,
            0,
            Side::Sell,
            OrderKind::Limit { px: 20_000 },
            6_000,
        ))
    };
    let (_, g) = gate(TradingState::Reducing, vec![lim(13), lim(14)]);
    assert_eq!(g.seen.last(), Some(&denied(RiskReason::StateReducing)));
    // a modify may not grow an order; shrinking it passes
    let grow = Command::Modify {
        id: 2,
        qty: Some(1_001),
        px: None,
        trigger: None,
    };
    let shrink = Command::Modify {
        id: 2,
        qty: Some(999),
        px: None,
        trigger: None,
    };
    let (_, g) = gate(TradingState::Reducing, vec![grow, shrink]);
    assert_eq!(
        g.seen,
        vec![
            OrderEventKind::ModifyRejected(Reason::Risk(RiskReason::StateReducing)),
            OrderEventKind::Updated
        ]
    );
}

#[test]
fn paused_refuses_orders_and_modifies_but_lets_cancels_through() {
    let modify = Command::Modify {
        id: 2,
        qty: Some(500),
        px: None,
        trigger: None,
    };
    let (bt, g) = gate(
        TradingState::Paused,
        vec![sell(10, 1_000), modify, Command::Cancel { id: 2 }],
    );
    assert_eq!(
        g.seen,
        vec![
            denied(RiskReason::StatePaused),
            OrderEventKind::ModifyRejected(Reason::Risk(RiskReason::StatePaused)),
            OrderEventKind::Canceled(Reason::Requested),
        ]
    );
    assert_eq!(g.sent_before, g.sent_after);
    assert_eq!(
        bt.position_raw(0),
        10_000,
        "working orders stay, nothing new"
    );
}

#[test]
fn halted_refuses_everything_including_cancels() {
    let (bt, g) = gate(
        TradingState::Halted,
        vec![
            sell(10, 1_000),
            Command::Cancel { id: 2 },
            Command::CancelAll { instrument: None },
        ],
    );
    assert_eq!(
        g.seen,
        vec![
            denied(RiskReason::StateHalted),
            OrderEventKind::CancelRejected(Reason::Risk(RiskReason::StateHalted)),
            OrderEventKind::CancelRejected(Reason::Risk(RiskReason::StateHalted)),
        ]
    );
    assert!(bt.venue.orders.get(2).unwrap().status.is_working());
    assert_eq!(bt.risk.report().denials[&RiskReason::StateHalted], 3);
}

#[test]
fn emergency_cancels_flattens_and_refuses_strategy_commands() {
    let (bt, g) = gate(
        TradingState::Emergency,
        vec![sell(10, 1_000), Command::Cancel { id: 2 }],
    );
    // the engine's own work first: the working buy canceled, the flattening sell filled
    let emergency = OrderEventKind::Canceled(Reason::Risk(RiskReason::StateEmergency));
    assert_eq!(
        g.seen,
        vec![
            emergency,
            OrderEventKind::Submitted,
            OrderEventKind::Accepted,
            OrderEventKind::Filled { fill_index: 1 },
            denied(RiskReason::StateEmergency),
            OrderEventKind::CancelRejected(Reason::Risk(RiskReason::StateEmergency)),
        ]
    );
    assert_eq!(bt.position_raw(0), 0);
    let o2 = bt.venue.orders.get(2).unwrap();
    assert_eq!(o2.status, _core::model::OrderStatus::Canceled);
    let flat = bt.venue.orders.get(ENGINE_ORDER_ID_BASE + 1).unwrap();
    assert!(flat.spec.reduce_only && flat.spec.side == Side::Sell && flat.filled == 10_000);
    // the change is reported, timed and audited
    let r = bt.risk.report();
    assert_eq!(r.changes.len(), 1);
    assert_eq!(
        (r.changes[0].from, r.changes[0].to),
        (TradingState::Active, TradingState::Emergency)
    );
    assert_eq!(r.changes[0].source, "command");
    assert_eq!(r.time_in_state_ns[TradingState::Active.index()], 1);
    assert_eq!(r.time_in_state_ns[TradingState::Emergency.index()], 1);
    // ... and so is each refused command: the sell and the cancel, with their orders and codes
    // (an entry each: the head of a streak is never folded)
    let audit = bt.risk.audit().entries();
    assert_eq!(
        audit_rows(&bt),
        vec![
            ("state", "emergency", "", 1, &[][..]),
            ("denial", "emergency", "state_emergency", 1, &[10][..]),
            ("denial", "emergency", "state_emergency", 1, &[2][..]),
            ("seal", "emergency", "", 1, &[][..]),
        ]
    );
    for sentence in [&audit[1].reason, &audit[2].reason] {
        assert!(
            sentence.contains("trading state EMERGENCY")
                && sentence.contains("nothing else goes out"),
            "{sentence}"
        );
    }
    _core::risk::audit::AuditLog::verify(audit, None).unwrap();
}

#[test]
fn active_lets_everything_through_and_bypass_is_audited() {
    let (bt, g) = gate(TradingState::Active, vec![sell(10, 1_000)]);
    assert!(g.seen.contains(&OrderEventKind::Filled { fill_index: 1 }));
    assert_eq!(bt.position_raw(0), 9_000);
    let e = RiskEngine::new(
        RiskConfig {
            bypass: true,
            ..RiskConfig::default()
        },
        Vec::new(),
        1,
    )
    .unwrap();
    assert_eq!(e.audit().entries()[0].kind, "bypass");
    // a configured initial state is a change with source "config"
    let e = RiskEngine::new(
        RiskConfig {
            initial_state: TradingState::Paused,
            ..RiskConfig::default()
        },
        Vec::new(),
        1,
    )
    .unwrap();
    assert_eq!(e.state(), TradingState::Paused);
    assert_eq!(e.report().changes[0].source, "config");
}

// ---- layers in the bar loop ------------------------------------------------------------------

/// Counts what it sees; optionally needs every bar; wishes HALTED once it saw `halt_after` bars.
struct Counter {
    every_bar: bool,
    bars: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    halt_after: usize,
}

impl _core::risk::RiskLayer for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    fn check(&mut self, _: &OrderSpec, _: &_core::risk::RiskView<'_>) -> _core::risk::Verdict {
        _core::risk::Verdict::Pass
    }
    fn on_bar(&mut self, _: &Bar, _: &_core::risk::RiskView<'_>) {
        self.bars.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn wish(&self) -> _core::risk::StateWish {
        let n = self.bars.load(std::sync::atomic::Ordering::Relaxed);
        _core::risk::StateWish {
            state: if n >= self.halt_after {
                TradingState::Halted
            } else {
                TradingState::Active
            },
            reason: RiskReason::Drawdown,
        }
    }
    fn needs_every_bar(&self) -> bool {
        self.every_bar
    }
}

/// Does nothing and says so (the quiet-span fast path may skip every bar).
struct Quiet {
    seen: usize,
    changes: Vec<(TradingState, String)>,
}

impl Handler for Quiet {
    type Error = CoreError;
    fn on_events(&mut self, _: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, _: &mut Backtest, _: &Bar, _: usize) -> Result<(), CoreError> {
        self.seen += 1;
        Ok(())
    }
    fn quiet_until(&self, _i: usize, n: usize) -> usize {
        n
    }
    fn on_trading_state(
        &mut self,
        _: &mut Backtest,
        c: &_core::risk::StateChange,
    ) -> Result<(), CoreError> {
        self.changes.push((c.to, c.source.clone()));
        Ok(())
    }
}

#[test]
fn the_quiet_span_fast_path_stays_unless_a_layer_needs_every_bar() {
    for (every_bar, halt_after) in [(false, 1_000), (true, 1_000), (true, 40)] {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1_000.0).unwrap();
        let bars = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let layer = Counter {
            every_bar,
            bars: bars.clone(),
            halt_after,
        };
        bt.set_risk(RiskEngine::new(RiskConfig::default(), vec![Box::new(layer)], 1).unwrap());
        let ts: Vec<i64> = (1..=100).collect();
        let px = vec![100.0; 100];
        let cols = BarColumns {
            ts: &ts,
            open: &px,
            high: &px,
            low: &px,
            close: &px,
            volume: &px,
            instrument: None,
        };
        let mut h = Quiet {
            seen: 0,
            changes: Vec::new(),
        };
        bt.run(&cols, &mut h).unwrap();
        bt.finish();
        let n = bars.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(bt.curve.equity.len(), 100);
        if every_bar {
            assert_eq!((n, h.seen), (100, 100), "every bar stepped");
        } else {
            assert_eq!((n, h.seen), (0, 0), "the fast path skipped every bar");
        }
        if halt_after == 40 {
            assert_eq!(
                h.changes,
                vec![(TradingState::Halted, "counter".to_string())]
            );
            assert_eq!(bt.risk.report().changes[0].ts, 40);
            let t = bt.risk.report().time_in_state_ns;
            assert_eq!((t[0], t[3]), (39, 60));
        } else {
            assert!(h.changes.is_empty());
        }
    }
}

// ---- what the layers are shown, and when ----------------------------------------------------

type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Logs every hook call; wishes HALTED once it has seen `halt_after` `Accepted` events.
struct Recorder {
    name: &'static str,
    hooks: _core::risk::Hooks,
    log: Log,
    accepted: usize,
    halt_after: usize,
}

impl _core::risk::RiskLayer for Recorder {
    fn name(&self) -> &str {
        self.name
    }
    fn hooks(&self) -> _core::risk::Hooks {
        self.hooks
    }
    fn check(&mut self, s: &OrderSpec, _: &_core::risk::RiskView<'_>) -> _core::risk::Verdict {
        self.log.lock().unwrap().push(format!("check {}", s.id));
        _core::risk::Verdict::Pass
    }
    fn on_bar(&mut self, b: &Bar, _: &_core::risk::RiskView<'_>) {
        self.log.lock().unwrap().push(format!("bar {}", b.ts));
    }
    fn on_fill(&mut self, f: &_core::model::Fill, _: &_core::risk::RiskView<'_>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("fill {}", f.order_id));
    }
    fn on_event(&mut self, e: &_core::model::OrderEvent, _: &_core::risk::RiskView<'_>) {
        if e.kind == OrderEventKind::Accepted {
            self.accepted += 1;
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {:?}", e.id, e.kind));
    }
    fn wish(&self) -> _core::risk::StateWish {
        _core::risk::StateWish {
            state: if self.accepted >= self.halt_after {
                TradingState::Halted
            } else {
                TradingState::Active
            },
            reason: RiskReason::ConsecutiveRejects,
        }
    }
}

/// Bar 0: a market buy (fills at bar 1's open) and three far limit buys, the third's id a
/// duplicate (a venue denial); bar 1: `n` more far limit buys.
struct Orders4 {
    n: u64,
    delivered: Vec<String>,
}

impl Handler for Orders4 {
    type Error = CoreError;
    fn on_events(&mut self, bt: &mut Backtest) -> Result<(), CoreError> {
        self.delivered
            .extend(bt.events().iter().map(|e| format!("{} {:?}", e.id, e.kind)));
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        let limit = |id| {
            Command::Submit(OrderSpec::new(
                id,
                0,
                Side::Buy,
                OrderKind::Limit { px: 5_000 },
                1_000,
            ))
        };
        match i {
            0 => {
                bt.submit(Command::Submit(OrderSpec::new(
                    1,
                    0,
                    Side::Buy,
                    OrderKind::Market,
                    1_000,
                )));
                bt.submit(limit(2));
                bt.submit(limit(2));
            }
            1 => {
                for id in 10..10 + self.n {
                    bt.submit(limit(id));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn recorded(hooks: _core::risk::Hooks, halt_after: usize, n: u64) -> (Backtest, Orders4, Log) {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 100_000.0).unwrap();
    let log = Log::default();
    let layer = Recorder {
        name: "rec",
        hooks,
        log: log.clone(),
        accepted: 0,
        halt_after,
    };
    bt.set_risk(RiskEngine::new(RiskConfig::default(), vec![Box::new(layer)], 1).unwrap());
    let ts = [1, 2, 3];
    let px = [100.0; 3];
    let cols = BarColumns {
        ts: &ts,
        open: &px,
        high: &px,
        low: &px,
        close: &px,
        volume: &[1e9; 3],
        instrument: None,
    };
    let mut h = Orders4 {
        n,
        delivered: Vec::new(),
    };
    bt.run(&cols, &mut h).unwrap();
    bt.finish();
    (bt, h, log)
}

#[test]
fn layers_see_every_event_once_in_order_and_before_the_next_check() {
    let (bt, h, log) = recorded(_core::risk::Hooks::ALL, usize::MAX, 3);
    let log = log.lock().unwrap().clone();
    let events: Vec<String> = log
        .iter()
        .filter(|l| !l.starts_with("check") && !l.starts_with("bar") && !l.starts_with("fill"))
        .cloned()
        .collect();
    assert_eq!(
        events, h.delivered,
        "the events the strategy got, each once, in order"
    );
    assert!(h.delivered.iter().any(|e| e.starts_with("2 Denied")));
    // Each check comes after every event of the commands before it (Submitted/Accepted are
    // shown late, but never after a later check), and the fill before the bar it came with.
    let at = |s: &str| {
        log.iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("{s}"))
    };
    assert!(at("1 Accepted") < at("check 2"));
    assert!(at("2 Accepted") < at("check 10"));
    assert!(at("10 Accepted") < at("check 11"));
    assert!(at("fill 1") < at("bar 2"));
    assert_eq!(bt.risk.state(), TradingState::Active);
}

#[test]
fn a_wish_raised_by_deferred_events_holds_the_next_order() {
    // 2 acceptances at bar 0 (ids 1, 2); HALTED after the 4th: ids 10 and 11 pass, 12 does not
    let (bt, h, _) = recorded(_core::risk::Hooks::ALL, 4, 3);
    let denied_12 = format!("12 {:?}", denied(RiskReason::StateHalted));
    assert!(h.delivered.contains(&denied_12), "{:?}", h.delivered);
    assert!(h.delivered.contains(&"11 Accepted".to_string()));
    let c = &bt.risk.report().changes[0];
    assert_eq!(
        (c.to, c.ts),
        (TradingState::Halted, 2),
        "at the check of id 12, bar 1"
    );
}

#[test]
fn hooks_a_layer_leaves_out_are_never_called() {
    let only_bars = _core::risk::Hooks {
        bar: true,
        ..Hooks::NONE
    };
    let (_, _, log) = recorded(only_bars, usize::MAX, 2);
    let log = log.lock().unwrap().clone();
    assert_eq!(log, vec!["bar 1", "bar 2", "bar 3"]);
}

// ---- denials that explain themselves, and the audit chain -----------------------------------

/// Sends `plan[i]` at bar i; records the state changes it is told of.
struct Script {
    plan: Vec<Vec<Command>>,
    changes: Vec<_core::risk::StateChange>,
}

impl Handler for Script {
    type Error = CoreError;
    fn on_events(&mut self, _: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        for c in self.plan.get(i).cloned().unwrap_or_default() {
            bt.submit(c);
        }
        Ok(())
    }
    fn on_trading_state(
        &mut self,
        _: &mut Backtest,
        c: &_core::risk::StateChange,
    ) -> Result<(), CoreError> {
        self.changes.push(c.clone());
        Ok(())
    }
}

/// A run of `closes` (one a minute) on "X" (2 price decimals, 3 size decimals), filled at the
/// close without fees, on 100,000 of cash, with `risk`.
fn scripted(closes: &[f64], risk: RiskEngine, plan: Vec<Vec<Command>>) -> (Backtest, Script) {
    let mut h = Script {
        plan,
        changes: Vec::new(),
    };
    let bt = run_with(closes, risk, &mut h);
    (bt, h)
}

/// [`scripted`]'s run with any handler `h`.
fn run_with<H: Handler<Error = CoreError>>(
    closes: &[f64],
    risk: RiskEngine,
    h: &mut H,
) -> Backtest {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let venue = VenueConfig {
        fill_at: FillAt::Close,
        ..VenueConfig::default()
    };
    let mut bt = Backtest::new(vec![inst], venue, 100_000.0).unwrap();
    bt.set_risk(risk);
    bt.set_bar_intervals(vec![60_000_000_000]).unwrap(); // 1-minute bars: decisions at the close
    let ts: Vec<i64> = (0..closes.len() as i64)
        .map(|k| 1_641_387_600_000_000_000 + k * 60_000_000_000)
        .collect();
    let cols = BarColumns {
        ts: &ts,
        open: closes,
        high: closes,
        low: closes,
        close: closes,
        volume: &vec![1e9; closes.len()],
        instrument: None,
    };
    bt.run(&cols, h).unwrap();
    bt.finish();
    bt
}

fn mkt(id: u64, side: Side, qty: i64) -> Command {
    Command::Submit(OrderSpec::new(id, 0, side, OrderKind::Market, qty))
}

#[test]
fn a_drawdown_state_and_its_denials_name_the_drawdown_and_the_limit() {
    use _core::risk::layers::{DrawdownConfig, DrawdownGuard};
    let guard = DrawdownGuard::new(
        DrawdownConfig {
            soft: Some(0.1),
            hard: None,
            hard_state: TradingState::Halted,
            daily_loss: None,
        },
        "dd".into(),
    )
    .unwrap();
    let risk = RiskEngine::new(RiskConfig::default(), vec![Box::new(guard)], 1).unwrap();
    // 500 bought at 100.00 with all of the 100,000 minus 50,000; at 76.00 the equity is
    // 50,000 + 38,000 = 88,000: 12 % below its high-water mark 100,000.
    let plan = vec![
        vec![mkt(1, Side::Buy, 500_000)],
        vec![],
        vec![mkt(2, Side::Buy, 1_000)],
    ];
    let (bt, h) = scripted(&[100.0, 76.0, 76.0], risk, plan);
    let why = "drawdown 12.0 % ≥ soft limit 10 % (high-water mark 100000.00, equity 88000.00)";
    assert_eq!(h.changes.len(), 1);
    let c = &h.changes[0];
    assert_eq!(
        (c.from, c.to, c.source.as_str(), c.reason.as_str()),
        (TradingState::Active, TradingState::Reducing, "dd", why)
    );
    assert_eq!(bt.risk.report().changes[0].reason, why);
    let since = _core::risk::explain::utc(c.ts);
    let want = format!(
        "{why}: trading state REDUCING (since {since}, by layer dd) lets only reducing orders out: \
         buy 1.000 X would grow the position 500.000"
    );
    let d = bt.denial(2).expect("order 2 was denied");
    assert_eq!(d.reason, Reason::Risk(RiskReason::StateReducing));
    assert_eq!(d.detail, want);
    assert_eq!(
        bt.risk.report().examples[RiskReason::StateReducing.code()],
        want
    );
    // the change and the denial are audited, in order, and the chain verifies
    let audit = bt.risk.audit().entries();
    let kinds: Vec<&str> = audit.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["state", "denial", "seal"]);
    assert_eq!(audit[0].reason, why);
    assert_eq!(
        (
            audit[1].code.as_str(),
            audit[1].orders.as_slice(),
            audit[1].reason.as_str()
        ),
        ("state_reducing", &[2][..], want.as_str())
    );
    _core::risk::audit::AuditLog::verify(audit, None).unwrap();
}

/// Halves every order and says so.
struct Halver;

impl _core::risk::RiskLayer for Halver {
    fn name(&self) -> &str {
        "halver"
    }
    fn check(&mut self, spec: &OrderSpec, _: &_core::risk::RiskView<'_>) -> _core::risk::Verdict {
        _core::risk::Verdict::Resize(spec.qty / 2)
    }
    fn hooks(&self) -> Hooks {
        Hooks {
            check: true,
            ..Hooks::NONE
        }
    }
    fn explain(&self) -> Option<String> {
        Some("half of what was asked".into())
    }
}

#[test]
fn denials_and_resizes_are_audit_entries_and_tampering_with_them_is_detected() {
    let mut cfg = RiskConfig::default();
    cfg.limits.instruments = vec![InstrumentLimits {
        min_notional: Some(200 * _core::model::fixed::pow10(_core::model::MONEY_DP)),
        ..Default::default()
    }];
    let risk = RiskEngine::new(cfg, vec![Box::new(Halver)], 1).unwrap();
    // order 1: 4.000 (400.00) halved to 2.000 (200.00), goes out; order 2: 3.000 (300.00)
    // halved to 1.500 (150.00 < 200.00): denied after the resize; order 3: 10.000 halved to
    // 5.000, which a cash account holding 2.000 cannot sell (the account's own denial).
    let plan = vec![
        vec![mkt(1, Side::Buy, 4_000)],
        vec![mkt(2, Side::Buy, 3_000), mkt(3, Side::Sell, 10_000)],
    ];
    let (bt, _) = scripted(&[100.0, 100.0, 100.0], risk, plan);
    assert_eq!(bt.position_raw(0), 2_000);
    let audit = bt.risk.audit().entries();
    let rows: Vec<(&str, &str, &str, &str, &[u64])> = audit
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.from.as_str(),
                e.to.as_str(),
                e.source.as_str(),
                e.orders.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("resize", "4.000", "2.000", "halver", &[1][..]),
            ("denial", "active", "active", "risk", &[2][..]),
            ("resize", "10.000", "5.000", "halver", &[3][..]),
            ("denial", "active", "active", "account", &[3][..]),
            ("seal", "active", "active", "engine", &[][..]),
        ]
    );
    assert_eq!(audit[0].reason, "half of what was asked");
    assert_eq!(audit[1].code, "notional_below_min");
    assert_eq!(
        audit[1].reason,
        "layer halver resized order 2 from 3.000 to 1.500, then: \
         notional of buy 1.500 X at the last price 100.00 = 150.00 < min_notional 200.00"
    );
    assert_eq!(audit[3].code, "insufficient_holdings");
    assert_eq!(audit[3].reason, bt.denial(3).unwrap().detail);
    assert_eq!(bt.risk.report().resized, 2);
    let r = bt.risk.report();
    assert_eq!(r.examples["notional_below_min"], audit[1].reason);
    assert_eq!(r.examples["insufficient_holdings"], audit[3].reason);

    use _core::risk::audit::AuditLog;
    AuditLog::verify(audit, None).unwrap();
    // an edited denial, a denial naming another order, a denial with another code, a resize
    // with another size: each is caught at its entry
    let mut e = audit.to_vec();
    e[1].reason = "nothing to see".into();
    assert_eq!(AuditLog::verify(&e, None).unwrap_err().index, 1);
    let mut e = audit.to_vec();
    e[1].orders = vec![7];
    assert_eq!(AuditLog::verify(&e, None).unwrap_err().index, 1);
    let mut e = audit.to_vec();
    e[3].code = "state_halted".into();
    assert_eq!(AuditLog::verify(&e, None).unwrap_err().index, 3);
    let mut e = audit.to_vec();
    e[0].to = "4.000".into();
    assert_eq!(AuditLog::verify(&e, None).unwrap_err().index, 0);
    // a denial taken out of the chain
    let mut e = audit.to_vec();
    e.remove(1);
    assert!(AuditLog::verify(&e, None).is_err());
}

#[test]
fn a_refused_cancel_carries_its_sentence_like_a_refused_order() {
    let (bt, _) = gate(
        TradingState::Halted,
        vec![
            sell(10, 1_000),
            Command::Cancel { id: 2 },
            Command::CancelAll { instrument: None },
        ],
    );
    let all = bt.denials.all();
    assert_eq!(
        all.iter().map(|d| d.order_id).collect::<Vec<_>>(),
        vec![10, 2, 2]
    );
    for d in all {
        assert!(
            d.detail.starts_with("test: trading state HALTED (since ")
                && d.detail
                    .ends_with(", by command) lets nothing out, cancels included"),
            "{}",
            d.detail
        );
    }
    // the three refusals in a row: an audit entry each, naming its orders
    let audit = bt.risk.audit().entries();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.kind == "denial")
            .map(|e| (e.count, e.orders.clone()))
            .collect::<Vec<_>>(),
        vec![(1, vec![10]), (1, vec![2]), (1, vec![2])]
    );
}

// ---- folded runs of denials in the audit chain ----------------------------------------------

/// A strategy that buys 10,000 X (1,000,000 at 100.00, ten times its cash) on every bar, in a
/// run that starts HALTED and is resumed by command at bar `resume`.
struct Greedy {
    resume: usize,
}

impl Handler for Greedy {
    type Error = CoreError;
    fn on_events(&mut self, _: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        if i == self.resume {
            bt.set_trading_state(TradingState::Active, "operator resumes");
        }
        bt.submit(mkt(i as u64 + 1, Side::Buy, 10_000_000));
        Ok(())
    }
}

fn greedy(n: usize, resume: usize, unfolded: u64) -> Backtest {
    let cfg = RiskConfig {
        initial_state: TradingState::Halted,
        ..RiskConfig::default()
    };
    let mut risk = RiskEngine::new(cfg, Vec::new(), 1).unwrap();
    risk.set_audit_unfolded(unfolded);
    // the price moves every bar: each balance denial's sentence is another one
    let closes: Vec<f64> = (0..n).map(|k| 100.0 + k as f64).collect();
    run_with(&closes, risk, &mut Greedy { resume })
}

/// The audit entries' kind, state (`to`), code, count and orders.
fn audit_rows(bt: &Backtest) -> Vec<(&str, &str, &str, u64, &[u64])> {
    bt.risk
        .audit()
        .entries()
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.to.as_str(),
                e.code.as_str(),
                e.count,
                e.orders.as_slice(),
            )
        })
        .collect()
}

#[test]
fn a_run_of_denials_is_one_audit_entry_and_a_state_change_breaks_it() {
    use _core::risk::audit::AuditLog;
    // folding from the first denial of a streak (the default keeps the first 1000 apart)
    let bt = greedy(7, 3, 0);
    // bars 0-2: refused by HALTED; bars 3-6: by the account (the state change between them)
    let audit = bt.risk.audit().entries();
    assert_eq!(
        audit_rows(&bt),
        vec![
            ("state", "halted", "", 1, &[][..]),
            ("denial", "halted", "state_halted", 3, &[1, 2, 3][..]),
            ("state", "active", "", 1, &[][..]),
            (
                "denial",
                "active",
                "insufficient_balance",
                4,
                &[4, 5, 6, 7][..]
            ),
            ("seal", "active", "", 1, &[][..]),
        ]
    );
    AuditLog::verify(audit, None).unwrap();
    // the seal closes the log when the run ends, the last bar's close: after every denial (the
    // last bar's refusal is timed at that close)
    let seal = audit.last().unwrap();
    assert!(
        audit
            .iter()
            .all(|e| e.ts <= seal.ts && e.last_ts.unwrap_or(e.ts) <= seal.ts)
    );
    assert_eq!(seal.ts, audit[3].last_ts.unwrap());
    // the counts stay exact per order, and every order keeps its own sentence
    let r = bt.risk.report();
    assert_eq!(r.denials[&RiskReason::StateHalted], 3);
    assert_eq!(r.account_denials["insufficient_balance"], 4);
    let detail = |id: u64| bt.denial(id).unwrap().detail.clone();
    let account = &audit[3];
    assert_eq!(account.source, "account");
    assert_eq!(account.reason, detail(4));
    assert_eq!(account.last_reason.as_deref(), Some(detail(7).as_str()));
    assert_ne!(detail(4), detail(7), "the price moved: another sentence");
    assert_eq!(
        (account.ts, account.last_ts),
        (bt.denial(4).unwrap().ts, Some(bt.denial(7).unwrap().ts))
    );
    let halted = &audit[1];
    assert_eq!(halted.reason, detail(1));
    assert_eq!(halted.last_reason.as_deref(), Some(detail(3).as_str()));
}

#[test]
fn a_denial_alone_is_the_entry_it_was_and_a_long_run_is_bounded() {
    use _core::risk::audit::{AuditLog, FOLD_CAP};
    // resumed at bar 1: one HALTED denial, alone: no fold fields
    let bt = greedy(3, 1, 0);
    let one = &bt.risk.audit().entries()[1];
    assert_eq!(
        (one.count, one.last_ts, one.last_reason.as_ref()),
        (1, None, None)
    );
    assert_eq!(one.orders, [1]);
    // FOLD_CAP + 10 account denials in a row: two entries, every order id once, in order
    let n = FOLD_CAP + 10;
    let bt = greedy(n, 0, 0);
    let audit = bt.risk.audit().entries();
    let denials: Vec<_> = audit.iter().filter(|e| e.kind == "denial").collect();
    assert_eq!(
        denials.iter().map(|e| e.count).collect::<Vec<_>>(),
        [FOLD_CAP as u64, 10]
    );
    let ids: Vec<u64> = denials.iter().flat_map(|e| e.orders.clone()).collect();
    assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>());
    AuditLog::verify(audit, None).unwrap();
    // a folded entry edited (its count, its last sentence, one of its ids) is caught
    for edit in 0..3 {
        let mut e = audit.to_vec();
        let k = e.iter().position(|x| x.count == 10).unwrap();
        match edit {
            0 => e[k].count = 9,
            1 => e[k].last_reason = Some("nothing to see".into()),
            _ => e[k].orders[4] += 1,
        }
        assert_eq!(AuditLog::verify(&e, None).unwrap_err().index, k);
    }
}

#[test]
fn the_first_denials_of_a_streak_are_entries_of_their_own_by_default() {
    use _core::risk::audit::{AuditLog, FOLD_CAP, UNFOLDED};
    // UNFOLDED + FOLD_CAP + 5 account denials in a row: UNFOLDED single entries, then a full
    // run and a run of 5; every order id once, in order
    let n = UNFOLDED as usize + FOLD_CAP + 5;
    let bt = greedy(n, 0, UNFOLDED);
    let audit = bt.risk.audit().entries();
    let denials: Vec<_> = audit.iter().filter(|e| e.kind == "denial").collect();
    let counts: Vec<u64> = denials.iter().map(|e| e.count).collect();
    assert_eq!(counts.len(), UNFOLDED as usize + 2);
    assert!(counts[..UNFOLDED as usize].iter().all(|&c| c == 1));
    assert_eq!(counts[UNFOLDED as usize..], [FOLD_CAP as u64, 5]);
    let ids: Vec<u64> = denials.iter().flat_map(|e| e.orders.clone()).collect();
    assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>());
    AuditLog::verify(audit, None).unwrap();
}
