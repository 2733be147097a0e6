"""Images/s of one objective's compiled train step on random data (no input pipeline).

  python benchmarks/train_step.py --config=configs/amr_svhn.py --steps=50 --repeats=3

Times whole schedule periods (e.g. 4 D-only steps + 1 D+G step for AE+GAN/AMR) after compiling
every step variant, and reports the median over repeats (the CPU's speed drifts, see
XLA_CPU_NOTES.md).
"""

import time

import jax
import numpy as np
from absl import app
from absl import flags
from ml_collections import config_flags

from mixres import parallel
from mixres import objectives

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/amr_svhn.py', 'Config file.')
_STEPS = flags.DEFINE_integer('steps', 50, 'Timed steps per repeat.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Repeats; the median is reported.')
_CHANNELS = flags.DEFINE_integer('channels', 3, 'Image channels.')


def main(argv):
  del argv
  config = _CONFIG.value
  size = config.data.image_size
  objective = objectives.get_objective(config, (size, size, _CHANNELS.value))
  mesh = parallel.make_mesh(config.num_devices)
  replicated, sharded = parallel.replicated(mesh), parallel.data_sharded(mesh)
  state = jax.jit(objective.init, out_shardings=replicated)(jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  batch = jax.device_put({
      'image': rng.uniform(-1, 1, (config.batch_size, size, size, _CHANNELS.value)
                           ).astype(np.float32),
      'label': rng.integers(0, max(config.data.num_classes, 1), config.batch_size
                            ).astype(np.int32)}, sharded)
  steps = {}
  for step in range(_STEPS.value):
    flags_ = objective.schedule(step)
    key = tuple(sorted(flags_.items()))
    if key not in steps:
      fn = jax.jit(lambda s, b, f=flags_: objective.train_step(s, b, **f),
                   in_shardings=(replicated, sharded), out_shardings=(replicated, replicated),
                   donate_argnums=0)
      start = time.perf_counter()
      state, _ = fn(state, batch)
      jax.block_until_ready(state)
      print(f'compile+first step {dict(flags_)}: {time.perf_counter() - start:.1f}s')
      steps[key] = fn
  rates = []
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    for step in range(_STEPS.value):
      state, _ = steps[tuple(sorted(objective.schedule(step).items()))](state, batch)
    jax.block_until_ready(state)
    rates.append(_STEPS.value * config.batch_size / (time.perf_counter() - start))
  print(f'{config.objective} batch {config.batch_size} {size}x{size}x{_CHANNELS.value} on '
        f'{mesh.size} {jax.devices()[0].platform} device(s): median {np.median(rates):.1f} '
        f'images/s (repeats: {", ".join(f"{r:.1f}" for r in rates)})')


if __name__ == '__main__':
  app.run(main)
