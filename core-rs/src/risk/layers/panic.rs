//! Panic conditions (see [`PanicConfig`]).

use super::PanicConfig;
use crate::error::CoreResult;
use crate::model::bar::Bar;
use crate::model::order::{Fill, OrderEvent, OrderEventKind, OrderKind, OrderSpec, Reason};
use crate::risk::explain::{figure, secs, shown_vs, sig3, utc};
use crate::risk::{Hooks, RiskLayer, RiskReason, RiskView, StateWish, TradingState, Verdict};

const STALE: usize = 0;
const SPREAD: usize = 1;
const SLIPPAGE: usize = 2;
const REJECTS: usize = 3;
const REASONS: [RiskReason; 4] = [
    RiskReason::StaleData,
    RiskReason::WideSpread,
    RiskReason::Slippage,
    RiskReason::ConsecutiveRejects,
];

/// What each condition measured when it last held.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Seen {
    /// Instrument and age of its data (ns).
    stale: (u32, i64),
    /// Instrument, spread and median (raw price units), mid (raw).
    spread: (u32, i64, f64, i64),
    /// Order id and |fill − reference| in bps of the reference.
    slippage: (u64, f64),
    rejects: u32,
}

/// Panic conditions; each one, when it holds at time t, makes the layer wish `state` for
/// t < t_last_held + `cooldown_ns` (released at exactly that time, engine clock; the clock is
/// the latest time the layer saw in any call).
///
/// - stale data: at order time, `view.ts − view.last_data_ts[instrument] > stale_ns` → veto
///   `StaleData` (any order) and wish. `i64::MIN` (no data yet) counts as stale; an instrument
///   with no entry in `last_data_ts` is not watched.
/// - wide spread: a quote whose spread (ask − bid) > `spread_k` × the median of the previous
///   `spread_window` spreads of that instrument (judged once the window is full and its median
///   is > 0; crossed or one-sided quotes are ignored). O(window) per quote (sorted window).
/// - slippage: a fill whose |fill px − reference| > `slippage_k` × `expected_slippage_bps` ×
///   reference, where the reference is the order's arrival price for market orders and its
///   trigger for stop-market / market-if-touched / trailing stop-market orders. Limit-type
///   orders never fill beyond their limit and are not judged; liquidations neither.
/// - consecutive rejects: venue rejects and denials (except the risk engine's own denials,
///   which would otherwise prolong the pause they cause) in a row, reset by an acceptance or a
///   fill; ≥ `max_consecutive_rejects` → wish.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PanicConditions {
    name: String,
    cfg: PanicConfig,
    now: i64,
    /// The latest time any condition held, and which one (the lowest index on a tie): the one
    /// that names the wish, since every condition has the same cool-down.
    latest: i64,
    latest_cond: usize,
    rejects: u32,
    /// The numbers of each condition when it last held (for [`RiskLayer::explain`]).
    seen: Seen,
    /// Per instrument, `spread_window` slots each: spreads in arrival order (a ring) and the
    /// same spreads sorted.
    ring: Vec<i64>,
    sorted: Vec<i64>,
    head: Vec<usize>,
    count: Vec<usize>,
}

impl PanicConditions {
    pub fn new(cfg: PanicConfig, name: String, n_instruments: usize) -> CoreResult<Self> {
        cfg.validate()?;
        let slots = if cfg.spread_k.is_some() {
            cfg.spread_window * n_instruments
        } else {
            0
        };
        Ok(Self {
            name,
            now: i64::MIN,
            latest: i64::MIN,
            latest_cond: 0,
            rejects: 0,
            seen: Seen::default(),
            ring: vec![0; slots],
            sorted: vec![0; slots],
            head: vec![0; n_instruments],
            count: vec![0; n_instruments],
            cfg,
        })
    }

    fn tick(&mut self, ts: i64) {
        self.now = self.now.max(ts);
    }

    fn hold(&mut self, cond: usize, ts: i64) {
        self.tick(ts);
        if ts > self.latest || (ts == self.latest && cond < self.latest_cond) {
            self.latest = ts;
            self.latest_cond = cond;
        }
    }

    /// Whether a condition still holds (the one that held last is within its cool-down; the
    /// others held earlier, so they are released no later).
    fn held(&self) -> bool {
        self.latest != i64::MIN && self.now < self.latest.saturating_add(self.cfg.cooldown_ns)
    }

    /// Consecutive rejects counted so far.
    pub fn consecutive_rejects(&self) -> u32 {
        self.rejects
    }

    /// The median of the spread window of `instrument` (None until the window is full).
    pub fn spread_median(&self, instrument: usize) -> Option<f64> {
        let w = self.cfg.spread_window;
        if self.cfg.spread_k.is_none() || *self.count.get(instrument)? < w {
            return None;
        }
        let s = &self.sorted[instrument * w..(instrument + 1) * w];
        Some(if w % 2 == 1 {
            s[w / 2] as f64
        } else {
            (s[w / 2 - 1] as f64 + s[w / 2] as f64) / 2.0
        })
    }

    fn push_spread(&mut self, i: usize, spread: i64) {
        let w = self.cfg.spread_window;
        let n = self.count[i];
        let ring = &mut self.ring[i * w..(i + 1) * w];
        let sorted = &mut self.sorted[i * w..(i + 1) * w];
        let len = if n == w {
            // Take the oldest out of the sorted window.
            let old = ring[self.head[i]];
            let at = sorted[..w].partition_point(|&x| x < old);
            sorted.copy_within(at + 1..w, at);
            w - 1
        } else {
            self.count[i] += 1;
            n
        };
        let at = sorted[..len].partition_point(|&x| x < spread);
        sorted.copy_within(at..len, at + 1);
        sorted[at] = spread;
        ring[self.head[i]] = spread;
        self.head[i] = (self.head[i] + 1) % w;
    }
}

impl RiskLayer for PanicConditions {
    fn name(&self) -> &str {
        &self.name
    }

    builtin_layer_state!();

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        self.tick(view.ts);
        if let Some(stale) = self.cfg.stale_ns
            && let Some(&last) = view.last_data_ts.get(spec.instrument as usize)
            && view.ts.saturating_sub(last) > stale
        {
            self.seen.stale = (spec.instrument, view.ts.saturating_sub(last));
            self.hold(STALE, view.ts);
            return Verdict::Veto(RiskReason::StaleData);
        }
        Verdict::Pass
    }

    /// The bar hook moves the clock (a held wish is released by time); the others only for
    /// the conditions configured.
    fn hooks(&self) -> Hooks {
        Hooks {
            check: self.cfg.stale_ns.is_some(),
            bar: true,
            quote: self.cfg.spread_k.is_some(),
            fill: self.cfg.slippage_k.is_some(),
            event: self.cfg.max_consecutive_rejects.is_some(),
        }
    }

    fn on_bar(&mut self, _bar: &Bar, view: &RiskView<'_>) {
        self.tick(view.ts);
    }

    fn on_quote(&mut self, instrument: u32, ts: i64, bid: i64, ask: i64) {
        self.tick(ts);
        let Some(k) = self.cfg.spread_k else {
            return;
        };
        let i = instrument as usize;
        if i >= self.count.len() || bid <= 0 || ask < bid {
            return;
        }
        let spread = ask - bid;
        if let Some(m) = self.spread_median(i)
            && m > 0.0
            && spread as f64 > k * m
        {
            self.seen.spread = (instrument, spread, m, bid + (ask - bid) / 2);
            self.hold(SPREAD, ts);
        }
        self.push_spread(i, spread);
    }

    fn on_fill(&mut self, fill: &Fill, view: &RiskView<'_>) {
        self.tick(fill.ts.max(view.ts));
        let Some(k) = self.cfg.slippage_k else {
            return;
        };
        if fill.liquidation {
            return;
        }
        let Some(o) = view.orders.get(fill.order_id) else {
            return;
        };
        let reference = match o.spec.kind {
            OrderKind::Market => o.arrival_px,
            OrderKind::StopMarket { .. }
            | OrderKind::MarketIfTouched { .. }
            | OrderKind::TrailingStopMarket { .. } => o.trigger_price(),
            _ => None,
        };
        let Some(reference) = reference.filter(|&r| r > 0) else {
            return;
        };
        let bound = k * self.cfg.expected_slippage_bps * 1e-4 * reference as f64;
        if (fill.px - reference).abs() as f64 > bound {
            let bps = (fill.px - reference).abs() as f64 / reference as f64 * 1e4;
            self.seen.slippage = (fill.order_id, bps);
            self.hold(SLIPPAGE, fill.ts);
        }
    }

    fn on_event(&mut self, event: &OrderEvent, _view: &RiskView<'_>) {
        self.tick(event.ts);
        match event.kind {
            OrderEventKind::Rejected(_) => self.rejects += 1,
            OrderEventKind::Denied(r) if !matches!(r, Reason::Risk(_)) => self.rejects += 1,
            OrderEventKind::Accepted
            | OrderEventKind::PartiallyFilled { .. }
            | OrderEventKind::Filled { .. } => {
                self.rejects = 0;
                return;
            }
            _ => return,
        }
        if let Some(max) = self.cfg.max_consecutive_rejects
            && self.rejects >= max
        {
            self.seen.rejects = self.rejects;
            self.hold(REJECTS, event.ts);
        }
    }

    fn wish(&self) -> StateWish {
        // The condition that held last names the wish.
        if self.held() {
            StateWish {
                state: self.cfg.state,
                reason: REASONS[self.latest_cond],
            }
        } else {
            StateWish {
                state: TradingState::Active,
                reason: RiskReason::StaleData,
            }
        }
    }

    /// True while a wish is held: the layer must see the clock move to release it.
    fn needs_every_bar(&self) -> bool {
        self.held()
    }

    /// The condition that held last, with its numbers ("market data of instrument 0 is 125 s
    /// old > stale limit 60 s"), and how long it holds the state; None if none ever held.
    fn explain(&self) -> Option<String> {
        if self.latest == i64::MIN {
            return None;
        }
        let c = &self.cfg;
        let what = match self.latest_cond {
            STALE => {
                let (i, age) = self.seen.stale;
                format!(
                    "market data of instrument {i} is {} old > stale limit {}",
                    secs(age),
                    secs(c.stale_ns.unwrap_or(0))
                )
            }
            SPREAD => {
                let (i, spread, median, mid) = self.seen.spread;
                let k = c.spread_k.unwrap_or(f64::NAN);
                let bps = |x: f64| sig3(x / mid.max(1) as f64 * 1e4);
                format!(
                    "instrument {i}: spread {} bps is {} × its median {} bps over the last {} quotes > spread_k {}",
                    bps(spread as f64),
                    shown_vs(spread as f64 / median, k, 1),
                    bps(median),
                    c.spread_window,
                    figure(k)
                )
            }
            SLIPPAGE => {
                let (id, bps) = self.seen.slippage;
                let k = c.slippage_k.unwrap_or(f64::NAN);
                let bound = k * c.expected_slippage_bps;
                format!(
                    "fill of order {id} slipped {} bps from its reference price > slippage_k {} × expected {} bps = {} bps",
                    shown_vs(bps, bound, 1),
                    figure(k),
                    figure(c.expected_slippage_bps),
                    figure(bound)
                )
            }
            _ => format!(
                "{} venue rejects in a row ≥ max_consecutive_rejects {}",
                self.seen.rejects,
                c.max_consecutive_rejects.unwrap_or(0)
            ),
        };
        let until = self.latest.saturating_add(c.cooldown_ns);
        Some(if self.held() {
            format!(
                "{what}: {} until {} (cool-down {})",
                c.state.as_str().to_uppercase(),
                utc(until),
                secs(c.cooldown_ns)
            )
        } else {
            format!(
                "{what} at {}, over after its cool-down of {}",
                utc(self.latest),
                secs(c.cooldown_ns)
            )
        })
    }
}
