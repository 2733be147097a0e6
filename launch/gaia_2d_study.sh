#!/usr/bin/env bash
# GAIA's 2-D comparison (GAIA paper section 3.1, Figure 3): AE, VAE and GAIA on scikit-learn's
# five distributions with the same 6 x 256 MLPs and 2-d code (configs/gaia_toys.py), then one
# figure per distribution with the decoded random mixes of each model over the data.
#
#   launch/gaia_2d_study.sh runs/gaia2d          # 20,000 steps per run
#   launch/gaia_2d_study.sh runs/gaia2d local    # 2,000 steps per run, about 1 minute each here
#
# Reruns resume finished workdirs, so the figures can be redrawn at no cost.
set -euo pipefail
root="${1:?usage: launch/gaia_2d_study.sh ROOT [local]}"
for toy in moons circles blobs swiss_roll s_curve; do
  workdirs=()
  for objective in ae vae gaia; do
    workdir="${root}/${toy}/${objective}"
    python -m mixres.main --config="configs/gaia_toys.py:${toy}${2:+,$2}" --workdir="${workdir}" \
      --config.objective="${objective}"
    workdirs+=("${workdir}")
  done
  python -m mixres.evaluate --compare="$(IFS=,; echo "${workdirs[*]}")" \
    --out="${root}/${toy}_ae_vae_gaia.png"
done
