//! The L2 loop through the risk engine, on the recorded usdm stream: the max-position boundary,
//! a HALTED start, the panic layer's wide-spread condition on real quotes, EMERGENCY.

use std::path::PathBuf;

use _core::book::MarketKind;
use _core::engine::ENGINE_ORDER_ID_BASE;
use _core::engine_l2::{
    L2Config, L2Run, L2Strategy, L2View, Outbox, PassiveMarketMaker, Wants, run_l2_files,
    run_l2_files_with,
};
use _core::error::CoreResult;
use _core::model::order::{
    Command, Fill, OrderEvent, OrderEventKind, OrderKind, OrderSpec, Reason, Side,
};
use _core::risk::checks::{InstrumentLimits, RiskLimits};
use _core::risk::layers::{LayerConfig, PanicConfig, build};
use _core::risk::{
    RiskConfig, RiskEngine, RiskLayer, RiskReason, RiskView, StateChange, StateWish, TradingState,
    Verdict,
};

fn recording() -> Option<PathBuf> {
    let d = match std::env::var_os("TRADER_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let p = d.join("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map(|v| v != "true").unwrap_or(true),
        "shared data missing under CI: {}",
        p.display()
    );
    eprintln!("shared data not found at {}: skipped", p.display());
    None
}

fn cfg() -> L2Config {
    let mut c = L2Config::new(MarketKind::UsdM);
    c.price_dp = Some(2);
    c.size_dp = Some(3);
    c
}

/// The structural checks and no free-balance check (the L2 account starts at zero cash).
fn no_balance() -> RiskLimits {
    RiskLimits {
        ..RiskLimits::default()
    }
}

fn engine(limits: RiskLimits, state: TradingState, layers: Vec<LayerConfig>) -> RiskEngine {
    let layers = layers
        .iter()
        .map(|l| build(l, "panic".into(), 1).unwrap())
        .collect();
    let config = RiskConfig {
        limits,
        initial_state: state,
        ..RiskConfig::default()
    };
    RiskEngine::new(config, layers, 1).unwrap()
}

/// Wraps a strategy and records what the risk engine told it (`events`: the events with a risk
/// reason; `all`: every order event it was handed).
struct Recorder<S> {
    inner: S,
    events: Vec<OrderEvent>,
    all: Vec<OrderEvent>,
    changes: Vec<StateChange>,
}

impl<S> Recorder<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            events: Vec::new(),
            all: Vec::new(),
            changes: Vec::new(),
        }
    }
}

impl<S: L2Strategy> L2Strategy for Recorder<S> {
    fn wants(&self) -> Wants {
        Wants {
            events: true,
            ..self.inner.wants()
        }
    }
    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
        self.inner.on_elapse(view, cmds)
    }
    fn on_fill(&mut self, view: &L2View<'_>, fill: &Fill, cmds: &mut Outbox) -> CoreResult<()> {
        self.inner.on_fill(view, fill, cmds)
    }
    fn on_event(
        &mut self,
        _view: &L2View<'_>,
        event: &OrderEvent,
        _cmds: &mut Outbox,
    ) -> CoreResult<()> {
        self.all.push(*event);
        if matches!(event.kind.reason(), Some(Reason::Risk(_))) {
            self.events.push(*event);
        }
        Ok(())
    }
    fn on_trading_state(
        &mut self,
        view: &L2View<'_>,
        change: &StateChange,
        _cmds: &mut Outbox,
    ) -> CoreResult<()> {
        assert_eq!(view.trading_state, change.to);
        self.changes.push(change.clone());
        Ok(())
    }
}

/// At its first wake-up: a market buy of `first` lots, then one of `second` lots.
struct TwoBuys {
    first: i64,
    second: i64,
    done: bool,
}

impl L2Strategy for TwoBuys {
    fn on_elapse(&mut self, _view: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
        if !self.done {
            self.done = true;
            for (id, qty) in [(1, self.first), (2, self.second)] {
                cmds.push(Command::Submit(OrderSpec::new(
                    id,
                    0,
                    Side::Buy,
                    OrderKind::Market,
                    qty,
                )));
            }
        }
        Ok(())
    }
    fn on_fill(&mut self, _: &L2View<'_>, _: &Fill, _: &mut Outbox) -> CoreResult<()> {
        Ok(())
    }
}

fn max_position(raw: i64) -> RiskLimits {
    RiskLimits {
        instruments: vec![InstrumentLimits {
            max_position: Some(raw),
            ..InstrumentLimits::default()
        }],
        ..RiskLimits::default()
    }
}

fn denials(run: &L2Run, r: RiskReason) -> u64 {
    run.risk.report().denials.get(&r).copied().unwrap_or(0)
}

fn two_buys(first: i64, second: i64) -> (L2Run, Recorder<TwoBuys>, i64) {
    let path = recording().expect("checked by the caller");
    let s = Recorder::new(TwoBuys {
        first,
        second,
        done: false,
    });
    let risk = engine(max_position(5), TradingState::Active, vec![]);
    let (r, s, run) = run_l2_files_with(&[&path], cfg(), s, Some(risk)).unwrap();
    assert_eq!(run.portfolio.positions[0].qty, r.position);
    assert_eq!(run.portfolio.cash, r.cash);
    (run, s, r.position)
}

#[test]
fn max_position_boundary_passes_at_the_limit_and_denies_one_lot_beyond() {
    if recording().is_none() {
        return;
    }
    // 4 lots, then 1: the second lands exactly on the limit (5 lots = 0.005 BTC) and passes.
    let (run, s, pos) = two_buys(4, 1);
    assert_eq!(pos, 5);
    assert!(run.orders.get(1).is_some() && run.orders.get(2).is_some());
    assert!(s.events.is_empty(), "{:?}", s.events);
    assert!(run.risk.report().denials.is_empty());
    // 5 lots (exactly the limit): through; one lot more: denied, and never reaches the venue.
    let (run, s, pos) = two_buys(5, 1);
    assert_eq!(pos, 5);
    assert_eq!(s.events.len(), 1, "{:?}", s.events);
    let e = s.events[0];
    assert_eq!(e.id, 2);
    assert_eq!(
        e.kind,
        OrderEventKind::Denied(Reason::Risk(RiskReason::MaxPosition))
    );
    assert!(
        run.orders.get(2).is_none(),
        "the denied order reached the venue"
    );
    assert!(run.fills.iter().all(|f| f.order_id == 1));
    assert!(run.events.contains(&e));
    // Every order event of the run reached the strategy, in order.
    assert_eq!(s.all, run.events);
    assert!(s.all.iter().any(|e| e.kind == OrderEventKind::Accepted));
    assert_eq!(denials(&run, RiskReason::MaxPosition), 1);
}

#[test]
fn halted_from_the_start_sends_nothing_and_the_strategy_hears_why() {
    let Some(path) = recording() else { return };
    let mm = Recorder::new(PassiveMarketMaker::new(2, 10, 0).unwrap());
    let risk = engine(no_balance(), TradingState::Halted, vec![]);
    let (r, s, run) = run_l2_files_with(&[&path], cfg(), mm, Some(risk)).unwrap();
    assert!(r.strategy_calls > 3000);
    assert_eq!((r.orders, r.fills, r.position), (0, 0, 0));
    assert_eq!(r.cash, r.initial_cash);
    assert!(run.orders.get(1).is_none());
    assert_eq!(s.changes.len(), 1);
    assert_eq!(s.changes[0].to, TradingState::Halted);
    assert_eq!(s.changes[0].source, "config");
    let halted = OrderEventKind::Denied(Reason::Risk(RiskReason::StateHalted));
    assert!(!s.events.is_empty());
    assert!(s.events.iter().all(|e| e.kind == halted), "{:?}", s.events);
    assert_eq!(
        denials(&run, RiskReason::StateHalted),
        s.events.len() as u64
    );
    let t = run.risk.report().time_in_state_ns;
    assert_eq!(t[TradingState::Active.index()], 0);
    assert_eq!(t[TradingState::Halted.index()], r.last_ts - r.first_ts);
}

fn panic_layer(spread_k: f64, state: TradingState) -> LayerConfig {
    LayerConfig::Panic(PanicConfig {
        stale_ns: None,
        spread_k: Some(spread_k),
        spread_window: 20,
        slippage_k: None,
        expected_slippage_bps: 1.0,
        max_consecutive_rejects: None,
        state,
        cooldown_ns: 1_000_000_000,
    })
}

#[test]
fn panic_layer_sees_real_quotes_and_pauses_on_a_wide_spread() {
    let Some(path) = recording() else { return };
    let run_with = |k: f64| {
        let mm = Recorder::new(PassiveMarketMaker::new(2, 10, 0).unwrap());
        let layers = vec![panic_layer(k, TradingState::Paused)];
        let risk = engine(no_balance(), TradingState::Active, layers);
        run_l2_files_with(&[&path], cfg(), mm, Some(risk)).unwrap()
    };
    let (r, s, run) = run_with(1.5);
    let changes = &run.risk.report().changes;
    let paused: Vec<_> = changes
        .iter()
        .filter(|c| c.to == TradingState::Paused)
        .collect();
    assert!(!paused.is_empty(), "{changes:?}");
    // the layer's own sentence: the spread, its median, the multiple and the limit
    assert!(
        paused.iter().all(|c| c.source == "panic"
            && c.reason.starts_with("instrument 0: spread ")
            && c.reason.contains("× its median")
            && c.reason.contains("> spread_k 1.5")),
        "{paused:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.reason.starts_with("condition cleared"))
    );
    assert!(paused[0].ts >= r.first_ts && paused[0].ts <= r.last_ts);
    assert_eq!(&s.changes, changes, "every change reached the strategy");
    assert!(denials(&run, RiskReason::StatePaused) > 0);
    assert!(
        s.events
            .iter()
            .any(|e| e.kind == OrderEventKind::Denied(Reason::Risk(RiskReason::StatePaused)))
    );
    assert!(run.risk.report().time_in_state_ns[TradingState::Paused.index()] > 0);
    // A spread never 1000x its median on this stream: the same run as without the layer.
    let (quiet, _, quiet_run) = run_with(1000.0);
    let (plain, _, _) =
        run_l2_files(&[&path], cfg(), PassiveMarketMaker::new(2, 10, 0).unwrap()).unwrap();
    assert!(quiet_run.risk.report().changes.is_empty());
    assert_eq!(
        (quiet.orders, quiet.fills, quiet.position, quiet.cash),
        (plain.orders, plain.fills, plain.position, plain.cash)
    );
    assert!(r.orders < plain.orders);
}

/// A layer that asks for EMERGENCY from the first fill on.
struct PanicOnFill(bool);

impl RiskLayer for PanicOnFill {
    fn name(&self) -> &str {
        "panic_on_fill"
    }
    fn check(&mut self, _: &OrderSpec, _: &RiskView<'_>) -> Verdict {
        Verdict::Pass
    }
    fn on_fill(&mut self, _: &Fill, _: &RiskView<'_>) {
        self.0 = true;
    }
    fn wish(&self) -> StateWish {
        StateWish {
            state: if self.0 {
                TradingState::Emergency
            } else {
                TradingState::Active
            },
            reason: RiskReason::LayerVeto,
        }
    }
}

#[test]
fn emergency_cancels_working_orders_and_flattens() {
    let Some(path) = recording() else { return };
    // At the first wake-up: a deep resting bid (order 1), then a market buy of 5 lots (order 2),
    // whose fill makes the layer ask for EMERGENCY.
    struct RestThenBuy(bool);
    impl L2Strategy for RestThenBuy {
        fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
            if !self.0 {
                self.0 = true;
                let bid = view.book.best_bid().unwrap().px;
                let deep = OrderKind::Limit { px: bid - 100_000 };
                cmds.push(Command::Submit(OrderSpec::new(1, 0, Side::Buy, deep, 1)));
                let mkt = OrderKind::Market;
                cmds.push(Command::Submit(OrderSpec::new(2, 0, Side::Buy, mkt, 5)));
                cmds.push(Command::Submit(OrderSpec::new(3, 0, Side::Buy, mkt, 1)));
            }
            Ok(())
        }
        fn on_fill(&mut self, _: &L2View<'_>, _: &Fill, _: &mut Outbox) -> CoreResult<()> {
            Ok(())
        }
    }
    let config = RiskConfig {
        limits: RiskLimits {
            ..RiskLimits::default()
        },
        ..RiskConfig::default()
    };
    let risk = RiskEngine::new(config, vec![Box::new(PanicOnFill(false))], 1).unwrap();
    let s = Recorder::new(RestThenBuy(false));
    let (r, s, run) = run_l2_files_with(&[&path], cfg(), s, Some(risk)).unwrap();
    let changes = &run.risk.report().changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].to, TradingState::Emergency);
    assert_eq!(s.changes, *changes);
    assert_eq!(r.position, 0, "flattened");
    let flat: Vec<_> = run
        .fills
        .iter()
        .filter(|f| f.order_id > ENGINE_ORDER_ID_BASE)
        .collect();
    assert!(!flat.is_empty() && flat.iter().all(|f| f.side == Side::Sell));
    assert_eq!(flat.iter().map(|f| f.qty).sum::<i64>(), 5);
    let o = run.orders.get(flat[0].order_id).unwrap();
    assert!(o.spec.reduce_only);
    // The resting bid was canceled by the engine; the order after the fill never went out.
    let canceled = OrderEventKind::Canceled(Reason::Risk(RiskReason::StateEmergency));
    assert!(
        s.events.iter().any(|e| e.id == 1 && e.kind == canceled),
        "{:?}",
        s.events
    );
    assert!(!run.orders.get(1).unwrap().status.is_working());
    let emergency = OrderEventKind::Denied(Reason::Risk(RiskReason::StateEmergency));
    assert!(s.events.iter().any(|e| e.id == 3 && e.kind == emergency));
    assert!(run.orders.get(3).is_none());
    let audit = run.risk.audit();
    assert!(
        audit
            .entries()
            .iter()
            .any(|e| e.to == "EMERGENCY" || e.to == "emergency")
    );
}
