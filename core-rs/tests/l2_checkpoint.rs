//! Engine checkpoints: the native market maker on the recorded usdm stream, with log-normal
//! latency, rate limits, the drawdown guard and the circuit breaker, bars and a timer, cut at
//! many points (checkpoint, a fresh engine, restore, feed the rest) ends exactly where the
//! uninterrupted run ends. A blob of another configuration is refused. The write-ahead journal
//! sees every command before it leaves, and its error stops the command.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use _core::book::MarketKind;
use _core::engine_l2::{
    Journal, L2Backtest, L2Config, L2Report, L2Run, L2Strategy, L2View, Op, Outbox,
    PassiveMarketMaker, Wants,
};
use _core::error::{CoreError, CoreResult};
use _core::model::Bar;
use _core::model::order::{Command, OrderEvent};
use _core::risk::bucket::RateLimit;
use _core::risk::checks::RiskLimits;
use _core::risk::layers::{BreakerConfig, DrawdownConfig, LayerConfig, build};
use _core::risk::{RiskConfig, RiskEngine, TradingState};
use _core::venue::{Latency, LatencyConfig};

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

fn lines(p: &PathBuf) -> Vec<String> {
    let mut out = Vec::new();
    _core::data::replay::each_line(std::slice::from_ref(p), |l| {
        out.push(l.to_string());
        Ok(true)
    })
    .unwrap();
    out
}

fn cfg() -> L2Config {
    let mut c = L2Config::new(MarketKind::UsdM);
    c.price_dp = Some(2);
    c.size_dp = Some(3);
    c.elapse_ns = 200_000_000;
    c.maker_fee_bps = -0.5;
    c.taker_fee_bps = 4.0;
    let leg = Latency::LogNormal {
        median_ns: 20_000_000,
        sigma: 0.8,
    };
    c.latency = LatencyConfig {
        submit: leg,
        cancel: leg,
        modify: leg,
        seed: 42,
    };
    c.bar_ns = Some(1_000_000_000);
    c.initial_cash = 100_000 * _core::model::fixed::pow10(_core::model::MONEY_DP);
    c
}

fn risk() -> RiskEngine {
    let layers = vec![
        build(
            &LayerConfig::Drawdown(DrawdownConfig {
                soft: Some(0.000005),
                hard: None,
                hard_state: TradingState::Halted,
                daily_loss: None,
            }),
            "drawdown".into(),
            1,
        )
        .unwrap(),
        build(
            &LayerConfig::CircuitBreaker(BreakerConfig {
                failure_threshold: 2,
                cooldown_ns: 3_000_000_000,
                half_open_trials: 1,
            }),
            "breaker".into(),
            1,
        )
        .unwrap(),
    ];
    let limits = RiskLimits {
        submit_rate: Some(RateLimit {
            capacity: 4,
            interval_ns: 1_000_000_000,
        }),
        ..RiskLimits::default()
    };
    let config = RiskConfig {
        limits,
        ..RiskConfig::default()
    };
    RiskEngine::new(config, layers, 1).unwrap()
}

/// The native market maker, plus a timer (every 0.7 s it counts, and every third firing
/// cancels everything), bars and order events counted: state of its own beside the maker's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Probe {
    mm: PassiveMarketMaker,
    timer_set: bool,
    timers: u64,
    bars: u64,
    events: u64,
    last_bar_close: i64,
}

impl Probe {
    fn new() -> Self {
        Self {
            mm: PassiveMarketMaker::new(2, 6, 0).unwrap(),
            timer_set: false,
            timers: 0,
            bars: 0,
            events: 0,
            last_bar_close: 0,
        }
    }
}

impl L2Strategy for Probe {
    fn wants(&self) -> Wants {
        Wants {
            book: true,
            trades: false,
            quotes: false,
            bars: true,
            events: true,
        }
    }
    fn on_elapse(&mut self, view: &L2View<'_>, out: &mut Outbox) -> CoreResult<()> {
        if !self.timer_set {
            self.timer_set = true;
            out.op(Op::Timer {
                name: "tick".into(),
                interval_ns: 700_000_000,
                start: None,
            });
        }
        self.mm.on_elapse(view, out)
    }
    fn on_timer(
        &mut self,
        _view: &L2View<'_>,
        _name: &str,
        _ts: i64,
        out: &mut Outbox,
    ) -> CoreResult<()> {
        self.timers += 1;
        if self.timers.is_multiple_of(3) {
            out.push(Command::CancelAll { instrument: None });
        }
        Ok(())
    }
    fn on_bar(&mut self, _view: &L2View<'_>, bar: &Bar, _out: &mut Outbox) -> CoreResult<()> {
        self.bars += 1;
        self.last_bar_close = bar.close;
        Ok(())
    }
    fn on_event(&mut self, _v: &L2View<'_>, _e: &OrderEvent, _o: &mut Outbox) -> CoreResult<()> {
        self.events += 1;
        Ok(())
    }
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        Ok(Some(bincode::serialize(self).unwrap()))
    }
    fn load(&mut self, state: &[u8]) -> CoreResult<()> {
        *self = bincode::deserialize(state).map_err(|e| CoreError::InvalidArgument {
            name: "checkpoint",
            reason: e.to_string(),
        })?;
        Ok(())
    }
}

fn engine() -> L2Backtest<Probe> {
    let mut bt = L2Backtest::new(cfg(), Probe::new()).unwrap();
    bt.set_risk(risk());
    bt
}

/// Everything a run ends with, comparable: the report (but the elapsed time), orders, fills,
/// events, account, audit entries, the risk report and state, the strategy.
fn outcome(r: L2Report, s: Probe, run: L2Run) -> (String, Vec<u8>, String, String, String) {
    let mut r = r;
    r.elapsed_s = 0.0;
    let orders = bincode::serialize(&run.orders).unwrap();
    let rest = format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        run.fills, run.events, run.portfolio, s
    );
    let risk = format!(
        "{:?}\n{:?}\n{:?}",
        run.risk.audit().entries(),
        run.risk.report(),
        run.risk.state()
    );
    (
        format!("{r:?}"),
        orders,
        rest,
        risk,
        format!("{:?}", run.instrument),
    )
}

#[test]
fn a_run_cut_at_many_points_ends_where_the_uninterrupted_one_ends() {
    let Some(p) = recording() else { return };
    let lines = lines(&p);
    let mut whole = engine();
    for l in &lines {
        whole.feed_line(l).unwrap();
    }
    let t0 = Instant::now();
    let blob = whole.checkpoint().unwrap();
    let took = t0.elapsed();
    eprintln!(
        "checkpoint at the end of {} ({} lines): {} bytes in {:.2} ms",
        p.display(),
        lines.len(),
        blob.len(),
        took.as_secs_f64() * 1e3
    );
    let (wr, ws, wrun) = whole.finish();
    assert!(wr.fills > 20, "the maker must trade: {} fills", wr.fills);
    assert!(wr.timer_calls > 20 && wr.bars > 20, "{wr:?}");
    assert!(
        !wrun.risk.report().denials.is_empty(),
        "the rate limit or a layer must deny: {:?}",
        wrun.risk.report()
    );
    assert!(
        !wrun.risk.report().changes.is_empty(),
        "the drawdown guard must change the state: {wr:?} {:?}",
        wrun.risk.report()
    );
    let want = outcome(wr, ws, wrun);

    // 25 cuts, the first in the first lines (before the book syncs), then spread out
    let n = lines.len();
    let mut cuts: Vec<usize> = vec![3, 50];
    cuts.extend((1..=23).map(|k| k * n / 24 + k * 7));
    cuts.retain(|&c| c < n);
    let mut bt = engine();
    let mut from = 0;
    for &cut in &cuts {
        for l in &lines[from..cut] {
            bt.feed_line(l).unwrap();
        }
        from = cut;
        let blob = bt.checkpoint().unwrap();
        let mut fresh = engine();
        fresh.restore(&blob).unwrap();
        // (hash maps may list their entries in another order: the size is what must match)
        assert_eq!(
            fresh.checkpoint().unwrap().len(),
            blob.len(),
            "restored state re-encodes to the same size"
        );
        bt = fresh;
    }
    for l in &lines[from..] {
        bt.feed_line(l).unwrap();
    }
    let (gr, gs, grun) = bt.finish();
    let got = outcome(gr, gs, grun);
    assert_eq!(got.0, want.0, "report");
    assert!(got.1 == want.1, "orders");
    assert_eq!(got.2, want.2, "fills, events, account, strategy");
    assert_eq!(got.3, want.3, "audit, risk report and state");
    assert_eq!(got.4, want.4);
}

#[test]
fn a_blob_of_another_configuration_or_a_damaged_one_is_refused() {
    let Some(p) = recording() else { return };
    let lines = lines(&p);
    let mut bt = engine();
    for l in &lines[..2_000] {
        bt.feed_line(l).unwrap();
    }
    let blob = bt.checkpoint().unwrap();
    let err = |e: CoreError| e.to_string();

    let mut other = cfg();
    other.elapse_ns = 300_000_000;
    let mut b2 = L2Backtest::new(other, Probe::new()).unwrap();
    b2.set_risk(risk());
    let e = err(b2.restore(&blob).unwrap_err());
    assert!(
        e.contains("checkpoint: ") && e.contains("another configuration"),
        "{e}"
    );

    let mut b3 = L2Backtest::new(cfg(), Probe::new()).unwrap(); // no risk layers
    let e = err(b3.restore(&blob).unwrap_err());
    assert!(e.contains("another configuration"), "{e}");

    let mut b4 = L2Backtest::new(cfg(), PassiveMarketMaker::new(2, 6, 0).unwrap()).unwrap();
    b4.set_risk(risk());
    assert!(b4.restore(&blob).is_err(), "another strategy type");

    let mut b5 = engine();
    let e = err(b5.restore(&blob[..blob.len() / 2]).unwrap_err());
    assert!(e.contains("checkpoint: damaged"), "{e}");
    let e = err(b5.restore(b"not a checkpoint at all, really").unwrap_err());
    assert!(e.contains("checkpoint: not a checkpoint"), "{e}");
    let mut v = blob.clone();
    v[8] = v[8].wrapping_add(1); // the version
    let e = err(b5.restore(&v).unwrap_err());
    assert!(e.contains("layout version"), "{e}");
    // a refused blob changed nothing: the engine still runs as a fresh one
    b5.restore(&blob).unwrap();
    assert_eq!(b5.checkpoint().unwrap().len(), blob.len());
}

/// Records every command; fails from the `fail_at`-th on.
struct Log {
    seen: Rc<RefCell<Vec<(Command, i64)>>>,
    fail_at: usize,
}

impl Journal for Log {
    fn write_ahead(&mut self, cmd: &Command, ts: i64) -> CoreResult<()> {
        let mut s = self.seen.borrow_mut();
        if s.len() + 1 >= self.fail_at {
            return Err(CoreError::InvalidArgument {
                name: "journal",
                reason: "disk full".into(),
            });
        }
        s.push((cmd.clone(), ts));
        Ok(())
    }
}

#[test]
fn the_journal_sees_every_command_before_it_leaves_and_its_error_stops_it() {
    let Some(p) = recording() else { return };
    let lines = lines(&p);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut bt = engine();
    bt.set_journal(Some(Box::new(Log {
        seen: seen.clone(),
        fail_at: usize::MAX,
    })));
    for l in &lines[..20_000] {
        bt.feed_line(l).unwrap();
    }
    let submits = seen
        .borrow()
        .iter()
        .filter(|(c, _)| matches!(c, Command::Submit(_)))
        .count() as u64;
    assert!(submits > 5);
    assert_eq!(
        submits,
        bt.report().orders,
        "every order that left was journaled"
    );
    // every journaled submit is an order whose first event is at or after the journal's time
    for (c, ts) in seen.borrow().iter() {
        if let Command::Submit(spec) = c {
            let first = bt
                .events()
                .iter()
                .find(|e| e.order_id() == spec.id)
                .unwrap();
            assert!(first.ts >= *ts);
        }
    }

    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut bt = engine();
    bt.set_journal(Some(Box::new(Log {
        seen: seen.clone(),
        fail_at: 1,
    })));
    let mut failed = None;
    for (i, l) in lines[..20_000].iter().enumerate() {
        if let Err(e) = bt.feed_line(l) {
            failed = Some((i, e.to_string()));
            break;
        }
    }
    let (_, msg) = failed.expect("the first command fails");
    assert!(msg.contains("disk full"), "{msg}");
    assert_eq!(bt.report().orders, 0, "no order left");
    assert!(bt.matcher().working().is_empty());
    assert!(bt.events().iter().all(|e| !matches!(
        e.kind,
        _core::model::order::OrderEventKind::Submitted
            | _core::model::order::OrderEventKind::Accepted
    )));
}
