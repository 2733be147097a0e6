"""Timing of an objective's compiled train step on random data, shared by the benchmarks."""

import time

import jax
import ml_collections
import numpy as np

from mixres import objectives
from mixres import parallel


class CompiledSteps:
  """An objective's train step compiled for every schedule variant, on one random batch.

  Building it compiles each variant met in the first `warmup_steps` steps (and runs those steps);
  `compile_seconds` is the time of each variant's compile and first call, added up. Then
  `images_per_second(steps)` times steps 0 .. steps - 1 of the schedule again, so every call does
  the same work; calls can alternate with other work (benchmarks/paired.py times PyTorch between
  them), as each one blocks until its steps are done.
  """

  def __init__(self, config: ml_collections.ConfigDict, channels: int, warmup_steps: int,
               verbose: bool = True):
    size = config.data.image_size
    self.config = config
    self.objective = objectives.get_objective(config, (size, size, channels))
    mesh = parallel.make_mesh(config.num_devices)
    replicated, sharded = parallel.replicated(mesh), parallel.data_sharded(mesh)
    self.state = jax.jit(self.objective.init, out_shardings=replicated)(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    self.batch = jax.device_put({
        'image': rng.uniform(-1, 1, (config.batch_size, size, size, channels)).astype(np.float32),
        'label': rng.integers(0, max(config.data.num_classes, 1), config.batch_size
                              ).astype(np.int32)}, sharded)
    self.compiled, self.compile_seconds = {}, 0.0
    for step in range(warmup_steps):
      flags_ = self.objective.schedule(step)
      key = tuple(sorted(flags_.items()))
      if key not in self.compiled:
        fn = jax.jit(lambda s, b, f=flags_: self.objective.train_step(s, b, **f),
                     in_shardings=(replicated, sharded), out_shardings=(replicated, replicated),
                     donate_argnums=0)
        start = time.perf_counter()
        self.state, _ = fn(self.state, self.batch)
        jax.block_until_ready(self.state)
        seconds = time.perf_counter() - start
        self.compile_seconds += seconds
        if verbose:
          print(f'compile+first step {dict(flags_)}: {seconds:.1f}s')
        self.compiled[key] = fn
      else:
        self.state, _ = self.compiled[key](self.state, self.batch)
    jax.block_until_ready(self.state)

  def images_per_second(self, steps: int) -> float:
    """Images/s of steps 0 .. steps - 1 of the schedule (variants compiled in the warm-up)."""
    start = time.perf_counter()
    for step in range(steps):
      flags_ = self.objective.schedule(step)
      self.state, _ = self.compiled[tuple(sorted(flags_.items()))](self.state, self.batch)
    jax.block_until_ready(self.state)
    return steps * self.config.batch_size / (time.perf_counter() - start)


def measure(config: ml_collections.ConfigDict, channels: int, steps: int, repeats: int,
            verbose: bool = True) -> list[float]:
  """Images/s of `repeats` timed runs of `steps` train steps each."""
  compiled = CompiledSteps(config, channels, steps, verbose)
  return [compiled.images_per_second(steps) for _ in range(repeats)]
