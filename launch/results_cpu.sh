#!/usr/bin/env bash
# The CPU-scale first results of RESULTS.md:
#   1. linear-probe accuracy of AE+GAN and the AMR mixers on the real MNIST test split, cut
#      8,000 train / 2,000 valid (the paper's low-data protocol), configs/amr_mnist.py ',local';
#   2. the ACAI lines metrics of AE, ACAI and AMR (mixup, k = 2) after the same 500 steps,
#      configs/lines.py ',local';
# three seeds each (seed-major, so an interrupted sweep still has whole seeds), the two sweeps
# side by side, each pinned to one core (two XLA processes sharing both cores oversubscribe
# them and run at a third of the speed), then the tables (mixres.report). On the 2-core CPU the
# MNIST sweep took an hour (5 minutes a run on one core); the lines sweep is longer (one seed of
# AE, ACAI and AMR took 27 minutes: ACAI alone 12).
#
#   launch/results_cpu.sh runs/results [path/to/mnist-t10k-images-idx3-ubyte.gz]
#
# Reruns resume finished workdirs, so the tables can be redrawn at no cost.
set -euo pipefail
root=${1:-runs/results}
mnist=${2:-../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz}
seeds="0 1 2"

mnist_sweep() {
  for seed in $seeds; do for row in ae_gan mixup2 bern2 mixup3; do
    python -m mixres.main --config="configs/amr_mnist.py:$row,local" \
      --workdir="$root/mnist/${row}_seed$seed" --config.seed="$seed" \
      --config.data.path="$mnist" --config.data.valid_size=2000
  done; done
}

lines_sweep() {
  for seed in $seeds; do for method in ae acai amr_mixup; do
    python -m mixres.main --config="configs/lines.py:$method,local" \
      --workdir="$root/lines/${method}_seed$seed" --config.seed="$seed"
  done; done
}

mkdir -p "$root"
pin() { if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$@"; else shift; "$@"; fi; }
export -f mnist_sweep lines_sweep
export root mnist seeds
pin 0 bash -c mnist_sweep > "$root/mnist.log" 2>&1 &
pin 1 bash -c lines_sweep > "$root/lines.log" 2>&1 &
wait
python -m mixres.report "$root/mnist" --published
python -m mixres.report "$root/lines" --metric=lines/mean_distance --scale=1000
python -m mixres.report "$root/lines" --metric=lines/smoothness --scale=1
python -m mixres.report "$root/lines" --metric=best/probe/val_accuracy
