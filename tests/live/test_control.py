"""The control API: every endpoint against a fake node, authentication, malformed requests, the
token and endpoint files."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live._fake import TOKEN, FakeNode, ServerThread
from trader.exceptions import InvalidInputError
from trader.live.control import (
    ENDPOINT_FILE,
    TOKEN_ENV,
    TOKEN_FILE,
    ControlServer,
    find_token,
    load_or_create_token,
    read_endpoint,
    remove_endpoint,
    write_endpoint,
)

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url: str, method: str, path: str, *, token: str | None = TOKEN, body: Any = None, raw: bytes | None = None,
         auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; ``raw`` is sent as is, ``body`` as JSON."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url + path, data=data, method=method)
    if auth is not None:
        req.add_header("Authorization", auth)
    elif token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _NO_PROXY.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def call_json(url: str, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    status, headers, body = call(url, method, path, **kw)
    assert headers["Content-Type"].startswith("application/json"), headers
    return status, json.loads(body)


@pytest.fixture
def node() -> FakeNode:
    return FakeNode()


@pytest.fixture
def server(node: FakeNode) -> Iterator[ServerThread]:
    with ServerThread(node) as s:
        yield s


# --- endpoints ---


def test_health_ready_and_not_ready(server: ServerThread, node: FakeNode) -> None:
    assert call_json(server.url, "GET", "/health") == (200, {"live": True, "ready": True, "reason": None})
    node.ready, node.reason = False, "feed stale"
    # still 200: a probe reads the reason
    assert call_json(server.url, "GET", "/health") == (200, {"live": True, "ready": False, "reason": "feed stale"})


def test_metrics_are_the_nodes(server: ServerThread, node: FakeNode) -> None:
    node.metrics.event("BTCUSDT.trades", 42)
    node.metrics.set_state("halted")
    status, headers, body = call(server.url, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"] == node.metrics.render()[1]
    text = body.decode()
    assert 'trader_events_total{stream="BTCUSDT.trades"} 42.0' in text
    assert 'trader_trading_state{trader_trading_state="halted"} 1.0' in text


def test_status_is_the_nodes(server: ServerThread, node: FakeNode) -> None:
    assert call_json(server.url, "GET", "/status") == (200, node.status())


@pytest.mark.parametrize("given", ["paused", "PAUSED", " Paused "])
def test_set_state(server: ServerThread, node: FakeNode, given: str) -> None:
    status, data = call_json(server.url, "POST", "/state", body={"state": given, "reason": "  lunch  "})
    assert (status, data) == (200, {"state": "paused", "previous": "active"})
    assert node.calls == [("set_state", "paused", "lunch")]
    assert node.state == "paused"


def test_every_state_reaches_the_node(server: ServerThread, node: FakeNode) -> None:
    for state in ("reducing", "paused", "halted", "emergency", "active"):
        assert call_json(server.url, "POST", "/state", body={"state": state, "reason": "drill"})[0] == 200
        assert node.state == state


@pytest.mark.parametrize("body", [None, {}, {"reason": "end of day"}])
def test_cancel_all(server: ServerThread, node: FakeNode, body: Any) -> None:
    assert call_json(server.url, "POST", "/cancel-all", body=body) == (200, {"canceled": 3})
    reason = (body or {}).get("reason", "operator cancel-all (control API)")
    assert node.orders == [] and node.calls == [("cancel_all", reason)]


@pytest.mark.parametrize("body", [None, {"reason": "risk off"}])
def test_flatten(server: ServerThread, node: FakeNode, body: Any) -> None:
    assert call_json(server.url, "POST", "/flatten", body=body) == (200, {"orders": ["flat-BTCUSDT"]})
    reason = (body or {}).get("reason", "operator flatten (control API)")
    assert node.positions == {"BTCUSDT": 0.0, "ETHUSDT": 0.0} and node.calls == [("flatten", reason)]


# --- authentication ---


@pytest.mark.parametrize("auth", [None, f"Bearer {TOKEN}x", "Bearer ", "Bearer", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"])
@pytest.mark.parametrize("method, path", [("GET", "/health"), ("GET", "/metrics"), ("GET", "/status"), ("POST", "/state"),
                                          ("POST", "/cancel-all"), ("POST", "/flatten"), ("GET", "/nowhere")])
def test_401_without_the_token(server: ServerThread, node: FakeNode, auth: str | None, method: str, path: str) -> None:
    body = {"state": "halted", "reason": "x"} if path == "/state" else None
    status, headers, raw = call(server.url, method, path, token=None, auth=auth, body=body)
    assert status == 401
    assert headers["Content-Type"].startswith("application/json")
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "unauthorized" in json.loads(raw)["error"]
    assert TOKEN.encode() not in raw
    assert node.calls == [] and node.state == "active"


def test_scheme_is_case_insensitive(server: ServerThread) -> None:
    assert call(server.url, "GET", "/health", auth=f"bearer {TOKEN}")[0] == 200


# --- malformed requests ---


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not valid JSON"),
    (b"", "got nothing"),
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'"paused"', "expected a JSON object, got str"),
    (b"null", "expected a JSON object, got null"),
    (b'{"state": "paused"}', "missing field(s) 'reason'"),
    (b'{"reason": "x"}', "missing field(s) 'state'"),
    (b'{"state": "paused", "reason": "x", "force": true}', "unknown field(s) 'force'"),
    (b'{"state": "sleepy", "reason": "x"}', "unknown trading state 'sleepy'"),
    (b'{"state": "paused", "reason": ""}', "reason: must not be empty"),
    (b'{"state": "paused", "reason": "   "}', "reason: must not be empty"),
    (b'{"state": "paused", "reason": "a\\nb"}', "reason: must be a single line"),
    (b'{"state": "paused", "reason": 7}', "reason: expected a string, got int"),
    (b'{"state": null, "reason": "x"}', "state: expected a string, got null"),
])
def test_400_malformed_state(server: ServerThread, node: FakeNode, raw: bytes, message: str) -> None:
    status, data = call_json(server.url, "POST", "/state", raw=raw)
    assert status == 400
    assert message in data["error"] and "\n" not in data["error"]
    assert node.calls == [] and node.state == "active"


@pytest.mark.parametrize("path", ["/cancel-all", "/flatten"])
@pytest.mark.parametrize("raw, message", [
    (b"{oops", "not valid JSON"),
    (b"[]", "expected a JSON object"),
    (b'{"why": "x"}', "unknown field(s) 'why'"),
    (b'{"reason": ""}', "must not be empty"),
    (b'{"reason": ["x"]}', "expected a string"),
])
def test_400_malformed_cancel_flatten(server: ServerThread, node: FakeNode, path: str, raw: bytes, message: str) -> None:
    status, data = call_json(server.url, "POST", path, raw=raw)
    assert status == 400 and message in data["error"]
    assert node.calls == [] and len(node.orders) == 3


def test_400_from_the_node(server: ServerThread, node: FakeNode) -> None:
    status, data = call_json(server.url, "POST", "/state", body={"state": "paused", "reason": "refused by the node"})
    assert (status, data) == (400, {"error": "reason: refused by the node"})


def test_413_oversized_body(server: ServerThread, node: FakeNode) -> None:
    status, data = call_json(server.url, "POST", "/state", body={"state": "paused", "reason": "x" * 100_000})
    assert status == 413 and data["error"]
    assert node.calls == []


def test_404_and_405(server: ServerThread) -> None:
    assert call_json(server.url, "GET", "/nowhere") == (404, {"error": "Not Found"})
    status, headers, raw = call(server.url, "GET", "/state")
    assert status == 405 and json.loads(raw) == {"error": "Method Not Allowed"}
    assert headers["Allow"] == "POST"
    assert call_json(server.url, "POST", "/health")[0] == 405
    assert call_json(server.url, "DELETE", "/status")[0] == 405


def test_500_is_one_line_and_logged(server: ServerThread, node: FakeNode, caplog: pytest.LogCaptureFixture) -> None:
    node.fail = True
    with caplog.at_level(logging.ERROR, logger="trader.live.control"):
        status, data = call_json(server.url, "GET", "/status")
    assert status == 500
    assert data == {"error": "internal error: RuntimeError: status exploded with a second line"}
    assert "Traceback" not in json.dumps(data)
    failures = [r for r in caplog.records if r.name == "trader.live.control" and r.exc_info]
    assert failures and "GET /status failed" in failures[0].getMessage()
    node.fail = False
    assert call_json(server.url, "GET", "/status")[0] == 200  # the server survives


def test_unserializable_status_is_a_500(server: ServerThread, node: FakeNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node, "status", lambda: {"when": object()})
    status, data = call_json(server.url, "GET", "/status")
    assert status == 500 and data["error"].startswith("internal error: TypeError")


# --- the server's life ---


def test_start_binds_a_free_port_and_stop_frees_it(node: FakeNode) -> None:
    async def scenario() -> None:
        server = ControlServer(node, token=TOKEN)
        host, port = await server.start()
        assert host == "127.0.0.1" and port > 0
        with pytest.raises(RuntimeError, match="already running"):
            await server.start()
        taken = ControlServer(node, port=port, token=TOKEN)
        with pytest.raises(InvalidInputError, match=f"cannot listen on 127.0.0.1:{port}"):
            await taken.start()
        await server.stop()
        await server.stop()  # idempotent
        again = ControlServer(node, port=port, token=TOKEN)
        assert (await again.start())[1] == port
        await again.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))


@pytest.mark.parametrize("token, message", [("", "empty"), ("two\nlines", "single line"), ("with space", "spaces")])
def test_server_refuses_a_bad_token(node: FakeNode, token: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ControlServer(node, token=token)


def test_repr_hides_the_token(node: FakeNode) -> None:
    assert TOKEN not in repr(ControlServer(node, token=TOKEN))


# --- the token ---


def test_generated_token_file(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    token = load_or_create_token(state)
    path = state / TOKEN_FILE
    assert len(token) >= 40 and path.read_text() == token + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) & 0o077 == 0
    assert find_token(state) == token
    second = load_or_create_token(state)  # a new run, a new token
    assert second != token and find_token(state) == second
    assert [p.name for p in state.iterdir()] == [TOKEN_FILE]  # no temporary file left


def test_token_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "tok"
    f.write_text("  s3cret-token \n")
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert load_or_create_token(tmp_path / "state", str(f)) == "s3cret-token"  # before the env
    assert not (tmp_path / "state").exists()  # nothing generated
    assert find_token(tmp_path / "state", f) == "s3cret-token"


def test_env_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / TOKEN_FILE).write_text("from-file\n")
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert load_or_create_token(tmp_path) == "from-env"
    assert find_token(tmp_path) == "from-env"  # before the state folder's file
    assert (tmp_path / TOKEN_FILE).read_text() == "from-file\n"  # untouched
    monkeypatch.setenv(TOKEN_ENV, "")
    with pytest.raises(InvalidInputError, match=f"^{TOKEN_ENV}: the control token is empty"):
        load_or_create_token(tmp_path)


@pytest.mark.parametrize("content, message", [
    (None, "control token file not found"),
    ("", "the control token is empty"),
    ("  \n\n", "the control token is empty"),
    ("one\ntwo\n", "must be a single line"),
    ("one two", "must not contain spaces"),
])
def test_bad_token_file(tmp_path: Path, content: str | None, message: str) -> None:
    f = tmp_path / "token.txt"
    if content is not None:
        f.write_text(content)
    for fn in (load_or_create_token, find_token):
        with pytest.raises(InvalidInputError, match=message) as e:
            fn(tmp_path / "state", str(f))
        assert str(e.value).startswith(str(f))
    assert not (tmp_path / "state").exists()


def test_token_file_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=f"^{tmp_path}: cannot read the control token"):
        load_or_create_token(tmp_path / "state", tmp_path)


def test_find_token_without_a_node(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=f"{tmp_path / TOKEN_FILE}: control token file not found"):
        find_token(tmp_path)


def test_state_dir_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(InvalidInputError, match="the state folder is not a folder"):
        load_or_create_token(f)
    with pytest.raises(InvalidInputError, match="the state folder is not a folder"):
        write_endpoint(f, "127.0.0.1", 1, 1)


# --- the endpoint file ---


def test_endpoint_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with pytest.raises(InvalidInputError, match=f"^no running node found in {state} \\(control.json missing\\)$"):
        read_endpoint(state)
    path = write_endpoint(state, "127.0.0.1", 8765, os.getpid())
    assert path == state / ENDPOINT_FILE
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:8765", "pid": os.getpid()}
    assert read_endpoint(state) == "http://127.0.0.1:8765"
    write_endpoint(state, "::1", 9000, 7)
    assert read_endpoint(state) == "http://[::1]:9000"
    assert sorted(p.name for p in state.iterdir()) == [ENDPOINT_FILE]
    remove_endpoint(state)
    assert not path.exists()
    remove_endpoint(state)  # absent: nothing happens


@pytest.mark.parametrize("content", ["{", "[]", '{"pid": 1}', '{"url": "ftp://x"}'])
def test_bad_endpoint_file(tmp_path: Path, content: str) -> None:
    (tmp_path / ENDPOINT_FILE).write_text(content)
    with pytest.raises(InvalidInputError, match=f"^{tmp_path / ENDPOINT_FILE}: "):
        read_endpoint(tmp_path)

