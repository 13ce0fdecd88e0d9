#!/usr/bin/env bash
# Fake-or-Real (for-norm): evaluation only. Scores a model trained by another recipe, or a
# published one, on the 4,528 test trials of the Speech Anti-Spoofing Arena's key.
#
# Usage: egs/fake_or_real/run.sh --exp_dir ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax [options]
# The corpus root defaults to $FAKE_OR_REAL_ROOT (conf/db.sh), else db/fake_or_real (downloaded).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "fake_or_real=${FAKE_OR_REAL_ROOT:-db/fake_or_real}" \
  --train_set "" --dev_set "" --test_sets for_test \
  "$@"
