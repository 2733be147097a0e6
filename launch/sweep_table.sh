#!/usr/bin/env bash
# Runs a paper setting's table rows x seeds on this machine, one run after another: the runs
# behind one column of the AMR paper's tables (each row with its own lambda,
# mixres/paper_tables.py).
#
#   launch/sweep_table.sh configs/amr_mnist.py runs/mnist "ae_gan mixup2 bern2 mixup3" "0 1 2"
#   launch/sweep_table.sh configs/amr_svhn_subset.py runs/svhn5k "5k,mixup2 5k,mixup3" "0 1 2" \
#       --config.data.data_dir=DIR
#
# Each run gets <root>/<row>_seed<seed> (',' in a row becomes '_'); rerunning resumes unfinished
# runs. Extra arguments go to every run.
set -euo pipefail
config=$1 root=$2 rows=${3:-mixup2} seeds=${4:-0 1 2}
shift $(( $# < 4 ? $# : 4 ))
for row in $rows; do for seed in $seeds; do
  python -m mixres.main --config="$config:$row" --workdir="$root/${row//,/_}_seed$seed" \
    --config.seed="$seed" "$@"
done; done
