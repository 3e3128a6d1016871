"""A real Prometheus scrapes a control server's ``/metrics`` with the bearer token.

Needs the ``prometheus`` binary (Debian's ``prometheus`` package; ``.ci/run`` installs it): the test
fails without it under ``CI=true`` and is skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.live._fake import TOKEN, free_port

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        msg = "the prometheus binary is not on PATH (apt-get install prometheus)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def _query(port: int, query: str) -> list[dict[str, Any]]:
    """The result vector of an instant query; [] while Prometheus is not up yet."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with _NO_PROXY.open(url, timeout=2) as resp:
            data = json.loads(resp.read())
    except OSError:
        return []
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def _start_node(tmp_path: Path, token_file: Path) -> tuple[subprocess.Popen, str]:
    """A running ``trader live`` (paper, synthetic feed) and its control API's host:port."""
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "TRADER_CONTROL_TOKEN"}
    err = tmp_path / "node.err"
    with err.open("wb") as f:
        node = subprocess.Popen([sys.executable, "-m", "trader", "live", "--state", str(state), "--token-file",
                                 str(token_file), "--feed", "synthetic:rate=200", "--duration", "90"],
                                stdout=subprocess.DEVNULL, stderr=f, env=env)
    endpoint = state / "control.json"
    deadline = time.monotonic() + 30
    while not endpoint.exists():
        assert node.poll() is None and time.monotonic() < deadline, err.read_text()
        time.sleep(0.1)
    url = json.loads(endpoint.read_text())["url"]
    return node, url.removeprefix("http://")


def test_prometheus_scrapes_a_running_node(tmp_path: Path) -> None:
    """A real Prometheus scrapes a running ``trader live`` with the bearer token; a trader metric
    is read back through Prometheus's HTTP API (and a scrape with a wrong token is refused)."""
    binary = _prometheus()
    token_file = tmp_path / "control.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    wrong_file = tmp_path / "wrong.token"
    wrong_file.write_text("not-the-token\n")
    web_port = free_port()
    node, target = _start_node(tmp_path, token_file)
    try:
        config = tmp_path / "prometheus.yml"
        config.write_text(f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: trader
    metrics_path: /metrics
    authorization: {{type: Bearer, credentials_file: {token_file}}}
    static_configs: [{{targets: ["{target}"]}}]
  - job_name: wrong-token
    metrics_path: /metrics
    authorization: {{type: Bearer, credentials_file: {wrong_file}}}
    static_configs: [{{targets: ["{target}"]}}]
""")
        log = tmp_path / "prometheus.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                                     f"--web.listen-address=127.0.0.1:{web_port}"],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            events: list[dict[str, Any]] = []
            wrong: list[dict[str, Any]] = []
            while time.monotonic() < deadline and proc.poll() is None:
                events = _query(web_port, 'trader_events_total{stream="trade"}')
                wrong = _query(web_port, 'up{job="wrong-token"}')
                if events and wrong and float(events[0]["value"][1]) > 0:
                    break
                time.sleep(0.25)
            assert events, f"Prometheus never reported trader_events_total (exit {proc.poll()}):\n{log.read_text()[-3000:]}"
            assert events[0]["metric"]["job"] == "trader" and events[0]["metric"]["instance"] == target
            assert float(events[0]["value"][1]) > 0, events
            state = _query(web_port, 'trader_trading_state{trader_trading_state="active"}')
            assert [float(s["value"][1]) for s in state] == [1.0]
            assert _query(web_port, "process_resident_memory_bytes"), "process metrics are exported"
            # the same target with a wrong token is down: the node answered 401
            assert [float(s["value"][1]) for s in wrong] == [0.0]
            with _NO_PROXY.open(f"http://127.0.0.1:{web_port}/api/v1/targets", timeout=5) as resp:
                targets = {t["labels"]["job"]: t for t in json.loads(resp.read())["data"]["activeTargets"]}
            assert targets["trader"]["health"] == "up", targets["trader"]
            assert "401" in targets["wrong-token"]["lastError"], targets["wrong-token"]
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(40)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait(10)
    assert node.returncode == 0
