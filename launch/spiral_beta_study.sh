#!/usr/bin/env bash
# The AMR supplement's spiral study (Figure 12): mixup AMR, lambda 10, beta in {0, 0.1, 10, 100},
# then one figure with the decoded random mixes of every run over the data, and their numbers.
#
#   launch/spiral_beta_study.sh runs/spiral          # 100 epochs each, about 4 minutes each here
#   launch/spiral_beta_study.sh runs/spiral local    # 2,000 steps each, about 40 s each
#
# Reruns resume finished workdirs, so the figure can be redrawn at no cost.
set -euo pipefail
root="${1:?usage: launch/spiral_beta_study.sh ROOT [local]}"
variant="spiral${2:+,$2}"
workdirs=()
for beta in 0 0.1 10 100; do
  workdir="${root}/beta${beta}"
  python -m mixres.main --config="configs/amr_toys.py:${variant}" --workdir="${workdir}" \
    --config.beta="${beta}"
  workdirs+=("${workdir}")
done
python -m mixres.evaluate --compare="$(IFS=,; echo "${workdirs[*]}")" \
  --out="${root}/spiral_beta_study.png"
