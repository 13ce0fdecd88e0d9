#!/usr/bin/env bash
# SpoofCeleb: evaluation only. Scores a model trained by another recipe, or a published one, on
# the 91,130 evaluation trials (the per-attack table gives each attack's EER). The corpus is
# gated: obtain it first (README.md); stage 0 checks the copy.
#
# Usage: egs/spoofceleb/run.sh --exp_dir ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax [options]
# The corpus root defaults to $SPOOFCELEB_ROOT (conf/db.sh), else db/spoofceleb.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "spoofceleb=${SPOOFCELEB_ROOT:-db/spoofceleb}" \
  --train_set "" --dev_set "" --test_sets spoofceleb_eval \
  "$@"
