#!/usr/bin/env bash
# In-the-Wild: evaluation only. Scores a model trained by another recipe on all 31,779 clips
# (EER, with the EER of the negated scores beside it).
#
# Usage: egs/in_the_wild/run.sh --exp_dir ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax [options]
# The corpus root defaults to $IN_THE_WILD_ROOT (conf/db.sh), else db/in_the_wild (downloaded).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "in_the_wild=${IN_THE_WILD_ROOT:-db/in_the_wild}" \
  --train_set "" --dev_set "" --test_sets itw \
  "$@"
