#!/usr/bin/env bash
# Runs a config over seeds x mixers x k on this machine, one run after another.
#
#   launch/sweep_local.sh configs/quickstart.py runs/sweep "0 1 2" "mixup bernoulli" "2 3"
#
# Each run gets runs/sweep/<mixer>_k<k>_seed<seed>; rerunning resumes unfinished runs.
set -euo pipefail
config=$1 root=$2 seeds=${3:-0 1 2} mixers=${4:-mixup} ks=${5:-2}
shift $(( $# < 5 ? $# : 5 ))
for seed in $seeds; do for mixer in $mixers; do for k in $ks; do
  python -m mixres.main --config="$config" --workdir="$root/${mixer}_k${k}_seed${seed}" \
    --config.seed="$seed" --config.mixer="$mixer" --config.k="$k" "$@"
done; done; done
