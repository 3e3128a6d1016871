//! Token-bucket rate limits for submits and modifies (engine clock, not wall clock).

use crate::error::{CoreError, CoreResult};

/// `capacity` commands per `interval_ns`, refilled continuously; a full bucket allows a burst of
/// `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RateLimit {
    pub capacity: u32,
    pub interval_ns: i64,
}

impl RateLimit {
    /// Check the limit's fields; the error names `name` (e.g. `"submit_rate"`).
    pub fn validate(&self, name: &'static str) -> CoreResult<()> {
        if self.capacity == 0 {
            return Err(CoreError::InvalidArgument {
                name,
                reason: "capacity must be at least 1 command".into(),
            });
        }
        if self.interval_ns <= 0 {
            return Err(CoreError::InvalidArgument {
                name,
                reason: format!("interval_ns must be positive, got {}", self.interval_ns),
            });
        }
        Ok(())
    }
}

/// A token bucket on the engine clock: starts full (`capacity` tokens), refills continuously at
/// `capacity` tokens per `interval_ns`, holds at most `capacity` (the burst).
///
/// Exact: the level is kept in units of 1/`interval_ns` token (one token = `interval_ns` units,
/// one nanosecond adds `capacity` units), in i128, so there is no rounding and no drift however
/// the calls are spaced: after the bucket is drained, the next token is back exactly
/// `interval_ns / capacity` ns later (rounded up to the nanosecond).
///
/// The clock only counts forward: a `ts` before the latest one seen refills nothing (and does
/// not move the bucket's clock back, so no time is counted twice).
///
/// A limit that [`RateLimit::validate`] refuses is not an error here (the configuration is
/// validated where it is parsed): capacity 0 denies every command, a non-positive interval is
/// taken as 1 ns.
///
/// ```
/// use _core::risk::bucket::{RateLimit, TokenBucket};
/// let mut b = TokenBucket::new(RateLimit { capacity: 2, interval_ns: 1_000 });
/// assert!(b.try_take(0) && b.try_take(0)); // the burst
/// assert!(!b.try_take(499));
/// assert!(b.try_take(500)); // one token per 500 ns
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenBucket {
    /// Units per token (= interval_ns).
    per_token: i128,
    /// Units added per ns (= capacity).
    per_ns: i128,
    /// Full level (= capacity x interval_ns).
    full: i128,
    level: i128,
    /// Latest engine time seen (i64::MIN: none yet).
    last: i64,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> Self {
        let per_token = limit.interval_ns.max(1) as i128;
        let per_ns = limit.capacity as i128;
        let full = per_ns * per_token;
        Self {
            per_token,
            per_ns,
            full,
            level: full,
            last: i64::MIN,
        }
    }

    /// Take one token at engine time `ts` (ns): true if there was one.
    #[inline]
    pub fn try_take(&mut self, ts: i64) -> bool {
        if ts > self.last {
            if self.last != i64::MIN && self.level < self.full {
                let dt = (ts as i128) - (self.last as i128);
                // dt < 2^64 and per_ns < 2^32: no overflow
                self.level = (self.level + dt * self.per_ns).min(self.full);
            }
            self.last = ts;
        }
        if self.level >= self.per_token {
            self.level -= self.per_token;
            true
        } else {
            false
        }
    }

    /// Whole tokens available now (without refilling).
    pub fn tokens(&self) -> u64 {
        (self.level / self.per_token) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_exact_refill() {
        let mut b = TokenBucket::new(RateLimit {
            capacity: 4,
            interval_ns: 1_000,
        });
        for _ in 0..4 {
            assert!(b.try_take(10));
        }
        assert!(!b.try_take(10));
        assert!(!b.try_take(259));
        assert!(b.try_take(260));
        assert!(!b.try_take(260));
    }

    #[test]
    fn backwards_clock_mints_nothing() {
        let mut b = TokenBucket::new(RateLimit {
            capacity: 1,
            interval_ns: 100,
        });
        assert!(b.try_take(1_000));
        assert!(!b.try_take(0)); // back in time: nothing
        assert!(!b.try_take(1_099));
        assert!(b.try_take(1_100));
    }

    #[test]
    fn degenerate_limits() {
        let mut none = TokenBucket::new(RateLimit {
            capacity: 0,
            interval_ns: 100,
        });
        assert!(!none.try_take(0) && !none.try_take(1_000_000));
        assert!(
            RateLimit {
                capacity: 0,
                interval_ns: 1
            }
            .validate("submit_rate")
            .is_err()
        );
        assert!(
            RateLimit {
                capacity: 1,
                interval_ns: 0
            }
            .validate("submit_rate")
            .is_err()
        );
        // extreme values do not overflow
        let mut big = TokenBucket::new(RateLimit {
            capacity: u32::MAX,
            interval_ns: i64::MAX,
        });
        assert!(big.try_take(i64::MIN + 1));
        assert!(big.try_take(i64::MAX));
    }
}
