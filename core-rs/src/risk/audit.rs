//! The audit log: every trading-state change (and the bypass flag, when set) as an entry whose
//! hash chains it to the one before, so an edited, reordered or removed entry is detected.
