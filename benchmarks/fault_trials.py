"""Repeated fault injection on a tiny run through `python -m mixres.main`; RELIABILITY.md's table.

  python benchmarks/fault_trials.py --scratch=/tmp/fault_trials --trials=5

Each trial starts the quickstart config at test size (40 steps, checkpoint every 10), sends a
signal once the run prints a random step in [3, 30], runs the same command again, and compares
the final parameters with an uninterrupted run's, bit for bit. Steps lost = the step the run had
reached minus the step it resumed from.
"""

import os
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
from absl import app
from absl import flags
from absl import logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from mixres import evaluate  # pylint: disable=g-import-not-at-top

_SCRATCH = flags.DEFINE_string('scratch', '/tmp/fault_trials', 'Scratch directory (emptied).')
_TRIALS = flags.DEFINE_integer('trials', 5, 'Injections per signal.')
_SEED = flags.DEFINE_integer('seed', 0, 'Draws the steps at which signals arrive.')
_SIGNALS = flags.DEFINE_list('signals', ['SIGTERM', 'SIGINT', 'SIGKILL'], 'Signals to inject.')
STEPS, EVERY = 40, 10


def command(workdir):
  return [sys.executable, '-m', 'mixres.main', '--config=configs/quickstart.py',
          f'--workdir={workdir}', f'--config.num_train_steps={STEPS}', '--config.log_every=1',
          f'--config.eval_every={STEPS}', f'--config.checkpoint_every={EVERY}',
          '--config.batch_size=8', '--config.model.depth=4', '--config.model.latent_width=8',
          '--config.eval.batch_size=64', '--config.eval.max_examples=128',
          '--config.eval.figure_pairs=2']


def params(workdir):
  experiment, state = evaluate.restore(workdir)
  experiment.checkpointer.close()
  return int(state.step), jax.device_get(state.params)


def resumed_from(workdir) -> int:
  steps = [int(n) for n in os.listdir(os.path.join(workdir, 'checkpoints')) if n.isdigit()]
  return max(steps, default=0)


def trial(workdir, signum, at_step, reference):
  """(exit status, reached step, steps lost, resumed equal to the reference)."""
  process = subprocess.Popen(command(workdir), cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
  reached = 0
  for line in process.stdout:
    if line.startswith('step '):
      reached = int(line.split()[1].split('/')[0])
      if reached == at_step:
        process.send_signal(signum)
        break
  out, _ = process.communicate(timeout=600)
  printed = [l for l in out.splitlines() if l.startswith('step ')]
  reached = int(printed[-1].split()[1].split('/')[0]) if printed else reached
  lost = reached - resumed_from(workdir)
  finished = subprocess.run(command(workdir), cwd=REPO, capture_output=True, text=True)
  step, final = params(workdir)
  same = finished.returncode == 0 and step == STEPS and all(
      np.array_equal(a, b) for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(reference)))
  return process.returncode, reached, lost, same


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Orbax logs every restore at INFO.
  root = _SCRATCH.value
  shutil.rmtree(root, ignore_errors=True)
  straight = os.path.join(root, 'straight')
  subprocess.run(command(straight), cwd=REPO, check=True, capture_output=True)
  _, reference = params(straight)
  rng = np.random.default_rng(_SEED.value)
  print('| signal | injected | resumed bit for bit | exit statuses | steps lost (each) |')
  print('|---|---|---|---|---|')
  for signum in (signal.Signals[name] for name in _SIGNALS.value):
    results = []
    for i in range(_TRIALS.value):
      workdir = os.path.join(root, f'{signum.name}_{i}')
      results.append(trial(workdir, signum, int(rng.integers(3, 31)), reference))
    codes = sorted({r[0] for r in results})
    print(f'| {signum.name} | {len(results)} | {sum(r[3] for r in results)} | '
          f'{", ".join(map(str, codes))} | {", ".join(str(r[2]) for r in results)} |',
          flush=True)


if __name__ == '__main__':
  app.run(main)
