"""Issue 10, "Checks that can fail": the benchmark gate's judgement (``benches/gate.py``) on fake
results files, and the tests that could not fail. No benchmark runs here."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from benches import gate
from benches._data import shared_file

RUN = gate.Run("this-run", started=time.time() - 5)
PY_LINE = gate.Line("g", "pytest", "ours vs anchor", 1.0, "test")
CR_LINE = gate.Line("grp", "criterion", "ours vs anchor", 1.0, "test", anchor="anchor")


def results(path: Path, ours: dict, anchor: dict, run: str | None = RUN.id, median=(1.0, 2.0)) -> Path:
    """A pytest-benchmark results file: ours and the anchor in group "g" (10 items a call)."""
    bench = [{"group": "g", "stats": {"median": m}, "extra_info": {"role": role, "items": 10, **info}}
             for role, info, m in (("ours", ours, median[0]), ("anchor", anchor, median[1]))]
    path.write_text(json.dumps({"benchmarks": bench, "trader_gate_run": run}))
    return path


def criterion(root: Path, group: str, bench: str, ns: float, *, age_s: float = 0.0) -> None:
    """criterion's files for one bench id (1000 elements a call, median ``ns``), ``age_s`` old."""
    d = root / "criterion" / group / bench / "new"
    d.mkdir(parents=True, exist_ok=True)
    (d / "estimates.json").write_text(json.dumps({"median": {"point_estimate": ns}}))
    (d / "benchmark.json").write_text(json.dumps({"throughput": {"Elements": 1000}}))
    if age_s:
        t = time.time() - age_s
        os.utime(d / "estimates.json", (t, t))


def check(root: Path, group: str, correct, run: str | None = RUN.id, **extra) -> None:
    d = root / "criterion" / group
    d.mkdir(parents=True, exist_ok=True)
    (d / gate.CHECK_FILE).write_text(json.dumps({"run": run, "correct": correct, "detail": "fake", **extra}))


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARGO_TARGET_DIR", str(tmp_path))
    return tmp_path


def test_gate_enforces_correct_on_every_line(tmp_path: Path, target: Path) -> None:
    """`benches/gate.py` records `correct` on every line but never enforces it."""
    good = results(tmp_path / "ok.json", {"correct": True}, {"correct": True})
    assert gate.judge(PY_LINE, gate.pytest_rates(good, RUN), RUN).verdict == "ok"
    # fast (ratio 2.0) but wrong, or not saying: FAIL whatever the speed
    for ours, anchor in [({"correct": False}, {"correct": True}), ({}, {"correct": True}),
                         ({"correct": True}, {"correct": False}), ({"correct": True}, {}),
                         ({"correct": "yes"}, {"correct": True})]:
        row = gate.judge(PY_LINE, gate.pytest_rates(results(tmp_path / "r.json", ours, anchor), RUN), RUN)
        assert (row.verdict, row.passed) == ("WRONG", False), (ours, anchor)
        assert "correct" in row.why
    # criterion: the group's check file says whether the result was right
    criterion(target, "grp", "trader", 100.0)
    criterion(target, "grp", "anchor", 200.0)
    check(target, "grp", True)
    assert gate.judge(CR_LINE, {}, RUN).verdict == "ok"
    check(target, "grp", False)
    row = gate.judge(CR_LINE, {}, RUN)
    assert row.verdict == "WRONG" and not row.passed and row.ratio is None
    (target / "criterion" / "grp" / gate.CHECK_FILE).unlink()
    assert gate.judge(CR_LINE, {}, RUN).verdict == "MISSING"


def test_gate_judges_only_measurements_of_this_run(tmp_path: Path, target: Path) -> None:
    """It reads criterion's `estimates.json` without checking it came from this run."""
    criterion(target, "grp", "trader", 100.0, age_s=3600)  # an earlier run's estimate
    criterion(target, "grp", "anchor", 200.0)
    check(target, "grp", True)
    row = gate.judge(CR_LINE, {}, RUN)
    assert row.verdict == "STALE" and not row.passed and "grp/trader" in row.why
    criterion(target, "grp", "trader", 100.0)
    assert gate.judge(CR_LINE, {}, RUN).verdict == "ok"
    check(target, "grp", True, run="an-earlier-run")  # a correctness check of another run
    assert gate.judge(CR_LINE, {}, RUN).verdict == "STALE"
    # pytest-benchmark results: stamped with another run's id, or unstamped, are not read
    for run in ("an-earlier-run", None):
        old = results(tmp_path / "old.json", {"correct": True}, {"correct": True}, run=run)
        assert gate.pytest_rates(old, RUN) == {}
        assert gate.judge(PY_LINE, gate.pytest_rates(old, RUN), RUN).verdict == "MISSING"


def test_a_bench_whose_data_is_missing_fails_and_leaves_no_result_to_judge(target: Path, monkeypatch) -> None:
    """Two benches `return` when data is missing, leaving old results to be judged."""
    monkeypatch.setenv("TRADER_SHARED_DATA", str(target / "nowhere"))
    monkeypatch.delenv("CI", raising=False)  # out of CI too: a bench never skips
    with pytest.raises(pytest.fail.Exception, match="bench data not found"):
        shared_file("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz")
    # What such a bench leaves: last run's files, no estimate of this run -> the line fails.
    criterion(target, "book_replay", "trader", 100.0, age_s=600)
    criterion(target, "book_replay", "decode_only", 50.0, age_s=600)
    check(target, "book_replay", True, run="an-earlier-run")
    line = next(ln for ln in gate.LINES if ln.group == "book_replay")
    row = gate.judge(line, {}, RUN)
    assert not row.passed and row.verdict == "STALE"
    # and the Rust benches panic instead of returning (no `return` on a failed read)
    for bench in ("book.rs", "l2.rs"):
        text = (gate.ROOT / "core-rs" / "benches" / bench).read_text()
        assert "common::shared_data(" in text and "skipped" not in text, bench


def test_a_re_measured_line_is_reported_as_such() -> None:
    """A failed line passes if a re-measure passes."""
    line = gate.Line("g", "pytest", "ours vs anchor", 1.0, "test")

    def row(ratio: float) -> gate.Row:
        return gate.Row(line, ours=ratio * 100, anchor=100.0, ratio=ratio, ratios=(ratio,),
                        verdict="ok" if ratio >= 1.0 else "FAIL")

    # judged on the second measurement, both ratios shown, marked ok* and named in the summary
    passed = gate.combine(row(0.9), row(1.3))
    assert passed.passed and passed.remeasured and passed.ratio == pytest.approx(1.3)
    assert "0.90 then 1.30, passed only on the re-measure" in passed.why
    assert "ok*" in gate.table([passed]) and "0.90 then 1.30" in gate.table([passed])
    s = gate.summary([passed, row(1.5)])
    assert s.startswith("gate: 2 passed, 0 failed; 1 passed only on a re-measure: g vs anchor (0.90 then 1.30)")
    # failing twice fails, with both ratios
    failed = gate.combine(row(0.5), row(0.9))
    assert not failed.passed and "0.50 then 0.90, failed twice" in failed.why
    assert "failed: g (FAIL" in gate.summary([failed])
    # a second measurement that is missing fails the line, saying so
    missing = gate.combine(row(0.9), gate.Row(line, why="missing: no ours result"))
    assert not missing.passed and "re-measure: missing" in missing.why


def test_lines_sit_at_the_goals_they_stand_for() -> None:
    """Several lines sit below the goals they stand for (vectorized 2000× where 2700× is claimed,
    the risk check judged as 0.9× of the venue leg instead of ≤ 200 ns, the ring at 0.6× rtrb)."""
    by = {(ln.group, ln.anchor): ln for ln in gate.LINES}
    # the absolute backtest goals against the yardstick's quiet rate on the prefix the bench times
    ref = gate.NAUTILUS_QUIET_BARS_S
    assert 13_000 <= ref <= 14_000  # measured 13.1-13.7k bars/s on the 100k-bar prefix, quiet
    assert by["ema_cross_vectorized", ""].threshold * ref >= 30e6
    assert by["every_bar_orders", ""].threshold * ref >= 5e5
    assert by["ema_cross_vs_nautilus", ""].threshold >= 50
    assert {round(ln.threshold * (1 if ln.threshold == 50 else ref)) for ln in gate.LINES
            if ln.group == "ema_cross_vs_nautilus"} == {50, 1_000_000}
    # the risk check against a fixed yardstick (194 ns quiet): <= 200 ns, not against the venue
    assert ("risk_check", "venue_accept") not in by
    assert by["risk_check", "yardstick"].threshold >= 194 / 200
    risk_bench = (gate.ROOT / "core-rs" / "benches" / "risk.rs").read_text()
    assert "const YARDSTICK_QUIET_NS: f64 = 194.0;" in risk_bench
    # the ring, on paired rounds: at 0.8 of rtrb and crossbeam (above 0.38, the 50M/s goal against
    # rtrb's quiet 130M/s; under parity by design, and the gate file says why next to the lines)
    assert by["spsc_ring", "rtrb"].threshold >= 0.8 and by["spsc_ring", "crossbeam_arrayqueue"].threshold >= 0.8
    text = (gate.ROOT / "benches" / "gate.py").read_text()
    ring = text[text.index('Goal ">= 50M msgs/s'):text.index('Line("spsc_ring"')]
    assert "BELOW ITS GOAL BY DESIGN" in ring and "0.38" in ring
    assert by["l2_mm_backtest", "replay"].threshold >= 1 / 0.81
    # every line names its goal; a threshold under its goal says why in the gate file
    assert all(ln.goal for ln in gate.LINES)
    assert "BELOW ITS GOAL BY DESIGN" in (gate.ROOT / "benches" / "gate.py").read_text()


def test_paired_criterion_lines_are_judged_on_the_paired_median(target: Path) -> None:
    """The ring's ratio is the median of paired rounds the bench records, not criterion's medians."""
    criterion(target, "grp", "trader", 100.0)
    criterion(target, "grp", "anchor", 50.0)  # criterion's medians alone would say 0.5
    check(target, "grp", True, paired_ratio={"anchor": 1.25})
    row = gate.judge(CR_LINE, {}, RUN)
    assert row.ratio == pytest.approx(1.25) and row.passed


# -- tests that cannot fail or test little: each fixed test fails when its claim is false ------


def outcome(node: str, mutation: str = "") -> str:
    """Run one test in a child pytest with ``mutation`` applied (tests/regressions/_mutations.py);
    its outcome: passed, failed or skipped."""
    import subprocess
    import sys

    env = dict(os.environ, TRADER_TEST_MUTATION=mutation, TRADER_PROPERTY_EXAMPLES="50")
    env.pop("CI", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", node, "-q", "-p", "no:cacheprovider", "-p",
                           "tests.regressions._mutations", "-rs"], cwd=gate.ROOT, env=env, capture_output=True, text=True)
    last = proc.stdout.strip().splitlines()[-1]
    for word in ("failed", "error", "passed", "skipped"):
        if f" {word}" in f" {last}":
            return "failed" if word == "error" else word
    raise AssertionError(proc.stdout + proc.stderr)


def test_hyperliquid_is_another_venue_can_fail(shared_data: Path) -> None:
    """`test_hyperliquid_is_another_venue` always skips."""
    node = "tests/test_book.py::test_hyperliquid_is_another_venue"
    assert outcome(node) == "passed"
    assert outcome(node, "accept_hyperliquid") == "failed"


def test_a_risk_layer_test_fails_on_the_wrong_outcome() -> None:
    """A risk layer test passes on either outcome."""
    node = "tests/test_risk_bindings.py::test_builtin_layers_are_parsed_before_they_are_built"
    assert outcome(node) == "passed"
    assert outcome(node, "unbuilt_layers") == "failed"


def test_statistics_are_checked_against_a_hand_computed_reference() -> None:
    """Sharpe, Sortino, CAGR, Calmar and profit factor are checked only for presence."""
    node = "tests/test_results.py::test_statistics_equal_their_formulas_computed_by_hand"
    assert outcome(node) == "passed"
    assert outcome(node, "sharpe_ddof_0") == "failed"


def test_a_latency_determinism_test_compares_different_seeds() -> None:
    """A latency determinism test never compares different seeds."""
    node = "tests/test_fill_models.py::test_lognormal_latency_is_deterministic_for_a_seed"
    assert outcome(node) == "passed"
    assert outcome(node, "seed_ignored") == "failed"


def test_undocumented_unsafe_blocks_are_denied() -> None:
    """12 `unsafe` blocks in `simd/avx2.rs` and `simd/avx512.rs` have no `// SAFETY:` line (the
    lint is only a warning)."""
    import tomllib

    cargo = tomllib.loads((gate.ROOT / "core-rs" / "Cargo.toml").read_text())
    assert cargo["lints"]["clippy"]["undocumented_unsafe_blocks"] == "deny"
    lib = (gate.ROOT / "core-rs" / "src" / "lib.rs").read_text()
    assert "#![warn(clippy::undocumented_unsafe_blocks)]" not in lib  # a crate attribute would override it
    ci = (gate.ROOT / ".ci" / "run").read_text()
    assert "cargo clippy -p trader-core --all-targets --features python -- -D clippy::undocumented_unsafe_blocks" in ci
    # every `unsafe {` in the SIMD backends has a SAFETY comment within the 4 lines above it
    for name in ("avx2.rs", "avx512.rs", "mod.rs", "decision.rs"):
        lines = (gate.ROOT / "core-rs" / "src" / "simd" / name).read_text().splitlines()
        for i, text in enumerate(lines):
            if "unsafe {" in text and "unsafe fn" not in text:
                assert any("SAFETY" in ln for ln in lines[max(0, i - 5):i + 1]), f"{name}:{i + 1}: {text.strip()}"
