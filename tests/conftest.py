"""Shared test set-up: the scripts under test call `python`, which must be this environment's."""

import fcntl
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


# The session mini corpus's scale: a third of the recipe's corpus.
MINI_CORPUS_SCALE = 0.3


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    """A small mini corpus (2019 LA layout plus the 2021 DF, In-the-Wild and ASVspoof 5
    replicas, MINI_CORPUS_SCALE, seed 0, 2 jobs), made once for the whole run: under
    pytest-xdist the workers share the run's temporary root, and the first to take the lock makes
    it (make_mini_corpus does nothing for a corpus marked complete). Tests read it and never
    write into it."""
    base = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        base = base.parent
    db = base / "mini_corpus" / "mini"
    command = [sys.executable, "-m", "antispoof.bin.make_mini_corpus", "--out_dir", str(db)]
    with open(base / "mini_corpus.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [*command, "--scale", str(MINI_CORPUS_SCALE), "--nj", "2"],
            check=True,
            capture_output=True,
        )
    return db


# Markers of the longest modules, longest kind first.
EXPENSIVE_FIRST = ("recipe", "ddp", "paper_configs", "long")


def pytest_collection_modifyitems(config, items):
    """The files of the longest tests first, so that the parallel workers do not wait on one of
    them at the end: the recipe runs, then DDP, then the paper-config steps, then the modules
    marked `long` (the export of every architecture, the served model under load), then the
    rest. Each file stays in one piece and in order: tests/run.sh gives each worker whole files
    (`--dist loadfile`), so that a module's fixtures (the mini recipe's run, the stale-work and
    DDP runs, the served model) are made once, and keeps this order (`--no-loadscope-reorder`;
    pytest-xdist otherwise sorts the files by their number of tests, which put the mini recipe's
    4 tests, the longest file, last)."""

    def rank(item) -> int:
        names = {mark.name for mark in item.iter_markers()}
        return next(
            (i for i, name in enumerate(EXPENSIVE_FIRST) if name in names), len(EXPENSIVE_FIRST)
        )

    file_rank: dict[str, int] = {}
    for item in items:
        file_rank[item.path] = min(file_rank.get(item.path, len(EXPENSIVE_FIRST)), rank(item))
    items.sort(key=lambda item: file_rank[item.path])
