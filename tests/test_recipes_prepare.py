"""Stage 1 of every real recipe, run through its own run.sh on the format-exact mini corpus.

Stage 0 (download and verification) is tested against a local server in test_download.py; here
its parts stand in for the corpus roots that stage 0 would leave.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table
from eval_corpora_replicas import (
    codecfake_unpacked,
    deepfake_eval_2024_copy,
    fake_or_real_norm,
    mlaad_with_mailabs,
    spoofceleb_unpacked,
)

# Each test runs a recipe's run.sh (stage 1) in a copy of the repository.
pytestmark = pytest.mark.recipe

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
        summary = validate_data_dir(data / split, check_audio_exists=True)
        assert summary.num_utts > 0
        # Stage 1 gives every set of the run its durations, read from the audio headers.
        durations = read_table(data / split / "utt2dur")
        for utt, path in read_table(data / split / "wav.scp").items():
            assert round(float(durations[utt]) * 16000) == soundfile.info(path).frames
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


# The evaluation corpora: each recipe's stage 1 on a replica of the root stage 0 would leave
# (marked complete, as stage 0 marks it), with the sets its run.sh scores validated by run.sh.
EVAL_RECIPES = {
    "fake_or_real": ("FAKE_OR_REAL_ROOT", fake_or_real_norm, {"for_test": 4528}),
    "codecfake": ("CODECFAKE_ROOT", codecfake_unpacked, {"codecfake_test": 16}),
    "mlaad": ("MLAAD_ROOT", mlaad_with_mailabs, {"mlaad_de": 7, "mlaad_uk": 6}),
    "spoofceleb": ("SPOOFCELEB_ROOT", spoofceleb_unpacked, {"spoofceleb_eval": 5}),
    "deepfake_eval_2024": (
        "DEEPFAKE_EVAL_2024_ROOT",
        deepfake_eval_2024_copy,
        {"dfeval2024_seg4": 8, "dfeval2024": 3},
    ),
}


@pytest.mark.parametrize("recipe", sorted(EVAL_RECIPES))
def test_evaluation_recipe_prepares_its_data(fresh_tree, tmp_path, recipe):
    variable, build, sizes = EVAL_RECIPES[recipe]
    root = tmp_path / recipe
    root.mkdir()
    build(root)
    (root / ".complete").write_text(f"{recipe}: replica\n")
    data = run_stage_1(fresh_tree, recipe, {variable: root})
    for name, size in sizes.items():
        summary = validate_data_dir(data / name, check_audio_exists=True)
        assert summary.num_utts == size
        assert summary.num_bonafide > 0 and summary.num_spoof > 0


def test_asvspoof5_recipe_prepares_its_data(fresh_tree, mini_corpus):
    data = run_stage_1(fresh_tree, "asvspoof5", {"ASVSPOOF5_ROOT": mini_corpus / "asv5"})
    for split in ("train", "dev", "eval"):
        summary = validate_data_dir(data / split, check_audio_exists=True)
        assert summary.num_bonafide > 0 and summary.num_spoof > 0
        assert {"utt2codec", "utt2codec_q", "utt2attack_tag", "utt2gender"} <= set(summary.files)
