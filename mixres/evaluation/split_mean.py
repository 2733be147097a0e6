"""Means over the validation split of values computed per example on the accelerator.

The shared pass of the evaluators that average one number per validation example (the probe's
hits, the reconstruction's errors): batches in order, the last one padded and masked, sums taken
under jit and added up on the host, so that every example counts once on any number of hosts.
"""

from typing import Callable

import jax
import jax.numpy as jnp

from mixres import parallel
from mixres.data import pipeline

PerExample = Callable[[object, dict], dict]  # (params, batch) -> {name: (batch,) values}


class SplitMean:
  """`split_mean(params) -> {name: mean}` of per_example's values over the validation split.

  The split is valid_source, or its first config.eval.max_examples, in batches of
  config.eval.batch_size (checked against the mesh when built).
  """

  def __init__(self, per_example: PerExample, config, mesh, valid_source):
    parallel.check_batch_size(config.eval.batch_size, mesh, 'config.eval.batch_size')
    self.config, self.mesh, self.source = config, mesh, valid_source

    def masked_sums(params, batch):
      mask = batch['mask']
      sums = {name: jnp.sum(values * mask)
              for name, values in per_example(params, batch).items()}
      return sums, jnp.sum(mask)

    self._masked_sums = jax.jit(masked_sums, out_shardings=parallel.replicated(mesh))

  def __call__(self, params) -> dict[str, float]:
    totals, count = {}, 0.0
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      batch = parallel.to_global(self.mesh, parallel.process_rows(batch))
      sums, n = self._masked_sums(params, batch)
      for name, value in sums.items():
        totals[name] = totals.get(name, 0.0) + float(value)
      count += float(n)
    return {name: total / count for name, total in totals.items()}
