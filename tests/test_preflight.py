"""Errors at the door: run.sh checks every named corpus, data set, config and experiment before
any stage does work, names what exists, and leaves nothing behind; `--help` lists every option
with the value the run would take."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from antispoof.corpora.sets import CORPUS_SETS
from antispoof.preflight import RunPlan, check_run
from tiny_configs import REPO, tiny_detector
from toy_data import make_toy_data_dir

ENV = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    recipe = tmp_path / "recipe"
    for name in ("train", "dev", "eval"):
        make_toy_data_dir(recipe, name, 4, 0)
    (recipe / "conf").mkdir()
    (recipe / "conf" / "tiny.yaml").write_text(yaml.safe_dump(tiny_detector(epochs=1)))
    return recipe


def plan(recipe: Path, **changes) -> RunPlan:
    settings = {
        "recipe_dir": recipe,
        "stage": 2,
        "stop_stage": 5,
        "corpora": (),
        "train_set": "train",
        "dev_set": "dev",
        "test_sets": ("dev", "eval"),
        "configs": ("conf/tiny.yaml",),
        "run_overrides": ((),),
        "exp_dir": "",
        **changes,
    }
    return RunPlan(**settings)


def test_a_run_of_existing_inputs_passes(recipe):
    assert check_run(plan(recipe)) == []


def test_a_misspelt_set_names_the_sets_that_exist(recipe):
    problems = check_run(plan(recipe, train_set="trian", test_sets=("dev", "evl")))
    assert len(problems) == 2
    assert problems[0].startswith(f"--train_set trian: no data set {recipe / 'data/trian'}")
    assert "the sets are dev, eval, train" in problems[0]
    assert problems[1].startswith("--test_sets evl: no data set")


def test_sets_that_stage_1_of_the_run_writes_need_not_exist_yet(tmp_path):
    recipe = tmp_path / "fresh"
    recipe.mkdir()
    fresh = plan(
        recipe,
        stage=0,
        corpora=(("asvspoof2021_df", "db/df"), ("asvspoof2019", "db/la")),
        test_sets=("dev", "df21_full"),
        configs=(),
    )
    assert check_run(fresh) == []
    # Without stage 1 in the run, they must exist; the message says which stage makes them.
    later = check_run(plan(recipe, stage=2, corpora=fresh.corpora, test_sets=("df21_full",)))
    assert any("df21_full" in p and "stage 1 makes it (--stage 1)" in p for p in later)


def test_stage_1_without_stage_0_needs_a_complete_corpus(recipe):
    problems = check_run(plan(recipe, stage=1, corpora=(("mini", "db/mini"),)))
    assert problems == [
        f"corpus mini: {recipe / 'db/mini'} does not exist: run stage 0 (--stage 0) to get it, "
        "or point --db_root (or conf/db.sh) at a complete copy"
    ]
    assert check_run(plan(recipe, stage=0, corpora=(("mini", "db/mini"),))) == []
    (recipe / "db/mini").mkdir(parents=True)
    (recipe / "db/mini/.complete").touch()
    assert check_run(plan(recipe, stage=1, corpora=(("mini", "db/mini"),))) == []


def test_an_unknown_corpus_names_the_known_ones(recipe):
    (problem,) = check_run(plan(recipe, stage=0, corpora=(("asvspoof2091", "db/x"),)))
    assert problem.startswith("--corpora: no corpus 'asvspoof2091' (local/asvspoof2091/); known:")
    assert "'asvspoof2019'" in problem and "'mini'" in problem


def test_a_missing_config_lists_the_recipe_configs_and_a_bad_key_is_named(recipe):
    (missing,) = check_run(plan(recipe, configs=("conf/tinny.yaml",)))
    assert (
        missing
        == "--config conf/tinny.yaml: no such file; the recipe's configs: ['conf/tiny.yaml']"
    )
    (bad,) = check_run(plan(recipe, run_overrides=(("train.epoch=2",),)))
    assert bad.startswith("--config conf/tiny.yaml: ") and "epoch" in bad


def test_exp_dir_must_hold_an_experiment(recipe):
    (problem,) = check_run(plan(recipe, exp_dir="exp/none", configs=()))
    assert problem == (
        f"--exp_dir exp/none: {recipe / 'exp/none'} does not exist; give a trained experiment "
        "directory"
    )


def test_cache_options_must_be_ones_stage_2_knows(recipe):
    problems = check_run(plan(recipe, cache="some", cache_budget="half", cache_dtype="bfloat16"))
    assert problems[0] == "--cache some: not one of auto, all, none"
    assert problems[1] == "--cache_dtype bfloat16: not one of float32, float16"
    assert problems[2].startswith("--cache_budget 'half' is not a size")
    assert check_run(plan(recipe, cache="none", cache_budget="1.5T", cache_dtype="float16")) == []


def test_every_corpus_has_its_sets_declared():
    corpora = sorted(path.name for path in (REPO / "local").iterdir() if path.is_dir())
    assert sorted(CORPUS_SETS) == corpora


def run_sh(recipe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(REPO / "run.sh"), "--recipe_dir", str(recipe), "--ngpu", "0", *args]
    return subprocess.run(command, cwd=recipe, env=ENV, capture_output=True, text=True)


def test_run_sh_stops_before_any_work_and_leaves_nothing(recipe):
    before = sorted(path.relative_to(recipe) for path in recipe.rglob("*"))
    result = run_sh(
        recipe,
        "--stage",
        "2",
        "--config",
        "conf/tiny.yaml",
        "--train_set",
        "trian",
        "--cache_budget",
        "200%",
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "--train_set trian: no data set" in result.stderr
    assert "--cache_budget '200%': a share of the free space is <= 100%" in result.stderr
    assert "the sets are dev, eval, train" in result.stderr
    after = sorted(
        path.relative_to(recipe) for path in recipe.rglob("*") if path.name != ".run.lock"
    )
    assert after == before  # no experiment directory, no cache


def test_help_lists_every_option_with_the_value_the_run_takes():
    result = subprocess.run(
        [str(REPO / "egs" / "asvspoof2021_df" / "run.sh"), "--help"],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    declared = [
        line.split("=", 1)[0]
        for line in (REPO / "run.sh").read_text().split("# Options;")[1].splitlines()
        if line and line[0].isalpha() and "=" in line.split()[0]
    ]
    assert "stage" in declared and "test_sets" in declared
    for name in declared:
        assert f"--{name} " in result.stdout, name
    # The recipe's values, not the pipeline's defaults.
    assert "'dev df21_full'" in result.stdout and "'0'" in result.stdout
