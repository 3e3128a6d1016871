//! The simulated exchange: order acceptance, matching against bars, fill prices, fees.
//!
//! Fill model for bars (documented contract, tested against a plain-Python reference):
//! - **Market** orders fill at the next bar's open of their instrument (`FillAt::NextOpen`, the
//!   default) or, when submitted while a bar is being handled, at that bar's close
//!   (`FillAt::Close`). The price moves against the trader by the slippage rate and is rounded to
//!   the tick against the trader (buys up, sells down). A market order submitted on the last bar
//!   stays unfilled.
//! - **Limit** orders are live from the bar after they are submitted: a buy fills at the open if
//!   the bar opens at or below the limit (a gap fills better), else at the limit if the low reaches
//!   it; sells mirror this. No slippage on limit fills (they rest on the book).
//! - **Fees**: by the fee model (`fees.rs`; flat `fee_bps × notional` by default), rounded up to
//!   the money unit, on every fill; slippage by the slippage model (`slippage.rs`).
//! - Orders of one instrument are matched in submission order; each fills whole.

pub mod fees;
pub mod slippage;

use crate::model::{
    Bar, Bps, Command, Fill, Instrument, Liquidity, Order, OrderEvent, OrderEventKind, OrderId,
    OrderKind, OrderSpec, OrderStatus, Reason, Side,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillAt {
    #[default]
    NextOpen,
    Close,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct VenueConfig {
    pub fill_at: FillAt,
    pub slippage: Bps,
    pub fee: Bps,
}

#[derive(Debug, Default)]
pub struct SimVenue {
    pub config: VenueConfig,
    /// Open orders in submission order.
    open: Vec<Order>,
    last_id: OrderId,
    pub orders_submitted: u64,
    // accounts: the fee and slippage models (built from `config` by `new`; replace them to use
    // tiers or another slippage model).
    pub fee_model: fees::FeeModel,
    pub slip_model: slippage::Slippage,
}

impl SimVenue {
    pub fn new(config: VenueConfig) -> Self {
        Self {
            config,
            fee_model: fees::FeeModel::flat(config.fee, config.fee),
            slip_model: slippage::Slippage::FixedBps(config.slippage),
            ..Self::default()
        }
    }

    pub fn open_orders(&self) -> &[Order] {
        &self.open
    }

    /// The highest order id seen so far (ids must increase).
    pub fn last_id(&self) -> OrderId {
        self.last_id
    }

    /// Market price moved against the trader by the slippage model, rounded to the tick against
    /// them (`bar`: the bar the order fills in, for models that read volume and volatility).
    #[inline]
    pub fn slipped(&self, inst: &Instrument, side: Side, px: i64, qty: i64, bar: &Bar) -> i64 {
        let ctx = if self.slip_model.needs_ctx() {
            slippage::SlipCtx::from_bar(bar)
        } else {
            slippage::SlipCtx::default()
        };
        self.slip_model.price(inst, side, px, qty, &ctx)
    }

    /// Fee of one fill by the fee model (records the traded volume for the tiers).
    #[inline]
    pub fn fee(&mut self, inst: &Instrument, px: i64, qty: i64, liq: Liquidity, ts: i64) -> i128 {
        self.fee_model.fee(inst, px, qty, liq, ts)
    }

    fn validate(&self, instruments: &[Instrument], spec: &OrderSpec) -> Result<(), Reason> {
        let OrderSpec {
            id,
            instrument: inst_id,
            kind,
            qty,
            ..
        } = *spec;
        if id <= self.last_id {
            return Err(Reason::DuplicateOrderId);
        }
        let inst = instruments
            .get(inst_id as usize)
            .ok_or(Reason::UnknownInstrument)?;
        if qty <= 0 {
            return Err(Reason::NonPositiveQuantity);
        }
        if qty % inst.lot != 0 {
            return Err(Reason::QuantityNotMultipleOfLot);
        }
        if qty < inst.min_qty {
            return Err(Reason::QuantityBelowMinimum);
        }
        if !matches!(kind, OrderKind::Market | OrderKind::Limit { .. }) {
            return Err(Reason::InvalidOrder);
        }
        if let OrderKind::Limit { px } = kind {
            if px <= 0 {
                return Err(Reason::NonPositivePrice);
            }
            if px % inst.tick != 0 {
                return Err(Reason::PriceNotMultipleOfTick);
            }
        }
        Ok(())
    }

    /// Handle a command during bar `bar` (index `bar_index` in the stream). Fills immediately
    /// when the fill model says so (market orders with `FillAt::Close`).
    pub fn command(
        &mut self,
        instruments: &[Instrument],
        cmd: Command,
        bar: Option<&Bar>,
        bar_index: u64,
        ts: i64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        match cmd {
            Command::Submit(spec) => {
                self.orders_submitted += 1;
                let (id, instrument, side, kind, qty) =
                    (spec.id, spec.instrument, spec.side, spec.kind, spec.qty);
                if let Err(reason) = self.validate(instruments, &spec) {
                    if reason != Reason::DuplicateOrderId {
                        self.last_id = self.last_id.max(id);
                    }
                    events.push(OrderEvent {
                        id,
                        ts,
                        kind: OrderEventKind::Rejected(reason),
                    });
                    return;
                }
                self.last_id = id;
                events.push(OrderEvent {
                    id,
                    ts,
                    kind: OrderEventKind::Accepted,
                });
                let mut order = Order::new(spec, ts, bar_index);
                order.status = OrderStatus::Accepted;
                let fill_now =
                    matches!(kind, OrderKind::Market) && self.config.fill_at == FillAt::Close;
                match bar {
                    Some(bar) if fill_now && bar.instrument == instrument => {
                        let inst = &instruments[instrument as usize];
                        let px = self.slipped(inst, side, bar.close, qty, bar);
                        Self::fill(
                            self.fee(inst, px, qty, Liquidity::Taker, ts),
                            order,
                            px,
                            ts,
                            Liquidity::Taker,
                            events,
                            fills,
                        );
                    }
                    _ => self.open.push(order),
                }
            }
            Command::Cancel { id } => match self.open.iter().position(|o| o.id() == id) {
                Some(i) => {
                    self.open.remove(i);
                    events.push(OrderEvent {
                        id,
                        ts,
                        kind: OrderEventKind::Canceled(Reason::Requested),
                    });
                }
                None => {
                    let reason = if id <= self.last_id {
                        Reason::OrderClosed
                    } else {
                        Reason::UnknownOrder
                    };
                    events.push(OrderEvent {
                        id,
                        ts,
                        kind: OrderEventKind::CancelRejected(reason),
                    });
                }
            },
            Command::CancelAll { instrument } => {
                self.open.retain(|o| {
                    let hit = instrument.is_none_or(|i| i == o.spec.instrument);
                    if hit {
                        events.push(OrderEvent {
                            id: o.id(),
                            ts,
                            kind: OrderEventKind::Canceled(Reason::Requested),
                        });
                    }
                    !hit
                });
            }
            Command::SubmitList { orders, .. } => {
                for spec in orders {
                    events.push(OrderEvent {
                        id: spec.id,
                        ts,
                        kind: OrderEventKind::Denied(Reason::InvalidOrder),
                    });
                }
            }
            Command::Modify { id, .. } => {
                events.push(OrderEvent {
                    id,
                    ts,
                    kind: OrderEventKind::ModifyRejected(Reason::InvalidOrder),
                });
            }
        }
    }

    fn fill(
        fee: i128,
        order: Order,
        px: i64,
        ts: i64,
        liquidity: Liquidity,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let s = &order.spec;
        fills.push(Fill {
            ts,
            order_id: s.id,
            instrument: s.instrument,
            side: s.side,
            px,
            qty: s.qty,
            fee,
            liquidity,
            liquidation: false,
        });
        events.push(OrderEvent {
            id: s.id,
            ts,
            kind: OrderEventKind::Filled {
                fill_index: fills.len() - 1,
            },
        });
    }

    /// Match the open orders of `bar`'s instrument that were submitted before this bar.
    #[inline(always)]
    pub fn on_bar(
        &mut self,
        instruments: &[Instrument],
        bar: &Bar,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        if !self.open.is_empty() {
            self.match_open(instruments, bar, bar_index, events, fills);
        }
    }

    #[inline(never)]
    fn match_open(
        &mut self,
        instruments: &[Instrument],
        bar: &Bar,
        bar_index: u64,
        events: &mut Vec<OrderEvent>,
        fills: &mut Vec<Fill>,
    ) {
        let inst = &instruments[bar.instrument as usize];
        let mut i = 0;
        while i < self.open.len() {
            let o = &self.open[i];
            if o.spec.instrument != bar.instrument || o.bar_submitted >= bar_index {
                i += 1;
                continue;
            }
            let hit = match (o.spec.kind, o.spec.side) {
                (OrderKind::Market, side) => Some((
                    self.slipped(inst, side, bar.open, o.spec.qty, bar),
                    Liquidity::Taker,
                )),
                (OrderKind::Limit { px: lim }, Side::Buy) => {
                    if bar.open <= lim {
                        Some((bar.open, Liquidity::Maker))
                    } else if bar.low <= lim {
                        Some((lim, Liquidity::Maker))
                    } else {
                        None
                    }
                }
                (OrderKind::Limit { px: lim }, Side::Sell) => {
                    if bar.open >= lim {
                        Some((bar.open, Liquidity::Maker))
                    } else if bar.high >= lim {
                        Some((lim, Liquidity::Maker))
                    } else {
                        None
                    }
                }
                // Refused at submission by `validate`.
                _ => None,
            };
            match hit {
                Some((px, liq)) => {
                    let order = self.open.remove(i);
                    let fee = self.fee(inst, px, order.spec.qty, liq, bar.ts);
                    Self::fill(fee, order, px, bar.ts, liq, events, fills);
                }
                None => i += 1,
            }
        }
    }
}
