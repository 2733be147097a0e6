"""Where a compiled call of train steps spends its time, by kind of XLA operation.

  python benchmarks/profile_step.py --config=configs/amr_svhn.py --calls=4

Compiles the run's first call (`steps.jit_steps`, as benchmarks/compile_phases.py), runs it
once, then records `--calls` calls with `jax.profiler` and reads the trace back
(`jax.profiler.ProfileData`): every XLA operation's events on the host, summed by kind
(convolutions, dots, fused elementwise work, reductions, copies, the rest), with their share
of the traced wall time (operations on XLA's two threads can overlap, and the rest of the wall
time is dispatch, waiting and the steps' glue). The trace stays in --trace_dir for TensorBoard's
profile plugin.
"""

import collections
import glob
import os
import re
import tempfile
import time

import jax
from absl import app
from absl import flags
from ml_collections import config_flags

import step_timing  # benchmarks/step_timing.py, beside this file.

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_CALLS = flags.DEFINE_integer('calls', 4, 'Profiled calls.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')
_TRACE_DIR = flags.DEFINE_string('trace_dir', '', 'Where the trace goes (default: a temp dir).')

# Operation kinds, by the name XLA:CPU gives each operation's event (first match wins).
KINDS = (('convolution', r'^(convolution|conv_general_dilated)'), ('dot', r'(^|_)dot'),
         ('reduction (norm statistics, pooling, sums)', r'reduce'),
         ('copy / transpose', r'copy|transpose'), ('scatter / gather', r'scatter|gather'),
         ('YNNPACK fusion', r'^ynn_fusion'), ('elementwise fusion', r'fusion'))


def kind_of(name: str) -> str:
  return next((kind for kind, pattern in KINDS if re.search(pattern, name)), 'other')


def operation_events(trace_dir: str):
  """(name, seconds) of each XLA operation's event ('convolution.134') in the newest trace."""
  path = max(glob.glob(os.path.join(trace_dir, '**', '*.xplane.pb'), recursive=True),
             key=os.path.getmtime)
  for plane in jax.profiler.ProfileData.from_file(path).planes:
    for line in plane.lines:
      for event in line.events:
        if re.fullmatch(r'[\w\-]+\.\d+', event.name):
          yield event.name, event.duration_ns / 1e9


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
  """The machine's float32 matmul rate through XLA, best of `repeats`."""
  a = jax.random.normal(jax.random.key(0), (size, size))
  matmul = jax.jit(lambda a: a @ a)
  jax.block_until_ready(matmul(a))
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(matmul(a))
    best = min(best, time.perf_counter() - start)
  return 2 * size**3 / best / 1e9


def main(argv):
  del argv
  config = _CONFIG.value
  run = step_timing.RandomRun(config, _CHANNELS.value)
  state, batches, n = run.state, run.batches, run.steps_per_call
  call = run.call().lower(state, batches).compile()
  flops = call.cost_analysis().get('flops', float('nan'))
  state, _ = call(state, batches)
  jax.block_until_ready(state)
  trace_dir = _TRACE_DIR.value or tempfile.mkdtemp(prefix='mixres_profile_')
  with jax.profiler.trace(trace_dir):
    start = time.perf_counter()
    for _ in range(_CALLS.value):
      state, _ = call(state, batches)
    jax.block_until_ready(state)
    wall = time.perf_counter() - start
  by_kind, by_name = collections.Counter(), collections.Counter()
  for name, seconds in operation_events(trace_dir):
    by_kind[kind_of(name)] += seconds
    by_name[name] += seconds
  steps = _CALLS.value * n
  print(f'{config.objective}, {steps} steps ({_CALLS.value} calls of {n}), batch '
        f'{config.batch_size}: {wall:.2f} s traced, {steps * config.batch_size / wall:.1f} '
        f'images/s under the profiler; trace in {trace_dir}')
  print(f'XLA counts {flops / n / 1e9:.2f} GFLOP a step: {flops * _CALLS.value / wall / 1e9:.1f} '
        f'GFLOP/s, against {matmul_gflops():.0f} GFLOP/s of a float32 2048^2 matmul here')
  print('| kind | seconds | share of traced wall time |\n|---|---|---|')
  for kind, seconds in by_kind.most_common():
    print(f'| {kind} | {seconds:.2f} | {seconds / wall:.0%} |')
  print(f'| all operations | {sum(by_kind.values()):.2f} | {sum(by_kind.values()) / wall:.0%} |')
  print('\nlongest operations (all calls together):')
  for name, seconds in by_name.most_common(12):
    print(f'  {seconds:7.3f} s  {name}')


if __name__ == '__main__':
  app.run(main)
