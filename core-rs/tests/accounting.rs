//! The account's rule (`portfolio.rs`, "The account's rule") at its boundaries and over random
//! strategies: a cash account never spends what it does not have nor sells what it does not hold;
//! a margin account never opens beyond its margin; a fill the account cannot carry is cut.
//!
//! Boundary tests build the account and the book by hand (a real `Portfolio`, a real `Orders`);
//! the property tests run random strategies through the bar engine.

use _core::engine::{Backtest, Handler, RunError};
use _core::error::CoreError;
use _core::model::fixed::{Rate, pow10};
use _core::model::{
    Bar, BarColumns, Command, Fill, Instrument, Liquidity, ListKind, OrderEvent, OrderEventKind,
    OrderKind, OrderSpec, Reason, Side, TimeInForce,
};
use _core::portfolio::{Account, Funding, MarginConfig, Portfolio};
use _core::venue::{FillAt, LatencyConfig, Orders, VenueConfig};
use proptest::prelude::*;

use Side::{Buy, Sell};

const M: i128 = pow10(18);

/// Instrument 0 ("X"): integer prices and quantities, tick 5, lot 2, min_qty 4, so a notional of
/// `px × qty` is `px × qty` quote units. Instrument 1 ("Y"): tick = lot = 1.
fn insts() -> Vec<Instrument> {
    vec![
        Instrument::new_checked("X", 0, 0, 5, 2, 4).unwrap(),
        Instrument::new_checked("Y", 0, 0, 1, 1, 1).unwrap(),
    ]
}

struct World {
    insts: Vec<Instrument>,
    pf: Portfolio,
    orders: Orders,
    events: Vec<OrderEvent>,
    fills: Vec<Fill>,
    next_id: u64,
}

impl World {
    /// A cash account holding `cash`; X marked at 1000, Y at 100.
    fn new(cash: i128) -> Self {
        let insts = insts();
        let mut w = Self {
            pf: Portfolio::new(cash * M, insts.len()),
            orders: Orders::new(&insts),
            insts,
            events: Vec::new(),
            fills: Vec::new(),
            next_id: 1_000,
        };
        w.pf.mark(0, 1000, 1000.0);
        w.pf.mark(1, 100, 100.0);
        w
    }

    fn margin(mut self, leverage: f64) -> Self {
        self.pf.set_account(Account::Margin(
            MarginConfig::new(leverage, 0.0, 0.0, Funding::None).unwrap(),
        ));
        self
    }

    /// A working order at the venue; returns its id.
    fn work(&mut self, mut spec: OrderSpec) -> u64 {
        self.next_id += 1;
        spec.id = self.next_id;
        assert!(self.orders.register(spec, 0, 0, &mut self.events));
        assert!(self.orders.accept(self.next_id, 0, None, &mut self.events));
        self.next_id
    }

    fn fill(&mut self, id: u64, qty: i64, px: i64) {
        let i = self.orders.get(id).unwrap().spec.instrument;
        self.orders.apply_fill(
            id,
            px,
            qty,
            Liquidity::Maker,
            0,
            0,
            &mut self.fills,
            &mut self.events,
        );
        let f = self.fills.last().unwrap().clone();
        self.pf.apply(&self.insts[i as usize], &f);
    }

    /// The account's check of `spec` at its own price (or `px` for a market order), `fee` bps.
    fn check(&self, spec: &OrderSpec, px: i64, fee_bps: f64) -> Result<(), (Reason, String)> {
        let px = spec.kind.limit_px().unwrap_or(px);
        self.pf
            .check_order(
                &self.insts,
                spec,
                spec.qty,
                Some(px),
                Rate::from_bps(fee_bps).unwrap(),
                &self.orders,
                None,
            )
            .map_err(|d| (d.reason, d.detail))
    }
}

fn o(i: u32, side: Side, kind: OrderKind, qty: i64) -> OrderSpec {
    OrderSpec::new(1, i, side, kind, qty)
}

fn lim(px: i64) -> OrderKind {
    OrderKind::Limit { px }
}

const MKT: OrderKind = OrderKind::Market;

#[test]
fn a_cash_buy_pays_its_cost_and_fee_from_the_cash_left_by_working_buys() {
    let mut w = World::new(10_000);
    // 10 x 1000 = 10,000 exactly; with a 10 bp fee it is 10,010: refused.
    assert_eq!(w.check(&o(0, Buy, MKT, 10), 1000, 0.0), Ok(()));
    let (r, why) = w.check(&o(0, Buy, MKT, 10), 1000, 10.0).unwrap_err();
    assert_eq!(r, Reason::InsufficientBalance);
    assert_eq!(
        why,
        "buy 10 X at 1000 costs 10010.00 with fees; free balance 10000.00 (cash 10000.00)"
    );
    // Working buys of both instruments reserve their cost: 20 Y at 90 = 1,800, 4 X at 800 = 3,200;
    // a sell reserves no cash. 5,000 left: 4 X at 1250 pass, at 1255 not.
    w.work(o(1, Buy, lim(90), 20));
    w.work(o(0, Buy, lim(800), 4));
    w.work(o(0, Sell, lim(1200), 4));
    assert_eq!(w.check(&o(0, Buy, lim(1250), 4), 0, 0.0), Ok(()));
    assert_eq!(
        w.check(&o(0, Buy, lim(1255), 4), 0, 0.0).unwrap_err().0,
        Reason::InsufficientBalance
    );
    // A working market buy is reserved at the mark: 10 Y x 100 = 1,000 more.
    w.work(o(1, Buy, MKT, 10));
    assert_eq!(w.check(&o(0, Buy, lim(1000), 4), 0, 0.0), Ok(()));
    assert_eq!(
        w.check(&o(0, Buy, lim(1005), 4), 0, 0.0).unwrap_err().0,
        Reason::InsufficientBalance
    );
}

#[test]
fn partial_fills_release_what_they_reserved() {
    let mut w = World::new(10_000);
    let id = w.work(o(0, Buy, lim(1000), 8)); // 8,000 reserved
    assert_eq!(w.check(&o(0, Buy, lim(500), 4), 0, 0.0), Ok(()));
    assert!(w.check(&o(0, Buy, lim(505), 4), 0, 0.0).is_err());
    w.fill(id, 4, 1000); // cash 6,000, 4,000 still reserved
    assert_eq!(w.check(&o(0, Buy, lim(500), 4), 0, 0.0), Ok(()));
    assert!(w.check(&o(0, Buy, lim(505), 4), 0, 0.0).is_err());
    let mut events = Vec::new();
    w.orders.cancel(id, 0, &mut events); // nothing reserved: 6,000 free
    assert_eq!(w.check(&o(0, Buy, lim(1500), 4), 0, 0.0), Ok(()));
    assert!(w.check(&o(0, Buy, lim(1505), 4), 0, 0.0).is_err());
}

#[test]
fn a_cash_sale_needs_the_holdings_and_an_oco_reserves_them_once() {
    let mut w = World::new(100_000);
    let (r, why) = w.check(&o(0, Sell, MKT, 4), 1000, 0.0).unwrap_err();
    assert_eq!(r, Reason::InsufficientHoldings);
    assert_eq!(
        why,
        "sell 4 X but the account holds 0 (a cash account cannot sell short)"
    );
    let id = w.work(o(0, Buy, lim(1000), 10));
    w.fill(id, 10, 1000); // holds 10
    assert_eq!(w.check(&o(0, Sell, MKT, 10), 1000, 0.0), Ok(()));
    assert!(w.check(&o(0, Sell, MKT, 12), 1000, 0.0).is_err());
    // An OCO of two sells of 6 (take-profit above, stop below): one reservation of 6; 4 more can
    // still be sold, 6 more cannot.
    let mut events = Vec::new();
    let specs = vec![
        OrderSpec::new(5_001, 0, Sell, lim(1100), 6),
        OrderSpec::new(5_002, 0, Sell, OrderKind::StopMarket { trigger: 900 }, 6),
    ];
    assert!(
        w.orders
            .register_list(77, ListKind::Oco, specs, 0, 0, &mut events)
    );
    w.orders.accept_list(77, 0, None, &mut events);
    assert_eq!(w.check(&o(0, Sell, MKT, 4), 1000, 0.0), Ok(()));
    let (r, why) = w.check(&o(0, Sell, MKT, 6), 1000, 0.0).unwrap_err();
    assert_eq!(r, Reason::InsufficientHoldings);
    assert_eq!(
        why,
        "sell 6 X but the account holds 10, 6 of it in working sells (a cash account cannot sell short)"
    );
}

#[test]
fn a_margin_account_counts_the_worst_case_of_its_working_orders() {
    // 1,000 at 10x: a buy of 10 X at 1000 needs 1,000 of margin: it passes alone.
    let mut w = World::new(1_000).margin(10.0);
    assert_eq!(w.check(&o(0, Buy, lim(1000), 10), 0, 0.0), Ok(()));
    // With a working buy of 6 at 1000 (600 of margin), 4 more pass and 6 do not.
    w.work(o(0, Buy, lim(1000), 6));
    assert_eq!(w.check(&o(0, Buy, lim(1000), 4), 0, 0.0), Ok(()));
    let (r, _) = w.check(&o(0, Buy, lim(1000), 6), 0, 0.0).unwrap_err();
    assert_eq!(r, Reason::InsufficientMargin);
    // A sell of 10 on the other side: its worst case (10 short, 1,000) is the larger side, not the
    // sum: it passes; 12 do not.
    assert_eq!(w.check(&o(0, Sell, lim(1000), 10), 0, 0.0), Ok(()));
    assert!(w.check(&o(0, Sell, lim(1000), 12), 0, 0.0).is_err());
    // A fee counts: with 10 bp, 10 at 1000 short needs 1,000 + 10 fee + 6 fee of the working buy.
    assert!(w.check(&o(0, Sell, lim(1000), 10), 0, 10.0).is_err());
}

#[test]
fn the_fill_capacity_cuts_what_the_account_cannot_carry() {
    let w = World::new(1_000);
    let inst = &w.insts[0];
    let r = Rate::from_bps(10.0).unwrap();
    // 1,000 of cash at 1000 with a 10 bp fee: 1 unit costs 1,001: 0 fits (the lot is 2).
    assert_eq!(
        w.pf.fill_capacity(inst, 0, Buy, 1000, 2, r),
        (0, Some(Reason::InsufficientBalance))
    );
    // at 100: 8 units cost 800.80, 10 cost 1,001: 8 fit.
    assert_eq!(
        w.pf.fill_capacity(inst, 0, Buy, 100, 10, r),
        (8, Some(Reason::InsufficientBalance))
    );
    assert_eq!(w.pf.fill_capacity(inst, 0, Buy, 100, 8, r), (8, None));
    assert_eq!(
        w.pf.fill_capacity(inst, 0, Sell, 100, 4, r),
        (0, Some(Reason::InsufficientHoldings))
    );
}

// ---- the bar engine: a market buy that gaps up is cut, not overdrawn -------------------------

struct Script(Vec<(usize, Command)>);

impl Handler for Script {
    type Error = CoreError;
    fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        for (at, c) in &self.0 {
            if *at == i {
                bt.submit(c.clone());
            }
        }
        Ok(())
    }
}

fn run(
    bars: &[(f64, f64, f64, f64)],
    cash: f64,
    venue: VenueConfig,
    h: &mut impl Handler<Error = CoreError>,
) -> Backtest {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], venue, cash).unwrap();
    let ts: Vec<i64> = (0..bars.len() as i64).collect();
    let col = |k: usize| -> Vec<f64> { bars.iter().map(|b| [b.0, b.1, b.2, b.3][k]).collect() };
    let (o, h_, l, c) = (col(0), col(1), col(2), col(3));
    let v = vec![1e9; bars.len()];
    let cols = BarColumns {
        ts: &ts,
        open: &o,
        high: &h_,
        low: &l,
        close: &c,
        volume: &v,
        instrument: None,
    };
    match bt.run(&cols, h) {
        Ok(()) => {}
        Err(RunError::Core(e)) => panic!("{e:?}"),
        Err(RunError::Handler(e)) => panic!("{e:?}"),
    }
    bt.finish();
    bt
}

#[test]
fn a_market_buy_that_gaps_up_is_cut_to_what_the_cash_pays_for() {
    // 100 units at 100.00 pass the check at the close (cost 10,000.00 = the cash); the next bar
    // opens at 100.50: 99.502 units is what 10,000 buys there (99.502 x 100.50 = 9,999.951),
    // 99.503 would cost 10,000.0515. The rest is canceled with the account's reason.
    let buy = Command::Submit(OrderSpec::new(1, 0, Buy, OrderKind::Market, 100_000));
    let bars = [
        (100.0, 100.0, 100.0, 100.0),
        (100.5, 100.5, 100.5, 100.5),
        (100.5, 100.5, 100.5, 100.5),
    ];
    let bt = run(
        &bars,
        10_000.0,
        VenueConfig::default(),
        &mut Script(vec![(0, buy)]),
    );
    assert_eq!(bt.fills.len(), 1);
    assert_eq!((bt.fills[0].px, bt.fills[0].qty), (10_050, 99_502));
    assert!(bt.portfolio.cash >= 0);
    assert_eq!(bt.portfolio.cash, 10_000 * M - 9_999_951 * M / 1_000);
    let o = bt.venue.orders.get(1).unwrap();
    assert_eq!(o.reason, Some(Reason::InsufficientBalance));
}

// ---- random strategies -------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Action {
    Submit {
        buy: bool,
        kind: u8,
        qty: i64,
        off_bps: i64,
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
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (any::<bool>(), 0u8..5, 1i64..150_000, -300i64..300, prop::bool::weighted(0.2))
            .prop_map(|(buy, kind, qty, off_bps, ioc)| Action::Submit { buy, kind, qty, off_bps, ioc }),
        1 => (any::<bool>(), 1i64..150_000).prop_map(|(buy, qty)| Action::Bracket { buy, qty }),
        2 => (any::<usize>(), 1i64..200_000, -300i64..300).prop_map(|(pick, qty, off_bps)| Action::Modify { pick, qty, off_bps }),
        2 => any::<usize>().prop_map(|pick| Action::Cancel { pick }),
    ]
}

fn bars_strategy() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    (10usize..50).prop_flat_map(|n| {
        prop::collection::vec((-600i64..600, 0i64..300, 0i64..300), n).prop_map(|steps| {
            let mut px = 10_000i64; // 100.00
            steps
                .into_iter()
                .map(|(d, up, dn)| {
                    let open = (px + d / 3).max(2_000); // gaps as well
                    let close = (open + d).max(2_000);
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

/// Plays `plan[i]` at bar i and checks, after every bar and every command, the account's
/// invariants: on a cash account cash >= 0 and the position >= 0; on a margin account, unless a
/// liquidation happened, equity (cash plus the positions at their marks) never goes below zero.
/// (The margin posted may exceed the wallet after a partial close realizes a loss larger than the
/// margin it releases: isolated margin, as venues keep it; equity is the account's bottom line.)
struct Fuzz {
    plan: Vec<Vec<Action>>,
    margin: bool,
    violations: Vec<String>,
    denied: usize,
    cut: usize,
}

impl Fuzz {
    fn check(&mut self, bt: &Backtest, i: usize, when: &str) {
        let p = &bt.portfolio;
        if self.margin {
            if bt.fills.iter().any(|f| f.liquidation) {
                return;
            }
            let equity = p.equity(&bt.instruments);
            if equity < 0 {
                self.violations.push(format!(
                    "bar {i} {when}: equity {equity} < 0 without a liquidation"
                ));
            }
        } else {
            if p.cash < 0 {
                self.violations
                    .push(format!("bar {i} {when}: cash {} < 0", p.cash));
            }
            if p.positions[0].qty < 0 {
                self.violations.push(format!(
                    "bar {i} {when}: holdings {} < 0",
                    p.positions[0].qty
                ));
            }
        }
    }
}

impl Handler for Fuzz {
    type Error = CoreError;
    fn on_events(&mut self, bt: &mut Backtest) -> Result<(), CoreError> {
        for e in bt.events() {
            match e.kind {
                OrderEventKind::Denied(
                    Reason::InsufficientBalance
                    | Reason::InsufficientHoldings
                    | Reason::InsufficientMargin,
                ) => self.denied += 1,
                OrderEventKind::Canceled(
                    Reason::InsufficientBalance
                    | Reason::InsufficientHoldings
                    | Reason::InsufficientMargin,
                ) => self.cut += 1,
                _ => {}
            }
        }
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> Result<(), CoreError> {
        self.check(bt, i, "at the bar");
        let Some(actions) = self.plan.get(i).cloned() else {
            return Ok(());
        };
        let close = bar.close;
        let px_at = |off: i64| (close + close * off / 10_000).max(1);
        for a in actions {
            let working: Vec<u64> = bt.venue.working_orders().map(|o| o.spec.id).collect();
            let cmd = match a {
                Action::Submit {
                    buy,
                    kind,
                    qty,
                    off_bps,
                    ioc,
                } => {
                    let side = if buy { Buy } else { Sell };
                    let s = side.sign();
                    let kind = match kind {
                        0 => OrderKind::Market,
                        1 => OrderKind::Limit { px: px_at(off_bps) },
                        2 => OrderKind::StopMarket {
                            trigger: px_at(off_bps.abs() * s),
                        },
                        3 => OrderKind::StopLimit {
                            trigger: px_at(off_bps.abs() * s),
                            px: px_at(off_bps.abs() * s + 20 * s),
                        },
                        _ => OrderKind::MarketIfTouched {
                            trigger: px_at(-off_bps.abs() * s),
                        },
                    };
                    let mut spec = OrderSpec::new(bt.next_order_id(), 0, side, kind, qty);
                    if ioc {
                        spec.tif = TimeInForce::Ioc;
                    }
                    Command::Submit(spec)
                }
                Action::Bracket { buy, qty } => {
                    let side = if buy { Buy } else { Sell };
                    let s = side.sign();
                    let entry = OrderSpec::new(bt.next_order_id(), 0, side, OrderKind::Market, qty);
                    let tp = OrderSpec::new(
                        bt.next_order_id(),
                        0,
                        side.opposite(),
                        OrderKind::Limit { px: px_at(200 * s) },
                        qty,
                    );
                    let sl = OrderSpec::new(
                        bt.next_order_id(),
                        0,
                        side.opposite(),
                        OrderKind::StopMarket {
                            trigger: px_at(-200 * s),
                        },
                        qty,
                    );
                    Command::SubmitList {
                        list: bt.next_order_id(),
                        kind: ListKind::Bracket,
                        orders: vec![entry, tp, sl],
                    }
                }
                Action::Modify { pick, qty, off_bps } => {
                    let Some(&id) = working.get(pick % working.len().max(1)) else {
                        continue;
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
                        continue;
                    };
                    Command::Cancel { id }
                }
            };
            bt.submit(cmd);
            self.check(bt, i, "after a command");
        }
        Ok(())
    }
}

fn venue(close: bool, fee_bps: u8, slip_bps: u8, latency_ms: u8) -> VenueConfig {
    let f = _core::model::Bps::from_f64(fee_bps as f64).unwrap();
    VenueConfig {
        fill_at: if close {
            FillAt::Close
        } else {
            FillAt::NextOpen
        },
        fee: f,
        slippage: _core::model::Bps::from_f64(slip_bps as f64).unwrap(),
        latency: LatencyConfig::constant(latency_ms as i64, latency_ms as i64, 0),
        ..VenueConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
    ))]

    /// A cash account over random strategies (market, limit, stop, stop-limit, if-touched orders,
    /// brackets, modifies, cancels; fees, slippage, latency, both fill modes, gaps): its cash and
    /// its holdings never go below zero, after any bar or command.
    #[test]
    fn a_cash_account_never_goes_below_zero(
        bars in bars_strategy(),
        plan in prop::collection::vec(prop::collection::vec(action(), 0..4), 50),
        close in any::<bool>(), fee in 0u8..30, slip in 0u8..30, lat in prop::sample::select(vec![0u8, 0, 1, 2]),
        cash in 100i64..20_000,
    ) {
        let mut f = Fuzz { plan, margin: false, violations: Vec::new(), denied: 0, cut: 0 };
        let bt = run(&bars, cash as f64, venue(close, fee, slip, lat), &mut f);
        prop_assert!(f.violations.is_empty(), "{:?}", f.violations);
        prop_assert!(bt.portfolio.cash >= 0 && bt.portfolio.positions[0].qty >= 0);
        // every fill's account effect reconciles: cash = initial - sum(signed notional) - fees
        let inst = &bt.instruments[0];
        let mut cash_exact = bt.portfolio.initial_cash;
        for fl in &bt.fills {
            let n = inst.notional(fl.px, fl.qty);
            cash_exact += if fl.side == Buy { -n } else { n } - fl.fee;
        }
        prop_assert_eq!(cash_exact, bt.portfolio.cash);
    }

    /// A margin account over the same strategies: unless the liquidation engine closed a position
    /// (a gap through the liquidation price), its equity never goes below zero.
    #[test]
    fn a_margin_account_goes_below_zero_only_through_a_liquidation(
        bars in bars_strategy(),
        plan in prop::collection::vec(prop::collection::vec(action(), 0..4), 50),
        close in any::<bool>(), fee in 0u8..30, slip in 0u8..30,
        lev in prop::sample::select(vec![1.0f64, 2.0, 5.0, 10.0, 20.0]),
        cash in 100i64..20_000,
    ) {
        let mut f = Fuzz { plan, margin: true, violations: Vec::new(), denied: 0, cut: 0 };
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut bt = Backtest::new(vec![inst], venue(close, fee, slip, 0), cash as f64).unwrap();
        bt.portfolio.set_account(Account::Margin(MarginConfig::new(lev, 0.005, 0.0, Funding::None).unwrap()));
        let ts: Vec<i64> = (0..bars.len() as i64).collect();
        let col = |k: usize| -> Vec<f64> { bars.iter().map(|b| [b.0, b.1, b.2, b.3][k]).collect() };
        let (o, h, l, c) = (col(0), col(1), col(2), col(3));
        let v = vec![1e9; bars.len()];
        let cols = BarColumns { ts: &ts, open: &o, high: &h, low: &l, close: &c, volume: &v, instrument: None };
        prop_assert!(bt.run(&cols, &mut f).is_ok());
        bt.finish();
        prop_assert!(f.violations.is_empty(), "{:?}", f.violations);
    }
}

#[test]
fn the_random_strategies_meet_the_rule() {
    // The property tests above must exercise the rule, not pass vacuously: one fixed plan that
    // buys beyond the cash and sells beyond the holdings gets denials and a cut.
    let bars: Vec<(f64, f64, f64, f64)> = (0..10)
        .map(|k| {
            let p = 100.0 + k as f64;
            (p, p + 1.0, p - 1.0, p + 0.5)
        })
        .collect();
    let mut plan = vec![Vec::new(); 10];
    plan[0] = vec![Action::Submit {
        buy: true,
        kind: 0,
        qty: 99_000,
        off_bps: 0,
        ioc: false,
    }];
    plan[3] = vec![Action::Submit {
        buy: false,
        kind: 0,
        qty: 150_000,
        off_bps: 0,
        ioc: false,
    }];
    plan[4] = vec![Action::Submit {
        buy: true,
        kind: 0,
        qty: 120_000,
        off_bps: 0,
        ioc: false,
    }];
    let mut f = Fuzz {
        plan,
        margin: false,
        violations: Vec::new(),
        denied: 0,
        cut: 0,
    };
    let bt = run(&bars, 10_000.0, venue(false, 10, 0, 0), &mut f);
    assert!(f.violations.is_empty(), "{:?}", f.violations);
    assert!(f.denied >= 2, "denials {}", f.denied);
    assert!(f.cut >= 1, "cuts {}", f.cut);
    assert!(bt.portfolio.cash >= 0);
}
