//! The bar loop: data → venue (settle) → strategy → venue (new orders) → portfolio.
//!
//! One [`Backtest`] runs bars of one or many instruments, merged by timestamp upstream, in
//! batches (call [`Backtest::run`] once per batch, then [`Backtest::finish`]). For each bar:
//! 1. the venue delivers the commands that arrived by the bar's time (latency), then matches the
//!    working orders of the bar's instrument along the intrabar path (see [`crate::venue::bars`])
//!    and the fills go to the portfolio;
//! 2. the instrument is marked at the bar's close;
//! 3. order events are handed to the handler, then the handler sees the bar (the Python
//!    strategy, or a vectorized decision array: both go through the same [`Handler`] trait, so
//!    they share the venue and the portfolio, and give the same fills for the same decisions);
//! 4. commands the handler issued go to the venue at once (close-mode market orders fill here);
//! 5. when the timestamp advances, one equity point is recorded.
//!
//! **Commands** take the path every mode shares ([`crate::exec`]: this loop is an
//! [`exec::Host`] whose venue is the simulated bar venue, [`crate::venue`]): every command of
//! the handler passes [`Backtest::risk`] first ([`Backtest::submit`], [`exec::route`]), then the
//! account's rule; a denial is an order event (`Denied` / `ModifyRejected` / `CancelRejected`
//! with `Reason::Risk(code)` or the account's reason) and nothing reaches the venue. With layers
//! configured, after the venue settled a bar and the marks moved, the layers see the new fills,
//! the new events, then the bar (one [`RiskEngine::sync`]); after a command, its fills and any
//! event but `Submitted`/`Accepted` at once, those two at the next sync (before the next check at
//! the latest: every check runs on layers that saw everything before it). A change of trading
//! state reaches the handler ([`Handler::on_trading_state`]) before the bar's events
//! ([`exec::deliver`]). In EMERGENCY the engine itself cancels every working order and sends
//! reduce-only market orders that flatten every position (ids from [`ENGINE_ORDER_ID_BASE`] up,
//! never blocked by the state; [`exec::emergency`]), again each bar until flat.
//!
//! The orders themselves are the trader's own order state ([`crate::model::Orders`], driven by
//! the venue); the risk engine reads them from there, never from the venue.

use std::convert::Infallible;

use crate::error::{CoreError, CoreResult};
use crate::exec::{self, Desk, Exec, Host};
use crate::model::fixed::{money_to_f64, pow10};
use crate::model::{
    Bar, BarColumns, Command, Fill, Instrument, OrderEvent, OrderEventKind, OrderId, OrderKind,
    OrderSpec, Reason, Side,
};
use crate::portfolio::{AccountDenial, Portfolio};
use crate::risk::{RiskEngine, RiskView, StateChange, TradingState};
use crate::venue::{SimVenue, VenueConfig};

pub use crate::exec::{Denial, Denials, ENGINE_ORDER_ID_BASE, check_account};

/// The strategy side of the loop.
pub trait Handler {
    type Error;

    /// Order events (accepted, rejected, filled, canceled) produced since the last call; read them
    /// from `bt.events()`. The engine clears them after this returns.
    fn on_events(&mut self, bt: &mut Backtest) -> Result<(), Self::Error>;

    /// Bar `bar` (index `i` in the current batch) after the venue settled and the portfolio was
    /// marked at its close. Orders go in through `bt.submit(...)`.
    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> Result<(), Self::Error>;

    /// The first bar at or after `i` (below `n`) that this handler needs to see. A handler that
    /// knows its decisions in advance returns past the bars where it would do nothing, and the
    /// engine, when no order is open, only marks and records equity across them. Default: every
    /// bar is seen.
    #[inline]
    fn quiet_until(&self, i: usize, _n: usize) -> usize {
        i
    }

    /// How many orders this handler will send over bars `0..n` of the batch, at most, if it
    /// knows (a capacity hint: the engine reserves the fills and round trips for them up front,
    /// saving the copies and fresh pages of their regrowth). Default: 0 (not known).
    #[inline]
    fn orders_hint(&self, _n: usize) -> usize {
        0
    }

    /// A change of the risk engine's trading state (read `bt.risk` for more). Default: ignored.
    #[inline]
    fn on_trading_state(
        &mut self,
        _bt: &mut Backtest,
        _change: &StateChange,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[derive(Debug)]
pub enum RunError<E> {
    Core(CoreError),
    Handler(E),
}

impl<E> From<CoreError> for RunError<E> {
    fn from(e: CoreError) -> Self {
        RunError::Core(e)
    }
}

/// Every close on its instrument's price grid: a price with more decimals than the instrument's
/// precision is an error naming it, never silently rounded (a SIMD scan for one instrument).
fn check_grid(cols: &BarColumns<'_>, instruments: &[Instrument]) -> CoreResult<()> {
    use crate::model::bar::{off_grid, on_grid};
    match cols.instrument {
        None if instruments.len() == 1 => {
            let inst = &instruments[0];
            if let Some(i) = crate::simd::first_off_grid(cols.close, inst.price_scale) {
                return Err(off_grid("close", i, cols.close[i], inst));
            }
        }
        _ => {
            for (i, &v) in cols.close.iter().enumerate() {
                let Some(inst) = instruments.get(cols.instrument_at(i) as usize) else {
                    continue; // reported by validate
                };
                if !on_grid(v * inst.price_scale) {
                    return Err(off_grid("close", i, v, inst));
                }
            }
        }
    }
    Ok(())
}

/// The lowest of `low` and the highest of `high` (NaNs skipped; ±inf when none), in eight
/// independent lanes.
/// NB: plain comparisons, not f64::min/max (their NaN rule keeps the fold scalar), and lanes (one
/// running min is bound by its latency, 4 cycles a bar).
fn low_high(low: &[f64], high: &[f64]) -> (f64, f64) {
    const L: usize = 8;
    let (mut lo, mut hi) = ([f64::INFINITY; L], [f64::NEG_INFINITY; L]);
    let (mut lc, mut hc) = (low.chunks_exact(L), high.chunks_exact(L));
    for (l, h) in (&mut lc).zip(&mut hc) {
        for k in 0..L {
            lo[k] = if l[k] < lo[k] { l[k] } else { lo[k] };
            hi[k] = if h[k] > hi[k] { h[k] } else { hi[k] };
        }
    }
    for (&l, &h) in lc.remainder().iter().zip(hc.remainder()) {
        lo[0] = if l < lo[0] { l } else { lo[0] };
        hi[0] = if h > hi[0] { h } else { hi[0] };
    }
    let lo = lo
        .iter()
        .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
    let hi = hi
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    (lo, hi)
}

/// Why a trade ended, from the order whose fill closed it: "signal" (the strategy's market or
/// limit order), "stop" (a stop-market or stop-limit), "trailing" (a trailing stop),
/// "take_profit" (a limit exit of a bracket/OTO, an if-touched order), "liquidation", "risk" (the
/// engine's EMERGENCY flattening), or "end_of_data" (still open at the end, marked there).
pub fn exit_reason(t: &crate::portfolio::Trade) -> &'static str {
    if !t.closed {
        return "end_of_data";
    }
    if t.liquidation {
        return "liquidation";
    }
    if t.exit_order >= ENGINE_ORDER_ID_BASE {
        return "risk";
    }
    t.exit.as_str()
}

/// The equity curve: one point per distinct timestamp, after every bar of that timestamp.
#[derive(Debug, Default, Clone)]
pub struct EquityCurve {
    pub ts: Vec<i64>,
    pub equity: Vec<f64>,
    /// Whether any position was open at that point.
    pub exposed: Vec<bool>,
}

pub struct Backtest {
    pub instruments: Vec<Instrument>,
    pub venue: SimVenue,
    pub portfolio: Portfolio,
    pub fills: Vec<Fill>,
    pub curve: EquityCurve,
    /// The risk engine every command passes (default: structural checks, no layers).
    pub risk: RiskEngine,
    events: Vec<OrderEvent>,
    /// The command path's state: what the risk layers saw, the engine's own orders.
    exec: Exec,
    /// Per instrument: the bar interval (ns; 0 unknown): a bar closes at `ts + interval`.
    bar_interval: Vec<i64>,
    /// Highest id a handler used (engine ids excluded).
    user_max_id: OrderId,
    /// Every denial (risk engine or account) with its numbers, in order.
    pub denials: Denials,
    current: Option<Bar>,
    /// The latest close time of a bar run so far (`ts` + its interval): the run's end.
    end_ts: i64,
    bar_index: u64,
    last_ts: Option<i64>,
    /// The last bar's time once the run is finished: where its end is marked (the last equity
    /// point, the open trades' exit).
    marked_ts: i64,
    next_id: OrderId,
}

impl Backtest {
    pub fn new(
        instruments: Vec<Instrument>,
        venue: VenueConfig,
        initial_cash: f64,
    ) -> CoreResult<Self> {
        if instruments.is_empty() {
            return Err(CoreError::InvalidArgument {
                name: "instruments",
                reason: "at least one instrument is needed".into(),
            });
        }
        if !(initial_cash.is_finite() && initial_cash > 0.0) {
            return Err(CoreError::InvalidArgument {
                name: "cash",
                reason: format!("must be a positive number, got {initial_cash}"),
            });
        }
        // Cash is given in currency units; keep it exact to 1e-8 before scaling up.
        venue.validate()?;
        let cents = (initial_cash * 1e8).round() as i128;
        let cash = cents * pow10(crate::model::MONEY_DP - 8);
        let n = instruments.len();
        Ok(Self {
            venue: SimVenue::new(venue, &instruments),
            instruments,
            portfolio: Portfolio::new(cash, n),
            fills: Vec::new(),
            curve: EquityCurve::default(),
            risk: RiskEngine::structural(n),
            events: Vec::new(),
            exec: Exec::new(n),
            bar_interval: vec![0; n],
            user_max_id: 0,
            denials: Denials::default(),
            current: None,
            end_ts: i64::MIN,
            bar_index: 0,
            last_ts: None,
            marked_ts: 0,
            next_id: 0,
        })
    }

    /// Events not yet handed to the handler.
    pub fn events(&self) -> &[OrderEvent] {
        &self.events
    }

    /// The bar being handled, if any.
    pub fn current_bar(&self) -> Option<&Bar> {
        self.current.as_ref()
    }

    /// Bars processed so far.
    pub fn bars(&self) -> u64 {
        self.bar_index
    }

    /// A fresh order id for handlers that do not bring their own (ids only need to increase).
    pub fn next_order_id(&mut self) -> OrderId {
        self.next_id = self.next_id.max(self.user_max_id) + 1;
        self.next_id
    }

    /// Replace the risk engine (before the run; the old one's report and audit log are dropped).
    pub fn set_risk(&mut self, risk: RiskEngine) {
        self.risk = risk;
        self.exec.reset_seen(self.fills.len(), self.events.len());
    }

    /// The engine clock: while a bar is handled, its close time (`ts` + its instrument's bar
    /// interval: the strategy decides on the closed bar, so its orders, their events and the
    /// latency count from there); between bars, the last bar's time.
    #[inline]
    pub fn now(&self) -> i64 {
        self.current
            .map_or(self.last_ts.unwrap_or(0), |b| self.close_ts(&b))
    }

    /// The last bar's time after [`Backtest::finish`] (0 before, or when no bar ran): the time
    /// the run's end is marked at.
    pub fn marked_ts(&self) -> i64 {
        self.marked_ts
    }

    /// The time bar `bar` closes: its open time plus its instrument's interval.
    #[inline]
    pub fn close_ts(&self, bar: &Bar) -> i64 {
        bar.ts.saturating_add(
            self.bar_interval
                .get(bar.instrument as usize)
                .copied()
                .unwrap_or(0),
        )
    }

    /// Set each instrument's bar interval (ns, >= 0; 0: unknown, the close time is then the open
    /// time). Before the run.
    pub fn set_bar_intervals(&mut self, intervals: Vec<i64>) -> CoreResult<()> {
        if intervals.len() != self.instruments.len() {
            return Err(CoreError::InvalidArgument {
                name: "bar_intervals",
                reason: format!(
                    "{} intervals for {} instruments",
                    intervals.len(),
                    self.instruments.len()
                ),
            });
        }
        if let Some(bad) = intervals.iter().find(|&&v| v < 0) {
            return Err(CoreError::InvalidArgument {
                name: "bar_intervals",
                reason: format!("must be >= 0 ns, got {bad}"),
            });
        }
        self.bar_interval = intervals;
        Ok(())
    }

    /// A manual trading-state command (strategy or operator); EMERGENCY acts at once.
    pub fn set_trading_state(&mut self, state: TradingState, reason: &str) {
        let ts = self.now();
        let Ok(()) = exec::set_state(self, state, reason, "command", ts);
    }

    /// Run `f` with the risk engine and a view of the account (no allocation).
    #[inline]
    pub fn with_risk_view<R>(
        &mut self,
        ts: i64,
        f: impl FnOnce(&mut RiskEngine, &RiskView<'_>) -> R,
    ) -> R {
        self.desk().with_view(ts, f)
    }

    /// Send a command to the venue now; fills it produces reach the portfolio at once. The risk
    /// engine checks it first (it may shrink a new order's quantity, or deny the command: an
    /// order event says why and nothing reaches the venue), then the account's rule
    /// ([`exec::route`]).
    pub fn submit(&mut self, cmd: Command) {
        let ts = self.now();
        match &cmd {
            Command::Submit(spec) => self.user_max_id = self.user_max_id.max(spec.id),
            Command::SubmitList { orders, .. } => {
                for o in orders {
                    self.user_max_id = self.user_max_id.max(o.id);
                }
            }
            _ => {}
        }
        let Ok(()) = exec::route(self, cmd, ts);
    }

    /// The bar's turn of the risk layers: its fills and events, then the bar itself, then one
    /// reading of the layers' wishes (a state change is stamped with the bar's time).
    #[inline(never)]
    fn risk_bar(&mut self, bar: &Bar) {
        let ts = self.close_ts(bar);
        self.risk.note_data(bar.instrument, ts);
        exec::observe(self, ts, Some(bar));
    }

    /// accounts: the part of `bar` the venue may trade before the path reaches the liquidation
    /// price of the bar's instrument's margin position: a bar that ends there (open → first
    /// extreme → liquidation price, or open → liquidation price, or just the open on a gap), with
    /// the venue's path fixed to the original order for it (the original path is returned, to be
    /// restored). None when the bar does not reach it.
    #[inline]
    fn liquidation_cut(&mut self, bar: &Bar) -> Option<(Bar, crate::venue::IntrabarPath)> {
        if !self.portfolio.needs_every_bar() {
            return None;
        }
        let inst = &self.instruments[bar.instrument as usize];
        let lp = self.portfolio.liquidation_price(inst, bar.instrument)?;
        let long = self.portfolio.positions[bar.instrument as usize].qty > 0;
        let reached = if long { bar.low <= lp } else { bar.high >= lp };
        if !reached {
            return None;
        }
        let original = self.venue.config.path;
        let [open, first, ..] = original.points(bar);
        let adverse_first = if long {
            first == bar.low
        } else {
            first == bar.high
        };
        let gapped = if long { open <= lp } else { open >= lp };
        let mut cut = *bar;
        cut.close = if gapped { open } else { lp };
        if gapped || adverse_first {
            // open → liquidation price (nothing on the other side of the open is visited)
            cut.high = if long { open } else { cut.close };
            cut.low = if long { cut.close } else { open };
            self.venue.config.path = if long {
                crate::venue::IntrabarPath::HighFirst
            } else {
                crate::venue::IntrabarPath::LowFirst
            };
        } else {
            // open → the favourable extreme → liquidation price
            if long {
                cut.low = lp;
                self.venue.config.path = crate::venue::IntrabarPath::HighFirst;
            } else {
                cut.high = lp;
                self.venue.config.path = crate::venue::IntrabarPath::LowFirst;
            }
        }
        Some((cut, original))
    }

    /// The highest fee rate an order may pay (maker or taker, the schedule's highest tier).
    #[inline]
    fn check_fee_rate(&self) -> crate::model::fixed::Rate {
        let f = &self.venue.fee_model;
        f.max_rate(crate::model::Liquidity::Maker)
            .max(f.max_rate(crate::model::Liquidity::Taker))
    }

    /// The price `spec` can fill at if the market stays where it is: its limit; a stop at its
    /// trigger or the mark, whichever is worse, a market-if-touched at the better, moved by the
    /// slippage; a market order (or a trailing stop) at the mark moved by the slippage. None before
    /// the instrument's first price.
    fn fill_estimate(&self, spec: &OrderSpec, qty: i64) -> Option<i64> {
        use crate::model::OrderKind as K;
        let i = spec.instrument as usize;
        let inst = self.instruments.get(i)?;
        let mark = self.portfolio.positions.get(i).map_or(0, |p| p.mark);
        if let Some(l) = spec.kind.limit_px() {
            return Some(l);
        }
        let buy = spec.side == Side::Buy;
        let base = match spec.kind {
            K::StopMarket { trigger } if mark > 0 => {
                if buy {
                    trigger.max(mark)
                } else {
                    trigger.min(mark)
                }
            }
            K::StopMarket { trigger } => trigger,
            K::MarketIfTouched { trigger } if mark > 0 => {
                if buy {
                    trigger.min(mark)
                } else {
                    trigger.max(mark)
                }
            }
            K::MarketIfTouched { trigger } => trigger,
            _ => mark,
        };
        if base <= 0 {
            return None;
        }
        let bar = self.current.filter(|b| b.instrument == spec.instrument);
        Some(
            self.venue
                .estimate_taker_px(inst, spec.side, base, qty, bar.as_ref()),
        )
    }

    /// The latest denial of order `id` (its numbers), if it was denied.
    pub fn denial(&self, id: OrderId) -> Option<&Denial> {
        self.denials.of(id)
    }

    /// accounts: apply the liquidation fill the portfolio pushed, tell the handler (an order event
    /// with order id 0), cancel the instrument's open orders with `Reason::Liquidation`.
    #[inline(never)]
    fn on_liquidation(&mut self, bar: &Bar) {
        let fill_index = self.fills.len() - 1;
        // The order manager tracks positions for reduce-only orders: the forced close moved one.
        let qty = self.portfolio.positions[bar.instrument as usize].qty;
        self.venue.orders.set_position(bar.instrument, qty);
        let kind = OrderEventKind::Filled { fill_index };
        self.events.push(OrderEvent {
            id: 0,
            ts: bar.ts,
            kind,
        });
        let from = self.events.len();
        let cancel = Command::CancelAll {
            instrument: Some(bar.instrument),
        };
        let (bi, ts) = (self.bar_index, bar.ts);
        let (events, fills) = (&mut self.events, &mut self.fills);
        self.venue.command(
            &mut self.portfolio,
            &self.instruments,
            cancel,
            Some(bar),
            bi,
            ts,
            events,
            fills,
        );
        for e in &mut self.events[from..] {
            if let OrderEventKind::Canceled(r) = &mut e.kind {
                *r = Reason::Liquidation;
            }
        }
    }

    /// One equity point: the exact equity (cash plus positions at their marks, fixed point) as
    /// a float, so a flat account gives the same float at every point and returns of exactly 0.
    #[inline]
    fn record_point(&mut self, ts: i64) {
        self.curve.ts.push(ts);
        self.curve
            .equity
            .push(money_to_f64(self.portfolio.equity(&self.instruments)));
        self.curve.exposed.push(self.portfolio.exposed());
    }

    /// Equity in currency units at the current marks.
    pub fn equity(&self) -> f64 {
        money_to_f64(self.portfolio.equity(&self.instruments))
    }

    pub fn cash(&self) -> f64 {
        money_to_f64(self.portfolio.cash)
    }

    /// Signed position of `instrument` in raw units.
    pub fn position_raw(&self, instrument: u32) -> i64 {
        self.portfolio
            .positions
            .get(instrument as usize)
            .map_or(0, |p| p.qty)
    }

    /// Deliver pending events to the handler until none are left (a handler may react to an
    /// event with a command that yields more events; 64 rounds is far beyond any sane strategy).
    #[inline(always)]
    fn deliver<H: Handler>(&mut self, h: &mut H) -> Result<(), RunError<H::Error>> {
        if self.events.is_empty() && !self.risk.has_pending_changes() {
            return Ok(());
        }
        self.deliver_slow(h)
    }

    #[inline(never)]
    fn deliver_slow<H: Handler>(&mut self, h: &mut H) -> Result<(), RunError<H::Error>> {
        exec::deliver(&mut Delivery { bt: self, h })
    }

    /// Run one batch of bars through the handler.
    pub fn run<H: Handler>(
        &mut self,
        cols: &BarColumns<'_>,
        h: &mut H,
    ) -> Result<(), RunError<H::Error>> {
        self.check_batch(cols)?;
        let n = cols.len();
        self.reserve(n, h.orders_hint(n).min(n));
        self.run_checked(cols, h)
    }

    /// The checks [`Backtest::run`] makes of a batch before running it: the columns' shapes,
    /// every bar against its instrument, the closes on the price grid. Engines with the same
    /// instruments (see [`Backtest::same_instruments`]) get the same answer for the same batch.
    pub fn check_batch(&self, cols: &BarColumns<'_>) -> CoreResult<()> {
        cols.check()?;
        cols.validate(&self.instruments)?;
        check_grid(cols, &self.instruments)
    }

    /// Whether `other` trades the same instruments on the same grids (then a batch checked for
    /// one is checked for the other).
    pub fn same_instruments(&self, other: &Backtest) -> bool {
        self.instruments == other.instruments
    }

    /// Room for `bars` more equity points and `orders` more fills and trades: one allocation
    /// for a whole run, however many batches it is given in.
    pub fn reserve(&mut self, bars: usize, orders: usize) {
        self.curve.ts.reserve(bars);
        self.curve.equity.reserve(bars);
        self.curve.exposed.reserve(bars);
        self.fills.reserve(orders);
        self.portfolio.trades.reserve(orders);
    }

    /// [`Backtest::run`] of a batch [`Backtest::check_batch`] accepted.
    pub fn run_checked<H: Handler>(
        &mut self,
        cols: &BarColumns<'_>,
        h: &mut H,
    ) -> Result<(), RunError<H::Error>> {
        let n = cols.len();
        let single = cols.instrument.is_none();
        if n > 0 {
            self.risk.start(cols.ts[0]);
        }
        let mut i = 0;
        while i < n {
            if single
                && self.venue.is_idle()
                && !self.portfolio.needs_every_bar()
                && !self.risk.needs_every_bar()
                && !(self.risk.state() == TradingState::Emergency && self.portfolio.exposed())
            {
                let j = h.quiet_until(i, n).min(n);
                if j > i {
                    self.quiet_span(cols, i, j)?;
                    i = j;
                    continue;
                }
            }
            let id = cols.instrument_at(i);
            let bar = cols.bar_checked(i, id, &self.instruments[id as usize])?;
            self.advance_clock(bar.ts, i)?;
            self.step(&bar, cols.close[i], i, h)?;
            i += 1;
        }
        Ok(())
    }

    #[inline(always)]
    fn advance_clock(&mut self, ts: i64, i: usize) -> CoreResult<()> {
        if let Some(last) = self.last_ts {
            if ts < last {
                return Err(unsorted(i, ts, last));
            }
            if ts > last {
                self.record_point(last);
            }
        }
        self.last_ts = Some(ts);
        Ok(())
    }

    /// Bars `i..j` of a one-instrument batch during which nothing can happen (no open order, no
    /// decision): mark each close and record the equity points, in one tight loop. Gives the same
    /// curve as stepping through them one by one.
    fn quiet_span(&mut self, cols: &BarColumns<'_>, i: usize, j: usize) -> CoreResult<()> {
        // The exact equity at a close `c`: cash + q·px(c)·scale, in fixed point, as a float.
        let inst = &self.instruments[0];
        let cash = self.portfolio.cash;
        let k = self.portfolio.positions[0].qty as i128 * inst.notional_scale();
        let scale = inst.price_scale;
        let flat = money_to_f64(cash);
        // The exact equity at a close `c`, correctly rounded as at the stepped bars (the same
        // float for the same money). NB: with |k| < 2^52 and |cash| < 2^104 (every sane account)
        // and prices below 2^51, `cash + k·px` stays below 2^106: one widening multiply and the
        // split conversion, no branch and no library call (~15 instructions a bar); the close is
        // rounded by adding and removing 1.5·2^52 (closes sit on the grid, so it agrees with the
        // stepped bars' marks).
        let small = k.unsigned_abs() < 1 << 52 && cash.unsigned_abs() < 1 << 104;
        let k64 = k as i64;
        // the exact equity in money units (1e-18), correctly rounded to a float
        let exact_units = move |c: f64| {
            const MAGIC: f64 = 6_755_399_441_055_744.0;
            let px = ((c * scale + MAGIC) - MAGIC) as i64;
            let e = cash + k64 as i128 * px as i128;
            let hi = e >> 53;
            let lo = (e - (hi << 53)) as i64;
            (hi as i64) as f64 * 9_007_199_254_740_992.0 + lo as f64
        };
        let exact_small = move |c: f64| exact_units(c) / 1e18;
        let value = move |c: f64| {
            if k == 0 {
                flat
            } else if small {
                exact_small(c)
            } else {
                money_to_f64(cash + k * crate::model::fixed::round_i64(c * scale) as i128)
            }
        };
        let exposed = self.portfolio.exposed();
        let mark = self.portfolio.positions[0].mark_f64();
        let (ts, close) = (&cols.ts[i..j], &cols.close[i..j]);
        // NB: the common case, timestamps strictly increasing, is written as whole slices (the
        // compiler vectorises the check and the equity map): ~10 instructions a bar instead of
        // ~70 for the general loop below.
        let increasing = ts[..ts.len() - 1]
            .iter()
            .zip(&ts[1..])
            .fold(true, |ok, (a, b)| ok & (a < b));
        let curve = &mut self.curve;
        match self.last_ts {
            last if increasing && last.is_none_or(|l| l < ts[0]) => {
                let m = ts.len();
                // The previous timestamp's point (at the mark before this span), then one point
                // per bar of the span but the last (its point comes when time moves on).
                if let Some(l) = last {
                    curve.ts.push(l);
                    curve.equity.push(value(mark));
                    curve.exposed.push(exposed);
                }
                curve.ts.extend_from_slice(&ts[..m - 1]);
                let base = curve.equity.len();
                curve.equity.resize(base + m - 1, 0.0);
                if k == 0 {
                    curve.equity[base..].fill(flat);
                } else if small {
                    // NB: the integer part per bar, then the division by 1e18 over the slice
                    // (the compiler vectorises it; in the same loop it stays one divide a bar)
                    for (dst, &c) in curve.equity[base..].iter_mut().zip(&close[..m - 1]) {
                        *dst = exact_units(c);
                    }
                    for e in &mut curve.equity[base..] {
                        *e /= 1e18;
                    }
                } else {
                    for (dst, &c) in curve.equity[base..].iter_mut().zip(&close[..m - 1]) {
                        *dst = value(c);
                    }
                }
                let len = curve.exposed.len();
                curve.exposed.resize(len + m - 1, exposed);
                self.last_ts = Some(ts[m - 1]);
            }
            _ => {
                let mut last = self.last_ts;
                let mut mark = mark;
                for (k, (&t, &c)) in ts.iter().zip(close).enumerate() {
                    if let Some(l) = last {
                        if t < l {
                            return Err(unsorted(i + k, t, l));
                        }
                        if t > l {
                            curve.ts.push(l);
                            curve.equity.push(value(mark));
                            curve.exposed.push(exposed);
                        }
                    }
                    last = Some(t);
                    mark = c;
                }
                self.last_ts = last;
            }
        }
        let inst = &self.instruments[0];
        if k != 0 {
            // the open trade's excursions over the span: its lowest low and highest high
            let (lo, hi) = low_high(&cols.low[i..j], &cols.high[i..j]);
            if lo.is_finite() && hi.is_finite() {
                let s = inst.price_scale;
                let (lo, hi) = (
                    crate::model::fixed::round_i64(lo * s),
                    crate::model::fixed::round_i64(hi * s),
                );
                self.portfolio.excursion(inst, 0, lo, hi);
            }
        }
        let c = close[close.len() - 1];
        let px = crate::model::fixed::round_i64(c * inst.price_scale);
        self.portfolio.mark(0, px, c);
        self.venue.set_last_px(0, px);
        let last = ts[ts.len() - 1].saturating_add(self.bar_interval[0]);
        self.end_ts = self.end_ts.max(last);
        if self.risk.has_layers() {
            self.risk.note_data(0, last);
        }
        self.bar_index += (j - i) as u64;
        Ok(())
    }

    #[inline(always)]
    fn step<H: Handler>(
        &mut self,
        bar: &Bar,
        close_f: f64,
        i: usize,
        h: &mut H,
    ) -> Result<(), RunError<H::Error>> {
        self.bar_index += 1;
        // accounts: funding due at this bar's open (margin accounts).
        self.portfolio
            .on_bar_open(&self.instruments[bar.instrument as usize], bar);
        // accounts: when the bar reaches a margin position's liquidation price, the venue only
        // sees the bar up to that point of the intrabar path (orders the path reaches first, e.g.
        // a protective stop above a long's liquidation price, trade first), then the position is
        // liquidated.
        let cut = self.liquidation_cut(bar);
        self.venue.on_bar(
            &mut self.portfolio,
            &self.instruments,
            cut.as_ref().map_or(bar, |(b, _)| b),
            self.bar_index,
            &mut self.events,
            &mut self.fills,
        );
        if let Some((_, path)) = cut {
            self.venue.config.path = path;
        }
        // accounts: liquidation when the bar's adverse extreme reaches the liquidation price.
        if self
            .portfolio
            .liquidate(&self.instruments, bar, &mut self.fills)
        {
            self.on_liquidation(bar);
        }
        self.portfolio.mark(bar.instrument, bar.close, close_f);
        if self.portfolio.positions[bar.instrument as usize].qty != 0 {
            let inst = &self.instruments[bar.instrument as usize];
            self.portfolio
                .excursion(inst, bar.instrument, bar.low, bar.high);
        }
        self.current = Some(*bar);
        self.end_ts = self.end_ts.max(self.close_ts(bar));
        if self.risk.has_layers() {
            self.risk_bar(bar);
        }
        if self.risk.state() == TradingState::Emergency {
            let Ok(()) = exec::emergency(self, self.close_ts(bar));
        }
        self.deliver(h)?;
        h.on_bar(self, bar, i).map_err(RunError::Handler)?;
        self.deliver(h)?;
        self.current = None;
        Ok(())
    }

    /// Close the run: record the last equity point. Open orders and positions stay as they are.
    /// Also closes the risk engine's time accounting and seals its audit log.
    pub fn finish(&mut self) {
        // the run ends when its last bar closes (the clock of its last decisions), not at its open
        let ts = self.end_ts.max(self.last_ts.unwrap_or(0));
        if let Some(last) = self.last_ts.take() {
            self.record_point(last);
            self.marked_ts = last;
        }
        if self.desk().lagging() {
            exec::observe(self, ts, None); // the last events, for the report; nothing is sent
        }
        self.risk.finish(ts);
    }

    /// Quantity (raw, a multiple of the lot) whose cost at price `px`, fees and the flat slippage
    /// included, is `fraction` of the current equity, rounded down. The one sizing rule shared by
    /// the Python API and the vectorized path: `fraction = 1` on a cash account buys what the cash
    /// pays for at `px`.
    pub fn qty_for_fraction(&self, instrument: u32, fraction: f64, px: f64) -> i64 {
        let inst = &self.instruments[instrument as usize];
        qty_for_fraction(
            inst,
            fraction,
            self.equity(),
            px * self.cost_factor(instrument),
        )
    }

    /// What one unit of notional of `instrument` costs a buyer, for sizing: the venue's highest fee
    /// rate and its slippage at the instrument's mark (`(1 + fee) × slipped / mark`; the flat
    /// slippage before the first mark).
    pub fn cost_factor(&self, instrument: u32) -> f64 {
        let fee = 1.0 + self.check_fee_rate().0.max(0) as f64 / crate::model::Bps::ONE as f64;
        let i = instrument as usize;
        let (Some(inst), Some(pos)) = (self.instruments.get(i), self.portfolio.positions.get(i))
        else {
            return fee;
        };
        if pos.mark <= 0 {
            let slip = self.venue.config.slippage.0.max(0) as f64 / crate::model::Bps::ONE as f64;
            return fee * (1.0 + slip);
        }
        let bar = self.current.filter(|b| b.instrument == instrument);
        let slipped =
            self.venue
                .estimate_taker_px(inst, Side::Buy, pos.mark, inst.lot, bar.as_ref());
        fee * (slipped as f64 / pos.mark as f64).max(1.0)
    }
}

/// The bar loop in the command path: the simulated bar venue takes the commands at once (its
/// latency model delays their arrival), in the bar being handled.
impl Host for Backtest {
    type Error = Infallible;
    const LAZY_ACKS: bool = true;

    #[inline(always)]
    fn desk(&mut self) -> Desk<'_> {
        Desk {
            exec: &mut self.exec,
            risk: &mut self.risk,
            denials: &mut self.denials,
            instruments: &self.instruments,
            portfolio: &self.portfolio,
            orders: &self.venue.orders,
            fills: &self.fills,
            events: &mut self.events,
        }
    }

    /// accounts: the account's rule for a command ([`check_account`]), at the prices orders can
    /// fill at here (`Backtest::fill_estimate`).
    fn account_check(&self, cmd: &Command) -> Result<(), AccountDenial> {
        check_account(
            &self.portfolio,
            &self.instruments,
            &self.venue.orders,
            cmd,
            self.check_fee_rate(),
            &|spec: &OrderSpec, qty: i64| self.fill_estimate(spec, qty),
        )
    }

    #[inline]
    fn send(&mut self, cmd: Command, ts: i64) -> Result<(), Infallible> {
        let bar = self.current;
        self.venue.command(
            &mut self.portfolio,
            &self.instruments,
            cmd,
            bar.as_ref(),
            self.bar_index,
            ts,
            &mut self.events,
            &mut self.fills,
        );
        Ok(())
    }
}

/// The bar loop's delivery: the handler gets the state changes one by one, then the batch of
/// events (read from `bt.events()`), which the loop then drops.
struct Delivery<'a, H> {
    bt: &'a mut Backtest,
    h: &'a mut H,
}

impl<H: Handler> exec::Deliver for Delivery<'_, H> {
    type Error = RunError<H::Error>;

    #[inline]
    fn risk(&mut self) -> &mut RiskEngine {
        &mut self.bt.risk
    }

    #[inline]
    fn unseen_events(&self) -> bool {
        !self.bt.events.is_empty()
    }

    fn hand_over(&mut self, changes: Vec<StateChange>) -> Result<(), Self::Error> {
        let bt = &mut *self.bt;
        for change in changes {
            self.h
                .on_trading_state(bt, &change)
                .map_err(RunError::Handler)?;
        }
        if bt.events.is_empty() {
            return Ok(());
        }
        let ts = bt.now();
        let Ok(()) = exec::risk_sync(bt, ts);
        self.h.on_events(bt).map_err(RunError::Handler)?;
        bt.desk().forget_events();
        Ok(())
    }

    fn runaway(&self) -> Self::Error {
        RunError::Core(CoreError::InvalidArgument {
            name: "strategy",
            reason: "order events kept triggering new orders within one bar (64 rounds)".into(),
        })
    }
}

fn unsorted(i: usize, ts: i64, last: i64) -> CoreError {
    CoreError::InvalidArgument {
        name: "ts",
        reason: format!("bars must be sorted by time: bar {i} at {ts} comes after {last}"),
    }
}

/// `floor(fraction * equity / px)` in raw units of `inst`, rounded down to its lot (`px`: the
/// price with the costs of buying folded in, see [`Backtest::cost_factor`]).
pub fn qty_for_fraction(inst: &Instrument, fraction: f64, equity: f64, px: f64) -> i64 {
    if !(fraction > 0.0 && equity > 0.0 && px > 0.0) {
        return 0;
    }
    let units = fraction * equity / px * pow10(inst.size_dp as u32) as f64;
    let raw = units.floor();
    if !raw.is_finite() || raw >= 9.0e18 {
        return 0;
    }
    let raw = raw as i64;
    raw - raw % inst.lot
}

/// Decisions computed for the whole series at once (vectorized path), run bar by bar through the
/// same venue and portfolio as an event-driven strategy, with no per-bar Python call.
#[derive(Debug, Clone, Copy)]
pub enum Decisions<'a> {
    /// Per bar: +1 go long (reverse a short), -1 go short (or only close a long when
    /// `allow_short` is false), 0 nothing. The ema_cross semantics.
    Signals { signal: &'a [i8], allow_short: bool },
    /// Per bar: the target signed position in instrument units; NaN keeps the current one.
    Targets { target: &'a [f64] },
}

impl<'a> Decisions<'a> {
    /// The decisions of bars `a..b`.
    pub fn slice(&self, a: usize, b: usize) -> Decisions<'a> {
        match *self {
            Decisions::Signals {
                signal,
                allow_short,
            } => Decisions::Signals {
                signal: &signal[a..b],
                allow_short,
            },
            Decisions::Targets { target } => Decisions::Targets {
                target: &target[a..b],
            },
        }
    }
}

/// The vectorized handler: turns decision arrays into market orders.
pub struct VectorHandler<'a> {
    pub decisions: Decisions<'a>,
    /// The batch's close column: sizing uses the same float close a Python strategy reads.
    pub close: &'a [f64],
    /// Fixed order quantity in instrument units; 0 means `size` × equity.
    pub qty: f64,
    pub size: f64,
}

impl Handler for VectorHandler<'_> {
    type Error = CoreError;

    #[inline]
    fn quiet_until(&self, i: usize, n: usize) -> usize {
        match self.decisions {
            Decisions::Signals { signal, .. } => signal[i..n]
                .iter()
                .position(|&s| s != 0)
                .map_or(n, |k| i + k),
            Decisions::Targets { target } => target[i..n]
                .iter()
                .position(|t| !t.is_nan())
                .map_or(n, |k| i + k),
        }
    }

    fn orders_hint(&self, n: usize) -> usize {
        // one market order per decision at most (a reversal is one order)
        match self.decisions {
            Decisions::Signals { signal, .. } => {
                signal[..n].iter().map(|&s| usize::from(s != 0)).sum()
            }
            Decisions::Targets { target } => {
                target[..n].iter().map(|t| usize::from(!t.is_nan())).sum()
            }
        }
    }

    fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
        Ok(())
    }

    #[inline]
    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> Result<(), CoreError> {
        let inst_id = bar.instrument;
        match self.decisions {
            Decisions::Signals {
                signal,
                allow_short,
            } => {
                let s = signal[i];
                if s == 0 {
                    return Ok(());
                }
                let close = self.close[i];
                let pos = bt.position_raw(inst_id);
                let (side, qty) =
                    signal_order(bt, inst_id, s, pos, allow_short, self.qty, self.size, close);
                if qty > 0 {
                    let id = bt.next_order_id();
                    bt.submit(Command::Submit(OrderSpec::new(
                        id,
                        inst_id,
                        side,
                        OrderKind::Market,
                        qty,
                    )));
                }
            }
            Decisions::Targets { target } => {
                let t = target[i];
                if t.is_nan() {
                    return Ok(());
                }
                let inst = &bt.instruments[inst_id as usize];
                // on the lot grid, toward zero (a target is never exceeded)
                let (want, _) = inst
                    .qty_on_grid(t)
                    .ok_or_else(|| CoreError::InvalidArgument {
                        name: "target",
                        reason: format!("bar {i}: target {t} is not a finite position"),
                    })?;
                let delta = want - bt.position_raw(inst_id);
                if delta != 0 {
                    let id = bt.next_order_id();
                    let side = if delta > 0 { Side::Buy } else { Side::Sell };
                    bt.submit(Command::Submit(OrderSpec::new(
                        id,
                        inst_id,
                        side,
                        OrderKind::Market,
                        delta.abs(),
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The order an ema_cross-style signal asks for, given the current position: +1 buys into a
/// long (covering a short first), -1 closes a long and, with `allow_short`, goes short.
/// `qty` > 0 is a fixed quantity in units; otherwise `size` × equity at `px`.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site per path; a struct would only rename the arguments"
)]
pub fn signal_order(
    bt: &Backtest,
    inst_id: u32,
    signal: i8,
    pos: i64,
    allow_short: bool,
    qty: f64,
    size: f64,
    px: f64,
) -> (Side, i64) {
    let inst = &bt.instruments[inst_id as usize];
    let open_qty = || {
        if qty > 0.0 {
            inst.qty_on_grid(qty).map_or(0, |(raw, _)| raw)
        } else {
            bt.qty_for_fraction(inst_id, size, px)
        }
    };
    if signal > 0 {
        if pos > 0 {
            return (Side::Buy, 0);
        }
        (Side::Buy, -pos + open_qty())
    } else {
        if pos < 0 {
            return (Side::Sell, 0);
        }
        let extra = if allow_short { open_qty() } else { 0 };
        (Side::Sell, pos + extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Bps;
    use crate::venue::FillAt;

    #[test]
    fn low_high_is_the_lowest_low_and_the_highest_high() {
        // eight lanes and a remainder against a plain fold, NaNs skipped, ±inf when empty
        assert_eq!(low_high(&[], &[]), (f64::INFINITY, f64::NEG_INFINITY));
        for n in [1usize, 7, 8, 9, 23, 64] {
            for at in 0..n {
                let low: Vec<f64> = (0..n).map(|i| 100.0 + (i * 7 % 5) as f64).collect();
                let mut high: Vec<f64> = low.iter().map(|l| l + 3.0).collect();
                let mut low = low;
                low[at] = 42.0;
                high[(at + 1) % n] = 420.0;
                low[n - 1 - at] = if n > 1 && n - 1 - at != at {
                    f64::NAN
                } else {
                    low[n - 1 - at]
                };
                let want_lo = low
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .fold(f64::INFINITY, f64::min);
                let want_hi = high.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(low_high(&low, &high), (want_lo, want_hi), "n={n} at={at}");
            }
        }
    }

    struct Script(Vec<(usize, Side, f64)>);

    impl Handler for Script {
        type Error = CoreError;
        fn on_events(&mut self, _bt: &mut Backtest) -> Result<(), CoreError> {
            Ok(())
        }
        fn on_bar(&mut self, bt: &mut Backtest, _bar: &Bar, i: usize) -> Result<(), CoreError> {
            for &(at, side, qty) in &self.0 {
                if at == i {
                    let id = bt.next_order_id();
                    let qty = crate::model::fixed::to_raw(qty, 3).unwrap();
                    bt.submit(Command::Submit(OrderSpec::new(
                        id,
                        0,
                        side,
                        OrderKind::Market,
                        qty,
                    )));
                }
            }
            Ok(())
        }
    }

    fn cols<'a>(ts: &'a [i64], o: &'a [f64], c: &'a [f64], v: &'a [f64]) -> BarColumns<'a> {
        BarColumns {
            ts,
            open: o,
            high: c,
            low: o,
            close: c,
            volume: v,
            instrument: None,
        }
    }

    #[test]
    fn market_orders_fill_next_open_or_close_with_slippage_and_fees() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let ts = [1, 2, 3];
        let o = [100.0, 101.0, 102.0];
        let c = [100.5, 101.5, 102.5];
        let v = [1.0; 3];
        for (fill_at, want_px) in [
            (FillAt::NextOpen, 10_100 + 11),
            (FillAt::Close, 10_050 + 11),
        ] {
            // 10 bps slippage on 101.00 = 0.101 → 101.111 → ceil to the cent = 101.12
            let cfg = VenueConfig {
                fill_at,
                slippage: Bps::from_f64(10.0).unwrap(),
                fee: Bps::from_f64(5.0).unwrap(),
                ..VenueConfig::default()
            };
            let mut bt = Backtest::new(vec![inst.clone()], cfg, 10_000.0).unwrap();
            bt.run(
                &cols(&ts, &o, &c, &v),
                &mut Script(vec![(0, Side::Buy, 1.0), (2, Side::Sell, 1.0)]),
            )
            .unwrap();
            bt.finish();
            let want_px = if fill_at == FillAt::Close {
                10_061
            } else {
                want_px
            };
            assert_eq!(bt.fills[0].px, want_px, "{fill_at:?}");
            let unfilled = if fill_at == FillAt::NextOpen { 1 } else { 0 };
            assert_eq!(
                bt.venue.working_orders().count(),
                unfilled,
                "a sell on the last bar stays open in next-open mode"
            );
            assert_eq!(bt.curve.equity.len(), 3);
        }
    }

    #[test]
    fn bad_prices_are_errors_not_panics() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut bt = Backtest::new(vec![inst.clone()], VenueConfig::default(), 1000.0).unwrap();
        let r = bt.run(
            &cols(&[1, 2], &[1.0, 1.0], &[1.0, f64::NAN], &[1.0, 1.0]),
            &mut Script(vec![]),
        );
        assert!(matches!(
            r,
            Err(RunError::Core(CoreError::InvalidArgument {
                name: "close",
                ..
            }))
        ));
        let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1000.0).unwrap();
        let r = bt.run(
            &cols(&[1, 2], &[1.0, -3.0], &[1.0, 1.0], &[1.0, 1.0]),
            &mut Script(vec![]),
        );
        assert!(matches!(
            r,
            Err(RunError::Core(CoreError::InvalidArgument {
                name: "open",
                ..
            }))
        ));
    }

    #[test]
    fn unsorted_bars_are_an_error() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut bt = Backtest::new(vec![inst], VenueConfig::default(), 1000.0).unwrap();
        let r = bt.run(
            &cols(&[2, 1], &[1.0, 1.0], &[1.0, 1.0], &[1.0, 1.0]),
            &mut Script(vec![]),
        );
        assert!(matches!(
            r,
            Err(RunError::Core(CoreError::InvalidArgument {
                name: "ts",
                ..
            }))
        ));
    }
}
