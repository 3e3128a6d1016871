//! Built-in risk layers (each a [`RiskLayer`](super::RiskLayer)), configured by [`LayerConfig`].
//!
//! Each config has a `validate()` naming the offending field; [`build`] validates and builds.
//! The layers themselves live in submodules ([`drawdown`], [`vol_target`], [`kelly`],
//! [`confidence`], [`panic`], [`breaker`]).
//!
//! Hot path: `check`, `on_bar`, `on_fill` and `on_event` never allocate (every buffer is sized at
//! build time) and cost O(1) per call, except where noted (the spread median is O(window) per
//! quote, confidence sizing O(instruments) per order).
//!
//! "Exposure-increasing" here is [`increases_exposure`]: anything but a reduce-only order or an
//! order on the opposite side of the position with qty ≤ |position| (working orders not
//! counted; `checks::reduces_exposure` counts them — see the note there for the merge).

/// The [`RiskLayer::save`]/[`RiskLayer::load`] of a built-in layer (a struct with `name` and
/// `cfg` fields, serde-derived): its whole state as JSON ([`save_layer`]), taken back only by a
/// layer of the same name and configuration ([`load_layer`], [`same_layer`]).
macro_rules! builtin_layer_state {
    () => {
        fn save(&self) -> serde_json::Value {
            super::save_layer(self)
        }

        fn load(&mut self, v: &serde_json::Value) -> $crate::error::CoreResult<()> {
            let new: Self = super::load_layer(&self.name, v)?;
            super::same_layer(&self.name, self.cfg == new.cfg && self.name == new.name)?;
            *self = new;
            Ok(())
        }
    };
}

pub mod breaker;
pub mod confidence;
pub mod drawdown;
pub mod kelly;
pub mod panic;
pub mod vol_target;

pub use breaker::{BreakerState, CircuitBreaker};
pub use confidence::ConfidenceSizing;
pub use drawdown::DrawdownGuard;
pub use kelly::KellySizing;
pub use panic::PanicConditions;
pub use vol_target::VolTarget;

use super::{RiskLayer, RiskView, TradingState};
use crate::error::{CoreError, CoreResult};
use crate::model::order::OrderSpec;

/// Drawdown guard: drawdown from the equity high-water mark ≥ `soft` → REDUCING, ≥ `hard` →
/// `hard_state` (HALTED or EMERGENCY, latched); the day's loss (from the equity at the day's
/// first bar, UTC days) ≥ `daily_loss` → HALTED until the next day. Fractions of equity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrawdownConfig {
    pub soft: Option<f64>,
    pub hard: Option<f64>,
    pub hard_state: TradingState,
    pub daily_loss: Option<f64>,
}

/// Where volatility targeting reads its volatility estimate (log returns of bar closes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum VolEstimator {
    /// Sample standard deviation over the last `window` returns.
    Rolling { window: usize },
    /// GARCH(1,1): σ²ₜ = ω + α·r²ₜ₋₁ + β·σ²ₜ₋₁; `omega: None` = variance targeting (ω from the
    /// sample variance of the warm-up window × (1 − α − β)). α, β ≥ 0, α + β < 1.
    Garch {
        alpha: f64,
        beta: f64,
        omega: Option<f64>,
        warmup: usize,
    },
}

/// Volatility targeting: new exposure-increasing orders are scaled so the position's annualized
/// volatility is `target` (size × clamp(target / σ_annual, min_scale, max_scale)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VolTargetConfig {
    pub target: f64,
    pub estimator: VolEstimator,
    pub periods_per_year: f64,
    pub min_scale: f64,
    pub max_scale: f64,
}

/// Fractional Kelly: the Kelly fraction f* = W − (1 − W)/R from the last `window` closed trades
/// (W win rate, R mean win / mean loss); exposure-increasing orders are sized to
/// `fraction` × f* × equity (fraction ≤ 0.25); f* ≤ 0 vetoes; fewer than `min_trades` trades:
/// orders pass unchanged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KellyConfig {
    pub fraction: f64,
    pub window: usize,
    pub min_trades: usize,
}

/// Confidence sizing: the latest composite confidence c ∈ [0, 1] of the instrument (decision
/// kernel): c < `min_confidence` vetoes; otherwise size × lerp(min_scale, max_scale, c) and the
/// leverage after the order ≤ lerp(min_leverage, max_leverage, c). No confidence given: pass.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfidenceConfig {
    pub min_confidence: f64,
    pub min_scale: f64,
    pub max_scale: f64,
    pub min_leverage: f64,
    pub max_leverage: f64,
}

/// Panic conditions → `state` (PAUSED or HALTED) while they hold (rejects: until `cooldown_ns`
/// after the last one).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PanicConfig {
    /// Data older than this (engine clock minus the instrument's latest data) at order time.
    pub stale_ns: Option<i64>,
    /// Spread wider than `spread_k` × its rolling median over `spread_window` quotes.
    pub spread_k: Option<f64>,
    pub spread_window: usize,
    /// |fill price − arrival price| beyond `slippage_k` × the expected slippage (`expected_bps`).
    pub slippage_k: Option<f64>,
    pub expected_slippage_bps: f64,
    /// This many venue rejects/denials in a row.
    pub max_consecutive_rejects: Option<u32>,
    pub state: TradingState,
    pub cooldown_ns: i64,
}

/// Circuit breaker: closed → open after `failure_threshold` consecutive failures (venue rejects
/// and losing closed trades); open vetoes new orders for `cooldown_ns`; then half-open lets
/// `half_open_trials` orders through: a success closes it, a failure opens it again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub cooldown_ns: i64,
    pub half_open_trials: u32,
}

/// One built-in layer's configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerConfig {
    Drawdown(DrawdownConfig),
    VolTarget(VolTargetConfig),
    Kelly(KellyConfig),
    Confidence(ConfidenceConfig),
    Panic(PanicConfig),
    CircuitBreaker(BreakerConfig),
}

// ---- state (checkpoints) -----------------------------------------------------------------------

/// A layer's state as JSON: every field, its configuration and name included (restoring checks
/// they are the same). serde_json writes NaN and infinities as `null`; the float fields that can
/// hold them go through this module instead: a finite number as a JSON number (exact: the crate's
/// `float_roundtrip`), anything else as the string "NaN", "inf" or "-inf".
pub(crate) mod jf64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        F(f64),
        S(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Num::deserialize(d)? {
            Num::F(x) => Ok(x),
            Num::S(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!("not a number: {other:?}"))),
            },
        }
    }
}

/// A built-in layer's [`RiskLayer::save`]: the whole layer as JSON.
pub(crate) fn save_layer<T: serde::Serialize>(layer: &T) -> serde_json::Value {
    serde_json::to_value(layer).expect("a layer's state is plain data")
}

/// A built-in layer's [`RiskLayer::load`]: the layer saved by [`save_layer`].
pub(crate) fn load_layer<T: serde::de::DeserializeOwned>(
    name: &str,
    v: &serde_json::Value,
) -> CoreResult<T> {
    T::deserialize(v).map_err(|e| {
        invalid(
            "checkpoint",
            format!("layer {name:?}: not this layer's state: {e}"),
        )
    })
}

/// The saved layer had this layer's name and configuration (else a clear error).
pub(crate) fn same_layer(name: &str, same: bool) -> CoreResult<()> {
    if same {
        Ok(())
    } else {
        Err(invalid(
            "checkpoint",
            format!("layer {name:?} was saved with another name or configuration"),
        ))
    }
}

// ---- validation ------------------------------------------------------------------------------

fn invalid(name: &'static str, reason: String) -> CoreError {
    CoreError::InvalidArgument { name, reason }
}

/// `v` finite and in (0, 1).
fn open_unit(layer: &str, name: &'static str, v: f64) -> CoreResult<()> {
    if v.is_finite() && v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("{layer}: must be in (0, 1), got {v}"),
        ))
    }
}

/// `v` finite and > 0.
fn positive(layer: &str, name: &'static str, v: f64) -> CoreResult<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("{layer}: must be a finite number > 0, got {v}"),
        ))
    }
}

/// `v` finite and ≥ 0.
fn non_negative(layer: &str, name: &'static str, v: f64) -> CoreResult<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("{layer}: must be a finite number >= 0, got {v}"),
        ))
    }
}

fn window_at_least_2(layer: &str, name: &'static str, w: usize) -> CoreResult<()> {
    if w >= 2 {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("{layer}: must be at least 2, got {w}"),
        ))
    }
}

/// `lo ≤ hi` (both already checked finite).
fn ordered(layer: &str, lo_name: &str, lo: f64, hi_name: &'static str, hi: f64) -> CoreResult<()> {
    if lo <= hi {
        Ok(())
    } else {
        Err(invalid(
            hi_name,
            format!("{layer}: must be >= {lo_name} ({lo}), got {hi}"),
        ))
    }
}

impl DrawdownConfig {
    /// soft, hard, daily_loss in (0, 1); soft < hard; hard_state HALTED or EMERGENCY.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "drawdown";
        if let Some(s) = self.soft {
            open_unit(L, "soft", s)?;
        }
        if let Some(h) = self.hard {
            open_unit(L, "hard", h)?;
        }
        if let (Some(s), Some(h)) = (self.soft, self.hard)
            && s >= h
        {
            return Err(invalid(
                "soft",
                format!("{L}: must be below hard ({h}), got {s}"),
            ));
        }
        if !matches!(
            self.hard_state,
            TradingState::Halted | TradingState::Emergency
        ) {
            return Err(invalid(
                "hard_state",
                format!(
                    "{L}: must be halted or emergency, got {}",
                    self.hard_state.as_str()
                ),
            ));
        }
        if let Some(d) = self.daily_loss {
            open_unit(L, "daily_loss", d)?;
        }
        Ok(())
    }
}

impl VolEstimator {
    /// Rolling: window ≥ 2. GARCH: α, β ≥ 0, α + β < 1, ω > 0 when given, warmup ≥ 2.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "vol_target";
        match *self {
            VolEstimator::Rolling { window } => window_at_least_2(L, "window", window),
            VolEstimator::Garch {
                alpha,
                beta,
                omega,
                warmup,
            } => {
                non_negative(L, "alpha", alpha)?;
                non_negative(L, "beta", beta)?;
                if alpha + beta >= 1.0 {
                    return Err(invalid(
                        "beta",
                        format!(
                            "{L}: alpha + beta must be < 1 (a stationary GARCH), got {alpha} + {beta}"
                        ),
                    ));
                }
                if let Some(w) = omega {
                    positive(L, "omega", w)?;
                }
                window_at_least_2(L, "warmup", warmup)
            }
        }
    }
}

impl VolTargetConfig {
    /// target and periods_per_year > 0; 0 ≤ min_scale ≤ max_scale, max_scale > 0; the estimator.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "vol_target";
        positive(L, "target", self.target)?;
        positive(L, "periods_per_year", self.periods_per_year)?;
        non_negative(L, "min_scale", self.min_scale)?;
        positive(L, "max_scale", self.max_scale)?;
        ordered(L, "min_scale", self.min_scale, "max_scale", self.max_scale)?;
        self.estimator.validate()
    }
}

impl KellyConfig {
    /// fraction in (0, 0.25]; window ≥ 2; 1 ≤ min_trades ≤ window.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "kelly";
        if !(self.fraction.is_finite() && self.fraction > 0.0 && self.fraction <= 0.25) {
            return Err(invalid(
                "fraction",
                format!(
                    "{L}: must be in (0, 0.25] (at most a quarter Kelly), got {}",
                    self.fraction
                ),
            ));
        }
        window_at_least_2(L, "window", self.window)?;
        if self.min_trades < 1 || self.min_trades > self.window {
            return Err(invalid(
                "min_trades",
                format!(
                    "{L}: must be in [1, window = {}], got {}",
                    self.window, self.min_trades
                ),
            ));
        }
        Ok(())
    }
}

impl ConfidenceConfig {
    /// min_confidence in [0, 1]; 0 ≤ min_scale ≤ max_scale, max_scale > 0;
    /// 0 < min_leverage ≤ max_leverage.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "confidence";
        if !(self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence)) {
            return Err(invalid(
                "min_confidence",
                format!("{L}: must be in [0, 1], got {}", self.min_confidence),
            ));
        }
        non_negative(L, "min_scale", self.min_scale)?;
        positive(L, "max_scale", self.max_scale)?;
        ordered(L, "min_scale", self.min_scale, "max_scale", self.max_scale)?;
        positive(L, "min_leverage", self.min_leverage)?;
        positive(L, "max_leverage", self.max_leverage)?;
        ordered(
            L,
            "min_leverage",
            self.min_leverage,
            "max_leverage",
            self.max_leverage,
        )
    }
}

impl PanicConfig {
    /// stale_ns > 0; spread_k ≥ 1; spread_window ≥ 2; slippage_k and expected_slippage_bps
    /// positive when slippage is watched; max_consecutive_rejects ≥ 1; state PAUSED or HALTED;
    /// cooldown_ns ≥ 0.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "panic";
        if let Some(s) = self.stale_ns
            && s <= 0
        {
            return Err(invalid("stale_ns", format!("{L}: must be > 0 ns, got {s}")));
        }
        if let Some(k) = self.spread_k
            && !(k.is_finite() && k >= 1.0)
        {
            return Err(invalid(
                "spread_k",
                format!(
                    "{L}: must be a finite number >= 1 (a multiple of the median spread), got {k}"
                ),
            ));
        }
        window_at_least_2(L, "spread_window", self.spread_window)?;
        if let Some(k) = self.slippage_k {
            positive(L, "slippage_k", k)?;
            positive(L, "expected_slippage_bps", self.expected_slippage_bps)?;
        }
        if self.max_consecutive_rejects == Some(0) {
            return Err(invalid(
                "max_consecutive_rejects",
                format!("{L}: must be at least 1, got 0"),
            ));
        }
        if !matches!(self.state, TradingState::Paused | TradingState::Halted) {
            return Err(invalid(
                "state",
                format!("{L}: must be paused or halted, got {}", self.state.as_str()),
            ));
        }
        if self.cooldown_ns < 0 {
            return Err(invalid(
                "cooldown_ns",
                format!("{L}: must be >= 0 ns, got {}", self.cooldown_ns),
            ));
        }
        Ok(())
    }
}

impl BreakerConfig {
    /// failure_threshold ≥ 1; cooldown_ns > 0; half_open_trials ≥ 1.
    pub fn validate(&self) -> CoreResult<()> {
        const L: &str = "circuit_breaker";
        if self.failure_threshold < 1 {
            return Err(invalid(
                "failure_threshold",
                format!("{L}: must be at least 1, got 0"),
            ));
        }
        if self.cooldown_ns <= 0 {
            return Err(invalid(
                "cooldown_ns",
                format!("{L}: must be > 0 ns, got {}", self.cooldown_ns),
            ));
        }
        if self.half_open_trials < 1 {
            return Err(invalid(
                "half_open_trials",
                format!("{L}: must be at least 1, got 0"),
            ));
        }
        Ok(())
    }
}

impl LayerConfig {
    pub fn validate(&self) -> CoreResult<()> {
        match self {
            LayerConfig::Drawdown(c) => c.validate(),
            LayerConfig::VolTarget(c) => c.validate(),
            LayerConfig::Kelly(c) => c.validate(),
            LayerConfig::Confidence(c) => c.validate(),
            LayerConfig::Panic(c) => c.validate(),
            LayerConfig::CircuitBreaker(c) => c.validate(),
        }
    }

    /// The `kind` of the Python config dict.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Drawdown(_) => "drawdown",
            LayerConfig::VolTarget(_) => "vol_target",
            LayerConfig::Kelly(_) => "kelly",
            LayerConfig::Confidence(_) => "confidence",
            LayerConfig::Panic(_) => "panic",
            LayerConfig::CircuitBreaker(_) => "circuit_breaker",
        }
    }
}

/// Validate `cfg` and build its layer for an engine of `n_instruments` instruments.
pub fn build(
    cfg: &LayerConfig,
    name: String,
    n_instruments: usize,
) -> CoreResult<Box<dyn RiskLayer>> {
    if name.is_empty() {
        return Err(invalid(
            "name",
            format!("{}: a layer needs a non-empty name", cfg.kind()),
        ));
    }
    Ok(match cfg {
        LayerConfig::Drawdown(c) => Box::new(DrawdownGuard::new(c.clone(), name)?),
        LayerConfig::VolTarget(c) => Box::new(VolTarget::new(c.clone(), name, n_instruments)?),
        LayerConfig::Kelly(c) => Box::new(KellySizing::new(c.clone(), name)?),
        LayerConfig::Confidence(c) => Box::new(ConfidenceSizing::new(c.clone(), name)?),
        LayerConfig::Panic(c) => Box::new(PanicConditions::new(c.clone(), name, n_instruments)?),
        LayerConfig::CircuitBreaker(c) => Box::new(CircuitBreaker::new(c.clone(), name)?),
    })
}

// ---- shared helpers --------------------------------------------------------------------------

/// The signed position (raw) of the order's instrument; 0 for an unknown instrument.
#[inline]
pub(crate) fn position_of(spec: &OrderSpec, view: &RiskView<'_>) -> i64 {
    view.portfolio
        .positions
        .get(spec.instrument as usize)
        .map_or(0, |p| p.qty)
}

/// Whether `spec` may grow exposure: anything but a reduce-only order or an order on the
/// opposite side of the position with qty ≤ |position|.
///
/// NB: unlike `checks::reduces_exposure` (the REDUCING state's test) it does not count the working
/// reducing orders already on that side: a sizing layer only needs to know whether this order
/// alone can grow the position; the pre-trade checks bound what the working orders add.
#[inline]
pub fn increases_exposure(spec: &OrderSpec, view: &RiskView<'_>) -> bool {
    if spec.reduce_only {
        return false;
    }
    let pos = position_of(spec, view);
    !(pos != 0 && pos.signum() != spec.side.sign() && spec.qty <= pos.abs())
}

/// The price an order's notional is valued at, in currency units: its limit, else its trigger,
/// else the instrument's last mark. None when none is known (no bar yet) or the instrument is
/// unknown.
#[inline]
pub(crate) fn order_price(spec: &OrderSpec, view: &RiskView<'_>) -> Option<f64> {
    let inst = view.instruments.get(spec.instrument as usize)?;
    let raw = spec
        .kind
        .limit_px()
        .or_else(|| spec.kind.trigger_px())
        .or_else(|| {
            view.portfolio
                .positions
                .get(spec.instrument as usize)
                .map(|p| p.mark)
        })?;
    (raw > 0).then(|| raw as f64 / inst.price_scale)
}

/// Round a raw quantity computed in floats down to an integer, absorbing a few ulps of float
/// noise (so an exact boundary such as 0.5 × 200 is not lost to 99.999…); NaN → 0; clamped to
/// the i64 range.
#[inline]
pub(crate) fn floor_raw(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let y = (x + x.abs() * 1e-12).floor();
    if y >= i64::MAX as f64 {
        i64::MAX
    } else if y <= i64::MIN as f64 {
        i64::MIN
    } else {
        y as i64
    }
}

/// The verdict for a new quantity `new` against the asked `qty`: ≤ 0 → veto with `reason`,
/// unchanged → Pass, else Resize.
#[inline]
pub(crate) fn resize_verdict(qty: i64, new: i64, reason: super::RiskReason) -> super::Verdict {
    if new <= 0 {
        super::Verdict::Veto(reason)
    } else if new == qty {
        super::Verdict::Pass
    } else {
        super::Verdict::Resize(new)
    }
}

/// Nanoseconds in a day.
pub(crate) const DAY_NS: i64 = 86_400_000_000_000;

/// The clock's UTC day number.
#[inline]
pub(crate) fn utc_day(ts: i64) -> i64 {
    ts.div_euclid(DAY_NS)
}
