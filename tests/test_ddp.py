"""Data-parallel training under torchrun, on CPUs with the gloo backend: two processes train the
toy LFCC-ResNet18 as one process does with the global batch split in two, only rank 0 writes,
every rank holds the same dev scores and weights, a resumed run repeats an uninterrupted one, a
freeze schedule re-wraps DDP at the unfreeze epoch; the shell path (steps/train.sh --nproc,
--ngpu without GPUs, --num_nodes through a fake Slurm with two "nodes" on this machine).

Where two processes differ from one process with the same global batch of 8:
- BatchNorm is per process (antispoof.training.trainer): each normalises its 4 examples with
  their own statistics. That moves the loss by several per cent on this toy (measured: +8 % in
  epoch 1, +20 % in epoch 2), so it is bounded loosely (SINGLE_PROCESS_REL). One process that
  puts each process's share of a batch through the detector alone (`train_in_one_process` with
  `processes=2`) computes what the two processes compute.
- Reduction order: the all-reduce sums the two shares' gradients where autograd sums over the
  batch, and the loss is averaged across processes. The differences start at float rounding
  (5e-7 relative after the first epoch) and Adam (lr 3e-3) with OC-Softmax's scale of 20 grows
  them to about 4e-4 by the second epoch; swapping the two shares in one process moves the loss
  as much. Hence SAME_COMPUTATION_REL.
Two runs of the same processes are deterministic, so a resumed run matches exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml

from antispoof.checkpoint import load_checkpoint
from antispoof.config import resolve_file, save_config
from antispoof.data.batch import Batch
from antispoof.data.dataset import AudioTable
from antispoof.detector import Detector, build_detector
from antispoof.errors import DeviceError
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.device import select_device
from antispoof.training.distributed import Ranks, process_group
from antispoof.training.trainer import Trainer, TrainingData, seed_everything
from tiny_configs import SMALL_RESNET, TINY_WAV2VEC2, tiny_detector
from toy_data import make_toy_data_dir

pytestmark = pytest.mark.ddp

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).resolve().parent / "ddp_probe.py"
TINY = tiny_detector(crop_seconds=0.6, epochs=2)
# A trainable encoder frozen for the first epoch: DDP must take its parameters in at epoch 2.
FREEZE = {
    "inputs": {
        "ssl": {
            "frontend": "wav2vec2",
            "frontend_conf": {
                "config": TINY_WAV2VEC2,
                "layers": [1, 2],
            },
        }
    },
    "model": "resnet18",
    "model_conf": SMALL_RESNET,
    "loss": "softmax",
    "optim": "adam",
    "optim_conf": {"lr": 0.003},
    "train": {
        "epochs": 2,
        "batch_size": 8,
        "crop_seconds": 0.5,
        "num_workers": 0,
        "freeze": {"ssl": 1},
    },
}
CPU = torch.device("cpu")
SAME_COMPUTATION_REL = 5e-3
SINGLE_PROCESS_REL = 0.35
# Threads of the whole job: each of the two processes gets half (as steps/train.sh sets it), so
# that runs launched either way compute alike.
JOB_THREADS = "2"


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp")
    make_toy_data_dir(root, "train", 32, 0)
    make_toy_data_dir(root, "dev", 16, 1)
    return root


def make_exp(root: Path, name: str, settings: dict) -> Path:
    exp_dir = root / "exp" / name
    (root / f"{name}.yaml").write_text(yaml.safe_dump(settings))
    save_config(resolve_file(root / f"{name}.yaml"), exp_dir / "config.yaml")
    return exp_dir


def data_dirs(root: Path) -> list[str]:
    return [str(root / "data" / "train"), str(root / "data" / "dev")]


def train_options(root: Path, exp_dir: Path) -> list[str]:
    train_dir, dev_dir = data_dirs(root)
    return ["--exp_dir", str(exp_dir), "--train_dir", train_dir, "--dev_dir", dev_dir]


def history(exp_dir: Path) -> list[dict]:
    return json.loads((exp_dir / "train_summary.json").read_text())["history"]


def share(batch: Batch, index: slice) -> Batch:
    return dataclasses.replace(
        batch,
        utts=batch.utts[index],
        wav=batch.wav[index],
        lengths=batch.lengths[index],
        offsets=batch.offsets[index],
        target=batch.target[index],
        cached={name: feats[index] for name, feats in batch.cached.items()},
    )


def train_in_one_process(
    root: Path, exp_dir: Path, monkeypatch: pytest.MonkeyPatch, processes: int = 1
) -> list[dict]:
    """The history of one process; with `processes` > 1 it puts each process's share of a batch
    (positions r, r + processes, ...) through the detector alone, so that BatchNorm normalises
    each share with its own statistics, and averages the shares' losses as DDP averages their
    gradients."""
    forward = Detector.forward

    def shares(self: Detector, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not self.training:
            return forward(self, batch)
        results = [forward(self, share(batch, slice(r, None, processes))) for r in range(processes)]
        loss = sum(loss for loss, _ in results) / processes
        return loss, {name: sum(s[name] for _, s in results) / processes for name in results[0][1]}

    with monkeypatch.context() as patch:
        if processes > 1:
            patch.setattr(Detector, "forward", shares)
        config = resolve_file(exp_dir / "config.yaml")
        data = TrainingData(*map(Path, data_dirs(root)))
        return Trainer(exp_dir, config, data, torch.device("cpu")).run()["history"]


def torchrun(
    root: Path, exp_dir: Path, probe_dir: Path, *, stop_at: int = 0
) -> subprocess.CompletedProcess[str]:
    """Two CPU processes of tests/ddp_probe.py (antispoof.bin.train, recorded)."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(PROBE),
        str(probe_dir),
        *train_options(root, exp_dir),
        "--ngpu",
        "0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": JOB_THREADS, "DDP_PROBE_STOP_AT": str(stop_at)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def steps_train(
    *options: str, exp_dir: Path, root: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [
        str(REPO / "steps" / "train.sh"),
        "--cmd",
        str(REPO / "utils" / "run_local.sh"),
        "--num_threads",
        JOB_THREADS,
        *options,
        str(exp_dir),
        *data_dirs(root),
    ]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def two_processes(toy: Path) -> Path:
    """The toy trained by two CPU processes through steps/train.sh --ngpu 0 --nproc 2."""
    exp_dir = make_exp(toy, "two_processes", TINY)
    result = steps_train("--ngpu", "0", "--nproc", "2", exp_dir=exp_dir, root=toy)
    assert result.returncode == 0, result.stderr[-3000:]
    return exp_dir


# --------------------------------------------------------------------------------------------
# training


def test_two_processes_compute_what_one_process_computes_with_the_batch_split(
    toy: Path, two_processes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ddp = history(two_processes)
    split = train_in_one_process(toy, make_exp(toy, "split", TINY), monkeypatch, processes=2)
    single = train_in_one_process(toy, make_exp(toy, "single", TINY), monkeypatch)
    assert [r["epoch"] for r in ddp] == [1, 2]
    for mine, same, one in zip(ddp, split, single, strict=True):
        assert mine["train_loss"] == pytest.approx(same["train_loss"], rel=SAME_COMPUTATION_REL)
        assert mine["train_loss"] == pytest.approx(one["train_loss"], rel=SINGLE_PROCESS_REL)
        assert mine["lr"] == one["lr"]


def test_two_processes_accumulating_compute_what_one_process_computes(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 processes x 2 micro-batches of 4: process r takes positions r, r + 2, ... of each global
    # batch of 16 and cuts its 8 in two; one process cutting the batch in two micro-batches and
    # each of them in the two processes' shares puts the same examples through BatchNorm
    # together. (Micro-batches of 2 would do too, but BatchNorm over 2 examples amplifies float
    # rounding: swapping two shares in one process then moves the loss by 0.6 % in epoch 2.)
    accumulated = {**TINY, "train": {**TINY["train"], "batch_size": 16, "accum_grad": 2}}
    exp_dir = make_exp(toy, "accumulated", accumulated)
    result = torchrun(toy, exp_dir, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accumulates 2 micro-batches of 4 per process" in (exp_dir / "train.log").read_text()
    ddp = history(exp_dir)
    emulated = make_exp(toy, "accumulated_split", accumulated)
    split = train_in_one_process(toy, emulated, monkeypatch, processes=2)
    assert [r["epoch"] for r in ddp] == [1, 2]
    for mine, same in zip(ddp, split, strict=True):
        assert mine["train_loss"] == pytest.approx(same["train_loss"], rel=SAME_COMPUTATION_REL)
        assert mine["lr"] == same["lr"]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # The first micro-batch of each of the 2 x 32 / 16 optimiser steps skipped the all-reduce,
    # the last one averaged the accumulated gradients: the ranks hold the same weights.
    assert ranks[0]["no_sync"] == ranks[1]["no_sync"] == 2 * 32 // 16
    for name, value in ranks[0]["detector"].items():
        assert torch.equal(value, ranks[1]["detector"][name]), name


def test_only_rank_0_writes_and_logs(two_processes: Path) -> None:
    assert sorted(p.name for p in (two_processes / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
    ]
    assert len(list((two_processes / "tensorboard").iterdir())) == 1
    assert (two_processes / ".done.train").exists()
    progress = (two_processes / "train.log").read_text()
    job_log = (two_processes / "log" / "train.log").read_text()
    assert progress.count("device cpu, 2 processes") == 1
    # The other process logs warnings and errors only: each epoch's line comes from rank 0.
    for text in (progress, job_log):
        for epoch in (1, 2):
            assert text.count(f"epoch {epoch}/2: train loss") == 1, text
    assert "torch.distributed.run --nproc_per_node 2 --standalone" in job_log.splitlines()[0]


def test_a_resumed_run_repeats_an_uninterrupted_one_and_ranks_agree(
    toy: Path, two_processes: Path, tmp_path: Path
) -> None:
    exp_dir = make_exp(toy, "resumed", TINY)
    stopped = torchrun(toy, exp_dir, tmp_path / "stopped", stop_at=2)
    assert stopped.returncode != 0
    assert load_checkpoint(exp_dir / "checkpoints" / "last.pt")["epoch"] == 1

    probe_dir = tmp_path / "resumed"
    result = torchrun(toy, exp_dir, probe_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in (exp_dir / "train.log").read_text()
    for mine, theirs in zip(history(exp_dir), history(two_processes), strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-6)
        assert mine["dev_eer"] == theirs["dev_eer"]

    ranks = [torch.load(probe_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # Every rank scored the whole dev set (its share and the other's) and got the same EER.
    assert len(ranks[0]["dev"]) == len(ranks[1]["dev"]) == 1  # epoch 2, after the resumption
    dev_utts = sorted((toy / "data" / "dev" / "utt2label").read_text().split()[::2])
    for mine, theirs in zip(ranks[0]["dev"], ranks[1]["dev"], strict=True):
        assert sorted(mine["scores"]) == dev_utts
        assert mine["scores"] == theirs["scores"]
        assert mine["eer"] == theirs["eer"] == history(exp_dir)[-1]["dev_eer"]
    for name, value in ranks[0]["detector"].items():
        assert torch.equal(value, ranks[1]["detector"][name]), name
    # Both shares were scored with the weights and BatchNorm statistics that rank 0 saved.
    config = resolve_file(exp_dir / "config.yaml")
    detector = build_detector(config)
    detector.load_state_dict(load_checkpoint(exp_dir / "checkpoints" / "last.pt")["detector"])
    detector.set_epoch(2)
    inference = config["inference"]
    reader = scoring_reader(detector, toy / "data" / "dev", inference)
    scores = score_utterances(detector, reader, dev_utts, inference, torch.device("cpu"))
    assert scores == pytest.approx(ranks[0]["dev"][-1]["scores"], abs=1e-5)


def test_ddp_takes_a_branch_in_at_its_unfreeze_epoch(toy: Path, tmp_path: Path) -> None:
    exp_dir = make_exp(toy, "freeze", FREEZE)
    result = torchrun(toy, exp_dir, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # The encoder trained in epoch 2, and identically on both ranks: DDP averaged its gradients
    # (wrapped once for epoch 1 only, each rank would have stepped on its own share's).
    config = resolve_file(exp_dir / "config.yaml")
    seed_everything(config["train"]["seed"])
    initial = build_detector(config).state_dict()
    encoder = [name for name in initial if name.startswith("inputs.ssl.")]
    assert any(not torch.equal(initial[name], ranks[0]["detector"][name]) for name in encoder)
    for name, value in ranks[0]["detector"].items():
        assert torch.equal(value, ranks[1]["detector"][name]), name


# --------------------------------------------------------------------------------------------
# errors and the shell path


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last line of stderr, checked to be the one error of a failed run."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.splitlines()[-1]


def test_a_batch_the_processes_cannot_share_evenly_is_refused(toy: Path) -> None:
    exp_dir = make_exp(toy, "odd_batch", {**TINY, "train": {**TINY["train"], "batch_size": 7}})
    result = steps_train("--ngpu", "0", "--nproc", "2", exp_dir=exp_dir, root=toy)
    line = error_line(result)
    assert "train.batch_size 7 does not split evenly over the 2 training processes" in line
    assert "train.batch_size=8" in line
    assert not (exp_dir / "checkpoints").exists()


def test_ngpu_2_without_gpus_is_one_line(toy: Path) -> None:
    exp_dir = make_exp(toy, "no_gpus", TINY)
    result = steps_train("--ngpu", "2", exp_dir=exp_dir, root=toy, env={"CUDA_VISIBLE_DEVICES": ""})
    line = error_line(result)
    assert line.endswith("--ngpu 2 asked for GPUs, but torch sees none; use --ngpu 0 for the CPU")
    assert not (exp_dir / ".done.train").exists()


def test_nproc_means_cpu_processes(toy: Path) -> None:
    exp_dir = make_exp(toy, "nproc_on_gpus", TINY)
    line = error_line(steps_train("--nproc", "2", exp_dir=exp_dir, root=toy))
    assert "--nproc 2 starts CPU processes: give --ngpu 0 too" in line


def test_one_process_uses_one_gpu_and_torchrun_one_per_gpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(DeviceError, match=r"--ngpu 2: a process uses one GPU.*torchrun"):
        select_device(2)
    ranks = Ranks(rank=3, world_size=4, local_rank=1, local_world_size=2)
    assert select_device(2, ranks) == torch.device("cuda", 1)
    assert select_device(None, ranks) == torch.device("cuda", 1)
    assert select_device(0, ranks) == torch.device("cpu")
    with pytest.raises(DeviceError, match="torchrun started 2 processes on this node"):
        select_device(1, ranks)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(DeviceError, match="process 1 of this node needs GPU 1"):
        select_device(2, ranks)


FAKE_SLURM = {
    # Runs the batch script here (one job, no array), as sbatch --wait would on the cluster.
    "sbatch": 'echo 4242\nSLURM_JOB_NODELIST="node[1-2]" bash "${!#}"\n',
    # The job's nodes: both are this machine.
    "scontrol": "echo localhost\necho localhost\n",
    # srun --ntasks-per-node=1 over two nodes: the command twice, at once.
    "srun": (
        'while [[ $1 == --* ]]; do shift; done\n"$@" &\nfirst=$!\n"$@" &\nsecond=$!\n'
        'rc=0\nwait "$first" || rc=1\nwait "$second" || rc=1\nexit "$rc"\n'
    ),
}


def test_two_nodes_through_slurm_meet_at_the_first_node(toy: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKE_SLURM.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}")
        (bin_dir / name).chmod(0o755)
    exp_dir = make_exp(toy, "two_nodes", TINY)
    result = steps_train(
        "--cmd",
        str(REPO / "utils" / "run_slurm.sh"),
        "--ngpu",
        "0",
        "--num_nodes",
        "2",
        exp_dir=exp_dir,
        root=toy,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "ANTISPOOF_SLURM_LOG_WAIT": "0",
            # Without --master_addr and --master_port, the job's first node and a port free there.
            "MASTER_ADDR": "stale-host",
            "MASTER_PORT": "1",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    script = (exp_dir / "log" / "q" / "train.sh").read_text().splitlines()
    assert "#SBATCH --nodes=2" in script and "#SBATCH --ntasks-per-node=1" in script
    assert any(line.startswith("srun --ntasks-per-node=1 ") for line in script)
    job_log = (exp_dir / "log" / "train.log").read_text()
    assert "--nnodes 2 --rdzv_backend c10d --rdzv_id antispoof-" in job_log
    assert "--rdzv_endpoint ${MASTER_ADDR}:${MASTER_PORT} " in job_log
    assert "device cpu, 2 processes" in (exp_dir / "train.log").read_text()
    assert [r["epoch"] for r in history(exp_dir)] == [1, 2]


def test_several_nodes_on_this_machine_need_a_rendezvous_host(toy: Path) -> None:
    exp_dir = make_exp(toy, "nodes_here", TINY)
    result = steps_train("--ngpu", "0", "--num_nodes", "2", exp_dir=exp_dir, root=toy)
    assert result.returncode == 1
    assert "run_local.sh: --num-nodes 2: the job runs on this machine only" in result.stderr


# --------------------------------------------------------------------------------------------
# work shared by the processes, and their timeout


def build_segment_trainer(rank: int, world_size: int, init_file: str, exp_dir: str) -> None:
    """One process of a gloo group: build the trainer of `exp_dir` (segment crops) and record
    which audio headers it read and the segments it listed (tests below)."""
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        read: list[str] = []
        num_samples = AudioTable.num_samples

        def counted(self: AudioTable, utt: str) -> int:
            read.append(utt)
            return num_samples(self, utt)

        AudioTable.num_samples = counted  # type: ignore[method-assign]
        root = Path(exp_dir).parents[1]
        data = TrainingData(*map(Path, data_dirs(root)))
        trainer = Trainer(exp_dir, resolve_file(Path(exp_dir) / "config.yaml"), data, CPU)
        result = {"read": read, "segments": trainer.train_set.segments}
        torch.save(result, Path(exp_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_each_process_reads_its_share_of_the_audio_headers(toy: Path, tmp_path: Path) -> None:
    exp_dir = make_exp(toy, "segments", {**TINY, "train": {**TINY["train"], "crops": "segments"}})
    mp.spawn(
        build_segment_trainer, args=(2, str(tmp_path / "init"), str(exp_dir)), nprocs=2, join=True
    )
    ranks = [torch.load(exp_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    utts = sorted((toy / "data" / "train" / "utt2label").read_text().split()[::2])
    # Each header is read once, by one process; both list the segments one process lists.
    assert sorted(ranks[0]["read"] + ranks[1]["read"]) == utts
    assert ranks[0]["read"] == utts[0::2] and ranks[1]["read"] == utts[1::2]
    data = TrainingData(*map(Path, data_dirs(toy)))
    alone = Trainer(exp_dir, resolve_file(exp_dir / "config.yaml"), data, CPU)
    assert ranks[0]["segments"] == ranks[1]["segments"] == alone.train_set.segments
    assert len(alone.train_set.segments) > len(utts)


def test_the_process_group_timeout_is_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    joined: list[dict] = []
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **kw: joined.append(kw))
    monkeypatch.setattr(dist, "destroy_process_group", lambda: None)
    ranks = Ranks(rank=0, world_size=2, local_rank=0, local_world_size=2)
    with process_group(ranks, CPU, timeout_minutes=90):
        pass
    with process_group(ranks, CPU):
        pass
    assert [kw["timeout"] for kw in joined] == [timedelta(minutes=90), timedelta(minutes=30)]
