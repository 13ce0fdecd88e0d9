"""The training loop: best checkpoint by dev EER, resumable, logged to TensorBoard and train.log.

Every epoch reseeds from (seed, epoch), so a run resumed from `checkpoints/last.pt` after an
interruption repeats exactly what an uninterrupted run would have done.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from antispoof.data.dataset import LABELS, FeatureSource, TrainingCrops, read_labels
from antispoof.detector import Detector, build_detector
from antispoof.errors import NonFiniteLossError
from antispoof.losses.base import BONAFIDE
from antispoof.markers import (
    StaleWorkError,
    changed_settings,
    describe_inputs,
    stage_inputs,
    stale_inputs,
    training_settings,
)
from antispoof.metrics.det import compute_eer
from antispoof.optim import OPTIMIZERS, SCHEDULERS
from antispoof.scoring import score_utterances
from antispoof.training.checkpoint import load_checkpoint, save_checkpoint
from antispoof.training.device import autocast_dtype

log = logging.getLogger("antispoof.train")


@dataclass
class TrainingData:
    train_dir: Path
    dev_dir: Path
    train_feats: Path | None
    dev_feats: Path | None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _optimizers(detector: Detector, config: dict[str, Any]) -> list[torch.optim.Optimizer]:
    train = config["train"]
    model_params = list(detector.model.parameters())
    loss_params = list(detector.loss.parameters())
    if train["loss_optim"] is None:
        return [
            OPTIMIZERS.build(
                config["optim"], config["optim_conf"], params=model_params + loss_params
            )
        ]
    optimizers = [OPTIMIZERS.build(config["optim"], config["optim_conf"], params=model_params)]
    if loss_params:
        optimizers.append(
            OPTIMIZERS.build(train["loss_optim"], train["loss_optim_conf"], params=loss_params)
        )
    return optimizers


def _dev_eer(scores: dict[str, float], labels: dict[str, int]) -> float:
    bonafide = np.array([s for u, s in scores.items() if labels[u] == BONAFIDE])
    spoof = np.array([s for u, s in scores.items() if labels[u] != BONAFIDE])
    eer, _ = compute_eer(bonafide, spoof)
    return float(eer)


def require_both_classes(labels: dict[str, int], data_dir: Path, role: str) -> None:
    """A detector learns and is selected on both classes: refuse a set that lacks one."""
    counts = {
        name: sum(label == code for label in labels.values()) for name, code in LABELS.items()
    }
    absent = [name for name, count in counts.items() if count == 0]
    if absent:
        raise ValueError(
            f"the {role} set {data_dir} has no {' and no '.join(absent)} utterances "
            f"({counts['bonafide']} bonafide, {counts['spoof']} spoof in "
            f"{data_dir / 'utt2label'}); it needs both classes"
        )


class Trainer:
    def __init__(
        self, exp_dir: str | Path, config: dict[str, Any], data: TrainingData, device: torch.device
    ):
        self.exp_dir = Path(exp_dir)
        self.data = data
        self.config = config
        # What the model is trained from: a checkpoint of other inputs is never resumed.
        self.inputs = stage_inputs(
            "train", train_dir=data.train_dir, dev_dir=data.dev_dir, config=config
        )
        self.train_conf = config["train"]
        self.device = device
        self.autocast = autocast_dtype(device, self.train_conf["precision"])
        seed_everything(self.train_conf["seed"])
        self.detector = build_detector(config).to(device)
        self.optimizers = _optimizers(self.detector, config)
        self.schedulers = [
            SCHEDULERS.build(config["scheduler"], config["scheduler_conf"], optimizer=opt)
            for opt in self.optimizers
        ]
        frontend = self.detector.frontend.cpu()
        self.train_set = TrainingCrops(
            data.train_dir,
            FeatureSource(data.train_dir, frontend, data.train_feats),
            self.train_conf["crop_frames"],
            self.train_conf["seed"],
        )
        self.dev_source = FeatureSource(data.dev_dir, frontend, data.dev_feats)
        self.dev_labels = read_labels(data.dev_dir)
        require_both_classes(self.train_set.labels, data.train_dir, "training")
        require_both_classes(self.dev_labels, data.dev_dir, "dev")
        self.checkpoint_dir = self.exp_dir / "checkpoints"
        self.epoch = 0
        self.best_eer = math.inf
        self.best_epoch = 0
        self.history: list[dict[str, float]] = []

    def resume_if_possible(self) -> None:
        last = self.checkpoint_dir / "last.pt"
        if not last.exists():
            return
        state = load_checkpoint(last, self.device)
        self._refuse_other_inputs(last, state)
        self.detector.load_state_dict(state["detector"])
        for optimizer, opt_state in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(opt_state)
        for scheduler, sched_state in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(sched_state)
        self.epoch = state["epoch"]
        self.best_eer = state["best_eer"]
        self.best_epoch = state["best_epoch"]
        self.history = state["history"]
        log.info(
            "resumed from %s after epoch %d (best dev EER %.4f at epoch %d)",
            last,
            self.epoch,
            self.best_eer,
            self.best_epoch,
        )

    def _refuse_other_inputs(self, path: Path, state: dict[str, Any]) -> None:
        """Resuming under other settings or data would mix two trainings in one model."""
        recorded = state.get("inputs")
        if recorded is None:
            changed = "it records no inputs: written by an older version"
        else:
            names = stale_inputs(recorded, self.inputs)
            if not names:
                return
            tables = [name for name in names if not name.startswith("config")]
            what = [describe_inputs(tables, vars(self.data))] if tables else []
            if len(tables) < len(names):
                settings = changed_settings(
                    state.get("training_settings"), training_settings(self.config)
                )
                what.append(f"training settings {', '.join(settings)}")
            changed = f"changed: {'; '.join(what)}"
        raise StaleWorkError(
            f"{path} was trained from other inputs ({changed}); re-run with --force true to "
            "train anew (the old experiment is moved aside), or restore the old inputs"
        )

    def _train_epoch(self, epoch: int) -> float:
        train = self.train_conf
        seed_everything(train["seed"] + epoch)
        self.train_set.set_epoch(epoch)
        loader = DataLoader(
            self.train_set,
            batch_size=train["batch_size"],
            shuffle=True,
            drop_last=len(self.train_set) > train["batch_size"],
            num_workers=train["num_workers"],
            generator=torch.Generator().manual_seed(train["seed"] + epoch),
        )
        self.detector.train(True)
        total, count = 0.0, 0
        interactive = sys.stderr.isatty()
        progress = tqdm(
            loader,
            desc=f"epoch {epoch}",
            leave=False,
            disable=None,
            mininterval=1 if interactive else 30,
        )
        for step, (feats, labels, utts) in enumerate(progress, start=1):
            feats, labels = feats.to(self.device), labels.to(self.device)
            with torch.autocast(
                self.device.type,
                dtype=self.autocast or torch.float32,
                enabled=self.autocast is not None,
            ):
                loss = self.detector.loss(self.detector.model(feats), labels)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"epoch {epoch} step {step}: the loss is {loss.item()} on the utterances "
                    f"{' '.join(utts)} of {self.data.train_dir}; check their audio "
                    f"(python -m antispoof.bin.validate_data_dir --check_audio "
                    f"{self.data.train_dir}) or lower the learning rate"
                )
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if train["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(
                    [p for m in (self.detector.model, self.detector.loss) for p in m.parameters()],
                    train["grad_clip"],
                )
            for optimizer in self.optimizers:
                optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
            progress.set_postfix(loss=f"{total / count:.4f}")
        return total / max(count, 1)

    def _dev_scores(self) -> dict[str, float]:
        return score_utterances(
            self.detector,
            sorted(self.dev_labels),
            self.dev_source,
            self.config["inference"],
            self.train_conf["crop_frames"],
            self.device,
            num_workers=self.train_conf["num_workers"],
            autocast_dtype=self.autocast,
        )

    def run(self) -> dict[str, Any]:
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        self.resume_if_possible()
        writer = SummaryWriter(str(self.exp_dir / "tensorboard"))
        log.info(
            "%d trainable parameters; %d training utterances; device %s",
            self.detector.num_parameters(),
            len(self.train_set),
            self.device,
        )
        for epoch in range(self.epoch + 1, self.train_conf["epochs"] + 1):
            started = time.time()
            train_loss = self._train_epoch(epoch)
            dev_eer = _dev_eer(self._dev_scores(), self.dev_labels)
            learning_rate = self.optimizers[0].param_groups[0]["lr"]
            for scheduler in self.schedulers:
                scheduler.step()
            improved = dev_eer < self.best_eer
            if improved:
                self.best_eer, self.best_epoch = dev_eer, epoch
                save_checkpoint(
                    {
                        "detector": self.detector.state_dict(),
                        "epoch": epoch,
                        "dev_eer": dev_eer,
                        "training_settings": training_settings(self.config),
                    },
                    self.checkpoint_dir / "best.pt",
                )
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "dev_eer": dev_eer,
                "lr": learning_rate,
                "seconds": time.time() - started,
            }
            self.history.append(record)
            self.epoch = epoch
            save_checkpoint(
                {
                    "detector": self.detector.state_dict(),
                    "optimizers": [o.state_dict() for o in self.optimizers],
                    "schedulers": [s.state_dict() for s in self.schedulers],
                    "epoch": epoch,
                    "best_eer": self.best_eer,
                    "best_epoch": self.best_epoch,
                    "history": self.history,
                    "inputs": self.inputs,
                    "training_settings": training_settings(self.config),
                },
                self.checkpoint_dir / "last.pt",
            )
            writer.add_scalar("train/loss", train_loss, epoch)
            writer.add_scalar("dev/eer", dev_eer, epoch)
            writer.add_scalar("train/lr", learning_rate, epoch)
            writer.flush()
            log.info(
                "epoch %d/%d: train loss %.4f, dev EER %.3f %%%s (%.0f s)",
                epoch,
                self.train_conf["epochs"],
                train_loss,
                100 * dev_eer,
                " (best)" if improved else "",
                record["seconds"],
            )
        writer.close()
        summary = {
            "best_epoch": self.best_epoch,
            "best_dev_eer": self.best_eer,
            "epochs": self.epoch,
            "history": self.history,
            "parameters": self.detector.num_parameters(),
        }
        (self.exp_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
