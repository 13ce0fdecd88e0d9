"""Shared test set-up: the scripts under test call `python`, which must be this environment's."""

import atexit
import fcntl
import gc
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

# The test processes collect cyclic garbage less often. The exporter, transformers and pytest
# itself make millions of objects, and with Python's default thresholds (700, 10, 10) a worker
# of the quick suite spent 13 s of its 190 in the collector (31 full collections), and about 4 s
# with these. Cycles are still collected, less often (those that reach the oldest generation may
# wait to the end); the quick suite's workers peaked at about 3 GB, the paper configs' at 4.3 GB.
gc.set_threshold(50_000, 20, 100)


def pytest_collection_finish(session) -> None:
    """What exists once the tests are collected (the imported modules, the test functions)
    lives until the end: out of the collector's sight."""
    gc.freeze()


# At exit, Python's last collection walks every object (1.6 s after an ONNX export), while the
# run waits for its workers to end: the operating system frees the memory anyway.
atexit.register(gc.freeze)


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
# pytest's cache (.pytest_cache/, ignored by git): the seconds each test file took when it last
# ran, which orders the files of a rank.
FILE_SECONDS_KEY = "antispoof/file_seconds"


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """The files of the longest tests first, so that the parallel workers do not wait on one of
    them at the end: the recipe runs, then DDP, then the paper-config steps, then the modules
    marked `long` (the export of every architecture, the served model under load), then the
    rest; within each of these, the files that took longest at their last run first (the
    collection's order on a fresh clone, which has no record). Each file stays in one piece and
    in order: tests/run.sh gives each worker whole files (`--dist loadfile`), so that a module's
    fixtures (the mini recipe's run, the stale-work and DDP runs, the served model) are made
    once, and keeps this order (`--no-loadscope-reorder`; pytest-xdist otherwise sorts the files
    by their number of tests, which put the mini recipe's 4 tests, the longest file, last)."""

    def rank(item) -> int:
        names = {mark.name for mark in item.iter_markers()}
        return next(
            (i for i, name in enumerate(EXPENSIVE_FIRST) if name in names), len(EXPENSIVE_FIRST)
        )

    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    last_seconds = cache.get(FILE_SECONDS_KEY, {}) if cache is not None else {}
    file_rank: dict[str, int] = {}
    for item in items:
        name = file_of(item.nodeid)
        file_rank[name] = min(file_rank.get(name, len(EXPENSIVE_FIRST)), rank(item))

    def order(item) -> tuple[int, float]:
        name = file_of(item.nodeid)
        return file_rank[name], -last_seconds.get(name, 0.0)

    items.sort(key=order)


_file_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report) -> None:
    """Adds up each file's seconds (setup, call and teardown); under pytest-xdist the controller
    receives every worker's reports."""
    name = file_of(report.nodeid)
    _file_seconds[name] = _file_seconds.get(name, 0.0) + report.duration


def pytest_sessionfinish(session) -> None:
    """Records the files' seconds for the next run's order: once, from the controller (or the
    only process), for the files that ran (a selection leaves the others' records as they were)."""
    cache = getattr(session.config, "cache", None)
    if hasattr(session.config, "workerinput") or cache is None or not _file_seconds:
        return
    cache.set(FILE_SECONDS_KEY, {**cache.get(FILE_SECONDS_KEY, {}), **_file_seconds})
