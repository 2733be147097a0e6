"""AugIntAE and adversarial AugIntAE: losses by hand, where gradients go, the InfoGAN-style nets,
the Gaussian-sampling and few-shot evaluators, and a short run on digits with two views."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import augint_mnist
from configs import base
from mixres import objectives
from mixres import train
from mixres.data import sources
from mixres.evaluation import few_shot
from mixres.evaluation import sampling
from mixres.models import infogan
from mixres.objectives import augint

SIZE = 16
IMAGE_SHAPE = (SIZE, SIZE, 1)
BATCH = 4


def small_config(objective='augint', **overrides):
  config = base.get_config()
  config.objective = objective
  config.model.arch = 'infogan'
  config.model.depth = 4
  config.model.code_size = 6
  config.data.image_size = SIZE
  config.data.augment.num_views = 2
  config.recon = 'l2'
  config.optim.weight_decay = 0.0  # Then only a nonzero gradient moves a parameter.
  config.update(overrides)
  return config


def batch(seed=0):
  rng = np.random.default_rng(seed)
  return {'image': jnp.asarray(rng.uniform(-1, 1, (BATCH, *IMAGE_SHAPE)), jnp.float32),
          'views': jnp.asarray(rng.uniform(-1, 1, (BATCH, 2, *IMAGE_SHAPE)), jnp.float32),
          'label': jnp.asarray(rng.integers(0, 10, BATCH), jnp.int32)}


def changed(before, after) -> dict:
  """Network name -> whether any of its parameters moved (in NumPy: no op compiles)."""
  return {name: any(bool(np.any(np.asarray(a) != np.asarray(b)))
                    for a, b in zip(jax.tree.leaves(before[name]), jax.tree.leaves(after[name])))
          for name in before}


def drawn(state, views):
  """alpha ~ U(0, 1) from the step's key, the target and the decoded interpolation, by hand."""
  alpha = jax.random.uniform(jax.random.fold_in(state.rng, state.step), (BATCH,))
  a = np.asarray(alpha)[:, None, None, None]
  target = a * np.asarray(views[:, 0]) + (1 - a) * np.asarray(views[:, 1])
  return alpha, target


@functools.partial(jax.jit, static_argnums=0)  # Eager convolutions compile op by op.
def decoded_by_hand(obj, params, views, alpha):
  h1, h2 = obj.encode(params, views[:, 0]), obj.encode(params, views[:, 1])  # (B, code)
  return obj.decode(params, alpha[:, None] * h1 + (1 - alpha[:, None]) * h2)


def init(obj, seed):
  """The initial state. XLA:CPU compiles the default partitionable threefry for a conv kernel
  in ~1 s and the flat one in a quarter of that (tests/test_betavae.py); only values change."""
  with jax.threefry_partitionable(False):
    return jax.jit(obj.init)(jax.random.key(seed))


@pytest.fixture(scope='module')
def plain():
  obj = objectives.get_objective(small_config('augint'), IMAGE_SHAPE)
  state = init(obj, 0)
  new, metrics = jax.jit(obj.train_step)(state, batch())
  return obj, state, new, metrics


@pytest.fixture(scope='module')
def adversarial():
  """norm 'none': no parameter is inert, so updates compare leaf by leaf."""
  config = small_config('augint_adv')
  config.model.norm = 'none'
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state = init(obj, 1)
  step = jax.jit(obj.train_step, static_argnames=('update_recon',))
  return obj, state, {flag: step(state, batch(), update_recon=flag) for flag in (True, False)}


def test_infogan_shapes_and_parameter_counts():
  """The report's 28x28 nets at depth 64, code 10, counted by hand (Tables 2 and 3)."""
  conv = lambda k, c_in, c_out: k * k * c_in * c_out + c_out
  dense = lambda d_in, d_out: d_in * d_out + d_out
  x = jax.ShapeDtypeStruct((3, 28, 28, 1), jnp.float32)
  init = lambda module, inputs: jax.eval_shape(module.init_with_output, jax.random.key(0), inputs)
  count = lambda tree: sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))
  h, enc = init(infogan.Encoder(), x)
  y, dec = init(infogan.Decoder(), h)
  logits, disc = init(infogan.Discriminator(), x)
  assert (h.shape, y.shape, logits.shape) == ((3, 10), (3, 28, 28, 1), (3,))
  trunk = conv(4, 1, 64) + conv(4, 64, 128)  # 28 -> 14 -> 7.
  encoder = trunk + 2 * 128 + dense(128 * 49, 64 * 49) + dense(64 * 49, 10)  # + InstanceNorm.
  decoder = (dense(10, 64 * 49) + 2 * 64 * 49 + dense(64 * 49, 128 * 49) + 2 * 128 * 49
             + conv(4, 128, 64) + 2 * 64 + conv(4, 64, 1))  # LayerNorms, InstanceNorm.
  assert count(enc['params']) == encoder == 19_836_042
  assert count(dec['params']) == decoder == 19_860_865
  assert count(disc['params']) == trunk + dense(128 * 49, 64 * 49) + dense(64 * 49, 1)
  assert 'spectral' in disc
  assert init(infogan.Decoder(image_size=32), init(infogan.Encoder(image_size=32),
              jax.ShapeDtypeStruct((1, 32, 32, 1), jnp.float32))[0])[0].shape == (1, 32, 32, 1)


def test_target_is_the_pixel_space_interpolation_of_the_two_views():
  obj = objectives.get_objective(small_config(), IMAGE_SHAPE)
  data = batch()
  views, target, alpha = obj.targets_and_alpha(data, jax.random.key(3))
  a = np.asarray(alpha)
  assert a.shape == (BATCH,) and np.all((0 <= a) & (a < 1)) and len(set(a.tolist())) == BATCH
  v = np.asarray(data['views'])
  for i in range(BATCH):
    np.testing.assert_allclose(target[i], a[i] * v[i, 0] + (1 - a[i]) * v[i, 1], atol=1e-6)
  ends = augint.interpolate(jnp.array([1.0, 0.0]), v[:2, 0], v[:2, 1])
  np.testing.assert_array_equal(ends, np.stack([v[0, 0], v[1, 1]]))


def test_augint_loss_hand_computed_and_probe_on_the_plain_image(plain):
  obj, state, _, metrics = plain
  data = batch()
  alpha, target = drawn(state, data['views'])
  decoded = np.asarray(decoded_by_hand(obj, state.params, data['views'], alpha))
  np.testing.assert_allclose(metrics['gen/recon'], np.mean((target - decoded) ** 2), rtol=1e-5)
  # The probe's codes are f(x) of the un-augmented image.
  logits = np.asarray(obj.probe_logits(state.params, obj.encode(state.params, data['image'])))
  log_p = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
  expected = -np.mean(log_p[np.arange(BATCH), np.asarray(data['label'])])
  np.testing.assert_allclose(metrics['probe/train_loss'], expected, rtol=1e-5)


def test_augint_gradients_reach_encoder_and_decoder_only(plain):
  obj, state, new, _ = plain
  # No weight decay: a network moves only if its gradient is nonzero.
  assert changed(state.params, new.params) == {'encoder': True, 'decoder': True, 'probe': True}
  assert obj.groups == {'generator': ('encoder', 'decoder')}


def test_adversarial_losses_hand_computed(adversarial):
  obj, state, runs = adversarial
  data = batch()
  alpha, target = drawn(state, data['views'])
  decoded = decoded_by_hand(obj, state.params, data['views'], alpha)
  softplus = lambda t: np.log1p(np.exp(t))
  fake = np.asarray(obj.disc_logits(state, decoded))
  real = np.asarray(obj.disc_logits(state, jnp.asarray(target)))
  recon = np.mean((target - np.asarray(decoded)) ** 2)
  adv = np.mean(softplus(-fake))  # BCE(D(x'), 1).
  for flag, (_, metrics) in runs.items():
    np.testing.assert_allclose(metrics['gen/recon'], recon, rtol=1e-5)
    np.testing.assert_allclose(metrics['gen/adversarial'], adv, rtol=1e-5)
    np.testing.assert_allclose(metrics['gen/loss'], adv + recon if flag else adv, rtol=1e-5)
    np.testing.assert_allclose(metrics['disc/loss'],
                               np.mean(softplus(-real)) + np.mean(softplus(fake)), rtol=1e-5)


def test_adversarial_updates_each_network_with_its_own_loss_only(adversarial):
  obj, state, runs = adversarial
  data = batch()
  alpha, target = drawn(state, data['views'])
  gen = obj.group_params(state.params, 'generator')
  disc_variables = lambda p: {'params': p, **state.collections['disc']}
  decoded = decoded_by_hand(obj, gen, data['views'], alpha)

  def disc_loss(p):  # BCE(D(y), 1) + BCE(D(x'), 0) with x' a constant.
    logits, _ = obj.networks['disc'].apply(disc_variables(p), jnp.concatenate(
        [jnp.asarray(target), decoded]), update_stats=True, mutable=['spectral'])
    return jnp.mean(jax.nn.softplus(-logits[:BATCH])) + jnp.mean(jax.nn.softplus(logits[BATCH:]))

  def gen_loss(p, recon_weight):  # 1 on reconstruction steps, else 0.
    out = decoded_by_hand(obj, p, data['views'], alpha)
    adv = jnp.mean(jax.nn.softplus(-obj.disc_logits(state, out)))
    return adv + recon_weight * jnp.mean((target - out) ** 2)

  apply = jax.jit(obj.apply_gradients, static_argnums=1)  # Eager Adam compiles op by op.
  expected_disc, _ = apply(state, 'disc', {'disc': jax.jit(jax.grad(disc_loss))(
      state.params['disc'])})
  gen_grads = jax.jit(jax.grad(gen_loss))
  for flag, (new, _) in runs.items():
    assert all(changed(state.params, new.params).values())
    assert changed(state.collections, new.collections)['disc']  # One power iteration.
    expected_gen, _ = apply(state, 'generator', gen_grads(gen, float(flag)))
    for name, expected in (('disc', expected_disc), ('encoder', expected_gen),
                           ('decoder', expected_gen)):
      for a, b in zip(jax.tree.leaves(new.params[name]), jax.tree.leaves(expected.params[name])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=f'{name} {flag}')


def test_generator_outputs_are_constants_in_the_discriminator_loss(adversarial):
  obj, state, _ = adversarial
  data = batch()
  alpha, target = drawn(state, data['views'])
  gen = obj.group_params(state.params, 'generator')
  through = lambda p, loss: loss(obj.decode_interpolation(p, data['views'], alpha,
                                                          state.collections)[0])
  ours = lambda out: obj.disc_loss(state.params['disc'], state, target, out)[0]
  unstopped = lambda out: jnp.mean(jax.nn.softplus(obj.disc_logits(state, out)))
  norm = lambda tree: float(jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(tree))))
  grads = jax.jit(jax.grad(through), static_argnums=1)
  assert norm(grads(gen, ours)) == 0.0
  assert norm(grads(gen, unstopped)) > 0  # The same path without stop_gradient.


def test_schedule_and_bad_values_name_the_field():
  obj = objectives.get_objective(small_config('augint_adv'), IMAGE_SHAPE)
  assert [obj.schedule(s)['update_recon'] for s in range(7)] == [
      True, False, False, False, False, True, False]
  config = small_config('augint_adv')
  config.augint.recon_every = 2
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  assert [obj.schedule(s)['update_recon'] for s in range(4)] == [True, False, True, False]
  assert objectives.get_objective(small_config('augint'), IMAGE_SHAPE).schedule(0) == {}
  for objective in ('augint', 'augint_adv'):
    for views in (0, 3):
      config = small_config(objective)
      config.data.augment.num_views = views
      with pytest.raises(ValueError, match=rf'config.data.augment.num_views={views} must be 2'):
        objectives.get_objective(config, IMAGE_SHAPE)
  cases = [('augint.recon_every', 0, r'config.augint.recon_every=0 must be an integer >= 1'),
           ('model.norm', 'group', r"config.model.norm='group' is not a norm.*instance, none, batch"),
           ('augint.disc', 'mlp', r"^config.augint.disc='mlp' must be one of: sn, encoder$"),
           ('data.image_size', 30, r'config.data.image_size=30 .* multiple of 4')]
  for field, value, message in cases:
    config = small_config('augint_adv')
    section, name = field.split('.')
    config[section][name] = value
    shape = (30, 30, 1) if name == 'image_size' else IMAGE_SHAPE
    with pytest.raises(ValueError, match=message):
      objectives.get_objective(config, shape)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
  """One feature-classifier cache for the module: later tests load what earlier ones trained."""
  return str(tmp_path_factory.mktemp('frechet_cache'))


def evaluator_config(cache_dir, objective='augint'):
  config = small_config(objective)
  config.data.name = 'digits'
  config.data.valid_fraction = 0.2
  config.eval.batch_size = 64
  config.eval.max_examples = 96
  config.eval.num_samples = 40
  config.eval.frechet_steps = 10
  config.eval.frechet_cache_dir = cache_dir
  return config


def test_gaussian_fit_and_samples(plain, cache_dir):
  obj, _, new, _ = plain
  config = evaluator_config(cache_dir)
  _, valid = sources.build(config)
  evaluator = sampling.GaussianSamples(obj, config, None, valid)
  codes = np.asarray(obj.encode(new.params, sampling.validation_images(valid, 96)), np.float64)
  mean, cov = evaluator.fit(new.params)
  np.testing.assert_allclose(mean, codes.mean(0), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(cov, np.cov(codes.T), rtol=1e-3, atol=1e-6)
  scalars, images = evaluator(new)
  assert np.isfinite(scalars['gaussian_samples/frechet']) and scalars[
      'gaussian_samples/frechet'] > 0
  assert images['gaussian_samples/grid'].shape == (6 * 34 + 2,) * 2 + (3,)  # 6 x 6 tiles of 32.
  # The sampler: a fixed seed repeats, and many draws recover a given mean and covariance.
  target_mean, root = np.array([1.0, -2.0, 0.5]), np.array([[1, 0, 0], [0.5, 2, 0], [0, 1, .1]])
  draws = sampling.sample_gaussian(target_mean, root @ root.T, 40_000, seed=1)
  np.testing.assert_array_equal(draws[:5], sampling.sample_gaussian(
      target_mean, root @ root.T, 40_000, seed=1)[:5])
  np.testing.assert_allclose(draws.mean(0), target_mean, atol=0.05)
  np.testing.assert_allclose(np.cov(draws.T), root @ root.T, atol=0.08)


def test_few_shot_generates_finite_scores_and_a_figure(plain, cache_dir):
  obj, _, new, _ = plain
  config = evaluator_config(cache_dir)
  evaluator = few_shot.FewShot(obj, config, None, None)
  again = few_shot.FewShot(obj, config, None, None)
  np.testing.assert_array_equal(evaluator.views, again.views)  # Seeded: every model alike.
  assert evaluator.views.shape == (40, 2, *IMAGE_SHAPE) and len(evaluator.seeds) == 5
  scalars, images = evaluator(new)
  assert all(np.isfinite(v) for v in scalars.values()) and scalars['few_shot/frechet'] > 0
  tiles = images['few_shot/lines'].shape
  assert tiles == (5 * 34 + 2, 8 * 34 + 2, 3)  # Seeds row + 4 rows of generations, 8 columns.
  generated = evaluator.generate(new.params)
  by_hand = decoded_by_hand(obj, new.params, evaluator.views[:8], jnp.asarray(
      evaluator.alpha[:8]))
  np.testing.assert_allclose(generated[:8], by_hand, atol=1e-5)
  config.eval.few_shot_dataset = 'moons'
  with pytest.raises(ValueError, match="config.eval.few_shot_dataset='moons' is not an image"):
    few_shot.FewShot(obj, config, None, None)


def test_short_run_on_digits_with_views(cache_dir, tmp_path):
  """The loop with views and all three evaluators ('augint': the fixtures step 'augint_adv')."""
  config = evaluator_config(cache_dir)
  config.eval.evaluators = ('probe', 'gaussian_samples', 'few_shot')
  config.batch_size = 8
  config.num_train_steps = 4
  config.log_every = 2
  config.eval_every = 4
  config.checkpoint_every = 4
  with jax.threefry_partitionable(False):  # As init() above.
    summary = train.train_and_evaluate(config, str(tmp_path / 'run'))
  for name in ('gen/loss', 'gen/recon', 'probe/train_loss',
               'gaussian_samples/frechet', 'few_shot/frechet', 'probe/val_accuracy'):
    assert math.isfinite(summary[name]), name
  figures = sorted(p.name for p in (tmp_path / 'run' / 'figures').iterdir())
  assert figures == ['few_shot_lines_00000004.png', 'gaussian_samples_grid_00000004.png']


def test_config_rows():
  for arg, objective, views in (('augint', 'augint', 2), ('adversarial', 'augint_adv', 2),
                                ('vanilla', 'ae', 0)):
    config = augint_mnist.get_config(arg)
    assert (config.objective, config.data.augment.num_views) == (objective, views)
    assert (config.model.arch, config.model.code_size, config.recon) == ('infogan', 10, 'l2')
    assert (config.optim.lr, config.batch_size, config.num_epochs) == (1e-3, 128, 50.0)
  assert augint_mnist.get_config('adversarial,fewshot').model.code_size == 32
  local = augint_mnist.get_config('augint,local')
  assert local.num_train_steps > 0 and local.data.name in ('mnist', 'digits')
  with pytest.raises(ValueError, match='augint, adversarial, vanilla'):
    augint_mnist.get_config('gan')
