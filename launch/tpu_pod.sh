#!/usr/bin/env bash
# Runs one mixres config on every worker of a Cloud TPU VM slice (multi-host JAX).
#
#   MIXRES_REPO=https://github.com/OWNER/mixres.git launch/tpu_pod.sh TPU_NAME ZONE \
#       configs/amr_svhn.py gs://BUCKET/runs/amr_svhn [--config.lam=10 ...]
#
# Every worker clones (or updates) the repository, installs requirements.txt with jax[tpu] at
# its jax version into a venv, and runs the same command; jax.distributed.initialize()
# (--distributed) finds the others through the TPU metadata. Each process reads its own shard of
# every batch; process 0 writes logs; all write their part of each checkpoint. Datasets must be
# prepared for TFDS in ArrayRecord format under a data_dir every worker can read (pass
# --config.data.data_dir=gs://...). Not exercised on a TPU here: the same code path is tested
# with 2 CPU processes (tests/test_multihost.py), this script with a stand-in gcloud
# (tests/test_launch.py).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: MIXRES_REPO=URL launch/tpu_pod.sh TPU_NAME ZONE CONFIG WORKDIR [FLAGS...]" >&2
  exit 2
fi
tpu=$1 zone=$2 config=$3 workdir=$4
shift 4
repo_url=${MIXRES_REPO:?set MIXRES_REPO to a git URL the workers can clone}
# The workers' shell parses the command again, so each word is quoted for it (%q).
main_args=$(printf ' %q' "--config=$config" "--workdir=$workdir" "$@")
# jax[tpu] is pinned to requirements.txt's jax, read from the file: jax is not installed yet.
remote="set -euo pipefail
[ -d mixres ] || git clone $(printf %q "$repo_url") mixres
cd mixres && git pull --ff-only
python3 -m venv .venv && . .venv/bin/activate
pip install -q -r requirements.txt -e . \"jax[tpu]==\$(sed -n 's/^jax==//p' requirements.txt)\"
python -m mixres.main --distributed$main_args"
gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "$remote"
