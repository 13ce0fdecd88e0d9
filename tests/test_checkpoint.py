"""Checkpoints: durable atomic writes, and one clear error for a file that cannot be loaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from antispoof import checkpoint
from antispoof.bin._cli import EXPECTED_ERRORS
from antispoof.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

STATE = {"detector": {"weight": torch.arange(2000, dtype=torch.float32)}, "epoch": 3}


def test_a_checkpoint_loads_as_it_was_saved(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(STATE, path)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3
    assert torch.equal(loaded["detector"]["weight"], STATE["detector"]["weight"])
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temporary left


def test_the_file_is_fsynced_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, target) -> None:
        events.append(("replace", str(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    monkeypatch.setattr(checkpoint.os, "replace", replace)
    path = tmp_path / "last.pt"
    save_checkpoint(STATE, path)
    tmp = str(tmp_path / "last.pt.tmp")
    assert events == [("fsync", tmp), ("replace", tmp, str(path)), ("fsync", str(tmp_path))]


def test_a_directory_that_cannot_be_fsynced_is_no_error(tmp_path, monkeypatch):
    def fsync(fd: int) -> None:
        if os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(22, "Invalid argument")

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    save_checkpoint(STATE, tmp_path / "last.pt")
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 3


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "not a torch file":
        path.write_text("epoch 3\n")
    elif how == "not a dictionary":
        torch.save(torch.zeros(3), path)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("truncated", "it is truncated ("),
        ("empty", "the file is empty (0 bytes)"),
        ("not a torch file", "it is not a torch checkpoint"),
        ("not a dictionary", "it holds a Tensor"),
    ],
)
@pytest.mark.parametrize(
    ("name", "remedy"),
    [
        ("last.pt", "delete it and re-run stage 3, which then trains from epoch 1"),
        ("best.pt", "score the last epoch's model instead (--checkpoint last)"),
        ("model.pt", "replace it with an intact copy"),
    ],
)
def test_a_damaged_checkpoint_is_one_clear_error(tmp_path, how, reason, name, remedy):
    path = tmp_path / "checkpoints" / name
    save_checkpoint(STATE, path)
    damage(path, how)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"cannot load checkpoint {path}: {reason}")
    assert remedy in message
    assert "\n" not in message
    assert isinstance(error.value, EXPECTED_ERRORS)


DEV_FULL = Path("/dev/full")  # every write fails with ENOSPC: a full disk, on demand


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux) to fill a disk")
def test_a_full_disk_is_named_with_the_path_and_the_previous_checkpoint_stays(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint({"epoch": 1}, path)
    # The temporary file the next write goes to is a link to /dev/full.
    (tmp_path / "checkpoints" / "last.pt.tmp").symlink_to(DEV_FULL)
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint({"epoch": 2, "w": torch.zeros(10_000)}, path)
    message = str(caught.value)
    assert message.startswith(f"cannot write checkpoint {path}: no space left on device")
    assert "\n" not in message
    assert load_checkpoint(path)["epoch"] == 1
    assert not (tmp_path / "checkpoints" / "last.pt.tmp").exists()


@pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux) to fill a disk")
def test_stage_3_on_a_full_disk_says_so_in_one_line(tmp_path):
    """steps/train.sh's console line names the checkpoint and the full disk, not torch's
    `[enforce fail at inline_container.cc]`."""
    import subprocess
    import sys

    import yaml

    from antispoof.config import resolve_file, save_config
    from tiny_configs import REPO, tiny_detector
    from toy_data import make_toy_data_dir

    train = make_toy_data_dir(tmp_path, "train", 8, 0)
    dev = make_toy_data_dir(tmp_path, "dev", 4, 1)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_detector(epochs=1, crop_seconds=0.5)))
    exp_dir = tmp_path / "exp" / "tiny"
    save_config(resolve_file(tmp_path / "tiny.yaml"), exp_dir / "config.yaml")
    (exp_dir / "checkpoints").mkdir()
    (exp_dir / "checkpoints" / "best.pt.tmp").symlink_to(DEV_FULL)
    command = [str(REPO / "steps" / "train.sh"), "--ngpu", "0", str(exp_dir), str(train), str(dev)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if "training failed" in line]
    expected = f"cannot write checkpoint {exp_dir}/checkpoints/best.pt: no space left on device ("
    assert f"error: training failed: {expected}" in line
    assert "bytes free" in line and "enforce fail" not in line
