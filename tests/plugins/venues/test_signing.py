"""Bybit v5 and OKX v5 signing checked against the venues' own SDKs (pybit, python-okx), the
server-side checks of both, and the shared credentials and log redaction.

No expected signature is written here: each comes from the SDK's code at test time, with its
clock frozen where it reads one. Keys, secrets and passphrases are made-up test strings.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import okx.utils as okx_utils
import okx.websocket.WsUtils as okx_ws_utils
import pybit._helpers as pybit_helpers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from okx.okxclient import OkxClient
from pybit._websocket_stream import _V5WebSocketManager
from pybit.unified_trading import HTTP as PybitHTTP

from trader.exceptions import InvalidInputError
from trader_plugins.venues.binance import auth as binance_auth
from trader_plugins.venues.bybit import auth as bybit
from trader_plugins.venues.common import auth as common
from trader_plugins.venues.common.auth import Credentials
from trader_plugins.venues.okx import auth as okx


KEY = "test-key-made-up-0000-not-a-real-key"
SECRET = "test-secret-made-up-1111-not-a-real-secret"
PASSPHRASE = "made up pass#2"
TS_MS = 1_700_000_000_123  # fixed request timestamp (ms)
RECV = 5000

#: GET parameters: several, one with a space, unicode, & and =; and none at all.
GET_CASES: dict[str, dict[str, Any]] = {
    "several": {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "a b&c=d/é€", "limit": 50,
                "openOnly": 0},
    "plain": {"symbol": "BTCUSDT", "category": "linear", "limit": 50, "cursor": "page2"},
    "none": {},
}
#: POST bodies: nested with unicode, and empty.
POST_CASES: dict[str, dict[str, Any]] = {
    "nested": {"category": "linear",
               "request": [{"symbol": "BTCUSDT", "side": "Buy", "qty": "0.01", "price": "30000.5",
                            "orderLinkId": "ordre-été-€"}],
               "meta": {"note": "a b&c=d", "flags": [True, False, None], "n": 3, "emoji": "🚀"}},
    "empty": {},
}


@pytest.fixture
def cred() -> Credentials:
    return Credentials(KEY, SECRET, PASSPHRASE)


@pytest.fixture
def pybit_http() -> Iterator[PybitHTTP]:
    session = PybitHTTP(api_key=KEY, api_secret=SECRET, recv_window=RECV)
    yield session
    session.client.close()


@pytest.fixture
def okx_client() -> Iterator[OkxClient]:
    client = OkxClient(api_key=KEY, api_secret_key=SECRET, passphrase=PASSPHRASE, flag="1", debug=False)
    yield client
    client.close()


def _freeze_pybit(monkeypatch: pytest.MonkeyPatch, ms: int) -> None:
    """pybit reads the clock as ``int(time.time() * 10**3)`` in ``pybit._helpers``."""
    monkeypatch.setattr(pybit_helpers, "time", SimpleNamespace(time=lambda: ms / 1000))
    assert pybit_helpers.generate_timestamp() == ms


def _okx_sign(ts: str, method: str, path: str, body: str) -> str:
    return okx_utils.sign(okx_utils.pre_hash(ts, method, path, body, debug=False), SECRET).decode()


# --- Bybit v5 REST ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GET_CASES)
def test_bybit_get_matches_pybit_auth(name: str, cred: Credentials, pybit_http: PybitHTTP) -> None:
    """Our query string, signed by us and by pybit's ``_auth``, gives the same X-BAPI-SIGN."""
    q, b, headers = bybit.signed_payload(cred, "GET", query=GET_CASES[name], timestamp_ms=TS_MS)
    assert b == ""
    assert q == common.encode_query(GET_CASES[name])
    assert headers["X-BAPI-SIGN"] == pybit_http._auth(payload=q, recv_window=RECV, timestamp=TS_MS)
    assert headers["X-BAPI-API-KEY"] == KEY
    assert headers["X-BAPI-TIMESTAMP"] == str(TS_MS)
    assert headers["X-BAPI-RECV-WINDOW"] == str(RECV)


@pytest.mark.parametrize("name", POST_CASES)
def test_bybit_post_matches_pybit_auth(name: str, cred: Credentials, pybit_http: PybitHTTP) -> None:
    q, b, headers = bybit.signed_payload(cred, "POST", body=POST_CASES[name], timestamp_ms=TS_MS)
    assert q == ""
    assert json.loads(b) == POST_CASES[name]
    assert headers["X-BAPI-SIGN"] == pybit_http._auth(payload=b, recv_window=RECV, timestamp=TS_MS)
    assert headers["Content-Type"] == "application/json"


def test_bybit_raw_unicode_body_matches_pybit_auth(cred: Credentials, pybit_http: PybitHTTP) -> None:
    """A body given as JSON text is sent as is, raw UTF-8 included, and both sign its UTF-8 bytes."""
    text = '{"orderLinkId":"ordre-été-€","nested":{"a":["ü",1]}}'
    q, b, headers = bybit.signed_payload(cred, "POST", body=text, timestamp_ms=TS_MS, recv_window=20000)
    assert b == text
    assert headers["X-BAPI-SIGN"] == pybit_http._auth(payload=text, recv_window=20000, timestamp=TS_MS)


@pytest.mark.parametrize(("method", "name"), [("GET", n) for n in GET_CASES] + [("POST", n) for n in POST_CASES])
def test_bybit_pybit_request_is_signed_alike_and_verified(method: str, name: str, cred: Credentials,
                                                          pybit_http: PybitHTTP,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """pybit's own request (its payload and headers, its clock frozen): our signer, given the payload
    pybit sends, produces pybit's headers, and our server check accepts pybit's request."""
    _freeze_pybit(monkeypatch, TS_MS)
    params = dict(GET_CASES[name] if method == "GET" else POST_CASES[name])
    payload = pybit_http.prepare_payload(method, pybit_http._clean_query(params))
    sdk = pybit_http._prepare_headers(payload, RECV)
    kw = {"query": payload} if method == "GET" else {"body": payload}
    q, b, ours = bybit.signed_payload(cred, method, timestamp_ms=TS_MS, **kw)  # type: ignore[arg-type]
    for h in ("X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW", "X-BAPI-SIGN"):
        assert ours[h] == sdk[h], h
    assert bybit.verify(cred, method, sdk, q, b, now_ms=TS_MS)
    if method == "GET" and all(str(v).isalnum() for v in params.values()):
        # where pybit's unencoded, sorted query string is unambiguous, ours (sorted) is the same
        assert common.encode_query(sorted(params.items())) == payload


@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.text(max_size=10), st.integers(),
                                                                          st.booleans()), max_size=6),
       ts=st.integers(1, 2**42), window=st.integers(1, 60_000))
def test_bybit_any_params_match_pybit_auth(params: dict[str, Any], ts: int, window: int) -> None:
    c = Credentials(KEY, SECRET)
    session = PybitHTTP(api_key=KEY, api_secret=SECRET)
    try:
        q, _, headers = bybit.signed_payload(c, "GET", query=params, timestamp_ms=ts, recv_window=window)
        assert headers["X-BAPI-SIGN"] == session._auth(payload=q, recv_window=window, timestamp=ts)
        _, b, headers = bybit.signed_payload(c, "POST", body=params, timestamp_ms=ts, recv_window=window)
        assert headers["X-BAPI-SIGN"] == session._auth(payload=b, recv_window=window, timestamp=ts)
        assert bybit.verify(c, "POST", headers, "", b, now_ms=ts)
    finally:
        session.client.close()


# --- Bybit v5 WebSocket ----------------------------------------------------------------------


def test_bybit_ws_auth_matches_pybit(cred: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    """pybit's auth message (clock frozen; it expires one second ahead) equals ours, and our
    server check takes it until it expires."""
    _freeze_pybit(monkeypatch, TS_MS)
    manager = _V5WebSocketManager("signing-test", testnet=False, api_key=KEY, api_secret=SECRET)
    sent: list[str] = []
    manager.ws = SimpleNamespace(send=sent.append)
    manager._auth()
    (raw,) = sent
    sdk = json.loads(raw)
    expires = sdk["args"][1]
    assert expires == TS_MS + 1000
    assert bybit.ws_auth_message(cred, expires_ms=expires) == sdk
    assert bybit.verify_ws_auth(cred, raw, now_ms=TS_MS)
    assert bybit.verify_ws_auth(cred, sdk, now_ms=expires - 1)
    assert not bybit.verify_ws_auth(cred, sdk, now_ms=expires)  # expired: refused
    assert not bybit.verify_ws_auth(cred, sdk, now_ms=expires + 60_000)


def test_bybit_ws_auth_rejects(cred: Credentials) -> None:
    msg = bybit.ws_auth_message(cred, expires_ms=TS_MS + 1000)
    assert bybit.verify_ws_auth(cred, json.dumps(msg), now_ms=TS_MS)
    sig = msg["args"][2]
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert not bybit.verify_ws_auth(cred, {"op": "auth", "args": [KEY, TS_MS + 1000, flipped]}, now_ms=TS_MS)
    # the expiry is signed: moving it on invalidates the signature
    assert not bybit.verify_ws_auth(cred, {"op": "auth", "args": [KEY, TS_MS + 5000, sig]}, now_ms=TS_MS)
    assert not bybit.verify_ws_auth(Credentials("another-made-up-key", SECRET), msg, now_ms=TS_MS)
    assert not bybit.verify_ws_auth(Credentials(KEY, "another-made-up-secret"), msg, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="op must be 'auth'"):
        bybit.verify_ws_auth(cred, {"op": "login", "args": msg["args"]}, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match=r"args must be \[api_key, expires, signature\]"):
        bybit.verify_ws_auth(cred, {"op": "auth", "args": [KEY, TS_MS]}, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="expires: must be an int"):
        bybit.verify_ws_auth(cred, {"op": "auth", "args": [KEY, str(TS_MS + 1000), sig]}, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        bybit.verify_ws_auth(cred, "{op: auth", now_ms=TS_MS)


# --- Bybit v5 server check -------------------------------------------------------------------


def _flip(s: str, i: int = -1) -> str:
    c = s[i]
    return s[:i] + ("B" if c != "B" else "C") + (s[i + 1:] if i != -1 else "")


@pytest.mark.parametrize(("method", "name"), [("GET", "several"), ("GET", "none"), ("POST", "nested"),
                                              ("POST", "empty")])
def test_bybit_verify(method: str, name: str, cred: Credentials) -> None:
    kw = {"query": GET_CASES[name]} if method == "GET" else {"body": POST_CASES[name]}
    q, b, h = bybit.signed_payload(cred, method, timestamp_ms=TS_MS, **kw)  # type: ignore[arg-type]
    assert bybit.verify(cred, method, h, q, b, now_ms=TS_MS)
    # header names are case-insensitive, as in HTTP
    assert bybit.verify(cred, method, {k.lower(): v for k, v in h.items()}, q, b, now_ms=TS_MS)
    # a changed byte in what is signed
    if method == "GET" and q:
        assert not bybit.verify(cred, method, h, _flip(q), b, now_ms=TS_MS)
    if method == "POST":
        assert not bybit.verify(cred, method, h, q, b + " ", now_ms=TS_MS)
        assert not bybit.verify(cred, method, h, q, _flip(b, 1), now_ms=TS_MS)
    assert not bybit.verify(cred, method, {**h, "X-BAPI-SIGN": _flip(h["X-BAPI-SIGN"])}, q, b, now_ms=TS_MS)
    assert not bybit.verify(cred, method, {**h, "X-BAPI-TIMESTAMP": str(TS_MS + 1)}, q, b, now_ms=TS_MS)
    assert not bybit.verify(cred, method, {**h, "X-BAPI-RECV-WINDOW": "60000"}, q, b, now_ms=TS_MS)
    # a wrong key: another API key (the key is in the pre-hash too), another secret
    assert not bybit.verify(Credentials("another-made-up-key", SECRET), method, h, q, b, now_ms=TS_MS)
    assert not bybit.verify(cred, method, {**h, "X-BAPI-API-KEY": "another-made-up-key"}, q, b, now_ms=TS_MS)
    assert not bybit.verify(Credentials(KEY, "another-made-up-secret"), method, h, q, b, now_ms=TS_MS)
    # the window: server_time - recv_window <= timestamp < server_time + 1000
    assert bybit.verify(cred, method, h, q, b, now_ms=TS_MS + RECV)
    assert not bybit.verify(cred, method, h, q, b, now_ms=TS_MS + RECV + 1)  # too old
    assert bybit.verify(cred, method, h, q, b, now_ms=TS_MS - 999)
    assert not bybit.verify(cred, method, h, q, b, now_ms=TS_MS - 1000)  # too far ahead


def test_bybit_verify_refuses_missing_or_bad_headers(cred: Credentials) -> None:
    q, b, h = bybit.signed_payload(cred, "GET", query=GET_CASES["several"], timestamp_ms=TS_MS)
    for name in ("X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW", "X-BAPI-SIGN"):
        missing = {k: v for k, v in h.items() if k != name}
        with pytest.raises(InvalidInputError, match=f"bybit: header {name} missing"):
            bybit.verify(cred, "GET", missing, q, b, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="X-BAPI-TIMESTAMP: must be an integer"):
        bybit.verify(cred, "GET", {**h, "X-BAPI-TIMESTAMP": "12.5"}, q, b, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="raw_body: must be a str, got bytes"):
        bybit.verify(cred, "POST", h, "", b"{}", now_ms=TS_MS)  # type: ignore[arg-type]


def test_bybit_bad_input(cred: Credentials) -> None:
    with pytest.raises(InvalidInputError, match="bybit: body: must be a str .*got bytes"):
        bybit.signed_payload(cred, "POST", body=b"{}", timestamp_ms=TS_MS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="bybit: query: must be a str or a mapping, got int"):
        bybit.signed_payload(cred, "GET", query=5, timestamp_ms=TS_MS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="bybit: body: a GET has none"):
        bybit.signed_payload(cred, "GET", body={"a": 1}, timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="bybit: query: a POST has none"):
        bybit.signed_payload(cred, "POST", query={"a": 1}, timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="bybit: method: must be GET or POST"):
        bybit.signed_payload(cred, "DELETE", timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="bybit: recv_window: must be >= 1"):
        bybit.signed_payload(cred, "GET", timestamp_ms=TS_MS, recv_window=0)
    with pytest.raises(InvalidInputError, match="bybit: timestamp_ms: must be an int, got float"):
        bybit.signed_payload(cred, "GET", timestamp_ms=1.5e12)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="bybit: credentials: must be a Credentials, got str"):
        bybit.signed_payload(KEY, "GET", timestamp_ms=TS_MS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="body: cannot be written as JSON"):
        bybit.signed_payload(cred, "POST", body={"qty": float("nan")}, timestamp_ms=TS_MS)


# --- OKX v5 REST -----------------------------------------------------------------------------

PATH = "/api/v5/trade/order"


def test_okx_timestamp_matches_python_okx(okx_client: OkxClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our ISO timestamp is the one python-okx writes from a server time in ms (its
    ``_get_timestamp``, its HTTP call replaced by a canned answer)."""
    for ms in (TS_MS, 1_607_418_537_715, 1_607_418_537_000, 1_607_418_537_999, 0, 4_102_444_799_999):
        answer = SimpleNamespace(status_code=200, json=lambda ms=ms: {"data": [{"ts": str(ms)}]})
        monkeypatch.setattr(okx_client, "get", lambda *a, answer=answer, **k: answer)
        assert okx.timestamp_iso(ms) == okx_client._get_timestamp()
        assert okx.parse_timestamp_iso(okx.timestamp_iso(ms)) == ms
    assert okx.timestamp_iso(1_607_418_537_715) == "2020-12-08T09:08:57.715Z"  # the docs' example


@pytest.mark.parametrize("name", GET_CASES)
def test_okx_get_matches_python_okx_sign(name: str, cred: Credentials) -> None:
    path, b, h = okx.signed_payload(cred, "GET", PATH, query=GET_CASES[name], timestamp_ms=TS_MS)
    q = common.encode_query(GET_CASES[name])
    assert path == (f"{PATH}?{q}" if q else PATH) and b == ""
    ts = okx.timestamp_iso(TS_MS)
    sig = _okx_sign(ts, "GET", path, "")
    sdk = okx_utils.get_header(KEY, sig, ts, PASSPHRASE, "1", debug=False)
    for k in ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE", "Content-Type"):
        assert h[k] == sdk[k], k


@pytest.mark.parametrize("name", POST_CASES)
def test_okx_post_matches_python_okx_sign(name: str, cred: Credentials) -> None:
    path, b, h = okx.signed_payload(cred, "POST", PATH, body=POST_CASES[name], timestamp_ms=TS_MS)
    assert path == PATH and json.loads(b) == POST_CASES[name]
    assert h["OK-ACCESS-SIGN"] == _okx_sign(okx.timestamp_iso(TS_MS), "POST", PATH, b)


def test_okx_raw_unicode_and_empty_bodies_match_python_okx_sign(cred: Credentials) -> None:
    ts = okx.timestamp_iso(TS_MS)
    for text in ('{"instId":"BTC-USDT","clOrdId":"ordre-été-€","attach":[{"tpTriggerPx":"1"}]}', ""):
        path, b, h = okx.signed_payload(cred, "post", PATH, body=text, timestamp_ms=TS_MS)
        assert b == text
        assert h["OK-ACCESS-SIGN"] == _okx_sign(ts, "POST", PATH, text)
        assert okx.verify(cred, "POST", h, path, b, now_ms=TS_MS)


@pytest.mark.parametrize(("method", "name"), [("GET", n) for n in GET_CASES] + [("POST", n) for n in POST_CASES])
def test_okx_python_okx_request_is_signed_alike_and_verified(method: str, name: str, cred: Credentials,
                                                             okx_client: OkxClient,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """python-okx's own request (its path, body and headers; its clock frozen and its HTTP call
    replaced by a recorder): our signer, given what it sends, produces its headers, and our server
    check accepts its request."""
    ts = okx.timestamp_iso(TS_MS)
    monkeypatch.setattr(okx_utils, "get_timestamp", lambda: ts)
    sent: list[dict[str, Any]] = []

    def record(url: str, data: str = "", headers: dict[str, str] | None = None) -> Any:
        sent.append({"url": url, "data": data, "headers": headers})
        return SimpleNamespace(json=lambda: {"code": "0", "data": []})

    monkeypatch.setattr(okx_client, "get", lambda url, headers=None: record(url, "", headers))
    monkeypatch.setattr(okx_client, "post", lambda url, data="", headers=None: record(url, data, headers))
    params = dict(GET_CASES[name] if method == "GET" else POST_CASES[name])
    okx_client._request(method, PATH, params)
    (req,) = sent
    # python-okx puts its sign in the headers as bytes (httpx sends them as they are)
    sdk = {k: v.decode() if isinstance(v, bytes) else v for k, v in req["headers"].items()}
    assert sdk["OK-ACCESS-TIMESTAMP"] == ts
    path, _, query = req["url"].partition("?")
    assert path == PATH
    if method == "GET":
        p, b, ours = okx.signed_payload(cred, "GET", PATH, query=query, timestamp_ms=TS_MS)
        assert p == req["url"]
    else:
        p, b, ours = okx.signed_payload(cred, "POST", PATH, body=req["data"], timestamp_ms=TS_MS)
        assert b == req["data"]
    for k in ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE"):
        assert ours[k] == sdk[k], k
    assert okx.verify(cred, method, sdk, req["url"], req["data"], now_ms=TS_MS)
    if method == "GET" and all(str(v).isalnum() for v in params.values()):
        # where python-okx's unencoded query string is unambiguous, ours is the same
        assert common.encode_query(params) == query


@settings(max_examples=100, deadline=None)
@given(params=st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.text(max_size=10), st.integers(),
                                                                          st.booleans()), max_size=6),
       ts=st.integers(0, 2**42))
def test_okx_any_params_match_python_okx_sign(params: dict[str, Any], ts: int) -> None:
    c = Credentials(KEY, SECRET, PASSPHRASE)
    iso = okx.timestamp_iso(ts)
    path, _, h = okx.signed_payload(c, "GET", PATH, query=params, timestamp_ms=ts)
    assert h["OK-ACCESS-SIGN"] == _okx_sign(iso, "GET", path, "")
    path, b, h = okx.signed_payload(c, "POST", PATH, body=params, timestamp_ms=ts)
    assert h["OK-ACCESS-SIGN"] == _okx_sign(iso, "POST", path, b)
    assert okx.verify(c, "POST", h, path, b, now_ms=ts)


@pytest.mark.parametrize(("method", "name"), [("GET", "several"), ("GET", "none"), ("POST", "nested"),
                                              ("POST", "empty")])
def test_okx_verify(method: str, name: str, cred: Credentials) -> None:
    kw = {"query": GET_CASES[name]} if method == "GET" else {"body": POST_CASES[name]}
    p, b, h = okx.signed_payload(cred, method, PATH, timestamp_ms=TS_MS, **kw)  # type: ignore[arg-type]
    assert okx.verify(cred, method, h, p, b, now_ms=TS_MS)
    assert okx.verify(cred, method, {k.lower(): v for k, v in h.items()}, p, b, now_ms=TS_MS)
    # a changed byte in what is signed: path, query, body, method, timestamp
    assert not okx.verify(cred, method, h, _flip(p), b, now_ms=TS_MS)
    if method == "POST":
        assert not okx.verify(cred, method, h, p, b + " ", now_ms=TS_MS)
    assert not okx.verify(cred, "POST" if method == "GET" else "GET", h, p, b, now_ms=TS_MS)
    assert not okx.verify(cred, method, {**h, "OK-ACCESS-SIGN": _flip(h["OK-ACCESS-SIGN"], 0)}, p, b, now_ms=TS_MS)
    later = okx.timestamp_iso(TS_MS + 1)
    assert not okx.verify(cred, method, {**h, "OK-ACCESS-TIMESTAMP": later}, p, b, now_ms=TS_MS)
    # a wrong key, secret or passphrase
    assert not okx.verify(Credentials("another-made-up-key", SECRET, PASSPHRASE), method, h, p, b, now_ms=TS_MS)
    assert not okx.verify(Credentials(KEY, "another-made-up-secret", PASSPHRASE), method, h, p, b, now_ms=TS_MS)
    assert not okx.verify(Credentials(KEY, SECRET, "another passphrase"), method, h, p, b, now_ms=TS_MS)
    assert not okx.verify(cred, method, {**h, "OK-ACCESS-PASSPHRASE": "wrong ü"}, p, b, now_ms=TS_MS)
    # 30 s either way
    assert okx.verify(cred, method, h, p, b, now_ms=TS_MS + okx.MAX_AGE_MS)
    assert not okx.verify(cred, method, h, p, b, now_ms=TS_MS + okx.MAX_AGE_MS + 1)  # too old
    assert okx.verify(cred, method, h, p, b, now_ms=TS_MS - okx.MAX_AGE_MS)
    assert not okx.verify(cred, method, h, p, b, now_ms=TS_MS - okx.MAX_AGE_MS - 1)


def test_okx_verify_refuses_missing_or_bad_headers(cred: Credentials) -> None:
    p, b, h = okx.signed_payload(cred, "POST", PATH, body=POST_CASES["nested"], timestamp_ms=TS_MS)
    for name in ("OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP", "OK-ACCESS-PASSPHRASE"):
        missing = {k: v for k, v in h.items() if k != name}
        with pytest.raises(InvalidInputError, match=f"okx: header {name} missing"):
            okx.verify(cred, "POST", missing, p, b, now_ms=TS_MS)
    for bad in (str(TS_MS), "2020-12-08T09:08:57Z", "2020-12-08 09:08:57.715Z", "2020-13-08T09:08:57.715Z"):
        with pytest.raises(InvalidInputError, match="OK-ACCESS-TIMESTAMP"):
            okx.verify(cred, "POST", {**h, "OK-ACCESS-TIMESTAMP": bad}, p, b, now_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="raw_body: must be a str, got bytes"):
        okx.verify(cred, "POST", h, p, b.encode(), now_ms=TS_MS)  # type: ignore[arg-type]


def test_okx_bad_input(cred: Credentials) -> None:
    with pytest.raises(InvalidInputError, match="okx: credentials: passphrase: required"):
        okx.signed_payload(Credentials(KEY, SECRET), "GET", PATH, timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: body: must be a str .*got bytes"):
        okx.signed_payload(cred, "POST", PATH, body=b"{}", timestamp_ms=TS_MS)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="okx: request_path: must be a str starting with /"):
        okx.signed_payload(cred, "GET", f"{PATH}?instId=BTC-USDT", timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: request_path"):
        okx.signed_payload(cred, "GET", "api/v5/account/balance", timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: body: a GET has none"):
        okx.signed_payload(cred, "GET", PATH, body="{}", timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: query: a POST has none"):
        okx.signed_payload(cred, "POST", PATH, query="a=1", timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: method: must be GET or POST"):
        okx.signed_payload(cred, "PUT", PATH, timestamp_ms=TS_MS)
    with pytest.raises(InvalidInputError, match="okx: timestamp_ms: must be >= 0"):
        okx.timestamp_iso(-1)


# --- OKX v5 WebSocket ------------------------------------------------------------------------


def test_okx_ws_login_matches_python_okx(cred: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-okx's login message (``initLoginParams``, its clock frozen) carries the same key,
    passphrase, timestamp and sign as ours (it sends the timestamp as a number, we as the string
    OKX documents), and our server check takes it for 30 s."""
    now = TS_MS // 1000
    monkeypatch.setattr(okx_ws_utils, "time", SimpleNamespace(time=lambda: now + 0.25))
    raw = okx_ws_utils.initLoginParams(False, KEY, PASSPHRASE, SECRET)
    sdk = json.loads(raw)
    ours = okx.ws_login_message(cred, timestamp_s=now)
    assert ours["op"] == sdk["op"] == "login"
    (a,), (b,) = ours["args"], sdk["args"]
    assert a["timestamp"] == str(b["timestamp"]) == str(now)
    assert (a["apiKey"], a["passphrase"], a["sign"]) == (b["apiKey"], b["passphrase"], b["sign"])
    for msg in (raw, sdk, ours, json.dumps(ours)):
        assert okx.verify_ws_login(cred, msg, now_s=now)
        assert okx.verify_ws_login(cred, msg, now_s=now + 30)
        assert not okx.verify_ws_login(cred, msg, now_s=now + 31)  # older than 30 s: refused


def test_okx_ws_login_rejects(cred: Credentials) -> None:
    now = TS_MS // 1000
    msg = okx.ws_login_message(cred, timestamp_s=now)
    arg = msg["args"][0]

    def with_(**kw: Any) -> dict[str, Any]:
        return {"op": "login", "args": [{**arg, **kw}]}

    assert not okx.verify_ws_login(cred, with_(sign=_flip(arg["sign"], 0)), now_s=now)
    assert not okx.verify_ws_login(cred, with_(timestamp=str(now + 1)), now_s=now)  # the timestamp is signed
    assert not okx.verify_ws_login(cred, with_(passphrase="another passphrase"), now_s=now)
    assert not okx.verify_ws_login(cred, with_(apiKey="another-made-up-key"), now_s=now)
    assert not okx.verify_ws_login(Credentials(KEY, "another-made-up-secret", PASSPHRASE), msg, now_s=now)
    assert not okx.verify_ws_login(cred, msg, now_s=now - 31)  # too far ahead
    with pytest.raises(InvalidInputError, match="timestamp: must be Unix epoch seconds"):
        okx.verify_ws_login(cred, with_(timestamp=f"{now}.5"), now_s=now)
    with pytest.raises(InvalidInputError, match="login message: sign: must be a string"):
        okx.verify_ws_login(cred, with_(sign=None), now_s=now)
    with pytest.raises(InvalidInputError, match="op must be 'login'"):
        okx.verify_ws_login(cred, {"op": "auth", "args": msg["args"]}, now_s=now)
    with pytest.raises(InvalidInputError, match="args must be one object"):
        okx.verify_ws_login(cred, {"op": "login", "args": arg}, now_s=now)
    with pytest.raises(InvalidInputError, match="okx: message: must be a JSON object"):
        okx.verify_ws_login(cred, "[1, 2]", now_s=now)


# --- credentials and redaction (shared) ------------------------------------------------------


def test_credentials_repr_hides_secret_and_passphrase(cred: Credentials) -> None:
    for text in (repr(cred), str(cred), f"{cred}", repr([cred])):
        assert SECRET not in text and PASSPHRASE not in text
        assert "secret=<hidden>" in text and "passphrase=<hidden>" in text
    assert "passphrase" not in repr(Credentials(KEY, SECRET))
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(cred)


def test_credentials_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="credentials: api_key: must be a non-empty string"):
        Credentials("", SECRET)
    with pytest.raises(InvalidInputError, match="credentials: secret: must be a non-empty string"):
        Credentials(KEY, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="credentials: passphrase: must be a non-empty string or None, got int"):
        Credentials(KEY, SECRET, 1234)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="credentials: passphrase: .*got an empty string"):
        Credentials(KEY, SECRET, "  ")


def test_credentials_from_env_and_file(tmp_path: Path) -> None:
    env = {"OKX_API_KEY": KEY, "OKX_API_SECRET": SECRET, "OKX_API_PASSPHRASE": PASSPHRASE}
    c = Credentials.from_env(env, prefix="OKX", need_passphrase=True)
    assert (c.api_key, c.secret, c.passphrase) == (KEY, SECRET, PASSPHRASE)
    with pytest.raises(InvalidInputError, match="OKX_API_PASSPHRASE not set"):
        Credentials.from_env({k: v for k, v in env.items() if k != "OKX_API_PASSPHRASE"}, prefix="OKX",
                             need_passphrase=True)
    c = Credentials.from_env({"BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": SECRET}, prefix="BYBIT")
    assert c.passphrase is None and c.secret == SECRET
    with pytest.raises(InvalidInputError, match="credentials: prefix"):
        Credentials.from_env(env, prefix="okx")
    p = tmp_path / "okx.toml"
    p.write_text(f'api_key = "{KEY}"\nsecret = "{SECRET}"\npassphrase = "{PASSPHRASE}"\n')
    os.chmod(p, 0o600)
    c = Credentials.from_file(p, need_passphrase=True)
    assert c.passphrase == PASSPHRASE
    p.write_text(f'api_key = "{KEY}"\nsecret = "{SECRET}"\npassphrase = 1234\n')
    with pytest.raises(InvalidInputError, match=r"okx\.toml.*passphrase: must be a string"):
        Credentials.from_file(p)
    p.write_text(f'api_key = "{KEY}"\nsecret = "{SECRET}"\n')
    with pytest.raises(InvalidInputError, match=r"okx\.toml.*needs a string key passphrase"):
        Credentials.from_file(p, need_passphrase=True)


def test_binance_keeps_its_names_from_common() -> None:
    """The shared pieces moved to common; binance.auth still exports them (the same objects)."""
    assert binance_auth.Credentials is common.Credentials
    assert binance_auth.RedactingFilter is common.RedactingFilter
    assert binance_auth.encode({"a b": "é&"}) == common.encode_query({"a b": "é&"}) == "a%20b=%C3%A9%26"


def _logged(loggers: tuple[str, ...], *messages: tuple[str, tuple[Any, ...]]) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for name in loggers[:2]:
        lg = logging.getLogger(name)
        lg.addHandler(handler)
        old = lg.level
        lg.setLevel(logging.DEBUG)
        try:
            for msg, args in messages:
                lg.info(msg, *args)
            try:
                raise ValueError(f"boom {SECRET} {PASSPHRASE}")
            except ValueError:
                lg.exception("failed")
        finally:
            lg.removeHandler(handler)
            lg.setLevel(old)
    return stream.getvalue()


@pytest.fixture
def remove_filters() -> Iterator[list[tuple[str, ...]]]:
    installed: list[tuple[str, ...]] = []
    yield installed
    for loggers in installed:
        for name in loggers:
            lg = logging.getLogger(name)
            for f in [f for f in lg.filters if isinstance(f, common.RedactingFilter)]:
                lg.removeFilter(f)


def test_bybit_logs_blank_secret_and_signatures(cred: Credentials, remove_filters: list) -> None:
    q, b, h = bybit.signed_payload(cred, "POST", body=POST_CASES["nested"], timestamp_ms=TS_MS)
    ws = bybit.ws_auth_message(cred, expires_ms=TS_MS + 1000)
    f = bybit.install_redaction(cred)
    remove_filters.append(bybit.LOGGERS)
    assert isinstance(f, common.RedactingFilter)
    out = _logged(bybit.LOGGERS, ("sending %s headers %s", (b, h)), ("ws %s", (json.dumps(ws),)),
                  ("secret %s", (SECRET,)))
    assert "failed" in out and "boom" in out and "sending" in out
    for hidden in (SECRET, PASSPHRASE, KEY, h["X-BAPI-SIGN"], ws["args"][2]):
        assert hidden not in out
    assert out.count("<hidden>") >= 8


def test_okx_logs_blank_secret_passphrase_and_signatures(cred: Credentials, remove_filters: list) -> None:
    p, b, h = okx.signed_payload(cred, "GET", PATH, query=GET_CASES["several"], timestamp_ms=TS_MS)
    ws = okx.ws_login_message(cred, timestamp_s=TS_MS // 1000)
    okx.install_redaction(cred)
    remove_filters.append(okx.LOGGERS)
    out = _logged(okx.LOGGERS, ("GET %s headers %s", (p, h)), ("login %s", (json.dumps(ws),)),
                  ("sign %s", (h["OK-ACCESS-SIGN"],)))
    assert "failed" in out and "boom" in out and "GET /api/v5/trade/order?" in out
    for hidden in (SECRET, PASSPHRASE, KEY, h["OK-ACCESS-SIGN"], ws["args"][0]["sign"]):
        assert hidden not in out


def test_redact_keeps_what_is_not_secret() -> None:
    """A pattern's first group (a label) is kept; text that only looks close to a signature is not
    blanked."""
    sig = common.hmac_sha256_hex(SECRET, "x")
    b64 = common.hmac_sha256_base64(SECRET, "x")
    text = f"signature={sig} X-BAPI-SIGN={sig} sign={b64} order 1234abcd short=abc="
    assert binance_auth.redact(text, ()) == text.replace(f"signature={sig}", "signature=<hidden>")
    assert common.redact(text, (), bybit.SIGNATURES).count("<hidden>") == 2
    out = common.redact(text, (), okx.SIGNATURES)
    assert b64 not in out and sig in out and "order 1234abcd short=abc=" in out


def test_hmac_helpers_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="hmac: payload: must be a str, got bytes"):
        common.hmac_sha256_hex(SECRET, b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="hmac: secret: must be a str, got NoneType"):
        common.hmac_sha256_base64(None, "x")  # type: ignore[arg-type]
