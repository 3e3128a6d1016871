"""Harnesses that run the same ema_cross backtest in trader, NautilusTrader 1.221 and backtrader.

Each peer is split into ``prepare`` (data conversion: untimed, it is data loading, which our
``elapsed_s`` excludes too), ``build`` (engine, venue, instrument, data, strategy wiring) and
``run`` (the engine's event loop, the part the anchors' rates are taken from). Every ``run``
returns the counts needed to check that the side really traded (``orders``, ``fills``).

- NautilusTrader: its bundled ``EMACross`` example strategy (fast 10, slow 30, 0.01 BTC per
  order; always in the market, reversing on each cross; it builds ``repr(bar)`` for an INFO line
  on every bar, which log level ERROR drops: the example as shipped), one ``BacktestEngine``
  with a simulated BINANCE venue (``OmsType.NETTING``, ``AccountType.CASH`` with 1M USDT + 10 BTC so it may sell
  first, as nautilus's own crypto examples do), ``TestInstrumentProvider.btcusdt_binance()`` and
  the bars converted by ``BarDataWrangler`` for ``BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL``.
- backtrader: a ``bt.Strategy`` with ``EMA(10)``, ``EMA(30)`` and ``CrossOver``: buy 0.01 on +1,
  close on -1; ``PandasData`` from the same arrays; ``Cerebro(stdstats=False)``.
- trader: ``run_backtest("ema_cross", ...)`` on in-memory :class:`trader.data.Bars`.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import numpy as np

from trader import Strategy, run_backtest
from trader.data import Bars

EPOCH_NS = int(np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64))
MINUTE_NS = 60_000_000_000
FAST, SLOW = 10, 30
QTY = 0.01  # BTC per order, every side
CASH = 1_000_000.0  # quote currency, every side
BAR_TYPE = "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"


def timestamps(n: int) -> np.ndarray:
    """One-minute bar timestamps (ns since the epoch) from 2024-01-01 UTC."""
    return EPOCH_NS + np.arange(n, dtype=np.int64) * MINUTE_NS


def make_bars(ohlcv: dict[str, np.ndarray], n: int | None = None) -> Bars:
    """Validated in-memory bars from the first ``n`` rows of the OHLCV arrays."""
    n = len(ohlcv["close"]) if n is None else n
    return Bars("BTCUSDT", timestamps(n), *(ohlcv[c][:n] for c in ("open", "high", "low", "close", "volume")))


def frame(ohlcv: dict[str, np.ndarray], n: int, tz: str | None = "UTC") -> Any:
    """The first ``n`` bars as a pandas DataFrame indexed by timestamps (UTC; naive UTC with tz=None)."""
    import pandas as pd

    idx = pd.DatetimeIndex(timestamps(n).view("datetime64[ns]"), name="timestamp")
    if tz:
        idx = idx.tz_localize(tz)
    return pd.DataFrame({c: ohlcv[c][:n] for c in ("open", "high", "low", "close", "volume")}, index=idx)


# -- trader -------------------------------------------------------------------------------------

def ours(bars: Bars, mode: str = "event") -> Any:
    """Our ema_cross on ``bars`` (the whole call: plugin lookup, wiring, run, report)."""
    return run_backtest("ema_cross", {"fast": FAST, "slow": SLOW, "qty": QTY}, bars, mode=mode, cash=CASH, price_precision=2)


class EveryBar(Strategy):
    """Trades every bar: buys when flat, sells when long; each order fills at the next open."""

    name = "every_bar"
    description = "an order on every bar (benchmark)"

    def on_bar(self, bar: Any) -> None:
        if self.position() > 0:
            self.sell(QTY)
        else:
            self.buy(QTY)


def ours_every_bar(bars: Bars) -> Any:
    return run_backtest(EveryBar, None, bars, mode="event", cash=CASH, price_precision=2)


# -- NautilusTrader 1.221 -----------------------------------------------------------------------

def nautilus_prepare(ohlcv: dict[str, np.ndarray], n: int) -> tuple[Any, list[Any]]:
    """(instrument, nautilus Bar objects) for the first ``n`` bars."""
    from nautilus_trader.model.data import BarType
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    instrument = TestInstrumentProvider.btcusdt_binance()
    wrangler = BarDataWrangler(BarType.from_str(BAR_TYPE), instrument)
    return instrument, wrangler.process(frame(ohlcv, n))


def nautilus_build(instrument: Any, bars: list[Any]) -> tuple[Any, Any]:
    """A fresh engine with the venue, the instrument, the bars and EMACross: (engine, strategy)."""
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money

    config = BacktestEngineConfig(trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR"))
    engine = BacktestEngine(config=config)
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(CASH, USDT), Money(10, BTC)],
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = EMACross(
        EMACrossConfig(
            instrument_id=instrument.id,
            bar_type=BarType.from_str(BAR_TYPE),
            trade_size=Decimal(str(QTY)),
            fast_ema_period=FAST,
            slow_ema_period=SLOW,
            subscribe_trade_ticks=False,
            request_bars=False,
        )
    )
    engine.add_strategy(strategy)
    return engine, strategy


def nautilus_counts(engine: Any) -> dict[str, int]:
    """Orders and fills (order-filled events) the engine's cache holds after a run."""
    orders = engine.cache.orders()
    fills = sum(1 for o in orders for e in o.events if type(e).__name__ == "OrderFilled")
    return {"orders": len(orders), "fills": fills}


def nautilus_run(instrument: Any, bars: list[Any]) -> dict[str, Any]:
    """One full nautilus backtest; ``run_s`` times ``engine.run()`` only, ``build_s`` the wiring."""
    t0 = time.perf_counter()
    engine, _ = nautilus_build(instrument, bars)
    t1 = time.perf_counter()
    engine.run()
    t2 = time.perf_counter()
    out = {"build_s": t1 - t0, "run_s": t2 - t1, "bars": len(bars), **nautilus_counts(engine)}
    engine.dispose()
    return out


# -- backtrader ---------------------------------------------------------------------------------

def backtrader_strategy() -> type:
    import backtrader as bt

    class EmaCrossBT(bt.Strategy):
        params = (("fast", FAST), ("slow", SLOW), ("qty", QTY))

        def __init__(self) -> None:
            fast = bt.indicators.EMA(self.data.close, period=self.p.fast)
            slow = bt.indicators.EMA(self.data.close, period=self.p.slow)
            self.cross = bt.indicators.CrossOver(fast, slow)
            self.orders = 0
            self.fills: list[tuple[int, int, float]] = []  # (ts ns, side +1/-1, price)

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=self.p.qty)
                self.orders += 1
            elif self.cross[0] < 0 and self.position:
                self.close()
                self.orders += 1

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                when = np.datetime64(bt.num2date(order.executed.dt), "m").astype("datetime64[ns]").astype(np.int64)
                self.fills.append((int(when), 1 if order.isbuy() else -1, float(order.executed.price)))

    return EmaCrossBT


def backtrader_build(df: Any) -> Any:
    """A Cerebro with the data feed, the broker cash and the strategy (data is read in ``run``)."""
    import backtrader as bt

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.broker.setcash(CASH)
    cerebro.addstrategy(backtrader_strategy())
    return cerebro


def backtrader_counts(result: list[Any]) -> dict[str, int]:
    strat = result[0]
    return {"orders": strat.orders, "fills": len(strat.fills)}


def same_fills(result: Any, bt_fills: list[tuple[int, int, float]]) -> bool:
    """Whether our fills (ts, side, price) are backtrader's, in order (prices to the cent)."""
    f = result.fills
    mine = [(int(t), int(s), round(float(p), 2)) for t, s, p in zip(f["ts"], f["side"], f["price"])]
    theirs = [(t, s, round(p, 2)) for t, s, p in bt_fills]
    return len(mine) > 0 and mine == theirs


if __name__ == "__main__":  # quick side-by-side on a seeded series: python benches/peers.py [N]
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(7)
    c = 3e4 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    data = {"open": np.round(c, 2), "high": np.round(c * 1.001, 2), "low": np.round(c * 0.999, 2), "close": np.round(c, 2),
            "volume": np.ones(n)}
    b = make_bars(data)
    for mode in ("event", "vectorized"):
        r = ours(b, mode)
        print(f"trader {mode}: {r.bars / r.elapsed_s:,.0f} bars/s, orders {r.orders}, fills {len(r.fills['ts'])}")
    r = ours_every_bar(b)
    print(f"trader every_bar: {r.orders / r.elapsed_s:,.0f} orders/s, orders {r.orders}, fills {len(r.fills['ts'])}")
    inst, nb = nautilus_prepare(data, n)
    res = nautilus_run(inst, nb)
    print(f"nautilus: {n / res['run_s']:,.0f} bars/s {res}")
    import backtrader as bt

    cerebro = backtrader_build(frame(data, n, tz=None))
    t0 = time.perf_counter()
    res = cerebro.run()
    dt = time.perf_counter() - t0
    print(f"backtrader: {n / dt:,.0f} bars/s {backtrader_counts(res)}, same fills as ours: {same_fills(ours(b), res[0].fills)}")
