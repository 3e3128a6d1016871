//! Maker/taker fees with volume tiers (Binance style).
//!
//! A [`FeeModel`] holds a tier table: tier `k` applies once the account's traded notional reaches
//! `tiers[k].min_volume`. The tier is either fixed ([`TierBasis::Fixed`], e.g. "VIP 3" for the whole
//! run) or chosen at each fill by the notional traded over the trailing window
//! ([`TierBasis::Rolling`], 30 days by default), the way Binance picks a tier from 30-day volume.
//!
//! Contract:
//! - `fee = notional × rate`, exact in i128 money ([`crate::model::MONEY_DP`]); a charge (rate > 0)
//!   rounds up to the money unit, a rebate (maker rate < 0, a negative fee) rounds toward zero:
//!   both are `ceil`, so rounding never favours the trader.
//! - The rolling volume at a fill at `ts` is the notional of every earlier fill with
//!   `ts - window < fill_ts <= ts`, the current fill excluded (it counts from the next fill on).
//!   Binance recomputes tiers once a day from the previous 30 days; the rolling window is the
//!   continuous form of that rule (a deliberate simplification, documented here).
//! - Volume is summed in money units across every instrument (one quote currency is assumed).
//! - [`FeeModel::flat`] is the single-tier table: exactly the venue's historical
//!   `div_ceil(notional * fee_bps, Bps::ONE)`.

use std::collections::VecDeque;

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::Rate;
use crate::model::{Bps, Instrument, Liquidity};

/// 30 days in nanoseconds: the default tier window.
pub const WINDOW_30D_NS: i64 = 30 * 24 * 3600 * 1_000_000_000;

/// One row of the tier table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeeTier {
    /// Traded notional (money units) from which this tier applies; the first tier's is 0.
    pub min_volume: i128,
    /// Maker rate (negative: a rebate).
    pub maker: Rate,
    pub taker: Rate,
}

/// How the tier is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TierBasis {
    /// Always tier `k` (an index into the table).
    Fixed(usize),
    /// By the notional traded over the trailing `window_ns`.
    Rolling { window_ns: i64 },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeeModel {
    tiers: Vec<FeeTier>,
    basis: TierBasis,
    /// (ts, notional) of the fills inside the window (rolling basis only).
    history: VecDeque<(i64, i128)>,
    /// Sum of `history`'s notionals.
    volume: i128,
    /// Tier used by the latest fill.
    last_tier: usize,
}

impl Default for FeeModel {
    fn default() -> Self {
        Self::flat(Bps(0), Bps(0))
    }
}

impl FeeModel {
    /// One tier, the same rates for every fill: reproduces the flat `fee_bps` of the bar venue.
    pub fn flat(maker: Bps, taker: Bps) -> Self {
        Self::flat_signed(maker.into(), taker.into())
    }

    /// One tier with a signed maker rate (a rebate when negative).
    pub fn flat_signed(maker: Rate, taker: Rate) -> Self {
        Self {
            tiers: vec![FeeTier {
                min_volume: 0,
                maker,
                taker,
            }],
            basis: TierBasis::Fixed(0),
            history: VecDeque::new(),
            volume: 0,
            last_tier: 0,
        }
    }

    /// A tier table. Tiers must start at volume 0 and have strictly increasing `min_volume`; a
    /// fixed tier must exist; a rolling window must be positive.
    pub fn tiered(tiers: Vec<FeeTier>, basis: TierBasis) -> CoreResult<Self> {
        let bad = |reason: String| CoreError::InvalidArgument {
            name: "fee_tiers",
            reason,
        };
        match tiers.first() {
            None => return Err(bad("at least one tier is needed".into())),
            Some(t) if t.min_volume != 0 => {
                return Err(bad("the first tier must start at volume 0".into()));
            }
            _ => {}
        }
        if let Some(k) = tiers
            .windows(2)
            .position(|w| w[1].min_volume <= w[0].min_volume)
        {
            return Err(bad(format!(
                "tier {} does not start above tier {} (volumes must increase)",
                k + 1,
                k
            )));
        }
        for (k, t) in tiers.iter().enumerate() {
            if t.taker.0 < 0 {
                return Err(bad(format!("tier {k}: a taker rate cannot be negative")));
            }
            if t.maker.0 <= -(Bps::ONE as i64) || t.taker.0 >= Bps::ONE as i64 {
                return Err(bad(format!("tier {k}: rates must stay within ±100%")));
            }
        }
        match basis {
            TierBasis::Fixed(k) if k >= tiers.len() => {
                return Err(CoreError::InvalidArgument {
                    name: "fee_tier",
                    reason: format!("no tier {k} (the table has {})", tiers.len()),
                });
            }
            TierBasis::Rolling { window_ns } if window_ns <= 0 => {
                return Err(bad(format!(
                    "the volume window must be positive, got {window_ns} ns"
                )));
            }
            _ => {}
        }
        let last_tier = match basis {
            TierBasis::Fixed(k) => k,
            TierBasis::Rolling { .. } => 0,
        };
        Ok(Self {
            tiers,
            basis,
            history: VecDeque::new(),
            volume: 0,
            last_tier,
        })
    }

    pub fn tiers(&self) -> &[FeeTier] {
        &self.tiers
    }

    pub fn basis(&self) -> TierBasis {
        self.basis
    }

    /// The tier used by the latest fill (the fixed tier before any).
    pub fn last_tier(&self) -> usize {
        self.last_tier
    }

    /// Notional traded inside the window as of the latest fill, current fill included.
    pub fn window_volume(&self) -> i128 {
        self.volume
    }

    /// The highest rate a fill of `liquidity` can be charged under this schedule (the fixed
    /// tier's, or the highest over the table for a rolling basis): what the account reserves
    /// for fees before a fill ([`crate::portfolio::Portfolio::fill_capacity`]).
    pub fn max_rate(&self, liquidity: Liquidity) -> Rate {
        let pick = |t: &FeeTier| match liquidity {
            Liquidity::Maker => t.maker,
            Liquidity::Taker => t.taker,
        };
        match self.basis {
            TierBasis::Fixed(k) => pick(&self.tiers[k]),
            TierBasis::Rolling { .. } => self.tiers.iter().map(pick).max().unwrap_or_default(),
        }
    }

    /// Fee of one fill (money units; negative = rebate), recording its notional for the tiers.
    #[inline]
    pub fn fee(
        &mut self,
        inst: &Instrument,
        px: i64,
        qty: i64,
        liquidity: Liquidity,
        ts: i64,
    ) -> i128 {
        let (k, rolling) = match self.basis {
            TierBasis::Fixed(k) => (k, false),
            TierBasis::Rolling { window_ns } => (self.roll(ts, window_ns), true),
        };
        self.last_tier = k;
        let tier = &self.tiers[k];
        let rate = match liquidity {
            Liquidity::Maker => tier.maker,
            Liquidity::Taker => tier.taker,
        };
        if rate.0 == 0 && !rolling {
            return 0; // the common flat zero fee: no 128-bit work
        }
        let notional = inst.notional(px, qty);
        if rolling {
            self.history.push_back((ts, notional));
            self.volume += notional;
        }
        if rate.0 == 0 {
            return 0;
        }
        rate.charge(notional)
    }

    /// Drop fills older than the window, return the tier for the volume left.
    fn roll(&mut self, ts: i64, window_ns: i64) -> usize {
        let cutoff = ts.saturating_sub(window_ns);
        while let Some(&(t, n)) = self.history.front() {
            if t > cutoff {
                break;
            }
            self.volume -= n;
            self.history.pop_front();
        }
        // Tables are short (Binance has 10 rows): a linear scan from the top.
        self.tiers
            .iter()
            .rposition(|t| t.min_volume <= self.volume)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixed::{div_ceil, pow10};

    const M: i128 = pow10(crate::model::MONEY_DP);

    fn bps(x: f64) -> Rate {
        Rate::from_bps(x).unwrap()
    }

    #[test]
    fn flat_reproduces_the_venue_fee_exactly() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        for fee_bps in [0.0, 1.0, 2.5, 7.5, 10.0, 0.123456] {
            let b = Bps::from_f64(fee_bps).unwrap();
            let mut m = FeeModel::flat(b, b);
            for (px, qty) in [(10_061, 1_000), (1, 1), (4_599_999, 12_345), (10_000, 7)] {
                let old = if b.0 == 0 {
                    0
                } else {
                    div_ceil(inst.notional(px, qty) * b.0 as i128, Bps::ONE)
                };
                for liq in [Liquidity::Maker, Liquidity::Taker] {
                    assert_eq!(m.fee(&inst, px, qty, liq, 0), old, "{fee_bps} {px} {qty}");
                }
            }
        }
    }

    #[test]
    fn charges_round_up_rebates_toward_zero() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let mut m = FeeModel::flat_signed(bps(-2.5), bps(3.0));
        // notional of 0.003 units at 1.01 = 0.00303 → 3.03e15 money units.
        // taker 3 bp: 9.09e11 exactly; maker -2.5 bp: -7.575e11 exactly.
        assert_eq!(m.fee(&inst, 101, 3, Liquidity::Taker, 0), 909_000_000_000);
        assert_eq!(m.fee(&inst, 101, 3, Liquidity::Maker, 0), -757_500_000_000);
        // Remainders: rates of ±3e-10 on an instrument whose notional is px × qty money units.
        let mut r = FeeModel::flat_signed(Rate(-3), Rate(3));
        let tiny = Instrument::new("T", 9, 9).unwrap();
        // 7 × 3 / 1e10 = 2.1e-9 → charge rounds up to 1, rebate rounds toward zero to 0.
        assert_eq!(r.fee(&tiny, 7, 1, Liquidity::Taker, 0), 1);
        assert_eq!(r.fee(&tiny, 7, 1, Liquidity::Maker, 0), 0);
        // 5e9 × 3 / 1e10 = 1.5 → charge 2, rebate -1.
        assert_eq!(r.fee(&tiny, 5_000_000_000, 1, Liquidity::Taker, 0), 2);
        assert_eq!(r.fee(&tiny, 5_000_000_000, 1, Liquidity::Maker, 0), -1);
    }

    #[test]
    fn tiers_follow_the_rolling_30_day_volume() {
        let inst = Instrument::new("X", 2, 3).unwrap();
        let tiers = vec![
            FeeTier {
                min_volume: 0,
                maker: bps(2.0),
                taker: bps(4.0),
            },
            FeeTier {
                min_volume: 1_000 * M,
                maker: bps(1.0),
                taker: bps(3.0),
            },
            FeeTier {
                min_volume: 5_000 * M,
                maker: bps(-0.5),
                taker: bps(2.0),
            },
        ];
        let mut m = FeeModel::tiered(
            tiers.clone(),
            TierBasis::Rolling {
                window_ns: WINDOW_30D_NS,
            },
        )
        .unwrap();
        let day = 24 * 3600 * 1_000_000_000i64;
        // 6 units @ 100.00 = 600 notional; fee at tier 0 taker 4 bp = 0.24.
        assert_eq!(
            m.fee(&inst, 10_000, 6_000, Liquidity::Taker, 0),
            24 * M / 100
        );
        assert_eq!(m.last_tier(), 0);
        // Volume so far 600 (< 1000): still tier 0 for this fill, 600 more → 1200.
        assert_eq!(
            m.fee(&inst, 10_000, 6_000, Liquidity::Maker, day),
            12 * M / 100
        );
        // Now 1200 ≥ 1000: tier 1, taker 3 bp on 600 = 0.18.
        assert_eq!(
            m.fee(&inst, 10_000, 6_000, Liquidity::Taker, 2 * day),
            18 * M / 100
        );
        assert_eq!(m.last_tier(), 1);
        // 4000 @ day 3 → volume 5800 for the next fill: tier 2 with a maker rebate of 0.5 bp.
        m.fee(&inst, 10_000, 40_000, Liquidity::Taker, 3 * day);
        assert_eq!(
            m.fee(&inst, 10_000, 6_000, Liquidity::Maker, 4 * day),
            -3 * M / 100
        );
        assert_eq!(m.last_tier(), 2);
        assert_eq!(m.window_volume(), 6_400 * M);
        // 30 days after the first fill it leaves the window (`ts - window < fill_ts` fails at
        // equality): 6400 - 600 = 5800, still tier 2 (then +0.1 traded).
        m.fee(&inst, 10_000, 1, Liquidity::Taker, 30 * day);
        assert_eq!(m.last_tier(), 2);
        // Day 32: the day-1 and day-2 fills are gone: 4000 + 600 + 0.1 → tier 1.
        m.fee(&inst, 10_000, 1, Liquidity::Taker, 32 * day);
        assert_eq!(m.last_tier(), 1);
        // Day 34: only the two 0.1 fills are left → tier 0.
        m.fee(&inst, 10_000, 1, Liquidity::Taker, 34 * day);
        assert_eq!(m.last_tier(), 0);
        assert_eq!(m.window_volume(), 3 * M / 10);
        // Fixed tier ignores volume.
        let mut f = FeeModel::tiered(tiers, TierBasis::Fixed(2)).unwrap();
        assert_eq!(
            f.fee(&inst, 10_000, 6_000, Liquidity::Maker, 0),
            -3 * M / 100
        );
        assert_eq!(f.window_volume(), 0);
    }

    #[test]
    fn bad_tables_are_errors() {
        let t = |v: i128| FeeTier {
            min_volume: v,
            maker: Rate(0),
            taker: Rate(0),
        };
        let roll = TierBasis::Rolling {
            window_ns: WINDOW_30D_NS,
        };
        assert!(FeeModel::tiered(vec![], roll).is_err());
        assert!(FeeModel::tiered(vec![t(5)], roll).is_err());
        assert!(FeeModel::tiered(vec![t(0), t(0)], roll).is_err());
        assert!(FeeModel::tiered(vec![t(0), t(1)], TierBasis::Fixed(2)).is_err());
        assert!(FeeModel::tiered(vec![t(0)], TierBasis::Rolling { window_ns: 0 }).is_err());
        let neg_taker = FeeTier {
            taker: Rate(-1),
            ..t(0)
        };
        assert!(FeeModel::tiered(vec![neg_taker], roll).is_err());
        assert!(FeeModel::tiered(vec![t(0), t(10)], TierBasis::Fixed(1)).is_ok());
    }
}
