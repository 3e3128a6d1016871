//! The bar fill model: how working orders trade against OHLCV bars.
//!
//! What it assumes (a bar only tells four prices and a volume, so each rule is a choice):
//! - **Intrabar path**: within a bar the price moves open → high → low → close or
//!   open → low → high → close, in straight lines. [`IntrabarPath::Proximity`] (default) visits
//!   first the extreme nearer the open (the high on a tie); `HighFirst`/`LowFirst` fix it. Every
//!   trigger and limit is resolved in the order the path reaches it, so with a bracket the path
//!   decides whether the stop-loss or the take-profit comes first, and a trailing stop's trigger
//!   follows the path (it moves at the open and at each extreme, and can be hit on the way back).
//! - **The open is a jump** from the previous close: everything the jump crosses acts at the
//!   open price. Orders arriving before a bar (zero latency: sent during an earlier bar) rest
//!   before its open.
//! - **Market** orders (and stops/MIT/trailing stops once triggered) take liquidity: they fill at
//!   the open of the first bar they take part in (or, in [`super::FillAt::Close`] mode, at the
//!   close of the bar they arrive in), moved against the trader by the slippage.
//! - **Stops** (stop-market, trailing stop market) fill at the trigger, or at the open when the
//!   bar gaps through it (worse), plus slippage. **MIT** fills at the trigger, or at the open on a
//!   gap (better), plus slippage. **Stop-limit / LIT / trailing stop limit**: on trigger, if the
//!   limit is marketable at the trigger price it fills there as a taker (never beyond the limit),
//!   else it rests as a limit order.
//! - **Limit** orders resting before the bar fill at the limit when the path reaches it, or at
//!   the open when the bar gaps through it (better), as makers, without slippage. A limit that is
//!   **marketable when it reaches the market** takes liquidity: one arriving at this bar's open
//!   through its limit (a buy limit 105 arriving with the open at 100), or one that becomes
//!   working in the middle of a bar already marketable (a released bracket leg, a modify), fills
//!   at once as a taker: taker fee, slippage on the market price, capped at its limit (a
//!   post-only one is canceled instead, as the venue rejects a post-only order that would take).
//! - **The account** (see [`crate::portfolio`]): before every fill the venue asks the account what
//!   it can carry ([`crate::portfolio::Portfolio::fill_capacity`]); a fill the account cannot pay
//!   for (a cash buy beyond the cash, a spot sale beyond the holdings, a margin opening beyond the
//!   free margin, fees included) fills what fits and the rest of the order is canceled with the
//!   account's reason. Every fill is applied to the account at once.
//! - **Volume cap** (`volume_cap`): at most that fraction of the bar's volume (rounded down to the
//!   lot) fills per bar over all the orders of the instrument, in path order; what is left stays
//!   working (`PartiallyFilled`) and continues in the next bar.
//! - **Display quantity** (iceberg): one visible slice per bar: at most `display_qty` of an
//!   iceberg fills in one bar (the refill goes to the back of the queue).
//! - **IOC / FOK** act only at the open of their first bar (or at the close in close mode): what
//!   does not fill there is canceled (`IocRemainder`); a FOK that cannot fill in full there
//!   (volume cap, display, reduce-only) is canceled without trading (`FokCannotFill`).
//! - **GTD / DAY** orders expire at the first bar whose timestamp is at or past the expiry
//!   (DAY: the end of the UTC day the order was accepted in), before it trades.
//! - **Reduce-only** fills are capped at the position; one that touches with nothing left to
//!   reduce is canceled. Fills carry the bar's timestamp.

use super::SimVenue;
use crate::model::{
    Bar, Fill, Instrument, Liquidity, OrderEvent, OrderId, OrderKind, OrderStatus, Reason, Side,
    TimeInForce,
};
use crate::portfolio::Portfolio;

/// The order in which a bar visits its extremes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntrabarPath {
    /// The extreme nearer the open comes first (the high on a tie).
    #[default]
    Proximity,
    HighFirst,
    LowFirst,
}

impl IntrabarPath {
    /// The four points of the path: open, first extreme, second extreme, close.
    pub fn points(self, bar: &Bar) -> [i64; 4] {
        let high_first = match self {
            Self::HighFirst => true,
            Self::LowFirst => false,
            Self::Proximity => bar.high - bar.open <= bar.open - bar.low,
        };
        if high_first {
            [bar.open, bar.high, bar.low, bar.close]
        } else {
            [bar.open, bar.low, bar.high, bar.close]
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cross {
    /// The price is at or above the level.
    Above(i64),
    /// The price is at or below the level.
    Below(i64),
}

/// The first price on the straight path `a → b` where `c` holds (`a` itself if it already does).
#[inline]
fn touch(a: i64, b: i64, c: Cross) -> Option<i64> {
    match c {
        Cross::Above(l) if a >= l => Some(a),
        Cross::Above(l) if b >= l => Some(l),
        Cross::Below(l) if a <= l => Some(a),
        Cross::Below(l) if b <= l => Some(l),
        _ => None,
    }
}

/// Matching state for one bar of one instrument.
pub(super) struct Matcher<'a> {
    pub venue: &'a mut SimVenue,
    /// The account: every fill is checked against it first (what it can carry) and applied to it
    /// at once, so the next fill of the same bar sees the balance it left.
    acct: &'a mut Portfolio,
    inst: &'a Instrument,
    bar: &'a Bar,
    bar_index: u64,
    /// Quantity the volume cap still allows in this bar (i64::MAX: no cap).
    budget: i64,
    /// Iceberg quantity filled in this bar, per order.
    shown: Vec<(OrderId, i64)>,
}

impl<'a> Matcher<'a> {
    pub fn new(
        venue: &'a mut SimVenue,
        acct: &'a mut Portfolio,
        inst: &'a Instrument,
        bar: &'a Bar,
        bar_index: u64,
    ) -> Self {
        let k = bar.instrument as usize;
        let budget = match venue.config.volume_cap {
            None => i64::MAX,
            Some(_) if venue.budget[k].0 == bar_index => venue.budget[k].1,
            Some(cap) => {
                let raw = (bar.volume * inst.size_scale * cap).floor();
                let raw = if raw.is_finite() && raw > 0.0 {
                    raw.min(9.0e18) as i64
                } else {
                    0
                };
                raw - raw % inst.lot
            }
        };
        Self {
            venue,
            acct,
            inst,
            bar,
            bar_index,
            budget,
            shown: Vec::new(),
        }
    }

    /// Keep what is left of the volume budget for later fills in the same bar.
    pub fn finish(self) {
        if self.venue.config.volume_cap.is_some() {
            self.venue.budget[self.bar.instrument as usize] = (self.bar_index, self.budget);
        }
    }

    /// How much of `id` the bar still lets fill (volume cap, iceberg slice), before the order's
    /// own cap (leaves, reduce-only).
    fn room(&self, id: OrderId, display: Option<i64>) -> i64 {
        let mut r = self.budget;
        if let Some(d) = display {
            let used = self.shown.iter().find(|x| x.0 == id).map_or(0, |x| x.1);
            r = r.min(d - used);
        }
        r
    }

    /// Fill as much of `id` as the bar, the order and the account allow at `px`. Reduce-only
    /// with nothing to reduce: canceled. FOK that cannot fill in full: canceled. What the account
    /// cannot carry ([`Portfolio::fill_capacity`]) is not filled: the order fills what it can and
    /// the rest is canceled with the account's reason.
    pub fn fill(
        &mut self,
        id: OrderId,
        px: i64,
        liq: Liquidity,
        ts: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let orders = &mut self.venue.orders;
        let Some(o) = orders.get(id) else { return };
        let cap = orders.fill_cap(o);
        let (leaves, tif, display, side) =
            (o.leaves(), o.spec.tif, o.spec.display_qty, o.spec.side);
        let exit = crate::portfolio::Exit::of(&o.spec.kind, o.parent.is_some());
        if cap == 0 {
            orders.cancel_with(id, Reason::ReduceOnlyWouldIncrease, ts, events);
            return;
        }
        let q = cap.min(self.room(id, display));
        if tif == TimeInForce::Fok && q < leaves {
            self.venue
                .orders
                .cancel_with(id, Reason::FokCannotFill, ts, events);
            return;
        }
        if q <= 0 {
            return;
        }
        let rate = self.venue.fee_model.max_rate(liq);
        let (q, short) = self
            .acct
            .fill_capacity(self.inst, self.bar.instrument, side, px, q, rate);
        if let Some(why) = short
            && (q == 0 || tif == TimeInForce::Fok)
        {
            self.venue.orders.cancel_with(id, why, ts, events);
            return;
        }
        let fee = self.venue.fee(self.inst, px, q, liq, self.bar.ts);
        self.venue
            .orders
            .apply_fill(id, px, q, liq, fee, ts, fills, events);
        if let Some(f) = fills.last() {
            self.acct.apply_exit(self.inst, f, exit);
        }
        if self.budget != i64::MAX {
            self.budget -= q;
        }
        if display.is_some() {
            match self.shown.iter_mut().find(|x| x.0 == id) {
                Some(x) => x.1 += q,
                None => self.shown.push((id, q)),
            }
        }
        if let Some(why) = short {
            self.venue.orders.cancel_with(id, why, ts, events);
        }
    }

    /// Where on `a → b` the `j`-th working order acts next: (price, is a trigger).
    fn evaluate(&self, j: usize, a: i64, b: i64, at_open: bool) -> Option<(i64, bool)> {
        let o = self.venue.orders.working_at(self.bar.instrument, j);
        let id = o.id();
        if o.first_bar > self.bar_index {
            return None;
        }
        if !at_open && matches!(o.spec.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            return None;
        }
        let buy = o.spec.side == Side::Buy;
        if o.status == OrderStatus::Accepted && o.spec.kind.is_conditional() {
            let c = match o.spec.kind {
                OrderKind::StopMarket { trigger } | OrderKind::StopLimit { trigger, .. } => {
                    if buy {
                        Cross::Above(trigger)
                    } else {
                        Cross::Below(trigger)
                    }
                }
                OrderKind::MarketIfTouched { trigger }
                | OrderKind::LimitIfTouched { trigger, .. } => {
                    if buy {
                        Cross::Below(trigger)
                    } else {
                        Cross::Above(trigger)
                    }
                }
                _ => {
                    let t = o.trail_trigger?;
                    if buy {
                        Cross::Above(t)
                    } else {
                        Cross::Below(t)
                    }
                }
            };
            return touch(a, b, c).map(|p| (p, true));
        }
        if self.room(id, o.spec.display_qty) <= 0 {
            return None;
        }
        match o.limit_price() {
            None => Some((a, false)),
            Some(l) => {
                let c = if buy {
                    Cross::Below(l)
                } else {
                    Cross::Above(l)
                };
                touch(a, b, c).map(|p| (p, false))
            }
        }
    }

    /// Run the path piece `a → b` (`a == b` at the open): act on the orders in the order the
    /// path reaches them, ties in arrival order, until none acts.
    fn run(
        &mut self,
        a: i64,
        b: i64,
        at_open: bool,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let k = self.bar.instrument;
        let mut cur = a;
        // Each step fills (leaves and budget shrink) or changes a status, so this ends; the
        // guard only turns a logic error into a debug panic instead of a hang.
        for _guard in 0..1_000_000 {
            let mut best: Option<(i64, OrderId, i64, bool)> = None;
            let n = self.venue.orders.working_ids(k).len();
            for j in 0..n {
                if let Some((lvl, trig)) = self.evaluate(j, cur, b, at_open) {
                    let id = self.venue.orders.working_ids(k)[j];
                    let d = (lvl - cur).abs();
                    if best.is_none_or(|x| d < x.0) {
                        best = Some((d, id, lvl, trig));
                    }
                }
            }
            let Some((_, id, lvl, trig)) = best else {
                return;
            };
            cur = lvl;
            if trig {
                self.on_trigger(id, lvl, events, fills);
            } else {
                self.on_touch(id, lvl, at_open, events, fills);
            }
        }
        debug_assert!(false, "bar matching did not settle");
    }

    fn on_trigger(
        &mut self,
        id: OrderId,
        lvl: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let ts = self.bar.ts;
        self.venue.orders.trigger(id, ts, events);
        let Some(o) = self.venue.orders.get(id) else {
            return;
        };
        let (side, leaves, post_only) = (o.spec.side, o.leaves(), o.spec.post_only);
        match o.limit_price() {
            None => {
                let px = self.venue.taker_px(self.inst, side, lvl, leaves, self.bar);
                self.fill(id, px, Liquidity::Taker, ts, events, fills);
            }
            Some(l) => {
                let marketable = match side {
                    Side::Buy => lvl <= l,
                    Side::Sell => lvl >= l,
                };
                if !marketable {
                    return; // rests as a limit order
                }
                if post_only {
                    self.venue
                        .orders
                        .cancel_with(id, Reason::PostOnlyWouldTake, ts, events);
                    return;
                }
                let px = self.venue.taker_px(self.inst, side, lvl, leaves, self.bar);
                let px = match side {
                    Side::Buy => px.min(l),
                    Side::Sell => px.max(l),
                };
                self.fill(id, px, Liquidity::Taker, ts, events, fills);
            }
        }
    }

    fn on_touch(
        &mut self,
        id: OrderId,
        lvl: i64,
        at_open: bool,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let ts = self.bar.ts;
        let Some(o) = self.venue.orders.get(id) else {
            return;
        };
        let (side, leaves, post_only) = (o.spec.side, o.leaves(), o.spec.post_only);
        match o.limit_price() {
            None => {
                let px = self.venue.taker_px(self.inst, side, lvl, leaves, self.bar);
                self.fill(id, px, Liquidity::Taker, ts, events, fills);
            }
            Some(l) if (at_open && !self.arrives_now(id)) || lvl == l => {
                self.fill(id, lvl, Liquidity::Maker, ts, events, fills)
            }
            Some(l) => {
                // Marketable when it reached the market (at this bar's open, or mid-bar: a
                // released bracket leg, a modify): it takes, its slippage capped at its limit.
                if post_only {
                    self.venue
                        .orders
                        .cancel_with(id, Reason::PostOnlyWouldTake, ts, events);
                    return;
                }
                let px = self.venue.taker_px(self.inst, side, lvl, leaves, self.bar);
                let px = match side {
                    Side::Buy => px.min(l),
                    Side::Sell => px.max(l),
                };
                self.fill(id, px, Liquidity::Taker, ts, events, fills);
            }
        }
    }

    /// Whether order `id` reaches the market at this bar (it was not resting on the book before
    /// the bar's open): a limit marketable then takes liquidity.
    #[inline]
    fn arrives_now(&self, id: OrderId) -> bool {
        self.venue
            .orders
            .get(id)
            .is_some_and(|o| o.first_bar == self.bar_index)
    }

    /// Let the trailing stops that take part in this bar see price `px`.
    fn trail_point(&mut self, px: i64) {
        if !self.venue.orders.any_trailing() {
            return;
        }
        let k = self.bar.instrument;
        let n = self.venue.orders.working_ids(k).len();
        for j in 0..n {
            if self.venue.orders.working_at(k, j).first_bar <= self.bar_index {
                self.venue.orders.update_trail_at(k, j, px);
            }
        }
    }

    /// Cancel what is left of IOC / FOK orders that had their one chance in this bar.
    fn end_immediate(&mut self, events: &mut Vec<OrderEvent>) {
        if !self.venue.orders.any_immediate() {
            return;
        }
        let k = self.bar.instrument;
        let ids: Vec<OrderId> = self
            .venue
            .orders
            .working(k)
            .filter(|o| {
                o.first_bar <= self.bar_index
                    && matches!(o.spec.tif, TimeInForce::Ioc | TimeInForce::Fok)
            })
            .map(|o| o.id())
            .collect();
        for id in ids {
            let reason = match self.venue.orders.get(id).map(|o| o.spec.tif) {
                Some(TimeInForce::Fok) => Reason::FokCannotFill,
                _ => Reason::IocRemainder,
            };
            self.venue
                .orders
                .cancel_with(id, reason, self.bar.ts, events);
        }
    }

    /// Expire the GTD / DAY orders whose time is up by this bar.
    fn expire_due(&mut self, events: &mut Vec<OrderEvent>) {
        if !self.venue.orders.any_expiring() {
            return;
        }
        let k = self.bar.instrument;
        let ts = self.bar.ts;
        let due: Vec<OrderId> = self
            .venue
            .orders
            .working(k)
            .filter(|o| o.expire_ts.is_some_and(|e| e <= ts))
            .map(|o| o.id())
            .collect();
        for id in due {
            self.venue.orders.expire(id, ts, events);
        }
    }

    /// The whole bar: expiries, the open, IOC/FOK ends, then the path from extreme to extreme.
    pub fn run_bar(&mut self, events: &mut Vec<OrderEvent>, fills: &mut Vec<Fill>) {
        let bar = *self.bar;
        self.expire_due(events);
        self.venue.orders.release_from = self.bar_index;
        self.trail_point(bar.open);
        self.run(bar.open, bar.open, true, events, fills);
        self.end_immediate(events);
        if self.venue.orders.working_ids(bar.instrument).is_empty() {
            return;
        }
        let pts = self.venue.config.path.points(&bar);
        let mut a = bar.open;
        for &b in &pts[1..] {
            if b != a {
                self.run(a, b, false, events, fills);
                self.trail_point(b);
                a = b;
            }
        }
        // IOC/FOK released during the bar (e.g. bracket legs) had no open to act at.
        self.end_immediate(events);
    }
}

impl SimVenue {
    /// Match the working orders of `bar`'s instrument against it (see the module docs).
    #[inline(never)]
    pub(super) fn match_bar(
        &mut self,
        acct: &mut Portfolio,
        inst: &Instrument,
        bar: &Bar,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let mut m = Matcher::new(self, acct, inst, bar, bar_index);
        m.run_bar(events, fills);
        m.finish();
    }
}
