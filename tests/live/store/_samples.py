"""One record of each type, and a batch holding them, for the store tests."""

from __future__ import annotations

from trader.live.store import (
    AuditEntry,
    Balance,
    Batch,
    Checkpoint,
    Command,
    CommandUpdate,
    FeedPosition,
    Fill,
    Order,
    OrderEvent,
    Position,
    Restart,
    RiskState,
    StateChange,
    StrategyState,
)


def command(seq: int, strategy: str = "s1") -> Command:
    return Command(strategy, seq, 100 + seq, f"{strategy}-c{seq}", "submit",
                   f'{{"side":"buy","price":"27000.10","qty":"0.001","n":{seq}}}', 1_700_000_000_000_000_000 + seq)


def fill(trade_id: str, strategy: str = "s1", order_id: int = 101, ts: int = 1_700_000_000_000_000_500) -> Fill:
    return Fill(strategy, trade_id, order_id, ts, 1, "27000.10", "0.001", "0.0108004", "maker", '{"venue":"paper"}')


def order(order_id: int = 101, status: str = "ACCEPTED", filled: str = "0", strategy: str = "s1") -> Order:
    return Order(strategy, order_id, f"{strategy}-c1", 1, "limit", "27000.10", "0.001", filled, status,
                 1_700_000_000_000_000_100, False, '{"tif":"GTC"}')


def full_batch(strategy: str = "s1") -> Batch:
    """A batch with at least one record of every batch list."""
    return Batch(
        command_updates=[CommandUpdate(strategy, 1, "acked", "venue id 555", 7)],
        order_events=[OrderEvent(strategy, 1, 101, "accepted", "ACCEPTED", 10, '{"venue_id":"555"}'),
                      OrderEvent(strategy, 2, 101, "filled", "FILLED", 20)],
        fills=[fill("T-1", strategy)],
        state_changes=[StateChange(strategy, 1, 30, "ACTIVE", "REDUCING", "drawdown", "drawdown 5.1% > 5%")],
        audit=[AuditEntry(strategy, 1, 40, "order", "h1", "h0", '{"order":101}')],
        restarts=[Restart(1, 1_765_000_000_000_000_000, "fresh", '{"adjustments":[]}')],
        orders=[Order(strategy, 101, f"{strategy}-c1", -1, "market", None, "0.001", "0.001", "FILLED", 20, True)],
        positions=[Position(strategy, "BTCUSDT", "0.001", "27000.10", "-0.0108004", 20)],
        balances=[Balance(strategy, "USDT", "9999.98919960", 20)],
        risk_states=[RiskState(strategy, "REDUCING", '{"hwm":"10000","breaker":"closed","bucket":3}', 30)],
        strategy_states=[StrategyState(strategy, '{"n": 3, "mode": "calm"}', 40)],
        feed_positions=[FeedPosition(f"{strategy}:binance:btcusdt@depth", 123_456, 50, '{"file":"x.jsonl"}')],
        checkpoints=[Checkpoint(strategy, bytes(range(256)) * 40, 2, 1, 1, 50)],
    )
