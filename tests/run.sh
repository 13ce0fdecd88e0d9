#!/usr/bin/env bash
# The test suite: creates the Python environment on first use, then runs pytest (units, a dry
# run of every config, lint, and the mini recipe end to end). CI runs exactly this.
#
# Usage: tests/run.sh [pytest arguments]   e.g. tests/run.sh -m "not slow"
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=utils/setup_env.sh
. "${root}/utils/setup_env.sh"
cd "${root}"
exec python -m pytest "$@"
