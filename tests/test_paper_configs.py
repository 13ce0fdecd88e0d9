"""Every row of the published tables names a config that exists, and every such config builds
and trains one step at its own crop length and input shapes: its branches, model and loss fit
together. Encoders that need downloaded weights get a randomly initialised encoder of the same
width and window instead (nothing can be downloaded here), which leaves every shape unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from antispoof.config import resolve, resolve_file
from antispoof.paper_tables.table import load_table, packaged_tables
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import offline
from toy_data import make_toy_data_dir

pytestmark = pytest.mark.paper_configs

REPO = Path(__file__).resolve().parents[1]
# The packaged tables, and the mini recipe's versions of the poster's DF rows, of the
# (SE-)Res2Net and MPIF-Res2Net rows and of WaveSpec and XLSR-AASIST.
TABLES = [
    *packaged_tables(),
    str(REPO / "egs/mini/poster_table.yaml"),
    str(REPO / "egs/mini/res2net_table.yaml"),
    str(REPO / "egs/mini/wavespec_table.yaml"),
]
ROWS = [row for name in TABLES for row in load_table(name).rows if row.config]
CONFIGS = sorted({(row.config_path, tuple(row.overrides)) for row in ROWS})


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper_configs")
    # One bona fide and one spoof utterance: one training step of batch 2.
    data = TrainingData(
        make_toy_data_dir(root, "train", 2, 0), make_toy_data_dir(root, "dev", 2, 1)
    )
    return root, data


def test_every_row_names_an_existing_config():
    missing = [row.config_path for row in ROWS if not (REPO / row.config_path).is_file()]
    assert not missing, f"published-table rows without their config: {missing}"
    # The poster's 10 rows, the OC-Softmax paper's, AASIST(-L) trained, the 4 mini rows; Li et
    # al.'s 4, MPIF-Res2Net's 6 and their 4 mini rows; WaveSpec's 7 and XLSR-AASIST, and their
    # 2 mini rows.
    assert len(ROWS) == 41


@pytest.mark.parametrize(("config_path", "overrides"), CONFIGS, ids=lambda v: str(v))
def test_the_config_of_every_row_trains_a_step(toy, config_path, overrides):
    root, data = toy
    config = resolve_file(REPO / config_path, [*overrides, "train.batch_size=2"])
    config = resolve(yaml.safe_load(yaml.safe_dump(offline(config))))
    exp_dir = root / "exp" / Path(config_path).stem
    trainer = Trainer(exp_dir, config, data, torch.device("cpu"))
    before = {k: v.clone() for k, v in trainer.detector.state_dict().items()}
    frozen = config["train"]["freeze"]
    loss = trainer._train_epoch(1, None)
    assert torch.isfinite(torch.tensor(loss))
    after = trainer.detector.state_dict()
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert any(k.startswith("model.") for k in changed)
    for branch in frozen:  # frozen in epoch 1: untouched
        assert not any(k.startswith(f"inputs.{branch}.") for k in changed)
