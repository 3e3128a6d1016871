"""Credentials, HMAC-SHA256 and log redaction: the part of request signing every venue shares.

Each venue signs with HMAC-SHA256 keyed with its API secret and differs only in what it signs and
how it writes the digest: Binance and Bybit v5 send it as lowercase hex, OKX v5 as base64. So this
module holds :func:`hmac_sha256_hex`, :func:`hmac_sha256_base64`, the query-string encoder
(:func:`encode_query`: every byte outside RFC 3986's unreserved set percent-encoded, so a signed
query string cannot change meaning on the way) and the helpers a venue's server-side check uses; a
venue's ``auth`` module holds only its own pre-hash string, headers and messages.

The secret (and the passphrase OKX keys also have) never leaves :class:`Credentials`: its
``repr``/``str`` hide both, errors are built without them or any signature, and
:class:`RedactingFilter` (installed by :func:`install_redaction` on a venue's loggers, with that
venue's signature patterns) blanks them from every log record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import stat
import time
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from trader.exceptions import InvalidInputError

__all__ = ["HIDDEN", "hmac_sha256_hex", "hmac_sha256_base64", "encode_query", "json_text", "payload_text",
           "header", "message_dict", "int_arg", "same", "Credentials", "redact", "RedactingFilter", "install_redaction"]

#: What a secret, a passphrase or a signature is replaced with.
HIDDEN = "<hidden>"

_PREFIX = re.compile(r"[A-Z][A-Z0-9_]*")


def _str_arg(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{where}: must be a str, got {type(value).__name__}")
    return value


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` (UTF-8) keyed with ``secret`` (UTF-8), as lowercase hex: the
    signature of Binance and of Bybit v5 (``X-BAPI-SIGN``)."""
    key = _str_arg("hmac: secret", secret).encode()
    return hmac.new(key, _str_arg("hmac: payload", payload).encode(), hashlib.sha256).hexdigest()


def hmac_sha256_base64(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` (UTF-8) keyed with ``secret`` (UTF-8), base64-encoded (standard
    alphabet, padded): the signature of OKX v5 (``OK-ACCESS-SIGN``, the WebSocket login's
    ``sign``)."""
    key = _str_arg("hmac: secret", secret).encode()
    digest = hmac.new(key, _str_arg("hmac: payload", payload).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def encode_query(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``params`` as a query string, in their order, None values left out; keys and values
    percent-encoded (RFC 3986 unreserved characters kept, a space is ``%20``), booleans as
    ``true``/``false``."""
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{quote(str(k), safe='')}={quote(_text(v), safe='')}" for k, v in items if v is not None)


def json_text(value: Mapping[str, Any] | list[Any]) -> str:
    """``value`` as the JSON text of a request body: compact (no spaces after ``,`` and ``:``), keys
    in the caller's order, non-ASCII characters escaped (``\\uXXXX``), so the text is the same in
    any encoding the HTTP client might pick."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"body: cannot be written as JSON ({e})") from None


def payload_text(venue: str, what: str, value: Any) -> str:
    """The query string or body to sign and send: ``value`` itself when it is a str (sent as is),
    else the encoding of a mapping (:func:`encode_query` for ``what == "query"``,
    :func:`json_text` for ``"body"``); None is empty. Anything else raises
    :class:`~trader.exceptions.InvalidInputError` naming ``what``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) or (what == "body" and isinstance(value, list)):
        return encode_query(value) if what == "query" else json_text(value)
    kinds = "a str or a mapping" if what == "query" else "a str (JSON text), a mapping or a list"
    raise InvalidInputError(f"{venue}: {what}: must be {kinds}, got {type(value).__name__}")


def header(venue: str, headers: Mapping[str, str], name: str) -> str:
    """The value of header ``name`` in ``headers`` (a plain mapping or aiohttp's case-insensitive
    one), matched case-insensitively as HTTP does; a missing or non-str header raises
    :class:`~trader.exceptions.InvalidInputError` naming it."""
    if not isinstance(headers, Mapping):
        raise InvalidInputError(f"{venue}: headers: must be a mapping, got {type(headers).__name__}")
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == lower), None)
    if value is None:
        raise InvalidInputError(f"{venue}: header {name} missing")
    if not isinstance(value, str):
        raise InvalidInputError(f"{venue}: header {name}: must be a str, got {type(value).__name__}")
    return value


def message_dict(venue: str, message: Any) -> dict[str, Any]:
    """A WebSocket message as received (its JSON text, or already parsed) as a dict; anything else
    raises :class:`~trader.exceptions.InvalidInputError`."""
    if isinstance(message, str | bytes):
        try:
            message = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError(f"{venue}: message: not valid JSON") from None
    if not isinstance(message, Mapping):
        raise InvalidInputError(f"{venue}: message: must be a JSON object, got {type(message).__name__}")
    return dict(message)


def int_arg(where: str, value: Any, minimum: int = 0) -> int:
    """``value`` when it is an int (not a bool) ``>= minimum``; else
    :class:`~trader.exceptions.InvalidInputError` naming ``where``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"{where}: must be an int, got {type(value).__name__}")
    if value < minimum:
        raise InvalidInputError(f"{where}: must be >= {minimum}, got {value}")
    return value


def same(received: str, expected: str) -> bool:
    """Whether ``received`` (a signature or passphrase from the wire) equals ``expected``, compared
    in constant time (:func:`hmac.compare_digest`, on the UTF-8 bytes so any text compares)."""
    return hmac.compare_digest(received.encode(), expected.encode())


def now_ms() -> int:
    """The wall clock in Unix epoch milliseconds (the venues' request timestamps)."""
    return time.time_ns() // 1_000_000


def credentials_arg(venue: str, credentials: Any, *, passphrase: bool = False) -> Credentials:
    """``credentials`` checked: a :class:`Credentials`, with a passphrase when the venue's keys have
    one (``passphrase``); else :class:`~trader.exceptions.InvalidInputError` naming the venue."""
    if not isinstance(credentials, Credentials):
        raise InvalidInputError(f"{venue}: credentials: must be a Credentials, got {type(credentials).__name__}")
    if passphrase and credentials.passphrase is None:
        raise InvalidInputError(f"{venue}: credentials: passphrase: required ({venue} API keys have one)")
    return credentials


def method_arg(venue: str, method: Any) -> str:
    """``method`` upper-cased, GET or POST (the only ones the v5 APIs sign)."""
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        raise InvalidInputError(f"{venue}: method: must be GET or POST ({venue} v5 has no other), got {method!r}")
    return method.upper()


def request_parts(venue: str, method: str, query: Any, body: Any) -> tuple[str, str]:
    """The query string and JSON body of a v5 request (:func:`payload_text` each): a GET has no
    body and a POST no query string (Bybit and OKX sign one or the other)."""
    q, b = payload_text(venue, "query", query), payload_text(venue, "body", body)
    if method == "GET" and b:
        raise InvalidInputError(f"{venue}: body: a GET has none (its parameters go in the query string)")
    if method == "POST" and q:
        raise InvalidInputError(f"{venue}: query: a POST has none (its parameters go in the JSON body)")
    return q, b


def raw_args(venue: str, **raw: Any) -> None:
    """The server's raw request parts (query string, path, body) as received: each must be a str."""
    for name, value in raw.items():
        if not isinstance(value, str):
            raise InvalidInputError(f"{venue}: {name}: must be a str, got {type(value).__name__}")


def _mask(key: str) -> str:
    return f"{key[:4]}…{key[-10:]}" if len(key) > 16 else "…"


class Credentials:
    """An API key, its secret (HMAC) and, for venues whose keys have one (OKX), its passphrase.
    ``repr`` and ``str`` show a masked key and never the secret or the passphrase:
    ``Credentials(api_key='vmPU…Ju91duEh8A', secret=<hidden>)`` (``, passphrase=<hidden>`` added
    when there is one)."""

    __slots__ = ("api_key", "_secret", "_passphrase")

    def __init__(self, api_key: str, secret: str, passphrase: str | None = None) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise InvalidInputError("credentials: api_key: must be a non-empty string")
        if not isinstance(secret, str) or not secret.strip():
            raise InvalidInputError("credentials: secret: must be a non-empty string")
        if passphrase is not None and (not isinstance(passphrase, str) or not passphrase.strip()):
            raise InvalidInputError("credentials: passphrase: must be a non-empty string or None, got "
                                    + ("an empty string" if isinstance(passphrase, str) else type(passphrase).__name__))
        self.api_key = api_key.strip()
        self._secret = secret.strip()
        self._passphrase = passphrase

    @property
    def secret(self) -> str:
        """The secret (for signing; never print it)."""
        return self._secret

    @property
    def passphrase(self) -> str | None:
        """The passphrase set when the key was made (OKX), or None (never print it)."""
        return self._passphrase

    def sign(self, payload: str) -> str:
        """The hex HMAC-SHA256 of ``payload`` with this secret."""
        return hmac_sha256_hex(self._secret, payload)

    def sign_base64(self, payload: str) -> str:
        """The base64 HMAC-SHA256 of ``payload`` with this secret."""
        return hmac_sha256_base64(self._secret, payload)

    def __repr__(self) -> str:
        extra = f", passphrase={HIDDEN}" if self._passphrase is not None else ""
        return f"Credentials(api_key={_mask(self.api_key)!r}, secret={HIDDEN}{extra})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # no pickling of the secret into a checkpoint or a queue
        raise TypeError("Credentials cannot be pickled")

    def hidden(self) -> tuple[str, ...]:
        """The values a log must never show: the secret, the passphrase (if any) and the key."""
        return tuple(s for s in (self._secret, self._passphrase, self.api_key) if s)

    def redact(self, text: str, patterns: Iterable[re.Pattern[str]] = ()) -> str:
        """``text`` with the secret, the passphrase, the key and whatever ``patterns`` match (a
        venue's signature patterns, see :func:`redact`) blanked."""
        return redact(text, self.hidden(), patterns)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, prefix: str = "BINANCE",
                 need_passphrase: bool = False) -> Credentials:
        """From ``<prefix>_API_KEY``, ``<prefix>_API_SECRET`` and, when set (required with
        ``need_passphrase``), ``<prefix>_API_PASSPHRASE``. The prefix defaults to ``BINANCE``, the
        venue this loader was first written for; the others pass theirs (``BYBIT``, ``OKX``)."""
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise InvalidInputError(f"credentials: prefix: must be upper-case letters, digits and _, got {prefix!r}")
        env = os.environ if env is None else env
        names = [f"{prefix}_API_KEY", f"{prefix}_API_SECRET"]
        if need_passphrase:
            names.append(f"{prefix}_API_PASSPHRASE")
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise InvalidInputError(f"credentials: environment variable {' and '.join(missing)} not set")
        return cls(env[names[0]], env[names[1]], env.get(f"{prefix}_API_PASSPHRASE") or None)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, need_passphrase: bool = False) -> Credentials:
        """From a TOML file with ``api_key`` and ``secret`` (or ``api_secret``), and ``passphrase``
        when the venue's keys have one (required with ``need_passphrase``), which only its owner
        may read (mode 0600 or 0400): anything else is refused, naming the file."""
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
        passphrase = doc.get("passphrase")
        if passphrase is not None and not isinstance(passphrase, str):
            raise InvalidInputError(f"credentials file {str(p)!r}: passphrase: must be a string")
        if need_passphrase and passphrase is None:
            raise InvalidInputError(f"credentials file {str(p)!r}: needs a string key passphrase")
        return cls(key, secret, passphrase)


def _blank(p: re.Pattern[str]) -> Any:
    if p.groups:
        return lambda m: (m.group(1) or "") + HIDDEN
    return HIDDEN


def redact(text: str, secrets: Iterable[str], patterns: Iterable[re.Pattern[str]] = ()) -> str:
    """``text`` with each of ``secrets`` and every match of ``patterns`` replaced by ``<hidden>``.
    A pattern with a group keeps what its first group matched (a label such as ``signature=``)
    and blanks the rest of the match; one without groups is blanked whole."""
    for s in secrets:
        if s:
            text = text.replace(s, HIDDEN)
    for p in patterns:
        text = p.sub(_blank(p), text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that formats each record's message, blanks the secrets and the signature
    ``patterns`` in it (and in its exception text), and lets it through."""

    def __init__(self, secrets: Iterable[str] = (), patterns: Iterable[re.Pattern[str]] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s}
        self.patterns: list[re.Pattern[str]] = list(dict.fromkeys(patterns))

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg, self.secrets, self.patterns)
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets, self.patterns)
            record.exc_info = None
        return True


def install_redaction(credentials: Credentials, loggers: Iterable[str],
                      patterns: Iterable[re.Pattern[str]] = ()) -> RedactingFilter:
    """Install (or extend) the redacting filter for ``credentials`` (secret, passphrase, key) and
    the venue's signature ``patterns`` on each of ``loggers``; returns the filter. A filter acts
    on the records logged on its own logger only, so a venue lists each of its modules'."""
    if not isinstance(credentials, Credentials):
        raise InvalidInputError(f"redaction: credentials: must be a Credentials, got {type(credentials).__name__}")
    patterns = tuple(patterns)
    out: RedactingFilter | None = None
    for name in loggers:
        lg = logging.getLogger(name)
        f = next((f for f in lg.filters if isinstance(f, RedactingFilter)), None)
        if f is None:
            f = RedactingFilter()
            lg.addFilter(f)
        f.secrets |= set(credentials.hidden())
        f.patterns.extend(p for p in patterns if p not in f.patterns)
        out = f
    if out is None:
        raise InvalidInputError("redaction: loggers: none given")
    return out
