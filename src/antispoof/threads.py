"""The CPU threads of a job: its share of the machine's cores, set in torch before any work.

A launcher gives each job a number of threads in OMP_NUM_THREADS (utils/run_local.sh: its share
of the cores, `nproc` / the jobs that run at once, at least 1; `--num-threads N`, or run.sh
`--num_threads N`, overrides it). OpenMP threads spin-wait for a free core, so a job with more
threads than its share of a busy machine runs several times slower than with fewer (a training
step on 2 shared cores: about 7 times slower with 2 threads than with 1). torch sizes its
intra-op pool from OMP_NUM_THREADS, but its inter-op pool from the cores alone, and under
torchrun every process of a node would take the node's whole share: `use_job_threads`, which
every entry point calls first (antispoof.bin._cli.run_main), sets both pools to this process's
part of the job's threads. Without OMP_NUM_THREADS (a command typed by hand) torch keeps its
defaults: the process has the machine to itself. Torch is set only where the entry point has
imported it: importing it costs about 2 s, and the commands that run.sh starts for every set and
marker (data directories, markers, score tables) never need it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping


def job_threads(environ: Mapping[str, str]) -> int | None:
    """This process's threads: the job's OMP_NUM_THREADS, shared among the LOCAL_WORLD_SIZE
    processes that torchrun started on this node (at least 1); None when the job has none set."""
    value = environ.get("OMP_NUM_THREADS", "")
    if not value.isdigit() or int(value) < 1:
        return None
    return max(1, int(value) // int(environ.get("LOCAL_WORLD_SIZE", "1")))


def use_job_threads(environ: Mapping[str, str] = os.environ) -> int | None:
    """Set torch's intra- and inter-op threads to `job_threads`; returns the number set, None
    when the job has none or the process has not imported torch. An entry point that never
    imports torch (the data, marker and scoring-table commands) starts in a fraction of a second
    without it; one that imports it late sizes its pool from OMP_NUM_THREADS, the job's share."""
    threads = job_threads(environ)
    torch = sys.modules.get("torch")
    if threads is None or torch is None:
        return None
    torch.set_num_threads(threads)
    # RuntimeError: the inter-op pool has started already (a second entry point in one process).
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(threads)
    return threads
