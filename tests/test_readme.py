"""Every example of README.md runs: each ```bash and ```python block, discovered in the file.

How a block runs:

- in a fresh temporary folder ``<tmp>/repo`` next to ``<tmp>/shared/data``, a symlink to the shared
  market data (``$TRADER_SHARED_DATA``, else ``../shared/data``), so the README's
  ``../shared/data/...`` paths resolve as they do from a checkout;
- a ``bash`` block as one script (``bash -e -o pipefail``) with this interpreter's folder first on
  ``PATH`` (the installed ``trader`` command); a ``python`` block with this interpreter. Each block
  must stand alone (its own imports), as a reader copies it;
- a block whose first line is a comment naming a file (``# risk.toml — ...``, ``# my_strategy.py``)
  is also written to that file in the folder of every block after it, so the commands that follow
  can use it (``--risk-config risk.toml``, ``--strategy my_strategy.py:EmaCross``); a block of
  another language than bash and python is only written, never run.

``trader data download`` in a block fetches from a local copy of Binance's public archive (and its
REST klines), tests/data/_archive_server.py on 127.0.0.1, serving the USD-M BTCUSDT 1-minute bars
of May-June 2025 from the shared data and a funding series (``TRADER_BINANCE_ARCHIVE_URL``,
``TRADER_BINANCE_REST_URL``); the catalog it writes is the block's own (``XDG_DATA_HOME``).

What is not run: ``pip install ... &&`` prefixes are stripped (CI installs the package before the
tests run), and a command that is the test suite itself (``pytest``) is dropped, since this test
is part of it. A block preceded by ``<!-- readme-test: skip (reason) -->`` is skipped with that
reason; use it only where running is impossible.

A failing block fails its test with the block's line in README.md, its first line, and the
command's stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._data import ROOT

README = ROOT / "README.md"
RUNNABLE = ("bash", "python")
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
#: ``# name.ext`` (optionally followed by a dash or words) as the first line of a file block.
FILE_COMMENT = re.compile(r"^\s*(?:#|//|--)\s*(?P<name>[\w./-]+\.\w+)\b")
#: Installing is CI's job: ``pip install ... &&`` before a command is dropped.
INSTALL_PREFIX = re.compile(r"^\s*(?:python -m )?pip install [^&]*&&\s*")
#: The test suite itself (this harness is part of it).
TEST_SUITE = re.compile(r"^\s*(?:python -m )?pytest\b")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # 1-based line of the opening fence in README.md
    text: str
    skip: str | None  # the reason, when marked skip

    @property
    def first_line(self) -> str:
        return next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")

    @property
    def file_name(self) -> str | None:
        """The file the block stands for, from its first-line comment (None: none)."""
        m = FILE_COMMENT.match(self.text.splitlines()[0]) if self.text else None
        name = m.group("name") if m else None
        return name if name and not os.path.isabs(name) and ".." not in Path(name).parts else None


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order, with the skip mark that precedes each."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        before = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        mark = SKIP.search(before)
        out.append(Block(m.group("lang").lower(), start + 1, "\n".join(body) + "\n", mark.group("reason").strip() if mark else None))
        i += 1
    return out


def runnable_text(block: Block) -> str:
    """The block as it is run: install prefixes stripped, the test-suite command dropped."""
    if block.lang != "bash":
        return block.text
    out = []
    for line in block.text.splitlines():
        line = INSTALL_PREFIX.sub("", line)
        out.append("" if TEST_SUITE.match(line) else line)
    return "\n".join(out) + "\n"


ALL = blocks(README.read_text(encoding="utf-8"))
RUN = [b for b in ALL if b.lang in RUNNABLE]


def test_the_readme_has_examples_to_run():
    assert len(RUN) >= 8 and {b.lang for b in RUN} == set(RUNNABLE)
    assert any(b.file_name == "risk.toml" for b in ALL) and any(b.file_name == "my_strategy.py" for b in ALL)


def test_the_harness_reads_blocks_marks_and_prefixes():
    text = ("intro\n```bash\npip install . && trader backtest   # run\npip install -e '.[test]' && pytest\n```\n"
            "<!-- readme-test: skip (needs a live exchange) -->\n\n```python\nimport x\n```\n"
            "```toml\n# risk.toml — trader backtest --risk-config risk.toml\n[risk]\n```\n```\nplain\n```\n")
    found = blocks(text)
    assert [(b.lang, b.line, b.skip) for b in found] == [("bash", 2, None), ("python", 8, "needs a live exchange"), ("toml", 11, None), ("", 15, None)]
    assert runnable_text(found[0]) == "trader backtest   # run\n\n"
    assert [b.file_name for b in found] == [None, None, "risk.toml", None]
    assert blocks("```python\n# pkg/my_strategy.py - a strategy\nx = 1\n```\n")[0].file_name == "pkg/my_strategy.py"
    assert blocks("```toml\n# ../outside.toml\n```\n")[0].file_name is None


@pytest.fixture
def folder(tmp_path: Path, shared_data: Path) -> Path:
    """``<tmp>/repo`` (the working folder) beside ``<tmp>/shared/data`` (the shared data)."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data.resolve(), target_is_directory=True)
    work = tmp_path / "repo"
    work.mkdir()
    return work


@pytest.fixture(scope="module")
def binance_archive(shared_data: Path):
    """The local archive the README's downloads read (see the module docs)."""
    import numpy as np

    from tests.data._archive_server import ArchiveServer
    from trader.data import open_bars
    from trader.data._time import to_ns

    bars = open_bars(str(shared_data / "klines_1m/typhonun_DcaTpStrategy/BTC_USDT_USDT-1m-futures.feather")).load()
    server = ArchiveServer()
    server.start()
    server.add_klines("usdm", "BTCUSDT", "1m", 60_000_000_000, bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    ts = np.arange(to_ns("2025-05-01"), to_ns("2025-07-01"), 8 * 3_600_000_000_000, dtype=np.int64)
    server.add_funding("BTCUSDT", ts, np.round(np.sin(np.arange(ts.size)) * 1e-4, 8))
    yield server
    server.stop()


@pytest.mark.parametrize("block", RUN, ids=[f"line{b.line}-{b.lang}" for b in RUN])
def test_readme_block_runs(block: Block, folder: Path, binance_archive):
    if block.skip is not None:
        pytest.skip(f"README line {block.line}: {block.skip}")
    for earlier in ALL:
        if earlier.line < block.line and earlier.file_name:
            target = folder / earlier.file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(earlier.text, encoding="utf-8")
    script = folder / ("block.sh" if block.lang == "bash" else "block.py")
    script.write_text(runnable_text(block), encoding="utf-8")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    env.pop("TRADER_SHARED_DATA", None)  # the README's ../shared/data paths must resolve on their own
    env.pop("TRADER_STATE_DIR", None)
    env["XDG_DATA_HOME"] = str(folder.parent / "home-data")  # the user's data directory: `trader live`'s default state, the catalog
    env.pop("TRADER_CATALOG", None)
    env["TRADER_BINANCE_ARCHIVE_URL"] = env["TRADER_BINANCE_REST_URL"] = binance_archive.url
    cmd = ["bash", "-e", "-o", "pipefail", str(script)] if block.lang == "bash" else [sys.executable, str(script)]
    p = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        pytest.fail(f"README.md line {block.line} ({block.lang}) exited {p.returncode}: {block.first_line}\n"
                    f"--- stderr ---\n{p.stderr[-4000:]}\n--- stdout (end) ---\n{p.stdout[-1500:]}", pytrace=False)
