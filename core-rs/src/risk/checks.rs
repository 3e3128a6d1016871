//! Pre-trade checks: pure functions of an order, the limits and a [`RiskView`](super::RiskView).
//!
//! Money is in the portfolio's money units (i128 at `MONEY_DP`), prices and quantities raw (i64
//! at the instrument's precision), fractions as f64.
//!
//! # What the checks count
//! - **Position** of an instrument: the portfolio's (`view.portfolio.positions[i].qty`), its
//!   **mark** the last mark there (0: none yet).
//! - **Working orders**: the order manager's ([`crate::model::orders`]) running totals per
//!   instrument and side ([`WorkingTotals`], O(1) per read: no scan of the book). Only orders working at the venue
//!   count; an order still in flight (latency) is not yet working.
//! - **Price of an order** (notional, exposure, balance): its limit price, else its trigger, else
//!   the mark (market orders and trailing stops, whose trigger moves). An order that has no price
//!   at all (a market-type order before its instrument's first mark) cannot be valued: the money
//!   checks (min/max notional, concentration, gross/net, leverage, balance) skip it; the
//!   quantity checks (max position, reduce-only) still apply.
//! - **Exposure after the order** of its instrument, in money: the position at the mark plus, on
//!   the order's side, the working orders at their prices and the order at its price:
//!   `pos·mark + sign·(Σ working same side + qty·px)`. Other instruments count their positions at
//!   their marks. Gross = Σ |exposure|, net = |Σ exposure|, equity = cash + Σ positions at marks
//!   (exactly [`Portfolio::equity`](crate::portfolio::Portfolio::equity)). Concentration =
//!   |exposure of the instrument| / equity, leverage = gross / equity; both are compared exactly
//!   in fixed point at 1e-10 (the limit is rounded to it), and any exposure is too much when
//!   equity is not positive.
//! - **Reducing orders** ([`reduces_exposure`]: opposite side to the position and, with the
//!   working orders already on that side, no more than the position) skip the max-position and
//!   exposure limits; every other order is checked against them. A reducing order is never
//!   denied for a position above a limit that was lowered after it was taken.
//! - **Balance and margin** are not a risk check: they are the account's own rule, applied to every
//!   order in every mode after the risk engine ([`crate::portfolio`], "The account's rule"), and
//!   never bypassed.
//! - **Price band**: a limit or trigger price further than `price_band_bps` from the mark
//!   (`|px − mark| · 10⁴ > bps · mark`, exact at 1e-6 bp) is denied; no mark yet: no band.

use super::bucket::RateLimit;
use super::{RiskReason, RiskView, explain};
use crate::model::WorkingTotals;
use crate::model::fixed::{MONEY_DP, format_fixed, round_i64};
use crate::model::instrument::Instrument;
use crate::model::order::{Order, OrderKind, OrderSpec, TrailingOffset};
use crate::portfolio::{fmt_money, fmt_px, fmt_qty};

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
/// precision, min/max of the instrument, reduce-only) and no numeric limit.
#[derive(Debug, Clone, Default, PartialEq)]
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
}

/// Fixed-point scale of fractions (concentration, leverage, the band): 1 = 10^10.
const FRAC_ONE: i128 = 10_000_000_000;

/// 10^k for k = 0..=18 (notional scales), without `pow10`'s loop on the check path.
const POW10: [i128; 19] = {
    let mut t = [1i128; 19];
    let mut k = 1;
    while k < 19 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// Money units per (raw price × raw qty) of `inst` (= `Instrument::notional_scale`).
#[inline]
fn scale(inst: &Instrument) -> i128 {
    POW10[(MONEY_DP - inst.price_dp as u32 - inst.size_dp as u32) as usize]
}

/// Money amounts saturate at ±2^120, so sums of a few of them cannot overflow i128.
const SAT: i128 = 1 << 120;

/// `pq` (raw price × raw qty, |pq| < 2^126) in money units (`sc`: the instrument's scale),
/// saturating at ±[`SAT`]: an absurd quantity is denied by the money limits, never a panic or a
/// wrap.
#[inline]
fn money(pq: i128, sc: i128) -> i128 {
    if bits(pq.unsigned_abs()) + bits(sc as u128) <= 120 {
        pq * sc
    } else if pq < 0 {
        -SAT
    } else {
        SAT
    }
}

/// A fraction (or a multiple, e.g. leverage) at 1e-10, rounded to nearest. Within ±9e8 (far
/// beyond any sane limit); beyond, it saturates; NaN gives the most negative value (so a NaN
/// limit denies everything it guards).
// NB: no `f64::round` / f64 -> i128 here: both are library calls (~5 ns each) on baseline
// x86-64, and were ~25% of the check before (perf on benches/risk.rs).
#[inline]
fn fixed(x: f64) -> i128 {
    scaled(x * 1e10)
}

/// `v` (already scaled) rounded to an integer, as [`fixed`].
#[inline]
fn scaled(v: f64) -> i128 {
    if v.abs() < 9e18 {
        round_i64(v) as i128
    } else if v > 0.0 {
        i64::MAX as i128
    } else {
        i64::MIN as i128
    }
}

/// Bit length of a non-negative value.
#[inline]
fn bits(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// Whether `amount / equity > limit` (`limit` at 1e-10, within i64); `amount` ≥ 0. Exact in
/// i128 unless a product could overflow (amounts beyond ~10^10 quote units at 1e-18), then f64.
// NB: plain i128 products behind a bit-length guard: `checked_mul` on i128 is a library call.
#[inline]
fn exceeds(amount: i128, equity: i128, limit: i128) -> bool {
    if equity <= 0 {
        return amount > 0;
    }
    if bits(amount as u128) + 34 <= 126 && bits(limit.unsigned_abs()) + bits(equity as u128) <= 126
    {
        amount * FRAC_ONE > limit * equity
    } else {
        exceeds_wide(amount, equity, limit)
    }
}

#[cold]
#[inline(never)]
fn exceeds_wide(amount: i128, equity: i128, limit: i128) -> bool {
    amount as f64 * 1e10 > limit as f64 * equity as f64
}

/// The fixed prices an order states (limit, trigger, trailing activation).
#[inline]
fn stated_prices(kind: &OrderKind) -> [Option<i64>; 3] {
    let activation = match *kind {
        OrderKind::TrailingStopMarket { activation, .. }
        | OrderKind::TrailingStopLimit { activation, .. } => activation,
        _ => None,
    };
    [kind.limit_px(), kind.trigger_px(), activation]
}

/// Whether an order of `qty` on side `sign` only reduces `pos`, given `same` (the working leaves
/// already on that side).
#[inline]
fn reduces(pos: i64, sign: i64, same: i64, qty: i64) -> bool {
    pos.signum() == -sign && (same as i128 + qty as i128) <= pos.unsigned_abs() as i128
}

/// The checks proper. `spec.qty` is the order's total quantity (precision, min/max quantity and
/// notional); `open_qty` what it may still trade (exposure, balance); `own`: the order's own
/// contribution to the working totals (a modify), taken out of them.
fn check_spec(
    limits: &RiskLimits,
    spec: &OrderSpec,
    open_qty: i64,
    own: Option<&WorkingTotals>,
    view: &RiskView<'_>,
) -> Result<(), RiskReason> {
    let i = spec.instrument as usize;
    let (Some(inst), Some(pos)) = (view.instruments.get(i), view.portfolio.positions.get(i)) else {
        return Err(RiskReason::UnknownInstrument);
    };

    // -- precision
    let prices = stated_prices(&spec.kind);
    for p in prices.into_iter().flatten() {
        if p <= 0 {
            return Err(RiskReason::PriceBelowMin);
        }
        if inst.tick != 1 && p % inst.tick != 0 {
            return Err(RiskReason::PricePrecision);
        }
    }
    if let OrderKind::TrailingStopMarket { offset, .. }
    | OrderKind::TrailingStopLimit { offset, .. } = spec.kind
    {
        let limit_offset = match spec.kind {
            OrderKind::TrailingStopLimit { limit_offset, .. } => Some(limit_offset),
            _ => None,
        };
        for o in [Some(offset), limit_offset].into_iter().flatten() {
            if let TrailingOffset::Price(p) = o
                && p % inst.tick != 0
            {
                return Err(RiskReason::PricePrecision);
            }
        }
    }
    if inst.lot != 1 && spec.qty % inst.lot != 0 {
        return Err(RiskReason::QuantityPrecision);
    }
    if spec.qty < inst.min_qty {
        return Err(RiskReason::QuantityBelowMin);
    }

    // -- the instrument's own limits
    let mark = pos.mark;
    let px = prices[0].or(prices[1]).unwrap_or(mark.max(0));
    let sc = scale(inst);
    if let Some(il) = limits.instruments.get(i) {
        if il.max_qty.is_some_and(|m| spec.qty > m) {
            return Err(RiskReason::QuantityAboveMax);
        }
        for p in prices.into_iter().flatten() {
            if il.min_price.is_some_and(|m| p < m) {
                return Err(RiskReason::PriceBelowMin);
            }
            if il.max_price.is_some_and(|m| p > m) {
                return Err(RiskReason::PriceAboveMax);
            }
        }
        if px > 0
            && let Some(m) = il.min_notional
            && money(px as i128 * spec.qty as i128, sc) < m
        {
            return Err(RiskReason::NotionalBelowMin);
        }
    }

    // -- reduce-only
    let side = spec.side;
    let sign = side.sign();
    let mut same = view.orders.working_totals(spec.instrument, side);
    if let Some(o) = own {
        same = same.without(o);
    }
    if spec.reduce_only {
        let cap = if pos.qty.signum() == -sign {
            pos.qty.unsigned_abs() as i128
        } else {
            0
        };
        if same.reduce_only as i128 + open_qty as i128 > cap {
            return Err(RiskReason::ReduceOnly);
        }
    }

    // -- fat-finger band around the mark
    if let Some(bps) = limits.price_band_bps
        && mark > 0
    {
        // bps at 1e-6 bp = fraction at 1e-10; |dev| < 2^64, band < 2^63, mark < 2^63: the
        // products fit
        let band = scaled(bps * 1e6);
        for p in [prices[0], prices[1]].into_iter().flatten() {
            let dev = (p as i128 - mark as i128).abs();
            if dev * FRAC_ONE > band * mark as i128 {
                return Err(RiskReason::PriceBand);
            }
        }
    }

    // -- max notional of one order
    if let Some(m) = limits.max_notional
        && px > 0
        && money(px as i128 * spec.qty as i128, sc) > m
    {
        return Err(RiskReason::MaxNotional);
    }

    // Max position and exposure: two scenarios, since the working same-side orders may fill or
    // not: (B) the position plus this order, (A) the position plus the working orders plus this
    // order. A limit is broken when, in either scenario, the order makes the measured quantity
    // grow and ends above the limit (so an order never pushes a limit further past, and a
    // reducing order never trips one).
    if reduces(pos.qty, sign, same.leaves, open_qty) {
        // fast path: shrinks the position in both scenarios
    } else {
        let s = sign as i128;
        let (p0, w, q) = (pos.qty as i128, same.leaves as i128, open_qty as i128);
        if let Some(max) = limits.instruments.get(i).and_then(|l| l.max_position) {
            let max = max as i128;
            let over = |before: i128, after: i128| after.abs() > before.abs() && after.abs() > max;
            if over(p0, p0 + s * q) || over(p0 + s * w, p0 + s * (w + q)) {
                return Err(RiskReason::MaxPosition);
            }
        }
        let any_exposure = limits.max_concentration.is_some()
            || limits.max_gross_exposure.is_some()
            || limits.max_net_exposure.is_some()
            || limits.max_leverage.is_some();
        if any_exposure && px > 0 {
            check_exposure(
                limits,
                view,
                i,
                sc,
                mark,
                p0,
                s * same.px_qty_at(mark),
                s * px as i128 * q,
            )?;
        }
    }

    Ok(())
}

/// The money limits of [`check_spec`] for the order's instrument `i`: `p0` its position, `wpq`
/// and `opq` the signed `price × qty` (raw) of the working same-side orders and of the order.
#[allow(
    clippy::too_many_arguments,
    reason = "internal: the pieces check_spec already has"
)]
#[inline]
fn check_exposure(
    limits: &RiskLimits,
    view: &RiskView<'_>,
    i: usize,
    sc: i128,
    mark: i64,
    p0: i128,
    wpq: i128,
    opq: i128,
) -> Result<(), RiskReason> {
    let (equity, gross_others, net_others) = account_exposure(view, i);
    let (scen, e) = scenarios(sc, mark, p0, wpq, opq);
    if e > 0 {
        if let Some(c) = limits.max_concentration
            && exceeds(e, equity, fixed(c))
        {
            return Err(RiskReason::Concentration);
        }
        if limits
            .max_gross_exposure
            .is_some_and(|m| gross_others + e > m)
        {
            return Err(RiskReason::GrossExposure);
        }
    }
    if let Some(m) = limits.max_net_exposure
        && scen.iter().any(|&(b, a)| {
            let after = (net_others + a).abs();
            after > (net_others + b).abs() && after > m
        })
    {
        return Err(RiskReason::NetExposure);
    }
    if e > 0
        && let Some(l) = limits.max_leverage
        && exceeds(gross_others + e, equity, fixed(l))
    {
        return Err(RiskReason::Leverage);
    }
    Ok(())
}

/// Equity (cash + every position at its mark), and the gross and net exposure of every
/// instrument but `i`, in money units.
#[inline(always)]
fn account_exposure(view: &RiskView<'_>, i: usize) -> (i128, i128, i128) {
    let mut equity = view.portfolio.cash;
    let mut gross_others: i128 = 0;
    let mut net_others: i128 = 0;
    for (j, (p, ins)) in view
        .portfolio
        .positions
        .iter()
        .zip(view.instruments)
        .enumerate()
    {
        if p.qty != 0 {
            let v = money(p.qty as i128 * p.mark as i128, scale(ins));
            equity += v;
            if j != i {
                gross_others += v.abs();
                net_others += v;
            }
        }
    }
    (equity, gross_others, net_others)
}

/// The order's instrument's exposure (money units) before and after the order, without and with
/// the working same-side orders (`p0` position, `wpq` / `opq` signed raw `price × qty` of the
/// working orders and of the order), and the largest |after| among the scenarios where it grows
/// (0: it grows in none) — what concentration, gross exposure and leverage are judged on.
#[inline(always)]
fn scenarios(sc: i128, mark: i64, p0: i128, wpq: i128, opq: i128) -> ([(i128, i128); 2], i128) {
    let vpos = money(p0 * mark as i128, sc);
    let (vw, vo) = (money(wpq, sc), money(opq, sc));
    // (before, after) of the instrument's exposure, without and with the working orders
    let scen = [(vpos, vpos + vo), (vpos + vw, vpos + vw + vo)];
    let mut e: i128 = 0;
    for (b, a) in scen {
        if a.abs() > b.abs() {
            e = e.max(a.abs());
        }
    }
    (scen, e)
}

/// Everything about one new order except the rate limits and the trading state, in this
/// order: instrument known, precision (tick/lot), instrument min/max (qty, price, notional),
/// reduce-only, price band, max notional, max position (working same-side orders counted),
/// concentration, gross/net exposure, leverage, free balance (working buys counted). See the
/// module docs for what each one counts. No allocation; O(number of instruments) at most.
#[inline]
pub fn check_order(
    limits: &RiskLimits,
    spec: &OrderSpec,
    view: &RiskView<'_>,
) -> Result<(), RiskReason> {
    check_spec(limits, spec, spec.qty, None, view)
}

/// A modify: the order as it would become, checked like a new order (its own working
/// quantity not counted twice). `qty` is the new total quantity (what already filled stays
/// filled: exposure and balance count `qty − filled`); `px` replaces the limit price, `trigger`
/// the trigger (fields the order's kind does not have are left to the venue, which refuses them).
pub fn check_modify(
    limits: &RiskLimits,
    order: &Order,
    qty: Option<i64>,
    px: Option<i64>,
    trigger: Option<i64>,
    view: &RiskView<'_>,
) -> Result<(), RiskReason> {
    let (spec, open_qty, own) = modified(order, qty, px, trigger);
    check_spec(limits, &spec, open_qty, own.as_ref(), view)
}

/// The order as a modify would leave it, what it may still trade, and its own contribution to
/// the working totals (while it works).
fn modified(
    order: &Order,
    qty: Option<i64>,
    px: Option<i64>,
    trigger: Option<i64>,
) -> (OrderSpec, i64, Option<WorkingTotals>) {
    let mut spec = order.spec.clone();
    apply_modify(&mut spec, qty, px, trigger);
    let open_qty = (spec.qty - order.filled).max(0);
    let own = order.status.is_working().then(|| WorkingTotals::of(order));
    (spec, open_qty, own)
}

/// `spec` as a modify would leave it: the given quantity, limit price and trigger (fields the
/// order's kind does not have are left alone: the venue refuses them).
pub fn apply_modify(spec: &mut OrderSpec, qty: Option<i64>, px: Option<i64>, trigger: Option<i64>) {
    if let Some(q) = qty {
        spec.qty = q;
    }
    if let Some(p) = px {
        match &mut spec.kind {
            OrderKind::Limit { px }
            | OrderKind::StopLimit { px, .. }
            | OrderKind::LimitIfTouched { px, .. } => *px = p,
            _ => {}
        }
    }
    if let Some(t) = trigger {
        match &mut spec.kind {
            OrderKind::StopMarket { trigger }
            | OrderKind::MarketIfTouched { trigger }
            | OrderKind::StopLimit { trigger, .. }
            | OrderKind::LimitIfTouched { trigger, .. } => *trigger = t,
            _ => {}
        }
    }
}

/// Whether `spec` only reduces exposure: opposite side to the position and qty ≤ |position|
/// minus the working reducing orders already on that side.
pub fn reduces_exposure(spec: &OrderSpec, view: &RiskView<'_>) -> bool {
    let Some(pos) = view.portfolio.positions.get(spec.instrument as usize) else {
        return false;
    };
    let same = view.orders.working_totals(spec.instrument, spec.side);
    reduces(pos.qty, spec.side.sign(), same.leaves, spec.qty)
}

// ---- the sentences of denials (never on a passing order) ------------------------------------

/// The sentence of a denial of a new order for `reason` by [`check_order`]: the numbers behind
/// it, re-derived with the check's own arithmetic (money with two decimals, prices and
/// quantities at the instrument's precision), e.g. "position 2.500 + working 0.500 + order
/// 1.000 = 4.000 > max_position 3.000". A reason no pre-trade check gives falls back to its
/// [`RiskReason::as_str`].
#[cold]
#[inline(never)]
pub fn explain_order(
    limits: &RiskLimits,
    spec: &OrderSpec,
    view: &RiskView<'_>,
    reason: RiskReason,
) -> String {
    explain_spec(limits, spec, spec.qty, None, view, reason)
}

/// [`explain_order`] for a modify refused by [`check_modify`].
#[cold]
#[inline(never)]
pub fn explain_modify(
    limits: &RiskLimits,
    order: &Order,
    qty: Option<i64>,
    px: Option<i64>,
    trigger: Option<i64>,
    view: &RiskView<'_>,
    reason: RiskReason,
) -> String {
    let (spec, open_qty, own) = modified(order, qty, px, trigger);
    explain_spec(limits, &spec, open_qty, own.as_ref(), view, reason)
}

/// The sentence of a rate limit's denial: "submit rate: more than 20 orders in 1 s".
pub fn explain_rate(limits: &RiskLimits, reason: RiskReason) -> String {
    let (what, unit, limit) = match reason {
        RiskReason::SubmitRate => ("submit", "orders", limits.submit_rate),
        RiskReason::ModifyRate => ("modify", "modifies", limits.modify_rate),
        r => return r.as_str().to_string(),
    };
    match limit {
        Some(r) => format!(
            "{what} rate: more than {} {unit} in {}",
            r.capacity,
            explain::secs(r.interval_ns)
        ),
        None => reason.as_str().to_string(),
    }
}

/// A signed term of a sum, named: "+ order 1.000" / "- working 0.500".
fn term(label: &str, x: i128, dp: u32) -> String {
    let sign = if x < 0 { "-" } else { "+" };
    format!("{sign} {label} {}", format_fixed(x.abs(), dp))
}

/// `after` compared with the limit `max` on its magnitude: "= 4.000 > max" / "= -4.000, |-4.000|
/// > max".
fn beyond(after: i128, dp: u32, name: &str, max: &str) -> String {
    let a = format_fixed(after, dp);
    if after < 0 {
        format!("= {a}, |{a}| > {name} {max}")
    } else {
        format!("= {a} > {name} {max}")
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one sentence per reason, side by side with the checks' order"
)]
fn explain_spec(
    limits: &RiskLimits,
    spec: &OrderSpec,
    open_qty: i64,
    own: Option<&WorkingTotals>,
    view: &RiskView<'_>,
    reason: RiskReason,
) -> String {
    use RiskReason as R;
    let i = spec.instrument as usize;
    let (Some(inst), Some(pos)) = (view.instruments.get(i), view.portfolio.positions.get(i)) else {
        return format!(
            "instrument {} is not one of the run's {} instruments",
            spec.instrument,
            view.instruments.len()
        );
    };
    let sym = &inst.symbol;
    let q = |raw: i64| fmt_qty(inst, raw);
    let p = |raw: i64| fmt_px(inst, raw);
    let sdp = inst.size_dp as u32;
    let prices = stated_prices(&spec.kind);
    let il = limits.instruments.get(i);
    let mark = pos.mark;
    let px = prices[0].or(prices[1]).unwrap_or(mark.max(0));
    let at = if prices[0].or(prices[1]).is_some() {
        format!("at {}", p(px))
    } else {
        format!("at the last price {}", p(px))
    };
    let sc = scale(inst);
    let side = spec.side;
    let sign = side.sign();
    let side_s = side.as_str().to_lowercase();
    let mut same = view.orders.working_totals(spec.instrument, side);
    if let Some(o) = own {
        same = same.without(o);
    }
    let plain = || reason.as_str().to_string();
    // "notional of buy 4 X at 995 = 3980.00 < min_notional 4000.00"
    let notional = |op: &str, name: &str, limit: i128| {
        format!(
            "notional of {side_s} {} {sym} {at} = {} {op} {name} {}",
            q(spec.qty),
            fmt_money(money(px as i128 * spec.qty as i128, sc)),
            fmt_money(limit)
        )
    };
    match reason {
        R::PricePrecision => {
            if let Some(x) = prices
                .into_iter()
                .flatten()
                .find(|&x| inst.tick != 1 && x % inst.tick != 0)
            {
                return format!(
                    "price {} is not on the tick {} of {sym}",
                    p(x),
                    p(inst.tick)
                );
            }
            let offsets = match spec.kind {
                OrderKind::TrailingStopMarket { offset, .. } => [Some(offset), None],
                OrderKind::TrailingStopLimit {
                    offset,
                    limit_offset,
                    ..
                } => [Some(offset), Some(limit_offset)],
                _ => [None, None],
            };
            match offsets.into_iter().flatten().find_map(|o| match o {
                TrailingOffset::Price(x) if x % inst.tick != 0 => Some(x),
                _ => None,
            }) {
                Some(x) => format!(
                    "trailing offset {} is not a multiple of the tick {} of {sym}",
                    p(x),
                    p(inst.tick)
                ),
                None => plain(),
            }
        }
        R::QuantityPrecision => format!(
            "quantity {} is not a multiple of the lot {} of {sym}",
            q(spec.qty),
            q(inst.lot)
        ),
        R::QuantityBelowMin => format!(
            "quantity {} < the minimum {} of {sym}",
            q(spec.qty),
            q(inst.min_qty)
        ),
        R::QuantityAboveMax => match il.and_then(|l| l.max_qty) {
            Some(m) => format!("quantity {} > max_qty {} of {sym}", q(spec.qty), q(m)),
            None => plain(),
        },
        R::PriceBelowMin => {
            if let Some(x) = prices.into_iter().flatten().find(|&x| x <= 0) {
                return format!("price {} is not positive", p(x));
            }
            match il.and_then(|l| l.min_price) {
                Some(m) => match prices.into_iter().flatten().find(|&x| x < m) {
                    Some(x) => format!("price {} < min_price {} of {sym}", p(x), p(m)),
                    None => plain(),
                },
                None => plain(),
            }
        }
        R::PriceAboveMax => match il.and_then(|l| l.max_price) {
            Some(m) => match prices.into_iter().flatten().find(|&x| x > m) {
                Some(x) => format!("price {} > max_price {} of {sym}", p(x), p(m)),
                None => plain(),
            },
            None => plain(),
        },
        R::NotionalBelowMin => il
            .and_then(|l| l.min_notional)
            .map_or_else(plain, |m| notional("<", "min_notional", m)),
        R::ReduceOnly => {
            let cap: i64 = if pos.qty.signum() == -sign {
                pos.qty.abs()
            } else {
                0
            };
            if cap == 0 {
                let why = if pos.qty == 0 {
                    "the position is flat: nothing to reduce".to_string()
                } else {
                    format!("a {side_s} would grow the position {}", q(pos.qty))
                };
                format!("reduce-only {side_s} {} {sym}: {why}", q(open_qty))
            } else {
                let w = same.reduce_only;
                format!(
                    "reduce-only {side_s} {} + working reduce-only {} = {} > the position {} it can reduce",
                    q(open_qty),
                    q(w),
                    format_fixed(open_qty as i128 + w as i128, sdp),
                    q(cap)
                )
            }
        }
        R::PriceBand => {
            let Some(bps) = limits.price_band_bps.filter(|_| mark > 0) else {
                return plain();
            };
            let band = scaled(bps * 1e6);
            match [prices[0], prices[1]]
                .into_iter()
                .flatten()
                .find(|&x| (x as i128 - mark as i128).abs() * FRAC_ONE > band * mark as i128)
            {
                Some(x) => {
                    let dev = (x as f64 - mark as f64).abs() / mark as f64 * 1e4;
                    format!(
                        "price {} is {} bps from the last price {}, beyond the band of {} bps",
                        p(x),
                        explain::shown_vs(dev, bps, 1),
                        p(mark),
                        explain::figure(bps)
                    )
                }
                None => plain(),
            }
        }
        R::MaxNotional => limits
            .max_notional
            .map_or_else(plain, |m| notional(">", "max_notional", m)),
        R::MaxPosition => {
            let Some(max) = il.and_then(|l| l.max_position) else {
                return plain();
            };
            let s = sign as i128;
            let (p0, w, qq) = (pos.qty as i128, same.leaves as i128, open_qty as i128);
            let m = max as i128;
            let over = |before: i128, after: i128| after.abs() > before.abs() && after.abs() > m;
            let maxs = q(max);
            if over(p0, p0 + s * qq) {
                format!(
                    "position {} {} {}",
                    format_fixed(p0, sdp),
                    term("order", s * qq, sdp),
                    beyond(p0 + s * qq, sdp, "max_position", &maxs)
                )
            } else {
                format!(
                    "position {} {} {} {}",
                    format_fixed(p0, sdp),
                    term("working", s * w, sdp),
                    term("order", s * qq, sdp),
                    beyond(p0 + s * (w + qq), sdp, "max_position", &maxs)
                )
            }
        }
        R::Concentration | R::GrossExposure | R::NetExposure | R::Leverage => {
            let (equity, gross_others, net_others) = account_exposure(view, i);
            let s = sign as i128;
            let (scen, e) = scenarios(
                sc,
                mark,
                pos.qty as i128,
                s * same.px_qty_at(mark),
                s * px as i128 * open_qty as i128,
            );
            let eq = fmt_money(equity);
            // "gross exposure would be 52000.00 (X 42000.00 + other instruments 10000.00) > ..."
            let total = |what: &str, after: i128, this: i128, others: i128, limit: Option<i128>| {
                format!(
                    "{what} exposure would be {} ({sym} {} + other instruments {}) > max_{what}_exposure {}",
                    fmt_money(after),
                    fmt_money(this),
                    fmt_money(others),
                    fmt_money(limit.unwrap_or(0))
                )
            };
            // any exposure is too much without a positive equity
            let not_positive = |what: String| {
                format!("equity {eq} is not positive: no exposure may be added ({what})")
            };
            match reason {
                R::Concentration => {
                    let c = limits.max_concentration.unwrap_or(f64::NAN);
                    if equity <= 0 {
                        not_positive(format!("{sym} would be {}", fmt_money(e)))
                    } else {
                        let share = e as f64 / equity as f64;
                        format!(
                            "exposure of {sym} would be {} = {} % of equity {eq} > max_concentration {} %",
                            fmt_money(e),
                            explain::pct_vs(share, c),
                            explain::pct(c)
                        )
                    }
                }
                R::GrossExposure => total(
                    "gross",
                    gross_others + e,
                    e,
                    gross_others,
                    limits.max_gross_exposure,
                ),
                R::NetExposure => {
                    let m = limits.max_net_exposure.unwrap_or(0);
                    // the scenario that breaks it, as the check finds it
                    let a = scen
                        .iter()
                        .find(|&&(b, a)| {
                            let after = (net_others + a).abs();
                            after > (net_others + b).abs() && after > m
                        })
                        .map_or(scen[1].1, |&(_, a)| a);
                    total(
                        "net",
                        (net_others + a).abs(),
                        a,
                        net_others,
                        limits.max_net_exposure,
                    )
                }
                _ => {
                    let l = limits.max_leverage.unwrap_or(f64::NAN);
                    let gross = gross_others + e;
                    if equity <= 0 {
                        not_positive(format!("gross would be {}", fmt_money(gross)))
                    } else {
                        let lev = gross as f64 / equity as f64;
                        format!(
                            "leverage would be {}x > max_leverage {}x (gross {} on equity {eq})",
                            explain::shown_vs(lev, l, 2),
                            explain::figure(l),
                            fmt_money(gross)
                        )
                    }
                }
            }
        }
        R::SubmitRate | R::ModifyRate => explain_rate(limits, reason),
        _ => plain(),
    }
}
