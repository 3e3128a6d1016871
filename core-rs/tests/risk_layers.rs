//! The six built-in risk layers at their boundaries: the order (or observation) just inside a
//! threshold passes, the one just outside is vetoed/resized/changes the wished state with the
//! right reason. Views are built from a real `Portfolio` and `Orders`.

use _core::error::CoreError;
use _core::model::fixed::pow10;
use _core::model::{
    Bar, Fill, Instrument, Liquidity, MONEY_DP, OrderEvent, OrderEventKind, OrderKind, OrderSpec,
    Reason, Side,
};
use _core::portfolio::{Portfolio, Trade};
use _core::risk::layers::*;
use _core::risk::{RiskLayer, RiskReason, RiskView, StateWish, TradingState, Verdict};
use _core::venue::Orders;

const M: i128 = pow10(MONEY_DP);
const DAY: i64 = 86_400_000_000_000;

/// One instrument "X": prices with 1 decimal (raw 1000 = 100.0), integer quantities.
struct World {
    insts: Vec<Instrument>,
    pf: Portfolio,
    orders: Orders,
    conf: Vec<f64>,
    last: Vec<i64>,
    ts: i64,
}

impl World {
    fn new(cash: i128) -> Self {
        let insts = vec![Instrument::new("X", 1, 0).unwrap()];
        Self {
            orders: Orders::new(&insts),
            pf: Portfolio::new(cash * M, 1),
            insts,
            conf: vec![f64::NAN],
            last: vec![0],
            ts: 0,
        }
    }

    fn view(&self) -> RiskView<'_> {
        RiskView {
            ts: self.ts,
            instruments: &self.insts,
            portfolio: &self.pf,
            orders: &self.orders,
            confidence: &self.conf,
            last_data_ts: &self.last,
        }
    }

    /// Trade `qty` at raw price `px` and mark there.
    fn trade(&mut self, side: Side, px: i64, qty: i64) -> Fill {
        let f = Fill {
            ts: self.ts,
            order_id: 0,
            instrument: 0,
            side,
            px,
            qty,
            fee: 0,
            liquidity: Liquidity::Taker,
            liquidation: false,
        };
        self.pf.apply(&self.insts[0], &f);
        self.mark(px);
        f
    }

    fn mark(&mut self, px: i64) {
        self.pf.mark(0, px, px as f64 / 10.0);
    }

    fn bar(&self, close: i64) -> Bar {
        Bar {
            instrument: 0,
            ts: self.ts,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        }
    }

    fn push_trade(&mut self, pnl: i128) {
        self.pf.trades.push(Trade {
            instrument: 0,
            long: true,
            entry_ts: 0,
            exit_ts: 0,
            max_qty: 1,
            pnl: pnl * M,
            closed: true,
            ..Trade::default()
        });
    }
}

fn buy(qty: i64) -> OrderSpec {
    OrderSpec::new(1, 0, Side::Buy, OrderKind::Market, qty)
}

fn sell(qty: i64) -> OrderSpec {
    OrderSpec::new(1, 0, Side::Sell, OrderKind::Market, qty)
}

fn limit(side: Side, px: i64, qty: i64) -> OrderSpec {
    OrderSpec::new(1, 0, side, OrderKind::Limit { px }, qty)
}

fn wish(state: TradingState, reason: RiskReason) -> StateWish {
    StateWish { state, reason }
}

fn field_of(e: CoreError) -> &'static str {
    match e {
        CoreError::InvalidArgument { name, .. } => name,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

// ---- drawdown ------------------------------------------------------------------------------

fn drawdown(soft: f64, hard: f64, daily: Option<f64>) -> DrawdownGuard {
    DrawdownGuard::new(
        DrawdownConfig {
            soft: Some(soft),
            hard: Some(hard),
            hard_state: TradingState::Halted,
            daily_loss: daily,
        },
        "dd".into(),
    )
    .unwrap()
}

#[test]
fn drawdown_soft_exactly_reduces_and_recovers() {
    let mut w = World::new(1000);
    let mut g = drawdown(0.1, 0.2, None);
    w.trade(Side::Buy, 1000, 10); // 10 at 100.0: equity 1000, all of it in the position
    g.on_bar(&w.bar(1000), &w.view());
    assert_eq!(g.high_water_mark(), 1000.0);
    // 90.1 → drawdown 0.099: inside.
    w.mark(901);
    g.on_bar(&w.bar(901), &w.view());
    assert_eq!(g.wish().state, TradingState::Active);
    assert_eq!(
        g.explain().unwrap(),
        "drawdown 9.9 % < soft limit 10 % (high-water mark 1000.00, equity 901.00)"
    );
    assert_eq!(g.check(&buy(1), &w.view()), Verdict::Pass);
    // 90.0 → drawdown exactly 0.1: REDUCING.
    w.mark(900);
    g.on_bar(&w.bar(900), &w.view());
    assert_eq!(g.drawdown(), 0.1);
    assert_eq!(g.wish(), wish(TradingState::Reducing, RiskReason::Drawdown));
    assert_eq!(
        g.explain().unwrap(),
        "drawdown 10.0 % ≥ soft limit 10 % (high-water mark 1000.00, equity 900.00)"
    );
    assert_eq!(
        g.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::Drawdown)
    );
    assert_eq!(g.check(&sell(10), &w.view()), Verdict::Pass);
    assert_eq!(
        g.check(&sell(11), &w.view()),
        Verdict::Veto(RiskReason::Drawdown),
        "a flip grows exposure"
    );
    // Soft is not latched.
    w.mark(950);
    g.on_bar(&w.bar(950), &w.view());
    assert_eq!(g.wish().state, TradingState::Active);
}

#[test]
fn drawdown_hard_exactly_latches_hard_state() {
    let mut w = World::new(1000);
    let mut g = drawdown(0.1, 0.2, None);
    w.trade(Side::Buy, 1000, 10);
    g.on_bar(&w.bar(1000), &w.view());
    w.mark(801); // 0.199
    g.on_bar(&w.bar(801), &w.view());
    assert_eq!(g.wish(), wish(TradingState::Reducing, RiskReason::Drawdown));
    w.mark(800); // exactly 0.2
    w.ts = 1_641_387_660_000_000_000;
    g.on_bar(&w.bar(800), &w.view());
    assert_eq!(g.wish(), wish(TradingState::Halted, RiskReason::Drawdown));
    let latched = "drawdown 20.0 % ≥ hard limit 20 % (high-water mark 1000.00, equity 800.00) \
                   at 2022-01-05 13:01:00 UTC: HALTED for the rest of the run";
    assert_eq!(g.explain().unwrap(), latched);
    // Latched: a full recovery (and a fill) changes nothing, nor the numbers it latched on.
    w.mark(1200);
    g.on_bar(&w.bar(1200), &w.view());
    let f = w.trade(Side::Sell, 1200, 10);
    g.on_fill(&f, &w.view());
    assert_eq!(g.wish(), wish(TradingState::Halted, RiskReason::Drawdown));
    assert_eq!(g.explain().unwrap(), latched);
    assert!(g.needs_every_bar());

    let mut e = DrawdownGuard::new(
        DrawdownConfig {
            soft: None,
            hard: Some(0.2),
            hard_state: TradingState::Emergency,
            daily_loss: None,
        },
        "dd".into(),
    )
    .unwrap();
    let mut w = World::new(1000);
    w.trade(Side::Buy, 1000, 10);
    e.on_bar(&w.bar(1000), &w.view());
    w.mark(800);
    e.on_bar(&w.bar(800), &w.view());
    assert_eq!(
        e.wish(),
        wish(TradingState::Emergency, RiskReason::Drawdown)
    );
}

#[test]
fn daily_loss_halts_until_the_next_utc_day() {
    let mut w = World::new(1000);
    let mut g = DrawdownGuard::new(
        DrawdownConfig {
            soft: None,
            hard: None,
            hard_state: TradingState::Halted,
            daily_loss: Some(0.05),
        },
        "dd".into(),
    )
    .unwrap();
    w.trade(Side::Buy, 1000, 10);
    w.ts = 20_000 * DAY + 3_600_000_000_000; // 01:00 UTC: the day's first bar
    g.on_bar(&w.bar(1000), &w.view());
    assert_eq!(g.day_start_equity(), 1000.0);
    w.ts += 60_000_000_000;
    w.mark(951); // 4.9% down
    g.on_bar(&w.bar(951), &w.view());
    assert_eq!(g.wish().state, TradingState::Active);
    w.mark(950); // exactly 5%
    g.on_bar(&w.bar(950), &w.view());
    assert_eq!(g.wish(), wish(TradingState::Halted, RiskReason::DailyLoss));
    assert_eq!(
        g.explain().unwrap(),
        "day loss 5.0 % ≥ daily_loss limit 5 % (equity 950.00 against 1000.00 at the day's start)"
    );
    // Held for the rest of the day even after a recovery, to the last nanosecond.
    w.mark(1000);
    w.ts = 20_001 * DAY - 1;
    g.on_bar(&w.bar(1000), &w.view());
    assert_eq!(g.wish(), wish(TradingState::Halted, RiskReason::DailyLoss));
    // Midnight UTC: a new day measured from its first bar's equity.
    w.ts = 20_001 * DAY;
    w.mark(960);
    g.on_bar(&w.bar(960), &w.view());
    assert_eq!(g.wish().state, TradingState::Active);
    assert_eq!(g.day_start_equity(), 960.0);
    // The high-water mark (1000) is not the daily reference: 960 → 913 is 4.9%.
    w.mark(913);
    g.on_bar(&w.bar(913), &w.view());
    assert_eq!(g.wish().state, TradingState::Active);
    w.mark(912); // exactly 5% of 960
    g.on_bar(&w.bar(912), &w.view());
    assert_eq!(g.wish(), wish(TradingState::Halted, RiskReason::DailyLoss));
}

// ---- volatility targeting -----------------------------------------------------------------

fn closes(n: usize) -> Vec<i64> {
    // A deterministic wiggle around 100.0 (raw, 1 dp).
    let mut s = 12345u64;
    let mut px = 1000i64;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            px += ((s >> 33) % 41) as i64 - 20;
            px
        })
        .collect()
}

fn log_returns(c: &[i64]) -> Vec<f64> {
    c.windows(2)
        .map(|p| (p[1] as f64 / p[0] as f64).ln())
        .collect()
}

fn sample_std(r: &[f64]) -> f64 {
    let m = r.iter().sum::<f64>() / r.len() as f64;
    (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (r.len() - 1) as f64).sqrt()
}

fn vol(est: VolEstimator, target: f64, min_scale: f64, max_scale: f64) -> VolTarget {
    VolTarget::new(
        VolTargetConfig {
            target,
            estimator: est,
            periods_per_year: 525_600.0,
            min_scale,
            max_scale,
        },
        "vol".into(),
        1,
    )
    .unwrap()
}

fn close_rel(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn vol_rolling_matches_a_direct_std_and_scales() {
    let window = 20;
    let mut v = vol(VolEstimator::Rolling { window }, 0.4, 0.0, 2.0);
    let mut w = World::new(1000);
    let c = closes(200);
    let r = log_returns(&c);
    for (i, &px) in c.iter().enumerate() {
        w.mark(px);
        v.on_bar(&w.bar(px), &w.view());
        if i < window {
            // Warm-up (fewer than `window` returns): orders pass unchanged.
            assert_eq!(v.sigma(0), None);
            assert_eq!(v.check(&buy(100), &w.view()), Verdict::Pass);
        } else {
            let want = sample_std(&r[i - window..i]);
            let got = v.sigma(0).unwrap();
            assert!(close_rel(got, want, 1e-9), "bar {i}: {got} vs {want}");
        }
    }
    let sa = v.sigma_annual(0).unwrap();
    assert!(close_rel(
        sa,
        sample_std(&r[r.len() - window..]) * 525_600f64.sqrt(),
        1e-9
    ));
    let scale = (0.4 / sa).clamp(0.0, 2.0);
    let want = (100.0 * scale).floor() as i64;
    assert!(want > 0 && want != 100);
    assert_eq!(v.check(&buy(100), &w.view()), Verdict::Resize(want));
    use _core::risk::explain::pct;
    assert_eq!(
        v.explain().unwrap(),
        format!(
            "annualized volatility {} % (σ {} % per bar, rolling 20) against the target 40 %: \
             size × {scale:.3} (clamped to [0, 2])",
            pct(sa),
            pct(v.sigma(0).unwrap())
        )
    );
    // Reducing orders pass.
    w.trade(Side::Buy, *c.last().unwrap(), 50);
    assert_eq!(v.check(&sell(50), &w.view()), Verdict::Pass);
    assert_eq!(
        v.check(&sell(51), &w.view()),
        Verdict::Resize((51.0 * scale).floor() as i64)
    );
    assert!(v.needs_every_bar());
}

#[test]
fn vol_scale_clamps_and_vetoes_at_zero() {
    let c = closes(12);
    let mk = |target: f64, lo: f64, hi: f64| {
        let mut v = vol(VolEstimator::Rolling { window: 10 }, target, lo, hi);
        let mut w = World::new(1000);
        for &px in &c {
            w.mark(px);
            v.on_bar(&w.bar(px), &w.view());
        }
        (v, w)
    };
    let (v0, _) = mk(0.4, 0.0, 2.0);
    let sa = v0.sigma_annual(0).unwrap();
    // Far above the target → min_scale 0.25.
    let (mut v, w) = mk(sa * 0.01, 0.25, 2.0);
    assert_eq!(v.scale(0), Some(0.25));
    assert_eq!(v.check(&buy(100), &w.view()), Verdict::Resize(25));
    // Far below → max_scale 2 (the order grows).
    let (mut v, w) = mk(sa * 100.0, 0.25, 2.0);
    assert_eq!(v.check(&buy(100), &w.view()), Verdict::Resize(200));
    // Exactly at the target: scale 1 (within an ulp) → the order passes.
    let (mut v, w) = mk(sa, 0.0, 2.0);
    assert_eq!(v.check(&buy(100), &w.view()), Verdict::Pass);
    // A scale that rounds an order to nothing vetoes; one unit more survives.
    let (mut v, w) = mk(sa * 1e-3, 0.0, 2.0);
    let s = v.scale(0).unwrap();
    let q_zero = (1.0 / s).floor() as i64 - 1; // q·s < 1
    assert_eq!(
        v.check(&buy(q_zero), &w.view()),
        Verdict::Veto(RiskReason::VolatilityTarget)
    );
    let q_one = (1.0 / s).ceil() as i64 + 1; // q·s ≥ 1
    assert_eq!(v.check(&buy(q_one), &w.view()), Verdict::Resize(1));
}

#[test]
fn vol_garch_matches_the_recursion() {
    let (alpha, beta, warmup) = (0.1, 0.85, 30);
    for omega in [None, Some(2e-6)] {
        let mut v = vol(
            VolEstimator::Garch {
                alpha,
                beta,
                omega,
                warmup,
            },
            0.4,
            0.0,
            2.0,
        );
        let mut w = World::new(1000);
        let c = closes(300);
        let r = log_returns(&c);
        // Direct: s² of the warm-up, ω, then h over every later return.
        let s2 = sample_std(&r[..warmup]).powi(2);
        let om = omega.unwrap_or(s2 * (1.0 - alpha - beta));
        let mut hs = vec![f64::NAN; r.len()];
        let mut h = om + alpha * r[warmup - 1].powi(2) + beta * s2;
        hs[warmup - 1] = h;
        for k in warmup..r.len() {
            h = om + alpha * r[k].powi(2) + beta * h;
            hs[k] = h;
        }
        for (i, &px) in c.iter().enumerate() {
            w.mark(px);
            v.on_bar(&w.bar(px), &w.view());
            if i < warmup {
                assert_eq!(v.sigma(0), None, "warm-up at close {i}");
                assert_eq!(v.check(&buy(100), &w.view()), Verdict::Pass);
            } else {
                let got = v.sigma(0).unwrap();
                assert!(close_rel(got, hs[i - 1].sqrt(), 1e-9), "close {i}");
            }
        }
        let scale = (0.4 / (hs[r.len() - 1].sqrt() * 525_600f64.sqrt())).clamp(0.0, 2.0);
        let want = (100.0 * scale).floor() as i64;
        let got = v.check(&buy(100), &w.view());
        if want == 100 {
            assert_eq!(got, Verdict::Pass);
        } else {
            assert_eq!(got, Verdict::Resize(want));
        }
    }
}

// ---- Kelly ---------------------------------------------------------------------------------

fn kelly(fraction: f64, window: usize, min_trades: usize) -> KellySizing {
    KellySizing::new(
        KellyConfig {
            fraction,
            window,
            min_trades,
        },
        "kelly".into(),
    )
    .unwrap()
}

#[test]
fn kelly_fraction_on_a_known_trade_list_and_sizing_boundary() {
    let mut w = World::new(1000);
    let mut k = kelly(0.25, 10, 10);
    // 9 trades: fewer than min_trades → pass whatever the size.
    for _ in 0..6 {
        w.push_trade(2);
    }
    for _ in 0..3 {
        w.push_trade(-1);
    }
    assert_eq!(
        k.check(&limit(Side::Buy, 100, 1_000_000), &w.view()),
        Verdict::Pass
    );
    assert_eq!(
        k.explain().unwrap(),
        "9 closed trades, fewer than min_trades 10: no sizing yet"
    );
    w.push_trade(-1);
    // W = 0.6, R = 2 / 1 → f* = 0.6 − 0.4 / 2 = 0.4; cap = 0.25 × 0.4 × 1000 = 100 → 10 at 10.0.
    let order = limit(Side::Buy, 100, 10);
    assert_eq!(k.check(&order, &w.view()), Verdict::Pass);
    assert!((k.kelly_fraction().unwrap() - 0.4).abs() < 1e-15);
    assert_eq!(
        k.check(&limit(Side::Buy, 100, 11), &w.view()),
        Verdict::Resize(10)
    );
    assert_eq!(
        k.explain().unwrap(),
        "f* = 0.400 over the last 10 trades (win rate 60 %, mean win / mean loss 2.00): \
         a position is capped at fraction 0.25 × f* × equity"
    );
    // With a long of 4 (bought at 10.0: equity unchanged) only 6 more fit; a sell may flip to
    // a short of 10 (14) but not beyond.
    w.trade(Side::Buy, 100, 4);
    assert_eq!(k.check(&limit(Side::Buy, 100, 6), &w.view()), Verdict::Pass);
    assert_eq!(
        k.check(&limit(Side::Buy, 100, 7), &w.view()),
        Verdict::Resize(6)
    );
    assert_eq!(
        k.check(&limit(Side::Sell, 100, 14), &w.view()),
        Verdict::Pass
    );
    assert_eq!(
        k.check(&limit(Side::Sell, 100, 15), &w.view()),
        Verdict::Resize(14)
    );
    // Market orders are valued at the mark.
    assert_eq!(k.check(&buy(7), &w.view()), Verdict::Resize(6));
    // Already at the cap: nothing fits.
    let f = w.trade(Side::Buy, 100, 6);
    k.on_fill(&f, &w.view());
    assert_eq!(
        k.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::Kelly)
    );
    assert_eq!(k.check(&sell(3), &w.view()), Verdict::Pass, "reducing");
}

#[test]
fn kelly_non_positive_edge_vetoes_and_the_window_slides() {
    let mut w = World::new(1000);
    let mut k = kelly(0.25, 4, 4);
    // W = 0.5, R = 1: f* = 0 exactly → veto.
    for p in [1, -1, 1, -1] {
        w.push_trade(p);
    }
    assert_eq!(k.kelly_fraction(), None, "not synced yet");
    assert_eq!(
        k.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::Kelly)
    );
    assert_eq!(k.kelly_fraction(), Some(0.0));
    assert_eq!(
        k.explain().unwrap(),
        "f* = 0.000 over the last 4 trades (win rate 50 %, mean win / mean loss 1.00): \
         no edge, no order that adds exposure"
    );
    // One more win: the window drops the first win → [−1, 1, −1, 3]: W = 0.5, R = 2 / 1 →
    // f* = 0.25 > 0.
    w.push_trade(3);
    assert_eq!(k.check(&limit(Side::Buy, 100, 1), &w.view()), Verdict::Pass);
    assert_eq!(k.kelly_fraction(), Some(0.25));
    // All losses: f* = −∞.
    for _ in 0..4 {
        w.push_trade(-2);
    }
    assert_eq!(
        k.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::Kelly)
    );
    assert_eq!(k.kelly_fraction(), Some(f64::NEG_INFINITY));
    assert_eq!(
        k.explain().unwrap(),
        "no winning trade among the last 4 trades (f* = -inf): no edge, no order that adds exposure"
    );
    // All wins: f* = W = 1 → cap 0.25 × equity.
    for _ in 0..4 {
        w.push_trade(5);
    }
    assert_eq!(
        k.check(&limit(Side::Buy, 100, 25), &w.view()),
        Verdict::Pass
    );
    assert_eq!(
        k.check(&limit(Side::Buy, 100, 26), &w.view()),
        Verdict::Resize(25)
    );
}

#[test]
fn kelly_fraction_is_capped_at_a_quarter() {
    let ok = KellyConfig {
        fraction: 0.25,
        window: 100,
        min_trades: 20,
    };
    assert!(ok.validate().is_ok());
    for bad in [0.25 + 1e-12, 0.5, 1.0, 0.0, -0.1, f64::NAN] {
        let c = KellyConfig {
            fraction: bad,
            ..ok.clone()
        };
        assert_eq!(field_of(c.validate().unwrap_err()), "fraction", "{bad}");
    }
}

// ---- confidence ----------------------------------------------------------------------------

fn confidence(min_conf: f64) -> ConfidenceSizing {
    ConfidenceSizing::new(
        ConfidenceConfig {
            min_confidence: min_conf,
            min_scale: 0.25,
            max_scale: 1.0,
            min_leverage: 1.0,
            max_leverage: 3.0,
        },
        "conf".into(),
    )
    .unwrap()
}

#[test]
fn confidence_threshold_and_lerp_bounds() {
    let mut w = World::new(1000);
    w.mark(100); // 10.0
    let mut c = confidence(0.2);
    // No confidence given: pass.
    assert_eq!(c.check(&buy(1000), &w.view()), Verdict::Pass);
    // Just below min_confidence: veto; at it: scale lerp(0.25, 1, 0.2) = 0.4.
    assert_eq!(c.explain(), None, "nothing judged yet");
    w.conf[0] = 0.2 - 1e-9;
    assert_eq!(
        c.check(&buy(100), &w.view()),
        Verdict::Veto(RiskReason::Confidence)
    );
    // shown with as many decimals as it takes to stay below the threshold
    assert_eq!(
        c.explain().unwrap(),
        "confidence 0.199999999 < min_confidence 0.2"
    );
    w.conf[0] = 0.2;
    assert_eq!(c.bounds(0.2), (0.4, 1.4));
    assert_eq!(c.check(&buy(100), &w.view()), Verdict::Resize(40));
    assert_eq!(
        c.explain().unwrap(),
        "confidence 0.20: size × 0.40, leverage after the order capped at 1.40x"
    );
    // c = 1: scale 1, leverage 3 → 300 at 10.0 fits exactly, 301 is cut to 300.
    w.conf[0] = 1.0;
    assert_eq!(c.bounds(1.0), (1.0, 3.0));
    assert_eq!(c.check(&buy(300), &w.view()), Verdict::Pass);
    assert_eq!(c.check(&buy(301), &w.view()), Verdict::Resize(300));
    // c = 0 (min_confidence 0): scale 0.25, leverage 1 → 400 → 100 (notional 1000 = equity).
    let mut c0 = confidence(0.0);
    w.conf[0] = 0.0;
    assert_eq!(c0.bounds(0.0), (0.25, 1.0));
    assert_eq!(c0.check(&buy(400), &w.view()), Verdict::Resize(100));
    assert_eq!(
        c0.check(&buy(404), &w.view()),
        Verdict::Resize(100),
        "101 capped"
    );
    assert_eq!(c0.check(&buy(4), &w.view()), Verdict::Resize(1));
    assert_eq!(
        c0.check(&buy(3), &w.view()),
        Verdict::Veto(RiskReason::Confidence),
        "0.75 rounds to nothing"
    );
}

#[test]
fn confidence_leverage_cap_counts_the_position() {
    let mut w = World::new(1000);
    w.trade(Side::Buy, 100, 100); // leverage 1 already
    let mut c = confidence(0.0);
    w.conf[0] = 0.0; // leverage cap 1
    assert_eq!(
        c.check(&buy(4), &w.view()),
        Verdict::Veto(RiskReason::Confidence)
    );
    assert_eq!(c.check(&sell(100), &w.view()), Verdict::Pass, "reducing");
    // A flip: short of at most 100 after the order (scale 0.25 first: 800 → 200 = 100 + 100).
    assert_eq!(c.check(&sell(800), &w.view()), Verdict::Resize(200));
    assert_eq!(c.check(&sell(804), &w.view()), Verdict::Resize(200));
    // c = 0.5: leverage 2 → room for 100 more; scale 0.625 → 160 → 100.
    w.conf[0] = 0.5;
    assert_eq!(c.check(&buy(160), &w.view()), Verdict::Resize(100));
    assert_eq!(c.check(&buy(8), &w.view()), Verdict::Resize(5));
}

// ---- panic ---------------------------------------------------------------------------------

fn panic_cfg() -> PanicConfig {
    PanicConfig {
        stale_ns: None,
        spread_k: None,
        spread_window: 4,
        slippage_k: None,
        expected_slippage_bps: 2.0,
        max_consecutive_rejects: None,
        state: TradingState::Paused,
        cooldown_ns: 50,
    }
}

fn panic_layer(cfg: PanicConfig) -> PanicConditions {
    PanicConditions::new(cfg, "panic".into(), 1).unwrap()
}

#[test]
fn panic_stale_data_at_its_threshold_and_cooldown() {
    let mut p = panic_layer(PanicConfig {
        stale_ns: Some(100),
        ..panic_cfg()
    });
    let mut w = World::new(1000);
    w.last[0] = 1000;
    w.ts = 1100; // exactly stale_ns old: fine
    assert_eq!(p.check(&buy(1), &w.view()), Verdict::Pass);
    assert_eq!(p.wish().state, TradingState::Active);
    assert_eq!(p.explain(), None, "no condition held yet");
    w.ts = 1101;
    assert_eq!(
        p.check(&sell(1), &w.view()),
        Verdict::Veto(RiskReason::StaleData)
    );
    assert_eq!(p.wish(), wish(TradingState::Paused, RiskReason::StaleData));
    assert_eq!(
        p.explain().unwrap(),
        "market data of instrument 0 is 101 ns old > stale limit 100 ns: \
         PAUSED until 1970-01-01 00:00:00 UTC (cool-down 50 ns)"
    );
    assert!(p.needs_every_bar());
    // Held until 1101 + 50 exclusive.
    w.last[0] = 1140;
    w.ts = 1150;
    p.on_bar(&w.bar(100), &w.view());
    assert_eq!(p.wish().state, TradingState::Paused);
    w.ts = 1151;
    p.on_bar(&w.bar(100), &w.view());
    assert_eq!(p.wish().state, TradingState::Active);
    assert_eq!(
        p.explain().unwrap(),
        "market data of instrument 0 is 101 ns old > stale limit 100 ns \
         at 1970-01-01 00:00:00 UTC, over after its cool-down of 50 ns"
    );
    assert!(!p.needs_every_bar());
    // No data yet is stale; an instrument not tracked is not watched.
    w.last[0] = i64::MIN;
    assert_eq!(
        p.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::StaleData)
    );
    w.last.clear();
    assert_eq!(p.check(&buy(1), &w.view()), Verdict::Pass);
}

#[test]
fn panic_wide_spread_against_the_rolling_median() {
    let mut p = panic_layer(PanicConfig {
        spread_k: Some(2.0),
        ..panic_cfg()
    });
    let q =
        |p: &mut PanicConditions, ts: i64, spread: i64| p.on_quote(0, ts, 10_000, 10_000 + spread);
    for (t, s) in [(1, 10), (2, 10), (3, 12), (4, 8)] {
        q(&mut p, t, s);
    }
    assert_eq!(p.spread_median(0), Some(10.0));
    q(&mut p, 5, 20); // exactly 2 × 10: not wider
    assert_eq!(p.wish().state, TradingState::Active);
    // Window now [10, 12, 8, 20]: median 11.
    assert_eq!(p.spread_median(0), Some(11.0));
    q(&mut p, 6, 23); // > 22
    assert_eq!(p.wish(), wish(TradingState::Paused, RiskReason::WideSpread));
    // 23 and 11 raw on a mid of 10_011: 22.97 and 10.99 bps; 23 / 11 = 2.09
    assert_eq!(
        p.explain().unwrap(),
        "instrument 0: spread 23.0 bps is 2.1 × its median 11.0 bps over the last 4 quotes \
         > spread_k 2: PAUSED until 1970-01-01 00:00:00 UTC (cool-down 50 ns)"
    );
    q(&mut p, 55, 10);
    assert_eq!(p.wish().state, TradingState::Paused);
    q(&mut p, 56, 10); // 6 + 50
    assert_eq!(p.wish().state, TradingState::Active);
    // The sorted window stays right over many quotes.
    let mut hist: Vec<i64> = Vec::new();
    for t in 0..200i64 {
        let s = 5 + (t * 7919) % 13;
        q(&mut p, 100 + t, s);
        hist.push(s);
        if hist.len() >= 4 {
            let mut last: Vec<i64> = hist[hist.len() - 4..].to_vec();
            last.sort();
            assert_eq!(p.spread_median(0), Some((last[1] + last[2]) as f64 / 2.0));
        }
    }
}

#[test]
fn panic_slippage_at_k_times_expected() {
    let mut p = panic_layer(PanicConfig {
        slippage_k: Some(5.0),
        ..panic_cfg()
    });
    let mut w = World::new(1000);
    let mut ev = Vec::new();
    // Arrival 10000 (1000.0): 5 × 2 bps = 10 bps = 10 raw.
    w.orders.register(
        OrderSpec::new(7, 0, Side::Buy, OrderKind::Market, 1),
        0,
        0,
        &mut ev,
    );
    w.orders.set_arrival(7, Some(10_000));
    w.orders.register(limit(Side::Buy, 9_000, 1), 0, 0, &mut ev); // id 1
    w.orders.set_arrival(1, Some(10_000));
    let fill = |id: u64, px: i64, ts: i64| Fill {
        ts,
        order_id: id,
        instrument: 0,
        side: Side::Buy,
        px,
        qty: 1,
        fee: 0,
        liquidity: Liquidity::Taker,
        liquidation: false,
    };
    p.on_fill(&fill(7, 10_010, 10), &w.view());
    p.on_fill(&fill(7, 9_990, 11), &w.view());
    assert_eq!(p.wish().state, TradingState::Active);
    p.on_fill(&fill(1, 9_000, 12), &w.view()); // a limit at its limit: not slippage
    assert_eq!(p.wish().state, TradingState::Active);
    p.on_fill(&fill(7, 10_011, 20), &w.view());
    assert_eq!(p.wish(), wish(TradingState::Paused, RiskReason::Slippage));
    assert!(
        p.explain().unwrap().starts_with(
            "fill of order 7 slipped 11.0 bps from its reference price > slippage_k 5 × \
             expected 2 bps = 10 bps: PAUSED until "
        ),
        "{:?}",
        p.explain()
    );
    p.on_fill(&fill(7, 10_000, 69), &w.view());
    assert_eq!(p.wish().state, TradingState::Paused);
    p.on_fill(&fill(7, 10_000, 70), &w.view());
    assert_eq!(p.wish().state, TradingState::Active);
}

#[test]
fn panic_consecutive_rejects() {
    let mut p = panic_layer(PanicConfig {
        max_consecutive_rejects: Some(3),
        state: TradingState::Halted,
        ..panic_cfg()
    });
    let w = World::new(1000);
    let e = |ts: i64, kind| OrderEvent { id: 1, ts, kind };
    let rej = OrderEventKind::Rejected(Reason::InsufficientMargin);
    p.on_event(&e(1, rej), &w.view());
    p.on_event(
        &e(2, OrderEventKind::Denied(Reason::InvalidOrder)),
        &w.view(),
    );
    p.on_event(&e(3, OrderEventKind::Accepted), &w.view()); // resets
    p.on_event(&e(4, rej), &w.view());
    p.on_event(&e(5, rej), &w.view());
    p.on_event(
        &e(
            6,
            OrderEventKind::Denied(Reason::Risk(_core::risk::RiskReason::StatePaused)),
        ),
        &w.view(),
    ); // not counted
    assert_eq!(p.consecutive_rejects(), 2);
    assert_eq!(p.wish().state, TradingState::Active);
    p.on_event(&e(7, rej), &w.view());
    assert_eq!(
        p.wish(),
        wish(TradingState::Halted, RiskReason::ConsecutiveRejects)
    );
    assert!(
        p.explain()
            .unwrap()
            .starts_with("3 venue rejects in a row ≥ max_consecutive_rejects 3: HALTED until "),
        "{:?}",
        p.explain()
    );
    p.on_event(&e(8, OrderEventKind::Filled { fill_index: 0 }), &w.view());
    p.on_event(&e(56, OrderEventKind::Submitted), &w.view());
    assert_eq!(p.wish().state, TradingState::Halted, "until 7 + 50");
    p.on_event(&e(57, OrderEventKind::Submitted), &w.view());
    assert_eq!(p.wish().state, TradingState::Active);
}

// ---- circuit breaker -----------------------------------------------------------------------

fn breaker(threshold: u32, trials: u32) -> CircuitBreaker {
    CircuitBreaker::new(
        BreakerConfig {
            failure_threshold: threshold,
            cooldown_ns: 1000,
            half_open_trials: trials,
        },
        "breaker".into(),
    )
    .unwrap()
}

#[test]
fn breaker_closed_open_half_open_closed() {
    let mut b = breaker(3, 1);
    let mut w = World::new(1000);
    w.trade(Side::Buy, 100, 5);
    let e = |ts: i64, kind| OrderEvent { id: 1, ts, kind };
    let rej = OrderEventKind::Rejected(Reason::InsufficientMargin);
    b.on_event(&e(1, rej), &w.view());
    b.on_event(&e(2, rej), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Closed);
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass);
    assert_eq!(
        b.explain().unwrap(),
        "circuit breaker closed: 2 failures in a row (failure_threshold 3)"
    );
    b.on_event(&e(3, rej), &w.view()); // the threshold
    assert_eq!(b.breaker_state(), BreakerState::Open);
    assert_eq!(
        b.explain().unwrap(),
        "circuit breaker open since 1970-01-01 00:00:00 UTC after 3 failures in a row (venue \
         rejects, losing trades; failure_threshold 3): orders that add exposure are vetoed until \
         1970-01-01 00:00:00 UTC (cool-down 1 µs)"
    );
    w.ts = 1002;
    assert_eq!(
        b.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::CircuitOpen)
    );
    assert_eq!(b.check(&sell(5), &w.view()), Verdict::Pass, "reducing");
    assert_eq!(b.breaker_state(), BreakerState::Open);
    w.ts = 1003; // exactly 3 + cooldown
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass, "the one trial");
    assert_eq!(b.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(
        b.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::CircuitOpen),
        "trials used up"
    );
    assert_eq!(
        b.explain().unwrap(),
        "circuit breaker half-open: its 1 trial order(s) are out, the next outcome closes or opens it"
    );
    b.on_event(&e(1010, OrderEventKind::Accepted), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Closed);
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass);
}

#[test]
fn breaker_success_resets_and_half_open_failure_reopens() {
    let mut b = breaker(2, 2);
    let mut w = World::new(1000);
    let e = |ts: i64, kind| OrderEvent { id: 1, ts, kind };
    let rej = OrderEventKind::Rejected(Reason::InsufficientMargin);
    b.on_event(&e(1, rej), &w.view());
    b.on_event(&e(2, OrderEventKind::Accepted), &w.view());
    b.on_event(&e(3, rej), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Closed, "not in a row");
    // A losing closed trade is the second failure in a row.
    let f = w.trade(Side::Buy, 100, 1);
    b.on_fill(&f, &w.view());
    w.ts = 5;
    let f = w.trade(Side::Sell, 90, 1);
    assert_eq!(w.pf.trades.len(), 1);
    b.on_fill(&f, &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Open);
    // Half-open at 5 + 1000 (seen through a bar), two trials, then a reject reopens it.
    w.ts = 1004;
    b.on_bar(&w.bar(90), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Open);
    w.ts = 1005;
    b.on_bar(&w.bar(90), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass);
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass);
    assert_eq!(
        b.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::CircuitOpen)
    );
    b.on_event(&e(1006, rej), &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Open);
    assert!(
        b.explain()
            .unwrap()
            .contains("after its half-open trial failed"),
        "{:?}",
        b.explain()
    );
    w.ts = 2005;
    assert_eq!(
        b.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::CircuitOpen)
    );
    w.ts = 2006;
    assert_eq!(b.check(&buy(1), &w.view()), Verdict::Pass);
    // A winning trade closes it.
    let f = w.trade(Side::Buy, 100, 1);
    b.on_fill(&f, &w.view());
    let f = w.trade(Side::Sell, 110, 1);
    b.on_fill(&f, &w.view());
    assert_eq!(b.breaker_state(), BreakerState::Closed);
}

// ---- configuration -------------------------------------------------------------------------

#[test]
fn config_errors_name_the_field() {
    let dd = DrawdownConfig {
        soft: Some(0.1),
        hard: Some(0.2),
        hard_state: TradingState::Emergency,
        daily_loss: Some(0.05),
    };
    assert!(dd.validate().is_ok());
    let cases: Vec<(LayerConfig, &str)> = vec![
        (
            LayerConfig::Drawdown(DrawdownConfig {
                soft: Some(0.2),
                ..dd.clone()
            }),
            "soft",
        ),
        (
            LayerConfig::Drawdown(DrawdownConfig {
                hard: Some(1.0),
                ..dd.clone()
            }),
            "hard",
        ),
        (
            LayerConfig::Drawdown(DrawdownConfig {
                soft: Some(0.0),
                ..dd.clone()
            }),
            "soft",
        ),
        (
            LayerConfig::Drawdown(DrawdownConfig {
                hard_state: TradingState::Paused,
                ..dd.clone()
            }),
            "hard_state",
        ),
        (
            LayerConfig::Drawdown(DrawdownConfig {
                daily_loss: Some(1.5),
                ..dd.clone()
            }),
            "daily_loss",
        ),
    ];
    let vt = VolTargetConfig {
        target: 0.4,
        estimator: VolEstimator::Garch {
            alpha: 0.05,
            beta: 0.94,
            omega: None,
            warmup: 500,
        },
        periods_per_year: 525_600.0,
        min_scale: 0.0,
        max_scale: 2.0,
    };
    assert!(vt.validate().is_ok());
    let garch = |alpha: f64, beta: f64, omega: Option<f64>, warmup: usize| {
        LayerConfig::VolTarget(VolTargetConfig {
            estimator: VolEstimator::Garch {
                alpha,
                beta,
                omega,
                warmup,
            },
            ..vt.clone()
        })
    };
    let mut cases = cases;
    cases.extend([
        (garch(0.05, 0.95, None, 500), "beta"),
        (garch(-0.01, 0.9, None, 500), "alpha"),
        (garch(0.05, -0.9, None, 500), "beta"),
        (garch(0.05, 0.9, Some(0.0), 500), "omega"),
        (garch(0.05, 0.9, None, 1), "warmup"),
        (
            LayerConfig::VolTarget(VolTargetConfig {
                estimator: VolEstimator::Rolling { window: 1 },
                ..vt.clone()
            }),
            "window",
        ),
        (
            LayerConfig::VolTarget(VolTargetConfig {
                target: 0.0,
                ..vt.clone()
            }),
            "target",
        ),
        (
            LayerConfig::VolTarget(VolTargetConfig {
                min_scale: 3.0,
                ..vt.clone()
            }),
            "max_scale",
        ),
        (
            LayerConfig::VolTarget(VolTargetConfig {
                min_scale: -1.0,
                ..vt.clone()
            }),
            "min_scale",
        ),
        (
            LayerConfig::VolTarget(VolTargetConfig {
                periods_per_year: f64::NAN,
                ..vt.clone()
            }),
            "periods_per_year",
        ),
        (
            LayerConfig::Kelly(KellyConfig {
                fraction: 0.3,
                window: 100,
                min_trades: 20,
            }),
            "fraction",
        ),
        (
            LayerConfig::Kelly(KellyConfig {
                fraction: 0.2,
                window: 1,
                min_trades: 1,
            }),
            "window",
        ),
        (
            LayerConfig::Kelly(KellyConfig {
                fraction: 0.2,
                window: 10,
                min_trades: 11,
            }),
            "min_trades",
        ),
        (
            LayerConfig::Kelly(KellyConfig {
                fraction: 0.2,
                window: 10,
                min_trades: 0,
            }),
            "min_trades",
        ),
    ]);
    let cc = ConfidenceConfig {
        min_confidence: 0.2,
        min_scale: 0.25,
        max_scale: 1.0,
        min_leverage: 1.0,
        max_leverage: 3.0,
    };
    assert!(cc.validate().is_ok());
    cases.extend([
        (
            LayerConfig::Confidence(ConfidenceConfig {
                min_confidence: 1.1,
                ..cc.clone()
            }),
            "min_confidence",
        ),
        (
            LayerConfig::Confidence(ConfidenceConfig {
                max_scale: 0.2,
                ..cc.clone()
            }),
            "max_scale",
        ),
        (
            LayerConfig::Confidence(ConfidenceConfig {
                max_leverage: 0.5,
                ..cc.clone()
            }),
            "max_leverage",
        ),
        (
            LayerConfig::Confidence(ConfidenceConfig {
                min_leverage: 0.0,
                ..cc.clone()
            }),
            "min_leverage",
        ),
    ]);
    let pc = PanicConfig {
        stale_ns: Some(120_000_000_000),
        spread_k: Some(5.0),
        spread_window: 100,
        slippage_k: Some(5.0),
        expected_slippage_bps: 2.0,
        max_consecutive_rejects: Some(5),
        state: TradingState::Paused,
        cooldown_ns: 60_000_000_000,
    };
    assert!(pc.validate().is_ok());
    cases.extend([
        (
            LayerConfig::Panic(PanicConfig {
                state: TradingState::Emergency,
                ..pc.clone()
            }),
            "state",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                state: TradingState::Reducing,
                ..pc.clone()
            }),
            "state",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                stale_ns: Some(0),
                ..pc.clone()
            }),
            "stale_ns",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                spread_k: Some(0.5),
                ..pc.clone()
            }),
            "spread_k",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                spread_window: 1,
                ..pc.clone()
            }),
            "spread_window",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                slippage_k: Some(-1.0),
                ..pc.clone()
            }),
            "slippage_k",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                expected_slippage_bps: 0.0,
                ..pc.clone()
            }),
            "expected_slippage_bps",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                max_consecutive_rejects: Some(0),
                ..pc.clone()
            }),
            "max_consecutive_rejects",
        ),
        (
            LayerConfig::Panic(PanicConfig {
                cooldown_ns: -1,
                ..pc.clone()
            }),
            "cooldown_ns",
        ),
    ]);
    let bc = BreakerConfig {
        failure_threshold: 5,
        cooldown_ns: 3_600_000_000_000,
        half_open_trials: 1,
    };
    assert!(bc.validate().is_ok());
    cases.extend([
        (
            LayerConfig::CircuitBreaker(BreakerConfig {
                failure_threshold: 0,
                ..bc.clone()
            }),
            "failure_threshold",
        ),
        (
            LayerConfig::CircuitBreaker(BreakerConfig {
                cooldown_ns: 0,
                ..bc.clone()
            }),
            "cooldown_ns",
        ),
        (
            LayerConfig::CircuitBreaker(BreakerConfig {
                half_open_trials: 0,
                ..bc.clone()
            }),
            "half_open_trials",
        ),
    ]);
    for (cfg, field) in cases {
        let err = build(&cfg, "x".into(), 1)
            .err()
            .unwrap_or_else(|| panic!("{cfg:?} built"));
        let text = err.to_string();
        assert_eq!(field_of(err), field, "{cfg:?}: {text}");
        assert!(text.starts_with(field), "{text}");
    }
    // Valid configs build, keep their names.
    for cfg in [
        LayerConfig::Drawdown(dd),
        LayerConfig::VolTarget(vt),
        LayerConfig::Kelly(KellyConfig {
            fraction: 0.25,
            window: 100,
            min_trades: 20,
        }),
        LayerConfig::Confidence(cc),
        LayerConfig::Panic(pc),
        LayerConfig::CircuitBreaker(bc),
    ] {
        let l = build(&cfg, cfg.kind().to_string(), 3).unwrap();
        assert_eq!(l.name(), cfg.kind());
    }
    assert_eq!(
        field_of(
            build(
                &LayerConfig::CircuitBreaker(BreakerConfig {
                    failure_threshold: 1,
                    cooldown_ns: 1,
                    half_open_trials: 1
                }),
                String::new(),
                1
            )
            .err()
            .unwrap()
        ),
        "name"
    );
}

// ---- state (checkpoints) -------------------------------------------------------------------

/// A layer's saved state loads into a fresh layer of the same configuration, which then saves
/// the same and decides the same; another configuration is refused.
#[test]
fn every_layer_saves_and_loads_its_state() {
    // drawdown in REDUCING with its high-water mark
    let mut w = World::new(1000);
    let mut g = drawdown(0.1, 0.2, None);
    w.trade(Side::Buy, 1000, 10);
    g.on_bar(&w.bar(1000), &w.view());
    w.mark(900);
    g.on_bar(&w.bar(900), &w.view());
    let saved = g.save();
    assert_eq!(saved["hwm"], 1000.0);
    let mut h = drawdown(0.1, 0.2, None);
    h.load(&saved).unwrap();
    assert_eq!(h.save(), saved);
    assert_eq!(h.wish(), wish(TradingState::Reducing, RiskReason::Drawdown));
    assert_eq!(
        h.check(&buy(1), &w.view()),
        Verdict::Veto(RiskReason::Drawdown)
    );
    let e = drawdown(0.1, 0.3, None)
        .load(&saved)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("checkpoint: layer \"dd\"") && e.contains("configuration"),
        "{e}"
    );

    // the panic layer's spread window, and a confidence layer that judged nothing yet (NaN)
    let mut p = panic_layer(PanicConfig {
        spread_k: Some(2.0),
        ..panic_cfg()
    });
    for (t, s) in [(1, 10), (2, 10), (3, 12), (4, 8), (6, 23)] {
        p.on_quote(0, t, 10_000, 10_000 + s);
    }
    let mut q = panic_layer(PanicConfig {
        spread_k: Some(2.0),
        ..panic_cfg()
    });
    q.load(&p.save()).unwrap();
    assert_eq!(q.wish(), p.wish());
    assert_eq!(q.spread_median(0), p.spread_median(0));
    let c = confidence(0.5);
    let text = c.save().to_string();
    assert!(
        text.contains("\"NaN\""),
        "a NaN is written as a string: {text}"
    );
    let mut d = confidence(0.5);
    d.load(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(d.save(), c.save());

    // kelly, vol target (rolling and GARCH), breaker: a round trip
    let mut layers: Vec<(Box<dyn RiskLayer>, Box<dyn RiskLayer>)> = vec![
        (Box::new(kelly(0.25, 10, 10)), Box::new(kelly(0.25, 10, 10))),
        (
            Box::new(vol(VolEstimator::Rolling { window: 5 }, 0.5, 0.0, 2.0)),
            Box::new(vol(VolEstimator::Rolling { window: 5 }, 0.5, 0.0, 2.0)),
        ),
    ];
    let breaker = || {
        CircuitBreaker::new(
            BreakerConfig {
                failure_threshold: 2,
                cooldown_ns: 10,
                half_open_trials: 1,
            },
            "cb".into(),
        )
        .unwrap()
    };
    layers.push((Box::new(breaker()), Box::new(breaker())));
    for (a, b) in &mut layers {
        for px in [1000, 1010, 990, 1005, 1020, 980, 1000] {
            w.mark(px);
            a.on_bar(&w.bar(px), &w.view());
        }
        let s = a.save();
        b.load(&s).unwrap();
        assert_eq!(b.save(), s, "{}", a.name());
        assert_eq!(b.wish(), a.wish());
    }
    let breaker_state = layers[2].0.save();
    let e = layers[0].1.load(&breaker_state).unwrap_err().to_string();
    assert!(e.contains("checkpoint: layer \"kelly\""), "{e}");
}
