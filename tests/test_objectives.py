"""Losses on hand-computed cases and where gradients go (and where they must not)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import base
from mixres import mixers
from mixres import objectives
from mixres.objectives import losses

IMAGE_SHAPE = (32, 32, 1)


def step_fn(obj):
  """The objective's train step, jitted as the loop does (eager conv gradients are slow)."""
  return jax.jit(obj.train_step, static_argnames=('update_generator',))


def small_config(objective='amr', **overrides):
  config = base.get_config()
  config.objective = objective
  config.model.depth = 4
  config.model.latent_width = 8  # 2 scales, not 3: the same math, compiled in half the time.
  config.update(overrides)
  return config


def batch(n=4, seed=0):
  rng = np.random.default_rng(seed)
  return {'image': jnp.asarray(rng.uniform(-1, 1, (n, *IMAGE_SHAPE)), jnp.float32),
          'label': jnp.asarray(rng.integers(0, 10, n), jnp.int32)}


def changed(before, after) -> dict:
  """Network name -> whether any of its parameters moved."""
  return {name: any(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                                 before[name], after[name])))
          for name in before}


def test_gan_loss_hand_computed():
  # BCE(sigmoid(0), 1) = log 2; BCE(sigmoid(2), 0) = log(1 + e^2); BCE(sigmoid(-1), 1) = log(1+e).
  np.testing.assert_allclose(losses.gan_loss(jnp.zeros(3), 1.0), math.log(2), rtol=1e-6)
  np.testing.assert_allclose(losses.gan_loss(jnp.array([2.0]), 0.0), math.log1p(math.e**2),
                             rtol=1e-6)
  np.testing.assert_allclose(losses.gan_loss(jnp.array([-1.0, 2.0]), 1.0),
                             (math.log1p(math.e) + math.log1p(math.e**-2)) / 2, rtol=1e-6)


def test_reconstruction_hand_computed():
  x, y = jnp.array([0.0, 1.0, -1.0, 0.5]), jnp.array([1.0, 1.0, 1.0, 0.0])
  np.testing.assert_allclose(losses.reconstruction(x, y, 'l1'), (1 + 0 + 2 + 0.5) / 4)
  np.testing.assert_allclose(losses.reconstruction(x, y, 'l2'), (1 + 0 + 4 + 0.25) / 4)
  with pytest.raises(ValueError, match=r"^config.recon='l3' is not a reconstruction loss; "
                                       r'choose one of: l1, l2, bce_sum$'):
    losses.reconstruction(x, y, 'l3')


def test_bce_sum_hand_computed_and_safe_at_saturation():
  """The AMR authors' bce_sum: BCE((y+1)/2 vs (x+1)/2), summed, / batch; logs floored at -100."""
  x = jnp.array([[-1.0, 1.0], [1.0, 1.0]])  # Targets 0, 1 | 1, 1.
  y = jnp.array([[0.0, 0.6], [-1.0, 1.0]])  # p = 0.5, 0.8 | 0 (a saturated tanh), 1.
  # Example 0: -log 0.5 - log 0.8. Example 1: the pixel that should be on but is p = 0 costs 100
  # (torch's BCELoss floor, not inf); the one at p = 1 costs 0. Sum over pixels, / 2 examples.
  expected = (math.log(2.0) + math.log(1.25) + 100.0 + 0.0) / 2
  np.testing.assert_allclose(losses.reconstruction(x, y, 'bce_sum'), expected, rtol=1e-6)
  # The reconstruction is the prediction (their recon_loss(dec, x)): swapped, it is another loss.
  assert abs(float(losses.reconstruction(y, x, 'bce_sum')) - expected) > 1.0
  grad = jax.grad(lambda y: losses.reconstruction(x, y, 'bce_sum'))(y)
  assert np.isfinite(np.asarray(grad)).all()
  # d/dy of -log((y + 1) / 2) / 2 at y = 0 is -1/2; the floored pixel gets no gradient.
  np.testing.assert_allclose(grad[0, 1], -1.0 / (0.6 + 1.0) / 2, rtol=1e-6)
  assert float(grad[1, 0]) == 0.0


@pytest.mark.parametrize('objective', ['ae_gan', 'amr'])
def test_generator_loss_is_eq_3(objective):
  """gen/loss = lam * recon + sum over fakes of BCE(D(fake), 1), recomputed by hand here."""
  config = small_config(objective, lam=3.0)
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state, data = obj.init(jax.random.PRNGKey(0)), batch()
  _, metrics = step_fn(obj)(state, data, update_generator=True)

  @jax.jit  # One compile: eager convolutions on XLA:CPU are slower than compiling them.
  def by_hand(state, data):
    key = jax.random.fold_in(state.rng, state.step)
    codes = obj.encode(state.params, data['image'])
    fakes = [obj.decode(state.params, codes)]
    if objective == 'amr':
      fakes.append(obj.decode(state.params, obj.mix(key, codes, k=2)))
    recon = jnp.mean(jnp.abs(data['image'] - fakes[0]))
    return recon, sum(losses.gan_loss(obj.disc_logits(state, f), 1.0) for f in fakes)

  recon, adversarial = by_hand(state, data)
  np.testing.assert_allclose(metrics['gen/recon'], recon, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/adversarial'], adversarial, rtol=1e-4)
  np.testing.assert_allclose(metrics['gen/loss'], 3.0 * recon + adversarial, rtol=1e-4)


def test_consistency_term():
  config = small_config('amr', beta=2.0)
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state = obj.init(jax.random.PRNGKey(0))
  _, metrics = step_fn(obj)(state, batch(), update_generator=True)
  assert metrics['gen/consistency'] > 0
  expected = config.lam * metrics['gen/recon'] + metrics['gen/adversarial'] + (
      2.0 * metrics['gen/consistency'])
  np.testing.assert_allclose(metrics['gen/loss'], expected, rtol=1e-5)


@pytest.mark.parametrize('draw', ['uniform', 'dirichlet'])
def test_k_way_bernoulli_mixes_follow_config_bernoulli_draw(draw):
  """docs/faithfulness.md#a3: the AMR objective's Bern-3 mixes use the configured k-way draw."""
  config = small_config('amr', mixer='bernoulli', k=3, bernoulli_draw=draw)
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  codes = jax.random.normal(jax.random.PRNGKey(1), (16, 8, 8, 10))
  key = jax.random.PRNGKey(2)
  (mixed,) = obj.extra_codes(codes, key)
  np.testing.assert_array_equal(mixed, mixers.bernoulli(key, codes, k=3, draw=draw))
  other = 'dirichlet' if draw == 'uniform' else 'uniform'
  assert not np.array_equal(mixed, mixers.bernoulli(key, codes, k=3, draw=other))


@pytest.mark.parametrize('objective', ['ae_gan', 'amr'])
def test_discriminator_step_never_changes_the_generator(objective):
  obj = objectives.get_objective(small_config(objective), IMAGE_SHAPE)
  state = obj.init(jax.random.PRNGKey(0))
  new, metrics = step_fn(obj)(state, batch(), update_generator=False)
  moved = changed(state.params, new.params)
  assert moved == {'encoder': False, 'decoder': False, 'disc': True, 'probe': True}
  assert not any(k.startswith('gen/') for k in metrics)
  # Spectral state moves with every D update.
  assert any(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                          state.collections, new.collections)))


@pytest.mark.parametrize('objective', ['ae_gan', 'amr'])
def test_generator_outputs_are_constants_for_the_discriminator(objective):
  """D's update is the same whether or not G stepped: D never differentiates through G."""
  obj = objectives.get_objective(small_config(objective), IMAGE_SHAPE)
  state = obj.init(jax.random.PRNGKey(0))
  data = batch()
  with_g, _ = step_fn(obj)(state, data, update_generator=True)
  without_g, _ = step_fn(obj)(state, data, update_generator=False)
  assert changed(state.params, with_g.params)['encoder']
  disc_params = (with_g.params['disc'], without_g.params['disc'])
  for a, b in zip(*map(jax.tree.leaves, disc_params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  # And the generator's update equals the gradient of its own loss alone (D held fixed).
  # One jitted function each: op-by-op eager convolutions on XLA:CPU cost far more than a compile.
  @jax.jit
  def expected_step(state):
    grads = jax.grad(lambda p: _gen_loss_fn(obj, state, data)(p)[0])(
        obj.group_params(state.params, 'generator'))
    return obj.apply_gradients(state, 'generator', grads)[0]
  expected = expected_step(state)
  # Compared through the function: conv biases before InstanceNorm have float-noise gradients
  # that Adam turns into +-lr steps, so those inert parameters are not comparable leaf by leaf.
  reconstruct_fn = jax.jit(lambda p: obj.decode(p, obj.encode(p, data['image'])))
  reconstruct = lambda p: np.asarray(reconstruct_fn(p))
  step_size = np.abs(reconstruct(with_g.params) - reconstruct(state.params)).max()
  mismatch = np.abs(reconstruct(with_g.params) - reconstruct(expected.params)).max()
  assert mismatch < 0.01 * step_size, (mismatch, step_size)


def _gen_loss_fn(obj, state, data):
  key = jax.random.fold_in(state.rng, state.step)

  def loss(params):
    fakes = obj.generate(params, data, key).fakes
    adversarial = sum(losses.gan_loss(obj.disc_logits(state, f), 1.0) for f in fakes)
    return obj.config.lam * losses.reconstruction(data['image'], fakes[0], 'l1') + adversarial, 0
  return loss


@pytest.mark.parametrize('objective', ['ae', 'ae_gan', 'amr'])
def test_probe_never_changes_the_encoder(objective):
  """The encoder's update is identical with and without the probe trained on its codes."""
  data = batch()
  with_probe = objectives.get_objective(small_config(objective), IMAGE_SHAPE)
  config = small_config(objective)
  config.data.num_classes = 0
  without_probe = objectives.get_objective(config, IMAGE_SHAPE)
  state = with_probe.init(jax.random.PRNGKey(0))
  flags = with_probe.schedule(0)
  a, metrics = step_fn(with_probe)(state, data, **flags)
  state_without = state.replace(
      params={k: v for k, v in state.params.items() if k != 'probe'},
      opt_state={k: v for k, v in state.opt_state.items() if k != 'probe'})
  b, _ = step_fn(without_probe)(state_without, data, **flags)
  assert 'probe/train_accuracy' in metrics and changed(state.params, a.params)['probe']
  for x, y in zip(jax.tree.leaves(a.params['encoder']), jax.tree.leaves(b.params['encoder'])):
    np.testing.assert_array_equal(x, y)


def test_update_schedule_is_d_every_step_g_every_fifth():
  obj = objectives.get_objective(small_config('amr'), IMAGE_SHAPE)
  assert [obj.schedule(s)['update_generator'] for s in range(10)] == [
      True, False, False, False, False, True, False, False, False, False]
  assert objectives.get_objective(small_config('ae'), IMAGE_SHAPE).schedule(3) == {}


def test_optimizer_is_adam_with_coupled_l2():
  """One step from zero moments: update = -lr * sign-ish Adam step of (grad + wd * param)."""
  obj = objectives.get_objective(small_config('ae'), IMAGE_SHAPE)
  opt = obj.optimizers['generator']
  params = {'w': jnp.array([1.0, -2.0])}
  grads = {'w': jnp.array([0.0, 0.0])}
  updates, _ = opt.update(grads, opt.init(params), params)
  # Adam's first step normalises the decayed gradient 1e-5 * w: each update is -lr * sign(w).
  np.testing.assert_allclose(updates['w'], -1e-4 * np.sign([1.0, -2.0]), rtol=1e-3)


@pytest.mark.parametrize('field,value,message', [
    ('objective', 'vae2', r"config.objective='vae2' is not an objective; choose one of: acai, "
     r'ae, ae_gan, amr, amr_supervised, augint, augint_adv, dim, gaia, vae$'),
    ('mixer', 'cutmix', r"config.mixer='cutmix' is not a mixer; choose one of: bernoulli, mixup"),
    ('k', 1, r'config.k=1 must be an integer >= 2'),
    ('bernoulli_draw', 'gamma', r"config.bernoulli_draw='gamma' is not a k-way Bernoulli draw; "
     r'choose one of: uniform, dirichlet$'),
    ('lam', -1.0, r'config.lam=-1.0 must be >= 0'),
    ('beta', -0.5, r'config.beta=-0.5 must be >= 0'),
    ('recon', 'huber', r"config.recon='huber' is not a reconstruction loss; choose one of: l1, l2, "
     r'bce_sum$'),
])
def test_bad_values_name_the_field(field, value, message):
  config = small_config('amr')
  config[field] = value
  with pytest.raises(ValueError, match=message):
    objectives.get_objective(config, IMAGE_SHAPE)


def _power_iterations(obj, name, params, collection, n):
  """`collection` after n power iterations of network `name` (the input plays no part)."""
  dummy = jnp.zeros(obj.example_inputs()[name].shape)
  for _ in range(n):
    _, collection = obj.networks[name].apply({'params': params, **collection}, dummy,
                                             update_stats=True, mutable=['spectral'])
  return collection


@pytest.mark.parametrize('objective,mode,update_generator,iterations', [
    ('amr', 'per_step', True, 1), ('amr', 'per_step', False, 1),
    # AMR code: D(recon), D(mix) in G's half every step, then D(x), D(recon), D(mix).
    ('amr', 'per_forward', True, 5), ('amr', 'per_forward', False, 5),
    # AE+GAN runs the mix's forward too (swapgan.py computes it before checking disable_mix).
    ('ae_gan', 'per_forward', True, 4), ('ae_gan', 'per_forward', False, 4),
    ('acai', 'per_forward', True, 4),  # acai_f3.py: D(mix), then D(x), D(recon), D(mix).
])
def test_power_iterations_per_step(objective, mode, update_generator, iterations):
  """docs/faithfulness.md#a9: 'per_forward' advances D's power iteration once per reference D
  forward."""
  config = small_config(objective, lam=2.0)
  config.model.spectral_updates = mode
  name = 'disc'
  if objective == 'acai':
    config.acai.variant, config.acai.critic = 'amr', 'spectral'
    name = 'critic'
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state = obj.init(jax.random.PRNGKey(0))
  expected = _power_iterations(obj, name, state.params[name], state.collections[name],
                               iterations)
  new_state, _ = step_fn(obj)(state, batch(), update_generator=update_generator)
  for got, want in zip(jax.tree.leaves(new_state.collections[name]), jax.tree.leaves(expected)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_per_forward_generator_sees_one_iteration_per_fake():
  """G's adversarial term: D(recon) after 1 power iteration, D(mix) after 2 (swapgan.py order)."""
  config = small_config('amr', lam=2.0)
  config.model.spectral_updates = 'per_forward'
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state, data = obj.init(jax.random.PRNGKey(0)), batch()
  _, metrics = step_fn(obj)(state, data, update_generator=True)

  @jax.jit
  def by_hand(state, data):
    key = jax.random.fold_in(state.rng, state.step)
    codes = obj.encode(state.params, data['image'])
    fakes = [obj.decode(state.params, codes),
             obj.decode(state.params, obj.mix(key, codes, k=2))]
    collection, total = state.collections['disc'], 0.0
    for fake in fakes:
      logits, collection = obj.networks['disc'].apply(
          {'params': state.params['disc'], **collection}, fake, update_stats=True,
          mutable=['spectral'])
      total += losses.gan_loss(logits, 1.0)
    return total

  np.testing.assert_allclose(metrics['gen/adversarial'], by_hand(state, data), rtol=1e-5)
