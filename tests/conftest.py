"""Shared test set-up: the scripts under test call `python`, which must be this environment's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

# pytest-xdist workers share the cores: each takes its share of threads (and its subprocesses,
# through the environment), since OpenMP threads spin-waiting for a busy core run several times
# slower than one thread.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(_threads)
    import torch

    torch.set_num_threads(_threads)


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    """A small mini corpus (2019 LA layout plus the 2021 DF, In-the-Wild and ASVspoof 5
    replicas), made once for the whole run; tests read it and never write into it."""
    db = tmp_path_factory.mktemp("mini_corpus") / "mini"
    command = [sys.executable, "-m", "antispoof.bin.make_mini_corpus", "--out_dir", str(db)]
    subprocess.run([*command, "--scale", "0.3"], check=True, capture_output=True)
    return db


EXPENSIVE_FIRST = ("recipe", "ddp", "paper_configs")


def pytest_collection_modifyitems(config, items):
    """The files of the longest tests first, so that the parallel workers do not wait on one of
    them at the end: the recipe runs, then DDP, then the paper-config steps, then the rest. Each
    file stays in one piece and in order: tests/run.sh gives each worker whole files (`--dist
    loadfile`), so that a module's fixtures (the mini recipe's run, the stale-work and DDP runs)
    are made once."""

    def rank(item) -> int:
        names = {mark.name for mark in item.iter_markers()}
        return next(
            (i for i, name in enumerate(EXPENSIVE_FIRST) if name in names), len(EXPENSIVE_FIRST)
        )

    file_rank: dict[str, int] = {}
    for item in items:
        file_rank[item.path] = min(file_rank.get(item.path, len(EXPENSIVE_FIRST)), rank(item))
    items.sort(key=lambda item: file_rank[item.path])
