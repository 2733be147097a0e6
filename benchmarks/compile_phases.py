"""Where a compiled call's start-up goes (trace, lower, XLA compile), then its images/s.

  python benchmarks/compile_phases.py --config=configs/amr_svhn.py [--config.precision=bfloat16]

Builds the first call of the run as the loop does (`steps.jit_steps`: `steps_per_call` steps,
0 = one schedule period), on one random batch repeated along the stacked axis,
with the compilation cache off so that every phase is really done, on config.num_devices. Then times `--repeats` x
`--calls` calls. docs/faithfulness.md#xla-on-cpu: compare alternated runs, the CPU's speed drifts.
"""

import time

import jax
from absl import app
from absl import flags
from ml_collections import config_flags

import step_timing  # benchmarks/step_timing.py, beside this file.

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_CALLS = flags.DEFINE_integer('calls', 5, 'Timed calls per repeat.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Repeats, each printed.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')


def main(argv):
  del argv
  jax.config.update('jax_enable_compilation_cache', False)
  config = _CONFIG.value
  run = step_timing.RandomRun(config, _CHANNELS.value)
  call, state, batches, n = run.call(), run.state, run.batches, run.steps_per_call
  start = time.perf_counter()
  traced = call.trace(state, batches)
  traced_at = time.perf_counter()
  lowered = traced.lower()
  lowered_at = time.perf_counter()
  compiled = lowered.compile()
  compiled_at = time.perf_counter()
  print(f'{config.objective}, {n} steps a call, batch {config.batch_size}, '
        f'precision {config.precision}: trace {traced_at - start:.1f} s, lower '
        f'{lowered_at - traced_at:.1f} s, compile {compiled_at - lowered_at:.1f} s')
  state, _ = compiled(state, batches)
  jax.block_until_ready(state)
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    for _ in range(_CALLS.value):
      state, _ = compiled(state, batches)
    jax.block_until_ready(state)
    rate = _CALLS.value * n * config.batch_size / (time.perf_counter() - start)
    print(f'{rate:.1f} images/s')


if __name__ == '__main__':
  app.run(main)
