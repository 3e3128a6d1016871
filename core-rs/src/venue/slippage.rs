//! Slippage models: the price a taker order actually gets, given a reference price.
//!
//! Every model moves the price against the trader (buys up, sells down) and rounds the result to
//! the instrument's tick against the trader; a sell never goes below one tick. Each model states
//! what it assumes:
//! - [`Slippage::None`]: the reference price is tradable in any size (only the tick rounding).
//! - [`Slippage::FixedBps`]: a constant cost of `bps` on every taker fill, whatever the size or the
//!   market (the bar venue's historical `slippage_bps`; gives the same prices to the last tick).
//! - [`Slippage::Spread`]: the reference is the mid; a taker pays half the spread (fills at the far
//!   side). The spread is the quoted `ask - bid` when the context has both (ticks, L2), otherwise
//!   `assumed` bps of the reference (bars carry no quotes). Size does not matter (the top level is
//!   assumed deep enough).
//! - [`Slippage::SqrtImpact`]: the square-root market-impact law,
//!   `impact = k × sigma × sqrt(qty / volume)` as a fraction of the reference, capped at `max`.
//!   `sigma` and `volume` must describe the same horizon: on bars [`SlipCtx::from_bar`] takes the
//!   bar's own volume and its Parkinson volatility `ln(high / low) / (2 sqrt(ln 2))` (one bar's
//!   σ), i.e. the order is assumed to trade during one bar against that bar's flow. A caller with
//!   better estimates (daily σ and ADV for orders worked over a day) puts them in the context.
//!   With no volume (or zero) or no sigma the impact is the cap (trading into unknown liquidity is
//!   assumed to cost the most). The impact fraction is rounded to the nearest 1e-10 (the rate
//!   unit) before the exact integer step, so the float `sqrt` cannot leak noise into the price.

use crate::model::fixed::{div_ceil, div_floor};
use crate::model::{Bar, Bps, Instrument, Side};

/// Market context for one fill. Every field is optional; models say which they read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SlipCtx {
    /// Best bid / ask (raw prices).
    pub bid: Option<i64>,
    pub ask: Option<i64>,
    /// Traded volume over the horizon, in instrument units (not raw).
    pub volume: Option<f64>,
    /// Volatility over the same horizon, as a fraction (0.01 = 1%).
    pub sigma: Option<f64>,
}

impl SlipCtx {
    /// The bar's volume and its Parkinson volatility `ln(high / low) / (2 sqrt(ln 2))`.
    pub fn from_bar(bar: &Bar) -> Self {
        let sigma = if bar.low > 0 && bar.high >= bar.low {
            (bar.high as f64 / bar.low as f64).ln() / (2.0 * std::f64::consts::LN_2.sqrt())
        } else {
            0.0
        };
        Self {
            bid: None,
            ask: None,
            volume: Some(bar.volume),
            sigma: Some(sigma),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Slippage {
    #[default]
    None,
    FixedBps(Bps),
    /// Half the spread: quoted, else `assumed` bps (the full spread) of the reference.
    Spread {
        assumed: Bps,
    },
    /// `k × sigma × sqrt(qty / volume)`, at most `max`.
    SqrtImpact {
        k: f64,
        max: Bps,
    },
}

impl Slippage {
    /// Whether the model reads the market context (the caller may skip building it otherwise).
    #[inline]
    pub fn needs_ctx(&self) -> bool {
        matches!(self, Slippage::Spread { .. } | Slippage::SqrtImpact { .. })
    }

    /// The fill price of a taker order of `qty` (raw) on `side` against reference `ref_px` (raw).
    pub fn price(
        &self,
        inst: &Instrument,
        side: Side,
        ref_px: i64,
        qty: i64,
        ctx: &SlipCtx,
    ) -> i64 {
        let one = Bps::ONE;
        match *self {
            Slippage::None => round_tick(inst, side, ref_px as i128, 1),
            Slippage::FixedBps(b) => {
                if b.0 == 0 && ref_px % inst.tick == 0 {
                    return ref_px; // the common case: skip the 128-bit divisions
                }
                fixed(inst, side, ref_px, b.0 as i128)
            }
            Slippage::Spread { assumed } => match (ctx.bid, ctx.ask) {
                (Some(bid), Some(ask)) => {
                    let spread = (ask - bid).max(0) as i128;
                    let twice = 2 * ref_px as i128 + side.sign() as i128 * spread;
                    round_tick(inst, side, twice, 2)
                }
                _ => {
                    let s = assumed.0 as i128;
                    let num = match side {
                        Side::Buy => 2 * one + s,
                        Side::Sell => (2 * one - s).max(0),
                    };
                    round_tick(inst, side, ref_px as i128 * num, 2 * one)
                }
            },
            Slippage::SqrtImpact { k, max } => {
                let cap = max.0 as i128;
                let units = match (ctx.volume, ctx.sigma) {
                    (Some(v), Some(sigma)) if v > 0.0 => {
                        let q = qty as f64 / inst.size_scale;
                        let f = k * sigma * (q / v).sqrt();
                        let u = (f * one as f64).round();
                        if u.is_finite() && u >= 0.0 {
                            (u as i128).min(cap)
                        } else {
                            cap
                        }
                    }
                    _ => cap,
                };
                fixed(inst, side, ref_px, units)
            }
        }
    }
}

/// `px` moved against the trader by `rate` (1e-10 units), rounded to the tick against them.
#[inline]
fn fixed(inst: &Instrument, side: Side, px: i64, rate: i128) -> i64 {
    let one = Bps::ONE;
    let num = match side {
        Side::Buy => one + rate,
        Side::Sell => (one - rate).max(0),
    };
    round_tick(inst, side, px as i128 * num, one)
}

/// `value / den` rounded to the tick against the trader: buys up, sells down (never below a tick).
/// Rounds to the integer first then to the tick, exactly as the bar venue always did.
#[inline]
fn round_tick(inst: &Instrument, side: Side, value: i128, den: i128) -> i64 {
    let tick = inst.tick as i128;
    match side {
        Side::Buy => {
            let adj = div_ceil(value, den);
            (div_ceil(adj, tick) * tick) as i64
        }
        Side::Sell => {
            let adj = div_floor(value, den);
            ((div_floor(adj, tick) * tick) as i64).max(inst.tick)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar venue's historical `SimVenue::slipped`, kept verbatim as the reference.
    fn venue_slipped(inst: &Instrument, slip: Bps, side: Side, px: i64) -> i64 {
        if slip.0 == 0 && px % inst.tick == 0 {
            return px;
        }
        let one = Bps::ONE;
        let slip = slip.0 as i128;
        let tick = inst.tick as i128;
        match side {
            Side::Buy => {
                let adj = div_ceil(px as i128 * (one + slip), one);
                (div_ceil(adj, tick) * tick) as i64
            }
            Side::Sell => {
                let adj = div_floor(px as i128 * (one - slip).max(0), one);
                ((div_floor(adj, tick) * tick) as i64).max(inst.tick)
            }
        }
    }

    #[test]
    fn fixed_bps_matches_the_venue_exactly() {
        let cent = Instrument::new("X", 2, 3).unwrap();
        let fives = Instrument::new_checked("Y", 2, 3, 5, 1, 1).unwrap();
        let ctx = SlipCtx::default();
        for inst in [&cent, &fives] {
            for bps in [0.0, 0.5, 1.0, 10.0, 33.3, 10_000.0, 20_000.0] {
                let b = Bps::from_f64(bps).unwrap();
                let m = Slippage::FixedBps(b);
                for px in [1, 4, 5, 99, 10_000, 10_061, 123_457, 4_599_999] {
                    for side in [Side::Buy, Side::Sell] {
                        assert_eq!(
                            m.price(inst, side, px, 1_000, &ctx),
                            venue_slipped(inst, b, side, px),
                            "{bps} bp {px} {side:?} tick {}",
                            inst.tick
                        );
                    }
                }
            }
        }
        // Hand-computed: 10 bp on 101.00 → 101.101 → buy 101.11 (up), sell 100.89 (down).
        let m = Slippage::FixedBps(Bps::from_f64(10.0).unwrap());
        assert_eq!(m.price(&cent, Side::Buy, 10_100, 1, &ctx), 10_111);
        assert_eq!(m.price(&cent, Side::Sell, 10_100, 1, &ctx), 10_089);
    }

    #[test]
    fn none_only_rounds_to_the_tick() {
        let fives = Instrument::new_checked("Y", 2, 3, 5, 1, 1).unwrap();
        let ctx = SlipCtx::default();
        assert_eq!(
            Slippage::None.price(&fives, Side::Buy, 10_000, 1, &ctx),
            10_000
        );
        assert_eq!(
            Slippage::None.price(&fives, Side::Buy, 10_001, 1, &ctx),
            10_005
        );
        assert_eq!(
            Slippage::None.price(&fives, Side::Sell, 10_004, 1, &ctx),
            10_000
        );
        assert_eq!(Slippage::None.price(&fives, Side::Sell, 3, 1, &ctx), 5);
    }

    #[test]
    fn spread_pays_half_the_quoted_or_assumed_spread() {
        let cent = Instrument::new("X", 2, 3).unwrap();
        // Quoted 99.98 / 100.03 (5 ticks), reference 100.00: buy 100.025 → 100.03; sell 99.975
        // → 99.97.
        let q = SlipCtx {
            bid: Some(9_998),
            ask: Some(10_003),
            ..SlipCtx::default()
        };
        let m = Slippage::Spread {
            assumed: Bps::from_f64(10.0).unwrap(),
        };
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 1, &q), 10_003);
        assert_eq!(m.price(&cent, Side::Sell, 10_000, 1, &q), 9_997);
        // No quotes: assumed 10 bp spread → half = 5 bp of 100.00 = 0.05.
        let bare = SlipCtx::default();
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 1, &bare), 10_005);
        assert_eq!(m.price(&cent, Side::Sell, 10_000, 1, &bare), 9_995);
        // 10 bp of 123.45 = 0.12345, half 0.061725: buy 123.511725 → 123.52, sell 123.388275
        // → 123.38.
        assert_eq!(m.price(&cent, Side::Buy, 12_345, 1, &bare), 12_352);
        assert_eq!(m.price(&cent, Side::Sell, 12_345, 1, &bare), 12_338);
        // Only one side quoted: falls back to the assumed spread.
        let half = SlipCtx {
            bid: Some(9_990),
            ..SlipCtx::default()
        };
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 1, &half), 10_005);
    }

    #[test]
    fn sqrt_impact_hand_computed() {
        let cent = Instrument::new("X", 2, 3).unwrap();
        let m = Slippage::SqrtImpact {
            k: 1.0,
            max: Bps::from_f64(500.0).unwrap(),
        };
        // sigma 1%, qty 1 unit of a 100-unit bar: 0.01 × sqrt(0.01) = 0.001 = 10 bp of 100.00.
        let ctx = SlipCtx {
            volume: Some(100.0),
            sigma: Some(0.01),
            ..SlipCtx::default()
        };
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 1_000, &ctx), 10_010);
        assert_eq!(m.price(&cent, Side::Sell, 10_000, 1_000, &ctx), 9_990);
        // 4 units: sqrt(0.04) = 0.2 → 20 bp; k = 0.5 → 10 bp again.
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 4_000, &ctx), 10_020);
        let half = Slippage::SqrtImpact {
            k: 0.5,
            max: Bps::from_f64(500.0).unwrap(),
        };
        assert_eq!(half.price(&cent, Side::Buy, 10_000, 4_000, &ctx), 10_010);
        // 25 units of 100: 0.01 × 0.5 = 50 bp → 100.50 / 99.50; with a 30 bp cap → 100.30.
        assert_eq!(m.price(&cent, Side::Buy, 10_000, 25_000, &ctx), 10_050);
        let capped = Slippage::SqrtImpact {
            k: 1.0,
            max: Bps::from_f64(30.0).unwrap(),
        };
        assert_eq!(capped.price(&cent, Side::Buy, 10_000, 25_000, &ctx), 10_030);
        assert_eq!(capped.price(&cent, Side::Sell, 10_000, 25_000, &ctx), 9_970);
        // Unknown or zero volume: the cap.
        let none = SlipCtx {
            volume: Some(0.0),
            sigma: Some(0.01),
            ..SlipCtx::default()
        };
        assert_eq!(capped.price(&cent, Side::Buy, 10_000, 1, &none), 10_030);
        assert_eq!(
            capped.price(&cent, Side::Buy, 10_000, 1, &SlipCtx::default()),
            10_030
        );
    }

    #[test]
    fn bar_context_uses_parkinson_volatility() {
        // high/low = e^(2 sqrt(ln 2) × 0.01) gives sigma = 0.01 exactly (up to float rounding).
        let ratio = (2.0 * std::f64::consts::LN_2.sqrt() * 0.01).exp();
        let low = 1_000_000i64;
        let high = (low as f64 * ratio).round() as i64;
        let bar = Bar {
            instrument: 0,
            ts: 0,
            open: low,
            high,
            low,
            close: high,
            volume: 100.0,
        };
        let ctx = SlipCtx::from_bar(&bar);
        assert_eq!(ctx.volume, Some(100.0));
        assert!((ctx.sigma.unwrap() - 0.01).abs() < 1e-6, "{:?}", ctx.sigma);
        let flat = Bar { high: low, ..bar };
        assert_eq!(SlipCtx::from_bar(&flat).sigma, Some(0.0));
    }
}
