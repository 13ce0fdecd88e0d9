"""The ASVspoof 5 recipe end to end on the mini corpus's replica: `egs/asvspoof5/run.sh` stages
0-5 with the organisers' AASIST shrunk by overrides, and the mini recipe on the replica's sets.

The replica carries the `.complete` marker a downloaded corpus gets, so stage 0 takes it as it
would take the release (the download itself is tested on a loopback server in
test_download.py). The repository is copied without recipe outputs, as in test_recipe_mini.py.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from antispoof.data.datadir import validate_data_dir
from antispoof.synth.asv5_layout import ASV5_DIR, CODECS

REPO = Path(__file__).resolve().parents[1]
RECIPE_OUTPUTS = {"db", "data", "dump", "exp", ".venv", ".git", "__pycache__", ".pytest_cache"}
# The organisers' AASIST at a fraction of its width, 1-s crops, two epochs: minutes on a CPU.
TINY_AASIST = (
    "model_conf.first_conv=16 model_conf.filts=[21,[1,4],[4,4],[4,8],[8,8]] "
    "model_conf.gat_dims=[8,4] train.epochs=2 train.batch_size=8 train.crop_seconds=1.0 "
    "train.num_workers=0"
)

pytestmark = pytest.mark.recipe


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("clone") / "antispoof"
    shutil.copytree(REPO, tree, ignore=lambda _, names: set(names) & RECIPE_OUTPUTS)
    return tree


def run_recipe(tree: Path, recipe: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    command = [f"egs/{recipe}/run.sh", "--ngpu", "0", *args]
    result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


@pytest.fixture(scope="module")
def asvspoof5_run(fresh_tree, mini_corpus):
    replica = mini_corpus / ASV5_DIR
    return run_recipe(fresh_tree, "asvspoof5", "--db_root", str(replica), "--override", TINY_AASIST)


def test_stages_0_to_5_on_the_replica(fresh_tree, mini_corpus, asvspoof5_run):
    recipe = fresh_tree / "egs" / "asvspoof5"
    assert f"{mini_corpus / ASV5_DIR}/.complete exists, skipping" in asvspoof5_run.stderr
    for name in ("train", "dev", "eval"):
        files = validate_data_dir(recipe / "data" / name, check_audio_exists=True).files
        assert {"utt2codec", "utt2codec_q", "utt2attack_tag", "utt2gender"} <= set(files)
    (exp_dir,) = (recipe / "exp").glob("aasist__*")
    metrics = json.loads((exp_dir / "eval" / "metrics.json").read_text())
    # Every Track 1 figure, actDCF and Cllr through the calibration fitted on dev.
    assert {"min_dcf", "act_dcf", "cllr", "eer"} <= set(metrics)
    assert metrics["calibration"]["fitted_on"] == "data/dev"
    table = metrics["conditions"]["attack_x_codec"]
    assert list(table["column_labels"]) == ["-", *CODECS, "Pooled"]
    assert list(table["cells"]) == [f"A{n}" for n in range(17, 33)] + ["Pooled"]
    pooled = table["cells"]["Pooled"]["Pooled"]
    assert {key: pooled[key] for key in ("eer", "min_dcf", "act_dcf", "cllr")} == {
        key: metrics[key] for key in ("eer", "min_dcf", "act_dcf", "cllr")
    }
    for codec in ("-", *CODECS):  # per codec condition: both classes in each
        assert table["cells"]["Pooled"][codec]["n_bonafide"] > 0
    results = (exp_dir / "RESULTS.md").read_text()
    for figure in ("min DCF", "EER (%)", "actDCF", "Cllr (bits)"):
        assert f"## {figure} per attack x codec: eval, {exp_dir.name}, all trials" in results
    assert f"| {exp_dir.name} | eval |" in asvspoof5_run.stdout


def test_the_mini_recipe_trains_and_evaluates_on_the_replica_sets(fresh_tree, mini_corpus):
    sets = ("--train_set", "asv5_train", "--dev_set", "asv5_dev", "--test_sets", "asv5_eval")
    run_recipe(
        fresh_tree,
        "mini",
        "--db_root",
        str(mini_corpus),
        "--stage",
        "1",
        *sets,
        "--config",
        "conf/lfcc_resnet18_softmax.yaml",
        "--override",
        "train.epochs=2",
    )
    exp_dir = fresh_tree / "egs" / "mini" / "exp" / "lfcc_resnet18_softmax__train.epochs=2"
    metrics = json.loads((exp_dir / "asv5_eval" / "metrics.json").read_text())
    assert metrics["n_bonafide"] > 0 and "attack_x_codec" in metrics["conditions"]
