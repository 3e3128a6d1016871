"""One instrument naming: BTC_USDT, BTC/USDT, BTCUSDT and a file named BTC_USDT-1m.feather are one
instrument wherever a symbol is written (risk configuration, CLI, strategy)."""

from __future__ import annotations

import json

import pytest
from trader import Strategy, run_backtest
from trader.cli import main
from trader.data.feed import symbol_from_path
from trader.exceptions import InvalidInputError, StrategyError
from trader.instruments import canonical_symbol, resolve_symbol
from trader.risk import RiskSettings, load_risk_config


@pytest.mark.parametrize(
    "name",
    ["BTC_USDT", "BTC/USDT", "BTCUSDT", "btcusdt", "BTC-USDT", "BTC/USDT:USDT", "BTC_USDT_USDT",
     symbol_from_path("klines/BTC_USDT-1m.feather"), symbol_from_path("BTC_USDT_USDT-1m-futures.feather")],
)
def test_every_spelling_is_one_id(name):
    assert canonical_symbol(name) == "BTCUSDT"
    assert resolve_symbol(name, ["ETH_USDT", "BTC_USDT"]) == 1


def test_other_markets_stay_apart():
    assert canonical_symbol("ETH/BTC") != canonical_symbol("BTC/ETH")
    assert canonical_symbol("BTC/USDT:BTC") == "BTCUSDTBTC"  # an inverse contract is another market


def test_an_unknown_symbol_lists_the_runs_instruments():
    with pytest.raises(InvalidInputError, match=r"'ETHUSDT' is not an instrument of this run \(instruments: BTC_USDT, SOL_USDT\)"):
        resolve_symbol("ETHUSDT", ["BTC_USDT", "SOL_USDT"])
    with pytest.raises(InvalidInputError, match="no instrument 2"):
        resolve_symbol(2, ["BTC_USDT", "SOL_USDT"])


def test_risk_limits_match_the_instrument_however_written():
    core = RiskSettings(instruments={"BTCUSDT": {"max_position": 2.5}}, layers=[]).to_core(["BTC_USDT"], {})
    assert core["limits"]["instruments"]["BTC_USDT"]["max_position"] == 2.5
    # a CLI override written another way replaces the file's value instead of adding a second entry
    merged = RiskSettings(instruments={"BTCUSDT": {"max_position": 2.5}}, layers=[]).merged(
        limits={"instruments.BTC/USDT.max_position": 1})
    assert merged.instruments == {"BTCUSDT": {"max_position": 1.0}}
    assert merged.to_core(["BTC_USDT"], {})["limits"]["instruments"]["BTC_USDT"]["max_position"] == 1.0


def test_two_names_of_one_instrument_in_a_config_are_refused():
    with pytest.raises(InvalidInputError, match="'BTCUSDT' and 'BTC/USDT' name the same instrument BTCUSDT"):
        RiskSettings(instruments={"BTCUSDT": {"max_qty": 1}, "BTC/USDT": {"max_qty": 2}})


class _BuysBySymbol(Strategy):
    """Buys 0.01 of ``symbol`` once, then records its position by another spelling."""

    def __init__(self, symbol: str, spelling: str) -> None:
        super().__init__()
        self.symbol, self.spelling, self.seen = symbol, spelling, []

    def on_start(self) -> None:
        from trader.indicators import SMA

        self.sma = self.indicator(SMA(3), instrument=self.symbol)

    def on_bar(self, bar):
        if self.position(self.symbol) == 0 and self.sma.initialized:
            self.buy(0.01, instrument=self.symbol)
        self.seen.append(self.position(self.spelling))


def test_strategy_methods_take_a_symbol():
    s = _BuysBySymbol("SYNTH/USDT", "synth_usdt")
    result = run_backtest(s, options={"bars": 50})
    assert result.fills["qty"][0] == pytest.approx(0.01)
    assert s.seen[-1] == pytest.approx(0.01)
    assert s.qty_for(0.5, 100.0, instrument="SYNTHUSDT") == s.qty_for(0.5, 100.0, instrument=0)


def test_strategy_with_an_unknown_symbol_names_the_runs_instruments():
    with pytest.raises(StrategyError, match=r"'ETHUSDT' is not an instrument of this run \(instruments: SYNTH-USDT\)"):
        run_backtest(_BuysBySymbol("ETHUSDT", "ETHUSDT"), options={"bars": 50})


def test_readme_risk_config_applies_to_the_freqtrade_file_name(tmp_path, shared_data, capsys):
    cfg = tmp_path / "risk.toml"
    cfg.write_text("[risk]\nlayers = []\n[risk.limits.instruments.BTCUSDT]\nmax_position = 0.001\n")
    data = str(shared_data / "klines_1m/0g_trading/BTC_USDT-1m.feather")
    assert load_risk_config(cfg).to_core(["BTC_USDT"], {})["limits"]["instruments"]["BTC_USDT"]["max_position"] == 0.001
    for extra in ([], ["--risk-limit", "instruments.BTC/USDT.max_position=0.001", "--symbol", "BTC/USDT"]):
        main(["backtest", "--data", data, "--end", "2025-12-20", "-p", "qty=0.01", "--risk-config", str(cfg), "--json", *extra])
        out = json.loads(capsys.readouterr().out)
        assert out["risk"]["denials"].get("max_position", 0) > 0 and out["trades"] == 0
