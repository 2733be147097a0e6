"""Reconstruction error on the validation split: how closely g(f(x)) follows x.

The check that an autoencoder has left the phase where its decoder draws one image for every
input (RESULTS.md): a training batch's `gen/recon` is weighted by the objective's loss and read
on one batch; this is the plain error over the validation split (or its first
eval.max_examples), in the data's pixel units ([-1, 1] for images).
"""

import jax
import jax.numpy as jnp

from mixres import parallel
from mixres.data import pipeline


class Reconstruction:
  """recon/val_l1 and recon/val_mse: mean |x - g(f(x))| and (x - g(f(x)))^2 per value."""

  maximize = ()

  def __init__(self, objective, config, mesh, valid_source):
    if 'decoder' not in objective.networks:
      raise ValueError(f'config.eval.evaluators lists "reconstruction" but objective '
                       f'{config.objective!r} has no decoder; remove "reconstruction"')
    parallel.check_batch_size(config.eval.batch_size, mesh, 'config.eval.batch_size')
    self.objective, self.config, self.mesh, self.source = objective, config, mesh, valid_source

    def errors(params, batch):
      x = batch['image']
      error = objective.decode(params, objective.encode(params, x)) - x
      per_example = lambda e: jnp.mean(e.reshape(len(e), -1), axis=-1)
      mask = batch['mask']
      return (jnp.sum(per_example(jnp.abs(error)) * mask),
              jnp.sum(per_example(jnp.square(error)) * mask), jnp.sum(mask))

    self._errors = jax.jit(errors, out_shardings=parallel.replicated(mesh))

  def __call__(self, state):
    l1 = mse = total = 0.0
    params = self.objective.inference_params(state)
    for batch in pipeline.eval_batches(self.source, self.config.eval.batch_size,
                                       self.config.eval.max_examples):
      batch = parallel.to_global(self.mesh, parallel.process_rows(batch))
      a, s, n = self._errors(params, batch)
      l1, mse, total = l1 + float(a), mse + float(s), total + float(n)
    return {'recon/val_l1': l1 / total, 'recon/val_mse': mse / total}, {}
