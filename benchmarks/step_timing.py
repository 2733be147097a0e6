"""Timing of an objective's compiled train step on random data, shared by the benchmarks."""

import time

import jax
import ml_collections
import numpy as np

from mixres import objectives
from mixres import parallel
from mixres import steps


class RandomRun:
  """What the loop's calls need for `config` on one random batch, on `config.num_devices`:
  the objective, the mesh, steps a call, an initial state and the batch stacked for a call."""

  def __init__(self, config: ml_collections.ConfigDict, channels: int):
    size = config.data.image_size
    self.objective = objectives.get_objective(config, (size, size, channels))
    self.mesh = parallel.make_mesh(config.num_devices)
    self.steps_per_call = int(config.steps_per_call) or steps.schedule_period(self.objective)
    replicated = parallel.replicated(self.mesh)
    self.state = jax.jit(self.objective.init, out_shardings=replicated)(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    self.batch = batch = {
        'image': rng.uniform(-1, 1, (config.batch_size, size, size, channels)).astype(np.float32),
        'label': rng.integers(0, max(config.data.num_classes, 1), config.batch_size
                              ).astype(np.int32)}
    self.batches = parallel.to_global(
        self.mesh, jax.tree.map(lambda x: np.stack([x] * self.steps_per_call), batch),
        stacked=True)

  def flags(self, first: int) -> tuple:
    """The schedule flags of the call whose first step is `first`."""
    return tuple(tuple(sorted(self.objective.schedule(s).items()))
                 for s in range(first, first + self.steps_per_call))

  def call(self, first: int = 0):
    """The loop's jitted call starting at step `first` (steps.jit_steps)."""
    return steps.jit_steps(self.objective, self.mesh, self.flags(first), stacked=True)


class CompiledSteps(RandomRun):
  """An objective's train steps compiled as the loop compiles them, on one random batch.

  Calls of `steps_per_call` steps (config.steps_per_call, 0: one schedule period), unrolled in
  one executable each (mixres/steps.py `jit_steps`), the batch repeated along the stacked axis.
  Building it compiles each call variant met in the first `warmup_steps` steps (and runs them);
  `compile_seconds` is each variant's compile and first call, added up. Then
  `images_per_second(steps)` times steps 0 .. steps - 1 again (whole calls), so every round does
  the same work; rounds can alternate with other work (benchmarks/paired.py times PyTorch
  between them), as each one blocks until its steps are done.
  """

  def __init__(self, config: ml_collections.ConfigDict, channels: int, warmup_steps: int,
               verbose: bool = True):
    super().__init__(config, channels)
    self.config = config
    self.compiled, self.compile_seconds = {}, 0.0
    for first in range(0, self.whole_calls(warmup_steps), self.steps_per_call):
      flags = self.flags(first)
      if flags not in self.compiled:
        start = time.perf_counter()
        self.compiled[flags] = self.call(first)
        self.state, _ = self.compiled[flags](self.state, self.batches)
        jax.block_until_ready(self.state)
        seconds = time.perf_counter() - start
        self.compile_seconds += seconds
        if verbose:
          print(f'compile+first call of steps {first + 1}-{first + self.steps_per_call}: '
                f'{seconds:.1f}s')
      else:
        self.state, _ = self.compiled[flags](self.state, self.batches)
    jax.block_until_ready(self.state)

  def whole_calls(self, steps: int) -> int:
    """`steps` rounded up to whole calls."""
    return -(-steps // self.steps_per_call) * self.steps_per_call

  def images_per_second(self, steps: int) -> float:
    """Images/s of steps 0 .. steps - 1 (rounded up to whole calls; variants compiled in the
    warm-up)."""
    steps = self.whole_calls(steps)
    start = time.perf_counter()
    for first in range(0, steps, self.steps_per_call):
      self.state, _ = self.compiled[self.flags(first)](self.state, self.batches)
    jax.block_until_ready(self.state)
    return steps * self.config.batch_size / (time.perf_counter() - start)


def measure(config: ml_collections.ConfigDict, channels: int, steps: int, repeats: int,
            verbose: bool = True) -> list[float]:
  """Images/s of `repeats` timed runs of `steps` train steps each."""
  compiled = CompiledSteps(config, channels, steps, verbose)
  return [compiled.images_per_second(steps) for _ in range(repeats)]
