"""The `xlsr_aasist` model (the AASIST back end of Tak et al.'s wav2vec 2.0 detector, Odyssey
2022): the official parameter count, the official outputs on deterministic weights, shapes, the
settings, other hidden sizes (a tiny wav2vec2 end to end), training, and the recipe configs."""

import math
from pathlib import Path

import pytest
import torch
import yaml

import antispoof.models.xlsr_aasist  # noqa: F401  (registers the model)
from antispoof.config import resolve, resolve_file
from antispoof.data.batch import Batch
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, SPOOF, one_hot
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.registry import ConfigError
from test_res2net import official_weights
from tiny_configs import TINY_WAV2VEC2

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "LA": REPO / "egs/asvspoof2019/conf/xlsr_aasist.yaml",
    "DF": REPO / "egs/asvspoof2021_df/conf/xlsr_aasist.yaml",
}


def ssl_spec(dim: int = 1024, channels: int = 1) -> dict[str, FeatureSpec]:
    """A wav2vec2 branch named `ssl`: XLS-R 300M's hidden size and framing by default."""
    return {"ssl": FeatureSpec(channels=channels, dim=dim, hop_length=320, frame_length=400)}


def count(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


# The official back end's parameter count: model.py of TakHemlata/SSL_Anti-spoofing (commit
# 77d1edb) run outside this repository with torch 2.11, `Model` with the fairseq SSL model
# replaced by an identity over (B, T, 1024) hidden states (no parameters), counted as
# main_SSL_LA.py counts: every parameter, `LL` (131,200) and the output layer (322) included.
# It includes the pre-activation BNs of residual blocks 2-6, which reach no output (2 x (32 + 32
# + 64 + 64 + 64)) and are not built here.
OFFICIAL_PARAMETERS = 447_242
UNUSED_BN_PARAMETERS = 512

# Golden outputs of that official back end (same file and run): `official_weights()` (as in
# test_res2net) drawn over OUR detector's state_dict (model then loss) and carried to the
# official keys (projection -> LL, encoder_bn -> first_bn1, encoder.i.{conv1, bn, conv2,
# shortcut} -> encoder.i.0.{conv1, bn2, conv2, conv_downsample}, spectral_position -> pos_S,
# branches.k.master -> master{k+1}, the graph layers as aasist.py maps them, loss.output ->
# out_layer with its rows swapped; the unused BNs set to random values, a strict load), in eval
# mode on a CPU under `torch.no_grad()`. Input: hidden states
# `torch.randn((B, T, 1024), generator=torch.Generator().manual_seed(seed))`, ours `(B, 1, T,
# 1024)`. `logits`: the official `[spoof, bona fide]` output; `embedding_every_16th`: the
# official `last_hidden[:, ::16]` (the input of out_layer). The inputs were chosen so that every
# graph pool's kept nodes are separated from the dropped ones by a score gap of at least 1e-4
# (seeded weights can saturate the sigmoid scores, and float32 ties make top-k arbitrary).
GOLDEN = {
    # (B, T) = (2, 201): the 64,600-sample crop of the recipes.
    ((2, 201), 32): {
        "float32": [[-10.736499, -0.623618], [-10.504386, -2.063145]],
        "float64": [[-10.7365051133, -0.62361142179], [-10.5043743864, -2.0631402487]],
        "embedding_every_16th": [
            [
                10.428627,
                4.103933,
                4.47244,
                2.330096,
                2.152859,
                5.971556,
                0.900661,
                3.696832,
                2.367688,
                -2.560559,
            ],
            [
                7.692595,
                7.187707,
                4.699796,
                3.390073,
                3.162594,
                5.242187,
                1.31115,
                2.861066,
                2.043852,
                -2.211702,
            ],
        ],
        "embedding_sum": [1060.04595828, 987.640564108],
    },
    ((3, 40), 2): {
        "float32": [[-6.705171, 2.09522], [-10.316961, 2.552234], [-10.152471, -1.2069]],
        "float64": [
            [-6.7051820462, 2.09521764317],
            [-10.3169516979, 2.55222197723],
            [-10.1524700632, -1.20691984737],
        ],
        "embedding_every_16th": [
            [
                4.087571,
                2.20062,
                2.181732,
                2.091739,
                5.016279,
                6.069131,
                3.670492,
                3.491639,
                -4.491928,
                -2.634173,
            ],
            [
                3.72259,
                2.220458,
                2.416745,
                1.669566,
                3.624259,
                3.446435,
                2.471338,
                2.571403,
                -5.889732,
                -4.305513,
            ],
            [
                5.011134,
                1.377216,
                3.984578,
                1.1965,
                9.702279,
                5.930274,
                3.371567,
                3.128269,
                -5.428225,
                -3.256251,
            ],
        ],
        "embedding_sum": [783.956987714, 903.517652916, 995.60065577],
    },
    ((1, 9), 4): {
        "float32": [[-12.747878, 2.202506]],
        "float64": [[-12.7478759505, 2.2025041811]],
        "embedding_every_16th": [
            [
                2.547122,
                2.1642,
                2.547122,
                2.1642,
                3.85811,
                12.058858,
                1.765022,
                9.233682,
                -0.007611,
                -0.120733,
            ],
        ],
        "embedding_sum": [666.819359153],
    },
    # The fewest frames there can be: one temporal node after the 3x3 max-pool.
    ((1, 3), 2): {
        "float32": [[-0.618367, -0.157469]],
        "float64": [[-0.618367098117, -0.157469423993]],
        "embedding_every_16th": [
            [
                0.72793,
                0.319821,
                0.72793,
                0.319821,
                0.44553,
                0.054997,
                0.14545,
                -0.016993,
                0.476393,
                0.028515,
            ],
        ],
        "embedding_sum": [98.3852666706],
    },
}


def seeded_model_and_head(dtype: torch.dtype = torch.float32):
    """The default model (XLS-R's 1024 dims) and a softmax head with `official_weights()`,
    in eval mode."""
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec())
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state |= {f"loss.{k}": v for k, v in head.state_dict().items()}
    weights = official_weights([(k, v.shape) for k, v in state.items()])
    for prefix, module in (("model.", model), ("loss.", head)):
        module.load_state_dict(
            {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}
        )
    return model.to(dtype).eval(), head.to(dtype).eval()


def hidden_states(shape: tuple[int, int], seed: int, dim: int = 1024) -> torch.Tensor:
    """`(B, 1, T, dim)` deterministic hidden states (the official input is `(B, T, dim)`)."""
    return torch.randn((*shape, dim), generator=torch.Generator().manual_seed(seed))[:, None]


# ---------------------------------------------------------------------------------------------
# the official back end


def test_parameter_count_is_the_official_one_less_the_unused_bn():
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec())
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    assert model.embedding_dim == 160
    assert count(model, head) == OFFICIAL_PARAMETERS - UNUSED_BN_PARAMETERS == 446_730
    assert count(model.projection) == 1024 * 128 + 128  # the official LL
    assert count(model.attention) == 16_832
    assert count(head) == 322
    assert model.spectral_position.shape == (1, 42, 64)  # the official pos_S


@pytest.mark.parametrize(("shape", "seed"), sorted(GOLDEN))
def test_deterministic_weights_give_the_official_outputs(shape, seed):
    golden = GOLDEN[(shape, seed)]
    # float64: the same computation to rounding; float32: what runs, its BN folding included.
    for name, dtype, tolerance in (
        ("float64", torch.float64, 1e-8),
        ("float32", torch.float32, 1e-4),
    ):
        model, head = seeded_model_and_head(dtype)
        with torch.no_grad():
            embedding = model({"ssl": hidden_states(shape, seed).to(dtype)})
            logits = head.logits(embedding)
        official = torch.tensor(golden[name], dtype=dtype)
        expected = official.flip(1)  # ours: bona fide first
        assert torch.allclose(logits, expected, rtol=0, atol=tolerance), (dtype, logits)
        every_16th = torch.tensor(golden["embedding_every_16th"], dtype=dtype)
        assert torch.allclose(embedding[:, ::16], every_16th, rtol=0, atol=max(tolerance, 1e-5))
        sums = torch.tensor(golden["embedding_sum"], dtype=dtype)
        assert torch.allclose(embedding.sum(1), sums, rtol=1e-6 if dtype == torch.float64 else 1e-5)
    # With `score: bonafide_logit`, a trial's score is the official evaluation's batch_out[:, 1].
    scorer = LOSSES.build("softmax", {"score": "bonafide_logit"}, embedding_dim=160).double()
    scorer.load_state_dict(head.state_dict())
    assert torch.allclose(scorer.score(embedding.double()), official[:, 1].double(), atol=2e-4)


# ---------------------------------------------------------------------------------------------
# shapes and settings


def test_registry_build_and_shapes_for_several_lengths():
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec()).eval()
    with torch.no_grad():
        for frames in (3, 4, 10, 67, 201, 250):
            out = model({"ssl": torch.randn(2, 1, frames, 1024)})
            assert out.shape == (2, 160)
            assert torch.isfinite(out).all()
        with pytest.raises(ValueError, match="T >= 3"):
            model({"ssl": torch.randn(1, 1, 2, 1024)})


def test_a_named_input_among_several_branches():
    inputs = {
        **ssl_spec(),
        "lfcc": FeatureSpec(channels=1, dim=60, hop_length=160, frame_length=320),
    }
    model = MODELS.build("xlsr_aasist", {"input": "ssl"}, inputs=inputs).eval()
    assert model.projection.in_features == 1024
    with pytest.raises(ConfigError, match="name it with `input`"):
        MODELS.build("xlsr_aasist", {}, inputs=inputs)


def test_several_layers_are_refused():
    with pytest.raises(ConfigError, match="gives 2 channels"):
        MODELS.build("xlsr_aasist", {}, inputs=ssl_spec(channels=2))


def test_other_hidden_sizes_build_and_run():
    # A tiny random wav2vec2 gives 16 dims.
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec(dim=16)).eval()
    assert model.projection.in_features == 16
    assert count(model) == 446_730 - 322 - (1024 - 16) * 128
    with torch.no_grad():
        assert model({"ssl": torch.randn(3, 1, 40, 16)}).shape == (3, 160)


def test_one_example_scores_as_in_a_batch():
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec(dim=16)).eval()
    feats = torch.randn(4, 1, 30, 16)
    with torch.no_grad():
        batched = model({"ssl": feats})
        single = torch.cat([model({"ssl": feats[index : index + 1]}) for index in range(4)])
    assert torch.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"filts": [128, [2, 32], [32, 32], [32, 64], [64, 64]]}, r"filts\[1\] reads 2"),
        ({"filts": [2, [1, 32], [32, 32], [32, 64], [64, 64]]}, "filts"),
        ({"attention_channels": 0}, "attention_channels"),
        ({"pool_ratios": [0.5, 0.0, 0.5, 0.5]}, "pool_ratios"),
        ({"temperatures": [2.0, 2.0, 0.0, 100.0]}, "temperatures"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("xlsr_aasist", settings, inputs=ssl_spec(dim=16))


def test_smaller_settings():
    settings = {
        "filts": [12, [1, 4], [4, 4], [4, 8], [8, 8]],
        "attention_channels": 6,
        "gat_dims": [8, 4],
    }
    model = MODELS.build("xlsr_aasist", settings, inputs=ssl_spec(dim=16)).eval()
    assert model.embedding_dim == 20
    assert model.spectral_position.shape == (1, 4, 8)
    with torch.no_grad():
        assert model({"ssl": torch.randn(2, 1, 12, 16)}).shape == (2, 20)


# ---------------------------------------------------------------------------------------------
# end to end with a tiny wav2vec2, and training


def tiny_detector_config() -> dict:
    return {
        "inputs": {
            "ssl": {
                "frontend": "wav2vec2",
                "frontend_conf": {"config": TINY_WAV2VEC2, "layers": [2]},
            }
        },
        "model": "xlsr_aasist",
        "model_conf": {"filts": [12, [1, 4], [4, 4], [4, 8], [8, 8]], "gat_dims": [8, 4]},
        "loss": "softmax",
        "loss_conf": {"class_weights": [0.9, 0.1], "score": "bonafide_logit"},
        "optim": "adam",
    }


def test_a_tiny_wav2vec2_detector_trains_every_parameter():
    torch.manual_seed(0)
    detector = build_detector(resolve(tiny_detector_config()))
    detector.set_epoch(1)  # the trainer's first epoch: the encoder is fine-tuned from the start
    spec = detector.specs["ssl"]
    assert spec.dim == 16 and detector.model.projection.in_features == 16
    samples = 1600  # 159 frames of the tiny encoder's hop 10
    t = torch.arange(samples) / 16000
    tones = torch.stack([torch.sin(2 * math.pi * (300 + 100 * k) * t) for k in range(3)])
    wav = torch.cat([0.3 * tones, 0.3 * torch.randn(3, samples)])
    target = one_hot(torch.tensor([BONAFIDE] * 3 + [SPOOF] * 3))
    batch = Batch(
        utts=[f"u{index}" for index in range(6)],
        wav=wav,
        lengths=torch.full((6,), samples),
        offsets=torch.zeros(6, dtype=torch.long),
        crop_samples=samples,
        frames={"ssl": spec.num_frames(samples)},
        target=target,
    )
    optimizer = torch.optim.Adam(detector.parameters(), lr=3e-3)
    losses = []
    for step in range(12):
        value, _ = detector.loss(detector.model(detector.features(batch)), target)
        optimizer.zero_grad()
        value.backward()
        if step == 0:
            missing = [name for name, p in detector.named_parameters() if p.grad is None]
            assert not missing, f"no gradient reaches {missing}"
        optimizer.step()
        losses.append(value.item())
    assert losses[-1] < losses[0]
    detector.eval()
    with torch.no_grad():
        scores = detector.score(batch)
    assert scores.shape == (6,) and torch.isfinite(scores).all()


def test_dropout_is_active_in_training_only():
    model = MODELS.build("xlsr_aasist", {}, inputs=ssl_spec(dim=16))
    feats = torch.randn(2, 1, 20, 16)
    torch.manual_seed(1)
    assert not torch.equal(model({"ssl": feats}), model({"ssl": feats}))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model({"ssl": feats}), model({"ssl": feats}))


# ---------------------------------------------------------------------------------------------
# the recipe configs: the official settings (main_SSL_LA.py, main_SSL_DF.py, data_utils_SSL.py)

OFFICIAL_TRAINING = {"lr": 1e-6, "weight_decay": 1e-4, "batch_size": 14, "epochs": 100}
OFFICIAL_RAWBOOST_ALGO = {"LA": 5, "DF": 3}


@pytest.mark.parametrize("track", sorted(CONFIGS))
def test_the_recipe_configs_are_the_official_settings(track):
    config = resolve_file(CONFIGS[track])
    branch = config["inputs"]["ssl"]
    assert branch["frontend"] == "wav2vec2"
    assert branch["frontend_conf"]["model"] == "facebook/wav2vec2-xls-r-300m"
    assert branch["frontend_conf"]["layers"] == [24]
    assert branch["frontend_conf"]["trainable"] is True
    assert branch["frontend_conf"]["normalize"] is False
    assert config["model"] == "xlsr_aasist"
    assert config["model_conf"] == {
        "input": None,
        "filts": [128, [1, 32], [32, 32], [32, 64], [64, 64]],
        "attention_channels": 128,
        "gat_dims": [64, 32],
        "pool_ratios": [0.5, 0.5, 0.5, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    }
    assert config["loss"] == "softmax"
    assert config["loss_conf"]["class_weights"] == [0.9, 0.1]
    assert config["loss_conf"]["score"] == "bonafide_logit"
    assert config["optim"] == "adam"
    assert config["optim_conf"]["lr"] == OFFICIAL_TRAINING["lr"]
    assert config["optim_conf"]["weight_decay"] == OFFICIAL_TRAINING["weight_decay"]
    assert config["scheduler"] == "constant" and config["scheduler_conf"]["factor"] == 1.0
    assert config["train"]["batch_size"] == OFFICIAL_TRAINING["batch_size"]
    assert config["train"]["epochs"] == OFFICIAL_TRAINING["epochs"]
    assert round(config["train"]["crop_seconds"] * 16000) == 64600
    assert config["train"]["seed"] == 1234
    assert config["inference"]["mode"] == "first"
    raw = yaml.safe_load(CONFIGS[track].read_text())
    assert raw["waveform_augment"] == {"rawboost": {"algo": OFFICIAL_RAWBOOST_ALGO[track]}}
    assert config["waveform_augment"]["rawboost"]["algo"] == OFFICIAL_RAWBOOST_ALGO[track]
