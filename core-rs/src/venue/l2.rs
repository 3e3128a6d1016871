//! Matching against an L2 book (and against top-of-book quotes, a one-level book).
//!
//! This module decides *what* fills: which order, at which price, how much, as maker or taker.
//! The order's lifecycle (status, events, OCO/OTO/bracket consequences) is not kept here: the
//! caller hands every [`MatchFill`] and every [`Arrival`] outcome to the one order manager.
//!
//! ## What the model assumes
//! - The book rebuilt from the recorded depth stream is the visible liquidity, and our orders do
//!   not change it: a taker fill does not remove the levels it took (the next diff shows the
//!   exchange's real state; the market impact of our own orders is not modelled).
//! - **Taking** (a market order, or the marketable part of a limit): walk the opposite side from
//!   its best level, level by level, never past the limit; each level is one fill (Taker), so the
//!   order's average price is the VWAP of what it took. If the side runs out (or the limit stops
//!   the walk) the rest follows the time in force: IOC cancels it, FOK takes nothing unless the
//!   whole quantity is available on arrival, a GTC/GTD/DAY limit rests at its price, a GTC market
//!   order's rest is canceled on an L2 book (the visible book ran out; retaking the same unchanged
//!   levels later would count them twice) and keeps taking at the next quotes in quote mode
//!   (only when the side it takes from changed). A post-only limit that would take is rejected.
//! - **Resting** (a limit at its price): a queue position per order (see [`super::queue`]). A
//!   trade at our price consumes the queue ahead, then fills us (Maker, at our price). A trade
//!   *through* our price (a buyer at a price above our sell, a seller below our buy) means the
//!   market swept our level: the whole leaves fill at our price. When the opposite side of the
//!   book crosses our price (a diff or quote puts the best ask at or below our buy), the whole
//!   leaves fill at our price (Maker): the market came to us.
//! - Several of our orders at one price each keep their own position; one trade print is not
//!   handed out twice at a price (what one order took is not available to the next).
//! - **Quotes** (tick data): a quote becomes a book of one level a side
//!   ([`L2Matcher::set_top`]); the same rules then give "market orders fill at the touch with the
//!   quoted size, limits fill when a trade prints through or the opposite quote crosses them".

use crate::book::{BookSide, L2Book, Level};
use crate::model::AggressorSide;
use crate::model::order::{Liquidity, OrderId, Reason, Side, TimeInForce};

use super::queue::{QueueModel, QueuePos};

/// One fill decided by the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchFill {
    pub id: OrderId,
    pub px: i64,
    pub qty: i64,
    pub liquidity: Liquidity,
}

/// What to do with an arriving order after its marketable part was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The whole quantity filled.
    Filled,
    /// The rest rests on the book (a limit; its queue position is kept by the matcher).
    Resting,
    /// The rest keeps taking on later book updates (a GTC market order).
    Taking,
    /// The rest (or all of it) is canceled for this reason (IOC remainder, FOK, no liquidity).
    Cancel(Reason),
    /// The order is rejected without any fill (post-only that would take).
    Reject(Reason),
}

/// The matcher's own record of an order it is working.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Working {
    pub id: OrderId,
    pub side: Side,
    /// Limit price; `None` for a market order still taking.
    pub px: Option<i64>,
    pub leaves: i64,
    pub queue: QueuePos,
}

/// The book side a taker of `side` takes from, and the side its resting orders sit on.
#[inline]
fn opposite(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Ask,
        Side::Sell => BookSide::Bid,
    }
}

#[inline]
fn own(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Bid,
        Side::Sell => BookSide::Ask,
    }
}

/// Does a limit at `px` on `side` cross the book (would it take)?
#[inline]
pub fn crosses(book: &L2Book, side: Side, px: i64) -> bool {
    match side {
        Side::Buy => book.best_ask().is_some_and(|a| a.px <= px),
        Side::Sell => book.best_bid().is_some_and(|b| b.px >= px),
    }
}

/// The L2 (and quote) matcher: the queue state of our working orders. The book is the
/// caller's (e.g. the one [`crate::book::BookSync`] keeps), passed to each call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct L2Matcher {
    model: QueueModel,
    working: Vec<Working>,
    #[serde(skip)]
    scratch: Vec<Level>,
    /// (price, quantity already handed out) of the trade print being distributed (empty
    /// between events: not in a checkpoint).
    #[serde(skip)]
    used: Vec<(i64, i64)>,
    /// Quote mode (set by [`set_top`](Self::set_top)): market rests keep taking.
    quote_mode: bool,
    /// In quote mode: did the bid / ask side change at the last quote?
    side_changed: [bool; 2],
}

impl L2Matcher {
    pub fn new(model: QueueModel) -> Self {
        Self {
            model,
            working: Vec::new(),
            scratch: Vec::with_capacity(16),
            used: Vec::new(),
            quote_mode: false,
            side_changed: [false; 2],
        }
    }

    pub fn model(&self) -> QueueModel {
        self.model
    }

    /// Orders the matcher is working (resting limits and taking markets).
    pub fn working(&self) -> &[Working] {
        &self.working
    }

    pub fn get(&self, id: OrderId) -> Option<&Working> {
        self.working.iter().find(|w| w.id == id)
    }

    /// Is any order resting or taking?
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.working.is_empty()
    }

    /// Replace the book by one level a side (a top-of-book quote). A side with a zero or
    /// missing quantity is empty. Queue positions at the quoted prices follow the new sizes.
    pub fn set_top(&mut self, book: &mut L2Book, bid: Option<Level>, ask: Option<Level>) {
        self.quote_mode = true;
        let norm = |l: Option<Level>| l.filter(|l| l.qty > 0);
        self.side_changed = [norm(bid) != book.best_bid(), norm(ask) != book.best_ask()];
        book.clear();
        for (side, l) in [(BookSide::Bid, bid), (BookSide::Ask, ask)] {
            if let Some(l) = l
                && l.qty > 0
            {
                // A quote's price is never i64::MIN and its size is > 0: cannot fail.
                let _ = book.apply_delta(side, l.px, l.qty);
            }
        }
        if !self.working.is_empty() {
            let model = self.model;
            for w in &mut self.working {
                if let Some(px) = w.px {
                    let q = book.qty_at(own(w.side), px).unwrap_or(0);
                    if q != w.queue.level_qty {
                        w.queue.on_level(model, q);
                    }
                }
            }
        }
    }

    /// An order arrives with `leaves` to trade: `px` its limit (`None`: market). Takes what it
    /// can now (fills pushed to `out`) and says what happens to the rest; a resting or taking
    /// rest is kept by the matcher under `id`.
    #[allow(clippy::too_many_arguments)] // reason: one flat call per arrival on the hot path
    pub fn arrive(
        &mut self,
        book: &L2Book,
        id: OrderId,
        side: Side,
        px: Option<i64>,
        leaves: i64,
        tif: TimeInForce,
        post_only: bool,
        out: &mut Vec<MatchFill>,
    ) -> Arrival {
        if leaves <= 0 {
            return Arrival::Filled;
        }
        let marketable = match px {
            None => true,
            Some(p) => crosses(book, side, p),
        };
        if post_only && marketable {
            return Arrival::Reject(Reason::PostOnlyWouldTake);
        }
        let take_side = opposite(side);
        if tif == TimeInForce::Fok && book.available(take_side, px, leaves) < leaves {
            return Arrival::Cancel(Reason::FokCannotFill);
        }
        let mut filled = 0;
        if marketable {
            self.scratch.clear();
            filled = book.walk(take_side, px, leaves, &mut self.scratch);
            out.extend(self.scratch.iter().map(|l| MatchFill {
                id,
                px: l.px,
                qty: l.qty,
                liquidity: Liquidity::Taker,
            }));
        }
        let rest = leaves - filled;
        if rest == 0 {
            return Arrival::Filled;
        }
        match (px, tif) {
            (_, TimeInForce::Ioc | TimeInForce::Fok) => {
                Arrival::Cancel(if filled == 0 && px.is_none() {
                    Reason::NoLiquidity
                } else {
                    Reason::IocRemainder
                })
            }
            (None, _) if !self.quote_mode => Arrival::Cancel(if filled == 0 {
                Reason::NoLiquidity
            } else {
                Reason::IocRemainder
            }),
            (None, _) => {
                self.working.push(Working {
                    id,
                    side,
                    px: None,
                    leaves: rest,
                    queue: QueuePos::default(),
                });
                Arrival::Taking
            }
            (Some(p), _) => {
                let level = book.qty_at(own(side), p).unwrap_or(0);
                self.working.push(Working {
                    id,
                    side,
                    px: Some(p),
                    leaves: rest,
                    queue: QueuePos::join(level),
                });
                Arrival::Resting
            }
        }
    }

    /// Stop working `id` (canceled, expired, or closed by the order manager). Returns whether it
    /// was working.
    pub fn remove(&mut self, id: OrderId) -> bool {
        match self.working.iter().position(|w| w.id == id) {
            Some(i) => {
                self.working.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// The order manager changed an order's quantity to `leaves` (e.g. an OCO sibling shrunk);
    /// 0 removes it. The queue position is kept.
    pub fn set_leaves(&mut self, id: OrderId, leaves: i64) {
        if leaves <= 0 {
            self.remove(id);
        } else if let Some(w) = self.working.iter_mut().find(|w| w.id == id) {
            w.leaves = leaves;
        }
    }

    fn record(
        &mut self,
        i: usize,
        px: i64,
        qty: i64,
        liquidity: Liquidity,
        out: &mut Vec<MatchFill>,
    ) {
        let w = &mut self.working[i];
        w.leaves -= qty;
        out.push(MatchFill {
            id: w.id,
            px,
            qty,
            liquidity,
        });
    }

    fn drop_filled(&mut self) {
        self.working.retain(|w| w.leaves > 0);
    }

    /// A trade printed at `px` for `qty`, `aggressor` the side that took. Resting orders it
    /// reaches fill (Maker, at their own price).
    pub fn on_trade(
        &mut self,
        px: i64,
        qty: i64,
        aggressor: AggressorSide,
        out: &mut Vec<MatchFill>,
    ) {
        if self.working.is_empty() || qty <= 0 {
            return;
        }
        self.used.clear();
        let mut any = false;
        for i in 0..self.working.len() {
            let w = self.working[i];
            let Some(lp) = w.px else { continue };
            // Which of our sides this print can reach: a buyer lifts asks (our sells), a seller
            // hits bids (our buys); an unknown aggressor only counts at our exact price.
            let (hit, through) = match (w.side, aggressor) {
                (Side::Sell, AggressorSide::Buyer) => (px >= lp, px > lp),
                (Side::Buy, AggressorSide::Seller) => (px <= lp, px < lp),
                (_, AggressorSide::NoAggressor) => (px == lp, false),
                _ => (false, false),
            };
            if !hit {
                continue;
            }
            let q = if through {
                w.leaves
            } else {
                let reach = self.working[i].queue.on_trade(qty);
                let used = match self.used.iter_mut().find(|(p, _)| *p == lp) {
                    Some(u) => u,
                    None => {
                        self.used.push((lp, 0));
                        self.used.last_mut().expect("just pushed")
                    }
                };
                let q = reach.min(qty - used.1).min(w.leaves).max(0);
                used.1 += q;
                q
            };
            if q > 0 {
                self.record(i, lp, q, Liquidity::Maker, out);
                any = true;
            }
        }
        if any {
            self.drop_filled();
        }
    }

    /// The visible quantity at (`side`, `px`) became `qty` (after the book was updated): move
    /// the queue positions of our orders resting there.
    #[inline]
    pub fn on_level(&mut self, side: BookSide, px: i64, qty: i64) {
        let model = self.model;
        for w in &mut self.working {
            if w.px == Some(px) && own(w.side) == side {
                w.queue.on_level(model, qty);
            }
        }
    }

    /// After a book event: resting limits the opposite side now crosses fill in full at their
    /// price (Maker); market orders still taking walk the book (Taker).
    pub fn sweep_crossed(&mut self, book: &L2Book, out: &mut Vec<MatchFill>) {
        if self.working.is_empty() {
            return;
        }
        let (bid, ask) = (book.best_bid(), book.best_ask());
        let mut any = false;
        for i in 0..self.working.len() {
            let w = self.working[i];
            match w.px {
                Some(p) => {
                    let crossed = match w.side {
                        Side::Buy => ask.is_some_and(|a| a.px <= p),
                        Side::Sell => bid.is_some_and(|b| b.px >= p),
                    };
                    if crossed {
                        self.record(i, p, w.leaves, Liquidity::Maker, out);
                        any = true;
                    }
                }
                None => {
                    let side_ix = match opposite(w.side) {
                        BookSide::Bid => 0,
                        BookSide::Ask => 1,
                    };
                    if !self.side_changed[side_ix] {
                        continue;
                    }
                    self.scratch.clear();
                    let got = book.walk(opposite(w.side), None, w.leaves, &mut self.scratch);
                    if got > 0 {
                        for k in 0..self.scratch.len() {
                            let l = self.scratch[k];
                            self.record(i, l.px, l.qty, Liquidity::Taker, out);
                        }
                        any = true;
                    }
                }
            }
        }
        if any {
            self.drop_filled();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> L2Book {
        let mut b = L2Book::new(1, 0).unwrap();
        for &(p, q) in bids {
            b.apply_delta(BookSide::Bid, p, q).unwrap();
        }
        for &(p, q) in asks {
            b.apply_delta(BookSide::Ask, p, q).unwrap();
        }
        b
    }

    fn mk(b: L2Book, model: QueueModel) -> (L2Book, L2Matcher) {
        (b, L2Matcher::new(model))
    }

    fn fills(v: &[MatchFill]) -> Vec<(i64, i64, Liquidity)> {
        v.iter().map(|f| (f.px, f.qty, f.liquidity)).collect()
    }

    use Liquidity::{Maker, Taker};

    #[test]
    fn market_walks_three_levels() {
        let (bk, mut m) = mk(
            book(&[(99, 5)], &[(100, 2), (101, 3), (102, 4), (103, 9)]),
            QueueModel::RiskAverse,
        );
        let mut out = vec![];
        let a = m.arrive(
            &bk,
            1,
            Side::Buy,
            None,
            8,
            TimeInForce::Gtc,
            false,
            &mut out,
        );
        assert_eq!(a, Arrival::Filled);
        assert_eq!(
            fills(&out),
            vec![(100, 2, Taker), (101, 3, Taker), (102, 3, Taker)]
        );
        // VWAP = (200 + 303 + 306) / 8
        let vwap = out.iter().map(|f| f.px * f.qty).sum::<i64>() as f64 / 8.0;
        assert_eq!(vwap, 809.0 / 8.0);
        assert!(m.is_idle());
    }

    #[test]
    fn exhausted_side_rest_per_tif() {
        let b = book(&[(98, 1), (99, 2)], &[(101, 1)]);
        let mut out = vec![];
        // IOC sell market: 3 of 5 fill, rest canceled.
        let (bk, mut m) = mk(b.clone(), QueueModel::RiskAverse);
        let a = m.arrive(
            &bk,
            1,
            Side::Sell,
            None,
            5,
            TimeInForce::Ioc,
            false,
            &mut out,
        );
        assert_eq!(a, Arrival::Cancel(Reason::IocRemainder));
        assert_eq!(fills(&out), vec![(99, 2, Taker), (98, 1, Taker)]);
        // GTC market on an L2 book: the book ran out, the rest is canceled.
        out.clear();
        let a = m.arrive(
            &bk,
            2,
            Side::Sell,
            None,
            5,
            TimeInForce::Gtc,
            false,
            &mut out,
        );
        assert_eq!(a, Arrival::Cancel(Reason::IocRemainder));
        assert!(m.is_idle());
        // In quote mode the rest keeps taking at the next quotes that change the side it takes.
        let (mut qb, mut q) = mk(L2Book::new(1, 0).unwrap(), QueueModel::RiskAverse);
        q.set_top(
            &mut qb,
            Some(Level { px: 99, qty: 2 }),
            Some(Level { px: 101, qty: 1 }),
        );
        out.clear();
        assert_eq!(
            q.arrive(
                &qb,
                5,
                Side::Sell,
                None,
                5,
                TimeInForce::Gtc,
                false,
                &mut out
            ),
            Arrival::Taking
        );
        q.set_top(
            &mut qb,
            Some(Level { px: 99, qty: 2 }),
            Some(Level { px: 100, qty: 1 }),
        ); // bid unchanged
        q.sweep_crossed(&qb, &mut out);
        assert_eq!(fills(&out), vec![(99, 2, Taker)]);
        q.set_top(
            &mut qb,
            Some(Level { px: 98, qty: 4 }),
            Some(Level { px: 100, qty: 1 }),
        );
        q.sweep_crossed(&qb, &mut out);
        assert_eq!(fills(&out), vec![(99, 2, Taker), (98, 3, Taker)]);
        assert!(q.is_idle());
        // Market into an empty side, IOC: nothing, NoLiquidity.
        let (bk, mut m) = mk(book(&[], &[(101, 1)]), QueueModel::RiskAverse);
        out.clear();
        let a = m.arrive(
            &bk,
            3,
            Side::Sell,
            None,
            1,
            TimeInForce::Ioc,
            false,
            &mut out,
        );
        assert_eq!((a, out.len()), (Arrival::Cancel(Reason::NoLiquidity), 0));
        // Limit GTC takes what crosses, rests the rest at its price.
        let (bk, mut m) = mk(b, QueueModel::RiskAverse);
        out.clear();
        let a = m.arrive(
            &bk,
            4,
            Side::Buy,
            Some(101),
            3,
            TimeInForce::Gtc,
            false,
            &mut out,
        );
        assert_eq!(a, Arrival::Resting);
        assert_eq!(fills(&out), vec![(101, 1, Taker)]);
        assert_eq!(m.get(4).map(|w| (w.leaves, w.px)), Some((2, Some(101))));
    }

    #[test]
    fn fok_and_ioc_on_thin_book() {
        let b = book(&[(99, 1)], &[(100, 1), (101, 1)]);
        let mut out = vec![];
        let (bk, mut m) = mk(b.clone(), QueueModel::RiskAverse);
        assert_eq!(
            m.arrive(
                &bk,
                1,
                Side::Buy,
                Some(101),
                3,
                TimeInForce::Fok,
                false,
                &mut out
            ),
            Arrival::Cancel(Reason::FokCannotFill)
        );
        assert!(out.is_empty());
        assert_eq!(
            m.arrive(
                &bk,
                2,
                Side::Buy,
                Some(101),
                2,
                TimeInForce::Fok,
                false,
                &mut out
            ),
            Arrival::Filled
        );
        assert_eq!(fills(&out), vec![(100, 1, Taker), (101, 1, Taker)]);
        out.clear();
        assert_eq!(
            m.arrive(
                &bk,
                3,
                Side::Buy,
                Some(100),
                3,
                TimeInForce::Ioc,
                false,
                &mut out
            ),
            Arrival::Cancel(Reason::IocRemainder)
        );
        assert_eq!(fills(&out), vec![(100, 1, Taker)]);
        assert!(m.is_idle());
    }

    #[test]
    fn post_only_rejected_when_crossing() {
        let (bk, mut m) = mk(book(&[(99, 1)], &[(100, 1)]), QueueModel::RiskAverse);
        let mut out = vec![];
        assert_eq!(
            m.arrive(
                &bk,
                1,
                Side::Buy,
                Some(100),
                1,
                TimeInForce::Gtc,
                true,
                &mut out
            ),
            Arrival::Reject(Reason::PostOnlyWouldTake)
        );
        assert_eq!(
            m.arrive(
                &bk,
                2,
                Side::Buy,
                Some(99),
                1,
                TimeInForce::Gtc,
                true,
                &mut out
            ),
            Arrival::Resting
        );
        assert!(out.is_empty());
    }

    #[test]
    fn queue_consumed_by_trades_then_filled() {
        let (bk, mut m) = mk(book(&[(99, 5)], &[(100, 3)]), QueueModel::RiskAverse);
        let mut out = vec![];
        assert_eq!(
            m.arrive(
                &bk,
                7,
                Side::Buy,
                Some(99),
                4,
                TimeInForce::Gtc,
                false,
                &mut out
            ),
            Arrival::Resting
        );
        assert_eq!(m.get(7).unwrap().queue.ahead, 5);
        m.on_trade(99, 3, AggressorSide::Seller, &mut out); // 5 -> 2 ahead
        assert!(out.is_empty());
        m.on_trade(99, 1, AggressorSide::Buyer, &mut out); // a buyer does not hit bids
        assert!(out.is_empty());
        m.on_trade(99, 3, AggressorSide::Seller, &mut out); // 2 ahead eaten, 1 reaches us
        assert_eq!(fills(&out), vec![(99, 1, Maker)]);
        m.on_trade(98, 1, AggressorSide::Seller, &mut out); // through our price: all leaves
        assert_eq!(fills(&out), vec![(99, 1, Maker), (99, 3, Maker)]);
        assert!(m.is_idle());
    }

    #[test]
    fn cancellations_erode_queue_per_model() {
        for (model, expect) in [
            (QueueModel::RiskAverse, 7),
            (QueueModel::Power(2.0), 7),
            (QueueModel::Log, 7),
        ] {
            let (mut bk, mut m) = mk(book(&[(99, 10)], &[(100, 3)]), model);
            let mut out = vec![];
            m.arrive(
                &bk,
                1,
                Side::Buy,
                Some(99),
                1,
                TimeInForce::Gtc,
                false,
                &mut out,
            );
            // 3 canceled right after we joined: nothing is behind us, so the probabilistic models
            // take it all from ahead; risk-averse keeps 10 ahead... clamped to the visible 7.
            bk.apply_delta(BookSide::Bid, 99, 7).unwrap();
            m.on_level(BookSide::Bid, 99, 7);
            let ahead = m.get(1).unwrap().queue.ahead;
            assert_eq!(ahead, expect, "{model:?}");
            // 10 more join behind, then 6 cancel: risk-averse 7 ahead; power/log advance.
            m.on_level(BookSide::Bid, 99, 17);
            m.on_level(BookSide::Bid, 99, 11);
            let ahead = m.get(1).unwrap().queue.ahead;
            match model {
                QueueModel::RiskAverse => assert_eq!(ahead, 7),
                // p = 49/(49+100) = 0.329 -> floor(1.97) = 1 ahead
                QueueModel::Power(_) => assert_eq!(ahead, 6),
                // p = ln 8/(ln 8 + ln 11) = 0.4644 -> floor(2.79) = 2
                QueueModel::Log => assert_eq!(ahead, 5),
            }
        }
    }

    #[test]
    fn crossing_book_fills_resting_and_quotes() {
        let (mut bk, mut m) = mk(book(&[(99, 1)], &[(101, 1)]), QueueModel::RiskAverse);
        let mut out = vec![];
        m.arrive(
            &bk,
            1,
            Side::Sell,
            Some(101),
            2,
            TimeInForce::Gtc,
            false,
            &mut out,
        );
        m.arrive(
            &bk,
            2,
            Side::Buy,
            Some(99),
            2,
            TimeInForce::Gtc,
            false,
            &mut out,
        );
        // A quote moves the bid up to 101: our sell is crossed.
        m.set_top(
            &mut bk,
            Some(Level { px: 101, qty: 4 }),
            Some(Level { px: 102, qty: 1 }),
        );
        m.sweep_crossed(&bk, &mut out);
        assert_eq!(
            out,
            vec![MatchFill {
                id: 1,
                px: 101,
                qty: 2,
                liquidity: Maker
            }]
        );
        // Market at the touch with the quoted size only.
        out.clear();
        let a = m.arrive(
            &bk,
            3,
            Side::Buy,
            None,
            3,
            TimeInForce::Ioc,
            false,
            &mut out,
        );
        assert_eq!(
            (a, fills(&out)),
            (Arrival::Cancel(Reason::IocRemainder), vec![(102, 1, Taker)])
        );
    }
}
