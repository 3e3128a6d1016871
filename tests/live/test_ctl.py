"""``trader ctl`` end to end against a control server running a fake node on a background thread."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live._fake import TOKEN, FakeNode, ServerThread, free_port
from trader.cli import main
from trader.live.control import TOKEN_ENV, TOKEN_FILE, write_endpoint


@pytest.fixture
def node() -> FakeNode:
    return FakeNode()


@pytest.fixture
def state(tmp_path: Path, node: FakeNode) -> Iterator[Path]:
    """A state folder as a running node leaves it: control.json and control.token."""
    folder = tmp_path / "state"
    with ServerThread(node) as server:
        write_endpoint(folder, server.host, server.port, os.getpid())
        (folder / TOKEN_FILE).write_text(TOKEN + "\n")
        yield folder


def ctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``trader ctl ARGS`` run in this process."""
    capsys.readouterr()
    try:
        main(["ctl", *args])
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _token(tmp_path: Path) -> Path:
    f = tmp_path / "t.token"
    f.write_text(TOKEN)
    return f


def test_status(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    code, out, err = ctl(capsys, "--state", str(state), "status")
    assert (code, err) == (0, "")
    assert "state: active" in out and "BTCUSDT: 0.5" in out and "- o-1" in out and "lag: 0.012" in out
    code, out, err = ctl(capsys, "--state", str(state), "--json", "status")
    assert (code, err) == (0, "") and json.loads(out) == node.status()


def test_health(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    assert ctl(capsys, "--state", str(state), "health") == (0, "ready\n", "")
    node.ready, node.reason = False, "venue disconnected"
    assert ctl(capsys, "--state", str(state), "health") == (1, "not ready: venue disconnected\n", "")
    code, out, _ = ctl(capsys, "--state", str(state), "--json", "health")
    assert code == 1 and json.loads(out) == {"live": True, "ready": False, "reason": "venue disconnected"}


@pytest.mark.parametrize("command, expected", [("pause", "paused"), ("reduce", "reducing"), ("halt", "halted"),
                                               ("emergency", "emergency"), ("resume", "active")])
def test_state_commands(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode, command: str, expected: str) -> None:
    node.state = "paused" if command == "resume" else "active"
    previous = node.state
    code, out, err = ctl(capsys, "--state", str(state), command, "--reason", "operator drill")
    assert (code, err) == (0, "")
    assert out == f"trading state: {expected} (was {previous})\n"
    assert node.state == expected and node.calls == [("set_state", expected, "operator drill")]


def test_state_command_json(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    code, out, _ = ctl(capsys, "--state", str(state), "--json", "halt", "--reason", "manual")
    assert code == 0 and json.loads(out) == {"state": "halted", "previous": "active"}


@pytest.mark.parametrize("command", ["pause", "resume", "reduce", "halt", "emergency"])
def test_state_commands_need_a_reason(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode, command: str) -> None:
    code, out, err = ctl(capsys, "--state", str(state), command)
    assert code == 2 and out == ""
    assert "--reason" in one_line(err)
    code, _, err = ctl(capsys, "--state", str(state), command, "--reason", "  ")
    assert code == 2 and "--reason" in one_line(err) and "must not be empty" in err
    assert node.calls == [] and node.state == "active"


def test_cancel_all(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    assert ctl(capsys, "--state", str(state), "cancel-all", "--reason", "eod") == (0, "canceled 3 order(s)\n", "")
    assert node.orders == [] and node.calls == [("cancel_all", "eod")]
    code, out, _ = ctl(capsys, "--state", str(state), "--json", "cancel-all")
    assert code == 0 and json.loads(out) == {"canceled": 0}


def test_flatten(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    assert ctl(capsys, "--state", str(state), "flatten") == (0, "flatten: 1 order(s) sent: flat-BTCUSDT\n", "")
    assert node.positions["BTCUSDT"] == 0 and node.calls == [("flatten", "operator flatten (control API)")]
    assert ctl(capsys, "--state", str(state), "flatten", "--reason", "again") == (0, "flatten: 0 order(s) sent (already flat)\n", "")


def test_bad_token_is_exit_2(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    code, out, err = ctl(capsys, "--state", str(state), "--token-file", str(wrong), "halt", "--reason", "x")
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("error: the node at http://127.0.0.1:") and "answered 401: unauthorized" in line
    assert "not-the-token" not in err and TOKEN not in err
    assert node.calls == []


def test_token_precedence(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    right, wrong = tmp_path / "right.token", tmp_path / "wrong.token"
    right.write_text(TOKEN)
    wrong.write_text("wrong")
    monkeypatch.setenv(TOKEN_ENV, "wrong-too")  # the env comes before the state folder's file
    assert ctl(capsys, "--state", str(state), "health")[0] == 2
    assert ctl(capsys, "--state", str(state), "--token-file", str(right), "health")[0] == 0  # the file before the env
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert ctl(capsys, "--state", str(state), "health")[0] == 0
    assert ctl(capsys, "--state", str(state), "--token-file", str(wrong), "health")[0] == 2


def test_bad_token_file_is_exit_2(capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.token"
    code, _, err = ctl(capsys, "--state", str(state), "--token-file", str(missing), "status")
    assert code == 2 and one_line(err) == f"error: {missing}: control token file not found"


def test_url_overrides_the_endpoint_file(capsys: pytest.CaptureFixture[str], state: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = json.loads((state / "control.json").read_text())["url"]
    other = tmp_path / "other"  # no control.json here
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert ctl(capsys, "--state", str(other), "--url", url + "/", "health") == (0, "ready\n", "")
    code, _, err = ctl(capsys, "--url", "127.0.0.1:1", "health")
    assert code == 2 and "--url" in one_line(err)


def test_400_from_the_node_is_exit_2(capsys: pytest.CaptureFixture[str], state: Path) -> None:
    code, _, err = ctl(capsys, "--state", str(state), "pause", "--reason", "two\nlines")
    assert code == 2 and one_line(err).endswith("answered 400: reason: must be a single line")
    code, _, err = ctl(capsys, "--state", str(state), "pause", "--reason", "refused by the node")
    assert code == 2 and one_line(err).endswith("answered 400: reason: refused by the node")


def test_node_failure_is_exit_1(capsys: pytest.CaptureFixture[str], state: Path, node: FakeNode) -> None:
    node.fail = True
    code, out, err = ctl(capsys, "--state", str(state), "status")
    assert code == 1 and out == ""
    assert one_line(err).endswith("answered 500: internal error: RuntimeError: status exploded with a second line")


def test_no_node_answering_is_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()
    write_endpoint(tmp_path, "127.0.0.1", port, 1)
    (tmp_path / TOKEN_FILE).write_text(TOKEN)
    code, out, err = ctl(capsys, "--state", str(tmp_path), "--timeout", "5", "pause", "--reason", "x")
    assert code == 1 and out == ""
    assert one_line(err).startswith(f"error: no node answering at http://127.0.0.1:{port}: ")


def test_not_a_node_is_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Something that is not HTTP at all (a listener that closes at once)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        listener.settimeout(5)

        def close_one() -> None:
            conn, _ = listener.accept()
            conn.close()

        t = threading.Thread(target=close_one, daemon=True)
        t.start()
        code, _, err = ctl(capsys, "--url", f"http://127.0.0.1:{port}", "--token-file", str(_token(tmp_path)), "health")
        t.join(5)
    assert code == 1 and one_line(err).startswith(f"error: no node answering at http://127.0.0.1:{port}: ")


def test_no_endpoint_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = ctl(capsys, "--state", str(tmp_path / "empty"), "status")
    assert code == 2 and out == ""
    assert one_line(err) == f"error: no running node found in {tmp_path / 'empty'} (control.json missing)"


def test_no_token_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_endpoint(tmp_path, "127.0.0.1", free_port(), 1)
    code, _, err = ctl(capsys, "--state", str(tmp_path), "status")
    assert code == 2 and one_line(err).startswith(f"error: {tmp_path / TOKEN_FILE}: control token file not found")


def test_subprocess(state: Path, node: FakeNode) -> None:
    """``python -m trader ctl`` in a process of its own: the exit codes reach the shell."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    done = subprocess.run([sys.executable, "-m", "trader", "ctl", "--state", str(state), "--json", "pause", "--reason", "subprocess"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"state": "paused", "previous": "active"}
    assert node.calls == [("set_state", "paused", "subprocess")]
    done = subprocess.run([sys.executable, "-m", "trader", "ctl", "--state", str(state), "halt"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_cli_does_not_import_aiohttp_or_prometheus() -> None:
    code = "import sys, trader.cli; bad = [m for m in ('aiohttp', 'prometheus_client', 'urllib.request') if m in sys.modules]; print(bad)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
