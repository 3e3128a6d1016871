//! The tick/L2 loop: a raw Binance WebSocket recording (or, in quote mode, trade and quote
//! ticks) drives an [`L2Matcher`] event by event, and a strategy is called for the data it asks
//! for ([`L2Strategy::wants`]). A live session ([`crate::live`]) runs this same loop on events
//! from its feeds. Everything per event stays in Rust; a callback the strategy does
//! not want costs nothing (a `bookTicker` line is then only counted, a trade is parsed only when
//! an order rests or bars are built).
//!
//! Per recorded line (in file order; the clock is the recorder's receive time, never going back):
//! - first, delayed commands whose arrival time came reach the matcher, and a bar whose bucket
//!   ended is handed out ([`L2Strategy::on_bar`], with [`L2Config::bar_ns`]: a
//!   [`BarAggregator`] over the trades, on the run's clock);
//! - depth diff: Binance's sync procedure ([`BookSync`]); once applied, the queue positions at
//!   the changed levels move ([`L2Matcher::on_level`]) and crossed resting orders fill;
//! - trade: resting orders at or through its price fill by their queue ([`L2Matcher::on_trade`]);
//! - snapshot: (re)initialises an unsynced book; `bookTicker`: a quote for the strategy;
//! - then the fills of the event, the order events and state changes the strategy has not seen
//!   ([`L2Strategy::on_trading_state`], then [`L2Strategy::on_event`]), and, while the book is
//!   synced, the event's data callback ([`L2Strategy::on_trade`] for a trade;
//!   [`L2Strategy::on_quote`] for a `bookTicker` line, or for a change of the synced book's best
//!   bid/ask while the recording has shown no `bookTicker` line), and, when market time reached
//!   the next wake-up, the throttled [`L2Strategy::on_elapse`]; after every fill,
//!   [`L2Strategy::on_fill`]. What they send ([`Outbox`]: commands, and the bar engine's state
//!   and confidence controls, [`Op`]) is carried out in order when they return.
//!
//! Quote mode ([`L2Backtest::new_quotes`], [`run_ticks`]): each quote tick is a one-level book
//! and the strategy's quote; the book is "synced" once a quote has a side.
//!
//! Order lifecycle: the one order manager, [`crate::model::Orders`], owns every status change and
//! event (duplicate ids, validation, post-only/reduce-only, IOC/FOK, OCO/OTO/bracket,
//! modify/cancel); this loop only decides fills ([`L2Matcher`]) and triggers. Conditional orders
//! (stop, if-touched, trailing) wait off the book and trigger on trade prints (trailing stops
//! trail the trade price); once triggered they arrive at the matcher as market or limit orders.
//! After every call that can change orders, the matcher is reconciled with the manager (closed
//! orders leave it, resized ones follow, newly working ones — OTO/bracket children — arrive).
//! Money is exact: the account is a [`Portfolio`] (fills applied with [`Portfolio::apply`]: cash
//! moves by `Instrument::notional`, fees round against the trader); it is marked at the mid when
//! the risk engine reads it and at the strategy's wake-ups.
//!
//! **Commands** take the path every mode shares ([`crate::exec`]: this loop is an
//! [`exec::Host`] whose venue is latency then the matcher): every command of the strategy passes
//! the same [`RiskEngine`] as in the bar engine ([`crate::engine::Backtest`]), then the account's
//! rule, before it reaches latency or the matcher; a denial is an order event (`Denied` /
//! `ModifyRejected` / `CancelRejected` with `Reason::Risk(code)` or the account's reason), handed
//! to [`L2Strategy::on_event`], and nothing reaches the matcher. With layers configured, the
//! layers see every fill and order event after each command and each recorded event (one
//! [`RiskEngine::sync`]: observe, then settle), every change of the best bid/ask
//! ([`RiskEngine::on_quote`]: the panic layer's spread condition) and the data time; a change of
//! trading state reaches [`L2Strategy::on_trading_state`] ([`exec::deliver`]). In EMERGENCY the
//! loop cancels the strategy's working orders and flattens the position with a reduce-only market
//! order (ids from [`crate::exec::ENGINE_ORDER_ID_BASE`] up; [`exec::emergency`]), again at each
//! wake-up until flat; an operator's controls ([`L2Backtest::operator_state`],
//! [`L2Backtest::operator_cancel_all`], [`L2Backtest::operator_flatten`]) take the same path.
//! Without layers none of the per-event work runs (the default engine has the structural checks
//! only).
//!
//! **Persistence** (the live node's store): every command that passed the risk engine and the
//! account is handed to a [`Journal`] ([`L2Backtest::set_journal`]) in [`Host::send`], before
//! latency or the matcher see it; its error stops the command. At an event boundary the whole
//! dynamic state serializes to one blob ([`L2Backtest::checkpoint`]: bincode, a version tag and
//! a fingerprint of the configuration) that an engine built from the same configuration takes
//! back exactly ([`L2Backtest::restore`]); the rest of the feed then ends where an
//! uninterrupted run ends. The blob holds the histories (orders, fills, events, audit entries),
//! so it grows with the session.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use crate::book::{
    BookSide, BookSync, Delta, DiffIds, DiffOutcome, L2Book, Level, MarketKind, SyncStats,
};
use crate::data::aggregate::BarAggregator;
use crate::data::binance_ws::{WsMessage, decode_line, fast_depth, levels, stream_name};
use crate::data::decimal::{decimals_of, parse_fixed};
use crate::data::replay::each_line;
use crate::error::{CoreError, CoreResult};
use crate::exec::{self, Denials, Desk, Exec, Host};
use crate::model::Orders;
use crate::model::fixed::Rate;
use crate::model::order::{
    Command, Fill, Liquidity, OrderEvent, OrderEventKind, OrderId, OrderKind, OrderSpec,
    OrderStatus, Reason, Side,
};
use crate::model::{AggressorSide, Bar, Instrument};
use crate::portfolio::Portfolio;
use crate::risk::{RiskEngine, StateChange, TradingState};
use crate::venue::external::{ExternalVenue, VenueReport};
use crate::venue::fees::FeeModel;
use crate::venue::l2::{Arrival, L2Matcher, MatchFill, Working};
use crate::venue::queue::QueueModel;
use crate::venue::{LatencyConfig, LatencyModel, Leg};

/// How to run an L2 backtest.
#[derive(Debug, Clone)]
pub struct L2Config {
    pub market: MarketKind,
    /// `None`: inferred from the first price/size string (Binance pads to the precision).
    pub price_dp: Option<u8>,
    pub size_dp: Option<u8>,
    pub queue: QueueModel,
    /// Strategy throttle: called every `elapse_ns` of market time (> 0).
    pub elapse_ns: i64,
    /// Fee rates in basis points (a negative maker rate is a rebate).
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    /// A full fee model (volume tiers); when set it replaces the two flat rates above.
    pub fee_model: Option<FeeModel>,
    /// Decode depth diffs in Binance's exact layout with a one-pass scanner (falls back to the
    /// general JSON decoder for any other shape). Off: always the general decoder.
    pub fast_decode: bool,
    /// Submit / cancel / modify latency: a command sent at `t` reaches the matcher at the first
    /// event at or after `t + latency` (until then the order is `Submitted`, or keeps working
    /// while its cancel is in flight). Zero by default.
    pub latency: LatencyConfig,
    /// Cash at the start, money units (1e-18 of the quote currency). Default: 10,000.
    pub initial_cash: i128,
    /// The account: cash (spot: it pays for what it buys and holds what it sells) or margin. Its
    /// rule applies to every order and fill as in bar runs (see [`crate::portfolio`]). Default:
    /// the market's, a cash account on spot and a 1x margin account on futures.
    pub account: crate::portfolio::Account,
    /// Bars of this many ns built from the trades for [`L2Strategy::on_bar`] (None: no bars).
    pub bar_ns: Option<i64>,
    /// The symbol of the run's one instrument (None: `L2`, or `TICKS` in a tick run).
    pub symbol: Option<String>,
    /// Tick runs: merge and stamp the ticks by `ts_local` (the recorder's receive time: the
    /// order of a Binance recording's lines) instead of `ts_event`.
    pub by_receive_time: bool,
    /// Commands go to a real venue through the live node's execution client (taken with
    /// [`L2Backtest::take_outbound`]) and the venue's reports come back through
    /// [`L2Backtest::venue_report`]; the simulated matcher is not used.
    pub external: bool,
}

impl L2Config {
    pub fn new(market: MarketKind) -> Self {
        Self {
            market,
            price_dp: None,
            size_dp: None,
            queue: QueueModel::RiskAverse,
            elapse_ns: 100_000_000,
            latency: LatencyConfig::default(),
            maker_fee_bps: 0.0,
            taker_fee_bps: 0.0,
            fee_model: None,
            fast_decode: true,
            initial_cash: 10_000 * crate::model::fixed::pow10(crate::model::MONEY_DP),
            account: match market {
                MarketKind::Spot => crate::portfolio::Account::Cash,
                _ => crate::portfolio::Account::Margin(
                    crate::portfolio::MarginConfig::new(
                        1.0,
                        0.005,
                        0.0,
                        crate::portfolio::Funding::None,
                    )
                    .expect("a valid 1x margin account"),
                ),
            },
            bar_ns: None,
            symbol: None,
            by_receive_time: false,
            external: false,
        }
    }
}

/// What the strategy sees when it is called (raw prices and sizes at the instrument's precision).
#[derive(Debug)]
pub struct L2View<'a> {
    /// The run's clock (the recorder's receive time in an L2 run, the merge clock in a tick run).
    pub ts: i64,
    pub book: &'a L2Book,
    pub instrument: &'a Instrument,
    /// Signed position, raw size units.
    pub position: i64,
    /// Cash in money units (1e-18 of the quote currency), fees included.
    pub cash: i128,
    /// Cash plus the position at the book's mid (money units).
    pub equity: i128,
    pub orders: &'a Orders,
    /// The orders working at the venue (resting limits), with their queue positions.
    pub working: &'a [Working],
    /// The risk engine's trading state.
    pub trading_state: TradingState,
    /// Every order event and fill of the run so far (an event's `fill_index` indexes `fills`).
    pub events: &'a [OrderEvent],
    pub fills: &'a [Fill],
    /// Every denial so far with its numbers (an event's detail, by order id).
    pub denials: &'a Denials,
}

/// What a strategy asks the loop for, read once when the run starts. The loop does the work of
/// a callback (decoding `bookTicker` lines, parsing trades while no order rests, delivering
/// events) only for the ones asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    /// [`L2Strategy::on_elapse`] on the throttle.
    pub book: bool,
    /// [`L2Strategy::on_trade`] for every trade print.
    pub trades: bool,
    /// [`L2Strategy::on_quote`] for every change of the top of book.
    pub quotes: bool,
    /// [`L2Strategy::on_bar`] for every completed bar (with [`L2Config::bar_ns`]).
    pub bars: bool,
    /// [`L2Strategy::on_event`] for every order event.
    pub events: bool,
}

impl Wants {
    /// The throttle only (the default of a strategy).
    pub const BOOK: Wants = Wants {
        book: true,
        trades: false,
        quotes: false,
        bars: false,
        events: false,
    };
}

/// A trade print as the strategy sees it: raw price and size, the aggressor's side, the
/// exchange's trade id (-1 when the source has none), at the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradePrint {
    pub ts: i64,
    pub px: i64,
    pub qty: i64,
    pub aggressor: AggressorSide,
    pub id: i64,
}

/// A top of book as the strategy sees it (a side with no level is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopOfBook {
    pub ts: i64,
    pub bid: Option<Level>,
    pub ask: Option<Level>,
}

/// One request of a strategy: an order command, or one of the risk controls the bar engine's
/// context offers (a commanded trading state, a confidence).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Command(Command),
    /// The strategy's manual trading state (the engine's is the most severe of it and the
    /// layers' wishes); EMERGENCY acts at once.
    State(TradingState, String),
    /// The composite confidence in [0, 1] of the run's instrument (for the risk layers).
    Confidence(f64),
    /// A timer `name` firing every `interval_ns` of the run's clock, first at `start` (None: one
    /// interval from now); `interval_ns == 0`: an alert firing once at `start`. A timer of the
    /// same name is replaced.
    Timer {
        name: String,
        interval_ns: i64,
        start: Option<i64>,
    },
    /// Cancel the timer or alert `name` (nothing when there is none).
    CancelTimer(String),
}

/// What a strategy sends during one call, carried out in order right after it returns.
#[derive(Debug, Default)]
pub struct Outbox {
    ops: Vec<Op>,
}

impl Outbox {
    /// Queue an order command.
    #[inline]
    pub fn push(&mut self, c: Command) {
        self.ops.push(Op::Command(c));
    }

    /// Queue any request.
    #[inline]
    pub fn op(&mut self, op: Op) {
        self.ops.push(op);
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// The queued requests, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }
}

impl Extend<Op> for Outbox {
    fn extend<T: IntoIterator<Item = Op>>(&mut self, iter: T) {
        self.ops.extend(iter);
    }
}

/// A strategy driven by the L2 (or tick) loop: it queues [`Command`]s and [`Op`]s in the
/// [`Outbox`]. Which data callbacks run is what [`L2Strategy::wants`] says; every callback but
/// `on_elapse` does nothing by default.
pub trait L2Strategy {
    /// What the loop calls this strategy for. Default: [`Wants::BOOK`] (the throttle).
    fn wants(&self) -> Wants {
        Wants::BOOK
    }
    /// Called every `elapse_ns` of market time while the book is synced (the book callback).
    fn on_elapse(&mut self, view: &L2View<'_>, out: &mut Outbox) -> CoreResult<()>;
    /// Called for every trade print while the book is synced, after the print filled what it
    /// reached (ours included) and those fills' events were delivered.
    fn on_trade(
        &mut self,
        _view: &L2View<'_>,
        _trade: &TradePrint,
        _out: &mut Outbox,
    ) -> CoreResult<()> {
        Ok(())
    }
    /// Called for every new top of book while the book is synced: each `bookTicker` line of a
    /// recording (a change of the synced book's best bid/ask while the recording has shown
    /// none), each quote tick of a tick run.
    fn on_quote(
        &mut self,
        _view: &L2View<'_>,
        _quote: &TopOfBook,
        _out: &mut Outbox,
    ) -> CoreResult<()> {
        Ok(())
    }
    /// Called for every completed bar of [`L2Config::bar_ns`] (built from the trades by a
    /// [`BarAggregator`]), when the first event of a later bucket arrives, before that event.
    fn on_bar(&mut self, _view: &L2View<'_>, _bar: &Bar, _out: &mut Outbox) -> CoreResult<()> {
        Ok(())
    }
    /// Called after each fill of one of its orders (at once, inside the matching).
    fn on_fill(&mut self, _view: &L2View<'_>, _fill: &Fill, _out: &mut Outbox) -> CoreResult<()> {
        Ok(())
    }
    /// Every order event of its orders, in order (submitted, accepted, denied, rejected,
    /// triggered, updated, partially filled, filled, canceled, expired, modify/cancel rejected;
    /// risk refusals carry `Reason::Risk(code)`), when [`Wants::events`] is set.
    fn on_event(
        &mut self,
        _view: &L2View<'_>,
        _event: &OrderEvent,
        _out: &mut Outbox,
    ) -> CoreResult<()> {
        Ok(())
    }
    /// A timer or alert set through [`Op::Timer`] came due: `ts` is its time (the run's clock
    /// during the call). Timers fire on the run's clock — event time in a backtest and a replay
    /// alike — before the first event at or after their time.
    fn on_timer(
        &mut self,
        _view: &L2View<'_>,
        _name: &str,
        _ts: i64,
        _out: &mut Outbox,
    ) -> CoreResult<()> {
        Ok(())
    }
    /// A change of the risk engine's trading state. Default: ignored.
    fn on_trading_state(
        &mut self,
        _view: &L2View<'_>,
        _change: &StateChange,
        _out: &mut Outbox,
    ) -> CoreResult<()> {
        Ok(())
    }
    /// The strategy's own state for a checkpoint ([`L2Backtest::checkpoint`]); None: it keeps
    /// none in Rust (the default).
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Order ids below `next` are taken (orders a restart adopted from the venue): the
    /// strategy's next order id is at least `next`.
    fn reserve_ids(&mut self, _next: OrderId) {}
    /// Take back what [`save`](Self::save) gave, on a strategy built with the same parameters.
    /// Default: a strategy that saves nothing refuses any state.
    fn load(&mut self, _state: &[u8]) -> CoreResult<()> {
        Err(checkpoint_error(
            "the checkpoint holds a strategy state this strategy does not keep".into(),
        ))
    }
}

/// The sender of every command that leaves the engine ([`L2Backtest::set_journal`]): called in
/// [`Host::send`] once the command passed the risk engine and the account, before latency or the
/// matcher see it — the strategy's commands, the engine's own (EMERGENCY flattening) and the
/// operator's alike. An error stops the command (it never leaves) and ends the call that sent
/// it with that error: the write-ahead of a crash-safe store.
pub trait Journal {
    /// Write `cmd`, sent at `ts`, ahead of sending it.
    fn write_ahead(&mut self, cmd: &Command, ts: i64) -> CoreResult<()>;
}

/// A checkpoint's error: `CoreError::InvalidArgument` named "checkpoint" (it reads
/// "checkpoint: {reason}").
pub fn checkpoint_error(reason: String) -> CoreError {
    CoreError::InvalidArgument {
        name: "checkpoint",
        reason,
    }
}

/// The first bytes of every checkpoint blob, and its layout's version (a blob of another
/// version is refused). The layout is the serde derives of every type in [`StateRef`]: bump the
/// version with any change to them (a blob of an older layout would otherwise fail to decode,
/// "damaged", at best).
const CHECKPOINT_MAGIC: [u8; 8] = *b"TRDRCKPT";
pub const CHECKPOINT_VERSION: u32 = 2;

/// What precedes the engine's state in a blob: the magic, the version, and a fingerprint of the
/// configuration (the engine's config, the risk engine's limits and layers, the strategy's type).
#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointHeader {
    magic: [u8; 8],
    version: u32,
    fingerprint: [u8; 32],
}

/// The dynamic state of an [`L2Backtest`] in one struct twice: borrowed to write it, owned to
/// read it (the same fields in the same order: one layout).
macro_rules! engine_state {
    ($($field:ident : $ty:ty),* $(,)?) => {
        #[derive(serde::Serialize)]
        struct StateRef<'a> {
            $($field: &'a $ty,)*
        }
        #[derive(serde::Deserialize)]
        struct StateOwned {
            $($field: $ty,)*
        }
    };
}

engine_state! {
    fees: FeeModel,
    sync: Option<BookSync>,
    quote_book: Option<L2Book>,
    inst: Option<Instrument>,
    matcher: L2Matcher,
    orders: Orders,
    fills: Vec<Fill>,
    events: Vec<OrderEvent>,
    untriggered: Vec<OrderId>,
    arriving: Vec<OrderId>,
    portfolio: Portfolio,
    denials: Denials,
    risk: crate::risk::RiskState,
    exec: Exec,
    risk_quote: (i64, i64),
    seen_events: usize,
    bars: Option<BarAggregator>,
    ticker_seen: bool,
    last_top: (Option<Level>, Option<Level>),
    clock: i64,
    next_wake: Option<i64>,
    early: Vec<DiffIds>,
    report: L2Report,
    latency: LatencyModel,
    in_flight: VecDeque<(i64, u64, InFlight)>,
    sent: u64,
    timers: Vec<Timer>,
    timer_seq: u64,
    strategy: Option<Vec<u8>>,
    ext: Option<ExternalVenue>,
}

/// Signed basis points as an exact rate.
fn signed_bps(bps: f64, name: &'static str) -> CoreResult<Rate> {
    Rate::from_bps(bps).ok_or_else(|| CoreError::InvalidArgument {
        name,
        reason: format!("must be a finite number of basis points, got {bps}"),
    })
}

fn book_of<'a>(sync: &'a Option<BookSync>, quotes: &'a Option<L2Book>) -> Option<&'a L2Book> {
    match quotes {
        Some(b) => Some(b),
        None => sync.as_ref().map(|s| s.book()),
    }
}

/// Run a quote-mode backtest over decoded tick columns (see [`L2Backtest::new_quotes`]): quotes
/// and trades merged by `ts_event` (or `ts_local` with [`L2Config::by_receive_time`]; a quote
/// before a trade at the same time, each kind in its own order), prices and sizes converted to
/// raw integers at `price_dp` / `size_dp` (rounded to nearest; NaN sides are empty).
pub fn run_ticks<S: L2Strategy>(
    trades: &crate::data::ticks::TradeTicks,
    quotes: &crate::data::ticks::QuoteTicks,
    cfg: L2Config,
    price_dp: u8,
    size_dp: u8,
    strategy: S,
) -> CoreResult<(L2Report, S, L2Run)> {
    run_ticks_with(trades, quotes, cfg, price_dp, size_dp, strategy, None)
}

/// [`run_ticks`] with a risk engine (None: the default one, structural checks only), built for
/// the one instrument of the run ([`ticks_instrument`] of `cfg.symbol` at the given precision).
pub fn run_ticks_with<S: L2Strategy>(
    trades: &crate::data::ticks::TradeTicks,
    quotes: &crate::data::ticks::QuoteTicks,
    cfg: L2Config,
    price_dp: u8,
    size_dp: u8,
    strategy: S,
    risk: Option<RiskEngine>,
) -> CoreResult<(L2Report, S, L2Run)> {
    use crate::model::fixed::to_raw;
    let t0 = Instant::now();
    let mut bt = L2Backtest::new_quotes(cfg, price_dp, size_dp, strategy)?;
    if let Some(r) = risk {
        bt.set_risk(r);
    }
    let raw = |v: f64, dp: u8, name: &'static str, i: usize| {
        to_raw(v, dp).ok_or_else(|| CoreError::InvalidArgument {
            name,
            reason: format!("row {}: not a finite number: {v}", i + 1),
        })
    };
    let level = |px: f64, qty: f64, i: usize| -> CoreResult<Option<Level>> {
        if px.is_nan() || qty.is_nan() {
            return Ok(None);
        }
        Ok(Some(Level {
            px: raw(px, price_dp, "quote price", i)?,
            qty: raw(qty, size_dp, "quote size", i)?,
        }))
    };
    let (qts, tts) = if bt.cfg.by_receive_time {
        (&quotes.ts_local, &trades.ts_local)
    } else {
        (&quotes.ts_event, &trades.ts_event)
    };
    for (name, col, n) in [("quotes", qts, quotes.len()), ("trades", tts, trades.len())] {
        if col.len() != n {
            return Err(CoreError::InvalidArgument {
                name,
                reason: format!("the time column has {} rows, the prices {n}", col.len()),
            });
        }
    }
    let ids = (trades.id.len() == trades.len()).then_some(&trades.id);
    let (mut i, mut j) = (0usize, 0usize);
    while i < quotes.len() || j < trades.len() {
        let quote_next = j >= trades.len() || (i < quotes.len() && qts[i] <= tts[j]);
        if quote_next {
            let bid = level(quotes.bid_price[i], quotes.bid_size[i], i)?;
            let ask = level(quotes.ask_price[i], quotes.ask_size[i], i)?;
            bt.feed_quote(qts[i], bid, ask)?;
            i += 1;
        } else {
            let side = AggressorSide::from_code(trades.side[j]).unwrap_or_default();
            bt.feed_trade_id(
                tts[j],
                raw(trades.price[j], price_dp, "trade price", j)?,
                raw(trades.size[j], size_dp, "trade size", j)?,
                side,
                ids.map_or(-1, |v| v[j]),
            )?;
            j += 1;
        }
    }
    let mut out = bt.finish();
    out.0.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// The orders, fills, events, account and risk engine of a finished run.
#[derive(Debug)]
pub struct L2Run {
    pub orders: Orders,
    pub fills: Vec<Fill>,
    pub events: Vec<OrderEvent>,
    /// The account (cash, position, fees, round trips), marked at the last mid.
    pub portfolio: Portfolio,
    /// The risk engine: its report, audit log (sealed) and final state.
    pub risk: RiskEngine,
    /// The run's one instrument (None when the data never showed a price).
    pub instrument: Option<Instrument>,
}

/// Counts and results of one L2 backtest.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct L2Report {
    pub price_dp: u8,
    pub size_dp: u8,
    /// Recorded lines processed (the "events" of the throughput figure).
    pub events: u64,
    pub depth_messages: u64,
    pub trade_messages: u64,
    pub ticker_messages: u64,
    pub snapshot_messages: u64,
    pub deltas: u64,
    /// Depth messages decoded by the one-pass decoder (the rest went through serde).
    pub fast_depth: u64,
    pub sync: SyncStats,
    /// Calls of the book callback (the throttle).
    pub strategy_calls: u64,
    /// Calls of the trade, quote and bar callbacks, and bars completed.
    pub trade_calls: u64,
    pub quote_calls: u64,
    pub bars: u64,
    /// Timer and alert firings.
    pub timer_calls: u64,
    pub orders: u64,
    pub fills: u64,
    pub maker_fills: u64,
    pub taker_fills: u64,
    /// Final signed position (raw) and cash (money units), and fees paid (money units).
    pub position: i64,
    pub cash: i128,
    pub fees: i128,
    /// Cash at the start, money units.
    pub initial_cash: i128,
    /// Realized PnL before fees, unrealized PnL of the open position at the last mid, and
    /// equity (cash + position at the last mid), money units: equity - initial cash =
    /// realized + unrealized - fees.
    pub realized: i128,
    pub unrealized: i128,
    pub equity: i128,
    /// Traded volume of our fills (raw size units).
    pub volume: i64,
    pub last_mid: Option<f64>,
    pub first_ts: i64,
    pub last_ts: i64,
    pub elapsed_s: f64,
}

/// One L2 backtest in progress (feed lines, then [`finish`](Self::finish)).
pub struct L2Backtest<S: L2Strategy> {
    cfg: L2Config,
    fees: FeeModel,
    strategy: S,
    sync: Option<BookSync>,
    /// Quote mode: the one-level book of the latest top-of-book quote (no depth stream).
    quote_book: Option<L2Book>,
    inst: Option<Instrument>,
    matcher: L2Matcher,
    orders: Orders,
    fills: Vec<Fill>,
    events: Vec<OrderEvent>,
    /// Conditional orders accepted and waiting for their trigger.
    untriggered: Vec<OrderId>,
    /// Orders being matched on arrival right now (not to be re-sent by `reconcile`).
    arriving: Vec<OrderId>,
    /// The account: cash, the position, fees (fills applied in order).
    portfolio: Portfolio,
    /// Every denial (risk engine or account) with its numbers.
    denials: Denials,
    /// The risk engine every command passes (default: structural checks, no layers).
    risk: RiskEngine,
    /// The command path's state: what the risk layers saw, the engine's own orders.
    exec: Exec,
    /// The best bid/ask last shown to the layers (raw; `i64::MIN`: none yet).
    risk_quote: (i64, i64),
    /// What the strategy is called for.
    wants: Wants,
    /// Order events already handed to the strategy (with `wants.events`).
    seen_events: usize,
    /// Bars from the trades (with `cfg.bar_ns`).
    bars: Option<BarAggregator>,
    /// The recording has shown a `bookTicker` line: quotes come from those lines from then on.
    ticker_seen: bool,
    /// The last top of book handed to `on_quote` when quotes come from the depth book.
    last_top: (Option<Level>, Option<Level>),
    /// Inside the delivery loop (nested calls leave the work to it).
    delivering: bool,
    clock: i64,
    next_wake: Option<i64>,
    scratch: Vec<Delta>,
    snap: (Vec<Level>, Vec<Level>),
    mfills: Vec<MatchFill>,
    out: Outbox,
    early: Vec<DiffIds>,
    report: L2Report,
    latency: LatencyModel,
    /// Commands sent but not yet at the matcher: (arrival ns, send sequence, what arrives), sorted.
    in_flight: VecDeque<(i64, u64, InFlight)>,
    sent: u64,
    /// The strategy's timers and alerts (few: a linear scan finds the next).
    timers: Vec<Timer>,
    timer_seq: u64,
    /// Where every command is written before it leaves (None: nowhere, one branch).
    journal: Option<Box<dyn Journal>>,
    /// A real venue behind the live node (None: the simulated matcher).
    ext: Option<ExternalVenue>,
}

/// A timer (`interval > 0`) or an alert (`interval == 0`) of the strategy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Timer {
    name: String,
    next: i64,
    interval: i64,
    /// Order of setting: ties at one time fire in it.
    seq: u64,
}

/// The data event a recorded line or tick carried, for the strategy's callback.
#[derive(Debug, Clone, Copy)]
enum Data {
    None,
    Trade(TradePrint),
    Quote(TopOfBook),
}

/// What reaches the matcher when a delayed command arrives.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum InFlight {
    /// A registered (`Submitted`) order to accept and match.
    Accept(OrderId),
    AcceptList(crate::model::ListId),
    /// A cancel, cancel-all or modify.
    Other(Command),
}

impl<S: L2Strategy> L2Backtest<S> {
    pub fn new(cfg: L2Config, strategy: S) -> CoreResult<Self> {
        if cfg.elapse_ns <= 0 {
            return Err(CoreError::InvalidArgument {
                name: "elapse",
                reason: format!("must be > 0 ns, got {}", cfg.elapse_ns),
            });
        }
        let fees = match &cfg.fee_model {
            Some(f) => f.clone(),
            None => FeeModel::flat_signed(
                signed_bps(cfg.maker_fee_bps, "maker_fee_bps")?,
                signed_bps(cfg.taker_fee_bps, "taker_fee_bps")?,
            ),
        };
        let model = cfg.queue;
        cfg.latency.validate()?;
        let latency = cfg.latency;
        let initial_cash = cfg.initial_cash;
        let mut portfolio = Portfolio::new(initial_cash, 1);
        portfolio.set_account(cfg.account.clone());
        if let Some(n) = cfg.bar_ns
            && n <= 0
        {
            return Err(CoreError::InvalidArgument {
                name: "bar",
                reason: format!("the bar interval must be > 0 ns, got {n}"),
            });
        }
        let mut wants = strategy.wants();
        wants.bars &= cfg.bar_ns.is_some();
        Ok(Self {
            cfg,
            fees,
            strategy,
            sync: None,
            quote_book: None,
            inst: None,
            matcher: L2Matcher::new(model),
            orders: Orders::default(),
            fills: Vec::new(),
            events: Vec::new(),
            untriggered: Vec::new(),
            arriving: Vec::new(),
            portfolio,
            denials: Denials::default(),
            risk: RiskEngine::structural(1),
            exec: Exec::new(1),
            risk_quote: (i64::MIN, i64::MIN),
            wants,
            seen_events: 0,
            bars: None,
            ticker_seen: false,
            last_top: (None, None),
            delivering: false,
            clock: i64::MIN,
            next_wake: None,
            scratch: Vec::with_capacity(512),
            snap: (Vec::new(), Vec::new()),
            mfills: Vec::with_capacity(16),
            out: Outbox::default(),
            early: Vec::new(),
            report: L2Report::default(),
            latency: LatencyModel::new(latency),
            in_flight: VecDeque::new(),
            sent: 0,
            timers: Vec::new(),
            timer_seq: 0,
            journal: None,
            ext: None,
        })
        .map(|mut bt: Self| {
            if bt.cfg.external {
                bt.ext = Some(ExternalVenue::default());
            }
            bt
        })
    }

    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    pub fn matcher(&self) -> &L2Matcher {
        &self.matcher
    }

    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The account.
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// The risk engine.
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// Replace the risk engine (before the run; built for one instrument, the run's). Its
    /// initial state reaches the strategy at the first wake-up.
    pub fn set_risk(&mut self, risk: RiskEngine) {
        self.risk = risk;
        self.exec.reset_seen(self.fills.len(), self.events.len());
    }

    /// Write every command ahead of sending it ([`Journal`]); None: no journal.
    pub fn set_journal(&mut self, journal: Option<Box<dyn Journal>>) {
        self.journal = journal;
    }

    /// The fingerprint of what a checkpoint must be restored into: this engine's configuration,
    /// its risk engine's limits and layers, and the strategy's type.
    fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(format!("{:?}", self.cfg).as_bytes());
        h.update(format!("{:?}", self.risk.limits()).as_bytes());
        h.update(format!("{:?}{}", self.risk.layer_names(), self.risk.bypass()).as_bytes());
        h.update(std::any::type_name::<S>().as_bytes());
        h.finalize().into()
    }

    /// The engine's whole dynamic state as one blob, at an event boundary (between two fed
    /// events or calls): book and its sync, the matcher's queue positions, orders, fills, events,
    /// the account, the risk engine (state, buckets, report, audit log, each layer's own state),
    /// commands in flight, timers, the latency model's generator, the fee tiers' volume, the bar
    /// being built, the counters and the strategy's own state ([`L2Strategy::save`]). Restore it
    /// with [`restore`](Self::restore) on an engine built from the same configuration.
    pub fn checkpoint(&self) -> CoreResult<Vec<u8>> {
        if self.delivering || !self.out.is_empty() {
            return Err(checkpoint_error("not at an event boundary".into()));
        }
        let risk = self.risk.save();
        let strategy = self.strategy.save()?;
        let state = StateRef {
            fees: &self.fees,
            sync: &self.sync,
            quote_book: &self.quote_book,
            inst: &self.inst,
            matcher: &self.matcher,
            orders: &self.orders,
            fills: &self.fills,
            events: &self.events,
            untriggered: &self.untriggered,
            arriving: &self.arriving,
            portfolio: &self.portfolio,
            denials: &self.denials,
            risk: &risk,
            exec: &self.exec,
            risk_quote: &self.risk_quote,
            seen_events: &self.seen_events,
            bars: &self.bars,
            ticker_seen: &self.ticker_seen,
            last_top: &self.last_top,
            clock: &self.clock,
            next_wake: &self.next_wake,
            early: &self.early,
            report: &self.report,
            latency: &self.latency,
            in_flight: &self.in_flight,
            sent: &self.sent,
            timers: &self.timers,
            timer_seq: &self.timer_seq,
            strategy: &strategy,
            ext: &self.ext,
        };
        let header = CheckpointHeader {
            magic: CHECKPOINT_MAGIC,
            version: CHECKPOINT_VERSION,
            fingerprint: self.fingerprint(),
        };
        let mut blob = bincode::serialize(&header)
            .map_err(|e| checkpoint_error(format!("cannot encode: {e}")))?;
        bincode::serialize_into(&mut blob, &state)
            .map_err(|e| checkpoint_error(format!("cannot encode: {e}")))?;
        Ok(blob)
    }

    /// Take back a [`checkpoint`](Self::checkpoint) on an engine built from the same
    /// configuration and strategy type (the journal stays this engine's). A blob of another
    /// version or configuration, or a damaged one, is an error naming the difference, and the
    /// engine is unchanged (the blob is decoded whole first); a risk layer or the strategy
    /// refusing its own state is an error too, after which the engine is partly restored:
    /// build a new one.
    pub fn restore(&mut self, blob: &[u8]) -> CoreResult<()> {
        let mut r = blob;
        let header: CheckpointHeader = bincode::deserialize_from(&mut r)
            .map_err(|e| checkpoint_error(format!("not a checkpoint ({e})")))?;
        if header.magic != CHECKPOINT_MAGIC {
            return Err(checkpoint_error(
                "not a checkpoint (bad magic bytes)".into(),
            ));
        }
        if header.version != CHECKPOINT_VERSION {
            return Err(checkpoint_error(format!(
                "written by layout version {}, this engine reads version {CHECKPOINT_VERSION}",
                header.version
            )));
        }
        if header.fingerprint != self.fingerprint() {
            return Err(checkpoint_error(
                "written by an engine of another configuration (engine, risk or strategy)".into(),
            ));
        }
        let st: StateOwned = bincode::deserialize_from(&mut r)
            .map_err(|e| checkpoint_error(format!("damaged ({e})")))?;
        if !r.is_empty() {
            return Err(checkpoint_error(format!(
                "damaged ({} bytes too many)",
                r.len()
            )));
        }
        self.risk.load(st.risk)?;
        match &st.strategy {
            Some(b) => self.strategy.load(b)?,
            None => {
                if self.strategy.save()?.is_some() {
                    return Err(checkpoint_error(
                        "the checkpoint holds no strategy state, this strategy keeps one".into(),
                    ));
                }
            }
        }
        self.fees = st.fees;
        self.sync = st.sync;
        self.quote_book = st.quote_book;
        self.inst = st.inst;
        self.matcher = st.matcher;
        self.orders = st.orders;
        self.fills = st.fills;
        self.events = st.events;
        self.untriggered = st.untriggered;
        self.arriving = st.arriving;
        self.portfolio = st.portfolio;
        self.denials = st.denials;
        self.exec = st.exec;
        self.risk_quote = st.risk_quote;
        self.seen_events = st.seen_events;
        self.bars = st.bars;
        self.ticker_seen = st.ticker_seen;
        self.last_top = st.last_top;
        self.clock = st.clock;
        self.next_wake = st.next_wake;
        self.early = st.early;
        self.report = st.report;
        self.latency = st.latency;
        self.in_flight = st.in_flight;
        self.sent = st.sent;
        self.timers = st.timers;
        self.timer_seq = st.timer_seq;
        self.ext = st.ext;
        self.delivering = false;
        self.out = Outbox::default();
        self.mfills.clear();
        Ok(())
    }

    fn ensure(&mut self, px: &str, qty: &str) -> CoreResult<()> {
        if self.sync.is_some() {
            return Ok(());
        }
        let pdp = match self.cfg.price_dp {
            Some(d) => d,
            None => decimals_of(px, "price_precision")?,
        };
        let sdp = match self.cfg.size_dp {
            Some(d) => d,
            None => decimals_of(qty, "size_precision")?,
        };
        let mut sync = BookSync::new(self.cfg.market, pdp, sdp)?;
        for ids in self.early.drain(..) {
            sync.on_diff(ids, &[])?;
        }
        self.sync = Some(sync);
        self.set_instrument(pdp, sdp, L2_SYMBOL)
    }

    /// The run's one instrument is known: its order manager, its bar aggregator, the precision.
    fn set_instrument(&mut self, pdp: u8, sdp: u8, default_symbol: &str) -> CoreResult<()> {
        let symbol = self.cfg.symbol.as_deref().unwrap_or(default_symbol);
        let inst = Instrument::new(symbol, pdp, sdp)?;
        self.orders = Orders::new(std::slice::from_ref(&inst));
        self.inst = Some(inst);
        if let Some(n) = self.cfg.bar_ns {
            self.bars = Some(BarAggregator::new(n, 0, sdp)?);
        }
        self.report.price_dp = pdp;
        self.report.size_dp = sdp;
        Ok(())
    }

    /// Apply the decoded diff in `self.scratch`: Binance sync, queue positions, crossed orders.
    /// True when the diff changed the synced book.
    fn apply_depth(&mut self, ids: DiffIds) -> CoreResult<bool> {
        self.report.deltas += self.scratch.len() as u64;
        let Some(sync) = self.sync.as_mut() else {
            return Ok(false);
        };
        let applied = sync.on_diff(ids, &self.scratch)? == DiffOutcome::Applied;
        if applied && !self.matcher.is_idle() {
            for d in &self.scratch {
                self.matcher.on_level(d.side, d.px, d.qty);
            }
            self.matcher.sweep_crossed(sync.book(), &mut self.mfills);
        }
        Ok(applied)
    }

    /// The clock reaches `ts` (never going back) for one recorded event: delayed commands
    /// arrive, and the bar whose bucket ended is handed out, before the event itself.
    #[inline]
    fn advance(&mut self, ts: i64) -> CoreResult<()> {
        self.report.events += 1;
        if !self.timers.is_empty() {
            self.fire_timers(ts)?;
        }
        self.clock = self.clock.max(ts);
        if self.report.first_ts == 0 {
            self.report.first_ts = self.clock;
            self.risk.start(self.clock);
        }
        self.arrivals_due()?;
        if let Some(b) = &self.bars
            && self.clock >= b.next_close()
        {
            let ts = self.clock;
            if let Some(bar) = self.bars.as_mut().and_then(|b| b.on_time(ts)) {
                self.emit_bar(bar, ts)?;
            }
        }
        Ok(())
    }

    /// A completed bar: counted, and handed to the strategy (indicators first, in Python).
    #[inline(never)]
    fn emit_bar(&mut self, bar: Bar, ts: i64) -> CoreResult<()> {
        self.report.bars += 1;
        if !self.wants.bars {
            return Ok(());
        }
        self.deliver_pending(ts)?;
        self.call(ts, |s, v, o| s.on_bar(v, &bar, o))
    }

    /// A trade print at the clock: bars, then what the strategy sees of it.
    #[inline]
    fn trade_data(
        &mut self,
        px: i64,
        qty: i64,
        aggressor: AggressorSide,
        id: i64,
    ) -> CoreResult<Data> {
        let ts = self.clock;
        if let Some(bar) = self.bars.as_mut().and_then(|b| b.on_trade(ts, px, qty)) {
            self.emit_bar(bar, ts)?;
        }
        Ok(if self.wants.trades {
            Data::Trade(TradePrint {
                ts,
                px,
                qty,
                aggressor,
                id,
            })
        } else {
            Data::None
        })
    }

    /// A new top of the depth book, for a strategy that wants quotes while the recording has
    /// shown no `bookTicker` line (from the first one on, those lines are the quotes).
    #[inline]
    fn book_quote(&mut self) -> Data {
        if !self.wants.quotes || self.ticker_seen {
            return Data::None;
        }
        let Some(sync) = self.sync.as_ref().filter(|s| s.is_synced()) else {
            return Data::None;
        };
        let top = (sync.book().best_bid(), sync.book().best_ask());
        if top == self.last_top {
            return Data::None;
        }
        self.last_top = top;
        Data::Quote(TopOfBook {
            ts: self.clock,
            bid: top.0,
            ask: top.1,
        })
    }

    /// A decoded `bookTicker` as a quote (raw at the run's precision; a side at price 0 is empty).
    fn ticker_quote(&self, t: &crate::data::binance_ws::BookTicker<'_>) -> CoreResult<Data> {
        if !self.wants.quotes || self.inst.is_none() {
            return Ok(Data::None);
        }
        let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
        let level = |px: &str, qty: &str| -> CoreResult<Option<Level>> {
            let px = parse_fixed(px, pdp, "bookTicker price")?;
            let qty = parse_fixed(qty, sdp, "bookTicker qty")?;
            Ok((px > 0).then_some(Level { px, qty }))
        };
        Ok(Data::Quote(TopOfBook {
            ts: self.clock,
            bid: level(t.bid_px, t.bid_qty)?,
            ask: level(t.ask_px, t.ask_qty)?,
        }))
    }

    /// Feed one recorded line.
    pub fn feed_line(&mut self, line: &str) -> CoreResult<()> {
        if line.trim().is_empty() {
            return Ok(());
        }
        // bookTicker lines (70% of a futures recording) are only counted unless the strategy
        // wants quotes: recognise them from the envelope's stream name and skip the decoding.
        if let Some((ts, rest)) = line.split_once(' ')
            && {
                let h = &rest.as_bytes()[..rest.len().min(80)];
                h.starts_with(b"{\"stream\":\"") && h.windows(12).any(|w| w == b"@bookTicker\"")
            }
        {
            self.ticker_seen = true;
            if !self.wants.quotes {
                let recv: i64 = ts.parse().map_err(|_| CoreError::InvalidArgument {
                    name: "line",
                    reason: format!("bad receive timestamp {ts:?}"),
                })?;
                self.report.ticker_messages += 1;
                self.advance(recv)?;
                return self.after_event(Data::None);
            }
        }
        if self.cfg.fast_decode
            && self.sync.is_some()
            && let Some((ts, rest)) = line.trim_end().split_once(' ')
        {
            let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
            let mut deltas = std::mem::take(&mut self.scratch);
            let got = fast_depth(rest, pdp, sdp, &mut deltas);
            self.scratch = deltas;
            if let Some(ids) = got {
                let ids = ids?;
                let recv: i64 = ts.parse().map_err(|_| CoreError::InvalidArgument {
                    name: "line",
                    reason: format!("bad receive timestamp {ts:?}"),
                })?;
                self.report.depth_messages += 1;
                self.report.fast_depth += 1;
                self.advance(recv)?;
                let data = if self.apply_depth(ids)? {
                    self.book_quote()
                } else {
                    Data::None
                };
                return self.after_event(data);
            }
        }
        let l = decode_line(line)?;
        self.advance(l.recv_ns)?;
        let data = match l.msg {
            WsMessage::Depth(d) => {
                self.report.depth_messages += 1;
                let ids = DiffIds {
                    first: d.first_update_id,
                    last: d.final_update_id,
                    prev: d.prev_final_update_id,
                };
                if self.sync.is_none() {
                    match levels(d.bids).chain(levels(d.asks)).next() {
                        Some(r) => {
                            let (p, q) = r?;
                            self.ensure(p, q)?;
                        }
                        None => {
                            self.early.push(ids);
                            return Ok(());
                        }
                    }
                }
                let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
                self.scratch.clear();
                for (side, raw) in [(BookSide::Bid, d.bids), (BookSide::Ask, d.asks)] {
                    for lv in levels(raw) {
                        let (p, q) = lv?;
                        self.scratch.push(Delta {
                            side,
                            px: parse_fixed(p, pdp, "price")?,
                            qty: parse_fixed(q, sdp, "qty")?,
                        });
                    }
                }
                if self.apply_depth(ids)? {
                    self.book_quote()
                } else {
                    Data::None
                }
            }
            WsMessage::Trade(t) => {
                self.report.trade_messages += 1;
                self.ensure(t.px, t.qty)?;
                let matching = !self.matcher.is_idle() || !self.untriggered.is_empty();
                if matching || self.wants.trades || self.bars.is_some() {
                    let px = parse_fixed(t.px, self.report.price_dp, "trade price")?;
                    let qty = parse_fixed(t.qty, self.report.size_dp, "trade qty")?;
                    let side = if t.buyer_is_maker {
                        AggressorSide::Seller
                    } else {
                        AggressorSide::Buyer
                    };
                    if matching {
                        self.matcher.on_trade(px, qty, side, &mut self.mfills);
                        if !self.untriggered.is_empty() {
                            self.check_triggers(px)?;
                        }
                    }
                    self.trade_data(px, qty, side, t.id.unwrap_or(-1))?
                } else {
                    Data::None
                }
            }
            WsMessage::Snapshot(s) => {
                self.report.snapshot_messages += 1;
                if self.sync.is_none() {
                    let Some(r) = levels(s.bids).chain(levels(s.asks)).next() else {
                        return Err(CoreError::InvalidArgument {
                            name: "line",
                            reason: "empty snapshot: cannot infer the precision".into(),
                        });
                    };
                    let (p, q) = r?;
                    self.ensure(p, q)?;
                }
                let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
                self.snap.0.clear();
                self.snap.1.clear();
                for (raw, out) in [(s.bids, &mut self.snap.0), (s.asks, &mut self.snap.1)] {
                    for lv in levels(raw) {
                        let (p, q) = lv?;
                        out.push(Level {
                            px: parse_fixed(p, pdp, "snapshot price")?,
                            qty: parse_fixed(q, sdp, "snapshot qty")?,
                        });
                    }
                }
                if let Some(sync) = self.sync.as_mut() {
                    sync.on_snapshot(s.last_update_id, &self.snap.0, &self.snap.1)?;
                }
                self.book_quote()
            }
            WsMessage::BookTicker(t) => {
                self.report.ticker_messages += 1;
                self.ticker_seen = true;
                self.ticker_quote(&t)?
            }
            WsMessage::Other { .. } => Data::None,
        };
        self.after_event(data)
    }

    /// After each event: its fills, the risk layers' turn, pending events and state changes,
    /// then (book synced) the strategy's data callback and, when due, its throttled wake-up.
    fn after_event(&mut self, data: Data) -> CoreResult<()> {
        let ts = self.clock;
        if !self.mfills.is_empty() {
            let mfills = std::mem::take(&mut self.mfills);
            for f in &mfills {
                self.apply_fill(*f, ts)?;
            }
            self.mfills = mfills;
            self.mfills.clear();
        }
        let synced = match &self.quote_book {
            Some(b) => !b.is_empty(),
            None => self.sync.as_ref().is_some_and(|s| s.is_synced()),
        };
        if self.risk.has_layers() {
            self.risk_step(ts, synced)?;
        }
        self.deliver_pending(ts)?;
        if !synced {
            return Ok(());
        }
        match data {
            Data::None => {}
            Data::Trade(t) => {
                self.report.trade_calls += 1;
                self.call(ts, |s, v, o| s.on_trade(v, &t, o))?;
            }
            Data::Quote(q) => {
                self.report.quote_calls += 1;
                self.call(ts, |s, v, o| s.on_quote(v, &q, o))?;
            }
        }
        let due = match self.next_wake {
            None => true,
            Some(w) => ts >= w,
        };
        if due {
            let e = self.cfg.elapse_ns;
            // Wake-ups sit on a grid of `elapse` from the first one.
            self.next_wake = Some(match self.next_wake {
                None => ts.saturating_add(e),
                Some(w) => w.saturating_add(((ts - w) / e + 1).saturating_mul(e)),
            });
            if self.risk.state() == TradingState::Emergency {
                exec::emergency(self, ts)?;
            }
            self.deliver_pending(ts)?;
            if self.wants.book {
                self.report.strategy_calls += 1;
                self.call(ts, |s, v, o| s.on_elapse(v, o))?;
            }
        }
        Ok(())
    }

    /// Call the strategy with a view of the run at `ts` (the account marked at the mid), then
    /// carry out what it sent, in order.
    #[inline]
    fn call<F>(&mut self, ts: i64, f: F) -> CoreResult<()>
    where
        F: FnOnce(&mut S, &L2View<'_>, &mut Outbox) -> CoreResult<()>,
    {
        self.mark_mid();
        let mut out = std::mem::take(&mut self.out);
        {
            let (Some(book), Some(inst)) =
                (book_of(&self.sync, &self.quote_book), self.inst.as_ref())
            else {
                self.out = out;
                return Ok(());
            };
            let view = L2View {
                ts,
                book,
                instrument: inst,
                position: self.orders.position(0),
                cash: self.portfolio.cash,
                equity: self.portfolio.equity(std::slice::from_ref(inst)),
                orders: &self.orders,
                working: match &self.ext {
                    Some(x) => &x.working,
                    None => self.matcher.working(),
                },
                trading_state: self.risk.state(),
                events: &self.events,
                fills: &self.fills,
                denials: &self.denials,
            };
            f(&mut self.strategy, &view, &mut out)?;
        }
        self.run_commands(&mut out, ts)?;
        self.out = out;
        Ok(())
    }

    /// The market price a post-only order of `side` must not reach (the opposite touch).
    fn mark(&self, side: Side) -> Option<i64> {
        let book = book_of(&self.sync, &self.quote_book)?;
        match side {
            Side::Buy => book.best_ask(),
            Side::Sell => book.best_bid(),
        }
        .map(|l| l.px)
    }

    fn apply_fill(&mut self, f: MatchFill, ts: i64) -> CoreResult<()> {
        let Some(inst) = self.inst.as_ref() else {
            return Ok(());
        };
        let Some(o) = self.orders.get(f.id) else {
            return Ok(());
        };
        if !o.status.is_working() {
            return Ok(());
        }
        // Reduce-only orders never fill beyond the position they reduce.
        let qty = f.qty.min(self.orders.fill_cap(o));
        if qty <= 0 {
            self.reconcile(ts)?;
            return Ok(());
        }
        // The account's rule at the fill: what it cannot carry is not filled, and the rest of the
        // order is canceled with the account's reason.
        let side = o.spec.side;
        let exit = crate::portfolio::Exit::of(&o.spec.kind, o.parent.is_some());
        let (qty, short) =
            self.portfolio
                .fill_capacity(inst, 0, side, f.px, qty, self.fees.max_rate(f.liquidity));
        if qty <= 0 {
            if let Some(why) = short {
                self.orders.cancel_with(f.id, why, ts, &mut self.events);
            }
            self.reconcile(ts)?;
            return Ok(());
        }
        // Fees by the shared model: charges round up, rebates toward zero (never for the trader).
        let fee = self.fees.fee(inst, f.px, qty, f.liquidity, ts);
        self.orders.apply_fill(
            f.id,
            f.px,
            qty,
            f.liquidity,
            fee,
            ts,
            &mut self.fills,
            &mut self.events,
        );
        let Some(fill) = self.fills.last().cloned() else {
            return Ok(());
        };
        self.portfolio.apply_exit(inst, &fill, exit);
        if let Some(why) = short {
            self.orders.cancel_with(f.id, why, ts, &mut self.events);
        }
        self.report.fees += fill.fee;
        self.report.fills += 1;
        self.report.volume += fill.qty;
        match fill.liquidity {
            Liquidity::Maker => self.report.maker_fills += 1,
            Liquidity::Taker => self.report.taker_fills += 1,
        }
        self.reconcile(ts)?;
        self.call(ts, |s, v, o| s.on_fill(v, &fill, o))
    }

    /// Bring the matcher in line with the order manager after any change: closed orders leave
    /// it, resized ones follow, orders newly working at the manager (released OTO/bracket
    /// children, triggered conditionals) arrive, untriggered conditionals wait for a trade.
    fn reconcile(&mut self, ts: i64) -> CoreResult<()> {
        if self.ext.is_some() {
            self.sync_external();
            return Ok(());
        }
        let mut stale: Vec<(OrderId, i64)> = Vec::new();
        for w in self.matcher.working() {
            let leaves = self
                .orders
                .get(w.id)
                .filter(|o| o.status.is_working())
                .map_or(0, |o| o.leaves());
            if leaves != w.leaves {
                stale.push((w.id, leaves));
            }
        }
        for (id, leaves) in stale {
            self.matcher.set_leaves(id, leaves);
        }
        let orders = &self.orders;
        self.untriggered.retain(|id| {
            orders
                .get(*id)
                .is_some_and(|o| o.status == OrderStatus::Accepted)
        });
        let new: Vec<OrderId> = self
            .orders
            .working_ids(0)
            .iter()
            .copied()
            .filter(|id| {
                self.matcher.get(*id).is_none()
                    && !self.untriggered.contains(id)
                    && !self.arriving.contains(id)
            })
            .collect();
        for id in new {
            self.arrive(id, ts)?;
        }
        Ok(())
    }

    /// A working order (at the manager) reaches the matcher: conditionals wait for a trigger,
    /// the rest takes what it can and rests/cancels per its time in force.
    fn arrive(&mut self, id: OrderId, ts: i64) -> CoreResult<()> {
        let Some(o) = self.orders.get(id) else {
            return Ok(());
        };
        let px = match (o.spec.kind, o.status) {
            (OrderKind::Market, _) => None,
            (OrderKind::Limit { px }, _) => Some(px),
            (_, OrderStatus::Accepted) => {
                if let Some(m) = self.mark(o.spec.side) {
                    self.orders.update_trail(id, m);
                }
                self.untriggered.push(id);
                return Ok(());
            }
            (OrderKind::StopMarket { .. } | OrderKind::MarketIfTouched { .. }, _)
            | (OrderKind::TrailingStopMarket { .. }, _) => None,
            (OrderKind::StopLimit { px, .. } | OrderKind::LimitIfTouched { px, .. }, _) => Some(px),
            (OrderKind::TrailingStopLimit { .. }, _) => o.trail_limit,
        };
        let (side, tif, post_only) = (o.spec.side, o.spec.tif, o.spec.post_only);
        let leaves = o.leaves(); // a reduce-only cap applies at each fill
        let Some(book) = book_of(&self.sync, &self.quote_book) else {
            return Ok(());
        };
        let mut mf = Vec::new();
        let arrival = self
            .matcher
            .arrive(book, id, side, px, leaves, tif, post_only, &mut mf);
        self.arriving.push(id);
        for f in mf {
            self.apply_fill(f, ts)?;
        }
        self.arriving.retain(|x| *x != id);
        match arrival {
            Arrival::Cancel(r) | Arrival::Reject(r) => {
                self.matcher.remove(id);
                self.orders.cancel_with(id, r, ts, &mut self.events);
                self.reconcile(ts)?;
            }
            Arrival::Filled | Arrival::Resting | Arrival::Taking => {}
        }
        Ok(())
    }

    /// A trade printed at `px`: trail the trailing stops, trigger the conditionals it reaches.
    fn check_triggers(&mut self, px: i64) -> CoreResult<()> {
        let ts = self.clock;
        let mut hit = Vec::new();
        for &id in &self.untriggered {
            self.orders.update_trail(id, px);
            let Some(o) = self.orders.get(id) else {
                continue;
            };
            let trig = match o.spec.kind {
                OrderKind::TrailingStopMarket { .. } | OrderKind::TrailingStopLimit { .. } => {
                    o.trail_trigger
                }
                k => k.trigger_px(),
            };
            let Some(t) = trig else { continue };
            let stop_like = !matches!(
                o.spec.kind,
                OrderKind::MarketIfTouched { .. } | OrderKind::LimitIfTouched { .. }
            );
            let reached = match (o.spec.side, stop_like) {
                (Side::Buy, true) | (Side::Sell, false) => px >= t,
                (Side::Sell, true) | (Side::Buy, false) => px <= t,
            };
            if reached {
                hit.push(id);
            }
        }
        if hit.is_empty() {
            return Ok(());
        }
        self.untriggered.retain(|id| !hit.contains(id));
        for id in hit {
            self.orders.trigger(id, ts, &mut self.events);
            self.arrive(id, ts)?;
        }
        Ok(())
    }

    /// Carry out what the strategy sent, in order: commands through the risk engine, state
    /// commands and confidence into it; then the events and state changes they caused.
    fn run_commands(&mut self, out: &mut Outbox, ts: i64) -> CoreResult<()> {
        if out.ops.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut out.ops);
        for op in pending.drain(..) {
            match op {
                Op::Command(c) => exec::route(self, c, ts)?,
                Op::State(state, reason) => self.set_trading_state(state, &reason, ts)?,
                Op::Confidence(c) => self.risk.set_confidence(0, c),
                Op::Timer {
                    name,
                    interval_ns,
                    start,
                } => self.set_timer(name, interval_ns, start, ts)?,
                Op::CancelTimer(name) => self.timers.retain(|t| t.name != name),
            }
        }
        out.ops = pending;
        self.deliver_pending(ts)
    }

    /// The strategy's commanded trading state (as [`crate::engine::Backtest::set_trading_state`]);
    /// EMERGENCY acts at once.
    pub fn set_trading_state(
        &mut self,
        state: TradingState,
        reason: &str,
        ts: i64,
    ) -> CoreResult<()> {
        exec::set_state(self, state, reason, "command", ts)
    }

    /// A command past the risk engine (or the engine's own, in EMERGENCY): latency, or the
    /// matcher at once.
    #[inline]
    fn route_unchecked(&mut self, c: Command, ts: i64) -> CoreResult<()> {
        if self.ext.is_some() {
            return self.send_external(c, ts);
        }
        if self.latency.is_zero() {
            self.execute(c, ts)
        } else {
            self.send(c, ts);
            Ok(())
        }
    }

    /// A command past the risk engine, to a real venue: a new order is registered
    /// (`Submitted`) and leaves; a contingent list is held by the order manager (the emulator),
    /// which releases its legs as plain orders; a cancel or modify of an order at the venue
    /// leaves, one of an order only the manager holds is carried out here; a cancel-all becomes
    /// one cancel per order.
    fn send_external(&mut self, c: Command, ts: i64) -> CoreResult<()> {
        let Some(x) = self.ext.as_mut() else {
            return Ok(());
        };
        match c {
            Command::Submit(spec) => {
                let id = spec.id;
                let out = spec.clone();
                if self.orders.register(spec, ts, 0, &mut self.events) {
                    self.report.orders += 1;
                    x.at_venue.insert(id);
                    x.outbound.push(Command::Submit(out));
                }
            }
            Command::SubmitList { list, kind, orders } => {
                let n = orders.len() as u64;
                let mark = orders.first().and_then(|o| self.mark(o.side));
                if self
                    .orders
                    .register_list(list, kind, orders, ts, 0, &mut self.events)
                {
                    self.report.orders += n;
                    self.orders.accept_list(list, ts, mark, &mut self.events);
                }
                self.sync_external();
            }
            Command::Cancel { id } => {
                if x.at_venue.contains(&id) {
                    x.outbound.push(Command::Cancel { id });
                } else {
                    self.orders.cancel(id, ts, &mut self.events);
                    self.sync_external();
                }
            }
            Command::CancelAll { instrument } => {
                let ids: Vec<OrderId> = match instrument {
                    Some(i) => self.orders.working_ids(i).to_vec(),
                    None => self.orders.working_ids(0).to_vec(),
                };
                // not yet acknowledged: held by the manager (canceled here), or on their way to
                // the venue (canceled there, like the working ones)
                let (sent, held): (Vec<OrderId>, Vec<OrderId>) = self
                    .orders
                    .all()
                    .filter(|o| o.status == OrderStatus::Submitted)
                    .map(|o| o.spec.id)
                    .partition(|id| x.at_venue.contains(id));
                for id in ids.into_iter().chain(sent) {
                    if x.at_venue.contains(&id) {
                        x.outbound.push(Command::Cancel { id });
                    } else {
                        self.orders.cancel(id, ts, &mut self.events);
                    }
                }
                for id in held {
                    self.orders.cancel(id, ts, &mut self.events);
                }
                self.sync_external();
            }
            Command::Modify {
                id,
                qty,
                px,
                trigger,
            } => {
                if x.at_venue.contains(&id) {
                    x.outbound.push(Command::Modify {
                        id,
                        qty,
                        px,
                        trigger,
                    });
                } else {
                    let mark = self.orders.get(id).and_then(|o| self.mark(o.spec.side));
                    self.orders
                        .modify(id, qty, px, trigger, ts, mark, &mut self.events);
                }
            }
        }
        Ok(())
    }

    /// Bring the venue in line with the order manager (the emulator): legs it released are sent,
    /// orders it closed while they work at the venue are canceled there; then the strategy's
    /// view of the working orders.
    fn sync_external(&mut self) {
        let Some(x) = self.ext.as_mut() else {
            return;
        };
        for &id in self.orders.working_ids(0) {
            if !x.at_venue.contains(&id)
                && let Some(o) = self.orders.get(id)
            {
                let mut spec = o.spec.clone();
                spec.qty = o.leaves();
                x.at_venue.insert(id);
                x.outbound.push(Command::Submit(spec));
            }
        }
        let closed: Vec<OrderId> = x
            .at_venue
            .iter()
            .copied()
            .filter(|id| self.orders.get(*id).is_none_or(|o| o.status.is_closed()))
            .collect();
        for id in closed {
            // still at the venue until it reports the close: a cancel asked once
            if !x
                .outbound
                .iter()
                .any(|c| matches!(c, Command::Cancel { id: i } if *i == id))
            {
                x.outbound.push(Command::Cancel { id });
            }
            x.at_venue.remove(&id);
        }
        x.working.clear();
        for &id in self.orders.working_ids(0) {
            if let Some(o) = self.orders.get(id) {
                x.working.push(Working {
                    id,
                    side: o.spec.side,
                    px: o.spec.kind.limit_px(),
                    leaves: o.leaves(),
                    queue: Default::default(),
                });
            }
        }
    }

    /// The commands waiting for the execution client (a real venue), oldest first.
    pub fn take_outbound(&mut self) -> Vec<Command> {
        self.ext
            .as_mut()
            .map(ExternalVenue::take)
            .unwrap_or_default()
    }

    /// Carry out `c` at once at the engine's clock, past the risk engine and without latency:
    /// the venue's own side (the local exchange places its clients' orders on the simulated
    /// matcher this way). An error with a real venue behind the engine.
    pub fn execute_now(&mut self, c: Command) -> CoreResult<()> {
        if self.ext.is_some() {
            return Err(CoreError::InvalidArgument {
                name: "place",
                reason: "this session trades on a real venue".into(),
            });
        }
        let ts = self.clock.max(0);
        self.execute(c, ts)?;
        self.deliver_pending(ts)
    }

    /// Take back an order a real venue has that this engine does not (written ahead and sent
    /// after the checkpoint it was restored from): `cmd` is the journaled command; its orders are
    /// registered (`Submitted`, at the venue: its reports apply from now on) and the strategy's
    /// order ids move past them. Returns the ids taken back (none already known).
    pub fn adopt(&mut self, cmd: Command) -> CoreResult<Vec<OrderId>> {
        if self.ext.is_none() {
            return Err(CoreError::InvalidArgument {
                name: "adopt",
                reason: "this session trades on the simulated venue".into(),
            });
        }
        let specs = match cmd {
            Command::Submit(spec) => vec![spec],
            Command::SubmitList { orders, .. } => orders,
            _ => Vec::new(),
        };
        let ts = self.clock.max(0);
        let mut out = Vec::new();
        for spec in specs {
            let id = spec.id;
            self.strategy.reserve_ids(id.saturating_add(1));
            if self.orders.get(id).is_some() {
                continue;
            }
            if self.orders.register(spec, ts, 0, &mut self.events) {
                self.report.orders += 1;
                self.ext
                    .as_mut()
                    .expect("external venue")
                    .at_venue
                    .insert(id);
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The real venue's side of the engine (None: the simulated matcher).
    pub fn external(&self) -> Option<&ExternalVenue> {
        self.ext.as_ref()
    }

    /// Apply what a real venue reported about an order (the live node's execution client), at
    /// the engine's clock: the order's state, a fill into the account (a repeated trade id is
    /// ignored), the strategy's `on_fill`, then the emulator's follow-ups (released legs sent,
    /// closed ones canceled), the risk sync and the delivery of events. Returns false when the
    /// report changed nothing (repeated, or about an order the engine does not know).
    pub fn venue_report(&mut self, r: VenueReport) -> CoreResult<bool> {
        if self.ext.is_none() {
            return Err(CoreError::InvalidArgument {
                name: "venue report",
                reason: "this session trades on the simulated venue".into(),
            });
        }
        let ts = self.clock.max(0);
        let id = r.id();
        let known = self.orders.get(id).is_some();
        let mut fill_done: Option<Fill> = None;
        let changed = match r {
            VenueReport::Accepted { .. } => {
                let mark = self.orders.get(id).and_then(|o| self.mark(o.spec.side));
                self.orders.accept_at_venue(id, ts, mark, &mut self.events)
            }
            VenueReport::Rejected { .. } => {
                self.close_at_venue(id);
                self.orders
                    .reject_at_venue(id, Reason::VenueRejected, ts, &mut self.events)
            }
            VenueReport::Canceled { requested, .. } => {
                self.close_at_venue(id);
                let open = self.orders.get(id).is_some_and(|o| !o.status.is_closed());
                if open {
                    if requested {
                        self.orders.cancel(id, ts, &mut self.events);
                    } else {
                        self.orders
                            .cancel_with(id, Reason::VenueCanceled, ts, &mut self.events);
                    }
                }
                open
            }
            VenueReport::Expired { .. } => {
                self.close_at_venue(id);
                let open = self.orders.get(id).is_some_and(|o| o.status.is_working());
                self.orders.expire(id, ts, &mut self.events);
                open
            }
            VenueReport::Triggered { .. } => {
                // a conditional (a trigger price, or a trailing stop) not triggered yet
                let waiting = self.orders.get(id).is_some_and(|o| {
                    o.status == OrderStatus::Accepted
                        && !matches!(o.spec.kind, OrderKind::Market | OrderKind::Limit { .. })
                });
                if waiting {
                    self.orders.trigger(id, ts, &mut self.events);
                }
                waiting
            }
            VenueReport::Amended {
                qty, px, trigger, ..
            } => {
                let mark = self.orders.get(id).and_then(|o| self.mark(o.spec.side));
                let before = self.events.len();
                self.orders
                    .modify(id, qty, px, trigger, ts, mark, &mut self.events);
                self.events.len() > before
            }
            VenueReport::ModifyRejected { .. } | VenueReport::CancelRejected { .. } => {
                // the strategy learns it (the order is unchanged); a closed order's is moot
                let open = self.orders.get(id).is_some_and(|o| !o.status.is_closed());
                if open {
                    let kind = if matches!(r, VenueReport::ModifyRejected { .. }) {
                        OrderEventKind::ModifyRejected(Reason::VenueRejected)
                    } else {
                        OrderEventKind::CancelRejected(Reason::VenueRejected)
                    };
                    self.events.push(OrderEvent { id, ts, kind });
                }
                open
            }
            VenueReport::Fill {
                px,
                qty,
                fee,
                liquidity,
                trade_id,
                ..
            } => {
                let Some(inst) = self.inst.clone() else {
                    return Err(CoreError::InvalidArgument {
                        name: "venue report",
                        reason: "a fill before the instrument is known (no market data yet)".into(),
                    });
                };
                let x = self.ext.as_mut().expect("external venue");
                if qty <= 0 || !x.first_time(id, &trade_id) {
                    x.ignored += 1;
                    return Ok(false);
                }
                let fill = match self.orders.get(id) {
                    Some(o) if o.status.is_working() || o.status == OrderStatus::Submitted => {
                        if o.status == OrderStatus::Submitted {
                            // the fill outran the acknowledgement
                            let mark = self.mark(o.spec.side);
                            self.orders.accept_at_venue(id, ts, mark, &mut self.events);
                        }
                        let o = self.orders.get(id).expect("known order");
                        let exit = crate::portfolio::Exit::of(&o.spec.kind, o.parent.is_some());
                        let q = qty.min(o.leaves());
                        self.orders.apply_fill(
                            id,
                            px,
                            q,
                            liquidity,
                            fee,
                            ts,
                            &mut self.fills,
                            &mut self.events,
                        );
                        let fill = self.fills.last().cloned().expect("the fill just applied");
                        self.portfolio.apply_exit(&inst, &fill, exit);
                        fill
                    }
                    o => {
                        // closed here already (an emulated cancel on its way), or unknown to
                        // the engine: the venue's fill is the truth for the account
                        let side = match o {
                            Some(o) => o.spec.side,
                            None => {
                                let x = self.ext.as_mut().expect("external venue");
                                x.ignored += 1;
                                x.forget(id, &trade_id);
                                return Ok(false);
                            }
                        };
                        let fill = Fill {
                            ts,
                            order_id: id,
                            instrument: 0,
                            side,
                            px,
                            qty,
                            fee,
                            liquidity,
                            liquidation: false,
                        };
                        self.fills.push(fill.clone());
                        self.portfolio
                            .apply_exit(&inst, &fill, crate::portfolio::Exit::Signal);
                        self.ext.as_mut().expect("external venue").late_fills += 1;
                        fill
                    }
                };
                let x = self.ext.as_mut().expect("external venue");
                x.trade_ids.resize(self.fills.len() - 1, String::new());
                x.trade_ids.push(trade_id);
                if self.orders.get(id).is_some_and(|o| o.status.is_closed()) {
                    self.close_at_venue(id);
                }
                self.report.fees += fill.fee;
                self.report.fills += 1;
                self.report.volume += fill.qty;
                match fill.liquidity {
                    Liquidity::Maker => self.report.maker_fills += 1,
                    Liquidity::Taker => self.report.taker_fills += 1,
                }
                fill_done = Some(fill);
                true
            }
        };
        if !known {
            self.ext.as_mut().expect("external venue").ignored += 1;
        }
        self.sync_external();
        if let Some(fill) = fill_done {
            self.call(ts, |s, v, o| s.on_fill(v, &fill, o))?;
        }
        exec::risk_sync(self, ts)?;
        self.deliver_pending(ts)?;
        Ok(changed)
    }

    /// The venue closed `id`: it is no longer there (nothing to cancel).
    fn close_at_venue(&mut self, id: OrderId) {
        if let Some(x) = self.ext.as_mut() {
            x.at_venue.remove(&id);
            x.outbound
                .retain(|c| !matches!(c, Command::Cancel { id: i } if *i == id));
        }
    }

    /// Mark the account at the book's mid (or its one side).
    #[inline]
    fn mark_mid(&mut self) {
        let (Some(book), Some(inst)) = (book_of(&self.sync, &self.quote_book), self.inst.as_ref())
        else {
            return;
        };
        let px = match (book.best_bid(), book.best_ask()) {
            (Some(b), Some(a)) => b.px + (a.px - b.px) / 2,
            (Some(l), None) | (None, Some(l)) => l.px,
            (None, None) => return,
        };
        let px_f = px as f64 / inst.price_scale;
        self.portfolio.mark(0, px, px_f);
    }

    /// The layers' turn after each event (only with layers): the data time, the best bid/ask
    /// of a synced book when it changed ([`RiskEngine::on_quote`]), the new fills and events;
    /// then EMERGENCY entered on the way acts, and state changes and risk events reach the
    /// strategy.
    #[inline(never)]
    fn risk_step(&mut self, ts: i64, synced: bool) -> CoreResult<()> {
        let before = self.risk.state();
        self.risk.note_data(0, ts);
        let top = book_of(&self.sync, &self.quote_book)
            .filter(|_| synced)
            .map(|b| (b.best_bid(), b.best_ask()));
        if let Some((Some(b), Some(a))) = top
            && (b.px, a.px) != self.risk_quote
        {
            self.risk_quote = (b.px, a.px);
            self.risk.on_quote(0, ts, b.px, a.px);
        }
        if self.desk().unseen(Self::LAZY_ACKS) {
            exec::observe(self, ts, None);
        }
        exec::emergency_if_entered(self, before, ts)?;
        self.deliver_pending(ts)
    }

    fn set_timer(
        &mut self,
        name: String,
        interval: i64,
        start: Option<i64>,
        ts: i64,
    ) -> CoreResult<()> {
        if interval < 0 || (interval == 0 && start.is_none()) {
            return Err(CoreError::InvalidArgument {
                name: "timer",
                reason: format!(
                    "{name}: the interval must be > 0 (an alert needs its time), got {interval} ns"
                ),
            });
        }
        let next = match start {
            Some(t) => t,
            None => ts
                .checked_add(interval)
                .ok_or_else(|| CoreError::InvalidArgument {
                    name: "timer",
                    reason: format!("{name}: the interval {interval} ns overflows the clock"),
                })?,
        };
        self.timers.retain(|t| t.name != name);
        self.timer_seq += 1;
        self.timers.push(Timer {
            name,
            next,
            interval,
            seq: self.timer_seq,
        });
        Ok(())
    }

    /// Fire every timer and alert due at or before `upto`, in time order (ties in the order they
    /// were set), each at its own time: the clock moves to it for the call.
    #[inline(never)]
    fn fire_timers(&mut self, upto: i64) -> CoreResult<()> {
        loop {
            let Some(k) = (0..self.timers.len())
                .filter(|&k| self.timers[k].next <= upto)
                .min_by_key(|&k| (self.timers[k].next, self.timers[k].seq))
            else {
                return Ok(());
            };
            let t = &mut self.timers[k];
            let at = t.next;
            let name = if t.interval > 0 {
                t.next = t.next.saturating_add(t.interval);
                t.name.clone()
            } else {
                self.timers.remove(k).name
            };
            self.clock = self.clock.max(at);
            self.arrivals_due()?;
            self.report.timer_calls += 1;
            self.call(at, |s, v, o| s.on_timer(v, &name, at, o))?;
        }
    }

    /// The GTD and DAY orders whose time is up by the clock expire at the venue (a real venue
    /// expires its own and reports it: not here).
    #[inline(never)]
    fn expire_due(&mut self) -> CoreResult<()> {
        let ts = self.clock;
        let due: Vec<OrderId> = self
            .orders
            .working_ids(0)
            .iter()
            .copied()
            .filter(|&id| {
                self.orders
                    .get(id)
                    .is_some_and(|o| o.expire_ts.is_some_and(|e| e <= ts))
            })
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        for id in due {
            self.orders.expire(id, ts, &mut self.events);
        }
        self.reconcile(ts)
    }

    /// The real-time clock of a live node reached `ts` with no event: delayed commands arrive
    /// and timers fire (a replay, on event time, never calls this).
    pub fn advance_time(&mut self, ts: i64) -> CoreResult<()> {
        if ts <= self.clock || self.clock == i64::MIN {
            return Ok(());
        }
        if !self.timers.is_empty() {
            self.fire_timers(ts)?;
        }
        self.clock = ts;
        self.arrivals_due()?;
        exec::risk_sync(self, ts)?;
        self.deliver_pending(ts)
    }

    /// The run's clock (the latest event time; 0 before the first event).
    pub fn clock(&self) -> i64 {
        if self.clock == i64::MIN {
            0
        } else {
            self.clock
        }
    }

    /// The counts so far (final figures come with [`finish`](Self::finish)).
    pub fn report(&self) -> &L2Report {
        &self.report
    }

    /// Every order event and fill so far.
    pub fn events(&self) -> &[OrderEvent] {
        &self.events
    }

    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    /// Every denial so far with its numbers (an event's detail, by order id).
    pub fn denials(&self) -> &Denials {
        &self.denials
    }

    /// An action that is not a command in the audit log at the run's clock (the live node's
    /// reconciliation): `kind` names it, `orders` the order ids it touched.
    pub fn record_action(&mut self, kind: &str, source: &str, reason: &str, orders: &[OrderId]) {
        let ts = self.clock();
        self.risk.record_action(ts, kind, source, reason, orders);
    }

    /// The best bid and ask of the book (raw), when known.
    pub fn top(&self) -> (Option<Level>, Option<Level>) {
        match book_of(&self.sync, &self.quote_book) {
            Some(b) => (b.best_bid(), b.best_ask()),
            None => (None, None),
        }
    }

    /// An operator's trading state (the live node's controls): as the strategy's manual state,
    /// audited with source "operator"; EMERGENCY acts at once. The strategy hears of the change.
    pub fn operator_state(&mut self, state: TradingState, reason: &str) -> CoreResult<()> {
        let ts = self.clock();
        exec::set_state(self, state, reason, "operator", ts)?;
        exec::risk_sync(self, ts)?;
        self.deliver_pending(ts)
    }

    /// An operator's cancel-all: every working order of the strategy is canceled (audited as
    /// "cancel_all" with the ids); returns them.
    pub fn operator_cancel_all(&mut self, reason: &str) -> CoreResult<Vec<OrderId>> {
        let ts = self.clock();
        let ids = exec::cancel_strategy_orders(self, ts, None)?;
        self.risk
            .record_action(ts, "cancel_all", "operator", reason, &ids);
        exec::risk_sync(self, ts)?;
        self.deliver_pending(ts)?;
        Ok(ids)
    }

    /// An operator's flatten: cancel-all, then a reduce-only market order closing the position
    /// (audited as "flatten"); returns (canceled ids, the flattening order's id when one went).
    pub fn operator_flatten(
        &mut self,
        reason: &str,
    ) -> CoreResult<(Vec<OrderId>, Option<OrderId>)> {
        let ts = self.clock();
        let ids = exec::cancel_strategy_orders(self, ts, None)?;
        let order = exec::flatten(self, ts)?.first().copied();
        let touched: Vec<u64> = ids.iter().copied().chain(order).collect();
        self.risk
            .record_action(ts, "flatten", "operator", reason, &touched);
        exec::risk_sync(self, ts)?;
        self.deliver_pending(ts)?;
        Ok((ids, order))
    }

    /// Are there order events (for a strategy that wants them) or state changes the strategy
    /// has not seen? Then hand them over.
    #[inline(always)]
    fn deliver_pending(&mut self, ts: i64) -> CoreResult<()> {
        if self.risk.has_pending_changes()
            || (self.wants.events && self.seen_events < self.events.len())
        {
            return self.deliver(ts);
        }
        Ok(())
    }

    /// Hand the strategy the state changes and order events it has not seen, in order; commands
    /// it sends from there pass the risk engine like any other. Nested calls leave the work to
    /// the outermost one.
    #[inline(never)]
    fn deliver(&mut self, ts: i64) -> CoreResult<()> {
        if self.delivering {
            return Ok(());
        }
        self.delivering = true;
        let r = exec::deliver(&mut Delivery { bt: self, ts });
        self.delivering = false;
        r
    }

    /// A command leaves the strategy at `ts` with latency: orders are registered now
    /// (`Submitted`), everything reaches the matcher after the drawn delay.
    fn send(&mut self, c: Command, ts: i64) {
        let (leg, what) = match c {
            Command::Submit(spec) => {
                let id = spec.id;
                if !self.orders.register(spec, ts, 0, &mut self.events) {
                    return;
                }
                self.report.orders += 1;
                (Leg::Submit, InFlight::Accept(id))
            }
            Command::SubmitList { list, kind, orders } => {
                let n = orders.len() as u64;
                if !self
                    .orders
                    .register_list(list, kind, orders, ts, 0, &mut self.events)
                {
                    return;
                }
                self.report.orders += n;
                (Leg::Submit, InFlight::AcceptList(list))
            }
            c @ Command::Modify { .. } => (Leg::Modify, InFlight::Other(c)),
            c => (Leg::Cancel, InFlight::Other(c)),
        };
        let at = ts.saturating_add(self.latency.draw(leg));
        self.sent += 1;
        let key = (at, self.sent);
        let pos = self.in_flight.partition_point(|p| (p.0, p.1) <= key);
        self.in_flight.insert(pos, (at, self.sent, what));
    }

    /// Hand the commands whose arrival time has come (at or before the event now being handled)
    /// to the matcher, in arrival order, each at its own arrival time.
    #[inline]
    fn arrivals_due(&mut self) -> CoreResult<()> {
        if self.orders.any_expiring() && self.ext.is_none() {
            self.expire_due()?;
        }
        while let Some(&(at, _, _)) = self.in_flight.front() {
            if at > self.clock {
                break;
            }
            let (at, _, what) = self.in_flight.pop_front().expect("front exists");
            match what {
                InFlight::Accept(id) => {
                    let mark = self.orders.get(id).and_then(|o| self.mark(o.spec.side));
                    if self.orders.accept(id, at, mark, &mut self.events) {
                        self.arrive(id, at)?;
                    }
                }
                InFlight::AcceptList(list) => {
                    let first = self.orders.list(list).map(|l| l.ids[0]);
                    let mark = first
                        .and_then(|id| self.orders.get(id))
                        .and_then(|o| self.mark(o.spec.side));
                    self.orders.accept_list(list, at, mark, &mut self.events);
                    self.reconcile(at)?;
                }
                InFlight::Other(c) => self.execute(c, at)?,
            }
        }
        Ok(())
    }

    /// Carry out one command at once (no latency, or on its arrival).
    fn execute(&mut self, c: Command, ts: i64) -> CoreResult<()> {
        {
            match c {
                Command::Submit(spec) => self.submit(spec, ts)?,
                Command::SubmitList { list, kind, orders } => {
                    self.report.orders += orders.len() as u64;
                    let mark = orders.first().and_then(|o| self.mark(o.side));
                    if self
                        .orders
                        .register_list(list, kind, orders, ts, 0, &mut self.events)
                    {
                        self.orders.accept_list(list, ts, mark, &mut self.events);
                    }
                    self.reconcile(ts)?;
                }
                Command::Cancel { id } => {
                    self.orders.cancel(id, ts, &mut self.events);
                    self.reconcile(ts)?;
                }
                Command::CancelAll { instrument } => {
                    self.orders.cancel_all(instrument, ts, &mut self.events);
                    self.reconcile(ts)?;
                }
                Command::Modify {
                    id,
                    qty,
                    px,
                    trigger,
                } => {
                    let before = self.orders.get(id).map(|o| o.spec.kind);
                    let mark = self.orders.get(id).and_then(|o| self.mark(o.spec.side));
                    self.orders
                        .modify(id, qty, px, trigger, ts, mark, &mut self.events);
                    // A new price loses the queue position: the order arrives again.
                    if self.orders.get(id).map(|o| o.spec.kind) != before {
                        self.matcher.remove(id);
                    }
                    self.reconcile(ts)?;
                }
            }
        }
        Ok(())
    }

    fn submit(&mut self, spec: OrderSpec, ts: i64) -> CoreResult<()> {
        let (id, side) = (spec.id, spec.side);
        if !self.orders.register(spec, ts, 0, &mut self.events) {
            return Ok(());
        }
        self.report.orders += 1;
        let mark = self.mark(side);
        if self.orders.accept(id, ts, mark, &mut self.events) {
            self.arrive(id, ts)?;
        }
        Ok(())
    }

    /// A backtest on top-of-book quotes and trade ticks (no depth stream): each quote becomes a
    /// one-level book ([`L2Matcher::set_top`]); feed events with [`feed_quote`](Self::feed_quote)
    /// and [`feed_trade`](Self::feed_trade) in time order. Prices and sizes are raw at
    /// `price_dp` / `size_dp`.
    pub fn new_quotes(
        mut cfg: L2Config,
        price_dp: u8,
        size_dp: u8,
        strategy: S,
    ) -> CoreResult<Self> {
        cfg.price_dp = Some(price_dp);
        cfg.size_dp = Some(size_dp);
        let mut bt = Self::new(cfg, strategy)?;
        bt.set_instrument(price_dp, size_dp, TICKS_SYMBOL)?;
        bt.quote_book = Some(L2Book::new(price_dp, size_dp)?);
        Ok(bt)
    }

    /// Quote mode: a new top of book (a side with no level or size 0 is empty).
    pub fn feed_quote(
        &mut self,
        ts: i64,
        bid: Option<Level>,
        ask: Option<Level>,
    ) -> CoreResult<()> {
        if self.quote_book.is_none() {
            return Err(CoreError::InvalidArgument {
                name: "quote",
                reason: "this backtest reads a depth stream, not quotes (use new_quotes)".into(),
            });
        };
        for (name, l) in [("bid", bid), ("ask", ask)] {
            if let Some(l) = l
                && (l.qty < 0 || l.px <= 0)
            {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!("price must be > 0 and size >= 0, got {}@{}", l.qty, l.px),
                });
            }
        }
        self.advance(ts)?;
        self.report.ticker_messages += 1;
        let Some(book) = self.quote_book.as_mut() else {
            unreachable!("checked above")
        };
        self.matcher.set_top(book, bid, ask);
        if !self.matcher.is_idle() {
            self.matcher.sweep_crossed(book, &mut self.mfills);
        }
        let data = if self.wants.quotes {
            Data::Quote(TopOfBook {
                ts: self.clock,
                bid: bid.filter(|l| l.qty > 0),
                ask: ask.filter(|l| l.qty > 0),
            })
        } else {
            Data::None
        };
        self.after_event(data)
    }

    /// Quote mode (or any mode): a trade print of `qty` at `px`, `aggressor` the taker's side.
    pub fn feed_trade(
        &mut self,
        ts: i64,
        px: i64,
        qty: i64,
        aggressor: AggressorSide,
    ) -> CoreResult<()> {
        self.feed_trade_id(ts, px, qty, aggressor, -1)
    }

    /// [`feed_trade`](Self::feed_trade) with the exchange's trade id (-1: none).
    pub fn feed_trade_id(
        &mut self,
        ts: i64,
        px: i64,
        qty: i64,
        aggressor: AggressorSide,
        id: i64,
    ) -> CoreResult<()> {
        self.advance(ts)?;
        self.report.trade_messages += 1;
        self.matcher.on_trade(px, qty, aggressor, &mut self.mfills);
        if !self.untriggered.is_empty() {
            self.check_triggers(px)?;
        }
        let data = self.trade_data(px, qty, aggressor, id)?;
        self.after_event(data)
    }

    /// End the run and return the report.
    pub fn finish(mut self) -> (L2Report, S, L2Run) {
        if let Some(s) = &self.sync {
            self.report.sync = s.stats();
        }
        if let Some(b) = book_of(&self.sync, &self.quote_book)
            && let (Some(bb), Some(ba)) = (b.best_bid(), b.best_ask())
        {
            let scale = 10f64.powi(self.report.price_dp as i32);
            self.report.last_mid = Some((bb.px + ba.px) as f64 / 2.0 / scale);
        }
        self.mark_mid();
        debug_assert_eq!(self.portfolio.positions[0].qty, self.orders.position(0));
        self.report.position = self.orders.position(0);
        self.report.cash = self.portfolio.cash;
        self.report.initial_cash = self.portfolio.initial_cash;
        let p = &self.portfolio.positions[0];
        self.report.realized = p.realized;
        (self.report.unrealized, self.report.equity) = match &self.inst {
            Some(inst) if p.qty != 0 => (
                p.unrealized(inst),
                self.portfolio.equity(std::slice::from_ref(inst)),
            ),
            _ => (0, self.portfolio.cash),
        };
        self.report.last_ts = self.clock;
        self.risk.finish(if self.clock == i64::MIN {
            0
        } else {
            self.clock
        });
        let run = L2Run {
            orders: self.orders,
            fills: self.fills,
            events: self.events,
            portfolio: self.portfolio,
            risk: self.risk,
            instrument: self.inst,
        };
        (self.report, self.strategy, run)
    }
}

/// The tick/L2 loop (and the live session) in the command path: the commands reach the matcher
/// after their latency, or at once; the account is marked at the book's mid before the risk
/// engine reads it.
impl<S: L2Strategy> Host for L2Backtest<S> {
    type Error = CoreError;
    const LAZY_ACKS: bool = false;

    #[inline(always)]
    fn desk(&mut self) -> Desk<'_> {
        Desk {
            exec: &mut self.exec,
            risk: &mut self.risk,
            denials: &mut self.denials,
            instruments: self.inst.as_slice(),
            portfolio: &self.portfolio,
            orders: &self.orders,
            fills: &self.fills,
            events: &mut self.events,
        }
    }

    /// The instrument is known once the recording (or the first quote) showed its precision.
    #[inline(always)]
    fn ready(&self) -> bool {
        self.inst.is_some()
    }

    #[inline(always)]
    fn mark_account(&mut self) {
        self.mark_mid();
    }

    /// A real venue's orders sent and not yet acknowledged, in id order.
    fn in_flight_ids(&self) -> Vec<OrderId> {
        self.ext.as_ref().map_or_else(Vec::new, |x| {
            x.at_venue
                .iter()
                .copied()
                .filter(|&id| {
                    self.orders
                        .get(id)
                        .is_some_and(|o| o.status == OrderStatus::Submitted)
                })
                .collect()
        })
    }

    /// The account's rule for `c` ([`exec::check_account`]), at the prices orders can fill at
    /// on this book: a limit at its limit; a market order at the touch it takes (the best ask for
    /// a buy, the best bid for a sell; the mid when that side is empty); a stop at its trigger or
    /// the touch, whichever is worse; a market-if-touched at the better.
    fn account_check(&self, c: &Command) -> Result<(), crate::portfolio::AccountDenial> {
        let Some(inst) = self.inst.as_ref() else {
            return Ok(());
        };
        let book = book_of(&self.sync, &self.quote_book);
        let touch = |side: Side| -> Option<i64> {
            let b = book?;
            match side {
                Side::Buy => b.best_ask(),
                Side::Sell => b.best_bid(),
            }
            .map(|l| l.px)
        };
        let mark = self.portfolio.positions[0].mark;
        let estimate = |spec: &OrderSpec, _qty: i64| -> Option<i64> {
            use crate::model::order::OrderKind as K;
            if let Some(l) = spec.kind.limit_px() {
                return Some(l);
            }
            let here = touch(spec.side).or((mark > 0).then_some(mark))?;
            let buy = spec.side == Side::Buy;
            Some(match spec.kind {
                K::StopMarket { trigger } => {
                    if buy {
                        trigger.max(here)
                    } else {
                        trigger.min(here)
                    }
                }
                K::MarketIfTouched { trigger } => {
                    if buy {
                        trigger.min(here)
                    } else {
                        trigger.max(here)
                    }
                }
                _ => here,
            })
        };
        let rate = self
            .fees
            .max_rate(Liquidity::Maker)
            .max(self.fees.max_rate(Liquidity::Taker));
        exec::check_account(
            &self.portfolio,
            std::slice::from_ref(inst),
            &self.orders,
            c,
            rate,
            &estimate,
        )
    }

    #[inline]
    fn send(&mut self, cmd: Command, ts: i64) -> CoreResult<()> {
        if let Some(j) = self.journal.as_mut() {
            j.write_ahead(&cmd, ts)?;
        }
        self.route_unchecked(cmd, ts)
    }
}

/// The tick/L2 loop's delivery at `ts`: one strategy call a round, with the state changes, then
/// (with [`Wants::events`]) each event it has not seen; the run keeps its events.
struct Delivery<'a, S: L2Strategy> {
    bt: &'a mut L2Backtest<S>,
    ts: i64,
}

impl<S: L2Strategy> exec::Deliver for Delivery<'_, S> {
    type Error = CoreError;

    #[inline]
    fn risk(&mut self) -> &mut RiskEngine {
        &mut self.bt.risk
    }

    #[inline]
    fn unseen_events(&self) -> bool {
        self.bt.wants.events && self.bt.seen_events < self.bt.events.len()
    }

    #[inline]
    fn ready(&self) -> bool {
        book_of(&self.bt.sync, &self.bt.quote_book).is_some() && self.bt.inst.is_some()
    }

    fn hand_over(&mut self, changes: Vec<StateChange>) -> CoreResult<()> {
        let bt = &mut *self.bt;
        let events = bt.wants.events;
        let (from, upto) = (bt.seen_events, bt.events.len());
        if events {
            bt.seen_events = upto;
        }
        bt.call(self.ts, |s, v, o| {
            for c in &changes {
                s.on_trading_state(v, c, o)?;
            }
            if events {
                for e in &v.events[from..upto] {
                    s.on_event(v, e, o)?;
                }
            }
            Ok(())
        })
    }

    fn runaway(&self) -> CoreError {
        CoreError::InvalidArgument {
            name: "strategy",
            reason: "order events kept triggering new commands (64 rounds at one event)".into(),
        }
    }
}

/// Run an L2 backtest over recorded lines held in memory.
pub fn run_l2_text<S: L2Strategy>(
    text: &str,
    cfg: L2Config,
    strategy: S,
) -> CoreResult<(L2Report, S, L2Run)> {
    let t0 = Instant::now();
    let mut bt = L2Backtest::new(cfg, strategy)?;
    for (i, line) in text.lines().enumerate() {
        bt.feed_line(line).map_err(|e| CoreError::InvalidArgument {
            name: "path",
            reason: format!("<text>:{}: {e}", i + 1),
        })?;
    }
    let mut out = bt.finish();
    out.0.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// Run an L2 backtest over recording files (one session, in order).
pub fn run_l2_files<S: L2Strategy, P: AsRef<Path>>(
    paths: &[P],
    cfg: L2Config,
    strategy: S,
) -> CoreResult<(L2Report, S, L2Run)> {
    run_l2_files_with(paths, cfg, strategy, None)
}

/// [`run_l2_files`] with a risk engine (None: the default one, structural checks only) built
/// for the run's one instrument ([`l2_instrument`] of `cfg.symbol` at the precision the run
/// uses: `cfg.price_dp` / `cfg.size_dp`, else [`probe_recording`]'s).
pub fn run_l2_files_with<S: L2Strategy, P: AsRef<Path>>(
    paths: &[P],
    cfg: L2Config,
    strategy: S,
    risk: Option<RiskEngine>,
) -> CoreResult<(L2Report, S, L2Run)> {
    if paths.is_empty() {
        return Err(CoreError::InvalidArgument {
            name: "path",
            reason: "no recording given".into(),
        });
    }
    let t0 = Instant::now();
    let mut bt = L2Backtest::new(cfg, strategy)?;
    if let Some(r) = risk {
        bt.set_risk(r);
    }
    feed_files(&mut bt, paths)?;
    let mut out = bt.finish();
    out.0.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// Feed every line of `paths` (errors name the file and line).
fn feed_files<S: L2Strategy, P: AsRef<Path>>(
    bt: &mut L2Backtest<S>,
    paths: &[P],
) -> CoreResult<()> {
    each_line(paths, |line| bt.feed_line(line).map(|_| true))
}

/// What a recording says about itself, read from its first lines: the market its depth diffs
/// follow, the symbol of its streams, and the precision the loop infers (the first price and
/// size strings: Binance pads every number of a symbol to its precision).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingInfo {
    pub market: Option<MarketKind>,
    /// The stream's symbol in upper case (`BTCUSDT`, `BTCUSD_PERP`).
    pub symbol: Option<String>,
    pub price_dp: Option<u8>,
    pub size_dp: Option<u8>,
    /// The first price the recording shows (a book level or a trade).
    pub first_price: Option<f64>,
}

/// The most lines [`probe_recording`] reads looking for what it has not found yet.
pub const PROBE_LINES: usize = 100_000;

/// The market of a depth diff: one with `pu` is futures, one without spot; a futures diff that
/// carries `ps` (the pair) or whose symbol ends in `_PERP` is coin-M, else USD-M.
pub fn market_of(d: &crate::data::binance_ws::DepthDiff<'_>) -> MarketKind {
    if d.prev_final_update_id.is_none() {
        MarketKind::Spot
    } else if d.pair.is_some() || d.symbol.is_some_and(|s| s.ends_with("_PERP")) {
        MarketKind::CoinM
    } else {
        MarketKind::UsdM
    }
}

/// Read the first lines of `paths` (in order, at most [`PROBE_LINES`]) until the market, the
/// symbol and the precision are known (see [`RecordingInfo`], [`market_of`]). What is not found
/// stays `None`. Errors name the file and line.
pub fn probe_recording<P: AsRef<Path>>(paths: &[P]) -> CoreResult<RecordingInfo> {
    let mut info = RecordingInfo::default();
    let mut total = 0usize;
    each_line(paths, |line| {
        total += 1;
        let text = line.trim();
        if text.is_empty() {
            return Ok(true);
        }
        let l = decode_line(text)?;
        if info.symbol.is_none()
            && let Some(stream) = text.split_once(' ').and_then(|(_, j)| stream_name(j))
            && let Some(sym) = stream.split('@').next().filter(|s| !s.is_empty())
        {
            info.symbol = Some(sym.to_ascii_uppercase());
        }
        let first = match &l.msg {
            WsMessage::Depth(d) => {
                info.market.get_or_insert(market_of(d));
                levels(d.bids).chain(levels(d.asks)).next()
            }
            WsMessage::Trade(t) => Some(Ok((t.px, t.qty))),
            WsMessage::Snapshot(s) => levels(s.bids).chain(levels(s.asks)).next(),
            _ => None,
        };
        if info.price_dp.is_none()
            && let Some(r) = first
        {
            let (px, qty) = r?;
            info.price_dp = Some(decimals_of(px, "price_precision")?);
            info.size_dp = Some(decimals_of(qty, "size_precision")?);
            info.first_price = px.parse().ok();
        }
        let done = info.market.is_some() && info.price_dp.is_some() && info.symbol.is_some();
        Ok(!done && total < PROBE_LINES)
    })?;
    Ok(info)
}

/// The symbol of an L2 run's instrument when the recording names none.
pub const L2_SYMBOL: &str = "L2";
/// The symbol of a tick run's instrument when none is given.
pub const TICKS_SYMBOL: &str = "TICKS";

/// The instrument of an L2 run at `(price_dp, size_dp)` (what its risk engine is built for):
/// `symbol`, or [`L2_SYMBOL`].
pub fn l2_instrument(symbol: Option<&str>, price_dp: u8, size_dp: u8) -> CoreResult<Instrument> {
    Instrument::new(symbol.unwrap_or(L2_SYMBOL), price_dp, size_dp)
}

/// The instrument of a quote-mode run ([`run_ticks`]): `symbol`, or [`TICKS_SYMBOL`].
pub fn ticks_instrument(symbol: Option<&str>, price_dp: u8, size_dp: u8) -> CoreResult<Instrument> {
    Instrument::new(symbol.unwrap_or(TICKS_SYMBOL), price_dp, size_dp)
}

/// A passive market maker: every wake-up it quotes `qty` post-only at the touch (`offset` ticks
/// behind it), one order a side, re-quoting a side whose price moved; it stops quoting the side
/// that would take its position beyond `max_position` (raw units).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassiveMarketMaker {
    pub qty: i64,
    pub max_position: i64,
    pub offset_ticks: i64,
    next_id: OrderId,
    bid: Option<(OrderId, i64)>,
    ask: Option<(OrderId, i64)>,
}

impl PassiveMarketMaker {
    pub fn new(qty: i64, max_position: i64, offset_ticks: i64) -> CoreResult<Self> {
        if qty <= 0 || max_position < 0 || offset_ticks < 0 {
            return Err(CoreError::InvalidArgument {
                name: "qty",
                reason: format!(
                    "need qty > 0, max_position >= 0, offset_ticks >= 0; got {qty}, {max_position}, {offset_ticks}"
                ),
            });
        }
        Ok(Self {
            qty,
            max_position,
            offset_ticks,
            next_id: 1,
            bid: None,
            ask: None,
        })
    }

    fn quote(&mut self, view: &L2View<'_>, side: Side, want: Option<i64>, cmds: &mut Outbox) {
        let slot = match side {
            Side::Buy => self.bid,
            Side::Sell => self.ask,
        };
        let live =
            slot.filter(|(id, _)| view.orders.get(*id).is_some_and(|o| o.status.is_working()));
        let keep = match (live, want) {
            (Some((_, px)), Some(w)) => px == w,
            _ => false,
        };
        if keep {
            return;
        }
        if let Some((id, _)) = live {
            cmds.push(Command::Cancel { id });
        }
        let new = want.map(|px| {
            let id = self.next_id;
            self.next_id += 1;
            let mut spec = OrderSpec::new(id, 0, side, OrderKind::Limit { px }, self.qty);
            spec.post_only = true;
            cmds.push(Command::Submit(spec));
            (id, px)
        });
        match side {
            Side::Buy => self.bid = new,
            Side::Sell => self.ask = new,
        }
    }
}

impl L2Strategy for PassiveMarketMaker {
    fn reserve_ids(&mut self, next: OrderId) {
        self.next_id = self.next_id.max(next);
    }

    /// Its next order id and the order it quotes on each side (with its parameters, checked
    /// when loading).
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        bincode::serialize(self)
            .map(Some)
            .map_err(|e| checkpoint_error(format!("cannot encode the market maker: {e}")))
    }

    fn load(&mut self, state: &[u8]) -> CoreResult<()> {
        let mm: PassiveMarketMaker = bincode::deserialize(state)
            .map_err(|e| checkpoint_error(format!("not a market maker's state ({e})")))?;
        if (mm.qty, mm.max_position, mm.offset_ticks)
            != (self.qty, self.max_position, self.offset_ticks)
        {
            return Err(checkpoint_error(
                "the market maker was saved with other parameters".into(),
            ));
        }
        *self = mm;
        Ok(())
    }

    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
        let (Some(b), Some(a)) = (view.book.best_bid(), view.book.best_ask()) else {
            return Ok(());
        };
        let tick = view.instrument.tick;
        let bid = (view.position + self.qty <= self.max_position)
            .then_some(b.px - self.offset_ticks * tick);
        let ask = (view.position - self.qty >= -self.max_position)
            .then_some(a.px + self.offset_ticks * tick);
        self.quote(view, Side::Buy, bid, cmds);
        self.quote(view, Side::Sell, ask, cmds);
        Ok(())
    }
}
