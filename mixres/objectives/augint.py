"""AugIntAE and adversarial AugIntAE (the AugIntAE report, 4.2; docs/methods.md#augintae).

Every training image x arrives with two independent random affine views x1, x2 (the pipeline's
config.data.augment with num_views = 2: rotation U[-10, 10] deg, translation U[-5, 5] px, zoom
U[0.9, 1.1]). With alpha ~ U(0, 1) per example and the target interpolated in pixel space,

  y = alpha x1 + (1 - alpha) x2,   x' = g(alpha f(x1) + (1 - alpha) f(x2)),

- 'augint' (4.2.1): min_{f,g} recon(y, x') (config.recon; the report's MSE is 'l2').
- 'augint_adv' (4.2.2): a discriminator D tells true interpolations y (real) from decoded ones
  x' (fake) with BCE; f and g are updated every step on BCE(D(x'), 1) and, every
  config.augint.recon_every-th step, on recon(y, x') as well (the report: the adversarial loss
  "at each epoch", the MSE "every five epochs"; we read epochs as steps, and add the two terms
  in one update). D is updated every step on BCE(D(y), 1) + BCE(D(x'), 0) with x' a constant.

`config.model.norm='batch'` is the report's BatchNorm (Tables 2, 3; mixres/models/infogan.py):
in each player's update its own networks normalise by the batch and their running averages move
(f on x1, then on x2, then g on the mix, as three separate forwards would in PyTorch); nothing
else writes them, and evaluation reads them through inference_params. The probe's codes come
from the running averages before the step, the statistics it will be evaluated with.
`config.augint.disc`: 'sn' (ours: the family's spectral-norm D, no norm) or 'encoder' (the report's
4.2.2: D "identical to the encoder", the same network with a 1-unit code, BatchNorm included,
no spectral norm). Its BatchNorm sees y and x' in two forwards, as PyTorch GAN code usually
calls D; in G's loss it normalises by the batch of x' without moving D's averages.

Two registry names rather than a flag: the adversarial variant has another network and optimiser
group, hence another state; the objective's name then says which checkpoint layout a run has,
as 'ae' and 'ae_gan' do. The linear probe trains on f(x) of the un-augmented image.
"""

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import mixers
from mixres import models
from mixres.objectives import ae_gan
from mixres.objectives import base
from mixres.objectives import losses
from mixres.objectives import two_player


DISCRIMINATORS = ('sn', 'encoder')


class AugIntAE(base.Objective):
  """min_{f,g} recon(alpha x1 + (1-alpha) x2, g(alpha f(x1) + (1-alpha) f(x2)))."""

  batch_norm = True

  def __init__(self, config, image_shape):
    views = config.data.augment.num_views
    if views != 2:
      raise ValueError(f'config.data.augment.num_views={views} must be 2 for '
                       f'config.objective={config.objective!r} (it interpolates two augmented '
                       'views of each image)')
    super().__init__(config, image_shape)

  def draw_alpha(self, key: jax.Array, batch_size: int) -> jax.Array:
    """Interpolation weights alpha ~ U(0, 1), one per example: (B,)."""
    return jax.random.uniform(key, (batch_size,))

  def decode_interpolation(self, params, views: jax.Array, alpha: jax.Array, collections,
                           train: bool = True):
    """x' = g(alpha f(x1) + (1 - alpha) f(x2)) for views (B, 2, H, W, C), and `collections`
    (state.collections) after, BatchNorm's averages of f and g moved if `train`."""
    h1, collections = self.forward('encoder', params, collections, views[:, 0], train)
    h2, collections = self.forward('encoder', params, collections, views[:, 1], train)
    return self.forward('decoder', params, collections, mixers.convex_mix(alpha, h1, h2), train)

  def targets_and_alpha(self, batch, key):
    """(views, y, alpha): the pixel-space interpolation y of the two views is the target."""
    views = batch['views']
    alpha = self.draw_alpha(key, views.shape[0])
    return views, mixers.convex_mix(alpha, views[:, 0], views[:, 1]), alpha

  def own_collections(self, collections, group: str):
    """The entries of `collections` that belong to `group`'s networks: all a player writes."""
    return {name: collections[name] for name in self.group_networks(group) if name in collections}

  def probe_codes(self, state, images):
    """f(x) of the plain image for the probe, with the running averages before the step."""
    return self.encode(self.inference_params(state), images)

  def generator_loss(self, params, state, batch, key):
    """recon(y, x'); disc_inputs (y, x') for the adversarial variant's D."""
    views, target, alpha = self.targets_and_alpha(batch, key)
    decoded, collections = self.decode_interpolation(params, views, alpha, state.collections)
    loss = losses.reconstruction(target, decoded, self.config.recon)
    return loss, two_player.Played(
        codes=self.probe_codes(state, batch['image']), disc_inputs=(target, decoded),
        metrics={'gen/loss': loss, 'gen/recon': loss},
        collections=self.own_collections(collections, 'generator'))


class AdversarialAugIntAE(ae_gan.WithDiscriminator, AugIntAE):
  """AugIntAE whose decoded interpolations must also pass D as true interpolations."""

  def __init__(self, config, image_shape):
    cc.check_integer(config, 'augint.recon_every', 1, why='the reconstruction term joins the '
                     'generator loss every recon_every-th step')
    cc.check_choice(config, 'augint.disc', DISCRIMINATORS)
    super().__init__(config, image_shape)

  def build_networks(self):
    networks = super().build_networks()
    if self.config.augint.disc == 'encoder':  # The encoder of the family, with a 1-unit code.
      one = self.config.copy_and_resolve_references()
      one.model.code_size = one.model.latent = 1
      networks['disc'] = models.build_autoencoder(one, self.image_shape)[0]
    return networks

  def schedule(self, step: int) -> dict[str, bool]:
    return {'update_recon': step % self.config.augint.recon_every == 0}

  def disc_forward(self, params, state, images, collections=None, train=False):
    """D's logits (B,) and `collections` (default the state's) after: with `train` one power
    iteration ('sn') or BatchNorm's averages moved ('encoder' with BatchNorm)."""
    collections = state.collections if collections is None else collections
    if self.config.augint.disc == 'sn':
      if not train:
        return self.disc_logits(state, images, params), collections
      logits, spectral = self.disc_logits(state, images, params, update_stats=True)
      return logits, {**collections, 'disc': spectral}
    out, collections = self.forward('disc', {'disc': params}, collections, images, train)
    return jnp.mean(out.reshape(out.shape[0], -1), axis=-1), collections

  def generator_loss(self, params, state, batch, key, update_recon: bool = True):
    """BCE(D(x'), 1) [+ recon(y, x') on reconstruction steps]; D's parameters held fixed.

    D normalises x' by its batch ('encoder' D, BatchNorm: as in training mode) but its running
    averages are D's own: G's step does not write them."""
    recon, played = super().generator_loss(params, state, batch, key)
    logits, _ = self.disc_forward(state.params['disc'], state, played.disc_inputs[1],
                                  train=self.config.augint.disc == 'encoder')
    adversarial = losses.gan_loss(logits, 1.0)
    loss = adversarial + recon if update_recon else adversarial
    return loss, played._replace(
        metrics={'gen/loss': loss, 'gen/recon': recon, 'gen/adversarial': adversarial})

  def discriminator_loss(self, params, state, batch, played, key):
    """BCE(D(y), 1) + BCE(D(x'), 0), y and x' from G's half."""
    params, (real, fake) = params['disc'], played.disc_inputs
    if self.config.augint.disc == 'sn':  # One power iteration on both halves.
      logits, collections = self.disc_forward(params, state, jnp.concatenate([real, fake]),
                                              train=True)
      real_logits, fake_logits = jnp.split(logits, 2)
    else:  # Two forwards: BatchNorm normalises y and x' each by its own batch.
      real_logits, collections = self.disc_forward(params, state, real, train=True)
      fake_logits, collections = self.disc_forward(params, state, fake, collections, train=True)
    loss = losses.gan_loss(real_logits, 1.0) + losses.gan_loss(fake_logits, 0.0)
    return loss, (self.own_collections(collections, 'disc'), {
        'disc/loss': loss, 'disc/real_prob': jnp.mean(jax.nn.sigmoid(real_logits)),
        'disc/fake_prob': jnp.mean(jax.nn.sigmoid(fake_logits))})
