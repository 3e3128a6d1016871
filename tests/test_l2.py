"""The L2 backtest loop over the recorded usdm stream: the native Rust market maker and the same
logic as a Python Strategy give the same fills; exact accounting; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trader
from trader.exceptions import InvalidInputError, StrategyError
from trader.strategy import Strategy
from trader_strategies.l2_market_maker import L2MarketMaker


@pytest.fixture(scope="module")
def usdm(shared_data: Path) -> str:
    return str(shared_data / "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz")


@pytest.mark.parametrize("fill_model", ["l2:queue=risk_averse", "l2:queue=power,power=2", "l2:queue=log"])
def test_python_strategy_matches_native(usdm: str, fill_model: str) -> None:
    kw = dict(fill_model=fill_model, maker_fee_bps=-0.5, taker_fee_bps=5.0)
    native = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, **kw)
    py = trader.run_l2_backtest(usdm, L2MarketMaker(qty=0.002, max_position=0.01), **kw)
    assert native["events"] == py["events"] == 93_954
    assert native["sync_errors"] == 0
    assert native["strategy_calls"] == py["strategy_calls"] > 3000
    for k in ("orders", "fills", "maker_fills", "position", "cash", "fees"):
        assert native[k] == py[k], k
    assert native["fills"] > 0 and native["maker_fills"] == native["fills"]  # post-only: maker only
    assert abs(native["position"]) <= 0.01 + 1e-12
    f = native["fill_columns"]
    assert bool(np.all(f["maker"])) and bool(np.all(f["fee"] <= 0))
    cash = native["initial_cash"] - np.sum(f["side"] * f["price"] * f["qty"]) - np.sum(f["fee"])
    assert native["initial_cash"] == 10_000 and cash == pytest.approx(native["cash"], rel=1e-9)


def test_strategy_by_name_and_fill_events(usdm: str) -> None:
    seen: list = []

    class Recorder(L2MarketMaker):
        def on_order_event(self, event) -> None:
            seen.append(event)

    r = trader.run_l2_backtest(usdm, Recorder(qty=0.002), elapse_ms=500)
    fills = [e for e in seen if e.kind in ("filled", "partially_filled")]
    assert len(fills) == r["fills"] > 0
    assert {e.liquidity for e in fills} == {"maker"}
    # Every order's life reaches the strategy, as in bar runs: submitted, accepted, ... canceled.
    assert {"submitted", "accepted", "canceled"} <= {e.kind for e in seen}
    assert sum(e.kind == "submitted" for e in seen) == r["orders"]
    by_name = trader.run_l2_backtest(usdm, "l2_market_maker", elapse_ms=500, qty=0.002)
    assert by_name["fills"] == r["fills"]


def test_errors(usdm: str, tmp_path: Path) -> None:
    class Boom(Strategy):
        def on_book(self, book: object) -> None:
            raise RuntimeError("boom")

    with pytest.raises(StrategyError, match="boom"):
        trader.run_l2_backtest(usdm, Boom())
    with pytest.raises(InvalidInputError, match="elapse_ms"):
        trader.run_l2_backtest(usdm, elapse_ms=0)
    with pytest.raises(InvalidInputError, match="unknown parameter"):
        trader.run_l2_backtest(usdm, None, size=1)
    with pytest.raises(InvalidInputError, match="queue"):
        trader.run_l2_backtest(usdm, fill_model="l2:queue=fifo")
    with pytest.raises(FileNotFoundError):
        trader.run_l2_backtest(str(tmp_path / "missing.gz"))


def test_tick_backtest_python_matches_native(shared_data: Path) -> None:
    d = shared_data / "trades" / "nautilus"
    kw = dict(data=d / "tardis_trades.csv.gz", quotes=d / "tardis_quotes.csv.gz", price_precision=2, size_precision=3,
              maker_fee_bps=-0.25)
    native = trader.run_tick_backtest(None, qty=0.001, max_position=0.005, **kw)
    py = trader.run_tick_backtest(L2MarketMaker(qty=0.001, max_position=0.005), **kw)
    assert native["events"] == py["events"] == 19_998
    for k in ("orders", "fills", "maker_fills", "position", "cash", "fees"):
        assert native[k] == py[k], k
    assert native["fills"] > 0 and native["maker_fills"] == native["fills"]


def test_tick_backtest_on_binance_recording(usdm: str, shared_data: Path) -> None:
    r = trader.run_tick_backtest(None, data=usdm, price_precision=2, size_precision=3, qty=0.002)
    assert r["events"] == 21_313 + 66_089
    assert r["fills"] > 0 and r["maker_fills"] == r["fills"]
    assert r["symbol"] == "BTCUSDT"
    tardis_trades = shared_data / "trades/nautilus/tardis_trades.csv.gz"
    with pytest.raises(InvalidInputError, match="quotes: .* holds trades"):
        trader.run_tick_backtest(None, data=usdm, quotes=tardis_trades, price_precision=2, size_precision=3)
    with pytest.raises(InvalidInputError, match="quotes: a tick run needs top-of-book quotes"):
        trader.run_tick_backtest(None, data=tardis_trades)


def test_latency_in_the_l2_loop_is_deterministic_and_changes_the_fills(usdm: str) -> None:
    base = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01)
    slow = [trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, latency="lognormal:submit_ms=20,sigma=0.5,seed=3")
            for _ in range(2)]
    assert slow[0]["fills"] == slow[1]["fills"] and slow[0]["cash"] == slow[1]["cash"]
    assert slow[0]["fills"] != base["fills"] and slow[0]["sync_errors"] == 0
    # another seed draws other latencies: another run
    other = trader.run_l2_backtest(usdm, None, qty=0.002, max_position=0.01, latency="lognormal:submit_ms=20,sigma=0.5,seed=4")
    assert (other["fills"], other["cash"]) != (slow[0]["fills"], slow[0]["cash"])
    with pytest.raises(InvalidInputError, match="submit_ms must be >= 0"):
        trader.run_l2_backtest(usdm, None, latency="constant:submit_ms=-1")


# -- callbacks as documented ----------------------------------------------------------------------

def _recorded_stream(path: str) -> list[tuple]:
    """Every trade and bookTicker line of a recording, in file order, read with Python's json:
    ("trade", id) or ("quote", (bid, ask, bid_size, ask_size))."""
    import gzip
    import json

    out: list[tuple] = []
    with gzip.open(path, "rt") as f:
        for line in f:
            msg = json.loads(line.split(" ", 1)[1])
            stream = msg.get("stream", "")
            d = msg.get("data", {})
            if stream.endswith("@trade"):
                out.append(("trade", d["t"]))
            elif stream.endswith("@bookTicker"):
                out.append(("quote", (float(d["b"]), float(d["a"]), float(d["B"]), float(d["A"]))))
    return out


class Tape(Strategy):
    """Records every trade and quote callback, and checks what the context says at each."""

    def on_start(self) -> None:
        self.tape: list[tuple] = []
        self.clocks: list[int] = []
        self.books = 0

    def on_trade(self, trade) -> None:
        self.tape.append(("trade", trade.id))
        self.clocks.append(self.clock)
        assert trade.ts == self.clock and trade.side in ("BUY", "SELL") and trade.size > 0

    def on_quote(self, quote) -> None:
        self.tape.append(("quote", (quote.bid, quote.ask, quote.bid_size, quote.ask_size)))
        self.clocks.append(self.clock)

    def on_book(self, book) -> None:
        self.books += 1
        self.clocks.append(self.clock)


def test_l2_run_calls_on_trade_and_on_quote_for_every_line_in_file_order(usdm: str) -> None:
    s = Tape()
    r = trader.run_l2_backtest(usdm, s)
    stream = _recorded_stream(usdm)
    assert len(stream) == r["trade_messages"] + r["ticker_messages"] == 21_313 + 66_089
    # From the sync on, every trade and every bookTicker line, exactly in file order.
    assert len(s.tape) > 0.99 * len(stream)
    assert s.tape == stream[len(stream) - len(s.tape):]
    assert r["trade_calls"] == sum(k == "trade" for k, _ in s.tape)
    assert r["quote_calls"] == sum(k == "quote" for k, _ in s.tape)
    assert s.books == r["strategy_calls"] > 3000
    assert s.clocks == sorted(s.clocks)


def test_tick_run_on_a_recording_merges_trades_and_quotes_in_file_order(usdm: str) -> None:
    s = Tape()
    r = trader.run_tick_backtest(s, data=usdm)
    stream = _recorded_stream(usdm)
    first_quote = next(i for i, (k, _) in enumerate(stream) if k == "quote")
    assert s.tape == stream[first_quote:]  # callbacks start once a quote made the book
    assert (r["price_precision"], r["size_precision"]) == (1, 3)  # 61800.2, 0.006: from every value
    assert s.clocks == sorted(s.clocks)


def test_without_booktickers_quotes_are_the_rebuilt_books_top(usdm: str, tmp_path: Path) -> None:
    import gzip

    src = tmp_path / "no_tickers.gz"
    with gzip.open(usdm, "rt") as f, gzip.open(src, "wt") as out:
        out.writelines(line for line in f if "@bookTicker" not in line[:80])

    class Top(Strategy):
        def on_start(self) -> None:
            self.quotes: list[tuple] = []

        def on_quote(self, quote) -> None:
            ctx = self._ctx
            assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (ctx.best_bid, ctx.best_ask, ctx.bid_size, ctx.ask_size)
            self.quotes.append((quote.bid, quote.ask, quote.bid_size, quote.ask_size))

    s = Top()
    r = trader.run_l2_backtest(str(src), s)
    assert r["ticker_messages"] == 0 and r["quote_calls"] == len(s.quotes) > 1000
    assert all(a != b for a, b in zip(s.quotes, s.quotes[1:]))  # one call per change of the top


def test_only_overridden_callbacks_run_and_a_strategy_nothing_can_drive_is_refused(usdm: str) -> None:
    class Quiet(Strategy):
        def on_order_event(self, event) -> None: ...

    with pytest.raises(InvalidInputError, match="none of on_trade, on_quote, on_book, on_bar"):
        trader.run_l2_backtest(usdm, Quiet())

    class Bars(Strategy):
        def on_bar(self, bar) -> None: ...

    with pytest.raises(InvalidInputError, match="on_bar only.*--bar 1m"):
        trader.run_l2_backtest(usdm, Bars())
    with pytest.raises(InvalidInputError, match="bar: strategy Tape has no on_bar"):
        trader.run_l2_backtest(usdm, Tape(), bar="1m")
    with pytest.raises(InvalidInputError, match="bar: bad interval"):
        trader.run_l2_backtest(usdm, Bars(), bar="1 minute")
    r = trader.run_l2_backtest(usdm, L2MarketMaker(qty=0.002))  # on_book only
    assert (r["trade_calls"], r["quote_calls"], r["bars"]) == (0, 0, 0) and r["strategy_calls"] > 3000


def _ticks(rows_t: list[tuple], rows_q: list[tuple]):
    """Hand-made trades (ts s, price, size) and quotes (ts s, bid, ask) as Ticks."""
    from trader.data.ticks import Ticks

    s = 1_000_000_000
    ts = np.array([int(r[0] * s) for r in rows_t], dtype=np.int64)
    trades = Ticks("trades", "BTCUSDT", {
        "ts_event": ts, "ts_local": ts.copy(), "price": np.array([r[1] for r in rows_t]),
        "size": np.array([r[2] for r in rows_t]), "side": np.ones(len(rows_t), dtype=np.uint8),
        "id": np.arange(len(rows_t), dtype=np.int64)})
    qts = np.array([int(r[0] * s) for r in rows_q], dtype=np.int64)
    quotes = Ticks("quotes", "BTCUSDT", {
        "ts_event": qts, "ts_local": qts.copy(), "bid_price": np.array([r[1] for r in rows_q]),
        "bid_size": np.full(len(rows_q), 5.0), "ask_price": np.array([r[2] for r in rows_q]),
        "ask_size": np.full(len(rows_q), 5.0)})
    return trades, quotes


def test_bars_from_trades_hand_computed_with_indicators() -> None:
    from trader.indicators import SMA

    # Trades at 10 s, 30 s, 59 s (bucket [0, 60 s)), 61 s ([60, 120)), 125 s ([120, 180): the
    # last, incomplete bar), a quote at 0 s and one at 130 s.
    trades, quotes = _ticks([(10, 100.0, 1.0), (30, 102.5, 2.0), (59, 99.5, 0.5), (61, 101.0, 1.0), (125, 103.0, 1.0)],
                            [(0, 99.0, 100.0), (130, 102.0, 103.0)])

    class BarLog(Strategy):
        def on_start(self) -> None:
            self.sma = self.indicator(SMA(2))
            self.log: list[tuple] = []

        def on_bar(self, bar) -> None:
            self.log.append(("bar", bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, self.clock, self.sma.value))

        def on_trade(self, trade) -> None:
            self.log.append(("trade", trade.ts))

    s = BarLog()
    r = trader.run_tick_backtest(s, data=trades, quotes=quotes, bar="1m")
    S = 1_000_000_000
    assert r["bars"] == 2
    bars = [e for e in s.log if e[0] == "bar"]
    # [0, 60 s): open 100, high 102.5, low 99.5, close 99.5, volume 1 + 2 + 0.5 = 3.5; handed out
    # at the 61 s trade (clock 61 s), before that trade's on_trade; SMA(2) not ready yet.
    assert bars[0][:8] == ("bar", 0, 100.0, 102.5, 99.5, 99.5, 3.5, 61 * S) and np.isnan(bars[0][8])
    # [60 s, 120 s): the one trade at 61 s; handed out at the 125 s trade; SMA(2) = (99.5 + 101) / 2.
    assert bars[1] == ("bar", 60 * S, 101.0, 101.0, 101.0, 101.0, 1.0, 125 * S, 100.25)
    assert s.log.index(bars[0]) == s.log.index(("trade", 61 * S)) - 1
    assert s.log.index(bars[1]) == s.log.index(("trade", 125 * S)) - 1
    assert (r["price_precision"], r["size_precision"]) == (1, 1)  # 102.5, 0.5: inferred


def test_bars_in_an_l2_run(usdm: str) -> None:
    class Minutes(Strategy):
        def on_start(self) -> None:
            self.bars: list = []

        def on_bar(self, bar) -> None:
            self.bars.append(bar)

    s = Minutes()
    r = trader.run_l2_backtest(usdm, s, bar="1m")
    m = 60_000_000_000
    # 23:54:15 to 23:59:59.99: complete minutes 23:55 ... 23:58 (23:54 too: trades from 23:54:15),
    # 23:59 is still open at the end.
    assert [b.ts % m for b in s.bars] == [0] * len(s.bars) and len(s.bars) == r["bars"] == 5
    assert [b.ts for b in s.bars] == list(range(s.bars[0].ts, s.bars[0].ts + 5 * m, m))
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high and b.volume > 0 for b in s.bars)


def test_every_order_event_reaches_the_strategy_in_l2_runs(usdm: str) -> None:
    from trader import orders

    class Life(Strategy):
        def on_start(self) -> None:
            self.events: list = []
            self.ids: dict[str, int] = {}

        def on_book(self, book) -> None:
            if self.ids:
                if "rest" in self.ids and "modified" not in self.ids:
                    self.modify(self.ids["rest"], price=round(book.best_bid - 60, 1))
                    self.ids["modified"] = 1
                elif "modified" in self.ids and "canceled" not in self.ids:
                    self.cancel(self.ids["rest"])
                    self.ids["canceled"] = 1
                return
            self.ids["market"] = self.buy(0.002)
            self.ids["rest"] = self.buy(0.001, price=round(book.best_bid - 50, 1))
            self.ids["stop"] = self.submit(orders.stop_market("sell", 0.001, trigger=round(book.best_bid - 1, 1)))
            self.ids["post"] = self.buy(0.001, price=book.best_ask, post_only=True)  # would take: rejected
            self.ids["dup"] = self.sell(0.0001)  # below the lot (0.001): denied

        def on_order_event(self, event) -> None:
            self.events.append((event.kind, event.order_id))

    s = Life()
    trader.run_l2_backtest(usdm, s)
    kinds = {k for k, _ in s.events}
    assert {"submitted", "accepted", "filled", "updated", "canceled", "triggered", "rejected", "denied"} <= kinds, kinds
    assert ("canceled", s.ids["rest"]) in s.events and ("updated", s.ids["rest"]) in s.events
    assert ("triggered", s.ids["stop"]) in s.events


def test_coin_m_defaults_trade_and_money_is_in_the_coin(shared_data: Path) -> None:
    cm = str(shared_data / "l2_book/hftbacktest_raw_ws/cm/btcusd_perp_20240808.gz")
    r = trader.run_l2_backtest(cm)  # the market is detected; qty 1 contract, max 10
    assert (r["market"], r["symbol"], r["size_precision"]) == ("cm", "BTCUSD_PERP", 0)
    assert r["fills"] > 0 and r["sync_errors"] == 0 and abs(r["position"]) <= 10
    assert r["pnl_currency"] == "BTC" and r["contract_usd"] == 100.0
    # Inverse PnL by hand from the fills: coin cash flow N·100/p per fill, the position at the mid.
    f = r["fill_columns"]
    flow = float(np.sum(f["side"] * f["qty"] * 100.0 / f["price"]))
    assert r["pnl"] == pytest.approx(flow - r["position"] * 100.0 / r["last_mid"], abs=1e-12)
    assert r["pnl"] == pytest.approx(r["realized_pnl"] + r["unrealized_pnl"] - r["fees"], abs=1e-15)
    with pytest.raises(InvalidInputError, match="whole contracts"):
        trader.run_l2_backtest(cm, qty=0.5)
    with pytest.raises(InvalidInputError, match="qty 0.001 rounds to 0 at the data's size precision"):
        trader.run_l2_backtest(cm, market="usdm", qty=0.001)
    with pytest.raises(InvalidInputError, match="rounds to 0 at the instrument's quantity step 1"):
        trader._core.run_l2_backtest([cm], None, market="cm", qty=0.001)


def test_coin_m_inverse_pnl_by_hand() -> None:
    from trader.l2 import _coin_m

    # Buy 2 contracts at 50,000, sell 3 at 40,000 (close 2, open a short of 1), mid 45,000.
    # Long: 2·100·(1/50,000 - 1/40,000) = -0.001 BTC realized. Short of 1 from 40,000 at the mid
    # 45,000: 100·(1/45,000 - 1/40,000) = -0.000277... BTC. Fees: 0.1 % of 2·100/50,000 and of
    # 3·100/40,000 (the engine charges rate·price·qty: 100 and 120).
    report = {"symbol": "BTCUSD_PERP", "initial_cash": 1.0, "last_mid": 45_000.0, "fill_columns": {
        "side": np.array([1, -1]), "price": np.array([50_000.0, 40_000.0]), "qty": np.array([2.0, 3.0]),
        "fee": np.array([100.0, 120.0])}}
    _coin_m(report)
    fees = 0.001 * (200 / 50_000 + 300 / 40_000)
    assert report["realized_pnl"] == pytest.approx(-0.001, rel=1e-12)
    assert report["unrealized_pnl"] == pytest.approx(100 * (1 / 45_000 - 1 / 40_000), rel=1e-12)
    assert report["fees"] == pytest.approx(fees, rel=1e-12)
    assert report["equity"] == pytest.approx(1.0 - 0.001 + 100 * (1 / 45_000 - 1 / 40_000) - fees, rel=1e-12)


def test_spot_and_usdm_are_detected_and_market_overrides(shared_data: Path, usdm: str) -> None:
    spot = str(shared_data / "l2_book/hftbacktest_raw_ws/spot/btcusdt_20240808.gz")
    r = trader.run_l2_backtest(spot)
    assert (r["market"], r["market_detected"], r["sync_errors"]) == ("spot", "spot", 0) and r["fills"] > 0
    assert trader.run_l2_backtest(usdm)["market"] == "usdm"
    with pytest.raises(InvalidInputError, match="spot recording\\? Use market spot"):
        trader.run_l2_backtest(spot, market="usdm")
    with pytest.raises(InvalidInputError, match="market: expected usdm, spot or cm"):
        trader.run_l2_backtest(spot, market="inverse")


def test_report_pnl_equity_and_times(usdm: str) -> None:
    r = trader.run_l2_backtest(usdm, None, qty=0.002, cash=1_000.0, taker_fee_bps=5, maker_fee_bps=1)
    f = r["fill_columns"]
    # By hand: equity = cash0 - sum(side·price·qty) - fees + position·mid.
    cash = 1_000.0 - float(np.sum(f["side"] * f["price"] * f["qty"])) - float(np.sum(f["fee"]))
    assert r["cash"] == pytest.approx(cash, abs=1e-9)
    assert r["equity"] == pytest.approx(cash + r["position"] * r["last_mid"], abs=1e-6)
    assert r["pnl"] == pytest.approx(r["equity"] - 1_000.0, abs=1e-9)
    assert r["pnl"] == pytest.approx(r["realized_pnl"] + r["unrealized_pnl"] - r["fees"], abs=1e-6)
    assert r["first_time"] == "2024-08-08T23:54:15.030314667Z" and r["last_time"] == "2024-08-08T23:59:59.833492584Z"


def test_fills_out_has_the_columns_of_backtest(usdm: str, tmp_path: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from trader.l2 import write_fills

    r = trader.run_l2_backtest(usdm, None, qty=0.002)
    write_fills(r, str(tmp_path / "f.csv"))
    write_fills(r, str(tmp_path / "f.parquet"))
    for t in (pcsv.read_csv(tmp_path / "f.csv"), pq.read_table(tmp_path / "f.parquet")):
        assert t.column_names == ["ts", "side", "price", "qty", "fee", "order_id", "symbol"]
        assert t.num_rows == r["fills"] and set(t.column("symbol").to_pylist()) == {"BTCUSDT"}


def test_gtd_and_day_orders_expire_on_the_l2_clock() -> None:
    """A GTD order leaves the book when the clock passes its time, a DAY order at the UTC midnight
    after it became working; a GTC one stays — on an event, or on the live clock alone."""
    from trader import Strategy, _core, orders

    day = 86_400_000_000_000
    t0 = 20_000 * day + 3_600_000_000_000  # 01:00 UTC

    class Three(Strategy):
        def on_quote(self, quote: object) -> None:
            if not hasattr(self, "ids"):
                t = int(self.clock)
                self.ids = [self.submit(orders.limit("buy", 0.01, 90.0, time_in_force="GTD", expire_time=t + 1_000_000_000)),
                            self.submit(orders.limit("buy", 0.01, 90.0, time_in_force="DAY")),
                            self.submit(orders.limit("buy", 0.01, 90.0))]

    st = Three()
    s = _core.LiveSession(st, mode="quotes", price_precision=2, size_precision=3, account="margin", cash=10_000)

    def statuses() -> list[str]:
        return [s.order(i)["status"] for i in st.ids]

    s.push_quote(t0, 100.0, 100.5, 1.0, 1.0)
    s.pump()
    s.push_quote(t0 + 500_000_000, 100.0, 100.5, 1.0, 1.0)
    s.pump()
    assert statuses() == ["ACCEPTED", "ACCEPTED", "ACCEPTED"]
    s.push_quote(t0 + 1_500_000_000, 100.0, 100.5, 1.0, 1.0)  # an event past the GTD time
    s.pump()
    assert statuses() == ["EXPIRED", "ACCEPTED", "ACCEPTED"]
    s.advance_time(t0 - 3_600_000_000_000 + day + 1)  # no event: the live clock passes midnight
    assert statuses() == ["EXPIRED", "EXPIRED", "ACCEPTED"]
    kinds = [e["kind"] for e in s.events_since(0) if e["order_id"] in st.ids[:2]]
    assert kinds.count("expired") == 2
