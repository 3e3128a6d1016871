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
