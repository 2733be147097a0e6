"""AugIntAE and adversarial AugIntAE (REFERENCE.md section 4; seeds/augintae_report.txt, 4.2).

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

Two registry names rather than a flag: the adversarial variant has another network and optimiser
group, hence another state; the objective's name then says which checkpoint layout a run has,
as 'ae' and 'ae_gan' do. The linear probe trains on f(x) of the un-augmented image.
"""

import jax
import jax.numpy as jnp

from mixres.objectives import ae_gan
from mixres.objectives import base
from mixres.objectives import losses


def interpolate(alpha: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
  """alpha a + (1 - alpha) b with one alpha per example, for images or codes of any rank."""
  weight = alpha.reshape((-1,) + (1,) * (a.ndim - 1))
  return weight * a + (1.0 - weight) * b


class AugIntAE(base.Objective):
  """min_{f,g} recon(alpha x1 + (1-alpha) x2, g(alpha f(x1) + (1-alpha) f(x2)))."""

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

  def decode_interpolation(self, params, views: jax.Array, alpha: jax.Array) -> jax.Array:
    """x' = g(alpha f(x1) + (1 - alpha) f(x2)) for views (B, 2, H, W, C); one encoder call."""
    batch_size = views.shape[0]
    codes = self.encode(params, jnp.concatenate([views[:, 0], views[:, 1]]))
    return self.decode(params, interpolate(alpha, codes[:batch_size], codes[batch_size:]))

  def targets_and_alpha(self, batch, key):
    """(views, y, alpha): the pixel-space interpolation y of the two views is the target."""
    views = batch['views']
    alpha = self.draw_alpha(key, views.shape[0])
    return views, interpolate(alpha, views[:, 0], views[:, 1]), alpha

  def update(self, state, batch, key):
    views, target, alpha = self.targets_and_alpha(batch, key)
    gen_params = self.group_params(state.params, 'generator')

    def loss_fn(params):
      decoded = self.decode_interpolation(params, views, alpha)
      return losses.reconstruction(target, decoded, self.config.recon)

    loss, grads = jax.value_and_grad(loss_fn)(gen_params)
    codes = self.encode(gen_params, batch['image'])  # The probe's input: the plain image.
    state, metrics = self.apply_gradients(state, 'generator', grads)
    return state, {'gen/loss': loss, 'gen/recon': loss, **metrics}, codes


class AdversarialAugIntAE(ae_gan.WithDiscriminator, AugIntAE):
  """AugIntAE whose decoded interpolations must also pass D as true interpolations."""

  def __init__(self, config, image_shape):
    every = config.augint.recon_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
      raise ValueError(f'config.augint.recon_every={every!r} must be an integer >= 1 (the '
                       'reconstruction term joins the generator loss every recon_every-th step)')
    super().__init__(config, image_shape)

  def schedule(self, step: int) -> dict[str, bool]:
    return {'update_recon': step % self.config.augint.recon_every == 0}

  def generator_loss(self, params, state, views, target, alpha, update_recon: bool):
    """BCE(D(x'), 1) [+ recon(y, x') on reconstruction steps]; D's parameters held fixed."""
    decoded = self.decode_interpolation(params, views, alpha)
    recon = losses.reconstruction(target, decoded, self.config.recon)
    adversarial = losses.gan_loss(self.disc_logits(state, decoded), 1.0)
    loss = adversarial + recon if update_recon else adversarial
    return loss, (decoded, {'gen/loss': loss, 'gen/recon': recon,
                            'gen/adversarial': adversarial})

  def disc_loss(self, params, state, real, fake):
    """BCE(D(y), 1) + BCE(D(x'), 0): both are constants, so D's loss never reaches f or g."""
    real, fake = jax.lax.stop_gradient(real), jax.lax.stop_gradient(fake)
    logits, updated = self.disc_logits(state, jnp.concatenate([real, fake]), params,
                                       update_stats=True)
    real_logits, fake_logits = jnp.split(logits, 2)
    loss = losses.gan_loss(real_logits, 1.0) + losses.gan_loss(fake_logits, 0.0)
    return loss, (updated, {'disc/loss': loss,
                            'disc/real_prob': jnp.mean(jax.nn.sigmoid(real_logits)),
                            'disc/fake_prob': jnp.mean(jax.nn.sigmoid(fake_logits))})

  def update(self, state, batch, key, update_recon: bool = True):
    views, target, alpha = self.targets_and_alpha(batch, key)
    gen_params = self.group_params(state.params, 'generator')
    # Both updates start from the parameters before the step: G against the current D, D on
    # this forward pass's decoded interpolations.
    (_, (decoded, metrics)), grads = jax.value_and_grad(self.generator_loss, has_aux=True)(
        gen_params, state, views, target, alpha, update_recon)
    codes = self.encode(gen_params, batch['image'])  # The probe's input: the plain image.
    (_, (updated, disc_metrics)), disc_grads = jax.value_and_grad(self.disc_loss, has_aux=True)(
        state.params['disc'], state, target, decoded)
    state, gen_opt = self.apply_gradients(state, 'generator', grads)
    state, disc_opt = self.apply_gradients(state, 'disc', {'disc': disc_grads})
    state = state.replace(collections={**state.collections, 'disc': updated})
    return state, {**metrics, **gen_opt, **disc_metrics, **disc_opt}, codes
