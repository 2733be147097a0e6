"""Plain autoencoder: reconstruction loss only; the generator is updated every step."""

import jax

from mixres.objectives import base
from mixres.objectives import losses


class AE(base.Objective):
  """min_F recon(x, g(f(x))) with the linear probe on f(x)."""

  def update(self, state, batch, key):
    del key  # Deterministic.
    x = batch['image']

    def loss_fn(params):
      codes = self.encode(params, x)
      return losses.reconstruction(x, self.decode(params, codes), self.config.recon), codes

    (loss, codes), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        self.group_params(state.params, 'generator'))
    state, metrics = self.apply_gradients(state, 'generator', grads)
    return state, {'gen/recon': loss, **metrics}, codes
