"""Reconstruction error on the validation split: how closely g(f(x)) follows x.

The check that an autoencoder has left the phase where its decoder draws one image for every
input (RESULTS.md): a training batch's `gen/recon` is weighted by the objective's loss and read
on one batch; this is the plain error over the validation split (or its first
eval.max_examples), in the data's pixel units ([-1, 1] for images).
"""

import jax.numpy as jnp

from mixres.evaluation.split_mean import SplitMean


class Reconstruction:
  """recon/val_l1 and recon/val_mse: mean |x - g(f(x))| and (x - g(f(x)))^2 per value."""

  maximize = ()

  def __init__(self, objective, config, mesh, valid_source):
    if 'decoder' not in objective.networks:
      raise ValueError(f'config.eval.evaluators lists "reconstruction" but objective '
                       f'{config.objective!r} has no decoder; remove "reconstruction"')
    self.objective = objective

    def errors(params, batch):
      x = batch['image']
      error = objective.decode(params, objective.encode(params, x)) - x
      per_example = lambda e: jnp.mean(e.reshape(len(e), -1), axis=-1)
      return {'recon/val_l1': per_example(jnp.abs(error)),
              'recon/val_mse': per_example(jnp.square(error))}

    self._errors = SplitMean(errors, config, mesh, valid_source)

  def __call__(self, state):
    return self._errors(self.objective.inference_params(state)), {}
