"""AE+GAN (Eq. 2 of the AMR paper): reconstructions must also fool a spectral-norm discriminator.

Subclasses (AMR) add more codes to decode, e.g. mixes, through `extra_codes`; every decoded
image beyond the reconstruction is another "fake" for D, with the same JS-GAN terms.

Schedule (reference code): D is updated every step, G every `config.gen_every`-th step. Both use
the parameters from before the step, which equals the reference order (G step, then D step on
the detached outputs of the same forward pass).

With config.model.spectral_updates='per_forward' D's power iteration advances once per D forward
of the reference step (models/swapgan.py:206-262): two in the generator's half, on g(f(x)) and on
the mix, every step whether G updates or not, and also for AE+GAN (its `--disable_mix` drops
the mix's loss, not its forward); then one for each of D's inputs x, g(f(x)) [, mix].
"""

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import models
from mixres.objectives import base
from mixres.objectives import losses


def check_generator_schedule(config) -> None:
  """lam and gen_every of the AE+GAN family's generator loss and schedule."""
  cc.check_nonnegative(config, 'lam', why='the reconstruction weight')
  cc.check_integer(config, 'gen_every', 1, why='G is updated every gen_every-th step')


class WithDiscriminator:
  """Mixin: a spectral-norm discriminator 'disc' (own optimiser group) beside the autoencoder."""

  groups = {'generator': ('encoder', 'decoder'), 'disc': ('disc',)}
  spectral_updates = ('per_step',)  # Objectives that count the reference's D forwards widen it.

  def build_networks(self):
    networks = super().build_networks()
    networks['disc'] = models.build_discriminator(self.config, self.image_shape)
    return networks

  def example_inputs(self):
    inputs = super().example_inputs()
    inputs['disc'] = inputs['encoder']
    return inputs

  def disc_logits(self, state, images, params=None, update_stats=False):
    """D's logits; with update_stats also the new 'spectral' collection (one power iteration)."""
    return self.apply_spectral('disc', state, images, params, update_stats)


class AEGAN(WithDiscriminator, base.Objective):
  """min_F lam*recon + BCE(D(x_hat), 1); min_D BCE(D(x), 1) + BCE(D(x_hat), 0)."""

  spectral_updates = ('per_step', 'per_forward')
  # D forwards in the reference generator half (swapgan.py:209-214): reconstruction and mix.
  reference_generator_forwards = 2

  def __init__(self, config, image_shape):
    check_generator_schedule(config)
    super().__init__(config, image_shape)

  def schedule(self, step: int) -> dict[str, bool]:
    return {'update_generator': step % int(self.config.gen_every) == 0}

  # Hooks for subclasses --------------------------------------------------------------------------

  def extra_codes(self, codes: jax.Array, key: jax.Array) -> list[jax.Array]:
    """Codes decoded in addition to f(x), each judged by D as fake (AMR: the mixes)."""
    del codes, key
    return []

  def extra_generator_loss(self, params, extra_codes, extra_images):
    """Additional generator terms (AMR: consistency); returns (loss, metrics)."""
    del params, extra_codes, extra_images
    return 0.0, {}

  # The step --------------------------------------------------------------------------------------

  def generate(self, params, x, key):
    """f(x), the extra codes, and the decoded [x_hat, *extra images]; one decoder call."""
    codes = self.encode(params, x)
    extras = self.extra_codes(codes, key)
    decoded = self.decode(params, jnp.concatenate([codes, *extras]))
    return codes, extras, jnp.split(decoded, 1 + len(extras))

  def update(self, state, batch, key, update_generator: bool = True):
    x, cfg = batch['image'], self.config
    gen_params = self.group_params(state.params, 'generator')
    metrics, spectral, forwards = {}, state.collections['disc'], 0

    if update_generator:
      def gen_loss(params):
        codes, extras, fakes = self.generate(params, x, key)
        recon = losses.reconstruction(x, fakes[0], cfg.recon)
        logits, spectral = self.spectral_forwards('disc', state, fakes)  # D's params: constants.
        adversarial = sum(losses.gan_loss(fake, 1.0) for fake in logits)
        extra, extra_metrics = self.extra_generator_loss(params, extras, fakes[1:])
        loss = cfg.lam * recon + adversarial + extra
        return loss, (codes, fakes, spectral, {'gen/loss': loss, 'gen/recon': recon,
                                               'gen/adversarial': adversarial, **extra_metrics})

      (_, (codes, fakes, spectral, gen_metrics)), grads = jax.value_and_grad(
          gen_loss, has_aux=True)(gen_params)
      state, opt_metrics = self.apply_gradients(state, 'generator', grads)
      metrics.update(gen_metrics, **opt_metrics)
      forwards = len(fakes)
    else:
      codes, _, fakes = self.generate(gen_params, x, key)
    spectral = self.advance_spectral('disc', state.params['disc'], spectral,
                                     self.reference_generator_forwards - forwards)

    # D judges the generator's outputs as constants: its loss never reaches G.
    fakes = [jax.lax.stop_gradient(f) for f in fakes]

    def disc_loss(params):
      logits, updated = self.spectral_forwards('disc', state, [x, *fakes], params, spectral,
                                               update=True)
      real, *fake = logits
      loss = losses.gan_loss(real, 1.0) + sum(losses.gan_loss(f, 0.0) for f in fake)
      return loss, (updated, {'disc/loss': loss, 'disc/real_prob': jnp.mean(jax.nn.sigmoid(real)),
                              'disc/recon_prob': jnp.mean(jax.nn.sigmoid(fake[0]))})

    (_, (updated, disc_metrics)), grads = jax.value_and_grad(disc_loss, has_aux=True)(
        state.params['disc'])
    state, opt_metrics = self.apply_gradients(state, 'disc', {'disc': grads})
    state = state.replace(collections={**state.collections, 'disc': updated})
    metrics.update(disc_metrics, **opt_metrics)
    return state, metrics, codes
