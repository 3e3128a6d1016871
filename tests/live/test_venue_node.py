"""``trader live --venue binance|bybit|okx`` against the local exchange speaking that venue's
protocol (started by the test): the node's orders, fills and position equal the exchange's books;
the secret never shows in what the node writes (stdout, stderr, its log, its final status, its
metrics); a node killed with SIGKILL while trading comes back, reconciles, and ends with the
exchange's state — on each venue."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trader.exchange import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

FEED = {"seed": 5, "rate": 300, "symbol": "BTCUSDT", "price": 50_000}


#: The venue's name for the exchange's two markets.
MARKETS = {"binance": {"spot": "spot", "usdm": "usdm"}, "bybit": {"spot": "spot", "usdm": "linear"},
           "okx": {"spot": "SPOT", "usdm": "SWAP"}}
VENUES = list(MARKETS)


def _venue(ex: Any, market: str) -> str:
    """The ``--venue`` spec pointing at the local exchange ``ex`` (its protocol: ``ex.venue``)."""
    name = MARKETS[ex.venue][market]
    if ex.venue == "binance":
        stream = ex.usdm_stream_url if market == "usdm" else ex.spot_stream_url
        extra = f",ws_api_url={ex.spot_ws_api_url}" if market == "spot" else ""
        return f"binance:market={market},symbols=BTCUSDT,rest_url={ex.base_url},stream_url={stream}{extra}"
    urls = f"rest_url={ex.base_url},ws_private_url={ex.stream_urls['private']}"
    if ex.venue == "bybit":
        return f"bybit:category={name},symbols=BTCUSDT,{urls},ws_public_url={ex.stream_urls[name]}"
    inst = "BTC-USDT-SWAP" if name == "SWAP" else "BTC-USDT"
    return f"okx:inst_type={name},symbols={inst},{urls},ws_public_url={ex.stream_urls['public']}"


#: Each venue's credential variables: key, secret (and OKX's passphrase).
ENV = {"binance": ("BINANCE_API_KEY", "BINANCE_API_SECRET", None), "bybit": ("BYBIT_API_KEY", "BYBIT_API_SECRET", None),
       "okx": ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE")}


def _env(acct: dict[str, str], venue: str = "binance") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "BYBIT_", "OKX_", "TRADER_CRASH"))}
    key, secret, passphrase = ENV[venue]
    env[key], env[secret] = acct["api_key"], acct["secret"]
    if passphrase:
        env[passphrase] = acct["passphrase"]
    return env


def _live(ex: Any, acct: dict[str, str], market: str, state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "trader", "live", "--venue", _venue(ex, market), "--state", str(state),
            "--cash", "5000", "--json", *extra]


def _store_fills(state: Path) -> list[tuple[str, Decimal, Decimal]]:
    with sqlite3.connect(state / "store.sqlite3") as db:
        rows = db.execute("SELECT trade_id, price, qty FROM fills").fetchall()
    return sorted((str(t), Decimal(str(p)), Decimal(str(q))) for t, p, q in rows)


def _exchange_fills(books: dict[str, Any]) -> list[tuple[str, Decimal, Decimal]]:
    return sorted((str(f["id"]), Decimal(f["price"]), Decimal(f["qty"])) for f in books["fills"])


@pytest.mark.parametrize("market", ["usdm", "spot"])
@pytest.mark.parametrize("venue", VENUES)
def test_the_node_trades_on_the_venue_and_ends_equal_to_its_books(tmp_path: Path, venue: str, market: str) -> None:
    with serve_in_thread(venue=venue, feed_options=FEED) as ex:
        acct = ex.accounts[0]
        state = tmp_path / "state"
        r = subprocess.run(_live(ex, acct, market, state, "--duration", "4"), env=_env(acct, venue), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        books = ex.books(acct["api_key"], market)
        metrics = ex.stats()
    summary = json.loads(r.stdout)
    (st,) = summary["strategies"]
    assert summary["node"]["paper"] is False and summary["node"]["venue"] == venue
    assert st["fills"] >= 5 and st["fills"] == len(books["fills"])
    assert _store_fills(state) == _exchange_fills(books)
    # cancel on stop: nothing left open at the venue
    assert not [o for o in books["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    if market == "usdm":
        (pos,) = [p for p in books["positions"] if p["symbol"] == "BTCUSDT"]
        assert Decimal(str(st["position"])) == Decimal(pos["positionAmt"])
    # the secret (and the key) never appear in what the node wrote
    written = r.stdout + r.stderr + "".join(p.read_text(errors="replace") for p in state.glob("*.log*"))
    written += (state / "final_status.json").read_text()
    assert acct["secret"] not in written and acct["api_key"] not in written
    assert not acct.get("passphrase") or acct["passphrase"] not in written
    assert metrics["orders"] if "orders" in metrics else True


@pytest.mark.parametrize("venue", VENUES)
def test_a_bad_secret_is_refused_before_anything_starts(tmp_path: Path, venue: str) -> None:
    with serve_in_thread(venue=venue, feed_options=FEED) as ex:
        acct = dict(ex.accounts[0])
        wrong = {"api_key": acct["api_key"], "secret": "x" * 64, "passphrase": acct.get("passphrase") or ""}
        r = subprocess.run(_live(ex, wrong, "usdm", tmp_path / "s", "--duration", "2"), env=_env(wrong, venue),
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "x" * 64 not in r.stderr + r.stdout


def _kill_when(proc: subprocess.Popen, ex: Any, acct: dict[str, str], market: str, orders: int, limit_s: float) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        n = len(ex.books(acct["api_key"], market)["orders"])
        if n >= orders:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return n


@pytest.mark.parametrize("cut", [15, 40, 70])
@pytest.mark.parametrize("venue", VENUES)
def test_killed_while_trading_it_restarts_reconciles_and_ends_equal_to_the_exchange(tmp_path: Path, venue: str, cut: int) -> None:
    market = "usdm"
    with serve_in_thread(venue=venue, feed_options=FEED) as ex:
        acct = ex.accounts[0]
        state = tmp_path / "state"
        proc = subprocess.Popen(_live(ex, acct, market, state), env=_env(acct, venue), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        placed = _kill_when(proc, ex, acct, market, cut, 60)
        assert proc.returncode == -signal.SIGKILL and placed >= cut
        # the orders the killed node left working keep trading at the venue meanwhile
        time.sleep(0.5)
        r = subprocess.run(_live(ex, acct, market, state, "--duration", "3"), env=_env(acct, venue), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "resumed from" in r.stderr
        books = ex.books(acct["api_key"], market)
    summary = json.loads(r.stdout)
    (st,) = summary["strategies"]
    # every fill the exchange made for the account is the node's, once (the ones of the crash
    # window and of the downtime came back through reconciliation)
    assert _store_fills(state) == _exchange_fills(books)
    (pos,) = [p for p in books["positions"] if p["symbol"] == "BTCUSDT"]
    assert Decimal(str(st["position"])) == Decimal(pos["positionAmt"])
    assert not [o for o in books["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    # no client order id was used twice at the venue
    cids = [o["clientOrderId"] for o in books["orders"]]
    assert len(cids) == len(set(cids))
