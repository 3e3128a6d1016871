"""The Binance adapter (spot and USDⓈ-M perpetuals): :class:`BinanceDataClient` (market data
with the documented book sync), :class:`BinanceExecutionClient` (orders, user data,
reconciliation), their :class:`BinanceConfig`, and :class:`Credentials`."""

from ..common.ws import Backoff
from .auth import Credentials, sign
from .config import BinanceConfig
from .data import BinanceDataClient
from .execution import BinanceExecutionClient
from .http import BinanceError, BinanceHttp, OutcomeUnknown, RateLimited

__all__ = ["Credentials", "sign", "Backoff", "BinanceConfig", "BinanceDataClient", "BinanceExecutionClient",
           "BinanceError", "BinanceHttp", "OutcomeUnknown", "RateLimited"]
