//! Accounting: a cash account, net positions per instrument with exact cost basis, realized and
//! unrealized PnL, closed round-trip trades, and fees paid.
//!
//! Every amount is exact fixed point (see [`crate::model::fixed`]): cash moves by exactly
//! `notional ± fee` on each fill, so the balance reconciles with the fill list to the last unit. The cost basis of a partly closed position is reduced
//! pro rata (integer division toward zero); realized PnL absorbs that rounding, cash never does.
//!
//! This account is a plain cash account with no credit check: a short sale credits its proceeds
//! and a buy may take cash below zero. Balance and leverage limits belong to the risk engine.

use crate::model::fixed::money_to_f64;
use crate::model::{Fill, Instrument, InstrumentId, Side};

#[derive(Debug, Clone, Default, PartialEq)]
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
}

#[derive(Debug, Clone, PartialEq)]
struct OpenTrip {
    entry_ts: i64,
    long: bool,
    max_qty: i64,
    realized: i128,
    fees: i128,
}

/// A closed round trip: from flat (or a flip) back to flat (or the next flip).
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub instrument: InstrumentId,
    pub long: bool,
    pub entry_ts: i64,
    pub exit_ts: i64,
    pub max_qty: i64,
    /// Realized PnL of the round trip, net of every fee paid inside it, in money units.
    pub pnl: i128,
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

#[derive(Debug, Clone)]
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
        }
    }

    /// Apply one fill: cash by exactly `±notional - fee`, position and cost basis, realized PnL,
    /// round trips.
    pub fn apply(&mut self, inst: &Instrument, fill: &Fill) {
        let notional = inst.notional(fill.px, fill.qty);
        let signed_qty = fill.side.sign() * fill.qty;
        match fill.side {
            Side::Buy => self.cash -= notional + fill.fee,
            Side::Sell => self.cash += notional - fill.fee,
        }
        self.fees += fill.fee;
        self.cash_f = money_to_f64(self.cash);

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
            pos.realized += pnl;
            pos.cost -= removed_cost;
            pos.qty += closing * remaining.signum();
            remaining -= closing * remaining.signum();
            if let Some(trip) = pos.trip.as_mut() {
                trip.realized += pnl;
                trip.fees += closing_fee;
            }
            if pos.qty == 0 {
                pos.cost = 0;
                if let Some(trip) = pos.trip.take() {
                    self.trades.push(Trade {
                        instrument: fill.instrument,
                        long: trip.long,
                        entry_ts: trip.entry_ts,
                        exit_ts: fill.ts,
                        max_qty: trip.max_qty,
                        pnl: trip.realized - trip.fees,
                    });
                }
            }
        }
        // Open or add with what is left.
        if remaining != 0 {
            pos.cost += remaining.signum() as i128 * inst.notional(fill.px, remaining.abs());
            pos.qty += remaining;
            let trip = pos.trip.get_or_insert(OpenTrip {
                entry_ts: fill.ts,
                long: remaining > 0,
                max_qty: 0,
                realized: 0,
                fees: 0,
            });
            trip.max_qty = trip.max_qty.max(pos.qty.abs());
            trip.fees += fee_left;
        }
        pos.qty_f = pos.qty as f64 / inst.size_scale;
        match (was_open, pos.qty != 0) {
            (false, true) => self.open_positions += 1,
            (true, false) => self.open_positions -= 1,
            _ => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Liquidity, fixed::pow10};

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
}
