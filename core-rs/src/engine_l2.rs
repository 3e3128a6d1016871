//! The L2 backtest loop: a raw Binance WebSocket recording drives an [`L2Matcher`] event by
//! event, and a strategy is called on a throttle of market time (hftbacktest's `elapse`) and on
//! its own fills. Everything per event stays in Rust; the strategy runs only at those moments.
//!
//! Per recorded line (in file order; the clock is the recorder's receive time, never going back):
//! - depth diff: Binance's sync procedure ([`BookSync`]); once applied, the queue positions at
//!   the changed levels move ([`L2Matcher::on_level`]) and crossed resting orders fill;
//! - trade: resting orders at or through its price fill by their queue ([`L2Matcher::on_trade`]);
//! - snapshot: (re)initialises an unsynced book; `bookTicker` lines are counted, not used (the
//!   book is the depth stream's);
//! - then, if the book is synced and market time reached the next wake-up, the strategy's
//!   [`L2Strategy::on_elapse`]; after every fill, [`L2Strategy::on_fill`]. The commands they
//!   return reach the venue at once (no latency in this loop).
//!
//! Order lifecycle: [`L2Orders`] keeps every order's status and events through the one status
//! table of [`crate::model::OrderStatus`] (Market and Limit orders; other kinds are denied here).
//! Money is exact: cash moves by `Instrument::notional` and fees round against the trader.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use crate::book::{BookSide, BookSync, Delta, DiffIds, DiffOutcome, L2Book, Level, MarketKind, SyncStats};
use crate::data::binance_ws::{WsMessage, decode_line, levels};
use crate::data::decimal::{decimals_of, parse_fixed};
use crate::data::replay::open_recording;
use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{Bps, div_ceil, div_floor};
use crate::model::order::{
    Command, Fill, Liquidity, Order, OrderEvent, OrderEventKind, OrderId, OrderKind, OrderSpec, OrderStatus, Reason,
    Side,
};
use crate::model::{AggressorSide, Instrument};
use crate::venue::l2::{Arrival, L2Matcher, MatchFill, Working};
use crate::venue::queue::QueueModel;

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
}

impl L2Config {
    pub fn new(market: MarketKind) -> Self {
        Self {
            market,
            price_dp: None,
            size_dp: None,
            queue: QueueModel::RiskAverse,
            elapse_ns: 100_000_000,
            maker_fee_bps: 0.0,
            taker_fee_bps: 0.0,
        }
    }
}

/// What the strategy sees when it is called (raw prices and sizes at the instrument's precision).
#[derive(Debug)]
pub struct L2View<'a> {
    pub ts: i64,
    pub book: &'a L2Book,
    pub instrument: &'a Instrument,
    /// Signed position, raw size units.
    pub position: i64,
    /// Cash in money units (1e-18 of the quote currency), fees included.
    pub cash: i128,
    pub orders: &'a L2Orders,
    /// The orders working at the venue (resting limits), with their queue positions.
    pub working: &'a [Working],
}

/// A strategy driven by the L2 loop: it pushes [`Command`]s (Submit, Cancel, CancelAll).
pub trait L2Strategy {
    /// Called every `elapse_ns` of market time while the book is synced.
    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Vec<Command>) -> CoreResult<()>;
    /// Called after each fill of one of its orders.
    fn on_fill(&mut self, view: &L2View<'_>, fill: &Fill, cmds: &mut Vec<Command>) -> CoreResult<()>;
}

/// Signed basis points as an exact rate (count of 1e-6 bp).
fn signed_bps(bps: f64, name: &'static str) -> CoreResult<i64> {
    let v = (bps * 1e6).round();
    if v.is_finite() && v.abs() < 1e15 {
        Ok(v as i64)
    } else {
        Err(CoreError::InvalidArgument {
            name,
            reason: format!("must be a finite number of basis points, got {bps}"),
        })
    }
}

/// The orders of one L2 run: status, fills and events, every transition checked against
/// [`OrderStatus::can_become`].
#[derive(Debug, Default)]
pub struct L2Orders {
    orders: HashMap<OrderId, Order>,
    pub fills: Vec<Fill>,
    pub events: Vec<OrderEvent>,
}

impl L2Orders {
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }

    /// Is `id` working at the venue?
    pub fn is_working(&self, id: OrderId) -> bool {
        self.orders.get(&id).is_some_and(|o| o.status.is_working())
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    fn set(&mut self, id: OrderId, ts: i64, next: OrderStatus, kind: OrderEventKind) {
        if let Some(o) = self.orders.get_mut(&id) {
            debug_assert!(o.status.can_become(next), "{:?} -> {next:?}", o.status);
            if o.status.can_become(next) {
                o.status = next;
                o.ts_last = ts;
                self.events.push(OrderEvent { id, ts, kind });
            }
        }
    }

    fn deny(&mut self, id: OrderId, ts: i64, r: Reason) {
        self.events.push(OrderEvent {
            id,
            ts,
            kind: OrderEventKind::Denied(r),
        });
    }

    fn fill(&mut self, inst: &Instrument, f: MatchFill, fee_rate: i64, ts: i64) -> Option<&Fill> {
        let o = self.orders.get_mut(&f.id)?;
        let qty = f.qty.min(o.spec.qty - o.filled);
        if qty <= 0 || !o.status.is_working() {
            return None;
        }
        o.filled += qty;
        o.filled_notional += f.px as i128 * qty as i128;
        o.ts_last = ts;
        let full = o.filled == o.spec.qty;
        o.status = if full {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        let raw_fee = inst.notional(f.px, qty) * fee_rate as i128;
        let fee = if raw_fee >= 0 {
            div_ceil(raw_fee, Bps::ONE * 1_000_000)
        } else {
            div_floor(raw_fee, Bps::ONE * 1_000_000)
        };
        let fill_index = self.fills.len();
        self.fills.push(Fill {
            ts,
            order_id: f.id,
            instrument: o.spec.instrument,
            side: o.spec.side,
            px: f.px,
            qty,
            fee,
            liquidity: f.liquidity,
        });
        self.events.push(OrderEvent {
            id: f.id,
            ts,
            kind: if full {
                OrderEventKind::Filled { fill_index }
            } else {
                OrderEventKind::PartiallyFilled { fill_index }
            },
        });
        self.fills.last()
    }
}

/// Counts and results of one L2 backtest.
#[derive(Debug, Clone, Default)]
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
    pub sync: SyncStats,
    pub strategy_calls: u64,
    pub orders: u64,
    pub fills: u64,
    pub maker_fills: u64,
    pub taker_fills: u64,
    /// Final signed position (raw) and cash (money units), and fees paid (money units).
    pub position: i64,
    pub cash: i128,
    pub fees: i128,
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
    maker_rate: i64,
    taker_rate: i64,
    strategy: S,
    sync: Option<BookSync>,
    inst: Option<Instrument>,
    matcher: L2Matcher,
    pub orders: L2Orders,
    position: i64,
    cash: i128,
    clock: i64,
    next_wake: Option<i64>,
    scratch: Vec<Delta>,
    snap: (Vec<Level>, Vec<Level>),
    mfills: Vec<MatchFill>,
    cmds: Vec<Command>,
    early: Vec<DiffIds>,
    report: L2Report,
}

impl<S: L2Strategy> L2Backtest<S> {
    pub fn new(cfg: L2Config, strategy: S) -> CoreResult<Self> {
        if cfg.elapse_ns <= 0 {
            return Err(CoreError::InvalidArgument {
                name: "elapse",
                reason: format!("must be > 0 ns, got {}", cfg.elapse_ns),
            });
        }
        let maker_rate = signed_bps(cfg.maker_fee_bps, "maker_fee_bps")?;
        let taker_rate = signed_bps(cfg.taker_fee_bps, "taker_fee_bps")?;
        let model = cfg.queue;
        Ok(Self {
            cfg,
            maker_rate,
            taker_rate,
            strategy,
            sync: None,
            inst: None,
            matcher: L2Matcher::new(model),
            orders: L2Orders::default(),
            position: 0,
            cash: 0,
            clock: i64::MIN,
            next_wake: None,
            scratch: Vec::with_capacity(512),
            snap: (Vec::new(), Vec::new()),
            mfills: Vec::with_capacity(16),
            cmds: Vec::with_capacity(16),
            early: Vec::new(),
            report: L2Report::default(),
        })
    }

    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    pub fn matcher(&self) -> &L2Matcher {
        &self.matcher
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
        self.inst = Some(Instrument::new("L2", pdp, sdp)?);
        self.report.price_dp = pdp;
        self.report.size_dp = sdp;
        Ok(())
    }

    /// Feed one recorded line.
    pub fn feed_line(&mut self, line: &str) -> CoreResult<()> {
        if line.trim().is_empty() {
            return Ok(());
        }
        // bookTicker lines (70% of a futures recording) are not used by this loop: recognise them
        // from the envelope's stream name and skip the JSON decoding.
                if let Some((ts, rest)) = line.split_once(' ')
            && rest.as_bytes().get(..80).map_or(false, |h| {
                h.starts_with(b"{\"stream\":\"") && h.windows(12).any(|w| w == b"@bookTicker\"")
            })
        {
            let recv: i64 = ts.parse().map_err(|_| CoreError::InvalidArgument {
                name: "line",
                reason: format!("bad receive timestamp {ts:?}"),
            })?;
            self.report.events += 1;
            self.report.ticker_messages += 1;
            self.clock = self.clock.max(recv);
            if self.report.first_ts == 0 {
                self.report.first_ts = self.clock;
            }
            return self.after_event();
        }
        let l = decode_line(line)?;
        self.report.events += 1;
        if l.recv_ns > self.clock {
            self.clock = l.recv_ns;
        }
        if self.report.first_ts == 0 {
            self.report.first_ts = self.clock;
        }
        match l.msg {
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
                self.report.deltas += self.scratch.len() as u64;
                let Some(sync) = self.sync.as_mut() else {
                    unreachable!("created above")
                };
                if sync.on_diff(ids, &self.scratch)? == DiffOutcome::Applied && !self.matcher.is_idle() {
                    for d in &self.scratch {
                        self.matcher.on_level(d.side, d.px, d.qty);
                    }
                    self.matcher.sweep_crossed(sync.book(), &mut self.mfills);
                }
            }
            WsMessage::Trade(t) => {
                self.report.trade_messages += 1;
                self.ensure(t.px, t.qty)?;
                if !self.matcher.is_idle() {
                    let px = parse_fixed(t.px, self.report.price_dp, "trade price")?;
                    let qty = parse_fixed(t.qty, self.report.size_dp, "trade qty")?;
                    let side = if t.buyer_is_maker {
                        AggressorSide::Seller
                    } else {
                        AggressorSide::Buyer
                    };
                    self.matcher.on_trade(px, qty, side, &mut self.mfills);
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
            }
            WsMessage::BookTicker(_) => self.report.ticker_messages += 1,
            WsMessage::Other { .. } => {}
        }
        self.after_event()
    }

    fn after_event(&mut self) -> CoreResult<()> {
        let ts = self.clock;
        if !self.mfills.is_empty() {
            let mfills = std::mem::take(&mut self.mfills);
            for f in &mfills {
                self.apply_fill(*f, ts)?;
            }
            self.mfills = mfills;
            self.mfills.clear();
        }
        let synced = self.sync.as_ref().is_some_and(|s| s.is_synced());
        if !synced {
            return Ok(());
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
            self.report.strategy_calls += 1;
            let mut cmds = std::mem::take(&mut self.cmds);
            {
                let (Some(sync), Some(inst)) = (self.sync.as_ref(), self.inst.as_ref()) else {
                    return Ok(());
                };
                let view = L2View {
                    ts,
                    book: sync.book(),
                    instrument: inst,
                    position: self.position,
                    cash: self.cash,
                    orders: &self.orders,
                    working: self.matcher.working(),
                };
                self.strategy.on_elapse(&view, &mut cmds)?;
            }
            self.run_commands(&mut cmds, ts)?;
            self.cmds = cmds;
        }
        Ok(())
    }

    fn apply_fill(&mut self, f: MatchFill, ts: i64) -> CoreResult<()> {
        let Some(inst) = self.inst.as_ref() else {
            return Ok(());
        };
        let rate = match f.liquidity {
            Liquidity::Maker => self.maker_rate,
            Liquidity::Taker => self.taker_rate,
        };
        let Some(fill) = self.orders.fill(inst, f, rate, ts).cloned() else {
            return Ok(());
        };
        let sign = fill.side.sign();
        self.position += sign * fill.qty;
        self.cash -= sign as i128 * inst.notional(fill.px, fill.qty) + fill.fee;
        self.report.fees += fill.fee;
        self.report.fills += 1;
        self.report.volume += fill.qty;
        match fill.liquidity {
            Liquidity::Maker => self.report.maker_fills += 1,
            Liquidity::Taker => self.report.taker_fills += 1,
        }
        if !self.orders.is_working(fill.order_id) {
            self.matcher.remove(fill.order_id);
        }
        let mut cmds = std::mem::take(&mut self.cmds);
        if let (Some(sync), Some(inst)) = (self.sync.as_ref(), self.inst.as_ref()) {
            let view = L2View {
                ts,
                book: sync.book(),
                instrument: inst,
                position: self.position,
                cash: self.cash,
                orders: &self.orders,
                working: self.matcher.working(),
            };
            self.strategy.on_fill(&view, &fill, &mut cmds)?;
        }
        self.run_commands(&mut cmds, ts)?;
        self.cmds = cmds;
        Ok(())
    }

    fn run_commands(&mut self, cmds: &mut Vec<Command>, ts: i64) -> CoreResult<()> {
        if cmds.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(cmds);
        for c in pending.drain(..) {
            match c {
                Command::Submit(spec) => self.submit(spec, ts)?,
                Command::Cancel { id } => self.cancel(id, ts, Reason::Requested),
                Command::CancelAll { .. } => {
                    let ids: Vec<OrderId> = self.matcher.working().iter().map(|w| w.id).collect();
                    for id in ids {
                        self.cancel(id, ts, Reason::Requested);
                    }
                }
                Command::Modify { id, .. } => self.orders.events.push(OrderEvent {
                    id,
                    ts,
                    kind: OrderEventKind::ModifyRejected(Reason::InvalidOrder),
                }),
                Command::SubmitList { orders, .. } => {
                    for o in orders {
                        self.orders.deny(o.id, ts, Reason::InvalidOrder);
                    }
                }
            }
        }
        *cmds = pending;
        Ok(())
    }

    fn cancel(&mut self, id: OrderId, ts: i64, r: Reason) {
        if self.orders.is_working(id) {
            self.matcher.remove(id);
            self.orders.set(id, ts, OrderStatus::Canceled, OrderEventKind::Canceled(r));
        } else {
            let why = if self.orders.get(id).is_some() {
                Reason::OrderClosed
            } else {
                Reason::UnknownOrder
            };
            self.orders.events.push(OrderEvent {
                id,
                ts,
                kind: OrderEventKind::CancelRejected(why),
            });
        }
    }

    fn submit(&mut self, spec: OrderSpec, ts: i64) -> CoreResult<()> {
        let id = spec.id;
        if self.orders.orders.contains_key(&id) {
            self.orders.deny(id, ts, Reason::DuplicateOrderId);
            return Ok(());
        }
        let px = match spec.kind {
            OrderKind::Market => None,
            OrderKind::Limit { px } => Some(px),
            _ => {
                self.orders.deny(id, ts, Reason::InvalidOrder);
                return Ok(());
            }
        };
        let bad = if spec.qty <= 0 {
            Some(Reason::NonPositiveQuantity)
        } else if px.is_some_and(|p| p <= 0) {
            Some(Reason::NonPositivePrice)
        } else {
            None
        };
        if let Some(r) = bad {
            self.orders.deny(id, ts, r);
            return Ok(());
        }
        self.report.orders += 1;
        let (side, qty, tif, post_only) = (spec.side, spec.qty, spec.tif, spec.post_only);
        let mut o = Order::new(spec, ts, 0);
        o.arrival_px = None;
        self.orders.orders.insert(id, o);
        self.orders
            .set(id, ts, OrderStatus::Submitted, OrderEventKind::Submitted);
        let Some(sync) = self.sync.as_ref() else {
            self.orders
                .set(id, ts, OrderStatus::Rejected, OrderEventKind::Rejected(Reason::NoLiquidity));
            return Ok(());
        };
        let mut mf = std::mem::take(&mut self.mfills);
        let arrival = self
            .matcher
            .arrive(sync.book(), id, side, px, qty, tif, post_only, &mut mf);
        if let Arrival::Reject(r) = arrival {
            self.orders
                .set(id, ts, OrderStatus::Rejected, OrderEventKind::Rejected(r));
            self.mfills = mf;
            return Ok(());
        }
        self.orders
            .set(id, ts, OrderStatus::Accepted, OrderEventKind::Accepted);
        for f in mf.drain(..) {
            self.apply_fill(f, ts)?;
        }
        self.mfills = mf;
        if let Arrival::Cancel(r) = arrival
            && self.orders.is_working(id)
        {
            self.orders
                .set(id, ts, OrderStatus::Canceled, OrderEventKind::Canceled(r));
        }
        Ok(())
    }

    /// End the run and return the report.
    pub fn finish(mut self) -> (L2Report, S, L2Orders) {
        if let Some(s) = &self.sync {
            self.report.sync = s.stats();
            let b = s.book();
            if let (Some(bb), Some(ba)) = (b.best_bid(), b.best_ask()) {
                let scale = 10f64.powi(self.report.price_dp as i32);
                self.report.last_mid = Some((bb.px + ba.px) as f64 / 2.0 / scale);
            }
        }
        self.report.position = self.position;
        self.report.cash = self.cash;
        self.report.last_ts = self.clock;
        (self.report, self.strategy, self.orders)
    }
}

/// Run an L2 backtest over recorded lines held in memory.
pub fn run_l2_text<S: L2Strategy>(text: &str, cfg: L2Config, strategy: S) -> CoreResult<(L2Report, S, L2Orders)> {
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
) -> CoreResult<(L2Report, S, L2Orders)> {
    if paths.is_empty() {
        return Err(CoreError::InvalidArgument {
            name: "path",
            reason: "no recording given".into(),
        });
    }
    let t0 = Instant::now();
    let mut bt = L2Backtest::new(cfg, strategy)?;
    let mut line = String::with_capacity(1 << 16);
    for p in paths {
        let p = p.as_ref();
        let mut rd = open_recording(p)?;
        let mut n = 0usize;
        loop {
            line.clear();
            let got = rd.read_line(&mut line).map_err(|e| CoreError::InvalidArgument {
                name: "path",
                reason: format!("{}:{}: {e}", p.display(), n + 1),
            })?;
            if got == 0 {
                break;
            }
            n += 1;
            bt.feed_line(&line).map_err(|e| CoreError::InvalidArgument {
                name: "path",
                reason: format!("{}:{n}: {e}", p.display()),
            })?;
        }
    }
    let mut out = bt.finish();
    out.0.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(out)
}

/// A passive market maker: every wake-up it quotes `qty` post-only at the touch (`offset` ticks
/// behind it), one order a side, re-quoting a side whose price moved; it stops quoting the side
/// that would take its position beyond `max_position` (raw units).
#[derive(Debug, Clone)]
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

    fn quote(
        &mut self,
        view: &L2View<'_>,
        side: Side,
        want: Option<i64>,
        cmds: &mut Vec<Command>,
    ) {
        let slot = match side {
            Side::Buy => self.bid,
            Side::Sell => self.ask,
        };
        let live = slot.filter(|(id, _)| view.orders.is_working(*id));
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
    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Vec<Command>) -> CoreResult<()> {
        let (Some(b), Some(a)) = (view.book.best_bid(), view.book.best_ask()) else {
            return Ok(());
        };
        let tick = view.instrument.tick;
        let bid = (view.position + self.qty <= self.max_position).then_some(b.px - self.offset_ticks * tick);
        let ask = (view.position - self.qty >= -self.max_position).then_some(a.px + self.offset_ticks * tick);
        self.quote(view, Side::Buy, bid, cmds);
        self.quote(view, Side::Sell, ask, cmds);
        Ok(())
    }

    fn on_fill(&mut self, _view: &L2View<'_>, _fill: &Fill, _cmds: &mut Vec<Command>) -> CoreResult<()> {
        Ok(())
    }
}
