"""The `mean_pool` model (the back end of NII's AntiDeepfake detectors): the official outputs
on deterministic weights through the key mapping, and AntiDeepfake's waveform normalisation
(`layer_norm` over the whole file) through the ssl frontend's `normalize_eps`."""

import pytest
import torch

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.mean_pool import official_backend_state_dict
from antispoof.registry import ConfigError
from tiny_configs import TINY_WAV2VEC2
from zoo_weights import zoo_weight

# Golden outputs of the official model: models/W2V.py of nii-yamagishilab/AntiDeepfake (commit
# 0dea622) run outside this repository with torch 2.11 on a CPU, fairseq's Wav2Vec2Model
# replaced by a stub that returns the given hidden states, `Model(name)` with every tensor of
# its state_dict set to `zoo_weight(official key, shape)` (tests/zoo_weights.py), eval mode,
# `torch.no_grad()`, `forward(wav, inference=True)`. Input: hidden states `torch.randn((B, T,
# dim), generator=torch.Generator().manual_seed(seed))`. `logits`: the official `[fake, real]`
# output; `pooled_every_128th`: the official `pooled_emb[:, ::128]` (from `analysis`).
GOLDEN = {
    ("mms_300m", 1024): {
        ((2, 201), 32): {
            "logits": [[0.107591, -0.132537], [0.109458, -0.067609]],
            "pooled_every_128th": [
                [
                    -0.033059,
                    -0.050733,
                    0.06655,
                    -0.021911,
                    0.100491,
                    0.061931,
                    -0.047878,
                    -0.016927,
                ],
                [
                    0.072704,
                    0.053382,
                    0.009728,
                    0.010576,
                    0.086855,
                    -0.101617,
                    -0.030523,
                    0.111886,
                ],
            ],
        },
        ((1, 7), 4): {
            "logits": [[0.763494, -0.230811]],
            "pooled_every_128th": [
                [
                    -0.106405,
                    -0.017776,
                    0.603011,
                    -0.017698,
                    0.236319,
                    -0.141472,
                    0.190087,
                    -0.404635,
                ]
            ],
        },
    },
    ("mms_1b", 1280): {
        ((2, 50), 5): {
            "logits": [[0.114566, -0.197176], [0.090534, -0.155344]],
            "pooled_every_128th": [
                [
                    -0.267781,
                    -0.141784,
                    0.07727,
                    0.209371,
                    -0.020323,
                    0.120421,
                    -0.00718,
                    -0.062065,
                    -0.059852,
                    -0.069867,
                ],
                [
                    -0.029737,
                    -0.137536,
                    0.134038,
                    0.044819,
                    -0.230746,
                    0.013792,
                    0.031543,
                    -0.008492,
                    0.066937,
                    0.130212,
                ],
            ],
        },
    },
}


def spec(dim: int, channels: int = 1) -> dict[str, FeatureSpec]:
    return {"ssl": FeatureSpec(channels=channels, dim=dim, hop_length=320, frame_length=400)}


@pytest.mark.parametrize(("name", "dim"), sorted(GOLDEN))
def test_deterministic_weights_give_the_official_outputs(name, dim):
    model = MODELS.build("mean_pool", {}, inputs=spec(dim)).eval()
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim).eval()
    official = {key: zoo_weight(key, (2, dim) if key.endswith("weight") else (2,))
                for key in ("proj_fc.weight", "proj_fc.bias")}  # fmt: skip
    mapped = official_backend_state_dict(official)
    head.load_state_dict({k.removeprefix("loss."): v for k, v in mapped.items()})
    assert sum(p.numel() for p in model.parameters()) == 0
    for (shape, seed), expected in GOLDEN[(name, dim)].items():
        hidden = torch.randn((*shape, dim), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            pooled = model({"ssl": hidden[:, None]})
            logits = head.logits(pooled)
        assert torch.allclose(logits, torch.tensor(expected["logits"]).flip(1), atol=1e-5)
        assert torch.allclose(
            pooled[:, ::128], torch.tensor(expected["pooled_every_128th"]), atol=1e-5
        )
        # The authors' score, softmax(logits)[:, 1] (real), orders trials as the log-odds do.
        scorer = LOSSES.build("softmax", {"score": "logodds"}, embedding_dim=dim)
        scorer.load_state_dict(head.state_dict())
        real = torch.tensor(expected["logits"]).softmax(dim=1)[:, 1]
        odds = scorer.score(pooled)
        assert torch.allclose(torch.sigmoid(odds), real, atol=1e-5)


def test_an_unknown_official_key_and_several_layers_are_errors():
    with pytest.raises(KeyError, match="AntiDeepfake"):
        official_backend_state_dict({"m_ssl.model.mask_emb": torch.ones(1)})
    with pytest.raises(ConfigError, match="gives 2 channels"):
        MODELS.build("mean_pool", {}, inputs=spec(16, channels=2))


def test_the_frontend_normalises_as_antideepfake_does():
    # AntiDeepfake's dataio: `torch.nn.functional.layer_norm(wav, wav.shape)` on each file.
    tiny = {"model_type": "wav2vec2", **TINY_WAV2VEC2}
    settings = {"layers": [2], "weighted_sum": False, "normalize": True, "normalize_eps": 1e-5}
    frontend = FRONTENDS.build("ssl", {"config": tiny, **settings}).eval()
    quiet = 0.003 * torch.randn(1, 1600, generator=torch.Generator().manual_seed(1))
    seen = []
    frontend.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    with torch.no_grad():
        frontend(quiet, torch.tensor([1600]))
    expected = torch.nn.functional.layer_norm(quiet[0], quiet[0].shape)
    assert torch.allclose(seen[0][0], expected, atol=1e-5)
    with pytest.raises(ValueError, match="normalize_eps"):
        FRONTENDS.build("ssl", {"config": tiny, "normalize_eps": 0.0})
