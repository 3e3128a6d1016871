//! The pre-trade checks at their boundaries: for every check, the order exactly at the limit
//! passes and the one a lot / tick / unit beyond is denied with its reason. The views are built
//! from a real `Portfolio` (positions from fills, marks) and a real `Orders` (working orders
//! registered and accepted), as the engine builds them.
//!
//! Instrument 0 ("X"): integer prices and quantities, tick 5, lot 2, min_qty 4, so one money unit
//! of the account is `1e18` raw money (see `m`). Instrument 1 ("Y"): tick = lot = 1.

use _core::model::{
    Fill, Instrument, Liquidity, OrderEvent, OrderKind, OrderSpec, Side, TrailingOffset,
};
use _core::portfolio::{Account, Funding, MarginConfig, Portfolio};
use _core::risk::bucket::{RateLimit, TokenBucket};
use _core::risk::checks::{
    InstrumentLimits, RiskLimits, check_modify, check_order, explain_modify, explain_order,
    explain_rate, reduces_exposure,
};
use _core::risk::{RiskReason, RiskView};
use _core::venue::Orders;
use proptest::prelude::*;

use RiskReason as R;
use Side::{Buy, Sell};

/// Money units of `x` quote-currency units.
fn m(x: i128) -> i128 {
    x * 1_000_000_000_000_000_000
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
    /// A cash account holding `cash` quote units; both instruments marked (X at 1000, Y at 100).
    fn new(cash: i128) -> Self {
        let insts = vec![
            Instrument::new_checked("X", 0, 0, 5, 2, 4).unwrap(),
            Instrument::new_checked("Y", 0, 0, 1, 1, 1).unwrap(),
        ];
        let mut w = Self {
            pf: Portfolio::new(m(cash), insts.len()),
            orders: Orders::new(&insts),
            insts,
            events: Vec::new(),
            fills: Vec::new(),
            next_id: 1_000,
        };
        w.mark(0, 1000);
        w.mark(1, 100);
        w
    }

    fn margin(mut self, leverage: f64) -> Self {
        self.pf.set_account(Account::Margin(
            MarginConfig::new(leverage, 0.0, 0.0, Funding::None).unwrap(),
        ));
        self
    }

    fn mark(&mut self, i: u32, px: i64) {
        self.pf.mark(i, px, px as f64);
    }

    /// A fill of `qty` at `px` (no fee) on instrument `i`: the position the checks see.
    fn trade(&mut self, i: u32, side: Side, qty: i64, px: i64) {
        let f = Fill {
            ts: 0,
            order_id: 0,
            instrument: i,
            side,
            px,
            qty,
            fee: 0,
            liquidity: Liquidity::Taker,
            liquidation: false,
        };
        self.pf.apply(&self.insts[i as usize], &f);
        let pos = self.pf.positions[i as usize].qty;
        self.orders.set_position(i, pos);
    }

    /// A working order at the venue (registered and accepted); returns its id.
    fn work(&mut self, mut spec: OrderSpec) -> u64 {
        self.next_id += 1;
        spec.id = self.next_id;
        assert!(self.orders.register(spec, 0, 0, &mut self.events));
        assert!(
            self.orders.accept(self.next_id, 0, None, &mut self.events),
            "{:?}",
            self.events.last()
        );
        self.next_id
    }

    fn fill(&mut self, id: u64, qty: i64, px: i64) {
        let (i, side) = {
            let o = self.orders.get(id).unwrap();
            (o.spec.instrument, o.spec.side)
        };
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
        assert_eq!(self.pf.positions[i as usize].qty, self.orders.position(i));
        let _ = side;
    }

    fn view(&self) -> RiskView<'_> {
        RiskView {
            ts: 0,
            instruments: &self.insts,
            portfolio: &self.pf,
            orders: &self.orders,
            confidence: &[],
            last_data_ts: &[],
        }
    }

    fn check(&self, l: &RiskLimits, spec: &OrderSpec) -> Result<(), RiskReason> {
        check_order(l, spec, &self.view())
    }

    /// The order is denied for `want`; its sentence.
    fn why(&self, l: &RiskLimits, spec: &OrderSpec, want: RiskReason) -> String {
        assert_eq!(self.check(l, spec), Err(want), "{spec:?}");
        explain_order(l, spec, &self.view(), want)
    }
}

fn o(side: Side, kind: OrderKind, qty: i64) -> OrderSpec {
    OrderSpec::new(1, 0, side, kind, qty)
}

fn on(i: u32, side: Side, kind: OrderKind, qty: i64) -> OrderSpec {
    OrderSpec::new(1, i, side, kind, qty)
}

fn lim(px: i64) -> OrderKind {
    OrderKind::Limit { px }
}

const MKT: OrderKind = OrderKind::Market;

/// No numeric limit: only the structural checks. (The balance is the account's rule, tested in
/// `accounting.rs`.)
fn open_limits() -> RiskLimits {
    RiskLimits::default()
}

fn with_inst(l: InstrumentLimits) -> RiskLimits {
    RiskLimits {
        instruments: vec![l],
        ..open_limits()
    }
}

// ---- instrument and precision ------------------------------------------------------------

#[test]
fn unknown_instrument() {
    let w = World::new(1_000_000);
    let l = open_limits();
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 1)), Ok(()));
    assert_eq!(w.check(&l, &on(2, Buy, MKT, 1)), Err(R::UnknownInstrument));
}

#[test]
fn price_precision_of_limit_trigger_activation_and_offsets() {
    let w = World::new(1_000_000);
    let l = open_limits();
    let ok = |k| w.check(&l, &o(Buy, k, 4));
    assert_eq!(ok(lim(1005)), Ok(()));
    assert_eq!(ok(lim(1006)), Err(R::PricePrecision));
    assert_eq!(ok(OrderKind::StopMarket { trigger: 1010 }), Ok(()));
    assert_eq!(
        ok(OrderKind::StopMarket { trigger: 1011 }),
        Err(R::PricePrecision)
    );
    assert_eq!(
        ok(OrderKind::StopLimit {
            trigger: 1010,
            px: 1012
        }),
        Err(R::PricePrecision)
    );
    let trail = |activation, offset| OrderKind::TrailingStopMarket { offset, activation };
    assert_eq!(ok(trail(Some(995), TrailingOffset::Price(10))), Ok(()));
    assert_eq!(
        ok(trail(Some(996), TrailingOffset::Price(10))),
        Err(R::PricePrecision)
    );
    assert_eq!(
        ok(trail(None, TrailingOffset::Price(12))),
        Err(R::PricePrecision)
    );
    // a price of zero or below is below the smallest price there is
    assert_eq!(ok(lim(0)), Err(R::PriceBelowMin));
    assert_eq!(ok(lim(-5)), Err(R::PriceBelowMin));
}

#[test]
fn quantity_precision_and_minimum() {
    let w = World::new(1_000_000);
    let l = open_limits();
    assert_eq!(w.check(&l, &o(Buy, MKT, 6)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 7)), Err(R::QuantityPrecision));
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 2)), Err(R::QuantityBelowMin));
    assert_eq!(w.check(&l, &o(Buy, MKT, 0)), Err(R::QuantityBelowMin));
    assert_eq!(w.check(&l, &o(Buy, MKT, -4)), Err(R::QuantityBelowMin));
}

#[test]
fn instrument_max_qty() {
    let w = World::new(1_000_000);
    let l = with_inst(InstrumentLimits {
        max_qty: Some(10),
        ..Default::default()
    });
    assert_eq!(w.check(&l, &o(Sell, MKT, 10)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 12)), Err(R::QuantityAboveMax));
}

#[test]
fn instrument_min_and_max_price() {
    let w = World::new(1_000_000);
    let l = with_inst(InstrumentLimits {
        min_price: Some(900),
        max_price: Some(1100),
        ..Default::default()
    });
    let c = |k| w.check(&l, &o(Buy, k, 4));
    assert_eq!(c(lim(900)), Ok(()));
    assert_eq!(c(lim(895)), Err(R::PriceBelowMin));
    assert_eq!(c(lim(1100)), Ok(()));
    assert_eq!(c(lim(1105)), Err(R::PriceAboveMax));
    assert_eq!(
        c(OrderKind::StopMarket { trigger: 1105 }),
        Err(R::PriceAboveMax)
    );
    assert_eq!(
        c(OrderKind::MarketIfTouched { trigger: 895 }),
        Err(R::PriceBelowMin)
    );
    assert_eq!(c(MKT), Ok(()));
}

#[test]
fn instrument_min_notional_at_the_order_price_or_the_mark() {
    let w = World::new(1_000_000);
    let l = with_inst(InstrumentLimits {
        min_notional: Some(m(4_000)),
        ..Default::default()
    });
    assert_eq!(w.check(&l, &o(Buy, lim(1000), 4)), Ok(())); // exactly 4000
    assert_eq!(w.check(&l, &o(Buy, lim(995), 4)), Err(R::NotionalBelowMin));
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Ok(())); // at the mark 1000
    let mut w = w;
    w.mark(0, 995);
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Err(R::NotionalBelowMin));
}

// ---- reduce-only --------------------------------------------------------------------------

#[test]
fn reduce_only_counts_working_reduce_only_orders() {
    let mut w = World::new(1_000_000);
    let l = open_limits();
    let ro = |side, qty| OrderSpec {
        reduce_only: true,
        ..o(side, MKT, qty)
    };
    // flat: nothing to reduce
    assert_eq!(w.check(&l, &ro(Sell, 4)), Err(R::ReduceOnly));
    w.trade(0, Buy, 10, 1000);
    assert_eq!(w.check(&l, &ro(Sell, 10)), Ok(()));
    assert_eq!(w.check(&l, &ro(Sell, 12)), Err(R::ReduceOnly)); // would flip
    assert_eq!(w.check(&l, &ro(Buy, 4)), Err(R::ReduceOnly)); // would grow
    // a working reduce-only sell of 6 leaves 4 to reduce
    w.work(OrderSpec {
        reduce_only: true,
        ..o(Sell, lim(1100), 6)
    });
    assert_eq!(w.check(&l, &ro(Sell, 4)), Ok(()));
    assert_eq!(w.check(&l, &ro(Sell, 6)), Err(R::ReduceOnly));
    // a plain (not reduce-only) working sell does not count against reduce-only orders
    w.work(o(Sell, lim(1200), 4));
    assert_eq!(w.check(&l, &ro(Sell, 4)), Ok(()));
}

// ---- price band --------------------------------------------------------------------------

#[test]
fn price_band_around_the_mark() {
    let mut w = World::new(1_000_000);
    let l = RiskLimits {
        price_band_bps: Some(500.0), // 5% of 1000 = 50
        ..open_limits()
    };
    let c = |w: &World, k| w.check(&l, &o(Buy, k, 4));
    assert_eq!(c(&w, lim(1050)), Ok(()));
    assert_eq!(c(&w, lim(1055)), Err(R::PriceBand));
    assert_eq!(c(&w, lim(950)), Ok(()));
    assert_eq!(c(&w, lim(945)), Err(R::PriceBand));
    assert_eq!(c(&w, OrderKind::StopMarket { trigger: 1050 }), Ok(()));
    assert_eq!(
        c(&w, OrderKind::StopMarket { trigger: 1055 }),
        Err(R::PriceBand)
    );
    assert_eq!(
        c(
            &w,
            OrderKind::StopLimit {
                trigger: 1000,
                px: 1055
            }
        ),
        Err(R::PriceBand)
    );
    assert_eq!(c(&w, MKT), Ok(()));
    // fractional bps, exactly: 2.5 bp of 100_000 = 25
    w.mark(0, 100_000);
    let l = RiskLimits {
        price_band_bps: Some(2.5),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Sell, lim(100_025), 4)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, lim(100_030), 4)), Err(R::PriceBand));
    assert_eq!(w.check(&l, &o(Sell, lim(99_975), 4)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, lim(99_970), 4)), Err(R::PriceBand));
    // no mark yet: no band
    w.mark(0, 0);
    assert_eq!(w.check(&l, &o(Sell, lim(5_000_000), 4)), Ok(()));
}

// ---- max notional ------------------------------------------------------------------------

#[test]
fn max_notional_at_the_limit_price_or_the_mark() {
    let w = World::new(1_000_000);
    let l = RiskLimits {
        max_notional: Some(m(10_000)),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Buy, MKT, 10)), Ok(())); // 10 × 1000
    assert_eq!(w.check(&l, &o(Buy, MKT, 12)), Err(R::MaxNotional));
    assert_eq!(w.check(&l, &o(Sell, lim(1250), 8)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, lim(1255), 8)), Err(R::MaxNotional));
    assert_eq!(
        w.check(&l, &o(Sell, OrderKind::StopMarket { trigger: 1255 }, 8)),
        Err(R::MaxNotional)
    );
}

// ---- max position ------------------------------------------------------------------------

fn max_pos(n: i64) -> RiskLimits {
    with_inst(InstrumentLimits {
        max_position: Some(n),
        ..Default::default()
    })
}

#[test]
fn max_position_counts_working_orders_on_the_same_side() {
    let mut w = World::new(1_000_000);
    let l = max_pos(20);
    w.trade(0, Buy, 8, 1000);
    assert_eq!(w.check(&l, &o(Buy, MKT, 12)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 14)), Err(R::MaxPosition));
    w.work(o(Buy, lim(900), 4)); // 8 + 4 working
    assert_eq!(w.check(&l, &o(Buy, MKT, 8)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 10)), Err(R::MaxPosition));
    // the short side: 8 − 28 = −20
    assert_eq!(w.check(&l, &o(Sell, MKT, 28)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 30)), Err(R::MaxPosition));
    // a working sell counts on the sell side only
    w.work(o(Sell, lim(1100), 6));
    assert_eq!(w.check(&l, &o(Sell, MKT, 22)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 24)), Err(R::MaxPosition));
    assert_eq!(w.check(&l, &o(Buy, MKT, 8)), Ok(()));
}

#[test]
fn a_reducing_order_passes_a_lowered_position_limit() {
    let mut w = World::new(1_000_000);
    w.trade(0, Buy, 30, 1000);
    let l = max_pos(20); // lowered below the position
    assert_eq!(w.check(&l, &o(Sell, MKT, 4)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 30)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Err(R::MaxPosition));
    // a flip may not leave a larger position than it found beyond the limit: 30 → −30 passes,
    // 30 → −32 does not
    assert_eq!(w.check(&l, &o(Sell, MKT, 60)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 62)), Err(R::MaxPosition));
    // within the limit a flip is held to it: from 10, −20 passes, −22 does not
    w.trade(0, Sell, 20, 1000);
    assert_eq!(w.check(&l, &o(Sell, MKT, 30)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 32)), Err(R::MaxPosition));
}

// ---- exposure: concentration, gross, net, leverage ----------------------------------------

#[test]
fn concentration_of_one_instrument_in_equity() {
    let mut w = World::new(100_000);
    let l = RiskLimits {
        max_concentration: Some(0.3), // 30_000 of 100_000
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Buy, MKT, 30)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 32)), Err(R::Concentration));
    assert_eq!(w.check(&l, &o(Sell, lim(1500), 20)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, lim(1505), 20)), Err(R::Concentration));
    // a position and a working order count; equity moves with the marks
    w.trade(0, Buy, 10, 1000); // equity still 100_000
    w.work(o(Buy, lim(500), 20)); // 10 × 1000 + 20 × 500 = 20_000
    assert_eq!(w.check(&l, &o(Buy, MKT, 10)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 12)), Err(R::Concentration));
    w.trade(1, Buy, 200, 100); // Y: equity unchanged, X concentration unchanged
    assert_eq!(w.check(&l, &o(Buy, MKT, 10)), Ok(()));
    w.mark(1, 50); // equity 90_000: X may hold 27_000
    assert_eq!(w.check(&l, &o(Buy, MKT, 6)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 8)), Err(R::Concentration));
    // Y itself: 200 × 50 = 10_000 of 90_000; up to 27_000 → 340 more
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 340)), Ok(()));
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 341)), Err(R::Concentration));
}

#[test]
fn gross_exposure_over_instruments() {
    let mut w = World::new(100_000);
    let l = RiskLimits {
        max_gross_exposure: Some(m(50_000)),
        ..open_limits()
    };
    w.trade(1, Sell, 100, 100); // Y short 10_000
    assert_eq!(w.check(&l, &o(Buy, MKT, 40)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 42)), Err(R::GrossExposure));
    // a short on X adds to the gross as much as a long
    assert_eq!(w.check(&l, &o(Sell, MKT, 40)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 42)), Err(R::GrossExposure));
    // reducing the Y short always passes; flipping it is checked
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 100)), Ok(()));
    w.trade(0, Buy, 40, 1000); // gross 50_000: at the limit
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 100)), Ok(()));
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 200)), Ok(())); // flips to +100: gross unchanged
    assert_eq!(w.check(&l, &on(1, Buy, MKT, 201)), Err(R::GrossExposure));
}

#[test]
fn net_exposure_nets_longs_and_shorts() {
    let mut w = World::new(100_000);
    let l = RiskLimits {
        max_net_exposure: Some(m(20_000)),
        ..open_limits()
    };
    w.trade(1, Sell, 100, 100); // Y short 10_000
    assert_eq!(w.check(&l, &o(Buy, MKT, 30)), Ok(())); // +30_000 − 10_000
    assert_eq!(w.check(&l, &o(Buy, MKT, 32)), Err(R::NetExposure));
    assert_eq!(w.check(&l, &o(Sell, MKT, 10)), Ok(())); // −10_000 − 10_000
    assert_eq!(w.check(&l, &o(Sell, MKT, 12)), Err(R::NetExposure));
}

#[test]
fn leverage_is_gross_after_the_order_over_equity() {
    let mut w = World::new(10_000).margin(5.0);
    let l = RiskLimits {
        max_leverage: Some(2.5), // 25_000
        ..RiskLimits::default()  // balance check on, but a margin account skips it
    };
    assert_eq!(w.check(&l, &o(Buy, MKT, 24)), Ok(()));
    assert_eq!(w.check(&l, &o(Buy, MKT, 26)), Err(R::Leverage));
    w.trade(1, Buy, 50, 100); // 5_000 of Y
    assert_eq!(w.check(&l, &o(Sell, MKT, 20)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 22)), Err(R::Leverage));
    // a loss shrinks the equity and so the room: Y at 80: equity 9_000, cap 22_500, Y 4_000
    w.mark(1, 80);
    assert_eq!(w.check(&l, &o(Sell, lim(1850), 10)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, lim(1855), 10)), Err(R::Leverage));
    // no equity: no exposure at all, but reducing still passes
    w.mark(1, 0);
    w.pf.cash = -m(1);
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Err(R::Leverage));
    assert_eq!(w.check(&l, &on(1, Sell, MKT, 50)), Ok(()));
}

#[test]
fn reducing_orders_skip_the_exposure_limits() {
    let mut w = World::new(10_000).margin(10.0);
    w.trade(0, Buy, 50, 1000); // 50_000 on 10_000: 5x
    let l = RiskLimits {
        max_leverage: Some(2.0),
        max_concentration: Some(0.5),
        max_gross_exposure: Some(m(1_000)),
        max_net_exposure: Some(m(1_000)),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Sell, MKT, 50)), Ok(()));
    // flipping is not reducing, but a flip to a smaller short does not grow any exposure
    assert_eq!(w.check(&l, &o(Sell, MKT, 52)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 100)), Ok(()));
    assert_eq!(w.check(&l, &o(Sell, MKT, 102)), Err(R::Concentration));
    assert_eq!(w.check(&l, &o(Buy, MKT, 4)), Err(R::Concentration));
}

#[test]
fn absurd_quantities_are_denied_not_wrapped() {
    let mut w = World::new(1_000);
    w.mark(0, i64::MAX / 5 * 5);
    let huge = i64::MAX - 1; // a multiple of the lot (2)
    let l = RiskLimits {
        max_notional: Some(m(1_000_000)),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Buy, MKT, huge)), Err(R::MaxNotional));
    let l = RiskLimits {
        max_leverage: Some(1.0),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Sell, MKT, huge)), Err(R::Leverage));
    let l = RiskLimits {
        max_net_exposure: Some(m(1)),
        ..open_limits()
    };
    assert_eq!(w.check(&l, &o(Sell, MKT, huge)), Err(R::NetExposure));
}

// ---- the order of the checks -------------------------------------------------------------

#[test]
fn the_first_failing_check_names_the_denial() {
    let w = World::new(1_000);
    let l = RiskLimits {
        instruments: vec![InstrumentLimits {
            max_position: Some(4),
            max_qty: Some(100),
            ..Default::default()
        }],
        price_band_bps: Some(100.0),
        max_notional: Some(m(10_000)),
        ..RiskLimits::default()
    };
    // everything wrong at once: precision comes first
    assert_eq!(w.check(&l, &o(Buy, lim(2003), 101)), Err(R::PricePrecision));
    assert_eq!(
        w.check(&l, &o(Buy, lim(2000), 101)),
        Err(R::QuantityPrecision)
    );
    assert_eq!(
        w.check(&l, &o(Buy, lim(2000), 102)),
        Err(R::QuantityAboveMax)
    );
    assert_eq!(w.check(&l, &o(Buy, lim(2000), 10)), Err(R::PriceBand));
    assert_eq!(w.check(&l, &o(Buy, lim(1010), 10)), Err(R::MaxNotional));
    assert_eq!(w.check(&l, &o(Buy, lim(1010), 6)), Err(R::MaxPosition));
}

// ---- modify ------------------------------------------------------------------------------

#[test]
fn modify_checks_the_order_as_it_would_become_counted_once() {
    let mut w = World::new(100_000);
    let l = RiskLimits {
        instruments: vec![InstrumentLimits {
            max_position: Some(20),
            ..Default::default()
        }],
        price_band_bps: Some(500.0),
        ..RiskLimits::default()
    };
    let id = w.work(o(Buy, lim(1000), 12));
    w.work(o(Buy, lim(990), 4));
    let ord = w.orders.get(id).unwrap().clone();
    let c = |w: &World, q, px| check_modify(&l, &ord, q, px, None, &w.view());
    // its own 12 are not counted twice: 4 + 16 = 20
    assert_eq!(c(&w, Some(16), None), Ok(()));
    assert_eq!(c(&w, Some(18), None), Err(R::MaxPosition));
    assert_eq!(c(&w, Some(17), None), Err(R::QuantityPrecision));
    assert_eq!(c(&w, None, Some(1050)), Ok(()));
    assert_eq!(c(&w, None, Some(1055)), Err(R::PriceBand));
    assert_eq!(c(&w, None, Some(1001)), Err(R::PricePrecision));
    // after a partial fill, the new total counts only what is left: position 4 + working 4
    w.fill(id, 4, 1000);
    let ord = w.orders.get(id).unwrap().clone();
    let c = |w: &World, q| check_modify(&l, &ord, q, None, None, &w.view());
    assert_eq!(c(&w, Some(16)), Ok(())); // 4 + 4 + (16 − 4)
    assert_eq!(c(&w, Some(18)), Err(R::MaxPosition));
    // a trigger modify is checked like a price
    let sid = w.work(o(Sell, OrderKind::StopMarket { trigger: 990 }, 4));
    let st = w.orders.get(sid).unwrap().clone();
    assert_eq!(
        check_modify(&l, &st, None, None, Some(950), &w.view()),
        Ok(())
    );
    assert_eq!(
        check_modify(&l, &st, None, None, Some(945), &w.view()),
        Err(R::PriceBand)
    );
}

#[test]
fn modify_of_a_reduce_only_order_does_not_count_itself() {
    let mut w = World::new(100_000);
    w.trade(0, Buy, 10, 1000);
    let id = w.work(OrderSpec {
        reduce_only: true,
        ..o(Sell, lim(1100), 6)
    });
    let ord = w.orders.get(id).unwrap().clone();
    let l = open_limits();
    assert_eq!(
        check_modify(&l, &ord, Some(10), None, None, &w.view()),
        Ok(())
    );
    assert_eq!(
        check_modify(&l, &ord, Some(12), None, None, &w.view()),
        Err(R::ReduceOnly)
    );
}

// ---- reduces_exposure --------------------------------------------------------------------

#[test]
fn reduces_exposure_opposite_side_never_flipping() {
    let mut w = World::new(100_000);
    let r = |w: &World, side, q| reduces_exposure(&o(side, MKT, q), &w.view());
    assert!(!r(&w, Sell, 4)); // flat
    assert!(!r(&w, Buy, 4));
    w.trade(0, Buy, 10, 1000);
    assert!(r(&w, Sell, 10));
    assert!(!r(&w, Sell, 12));
    assert!(!r(&w, Buy, 4));
    w.work(o(Sell, lim(1100), 4)); // already reducing by 4
    assert!(r(&w, Sell, 6));
    assert!(!r(&w, Sell, 8));
    w.trade(0, Sell, 20, 1000); // short 10, the working sell no longer reduces
    assert!(r(&w, Buy, 10));
    assert!(!r(&w, Buy, 12));
    assert!(!reduces_exposure(&on(7, Buy, MKT, 1), &w.view()));
}

// ---- rate limits -------------------------------------------------------------------------

#[test]
fn token_bucket_at_its_boundary() {
    let mut b = TokenBucket::new(RateLimit {
        capacity: 100,
        interval_ns: 1_000_000_000,
    });
    let t0 = 5_000_000_000;
    for k in 0..100 {
        assert!(b.try_take(t0), "command {k} of the burst");
    }
    assert!(!b.try_take(t0), "the 101st");
    // one token per 10 ms, exactly
    assert!(!b.try_take(t0 + 9_999_999));
    assert!(b.try_take(t0 + 10_000_000));
    assert!(!b.try_take(t0 + 10_000_000));
    // a long pause refills no more than the burst
    let t1 = t0 + 3_600_000_000_000;
    for _ in 0..100 {
        assert!(b.try_take(t1));
    }
    assert!(!b.try_take(t1));
    // the clock going back mints nothing, and does not move the bucket's clock back
    assert!(!b.try_take(t0));
    assert!(!b.try_take(t1 + 9_999_999));
    assert!(b.try_take(t1 + 10_000_000));
}

#[test]
fn token_bucket_has_no_drift_over_many_uneven_steps() {
    // 3 per 1_000 ns: a token every 333.33 ns; after the burst, exactly 3k tokens per 1_000k ns
    let mut b = TokenBucket::new(RateLimit {
        capacity: 3,
        interval_ns: 1_000,
    });
    for _ in 0..3 {
        assert!(b.try_take(0));
    }
    let mut taken = 0u64;
    let mut t = 0i64;
    let mut s = 12345u64;
    while t < 1_000_000 {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
        t += 1 + (s >> 60) as i64;
        taken += b.try_take(t.min(1_000_000)) as u64;
    }
    assert_eq!(taken, 3_000);
}

// ---- the sentences of denials ---------------------------------------------------------------
//
// Each denial at a boundary built by hand, its sentence with the numbers written out (X: integer
// prices and quantities, money with two decimals).

#[test]
fn sentences_of_instrument_and_precision_denials() {
    let w = World::new(1_000_000);
    let l = open_limits();
    assert_eq!(
        w.why(&l, &on(2, Buy, MKT, 1), R::UnknownInstrument),
        "instrument 2 is not one of the run's 2 instruments"
    );
    assert_eq!(
        w.why(&l, &o(Buy, lim(1006), 4), R::PricePrecision),
        "price 1006 is not on the tick 5 of X"
    );
    let trail = OrderKind::TrailingStopMarket {
        offset: TrailingOffset::Price(12),
        activation: None,
    };
    assert_eq!(
        w.why(&l, &o(Buy, trail, 4), R::PricePrecision),
        "trailing offset 12 is not a multiple of the tick 5 of X"
    );
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 7), R::QuantityPrecision),
        "quantity 7 is not a multiple of the lot 2 of X"
    );
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 2), R::QuantityBelowMin),
        "quantity 2 < the minimum 4 of X"
    );
    assert_eq!(
        w.why(&l, &o(Buy, lim(0), 4), R::PriceBelowMin),
        "price 0 is not positive"
    );
    let l = with_inst(InstrumentLimits {
        max_qty: Some(10),
        min_price: Some(900),
        max_price: Some(1100),
        min_notional: Some(m(4_000)),
        ..Default::default()
    });
    assert_eq!(
        w.why(&l, &o(Sell, MKT, 12), R::QuantityAboveMax),
        "quantity 12 > max_qty 10 of X"
    );
    assert_eq!(
        w.why(&l, &o(Buy, lim(895), 6), R::PriceBelowMin),
        "price 895 < min_price 900 of X"
    );
    assert_eq!(
        w.why(
            &l,
            &o(Buy, OrderKind::StopMarket { trigger: 1105 }, 4),
            R::PriceAboveMax
        ),
        "price 1105 > max_price 1100 of X"
    );
    assert_eq!(
        w.why(&l, &o(Buy, lim(995), 4), R::NotionalBelowMin),
        "notional of buy 4 X at 995 = 3980.00 < min_notional 4000.00"
    );
    let mut w = w;
    w.mark(0, 995);
    assert_eq!(
        w.why(&l, &o(Sell, MKT, 4), R::NotionalBelowMin),
        "notional of sell 4 X at the last price 995 = 3980.00 < min_notional 4000.00"
    );
}

#[test]
fn sentences_of_reduce_only_band_and_notional_denials() {
    let mut w = World::new(1_000_000);
    let l = open_limits();
    let ro = |side, qty| OrderSpec {
        reduce_only: true,
        ..o(side, MKT, qty)
    };
    assert_eq!(
        w.why(&l, &ro(Sell, 4), R::ReduceOnly),
        "reduce-only sell 4 X: the position is flat: nothing to reduce"
    );
    w.trade(0, Buy, 10, 1000);
    assert_eq!(
        w.why(&l, &ro(Buy, 4), R::ReduceOnly),
        "reduce-only buy 4 X: a buy would grow the position 10"
    );
    w.work(OrderSpec {
        reduce_only: true,
        ..o(Sell, lim(1100), 6)
    });
    assert_eq!(
        w.why(&l, &ro(Sell, 6), R::ReduceOnly),
        "reduce-only sell 6 + working reduce-only 6 = 12 > the position 10 it can reduce"
    );
    // the band: 55 from 1000 is 550 bps; 2.5 bp of 100_000 is 25, and 30 is 3 bps
    let band = |bps| RiskLimits {
        price_band_bps: Some(bps),
        ..open_limits()
    };
    assert_eq!(
        w.why(&band(500.0), &o(Buy, lim(1055), 4), R::PriceBand),
        "price 1055 is 550.0 bps from the last price 1000, beyond the band of 500 bps"
    );
    w.mark(0, 100_000);
    assert_eq!(
        w.why(&band(2.5), &o(Sell, lim(100_030), 4), R::PriceBand),
        "price 100030 is 3.0 bps from the last price 100000, beyond the band of 2.5 bps"
    );
    w.mark(0, 1000);
    let l = RiskLimits {
        max_notional: Some(m(10_000)),
        ..open_limits()
    };
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 12), R::MaxNotional),
        "notional of buy 12 X at the last price 1000 = 12000.00 > max_notional 10000.00"
    );
    assert_eq!(
        w.why(&l, &o(Sell, lim(1255), 8), R::MaxNotional),
        "notional of sell 8 X at 1255 = 10040.00 > max_notional 10000.00"
    );
}

#[test]
fn sentences_of_position_and_exposure_denials() {
    let mut w = World::new(1_000_000);
    let l = max_pos(20);
    w.trade(0, Buy, 8, 1000);
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 14), R::MaxPosition),
        "position 8 + order 14 = 22 > max_position 20"
    );
    w.work(o(Buy, lim(900), 4));
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 10), R::MaxPosition),
        "position 8 + working 4 + order 10 = 22 > max_position 20"
    );
    assert_eq!(
        w.why(&l, &o(Sell, MKT, 30), R::MaxPosition),
        "position 8 - order 30 = -22, |-22| > max_position 20"
    );

    let mut w = World::new(100_000);
    let l = RiskLimits {
        max_concentration: Some(0.3),
        ..open_limits()
    };
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 32), R::Concentration),
        "exposure of X would be 32000.00 = 32.0 % of equity 100000.00 > max_concentration 30 %"
    );
    w.trade(1, Sell, 100, 100); // Y short 10_000
    let l = RiskLimits {
        max_gross_exposure: Some(m(50_000)),
        ..open_limits()
    };
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 42), R::GrossExposure),
        "gross exposure would be 52000.00 (X 42000.00 + other instruments 10000.00) > \
         max_gross_exposure 50000.00"
    );
    let l = RiskLimits {
        max_net_exposure: Some(m(20_000)),
        ..open_limits()
    };
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 32), R::NetExposure),
        "net exposure would be 22000.00 (X 32000.00 + other instruments -10000.00) > \
         max_net_exposure 20000.00"
    );
    assert_eq!(
        w.why(&l, &o(Sell, MKT, 12), R::NetExposure),
        "net exposure would be 22000.00 (X -12000.00 + other instruments -10000.00) > \
         max_net_exposure 20000.00"
    );

    let mut w = World::new(10_000).margin(5.0);
    let l = RiskLimits {
        max_leverage: Some(2.5),
        ..RiskLimits::default()
    };
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 26), R::Leverage),
        "leverage would be 2.60x > max_leverage 2.5x (gross 26000.00 on equity 10000.00)"
    );
    // 25_002 on 10_000 is 2.5002x: shown with the decimals that keep it above the cap
    w.trade(1, Buy, 2, 1);
    w.mark(1, 1);
    let l = RiskLimits {
        max_leverage: Some(2.5),
        ..RiskLimits::default()
    };
    w.pf.cash = m(10_000) - m(2);
    assert_eq!(
        w.why(&l, &on(1, Buy, MKT, 25_000), R::Leverage),
        "leverage would be 2.5002x > max_leverage 2.5x (gross 25002.00 on equity 10000.00)"
    );
    w.pf.cash = -m(1);
    w.mark(1, 0);
    assert_eq!(
        w.why(&l, &o(Buy, MKT, 4), R::Leverage),
        "equity -1.00 is not positive: no exposure may be added (gross would be 4000.00)"
    );
}

#[test]
fn sentences_of_modifies_and_rate_limits() {
    let mut w = World::new(100_000);
    let l = RiskLimits {
        instruments: vec![InstrumentLimits {
            max_position: Some(20),
            ..Default::default()
        }],
        submit_rate: Some(RateLimit {
            capacity: 20,
            interval_ns: 1_000_000_000,
        }),
        modify_rate: Some(RateLimit {
            capacity: 5,
            interval_ns: 500_000_000,
        }),
        ..RiskLimits::default()
    };
    let id = w.work(o(Buy, lim(1000), 12));
    w.work(o(Buy, lim(990), 4));
    let ord = w.orders.get(id).unwrap().clone();
    // its own 12 are not counted twice: 4 working + 18 = 22
    assert_eq!(
        check_modify(&l, &ord, Some(18), None, None, &w.view()),
        Err(R::MaxPosition)
    );
    assert_eq!(
        explain_modify(&l, &ord, Some(18), None, None, &w.view(), R::MaxPosition),
        "position 0 + working 4 + order 18 = 22 > max_position 20"
    );
    assert_eq!(
        explain_rate(&l, R::SubmitRate),
        "submit rate: more than 20 orders in 1 s"
    );
    assert_eq!(
        explain_rate(&l, R::ModifyRate),
        "modify rate: more than 5 modifies in 500 ms"
    );
}

// ---- properties --------------------------------------------------------------------------

/// One step of a random strategy: (kind, side, qty in lots, price offset in ticks, mark move).
type Step = (u8, bool, u8, i8, i8);

fn gross_and_equity(w: &World) -> (i128, i128) {
    let mut gross = 0i128;
    let mut equity = w.pf.cash;
    for (p, inst) in w.pf.positions.iter().zip(&w.insts) {
        let v = inst.notional(p.mark, p.qty);
        gross += v.abs();
        equity += v;
    }
    (gross, equity)
}

/// gross / equity ≤ cap, exactly (cap in tenths).
fn within(gross: i128, equity: i128, cap: f64) -> bool {
    let tenths = (cap * 10.0).round() as i128;
    gross * 10 <= tenths * equity
}

fn run_steps(
    max_lots: i64,
    lev_tenths: u8,
    margin: bool,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let w0 = World::new(100_000);
    let mut w = if margin { w0.margin(10.0) } else { w0 };
    let max_position = max_lots * 2;
    let cap = lev_tenths as f64 / 10.0;
    let l = RiskLimits {
        instruments: vec![
            InstrumentLimits {
                max_position: Some(max_position),
                ..Default::default()
            },
            InstrumentLimits {
                max_position: Some(max_position * 10),
                ..Default::default()
            },
        ],
        max_leverage: Some(cap),
        ..RiskLimits::default()
    };
    for (kind, buy, lots, off, mv) in steps {
        let i = (kind >> 4) as u32 % 2;
        let tick = w.insts[i as usize].tick;
        let lot = w.insts[i as usize].lot;
        let mark = w.pf.positions[i as usize].mark;
        let side = if buy { Buy } else { Sell };
        let qty = (lots as i64 % 16 + 2) * lot;
        match kind % 8 {
            // move the mark (the reference price) of instrument i
            0 => {
                let nm = (mark + mv as i64 * tick).max(10 * tick);
                w.mark(i, nm);
            }
            // cancel the oldest working order of instrument i
            1 => {
                if let Some(&id) = w.orders.working_ids(i).first() {
                    let mut ev = Vec::new();
                    w.orders.cancel(id, 0, &mut ev);
                }
            }
            // a market order: filled at once at the mark if it passes
            2..=4 => {
                let spec = on(i, side, MKT, qty);
                if check_order(&l, &spec, &w.view()).is_ok() {
                    let (g0, _) = gross_and_equity(&w);
                    w.trade(i, side, qty, mark);
                    let (g1, equity) = gross_and_equity(&w);
                    // an order never pushes leverage above the cap (marks may have, before it)
                    prop_assert!(
                        g1 <= g0 || (equity > 0 && within(g1, equity, cap)),
                        "leverage {} > {cap} after a passed order (gross {g0} -> {g1})",
                        g1 as f64 / equity as f64
                    );
                }
            }
            // a limit order: fills at the mark when marketable, else rests at the venue
            _ => {
                let px = (mark + off as i64 * tick).max(tick);
                let spec = on(i, side, lim(px), qty);
                if check_order(&l, &spec, &w.view()).is_ok() {
                    let marketable = match side {
                        Buy => px >= mark,
                        Sell => px <= mark,
                    };
                    if marketable {
                        w.trade(i, side, qty, mark);
                    } else {
                        w.work(spec);
                    }
                }
            }
        }
        // a resting order whose price the mark reached fills (at its price)
        for j in 0..2u32 {
            let mk = w.pf.positions[j as usize].mark;
            let due: Vec<(u64, i64, i64)> = w
                .orders
                .working(j)
                .filter(|o| match (o.spec.side, o.spec.kind.limit_px()) {
                    (Buy, Some(p)) => mk <= p,
                    (Sell, Some(p)) => mk >= p,
                    _ => false,
                })
                .map(|o| (o.id(), o.leaves(), o.spec.kind.limit_px().unwrap()))
                .collect();
            for (id, q, p) in due {
                w.fill(id, q, p);
            }
        }
        // the position limit holds with every working order filled, on each side
        for j in 0..2u32 {
            let pos = w.pf.positions[j as usize].qty;
            let (mut wb, mut ws) = (0i64, 0i64);
            for o in w.orders.working(j) {
                match o.spec.side {
                    Buy => wb += o.leaves(),
                    Sell => ws += o.leaves(),
                }
            }
            let lim = l.instruments[j as usize].max_position.unwrap();
            prop_assert!(
                pos.abs() <= lim && pos + wb <= lim && pos - ws >= -lim,
                "instrument {j}: position {pos}, working +{wb}/-{ws}, limit {lim}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
    ))]

    /// Random strategies against random limits: a position never exceeds its limit (with its
    /// working orders filled), and an order that passed and filled at the reference prices
    /// never leaves the account above its leverage cap.
    #[test]
    fn limits_hold_over_random_strategies(
        max_lots in 1i64..40,
        lev_tenths in 5u8..50,
        margin in any::<bool>(),
        steps in prop::collection::vec(
            (any::<u8>(), any::<bool>(), any::<u8>(), -20i8..20, -30i8..30), 1..80),
    ) {
        run_steps(max_lots, lev_tenths, margin, steps)?;
    }
}
