"""The `xlsr_mamba` model (XLSR-Mamba's dual-column bidirectional Mamba back end, Xiao and Das,
IEEE SPL 2025): the official outputs on deterministic weights through the key mapping, the
parameter count, the plain-PyTorch selective scan, settings, and a tiny detector that trains."""

import math

import pytest
import torch

from antispoof.config import resolve
from antispoof.data.batch import Batch
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, SPOOF, one_hot
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.xlsr_mamba import official_backend_state_dict, selective_scan
from antispoof.registry import ConfigError
from tiny_configs import TINY_WAV2VEC2
from zoo_weights import zoo_weight


def ssl_spec(dim: int = 1024, channels: int = 1) -> dict[str, FeatureSpec]:
    return {"ssl": FeatureSpec(channels=channels, dim=dim, hop_length=320, frame_length=400)}


def official_layout(
    d_model: int = 144, n_layers: int = 6, d_state: int = 16, d_conv: int = 4, dim: int = 1024
) -> list[tuple[str, tuple[int, ...]]]:
    """The keys and shapes of the official `Model.state_dict()` without `ssl_model.`."""
    inner, rank = 2 * d_model, math.ceil(d_model / 16)
    layout = [("LL.weight", (d_model, dim)), ("LL.bias", (d_model,))]
    layout += [(f"first_bn.{name}", (1,)) for name in ("weight", "bias")]
    layout += [(f"first_bn.{name}", (1,)) for name in ("running_mean", "running_var")]
    layout += [("first_bn.num_batches_tracked", ())]
    for column in ("forward_layers", "backward_layers"):
        for index in range(n_layers):
            mixer = f"conformer.{column}.{index}.mixer"
            layout += [
                (f"{mixer}.A_log", (inner, d_state)),
                (f"{mixer}.D", (inner,)),
                (f"{mixer}.in_proj.weight", (2 * inner, d_model)),
                (f"{mixer}.conv1d.weight", (inner, 1, d_conv)),
                (f"{mixer}.conv1d.bias", (inner,)),
                (f"{mixer}.x_proj.weight", (rank + 2 * d_state, inner)),
                (f"{mixer}.dt_proj.weight", (inner, rank)),
                (f"{mixer}.dt_proj.bias", (inner,)),
                (f"{mixer}.out_proj.weight", (d_model, inner)),
                (f"conformer.{column}.{index}.norm.weight", (d_model,)),
            ]
    layout += [("conformer.norm_f.weight", (d_model,))]
    for name in ("f_attention_pool", "b_attention_pool"):
        layout += [(f"conformer.{name}.weight", (1, d_model)), (f"conformer.{name}.bias", (1,))]
    layout += [("conformer.LL.weight", (d_model, 2 * d_model)), ("conformer.LL.bias", (d_model,))]
    layout += [("conformer.classifier.weight", (2, d_model)), ("conformer.classifier.bias", (2,))]
    return layout


# Golden outputs of the official back end: model.py and mamba_blocks.py of swagshaw/XLSR-Mamba
# (commit 9806f1e) run outside this repository with torch 2.11 on a CPU, on mamba-ssm 1.1.4's
# source (state-spaces/mamba tag v1.1.4) with its CUDA/Triton kernels replaced by its own
# reference functions (mamba_inner_fn -> mamba_inner_ref, selective_scan_fn -> selective_scan_ref,
# the fused RMSNorm -> rms_norm_ref; causal_conv1d_fn -> a grouped F.conv1d, SiLU) and fairseq
# replaced by a stub whose SSL model returns the given hidden states. `Model(args)` with
# `emb_size`, `num_encoders` as named below (official: 144, 12), every tensor of its state_dict
# set to `zoo_weight(official key, shape)`, eval mode, `torch.no_grad()`. Input: hidden states
# `torch.randn((B, T, 1024), generator=torch.Generator().manual_seed(seed))`. `logits`: the
# official `[spoof, bona fide]` output; `embedding_every_16th`: the classifier's input
# `[:, ::16]`; `parameters`: the official back end's count (LL, conformer, classifier).
GOLDEN = {
    "official": {
        "settings": {},
        "layout": {"d_model": 144, "n_layers": 6},
        "parameters": 1_936_950,
        "cases": {
            ((2, 201), 32): {
                "logits": [[-0.542715, -0.236688], [-0.35108, -0.214192]],
                "embedding_every_16th": [
                    [
                        -0.035923,
                        0.421601,
                        0.016453,
                        -0.120083,
                        -0.024736,
                        0.374905,
                        -0.058525,
                        0.038909,
                        -0.099019,
                    ],
                    [
                        -0.009153,
                        -0.026245,
                        -0.041495,
                        -0.286933,
                        -0.222224,
                        0.351463,
                        -0.163643,
                        0.289026,
                        0.057165,
                    ],
                ],
                "embedding_sum": [3.04823, 2.80792],
            },
            ((3, 40), 2): {
                "logits": [[-0.387385, 0.150897], [-0.210324, -0.05033], [-0.097634, -0.119416]],
                "embedding_every_16th": [
                    [
                        0.508291,
                        -0.130289,
                        -0.240482,
                        -0.414625,
                        -0.201706,
                        0.585216,
                        -0.381959,
                        -0.247086,
                        -0.246765,
                    ],
                    [
                        0.279173,
                        0.35359,
                        0.277794,
                        0.150253,
                        -0.199435,
                        0.197359,
                        -0.304858,
                        -0.211018,
                        0.026323,
                    ],
                    [
                        -0.056812,
                        0.3199,
                        -0.439856,
                        0.010053,
                        -0.463301,
                        0.115855,
                        -0.880118,
                        -0.000314,
                        -0.058166,
                    ],
                ],
                "embedding_sum": [4.13053, 5.12867, 1.74713],
            },
            ((1, 5), 4): {
                "logits": [[-0.162779, -0.377129]],
                "embedding_every_16th": [
                    [
                        -0.197302,
                        -1.720322,
                        -0.650879,
                        -1.210867,
                        -0.723948,
                        0.192042,
                        -0.224445,
                        0.364483,
                        0.164422,
                    ],
                ],
                "embedding_sum": [7.0155],
            },
        },
    },
    # emb_size 16, num_encoders 4: two blocks per column, one of which reaches the output.
    "small": {
        "settings": {"d_model": 16, "n_layers": 2},
        "layout": {"d_model": 16, "n_layers": 2},
        "parameters": 30_518,
        "cases": {
            ((2, 30), 7): {
                "logits": [[-0.543039, -0.809572], [0.172375, 0.339479]],
                "embedding_every_16th": [[0.628534], [0.211562]],
                "embedding_sum": [2.13124, 1.39891],
            },
        },
    },
}


def count(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


def loaded(settings: dict, layout: dict):
    """Our model and softmax head with the official weights `zoo_weight` draws, mapped."""
    model = MODELS.build("xlsr_mamba", settings, inputs=ssl_spec())
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    official = {name: zoo_weight(name, shape) for name, shape in official_layout(**layout)}
    mapped = official_backend_state_dict(official)
    model.load_state_dict({k.removeprefix("model."): v for k, v in mapped.items() if "model." in k})
    head.load_state_dict({k.removeprefix("loss."): v for k, v in mapped.items() if "loss." in k})
    return model.eval(), head.eval()


def hidden_states(shape: tuple[int, int], seed: int) -> torch.Tensor:
    return torch.randn((*shape, 1024), generator=torch.Generator().manual_seed(seed))[:, None]


@pytest.mark.parametrize("variant", sorted(GOLDEN))
def test_deterministic_weights_give_the_official_outputs(variant):
    golden = GOLDEN[variant]
    model, head = loaded(golden["settings"], golden["layout"])
    for (shape, seed), expected in golden["cases"].items():
        with torch.no_grad():
            embedding = model({"ssl": hidden_states(shape, seed)})
            logits = head.logits(embedding)
        official = torch.tensor(expected["logits"])
        assert torch.allclose(logits, official.flip(1), rtol=0, atol=1e-5), (shape, logits)
        every_16th = torch.tensor(expected["embedding_every_16th"])
        assert torch.allclose(embedding[:, ::16], every_16th, rtol=0, atol=1e-5)
        sums = torch.tensor(expected["embedding_sum"])
        assert torch.allclose(embedding.sum(1), sums, rtol=0, atol=1e-4)
        # The official score, batch_out[:, 1], is the bona fide logit.
        scorer = LOSSES.build(
            "softmax", {"score": "bonafide_logit"}, embedding_dim=len(embedding[0])
        )
        scorer.load_state_dict(head.state_dict())
        assert torch.allclose(scorer.score(embedding), official[:, 1], atol=1e-5)


@pytest.mark.parametrize("variant", sorted(GOLDEN))
def test_parameters_are_the_official_ones_less_the_dead_last_blocks(variant):
    golden = GOLDEN[variant]
    model, head = loaded(golden["settings"], golden["layout"])
    d_model = golden["layout"]["d_model"]
    inner, rank = 2 * d_model, math.ceil(d_model / 16)
    mixer = 2 * inner * d_model + inner * 4 + inner + (rank + 32) * inner
    mixer += inner * rank + inner + inner * 16 + inner + d_model * inner
    dead = 2 * (mixer + d_model)  # the last block's mixer and norm, in each column
    assert count(model, head) == golden["parameters"] - dead
    # Every official key but the dead blocks' has a place here, and every place is filled.
    layout = official_layout(**golden["layout"])
    mapped = official_backend_state_dict({name: torch.zeros(shape) for name, shape in layout})
    ours = {f"model.{k}" for k in model.state_dict()} | {f"loss.{k}" for k in head.state_dict()}
    assert set(mapped) == ours


def test_an_unknown_official_key_is_an_error():
    with pytest.raises(KeyError, match="not a key of the official XLSR-Mamba"):
        official_backend_state_dict({"conformer.layers.0.mixer.D": torch.ones(1)})


def test_the_plain_scan_is_the_recurrence():
    generator = torch.Generator().manual_seed(3)
    batch, channels, state, length = 2, 3, 4, 7
    u, delta, z = (torch.randn(batch, channels, length, generator=generator) for _ in range(3))
    a = -torch.rand(channels, state, generator=generator) - 0.5
    b, c = (torch.randn(batch, state, length, generator=generator) for _ in range(2))
    skip = torch.randn(channels, generator=generator)
    bias = torch.randn(channels, generator=generator)
    y = selective_scan(u.double(), delta.double(), a, b, c, skip, z.double(), bias)
    # The recurrence written out, one channel and one example at a time.
    for i in range(batch):
        for d in range(channels):
            h = torch.zeros(state, dtype=torch.float64)
            for t in range(length):
                step = torch.nn.functional.softplus(delta[i, d, t].double() + bias[d])
                h = torch.exp(step * a[d].double()) * h + step * b[i, :, t].double() * u[i, d, t]
                expected = (h * c[i, :, t].double()).sum() + skip[d] * u[i, d, t]
                expected = expected * torch.nn.functional.silu(z[i, d, t].double())
                assert torch.allclose(y[i, d, t], expected, atol=1e-10)


def test_one_example_scores_as_in_a_batch_and_lengths_vary():
    model = MODELS.build("xlsr_mamba", {"d_model": 16, "n_layers": 3}, inputs=ssl_spec(16)).eval()
    feats = torch.randn(3, 1, 25, 16)
    with torch.no_grad():
        batched = model({"ssl": feats})
        single = torch.cat([model({"ssl": feats[i : i + 1]}) for i in range(3)])
        assert torch.allclose(batched, single, atol=1e-5)
        for frames in (1, 2, 201):
            assert model({"ssl": torch.randn(2, 1, frames, 16)}).shape == (2, 16)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"d_model": 0}, "d_model"),
        ({"n_layers": 0}, "n_layers"),
        ({"expand": 0}, "expand"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("xlsr_mamba", settings, inputs=ssl_spec(16))


def test_several_layers_are_refused():
    with pytest.raises(ConfigError, match="gives 2 channels"):
        MODELS.build("xlsr_mamba", {}, inputs=ssl_spec(channels=2))


def test_a_tiny_wav2vec2_detector_trains_every_parameter():
    torch.manual_seed(0)
    config = {
        "inputs": {
            "ssl": {
                "frontend": "wav2vec2",
                "frontend_conf": {"config": TINY_WAV2VEC2, "layers": [2]},
            }
        },
        "model": "xlsr_mamba",
        "model_conf": {"d_model": 8, "n_layers": 3},
        "loss": "softmax",
        "loss_conf": {"class_weights": [0.9, 0.1], "score": "bonafide_logit"},
        "optim": "adam",
    }
    detector = build_detector(resolve(config))
    detector.set_epoch(1)
    spec = detector.specs["ssl"]
    samples = 400  # 39 frames: the plain scan's backward pass is step by step
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
    for step in range(6):
        value, _ = detector.loss(detector.model(detector.features(batch)), target)
        optimizer.zero_grad()
        value.backward()
        if step == 0:
            missing = [name for name, p in detector.named_parameters() if p.grad is None]
            assert not missing, f"no gradient reaches {missing}"
        optimizer.step()
        losses.append(value.item())
    assert losses[-1] < losses[0]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_the_outputs_are_the_cpu_ones():
    # With mamba-ssm installed, the mixer runs its CUDA kernel there; without, the plain scan.
    model, head = loaded(GOLDEN["official"]["settings"], GOLDEN["official"]["layout"])
    feats = {"ssl": hidden_states((2, 201), 32)}
    with torch.no_grad():
        on_cpu = head.logits(model(feats))
        model, head = model.cuda(), head.cuda()
        on_gpu = head.logits(model({"ssl": feats["ssl"].cuda()})).cpu()
    assert torch.allclose(on_gpu, on_cpu, atol=1e-4)
