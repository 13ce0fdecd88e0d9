"""The `aasist` model: the official AASIST and AASIST-L weights give the official outputs through
the key mapping, the published parameter counts, shapes, the settings, training, and the
`softmax` settings that the published AASIST uses (class weights, bona fide logit score)."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from antispoof.config import resolve_file
from antispoof.data.batch import Batch
from antispoof.detector import Detector, build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, SPOOF, one_hot
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.aasist import (
    model_conf_from_official,
    official_state_dict,
    sinc_filters,
)
from antispoof.registry import ConfigError

REPO = Path(__file__).resolve().parents[1]
PRETRAINED = REPO / "src/antispoof/pretrained/aasist"
CONFIGS = {
    "AASIST": REPO / "egs/asvspoof2019/conf/aasist.yaml",
    "AASIST-L": REPO / "egs/asvspoof2019/conf/aasist_l.yaml",
}
SAMPLES = 64600  # the official nb_samp
RAW = {"raw": FeatureSpec(channels=1, dim=1, hop_length=1, frame_length=1)}
# A small AASIST that trains in a second on a CPU.
TINY = {
    "first_conv": 16,
    "filts": [9, [1, 4], [4, 4], [4, 8], [8, 8]],
    "gat_dims": [8, 4],
}

# Golden outputs of the official code: models/AASIST.py of github.com/clovaai/aasist (the file
# at commit 8ec9164, unchanged in what it computes since; the weights and configs are those of
# a04c986, packaged in src/antispoof/pretrained/aasist/), written to a directory outside this
# repository, `Model(model_config)` of the official .conf with the .pth loaded by
# `torch.load(weights_only=True)`, in eval mode on a CPU (torch 2.11, numpy 2.4), under
# `torch.no_grad()`. `[spoof, bona fide]` logits per example, in the official class order; the
# official score is the second. Inputs: `noise(k)` is
# `0.1 * torch.randn(64600, generator=torch.Generator().manual_seed(k))` and `sine` is
# `0.5 * sin(2 pi 440 t)` at 16 kHz (computed in float64, then float32); "batch" is one batch
# of `[noise(1), sine]`.
GOLDEN = {
    "AASIST": {
        "noise0": [[2.610526, -2.781982]],
        "sine": [[7.60177, -7.732808]],
        "batch": [[2.525032, -2.72282], [7.60177, -7.732808]],
    },
    "AASIST-L": {
        "noise0": [[4.636401, -4.066429]],
        "sine": [[8.952698, -7.773213]],
        "batch": [[4.035356, -3.605338], [8.952698, -7.773213]],
    },
}
# The official count (main.py: every parameter of the model, the output layer included) and what
# it holds that this model does not build: the residual blocks' pre-activation BNs, which reach
# no output (2 x 256 and 2 x 136 channels).
OFFICIAL_PARAMETERS = {"AASIST": 297_866, "AASIST-L": 85_306}
UNUSED_BN_PARAMETERS = {"AASIST": 512, "AASIST-L": 272}
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def noise(seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(SAMPLES, generator=torch.Generator().manual_seed(seed))


def sine() -> torch.Tensor:
    t = torch.arange(SAMPLES, dtype=torch.float64) / 16000
    return (0.5 * torch.sin(2 * math.pi * 440 * t)).float()


GOLDEN_INPUTS = {
    "noise0": lambda: noise(0)[None],
    "sine": lambda: sine()[None],
    "batch": lambda: torch.stack([noise(1), sine()]),
}


def waveform_batch(wav: torch.Tensor) -> Batch:
    """Whole waveforms `(B, N)` as one crop each, as scoring hands them to the detector."""
    count, samples = wav.shape
    return Batch(
        utts=[f"u{index}" for index in range(count)],
        wav=wav,
        lengths=torch.full((count,), samples),
        offsets=torch.zeros(count, dtype=torch.long),
        crop_samples=samples,
        frames={"raw": samples},
        target=torch.zeros(count, 2),
    )


def published_detector(name: str) -> Detector:
    detector = build_detector(resolve_file(CONFIGS[name]))
    detector.load_state_dict(official_state_dict(PRETRAINED / f"{name}.pth"))
    return detector.eval()


def tiny_model(**settings: object) -> torch.nn.Module:
    return MODELS.build("aasist", {**TINY, **settings}, inputs=RAW)


# ---------------------------------------------------------------------------------------------
# the official weights


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_official_weights_give_the_official_outputs(name):
    detector = published_detector(name)
    with torch.no_grad():
        for key, make_input in GOLDEN_INPUTS.items():
            batch = waveform_batch(make_input())
            logits = detector.loss.logits(detector.model(detector.features(batch)))
            official = torch.tensor(GOLDEN[name][key])
            expected = torch.stack([official[:, 1], official[:, 0]], dim=1)  # bona fide first
            assert torch.allclose(logits, expected, rtol=0, atol=1e-4), (key, logits, expected)
            # The configs score as the official evaluation does: the bona fide logit.
            assert torch.allclose(detector.score(batch), official[:, 1], rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_recipe_configs_are_the_official_configurations(name):
    official = json.loads((PRETRAINED / f"{name}.conf").read_text())
    config = resolve_file(CONFIGS[name])
    assert config["model_conf"] == {"input": None, **model_conf_from_official(official)}
    assert config["train"]["batch_size"] == official["batch_size"]
    assert config["train"]["epochs"] == official["num_epochs"]
    assert round(config["train"]["crop_seconds"] * 16000) == official["model_config"]["nb_samp"]
    optim = official["optim_config"]
    assert config["optim_conf"]["lr"] == optim["base_lr"]
    assert config["optim_conf"]["weight_decay"] == optim["weight_decay"]
    assert config["optim_conf"]["betas"] == optim["betas"]
    assert config["scheduler_conf"]["eta_min"] == optim["lr_min"]
    assert config["scheduler_conf"]["T_max"] == official["num_epochs"]
    assert config["inference"]["mode"] == "first"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_parameter_counts_are_the_published_ones_less_the_unused_bn(name):
    official = torch.load(PRETRAINED / f"{name}.pth", map_location="cpu", weights_only=True)
    parameters = {k: v for k, v in official.items() if not k.endswith(BUFFERS)}
    assert sum(v.numel() for v in parameters.values()) == OFFICIAL_PARAMETERS[name]
    unused = {k: v for k, v in parameters.items() if ".bn1." in k}
    assert sum(v.numel() for v in unused.values()) == UNUSED_BN_PARAMETERS[name]
    # Never trained: the released weights hold the initial scale and shift.
    for key, value in unused.items():
        assert torch.equal(value, torch.ones_like(value) if key.endswith("weight") else 0 * value)
    detector = build_detector(resolve_file(CONFIGS[name]))
    assert detector.num_parameters() == OFFICIAL_PARAMETERS[name] - UNUSED_BN_PARAMETERS[name]
    assert detector.model.embedding_dim == 160


def test_the_output_layer_rows_are_swapped_into_our_class_order():
    official = torch.load(PRETRAINED / "AASIST.pth", map_location="cpu", weights_only=True)
    ours = official_state_dict(PRETRAINED / "AASIST.pth")
    for suffix in ("weight", "bias"):
        assert torch.equal(
            ours[f"loss.output.{suffix}"][BONAFIDE], official[f"out_layer.{suffix}"][1]
        )
        assert torch.equal(ours[f"loss.output.{suffix}"][SPOOF], official[f"out_layer.{suffix}"][0])
    assert not any("bn1" in key for key in ours)


def test_other_weights_are_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"out_layer.weight": torch.zeros(2, 160), "fc.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match=r"not the official AASIST weights.*fc\.weight"):
        official_state_dict(path)
    torch.save({"pos_S": torch.zeros(1, 23, 64)}, path)
    with pytest.raises(ValueError, match="no output layer"):
        official_state_dict(path)


def test_model_conf_from_official():
    conf = model_conf_from_official(PRETRAINED / "AASIST-L.conf")
    assert conf == {
        "first_conv": 128,
        "filts": [70, [1, 32], [32, 32], [32, 24], [24, 24]],
        "gat_dims": [24, 32],
        "pool_ratios": [0.4, 0.5, 0.7, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    }
    with pytest.raises(ValueError, match="not an AASIST configuration"):
        model_conf_from_official({"model_config": {"architecture": "RawNet2"}})
    with pytest.raises(ValueError, match="does not know"):
        model_conf_from_official({"model_config": {"architecture": "AASIST", "nb_fc_node": 1}})


# ---------------------------------------------------------------------------------------------
# architecture


def test_sinc_filters_are_symmetric_mel_spaced_band_passes():
    filters = sinc_filters(70, 129, 16000)
    assert filters.shape == (70, 129)
    assert torch.equal(filters, filters.flip(1))
    # Band edges equally spaced in mel from 0 to 8 kHz: each filter's response peaks in its
    # band, give or take the half main lobe of a 129-tap Hamming window (2 x 16000 / 129 Hz).
    mel_top = 2595 * math.log10(1 + 8000 / 700)
    edges = [700 * (10 ** (mel_top * k / 70 / 2595) - 1) for k in range(71)]
    response = torch.fft.rfft(filters.double(), n=16000).abs()  # 1 Hz bins
    peaks = response.argmax(dim=1).tolist()
    lobe = 2 * 16000 / 129
    for k, peak in enumerate(peaks):
        assert edges[k] - lobe <= peak <= edges[k + 1] + lobe
    assert peaks == sorted(peaks)
    assert peaks[-1] > edges[-2]


def test_shapes_and_settings():
    model = tiny_model().eval()
    assert model.taps == 17  # an even first_conv is made odd, as the official code does
    assert model.embedding_dim == 20
    assert model.spectral_position.shape == (1, 3, 8)  # 9 sinc filters, max-pooled by 3
    with torch.no_grad():
        for samples in (model.min_samples(), 16000, 64600):
            out = model({"raw": torch.randn(3, 1, samples, 1)})
            assert out.shape == (3, 20)
        with pytest.raises(ValueError, match="at least"):
            model({"raw": torch.randn(1, 1, model.min_samples() - 1, 1)})
    assert tiny_model(first_conv=17).taps == 17


def test_one_example_scores_as_in_a_batch():
    model = tiny_model().eval()
    wav = torch.randn(4, 1, 20000, 1)
    with torch.no_grad():
        batched = model({"raw": wav})
        single = torch.cat([model({"raw": wav[index : index + 1]}) for index in range(4)])
    assert torch.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"filts": [9, [2, 4], [4, 4], [4, 8], [8, 8]]}, r"filts\[1\] reads 2 channels"),
        ({"filts": [9, [1, 4], [8, 4], [4, 8], [8, 8]]}, r"filts\[2\] reads 8 channels"),
        ({"filts": [9, [1, 4], [4, 4], [4, 8], [8, 16]]}, r"filts\[4\] is repeated"),
        ({"filts": [2, [1, 4], [4, 4], [4, 8], [8, 8]]}, "number of sinc filters"),
        ({"pool_ratios": [0.5, 0.0, 0.5, 0.5]}, "pool_ratios"),
        ({"temperatures": [2.0, 2.0, -1.0, 100.0]}, "temperatures"),
        ({"gat_dims": [8, 4, 2]}, "gat_dims"),
        ({"filts": [9, [1, 4], [4, 4], [4, 8]]}, "filts"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        tiny_model(**settings)


def test_it_reads_a_raw_waveform_only():
    lfcc = {"lfcc": FeatureSpec(channels=1, dim=60, hop_length=160, frame_length=320)}
    with pytest.raises(ConfigError, match="reads a raw waveform"):
        MODELS.build("aasist", TINY, inputs=lfcc)


def test_it_trains_every_parameter():
    torch.manual_seed(0)
    model = tiny_model()
    loss = LOSSES.build("softmax", {"class_weights": [0.9, 0.1]}, embedding_dim=model.embedding_dim)
    parameters = [*model.parameters(), *loss.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=3e-3)
    # Bona fide: a tone; spoof: noise. Separable, so the loss must fall.
    t = torch.arange(8000) / 16000
    tones = torch.stack([torch.sin(2 * math.pi * (200 + 50 * k) * t) for k in range(4)])
    wav = torch.cat([0.3 * tones, 0.3 * torch.randn(4, 8000)])[:, None, :, None]
    target = one_hot(torch.tensor([BONAFIDE] * 4 + [SPOOF] * 4))
    losses = []
    for step in range(30):
        value, _ = loss(model({"raw": wav}), target)
        optimizer.zero_grad()
        value.backward()
        if step == 0:
            missing = [name for name, p in model.named_parameters() if p.grad is None]
            assert not missing, f"no gradient reaches {missing}"
            assert all(torch.isfinite(p.grad).all() for p in parameters)
        optimizer.step()
        losses.append(value.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        scores = loss.score(model({"raw": wav}))
    assert scores[:4].min() > scores[4:].max()


def test_dropout_is_active_in_training_only():
    model = tiny_model()
    wav = torch.randn(2, 1, 8000, 1)
    torch.manual_seed(1)
    first = model({"raw": wav})
    second = model({"raw": wav})
    assert not torch.equal(first, second)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model({"raw": wav}), model({"raw": wav}))


# ---------------------------------------------------------------------------------------------
# the softmax settings of the published AASIST


def test_class_weights_give_the_weighted_cross_entropy_of_pytorch():
    torch.manual_seed(0)
    weights = [0.9, 0.1]
    loss = LOSSES.build("softmax", {"class_weights": weights}, embedding_dim=8)
    embeddings = torch.randn(16, 8)
    classes = torch.randint(0, 2, (16,))
    value, _ = loss(embeddings, one_hot(classes))
    expected = F.cross_entropy(loss.logits(embeddings), classes, weight=torch.tensor(weights))
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    # The official [spoof, bona fide] = [0.1, 0.9] on the official class order is the same loss.
    official = F.cross_entropy(
        loss.logits(embeddings).flip(1), 1 - classes, weight=torch.tensor([0.1, 0.9])
    )
    assert value.item() == pytest.approx(official.item(), rel=1e-6)
    # Soft targets: each example's terms weighted by class, over the batch's total weight.
    target = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    log_p = F.log_softmax(loss.logits(embeddings[:2]), dim=1)
    w = torch.tensor(weights)
    expected = -(target * w * log_p).sum() / (target * w).sum()
    assert loss(embeddings[:2], target)[0].item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_default_softmax_is_unchanged():
    torch.manual_seed(0)
    loss = LOSSES.build("softmax", {}, embedding_dim=8)
    embeddings, classes = torch.randn(16, 8), torch.randint(0, 2, (16,))
    assert torch.equal(
        loss(embeddings, one_hot(classes))[0], F.cross_entropy(loss.logits(embeddings), classes)
    )
    logits = loss.logits(embeddings)
    assert torch.equal(loss.score(embeddings), logits[:, BONAFIDE] - logits[:, SPOOF])


def test_the_bonafide_logit_score():
    loss = LOSSES.build("softmax", {"score": "bonafide_logit"}, embedding_dim=8)
    embeddings = torch.randn(5, 8)
    assert torch.equal(loss.score(embeddings), loss.logits(embeddings)[:, BONAFIDE])


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"score": "probability"}, "score must be one of"),
        ({"class_weights": [0.9]}, "two positive weights"),
        ({"class_weights": [1.0, 0.0]}, "two positive weights"),
    ],
)
def test_bad_softmax_settings_are_errors(conf, message):
    with pytest.raises(ConfigError, match=message):
        LOSSES.build("softmax", conf, embedding_dim=8)
