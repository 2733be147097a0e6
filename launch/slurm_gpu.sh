#!/usr/bin/env bash
# One mixres run over N GPU nodes with SLURM (one process per node, all its GPUs).
#
#   sbatch --nodes=2 --gpus-per-node=8 launch/slurm_gpu.sh configs/amr_svhn.py /shared/runs/amr
#
# jax.distributed.initialize() reads SLURM's environment (--distributed). Install jax with the
# CUDA plugin matching requirements.txt's jax version first: pip install "jax[cuda12]==0.10.2".
# Not exercised in CI (no GPU here): the same code path is tested with 2 CPU devices.
#SBATCH --ntasks-per-node=1
#SBATCH --job-name=mixres
set -euo pipefail
config=$1 workdir=$2
shift 2
srun python -m mixres.main --distributed --config="$config" --workdir="$workdir" "$@"
