//! Token-bucket rate limits for submits and modifies (engine clock, not wall clock).

/// `capacity` commands per `interval_ns`, refilled continuously; a full bucket allows a burst of
/// `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub capacity: u32,
    pub interval_ns: i64,
}

// Implemented by the checks work (signature fixed):
// pub struct TokenBucket { .. }
// impl TokenBucket { pub fn new(limit: RateLimit) -> Self; pub fn try_take(&mut self, ts: i64) -> bool; }

/// A token bucket on the engine clock: `capacity` tokens, refilled continuously at `capacity`
/// per `interval_ns`; each command takes one. Exact integer arithmetic: the level is kept in
/// units of 1/`capacity` ns-tokens (one token = `interval_ns` units, refill = `capacity` units
/// per ns), so no rounding drift over long runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    limit: RateLimit,
    level: i128,
    last: Option<i64>,
}

impl TokenBucket {
    /// A full bucket (a burst of `capacity` is allowed at once).
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            level: limit.capacity as i128 * limit.interval_ns.max(1) as i128,
            last: None,
        }
    }

    /// Take one token at engine time `ts` if there is one. Time going backwards refills nothing.
    pub fn try_take(&mut self, ts: i64) -> bool {
        let interval = self.limit.interval_ns.max(1) as i128;
        let cap = self.limit.capacity as i128 * interval;
        if let Some(last) = self.last
            && ts > last
        {
            let refill = (ts as i128 - last as i128) * self.limit.capacity as i128;
            self.level = (self.level + refill).min(cap);
        }
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        if self.level >= interval {
            self.level -= interval;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_the_rate() {
        let mut b = TokenBucket::new(RateLimit {
            capacity: 2,
            interval_ns: 1_000,
        });
        assert!(b.try_take(0));
        assert!(b.try_take(0));
        assert!(!b.try_take(0));
        // 2 tokens per 1000 ns: one token every 500 ns
        assert!(!b.try_take(499));
        assert!(b.try_take(500));
        assert!(!b.try_take(500));
        // a long pause refills to capacity only
        assert!(b.try_take(100_000));
        assert!(b.try_take(100_000));
        assert!(!b.try_take(100_000));
    }
}
