"""The live node's control API: a small token-protected HTTP server on localhost (aiohttp).

Every request carries ``Authorization: Bearer <token>``; anything else gets 401. Replies are JSON
(``/metrics`` excepted); an error is ``{"error": "<one line>"}`` with its status, never a traceback.

=================  ======  =====================================================================
path               method  reply
=================  ======  =====================================================================
``/health``        GET     ``{"live": true, "ready": bool, "reason": str | null}``, always 200
                           while the node answers (so a probe can read *why* it is not ready;
                           ``ready`` is the answer to "may it trade", ``live`` to "is it there")
``/metrics``       GET     the Prometheus text exposition (:class:`~trader.live.metrics.NodeMetrics`)
``/status``        GET     the node's :meth:`NodeControl.status`
``/state``         POST    body ``{"state": "paused", "reason": "..."}`` (both required; state one of
                           active, reducing, paused, halted, emergency): the node's ``set_state``
``/cancel-all``    POST    cancel every working order; optional body ``{"reason": "..."}``
``/flatten``       POST    close every position; optional body ``{"reason": "..."}``
=================  ======  =====================================================================

400 is a malformed request (not JSON, not an object, a missing or unknown field, an unknown state,
an empty reason), 404/405 an unknown path or method, 500 an error inside the node (logged here with
its traceback, answered with one line).

The node writes its endpoint to ``<state dir>/control.json`` and its token to
``<state dir>/control.token`` (mode 0600) so that ``trader ctl`` finds both: see
:func:`load_or_create_token`, :func:`write_endpoint`, :func:`read_endpoint`.

aiohttp is imported when a server is built, not with this module (``trader ctl`` reads the files
helpers here and must start fast).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from trader.exceptions import InvalidInputError
from trader.risk import STATES

if TYPE_CHECKING:
    from aiohttp import web

    from trader.live.metrics import NodeMetrics

__all__ = [
    "default_state_dir",
    "STATE_ENV",
    "TOKEN_ENV",
    "TOKEN_FILE",
    "ENDPOINT_FILE",
    "NodeControl",
    "ControlServer",
    "load_or_create_token",
    "find_token",
    "write_endpoint",
    "read_endpoint",
    "remove_endpoint",
]

log = logging.getLogger(__name__)

#: The environment variable that may name the default state folder.
STATE_ENV = "TRADER_STATE_DIR"


def default_state_dir() -> str:
    """The node's state folder when none is given: ``$TRADER_STATE_DIR``, else ``trader/live``
    under the user's data directory (``$XDG_DATA_HOME``, else ``~/.local/share``)."""
    if os.environ.get(STATE_ENV):
        return os.environ[STATE_ENV]
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "trader", "live")


#: The environment variable that may hold the control token.
TOKEN_ENV = "TRADER_CONTROL_TOKEN"
#: The generated token's file name in the state folder.
TOKEN_FILE = "control.token"
#: The endpoint file's name in the state folder.
ENDPOINT_FILE = "control.json"

#: Largest request body accepted (bytes): the API's bodies are a state and a reason.
MAX_BODY = 64 * 1024


class NodeControl(Protocol):
    """What the control server needs of a node. Every call happens on the loop thread that runs
    the server."""

    metrics: NodeMetrics

    def status(self) -> dict[str, Any]:
        """A JSON-serializable snapshot: trading state, positions, open orders, cash, equity, PnL,
        last event time and lag per stream, per-strategy entries..."""
        ...

    def health(self) -> tuple[bool, str | None]:
        """(ready, the reason when not ready: "feed stale", "venue disconnected", "halted", ...)."""
        ...

    def set_state(self, state: str, reason: str) -> dict[str, Any]:
        """Command a trading state (audited by the node); e.g. ``{"state": "paused", "previous":
        "active"}``. Raises :class:`~trader.exceptions.InvalidInputError` on an unknown state or an
        empty reason."""
        ...

    def cancel_all(self, reason: str) -> dict[str, Any]:
        """Cancel every working order (audited with ``reason``), e.g. ``{"canceled": 3}``."""
        ...

    def flatten(self, reason: str) -> dict[str, Any]:
        """Close every position (audited with ``reason``), e.g. ``{"orders": [ids]}``."""
        ...


# --- the token and the endpoint file ---------------------------------------------------------------


def _check_token(token: str, source: str) -> str:
    """``token`` stripped of surrounding whitespace, or an error naming ``source`` when it is empty
    or not one word on one line."""
    token = token.strip()
    if not token:
        raise InvalidInputError(f"{source}: the control token is empty")
    if len(token.splitlines()) > 1:
        raise InvalidInputError(f"{source}: the control token must be a single line")
    if any(c.isspace() for c in token) or not token.isprintable():
        raise InvalidInputError(f"{source}: the control token must not contain spaces or control characters")
    return token


def _read_token_file(path: str | os.PathLike[str]) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{os.fspath(path)}: control token file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{os.fspath(path)}: cannot read the control token: {e}") from None
    return _check_token(text, os.fspath(path))


def _state_dir(state_dir: str | os.PathLike[str], create: bool) -> Path:
    path = Path(state_dir)
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{os.fspath(path)}: the state folder is not a folder")
    if create:
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInputError(f"{os.fspath(path)}: cannot create the state folder: {e.strerror or e}") from None
    return path


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a rename),
    readable by the owner only."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def find_token(state_dir: str | os.PathLike[str] | None = None, token_file: str | os.PathLike[str] | None = None) -> str:
    """The control token of an existing node, without creating one: ``token_file`` if given, else
    the environment variable ``TRADER_CONTROL_TOKEN``, else ``<state_dir>/control.token``. Raises
    :class:`~trader.exceptions.InvalidInputError` naming the file (or variable) that is missing,
    empty or not a single-line token."""
    if token_file is not None:
        return _read_token_file(token_file)
    if TOKEN_ENV in os.environ:
        return _check_token(os.environ[TOKEN_ENV], TOKEN_ENV)
    state_dir = default_state_dir() if state_dir is None else state_dir
    path = Path(state_dir) / TOKEN_FILE
    if not path.exists():
        raise InvalidInputError(f"{os.fspath(path)}: control token file not found "
                                f"(no node started in {os.fspath(state_dir)}? give --token-file or set {TOKEN_ENV})")
    return _read_token_file(path)


def load_or_create_token(state_dir: str | os.PathLike[str], token_file: str | os.PathLike[str] | None = None) -> str:
    """The token a node's control API requires: from ``token_file`` (it must exist and hold one
    non-empty line), else from ``TRADER_CONTROL_TOKEN``, else a new random one
    (``secrets.token_urlsafe(32)``) written to ``<state_dir>/control.token`` with mode 0600 (the
    folder is created if needed). A generated token replaces the one of a previous run.

    The token is a secret: it is never logged or printed."""
    if token_file is not None or TOKEN_ENV in os.environ:
        return find_token(state_dir, token_file)
    folder = _state_dir(state_dir, create=True)
    token = secrets.token_urlsafe(32)
    _write_private(folder / TOKEN_FILE, token + "\n")
    return token


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def write_endpoint(state_dir: str | os.PathLike[str], host: str, port: int, pid: int) -> Path:
    """Write ``<state_dir>/control.json`` (``{"url": "http://host:port", "pid": pid}``) atomically,
    creating the folder if needed; returns its path."""
    folder = _state_dir(state_dir, create=True)
    path = folder / ENDPOINT_FILE
    _write_private(path, json.dumps({"url": _url(host, port), "pid": pid}) + "\n")
    return path


def read_endpoint(state_dir: str | os.PathLike[str] | None = None) -> str:
    """The control URL of the node running with ``state_dir`` (default: :func:`default_state_dir`),
    from its ``control.json``."""
    state_dir = default_state_dir() if state_dir is None else state_dir
    path = Path(state_dir) / ENDPOINT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"no running node found in {os.fspath(state_dir)} ({ENDPOINT_FILE} missing)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{os.fspath(path)}: cannot read: {e}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInputError(f"{os.fspath(path)}: not valid JSON") from None
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"{os.fspath(path)}: no \"url\" with an http:// address")
    return url


def remove_endpoint(state_dir: str | os.PathLike[str]) -> None:
    """Remove ``<state_dir>/control.json`` (nothing happens when it is absent)."""
    (Path(state_dir) / ENDPOINT_FILE).unlink(missing_ok=True)


# --- the server --------------------------------------------------------------------------------------


class _BadRequest(Exception):
    """A malformed request: answered 400 with this message."""


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    from aiohttp import web

    return web.json_response(data, status=status, headers=headers)


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "error"


def _fields(body: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """The body's fields, each a string: every ``required`` one present, none outside
    ``required + optional``."""
    if not isinstance(body, dict):
        raise _BadRequest(f"body: expected a JSON object, got {type(body).__name__ if body is not None else 'null'}")
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise _BadRequest(f"body: unknown field(s) {', '.join(map(repr, unknown))} (expected {', '.join(required + optional)})")
    missing = [k for k in required if k not in body]
    if missing:
        raise _BadRequest(f"body: missing field(s) {', '.join(map(repr, missing))}")
    for k, v in body.items():
        if not isinstance(v, str):
            raise _BadRequest(f"{k}: expected a string, got {type(v).__name__ if v is not None else 'null'}")
    return body


def _reason(fields: dict[str, str], required: bool) -> str | None:
    reason = fields.get("reason")
    if reason is None and not required:
        return None
    if reason is None or not reason.strip():
        raise _BadRequest("reason: must not be empty")
    if len(reason.splitlines()) > 1:
        raise _BadRequest("reason: must be a single line")
    return reason.strip()


async def _body(request: web.Request, optional: bool) -> Any:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise _BadRequest("body: expected a JSON object, got nothing")
    try:
        return json.loads(raw)
    except ValueError as e:
        raise _BadRequest(f"body: not valid JSON: {e}") from None


_Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


class ControlServer:
    """The control API of one node (see the module's table), served by aiohttp on ``host:port``
    (``port=0``: a free port, see :meth:`start`'s answer). Bind to localhost unless something in
    front of it encrypts the traffic: the token travels in clear over plain HTTP."""

    def __init__(self, node: NodeControl, *, host: str = "127.0.0.1", port: int = 0, token: str) -> None:
        self.node = node
        self.host = host
        if not 0 <= port <= 65535:
            raise InvalidInputError(f"port: expected 0..65535, got {port}")
        self.port = port
        self._token = _check_token(token, "token").encode()
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"ControlServer(host={self.host!r}, port={self.port})"

    def _app(self) -> web.Application:
        from aiohttp import web

        @web.middleware
        async def errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
            return await self._errors(request, handler)

        @web.middleware
        async def auth(request: web.Request, handler: _Handler) -> web.StreamResponse:
            return await self._auth(request, handler)

        app = web.Application(middlewares=[errors, auth], client_max_size=MAX_BODY)
        app.router.add_get("/health", self._health, allow_head=False)
        app.router.add_get("/metrics", self._metrics, allow_head=False)
        app.router.add_get("/status", self._status, allow_head=False)
        app.router.add_post("/state", self._set_state)
        app.router.add_post("/cancel-all", self._cancel_all)
        app.router.add_post("/flatten", self._flatten)
        return app

    async def start(self) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port)."""
        from aiohttp import web

        if self._runner is not None:
            raise RuntimeError("the control server is already running")
        runner = web.AppRunner(self._app(), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise InvalidInputError(f"control API: cannot listen on {self.host}:{self.port}: {e.strerror or e}") from None
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        log.info("control API listening on %s", _url(host, port))
        return host, port

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # middlewares (see _app): _errors wraps _auth wraps the handler, aiohttp's 404/405 included

    async def _errors(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        from aiohttp import web

        try:
            return await handler(request)
        except (_BadRequest, InvalidInputError) as e:
            return _json(400, {"error": _one_line(e)})
        except web.HTTPException as e:
            if e.status < 400:
                raise
            headers = {k: v for k, v in e.headers.items() if k.lower() not in ("content-type", "content-length")}
            return _json(e.status, {"error": _one_line(e.reason)}, headers=headers)
        except Exception as e:
            log.exception("control API: %s %s failed", request.method, request.path)
            return _json(500, {"error": _one_line(f"internal error: {type(e).__name__}: {e}")})

    async def _auth(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token):
            return _json(401, {"error": "unauthorized: a valid 'Authorization: Bearer <token>' header is required"},
                         headers={"WWW-Authenticate": 'Bearer realm="trader"'})
        return await handler(request)

    # handlers

    async def _health(self, request: web.Request) -> web.StreamResponse:
        ready, reason = self.node.health()
        return _json(200, {"live": True, "ready": bool(ready), "reason": None if ready else reason})

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        body, content_type = self.node.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return _json(200, self.node.status())

    async def _set_state(self, request: web.Request) -> web.StreamResponse:
        fields = _fields(await _body(request, optional=False), ("state", "reason"))
        state = fields["state"].strip().lower()
        if state not in STATES:
            raise _BadRequest(f"state: unknown trading state {fields['state']!r} (expected one of {', '.join(STATES)})")
        reason = _reason(fields, required=True)
        assert reason is not None
        log.info("control API: state %s requested (reason: %s)", state, reason)
        return _json(200, self.node.set_state(state, reason))

    async def _cancel_all(self, request: web.Request) -> web.StreamResponse:
        reason = _reason(_fields(await _body(request, optional=True), (), ("reason",)), required=False)
        log.info("control API: cancel-all requested (reason: %s)", reason or "none given")
        return _json(200, self.node.cancel_all(reason or "operator cancel-all (control API)"))

    async def _flatten(self, request: web.Request) -> web.StreamResponse:
        reason = _reason(_fields(await _body(request, optional=True), (), ("reason",)), required=False)
        log.info("control API: flatten requested (reason: %s)", reason or "none given")
        return _json(200, self.node.flatten(reason or "operator flatten (control API)"))
