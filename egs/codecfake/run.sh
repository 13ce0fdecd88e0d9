#!/usr/bin/env bash
# CodecFake: evaluation only. Scores a model trained by another recipe, or a published one, on
# the authors' evaluation speakers (p227, p228): every codec against the genuine VCTK files, the
# EER per codec in the per-attack table.
#
# Usage: egs/codecfake/run.sh --exp_dir ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax [options]
# The corpus root defaults to $CODECFAKE_ROOT (conf/db.sh), else db/codecfake (downloaded).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "codecfake=${CODECFAKE_ROOT:-db/codecfake}" \
  --train_set "" --dev_set "" --test_sets codecfake_test \
  "$@"
