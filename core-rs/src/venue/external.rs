//! The sink of a real venue: commands leave for an exchange adapter (the live node's execution
//! client) instead of reaching the simulated matcher, and the venue's reports come back as
//! [`VenueReport`]s that the engine applies to the same order state machine and account.
//!
//! The engine stays the one command path (risk, account, write-ahead, then this sink). What a
//! venue lacks, the engine's order manager emulates, as NautilusTrader's emulator does: the legs
//! of contingent lists (OCO, OTO, brackets) are held and released by the manager, and each
//! released leg is sent as a plain order; a leg the manager closes (an OCO sibling filled, a
//! parent closed without a fill, a GTD/DAY expiry) is canceled at the venue. Conditional orders
//! are sent as themselves: the venue triggers them.
//!
//! The venue is the truth for fills: a fill reported for an order the manager had closed
//! already (the emulated cancel still on its way) is applied to the account all the same and
//! counted in [`ExternalVenue::late_fills`].

use std::collections::BTreeSet;

use crate::model::{Command, Liquidity, OrderId};
use crate::venue::l2::Working;

/// What a real venue reported about an order of the engine (raw prices and quantities at the
/// instrument's precision; fees in money units).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum VenueReport {
    /// The venue acknowledged the order: it is working there.
    Accepted { id: OrderId },
    /// The venue refused it (never working).
    Rejected { id: OrderId },
    /// Canceled at the venue (on request, or on the venue's initiative).
    Canceled { id: OrderId, requested: bool },
    /// Its time in force ran out at the venue.
    Expired { id: OrderId },
    /// A conditional order's trigger was hit at the venue.
    Triggered { id: OrderId },
    /// A fill with the venue's trade id (unique per venue: a repeated report is ignored).
    Fill {
        id: OrderId,
        px: i64,
        qty: i64,
        fee: i128,
        liquidity: Liquidity,
        trade_id: String,
    },
    /// A modify the venue carried out (the fields it changed).
    Amended {
        id: OrderId,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
    },
    /// The venue refused a modify: the order stays as it was.
    ModifyRejected { id: OrderId },
    /// The venue refused a cancel (the order is done there already, or unknown).
    CancelRejected { id: OrderId },
}

impl VenueReport {
    /// The order the report is about.
    pub fn id(&self) -> OrderId {
        match self {
            Self::Accepted { id }
            | Self::Rejected { id }
            | Self::Canceled { id, .. }
            | Self::Expired { id }
            | Self::Triggered { id }
            | Self::Fill { id, .. }
            | Self::Amended { id, .. }
            | Self::ModifyRejected { id }
            | Self::CancelRejected { id } => *id,
        }
    }
}

/// The engine's side of a real venue: what left, what is there, which trades were applied.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExternalVenue {
    /// Commands for the execution client, oldest first (taken by the node).
    pub outbound: Vec<Command>,
    /// Orders sent to the venue and not known closed there.
    pub at_venue: BTreeSet<OrderId>,
    /// The venue's trade id of each of the engine's fills (same index).
    pub trade_ids: Vec<String>,
    /// Fills applied, keyed `"{order id}:{trade id}"` (a repeated fill report is ignored). A
    /// self-trade gives two of the engine's orders the same trade id, so the order is part of the
    /// key. Checkpoints written before the key had the order hold bare trade ids: those are still
    /// honoured (see [`ExternalVenue::first_time`]).
    pub seen: BTreeSet<String>,
    /// Fills reported for orders the engine had closed already (applied to the account).
    pub late_fills: u64,
    /// Reports ignored: repeated fills, reports of unknown orders.
    pub ignored: u64,
    /// The orders working at the venue, as the strategy's view shows them (no queue position:
    /// the venue does not tell).
    pub working: Vec<Working>,
}

impl ExternalVenue {
    /// Take the commands waiting for the execution client.
    pub fn take(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.outbound)
    }

    /// Is this fill (order `id`, the venue's `trade_id`) new? (Then it is remembered.) A bare
    /// `trade_id` in [`ExternalVenue::seen`] (a checkpoint from before the order was part of the
    /// key) counts as seen for every order.
    pub fn first_time(&mut self, id: OrderId, trade_id: &str) -> bool {
        let key = Self::fill_key(id, trade_id);
        if self.seen.contains(&key) || self.seen.contains(trade_id) {
            return false;
        }
        self.seen.insert(key);
        true
    }

    /// Forget a fill [`ExternalVenue::first_time`] remembered (it was not applied after all).
    pub fn forget(&mut self, id: OrderId, trade_id: &str) {
        self.seen.remove(&Self::fill_key(id, trade_id));
    }

    fn fill_key(id: OrderId, trade_id: &str) -> String {
        format!("{id}:{trade_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trade_id_is_new_once_per_order() {
        let mut x = ExternalVenue::default();
        assert!(x.first_time(1, "77"));
        assert!(!x.first_time(1, "77"), "the repeated report of one fill");
        // a self-trade: the other side of trade 77 is the engine's order 2
        assert!(x.first_time(2, "77"));
        assert!(!x.first_time(2, "77"));
        x.forget(2, "77");
        assert!(x.first_time(2, "77"));
    }

    #[test]
    fn bare_trade_ids_of_an_old_checkpoint_still_count_as_seen() {
        let mut x = ExternalVenue::default();
        x.seen.insert("77".to_string());
        assert!(!x.first_time(1, "77"));
        assert!(!x.first_time(9, "77"));
        assert!(x.first_time(1, "78"));
    }
}
