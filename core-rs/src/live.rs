//! The live node's engine side: decoded feed events enter the engine through the SPSC ring
//! ([`crate::ring`]), and the same loop as the tick/L2 backtests ([`L2Backtest`]) consumes them:
//! a recorded line, a trade or a quote is handed to exactly the method a backtest calls for it,
//! so a replay through the live path gives the backtest's orders and fills. Commands take the
//! path every mode shares ([`crate::exec`]: risk engine, account, venue, EMERGENCY, delivery).
//!
//! Back-pressure, not loss: the ring never drops. When the engine falls behind, [`LiveEngine::push`]
//! hands the event back (counted in [`LiveStats::full`]) and the feed waits before pushing it again;
//! the backlog is the ring's occupancy and the feed's lag (both in the node's metrics).
//!
//! Tick-to-order latency: each event carries the instant it was pushed; when processing it sends
//! orders (the command handed to the venue), the time from the push is recorded once per event
//! ([`LiveEngine::take_latencies`]).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::book::Level;
use crate::engine_l2::{L2Backtest, L2Report, L2Run, L2Strategy};
use crate::error::{CoreError, CoreResult};
use crate::model::AggressorSide;
use crate::ring::{Consumer, Producer, RingBuffer};

/// One decoded feed event.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A raw recorded line, `"<receive ns> <json>"` (Binance's WebSocket envelope): one line of a
    /// batch read from a recording, shared by every session it is pushed to.
    Line(LineRef),
    /// A trade print (raw price and size at the instrument's precision).
    Trade {
        ts: i64,
        px: i64,
        qty: i64,
        aggressor: AggressorSide,
        id: i64,
    },
    /// A new top of book (quote mode).
    Quote {
        ts: i64,
        bid: Option<Level>,
        ask: Option<Level>,
    },
}

impl FeedEvent {
    /// The stream the event belongs to (metrics): "line", "trade" or "quote".
    pub fn stream(&self) -> Stream {
        match self {
            FeedEvent::Line(_) => Stream::Line,
            FeedEvent::Trade { .. } => Stream::Trade,
            FeedEvent::Quote { .. } => Stream::Quote,
        }
    }
}

/// Lines read together: one text buffer and each line's receive time and span (a batch costs one
/// allocation, not one a line).
#[derive(Debug, Default, PartialEq)]
pub struct LineBuf {
    text: String,
    spans: Vec<(i64, u32, u32)>,
}

impl LineBuf {
    /// A batch of one line (its receive time is read by the engine from the line itself).
    pub fn single(line: &str) -> Self {
        Self {
            text: line.to_string(),
            spans: vec![(0, 0, line.len() as u32)],
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Line `i`'s text.
    pub fn line(&self, i: usize) -> &str {
        let (_, a, b) = self.spans[i];
        &self.text[a as usize..b as usize]
    }

    /// Line `i`'s receive time (ns).
    pub fn ts(&self, i: usize) -> i64 {
        self.spans[i].0
    }

    fn push(&mut self, ts: i64, line: &str) {
        let a = self.text.len() as u32;
        self.text.push_str(line);
        self.spans.push((ts, a, self.text.len() as u32));
    }
}

/// One line of a shared [`LineBuf`].
#[derive(Debug, Clone)]
pub struct LineRef {
    pub buf: Arc<LineBuf>,
    pub index: u32,
}

impl LineRef {
    pub fn as_str(&self) -> &str {
        self.buf.line(self.index as usize)
    }
}

impl PartialEq for LineRef {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The streams events are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Line = 0,
    Trade = 1,
    Quote = 2,
}

impl Stream {
    pub const ALL: [Stream; 3] = [Stream::Line, Stream::Trade, Stream::Quote];

    pub fn name(self) -> &'static str {
        match self {
            Stream::Line => "line",
            Stream::Trade => "trade",
            Stream::Quote => "quote",
        }
    }
}

/// Counters of the ring and the loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Events accepted by the ring, by [`Stream`].
    pub pushed: [u64; 3],
    /// Events the engine processed, by [`Stream`].
    pub processed: [u64; 3],
    /// Pushes refused because the ring was full (the feed retried them: nothing is lost).
    pub full: u64,
    /// The largest occupancy the ring reached.
    pub max_backlog: usize,
}

/// Latencies kept for [`LiveEngine::take_latencies`] at most (the oldest go first).
pub const MAX_LATENCY_SAMPLES: usize = 1 << 20;

/// The ring and the engine of one live session.
pub struct LiveEngine<S: L2Strategy> {
    bt: L2Backtest<S>,
    tx: Producer<(FeedEvent, Instant)>,
    rx: Consumer<(FeedEvent, Instant)>,
    batch: Vec<(FeedEvent, Instant)>,
    stats: LiveStats,
    latencies: Vec<u64>,
}

impl<S: L2Strategy> LiveEngine<S> {
    /// A session over `bt` (a new L2 or quote-mode backtest) with a ring of `capacity` events
    /// (rounded up to a power of two).
    pub fn new(bt: L2Backtest<S>, capacity: usize) -> CoreResult<Self> {
        let (tx, rx) = RingBuffer::new(capacity)?;
        Ok(Self {
            bt,
            tx,
            rx,
            batch: Vec::with_capacity(1024),
            stats: LiveStats::default(),
            latencies: Vec::new(),
        })
    }

    /// Push one event; when the ring is full it is handed back (and counted): push it again
    /// after [`pump`](Self::pump).
    pub fn push(&mut self, ev: FeedEvent) -> Result<(), FeedEvent> {
        let stream = ev.stream() as usize;
        match self.tx.push((ev, Instant::now())) {
            Ok(()) => {
                self.stats.pushed[stream] += 1;
                self.stats.max_backlog = self.stats.max_backlog.max(self.tx.len());
                Ok(())
            }
            Err(e) => {
                self.stats.full += 1;
                Err(e.into_inner().0)
            }
        }
    }

    /// Events waiting in the ring.
    pub fn backlog(&self) -> usize {
        self.rx.len()
    }

    /// Free slots of the ring.
    pub fn free(&self) -> usize {
        self.tx.capacity() - self.tx.len()
    }

    /// Process up to `max` waiting events, in push order; returns how many. An error (a bad
    /// line, the strategy's exception) stops at that event; the events after it stay queued.
    pub fn pump(&mut self, max: usize) -> CoreResult<usize> {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let n = self.rx.pop_batch(&mut batch, max);
        let mut result = Ok(n);
        let mut it = batch.drain(..);
        for (ev, at) in it.by_ref() {
            let stream = ev.stream() as usize;
            let orders = self.bt.report().orders;
            let r = match ev {
                FeedEvent::Line(l) => self.bt.feed_line(l.as_str()),
                FeedEvent::Trade {
                    ts,
                    px,
                    qty,
                    aggressor,
                    id,
                } => self.bt.feed_trade_id(ts, px, qty, aggressor, id),
                FeedEvent::Quote { ts, bid, ask } => self.bt.feed_quote(ts, bid, ask),
            };
            self.stats.processed[stream] += 1;
            if self.bt.report().orders != orders {
                if self.latencies.len() >= MAX_LATENCY_SAMPLES {
                    self.latencies.drain(..MAX_LATENCY_SAMPLES / 2);
                }
                self.latencies.push(at.elapsed().as_nanos() as u64);
            }
            if let Err(e) = r {
                result = Err(e);
                break;
            }
        }
        drop(it);
        self.batch = batch;
        result
    }

    /// The tick-to-order latencies (ns) recorded since the last call: for each event that sent
    /// orders, the time from its push into the ring to the end of the call that sent them.
    pub fn take_latencies(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.latencies)
    }

    pub fn stats(&self) -> LiveStats {
        self.stats
    }

    /// The engine (read).
    pub fn engine(&self) -> &L2Backtest<S> {
        &self.bt
    }

    /// The engine (the operator's controls).
    pub fn engine_mut(&mut self) -> &mut L2Backtest<S> {
        &mut self.bt
    }

    /// The engine's checkpoint ([`L2Backtest::checkpoint`]); the ring must be empty (pump it
    /// first): an event waiting in it would be in neither the checkpoint nor the feed position.
    pub fn checkpoint(&self) -> CoreResult<Vec<u8>> {
        self.ring_empty()?;
        self.bt.checkpoint()
    }

    /// Take back a checkpoint ([`L2Backtest::restore`]) before any event of this session (the
    /// ring must be empty).
    pub fn restore(&mut self, blob: &[u8]) -> CoreResult<()> {
        self.ring_empty()?;
        self.bt.restore(blob)
    }

    fn ring_empty(&self) -> CoreResult<()> {
        match self.rx.len() {
            0 => Ok(()),
            n => Err(crate::engine_l2::checkpoint_error(format!(
                "{n} events wait in the ring: pump them first"
            ))),
        }
    }

    /// Process what is left in the ring, then end the run (as a backtest ends).
    pub fn finish(mut self) -> CoreResult<(L2Report, S, L2Run)> {
        while self.pump(4096)? > 0 {}
        Ok(self.bt.finish())
    }
}

/// The lines of recorded Binance WebSocket files (`"<receive ns> <json>"`, gzip or plain), read in
/// order in batches, optionally only up to a receive time (a paced replay): the live node's replay
/// feed reads here, in Rust, what `trader backtest-l2` reads.
pub struct RecordingLines {
    paths: Vec<PathBuf>,
    next_path: usize,
    reader: Option<Box<dyn BufRead + Send>>,
    /// The file being read and its line number (errors name both).
    source: String,
    line_no: usize,
    /// The last line read (trimmed to `len`), with its receive time while not handed out yet.
    buf: String,
    len: usize,
    held: Option<i64>,
    /// Lines handed out so far.
    pub lines: u64,
}

impl RecordingLines {
    pub fn new(paths: Vec<PathBuf>) -> CoreResult<Self> {
        if paths.is_empty() {
            return Err(CoreError::InvalidArgument {
                name: "path",
                reason: "no recording given".into(),
            });
        }
        for p in &paths {
            if !p.is_file() {
                return Err(CoreError::InvalidArgument {
                    name: "path",
                    reason: format!("no such recording: {}", p.display()),
                });
            }
        }
        Ok(Self {
            paths,
            next_path: 0,
            reader: None,
            source: String::new(),
            line_no: 0,
            buf: String::with_capacity(1 << 16),
            len: 0,
            held: None,
            lines: 0,
        })
    }

    /// Read the next non-blank line into `buf`; its receive time, None at the end of the last file.
    fn read(&mut self) -> CoreResult<Option<i64>> {
        loop {
            if self.reader.is_none() {
                let Some(p) = self.paths.get(self.next_path) else {
                    return Ok(None);
                };
                self.reader = Some(crate::data::replay::open_recording(p)?);
                self.source = p.display().to_string();
                self.line_no = 0;
                self.next_path += 1;
            }
            let Some(rd) = self.reader.as_mut() else {
                unreachable!("opened above")
            };
            self.buf.clear();
            let got = rd
                .read_line(&mut self.buf)
                .map_err(|e| CoreError::InvalidArgument {
                    name: "path",
                    reason: format!("{}:{}: {e}", self.source, self.line_no + 1),
                })?;
            if got == 0 {
                self.reader = None;
                continue;
            }
            self.line_no += 1;
            let line = self.buf.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            self.len = line.len();
            let head = line.split_once(' ').map_or(line, |(h, _)| h);
            let ts: i64 = head.parse().map_err(|_| CoreError::InvalidArgument {
                name: "line",
                reason: format!(
                    "{}:{}: bad receive timestamp {:?}",
                    self.source,
                    self.line_no,
                    &head[..head.len().min(40)]
                ),
            })?;
            return Ok(Some(ts));
        }
    }

    /// Pass over the next `n` lines without handing them out (a replay resuming after the last
    /// line it processed); they count in [`Self::lines`]. Returns how many there were (fewer
    /// at the end of the data).
    pub fn skip(&mut self, n: u64) -> CoreResult<u64> {
        let mut done = 0;
        while done < n {
            if self.peek_ts()?.is_none() {
                break;
            }
            self.held = None;
            done += 1;
        }
        self.lines += done;
        Ok(done)
    }

    /// The receive time of the next line, None at the end.
    pub fn peek_ts(&mut self) -> CoreResult<Option<i64>> {
        if self.held.is_none() {
            self.held = self.read()?;
        }
        Ok(self.held)
    }

    /// Up to `max` lines, in order, only those received at or before `until` (None: any); empty
    /// when none is due yet or at the end (see [`Self::peek_ts`]).
    pub fn next_batch(&mut self, max: usize, until: Option<i64>) -> CoreResult<LineBuf> {
        let mut out = LineBuf {
            text: String::with_capacity(max.min(4096) * 400),
            spans: Vec::with_capacity(max.min(4096)),
        };
        while out.len() < max {
            let Some(ts) = self.peek_ts()? else { break };
            if until.is_some_and(|u| ts > u) {
                break;
            }
            out.push(ts, &self.buf[..self.len]);
            self.held = None;
        }
        self.lines += out.len() as u64;
        Ok(out)
    }
}

/// Lines a [`Prefetch`] reader's thread reads ahead of the engine, per batch.
pub const PREFETCH_LINES: usize = 1024;
/// Batches read ahead at most (the thread waits when the engine is that far behind).
pub const PREFETCH_DEPTH: usize = 8;

/// A [`RecordingLines`] read on a thread of its own, [`PREFETCH_DEPTH`] batches ahead: decompressing
/// and splitting the recording overlaps the engine's work, as a live feed's network I/O does.
pub struct Prefetch {
    rx: std::sync::mpsc::Receiver<CoreResult<LineBuf>>,
    /// The batch being handed out, and the next line of it.
    cur: Option<(Arc<LineBuf>, usize)>,
    done: bool,
    /// Lines handed out so far.
    pub lines: u64,
}

impl Prefetch {
    /// Read `lines` ahead on a thread of its own; [`Self::lines`] goes on from the lines it
    /// already passed ([`RecordingLines::skip`]).
    pub fn new(mut lines: RecordingLines) -> Self {
        let start = lines.lines;
        let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH_DEPTH);
        std::thread::Builder::new()
            .name("trader-replay-read".into())
            .spawn(move || {
                loop {
                    let b = lines.next_batch(PREFETCH_LINES, None);
                    let end = matches!(&b, Ok(b) if b.is_empty()) || b.is_err();
                    // the receiver is gone: the node stopped reading
                    if tx.send(b).is_err() || end {
                        return;
                    }
                }
            })
            .expect("spawning the recording reader's thread");
        Self {
            rx,
            cur: None,
            done: false,
            lines: start,
        }
    }

    /// A batch with lines left, waiting for the thread if needed; None at the end.
    fn current(&mut self) -> CoreResult<Option<&(Arc<LineBuf>, usize)>> {
        let exhausted = self.cur.as_ref().is_none_or(|(b, i)| *i >= b.len());
        if exhausted && !self.done {
            self.cur = None;
            match self.rx.recv() {
                Ok(Ok(b)) if !b.is_empty() => self.cur = Some((Arc::new(b), 0)),
                Ok(Ok(_)) | Err(_) => self.done = true,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        Ok(self.cur.as_ref().filter(|(b, i)| *i < b.len()))
    }

    /// The receive time of the next line, None at the end.
    pub fn peek_ts(&mut self) -> CoreResult<Option<i64>> {
        Ok(self.current()?.map(|(b, i)| b.ts(*i)))
    }

    /// The next lines, at most `max`, received at or before `until` (None: any), as a range of
    /// one read-ahead batch: (batch, first, end). None at the end; an empty range when nothing
    /// is due yet.
    pub fn next(
        &mut self,
        max: usize,
        until: Option<i64>,
    ) -> CoreResult<Option<(Arc<LineBuf>, usize, usize)>> {
        let Some((b, start)) = self.current()?.cloned() else {
            return Ok(None);
        };
        let mut end = start;
        let stop = (start + max).min(b.len());
        while end < stop && until.is_none_or(|u| b.ts(end) <= u) {
            end += 1;
        }
        if let Some(c) = self.cur.as_mut() {
            c.1 = end;
        }
        self.lines += (end - start) as u64;
        Ok(Some((b, start, end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::MarketKind;
    use crate::data::ticks::{QuoteTicks, TradeTicks};
    use crate::engine_l2::{L2Config, L2View, Outbox, PassiveMarketMaker, run_ticks};

    fn quotes_engine(mm: PassiveMarketMaker, capacity: usize) -> LiveEngine<PassiveMarketMaker> {
        let cfg = L2Config::new(MarketKind::UsdM);
        let bt = L2Backtest::new_quotes(cfg, 2, 3, mm).unwrap();
        LiveEngine::new(bt, capacity).unwrap()
    }

    /// A seeded walk of quotes and trades (raw at 2 and 3 decimals), in time order.
    fn tape(n: usize) -> Vec<FeedEvent> {
        let mut px = 5_000_000i64;
        let mut out = Vec::with_capacity(2 * n);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            px += (x % 7) as i64 - 3;
            let ts = 1_700_000_000_000_000_000 + i as i64 * 50_000_000;
            out.push(FeedEvent::Quote {
                ts,
                bid: Some(Level {
                    px: px - 1,
                    qty: 1_000,
                }),
                ask: Some(Level {
                    px: px + 1,
                    qty: 1_000,
                }),
            });
            let buy = x & 8 == 0;
            out.push(FeedEvent::Trade {
                ts: ts + 1,
                px: if buy { px + 1 } else { px - 1 },
                qty: 1 + (x % 50) as i64,
                aggressor: if buy {
                    AggressorSide::Buyer
                } else {
                    AggressorSide::Seller
                },
                id: i as i64,
            });
        }
        out
    }

    #[test]
    fn a_full_ring_hands_the_event_back_and_loses_nothing() {
        let mut live = quotes_engine(PassiveMarketMaker::new(1, 10, 0).unwrap(), 4);
        let events = tape(50);
        let mut i = 0;
        while i < events.len() {
            match live.push(events[i].clone()) {
                Ok(()) => i += 1,
                Err(back) => {
                    assert_eq!(back, events[i]);
                    live.pump(3).unwrap();
                }
            }
        }
        let s = live.stats();
        assert!(s.full > 0, "a ring of 4 must fill up");
        assert!(s.max_backlog <= 4);
        let (r, _, _) = live.finish().unwrap();
        assert_eq!(r.events, 100);
        assert_eq!(r.trade_messages, 50);
        assert_eq!(r.ticker_messages, 50);
    }

    /// The live path gives the fills of the tick backtest on the same events.
    #[test]
    fn through_the_ring_equals_the_tick_backtest() {
        let events = tape(2_000);
        let mut trades = TradeTicks::default();
        let mut quotes = QuoteTicks::default();
        for e in &events {
            match *e {
                FeedEvent::Trade {
                    ts,
                    px,
                    qty,
                    aggressor,
                    id,
                } => {
                    trades.ts_event.push(ts);
                    trades.price.push(px as f64 / 100.0);
                    trades.size.push(qty as f64 / 1000.0);
                    trades.side.push(aggressor as u8);
                    trades.id.push(id);
                }
                FeedEvent::Quote { ts, bid, ask } => {
                    let (b, a) = (bid.unwrap(), ask.unwrap());
                    quotes.ts_event.push(ts);
                    quotes.bid_price.push(b.px as f64 / 100.0);
                    quotes.bid_size.push(b.qty as f64 / 1000.0);
                    quotes.ask_price.push(a.px as f64 / 100.0);
                    quotes.ask_size.push(a.qty as f64 / 1000.0);
                }
                FeedEvent::Line(_) => unreachable!(),
            }
        }
        let mm = || PassiveMarketMaker::new(1, 5, 0).unwrap();
        let cfg = L2Config::new(MarketKind::UsdM);
        let (want, _, want_run) = run_ticks(&trades, &quotes, cfg, 2, 3, mm()).unwrap();
        let mut live = quotes_engine(mm(), 64);
        for e in events {
            let mut e = e;
            while let Err(back) = live.push(e) {
                live.pump(16).unwrap();
                e = back;
            }
        }
        let (got, _, got_run) = live.finish().unwrap();
        assert!(want.fills > 10, "the tape must trade: {} fills", want.fills);
        assert_eq!(got.fills, want.fills);
        assert_eq!(got.orders, want.orders);
        assert_eq!(got_run.fills, want_run.fills);
        assert_eq!(got.cash, want.cash);
    }

    struct Once(bool);
    impl L2Strategy for Once {
        fn on_elapse(&mut self, view: &L2View<'_>, out: &mut Outbox) -> CoreResult<()> {
            if !self.0 {
                self.0 = true;
                let px = view.book.best_bid().unwrap().px;
                out.push(crate::model::order::Command::Submit(
                    crate::model::order::OrderSpec::new(
                        1,
                        0,
                        crate::model::order::Side::Buy,
                        crate::model::order::OrderKind::Limit { px },
                        1,
                    ),
                ));
            }
            Ok(())
        }
    }

    #[test]
    fn an_event_that_sends_an_order_records_one_latency() {
        let cfg = L2Config::new(MarketKind::UsdM);
        let bt = L2Backtest::new_quotes(cfg, 2, 3, Once(false)).unwrap();
        let mut live = LiveEngine::new(bt, 16).unwrap();
        for e in tape(5) {
            live.push(e).unwrap();
        }
        assert_eq!(live.pump(100).unwrap(), 10);
        let lat = live.take_latencies();
        assert_eq!(lat.len(), 1, "one event sent the one order");
        assert!(live.take_latencies().is_empty(), "taken once");
        assert_eq!(live.engine().report().orders, 1);
    }
}
