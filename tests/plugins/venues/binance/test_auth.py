"""Signing with Binance's documented vector, signatures that cannot go wrong on the wire (a
property test through a real HTTP server), credentials that never show their secret."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trader.exceptions import InvalidInputError
from trader_plugins.venues.binance.auth import Credentials, RedactingFilter, install_redaction, sign, verify
from trader_plugins.venues.binance.config import BinanceConfig
from trader_plugins.venues.binance.http import BinanceError, BinanceHttp

from ._server import serve

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
SIG = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_documented_vector() -> None:
    assert sign(SECRET, PAYLOAD) == SIG
    assert Credentials(KEY, SECRET).sign(PAYLOAD) == SIG
    # the server's check: the signature in the query string or the body; query and body
    # concatenated as they are (Binance's documented mixed example, no '&' between them)
    assert verify(SECRET, f"{PAYLOAD}&signature={SIG}", "")
    assert verify(SECRET, "", f"{PAYLOAD}&signature={SIG}")
    assert verify(SECRET, "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
                  "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
                  "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77")
    assert not verify(SECRET, PAYLOAD.replace("0.1", "0.2") + f"&signature={SIG}", "")


async def _check(request: web.Request) -> web.Response:
    raw_query = request.raw_path.partition("?")[2]
    body = (await request.read()).decode()
    ok = verify(SECRET, raw_query, body) and request.headers.get("X-MBX-APIKEY") == KEY
    if not ok:
        return web.json_response({"code": -1022, "msg": "Signature for this request is not valid."}, status=400)
    return web.json_response({"query": raw_query, "body": body})


async def _time(request: web.Request) -> web.Response:
    import time
    return web.json_response({"serverTime": int(time.time() * 1000)})


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_params = st.dictionaries(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
                          .filter(lambda k: k not in ("signature", "timestamp", "recvWindow")),
                          st.one_of(_text, st.integers(), st.booleans(), st.sampled_from(["a b", "&", "=", "%", "%25", "+", "é€"])),
                          max_size=6)


def test_signature_survives_the_wire_for_any_params() -> None:
    """Whatever the parameters (unicode, spaces, &, =, %), the server's check over the raw query
    string and body as received passes: GET puts them in the query string, POST in the body."""
    with serve([("GET", "/api/v3/check", _check), ("POST", "/api/v3/check", _check),
                ("DELETE", "/api/v3/check", _check), ("PUT", "/api/v3/check", _check), ("GET", "/api/v3/time", _time)]) as url:
        loop = asyncio.new_event_loop()
        http = BinanceHttp(BinanceConfig(rest_url=url), Credentials(KEY, SECRET))
        try:
            @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
            @given(params=_params, method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]))
            def run(params: dict, method: str) -> None:
                try:
                    loop.run_until_complete(http.request(method, "/api/v3/check", params, signed=True))
                except BinanceError as e:
                    raise AssertionError(f"{method} {params!r}: {e}") from None
            run()
        finally:
            loop.run_until_complete(http.close())
            loop.close()


def test_repr_hides_the_secret() -> None:
    c = Credentials(KEY, SECRET)
    assert repr(c) == "Credentials(api_key='vmPU…Ju91duEh8A', secret=<hidden>)"
    assert SECRET not in str(c) and SECRET not in repr([c]) and SECRET not in f"{c}"
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(c)


def test_from_env() -> None:
    c = Credentials.from_env({"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET})
    assert c.api_key == KEY and c.secret == SECRET
    with pytest.raises(InvalidInputError, match="BINANCE_API_SECRET"):
        Credentials.from_env({"BINANCE_API_KEY": KEY})


def test_from_file_mode(tmp_path: Path) -> None:
    p = tmp_path / "binance.toml"
    p.write_text(f'api_key = "{KEY}"\nsecret = "{SECRET}"\n')
    os.chmod(p, 0o644)
    with pytest.raises(InvalidInputError, match=r"binance\.toml.*readable by group or others.*0644") as e:
        Credentials.from_file(p)
    assert SECRET not in str(e.value)
    os.chmod(p, 0o600)
    assert Credentials.from_file(p).secret == SECRET
    bad = tmp_path / "bad.toml"
    bad.write_text(f'api_key = "{KEY}"\nsecret = {SECRET}\n')
    os.chmod(bad, 0o600)
    with pytest.raises(InvalidInputError, match="not valid TOML") as e:
        Credentials.from_file(bad)
    assert SECRET not in str(e.value)
    with pytest.raises(InvalidInputError, match="cannot read"):
        Credentials.from_file(tmp_path / "missing.toml")


def test_logs_never_show_the_secret() -> None:
    c = Credentials(KEY, SECRET)
    f = install_redaction(c)
    assert isinstance(f, RedactingFilter)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for name in ("trader_plugins.venues.binance.http", "trader_plugins.venues.binance.execution"):
        lg = logging.getLogger(name)
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
        try:
            lg.info("sending %s with %s", f"timestamp=1&signature={SIG}", SECRET)
            try:
                raise ValueError(f"boom {SECRET}")
            except ValueError:
                lg.exception("failed")
        finally:
            lg.removeHandler(handler)
    out = stream.getvalue()
    assert "failed" in out and "boom" in out
    assert SECRET not in out and SIG not in out and KEY not in out
