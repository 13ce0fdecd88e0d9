"""The zoo's architectures in the recipes: each released model's settings are those of the recipe
config that trains it anew (where the authors' recipe is known), and the mini recipe's tiny
version of every zoo architecture builds and trains one step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from antispoof.config import resolve_file
from antispoof.training.trainer import Trainer, TrainingData
from antispoof.zoo import ZOO, zoo_config
from toy_data import make_toy_data_dir

REPO = Path(__file__).resolve().parents[1]
# The recipe config that trains each zoo model anew. AntiDeepfake's post-training (about
# 74,000 h of speech) has none; aasist and aasist-l are test_published's.
RECIPES = {
    "ssl-aasist-la": "egs/asvspoof2019/conf/xlsr_aasist.yaml",
    "ssl-aasist-df": "egs/asvspoof2021_df/conf/xlsr_aasist.yaml",
    "xlsr-mamba-la": "egs/asvspoof2019/conf/xlsr_mamba.yaml",
    "xlsr-mamba-df": "egs/asvspoof2021_df/conf/xlsr_mamba.yaml",
    "nes2net-x": "egs/asvspoof2019/conf/nes2net_x.yaml",
}
# The mini recipe's tiny version of each zoo architecture.
MINI = {
    "aasist": "egs/mini/conf/aasist_small.yaml",
    "xlsr_aasist": "egs/mini/conf/xlsr_aasist_small.yaml",
    "xlsr_mamba": "egs/mini/conf/xlsr_mamba_small.yaml",
    "nes2net_x": "egs/mini/conf/nes2net_x_small.yaml",
    "mean_pool": "egs/mini/conf/antideepfake_small.yaml",
}


def test_every_zoo_architecture_has_a_mini_config():
    assert {zoo_config(name)["model"] for name in ZOO} == set(MINI)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_released_model_has_the_settings_of_the_recipe_that_trains_it(name):
    released, recipe = zoo_config(name), resolve_file(REPO / RECIPES[name])
    for key in ("model", "model_conf", "loss", "loss_conf", "optim", "waveform_augment"):
        assert released[key] == recipe[key], key
    for key in ("lr", "weight_decay"):
        assert released["optim_conf"][key] == recipe["optim_conf"][key], key
    for key in ("epochs", "batch_size", "crop_seconds", "seed", "precision"):
        assert released["train"][key] == recipe["train"][key], key
    assert released["inference"]["mode"] == recipe["inference"]["mode"] == "first"
    ours, theirs = released["inputs"]["ssl"], recipe["inputs"]["ssl"]
    for key in ("layers", "trainable", "normalize"):
        assert ours["frontend_conf"][key] == theirs["frontend_conf"][key], key
    # The recipe loads XLS-R 300M by name; the released model builds that architecture from its
    # settings (XLSR_300M) and loads the checkpoint's encoder.
    assert theirs["frontend_conf"]["model"] == "facebook/wav2vec2-xls-r-300m"
    assert ours["frontend_conf"]["config"]["hidden_size"] == 1024


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo_configs")
    data = TrainingData(
        make_toy_data_dir(root, "train", 2, 0), make_toy_data_dir(root, "dev", 2, 1)
    )
    return root, data


@pytest.mark.paper_configs
@pytest.mark.parametrize("architecture", sorted(MINI))
def test_the_mini_version_of_every_zoo_architecture_trains_a_step(toy, architecture):
    root, data = toy
    config = resolve_file(REPO / MINI[architecture], ["train.batch_size=2", "train.num_workers=0"])
    assert config["model"] == architecture
    trainer = Trainer(root / "exp" / architecture, config, data, torch.device("cpu"))
    before = {k: v.clone() for k, v in trainer.detector.state_dict().items()}
    loss = trainer._train_epoch(1, None)
    assert torch.isfinite(torch.tensor(loss))
    after = trainer.detector.state_dict()
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert any(k.startswith(("model.", "loss.")) for k in changed)
