#!/usr/bin/env bash
# Runs one mixres config on every worker of a Cloud TPU VM slice (multi-host JAX).
#
#   launch/tpu_pod.sh TPU_NAME ZONE configs/amr_svhn.py gs://BUCKET/runs/amr_svhn [--config.lam=10 ...]
#
# Every worker runs the same command; jax.distributed.initialize() (--distributed) finds the
# others through the TPU metadata. Each process reads its own shard of every batch; process 0
# writes logs; all write their part of each checkpoint. Datasets must be prepared for TFDS in
# ArrayRecord format under a data_dir every worker can read (pass --config.data.data_dir=gs://...).
# Not exercised in CI (no TPU here): the same code path is tested with 2 CPU devices.
set -euo pipefail
tpu=$1 zone=$2 config=$3 workdir=$4
shift 4
repo_url=${MIXRES_REPO:?set MIXRES_REPO to a git URL the workers can clone}
gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "
  set -e
  [ -d mixres ] || git clone $repo_url mixres
  cd mixres && git pull --ff-only
  python3 -m venv .venv && . .venv/bin/activate
  pip install -q -r requirements.txt -e . 'jax[tpu]==\$(pip show jax | sed -n s/^Version:.//p)'
  python -m mixres.main --distributed --config=$config --workdir=$workdir $*
"
