//! The margin account through the bar engine: liquidation, order cancels, funding, margin checks.

use _core::engine::{Backtest, Handler};
use _core::error::CoreError;
use _core::model::fixed::{Rate, pow10};
use _core::model::{
    Bar, BarColumns, Command, Instrument, OrderEventKind, OrderKind, OrderSpec, Reason, Side,
};
use _core::portfolio::{Account, FUNDING_8H_NS, Funding, MarginConfig};
use _core::venue::VenueConfig;

const M: i128 = pow10(_core::model::MONEY_DP);

/// Submits `orders[k]` at bar `k`; records every event it sees.
struct Script {
    orders: Vec<(usize, Side, OrderKind, i64)>,
    seen: Vec<(u64, OrderEventKind)>,
}

impl Handler for Script {
    type Error = CoreError;
    fn on_events(&mut self, bt: &mut Backtest) -> Result<(), CoreError> {
        self.seen.extend(bt.events().iter().map(|e| (e.id, e.kind)));
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
        for &(at, side, kind, qty) in &self.orders {
            if at == i {
                let id = bt.next_order_id();
                bt.submit(Command::Submit(OrderSpec::new(id, 0, side, kind, qty)));
            }
        }
        Ok(())
    }
}

fn run(
    account: Account,
    bars: &[(i64, f64, f64, f64, f64)],
    orders: Vec<(usize, Side, OrderKind, i64)>,
) -> (Backtest, Script) {
    let inst = Instrument::new("X", 2, 3).unwrap();
    let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1000.0).unwrap();
    bt.portfolio.set_account(account);
    let ts: Vec<i64> = bars.iter().map(|b| b.0).collect();
    let o: Vec<f64> = bars.iter().map(|b| b.1).collect();
    let h: Vec<f64> = bars.iter().map(|b| b.2).collect();
    let l: Vec<f64> = bars.iter().map(|b| b.3).collect();
    let c: Vec<f64> = bars.iter().map(|b| b.4).collect();
    let v = vec![1.0; bars.len()];
    let cols = BarColumns {
        ts: &ts,
        open: &o,
        high: &h,
        low: &l,
        close: &c,
        volume: &v,
        instrument: None,
    };
    let mut s = Script {
        orders,
        seen: Vec::new(),
    };
    bt.run(&cols, &mut s).unwrap();
    bt.finish();
    (bt, s)
}

#[test]
fn long_is_liquidated_and_its_orders_canceled() {
    let acct = Account::Margin(MarginConfig::new(10.0, 0.005, 0.0, Funding::None).unwrap());
    // Buy 2 at bar 0 → fills at bar 1's open 100.00; a resting sell limit at 120 stays open.
    // LP = 100 × 0.9 / 0.995 = 90.4522… → 90.45. Bar 2's low 90.46 is safe, bar 3's 90.40 is not.
    let bars = [
        (1, 99.0, 99.0, 99.0, 99.0),
        (2, 100.0, 101.0, 99.0, 100.0),
        (3, 95.0, 96.0, 90.46, 91.0),
        (4, 91.0, 92.0, 90.40, 91.5),
        (5, 91.5, 93.0, 91.0, 92.0),
    ];
    let orders = vec![
        (0, Side::Buy, OrderKind::Market, 2_000),
        (0, Side::Sell, OrderKind::Limit { px: 12_000 }, 2_000),
    ];
    let (bt, s) = run(acct, &bars, orders);
    assert_eq!(bt.fills.len(), 2);
    let liq = &bt.fills[1];
    assert!(liq.liquidation);
    assert_eq!(
        (liq.ts, liq.px, liq.qty, liq.side),
        (4, 9_045, 2_000, Side::Sell)
    );
    assert_eq!(bt.portfolio.positions[0].qty, 0);
    assert!(bt.venue.working_orders().next().is_none());
    assert!(
        s.seen
            .contains(&(2, OrderEventKind::Canceled(Reason::Liquidation)))
    );
    assert!(
        s.seen
            .contains(&(0, OrderEventKind::Filled { fill_index: 1 }))
    );
    // Cash: 1000 - 200 + 180.90 = 980.90 exactly; equity the same (flat).
    assert_eq!(bt.portfolio.cash, 98_090 * M / 100);
    assert_eq!(bt.portfolio.wallet(), bt.portfolio.cash);
    // The equity curve saw every bar (no fast path while the margin position was open).
    assert_eq!(bt.curve.equity.len(), 5);
}

#[test]
fn orders_beyond_free_margin_are_denied() {
    let acct = Account::Margin(MarginConfig::new(2.0, 0.01, 0.0, Funding::None).unwrap());
    // 1000 cash at 2x: 20 units @ 100 need 1000.00 (ok); 21 would need 1050.00.
    let bars = [
        (1, 100.0, 100.0, 100.0, 100.0),
        (2, 100.0, 100.0, 100.0, 100.0),
    ];
    let orders = vec![
        (0, Side::Buy, OrderKind::Market, 21_000),
        (0, Side::Buy, OrderKind::Market, 20_000),
    ];
    let (bt, s) = run(acct, &bars, orders);
    assert_eq!(
        s.seen[0],
        (1, OrderEventKind::Denied(Reason::InsufficientMargin))
    );
    assert_eq!(bt.fills.len(), 1);
    assert_eq!(bt.fills[0].qty, 20_000);
    assert_eq!(bt.portfolio.positions[0].margin, 1000 * M);
    assert_eq!(bt.portfolio.free_margin(), 0);
}

#[test]
fn funding_through_the_engine() {
    let h = 3600 * 1_000_000_000i64;
    let funding = Funding::Constant {
        rate: Rate::from_fraction(0.0001).unwrap(),
        interval_ns: FUNDING_8H_NS,
    };
    let acct = Account::Margin(MarginConfig::new(5.0, 0.01, 0.0, funding).unwrap());
    // Short 3 from the 07:00 bar's open (100.00); the 08:00 bar opens at 102.00: receive
    // 3 × 102 × 0.0001 = 0.0306. The 16:00 bar opens at 101.00: receive 0.0303.
    let bars = [
        (6 * h, 100.0, 100.0, 100.0, 100.0),
        (7 * h, 100.0, 100.0, 100.0, 100.0),
        (8 * h, 102.0, 102.0, 102.0, 102.0),
        (12 * h, 101.0, 101.0, 101.0, 101.0),
        (16 * h, 101.0, 101.0, 101.0, 101.0),
    ];
    let (bt, _) = run(acct, &bars, vec![(0, Side::Sell, OrderKind::Market, 3_000)]);
    let paid: Vec<i128> = bt.portfolio.funding.iter().map(|f| f.amount).collect();
    assert_eq!(paid, vec![-306 * M / 10_000, -303 * M / 10_000]);
    assert_eq!(bt.portfolio.wallet(), 1000 * M + 609 * M / 10_000);
}

mod reconcile {
    use super::*;
    use _core::model::{Fill, Liquidity};
    use _core::portfolio::Portfolio;
    use proptest::prelude::*;

    fn step() -> impl Strategy<Value = (bool, i64, i64, i64, bool)> {
        // (buy?, qty raw, price raw, fee raw money/1e10, funding bar?)
        (
            any::<bool>(),
            1i64..5_000,
            5_000i64..15_000,
            0i64..1_000_000,
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 2_000 }))]

        /// Whatever the fills and funding: wallet = initial + realized − fees − funding, exactly;
        /// cash moves by exactly ±notional − fee − funding; margin is posted only while a position
        /// is open and never negative; fees and funding reconcile with the lists.
        #[test]
        fn cash_margin_fees_funding_reconcile(steps in prop::collection::vec(step(), 1..60), lev in 1u32..50) {
            let inst = Instrument::new("X", 2, 3).unwrap();
            let funding = Funding::Constant { rate: Rate::from_bps(1.5).unwrap(), interval_ns: 10 };
            let mut p = Portfolio::new(1_000_000 * M, 1);
            let cfg = MarginConfig::new(lev as f64, 0.001, 0.0, funding).unwrap();
            let imr = Rate::from(cfg.imr);
            p.set_account(Account::Margin(cfg));
            let mut cash = p.cash;
            for (k, &(buy, qty, px, fee, fund)) in steps.iter().enumerate() {
                let ts = k as i64 * 10;
                if fund {
                    let bar = Bar { instrument: 0, ts, open: px, high: px, low: px, close: px, volume: 1.0 };
                    let before = p.funding_paid;
                    p.on_bar_open(&inst, &bar);
                    cash -= p.funding_paid - before;
                }
                let side = if buy { Side::Buy } else { Side::Sell };
                let fee = fee as i128 * 10_000_000_000;
                let f = Fill { ts, order_id: k as u64 + 1, instrument: 0, side, px, qty, fee,
                    liquidity: Liquidity::Taker, liquidation: false };
                p.apply(&inst, &f);
                let n = inst.notional(px, qty);
                cash += if buy { -n - fee } else { n - fee };
                prop_assert_eq!(p.cash, cash);
                let pos = &p.positions[0];
                prop_assert_eq!(p.wallet(), p.initial_cash + pos.realized - p.fees - p.funding_paid);
                prop_assert!(pos.margin >= 0);
                prop_assert_eq!(pos.margin == 0, pos.qty == 0 || pos.cost == 0);
                prop_assert_eq!(p.funding.iter().map(|x| x.amount).sum::<i128>(), p.funding_paid);
                // The margin stays IMR × cost, up to one money unit of rounding per fill.
                let want = imr.charge(pos.cost.abs());
                prop_assert!((pos.margin - want).abs() <= steps.len() as i128, "{} vs {}", pos.margin, want);
            }
        }
    }
}

/// Liquidation takes its place on the intrabar path: what the path reaches first trades first.
/// Long 2 from 100.00 at 10x (LP 90.45), with a take-profit at 104 and/or a stop at 92.
fn path_case(bar: (i64, f64, f64, f64, f64), take_profit: bool, stop: bool) -> Backtest {
    let acct = Account::Margin(MarginConfig::new(10.0, 0.005, 0.0, Funding::None).unwrap());
    let bars = [
        (1, 99.0, 99.0, 99.0, 99.0),
        (2, 100.0, 100.5, 99.5, 100.0),
        bar,
    ];
    let mut orders = vec![(0, Side::Buy, OrderKind::Market, 2_000)];
    if take_profit {
        orders.push((1, Side::Sell, OrderKind::Limit { px: 10_400 }, 2_000));
    }
    if stop {
        orders.push((
            1,
            Side::Sell,
            OrderKind::StopMarket { trigger: 9_200 },
            2_000,
        ));
    }
    run(acct, &bars, orders).0
}

#[test]
fn liquidation_comes_before_a_take_profit_the_path_reaches_later() {
    // Low first (100 → 90 is nearer than 100 → 111): liquidated at 90.45; the take-profit at 104
    // (reached later, on the way up) never trades.
    let bt = path_case((3, 100.0, 111.0, 90.0, 101.0), true, false);
    assert_eq!(bt.fills.len(), 2, "{:?}", bt.fills);
    assert!(bt.fills[1].liquidation && bt.fills[1].px == 9_045);
    assert!(bt.venue.working_orders().next().is_none());
    // High first (100 → 104.5 is nearer than 100 → 90): the take-profit closes the long first and
    // there is nothing left to liquidate.
    let bt = path_case((3, 100.0, 104.5, 90.0, 95.0), true, false);
    assert_eq!(bt.fills.len(), 2, "{:?}", bt.fills);
    assert!(!bt.fills[1].liquidation && bt.fills[1].px == 10_400);
    assert_eq!(bt.portfolio.positions[0].qty, 0);
}

#[test]
fn a_protective_stop_above_the_liquidation_price_fills_first() {
    // Low first: the path passes the stop at 92 before the liquidation price 90.45.
    let bt = path_case((3, 100.0, 111.0, 90.0, 101.0), false, true);
    assert_eq!(bt.fills.len(), 2, "{:?}", bt.fills);
    assert!(!bt.fills[1].liquidation && bt.fills[1].px == 9_200);
    assert_eq!(bt.portfolio.positions[0].qty, 0);
    // A gap through both: the stop fills at the open, nothing is left to liquidate.
    let bt = path_case((3, 89.0, 90.0, 88.0, 89.5), false, true);
    assert_eq!(bt.fills.len(), 2, "{:?}", bt.fills);
    assert!(!bt.fills[1].liquidation && bt.fills[1].px == 8_900);
}
