#!/usr/bin/env bash
# Deepfake-Eval-2024 (audio): evaluation only. Scores a model trained by another recipe, or a
# published one, on the Test recordings cut into 4 s segments as AntiDeepfake cuts them (other
# lengths: --test_sets dfeval2024_seg10 ..., whole recordings: dfeval2024). The corpus is gated:
# obtain it first (README.md); stage 0 checks the copy.
#
# Usage: egs/deepfake_eval_2024/run.sh --exp_dir ../asvspoof2019/exp/aasist [options]
# The corpus root defaults to $DEEPFAKE_EVAL_2024_ROOT (conf/db.sh), else db/deepfake_eval_2024.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "deepfake_eval_2024=${DEEPFAKE_EVAL_2024_ROOT:-db/deepfake_eval_2024}" \
  --train_set "" --dev_set "" --test_sets dfeval2024_seg4 \
  "$@"
