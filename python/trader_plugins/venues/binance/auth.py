"""Binance credentials and request signing.

A signed request is HMAC-SHA256 (hex) of its *total params*: the query string concatenated with
the body, exactly as sent. :func:`encode` encodes the parameters once (in the caller's order,
every byte outside ``A-Za-z0-9-._~`` percent-encoded, so unicode, spaces, ``&``, ``=`` and ``%``
cannot change meaning on the way) and :func:`signed_payload` signs those very bytes: the HTTP
client sends the string it signed and nothing else (see :mod:`.http`), so a bad signature cannot
come from the adapter.

The secret never leaves :class:`Credentials`: its ``repr``/``str`` hide it, errors are built
without it or any signature, and :class:`RedactingFilter` (installed on the adapter's loggers by
:func:`install_redaction`) blanks both from every log record.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from trader.exceptions import InvalidInputError

__all__ = ["sign", "verify", "encode", "signed_payload", "Credentials", "RedactingFilter", "install_redaction",
           "LOGGERS"]

#: The adapter's loggers (the redacting filter goes on each).
LOGGERS = tuple(f"trader_plugins.venues.binance{m}" for m in
                ("", ".auth", ".http", ".ws", ".data", ".execution", ".orders", ".plugin"))

_SIGNATURE = re.compile(r"(signature=)[0-9A-Fa-f]{16,}")
_HIDDEN = "<hidden>"


def sign(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with ``secret``, as lowercase hex (Binance's HMAC keys)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def encode(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``params`` as a query string, in their order, None values left out; keys and values
    percent-encoded (RFC 3986 unreserved characters kept, a space is ``%20``), booleans as
    ``true``/``false``."""
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{quote(str(k), safe='')}={quote(_text(v), safe='')}" for k, v in items if v is not None)


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


def _mask(key: str) -> str:
    return f"{key[:4]}…{key[-10:]}" if len(key) > 16 else "…"


class Credentials:
    """An API key and its secret (HMAC). ``repr`` and ``str`` show a masked key and never the
    secret: ``Credentials(api_key='vmPU…Ju91duEh8A', secret=<hidden>)``."""

    __slots__ = ("api_key", "_secret")

    def __init__(self, api_key: str, secret: str) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise InvalidInputError("credentials: api_key: must be a non-empty string")
        if not isinstance(secret, str) or not secret.strip():
            raise InvalidInputError("credentials: secret: must be a non-empty string")
        self.api_key = api_key.strip()
        self._secret = secret.strip()

    @property
    def secret(self) -> str:
        """The secret (for signing; never print it)."""
        return self._secret

    def sign(self, payload: str) -> str:
        """The hex HMAC-SHA256 of ``payload`` with this secret."""
        return sign(self._secret, payload)

    def __repr__(self) -> str:
        return f"Credentials(api_key={_mask(self.api_key)!r}, secret={_HIDDEN})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # no pickling of the secret into a checkpoint or a queue
        raise TypeError("Credentials cannot be pickled")

    def redact(self, text: str) -> str:
        """``text`` with the secret, the key and any ``signature=...`` blanked."""
        return redact(text, (self._secret, self.api_key))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """From ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET``."""
        env = os.environ if env is None else env
        key, secret = env.get("BINANCE_API_KEY"), env.get("BINANCE_API_SECRET")
        missing = [n for n, v in (("BINANCE_API_KEY", key), ("BINANCE_API_SECRET", secret)) if not v]
        if missing:
            raise InvalidInputError(f"credentials: environment variable {' and '.join(missing)} not set")
        assert key is not None and secret is not None
        return cls(key, secret)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credentials:
        """From a TOML file with ``api_key`` and ``secret`` (or ``api_secret``), which only its
        owner may read (mode 0600 or 0400): anything else is refused, naming the file."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError as e:
            raise InvalidInputError(f"credentials file {str(p)!r}: cannot read it ({e.strerror})") from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InvalidInputError(f"credentials file {str(p)!r}: readable by group or others (mode "
                                    f"{stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
        try:
            doc = tomllib.loads(p.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            # the parser's message may quote the line, i.e. the secret: name the line only
            line = getattr(e, "lineno", None)
            raise InvalidInputError(f"credentials file {str(p)!r}: not valid TOML"
                                    + (f" (line {line})" if line else "")) from None
        key, secret = doc.get("api_key"), doc.get("secret", doc.get("api_secret"))
        if not isinstance(key, str) or not isinstance(secret, str):
            raise InvalidInputError(f"credentials file {str(p)!r}: needs string keys api_key and secret")
        return cls(key, secret)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` and every ``signature=<hex>`` replaced by ``<hidden>``."""
    for s in secrets:
        if s:
            text = text.replace(s, _HIDDEN)
    return _SIGNATURE.sub(r"\1" + _HIDDEN, text)


class RedactingFilter(logging.Filter):
    """A logging filter that formats each record's message, blanks the secrets and signatures in
    it (and in its exception text), and lets it through."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg, self.secrets)
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets)
            record.exc_info = None
        return True


def install_redaction(credentials: Credentials, loggers: Iterable[str] = LOGGERS) -> RedactingFilter:
    """Install (or extend) the redacting filter for ``credentials`` on ``loggers`` and on their
    handlers; returns the filter."""
    out: RedactingFilter | None = None
    for name in loggers:
        lg = logging.getLogger(name)
        f = next((f for f in lg.filters if isinstance(f, RedactingFilter)), None)
        if f is None:
            f = RedactingFilter()
            lg.addFilter(f)
        f.secrets |= {credentials.secret, credentials.api_key}
        out = f
    assert out is not None
    return out
