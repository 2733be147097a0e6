"""Tests for mixres/objectives/two_player.py: the one update every objective's step goes through.

`Judged` is a method written as a new one would be: its two losses and nothing else.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import base as base_config
from mixres.objectives import ae_gan
from mixres.objectives import base
from mixres.objectives import two_player

POINT_SHAPE = (2,)


class Judged(ae_gan.WithDiscriminator, base.Objective):
  """G: an autoencoder whose outputs D scores by least squares; D: real 1, fake 0."""

  def generator_loss(self, params, state, batch, key):
    x = batch['image']
    codes = self.encode(params, x)
    fake = self.decode(params, codes)
    loss = jnp.mean((self.disc_logits(state, fake) - 1) ** 2) + jnp.mean((fake - x) ** 2)
    return loss, two_player.Played(codes=codes, disc_inputs=fake, metrics={'gen/loss': loss})

  def discriminator_loss(self, params, state, batch, played, key):
    (real, fake), spectral = self.spectral_forwards(
        'disc', state, [batch['image'], played.disc_inputs], params['disc'], update=True)
    loss = jnp.mean((real - 1) ** 2) + jnp.mean(fake ** 2)
    return loss, ({'disc': spectral}, {'disc/loss': loss})


@pytest.fixture(scope='module')
def judged():
  config = base_config.get_config()
  config.model.arch, config.model.code_size = 'mlp', 2
  config.model.mlp_layers, config.model.mlp_width = 2, 8
  config.data.num_classes = 0  # No probe: the players alone.
  obj = Judged(config, POINT_SHAPE)
  x = jax.random.normal(jax.random.key(1), (8, 2))
  return obj, obj.init(jax.random.key(0)), {'image': x}


def by_hand(obj, state, batch, key):
  """Both players from the pre-step state: G's gradient with D constant, D's on G's output."""
  x = batch['image']
  gen = obj.group_params(state.params, 'generator')

  def gen_loss(params):
    fake = obj.decode(params, obj.encode(params, x))
    return jnp.mean((obj.disc_logits(state, fake) - 1) ** 2) + jnp.mean((fake - x) ** 2)

  fake = obj.decode(gen, obj.encode(gen, x))

  def disc_loss(params):
    logits, spectral = obj.disc_logits(state, jnp.concatenate([x, fake]), params,
                                       update_stats=True)
    real, fake_logits = jnp.split(logits, 2)
    return jnp.mean((real - 1) ** 2) + jnp.mean(fake_logits ** 2), spectral

  (_, spectral), disc_grads = jax.value_and_grad(disc_loss, has_aux=True)(state.params['disc'])
  new, _ = obj.apply_gradients(state, 'generator', jax.grad(gen_loss)(gen))
  new, _ = obj.apply_gradients(new, 'disc', {'disc': disc_grads})
  return new.replace(collections={**state.collections, 'disc': spectral})


def test_update_is_both_players_from_the_state_before_the_step(judged):
  obj, state, batch = judged
  key = jax.random.key(2)
  new, metrics, codes = jax.jit(obj.update)(state, batch, key)
  expected = jax.jit(by_hand, static_argnums=0)(obj, state, batch, key)
  for got, want in zip(jax.tree.leaves((new.params, new.collections)),
                       jax.tree.leaves((expected.params, expected.collections))):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  assert set(metrics) == {'gen/loss', 'disc/loss', 'generator/grad_norm', 'generator/param_norm',
                          'disc/grad_norm', 'disc/param_norm'}
  np.testing.assert_array_equal(codes, obj.encode(state.params, batch['image']))


def test_a_step_without_the_generator_moves_only_the_discriminator(judged):
  """G's half still runs, so D judges and steps exactly as on a G step; G stays put."""
  obj, state, batch = judged
  step = jax.jit(obj.update, static_argnames='update_generator')
  key = jax.random.key(2)
  with_g, _, _ = step(state, batch, key)
  without_g, metrics, _ = step(state, batch, key, update_generator=False)
  for name in ('encoder', 'decoder'):
    for a, b in zip(jax.tree.leaves(state.params[name]), jax.tree.leaves(without_g.params[name])):
      np.testing.assert_array_equal(a, b)
  for a, b in zip(jax.tree.leaves((with_g.params['disc'], with_g.collections)),
                  jax.tree.leaves((without_g.params['disc'], without_g.collections))):
    np.testing.assert_array_equal(a, b)
  assert not any(name.startswith(('gen/', 'generator/')) for name in metrics)


def test_discriminator_loss_never_reaches_the_generator(judged):
  """Differentiated in G's parameters through the update, D's loss gives exactly 0: G's
  outputs reach it behind stop_gradient. The same losses chained by hand do reach G."""
  obj, state, batch = judged
  key = jax.random.key(2)

  def disc_loss(gen, through_update):
    if through_update:
      moved = state.replace(params={**state.params, **gen})
      return obj.gradients(moved, batch, key)[1].metrics['disc/loss']
    played = obj.generator_loss(gen, state, batch, key)[1]
    return obj.discriminator_loss(obj.group_params(state.params, 'disc'), state, batch, played,
                                  key)[0]

  gen = obj.group_params(state.params, 'generator')
  norm = lambda tree: float(jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(tree))))
  grad = jax.jit(jax.grad(disc_loss), static_argnums=1)
  assert norm(grad(gen, True)) == 0.0
  assert norm(grad(gen, False)) > 0


def test_shared_forward_gradients_are_each_players_own():
  """One forward, two pullbacks: each loss differentiated in its own player's parameters only,
  as two separate gradients with the other player held constant."""
  g, d = jnp.array([0.3, -1.2]), jnp.array([0.7, 2.0])

  def forward(g, d):
    return {'a': jnp.sum(jnp.sin(g) * d), 'b': jnp.sum(g * jnp.exp(d))}, g * 2

  gen_loss = lambda out: out['a'] ** 2 + out['b']
  disc_loss = lambda out: out['a'] - 3 * out['b']
  outputs, aux, gen_grads, disc_grads = two_player.shared_forward_gradients(
      forward, g, d, gen_loss, disc_loss)
  np.testing.assert_allclose(gen_grads, jax.grad(lambda g: gen_loss(forward(g, d)[0]))(g),
                             rtol=1e-6)
  np.testing.assert_allclose(disc_grads, jax.grad(lambda d: disc_loss(forward(g, d)[0]))(d),
                             rtol=1e-6)
  np.testing.assert_array_equal(aux, g * 2)
  assert set(outputs) == {'a', 'b'}
