"""The mini recipe end to end, exactly as the README runs it: `./run.sh` on a fresh tree.

The repository is copied, with its git directory and without recipe outputs, into a temporary
directory so the test never touches a developer's own egs/mini/{db,data,dump,exp}; the Python
environment is shared. The copy's `git status` before and after the runs tells whether a run
changed a tracked file or left one that git does not ignore.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECIPE_OUTPUTS = {
    "db",
    "data",
    "dump",
    "exp",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}
EXPERIMENTS = ("lfcc_resnet18_softmax", "lfcc_resnet18_ocsoftmax")

pytestmark = pytest.mark.recipe


def ignore_outputs(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name in RECIPE_OUTPUTS or name.endswith(".egg-info")}


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("clone") / "antispoof"
    shutil.copytree(REPO, tree, ignore=ignore_outputs)  # copy2 keeps mtimes: no reinstall
    return tree


def run_pipeline(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    return subprocess.run(["./run.sh", *args], cwd=tree, env=env, capture_output=True, text=True)


def git_status(tree: Path) -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def status_before(fresh_tree) -> str:
    """The copy's `git status` before any run: the developer's own uncommitted changes, if any."""
    return git_status(fresh_tree)


@pytest.fixture(scope="module")
def first_run(fresh_tree, status_before):
    result = run_pipeline(fresh_tree)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def test_all_stages_produce_metrics_plots_and_results(fresh_tree, first_run):
    recipe = fresh_tree / "egs" / "mini"
    assert (recipe / "db" / "mini" / ".complete").exists()
    for experiment in EXPERIMENTS:
        exp_dir = recipe / "exp" / experiment
        assert (exp_dir / "checkpoints" / "best.pt").exists()
        assert (exp_dir / "config.yaml").exists()
        assert (exp_dir / "RESULTS.md").exists()
        # Stage 5 fits the calibration on the dev scores, and evaluates every set through it.
        calibration = json.loads((exp_dir / "calibration.json").read_text())
        assert calibration["fitted_on"] == "data/dev" and calibration["scale"] > 0
        # calibration.json also names the checkpoint and config it was fitted for.
        for key in ("checkpoint_sha256", "config_sha256"):
            assert re.fullmatch("[0-9a-f]{64}", calibration.pop(key))
        for test_set in ("dev", "eval"):
            metrics = json.loads((exp_dir / test_set / "metrics.json").read_text())
            scored = (exp_dir / test_set / "scores.txt").read_text().splitlines()
            assert len(scored) == metrics["n_bonafide"] + metrics["n_spoof"]
            assert "min_tdcf" in metrics and metrics["per_attack"]
            assert {"min_dcf", "act_dcf", "cllr", "min_cllr"} <= set(metrics)
            assert metrics["calibration"] == calibration
            # A trained detector is better than chance in domain, under the project's polarity.
            assert metrics["eer"] < 0.5 and not metrics["polarity_warning"]
            for plot in ("det.png", "score_hist.png"):
                assert (exp_dir / test_set / plot).stat().st_size > 0
        # Out of domain: the 2021 DF replica (per subset, per codec x vocoder) and In-the-Wild.
        df21 = json.loads((exp_dir / "df21_full" / "metrics.json").read_text())
        assert df21["per_subset"]["eval"]["n_bonafide"] > 0 and "conditions" in df21
        itw = json.loads((exp_dir / "itw" / "metrics.json").read_text())
        assert itw["n_bonafide"] > 0 and itw["n_spoof"] > 0
        # Every set under the Arena's protocol too: all trials, each one's first window.
        arena = json.loads((exp_dir / "df21_full" / "metrics.arena.json").read_text())
        assert arena["protocol"] == "arena"
        assert (arena["n_bonafide"], arena["n_spoof"]) == (df21["n_bonafide"], df21["n_spoof"])
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert all(experiment in results for experiment in EXPERIMENTS)
    assert "| df21_full | Arena: all trials, first 4.04 s |" in results
    # The run prints the results table of both losses.
    assert all(f"| {experiment} | eval |" in first_run.stdout for experiment in EXPERIMENTS)


def test_a_second_run_skips_finished_stages(fresh_tree, first_run):
    result = run_pipeline(fresh_tree)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ".complete exists, skipping" in result.stderr
    for finished in ("stage 2: lfcc", "stage 3: training", "stage 4: scoring"):
        assert finished not in result.stderr
    # The calibration is cheap and refitted at every run, never reused.
    assert "stage 5: calibrating exp/lfcc_resnet18_softmax on its scores of data/dev" in (
        result.stderr
    )
    for marker in (
        "dump/lfcc_",
        "exp/lfcc_resnet18_softmax/.done.train",
        "exp/lfcc_resnet18_softmax/eval/.done.score",
    ):
        assert f": skipping: {marker}" in result.stderr


def test_in_the_wild_scores_a_model_trained_by_another_recipe(fresh_tree, first_run):
    replica = fresh_tree / "egs" / "mini" / "db" / "mini" / "itw"
    env = {
        **os.environ,
        "ANTISPOOF_VENV": str(Path(sys.executable).parents[1]),
        "IN_THE_WILD_ROOT": str(replica),
    }
    reused = "../mini/exp/lfcc_resnet18_ocsoftmax"
    result = subprocess.run(
        ["egs/in_the_wild/run.sh", "--stage", "1", "--exp_dir", reused],
        cwd=fresh_tree,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(
        (fresh_tree / "egs/mini/exp/lfcc_resnet18_ocsoftmax/itw/metrics.json").read_text()
    )
    assert "stage 3" not in result.stderr  # nothing is trained
    # No dev set here: itw is evaluated uncalibrated, and the experiment's own calibration (of
    # the mini recipe's dev scores) is left alone.
    assert "no --dev_set: evaluating" in result.stderr and "act_dcf" not in metrics
    assert (fresh_tree / "egs/mini/exp/lfcc_resnet18_ocsoftmax/calibration.json").is_file()
    results = (fresh_tree / "egs" / "in_the_wild" / "exp" / "RESULTS.md").read_text()
    assert "| lfcc_resnet18_ocsoftmax | itw |" in results
    assert "| lfcc_resnet18_ocsoftmax | eval |" not in results  # only this recipe's sets
    assert metrics["n_bonafide"] + metrics["n_spoof"] == 120


def test_the_runs_leave_the_checkout_as_they_found_it(fresh_tree, status_before, first_run):
    """Every file a run writes is ignored by git, and no tracked file changes (the curated
    egs/mini/RESULTS.md among them). Runs after the first one (this module's other tests) may
    have run before this test: the check covers them too."""
    assert git_status(fresh_tree) == status_before
