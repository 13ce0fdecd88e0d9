"""MPIF-Res2Net: Li et al.'s Res2Net50 with the MPIF attention where SE-Res2Net has SE."""

from pathlib import Path

import pytest
import torch
import yaml

from antispoof.config import resolve_file
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.models import MODELS
from antispoof.models.mpif import MPIFAttention
from antispoof.models.res2net import Bottle2neck, SqueezeExcitation
from antispoof.registry import ConfigError

RES2NET50_WITH_HEAD = 883_806  # Li et al.'s published code, tests/test_res2net.py
BLOCKS = 3 + 4 + 6 + 3
# MPIFAttention's defaults: ECA (3) + frequency and time convs on mean and max (2 * 7 + 1 each)
# + one fusion weight per perspective (3); its own test derives this from the formula.
MPIF_DEFAULT_PARAMETERS = 3 + 15 + 15 + 3


def specs(dim: int = 45) -> dict[str, FeatureSpec]:
    return {"f0": FeatureSpec(channels=1, dim=dim, hop_length=130, frame_length=1728)}


def test_every_block_holds_the_mpif_attention_and_no_se():
    model = MODELS.build("mpif_res2net", {}, inputs=specs())
    blocks = [m for m in model.modules() if isinstance(m, Bottle2neck)]
    assert len(blocks) == BLOCKS
    assert all(isinstance(block.attention, MPIFAttention) for block in blocks)
    assert not any(isinstance(m, SqueezeExcitation) for m in model.modules())
    out = model({"f0": torch.randn(2, 1, 40, 45)})
    assert out.shape == (2, model.embedding_dim) == (2, 256)


def test_parameter_count_is_res2net50_plus_the_attention_of_each_block(tmp_path: Path):
    path = tmp_path / "c.yaml"
    extends = ["frontend/f0_subband", "model/mpif_res2net", "train/res2net_li"]
    path.write_text(yaml.safe_dump({"extends": extends}))
    detector = build_detector(resolve_file(path))
    assert detector.num_parameters() == RES2NET50_WITH_HEAD + BLOCKS * MPIF_DEFAULT_PARAMETERS


@pytest.mark.parametrize("kept", [["channel"], ["frequency", "time"]])
def test_perspectives_switch_off_through_the_config(kept):
    model = MODELS.build("mpif_res2net", {"perspectives": kept}, inputs=specs())
    for block in (m for m in model.modules() if isinstance(m, Bottle2neck)):
        assert sorted(block.attention.perspectives) == sorted(kept)


def test_bad_attention_settings_are_config_errors():
    with pytest.raises(ConfigError, match="perspectives"):
        MODELS.build("mpif_res2net", {"perspectives": []}, inputs=specs())
    with pytest.raises(ConfigError, match="se_reduction"):
        MODELS.build("mpif_res2net", {"se_reduction": 16}, inputs=specs())
