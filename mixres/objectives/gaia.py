"""GAIA (Sainburg et al. 2018; docs/methods.md#gaia): a GAN whose generator and discriminator
are both autoencoders, trained on latent interpolations.

G = decoder o encoder, D = disc_decoder o disc_encoder (BEGAN-style: D scores an input by how
well it reconstructs it). For a batch x of even size B with codes z = f(x), B interpolants z_i
between the two halves of the batch, and every loss a mean absolute error:

  L_real = |x - D(x)|,  L_GX = |x - D(G(x))|,  L_interp = |G(z_i) - D(G(z_i))|,
  L_dist = mean((log(1 + d_x) - log(1 + d_z))^2)                           (section 2.1)

with d_x, d_z the squared pairwise distances in the batch, each divided by its mean. Sigmoid
balancing (appendix 5.2 and its Algorithm 1; the code), sig(t) = sigmoid(slope * t):

  p_fake = clip(sig(0.5 L_interp - L_real), 0, 0.9);  L_D = L_real - p_fake (L_interp + L_GX) / 2
  p_gen = sig(L_interp - L_GX);  L_G = p_gen L_interp + (1 - p_gen) L_GX + w L_dist
  s = sig(L_real - (L_interp + L_GX) / 2);  lr_D = s lr,  lr_G = (1 - s) lr.

s is a constant (the code hands it to Adam as the learning rate). p_fake and p_gen are constants
too with config.gaia.balance_gradient='stop'; with 'through' they are differentiated as the
functions of the losses they are, as in the code (network.py:100-119, 135-136), which changes
the gradients: where L_real = L_interp = L_GX = 0.15, dL_D/dL_real is 1.447, not 1 (tests).
config.gaia.clip_losses clips L_D and L_G to [-1, 1] like the code (network.py:108, 116): no
gradient outside. config.gaia.loss_scale='unit' halves every L1 term, the code's scale (its
images are /255 with a sigmoid decoder, network.py:284; L1 on [0, 1] is half L1 on [-1, 1]), so
that a slope acts on loss differences as there; L_dist is scale-free either way.

G has no direct reconstruction term |x - G(x)| (paper and code): it reconstructs x "across the
discriminator" through L_GX; |x - G(x)| is logged as gen/recon only. The paper's section 2
describes D's term on G(x) as D's own AE loss |G(x) - D(G(x))|; the GAIA code uses
|x - D(G(x))|:
config.gaia.disc_fake_target picks the one that L_D and s use (G always uses L_GX).

Both updates use the parameters from before the step, like the reference code, whose two train
ops are built on one forward pass (and like AE+GAN here). L_D and L_G are functions of the
scalar loss terms only, so one forward pass and two pullbacks of it give both gradients.
"""

import jax
import jax.numpy as jnp

from mixres import config_checks as cc
from mixres import mixers
from mixres import models
from mixres.objectives import base
from mixres.objectives import two_player

MAX_P_FAKE = 0.9  # GAIA's balancing (docs/methods.md#gaia): D's weight on fakes stays <= 0.9.
FAKE_TARGETS = ('input', 'generated')
BALANCE_GRADIENTS = ('stop', 'through')
LOSS_SCALES = {'pm1': 1.0, 'unit': 0.5}  # L1 on x in [-1, 1]; on (x + 1) / 2 in [0, 1].


def l1(a: jax.Array, b: jax.Array) -> jax.Array:
  return jnp.mean(jnp.abs(a - b))


def clip(x: jax.Array, low: float, high: float) -> jax.Array:
  """x clipped to [low, high] with tf.clip_by_value's gradient, as the code clips: 1 on the
  closed interval, 0 outside (jnp.clip passes 1/2 at the ends)."""
  return jnp.where((x < low) | (x > high), jax.lax.stop_gradient(jnp.clip(x, low, high)), x)


def interpolate(codes: jax.Array, alphas: jax.Array) -> jax.Array:
  """B interpolants between the batch halves, as the reference code pairs them.

  With n = B / 2 and halves a, b: alphas[0] a_i + (1 - alphas[0]) b_i, then the same with a in
  reverse order and alphas[1], so every code takes part twice and no pair repeats (n > 1).
  alphas: (2, n), one weight per pair.
  """
  first, second = jnp.split(codes, 2)
  return jnp.concatenate([mixers.convex_mix(alphas[0], first, second),
                          mixers.convex_mix(alphas[1], first[::-1], second)])


def squared_distances(v: jax.Array) -> jax.Array:
  """(B, ...) -> (B, B) mean squared difference of every pair (the scale cancels below)."""
  v = v.reshape(v.shape[0], -1)
  return jnp.mean(jnp.square(v[:, None] - v[None]), -1)


def distance_loss(x: jax.Array, codes: jax.Array) -> jax.Array:
  """mean((log(1 + d_x) - log(1 + d_z))^2), d_* normalised by their batch mean (section 2.1)."""
  def normalised(v):
    d = squared_distances(v)
    return d / jnp.maximum(jnp.mean(d), 1e-12)  # Guards a batch of identical points only.
  return jnp.mean(jnp.square(jnp.log1p(normalised(x)) - jnp.log1p(normalised(codes))))


class GAIA(base.Objective):
  """Balanced min_D L_D / min_G L_G between two autoencoders (module docstring)."""

  groups = {'generator': ('encoder', 'decoder'), 'disc': ('disc_encoder', 'disc_decoder')}

  def __init__(self, config, image_shape):
    cc.check_nonnegative(config, 'gaia.alpha_std')
    cc.check_positive(config, 'gaia.slope')
    cc.check_nonnegative(config, 'gaia.dist_weight')
    cc.check_choice(config, 'gaia.disc_fake_target', FAKE_TARGETS, what='a target')
    cc.check_choice(config, 'gaia.balance_gradient', BALANCE_GRADIENTS, what='a choice')
    cc.check_choice(config, 'gaia.loss_scale', LOSS_SCALES, what='a scale')
    if config.batch_size % 2:
      raise ValueError(f'config.batch_size={config.batch_size} must be even: GAIA interpolates '
                       'between the two halves of the batch')
    super().__init__(config, image_shape)

  def build_networks(self):
    networks = super().build_networks()
    networks['disc_encoder'], networks['disc_decoder'] = models.build_autoencoder(
        self.config, self.image_shape)
    return networks

  def example_inputs(self):
    inputs = super().example_inputs()
    inputs['disc_encoder'], inputs['disc_decoder'] = inputs['encoder'], inputs['decoder']
    return inputs

  @property
  def dist_weight(self) -> float:
    g = self.config.gaia
    return self.config.optim.lr / 2 if g.dist_weight_from_lr else g.dist_weight

  def discriminate(self, params, images: jax.Array) -> jax.Array:
    """D(images): the discriminator's reconstruction."""
    codes = self.networks['disc_encoder'].apply({'params': params['disc_encoder']}, images)
    return self.networks['disc_decoder'].apply({'params': params['disc_decoder']}, codes)

  def sample_alphas(self, key: jax.Array, num_pairs: int) -> jax.Array:
    """(2, num_pairs) interpolation weights ~ N(0.5, alpha_std^2), unclipped: may extrapolate."""
    return 0.5 + self.config.gaia.alpha_std * jax.random.normal(key, (2, num_pairs))

  def loss_terms(self, gen_params, disc_params, x: jax.Array, alphas: jax.Array):
    """The loss terms (dict of scalars) and, as aux, (codes f(x), |x - G(x)|)."""
    scale = LOSS_SCALES[self.config.gaia.loss_scale]
    l1_scaled = lambda a, b: scale * l1(a, b)
    codes = self.encode(gen_params, x)
    decoded = self.decode(gen_params, jnp.concatenate([codes, interpolate(codes, alphas)]))
    gen_x, gen_interp = jnp.split(decoded, 2)
    # One D call on all three (instance norm is per sample, so batching them is exact).
    d_real, d_gen_x, d_interp = jnp.split(
        self.discriminate(disc_params, jnp.concatenate([x, gen_x, gen_interp])), 3)
    terms = {'real': l1_scaled(x, d_real), 'gen_x': l1_scaled(x, d_gen_x),
             'gen_x_self': l1_scaled(gen_x, d_gen_x), 'interp': l1_scaled(gen_interp, d_interp),
             'dist': distance_loss(x, codes)}
    return terms, (codes, l1_scaled(x, gen_x))

  def balance(self, terms) -> dict[str, jax.Array]:
    """p_fake, p_gen and s (D's share of the learning rate) from the current losses; s is
    constant, p_fake and p_gen are constant or not by config.gaia.balance_gradient."""
    sig = lambda t: jax.nn.sigmoid(self.config.gaia.slope * t)
    weights = {'p_fake': clip(sig(0.5 * terms['interp'] - terms['real']), 0.0, MAX_P_FAKE),
               'p_gen': sig(terms['interp'] - terms['gen_x'])}
    if self.config.gaia.balance_gradient == 'stop':
      weights = jax.lax.stop_gradient(weights)
    # The code's p_gen is also clipped to [0, 1] (network.py:111-113), a no-op on a sigmoid.
    return {**weights, 'lr_disc': jax.lax.stop_gradient(sig(terms['real'] - self.fake_loss(terms)))}

  def fake_loss(self, terms) -> jax.Array:
    """(L_interp + D's term on G(x)) / 2."""
    target = 'gen_x' if self.config.gaia.disc_fake_target == 'input' else 'gen_x_self'
    return (terms['interp'] + terms[target]) / 2

  def _clip(self, loss):
    return clip(loss, -1.0, 1.0) if self.config.gaia.clip_losses else loss

  def balanced(self, loss):
    """terms -> loss(terms, balance(terms)): differentiated in the terms, its gradient is the
    weights plus what flows through them ('through')."""
    return lambda terms: loss(terms, self.balance(terms))

  def disc_loss(self, terms, weights) -> jax.Array:
    return self._clip(terms['real'] - weights['p_fake'] * self.fake_loss(terms))

  def gen_loss(self, terms, weights) -> jax.Array:
    p = weights['p_gen']
    return self._clip(mixers.convex_mix(p, terms['interp'], terms['gen_x'])
                      + self.dist_weight * terms['dist'])

  def gradients(self, state, batch, key):
    """Both players' gradients from one forward pass: L_G pulled back to G's parameters only,
    L_D to D's only, each a function of the loss terms (and their balance weights)."""
    x = batch['image']
    alphas = self.sample_alphas(key, x.shape[0] // 2)
    terms, (codes, recon), gen_grads, disc_grads = two_player.shared_forward_gradients(
        lambda g, d: self.loss_terms(g, d, x, alphas),
        self.group_params(state.params, 'generator'), self.group_params(state.params, 'disc'),
        self.balanced(self.gen_loss), self.balanced(self.disc_loss))
    weights = self.balance(terms)
    s = weights['lr_disc']
    metrics = {
        'gen/loss': self.gen_loss(terms, weights), 'gen/interp': terms['interp'],
        'gen/recon_via_disc': terms['gen_x'], 'gen/recon': recon, 'gen/dist': terms['dist'],
        'gen/p_interp': weights['p_gen'], 'gen/lr_scale': 1 - s,
        'disc/loss': self.disc_loss(terms, weights), 'disc/real': terms['real'],
        'disc/fake': self.fake_loss(terms), 'disc/recon_gen': terms['gen_x_self'],
        'disc/p_fake': weights['p_fake'], 'disc/lr_scale': s}
    return {'generator': gen_grads, 'disc': disc_grads}, two_player.Played(
        codes=codes, metrics=metrics, lr_scales={'generator': 1 - s, 'disc': s})
