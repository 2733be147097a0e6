"""Where a compiled call's start-up goes (trace, lower, XLA compile), then its images/s.

  python benchmarks/compile_phases.py --config=configs/amr_svhn.py [--config.precision=bfloat16]

Builds the first call of the run as the loop does (`train.jit_steps`: `steps_per_call` steps,
0 = one schedule period, on one device), on one random batch repeated along the stacked axis,
with the compilation cache off so that every phase is really done. Then times `--repeats` x
`--calls` calls. XLA_CPU_NOTES.md: compare alternated runs, the CPU's speed drifts.
"""

import time

import jax
import numpy as np
from absl import app
from absl import flags
from ml_collections import config_flags

from mixres import objectives
from mixres import parallel
from mixres import train

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_CALLS = flags.DEFINE_integer('calls', 5, 'Timed calls per repeat.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Repeats, each printed.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')


def main(argv):
  del argv
  jax.config.update('jax_enable_compilation_cache', False)
  config, size = _CONFIG.value, _CONFIG.value.data.image_size
  objective = objectives.get_objective(config, (size, size, _CHANNELS.value))
  mesh = parallel.make_mesh(1)
  n = int(config.steps_per_call) or train.schedule_period(objective)
  state = jax.jit(objective.init, out_shardings=parallel.replicated(mesh))(jax.random.key(0))
  rng = np.random.default_rng(0)
  batch = {'image': rng.uniform(-1, 1, (config.batch_size, size, size, _CHANNELS.value)
                                ).astype(np.float32),
           'label': rng.integers(0, max(config.data.num_classes, 1), config.batch_size
                                 ).astype(np.int32)}
  batches = parallel.to_global(mesh, jax.tree.map(lambda x: np.stack([x] * n), batch),
                               stacked=True)
  flags_ = tuple(tuple(sorted(objective.schedule(s).items())) for s in range(n))
  call = train.jit_steps(objective, mesh, flags_, stacked=True)
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
