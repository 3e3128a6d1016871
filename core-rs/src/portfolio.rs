//! Accounting: a cash account, net positions per instrument with exact cost basis, realized and
//! unrealized PnL, closed round-trip trades, and fees paid.
//!
//! Every amount is exact fixed point (see [`crate::model::fixed`]): cash moves by exactly
//! `notional ± fee` on each fill, so the balance reconciles with the fill list to the last unit. The cost basis of a partly closed position is reduced
//! pro rata (integer division toward zero); realized PnL absorbs that rounding, cash never does.
//!
//! # Accounts
//! - **Cash** (spot, the default): no credit check: a short sale credits its proceeds and a buy may
//!   take cash below zero. Balance limits belong to the risk engine.
//! - **Margin** (perpetuals, [`Account::Margin`]): the same exact ledger plus isolated margin,
//!   funding and liquidation, documented on [`MarginConfig`]. `cash` keeps the spot convention
//!   (it moves by `±notional` on every fill), so equity is computed the same way for both; the
//!   perpetual's *wallet balance* is `cash + Σ cost basis` = initial + realized PnL − fees −
//!   funding, exactly ([`Portfolio::wallet`]).

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{Rate, div_ceil, div_floor, money_to_f64};
use crate::model::{
    Bar, Bps, Fill, Instrument, InstrumentId, Liquidity, OrderSpec, Reason, Side, WorkingOrders,
    WorkingTotals,
};

/// The kind of account.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Account {
    #[default]
    Cash,
    Margin(MarginConfig),
}

/// A margin account for perpetual futures (one quote currency, linear contracts).
///
/// **Model** (isolated margin per position — each position's risk is its own, which keeps every
/// number hand-checkable; the rates are account-wide, the same for every instrument):
/// - Initial margin rate `IMR = 1 / leverage` (rounded up to the rate unit 1e-10), maintenance
///   margin rate `MMR` (< IMR).
/// - Opening or adding `q` at price `p` posts margin `ceil(IMR × q·p)` to the position (money
///   units); closing part of a position releases its margin pro rata (rounded down; a full close
///   releases it all). Margin is an allocation of the wallet, not a cash movement.
/// - `margin_used = Σ position margin`, `free_margin = wallet − margin_used`. An order is refused
///   (`Reason::InsufficientMargin`) when the margin its opening part needs, `ceil(IMR × q·p)`,
///   exceeds `free_margin` plus the margin its closing part releases ([`Portfolio::check_margin`]).
///   `p` is the limit/trigger price, or the last mark for market orders. Resting orders reserve
///   nothing; the fee is not part of the check.
/// - **Liquidation** when the position's own equity falls to its maintenance margin, taken on the
///   mark value: `M + q(P − E) ≤ MMR·q·P` for a long (`M` posted margin, `E` average entry, `q`
///   quantity, `C = q·E` the cost basis), `M + q(E − P) ≤ MMR·q·P` for a short. Solved for `P`:
///   - long:  `LP = (C − M) / (q (1 − MMR))`, rounded down to the tick; with `M = IMR·C` this is
///     `E (1 − IMR) / (1 − MMR)`;
///   - short: `LP = (C + M) / (q (1 + MMR))`, rounded up to the tick = `E (1 + IMR) / (1 + MMR)`.
/// - Liquidation takes its place on the bar's intrabar path: a long is liquidated when the bar's
///   low reaches `LP`, a short when its high does; the venue first trades the bar only up to the
///   point where the path reaches `LP` (a stop above a long's `LP`, or a take-profit on an
///   extreme the path visits first, fills before; what the path would reach after does not), then
///   the position closes at `LP`, or at the open if the bar opened through it. The fill (`liquidation = true`, `order_id` 0, taker) pays the
///   liquidation fee `ceil(liq_fee × notional)` instead of a trading fee, and every open order of
///   the instrument is canceled with `Reason::Liquidation`. A loss beyond the posted margin (a
///   gap through `LP`) is taken from the wallet: there is no insurance fund.
/// - **Funding** ([`Funding`]): at each funding time `t`, on the first bar of the instrument with
///   `ts ≥ t`, before the venue settles that bar (orders filling at that bar's open come after the
///   funding instant), a position of signed quantity `q` pays `q × mark × rate` with mark = that
///   bar's open: longs pay and shorts receive when the rate is positive. Rounded up (a payment
///   rounds up, a receipt toward zero). Funding times skipped by a data gap are each settled on
///   the first bar after them. Funding moves `cash`, is reported in [`Portfolio::funding`], and
///   counts in the round trip's PnL like a fee.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MarginConfig {
    /// Initial margin rate (1 / leverage).
    pub imr: Bps,
    /// Maintenance margin rate.
    pub mmr: Bps,
    /// Liquidation fee rate on the liquidated notional.
    pub liq_fee: Bps,
    pub funding: Funding,
}

/// When funding is paid and at which rate. The same schedule applies to every instrument.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Funding {
    #[default]
    None,
    /// A constant rate every `interval_ns`, at multiples of it since the epoch (8 h: 00, 08, 16 UTC).
    Constant { rate: Rate, interval_ns: i64 },
    /// A series of `(ts, rate)`, strictly increasing in time.
    Series(Vec<(i64, Rate)>),
}

/// Eight hours: Binance's and most exchanges' funding interval.
pub const FUNDING_8H_NS: i64 = 8 * 3600 * 1_000_000_000;

impl MarginConfig {
    /// `leverage` ≥ 1; `maintenance` and `liquidation_fee` as fractions (0.005 = 0.5%).
    pub fn new(
        leverage: f64,
        maintenance: f64,
        liquidation_fee: f64,
        funding: Funding,
    ) -> CoreResult<Self> {
        if !(leverage.is_finite() && (1.0..=1000.0).contains(&leverage)) {
            return Err(CoreError::InvalidArgument {
                name: "leverage",
                reason: format!("must be within 1..=1000, got {leverage}"),
            });
        }
        // IMR = 1 / leverage, rounded up to the rate unit (never more leverage than asked).
        let imr = Bps((Bps::ONE as f64 / leverage).ceil() as i64);
        let mmr = Bps::from_f64(maintenance * 1e4)
            .filter(|m| m.0 < imr.0)
            .ok_or_else(|| CoreError::InvalidArgument {
                name: "maintenance_margin",
                reason: format!(
                    "must be >= 0 and below the initial margin rate 1/leverage = {}, got {maintenance}",
                    1.0 / leverage
                ),
            })?;
        let liq_fee = Bps::from_f64(liquidation_fee * 1e4)
            .filter(|f| (f.0 as i128) < Bps::ONE)
            .ok_or_else(|| CoreError::InvalidArgument {
                name: "liquidation_fee",
                reason: format!("must be within [0, 1), got {liquidation_fee}"),
            })?;
        match &funding {
            Funding::Constant { interval_ns, .. } if *interval_ns <= 0 => {
                return Err(CoreError::InvalidArgument {
                    name: "funding_interval",
                    reason: format!("must be positive, got {interval_ns} ns"),
                });
            }
            Funding::Series(s) => {
                if let Some(k) = s.windows(2).position(|w| w[1].0 <= w[0].0) {
                    return Err(CoreError::InvalidArgument {
                        name: "funding",
                        reason: format!(
                            "funding times must be strictly increasing: entry {} at {} follows {}",
                            k + 1,
                            s[k + 1].0,
                            s[k].0
                        ),
                    });
                }
            }
            _ => {}
        }
        Ok(Self {
            imr,
            mmr,
            liq_fee,
            funding,
        })
    }
}

/// One funding settlement of one position.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FundingPayment {
    /// The funding time.
    pub ts: i64,
    pub instrument: InstrumentId,
    /// Signed raw position at the funding time.
    pub qty: i64,
    /// Raw mark price used (the open of the first bar at or after `ts`).
    pub mark: i64,
    pub rate: Rate,
    /// Paid by the account (> 0) or received (< 0), money units.
    pub amount: i128,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Signed raw quantity (long > 0).
    pub qty: i64,
    /// Signed cost basis in money units (`avg_px * qty`).
    pub cost: i128,
    /// Realized PnL in money units, before fees.
    pub realized: i128,
    /// Last mark (raw price), the close of the latest bar.
    pub mark: i64,
    /// The same mark and the quantity as floats, for the equity curve.
    mark_f: f64,
    qty_f: f64,
    /// The open round trip, if any.
    trip: Option<OpenTrip>,
    /// Isolated margin posted to the position (margin accounts), money units.
    pub margin: i128,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct OpenTrip {
    entry_ts: i64,
    long: bool,
    max_qty: i64,
    realized: i128,
    fees: i128,
    /// Σ price × quantity (raw) and Σ quantity of the fills that opened or added, and of those
    /// that closed: the average entry and exit prices.
    entry_pq: i128,
    entry_q: i64,
    exit_pq: i128,
    exit_q: i64,
    /// Money paid for what was opened (the base of the trade's return).
    entry_cost: i128,
    /// The lowest and highest PnL of the trip so far (realized plus unrealized at the bars'
    /// adverse and favourable extremes, before fees).
    mae: i128,
    mfe: i128,
}

/// The kind of order whose fill closed a trade, recorded when it closes (the order is at hand
/// then; looking it up in the order store afterwards costs a cache miss a trade).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Exit {
    /// The strategy's market or limit order.
    #[default]
    Signal,
    /// A stop-market or stop-limit order.
    Stop,
    /// A trailing stop.
    Trailing,
    /// A limit exit of a bracket/OTO, an if-touched order.
    TakeProfit,
}

impl Exit {
    /// The exit kind of an order of `kind`; `child`: it belongs to a bracket/OTO (has a parent).
    pub fn of(kind: &crate::model::OrderKind, child: bool) -> Exit {
        use crate::model::OrderKind as K;
        match kind {
            K::StopMarket { .. } | K::StopLimit { .. } => Exit::Stop,
            K::TrailingStopMarket { .. } | K::TrailingStopLimit { .. } => Exit::Trailing,
            K::MarketIfTouched { .. } | K::LimitIfTouched { .. } => Exit::TakeProfit,
            K::Limit { .. } if child => Exit::TakeProfit,
            _ => Exit::Signal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Exit::Signal => "signal",
            Exit::Stop => "stop",
            Exit::Trailing => "trailing",
            Exit::TakeProfit => "take_profit",
        }
    }
}

/// A round trip: from flat (or a flip) back to flat (or the next flip); also the open one at the
/// end of the data ([`Portfolio::open_trades`], marked at the last price).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    pub instrument: InstrumentId,
    pub long: bool,
    pub entry_ts: i64,
    pub exit_ts: i64,
    pub max_qty: i64,
    /// Realized PnL of the round trip, net of every fee paid inside it, in money units.
    pub pnl: i128,
    /// Every fee (and funding) paid inside the trip, money units.
    pub fees: i128,
    /// Σ price × quantity (raw) and Σ quantity of the opening fills and of the closing ones.
    pub entry_pq: i128,
    pub entry_q: i64,
    pub exit_pq: i128,
    pub exit_q: i64,
    /// Money paid for what was opened: `pnl / entry_cost` is the trade's return.
    pub entry_cost: i128,
    /// Maximum adverse and favourable excursion: the lowest and the highest PnL the trip reached
    /// (realized plus unrealized at the bars' extremes while it was open, before fees), money.
    pub mae: i128,
    pub mfe: i128,
    /// The order whose fill closed it (0: the liquidation engine, or none for an open trade).
    pub exit_order: crate::model::OrderId,
    /// The kind of that order.
    pub exit: Exit,
    pub liquidation: bool,
    /// False for the trip still open at the end of the data (exit at the last mark).
    pub closed: bool,
}

impl Trade {
    /// Average entry price (raw, as a float).
    pub fn entry_px(&self) -> f64 {
        if self.entry_q == 0 {
            0.0
        } else {
            self.entry_pq as f64 / self.entry_q as f64
        }
    }

    /// Average exit price (raw, as a float).
    pub fn exit_px(&self) -> f64 {
        if self.exit_q == 0 {
            0.0
        } else {
            self.exit_pq as f64 / self.exit_q as f64
        }
    }
}

impl OpenTrip {
    fn close(
        &self,
        instrument: InstrumentId,
        exit_ts: i64,
        order: crate::model::OrderId,
        exit: Exit,
        liquidation: bool,
        closed: bool,
    ) -> Trade {
        Trade {
            instrument,
            long: self.long,
            entry_ts: self.entry_ts,
            exit_ts,
            max_qty: self.max_qty,
            pnl: self.realized - self.fees,
            fees: self.fees,
            entry_pq: self.entry_pq,
            entry_q: self.entry_q,
            exit_pq: self.exit_pq,
            exit_q: self.exit_q,
            entry_cost: self.entry_cost,
            mae: self.mae,
            mfe: self.mfe,
            exit_order: order,
            exit,
            liquidation,
            closed,
        }
    }
}

impl Position {
    /// Average entry price as a float (0.0 when flat).
    pub fn avg_px(&self, inst: &Instrument) -> f64 {
        if self.qty == 0 {
            return 0.0;
        }
        let per_raw = self.cost as f64 / (self.qty as f64 * inst.notional_scale() as f64);
        per_raw / 10f64.powi(inst.price_dp as i32)
    }

    /// The position as a float in units (kept in step with `qty`).
    #[inline]
    pub fn qty_f64(&self) -> f64 {
        self.qty_f
    }

    /// The last mark as a float.
    #[inline]
    pub fn mark_f64(&self) -> f64 {
        self.mark_f
    }

    /// Unrealized PnL at the current mark, money units.
    pub fn unrealized(&self, inst: &Instrument) -> i128 {
        inst.notional(self.mark, self.qty) - self.cost
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Portfolio {
    pub initial_cash: i128,
    pub cash: i128,
    /// `cash` as a float, refreshed on every fill (the equity curve reads it once a bar).
    cash_f: f64,
    /// Number of instruments with a non-zero position.
    open_positions: usize,
    pub fees: i128,
    pub positions: Vec<Position>,
    pub trades: Vec<Trade>,
    pub account: Account,
    /// Funding settlements, in order (margin accounts).
    pub funding: Vec<FundingPayment>,
    /// Net funding paid (> 0) or received (< 0), money units.
    pub funding_paid: i128,
    /// Per instrument: the next funding time (constant rate; `i64::MIN` before the first bar) or
    /// the index of the next series entry.
    funding_next: Vec<i64>,
}

impl Portfolio {
    pub fn new(initial_cash: i128, n_instruments: usize) -> Self {
        Self {
            initial_cash,
            cash: initial_cash,
            cash_f: money_to_f64(initial_cash),
            open_positions: 0,
            fees: 0,
            positions: vec![Position::default(); n_instruments],
            trades: Vec::new(),
            account: Account::Cash,
            funding: Vec::new(),
            funding_paid: 0,
            funding_next: vec![i64::MIN; n_instruments],
        }
    }

    /// Switch the account type (before the first fill).
    pub fn set_account(&mut self, account: Account) {
        self.funding_next = match &account {
            Account::Margin(MarginConfig {
                funding: Funding::Series(_),
                ..
            }) => vec![0; self.positions.len()],
            _ => vec![i64::MIN; self.positions.len()],
        };
        self.account = account;
    }

    #[inline]
    pub fn is_margin(&self) -> bool {
        matches!(self.account, Account::Margin(_))
    }

    /// Whether the engine must step through every bar (a margin position needs its liquidation
    /// check and funding on each bar, so the no-order fast path is off while one is open).
    #[inline]
    pub fn needs_every_bar(&self) -> bool {
        self.open_positions > 0 && self.is_margin()
    }

    /// Wallet balance: initial cash + realized PnL − fees − funding (= `cash + Σ cost`), exact.
    pub fn wallet(&self) -> i128 {
        self.cash + self.positions.iter().map(|p| p.cost).sum::<i128>()
    }

    /// Margin posted to the open positions (0 for a cash account).
    pub fn margin_used(&self) -> i128 {
        self.positions.iter().map(|p| p.margin).sum()
    }

    /// Wallet minus the margin posted (a cash account: its cash).
    pub fn free_margin(&self) -> i128 {
        match self.account {
            Account::Cash => self.cash,
            Account::Margin(_) => self.wallet() - self.margin_used(),
        }
    }

    /// The liquidation price of instrument `id`'s position (raw), or None (cash account, flat, or
    /// a long that cannot be liquidated above 0). See [`MarginConfig`] for the formula.
    pub fn liquidation_price(&self, inst: &Instrument, id: InstrumentId) -> Option<i64> {
        let Account::Margin(cfg) = &self.account else {
            return None;
        };
        let pos = self.positions.get(id as usize)?;
        liq_price(inst, pos, cfg.mmr).filter(|&p| p > 0)
    }

    /// The account's own rule for a new order (or a modify: `open_qty` is what it may still
    /// trade, `own` its current contribution to the working totals, taken out of them): see
    /// [the module docs](self#the-accounts-rule). `px`: the price the order can fill at (its limit,
    /// its trigger, or the mark moved by the venue's slippage; None: no price yet, the money part
    /// is left to the fill-time check); `fee_rate`: the highest fee rate that may apply to it.
    #[allow(
        clippy::too_many_arguments,
        reason = "the order, its price and fee, and the book it joins"
    )]
    pub fn check_order(
        &self,
        instruments: &[Instrument],
        spec: &OrderSpec,
        open_qty: i64,
        px: Option<i64>,
        fee_rate: Rate,
        book: &dyn WorkingOrders,
        own: Option<&WorkingTotals>,
    ) -> Result<(), AccountDenial> {
        let i = spec.instrument as usize;
        let (Some(inst), Some(pos)) = (instruments.get(i), self.positions.get(i)) else {
            return Ok(()); // the venue rejects unknown instruments
        };
        if open_qty <= 0 {
            return Ok(());
        }
        let side = spec.side;
        let mut same = book.working_totals(spec.instrument, side);
        if let Some(o) = own {
            same = same.without(o);
        }
        match &self.account {
            Account::Cash => match side {
                Side::Sell => {
                    let held = pos.qty.max(0);
                    let reserved = same.reserved_leaves();
                    if open_qty as i128 > held as i128 - reserved as i128 {
                        return Err(AccountDenial {
                            reason: Reason::InsufficientHoldings,
                            detail: format!(
                                "sell {} {} but the account holds {}{} (a cash account cannot sell short)",
                                fmt_qty(inst, open_qty),
                                inst.symbol,
                                fmt_qty(inst, held),
                                if reserved > 0 {
                                    format!(", {} of it in working sells", fmt_qty(inst, reserved))
                                } else {
                                    String::new()
                                }
                            ),
                        });
                    }
                    Ok(())
                }
                Side::Buy => {
                    let Some(px) = px.filter(|&p| p > 0) else {
                        return Ok(());
                    };
                    let notional = inst.notional(px, open_qty);
                    let need = notional + charge_up(fee_rate, notional);
                    let mut reserved: i128 = 0;
                    for (j, (p, ins)) in self.positions.iter().zip(instruments).enumerate() {
                        let t = if j == i {
                            same
                        } else {
                            book.working_totals(j as InstrumentId, Side::Buy)
                        };
                        if t.reserved_leaves() != 0 {
                            let v = t.reserved_px_qty_at(p.mark.max(0)) * ins.notional_scale();
                            reserved += v + charge_up(fee_rate, v);
                        }
                    }
                    let free = self.cash - reserved;
                    if need > free {
                        return Err(AccountDenial {
                            reason: Reason::InsufficientBalance,
                            detail: format!(
                                "buy {} {} at {} costs {} with fees; free balance {} (cash {}{})",
                                fmt_qty(inst, open_qty),
                                inst.symbol,
                                fmt_px(inst, px),
                                fmt_money(need),
                                fmt_money(free),
                                fmt_money(self.cash),
                                if reserved != 0 {
                                    format!(", {} reserved by working buys", fmt_money(reserved))
                                } else {
                                    String::new()
                                }
                            ),
                        });
                    }
                    Ok(())
                }
            },
            Account::Margin(cfg) => {
                let Some(px) = px.filter(|&p| p > 0) else {
                    return Ok(());
                };
                let imr = Rate::from(cfg.imr);
                let order = WorkingTotals {
                    leaves: open_qty,
                    px_qty: px as i128 * open_qty as i128,
                    ..WorkingTotals::default()
                };
                let mut with = same;
                with.add(&order);
                let need = |t: &WorkingTotals| {
                    self.margin_need(instruments, book, imr, fee_rate, i, side, t)
                };
                let (before, after) = (need(&same), need(&with));
                // What the account can stand on: the wallet less the losses its positions carry
                // at their marks (a reversal realizes its closing part's loss; gains not counted).
                let wallet = self.wallet() + self.unrealized_losses(instruments);
                if after > before && after > wallet {
                    let (n_i, f_i) =
                        self.margin_need_of(inst, pos, imr, fee_rate, side, &with, book, i);
                    return Err(AccountDenial {
                        reason: Reason::InsufficientMargin,
                        detail: format!(
                            "{} {} {} at {}: the positions and working orders would need {} of initial margin and fees in the worst case ({} + {} fees for {}), the wallet holds {} after the losses of the open positions",
                            side.as_str().to_lowercase(),
                            fmt_qty(inst, open_qty),
                            inst.symbol,
                            fmt_px(inst, px),
                            fmt_money(after),
                            fmt_money(n_i),
                            fmt_money(f_i),
                            inst.symbol,
                            fmt_money(wallet),
                        ),
                    });
                }
                Ok(())
            }
        }
    }

    /// The unrealized losses of the open positions at their marks (≤ 0; gains not counted).
    fn unrealized_losses(&self, instruments: &[Instrument]) -> i128 {
        self.positions
            .iter()
            .zip(instruments)
            .filter(|(p, _)| p.qty != 0 && p.mark > 0)
            .map(|(p, inst)| (inst.notional(p.mark, p.qty) - p.cost).min(0))
            .sum()
    }

    /// Margin and fees a margin account needs for its positions and working orders in the worst
    /// case (see [the module docs](self#the-accounts-rule)): per instrument, the larger of the
    /// initial margins of the position it would hold if every working buy filled and if every
    /// working sell filled (the position's posted margin for what stays of it), plus the fees of
    /// every working order. `t` replaces the totals of instrument `i`, side `side`.
    #[allow(
        clippy::too_many_arguments,
        reason = "internal: the pieces check_order has"
    )]
    fn margin_need(
        &self,
        instruments: &[Instrument],
        book: &dyn WorkingOrders,
        imr: Rate,
        fee_rate: Rate,
        i: usize,
        side: Side,
        t: &WorkingTotals,
    ) -> i128 {
        let mut need: i128 = 0;
        for (j, (p, ins)) in self.positions.iter().zip(instruments).enumerate() {
            let (n, fees) = if j == i {
                self.margin_need_of(ins, p, imr, fee_rate, side, t, book, j)
            } else {
                let b = book.working_totals(j as InstrumentId, Side::Buy);
                self.margin_need_of(ins, p, imr, fee_rate, Side::Buy, &b, book, j)
            };
            need += n + fees;
        }
        need
    }

    /// One instrument's worst-case margin and its working orders' fees: `(margin, fees)`. `t`
    /// replaces the totals of side `side`.
    #[allow(clippy::too_many_arguments, reason = "internal")]
    fn margin_need_of(
        &self,
        ins: &Instrument,
        p: &Position,
        imr: Rate,
        fee_rate: Rate,
        side: Side,
        t: &WorkingTotals,
        book: &dyn WorkingOrders,
        j: usize,
    ) -> (i128, i128) {
        let (b, s) = match side {
            Side::Buy => (*t, book.working_totals(j as InstrumentId, Side::Sell)),
            Side::Sell => (book.working_totals(j as InstrumentId, Side::Buy), *t),
        };
        let mark = p.mark.max(0);
        let value = |w: &WorkingTotals| w.reserved_px_qty_at(mark) * ins.notional_scale();
        let (vb, vs) = (value(&b), value(&s));
        let (qb, qs) = (b.reserved_leaves() as i128, s.reserved_leaves() as i128);
        let pos = p.qty as i128;
        // The margin of the position that results from `q` more on side `sign`, `v` their value.
        let scenario = |sign: i128, q: i128, v: i128| -> i128 {
            if q == 0 {
                return p.margin;
            }
            let after = pos + sign * q;
            if pos == 0 || pos.signum() == sign {
                p.margin + charge_up(imr, v) // adds to the position
            } else if after.signum() == sign {
                charge_up(imr, v * after.abs() / q) // closes it and opens the rest
            } else {
                p.margin * after.abs() / pos.abs() // closes part of it; the rest keeps its margin
            }
        };
        let worst = scenario(1, qb, vb).max(scenario(-1, qs, vs));
        (worst, charge_up(fee_rate, vb) + charge_up(fee_rate, vs))
    }

    /// The largest part of a fill of `qty` at `px` (raw; `qty` a multiple of `inst.lot`) that the
    /// account can carry now, at fee rate `fee_rate`, rounded down to the lot (0 below
    /// `inst.min_qty`), with the reason when it is less than `qty`. What reduces a position is
    /// never cut (a margin account's closing part, a cash account's sale of what it holds).
    /// The simulated venue calls it before every fill: see [the module docs](self#the-accounts-rule).
    pub fn fill_capacity(
        &self,
        inst: &Instrument,
        id: InstrumentId,
        side: Side,
        px: i64,
        qty: i64,
        fee_rate: Rate,
    ) -> (i64, Option<Reason>) {
        let Some(pos) = self.positions.get(id as usize) else {
            return (qty, None);
        };
        let lot = inst.lot.max(1);
        let floor_lot = |q: i64| {
            let q = q - q % lot;
            if q < inst.min_qty { 0 } else { q }
        };
        match &self.account {
            Account::Cash => match side {
                Side::Sell => {
                    let held = pos.qty.max(0);
                    if qty <= held {
                        (qty, None)
                    } else {
                        (floor_lot(held), Some(Reason::InsufficientHoldings))
                    }
                }
                Side::Buy => {
                    let fits = |q: i64| {
                        let n = inst.notional(px, q);
                        n + charge_up(fee_rate, n) <= self.cash
                    };
                    if fits(qty) {
                        return (qty, None);
                    }
                    (
                        floor_lot(largest(qty, lot, fits)),
                        Some(Reason::InsufficientBalance),
                    )
                }
            },
            Account::Margin(cfg) => {
                let imr = Rate::from(cfg.imr);
                let opposite = pos.qty.signum() == -side.sign();
                let closing = if opposite { qty.min(pos.qty.abs()) } else { 0 };
                let (released, removed) = if closing == 0 {
                    (0, 0)
                } else if closing == pos.qty.abs() {
                    (pos.margin, pos.cost)
                } else {
                    let k = closing as i128;
                    let q = pos.qty.abs() as i128;
                    (pos.margin * k / q, pos.cost * k / q)
                };
                // the closing part's PnL at this price is realized by the fill: a loss comes out of
                // what the opening part may use
                let closing_pnl = if closing == 0 {
                    0
                } else {
                    pos.qty.signum() as i128 * inst.notional(px, closing) - removed
                };
                let free = self.free_margin() + released + closing_pnl;
                let fits = |q: i64| {
                    let opening = (q - closing).max(0);
                    charge_up(imr, inst.notional(px, opening))
                        + charge_up(fee_rate, inst.notional(px, q))
                        <= free
                };
                if qty <= closing || fits(qty) {
                    return (qty, None);
                }
                // the closing part always goes through; the opening part as far as it fits
                let q = largest(qty, lot, fits).max(closing);
                (floor_lot(q), Some(Reason::InsufficientMargin))
            }
        }
    }

    /// Funding due at bar `bar` of `inst` (margin accounts; a no-op otherwise). Call before the
    /// venue settles the bar.
    #[inline]
    pub fn on_bar_open(&mut self, inst: &Instrument, bar: &Bar) {
        if let Account::Margin(cfg) = &self.account
            && !matches!(cfg.funding, Funding::None)
        {
            self.settle_funding(inst, bar);
        }
    }

    #[inline(never)]
    fn settle_funding(&mut self, inst: &Instrument, bar: &Bar) {
        let Self {
            account,
            positions,
            funding_next,
            ..
        } = self;
        let Account::Margin(cfg) = &*account else {
            return;
        };
        let id = bar.instrument as usize;
        let next = &mut funding_next[id];
        let mut due: Vec<(i64, Rate)> = Vec::new();
        match &cfg.funding {
            Funding::None => {}
            Funding::Constant { rate, interval_ns } => {
                if *next == i64::MIN {
                    *next = div_ceil(bar.ts as i128, *interval_ns as i128) as i64 * interval_ns;
                }
                while bar.ts >= *next {
                    due.push((*next, *rate));
                    *next += interval_ns;
                }
            }
            Funding::Series(series) => {
                while let Some(&(t, r)) = series.get(*next as usize) {
                    if t > bar.ts {
                        break;
                    }
                    due.push((t, r));
                    *next += 1;
                }
            }
        }
        if positions[id].qty == 0 || due.is_empty() {
            return;
        }
        for (ts, rate) in due {
            let pos = &mut self.positions[id];
            let amount = rate.charge(inst.notional(bar.open, pos.qty));
            if let Some(trip) = pos.trip.as_mut() {
                trip.fees += amount;
            }
            let qty = pos.qty;
            self.cash -= amount;
            self.funding_paid += amount;
            self.funding.push(FundingPayment {
                ts,
                instrument: bar.instrument,
                qty,
                mark: bar.open,
                rate,
                amount,
            });
        }
        self.cash_f = money_to_f64(self.cash);
    }

    /// Liquidation check of `bar`'s instrument once the venue traded the bar up to the liquidation
    /// point of its path (margin accounts; see the engine's `liquidation_cut`).
    /// On a hit, applies the liquidation fill, pushes it to `fills` and returns true; the caller
    /// cancels the instrument's open orders with `Reason::Liquidation`.
    #[inline]
    pub fn liquidate(
        &mut self,
        instruments: &[Instrument],
        bar: &Bar,
        fills: &mut Vec<Fill>,
    ) -> bool {
        let Account::Margin(cfg) = &self.account else {
            return false;
        };
        let pos = &self.positions[bar.instrument as usize];
        if pos.qty == 0 {
            return false;
        }
        let inst = &instruments[bar.instrument as usize];
        let Some(lp) = liq_price(inst, pos, cfg.mmr) else {
            return false;
        };
        let (hit, px, side) = if pos.qty > 0 {
            (bar.low <= lp, bar.open.min(lp), Side::Sell)
        } else {
            (bar.high >= lp, bar.open.max(lp), Side::Buy)
        };
        if !hit {
            return false;
        }
        let qty = pos.qty.abs();
        let fee = if cfg.liq_fee.0 == 0 {
            0
        } else {
            Rate::from(cfg.liq_fee).charge(inst.notional(px, qty))
        };
        let fill = Fill {
            ts: bar.ts,
            order_id: 0,
            instrument: bar.instrument,
            side,
            px,
            qty,
            fee,
            liquidity: Liquidity::Taker,
            liquidation: true,
        };
        self.apply(inst, &fill);
        fills.push(fill);
        true
    }

    /// Apply one fill: cash by exactly `±notional - fee`, position and cost basis, realized PnL,
    /// round trips (a trade it closes records its exit as [`Exit::Signal`]; see [`Self::apply_exit`]).
    pub fn apply(&mut self, inst: &Instrument, fill: &Fill) {
        self.apply_exit(inst, fill, Exit::Signal)
    }

    /// [`Self::apply`] for a fill of an order of exit kind `exit` (recorded on a trade it closes).
    pub fn apply_exit(&mut self, inst: &Instrument, fill: &Fill, exit: Exit) {
        let notional = inst.notional(fill.px, fill.qty);
        let signed_qty = fill.side.sign() * fill.qty;
        match fill.side {
            Side::Buy => self.cash -= notional + fill.fee,
            Side::Sell => self.cash += notional - fill.fee,
        }
        self.fees += fill.fee;
        self.cash_f = money_to_f64(self.cash);
        let imr = match &self.account {
            Account::Cash => 0,
            Account::Margin(cfg) => cfg.imr.0,
        };

        let pos = &mut self.positions[fill.instrument as usize];
        let was_open = pos.qty != 0;
        let mut remaining = signed_qty;
        let mut fee_left = fill.fee;
        // Close (part of) the existing position first.
        if pos.qty != 0 && (pos.qty > 0) != (remaining > 0) {
            let closing = remaining.abs().min(pos.qty.abs());
            // Whole closes (the common case) need no 128-bit division.
            let removed_cost = if closing == pos.qty.abs() {
                pos.cost
            } else {
                pos.cost * closing as i128 / pos.qty.abs() as i128
            };
            let proceeds = inst.notional(fill.px, closing);
            let pnl = pos.qty.signum() as i128 * proceeds - removed_cost;
            // The fee is split pro rata between the closing and the opening part.
            let closing_fee = if closing == fill.qty {
                fill.fee
            } else {
                fill.fee * closing as i128 / fill.qty as i128
            };
            fee_left -= closing_fee;
            if pos.margin != 0 {
                pos.margin -= if closing == pos.qty.abs() {
                    pos.margin
                } else {
                    pos.margin * closing as i128 / pos.qty.abs() as i128
                };
            }
            pos.realized += pnl;
            pos.cost -= removed_cost;
            pos.qty += closing * remaining.signum();
            remaining -= closing * remaining.signum();
            if let Some(trip) = pos.trip.as_mut() {
                trip.realized += pnl;
                trip.fees += closing_fee;
                trip.exit_pq += fill.px as i128 * closing as i128;
                trip.exit_q += closing;
                trip.mae = trip.mae.min(trip.realized);
                trip.mfe = trip.mfe.max(trip.realized);
            }
            if pos.qty == 0 {
                pos.cost = 0;
                if let Some(trip) = pos.trip.take() {
                    self.trades.push(trip.close(
                        fill.instrument,
                        fill.ts,
                        fill.order_id,
                        exit,
                        fill.liquidation,
                        true,
                    ));
                }
            }
        }
        // Open or add with what is left.
        if remaining != 0 {
            let opened = inst.notional(fill.px, remaining.abs());
            if imr != 0 {
                pos.margin += Rate(imr).charge(opened);
            }
            pos.cost += remaining.signum() as i128 * opened;
            pos.qty += remaining;
            let trip = pos.trip.get_or_insert(OpenTrip {
                entry_ts: fill.ts,
                long: remaining > 0,
                max_qty: 0,
                realized: 0,
                fees: 0,
                entry_pq: 0,
                entry_q: 0,
                exit_pq: 0,
                exit_q: 0,
                entry_cost: 0,
                mae: 0,
                mfe: 0,
            });
            trip.max_qty = trip.max_qty.max(pos.qty.abs());
            trip.fees += fee_left;
            trip.entry_pq += fill.px as i128 * remaining.abs() as i128;
            trip.entry_q += remaining.abs();
            trip.entry_cost += opened;
        }
        pos.qty_f = pos.qty as f64 / inst.size_scale;
        match (was_open, pos.qty != 0) {
            (false, true) => self.open_positions += 1,
            (true, false) => self.open_positions -= 1,
            _ => {}
        }
    }

    /// The open trip of instrument `id` sees the price range `lo..=hi` (raw; a bar's low and
    /// high, or a span's): its maximum adverse and favourable excursions follow.
    #[inline]
    pub fn excursion(&mut self, inst: &Instrument, id: InstrumentId, lo: i64, hi: i64) {
        let pos = &mut self.positions[id as usize];
        let Some(trip) = pos.trip.as_mut() else {
            return;
        };
        let at = |px: i64| trip.realized + inst.notional(px, pos.qty) - pos.cost;
        let (a, b) = (at(lo), at(hi));
        trip.mae = trip.mae.min(a.min(b));
        trip.mfe = trip.mfe.max(a.max(b));
    }

    /// The trips still open, as trades closed at their marks (`closed = false`; PnL realized plus
    /// unrealized, net of fees): what `result.trades` lists after the closed ones ("end of data").
    pub fn open_trades(&self, instruments: &[Instrument], ts: i64) -> Vec<Trade> {
        let mut out = Vec::new();
        for (i, (pos, inst)) in self.positions.iter().zip(instruments).enumerate() {
            let Some(trip) = &pos.trip else { continue };
            let mut t = trip.clone();
            let unrealized = inst.notional(pos.mark, pos.qty) - pos.cost;
            t.realized += unrealized;
            t.exit_pq += pos.mark as i128 * pos.qty.unsigned_abs() as i128;
            t.exit_q += pos.qty.abs();
            t.mae = t.mae.min(t.realized);
            t.mfe = t.mfe.max(t.realized);
            out.push(t.close(i as InstrumentId, ts, 0, Exit::Signal, false, false));
        }
        out
    }

    /// Mark instrument `id` at raw price `px` (`px_f` is the same price as a float).
    #[inline]
    pub fn mark(&mut self, id: InstrumentId, px: i64, px_f: f64) {
        let p = &mut self.positions[id as usize];
        p.mark = px;
        p.mark_f = px_f;
    }

    /// Cash as a float in currency units.
    #[inline]
    pub fn cash_f64(&self) -> f64 {
        self.cash_f
    }

    /// Whether any position is open.
    #[inline]
    pub fn exposed(&self) -> bool {
        self.open_positions > 0
    }

    /// Equity as a float for the equity curve: cash plus positions at their marks. Within ~1e-15
    /// relative of [`Portfolio::equity`], which stays the exact figure for sizing and reports.
    #[inline]
    pub fn equity_f64(&self) -> f64 {
        let mut eq = self.cash_f;
        if self.open_positions > 0 {
            for p in &self.positions {
                if p.qty != 0 {
                    eq += p.qty_f * p.mark_f;
                }
            }
        }
        eq
    }

    /// Cash plus every position at its mark, in money units.
    pub fn equity(&self, instruments: &[Instrument]) -> i128 {
        let mut eq = self.cash;
        for (pos, inst) in self.positions.iter().zip(instruments) {
            if pos.qty != 0 {
                eq += inst.notional(pos.mark, pos.qty);
            }
        }
        eq
    }
}

/// Why the account refused an order (or cut a fill), with the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDenial {
    pub reason: Reason,
    /// One sentence with the amounts, e.g. "buy 1.000000 BTCUSDT at 86000.00 costs 86064.50
    /// with fees; free balance 10000.00 (cash 10000.00)".
    pub detail: String,
}

/// `amount × rate` rounded up, for a rate that may be a rebate (then 0: a reservation never
/// counts on a rebate).
#[inline]
fn charge_up(rate: Rate, amount: i128) -> i128 {
    if rate.0 <= 0 || amount <= 0 {
        0
    } else {
        rate.charge(amount)
    }
}

/// The largest multiple of `lot` in `0..=qty` for which `fits` holds (`fits` is monotone: true up
/// to some quantity, false beyond). Binary search over lots: on the rare path where a fill is cut.
fn largest(qty: i64, lot: i64, fits: impl Fn(i64) -> bool) -> i64 {
    let (mut lo, mut hi) = (0i64, qty / lot);
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        if fits(mid * lot) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo * lot
}

/// A raw quantity as decimal text at the instrument's precision.
pub fn fmt_qty(inst: &Instrument, raw: i64) -> String {
    crate::model::fixed::format_fixed(raw as i128, inst.size_dp as u32)
}

/// A raw price as decimal text at the instrument's precision.
pub fn fmt_px(inst: &Instrument, raw: i64) -> String {
    crate::model::fixed::format_fixed(raw as i128, inst.price_dp as u32)
}

/// Money as decimal text with two decimals (rounded half away from zero), for messages.
pub fn fmt_money(m: i128) -> String {
    let cents = crate::model::fixed::pow10(crate::model::MONEY_DP - 2);
    let half = cents / 2;
    let r = if m >= 0 {
        (m + half) / cents
    } else {
        (m - half) / cents
    };
    crate::model::fixed::format_fixed(r, 2)
}

/// Liquidation price of a position (raw, on the tick), see [`MarginConfig`]. None when flat or the
/// 128-bit products overflow (positions beyond ~10^10 quote units at money precision).
fn liq_price(inst: &Instrument, pos: &Position, mmr: Bps) -> Option<i64> {
    if pos.qty == 0 {
        return None;
    }
    let one = Bps::ONE;
    let q = pos.qty.unsigned_abs() as i128;
    let unit = q.checked_mul(inst.notional_scale())?; // money units per raw price unit
    let tick = inst.tick as i128;
    let c = pos.cost.abs();
    let lp = if pos.qty > 0 {
        let num = (c - pos.margin).checked_mul(one)?;
        let den = unit.checked_mul(one - mmr.0 as i128)?;
        if num <= 0 {
            return Some(0);
        }
        div_floor(div_floor(num, den), tick) * tick
    } else {
        let num = (c + pos.margin).checked_mul(one)?;
        let den = unit.checked_mul(one + mmr.0 as i128)?;
        div_ceil(div_ceil(num, den), tick) * tick
    };
    i64::try_from(lp).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixed::pow10;

    struct NoOrders;
    impl WorkingOrders for NoOrders {
        fn working_totals(&self, _: InstrumentId, _: Side) -> WorkingTotals {
            WorkingTotals::default()
        }
    }

    fn fill(side: Side, px: i64, qty: i64, fee: i128, ts: i64) -> Fill {
        Fill {
            ts,
            order_id: 1,
            instrument: 0,
            side,
            px,
            qty,
            fee,
            liquidity: Liquidity::Taker,
            liquidation: false,
        }
    }

    #[test]
    fn round_trip_long_then_flip_short() {
        let inst = Instrument::new("X", 2, 3).unwrap(); // px in cents, qty in 1e-3
        let money = |units: i128| units * pow10(crate::model::MONEY_DP);
        let mut p = Portfolio::new(money(1000), 1);
        p.apply(&inst, &fill(Side::Buy, 10_000, 2_000, 0, 1)); // buy 2 @ 100.00
        assert_eq!(p.cash, money(800));
        assert_eq!(p.positions[0].qty, 2_000);
        p.mark(0, 11_000, 110.0);
        assert!((p.equity_f64() - 1020.0).abs() < 1e-9);
        assert_eq!(p.equity(std::slice::from_ref(&inst)), money(1020));
        p.apply(&inst, &fill(Side::Sell, 11_000, 3_000, 0, 2)); // sell 3 @ 110: close 2, open short 1
        assert_eq!(p.cash, money(1130));
        assert_eq!(p.positions[0].qty, -1_000);
        assert_eq!(p.positions[0].realized, money(20));
        assert_eq!(p.trades.len(), 1);
        assert_eq!(p.trades[0].pnl, money(20));
        p.apply(&inst, &fill(Side::Buy, 9_000, 1_000, money(1), 3)); // cover @ 90 with a fee of 1
        assert_eq!(p.positions[0].qty, 0);
        assert_eq!(p.cash, money(1130 - 90 - 1));
        assert_eq!(p.trades[1].pnl, money(20 - 1));
        assert_eq!(p.fees, money(1));
    }

    fn margin(lev: f64, mmr: f64, liq_fee: f64, funding: Funding) -> Account {
        Account::Margin(MarginConfig::new(lev, mmr, liq_fee, funding).unwrap())
    }

    fn bar(ts: i64, o: i64, h: i64, l: i64, c: i64) -> Bar {
        Bar {
            instrument: 0,
            ts,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 1.0,
        }
    }

    const M: i128 = pow10(crate::model::MONEY_DP);

    #[test]
    fn isolated_margin_is_posted_released_and_checked() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut p = Portfolio::new(1000 * M, 1);
        p.set_account(margin(10.0, 0.005, 0.0, Funding::None));
        // 10x: 2 units @ 100.00 post 20.00; wallet stays 1000 (no fee), free 980.
        p.apply(&inst, &fill(Side::Buy, 10_000, 2_000, M / 10, 1));
        assert_eq!(p.positions[0].margin, 20 * M);
        assert_eq!(p.wallet(), 1000 * M - M / 10);
        assert_eq!(p.free_margin(), 980 * M - M / 10);
        // Half closed at 110: releases 10.00; realized +10 → wallet 1009.9.
        p.apply(&inst, &fill(Side::Sell, 11_000, 1_000, 0, 2));
        assert_eq!(p.positions[0].margin, 10 * M);
        assert_eq!(p.wallet(), 1010 * M - M / 10);
        assert_eq!(
            p.wallet(),
            p.initial_cash + p.positions[0].realized - p.fees
        );
        // Wallet 1009.9, long 1 with 10.00 posted. Worst-case need of a buy of 100 @ 100 at 10x:
        // 10.00 + 1000.00 = 1010.00 > 1009.9: refused; 99 units: 10 + 990 = 1000: pass. A sell of
        // 101 closes 1 and opens 100 short: 1000.00; 102: 1010.00, refused. Reducing needs none.
        let free = p.free_margin();
        assert_eq!(free, 1000 * M - M / 10);
        let insts = std::slice::from_ref(&inst);
        let check = |p: &Portfolio, side, qty| {
            let spec = OrderSpec::new(1, 0, side, crate::model::OrderKind::Market, qty);
            p.check_order(insts, &spec, qty, Some(10_000), Rate(0), &NoOrders, None)
                .map_err(|d| d.reason)
        };
        assert_eq!(
            check(&p, Side::Buy, 100_000),
            Err(Reason::InsufficientMargin)
        );
        assert_eq!(check(&p, Side::Buy, 99_000), Ok(()));
        assert_eq!(check(&p, Side::Sell, 101_000), Ok(()));
        assert_eq!(
            check(&p, Side::Sell, 102_000),
            Err(Reason::InsufficientMargin)
        );
        assert_eq!(check(&p, Side::Sell, 1_000), Ok(()));
        // A cash account pays for what it buys and holds what it sells.
        let cash = Portfolio::new(M, 1);
        assert_eq!(
            check(&cash, Side::Buy, 1_000_000),
            Err(Reason::InsufficientBalance)
        );
        assert_eq!(check(&cash, Side::Buy, 10), Ok(())); // 0.01 @ 100 = 1.00
        assert_eq!(
            check(&cash, Side::Buy, 11),
            Err(Reason::InsufficientBalance)
        );
        assert_eq!(
            check(&cash, Side::Sell, 1),
            Err(Reason::InsufficientHoldings)
        );
        assert!(MarginConfig::new(0.5, 0.0, 0.0, Funding::None).is_err());
        assert!(
            MarginConfig::new(10.0, 0.1, 0.0, Funding::None).is_err(),
            "MMR must be < IMR"
        );
        assert!(MarginConfig::new(10.0, 0.005, 1.0, Funding::None).is_err());
        assert!(
            MarginConfig::new(
                10.0,
                0.005,
                0.0,
                Funding::Series(vec![(2, Rate(1)), (2, Rate(1))])
            )
            .is_err()
        );
    }

    #[test]
    fn liquidation_prices_by_hand() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        // 10x, MMR 0.5%. Long 2 @ 100: C = 200, M = 20.
        // LP = (C - M) / (q (1 - MMR)) = 180 / 1.99 = 90.4522… → 90.45 (down to the cent).
        // Check: at 90.45 equity 20 - 2 × 9.55 = 0.90 ≤ 0.5% × 180.90 = 0.9045; at 90.46
        // 0.92 > 0.9046.
        let mut p = Portfolio::new(1000 * M, 1);
        p.set_account(margin(10.0, 0.005, 0.001, Funding::None));
        p.apply(&inst, &fill(Side::Buy, 10_000, 2_000, 0, 1));
        assert_eq!(p.liquidation_price(&inst, 0), Some(9_045));
        // Short 2 @ 100: LP = 220 / 2.01 = 109.4527… → 109.46 (up).
        let mut s = Portfolio::new(1000 * M, 1);
        s.set_account(margin(10.0, 0.005, 0.0, Funding::None));
        s.apply(&inst, &fill(Side::Sell, 10_000, 2_000, 0, 1));
        assert_eq!(s.liquidation_price(&inst, 0), Some(10_946));
        // 1x long cannot be liquidated (LP = 0).
        let mut one = Portfolio::new(1000 * M, 1);
        one.set_account(margin(1.0, 0.005, 0.0, Funding::None));
        one.apply(&inst, &fill(Side::Buy, 10_000, 2_000, 0, 1));
        assert_eq!(one.liquidation_price(&inst, 0), None);

        let insts = std::slice::from_ref(&inst);
        let mut fills = Vec::new();
        // Low 90.46: safe. Low 90.45: liquidated at 90.45 (the open is above).
        assert!(!p.liquidate(insts, &bar(2, 9_500, 9_600, 9_046, 9_100), &mut fills));
        assert!(p.liquidate(insts, &bar(3, 9_500, 9_600, 9_045, 9_100), &mut fills));
        let f = fills.pop().unwrap();
        assert_eq!(
            (f.side, f.px, f.qty, f.order_id, f.liquidation),
            (Side::Sell, 9_045, 2_000, 0, true)
        );
        // Liquidation fee 0.1% of 180.90 = 0.1809.
        assert_eq!(f.fee, 1809 * M / 10_000);
        // (liquidate applied the fill itself)
        // Cash: 1000 - 200 + 180.90 - 0.1809 = 980.7191; flat, no margin left.
        assert_eq!(p.cash, 9_807_191 * M / 10_000);
        assert_eq!(p.wallet(), p.cash);
        assert_eq!(p.positions[0].margin, 0);
        assert_eq!(p.trades[0].pnl, -(19 * M + 2809 * M / 10_000));
        // A bar opening through the LP fills at the open.
        s.apply(&inst, &fill(Side::Buy, 10_000, 2_000, 0, 4)); // flat the short
        s.apply(&inst, &fill(Side::Sell, 10_000, 2_000, 0, 5));
        assert!(s.liquidate(insts, &bar(6, 11_500, 11_800, 11_400, 11_600), &mut fills));
        let g = fills.pop().unwrap();
        assert_eq!((g.side, g.px, g.fee), (Side::Buy, 11_500, 0));
    }

    #[test]
    fn funding_is_qty_times_mark_times_rate() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let h = 3600 * 1_000_000_000i64;
        let rate = Rate::from_fraction(0.0001).unwrap(); // 1 bp
        let mut p = Portfolio::new(1000 * M, 1);
        p.set_account(margin(
            5.0,
            0.01,
            0.0,
            Funding::Constant {
                rate,
                interval_ns: FUNDING_8H_NS,
            },
        ));
        // Flat at 00:00: nothing is paid. Long 2 from 01:00.
        p.on_bar_open(&inst, &bar(0, 10_000, 10_000, 10_000, 10_000));
        p.apply(&inst, &fill(Side::Buy, 10_000, 2_000, 0, h));
        p.on_bar_open(&inst, &bar(7 * h, 10_300, 10_300, 10_300, 10_300));
        assert!(p.funding.is_empty());
        // 08:00 bar opens at 105.00: pays 2 × 105 × 0.0001 = 0.021.
        p.on_bar_open(&inst, &bar(8 * h, 10_500, 10_600, 10_400, 10_500));
        assert_eq!(p.funding.len(), 1);
        assert_eq!(p.funding[0].amount, 21 * M / 1000);
        assert_eq!((p.funding[0].ts, p.funding[0].mark), (8 * h, 10_500));
        // A gap from 09:00 to 17:01: the 16:00 funding is settled at 17:01's open (110.00): 0.022.
        p.on_bar_open(&inst, &bar(9 * h, 10_500, 10_600, 10_400, 10_500));
        p.on_bar_open(
            &inst,
            &bar(17 * h + 60_000_000_000, 11_000, 11_000, 11_000, 11_000),
        );
        assert_eq!(p.funding.len(), 2);
        assert_eq!(
            (p.funding[1].ts, p.funding[1].amount),
            (16 * h, 22 * M / 1000)
        );
        assert_eq!(p.funding_paid, 43 * M / 1000);
        assert_eq!(p.cash, 800 * M - 43 * M / 1000);
        assert_eq!(p.wallet(), 1000 * M - 43 * M / 1000);

        // A short under a series: +1 bp then -3 bp: receives 0.02 (2 × 100 × 1bp), pays 0.0603
        // (2 × 100.50 × 3 bp); rounding of a 1e-10 rate: receipts toward zero, payments up.
        let mut s = Portfolio::new(1000 * M, 1);
        s.set_account(margin(
            5.0,
            0.01,
            0.0,
            Funding::Series(vec![
                (10, rate),
                (20, Rate::from_bps(-3.0).unwrap()),
                (30, Rate(-1)),
            ]),
        ));
        s.apply(&inst, &fill(Side::Sell, 10_000, 2_000, 0, 0));
        s.on_bar_open(&inst, &bar(10, 10_000, 10_000, 10_000, 10_000));
        s.on_bar_open(&inst, &bar(25, 10_050, 10_050, 10_050, 10_050));
        assert_eq!(
            s.funding.iter().map(|f| f.amount).collect::<Vec<_>>(),
            vec![-2 * M / 100, 603 * M / 10_000]
        );
        // Rounding: a 1-raw position on an instrument whose notional is px × qty money units.
        let tiny = Instrument::new("T", 9, 9).unwrap();
        let mut t = Portfolio::new(M, 1);
        t.set_account(margin(
            5.0,
            0.01,
            0.0,
            Funding::Series(vec![(1, Rate(-3)), (2, Rate(3))]),
        ));
        t.apply(&tiny, &fill(Side::Buy, 7, 1, 0, 0)); // notional 7 money units
        t.on_bar_open(&tiny, &bar(1, 7, 7, 7, 7)); // receives 2.1e-9 → 0 (toward zero)
        t.on_bar_open(&tiny, &bar(2, 7, 7, 7, 7)); // pays 2.1e-9 → 1 (up)
        assert_eq!(
            t.funding.iter().map(|f| f.amount).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }
}
