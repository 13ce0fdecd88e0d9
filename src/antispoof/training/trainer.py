"""The training loop: best checkpoint by dev EER, resumable, logged to TensorBoard and train.log.

Every epoch reseeds from (seed, epoch), so a run resumed from `checkpoints/last.pt` after an
interruption repeats exactly what an uninterrupted run would have done, across an unfreeze
epoch too (the freeze schedule is a function of the epoch). Batches are waveform crops (and
cached features) that the detector turns into features, augments, embeds and scores on the
device, in the precision of `train.precision` (antispoof.detector); in float16 the gradients
are scaled (torch.amp.GradScaler, its state kept in `checkpoints/last.pt`).

Under torchrun (`antispoof.bin.train` joins the process group) the same loop runs data-parallel,
one process per GPU (or CPU share), and computes what one process computes but for the
following:
- `train.batch_size` is the global batch: each process takes `batch_size / world_size` examples
  of it (a batch size the processes cannot share evenly is refused). Every epoch's order is one
  permutation of the training set drawn from (seed, epoch), and the k-th global batch holds the
  same utterances however many processes share it; their crops depend on (seed, epoch,
  utterance) alone, so they too are the same whichever process reads an utterance. Each process
  draws its own stream of the device-side randomness (batch augmentations), from (seed, epoch,
  rank).
- The detector is wrapped in DistributedDataParallel, which averages the gradients. DDP takes
  only the parameters that need a gradient when it wraps, so the trainer wraps it in its first
  epoch and anew whenever the freeze schedule changes that set (the unfreeze epoch). Every
  parameter that needs a gradient then takes part in every step (the wav2vec2 branch drops the
  layers past the deepest one it reads, and its unused mask vector), so DDP runs without
  `find_unused_parameters` and its search of the graph at each step; a parameter left out would
  stop the run with DDP's error rather than go wrong silently.
- BatchNorm stays per process: each normalises with the statistics of its own share of the
  batch, and rank 0's running statistics (which DDP hands to every process at each step, and the
  trainer once more before the dev set is scored) are the ones kept. SyncBatchNorm would give one
  process's statistics exactly, but it runs on CUDA only (the CPU processes of a laptop or a test
  could not follow the GPU recipe) and adds a collective per BatchNorm layer and step; with the
  published batch of 64 a share keeps 8 or more examples on up to 8 GPUs. The training loss of a
  run therefore differs slightly from one process's (tests/test_ddp.py measures it).
- The dev set is scored in shares, one per process, and gathered, so that every process holds the
  same dev EER; the logged training loss is the mean over every process's examples.
- Rank 0 alone writes checkpoints, TensorBoard events, train.log and train_summary.json; every
  process resumes from `checkpoints/last.pt`, which must therefore be on a file system that all
  nodes share.

Gradient accumulation (`train.accum_grad` k) keeps `train.batch_size` the effective batch on a
device too small for its activations: each process cuts its share of a batch into k
micro-batches of batch_size / (k x world_size) examples (a batch size that does not divide is
refused), runs forward and backward on one at a time, weighting each micro-batch's loss by its
share of the examples, and steps the optimizers once, after the last; DDP averages the
gradients over the processes in that last backward pass only (`no_sync` on the others). The
batches, crops, optimiser steps and per-step schedules are those of the run without it, and the
gradient is the whole batch's where the loss is a mean over examples and nothing in the model
looks across examples. Where something does, each micro-batch is seen alone, as each process's
share is under DDP: BatchNorm normalises it with its own statistics (and updates the running
statistics once per micro-batch), the class-weighted softmax and the Single Center Loss take
their class means over it, and Random SpecMix mixes within it. grad_clip applies to the
accumulated gradient; the logged loss is the mean over the examples, as without it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from antispoof.augment.waveform import WAVEFORM_AUGMENTATIONS
from antispoof.checkpoint import load_checkpoint, save_checkpoint
from antispoof.data.dataset import (
    ExampleReader,
    SegmentTrainingExamples,
    TrainingExamples,
    WaveformAugmentation,
    read_labels,
)
from antispoof.detector import Detector, build_detector
from antispoof.errors import NonFiniteLossError
from antispoof.labels import BONAFIDE, CLASS_OF
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
from antispoof.registry import ConfigError
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.distributed import (
    broadcast_buffers,
    gather_dicts,
    gather_objects,
    rank_and_size,
    sum_over_ranks,
)

log = logging.getLogger("antispoof.train")


@dataclass
class TrainingData:
    """The training and dev data directories, and stage-2 caches of their frozen branches."""

    train_dir: Path
    dev_dir: Path
    train_caches: dict[str, Path] = field(default_factory=dict)
    dev_caches: dict[str, Path] = field(default_factory=dict)


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed Python, NumPy and torch; rank r > 0 of a data-parallel run gets a stream of its own."""
    if rank:
        seed = int(np.random.SeedSequence((seed, rank)).generate_state(1)[0])
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_optimizers(detector: Detector, config: dict[str, Any]) -> list[torch.optim.Optimizer]:
    """The main optimizer over every part without one of its own (each part a parameter group,
    its learning rate scaled by `optim_groups`), then each part's own optimizer, in the order of
    `Detector.param_groups`. A group named `inputs` applies to every branch without its own."""
    groups = config["optim_groups"]
    base_lr = config["optim_conf"]["lr"]
    shared, own = [], []
    for part, params in detector.param_groups():
        group = groups.get(part) or (groups.get("inputs") if part.startswith("inputs.") else None)
        group = group or {"lr_scale": 1.0, "optim": None}
        if group["optim"] is not None:
            own.append(OPTIMIZERS.build(group["optim"], group["optim_conf"], params=params))
        else:
            shared.append({"params": params, "lr": base_lr * group["lr_scale"], "name": part})
    return [OPTIMIZERS.build(config["optim"], config["optim_conf"], params=shared), *own]


def _dev_eer(scores: dict[str, float], labels: dict[str, int]) -> float:
    bonafide = np.array([s for u, s in scores.items() if labels[u] == BONAFIDE])
    spoof = np.array([s for u, s in scores.items() if labels[u] != BONAFIDE])
    eer, _ = compute_eer(bonafide, spoof)
    return float(eer)


def require_both_classes(labels: dict[str, int], data_dir: Path, role: str) -> None:
    """A detector learns and is selected on both classes: refuse a set that lacks one."""
    counts = {
        name: sum(label == code for label in labels.values()) for name, code in CLASS_OF.items()
    }
    absent = [name for name, count in counts.items() if count == 0]
    if absent:
        raise ValueError(
            f"the {role} set {data_dir} has no {' and no '.join(absent)} utterances "
            f"({counts['bonafide']} bonafide, {counts['spoof']} spoof in "
            f"{data_dir / 'utt2label'}); it needs both classes"
        )


class WaveformChain:
    """The `waveform_augment` augmentations of a config, applied in order in the workers."""

    def __init__(self, steps: list[WaveformAugmentation]) -> None:
        self.steps = steps

    @classmethod
    def from_config(cls, conf: dict[str, dict[str, Any]], sample_rate: int) -> WaveformChain | None:
        steps = [
            WAVEFORM_AUGMENTATIONS.build(name, settings, sample_rate=sample_rate)
            for name, settings in conf.items()
        ]
        return cls(steps) if steps else None

    def __call__(self, samples: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        for step in self.steps:
            samples = step(samples, generator)
        return samples


def check_batch_split(batch_size: int, world_size: int, accum_grad: int) -> None:
    """Refuse a global batch that the processes, or each process's micro-batches, cannot share
    evenly, naming a value that works."""
    parts = world_size * accum_grad
    if batch_size % parts == 0:
        return
    multiple = batch_size + parts - batch_size % parts
    if accum_grad == 1:
        raise ConfigError(
            f"train.batch_size {batch_size} does not split evenly over the {world_size} "
            "training processes (the global batch is shared among them); choose a multiple of "
            f"{world_size}, e.g. --override train.batch_size={multiple}"
        )
    share = batch_size // world_size
    # The nearest accumulation that divides this process's share, rather more micro-batches
    # (the memory asked for) than fewer.
    accums = [k for k in range(accum_grad, share + 1) if share % k == 0]
    accums = accums or [k for k in range(accum_grad, 0, -1) if share % k == 0]
    alternative = (
        f" or --override train.accum_grad={accums[0]}"
        if batch_size % world_size == 0 and accums
        else ""
    )
    processes = f"{world_size} training processes x " if world_size > 1 else ""
    raise ConfigError(
        f"train.batch_size {batch_size} does not split into {processes}train.accum_grad "
        f"{accum_grad} equal micro-batches (the batch is the effective one, shared among them); "
        f"choose a multiple of {parts}, e.g. --override train.batch_size={multiple}{alternative}"
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
        self.rank, self.world_size = rank_and_size()
        self.is_main = self.rank == 0
        batch_size = self.train_conf["batch_size"]
        self.accum_grad = self.train_conf["accum_grad"]
        check_batch_split(batch_size, self.world_size, self.accum_grad)
        self.batch_size = batch_size // self.world_size  # this process's share of a batch
        self.micro_batch = self.batch_size // self.accum_grad  # what a forward pass holds
        seed_everything(self.train_conf["seed"])
        train_labels = read_labels(data.train_dir)
        self.dev_labels = read_labels(data.dev_dir)
        require_both_classes(train_labels, data.train_dir, "training")
        require_both_classes(self.dev_labels, data.dev_dir, "dev")
        self.detector = build_detector(config).to(device)
        # float16 (train.precision auto on a GPU without native bfloat16) needs its gradients
        # scaled; otherwise the scaler does nothing.
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=self.detector.autocast_dtype(device) == torch.float16
        )
        self.optimizers = build_optimizers(self.detector, config)
        self.schedulers = [
            SCHEDULERS.build(config["scheduler"], config["scheduler_conf"], optimizer=opt)
            for opt in self.optimizers
        ]
        plan = self.detector.crop_plan(self.train_conf["crop_seconds"])
        augmentation = WaveformChain.from_config(
            config.get("waveform_augment", {}), plan.sample_rate
        )
        train_caches = data.train_caches
        if augmentation is not None and train_caches:
            # The cached features are of the audio before augmentation.
            log.info(
                "waveform_augment changes the training audio: the training caches of %s are "
                "not read, those branches run on the device",
                ", ".join(sorted(train_caches)),
            )
            train_caches = {}
        reader = ExampleReader(data.train_dir, plan, train_caches, augmentation)
        self.train_set: TrainingExamples | SegmentTrainingExamples
        if self.train_conf["crops"] == "segments":
            hop_seconds = self.train_conf["segment_hop_seconds"]
            hop = round(hop_seconds * plan.sample_rate) if hop_seconds else plan.samples // 2
            # The segments follow from each utterance's length, read from its audio header. Each
            # process reads its share of the headers and they exchange them: on a slow network
            # file system every process reading every header can outlast the process group's
            # timeout, and it loads the file system as many times over.
            utts = sorted(train_labels)
            num_samples = gather_dicts(
                {utt: reader.audio.num_samples(utt) for utt in utts[self.rank :: self.world_size]}
            )
            self.train_set = SegmentTrainingExamples(
                reader, train_labels, self.train_conf["seed"], max(1, hop), num_samples
            )
        else:
            self.train_set = TrainingExamples(reader, train_labels, self.train_conf["seed"])
        self.dev_reader = scoring_reader(
            self.detector,
            data.dev_dir,
            config["inference"],
            data.dev_caches,
        )
        self.checkpoint_dir = self.exp_dir / "checkpoints"
        self.epoch = 0
        self.best_eer = math.inf
        self.best_epoch = 0
        self.history: list[dict[str, float]] = []
        # The DistributedDataParallel wrapper, and the parameters it was made for.
        self._ddp: DistributedDataParallel | None = None
        self._ddp_params: list[str] = []

    def resume_if_possible(self) -> None:
        last = self.checkpoint_dir / "last.pt"
        if not last.exists():
            self._start_from_zoo()
            return
        state = load_checkpoint(last, self.device)
        self._refuse_other_inputs(last, state)
        self.detector.load_state_dict(state["detector"])
        for optimizer, opt_state in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(opt_state)
        for scheduler, sched_state in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(sched_state)
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
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

    def _parallel(self) -> torch.nn.Module:
        """What a training step runs: the detector, or in a data-parallel run its DDP wrapper for
        the parameters that need a gradient in this epoch."""
        if self.world_size == 1:
            return self.detector
        params = [name for name, p in self.detector.named_parameters() if p.requires_grad]
        if self._ddp is None or params != self._ddp_params:
            self._ddp = None  # the old wrapper's gradient hooks go with it
            self._ddp = DistributedDataParallel(
                self.detector, device_ids=[self.device] if self.device.type == "cuda" else None
            )
            self._ddp_params = params
        return self._ddp

    def _train_epoch(self, epoch: int, writer: SummaryWriter | None) -> float:
        train = self.train_conf
        seed_everything(train["seed"] + epoch, self.rank)
        self.train_set.set_epoch(epoch)
        self.detector.set_epoch(epoch)
        model = self._parallel()
        # One permutation of (seed, epoch) for any number of processes; process r reads its
        # positions r, r + world_size, ..., so that global batch k is the same utterances.
        sampler = DistributedSampler(
            self.train_set,
            num_replicas=self.world_size,
            rank=self.rank,
            shuffle=True,
            seed=train["seed"],
            drop_last=True,
        )
        sampler.set_epoch(epoch)
        loader = DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=len(self.train_set) > train["batch_size"],
            num_workers=train["num_workers"],
            collate_fn=self.train_set.collate,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(train["seed"] + epoch),
        )
        model.train(True)
        total, count = 0.0, 0
        term_totals: dict[str, float] = {}
        interactive = sys.stderr.isatty()
        progress = tqdm(
            loader,
            desc=f"epoch {epoch}",
            leave=False,
            disable=None if self.is_main else True,
            mininterval=1 if interactive else 30,
        )
        for step, batch in enumerate(progress, start=1):
            batch = batch.to(self.device)
            for optimizer in self.optimizers:
                optimizer.zero_grad(set_to_none=True)
            micro_batches = list(batch.chunks(self.micro_batch))
            for index, micro in enumerate(micro_batches, start=1):
                # DDP averages the gradients in the last micro-batch's backward pass; the
                # others only add to this process's gradients.
                accumulate_only = index < len(micro_batches) and isinstance(
                    model, DistributedDataParallel
                )
                with model.no_sync() if accumulate_only else nullcontext():
                    loss, stats = model(micro)
                    if not torch.isfinite(loss):
                        raise NonFiniteLossError(
                            f"epoch {epoch} step {step}: the loss is {loss.item()} on the "
                            f"utterances {' '.join(micro.utts)} of {self.data.train_dir}; check "
                            f"their audio (python -m antispoof.bin.validate_data_dir "
                            f"--check_audio {self.data.train_dir}) or lower the learning rate"
                        )
                    # The loss is a mean over the micro-batch: weighted by its share of the
                    # batch, the summed gradients are those of the mean over the whole batch
                    # (scaled once more in float16, unscaled once per optimiser step below).
                    self.scaler.scale(loss * (len(micro) / len(batch))).backward()
                total += loss.item() * len(micro)
                count += len(micro)
                for name, value in stats.items():
                    term_totals[name] = term_totals.get(name, 0.0) + float(value) * len(micro)
            if train["grad_clip"]:
                for optimizer in self.optimizers:
                    self.scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(self.detector.parameters(), train["grad_clip"])
            for optimizer in self.optimizers:
                self.scaler.step(optimizer)
            self.scaler.update()
            for scheduler in self.schedulers:
                if getattr(scheduler, "per_step", False):
                    scheduler.step()
            progress.set_postfix(loss=f"{total / count:.4f}")
        # Means over every process's examples.
        total, count, *terms = sum_over_ranks([total, count, *term_totals.values()], self.device)
        if writer is not None:
            for name, value in zip(term_totals, terms, strict=True):
                writer.add_scalar(f"train/{name}", value / max(count, 1), epoch)
        return total / max(count, 1)

    def _dev_scores(self) -> dict[str, float]:
        """Scores of the dev set, each process scoring a share; every process gets them all."""
        utts = sorted(self.dev_labels)
        share = score_utterances(
            self.detector,
            self.dev_reader,
            utts[self.rank :: self.world_size],
            self.config["inference"],
            self.device,
            num_workers=self.train_conf["num_workers"],
        )
        scores = gather_dicts(share)
        return {utt: scores[utt] for utt in utts}

    def _start_from_zoo(self) -> None:
        """A fresh training with `init:` starts from that zoo model's weights, for the parts it
        names; a part of another shape is an error naming the first keys that differ."""
        init = self.config.get("init")
        if init is None:
            return
        from antispoof.zoo import initial_state

        state, record = initial_state(init["model"], init["parts"])
        ours = {
            key: value
            for key, value in self.detector.state_dict().items()
            if key.startswith(tuple(f"{part}." for part in init["parts"]))
        }
        missing = sorted(set(ours) - set(state))
        unexpected = sorted(set(state) - set(ours))
        wrong = sorted(k for k in set(ours) & set(state) if ours[k].shape != state[k].shape)
        if missing or unexpected or wrong:
            raise ConfigError(
                f"init: {init['model']}'s weights do not fit this config's "
                f"{', '.join(init['parts'])}: missing {missing[:3]}, not in this detector "
                f"{unexpected[:3]}, other shapes {wrong[:3]}"
            )
        self.detector.load_state_dict(state, strict=False)
        log.info(
            "training starts from %s (%s: %s, sha256/md5 %s)",
            record["title"],
            ", ".join(init["parts"]),
            record["weights"],
            record.get("sha256", record.get("md5")),
        )

    def run(self) -> dict[str, Any]:
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        self.resume_if_possible()
        resumed = gather_objects(self.epoch)
        if len(set(resumed)) > 1:
            raise ValueError(
                f"the training processes resumed after epochs {resumed} (by rank): they do not "
                f"all see {self.checkpoint_dir / 'last.pt'}; the experiment directory must be on "
                "a file system that every node shares"
            )
        writer = SummaryWriter(str(self.exp_dir / "tensorboard")) if self.is_main else None
        log.info(
            "%d trainable parameters; %d training %s; device %s%s%s",
            self.detector.num_parameters(),
            len(self.train_set),
            "segments" if self.train_conf["crops"] == "segments" else "utterances",
            self.device,
            f", {self.world_size} processes" if self.world_size > 1 else "",
            f"; each optimiser step accumulates {self.accum_grad} micro-batches of "
            f"{self.micro_batch} per process"
            if self.accum_grad > 1
            else "",
        )
        for epoch in range(self.epoch + 1, self.train_conf["epochs"] + 1):
            started = time.time()
            train_loss = self._train_epoch(epoch, writer)
            # Each process's last step updated its own BatchNorm statistics: score and keep
            # rank 0's.
            broadcast_buffers(self.detector)
            dev_eer = _dev_eer(self._dev_scores(), self.dev_labels)
            learning_rate = self.optimizers[0].param_groups[0]["lr"]
            for scheduler in self.schedulers:
                if getattr(scheduler, "per_step", False):
                    scheduler.epoch_end(dev_eer)
                else:
                    scheduler.step()
            improved = dev_eer < self.best_eer
            if improved:
                self.best_eer, self.best_epoch = dev_eer, epoch
            if improved and self.is_main:
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
            if writer is not None:  # rank 0
                save_checkpoint(
                    {
                        "detector": self.detector.state_dict(),
                        "optimizers": [o.state_dict() for o in self.optimizers],
                        "schedulers": [s.state_dict() for s in self.schedulers],
                        "scaler": self.scaler.state_dict(),
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
        summary = {
            "best_epoch": self.best_epoch,
            "best_dev_eer": self.best_eer,
            "epochs": self.epoch,
            "history": self.history,
            "parameters": self.detector.num_parameters(),
        }
        if writer is not None:
            writer.close()
            (self.exp_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
