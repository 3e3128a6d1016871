//! Built-in risk layers (each a [`RiskLayer`](super::RiskLayer)), configured by [`LayerConfig`].

use super::TradingState;

/// Drawdown guard: drawdown from the equity high-water mark ≥ `soft` → REDUCING, ≥ `hard` →
/// `hard_state` (HALTED or EMERGENCY, latched); the day's loss (from the equity at the day's
/// first bar, UTC days) ≥ `daily_loss` → HALTED until the next day. Fractions of equity.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawdownConfig {
    pub soft: Option<f64>,
    pub hard: Option<f64>,
    pub hard_state: TradingState,
    pub daily_loss: Option<f64>,
}

/// Where volatility targeting reads its volatility estimate (log returns of bar closes).
#[derive(Debug, Clone, PartialEq)]
pub enum VolEstimator {
    /// Sample standard deviation over the last `window` returns.
    Rolling { window: usize },
    /// GARCH(1,1): σ²ₜ = ω + α·r²ₜ₋₁ + β·σ²ₜ₋₁; `omega: None` = variance targeting (ω from the
    /// sample variance of the warm-up window × (1 − α − β)). α, β ≥ 0, α + β < 1.
    Garch { alpha: f64, beta: f64, omega: Option<f64>, warmup: usize },
}

/// Volatility targeting: new exposure-increasing orders are scaled so the position's annualized
/// volatility is `target` (size × clamp(target / σ_annual, min_scale, max_scale)).
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct KellyConfig {
    pub fraction: f64,
    pub window: usize,
    pub min_trades: usize,
}

/// Confidence sizing: the latest composite confidence c ∈ [0, 1] of the instrument (decision
/// kernel): c < `min_confidence` vetoes; otherwise size × lerp(min_scale, max_scale, c) and the
/// leverage after the order ≤ lerp(min_leverage, max_leverage, c). No confidence given: pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceConfig {
    pub min_confidence: f64,
    pub min_scale: f64,
    pub max_scale: f64,
    pub min_leverage: f64,
    pub max_leverage: f64,
}

/// Panic conditions → `state` (PAUSED or HALTED) while they hold (rejects: until `cooldown_ns`
/// after the last one).
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
