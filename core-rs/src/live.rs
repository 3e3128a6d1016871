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

use std::time::Instant;

use crate::book::Level;
use crate::engine_l2::{L2Backtest, L2Report, L2Run, L2Strategy};
use crate::error::CoreResult;
use crate::model::AggressorSide;
use crate::ring::{Consumer, Producer, RingBuffer};

/// One decoded feed event.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A raw recorded line, `"<receive ns> <json>"` (Binance's WebSocket envelope).
    Line(Box<str>),
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
                FeedEvent::Line(l) => self.bt.feed_line(&l),
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

    /// Process what is left in the ring, then end the run (as a backtest ends).
    pub fn finish(mut self) -> CoreResult<(L2Report, S, L2Run)> {
        while self.pump(4096)? > 0 {}
        Ok(self.bt.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::MarketKind;
    use crate::engine_l2::{L2Config, Outbox, L2View, PassiveMarketMaker, run_ticks};
    use crate::data::ticks::{QuoteTicks, TradeTicks};

    fn quotes_engine(
        mm: PassiveMarketMaker,
        capacity: usize,
    ) -> LiveEngine<PassiveMarketMaker> {
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
                bid: Some(Level { px: px - 1, qty: 1_000 }),
                ask: Some(Level { px: px + 1, qty: 1_000 }),
            });
            let buy = x & 8 == 0;
            out.push(FeedEvent::Trade {
                ts: ts + 1,
                px: if buy { px + 1 } else { px - 1 },
                qty: 1 + (x % 50) as i64,
                aggressor: if buy { AggressorSide::Buyer } else { AggressorSide::Seller },
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
                FeedEvent::Trade { ts, px, qty, aggressor, id } => {
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
                out.push(crate::model::order::Command::Submit(crate::model::order::OrderSpec::new(
                    1,
                    0,
                    crate::model::order::Side::Buy,
                    crate::model::order::OrderKind::Limit { px },
                    1,
                )));
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
