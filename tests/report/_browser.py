"""A headless Chromium driven over the Chrome DevTools Protocol (CDP) with aiohttp: load a page,
wait for its plotly figures to be drawn, collect what went wrong (console errors, uncaught
exceptions, failed or outgoing requests) and take a full-page screenshot.

No playwright or selenium: the browser is started with ``--remote-debugging-port=0``, its port
read from ``DevToolsActivePort`` in its profile folder, and one page target is spoken to over its
WebSocket. The browser is always killed (:meth:`Chromium.close`, also on error)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["find_chromium", "PageReport", "Chromium", "inspect_page"]

#: The script that says how far the figures got: the count the page declares, the plotly
#: containers, and those whose SVG has drawn content (a trace group or a heatmap).
_FIGURES_JS = """(() => {
  const meta = document.querySelector('meta[name="trader-figures"]');
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const drawn = plots.filter(p => {
    const svg = p.querySelector('.main-svg');
    return svg !== null && p.querySelectorAll('.main-svg g.trace, .main-svg g.hm image, .main-svg g.hm').length > 0;
  });
  return {declared: meta ? Number(meta.content) : -1, plots: plots.length, drawn: drawn.length,
          ready: document.readyState};
})()"""


def find_chromium() -> str | None:
    """The Chromium executable (``/usr/bin/chromium``, or one named chromium on PATH), or None."""
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclasses.dataclass
class PageReport:
    """What loading a page gave: the figure counts, every problem seen, and every URL requested."""

    declared: int
    plots: int
    drawn: int
    errors: list[str]
    requests: list[str]
    screenshot: Path | None
    seconds: float
    #: The values of the ``probes`` expressions, evaluated in order once the figures were drawn.
    probes: list[Any] = dataclasses.field(default_factory=list)


class _Cdp:
    """One CDP session over a WebSocket: commands by id, events kept in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self.pending:
                fut = self.pending.pop(data["id"])
                if "error" in data:
                    fut.set_exception(RuntimeError(f"CDP error: {data['error']}"))
                else:
                    fut.set_result(data.get("result", {}))
            elif "method" in data:
                self.events.append(data)
        for fut in self.pending.values():  # the browser went away
            if not fut.done():
                fut.set_exception(RuntimeError("CDP connection closed"))

    async def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return await asyncio.wait_for(fut, timeout)

    def seen(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == method]


class Chromium:
    """A headless Chromium process with a throwaway profile; :meth:`close` kills it."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="trader-chromium-")
        self.log = open(os.path.join(self.profile, "stderr.log"), "wb")
        args = [executable, "--headless=new", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--metrics-recording-only", "--window-size=1366,900", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        # its own process group: close() ends the browser and every helper process it started
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)

    def port(self, timeout: float = 30.0) -> int:
        """The DevTools port the browser chose, from ``DevToolsActivePort`` in its profile."""
        path = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self._stderr()}")
            if path.is_file():
                first = path.read_text().splitlines()[:1]
                if first and first[0].strip().isdigit():
                    return int(first[0])
            time.sleep(0.05)
        raise RuntimeError(f"chromium wrote no DevToolsActivePort in {timeout:.0f} s: {self._stderr()}")

    @staticmethod
    def _signal(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already

    def _stderr(self) -> str:
        self.log.flush()
        return (Path(self.profile) / "stderr.log").read_text(errors="replace")[-2000:]

    def close(self) -> None:
        """Stop the browser (SIGTERM to it, so it ends and reaps its helpers; after 5 s SIGKILL to
        its whole process group, so no helper outlives it) and remove its profile."""
        pgid = self.proc.pid  # start_new_session: the group's id is the browser's pid
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._signal(pgid, signal.SIGKILL)
        self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


async def _inspect(port: int, url: str, shot: Path | None, timeout: float, probes: list[str]) -> PageReport:
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            cdp = _Cdp(ws)
            for domain in ("Page", "Runtime", "Log", "Network"):
                await cdp.send(f"{domain}.enable")
            await cdp.send("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1, mobile=False)
            await cdp.send("Page.navigate", url=url)
            state: dict[str, Any] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if cdp.seen("Page.loadEventFired"):
                    res = await cdp.send("Runtime.evaluate", expression=_FIGURES_JS, returnByValue=True)
                    state = res.get("result", {}).get("value") or {}
                    if state.get("declared", -1) >= 0 and state["drawn"] == state["plots"] == state["declared"]:
                        break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)  # late console messages of the last figure
            values = []
            for expr in probes:
                res = await cdp.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
                values.append(res.get("result", {}).get("value"))
            path = None
            if shot is not None:
                metrics = await cdp.send("Page.getLayoutMetrics")
                size = metrics.get("cssContentSize") or metrics["contentSize"]
                res = await cdp.send("Page.captureScreenshot", timeout=120.0, format="png", captureBeyondViewport=True,
                                     clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
                shot.parent.mkdir(parents=True, exist_ok=True)
                shot.write_bytes(base64.b64decode(res["data"]))
                path = shot
            errors = []
            for e in cdp.seen("Runtime.exceptionThrown"):
                d = e["exceptionDetails"]
                errors.append(f"uncaught: {d.get('exception', {}).get('description') or d.get('text')}")
            for e in cdp.seen("Runtime.consoleAPICalled"):
                if e["type"] in ("error", "assert"):
                    errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"]))
            for e in cdp.seen("Log.entryAdded"):
                if e["entry"]["level"] == "error":
                    errors.append(f"log: {e['entry'].get('text')} ({e['entry'].get('url', '')})")
            for e in cdp.seen("Network.loadingFailed"):
                errors.append(f"request failed: {e.get('errorText')} ({e.get('requestId')})")
            requests = [e["request"]["url"] for e in cdp.seen("Network.requestWillBeSent")]
            cdp.reader.cancel()
    return PageReport(declared=int(state.get("declared", -1)), plots=int(state.get("plots", 0)),
                      drawn=int(state.get("drawn", 0)), errors=errors, requests=requests, screenshot=path,
                      seconds=time.monotonic() - t0, probes=values)


def inspect_page(executable: str, html_path: Path, screenshot: Path | None, timeout: float = 90.0,
                 probes: list[str] | None = None) -> PageReport:
    """Load ``html_path`` (file://) in a fresh headless Chromium and report on it; the browser is
    killed before this returns, whatever happened. ``probes``: JavaScript expressions evaluated
    (promises awaited) after the figures were drawn, before the screenshot is taken."""
    browser = Chromium(executable)
    try:
        port = browser.port()
        return asyncio.run(_inspect(port, html_path.resolve().as_uri(), screenshot, timeout, list(probes or [])))
    finally:
        browser.close()
