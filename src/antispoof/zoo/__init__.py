"""The zoo: released detectors by name, each with its card, its weights fetched and verified on
first use, and built here as this package's detector with the authors' configuration.

The library surface that `detect`, `import_pretrained` and the inference API call:

- `ZOO`: the models by name; `zoo_model(name)` looks one up case-insensitively;
- `render_card(card)`: a card as text (`detect --model list`);
- `training_overlap(name, corpus)`: the training data of a model that lie in a corpus being
  evaluated (the Arena's overlap rule), to warn with;
- `zoo_config(name)`: the resolved experiment config of a model (frontend, model, loss, the
  authors' training settings, the input window as `inference.mode: first`);
- `load_zoo(name, weights=None, device=...)`: `(config, detector, provenance)`, the weights
  resolved (antispoof.zoo.weights), mapped from the authors' names and loaded strictly.

`aasist` and `aasist-l` are antispoof.published's models (their weights ship with the package);
the others are wav2vec 2.0 detectors (XLS-R 300M, MMS) whose checkpoints hold the fine-tuned
encoder in fairseq's names and the back end in the authors' (antispoof.zoo.fairseq). Each
architecture was checked against its authors' code on the same weights
(tests/test_xlsr_aasist.py, tests/test_xlsr_mamba.py, tests/test_nes2net.py,
tests/test_mean_pool.py).
docs/research/zoo.md says where every card's facts come from.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from antispoof.config import resolve
from antispoof.detector import Detector, build_detector
from antispoof.frontends.fairseq_import import fairseq_to_transformers
from antispoof.published import PUBLISHED, load_published
from antispoof.zoo.cards import (
    Figure,
    HubWeights,
    ManualWeights,
    ModelCard,
    PackagedWeights,
    TrainingData,
    UrlWeights,
    canonical_corpus,
    render_card,
)
from antispoof.zoo.fairseq import read_checkpoint, split_checkpoint
from antispoof.zoo.weights import ZooWeights, resolve_zoo_weights

log = logging.getLogger(__name__)

__all__ = [
    "ZOO",
    "Figure",
    "ModelCard",
    "ZooModel",
    "initial_state",
    "load_zoo",
    "render_card",
    "training_overlap",
    "zoo_config",
    "zoo_model",
]

SAMPLE_RATE = 16000

# XLS-R 300M (facebook/wav2vec2-xls-r-300m's config.json, the architecture of fairseq's
# xlsr2_300m.pt): the encoder is built from these settings and the checkpoint's weights, so no
# second download of the pre-trained XLS-R is needed.
XLSR_300M = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "hidden_act": "gelu",
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": True,
    "feat_extract_norm": "layer",
    "feat_extract_activation": "gelu",
    "do_stable_layer_norm": True,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "layer_norm_eps": 1e-5,
}


# MMS-1B (fairseq's mms1b; AntiDeepfake's W2V_configs `mms_1b`): XLS-R's layout, wider and deeper.
MMS_1B = {
    **XLSR_300M,
    "hidden_size": 1280,
    "num_hidden_layers": 48,
    "intermediate_size": 5120,
}


@dataclass(frozen=True)
class ZooModel:
    card: ModelCard
    # The experiment config (unresolved) with the authors' settings.
    config: Callable[[], dict[str, Any]]
    # The back end's official keys (the checkpoint without the encoder's) as detector keys.
    backend_state_dict: Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]] | None
    # Where the checkpoint keeps the fairseq encoder.
    encoder_prefix: str = "ssl_model.model."


def _xlsr_config(
    model: str,
    algo: int,
    epochs: int,
    batch_size: int,
    window: int,
    note: str,
    lr: float = 1e-6,
    seed: int = 1234,
) -> Callable[[], dict[str, Any]]:
    """An XLS-R 300M detector as the authors trained it: the last layer of the fine-tuned
    encoder (fairseq's `features_only` output), no waveform normalisation (their SSLModel feeds
    the waveform as read), weighted cross-entropy [spoof 0.1, bona fide 0.9] scored by the bona
    fide logit (`batch_out[:, 1]`), Adam at a constant `lr` with weight decay 1e-4, RawBoost
    `algo`, `seed`, float32, and the first `window` samples at evaluation."""

    def config() -> dict[str, Any]:
        return {
            "inputs": {
                "ssl": {
                    "frontend": "wav2vec2",
                    "frontend_conf": {
                        "config": dict(XLSR_300M),
                        "layers": [24],
                        "trainable": True,
                        "normalize": False,
                    },
                }
            },
            "model": model,
            "loss": "softmax",
            "loss_conf": {"class_weights": [0.9, 0.1], "score": "bonafide_logit"},
            "optim": "adam",
            "optim_conf": {"lr": lr, "weight_decay": 1e-4},
            "waveform_augment": {"rawboost": {"algo": algo}},
            "train": {
                "epochs": epochs,
                "batch_size": batch_size,
                "crop_seconds": window / SAMPLE_RATE,
                "seed": seed,
                "precision": "fp32",
            },
            "inference": {"mode": "first"},
            "notes": note,
        }

    return config


def _backend(model: str) -> Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]:
    def mapping(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if model == "xlsr_aasist":
            from antispoof.models.xlsr_aasist import official_backend_state_dict
        elif model == "xlsr_mamba":
            from antispoof.models.xlsr_mamba import official_backend_state_dict
        elif model == "nes2net_x":
            from antispoof.models.nes2net import official_backend_state_dict
        else:
            from antispoof.models.mean_pool import official_backend_state_dict
        return official_backend_state_dict(state)

    return mapping


def _antideepfake_config(encoder: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """An AntiDeepfake detector (hparams/<model>.yaml, models/W2V.py, dataio/dataio.py): the
    encoder's last hidden states (fairseq's `features_only` output) of the waveform normalised
    as `layer_norm` does it (eps 1e-5), their mean, a 2-class output layer scored by the
    log-odds (the authors report softmax's P(real), which orders trials alike); AdamW (lr 1e-7,
    weight decay 0.01, eps 1e-6), RawBoost algo 5, 30 epochs; the whole file at evaluation."""

    def config() -> dict[str, Any]:
        return {
            "inputs": {
                "ssl": {
                    "frontend": "ssl",
                    "frontend_conf": {
                        "config": {"model_type": "wav2vec2", **encoder},
                        "layers": [encoder["num_hidden_layers"]],
                        "weighted_sum": False,
                        "trainable": True,
                        "normalize": True,
                        "normalize_eps": 1e-5,
                    },
                }
            },
            "model": "mean_pool",
            "loss": "softmax",
            "loss_conf": {"score": "logodds"},
            "optim": "adamw",
            "optim_conf": {"lr": 1e-7, "weight_decay": 0.01, "eps": 1e-6},
            "waveform_augment": {"rawboost": {"algo": 5}},
            # The authors batch whole files dynamically (up to 100 s a batch, fp16) with a
            # warm-up then exponentially decaying learning rate: not reproduced; 4 s crops here.
            "train": {"epochs": 30, "batch_size": 8, "crop_seconds": 4.0, "seed": 1234},
            "inference": {"mode": "full"},
        }

    return config


_LA2019_TRAIN = (TrainingData("ASVspoof 2019 LA", "train"),)
_ARENA = "Speech Anti-Spoofing Arena, huggingface.co/spaces/SpeechAntiSpoofingBenchmarks"
_ARENA_AASIST = "Arena card SpeechAntiSpoofingBenchmarks/AASIST"
_TAK_CODE = "https://github.com/TakHemlata/SSL_Anti-spoofing"
_TAK_PAPER = (
    "H. Tak et al., Automatic speaker verification spoofing and deepfake detection using "
    "wav2vec 2.0 and data augmentation, Odyssey 2022 (arXiv 2202.12233)"
)
_TAK_DRIVE = "https://drive.google.com/drive/folders/1c4ywztEVlYVijfwbGLl9OEa1SNtFKppB"
_MAMBA_CODE = "https://github.com/swagshaw/XLSR-Mamba"
_MAMBA_PAPER = (
    "Y. Xiao and R. K. Das, XLSR-Mamba: A Dual-Column Bidirectional State Space Model for "
    "Spoofing Attack Detection, IEEE Signal Processing Letters 2025 (arXiv 2411.10027)"
)
_BONAFIDE_LOGIT = "the bona fide logit of the 2-class output (higher: more bona fide)"
_NO_CHECKSUM = (
    "No sha256 or revision of this file could be established from this workplace (no access to "
    "the hub's metadata): the first download's sha256 is logged and kept in the provenance."
)


def _aasist_card(name: str) -> ModelCard:
    published = PUBLISHED[name]
    figures = [Figure("ASVspoof 2019 LA eval", "EER %", 0.83 if name == "aasist" else 0.99, "P",
                      "Jung et al. 2022; clovaai/aasist README")]  # fmt: skip
    if name == "aasist":
        figures += [
            Figure("ASVspoof 2021 LA eval", "EER %", 12.35, "A", _ARENA_AASIST),
            Figure("ASVspoof 2021 DF eval", "EER %", 17.04, "A", _ARENA_AASIST),
            Figure("In-the-Wild", "EER %", 43.01, "A", _ARENA_AASIST),
        ]
    return ModelCard(
        name=name,
        title=published.title,
        architecture="raw waveform (sinc conv) + aasist",
        reference=published.reference.split("; ")[0],
        code="https://github.com/clovaai/aasist",
        code_commit="8ec9164",
        weights=PackagedWeights(published.url, published.md5),
        licence="MIT (NAVER Corp.)",
        training_data=_LA2019_TRAIN,
        window=64600,
        score=_BONAFIDE_LOGIT,
        figures=tuple(figures),
    )


def _ssl_aasist(track: str, algo: int) -> ZooModel:
    figures = {
        "LA": (
            Figure("ASVspoof 2021 LA eval", "EER %", 0.82, "P", "SSL_Anti-spoofing README"),
            Figure("ASVspoof 2021 LA eval", "min t-DCF", 0.2066, "P", "SSL_Anti-spoofing README"),
        ),
        "DF": (
            Figure("ASVspoof 2021 DF eval", "EER %", 2.85, "P", "SSL_Anti-spoofing README"),
            Figure(
                "In-the-Wild",
                "EER %",
                10.46,
                "P",
                "Nes2Net_ASVspoof_ITW README table, Tak et al.'s system (checkpoint not said)",
            ),
        ),
    }[track]
    card = ModelCard(
        name=f"ssl-aasist-{track.lower()}",
        title=f"SSL-AASIST ({track})",
        architecture="wav2vec2 (XLS-R 300M, fine-tuned, layer 24) + xlsr_aasist",
        reference=_TAK_PAPER,
        code=_TAK_CODE,
        code_commit="4acaa61",
        weights=ManualWeights(_TAK_DRIVE, f"best_SSL_model_{track}.pth", sha256=None),
        licence="MIT (code and released models, TakHemlata/SSL_Anti-spoofing LICENSE)",
        training_data=_LA2019_TRAIN,
        window=64600,
        score=_BONAFIDE_LOGIT,
        figures=figures,
        notes=(
            "The weights are in the authors' Google Drive folder only (no Hub or direct URL was "
            "found); " + _NO_CHECKSUM,
            f"Trained with RawBoost algo {algo} ({'LA' if track == 'LA' else 'DF'} setting).",
        ),
    )
    note = f"SSL-AASIST {track}: main_SSL_{track}.py, RawBoost --algo {algo}"
    return ZooModel(
        card, _xlsr_config("xlsr_aasist", algo, 100, 14, 64600, note), _backend("xlsr_aasist")
    )


def _xlsr_mamba(track: str, algo: int) -> ZooModel:
    readme = "XLSR-Mamba README"
    figures = {
        "LA": (
            Figure("ASVspoof 2021 LA eval", "EER %", 0.93, "P", readme),
            Figure("ASVspoof 2021 LA eval", "min t-DCF", 0.208, "P", readme),
            Figure("In-the-Wild", "EER %", 6.71, "P", f"{readme} (score file of the LA run)"),
        ),
        "DF": (Figure("ASVspoof 2021 DF eval", "EER %", 1.88, "P", readme),),
    }[track]
    card = ModelCard(
        name=f"xlsr-mamba-{track.lower()}",
        title=f"XLSR-Mamba ({track})",
        architecture="wav2vec2 (XLS-R 300M, fine-tuned, layer 24) + xlsr_mamba",
        reference=_MAMBA_PAPER,
        code=_MAMBA_CODE,
        code_commit="9806f1e",
        weights=HubWeights(
            f"AustinXiao/XLSR-Mamba-{track}", "model.safetensors", revision=None, sha256=None
        ),
        licence="MIT (swagshaw/XLSR-Mamba LICENSE)",
        training_data=_LA2019_TRAIN,
        window=66800,
        score=_BONAFIDE_LOGIT,
        figures=figures,
        notes=(
            _NO_CHECKSUM,
            "The file name is that of huggingface_hub's PytorchModelHubMixin, which the model "
            "page says pushed it; not confirmed from here.",
            "The official 2021 evaluation reads the first 66,800 samples; its In-the-Wild "
            "evaluation 64,600.",
        ),
    )
    note = f"XLSR-Mamba {track}: main.py --algo {algo}, the 5 best epochs averaged"
    return ZooModel(
        card, _xlsr_config("xlsr_mamba", algo, 7, 20, 66800, note), _backend("xlsr_mamba")
    )


_NES2NET_CODE = "https://github.com/Liu-Tianchi/Nes2Net_ASVspoof_ITW"
_NES2NET_README = "Nes2Net_ASVspoof_ITW README"
_ARENA_NES2NET = "Arena card SpeechAntiSpoofingBenchmarks/Nes2Net"


def _nes2net_x() -> ZooModel:
    card = ModelCard(
        name="nes2net-x",
        title="Nes2Net-X",
        architecture="wav2vec2 (XLS-R 300M, fine-tuned, layer 24) + nes2net_x",
        reference=(
            "T. Liu et al., Nes2Net: A Lightweight Nested Architecture for Foundation Model "
            "Driven Speech Anti-spoofing, IEEE Transactions on Information Forensics and "
            "Security 2025 (arXiv 2504.05657)"
        ),
        code=_NES2NET_CODE,
        code_commit="43d01b9",
        weights=ManualWeights(
            "https://drive.google.com/file/d/1tjuSdbzgCnJSfy_eE_P52jRAonHY4YUT/view",
            "wav2vec2_Nes2Net_X.pth",
            sha256=None,
        ),
        licence="not stated (the repository has no licence file)",
        training_data=_LA2019_TRAIN,
        window=64600,
        score=_BONAFIDE_LOGIT,
        figures=(
            Figure("ASVspoof 2021 LA eval", "EER %", 1.73, "P", _NES2NET_README),
            Figure("ASVspoof 2021 DF eval", "EER %", 1.65, "P", _NES2NET_README),
            Figure("ASVspoof 2021 LA eval", "EER %", 6.14, "A", _ARENA_NES2NET),
            Figure("ASVspoof 2021 DF eval", "EER %", 3.61, "A", _ARENA_NES2NET),
            Figure("In-the-Wild", "EER %", 8.48, "A", _ARENA_NES2NET),
        ),
        notes=(
            "The single checkpoint of the README's 2021 DF row (1.65 %), in the authors' Google "
            "Drive only; any local file name is accepted with --weights. " + _NO_CHECKSUM,
            "The README's In-the-Wild models (5.52 % and 5.15 % [P]) are other checkpoints.",
            "No licence file in the repository: ask the authors before any use beyond research.",
        ),
    )
    note = "Nes2Net-X: README command, RawBoost --algo 4, lr 2.5e-7, batch 12, seed 12345"
    config = _xlsr_config("nes2net_x", 4, 100, 12, 64600, note, lr=2.5e-7, seed=12345)
    return ZooModel(card, config, _backend("nes2net_x"))


# protocols/README.md of nii-yamagishilab/AntiDeepfake (@0dea622): the corpora of the
# post-training set and the parts of each that were used (training and validation).
_ANTIDEEPFAKE_DATA = tuple(
    TrainingData(corpus, splits)
    for corpus, splits in (
        ("AIShell3", "train, test"),
        ("ASVspoof 2019 LA", "train, eval; dev for validation"),
        ("ASVspoof 2021 LA", "all"),
        ("ASVspoof 2021 DF", "all"),
        ("ASVspoof5", "train, test; dev for validation"),
        ("CFAD", "train, test; dev for validation"),
        ("CNCeleb2", "all"),
        ("Codecfake", "train, test; dev for validation"),
        ("CodecFake", "all"),
        ("CVoiceFake", "all"),
        ("DECRO", "train, test; dev for validation"),
        ("DFADD", "train, test; valid for validation"),
        ("Diffuse or Confuse", "all"),
        ("DiffSSD", "all"),
        ("DSD", "train, test; dev for validation"),
        ("FLEURS", "train, test; dev for validation"),
        ("FLEURS-R", "train, test; dev for validation"),
        ("HABLA", "all"),
        ("LibriTTS", "train, test; dev for validation"),
        ("LibriTTS-R", "train, test; dev for validation"),
        ("LibriTTS-Vocoded", "train, test; dev for validation"),
        ("LJSpeech", "all"),
        ("MLAAD", "all"),
        ("MLS", "train, test; dev for validation"),
        ("SpoofCeleb", "train, evaluation; development for validation"),
        ("VoiceMOS", "all"),
        ("VoxCeleb2", "all"),
        ("VoxCeleb2-Vocoded", "all"),
        ("WaveFake", "all"),
    )
)
_ANTIDEEPFAKE_PAPER = (
    "W. Ge, X. Wang, X. Liu and J. Yamagishi, Post-training for Deepfake Speech Detection, "
    "2025 (arXiv 2506.21090)"
)
_ZENODO = "https://zenodo.org/records/15580543/files"
_ARENA_ITW = "Speech Anti-Spoofing Arena, InTheWild dataset discussions"


def _antideepfake(key: str, title: str, encoder: dict[str, Any], itw: float) -> ZooModel:
    notes = [
        "Trained on about 74,000 h of bona fide and artefact speech in over 100 languages; "
        "scoring any corpus it was trained on is not a held-out evaluation (training_overlap).",
        _NO_CHECKSUM.replace("hub's metadata", "record's metadata"),
    ]
    if key != "mms_300m":
        notes.append(
            f"The file name {key}.ckpt follows the authors' naming (mms_300m.ckpt in their "
            "README); not confirmed from here."
        )
    card = ModelCard(
        name=f"antideepfake-{key.replace('_', '-')}",
        title=f"AntiDeepfake {title}",
        architecture=f"wav2vec2 ({title}, post-trained, last layer) + mean_pool",
        reference=_ANTIDEEPFAKE_PAPER,
        code="https://github.com/nii-yamagishilab/AntiDeepfake",
        code_commit="0dea622",
        weights=UrlWeights(f"{_ZENODO}/{key}.ckpt", sha256=None),
        licence="CC BY-NC-SA 4.0 (checkpoints; the code is BSD-3-Clause)",
        restricted_use=(
            "non-commercial use only, with attribution, and derivatives under the same licence"
        ),
        training_data=_ANTIDEEPFAKE_DATA,
        window=None,
        score=(
            "the log-odds, bona fide (real) logit minus spoof (fake) logit; the authors' "
            "P(real) = sigmoid(log-odds) (higher: more bona fide)"
        ),
        figures=(Figure("In-the-Wild", "EER %", itw, "A", _ARENA_ITW),),
        notes=tuple(notes),
    )
    return ZooModel(card, _antideepfake_config(encoder), _backend("mean_pool"), "m_ssl.model.")


def _published(name: str) -> ZooModel:
    from antispoof.published import published_config

    return ZooModel(_aasist_card(name), lambda: published_config(PUBLISHED[name]), None)


ZOO: dict[str, ZooModel] = {
    model.card.name: model
    for model in (
        _published("aasist"),
        _published("aasist-l"),
        _ssl_aasist("LA", 5),
        _ssl_aasist("DF", 3),
        _xlsr_mamba("LA", 5),
        _xlsr_mamba("DF", 3),
        _nes2net_x(),
        _antideepfake("mms_300m", "MMS-300M", XLSR_300M, 4.83),
        _antideepfake("mms_1b", "MMS-1B", MMS_1B, 3.30),
    )
}


def zoo_model(name: str) -> ZooModel:
    """The zoo model called `name` (case-insensitive); a KeyError names the known ones."""
    found = ZOO.get(name.lower())
    if found is None:
        raise KeyError(f"no zoo model {name!r}; known: {', '.join(ZOO)}")
    return found


def training_overlap(name: str, corpus: str) -> list[str]:
    """The training data of model `name` that come from `corpus` (a corpus or recipe name in
    any spelling: `ASVspoof 2019 LA`, `asvspoof2019`, `In-the-Wild`): scoring that corpus is not
    a held-out evaluation of that part. Empty when none does."""
    wanted = canonical_corpus(corpus)
    return [
        str(data) for data in zoo_model(name).card.training_data
        if canonical_corpus(data.corpus) == wanted
    ]  # fmt: skip


def zoo_config(name: str) -> dict[str, Any]:
    """The resolved experiment config of zoo model `name` (its `notes` key dropped)."""
    config = zoo_model(name).config()
    config.pop("notes", None)
    return resolve(copy.deepcopy(config))


def load_zoo(
    name: str,
    weights: Path | None = None,
    device: torch.device | str = "cpu",
    *,
    cache: Path | None = None,
    endpoint: str | None = None,
) -> tuple[dict[str, Any], Detector, dict[str, Any]]:
    """`(config, detector, provenance)` of zoo model `name` with its weights resolved
    (`weights`: a local copy) and verified, the detector in eval mode on `device`."""
    model = zoo_model(name)
    card = model.card
    if model.backend_state_dict is None:
        return load_published(PUBLISHED[card.name], weights, device)
    found = resolve_zoo_weights(card, weights, cache=cache, endpoint=endpoint)
    config = zoo_config(card.name)
    detector = build_detector(config)
    detector.load_state_dict(detector_state_dict(model, read_checkpoint(found.path)))
    detector.set_epoch(config["train"]["epochs"])
    return config, detector.to(torch.device(device)).eval(), provenance(card, found)


def initial_state(
    name: str, parts: list[str], weights: Path | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """`(state, provenance)`: the weights of zoo model `name` as detector keys, only those of
    `parts` (`inputs`, `model`, `loss`), to start a training from (`init:` in a config)."""
    model = zoo_model(name)
    if model.backend_state_dict is None:
        from antispoof.models.aasist import official_state_dict
        from antispoof.published import provenance as published_provenance
        from antispoof.published import resolve_weights

        published = PUBLISHED[model.card.name]
        found = resolve_weights(published, weights)
        state, record = official_state_dict(found.path), published_provenance(published, found)
    else:
        located = resolve_zoo_weights(model.card, weights)
        state = detector_state_dict(model, read_checkpoint(located.path))
        record = provenance(model.card, located)
    prefixes = tuple(f"{part}." for part in parts)
    return {k: v for k, v in state.items() if k.startswith(prefixes)}, record


def detector_state_dict(
    model: ZooModel, checkpoint: Mapping[str, torch.Tensor], branch: str = "ssl"
) -> dict[str, torch.Tensor]:
    """A released checkpoint (`ssl_model.model.*` in fairseq's names, the back end in the
    authors') as the state_dict of the detector `zoo_config` builds."""
    assert model.backend_state_dict is not None
    encoder, backend = split_checkpoint(checkpoint, model.encoder_prefix)
    # The weights give every size but the attention heads, which the model's config knows.
    known = model.config()["inputs"][branch]["frontend_conf"].get("config") or {}
    heads = known.get("num_attention_heads")
    cfg = None if heads is None else {"encoder_attention_heads": heads}
    weights, _ = fairseq_to_transformers(encoder, cfg)
    # The frontend holds no SpecAugment mask vector (it never masks).
    weights.pop("masked_spec_embed", None)
    state = {f"inputs.{branch}.encoder.{key}": value for key, value in weights.items()}
    return state | model.backend_state_dict(backend)


def provenance(card: ModelCard, weights: ZooWeights) -> dict[str, Any]:
    """Where a zoo model's weights came from, as `pretrained.json` records it."""
    return {
        "name": card.name,
        "title": card.title,
        "location": card.weights.location,
        "sha256": weights.sha256,
        "sha256_verified": weights.verified,
        "weights": str(weights.path),
        "found_in": weights.origin,
        "reference": card.reference,
        "code": f"{card.code} @{card.code_commit}",
        "published": [
            f"{f.evaluation}: {f.metric} {f.value:g} [{f.protocol}] ({f.source})"
            for f in card.figures
        ],
        "licence": card.licence,
    }
