"""Stage 1 of every real recipe, run through its own run.sh on the format-exact mini mini_corpus.

Stage 0 (download and verification) is tested against a local server in test_download.py; here
the mini_corpus stand in for the corpus roots that stage 0 would leave.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from antispoof.data.datadir import validate_data_dir

REPO = Path(__file__).resolve().parents[1]
RECIPE_OUTPUTS = {"db", "data", "dump", "exp", ".venv", ".git", "__pycache__", ".pytest_cache"}


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("clone") / "antispoof"
    shutil.copytree(REPO, tree, ignore=lambda _, names: set(names) & RECIPE_OUTPUTS)
    return tree


def run_stage_1(tree: Path, recipe: str, roots: dict[str, Path]) -> Path:
    env = {**os.environ, **{k: str(v) for k, v in roots.items()}}
    env["ANTISPOOF_VENV"] = str(Path(sys.executable).parents[1])
    result = subprocess.run(
        [f"egs/{recipe}/run.sh", "--stage", "1", "--stop-stage", "1"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return tree / "egs" / recipe / "data"


def test_asvspoof2019_recipe_prepares_its_data(fresh_tree, mini_corpus):
    data = run_stage_1(fresh_tree, "asvspoof2019", {"ASVSPOOF2019_ROOT": mini_corpus})
    for split in ("train", "dev", "eval"):
        assert validate_data_dir(data / split, check_audio_exists=True).num_utts > 0
    assert (data / "eval" / "asv_scores.txt").exists()


def test_asvspoof2021_df_recipe_prepares_evaluation_and_training_sets(fresh_tree, mini_corpus):
    roots = {"ASVSPOOF2019_ROOT": mini_corpus, "ASVSPOOF2021_DF_ROOT": mini_corpus / "df21"}
    data = run_stage_1(fresh_tree, "asvspoof2021_df", roots)
    full = validate_data_dir(data / "df21_full", check_audio_exists=True)
    official = validate_data_dir(data / "df21_eval", check_audio_exists=True)
    assert 0 < official.num_utts < full.num_utts
    assert {"utt2codec", "utt2vocoder", "utt2subset"} <= set(full.files)
    for split in ("df21_train", "df21_dev", "df21_eval_heldout", "train", "dev", "eval"):
        validate_data_dir(data / split, check_audio_exists=True)


def test_in_the_wild_recipe_prepares_its_data(fresh_tree, mini_corpus):
    data = run_stage_1(fresh_tree, "in_the_wild", {"IN_THE_WILD_ROOT": mini_corpus / "itw"})
    summary = validate_data_dir(data / "itw", check_audio_exists=True)
    assert summary.num_bonafide > 0 and summary.num_spoof > 0
    assert "utt2clip" in summary.files


def test_asvspoof5_recipe_prepares_its_data(fresh_tree, mini_corpus):
    data = run_stage_1(fresh_tree, "asvspoof5", {"ASVSPOOF5_ROOT": mini_corpus / "asv5"})
    for split in ("train", "dev", "eval"):
        summary = validate_data_dir(data / split, check_audio_exists=True)
        assert summary.num_bonafide > 0 and summary.num_spoof > 0
        assert {"utt2codec", "utt2codec_q", "utt2attack_tag", "utt2gender"} <= set(summary.files)
