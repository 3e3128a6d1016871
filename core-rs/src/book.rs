//! L2 order book for one instrument, and the Binance diff-depth synchronisation state machine.
//!
//! Prices and quantities are fixed-point `i64` counts of `10^-dp` (the instrument's precision),
//! never floats. A level update carries the *absolute* quantity at a price; quantity 0 deletes
//! the level (deleting a level that is not in the book is normal and does nothing).
//!
//! Each side is a [`Ladder`], an ordered map price key -> quantity (O(log n) update, best level
//! last). Bids are keyed by price, asks by `-price`, so both sides are "ascending, best last".
//! NB: a `BTreeMap` beat a sorted `Vec` (binary search + insert/remove, best level at the end so
//! top-of-book changes move little) on the real stream: `benches/book.rs`, group `book_apply`,
//! usdm BTCUSDT (443k deltas, books grow to ~5,000 levels a side), two runs: BTreeMap
//! 14.9-16.5 M deltas/s, sorted SoA vectors 12.6-13.2 M deltas/s. The futures diff stream touches levels all over the book
//! (far levels appear and vanish), so the vector's memmoves dominate its faster search.
//!
//! [`BookSync`] wraps a book with Binance's documented procedure for a local order book:
//! buffer the diff stream, take a REST snapshot, drop stale diffs, check that the first applied
//! diff straddles the snapshot, then check continuity of every later diff (`pu` for futures,
//! `U == previous u + 1` for spot). A break puts the book [`SyncState::OutOfSync`] until a new
//! snapshot arrives.

use std::collections::{BTreeMap, VecDeque};

use crate::error::{CoreError, CoreResult};

/// Which side of the book a level is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BookSide {
    Bid,
    Ask,
}

/// One price level: fixed-point price and quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Level {
    pub px: i64,
    pub qty: i64,
}

/// One level update: set the quantity at `px` on `side` (0 deletes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Delta {
    pub side: BookSide,
    pub px: i64,
    pub qty: i64,
}

/// One side of a book: keys ascending with the best level last (see the module docs).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Ladder {
    levels: BTreeMap<i64, i64>,
}

impl Ladder {
    /// Set the quantity at `key` (0 removes it). Returns `true` if the ladder changed.
    #[inline]
    pub fn set(&mut self, key: i64, qty: i64) -> bool {
        if qty == 0 {
            self.levels.remove(&key).is_some()
        } else {
            self.levels.insert(key, qty) != Some(qty)
        }
    }

    /// The best (last) `(key, qty)`.
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        self.levels.last_key_value().map(|(&k, &q)| (k, q))
    }

    /// Quantity at `key`, if the level exists.
    pub fn get(&self, key: i64) -> Option<i64> {
        self.levels.get(&key).copied()
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Levels from the best outwards, as `(key, qty)`.
    pub fn iter_best_first(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.levels.iter().rev().map(|(&k, &q)| (k, q))
    }
}

/// An L2 book for one instrument at fixed precisions.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct L2Book {
    bids: Ladder,
    /// Keyed by `-price` (best ask = highest key = last).
    asks: Ladder,
    price_dp: u8,
    size_dp: u8,
}

impl L2Book {
    /// An empty book whose raw prices count `10^-price_dp` and quantities `10^-size_dp`.
    pub fn new(price_dp: u8, size_dp: u8) -> CoreResult<Self> {
        for (name, dp) in [("price_precision", price_dp), ("size_precision", size_dp)] {
            if dp > crate::model::fixed::MAX_DP {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: format!("must be at most {}, got {dp}", crate::model::fixed::MAX_DP),
                });
            }
        }
        Ok(Self {
            bids: Ladder::default(),
            asks: Ladder::default(),
            price_dp,
            size_dp,
        })
    }

    pub fn price_dp(&self) -> u8 {
        self.price_dp
    }

    pub fn size_dp(&self) -> u8 {
        self.size_dp
    }

    /// Set the absolute quantity at `px` on `side`; `qty == 0` deletes the level.
    /// A negative quantity, or the one price that cannot be negated (`i64::MIN`), is an error.
    #[inline]
    pub fn apply_delta(&mut self, side: BookSide, px: i64, qty: i64) -> CoreResult<()> {
        if qty < 0 {
            return Err(CoreError::InvalidArgument {
                name: "qty",
                reason: format!("must be >= 0, got {qty}"),
            });
        }
        if px == i64::MIN {
            return Err(CoreError::InvalidArgument {
                name: "px",
                reason: "out of range".into(),
            });
        }
        match side {
            BookSide::Bid => self.bids.set(px, qty),
            BookSide::Ask => self.asks.set(-px, qty),
        };
        Ok(())
    }

    /// Apply a batch of deltas in order. Validates the whole batch first, so an error leaves the
    /// book untouched.
    pub fn apply_all(&mut self, deltas: &[Delta]) -> CoreResult<()> {
        if let Some(d) = deltas.iter().find(|d| d.qty < 0 || d.px == i64::MIN) {
            return self.apply_delta(d.side, d.px, d.qty); // reports the error
        }
        for d in deltas {
            match d.side {
                BookSide::Bid => self.bids.set(d.px, d.qty),
                BookSide::Ask => self.asks.set(-d.px, d.qty),
            };
        }
        Ok(())
    }

    #[inline]
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best().map(|(px, qty)| Level { px, qty })
    }

    #[inline]
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best().map(|(k, qty)| Level { px: -k, qty })
    }

    /// Quantity resting at `px` on `side`.
    pub fn qty_at(&self, side: BookSide, px: i64) -> Option<i64> {
        match side {
            BookSide::Bid => self.bids.get(px),
            BookSide::Ask => self.asks.get(px.checked_neg()?),
        }
    }

    /// The best `n` levels of `side`, best first.
    pub fn depth(&self, side: BookSide, n: usize) -> Vec<Level> {
        match side {
            BookSide::Bid => self
                .bids
                .iter_best_first()
                .take(n)
                .map(|(px, qty)| Level { px, qty })
                .collect(),
            BookSide::Ask => self
                .asks
                .iter_best_first()
                .take(n)
                .map(|(k, qty)| Level { px: -k, qty })
                .collect(),
        }
    }

    /// `(bids, asks)`, the best `n` levels of each side, best first.
    pub fn snapshot(&self, n: usize) -> (Vec<Level>, Vec<Level>) {
        (self.depth(BookSide::Bid, n), self.depth(BookSide::Ask, n))
    }

    /// Number of levels on `side`.
    pub fn len(&self, side: BookSide) -> usize {
        match side {
            BookSide::Bid => self.bids.len(),
            BookSide::Ask => self.asks.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Best bid >= best ask. An exchange book never rests crossed, so after a whole diff event
    /// this means the local book is wrong; inside an event it can happen transiently.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.px >= a.px)
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Walk `side` from its best level outwards, as a taker of up to `qty` would (a buy takes the
    /// asks), never past `limit` (a buy: prices `<= limit`; a sell: `>= limit`; `None`: no
    /// limit). Each level taken is pushed to `out` as `(px, qty taken)`; returns the total taken
    /// (less than `qty` when the side runs out or the limit stops the walk). The book itself is
    /// not changed: the recorded book is the market's, and the next diff restores its state.
    pub fn walk(&self, side: BookSide, limit: Option<i64>, qty: i64, out: &mut Vec<Level>) -> i64 {
        let mut left = qty.max(0);
        let take = |px: i64, lvl: i64, left: &mut i64, out: &mut Vec<Level>| {
            let q = lvl.min(*left);
            out.push(Level { px, qty: q });
            *left -= q;
        };
        match side {
            BookSide::Ask => {
                for (k, q) in self.asks.iter_best_first() {
                    let px = -k;
                    if left == 0 || limit.is_some_and(|l| px > l) {
                        break;
                    }
                    take(px, q, &mut left, out);
                }
            }
            BookSide::Bid => {
                for (px, q) in self.bids.iter_best_first() {
                    if left == 0 || limit.is_some_and(|l| px < l) {
                        break;
                    }
                    take(px, q, &mut left, out);
                }
            }
        }
        qty.max(0) - left
    }

    /// How much of up to `max` a taker could take from `side` without passing `limit` (the
    /// fill-or-kill check; see [`walk`](Self::walk)).
    pub fn available(&self, side: BookSide, limit: Option<i64>, max: i64) -> i64 {
        let mut n = 0i64;
        let within = |px: i64| match (side, limit) {
            (_, None) => true,
            (BookSide::Ask, Some(l)) => px <= l,
            (BookSide::Bid, Some(l)) => px >= l,
        };
        let iter: Box<dyn Iterator<Item = (i64, i64)>> = match side {
            BookSide::Ask => Box::new(self.asks.iter_best_first().map(|(k, q)| (-k, q))),
            BookSide::Bid => Box::new(self.bids.iter_best_first()),
        };
        for (px, q) in iter {
            if n >= max || !within(px) {
                break;
            }
            n = n.saturating_add(q);
        }
        n.min(max)
    }
}

/// Which Binance market a diff stream comes from: the sync rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MarketKind {
    /// Spot `depth@100ms`: `U`, `u`; continuity is `U == previous u + 1`.
    Spot,
    /// USD-M futures `depth@0ms`/`@100ms`: `U`, `u`, `pu`; continuity is `pu == previous u`.
    UsdM,
    /// Coin-M futures: same rules as USD-M.
    CoinM,
}

impl MarketKind {
    pub fn parse(name: &str) -> CoreResult<Self> {
        match name.to_ascii_lowercase().as_str() {
            "spot" => Ok(Self::Spot),
            "usdm" | "usd-m" | "um" | "futures" => Ok(Self::UsdM),
            "cm" | "coinm" | "coin-m" => Ok(Self::CoinM),
            _ => Err(CoreError::InvalidArgument {
                name: "market",
                reason: format!("expected one of 'usdm', 'spot', 'cm', got {name:?}"),
            }),
        }
    }

    pub fn is_futures(self) -> bool {
        !matches!(self, Self::Spot)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Spot => "spot",
            Self::UsdM => "usdm",
            Self::CoinM => "cm",
        }
    }
}

/// A futures diff without `pu`: the recording is most likely spot (whose diffs carry none).
fn missing_pu(kind: MarketKind, first: u64, last: u64) -> CoreError {
    CoreError::InvalidArgument {
        name: "pu",
        reason: format!(
            "a {} diff must carry `pu` (event U={first} u={last}); spot diffs have none: is this a \
             spot recording? Use market spot (--market spot), or leave the market to be detected",
            kind.name()
        ),
    }
}

/// Update ids of one diff event: `U` (first), `u` (final), `pu` (futures: previous event's `u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiffIds {
    pub first: u64,
    pub last: u64,
    pub prev: Option<u64>,
}

/// Where the state machine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SyncState {
    /// No snapshot yet: diffs are buffered.
    AwaitingSnapshot,
    /// Snapshot loaded (`lastUpdateId` given), no diff applied yet: waiting for the diff that
    /// straddles it.
    AwaitingFirst { snapshot_id: u64 },
    /// The book mirrors the exchange's up to update id `last_update_id`.
    Synced { last_update_id: u64 },
    /// Continuity broke (or a snapshot could not be aligned): diffs are buffered again and the
    /// caller must feed a new snapshot.
    OutOfSync,
}

/// What happened to one diff event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    Applied,
    /// Older than the book (`u` at or before the snapshot / last applied id): dropped.
    Stale,
    /// Kept for when a snapshot arrives.
    Buffered,
    /// Continuity broke: the book is now `OutOfSync`.
    Gap,
}

/// Counters of a [`BookSync`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncStats {
    /// Diff events applied to the book.
    pub applied: u64,
    /// Level updates (deltas) applied to the book.
    pub deltas_applied: u64,
    /// Diff events dropped as older than the book.
    pub dropped_stale: u64,
    /// Continuity breaks seen in the diff stream (while synced or while buffering).
    pub gaps: u64,
    /// Times the book lost sync: a gap while synced, or a snapshot the stream could not be
    /// aligned with. Each means the caller had to fetch a new snapshot.
    pub sync_errors: u64,
    /// Snapshots that brought the book into sync.
    pub syncs: u64,
    /// Syncs after a lost sync (`syncs` minus the first).
    pub resyncs: u64,
    /// Snapshots fed while already synced (ignored: the live book is newer or equal).
    pub snapshots_ignored: u64,
    /// Buffered diffs discarded because the buffer was full.
    pub buffer_overflows: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Buffered {
    ids: DiffIds,
    deltas: Vec<Delta>,
}

/// An [`L2Book`] kept in sync with a Binance diff-depth stream (see the module docs).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BookSync {
    kind: MarketKind,
    book: L2Book,
    state: SyncState,
    buffer: VecDeque<Buffered>,
    max_buffer: usize,
    ever_synced: bool,
    stats: SyncStats,
}

impl BookSync {
    /// Default bound of the diff buffer (events) kept while waiting for a snapshot.
    pub const DEFAULT_MAX_BUFFER: usize = 100_000;

    pub fn new(kind: MarketKind, price_dp: u8, size_dp: u8) -> CoreResult<Self> {
        Ok(Self {
            kind,
            book: L2Book::new(price_dp, size_dp)?,
            state: SyncState::AwaitingSnapshot,
            buffer: VecDeque::new(),
            max_buffer: Self::DEFAULT_MAX_BUFFER,
            ever_synced: false,
            stats: SyncStats::default(),
        })
    }

    /// Bound the number of buffered diff events (oldest dropped first). At least 1.
    pub fn with_max_buffer(mut self, n: usize) -> Self {
        self.max_buffer = n.max(1);
        self
    }

    pub fn kind(&self) -> MarketKind {
        self.kind
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    pub fn is_synced(&self) -> bool {
        matches!(self.state, SyncState::Synced { .. })
    }

    /// The book. Only meaningful while [`is_synced`](Self::is_synced).
    pub fn book(&self) -> &L2Book {
        &self.book
    }

    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// The book, taken out of the machine.
    pub fn into_book(self) -> L2Book {
        self.book
    }

    /// Number of diff events waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Does the event `next` continue the event whose final id is `last`?
    fn continues(&self, last: u64, next: &DiffIds) -> CoreResult<bool> {
        if self.kind.is_futures() {
            match next.prev {
                Some(pu) => Ok(pu == last),
                None => Err(missing_pu(self.kind, next.first, next.last)),
            }
        } else {
            Ok(last.checked_add(1) == Some(next.first))
        }
    }

    /// Is `ids` older than a book at `snapshot_id` (Binance step "drop any event where ...")?
    fn stale_vs_snapshot(&self, snapshot_id: u64, ids: &DiffIds) -> bool {
        if self.kind.is_futures() {
            ids.last < snapshot_id
        } else {
            ids.last <= snapshot_id
        }
    }

    /// Does the first applied event straddle the snapshot?
    fn straddles(&self, snapshot_id: u64, ids: &DiffIds) -> bool {
        if self.kind.is_futures() {
            ids.first <= snapshot_id && snapshot_id <= ids.last
        } else {
            let next = snapshot_id.saturating_add(1);
            ids.first <= next && next <= ids.last
        }
    }

    fn check_ids(&self, ids: &DiffIds) -> CoreResult<()> {
        if self.kind.is_futures() && ids.prev.is_none() {
            return Err(missing_pu(self.kind, ids.first, ids.last));
        }
        if ids.first > ids.last {
            return Err(CoreError::InvalidArgument {
                name: "U",
                reason: format!(
                    "first update id {} is after the final id u={}",
                    ids.first, ids.last
                ),
            });
        }
        Ok(())
    }

    fn apply(&mut self, ids: &DiffIds, deltas: &[Delta]) -> CoreResult<()> {
        self.book.apply_all(deltas)?;
        self.stats.applied += 1;
        self.stats.deltas_applied += deltas.len() as u64;
        self.state = SyncState::Synced {
            last_update_id: ids.last,
        };
        Ok(())
    }

    fn mark_synced(&mut self) {
        self.stats.syncs += 1;
        if self.ever_synced {
            self.stats.resyncs += 1;
        }
        self.ever_synced = true;
    }

    fn lose_sync(&mut self) {
        self.stats.sync_errors += 1;
        self.state = SyncState::OutOfSync;
        self.buffer.clear();
    }

    fn push_buffer(&mut self, ids: DiffIds, deltas: &[Delta]) -> CoreResult<()> {
        if let Some(back) = self.buffer.back()
            && !self.continues(back.ids.last, &ids)?
        {
            // Nothing before the break can ever be part of a synced sequence.
            self.stats.gaps += 1;
            self.buffer.clear();
        }
        if self.buffer.len() >= self.max_buffer {
            self.buffer.pop_front();
            self.stats.buffer_overflows += 1;
        }
        self.buffer.push_back(Buffered {
            ids,
            deltas: deltas.to_vec(),
        });
        Ok(())
    }

    /// Feed one diff event (its level updates in message order: bids then asks).
    /// Errors only for malformed input (negative quantity, `U > u`, a futures diff without `pu`);
    /// sync problems are reported through the outcome and the counters.
    pub fn on_diff(&mut self, ids: DiffIds, deltas: &[Delta]) -> CoreResult<DiffOutcome> {
        self.check_ids(&ids)?;
        match self.state {
            SyncState::Synced { last_update_id } => {
                if self.continues(last_update_id, &ids)? {
                    self.apply(&ids, deltas)?;
                    Ok(DiffOutcome::Applied)
                } else if ids.last <= last_update_id {
                    self.stats.dropped_stale += 1;
                    Ok(DiffOutcome::Stale)
                } else {
                    self.stats.gaps += 1;
                    self.lose_sync();
                    self.push_buffer(ids, deltas)?;
                    Ok(DiffOutcome::Gap)
                }
            }
            SyncState::AwaitingFirst { snapshot_id } => {
                if self.stale_vs_snapshot(snapshot_id, &ids) {
                    self.stats.dropped_stale += 1;
                    Ok(DiffOutcome::Stale)
                } else if self.straddles(snapshot_id, &ids) {
                    self.apply(&ids, deltas)?;
                    self.mark_synced();
                    Ok(DiffOutcome::Applied)
                } else {
                    // The stream is already past the snapshot: updates between them are lost.
                    self.stats.gaps += 1;
                    self.lose_sync();
                    self.push_buffer(ids, deltas)?;
                    Ok(DiffOutcome::Gap)
                }
            }
            SyncState::AwaitingSnapshot | SyncState::OutOfSync => {
                self.push_buffer(ids, deltas)?;
                Ok(DiffOutcome::Buffered)
            }
        }
    }

    /// Feed a REST depth snapshot. While synced, one no newer than the book is ignored (and
    /// counted); a newer one means the feed resynced (a live data client that saw a gap, or a
    /// reconnect, fetches one and sends the diffs that continue it): the book starts again from
    /// it (counted as a resync). Otherwise the book is replaced by the snapshot and the buffered
    /// diffs are replayed by Binance's rules: stale ones dropped, the first kept one must
    /// straddle `last_update_id`, the rest are continuous by construction of the buffer.
    pub fn on_snapshot(
        &mut self,
        last_update_id: u64,
        bids: &[Level],
        asks: &[Level],
    ) -> CoreResult<SyncState> {
        if let SyncState::Synced {
            last_update_id: have,
        } = self.state
        {
            if last_update_id <= have {
                self.stats.snapshots_ignored += 1;
                return Ok(self.state);
            }
            self.stats.resyncs += 1;
            self.state = SyncState::OutOfSync;
        }
        let mut book = L2Book::new(self.book.price_dp, self.book.size_dp)?;
        for l in bids {
            book.apply_delta(BookSide::Bid, l.px, l.qty)?;
        }
        for l in asks {
            book.apply_delta(BookSide::Ask, l.px, l.qty)?;
        }
        self.book = book;
        self.state = SyncState::AwaitingFirst {
            snapshot_id: last_update_id,
        };
        let buffered = std::mem::take(&mut self.buffer);
        let mut replayed = buffered.into_iter();
        for b in replayed.by_ref() {
            match self.on_diff(b.ids, &b.deltas)? {
                DiffOutcome::Gap => {
                    // Snapshot older than the buffered stream: keep what follows for the next one.
                    break;
                }
                DiffOutcome::Applied | DiffOutcome::Stale | DiffOutcome::Buffered => {}
            }
        }
        for b in replayed {
            self.push_buffer(b.ids, &b.deltas)?;
        }
        Ok(self.state)
    }
}
