"""The detector: every input branch, the batch augmentations, the model and the loss in one
`nn.Module` on the device (docs/DESIGN.md, "Data flow").

`forward(batch) -> (loss, stats)` in training, `score(batch) -> (B,)` (higher = more bona fide)
for scoring. Each input branch is read from the batch's stage-2 cache when it carries one and
run on the device otherwise, with the same features either way (antispoof.data.crops). Branches
named in `train.freeze` are frozen (no gradient, eval mode) for their first epochs, then
fine-tuned; `param_groups()` names the parts that `optim_groups` gives learning rates or
optimizers of their own. Its `state_dict`, parameter count and `.to()` cover every part.

Precision: the input branches, batch augmentations and model run under the autocast that
`train.precision` gives the batch's device (bfloat16 on most GPUs, float32 on a CPU:
antispoof.training.device.autocast_dtype); the loss and score heads always compute in float32,
with autocast off and the embeddings cast up, whatever autocast a caller has open. In bfloat16
the heads would round every score to 8 significant bits (a 2019 LA evaluation's 71,237 scores to
about 1,300 values), and OC-Softmax's cosine before its scale of 20. Every caller (training, dev
scoring, stage 4, `detect`, t-SNE) gets this from the detector; none opens an autocast itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from antispoof.augment import AUGMENTATIONS, BatchAugmentation
from antispoof.data.batch import Batch, crop_frames, crop_waveform
from antispoof.data.crops import CropPlan
from antispoof.frontends import FRONTENDS, Frontend
from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES, Objective
from antispoof.models import MODELS, Backbone
from antispoof.training.device import autocast_dtype


class Detector(nn.Module):
    def __init__(
        self,
        inputs: Mapping[str, Frontend],
        model: Backbone,
        loss: Objective,
        augmentations: list[BatchAugmentation] | None = None,
        freeze: Mapping[str, int] | None = None,
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        self.inputs = nn.ModuleDict(dict(inputs))
        self.model = model
        self.loss = loss
        self.augmentations = nn.ModuleList(augmentations or [])
        self.freeze = dict(freeze or {})
        self.epoch = 0
        self.precision = precision  # train.precision
        self._autocast_dtypes: dict[torch.device, torch.dtype | None] = {}

    @property
    def specs(self) -> dict[str, FeatureSpec]:
        return {name: frontend.spec for name, frontend in self.inputs.items()}

    def crop_plan(self, seconds: float, full: bool = False) -> CropPlan:
        """Crops of `seconds` for these branches (`full`: whole utterances)."""
        trainable = {name: frontend.trainable for name, frontend in self.inputs.items()}
        plan = CropPlan.from_seconds(self.specs, trainable, seconds)
        return CropPlan(plan.specs, plan.trainable, plan.samples, full=True) if full else plan

    def cacheable(self) -> list[str]:
        """The branches stage 2 may precompute: frozen for good and deterministic."""
        return [name for name, frontend in self.inputs.items() if frontend.cacheable]

    def frozen(self, name: str) -> bool:
        """Whether branch `name` is frozen in the current epoch (never trained, or not yet)."""
        return not self.inputs[name].trainable or self.epoch <= self.freeze.get(name, 0)

    def set_epoch(self, epoch: int) -> None:
        """Apply the freeze schedule of (1-based) `epoch`."""
        self.epoch = epoch
        for name, frontend in self.inputs.items():
            if self.frozen(name):
                frontend.requires_grad_(False)
            else:
                frontend.unfreeze()
        self.train(self.training)

    def train(self, mode: bool = True) -> Detector:
        super().train(mode)
        for name, frontend in self.inputs.items():
            if self.frozen(name):  # frozen features are the deterministic ones (no dropout)
                frontend.train(False)
        return self

    def features(self, batch: Batch) -> dict[str, torch.Tensor]:
        """`{branch: (B, C, T, F)}` of the batch's crops."""
        feats = {}
        for name, frontend in self.inputs.items():
            if name in batch.cached:
                feats[name] = batch.cached[name]
                continue
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen(name)):
                if frontend.trainable:
                    wav = crop_waveform(batch)
                    lengths = torch.full((len(batch),), wav.shape[1], device=wav.device)
                    feats[name], _ = frontend(wav, lengths)
                else:
                    window_feats, frame_lengths = frontend(batch.wav, batch.lengths)
                    first = torch.div(
                        batch.offsets, frontend.spec.hop_length, rounding_mode="floor"
                    )
                    feats[name] = crop_frames(
                        window_feats, frame_lengths, first, batch.frames[name]
                    )
        return feats

    def autocast_dtype(self, device: torch.device) -> torch.dtype | None:
        """What the input branches and the model compute in on `device` (None: float32)."""
        if device not in self._autocast_dtypes:  # decided (and any warning logged) once
            self._autocast_dtypes[device] = autocast_dtype(device, self.precision)
        return self._autocast_dtypes[device]

    def _backbone_autocast(self, batch: Batch) -> torch.autocast:
        device = batch.target.device
        dtype = self.autocast_dtype(device)
        return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with self._backbone_autocast(batch):
            feats, target = self.features(batch), batch.target
            if self.training:
                for augmentation in self.augmentations:
                    feats, target = augmentation(feats, target)
            embeddings = self.model(feats)
        with torch.autocast(embeddings.device.type, enabled=False):
            return self.loss(embeddings.float(), target.float())

    def embed(self, batch: Batch) -> torch.Tensor:
        """`(B, E)` float32 embeddings of the batch's crops (no batch augmentation)."""
        with self._backbone_autocast(batch):
            embeddings = self.model(self.features(batch))
        return embeddings.float()

    def score_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        """`(B,)` float32 scores of `embeddings` (higher = more bona fide)."""
        with torch.autocast(embeddings.device.type, enabled=False):
            return self.loss.score(embeddings.float())

    def score(self, batch: Batch) -> torch.Tensor:
        return self.score_embeddings(self.embed(batch))

    @property
    def natural_decision(self) -> bool:
        """Whether the loss has a decision of its own (`log_odds_embeddings`)."""
        return bool(self.loss.natural_decision)

    def log_odds_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        """`(B,)` float32 log-odds of the loss's own classifier (bona fide where >= 0)."""
        with torch.autocast(embeddings.device.type, enabled=False):
            return self.loss.log_odds(embeddings.float())

    def param_groups(self) -> Iterator[tuple[str, list[nn.Parameter]]]:
        """`(part, parameters)` of every part that has parameters: `inputs.<name>` per branch,
        `model`, `loss` (the names `optim_groups` uses)."""
        for name, frontend in self.inputs.items():
            params = list(frontend.parameters())
            if params:
                yield f"inputs.{name}", params
        yield "model", list(self.model.parameters())
        params = list(self.loss.parameters())
        if params:
            yield "loss", params

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_detector(config: dict[str, Any]) -> Detector:
    """The detector of a resolved config, untrained (pretrained encoders load their weights)."""
    inputs = {
        name: FRONTENDS.build(branch["frontend"], branch["frontend_conf"])
        for name, branch in config["inputs"].items()
    }
    specs = {name: frontend.spec for name, frontend in inputs.items()}
    model = MODELS.build(config["model"], config["model_conf"], inputs=specs)
    loss = LOSSES.build(config["loss"], config["loss_conf"], embedding_dim=model.embedding_dim)
    augmentations = [
        AUGMENTATIONS.build(name, settings) for name, settings in config["augment"].items()
    ]
    train = config["train"]
    return Detector(inputs, model, loss, augmentations, train["freeze"], train["precision"])
