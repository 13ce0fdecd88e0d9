"""Published models by name: the official weights of published systems, resolved, verified and
loaded into this package's detector.

`aasist` and `aasist-l` are the weights that the AASIST authors released (Jung et al., ICASSP
2022; github.com/clovaai/aasist, MIT licence, NAVER Corp.), trained on ASVspoof 2019 LA train.
Their weights resolve, in this order, to

1. a local file the user names (`--weights FILE`: an offline copy);
2. the copy shipped in this package (`antispoof/pretrained/aasist/`, package data, so a fresh
   clone or a non-editable install needs no download);
3. the cache, `$ANTISPOOF_CACHE/pretrained/` (default `~/.cache/antispoof`);
4. the official URL, downloaded into the cache (resumable, antispoof.download.fetch).

Every copy must have the published md5: a local file that differs is refused (it is not the
published model; import it as an experiment instead), a package or cache copy that differs is
passed over (a damaged copy, a Git LFS pointer) and a download that differs is moved aside to
`<name>.bad` and refused.

A published model becomes a detector with the configuration the authors used (`config`): the
raw waveform, the `aasist` model with the official architecture settings, a softmax output
layer scored by its bona fide logit (the official score), and `inference.mode: first` on
64,600 samples (about 4 s), as the official evaluation takes the first 64,600 samples of an
utterance and repeat-pads shorter ones.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from antispoof.config import resolve
from antispoof.detector import Detector, build_detector
from antispoof.download import ChecksumError, DownloadError
from antispoof.download.fetch import FetchOptions, download_any
from antispoof.download.verify import md5sum, move_aside
from antispoof.models.aasist import model_conf_from_official, official_state_dict

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent / "pretrained"
CACHE_ENV = "ANTISPOOF_CACHE"
SAMPLE_RATE = 16000  # of the AASIST models
OFFICIAL_SEED = 1234  # the official training's (main.py's default; not in its conf)


@dataclass(frozen=True)
class PublishedModel:
    name: str  # what --model takes
    title: str
    file: str  # the weights' file name: in the package, in the cache, and at the URL
    url: str  # the official download
    md5: str  # of the official file
    package_dir: str  # under antispoof/pretrained/: the weights, their config, LICENSE, NOTICE
    official_conf: str  # the authors' configuration of these weights, beside them
    reference: str
    published: str  # the published results of these weights
    licence: str


_AASIST_REFERENCE = (
    "J. Jung et al., AASIST: Audio Anti-Spoofing using Integrated Spectro-Temporal Graph "
    "Attention Networks, ICASSP 2022; https://github.com/clovaai/aasist"
)
_AASIST_LICENCE = "MIT (NAVER Corp.); LICENSE and NOTICE travel with the weights"

PUBLISHED: dict[str, PublishedModel] = {
    model.name: model
    for model in (
        PublishedModel(
            name="aasist",
            title="AASIST",
            file="AASIST.pth",
            url="https://github.com/clovaai/aasist/raw/main/models/weights/AASIST.pth",
            md5="40ebc8a542c4effce39770c22396ff84",
            package_dir="aasist",
            official_conf="AASIST.conf",
            reference=_AASIST_REFERENCE,
            published="ASVspoof 2019 LA eval: EER 0.83 %, min t-DCF 0.0275",
            licence=_AASIST_LICENCE,
        ),
        PublishedModel(
            name="aasist-l",
            title="AASIST-L",
            file="AASIST-L.pth",
            url="https://github.com/clovaai/aasist/raw/main/models/weights/AASIST-L.pth",
            md5="a2f6cecccdcfb78a3eb0273cf9face2c",
            package_dir="aasist",
            official_conf="AASIST-L.conf",
            reference=_AASIST_REFERENCE,
            published="ASVspoof 2019 LA eval: EER 0.99 %, min t-DCF 0.0309",
            licence=_AASIST_LICENCE,
        ),
    )
}


@dataclass(frozen=True)
class Weights:
    """Where a published model's verified weights were found."""

    path: Path
    origin: str  # local, package, cache or download


def cache_dir() -> Path:
    """`$ANTISPOOF_CACHE`, default `~/.cache/antispoof`."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "antispoof")


def resolve_weights(
    model: PublishedModel,
    local: Path | None = None,
    *,
    package_dir: Path = PACKAGE_DIR,
    cache: Path | None = None,
    options: FetchOptions | None = None,
) -> Weights:
    """The verified weights of `model`, found in the order of the module doc."""
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(f"weights not found: {local}")
        actual = md5sum(local)
        if actual != model.md5:
            raise ChecksumError(
                f"{local}: md5 {actual}, but the published {model.title} weights have "
                f"{model.md5}; these are other weights (score them as an experiment directory)"
            )
        return Weights(local, "local")
    packaged = package_dir / model.package_dir / model.file
    if packaged.is_file():
        actual = md5sum(packaged)
        if actual == model.md5:
            return Weights(packaged, "package")
        log.warning(
            "%s: md5 %s, expected %s (a damaged copy, or a Git LFS pointer?); looking further",
            packaged,
            actual,
            model.md5,
        )
    cached = (cache or cache_dir()) / "pretrained" / model.file
    if cached.is_file():
        actual = md5sum(cached)
        if actual == model.md5:
            return Weights(cached, "cache")
        bad = move_aside(cached, model.file)
        log.warning("%s: md5 %s, expected %s; moved to %s", cached, actual, model.md5, bad)
    return Weights(_download(model, cached, options or FetchOptions()), "download")


def _download(model: PublishedModel, target: Path, options: FetchOptions) -> Path:
    """Fetch the official file into the cache, verified before it takes its name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    log.info("downloading %s from %s into %s", model.file, model.url, target.parent)
    try:
        download_any((model.url,), part, options)
    except DownloadError as err:
        raise DownloadError(
            f"{err}; download {model.url} by hand (md5 {model.md5}) and give it with "
            f"--weights FILE, or save it as {target}"
        ) from None
    actual = md5sum(part)
    if actual != model.md5:
        bad = move_aside(part, model.file)
        raise ChecksumError(
            f"{model.url}: md5 {actual}, expected {model.md5}; refused and moved to {bad}"
        )
    part.replace(target)
    log.info("%s: downloaded and verified (md5 %s)", target, model.md5)
    return target


def provenance(model: PublishedModel, weights: Weights) -> dict[str, Any]:
    """Where a published model's weights came from, as `pretrained.json` records it."""
    return {
        "name": model.name,
        "title": model.title,
        "url": model.url,
        "md5": model.md5,
        "weights": str(weights.path),
        "found_in": weights.origin,
        "reference": model.reference,
        "published": model.published,
        "licence": model.licence,
    }


def official_conf(model: PublishedModel) -> dict[str, Any]:
    """The authors' configuration of the weights (shipped beside them, whatever their origin)."""
    path = PACKAGE_DIR / model.package_dir / model.official_conf
    return json.loads(path.read_text(encoding="utf-8"))


def published_config(model: PublishedModel) -> dict[str, Any]:
    """The resolved experiment config of a published model (see the module doc): the settings
    of the recipe config that trains the model anew (egs/asvspoof2019/conf/aasist.yaml; a test
    keeps them equal), built from the official configuration shipped with the weights, since a
    non-editable install has no egs/."""
    official = official_conf(model)
    optim = official["optim_config"]
    return resolve(
        {
            "frontend": "raw",
            "model": "aasist",
            "model_conf": model_conf_from_official(official),
            # The official score: the bona fide logit, not the log-odds. The class weights
            # are the official training's ([0.1, 0.9] there: its bona fide is class 1).
            "loss": "softmax",
            "loss_conf": {"score": "bonafide_logit", "class_weights": [0.9, 0.1]},
            # How the authors trained, for the record: nothing trains an imported model.
            "optim": "adam",
            "optim_conf": {
                "lr": optim["base_lr"],
                "betas": optim["betas"],
                "weight_decay": optim["weight_decay"],
            },
            "scheduler": "cosine",
            "scheduler_conf": {"T_max": official["num_epochs"], "eta_min": optim["lr_min"]},
            "train": {
                "epochs": official["num_epochs"],
                "batch_size": official["batch_size"],
                # nb_samp, 64,600 samples: the crop, and the window of `inference.mode: first`.
                "crop_seconds": official["model_config"]["nb_samp"] / SAMPLE_RATE,
                "seed": OFFICIAL_SEED,
                # The official evaluation runs in float32; bf16 would move the scores.
                "precision": "fp32",
            },
            "inference": {"mode": "first"},
        }
    )


def published_detector(model: PublishedModel, weights: Weights) -> tuple[dict[str, Any], Detector]:
    """`(config, detector)` of a published model with its verified `weights`, in eval mode."""
    config = published_config(model)
    detector = build_detector(config)
    detector.load_state_dict(official_state_dict(weights.path))
    detector.set_epoch(config["train"]["epochs"])
    return config, detector.eval()


def load_published(
    model: PublishedModel, local: Path | None = None, device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], Detector, dict[str, Any]]:
    """`(config, detector, provenance)` of a published model, its weights resolved (`local`: a
    copy the user gives) and verified, the detector in eval mode on `device`."""
    weights = resolve_weights(model, local)
    config, detector = published_detector(model, weights)
    return config, detector.to(torch.device(device)), provenance(model, weights)
