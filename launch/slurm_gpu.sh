#!/usr/bin/env bash
# One mixres run over GPU nodes with Slurm: one process per GPU, every node's GPUs visible to its
# processes (JAX then gives process i of a node the node's GPU i, SLURM_LOCALID).
#
#   sbatch --nodes=2 --ntasks-per-node=8 --gpus-per-node=8 \
#       launch/slurm_gpu.sh configs/amr_svhn.py /shared/runs/amr [--config.lam=10 ...]
#
# jax.distributed.initialize() (--distributed) reads Slurm's environment: the coordinator is the
# first node, the processes are the job's tasks. With one task per node, JAX would still give
# each process only its node's first GPU, hence one task per GPU (checked below). The workdir
# must be a filesystem every node shares. Install jax with the CUDA plugin at requirements.txt's
# jax version first: pip install -r requirements.txt -e . "jax[cuda12]==$(sed -n
# 's/^jax==//p' requirements.txt)". Not exercised on a cluster here: the same code path is
# tested with 2 CPU processes (tests/test_multihost.py), this script with a stand-in srun
# (tests/test_launch.py).
#SBATCH --job-name=mixres
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: sbatch --ntasks-per-node=G --gpus-per-node=G launch/slurm_gpu.sh CONFIG WORKDIR" \
    "[FLAGS...]" >&2
  exit 2
fi
config=$1 workdir=$2
shift 2
gpus=${SLURM_GPUS_ON_NODE:-0} tasks=${SLURM_NTASKS_PER_NODE:-1}
if [ "$gpus" != "$tasks" ]; then
  echo "error: launch/slurm_gpu.sh runs one task per GPU, but this job has $tasks task(s) and" \
    "$gpus GPU(s) per node: sbatch --ntasks-per-node=G --gpus-per-node=G" >&2
  exit 2
fi
srun python -m mixres.main --distributed --config="$config" --workdir="$workdir" "$@"
