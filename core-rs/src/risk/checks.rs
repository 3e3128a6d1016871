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

// NB (engine helper): the three functions below are the engine branch's own minimal versions so
// that the engine compiles and its property tests run; the checks branch's versions (with their
// boundary tests) replace them at merge. Same signatures as fixed in the skeleton.

use super::{RiskReason, RiskView};
use crate::model::{Order, OrderKind, OrderSpec, Side};

/// Price used for an order's notional: its limit, else its trigger, else the instrument's mark
/// (None before the first mark).
#[inline]
fn order_px(kind: &OrderKind, mark: i64) -> Option<i64> {
    kind.limit_px()
        .or(kind.trigger_px())
        .or((mark > 0).then_some(mark))
}

/// Working quantity and notional (at each order's price) on `side` of `instrument`, not counting
/// reduce-only orders and the order `skip`.
fn working_same_side(
    view: &RiskView<'_>,
    instrument: u32,
    side: Side,
    mark: i64,
    skip: Option<u64>,
) -> (i64, i128) {
    let inst = &view.instruments[instrument as usize];
    let (mut q, mut n) = (0i64, 0i128);
    for o in view.orders.working(instrument) {
        if o.spec.side != side || o.spec.reduce_only || Some(o.id()) == skip {
            continue;
        }
        let leaves = o.leaves();
        q += leaves;
        if let Some(px) = order_px(&o.spec.kind, mark) {
            n += inst.notional(px, leaves);
        }
    }
    (q, n)
}

/// Everything about one new order except the rate limits and the trading state, in this
/// order: instrument known, precision (tick/lot), instrument min/max (qty, price, notional),
/// reduce-only, price band, max notional, max position (working same-side orders counted),
/// concentration, gross/net exposure, leverage, free balance (working buys counted).
pub fn check_order(
    limits: &RiskLimits,
    spec: &OrderSpec,
    view: &RiskView<'_>,
) -> Result<(), RiskReason> {
    check_inner(limits, spec, view, None)
}

fn check_inner(
    limits: &RiskLimits,
    spec: &OrderSpec,
    view: &RiskView<'_>,
    skip: Option<u64>,
) -> Result<(), RiskReason> {
    let i = spec.instrument as usize;
    let inst = view.instruments.get(i).ok_or(RiskReason::UnknownInstrument)?;
    let pos = view.portfolio.positions.get(i).ok_or(RiskReason::UnknownInstrument)?;
    if spec.qty > 0 && spec.qty % inst.lot != 0 {
        return Err(RiskReason::QuantityPrecision);
    }
    if spec.qty < inst.min_qty {
        return Err(RiskReason::QuantityBelowMin);
    }
    for px in [spec.kind.limit_px(), spec.kind.trigger_px()].into_iter().flatten() {
        if px <= 0 || px % inst.tick != 0 {
            return Err(RiskReason::PricePrecision);
        }
    }
    let il = limits.instruments.get(i);
    if let Some(max) = il.and_then(|l| l.max_qty)
        && spec.qty > max
    {
        return Err(RiskReason::QuantityAboveMax);
    }
    let px = order_px(&spec.kind, pos.mark);
    if let (Some(l), Some(p)) = (il, spec.kind.limit_px().or(spec.kind.trigger_px())) {
        if l.min_price.is_some_and(|m| p < m) {
            return Err(RiskReason::PriceBelowMin);
        }
        if l.max_price.is_some_and(|m| p > m) {
            return Err(RiskReason::PriceAboveMax);
        }
    }
    let notional = px.map(|p| inst.notional(p, spec.qty));
    if let (Some(m), Some(n)) = (il.and_then(|l| l.min_notional), notional)
        && n < m
    {
        return Err(RiskReason::NotionalBelowMin);
    }
    let s = spec.side.sign();
    let reducing = pos.qty != 0 && pos.qty.signum() == -s;
    if spec.reduce_only && !reducing {
        return Err(RiskReason::ReduceOnly);
    }
    if let (Some(bps), Some(p)) = (limits.price_band_bps, spec.kind.limit_px().or(spec.kind.trigger_px()))
        && pos.mark > 0
    {
        let dev = (p - pos.mark).unsigned_abs() as f64 / pos.mark as f64 * 1e4;
        if dev > bps {
            return Err(RiskReason::PriceBand);
        }
    }
    if let (Some(max), Some(n)) = (limits.max_notional, notional)
        && n > max
    {
        return Err(RiskReason::MaxNotional);
    }
    // Limits on exposure apply to what the order may add: same-side working orders counted, and
    // an order that only reduces the position (with the working ones on its side) is always
    // allowed.
    let needs_balance = limits.check_balance && !view.portfolio.is_margin() && spec.side == Side::Buy;
    if il.is_none_or(|l| l.max_position.is_none())
        && limits.max_concentration.is_none()
        && limits.max_gross_exposure.is_none()
        && limits.max_net_exposure.is_none()
        && limits.max_leverage.is_none()
        && !needs_balance
    {
        return Ok(()); // no exposure limit configured: skip the account scan
    }
    let (wq, wn) = working_same_side(view, spec.instrument, spec.side, pos.mark, skip);
    if reducing && spec.qty as i128 + wq as i128 <= pos.qty.unsigned_abs() as i128 {
        return Ok(());
    }
    let projected = pos.qty as i128 + s as i128 * (wq as i128 + spec.qty as i128);
    if let Some(max) = il.and_then(|l| l.max_position)
        && projected.abs() > max as i128
    {
        return Err(RiskReason::MaxPosition);
    }
    let Some(n) = notional else {
        return Ok(()); // no price yet: the venue decides
    };
    let signed_after = inst.notional(pos.mark, pos.qty) + s as i128 * (wn + n);
    let this_after = signed_after.abs();
    let (mut gross, mut net) = (this_after, signed_after);
    for (j, (p, ij)) in view.portfolio.positions.iter().zip(view.instruments).enumerate() {
        if j != i && p.qty != 0 {
            let v = ij.notional(p.mark, p.qty);
            gross += v.abs();
            net += v;
        }
    }
    let equity = view.portfolio.equity(view.instruments);
    if let Some(c) = limits.max_concentration
        && (equity <= 0 || this_after as f64 > c * equity as f64)
    {
        return Err(RiskReason::Concentration);
    }
    if limits.max_gross_exposure.is_some_and(|m| gross > m) {
        return Err(RiskReason::GrossExposure);
    }
    if limits.max_net_exposure.is_some_and(|m| net.abs() > m) {
        return Err(RiskReason::NetExposure);
    }
    if let Some(cap) = limits.max_leverage
        && (equity <= 0 || gross as f64 > cap * equity as f64)
    {
        return Err(RiskReason::Leverage);
    }
    if needs_balance {
        // Only what the buy adds beyond covering a short needs cash.
        let cover = if pos.qty < 0 { (-pos.qty).min(spec.qty) } else { 0 };
        let need = inst.notional(px.unwrap_or(0), spec.qty - cover) + wn;
        if need > view.portfolio.cash {
            return Err(RiskReason::InsufficientBalance);
        }
    }
    Ok(())
}

/// A modify: the order as it would become, checked like a new order (its own working
/// quantity not counted twice).
pub fn check_modify(
    limits: &RiskLimits,
    order: &Order,
    qty: Option<i64>,
    px: Option<i64>,
    trigger: Option<i64>,
    view: &RiskView<'_>,
) -> Result<(), RiskReason> {
    let mut spec = order.spec.clone();
    if let Some(q) = qty {
        spec.qty = q;
    }
    spec.kind = match spec.kind {
        OrderKind::Limit { px: p } => OrderKind::Limit { px: px.unwrap_or(p) },
        OrderKind::StopMarket { trigger: t } => OrderKind::StopMarket {
            trigger: trigger.unwrap_or(t),
        },
        OrderKind::MarketIfTouched { trigger: t } => OrderKind::MarketIfTouched {
            trigger: trigger.unwrap_or(t),
        },
        OrderKind::StopLimit { trigger: t, px: p } => OrderKind::StopLimit {
            trigger: trigger.unwrap_or(t),
            px: px.unwrap_or(p),
        },
        OrderKind::LimitIfTouched { trigger: t, px: p } => OrderKind::LimitIfTouched {
            trigger: trigger.unwrap_or(t),
            px: px.unwrap_or(p),
        },
        k => k,
    };
    // Only what is still to fill counts against the limits.
    spec.qty -= order.filled.min(spec.qty - 1).max(0);
    check_inner(limits, &spec, view, Some(order.id()))
}

/// Whether `spec` only reduces exposure: opposite side to the position and qty ≤ |position|
/// minus the working reducing orders already on that side.
pub fn reduces_exposure(spec: &OrderSpec, view: &RiskView<'_>) -> bool {
    let Some(pos) = view.portfolio.positions.get(spec.instrument as usize) else {
        return false;
    };
    if pos.qty == 0 || pos.qty.signum() != -spec.side.sign() {
        return false;
    }
    let working: i64 = view
        .orders
        .working(spec.instrument)
        .filter(|o| o.spec.side == spec.side)
        .map(|o| o.leaves())
        .sum();
    spec.qty + working <= pos.qty.abs()
}
