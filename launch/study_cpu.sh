#!/usr/bin/env bash
# The CPU-scale study of RESULTS.md, in blocks that resume: run the same command again (after a
# kill, a reboot or a session's end) and it finishes what is left, skipping finished runs.
#
#   launch/study_cpu.sh ROOT [BLOCK ...]      # default: every block, in this order
#
# Blocks (minutes of wall time on the 2-core CPU, one run a core; RESULTS.md has the measures):
#   mnist0 mnist1 mnist2   the MNIST low-data study, one seed each (configs/mnist_study.py:
#                          1k / 4k / 8k x ae, ae_gan, mixup2, bern2, mixup3, acai), ~45 each
#                          (~85 on one core)
#   spiral                 the AMR supplement's spiral study: beta in {0, 0.1, 10, 100} x seeds
#                          0-2, 100 epochs each (configs/amr_toys.py:spiral), ~21
#   gaia2d0 gaia2d1 gaia2d2
#                          GAIA's 2-D comparison, one seed each: AE, VAE and GAIA on the five
#                          scikit-learn distributions, 20,000 steps each (configs/gaia_toys.py),
#                          ~42 each
#   lines0 lines1 lines2   ACAI's lines benchmark, one seed each: AE, ACAI and AMR mixup for
#                          2,000 steps at lr 5e-4 (configs/lines.py:METHOD,study), ~85 each
#   report                 the tables (mixres.report) and figures from whatever has finished
#
# Environment: MNIST (default ../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz), the
# 10,000-image file the MNIST study cuts; CORES (default "0 1"), the cores that take runs, one
# run each, pinned (two XLA processes sharing cores run at a third of the speed). Each run's
# output goes to ROOT/logs/. A run is skipped when ROOT/<run>/study_done holds its command, or
# when another copy of this script is running it: to add a core, start the same command with
# CORES set to it.
set -euo pipefail
root="${1:?usage: launch/study_cpu.sh ROOT [BLOCK ...]}"
shift
blocks=("$@")
all_blocks=(mnist0 mnist1 mnist2 spiral gaia2d0 gaia2d1 gaia2d2 lines0 lines1 lines2 report)
[ ${#blocks[@]} -gt 0 ] || blocks=("${all_blocks[@]}")
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

spiral_jobs() {
  for seed in 0 1 2; do
    for beta in 0 0.1 10 100; do
      echo "spiral/beta${beta}_seed$seed configs/amr_toys.py:spiral --config.beta=$beta" \
        "--config.seed=$seed --config.setting=spiral:beta$beta"
    done
  done
}

gaia2d_jobs() {
  local seed=$1
  for toy in moons circles blobs swiss_roll s_curve; do
    for objective in gaia ae vae; do  # GAIA, the slowest, first.
      echo "gaia2d/${toy}_${objective}_seed$seed configs/gaia_toys.py:$toy" \
        "--config.objective=$objective --config.seed=$seed --config.setting=$toy:$objective"
    done
  done
}

lines_jobs() {
  local seed=$1
  for method in acai amr_mixup ae; do  # The two slow ones side by side, then the AE.
    echo "lines/${method}_seed$seed configs/lines.py:$method,study --config.seed=$seed"
  done
}

# OUT WORKDIR...: the runs' decoded mixes side by side (mixres.evaluate --compare), once all
# of them have finished.
compare() {
  local out=$1 workdir
  shift
  for workdir in "$@"; do
    [ -f "$workdir/study_done" ] || { echo "$out: skipped, $workdir has not finished"; return 0; }
  done
  python -m mixres.evaluate --out="$out" --compare="$(IFS=,; echo "$*")"
}

# The finished runs among WORKDIR... (a run stopped partway has partial bests: left out).
finished() {
  local workdir
  for workdir in "$@"; do
    if [ -f "$workdir/study_done" ]; then echo "$workdir"; fi
  done
}

# STUDY MIXRES.REPORT-FLAG...: its tables over the study's finished runs, if it has any.
tables() {
  local -a runs
  mapfile -t runs < <(finished "$root/$1"/*)
  shift
  if [ ${#runs[@]} -gt 0 ]; then python -m mixres.report "${runs[@]}" "$@"; fi
}

# The tables of RESULTS.md and its figures (seed 0), from the runs that have finished.
report() {
  local metric toy
  for metric in best/probe/val_accuracy best/frozen_probe/val_accuracy; do
    tables mnist --metric="$metric" --paired=ae_gan
  done
  for metric in recon/val_l1 codes/relative_spread; do
    tables mnist --metric="$metric" --scale=1 --digits=3
  done
  compare "$root/mnist_1k_figure7.png" "$root"/mnist/1k_{ae_gan,mixup2,acai,ae}_seed0
  for metric in toy/mixes_on_spiral toy/mix_to_data toy/recon_distance; do
    tables spiral --metric="$metric" --scale=1 --digits=3 --paired=beta0
  done
  # The same pairs mixed as points (toy/input_*): the reference, one value per seed.
  tables spiral --metric=toy/input_mixes_on_spiral --scale=1 --digits=3
  compare "$root/spiral_beta_seed0.png" "$root"/spiral/beta{0,0.1,10,100}_seed0
  for metric in toy/mix_to_data toy/recon_distance toy/input_mix_to_data; do
    tables gaia2d --metric="$metric" --scale=1 --digits=4
  done
  for toy in moons circles blobs swiss_roll s_curve; do
    compare "$root/gaia2d_${toy}_seed0.png" "$root/gaia2d/${toy}"_{ae,vae,gaia}_seed0
  done
  # ACAI reads each run as the median of its last evaluations.
  tables lines --metric=lines/mean_distance --scale=1000 --median_of_last=3 --paired=ae
  tables lines --metric=lines/smoothness --scale=1 --digits=3 --median_of_last=3 --paired=ae
  tables lines --metric=recon/val_mse --scale=1 --digits=4
  tables lines --metric=best/probe/val_accuracy
  compare "$root/lines_seed0.png" "$root"/lines/{ae,acai,amr_mixup}_seed0
}

for block in "${blocks[@]}"; do  # Every name checked before hours of runs.
  case " ${all_blocks[*]} " in
    *" $block "*) ;;
    *) echo "unknown block '$block'; choose from: ${all_blocks[*]}" >&2; exit 2 ;;
  esac
done
for block in "${blocks[@]}"; do
  echo "$(date +%H:%M:%S) block $block"
  case "$block" in
    mnist0 | mnist1 | mnist2) mnist_jobs "${block#mnist}" | run_all ;;
    spiral) spiral_jobs | run_all ;;
    gaia2d0 | gaia2d1 | gaia2d2) gaia2d_jobs "${block#gaia2d}" | run_all ;;
    lines0 | lines1 | lines2) lines_jobs "${block#lines}" | run_all ;;
    report) report ;;
  esac
done
