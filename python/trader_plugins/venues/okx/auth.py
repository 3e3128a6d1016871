"""OKX v5 request signing: the REST headers, the private WebSocket's login message, and the
server's check of both (for trader's local exchange). OKX API keys have a passphrase besides the
secret: :class:`Credentials` must carry one.

REST (OKX v5, "REST Authentication"): a signed request carries ``OK-ACCESS-KEY``,
``OK-ACCESS-SIGN``, ``OK-ACCESS-TIMESTAMP`` (ISO-8601 UTC with milliseconds,
``2020-12-08T09:08:57.715Z``) and ``OK-ACCESS-PASSPHRASE``. The signature is the base64
HMAC-SHA256 of ``timestamp + METHOD + requestPath + body``: the method in upper case, the
request path with its query string for a GET (``/api/v5/account/balance?ccy=BTC``: "GET request
parameters are counted as requestPath, not body"), the body as the JSON text sent (empty when
there is none). A request more than 30 seconds from its timestamp is refused as expired.

:func:`signed_payload` returns the path (with its query string), the body and the headers
together: the HTTP client sends those very strings, so what was signed is what goes out.

WebSocket login: ``{"op": "login", "args": [{"apiKey", "passphrase", "timestamp", "sign"}]}``,
``timestamp`` in Unix epoch seconds (a string) and ``sign`` the base64 HMAC-SHA256 of
``timestamp + "GET" + "/users/self/verify"``; the login expires 30 seconds after its timestamp.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from trader.exceptions import InvalidInputError

from ..common import auth as _common
from ..common.auth import (Credentials, RedactingFilter, credentials_arg, header, int_arg, method_arg,
                           raw_args, request_parts, same)

__all__ = ["MAX_AGE_MS", "LOGGERS", "SIGNATURES", "timestamp_iso", "parse_timestamp_iso", "prehash",
           "signed_payload", "verify", "ws_login_message", "verify_ws_login", "install_redaction", "Credentials"]

#: How far a request's timestamp may be from the server's clock (ms), either way: 30 s.
MAX_AGE_MS = 30_000
#: How old a WebSocket login may be (s): it expires 30 s after its timestamp.
WS_MAX_AGE_S = 30
#: The path the WebSocket login signs.
WS_VERIFY_PATH = "/users/self/verify"

#: The adapter's loggers (the redacting filter goes on each).
LOGGERS = tuple(f"trader_plugins.venues.okx{m}" for m in
                ("", ".auth", ".http", ".ws", ".data", ".execution", ".orders", ".plugin"))

#: What the redacting filter blanks besides the secret, the passphrase and the key: any base64
#: HMAC-SHA256 (43 base64 digits and ``=``), in ``OK-ACCESS-SIGN`` or the login's ``sign``.
SIGNATURES = (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=])"),)

_VENUE = "okx"
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z")





def timestamp_iso(ms: int) -> str:
    """``ms`` (Unix epoch milliseconds) as OKX's ``OK-ACCESS-TIMESTAMP``: ISO-8601 UTC with
    milliseconds, ``2020-12-08T09:08:57.715Z`` (integer arithmetic: no rounding at the edge)."""
    ms = int_arg(f"{_VENUE}: timestamp_ms", ms)
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def parse_timestamp_iso(text: str) -> int:
    """An ``OK-ACCESS-TIMESTAMP`` (``2020-12-08T09:08:57.715Z``) as Unix epoch milliseconds; any
    other form raises :class:`~trader.exceptions.InvalidInputError`."""
    m = _ISO.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        shown = text[:40] if isinstance(text, str) else type(text).__name__
        raise InvalidInputError(f"{_VENUE}: header OK-ACCESS-TIMESTAMP: must be ISO-8601 UTC with milliseconds "
                                f"(2020-12-08T09:08:57.715Z), got {shown!r}")
    y, mo, d, h, mi, s, ms = (int(g) for g in m.groups())
    try:
        dt = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        raise InvalidInputError(f"{_VENUE}: header OK-ACCESS-TIMESTAMP: not a date: {text!r}") from None
    return int(dt.timestamp()) * 1000 + ms


def prehash(timestamp: str, method: str, request_path: str, body: str) -> str:
    """The string OKX v5 signs: ``timestamp + METHOD + requestPath + body``."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def signed_payload(credentials: Credentials, method: str, request_path: str, *,
                   query: str | Mapping[str, Any] | None = None,
                   body: str | Mapping[str, Any] | list[Any] | None = None,
                   timestamp_ms: int | None = None) -> tuple[str, str, dict[str, str]]:
    """The request path to send (with ``?`` and the query string of a GET), the body and the
    headers of a signed request.

    ``request_path`` is the endpoint's path (``/api/v5/account/balance``, no query string). A GET
    signs its path with ``query`` (an encoded str, sent as is, or a mapping encoded here) and has
    no body; a POST signs its JSON body (``body``: JSON text, sent as is, or a mapping/list written
    here as compact JSON; empty for none) and has no query string. ``timestamp_ms`` defaults to the
    wall clock. The headers also carry ``Content-Type: application/json``, as OKX asks of every
    request."""
    cred = credentials_arg(_VENUE, credentials, passphrase=True)
    m = method_arg(_VENUE, method)
    if not isinstance(request_path, str) or not request_path.startswith("/") or "?" in request_path:
        raise InvalidInputError(f"{_VENUE}: request_path: must be a str starting with / and without a query "
                                f"string (pass query=), got {request_path!r}")
    q, b = request_parts(_VENUE, m, query, body)
    ts = timestamp_iso(_common.now_ms() if timestamp_ms is None else int_arg(f"{_VENUE}: timestamp_ms", timestamp_ms))
    path = f"{request_path}?{q}" if q else request_path
    assert cred.passphrase is not None
    headers = {
        "OK-ACCESS-KEY": cred.api_key,
        "OK-ACCESS-SIGN": cred.sign_base64(prehash(ts, m, path, b)),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": cred.passphrase,
        "Content-Type": "application/json",
    }
    return path, b, headers


def verify(credentials: Credentials, method: str, headers: Mapping[str, str], raw_path: str, raw_body: str,
           *, now_ms: int | None = None) -> bool:
    """The server's check of a signed REST request, from its headers, its raw path (with ``?`` and
    the query string as received) and its raw body: the key and passphrase are ``credentials``'
    (the passphrase compared in constant time), the timestamp within 30 s of ``now_ms`` (the wall
    clock by default) and ``OK-ACCESS-SIGN`` the HMAC of what was received. A missing or
    malformed header, or a non-str path or body, raises
    :class:`~trader.exceptions.InvalidInputError` naming it; a wrong key or passphrase, an expired
    timestamp or a wrong signature returns False."""
    cred = credentials_arg(_VENUE, credentials, passphrase=True)
    m = method_arg(_VENUE, method)
    raw_args(_VENUE, raw_path=raw_path, raw_body=raw_body)
    key = header(_VENUE, headers, "OK-ACCESS-KEY")
    sig = header(_VENUE, headers, "OK-ACCESS-SIGN")
    ts_text = header(_VENUE, headers, "OK-ACCESS-TIMESTAMP")
    passphrase = header(_VENUE, headers, "OK-ACCESS-PASSPHRASE")
    ts = parse_timestamp_iso(ts_text)
    now = _common.now_ms() if now_ms is None else int_arg(f"{_VENUE}: now_ms", now_ms)
    assert cred.passphrase is not None
    if not same(key, cred.api_key) or not same(passphrase, cred.passphrase):
        return False
    if abs(now - ts) > MAX_AGE_MS:
        return False
    return same(sig, cred.sign_base64(prehash(ts_text, m, raw_path, raw_body)))


def ws_login_message(credentials: Credentials, *, timestamp_s: int | None = None) -> dict[str, Any]:
    """The private WebSocket's login message, ``{"op": "login", "args": [{"apiKey", "passphrase",
    "timestamp", "sign"}]}``; ``timestamp_s`` (Unix epoch seconds, sent as a string) defaults to
    the wall clock."""
    cred = credentials_arg(_VENUE, credentials, passphrase=True)
    ts = str(int(time.time()) if timestamp_s is None else int_arg(f"{_VENUE}: timestamp_s", timestamp_s))
    return {"op": "login", "args": [{"apiKey": cred.api_key, "passphrase": cred.passphrase, "timestamp": ts,
                                     "sign": cred.sign_base64(prehash(ts, "GET", WS_VERIFY_PATH, ""))}]}


def verify_ws_login(credentials: Credentials, message: str | bytes | Mapping[str, Any], *,
                    now_s: int | None = None) -> bool:
    """The server's check of a login message (its JSON text or the parsed object): key and
    passphrase are ``credentials``', the timestamp (epoch seconds: a digit string, or an int as
    python-okx sends it) at most 30 s older than ``now_s`` (the wall clock by default) and not
    ahead of it by more than that, and ``sign`` the HMAC of that timestamp as sent. A message of
    another shape raises :class:`~trader.exceptions.InvalidInputError`; an expired one, or a wrong
    key, passphrase or signature, returns False."""
    cred = credentials_arg(_VENUE, credentials, passphrase=True)
    msg = _common.message_dict(_VENUE, message)
    if msg.get("op") != "login":
        raise InvalidInputError(f"{_VENUE}: login message: op must be 'login', got {msg.get('op')!r}")
    args = msg.get("args")
    if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], Mapping):
        raise InvalidInputError(f"{_VENUE}: login message: args must be one object")
    arg = args[0]
    for name in ("apiKey", "passphrase", "sign"):
        if not isinstance(arg.get(name), str):
            raise InvalidInputError(f"{_VENUE}: login message: {name}: must be a string")
    raw_ts = arg.get("timestamp")
    if isinstance(raw_ts, int) and not isinstance(raw_ts, bool) and raw_ts >= 0:
        ts_text = str(raw_ts)
    elif isinstance(raw_ts, str) and raw_ts.isascii() and raw_ts.isdigit():
        ts_text = raw_ts
    else:
        raise InvalidInputError(f"{_VENUE}: login message: timestamp: must be Unix epoch seconds, got {raw_ts!r}")
    now = int(time.time()) if now_s is None else int_arg(f"{_VENUE}: now_s", now_s)
    assert cred.passphrase is not None
    if not same(arg["apiKey"], cred.api_key) or not same(arg["passphrase"], cred.passphrase):
        return False
    if abs(now - int(ts_text)) > WS_MAX_AGE_S:
        return False
    return same(arg["sign"], cred.sign_base64(prehash(ts_text, "GET", WS_VERIFY_PATH, "")))


def install_redaction(credentials: Credentials, loggers: Iterable[str] = LOGGERS) -> RedactingFilter:
    """Install (or extend) the redacting filter for ``credentials`` (secret, passphrase, key) and
    OKX's signatures on ``loggers`` (the adapter's, by default); returns the filter."""
    return _common.install_redaction(credentials, loggers, SIGNATURES)
