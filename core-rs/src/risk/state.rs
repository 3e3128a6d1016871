//! Trading states and their order of severity.
//!
//! ACTIVE < REDUCING < PAUSED < HALTED < EMERGENCY. The engine's state is the most severe of the
//! manual state (set by command) and every layer's wish; each change is an audit entry.
//! - ACTIVE: everything allowed.
//! - REDUCING: only orders that reduce exposure (opposite side of the position, never flipping
//!   it, counting working orders on that side); cancels allowed; modifies may not grow an order.
//! - PAUSED: no new orders and no modifies; working orders stay; cancels allowed.
//! - HALTED: nothing goes out (cancels refused too).
//! - EMERGENCY: the engine cancels every working order and flattens every position at market;
//!   strategy commands are refused.

use crate::error::{CoreError, CoreResult};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum TradingState {
    #[default]
    Active,
    Reducing,
    Paused,
    Halted,
    Emergency,
}

impl TradingState {
    pub const ALL: [TradingState; 5] = [
        Self::Active,
        Self::Reducing,
        Self::Paused,
        Self::Halted,
        Self::Emergency,
    ];

    /// Lower-case name (config, events, reports).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Reducing => "reducing",
            Self::Paused => "paused",
            Self::Halted => "halted",
            Self::Emergency => "emergency",
        }
    }

    /// Parse a name (case-insensitive); the error names `name` and lists the states.
    pub fn parse(name: &'static str, value: &str) -> CoreResult<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| CoreError::InvalidArgument {
                name,
                reason: format!(
                    "unknown trading state {value:?} (active, reducing, paused, halted, emergency)"
                ),
            })
    }

    /// Index into per-state tables (`ALL[i]`).
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_names() {
        assert!(TradingState::Active < TradingState::Reducing);
        assert!(TradingState::Reducing < TradingState::Paused);
        assert!(TradingState::Paused < TradingState::Halted);
        assert!(TradingState::Halted < TradingState::Emergency);
        for s in TradingState::ALL {
            assert_eq!(
                TradingState::parse("state", &s.as_str().to_uppercase()).unwrap(),
                s
            );
            assert_eq!(TradingState::ALL[s.index()], s);
        }
        assert!(TradingState::parse("state", "sleeping").is_err());
    }
}
