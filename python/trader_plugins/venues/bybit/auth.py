"""Bybit v5 request signing (HMAC keys): the REST headers, the private WebSocket's auth message, and
the server's check of both (for trader's local exchange).

REST (Bybit v5, "Integration Guidance: authentication"): a signed request carries
``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (UTC, milliseconds), ``X-BAPI-RECV-WINDOW`` (milliseconds,
5000 unless told) and ``X-BAPI-SIGN``, the lowercase hex HMAC-SHA256 of
``timestamp + api_key + recv_window + payload``, where the payload is the query string of a GET and
the JSON body of a POST, byte for byte as sent. The server takes the request when
``server_time - recv_window <= timestamp < server_time + 1000``.

:func:`signed_payload` returns the query string, the body and the headers together: the HTTP client
sends that very string (a mapping is encoded once, here: the query string by
:func:`~trader_plugins.venues.common.auth.encode_query`, the body as compact JSON), so what was
signed is what goes out.

WebSocket (private streams): ``{"op": "auth", "args": [api_key, expires, signature]}``, ``expires``
in milliseconds and the signature the hex HMAC-SHA256 of ``"GET/realtime" + str(expires)``; the
server refuses it once ``expires`` has passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from trader.exceptions import InvalidInputError

from ..common import auth as _common
from ..common.auth import (Credentials, RedactingFilter, credentials_arg, header, int_arg, method_arg,
                           raw_args, request_parts, same)

__all__ = ["RECV_WINDOW", "LOGGERS", "SIGNATURES", "prehash", "signed_payload", "verify", "ws_auth_message",
           "verify_ws_auth", "install_redaction", "Credentials"]

#: The receive window sent when none is given (ms), Bybit's default.
RECV_WINDOW = 5000
#: How far ahead of the server's clock a timestamp may be (ms): ``timestamp < server_time + 1000``.
AHEAD_MS = 1000
#: How long a WebSocket auth message made without an explicit expiry stays valid (ms).
WS_TTL_MS = 1000

#: The adapter's loggers (the redacting filter goes on each).
LOGGERS = tuple(f"trader_plugins.venues.bybit{m}" for m in
                ("", ".auth", ".http", ".ws", ".data", ".execution", ".orders", ".plugin"))

#: What the redacting filter blanks besides the secret and the key: any 64-digit hex run (an
#: HMAC-SHA256 in hex, in ``X-BAPI-SIGN`` or the auth message's args).
SIGNATURES = (re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{64}(?![0-9A-Za-z])"),)

_VENUE = "bybit"





def prehash(timestamp_ms: int, api_key: str, recv_window: int, payload: str) -> str:
    """The string Bybit v5 signs: ``timestamp + api_key + recv_window + payload``."""
    return f"{timestamp_ms}{api_key}{recv_window}{payload}"


def signed_payload(credentials: Credentials, method: str, *, query: str | Mapping[str, Any] | None = None,
                   body: str | Mapping[str, Any] | list[Any] | None = None, timestamp_ms: int | None = None,
                   recv_window: int = RECV_WINDOW) -> tuple[str, str, dict[str, str]]:
    """The query string, the body and the headers of a signed request.

    A GET signs its query string (``query``: an encoded str, sent as is, or a mapping encoded here)
    and has no body; a POST signs its JSON body (``body``: JSON text, sent as is, or a mapping/list
    written here as compact JSON) and has no query string. ``timestamp_ms`` defaults to the wall
    clock. A POST's headers also carry ``Content-Type: application/json``."""
    cred = credentials_arg(_VENUE, credentials)
    m = method_arg(_VENUE, method)
    q, b = request_parts(_VENUE, m, query, body)
    ts = _common.now_ms() if timestamp_ms is None else int_arg(f"{_VENUE}: timestamp_ms", timestamp_ms, 1)
    window = int_arg(f"{_VENUE}: recv_window", recv_window, 1)
    headers = {
        "X-BAPI-API-KEY": cred.api_key,
        "X-BAPI-TIMESTAMP": str(ts),
        "X-BAPI-RECV-WINDOW": str(window),
        "X-BAPI-SIGN": cred.sign(prehash(ts, cred.api_key, window, q if m == "GET" else b)),
    }
    if m == "POST":
        headers["Content-Type"] = "application/json"
    return q, b, headers


def _digits(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise InvalidInputError(f"{_VENUE}: header {name}: must be an integer (ms), got {value[:32]!r}")
    return int(value)


def verify(credentials: Credentials, method: str, headers: Mapping[str, str], raw_query: str, raw_body: str,
           *, now_ms: int | None = None) -> bool:
    """The server's check of a signed REST request, from its headers and its raw query string and
    body as received: the key is ``credentials``', the timestamp within
    ``[now - recv_window, now + 1000)`` and ``X-BAPI-SIGN`` the HMAC of what was received
    (compared in constant time). A missing or malformed header, or a non-str query or body,
    raises :class:`~trader.exceptions.InvalidInputError` naming it; a wrong key, a stale
    timestamp or a wrong signature returns False."""
    cred = credentials_arg(_VENUE, credentials)
    m = method_arg(_VENUE, method)
    raw_args(_VENUE, raw_query=raw_query, raw_body=raw_body)
    key = header(_VENUE, headers, "X-BAPI-API-KEY")
    ts_text = header(_VENUE, headers, "X-BAPI-TIMESTAMP")
    window_text = header(_VENUE, headers, "X-BAPI-RECV-WINDOW")
    sig = header(_VENUE, headers, "X-BAPI-SIGN")
    ts = _digits("X-BAPI-TIMESTAMP", ts_text)
    window = _digits("X-BAPI-RECV-WINDOW", window_text)
    now = _common.now_ms() if now_ms is None else int_arg(f"{_VENUE}: now_ms", now_ms)
    if not same(key, cred.api_key):
        return False
    if not now - window <= ts < now + AHEAD_MS:
        return False
    # the pre-hash is built from the header texts as received, as the server sees them
    expected = cred.sign(f"{ts_text}{key}{window_text}{raw_query if m == 'GET' else raw_body}")
    return same(sig, expected)


def ws_auth_message(credentials: Credentials, *, expires_ms: int | None = None) -> dict[str, Any]:
    """The private WebSocket's auth message, ``{"op": "auth", "args": [api_key, expires, sig]}``;
    ``expires_ms`` defaults to the wall clock plus one second."""
    cred = credentials_arg(_VENUE, credentials)
    expires = _common.now_ms() + WS_TTL_MS if expires_ms is None else int_arg(f"{_VENUE}: expires_ms", expires_ms, 1)
    return {"op": "auth", "args": [cred.api_key, expires, cred.sign(f"GET/realtime{expires}")]}


def verify_ws_auth(credentials: Credentials, message: str | bytes | Mapping[str, Any], *,
                   now_ms: int | None = None) -> bool:
    """The server's check of an auth message (its JSON text or the parsed object): the key is
    ``credentials``', ``expires`` is still ahead of ``now_ms`` (the wall clock by default) and the
    signature matches. A message of another shape raises
    :class:`~trader.exceptions.InvalidInputError`; an expired one, or a wrong key or signature,
    returns False."""
    cred = credentials_arg(_VENUE, credentials)
    msg = _common.message_dict(_VENUE, message)
    if msg.get("op") != "auth":
        raise InvalidInputError(f"{_VENUE}: auth message: op must be 'auth', got {msg.get('op')!r}")
    args = msg.get("args")
    if (not isinstance(args, list) or len(args) != 3 or not isinstance(args[0], str)
            or not isinstance(args[2], str)):
        raise InvalidInputError(f"{_VENUE}: auth message: args must be [api_key, expires, signature]")
    key, expires, sig = args
    expires = int_arg(f"{_VENUE}: auth message: expires", expires)
    now = _common.now_ms() if now_ms is None else int_arg(f"{_VENUE}: now_ms", now_ms)
    if not same(key, cred.api_key) or expires <= now:
        return False
    return same(sig, cred.sign(f"GET/realtime{expires}"))


def install_redaction(credentials: Credentials, loggers: Iterable[str] = LOGGERS) -> RedactingFilter:
    """Install (or extend) the redacting filter for ``credentials`` and Bybit's signatures on
    ``loggers`` (the adapter's, by default); returns the filter."""
    return _common.install_redaction(credentials, loggers, SIGNATURES)
