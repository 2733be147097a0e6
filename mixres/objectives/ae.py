"""Plain autoencoder and the regularised baselines of the ACAI lines table (Berthelot et al. 2019).

min_F recon(x, g(f(x))), the generator updated every step, with two optional training-time
corruptions (config.ae; both 0 by default, which is the plain AE exactly):
- `dropout`: the ACAI code's dropout AE, inverted dropout at this rate on every code element
  before decoding (ACAI: keep probability 0.5, i.e. rate 0.5).
- `noise`: the ACAI code's denoising AE, Gaussian noise of this std added to the input, the
  target the clean image (ACAI: std 1.0).
Neither touches `encode`/`decode`, so evaluators see the clean network; the probe is trained on
the codes of the clean input, as in the ACAI code. With BatchNorm (`model.norm='batch'`, the
AugIntAE report's vanilla AE) the encoder and decoder normalise by the batch in training and
move their running averages; the probe reads codes from the averages before the step, as
evaluation will.
"""

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres.objectives import base
from mixres.objectives import losses
from mixres.objectives import two_player


class AE(base.Objective):
  """min_F recon(x, g(drop(f(x + noise)))) with the linear probe on f(x)."""

  batch_norm = True

  def __init__(self, config, image_shape):
    cc.check_interval(config, 'ae.dropout', 0.0, 1.0, closed='left', why='the dropout rate')
    cc.check_nonnegative(config, 'ae.noise', why='the input noise std')
    super().__init__(config, image_shape)

  def generator_loss(self, params, state, batch, key):
    x, cfg = batch['image'], self.config.ae
    noise_key, dropout_key = jax.random.split(key)
    # Corruptions are traced only when on, so the defaults compile the plain AE's exact step.
    inputs = x + cfg.noise * jax.random.normal(noise_key, x.shape, x.dtype) if cfg.noise else x
    codes, collections = self.forward('encoder', params, state.collections, inputs, train=True)
    decoded = codes
    if cfg.dropout:
      keep = jax.random.bernoulli(dropout_key, 1.0 - cfg.dropout, codes.shape)
      decoded = jnp.where(keep, codes / (1.0 - cfg.dropout), 0.0)
    decoded, collections = self.forward('decoder', params, collections, decoded, train=True)
    loss = losses.reconstruction(x, decoded, self.config.recon)
    if cfg.noise or any(base.BATCH_STATS in c for c in state.collections.values()):
      # The probe reads the clean code as evaluation will: with BatchNorm, by the averages.
      codes = self.encode(self.inference_params(state), x)
    return loss, two_player.Played(codes=codes, metrics={'gen/recon': loss},
                                   collections=collections)
