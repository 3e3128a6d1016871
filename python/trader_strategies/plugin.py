"""Entry point of the bundled strategies: registered exactly as a third party's would be."""

from __future__ import annotations

from trader import hookimpl
from trader_strategies.bollinger_breakout import BollingerBreakout
from trader_strategies.ema_cross import EmaCross
from trader_strategies.l2_market_maker import L2MarketMaker
from trader_strategies.macd_trend import MacdTrend
from trader_strategies.ml_classifier import MLClassifier
from trader_strategies.rsi_reversion import RsiReversion
from trader_strategies.signal_fusion import SignalFusion


@hookimpl
def trader_strategies() -> list:
    """The bundled example strategies."""
    return [EmaCross, RsiReversion, BollingerBreakout, MacdTrend, SignalFusion, L2MarketMaker, MLClassifier]
