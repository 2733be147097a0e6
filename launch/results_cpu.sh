#!/usr/bin/env bash
# The CPU-scale first results of RESULTS.md, one run after another on this machine:
#   1. linear-probe accuracy of AE+GAN and the AMR mixers on the real MNIST test split, cut
#      8,000 train / 2,000 valid (the paper's low-data protocol), configs/amr_mnist.py ',local';
#   2. the ACAI lines metrics of AE, ACAI and AMR (mixup, k = 2) after the same 500 steps,
#      configs/lines.py ',local';
# three seeds each, then the tables (mixres.report). About 70 minutes on the 2-core CPU.
#
#   launch/results_cpu.sh runs/results [path/to/mnist-t10k-images-idx3-ubyte.gz]
#
# Reruns resume finished workdirs, so the tables can be redrawn at no cost.
set -euo pipefail
root=${1:-runs/results}
mnist=${2:-../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz}
seeds="0 1 2"
launch/sweep_table.sh configs/amr_mnist.py "$root/mnist" \
  "ae_gan,local mixup2,local bern2,local mixup3,local" "$seeds" \
  --config.data.path="$mnist" --config.data.valid_fraction=0.2
for method in ae acai amr_mixup; do for seed in $seeds; do
  python -m mixres.main --config="configs/lines.py:$method,local" \
    --workdir="$root/lines/${method}_seed$seed" --config.seed="$seed"
done; done
python -m mixres.report "$root/mnist" --published
python -m mixres.report "$root/lines" --metric=lines/mean_distance --scale=1000
python -m mixres.report "$root/lines" --metric=lines/smoothness --scale=1
python -m mixres.report "$root/lines" --metric=best/probe/val_accuracy
