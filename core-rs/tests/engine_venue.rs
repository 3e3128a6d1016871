//! The engine on the new venue: quiet spans are only taken when nothing can trade, so a working
//! stop or a command in flight is matched on bars the handler would have skipped.

use _core::engine::{Backtest, Handler};
use _core::error::CoreError;
use _core::model::{Bar, BarColumns, Command, Instrument, OrderKind, OrderSpec, Side};
use _core::venue::{LatencyConfig, VenueConfig};

/// Sends its commands on bar 0, then asks to see no bar at all (as a vectorized handler with no
/// further decisions does).
struct OnceThenQuiet(Vec<Command>, usize);

impl Handler for OnceThenQuiet {
    type Error = CoreError;
    fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }
    fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, _i: usize) -> Result<(), CoreError> {
        self.1 += 1;
        for c in self.0.drain(..) {
            bt.submit(c);
        }
        Ok(())
    }
    fn quiet_until(&self, i: usize, n: usize) -> usize {
        if self.0.is_empty() { n } else { i }
    }
}

const MIN: i64 = 60_000_000_000;

fn run(cfg: VenueConfig, cmds: Vec<Command>) -> (Backtest, usize) {
    let ts: Vec<i64> = (0..8).map(|i| i * MIN).collect();
    let o = [100.0, 100.0, 101.0, 102.0, 103.0, 104.0, 106.0, 107.0];
    let c = [100.0, 101.0, 102.0, 103.0, 104.0, 106.0, 107.0, 108.0];
    let v = [1.0; 8];
    let cols = BarColumns {
        ts: &ts,
        open: &o,
        high: &c,
        low: &o,
        close: &c,
        volume: &v,
        instrument: None,
    };
    let inst = Instrument::new("X", 2, 0).unwrap();
    let mut bt = Backtest::new(vec![inst], cfg, 1e6).unwrap();
    let mut h = OnceThenQuiet(cmds, 0);
    bt.run(&cols, &mut h).unwrap();
    bt.finish();
    let seen = h.1;
    (bt, seen)
}

#[test]
fn a_working_stop_is_matched_across_quiet_bars() {
    let stop = Command::Submit(OrderSpec::new(
        1,
        0,
        Side::Buy,
        OrderKind::StopMarket { trigger: 10_500 },
        1,
    ));
    let (bt, seen) = run(VenueConfig::default(), vec![stop]);
    // bar 5 (open 104, close/high 106) rises through 105
    assert_eq!(bt.fills.len(), 1);
    assert_eq!((bt.fills[0].ts, bt.fills[0].px), (5 * MIN, 10_500));
    assert_eq!(bt.position_raw(0), 1);
    // bars are stepped (and shown to the handler) while the stop works: 0..=5; then skipped
    assert_eq!(seen, 6, "bars stepped until the order closed");
    assert_eq!(bt.curve.equity.len(), 8);
}

#[test]
fn a_command_in_flight_keeps_bars_stepped() {
    let cfg = VenueConfig {
        latency: LatencyConfig::constant(3 * MIN, 0, 0),
        ..VenueConfig::default()
    };
    let market = Command::Submit(OrderSpec::new(1, 0, Side::Buy, OrderKind::Market, 1));
    let (bt, _) = run(cfg, vec![market]);
    // sent at 0, arrives at 3 min: fills at bar 3's open
    assert_eq!(bt.fills.len(), 1);
    assert_eq!((bt.fills[0].ts, bt.fills[0].px), (3 * MIN, 10_200));
}
