"""serve_in_thread, the replay feed, accounts files and the `trader exchange serve` command."""

from __future__ import annotations

import time

import aiohttp
import pytest

from tests.exchange.conftest import Client, run
from trader.cli import main
from trader.exceptions import InvalidInputError
from trader.exchange import serve_in_thread


def test_replay_feed_drives_both_markets(shared_data) -> None:
    path = shared_data / "l2_book" / "hftbacktest_raw_ws" / "usdm" / "ethusdt_20240808.gz"
    assert path.is_file(), path
    with serve_in_thread(feed=f"replay:{path}", feed_options={"speed": "max", "lines": 3000}) as ex:
        deadline = time.monotonic() + 20
        while not ex.stats()["feed_done"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ex.symbol == "ETHUSDT"
        bid, ask = ex.top("usdm")
        assert bid is not None and ask is not None and float(bid) < float(ask)
        assert ex.top("spot") == (bid, ask)

        async def go():
            async with aiohttp.ClientSession() as s:
                async with s.get(ex.base_url + "/fapi/v1/depth", params={"symbol": "ETHUSDT", "limit": 5}) as r:
                    d = await r.json()
                assert d["bids"][0][0] == bid and d["asks"][0][0] == ask
                async with s.get(ex.base_url + "/fapi/v1/trades", params={"symbol": "ETHUSDT", "limit": 3}) as r:
                    assert len(await r.json()) == 3
        run(go())


def test_accounts_file_and_withdraw_permission(tmp_path) -> None:
    f = tmp_path / "accounts.toml"
    f.write_text('[[account]]\napi_key = "keyAAAAAAAA1"\nsecret = "s1"\nbalances = { USDT = 500, BTC = 0.5 }\n'
                 'permissions = ["SPOT", "USDM", "WITHDRAW"]\n')
    with serve_in_thread(accounts=str(f)) as ex:
        assert ex.accounts == [{"api_key": "keyAAAAAAAA1", "secret": "s1", "passphrase": None}]
        b = ex.books("keyAAAAAAAA1", "spot")["balances"]
        assert b["USDT"] == {"free": "500", "locked": "0"} and b["BTC"] == {"free": "0.5", "locked": "0"}

        async def go():
            async with aiohttp.ClientSession() as s:
                st, r = await Client(s, ex.base_url, "keyAAAAAAAA1", "s1").call("GET", "/sapi/v1/account/apiRestrictions")
                assert st == 200 and r["enableWithdrawals"] is True
        run(go())
    f.write_text("[[account]]\napi_key = 'k'\n")
    with pytest.raises(InvalidInputError, match="account 1: secret"):
        with serve_in_thread(accounts=str(f)):
            pass


def test_default_account_is_funded() -> None:
    with serve_in_thread() as ex:
        (acct,) = ex.accounts
        assert len(acct["api_key"]) == 64 and acct["secret"] != acct["api_key"]
        assert ex.books(acct["api_key"], "spot")["balances"]["USDT"]["free"] == "100000"
        with pytest.raises(InvalidInputError):
            ex.books("nobody", "spot")


@pytest.mark.parametrize("args, text", [
    (["--chaos", "drop=3"], "chaos: drop"),
    (["--feed", "bogus"], "feed: expected synthetic or replay:PATH"),
    (["--feed-option", "x"], "--feed-option: expected KEY=VALUE"),
    (["--feed-option", "colour=red"], "feed option: unknown 'colour'"),
    (["--accounts", "/nonexistent/accounts.toml"], "accounts: /nonexistent/accounts.toml"),
    (["--venue", "kraken"], "--venue"),
])
def test_cli_bad_input_exits_2(capsys, args, text) -> None:
    with pytest.raises(SystemExit) as e:
        main(["exchange", "serve", "--port", "0", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1
