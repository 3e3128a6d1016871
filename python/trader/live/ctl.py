"""``trader ctl``: talk to a running node through its control API (:mod:`trader.live.control`).

The node's address comes from ``<state>/control.json`` (or ``--url``), its token from
``--token-file``, else ``TRADER_CONTROL_TOKEN``, else ``<state>/control.token``. Exit codes: 0 done;
2 bad usage or a request the node refused (401, 400: the node's error quoted on one line); 1 no
node answering, or an error inside the node. ``health`` also exits 1 when the node answers but is
not ready, so a probe can use the exit code alone.

Only click and the standard library are imported here: the ``trader`` command registers this group
at startup, and the HTTP client (urllib) is imported when a command runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any, NoReturn

import click

from trader.live.control import TOKEN_ENV, default_state_dir, find_token, read_endpoint

__all__ = ["ctl"]


@dataclasses.dataclass
class _Target:
    """The group's options, resolved into a URL and a token when a command runs."""

    state: str
    url: str | None
    token_file: str | None
    as_json: bool
    timeout: float

    def resolve(self) -> tuple[str, str]:
        url = self.url or read_endpoint(self.state)
        return url.rstrip("/"), find_token(self.state, self.token_file)


class _Unreachable(Exception):
    """No node answered (connection refused, timeout, not HTTP)."""


class _Failed(Exception):
    """The node answered with an error: ``status`` and its one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _request(url: str, token: str, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
    """One request to the control API; the decoded JSON reply. Proxies are not used (the API is
    local) and redirects are not followed (the token would go along)."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with opener.open(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            message = str(json.loads(raw)["error"])
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {e.code} {e.reason}"
        raise _Failed(e.code, message) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise _Unreachable(str(reason) or type(reason).__name__) from None
    try:
        return json.loads(raw)
    except ValueError:
        raise _Unreachable(f"{path} did not answer JSON (is it a trader node?)") from None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _call(ctx: click.Context, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Send one request for a command; errors become one line on stderr and the exit code."""
    target: _Target = ctx.find_object(_Target)  # type: ignore[assignment]
    url, token = target.resolve()
    try:
        return _request(url, token, method, path, body, target.timeout)
    except _Unreachable as e:
        _exit(1, f"error: no node answering at {url}: {_one_line(e)}")
    except _Failed as e:
        _exit(2 if 400 <= e.status < 500 else 1, f"error: the node at {url} answered {e.status}: {_one_line(e)}")


def _exit(code: int, line: str | None = None) -> NoReturn:
    """Leave with ``code`` after one line on stderr. SystemExit, not ``ctx.exit``: the ``trader``
    entry point runs click with ``standalone_mode=False``, where click turns ``ctx.exit(n)`` into a
    return value that would be lost."""
    if line is not None:
        click.echo(line, err=True)
    sys.exit(code)


def _show(ctx: click.Context, data: Any, summary: str | None = None) -> None:
    """``data`` as JSON with ``--json``; else ``summary``, or ``data`` as indented ``key: value`` lines."""
    target: _Target = ctx.find_object(_Target)  # type: ignore[assignment]
    if target.as_json:
        click.echo(json.dumps(data))
    elif summary is not None:
        click.echo(summary)
    else:
        for line in _lines(data):
            click.echo(line)


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.8g}" if abs(value) >= 1e-4 or value == 0 else f"{value:g}"
    return str(value)


def _lines(data: Any, indent: str = "") -> list[str]:
    """A nested JSON value as ``key: value`` lines, two spaces per level."""
    out: list[str] = []
    if isinstance(data, dict):
        if not data:
            return [f"{indent}(none)"]
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                out.append(f"{indent}{key}:")
                out.extend(_lines(value, indent + "  "))
            else:
                out.append(f"{indent}{key}: {_scalar(value) if value or value == 0 else '(none)'}")
    elif isinstance(data, list):
        if not data:
            return [f"{indent}(none)"]
        for item in data:
            if isinstance(item, dict) and item and not any(isinstance(v, dict | list) for v in item.values()):
                out.append(f"{indent}- " + ", ".join(f"{k}={_scalar(v)}" for k, v in item.items()))
            elif isinstance(item, dict | list):
                out.append(f"{indent}-")
                out.extend(_lines(item, indent + "  "))
            else:
                out.append(f"{indent}- {_scalar(item)}")
    else:
        out.append(f"{indent}{_scalar(data)}")
    return out


@click.group()
@click.option("--state", "state_dir", default=None, metavar="DIR",
              help="The node's state folder: its URL is read from DIR/control.json, its token from DIR/control.token "
                   "(default: $TRADER_STATE_DIR, else trader/live under the user's data directory).")
@click.option("--url", metavar="URL", help="The node's control URL (overrides DIR/control.json), e.g. http://127.0.0.1:8765.")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="PATH",
              help=f"Read the control token from PATH (before ${TOKEN_ENV}, then DIR/control.token).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True, help="Seconds to wait for the node.")
@click.option("--json", "as_json", is_flag=True, help="Print the node's JSON answer on stdout.")
@click.pass_context
def ctl(ctx: click.Context, state_dir: str, url: str | None, token_file: str | None, timeout: float, as_json: bool) -> None:
    """Control a running node: status, health, trading state, cancel-all, flatten."""
    if url is not None and not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected an http:// or https:// URL, got {url!r}", param_hint="--url")
    ctx.obj = _Target(state=state_dir, url=url, token_file=token_file, as_json=as_json, timeout=timeout)


@ctl.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Trading state, positions, orders, account, streams."""
    _show(ctx, _call(ctx, "GET", "/status"))


@ctl.command()
@click.pass_context
def health(ctx: click.Context) -> None:
    """Is the node ready to trade? Exit 1 (and the reason) when not."""
    data = _call(ctx, "GET", "/health")
    ready = bool(data.get("ready")) if isinstance(data, dict) else False
    reason = data.get("reason") if isinstance(data, dict) else None
    _show(ctx, data, "ready" if ready else f"not ready: {reason or 'no reason given'}")
    if not ready:
        _exit(1)


_REASON = click.option("--reason", required=True, help="Why (one line, written to the node's audit log).")


def _state_command(name: str, state: str, doc: str) -> None:
    @_REASON
    @click.pass_context
    def command(ctx: click.Context, reason: str) -> None:
        if not reason.strip():
            raise click.BadParameter("must not be empty", param_hint="--reason")
        data = _call(ctx, "POST", "/state", {"state": state, "reason": reason})
        previous = data.get("previous") if isinstance(data, dict) else None
        now = data.get("state", state) if isinstance(data, dict) else state
        _show(ctx, data, f"trading state: {now}" + (f" (was {previous})" if previous else ""))

    command.__doc__ = doc
    ctl.command(name)(command)


_state_command("pause", "paused", "PAUSED: no new orders; working orders stay.")
_state_command("resume", "active", "ACTIVE: trade normally again.")
_state_command("reduce", "reducing", "REDUCING: only orders that reduce exposure.")
_state_command("halt", "halted", "HALTED: nothing goes out, cancels included.")
_state_command("emergency", "emergency", "EMERGENCY: cancel everything, flatten at market.")


@ctl.command("cancel-all")
@click.option("--reason", help="Why (one line, logged by the node).")
@click.pass_context
def cancel_all(ctx: click.Context, reason: str | None) -> None:
    """Cancel every working order."""
    data = _call(ctx, "POST", "/cancel-all", {"reason": reason} if reason else None)
    n = data.get("canceled") if isinstance(data, dict) else None
    _show(ctx, data, f"canceled {n} order(s)" if isinstance(n, int) else None)


@ctl.command()
@click.option("--reason", help="Why (one line, logged by the node).")
@click.pass_context
def flatten(ctx: click.Context, reason: str | None) -> None:
    """Close every position with market orders."""
    data = _call(ctx, "POST", "/flatten", {"reason": reason} if reason else None)
    orders = data.get("orders") if isinstance(data, dict) else None
    summary = None
    if isinstance(orders, list):
        summary = f"flatten: {len(orders)} order(s) sent" + (f": {', '.join(map(str, orders))}" if orders else " (already flat)")
    _show(ctx, data, summary)
