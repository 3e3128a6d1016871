"""The HTML tearsheet (``trader.report.tearsheet``) and the saved run it can be drawn from
(``trader.report.run``): what the page holds, how it reads, and that a saved run draws the same page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from trader import run_backtest
from trader.exceptions import InvalidInputError
from trader.plugins import find_data_source
from trader.report.run import MAX_CANDLES, from_backtest, load_run, save_run
from trader.report.tearsheet import render, render_comparison


def _bars(n: int) -> dict:
    feed = find_data_source(None, None).open(None, symbol=None, start=None, end=None, batch_size=1_000_000,
                                             gap_policy="report", bars=n)
    (b,) = list(feed.batches())
    return {b.symbol: b}


@pytest.fixture(scope="module")
def run() -> tuple:
    result = run_backtest("ema_cross", {}, None, options={"bars": 60_000})
    return result, _bars(60_000)


def _text(page: str) -> str:
    """The page without its scripts (plotly.js and the figures' data): what a reader sees as text."""
    return re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)


def test_the_page_is_self_contained_and_declares_its_figures(run) -> None:
    result, bars = run
    page = render(from_backtest(result, bars, {"data": "synthetic"}))
    meta = re.search(r'<meta name="trader-figures" content="(\d+)">', page)
    assert meta is not None
    declared = int(meta.group(1))
    assert declared == len(re.findall(r'<div class="fig">', page)) >= 7
    assert page.count("<script") == declared + 1  # plotly.js once, then one script per figure
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page), "nothing is fetched"
    for section in ("Run", "Headline", "Equity", "Drawdowns", "Returns", "Price and trades", "Risk"):
        assert f"<h2>{section}</h2>" in page


def test_numbers_read_as_money_percentages_and_iso_times(run) -> None:
    result, bars = run
    text = _text(render(from_backtest(result, bars)))
    assert not re.search(r"\d\.\d{9,}", text), "no float dumped to 17 digits"
    assert not re.search(r"\b1[67]\d{17}\b", text), "no time left in nanoseconds"
    s = result.summary()
    assert f"{s['final_equity']:,.2f}" in text
    assert f"{s['total_return'] * 100:.2f}%" in text
    assert re.search(r"2024-01-0\d \d\d:\d\d:\d\d", text)


def test_the_drawdown_table_lists_the_five_deepest(run) -> None:
    result, bars = run
    text = _text(render(from_backtest(result, bars)))
    table = text.split("start (peak)")[1].split("</table>")[0]
    depths = [float(d) for d in re.findall(r"<td class=\"\">-(\d+\.\d\d)%</td>", table)]
    assert len(depths) == 5 and depths == sorted(depths, reverse=True)
    assert depths[0] == pytest.approx(result.stats["max_drawdown"] * 100, abs=0.006)


def test_a_long_run_draws_coarser_candles_not_every_bar(run) -> None:
    result, bars = run
    rec = from_backtest(result, bars)
    c = rec.candles
    assert c is not None
    assert len(c["ts"]) <= MAX_CANDLES and c["bars_per_candle"] == 30
    b = next(iter(bars.values()))
    assert c["high"][0] == b.high[:30].max() and c["low"][0] == b.low[:30].min() and c["close"][0] == b.close[29]
    assert "(30 bars per candle)" in render(rec)


def test_buy_and_hold_starts_with_the_same_cash_and_ends_at_the_price_move(run) -> None:
    result, bars = run
    rec = from_backtest(result, bars)
    b = next(iter(bars.values()))
    assert rec.benchmark is not None
    assert rec.benchmark[-1] == pytest.approx(10_000.0 * b.close[-1] / b.open[0])


def test_sections_without_data_say_so_in_one_line() -> None:
    # a strategy that cannot afford a single buy: no trades, only risk denials
    result = run_backtest("ema_cross", {"qty": 1000.0}, None, options={"bars": 3_000})
    page = render(from_backtest(result, _bars(3_000)))
    text = _text(page)
    assert "no round trips: the strategy never opened a position" in text
    assert "no monthly returns: the run spans" in text
    assert "insufficient_balance" in text and "denied because" in text
    assert "Round trips:" not in text


def test_a_saved_run_draws_the_same_page(run, tmp_path: Path) -> None:
    result, bars = run
    rec = from_backtest(result, bars, {"data": "synthetic"})
    save_run(rec, str(tmp_path / "a"))
    back = load_run(str(tmp_path / "a"))
    assert np.array_equal(back.equity_ts, rec.equity_ts) and np.array_equal(back.equity, rec.equity)
    assert back.benchmark is not None and rec.benchmark is not None
    assert np.array_equal(back.benchmark, rec.benchmark)
    assert back.meta == rec.meta and back.trades["exit_reason"].tolist() == rec.trades["exit_reason"].tolist()
    strip = re.compile(r"generated [^·]+·|fig\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert strip.sub("", _text(render(back))) == strip.sub("", _text(render(rec)))


def test_a_comparison_has_one_column_per_run(run) -> None:
    result, bars = run
    other = run_backtest("ema_cross", {"fast": 5, "slow": 50}, None, options={"bars": 60_000})
    a = from_backtest(result, bars, name="A")
    b = from_backtest(other, bars, name="B")
    page = render_comparison([a, b], "A/B")
    text = _text(page)
    assert "<th class=\"\">A</th><th class=\"\">B</th>" in text
    found = re.search(r"<td class=\"l\">final_equity</td>(.*?)</tr>", text)
    assert found is not None
    row = found.group(1)
    assert f"{result.stats['final_equity']:,.2f}" in row and f"{other.stats['final_equity']:,.2f}" in row
    assert "parameters (differs)" in text
    with pytest.raises(ValueError, match="at least two runs"):
        render_comparison([a])


def test_a_folder_without_a_run_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=f"{tmp_path}: holds no run.json"):
        load_run(str(tmp_path))
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(InvalidInputError, match="cannot read the saved run"):
        load_run(str(tmp_path))
