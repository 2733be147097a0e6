"""AE+GAN (Eq. 2 of the AMR paper): reconstructions must also fool a spectral-norm discriminator.

Subclasses extend it through hooks: `extra_codes` adds codes to decode (AMR: the mixes), and
every decoded image beyond the reconstruction is another "fake" for D, with the same JS-GAN
terms; `generate` may make them otherwise (supervised AMR: a class mix too), `gan_logits` picks
the real-or-fake logits out of D's outputs, and `extra_generator_loss` / `extra_disc_loss` add
terms to either loss.

Schedule (reference code): D is updated every step, G every `config.gen_every`-th step, both
from the parameters before the step (two_player.TwoPlayer, the update every objective shares).

With config.model.spectral_updates='per_forward' D's power iteration advances once per D forward
of the reference step (models/swapgan.py:206-262): two in the generator's half, on g(f(x)) and on
the mix, every step whether G updates or not, and also for AE+GAN (its `--disable_mix` drops
the mix's loss, not its forward); then one for each of D's inputs x, g(f(x)) [, mix].
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import models
from mixres.objectives import base
from mixres.objectives import losses
from mixres.objectives import two_player


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
    """D's logits; with update_stats also the new 'spectral' collection (one power iteration).
    params: default state.params['disc']."""
    variables = {'params': state.params['disc'] if params is None else params,
                 **state.collections['disc']}
    if update_stats:
      return self.networks['disc'].apply(variables, images, update_stats=True,
                                         mutable=['spectral'])
    return self.networks['disc'].apply(variables, images)


class Generated(NamedTuple):
  """What the generator makes of a batch in one step."""
  codes: jax.Array  # f(x)
  extras: list  # the codes decoded besides f(x) (AMR: its mixes)
  fakes: list  # [g(f(x)), *g(extras)], from one decoder call: D judges each as fake
  info: dict = {}  # what else a subclass's loss terms read (supervised AMR: y_mix, p)


class AEGAN(WithDiscriminator, base.Objective):
  """min_F lam*recon + BCE(D(x_hat), 1); min_D BCE(D(x), 1) + BCE(D(x_hat), 0)."""

  spectral_updates = ('per_step', 'per_forward')
  # D forwards in the reference generator half (swapgan.py:209-214): reconstruction and mix,
  # also where there is no mix loss; G's half runs them on every step.
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

  def generate(self, params, batch, key) -> Generated:
    """f(x), the extra codes, and the decoded [x_hat, *extra images]; one decoder call."""
    codes = self.encode(params, batch['image'])
    extras = self.extra_codes(codes, key)
    decoded = self.decode(params, jnp.concatenate([codes, *extras]))
    return Generated(codes, extras, jnp.split(decoded, 1 + len(extras)))

  def gan_logits(self, outputs):
    """D's real-or-fake logits among its outputs (supervised AMR's D also classifies)."""
    return outputs

  def extra_generator_loss(self, params, generated: Generated, outputs):
    """Generator terms beyond Eq. 2, given D's outputs on the fakes: (terms, metrics); the
    terms are added to the loss in order, so each keeps its rounding (AMR: consistency)."""
    del params, generated, outputs
    return [], {}

  def extra_disc_loss(self, batch, outputs, gan):
    """D's terms beyond the GAN loss `gan`, given its outputs on [x, *fakes]: (terms, metrics)."""
    del batch, outputs, gan
    return [], {}

  # The losses ------------------------------------------------------------------------------------

  def generator_loss(self, params, state, batch, key):
    x, cfg = batch['image'], self.config
    gen = self.generate(params, batch, key)
    recon = losses.reconstruction(x, gen.fakes[0], cfg.recon)
    outputs, spectral = self.spectral_forwards('disc', state, gen.fakes)  # D's params: constants.
    spectral = self.advance_spectral('disc', state.params['disc'], spectral,
                                     self.reference_generator_forwards - len(gen.fakes))
    adversarial = sum(losses.gan_loss(self.gan_logits(out), 1.0) for out in outputs)
    terms, metrics = self.extra_generator_loss(params, gen, outputs)
    loss = sum(terms, cfg.lam * recon + adversarial)
    return loss, two_player.Played(
        codes=gen.codes, disc_inputs=gen.fakes, disc_state=spectral,
        metrics={'gen/loss': loss, 'gen/recon': recon, 'gen/adversarial': adversarial, **metrics})

  def discriminator_loss(self, params, state, batch, played, key):
    outputs, updated = self.spectral_forwards('disc', state, [batch['image'], *played.disc_inputs],
                                              params['disc'], played.disc_state, update=True)
    real, *fake = (self.gan_logits(out) for out in outputs)
    gan = losses.gan_loss(real, 1.0) + sum(losses.gan_loss(f, 0.0) for f in fake)
    terms, metrics = self.extra_disc_loss(batch, outputs, gan)
    loss = sum(terms, gan)
    return loss, ({'disc': updated}, {
        'disc/loss': loss, 'disc/real_prob': jnp.mean(jax.nn.sigmoid(real)),
        'disc/recon_prob': jnp.mean(jax.nn.sigmoid(fake[0])), **metrics})
