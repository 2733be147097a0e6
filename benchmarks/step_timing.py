"""Timing of an objective's compiled train step on random data, shared by the benchmarks."""

import time

import jax
import ml_collections
import numpy as np

from mixres import objectives
from mixres import parallel


def measure(config: ml_collections.ConfigDict, channels: int, steps: int, repeats: int,
            verbose: bool = True) -> list[float]:
  """Images/s of `repeats` timed runs of `steps` train steps each."""
  size = config.data.image_size
  objective = objectives.get_objective(config, (size, size, channels))
  mesh = parallel.make_mesh(config.num_devices)
  replicated, sharded = parallel.replicated(mesh), parallel.data_sharded(mesh)
  state = jax.jit(objective.init, out_shardings=replicated)(jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  batch = jax.device_put({
      'image': rng.uniform(-1, 1, (config.batch_size, size, size, channels)).astype(np.float32),
      'label': rng.integers(0, max(config.data.num_classes, 1), config.batch_size
                            ).astype(np.int32)}, sharded)
  compiled = {}
  for step in range(steps):
    flags_ = objective.schedule(step)
    key = tuple(sorted(flags_.items()))
    if key not in compiled:
      fn = jax.jit(lambda s, b, f=flags_: objective.train_step(s, b, **f),
                   in_shardings=(replicated, sharded), out_shardings=(replicated, replicated),
                   donate_argnums=0)
      start = time.perf_counter()
      state, _ = fn(state, batch)
      jax.block_until_ready(state)
      if verbose:
        print(f'compile+first step {dict(flags_)}: {time.perf_counter() - start:.1f}s')
      compiled[key] = fn
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    for step in range(steps):
      state, _ = compiled[tuple(sorted(objective.schedule(step).items()))](state, batch)
    jax.block_until_ready(state)
    rates.append(steps * config.batch_size / (time.perf_counter() - start))
  return rates
