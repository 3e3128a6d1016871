"""`trader research walkforward`, `trader research cv` and `trader research montecarlo` on the built-in
synthetic series: what they print (--json, and the tables) is what the Python APIs give for the same
arguments, --out writes one row per window / fold / path with the expected columns, and options
reach the runs. (Their bad inputs are in test_cli_bad_inputs.py.) Small grids, few windows and
paths, --jobs 1: the whole file runs in a few seconds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from trader.backtest import make_strategy
from trader.cli import cli
from trader.research import montecarlo as mc
from trader.research.crossval import cpcv, purged_cv
from trader.research.sweep import load_bars
from trader.research.walkforward import walk_forward_optimize

GRID = ["fast=5:15:10", "slow=30:60:30"]
GRID_ARGS = [a for g in GRID for a in ("--grid", g)]


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _json(args: list[str]) -> dict:
    return json.loads(_run([*args, "--json"]))


def _plain(value):
    """As JSON gives it back: tuples as lists, NaN as None."""
    return json.loads(json.dumps(value, default=str).replace("NaN", "null"))


@pytest.fixture(scope="module")
def synthetic():
    return load_bars(None, {}, what="the tests")


# -- walkforward ----------------------------------------------------------------------------------

WF_ARGS = ["research", "walkforward", *GRID_ARGS, "--train", "20000", "--test", "10000", "--fee-bps", "5", "--jobs", "1"]


@pytest.fixture(scope="module")
def walk_forward():
    return walk_forward_optimize("ema_cross", GRID, None, train=20000, test=10000, jobs=1, fee_bps=5.0, mode="auto")


def test_walkforward_json_is_the_apis_result(walk_forward) -> None:
    out = _json(WF_ARGS)
    api = walk_forward
    assert out["strategy"] == "ema_cross" and out["objective"] == "sharpe" and out["params"] == ["fast", "slow"]
    assert (out["data"], out["symbol"], out["data_bars"], out["train"], out["test"], out["step"], out["gap"]) == \
           ("synthetic", "SYNTH-USDT", 100_000, 20000, 10000, None, 0)
    assert len(out["windows"]) == len(api.windows) == 8
    for w, a in zip(out["windows"], api.windows):
        assert (w["window"], w["train_start"], w["train_end"], w["test_start"], w["test_end"]) == \
               (a.window, a.train_start, a.train_end, a.test_start, a.test_end)
        assert w["params"] == a.params
        assert w["train_sharpe"] == a.in_sample["sharpe"]
        assert w["test_total_return"] == a.out_of_sample["total_return"]
        assert w["test_sharpe"] == a.out_of_sample["sharpe"]
        assert w["test_max_drawdown"] == a.out_of_sample["max_drawdown"]
        assert w["test_trades"] == a.out_of_sample["trades"]
    assert out["out_of_sample"] == _plain(api.stats)
    assert out["stability"] == _plain(api.stability)
    assert out["out_of_sample"]["fees_paid"] > 0  # --fee-bps reached the runs


def test_walkforward_prints_the_windows_the_stitched_result_and_the_stability(walk_forward) -> None:
    text = _run(WF_ARGS)
    s = walk_forward.stats
    assert "walk-forward: 8 windows" in text and "rolling windows: train 20,000 bars, test 10,000 bars" in text
    for value in (f"{s['total_return']:+.2%}", f"{s['sharpe']:.2f}", f"{s['max_drawdown']:.2%}", f"{s['trades']:,}"):
        assert value in text
    for w in walk_forward.windows:
        assert f"fast={w.params['fast']}, slow={w.params['slow']}" in text
        assert f"{w.out_of_sample['total_return']:+.2%}" in text
    for name, e in walk_forward.stability.items():
        assert " ".join(map(str, e["values"])) in text and f"{e['changes']} of 7" in text


def test_walkforward_anchored_with_durations_a_step_and_a_gap(tmp_path: Path) -> None:
    out_path = tmp_path / "windows.csv"
    out = _json(["research", "walkforward", "--grid", "fast=5:15:10", "-p", "slow=40", "--train", "14d", "--test", "7d",
                 "--step", "7d", "--gap", "30m", "--anchored", "--objective", "return", "--jobs", "1", "--out", str(out_path)])
    api = walk_forward_optimize("ema_cross", ["fast=5:15:10"], None, train="14d", test="7d", step="7d", gap="30m",
                                anchored=True, objective="return", fixed={"slow": "40"}, jobs=1, mode="auto")
    assert [(w["train_start"], w["test_start"], w["params"]) for w in out["windows"]] == \
           [(w.train_start, w.test_start, w.params) for w in api.windows]
    assert len({w["train_start"] for w in out["windows"]}) == 1  # anchored
    assert out["out_of_sample"] == _plain(api.stats) and out["fixed"] == {"slow": "40"}
    table = pacsv.read_csv(out_path)
    assert table.num_rows == len(api.windows)
    assert table.column_names == ["window", "train_start_ts", "train_end_ts", "test_start_ts", "test_end_ts", "fast",
                                  "train_total_return", "test_total_return", "test_sharpe", "test_max_drawdown",
                                  "test_trades", "test_fees_paid"]
    assert table.column("test_total_return").to_pylist() == [w.out_of_sample["total_return"] for w in api.windows]


def test_walkforward_out_writes_one_row_per_window(tmp_path: Path, walk_forward) -> None:
    path = tmp_path / "windows.parquet"
    _run([*WF_ARGS, "--out", str(path)])
    table = pq.read_table(path)
    assert table.column_names == ["window", "train_start_ts", "train_end_ts", "test_start_ts", "test_end_ts", "fast",
                                  "slow", "train_sharpe", "test_total_return", "test_sharpe", "test_max_drawdown",
                                  "test_trades", "test_fees_paid"]
    assert table.num_rows == len(walk_forward.windows)
    assert table.column("fast").to_pylist() == [w.params["fast"] for w in walk_forward.windows]
    assert table.column("test_start_ts").to_pylist() == [w.test_start for w in walk_forward.windows]
    assert table.column("train_sharpe").to_pylist() == [w.in_sample["sharpe"] for w in walk_forward.windows]


# -- cv -------------------------------------------------------------------------------------------


def _without_elapsed(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "elapsed_s"}


def test_purged_cv_json_and_fold_table_are_the_apis(tmp_path: Path) -> None:
    path = tmp_path / "folds.parquet"
    out = _json(["research", "cv", *GRID_ARGS, "--splits", "4", "--purge", "60", "--embargo", "10", "--slippage-bps", "2",
                 "--jobs", "1", "--out", str(path)])
    api = purged_cv("ema_cross", GRID, None, n_splits=4, purge=60, embargo=10, jobs=1, slippage_bps=2.0, mode="auto")
    assert _without_elapsed(out) == {"data": "synthetic", "symbol": "SYNTH-USDT", "data_bars": 100_000,
                                     "first": out["first"], "last": out["last"], "interval": "1m", "fixed": {},
                                     **_plain(_without_elapsed(api.summary()))}
    assert out["method"] == "purged_kfold" and out["n_folds"] == 4 and out["n_paths"] == 1
    table = pq.read_table(path)
    assert table.num_rows == 4 and table.equals(api.table())
    assert {"fold", "groups", "test_start", "test_end", "fast", "slow", "train_sharpe", "test_sharpe",
            "test_total_return"} <= set(table.column_names)


def test_purged_cv_prints_the_folds() -> None:
    text = _run(["research", "cv", *GRID_ARGS, "--splits", "4", "--purge", "60", "--jobs", "1"])
    api = purged_cv("ema_cross", GRID, None, n_splits=4, purge=60, jobs=1, mode="auto")
    assert "purged 4-fold; purge 60, embargo 0, warm-up 60 bars" in text
    for f in api.folds:
        assert f"fast={f.params['fast']}, slow={f.params['slow']}" in text
        assert f"{f.test_stats['total_return']:+.2%}" in text and f"{f.test_stats['sharpe']:.2f}" in text
    oos = api.summary()["out_of_sample"]
    assert f"return {oos['total_return']:+.2%}, Sharpe {oos['sharpe']:.2f}" in text


def test_cpcv_json_paths_and_the_path_sharpe_distribution(tmp_path: Path) -> None:
    folds, paths = tmp_path / "splits.csv", tmp_path / "paths.feather"
    args = ["research", "cv", *GRID_ARGS, "--cpcv", "--groups", "5", "--test-groups", "2", "--purge", "60", "--embargo", "5",
            "--jobs", "1", "--out", str(folds), "--paths-out", str(paths)]
    out = _json(args)
    api = cpcv("ema_cross", GRID, None, n_groups=5, n_test_groups=2, purge=60, embargo=5, jobs=1, mode="auto")
    assert _plain(_without_elapsed(api.summary())).items() <= _without_elapsed(out).items()
    assert out["method"] == "cpcv" and out["n_folds"] == 10 and out["n_paths"] == 4
    assert out["path_sharpe"] == _plain(api.path_sharpe)
    import pyarrow.feather as feather

    assert feather.read_table(paths).equals(api.paths_table())
    t = pacsv.read_csv(folds)
    assert t.num_rows == 10 and t.column_names == api.table().column_names
    text = _run(args[:-4])
    ps = api.path_sharpe
    assert "Sharpe ratio of the 4 backtest paths" in text
    assert all(f"{ps[k]:.2f}" in text for k in ("mean", "std", "min", "median", "max"))
    assert f"{ps['prob_nonpositive']:.0%}" in text


# -- montecarlo -----------------------------------------------------------------------------------

MC_PATHS, MC_BARS, MC_SEED = 12, 2000, 3


def _expected_distribution(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    qs = dict(zip(("q01", "q05", "q25", "median", "q75", "q95", "q99"),
                  np.quantile(v, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]).tolist()))
    return {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std(ddof=1)), "min": float(v.min()), **qs,
            "max": float(v.max())}


def _check_distributions(out: dict, table: np.ndarray) -> None:
    tot = table["total_return"]
    assert out["total_return"] == _expected_distribution(tot)
    assert out["max_drawdown"] == _expected_distribution(table["max_drawdown"])
    assert out["longest_underwater_bars"] == _expected_distribution(table["longest_underwater"])
    assert out["total_underwater_bars"] == _expected_distribution(table["total_underwater"])
    assert out["sharpe"] == _expected_distribution(table["sharpe"])
    assert out["var"] == {"0.95": mc.value_at_risk(tot, 0.95), "0.99": mc.value_at_risk(tot, 0.99)}
    assert out["cvar"] == {"0.95": mc.conditional_value_at_risk(tot, 0.95), "0.99": mc.conditional_value_at_risk(tot, 0.99)}
    assert out["risk_of_ruin"] == float(np.mean(table["ruined"]))


def test_montecarlo_gbm_json_is_run_paths_on_the_same_paths(tmp_path: Path, synthetic) -> None:
    path = tmp_path / "paths.parquet"
    out = _json(["research", "montecarlo", "--model", "gbm", "--paths", str(MC_PATHS), "--bars", str(MC_BARS), "--seed",
                 str(MC_SEED), "--fee-bps", "4", "--jobs", "1", "--out", str(path)])
    r = np.diff(np.log(synthetic.close))
    sigma = float(r.std(ddof=1))
    assert out["model_params"]["sigma"] == pytest.approx(sigma, rel=1e-12)
    assert out["model_params"]["mu"] == pytest.approx(float(r.mean()) + sigma * sigma / 2, rel=1e-9)
    assert (out["paths"], out["bars"], out["seed"], out["s0"]) == (MC_PATHS, MC_BARS, MC_SEED, float(synthetic.open[0]))
    paths = mc.gbm(MC_PATHS, MC_BARS, **out["model_params"], s0=float(synthetic.open[0]), seed=MC_SEED)
    bars = mc.paths_to_bars(paths, interval=synthetic.interval_ns, start=int(synthetic.ts[0]), symbol=synthetic.symbol,
                            seed=MC_SEED + 1)
    table = mc.run_paths("ema_cross", bars, jobs=1, fee_bps=4.0, mode="auto")
    _check_distributions(out, table)
    assert table["fees_paid"].sum() > 0
    written = pq.read_table(path)
    assert written.column_names == [name for name, _ in mc.RUN_FIELDS] and written.num_rows == MC_PATHS
    assert written.column("total_return").to_pylist() == table["total_return"].tolist()
    assert written.column("path").to_pylist() == list(range(MC_PATHS))


def test_montecarlo_bootstrap_with_a_flash_crash_and_fixed_params(synthetic) -> None:
    args = ["research", "montecarlo", "-p", "fast=5", "-p", "slow=20", "--model", "bootstrap:block_length=30", "--paths",
            "8", "--bars", "1500", "--seed", "1", "--stress", "flash_crash:depth=0.3,at=700", "--jobs", "1"]
    out = _json(args)
    assert out["model_params"] == {"method": "stationary", "block_length": 30.0}
    assert out["stress"] == {"scenario": "flash_crash", "at": 700, "depth": 0.3}
    r = np.diff(np.log(synthetic.close))
    paths = mc.block_bootstrap(r, 8, 1500, block_length=30.0, s0=float(synthetic.open[0]), seed=1)
    bars = mc.paths_to_bars(paths, interval=synthetic.interval_ns, start=int(synthetic.ts[0]), symbol=synthetic.symbol, seed=2)
    bars = [mc.stress(b, "flash_crash", 700, depth=0.3) for b in bars]
    table = mc.run_paths(lambda: make_strategy("ema_cross", {"fast": 5, "slow": 20}), bars, jobs=1, mode="auto")
    _check_distributions(out, table)
    text = _run(args[:-2] + ["--jobs", "1"])
    var, cvar = out["var"], out["cvar"]
    assert f"95% {var['0.95']:.2%}, 99% {var['0.99']:.2%}" in text and f"95% {cvar['0.95']:.2%}" in text
    assert f"{out['total_return']['median']:+.2%}" in text and "stress: flash_crash at bar 700 (depth=0.3)" in text
    assert f"risk of ruin (equity at or below zero): {out['risk_of_ruin']:.2%}" in text


@pytest.mark.parametrize("model", ["merton", "regime", "heston"])
def test_montecarlo_models_match_their_generators(model: str, synthetic) -> None:
    out = _json(["research", "montecarlo", "--model", model, "--paths", "4", "--bars", "800", "--seed", "5", "--jobs", "1"])
    generator = {"merton": mc.merton, "regime": mc.regime_switching, "heston": mc.heston}[model]
    params = out["model_params"]
    paths = generator(4, 800, **params, s0=float(synthetic.open[0]), seed=5)
    bars = mc.paths_to_bars(paths, interval=synthetic.interval_ns, start=int(synthetic.ts[0]), symbol=synthetic.symbol, seed=6)
    _check_distributions(out, mc.run_paths("ema_cross", bars, jobs=1, mode="auto"))
    # the parameters not given match the data's log-return variance
    v = float(np.var(np.diff(np.log(synthetic.close)), ddof=1))
    if model == "merton":
        total = params["sigma"] ** 2 + params["jump_intensity"] * (params["jump_mean"] ** 2 + params["jump_std"] ** 2)
    elif model == "regime":
        total = float(np.mean(np.square(params["sigmas"])))  # two regimes, each half the time
    else:
        total = params["theta"]
    assert total == pytest.approx(v, rel=1e-9)


def test_montecarlo_model_parameters_given_replace_the_data_s() -> None:
    out = _json(["research", "montecarlo", "--model", "gbm:sigma=0.002,mu=0", "--paths", "2", "--bars", "300", "--jobs", "1"])
    assert out["model_params"] == {"mu": 0.0, "sigma": 0.002}
    out = _json(["research", "montecarlo", "--model", "regime:sigmas=0.0005/0.001/0.003,stay=0.99", "--paths", "2", "--bars",
                 "300", "--jobs", "1"])
    assert out["model_params"]["sigmas"] == [0.0005, 0.001, 0.003]
    assert out["model_params"]["transition"][0] == pytest.approx([0.99, 0.005, 0.005])
    assert all(math.isclose(sum(row), 1.0) for row in out["model_params"]["transition"])
