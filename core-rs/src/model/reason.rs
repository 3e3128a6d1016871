//! Why the risk engine denied (or a layer vetoed) a command: [`RiskReason`], the stable codes a
//! denial carries in an order event (`Reason::Risk(code)`), in reports and in the configuration.
//! Part of the model (the ground floor every layer reads): the order model names these codes
//! without depending on the risk engine, which lives above it ([`crate::risk`] re-exports
//! [`RiskReason`] and adds `RiskReason::for_state`).

/// Why the risk engine denied (or a layer vetoed) a command. `code()` is the stable snake_case
/// name used in reports, events and configuration; `as_str()` the sentence for humans.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum RiskReason {
    // -- instrument and precision (pre-trade checks)
    UnknownInstrument,
    PricePrecision,
    QuantityPrecision,
    QuantityBelowMin,
    QuantityAboveMax,
    PriceBelowMin,
    PriceAboveMax,
    NotionalBelowMin,
    // -- limits (pre-trade checks)
    PriceBand,
    MaxNotional,
    MaxPosition,
    Concentration,
    GrossExposure,
    NetExposure,
    Leverage,
    SubmitRate,
    ModifyRate,
    ReduceOnly,
    // -- trading state
    StateReducing,
    StatePaused,
    StateHalted,
    StateEmergency,
    // -- layers
    Drawdown,
    DailyLoss,
    VolatilityTarget,
    Kelly,
    Confidence,
    StaleData,
    WideSpread,
    Slippage,
    ConsecutiveRejects,
    CircuitOpen,
    /// A user (plugin) layer vetoed the order; the layer's name is in the risk report.
    LayerVeto,
}

impl RiskReason {
    /// Every reason, in declaration order (reports list denials in this order).
    pub const ALL: [RiskReason; 33] = [
        Self::UnknownInstrument,
        Self::PricePrecision,
        Self::QuantityPrecision,
        Self::QuantityBelowMin,
        Self::QuantityAboveMax,
        Self::PriceBelowMin,
        Self::PriceAboveMax,
        Self::NotionalBelowMin,
        Self::PriceBand,
        Self::MaxNotional,
        Self::MaxPosition,
        Self::Concentration,
        Self::GrossExposure,
        Self::NetExposure,
        Self::Leverage,
        Self::SubmitRate,
        Self::ModifyRate,
        Self::ReduceOnly,
        Self::StateReducing,
        Self::StatePaused,
        Self::StateHalted,
        Self::StateEmergency,
        Self::Drawdown,
        Self::DailyLoss,
        Self::VolatilityTarget,
        Self::Kelly,
        Self::Confidence,
        Self::StaleData,
        Self::WideSpread,
        Self::Slippage,
        Self::ConsecutiveRejects,
        Self::CircuitOpen,
        Self::LayerVeto,
    ];

    /// Stable snake_case code (reports, events, config).
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownInstrument => "unknown_instrument",
            Self::PricePrecision => "price_precision",
            Self::QuantityPrecision => "quantity_precision",
            Self::QuantityBelowMin => "quantity_below_min",
            Self::QuantityAboveMax => "quantity_above_max",
            Self::PriceBelowMin => "price_below_min",
            Self::PriceAboveMax => "price_above_max",
            Self::NotionalBelowMin => "notional_below_min",
            Self::PriceBand => "price_band",
            Self::MaxNotional => "max_notional",
            Self::MaxPosition => "max_position",
            Self::Concentration => "concentration",
            Self::GrossExposure => "gross_exposure",
            Self::NetExposure => "net_exposure",
            Self::Leverage => "leverage",
            Self::SubmitRate => "submit_rate",
            Self::ModifyRate => "modify_rate",
            Self::ReduceOnly => "reduce_only",
            Self::StateReducing => "state_reducing",
            Self::StatePaused => "state_paused",
            Self::StateHalted => "state_halted",
            Self::StateEmergency => "state_emergency",
            Self::Drawdown => "drawdown",
            Self::DailyLoss => "daily_loss",
            Self::VolatilityTarget => "volatility_target",
            Self::Kelly => "kelly",
            Self::Confidence => "confidence",
            Self::StaleData => "stale_data",
            Self::WideSpread => "wide_spread",
            Self::Slippage => "slippage",
            Self::ConsecutiveRejects => "consecutive_rejects",
            Self::CircuitOpen => "circuit_open",
            Self::LayerVeto => "layer_veto",
        }
    }

    /// A sentence for humans.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownInstrument => "risk: unknown instrument",
            Self::PricePrecision => "risk: price not on the instrument's tick grid",
            Self::QuantityPrecision => "risk: quantity not on the instrument's lot grid",
            Self::QuantityBelowMin => "risk: quantity below the instrument's minimum",
            Self::QuantityAboveMax => "risk: quantity above the instrument's maximum",
            Self::PriceBelowMin => "risk: price below the instrument's minimum",
            Self::PriceAboveMax => "risk: price above the instrument's maximum",
            Self::NotionalBelowMin => "risk: notional below the instrument's minimum",
            Self::PriceBand => "risk: price outside the band around the last price",
            Self::MaxNotional => "risk: order notional above the limit",
            Self::MaxPosition => "risk: position would exceed its limit",
            Self::Concentration => "risk: position would exceed its share of equity",
            Self::GrossExposure => "risk: gross exposure would exceed its limit",
            Self::NetExposure => "risk: net exposure would exceed its limit",
            Self::Leverage => "risk: leverage would exceed the venue's cap",
            Self::SubmitRate => "risk: submit rate limit",
            Self::ModifyRate => "risk: modify rate limit",
            Self::ReduceOnly => "risk: reduce-only order would increase the position",
            Self::StateReducing => "risk: trading state REDUCING allows only reducing orders",
            Self::StatePaused => "risk: trading state PAUSED allows no new orders",
            Self::StateHalted => "risk: trading state HALTED lets nothing out",
            Self::StateEmergency => "risk: trading state EMERGENCY (flattening)",
            Self::Drawdown => "risk: drawdown limit",
            Self::DailyLoss => "risk: daily loss limit",
            Self::VolatilityTarget => "risk: volatility targeting sized the order to nothing",
            Self::Kelly => "risk: Kelly sizing sized the order to nothing",
            Self::Confidence => "risk: confidence too low",
            Self::StaleData => "risk: market data is stale",
            Self::WideSpread => "risk: spread too wide",
            Self::Slippage => "risk: slippage beyond its bound",
            Self::ConsecutiveRejects => "risk: too many consecutive rejects",
            Self::CircuitOpen => "risk: circuit breaker open",
            Self::LayerVeto => "risk: vetoed by a risk layer",
        }
    }
}
