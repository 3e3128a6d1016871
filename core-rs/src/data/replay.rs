//! Replay of a Binance WebSocket recording through [`BookSync`], checked against `bookTicker`.
//!
//! Every depth diff goes through Binance's sync procedure; every snapshot line (re)initialises a
//! book that is not synced; every `bookTicker` is compared with the reconstructed top of book
//! *at the same update id*.
//!
//! ## When a ticker is comparable
//! A `bookTicker` carries `u`, the order-book update id of the state it shows (spot: the
//! symbol's own id sequence; futures: the same sequence the depth `U`/`u`/`pu` run on, shared
//! with other symbols, so ids between two consecutive diffs of one symbol belong to other symbols).
//! A diff event covering `[U, u]` takes the book from the state at its `pu` (futures) or `U - 1`
//! (spot) to the state at `u`; the states in between are not observable. So with the applied
//! events in order, the book state at id `t` is known exactly iff `t` equals some event's `u`, or
//! `u_i < t < U_{i+1}` for consecutive events `i, i+1` (no update of this symbol in between; this
//! only happens on futures). If `U_{i+1} <= t < u_{i+1}` the ticker shows an intermediate state
//! inside an aggregated diff event: *not comparable*. The replay keeps the top of book after each
//! applied event (a bounded history), so a ticker is resolved whichever of the two streams
//! arrived first; a ticker beyond the last applied event waits for the next one.
//!
//! ## The second check: the top after every applied event
//! Binance pushes a `bookTicker` for *every* change of the best bid/ask (price or quantity), in
//! update-id order. So the top of book at id `u` is the one shown by the latest ticker with id
//! `<= u`. Once a ticker with a larger id has arrived, every applied event (and the snapshot
//! state) is checked this way (`event_top_*`): this covers almost every event, where the exact
//! rule above covers only the tickers that happen to fall on an event boundary. It relies on the
//! ticker stream being complete; a dropped ticker would show up as a mismatch here.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use crate::book::{
    BookSide, BookSync, Delta, DiffIds, DiffOutcome, L2Book, Level, MarketKind, SyncState,
    SyncStats,
};
use crate::data::binance_ws::{BookTicker, DepthDiff, Snapshot, WsMessage, decode_line, levels};
use crate::data::decimal::{decimals_of, parse_fixed};
use crate::error::{CoreError, CoreResult};

/// What to replay and at which precision (`None`: taken from the first price/size string seen;
/// Binance pads them to the symbol's precision).
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    pub market: MarketKind,
    pub price_dp: Option<u8>,
    pub size_dp: Option<u8>,
    /// Applied events whose top of book is remembered for late tickers.
    pub history: usize,
}

impl ReplayOptions {
    pub fn new(market: MarketKind) -> Self {
        Self {
            market,
            price_dp: None,
            size_dp: None,
            history: 4096,
        }
    }
}

/// Counts and results of one replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    pub market: Option<MarketKind>,
    pub price_dp: u8,
    pub size_dp: u8,
    /// Non-empty lines decoded.
    pub messages: u64,
    pub depth_messages: u64,
    pub ticker_messages: u64,
    pub trade_messages: u64,
    pub snapshot_messages: u64,
    pub other_messages: u64,
    /// Price-level updates decoded from depth messages (applied or not).
    pub deltas_decoded: u64,
    /// The sync machine's counters (applied, stale, gaps, sync errors, resyncs, ...).
    pub sync: SyncStats,
    /// Applied events after which the book was crossed (bid >= ask): 0 on a correct book.
    pub crossed_after_event: u64,
    /// Tickers compared with the book at the same update id, and how many matched on all four
    /// of bid px, bid qty, ask px, ask qty.
    pub ticker_compared: u64,
    pub ticker_matched: u64,
    pub mismatch_bid_px: u64,
    pub mismatch_bid_qty: u64,
    pub mismatch_ask_px: u64,
    pub mismatch_ask_qty: u64,
    /// Tickers at an id inside an aggregated diff event (intermediate state; see module docs).
    pub ticker_inside_event: u64,
    /// Tickers older than the synced book (before the first sync, or beyond the history).
    pub ticker_before_sync: u64,
    /// Tickers left waiting when sync was lost or the recording ended.
    pub ticker_unresolved: u64,
    /// The first few mismatches, described.
    pub mismatch_examples: Vec<String>,
    /// Applied events (and synced snapshot states) whose top of book was checked against the
    /// latest ticker at or before their final id, and how many matched (see module docs).
    pub event_top_checked: u64,
    pub event_top_matched: u64,
    pub event_top_mismatch_examples: Vec<String>,
    /// Tickers whose id went backwards in the ticker stream (not used for the event check).
    pub ticker_out_of_order: u64,
    /// Sum of traded quantities (raw, at `size_dp`).
    pub trade_volume_raw: i128,
    /// Is the book synced at the end, and its top of book then.
    pub synced_at_end: bool,
    pub best_bid: Option<Level>,
    pub best_ask: Option<Level>,
    /// Levels per side at the end.
    pub bid_levels: usize,
    pub ask_levels: usize,
    /// Wall time of the replay (decompression, decoding, sync, comparisons).
    pub elapsed_s: f64,
}

impl ReplayReport {
    /// Matched / compared (NaN when nothing was comparable).
    pub fn match_rate(&self) -> f64 {
        if self.ticker_compared == 0 {
            f64::NAN
        } else {
            self.ticker_matched as f64 / self.ticker_compared as f64
        }
    }

    /// Event tops matched / checked (NaN when nothing was checked).
    pub fn event_top_match_rate(&self) -> f64 {
        if self.event_top_checked == 0 {
            f64::NAN
        } else {
            self.event_top_matched as f64 / self.event_top_checked as f64
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Top {
    bid: Option<Level>,
    ask: Option<Level>,
}

#[derive(Debug, Clone, Copy)]
struct Hist {
    first: u64,
    last: u64,
    top: Top,
}

#[derive(Debug, Clone, Copy)]
struct Ticker {
    u: u64,
    bid: Level,
    ask: Level,
}

enum Resolution {
    Compare(Top),
    Inside,
    Before,
    Wait,
}

/// Streaming replay: feed lines, then [`finish`](Replay::finish).
pub struct Replay {
    opts: ReplayOptions,
    sync: Option<BookSync>,
    /// Depth ids seen before the precision was known (events without any level).
    early: Vec<DiffIds>,
    scratch: Vec<Delta>,
    snap_bids: Vec<Level>,
    snap_asks: Vec<Level>,
    history: VecDeque<Hist>,
    pending: Vec<Ticker>,
    /// Recent tickers in stream (= update id) order, for the event check.
    tickers: VecDeque<Ticker>,
    /// Applied states not yet checked against the ticker stream.
    unchecked: VecDeque<Hist>,
    report: ReplayReport,
}

fn top_of(book: &L2Book) -> Top {
    Top {
        bid: book.best_bid(),
        ask: book.best_ask(),
    }
}

fn fmt_level(l: Option<Level>) -> String {
    match l {
        Some(l) => format!("{}@{}", l.px, l.qty),
        None => "none".into(),
    }
}

impl Replay {
    pub fn new(opts: ReplayOptions) -> Self {
        let mut report = ReplayReport {
            market: Some(opts.market),
            ..Default::default()
        };
        if let (Some(p), Some(s)) = (opts.price_dp, opts.size_dp) {
            report.price_dp = p;
            report.size_dp = s;
        }
        Self {
            opts: ReplayOptions {
                history: opts.history.max(2),
                ..opts
            },
            sync: None,
            early: Vec::new(),
            scratch: Vec::with_capacity(1024),
            snap_bids: Vec::new(),
            snap_asks: Vec::new(),
            history: VecDeque::new(),
            pending: Vec::new(),
            tickers: VecDeque::new(),
            unchecked: VecDeque::new(),
            report,
        }
    }

    /// The sync machine and its book (once the precision is known).
    pub fn sync(&self) -> Option<&BookSync> {
        self.sync.as_ref()
    }

    pub fn report(&self) -> &ReplayReport {
        &self.report
    }

    fn ensure_sync(&mut self, px: &str, qty: &str) -> CoreResult<()> {
        if self.sync.is_some() {
            return Ok(());
        }
        let pdp = match self.opts.price_dp {
            Some(d) => d,
            None => decimals_of(px, "price_precision")?,
        };
        let sdp = match self.opts.size_dp {
            Some(d) => d,
            None => decimals_of(qty, "size_precision")?,
        };
        let mut sync = BookSync::new(self.opts.market, pdp, sdp)?;
        for ids in self.early.drain(..) {
            sync.on_diff(ids, &[])?;
        }
        self.report.price_dp = pdp;
        self.report.size_dp = sdp;
        self.sync = Some(sync);
        Ok(())
    }

    /// Feed one recorded line (`<ns> <JSON>`); blank lines are skipped.
    pub fn feed_line(&mut self, line: &str) -> CoreResult<()> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let l = decode_line(line)?;
        self.report.messages += 1;
        match l.msg {
            WsMessage::Depth(d) => self.on_depth(&d),
            WsMessage::BookTicker(t) => self.on_ticker(&t),
            WsMessage::Trade(t) => {
                self.report.trade_messages += 1;
                self.ensure_sync(t.px, t.qty)?;
                let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
                parse_fixed(t.px, pdp, "trade price")?;
                self.report.trade_volume_raw += parse_fixed(t.qty, sdp, "trade qty")? as i128;
                Ok(())
            }
            WsMessage::Snapshot(s) => self.on_snapshot(&s),
            WsMessage::Other { .. } => {
                self.report.other_messages += 1;
                Ok(())
            }
        }
    }

    fn parse_levels(&mut self, d: &DepthDiff<'_>) -> CoreResult<()> {
        self.scratch.clear();
        let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
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
        Ok(())
    }

    fn on_depth(&mut self, d: &DepthDiff<'_>) -> CoreResult<()> {
        self.report.depth_messages += 1;
        let ids = DiffIds {
            first: d.first_update_id,
            last: d.final_update_id,
            prev: d.prev_final_update_id,
        };
        if self.sync.is_none() {
            let first = levels(d.bids).chain(levels(d.asks)).next();
            match first {
                Some(r) => {
                    let (p, q) = r?;
                    self.ensure_sync(p, q)?;
                }
                None => {
                    self.early.push(ids);
                    return Ok(());
                }
            }
        }
        self.parse_levels(d)?;
        self.report.deltas_decoded += self.scratch.len() as u64;
        let Some(sync) = self.sync.as_mut() else {
            unreachable!("created above")
        };
        match sync.on_diff(ids, &self.scratch)? {
            DiffOutcome::Applied => {
                let book = sync.book();
                if book.is_crossed() {
                    self.report.crossed_after_event += 1;
                }
                let top = top_of(book);
                self.push_history(Hist {
                    first: ids.first,
                    last: ids.last,
                    top,
                });
            }
            DiffOutcome::Gap => self.drop_history(),
            DiffOutcome::Stale | DiffOutcome::Buffered => {}
        }
        Ok(())
    }

    fn on_snapshot(&mut self, s: &Snapshot<'_>) -> CoreResult<()> {
        self.report.snapshot_messages += 1;
        if self.sync.is_none() {
            let first = levels(s.bids).chain(levels(s.asks)).next();
            let Some(r) = first else {
                return Err(CoreError::InvalidArgument {
                    name: "line",
                    reason: "empty snapshot: cannot infer the precision".into(),
                });
            };
            let (p, q) = r?;
            self.ensure_sync(p, q)?;
        }
        let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
        self.snap_bids.clear();
        self.snap_asks.clear();
        for (raw, out) in [(s.bids, &mut self.snap_bids), (s.asks, &mut self.snap_asks)] {
            for lv in levels(raw) {
                let (p, q) = lv?;
                out.push(Level {
                    px: parse_fixed(p, pdp, "snapshot price")?,
                    qty: parse_fixed(q, sdp, "snapshot qty")?,
                });
            }
        }
        let Some(sync) = self.sync.as_mut() else {
            unreachable!("created above")
        };
        if sync.is_synced() {
            sync.on_snapshot(s.last_update_id, &self.snap_bids, &self.snap_asks)?; // counted, ignored
            return Ok(());
        }
        let state = sync.on_snapshot(s.last_update_id, &self.snap_bids, &self.snap_asks)?;
        let top = top_of(sync.book());
        self.drop_history();
        match state {
            SyncState::Synced { last_update_id } => self.push_history(Hist {
                first: last_update_id,
                last: last_update_id,
                top,
            }),
            SyncState::AwaitingFirst { snapshot_id } => self.push_history(Hist {
                first: snapshot_id,
                last: snapshot_id,
                top,
            }),
            SyncState::AwaitingSnapshot | SyncState::OutOfSync => {}
        }
        Ok(())
    }

    fn on_ticker(&mut self, t: &BookTicker<'_>) -> CoreResult<()> {
        self.report.ticker_messages += 1;
        self.ensure_sync(t.bid_px, t.bid_qty)?;
        let (pdp, sdp) = (self.report.price_dp, self.report.size_dp);
        let tk = Ticker {
            u: t.update_id,
            bid: Level {
                px: parse_fixed(t.bid_px, pdp, "bookTicker b")?,
                qty: parse_fixed(t.bid_qty, sdp, "bookTicker B")?,
            },
            ask: Level {
                px: parse_fixed(t.ask_px, pdp, "bookTicker a")?,
                qty: parse_fixed(t.ask_qty, sdp, "bookTicker A")?,
            },
        };
        match self.tickers.back() {
            Some(b) if b.u > tk.u => self.report.ticker_out_of_order += 1,
            _ => {
                if self.tickers.len() >= self.opts.history {
                    self.tickers.pop_front();
                }
                self.tickers.push_back(tk);
                self.check_events();
            }
        }
        if self.history.is_empty() {
            self.report.ticker_before_sync += 1;
            return Ok(());
        }
        self.settle(tk);
        Ok(())
    }

    /// Check every unchecked state whose final id is below the newest ticker's.
    fn check_events(&mut self) {
        let Some(newest) = self.tickers.back().map(|t| t.u) else {
            return;
        };
        while let Some(e) = self.unchecked.front().copied() {
            if e.last >= newest {
                break;
            }
            self.unchecked.pop_front();
            let n = self.tickers.partition_point(|t| t.u <= e.last);
            if n == 0 {
                continue; // no ticker at or before this state in the window
            }
            let t = self.tickers[n - 1];
            let r = &mut self.report;
            r.event_top_checked += 1;
            let ok = e.top.bid == Some(t.bid) && e.top.ask == Some(t.ask);
            if ok {
                r.event_top_matched += 1;
            } else if r.event_top_mismatch_examples.len() < 5 {
                r.event_top_mismatch_examples.push(format!(
                    "state at u={} (event U={}): book bid {} ask {}, latest ticker u={} bid {}@{} ask {}@{}",
                    e.last,
                    e.first,
                    fmt_level(e.top.bid),
                    fmt_level(e.top.ask),
                    t.u,
                    t.bid.px,
                    t.bid.qty,
                    t.ask.px,
                    t.ask.qty
                ));
            }
        }
    }

    fn resolve(&self, u: u64) -> Resolution {
        let h = &self.history;
        let n = h.partition_point(|e| e.last <= u); // entries with last <= u
        if n == 0 {
            return Resolution::Before;
        }
        let e = h[n - 1];
        if n == h.len() {
            return if e.last == u {
                Resolution::Compare(e.top)
            } else {
                Resolution::Wait
            };
        }
        if e.last == u || h[n].first > u {
            Resolution::Compare(e.top)
        } else {
            Resolution::Inside
        }
    }

    /// Resolve a ticker now, or keep it for later.
    fn settle(&mut self, t: Ticker) {
        match self.resolve(t.u) {
            Resolution::Compare(top) => self.compare(&t, top),
            Resolution::Inside => self.report.ticker_inside_event += 1,
            Resolution::Before => self.report.ticker_before_sync += 1,
            Resolution::Wait => self.pending.push(t),
        }
    }

    fn compare(&mut self, t: &Ticker, top: Top) {
        let r = &mut self.report;
        r.ticker_compared += 1;
        let bid_px = top.bid.map(|l| l.px) == Some(t.bid.px);
        let bid_qty = top.bid.map(|l| l.qty) == Some(t.bid.qty);
        let ask_px = top.ask.map(|l| l.px) == Some(t.ask.px);
        let ask_qty = top.ask.map(|l| l.qty) == Some(t.ask.qty);
        r.mismatch_bid_px += u64::from(!bid_px);
        r.mismatch_bid_qty += u64::from(!bid_qty);
        r.mismatch_ask_px += u64::from(!ask_px);
        r.mismatch_ask_qty += u64::from(!ask_qty);
        if bid_px && bid_qty && ask_px && ask_qty {
            r.ticker_matched += 1;
        } else if r.mismatch_examples.len() < 5 {
            r.mismatch_examples.push(format!(
                "u={}: ticker bid {}@{} ask {}@{}, book bid {} ask {}",
                t.u,
                t.bid.px,
                t.bid.qty,
                t.ask.px,
                t.ask.qty,
                fmt_level(top.bid),
                fmt_level(top.ask)
            ));
        }
    }

    fn push_history(&mut self, e: Hist) {
        if self.history.len() >= self.opts.history {
            self.history.pop_front();
        }
        self.history.push_back(e);
        self.unchecked.push_back(e);
        self.check_events();
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            for t in pending {
                self.settle(t);
            }
        }
    }

    fn drop_history(&mut self) {
        self.history.clear();
        self.unchecked.clear();
        self.report.ticker_unresolved += self.pending.len() as u64;
        self.pending.clear();
    }

    /// End the replay and return the report.
    pub fn finish(self) -> ReplayReport {
        self.finish_with_book().0
    }

    /// End the replay; return the report and the final book (`None` if no message ever gave the
    /// precision). The book is only meaningful if `report.synced_at_end`.
    pub fn finish_with_book(mut self) -> (ReplayReport, Option<L2Book>) {
        self.report.ticker_unresolved += self.pending.len() as u64;
        self.pending.clear();
        if let Some(sync) = &self.sync {
            let book = sync.book();
            self.report.sync = sync.stats();
            self.report.synced_at_end = sync.is_synced();
            if sync.is_synced() {
                self.report.best_bid = book.best_bid();
                self.report.best_ask = book.best_ask();
            }
            self.report.bid_levels = book.len(BookSide::Bid);
            self.report.ask_levels = book.len(BookSide::Ask);
        }
        (self.report, self.sync.map(|s| s.into_book()))
    }
}

fn at_line(e: CoreError, source: &str, n: usize) -> CoreError {
    CoreError::InvalidArgument {
        name: "path",
        reason: format!("{source}:{n}: {e}"),
    }
}

/// Replay a whole recording held in memory (already decompressed).
pub fn replay_text(text: &str, opts: ReplayOptions) -> CoreResult<ReplayReport> {
    let t0 = Instant::now();
    let mut r = Replay::new(opts);
    for (i, line) in text.lines().enumerate() {
        r.feed_line(line).map_err(|e| at_line(e, "<text>", i + 1))?;
    }
    let mut rep = r.finish();
    rep.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(rep)
}

/// Open a recording, gunzipping it if it starts with the gzip magic bytes.
pub fn open_recording(path: &Path) -> CoreResult<Box<dyn BufRead + Send>> {
    let io = |e: std::io::Error| CoreError::InvalidArgument {
        name: "path",
        reason: format!("{}: {e}", path.display()),
    };
    let mut f = BufReader::with_capacity(1 << 16, std::fs::File::open(path).map_err(io)?);
    let gz = f.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(f)
    })
}

/// Hand `f` every line of `paths` in order (gzip or plain, one line buffer reused), until it
/// returns `Ok(false)` or the files end. Errors, read or `f`'s, name the file and line.
pub fn each_line<P: AsRef<Path>>(
    paths: &[P],
    mut f: impl FnMut(&str) -> CoreResult<bool>,
) -> CoreResult<()> {
    let mut line = String::with_capacity(1 << 16);
    for p in paths {
        let p = p.as_ref();
        let mut rd = open_recording(p)?;
        let source = p.display().to_string();
        let mut n = 0usize;
        loop {
            line.clear();
            let got = rd
                .read_line(&mut line)
                .map_err(|e| CoreError::InvalidArgument {
                    name: "path",
                    reason: format!("{source}:{}: {e}", n + 1),
                })?;
            if got == 0 {
                break;
            }
            n += 1;
            if !f(&line).map_err(|e| at_line(e, &source, n))? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Read a whole recording into memory (decompressed).
pub fn read_recording(path: &Path) -> CoreResult<String> {
    let mut s = String::new();
    open_recording(path)?
        .read_to_string(&mut s)
        .map_err(|e| CoreError::InvalidArgument {
            name: "path",
            reason: format!("{}: {e}", path.display()),
        })?;
    Ok(s)
}

/// Replay one or more recordings as one session, in order: the book carries over from a file
/// to the next (a recorder that rotates files at midnight continues the same update-id
/// sequence, so the second file is only replayable after the first).
pub fn replay_files<P: AsRef<Path>>(paths: &[P], opts: ReplayOptions) -> CoreResult<ReplayReport> {
    Ok(replay_files_with_book(paths, opts)?.0)
}

/// [`replay_files`], also returning the final book (see [`Replay::finish_with_book`]).
pub fn replay_files_with_book<P: AsRef<Path>>(
    paths: &[P],
    opts: ReplayOptions,
) -> CoreResult<(ReplayReport, Option<L2Book>)> {
    if paths.is_empty() {
        return Err(CoreError::InvalidArgument {
            name: "path",
            reason: "no recording given".into(),
        });
    }
    let t0 = Instant::now();
    let mut r = Replay::new(opts);
    each_line(paths, |line| r.feed_line(line).map(|_| true))?;
    let (mut rep, book) = r.finish_with_book();
    rep.elapsed_s = t0.elapsed().as_secs_f64();
    Ok((rep, book))
}

/// Decode every line of an in-memory recording, parsing every level to fixed point, without
/// touching a book (the decoding half of [`replay_text`]). Returns the number of depth-diff
/// levels (snapshot levels are decoded but not counted).
pub fn decode_only(text: &str, price_dp: u8, size_dp: u8) -> CoreResult<u64> {
    let mut n = 0u64;
    let mut acc = 0i64;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l = decode_line(line).map_err(|e| at_line(e, "<text>", i + 1))?;
        let mut lv = |raw| -> CoreResult<u64> {
            let mut k = 0;
            for x in levels(raw) {
                let (p, q) = x?;
                acc = acc.wrapping_add(
                    parse_fixed(p, price_dp, "price")? ^ parse_fixed(q, size_dp, "qty")?,
                );
                k += 1;
            }
            Ok(k)
        };
        match l.msg {
            WsMessage::Depth(d) => {
                n += lv(d.bids)? + lv(d.asks)?;
            }
            WsMessage::Snapshot(s) => {
                lv(s.bids)?;
                lv(s.asks)?;
            }
            WsMessage::BookTicker(t) => {
                for (s, dp) in [
                    (t.bid_px, price_dp),
                    (t.bid_qty, size_dp),
                    (t.ask_px, price_dp),
                    (t.ask_qty, size_dp),
                ] {
                    acc = acc.wrapping_add(parse_fixed(s, dp, "bookTicker")?);
                }
            }
            WsMessage::Trade(t) => {
                acc = acc.wrapping_add(
                    parse_fixed(t.px, price_dp, "trade")? ^ parse_fixed(t.qty, size_dp, "trade")?,
                );
            }
            WsMessage::Other { .. } => {}
        }
    }
    std::hint::black_box(acc);
    Ok(n)
}
