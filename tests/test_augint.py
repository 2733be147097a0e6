"""AugIntAE and adversarial AugIntAE: losses by hand, where gradients go, the InfoGAN-style nets,
the Gaussian-sampling and few-shot evaluators, and a short run on digits with two views."""

import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import augint_mnist
from configs import base
from mixres import checkpoint
from mixres import mixers
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
  for arg, objective, views, norm in (('augint', 'augint', 2, 'batch'),
                                      ('adversarial', 'augint_adv', 2, 'batch'),
                                      ('vanilla', 'ae', 0, 'batch')):
    config = augint_mnist.get_config(arg)
    assert (config.objective, config.data.augment.num_views) == (objective, views)
    assert (config.model.norm, config.augint.disc) == (norm, 'encoder')  # Report 4.1, 4.2.2.
    assert (config.model.arch, config.model.code_size, config.recon) == ('infogan', 10, 'l2')
    assert (config.optim.lr, config.batch_size, config.num_epochs) == (1e-3, 128, 50.0)
  assert augint_mnist.get_config('adversarial,fewshot').model.code_size == 32
  local = augint_mnist.get_config('augint,local')
  assert local.num_train_steps > 0 and local.data.name in ('mnist', 'digits')
  with pytest.raises(ValueError, match='augint, adversarial, vanilla'):
    augint_mnist.get_config('gan')


# The report's BatchNorm and encoder-D (configs/augint_mnist.py's rows) -------------------------


def train_apply(module, params, stats, x):
  """module(x) in training: (output, its batch_stats with the running averages moved)."""
  out, updated = module.apply({'params': params, 'batch_stats': stats}, x, train=True,
                              mutable=['batch_stats'])
  return out, updated['batch_stats']


@pytest.fixture(scope='module')
def batchnorm():
  """'augint_adv' with BatchNorm and D = the encoder: three steps through one compiled step.

  Plain SGD (lr 1) so that a step is the gradient: with batch 4 some parameters before a
  BatchNorm have gradients that are zero up to rounding, which Adam's first step would scale up
  to +-lr with either sign."""
  config = small_config('augint_adv')
  config.model.norm, config.augint.disc = 'batch', 'encoder'
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  obj.optimizers = {group: optax.sgd(1.0) for group in obj.optimizers}
  state = init(obj, 2)
  chex.clear_trace_counter()
  step = jax.jit(chex.assert_max_traces(obj.train_step, n=1), static_argnames=('update_recon',))
  states = [state]
  for seed in range(3):
    states.append(step(states[-1], batch(seed), update_recon=True)[0])
  return obj, states


def test_encoder_discriminator_is_the_encoder_with_one_output(batchnorm):
  """Report 4.2.2: D "identical to the encoder except for the last layer"; BatchNorm, no SN."""
  obj, (state, *_) = batchnorm
  shapes = lambda tree: jax.tree.map(lambda a: a.shape, tree)
  encoder, disc = shapes(state.params['encoder']), shapes(state.params['disc'])
  assert disc == {**encoder, 'Dense_1': {'kernel': (4 * 4 * 4, 1), 'bias': (1,)}}
  assert encoder['Dense_1']['kernel'] == (64, 6)  # depth * s * s -> code_size.
  assert set(state.collections) == {'encoder', 'decoder', 'disc'}
  assert set(state.collections['disc']) == {'batch_stats'}  # No 'spectral'.


def test_batchnorm_averages_move_in_each_players_own_forwards_only(batchnorm):
  """f on x1 then x2 and g on the mix move f's and g's averages; D on y then x' moves D's; D's
  forward in G's loss moves nothing; everything else follows the parameters before the step."""
  obj, (state, new, *_) = batchnorm
  data = batch(0)
  alpha, target = drawn(state, data['views'])
  p, c, net = state.params, state.collections, obj.networks
  h1, enc = train_apply(net['encoder'], p['encoder'], c['encoder']['batch_stats'],
                        data['views'][:, 0])
  h2, enc = train_apply(net['encoder'], p['encoder'], enc, data['views'][:, 1])
  decoded, dec = train_apply(net['decoder'], p['decoder'], c['decoder']['batch_stats'],
                             mixers.convex_mix(alpha, h1, h2))
  _, disc = train_apply(net['disc'], p['disc'], c['disc']['batch_stats'], jnp.asarray(target))
  _, disc = train_apply(net['disc'], p['disc'], disc, decoded)
  for name, expected in (('encoder', enc), ('decoder', dec), ('disc', disc)):
    for a, b in zip(jax.tree.leaves(new.collections[name]), jax.tree.leaves(expected)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
    assert changed(c, new.collections)[name]


def test_batchnorm_players_differentiate_only_their_own_nets(batchnorm):
  """Both gradients by hand in training mode, from the parameters before the step."""
  obj, (state, new, *_) = batchnorm
  data = batch(0)
  alpha, target = drawn(state, data['views'])
  net, c = obj.networks, state.collections
  logit = lambda p, x, stats: jnp.mean(train_apply(net['disc'], p, stats, x)[0], axis=-1)

  def decoded(p):
    h1, enc = train_apply(net['encoder'], p['encoder'], c['encoder']['batch_stats'],
                          data['views'][:, 0])
    h2, _ = train_apply(net['encoder'], p['encoder'], enc, data['views'][:, 1])
    return train_apply(net['decoder'], p['decoder'], c['decoder']['batch_stats'],
                       mixers.convex_mix(alpha, h1, h2))[0]

  def gen_loss(p):  # A reconstruction step: BCE(D(x'), 1) + MSE.
    out = decoded(p)
    adv = jnp.mean(jax.nn.softplus(-logit(state.params['disc'], out, c['disc']['batch_stats'])))
    return adv + jnp.mean((target - out) ** 2)

  fake = decoded(obj.group_params(state.params, 'generator'))

  def disc_loss(p):
    stats = c['disc']['batch_stats']
    _, moved = train_apply(net['disc'], p, stats, jnp.asarray(target))
    return (jnp.mean(jax.nn.softplus(-logit(p, jnp.asarray(target), stats)))
            + jnp.mean(jax.nn.softplus(logit(p, fake, moved))))

  apply = jax.jit(obj.apply_gradients, static_argnums=1)
  gen = obj.group_params(state.params, 'generator')
  expected_gen, _ = apply(state, 'generator', jax.jit(jax.grad(gen_loss))(gen))
  expected_disc, _ = apply(state, 'disc', {'disc': jax.jit(jax.grad(disc_loss))(
      state.params['disc'])})
  for name, expected in (('disc', expected_disc), ('encoder', expected_gen),
                         ('decoder', expected_gen)):
    for a, b in zip(jax.tree.leaves(new.params[name]), jax.tree.leaves(expected.params[name])):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)


def test_evaluation_reads_the_running_averages(batchnorm):
  """encode/decode on inference_params use the stored averages, not the batch's statistics."""
  obj, (*_, state) = batchnorm
  x = batch(5)['image'] * 0.5 + 0.4  # Statistics of their own.
  params = obj.inference_params(state)
  stats = lambda name: state.collections[name]['batch_stats']
  assert jax.tree.map(lambda a, b: bool(jnp.all(a == b)), params['batch_stats']['encoder'],
                      stats('encoder'))
  codes = obj.encode(params, x)
  by_stored = obj.networks['encoder'].apply(
      {'params': state.params['encoder'], 'batch_stats': stats('encoder')}, x, train=False)
  np.testing.assert_array_equal(codes, by_stored)
  by_batch, _ = train_apply(obj.networks['encoder'], state.params['encoder'], stats('encoder'),
                            x)
  assert float(jnp.max(jnp.abs(codes - by_batch))) > 1e-3
  # The probe trains on the codes of the averages before the step, as it is evaluated.
  assert obj.decode(params, codes).shape == x.shape
  with pytest.raises(Exception, match='batch_stats'):  # Without them there is nothing to use.
    obj.encode(state.params, x)


def test_vanilla_ae_trains_batchnorm_and_probes_by_the_averages_before_the_step():
  """The report's vanilla AE with BatchNorm: the step's loss is the reconstruction through both
  nets in training mode, each moves its own averages, and the probe reads the codes of the
  averages before the step (the probe's loss on exactly those codes)."""
  config = small_config('ae')
  config.model.norm = 'batch'
  obj = objectives.get_objective(config, IMAGE_SHAPE)
  state = init(obj, 2)
  data = batch(4)
  after, metrics = jax.jit(obj.train_step)(state, data)
  stats = lambda s, name: s.collections[name]['batch_stats']
  codes, encoder_stats = train_apply(obj.networks['encoder'], state.params['encoder'],
                                     stats(state, 'encoder'), data['image'])
  decoded, decoder_stats = train_apply(obj.networks['decoder'], state.params['decoder'],
                                       stats(state, 'decoder'), codes)
  np.testing.assert_allclose(metrics['gen/recon'], np.mean((decoded - data['image']) ** 2),
                             rtol=1e-5)
  for name, expected in (('encoder', encoder_stats), ('decoder', decoder_stats)):
    for a, b in zip(jax.tree.leaves(stats(after, name)), jax.tree.leaves(expected)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)  # jit vs eager rounding.
    assert changed({name: stats(state, name)}, {name: stats(after, name)})[name]
  probe_codes = obj.encode(obj.inference_params(state), data['image'])
  logits = obj.probe_logits(state.params, probe_codes)
  expected = -np.mean(jax.nn.log_softmax(logits)[np.arange(BATCH), data['label']])
  np.testing.assert_allclose(metrics['probe/train_loss'], expected, rtol=1e-5)


def test_batchnorm_state_round_trips_through_a_checkpoint(batchnorm, tmp_path):
  obj, (*_, state) = batchnorm
  saver = checkpoint.Checkpointer(str(tmp_path))
  saver.save(3, state, {'step': 3})
  saver.wait()
  restored, _ = saver.restore(jax.eval_shape(obj.init, jax.random.key(0)))
  saver.close()
  for a, b in zip(jax.tree.leaves(state.collections), jax.tree.leaves(restored.collections)):
    np.testing.assert_array_equal(a, b)
  assert jax.tree.structure(restored) == jax.tree.structure(state)


def test_batchnorm_needs_an_objective_that_carries_it():
  config = small_config('ae_gan')
  config.data.augment.num_views = 0
  config.model.norm = 'batch'
  with pytest.raises(ValueError, match=r"^config.model.norm='batch' needs BatchNorm statistics "
                                       r"carried through the train step, which "
                                       r"config.objective='ae_gan' does not do"):
    objectives.get_objective(config, IMAGE_SHAPE)
