#!/usr/bin/env bash
# The CPU-scale study of RESULTS.md, in blocks that resume: run the same command again (after a
# kill, a reboot or a session's end) and it finishes what is left, skipping finished runs.
#
#   launch/study_cpu.sh ROOT [BLOCK ...]      # default: every block, in this order
#
# Blocks (minutes of wall time on the 2-core CPU, one run a core):
#   mnist0 mnist1 mnist2   the MNIST low-data study, one seed each (configs/mnist_study.py:
#                          1k / 4k / 8k x ae, ae_gan, mixup2, bern2, mixup3, acai), ~45 each
#   report                 the tables (mixres.report) and figures from whatever has finished
#
# Environment: MNIST (default ../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz), the
# 10,000-image file the MNIST study cuts; CORES (default "0 1"), the cores that take runs, one
# run each, pinned (two XLA processes sharing cores run at a third of the speed). Each run's
# output goes to ROOT/logs/. A run is skipped when ROOT/<run>/study_done holds its command, or
# when another copy of this script is running it: to add a core, start the same command with
# CORES set to it.
set -euo pipefail
root="${1:?usage: launch/study_cpu.sh ROOT [mnist0 mnist1 mnist2 report]}"
shift
blocks=("$@")
[ ${#blocks[@]} -gt 0 ] || blocks=(mnist0 mnist1 mnist2 report)
export MNIST="${MNIST:-../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz}"
read -r -a cores <<< "${CORES:-0 1}"
export STUDY_CORES="${cores[*]}"
mkdir -p "$root/logs"

# One run: NAME CONFIG [OVERRIDE ...]; pinned to the core of its xargs slot where taskset works.
run() {
  local name=$1 config=$2 root=$3
  shift 3
  local -a cores cmd
  read -r -a cores <<< "$STUDY_CORES"
  cmd=(python -m mixres.main --config="$config" --workdir="$root/$name" "$@")
  local line="${cmd[*]}" lock
  mkdir -p "$(dirname "$root/logs/$name")"
  # A lock per run, released when this process ends however it ends: several copies of this
  # script (on other cores, or another host sharing ROOT) share out the runs.
  exec {lock}> "$root/logs/$name.lock"
  if ! flock -n "$lock" || [ "$(cat "$root/$name/study_done" 2> /dev/null)" = "$line" ]; then
    return 0
  fi
  if command -v taskset > /dev/null; then
    cmd=(taskset -c "${cores[$SLOT]}" "${cmd[@]}")
  fi
  echo "$(date +%H:%M:%S) start $name"
  local status=0
  "${cmd[@]}" > "$root/logs/$name.log" 2>&1 || status=$?
  if [ "$status" = 0 ]; then
    mkdir -p "$root/$name"
    printf '%s' "$line" > "$root/$name/study_done"
    echo "$(date +%H:%M:%S) done  $name"
  else
    echo "$(date +%H:%M:%S) FAILED $name (exit $status): $root/logs/$name.log"
    return 255  # Stops xargs: a broken run should be looked at, not repeated 50 times.
  fi
}
export -f run

# Reads "NAME CONFIG OVERRIDE..." lines and runs them, one per core, in order.
run_all() {
  # shellcheck disable=SC2016  # Expanded by the inner bash, from xargs's arguments.
  xargs -P "${#cores[@]}" -L 1 --process-slot-var=SLOT \
    bash -c 'run "$1" "$2" "$0" "${@:3}"' "$root"
}

mnist_jobs() {
  local seed=$1
  for size in 1k 4k 8k; do
    # The slow runs first, so that the last ones, which leave a core idle, are short.
    for method in mixup3 mixup2 bern2 ae_gan acai ae; do
      echo "mnist/${size}_${method}_seed$seed configs/mnist_study.py:$size,$method" \
        "--config.seed=$seed --config.data.path=$MNIST"
    done
  done
}

report() {
  for size in 1k 4k 8k; do
    for metric in best/probe/val_accuracy best/frozen_probe/val_accuracy; do
      python -m mixres.report "$root"/mnist/"${size}"_* --metric="$metric" --paired=ae_gan
    done
  done
}

for block in "${blocks[@]}"; do
  echo "$(date +%H:%M:%S) block $block"
  case "$block" in
    mnist0 | mnist1 | mnist2) mnist_jobs "${block#mnist}" | run_all ;;
    report) report ;;
    *) echo "unknown block '$block'; choose from: mnist0 mnist1 mnist2 report" >&2; exit 2 ;;
  esac
done
