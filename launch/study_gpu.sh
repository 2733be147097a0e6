#!/usr/bin/env bash
# The accelerator part of the study (RESULTS.md): paper-length settings on one GPU, within a
# wall-clock budget, then the same tables as the CPU study and how long each part took.
#
#   launch/study_gpu.sh ROOT [MINUTES]          # MINUTES: the whole budget (default 10)
#
# Parts, run side by side on the one GPU (each is small for an H100/H200 alone):
#   lines/ae, lines/acai     ACAI's lines benchmark at its full 262,144 steps (configs/lines.py),
#                            evaluated every 8,192 steps (ACAI: every 1,024, the median of the
#                            last 20; here the median of the last 4, the last 32,768 steps)
#   mnist/ae_gan, mnist/mixup2
#                            AE+GAN and AMR mixup k = 2 at the paper's schedule (G every 5th
#                            step, Adam 1e-4) on the MNIST file's 8,000 / 2,000 cut
#                            (configs/amr_mnist.py), MNIST_STEPS steps (default 100,000, 800
#                            epochs), with the validation reconstruction error and the frozen-code
#                            probe every 5,000 steps: whether and when the early collapse resolves
# Each part gets the budget less 120 s and is stopped with SIGTERM when it runs out:
# mixres.main saves at the next step and exits 75, and the same command resumes it later; a part
# still compiling then (the signal waits for the compiled call) is killed 30 s later, which
# leaves the reports 90 s. ROOT/timing.md records each part's wall time, its compile time and
# the step it reached.
#
# Environment: MNIST (default ../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz),
# MNIST_STEPS, STEPS_PER_CALL (train steps per compiled call; default 20: fewer host round trips
# on a GPU, a multiple of AMR's 5-step schedule).
set -euo pipefail
root="${1:?usage: launch/study_gpu.sh ROOT [MINUTES]}"
minutes="${2:-10}"
mnist="${MNIST:-../shared/data/mnist/mnist-t10k-images-idx3-ubyte.gz}"
mnist_steps="${MNIST_STEPS:-100000}"
steps_per_call="${STEPS_PER_CALL:-20}"
budget=$((minutes * 60 - 120))
[ "$budget" -gt 0 ] || { echo "MINUTES=$minutes leaves no time to train" >&2; exit 2; }
mkdir -p "$root/logs"
# Four processes share the GPU: none may take most of its memory up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

part() {  # NAME CONFIG OVERRIDE...: one run under the budget; its line of timing.md.
  local name=$1 config=$2 start status=0
  shift 2
  start=$(date +%s)
  timeout --signal=TERM --kill-after=30 "$budget" python -m mixres.main --config="$config" \
    --workdir="$root/$name" --config.steps_per_call="$steps_per_call" "$@" \
    > "$root/logs/${name//\//_}.log" 2>&1 || status=$?
  local outcome=finished elapsed=$(($(date +%s) - start))
  case "$status" in
    0) ;;
    75 | 124) outcome='stopped by the budget (resumable)' ;;
    137) if [ "$elapsed" -ge "$budget" ]; then
           outcome='killed 30 s after its budget (resumes from its last checkpoint)'
         else  # Not timeout's kill: the kernel's, most likely for memory.
           outcome="killed before its budget (SIGKILL: out of memory?)"
         fi ;;
    *) outcome="failed (exit $status, $root/logs/${name//\//_}.log)" ;;
  esac
  # The last step line, or the preemption line when the budget ran out before the first log
  # step; `|| true`: a part that logged neither still gets its row.
  local reached
  reached=$(grep -oE '^step [0-9]+/[0-9]+|saved at step [0-9]+ of [0-9]+' \
    "$root/logs/${name//\//_}.log" | tail -n 1 || true)
  # XLA's compile time, summed over the call lengths the run compiled: with STEPS_PER_CALL
  # steps unrolled into one executable it grows with STEPS_PER_CALL.
  local compile
  compile=$(awk '/^compiled steps/ {s += $(NF - 1)} END {printf "%.0f", s}' \
    "$root/logs/${name//\//_}.log")
  echo "| $name | $elapsed | $compile | ${reached:-no step logged} | $outcome |" \
    > "$root/logs/${name//\//_}.timing"
}

mnist_flags=(--config.data.path="$mnist" --config.data.valid_size=2000
             --config.num_train_steps="$mnist_steps" --config.eval_every=5000
             --config.checkpoint_every=5000 --config.eval.every.probe='1000 steps'
             '--config.eval.evaluators=probe,reconstruction,frozen_probe,interpolation')
lines_flags=(--config.eval_every=8192)
part lines/ae configs/lines.py:ae "${lines_flags[@]}" &
part lines/acai configs/lines.py:acai "${lines_flags[@]}" &
part mnist/ae_gan configs/amr_mnist.py:ae_gan "${mnist_flags[@]}" &
part mnist/mixup2 configs/amr_mnist.py:mixup2 "${mnist_flags[@]}" &
wait

{
  echo "Budget $minutes min on $(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null \
    | head -n 1 || echo 'an unnamed device'), $(date -u +%Y-%m-%d)"
  echo
  echo '| part | wall s | compile s | last step logged | outcome |'
  echo '|---|---|---|---|---|'
  cat "$root"/logs/*.timing
} > "$root/timing.md"
cat "$root/timing.md"
table() {  # a part that logged nothing has no table; mixres.report says why, the rest still print
  python -m mixres.report "$@" || echo "no table: mixres.report $* exited $?" >&2
}
table "$root/lines" --metric=lines/mean_distance --scale=1000 --median_of_last=4
table "$root/lines" --metric=lines/smoothness --scale=1 --median_of_last=4
for metric in best/probe/val_accuracy best/frozen_probe/val_accuracy recon/val_l1; do
  table "$root/mnist" --metric="$metric"
done
