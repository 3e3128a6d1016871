"""Binance credentials and request signing.

A signed request is HMAC-SHA256 (hex) of its *total params*: the query string concatenated with
the body, exactly as sent. :func:`encode` encodes the parameters once (in the caller's order,
every byte outside ``A-Za-z0-9-._~`` percent-encoded, so unicode, spaces, ``&``, ``=`` and ``%``
cannot change meaning on the way) and :func:`signed_payload` signs those very bytes: the HTTP
client sends the string it signed and nothing else (see :mod:`.http`), so a bad signature cannot
come from the adapter.

The secret never leaves :class:`Credentials`: its ``repr``/``str`` hide it, errors are built
without it or any signature, and :class:`RedactingFilter` (installed on the adapter's loggers by
:func:`install_redaction`) blanks both from every log record. Those three, and the HMAC itself,
are shared by every venue and live in :mod:`trader_plugins.venues.common.auth`; this module keeps
Binance's own: the ``signature=`` parameter, where it goes, and the loggers to guard.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..common import auth as _common
from ..common.auth import Credentials, RedactingFilter, encode_query

__all__ = ["sign", "verify", "encode", "signed_payload", "Credentials", "RedactingFilter", "install_redaction",
           "LOGGERS"]

#: The adapter's loggers (the redacting filter goes on each).
LOGGERS = tuple(f"trader_plugins.venues.binance{m}" for m in
                ("", ".auth", ".http", ".ws", ".data", ".execution", ".orders", ".plugin"))

#: What the redacting filter blanks besides the secret and the key: ``signature=<hex>``.
SIGNATURES = (re.compile(r"(signature=)[0-9A-Fa-f]{16,}"),)


def sign(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with ``secret``, as lowercase hex (Binance's HMAC keys)."""
    return _common.hmac_sha256_hex(secret, payload)


def encode(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``params`` as a query string, in their order, None values left out; keys and values
    percent-encoded (RFC 3986 unreserved characters kept, a space is ``%20``), booleans as
    ``true``/``false`` (:func:`~trader_plugins.venues.common.auth.encode_query`)."""
    return encode_query(params)


def signed_payload(secret: str, query: str, body: str) -> tuple[str, str]:
    """The query string and body to send: the signature of ``query + body`` appended to the body
    when there is one, else to the query string."""
    sig = sign(secret, query + body)
    if body:
        return query, f"{body}&signature={sig}"
    return (f"{query}&signature={sig}" if query else f"signature={sig}"), body


def verify(secret: str, raw_query: str, raw_body: str) -> bool:
    """The server's check: strip ``signature=`` from the raw query string or body as received and
    compare it with the HMAC of the rest (query string then body)."""
    sig = None
    parts: list[str] = []
    for raw in (raw_query, raw_body):
        kept = []
        for p in raw.split("&") if raw else []:
            if p.startswith("signature="):
                sig = p[len("signature="):]
            else:
                kept.append(p)
        parts.append("&".join(kept))
    if sig is None:
        return False
    return hmac.compare_digest(sign(secret, parts[0] + parts[1]), sig)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` and every ``signature=<hex>`` replaced by ``<hidden>``."""
    return _common.redact(text, secrets, SIGNATURES)


def install_redaction(credentials: Credentials, loggers: Iterable[str] = LOGGERS) -> RedactingFilter:
    """Install (or extend) the redacting filter for ``credentials`` and Binance's signatures on
    ``loggers`` (the adapter's, by default); returns the filter."""
    return _common.install_redaction(credentials, loggers, SIGNATURES)
