//! Time bars built from trade prints: the aggregation the tick and L2 loops use for a strategy's
//! `on_bar`, and the one the live engine will use (feed trades and the clock, take completed bars).
//!
//! Rules (what a user can rely on):
//! - Buckets are `interval` long and aligned to the epoch (`[k·interval, (k+1)·interval)`, as
//!   exchange klines); a bar is labelled by its bucket's **open time** (`Bar::ts`).
//! - OHLC are the first, highest, lowest and last trade prices of the bucket (raw, exact); the
//!   volume is the sum of the trade sizes (summed exactly in raw units, converted once).
//! - A bar is **complete** when time reaches the end of its bucket: the first trade of a later
//!   bucket ([`BarAggregator::on_trade`]) or any later event ([`BarAggregator::on_time`]) hands
//!   it out. The bar still open when the data ends is not complete and is never handed out by
//!   these two (live trading would not have it either); [`BarAggregator::partial`] shows it.
//! - A bucket without a trade yields **no bar** (no flat filler bars: an indicator sees only
//!   prices that traded). The next bar is labelled by its own bucket, so gaps stay visible in `ts`.
//! - Time does not go back: a trade stamped before the open bucket's start (a late print) counts
//!   in the open bucket.

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::pow10;
use crate::model::{Bar, InstrumentId};

/// The bar being built.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Building {
    start: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    /// Sum of raw sizes (exact; i128 cannot overflow on any real stream).
    volume: i128,
}

/// Time bars from trades (see the module docs for the rules).
///
/// ```
/// use _core::data::aggregate::BarAggregator;
/// let mut agg = BarAggregator::new(60_000_000_000, 0, 3).unwrap(); // 1m bars, sizes at 0.001
/// assert!(agg.on_trade(5_000_000_000, 100, 2).is_none()); // 00:00:05 opens 00:00
/// assert!(agg.on_trade(30_000_000_000, 103, 1).is_none());
/// let bar = agg.on_trade(61_000_000_000, 99, 4).unwrap(); // 00:01:01 completes 00:00
/// assert_eq!((bar.ts, bar.open, bar.high, bar.low, bar.close), (0, 100, 103, 100, 103));
/// assert_eq!(bar.volume, 0.003);
/// ```
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BarAggregator {
    interval: i64,
    instrument: InstrumentId,
    size_scale: f64,
    cur: Option<Building>,
    /// End of the open bucket (`i64::MAX` when none is open): the one comparison per event.
    next_close: i64,
}

impl BarAggregator {
    /// Bars of `interval_ns` (> 0) for `instrument`, whose raw sizes are at `size_dp` decimals.
    pub fn new(interval_ns: i64, instrument: InstrumentId, size_dp: u8) -> CoreResult<Self> {
        if interval_ns <= 0 {
            return Err(CoreError::InvalidArgument {
                name: "bar",
                reason: format!("the bar interval must be > 0 ns, got {interval_ns}"),
            });
        }
        if size_dp > crate::model::fixed::MAX_DP {
            return Err(CoreError::InvalidArgument {
                name: "size_precision",
                reason: format!(
                    "must be at most {}, got {size_dp}",
                    crate::model::fixed::MAX_DP
                ),
            });
        }
        Ok(Self {
            interval: interval_ns,
            instrument,
            size_scale: pow10(size_dp as u32) as f64,
            cur: None,
            next_close: i64::MAX,
        })
    }

    /// The bar interval, ns.
    pub fn interval(&self) -> i64 {
        self.interval
    }

    /// Open time of the bucket that holds `ts`.
    #[inline]
    pub fn bucket(&self, ts: i64) -> i64 {
        ts - ts.rem_euclid(self.interval)
    }

    /// The time at which the open bar completes (`i64::MAX` when no bar is open): a loop checks
    /// `ts >= next_close()` before calling [`on_time`](Self::on_time).
    #[inline]
    pub fn next_close(&self) -> i64 {
        self.next_close
    }

    /// Time reached `ts`: the open bar, if its bucket ended at or before `ts`, is complete.
    #[inline]
    pub fn on_time(&mut self, ts: i64) -> Option<Bar> {
        if ts < self.next_close {
            return None;
        }
        let b = self.cur.take()?;
        self.next_close = i64::MAX;
        Some(self.bar(&b))
    }

    /// One trade of `qty` (raw) at `px` (raw) at `ts`: returns the bar it completed, if it is the
    /// first trade of a later bucket.
    pub fn on_trade(&mut self, ts: i64, px: i64, qty: i64) -> Option<Bar> {
        let done = self.on_time(ts);
        match self.cur.as_mut() {
            Some(b) => {
                b.high = b.high.max(px);
                b.low = b.low.min(px);
                b.close = px;
                b.volume += qty as i128;
            }
            None => {
                let start = self.bucket(ts);
                self.cur = Some(Building {
                    start,
                    open: px,
                    high: px,
                    low: px,
                    close: px,
                    volume: qty as i128,
                });
                self.next_close = start.saturating_add(self.interval);
            }
        }
        done
    }

    /// The bar still being built (not complete), if any.
    pub fn partial(&self) -> Option<Bar> {
        self.cur.as_ref().map(|b| self.bar(b))
    }

    fn bar(&self, b: &Building) -> Bar {
        Bar {
            instrument: self.instrument,
            ts: b.start,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume as f64 / self.size_scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn ohlcv(b: &Bar) -> (i64, i64, i64, i64, i64, f64) {
        (b.ts, b.open, b.high, b.low, b.close, b.volume)
    }

    #[test]
    fn hand_computed_bars_labelled_by_their_open_time() {
        // 10-second bars, sizes at 2 decimals (raw 150 = 1.50).
        let mut a = BarAggregator::new(10 * S, 3, 2).unwrap();
        // Bucket [100 s, 110 s): 101 s @ 500 x1.50, 104 s @ 507 x0.25, 109.999 s @ 498 x2.00
        assert!(a.on_trade(101 * S, 500, 150).is_none());
        assert!(a.on_trade(104 * S, 507, 25).is_none());
        assert!(a.on_trade(110 * S - 1, 498, 200).is_none());
        assert_eq!(a.next_close(), 110 * S);
        // 110 s exactly starts the next bucket and completes the first.
        let b = a.on_trade(110 * S, 499, 1).unwrap();
        assert_eq!(b.instrument, 3);
        // open 500, high 507, low 498, close 498, volume 1.50 + 0.25 + 2.00 = 3.75
        assert_eq!(ohlcv(&b), (100 * S, 500, 507, 498, 498, 3.75));
        // The new bucket holds one trade so far.
        let p = a.partial().unwrap();
        assert_eq!(ohlcv(&p), (110 * S, 499, 499, 499, 499, 0.01));
    }

    #[test]
    fn empty_buckets_give_no_bar_and_the_clock_closes_a_bar() {
        let mut a = BarAggregator::new(60 * S, 0, 0).unwrap();
        assert!(a.on_time(5 * S).is_none()); // nothing open
        a.on_trade(5 * S, 10, 1);
        a.on_trade(7 * S, 12, 2);
        // An event (not a trade) before the end: nothing; at the end: the bar.
        assert!(a.on_time(59 * S).is_none());
        let b = a.on_time(60 * S).unwrap();
        assert_eq!(ohlcv(&b), (0, 10, 12, 10, 12, 3.0));
        assert_eq!(a.next_close(), i64::MAX);
        assert!(a.on_time(600 * S).is_none());
        // Next trade 5 minutes later: its own bucket, the four empty minutes yield nothing.
        assert!(a.on_trade(301 * S, 11, 1).is_none());
        let b = a.on_trade(425 * S, 9, 1).unwrap();
        assert_eq!(ohlcv(&b), (300 * S, 11, 11, 11, 11, 1.0));
        // The last bar stays partial: never handed out by on_trade/on_time before its end.
        assert_eq!(a.partial().map(|b| b.ts), Some(420 * S));
        assert!(a.on_time(479 * S).is_none());
    }

    #[test]
    fn late_prints_count_in_the_open_bucket_and_negative_times_align() {
        let mut a = BarAggregator::new(10 * S, 0, 0).unwrap();
        a.on_trade(25 * S, 7, 1);
        // Stamped in an earlier bucket (late print): counts in [20 s, 30 s).
        assert!(a.on_trade(15 * S, 3, 1).is_none());
        let b = a.on_time(30 * S).unwrap();
        assert_eq!(ohlcv(&b), (20 * S, 7, 7, 3, 3, 2.0));
        // Before the epoch: buckets still align to multiples of the interval.
        let mut n = BarAggregator::new(10 * S, 0, 0).unwrap();
        n.on_trade(-S, 5, 1);
        assert_eq!(n.partial().unwrap().ts, -10 * S);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(BarAggregator::new(0, 0, 0).is_err());
        assert!(BarAggregator::new(-5, 0, 0).is_err());
        assert!(BarAggregator::new(1, 0, 10).is_err());
    }
}
