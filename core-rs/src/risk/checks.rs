//! Pre-trade checks: pure functions of an order, the limits and a [`RiskView`](super::RiskView).
//!
//! Money is in the portfolio's money units (i128 at `MONEY_DP`), prices and quantities raw (i64
//! at the instrument's precision), fractions as f64.

use super::bucket::RateLimit;

/// Per-instrument limits, beyond the instrument's own tick/lot/min_qty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstrumentLimits {
    /// Largest |position| (raw qty), counting working orders on the same side.
    pub max_position: Option<i64>,
    /// Largest order quantity (raw).
    pub max_qty: Option<i64>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Smallest order notional (money units).
    pub min_notional: Option<i128>,
}

/// Limits of the pre-trade checks. `Default` = the structural checks only (instrument known,
/// precision, min/max of the instrument, reduce-only, free balance on a cash account) and no
/// numeric limit.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskLimits {
    /// Indexed by instrument id; shorter than the instrument list = no limits for the rest.
    pub instruments: Vec<InstrumentLimits>,
    /// Fat-finger guard: a limit/trigger price further than this from the last/mark price is
    /// denied (basis points).
    pub price_band_bps: Option<f64>,
    /// Largest notional of one order (money units).
    pub max_notional: Option<i128>,
    /// Largest |position notional| of one instrument (working orders counted) as a fraction of
    /// equity.
    pub max_concentration: Option<f64>,
    /// Largest sum of |position notional| over instruments (money units).
    pub max_gross_exposure: Option<i128>,
    /// Largest |sum of signed position notional| (money units).
    pub max_net_exposure: Option<i128>,
    /// Largest gross exposure / equity (the simulated venue's cap; one venue per engine).
    pub max_leverage: Option<f64>,
    pub submit_rate: Option<RateLimit>,
    pub modify_rate: Option<RateLimit>,
    /// Deny buys a cash account cannot pay for after its working buy orders (default true).
    pub check_balance: bool,
}

impl Default for RiskLimits {
    fn default() -> Self {
        Self {
            instruments: Vec::new(),
            price_band_bps: None,
            max_notional: None,
            max_concentration: None,
            max_gross_exposure: None,
            max_net_exposure: None,
            max_leverage: None,
            submit_rate: None,
            modify_rate: None,
            check_balance: true,
        }
    }
}

// Implemented by the checks work (signatures fixed; the engine calls them):
//
// /// Everything about one new order except the rate limits and the trading state, in this
// /// order: instrument known, precision (tick/lot), instrument min/max (qty, price, notional),
// /// reduce-only, price band, max notional, max position (working same-side orders counted),
// /// concentration, gross/net exposure, leverage, free balance (working buys counted).
// pub fn check_order(limits: &RiskLimits, spec: &OrderSpec, view: &RiskView<'_>) -> Result<(), RiskReason>;
// /// A modify: the order as it would become, checked like a new order (its own working
// /// quantity not counted twice).
// pub fn check_modify(limits: &RiskLimits, order: &Order, qty: Option<i64>, px: Option<i64>,
//                     trigger: Option<i64>, view: &RiskView<'_>) -> Result<(), RiskReason>;
// /// Whether `spec` only reduces exposure: opposite side to the position and qty ≤ |position|
// /// minus the working reducing orders already on that side.
// pub fn reduces_exposure(spec: &OrderSpec, view: &RiskView<'_>) -> bool;
