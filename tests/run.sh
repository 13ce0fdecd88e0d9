#!/usr/bin/env bash
# The test suite: creates the Python environment on first use, then runs pytest (units, a dry
# run of every config, lint, and the mini recipe end to end) in parallel, one worker per core
# (pytest-xdist), and prints the 15 slowest tests. CI runs exactly this.
#
# Usage: tests/run.sh [--quick] [pytest arguments]
#   tests/run.sh                        # everything (what CI runs)
#   tests/run.sh --quick                # all but the recipe runs, DDP and the paper-config dry runs
#   tests/run.sh --quick tests/test_cqt.py -k linear
#   tests/run.sh -n 0 -x                # one process, stop at the first failure
# ANTISPOOF_TEST_WORKERS sets the number of workers (default: auto, one per core).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=false
if [ "${1:-}" = --quick ]; then
  quick=true
  shift
fi
# shellcheck source=utils/setup_env.sh
. "${root}/utils/setup_env.sh"
cd "${root}"
# Cached bytecode, even where PYTHONDONTWRITEBYTECODE is set: the suite starts about 100 Python
# processes, each compiling the package, and each worker compiles the test modules with pytest's
# rewritten asserts; the __pycache__ folders are ignored by git.
unset PYTHONDONTWRITEBYTECODE
# glibc's malloc keeps freed memory for reuse instead of unmapping it (no mmap'd chunks, no
# trimming), for the suite's processes only: the tests allocate and free tensors of many
# megabytes, and every fresh mapping costs a page fault per page. On this project's 2-core
# machine the quick suite spent about 30 s less CPU in the kernel (three alternating pairs, see
# README, Tests). Other C libraries ignore the variable; a value already set is kept.
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295}"
# Whole files to each worker, so that a module's fixtures (the mini recipe's run, the DDP runs)
# are made once, in the order tests/conftest.py gives them (longest first).
args=(-n "${ANTISPOOF_TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder --durations 15)
if [ "${quick}" = true ]; then
  args+=(-m "not recipe and not ddp and not paper_configs")
fi
exec python -m pytest "${args[@]}" "$@"
