"""Repeated faults in a 2-process run on localhost (jax.distributed, gloo); RELIABILITY.md's table.

  python benchmarks/multihost_trials.py --scratch=/tmp/multihost_trials --trials=2

Each trial launches the two processes exactly as tests/test_multihost.py does (its launcher is
imported: 12 steps, checkpoint every 3, heartbeat 5 s), injects one fault once process 0 prints
a random step in [1, 8], waits for both to exit, then runs the same two commands again and
compares the final parameters with an uninterrupted 2-process run's, bit for bit. Faults:

  SIGTERM@1, SIGTERM@0, SIGTERM@both, SIGINT@0, SIGKILL@1, SIGKILL@0: the signal to that process.
  SIGSTOP@1: a hung host (stopped, not dead); it is killed once the other has exited.
  fulldisk@1: process 1 runs under tests/full_disk_main.py: its files are capped at 1 KB from
              its next checkpoint on, as on a full local disk; process 0 writes normally.

Steps lost = the step process 0 had printed minus the last complete checkpoint. "Lines" counts
the lines on each process's stderr (one is the goal: mixres's own).
"""

import os
import shutil
import signal
import sys
import time

import jax
import numpy as np
from absl import app
from absl import flags
from absl import logging

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'tests')]

import test_multihost as launch  # pylint: disable=g-import-not-at-top

_SCRATCH = flags.DEFINE_string('scratch', '/tmp/multihost_trials', 'Scratch directory (emptied).')
_TRIALS = flags.DEFINE_integer('trials', 2, 'Injections per fault.')
_SEED = flags.DEFINE_integer('seed', 0, 'Draws the steps at which faults arrive.')
_FAULTS = flags.DEFINE_list(
    'faults', ['SIGTERM@1', 'SIGTERM@0', 'SIGTERM@both', 'SIGINT@0', 'SIGKILL@1', 'SIGKILL@0',
               'SIGSTOP@1', 'fulldisk@1'], 'Faults to inject (see the module docstring).')
STEPS = 12


def start(workdir, full_disk_from_step=None):
  return launch._start(workdir, STEPS, full_disk_from_step)  # pylint: disable=protected-access


def final_params(workdir):
  return launch._final_params(workdir)  # pylint: disable=protected-access


def wait_all(processes, started, timeout=300):
  """[(exit status, seconds from `started` to exit, stderr)] of each process."""
  results = []
  for p in processes:
    _, err = p.communicate(timeout=timeout)
    results.append((p.returncode, time.monotonic() - started, err))
  return results


def trial(workdir, fault, at_step, reference):
  kind, target = fault.split('@')
  targets = [0, 1] if target == 'both' else [int(target)]
  processes = start(workdir, at_step if kind == 'fulldisk' else None)
  reached, injected = 0, None
  for line in processes[0].stdout:
    if line.startswith('step '):
      reached = int(line.split()[1].split('/')[0])
      if injected is None and reached == at_step:
        injected = time.monotonic()  # fulldisk: the cap applies from the next save on.
        if kind != 'fulldisk':
          for i in targets:
            processes[i].send_signal(signal.Signals[kind])
  injected = injected or time.monotonic()
  if kind == 'SIGSTOP':
    results = wait_all(processes[:1], injected)
    processes[1].kill()
    results.append(('stopped, then killed', None, processes[1].communicate()[1]))
  else:
    results = wait_all(processes, injected)
  steps = launch._steps_on_disk(workdir)  # pylint: disable=protected-access
  lost = reached - (steps[-1] if steps else 0)
  restarted = wait_all(start(workdir), time.monotonic())
  step, params = final_params(workdir)
  same = [r[0] for r in restarted] == [0, 0] and step == STEPS and all(
      np.array_equal(a, b) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(reference)))
  return results, reached, lost, same


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  root = _SCRATCH.value
  shutil.rmtree(root, ignore_errors=True)
  os.makedirs(root)
  straight = os.path.join(root, 'straight')
  codes = [r[0] for r in wait_all(start(straight), time.monotonic())]
  assert codes == [0, 0], codes
  _, reference = final_params(straight)
  rng = np.random.default_rng(_SEED.value)
  print('| fault | injected | resumed bit for bit | exit statuses (0, 1) | seconds to exit '
        '(0, 1) | stderr lines (0, 1) | steps lost (each) |')
  print('|---|---|---|---|---|---|---|')
  for fault in _FAULTS.value:
    trials = []
    for i in range(_TRIALS.value):
      workdir = os.path.join(root, f'{fault.replace("@", "_")}_{i}')
      trials.append(trial(workdir, fault, int(rng.integers(1, 9)), reference))
    statuses = '; '.join(', '.join(str(r[0]) for r in results) for results, *_ in trials)
    seconds = '; '.join(', '.join('-' if r[1] is None else f'{r[1]:.1f}' for r in results)
                        for results, *_ in trials)
    lines = '; '.join(', '.join(str(len(r[2].strip().splitlines())) for r in results)
                      for results, *_ in trials)
    print(f'| {fault} | {len(trials)} | {sum(t[3] for t in trials)} | {statuses} | {seconds} | '
          f'{lines} | {", ".join(str(t[2]) for t in trials)} |', flush=True)
    for results, *_ in trials:  # What each process printed on stderr, to read.
      for i, (_, _, err) in enumerate(results):
        for line in err.strip().splitlines()[-8:]:
          print(f'    {fault} process {i}: {line[:200]}', file=sys.stderr)


if __name__ == '__main__':
  app.run(main)
