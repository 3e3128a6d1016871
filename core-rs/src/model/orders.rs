//! The order manager: the trader's own order state, for every mode and every venue (the bar
//! venue, the tick/L2 matcher and a live node's remote venue drive the same API). It owns every
//! order by client id (closed ones are kept for the reports), the working orders per instrument
//! in arrival order, and the contingent lists, and it is the only place an [`OrderStatus`]
//! changes. It lives in the model, below the risk engine (which reads working orders and their
//! totals from it) and the venues (which drive it); `crate::venue::orders` re-exports it.
//!
//! What it guarantees:
//! - **Idempotent ids**: a second submission with an id already seen is `Denied(DuplicateOrderId)`
//!   and nothing else happens (the original order is untouched, never executed twice).
//! - **One state machine**: every status change is checked against [`OrderStatus::can_become`]
//!   (a `debug_assert`), and no status is skipped: an order is `Submitted` before it is
//!   `Accepted`, `Accepted` before it is `Triggered`, and so on. Each change emits one event.
//! - **Fills** ([`Orders::apply_fill`]) never exceed the leaves quantity; `filled + leaves = qty`
//!   holds at every step; the contingency consequences run right after the fill:
//!   - OCO: a full fill of one leg cancels the others (`OcoSibling`); a partial fill of `q`
//!     reduces every other leg's leaves by `q` (`Updated`; a leg left with nothing is canceled),
//!     so the legs together never fill more than one leg's quantity. A leg canceled on request
//!     takes the others with it.
//!   - OTO / bracket: the children wait off-venue (`Submitted`) until the parent's first fill,
//!     then are accepted sized to the parent's filled quantity, and grow with `Updated` as the
//!     parent fills more. A parent closed (canceled, rejected, expired) before any fill cancels
//!     them (`ParentClosed`); after a partial fill they stay, sized to what filled. A bracket's
//!     take-profit and stop-loss are an OCO pair. Once that pair is done, further entry fills are
//!     not protected (the pair cannot reopen).
//! - **Reduce-only**: refused on acceptance when it could not reduce the position, capped at the
//!   position at every fill ([`Orders::fill_cap`]) and canceled when the position it reduces is
//!   gone. The manager keeps the net position per instrument from the fills it applied.
//! - **Trailing stops**: the trigger trails the best price seen since it was armed by the offset
//!   (price, bps of the reference rounded to the tick away from the market, or ticks) and only
//!   moves in the order's favour ([`Orders::update_trail`]); with an activation price the trail
//!   starts once the market reaches it. A trailing stop limit gets its limit at trigger ∓
//!   `limit_offset` (sells below, buys above) when it triggers. Trigger moves emit no event.
//!
//! Venues drive it with: [`Orders::register`] / [`Orders::register_list`] (send time),
//! [`Orders::accept`] / [`Orders::accept_list`] (arrival at the venue), [`Orders::apply_fill`],
//! [`Orders::trigger`], [`Orders::cancel`], [`Orders::expire`], [`Orders::modify`] and the
//! read-only [`Orders::get`] / [`Orders::working`].

use std::collections::HashMap;

use super::fixed::{div_ceil, div_floor};
pub use super::order::{WorkingOrders, WorkingTotals};
use super::{
    Bps, Fill, Instrument, InstrumentId, Liquidity, ListId, ListKind, Order, OrderEvent,
    OrderEventKind, OrderId, OrderKind, OrderSpec, OrderStatus, Reason, Side, TimeInForce,
    TrailingOffset,
};

/// One UTC day in nanoseconds (DAY orders expire at the next multiple of it).
pub const DAY_NS: i64 = 86_400_000_000_000;

/// Hashes an order id so that consecutive ids land in consecutive buckets (the usual case:
/// increasing ids) while the tag bits still vary.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).rotate_left(5);
        }
    }
    fn write_u64(&mut self, x: u64) {
        // low bits pick the bucket; the top 7 (hashbrown's tag) repeat the low 7
        self.0 = x ^ (x << 57);
    }
}

type IdBuild = std::hash::BuildHasherDefault<IdHasher>;

/// Every order in registration order, found by id. Ids that continue a run of consecutive ids
/// from the first one (the usual case: the engine and the Python context count up from 1) are
/// found by position with no hashing; any other id goes through the index.
// NB: with SipHash and the orders inside a HashMap, 1M orders took 3.6 s in the every-bar bench
// (0.73 s before the manager); this store keeps consecutive ids out of the hash table.
// NB: in chunks, not one Vec: regrowing one Vec of 1M orders (272 bytes each) spent ~35% of
// the every-bar venue bench in memmove and page faults. What is left of that cost is the first
// write of each order (the store keeps every order for the reports): a smaller `Order` is the
// lever (most of its 272 bytes are `Option<i64>` fields and the i128 notional).
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

#[derive(Debug, Default)]
struct OrderStore {
    /// Chunks of `CHUNK` orders (the last one partly filled); never moved once written.
    chunks: Vec<Vec<Order>>,
    len: usize,
    /// Id of the first order; the `dense` first orders sit at position `id - base`.
    base: OrderId,
    /// How many leading orders have id `base + position`.
    dense: usize,
    index: HashMap<OrderId, u32, IdBuild>,
}

impl OrderStore {
    #[inline]
    fn pos(&self, id: OrderId) -> Option<usize> {
        let k = id.wrapping_sub(self.base);
        if k < self.dense as u64 {
            return Some(k as usize);
        }
        if self.index.is_empty() {
            return None;
        }
        self.index.get(&id).map(|&i| i as usize)
    }
    #[inline]
    fn get(&self, id: &OrderId) -> Option<&Order> {
        self.pos(*id)
            .map(|i| &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)])
    }
    #[inline]
    fn get_mut(&mut self, id: &OrderId) -> Option<&mut Order> {
        self.pos(*id)
            .map(|i| &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)])
    }
    #[inline]
    fn at(&self, p: u32) -> &Order {
        let i = p as usize;
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
    #[inline]
    fn at_mut(&mut self, p: u32) -> &mut Order {
        let i = p as usize;
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
    fn iter(&self) -> impl Iterator<Item = &Order> {
        self.chunks.iter().flatten()
    }
    #[inline]
    fn contains_key(&self, id: &OrderId) -> bool {
        self.pos(*id).is_some()
    }
    fn insert(&mut self, o: Order) {
        let id = o.id();
        let n = self.len;
        if n == 0 {
            self.base = id;
        }
        if self.dense == n && id.wrapping_sub(self.base) == n as u64 {
            self.dense += 1;
        } else {
            self.index.insert(id, n as u32);
        }
        if n & (CHUNK - 1) == 0 {
            self.chunks.push(spare_chunk());
        }
        self.chunks.last_mut().expect("a chunk").push(o);
        self.len += 1;
    }
}

/// Chunks of finished runs' stores, kept for the next run's store. A parameter sweep runs many
/// backtests in one process: reusing the chunks saves the first touch of fresh pages (each chunk
/// is its own mmap, returned to the OS when freed). At most `SPARE_MAX` chunks (~17 MB) are kept.
static SPARE_CHUNKS: std::sync::Mutex<Vec<Vec<Order>>> = std::sync::Mutex::new(Vec::new());
const SPARE_MAX: usize = 64;

fn spare_chunk() -> Vec<Order> {
    let spare = SPARE_CHUNKS.lock().ok().and_then(|mut s| s.pop());
    spare.unwrap_or_else(|| Vec::with_capacity(CHUNK))
}

impl Drop for OrderStore {
    fn drop(&mut self) {
        if self.chunks.is_empty() {
            return;
        }
        let Ok(mut spare) = SPARE_CHUNKS.lock() else {
            return; // a poisoned lock only costs the reuse
        };
        for mut c in self.chunks.drain(..) {
            if spare.len() >= SPARE_MAX {
                break;
            }
            c.clear();
            spare.push(c);
        }
    }
}

/// A checkpoint holds the orders in registration order; restoring inserts them again (the
/// dense run and the index come back as they were).
impl serde::Serialize for OrderStore {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for o in self.iter() {
            seq.serialize_element(o)?;
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for OrderStore {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let orders = Vec::<Order>::deserialize(d)?;
        let mut store = OrderStore::default();
        for o in orders {
            store.insert(o);
        }
        Ok(store)
    }
}

impl std::ops::Index<&OrderId> for OrderStore {
    type Output = Order;
    #[inline]
    fn index(&self, id: &OrderId) -> &Order {
        self.get(id).expect("known order id")
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct InstSpec {
    tick: i64,
    lot: i64,
    min_qty: i64,
}

/// Index of a side in per-side tables.
#[inline]
fn side_ix(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// A contingent list as the manager keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderList {
    pub kind: ListKind,
    /// The legs in the order given ([entry, take-profit, stop-loss] for a bracket).
    pub ids: Vec<OrderId>,
}

/// Every order of a run, by id, and the working ones per instrument.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Orders {
    all: OrderStore,
    /// Per instrument: the orders at the venue able to trade or trigger, in arrival order.
    working: Vec<Vec<OrderId>>,
    /// Their positions in the store, in step with `working` (scans need no id lookup).
    working_pos: Vec<Vec<u32>>,
    /// Per instrument, per side (buy, sell): totals of the working orders.
    totals: Vec<[WorkingTotals; 2]>,
    lists: HashMap<ListId, OrderList, IdBuild>,
    children: HashMap<OrderId, Vec<OrderId>, IdBuild>,
    positions: Vec<i64>,
    insts: Vec<InstSpec>,
    last_id: OrderId,
    n_working: usize,
    /// Working orders that are trailing stops / IOC-FOK / GTD-DAY (so venues can skip the
    /// per-point work when there are none).
    n_trailing: usize,
    n_immediate: usize,
    n_expiring: usize,
    /// The bar index from which orders accepted or released now may trade (set by bar venues;
    /// other venues leave it at 0).
    pub release_from: u64,
}

impl WorkingOrders for Orders {
    #[inline]
    fn working_totals(&self, instrument: InstrumentId, side: Side) -> WorkingTotals {
        Orders::working_totals(self, instrument, side)
    }
}

#[inline]
fn transition(o: &mut Order, next: OrderStatus, ts: i64) {
    debug_assert!(
        o.status.can_become(next),
        "order {}: {:?} -> {:?} is not a legal transition",
        o.id(),
        o.status,
        next
    );
    o.status = next;
    o.ts_last = ts;
}

#[inline]
fn ev(events: &mut Vec<OrderEvent>, id: OrderId, ts: i64, kind: OrderEventKind) {
    events.push(OrderEvent { id, ts, kind });
}

/// `px` rounded down (`up = false`) or up to a multiple of `tick`.
#[inline]
fn to_tick(px: i128, tick: i64, up: bool) -> i64 {
    let t = tick as i128;
    let q = if up {
        div_ceil(px, t)
    } else {
        div_floor(px, t)
    };
    (q * t).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The size of a trailing offset at reference price `reference`, in raw price units, rounded
/// up to the tick (so the trigger rounds away from the market).
pub fn offset_amount(offset: TrailingOffset, reference: i64, tick: i64) -> i64 {
    match offset {
        TrailingOffset::Price(p) => p,
        TrailingOffset::Ticks(n) => n.saturating_mul(tick),
        TrailingOffset::Bps(Bps(b)) => {
            // NB: the trail moves at every path point; in 64 bits (when the product fits) the
            // division by the constant becomes a multiply: the 128-bit one was ~60% of the
            // brackets-with-trailing-stops bench.
            match (reference as u64).checked_mul(b as u64) {
                Some(p) if reference >= 0 && b >= 0 && tick > 0 => {
                    let off = p.div_ceil(Bps::ONE as u64);
                    let t = tick as u64;
                    off.div_ceil(t).saturating_mul(t).min(i64::MAX as u64) as i64
                }
                _ => to_tick(
                    div_ceil(reference as i128 * b as i128, Bps::ONE),
                    tick,
                    true,
                ),
            }
        }
    }
}

/// The trailing trigger for best price `best`: sells sit below it, buys above.
pub fn trail_trigger(side: Side, offset: TrailingOffset, best: i64, tick: i64) -> i64 {
    let off = offset_amount(offset, best, tick);
    match side {
        Side::Sell => best.saturating_sub(off),
        Side::Buy => best.saturating_add(off),
    }
}

/// The limit of a triggered trailing stop limit: `limit_offset` beyond the trigger (sells below).
pub fn trail_limit(side: Side, limit_offset: TrailingOffset, trigger: i64, tick: i64) -> i64 {
    let off = offset_amount(limit_offset, trigger, tick);
    match side {
        Side::Sell => trigger.saturating_sub(off),
        Side::Buy => trigger.saturating_add(off),
    }
}

fn check_px(px: i64, tick: i64) -> Result<(), Reason> {
    if px <= 0 {
        return Err(Reason::NonPositivePrice);
    }
    if px % tick != 0 {
        return Err(Reason::PriceNotMultipleOfTick);
    }
    Ok(())
}

fn check_offset(o: TrailingOffset, tick: i64) -> Result<(), Reason> {
    match o {
        TrailingOffset::Price(p) => check_px(p, tick),
        TrailingOffset::Ticks(n) if n > 0 => Ok(()),
        TrailingOffset::Bps(Bps(b)) if b > 0 => Ok(()),
        _ => Err(Reason::InvalidOrder),
    }
}

impl Orders {
    pub fn new(instruments: &[Instrument]) -> Self {
        Self {
            working: vec![Vec::new(); instruments.len()],
            working_pos: vec![Vec::new(); instruments.len()],
            totals: vec![[WorkingTotals::default(); 2]; instruments.len()],
            positions: vec![0; instruments.len()],
            insts: instruments
                .iter()
                .map(|i| InstSpec {
                    tick: i.tick,
                    lot: i.lot,
                    min_qty: i.min_qty,
                })
                .collect(),
            ..Self::default()
        }
    }

    // ---- read-only API -------------------------------------------------------------------

    #[inline]
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        self.all.get(&id)
    }

    /// Record the market price when order `id` was sent (reports measure slippage against it).
    pub fn set_arrival(&mut self, id: OrderId, px: Option<i64>) {
        if let Some(o) = self.all.get_mut(&id) {
            o.arrival_px = px;
        }
    }

    /// The working orders of `instrument` (accepted, triggered or partly filled), arrival order.
    pub fn working(&self, instrument: InstrumentId) -> impl Iterator<Item = &Order> {
        self.working_pos
            .get(instrument as usize)
            .map_or(&[][..], |v| v.as_slice())
            .iter()
            .map(move |&p| self.all.at(p))
    }

    /// The `j`-th working order of `instrument` (arrival order), without an id lookup.
    #[inline]
    pub fn working_at(&self, instrument: InstrumentId, j: usize) -> &Order {
        self.all.at(self.working_pos[instrument as usize][j])
    }

    /// Let the `j`-th working order of `instrument` see price `px` (see [`Orders::update_trail`]).
    #[inline]
    pub fn update_trail_at(&mut self, instrument: InstrumentId, j: usize, px: i64) {
        let tick = self.insts[instrument as usize].tick;
        let p = self.working_pos[instrument as usize][j];
        Self::update_trail_of(self.all.at_mut(p), px, tick);
    }

    /// Ids of the working orders of `instrument`, in arrival order.
    #[inline]
    pub fn working_ids(&self, instrument: InstrumentId) -> &[OrderId] {
        self.working
            .get(instrument as usize)
            .map_or(&[], |v| v.as_slice())
    }

    /// Number of working orders over every instrument.
    #[inline]
    pub fn n_working(&self) -> usize {
        self.n_working
    }

    /// Whether any working order is a trailing stop.
    #[inline]
    pub fn any_trailing(&self) -> bool {
        self.n_trailing > 0
    }

    /// Whether any working order is IOC or FOK.
    #[inline]
    pub fn any_immediate(&self) -> bool {
        self.n_immediate > 0
    }

    /// Whether any working order has an expiry time (GTD / DAY).
    #[inline]
    pub fn any_expiring(&self) -> bool {
        self.n_expiring > 0
    }

    /// Totals of the working orders of `instrument` on `side` (zero for an unknown instrument).
    #[inline]
    pub fn working_totals(&self, instrument: InstrumentId, side: Side) -> WorkingTotals {
        self.totals
            .get(instrument as usize)
            .map_or(WorkingTotals::default(), |t| t[side_ix(side)])
    }

    /// Add (or take away) working order `id`'s contribution to its side's totals. Every change of
    /// a working order's quantity, fill or price is bracketed by a take-away and an add.
    #[inline]
    fn tally(&mut self, id: OrderId, add: bool) {
        let o = &self.all[&id];
        let c = WorkingTotals::of(o);
        let t = &mut self.totals[o.spec.instrument as usize][side_ix(o.spec.side)];
        if add {
            t.add(&c);
        } else {
            *t = t.without(&c);
        }
    }

    fn count(&mut self, id: OrderId, add: bool) {
        self.tally(id, add);
        let o = &self.all[&id];
        let t = matches!(
            o.spec.kind,
            OrderKind::TrailingStopMarket { .. } | OrderKind::TrailingStopLimit { .. }
        ) as usize;
        let i = matches!(o.spec.tif, TimeInForce::Ioc | TimeInForce::Fok) as usize;
        let e = o.expire_ts.is_some() as usize;
        if add {
            self.n_working += 1;
            self.n_trailing += t;
            self.n_immediate += i;
            self.n_expiring += e;
        } else {
            self.n_working -= 1;
            self.n_trailing -= t;
            self.n_immediate -= i;
            self.n_expiring -= e;
        }
    }

    /// Every order ever registered, in registration order.
    pub fn all(&self) -> impl Iterator<Item = &Order> {
        self.all.iter()
    }

    pub fn list(&self, list: ListId) -> Option<&OrderList> {
        self.lists.get(&list)
    }

    /// The highest id registered so far.
    pub fn last_id(&self) -> OrderId {
        self.last_id
    }

    /// Net position of `instrument` from the fills applied here (raw, long > 0).
    pub fn position(&self, instrument: InstrumentId) -> i64 {
        self.positions
            .get(instrument as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Set the net position (for a venue whose account also changes outside the fills, e.g. a
    /// liquidation applied elsewhere).
    pub fn set_position(&mut self, instrument: InstrumentId, qty: i64) {
        if let Some(p) = self.positions.get_mut(instrument as usize) {
            *p = qty;
        }
    }

    pub fn tick(&self, instrument: InstrumentId) -> i64 {
        self.insts[instrument as usize].tick
    }

    /// How much of `o` may fill now, before venue limits: its leaves, and for a reduce-only
    /// order no more than the opposite position (0 when there is none to reduce).
    pub fn fill_cap(&self, o: &Order) -> i64 {
        let leaves = o.leaves();
        if !o.spec.reduce_only {
            return leaves;
        }
        let pos = self.position(o.spec.instrument);
        if pos.signum() == -o.spec.side.sign() {
            leaves.min(pos.abs())
        } else {
            0
        }
    }

    /// The legs that one fill of `id` affects as an OCO group (other legs of an OCO list, or the
    /// other child of a bracket).
    pub fn oco_siblings(&self, id: OrderId) -> Vec<OrderId> {
        let Some(o) = self.all.get(&id) else {
            return Vec::new();
        };
        let Some(l) = o.list.and_then(|l| self.lists.get(&l)) else {
            return Vec::new();
        };
        match l.kind {
            ListKind::Oco => l.ids.iter().copied().filter(|&x| x != id).collect(),
            ListKind::Bracket if o.parent.is_some() => {
                l.ids[1..].iter().copied().filter(|&x| x != id).collect()
            }
            _ => Vec::new(),
        }
    }

    // ---- validation ----------------------------------------------------------------------

    /// Check an order's fields against its instrument (`ts`: arrival time, for GTD).
    pub fn validate(&self, spec: &OrderSpec, ts: i64) -> Result<(), Reason> {
        let inst = self
            .insts
            .get(spec.instrument as usize)
            .ok_or(Reason::UnknownInstrument)?;
        if spec.qty <= 0 {
            return Err(Reason::NonPositiveQuantity);
        }
        if spec.qty % inst.lot != 0 {
            return Err(Reason::QuantityNotMultipleOfLot);
        }
        if spec.qty < inst.min_qty {
            return Err(Reason::QuantityBelowMinimum);
        }
        let tick = inst.tick;
        match spec.kind {
            OrderKind::Market => {}
            OrderKind::Limit { px } => check_px(px, tick)?,
            OrderKind::StopMarket { trigger } | OrderKind::MarketIfTouched { trigger } => {
                check_px(trigger, tick)?
            }
            OrderKind::StopLimit { trigger, px } | OrderKind::LimitIfTouched { trigger, px } => {
                check_px(trigger, tick)?;
                check_px(px, tick)?;
            }
            OrderKind::TrailingStopMarket { offset, activation } => {
                check_offset(offset, tick)?;
                if let Some(a) = activation {
                    check_px(a, tick)?;
                }
            }
            OrderKind::TrailingStopLimit {
                offset,
                limit_offset,
                activation,
            } => {
                check_offset(offset, tick)?;
                match limit_offset {
                    // A zero limit offset (limit at the trigger) is allowed.
                    TrailingOffset::Price(0)
                    | TrailingOffset::Ticks(0)
                    | TrailingOffset::Bps(Bps(0)) => {}
                    other => check_offset(other, tick)?,
                }
                if let Some(a) = activation {
                    check_px(a, tick)?;
                }
            }
        }
        let has_limit = matches!(
            spec.kind,
            OrderKind::Limit { .. }
                | OrderKind::StopLimit { .. }
                | OrderKind::LimitIfTouched { .. }
                | OrderKind::TrailingStopLimit { .. }
        );
        if spec.post_only && !has_limit {
            return Err(Reason::InvalidOrder);
        }
        if let Some(d) = spec.display_qty
            && (!has_limit || d <= 0 || d > spec.qty || d % inst.lot != 0)
        {
            return Err(Reason::InvalidOrder);
        }
        if let TimeInForce::Gtd { expire_ts } = spec.tif
            && expire_ts <= ts
        {
            return Err(Reason::InvalidOrder);
        }
        Ok(())
    }

    // ---- send time -----------------------------------------------------------------------

    /// Register a new order at send time: `Submitted`, or `Denied(DuplicateOrderId)` (the
    /// existing order with that id is left alone). Returns whether it was registered.
    pub fn register(
        &mut self,
        spec: OrderSpec,
        ts: i64,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
    ) -> bool {
        let id = spec.id;
        if self.all.contains_key(&id) {
            ev(
                events,
                id,
                ts,
                OrderEventKind::Denied(Reason::DuplicateOrderId),
            );
            return false;
        }
        let mut o = Order::new(spec, ts, bar_index);
        transition(&mut o, OrderStatus::Submitted, ts);
        ev(events, id, ts, OrderEventKind::Submitted);
        self.insert(o);
        true
    }

    fn insert(&mut self, o: Order) {
        self.last_id = self.last_id.max(o.id());
        self.all.insert(o);
    }

    /// Register a contingent list at send time. The whole list is denied when an id repeats
    /// (an already seen one gets `Denied(DuplicateOrderId)`, the fresh ones `Denied(InvalidOrder)`)
    /// or the list id is already used. Returns whether it was registered.
    pub fn register_list(
        &mut self,
        list: ListId,
        kind: ListKind,
        specs: Vec<OrderSpec>,
        ts: i64,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
    ) -> bool {
        let mut seen = std::collections::HashSet::new();
        let dup_in_list = specs.iter().any(|s| !seen.insert(s.id));
        let any_known = specs.iter().any(|s| self.all.contains_key(&s.id));
        if dup_in_list || any_known || self.lists.contains_key(&list) || specs.is_empty() {
            let mut denied = std::collections::HashSet::new();
            for s in specs {
                if self.all.contains_key(&s.id) || !denied.insert(s.id) {
                    ev(
                        events,
                        s.id,
                        ts,
                        OrderEventKind::Denied(Reason::DuplicateOrderId),
                    );
                    continue;
                }
                let mut o = Order::new(s, ts, bar_index);
                transition(&mut o, OrderStatus::Denied, ts);
                ev(
                    events,
                    o.id(),
                    ts,
                    OrderEventKind::Denied(Reason::InvalidOrder),
                );
                self.insert(o);
            }
            return false;
        }
        let ids: Vec<OrderId> = specs.iter().map(|s| s.id).collect();
        let parent = ids[0];
        let first_side = specs[0].side;
        for (k, s) in specs.into_iter().enumerate() {
            let mut o = Order::new(s, ts, bar_index);
            o.list = Some(list);
            if k > 0 && kind != ListKind::Oco {
                o.parent = Some(parent);
            }
            // One reservation per one-cancels-other group: an OCO's first leg (legs on its
            // side), a bracket's take-profit (its stop-loss is the same quantity, same side).
            o.shares_reserve = match kind {
                ListKind::Oco => k > 0 && o.spec.side == first_side,
                ListKind::Bracket => k == 2,
                ListKind::Oto => false,
            };
            transition(&mut o, OrderStatus::Submitted, ts);
            ev(events, o.id(), ts, OrderEventKind::Submitted);
            self.insert(o);
        }
        if kind != ListKind::Oco {
            self.children.insert(parent, ids[1..].to_vec());
        }
        self.lists.insert(list, OrderList { kind, ids });
        true
    }

    // ---- arrival at the venue ------------------------------------------------------------

    fn check_list(&self, l: &OrderList, ts: i64) -> Result<(), Reason> {
        let legs: Vec<&Order> = l.ids.iter().map(|id| &self.all[id]).collect();
        let n = legs.len();
        match l.kind {
            ListKind::Oco | ListKind::Oto if n < 2 => return Err(Reason::InvalidOrder),
            ListKind::Bracket => {
                if n != 3 {
                    return Err(Reason::InvalidOrder);
                }
                let (e, tp, sl) = (&legs[0].spec, &legs[1].spec, &legs[2].spec);
                let opp = e.side.opposite();
                if tp.side != opp
                    || sl.side != opp
                    || tp.instrument != e.instrument
                    || sl.instrument != e.instrument
                {
                    return Err(Reason::InvalidOrder);
                }
            }
            _ => {}
        }
        for o in &legs {
            self.validate(&o.spec, ts)?;
        }
        Ok(())
    }

    /// A `Submitted` order reaches the venue at `ts`: `Accepted` (working from bar
    /// [`Orders::release_from`]) or `Rejected` with the reason. `mark`: the market price now
    /// (post-only check, trailing reference), when known. An order no longer `Submitted` (canceled
    /// in flight) is left alone. Returns whether it was accepted.
    pub fn accept(
        &mut self,
        id: OrderId,
        ts: i64,
        mark: Option<i64>,
        events: &mut Vec<OrderEvent>,
    ) -> bool {
        let Some(o) = self.all.get(&id) else {
            return false;
        };
        if o.status != OrderStatus::Submitted {
            return false;
        }
        let check = self
            .validate(&o.spec, ts)
            .and_then(|()| self.venue_checks(o, mark));
        match check {
            Ok(()) => {
                self.make_working(id, ts, mark, events);
                true
            }
            Err(r) => {
                self.close(
                    id,
                    OrderStatus::Rejected,
                    OrderEventKind::Rejected(r),
                    ts,
                    events,
                );
                false
            }
        }
    }

    /// Checks that need the market: reduce-only against the position, post-only against `mark`.
    fn venue_checks(&self, o: &Order, mark: Option<i64>) -> Result<(), Reason> {
        if o.spec.reduce_only && self.fill_cap(o) == 0 {
            return Err(Reason::ReduceOnlyWouldIncrease);
        }
        if o.spec.post_only
            && let (OrderKind::Limit { px }, Some(m)) = (o.spec.kind, mark)
        {
            let takes = match o.spec.side {
                Side::Buy => px >= m,
                Side::Sell => px <= m,
            };
            if takes {
                return Err(Reason::PostOnlyWouldTake);
            }
        }
        Ok(())
    }

    fn make_working(
        &mut self,
        id: OrderId,
        ts: i64,
        mark: Option<i64>,
        events: &mut Vec<OrderEvent>,
    ) {
        let from = self.release_from;
        let o = self.all.get_mut(&id).expect("known order");
        transition(o, OrderStatus::Accepted, ts);
        o.first_bar = from;
        o.expire_ts = match o.spec.tif {
            TimeInForce::Gtd { expire_ts } => Some(expire_ts),
            TimeInForce::Day => Some((ts.div_euclid(DAY_NS) + 1).saturating_mul(DAY_NS)),
            _ => None,
        };
        let inst = o.spec.instrument;
        ev(events, id, ts, OrderEventKind::Accepted);
        self.working[inst as usize].push(id);
        let pos = self.all.pos(id).expect("known order") as u32;
        self.working_pos[inst as usize].push(pos);
        self.count(id, true);
        if let Some(m) = mark {
            let tick = self.insts[inst as usize].tick;
            Self::update_trail_of(self.all.get_mut(&id).expect("known order"), m, tick);
        }
    }

    /// A contingent list reaches the venue: every leg is validated first (one bad leg rejects
    /// them all); OCO legs are all accepted, an OTO/bracket's parent is accepted and its children
    /// stay held (`Submitted`) until it fills.
    pub fn accept_list(
        &mut self,
        list: ListId,
        ts: i64,
        mark: Option<i64>,
        events: &mut Vec<OrderEvent>,
    ) {
        let Some(l) = self.lists.get(&list).cloned() else {
            return;
        };
        // Legs canceled in flight stay canceled; the rest arrive together.
        let live: Vec<OrderId> = l
            .ids
            .iter()
            .copied()
            .filter(|id| self.all[id].status == OrderStatus::Submitted)
            .collect();
        if live.is_empty() {
            return;
        }
        if let Err(r) = self.check_list(&l, ts) {
            for id in live {
                if self.all[&id].status == OrderStatus::Submitted {
                    self.close(
                        id,
                        OrderStatus::Rejected,
                        OrderEventKind::Rejected(r),
                        ts,
                        events,
                    );
                }
            }
            return;
        }
        match l.kind {
            ListKind::Oco => {
                for id in live {
                    let r = self.venue_checks(&self.all[&id], mark);
                    match r {
                        Ok(()) => self.make_working(id, ts, mark, events),
                        Err(r) => self.close(
                            id,
                            OrderStatus::Rejected,
                            OrderEventKind::Rejected(r),
                            ts,
                            events,
                        ),
                    }
                }
            }
            ListKind::Oto | ListKind::Bracket => {
                let parent = l.ids[0];
                if self.all[&parent].status == OrderStatus::Submitted {
                    self.accept(parent, ts, mark, events);
                }
            }
        }
    }

    // ---- venue actions -------------------------------------------------------------------

    /// Apply one fill of `qty` at `px` to working order `id`: records the [`Fill`] (its index is
    /// in the event), moves the order to `PartiallyFilled`/`Filled`, updates the net position and
    /// runs the contingency consequences (OCO siblings, OTO/bracket children, reduce-only rest).
    #[allow(
        clippy::too_many_arguments,
        reason = "the shared venue API, named by the issue"
    )]
    pub fn apply_fill(
        &mut self,
        id: OrderId,
        px: i64,
        qty: i64,
        liquidity: Liquidity,
        fee: i128,
        ts: i64,
        fills: &mut Vec<Fill>,
        events: &mut Vec<OrderEvent>,
    ) {
        self.tally(id, false);
        let o = self.all.get_mut(&id).expect("fill of a known order");
        debug_assert!(
            o.status.is_working(),
            "fill of order {id} in {:?}",
            o.status
        );
        debug_assert!(
            qty > 0 && qty <= o.leaves(),
            "fill {qty} > leaves {}",
            o.leaves()
        );
        let first_fill = o.filled == 0;
        o.filled += qty;
        o.filled_notional += px as i128 * qty as i128;
        let done = o.filled == o.spec.qty;
        let (inst, side, reduce_only) = (o.spec.instrument, o.spec.side, o.spec.reduce_only);
        fills.push(Fill {
            ts,
            order_id: id,
            instrument: inst,
            side,
            px,
            qty,
            fee,
            liquidity,
            liquidation: false,
        });
        let fill_index = fills.len() - 1;
        if done {
            transition(o, OrderStatus::Filled, ts);
            ev(events, id, ts, OrderEventKind::Filled { fill_index });
        } else {
            transition(o, OrderStatus::PartiallyFilled, ts);
            ev(
                events,
                id,
                ts,
                OrderEventKind::PartiallyFilled { fill_index },
            );
        }
        self.tally(id, true);
        self.positions[inst as usize] += side.sign() * qty;
        if done {
            self.unwork(id);
        }
        if self.all[&id].list.is_none() {
            if reduce_only && !done {
                self.cancel_if_nothing_to_reduce(id, ts, events);
            }
            return;
        }
        // OCO (NautilusTrader's): any fill, even partial, cancels the other legs, so two legs
        // never both trade. A bracket's exits are one-updates-other (NautilusTrader's bracket
        // default, OUO): a full fill cancels the other exit, a partial one takes its quantity
        // off it, so the exits together never close more than the entry filled.
        let strict = self.all[&id]
            .list
            .and_then(|l| self.lists.get(&l))
            .is_some_and(|l| l.kind == ListKind::Oco);
        for sib in self.oco_siblings(id) {
            let s = &self.all[&sib];
            if s.status.is_closed() {
                continue;
            }
            if strict || done || s.leaves() <= qty {
                self.close(
                    sib,
                    OrderStatus::Canceled,
                    OrderEventKind::Canceled(Reason::OcoSibling),
                    ts,
                    events,
                );
            } else {
                let working = s.status.is_working();
                if working {
                    self.tally(sib, false);
                }
                let s = self.all.get_mut(&sib).expect("known");
                s.spec.qty -= qty;
                if let Some(d) = s.spec.display_qty {
                    s.spec.display_qty = Some(d.min(s.spec.qty));
                }
                s.ts_last = ts;
                if working {
                    self.tally(sib, true);
                }
                ev(events, sib, ts, OrderEventKind::Updated);
            }
        }
        // OTO / bracket: release the held children on the first fill, grow them after.
        if let Some(children) = self.children.get(&id).cloned() {
            let filled = self.all[&id].filled;
            for c in children {
                let st = self.all[&c].status;
                if st.is_closed() {
                    continue;
                }
                if st == OrderStatus::Submitted && first_fill {
                    let o = self.all.get_mut(&c).expect("known");
                    o.spec.qty = filled;
                    if let Some(d) = o.spec.display_qty {
                        o.spec.display_qty = Some(d.min(filled));
                    }
                    let o = &self.all[&c];
                    match self.venue_checks(o, Some(px)) {
                        Ok(()) => self.make_working(c, ts, Some(px), events),
                        Err(r) => self.close(
                            c,
                            OrderStatus::Rejected,
                            OrderEventKind::Rejected(r),
                            ts,
                            events,
                        ),
                    }
                } else if st != OrderStatus::Submitted || !first_fill {
                    let working = st.is_working();
                    if working {
                        self.tally(c, false);
                    }
                    let o = self.all.get_mut(&c).expect("known");
                    o.spec.qty += qty;
                    o.ts_last = ts;
                    if working {
                        self.tally(c, true);
                    }
                    ev(events, c, ts, OrderEventKind::Updated);
                }
            }
        }
        if reduce_only && !done {
            self.cancel_if_nothing_to_reduce(id, ts, events);
        }
    }

    /// A reduce-only order whose position is gone cannot trade its rest.
    fn cancel_if_nothing_to_reduce(&mut self, id: OrderId, ts: i64, events: &mut Vec<OrderEvent>) {
        let o = &self.all[&id];
        if !o.status.is_closed() && self.fill_cap(o) == 0 {
            self.close(
                id,
                OrderStatus::Canceled,
                OrderEventKind::Canceled(Reason::ReduceOnlyWouldIncrease),
                ts,
                events,
            );
        }
    }

    /// A conditional order's trigger was hit: `Accepted → Triggered`. A trailing stop limit gets
    /// its limit from the current trail trigger here.
    pub fn trigger(&mut self, id: OrderId, ts: i64, events: &mut Vec<OrderEvent>) {
        let Some(o) = self.all.get_mut(&id) else {
            return;
        };
        let tick = self.insts[o.spec.instrument as usize].tick;
        if let (OrderKind::TrailingStopLimit { limit_offset, .. }, Some(t)) =
            (o.spec.kind, o.trail_trigger)
        {
            o.trail_limit = Some(trail_limit(o.spec.side, limit_offset, t, tick));
        }
        transition(o, OrderStatus::Triggered, ts);
        ev(events, id, ts, OrderEventKind::Triggered);
    }

    /// Let a trailing stop see price `px`: arm it (at once, or when `px` reaches the activation
    /// price) and move its trigger in its favour only. Other orders are left alone.
    pub fn update_trail(&mut self, id: OrderId, px: i64) {
        if let Some(o) = self.all.get_mut(&id) {
            let tick = self.insts[o.spec.instrument as usize].tick;
            Self::update_trail_of(o, px, tick);
        }
    }

    fn update_trail_of(o: &mut Order, px: i64, tick: i64) {
        let (offset, activation) = match o.spec.kind {
            OrderKind::TrailingStopMarket { offset, activation }
            | OrderKind::TrailingStopLimit {
                offset, activation, ..
            } => (offset, activation),
            _ => return,
        };
        if o.status != OrderStatus::Accepted {
            return; // triggered: the trigger is spent
        }
        let side = o.spec.side;
        match o.trail_trigger {
            None => {
                let reached = activation.is_none_or(|a| match side {
                    Side::Sell => px >= a,
                    Side::Buy => px <= a,
                });
                if reached {
                    o.trail_trigger = Some(trail_trigger(side, offset, px, tick));
                }
            }
            Some(t) => {
                // the candidate sits strictly beyond `px` (offsets are > 0): only a price past
                // the trigger can move it
                let beyond = match side {
                    Side::Sell => px <= t,
                    Side::Buy => px >= t,
                };
                if beyond {
                    return;
                }
                let cand = trail_trigger(side, offset, px, tick);
                o.trail_trigger = Some(match side {
                    Side::Sell => t.max(cand),
                    Side::Buy => t.min(cand),
                });
            }
        }
    }

    /// Cancel on the strategy's request: `CancelRejected(UnknownOrder | OrderClosed)` when it
    /// cannot be, else `Canceled(Requested)` with the contingency consequences (OCO siblings go
    /// with it; held children of an unfilled parent are canceled `ParentClosed`).
    pub fn cancel(&mut self, id: OrderId, ts: i64, events: &mut Vec<OrderEvent>) {
        let Some(o) = self.all.get(&id) else {
            ev(
                events,
                id,
                ts,
                OrderEventKind::CancelRejected(Reason::UnknownOrder),
            );
            return;
        };
        if o.status.is_closed() {
            ev(
                events,
                id,
                ts,
                OrderEventKind::CancelRejected(Reason::OrderClosed),
            );
            return;
        }
        self.close(
            id,
            OrderStatus::Canceled,
            OrderEventKind::Canceled(Reason::Requested),
            ts,
            events,
        );
        for sib in self.oco_siblings(id) {
            if !self.all[&sib].status.is_closed() {
                self.close(
                    sib,
                    OrderStatus::Canceled,
                    OrderEventKind::Canceled(Reason::OcoSibling),
                    ts,
                    events,
                );
            }
        }
    }

    /// Cancel every working order (of one instrument, or all), each as [`Orders::cancel`].
    pub fn cancel_all(
        &mut self,
        instrument: Option<InstrumentId>,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) {
        let ids: Vec<OrderId> = match instrument {
            Some(i) => self.working_ids(i).to_vec(),
            None => self.working.iter().flatten().copied().collect(),
        };
        for id in ids {
            if !self.all[&id].status.is_closed() {
                self.cancel(id, ts, events);
            }
        }
    }

    /// Close a working order on the venue's initiative (IOC rest, FOK, OCO, reduce-only...).
    pub fn cancel_with(
        &mut self,
        id: OrderId,
        reason: Reason,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) {
        if self.all.get(&id).is_some_and(|o| !o.status.is_closed()) {
            self.close(
                id,
                OrderStatus::Canceled,
                OrderEventKind::Canceled(reason),
                ts,
                events,
            );
        }
    }

    /// A real venue accepted the order (an exchange adapter's report): it is working from now
    /// on, whatever the local checks would say (the venue decided). False when it is not
    /// waiting for an acknowledgement (already working or closed: a repeated or late report).
    pub fn accept_at_venue(
        &mut self,
        id: OrderId,
        ts: i64,
        mark: Option<i64>,
        events: &mut Vec<OrderEvent>,
    ) -> bool {
        if self.all.get(&id).map(|o| o.status) != Some(OrderStatus::Submitted) {
            return false;
        }
        self.make_working(id, ts, mark, events);
        true
    }

    /// A real venue refused the order (sent, never working): `Rejected` with `reason`. False
    /// when the order is unknown or closed already.
    pub fn reject_at_venue(
        &mut self,
        id: OrderId,
        reason: Reason,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) -> bool {
        if !self.all.get(&id).is_some_and(|o| !o.status.is_closed()) {
            return false;
        }
        self.close(
            id,
            OrderStatus::Rejected,
            OrderEventKind::Rejected(reason),
            ts,
            events,
        );
        true
    }

    /// Time in force ran out (GTD / DAY).
    pub fn expire(&mut self, id: OrderId, ts: i64, events: &mut Vec<OrderEvent>) {
        if self.all.get(&id).is_some_and(|o| o.status.is_working()) {
            self.close(
                id,
                OrderStatus::Expired,
                OrderEventKind::Expired,
                ts,
                events,
            );
        }
    }

    fn unwork(&mut self, id: OrderId) {
        let inst = self.all[&id].spec.instrument as usize;
        if let Some(k) = self.working[inst].iter().position(|&x| x == id) {
            self.working[inst].remove(k);
            self.working_pos[inst].remove(k);
            self.count(id, false);
        }
    }

    /// Move `id` to a terminal status with its event, take it off the book, and cancel the held
    /// children of a parent that closes without any fill.
    fn close(
        &mut self,
        id: OrderId,
        status: OrderStatus,
        kind: OrderEventKind,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) {
        let o = self.all.get_mut(&id).expect("known order");
        let was_working = o.status.is_working();
        transition(o, status, ts);
        o.reason = kind.reason();
        let unfilled = o.filled == 0;
        ev(events, id, ts, kind);
        if was_working {
            self.unwork(id);
        }
        if unfilled
            && !self.children.is_empty()
            && let Some(children) = self.children.get(&id).cloned()
        {
            for c in children {
                if !self.all[&c].status.is_closed() {
                    self.close(
                        c,
                        OrderStatus::Canceled,
                        OrderEventKind::Canceled(Reason::ParentClosed),
                        ts,
                        events,
                    );
                }
            }
        }
    }

    /// Change an open order: total quantity (must stay above what filled), limit price, trigger
    /// (only before it triggered). `Updated`, or `ModifyRejected` with the reason and no change.
    /// `mark`: the market price now, for the post-only check of a new limit.
    #[allow(
        clippy::too_many_arguments,
        reason = "one optional argument per modifiable field"
    )]
    pub fn modify(
        &mut self,
        id: OrderId,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
        ts: i64,
        mark: Option<i64>,
        events: &mut Vec<OrderEvent>,
    ) {
        let r = self.check_modify(id, qty, px, trigger, mark);
        if let Err(r) = r {
            ev(events, id, ts, OrderEventKind::ModifyRejected(r));
            return;
        }
        let working = self.all[&id].status.is_working();
        if working {
            self.tally(id, false);
        }
        let o = self.all.get_mut(&id).expect("checked");
        if let Some(q) = qty {
            o.spec.qty = q;
            if let Some(d) = o.spec.display_qty {
                o.spec.display_qty = Some(d.min(q));
            }
        }
        if let Some(p) = px {
            match &mut o.spec.kind {
                OrderKind::Limit { px }
                | OrderKind::StopLimit { px, .. }
                | OrderKind::LimitIfTouched { px, .. } => *px = p,
                _ => unreachable!("checked"),
            }
        }
        if let Some(t) = trigger {
            match &mut o.spec.kind {
                OrderKind::StopMarket { trigger }
                | OrderKind::MarketIfTouched { trigger }
                | OrderKind::StopLimit { trigger, .. }
                | OrderKind::LimitIfTouched { trigger, .. } => *trigger = t,
                _ => unreachable!("checked"),
            }
        }
        o.ts_last = ts;
        if working {
            self.tally(id, true);
        }
        ev(events, id, ts, OrderEventKind::Updated);
    }

    fn check_modify(
        &self,
        id: OrderId,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
        mark: Option<i64>,
    ) -> Result<(), Reason> {
        let o = self.all.get(&id).ok_or(Reason::UnknownOrder)?;
        if o.status.is_closed() {
            return Err(Reason::OrderClosed);
        }
        if qty.is_none() && px.is_none() && trigger.is_none() {
            return Err(Reason::InvalidOrder);
        }
        let inst = self.insts[o.spec.instrument as usize];
        if let Some(q) = qty {
            if q <= o.filled {
                return Err(Reason::ModifyBelowFilled);
            }
            if q % inst.lot != 0 {
                return Err(Reason::QuantityNotMultipleOfLot);
            }
            if q < inst.min_qty {
                return Err(Reason::QuantityBelowMinimum);
            }
        }
        if let Some(p) = px {
            o.spec.kind.limit_px().ok_or(Reason::InvalidOrder)?;
            check_px(p, inst.tick)?;
            if o.spec.post_only
                && matches!(o.spec.kind, OrderKind::Limit { .. })
                && let Some(m) = mark
            {
                let takes = match o.spec.side {
                    Side::Buy => p >= m,
                    Side::Sell => p <= m,
                };
                if takes {
                    return Err(Reason::PostOnlyWouldTake);
                }
            }
        }
        if let Some(t) = trigger {
            o.spec.kind.trigger_px().ok_or(Reason::InvalidOrder)?;
            if !matches!(o.status, OrderStatus::Submitted | OrderStatus::Accepted) {
                return Err(Reason::InvalidOrder); // already triggered
            }
            check_px(t, inst.tick)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bps_offsets_round_up_to_the_tick_in_both_widths() {
        // 1% of 100.50 (raw 10_050, tick 1) = 100.5 raw → 101
        let b = TrailingOffset::Bps(Bps(100_000_000));
        assert_eq!(offset_amount(b, 10_050, 1), 101);
        assert_eq!(offset_amount(b, 10_000, 1), 100);
        assert_eq!(offset_amount(b, 10_000, 7), 105);
        // a product past u64 takes the 128-bit path and agrees with it
        let huge = i64::MAX / 2;
        let want = to_tick(div_ceil(huge as i128 * 100_000_000, Bps::ONE), 5, true);
        assert_eq!(offset_amount(b, huge, 5), want);
        for r in [1i64, 99, 12_345, 2_000_000, 987_654_321] {
            for bps in [1i64, 3_000_000, 100_000_000, 5_000_000_000] {
                for tick in [1i64, 5, 100] {
                    let w = to_tick(div_ceil(r as i128 * bps as i128, Bps::ONE), tick, true);
                    assert_eq!(offset_amount(TrailingOffset::Bps(Bps(bps)), r, tick), w);
                }
            }
        }
    }

    #[test]
    fn trailing_triggers_only_move_in_favour() {
        let insts = [Instrument::new("X", 0, 0).unwrap()];
        let mut m = Orders::new(&insts);
        let mut ev = Vec::new();
        let spec = OrderSpec::new(
            1,
            0,
            Side::Sell,
            OrderKind::TrailingStopMarket {
                offset: TrailingOffset::Ticks(2),
                activation: Some(105),
            },
            1,
        );
        assert!(m.register(spec, 0, 0, &mut ev));
        assert!(m.accept(1, 0, Some(100), &mut ev));
        assert_eq!(
            m.get(1).unwrap().trail_trigger,
            None,
            "not active below 105"
        );
        for (px, want) in [
            (104, None),
            (106, Some(104)),
            (103, Some(104)),
            (110, Some(108)),
        ] {
            m.update_trail(1, px);
            assert_eq!(m.get(1).unwrap().trail_trigger, want, "at {px}");
        }
    }
}
